"""Seconds per full-budget run of each method of notebook 07's 2-D comparison (target: at most 60 s on 2 cores).

Each method trains on the grid at its full recipe (recipes.MIXTURE_METHODS) once, in this process, and the
script prints its wall time and the ratio to the plain GAN's run timed in the same process, so a slow
machine shows up in every row alike. Run it on an otherwise idle machine:

    python benchmarks/mixtures2d_runs.py                  # every method, full recipes, torch's default threads
    python benchmarks/mixtures2d_runs.py --threads 1 R1   # one method, one thread
"""

from __future__ import annotations

import argparse
import os

import torch

from course_utils import mixtures2d
from course_utils.recipes import MIXTURE_METHODS

LIMIT_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("methods", nargs="*", default=list(MIXTURE_METHODS), help="methods (default: all)")
    parser.add_argument("--dataset", default="grid", choices=sorted(mixtures2d.MIXTURES))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch thread(s); {args.dataset}")
    methods = ["GAN"] + [m for m in args.methods if m != "GAN"]  # the baseline first
    baseline = None
    worst = 0.0
    for method in methods:
        run = mixtures2d.train_mixture(method, args.dataset, seed=0)
        baseline = baseline or run.seconds
        worst = max(worst, run.seconds)
        print(f"{method:<18}{run.steps:>6} G steps {run.seconds:>7.1f} s   ratio to GAN {run.seconds / baseline:>5.2f}   "
              f"{run.report['modes_covered']}/{run.report['n_modes']} modes, "
              f"{100 * run.report['high_quality']:.1f}% high quality", flush=True)
    verdict = "met" if worst <= LIMIT_SECONDS else "NOT met"
    print(f"slowest run {worst:.1f} s (target <= {LIMIT_SECONDS:.0f} s on 2 cores: {verdict})")


if __name__ == "__main__":
    main()
