"""Score candidate SRGAN recipes on the VALIDATION split's FID and KID (notebook 10 found the recipe's SRGAN loses
PSNR but does not gain FID on the test images; a new recipe must be chosen on validation images, not test images).

A developer's tool, not run by CI:

    .venv/bin/python tools/srgan_probe.py [--steps 1000] [--images 500]

Each candidate starts from the committed cifar10_sr_mse (as the recipe does), trains `--steps` steps with its loss
weights, and is scored on CIFAR-10 training images 47,000-47,000+images (validation split) against 1,000 reference
validation images 45,000-45,999, beside the committed MSE and SRGAN models on the same images. FID at these sizes
is biased upwards: compare rows with each other only.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import torch

from course_utils import pretrained, seed_everything
from course_utils.data import paired
from course_utils.fid import fid_kid, inception_features
from course_utils.image_metrics import distortion
from course_utils.pretrain_paired import build, perceptual_features
from course_utils.recipes import CIFAR10_SRGAN
from course_utils.train_paired import PairedTrainer, pair_sampler, translate

CANDIDATES = {
    "recipe (adversarial 5e-3)": {},
    "adversarial 2e-2": {"adversarial_weight": 2e-2},
    "adversarial 5e-3 + L1 x 1": {"adversarial_weight": 5e-3, "pixel_weight": 1.0, "pixel_loss": "l1"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--images", type=int, default=500)
    args = parser.parse_args()
    validation = paired.super_resolution("validation")  # training images 45,000-49,999
    reference = inception_features(validation["target"][:1000])
    source, target = validation["source"][2000:2000 + args.images], validation["target"][2000:2000 + args.images]
    train = paired.super_resolution("train")
    classifier = pretrained("cifar10_classifier", verbose=False)
    rows = {}

    def score(name: str, G, seconds: float = 0.0) -> None:
        outputs = translate(G, source)
        rows[name] = {**{k: round(v, 3) for k, v in distortion(outputs, target).items()},
                      **{k: round(v, 2) for k, v in fid_kid(inception_features(outputs, progress=False), reference).items()},
                      "seconds": round(seconds, 1)}
        print(name, rows[name], flush=True)

    score("committed cifar10_sr_mse", pretrained("cifar10_sr_mse", verbose=False))
    score("committed cifar10_srgan", pretrained("cifar10_srgan", verbose=False))
    for name, change in CANDIDATES.items():
        seed_everything(0)
        G, D = build("cifar10_srgan")
        G.load_state_dict(pretrained("cifar10_sr_mse", verbose=False).state_dict())
        cfg = replace(CIFAR10_SRGAN.train, steps=args.steps, **change)
        sampler = pair_sampler(train["source"], train["target"], "cpu", torch.Generator().manual_seed(0))
        start = time.perf_counter()
        PairedTrainer(G, sampler, cfg, "cpu", D=D, features=perceptual_features(classifier)).train(progress=False)
        score(f"{name}, {args.steps} steps", G.eval(), time.perf_counter() - start)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
