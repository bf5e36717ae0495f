"""InfoGAN's networks and its information term (notebook 08)."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils.losses import information_loss
from course_utils.models.infogan import (Discriminator, Generator, InfoGANConfig, make_latent, split_latent)

SMALL = InfoGANConfig(z_dim=5, categories=4, continuous=2, width=8)


def test_the_latent_vector_carries_z_and_the_codes_and_comes_apart_again():
    G = Generator(SMALL)
    latent = G.sample_z(500, generator=torch.Generator().manual_seed(0))
    assert latent.shape == (500, 5 + 4 + 2)
    parts = split_latent(latent, SMALL)
    assert parts.category.unique().tolist() == [0, 1, 2, 3]  # uniform over the values: all drawn
    assert torch.equal(latent[:, 5:9], F.one_hot(parts.category, 4).float())  # exactly one-hot
    assert parts.continuous.min() >= -1 and parts.continuous.max() <= 1 and parts.continuous.std() > 0.5  # U(-1, 1)
    assert torch.equal(make_latent(parts.z, parts.category, parts.continuous, SMALL), latent)
    with pytest.raises(ValueError, match=r"shape \(n, 11\) = z 5 \+ one-hot 4 \+ continuous 2; got \(3, 10\)"):
        split_latent(torch.zeros(3, 10), SMALL)


def test_shapes_of_the_networks_and_the_shared_trunk():
    G, D = Generator(SMALL), Discriminator(SMALL)
    x = G(G.sample_z(6, device="cpu"))
    assert x.shape == (6, 1, 28, 28) and x.abs().max() <= 1
    logit, codes = D.logit_and_codes(x)
    assert logit.shape == (6, 1) and torch.allclose(logit, D(x))
    assert codes.logits.shape == (6, 4) and codes.mean.shape == (6, 2) and codes.log_std.shape == (6, 2)
    assert all(torch.allclose(a, b) for a, b in zip(codes, D.read_codes(x)))
    paper = InfoGANConfig()
    assert (paper.z_dim, paper.categories, paper.continuous) == (62, 10, 2)  # the paper's MNIST set-up


@pytest.mark.parametrize("changes, message", [
    ({"categories": 1}, "0 \\(no categorical code\\) or at least 2"),
    ({"categories": 0, "continuous": 0}, "at least one code"),
    ({"z_dim": -1}, "z_dim must be a non-negative integer"),
    ({"width": 0}, "width must be at least 1"),
])
def test_a_wrong_config_gets_a_clear_error(changes, message):
    with pytest.raises(ValueError, match=message):
        InfoGANConfig(**changes)


def test_information_loss_by_hand():
    # categorical: uniform logits over 4 values cost log 4 whatever the code; a Gaussian at its mean with std 1
    # costs 0.5 log 2 pi per code; one std away, 0.5 more
    logits, category = torch.zeros(3, 4), torch.tensor([0, 1, 3])
    mean, log_std = torch.zeros(3, 2), torch.zeros(3, 2)
    at_mean, one_off = torch.zeros(3, 2), torch.tensor([[1.0, 0.0]] * 3)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    assert information_loss(logits, mean, log_std, category, at_mean).item() == pytest.approx(
        math.log(4) + 2 * half_log_2pi)
    assert information_loss(logits, mean, log_std, category, one_off).item() == pytest.approx(
        math.log(4) + 2 * half_log_2pi + 0.5)
    # the continuous part weighted, and a std of e: log_std 1 adds 1 per code and shrinks the square by e^2
    assert information_loss(logits, mean, log_std + 1, category, one_off, continuous_weight=0.5).item() == \
        pytest.approx(math.log(4) + 0.5 * (2 * half_log_2pi + 2 + 0.5 * math.exp(-2)))
    # a confident, correct categorical reading costs almost nothing; either part may be absent
    sure = F.one_hot(category, 4).float() * 50
    assert information_loss(sure, mean[:, :0], log_std[:, :0], category, at_mean[:, :0]).item() < 1e-6
    assert information_loss(logits[:, :0], mean, log_std, category, at_mean).item() == pytest.approx(2 * half_log_2pi)


def test_the_information_term_trains_both_g_and_q_but_not_ds_own_head():
    torch.manual_seed(0)
    G, D = Generator(SMALL), Discriminator(SMALL)
    latent = G.sample_z(16, device="cpu")
    parts = split_latent(latent, SMALL)
    codes = D.read_codes(G(latent))
    information_loss(*codes, parts.category, parts.continuous).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    assert all(p.grad is not None for p in D.q_head.parameters()) and D.trunk[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in D.d_head.parameters())


def test_a_short_run_on_mnist_teaches_q_to_read_the_categorical_code_of_gs_samples():
    """The mechanism of InfoGAN: G and Q cooperate on the information term, so within a few hundred steps Q reads
    the code G was given far above chance (1/4 here), and the information loss falls below log 4 (the cross-entropy
    of a Q that knows nothing). Without the term (weight 0) Q is never trained and stays near chance."""
    from dataclasses import replace

    from course_utils import data, seed_everything
    from course_utils.train import GANTrainConfig
    from course_utils.train_infogan import InfoGANTrainer, InformationWeights

    images = data.mnist_tensors(train=True)[0][:5000]
    cfg = GANTrainConfig(steps=150, batch_size=64, lr_d=2e-4, lr_g=1e-3, log_every=1)
    config = replace(SMALL, continuous=0)
    results = {}
    for weight in (1.0, 0.0):
        seed_everything(0)
        G, D = Generator(config), Discriminator(config)
        trainer = InfoGANTrainer(G, D, data.image_sampler(images, "cpu"), cfg, "cpu", InformationWeights(weight))
        trainer.train(progress=False)
        results[weight] = (sum(trainer.history["q_accuracy"][-30:]) / 30, sum(trainer.history["info_loss"][-30:]) / 30)
    # measured (seed 0): with the term Q reads 99.8% right, information loss 0.04; without it 22.7% and 1.50
    assert results[1.0][0] > 0.8 and results[1.0][1] < 0.5 * math.log(4), results
    assert results[0.0][0] < 0.45, results


def test_the_infogan_trainer_refuses_what_it_does_not_run():
    from course_utils.train import GANTrainConfig
    from course_utils.train_infogan import InfoGANTrainer

    G, D = Generator(SMALL), Discriminator(SMALL)
    with pytest.raises(ValueError, match="switch off \\['gradient_penalty'\\]"):
        InfoGANTrainer(G, D, lambda n: torch.zeros(n, 1, 28, 28), GANTrainConfig(gradient_penalty=1.0), "cpu")
    with pytest.raises(ValueError, match="built from the same InfoGANConfig"):
        InfoGANTrainer(G, Discriminator(InfoGANConfig(width=8)), lambda n: torch.zeros(n, 1, 28, 28),
                       GANTrainConfig(), "cpu")
