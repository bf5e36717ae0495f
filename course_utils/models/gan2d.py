"""The small MLPs of notebook 07's 2-D experiments: G maps 2-D noise to the plane, D scores points of the plane.

The same networks serve every loss and stabiliser of the comparison, so that only the training changes.
`spectral_norm=True` divides each of D's weight matrices by its largest singular value (Miyato et al.
2018, estimated by one power iteration per step: torch.nn.utils.parametrizations.spectral_norm), which
makes D 1-Lipschitz layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as with_spectral_norm


@dataclass(frozen=True)
class GAN2DConfig:
    """Sizes of the 2-D GAN."""

    z_dim: int = 2
    hidden: int = 128
    depth: int = 3  # hidden layers in each network
    spectral_norm: bool = False  # on D's layers


def _mlp(n_in: int, hidden: int, depth: int, n_out: int, activation, wrap=lambda layer: layer) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [wrap(nn.Linear(n_in if i == 0 else hidden, hidden)), activation()]
    layers.append(wrap(nn.Linear(hidden, n_out)))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """G: z (n, z_dim) ~ N(0, I) -> a point of the plane (n, 2)."""

    def __init__(self, cfg: GAN2DConfig = GAN2DConfig()):
        super().__init__()
        self.cfg = cfg
        self.net = _mlp(cfg.z_dim, cfg.hidden, cfg.depth, 2, nn.ReLU)

    def sample_z(self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.cfg.z_dim, device=device, generator=generator)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """D: a point of the plane (n, 2) -> a score (n, 1): a logit, or a critic's value (WGAN, hinge)."""

    def __init__(self, cfg: GAN2DConfig = GAN2DConfig()):
        super().__init__()
        self.cfg = cfg
        wrap = with_spectral_norm if cfg.spectral_norm else (lambda layer: layer)
        self.net = _mlp(2, cfg.hidden, cfg.depth, 1, lambda: nn.LeakyReLU(0.2), wrap)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
