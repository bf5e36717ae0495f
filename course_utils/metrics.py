"""Metrics with honest numbers: densities on a grid, divergences, and the 1-D GAN's diagnostics."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from .budget import to_cpu_float64
from .data import GaussianMixture


def kde_pdf(samples: Tensor, grid: Tensor, bandwidth: float | None = None) -> Tensor:
    """Gaussian kernel density estimate of 1-D `samples` evaluated on `grid`.

    The default bandwidth is Silverman's rule, 0.9 min(std, IQR/1.34) n^(-1/5), which stays
    narrow enough for two separated modes.
    """
    samples = samples.detach().reshape(-1).float().cpu()
    grid = grid.reshape(-1).float().cpu()
    n = len(samples)
    if bandwidth is None:
        std = samples.std().item()
        iqr = (samples.quantile(0.75) - samples.quantile(0.25)).item()
        spread = min(std, iqr / 1.34) if iqr > 0 else std
        bandwidth = 0.9 * max(spread, 1e-3) * n ** (-0.2)
    density = torch.zeros_like(grid)
    for chunk in samples.split(8192):  # bounded memory for large n
        density += torch.exp(-0.5 * ((grid[:, None] - chunk[None]) / bandwidth) ** 2).sum(1)
    return density / (n * bandwidth * math.sqrt(2 * math.pi))


def _normalised(p: Tensor, grid: Tensor) -> Tensor:
    return p / torch.trapezoid(p, grid)


def kl_divergence_grid(p: Tensor, q: Tensor, grid: Tensor) -> float:
    """KL(p || q) in nats by the trapezoid rule; both densities are renormalised on the grid."""
    p, q, grid = to_cpu_float64(p), to_cpu_float64(q), to_cpu_float64(grid)
    p, q = _normalised(p, grid), _normalised(q, grid)
    integrand = torch.where(p > 0, p * (torch.log(p.clamp_min(1e-300)) - torch.log(q.clamp_min(1e-300))), 0.0)
    return float(torch.trapezoid(integrand, grid))


def js_divergence_grid(p: Tensor, q: Tensor, grid: Tensor) -> float:
    """Jensen-Shannon divergence in nats, 0 <= JS <= log 2, by numerical integration on a grid."""
    p, q, grid = to_cpu_float64(p), to_cpu_float64(q), to_cpu_float64(grid)
    p, q = _normalised(p, grid), _normalised(q, grid)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence_grid(p, m, grid) + 0.5 * kl_divergence_grid(q, m, grid)


def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1); 1/2 where both are 0."""
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


@torch.no_grad()
def discriminator_probability(D: nn.Module, x: Tensor) -> Tensor:
    """D(x) in (0, 1) for a 1-D grid x of shape (m,), on D's device; returned on the CPU."""
    device = next(D.parameters()).device
    return torch.sigmoid(D(x.reshape(-1, 1).to(device))).reshape(-1).cpu()


@torch.no_grad()
def generator_samples(G: nn.Module, n: int, seed: int = 0) -> Tensor:
    """n samples of x = G(z) (flattened, on the CPU) from a fixed noise seed."""
    device = next(G.parameters()).device
    z = G.sample_z(n, generator=torch.Generator().manual_seed(seed), device=device)
    return G(z).reshape(-1).cpu()


def gan1d_diagnostics(G: nn.Module, D: nn.Module, p_data: GaussianMixture,
                      n_samples: int = 20_000, mass: float = 0.95) -> dict[str, float]:
    """How close a 1-D GAN is to the equilibrium p_g = p_data, D = 1/2.

    js_nats: JS(p_g, p_data) with p_g from a KDE of G's samples; d_mean_abs_dev: mean |D(x) - 1/2|
    over the central `mass` of p_data; d_max_error_vs_optimal: max |D(x) - D*(x)| there.
    """
    samples = generator_samples(G, n_samples)
    grid = p_data.plot_range(width=6.0, points=2001)
    if samples.min() < grid[0] or samples.max() > grid[-1]:  # G left the data's range: follow it
        grid = torch.linspace(min(grid[0].item(), samples.min().item()),
                              max(grid[-1].item(), samples.max().item()), 4001)
    lo, hi = p_data.central_interval(mass)
    inside = torch.linspace(lo, hi, 501)
    d = discriminator_probability(D, inside)
    return {
        "js_nats": js_divergence_grid(kde_pdf(samples, grid), p_data.pdf(grid), grid),
        "d_mean_abs_dev": float((d - 0.5).abs().mean()),
        "d_max_error_vs_optimal": float((d - optimal_discriminator(p_data.pdf(inside), kde_pdf(samples, inside))).abs().max()),
    }


def generator_gradient_norm(G: nn.Module, D: nn.Module, z: Tensor, loss_fn: Callable[[Tensor], Tensor]) -> float:
    """The norm of the generator loss's gradient with respect to all of G's weights."""
    G.zero_grad(set_to_none=True)
    loss_fn(D(G(z))).backward()
    norm = torch.stack([p.grad.norm() for p in G.parameters() if p.grad is not None]).norm().item()
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    return norm


def dequantise(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """uint8 images -> (pixel + u) / 256 with u ~ U(0, 1): continuous values in [0, 1), flattened, float64.

    A density on these values gives a lower bound on the log-probability of the 8-bit images:
    log P(image) >= E_u[log p(x)] - D log 256 (Theis et al. 2016, section 3.1).
    """
    flat = to_cpu_float64(images.reshape(len(images), -1))
    return (flat + torch.rand(flat.shape, generator=generator, dtype=torch.float64)) / 256.0


def discrete_nll_nats(log_density_unit: Tensor, dims: int) -> Tensor:
    """-log P(8-bit image) bound in nats from log p(x) on [0, 1)^dims: -(log p - dims log 256)."""
    return -(log_density_unit - dims * math.log(256.0))


def bits_per_dim(nll_nats: float, dims: int) -> float:
    """Negative log-likelihood in nats per image -> bits per dimension."""
    return nll_nats / (dims * math.log(2.0))
