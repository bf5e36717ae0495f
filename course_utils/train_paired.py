"""Training with pairs (notebook 10): regression, pix2pix and SRGAN are one generator step with different losses.

The generator's loss is a weighted sum of three terms, and the recipes (course_utils.recipes) pick the weights:

    pixel_weight * ||G(x) - y||  +  perceptual_weight * ||phi(G(x)) - phi(y)||^2  +  adversarial_weight * -log D(., G(x))

- regression (L1 or L2): only the pixel term. The loss is minimised by the conditional median (L1) or mean (L2) of
  y given x: where x leaves y uncertain (the colour of a grey car, the texture lost by downsampling), the average of
  the possible answers, which looks blurred or greyish.
- pix2pix (Isola et al. 2017): L1 with weight 100 plus the adversarial term with D judging the pair (x, y) patch by
  patch, so G must produce one plausible answer, not the average.
- SRGAN (Ledig et al. 2017): the perceptual term phi (features of a classifier; the paper: VGG) plus 1e-3 times the
  adversarial term, starting from the regression model (as the paper starts from its SRResNet-MSE).

`PairedTrainer` is those steps on the course's training engine (loop, logs, divergence guard, schedule, checkpoints,
hooks, Ctrl-C). D steps use the GAN loss of the course (losses.discriminator_loss, on logits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .engine import (NON_NEGATIVE, POSITIVE, POSITIVE_INT, Trainer, check_config, constant_then_linear, fraction)
from .losses import discriminator_loss, generator_loss_non_saturating
from .precision import apply_gradients, choose_precision
from .train import make_optimizer

PIXEL_LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}


@dataclass(frozen=True)
class PairedTrainConfig:
    """The generator's loss weights and the optimisation (Adam 2e-4, beta1 0.5 as pix2pix; constant, then linear
    decay to 0 over the second half). adversarial_weight = 0: regression, no discriminator."""

    steps: int = 4000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    decay_start: float = 0.5
    pixel_loss: str = "l1"
    pixel_weight: float = 1.0
    perceptual_weight: float = 0.0
    adversarial_weight: float = 0.0
    conditional_d: bool = True  # pix2pix's D sees (x, y); SRGAN's sees y alone
    log_every: int = 25
    checkpoint_every: int = 1000
    amp: bool = False

    def __post_init__(self):
        check_config(self, steps=POSITIVE_INT, batch_size=POSITIVE_INT, lr=POSITIVE, log_every=POSITIVE_INT,
                     checkpoint_every=POSITIVE_INT, pixel_weight=NON_NEGATIVE, perceptual_weight=NON_NEGATIVE,
                     adversarial_weight=NON_NEGATIVE,
                     decay_start=(lambda v: fraction(v) and v < 1.0, "a number in [0, 1)"),
                     betas=(lambda v: len(v) == 2 and all(fraction(b) and b < 1.0 for b in v), "two numbers in [0, 1)"),
                     pixel_loss=(lambda v: v in PIXEL_LOSSES, f"one of {sorted(PIXEL_LOSSES)}"),
                     conditional_d=(lambda v: isinstance(v, bool), "True or False"),
                     amp=(lambda v: isinstance(v, bool), "True or False"))
        if self.pixel_weight + self.perceptual_weight + self.adversarial_weight == 0:
            raise ValueError("PairedTrainConfig: every loss weight is 0, so there is nothing to train")


def pair_sampler(source: Tensor, target: Tensor, device: torch.device | str,
                 generator: torch.Generator | None = None) -> Callable[[int], tuple[Tensor, Tensor]]:
    """uint8 pairs -> a function n -> (x, y), n random pairs (the same indices in both) in [-1, 1] on `device`."""
    if len(source) != len(target):
        raise ValueError(f"source and target must hold the same number of images, got {len(source)} and {len(target)}")
    device = torch.device(device)
    source, target = source.to(device), target.to(device)

    def sample(n: int) -> tuple[Tensor, Tensor]:
        index = torch.randint(len(source), (n,), generator=generator).to(device)
        return source[index].float() / 127.5 - 1, target[index].float() / 127.5 - 1

    return sample


class PairedTrainer(Trainer):
    """A generator G (source -> target), optionally a discriminator D and a frozen feature network `features`
    (for the perceptual term), their optimisers and the history of one run."""

    description = "training"

    def __init__(self, G: nn.Module, sample_pairs: Callable[[int], tuple[Tensor, Tensor]], cfg: PairedTrainConfig,
                 device: torch.device | str, D: nn.Module | None = None,
                 features: Callable[[Tensor], Tensor] | None = None, checkpoint_path: str | Path | None = None,
                 description: str | None = None):
        if cfg.adversarial_weight > 0 and D is None:
            raise ValueError("adversarial_weight > 0 needs a discriminator D")
        if cfg.perceptual_weight > 0 and features is None:
            raise ValueError("perceptual_weight > 0 needs a feature network (features=...)")
        self.device = torch.device(device)
        self.G = G.to(self.device).train()
        self.D = D.to(self.device).train() if D is not None and cfg.adversarial_weight > 0 else None
        self.features, self.sample_pairs, self.cfg = features, sample_pairs, cfg
        self.precision = choose_precision(self.device, cfg.amp)
        self.scalers = {"G": self.precision.make_scaler(), "D": self.precision.make_scaler()}
        modules, optimizers = {"G": self.G}, {"G": make_optimizer(self.G, "adam", cfg.lr, cfg.betas, self.device)}
        if self.D is not None:
            modules["D"] = self.D
            optimizers["D"] = make_optimizer(self.D, "adam", cfg.lr, cfg.betas, self.device)
        if description:
            self.description = description
        super().__init__(modules, optimizers, total_steps=cfg.steps, log_every=cfg.log_every,
                         checkpoint_every=cfg.checkpoint_every, schedule=constant_then_linear(cfg.decay_start),
                         checkpoint_path=checkpoint_path, config=cfg)
        self.advice = f"Try a smaller learning rate (now lr={cfg.lr})."

    def judged(self, x: Tensor, y: Tensor) -> Tensor:
        """D's patch logits for target images y (with their sources x when D is conditional)."""
        return self.D(torch.cat([x, y], dim=1) if self.cfg.conditional_d else y)

    def generator_step(self, x: Tensor, y: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """One update of G on the weighted loss; returns the logs and G(x) (detached)."""
        cfg = self.cfg
        logs = {}
        if self.D is not None:
            self.D.requires_grad_(False)
        with self.precision.autocast():
            fake = self.G(x).float()
            loss = torch.zeros((), device=self.device)
            if cfg.pixel_weight > 0:
                logs["pixel"] = PIXEL_LOSSES[cfg.pixel_loss](fake, y)
                loss = loss + cfg.pixel_weight * logs["pixel"]
            if cfg.perceptual_weight > 0:
                with torch.no_grad():
                    target_features = self.features(y).float()
                logs["perceptual"] = F.mse_loss(self.features(fake).float(), target_features)
                loss = loss + cfg.perceptual_weight * logs["perceptual"]
            if self.D is not None:
                logs["adversarial"] = generator_loss_non_saturating(self.judged(x, fake).float())
                loss = loss + cfg.adversarial_weight * logs["adversarial"]
        apply_gradients(loss, self.optimizers["G"], self.scalers["G"])
        if self.D is not None:
            self.D.requires_grad_(True)
        logs = {key: value.detach() for key, value in logs.items()}
        logs["loss_g"] = loss.detach()
        return logs, fake.detach()

    def discriminator_step(self, x: Tensor, y: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """One update of D: real pairs towards 1, generated ones towards 0."""
        with self.precision.autocast():
            real_logits, fake_logits = self.judged(x, y).float(), self.judged(x, fake).float()
            loss = discriminator_loss(real_logits, fake_logits)
        apply_gradients(loss, self.optimizers["D"], self.scalers["D"])
        return {"loss_d": loss.detach(), "d_real": torch.sigmoid(real_logits).mean().detach(),
                "d_fake": torch.sigmoid(fake_logits).mean().detach()}

    def training_step(self) -> dict[str, Tensor]:
        x, y = self.sample_pairs(self.cfg.batch_size)
        logs, fake = self.generator_step(x, y)
        if self.D is not None:
            logs.update(self.discriminator_step(x, y, fake))
        return logs


def train_paired(G: nn.Module, sample_pairs: Callable[[int], tuple[Tensor, Tensor]], cfg: PairedTrainConfig,
                 device: torch.device | str, D: nn.Module | None = None,
                 features: Callable[[Tensor], Tensor] | None = None, progress: bool = True,
                 description: str | None = None) -> dict[str, list[float]]:
    """Train G (and D) in place, leave G in eval mode, return the history."""
    trainer = PairedTrainer(G, sample_pairs, cfg, device, D, features, description=description)
    trainer.train(progress=progress)
    G.eval()
    return dict(trainer.history)


@torch.no_grad()
def translate(G: nn.Module, source: Tensor, batch_size: int = 500) -> Tensor:
    """uint8 source images -> uint8 outputs of G (eval mode, clamped to [-1, 1] and rounded), on the CPU."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    chunks = []
    for chunk in source.split(batch_size):
        out = G(chunk.to(device).float() / 127.5 - 1).float().clamp(-1, 1)
        chunks.append(((out + 1) * 127.5).round().to(torch.uint8).cpu())
    G.train(was_training)
    return torch.cat(chunks)
