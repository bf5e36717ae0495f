"""Training a CycleGAN: one generator step (both directions), then the discriminator steps.

The same habits as the GAN trainer: small step functions, losses kept on the device and read every
`log_every` steps, a tqdm bar, hooks, a history dict, a NaN guard that restores the last good state,
and Ctrl-C keeping what was trained. `MNIST_CYCLEGAN_CONFIG` and `CYCLEGAN_RECIPE` are the pretrained
model's networks and training (course_utils.pretrain), chosen on a validation split held out from MNIST train.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .models.cyclegan import CycleGAN, CycleGANConfig, ImagePool, cycle_loss, identity_loss, lsgan_d_loss, lsgan_g_loss
from .train import TrainingDivergedError, update_average


@dataclass(frozen=True)
class CycleGANTrainConfig:
    """Optimisation of a CycleGAN (the paper: Adam 2e-4, beta1 0.5, constant then linear decay to 0)."""

    steps: int = 2400  # 2.8 passes over the 27,500 training images of each domain at batch 32
    batch_size: int = 32  # the paper uses 1; bigger batches keep 2 CPU cores busy
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    decay_start: float = 0.5  # fraction of the steps after which the learning rate decays linearly to 0
    log_every: int = 25
    checkpoint_every: int = 500
    d_steps: int = 2  # discriminator updates per generator update (1 in the paper; 2 here: notebook 06)
    recolour_b: bool = True  # F(G(a)) ~ a asked of G(a) in random colours (`recolour`; MNIST-M only: see there)
    amp: bool | None = None  # bfloat16 autocast; None: where the hardware runs it fast (see bfloat16_is_fast)
    # > 0: G and F end as the exponential moving average of their weights over training, with this decay
    # per step (Yazici et al. 2019, "The unusual effectiveness of averaging in GAN training"); 0: the last weights.
    ema_decay: float = 0.0

    def __post_init__(self):
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")


def bfloat16_is_fast(device: torch.device | str) -> bool:
    """True on CUDA GPUs with bfloat16 and on CPUs whose oneDNN has bfloat16 kernels (AVX-512 BF16, AMX):
    there, autocast with batch 32 trains CycleGAN faster than fp32 with batch 8 (benchmarks/cyclegan_throughput.py
    measures by how much)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def recolour(images: Tensor) -> Tensor:
    """Each image's colour channels shuffled and each channel negated with probability 1/2 (images in [-1, 1]).

    MNIST-M is closed under both: |p - d| with the photo's channels permuted or inverted (255 - p) is
    again |p' - d| for another image p' (a photo in odd colours, at times). 48 colourings of each. Why it is
    needed: G is deterministic and paints nearly one palette (brownish photos, pale strokes) around every
    digit, and F learns to undo G(a); asked to undo G(a) in every colouring, F also reads real MNIST-M
    digits on blue, green or bright photos (notebook 06 measures it). For MNIST-M only: where colour
    carries meaning (horses and zebras), set `CycleGANTrainConfig(recolour_b=False)`."""
    n, c = images.shape[:2]
    order = torch.rand(n, c, device=images.device).argsort(dim=1)
    signs = torch.randint(0, 2, (n, c, 1, 1), device=images.device, dtype=images.dtype) * 2 - 1
    return images.gather(1, order[:, :, None, None].expand_as(images)) * signs


def generator_step(model: CycleGAN, a: Tensor, b: Tensor, opt_g: torch.optim.Optimizer,
                   amp: bool = False, recolour_b: bool = False) -> tuple[dict, Tensor, Tensor]:
    """Update G and F together on the adversarial + cycle + identity losses; return logs and the fakes.

    amp: run the networks in bfloat16 (autocast); the losses, gradients and weights stay float32."""
    cfg = model.cfg
    model.D_A.requires_grad_(False)
    model.D_B.requires_grad_(False)
    with torch.autocast(a.device.type, torch.bfloat16, enabled=amp):
        fake_b, fake_a = model.G(a), model.F(b)
        adversarial = lsgan_g_loss(model.D_B(fake_b).float()) + lsgan_g_loss(model.D_A(fake_a).float())
        cycle = cycle_loss(a, model.F(recolour(fake_b) if recolour_b else fake_b).float(), b, model.G(fake_a).float(),
                           cfg.cycle_b_weight)
        identity = identity_loss(a, model.F(a).float(), b, model.G(b).float(), cfg.cycle_b_weight)
    loss = adversarial + cfg.lambda_cycle * cycle + cfg.lambda_cycle * cfg.lambda_identity * identity
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    model.D_A.requires_grad_(True)
    model.D_B.requires_grad_(True)
    logs = {"loss_g": loss.detach(), "adversarial": adversarial.detach(), "cycle": cycle.detach(),
            "identity": identity.detach()}
    return logs, fake_a.detach().float(), fake_b.detach().float()


def discriminator_step(model: CycleGAN, a: Tensor, b: Tensor, fake_a: Tensor, fake_b: Tensor,
                       pools: tuple[ImagePool, ImagePool], opt_d: torch.optim.Optimizer, amp: bool = False) -> dict:
    """Update D_A and D_B on real images and on fakes drawn through the history buffers."""
    with torch.autocast(a.device.type, torch.bfloat16, enabled=amp):
        loss_a = lsgan_d_loss(model.D_A(a).float(), model.D_A(pools[0].query(fake_a)).float())
        loss_b = lsgan_d_loss(model.D_B(b).float(), model.D_B(pools[1].query(fake_b)).float())
    opt_d.zero_grad(set_to_none=True)
    (loss_a + loss_b).backward()
    opt_d.step()
    return {"loss_d_a": loss_a.detach(), "loss_d_b": loss_b.detach()}


def train_cyclegan(model: CycleGAN, sample_a: Callable[[int], Tensor], sample_b: Callable[[int], Tensor],
                   cfg: CycleGANTrainConfig, device: torch.device | str,
                   hooks: Sequence[Callable[[int, CycleGAN, dict], None]] = (), progress: bool = True) -> dict:
    """Train `model` in place; `hooks(step, model, history)` run after every step. Returns the history."""
    device = torch.device(device)
    amp = bfloat16_is_fast(device) if cfg.amp is None else cfg.amp
    model.to(device).train()
    fused = device.type == "cuda"
    opt_g = torch.optim.Adam([*model.G.parameters(), *model.F.parameters()], cfg.lr, betas=cfg.betas, fused=fused)
    opt_d = torch.optim.Adam([*model.D_A.parameters(), *model.D_B.parameters()], cfg.lr, betas=cfg.betas, fused=fused)
    pools = (ImagePool(model.cfg.pool_size, seed=0), ImagePool(model.cfg.pool_size, seed=1))
    generator_weights = [*model.G.parameters(), *model.F.parameters()]
    averaged = [weight.detach().clone() for weight in generator_weights] if cfg.ema_decay > 0 else []
    history: dict[str, list[float]] = defaultdict(list)
    pending: list[dict[str, Tensor]] = []
    last_good = (0, copy.deepcopy(model.state_dict()))

    def flush() -> None:
        nonlocal pending
        if not pending:
            return
        keys = list(pending[0])
        rows = torch.stack([torch.stack([log[key] for key in keys]) for log in pending]).cpu().tolist()
        first = len(history["step"]) + 1
        pending = []
        for step, row in enumerate(rows, start=first):
            if not all(math.isfinite(value) for value in row):
                model.load_state_dict(last_good[1])
                for values in history.values():
                    del values[last_good[0]:]
                raise TrainingDivergedError(f"a CycleGAN loss became {row} at step {step}; the networks were restored "
                                            f"to step {last_good[0]}. Try a smaller learning rate (now {cfg.lr}).")
            history["step"].append(step)
            for key, value in zip(keys, row):
                history[key].append(value)

    bar = tqdm(range(1, cfg.steps + 1), desc="training CycleGAN", disable=not progress, mininterval=0.5)
    step = 0
    try:
        for step in bar:
            progress_fraction = (step - 1) / cfg.steps
            factor = 1.0 if progress_fraction < cfg.decay_start else \
                1.0 - (progress_fraction - cfg.decay_start) / (1.0 - cfg.decay_start)
            for optimizer in (opt_g, opt_d):
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr * factor
            a, b = sample_a(cfg.batch_size).to(device), sample_b(cfg.batch_size).to(device)
            logs, fake_a, fake_b = generator_step(model, a, b, opt_g, amp, cfg.recolour_b)
            for _ in range(cfg.d_steps):  # the fakes go through the history buffers again each time
                logs.update(discriminator_step(model, a, b, fake_a, fake_b, pools, opt_d, amp))
            pending.append(logs)
            if step % cfg.log_every == 0 or step % cfg.checkpoint_every == 0:
                flush()
                bar.set_postfix(cycle=f"{history['cycle'][-1]:.3f}", loss_g=f"{history['loss_g'][-1]:.2f}",
                                refresh=False)
            if averaged:
                update_average(averaged, generator_weights, cfg.ema_decay)
            if step % cfg.checkpoint_every == 0:
                last_good = (step, copy.deepcopy(model.state_dict()))
            for hook in hooks:
                hook(step, model, history)
    except KeyboardInterrupt:
        print(f"Interrupted at step {step}: the model and the history so far are kept; train again to go on.")
    finally:
        bar.close()
    flush()
    if averaged:
        with torch.no_grad():
            for average, weight in zip(averaged, generator_weights):
                weight.copy_(average)
    model.eval()
    return dict(history)


# The pretrained model's recipe (python -m course_utils.pretrain mnist_cyclegan).
MNIST_CYCLEGAN_CONFIG = CycleGANConfig()
CYCLEGAN_RECIPE = CycleGANTrainConfig()
