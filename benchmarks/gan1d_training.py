"""Benchmark: the 1-D lecture GAN at its full budget (notebook 01, `recipes.GAN1D`).

Prints the wall time of the course trainer, its equilibrium metrics against notebook 01's targets
(mean |D - 1/2| <= 0.05 on the central 95% of p_data, JS <= 0.02 nats, in under 3 minutes), and
the ratio of its time to a bare loop of the same updates run in this process (the cost of the
trainer's bookkeeping: history, divergence guard, hooks, progress). The bare loop calls the same `d_step` and
`g_step` with the same learning-rate schedule and draws its random numbers in the same order, so it differs
from the trainer only in that bookkeeping; the script checks this by comparing the two runs' final weights,
which must be equal.

    python benchmarks/gan1d_training.py [--steps N]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from course_utils import seed_everything
from course_utils.checkpoints import hardware
from course_utils.data import gaussian_1d
from course_utils.engine import linear_decay
from course_utils.losses import GAN_LOSSES
from course_utils.metrics import gan1d_diagnostics
from course_utils.models.gan1d import Discriminator, Generator
from course_utils.recipes import GAN1D
from course_utils.train import GANTrainer, d_step, g_step


def bare_loop(steps: int) -> tuple[float, Generator, Discriminator]:
    """The trainer's updates with nothing around them: d_step, g_step and the schedule, no history, guard or hooks."""
    seed_everything(0)
    p_data, G, D = gaussian_1d(), Generator(GAN1D.model), Discriminator(GAN1D.model)
    cfg = replace(GAN1D.train, steps=steps)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    schedule, g_loss = linear_decay(cfg.lr_final), GAN_LOSSES[cfg.loss].g
    start = time.perf_counter()
    for step in range(steps):
        factor = schedule(step / steps)
        opt_d.param_groups[0]["lr"], opt_g.param_groups[0]["lr"] = cfg.lr_d * factor, cfg.lr_g * factor
        for _ in range(cfg.k):
            x_real = p_data.sample(cfg.batch_size)
            d_step(G, D, x_real, G.sample_z(cfg.batch_size), opt_d, cfg)
        g_step(G, D, G.sample_z(cfg.batch_size), opt_g, g_loss)
    return time.perf_counter() - start, G, D


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=GAN1D.train.steps)
    args = parser.parse_args()
    cfg = replace(GAN1D.train, steps=args.steps)

    seed_everything(0)
    p_data, G, D = gaussian_1d(), Generator(GAN1D.model), Discriminator(GAN1D.model)
    trainer = GANTrainer(G, D, p_data.sample, cfg, "cpu")
    start = time.perf_counter()
    trainer.train(progress=False)
    seconds = time.perf_counter() - start
    numbers = gan1d_diagnostics(G, D, p_data)
    baseline, G_bare, D_bare = bare_loop(cfg.steps)
    identical = same_weights(G, G_bare) and same_weights(D, D_bare)

    print(f"hardware: {hardware()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"course trainer: {cfg.steps} steps (batch {cfg.batch_size}, k={cfg.k}) in {seconds:.1f} s "
          f"[target < 180 s: {'ok' if seconds < 180 else 'MISSED'}]")
    print(f"JS(p_g, p_data)       = {numbers['js_nats']:.4f} nats "
          f"[target <= 0.02: {'ok' if numbers['js_nats'] <= 0.02 else 'MISSED'}]")
    print(f"mean |D(x) - 1/2|     = {numbers['d_mean_abs_dev']:.4f} "
          f"[target <= 0.05: {'ok' if numbers['d_mean_abs_dev'] <= 0.05 else 'MISSED'}]")
    print(f"max |D(x) - D*(x)|    = {numbers['d_max_error_vs_optimal']:.4f} (central 95% of p_data)")
    print(f"bare loop, same updates: {baseline:.1f} s; trainer / bare loop time ratio = {seconds / baseline:.2f}")
    print(f"the bare loop ends with the trainer's weights exactly: {identical} "
          f"({'a fair baseline' if identical else 'NOT the same updates: the ratio above is not the bookkeeping alone'})")


if __name__ == "__main__":
    main()
