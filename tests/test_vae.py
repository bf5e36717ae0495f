import pytest
import torch

from course_utils import seed_everything
from course_utils.models.vae import VAE, Autoencoder, VAEConfig
from course_utils.train import TrainingDivergedError
from course_utils.train_vae import VAETrainConfig, binarise, train_vae


def toy_images(n=512, seed=0):
    """Bright squares at random places on a dark background: structure a VAE can learn quickly."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28, dtype=torch.uint8)
    corners = torch.randint(0, 20, (n, 2), generator=generator)
    for image, (top, left) in zip(images, corners.tolist()):
        image[0, top:top + 8, left:left + 8] = 255
    return images


@pytest.mark.parametrize("conv", [False, True])
def test_vae_shapes(conv):
    vae = VAE(VAEConfig(latent=2, hidden=64, conv=conv))
    logits, mu, log_var = vae(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 1, 28, 28) and mu.shape == log_var.shape == (3, 2)
    assert vae.decoder(vae.sample_z(4)).shape == (4, 1, 28, 28)
    assert Autoencoder(VAEConfig(latent=2, hidden=64, conv=conv))(torch.rand(3, 1, 28, 28)).shape == (3, 1, 28, 28)


def test_binarise_is_bernoulli_of_the_intensity():
    images = torch.full((20_000, 1, 1, 1), 64, dtype=torch.uint8)
    assert binarise(images, torch.Generator().manual_seed(0)).mean().item() == pytest.approx(64 / 255, abs=0.01)


def test_training_lowers_the_negative_elbo_and_is_deterministic():
    seed_everything(0)
    first = train_vae(VAE(VAEConfig(latent=4, hidden=64)), toy_images(), VAETrainConfig(epochs=3, batch_size=64),
                      "cpu", progress=False)
    assert first["loss"][-1] < first["loss"][0]
    seed_everything(0)
    second = train_vae(VAE(VAEConfig(latent=4, hidden=64)), toy_images(), VAETrainConfig(epochs=3, batch_size=64),
                       "cpu", progress=False)
    assert first == second


def test_an_autoencoder_logs_its_reconstruction_loss_not_an_elbo(capsys):
    seed_everything(0)
    history = train_vae(Autoencoder(VAEConfig(latent=2, hidden=64)), toy_images(),
                        VAETrainConfig(epochs=1, batch_size=64), "cpu", progress=True)
    assert "kl" not in history and history["loss"] == history["reconstruction"]
    line = [text for text in capsys.readouterr().out.splitlines() if text.startswith("epoch 1:")]
    assert line == [f"epoch 1: reconstruction loss {history['reconstruction'][0]:.2f} nats per image (binary cross-entropy)"]
    assert "ELBO" not in line[0] and "KL" not in line[0]


def test_a_vae_logs_the_negative_elbo_and_its_two_terms(capsys):
    seed_everything(0)
    history = train_vae(VAE(VAEConfig(latent=2, hidden=64)), toy_images(), VAETrainConfig(epochs=1, batch_size=64),
                        "cpu", progress=True)
    assert history["loss"][0] == pytest.approx(history["reconstruction"][0] + history["kl"][0], rel=1e-5)
    assert history["kl"][0] > 0
    assert "epoch 1: -ELBO " in capsys.readouterr().out


def test_a_diverging_vae_is_stopped_and_restored():
    seed_everything(0)
    vae = VAE(VAEConfig(latent=4, hidden=64))
    with pytest.raises(TrainingDivergedError, match="restored"):
        train_vae(vae, toy_images(), VAETrainConfig(epochs=3, batch_size=64, lr=1e12), "cpu", progress=False)
    assert all(torch.isfinite(p).all() for p in vae.parameters())


def test_latent_2d_demo_decodes_the_slider_position():
    from matplotlib.figure import Figure

    from course_utils.widgets import Latent2DDemo

    demo = Latent2DDemo(VAE(VAEConfig(latent=2, hidden=32)).decoder)
    z1, z2 = demo.widget().children[0].children
    z1.value, z2.value = 1.5, -0.5
    assert demo.z.tolist() == [[1.5, -0.5]]
    images = demo.decode(demo.z)
    assert images.shape == (1, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert isinstance(demo.static_figure(points=5), Figure)
