"""Paired translation (notebook 10): the tasks, the networks, the measures and the trainer, against exact references.

- bicubic downsampling keeps a constant image constant; the grey of a grey image is itself;
- SRResNet starts as exactly bicubic upsampling (its last layer is zero);
- PSNR against its formula, SSIM of identical images is 1 and falls with noise, colourfulness of grey is 0, blur
  lowers the high-frequency power;
- the regression claim itself: an L2 model learns the conditional mean, an L1 model the conditional median;
- pix2pix's steps move both players; the configs and the demo refuse bad input.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import seed_everything
from course_utils.data import paired
from course_utils.image_metrics import colourfulness, distortion, psnr, radial_power_spectrum, ssim
from course_utils.models.cyclegan import CycleGANConfig, PatchDiscriminator
from course_utils.models.paired import (CIFARClassifier, SRResNet, SRResNetConfig, UNetGenerator,
                                        UNetGeneratorConfig)
from course_utils.train_paired import PairedTrainConfig, PairedTrainer, pair_sampler, translate
from course_utils.widgets import WipeDemo


def random_images(n: int = 6, channels: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, size, size), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def test_bicubic_downsampling_keeps_a_constant_image_and_divides_the_size():
    images = torch.full((2, 3, 32, 32), 77, dtype=torch.uint8)
    small = paired.bicubic_downsample(images)
    assert small.shape == (2, 3, 8, 8) and small.dtype == torch.uint8
    assert torch.equal(small, torch.full_like(small, 77))
    with pytest.raises(ValueError, match="divide by the factor"):
        paired.bicubic_downsample(torch.zeros(1, 3, 30, 30, dtype=torch.uint8))
    with pytest.raises(ValueError, match="uint8"):
        paired.bicubic_downsample(torch.zeros(1, 3, 32, 32))


def test_the_grey_of_a_grey_image_is_itself_and_weights_follow_bt601():
    grey = random_images(channels=1)
    assert torch.equal(paired.greyscale(grey.expand(-1, 3, -1, -1).contiguous()), grey)
    red = torch.zeros(1, 3, 4, 4, dtype=torch.uint8)
    red[:, 0] = 200
    assert paired.greyscale(red).unique().item() == round(0.299 * 200)


def test_srresnet_starts_as_bicubic_upsampling_and_checks_its_input():
    G = SRResNet(SRResNetConfig(width=8, blocks=1)).eval()
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    assert torch.equal(G(x), paired.bicubic_upsample(x))
    with pytest.raises(ValueError, match="SRResNet needs images"):
        G(torch.zeros(1, 1, 8, 8))


def test_unet_maps_sizes_and_refuses_sizes_its_levels_cannot_halve():
    G = UNetGenerator(UNetGeneratorConfig(in_channels=1, out_channels=3, width=8, levels=3))
    assert G(torch.zeros(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    assert UNetGenerator(UNetGeneratorConfig(3, 3, 8, 2))(torch.zeros(2, 3, 28, 28)).shape == (2, 3, 28, 28)
    with pytest.raises(ValueError, match="divisible by 8"):
        G(torch.zeros(1, 1, 28, 28))


def test_classifier_features_are_what_its_head_reads():
    model = CIFARClassifier().eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert model.perceptual_features(x).shape == (2, 32, 16, 16)
    assert torch.allclose(model(x), model.head[2](model.features(x)))


def test_psnr_is_its_formula_and_ssim_is_one_only_for_identical_images():
    target = random_images()
    noisy = (target.short() + torch.randint(-20, 21, target.shape, generator=torch.Generator().manual_seed(1))
             ).clamp(0, 255).to(torch.uint8)
    mse = (noisy.double() - target.double()).square().flatten(1).mean(1)
    assert torch.allclose(psnr(noisy, target), 10 * torch.log10(255.0 ** 2 / mse))
    assert torch.isinf(psnr(target, target)).all()
    assert torch.allclose(ssim(target, target), torch.ones(len(target), dtype=torch.float64))
    scores = [ssim((target.short() + torch.randint(-s, s + 1, target.shape, generator=torch.Generator().manual_seed(2))
                    ).clamp(0, 255).to(torch.uint8), target).mean().item() for s in (5, 20, 60)]
    assert 1 > scores[0] > scores[1] > scores[2]  # more noise, lower SSIM
    with pytest.raises(ValueError, match="same shape"):
        psnr(target[:2], target[:3])
    with pytest.raises(ValueError, match="uint8"):
        ssim(target.float(), target.float())


def test_colourfulness_is_zero_for_grey_and_grows_with_saturation():
    grey = random_images(channels=1).expand(-1, 3, -1, -1).contiguous()
    assert colourfulness(grey).abs().max() == 0
    pale = torch.stack([torch.full((8, 8), 140), torch.full((8, 8), 120), torch.full((8, 8), 120)])[None].to(torch.uint8)
    strong = torch.stack([torch.full((8, 8), 220), torch.full((8, 8), 40), torch.full((8, 8), 40)])[None].to(torch.uint8)
    assert 0 < colourfulness(pale).item() < colourfulness(strong).item()


def test_blur_lowers_the_high_frequency_power_and_keeps_the_low():
    sharp = random_images(n=20)
    kernel = torch.ones(3, 1, 3, 3) / 9
    blurred = F.conv2d(F.pad(sharp.float(), [1] * 4, mode="circular"), kernel, groups=3).round().to(torch.uint8)
    ratio = radial_power_spectrum(blurred) / radial_power_spectrum(sharp)
    assert ratio[12:].max() < 0.3 and ratio[1] > 0.9


def _train_on_ambiguous_pairs(pixel_loss: str) -> float:
    """A 1x1-convolution G on pairs where y = x + s, s = 0 with probability 0.7 and 1 with 0.3; returns G's offset."""
    seed_everything(0)
    generator = torch.Generator().manual_seed(0)

    def sample(n: int):
        x = torch.rand(n, 1, 4, 4, generator=generator) - 0.5
        s = (torch.rand(n, 1, 1, 1, generator=generator) < 0.3).float()
        return x, x + s

    G = nn.Conv2d(1, 1, 1)
    cfg = PairedTrainConfig(steps=600, batch_size=256, lr=0.05, betas=(0.9, 0.999), pixel_loss=pixel_loss,
                            log_every=50)
    PairedTrainer(G, sample, cfg, "cpu").train(progress=False)
    return G.bias.item()


def test_l2_regression_learns_the_conditional_mean_and_l1_the_median():
    assert _train_on_ambiguous_pairs("l2") == pytest.approx(0.3, abs=0.03)  # E[s] = 0.3: a value no pair has
    assert _train_on_ambiguous_pairs("l1") == pytest.approx(0.0, abs=0.03)  # the median of s


def test_a_pix2pix_step_updates_both_players_and_logs_them():
    seed_everything(0)
    source, target = random_images(16, channels=1), random_images(16, seed=1)
    G = UNetGenerator(UNetGeneratorConfig(1, 3, 8, 2))
    D = PatchDiscriminator(CycleGANConfig(channels=4, d_width=8))
    before = [p.detach().clone() for p in (*G.parameters(), *D.parameters())]
    cfg = PairedTrainConfig(steps=2, batch_size=4, pixel_weight=100.0, adversarial_weight=1.0, log_every=1)
    history = PairedTrainer(G, pair_sampler(source, target, "cpu"), cfg, "cpu", D=D).train(progress=False)
    assert {"pixel", "adversarial", "loss_g", "loss_d", "d_real", "d_fake"} <= set(history)
    after = [*G.parameters(), *D.parameters()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    assert translate(G, source).dtype == torch.uint8


def test_paired_configs_and_trainers_refuse_what_cannot_train():
    with pytest.raises(ValueError, match="pixel_loss"):
        PairedTrainConfig(pixel_loss="l3")
    with pytest.raises(ValueError, match="nothing to train"):
        PairedTrainConfig(pixel_weight=0.0)
    G = nn.Conv2d(1, 1, 1)
    sample = pair_sampler(random_images(4, 1, 8), random_images(4, 1, 8), "cpu")
    with pytest.raises(ValueError, match="needs a discriminator"):
        PairedTrainer(G, sample, PairedTrainConfig(adversarial_weight=1.0), "cpu")
    with pytest.raises(ValueError, match="feature network"):
        PairedTrainer(G, sample, PairedTrainConfig(perceptual_weight=1.0), "cpu")
    with pytest.raises(ValueError, match="same number"):
        pair_sampler(random_images(4), random_images(5), "cpu")
    with pytest.raises(ValueError, match="paired task"):
        paired.paired_task("denoising")


def test_the_wipe_shows_each_side_and_scores_each_image():
    truth = random_images(4)
    blurred = (truth.float() * 0.5 + 64).to(torch.uint8)
    demo = WipeDemo({"blurred": blurred, "ground truth": truth}, paired.bicubic_downsample(truth))
    assert torch.equal(demo.composite(1, "blurred", "ground truth", 0.0), truth[1].permute(1, 2, 0).float() / 255)
    assert torch.equal(demo.composite(1, "blurred", "ground truth", 1.0), blurred[1].permute(1, 2, 0).float() / 255)
    half = demo.composite(1, "blurred", "ground truth", 0.5)
    assert torch.equal(half[:, :16], blurred[1].permute(1, 2, 0)[:, :16].float() / 255)
    assert demo.scores["blurred"][0][2].item() == pytest.approx(psnr(blurred[2:3], truth[2:3]).item())
    assert "blurred" in demo.numbers(2) and len(demo.figure(0, "blurred", "ground truth", 0.3).axes) == 3
    with pytest.raises(ValueError, match="ground truth"):
        WipeDemo({"blurred": blurred}, truth)
    with pytest.raises(ValueError, match="one shape"):
        WipeDemo({"blurred": blurred[:, :, :16], "ground truth": truth}, truth)


def test_paired_mnist_m_is_notebook_06s_test_domain_with_its_digits(mnist_mirror, cifar10_mirror, shared_cache):
    from course_utils.data import unpaired_mnist_domains

    pairs = paired.paired_mnist_m("test")
    domains = unpaired_mnist_domains(split="test")
    assert torch.equal(pairs["source"], domains["B"]) and torch.equal(pairs["labels"], domains["labels_B"])
    from course_utils.data import mnist_tensors

    digits = mnist_tensors(train=False)[0][1::2]  # domain B's digits: the odd-indexed test images
    assert torch.equal(pairs["target"], digits.expand(-1, 3, -1, -1))


def test_the_cifar10_tasks_use_disjoint_splits(cifar10_mirror, shared_cache):
    train, validation = paired.super_resolution("train"), paired.colourisation("validation")
    assert len(train["target"]) == 45_000 and len(validation["target"]) == 5_000
    assert train["source"].shape[1:] == (3, 8, 8) and validation["source"].shape[1:] == (1, 32, 32)
    with pytest.raises(ValueError, match="split must be one of"):
        paired.super_resolution("holdout")


def test_an_exact_answer_counts_as_the_cap_in_the_mean_psnr():
    from course_utils.image_metrics import PSNR_CAP_DB

    target = random_images(2)
    outputs = target.clone()
    outputs[1, 0, 0, 0] ^= 1  # one level off in one pixel
    one_off = 10 * math.log10(255.0 ** 2 * target[0].numel())
    assert distortion(outputs, target)["psnr_db"] == pytest.approx((PSNR_CAP_DB + one_off) / 2)
