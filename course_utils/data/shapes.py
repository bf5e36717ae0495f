"""Shapes with known factors: a dSprites-like data set that the course draws itself (notebook 08).

Every image is one white shape on black, fixed by five factors, each on a grid of values:

    shape     square, ellipse, heart                               3 values
    scale     0.5 to 1.0 of the largest size                       6 values
    rotation  0 to 2 pi, the end excluded (anticlockwise)         40 values
    x, y      the centre, from 1/4 to 3/4 of the image's side     32 values each

as in dSprites (Matthey et al. 2017: 3 x 6 x 40 x 32 x 32 = 737,280 combinations). The images are not stored:
`render` draws any factors on demand (0.4 s per 1,000 images of 32x32 on one busy core of the course's machine,
measured), and `sample_shapes` draws seeded random factors and renders them, so a data set is a seed and a size.
Pixels are the share of a pixel's area inside the shape, estimated at `supersample`^2 points per pixel, as uint8.

Rotation is what the shape's own symmetry lets it be: a square turned by a quarter turn, or an ellipse by a half
turn, is the same image (dSprites has the same property). `ROTATION_PERIOD` gives each shape's period, for
metrics that want a factor the images determine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

FACTOR_NAMES = ("shape", "scale", "rotation", "x", "y")
SHAPE_NAMES = ("square", "ellipse", "heart")
# radians after which each shape looks the same again
ROTATION_PERIOD = {"square": math.pi / 2, "ellipse": math.pi, "heart": 2 * math.pi}


@dataclass(frozen=True)
class ShapesSpec:
    """The image size and the number of values of each factor."""

    size: int = 32
    scales: int = 6
    rotations: int = 40
    positions: int = 32
    supersample: int = 2

    def __post_init__(self):
        for name in ("size", "scales", "rotations", "positions", "supersample"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"ShapesSpec.{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.size < 8:
            raise ValueError(f"ShapesSpec.size must be at least 8 pixels for the shapes to be told apart, got "
                             f"{self.size}")

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        """Number of values of each factor, in the order of FACTOR_NAMES."""
        return (len(SHAPE_NAMES), self.scales, self.rotations, self.positions, self.positions)

    def values(self, factors: Tensor) -> dict[str, Tensor]:
        """The factors' values: scale (a fraction of the largest), rotation (radians), x and y (centre, as a share
        of the image's side)."""
        factors = self.check(factors)
        scale = torch.linspace(0.5, 1.0, self.scales) if self.scales > 1 else torch.ones(1)
        position = torch.linspace(0.25, 0.75, self.positions) if self.positions > 1 else torch.full((1,), 0.5)
        return {"shape": factors[:, 0], "scale": scale[factors[:, 1]],
                "rotation": factors[:, 2].double() * (2 * math.pi / self.rotations),
                "x": position[factors[:, 3]], "y": position[factors[:, 4]]}

    def check(self, factors: Tensor) -> Tensor:
        """factors as an int64 (n, 5) tensor, every column within its factor's range; a clear error otherwise."""
        factors = torch.as_tensor(factors)
        if factors.dim() != 2 or factors.shape[1] != len(FACTOR_NAMES) or factors.dtype.is_floating_point:
            raise ValueError(f"factors must be an integer tensor of shape (n, {len(FACTOR_NAMES)}) with columns "
                             f"{FACTOR_NAMES}, got {tuple(factors.shape)} {factors.dtype}")
        factors = factors.long()
        for column, (name, size) in enumerate(zip(FACTOR_NAMES, self.factor_sizes)):
            if len(factors) and (factors[:, column].min() < 0 or factors[:, column].max() >= size):
                raise ValueError(f"factor {name!r} takes values 0..{size - 1} with this spec, got "
                                 f"{factors[:, column].min().item()}..{factors[:, column].max().item()}")
        return factors


# The largest shape's half-width as a share of the image's side: with centres in [0.25, 0.75], the largest
# shape, turned any way, stays inside the image.
HALF_WIDTH = 0.2


def _inside(shape: int, u: Tensor, v: Tensor) -> Tensor:
    """Whether points (u, v), in the shape's own frame (half-width 1), are inside it."""
    if SHAPE_NAMES[shape] == "square":
        return (u.abs() <= 0.8) & (v.abs() <= 0.8)  # the square's area close to the ellipse's and the heart's
    if SHAPE_NAMES[shape] == "ellipse":
        return u ** 2 + (v / 0.55) ** 2 <= 1.0
    # heart: the curve (x^2 + y^2 - 1)^3 = x^2 y^3 spans x in [-1.14, 1.14], y in [-1, 1.24]: scaled into the unit box
    x, y = u * 1.14, v * 1.14 + 0.12
    return (x ** 2 + y ** 2 - 1) ** 3 - x ** 2 * y ** 3 <= 0


def render(factors: Tensor, spec: ShapesSpec = ShapesSpec(), chunk: int = 2048) -> Tensor:
    """Images of the given factors: uint8 (n, 1, size, size), white shapes on black; y grows downwards."""
    values = spec.values(factors)  # checks the factors
    n, s, k = len(values["shape"]), spec.size, spec.supersample
    # sample points: k x k per pixel, at the centres of a k x k sub-grid, in image coordinates [0, 1]
    sub = (torch.arange(s * k, dtype=torch.float32) + 0.5) / (s * k)
    py, px = torch.meshgrid(sub, sub, indexing="ij")
    images = torch.empty(n, 1, s, s, dtype=torch.uint8)
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        half = (HALF_WIDTH * values["scale"][part]).float()[:, None, None]
        angle = values["rotation"][part].float()[:, None, None]
        dx, dy = px - values["x"][part][:, None, None], py - values["y"][part][:, None, None]
        # rotate the points by -angle into the shape's frame (the shape turns by +angle, anticlockwise on screen)
        cos, sin = torch.cos(angle), torch.sin(angle)
        u, v = (cos * dx - sin * dy) / half, (sin * dx + cos * dy) / half
        inside = torch.zeros(u.shape, dtype=torch.bool)
        for shape in range(len(SHAPE_NAMES)):
            rows = values["shape"][part] == shape
            if rows.any():
                inside[rows] = _inside(shape, u[rows], -v[rows])  # -v: the heart's point downwards on screen
        cover = inside.float().reshape(-1, s, k, s, k).mean(dim=(2, 4))
        images[part, 0] = (cover * 255).round().to(torch.uint8)
    return images


def draw_factors(n: int, factor_sizes: Sequence[int], generator: torch.Generator | None = None) -> Tensor:
    """n tuples of factor indices, each factor uniform over its `factor_sizes` values and independent: int64 (n, K)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return torch.stack([torch.randint(size, (n,), generator=generator) for size in factor_sizes], dim=1)


def random_factors(n: int, spec: ShapesSpec = ShapesSpec(), generator: torch.Generator | None = None) -> Tensor:
    """n factor tuples of these shapes drawn uniformly and independently, int64 (n, 5)."""
    return draw_factors(n, spec.factor_sizes, generator)


def sample_shapes(n: int, seed: int = 0, spec: ShapesSpec = ShapesSpec()) -> tuple[Tensor, Tensor]:
    """n random images and their factors, the same for the same seed: (uint8 (n, 1, s, s), int64 (n, 5))."""
    factors = random_factors(n, spec, torch.Generator().manual_seed(seed))
    return render(factors, spec), factors


def vary_one_factor(factors: Tensor, factor: int, spec: ShapesSpec = ShapesSpec()) -> Tensor:
    """Every value of one factor, the others as in each row: int64 (n * values, 5), rows in blocks of `values`."""
    factors = spec.check(factors)
    size = spec.factor_sizes[factor]
    grid = factors.repeat_interleave(size, dim=0)
    grid[:, factor] = torch.arange(size).repeat(len(factors))
    return grid
