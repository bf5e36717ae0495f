"""Mixed precision chosen by the device (course_utils.precision), and the float16 path with its gradient scaler.

The choice is tested with the card's capabilities faked on the CPU (a T4 answers "no native bfloat16" only when
asked without emulation); the scaler path runs for real on the CPU, whose autocast has float16 too.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils import data, precision as precision_module, seed_everything
from course_utils.checkpoints import pretrained_dir, read_manifest
from course_utils.models import infogan, mlp_gan
from course_utils.models.cyclegan import CycleGAN, CycleGANConfig
from course_utils.precision import Precision, apply_gradients, choose_precision, resolve_precision
from course_utils.recipes import MNIST_GAN
from course_utils.train import GANTrainer
from course_utils.train_cyclegan import CycleGANTrainConfig, CycleGANTrainer
from course_utils.train_infogan import InfoGANCRTrainer

FLOAT16 = Precision("cpu", torch.float16, "float16 on the CPU: the scaler path, tested")


def fake_card(monkeypatch, capability: tuple[int, int]):
    """Pretend CUDA has a card of this compute capability: native bfloat16 from 8.0, emulated below it (what
    torch.cuda.is_bf16_supported answers when emulation is allowed, as on a T4)."""
    native = capability >= (8, 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: native or including_emulation)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)


@pytest.mark.filterwarnings("ignore:torch.cuda.amp.GradScaler is enabled, but CUDA is not available")
@pytest.mark.parametrize("capability, dtype", [((9, 0), torch.bfloat16), ((8, 0), torch.bfloat16),
                                               ((8, 9), torch.bfloat16), ((7, 5), torch.float16),
                                               ((7, 0), torch.float16)])
@pytest.mark.parametrize("amp", [True, None])
def test_cuda_gets_bfloat16_where_native_and_float16_with_a_scaler_elsewhere(monkeypatch, capability, dtype, amp):
    fake_card(monkeypatch, capability)
    chosen = choose_precision("cuda", amp)
    assert chosen.dtype == dtype and chosen.device_type == "cuda"
    assert chosen.scaled == (dtype == torch.float16)
    assert f"{capability[0]}.{capability[1]}" in chosen.reason
    assert chosen.name == {torch.bfloat16: "bfloat16", torch.float16: "float16 + gradient scaler"}[dtype]
    assert (chosen.make_scaler() is not None) == chosen.scaled


def test_amp_false_means_float32_on_every_device(monkeypatch):
    fake_card(monkeypatch, (9, 0))
    for device in ("cuda", "cpu", "mps"):
        for cpu in (False, True):
            chosen = choose_precision(device, False, cpu=cpu)
            assert chosen.dtype == torch.float32 and not chosen.scaled and chosen.name == "float32"
            assert chosen.make_scaler() is None and "amp=False" in chosen.reason


@pytest.mark.parametrize("amp", [True, None])
@pytest.mark.parametrize("cpu", [False, True])
def test_mps_runs_float32(amp, cpu):
    chosen = choose_precision("mps", amp, cpu=cpu)
    assert chosen.dtype == torch.float32 and "MPS" in chosen.reason


@pytest.mark.parametrize("cpu, amp, native, dtype", [
    (False, True, True, torch.float32), (False, None, True, torch.float32),  # GAN trainers: float32 on a CPU
    (True, None, True, torch.bfloat16), (True, None, False, torch.float32),  # CycleGAN: where oneDNN has bf16
    (True, True, False, torch.bfloat16)])  # amp=True asks for it even where it is emulated
def test_the_cpu_runs_float32_unless_the_trainer_asks_for_bfloat16(monkeypatch, cpu, amp, native, dtype):
    monkeypatch.setattr(precision_module, "cpu_runs_bfloat16_natively", lambda: native)
    assert choose_precision("cpu", amp, cpu=cpu).dtype == dtype


def test_autocast_of_each_precision_runs_the_layer_in_its_format():
    layer, x = nn.Linear(4, 3), torch.randn(2, 4)
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        with Precision("cpu", dtype, "test").autocast():
            assert layer(x).dtype == dtype


def test_a_precision_must_fit_the_trainers_device_and_be_a_known_format():
    assert resolve_precision(FLOAT16, "cpu") is FLOAT16
    with pytest.raises(ValueError, match="device_type is 'cpu'"):
        resolve_precision(Precision("cuda", torch.bfloat16, "elsewhere"), "cpu")
    with pytest.raises(ValueError, match="float32, torch.bfloat16 or torch.float16"):
        Precision("cpu", torch.float64, "not a mixed-precision format")


# ----------------------------------------------------------------------------- the scaler path, on the CPU


def small_net_and_loss():
    seed_everything(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 1))
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(1))
    return net, lambda: net(x).pow(2).mean()


def test_the_scaler_leaves_the_update_of_a_float32_loss_unchanged():
    """Scaling by a power of two and unscaling is exact: SGD with the scaler makes the same update to the bit."""
    plain, loss = small_net_and_loss()
    apply_gradients(loss(), torch.optim.SGD(plain.parameters(), lr=0.1))
    scaled, loss = small_net_and_loss()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    apply_gradients(loss(), torch.optim.SGD(scaled.parameters(), lr=0.1), scaler)
    for a, b in zip(plain.parameters(), scaled.parameters()):
        assert torch.equal(a, b)
        assert torch.equal(a.grad, b.grad)  # .grad holds the unscaled gradients afterwards
    assert scaler.get_scale() == 2.0**12  # no overflow: the scale stays until a run of good steps


def test_a_step_whose_scaled_gradients_overflow_is_skipped_and_the_scale_lowered():
    net, loss = small_net_and_loss()
    before = [p.detach().clone() for p in net.parameters()]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**127)  # the scaled loss overflows float32
    apply_gradients(loss() * 1e3, torch.optim.SGD(net.parameters(), lr=0.1), scaler)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # skipped
    assert scaler.get_scale() == 2.0**126  # halved (GradScaler's backoff factor 0.5)


def mlp_trainer(precision: Precision | None = None, steps: int = 6) -> GANTrainer:
    seed_everything(0)
    cfg = mlp_gan.MLPGANConfig(g_hidden=(32, 64), d_hidden=(64, 32))
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return GANTrainer(mlp_gan.Generator(cfg), mlp_gan.Discriminator(cfg), data.image_sampler(images, "cpu"),
                      replace(MNIST_GAN.train, steps=steps, batch_size=16), "cpu", precision=precision)


def test_the_gan_trainer_trains_in_float16_with_one_scaler_per_player():
    trainer = mlp_trainer(FLOAT16)
    assert set(trainer.scalers) == {"D", "G"} and trainer.scalers["D"] is not trainer.scalers["G"]
    seen = []
    handle = trainer.D.net[1].register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    before = [p.detach().clone() for p in trainer.G.parameters()]
    trainer.train(progress=False)
    handle.remove()
    assert set(seen) == {torch.float16}  # D's first layer ran in float16 in both players' steps
    assert all(p.dtype == torch.float32 for p in [*trainer.G.parameters(), *trainer.D.parameters()])
    assert not all(torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))  # G was updated
    assert all(torch.isfinite(torch.tensor(trainer.history[key])).all() for key in ("loss_d", "loss_g", "grad_g"))
    assert all(scaler.get_scale() == 2.0**16 for scaler in trainer.scalers.values())  # no overflow at this size


def test_a_generator_step_the_scaler_skips_logs_a_zero_gradient_and_leaves_g_unchanged():
    trainer = mlp_trainer(FLOAT16)
    trainer.scalers["G"] = torch.amp.GradScaler("cpu", init_scale=2.0**40)  # float16 overflows at 65,504
    before = [p.detach().clone() for p in trainer.G.parameters()]
    logs = trainer.train_g()
    assert logs["grad_g"].item() == 0.0  # nothing was applied (an honest 0, and no false alarm of the guard)
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.G.parameters()))
    assert trainer.scalers["G"].get_scale() == 2.0**39


def test_float32_trainers_have_no_scalers_and_the_default_cpu_gan_is_float32():
    trainer = mlp_trainer()
    assert trainer.precision.dtype == torch.float32 and trainer.scalers == {"D": None, "G": None}


def test_infogan_cr_trains_in_float16_with_a_scaler_for_h_too():
    seed_everything(0)
    cfg = infogan.InfoGANConfig(z_dim=5, categories=0, continuous=3, width=8, image_size=32)
    images = torch.randint(0, 256, (32, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    trainer = InfoGANCRTrainer(infogan.Generator(cfg), infogan.Discriminator(cfg), infogan.ContrastiveHead(cfg),
                               data.image_sampler(images, "cpu"), replace(MNIST_GAN.train, steps=3, batch_size=8),
                               "cpu", precision=FLOAT16)
    assert set(trainer.scalers) == {"D", "G", "H"} and all(trainer.scalers.values())
    trainer.train(progress=False)
    assert all(torch.isfinite(torch.tensor(values)).all() for values in trainer.history.values())


def test_cyclegan_trains_in_float16_with_a_scaler_per_optimiser():
    seed_everything(0)
    a = torch.randint(0, 256, (16, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    trainer = CycleGANTrainer(CycleGAN(CycleGANConfig(width=4, d_width=4, res_blocks=1)), data.image_sampler(a, "cpu"),
                              data.image_sampler(255 - a, "cpu"),
                              CycleGANTrainConfig(steps=3, batch_size=4, log_every=3), "cpu", precision=FLOAT16)
    assert set(trainer.scalers) == {"G", "D"} and all(trainer.scalers.values())
    trainer.train(progress=False)
    assert all(torch.isfinite(torch.tensor(values)).all() for values in trainer.history.values())


# ----------------------------------------------------------------------------- what ran is recorded


def test_a_checkpoint_records_the_precision_that_ran(tmp_path):
    trainer = mlp_trainer(FLOAT16, steps=2)
    trainer.checkpoint_path = tmp_path / "run.safetensors"
    trainer.train(progress=False)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["precision"] == "float16 + gradient scaler"


def test_every_trained_entry_of_the_manifest_and_recordings_names_its_precision():
    names = {"bfloat16", "float16 + gradient scaler", "float32"}
    for index in ("MANIFEST.json", "RECORDINGS.json"):
        entries = read_manifest(pretrained_dir(), index)
        trained = {name: entry for name, entry in entries.items() if isinstance(entry.get("train_config"), dict)}
        assert trained and all(entry.get("precision") in names for entry in trained.values()), index
    manifest = read_manifest(pretrained_dir())
    assert manifest["dcgan_cifar10"]["precision"] == "bfloat16"  # the H100 run
    assert manifest["mnist_cyclegan"]["precision"] == "bfloat16"  # amp on this CPU's oneDNN
    assert manifest["mnist_gan"]["precision"] == "float32"


# ----------------------------------------------------------------------------- Apple's MPS, checked on the CPU


@pytest.mark.parametrize("fallback, warns", [(None, True), ("0", True), ("1", False)])
def test_get_device_on_apple_silicon_says_how_to_let_missing_operations_fall_back(monkeypatch, fallback, warns):
    from course_utils import get_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    if fallback is None:
        monkeypatch.delenv("PYTORCH_ENABLE_MPS_FALLBACK", raising=False)
    else:
        monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", fallback)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert get_device() == torch.device("mps")
    messages = [str(w.message) for w in caught if "PYTORCH_ENABLE_MPS_FALLBACK=1" in str(w.message)]
    assert len(messages) == (1 if warns else 0)


def test_to_cpu_float64_moves_before_it_converts():
    """MPS has no float64: a tensor there must reach the CPU first. Recorded on the CPU by watching the calls."""
    from course_utils.budget import to_cpu_float64

    calls = []

    class Watched(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            calls.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    values = torch.arange(3, dtype=torch.float32).as_subclass(Watched)
    out = to_cpu_float64(values)
    assert out.dtype == torch.float64 and out.device.type == "cpu" and out.tolist() == [0.0, 1.0, 2.0]
    assert calls.index("cpu") < calls.index("to")  # moved, then converted
    assert to_cpu_float64([1, 2]).dtype == torch.float64  # lists and arrays too


# The pattern that fails on MPS: converting to float64 on the device, then moving. The course's code converts
# after the move (budget.to_cpu_float64); this scan keeps it that way.
DEVICE_FLOAT64 = re.compile(r"\.(double\(\)|to\(torch\.float64\))\s*\.\s*(cpu\(\)|to\()")


def test_no_course_code_converts_to_float64_before_moving_to_the_cpu():
    root = Path(__file__).resolve().parents[1] / "course_utils"
    offending = [f"{path.relative_to(root)}:{number}: {line.strip()}"
                 for path in sorted(root.rglob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), start=1) if DEVICE_FLOAT64.search(line)]
    assert not offending, offending
    assert DEVICE_FLOAT64.search("features.append(f.double().cpu())")  # the scan finds the pattern it is for
