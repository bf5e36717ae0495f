"""A Gaussian mixture with diagonal covariances, fitted by expectation-maximisation, in torch.

An explicit density model: log p(x) is exact, sampling is two lines, and EM never decreases the
training log-likelihood (Dempster, Laird & Rubin 1977). For 1-D data "diagonal" is no restriction.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class DiagonalGMM(nn.Module):
    """p(x) = sum_k pi_k N(x; mu_k, diag(var_k)), for x of shape (n, dim).

    The parameters are buffers (EM, not gradients, fits them), so checkpoints save them as usual.
    """

    def __init__(self, components: int, dim: int, min_variance: float = 1e-4):
        super().__init__()
        self.components, self.dim = components, dim
        self.min_variance = min_variance  # keeps a component from collapsing onto one point
        self.register_buffer("weights", torch.full((components,), 1.0 / components, dtype=torch.float64))
        self.register_buffer("means", torch.zeros(components, dim, dtype=torch.float64))
        self.register_buffer("variances", torch.ones(components, dim, dtype=torch.float64))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return {"components": self.components, "dim": self.dim, "min_variance": self.min_variance}

    def _component_log_prob(self, x: Tensor) -> Tensor:
        """log pi_k + log N(x_i; mu_k, var_k), shape (n, K)."""
        x = x.double()
        log_det = torch.log(self.variances).sum(1)  # (K,)
        # sum_j (x_j - mu_kj)^2 / var_kj, expanded so that no (n, K, d) tensor is formed
        precision = 1.0 / self.variances
        squared = ((x**2) @ precision.T - 2 * x @ (self.means * precision).T
                   + (self.means**2 * precision).sum(1))
        d = x.shape[1]
        return torch.log(self.weights) - 0.5 * (squared + log_det + d * math.log(2 * math.pi))

    def log_prob(self, x: Tensor, batch_size: int = 4096) -> Tensor:
        """Exact log-density of each row of x (nats), shape (n,)."""
        return torch.cat([torch.logsumexp(self._component_log_prob(chunk), 1) for chunk in x.split(batch_size)])

    def initialise(self, x: Tensor, generator: torch.Generator | None = None) -> None:
        """Means at K random data points, variances at the data's, equal weights."""
        x = x.double()
        self.means = x[torch.randperm(len(x), generator=generator)[:self.components]].clone()
        self.variances = x.var(0, keepdim=True).clamp_min(self.min_variance).repeat(self.components, 1)
        self.weights = torch.full((self.components,), 1.0 / self.components, dtype=torch.float64)
        if x.shape[1] != self.dim:
            raise ValueError(f"this mixture models {self.dim}-dimensional data, got shape {tuple(x.shape)}")

    def e_step(self, x: Tensor) -> tuple[Tensor, float]:
        """Responsibilities r_ik = p(k | x_i) and the mean log-likelihood of x."""
        joint = self._component_log_prob(x)
        log_px = torch.logsumexp(joint, 1, keepdim=True)
        return (joint - log_px).exp(), float(log_px.mean())

    def m_step(self, x: Tensor, responsibilities: Tensor) -> None:
        """Weighted maximum likelihood: weights, means and variances from the responsibilities."""
        x = x.double()
        counts = responsibilities.sum(0) + 1e-10  # (K,)
        self.weights = counts / counts.sum()
        self.means = (responsibilities.T @ x) / counts[:, None]
        second_moment = (responsibilities.T @ x**2) / counts[:, None]
        self.variances = (second_moment - self.means**2).clamp_min(self.min_variance)

    def fit(self, x: Tensor, iterations: int = 100, tolerance: float = 1e-6,
            generator: torch.Generator | None = None, progress: bool = False) -> list[float]:
        """Run EM from `initialise`; return the mean training log-likelihood before each M-step."""
        from tqdm.auto import tqdm

        self.initialise(x, generator)
        history: list[float] = []
        for _ in tqdm(range(iterations), desc="EM", disable=not progress, mininterval=0.5):
            responsibilities, log_likelihood = self.e_step(x)
            history.append(log_likelihood)
            if len(history) > 1 and history[-1] - history[-2] < tolerance:
                break
            self.m_step(x, responsibilities)
        return history

    def forward(self, x: Tensor) -> Tensor:
        return self.log_prob(x)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n samples, shape (n, d): pick a component, then add its Gaussian noise."""
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.means.shape[1], generator=generator, dtype=torch.float64)
        return self.means[component] + self.variances[component].sqrt() * noise
