"""Benchmark: the 1-D lecture GAN at its full budget (notebook 01, `recipes.GAN1D`).

Prints the wall time of the course trainer, its equilibrium metrics against notebook 01's targets
(mean |D - 1/2| <= 0.05 on the central 95% of p_data, JS <= 0.02 nats, in under 3 minutes), and
the ratio of its time to a bare loop of the same updates run in this process (the cost of the
trainer's bookkeeping: history, NaN guard, hooks, progress).

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
from course_utils.losses import discriminator_loss, generator_loss_non_saturating
from course_utils.metrics import gan1d_diagnostics
from course_utils.models.gan1d import Discriminator, Generator
from course_utils.recipes import GAN1D
from course_utils.train import GANTrainer


def bare_loop(steps: int) -> float:
    """The same updates with nothing around them: no history, no checks, no decay."""
    seed_everything(0)
    p_data, G, D, cfg = gaussian_1d(), Generator(GAN1D.model), Discriminator(GAN1D.model), GAN1D.train
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    start = time.perf_counter()
    for _ in range(steps):
        x_real, z = p_data.sample(cfg.batch_size), G.sample_z(cfg.batch_size)
        loss_d = discriminator_loss(D(x_real), D(G(z).detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = generator_loss_non_saturating(D(G(G.sample_z(cfg.batch_size))))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return time.perf_counter() - start


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
    baseline = bare_loop(cfg.steps)

    print(f"hardware: {hardware()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"course trainer: {cfg.steps} steps (batch {cfg.batch_size}, k={cfg.k}) in {seconds:.1f} s "
          f"[target < 180 s: {'ok' if seconds < 180 else 'MISSED'}]")
    print(f"JS(p_g, p_data)       = {numbers['js_nats']:.4f} nats "
          f"[target <= 0.02: {'ok' if numbers['js_nats'] <= 0.02 else 'MISSED'}]")
    print(f"mean |D(x) - 1/2|     = {numbers['d_mean_abs_dev']:.4f} "
          f"[target <= 0.05: {'ok' if numbers['d_mean_abs_dev'] <= 0.05 else 'MISSED'}]")
    print(f"max |D(x) - D*(x)|    = {numbers['d_max_error_vs_optimal']:.4f} (central 95% of p_data)")
    print(f"bare loop, same updates: {baseline:.1f} s; trainer / bare loop time ratio = {seconds / baseline:.2f}")


if __name__ == "__main__":
    main()
