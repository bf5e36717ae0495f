"""course_utils: the models, trainers, data, metrics, plots and widgets of the generative-models course."""

from .budget import budget, get_device, is_fast, seed_everything
from .checkpoints import (CheckpointError, load_checkpoint, load_or_train, load_pretrained, pretrained, read_manifest,
                          save_checkpoint)
from .data import DatasetNotFoundError, GaussianMixture, bimodal_1d, gaussian_1d, grid_2d, mnist, ring_2d
from .engine import Trainer, TrainingDivergedError, every
from .train import GANTrainConfig, GANTrainer, train_gan

__all__ = [
    "budget", "get_device", "is_fast", "seed_everything",
    "CheckpointError", "load_checkpoint", "load_or_train", "load_pretrained", "pretrained", "read_manifest",
    "save_checkpoint",
    "DatasetNotFoundError", "GaussianMixture", "bimodal_1d", "gaussian_1d", "grid_2d", "mnist", "ring_2d",
    "Trainer", "TrainingDivergedError", "every",
    "GANTrainConfig", "GANTrainer", "train_gan",
]
