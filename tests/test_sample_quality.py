"""Each sample-quality metric validated before it is trusted: real-vs-real near the floor, worse with damage."""

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
