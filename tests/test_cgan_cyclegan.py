"""Conditional GAN and CycleGAN: losses against their formulas, the history buffer, MNIST-M, conditioning."""

import copy
import re

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from course_utils import data, seed_everything
from course_utils.models import cgan
from course_utils.recipes import MNIST_CGAN
from course_utils.models.cyclegan import (CycleGAN, CycleGANConfig, ImagePool, cycle_loss, identity_loss,
                                          lsgan_d_loss, lsgan_g_loss)
from course_utils.engine import every
from course_utils.train import GANTrainer, TrainingDivergedError
from course_utils.train_cyclegan import CycleGANTrainConfig, CycleGANTrainer, recolour, train_cyclegan


def test_cycle_and_identity_losses_are_mean_absolute_errors():
    g = torch.Generator().manual_seed(0)
    a, a2, b, b2 = (torch.randn(4, 3, 5, 5, generator=g) for _ in range(4))
    expected = (a2 - a).abs().sum() / a.numel() + (b2 - b).abs().sum() / b.numel()
    assert cycle_loss(a, a2, b, b2).item() == pytest.approx(expected.item())
    assert identity_loss(a, a2, b, b2).item() == pytest.approx(expected.item())
    assert cycle_loss(a, a, b, b).item() == 0
    weighted = (a2 - a).abs().mean() + 0.1 * (b2 - b).abs().mean()
    assert cycle_loss(a, a2, b, b2, weight_b=0.1).item() == pytest.approx(weighted.item())
    assert identity_loss(a, a2, b, b2, weight_b=0.1).item() == pytest.approx(weighted.item())


def test_least_squares_losses():
    real, fake = torch.full((2, 1, 5, 5), 0.75), torch.full((2, 1, 5, 5), 0.25)
    assert lsgan_d_loss(real, fake).item() == pytest.approx(0.5 * (0.25**2 + 0.25**2))
    assert lsgan_g_loss(fake).item() == pytest.approx(0.75**2)
    assert lsgan_d_loss(torch.ones(3), torch.zeros(3)).item() == 0


def test_history_buffer_fills_then_swaps_half_the_time():
    pool = ImagePool(size=4, seed=0)
    first = torch.arange(4.0).reshape(4, 1)
    assert torch.equal(pool.query(first), first)  # filling: every image is returned as is
    returned = torch.cat([pool.query(torch.full((1, 1), 100.0 + i)) for i in range(400)])
    asked = 100.0 + torch.arange(400.0)
    earlier = (returned.flatten() != asked).sum().item()  # answered with a stored, earlier image
    assert 150 < earlier < 250  # about half of the time
    assert len(pool.images) == 4
    assert torch.equal(ImagePool(size=0).query(first), first)  # size 0: no buffer


def test_history_buffer_returns_only_images_it_was_given():
    pool = ImagePool(size=3, seed=1)
    seen = set()
    for step in range(20):
        batch = torch.full((2, 1), float(step)) + torch.tensor([[0.0], [0.5]])
        seen |= set(batch.flatten().tolist())
        out = pool.query(batch)
        assert out.shape == batch.shape and set(out.flatten().tolist()) <= seen


def test_mnist_m_blend_shows_the_digit_mask():
    digits = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    digits[:, :, 8:20, 12:16] = 255  # a white bar
    photos = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    out = data.blend_mnist_m(digits, photos, torch.Generator().manual_seed(1), patch_size=28)
    assert out.shape == (2, 3, 28, 28) and out.dtype == torch.uint8
    background = out[:, :, :8]  # where the digit is black: the photo patch, unchanged
    bar = out[:, :, 8:20, 12:16]  # where it is white: the photo inverted, 255 - patch
    # the patch is a crop of one photo: find it, and check both regions against it
    for image in out:
        matches = [(p, top, left) for p in range(3) for top in range(5) for left in range(5)
                   if torch.equal(photos[p, :, top:top + 8, left:left + 28], image[:, :8])]
        assert matches, "the background is not a crop of a photo"
        p, top, left = matches[0]
        crop = photos[p, :, top:top + 28, left:left + 28]
        assert torch.equal(image[:, 8:20, 12:16], 255 - crop[:, 8:20, 12:16])
    assert background.float().std() > 20 and bar.shape == (2, 3, 12, 4)


def test_mnist_m_small_patches_are_scaled_up():
    digits = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    digits[:, :, 10:18, 10:18] = 255
    photos = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    out = data.blend_mnist_m(digits, photos, torch.Generator().manual_seed(1), patch_size=12)
    assert out.shape == (2, 3, 28, 28) and out.dtype == torch.uint8
    for image in out:  # some 12x12 crop of a photo, scaled to 28x28, with the square inverted
        scaled = [torch.nn.functional.interpolate(photos[p:p + 1, :, t:t + 12, l:l + 12].float(), size=(28, 28),
                                                  mode="bilinear", align_corners=False).round().to(torch.uint8)[0]
                  for p in range(2) for t in range(21) for l in range(21)]
        patch = next(s for s in scaled if torch.equal(s[:, :10], image[:, :10]))
        assert torch.equal(image[:, 10:18, 10:18], 255 - patch[:, 10:18, 10:18])
    with pytest.raises(ValueError, match="patch_size"):
        data.blend_mnist_m(digits, photos, patch_size=40)


def test_recolouring_keeps_mnist_m_images_mnist_m():
    """recolour(|p - d|) = |p' - d| with p' the same photo recoloured the same way: channels shuffled,
    some inverted (255 - p); and each colouring turns up."""
    g = torch.Generator().manual_seed(0)
    digits = (torch.rand(64, 1, 28, 28, generator=g) > 0.7).to(torch.uint8) * 255
    photos = torch.randint(0, 256, (64, 3, 28, 28), dtype=torch.uint8, generator=g)
    blended = data.to_signed_unit((photos.short() - digits.short()).abs().to(torch.uint8))
    torch.manual_seed(5)
    out = recolour(blended)
    torch.manual_seed(5)
    photos_recoloured = ((recolour(data.to_signed_unit(photos)) + 1) * 127.5).round().to(torch.uint8)
    expected = data.to_signed_unit((photos_recoloured.short() - digits.short()).abs().to(torch.uint8))
    assert torch.allclose(out, expected, atol=1e-6)
    assert not torch.allclose(out, blended)
    torch.manual_seed(0)
    colourings = {tuple(recolour(torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1)).flatten().tolist())
                  for _ in range(2000)}
    assert len(colourings) == 48  # 6 orders x 8 sign patterns


def test_mnist_m_from_the_mirrors(shared_cache, mnist_mirror, cifar10_mirror):
    images, labels = data.mnist_m(train=False)
    assert images.shape == (10_000, 3, 28, 28) and images.dtype == torch.uint8 and labels.shape == (10_000,)
    digits = data.mnist_tensors(train=False)[0].float()
    # the digit stays visible: pixels differ from their 8 neighbours' photo background where the digit is
    assert images.float().std() > 40 and (images.float().mean(1, keepdim=True) - digits).abs().mean() > 30
    domains = data.unpaired_mnist_domains(train=False)
    assert domains["A"].shape == (5000, 3, 28, 28) and domains["B"].shape == (5000, 3, 28, 28)
    assert torch.equal(domains["A"][:, 0], domains["A"][:, 1])  # MNIST as grey RGB
    assert torch.equal(domains["labels_A"], labels[0::2]) and torch.equal(domains["labels_B"], labels[1::2])
    validation = data.unpaired_mnist_domains(split="validation")  # the last 5,000 MNIST training digits
    train_labels = data.mnist_tensors(train=True)[1]
    assert validation["B"].shape == (2500, 3, 28, 28)
    assert torch.equal(validation["labels_A"], train_labels[55_000::2])
    assert torch.equal(validation["labels_B"], train_labels[55_001::2])


def test_unpaired_splits_share_no_digit_and_no_photo():
    splits = data.UNPAIRED_SPLITS
    for first, second in [("train", "validation"), ("train", "test"), ("validation", "test")]:
        (train_1, digits_1, photos_1), (train_2, digits_2, photos_2) = splits[first], splits[second]
        assert set(range(50_000)[photos_1]).isdisjoint(set(range(50_000)[photos_2])), (first, second)
        if train_1 == train_2:  # both cut from MNIST train
            assert set(range(60_000)[digits_1]).isdisjoint(set(range(60_000)[digits_2])), (first, second)
    with pytest.raises(ValueError, match="split"):
        data.unpaired_mnist_domains(split="val")


def test_conditional_gan_steps_with_the_unchanged_trainer():
    seed_everything(0)
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    labels = torch.arange(64) % 10
    G, D = cgan.Generator(), cgan.Discriminator()
    trainer = GANTrainer(G, D, cgan.labelled_sampler(images, labels), MNIST_CGAN.train, "cpu")
    logs = trainer.train_step()
    assert all(torch.isfinite(v) for v in logs.values())
    x, y = G(G.sample_z(5))
    assert x.shape == (5, 1, 28, 28) and y.shape == (5,) and D((x, y)).shape == (5, 1)
    assert set(G.sample_z(500)[1].tolist()) == set(range(10))  # random labels of every class
    G.eval(), D.eval()
    with torch.no_grad():  # the label reaches both networks: another label, another image and another logit
        z, y = G.sample_z(5)
        x = G((z, y))[0]
        assert (x - G((z, (y + 1) % 10))[0]).abs().amax(dim=(1, 2, 3)).min() > 1e-3
        assert (D((x, y)) - D((x, (y + 1) % 10))).abs().min() > 1e-4


def test_per_class_fd_has_a_real_against_real_floor():
    """A 'generator' that returns real test images of the requested digit sits near the floor; one that
    returns the wrong digit sits far above it."""
    from course_utils.sample_quality import conditional_report, load_classifier

    test_x, test_y = data.mnist_tensors(train=False)
    test_x = data.to_signed_unit(test_x)
    train_x, train_y = data.mnist_tensors(train=True)
    train_x = data.to_signed_unit(train_x)

    class Replay(torch.nn.Module):
        def __init__(self, shift):
            super().__init__()
            self.shift, self.dummy = shift, torch.nn.Parameter(torch.zeros(1))

        def generate(self, labels, seed=0):  # labels come as 0...0 1...1 ... 9...9: return real images in blocks
            return torch.cat([train_x[train_y == (c + self.shift) % 10][:int((labels == c).sum())] for c in range(10)])

    classifier = load_classifier()
    honest = conditional_report(Replay(0), classifier, test_x, test_y, per_class=300, second_reader=classifier)
    wrong = conditional_report(Replay(1), classifier, test_x, test_y, per_class=300)
    assert honest["class_accuracy"] > 0.98 and honest["class_accuracy_reader2"] == honest["class_accuracy"]
    assert honest["mean_class_fd"] == pytest.approx(honest["mean_class_fd_floor"], rel=0.25)
    assert wrong["class_accuracy"] < 0.05 and wrong["mean_class_fd"] > 10 * wrong["mean_class_fd_floor"]


def test_conditioning_changes_the_output_class():
    """The pretrained conditional G with the same noise and ten different labels: ten digits, under both readers."""
    from course_utils.checkpoints import load_pretrained
    from course_utils.sample_quality import classifier_outputs, load_classifier

    G = cgan.Generator()
    load_pretrained("mnist_cgan", {"G": G})
    labels = torch.arange(10).repeat(20)
    images = G.generate(labels, seed=0)  # the same seed: noise drawn the same way for every label row
    for name in ("mnist_classifier", "mnist_classifier2"):
        predicted = classifier_outputs(load_classifier(name=name), images)[1].argmax(1)
        assert (predicted == labels).float().mean() > 0.9, name
    z, _ = G.sample_z(1, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        same_noise = G.eval()((z.expand(10, -1), torch.arange(10)))[0]
    assert classifier_outputs(load_classifier(), same_noise)[1].argmax(1).unique().numel() >= 8


@pytest.mark.parametrize("amp, d_steps", [(False, 1), (True, 2)])
def test_cyclegan_shapes_and_a_short_training_run(amp, d_steps):
    seed_everything(0)
    model = CycleGAN(CycleGANConfig(width=4, d_width=4, res_blocks=1))
    x = torch.rand(2, 3, 28, 28) * 2 - 1
    assert model.G(x).shape == x.shape and model.F(x).shape == x.shape
    assert model.D_A(x).shape == (2, 1, 5, 5)
    a = torch.randint(0, 256, (32, 3, 28, 28), dtype=torch.uint8)
    calls, dtypes, d_weights = {"G": 0, "D": 0}, set(), {id(p) for p in model.D_A.parameters()}

    def count_updates(optimizer, args, kwargs):  # which optimiser: the one that holds D_A's weights is D's
        calls["D" if id(optimizer.param_groups[0]["params"][0]) in d_weights else "G"] += 1

    counting = register_optimizer_step_post_hook(count_updates)
    handle = model.G.net[1].register_forward_hook(lambda module, inputs, out: dtypes.add(out.dtype))
    history = train_cyclegan(model, data.image_sampler(a, "cpu"), data.image_sampler(255 - a, "cpu"),
                             CycleGANTrainConfig(steps=6, batch_size=4, log_every=3, amp=amp, d_steps=d_steps),
                             "cpu", progress=False)
    handle.remove(), counting.remove()
    assert calls == {"G": 6, "D": 6 * d_steps}  # d_steps discriminator updates per generator update
    assert dtypes == {torch.bfloat16 if amp else torch.float32}  # G's convolutions ran under autocast (CPU bf16)
    assert history["step"] == list(range(1, 7))
    assert set(history) >= {"loss_g", "adversarial", "cycle", "identity", "loss_d_a", "loss_d_b"}
    assert all(torch.isfinite(torch.tensor(values)).all() for values in history.values())
    assert all(p.dtype == torch.float32 for p in model.parameters())  # bfloat16 only inside autocast


def test_a_wider_F_keeps_the_shapes():
    model = CycleGAN(CycleGANConfig(width=4, f_width=8, d_width=4, res_blocks=1))
    x = torch.rand(2, 3, 28, 28) * 2 - 1
    assert model.F(x).shape == x.shape and model.G(x).shape == x.shape
    assert model.F.net[1].out_channels == 8 and model.G.net[1].out_channels == 4


def test_weight_averaging_leaves_G_and_F_at_the_moving_average():
    seed_everything(0)
    model = CycleGAN(CycleGANConfig(width=4, d_width=4, res_blocks=1))
    weights = [*model.G.parameters(), *model.F.parameters()]
    expected = [w.detach().clone() for w in weights]
    last = []

    def track(trainer):  # the average, recomputed by hand from the weights after each step
        for average, weight in zip(expected, weights):
            average.mul_(0.8).add_(0.2 * weight.detach())
        last[:] = [w.detach().clone() for w in weights]

    a = torch.randint(0, 256, (32, 3, 28, 28), dtype=torch.uint8)
    train_cyclegan(model, data.image_sampler(a, "cpu"), data.image_sampler(255 - a, "cpu"),
                   CycleGANTrainConfig(steps=5, batch_size=4, log_every=5, ema_decay=0.8), "cpu",
                   hooks=[track], progress=False)
    for average, weight, final in zip(expected, weights, last):
        torch.testing.assert_close(weight, average)
    assert any((w - f).abs().max() > 1e-4 for w, f in zip(weights, last))  # not the last weights
    with pytest.raises(ValueError, match="ema_decay"):
        CycleGANTrainConfig(ema_decay=1.0)


def small_cyclegan_trainer(sample_a=None, **changes):
    seed_everything(0)
    model = CycleGAN(CycleGANConfig(width=4, d_width=4, res_blocks=1))
    a = torch.randint(0, 256, (32, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cfg = CycleGANTrainConfig(**{"steps": 30, "batch_size": 4, "log_every": 5, **changes})
    return CycleGANTrainer(model, sample_a or data.image_sampler(a, "cpu"), data.image_sampler(255 - a, "cpu"), cfg, "cpu")


def test_a_nan_batch_is_caught_the_state_restored_the_buffers_emptied_and_training_goes_on():
    a = torch.randint(0, 256, (32, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    sampler, calls = data.image_sampler(a, "cpu"), []

    def poisoned_sample_a(n):  # the 13th batch of domain A holds a NaN
        calls.append(n)
        batch = sampler(n)
        return batch * float("nan") if len(calls) == 13 else batch

    trainer = small_cyclegan_trainer(poisoned_sample_a, ema_decay=0.9)
    saved = {}

    def remember(trainer):
        saved[trainer.step] = copy.deepcopy({"modules": {name: module.state_dict() for name, module in
                                                         trainer.modules.items()},
                                             "optimizers": {name: opt.state_dict()["state"] for name, opt in
                                                            trainer.optimizers.items()}})

    with pytest.raises(TrainingDivergedError, match=r"became nan at step 13.*restored .* \(step 10\)"):
        trainer.train(hooks=[remember], progress=False)
    assert trainer.step == 10 and trainer.history["step"] == list(range(1, 11))
    assert all(not pool.images for pool in trainer.pools)  # no NaN fake survives in the history buffers
    for name, module in trainer.modules.items():  # G, F, D_A, D_B and the weight average
        for key, value in module.state_dict().items():
            assert torch.equal(value, saved[10]["modules"][name][key]), (name, key)
    for name, optimizer in trainer.optimizers.items():
        for index, state in optimizer.state_dict()["state"].items():
            for key, value in state.items():
                assert torch.equal(value, saved[10]["optimizers"][name][index][key]), (name, index, key)
    trainer.train(progress=False)  # from step 10 on, without diverging again
    assert trainer.step == 30 and trainer.history["step"] == list(range(1, 31))
    assert all(torch.isfinite(torch.tensor(values)).all() for values in trainer.history.values())


def test_cyclegan_ctrl_c_then_train_goes_on_to_the_configured_total_and_every_works(capsys):
    trainer = small_cyclegan_trainer(steps=12, log_every=3)
    seen = []

    def interrupt(trainer):
        if trainer.step == 4:
            raise KeyboardInterrupt

    trainer.train(hooks=[every(2, lambda t: seen.append(t.step)), interrupt], progress=False)
    assert trainer.step == 4 and "Interrupted at step 4 of 12" in capsys.readouterr().out
    trainer.train(hooks=[every(2, lambda t: seen.append(t.step))], progress=False)
    assert trainer.step == 12 and trainer.history["step"] == list(range(1, 13)) and seen == [2, 4, 6, 8, 10, 12]


def test_the_cyclegan_schedule_is_constant_then_linear_to_zero():
    trainer = small_cyclegan_trainer(steps=10, decay_start=0.6, lr=1e-3)
    rates = []
    trainer.train(hooks=[lambda t: rates.append(t.opt_g.param_groups[0]["lr"])], progress=False)
    assert rates == pytest.approx([1e-3] * 7 + [7.5e-4, 5e-4, 2.5e-4])  # the rate each step trained with
    assert trainer.opt_d.param_groups[0]["lr"] == rates[-1]  # both optimisers follow it


@pytest.mark.parametrize("field, value, allowed", [
    ("steps", 0, "an integer >= 1"), ("batch_size", -1, "an integer >= 1"), ("d_steps", 0, "an integer >= 1"),
    ("log_every", 0, "an integer >= 1"), ("checkpoint_every", 0, "an integer >= 1"), ("lr", -1e-3, "a finite number > 0"),
    ("decay_start", 1.0, "a number in [0, 1)"), ("ema_decay", 1.0, "a number in [0, 1)"),
    ("betas", (0.5, 1.0), "two numbers in [0, 1)"), ("amp", "yes", "True, False or None")])
def test_a_bad_cyclegan_config_value_names_the_field_and_its_range(field, value, allowed):
    with pytest.raises(ValueError, match=re.escape(f"CycleGANTrainConfig.{field} = {value!r}: it must be {allowed}")):
        CycleGANTrainConfig(**{field: value})
