"""Produce the committed pretrained weights: ``python -m course_utils.pretrain gan1d``.

Each recipe trains at the full budget, measures its metrics, and `register_pretrained` writes the
weights and their MANIFEST.json entry (sha256, config, command, hardware, seconds, metrics).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

import torch

from .budget import seed_everything
from .checkpoints import hardware, register_pretrained
from .data import gaussian_1d
from .metrics import gan1d_diagnostics
from .models import gan1d
from .train import GANTrainer


def pretrain_gan1d(seed: int = 0) -> None:
    """The 1-D lecture GAN on gaussian_1d() with TRAIN_RECIPE (notebook 01)."""
    seed_everything(seed)
    device = torch.device("cpu")  # a 1-D MLP is faster on the CPU than through GPU launches
    p_data = gaussian_1d()
    G, D = gan1d.Generator(), gan1d.Discriminator()
    trainer = GANTrainer(G, D, p_data.sample, gan1d.TRAIN_RECIPE, device)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    metrics = {key: round(value, 5) for key, value in gan1d_diagnostics(G, D, p_data).items()}
    record = register_pretrained("gan1d", {"G": G, "D": D}, {
        "model": "course_utils.models.gan1d.Generator+Discriminator",
        "config": G.config_dict(), "train_config": asdict(gan1d.TRAIN_RECIPE), "data": repr(p_data),
        "seed": seed, "command": "python -m course_utils.pretrain gan1d", "budget": "full", "hardware": hardware(),
        "seconds": round(seconds, 1), "metrics": metrics})
    print(f"gan1d: {metrics} in {seconds:.1f} s -> {record['file']} ({record['sha256'][:12]}...)")


def pretrain_mnist_classifier(seed: int = 0) -> None:
    """The MNIST classifier whose features the sample-quality metrics use (notebooks 02, 03, 05, 06)."""
    from .data import mnist_tensors, to_signed_unit
    from .models.classifiers import MNISTClassifier, accuracy, train_classifier

    seed_everything(seed)
    train_x, train_y = mnist_tensors(train=True)
    test_x, test_y = mnist_tensors(train=False)
    model = MNISTClassifier()
    epochs = 3
    start = time.perf_counter()
    losses = train_classifier(model, to_signed_unit(train_x), train_y, epochs=epochs, seed=seed)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, to_signed_unit(test_x), test_y)
    record = register_pretrained("mnist_classifier", {"classifier": model}, {
        "model": "course_utils.models.classifiers.MNISTClassifier", "config": model.config_dict(),
        "train_config": {"epochs": epochs, "batch_size": 128, "optimizer": "AdamW one-cycle, lr 2e-3",
                         "augmentation": "random shifts of up to 2 pixels", "train_losses": losses},
        "data": "MNIST train (60,000), evaluated on MNIST test (10,000)", "seed": seed,
        "command": "python -m course_utils.pretrain mnist_classifier", "budget": "full",
        "hardware": hardware(), "seconds": round(seconds, 1),
        "metrics": {"test_accuracy": round(test_accuracy, 4)}})
    print(f"mnist_classifier: test accuracy {test_accuracy:.4f} in {seconds:.0f} s -> {record['file']}")


RECIPES = {"gan1d": pretrain_gan1d, "mnist_classifier": pretrain_mnist_classifier}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=sorted(RECIPES))
    args = parser.parse_args()
    for name in args.names:
        RECIPES[name]()


if __name__ == "__main__":
    main()
