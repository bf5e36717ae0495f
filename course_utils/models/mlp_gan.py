"""Fully connected GAN for 28x28 MNIST digits (Goodfellow et al. 2014 trained MLPs on MNIST too).

G: z ~ N(0, I) -> Linear/BatchNorm/LeakyReLU blocks -> 784 pixels through Tanh, in [-1, 1].
D: 784 pixels -> Linear/LeakyReLU/Dropout blocks -> one logit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class MLPGANConfig:
    """Sizes of the MNIST MLP GAN."""

    z_dim: int = 64
    g_hidden: tuple[int, ...] = (256, 512, 1024)
    d_hidden: tuple[int, ...] = (512, 256)
    d_dropout: float = 0.3  # dropout in D, as in the original GAN's MNIST discriminator


class Generator(nn.Module):
    """G: z (n, z_dim) -> x (n, 1, 28, 28) in [-1, 1]."""

    def __init__(self, cfg: MLPGANConfig = MLPGANConfig()):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = cfg.z_dim
        for hidden in cfg.g_hidden:
            layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2)]
            width = hidden
        layers += [nn.Linear(width, 28 * 28), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).reshape(-1, 1, 28, 28)

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
        """Noise z ~ N(0, I), shape (n, z_dim)."""
        z = torch.randn(n, self.cfg.z_dim, generator=generator)
        return z.to(device if device is not None else next(self.parameters()).device)

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self.cfg).items()}


class Discriminator(nn.Module):
    """D: x (n, 1, 28, 28) -> logit (n, 1)."""

    def __init__(self, cfg: MLPGANConfig = MLPGANConfig()):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = [nn.Flatten()]
        width = 28 * 28
        for hidden in cfg.d_hidden:
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2), nn.Dropout(cfg.d_dropout)]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
