"""Benchmark: notebook 05's VAE trained from scratch at its full budget on this machine.

Prints the training time against the issue's target (<= 10 minutes on 2 cores), the test negative
ELBO and the importance-weighted NLL (K = 1000, whole test set; target <= 95 nats, goal <= 90), and
the ratio of the IWAE estimate to the ELBO measured in the same process (how much the bound tightens).

    python benchmarks/vae_mnist.py [--epochs N] [--samples K]
"""

from __future__ import annotations

import argparse

import torch

from course_utils.checkpoints import hardware
from course_utils.pretrain import VAE_PROTOCOL, evaluate_mnist_vae, fit_mnist_vae


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--samples", type=int, default=1000, help="importance samples K")
    args = parser.parse_args()
    model, seconds, _ = fit_mnist_vae(epochs=args.epochs)
    metrics = evaluate_mnist_vae(model, args.samples)
    print(f"hardware: {hardware()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"protocol: {VAE_PROTOCOL}")
    print(f"VAE trained in {seconds:.0f} s [target <= 600 s: {'ok' if seconds <= 600 else 'MISSED'}]")
    print(f"test -ELBO = {metrics['elbo_nats']:.2f} nats")
    print(f"test NLL (IW, K={args.samples}) = {metrics['nll_nats']:.2f} nats "
          f"[target <= 95: {'ok' if metrics['nll_nats'] <= 95 else 'MISSED'}; goal <= 90: "
          f"{'ok' if metrics['nll_nats'] <= 90 else 'not reached'}]")
    print(f"IW NLL / -ELBO = {metrics['nll_nats'] / metrics['elbo_nats']:.3f}")


if __name__ == "__main__":
    main()
