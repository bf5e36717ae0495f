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
