"""Two MNIST classifiers of different families: the course's readers of generated digits.

Published FID uses Inception-v3 features of natural images, which say little about digits and
cannot be downloaded here. We train the first reader ourselves (``python -m course_utils.pretrain
mnist_classifier``) and measure Frechet distance, KID, precision/recall and class coverage in its
penultimate layer, as done for MNIST in e.g. Binkowski et al. 2018 (KID) with a LeNet.

A classifier can be lenient on generated images in its own way, so class accuracy and coverage
are also read by a second reader of another family (``mnist_classifier2``): a small residual
network (He et al. 2016) with group normalisation (Wu and He 2018) and global average pooling,
trained with stronger augmentation (rotations, shifts, scaling, thicker and thinner strokes).
A target holds only when it holds under both readers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ClassifierConfig:
    """Widths of the MNIST classifier; the defaults reach >= 99% test accuracy in 3 CPU epochs."""

    channels: int = 32
    features: int = 128  # the penultimate layer: the metrics' feature space


class MNISTClassifier(nn.Module):
    """Two conv blocks and two linear layers: x (n, 1, 28, 28) in [-1, 1] -> 10 logits."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
            nn.MaxPool2d(2),  # -> c x 14 x 14
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.MaxPool2d(2),  # -> 2c x 7 x 7
            nn.Flatten(),
            nn.Linear(2 * c * 7 * 7, cfg.features), nn.BatchNorm1d(cfg.features), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(cfg.features, 10))

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features, shape (n, cfg.features)."""
        return self.body(x.reshape(-1, 1, 28, 28))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return asdict(self.cfg)


class ResidualBlock(nn.Module):
    """x + conv(act(norm(conv(act(norm(x)))))): two 3x3 convolutions around an identity path."""

    def __init__(self, channels: int, groups: int = 8):
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


@dataclass(frozen=True)
class ResidualClassifierConfig:
    """Widths of the second reader's three stages (28x28, 14x14, 7x7)."""

    widths: tuple[int, ...] = (24, 48, 96)


class ResidualClassifier(nn.Module):
    """The second reader: 5x5 stem, strided convolutions, residual blocks with GroupNorm, global
    average pooling; x (n, 1, 28, 28) in [-1, 1] -> 10 logits. No max-pooling, no BatchNorm."""

    def __init__(self, cfg: ResidualClassifierConfig = ResidualClassifierConfig()):
        super().__init__()
        self.cfg = cfg
        w0, w1, w2 = cfg.widths
        self.body = nn.Sequential(
            nn.Conv2d(1, w0, 5, padding=2),  # -> w0 x 28 x 28
            nn.GroupNorm(8, w0), nn.SiLU(), nn.Conv2d(w0, w1, 3, stride=2, padding=1),  # -> w1 x 14 x 14
            ResidualBlock(w1),
            nn.GroupNorm(8, w1), nn.SiLU(), nn.Conv2d(w1, w2, 3, stride=2, padding=1),  # -> w2 x 7 x 7
            ResidualBlock(w2),
            nn.GroupNorm(8, w2), nn.SiLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # -> w2: the metrics' feature space
        )
        self.head = nn.Linear(w2, 10)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features (globally pooled), shape (n, cfg.widths[-1])."""
        return self.body(x.reshape(-1, 1, 28, 28))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return {"widths": list(self.cfg.widths)}


def train_classifier(model: nn.Module, images: Tensor, labels: Tensor, epochs: int = 3,
                     batch_size: int = 128, lr: float = 2e-3, seed: int = 0, progress: bool = True,
                     augment=None, label_smoothing: float = 0.0, loss=None, name: str = "classifier") -> list[float]:
    """Train on images in [-1, 1] with `augment(x, generator)` (default: light random shifts);
    return the loss of each epoch. `loss(model, x, labels)` replaces the default, the cross-entropy of
    model(x) (for a model with several outputs, e.g. the shapes reader)."""
    from tqdm.auto import tqdm

    augment = augment or random_shift
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(images) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    losses = []
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        batches = range(len(images) // batch_size)
        for i in tqdm(batches, desc=f"{name} epoch {epoch + 1}/{epochs}", disable=not progress, mininterval=1):
            index = order[i * batch_size:(i + 1) * batch_size]
            x = augment(images[index], generator)
            value = loss(model, x, labels[index]) if loss is not None else \
                nn.functional.cross_entropy(model(x), labels[index], label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            schedule.step()
            total += value.item()
        losses.append(total / len(batches))
    model.eval()
    return losses


def random_shift(x: Tensor, generator: torch.Generator, pixels: int = 2) -> Tensor:
    """Shift the batch by up to `pixels` in x and y, one draw for the whole batch (padding with the background, -1)."""
    padded = nn.functional.pad(x.reshape(-1, 1, 28, 28), [pixels] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy:dy + 28, dx:dx + 28]


def random_distortion(x: Tensor, generator: torch.Generator, degrees: float = 12.0, pixels: float = 2.5,
                      scale: float = 0.1) -> Tensor:
    """Per image: a random rotation (+-degrees), shift (+-pixels), scaling (1 +- scale), then one of
    thicker strokes (2x2 dilation), thinner strokes (2x2 erosion) or no change, a third each."""
    x = x.reshape(-1, 1, 28, 28)
    n = len(x)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * degrees * torch.pi / 180
    factor = 1 + (torch.rand(n, generator=generator) * 2 - 1) * scale
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * pixels * 2 / 28  # in grid units ([-1, 1] = 28 px)
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    # grid_sample pads with 0; sample x + 1 so that the padding is the background (-1) after shifting back
    x = nn.functional.grid_sample(x + 1, grid, align_corners=False) - 1
    dilated = nn.functional.max_pool2d(nn.functional.pad(x, [0, 1, 0, 1], value=-1.0), 2, stride=1)
    eroded = -nn.functional.max_pool2d(nn.functional.pad(-x, [0, 1, 0, 1], value=1.0), 2, stride=1)
    choice = torch.randint(3, (n, 1, 1, 1), generator=generator)
    return torch.where(choice == 0, dilated, torch.where(choice == 1, eroded, x))


@torch.no_grad()
def accuracy(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    """Fraction of correctly classified images."""
    model.eval()
    correct = sum((model(images[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum().item()
                  for i in range(0, len(images), batch_size))
    return correct / len(images)


@dataclass(frozen=True)
class ShapesReaderConfig:
    """Widths of notebook 08's reader of the 32x32 shapes."""

    channels: int = 32
    features: int = 64  # the penultimate layer: the feature space of the shapes' Frechet distance


# What the shapes reader names, and how many values each has (course_utils.data.shapes): every factor but the
# rotation, which a square's or an ellipse's symmetry makes ambiguous.
SHAPES_READER_FACTORS = {"shape": 3, "scale": 6, "x": 32, "y": 32}


class ShapesReader(nn.Module):
    """x (n, 1, 32, 32) in [-1, 1] -> logits over each factor in SHAPES_READER_FACTORS, concatenated (73 = 3 + 6 +
    32 + 32); `features(x)` is the penultimate layer, the space in which notebook 08 compares generated shapes with
    real ones."""

    def __init__(self, cfg: ShapesReaderConfig = ShapesReaderConfig()):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),  # -> c x 16 x 16
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.ReLU(),  # -> 2c x 8 x 8
            nn.Flatten(), nn.Linear(2 * c * 8 * 8, cfg.features), nn.BatchNorm1d(cfg.features), nn.ReLU())
        self.head = nn.Linear(cfg.features, sum(SHAPES_READER_FACTORS.values()))

    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features, shape (n, cfg.features)."""
        if x.dim() != 4 or x.shape[1:] != (1, 32, 32):
            raise ValueError(f"the shapes reader reads images of shape (n, 1, 32, 32) in [-1, 1]; got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))

    def read(self, x: Tensor) -> dict[str, Tensor]:
        """Each factor's logits, by name."""
        return dict(zip(SHAPES_READER_FACTORS, self(x).split(list(SHAPES_READER_FACTORS.values()), dim=1)))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints)."""
        return asdict(self.cfg)
