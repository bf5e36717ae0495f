import torch

from course_utils import seed_everything
from course_utils.data import batch_sampler, to_signed_unit, to_uint8
from course_utils.models import mlp_gan
from course_utils.models.classifiers import MNISTClassifier, random_shift
from course_utils.recipes import MNIST_GAN
from course_utils.train import GANTrainer
from course_utils.widgets import LatentWalkDemo, slerp


def test_mlp_gan_shapes_and_range():
    G, D = mlp_gan.Generator(), mlp_gan.Discriminator()
    z = G.sample_z(5)
    assert z.shape == (5, 64)
    x = G(z)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5, 1)


def test_mlp_gan_training_step_on_image_batches():
    seed_everything(0)
    images = torch.rand(256, 1, 28, 28) * 2 - 1
    trainer = GANTrainer(mlp_gan.Generator(), mlp_gan.Discriminator(), batch_sampler(images),
                         MNIST_GAN.train, "cpu")
    G_before = [p.detach().clone() for p in trainer.G.parameters()]
    D_before = [p.detach().clone() for p in trainer.D.parameters()]
    logs = trainer.train_step()
    assert all(torch.isfinite(v) for v in logs.values())
    # Adam's first update moves a weight by lr * g / (|g| + eps): both players moved, neither by more than its
    # learning rate (plus the float32 spacing of weights near 1, the batch-norm scales)
    for after, before, lr in ((trainer.G.parameters(), G_before, MNIST_GAN.train.lr_g),
                              (trainer.D.parameters(), D_before, MNIST_GAN.train.lr_d)):
        moved = max((a - b).abs().max().item() for a, b in zip(after, before))
        assert 0.99 * lr <= moved <= lr + 2.5e-7


def test_classifier_shapes_and_features():
    model = MNISTClassifier().eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert model(x).shape == (3, 10) and model.features(x).shape == (3, 128)
    shifted = random_shift(x, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape
    assert torch.equal(random_shift(x, torch.Generator().manual_seed(0), pixels=0), x)  # no shift: the identity
    # a whole-pixel move: every value is one of x's or the background -1 (tests/test_weak_spots.py pins which)
    assert torch.isin(shifted, torch.cat([x.flatten(), torch.tensor([-1.0])])).all()


def test_pixel_range_round_trip():
    images = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    assert torch.equal(to_uint8(to_signed_unit(images)), images)


def test_slerp_ends_and_norm():
    z0, z1 = torch.randn(1, 64), torch.randn(1, 64)
    assert torch.allclose(slerp(z0, z1, 0.0), z0, atol=1e-5) and torch.allclose(slerp(z0, z1, 1.0), z1, atol=1e-5)
    middle = slerp(z0 / z0.norm() * 8, z1 / z1.norm() * 8, 0.5)
    assert abs(middle.norm().item() - 8) < 1e-3


def test_latent_walk_demo_slider_and_button():
    demo = LatentWalkDemo(mlp_gan.Generator(), seed=0)
    assert demo.frames(5).shape == (5, 1, 28, 28)
    demo.widget()
    slider, new = demo.controls["t"], demo.controls["new sample"]
    z0 = demo.z0.clone()
    slider.value = 0.5
    assert demo.t == 0.5 and "t = 0.50" in demo.figure(0.5).axes[0].get_title()
    new.click()
    assert not torch.equal(z0, demo.z0)
