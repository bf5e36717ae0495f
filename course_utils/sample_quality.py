"""Sample-quality metrics in the feature space of a classifier we train ourselves (DESIGN.md section 7).

Frechet distance (Heusel et al. 2017), KID (Binkowski et al. 2018, unbiased), improved precision
and recall (Kynkaanniemi et al. 2019), class coverage, NDB (Richardson & Weiss 2018) and nearest
neighbours in the training set. Every metric here is validated in tests/test_sample_quality.py:
real-vs-real scores near the floor, corrupted images score monotonically worse.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


@torch.no_grad()
def classifier_outputs(classifier: nn.Module, images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """Penultimate features (n, d) and logits (n, 10) of images in [-1, 1], on the CPU, in float64."""
    classifier.eval()
    device = next(classifier.parameters()).device
    features, logits = [], []
    for chunk in images.split(batch_size):
        f = classifier.features(chunk.to(device).float())
        features.append(f.double().cpu())
        logits.append(classifier.head(f).double().cpu())
    return torch.cat(features), torch.cat(logits)


def _sqrtm_psd(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) between Gaussians fitted to two feature sets."""
    a, b = features_a.double(), features_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _sqrtm_psd(cov_a)
    # Tr((C_a C_b)^(1/2)) = Tr((C_a^(1/2) C_b C_a^(1/2))^(1/2)), a symmetric PSD matrix: stable eigenvalues.
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def kernel_inception_distance(features_a: Tensor, features_b: Tensor, subsets: int = 10,
                              subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y/d + 1)^3: mean and std over random subsets."""
    a, b = features_a.double(), features_b.double()
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    generator = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=generator)[:m]]
        y = b[torch.randperm(len(b), generator=generator)[:m]]
        k_xx, k_yy, k_xy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off_diagonal = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
        estimates.append(float(off_diagonal - 2 * k_xy.mean()))
    values = np.array(estimates)
    return float(values.mean()), float(values.std())


def _kth_neighbour_radius(features: Tensor, k: int) -> Tensor:
    distances = torch.cdist(features, features)
    return distances.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision (fake inside the real manifold) and recall (real inside the fake manifold).

    Each manifold is the union of balls around its points with radius the distance to the k-th
    nearest neighbour (Kynkaanniemi et al. 2019, k = 3).
    """
    real, fake = real.double(), fake.double()

    def inside(points: Tensor, manifold: Tensor) -> float:
        radii = _kth_neighbour_radius(manifold, k)
        return float((torch.cdist(points, manifold) <= radii[None]).any(dim=1).double().mean())

    return inside(fake, real), inside(real, fake)


def class_coverage(logits: Tensor, classes: int = 10, threshold: float = 0.05) -> dict:
    """The histogram of predicted labels, its entropy (nats; log 10 = 2.303 is uniform) and the
    number of classes holding at least `threshold` of the samples."""
    counts = torch.bincount(logits.argmax(1), minlength=classes).double()
    share = counts / counts.sum()
    entropy = float(-(share[share > 0] * share[share > 0].log()).sum())
    return {"histogram": share.tolist(), "entropy_nats": entropy,
            "coverage_classes": int((share >= threshold).sum())}


def ndb(train: Tensor, samples: Tensor, bins: int = 50, alpha: float = 0.05, seed: int = 0) -> dict:
    """Number of statistically different bins (Richardson & Weiss 2018).

    k-means on the training images defines `bins` cells; a two-proportion z-test at level `alpha`
    compares the share of training images and of samples in each cell. Returns the count, the
    fraction (ndb / bins) and the two histograms.
    """
    from scipy.stats import norm
    from sklearn.cluster import KMeans

    x_train = train.reshape(len(train), -1).double().numpy()
    x_samples = samples.reshape(len(samples), -1).double().numpy()
    kmeans = KMeans(n_clusters=bins, n_init=1, random_state=seed).fit(x_train)
    p_train = np.bincount(kmeans.labels_, minlength=bins) / len(x_train)
    p_samples = np.bincount(kmeans.predict(x_samples), minlength=bins) / len(x_samples)
    n1, n2 = len(x_train), len(x_samples)
    pooled = (p_train * n1 + p_samples * n2) / (n1 + n2)
    z = (p_train - p_samples) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2) + 1e-12)
    different = np.abs(z) > norm.ppf(1 - alpha / 2)
    return {"ndb": int(different.sum()), "ndb_fraction": float(different.mean()),
            "train_share": p_train.tolist(), "sample_share": p_samples.tolist()}


def nearest_neighbours(queries: Tensor, pool: Tensor, k: int = 5, batch_size: int = 256) -> Tensor:
    """Indices (n, k) of each query's k nearest images in `pool`, by Euclidean distance in pixels."""
    pool_flat = pool.reshape(len(pool), -1).float()
    result = []
    for chunk in queries.reshape(len(queries), -1).float().split(batch_size):
        result.append(torch.cdist(chunk, pool_flat).topk(k, largest=False).indices)
    return torch.cat(result)

