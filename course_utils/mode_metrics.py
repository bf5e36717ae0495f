"""Mode-collapse metrics on 2-D Gaussian mixtures, as in the Unrolled GAN, VEEGAN and PacGAN papers.

Each sample is assigned to its nearest mode, the distance measured in that mode's standard
deviations. A sample is *high quality* when that distance is at most `sigmas` (3 in the papers).
A mode is *covered* when at least `min_count` high-quality samples land on it. PacGAN's released
code (github.com/fjxmlzn/PacGAN, `MetricLogger` in synthetic_data_experiments/PacGAN/pacgan/extensions.py)
counts a mode as soon as one of its 2,500 evaluation samples lands on it, so `min_count=1` is the default;
raise it to ask for more than a stray sample. The *reverse KL* is KL(q || uniform), where q is the
histogram of the high-quality samples over the modes: 0 when every mode gets the same share,
log K when all of them land on one mode of K. (This is the course's reading of the column PacGAN's
Table 1 calls "reverse KL"; the released code logs a Jensen-Shannon divergence of the same histogram.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from .budget import to_cpu_float64
from .data import GaussianMixture

# The number of generated samples PacGAN evaluates each trained generator on
# ("num_log_figure_sample" in the released configs, read back by its MetricLogger).
PACGAN_EVAL_SAMPLES = 2500

# Lin, Khetan, Fanti and Oh (2018), "PacGAN: The power of two samples in generative adversarial
# networks", NeurIPS, Table 1: mean +- standard error over 10 trials. Keys: modes covered,
# share of high-quality samples, reverse KL. Their data (released configs): "ring" is 8 modes on a
# circle of radius 1 with std 0.01, "grid" is 5 x 5 modes at spacing 2 (-4..4) with std 0.05.
# The course's grid_2d() is the same grid; its ring_2d() has radius 2 and std 0.05, a wider ring
# with broader modes, so compare its numbers with the ring row as a reference, not a replication.
PACGAN_TABLE1 = {
    "ring": {
        "GAN": {"modes": (6.3, 0.5), "high_quality": (0.982, 0.002), "reverse_kl": (0.45, 0.09)},
        "ALI": {"modes": (6.6, 0.3), "high_quality": (0.976, 0.004), "reverse_kl": (0.36, 0.04)},
        "PacGAN2": {"modes": (7.9, 0.1), "high_quality": (0.956, 0.020), "reverse_kl": (0.07, 0.03)},
        "PacGAN3": {"modes": (7.8, 0.1), "high_quality": (0.977, 0.003), "reverse_kl": (0.10, 0.02)},
        "PacGAN4": {"modes": (7.8, 0.1), "high_quality": (0.959, 0.014), "reverse_kl": (0.07, 0.02)},
    },
    "grid": {
        "GAN": {"modes": (17.3, 0.8), "high_quality": (0.948, 0.007), "reverse_kl": (0.70, 0.07)},
        "ALI": {"modes": (24.1, 0.4), "high_quality": (0.957, 0.006), "reverse_kl": (0.14, 0.03)},
        "PacGAN2": {"modes": (23.8, 0.7), "high_quality": (0.913, 0.008), "reverse_kl": (0.13, 0.04)},
        "PacGAN3": {"modes": (24.6, 0.4), "high_quality": (0.942, 0.004), "reverse_kl": (0.06, 0.02)},
        "PacGAN4": {"modes": (24.8, 0.2), "high_quality": (0.936, 0.006), "reverse_kl": (0.04, 0.01)},
    },
}


def _as_points(samples: Tensor | np.ndarray, dim: int) -> Tensor:
    """The samples as a float64 CPU tensor of shape (N, dim), or a ValueError that says what is wrong."""
    if isinstance(samples, Tensor):
        points = to_cpu_float64(samples)
    else:
        points = torch.as_tensor(np.asarray(samples, dtype=np.float64))
    if points.ndim != 2 or points.shape[1] != dim:
        raise ValueError(f"samples must have shape (N, {dim}) to match the mixture; got {tuple(points.shape)}")
    if len(points) == 0:
        raise ValueError("samples is empty: need at least one sample to measure modes")
    if not torch.isfinite(points).all():
        bad = int((~torch.isfinite(points)).any(dim=1).sum())
        raise ValueError(f"samples contain NaN or inf in {bad} of {len(points)} rows (did training diverge?)")
    return points


def mode_report(samples: Tensor | np.ndarray, mixture: GaussianMixture, sigmas: float = 3.0,
                min_count: int = 1) -> dict:
    """Modes covered, share of high-quality samples and reverse KL of generated `samples` against `mixture`.

    Returns a dict: `modes_covered` (int), `n_modes` (int), `high_quality` (share in [0, 1]),
    `kl_modes` (KL(q || uniform) in nats; NaN when no sample is high quality, since q is then
    undefined), `counts` (high-quality samples per mode, a list in the mixture's order) and
    `n_samples`.
    """
    if sigmas <= 0:
        raise ValueError(f"sigmas must be positive; got {sigmas}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1; got {min_count}")
    points = _as_points(samples, mixture.dim)
    means = mixture.means.to(torch.float64)  # (K, d)
    stds = mixture.stds.to(torch.float64)  # (K,)
    n_modes = len(means)

    # (N, K): distance to each mode in that mode's standard deviations (exact, not the matmul shortcut)
    standardised = torch.cdist(points, means, compute_mode="donot_use_mm_for_euclid_dist") / stds
    distance, nearest = standardised.min(dim=1)
    good = distance <= sigmas
    counts = torch.bincount(nearest[good], minlength=n_modes)

    n_good = int(counts.sum())
    if n_good == 0:
        kl = math.nan
    else:
        q = counts.double() / n_good
        # 0 log 0 = 0: an empty mode adds nothing to KL(q || uniform), so no smoothing is needed
        # in this direction (the opposite direction, KL(uniform || q), would be infinite).
        kl = float(torch.where(q > 0, q * torch.log(q * n_modes), 0.0).sum())
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "n_modes": n_modes,
        "high_quality": n_good / len(points),
        "kl_modes": kl,
        "counts": counts.tolist(),
        "n_samples": len(points),
    }
