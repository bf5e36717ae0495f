"""Normalizing flows with affine coupling layers (RealNVP: Dinh, Sohl-Dickstein and Bengio 2017).

A flow is an invertible map f from data x to a code z = f(x) with a simple density p_Z = N(0, I). The change of
variables gives the exact density of the data:

    log p_X(x) = log p_Z(f(x)) + log |det df/dx|.

An affine coupling layer keeps one part of its input (picked by a binary mask m) and moves the other by a scale
and a shift computed from the kept part:

    y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x)),    log |det dy/dx| = sum over the moved part of s.

Its Jacobian is triangular, so the determinant is that sum, and its inverse is as cheap as the layer itself:
x = m * y + (1 - m) * (y - t(m * y)) * exp(-s(m * y)). Alternating masks let every coordinate move.

`Flow2d` works on points of the plane (notebook 09's two moons and ring). `ImageFlow` works on MNIST: a logit
transform of the dequantised pixels, then checkerboard couplings at 28x28, a squeeze (each 2x2 patch becomes four
channels) and channel couplings at 14x14 and 7x7, all dimensions kept to the end (no factoring out).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_density(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over every dimension but the first: (n,)."""
    return -0.5 * (z.pow(2) + LOG_2PI).flatten(1).sum(1)


class AffineCoupling(nn.Module):
    """One RealNVP coupling: the part where mask = 1 is kept and conditions the scale and shift of the rest.

    `net` maps the masked input (same shape as x) to 2x its channels: the raw scale and the shift. The scale is
    `bound * tanh(raw / bound)`, so exp(s) stays within exp(+-bound) (a layer cannot blow up at the start)."""

    def __init__(self, mask: Tensor, net: nn.Module, bound: float = 2.0):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = net
        self.bound = bound

    def _scale_and_shift(self, kept: Tensor) -> tuple[Tensor, Tensor]:
        raw_scale, shift = self.net(kept).chunk(2, dim=1)
        moved = 1 - self.mask
        scale = self.bound * torch.tanh(raw_scale / self.bound) * moved
        return scale, shift * moved

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y and log |det dy/dx| per example (n,)."""
        scale, shift = self._scale_and_shift(x * self.mask)
        y = x * self.mask + (1 - self.mask) * (x * scale.exp() + shift)
        return y, scale.flatten(1).sum(1)

    def inverse(self, y: Tensor) -> Tensor:
        scale, shift = self._scale_and_shift(y * self.mask)
        return y * self.mask + (1 - self.mask) * (y - shift) * (-scale).exp()


# ----------------------------------------------------------------------------- points of the plane


@dataclass(frozen=True)
class Flow2dConfig:
    """A RealNVP on 2-D points: `layers` couplings whose masks alternate between the two coordinates."""

    layers: int = 8
    hidden: int = 64

    def __post_init__(self):
        for name in ("layers", "hidden"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"Flow2dConfig.{name} must be a positive integer, got {getattr(self, name)!r}")


def _mlp(hidden: int) -> nn.Module:
    net = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 4))
    nn.init.zeros_(net[-1].weight)  # every coupling starts as the identity
    nn.init.zeros_(net[-1].bias)
    return net


class Flow2d(nn.Module):
    """x (n, 2) -> z (n, 2); `log_prob(x)` is the exact density, `sample(n)` draws z ~ N(0, I) and inverts."""

    def __init__(self, cfg: Flow2dConfig = Flow2dConfig()):
        super().__init__()
        self.cfg = cfg
        masks = [torch.tensor([1.0, 0.0]) if i % 2 == 0 else torch.tensor([0.0, 1.0]) for i in range(cfg.layers)]
        self.layers = nn.ModuleList(AffineCoupling(mask, _mlp(cfg.hidden)) for mask in masks)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """z = f(x) and log |det df/dx| per point."""
        if x.dim() != 2 or x.shape[1] != 2:
            raise ValueError(f"Flow2d takes points of shape (n, 2); got {tuple(x.shape)}")
        log_det = torch.zeros(len(x), device=x.device)
        for layer in self.layers:
            x, layer_log_det = layer(x)
            log_det = log_det + layer_log_det
        return x, log_det

    def inverse(self, z: Tensor) -> Tensor:
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x: Tensor) -> Tensor:
        z, log_det = self(x)
        return standard_normal_log_density(z) + log_det

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        z = torch.randn(n, 2, generator=generator).to(next(self.parameters()).device)
        return self.inverse(z)

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints): tuples as lists."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self.cfg).items()}


# ----------------------------------------------------------------------------- MNIST


@dataclass(frozen=True)
class ImageFlowConfig:
    """The MNIST flow: couplings per scale (28x28 checkerboard, then 14x14 and 7x7 channel halves), the width of
    each coupling's network per scale, and the logit transform's alpha (RealNVP's preprocessing)."""

    couplings: tuple[int, int, int] = (4, 4, 4)
    width: tuple[int, int, int] = (32, 64, 96)
    alpha: float = 1e-4
    image_size: int = 28

    def __post_init__(self):
        if len(self.couplings) != 3 or len(self.width) != 3 or min(*self.couplings, *self.width) < 1:
            raise ValueError(f"ImageFlowConfig needs three positive couplings and three positive widths (one per "
                             f"scale: 28, 14, 7); got couplings={self.couplings}, width={self.width}")
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(f"ImageFlowConfig.alpha must be in (0, 0.5), got {self.alpha}")
        if self.image_size % 4:
            raise ValueError(f"the flow squeezes twice: image_size must be a multiple of 4, got {self.image_size}")


def _conv_net(channels: int, width: int) -> nn.Module:
    """The scale-and-shift network of a coupling on `channels` channels: three 3x3 convolutions, the last zeroed."""
    net = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(width, 2 * channels, 3, padding=1))
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


def checkerboard(size: int, parity: int) -> Tensor:
    """A (1, 1, size, size) mask of alternating 1s and 0s; parity 1 swaps them."""
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return ((rows + cols + parity) % 2 == 0).float()[None, None]


def channel_mask(channels: int, parity: int) -> Tensor:
    """A (1, channels, 1, 1) mask keeping the first half of the channels (parity 1: the second half)."""
    mask = torch.zeros(1, channels, 1, 1)
    half = channels // 2
    mask[:, half:] = 1.0 if parity else 0.0
    mask[:, :half] = 0.0 if parity else 1.0
    return mask


def squeeze(x: Tensor) -> Tensor:
    """(n, c, h, w) -> (n, 4c, h/2, w/2): each 2x2 patch becomes four channels (invertible, log det 0)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x: Tensor) -> Tensor:
    """The inverse of `squeeze`."""
    n, c, h, w = x.shape
    return x.reshape(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c // 4, 2 * h, 2 * w)


class ImageFlow(nn.Module):
    """Dequantised MNIST in [0, 1) (n, 1, 28, 28) -> z of the same size, with the exact log-density of x.

    `log_prob(x)` is log p(x) on [0, 1)^784, the logit transform's Jacobian included, so that
    metrics.discrete_nll_nats turns it into the bound on -log P(8-bit image) that notebook 02 uses for the mixture."""

    def __init__(self, cfg: ImageFlowConfig = ImageFlowConfig()):
        super().__init__()
        self.cfg = cfg
        side = cfg.image_size
        self.scales = nn.ModuleList()
        for level, (count, width) in enumerate(zip(cfg.couplings, cfg.width)):
            channels = 4**level
            layers = []
            for i in range(count):
                mask = checkerboard(side >> level, i % 2) if level == 0 else channel_mask(channels, i % 2)
                layers.append(AffineCoupling(mask, _conv_net(channels, width)))
            self.scales.append(nn.ModuleList(layers))

    # -- the logit transform: [0, 1) -> R, so that the couplings see an unbounded variable
    def _to_logit(self, x: Tensor) -> tuple[Tensor, Tensor]:
        alpha = self.cfg.alpha
        s = alpha + (1 - 2 * alpha) * x
        y = torch.log(s) - torch.log1p(-s)
        log_det = (math.log(1 - 2 * alpha) - torch.log(s) - torch.log1p(-s)).flatten(1).sum(1)
        return y, log_det

    def _from_logit(self, y: Tensor) -> Tensor:
        return ((torch.sigmoid(y) - self.cfg.alpha) / (1 - 2 * self.cfg.alpha)).clamp(0.0, 1.0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """z = f(x) (n, 16, 7, 7 for MNIST) and log |det df/dx| per image."""
        size = self.cfg.image_size
        if x.dim() != 4 or x.shape[1:] != (1, size, size):
            raise ValueError(f"ImageFlow takes images of shape (n, 1, {size}, {size}) in [0, 1); got {tuple(x.shape)}")
        h, log_det = self._to_logit(x)
        for level, layers in enumerate(self.scales):
            if level:
                h = squeeze(h)
            for layer in layers:
                h, layer_log_det = layer(h)
                log_det = log_det + layer_log_det
        return h, log_det

    def inverse(self, z: Tensor) -> Tensor:
        h = z
        for level in reversed(range(len(self.scales))):
            for layer in reversed(self.scales[level]):
                h = layer.inverse(h)
            if level:
                h = unsqueeze(h)
        return self._from_logit(h)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x), nats, per image, for x in [0, 1)."""
        z, log_det = self(x)
        return standard_normal_log_density(z) + log_det

    def code_shape(self) -> tuple[int, int, int]:
        side = self.cfg.image_size // 4
        return (16, side, side)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """n images in [0, 1] (n, 1, 28, 28): z ~ N(0, temperature^2 I) mapped back through the flow."""
        z = temperature * torch.randn(n, *self.code_shape(), generator=generator)
        return self.inverse(z.to(next(self.parameters()).device))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints): tuples as lists."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self.cfg).items()}
