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
