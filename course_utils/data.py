"""Data: toy distributions with exact densities, and real datasets from cache, mirror or network.

Real datasets are found in this order:

1. the cache folder ``COURSE_DATA`` (default: ``<repo>/data``), where they are kept once found;
2. a read-only mirror ``COURSE_DATA_MIRROR`` holding the original archives (copied, never written);
3. the network, through torchvision's own download (skipped when ``COURSE_OFFLINE=1``).

Every archive is checked against its published MD5. When all three fail, the error names the
dataset, the files, the folder to put them in and the environment variables.

CIFAR-10 adds one source: the mirror holds it as PNG class folders (ImageFolder layout), not as
torchvision's archive. Those are decoded once, checked against the SHA-256 of the original pixel
bytes, and cached as one uint8 tensor file (see `cifar10_tensors`).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

# ----------------------------------------------------------------------------- toy distributions


class GaussianMixture:
    """A mixture of isotropic Gaussians in d dimensions, with exact `sample(n)` and `pdf(x)`."""

    def __init__(self, means: list | Tensor, stds: list | Tensor, weights: list | Tensor | None = None):
        means = torch.as_tensor(means, dtype=torch.float32)
        self.means = means.reshape(len(means), -1)  # (K, d); a list of scalars means d = 1
        self.stds = torch.as_tensor(stds, dtype=torch.float32).reshape(-1)  # (K,)
        k = len(self.means)
        weights = torch.ones(k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
        if len(self.stds) != k or len(weights) != k:
            raise ValueError(f"means, stds and weights need one entry per component; got {k}, "
                             f"{len(self.stds)}, {len(weights)}")
        if (self.stds <= 0).any() or (weights < 0).any():
            raise ValueError("stds must be positive and weights non-negative")
        self.weights = weights / weights.sum()

    @property
    def dim(self) -> int:
        """Dimension of x."""
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: torch.device | str | None = None) -> Tensor:
        """Draw n samples, shape (n, dim)."""
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator)
        x = self.means[component] + self.stds[component, None] * noise
        return x.to(device) if device is not None else x

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density at x of shape (n, dim), or (n,) when dim is 1."""
        x = torch.as_tensor(x, dtype=torch.float32)
        x = x.reshape(-1, self.dim).cpu()
        squared = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)  # (n, K)
        var = self.stds**2
        log_normal = -0.5 * squared / var - 0.5 * self.dim * torch.log(2 * math.pi * var)
        return torch.logsumexp(torch.log(self.weights) + log_normal, dim=1)

    def pdf(self, x: Tensor) -> Tensor:
        """Exact density at x (see `log_prob` for shapes)."""
        return self.log_prob(x).exp()

    def quantile(self, q: float) -> float:
        """The q-quantile of a 1-D mixture, by inverting the exact CDF on a fine grid."""
        if self.dim != 1:
            raise ValueError("quantile is defined for 1-D mixtures only")
        grid = self.plot_range(width=8.0, points=20_001)
        cdf = torch.cumsum(self.pdf(grid), 0)
        cdf = cdf / cdf[-1]
        return float(grid[torch.searchsorted(cdf, torch.tensor(q)).clamp(max=len(grid) - 1)])

    def central_interval(self, mass: float = 0.95) -> tuple[float, float]:
        """The interval holding the central `mass` of a 1-D mixture, e.g. (mu-1.96s, mu+1.96s)."""
        tail = (1 - mass) / 2
        return self.quantile(tail), self.quantile(1 - tail)

    def plot_range(self, width: float = 4.0, points: int = 400) -> Tensor:
        """A 1-D grid covering every component +- `width` standard deviations."""
        lo = float((self.means[:, 0] - width * self.stds).min())
        hi = float((self.means[:, 0] + width * self.stds).max())
        return torch.linspace(lo, hi, points)

    def __repr__(self) -> str:
        return (f"GaussianMixture(means={self.means.squeeze(-1).tolist()}, stds={self.stds.tolist()}, "
                f"weights={[round(w, 3) for w in self.weights.tolist()]})")


def gaussian_1d(mean: float = 2.0, std: float = 0.5) -> GaussianMixture:
    """The lecture's p_data: one 1-D Gaussian."""
    return GaussianMixture([mean], [std])


def bimodal_1d(left: float = 2.0, right: float = 6.0, std: float = 0.4) -> GaussianMixture:
    """Two well-separated equal modes: the classic setting for mode collapse."""
    return GaussianMixture([left, right], [std, std])


def ring_2d(modes: int = 8, radius: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """A ring of `modes` Gaussians in 2-D (Metz et al. 2017, unrolled GANs)."""
    angles = torch.arange(modes) * 2 * math.pi / modes
    means = torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1)
    return GaussianMixture(means, [std] * modes)


def grid_2d(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """A side x side grid of Gaussians in 2-D, centred on the origin."""
    ticks = (torch.arange(side) - (side - 1) / 2) * spacing
    means = torch.cartesian_prod(ticks, ticks)
    return GaussianMixture(means, [std] * side * side)


# ----------------------------------------------------------------------------- real datasets


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
    return Path(__file__).resolve().parent.parent / "data"


def mirror_root() -> Path | None:
    """The read-only mirror folder from $COURSE_DATA_MIRROR, if set."""
    value = os.environ.get("COURSE_DATA_MIRROR")
    return Path(value).expanduser() if value else None


def offline() -> bool:
    """True when COURSE_OFFLINE=1 forbids network downloads."""
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


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


def _not_found_message(spec: ArchiveSpec, missing: list[str], reason: str, downloaded: bool = False) -> str:
    cache = data_root() / spec.folder
    mirror = mirror_root()
    network = ("  or check the network connection and try again" if downloaded else
               "  or allow the download (unset COURSE_OFFLINE, or pass download=True) on a machine with network")
    return (
        f"{spec.name} is not available: {reason}\n"
        f"  files needed: {', '.join(missing)}\n"
        f"  put them in:  {cache}  (the cache; set COURSE_DATA to move it)\n"
        f"  or set COURSE_DATA_MIRROR to a folder holding {spec.folder}/ (now: {mirror or 'unset'})\n"
        f"{network}; source: {spec.source}"
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
        download = (not offline()) if download is None else download
        if not download:
            raise DatasetNotFoundError(_not_found_message(
                spec, missing, "it is not in the cache or the mirror, and downloading is off"))
        try:
            fetch(root)
        except Exception as error:  # any network failure ends in the same clear message
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise DatasetNotFoundError(_not_found_message(
                spec, missing, f"the download failed ({type(error).__name__}: {first_line})", downloaded=True)) from error
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
        index = torch.randint(len(images), (n,), generator=generator)
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


def _cifar10_message(split: str, reason: str) -> str:
    mirror = mirror_root()
    return (
        f"CIFAR-10 ({split}) is not available: {reason}\n"
        f"  put torchvision's archive (cifar-10-python.tar.gz, or its folder cifar-10-batches-py/) in:  "
        f"{data_root()}  (the cache; set COURSE_DATA to move it)\n"
        f"  or set COURSE_DATA_MIRROR to a folder holding cifar10/{{train,test}}/<class>/<index>.png "
        f"(now: {mirror or 'unset'})\n"
        f"  or allow the download (unset COURSE_OFFLINE, or pass download=True) on a machine with network; "
        f"source: {CIFAR10_SOURCE}"
    )


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
    torchvision's archive in the cache, the mirror's PNG folders, torchvision's download.
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
        mirror = mirror_root()
        if found is None and mirror is not None and (mirror / "cifar10" / split).is_dir():
            found = _decode_image_folder(mirror / "cifar10" / split)
            known = CIFAR10_PIXEL_SHA256.get((split, len(found[0])))
            if known is None or _pixel_sha256(found[0]) != known:
                raise DatasetNotFoundError(_cifar10_message(
                    split, f"the mirror's PNGs in {mirror / 'cifar10' / split} do not match the published "
                    "SHA-256 of the CIFAR-10 pixels; the mirror is damaged"))
        if found is None:
            download = (not offline()) if download is None else download
            if not download:
                raise DatasetNotFoundError(_cifar10_message(
                    split, "it is not in the cache or the mirror, and downloading is off"))
            try:
                found = _cifar10_from_torchvision(split, download=True)
            except Exception as error:  # any network failure ends in the same clear message
                raise DatasetNotFoundError(_cifar10_message(
                    split, f"the download failed ({type(error).__name__})")) from error
            if found is None:
                raise DatasetNotFoundError(_cifar10_message(split, "the download did not pass its MD5 check"))
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
        index = torch.randint(len(images), (n,), generator=generator, device=generator.device if generator else "cpu")
        return to_signed_unit(images[index.to(images.device)]).contiguous(memory_format=memory_format)
    return sample


# ----------------------------------------------------------------------------- MNIST-M and unpaired domains


# Side of the photo patch behind each MNIST-M digit, before it is scaled to 28x28. Ganin and Lempitsky
# cut 28x28 patches from BSDS500 photos of 481x321 pixels: a patch spans 6% of the photo's width, a piece
# of a scene (texture, a few edges). A 28x28 crop of a 32x32 CIFAR-10 photo is nearly the whole object.
# 12x12 (37% of the width, still a larger share than the original's) is closer; patch_size=28 gives the
# full crops, a harder variant (notebook 06 measures both).
MNIST_M_PATCH = 12


def blend_mnist_m(digits: Tensor, photos: Tensor, generator: torch.Generator | None = None,
                  patch_size: int = MNIST_M_PATCH) -> Tensor:
    """MNIST-M (Ganin and Lempitsky 2015): |patch - digit| per colour channel.

    digits: uint8 (N, 1, 28, 28); photos: uint8 (M, 3, H, W) with H, W >= patch_size. Each digit gets a
    random patch_size x patch_size crop of a random photo, scaled to 28x28 (bilinear) if smaller; where
    the digit is white the patch's colours invert, where it is black the patch shows unchanged.
    Returns uint8 (N, 3, 28, 28)."""
    n, (_, _, height, width) = len(digits), photos.shape
    if not 1 <= patch_size <= min(height, width, 28):
        raise ValueError(f"patch_size must be between 1 and {min(height, width, 28)} (photos of {height}x{width}, "
                         f"digits of 28x28), got {patch_size}")
    which = torch.randint(len(photos), (n,), generator=generator)
    top = torch.randint(height - patch_size + 1, (n,), generator=generator)
    left = torch.randint(width - patch_size + 1, (n,), generator=generator)
    rows = top[:, None] + torch.arange(patch_size)  # (n, patch_size)
    cols = left[:, None] + torch.arange(patch_size)
    patches = photos[which[:, None, None, None], torch.arange(3)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]  # (n, 3, patch_size, patch_size)
    if patch_size != 28:
        patches = torch.cat([F.interpolate(chunk.float(), size=(28, 28), mode="bilinear", align_corners=False)
                             .round().clamp(0, 255).to(torch.uint8) for chunk in patches.split(10_000)])
    return (patches.short() - digits.short()).abs().to(torch.uint8)


def _mnist_m_photos(train: bool) -> Tensor:
    """The CIFAR-10 photos MNIST-M patches come from: training images 0-39,999 for the train split,
    40,000-49,999 for the test split, so that no photo appears in both."""
    photos, _ = cifar10_tensors(train=True)
    return photos[:40_000] if train else photos[40_000:]


# The CycleGAN's three splits: which MNIST digits and which CIFAR-10 training photos each uses. The
# validation split (for choosing the recipe) is carved from MNIST train: its last 5,000 images, with
# photos that neither training nor test uses. The test split only reports.
UNPAIRED_SPLITS = {"train": (True, slice(0, 55_000), slice(0, 35_000)),
                   "validation": (True, slice(55_000, 60_000), slice(35_000, 40_000)),
                   "test": (False, slice(0, 10_000), slice(40_000, 50_000))}


def mnist_m(train: bool = True, seed: int = 0, patch_size: int = MNIST_M_PATCH) -> tuple[Tensor, Tensor]:
    """MNIST-M built from MNIST and CIFAR-10 photos: uint8 (N, 3, 28, 28) and the digits' labels.

    Train digits take patches of CIFAR-10 training images 0-39,999, test digits of 40,000-49,999, so
    no photo appears in both splits."""
    digits, labels = mnist_tensors(train=train)
    photos = _mnist_m_photos(train)
    return blend_mnist_m(digits, photos, torch.Generator().manual_seed(seed), patch_size), labels


def grey_to_rgb(images: Tensor) -> Tensor:
    """(N, 1, H, W) -> (N, 3, H, W) by repeating the channel (so both CycleGAN domains have 3 channels)."""
    return images.expand(-1, 3, -1, -1).contiguous()


def rgb_to_grey(images: Tensor) -> Tensor:
    """(N, 3, H, W) -> (N, 1, H, W), the channels' mean (what the MNIST classifier reads)."""
    grey = images.float().mean(dim=1, keepdim=True)
    return grey if images.is_floating_point() else grey.round().to(images.dtype)


def unpaired_mnist_domains(train: bool = True, seed: int = 0, patch_size: int = MNIST_M_PATCH,
                           split: str | None = None) -> dict[str, Tensor]:
    """CycleGAN's two domains from disjoint MNIST images: A = MNIST (even indices, grey as RGB),
    B = MNIST-M (odd indices). uint8 (N, 3, 28, 28) each, with their labels (for evaluation only).

    split: "train" (MNIST train images 0-54,999, photos 0-34,999), "validation" (MNIST train images
    55,000-59,999, photos 35,000-39,999) or "test" (MNIST test, photos 40,000-49,999); when None,
    `train` picks "train" or "test"."""
    split = split or ("train" if train else "test")
    if split not in UNPAIRED_SPLITS:
        raise ValueError(f"split must be one of {sorted(UNPAIRED_SPLITS)}, got {split!r}")
    mnist_train, digit_range, photo_range = UNPAIRED_SPLITS[split]
    digits, labels = mnist_tensors(train=mnist_train)
    digits, labels = digits[digit_range], labels[digit_range]
    photos = cifar10_tensors(train=True)[0][photo_range]
    b = blend_mnist_m(digits[1::2], photos, torch.Generator().manual_seed(seed), patch_size)
    return {"A": grey_to_rgb(digits[0::2]), "labels_A": labels[0::2], "B": b, "labels_B": labels[1::2]}


def image_folder_domains(root: str | Path, size: int = 256, split: str = "train") -> dict[str, Tensor]:
    """A standard CycleGAN dataset folder (trainA/ trainB/ testA/ testB/ of images, e.g. horse2zebra)
    as uint8 (N, 3, size, size) tensors {"A": ..., "B": ...}, resized with antialiasing."""
    import numpy as np
    from PIL import Image

    root = Path(root).expanduser()
    domains = {}
    for side in ("A", "B"):
        folder = root / f"{split}{side}"
        files = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp"})
        if not files:
            raise DatasetNotFoundError(f"no images in {folder}; a CycleGAN dataset folder holds trainA/, trainB/, "
                                       "testA/ and testB/ with the images of each domain")
        arrays = []
        for path in files:
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)))
        domains[side] = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return domains
