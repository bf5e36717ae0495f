"""GAN training dynamics computed exactly: the Dirac-GAN and the WGAN paper's parallel lines.

The Dirac-GAN (Mescheder, Geiger and Nowozin 2018, "Which training methods for GANs actually
converge?", Section 2.2) is the smallest GAN: the data is a point mass at 0, the generator
G(z) = theta puts all its mass at theta, and the discriminator is linear, D(x) = psi * x. With the
paper's sign convention the game value is

    L(theta, psi) = E_z[f(D(G(z)))] + E_{x ~ p_data}[f(-D(x))] = f(psi * theta) + f(0),

G descends L, D ascends it, and the only equilibrium is (theta, psi) = (0, 0). The paper's choice
f(t) = -log(1 + exp(-t)) = log sigmoid(t) is the original (minimax) GAN objective, in which
sigmoid(-D(x)) is D's probability that x is real; f(t) = t gives the WGAN objective.

The parallel lines (Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN", Example 1): P_0 is
uniform on the segment {0} x [0, 1] and P_theta uniform on {theta} x [0, 1]. For every theta != 0
the two never overlap, so JS, KL and total variation do not see how far apart they are; only the
Wasserstein-1 distance |theta| does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor

LOSSES = ("gan", "wgan")
METHODS = ("simultaneous", "alternating")


def _f(t: Tensor, loss: str) -> Tensor:
    """The paper's f: -log(1 + exp(-t)) for the GAN, t for the WGAN."""
    return -F.softplus(-t) if loss == "gan" else t


def _f_prime(t: Tensor, loss: str) -> Tensor:
    """f'(t): sigmoid(-t) for the GAN (1/2 at the equilibrium), 1 for the WGAN."""
    return torch.sigmoid(-t) if loss == "gan" else torch.ones_like(t)


@dataclass(frozen=True)
class DiracGAN:
    """One Dirac-GAN game: the loss, and what D trains with (an R1 penalty, instance noise)."""

    loss: str = "gan"  # "gan": f(t) = -log(1 + exp(-t)); "wgan": f(t) = t
    r1_weight: float = 0.0  # gamma: D ascends L - gamma/2 * E_real[|grad_x D(x)|^2] = L - gamma/2 * psi^2
    noise_std: float = 0.0  # sigma: real and fake samples both get N(0, sigma^2) noise before D sees them
    quadrature_nodes: int = 40  # Gauss-Hermite nodes for the expectation over the noise

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"DiracGAN.loss must be one of {LOSSES}, got {self.loss!r}")
        if self.r1_weight < 0:
            raise ValueError(f"DiracGAN.r1_weight must be >= 0, got {self.r1_weight}")
        if self.noise_std < 0:
            raise ValueError(f"DiracGAN.noise_std must be >= 0, got {self.noise_std}")
        if self.quadrature_nodes < 1:
            raise ValueError(f"DiracGAN.quadrature_nodes must be >= 1, got {self.quadrature_nodes}")

    @property
    def label(self) -> str:
        """A short name for legends: the loss and the regularisers that are on."""
        parts = ["GAN" if self.loss == "gan" else "WGAN"]
        if self.r1_weight:
            parts.append(f"R1 $\\gamma$={self.r1_weight:g}")
        if self.noise_std:
            parts.append(f"instance noise $\\sigma$={self.noise_std:g}")
        return ", ".join(parts)

    def _noise(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """Nodes eps_i and weights w_i with E[g(eps)] = sum_i w_i g(eps_i), eps ~ N(0, sigma^2).

        Without noise: the single node 0 with weight 1. With noise: Gauss-Hermite quadrature, which
        is deterministic (no sampling) and exact for polynomials of degree < 2 * nodes.
        """
        if self.noise_std == 0:
            return like.new_zeros(1), like.new_ones(1)
        nodes, weights = np.polynomial.hermite_e.hermegauss(self.quadrature_nodes)  # weight exp(-x^2/2)
        eps = torch.as_tensor(nodes * self.noise_std, dtype=like.dtype, device=like.device)
        w = torch.as_tensor(weights / math.sqrt(2 * math.pi), dtype=like.dtype, device=like.device)
        return eps, w

    def objective(self, theta: Tensor, psi: Tensor) -> Tensor:
        """L(theta, psi) = E_eps[f(psi (theta + eps))] + E_eps[f(-psi eps)], the value G descends."""
        theta, psi = torch.broadcast_tensors(torch.as_tensor(theta), torch.as_tensor(psi))
        eps, w = self._noise(theta)
        fake = _f(psi[..., None] * (theta[..., None] + eps), self.loss)  # D on G(z) + eps
        real = _f(-psi[..., None] * eps, self.loss)  # D on x_real + eps, with x_real = 0
        return ((fake + real) * w).sum(-1)

    def discriminator_objective(self, theta: Tensor, psi: Tensor) -> Tensor:
        """L - gamma/2 psi^2, the value D ascends (R1: the gradient of D(x) = psi x is psi everywhere)."""
        return self.objective(theta, psi) - 0.5 * self.r1_weight * torch.as_tensor(psi) ** 2

    def vector_field(self, theta: Tensor, psi: Tensor) -> tuple[Tensor, Tensor]:
        """v = (-dL/dtheta, d(L - gamma/2 psi^2)/dpsi), derived by hand; works on grids of any shape."""
        theta, psi = torch.broadcast_tensors(torch.as_tensor(theta), torch.as_tensor(psi))
        eps, w = self._noise(theta)
        t, p = theta[..., None], psi[..., None]
        slope_fake = _f_prime(p * (t + eps), self.loss)  # f' at D(G(z) + eps)
        slope_real = _f_prime(-p * eps, self.loss)  # f' at -D(x_real + eps)
        v_theta = -(p * slope_fake * w).sum(-1)
        v_psi = (((t + eps) * slope_fake - eps * slope_real) * w).sum(-1) - self.r1_weight * psi
        return v_theta, v_psi


@dataclass(frozen=True)
class Trajectory:
    """The iterates (theta_k, psi_k), k = 0..steps, of one training run of a Dirac-GAN."""

    game: DiracGAN
    method: str
    lr: float
    points: Tensor  # (steps + 1, 2): columns theta, psi

    @property
    def distance(self) -> Tensor:
        """Distance to the equilibrium (0, 0) at every step."""
        return distance_to_equilibrium(self.points)

    @property
    def label(self) -> str:
        """The game's label and the update rule, for legends."""
        return f"{self.game.label}, {self.method}"


def distance_to_equilibrium(points: Tensor) -> Tensor:
    """Euclidean distance of each (theta, psi) row to the equilibrium (0, 0)."""
    return torch.linalg.vector_norm(points, dim=-1)


def simulate(game: DiracGAN, start: tuple[float, float] = (1.0, 1.0), steps: int = 500, lr: float = 0.1,
             method: str = "simultaneous") -> Trajectory:
    """Gradient steps of learning rate lr on the Dirac-GAN, from start = (theta_0, psi_0).

    simultaneous: both players step from the same point, (theta, psi) += lr * v(theta, psi).
    alternating: D steps first, then G steps against the updated D (Algorithm 1 of Goodfellow et
    al. 2014 with k = 1).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if steps < 0 or lr <= 0:
        raise ValueError(f"need steps >= 0 and lr > 0, got steps={steps}, lr={lr}")
    theta, psi = torch.tensor(start[0], dtype=torch.float64), torch.tensor(start[1], dtype=torch.float64)
    points = [torch.stack([theta, psi])]
    for _ in range(steps):
        v_theta, v_psi = game.vector_field(theta, psi)
        if method == "simultaneous":
            theta, psi = theta + lr * v_theta, psi + lr * v_psi
        else:
            psi = psi + lr * v_psi
            theta = theta + lr * game.vector_field(theta, psi)[0]
        points.append(torch.stack([theta, psi]))
    return Trajectory(game, method, lr, torch.stack(points))


# --- Why Wasserstein: the parallel lines -------------------------------------------------------

def parallel_lines_sample(theta: float, n: int, generator: torch.Generator | None = None) -> Tensor:
    """n points of P_theta: x = theta, y uniform on [0, 1]. Returns (n, 2)."""
    y = torch.rand(n, generator=generator, dtype=torch.float64)
    return torch.stack([torch.full_like(y, theta), y], dim=1)


def parallel_lines_distances(theta: float) -> dict[str, float]:
    """The closed forms of Example 1 of the WGAN paper between P_0 and P_theta."""
    apart = theta != 0
    return {"w1": abs(theta), "js": math.log(2) if apart else 0.0,
            "kl": math.inf if apart else 0.0, "tv": 1.0 if apart else 0.0}


def js_from_samples(a: Tensor, b: Tensor, bin_width: float = 0.1) -> float:
    """Plug-in Jensen-Shannon divergence (nats) of two 2-D samples, from histograms on one grid.

    Two samples that fall in disjoint bins get exactly log 2; the estimate cannot tell how far apart
    they are, like the JS divergence itself.
    """
    both = torch.cat([a, b]).numpy()
    low = np.floor(both.min(0) / bin_width) * bin_width - bin_width / 2
    high = both.max(0) + bin_width
    edges = [np.arange(low[d], high[d] + bin_width, bin_width) for d in range(2)]
    p = np.histogramdd(a.numpy(), bins=edges)[0].ravel() / len(a)
    q = np.histogramdd(b.numpy(), bins=edges)[0].ravel() / len(b)
    m = (p + q) / 2

    def kl_to_m(r: np.ndarray) -> float:
        seen = r > 0
        return float((r[seen] * np.log(r[seen] / m[seen])).sum())

    return 0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)


def w1_from_samples(a: Tensor, b: Tensor) -> float:
    """Exact Wasserstein-1 distance between two equal-size empirical distributions in any dimension.

    With n points each, the optimal transport plan is a matching (Birkhoff): solve the assignment
    problem on the Euclidean cost matrix. O(n^3): keep n to a few thousand.
    """
    if len(a) != len(b):
        raise ValueError(f"w1_from_samples needs samples of equal size, got {len(a)} and {len(b)}")
    cost = torch.cdist(a.double(), b.double()).numpy()
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
