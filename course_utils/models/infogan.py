"""InfoGAN for MNIST (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets"): G reads noise z and a latent code c; D has a second head, Q, that
reads c back from the image.

The latent vector G receives is one tensor, [z | one-hot categorical code | continuous codes], so the course's
GANTrainer can hand it around like any z; `split_latent` takes it apart. The paper's MNIST set-up (its
appendix C.1): z of 62 dimensions, one categorical code with 10 values, two continuous codes uniform on [-1, 1].

Networks (the paper's Table 1 for MNIST, which follows the DCGAN guidelines):
- G: FC 1024, BN, ReLU -> FC 7x7x128, BN, ReLU -> 4x4 up-convolution to 64 channels (14x14), BN, ReLU ->
  4x4 up-convolution to 1 channel (28x28), Tanh.
- D and Q share a trunk: 4x4 convolution to 64 channels (14x14), LeakyReLU -> 4x4 convolution to 128 (7x7), BN,
  LeakyReLU -> FC 1024, BN, LeakyReLU. D's head: FC to one logit. Q's head: FC 128, BN, LeakyReLU -> the
  categorical code's logits, and the mean and log standard deviation of a Gaussian over each continuous code
  (the paper treats the continuous codes as factored Gaussians).

With `image_size=32` the same networks draw the course's 32x32 shapes (notebook 08's second half): the smallest
feature maps are 8x8 instead of 7x7. `hidden` sets the two 1024-unit layers (G's first, D's last), which hold most
of the weights: the course's pretrained InfoGANs use 128, so that their files stay small enough to commit.

InfoGAN-CR (Lin et al. 2020, "InfoGAN-CR and ModelCentrality: Self-supervised Model Training and Selection for
Disentangling GANs") adds a third network, H (`ContrastiveHead`): it sees two images whose latents share one
continuous code (and the noise), the other codes drawn independently (`pair_latents`), and says which code they
share. Its reference code for dSprites: 5 continuous codes and 5 noise dimensions, all uniform on [-1, 1].

`D(x)` returns the logit alone (what the GAN losses read); `D.read_codes(x)` and `D.logit_and_codes(x)` give Q's
outputs, the latter with one pass through the trunk for both heads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .dcgan import init_weights


@dataclass(frozen=True)
class InfoGANConfig:
    """Sizes of the MNIST InfoGAN (the paper's values by default)."""

    z_dim: int = 62
    categories: int = 10  # values of the one categorical code (0: none)
    continuous: int = 2  # continuous codes, each uniform on [-1, 1]
    width: int = 64  # channels of the first convolution; the others are multiples
    image_size: int = 28  # 28 for MNIST, 32 for the course's shapes; a multiple of 4
    hidden: int = 1024  # units of G's first and D's last fully connected layer (the paper's 1024)

    def __post_init__(self):
        for name in ("z_dim", "categories", "continuous", "width", "image_size", "hidden"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"InfoGANConfig.{name} must be a non-negative integer, got {getattr(self, name)!r}")
        if self.categories == 1:
            raise ValueError("InfoGANConfig.categories must be 0 (no categorical code) or at least 2: a code with one "
                             "value carries no information")
        if self.categories + self.continuous == 0:
            raise ValueError("an InfoGAN needs at least one code (categories >= 2 or continuous >= 1)")
        for name in ("width", "hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"InfoGANConfig.{name} must be at least 1, got {getattr(self, name)}")
        if self.image_size < 8 or self.image_size % 4:
            raise ValueError(f"InfoGANConfig.image_size must be a multiple of 4 of at least 8 (28 for MNIST, 32 for "
                             f"the shapes), got {self.image_size}")

    @property
    def latent_dim(self) -> int:
        return self.z_dim + self.categories + self.continuous

    @property
    def base(self) -> int:
        """Side of the smallest feature map (7 for 28x28 images, 8 for 32x32)."""
        return self.image_size // 4


class Latent(NamedTuple):
    """A latent vector taken apart: noise (n, z_dim), categorical code as indices (n,) (empty without one),
    continuous codes (n, continuous)."""

    z: Tensor
    category: Tensor
    continuous: Tensor


class Codes(NamedTuple):
    """Q's reading of an image: categorical logits (n, categories), continuous means and log standard deviations
    (n, continuous)."""

    logits: Tensor
    mean: Tensor
    log_std: Tensor


def split_latent(latent: Tensor, cfg: InfoGANConfig) -> Latent:
    """[z | one-hot | continuous] -> Latent(z, category indices, continuous)."""
    if latent.dim() != 2 or latent.shape[1] != cfg.latent_dim:
        raise ValueError(f"a latent vector of this InfoGAN has shape (n, {cfg.latent_dim}) = z {cfg.z_dim} + "
                         f"one-hot {cfg.categories} + continuous {cfg.continuous}; got {tuple(latent.shape)}")
    z, one_hot, continuous = latent.split([cfg.z_dim, cfg.categories, cfg.continuous], dim=1)
    category = one_hot.argmax(dim=1) if cfg.categories else torch.zeros(len(latent), dtype=torch.long,
                                                                        device=latent.device)
    return Latent(z, category, continuous)


def make_latent(z: Tensor, category: Tensor, continuous: Tensor, cfg: InfoGANConfig) -> Tensor:
    """The latent vector [z | one-hot(category) | continuous] for chosen codes (the traversal grids use it)."""
    one_hot = F.one_hot(category.long(), cfg.categories).to(z.dtype) if cfg.categories else z[:, :0]
    return torch.cat([z, one_hot, continuous.to(z.dtype)], dim=1)


class Generator(nn.Module):
    """G: latent (n, z_dim + categories + continuous) -> x (n, 1, image_size, image_size) in [-1, 1]."""

    def __init__(self, cfg: InfoGANConfig = InfoGANConfig()):
        super().__init__()
        self.cfg = cfg
        w, b, h = cfg.width, cfg.base, cfg.hidden
        self.fc = nn.Sequential(nn.Linear(cfg.latent_dim, h), nn.BatchNorm1d(h), nn.ReLU(),
                                nn.Linear(h, b * b * 2 * w), nn.BatchNorm1d(b * b * 2 * w), nn.ReLU())
        self.up = nn.Sequential(nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),
                                nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())
        self.apply(init_weights)

    def forward(self, latent: Tensor) -> Tensor:
        b = self.cfg.base
        return self.up(self.fc(latent).reshape(len(latent), 2 * self.cfg.width, b, b))

    def sample_z(self, n: int, generator: torch.Generator | None = None,
                 device: torch.device | str | None = None) -> Tensor:
        """Latent vectors with z ~ N(0, I), a uniform categorical code and continuous codes ~ U(-1, 1)."""
        cfg = self.cfg
        z = torch.randn(n, cfg.z_dim, generator=generator)
        category = torch.randint(max(cfg.categories, 1), (n,), generator=generator)
        continuous = torch.rand(n, cfg.continuous, generator=generator) * 2 - 1
        device = device if device is not None else next(self.parameters()).device
        return make_latent(z, category, continuous, cfg).to(device)

    def config_dict(self) -> dict:
        return asdict(self.cfg)


class Discriminator(nn.Module):
    """D: x (n, 1, image_size, image_size) -> logit (n, 1); its Q head reads the codes back (`read_codes`)."""

    def __init__(self, cfg: InfoGANConfig = InfoGANConfig()):
        super().__init__()
        self.cfg = cfg
        w, b, h = cfg.width, cfg.base, cfg.hidden
        self.trunk = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.1),
                                   nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.1),
                                   nn.Flatten(), nn.Linear(2 * w * b * b, h), nn.BatchNorm1d(h),
                                   nn.LeakyReLU(0.1))
        self.d_head = nn.Linear(h, 1)
        self.q_head = nn.Sequential(nn.Linear(h, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.1),
                                    nn.Linear(128, cfg.categories + 2 * cfg.continuous))
        self.apply(init_weights)

    def forward(self, x: Tensor) -> Tensor:
        return self.d_head(self.trunk(x))

    def _codes(self, features: Tensor) -> Codes:
        logits, mean, log_std = self.q_head(features).split(
            [self.cfg.categories, self.cfg.continuous, self.cfg.continuous], dim=1)
        return Codes(logits, mean, log_std.clamp(-5.0, 2.0))  # a floor on the std keeps the Gaussian term finite

    def read_codes(self, x: Tensor) -> Codes:
        """Q(c | x): categorical logits and a Gaussian (mean, log std) per continuous code."""
        return self._codes(self.trunk(x))

    def logit_and_codes(self, x: Tensor) -> tuple[Tensor, Codes]:
        """D's logit and Q's codes from one pass through the shared trunk."""
        features = self.trunk(x)
        return self.d_head(features), self._codes(features)

    def config_dict(self) -> dict:
        return asdict(self.cfg)


class ContrastiveHead(nn.Module):
    """InfoGAN-CR's H: two images (each (n, 1, image_size, image_size)) -> logits (n, continuous) over which
    continuous code their latents share. The images are stacked as two channels, so H compares them pixel by pixel
    from its first layer."""

    def __init__(self, cfg: InfoGANConfig = InfoGANConfig()):
        super().__init__()
        if cfg.continuous < 2:
            raise ValueError(f"InfoGAN-CR's H tells continuous codes apart: it needs at least 2, the config has "
                             f"{cfg.continuous}")
        self.cfg = cfg
        w, b = cfg.width, cfg.base
        self.net = nn.Sequential(nn.Conv2d(2, w, 4, 2, 1), nn.LeakyReLU(0.1),
                                 nn.Conv2d(w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.1),
                                 nn.Flatten(), nn.Linear(2 * w * b * b, 128), nn.LeakyReLU(0.1),
                                 nn.Linear(128, cfg.continuous))
        self.apply(init_weights)

    def forward(self, x_a: Tensor, x_b: Tensor) -> Tensor:
        return self.net(torch.cat([x_a, x_b], dim=1))

    def config_dict(self) -> dict:
        return asdict(self.cfg)


def pair_latents(latent: Tensor, cfg: InfoGANConfig,
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """InfoGAN-CR's pairs: for each latent vector, a partner with the same noise, the same categorical code and the
    same value of one continuous code (chosen uniformly), its other continuous codes drawn afresh from U(-1, 1).
    Returns (partners, index of the shared code); each partner is, alone, a draw from G's prior."""
    parts = split_latent(latent, cfg)
    n = len(latent)
    shared = torch.randint(cfg.continuous, (n,), generator=generator).to(latent.device)
    fresh = (torch.rand(n, cfg.continuous, generator=generator) * 2 - 1).to(latent.device, latent.dtype)
    keep = F.one_hot(shared, cfg.continuous).bool()
    continuous = torch.where(keep, parts.continuous, fresh)
    return make_latent(parts.z, parts.category, continuous, cfg), shared
