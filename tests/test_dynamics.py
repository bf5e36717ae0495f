"""The Dirac-GAN (Mescheder et al. 2018) and the WGAN paper's parallel lines (Arjovsky et al. 2017)."""

import math

import pytest
import torch
from matplotlib.figure import Figure
from scipy.stats import wasserstein_distance

from course_utils import dynamics, plots_dynamics
from course_utils.dynamics import DiracGAN, simulate

GAMES = [DiracGAN(), DiracGAN(loss="wgan"), DiracGAN(r1_weight=1.0), DiracGAN(noise_std=1.0),
         DiracGAN(r1_weight=0.3, noise_std=0.5)]
START, LR = (1.0, 1.0), 0.1


@pytest.mark.parametrize("game", GAMES, ids=lambda g: g.label)
def test_field_is_zero_at_the_equilibrium(game):
    v_theta, v_psi = game.vector_field(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64))
    assert abs(v_theta.item()) < 1e-12 and abs(v_psi.item()) < 1e-12
    # and nowhere else on a grid: (0, 0) is the only equilibrium
    axis = torch.linspace(-2, 2, 21, dtype=torch.float64)
    theta, psi = torch.meshgrid(axis, axis, indexing="xy")
    speed = torch.hypot(*game.vector_field(theta, psi))
    assert (speed > 1e-6).sum() == speed.numel() - 1


@pytest.mark.parametrize("game", GAMES, ids=lambda g: g.label)
def test_hand_derived_field_equals_autograd(game):
    theta = torch.tensor([0.7, -1.3, 0.0, 2.1, -0.4], dtype=torch.float64, requires_grad=True)
    psi = torch.tensor([-0.5, 1.1, 0.9, 0.3, -1.7], dtype=torch.float64, requires_grad=True)
    (grad_theta,) = torch.autograd.grad(game.objective(theta, psi).sum(), theta)  # G descends L
    (grad_psi,) = torch.autograd.grad(game.discriminator_objective(theta, psi).sum(), psi)  # D ascends L - R1
    v_theta, v_psi = game.vector_field(theta.detach(), psi.detach())
    torch.testing.assert_close(v_theta, -grad_theta, rtol=0, atol=1e-12)
    torch.testing.assert_close(v_psi, grad_psi, rtol=0, atol=1e-12)


def test_field_grid_matches_pointwise_evaluation():
    game = DiracGAN(noise_std=0.5)
    axis = torch.linspace(-1, 1, 5, dtype=torch.float64)
    theta, psi = torch.meshgrid(axis, axis, indexing="xy")
    v_theta, _ = game.vector_field(theta, psi)
    assert v_theta.shape == (5, 5)
    assert v_theta[1, 3].item() == pytest.approx(game.vector_field(theta[1, 3], psi[1, 3])[0].item(), abs=1e-14)


@pytest.mark.parametrize("loss", ["gan", "wgan"])
def test_unregularised_field_is_a_rotation(loss):
    """theta v_theta + psi v_psi = 0: the gradient flow keeps its distance to (0, 0) forever."""
    theta, psi = torch.randn(2, 100, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    v_theta, v_psi = DiracGAN(loss=loss).vector_field(theta, psi)
    assert (theta * v_theta + psi * v_psi).abs().max() < 1e-12
    assert torch.hypot(v_theta, v_psi).min() > 1e-3


def test_jacobian_at_the_equilibrium_matches_the_paper():
    """Mescheder et al. 2018: J = [[0, -f'(0)], [f'(0), -gamma]] with R1; -sigma^2/2 = 2 f''(0) sigma^2 with noise."""
    for game, damping in [(DiracGAN(), 0.0), (DiracGAN(r1_weight=0.7), -0.7), (DiracGAN(noise_std=0.8), -0.32)]:
        jac = torch.autograd.functional.jacobian(lambda x: torch.stack(game.vector_field(x[0], x[1])),
                                                 torch.zeros(2, dtype=torch.float64))
        expected = torch.tensor([[0.0, -0.5], [0.5, damping]], dtype=torch.float64)
        torch.testing.assert_close(jac, expected, rtol=0, atol=1e-6)


def test_quadrature_matches_monte_carlo_over_the_noise():
    game = DiracGAN(noise_std=0.8)
    eps = 0.8 * torch.randn(400_000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    eps_real = 0.8 * torch.randn(400_000, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    theta, psi = 0.6, -1.2
    f = lambda t: -torch.nn.functional.softplus(-t)
    monte_carlo = (f(psi * (theta + eps)) + f(-psi * eps_real)).mean().item()
    quadrature = game.objective(torch.tensor(theta, dtype=torch.float64), torch.tensor(psi, dtype=torch.float64))
    assert quadrature.item() == pytest.approx(monte_carlo, abs=3e-3)


@pytest.mark.parametrize("loss", ["gan", "wgan"])
def test_simultaneous_steps_spiral_out(loss):
    distance = simulate(DiracGAN(loss=loss), START, steps=300, lr=LR, method="simultaneous").distance
    assert (distance.diff() > 0).all()  # |x + h v|^2 = |x|^2 + h^2 |v|^2 since v is orthogonal to x
    assert distance[-1] > 1.3 * distance[0]


@pytest.mark.parametrize("loss", ["gan", "wgan"])
def test_alternating_steps_circle(loss):
    distance = simulate(DiracGAN(loss=loss), START, steps=1000, lr=LR, method="alternating").distance
    assert distance.min() > 0.95 * distance[0]  # never comes close to the equilibrium
    assert distance[-200:].min() > 0.95 * distance[0]  # and not at the end either


@pytest.mark.parametrize("method", dynamics.METHODS)
@pytest.mark.parametrize("game", [DiracGAN(r1_weight=1.0), DiracGAN(noise_std=1.0)], ids=lambda g: g.label)
def test_r1_and_instance_noise_converge(game, method):
    distance = simulate(game, START, steps=300, lr=LR, method=method).distance
    assert distance[-1] < 1e-2 * distance[0] / math.sqrt(2)  # below 1e-2 from a start at distance sqrt(2)
    assert distance[-1] < 1e-2


def test_trajectory_shape_and_start():
    trajectory = simulate(DiracGAN(), (0.5, -0.25), steps=7, lr=0.2)
    assert trajectory.points.shape == (8, 2)
    assert trajectory.points[0].tolist() == [0.5, -0.25]
    assert "simultaneous" in trajectory.label
    torch.testing.assert_close(trajectory.distance, dynamics.distance_to_equilibrium(trajectory.points))


@pytest.mark.parametrize("bad", [dict(loss="hinge"), dict(r1_weight=-1.0), dict(noise_std=-0.1),
                                 dict(quadrature_nodes=0)])
def test_bad_game_names_the_field(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DiracGAN(**bad)


def test_bad_simulation_arguments():
    with pytest.raises(ValueError, match="method"):
        simulate(DiracGAN(), method="extragradient")
    with pytest.raises(ValueError, match="lr"):
        simulate(DiracGAN(), lr=0.0)


def test_parallel_lines_closed_forms():
    assert dynamics.parallel_lines_distances(0.0) == {"w1": 0.0, "js": 0.0, "kl": 0.0, "tv": 0.0}
    for theta in (-0.3, 0.01, 1.0):
        d = dynamics.parallel_lines_distances(theta)
        assert d["w1"] == abs(theta) and d["js"] == math.log(2) and d["kl"] == math.inf and d["tv"] == 1.0


@pytest.mark.parametrize("theta", [0.0, 0.25, 0.5, -0.5, 1.0])
def test_parallel_lines_from_samples_match_the_closed_forms(theta):
    generator = torch.Generator().manual_seed(0)
    p0 = dynamics.parallel_lines_sample(0.0, 5000, generator)
    p_theta = dynamics.parallel_lines_sample(theta, 5000, generator)
    exact = dynamics.parallel_lines_distances(theta)
    assert dynamics.js_from_samples(p0, p_theta, bin_width=0.1) == pytest.approx(exact["js"], abs=0.01)
    # the exact 2-D optimal transport between 1000 + 1000 points, and the 1-D distance of the x coordinates
    assert dynamics.w1_from_samples(p0[:1000], p_theta[:1000]) == pytest.approx(exact["w1"], abs=0.02)
    assert wasserstein_distance(p0[:, 0].numpy(), p_theta[:, 0].numpy()) == pytest.approx(exact["w1"], abs=1e-12)


def test_w1_from_samples_on_a_known_shift_and_bad_sizes():
    x = torch.randn(300, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert dynamics.w1_from_samples(x, x + torch.tensor([3.0, 4.0], dtype=torch.float64)) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="equal size"):
        dynamics.w1_from_samples(x, x[:10])


def test_figures_are_figures():
    runs = [simulate(DiracGAN(), START, 20, LR, "simultaneous"), simulate(DiracGAN(r1_weight=1.0), START, 20, LR)]
    assert isinstance(plots_dynamics.plot_dirac_gan(runs), Figure)
    assert isinstance(plots_dynamics.plot_distance_to_equilibrium(runs), Figure)
    estimates = {"thetas": [0.0, 0.5], "js": [0.0, 0.69], "w1": [0.01, 0.5]}
    assert isinstance(plots_dynamics.plot_parallel_lines(0.5, estimates=estimates), Figure)


def test_the_2d_mixture_figure_draws_samples_contours_and_mode_circles():
    from course_utils.data import grid_2d, ring_2d
    from course_utils.models.gan2d import Discriminator
    from course_utils.plots_dynamics import plot_mixtures_2d

    ring = ring_2d()
    panels = [{"samples": ring.sample(300), "title": "data itself"},
              {"samples": torch.randn(300, 2), "title": "noise, with a D", "score": Discriminator()}]
    fig = plot_mixtures_2d(panels, ring, columns=2)
    left, right = fig.axes[0], fig.axes[1]
    assert len(left.lines) == 8 and len(left.collections) == 1  # 8 mode circles, one scatter
    assert len(right.collections) > 1  # the contours as well
    fig = plot_mixtures_2d(panels * 3, grid_2d(), columns=4)
    assert sum(ax.get_visible() for ax in fig.axes if ax.get_label() != "<colorbar>") >= 6
