"""Every pretrained model's recipe in one place: its network's config and its training config.

`python -m course_utils.pretrain NAME` trains with these, the notebooks start from them (their fast
budgets are shortened copies made in their first cell), and the benchmarks time them. The models do
not import this file: a model file holds only the network, and a recipe names the network it trains.
What each recipe reached (metrics, seconds, hardware) is recorded in data/pretrained/MANIFEST.json,
and a test checks that the recipes here equal the configs recorded there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from .models.classifiers import ClassifierConfig, ResidualClassifierConfig, ShapesReaderConfig
from .models.cgan import CGANConfig
from .models.cyclegan import CycleGANConfig
from .models.dcgan import DCGANConfig
from .models.diffusion import UNetConfig
from .models.flows import ImageFlowConfig
from .models.gan1d import GAN1DConfig
from .models.gan2d import GAN2DConfig
from .models.infogan import InfoGANConfig
from .models.mlp_gan import MLPGANConfig
from .models.paired import CIFARClassifierConfig, SRResNetConfig, UNetGeneratorConfig
from .models.vae import VAEConfig
from .train import GANTrainConfig
from .train_cyclegan import CycleGANTrainConfig
from .train_flows_diffusion import ObjectiveTrainConfig
from .train_paired import PairedTrainConfig
from .train_infogan import ContrastiveWeights, InformationWeights
from .train_vae import VAETrainConfig


@dataclass(frozen=True)
class Recipe:
    """A pretrained model's network config and training config (either may be a plain dict)."""

    model: Any
    train: Any


# ---------------------------------------------------------------- notebook 01: the 1-D lecture GAN
# D learns 4x faster than G (a two time-scale rule, Heusel et al. 2017) and both rates decay to 2%.
GAN1D = Recipe(GAN1DConfig(), GANTrainConfig(steps=6000, batch_size=512, k=1, loss="non_saturating",
                                             lr_d=4e-3, lr_g=1e-3, lr_final=0.02))

# ---------------------------------------------------------------- notebook 03: the MNIST MLP GAN
# Adam with beta1 = 0.5 (Radford et al. 2016: the default 0.9 made training oscillate and unstable).
MNIST_GAN = Recipe(MLPGANConfig(), GANTrainConfig(steps=20_000, batch_size=64, k=1, loss="non_saturating",
                                                  lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), lr_final=0.1,
                                                  checkpoint_every=2000))

# ---------------------------------------------------------------- notebook 04: DCGAN on CIFAR-10
# Radford et al. 2016: Adam, learning rate 2e-4, beta1 = 0.5, batch 128. On a GPU: the paper's widths,
# bf16, channels_last, losses read every 50 steps; 20,000 steps of 128 images are about 51 epochs.
# The committed `dcgan_cifar10` weights come from this recipe, trained on a GPU.
DCGAN_CIFAR10 = Recipe(DCGANConfig(), GANTrainConfig(
    steps=20_000, batch_size=128, k=1, loss="non_saturating", lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999),
    lr_final=0.1, checkpoint_every=1000, log_every=50, channels_last=True))
# The CPU recipe: half the widths (a quarter of the FLOPs per step) and 8,000 steps (about 20 epochs),
# the same optimiser.
DCGAN_CIFAR10_CPU = Recipe(replace(DCGANConfig(), g_width=32, d_width=32),
                           replace(DCGAN_CIFAR10.train, steps=8_000))


def dcgan_cifar10_recipe(device: torch.device | str) -> Recipe:
    """The DCGAN recipe for `device`: the paper's widths on a GPU, the half-width CPU recipe elsewhere."""
    return DCGAN_CIFAR10 if torch.device(device).type == "cuda" else DCGAN_CIFAR10_CPU


# ---------------------------------------------------------------- notebook 07: what makes the DCGAN converge
# Notebook 04's DCGAN with two of notebook 07's fixes, at the paper widths for a GPU.
# Spectral norm + hinge loss: Miyato et al. 2018, Table 1 setting C (Adam 2e-4, betas (0.5, 0.999), one D step
# per G step); spectral norm replaces D's batch norm.
DCGAN_CIFAR10_SN_HINGE = Recipe(replace(DCGANConfig(), d_norm="spectral"),
                                replace(DCGAN_CIFAR10.train, loss="hinge"))
# WGAN-GP: Gulrajani et al. 2017, Algorithm 1 (lambda 10, 5 critic steps per generator step, Adam 1e-4,
# betas (0, 0.9)); the critic has no batch norm (the penalty is per sample).
DCGAN_CIFAR10_WGAN_GP = Recipe(replace(DCGANConfig(), d_norm="none"), replace(
    DCGAN_CIFAR10.train, loss="wasserstein", gradient_penalty=10.0, k=5, lr_d=1e-4, lr_g=1e-4, betas=(0.0, 0.9)))
# Their CPU comparison: half the widths, and the same generator steps and batch for all three, the plain DCGAN
# included (the same linear decay to 10%). The steps were chosen by timing a few dozen steps of each on one
# thread of the course's shared 2-core CPU: a WGAN-GP step (5 critic steps, each with the penalty's double
# backward) costs about six plain ones, and 3,000 steps of each were estimated to keep the three runs near
# 40 minutes together (what they took on the shared CPU is in the manifest). 3,000 steps of 64 images are
# under 4 epochs: a short run next to the papers' 100,000 steps.
CIFAR10_CPU_COMPARISON_STEPS, CIFAR10_CPU_COMPARISON_BATCH = 3_000, 64


def cpu_comparison(recipe: Recipe) -> Recipe:
    """A notebook 07 recipe at half the widths, with the CPU comparison's steps and batch."""
    return Recipe(replace(recipe.model, g_width=recipe.model.g_width // 2, d_width=recipe.model.d_width // 2),
                  replace(recipe.train, steps=CIFAR10_CPU_COMPARISON_STEPS, batch_size=CIFAR10_CPU_COMPARISON_BATCH,
                          checkpoint_every=500))


DCGAN_CIFAR10_CPU_PLAIN = cpu_comparison(DCGAN_CIFAR10)
DCGAN_CIFAR10_CPU_SN_HINGE = cpu_comparison(DCGAN_CIFAR10_SN_HINGE)
DCGAN_CIFAR10_CPU_WGAN_GP = cpu_comparison(DCGAN_CIFAR10_WGAN_GP)


# ---------------------------------------------------------------- notebook 06: conditional GAN, CycleGAN
# notebook 03's optimiser (Adam 2e-4, beta1 0.5, batch 64), 15,000 steps.
MNIST_CGAN = Recipe(CGANConfig(), GANTrainConfig(steps=15_000, batch_size=64, k=1, loss="non_saturating",
                                                 lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), lr_final=0.1,
                                                 checkpoint_every=1000, log_every=25))
# Candidates for the weight average of the conditional G (0: the last weights), chosen on validation noise.
MNIST_CGAN_AVERAGE_CANDIDATES = (0.999, 0.9995)

# amp=None: bfloat16 autocast where the hardware runs it fast (pretrain decides, and records what it used).
MNIST_CYCLEGAN = Recipe(CycleGANConfig(), CycleGANTrainConfig())
# Candidates for weight averaging (CycleGANTrainConfig.ema_decay; 0: the last weights), compared on validation.
MNIST_CYCLEGAN_EMA_CANDIDATES = (0.0, 0.998, 0.999)

# ---------------------------------------------------------------- notebook 05: the VAEs
MNIST_VAE = Recipe(VAEConfig(latent=32, hidden=512), VAETrainConfig(epochs=50))
MNIST_VAE2D = Recipe(VAEConfig(latent=2, hidden=512), VAETrainConfig(epochs=20))

# ---------------------------------------------------------------- notebook 02: the MNIST mixture
MNIST_GMM = Recipe({"components": 100, "dim": 28 * 28, "min_variance": 1e-6}, {"max_iterations": 60})

# ---------------------------------------------------------------- the two readers of generated digits
MNIST_CLASSIFIER = Recipe(ClassifierConfig(), {"epochs": 3, "batch_size": 128})
# The second reader's number of epochs is chosen among the candidates on the validation split.
MNIST_CLASSIFIER2 = Recipe(ResidualClassifierConfig(), {"batch_size": 128, "lr": 3e-3, "label_smoothing": 0.05})
MNIST_CLASSIFIER2_EPOCH_CANDIDATES = (2, 3)

# ---------------------------------------------------------------- notebook 07: 2-D mixtures, measured
# One budget for every method: the same 3 x 128 MLPs (models.gan2d), batch 256, learning rates decaying
# linearly to 5% by the last step, and about the same arithmetic per run: 8,000 generator steps for the
# methods with one D step per G step; 2,000 for the WGAN critics, which take 5 critic steps per G step
# (Arjovsky et al. 2017; Gulrajani et al. 2017). Each method keeps the optimiser its paper uses.
_MIXTURE_BASE = GANTrainConfig(steps=8000, batch_size=256, lr_d=1e-3, lr_g=1e-3, lr_final=0.05, log_every=50)
_CRITIC = replace(_MIXTURE_BASE, steps=2000, k=5, loss="wasserstein")
MIXTURE_METHODS: dict[str, Recipe] = {
    # the lecture's objective: G minimises log(1 - D(G(z))), which saturates when D wins
    "GAN (minimax)": Recipe(GAN2DConfig(), replace(_MIXTURE_BASE, loss="minimax")),
    # Goodfellow et al.'s practical fix: G maximises log D(G(z)); the baseline of the tips below
    "GAN": Recipe(GAN2DConfig(), _MIXTURE_BASE),
    # weight clipping at 0.01 and RMSprop, as in the WGAN paper (its lr 5e-5 is for images)
    "WGAN (clip)": Recipe(GAN2DConfig(), replace(_CRITIC, clip=0.01, optimizer_d="rmsprop", optimizer_g="rmsprop")),
    # lambda = 0.1: the WGAN-GP authors' setting for their toy 2-D data (10 is for images); Adam betas (0.5, 0.9)
    "WGAN-GP": Recipe(GAN2DConfig(), replace(_CRITIC, gradient_penalty=0.1, betas=(0.5, 0.9))),
    # Miyato et al. 2018: spectral norm on D's layers, hinge loss, Adam at 2e-4
    "SN + hinge": Recipe(GAN2DConfig(spectral_norm=True), replace(_MIXTURE_BASE, loss="hinge", lr_d=2e-4, lr_g=2e-4)),
    # Mescheder et al. 2018: gamma/2 E||grad D(x)||^2 on real data; gamma = 0.1 suits modes of std 0.05
    "R1": Recipe(GAN2DConfig(), replace(_MIXTURE_BASE, r1=0.1)),
    # the lecture's tips (ganhacks; Salimans et al. 2016; Heusel et al. 2017), each on the GAN row
    "label smoothing": Recipe(GAN2DConfig(), replace(_MIXTURE_BASE, label_smoothing=0.1)),
    "instance noise": Recipe(GAN2DConfig(), replace(_MIXTURE_BASE, instance_noise=0.05)),
    "TTUR": Recipe(GAN2DConfig(), replace(_MIXTURE_BASE, lr_d=2e-3, lr_g=5e-4)),
}
MIXTURE_SEEDS = (0, 1, 2)


# ---------------------------------------------------------------- notebook 07: the GAN Lab demo's recordings
# Not weights: `python -m course_utils.pretrain gan_lab` records one replayable run per loss and data set
# (data/pretrained/gan_lab.npz, listed in RECORDINGS.json). The same small MLPs for every loss, constant
# learning rates (lr_final=1), so that "train live" goes on from a recording's last state with its settings.
# WGAN-GP: Adam betas (0.5, 0.9) and k=5 as Gulrajani et al. 2017, lambda 1 (section 2: 10 is stiff at this size).
# SN-hinge: betas (0, 0.9), as WGAN-GP's Algorithm 1; with beta1 = 0.5 the ring collapsed in a trial run.
GAN_LAB_STEPS = 2000  # generator steps of each recording
_LAB_MLP = GAN2DConfig(hidden=64)
GAN_LAB = {
    "GAN": Recipe(_LAB_MLP, GANTrainConfig(steps=GAN_LAB_STEPS, batch_size=256, k=1, loss="non_saturating",
                                           lr_d=1e-3, lr_g=1e-3, lr_final=1.0)),
    "WGAN-GP": Recipe(_LAB_MLP, GANTrainConfig(steps=GAN_LAB_STEPS, batch_size=256, k=5, loss="wasserstein",
                                               gradient_penalty=1.0, lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.9),
                                               lr_final=1.0)),
    "SN-hinge": Recipe(replace(_LAB_MLP, spectral_norm=True), GANTrainConfig(
        steps=GAN_LAB_STEPS, batch_size=256, k=1, loss="hinge", lr_d=1e-3, lr_g=1e-3, betas=(0.0, 0.9), lr_final=1.0)),
}

# ---------------------------------------------------------------- notebook 08: disentangled codes
# Below the targets, with the numbers in notebook 08 and the README: chosen on probes (tools/infogan_probe.py,
# tools/shapes_probe.py: noise / metric seed 1), reported on other seeds.
# InfoGAN on MNIST: the paper's networks with the two 1024-unit layers cut to 128 (the committed file 3.9 MB in
# float16 instead of 53 MB in float32), its codes and learning rates (G 1e-3, D 2e-4; lambda 1 for the categorical
# code); batch 64 and a decay to 10% so that it fits 15 minutes of a 2-core CPU.
MNIST_INFOGAN = Recipe(InfoGANConfig(hidden=128),
                       GANTrainConfig(steps=4000, batch_size=64, lr_d=2e-4, lr_g=1e-3, lr_final=0.1, log_every=50,
                                      checkpoint_every=1000))
MNIST_INFOGAN_INFORMATION = InformationWeights(weight=1.0, continuous_weight=0.1)

# The shapes table: 5 continuous codes and 5 noise dimensions, uniform (InfoGAN-CR's dSprites set-up, Lin et al.
# 2020), on 32x32 images; its learning rates (G 1e-3, D 2e-3, H 2e-3) and alpha = 2, but a CPU budget (their
# 322,560 steps on a GPU are out of reach), so the contrastive term starts halfway instead of at 90%. The networks
# are the MNIST InfoGAN's at 32x32 with 64-unit fully connected layers (1.2 MB in float16).
SHAPES_TRAIN_IMAGES = 50_000
SHAPES_DATA_SEED = 100
SHAPES_SEEDS = (0, 1, 2)
SHAPES_INFOGAN = Recipe(InfoGANConfig(z_dim=5, categories=0, continuous=5, width=32, image_size=32, hidden=64),
                        GANTrainConfig(steps=6000, batch_size=64, lr_d=2e-3, lr_g=1e-3, log_every=50))
SHAPES_INFORMATION = InformationWeights(weight=1.0, continuous_weight=0.1)
SHAPES_CONTRASTIVE = ContrastiveWeights(weight=2.0, start=0.5, lr=2e-3)
# beta = 4 on 10 latent dimensions (Higgins et al. 2017's dSprites set-up), notebook 05's convolutional VAE at 32x32.
SHAPES_BETA_VAE = Recipe(VAEConfig(latent=10, hidden=64, conv=True, image_size=32),
                         VAETrainConfig(epochs=8, batch_size=64, beta=4.0))  # 6,250 steps of 64, as many as the GANs
SHAPES_READER = Recipe(ShapesReaderConfig(), {"epochs": 3, "batch_size": 128, "lr": 2e-3})

# The committed weights' names and their recipes (dcgan_cifar10: the GPU recipe, which trained them).
# ---------------------------------------------------------------- notebook 09: flows and diffusion
# Trained on MNIST train images 0-54,999 (the last 5,000 are the validation split). The flow: 12 couplings at three
# scales, 715,000 weights; its loss is bits/dim from the first step. The denoisers: one U-Net (539,000 weights) per
# objective, the same recipe for both, sampled from the moving average of their weights (decay 0.999).
MNIST_FLOW = Recipe(ImageFlowConfig(), ObjectiveTrainConfig(steps=1500, batch_size=64, lr=1e-3, grad_clip=50.0))
MNIST_DENOISER_TRAIN = ObjectiveTrainConfig(steps=3000, batch_size=64, lr=1e-3, grad_clip=1.0, ema_decay=0.999)
MNIST_DIFFUSION = Recipe(UNetConfig(), MNIST_DENOISER_TRAIN)
MNIST_FLOW_MATCHING = Recipe(UNetConfig(), MNIST_DENOISER_TRAIN)
DIFFUSION_T = 1000  # DDPM's number of noise steps (its linear schedule from 1e-4 to 0.02)
# How the table's 10,000 samples of each denoiser are drawn: few network calls, so that a CPU draws them in minutes,
# and about as many for both (DDIM: 20 jumps, 20 calls; Heun: 10 steps of two calls but the last, 19 calls).
TABLE_SAMPLERS = {"mnist_diffusion": {"sampler": "ddim", "steps": 20},
                  "mnist_flow_matching": {"sampler": "ode", "steps": 10, "method": "heun"}}

# ---------------------------------------------------------------- notebook 10: paired translation
# Every model trains on CIFAR-10 training images 0-44,999 (45,000-49,999: validation) or on notebook 06's MNIST-M
# training images with their digits. The classifier gives SRGAN its perceptual loss (VGG cannot be downloaded here).
CIFAR10_CLASSIFIER = Recipe(CIFARClassifierConfig(), {"epochs": 8, "batch_size": 128, "lr": 3e-3})
# Regression: the pixel loss alone. SRResNet with Adam at 1e-3 (the paper: 1e-4 for 10^6 steps; 3,000 here).
_SR_REGRESSION = PairedTrainConfig(steps=3000, batch_size=64, lr=1e-3, betas=(0.9, 0.999), pixel_loss="l2")
CIFAR10_SR_MSE = Recipe(SRResNetConfig(), _SR_REGRESSION)
CIFAR10_SR_L1 = Recipe(SRResNetConfig(), replace(_SR_REGRESSION, pixel_loss="l1"))
# SRGAN: starts from cifar10_sr_mse (as the paper starts from SRResNet-MSE); perceptual loss (relative squared error
# of the classifier's second-block features) plus the adversarial term. The paper weighs the adversarial term 1e-3
# against VGG features on another scale. Chosen on validation FID (tools/paired_probe.py, 500 validation images
# against 1,000 others): adversarial weight 2e-2 for 1,000 steps scored FID 119.7 against the MSE model's 158.6; the
# first recipe, 5e-3 for 2,000 steps, 164.4 (worse than the MSE model), and 5e-3 with an L1 term 161.4.
CIFAR10_SRGAN = Recipe(SRResNetConfig(), PairedTrainConfig(steps=1000, batch_size=64, lr=1e-4, betas=(0.9, 0.999),
                                                           pixel_weight=0.0, perceptual_weight=1.0,
                                                           adversarial_weight=2e-2, conditional_d=False))
# Colourisation, pix2pix's own ablation: L1 alone against L1 x 100 plus the conditional GAN (Adam 2e-4, beta1 0.5).
# pix2pix starts from cifar10_colour_l1 (as SRGAN from its MSE model) for 1,000 steps. Chosen on validation FID
# (tools/paired_probe.py cifar10_pix2pix_colour, 500 validation images against 1,000 others; the L1 model 104.8):
# L1 x 100 + GAN from L1, 1,000 steps: 91.9 (PSNR -0.67 dB); L1 x 10: 96.6; L1 x 10 with an image-only D: 98.9;
# L1 x 10 + perceptual: 92.5 (-1.76 dB); the first recipe, 4,000 steps from scratch: 108.7 (worse than L1).
_COLOUR_NET = UNetGeneratorConfig(in_channels=1, out_channels=3, width=32, levels=3)
CIFAR10_COLOUR_L1 = Recipe(_COLOUR_NET, PairedTrainConfig(steps=4000, pixel_loss="l1"))
CIFAR10_PIX2PIX_COLOUR = Recipe(_COLOUR_NET, PairedTrainConfig(steps=1000, pixel_loss="l1", pixel_weight=100.0,
                                                                adversarial_weight=1.0))
# Paired MNIST-M -> MNIST, against notebook 06's unpaired CycleGAN on the same images.
MNIST_M_PIX2PIX = Recipe(UNetGeneratorConfig(in_channels=3, out_channels=3, width=32, levels=2),
                         PairedTrainConfig(steps=2000, pixel_loss="l1", pixel_weight=100.0, adversarial_weight=1.0))
PAIRED_DISCRIMINATOR_WIDTH = 32  # notebook 06's PatchGAN, d_width

RECIPES: dict[str, Recipe] = {
    "gan1d": GAN1D, "mnist_gan": MNIST_GAN, "dcgan_cifar10": DCGAN_CIFAR10, "mnist_cgan": MNIST_CGAN,
    "mnist_cyclegan": MNIST_CYCLEGAN, "mnist_vae": MNIST_VAE, "mnist_vae2d": MNIST_VAE2D, "mnist_gmm": MNIST_GMM,
    "mnist_classifier": MNIST_CLASSIFIER, "mnist_classifier2": MNIST_CLASSIFIER2,
    "dcgan_cifar10_cpu_plain": DCGAN_CIFAR10_CPU_PLAIN, "dcgan_cifar10_cpu_sn_hinge": DCGAN_CIFAR10_CPU_SN_HINGE,
    "dcgan_cifar10_cpu_wgan_gp": DCGAN_CIFAR10_CPU_WGAN_GP, "shapes_reader": SHAPES_READER,
    "mnist_infogan": MNIST_INFOGAN, "shapes_infogan_s0": SHAPES_INFOGAN, "shapes_infogan_cr_s0": SHAPES_INFOGAN,
    "shapes_beta_vae_s0": SHAPES_BETA_VAE,
    "mnist_flow": MNIST_FLOW, "mnist_diffusion": MNIST_DIFFUSION, "mnist_flow_matching": MNIST_FLOW_MATCHING,
    "cifar10_classifier": CIFAR10_CLASSIFIER, "cifar10_sr_mse": CIFAR10_SR_MSE, "cifar10_sr_l1": CIFAR10_SR_L1,
    "cifar10_srgan": CIFAR10_SRGAN, "cifar10_colour_l1": CIFAR10_COLOUR_L1, "cifar10_pix2pix_colour": CIFAR10_PIX2PIX_COLOUR,
    "mnist_m_pix2pix": MNIST_M_PIX2PIX,
}
