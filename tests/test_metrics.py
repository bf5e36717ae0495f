import math

import pytest
import torch

from course_utils import metrics
from course_utils.data import GaussianMixture, gaussian_1d


def test_optimal_discriminator_formula_on_known_densities():
    grid = torch.linspace(-3, 6, 901)
    p_data, p_g = gaussian_1d(1.0, 0.7), gaussian_1d(2.0, 1.0)
    a, b = p_data.pdf(grid), p_g.pdf(grid)
    d_star = metrics.optimal_discriminator(a, b)
    assert torch.allclose(d_star, a / (a + b))
    # D* maximises a log D + b log(1 - D) pointwise: any perturbation lowers it.
    value = lambda d: a * torch.log(d) + b * torch.log(1 - d)
    for shift in (-0.05, 0.05):
        assert (value(d_star) >= value((d_star + shift).clamp(1e-6, 1 - 1e-6)) - 1e-7).all()
    # where the densities are equal, D* = 1/2
    assert metrics.optimal_discriminator(a, a).sub(0.5).abs().max() < 1e-6


def test_value_at_optimum_is_minus_log4_plus_2js():
    grid = torch.linspace(-6, 9, 6001, dtype=torch.float64)
    a, b = gaussian_1d(1.0, 0.7).pdf(grid).double(), gaussian_1d(2.0, 1.0).pdf(grid).double()
    d = metrics.optimal_discriminator(a, b)
    c_of_g = torch.trapezoid(a * torch.log(d) + b * torch.log(1 - d), grid).item()
    assert c_of_g == pytest.approx(-math.log(4) + 2 * metrics.js_divergence_grid(a, b, grid), abs=1e-5)


def test_js_divergence_limits():
    grid = torch.linspace(-10, 20, 3001)
    p, far = gaussian_1d(0, 1).pdf(grid), gaussian_1d(10, 1).pdf(grid)
    assert metrics.js_divergence_grid(p, p, grid) == pytest.approx(0, abs=1e-9)
    assert metrics.js_divergence_grid(p, far, grid) == pytest.approx(math.log(2), abs=1e-4)


def test_kl_of_two_gaussians_matches_closed_form():
    grid = torch.linspace(-10, 12, 8001)
    p, q = gaussian_1d(0, 1).pdf(grid), gaussian_1d(1, 2).pdf(grid)
    closed = math.log(2 / 1) + (1 + 1) / (2 * 4) - 0.5
    assert metrics.kl_divergence_grid(p, q, grid) == pytest.approx(closed, abs=1e-4)


def test_kde_recovers_a_known_density():
    p = GaussianMixture([0.0, 4.0], [0.5, 0.5])
    grid = torch.linspace(-3, 7, 501)
    estimate = metrics.kde_pdf(p.sample(50_000, generator=torch.Generator().manual_seed(0)), grid)
    assert torch.trapezoid(estimate, grid).item() == pytest.approx(1, abs=1e-3)
    assert metrics.js_divergence_grid(estimate, p.pdf(grid), grid) < 2e-3
