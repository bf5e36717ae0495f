"""Autoencoder and variational autoencoder for 28x28 MNIST (Kingma & Welling 2014).

The encoder of the VAE outputs a Gaussian q(z | x) = N(mu, diag(exp(log_var))); the decoder outputs
Bernoulli logits for the 784 pixels; the prior is p(z) = N(0, I). `latent=2` gives the variants
whose code space can be drawn. `image_size=32` gives the same networks for notebook 08's 32x32 shapes
(the beta-VAE: the same model, trained with `VAETrainConfig(beta=...)`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class VAEConfig:
    """Sizes of the MNIST (variational) autoencoders."""

    latent: int = 32
    hidden: int = 512
    conv: bool = False  # a convolutional encoder/decoder instead of MLPs
    image_size: int = 28  # side of the square one-channel images; a multiple of 4 for the convolutional networks

    def __post_init__(self):
        for name in ("latent", "hidden", "image_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"VAEConfig.{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.conv and self.image_size % 4:
            raise ValueError(f"the convolutional VAE halves the image twice: VAEConfig.image_size must be a multiple "
                             f"of 4, got {self.image_size}")


def _encoder(cfg: VAEConfig, outputs: int) -> nn.Module:
    side, b = cfg.image_size, cfg.image_size // 4
    if cfg.conv:
        return nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(),  # -> 32 x 14 x 14 (MNIST)
            nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),  # -> 64 x 7 x 7
            nn.Flatten(), nn.Linear(64 * b * b, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, outputs))
    return nn.Sequential(nn.Flatten(), nn.Linear(side * side, cfg.hidden), nn.ReLU(),
                         nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, outputs))


def _decoder(cfg: VAEConfig) -> nn.Module:
    side, b = cfg.image_size, cfg.image_size // 4
    if cfg.conv:
        return nn.Sequential(
            nn.Linear(cfg.latent, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, 64 * b * b), nn.ReLU(),
            nn.Unflatten(1, (64, b, b)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),  # -> 32 x 14 x 14 (MNIST)
            nn.ConvTranspose2d(32, 1, 4, 2, 1))  # -> 1 x 28 x 28 logits
    return nn.Sequential(nn.Linear(cfg.latent, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.hidden), nn.ReLU(),
                         nn.Linear(cfg.hidden, side * side), nn.Unflatten(1, (1, side, side)))


class Autoencoder(nn.Module):
    """A deterministic bottleneck: x -> code (n, latent) -> pixel logits (n, 1, image_size, image_size)."""

    def __init__(self, cfg: VAEConfig = VAEConfig(latent=2)):
        super().__init__()
        self.cfg = cfg
        self.encoder, self.decoder = _encoder(cfg, cfg.latent), _decoder(cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return asdict(self.cfg)


class VAE(nn.Module):
    """q(z | x) = N(mu, diag(exp(log_var))), p(x | z) = Bernoulli(sigmoid(decoder(z))), p(z) = N(0, I)."""

    def __init__(self, cfg: VAEConfig = VAEConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder, self.decoder = _encoder(cfg, 2 * cfg.latent), _decoder(cfg)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """mu and log_var of q(z | x), each (n, latent)."""
        mu, log_var = self.encoder(x).chunk(2, dim=1)
        return mu, log_var

    def reparameterise(self, mu: Tensor, log_var: Tensor) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample whose gradient reaches mu and sigma."""
        return mu + (0.5 * log_var).exp() * torch.randn_like(mu)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Pixel logits of a reconstruction, and mu, log_var of q(z | x)."""
        mu, log_var = self.encode(x)
        return self.decoder(self.reparameterise(mu, log_var)), mu, log_var

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
        """z from the prior N(0, I), shape (n, latent)."""
        z = torch.randn(n, self.cfg.latent, generator=generator)
        return z.to(device if device is not None else next(self.parameters()).device)

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return asdict(self.cfg)


def log_normal(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z; mu, diag(exp(log_var))), summed over the last dimension."""
    return -0.5 * (log_var + (z - mu).square() / log_var.exp() + math.log(2 * math.pi)).sum(-1)
