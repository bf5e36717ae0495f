"""Images per second of notebook 06's CycleGAN training step: the old recipe against the new, same process.

Baseline: float32, batch 8 (the recipe until 2026-11-22). Measured: mixed precision, batch 32 (the recipe
now; the format is course_utils.precision's choice with amp=True: bfloat16 on CPUs and on CUDA cards that run it
natively, float16 with a gradient scaler on a T4 or V100). Both run `train_cyclegan` itself (learning
rate schedule, history buffers, device-side logs) on fixed random 28x28 batches, with the default
network sizes and one discriminator step per generator step (the recipe's second is left out of both,
so the ratio compares precision and batch size only); runs alternate, and the median is reported.
Two controls separate the two factors: float32 at batch 32 (what the batch size alone buys) and bfloat16 at
batch 8 (what the precision alone buys); "16-bit" below names whichever format ran; the script prints each factor's share of the speed-up.

    python benchmarks/cyclegan_throughput.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from course_utils.budget import get_device, seed_everything
from course_utils.models.cyclegan import CycleGAN
from course_utils.precision import choose_precision
from course_utils.train_cyclegan import CycleGANTrainConfig, train_cyclegan


def images_per_second(batch: int, amp: bool, steps: int, device: torch.device) -> float:
    """Images of each domain per second over `steps` training steps, after a 3-step warm-up run."""
    model = CycleGAN()
    a = torch.rand(batch, 3, 28, 28, device=device) * 2 - 1
    b = torch.rand(batch, 3, 28, 28, device=device) * 2 - 1
    cfg = CycleGANTrainConfig(steps=steps, batch_size=batch, amp=amp, d_steps=1)
    train_cyclegan(model, lambda n: a, lambda n: b, replace(cfg, steps=3), device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_cyclegan(model, lambda n: a, lambda n: b, cfg, device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seed_everything(0)
    device = get_device()
    recipe = choose_precision(device, None, cpu=True)  # what the recipe's amp=None runs here
    sixteen = choose_precision(device, True, cpu=True)  # what amp=True runs here (the 16-bit runs below)
    print(f"device {device}, {torch.get_num_threads()} threads; 16-bit runs: {sixteen.name}; "
          f"the recipe's amp=None here: {recipe.reason}")
    settings = {"baseline (fp32, batch 8)": (8, False), "control (fp32, batch 32)": (32, False),
                "control (16-bit, batch 8)": (8, True), "recipe (16-bit, batch 32)": (32, True)}
    runs = {name: [] for name in settings}
    for _ in range(args.repeats):
        for name, (batch, amp) in settings.items():
            runs[name].append(images_per_second(batch, amp, args.steps, device))
    for name, values in runs.items():
        print(f"{name:26} {statistics.median(values):8.1f} img/s  (runs: {', '.join(f'{v:.1f}' for v in values)})")
    median = {name: statistics.median(values) for name, values in runs.items()}
    base, new = median["baseline (fp32, batch 8)"], median["recipe (16-bit, batch 32)"]
    print(f"speed-up: {new / base:.2f}x = batch 8 -> 32 in fp32 {median['control (fp32, batch 32)'] / base:.2f}x "
          f"x 16-bit at batch 32 {new / median['control (fp32, batch 32)']:.2f}x "
          f"(16-bit at batch 8 alone: {median['control (16-bit, batch 8)'] / base:.2f}x)")
    if recipe.dtype == torch.float32:
        print("note: the recipe (amp=None) runs float32 here: its ratio is the fp32-at-batch-32 control's")


if __name__ == "__main__":
    main()
