"""GAN losses on logits (numerically stable through softplus).

With D(x) = sigmoid(l):  -log D(x) = softplus(-l)  and  -log(1 - D(x)) = softplus(l).
The value function of Goodfellow et al. 2014 is V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))).
"""

from __future__ import annotations

from collections.abc import Callable

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
