"""What the notebooks share around training: a table of metrics, a fixed-noise progress grid, and the
"is it a copy?" check (each sample's nearest training images and their distances)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn


def metric_table(rows: Mapping[str, Mapping], keys: Sequence[str], labels: Sequence[str] | None = None,
                 formats: Mapping[str, str] | None = None, name_width: int | None = None,
                 min_width: int = 12) -> str:
    """A plain-text table: one line per row name, one column per key (header `labels`, default the keys).

    Floats print with 4 decimals and integers as they are, unless `formats` gives a format spec for
    a key (e.g. {"fid": ".1f", "class_accuracy": ".2%"}). A missing value prints as "-".
    """
    labels = list(keys if labels is None else labels)
    if len(labels) != len(keys):
        raise ValueError(f"metric_table: {len(keys)} keys but {len(labels)} labels")
    formats = dict(formats or {})
    name_width = name_width or max([len(str(name)) for name in rows] + [0]) + 2
    widths = [max(min_width, len(label) + 2) for label in labels]

    def cell(value, key: str, width: int) -> str:
        if value is None:
            return f"{'-':>{width}}"
        spec = formats.get(key, ".4f" if isinstance(value, float) else "")
        return f"{value:>{width}{spec}}"

    lines = [" " * name_width + "".join(f"{label:>{width}}" for label, width in zip(labels, widths))]
    for name, row in rows.items():
        lines.append(f"{name:{name_width}}" + "".join(cell(row.get(key), key, width) for key, width in zip(keys, widths)))
    return "\n".join(lines)


def print_metric_table(rows: Mapping[str, Mapping], keys: Sequence[str], **options) -> None:
    """Print `metric_table(rows, keys, **options)`."""
    print(metric_table(rows, keys, **options))


class FixedNoiseGrid:
    """A training hook `(trainer)` that keeps (step, images) of G on the same noise, G in eval mode.

    `noise` is what G takes (z, or a tuple such as (z, labels)); when G returns a tuple, its first
    element is the image batch. `keep` selects rows of it (e.g. slice(None, None, 8)). G goes back
    to training mode afterwards; images are kept on the CPU in float32.
    """

    def __init__(self, noise: Tensor | tuple, keep: slice | Tensor | None = None):
        self.noise, self.keep = noise, keep
        self.snapshots: list[tuple[int, Tensor]] = []

    @torch.no_grad()
    def __call__(self, trainer) -> None:
        G: nn.Module = trainer.G
        was_training = G.training
        G.eval()  # batch norm with its running statistics, as at sampling time
        device = next(G.parameters()).device
        noise = (tuple(part.to(device) for part in self.noise) if isinstance(self.noise, tuple)
                 else self.noise.to(device))
        images = G(noise)
        images = images[0] if isinstance(images, tuple) else images
        images = images if self.keep is None else images[self.keep]
        self.snapshots.append((trainer.step, images.float().cpu()))
        G.train(was_training)

    @property
    def images(self) -> list[Tensor]:
        """The image batches, in the order they were recorded."""
        return [images for _, images in self.snapshots]

    @property
    def labels(self) -> list[str]:
        """'step N' for each snapshot, to title the rows of a figure."""
        return [f"step {step}" for step, _ in self.snapshots]


@torch.no_grad()
def nearest_training_images(queries: Tensor, pool: Tensor, k: int = 1, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """Distances and indices (each (n, k), nearest first) of each query's k nearest images in `pool`.

    Euclidean distance in pixel space, computed in batches of queries so that 60,000 training images
    fit in memory. For queries drawn from the pool itself, column 0 is the image itself (distance 0).
    """
    if queries.shape[1:] != pool.shape[1:]:
        raise ValueError(f"nearest_training_images: queries of shape {tuple(queries.shape[1:])} against a pool of "
                         f"{tuple(pool.shape[1:])}: both must hold images of the same shape")
    if not 1 <= k <= len(pool):
        raise ValueError(f"nearest_training_images: k = {k}, it must be between 1 and the pool's size {len(pool)}")
    pool_flat = pool.reshape(len(pool), -1).float()
    distances, indices = [], []
    for chunk in queries.reshape(len(queries), -1).float().split(batch_size):
        chunk = chunk.to(pool_flat.device)
        candidates = torch.cdist(chunk, pool_flat).topk(k, largest=False).indices
        # cdist's fast path loses about 1e-3; the k distances kept are computed again exactly
        exact = (chunk[:, None, :] - pool_flat[candidates]).norm(dim=2)
        order = exact.argsort(dim=1)
        distances.append(exact.gather(1, order))
        indices.append(candidates.gather(1, order))
    return torch.cat(distances).cpu(), torch.cat(indices).cpu()


# How far the MNIST evaluator's numbers (sample_quality.MNISTEvaluator.evaluate) may move when the same samples are
# scored again by the same readers: the manifest rounds to 5 decimals, and another machine sums floats in another
# order (precision and recall: 5 of their 5,000 samples crossing a neighbourhood's edge).
REEVALUATION_TOLERANCE = {"fd_classifier": 0.01, "kid_classifier": 0.001, "precision": 0.001, "recall": 0.001,
                          "coverage_classes": 0, "coverage_classes_reader2": 0, "ndb": 0}


class ManifestMismatchError(AssertionError):
    """A number recomputed in a notebook disagrees with the one the pretrain command stored."""


def compare_with_manifest(entry: Mapping, recomputed: Mapping[str, float], tolerance: Mapping[str, float],
                          why: str = "") -> None:
    """Print each recomputed metric beside the manifest's and raise ManifestMismatchError where they differ by
    more than `tolerance[key]` (absolute, in the metric's own units).

    `entry` is the weights' manifest entry (`pretrained(name).manifest_entry` or `read_manifest()[name]`);
    `why` says in a few words where the tolerance comes from (printed, so the reader can judge it).
    """
    metrics = entry.get("metrics") or {}
    missing = [key for key in recomputed if key not in metrics or key not in tolerance]
    if missing:
        raise KeyError(f"compare_with_manifest: no manifest value or no tolerance for {missing}; the manifest has "
                       f"{sorted(metrics)}")
    name = entry.get("command", "the pretrain command").strip("`")
    print(f"recomputed here vs the manifest ({name}){': ' + why if why else ''}")
    rows = {key: {"here": float(value), "manifest": float(metrics[key]), "difference": float(value) - metrics[key],
                  "tolerance": float(tolerance[key])} for key, value in recomputed.items()}
    columns = ["here", "manifest", "difference", "tolerance"]
    print_metric_table(rows, columns, formats={"here": ".6g", "manifest": ".6g", "difference": ".3g", "tolerance": ".3g"},
                       min_width=13)
    wrong = [key for key, row in rows.items() if not abs(row["difference"]) <= row["tolerance"]]
    if wrong:
        raise ManifestMismatchError(
            f"{', '.join(wrong)} recomputed here differ from the manifest by more than the tolerance: the weights, "
            f"the data or the metric code changed since `{name}` stored them. Re-run that command (it rewrites the "
            "manifest) or find the change.")
