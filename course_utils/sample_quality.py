"""Sample-quality metrics in the feature space of a classifier we train ourselves.

Frechet distance (Heusel et al. 2017), KID (Binkowski et al. 2018, unbiased), improved precision
and recall (Kynkaanniemi et al. 2019), class coverage and NDB (Richardson & Weiss 2018); the nearest
training images ("is it a copy?") are in course_utils.report. Every metric here is validated in tests/test_sample_quality.py:
real-vs-real scores near the floor, corrupted images score monotonically worse.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .budget import to_cpu_float64


RANGE_TOLERANCE = 1e-3  # rounding slack (bfloat16 outputs) beyond [-1, 1]


def check_mnist_images(images: Tensor, caller: str = "classifier_outputs") -> None:
    """Refuse, with what to do instead, anything but float images (N, 1, 28, 28) in [-1, 1]: the MNIST
    readers' input. A wrong shape would be reshaped into the wrong number of images, and uint8 pixels
    in [0, 255] would all be read as the same digit."""
    if not isinstance(images, Tensor):
        raise TypeError(f"{caller} needs a tensor of images (N, 1, 28, 28); got a {type(images).__name__}")
    shape = tuple(images.shape)
    if images.dim() != 4 or shape[1:] != (1, 28, 28) or shape[0] == 0:
        if images.dim() == 4 and shape[1] == 3:
            hint = "; for RGB images use data.rgb_to_grey(images) first"
        elif images.dim() == 4 and shape[1] == 1 and shape[0] > 0:
            hint = "; the readers were trained on 28x28 MNIST digits: resize or crop to 28x28 first"
        elif images.dim() == 3 and shape[1:] == (28, 28):
            hint = "; add the channel axis: images[:, None]"
        elif images.dim() == 2 and images.shape[1] == 784:
            hint = "; reshape flat images with images.reshape(-1, 1, 28, 28)"
        else:
            hint = ""
        raise ValueError(f"{caller} reads at least one grey 28x28 image, shape (N, 1, 28, 28); got {shape}{hint}")
    if not images.is_floating_point():
        raise ValueError(f"{caller} needs float images in [-1, 1]; got {images.dtype} (for uint8 pixels in "
                         "[0, 255] use data.to_signed_unit(images))")
    if not bool(torch.isfinite(images).all()):
        raise ValueError(f"{caller} got images holding NaN or inf (did the generator diverge?)")
    low, high = float(images.min()), float(images.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise ValueError(f"{caller} needs images in [-1, 1] (the range of data.to_signed_unit and of a Tanh "
                         f"generator); got values from {low:.4g} to {high:.4g}. Pixels in [0, 255]: use "
                         "data.to_signed_unit(images); in [0, 1]: images * 2 - 1")


@torch.no_grad()
def classifier_outputs(classifier: nn.Module, images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """Penultimate features (n, d) and logits (n, 10) of images (n, 1, 28, 28) in [-1, 1], on the CPU, in float64."""
    check_mnist_images(images)
    classifier.eval()
    device = next(classifier.parameters()).device
    features, logits = [], []
    for chunk in images.split(batch_size):
        f = classifier.features(chunk.to(device).float())
        features.append(to_cpu_float64(f))
        logits.append(to_cpu_float64(classifier.head(f)))
    return torch.cat(features), torch.cat(logits)


def _sqrtm_psd(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def check_features(features: Tensor, min_rows: int, why: str, name: str = "features") -> Tensor:
    """`features` as a float64 matrix (n, d) with at least `min_rows` rows, or a ValueError naming the argument."""
    features = torch.as_tensor(features).double()
    if features.dim() != 2:
        raise ValueError(f"{name} must be a feature matrix (n, d), one row per sample; got shape "
                         f"{tuple(features.shape)}")
    if len(features) < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples ({why}); got {len(features)}")
    return features


def check_feature_sets(features_a: Tensor, features_b: Tensor, min_rows: int, why: str,
                       names: tuple[str, str] = ("features_a", "features_b")) -> tuple[Tensor, Tensor]:
    """Both as float64 matrices (n, d) with the same d and at least `min_rows` rows each, or a ValueError
    that names the argument and says what is expected (`why`: what the rows are needed for)."""
    checked = [check_features(features, min_rows, why, name) for features, name in zip((features_a, features_b), names)]
    if checked[0].shape[1] != checked[1].shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same feature size d (features of the same "
                         f"network); got d = {checked[0].shape[1]} and d = {checked[1].shape[1]}")
    return checked[0], checked[1]


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) between Gaussians fitted to two feature sets."""
    features_a, features_b = check_feature_sets(features_a, features_b, 2, "a covariance needs two")
    return frechet_distance_from_stats(*feature_statistics(features_a), *feature_statistics(features_b))


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and covariance (float64) of a feature set (n >= 2, d): all the Frechet distance needs of it."""
    features = check_features(features, 2, "a covariance needs two")
    return features.mean(0), torch.cov(features.T)


def frechet_distance_from_stats(mu_a: Tensor, cov_a: Tensor, mu_b: Tensor, cov_b: Tensor) -> float:
    """The Frechet distance between N(mu_a, cov_a) and N(mu_b, cov_b)."""
    mu_a, cov_a, mu_b, cov_b = (torch.as_tensor(t).double() for t in (mu_a, cov_a, mu_b, cov_b))
    for mu, cov, side in ((mu_a, cov_a, "a"), (mu_b, cov_b, "b")):
        if mu.dim() != 1 or tuple(cov.shape) != (len(mu), len(mu)):
            raise ValueError(f"mu_{side} must be a mean vector (d,) and cov_{side} its covariance (d, d); got "
                             f"{tuple(mu.shape)} and {tuple(cov.shape)}")
    if len(mu_a) != len(mu_b):
        raise ValueError(f"the two Gaussians must live in the same feature space; got d = {len(mu_a)} and "
                         f"d = {len(mu_b)}")
    root_a = _sqrtm_psd(cov_a)
    # Tr((C_a C_b)^(1/2)) = Tr((C_a^(1/2) C_b C_a^(1/2))^(1/2)), a symmetric PSD matrix: stable eigenvalues.
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def kernel_inception_distance(features_a: Tensor, features_b: Tensor, subsets: int = 10,
                              subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel (x.y/d + 1)^3: mean and std over random subsets
    of min(subset_size, n_a, n_b) samples (at least 2: the estimate averages over pairs of samples)."""
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"kernel_inception_distance needs subsets >= 1 and subset_size >= 2 (the unbiased "
                         f"estimate averages over pairs of distinct samples); got subsets={subsets}, "
                         f"subset_size={subset_size}")
    a, b = check_feature_sets(features_a, features_b, 2, "the unbiased estimate averages over pairs of samples")
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
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"precision_recall needs a whole number k >= 1 of neighbours; got k={k!r}")
    real, fake = check_feature_sets(real, fake, k + 1, f"k={k} neighbours besides the sample itself",
                                    names=("real", "fake"))

    def inside(points: Tensor, manifold: Tensor) -> float:
        radii = _kth_neighbour_radius(manifold, k)
        return float((torch.cdist(points, manifold) <= radii[None]).any(dim=1).double().mean())

    return inside(fake, real), inside(real, fake)


def class_coverage(logits: Tensor, classes: int = 10, threshold: float = 0.05) -> dict:
    """The histogram of predicted labels, its entropy (nats; log 10 = 2.303 is uniform) and the
    number of classes holding at least `threshold` of the samples."""
    counts = torch.bincount(logits.argmax(1), minlength=classes).double()
    share = counts / counts.sum()
    entropy = max(0.0, float(-(share[share > 0] * share[share > 0].log()).sum()))  # no "-0.00"
    return {"histogram": share.tolist(), "entropy_nats": entropy,
            "coverage_classes": int((share >= threshold).sum())}


class Bins:
    """k-means cells of a set of training images: the bins of NDB (Richardson & Weiss 2018)."""

    def __init__(self, train: Tensor, bins: int = 50, seed: int = 0):
        from sklearn.cluster import KMeans

        x = train.reshape(len(train), -1).double().numpy()
        self.kmeans = KMeans(n_clusters=bins, n_init=1, random_state=seed).fit(x)
        self.bins, self.count = bins, len(x)
        self.train_share = np.bincount(self.kmeans.labels_, minlength=bins) / len(x)

    def compare(self, samples: Tensor, alpha: float = 0.05) -> dict:
        """Two-proportion z-test per cell at level `alpha`: how many cells differ significantly."""
        from scipy.stats import norm

        x = samples.reshape(len(samples), -1).double().numpy()
        share = np.bincount(self.kmeans.predict(x), minlength=self.bins) / len(x)
        n1, n2 = self.count, len(x)
        pooled = (self.train_share * n1 + share * n2) / (n1 + n2)
        z = (self.train_share - share) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2) + 1e-12)
        different = np.abs(z) > norm.ppf(1 - alpha / 2)
        return {"ndb": int(different.sum()), "ndb_fraction": float(different.mean()),
                "train_share": self.train_share.tolist(), "sample_share": share.tolist()}


def ndb(train: Tensor, samples: Tensor, bins: int = 50, alpha: float = 0.05, seed: int = 0) -> dict:
    """Number of statistically different bins between `samples` and k-means cells of `train`."""
    return Bins(train, bins, seed).compare(samples, alpha)


class MNISTEvaluator:
    """Every sample-quality number of the course for images in [-1, 1], against real MNIST.

    Built once (test features, NDB cells), then `evaluate(samples)` per model: FD, KID, precision
    and recall against the test images' features; coverage from the classifier's labels; NDB on 50
    k-means cells of 10,000 random training images (5,000 samples tested).
    """

    def __init__(self, classifier: nn.Module, test_images: Tensor, train_images: Tensor,
                 ndb_bins: int = 50, seed: int = 0, second_reader: nn.Module | None = None):
        self.classifier, self.second_reader = classifier, second_reader
        self.real_features = classifier_outputs(classifier, test_images)[0]
        generator = torch.Generator().manual_seed(seed)
        reference = train_images[torch.randperm(len(train_images), generator=generator)[:10_000]].cpu()
        self.bins = Bins(reference, ndb_bins, seed)

    def evaluate(self, samples: Tensor) -> dict:
        """The metrics of 10,000 (or however many) samples; see the class docstring."""
        fake_features, fake_logits = classifier_outputs(self.classifier, samples)
        precision, recall = precision_recall(self.real_features[:5000], fake_features[:5000])
        coverage = class_coverage(fake_logits)
        return {
            "fd_classifier": frechet_distance(self.real_features, fake_features),
            "kid_classifier": kernel_inception_distance(self.real_features, fake_features)[0],
            "precision": precision, "recall": recall,
            "coverage_classes": coverage["coverage_classes"], "class_entropy_nats": coverage["entropy_nats"],
            "class_histogram": [round(share, 4) for share in coverage["histogram"]],
            "ndb": self.bins.compare(samples[:5000].cpu())["ndb"], "ndb_bins": self.bins.bins,
            **(reader2_coverage(self.second_reader, samples) if self.second_reader is not None else {}),
        }


def reader2_coverage(second_reader: nn.Module, samples: Tensor) -> dict:
    """Class coverage of samples as the second reader sees it, under the first reader's keys + "_reader2"."""
    coverage = class_coverage(classifier_outputs(second_reader, samples)[1])
    return {"coverage_classes_reader2": coverage["coverage_classes"],
            "class_entropy_nats_reader2": coverage["entropy_nats"],
            "class_histogram_reader2": [round(share, 4) for share in coverage["histogram"]]}


# ----------------------------------------------------------------------------- the course's protocol


def load_classifier(device: torch.device | str = "cpu", name: str = "mnist_classifier") -> nn.Module:
    """A committed MNIST reader in eval mode: "mnist_classifier" (the metrics' feature space) or
    "mnist_classifier2" (the second reader, of another family); test accuracy in the manifest."""
    from .checkpoints import load_pretrained, read_manifest
    from .models.classifiers import (ClassifierConfig, MNISTClassifier, ResidualClassifier,
                                     ResidualClassifierConfig)

    entry = read_manifest().get(name, {})
    if entry.get("model", "").endswith("ResidualClassifier"):
        config = {key: tuple(value) for key, value in entry["config"].items()}
        model = ResidualClassifier(ResidualClassifierConfig(**config))
    else:
        model = MNISTClassifier(ClassifierConfig(**entry.get("config", {})))
    load_pretrained(name, {"classifier": model.to(device)})
    return model.float().eval()


def mnist_evaluator(device: torch.device | str = "cpu") -> MNISTEvaluator:
    """The evaluator every notebook and the manifest use: both readers, the MNIST test set, NDB cells."""
    from .data import mnist_tensors, to_signed_unit

    return MNISTEvaluator(load_classifier(device), to_signed_unit(mnist_tensors(train=False)[0]).to(device),
                          to_signed_unit(mnist_tensors(train=True)[0]),
                          second_reader=load_classifier(device, name="mnist_classifier2"))


@torch.no_grad()
def generator_images(G: nn.Module, n: int = 10_000, seed: int = 1) -> Tensor:
    """n images from G (in eval mode) with noise from a fixed seed, on the CPU."""
    G.eval()
    device = next(G.parameters()).device
    return G(G.sample_z(n, generator=torch.Generator().manual_seed(seed), device=device)).cpu()


def gmm_images(gmm: nn.Module, n: int = 10_000, seed: int = 1) -> Tensor:
    """n samples of a pixel mixture on [0, 1] as images in [-1, 1], from a fixed seed."""
    samples = gmm.sample(n, generator=torch.Generator().manual_seed(seed)).float().clamp(0, 1)
    return (samples * 2 - 1).reshape(-1, 1, 28, 28)


# ----------------------------------------------------------------------------- conditioning and translation


def requested_digit_accuracy(classifier: nn.Module, samples: Tensor, labels: Tensor) -> tuple[float, list[float]]:
    """The share of samples the classifier reads as their requested label: overall, and per digit 0-9."""
    predicted = classifier_outputs(classifier, samples)[1].argmax(1)
    labels = labels.cpu()
    return ((predicted == labels).float().mean().item(),
            [(predicted[labels == c] == c).float().mean().item() for c in range(10)])


@torch.no_grad()
def conditional_report(G: nn.Module, classifier: nn.Module, test_images: Tensor, test_labels: Tensor,
                       per_class: int = 1000, seed: int = 1, second_reader: nn.Module | None = None) -> dict:
    """How well a conditional MNIST generator obeys its label.

    class_accuracy: the share of `per_class` samples per digit that the classifier assigns to the
    requested digit (overall and per class); with a `second_reader`, its numbers too ("_reader2").
    per_class_fd: the Frechet distance, in the classifier's features, between the samples of digit c
    and one half of the real images of digit c (even positions), with as many samples as the other
    half holds; per_class_fd_floor: the same distance from the other half (odd positions), real
    against real at the same sizes, the value a perfect generator would reach on average."""
    labels = torch.arange(10).repeat_interleave(per_class)
    samples = G.generate(labels, seed=seed).cpu()
    reader2 = {}
    if second_reader is not None:
        overall, per_class_reader2 = requested_digit_accuracy(second_reader, samples, labels)
        reader2 = {"class_accuracy_reader2": overall,
                   "per_class_accuracy_reader2": [round(v, 4) for v in per_class_reader2]}
    fake_features, fake_logits = classifier_outputs(classifier, samples)
    real_features = classifier_outputs(classifier, test_images)[0]
    predicted = fake_logits.argmax(1)
    test_labels = test_labels.cpu()
    per_class_accuracy = [(predicted[labels == c] == c).float().mean().item() for c in range(10)]
    per_class_fd, floor = [], []
    for c in range(10):
        real = real_features[test_labels == c]
        half_a, half_b = real[0::2], real[1::2]
        size = min(len(half_b), per_class)
        per_class_fd.append(frechet_distance(half_a, fake_features[labels == c][:size]))
        floor.append(frechet_distance(half_a, half_b[:size]))
    return {"class_accuracy": (predicted == labels).float().mean().item(),
            "per_class_accuracy": [round(v, 4) for v in per_class_accuracy],
            "per_class_fd": [round(v, 3) for v in per_class_fd], "mean_class_fd": float(np.mean(per_class_fd)),
            "per_class_fd_floor": [round(v, 3) for v in floor], "mean_class_fd_floor": float(np.mean(floor)),
            "fd_all": frechet_distance(real_features, fake_features), **reader2}


@torch.no_grad()
def translation_report(model: nn.Module, classifier: nn.Module, domains: dict[str, Tensor]) -> dict:
    """CycleGAN on held-out MNIST (A) and MNIST-M (B): cycle reconstruction error (mean |pixel error|
    in [-1, 1] units) and content preservation, the classifier's accuracy on F(b), on F(G(a)), and, as
    references, on a and on b read directly as grey images."""
    from .data import rgb_to_grey, to_signed_unit

    a, b = to_signed_unit(domains["A"]), to_signed_unit(domains["B"])
    g_a = model.translate(a, "AB")
    f_b = model.translate(b, "BA")
    a_cycled, b_cycled = model.translate(g_a, "BA"), model.translate(f_b, "AB")

    def accuracy(images: Tensor, labels: Tensor) -> float:
        logits = classifier_outputs(classifier, rgb_to_grey(images))[1]
        return (logits.argmax(1) == labels.cpu()).float().mean().item()

    return {"cycle_error_a": (a_cycled - a).abs().mean().item(), "cycle_error_b": (b_cycled - b).abs().mean().item(),
            "accuracy_F_b": accuracy(f_b, domains["labels_B"]), "accuracy_F_G_a": accuracy(a_cycled, domains["labels_A"]),
            "accuracy_a": accuracy(a, domains["labels_A"]), "accuracy_b_untranslated": accuracy(b, domains["labels_B"])}
