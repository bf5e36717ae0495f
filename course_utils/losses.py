"""GAN losses on logits (numerically stable through softplus).

With D(x) = sigmoid(l):  -log D(x) = softplus(-l)  and  -log(1 - D(x)) = softplus(l).
The value function of Goodfellow et al. 2014 is V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-V(D, G): D maximises V, so it minimises -E log D(x) - E log(1 - D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


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


def generator_loss(name: str) -> Callable[[Tensor], Tensor]:
    """The generator loss called `name`; a wrong name lists the valid ones."""
    try:
        return GENERATOR_LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown generator loss {name!r}; choose one of "
                         f"{sorted(GENERATOR_LOSSES)}") from None


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
