"""CycleGAN (Zhu, Park, Isola and Efros 2017): unpaired translation between two image domains.

Names: the paper's X and Y are our domains A and B. Its G: X -> Y is `G` (A -> B), its F: Y -> X is
`F` (B -> A), its D_Y (judging B) is `D_B` and its D_X (judging A) is `D_A`.

Losses, as in the paper (section 3 and 4):
* adversarial, least squares (Mao et al. 2017): D_B pushes D_B(b) -> 1 and D_B(G(a)) -> 0; G pushes D_B(G(a)) -> 1;
* cycle consistency, L1, weight lambda = 10: F(G(a)) ~ a and G(F(b)) ~ b;
* identity, L1, weight 0.5 * lambda: G(b) ~ b and F(a) ~ a (keeps colours where nothing needs changing);
* one departure, an option of the authors' reference code (its lambda_A and lambda_B): the B -> A -> B
  cycle and G's identity term are weighted by `cycle_b_weight` = 0.1. MNIST-M -> MNIST throws the photo
  away, so G(F(b)) ~ b can only hold if F(b) keeps traces of the photo; at full weight that pressure
  made F draw photo edges as strokes (notebook 06, section 2, measures both).
* the discriminators see a history of 50 generated images (Shrivastava et al. 2017), not only the newest.

Two changes in training (course_utils/train_cyclegan.py) are not in the paper either: two discriminator
steps per generator step, and, for MNIST-M, G(a) recoloured at random before F must undo it (`recolour`).

The networks are the paper's ResNet generator and PatchGAN discriminator, shrunk for 28x28 images
and two CPU cores: 16 base channels instead of 64, 2 residual blocks instead of 6 or 9.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F_
from torch import Tensor, nn


@dataclass(frozen=True)
class CycleGANConfig:
    """Sizes of the CycleGAN networks and the weights of its losses."""

    channels: int = 3
    width: int = 16  # the paper's k = 64 for 256x256 images
    f_width: int | None = None  # F's base channels when F needs more than G (None: the same as G)
    res_blocks: int = 2
    d_width: int = 32
    lambda_cycle: float = 10.0
    # Relative weight of the B -> A -> B cycle and of the identity loss of G (the reference code's
    # lambda_B / lambda_A): 1 in the paper; 0.1 here, because MNIST cannot hold MNIST-M's photo.
    cycle_b_weight: float = 0.1
    lambda_identity: float = 0.5  # times lambda_cycle, as in the paper
    pool_size: int = 50


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image (n, 3, 28, 28) in [-1, 1] -> image of the other domain, same shape."""

    def __init__(self, cfg: CycleGANConfig = CycleGANConfig(), width: int | None = None):
        super().__init__()
        self.cfg = cfg
        k, c = width or cfg.width, cfg.channels
        self.net = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(c, k, 7), nn.InstanceNorm2d(k), nn.ReLU(True),  # c7s1-k, 28x28
            nn.Conv2d(k, 2 * k, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * k), nn.ReLU(True),  # d2k, 14x14
            nn.Conv2d(2 * k, 4 * k, 3, stride=2, padding=1), nn.InstanceNorm2d(4 * k), nn.ReLU(True),  # d4k, 7x7
            *[ResidualBlock(4 * k) for _ in range(cfg.res_blocks)],  # R4k
            nn.ConvTranspose2d(4 * k, 2 * k, 3, stride=2, padding=1, output_padding=1),  # u2k, 14x14
            nn.InstanceNorm2d(2 * k), nn.ReLU(True),
            nn.ConvTranspose2d(2 * k, k, 3, stride=2, padding=1, output_padding=1),  # uk, 28x28
            nn.InstanceNorm2d(k), nn.ReLU(True),
            nn.ReflectionPad2d(3), nn.Conv2d(k, c, 7), nn.Tanh())  # c7s1-3

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Image (n, 3, 28, 28) -> a 5x5 grid of logits, each judging one overlapping patch."""

    def __init__(self, cfg: CycleGANConfig = CycleGANConfig()):
        super().__init__()
        w = cfg.d_width
        self.net = nn.Sequential(
            nn.Conv2d(cfg.channels, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True),  # 14x14, no norm
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.InstanceNorm2d(2 * w), nn.LeakyReLU(0.2, True),  # 7x7
            nn.Conv2d(2 * w, 4 * w, 4, stride=1, padding=1), nn.InstanceNorm2d(4 * w), nn.LeakyReLU(0.2, True),  # 6x6
            nn.Conv2d(4 * w, 1, 4, stride=1, padding=1))  # 5x5

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: N(0, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class CycleGAN(nn.Module):
    """The four networks of a CycleGAN."""

    def __init__(self, cfg: CycleGANConfig = CycleGANConfig()):
        super().__init__()
        self.cfg = cfg
        self.G, self.F = ResnetGenerator(cfg), ResnetGenerator(cfg, cfg.f_width)  # A -> B, B -> A
        self.D_A, self.D_B = PatchDiscriminator(cfg), PatchDiscriminator(cfg)
        self.apply(init_weights)

    def config_dict(self) -> dict:
        return asdict(self.cfg)

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "AB", batch_size: int = 500) -> Tensor:
        """Translate images in [-1, 1] ('AB' with G, 'BA' with F), in batches, in eval mode."""
        net = {"AB": self.G, "BA": self.F}[direction]
        device = next(net.parameters()).device
        return torch.cat([net(chunk.to(device)).cpu() for chunk in images.split(batch_size)])


# ----------------------------------------------------------------------------- losses


def lsgan_d_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Least-squares discriminator loss, halved as in the paper: ((D(real) - 1)^2 + D(fake)^2) / 2."""
    return 0.5 * ((real_scores - 1).square().mean() + fake_scores.square().mean())


def lsgan_g_loss(fake_scores: Tensor) -> Tensor:
    """Least-squares generator loss: (D(G(a)) - 1)^2."""
    return (fake_scores - 1).square().mean()


def cycle_loss(a: Tensor, a_cycled: Tensor, b: Tensor, b_cycled: Tensor, weight_b: float = 1.0) -> Tensor:
    """||F(G(a)) - a||_1 + weight_b ||G(F(b)) - b||_1, each the mean absolute error over pixels."""
    return F_.l1_loss(a_cycled, a) + weight_b * F_.l1_loss(b_cycled, b)


def identity_loss(a: Tensor, f_of_a: Tensor, b: Tensor, g_of_b: Tensor, weight_b: float = 1.0) -> Tensor:
    """||F(a) - a||_1 + weight_b ||G(b) - b||_1: a generator fed its own target domain should change nothing."""
    return F_.l1_loss(f_of_a, a) + weight_b * F_.l1_loss(g_of_b, b)


class ImagePool:
    """The history buffer: D is shown a mix of new fakes and fakes from earlier steps.

    Until `size` images are stored, each new image is stored and returned. After that, each new
    image is returned with probability 1/2; otherwise a random stored image is returned and the new
    one takes its place."""

    def __init__(self, size: int = 50, seed: int = 0):
        self.size = size
        self.images: list[Tensor] = []
        self.random = random.Random(seed)

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        result = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                result.append(image)
            elif self.random.random() < 0.5:
                slot = self.random.randrange(self.size)
                result.append(self.images[slot])
                self.images[slot] = image
            else:
                result.append(image)
        return torch.stack(result)
