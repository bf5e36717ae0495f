"""Bad input to the metrics is refused with a message that says what is expected, instead of a wrong number
or an error from deep inside torch."""

import pytest
import torch

from course_utils import sample_quality as sq
from course_utils.fid import fid_kid
from course_utils.models.classifiers import MNISTClassifier


@pytest.fixture(scope="module")
def reader():
    torch.manual_seed(0)
    return MNISTClassifier().eval()  # untrained: only shapes and checks matter here


def signed_images(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_well_formed_images_are_read(reader):
    features, logits = sq.classifier_outputs(reader, signed_images(5, 1, 28, 28))
    assert features.shape[0] == 5 and logits.shape == (5, 10)


@pytest.mark.parametrize("images, expected", [
    (signed_images(4, 3, 28, 28), r"\(N, 1, 28, 28\); got \(4, 3, 28, 28\); for RGB images use data.rgb_to_grey"),
    (signed_images(4, 1, 32, 32), r"got \(4, 1, 32, 32\); .*resize or crop to 28x28"),
    (signed_images(1, 1, 32, 32), r"got \(1, 1, 32, 32\); .*resize or crop to 28x28"),  # one image: the same hint
    (torch.rand(4, 1, 28, 28) + 0.5,  # the whole advice, to its last character
     r"Pixels in \[0, 255\]: use data\.to_signed_unit\(images\); in \[0, 1\]: images \* 2 - 1$"),
    (signed_images(4, 28, 28), r"got \(4, 28, 28\); add the channel axis"),
    (signed_images(4, 784), r"reshape\(-1, 1, 28, 28\)"),
    (signed_images(0, 1, 28, 28), r"at least one"),
    (torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8), r"float images in \[-1, 1\]; got torch.uint8.*to_signed_unit"),
    (torch.rand(4, 1, 28, 28) * 255, r"in \[-1, 1\].*got values from .* to 2\d\d.*to_signed_unit"),
    (torch.full((4, 1, 28, 28), float("nan")), r"NaN or inf"),
])
def test_classifier_outputs_refuses_what_the_reader_cannot_read(reader, images, expected):
    with pytest.raises(ValueError, match=expected):
        sq.classifier_outputs(reader, images)


def features(n, d, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_feature_sizes_that_differ_are_named():
    with pytest.raises(ValueError, match="features and reference must have the same feature size d.*16.*8"):
        fid_kid(features(50, 16), features(50, 8))
    with pytest.raises(ValueError, match="same feature size"):
        sq.frechet_distance(features(50, 16), features(50, 8))
    with pytest.raises(ValueError, match="same feature size"):
        sq.kernel_inception_distance(features(50, 16), features(50, 8))
    with pytest.raises(ValueError, match="real and fake must have the same feature size"):
        sq.precision_recall(features(50, 16), features(50, 8))
    with pytest.raises(ValueError, match="same feature space"):
        sq.frechet_distance_from_stats(torch.zeros(3), torch.eye(3), torch.zeros(2), torch.eye(2))


def test_one_sample_is_too_few():
    with pytest.raises(ValueError, match="features needs at least 2 samples.*got 1"):
        fid_kid(features(1, 8), features(50, 8))
    with pytest.raises(ValueError, match="features_b needs at least 2 samples"):
        sq.frechet_distance(features(50, 8), features(1, 8))
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        sq.frechet_distance(features(50, 8), torch.zeros(8))


def test_kid_subsets_of_one_are_refused_not_nan():
    with pytest.raises(ValueError, match="subset_size >= 2.*got subsets=10, subset_size=1"):
        sq.kernel_inception_distance(features(50, 8), features(50, 8, seed=1), subset_size=1)
    with pytest.raises(ValueError, match="subsets >= 1"):
        sq.kernel_inception_distance(features(50, 8), features(50, 8, seed=1), subsets=0)
    kid, kid_std = sq.kernel_inception_distance(features(50, 8), features(50, 8, seed=1), subset_size=2)
    assert kid == kid and kid_std == kid_std  # two samples per subset: a number, not NaN


@pytest.mark.parametrize("k, n_real, n_fake, expected", [
    (3, 3, 50, "real needs at least 4 samples"), (3, 50, 2, "fake needs at least 4 samples"),
    (0, 50, 50, "k >= 1"), (2.5, 50, 50, "whole number"),
])
def test_precision_recall_with_k_too_large_for_the_samples(k, n_real, n_fake, expected):
    with pytest.raises(ValueError, match=expected):
        sq.precision_recall(features(n_real, 8), features(n_fake, 8, seed=1), k=k)


def test_precision_recall_at_the_smallest_size():
    precision, recall = sq.precision_recall(features(4, 8), features(4, 8, seed=1), k=3)
    assert 0 <= precision <= 1 and 0 <= recall <= 1
