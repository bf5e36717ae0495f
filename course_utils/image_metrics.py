"""Distortion and perception measures of paired translation (notebook 10), image by image.

Distortion (how far an output is from its own ground truth), computed by torchmetrics (a library made for them):
- PSNR in dB, 10 log10(255^2 / MSE) on uint8 pixels: higher is closer;
- SSIM (Wang et al. 2004), Gaussian window 11, sigma 1.5, on the RGB channels: 1 is identical.
Perception (how natural the outputs look as a set): FID and KID in Inception features (course_utils.fid), and, for
colourisation, the colourfulness of Hasler and Suesstrunk (2003), which a desaturated average lowers.

Blau and Michaeli (2018) prove that the two kinds trade off: below some distortion, no algorithm can also make its
outputs' distribution match the data's. Notebook 10 measures where regression and GANs fall on that trade-off.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from .data.paired import LUMA_WEIGHTS


def _check_pair(outputs: Tensor, targets: Tensor, caller: str) -> None:
    if outputs.dtype != torch.uint8 or targets.dtype != torch.uint8:
        raise ValueError(f"{caller} needs uint8 images (data.to_uint8 converts [-1, 1]), got {outputs.dtype} and "
                         f"{targets.dtype}")
    if outputs.shape != targets.shape or outputs.dim() != 4:
        raise ValueError(f"{caller} needs outputs and targets of the same shape (N, C, H, W), got "
                         f"{tuple(outputs.shape)} and {tuple(targets.shape)}")


def psnr(outputs: Tensor, targets: Tensor) -> Tensor:
    """PSNR in dB of each uint8 output against its target, shape (N,); identical images give inf."""
    _check_pair(outputs, targets, "psnr")
    return peak_signal_noise_ratio(outputs.double(), targets.double(), data_range=255.0, reduction="none",
                                   dim=(1, 2, 3))


def ssim(outputs: Tensor, targets: Tensor, batch_size: int = 1000) -> Tensor:
    """SSIM of each uint8 output against its target, shape (N,)."""
    _check_pair(outputs, targets, "ssim")
    # float32 (ten times faster than float64 here; pixels 0-255 leave SSIM exact to about 1e-6), returned as float64
    return torch.cat([structural_similarity_index_measure(o.float(), t.float(), data_range=255.0, reduction="none")
                      for o, t in zip(outputs.split(batch_size), targets.split(batch_size))]).double()


def colourfulness(images: Tensor) -> Tensor:
    """Hasler and Suesstrunk's colourfulness of each uint8 RGB image, shape (N,): 0 for grey images, about 20-60
    for photos ("moderately" to "quite" colourful on their scale)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"colourfulness needs uint8 RGB images (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
    r, g, b = images.double().unbind(1)
    rg, yb = (r - g).flatten(1), (0.5 * (r + g) - b).flatten(1)
    spread = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1).square() + yb.mean(1).square()).sqrt()
    return spread + 0.3 * mean


PSNR_CAP_DB = 100.0  # an output equal to its target (PSNR infinite) counts as this in a mean; one level off in one
# pixel of a 32x32 RGB image is already 83 dB


def distortion(outputs: Tensor, targets: Tensor) -> dict[str, float]:
    """Mean PSNR (dB; each image's capped at PSNR_CAP_DB, so that an exact answer does not make the mean infinite),
    mean SSIM and mean absolute error (in uint8 levels) of outputs against their targets."""
    return {"psnr_db": psnr(outputs, targets).clamp(max=PSNR_CAP_DB).mean().item(),
            "ssim": ssim(outputs, targets).mean().item(),
            "mae": (outputs.double() - targets.double()).abs().mean().item()}


def radial_power_spectrum(images: Tensor) -> Tensor:
    """Mean power of the images' luma at each spatial frequency radius 0 .. H/2 (cycles per image), shape (H/2 + 1,).

    Blur shows here as missing power at the high radii: the measure of "blurred" that notebook 10 plots."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"radial_power_spectrum needs uint8 images (N, 1 or 3, H, W), got {images.dtype} "
                         f"{tuple(images.shape)}")
    x = images.double()
    luma = x.mean(1) if x.shape[1] == 1 else (x * torch.tensor(LUMA_WEIGHTS, dtype=x.dtype)[:, None, None]).sum(1)
    luma = luma - luma.mean(dim=(1, 2), keepdim=True)  # the mean (radius 0) says nothing about blur
    power = torch.fft.fft2(luma).abs().square().mean(0)
    height, width = power.shape
    fy, fx = torch.meshgrid(torch.fft.fftfreq(height) * height, torch.fft.fftfreq(width) * width, indexing="ij")
    radius = (fy.square() + fx.square()).sqrt().round().long().clamp(max=height // 2)
    totals = torch.zeros(height // 2 + 1, dtype=x.dtype).index_add_(0, radius.flatten(), power.flatten())
    counts = torch.zeros(height // 2 + 1, dtype=x.dtype).index_add_(0, radius.flatten(), torch.ones_like(power.flatten()))
    return totals / counts
