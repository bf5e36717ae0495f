"""Denoising diffusion (DDPM: Ho, Jain and Abbeel 2020; DDIM: Song, Meng and Ermon 2021) and flow matching
(Lipman et al. 2023; rectified flow: Liu, Gong and Liu 2023) with one network for both.

Diffusion destroys data by T small Gaussian steps, q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), whose
composition has a closed form, q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = prod_{s<=t}(1 - beta_s).
A network eps(x_t, t) learns to name the noise that was added (Ho et al.'s simplified loss, E ||eps - eps(x_t, t)||^2);
sampling runs the chain backwards from pure noise, either all T steps (DDPM, each one adding fresh noise) or a
few deterministic jumps (DDIM with eta = 0).

Flow matching draws a straight path between noise x_0 ~ N(0, I) and data x_1, x_s = (1 - s) x_0 + s x_1, and teaches
the network the velocity x_1 - x_0 of that path; sampling integrates dx/ds = v(x_s, s) from s = 0 to 1 with a few
Euler or Heun steps. The same network answers both: `net(x, time)` with time in [0, 1] (t / T for diffusion, s for
flow matching).

`PointDenoiser` works on 2-D points, `UNet` on 28x28 MNIST (two resolutions, a time embedding added in every block).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


# ----------------------------------------------------------------------------- the noise schedule


class NoiseSchedule:
    """DDPM's linear schedule: beta_t from beta_1 to beta_T; abar_t = prod (1 - beta_s). t runs 1..T (index t-1)."""

    def __init__(self, steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
        if steps < 1 or not 0.0 < beta_start <= beta_end < 1.0:
            raise ValueError(f"NoiseSchedule needs steps >= 1 and 0 < beta_start <= beta_end < 1; got steps={steps}, "
                             f"beta_start={beta_start}, beta_end={beta_end}")
        self.steps = steps
        self.betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
        self.alpha_bars = torch.cumprod(1.0 - self.betas, dim=0)

    def alpha_bar(self, t: Tensor) -> Tensor:
        """abar_t for integer steps t in 1..T (float32, on t's device); abar_0 = 1."""
        padded = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bars]).to(t.device)
        return padded[t].float()

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t ~ q(x_t | x_0) in closed form: sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise (t: one step per example)."""
        abar = self.alpha_bar(t).reshape(-1, *[1] * (x0.dim() - 1))
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise


def diffusion_loss(net: nn.Module, x0: Tensor, schedule: NoiseSchedule,
                   generator: torch.Generator | None = None) -> Tensor:
    """Ho et al.'s L_simple: a uniform step t, fresh noise, and the mean squared error of the predicted noise."""
    t = torch.randint(1, schedule.steps + 1, (len(x0),), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    x_t = schedule.q_sample(x0, t, noise)
    return F.mse_loss(net(x_t, t.float() / schedule.steps), noise)


@torch.no_grad()
def ddpm_sample(net: nn.Module, shape: tuple[int, ...], schedule: NoiseSchedule,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                trajectory: list | None = None, keep_every: int = 50) -> Tensor:
    """The full ancestral chain, t = T..1: x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(1 - beta_t) + sigma_t z,
    sigma_t^2 = beta_t (Ho et al.'s first choice). `trajectory` (a list) collects (t, x_t) every `keep_every` steps."""
    x = torch.randn(shape, generator=generator).to(device)
    for t in range(schedule.steps, 0, -1):
        if trajectory is not None and (t % keep_every == 0 or t == schedule.steps):
            trajectory.append((t, x.cpu()))
        beta, abar = schedule.betas[t - 1].item(), schedule.alpha_bars[t - 1].item()
        eps = net(x, torch.full((shape[0],), t / schedule.steps, device=device))
        x = (x - beta / math.sqrt(1 - abar) * eps) / math.sqrt(1 - beta)
        if t > 1:
            x = x + math.sqrt(beta) * torch.randn(shape, generator=generator).to(device)
    if trajectory is not None:
        trajectory.append((0, x.cpu()))
    return x


@torch.no_grad()
def ddim_sample(net: nn.Module, shape: tuple[int, ...], schedule: NoiseSchedule, steps: int = 50,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                trajectory: list | None = None) -> Tensor:
    """DDIM with eta = 0: `steps` deterministic jumps along evenly spaced t, from the same trained network.

    Each jump predicts x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t) and moves to
    x_s = sqrt(abar_s) x_0 + sqrt(1 - abar_s) eps."""
    if not 1 <= steps <= schedule.steps:
        raise ValueError(f"ddim_sample needs 1 <= steps <= {schedule.steps}; got {steps}")
    times = torch.linspace(schedule.steps, 0, steps + 1).round().long().tolist()
    x = torch.randn(shape, generator=generator).to(device)
    for t, s in zip(times[:-1], times[1:]):
        if trajectory is not None:
            trajectory.append((t, x.cpu()))
        abar_t = schedule.alpha_bars[t - 1].item()
        abar_s = schedule.alpha_bars[s - 1].item() if s > 0 else 1.0
        eps = net(x, torch.full((shape[0],), t / schedule.steps, device=device))
        x0 = (x - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)
        x = math.sqrt(abar_s) * x0 + math.sqrt(1 - abar_s) * eps
    if trajectory is not None:
        trajectory.append((0, x.cpu()))
    return x


# ----------------------------------------------------------------------------- flow matching


def flow_matching_loss(net: nn.Module, x1: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """The straight path from noise x_0 to data x_1 at a uniform s; the network learns its velocity x_1 - x_0."""
    x0 = torch.randn(x1.shape, generator=generator).to(x1.device)
    s = torch.rand(len(x1), generator=generator).to(x1.device)
    x_s = (1 - s).reshape(-1, *[1] * (x1.dim() - 1)) * x0 + s.reshape(-1, *[1] * (x1.dim() - 1)) * x1
    return F.mse_loss(net(x_s, s), x1 - x0)


@torch.no_grad()
def ode_sample(net: nn.Module, shape: tuple[int, ...], steps: int = 20, method: str = "heun",
               generator: torch.Generator | None = None, device: torch.device | str = "cpu",
               trajectory: list | None = None) -> Tensor:
    """Integrate dx/ds = v(x, s) from noise at s = 0 to data at s = 1 in `steps` equal steps (Euler, or Heun's
    second-order method: two network calls per step, except the last)."""
    if method not in ("euler", "heun") or steps < 1:
        raise ValueError(f"ode_sample needs method 'euler' or 'heun' and steps >= 1; got {method!r}, {steps}")
    x = torch.randn(shape, generator=generator).to(device)
    h = 1.0 / steps

    def velocity(x: Tensor, s: float) -> Tensor:
        return net(x, torch.full((shape[0],), s, device=device))

    for i in range(steps):
        s = i * h
        if trajectory is not None:
            trajectory.append((s, x.cpu()))
        v = velocity(x, s)
        if method == "heun" and i < steps - 1:
            x_next = x + h * v
            x = x + h / 2 * (v + velocity(x_next, s + h))
        else:
            x = x + h * v
    if trajectory is not None:
        trajectory.append((1.0, x.cpu()))
    return x


SAMPLERS: dict[str, Callable] = {"ddpm": ddpm_sample, "ddim": ddim_sample, "ode": ode_sample}


# ----------------------------------------------------------------------------- the networks


def time_embedding(time: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of time in [0, 1] (n,) -> (n, dim): the Transformer's position features of 1000 * time
    (wavelengths from 2 pi to 10,000 * 2 pi steps), as DDPM embeds its step t."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000.0) * torch.arange(half, device=time.device) / half)
    angles = 1000.0 * time[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


@dataclass(frozen=True)
class PointDenoiserConfig:
    hidden: int = 128
    time_dim: int = 32


class PointDenoiser(nn.Module):
    """(x (n, 2), time (n,)) -> (n, 2): an MLP on the point and the time's sinusoidal features."""

    def __init__(self, cfg: PointDenoiserConfig = PointDenoiserConfig()):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.net = nn.Sequential(nn.Linear(2 + cfg.time_dim, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(),
                                 nn.Linear(h, h), nn.SiLU(), nn.Linear(h, 2))

    def forward(self, x: Tensor, time: Tensor) -> Tensor:
        return self.net(torch.cat([x, time_embedding(time, self.cfg.time_dim)], dim=1))

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints): tuples as lists."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self.cfg).items()}


@dataclass(frozen=True)
class UNetConfig:
    """The MNIST denoiser: channels at 28x28 and 14x14 (and 7x7: the third), blocks per resolution."""

    channels: tuple[int, int, int] = (32, 64, 64)
    time_dim: int = 64
    image_size: int = 28

    def __post_init__(self):
        if len(self.channels) != 3 or min(self.channels) < 1 or self.image_size % 4:
            raise ValueError(f"UNetConfig needs three positive channel counts and an image size divisible by 4; "
                             f"got channels={self.channels}, image_size={self.image_size}")


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with group norm and SiLU, the time embedding added in between, and a skip."""

    def __init__(self, c_in: int, c_out: int, time_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(8, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(t)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """(x (n, 1, 28, 28), time (n,)) -> (n, 1, 28, 28): down 28 -> 14 -> 7 and back up, with skip connections."""

    def __init__(self, cfg: UNetConfig = UNetConfig()):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.channels
        d = cfg.time_dim
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.stem = nn.Conv2d(1, c1, 3, padding=1)  # -> c1 x 28 x 28
        self.down1 = ResidualBlock(c1, c1, d)
        self.pool1 = nn.Conv2d(c1, c2, 4, 2, 1)  # -> c2 x 14 x 14
        self.down2 = ResidualBlock(c2, c2, d)
        self.pool2 = nn.Conv2d(c2, c3, 4, 2, 1)  # -> c3 x 7 x 7
        self.middle = ResidualBlock(c3, c3, d)
        self.up2 = nn.ConvTranspose2d(c3, c2, 4, 2, 1)  # -> c2 x 14 x 14
        self.block2 = ResidualBlock(2 * c2, c2, d)
        self.up1 = nn.ConvTranspose2d(c2, c1, 4, 2, 1)  # -> c1 x 28 x 28
        self.block1 = ResidualBlock(2 * c1, c1, d)
        self.head = nn.Sequential(nn.GroupNorm(8, c1), nn.SiLU(), nn.Conv2d(c1, 1, 3, padding=1))

    def forward(self, x: Tensor, time: Tensor) -> Tensor:
        t = self.time_mlp(time_embedding(time, self.cfg.time_dim))
        h1 = self.down1(self.stem(x), t)
        h2 = self.down2(self.pool1(h1), t)
        h = self.middle(self.pool2(h2), t)
        h = self.block2(torch.cat([self.up2(h), h2], dim=1), t)
        h = self.block1(torch.cat([self.up1(h), h1], dim=1), t)
        return self.head(h)

    def config_dict(self) -> dict:
        """The config as plain JSON-able values (for checkpoints): tuples as lists."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self.cfg).items()}
