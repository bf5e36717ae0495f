"""Notebook 07's 2-D networks: shapes, and spectral normalisation bounding D's layers."""

import torch

from course_utils.models.gan2d import Discriminator, GAN2DConfig, Generator


def test_shapes():
    G, D = Generator(), Discriminator()
    z = G.sample_z(5)
    assert z.shape == (5, 2) and G(z).shape == (5, 2) and D(G(z)).shape == (5, 1)


def test_spectral_norm_makes_every_layer_of_d_1_lipschitz():
    torch.manual_seed(0)
    D = Discriminator(GAN2DConfig(spectral_norm=True)).train()
    for _ in range(30):  # each forward pass in training mode runs one power iteration
        D(torch.randn(64, 2))
    for layer in D.net:
        if isinstance(layer, torch.nn.Linear):
            assert torch.linalg.matrix_norm(layer.weight, ord=2) < 1.05
    plain = Discriminator(GAN2DConfig(spectral_norm=False))
    assert max(torch.linalg.matrix_norm(layer.weight, ord=2) for layer in plain.net
               if isinstance(layer, torch.nn.Linear)) > 1.05
