"""Training a flow, a diffusion model or a flow-matching model (notebook 09): one loss, minimised.

The three objectives differ only in the loss of a batch, so one trainer serves them (`ObjectiveTrainer`, a step
function on the course's engine: loop, logs, divergence guard, schedule, checkpoints, hooks, Ctrl-C):

- `flow_objective(flow)`: the negative log-likelihood of dequantised images, in bits per dimension (exact);
- `diffusion_objective(net, schedule)`: DDPM's noise-prediction error (course_utils.models.diffusion);
- `flow_matching_objective(net)`: the velocity error of the straight noise-to-data path.

With `ema_decay > 0` an exponential moving average of the network's weights is kept (the denoisers sample from it,
as DDPM does: Ho et al. 2020 use a decay of 0.9999); `use_average()` copies it into the network.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .engine import FRACTION, NON_NEGATIVE, POSITIVE, POSITIVE_INT, Trainer, check_config, cosine_decay, fraction
from .metrics import dequantise, discrete_nll_nats
from .models.diffusion import NoiseSchedule, diffusion_loss, flow_matching_loss
from .precision import apply_gradients, choose_precision
from .train import make_optimizer, update_average

Objective = Callable[[Tensor], Tensor]  # a batch as the sampler gives it -> the scalar loss to minimise


@dataclass(frozen=True)
class ObjectiveTrainConfig:
    """Adam on one loss: steps, batch, learning rate (cosine decay to lr_final of it), gradient clipping (0: off),
    the weight average's decay (0: none), and mixed precision (off by default: a flow's log-determinants want
    float32)."""

    steps: int = 4000
    batch_size: int = 64
    lr: float = 1e-3
    lr_final: float = 0.05
    grad_clip: float = 0.0
    ema_decay: float = 0.0
    log_every: int = 10
    checkpoint_every: int = 1000
    amp: bool = False

    def __post_init__(self):
        check_config(self, steps=POSITIVE_INT, batch_size=POSITIVE_INT, lr=POSITIVE, lr_final=FRACTION,
                     grad_clip=NON_NEGATIVE, log_every=POSITIVE_INT, checkpoint_every=POSITIVE_INT,
                     ema_decay=(lambda v: fraction(v) and v < 1.0, "a number in [0, 1)"),
                     amp=(lambda v: isinstance(v, bool), "True or False"))


def flow_objective(flow: nn.Module, generator: torch.Generator | None = None) -> Objective:
    """uint8 images (n, 1, 28, 28) -> mean -log P bound in bits/dim: fresh uniform dequantisation each batch."""

    def loss(images: Tensor) -> Tensor:
        x = dequantise(images.cpu(), generator).float().reshape(images.shape).to(images.device)
        dims = x[0].numel()
        return discrete_nll_nats(flow.log_prob(x), dims).mean() / (dims * math.log(2.0))

    return loss


def diffusion_objective(net: nn.Module, schedule: NoiseSchedule, generator: torch.Generator | None = None) -> Objective:
    """Images in [-1, 1] (or 2-D points) -> DDPM's simplified loss."""
    return lambda x: diffusion_loss(net, x, schedule, generator)


def flow_matching_objective(net: nn.Module, generator: torch.Generator | None = None) -> Objective:
    """Images in [-1, 1] (or 2-D points) -> the flow-matching loss."""
    return lambda x: flow_matching_loss(net, x, generator)


class ObjectiveTrainer(Trainer):
    """A network, its Adam, a batch sampler and one objective; the history logs `loss` and the gradient norm."""

    description = "training"

    def __init__(self, net: nn.Module, objective: Objective, sample_batch: Callable[[int], Tensor],
                 cfg: ObjectiveTrainConfig, device: torch.device | str, checkpoint_path: str | Path | None = None,
                 description: str | None = None):
        self.device = torch.device(device)
        self.net = net.to(self.device).train()
        self.objective, self.sample_batch, self.cfg = objective, sample_batch, cfg
        self.precision = choose_precision(self.device, cfg.amp)
        self.scaler = self.precision.make_scaler()
        self.optimizer = make_optimizer(net, "adam", cfg.lr, (0.9, 0.999), self.device)
        modules = {"net": net}
        self.average = None
        if cfg.ema_decay > 0:  # a module, so the guard restores it and a checkpoint holds it
            self.average = copy.deepcopy(net).requires_grad_(False)
            modules["average"] = self.average
        if description:
            self.description = description
        super().__init__(modules, {"net": self.optimizer}, total_steps=cfg.steps, log_every=cfg.log_every,
                         checkpoint_every=cfg.checkpoint_every, schedule=cosine_decay(cfg.lr_final),
                         checkpoint_path=checkpoint_path, config=cfg)
        self.advice = f"Try a smaller learning rate (now lr={cfg.lr}) or gradient clipping (grad_clip)."

    def training_step(self) -> dict[str, Tensor]:
        batch = self.sample_batch(self.cfg.batch_size).to(self.device)
        with self.precision.autocast():
            loss = self.objective(batch).float()
        norm = apply_gradients(loss, self.optimizer, self.scaler, max_norm=self.cfg.grad_clip)
        if norm is None:
            norm = torch.stack([p.grad.norm() for p in self.net.parameters() if p.grad is not None]).norm()
        if self.average is not None:
            update_average(list(self.average.parameters()), list(self.net.parameters()), self.cfg.ema_decay)
        return {"loss": loss.detach(), "grad_norm": norm.detach()}

    @torch.no_grad()
    def use_average(self) -> None:
        """The network takes the moving average of its weights (with ema_decay > 0; else nothing changes)."""
        if self.average is not None:
            for weight, average in zip(self.net.parameters(), self.average.parameters()):
                weight.copy_(average)
