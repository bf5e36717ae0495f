"""Paired image-to-image tasks made offline from the course's data (notebook 10).

With pairs (x, y), translation is supervised learning: each source image x comes with the one target y the model
should produce. Three tasks, each with a training, a validation (for choosing recipes) and a test split (only reports):

- `super_resolution`: 4x super-resolution of CIFAR-10, 8x8 -> 32x32, the low-resolution image made by bicubic
  downsampling with antialiasing (the SRGAN paper's protocol: Ledig et al. 2017, section 3);
- `colourisation`: CIFAR-10 grey -> colour, grey by the ITU-R BT.601 luma weights (0.299 R + 0.587 G + 0.114 B);
- `paired_mnist_m`: MNIST-M -> MNIST with the digit each MNIST-M image was made from, on notebook 06's own images.

CIFAR-10 splits: train = training images 0-44,999, validation = 45,000-49,999, test = the test images (all 10,000
where the full test set is present; the first 1,000 from the course's offline mirror).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .derived import MNIST_M_PATCH, UNPAIRED_SPLITS, blend_mnist_m, grey_to_rgb
from .loading import cifar10_tensors, mnist_tensors

CIFAR10_PAIRED_SPLITS = {"train": (True, slice(0, 45_000)), "validation": (True, slice(45_000, 50_000)),
                         "test": (False, slice(0, 10_000))}
SR_FACTOR = 4
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601


def _check_uint8(images: Tensor, channels: int, caller: str) -> None:
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != channels:
        raise ValueError(f"{caller} needs uint8 images (N, {channels}, H, W), got {images.dtype} {tuple(images.shape)}")


def bicubic_downsample(images: Tensor, factor: int = SR_FACTOR) -> Tensor:
    """uint8 (N, 3, H, W) -> uint8 (N, 3, H/factor, W/factor): bicubic with antialiasing, rounded."""
    _check_uint8(images, 3, "bicubic_downsample")
    height, width = images.shape[2:]
    if height % factor or width % factor:
        raise ValueError(f"images of {height}x{width} do not divide by the factor {factor}")
    small = F.interpolate(images.float(), size=(height // factor, width // factor), mode="bicubic",
                          antialias=True, align_corners=False)
    return small.round().clamp(0, 255).to(torch.uint8)


def bicubic_upsample(images: Tensor, factor: int = SR_FACTOR) -> Tensor:
    """Float images (N, C, h, w), in any range -> (N, C, h*factor, w*factor) by bicubic interpolation (the
    baseline every super-resolution paper reports, and the input the course's SR networks add their detail to).
    Not clamped: a uint8 caller clamps and rounds."""
    return F.interpolate(images, scale_factor=factor, mode="bicubic", align_corners=False)


def bicubic_baseline(images: Tensor, factor: int = SR_FACTOR) -> Tensor:
    """uint8 (N, C, h, w) -> uint8 (N, C, h*factor, w*factor): bicubic_upsample rounded and clamped, the baseline
    row of notebook 10's tables and demos."""
    return bicubic_upsample(images.float(), factor).round().clamp(0, 255).to(torch.uint8)


def greyscale(images: Tensor) -> Tensor:
    """uint8 (N, 3, H, W) -> uint8 (N, 1, H, W), the BT.601 luma."""
    _check_uint8(images, 3, "greyscale")
    weights = torch.tensor(LUMA_WEIGHTS).reshape(1, 3, 1, 1)
    return (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)


def _cifar10_split(split: str) -> Tensor:
    if split not in CIFAR10_PAIRED_SPLITS:
        raise ValueError(f"split must be one of {sorted(CIFAR10_PAIRED_SPLITS)}, got {split!r}")
    train, rows = CIFAR10_PAIRED_SPLITS[split]
    return cifar10_tensors(train=train)[0][rows]


def super_resolution(split: str = "train") -> dict[str, Tensor]:
    """{"source": uint8 (N, 3, 8, 8), "target": uint8 (N, 3, 32, 32)} for a CIFAR-10 split (see the module)."""
    target = _cifar10_split(split)
    return {"source": bicubic_downsample(target), "target": target}


def colourisation(split: str = "train") -> dict[str, Tensor]:
    """{"source": uint8 (N, 1, 32, 32) grey, "target": uint8 (N, 3, 32, 32)} for a CIFAR-10 split."""
    target = _cifar10_split(split)
    return {"source": greyscale(target), "target": target}


def paired_mnist_m(split: str = "train", seed: int = 0, patch_size: int = MNIST_M_PATCH) -> dict[str, Tensor]:
    """{"source": MNIST-M uint8 (N, 3, 28, 28), "target": the MNIST digit it was made from, as RGB, "labels"}.

    The images are notebook 06's domain B of the same split (data.unpaired_mnist_domains: odd-indexed digits, the
    same photos and seed), so its CycleGAN and a paired model are measured on the very same held-out images; here
    each comes with its pair."""
    if split not in UNPAIRED_SPLITS:
        raise ValueError(f"split must be one of {sorted(UNPAIRED_SPLITS)}, got {split!r}")
    mnist_train, digit_range, photo_range = UNPAIRED_SPLITS[split]
    digits, labels = mnist_tensors(train=mnist_train)
    digits, labels = digits[digit_range][1::2], labels[digit_range][1::2]
    photos = cifar10_tensors(train=True)[0][photo_range]
    source = blend_mnist_m(digits, photos, torch.Generator().manual_seed(seed), patch_size)
    return {"source": source, "target": grey_to_rgb(digits), "labels": labels}


PAIRED_TASKS = {"super_resolution": super_resolution, "colourisation": colourisation, "mnist_m": paired_mnist_m}


def paired_task(name: str, split: str = "train") -> dict[str, Tensor]:
    """One of PAIRED_TASKS by name."""
    if name not in PAIRED_TASKS:
        raise ValueError(f"paired task must be one of {sorted(PAIRED_TASKS)}, got {name!r}")
    return PAIRED_TASKS[name](split)
