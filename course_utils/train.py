"""The course's GAN trainer: Algorithm 1 of Goodfellow et al. 2014 as a readable PyTorch loop.

One training step = k discriminator steps (`d_step`) then one generator step (`g_step`).
`GANTrainer` keeps the models, optimisers and history together, so a notebook (or a widget's
"step D" button) can also call one step at a time, and an interrupted run loses nothing. The loop
itself, the logs, the divergence guard, checkpoints and Ctrl-C are the course's one engine
(course_utils.engine), shared with the VAE and CycleGAN trainers.

The same code is the fast GPU path. The step functions return their losses as tensors that stay on
the device; the engine reads them every `log_every` steps in one transfer. With `amp` the forward
passes run in 16 bits on CUDA (bfloat16, or float16 with a gradient scaler on cards without native bfloat16 such
as the T4: course_utils.precision decides), `channels_last` stores images as NHWC (what tensor-core convolutions
want), and Adam is fused into one kernel. With `compile=True` on a GPU the whole step (k D-steps and the
G-step) is recorded once as a CUDA graph and replayed: one launch instead of hundreds, which is what
limits small models and the paper's batch of 128. Elsewhere `compile=True` hands G and D to
torch.compile. Either way a failure to compile warns once and training goes on with the eager step.
Feed it with `data.image_sampler`, which keeps the whole uint8 dataset on the device.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor, nn

from .engine import (FRACTION, NON_NEGATIVE, POSITIVE, POSITIVE_INT, History, Hook, Trainer, TrainingDivergedError,  # noqa: F401
                     check_config, every, linear_decay, warn_once)
from .losses import GAN_LOSSES, GANLoss, discriminator_loss, gradient_penalty, r1_penalty
from .precision import Precision, apply_gradients, resolve_precision


@dataclass(frozen=True)
class GANTrainConfig:
    """Optimisation settings of `train_gan`; change one with dataclasses.replace(cfg, k=3)."""

    steps: int = 4000  # generator updates
    batch_size: int = 256
    k: int = 1  # discriminator steps per generator step (Algorithm 1's k)
    loss: str = "non_saturating"  # or "minimax", "wasserstein", "hinge": see course_utils.losses
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)  # beta1=0.5: Radford et al. 2016 found 0.9 oscillates
    optimizer_d: str = "adam"
    optimizer_g: str = "adam"  # or "sgd": plain gradient steps, whose size is the gradient's own; or "rmsprop"
    lr_final: float = 1.0  # learning rates decay linearly to this fraction by the last step
    checkpoint_every: int = 500  # how often the checkpoint file (if any) is written
    log_every: int = 1  # read the losses to the host every n steps (1: every step; GPU runs use ~50)
    amp: bool = True  # 16-bit autocast for the forward passes on CUDA (which format: course_utils.precision)
    channels_last: bool = False  # NHWC memory layout for conv nets (faster convolutions on GPUs)
    compile: bool = False  # GPU: replay the step as a CUDA graph; CPU: torch.compile G and D
    # Stabilisers (notebook 07); 0 switches each off.
    label_smoothing: float = 0.0  # one-sided (Salimans et al. 2016): D's target on real images is 1 - this
    instance_noise: float = 0.0  # std of Gaussian noise added to every image D sees, real or generated
    gradient_penalty: float = 0.0  # lambda of WGAN-GP (Gulrajani et al. 2017; they use 10)
    r1: float = 0.0  # gamma of R1 (Mescheder et al. 2018): D's loss gets gamma/2 E||grad D(x)||^2 on real data
    clip: float = 0.0  # WGAN (Arjovsky et al. 2017, 0.01): D's weights clipped to [-clip, clip] after each step

    def __post_init__(self):
        check_config(self, steps=POSITIVE_INT, batch_size=POSITIVE_INT, k=POSITIVE_INT,
                     checkpoint_every=POSITIVE_INT, log_every=POSITIVE_INT, lr_d=POSITIVE, lr_g=POSITIVE,
                     lr_final=FRACTION, instance_noise=NON_NEGATIVE, gradient_penalty=NON_NEGATIVE,
                     r1=NON_NEGATIVE, clip=NON_NEGATIVE,
                     loss=(lambda v: v in GAN_LOSSES, f"one of {sorted(GAN_LOSSES)}"),
                     optimizer_d=(lambda v: v in OPTIMIZERS, f"one of {list(OPTIMIZERS)}"),
                     optimizer_g=(lambda v: v in OPTIMIZERS, f"one of {list(OPTIMIZERS)}"),
                     betas=(lambda v: len(v) == 2 and all(0.0 <= b < 1.0 for b in v), "two numbers in [0, 1)"),
                     label_smoothing=(lambda v: 0.0 <= v < 1.0 and (v == 0.0 or GAN_LOSSES[self.loss].logit),
                                      "in [0, 1), and 0 unless the loss reads D's score as a logit "
                                      "(minimax, non_saturating)"))


OPTIMIZERS = ("adam", "sgd", "rmsprop")


def _images(batch):
    """The images of a batch, or of a conditional GAN's (images, labels) pair."""
    return batch[0] if isinstance(batch, tuple) else batch


def _with_images(batch, images: Tensor):
    """The batch with its images replaced (labels kept)."""
    return (images, *batch[1:]) if isinstance(batch, tuple) else images


def _noisy(batch, std: float):
    """Instance noise (Sonderby et al. 2017): Gaussian noise on the images D sees, so real and generated
    distributions overlap and D cannot separate them perfectly."""
    return _with_images(batch, _images(batch) + std * torch.randn_like(_images(batch))) if std > 0 else batch


def d_step(G: nn.Module, D: nn.Module, x_real: Tensor, z: Tensor, opt_d: torch.optim.Optimizer,
           cfg: GANTrainConfig = GANTrainConfig(), scaler: torch.amp.GradScaler | None = None) -> dict[str, Tensor]:
    """One discriminator update: ascend V = E log D(x) + E log(1 - D(G(z))) with G fixed (or the
    Wasserstein/hinge objective that cfg.loss names), plus the stabilisers cfg switches on.
    `scaler`: float16's gradient scaler (course_utils.precision), None otherwise.

    Returns the logged values as 0-d tensors on the device (no `.item()`: that would make the
    host wait for the GPU after every step)."""
    with torch.no_grad():
        x_fake = G(z)  # G is held fixed during D's step
    x_real, x_fake = _noisy(x_real, cfg.instance_noise), _noisy(x_fake, cfg.instance_noise)
    real_scores, fake_scores = D(x_real).float(), D(x_fake).float()
    gan_loss = GAN_LOSSES[cfg.loss]
    if cfg.label_smoothing:
        loss = discriminator_loss(real_scores, fake_scores, real_target=1.0 - cfg.label_smoothing)
    else:
        loss = gan_loss.d(real_scores, fake_scores)
    penalty = torch.zeros((), device=loss.device)
    score = lambda images: D(_with_images(x_real, images))  # noqa: E731 -- D on other images, same labels
    if cfg.gradient_penalty:
        penalty = penalty + cfg.gradient_penalty * gradient_penalty(score, _images(x_real), _images(x_fake))
    if cfg.r1:
        penalty = penalty + cfg.r1 / 2 * r1_penalty(score, _images(x_real))
    apply_gradients(loss + penalty, opt_d, scaler)
    if cfg.clip:  # WGAN's crude way to keep the critic Lipschitz
        with torch.no_grad():
            for weight in D.parameters():
                weight.clamp_(-cfg.clip, cfg.clip)
    logs = {"loss_d": loss.detach()}
    if cfg.gradient_penalty or cfg.r1:
        logs["penalty"] = penalty.detach()
    return {**logs, **score_logs(gan_loss, real_scores, fake_scores)}


def score_logs(gan_loss: GANLoss, real_scores: Tensor, fake_scores: Tensor) -> dict[str, Tensor]:
    """What D said in a step: the mean D(x) and D(G(z)) when the loss reads its scores as logits; a critic's mean
    scores otherwise (they are not probabilities; their gap estimates W1 for the Wasserstein loss)."""
    if gan_loss.logit:
        return {"d_real": torch.sigmoid(real_scores).mean().detach(),  # D(x), ideally -> 1/2
                "d_fake": torch.sigmoid(fake_scores).mean().detach()}  # D(G(z))
    return {"score_real": real_scores.mean().detach(), "score_fake": fake_scores.mean().detach()}


def g_step(G: nn.Module, D: nn.Module, z: Tensor, opt_g: torch.optim.Optimizer,
           loss_fn: Callable[[Tensor], Tensor], instance_noise: float = 0.0,
           scaler: torch.amp.GradScaler | None = None) -> dict[str, Tensor]:
    """One generator update: descend the chosen generator loss through a fixed D."""
    D.requires_grad_(False)  # gradients flow through D to G, but D's weights are not changed
    loss = loss_fn(D(_noisy(G(z), instance_noise)).float())
    apply_gradients(loss, opt_g, scaler)
    D.requires_grad_(True)
    grads = [p.grad.norm() for p in G.parameters() if p.grad is not None]
    grad_norm = torch.stack(grads).norm().detach()
    if scaler is not None:  # a step the scaler skipped (float16 overflow) applied nothing: it logs 0
        grad_norm = torch.where(torch.isfinite(grad_norm), grad_norm, torch.zeros_like(grad_norm))
    return {"loss_g": loss.detach(), "grad_g": grad_norm}


def make_optimizer(model: nn.Module, name: str, lr: float, betas: tuple[float, float],
                   device: torch.device, capturable: bool = False) -> torch.optim.Optimizer:
    """Adam (fused into one kernel on the GPU) or plain SGD for `model`'s weights.

    capturable: Adam safe to record in a CUDA graph, its learning rate a tensor the schedule updates."""
    if name == "adam":
        if capturable:
            return torch.optim.Adam(model.parameters(), lr=torch.tensor(lr, device=device), betas=betas,
                                    fused=True, capturable=True)
        return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, fused=device.type == "cuda")
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    if name == "rmsprop":  # what the WGAN paper uses: momentum-based Adam made its critic unstable
        return torch.optim.RMSprop(model.parameters(), lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}")


def _to(batch, device: torch.device):
    """A batch, or a tuple such as a conditional GAN's (images, labels), on `device`."""
    return tuple(part.to(device) for part in batch) if isinstance(batch, tuple) else batch.to(device)


class GANTrainer(Trainer):
    """G, D, their optimisers, the data sampler and the history of one GAN run.

    `sample_real(n)` returns a batch of real data; G must offer `sample_z(n, device=...)`.
    A conditional GAN passes pairs: `sample_real` gives (x, y), `G.sample_z` gives (z, y), G maps
    (z, y) to (x, y) and D scores (x, y) (see models/cgan.py); the steps are the same.
    """

    description = "training GAN"

    def __init__(self, G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor],
                 cfg: GANTrainConfig, device: torch.device | str,
                 checkpoint_path: str | Path | None = None, precision: Precision | None = None):
        self.device = torch.device(device)
        # precision: what the device runs natively unless given (course_utils.precision); recorded in checkpoints.
        self.precision = resolve_precision(precision, self.device, cfg.amp)
        memory_format = torch.channels_last if cfg.channels_last else torch.preserve_format
        self.G = G.to(self.device, memory_format=memory_format)
        self.D = D.to(self.device, memory_format=memory_format)
        self.sample_real = sample_real
        self.cfg = cfg
        # compile=True on a GPU: record the step as a CUDA graph (needs Adam whose state lives on the device).
        self._capture = cfg.compile and self.device.type == "cuda"
        if self._capture and (cfg.optimizer_d, cfg.optimizer_g) != ("adam", "adam"):
            warn_once("compile=True records the GAN step as a CUDA graph only with Adam for both players; "
                      "training goes on with the eager step.")
            self._capture = False
        if self._capture and self.precision.scaled:
            warn_once("compile=True records the GAN step as a CUDA graph only without a gradient scaler (float16 "
                      "needs one, and its skipped-step check waits for the GPU); training goes on with the eager step.")
            self._capture = False
        self.scalers = {"D": self.precision.make_scaler(), "G": self.precision.make_scaler()}
        self.opt_d = make_optimizer(self.D, cfg.optimizer_d, cfg.lr_d, cfg.betas, self.device, self._capture)
        self.opt_g = make_optimizer(self.G, cfg.optimizer_g, cfg.lr_g, cfg.betas, self.device, self._capture)
        # What the steps call: the models themselves, or (CPU, compile=True) their compiled versions.
        compiled = cfg.compile and not self._capture
        self._G = torch.compile(self.G) if compiled else self.G
        self._D = torch.compile(self.D) if compiled else self.D
        self._fast = cfg.compile  # a compiled or captured step is tried until it has worked once
        self._fast_worked = False
        self._forget_graph()
        super().__init__({"G": self.G, "D": self.D}, {"D": self.opt_d, "G": self.opt_g},
                         total_steps=cfg.steps, log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
                         schedule=linear_decay(cfg.lr_final), checkpoint_path=checkpoint_path, config=cfg)
        self.advice = (f"Try smaller learning rates (now lr_d={cfg.lr_d}, lr_g={cfg.lr_g}) or another loss.")

    def _autocast(self):
        # A CUDA graph must not cache autocast's casts between replays.
        return self.precision.autocast(cache_enabled=not self._capture)

    # -- one step at a time (what the widget's buttons call)
    def train_d(self) -> dict[str, Tensor]:
        """One discriminator step on a fresh batch."""
        x_real = _to(self.sample_real(self.cfg.batch_size), self.device)
        z = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return d_step(self._G, self._D, x_real, z, self.opt_d, self.cfg, self.scalers["D"])

    def train_g(self) -> dict[str, Tensor]:
        """One generator step on fresh noise, with the configured loss."""
        z = self.G.sample_z(self.cfg.batch_size, device=self.device)
        with self._autocast():
            return g_step(self._G, self._D, z, self.opt_g, GAN_LOSSES[self.cfg.loss].g, self.cfg.instance_noise,
                          self.scalers["G"])

    def algorithm_1(self) -> dict[str, Tensor]:
        """k discriminator steps, then one generator step (the eager step students read)."""
        d_logs = [self.train_d() for _ in range(self.cfg.k)]
        logs = {key: sum(log[key] for log in d_logs) / len(d_logs) for key in d_logs[0]}
        logs.update(self.train_g())
        return logs

    def training_step(self) -> dict[str, Tensor]:
        if not self._fast:
            return self.algorithm_1()
        if not self._fast_worked:
            self.flush(keep=True)  # a failed first try is undone from here
        try:
            logs = self._captured_step() if self._capture else self.algorithm_1()
        except Exception as error:  # noqa: BLE001 -- a compiler failure must not end a student's run
            if self._fast_worked:
                raise
            self._fall_back(error)
            return self.algorithm_1()
        self._fast_worked = not self._capture or self._graph is not None
        return logs

    def _fall_back(self, error: Exception) -> None:
        kind = "CUDA graph capture" if self._capture else "torch.compile"
        warn_once(f"compile=True: {kind} failed ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                  "training goes on with the eager step, which computes the same updates more slowly.")
        self.restore()
        self._fast = self._capture = False
        self._forget_graph()
        self._G, self._D = self.G, self.D

    # -- the GPU path: Algorithm 1 recorded once as a CUDA graph, then replayed
    def _captured_step(self) -> dict[str, Tensor]:
        if self._graph is None and self._warmup < 3:
            # Warm-up steps on a side stream (cuDNN picks its kernels, autograd its streams) before recording.
            self._warmup += 1
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):
                logs = self.algorithm_1()
            torch.cuda.current_stream(self.device).wait_stream(side)
            return logs
        if self._graph is None:
            self.opt_d.zero_grad(set_to_none=True)
            self.opt_g.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                logs = self.algorithm_1()
                self._static_keys = list(logs)
                self._static_logs = torch.stack([logs[key].float() for key in self._static_keys])
            self._graph = graph  # recording ran nothing: the replay below is this step's update
        self._graph.replay()
        row = self._static_logs.clone()  # the next replay overwrites the static buffer
        return {key: row[i] for i, key in enumerate(self._static_keys)}

    def on_restore(self) -> None:
        # The graph holds the addresses of the optimisers' state; a restore that emptied it needs a new graph.
        if self._graph is not None and not all(opt.state for opt in self.optimizers.values()):
            self._forget_graph()

    def _forget_graph(self) -> None:
        """Drop the recorded step: the next captured step warms up and records again."""
        self._graph = None
        self._warmup = 0

    def reconfigure(self, **changes) -> None:
        """Change k, loss, batch_size, learning rates... between steps."""
        fixed = {"compile", "channels_last", "optimizer_d", "optimizer_g", "betas", "amp"} & set(changes)
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} is fixed when the trainer is built; make a new GANTrainer")
        cfg = replace(self.cfg, **changes)  # validated here
        self.flush()
        self.cfg = cfg
        self.total_steps, self.log_every, self.checkpoint_every = cfg.steps, cfg.log_every, cfg.checkpoint_every
        self.schedule = linear_decay(cfg.lr_final)
        self.base_lrs = {"D": [cfg.lr_d], "G": [cfg.lr_g]}
        self._forget_graph()  # k, the loss or the batch size may have changed: record (or compile) again,
        self._fast_worked = False  # with the same fallback to eager if that fails


def train_gan(G: nn.Module, D: nn.Module, sample_real: Callable[[int], Tensor], cfg: GANTrainConfig,
              device: torch.device | str, hooks: Sequence[Callable[[GANTrainer], None]] = (),
              checkpoint_path: str | Path | None = None, progress: bool = True) -> GANTrainer:
    """Train G and D in place for cfg.steps steps; return the trainer (its history: trainer.history).

    After Ctrl-C or a caught TrainingDivergedError, `trainer.train()` goes on to cfg.steps."""
    trainer = GANTrainer(G, D, sample_real, cfg, device, checkpoint_path)
    trainer.train(hooks=hooks, progress=progress)
    return trainer


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
