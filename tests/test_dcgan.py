"""The DCGAN follows the paper's guidelines, and the trainer's fast path logs what the slow one does."""

import math
from dataclasses import replace

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from course_utils import seed_everything
from course_utils.data import image_sampler
from course_utils.models.dcgan import DCGANConfig, Discriminator, Generator
from course_utils.recipes import DCGAN_CIFAR10
from course_utils.train import GANTrainer, TrainingDivergedError

SMALL_CFG = DCGANConfig(g_width=8, d_width=8)
SMALL = replace(DCGAN_CIFAR10.train, steps=12, batch_size=16, channels_last=False, checkpoint_every=4)


def fake_cifar(n: int = 64) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_shapes_and_output_range():
    G, D = Generator(SMALL_CFG), Discriminator(SMALL_CFG)
    z = G.sample_z(5)
    assert z.shape == (5, 100)
    x = G(z)
    assert x.shape == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5, 1)


def test_the_architecture_guidelines():
    G, D = Generator(), Discriminator()
    for net in (G, D):
        assert not any(isinstance(m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d)) for m in net.modules())
    g_layers, d_layers = list(G.net), list(D.net)
    # fractionally strided convolutions in G, strided ones in D (all but the 1x1 <-> 4x4 ends)
    assert [m.stride for m in g_layers if isinstance(m, nn.ConvTranspose2d)] == [(1, 1), (2, 2), (2, 2), (2, 2)]
    assert [m.stride for m in d_layers if isinstance(m, nn.Conv2d)] == [(2, 2), (2, 2), (2, 2), (1, 1)]
    # batch norm after every layer but G's output and D's input
    assert isinstance(g_layers[-2], nn.ConvTranspose2d) and isinstance(g_layers[-1], nn.Tanh)
    assert isinstance(d_layers[0], nn.Conv2d) and isinstance(d_layers[1], nn.LeakyReLU)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g_layers) == 3
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d_layers) == 2
    # ReLU in G, LeakyReLU(0.2) in D
    assert sum(isinstance(m, nn.ReLU) for m in g_layers) == 3 and not any(isinstance(m, nn.LeakyReLU) for m in g_layers)
    assert all(m.negative_slope == 0.2 for m in d_layers if isinstance(m, nn.LeakyReLU))


def test_weights_start_from_the_papers_normal():
    seed_everything(0)
    G = Generator()
    weights = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 1e-3
    scales = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(scales.mean().item() - 1) < 5e-3


def run(log_every: int, channels_last: bool = False) -> GANTrainer:
    seed_everything(0)
    cfg = replace(SMALL, log_every=log_every, channels_last=channels_last)
    sampler = image_sampler(fake_cifar(), "cpu", channels_last=channels_last,
                            generator=torch.Generator().manual_seed(1))
    trainer = GANTrainer(Generator(SMALL_CFG), Discriminator(SMALL_CFG), sampler, cfg, "cpu")
    trainer.train(progress=False)
    return trainer


def test_reading_losses_every_n_steps_records_the_same_history():
    every_step, batched = run(log_every=1), run(log_every=5)
    assert every_step.history["step"] == batched.history["step"] == list(range(1, 13))
    for key in ("loss_d", "loss_g", "d_real", "d_fake", "grad_g"):
        assert every_step.history[key] == pytest.approx(batched.history[key], rel=1e-5)


def test_channels_last_trains_the_same_model():
    plain, nhwc = run(log_every=4), run(log_every=4, channels_last=True)
    assert nhwc.G.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert plain.history["loss_d"] == pytest.approx(nhwc.history["loss_d"], rel=1e-3, abs=1e-4)


def test_pending_logs_stay_on_the_device_until_flushed():
    seed_everything(0)
    trainer = GANTrainer(Generator(SMALL_CFG), Discriminator(SMALL_CFG), image_sampler(fake_cifar(), "cpu"),
                         replace(SMALL, log_every=10), "cpu")
    logs = trainer.train_step()
    assert isinstance(logs["loss_d"], torch.Tensor) and trainer.history["step"] == []
    latest = trainer.flush()
    assert trainer.history["step"] == [1] and latest["loss_d"] == pytest.approx(float(logs["loss_d"]))


def test_a_nan_found_at_flush_time_restores_the_last_good_state():
    seed_everything(0)
    images = fake_cifar()
    calls = {"n": 0}

    def poisoned(n: int) -> torch.Tensor:
        calls["n"] += 1
        batch = image_sampler(images, "cpu")(n)
        return batch * float("nan") if calls["n"] > 6 else batch  # real data turns to NaN after step 6

    trainer = GANTrainer(Generator(SMALL_CFG), Discriminator(SMALL_CFG), poisoned, replace(SMALL, log_every=3), "cpu")
    with pytest.raises(TrainingDivergedError, match="restored"):
        trainer.train(progress=False)
    assert trainer.step == 4 and len(trainer.history["loss_d"]) == 4  # the checkpoint_every=4 state
    assert all(torch.isfinite(p).all() for p in trainer.G.parameters())


def test_compile_and_channels_last_cannot_change_mid_run():
    trainer = GANTrainer(Generator(SMALL_CFG), Discriminator(SMALL_CFG), image_sampler(fake_cifar(), "cpu"), SMALL, "cpu")
    with pytest.raises(ValueError, match="new GANTrainer"):
        trainer.reconfigure(compile=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_the_gpu_fast_path_runs_in_bfloat16():
    seed_everything(0)
    trainer = GANTrainer(Generator(SMALL_CFG), Discriminator(SMALL_CFG), image_sampler(fake_cifar(), "cuda", True),
                         replace(SMALL, channels_last=True, log_every=5), "cuda")
    seen = {"G": set(), "D": set()}  # the dtype of each network's first convolution, inside the steps
    handles = [trainer.G.net[0].register_forward_hook(lambda m, i, out: seen["G"].add(out.dtype)),
               trainer.D.net[0].register_forward_hook(lambda m, i, out: seen["D"].add(out.dtype))]
    trainer.train(progress=False)
    for handle in handles:
        handle.remove()
    assert seen == {"G": {torch.bfloat16}, "D": {torch.bfloat16}}, seen  # autocast on in both steps
    assert len(trainer.history["loss_d"]) == 12
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())  # bf16 only inside autocast


def test_the_committed_generator_is_built_from_its_manifest_config_and_verified():
    from course_utils.checkpoints import load_pretrained, pretrained_dir, read_manifest, sha256sum

    entry = read_manifest()["dcgan_cifar10"]
    assert sha256sum(pretrained_dir() / entry["file"]) == entry["sha256"]
    cfg = DCGANConfig(**entry["config"])
    if entry["device"] == "cuda":  # GPU-trained weights: the paper's widths and recipe, with the build recorded
        assert cfg == DCGANConfig() and entry["train_config"]["steps"] == DCGAN_CIFAR10.train.steps
        assert entry["hardware"] != "" and entry["torch"]
    G, D = Generator(cfg), Discriminator(cfg)
    load_pretrained("dcgan_cifar10", {"G": G, "D": D})
    with torch.no_grad():
        x = G.eval()(G.sample_z(4, generator=torch.Generator().manual_seed(0)))
    assert x.shape == (4, 3, 32, 32) and torch.isfinite(D.eval()(x)).all()
    assert x.std() > 0.1  # not a constant image


def test_pretraining_on_a_cpu_leaves_gpu_weights_in_place(monkeypatch, capsys):
    import sys

    from course_utils import pretrain

    gpu_entry = {"dcgan_cifar10": {"device": "cuda", "hardware": "a GPU"}}
    monkeypatch.setattr(sys.modules["course_utils.checkpoints"], "read_manifest", lambda directory=None: gpu_entry)
    monkeypatch.setattr(sys.modules["course_utils.budget"], "get_device", lambda: torch.device("cpu"))

    def no_training(*args, **kwargs):
        raise AssertionError("trained although GPU weights are committed")

    monkeypatch.setattr(pretrain, "fit_dcgan_cifar10", no_training)
    pretrain.pretrain_dcgan_cifar10()
    assert "skipped" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="trained although"):
        pretrain.pretrain_dcgan_cifar10(replace_gpu_weights=True)


# ---------------------------------------------------------------- notebook 07: D's normalisation
def test_spectral_norm_replaces_batch_norm_in_every_layer_of_D():
    D = Discriminator(DCGANConfig(d_width=8, d_norm="spectral"))
    convs = [m for m in D.net if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4 and all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert D(torch.randn(5, 3, 32, 32)).shape == (5, 1)
    D.train()
    for _ in range(30):  # each forward pass in training mode runs one power iteration
        D(torch.randn(2, 3, 32, 32))
    for conv in convs:
        assert torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2) == pytest.approx(1.0, abs=0.02)


def test_a_critic_without_normalisation_scores_each_image_on_its_own():
    D = Discriminator(DCGANConfig(d_width=8, d_norm="none"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert all(m.bias is not None for m in D.net if isinstance(m, nn.Conv2d))
    x = torch.randn(6, 3, 32, 32)
    D.train()
    assert torch.allclose(D(x)[:2], D(x[:2]), atol=1e-6)  # batch norm would make a score depend on the batch


def test_the_default_discriminator_is_the_papers():
    keys = list(Discriminator(DCGANConfig(d_width=8)).state_dict())
    assert keys[:5] == ["net.0.weight", "net.0.bias", "net.2.weight", "net.3.weight", "net.3.bias"]
    assert DCGANConfig().d_norm == "batch"


def test_a_wrong_normalisation_name_is_refused():
    with pytest.raises(ValueError, match="d_norm must be one of"):
        DCGANConfig(d_norm="layer")


@pytest.mark.parametrize("recipe_name", ["DCGAN_CIFAR10_CPU_PLAIN", "DCGAN_CIFAR10_CPU_SN_HINGE",
                                         "DCGAN_CIFAR10_CPU_WGAN_GP", "DCGAN_CIFAR10_SN_HINGE",
                                         "DCGAN_CIFAR10_WGAN_GP"])
def test_each_notebook_07_recipe_trains_two_steps(recipe_name):
    from course_utils import recipes
    recipe = getattr(recipes, recipe_name)
    seed_everything(0)
    model_cfg = replace(recipe.model, g_width=8, d_width=8)
    cfg = replace(recipe.train, steps=2, batch_size=8, log_every=1, channels_last=False)
    sampler = image_sampler(fake_cifar(), "cpu", generator=torch.Generator().manual_seed(1))
    trainer = GANTrainer(Generator(model_cfg), Discriminator(model_cfg), sampler, cfg, "cpu")
    trainer.train(progress=False)
    assert trainer.history["step"] == [1, 2]
    assert all(math.isfinite(value) for value in trainer.history["loss_d"] + trainer.history["loss_g"])
    if recipe.train.gradient_penalty:
        assert "penalty" in trainer.history and "score_real" in trainer.history


def test_the_cpu_comparison_shares_steps_and_batch():
    from course_utils import recipes
    runs = [recipes.DCGAN_CIFAR10_CPU_PLAIN, recipes.DCGAN_CIFAR10_CPU_SN_HINGE, recipes.DCGAN_CIFAR10_CPU_WGAN_GP]
    assert len({(r.train.steps, r.train.batch_size, r.model.g_width, r.model.d_width) for r in runs}) == 1
    assert [r.model.d_norm for r in runs] == ["batch", "spectral", "none"]
    assert [r.train.loss for r in runs] == ["non_saturating", "hinge", "wasserstein"]


def test_the_pretrain_commands_name_their_recipes():
    from course_utils import recipes
    from course_utils.fid import fid_protocol
    from course_utils.pretrain import DCGAN_CIFAR10_VARIANTS, PRETRAINERS
    for name, recipe_name in DCGAN_CIFAR10_VARIANTS.items():
        assert name in PRETRAINERS and isinstance(getattr(recipes, recipe_name), recipes.Recipe)
    assert "500 generator samples" in fid_protocol(500, 500) and "biased upwards" in fid_protocol(500, 500)


@pytest.mark.parametrize("name, d_norm", [("dcgan_cifar10_cpu_plain", "batch"), ("dcgan_cifar10_cpu_sn_hinge", "spectral"),
                                          ("dcgan_cifar10_cpu_wgan_gp", "none")])
def test_the_committed_comparison_weights_load_with_their_normalisation(name, d_norm):
    from course_utils.checkpoints import pretrained
    model = pretrained(name, verbose=False)
    assert model.D.cfg.d_norm == d_norm and model.G.cfg.g_width == 32
    assert parametrize.is_parametrized(model.D.net[0], "weight") == (d_norm == "spectral")
    assert model.D(model.G(model.G.sample_z(2))).shape == (2, 1)
