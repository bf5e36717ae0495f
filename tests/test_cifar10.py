"""CIFAR-10 loading: the mirror's PNGs become verified uint8 tensors, cached; bad input is explained."""

import shutil

import pytest
import torch

from course_utils import data
from course_utils.data import loading


def test_cifar10_offline_without_mirror_gives_a_clear_error(data_cache, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.cifar10_tensors(train=False)
    message = str(info.value)
    assert "CIFAR-10" in message and str(data_cache) in message
    assert "COURSE_DATA_MIRROR" in message and "cifar-10-python.tar.gz" in message
    assert "cifar-10-batches-py/" in message and "unset COURSE_OFFLINE (now '1')" in message


def test_a_failed_cifar10_download_gives_its_cause_in_full(data_cache, monkeypatch):
    from urllib.error import URLError

    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)

    def no_network(split, download):
        if download:
            raise URLError(OSError(-3, "Temporary failure in name resolution"))
        return None

    monkeypatch.setattr(loading, "_cifar10_from_torchvision", no_network)  # never touches the network
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.cifar10_tensors(train=False)
    message = str(info.value)
    assert "URLError: <urlopen error [Errno -3] Temporary failure in name resolution>" in message
    assert "check the network connection" in message
    assert "COURSE_OFFLINE" not in message  # it was not set: no advice about it


def fake_cifar10_archive(path, count=20):
    """A tarball in torchvision's CIFAR-10 layout with `count` random images per batch; returns the
    test images (N, 3, 32, 32), the test labels and the MD5 of each member, to stand in for the real ones."""
    import hashlib
    import io
    import pickle
    import tarfile

    import numpy as np

    rng = np.random.default_rng(0)
    members, md5 = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        pixels = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, count).tolist()
        members[name] = pickle.dumps({"data": pixels, "labels": labels})
        if name == "test_batch":
            test = torch.from_numpy(pixels.reshape(count, 3, 32, 32)), torch.tensor(labels)
    members["batches.meta"] = pickle.dumps({"label_names": list(data.CIFAR10_CLASSES)})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
            md5[name] = hashlib.md5(blob).hexdigest()
    return test, md5


@pytest.fixture
def fake_archive_checksums(monkeypatch):
    """Make the course and torchvision accept the fake archive's checksums instead of the real ones."""
    from torchvision import datasets

    def accept(archive, md5):
        monkeypatch.setattr(loading, "CIFAR10_ARCHIVE_MD5", data.md5sum(archive))
        monkeypatch.setattr(datasets.CIFAR10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]]
                                                             for i in range(1, 6)])
        monkeypatch.setattr(datasets.CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
        monkeypatch.setattr(datasets.CIFAR10, "meta", {**datasets.CIFAR10.meta, "md5": md5["batches.meta"]})
    return accept


@pytest.mark.parametrize("where", ["cache", "mirror"])
def test_the_archive_is_checked_and_unpacked_into_the_cache(data_cache, tmp_path, monkeypatch,
                                                            fake_archive_checksums, where):
    """With COURSE_OFFLINE=1, torchvision reads only the unpacked cifar-10-batches-py/: the archive is unpacked."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = (data_cache if where == "cache" else mirror) / "cifar-10-python.tar.gz"
    (expected_images, expected_labels), md5 = fake_cifar10_archive(archive)
    fake_archive_checksums(archive, md5)
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    before = sorted((p, p.stat().st_mtime) for p in mirror.rglob("*"))
    images, labels = data.cifar10_tensors(train=False)
    assert torch.equal(images, expected_images) and torch.equal(labels, expected_labels)
    assert (data_cache / "cifar-10-batches-py" / "test_batch").is_file()
    assert before == sorted((p, p.stat().st_mtime) for p in mirror.rglob("*"))  # nothing written into the mirror
    assert not list(data_cache.glob("*.partial"))
    assert data.cifar10_tensors(train=True)[0].shape == (100, 3, 32, 32)  # five training batches of 20


def test_a_damaged_archive_is_refused_before_unpacking(data_cache, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(b"not the real archive")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetNotFoundError, match="fails its MD5 check.*the mirror is damaged"):
        data.cifar10_tensors(train=False)
    assert not (data_cache / "cifar-10-batches-py").exists()


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
