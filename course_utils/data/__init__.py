"""Data for the course, split by meaning.

- `toy`: 1-D and 2-D Gaussian mixtures with exact densities (the GAN lectures' p_data);
- `loading`: MNIST and CIFAR-10 from the cache, a read-only mirror or the network, verified by
  checksum, with clear errors; uint8 <-> [-1, 1] conversions, splits and batch samplers;
- `derived`: data sets built from those (MNIST-M, the CycleGAN's unpaired domains);
- `shapes`: shapes with known factors (shape, scale, rotation, x, y), drawn by the course (notebook 08).

Every public name is re-exported here: ``from course_utils import data; data.mnist_tensors()``.
"""

from .derived import (MNIST_M_PATCH, UNPAIRED_SPLITS, blend_mnist_m, grey_to_rgb, image_folder_domains, mnist_m,
                      rgb_to_grey, unpaired_mnist_domains)
from .loading import (CIFAR10_ARCHIVE, CIFAR10_ARCHIVE_MD5, CIFAR10_CLASSES, CIFAR10_PIXEL_SHA256, CIFAR10_SOURCE,
                      MNIST_ARCHIVES, MNIST_VALIDATION_SIZE, ArchiveSpec, DatasetNotFoundError, SignedImages,
                      batch_sampler, cifar10, cifar10_tensors, data_root, describe_error, ensure_archives, file_hash,
                      image_sampler, md5sum, mirror_root, mnist, mnist_tensors, mnist_train_validation, offline,
                      to_signed_unit, to_uint8)
from . import shapes
from .shapes import ShapesSpec, sample_shapes
from .toy import GaussianMixture, bimodal_1d, gaussian_1d, grid_2d, ring_2d, two_moons

__all__ = [
    "GaussianMixture", "bimodal_1d", "gaussian_1d", "grid_2d", "ring_2d", "two_moons",
    "CIFAR10_ARCHIVE", "CIFAR10_ARCHIVE_MD5", "CIFAR10_CLASSES", "CIFAR10_PIXEL_SHA256", "CIFAR10_SOURCE",
    "MNIST_ARCHIVES", "MNIST_VALIDATION_SIZE", "ArchiveSpec", "DatasetNotFoundError", "SignedImages",
    "batch_sampler", "cifar10", "cifar10_tensors", "data_root", "describe_error", "ensure_archives", "file_hash",
    "image_sampler", "md5sum", "mirror_root", "mnist", "mnist_tensors", "mnist_train_validation", "offline",
    "to_signed_unit", "to_uint8",
    "MNIST_M_PATCH", "UNPAIRED_SPLITS", "blend_mnist_m", "grey_to_rgb", "image_folder_domains", "mnist_m",
    "rgb_to_grey", "unpaired_mnist_domains",
    "shapes", "ShapesSpec", "sample_shapes",
]
