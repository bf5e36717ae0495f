"""The one training loop of the course: every trainer (GAN, VAE, CycleGAN, ...) is a step function on it.

A trainer subclasses `Trainer` and writes `training_step()`: one update of its networks, returning the
values it wants logged as 0-d tensors on the device. The engine does the rest, the same way for every model:

- the step counter and the history (a dict of lists: "step" and one list per logged value);
- reading the logs to the host every `log_every` steps in one transfer (no `.item()` per step: on a GPU that
  would make the host wait for the device after every step);
- the divergence guard: a NaN/inf value, a loss beyond `max_loss` or weights whose norm passes
  `max_weight_norm` stop training with `TrainingDivergedError`, after restoring the last state whose logs
  were all good -- the weights *and* the optimisers' state (Adam's moments hold NaN after a NaN gradient, so
  restored weights with the poisoned moments would diverge again at once);
- the learning-rate schedule (a function of the fraction of training done), checkpoints, tqdm progress,
  hooks `hook(trainer)` after every step, and Ctrl-C: training stops, keeps what was trained, and `train()`
  goes on to the configured total.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoints import save_checkpoint
from .precision import Precision

History = dict[str, list[float]]
Hook = Callable[["Trainer"], None]
Schedule = Callable[[float], float]  # fraction of training done (0..1) -> factor on the base learning rates


class TrainingDivergedError(RuntimeError):
    """A logged value became NaN/inf or exploded; the trainer was restored to its last good state."""


# ----------------------------------------------------------------------------- config checks

def check_config(cfg, **rules: tuple[Callable[[object], bool], str]) -> None:
    """Raise ValueError naming the field and its allowed range for the first field that breaks its rule.

    `check_config(cfg, steps=(lambda v: v >= 1, "an integer >= 1"))`; called in a config's __post_init__,
    so a wrong value fails when the config is made, not steps later inside the loop."""
    for field, (ok, allowed) in rules.items():
        value = getattr(cfg, field)
        try:
            good = ok(value)
        except TypeError:
            good = False
        if not good:
            raise ValueError(f"{type(cfg).__name__}.{field} = {value!r}: it must be {allowed}.")


def positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def non_negative(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value < math.inf


def fraction(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0


POSITIVE_INT = (positive_int, "an integer >= 1")
POSITIVE = (positive, "a finite number > 0")
FRACTION = (fraction, "a number in [0, 1]")
NON_NEGATIVE = (non_negative, "a finite number >= 0 (0: off)")


# ----------------------------------------------------------------------------- learning-rate schedules

def linear_decay(final: float) -> Schedule:
    """Factor 1 at the start, `final` at the end, linear in between."""
    return lambda done: 1.0 - (1.0 - final) * done


def cosine_decay(final: float) -> Schedule:
    """Factor 1 at the start, `final` at the end, along half a cosine."""
    return lambda done: final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * done))


def constant_then_linear(decay_start: float) -> Schedule:
    """Factor 1 until `decay_start` of training is done, then linear to 0 (the CycleGAN paper's schedule)."""
    return lambda done: 1.0 if done < decay_start else 1.0 - (done - decay_start) / (1.0 - decay_start)


# ----------------------------------------------------------------------------- hooks

def every(n: int, hook: Hook) -> Hook:
    """A hook that calls `hook(trainer)` on every n-th step only."""
    if not positive_int(n):
        raise ValueError(f"every(n, hook): n = {n!r}; it must be an integer >= 1.")

    def maybe(trainer: Trainer) -> None:
        if trainer.step % n == 0:
            hook(trainer)
    return maybe


# ----------------------------------------------------------------------------- the engine

class Trainer:
    """The loop, the logs, the guard, the schedule and the checkpoints of one training run.

    Subclasses set up their networks and optimisers, call `super().__init__`, and write `training_step()`.
    `modules` and `optimizers` name what the guard snapshots and what `save()` writes.
    """

    description = "training"  # the progress bar's label
    advice = "Try smaller learning rates."  # the last sentence of a divergence message
    precision: Precision | None = None  # set by trainers that use autocast (course_utils.precision); None: float32

    def __init__(self, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], *,
                 total_steps: int, log_every: int = 1, checkpoint_every: int = 500, schedule: Schedule | None = None,
                 checkpoint_path: str | Path | None = None, config=None,
                 max_loss: float = 1e6, max_weight_norm: float = 1e4, guard_every: int = 10):
        self.modules = modules
        self.optimizers = optimizers
        self.total_steps = total_steps
        self.log_every = log_every
        self.checkpoint_every = checkpoint_every
        self.schedule = schedule
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.config = config
        self.max_loss = max_loss
        self.max_weight_norm = max_weight_norm
        self.guard_every = guard_every  # how often (in steps, at a flush) the last good state is refreshed
        check_config(self, total_steps=POSITIVE_INT, log_every=POSITIVE_INT, checkpoint_every=POSITIVE_INT,
                     guard_every=POSITIVE_INT)
        self.history: History = defaultdict(list)
        self.step = 0
        self._pending: list[dict[str, Tensor]] = []  # logs still on the device
        self.base_lrs = {name: [float(group["lr"]) for group in opt.param_groups] for name, opt in optimizers.items()}
        self._snapshot = self._take_snapshot()

    def register(self, name: str, module: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Put one more network and its optimiser under the guard, the schedule and the checkpoints (for a
        subclass that adds a network to its parent's, e.g. InfoGAN-CR's H)."""
        if name in self.modules:
            raise ValueError(f"the trainer already has a network called {name!r}")
        self.modules[name] = module
        self.optimizers[name] = optimizer
        self.base_lrs[name] = [float(group["lr"]) for group in optimizer.param_groups]
        self._snapshot = self._take_snapshot()

    # -- what a subclass writes
    def training_step(self) -> dict[str, Tensor]:
        """One update of the networks; return the values to log as 0-d tensors (keep them on the device)."""
        raise NotImplementedError

    def on_restore(self) -> None:
        """Called after the guard restored the last good state (e.g. to empty buffers filled since then)."""

    # -- one step at a time
    def train_step(self) -> dict[str, Tensor]:
        """Set the learning rates, run `training_step()` once, queue its logs (flushed every log_every steps)."""
        self.set_learning_rates()
        logs = self.training_step()
        self.step += 1
        self._pending.append(logs)
        if len(self._pending) >= self.log_every:
            self.flush()
        return logs

    def set_learning_rates(self) -> None:
        factor = 1.0 if self.schedule is None else self.schedule(min(self.step / self.total_steps, 1.0))
        for name, optimizer in self.optimizers.items():
            for group, lr in zip(optimizer.param_groups, self.base_lrs[name]):
                if isinstance(group["lr"], Tensor):  # a captured step reads its learning rate from the device
                    group["lr"].fill_(lr * factor)
                else:
                    group["lr"] = lr * factor

    def flush(self, keep: bool = False) -> dict[str, float]:
        """Move the pending logs to the history in one device-to-host copy; return the latest values.

        Checks every value; on a bad one, restores the last good state and raises TrainingDivergedError.
        Every `guard_every` steps (or with keep=True) it also checks the weights' norms and, all being good,
        keeps the current state as the last good one."""
        keep = (keep or self.step - self._snapshot["step"] >= self.guard_every) and bool(self.modules)
        if not self._pending and not keep:
            return self.latest()
        keys = list(self._pending[0]) if self._pending else []
        logged = [log[key].float() for log in self._pending for key in keys]
        norms = [_weight_norm(module) for module in self.modules.values()] if keep else []
        values = torch.stack(logged + norms).cpu().tolist()  # the one transfer
        width, count = len(keys), len(self._pending)
        rows = [values[i * width:(i + 1) * width] for i in range(count)]
        norms = values[count * width:]
        first = self.step - count + 1
        self._pending = []
        for step, row in enumerate(rows, start=first):
            problem = self._problem(dict(zip(keys, row)))
            if problem:
                self._diverged(problem, step)
            self.history["step"].append(step)
            for key, value in zip(keys, row):
                self.history[key].append(value)
        for name, norm in zip(self.modules, norms):
            if not (math.isfinite(norm) and norm <= self.max_weight_norm):
                self._diverged(f"the weights of {name} reached norm {norm:.3g} (the bound is "
                               f"max_weight_norm={self.max_weight_norm:g})", self.step)
        if keep:
            self._snapshot = self._take_snapshot()  # every value up to here was good
        return dict(zip(keys, rows[-1])) if rows else self.latest()

    def latest(self) -> dict[str, float]:
        """The last value of every logged key in the history (what flush returns when nothing was pending)."""
        return {key: values[-1] for key, values in self.history.items() if values and key != "step"}

    def _problem(self, logs: dict[str, float]) -> str | None:
        for key, value in logs.items():
            if not math.isfinite(value):
                return f"{key} became {value}"
            if key.startswith("loss") and abs(value) > self.max_loss:
                return f"{key} reached {value:.3g} (the bound is max_loss={self.max_loss:g})"
        return None

    # -- the loop
    def train(self, steps: int | None = None, hooks: Sequence[Hook] = (), progress: bool = True) -> History:
        """Train `steps` more steps, or by default on to the configured total; return the history.

        Ctrl-C (or the notebook's stop button) stops after the current step and keeps what was trained;
        calling train() again goes on to the configured total."""
        steps = max(self.total_steps - self.step, 0) if steps is None else steps
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps = {steps!r}: it must be an integer >= 0.")
        bar = tqdm(total=steps, desc=self.description, disable=not progress, mininterval=0.5)
        try:
            for _ in range(steps):
                self.train_step()
                if self.step % self.checkpoint_every == 0:
                    self.flush(keep=True)  # a checkpoint holds only a state whose logs were all good
                    self.save()
                for hook in hooks:
                    hook(self)
                bar.update()
                if self.step % max(self.log_every, 50) == 0 and progress:
                    latest = self.flush()
                    bar.set_postfix({key: f"{value:.3g}" for key, value in list(latest.items())[:3]}, refresh=False)
        except KeyboardInterrupt:
            print(f"Interrupted at step {self.step} of {self.total_steps}: the networks and the history so far "
                  "are kept; call train() again to go on.")
        finally:
            bar.close()
        self.flush(keep=True)
        self.save()
        return self.history

    # -- the guard
    def _guarded_tensors(self) -> list[Tensor]:
        """Every tensor a restore must put back: the modules' weights and buffers, the optimisers' state."""
        tensors = [t for module in self.modules.values() for t in module.state_dict(keep_vars=True).values()]
        for optimizer in self.optimizers.values():
            for state in optimizer.state.values():
                tensors.extend(value for value in state.values() if isinstance(value, Tensor))
        return [t.detach() for t in tensors]

    def _take_snapshot(self) -> dict:
        """Copy the state into the previous snapshot's buffers where the layout is unchanged (no new memory)."""
        tensors = self._guarded_tensors()
        old = getattr(self, "_snapshot", None)
        if old and len(old["copies"]) == len(tensors) and all(
                c.shape == t.shape and c.dtype == t.dtype for c, t in zip(old["copies"], tensors)):
            copies = old["copies"]
            if tensors:
                torch._foreach_copy_(copies, tensors)
        else:
            copies = [t.clone() for t in tensors]
        empty = {name for name, opt in self.optimizers.items() if not opt.state}
        return {"step": self.step, "tensors": tensors, "copies": copies, "empty_optimizers": empty}

    def restore(self) -> None:
        """Put back the last good state (weights, buffers and optimiser state, in place) and its step."""
        snapshot = self._snapshot
        with torch.no_grad():
            for tensor, copy in zip(snapshot["tensors"], snapshot["copies"]):
                tensor.copy_(copy)
        for name in snapshot["empty_optimizers"]:  # no state yet at the snapshot: Adam starts afresh
            self.optimizers[name].state.clear()
        self.step = snapshot["step"]
        self._pending = []
        for values in self.history.values():  # drop the logs of the steps that led to the divergence
            del values[self.step:]
        self.on_restore()

    def _diverged(self, problem: str, step: int) -> None:
        self.restore()
        raise TrainingDivergedError(
            f"{problem} at step {step}. The networks and the optimisers' state were restored to the last good "
            f"state (step {self.step}); the history up to there is in trainer.history, and train() goes on "
            f"from there. {self.advice}")

    # -- checkpoints
    def save(self) -> Path | None:
        """Write the networks and the history to checkpoint_path, if one was given."""
        if self.checkpoint_path is None:
            return None
        config = asdict(self.config) if is_dataclass(self.config) else self.config
        precision = self.precision.name if self.precision is not None else "float32"
        return save_checkpoint(self.checkpoint_path, self.modules, {"step": self.step, "train_config": config,
                                                                    "precision": precision, "history": dict(self.history)})


def _weight_norm(module: nn.Module) -> Tensor:
    """The norm of all of a module's parameters together, as a 0-d float tensor on their device."""
    params = [p.detach() for p in module.parameters()]
    if not params:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(params)).float())


def warn_once(message: str, _seen: set[str] = set()) -> None:  # noqa: B006 (the set is the memory)
    """A warning shown once per session, however many trainers hit the same problem."""
    if message not in _seen:
        _seen.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
