"""Reproducibility: the same seed gives the same weights, byte for byte, in two separate processes.

Two runs inside one process share state (the seeded generators, caches, the allocator), so agreement there
proves less than it seems. Here each run is its own Python process, as a student's two kernel restarts are.

The decision on `warn_only`: `seed_everything` asks torch for deterministic kernels with `warn_only=True`. A
kernel with no deterministic variant (on CUDA, e.g. some scatter/index backward passes) then warns instead of
stopping a lesson halfway; the course's own training steps are checked without that escape hatch below
(`warn_only=False`), so a nondeterministic kernel in them fails the tests instead of hiding behind a warning.
"""

import hashlib
import subprocess
import sys
import textwrap
from dataclasses import replace

import torch

from course_utils import seed_everything

# One short training of each kind the course runs on the engine: the 1-D GAN (MLP, Adam, schedule), the DCGAN
# (convolutions, batch norm) and the VAE; the digest covers every weight and buffer of every network.
SCRIPT = textwrap.dedent("""
    import hashlib, sys
    from dataclasses import replace
    import torch
    from course_utils import seed_everything
    from course_utils.data import gaussian_1d
    from course_utils.models import dcgan, gan1d
    from course_utils.models.vae import VAE, VAEConfig
    from course_utils.recipes import GAN1D
    from course_utils.train import GANTrainConfig, GANTrainer
    from course_utils.train_vae import VAETrainConfig, train_vae

    torch.set_num_threads(1)
    seed = int(sys.argv[1])
    digest = hashlib.sha256()

    def absorb(*modules):
        for module in modules:
            for name, tensor in sorted(module.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())

    seed_everything(seed)
    G, D = gan1d.Generator(GAN1D.model), gan1d.Discriminator(GAN1D.model)
    GANTrainer(G, D, gaussian_1d().sample, replace(GAN1D.train, steps=40), "cpu").train(progress=False)
    absorb(G, D)

    seed_everything(seed)
    cfg = dcgan.DCGANConfig(z_dim=8, g_width=8, d_width=8)
    G, D = dcgan.Generator(cfg), dcgan.Discriminator(cfg)
    images = torch.rand(64, 3, 32, 32) * 2 - 1
    sample = lambda n: images[torch.randint(0, 64, (n,))]
    GANTrainer(G, D, sample, GANTrainConfig(steps=3, batch_size=16, lr_d=2e-4, lr_g=2e-4), "cpu").train(progress=False)
    absorb(G, D)

    seed_everything(seed)
    vae = VAE(VAEConfig(latent=4, hidden=32))
    train_vae(vae, (torch.rand(128, 1, 28, 28) > 0.5).float(), VAETrainConfig(epochs=1, batch_size=64), "cpu",
              progress=False)
    absorb(vae)
    print(digest.hexdigest())
""")


def digest_in_a_new_process(seed: int) -> str:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(seed)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_the_same_seed_gives_the_same_bytes_in_two_processes():
    first, second, other = digest_in_a_new_process(0), digest_in_a_new_process(0), digest_in_a_new_process(1)
    assert len(first) == 64
    assert first == second
    assert first != other  # the digest depends on the seed: the comparison above can fail


def test_seed_everything_asks_for_deterministic_kernels_and_can_be_told_not_to():
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        torch.use_deterministic_algorithms(False)
        seed_everything(0, deterministic=False)
        assert not torch.are_deterministic_algorithms_enabled()
        seed_everything(0)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()  # the decision in this file's docstring
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def test_the_training_steps_use_no_kernel_without_a_deterministic_variant():
    """The course's GAN step (DCGAN, with batch norm) and VAE step with warn_only=False: an error, not a warning."""
    from course_utils.models import dcgan
    from course_utils.models.vae import VAE, VAEConfig
    from course_utils.train import GANTrainConfig, GANTrainer
    from course_utils.train_vae import VAETrainConfig, train_vae

    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        torch.manual_seed(0)
        torch.use_deterministic_algorithms(True, warn_only=False)
        cfg = dcgan.DCGANConfig(z_dim=8, g_width=8, d_width=8)
        for config in (cfg, replace(cfg, d_norm="spectral")):
            GANTrainer(dcgan.Generator(config), dcgan.Discriminator(config), lambda n: torch.rand(n, 3, 32, 32),
                       GANTrainConfig(steps=2, batch_size=8, gradient_penalty=1.0), "cpu").train(progress=False)
        train_vae(VAE(VAEConfig(latent=4, hidden=32)), (torch.rand(64, 1, 28, 28) > 0.5).float(),
                  VAETrainConfig(epochs=1, batch_size=32), "cpu", progress=False)
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def test_digest_helper_sees_a_one_bit_change():
    """The digest in SCRIPT hashes raw bytes: one flipped weight changes it (so equal digests mean equal weights)."""
    weights = torch.zeros(4)
    first = hashlib.sha256(weights.numpy().tobytes()).hexdigest()
    weights[2] = torch.finfo(torch.float32).tiny
    assert hashlib.sha256(weights.numpy().tobytes()).hexdigest() != first
