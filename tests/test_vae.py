import copy
import re

import pytest
import torch

from course_utils import plots, seed_everything
from course_utils import train_vae as train_vae_module
from course_utils.engine import every
from course_utils.models.vae import VAE, Autoencoder, VAEConfig
from course_utils.train import TrainingDivergedError
from course_utils.train_vae import VAETrainConfig, VAETrainer, binarise, train_vae


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


def small_trainer(epochs=3):
    """A VAE on 512 toy images, batch 64: 8 steps per epoch."""
    seed_everything(0)
    return VAETrainer(VAE(VAEConfig(latent=4, hidden=64)), toy_images(), VAETrainConfig(epochs=epochs, batch_size=64),
                      "cpu")


def state_of(trainer):
    return copy.deepcopy({"model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict()["state"]})


def assert_same_state(first, second):
    for key, value in first["model"].items():
        assert torch.equal(value, second["model"][key]), key
    assert first["optimizer"].keys() == second["optimizer"].keys()
    for index, state in first["optimizer"].items():
        for key, value in state.items():
            assert torch.equal(value, second["optimizer"][index][key]), (index, key)


def test_a_nan_batch_is_caught_the_weights_and_adam_restored_and_training_goes_on(monkeypatch):
    trainer = small_trainer()
    calls = []

    def poisoned_binarise(images, generator=None):  # the 19th batch (epoch 3) holds a NaN
        calls.append(1)
        x = binarise(images, generator)
        return x * float("nan") if len(calls) == 19 else x

    states = {}
    monkeypatch.setattr(train_vae_module, "binarise", poisoned_binarise)
    with pytest.raises(TrainingDivergedError, match=r"became nan at step 19.*restored .* \(step 16\)"):
        trainer.train(hooks=[lambda t: states.setdefault(t.step, state_of(t))], progress=False)
    # logs are read every 8 steps, and the last good state kept at a read 10 or more steps after the last one
    assert trainer.step == 16 and len(trainer.history["loss"]) == 16 and trainer.epochs["epoch"] == [1, 2]
    assert_same_state(state_of(trainer), states[16])  # the weights and Adam's moments of the last good state
    trainer.train(progress=False)  # goes on from step 16; Adam's moments are not poisoned
    assert trainer.step == 24 and trainer.epochs["epoch"] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(trainer.history[key])).all() for key in ("loss", "reconstruction", "kl"))


def test_ctrl_c_keeps_what_was_trained_and_train_goes_on_to_the_configured_total(capsys):
    trainer = small_trainer(epochs=2)

    def interrupt(trainer):
        if trainer.step == 5:
            raise KeyboardInterrupt

    trainer.train(hooks=[interrupt], progress=False)
    assert trainer.step == 5 and "Interrupted at step 5 of 16" in capsys.readouterr().out
    trainer.train(progress=False)
    assert trainer.step == 16 and len(trainer.history["loss"]) == 16 and trainer.epochs["epoch"] == [1, 2]
    assert trainer.epochs["loss"][-1] == pytest.approx(sum(trainer.history["loss"][8:]) / 8)


def test_every_and_live_losses_work_with_the_vae_trainer(monkeypatch):
    trainer = small_trainer(epochs=2)
    seen, figures = [], []
    monkeypatch.setattr("IPython.display.display", figures.append)
    trainer.train(hooks=[every(trainer.steps_per_epoch, lambda t: seen.append((t.step, t.epochs["epoch"][-1]))),
                         plots.live_losses(every=8, window=2)], progress=False)
    assert seen == [(8, 1), (16, 2)]
    assert len(figures) == 2
    assert {line.get_label() for line in figures[-1].axes[0].lines} == {"loss", "reconstruction", "kl"}


@pytest.mark.parametrize("field, value, allowed", [
    ("epochs", 0, "an integer >= 1"), ("batch_size", -1, "an integer >= 1"), ("epochs", 2.5, "an integer >= 1"),
    ("lr", 0.0, "a finite number > 0"), ("lr", float("nan"), "a finite number > 0"),
    ("lr_final", 1.5, "a number in [0, 1]"), ("beta", -1.0, "a finite number >= 0 (0: off)")])
def test_a_bad_config_value_names_the_field_and_its_range(field, value, allowed):
    with pytest.raises(ValueError, match=re.escape(f"VAETrainConfig.{field} = {value!r}: it must be {allowed}")):
        VAETrainConfig(**{field: value})


def test_too_few_images_for_one_batch_is_said_plainly():
    with pytest.raises(ValueError, match="10 images make no batch of batch_size=64"):
        VAETrainer(VAE(VAEConfig(latent=2, hidden=16)), toy_images(10), VAETrainConfig(batch_size=64), "cpu")


def test_latent_2d_demo_decodes_the_slider_position():
    from matplotlib.figure import Figure

    from course_utils.widgets import Latent2DDemo

    demo = Latent2DDemo(VAE(VAEConfig(latent=2, hidden=32)).decoder)
    demo.widget()
    demo.controls["z1"].value, demo.controls["z2"].value = 1.5, -0.5
    assert demo.z.tolist() == [[1.5, -0.5]]
    manifold, image = demo.figure().axes  # the red dot on the manifold follows the sliders
    assert manifold.lines[0].get_xydata().tolist() == [[1.5, -0.5]] and "(1.50, -0.50)" in image.get_title()
    images = demo.decode(demo.z)
    assert images.shape == (1, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    assert isinstance(demo.static_figure(points=5), Figure)


def test_the_32x32_vae_for_the_shapes_and_a_wrong_size_said_plainly():
    vae = VAE(VAEConfig(latent=10, hidden=32, conv=True, image_size=32))
    logits, mu, log_var = vae(torch.rand(3, 1, 32, 32))
    assert logits.shape == (3, 1, 32, 32) and mu.shape == (3, 10)
    assert VAE(VAEConfig(latent=3, hidden=16, image_size=20))(torch.rand(2, 1, 20, 20))[0].shape == (2, 1, 20, 20)
    with pytest.raises(ValueError, match="image_size must be a multiple of 4, got 30"):
        VAEConfig(conv=True, image_size=30)
    with pytest.raises(ValueError, match="VAEConfig.latent must be a positive integer, got 0"):
        VAEConfig(latent=0)


@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_the_beta_vae_step_minimises_reconstruction_plus_beta_times_kl(beta):
    from course_utils.losses import bernoulli_reconstruction, gaussian_kl
    from course_utils.train_vae import vae_step

    torch.manual_seed(0)
    vae = VAE(VAEConfig(latent=4, hidden=32))
    x = binarise(toy_images(16))
    twin = copy.deepcopy(vae)
    torch.manual_seed(1)
    logs = vae_step(vae, x, torch.optim.SGD(vae.parameters(), lr=0.01), beta)
    torch.manual_seed(1)  # the same reparameterisation noise: the loss by hand, and its gradient step
    logits, mu, log_var = twin(x)
    rec, kl = bernoulli_reconstruction(logits, x).mean(), gaussian_kl(mu, log_var).mean()
    assert logs["reconstruction"].item() == pytest.approx(rec.item(), rel=1e-6)
    assert logs["kl"].item() == pytest.approx(kl.item(), rel=1e-6)
    assert logs["loss"].item() == pytest.approx(rec.item() + beta * kl.item(), rel=1e-6)
    (rec + beta * kl).backward()
    with torch.no_grad():
        for p, q in zip(vae.parameters(), twin.parameters()):
            assert torch.allclose(p, q - 0.01 * q.grad, atol=1e-6)
