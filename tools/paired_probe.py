"""Score candidate recipes of an adversarial paired model on the VALIDATION split's FID and KID: a recipe is chosen
on validation images, never on the test images that report it (notebook 10).

A developer's tool, not run by CI:

    .venv/bin/python tools/paired_probe.py cifar10_srgan [--steps 1000] [--images 500]
    .venv/bin/python tools/paired_probe.py cifar10_pix2pix_colour [--only NAME ...]

Each candidate starts from the model's regression baseline (START_FROM: the committed weights) or from scratch,
trains `--steps` steps of the recipe with its changes, and is scored on CIFAR-10 training images
47,000-47,000+images (validation split) against 1,000 reference validation images 45,000-45,999, beside the committed
models on the same images. FID at these sizes is biased upwards: compare rows with each other only.
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
from course_utils.image_metrics import colourfulness, distortion
from course_utils.pretrain_paired import PAIRED_MODELS, build, perceptual_features
from course_utils.train_paired import PairedTrainer, pair_sampler, translate

# model -> (its regression baseline, {candidate: (changes to the recipe's PairedTrainConfig, start from the baseline?)})
CANDIDATES = {
    "cifar10_srgan": ("cifar10_sr_mse", {  # session 13: 2e-2 chosen (FID 119.7; recipe 5e-3: 164.4)
        "recipe (adversarial 5e-3)": ({"adversarial_weight": 5e-3}, True),
        "adversarial 2e-2": ({"adversarial_weight": 2e-2}, True),
        "adversarial 5e-3 + L1 x 1": ({"adversarial_weight": 5e-3, "pixel_weight": 1.0, "pixel_loss": "l1"}, True),
    }),
    "cifar10_pix2pix_colour": ("cifar10_colour_l1", {  # session 14: L1 x 100 from L1 chosen (91.9; L1 104.8)
        "L1 x 100 + GAN, from L1": ({}, True),
        "L1 x 10 + GAN, from L1": ({"pixel_weight": 10.0}, True),
        "L1 x 10 + GAN, unconditional D, from L1": ({"pixel_weight": 10.0, "conditional_d": False}, True),
        "L1 x 10 + perceptual x 1 + GAN, from L1": ({"pixel_weight": 10.0, "perceptual_weight": 1.0}, True),
    }),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(CANDIDATES))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--only", nargs="*", help="candidates to run (default: all)")
    args = parser.parse_args()
    task, recipe, _ = PAIRED_MODELS[args.model]
    baseline, candidates = CANDIDATES[args.model]
    validation = paired.paired_task(task, "validation")  # training images 45,000-49,999
    reference = inception_features(validation["target"][:1000])
    source, target = validation["source"][2000:2000 + args.images], validation["target"][2000:2000 + args.images]
    train = paired.paired_task(task, "train")
    classifier = pretrained("cifar10_classifier", verbose=False)
    rows = {}

    def score(name: str, G, seconds: float = 0.0) -> None:
        outputs = translate(G, source)
        rows[name] = {**{k: round(v, 3) for k, v in distortion(outputs, target).items()},
                      **{k: round(v, 2) for k, v in fid_kid(inception_features(outputs, progress=False), reference).items()},
                      "colourfulness": round(colourfulness(outputs).mean().item(), 1), "seconds": round(seconds, 1)}
        print(name, rows[name], flush=True)

    score(f"committed {baseline}", pretrained(baseline, verbose=False))
    score(f"committed {args.model}", pretrained(args.model, verbose=False))
    for name, (change, from_baseline) in candidates.items():
        if args.only and name not in args.only:
            continue
        seed_everything(0)
        cfg = replace(recipe.train, steps=args.steps, **change)
        G, D = build(args.model, conditional_d=cfg.conditional_d)
        if from_baseline:
            G.load_state_dict(pretrained(baseline, verbose=False).state_dict())
        features = perceptual_features(classifier, train["target"][:1000]) if cfg.perceptual_weight > 0 else None
        sampler = pair_sampler(train["source"], train["target"], "cpu", torch.Generator().manual_seed(0))
        start = time.perf_counter()
        PairedTrainer(G, sampler, cfg, "cpu", D=D, features=features).train(progress=False)
        score(f"{name}, {args.steps} steps", G.eval(), time.perf_counter() - start)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
