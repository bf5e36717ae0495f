"""GAN losses on D's raw scores, and the regularisers of notebook 07.

The original GAN reads the score as a logit: with D(x) = sigmoid(l), -log D(x) = softplus(-l) and
-log(1 - D(x)) = softplus(l) (numerically stable). The value function of Goodfellow et al. 2014 is
V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))). The Wasserstein and hinge losses read the score as a
critic's value, not a probability. `GAN_LOSSES` pairs each discriminator loss with its generator loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, real_target: float = 1.0) -> Tensor:
    """-V(D, G): D maximises V, so it minimises -E log D(x) - E log(1 - D(G(z))).

    real_target < 1 is one-sided label smoothing (Salimans et al. 2016): D is asked for real_target, not 1,
    on real images (the cross-entropy with that target), and still for 0 on generated ones."""
    if real_target == 1.0:
        real_term = F.softplus(-real_logits).mean()
    else:
        real_term = (real_target * F.softplus(-real_logits) + (1 - real_target) * F.softplus(real_logits)).mean()
    return real_term + F.softplus(fake_logits).mean()


def generator_loss_minimax(fake_logits: Tensor) -> Tensor:
    """E log(1 - D(G(z))), the generator's term of V: it saturates when D rejects G's samples."""
    return -F.softplus(fake_logits).mean()


def generator_loss_non_saturating(fake_logits: Tensor) -> Tensor:
    """-E log D(G(z)): the same fixed point, strong gradients early (Goodfellow et al. 2014, sec. 3)."""
    return F.softplus(-fake_logits).mean()


GENERATOR_LOSSES: dict[str, Callable[[Tensor], Tensor]] = {
    "minimax": generator_loss_minimax,
    "non_saturating": generator_loss_non_saturating,
}


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """The critic maximises E f(x) - E f(G(z)), an estimate of W1 when f is 1-Lipschitz (Arjovsky et al. 2017)."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """G minimises -E f(G(z)): it moves its samples up the critic's slope."""
    return -fake_scores.mean()


def hinge_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """E max(0, 1 - D(x)) + E max(0, 1 + D(G(z))) (Lim and Ye 2017; Miyato et al. 2018 with spectral norm)."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


class GANLoss(NamedTuple):
    """A discriminator loss, its generator loss, and whether D's score is a logit (a probability after sigmoid)."""

    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    logit: bool


GAN_LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss(discriminator_loss, generator_loss_minimax, True),
    "non_saturating": GANLoss(discriminator_loss, generator_loss_non_saturating, True),
    "wasserstein": GANLoss(wasserstein_critic_loss, wasserstein_generator_loss, False),
    "hinge": GANLoss(hinge_discriminator_loss, wasserstein_generator_loss, False),  # G's loss as in Miyato et al.
}


def gradient_penalty(score: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad f(x_hat)|| - 1)^2 at random points between real and fake."""
    mix = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (mix * real.detach() + (1 - mix) * fake.detach()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(score(x_hat).float().sum(), x_hat, create_graph=True)
    return (gradient.flatten(1).norm(dim=1) - 1).square().mean()


def r1_penalty(score: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): E ||grad D(x)||^2 on real data, zero-centred (multiplied by gamma / 2 in use)."""
    x = real.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(score(x).float().sum(), x, create_graph=True)
    return gradient.flatten(1).square().sum(dim=1).mean()


def generator_loss(name: str) -> Callable[[Tensor], Tensor]:
    """The generator loss called `name`; a wrong name lists the valid ones."""
    try:
        return GENERATOR_LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown generator loss {name!r}; choose one of "
                         f"{sorted(GENERATOR_LOSSES)}") from None


# ----------------------------------------------------------------------------- InfoGAN's information term


def information_loss(logits: Tensor, mean: Tensor, log_std: Tensor, category: Tensor, continuous: Tensor,
                     continuous_weight: float = 1.0) -> Tensor:
    """-E log Q(c | x) for the codes c that G was given: the cross-entropy of the categorical code plus
    `continuous_weight` times the Gaussian negative log density of the continuous codes (nats, batch mean).

    InfoGAN's lower bound on the mutual information I(c; G(z, c)) is L_I = H(c) - this (Chen et al. 2016, eq. 4),
    and H(c) is fixed by the code's prior: minimising this loss over G and Q raises the bound. Either part may be
    empty (no categorical code: logits with 0 columns; no continuous code: mean with 0 columns)."""
    loss = torch.zeros((), device=mean.device)
    if logits.shape[1]:
        loss = loss + F.cross_entropy(logits.float(), category)
    if mean.shape[1]:
        z = (continuous.float() - mean.float()) * torch.exp(-log_std.float())
        nll = 0.5 * z.square() + log_std.float() + 0.5 * math.log(2 * math.pi)
        loss = loss + continuous_weight * nll.sum(1).mean()
    return loss


# ----------------------------------------------------------------------------- VAE terms


def bernoulli_reconstruction(logits: Tensor, x: Tensor) -> Tensor:
    """-log p(x | z) for binary pixels x in {0, 1} under Bernoulli(sigmoid(logits)), summed per image."""
    return F.binary_cross_entropy_with_logits(logits.flatten(1), x.flatten(1), reduction="none").sum(1)


def gaussian_kl(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(log_var))) || N(0, I)) = -1/2 sum(1 + log_var - mu^2 - exp(log_var)), per row."""
    return -0.5 * (1 + log_var - mu.square() - log_var.exp()).sum(1)


def negative_elbo(logits: Tensor, x: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """-ELBO = reconstruction + KL, per image (nats); its mean is the VAE's loss."""
    return bernoulli_reconstruction(logits, x) + gaussian_kl(mu, log_var)


@torch.no_grad()
def importance_weighted_bound(vae: torch.nn.Module, x: Tensor, samples: int, chunk: int = 100) -> Tensor:
    """log (1/K) sum_k p(x, z_k) / q(z_k | x) with z_k ~ q(z | x), per image (nats), K = `samples`.

    Burda et al. 2016: a lower bound on log p(x) that tightens as K grows; K = 1 is the ELBO (in
    expectation). Computed with logsumexp over the K log-weights, never exponentiating them.
    """
    from .models.vae import log_normal

    mu, log_var = vae.encode(x)
    target = x.flatten(1)
    log_weights = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        z = mu + (0.5 * log_var).exp() * torch.randn(k, *mu.shape, device=mu.device)  # (k, n, latent)
        logits = vae.decoder(z.reshape(-1, mu.shape[1])).reshape(k, len(x), -1)
        log_likelihood = -F.binary_cross_entropy_with_logits(
            logits, target.expand(k, -1, -1), reduction="none").sum(-1)
        log_prior = log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
        log_weights.append(log_likelihood + log_prior - log_normal(z, mu, log_var))
    return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(samples)
