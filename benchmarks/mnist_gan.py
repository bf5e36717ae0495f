"""Benchmark: notebook 03's MLP GAN trained from scratch at its full budget on this machine.

Prints the training time against the issue's target (<= 10 minutes on 2 cores), every
sample-quality number of the notebook's table, the targets (10/10 classes, each class between 5%
and 15%, better Frechet distance and precision than the GMM baseline), and the GAN / GMM ratio of
Frechet distance, with the GMM baseline (the committed `mnist_gmm`) evaluated in the same process.

    python benchmarks/mnist_gan.py [--steps N]
"""

from __future__ import annotations

import argparse

import torch

from course_utils.checkpoints import hardware, load_pretrained
from course_utils.models.gmm import DiagonalGMM
from course_utils.pretrain import fit_mnist_gan
from course_utils.sample_quality import generator_images, gmm_images, mnist_evaluator

KEYS = ["fd_classifier", "kid_classifier", "precision", "recall", "coverage_classes", "ndb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    args = parser.parse_args()

    G, seconds = fit_mnist_gan(seed=0, steps=args.steps)
    gmm = DiagonalGMM(100, 784, min_variance=1e-6)
    load_pretrained("mnist_gmm", {"gmm": gmm})
    evaluator = mnist_evaluator()
    gan, baseline = evaluator.evaluate(generator_images(G)), evaluator.evaluate(gmm_images(gmm))

    print(f"hardware: {hardware()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"MLP GAN trained in {seconds:.0f} s [target <= 600 s: {'ok' if seconds <= 600 else 'MISSED'}]")
    print(f"{'':10}" + "".join(f"{key:>17}" for key in KEYS))
    for name, row in (("GAN", gan), ("GMM", baseline)):
        print(f"{name:10}" + "".join(f"{row[k]:17.4f}" if isinstance(row[k], float) else f"{row[k]:17d}" for k in KEYS))
    shares = gan["class_histogram"]
    print("GAN class shares: " + " ".join(f"{digit}:{share:.1%}" for digit, share in enumerate(shares)))
    balanced = gan["coverage_classes"] == 10 and all(0.05 <= share <= 0.15 for share in shares)
    print(f"10/10 classes, each 5-15%: {'ok' if balanced else 'MISSED'}")
    beats = gan["fd_classifier"] < baseline["fd_classifier"] and gan["precision"] > baseline["precision"]
    print(f"beats the GMM on Frechet distance and precision: {'ok' if beats else 'MISSED'}")
    print(f"Frechet distance ratio GAN / GMM = {gan['fd_classifier'] / baseline['fd_classifier']:.3f}")


if __name__ == "__main__":
    main()
