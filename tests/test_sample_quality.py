"""Each sample-quality metric validated before it is trusted: real-vs-real near the floor, worse with damage."""

import math

import numpy as np
import pytest
import torch
from torchvision.transforms.functional import gaussian_blur

from course_utils import sample_quality as sq
from course_utils.checkpoints import load_pretrained
from course_utils.data import mnist_tensors, to_signed_unit
from course_utils.models.classifiers import MNISTClassifier, accuracy

N = 2000


@pytest.fixture(scope="module")
def mnist_images():
    import os
    from pathlib import Path

    from conftest import SHARED_MIRROR

    mirror = Path(os.environ.get("COURSE_DATA_MIRROR") or SHARED_MIRROR)
    if not (mirror / "MNIST" / "raw").is_dir():
        pytest.skip("no MNIST mirror")
    os.environ.setdefault("COURSE_DATA_MIRROR", str(mirror))
    train_x, train_y = mnist_tensors(train=True)
    test_x, test_y = mnist_tensors(train=False)
    return to_signed_unit(train_x), train_y, to_signed_unit(test_x), test_y


@pytest.fixture(scope="module")
def classifier():
    model = MNISTClassifier()
    load_pretrained("mnist_classifier", {"classifier": model})
    return model


@pytest.fixture(scope="module")
def features(mnist_images, classifier):
    train_x, _, test_x, _ = mnist_images
    generator = torch.Generator().manual_seed(0)
    train_sub = train_x[torch.randperm(len(train_x), generator=generator)[:N]]
    return {"train": sq.classifier_outputs(classifier, train_sub)[0],
            "test": sq.classifier_outputs(classifier, test_x[torch.randperm(len(test_x), generator=generator)[:N]])[0]}


def test_classifier_reaches_99_percent(mnist_images, classifier):
    _, _, test_x, test_y = mnist_images
    assert accuracy(classifier, test_x, test_y) >= 0.99


def test_frechet_distance_of_known_gaussians():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 3, generator=generator, dtype=torch.float64)
    b = torch.randn(200_000, 3, generator=generator, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5]) + 1.0
    # diagonal covariances: ||mu_a - mu_b||^2 + sum (s_a - s_b)^2 = 3 + (0 + 1 + 0.25)
    assert sq.frechet_distance(a, b) == pytest.approx(4.25, rel=0.02)
    assert sq.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def corrupted(classifier, images, kind, strength):
    if kind == "noise":
        generator = torch.Generator().manual_seed(1)
        images = (images + strength * torch.randn(images.shape, generator=generator)).clamp(-1, 1)
    else:
        images = gaussian_blur(images, kernel_size=9, sigma=strength)
    return sq.classifier_outputs(classifier, images)[0]


@pytest.mark.parametrize("kind, strengths", [("noise", [0.2, 0.5, 1.0]), ("blur", [0.7, 1.2, 2.0])])
def test_fd_and_kid_grow_with_corruption(mnist_images, classifier, features, kind, strengths):
    test_x = mnist_images[2][:N]
    floor_fd = sq.frechet_distance(features["train"], features["test"])
    floor_kid = sq.kernel_inception_distance(features["train"], features["test"])[0]
    fds, kids = [floor_fd], [floor_kid]
    for strength in strengths:
        f = corrupted(classifier, test_x, kind, strength)
        fds.append(sq.frechet_distance(features["train"], f))
        kids.append(sq.kernel_inception_distance(features["train"], f)[0])
    assert fds == sorted(fds) and kids == sorted(kids), (fds, kids)
    assert fds[-1] > 10 * floor_fd and kids[-1] > 10 * max(floor_kid, 1e-4)


def test_real_against_real_is_near_the_floor(features):
    fd = sq.frechet_distance(features["train"], features["test"])
    kid, _ = sq.kernel_inception_distance(features["train"], features["test"])
    precision, recall = sq.precision_recall(features["train"], features["test"])
    assert kid < 0.01 and precision > 0.7 and recall > 0.7
    assert fd < 0.05 * sq.frechet_distance(features["train"], torch.zeros_like(features["test"]) + features["test"].mean(0))


def test_a_one_class_generator_is_caught(mnist_images, classifier, features):
    test_x, test_y = mnist_images[2], mnist_images[3]
    ones = test_x[test_y == 1][:1000]
    f, logits = sq.classifier_outputs(classifier, ones)
    coverage = sq.class_coverage(logits)
    assert coverage["coverage_classes"] == 1 and coverage["entropy_nats"] < 0.2
    precision, recall = sq.precision_recall(features["train"], f)
    assert recall < 0.25 and precision > 0.7
    real = sq.class_coverage(sq.classifier_outputs(classifier, test_x[:N])[1])
    assert real["coverage_classes"] == 10 and real["entropy_nats"] > 2.25


def test_ndb_counts_different_bins(mnist_images):
    train_x, train_y, test_x, test_y = mnist_images
    generator = torch.Generator().manual_seed(0)  # random subsets: MNIST's files are ordered by writer
    reference = train_x[torch.randperm(len(train_x), generator=generator)[:10_000]]
    same = sq.ndb(reference, test_x[torch.randperm(len(test_x), generator=generator)[:1000]], bins=20)
    ones = sq.ndb(reference, test_x[test_y == 1][:1000], bins=20)
    assert same["ndb"] <= 4 and ones["ndb"] >= 15, (same["ndb"], ones["ndb"])


def test_the_evaluator_scores_real_data_near_the_floor(mnist_images, classifier):
    train_x, _, test_x, _ = mnist_images
    evaluator = sq.MNISTEvaluator(classifier, test_x[:5000], train_x)
    real = evaluator.evaluate(train_x[torch.randperm(len(train_x), generator=torch.Generator().manual_seed(3))[:5000]])
    noisy = evaluator.evaluate((train_x[:5000] + 0.5 * torch.randn(5000, 1, 28, 28)).clamp(-1, 1))
    assert real["coverage_classes"] == 10 and real["ndb"] <= 8 and real["precision"] > 0.7
    assert noisy["fd_classifier"] > 10 * real["fd_classifier"] and noisy["ndb"] > real["ndb"]


# ----------------------------------------------------------------------------- the second reader


def test_the_second_reader_loads_with_the_first_readers_interface():
    from course_utils.models.classifiers import ResidualClassifier

    second = sq.load_classifier(name="mnist_classifier2")
    first = sq.load_classifier()
    assert isinstance(second, ResidualClassifier) and not second.training
    x = torch.rand(7, 1, 28, 28) * 2 - 1
    features, logits = sq.classifier_outputs(second, x)
    assert features.shape == (7, second.cfg.widths[-1]) and logits.shape == (7, 10)
    assert second(x).shape == (7, 10)
    # another family: no BatchNorm, no max-pooling, residual blocks, global average pooling
    layers = {type(m).__name__ for m in second.modules()}
    assert {"BatchNorm2d", "BatchNorm1d", "MaxPool2d"}.isdisjoint(layers) and "ResidualBlock" in layers
    assert {"BatchNorm2d", "MaxPool2d"} <= {type(m).__name__ for m in first.modules()}


def test_the_second_reader_is_checked_like_the_first(mnist_images):
    from course_utils.checkpoints import read_manifest

    entry = read_manifest()["mnist_classifier2"]
    assert entry["metrics"]["test_accuracy"] >= 0.99 and entry["metrics"]["validation_accuracy"] >= 0.99
    assert str(entry["train_config"]["epochs"]) in entry["train_config"]["validation_accuracy_by_epochs"]
    _, _, test_x, test_y = mnist_images
    measured = accuracy(sq.load_classifier(name="mnist_classifier2"), test_x, test_y)
    assert measured == pytest.approx(entry["metrics"]["test_accuracy"], abs=2e-3)


def test_the_validation_split_is_the_end_of_mnist_train(mnist_images):
    from course_utils.data import mnist_train_validation

    split = mnist_train_validation()
    assert len(split["val_x"]) == 5000 and len(split["train_x"]) == 55_000
    assert torch.bincount(split["val_y"], minlength=10).min() > 400  # every digit is there
    train_x, train_y = mnist_tensors(train=True)
    assert torch.equal(split["val_x"], train_x[55_000:]) and torch.equal(split["train_y"], train_y[:55_000])


def test_random_distortion_keeps_the_range_and_the_background():
    from course_utils.models.classifiers import random_distortion

    x = -torch.ones(16, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    y = random_distortion(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= -1 - 1e-6 and y.max() <= 1 + 1e-6
    assert (y[:, :, :3] == -1).all()  # the border stays background after shifts and rotations
    assert not torch.equal(y, x)


# ----------------------------------------------------------------------------- exact references on hand-made data
# These need neither MNIST nor a trained network, so they run in a few milliseconds each.


class PixelReader(torch.nn.Module):
    """A stand-in reader whose answer is known by construction: the digit is the brightest of an image's first
    ten pixels (features = those pixels, head = the identity)."""

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(10, 10)
        with torch.no_grad():
            self.head.weight.copy_(torch.eye(10))
            self.head.bias.zero_()

    def features(self, x):
        return x.flatten(1)[:, :10]


def digit_images(digits):
    """Blank images (-1) with pixel (0, d) lit (+1): PixelReader reads each as digit d."""
    images = -torch.ones(len(digits), 1, 28, 28)
    images[torch.arange(len(digits)), 0, 0, torch.as_tensor(digits)] = 1.0
    return images


def test_classifier_outputs_are_float64_rows_in_order_whatever_the_batch_size():
    images = digit_images([3, 1, 4, 1, 5, 9, 2])
    features, logits = sq.classifier_outputs(PixelReader(), images, batch_size=3)  # chunks of 3, 3 and 1
    assert features.dtype == logits.dtype == torch.float64 and logits.shape == (7, 10)
    assert logits.argmax(1).tolist() == [3, 1, 4, 1, 5, 9, 2]
    assert torch.equal(features, images.flatten(1)[:, :10].double())
    assert torch.equal(sq.classifier_outputs(PixelReader(), images)[1], logits)


@pytest.mark.parametrize("images, message", [
    (np.zeros((4, 1, 28, 28)), r"^my_metric needs a tensor of images \(N, 1, 28, 28\); got a ndarray$"),
    (torch.zeros(4, 3, 28, 28), r"^my_metric reads .*got \(4, 3, 28, 28\); for RGB images use data\.rgb_to_grey"),
    (torch.zeros(4, 1, 32, 32), r"got \(4, 1, 32, 32\); the readers were trained on 28x28 MNIST digits"),
    (torch.zeros(0, 1, 28, 28), r"^my_metric reads at least one grey 28x28 image, shape \(N, 1, 28, 28\); "
                                r"got \(0, 1, 28, 28\)$"),  # no hint: nothing to resize
    (torch.zeros(4, 28, 28), r"got \(4, 28, 28\); add the channel axis: images\[:, None\]$"),
    (torch.zeros(4, 784), r"got \(4, 784\); reshape flat images with images\.reshape\(-1, 1, 28, 28\)$"),
    (torch.zeros(4, 785), r"got \(4, 785\)$"),
    (torch.zeros(4, 3, 28), r"got \(4, 3, 28\)$"),
    (torch.zeros(1, 4, 1, 28, 28), r"got \(1, 4, 1, 28, 28\)$"),
    (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), r"^my_metric needs float images in \[-1, 1\]; got torch\.uint8 "
                                                   r"\(for uint8 pixels in \[0, 255\] use data\.to_signed_unit"),
    (torch.full((4, 1, 28, 28), float("inf")), r"^my_metric got images holding NaN or inf"),
    (torch.full((4, 1, 28, 28), float("nan")), r"NaN or inf"),
    (torch.linspace(-1, 2.5, 4 * 784).reshape(4, 1, 28, 28),
     r"^my_metric needs images in \[-1, 1\] .*got values from -1 to 2\.5\. Pixels in \[0, 255\]"),
])
def test_check_mnist_images_says_what_is_wrong_and_what_to_do(images, message):
    with pytest.raises((TypeError, ValueError), match=message) as error:
        sq.check_mnist_images(images, caller="my_metric")
    assert error.type is (TypeError if isinstance(images, np.ndarray) else ValueError)


def test_check_mnist_images_allows_rounding_slack_beyond_the_range_and_no_more():
    # the slack is RANGE_TOLERANCE = 1e-3: half of it passes on either side, twice it does not
    for value in (1.0005, -1.0005, 1.0, -1.0):
        sq.check_mnist_images(torch.full((1, 1, 28, 28), value))
    for value, shown in ((1.002, "from 1.002 to 1.002"), (-1.002, "from -1.002 to -1.002")):
        with pytest.raises(ValueError, match=f"^classifier_outputs needs images .*{shown}"):
            sq.check_mnist_images(torch.full((1, 1, 28, 28), value))


def test_feature_checks_name_the_argument_and_what_is_expected():
    with pytest.raises(ValueError, match=r"^reference must be a feature matrix \(n, d\), one row per sample; "
                                         r"got shape \(8,\)$"):
        sq.check_features(torch.zeros(8), 2, "why", name="reference")
    with pytest.raises(ValueError, match=r"^features needs at least 3 samples \(a reason\); got 2$"):
        sq.check_features(torch.zeros(2, 4), 3, "a reason")
    checked = sq.check_features(np.ones((3, 4), dtype=np.float32), 3, "a reason")  # numpy in, float64 out
    assert checked.dtype == torch.float64 and checked.shape == (3, 4)
    with pytest.raises(ValueError, match=r"^real and fake must have the same feature size d \(features of the same "
                                         r"network\); got d = 4 and d = 5$"):
        sq.check_feature_sets(torch.zeros(3, 4), torch.zeros(3, 5), 2, "why", names=("real", "fake"))
    with pytest.raises(ValueError, match=r"^features_b needs at least 2 samples \(why\); got 1$"):
        sq.check_feature_sets(torch.zeros(3, 4), torch.zeros(1, 4), 2, "why")
    a, b = sq.check_feature_sets(torch.zeros(2, 4, dtype=torch.float32), torch.ones(2, 4), 2, "why")
    assert a.dtype == b.dtype == torch.float64 and torch.equal(b, torch.ones(2, 4, dtype=torch.float64))


def test_feature_statistics_are_the_mean_and_the_unbiased_covariance():
    # x = (0, 0), (2, 0), (1, 3): mean (1, 1); deviations (-1, -1), (1, -1), (0, 2); divided by n - 1 = 2
    mean, cov = sq.feature_statistics(torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 3.0]]))
    assert mean.dtype == cov.dtype == torch.float64
    assert mean.tolist() == [1.0, 1.0]
    assert cov.tolist() == [[1.0, 0.0], [0.0, 3.0]]


def test_frechet_distance_from_stats_refuses_statistics_that_do_not_match():
    with pytest.raises(ValueError, match=r"^mu_a must be a mean vector \(d,\) and cov_a its covariance \(d, d\); "
                                         r"got \(1, 3\) and \(3, 3\)$"):
        sq.frechet_distance_from_stats(torch.zeros(1, 3), torch.eye(3), torch.zeros(3), torch.eye(3))
    with pytest.raises(ValueError, match=r"^mu_b must be .*got \(3,\) and \(3, 2\)$"):
        sq.frechet_distance_from_stats(torch.zeros(3), torch.eye(3), torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"^the two Gaussians must live in the same feature space; got d = 3 and "
                                         r"d = 2$"):
        sq.frechet_distance_from_stats(torch.zeros(3), torch.eye(3), torch.zeros(2), torch.eye(2))


def test_frechet_distance_takes_two_samples_per_set_and_says_why_one_is_not_enough():
    # two samples are the fewest that give a covariance: (1, 1) and (3, 3) have mean (2, 2) and covariance
    # [[2, 2], [2, 2]]; the same set shifted by (1, 0) is at squared distance 1
    pair = torch.tensor([[1.0, 1.0], [3.0, 3.0]])
    assert sq.frechet_distance(pair, pair + torch.tensor([1.0, 0.0])) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"^features_b needs at least 2 samples \(a covariance needs two\); got 1$"):
        sq.frechet_distance(pair, pair[:1])


def test_feature_statistics_takes_two_samples_and_says_why_one_is_not_enough():
    mean, cov = sq.feature_statistics(torch.tensor([[1.0, 1.0], [3.0, 3.0]]))
    assert mean.tolist() == [2.0, 2.0] and cov.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    with pytest.raises(ValueError, match=r"^features needs at least 2 samples \(a covariance needs two\); got 1$"):
        sq.feature_statistics(torch.ones(1, 2))


def test_kid_subsets_are_capped_by_the_smaller_set_on_either_side():
    # every row of `a` is the same, so which rows a subset takes does not matter: KID of 10 copies against 4 points
    # is KID of 4 copies against them (subsets of min(1000, 10, 4) = 4 on both sides)
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.5]])
    a = torch.tensor([[0.5, 0.5]])
    ten, four = (sq.kernel_inception_distance(a.repeat(n, 1), b, subsets=1)[0] for n in (10, 4))
    assert ten == pytest.approx(four, rel=1e-12)


def unbiased_mmd2_cubic(x, y):
    """The unbiased MMD^2 of Binkowski et al. 2018 (eq. 4 with m = n) with k(u, v) = (u.v / d + 1)^3, written
    out pair by pair: a reference that shares no code with kernel_inception_distance."""
    n, d = len(x), x.shape[1]

    def k(u, v):
        return (float(u @ v) / d + 1) ** 3

    same = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    cross = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
    return same - 2 * cross


def test_kid_by_hand():
    # a = {0, 0}, b = {1, 1} (d = 1): k(a, a') = 1, k(b, b') = 2^3 = 8, k(a, b) = 1 -> 1 + 8 - 2 = 7
    assert sq.kernel_inception_distance(torch.zeros(2, 1), torch.ones(2, 1)) == (7.0, 0.0)
    # the same points in d = 2 with u.v / d: still 7 (the kernel divides by the feature size)
    assert sq.kernel_inception_distance(torch.zeros(3, 2), torch.ones(3, 2))[0] == 7.0
    # a = b = {1, -1}: k = 0 within each set, cross mean (8 + 0 + 0 + 8) / 4 = 4 -> 0 + 0 - 8 = -8: the unbiased
    # estimate is not clipped at zero
    pm = torch.tensor([[1.0], [-1.0]])
    assert sq.kernel_inception_distance(pm, pm) == (-8.0, 0.0)


def test_kid_matches_the_pairwise_unbiased_mmd():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(12, 5, generator=generator, dtype=torch.float64)
    y = torch.randn(12, 5, generator=generator, dtype=torch.float64) * 1.3 + 0.4
    expected = unbiased_mmd2_cubic(x, y)
    # subsets of all 12 samples: each subset is the whole set reordered, so every estimate is the same number;
    # the tolerance is float64 rounding of sums of ~300 terms of size ~10 (1e-12 relative leaves 1000x margin)
    mean, std = sq.kernel_inception_distance(x, y, subsets=4)
    assert mean == pytest.approx(expected, rel=1e-12) and std == pytest.approx(0.0, abs=1e-12)
    # unequal sizes: subsets of min(n_a, n_b) rows; b's rows all equal, so any subset of b is the same
    b = y[:1].expand(30, 5)
    assert sq.kernel_inception_distance(x, b, subsets=3) == pytest.approx(
        (unbiased_mmd2_cubic(x, b[:12]), 0.0), rel=1e-12, abs=1e-12)


def test_kid_on_subsets_is_unbiased_for_the_whole_sets_value():
    # subsets drawn without replacement (x and y independently) have the whole sets' U-statistic as their mean,
    # so the mean of many subset estimates lands within a few standard errors of it, on either side
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(30, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(30, 4, generator=generator, dtype=torch.float64) + 0.3
    subsets = 3000
    mean, std = sq.kernel_inception_distance(x, y, subsets=subsets, subset_size=6)
    assert std > 0.1  # six samples per subset: each estimate is noisy
    assert mean == pytest.approx(unbiased_mmd2_cubic(x, y), abs=4 * std / subsets ** 0.5)


def test_kid_protocol_is_10_subsets_of_1000_from_seed_0():
    # the course's KID numbers are the defaults' numbers: reproducible and the protocol of Binkowski et al. 2018
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(1100, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(1100, 4, generator=generator, dtype=torch.float64) + 0.1
    default = sq.kernel_inception_distance(x, y)
    assert default == sq.kernel_inception_distance(x, y, subsets=10, subset_size=1000, seed=0)
    assert default != sq.kernel_inception_distance(x, y, seed=1)
    # a whole set smaller than the subset size is used whole, reordered: no spread between subsets
    assert sq.kernel_inception_distance(x[:50], y[:50])[1] == pytest.approx(0.0, abs=1e-12)


def test_kid_refuses_subsets_it_cannot_average_over():
    x = torch.zeros(5, 2)
    with pytest.raises(ValueError, match=r"^kernel_inception_distance needs subsets >= 1 and subset_size >= 2 \(the "
                                         r"unbiased estimate averages over pairs of distinct samples\); got "
                                         r"subsets=0, subset_size=1000$"):
        sq.kernel_inception_distance(x, x, subsets=0)
    with pytest.raises(ValueError, match=r"got subsets=10, subset_size=1$"):
        sq.kernel_inception_distance(x, x, subset_size=1)
    assert sq.kernel_inception_distance(x, x, subsets=1, subset_size=2) == (0.0, 0.0)  # the smallest allowed
    with pytest.raises(ValueError, match=r"^features_b needs at least 2 samples \(the unbiased estimate averages "
                                         r"over pairs of samples\); got 1$"):
        sq.kernel_inception_distance(x, x[:1])


# real = 0, 1, 2, 3, 4 on a line; fake = 0.2, 0.4, 5.0, 5.1, 6.5, 9.0. Radii (distance to the k-th other point):
#   k=1: real all 1; fake 0.2, 0.2, 0.1, 0.1, 1.4, 2.5
#     precision: 0.2, 0.4 and 5.0 (exactly 1 from 4: the ball is closed) are inside -> 3/6
#     recall: only 0 (exactly 0.2 from 0.2) is inside a fake ball -> 1/5
#   k=2: real 2, 1, 1, 1, 2 -> 5.1 (1.1 from 4) joins -> 4/6; fake 0.2's radius is 4.8 -> recall 5/5
#   k=3: real 3, 2, 2, 2, 3 -> 6.5 (2.5 from 4) joins -> 5/6; recall 5/5
LINE_REAL = [0.0, 1.0, 2.0, 3.0, 4.0]
LINE_FAKE = [0.2, 0.4, 5.0, 5.1, 6.5, 9.0]


@pytest.mark.parametrize("k, expected", [(1, (3 / 6, 1 / 5)), (2, (4 / 6, 1.0)), (3, (5 / 6, 1.0))])
def test_precision_recall_by_hand_on_a_line(k, expected):
    real, fake = torch.tensor(LINE_REAL)[:, None], torch.tensor(LINE_FAKE)[:, None]
    assert sq.precision_recall(real, fake, k=k) == pytest.approx(expected, abs=1e-15)
    # swapping the sets swaps the two numbers: precision asks about fake points, recall about real ones
    assert sq.precision_recall(fake, real, k=k) == pytest.approx(expected[::-1], abs=1e-15)


def test_precision_recall_uses_k_3_by_default_and_refuses_other_ks():
    real, fake = torch.tensor(LINE_REAL)[:, None], torch.tensor(LINE_FAKE)[:, None]
    assert sq.precision_recall(real, fake) == pytest.approx((5 / 6, 1.0), abs=1e-15)  # Kynkaanniemi et al.'s k
    for k in (0, 2.0, "3"):
        with pytest.raises(ValueError, match=rf"^precision_recall needs a whole number k >= 1 of neighbours; got "
                                             rf"k={k!r}$"):
            sq.precision_recall(real, fake, k=k)
    with pytest.raises(ValueError, match=r"^real needs at least 5 samples \(k=4 neighbours besides the sample "
                                         r"itself\); got 4$"):
        sq.precision_recall(real[:4], fake, k=4)
    assert sq.precision_recall(real, fake, k=4)[0] == pytest.approx(5 / 6, abs=1e-15)  # k + 1 = 5 rows: enough


def test_class_coverage_by_hand_and_at_the_threshold():
    # 20 samples read as 10 x digit 0, 9 x digit 1, 1 x digit 2: shares 0.5, 0.45 and exactly 0.05
    logits = torch.nn.functional.one_hot(torch.tensor([0] * 10 + [1] * 9 + [2]), 10).double() * 3 - 1
    coverage = sq.class_coverage(logits)
    assert coverage["histogram"] == pytest.approx([0.5, 0.45, 0.05] + [0.0] * 7, abs=1e-15)
    assert coverage["entropy_nats"] == pytest.approx(
        -(0.5 * math.log(0.5) + 0.45 * math.log(0.45) + 0.05 * math.log(0.05)), rel=1e-12)
    assert coverage["coverage_classes"] == 3  # a class holding exactly the threshold's share counts
    assert sq.class_coverage(logits, threshold=0.051)["coverage_classes"] == 2
    assert sq.class_coverage(logits, threshold=0.46)["coverage_classes"] == 1
    wide = sq.class_coverage(torch.cat([logits, torch.zeros(20, 2)], 1), classes=12)
    assert len(wide["histogram"]) == 12 and wide["coverage_classes"] == 3
    uniform = sq.class_coverage(torch.eye(10).repeat(3, 1))
    assert uniform["entropy_nats"] == pytest.approx(math.log(10), rel=1e-12) and uniform["coverage_classes"] == 10


def test_class_coverage_of_one_class_is_zero_nats_not_minus_zero():
    coverage = sq.class_coverage(torch.eye(10)[[7] * 5])
    assert coverage["entropy_nats"] == 0.0 and math.copysign(1.0, coverage["entropy_nats"]) == 1.0
    assert coverage["coverage_classes"] == 1 and coverage["histogram"][7] == 1.0


def three_clusters(counts, noise=0.0, seed=0):
    """2-D points around (0, 0), (10, 0) and (0, 10), `counts` of each: k-means with 3 cells finds them."""
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = torch.cat([centres[i].expand(c, 2) for i, c in enumerate(counts)])
    return points + noise * torch.randn(points.shape, generator=torch.Generator().manual_seed(seed))


def test_ndb_two_proportion_test_by_hand():
    bins = sq.Bins(three_clusters([100, 100, 100], noise=0.1), bins=3)
    assert sorted(bins.train_share) == pytest.approx([1 / 3] * 3, abs=1e-15)
    # 100 samples split 45 / 30 / 25 against 1/3 each of n1 = 300 training points; pooled p = (100 + c) / 400,
    # z = (1/3 - c/100) / sqrt(p (1 - p) (1/300 + 1/100)): -2.10, 0.62 and 1.56. Two-sided critical values:
    # 1.96 at alpha = 0.05 (one bin), 2.58 at 0.01 (none), 1.04 at 0.3 (two bins)
    samples = three_clusters([45, 30, 25])
    result = bins.compare(samples)
    assert result["ndb"] == 1 and result["ndb_fraction"] == pytest.approx(1 / 3, abs=1e-15)
    assert sorted(result["sample_share"]) == pytest.approx([0.25, 0.30, 0.45], abs=1e-15)
    assert bins.compare(samples, alpha=0.01)["ndb"] == 0
    assert bins.compare(samples, alpha=0.3)["ndb"] == 2
    # the first bin's |z| is 2.102 with the pooled variance (2.143 with the training share's alone): critical
    # values 2.097 (alpha = 0.036) and 2.120 (alpha = 0.034) fall on either side of it
    assert bins.compare(samples, alpha=0.036)["ndb"] == 1 and bins.compare(samples, alpha=0.034)["ndb"] == 0
    assert bins.compare(three_clusters([30, 30, 30]))["ndb"] == 0
    everything_in_one = bins.compare(three_clusters([90, 0, 0]))
    assert everything_in_one["ndb"] == 3 and everything_in_one["ndb_fraction"] == 1.0
    assert sq.ndb(three_clusters([100, 100, 100], noise=0.1), samples, bins=3) == result
    assert sq.ndb(three_clusters([100, 100, 100], noise=0.1), samples, bins=3, alpha=0.01)["ndb"] == 0


def test_ndb_cells_are_reproducible_from_the_seed():
    # uniform points have no natural clusters: k-means' answer depends on its random start, which the seed fixes
    x = torch.rand(400, 2, generator=torch.Generator().manual_seed(0))
    samples = torch.rand(300, 2, generator=torch.Generator().manual_seed(1))
    first, again, other = (sq.Bins(x, bins=8, seed=s).compare(samples) for s in (0, 0, 1))
    assert first == again and first["train_share"] != other["train_share"]
    assert sq.ndb(x, samples, bins=8) == first  # seed 0 by default
    assert sq.ndb(x, samples, bins=8, seed=1) == other


def test_requested_digit_accuracy_by_hand():
    labels = torch.arange(10).repeat_interleave(2)  # 0, 0, 1, 1, ..., 9, 9
    shown = labels.clone()
    shown[[6, 7]] = 5  # both 3s read as 5
    shown[14] = 1      # one 7 read as 1
    overall, per_digit = sq.requested_digit_accuracy(PixelReader(), digit_images(shown), labels)
    assert overall == pytest.approx(17 / 20, abs=1e-7)  # float32 means
    assert per_digit == pytest.approx([1, 1, 1, 0, 1, 1, 1, 0.5, 1, 1], abs=1e-7)


def test_the_second_readers_coverage_under_its_own_keys():
    images = digit_images([0, 0, 1, 1, 2, 2])
    assert sq.reader2_coverage(PixelReader(), images) == {
        "coverage_classes_reader2": 3, "class_entropy_nats_reader2": pytest.approx(math.log(3), rel=1e-12),
        "class_histogram_reader2": [0.3333, 0.3333, 0.3333] + [0.0] * 7}  # rounded to 4 decimals


def test_the_evaluators_report_on_a_known_reader():
    # 40 real images of the ten digits, 4 each; the samples show only digits 0 and 1, 20 each
    real = digit_images(list(range(10)) * 4)
    samples = digit_images([0, 1] * 20)
    evaluator = sq.MNISTEvaluator(PixelReader(), real, real, ndb_bins=5, second_reader=PixelReader())
    report = evaluator.evaluate(samples)
    assert report["coverage_classes"] == report["coverage_classes_reader2"] == 2
    assert report["class_histogram"] == report["class_histogram_reader2"] == [0.5, 0.5] + [0.0] * 8
    assert report["class_entropy_nats"] == pytest.approx(math.log(2), rel=1e-12)
    assert report["ndb_bins"] == 5 and report["precision"] == 1.0 and report["recall"] == 0.2
    assert report["fd_classifier"] == pytest.approx(sq.frechet_distance(real.flatten(1)[:, :10],
                                                                        samples.flatten(1)[:, :10]), rel=1e-12)
    assert report["kid_classifier"] == sq.kernel_inception_distance(real.flatten(1)[:, :10],
                                                                    samples.flatten(1)[:, :10])[0]
    assert set(report) == {"fd_classifier", "kid_classifier", "precision", "recall", "coverage_classes",
                           "class_entropy_nats", "class_histogram", "ndb", "ndb_bins", "coverage_classes_reader2",
                           "class_entropy_nats_reader2", "class_histogram_reader2"}
    assert "coverage_classes_reader2" not in sq.MNISTEvaluator(PixelReader(), real, real, ndb_bins=5).evaluate(samples)
    # the course's NDB uses 50 cells unless told otherwise
    train = torch.rand(60, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert sq.MNISTEvaluator(PixelReader(), real, train).evaluate(samples)["ndb_bins"] == 50


def test_the_evaluators_ndb_cells_come_from_a_seeded_random_10000_training_images():
    # half the training "images" are 0 and half 1: the share of ones among the 10,000 drawn shows which were drawn
    real = digit_images(list(range(10)))
    train = torch.cat([torch.zeros(10_000, 1), torch.ones(10_000, 1)]).double()

    def cells(**kwargs):
        bins = sq.MNISTEvaluator(PixelReader(), real, train, ndb_bins=2, **kwargs).bins
        return bins.count, sorted(bins.train_share)

    default = cells()
    assert default[0] == 10_000 and default[1] != [0.5, 0.5]  # a random draw, not the first or last 10,000
    assert default == cells(seed=0) and default != cells(seed=1)


def test_gmm_images_are_the_mixtures_samples_clipped_to_the_pixel_range():
    from course_utils.models.gmm import DiagonalGMM

    gmm = DiagonalGMM(components=3, dim=784)
    gmm.means.copy_(torch.tensor([0.25, 1.7, -0.3])[:, None].expand(3, 784))  # in range, above, below
    gmm.variances.zero_()  # every sample is its component's mean
    images = sq.gmm_images(gmm, n=300)
    assert images.shape == (300, 1, 28, 28) and images.dtype == torch.float32
    per_image = images.flatten(1)
    assert (per_image == per_image[:, :1]).all()
    # 0.25 -> 2 * 0.25 - 1 = -0.5; 1.7 clipped to 1 -> 1; -0.3 clipped to 0 -> -1; equal weights
    values, counts = per_image[:, 0].unique(return_counts=True)
    assert values.tolist() == [-1.0, -0.5, 1.0] and counts.min() > 70  # 100 expected, binomial sd 8
    assert torch.equal(images, sq.gmm_images(gmm, n=300, seed=1))  # the fixed seed the notebooks use
    assert not torch.equal(images, sq.gmm_images(gmm, n=300, seed=2))
    assert len(sq.gmm_images(gmm)) == 10_000


# ----------------------------------------------------------------------------- the committed readers and the evaluator


@pytest.mark.parametrize("name", ["mnist_classifier", "mnist_classifier2"])
def test_load_classifier_builds_each_reader_from_its_manifest_entry(mnist_images, name):
    from course_utils.checkpoints import read_manifest

    entry = read_manifest()[name]
    model = sq.load_classifier(name=name) if name == "mnist_classifier2" else sq.load_classifier()
    assert f"{type(model).__module__}.{type(model).__name__}" == entry["model"]
    assert model.config_dict() == entry["config"] and not model.training
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in model.parameters())
    _, _, test_x, test_y = mnist_images
    # the manifest's test accuracy is 99.5%: about 5 errors in these 1000 images (binomial sd 2.2); 20 would be
    # 7 sd away, while weights left untrained or mixed up read about 10% right
    assert accuracy(model, test_x[:1000], test_y[:1000]) >= 0.98


def test_load_classifier_names_the_weights_it_cannot_find():
    from course_utils.checkpoints import CheckpointError

    with pytest.raises(CheckpointError, match="no pretrained weights named 'mnist_classifier9'"):
        sq.load_classifier(name="mnist_classifier9")


def test_mnist_evaluator_reads_the_test_set_with_both_readers(mnist_images, monkeypatch):
    from course_utils.models.classifiers import ResidualClassifier

    # what the evaluator is built from, recorded instead of computed (its features and k-means take minutes on
    # two busy cores; the tests above check what MNISTEvaluator does with them)
    built = {}
    monkeypatch.setattr(sq, "MNISTEvaluator", lambda *args, **kwargs: built.update(args=args, kwargs=kwargs))
    sq.mnist_evaluator()
    (classifier, test_images, train_images), second_reader = built["args"], built["kwargs"].pop("second_reader")
    assert built["kwargs"] == {}  # the default cells: 50, seed 0
    assert type(classifier) is MNISTClassifier and type(second_reader) is ResidualClassifier
    assert not classifier.training and not second_reader.training
    train_x, _, test_x, _ = mnist_images  # the images in [-1, 1]: test set to score against, training set for NDB
    assert torch.equal(test_images, test_x) and torch.equal(train_images, train_x)


def test_the_evaluators_k_means_start_follows_its_seed():
    # uniform points have no natural clusters, so the cells depend on k-means' random start: the evaluator's seed
    # must reach it (an unseeded start would give other NDB cells, and other NDB counts, on every run)
    train = torch.rand(10_000, 2, generator=torch.Generator().manual_seed(0)).double()
    evaluator = sq.MNISTEvaluator(PixelReader(), digit_images(list(range(10))), train, ndb_bins=8, seed=3)
    drawn = train[torch.randperm(10_000, generator=torch.Generator().manual_seed(3))]
    assert np.array_equal(evaluator.bins.kmeans.cluster_centers_, sq.Bins(drawn, 8, seed=3).kmeans.cluster_centers_)
    assert not np.allclose(evaluator.bins.kmeans.cluster_centers_, sq.Bins(drawn, 8, seed=0).kmeans.cluster_centers_)
