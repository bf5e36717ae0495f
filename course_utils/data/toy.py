"""Toy distributions with exact densities: 1-D and 2-D Gaussian mixtures for the GAN lectures."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

class GaussianMixture:
    """A mixture of isotropic Gaussians in d dimensions, with exact `sample(n)` and `pdf(x)`."""

    def __init__(self, means: list | Tensor, stds: list | Tensor, weights: list | Tensor | None = None):
        means = torch.as_tensor(means, dtype=torch.float32)
        self.means = means.reshape(len(means), -1)  # (K, d); a list of scalars means d = 1
        self.stds = torch.as_tensor(stds, dtype=torch.float32).reshape(-1)  # (K,)
        k = len(self.means)
        weights = torch.ones(k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if len(self.stds) != k or len(weights) != k:
            raise ValueError(f"means, stds and weights need one entry per component; got {k}, "
                             f"{len(self.stds)}, {len(weights)}")
        if (self.stds <= 0).any() or (weights < 0).any():
            raise ValueError("stds must be positive and weights non-negative")
        self.weights = weights / weights.sum()

    @property
    def dim(self) -> int:
        """Dimension of x."""
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Tensor:
        """Draw n samples, shape (n, dim)."""
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator)
        x = self.means[component] + self.stds[component, None] * noise
        return x.to(device) if device is not None else x

    def sampler(self, device: torch.device | str) -> Callable[[int], Tensor]:
        """A trainer's `sample_real(n)` that draws on `device` itself (no host work per batch, so a GPU
        step can be recorded as a CUDA graph). On the CPU it draws the same numbers as `sample(n)`."""
        weights, means, stds = (t.to(device) for t in (self.weights, self.means, self.stds))

        def sample(n: int) -> Tensor:
            component = torch.multinomial(weights, n, replacement=True)
            return means[component] + stds[component, None] * torch.randn(n, self.dim, device=weights.device)
        return sample

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density at x of shape (n, dim), or (n,) when dim is 1."""
        x = torch.as_tensor(x, dtype=torch.float32)
        x = x.reshape(-1, self.dim).cpu()
        squared = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, K)
        var = self.stds**2
        log_normal = -0.5 * squared / var - 0.5 * self.dim * torch.log(2 * math.pi * var)
        return torch.logsumexp(torch.log(self.weights) + log_normal, dim=1)

    def pdf(self, x: Tensor) -> Tensor:
        """Exact density at x (see `log_prob` for shapes)."""
        return self.log_prob(x).exp()

    def quantile(self, q: float) -> float:
        """The q-quantile of a 1-D mixture, by inverting the exact CDF on a fine grid."""
        if self.dim != 1:
            raise ValueError("quantile is defined for 1-D mixtures only")
        grid = self.plot_range(width=8.0, points=20_001)
        cdf = torch.cumsum(self.pdf(grid), 0)
        cdf = cdf / cdf[-1]
        return float(grid[torch.searchsorted(cdf, torch.tensor(q)).clamp(max=len(grid) - 1)])

    def central_interval(self, mass: float = 0.95) -> tuple[float, float]:
        """The interval holding the central `mass` of a 1-D mixture, e.g. (mu-1.96s, mu+1.96s)."""
        tail = (1 - mass) / 2
        return self.quantile(tail), self.quantile(1 - tail)

    def plot_range(self, width: float = 4.0, points: int = 400) -> Tensor:
        """A 1-D grid covering every component +- `width` standard deviations."""
        lo = float((self.means[:, 0] - width * self.stds).min())
        hi = float((self.means[:, 0] + width * self.stds).max())
        return torch.linspace(lo, hi, points)

    def __repr__(self) -> str:
        return (f"GaussianMixture(means={self.means.squeeze(-1).tolist()}, stds={self.stds.tolist()}, "
                f"weights={[round(w, 3) for w in self.weights.tolist()]})")


def gaussian_1d(mean: float = 2.0, std: float = 0.5) -> GaussianMixture:
    """The lecture's p_data: one 1-D Gaussian."""
    return GaussianMixture([mean], [std])


def bimodal_1d(left: float = 2.0, right: float = 6.0, std: float = 0.4) -> GaussianMixture:
    """Two well-separated equal modes: the classic setting for mode collapse."""
    return GaussianMixture([left, right], [std, std])


def ring_2d(modes: int = 8, radius: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """A ring of `modes` Gaussians in 2-D (Metz et al. 2017, unrolled GANs)."""
    angles = torch.arange(modes) * 2 * math.pi / modes
    means = torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1)
    return GaussianMixture(means, [std] * modes)


def grid_2d(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """A side x side grid of Gaussians in 2-D, centred on the origin."""
    ticks = (torch.arange(side) - (side - 1) / 2) * spacing
    means = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(means, [std] * side * side)


def two_moons(n: int, noise: float = 0.08, generator: torch.Generator | None = None) -> Tensor:
    """n points of two interleaved half circles (the shape of scikit-learn's make_moons), centred and scaled to
    about unit spread, with Gaussian noise of std `noise` (before scaling), in random order. Half the points on each
    moon (the upper one gets the extra one); no closed-form density: notebook 09 compares models with the points."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"two_moons needs a whole number n >= 1 of points, got {n!r}")
    upper = (n + 1) // 2
    angles = torch.rand(n, generator=generator, dtype=torch.float64) * math.pi
    upper_points = torch.stack([angles[:upper].cos(), angles[:upper].sin()], dim=1)
    lower_points = torch.stack([1 - angles[upper:].cos(), 0.5 - angles[upper:].sin()], dim=1)
    points = torch.cat([upper_points, lower_points]) + noise * torch.randn(n, 2, generator=generator,
                                                                           dtype=torch.float64)
    points = points[torch.randperm(n, generator=generator)]  # the moons mixed: any slice holds both
    return ((points - torch.tensor([0.5, 0.25], dtype=torch.float64)) / 0.75).float()
