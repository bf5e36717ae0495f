"""Generator and discriminator for the 1-D GAN of Goodfellow et al. 2014, Figure 1.

Both are small MLPs. z is one number drawn from N(0, 1), so the mapping x = G(z) can be drawn as
arrows from one line to another. G adds a straight path from z to x to its tanh network: the tanh
part is bounded, so G(z) grows like z in both directions and p_g, like a Gaussian p_data, is
positive on the whole line. (With bounded noise, or a G made of tanh units alone, p_g would be
zero in the data's tails, where the optimal discriminator p_data / (p_data + p_g) is then 1.)
D returns a logit; D(x) = sigmoid(logit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class GAN1DConfig:
    """Sizes of the 1-D GAN."""

    z_dim: int = 1
    g_hidden: int = 32
    d_hidden: int = 64
    depth: int = 2  # hidden layers in each network


def mlp(n_in: int, hidden: int, depth: int, n_out: int, activation: Callable[[], nn.Module]) -> nn.Sequential:
    """Linear-activation blocks of width `hidden`, then a linear output layer."""
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class Generator(nn.Module):
    """G: z (n, z_dim) -> x (n, 1), x = linear(z) + net(z)."""

    def __init__(self, cfg: GAN1DConfig = GAN1DConfig()):
        super().__init__()
        self.cfg = cfg
        self.net = mlp(cfg.z_dim, cfg.g_hidden, cfg.depth, 1, nn.Tanh)  # smooth: a smooth p_g
        self.linear = nn.Linear(cfg.z_dim, 1)  # unbounded: G(z) -> +-infinity, so p_g > 0 everywhere

    def forward(self, z: Tensor) -> Tensor:
        return self.linear(z) + self.net(z)

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
        """Noise z ~ N(0, I), shape (n, z_dim)."""
        z = torch.randn(n, self.cfg.z_dim, generator=generator)
        return z.to(device if device is not None else next(self.parameters()).device)

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return asdict(self.cfg)


class Discriminator(nn.Module):
    """D: x (n, 1) -> logit (n, 1); D(x) = sigmoid(logit) is the probability that x is real."""

    def __init__(self, cfg: GAN1DConfig = GAN1DConfig()):
        super().__init__()
        self.cfg = cfg
        # LeakyReLU keeps gradients alive where D saturates (Radford et al. 2016 use it in D).
        self.net = mlp(1, cfg.d_hidden, cfg.depth, 1, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return asdict(self.cfg)
