"""The course's GAN trainer: Algorithm 1 of Goodfellow et al. 2014 as a readable PyTorch loop.

One training step = k discriminator steps (`d_step`) then one generator step (`g_step`).
`GANTrainer` keeps the models, optimisers and history together, so a notebook (or a widget's
"step D" button) can also call one step at a time, and an interrupted run loses nothing.

The same loop is the fast GPU path. The step functions return their losses
as tensors that stay on the device; the trainer reads them to the host every `log_every` steps
in one transfer, so the GPU never waits for Python between steps. With `amp` the forward passes
run in bfloat16 on CUDA, `channels_last` stores images and activations as NHWC (what tensor-core
convolutions want), `compile` hands G and D to torch.compile, and Adam is fused into one kernel.
Feed it with `data.image_sampler`, which keeps the whole uint8 dataset on the device.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoints import save_checkpoint
from .losses import discriminator_loss, generator_loss

History = dict[str, list[float]]


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; the models were restored to their last good state."""


@dataclass(frozen=True)
class GANTrainConfig:
    """Optimisation settings of `train_gan`; change one with dataclasses.replace(cfg, k=3)."""

    steps: int = 4000  # generator updates
    batch_size: int = 256
    k: int = 1  # discriminator steps per generator step (Algorithm 1's k)
    loss: str = "non_saturating"  # or "minimax": see course_utils.losses
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)  # beta1=0.5: Radford et al. 2016 found 0.9 oscillates
    optimizer_d: str = "adam"
    optimizer_g: str = "adam"  # or "sgd": plain gradient steps, whose size is the gradient's own
    lr_final: float = 1.0  # learning rates decay linearly to this fraction by the last step
    checkpoint_every: int = 500  # also how often a last good state is kept for the NaN guard
    log_every: int = 1  # read the losses to the host every n steps (1: every step; GPU runs use ~50)
    amp: bool = True  # bfloat16 autocast for the forward passes, on CUDA only
    channels_last: bool = False  # NHWC memory layout for conv nets (faster convolutions on GPUs)
    compile: bool = False  # torch.compile G and D (a minute of compiling, then faster steps)


def d_step(G: nn.Module, D: nn.Module, x_real: Tensor, z: Tensor, opt_d: torch.optim.Optimizer) -> dict[str, Tensor]:
    """One discriminator update: ascend V = E log D(x) + E log(1 - D(G(z))) with G fixed.

    Returns the logged values as 0-d tensors on the device (no `.item()`: that would make the
    host wait for the GPU after every step)."""
    with torch.no_grad():
        x_fake = G(z)  # G is held fixed during D's step
    real_logits, fake_logits = D(x_real).float(), D(x_fake).float()
    loss = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return {"loss_d": loss.detach(),
            "d_real": torch.sigmoid(real_logits).mean().detach(),  # D(x), ideally -> 1/2
            "d_fake": torch.sigmoid(fake_logits).mean().detach()}  # D(G(z))


def g_step(G: nn.Module, D: nn.Module, z: Tensor, opt_g: torch.optim.Optimizer,
           loss_fn: Callable[[Tensor], Tensor]) -> dict[str, Tensor]:
    """One generator update: descend the chosen generator loss through a fixed D."""
    D.requires_grad_(False)  # gradients flow through D to G, but D's weights are not changed
    loss = loss_fn(D(G(z)).float())
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    D.requires_grad_(True)
    grads = [p.grad.norm() for p in G.parameters() if p.grad is not None]
    return {"loss_g": loss.detach(), "grad_g": torch.stack(grads).norm().detach()}


def make_optimizer(model: nn.Module, name: str, lr: float, betas: tuple[float, float],
                   device: torch.device) -> torch.optim.Optimizer:
    """Adam (fused into one kernel on the GPU) or plain SGD for `model`'s weights."""
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, fused=device.type == "cuda")
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose 'adam' or 'sgd'")


def _to(batch, device: torch.device):
    """A batch, or a tuple such as a conditional GAN's (images, labels), on `device`."""
    return tuple(part.to(device) for part in batch) if isinstance(batch, tuple) else batch.to(device)


class GANTrainer:
    """G, D, their optimisers, the data sampler and the history of one GAN run.

    `sample_real(n)` returns a batch of real data; G must offer `sample_z(n, device=...)`.
    A conditional GAN passes pairs: `sample_real` gives (x, y), `G.sample_z` gives (z, y), G maps
    (z, y) to (x, y) and D scores (x, y) (see models/cgan.py); the steps are the same.
    """

    def __init__(self, G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor],
                 cfg: GANTrainConfig, device: torch.device | str,
                 checkpoint_path: str | Path | None = None):
        generator_loss(cfg.loss)  # a wrong loss name fails here, before any training
        self.device = torch.device(device)
        memory_format = torch.channels_last if cfg.channels_last else torch.preserve_format
        self.G = G.to(self.device, memory_format=memory_format)
        self.D = D.to(self.device, memory_format=memory_format)
        # What the steps call: the models themselves, or their compiled versions (same weights).
        self._G = torch.compile(self.G) if cfg.compile else self.G
        self._D = torch.compile(self.D) if cfg.compile else self.D
        self.sample_real = sample_real
        self.cfg = cfg
        self.opt_d = make_optimizer(D, cfg.optimizer_d, cfg.lr_d, cfg.betas, self.device)
        self.opt_g = make_optimizer(G, cfg.optimizer_g, cfg.lr_g, cfg.betas, self.device)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.history: History = defaultdict(list)
        self.step = 0
        self._pending: list[dict[str, Tensor]] = []  # logs still on the device
        self._last_good = self._state()

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16,
                              enabled=self.cfg.amp and self.device.type == "cuda")

    # -- one step at a time (what the widget's buttons call)
    def train_d(self) -> dict[str, Tensor]:
        """One discriminator step on a fresh batch."""
        x_real = _to(self.sample_real(self.cfg.batch_size), self.device)
        z = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return d_step(self._G, self._D, x_real, z, self.opt_d)

    def train_g(self) -> dict[str, Tensor]:
        """One generator step on fresh noise, with the configured loss."""
        z = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return g_step(self._G, self._D, z, self.opt_g, generator_loss(self.cfg.loss))

    def train_step(self) -> dict[str, Tensor]:
        """k discriminator steps, then one generator step; the history gets them every log_every steps."""
        self._set_learning_rates()
        d_logs = [self.train_d() for _ in range(self.cfg.k)]
        logs = {key: sum(log[key] for log in d_logs) / len(d_logs) for key in d_logs[0]}
        logs.update(self.train_g())
        self.step += 1
        self._pending.append(logs)
        if len(self._pending) >= self.cfg.log_every:
            self.flush()
        return logs

    def flush(self) -> dict[str, float]:
        """Move the pending logs to the history in one device-to-host copy; return the latest.

        Raises TrainingDivergedError (after restoring the last good state) if a loss is NaN/inf."""
        if not self._pending:
            return {key: values[-1] for key, values in self.history.items() if values}
        keys = list(self._pending[0])
        values = torch.stack([torch.stack([log[key] for key in keys]) for log in self._pending]).cpu()
        first = self.step - len(self._pending) + 1
        self._pending = []
        for row, step in zip(values.tolist(), range(first, self.step + 1)):
            self.history["step"].append(step)
            for key, value in zip(keys, row):
                self.history[key].append(value)
            if not (math.isfinite(row[keys.index("loss_d")]) and math.isfinite(row[keys.index("loss_g")])):
                self._diverged(dict(zip(keys, row)), step)
        return dict(zip(keys, values[-1].tolist()))

    # -- the loop
    def train(self, steps: int | None = None, hooks: Sequence[Callable[[GANTrainer], None]] = (),
              progress: bool = True) -> History:
        """Run `steps` training steps (default cfg.steps); Ctrl-C stops and keeps what was trained."""
        steps = self.cfg.steps if steps is None else steps
        bar = tqdm(range(steps), desc="training GAN", disable=not progress, mininterval=0.5)
        try:
            for _ in bar:
                self.train_step()
                if self.step % self.cfg.checkpoint_every == 0:
                    self.flush()  # only a state whose losses were all finite is kept as good
                    self._last_good = self._state()
                    self.save()
                for hook in hooks:
                    hook(self)
                if self.step % max(self.cfg.log_every, 50) == 0:
                    logs = self.flush()
                    bar.set_postfix(loss_d=f"{logs['loss_d']:.3f}", loss_g=f"{logs['loss_g']:.3f}",
                                    d_real=f"{logs['d_real']:.2f}", refresh=False)
        except KeyboardInterrupt:
            print(f"Interrupted at step {self.step}: G, D and the history so far are kept "
                  "(trainer.G, trainer.D, trainer.history); call train() again to go on.")
        finally:
            bar.close()
        self.flush()
        self.save()
        return self.history

    # -- safety
    def _state(self) -> dict:
        return {"step": self.step, "G": copy.deepcopy(self.G.state_dict()), "D": copy.deepcopy(self.D.state_dict())}

    def _diverged(self, logs: dict[str, float], step: int) -> None:
        bad = [key for key in ("loss_d", "loss_g") if not math.isfinite(logs[key])]
        self.G.load_state_dict(self._last_good["G"])
        self.D.load_state_dict(self._last_good["D"])
        self.step = self._last_good["step"]
        self._pending = []
        for values in self.history.values():  # drop the steps that led to the divergence
            del values[self.step:]
        raise TrainingDivergedError(
            f"{' and '.join(bad)} became {logs[bad[0]]} at step {step}. G and D were restored to the last "
            f"good state (step {self.step}); the history up to there is in trainer.history. Try smaller "
            f"learning rates (now lr_d={self.cfg.lr_d}, lr_g={self.cfg.lr_g}) or another loss.")

    def save(self) -> Path | None:
        """Write G, D and the history to checkpoint_path, if one was given."""
        if self.checkpoint_path is None:
            return None
        return save_checkpoint(self.checkpoint_path, {"G": self.G, "D": self.D},
                               {"step": self.step, "train_config": asdict(self.cfg),
                                "history": dict(self.history)})

    def reconfigure(self, **changes) -> None:
        """Change k, loss, batch_size, learning rates... between steps."""
        if "loss" in changes:
            generator_loss(changes["loss"])
        fixed = {"compile", "channels_last"} & set(changes)
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} is fixed when the trainer is built; make a new GANTrainer")
        self.flush()
        self.cfg = replace(self.cfg, **changes)

    def _set_learning_rates(self) -> None:
        # A linear decay lets the game settle: with a constant rate the players keep circling.
        progress = min(self.step / max(self.cfg.steps, 1), 1.0)
        factor = 1.0 - (1.0 - self.cfg.lr_final) * progress
        for optimizer, lr in ((self.opt_d, self.cfg.lr_d), (self.opt_g, self.cfg.lr_g)):
            for group in optimizer.param_groups:
                group["lr"] = lr * factor


def train_gan(G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor], cfg: GANTrainConfig,
              device: torch.device | str, hooks: Sequence[Callable[[GANTrainer], None]] = (),
              checkpoint_path: str | Path | None = None, progress: bool = True) -> History:
    """Train G and D in place for cfg.steps steps; return the history (a dict of lists)."""
    trainer = GANTrainer(G, D, sample_real, cfg, device, checkpoint_path)
    return trainer.train(hooks=hooks, progress=progress)


def every(n: int, hook: Callable[[GANTrainer], None]) -> Callable[[GANTrainer], None]:
    """A hook that calls `hook` on every n-th step only."""
    def maybe(trainer: GANTrainer) -> None:
        if trainer.step % n == 0:
            hook(trainer)
    return maybe


@torch.no_grad()
def update_average(averages: Sequence[Tensor], weights: Sequence[Tensor], decay: float) -> None:
    """One step of an exponential moving average, in place: average <- decay * average + (1 - decay) * weight."""
    for average, weight in zip(averages, weights):
        average.lerp_(weight.detach().to(average.dtype), 1.0 - decay)


class WeightAverage:
    """A hook that keeps an exponential moving average of G's weights in `self.model` (a copy of G).

    Averaging the generator's weights over the last few thousand steps smooths out the oscillation of
    adversarial training (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training");
    the average is used for sampling, the trained G goes on training. Buffers are copied, not averaged.
    """

    def __init__(self, G: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(G).eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(self, trainer: GANTrainer) -> None:
        update_average(list(self.model.parameters()), list(trainer.G.parameters()), self.decay)
        for average, buffer in zip(self.model.buffers(), trainer.G.buffers()):
            average.copy_(buffer)
