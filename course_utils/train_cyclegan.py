"""Training a CycleGAN: one generator step (both directions), then the discriminator steps.

`CycleGANTrainer` is those two step functions on the course's training engine (course_utils.engine),
which brings the loop, the logs read every `log_every` steps, the divergence guard (weights, optimiser
state and the weight average restored together), the paper's learning-rate schedule, checkpoints,
hooks `hook(trainer)` and Ctrl-C, the same as for the GANs and the VAE. The pretrained model's networks
and training are in course_utils.recipes (MNIST_CYCLEGAN).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .engine import (POSITIVE, POSITIVE_INT, History, Hook, Trainer,  # noqa: F401 (TrainingDivergedError:
                     TrainingDivergedError, check_config, constant_then_linear, fraction)  # what a diverged run raises)
from .models.cyclegan import CycleGAN, ImagePool, cycle_loss, identity_loss, lsgan_d_loss, lsgan_g_loss
from .precision import Precision, apply_gradients, resolve_precision
from .train import make_optimizer, update_average


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
    # Mixed precision (course_utils.precision): None where the device runs it natively (CUDA: bfloat16, or float16
    # with a gradient scaler; CPUs with oneDNN bfloat16 kernels: bfloat16), True also on other CPUs, False: float32.
    amp: bool | None = None
    # > 0: G and F end as the exponential moving average of their weights over training, with this decay
    # per step (Yazici et al. 2019, "The unusual effectiveness of averaging in GAN training"); 0: the last weights.
    ema_decay: float = 0.0

    def __post_init__(self):
        below_one = (lambda v: fraction(v) and v < 1.0, "a number in [0, 1)")
        check_config(self, steps=POSITIVE_INT, batch_size=POSITIVE_INT, lr=POSITIVE, log_every=POSITIVE_INT,
                     checkpoint_every=POSITIVE_INT, d_steps=POSITIVE_INT, decay_start=below_one, ema_decay=below_one,
                     betas=(lambda v: len(v) == 2 and all(fraction(b) and b < 1.0 for b in v), "two numbers in [0, 1)"),
                     recolour_b=(lambda v: isinstance(v, bool), "True or False"),
                     amp=(lambda v: v is None or isinstance(v, bool), "True, False or None (where it is fast)"))


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
                   precision: Precision | None = None, recolour_b: bool = False,
                   scaler: torch.amp.GradScaler | None = None) -> tuple[dict, Tensor, Tensor]:
    """Update G and F together on the adversarial + cycle + identity losses; return logs and the fakes.

    precision: the networks run under its autocast (None: float32); the losses, gradients and weights stay float32.
    scaler: float16's gradient scaler, None otherwise."""
    cfg = model.cfg
    model.D_A.requires_grad_(False)
    model.D_B.requires_grad_(False)
    with _autocast(precision):
        fake_b, fake_a = model.G(a), model.F(b)
        adversarial = lsgan_g_loss(model.D_B(fake_b).float()) + lsgan_g_loss(model.D_A(fake_a).float())
        cycle = cycle_loss(a, model.F(recolour(fake_b) if recolour_b else fake_b).float(), b, model.G(fake_a).float(),
                           cfg.cycle_b_weight)
        identity = identity_loss(a, model.F(a).float(), b, model.G(b).float(), cfg.cycle_b_weight)
    loss = adversarial + cfg.lambda_cycle * cycle + cfg.lambda_cycle * cfg.lambda_identity * identity
    apply_gradients(loss, opt_g, scaler)
    model.D_A.requires_grad_(True)
    model.D_B.requires_grad_(True)
    logs = {"loss_g": loss.detach(), "adversarial": adversarial.detach(), "cycle": cycle.detach(),
            "identity": identity.detach()}
    return logs, fake_a.detach().float(), fake_b.detach().float()


def discriminator_step(model: CycleGAN, a: Tensor, b: Tensor, fake_a: Tensor, fake_b: Tensor,
                       pools: tuple[ImagePool, ImagePool], opt_d: torch.optim.Optimizer,
                       precision: Precision | None = None, scaler: torch.amp.GradScaler | None = None) -> dict:
    """Update D_A and D_B on real images and on fakes drawn through the history buffers."""
    with _autocast(precision):
        loss_a = lsgan_d_loss(model.D_A(a).float(), model.D_A(pools[0].query(fake_a)).float())
        loss_b = lsgan_d_loss(model.D_B(b).float(), model.D_B(pools[1].query(fake_b)).float())
    apply_gradients(loss_a + loss_b, opt_d, scaler)
    return {"loss_d_a": loss_a.detach(), "loss_d_b": loss_b.detach()}


def _autocast(precision: Precision | None):
    return precision.autocast() if precision is not None else contextlib.nullcontext()


class CycleGANTrainer(Trainer):
    """A CycleGAN, its two optimisers (G and F together, D_A and D_B together), the two history buffers,
    the samplers of the two domains and the history of one run.

    With cfg.ema_decay > 0, `self.average` holds the moving average of G's and F's weights, updated after
    every step; `use_average()` copies it into G and F (what train_cyclegan does at the end)."""

    description = "training CycleGAN"

    def __init__(self, model: CycleGAN, sample_a: Callable[[int], Tensor], sample_b: Callable[[int], Tensor],
                 cfg: CycleGANTrainConfig, device: torch.device | str, checkpoint_path: str | Path | None = None,
                 precision: Precision | None = None):
        self.device = torch.device(device)
        self.model = model.to(self.device).train()
        self.sample_a, self.sample_b = sample_a, sample_b
        self.cfg = cfg
        self.precision = resolve_precision(precision, self.device, cfg.amp, cpu=True)
        self.scalers = {"G": self.precision.make_scaler(), "D": self.precision.make_scaler()}
        self.opt_g = make_optimizer(nn.ModuleList([model.G, model.F]), "adam", cfg.lr, cfg.betas, self.device)
        self.opt_d = make_optimizer(nn.ModuleList([model.D_A, model.D_B]), "adam", cfg.lr, cfg.betas, self.device)
        self.pools = (ImagePool(model.cfg.pool_size, seed=0), ImagePool(model.cfg.pool_size, seed=1))
        self.generator_weights = [*model.G.parameters(), *model.F.parameters()]
        modules = {"G": model.G, "F": model.F, "D_A": model.D_A, "D_B": model.D_B}
        self.average = None
        if cfg.ema_decay > 0:  # a module, so that the guard restores it and a checkpoint holds it
            self.average = copy.deepcopy(nn.ModuleList([model.G, model.F])).requires_grad_(False)
            modules["average"] = self.average
        super().__init__(modules, {"G": self.opt_g, "D": self.opt_d}, total_steps=cfg.steps,
                         log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
                         schedule=constant_then_linear(cfg.decay_start), checkpoint_path=checkpoint_path, config=cfg)
        self.advice = f"Try a smaller learning rate (now lr={cfg.lr})."

    def training_step(self) -> dict[str, Tensor]:
        """One generator step, then cfg.d_steps discriminator steps, on a fresh batch of each domain."""
        a = self.sample_a(self.cfg.batch_size).to(self.device)
        b = self.sample_b(self.cfg.batch_size).to(self.device)
        logs, fake_a, fake_b = generator_step(self.model, a, b, self.opt_g, self.precision, self.cfg.recolour_b,
                                              self.scalers["G"])
        for _ in range(self.cfg.d_steps):  # the fakes go through the history buffers again each time
            logs.update(discriminator_step(self.model, a, b, fake_a, fake_b, self.pools, self.opt_d, self.precision,
                                           self.scalers["D"]))
        if self.average is not None:
            update_average(list(self.average.parameters()), self.generator_weights, self.cfg.ema_decay)
        return logs

    def on_restore(self) -> None:
        for pool in self.pools:  # the buffers may hold fakes of the steps undone (NaN ones, after a divergence)
            pool.images.clear()

    def train(self, steps: int | None = None, hooks: Sequence[Hook] = (), progress: bool = True) -> History:
        self.model.train()
        return super().train(steps, hooks, progress)

    @torch.no_grad()
    def use_average(self) -> None:
        """G and F take the moving average of their weights (with ema_decay > 0; else nothing changes)."""
        if self.average is not None:
            for average, weight in zip(self.average.parameters(), self.generator_weights):
                weight.copy_(average)


def train_cyclegan(model: CycleGAN, sample_a: Callable[[int], Tensor], sample_b: Callable[[int], Tensor],
                   cfg: CycleGANTrainConfig, device: torch.device | str, hooks: Sequence[Hook] = (),
                   progress: bool = True, checkpoint_path: str | Path | None = None) -> History:
    """Train `model` in place (ending with the averaged G and F if cfg.ema_decay > 0, in eval mode); return
    the history. `hooks(trainer)` run after every step (CycleGANTrainer)."""
    trainer = CycleGANTrainer(model, sample_a, sample_b, cfg, device, checkpoint_path)
    trainer.train(hooks=hooks, progress=progress)
    trainer.use_average()
    model.eval()
    return dict(trainer.history)
