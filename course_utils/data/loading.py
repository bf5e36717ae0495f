"""Real datasets (MNIST, CIFAR-10) from the cache, a mirror or the network, verified by checksum.

Real datasets are found in this order:

1. the cache folder ``COURSE_DATA`` (default: ``<repo>/data``), where they are kept once found;
2. a read-only mirror ``COURSE_DATA_MIRROR`` holding the original archives (copied, never written);
3. the network, through torchvision's own download (skipped when ``COURSE_OFFLINE=1``).

Every archive is checked against its published MD5. When all three fail, the error names the
dataset, the files, the folder to put them in and the environment variables.

CIFAR-10 is read from torchvision's archive (unpacked into the cache once it passes its MD5) or,
where a mirror holds it as PNG class folders (ImageFolder layout) instead, from those PNGs: decoded
once, checked against the SHA-256 of the original pixel bytes. Either way it is cached as one uint8
tensor file (see `cifar10_tensors`).

The images come out as uint8 tensors; `to_signed_unit` maps them to [-1, 1] (a Tanh generator's
range) and the samplers draw random batches for the trainers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..budget import env_flag


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in neither the cache, nor the mirror, nor reachable on the network."""


@dataclass(frozen=True)
class ArchiveSpec:
    """Where a dataset's original archives live, relative to the cache and the mirror."""

    name: str
    folder: str  # relative to the cache and to the mirror, e.g. "MNIST/raw"
    md5: dict[str, str]  # file name -> published MD5
    source: str  # where a person with network can get the files


MNIST_ARCHIVES = ArchiveSpec(
    name="MNIST",
    folder="MNIST/raw",
    md5={  # the checksums torchvision verifies
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    source="https://ossci-datasets.s3.amazonaws.com/mnist/ (torchvision's mirror)",
)


def data_root() -> Path:
    """The cache folder: $COURSE_DATA, else <repo>/data beside course_utils."""
    if os.environ.get("COURSE_DATA"):
        return Path(os.environ["COURSE_DATA"]).expanduser()
    return Path(__file__).resolve().parents[2] / "data"  # <repo>/course_utils/data/loading.py -> <repo>/data


def mirror_root() -> Path | None:
    """The read-only mirror folder from $COURSE_DATA_MIRROR, if set."""
    value = os.environ.get("COURSE_DATA_MIRROR")
    return Path(value).expanduser() if value else None


def offline() -> bool:
    """True when COURSE_OFFLINE=1 forbids network downloads (spellings as for COURSE_FAST: see `env_flag`)."""
    return env_flag("COURSE_OFFLINE")


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of a file ("md5", "sha256", ...), read in 1 MiB chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5sum(path: Path) -> str:
    """The MD5 of a file (the checksum torchvision publishes for its datasets)."""
    return file_hash(path, "md5")


def _missing(spec: ArchiveSpec, folder: Path) -> list[str]:
    return [name for name, md5 in spec.md5.items()
            if not (folder / name).is_file() or md5sum(folder / name) != md5]


def describe_error(error: BaseException, indent: str = "    ") -> str:
    """An exception in full, for an error message: its type and every line of its message, then its causes'."""
    parts, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        lines = [line.rstrip() for line in str(error).strip().splitlines() if line.strip()]
        parts.append(type(error).__name__ + (": " + f"\n{indent}".join(lines) if lines else ""))
        error = error.__cause__ if error.__cause__ is not None else (
            None if error.__suppress_context__ else error.__context__)
    return f"\n{indent}caused by ".join(parts)


def download_allowed(download: bool | None) -> bool:
    """Whether a loader may use the network: as `download` says, or when it is None, unless COURSE_OFFLINE is on."""
    return not offline() if download is None else download


def _download_advice(download: bool | None, downloaded: bool) -> str:
    """The last line of a not-found message: what to change about downloading, true to the call's settings."""
    if downloaded:
        return "  or check the network connection and try again"
    if download is False:
        return "  or pass download=True on a machine with network"
    if offline():
        return (f"  or unset COURSE_OFFLINE (now {os.environ.get('COURSE_OFFLINE')!r}) on a machine with network, "
                "or pass download=True")
    return "  or pass download=True on a machine with network"


def _not_found_message(spec: ArchiveSpec, missing: list[str], reason: str, downloaded: bool = False,
                       download: bool | None = None) -> str:
    cache = data_root() / spec.folder
    mirror = mirror_root()
    return (
        f"{spec.name} is not available: {reason}\n"
        f"  files needed: {', '.join(missing)}\n"
        f"  put them in:  {cache}  (the cache; set COURSE_DATA to move it)\n"
        f"  or set COURSE_DATA_MIRROR to a folder holding {spec.folder}/ (now: {mirror or 'unset'})\n"
        f"{_download_advice(download, downloaded)}; source: {spec.source}"
    )


def ensure_archives(spec: ArchiveSpec, fetch: Callable[[Path], None], download: bool | None = None) -> Path:
    """Make the archives of `spec` present and verified in the cache; return the cache root.

    `fetch(root)` downloads into the cache (torchvision's own download); it runs only when the
    cache and the mirror lack a file and downloading is allowed.
    """
    root = data_root()
    folder = root / spec.folder
    missing = _missing(spec, folder)
    mirror = mirror_root()
    if missing and mirror is not None:
        for name in missing:
            source = mirror / spec.folder / name
            if not source.is_file():
                continue
            if md5sum(source) != spec.md5[name]:
                raise DatasetNotFoundError(_not_found_message(
                    spec, [name], f"the mirror's copy {source} fails its MD5 check (expected "
                    f"{spec.md5[name]}); the mirror is damaged, replace that file"))
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f"{name}.{os.getpid()}.partial"  # one per process: two kernels may copy at once
            shutil.copyfile(source, partial)  # read from the mirror, never write into it
            partial.replace(folder / name)
        missing = _missing(spec, folder)
    if missing:
        if not download_allowed(download):
            raise DatasetNotFoundError(_not_found_message(
                spec, missing, "it is not in the cache or the mirror, and downloading is off", download=download))
        try:
            fetch(root)
        except Exception as error:  # any network failure ends in the same clear message, with its whole cause
            raise DatasetNotFoundError(_not_found_message(
                spec, missing, f"the download failed:\n    {describe_error(error)}", downloaded=True)) from error
        missing = _missing(spec, folder)
        if missing:
            raise DatasetNotFoundError(_not_found_message(
                spec, missing, "the download ended without these files passing their MD5 check", downloaded=True))
    return root


def mnist(train: bool = True, transform: Callable | None = None, download: bool | None = None):
    """The real MNIST (60,000 train / 10,000 test) as a torchvision dataset, via cache -> mirror -> network."""
    from torchvision import datasets  # imported here: the toy notebooks need no torchvision

    def fetch(root: Path) -> None:
        datasets.MNIST(str(root), train=True, download=True)

    root = ensure_archives(MNIST_ARCHIVES, fetch, download)
    # The archives are verified, so torchvision only unpacks them here; it opens no connection.
    return datasets.MNIST(str(root), train=train, transform=transform, download=True)


def mnist_tensors(train: bool = True, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """MNIST as tensors on `device`: images uint8 (N, 1, 28, 28) and labels int64 (N,)."""
    dataset = mnist(train=train)
    return dataset.data[:, None].to(device), dataset.targets.to(device)


MNIST_VALIDATION_SIZE = 5000


def mnist_train_validation(validation: int = MNIST_VALIDATION_SIZE) -> dict[str, Tensor]:
    """MNIST train cut in two: "train_x/train_y" (the first 60,000 - `validation` images) to fit,
    "val_x/val_y" (the last `validation`) to choose recipes, epochs and thresholds. The MNIST test
    set is kept for reporting only. The last 5,000 hold every digit, 458 to 563 of each."""
    images, labels = mnist_tensors(train=True)
    cut = len(images) - validation
    return {"train_x": images[:cut], "train_y": labels[:cut], "val_x": images[cut:], "val_y": labels[cut:]}


def to_signed_unit(images: Tensor) -> Tensor:
    """uint8 images in [0, 255] -> float32 in [-1, 1] (the range of a Tanh generator)."""
    return images.float() / 127.5 - 1.0


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255] (the inverse of to_signed_unit, rounded)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def batch_sampler(images: Tensor, generator: torch.Generator | None = None) -> Callable[[int], Tensor]:
    """A `sample_real(n)` for the trainer: n random rows of `images` (already on their device)."""
    def sample(n: int) -> Tensor:
        # Drawn where the images are (no host work per batch, so a GPU step can be recorded as a CUDA graph).
        index = torch.randint(len(images), (n,), generator=generator,
                              device=generator.device if generator is not None else images.device)
        return images[index.to(images.device)]
    return sample


# ----------------------------------------------------------------------------- CIFAR-10

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

# SHA-256 of the uint8 pixel array (N, 32, 32, 3) in the original CIFAR-10 order, as published
# with the mirror (../shared/datasets/cifar10/README.md). torchvision's archive holds the same
# 50,000 training images; the mirror's test split is the first 1,000 of the 10,000 test images.
CIFAR10_PIXEL_SHA256 = {
    ("train", 50_000): "47af8b02cfcfb6cdf3dbbd1969ad7f1b70f4413f6f80f437b020ee4e5bc8304a",
    ("test", 1_000): "da362006b99671213d1a5d856cab2bedf64d40bad4501630ee60f4ceb2d3ec7f",
}

CIFAR10_SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html (torchvision downloads cifar-10-python.tar.gz)"


def _pixel_sha256(images_nhwc: Tensor) -> str:
    return hashlib.sha256(images_nhwc.contiguous().numpy().tobytes()).hexdigest()


CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"  # torchvision's download; it unpacks to cifar-10-batches-py/
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # the checksum torchvision verifies (CIFAR10.tgz_md5)


def _cifar10_message(split: str, reason: str, download: bool | None = None, downloaded: bool = False) -> str:
    mirror = mirror_root()
    return (
        f"CIFAR-10 ({split}) is not available: {reason}\n"
        f"  put torchvision's archive {CIFAR10_ARCHIVE} (it is checked, then unpacked), or the folder "
        f"cifar-10-batches-py/ it unpacks to, in:  {data_root()}  (the cache; set COURSE_DATA to move it)\n"
        f"  or set COURSE_DATA_MIRROR to a folder holding {CIFAR10_ARCHIVE} or cifar10/{{train,test}}/<class>/"
        f"<index>.png (now: {mirror or 'unset'})\n"
        f"{_download_advice(download, downloaded)}; source: {CIFAR10_SOURCE}"
    )


def _cifar10_archive(split: str) -> Path | None:
    """torchvision's CIFAR-10 archive in the cache or the mirror, checked against its MD5; None if in neither."""
    mirror = mirror_root()
    for path, where in ((data_root() / CIFAR10_ARCHIVE, "cache"),
                        (mirror / CIFAR10_ARCHIVE if mirror is not None else None, "mirror")):
        if path is None or not path.is_file():
            continue
        digest = md5sum(path)
        if digest != CIFAR10_ARCHIVE_MD5:
            fix = "delete it or replace it" if where == "cache" else "the mirror is damaged, replace that file"
            raise DatasetNotFoundError(_cifar10_message(
                split, f"the {where}'s {path} fails its MD5 check (got {digest}, expected "
                f"{CIFAR10_ARCHIVE_MD5}); {fix}"))
        return path
    return None


def _unpack_cifar10_archive(archive: Path) -> None:
    """Unpack a verified archive into the cache as cifar-10-batches-py/ (the folder torchvision reads), never
    next to the archive: the mirror is read only."""
    import tarfile

    root = data_root()
    staging = root / f"cifar-10-batches-py.{os.getpid()}.partial"  # one per process: two kernels may unpack at once
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(staging, filter="data")  # "data": no absolute paths, links or devices out of the folder
    target = root / "cifar-10-batches-py"
    shutil.rmtree(target, ignore_errors=True)  # an incomplete copy torchvision refused
    (staging / "cifar-10-batches-py").replace(target)
    shutil.rmtree(staging)


def _decode_image_folder(folder: Path) -> tuple[Tensor, Tensor]:
    """Class folders of PNGs named by their original index -> uint8 (N, 32, 32, 3), labels, in index order."""
    import numpy as np
    from PIL import Image
    from tqdm.auto import tqdm

    files = [(int(path.stem), label, path) for label, name in enumerate(CIFAR10_CLASSES)
             for path in (folder / name).glob("*.png")]
    files.sort()
    images = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    for row, (_, _, path) in enumerate(tqdm(files, desc=f"decoding {folder.name} PNGs", mininterval=1.0)):
        with Image.open(path) as image:
            images[row] = np.asarray(image.convert("RGB"))
    labels = torch.tensor([label for _, label, _ in files], dtype=torch.int64)
    return torch.from_numpy(images), labels


def _cifar10_from_torchvision(split: str, download: bool) -> tuple[Tensor, Tensor] | None:
    from torchvision import datasets

    try:  # torchvision verifies its archive's MD5s itself
        dataset = datasets.CIFAR10(str(data_root()), train=split == "train", download=download)
    except RuntimeError:  # "Dataset not found or corrupted"
        return None
    return torch.from_numpy(dataset.data), torch.tensor(dataset.targets, dtype=torch.int64)


def cifar10_tensors(train: bool = True, device: torch.device | str = "cpu",
                    download: bool | None = None) -> tuple[Tensor, Tensor]:
    """CIFAR-10 as uint8 images (N, 3, 32, 32) and int64 labels (N,) on `device`, in the original order.

    Sources, in order: this function's own cache (``<COURSE_DATA>/cifar10/<split>.safetensors``),
    torchvision's unpacked ``cifar-10-batches-py/`` in the cache, its archive ``cifar-10-python.tar.gz``
    in the cache or the mirror (checked, then unpacked into the cache), the mirror's PNG folders,
    torchvision's download.
    Train: 50,000 images. Test: 10,000 from torchvision's archive, 1,000 from the mirror.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    split = "train" if train else "test"
    cache = data_root() / "cifar10" / f"{split}.safetensors"
    images = None
    if cache.is_file():
        try:
            stored = load_file(str(cache))
            images, labels = stored["images"], stored["labels"]
            expected = bytes(stored["sha256"].tolist()).hex()
        except (SafetensorError, KeyError, OSError, RuntimeError) as error:
            raise DatasetNotFoundError(f"the CIFAR-10 cache {cache} is unreadable ({error}); delete it and "
                                       "call cifar10_tensors() again to rebuild it") from error
        if _pixel_sha256(images) != expected:
            raise DatasetNotFoundError(f"the CIFAR-10 cache {cache} fails its SHA-256 check; delete it and "
                                       "call cifar10_tensors() again to rebuild it")
    if images is None:
        found = _cifar10_from_torchvision(split, download=False)
        archive = _cifar10_archive(split) if found is None else None
        if archive is not None:
            _unpack_cifar10_archive(archive)
            found = _cifar10_from_torchvision(split, download=False)
            if found is None:
                raise DatasetNotFoundError(_cifar10_message(
                    split, f"{archive} passes its MD5 check, but torchvision does not read the cifar-10-batches-py/ "
                    f"unpacked from it in {data_root()}; delete that folder and try again"))
        mirror = mirror_root()
        if found is None and mirror is not None and (mirror / "cifar10" / split).is_dir():
            found = _decode_image_folder(mirror / "cifar10" / split)
            known = CIFAR10_PIXEL_SHA256.get((split, len(found[0])))
            if known is None or _pixel_sha256(found[0]) != known:
                raise DatasetNotFoundError(_cifar10_message(
                    split, f"the mirror's PNGs in {mirror / 'cifar10' / split} do not match the published "
                    "SHA-256 of the CIFAR-10 pixels; the mirror is damaged"))
        if found is None:
            if not download_allowed(download):
                raise DatasetNotFoundError(_cifar10_message(
                    split, "it is not in the cache or the mirror, and downloading is off", download=download))
            try:
                found = _cifar10_from_torchvision(split, download=True)
            except Exception as error:  # any network failure ends in the same clear message, with its whole cause
                raise DatasetNotFoundError(_cifar10_message(
                    split, f"the download failed:\n    {describe_error(error)}", downloaded=True)) from error
            if found is None:
                raise DatasetNotFoundError(_cifar10_message(
                    split, "the download did not pass its MD5 check", downloaded=True))
        images, labels = found
        digest = torch.tensor(list(bytes.fromhex(_pixel_sha256(images))), dtype=torch.uint8)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.partial")  # one per process: two kernels may decode at once
        save_file({"images": images.contiguous(), "labels": labels, "sha256": digest}, str(partial))
        partial.replace(cache)
    return images.permute(0, 3, 1, 2).contiguous().to(device), labels.to(device)


class SignedImages(torch.utils.data.Dataset):
    """uint8 images (N, C, H, W) and labels as a dataset of float images in [-1, 1]."""

    def __init__(self, images: Tensor, labels: Tensor, classes: tuple[str, ...] = ()):
        self.images, self.targets, self.classes = images, labels, classes

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return to_signed_unit(self.images[index]), int(self.targets[index])


def cifar10(train: bool = True, download: bool | None = None) -> SignedImages:
    """CIFAR-10 as a dataset of (image in [-1, 1] of shape (3, 32, 32), label); see `cifar10_tensors`."""
    images, labels = cifar10_tensors(train=train, download=download)
    return SignedImages(images, labels, CIFAR10_CLASSES)


def image_sampler(images: Tensor, device: torch.device | str, channels_last: bool = False,
                  generator: torch.Generator | None = None) -> Callable[[int], Tensor]:
    """The fast trainer's `sample_real(n)`: the uint8 dataset is moved to `device` once; each batch
    is picked by random index and turned into floats in [-1, 1] there (no DataLoader, no copies)."""
    images = images.to(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def sample(n: int) -> Tensor:
        index = torch.randint(len(images), (n,), generator=generator,
                              device=generator.device if generator is not None else images.device)
        return to_signed_unit(images[index.to(images.device)]).contiguous(memory_format=memory_format)
    return sample
