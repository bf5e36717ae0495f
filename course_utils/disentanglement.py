"""How disentangled a representation is, measured against factors known in advance (notebook 08).

Two scores, each in [0, 1], each computed from a representation of images whose factors are known (the course's
shapes, `data.shapes`):

- `factor_vae_score` (Kim and Mnih 2018, "Disentangling by Factorising", section 4): fix one factor, draw a
  batch of images whose other factors vary, standardise their codes by each dimension's spread over the whole
  data, and take the dimension that varies least. If each factor lives in one dimension, that dimension names
  the factor. A majority vote assigns each dimension to a factor on training votes; the score is how often
  that assignment names the fixed factor on fresh votes.
- `mutual_information_gap` (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs", MIG): for each
  factor, the mutual information of its most informative code dimension minus that of the second, divided by
  the factor's entropy; the mean over factors. Here the codes are discretised into equal-width bins (the
  histogram estimate of Locatello et al. 2019, 20 bins by default), so a factor with more values than bins
  cannot reach 1 even when a dimension is the factor itself: `mig_ceiling` says how high it can go.

How good the shapes a model draws are: `shapes_frechet_distance`, the Frechet distance between generated and real
shapes in the features of a reader trained on the real ones (models/classifiers.py's ShapesReader, trained by
`train_shapes_reader` to name each shape's factors), as notebooks 03-06 measure digits in their classifier's
features.

`represent` maps int64 factors (n, K) to codes (n, d): for a trained model, render the images and encode them;
for the checks of the scores themselves, a function of the factors alone (the factors: disentangled by
construction; a rotation of them: entangled).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .budget import to_cpu_float64
from .data.shapes import draw_factors


def _codes(represent: Callable[[Tensor], Tensor], factors: Tensor, chunk: int = 4096) -> Tensor:
    codes = torch.cat([to_cpu_float64(represent(part)) for part in factors.split(chunk)])
    if codes.dim() != 2 or len(codes) != len(factors):
        raise ValueError(f"represent must map factors (n, K) to codes (n, d); for n={len(factors)} it returned "
                         f"shape {tuple(codes.shape)}")
    if not torch.isfinite(codes).all():
        raise ValueError("represent returned codes that are not finite (NaN or inf): is the model diverged?")
    return codes


@torch.no_grad()
def factor_vae_score(represent: Callable[[Tensor], Tensor], factor_sizes: Sequence[int], train_votes: int = 800,
                     eval_votes: int = 800, batch_size: int = 64, spread_samples: int = 10_000,
                     min_std: float = 0.05, seed: int = 0) -> dict:
    """The FactorVAE disentanglement metric: accuracy of the majority-vote classifier on `eval_votes` votes.

    Each vote: a factor k chosen uniformly, `batch_size` random factor tuples with factor k set to one random
    value, their codes divided by each dimension's standard deviation over `spread_samples` random tuples, and
    the index of the dimension with the smallest variance in the batch. Dimensions whose standard deviation is
    below `min_std` (collapsed: they say nothing) are left out, as in the paper. Factors with a single value are
    skipped. Returns {"score", "train_score", "votes" (d x K counts on the training votes), "active" (the
    dimensions kept), "dimension_factor" (each dimension's assigned factor; -1 if it never won a vote)}."""
    if min(train_votes, eval_votes) < 1 or batch_size < 2:
        raise ValueError(f"factor_vae_score needs train_votes, eval_votes >= 1 and batch_size >= 2, got "
                         f"{train_votes}, {eval_votes}, {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    std = _codes(represent, draw_factors(spread_samples, factor_sizes, generator)).std(dim=0)
    active = (std >= min_std).nonzero().flatten()
    if len(active) == 0:
        raise ValueError(f"every code dimension has a standard deviation below min_std={min_std}: the "
                         f"representation is constant (a collapsed encoder?)")
    varying = [k for k, size in enumerate(factor_sizes) if size > 1]

    def votes(n: int) -> tuple[Tensor, Tensor]:
        fixed = torch.tensor(varying)[torch.randint(len(varying), (n,), generator=generator)]
        batches = draw_factors(n * batch_size, factor_sizes, generator).reshape(n, batch_size, -1)
        value = torch.stack([torch.randint(factor_sizes[k], (1,), generator=generator)[0] for k in fixed.tolist()])
        batches[torch.arange(n), :, fixed] = value[:, None]
        codes = _codes(represent, batches.reshape(n * batch_size, -1))[:, active] / std[active]
        dimension = codes.reshape(n, batch_size, -1).var(dim=1).argmin(dim=1)
        return active[dimension], fixed

    train_dimension, train_factor = votes(train_votes)
    table = torch.zeros(len(std), len(factor_sizes), dtype=torch.int64)
    table.index_put_((train_dimension, train_factor), torch.ones_like(train_dimension), accumulate=True)
    assigned = torch.where(table.sum(dim=1) > 0, table.argmax(dim=1), torch.full((len(std),), -1))
    eval_dimension, eval_factor = votes(eval_votes)
    return {"score": (assigned[eval_dimension] == eval_factor).double().mean().item(),
            "train_score": (assigned[train_dimension] == train_factor).double().mean().item(),
            "votes": table, "active": active, "dimension_factor": assigned}


def discretise(codes: Tensor, bins: int = 20) -> Tensor:
    """Each column of codes (n, d) into `bins` equal-width bins between its min and max: int64 (n, d)."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    codes = to_cpu_float64(codes)
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    width = torch.where(high > low, (high - low) / bins, torch.ones_like(high))
    return ((codes - low) / width).floor().clamp(0, bins - 1).long()


def discrete_mutual_information(a: Tensor, b: Tensor) -> float:
    """Mutual information in nats of two int64 label vectors, from their joint histogram (plug-in estimate)."""
    a, b = torch.as_tensor(a).long(), torch.as_tensor(b).long()
    _, a = a.unique(return_inverse=True)
    _, b = b.unique(return_inverse=True)
    joint = torch.zeros(int(a.max()) + 1, int(b.max()) + 1, dtype=torch.float64)
    joint.index_put_((a, b), torch.ones(len(a), dtype=torch.float64), accumulate=True)
    joint /= len(a)
    outer = joint.sum(dim=1, keepdim=True) * joint.sum(dim=0, keepdim=True)
    seen = joint > 0
    return (joint[seen] * (joint[seen] / outer[seen]).log()).sum().clamp(min=0).item()


def entropy(labels: Tensor) -> float:
    """Entropy in nats of an int64 label vector's empirical distribution."""
    _, counts = torch.as_tensor(labels).long().unique(return_counts=True)
    p = counts.double() / counts.sum()
    return -(p * p.log()).sum().item()


def mutual_information_gap(codes: Tensor, factors: Tensor, bins: int = 20) -> dict:
    """MIG of codes (n, d) against int64 factors (n, K): mean over factors of (I_top - I_second) / H(factor).

    Returns {"mig", "per_factor" (the gap of each factor; nan for a constant factor, which is left out of the
    mean), "mutual_information" (d x K, nats), "entropy" (K, nats)}. Needs d >= 2."""
    codes, factors = torch.as_tensor(codes), torch.as_tensor(factors).long()
    if codes.dim() != 2 or factors.dim() != 2 or len(codes) != len(factors):
        raise ValueError(f"codes (n, d) and factors (n, K) must have the same n, got {tuple(codes.shape)} and "
                         f"{tuple(factors.shape)}")
    if codes.shape[1] < 2:
        raise ValueError("the mutual information gap needs at least two code dimensions (a gap between the "
                         f"best and the second), got {codes.shape[1]}")
    binned = discretise(codes, bins)
    information = torch.tensor([[discrete_mutual_information(binned[:, j], factors[:, k])
                                 for k in range(factors.shape[1])] for j in range(codes.shape[1])])
    entropies = torch.tensor([entropy(factors[:, k]) for k in range(factors.shape[1])])
    top_two = information.topk(2, dim=0).values
    gaps = torch.where(entropies > 0, (top_two[0] - top_two[1]) / entropies.clamp(min=1e-12),
                       torch.full_like(entropies, float("nan")))
    return {"mig": gaps[entropies > 0].mean().item(), "per_factor": gaps.tolist(),
            "mutual_information": information, "entropy": entropies}


def mig_ceiling(factors: Tensor, bins: int = 20) -> float:
    """The MIG of the factors themselves as codes: the most a representation can score with this many bins (1
    when no factor has more values than bins)."""
    return mutual_information_gap(to_cpu_float64(factors), factors, bins)["mig"]


# ---------------------------------------------------------------- InfoGAN's codes against what the digits show


def matched_accuracy(codes: Tensor, labels: Tensor, values: int | None = None) -> dict:
    """How well a categorical code (n,) names the classes (n,) once each code value is matched to one class.

    The matching maximises the number of agreements, one class per code value (the Hungarian algorithm,
    scipy.optimize.linear_sum_assignment): a code that sorts digits perfectly but calls 3s "7" scores 1.
    Returns {"accuracy", "assignment" (class of each code value), "confusion" (values x classes counts)}."""
    from scipy.optimize import linear_sum_assignment

    codes, labels = torch.as_tensor(codes).long(), torch.as_tensor(labels).long()
    if codes.shape != labels.shape or codes.dim() != 1:
        raise ValueError(f"codes and labels must be two vectors of the same length, got {tuple(codes.shape)} and "
                         f"{tuple(labels.shape)}")
    size = max(values or 0, int(codes.max()) + 1, int(labels.max()) + 1)
    confusion = torch.zeros(size, size, dtype=torch.int64)
    confusion.index_put_((codes, labels), torch.ones_like(codes), accumulate=True)
    rows, columns = linear_sum_assignment(-confusion.numpy())
    matched = confusion[torch.as_tensor(rows), torch.as_tensor(columns)].sum().item()
    assignment = torch.as_tensor(columns)[torch.argsort(torch.as_tensor(rows))]
    return {"accuracy": matched / len(codes), "assignment": assignment, "confusion": confusion}


def _ink_moments(images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Ink mass, var(y) and cov(x, y) per image (pixels as weights, row index y downwards)."""
    weights = to_cpu_float64(images).reshape(len(images), *images.shape[-2:])
    weights = weights - weights.amin(dim=(1, 2), keepdim=True)  # the background (-1 or 0) weighs nothing
    rows, cols = torch.meshgrid(torch.arange(weights.shape[1], dtype=torch.float64),
                                torch.arange(weights.shape[2], dtype=torch.float64), indexing="ij")
    mass = weights.sum(dim=(1, 2)).clamp(min=1e-12)
    mean_y, mean_x = (weights * rows).sum(dim=(1, 2)) / mass, (weights * cols).sum(dim=(1, 2)) / mass
    dy, dx = rows - mean_y[:, None, None], cols - mean_x[:, None, None]
    var_y = (weights * dy * dy).sum(dim=(1, 2)) / mass
    cov_xy = (weights * dx * dy).sum(dim=(1, 2)) / mass
    return mass, var_y, cov_xy


def slant(images: Tensor) -> Tensor:
    """The slant of each digit, from its second moments: -cov(x, y) / var(y), the shear that would make it upright
    (the deskewing measure of MNIST preprocessing). Positive: leaning right (the top to the right; y grows down)."""
    _, var_y, cov_xy = _ink_moments(images)
    return -cov_xy / var_y.clamp(min=1e-12)


def ink(images: Tensor) -> Tensor:
    """The amount of ink per image (sum of intensities above the background, in pixels of full ink): thicker
    strokes of the same digit use more of it."""
    images = to_cpu_float64(images)
    full = images.amax() - images.amin() if images.numel() else torch.ones(())
    mass, _, _ = _ink_moments(images)
    return mass / full.clamp(min=1e-12)


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two vectors (scipy.stats.spearmanr)."""
    from scipy.stats import spearmanr

    return float(spearmanr(to_cpu_float64(a).numpy(), to_cpu_float64(b).numpy()).statistic)


# ----------------------------------------------------------------------------- the quality of generated shapes

# Columns of the shapes' factors (data.shapes.FACTOR_NAMES) that the reader names.
READER_COLUMNS = {"shape": 0, "scale": 1, "x": 3, "y": 4}


def train_shapes_reader(reader: torch.nn.Module, images: Tensor, factors: Tensor, epochs: int = 2,
                        batch_size: int = 128, lr: float = 2e-3, seed: int = 0, progress: bool = True) -> list[float]:
    """Train a ShapesReader on uint8 shapes (n, 1, 32, 32) to name each factor of READER_COLUMNS (the sum of the
    factors' cross-entropies), with models/classifiers.py's loop and no augmentation (a shift would move x and y);
    return each epoch's mean loss."""
    from .data.loading import to_signed_unit
    from .models.classifiers import train_classifier

    if len(images) != len(factors) or len(images) < batch_size:
        raise ValueError(f"train_shapes_reader needs as many factor rows as images and at least one batch of "
                         f"{batch_size}; got {len(images)} images, {len(factors)} factor rows")

    def loss(model: torch.nn.Module, x: Tensor, batch_factors: Tensor) -> Tensor:
        read = model.read(x)
        return sum(torch.nn.functional.cross_entropy(read[name], batch_factors[:, column])
                   for name, column in READER_COLUMNS.items())

    return train_classifier(reader, images, factors, epochs, batch_size, lr, seed, progress,
                            augment=lambda x, generator: to_signed_unit(x), loss=loss, name="shapes reader")


@torch.no_grad()
def reader_accuracy(reader: torch.nn.Module, images: Tensor, factors: Tensor) -> dict[str, float]:
    """How often the reader names each factor of uint8 shapes right."""
    from .data.loading import to_signed_unit

    reader.eval()
    read = {name: torch.cat([reader.read(to_signed_unit(chunk))[name].argmax(1) for chunk in images.split(2000)])
            for name in READER_COLUMNS}
    return {name: (read[name] == factors[:, column]).float().mean().item() for name, column in READER_COLUMNS.items()}


@torch.no_grad()
def shapes_frechet_distance(reader: torch.nn.Module, generated: Tensor, real: Tensor) -> float:
    """Frechet distance between two sets of 32x32 shapes (float in [-1, 1]) in the reader's features."""
    from .sample_quality import frechet_distance

    reader.eval()
    features = [to_cpu_float64(torch.cat([reader.features(chunk.float()) for chunk in images.split(2000)]))
                for images in (generated, real)]
    return frechet_distance(*features)


# ----------------------------------------------------------------------------- InfoGAN on MNIST, measured

DIGIT_PROPERTIES = {"slant": slant, "ink": ink}


@torch.no_grad()
def infogan_digit_report(G: torch.nn.Module, readers: dict[str, torch.nn.Module], n: int = 10_000,
                         seed: int = 2) -> dict:
    """What an MNIST InfoGAN's codes control, read from n samples drawn with noise seed `seed`: the categorical
    code (n / 10 samples per value) against the digit each reader sees, matched by the Hungarian algorithm; each
    continuous code (uniform on [-1, 1]) against each digit property (slant, ink) by Spearman's rank correlation.
    Returns {"matched_accuracy": {reader: accuracy}, "assignment": {reader: digit of each code value},
    "rank_correlation": [{property: rho} per continuous code], "n", "seed"}."""
    from .models.infogan import make_latent
    from .sample_quality import classifier_outputs

    cfg = G.cfg
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, cfg.z_dim, generator=generator)
    category = torch.arange(n) % max(cfg.categories, 1)
    continuous = torch.rand(n, cfg.continuous, generator=generator) * 2 - 1
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    images = torch.cat([G(make_latent(*chunk, cfg).to(device)).cpu()
                        for chunk in zip(z.split(1000), category.split(1000), continuous.split(1000))])
    G.train(was_training)
    report: dict = {"n": n, "seed": seed, "matched_accuracy": {}, "assignment": {}}
    if cfg.categories:
        for name, reader in readers.items():
            digits = classifier_outputs(reader, images)[1].argmax(1)
            matched = matched_accuracy(category, digits, cfg.categories)
            report["matched_accuracy"][name] = matched["accuracy"]
            report["assignment"][name] = matched["assignment"].tolist()
    properties = {name: measure(images[:, 0]) for name, measure in DIGIT_PROPERTIES.items()}
    report["rank_correlation"] = [{name: rank_correlation(continuous[:, j], values)
                                   for name, values in properties.items()} for j in range(cfg.continuous)]
    return report
