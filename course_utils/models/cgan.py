"""Conditional GAN on MNIST (Mirza and Osindero 2014): G and D both see the digit's label.

The course's convention: a conditional G maps the pair (z, y) to the pair (x, y), and D judges the
pair (x, y). The label travels with the image, so the unchanged GANTrainer (Algorithm 1) trains a
conditional GAN: `sample_real` returns (images, labels) and `G.sample_z` returns (z, random labels).

How the label enters:
* G: an embedding of y is concatenated to z (Mirza and Osindero's design) and again to the input of
  every hidden layer, so the label cannot fade away through the depth; otherwise notebook 03's MLP.
* D: y's embedding is concatenated to the pixels (the 2014 design), and the logit adds a projection
  (Miyato and Koyama 2018): logit = psi(phi(x, y)) + <e_y, phi(x, y)>. With concatenation alone D may
  learn to ignore the label; the inner product makes every logit depend on whether the image's
  features point in the label's direction, which pushes G harder towards the requested class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

Pair = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class CGANConfig:
    """Sizes of the conditional MNIST GAN."""

    z_dim: int = 64
    classes: int = 10
    label_dim: int = 16  # size of G's label embedding
    g_hidden: tuple[int, ...] = (256, 512, 1024)
    d_hidden: tuple[int, ...] = (512, 256)
    d_dropout: float = 0.3


class Generator(nn.Module):
    """G: (z (n, z_dim), y (n,)) -> (x (n, 1, 28, 28) in [-1, 1], y)."""

    def __init__(self, cfg: CGANConfig = CGANConfig()):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.classes, cfg.label_dim)
        self.blocks = nn.ModuleList()
        width = cfg.z_dim
        for hidden in cfg.g_hidden:  # each block sees [previous activations, label embedding]
            self.blocks.append(nn.Sequential(nn.Linear(width + cfg.label_dim, hidden), nn.BatchNorm1d(hidden),
                                             nn.LeakyReLU(0.2)))
            width = hidden
        self.out = nn.Sequential(nn.Linear(width + cfg.label_dim, 28 * 28), nn.Tanh())

    def forward(self, pair: Pair) -> Pair:
        z, y = pair
        label = self.embed(y)
        h = z
        for block in self.blocks:
            h = block(torch.cat([h, label], dim=1))
        x = self.out(torch.cat([h, label], dim=1)).reshape(-1, 1, 28, 28)
        return x, y

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, labels: Tensor | None = None) -> Pair:
        """Noise z ~ N(0, I) and labels (uniform over the classes unless given)."""
        z = torch.randn(n, self.cfg.z_dim, generator=generator)
        y = torch.randint(self.cfg.classes, (n,), generator=generator) if labels is None else labels.cpu()
        device = device if device is not None else next(self.parameters()).device
        return z.to(device), y.to(device)

    @torch.no_grad()
    def generate(self, labels: Tensor, seed: int = 0) -> Tensor:
        """Images (n, 1, 28, 28) of the requested digits, noise from `seed` (G is put in eval mode)."""
        self.eval()
        z, y = self.sample_z(len(labels), generator=torch.Generator().manual_seed(seed), labels=labels)
        return self((z, y))[0]

    def config_dict(self) -> dict:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self.cfg).items()}


class Discriminator(nn.Module):
    """D: (x (n, 1, 28, 28), y (n,)) -> logit (n, 1): label concatenated to the pixels, plus a projection."""

    def __init__(self, cfg: CGANConfig = CGANConfig()):
        super().__init__()
        self.cfg = cfg
        self.embed_in = nn.Embedding(cfg.classes, cfg.label_dim)
        layers: list[nn.Module] = []
        width = 28 * 28 + cfg.label_dim
        for hidden in cfg.d_hidden:
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2), nn.Dropout(cfg.d_dropout)]
            width = hidden
        self.phi = nn.Sequential(*layers)  # features of the (image, label) pair
        self.psi = nn.Linear(width, 1)  # the unconditional part of the logit
        self.embed = nn.Embedding(cfg.classes, width)  # e_y: one direction in feature space per class

    def forward(self, pair: Pair) -> Tensor:
        x, y = pair
        features = self.phi(torch.cat([x.flatten(1), self.embed_in(y)], dim=1))
        return self.psi(features) + (self.embed(y) * features).sum(dim=1, keepdim=True)


def labelled_sampler(images: Tensor, labels: Tensor, generator: torch.Generator | None = None):
    """`sample_real(n)` for a conditional GAN: n random (image, label) pairs, on the images' device."""
    def sample(n: int) -> Pair:
        index = torch.randint(len(images), (n,), generator=generator).to(images.device)
        return images[index], labels[index]
    return sample
