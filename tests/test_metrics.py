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


# ----------------------------------------------------------------------------- exact references

def _hand_kde(samples, grid, h):
    """sum_i N(x; s_i, h^2) / n, written out in float64 numpy."""
    import numpy as np

    s, x = np.asarray(samples, dtype=np.float64), np.asarray(grid, dtype=np.float64)
    return np.exp(-0.5 * ((x[:, None] - s[None]) / h) ** 2).sum(1) / (len(s) * h * math.sqrt(2 * math.pi))


def _silverman(samples):
    """0.9 min(std, IQR / 1.34) n^(-1/5), with the sample std (n - 1) and linear-interpolated quartiles."""
    import numpy as np

    s = np.asarray(samples, dtype=np.float64)
    iqr = np.quantile(s, 0.75) - np.quantile(s, 0.25)
    return 0.9 * min(s.std(ddof=1), iqr / 1.34) * len(s) ** -0.2


# Two sample sets: in the first std < IQR / 1.34 (two tight clusters far apart: std 2.5, IQR 5.2);
# in the second IQR / 1.34 < std (one outlier inflates the std to 9.6, IQR 1.6). A 0.01-scale set
# checks that narrow data keep their own narrow bandwidth.
SPREAD_BY_STD = [-2.6, -2.5, -2.4, -2.3, 2.3, 2.4, 2.5, 2.6]
SPREAD_BY_IQR = [-1.0, -0.5, 0.0, 0.2, 0.4, 0.9, 1.1, 30.0]
NARROW = [0.010, 0.012, 0.015, 0.019, 0.020, 0.026]


@pytest.mark.parametrize("samples, uses_std", [(SPREAD_BY_STD, True), (SPREAD_BY_IQR, False), (NARROW, None)])
def test_kde_with_silvermans_bandwidth_matches_a_hand_computed_kde(samples, uses_std):
    import numpy as np

    s = np.asarray(samples)
    if uses_std is not None:  # the case really exercises the branch it is named for
        iqr = np.quantile(s, 0.75) - np.quantile(s, 0.25)
        assert (s.std(ddof=1) < iqr / 1.34) == uses_std
    grid = torch.linspace(s.min() - 1, s.max() + 1, 301)
    # float32 evaluation (the function works in float32) of densities of order 1 / h: relative 1e-5;
    # a bandwidth off by 1% changes the peak density by ~1%, far outside.
    expected = torch.from_numpy(_hand_kde(s, grid.numpy(), _silverman(s))).float()
    assert torch.allclose(metrics.kde_pdf(torch.tensor(samples), grid), expected, rtol=1e-5, atol=1e-6 * expected.max())


def test_kde_with_a_given_bandwidth_and_more_samples_than_one_chunk():
    # 20,000 samples are summed in three chunks of at most 8192; each must count once.
    generator = torch.Generator().manual_seed(0)
    samples = torch.randn(20_000, generator=generator) * 2 + 1
    grid = torch.linspace(-7, 9, 161)
    expected = torch.from_numpy(_hand_kde(samples.numpy(), grid.numpy(), 0.3)).float()
    # float32 sums of 20,000 terms: relative round-off ~ 20,000 * 6e-8 = 1e-3 at worst, typically
    # 1e-5; 1e-4 relative plus 1e-6 absolute holds (measured below 2e-6) and a chunk lost is -40%.
    estimate = metrics.kde_pdf(samples, grid, bandwidth=0.3)
    assert torch.allclose(estimate, expected, rtol=1e-4, atol=1e-6)


def test_kde_of_samples_with_no_interquartile_range_uses_the_std():
    # IQR = 0 (six of eight samples equal): Silverman's min(std, IQR / 1.34) would be a zero bandwidth;
    # the rule falls back to the std.
    import numpy as np

    samples = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0]
    h = 0.9 * np.std(samples, ddof=1) * 8 ** -0.2
    grid = torch.linspace(-2, 2, 81)
    expected = torch.from_numpy(_hand_kde(samples, grid.numpy(), h)).float()
    assert torch.allclose(metrics.kde_pdf(torch.tensor(samples), grid), expected, rtol=1e-5, atol=1e-7)


def test_divergences_renormalise_their_densities_on_the_grid():
    # kl_divergence_grid and js_divergence_grid renormalise p and q: scaling either changes nothing.
    # The closed forms (KL of N(0, 1) from N(1, 2^2): log 2 + 2/8 - 1/2) hold to the trapezoid
    # rule's error on this grid (< 1e-6 measured; tolerance 1e-4 as in the tests above).
    grid = torch.linspace(-10, 12, 8001)
    p, q = gaussian_1d(0, 1).pdf(grid), gaussian_1d(1, 2).pdf(grid)
    closed = math.log(2) + 2 / 8 - 0.5
    assert metrics.kl_divergence_grid(3 * p, 0.25 * q, grid) == pytest.approx(closed, abs=1e-4)
    assert metrics.kl_divergence_grid(0.25 * p, 3 * q, grid) == pytest.approx(closed, abs=1e-4)
    # JS: scaling float32 densities rounds them by a relative 6e-8, which moves JS by ~1e-8 at most.
    js = metrics.js_divergence_grid(p, q, grid)
    assert metrics.js_divergence_grid(5 * p, 0.2 * q, grid) == pytest.approx(js, abs=1e-7)
    assert metrics.js_divergence_grid(0.2 * p, 5 * q, grid) == pytest.approx(js, abs=1e-7)


def test_js_of_two_uniforms_overlapping_by_half():
    """p = U[0, 2), q = U[1, 3). Where only one is positive the mixture is half of it, contributing
    (1/2) log 2 from each side's unit of length at density 1/2; where both are 1/2 the mixture equals
    them and contributes 0. So JS = 1/2 (1/2 log 2) + 1/2 (1/2 log 2) = (1/2) log 2 = 0.3466 exactly.
    The trapezoid rule is exact except on the cells at the four jumps: an error of order the spacing
    (1e-4) times the integrand (0.35) per jump, so tolerance 1e-3. A wrong mixture (p alone, or p - q)
    or a wrong weight moves JS by more than 0.1; p + q in place of their mean is the same mixture once
    renormalised, as it should be."""
    grid = torch.linspace(-1, 4, 50_001, dtype=torch.float64)
    p = ((grid >= 0) & (grid < 2)).double() / 2
    q = ((grid >= 1) & (grid < 3)).double() / 2
    assert metrics.js_divergence_grid(p, q, grid) == pytest.approx(0.5 * math.log(2), abs=1e-3)
    assert metrics.js_divergence_grid(q, p, grid) == pytest.approx(0.5 * math.log(2), abs=1e-3)
    # KL(p || q) is infinite (q = 0 on [0, 1) where p > 0); on the grid it is clamped, but huge.
    assert metrics.kl_divergence_grid(p, q, grid) > 100


def test_optimal_discriminator_is_one_half_where_both_densities_vanish():
    p_data = torch.tensor([0.0, 0.2, 0.0, 0.3, 1e-3])
    p_g = torch.tensor([0.0, 0.0, 0.5, 0.1, 3e-3])
    expected = torch.tensor([0.5, 1.0, 0.0, 0.75, 0.25])
    assert torch.allclose(metrics.optimal_discriminator(p_data, p_g), expected, rtol=1e-6, atol=0)


def test_dequantise_is_reproducible_from_its_generator():
    images = torch.randint(0, 256, (4, 1, 3, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    a = metrics.dequantise(images, torch.Generator().manual_seed(7))
    b = metrics.dequantise(images, torch.Generator().manual_seed(7))
    c = metrics.dequantise(images, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(3)  # without a generator: the global one
    d = metrics.dequantise(images)
    torch.manual_seed(3)
    assert torch.equal(d, metrics.dequantise(images))


# ----------------------------------------------------------------------------- the 1-D GAN's diagnostics when G leaves p_data's range

class _UniformG(torch.nn.Module):
    """G(z) = a + w z with stratified z_i = (i + 1/2) / n: its samples are U[a, a + w) with no clumps,
    so their KDE is the uniform density smoothed by the Gaussian kernel (the midpoint rule's error,
    (spacing / h)^2 / 24, is below 1e-5 for 2000 samples of U over 14 units and h = 0.7)."""

    def __init__(self, a, w):
        super().__init__()
        self.a, self.w = torch.nn.Parameter(torch.tensor(float(a))), float(w)

    def sample_z(self, n, generator=None, device=None):
        return ((torch.arange(n) + 0.5) / n).reshape(n, 1).to(device)

    def forward(self, z):
        return self.a + self.w * z


def _js_on_the_widened_grid(a, w, n):
    """JS(p_data, KDE of G's n samples) by scipy quadrature on the range spanned by p_data's grid
    (N(2, 0.5^2) +- 6 std = [-1, 5]) and G's samples (a + w/2n to a + w - w/2n), each density
    renormalised there. The KDE is U[a, a + w) smoothed by the kernel of Silverman's bandwidth h."""
    import numpy as np
    from scipy import integrate

    z = (np.arange(n) + 0.5) / n
    h = _silverman(a + w * z)
    lo, hi = min(-1.0, a + w * z[0]), max(5.0, a + w * z[-1])
    phi = lambda u: 0.5 * (1 + math.erf(u / math.sqrt(2)))  # noqa: E731
    p = lambda x: math.exp(-0.5 * ((x - 2.0) / 0.5) ** 2) / (0.5 * math.sqrt(2 * math.pi))  # noqa: E731
    q = lambda x: (phi((x - a) / h) - phi((x - a - w) / h)) / w  # noqa: E731
    zp = integrate.quad(p, lo, hi, points=[2.0])[0]
    zq = integrate.quad(q, lo, hi, points=[a, a + w], limit=200)[0]

    def kl_to_mixture(f, zf, g, zg):
        def integrand(x):
            fx, gx = f(x) / zf, g(x) / zg
            return fx * math.log(2 * fx / (fx + gx)) if fx > 0 else 0.0
        return integrate.quad(integrand, lo, hi, points=[a, a + w, 2.0], limit=400)[0]
    return 0.5 * kl_to_mixture(p, zp, q, zq) + 0.5 * kl_to_mixture(q, zq, p, zp)


@pytest.mark.parametrize("a, w", [(-10.0, 13.0), (1.0, 14.0)])  # G leaves on the left only, on the right only
def test_gan1d_js_follows_g_outside_the_datas_range(a, w):
    # With G's samples reaching -10 (or 15), the grid must widen to hold them all: JS then compares
    # p_data with all of p_g. Tolerance 2e-5: the trapezoid rule on the 4001-point widened grid
    # (spacing < 4e-3 against p_data's std 0.5: relative error spacing^2 / (12 std^2) < 5e-6 of a JS
    # of 0.46), the KDE's midpoint-rule error (< 1e-5 relative) and float32 densities (1e-6); measured
    # 6e-8. Cutting p_g to p_data's own range [-1, 5] and renormalising it there gives 0.23 instead.
    D, n = torch.nn.Linear(1, 1), 2000  # 2000 samples (not 20,000) keep the test under a second
    numbers = metrics.gan1d_diagnostics(_UniformG(a, w), D, gaussian_1d(2.0, 0.5), n_samples=n)
    assert numbers["js_nats"] == pytest.approx(_js_on_the_widened_grid(a, w, n), abs=2e-5)


def test_gan1d_diagnostics_default_mass_is_the_central_95_percent():
    # The notebooks report d_mean_abs_dev over the central 95% of p_data by default. With
    # D(x) = sigmoid(x - 2) on N(2, 0.5^2), mean |D - 1/2| over [2 - 1.96 s, 2 + 1.96 s] is a 501-point
    # average that the explicit mass=0.95 call reproduces exactly; over the central 50% it is 0.08 lower.
    D = torch.nn.Linear(1, 1)
    with torch.no_grad():
        D.weight.fill_(1.0)
        D.bias.fill_(-2.0)
    G = _UniformG(0.5, 3.0)
    default = metrics.gan1d_diagnostics(G, D, gaussian_1d(2.0, 0.5), n_samples=2000)
    explicit = metrics.gan1d_diagnostics(G, D, gaussian_1d(2.0, 0.5), n_samples=2000, mass=0.95)
    assert default == explicit
    # the 501 points of [2 - 0.98, 2 + 0.98]: |sigmoid(u) - 1/2| averaged, by hand in float64
    u = torch.linspace(-1.96 * 0.5, 1.96 * 0.5, 501, dtype=torch.float64)
    # float32 quantiles and sigmoid: 1e-5
    assert default["d_mean_abs_dev"] == pytest.approx((torch.sigmoid(u) - 0.5).abs().mean().item(), abs=1e-5)


# ----------------------------------------------------------------------------- generator_gradient_norm

def test_generator_gradient_norm_of_a_linear_g_and_d_by_hand():
    """G(z) = a z + b, D's logit l = c x + e, non-saturating loss L = mean softplus(-l):
    dL/da = mean(-sigmoid(-l) c z), dL/db = mean(-sigmoid(-l) c); the norm is their hypotenuse."""
    from course_utils.losses import generator_loss_non_saturating

    G, D = torch.nn.Linear(1, 1).double(), torch.nn.Linear(1, 1).double()
    with torch.no_grad():
        G.weight.fill_(0.8), G.bias.fill_(-0.3), D.weight.fill_(1.5), D.bias.fill_(0.2)
    z = torch.randn(64, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    logit = 1.5 * (0.8 * z - 0.3) + 0.2
    s = torch.sigmoid(-logit)
    expected = math.hypot((-s * 1.5 * z).mean().item(), (-s * 1.5).mean().item())
    G.weight.grad = torch.full_like(G.weight, 100.0)  # stale gradients from elsewhere must not count
    norm = metrics.generator_gradient_norm(G, D, z, generator_loss_non_saturating)
    assert norm == pytest.approx(expected, rel=1e-12)  # float64 throughout
    # and it leaves no gradients behind in either network (they would leak into the next optimiser step)
    assert all(p.grad is None for p in [*G.parameters(), *D.parameters()])
