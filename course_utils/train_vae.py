"""The course's VAE trainer: minibatch gradient descent on the negative ELBO (a VAE) or on the
reconstruction loss (a plain autoencoder), on dynamically binarised MNIST: each pixel of a training
image is redrawn as Bernoulli(intensity) every time the image is used.

`VAETrainer` is one step function on the course's training engine (course_utils.engine), which brings
the loop, the logs, the divergence guard, the learning-rate schedule, checkpoints, hooks and Ctrl-C,
the same as for the GANs. Each epoch visits the images in a fresh random order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from .engine import (FRACTION, NON_NEGATIVE, POSITIVE, POSITIVE_INT, History,  # noqa: F401 (TrainingDivergedError:
                     Hook, Trainer, TrainingDivergedError, check_config, cosine_decay)  # what a diverged run raises)
from .losses import bernoulli_reconstruction, gaussian_kl
from .train import make_optimizer


@dataclass(frozen=True)
class VAETrainConfig:
    """Optimisation settings of `train_vae`; a wrong value fails here, naming the field and its range."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    lr_final: float = 0.1  # cosine decay to this fraction of lr by the last step
    beta: float = 1.0  # the KL term's weight: 1 is the VAE's -ELBO, more is a beta-VAE (Higgins et al. 2017)

    def __post_init__(self):
        check_config(self, epochs=POSITIVE_INT, batch_size=POSITIVE_INT, lr=POSITIVE, lr_final=FRACTION,
                     beta=NON_NEGATIVE)


def binarise(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """uint8 intensities -> {0, 1} pixels drawn as Bernoulli(intensity / 255), one fresh draw per call.

    Called on every training batch, it gives dynamic binarisation; called once on a test set with a
    seeded generator, it gives a fixed stochastic binarisation.
    """
    return torch.bernoulli(images.float() / 255.0, generator=generator)


def vae_step(model: nn.Module, x: Tensor, optimizer: torch.optim.Optimizer, beta: float = 1.0) -> dict[str, Tensor]:
    """One gradient step on the mean negative ELBO (a VAE), reconstruction + beta * KL (a beta-VAE), or the
    reconstruction loss (an autoencoder).

    A VAE logs loss (what the step minimised: -ELBO when beta = 1), reconstruction and kl; an autoencoder has no
    ELBO and logs only loss = reconstruction. The values stay on the device as 0-d tensors (the engine reads them
    in batches).
    """
    output = model(x)
    if isinstance(output, tuple):  # VAE: logits, mu, log_var
        logits, mu, log_var = output
        reconstruction, kl = bernoulli_reconstruction(logits, x).mean(), gaussian_kl(mu, log_var).mean()
        loss = reconstruction + beta * kl
    else:  # a plain autoencoder: reconstruction only, no prior and no KL term
        reconstruction = loss = bernoulli_reconstruction(output, x).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if isinstance(output, tuple):
        return {"loss": loss.detach(), "reconstruction": reconstruction.detach(), "kl": kl.detach()}
    return {"loss": loss.detach(), "reconstruction": reconstruction.detach()}


def describe_epoch(epoch: int, history: History) -> str:
    """The log line of one epoch: -ELBO and its two terms for a VAE, the reconstruction loss for an autoencoder."""
    if "kl" in history:
        return (f"epoch {epoch}: -ELBO {history['loss'][-1]:.2f} nats "
                f"(reconstruction {history['reconstruction'][-1]:.2f}, KL {history['kl'][-1]:.2f})")
    return f"epoch {epoch}: reconstruction loss {history['reconstruction'][-1]:.2f} nats per image (binary cross-entropy)"


class VAETrainer(Trainer):
    """A VAE (or an autoencoder), its optimiser, its uint8 images (N, 1, H, W) and the history.

    `trainer.history` holds every step's logs; `trainer.epochs` the per-epoch means ("epoch", "loss",
    "reconstruction" and, for a VAE, "kl"), in nats per image. For a hook once per epoch:
    `every(trainer.steps_per_epoch, hook)`.
    """

    description = "training VAE"

    def __init__(self, model: nn.Module, images: Tensor, cfg: VAETrainConfig, device: torch.device | str,
                 checkpoint_path: str | Path | None = None, seed: int = 0):
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.images = images.to(self.device)
        self.cfg = cfg
        self.steps_per_epoch = len(images) // cfg.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"{len(images)} images make no batch of batch_size={cfg.batch_size}: "
                             "pass more images or a smaller batch_size.")
        self.optimizer = make_optimizer(model, "adam", cfg.lr, (0.9, 0.999), self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)  # batch order and binarisation
        self.epochs: History = defaultdict(list)
        self._order, self._order_epoch = None, -1
        super().__init__({"model": model}, {"model": self.optimizer}, total_steps=cfg.epochs * self.steps_per_epoch,
                         log_every=min(25, self.steps_per_epoch), checkpoint_every=self.steps_per_epoch,
                         schedule=cosine_decay(cfg.lr_final), checkpoint_path=checkpoint_path, config=cfg)
        self.advice = f"Try a smaller lr (now {cfg.lr})."

    def training_step(self) -> dict[str, Tensor]:
        """The next batch of this epoch's random order, binarised afresh, and one `vae_step`."""
        epoch, i = divmod(self.step, self.steps_per_epoch)
        if epoch != self._order_epoch:  # a new random order of the images for every epoch
            self._order = torch.randperm(len(self.images), generator=self.generator, device=self.device)
            self._order_epoch = epoch
        batch = self._order[i * self.cfg.batch_size:(i + 1) * self.cfg.batch_size]
        x = binarise(self.images[batch], self.generator)
        return vae_step(self.model, x, self.optimizer, self.cfg.beta)

    def train_step(self) -> dict[str, Tensor]:
        logs = super().train_step()
        if self.step % self.steps_per_epoch == 0:  # the end of an epoch: its means, from the per-step logs
            self.flush()
            n = self.steps_per_epoch
            self.epochs["epoch"].append(self.step // n)
            for key, values in self.history.items():
                if key != "step":
                    self.epochs[key].append(sum(values[-n:]) / n)
        return logs

    def on_restore(self) -> None:
        for values in self.epochs.values():  # keep only the epochs finished by the restored step
            del values[self.step // self.steps_per_epoch:]

    def print_epoch(self, trainer: Trainer) -> None:
        """A hook that prints `describe_epoch` at the end of each epoch."""
        if self.step % self.steps_per_epoch == 0:
            print(describe_epoch(self.epochs["epoch"][-1], self.epochs))

    def train(self, steps: int | None = None, hooks: Sequence[Hook] = (), progress: bool = True) -> History:
        """Train (by default on to cfg.epochs); with progress, a line per epoch. Returns the per-step history."""
        self.model.train()
        return super().train(steps, [self.print_epoch, *hooks] if progress else hooks, progress)


def train_vae(model: nn.Module, images: Tensor, cfg: VAETrainConfig, device: torch.device | str,
              hooks: Sequence[Hook] = (), checkpoint_path: str | Path | None = None,
              progress: bool = True, seed: int = 0) -> History:
    """Train `model` in place on uint8 `images` (N, 1, 28, 28); return the per-epoch history.

    The history holds per-epoch means of loss, reconstruction and (for a VAE only) kl, in nats per image.
    hooks(trainer) run after every step (VAETrainer). Ctrl-C stops and keeps the model as it is; a diverging
    loss restores the last good state and raises TrainingDivergedError."""
    trainer = VAETrainer(model, images, cfg, device, checkpoint_path, seed)
    trainer.train(hooks=hooks, progress=progress)
    model.eval()
    return dict(trainer.epochs)
