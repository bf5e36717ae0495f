"""DCGAN for 32x32 colour images (Radford, Metz and Chintala 2016), the architecture guidelines in code.

The paper's guidelines, and where each one is:
1. No pooling: D downsamples with strided convolutions, G upsamples with fractionally strided
   (transposed) convolutions.                                       -> nn.Conv2d / nn.ConvTranspose2d, stride 2
2. Batch norm in both networks, except G's output layer and D's input layer.   -> nn.BatchNorm2d
3. No fully connected hidden layers: z is reshaped to a 1x1 "image" and every layer is a convolution.
4. ReLU in G for all layers except the output, which uses Tanh (pixels in [-1, 1]).
5. LeakyReLU (slope 0.2) in D for all layers.
Weights start from N(0, 0.02) (the paper's initialisation); batch-norm scales from N(1, 0.02).

`DCGANConfig.d_norm` chooses how D's hidden layers are normalised (notebook 07):
- "batch": guideline 2, the DCGAN as published (the default; every committed DCGAN uses it).
- "spectral": every layer of D (convolutions, first and last included) divides its weight by its largest
  singular value, estimated by one power iteration per step (Miyato et al. 2018, "Spectral
  normalization for GANs"; torch.nn.utils.parametrizations.spectral_norm), and D has no batch norm.
- "none": no normalisation in D, what WGAN-GP's critic needs: its gradient penalty is taken per sample,
  and batch norm makes each critic score depend on the whole batch (Gulrajani et al. 2017, Section 4,
  who use layer norm or nothing in the critic).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

D_NORMS = ("batch", "spectral", "none")


@dataclass(frozen=True)
class DCGANConfig:
    """Sizes of the 32x32 DCGAN: width = channels of the widest hidden layer's base (the paper's 64-ish)."""

    z_dim: int = 100
    g_width: int = 64  # G's channels: 4w at 4x4, 2w at 8x8, w at 16x16
    d_width: int = 64  # D's channels: w at 16x16, 2w at 8x8, 4w at 4x4
    channels: int = 3
    d_norm: str = "batch"  # D's normalisation: "batch" (the paper's), "spectral" or "none" (see above)

    def __post_init__(self):
        if self.d_norm not in D_NORMS:
            raise ValueError(f"DCGANConfig.d_norm must be one of {D_NORMS}; got {self.d_norm!r}")


def init_weights(module: nn.Module) -> None:
    """The DCGAN initialisation: conv weights ~ N(0, 0.02), batch-norm scale ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    """G: z (n, z_dim) -> x (n, 3, 32, 32) in [-1, 1]."""

    def __init__(self, cfg: DCGANConfig = DCGANConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.g_width
        self.net = nn.Sequential(
            # (n, z_dim, 1, 1) -> (n, 4w, 4, 4): a transposed conv on a 1x1 "image" (no Linear layer)
            nn.ConvTranspose2d(cfg.z_dim, 4 * w, 4, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(4 * w), nn.ReLU(True),
            # -> (n, 2w, 8, 8): fractionally strided, doubles the size
            nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * w), nn.ReLU(True),
            # -> (n, w, 16, 16)
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w), nn.ReLU(True),
            # -> (n, 3, 32, 32): no batch norm on the output layer; Tanh puts pixels in [-1, 1]
            nn.ConvTranspose2d(w, cfg.channels, 4, stride=2, padding=1),
            nn.Tanh(),
        )
        self.apply(init_weights)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.reshape(len(z), -1, 1, 1))

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
        """Noise z ~ N(0, I), shape (n, z_dim), drawn on G's device unless `generator` lives elsewhere."""
        device = torch.device(device) if device is not None else next(self.parameters()).device
        z = torch.randn(n, self.cfg.z_dim, generator=generator,
                        device=generator.device if generator is not None else device)
        return z.to(device)

    def config_dict(self) -> dict:
        return asdict(self.cfg)


class Discriminator(nn.Module):
    """D: x (n, 3, 32, 32) -> logit (n, 1) (a critic's score for the Wasserstein loss)."""

    def __init__(self, cfg: DCGANConfig = DCGANConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.d_width
        batch_norm = cfg.d_norm == "batch"

        def hidden(c_in: int, c_out: int) -> list[nn.Module]:
            # a strided conv halving the size, batch norm only in the paper's D (whose conv then needs no bias)
            conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not batch_norm)
            return [conv, nn.BatchNorm2d(c_out)] if batch_norm else [conv]

        self.net = nn.Sequential(
            # (n, 3, 32, 32) -> (n, w, 16, 16): strided conv instead of pooling; no batch norm on the input layer
            nn.Conv2d(cfg.channels, w, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
            *hidden(w, 2 * w), nn.LeakyReLU(0.2, True),  # -> (n, 2w, 8, 8)
            *hidden(2 * w, 4 * w), nn.LeakyReLU(0.2, True),  # -> (n, 4w, 4, 4)
            # -> (n, 1, 1, 1): one logit, a 4x4 convolution instead of a fully connected layer
            nn.Conv2d(4 * w, 1, 4, stride=1, padding=0),
        )
        self.apply(init_weights)
        if cfg.d_norm == "spectral":  # wrap every convolution, after the N(0, 0.02) start
            for index, layer in enumerate(self.net):
                if isinstance(layer, nn.Conv2d):
                    self.net[index] = spectral_norm(layer)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).reshape(-1, 1)
