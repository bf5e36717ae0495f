"""InfoGAN's training steps on the course's GAN trainer (notebook 08).

InfoGAN (Chen et al. 2016) is a GAN plus one term: lambda times L_I, a lower bound on the mutual information
between the codes c given to G and the images G makes, estimated by the Q head that reads c back. Both players'
losses get the term: D's step trains its trunk and the Q head to read the codes of G's samples, and G's step
trains G to draw images whose codes can be read. Everything else (Algorithm 1, the schedule, the logs, the guard,
checkpoints, Ctrl-C) is `GANTrainer`'s.

    minimise over D, Q:  GAN loss of D + lambda * information_loss
    minimise over G:     GAN loss of G + lambda * information_loss

InfoGAN-CR (Lin et al. 2020) adds a contrastive regulariser: G draws pairs of images whose latents share one
continuous code (models/infogan.py's `pair_latents`), a third network H says which code the pair shares, and G and
H both minimise H's cross-entropy (G with weight alpha), so each code must make a change that H can recognise
apart from the others'. `InfoGANCRTrainer` trains H throughout and gives G the term from `start` on (the
reference code switches it on late in the run); with alpha = 0 it is InfoGAN with H as a bystander that
measures how distinct the codes' changes are.

`information_loss` (course_utils.losses) is -E log Q(c | x); L_I = H(c) - information_loss. The categorical
code's part is a cross-entropy, the continuous codes' a Gaussian negative log density, weighted by
`continuous_weight` (the paper sets lambda = 1 for discrete codes and a smaller lambda for continuous ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .engine import FRACTION, NON_NEGATIVE, POSITIVE, check_config
from .losses import GAN_LOSSES, information_loss
from .models.infogan import pair_latents, split_latent
from .precision import Precision, apply_gradients
from .train import GANTrainConfig, GANTrainer, _to, make_optimizer, score_logs


@dataclass(frozen=True)
class InformationWeights:
    """lambda for the information term, and the continuous codes' share of it."""

    weight: float = 1.0  # lambda
    continuous_weight: float = 0.1

    def __post_init__(self):
        check_config(self, weight=NON_NEGATIVE, continuous_weight=NON_NEGATIVE)


@dataclass(frozen=True)
class ContrastiveWeights:
    """InfoGAN-CR's alpha, when G starts to get the term, and H's learning rate."""

    weight: float = 2.0  # alpha (the reference code's dSprites value)
    start: float = 0.0  # share of the run before G gets the term (H trains from the first step)
    lr: float = 2e-3  # H's Adam learning rate (the reference code's)

    def __post_init__(self):
        check_config(self, weight=NON_NEGATIVE, start=FRACTION, lr=POSITIVE)


def info_d_step(G: nn.Module, D: nn.Module, x_real: Tensor, latent: Tensor, opt_d: torch.optim.Optimizer,
                cfg: GANTrainConfig, info: InformationWeights,
                scaler: torch.amp.GradScaler | None = None) -> dict[str, Tensor]:
    """One update of D and its Q head: D's GAN loss plus lambda times the information loss on G's samples
    (`scaler`: float16's gradient scaler, course_utils.precision)."""
    with torch.no_grad():
        x_fake = G(latent)
    real_logits = D(x_real).float()
    fake_logits, codes = D.logit_and_codes(x_fake)
    parts = split_latent(latent, D.cfg)
    info_loss = information_loss(*codes, parts.category, parts.continuous, info.continuous_weight)
    gan_loss = GAN_LOSSES[cfg.loss].d(real_logits, fake_logits.float())
    apply_gradients(gan_loss + info.weight * info_loss, opt_d, scaler)
    logs = {"loss_d": gan_loss.detach(), "info_loss": info_loss.detach()}
    if D.cfg.categories:
        logs["q_accuracy"] = (codes.logits.argmax(1) == parts.category).float().mean().detach()
    return {**logs, **score_logs(GAN_LOSSES[cfg.loss], real_logits, fake_logits.float())}


def _generator_losses(G: nn.Module, D: nn.Module, latent: Tensor, cfg: GANTrainConfig,
                      info: InformationWeights) -> tuple[Tensor, Tensor, Tensor]:
    """G's images for `latent`, and G's GAN loss and information loss on them through D and its Q head (the
    caller keeps D fixed)."""
    x = G(latent)
    logits, codes = D.logit_and_codes(x)
    parts = split_latent(latent, D.cfg)
    gan_loss = GAN_LOSSES[cfg.loss].g(logits.float())
    return x, gan_loss, information_loss(*codes, parts.category, parts.continuous, info.continuous_weight)


def info_g_step(G: nn.Module, D: nn.Module, latent: Tensor, opt_g: torch.optim.Optimizer,
                cfg: GANTrainConfig, info: InformationWeights,
                scaler: torch.amp.GradScaler | None = None) -> dict[str, Tensor]:
    """One update of G: its GAN loss through a fixed D plus lambda times the information loss through a fixed Q."""
    D.requires_grad_(False)
    _, gan_loss, info_loss = _generator_losses(G, D, latent, cfg, info)
    apply_gradients(gan_loss + info.weight * info_loss, opt_g, scaler)
    D.requires_grad_(True)
    return {"loss_g": gan_loss.detach(), "info_loss_g": info_loss.detach()}


class InfoGANTrainer(GANTrainer):
    """GANTrainer with InfoGAN's steps: G from models/infogan.py (latent = [z | one-hot | continuous]) and its D
    with the Q head. The history adds info_loss (D's step), info_loss_g (G's step) and q_accuracy (how often Q
    reads the categorical code of G's samples right)."""

    description = "training InfoGAN"

    def __init__(self, G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor], cfg: GANTrainConfig,
                 device: torch.device | str, info: InformationWeights = InformationWeights(),
                 checkpoint_path: str | Path | None = None, precision: Precision | None = None):
        unsupported = [name for name in ("compile", "gradient_penalty", "r1", "clip", "instance_noise",
                                         "label_smoothing") if getattr(cfg, name)]
        if unsupported:
            raise ValueError(f"InfoGANTrainer runs the plain InfoGAN steps; switch off {unsupported} "
                             "in the GANTrainConfig (dataclasses.replace(cfg, name=default)).")
        if not hasattr(D, "logit_and_codes") or not hasattr(G, "cfg") or G.cfg != D.cfg:
            raise ValueError("InfoGANTrainer needs models/infogan.py's Generator and Discriminator built from the same "
                             "InfoGANConfig (D carries the Q head that reads G's codes).")
        self.info = info
        super().__init__(G, D, sample_real, cfg, device, checkpoint_path, precision)

    def train_d(self) -> dict[str, Tensor]:
        x_real = _to(self.sample_real(self.cfg.batch_size), self.device)
        latent = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return info_d_step(self._G, self._D, x_real, latent, self.opt_d, self.cfg, self.info, self.scalers["D"])

    def train_g(self) -> dict[str, Tensor]:
        latent = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return info_g_step(self._G, self._D, latent, self.opt_g, self.cfg, self.info, self.scalers["G"])


def info_cr_g_step(G: nn.Module, D: nn.Module, H: nn.Module, latent: Tensor, partner: Tensor, shared: Tensor,
                   opt_g: torch.optim.Optimizer, opt_h: torch.optim.Optimizer, cfg: GANTrainConfig,
                   info: InformationWeights, alpha: float, scaler_g: torch.amp.GradScaler | None = None,
                   scaler_h: torch.amp.GradScaler | None = None) -> dict[str, Tensor]:
    """One update of G on a batch of pairs (G's GAN and information losses on both halves, plus alpha times H's
    cross-entropy on the pairs), then one update of H on the same pairs, detached (scalers: float16's)."""
    D.requires_grad_(False)
    H.requires_grad_(False)
    x, gan_loss, info_loss = _generator_losses(G, D, torch.cat([latent, partner]), cfg, info)
    x_a, x_b = x.chunk(2)
    cr_loss_g = F.cross_entropy(H(x_a, x_b).float(), shared)
    apply_gradients(gan_loss + info.weight * info_loss + alpha * cr_loss_g, opt_g, scaler_g)
    D.requires_grad_(True)
    H.requires_grad_(True)
    h_logits = H(x_a.detach(), x_b.detach()).float()
    cr_loss = F.cross_entropy(h_logits, shared)
    apply_gradients(cr_loss, opt_h, scaler_h)
    return {"loss_g": gan_loss.detach(), "info_loss_g": info_loss.detach(), "cr_loss": cr_loss.detach(),
            "cr_accuracy": (h_logits.argmax(1) == shared).float().mean().detach()}


class InfoGANCRTrainer(InfoGANTrainer):
    """InfoGAN-CR: InfoGANTrainer plus H (models/infogan.py's ContrastiveHead) and its optimiser. G's step draws
    a batch of pairs (batch_size latents and their partners); from `contrastive.start` of the run on, G's loss has
    alpha times H's cross-entropy. The history adds cr_loss and cr_accuracy (how often H names the shared code), for
    alpha = 0 (InfoGAN) too. H is checkpointed and guarded with G and D."""

    description = "training InfoGAN-CR"

    def __init__(self, G: nn.Module, D: nn.Module, H: nn.Module, sample_real: Callable[[int], Tensor],
                 cfg: GANTrainConfig, device: torch.device | str, info: InformationWeights = InformationWeights(),
                 contrastive: ContrastiveWeights = ContrastiveWeights(),
                 checkpoint_path: str | Path | None = None, precision: Precision | None = None):
        if getattr(H, "cfg", None) != getattr(G, "cfg", None):
            raise ValueError("InfoGANCRTrainer needs H (ContrastiveHead) built from the same InfoGANConfig as G and D")
        super().__init__(G, D, sample_real, cfg, device, info, checkpoint_path, precision)
        self.contrastive = contrastive
        self.H = H.to(self.device)
        self.opt_h = make_optimizer(self.H, "adam", contrastive.lr, cfg.betas, self.device)
        self.register("H", self.H, self.opt_h)
        self.scalers["H"] = self.precision.make_scaler()

    @property
    def alpha(self) -> float:
        """The weight G's loss gives H's cross-entropy at this step."""
        return self.contrastive.weight if self.step >= self.contrastive.start * self.cfg.steps else 0.0

    def train_g(self) -> dict[str, Tensor]:
        latent = self.G.sample_z(self.cfg.batch_size, device=self.device)
        partner, shared = pair_latents(latent, self.G.cfg)
        with self._autocast():
            return info_cr_g_step(self._G, self._D, self.H, latent, partner, shared, self.opt_g, self.opt_h,
                                  self.cfg, self.info, self.alpha, self.scalers["G"], self.scalers["H"])
