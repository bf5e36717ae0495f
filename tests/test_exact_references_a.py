"""Three numeric functions checked against references computed another way, with two-sided tolerances.

- `losses.importance_weighted_bound` on Bernoulli latent-variable models whose log p(x) is known: in
  closed form (a likelihood that is Gaussian-shaped in z, so the posterior is Gaussian too) and by
  quadrature (a 1-D latent with a logistic decoder).
- `sample_quality.frechet_distance` against scipy.linalg.sqrtm on random correlated covariances.
- `DiagonalGMM.sample`: per-component mean, variance and frequency against the parameters.

Each tolerance is stated beside its assert with where it comes from.
"""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from course_utils import losses
from course_utils import sample_quality as sq
from course_utils.models.gmm import DiagonalGMM

# ----------------------------------------------------------------------------------------------
# importance-weighted bound
# ----------------------------------------------------------------------------------------------


class FixedEncoder(nn.Module):
    """The interface importance_weighted_bound reads: encode(x) -> (mu, log_var) and a `decoder`
    mapping latents (N, L) to Bernoulli logits (N, D). The encoder returns one fixed Gaussian."""

    def __init__(self, decoder: nn.Module, mu, var):
        super().__init__()
        self.decoder = decoder
        self.mu = torch.as_tensor(mu, dtype=torch.float64)
        self.log_var = torch.as_tensor(var, dtype=torch.float64).log()

    def encode(self, x):
        return self.mu.expand(len(x), -1), self.log_var.expand(len(x), -1)


class GaussianShapedDecoder(nn.Module):
    """p(x_d = 1 | z) = exp(-1/2 sum_l a_dl (z_l - m_dl)^2) <= 1, written as a logit.

    With every pixel on (x = 1), log p(x | z) is a quadratic in z, so with p(z) = N(0, I) the posterior
    is Gaussian (diagonal, since the a_d are) and log p(x) has a closed form.
    """

    def __init__(self, centres, precisions):
        super().__init__()
        self.centres, self.precisions = centres, precisions  # (D, L) each

    def forward(self, z):
        g = -0.5 * ((z[:, None, :] - self.centres).square() * self.precisions).sum(-1)  # log p(x_d=1|z)
        return g - torch.log(-torch.expm1(g))  # logit(exp(g))


def closed_form(centres, precisions):
    """log p(x = 1), posterior mean and variance, for GaussianShapedDecoder under p(z) = N(0, I)."""
    P = 1 + precisions.sum(0)  # posterior precision (L,)
    b = (precisions * centres).sum(0)
    log_px = -0.5 * P.log().sum() + 0.5 * (b.square() / P).sum() - 0.5 * (precisions * centres.square()).sum()
    return log_px.item(), b / P, 1 / P


def kl_diag(mq, vq, mp, vp):
    """KL(N(mq, vq) || N(mp, vp)) for diagonal Gaussians."""
    return 0.5 * float((torch.log(vp / vq) + (vq + (mq - mp).square()) / vp - 1).sum())


def chi2_plus_one_1d(mq, vq, mp, vp):
    """E_q[(p/q)^2] = int p^2 / q for 1-D Gaussians p = N(mp, vp), q = N(mq, vq), by a Riemann sum on a fine grid."""
    z = np.linspace(mp - 20 * math.sqrt(vp), mp + 20 * math.sqrt(vp), 200_001)
    log_p = -0.5 * ((z - mp) ** 2 / vp + math.log(2 * math.pi * vp))
    log_q = -0.5 * ((z - mq) ** 2 / vq + math.log(2 * math.pi * vq))
    return float(np.exp(2 * log_p - log_q).sum() * (z[1] - z[0]))  # np.trapezoid needs numpy >= 2


@pytest.fixture(scope="module")
def shaped_model():
    g = torch.Generator().manual_seed(0)
    centres = torch.rand(3, 2, generator=g, dtype=torch.float64) * 2 - 1  # D = 3 pixels, L = 2 latents
    precisions = 0.5 + 1.5 * torch.rand(3, 2, generator=g, dtype=torch.float64)
    return GaussianShapedDecoder(centres, precisions), *closed_form(centres, precisions)


def test_closed_form_reference_matches_a_grid_integral(shaped_model):
    """The reference itself, checked once by brute force: a Riemann sum on a 2-D grid of step 0.01."""
    decoder, log_px, _, _ = shaped_model
    axis = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    z = torch.cartesian_prod(axis, axis)
    log_prior = -0.5 * (z.square().sum(1) + 2 * math.log(2 * math.pi))
    log_joint = torch.nn.functional.logsigmoid(decoder(z)).sum(1) + log_prior
    grid = torch.logsumexp(log_joint, 0).item() + 2 * math.log(axis[1] - axis[0])
    # a smooth integrand decaying like exp(-z^2/2): the Riemann sum is exact to far below 1e-8 here
    assert grid == pytest.approx(log_px, abs=1e-8)


@pytest.mark.parametrize("samples, chunk", [(1, 100), (7, 100), (250, 100), (1000, 100), (1000, 64)])
def test_bound_is_exact_when_the_encoder_is_the_posterior(shaped_model, samples, chunk):
    """q(z|x) = p(z|x) makes every weight p(x, z)/q(z|x) equal p(x): L_K = log p(x) for every K and
    every draw, up to float64 rounding (terms of size ~10, so errors ~1e-14; 1e-9 leaves room)."""
    decoder, log_px, post_mean, post_var = shaped_model
    model = FixedEncoder(decoder, post_mean, post_var)
    torch.manual_seed(1)
    bound = losses.importance_weighted_bound(model, torch.ones(4, 3, dtype=torch.float64), samples, chunk=chunk)
    assert bound.shape == (4,)
    assert torch.allclose(bound, torch.full_like(bound, log_px), rtol=0, atol=1e-9), (bound, log_px)


def _rows(model, x_row, n, samples, seed):
    torch.manual_seed(seed)
    return losses.importance_weighted_bound(model, x_row.expand(n, -1).clone(), samples)


def test_bound_with_a_wrong_encoder_sits_between_the_elbo_and_log_px(shaped_model):
    """q off the posterior (mean shifted by 0.6 sd, variance x1.5 per latent):
    E[L_1] = ELBO = log p(x) - KL(q || p(z|x)) exactly, L_1 < L_10 < L_1000 <= log p(x), and
    log p(x) - E[L_K] ~ chi^2(p(z|x) || q) / (2K) (Burda et al. 2016; the delta method)."""
    decoder, log_px, post_mean, post_var = shaped_model
    q_mean, q_var = post_mean + 0.6 * post_var.sqrt(), 1.5 * post_var
    model = FixedEncoder(decoder, q_mean, q_var)
    x = torch.ones(1, 3, dtype=torch.float64)
    kl = kl_diag(q_mean, q_var, post_mean, post_var)
    chi2 = math.prod(chi2_plus_one_1d(*(float(t[i]) for t in (q_mean, q_var, post_mean, post_var)))
                     for i in range(2)) - 1
    assert 0.3 < kl < 1 and chi2 < 5  # the case is what it says: a clear gap, a finite variance

    means = {}
    for samples, n in ((1, 4000), (10, 1000), (1000, 200)):
        rows = _rows(model, x, n, samples, seed=samples)
        mean, se = rows.mean().item(), rows.std().item() / math.sqrt(n)
        means[samples] = (mean, se)
        # two-sided: 5 standard errors of the mean over n independent rows (a false alarm ~1e-6),
        # plus twice the asymptotic bias chi^2 / (2K) for the K > 1 bounds (exact 0 bias for K = 1)
        expected = log_px - kl if samples == 1 else log_px - chi2 / (2 * samples)
        slack = 5 * se + (0 if samples == 1 else chi2 / (2 * samples))
        assert abs(mean - expected) <= slack, (samples, mean, expected, slack)
    (m1, s1), (m10, s10), (m1000, s1000) = means[1], means[10], means[1000]
    assert m1 + 3 * s1 < m10 and m10 + 3 * s10 < m1000 <= log_px + 5 * s1000
    assert log_px - m1000 < 0.02 < kl  # L_1000 has closed most of the gap


def test_bound_matches_quadrature_for_a_logistic_decoder_with_zeros_and_ones():
    """A 1-D latent, 20 binary pixels with logits w z + b (some pixels off, some on). log p(x), the
    posterior and chi^2(p(z|x) || q) by quadrature on a fine grid; q is the Gaussian with the
    posterior's mean and variance, which is not the (skewed) posterior itself, so KL(q || p(z|x)) > 0."""
    g = torch.Generator().manual_seed(3)
    w = torch.randn(20, 1, generator=g, dtype=torch.float64)
    b = torch.randn(20, generator=g, dtype=torch.float64)
    decoder = nn.Linear(1, 20).double()
    with torch.no_grad():
        decoder.weight.copy_(w)
        decoder.bias.copy_(b)
    z_true = 1.0
    x = (torch.rand(20, generator=g, dtype=torch.float64) < torch.sigmoid(w[:, 0] * z_true + b)).double()
    assert 0 < x.sum() < 20

    z = torch.linspace(-15, 15, 300_001, dtype=torch.float64)
    logits = z[:, None] * w[:, 0] + b
    log_joint = (-torch.nn.functional.binary_cross_entropy_with_logits(
        logits, x.expand(len(z), -1), reduction="none").sum(1) - 0.5 * (z.square() + math.log(2 * math.pi)))
    dz = (z[1] - z[0]).item()
    log_px = torch.logsumexp(log_joint, 0).item() + math.log(dz)  # error << 1e-8 (smooth, decays fast)
    post = (log_joint - log_px).exp()  # p(z | x) on the grid
    m = (post * z).sum().item() * dz
    v = (post * (z - m).square()).sum().item() * dz
    log_q = -0.5 * ((z - m).square() / v + math.log(2 * math.pi * v))
    kl = ((log_q.exp() * (log_q - (log_joint - log_px))).sum() * dz).item()
    chi2 = ((post.square() / log_q.exp()).sum() * dz).item() - 1
    assert 1e-3 < kl and chi2 < 5  # a real (if small) gap, a finite weight variance

    model = FixedEncoder(decoder, [m], [v])
    for samples, n in ((1, 4000), (1000, 200)):
        rows = _rows(model, x[None], n, samples, seed=samples)
        mean, se = rows.mean().item(), rows.std().item() / math.sqrt(n)
        expected = log_px - kl if samples == 1 else log_px - chi2 / (2 * samples)
        slack = 5 * se + (0 if samples == 1 else chi2 / (2 * samples))  # as in the test above
        assert abs(mean - expected) <= slack, (samples, mean, expected, slack)


# ----------------------------------------------------------------------------------------------
# Frechet distance
# ----------------------------------------------------------------------------------------------


def _random_covariance(rng, d):
    """A correlated covariance: A A^T / d + a small ridge, condition number up to ~1e3."""
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.01 * np.eye(d)


def _reference_fd(mu_a, cov_a, mu_b, cov_b):
    cross = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(cross)))


@pytest.mark.parametrize("seed, d", [(0, 2), (1, 5), (2, 16), (3, 64)])
def test_frechet_distance_from_stats_matches_scipy_sqrtm(seed, d):
    """Both sides run in float64; they differ only in how the matrix square root is taken (eigh of
    C_a^1/2 C_b C_a^1/2 vs scipy's Schur method on C_a C_b). Rounding is ~ d * cond * 1e-16 <= 1e-10
    relative here, so rtol = 1e-7 has margin; the bugs this guards against are off by percents."""
    rng = np.random.default_rng(seed)
    mu_a, mu_b = rng.standard_normal(d), rng.standard_normal(d)
    cov_a, cov_b = _random_covariance(rng, d), _random_covariance(rng, d)
    assert np.abs(cov_a - np.diag(np.diag(cov_a))).max() > 0.1  # really correlated
    got = sq.frechet_distance_from_stats(torch.tensor(mu_a), torch.tensor(cov_a), torch.tensor(mu_b),
                                         torch.tensor(cov_b))
    assert got == pytest.approx(_reference_fd(mu_a, cov_a, mu_b, cov_b), rel=1e-7)
    # from float32 inputs: the function works in float64 on the float32 values, so the reference is
    # computed from the same rounded values and the tolerance stays float64's
    f32 = [torch.tensor(t, dtype=torch.float32) for t in (mu_a, cov_a, mu_b, cov_b)]
    got32 = sq.frechet_distance_from_stats(*f32)
    assert got32 == pytest.approx(_reference_fd(*(t.double().numpy() for t in f32)), rel=1e-7)


@pytest.mark.parametrize("seed, d, n", [(4, 3, 40), (5, 8, 500)])
def test_frechet_distance_of_features_matches_numpy_and_scipy(seed, d, n):
    """From feature rows: the unbiased (n - 1) covariance and the sample mean, then the reference."""
    rng = np.random.default_rng(seed)
    mix_a, mix_b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    a = rng.standard_normal((n, d)) @ mix_a + 1.0
    b = rng.standard_normal((n + 7, d)) @ mix_b
    expected = _reference_fd(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert sq.frechet_distance(torch.tensor(a), torch.tensor(b)) == pytest.approx(expected, rel=1e-7)


def test_frechet_distance_hand_worked_case():
    """1-D: (mu_a - mu_b)^2 + (s_a - s_b)^2. With mu 0 vs 3 and variances 4 vs 1: 9 + 1 = 10."""
    got = sq.frechet_distance_from_stats(torch.tensor([0.0]), torch.tensor([[4.0]]),
                                         torch.tensor([3.0]), torch.tensor([[1.0]]))
    assert got == pytest.approx(10.0, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# DiagonalGMM.sample
# ----------------------------------------------------------------------------------------------


def test_gmm_samples_have_each_components_mean_variance_and_weight():
    """Components 40 apart along x_0 with standard deviations <= 2: a sample is assigned to the
    nearest mean with an error probability below P(|N(0,1)| > 10), i.e. never. Per component
    (n_k >= 40 000 of 200 000 samples), 5 standard errors: mean sqrt(var / n_k) (<= 0.01), variance
    var * sqrt(2 / (n_k - 1)) (<= 3.5% relative, Gaussian), frequency sqrt(w (1 - w) / n)."""
    gmm = DiagonalGMM(3, 2)
    gmm.weights = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    gmm.means = torch.tensor([[-40.0, 1.0], [0.0, -2.0], [40.0, 0.5]], dtype=torch.float64)
    gmm.variances = torch.tensor([[0.25, 4.0], [1.0, 0.09], [2.25, 0.5]], dtype=torch.float64)
    n = 200_000
    x = gmm.sample(n, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, 2) and x.dtype == torch.float64
    component = (x[:, :1] - gmm.means[:, 0]).abs().argmin(1)
    for k in range(3):
        xs = x[component == k]
        n_k, var = len(xs), gmm.variances[k]
        assert abs(n_k / n - gmm.weights[k].item()) <= 5 * math.sqrt(gmm.weights[k] * (1 - gmm.weights[k]) / n)
        assert ((xs.mean(0) - gmm.means[k]).abs() <= 5 * (var / n_k).sqrt()).all(), (k, xs.mean(0))
        assert ((xs.var(0) - var).abs() <= 5 * var * math.sqrt(2 / (n_k - 1))).all(), (k, xs.var(0), var)
        # the two coordinates of a component are independent (a diagonal covariance)
        corr = torch.corrcoef(xs.T)[0, 1].item()
        assert abs(corr) <= 5 / math.sqrt(n_k)
