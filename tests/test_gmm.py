import math

import numpy as np
import pytest
import torch

from course_utils.data import GaussianMixture
from course_utils.models.gmm import DiagonalGMM


def data_2d(n=3000, seed=0):
    p = GaussianMixture([[-2.0, 0.0], [2.0, 1.0], [0.0, 3.0]], [0.5, 0.8, 0.3], [0.3, 0.5, 0.2])
    return p, p.sample(n, generator=torch.Generator().manual_seed(seed))


def test_em_never_decreases_the_log_likelihood():
    _, x = data_2d()
    gmm = DiagonalGMM(3, 2)
    history = gmm.fit(x, iterations=200, tolerance=0, generator=torch.Generator().manual_seed(0))
    assert np.all(np.diff(history) >= -1e-10)
    assert history[-1] > history[0]


def test_log_prob_is_a_normalised_density():
    _, x = data_2d()
    gmm = DiagonalGMM(3, 2)
    gmm.fit(x, generator=torch.Generator().manual_seed(0))
    axis = torch.linspace(-6, 6, 401, dtype=torch.float64)
    grid = torch.cartesian_prod(axis, axis)
    mass = gmm.log_prob(grid).exp().sum().item() * (12 / 400) ** 2
    assert mass == pytest.approx(1.0, abs=1e-3)


def test_em_matches_sklearn_from_the_same_start():
    from sklearn.mixture import GaussianMixture as SkGMM

    _, x = data_2d()
    gmm = DiagonalGMM(3, 2, min_variance=1e-6)
    gmm.fit(x, iterations=300, tolerance=1e-10, generator=torch.Generator().manual_seed(0))
    start = DiagonalGMM(3, 2)
    start.initialise(x, torch.Generator().manual_seed(0))
    reference = SkGMM(3, covariance_type="diag", max_iter=300, tol=1e-10, reg_covar=1e-6,
                      weights_init=start.weights.numpy(), means_init=start.means.numpy(),
                      precisions_init=1 / start.variances.numpy()).fit(x.numpy())
    ours = gmm.log_prob(x).mean().item()
    assert ours == pytest.approx(reference.score(x.numpy()), abs=1e-4)


def test_samples_follow_the_fitted_density():
    p, x = data_2d(20_000)
    gmm = DiagonalGMM(3, 2)
    gmm.fit(x, generator=torch.Generator().manual_seed(1))
    samples = gmm.sample(20_000, generator=torch.Generator().manual_seed(2))
    assert samples.mean(0).sub(x.double().mean(0)).abs().max() < 0.05
    assert gmm.log_prob(x).mean().item() == pytest.approx(p.log_prob(x).mean().item(), abs=0.02)


# ----------------------------------------------------------------------------- construction, checkpoints, fit's contract

def test_a_new_mixture_is_the_standard_normal_and_saves_its_three_buffers():
    # Before any fit: equal weights, zero means, unit variances, i.e. N(0, I) whatever K. log N(x; 0, I)
    # = -(||x||^2 + d log 2 pi) / 2, in float64: tolerance 1e-12.
    gmm = DiagonalGMM(4, 3)
    assert gmm.config_dict() == {"components": 4, "dim": 3, "min_variance": 1e-4}
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = -0.5 * (x.square().sum(1) + 3 * math.log(2 * math.pi))
    assert torch.allclose(gmm.log_prob(x), expected, rtol=0, atol=1e-12)
    assert torch.allclose(gmm(x), expected, rtol=0, atol=1e-12)  # calling the module is log_prob
    state = gmm.state_dict()
    assert set(state) == {"weights", "means", "variances"}
    assert {k: (tuple(v.shape), v.dtype) for k, v in state.items()} == {
        "weights": ((4,), torch.float64), "means": ((4, 3), torch.float64), "variances": ((4, 3), torch.float64)}


def test_a_fitted_mixture_round_trips_through_its_config_and_state_dict():
    _, x = data_2d(600)
    gmm = DiagonalGMM(3, 2, min_variance=1e-3)
    gmm.fit(x, iterations=20, generator=torch.Generator().manual_seed(0))
    rebuilt = DiagonalGMM(**gmm.config_dict())
    rebuilt.load_state_dict(gmm.state_dict())
    assert rebuilt.config_dict() == {"components": 3, "dim": 2, "min_variance": 1e-3}
    assert torch.equal(rebuilt.log_prob(x), gmm.log_prob(x))


def test_initialise_puts_the_means_on_distinct_data_points_and_the_variances_at_the_datas():
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0)) * torch.tensor([3.0, 0.5])
    x[:, 1] = 7.0  # a constant column: its variance is 0, held at min_variance
    gmm = DiagonalGMM(5, 2, min_variance=0.01)
    gmm.initialise(x, torch.Generator().manual_seed(1))
    rows = [int((x.double() == m).all(1).nonzero()) for m in gmm.means]  # each mean is exactly one row of x
    assert len(set(rows)) == 5
    # the data's variance (unbiased, as x.var): float64 on both sides, tolerance 1e-12
    assert torch.allclose(gmm.variances, torch.tensor([[x[:, 0].double().var().item(), 0.01]] * 5,
                                                      dtype=torch.float64), rtol=1e-12, atol=0)
    assert torch.equal(gmm.weights, torch.full((5,), 0.2, dtype=torch.float64))
    again = DiagonalGMM(5, 2)
    again.initialise(x, torch.Generator().manual_seed(1))
    other = DiagonalGMM(5, 2)
    other.initialise(x, torch.Generator().manual_seed(2))
    assert torch.equal(again.means, gmm.means) and not torch.equal(other.means, gmm.means)


def test_initialise_refuses_data_of_the_wrong_dimension():
    with pytest.raises(ValueError, match=r"models 3-dimensional data, got shape \(10, 2\)"):
        DiagonalGMM(2, 3).initialise(torch.zeros(10, 2))


def test_the_default_min_variance_lets_a_narrow_cluster_keep_its_variance():
    # Data of std 0.03 (variance 9e-4, e.g. a narrow mode): the default floor (1e-4) is below it, so the
    # fit keeps it. The fitted variance of one component is the sample variance (biased, as in maximum
    # likelihood) of 4000 points: standard error var sqrt(2 / n) = 2.2%; tolerance 10%.
    x = torch.randn(4000, 1, generator=torch.Generator().manual_seed(0)) * 0.03 + 5
    gmm = DiagonalGMM(1, 1)
    gmm.fit(x, generator=torch.Generator().manual_seed(0))
    assert gmm.variances.item() == pytest.approx(9e-4, rel=0.1)
    assert gmm.variances.item() == pytest.approx(x.double().var(unbiased=False).item(), rel=1e-9)


def test_fit_stops_when_an_iteration_gains_less_than_the_tolerance():
    _, x = data_2d(2000)
    gmm = DiagonalGMM(3, 2)
    history = gmm.fit(x, generator=torch.Generator().manual_seed(0))  # defaults: 100 iterations, tolerance 1e-6
    gains = np.diff(history)
    assert 2 < len(history) < 100  # it converged, and not at the first step
    assert gains[-1] < 1e-6 and (gains[:-1] >= 1e-6).all()
    # It stops before the M-step: the model is the one whose log-likelihood was recorded last
    # (float64 both times, same computation: 1e-12).
    assert gmm.log_prob(x).mean().item() == pytest.approx(history[-1], abs=1e-12)
    # A fixed number of iterations without the stopping rule: one entry per E-step, an M-step after each.
    fixed = DiagonalGMM(3, 2)
    history = fixed.fit(x, iterations=7, tolerance=-math.inf, generator=torch.Generator().manual_seed(0))
    assert len(history) == 7
    assert fixed.log_prob(x).mean().item() > history[-1]  # the 7th M-step was taken after the last record


def test_sampling_is_reproducible_from_its_generator():
    gmm = DiagonalGMM(3, 2)
    gmm.weights = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    gmm.means = torch.tensor([[-4.0, 1.0], [0.0, -2.0], [4.0, 0.5]], dtype=torch.float64)
    a = gmm.sample(500, generator=torch.Generator().manual_seed(3))
    b = gmm.sample(500, generator=torch.Generator().manual_seed(3))
    c = gmm.sample(500, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_a_component_that_no_point_belongs_to_keeps_a_valid_density():
    # A component far from every point gets responsibilities that underflow to exactly 0 in float64;
    # the M-step must still give it a positive (tiny) weight, a finite mean and the floor variance,
    # so that the log-likelihood stays finite.
    x = torch.randn(200, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gmm = DiagonalGMM(2, 1)
    gmm.means = torch.tensor([[0.0], [1e4]], dtype=torch.float64)
    responsibilities, _ = gmm.e_step(x)
    assert (responsibilities[:, 1] == 0).all()  # the case really is an empty component
    gmm.m_step(x, responsibilities)
    assert (gmm.weights > 0).all() and gmm.weights[1] < 1e-9
    assert torch.isfinite(gmm.means).all() and gmm.variances[1].item() == pytest.approx(gmm.min_variance)
    assert torch.isfinite(gmm.log_prob(x)).all()


def test_fit_is_reproducible_from_its_generator_and_quiet_by_default(capsys):
    _, x = data_2d(600)
    runs = [DiagonalGMM(3, 2).fit(x, iterations=5, generator=torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert runs[0] == runs[1] and runs[0] != runs[2]  # the generator picks the initial means
    assert capsys.readouterr().err == ""  # no progress bar unless asked for
    DiagonalGMM(3, 2).fit(x, iterations=5, generator=torch.Generator().manual_seed(0), progress=True)
    assert capsys.readouterr().err != ""
