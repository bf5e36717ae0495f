"""CIFAR-10 loading: the mirror's PNGs become verified uint8 tensors, cached; bad input is explained."""

import shutil

import pytest
import torch

from course_utils import data


def test_cifar10_offline_without_mirror_gives_a_clear_error(data_cache, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.cifar10_tensors(train=False)
    message = str(info.value)
    assert "CIFAR-10" in message and str(data_cache) in message
    assert "COURSE_DATA_MIRROR" in message and "cifar-10-python.tar.gz" in message


def small_mirror(tmp_path, mirror, count: int):
    """A copy of the first `count` test PNGs of each class: a mirror whose pixels fail the checksum."""
    for name in data.CIFAR10_CLASSES:
        target = tmp_path / "mirror" / "cifar10" / "test" / name
        target.mkdir(parents=True)
        for path in sorted((mirror / "cifar10" / "test" / name).glob("*.png"))[:count]:
            shutil.copy(path, target / path.name)
    return tmp_path / "mirror"


def test_an_incomplete_mirror_is_refused(data_cache, cifar10_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(small_mirror(tmp_path, cifar10_mirror, 3)))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetNotFoundError, match="SHA-256"):
        data.cifar10_tensors(train=False)
    assert not (data_cache / "cifar10" / "test.safetensors").exists()


def test_cifar10_test_split_from_the_mirror_is_cached_and_verified(data_cache, cifar10_mirror):
    images, labels = data.cifar10_tensors(train=False)
    assert images.shape == (1000, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.shape == (1000,) and labels.bincount().tolist() == [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]
    assert labels[:5].tolist() == [3, 8, 8, 0, 6]  # cat, ship, ship, airplane, frog: CIFAR-10's test order
    cache = data_cache / "cifar10" / "test.safetensors"
    assert cache.is_file()
    again, _ = data.cifar10_tensors(train=False)  # from the cache now
    assert torch.equal(images, again)

    dataset = data.cifar10(train=False)
    x, y = dataset[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and -1 <= x.min() < x.max() <= 1 and y == 3
    assert dataset.classes[y] == "cat"

    raw = bytearray(cache.read_bytes())
    raw[-1000] ^= 0xFF  # flip one pixel byte
    cache.write_bytes(bytes(raw))
    with pytest.raises(data.DatasetNotFoundError, match="delete it"):
        data.cifar10_tensors(train=False)


def test_image_sampler_draws_signed_batches_on_the_device():
    images = torch.randint(0, 256, (50, 3, 8, 8), dtype=torch.uint8)
    sample = data.image_sampler(images, "cpu", channels_last=True, generator=torch.Generator().manual_seed(0))
    batch = sample(16)
    assert batch.shape == (16, 3, 8, 8) and batch.dtype == torch.float32
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert -1 <= batch.min() and batch.max() <= 1
    rows = {tuple(data.to_uint8(b).flatten().tolist()) for b in batch}
    assert rows <= {tuple(img.flatten().tolist()) for img in images}
