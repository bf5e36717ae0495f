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
