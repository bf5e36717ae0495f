"""Data sets built from the real ones: MNIST-M and the unpaired domains of the CycleGAN notebook."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from .loading import DatasetNotFoundError, cifar10_tensors, mnist_tensors

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
