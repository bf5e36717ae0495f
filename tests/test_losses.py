import math

import pytest
import torch

from course_utils import losses


def D_of(logits):
    return torch.sigmoid(logits)


def test_discriminator_loss_is_minus_value_function():
    real, fake = torch.randn(1000), torch.randn(1000)
    V = torch.log(D_of(real)).mean() + torch.log(1 - D_of(fake)).mean()
    assert torch.allclose(losses.discriminator_loss(real, fake), -V, atol=1e-6)


def test_generator_losses_match_their_formulas():
    fake = torch.randn(1000)
    assert torch.allclose(losses.generator_loss_minimax(fake), torch.log(1 - D_of(fake)).mean(), atol=1e-6)
    assert torch.allclose(losses.generator_loss_non_saturating(fake), -torch.log(D_of(fake)).mean(), atol=1e-6)


def test_losses_stay_finite_for_extreme_logits():
    extreme = torch.tensor([-200.0, 200.0], requires_grad=True)
    for value in (losses.discriminator_loss(extreme, extreme), losses.generator_loss_minimax(extreme),
                  losses.generator_loss_non_saturating(extreme)):
        (grad,) = torch.autograd.grad(value, extreme)
        assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_saturation_gradients():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l): vanishes when D rejects; -log sigmoid(l) gives -(1 - sigmoid(l)).
    logit = torch.tensor([math.log(1e-4 / (1 - 1e-4))], requires_grad=True)  # D(G(z)) = 1e-4
    (minimax,) = torch.autograd.grad(losses.generator_loss_minimax(logit), logit)
    (non_saturating,) = torch.autograd.grad(losses.generator_loss_non_saturating(logit), logit)
    assert minimax.item() == pytest.approx(-1e-4, rel=1e-3)
    assert non_saturating.item() == pytest.approx(-(1 - 1e-4), rel=1e-3)


def test_wrong_loss_name_lists_the_choices():
    with pytest.raises(ValueError, match="minimax.*non_saturating"):
        losses.generator_loss("non-saturating")


def test_gaussian_kl_closed_form_matches_monte_carlo():
    generator = torch.Generator().manual_seed(0)
    mu, log_var = torch.tensor([[0.5, -1.0, 0.2]]), torch.tensor([[-0.5, 0.3, 0.0]])
    z = mu + (0.5 * log_var).exp() * torch.randn(400_000, 3, generator=generator)
    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(1).mean()
    assert losses.gaussian_kl(mu, log_var).item() == pytest.approx(monte_carlo.item(), abs=0.01)
    assert losses.gaussian_kl(torch.zeros(1, 4), torch.zeros(1, 4)).item() == 0.0


def test_bernoulli_reconstruction_and_negative_elbo():
    logits, x = torch.randn(2, 1, 28, 28), (torch.rand(2, 1, 28, 28) > 0.5).float()
    p = torch.sigmoid(logits)
    expected = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    assert torch.allclose(losses.bernoulli_reconstruction(logits, x), expected, atol=1e-3)
    mu, log_var = torch.randn(2, 5), torch.randn(2, 5)
    assert torch.allclose(losses.negative_elbo(logits, x, mu, log_var),
                          expected + losses.gaussian_kl(mu, log_var), atol=1e-3)


def test_importance_weighted_bound_tightens_with_k():
    from course_utils.models.vae import VAE, VAEConfig

    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent=4, hidden=32)).eval()
    x = (torch.rand(64, 1, 28, 28) > 0.7).float()
    mu, log_var = vae.encode(x)
    torch.manual_seed(1)
    elbo = -torch.stack([losses.negative_elbo(vae.decoder(vae.reparameterise(mu, log_var)), x, mu, log_var)
                         for _ in range(200)]).mean(0)
    bounds = [losses.importance_weighted_bound(vae, x, k).mean().item() for k in (1, 10, 100)]
    assert bounds[0] == pytest.approx(elbo.mean().item(), abs=1.0)  # K = 1 is the ELBO
    assert bounds[0] <= bounds[1] <= bounds[2]
    assert (losses.importance_weighted_bound(vae, x, 100) >= elbo - 0.5).float().mean() > 0.95


def test_reparameterised_samples_have_the_right_moments():
    from course_utils.models.vae import VAE

    vae = VAE()
    mu, log_var = torch.full((100_000, 2), 1.5), torch.full((100_000, 2), math.log(0.25))
    z = vae.reparameterise(mu, log_var)
    assert z.mean().item() == pytest.approx(1.5, abs=0.01) and z.var().item() == pytest.approx(0.25, abs=0.01)


# ----------------------------------------------------------------------------- notebook 07's losses and penalties

def test_wasserstein_and_hinge_losses_against_their_formulas():
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 3.0])
    assert losses.wasserstein_critic_loss(real, fake).item() == pytest.approx((fake.mean() - real.mean()).item())
    assert losses.wasserstein_generator_loss(fake) == pytest.approx(-fake.mean())
    hinge = (torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean())
    assert losses.hinge_discriminator_loss(real, fake).item() == pytest.approx(hinge.item())
    assert set(losses.GAN_LOSSES) == {"minimax", "non_saturating", "wasserstein", "hinge"}
    assert [name for name, loss in losses.GAN_LOSSES.items() if loss.logit] == ["minimax", "non_saturating"]


def test_one_sided_label_smoothing_is_the_cross_entropy_with_the_smoothed_target():
    real, fake = torch.randn(50), torch.randn(50)
    target = 0.9
    expected = -(target * torch.log(torch.sigmoid(real)) + (1 - target) * torch.log(1 - torch.sigmoid(real))).mean() \
        - torch.log(1 - torch.sigmoid(fake)).mean()
    assert losses.discriminator_loss(real, fake, real_target=target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert losses.discriminator_loss(real, fake, real_target=1.0) == losses.discriminator_loss(real, fake)


def test_penalties_on_a_linear_critic():
    """f(x) = <w, x>: its gradient is w everywhere, so R1 = ||w||^2 and WGAN-GP = (||w|| - 1)^2."""
    w = torch.tensor([3.0, 4.0])  # norm 5
    critic = lambda x: x @ w  # noqa: E731
    real, fake = torch.randn(64, 2), torch.randn(64, 2) + 2
    assert losses.r1_penalty(critic, real) == pytest.approx(25.0)
    assert losses.gradient_penalty(critic, real, fake) == pytest.approx(16.0)
    unit = lambda x: x @ (w / 5)  # noqa: E731 -- 1-Lipschitz with gradient norm 1: no penalty
    assert losses.gradient_penalty(unit, real, fake) == pytest.approx(0.0, abs=1e-10)


def test_the_penalties_send_gradients_to_the_critic():
    critic = torch.nn.Linear(2, 1)
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    (losses.gradient_penalty(critic, real, fake) + losses.r1_penalty(critic, real)).backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- the penalties, exactly

def test_gradient_penalty_is_taken_at_points_on_each_real_fake_segment():
    """f(x) = ||x||^2 / 2 has gradient x, so the penalty depends on where it is evaluated: WGAN-GP
    evaluates at x_hat = t x_real + (1 - t) x_fake, one t ~ U(0, 1) per sample shared by all its
    coordinates (Gulrajani et al. 2017, Algorithm 1). Images of shape (n, 1, 2, 2) check that the norm
    is taken over all of a sample's coordinates, not per channel or per row."""
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return 0.5 * x.square().flatten(1).sum(1)

    n = 4000
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(n, 1, 2, 2, generator=generator, dtype=torch.float64)
    fake = torch.randn(n, 1, 2, 2, generator=generator, dtype=torch.float64) + 3
    torch.manual_seed(1)
    penalty = losses.gradient_penalty(critic, real, fake)
    (x_hat,) = seen
    assert x_hat.shape == real.shape
    # Solve x_hat - fake = t (real - fake) for t coordinate by coordinate: one t per sample, in [0, 1].
    t = ((x_hat - fake) / (real - fake)).flatten(1)
    # 1e-9: float64 round-off of one multiply-add divided by |real - fake| (> 1e-4 for all but a few
    # samples; those are excluded), far below any wrong mixing (which moves t by O(1)).
    ok = (real - fake).flatten(1).abs().min(1).values > 1e-4
    assert (t[ok] - t[ok, :1]).abs().max() < 1e-9
    t = t[ok, 0]
    assert t.min() >= 0 and t.max() <= 1
    # t ~ U(0, 1): mean 1/2 and variance 1/12 within 5 standard errors for ~4000 samples
    # (sqrt(1/12 / n) = 4.6e-3 for the mean; sqrt(1/180 / n) = 1.2e-3 for the variance).
    assert abs(t.mean().item() - 0.5) < 5 * math.sqrt(1 / 12 / len(t))
    assert abs(t.var().item() - 1 / 12) < 5 * math.sqrt(1 / 180 / len(t))
    # The penalty is the mean of (||grad f(x_hat)|| - 1)^2 = (||x_hat|| - 1)^2 at those very points.
    # The score is cast to float32 before the sum, but the gradient of a sum is exactly 1 and flows
    # back in float64: only float64 round-off remains (relative 1e-12); 1e-9 leaves room for it.
    expected = (x_hat.flatten(1).norm(dim=1) - 1).square().mean()
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-9)


def test_gradient_penalty_does_not_differentiate_through_real_or_fake():
    # The interpolation uses detached copies: D's penalty must not send gradients into G.
    critic = torch.nn.Linear(3, 1)
    real, fake = torch.randn(8, 3), torch.randn(8, 3, requires_grad=True)
    penalty = losses.gradient_penalty(critic, real, fake)
    penalty.backward()
    assert fake.grad is None


def _linear_critic_and_norm():
    critic = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]], dtype=torch.float64))  # ||w|| = 5
        critic.bias.fill_(0.7)
    return critic, critic.weight.detach().clone()


def test_r1_penalty_is_differentiable_in_the_critics_weights():
    """For f(x) = <w, x> + b, R1 = ||w||^2 whatever x, so dR1/dw = 2w and dR1/db = 0. The penalty is
    only useful if it carries these gradients (create_graph=True): a penalty without them would make
    the critic's regulariser a constant that backward() cannot reach."""
    critic, w = _linear_critic_and_norm()
    penalty = losses.r1_penalty(critic, torch.randn(16, 2, dtype=torch.float64))
    # The gradients are float64 (the float32 cast of the score does not round d sum / d score = 1):
    # relative 1e-9 is float64 round-off with margin; a wrong factor or power moves them by O(1).
    assert penalty.item() == pytest.approx(25.0, rel=1e-9)
    grad_w, grad_b = torch.autograd.grad(penalty, [critic.weight, critic.bias], allow_unused=True)
    assert torch.allclose(grad_w, 2 * w, rtol=1e-9, atol=0)
    assert grad_b is None or grad_b.abs().max() == 0


def test_gradient_penalty_is_differentiable_in_the_critics_weights():
    """For f(x) = <w, x> + b, GP = (||w|| - 1)^2, so dGP/dw = 2 (||w|| - 1) w / ||w|| = 1.6 w; checked
    also against a central finite difference of the penalty in w (step 1e-4, error O(step^2) = 1e-8
    for this smooth function, plus float64 round-off of 16 / step = 1e-11; tolerance 1e-6)."""
    critic, w = _linear_critic_and_norm()
    real, fake = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    penalty = losses.gradient_penalty(critic, real, fake)
    assert penalty.item() == pytest.approx(16.0, rel=1e-9)  # float64 round-off, as for R1
    (grad_w,) = torch.autograd.grad(penalty, critic.weight)
    assert torch.allclose(grad_w, 1.6 * w, rtol=1e-9, atol=0)
    step = 1e-4
    for j in range(2):
        values = []
        for sign in (1, -1):
            with torch.no_grad():
                critic.weight[0, j] += sign * step
            values.append(losses.gradient_penalty(critic, real, fake).item())
            with torch.no_grad():
                critic.weight[0, j] -= sign * step
        assert (values[0] - values[1]) / (2 * step) == pytest.approx(grad_w[0, j].item(), abs=1e-6)


def test_information_loss_by_hand():
    # categorical: uniform logits over 4 values cost log 4 whatever the code; a Gaussian at its mean with std 1
    # costs 0.5 log 2 pi per code; one std away, 0.5 more
    logits, category = torch.zeros(3, 4), torch.tensor([0, 1, 3])
    mean, log_std = torch.zeros(3, 2), torch.zeros(3, 2)
    at_mean, one_off = torch.zeros(3, 2), torch.tensor([[1.0, 0.0]] * 3)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    assert losses.information_loss(logits, mean, log_std, category, at_mean).item() == pytest.approx(
        math.log(4) + 2 * half_log_2pi)
    assert losses.information_loss(logits, mean, log_std, category, one_off).item() == pytest.approx(
        math.log(4) + 2 * half_log_2pi + 0.5)
    # only the code's distance from Q's mean counts: both moved by 0.5, the same cost
    assert losses.information_loss(logits, mean + 0.5, log_std, category, one_off + 0.5).item() == pytest.approx(
        math.log(4) + 2 * half_log_2pi + 0.5)
    # the continuous part weighted, and a std of e: log_std 1 adds 1 per code and shrinks the square by e^2
    assert losses.information_loss(logits, mean, log_std + 1, category, one_off, continuous_weight=0.5).item() == \
        pytest.approx(math.log(4) + 0.5 * (2 * half_log_2pi + 2 + 0.5 * math.exp(-2)))
    # a confident, correct categorical reading costs almost nothing; either part may be absent
    sure = torch.nn.functional.one_hot(category, 4).float() * 50
    assert losses.information_loss(sure, mean[:, :0], log_std[:, :0], category, at_mean[:, :0]).item() < 1e-6
    assert losses.information_loss(logits[:, :0], mean, log_std, category, at_mean).item() == pytest.approx(2 * half_log_2pi)
