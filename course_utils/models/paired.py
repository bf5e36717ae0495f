"""Networks for paired translation (notebook 10): pix2pix's U-Net (Isola et al. 2017), SRGAN's residual generator
(Ledig et al. 2017) and a CIFAR-10 classifier whose features give SRGAN its perceptual loss.

Names as in the papers: G maps a source image x to a target image y; D judges images (pix2pix's D sees the pair
(x, y), SRGAN's the high-resolution image alone). Both discriminators are notebook 06's PatchGAN
(course_utils.models.cyclegan.PatchDiscriminator); the SRGAN paper's own D is a VGG-style classifier with one output.

Shrunk for 32x32 images and two CPU cores, with these departures from the papers (each stated where it is made):
the U-Net has 3 (CIFAR-10) or 2 (28x28 MNIST) levels instead of 8 and no dropout (pix2pix's only source of noise,
which its authors found the generator largely ignores); SRResNet has 3x3 kernels throughout (the paper: 9x9 at both
ends), 32 channels and 4 residual blocks instead of 64 and 16, and adds its output to the bicubic upsampling, so it
learns the detail bicubic misses. VGG cannot be downloaded here: the perceptual loss reads `CIFARClassifier`, which
the course trains itself (`python -m course_utils.pretrain cifar10_classifier`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.paired import bicubic_upsample


@dataclass(frozen=True)
class UNetGeneratorConfig:
    """pix2pix's U-Net: `levels` stride-2 encoder convolutions, mirrored by the decoder with skip connections."""

    in_channels: int = 1
    out_channels: int = 3
    width: int = 32  # pix2pix: 64
    levels: int = 3  # 32x32 -> 4x4 (pix2pix: 8 levels, 256x256 -> 1x1)

    def __post_init__(self):
        if min(self.in_channels, self.out_channels, self.width, self.levels) < 1:
            raise ValueError(f"UNetGeneratorConfig needs positive sizes, got {self}")


class UNetGenerator(nn.Module):
    """Source image (n, in_channels, H, W) in [-1, 1] -> target image (n, out_channels, H, W) in [-1, 1];
    H and W divide by 2**levels."""

    def __init__(self, cfg: UNetGeneratorConfig = UNetGeneratorConfig()):
        super().__init__()
        self.cfg = cfg
        widths = [cfg.width * 2 ** min(level, 3) for level in range(cfg.levels)]  # 32, 64, 128 (each halves H, W)
        self.encoder = nn.ModuleList()
        previous = cfg.in_channels
        for level, width in enumerate(widths):  # C(width): conv 4x4 stride 2, norm (not on the first), LeakyReLU 0.2
            self.encoder.append(nn.Sequential(
                nn.Conv2d(previous, width, 4, stride=2, padding=1),
                nn.BatchNorm2d(width) if level > 0 else nn.Identity(), nn.LeakyReLU(0.2, True)))
            previous = width
        self.decoder = nn.ModuleList()
        for level in reversed(range(cfg.levels)):  # the innermost sees only the code; the others add their skip
            inputs = widths[level] * (1 if level == cfg.levels - 1 else 2)
            if level == 0:  # outermost: to the target's channels, tanh
                self.decoder.append(nn.Sequential(nn.ConvTranspose2d(inputs, cfg.out_channels, 4, 2, 1), nn.Tanh()))
            else:
                self.decoder.append(nn.Sequential(nn.ConvTranspose2d(inputs, widths[level - 1], 4, 2, 1),
                                                  nn.BatchNorm2d(widths[level - 1]), nn.ReLU(True)))

    def forward(self, x: Tensor) -> Tensor:
        size = 2 ** self.cfg.levels
        if x.dim() != 4 or x.shape[1] != self.cfg.in_channels or x.shape[2] % size or x.shape[3] % size:
            raise ValueError(f"UNetGenerator needs images (n, {self.cfg.in_channels}, H, W) with H and W divisible "
                             f"by {size}, got {tuple(x.shape)}")
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)  # 16x16, 8x8, 4x4 for a 32x32 image
        x = self.decoder[0](skips.pop())
        for block in self.decoder[1:]:
            x = block(torch.cat([x, skips.pop()], dim=1))  # the skip of the same resolution joins
        return x

    def config_dict(self) -> dict:
        return asdict(self.cfg)


@dataclass(frozen=True)
class SRResNetConfig:
    """SRGAN's generator (SRResNet), shrunk: width, residual blocks, upscaling factor (a power of 2)."""

    channels: int = 3
    width: int = 32  # the paper: 64
    blocks: int = 4  # the paper: 16
    factor: int = 4

    def __post_init__(self):
        if min(self.channels, self.width, self.blocks) < 1 or self.factor < 2 or self.factor & (self.factor - 1):
            raise ValueError(f"SRResNetConfig needs positive sizes and a factor that is a power of 2, got {self}")


class SRResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN, added to its input (the paper's B residual blocks)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.PReLU(),
                                  nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """Low-resolution image (n, 3, h, w) in [-1, 1] -> (n, 3, factor*h, factor*w): bicubic upsampling plus the
    detail the network adds (unclamped; `upscale` clamps)."""

    def __init__(self, cfg: SRResNetConfig = SRResNetConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.head = nn.Sequential(nn.Conv2d(cfg.channels, w, 3, padding=1), nn.PReLU())  # 8x8
        self.body = nn.Sequential(*[SRResidualBlock(w) for _ in range(cfg.blocks)],
                                  nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w))
        upsampling = []
        for _ in range(int(math.log2(cfg.factor))):  # sub-pixel convolution (Shi et al. 2016): 4w channels -> 2x side
            upsampling += [nn.Conv2d(w, 4 * w, 3, padding=1), nn.PixelShuffle(2), nn.PReLU()]  # 16x16, then 32x32
        self.upsample = nn.Sequential(*upsampling)
        self.tail = nn.Conv2d(w, cfg.channels, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as plain bicubic
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.cfg.channels:
            raise ValueError(f"SRResNet needs images (n, {self.cfg.channels}, h, w), got {tuple(x.shape)}")
        features = self.head(x)
        features = features + self.body(features)  # the long skip over the residual blocks
        return bicubic_upsample(x, self.cfg.factor) + self.tail(self.upsample(features))

    def config_dict(self) -> dict:
        return asdict(self.cfg)


@dataclass(frozen=True)
class CIFARClassifierConfig:
    """A small VGG-style CIFAR-10 classifier: three blocks of two 3x3 convolutions, widths w, 2w, 4w."""

    width: int = 16


class CIFARClassifier(nn.Module):
    """x (n, 3, 32, 32) in [-1, 1] -> 10 logits. `perceptual_features` is SRGAN's content space here."""

    def __init__(self, cfg: CIFARClassifierConfig = CIFARClassifierConfig()):
        super().__init__()
        self.cfg = cfg

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True),
                                 nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True))

        w = cfg.width
        self.block1, self.block2, self.block3 = block(3, w), block(w, 2 * w), block(2 * w, 4 * w)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, 10))

    def perceptual_features(self, x: Tensor) -> Tensor:
        """The second block's activations (n, 2w, 16, 16), before its pooling: SRGAN's "VGG22"-like depth, deep
        enough to ignore exact pixel positions, shallow enough to keep textures."""
        return self.block2(F.max_pool2d(self.block1(x), 2))

    def features(self, x: Tensor) -> Tensor:
        """The penultimate layer (n, 4w): the third block, pooled (a second reader's feature space)."""
        x = F.max_pool2d(self.perceptual_features(x), 2)  # 8x8
        return self.head[:2](F.max_pool2d(self.block3(x), 2))  # 4x4 -> averaged

    def forward(self, x: Tensor) -> Tensor:
        return self.head[2](self.features(x))

    def config_dict(self) -> dict:
        return asdict(self.cfg)
