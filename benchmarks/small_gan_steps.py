"""Steps per second of the small GANs (notebook 01's 1-D GAN, notebook 03's MLP GAN) with the eager step
and with `compile=True`, the same recipe in the same process.

At these sizes a step is a few hundred tiny kernels: on a GPU the time goes to launching them from Python,
not to arithmetic. `compile=True` records the whole step (D step + G step) once as a CUDA graph and replays
it; on a CPU it hands G and D to torch.compile. Both read their losses every 50 steps here.

    python benchmarks/small_gan_steps.py             # eager only on a CPU (compiling takes minutes on 2 cores)
    python benchmarks/small_gan_steps.py --compile   # also compile=True (the default on a GPU)
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import torch

from course_utils.budget import get_device, seed_everything
from course_utils.data import batch_sampler, gaussian_1d, mnist_tensors, to_signed_unit
from course_utils.models import gan1d, mlp_gan
from course_utils.recipes import GAN1D, MNIST_GAN
from course_utils.train import GANTrainer
from dcgan_throughput import trainer_steps  # this folder is on sys.path when a script here runs


def steps_per_second(trainer: GANTrainer, steps: int, rounds: int) -> tuple[float, list[float]]:
    runs = [steps / trainer_steps(trainer, steps) for _ in range(rounds)]
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time compile=True (always on a GPU)")
    args = parser.parse_args()
    device = get_device()
    compile_too = args.compile or device.type == "cuda"
    seed_everything(0, deterministic=False)
    print(f"device {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")

    mnist = to_signed_unit(mnist_tensors(train=True)[0]).to(device)
    models = {
        "1-D GAN (notebook 01)": (lambda: (gan1d.Generator(GAN1D.model), gan1d.Discriminator(GAN1D.model)),
                                  gaussian_1d().sampler(device), GAN1D.train),
        "MLP GAN (notebook 03)": (lambda: (mlp_gan.Generator(MNIST_GAN.model), mlp_gan.Discriminator(MNIST_GAN.model)),
                                  batch_sampler(mnist), MNIST_GAN.train),
    }
    for name, (build, sample, recipe) in models.items():
        results = {}
        for mode in ("eager", "compile=True") if compile_too else ("eager",):
            cfg = replace(recipe, log_every=50, compile=mode != "eager")
            trainer = GANTrainer(*build(), sample, cfg, device)
            steps_per_second(trainer, 30, 1)  # warm-up: allocation, compiling, recording the graph
            if mode != "eager":
                mode += " (CUDA graph)" if trainer._graph is not None else \
                    " (torch.compile)" if trainer._fast else " (fell back to eager)"
            results[mode], runs = steps_per_second(trainer, args.steps, args.rounds)
            print(f"{name}, batch {cfg.batch_size}, {mode}: {results[mode]:.0f} steps/s  runs {[round(r) for r in runs]}")
        if len(results) == 2:
            eager, fast = results.values()
            print(f"{name}: compile=True / eager = {fast / eager:.2f}x")


if __name__ == "__main__":
    main()
