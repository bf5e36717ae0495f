"""InfoGAN's training steps on the course's GAN trainer (notebook 08).

InfoGAN (Chen et al. 2016) is a GAN plus one term: lambda times L_I, a lower bound on the mutual information
between the codes c given to G and the images G makes, estimated by the Q head that reads c back. Both players'
losses get the term: D's step trains its trunk and the Q head to read the codes of G's samples, and G's step
trains G to draw images whose codes can be read. Everything else (Algorithm 1, the schedule, the logs, the guard,
checkpoints, Ctrl-C) is `GANTrainer`'s.

    minimise over D, Q:  GAN loss of D + lambda * information_loss
    minimise over G:     GAN loss of G + lambda * information_loss

`information_loss` (course_utils.losses) is -E log Q(c | x); L_I = H(c) - information_loss. The categorical
code's part is a cross-entropy, the continuous codes' a Gaussian negative log density, weighted by
`continuous_weight` (the paper sets lambda = 1 for discrete codes and a smaller lambda for continuous ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .engine import NON_NEGATIVE, check_config
from .losses import GAN_LOSSES, information_loss
from .models.infogan import split_latent
from .train import GANTrainConfig, GANTrainer, _to, score_logs


@dataclass(frozen=True)
class InformationWeights:
    """lambda for the information term, and the continuous codes' share of it."""

    weight: float = 1.0  # lambda
    continuous_weight: float = 0.1

    def __post_init__(self):
        check_config(self, weight=NON_NEGATIVE, continuous_weight=NON_NEGATIVE)


def info_d_step(G: nn.Module, D: nn.Module, x_real: Tensor, latent: Tensor, opt_d: torch.optim.Optimizer,
                cfg: GANTrainConfig, info: InformationWeights) -> dict[str, Tensor]:
    """One update of D and its Q head: D's GAN loss plus lambda times the information loss on G's samples."""
    with torch.no_grad():
        x_fake = G(latent)
    real_logits = D(x_real).float()
    fake_logits, codes = D.logit_and_codes(x_fake)
    parts = split_latent(latent, D.cfg)
    info_loss = information_loss(*codes, parts.category, parts.continuous, info.continuous_weight)
    gan_loss = GAN_LOSSES[cfg.loss].d(real_logits, fake_logits.float())
    opt_d.zero_grad(set_to_none=True)
    (gan_loss + info.weight * info_loss).backward()
    opt_d.step()
    logs = {"loss_d": gan_loss.detach(), "info_loss": info_loss.detach()}
    if D.cfg.categories:
        logs["q_accuracy"] = (codes.logits.argmax(1) == parts.category).float().mean().detach()
    return {**logs, **score_logs(GAN_LOSSES[cfg.loss], real_logits, fake_logits.float())}


def info_g_step(G: nn.Module, D: nn.Module, latent: Tensor, opt_g: torch.optim.Optimizer,
                cfg: GANTrainConfig, info: InformationWeights) -> dict[str, Tensor]:
    """One update of G: its GAN loss through a fixed D plus lambda times the information loss through a fixed Q."""
    D.requires_grad_(False)
    logits, codes = D.logit_and_codes(G(latent))
    parts = split_latent(latent, D.cfg)
    gan_loss = GAN_LOSSES[cfg.loss].g(logits.float())
    info_loss = information_loss(*codes, parts.category, parts.continuous, info.continuous_weight)
    opt_g.zero_grad(set_to_none=True)
    (gan_loss + info.weight * info_loss).backward()
    opt_g.step()
    D.requires_grad_(True)
    return {"loss_g": gan_loss.detach(), "info_loss_g": info_loss.detach()}


class InfoGANTrainer(GANTrainer):
    """GANTrainer with InfoGAN's steps: G from models/infogan.py (latent = [z | one-hot | continuous]) and its D
    with the Q head. The history adds info_loss (D's step), info_loss_g (G's step) and q_accuracy (how often Q
    reads the categorical code of G's samples right)."""

    description = "training InfoGAN"

    def __init__(self, G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor], cfg: GANTrainConfig,
                 device: torch.device | str, info: InformationWeights = InformationWeights(),
                 checkpoint_path: str | Path | None = None):
        unsupported = [name for name in ("compile", "gradient_penalty", "r1", "clip", "instance_noise",
                                         "label_smoothing") if getattr(cfg, name)]
        if unsupported:
            raise ValueError(f"InfoGANTrainer runs the plain InfoGAN steps; switch off {unsupported} "
                             "in the GANTrainConfig (dataclasses.replace(cfg, name=default)).")
        if not hasattr(D, "logit_and_codes") or not hasattr(G, "cfg") or G.cfg != D.cfg:
            raise ValueError("InfoGANTrainer needs models/infogan.py's Generator and Discriminator built from the same "
                             "InfoGANConfig (D carries the Q head that reads G's codes).")
        self.info = info
        super().__init__(G, D, sample_real, cfg, device, checkpoint_path)

    def train_d(self) -> dict[str, Tensor]:
        x_real = _to(self.sample_real(self.cfg.batch_size), self.device)
        latent = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return info_d_step(self._G, self._D, x_real, latent, self.opt_d, self.cfg, self.info)

    def train_g(self) -> dict[str, Tensor]:
        latent = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return info_g_step(self._G, self._D, latent, self.opt_g, self.cfg, self.info)
