"""The course's VAE trainer: minibatch gradient descent on the negative ELBO (a VAE) or on the
reconstruction loss (a plain autoencoder), on dynamically binarised MNIST: each pixel of a training
image is redrawn as Bernoulli(intensity) every time the image is used.

Same conventions as the GAN trainer: a small step function, tqdm progress, hooks, a history dict,
checkpoints, a NaN guard that restores the last good state, Ctrl-C keeping what was trained.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoints import save_checkpoint
from .losses import bernoulli_reconstruction, gaussian_kl
from .train import TrainingDivergedError


@dataclass(frozen=True)
class VAETrainConfig:
    """Optimisation settings of `train_vae`."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    lr_final: float = 0.1  # cosine decay to this fraction of lr by the last step


def binarise(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """uint8 intensities -> {0, 1} pixels drawn as Bernoulli(intensity / 255), one fresh draw per call.

    Called on every training batch, it gives dynamic binarisation; called once on a test set with a
    seeded generator, it gives a fixed stochastic binarisation.
    """
    return torch.bernoulli(images.float() / 255.0, generator=generator)


def vae_step(model: nn.Module, x: Tensor, optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """One gradient step on the mean negative ELBO (a VAE) or reconstruction loss (an autoencoder).

    A VAE logs loss (-ELBO), reconstruction and kl; an autoencoder has no ELBO and logs only
    loss = reconstruction.
    """
    output = model(x)
    if isinstance(output, tuple):  # VAE: logits, mu, log_var
        logits, mu, log_var = output
        reconstruction, kl = bernoulli_reconstruction(logits, x).mean(), gaussian_kl(mu, log_var).mean()
        loss = reconstruction + kl
    else:  # a plain autoencoder: reconstruction only, no prior and no KL term
        reconstruction = loss = bernoulli_reconstruction(output, x).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if isinstance(output, tuple):
        return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}
    return {"loss": loss.item(), "reconstruction": reconstruction.item()}


def describe_epoch(epoch: int, history: dict[str, list[float]]) -> str:
    """The log line of one epoch: -ELBO and its two terms for a VAE, the reconstruction loss for an autoencoder."""
    if "kl" in history:
        return (f"epoch {epoch}: -ELBO {history['loss'][-1]:.2f} nats "
                f"(reconstruction {history['reconstruction'][-1]:.2f}, KL {history['kl'][-1]:.2f})")
    return f"epoch {epoch}: reconstruction loss {history['reconstruction'][-1]:.2f} nats per image (binary cross-entropy)"


def train_vae(model: nn.Module, images: Tensor, cfg: VAETrainConfig, device: torch.device | str,
              hooks: Sequence[Callable[[int, nn.Module, dict], None]] = (), checkpoint_path: str | Path | None = None,
              progress: bool = True, seed: int = 0) -> dict[str, list[float]]:
    """Train `model` in place on uint8 `images` (N, 1, 28, 28); return the history.

    The history holds per-epoch means of loss, reconstruction and (for a VAE only) kl, in nats per image.

    hooks(epoch, model, history) run after every epoch. Ctrl-C stops and keeps the model as it is;
    a NaN/inf loss restores the state of the last finished epoch and raises TrainingDivergedError.
    """
    device = torch.device(device)
    model.to(device)
    images = images.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = len(images) // cfg.batch_size
    total = cfg.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cfg.lr_final + (1 - cfg.lr_final) * 0.5 * (1 + math.cos(math.pi * min(step / total, 1))))
    generator = torch.Generator(device=device).manual_seed(seed)
    history: dict[str, list[float]] = defaultdict(list)
    last_good = copy.deepcopy(model.state_dict())
    model.train()
    try:
        for epoch in range(1, cfg.epochs + 1):
            order = torch.randperm(len(images), generator=generator, device=device)
            sums: dict[str, float] = defaultdict(float)
            batches = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{cfg.epochs}", disable=not progress,
                           leave=False, mininterval=0.5)
            for i in batches:
                x = binarise(images[order[i * cfg.batch_size:(i + 1) * cfg.batch_size]], generator)
                logs = vae_step(model, x, optimizer)
                schedule.step()
                if not math.isfinite(logs["loss"]):
                    model.load_state_dict(last_good)
                    raise TrainingDivergedError(
                        f"the training loss became {logs['loss']} in epoch {epoch}; the model was restored to the end "
                        f"of epoch {epoch - 1}, the history up to there is kept. Try a smaller lr (now {cfg.lr}).")
                for key, value in logs.items():
                    sums[key] += value
            history["epoch"].append(epoch)
            for key, value in sums.items():
                history[key].append(value / steps_per_epoch)
            last_good = copy.deepcopy(model.state_dict())
            if progress:
                print(describe_epoch(epoch, history))
            if checkpoint_path is not None:
                save_checkpoint(checkpoint_path, {"model": model},
                                {"epoch": epoch, "train_config": asdict(cfg), "history": dict(history)})
            for hook in hooks:
                hook(epoch, model, history)
    except KeyboardInterrupt:
        print(f"Interrupted in epoch {len(history['epoch']) + 1}: the model and the history so far are kept.")
    model.eval()
    return dict(history)
