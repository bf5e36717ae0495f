"""Notebook 01's sections 1-4 (the lecture figure's run) for several seeds and step budgets.

    python tools/gan1d_seeds.py --steps 1500 6000 --seeds 0 1 2 3 4 5

Prints the four equilibrium diagnostics the notebook asserts (JS, mean |D - 1/2|, max |D - 1/2| over the central
99% of p_data, max |D - D*|) for each run, so the notebook's thresholds can be read against the seed-to-seed
spread. The random draws before training follow the notebook's cells, so seed 0 at 6,000 steps is the notebook's
full-budget run and seed 0 at 1,500 steps its fast one.
"""
import argparse
import time
from dataclasses import replace

import torch

from course_utils import data, metrics, plots, seed_everything
from course_utils.models.gan1d import Discriminator, Generator
from course_utils.recipes import GAN1D
from course_utils.train import GANTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 6000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    args = parser.parse_args()
    p_data = data.gaussian_1d()
    data_99 = torch.linspace(*p_data.central_interval(0.99), 501)
    for steps in args.steps:
        for seed in args.seeds:
            began = time.perf_counter()
            seed_everything(seed)
            G, D = Generator(), Discriminator()
            plots.take_snapshot(G, D, p_data, 0, "before training")  # the notebook's draws, in its order
            metrics.generator_samples(G, 20_000)
            p_data.sample(4096), G.sample_z(4096)
            trainer = GANTrainer(G, D, p_data.sample, replace(GAN1D.train, steps=steps), "cpu")
            trainer.train(300, progress=False)  # panel (a)
            for _ in range(800):  # panel (b)
                trainer.train_d()
            for _ in range(10):  # panel (c)
                trainer.train_g()
            trainer.train(steps - trainer.step, progress=False)  # panel (d)
            final = metrics.gan1d_diagnostics(G, D, p_data)
            flat = (metrics.discriminator_probability(D, data_99) - 0.5).abs().max().item()
            print(f"steps {steps} seed {seed}: JS {final['js_nats']:.4f} nats, mean |D-1/2| "
                  f"{final['d_mean_abs_dev']:.3f}, max |D-1/2| (99%) {flat:.3f}, max |D-D*| "
                  f"{final['d_max_error_vs_optimal']:.3f} ({time.perf_counter() - began:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
