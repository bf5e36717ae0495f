"""Tests that pin what a step or an augmentation does, not only that it runs (issue 19, "also weak").

- `random_shift`: exact expected tensors on a hand-made image (whole-pixel translation, background
  padding, the identity at shift 0), the range of shifts it draws, and which shift a seed gives.
- One D step and one G step of the MLP GAN and of the conditional GAN against the value function
  evaluated by hand in float64 on the same batch: the loss, which player's weights move, and by how much.
- The label reaches G and D (changing it changes their outputs and D's loss).
- CycleGAN: d_steps discriminator updates per generator update, and amp running the networks in bfloat16.
- GANTrainer: what decides autocast, and that both steps run inside it.

Tolerances: float32 against a float64 reference. A loss is a mean of softplus values of size ~1 over
a few hundred terms, each with a relative rounding error of a few float32 epsilons (1.2e-7), so 1e-5
relative is ~100x the expected error; the smallest planted bug moves it by more than 1e-3.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import replace

import pytest
import torch

from course_utils import data, seed_everything
from course_utils.models import cgan, mlp_gan
from course_utils.models.classifiers import random_shift
from course_utils.models.cyclegan import CycleGAN, CycleGANConfig, ImagePool
from course_utils.recipes import MNIST_CGAN, MNIST_GAN
from course_utils import precision as precision_module
from course_utils.precision import Precision, choose_precision
from course_utils.train import GANTrainer
from course_utils.train_cyclegan import (CycleGANTrainConfig, CycleGANTrainer, discriminator_step,
                                         generator_step)

# ----------------------------------------------------------------------------- random_shift


def hand_shifted(image: torch.Tensor, down: int, right: int) -> torch.Tensor:
    """`image` (28, 28) moved `down` rows and `right` columns, -1 where nothing moved in: written as loops."""
    out = torch.full((28, 28), -1.0)
    for i in range(28):
        for j in range(28):
            if 0 <= i - down < 28 and 0 <= j - right < 28:
                out[i, j] = image[i - down, j - right]
    return out


def hand_made_images() -> torch.Tensor:
    """Two 28x28 images whose every pixel is distinct and none is -1 (so any move or padding shows)."""
    first = torch.arange(784.0).reshape(28, 28) / 784
    return torch.stack([first, 1 - first]).reshape(2, 1, 28, 28)


@functools.lru_cache(maxsize=None)
def hand_translations(pixels: int) -> dict[tuple[int, int], torch.Tensor]:
    """Every (down, right) within +-pixels -> the hand-made images moved so (built once; the loops are slow)."""
    images = hand_made_images()
    return {(down, right): torch.stack([hand_shifted(image[0], down, right) for image in images])[:, None]
            for down in range(-pixels, pixels + 1) for right in range(-pixels, pixels + 1)}


def which_shift(shifted: torch.Tensor, pixels: int) -> list[tuple[int, int]]:
    """Every (down, right) within +-pixels whose hand-made translation of the images equals `shifted` exactly."""
    return [shift for shift, expected in hand_translations(pixels).items() if torch.equal(shifted, expected)]


def test_random_shift_is_a_whole_pixel_translation_padded_with_the_background():
    images = hand_made_images()
    for seed in range(10):
        shifted = random_shift(images, torch.Generator().manual_seed(seed))
        assert shifted.shape == (2, 1, 28, 28)
        matches = which_shift(shifted, pixels=2)
        assert len(matches) == 1, f"seed {seed}: not one translation of the batch by <= 2 pixels"


def test_random_shift_draws_every_shift_in_its_range_and_none_beyond():
    """25 shifts for pixels=2: 400 draws see each (expected 16 times; P(a given one never shows) = (24/25)^400 ~ 8e-8)
    and nothing else. 3 pixels allowed in the search, so a shift by 3 would be found, not missed."""
    images = hand_made_images()
    generator = torch.Generator().manual_seed(0)
    seen = {}
    for _ in range(400):
        matches = which_shift(random_shift(images, generator), pixels=3)
        assert len(matches) == 1
        seen[matches[0]] = seen.get(matches[0], 0) + 1
    assert set(seen) == {(down, right) for down in range(-2, 3) for right in range(-2, 3)}
    assert max(seen.values()) < 40  # uniform: 16 expected, sd 3.9; 40 is 6 sd above


def test_random_shift_of_zero_pixels_is_the_identity_and_padding_is_minus_one():
    images = hand_made_images()
    assert torch.equal(random_shift(images, torch.Generator().manual_seed(3), pixels=0), images)
    assert torch.equal(random_shift(images.reshape(2, 784), torch.Generator().manual_seed(3), pixels=0), images)
    blank = torch.full((1, 1, 28, 28), -1.0)  # a blank (background) image stays blank whatever the shift
    assert torch.equal(random_shift(blank, torch.Generator().manual_seed(0)), blank)


def test_random_shift_takes_the_shift_a_seed_draws():
    """The seed's two draws d0, d1 in [0, 2p] move the content by p - d1 rows down and p - d0 columns right.
    Pinned because the committed classifiers were trained with this stream of shifts: swapping the axes or
    the direction gives the same distribution of shifts but not the same weights from the recorded command."""
    images = hand_made_images()
    for seed in range(6):
        d0, d1 = torch.randint(0, 5, (2,), generator=torch.Generator().manual_seed(seed)).tolist()
        shifted = random_shift(images, torch.Generator().manual_seed(seed))
        for k in range(2):
            assert torch.equal(shifted[k, 0], hand_shifted(images[k, 0], 2 - d1, 2 - d0)), seed


# ----------------------------------------------------------------------------- one GAN step against the formula

SMALL_MLP = mlp_gan.MLPGANConfig(g_hidden=(32, 64), d_hidden=(64, 32))
SMALL_CGAN = cgan.CGANConfig(g_hidden=(32, 64), d_hidden=(64, 32))


def make_pair(kind: str):
    seed_everything(0)
    if kind == "mlp":
        return mlp_gan.Generator(SMALL_MLP), mlp_gan.Discriminator(SMALL_MLP), MNIST_GAN.train
    return cgan.Generator(SMALL_CGAN), cgan.Discriminator(SMALL_CGAN), MNIST_CGAN.train


def fixed_batch(kind: str, n: int = 32):
    g = torch.Generator().manual_seed(1)
    images = torch.rand(n, 1, 28, 28, generator=g) * 2 - 1
    return images if kind == "mlp" else (images, torch.randint(10, (n,), generator=g))


def recorded_noise(G) -> list:
    """Make G.sample_z remember what it returns (the z, or the (z, y) pair, each step draws)."""
    drawn, original = [], G.sample_z

    def sample_z(n, *args, **kwargs):
        drawn.append(original(n, *args, **kwargs))
        return drawn[-1]

    G.sample_z = sample_z
    return drawn


def as_double(pair_or_tensor):
    return tuple(t.double() if t.is_floating_point() else t for t in pair_or_tensor) \
        if isinstance(pair_or_tensor, tuple) else pair_or_tensor.double()


def by_hand_d(G, D, x_real, z):
    """-V(D, G) = -E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z)))), float64, and its gradient in D."""
    G, D = copy.deepcopy(G).double(), copy.deepcopy(D).double()
    real, fake = D(as_double(x_real)), D(G(as_double(z)))
    loss = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    grads = torch.autograd.grad(loss, list(D.parameters()))
    return loss.item(), torch.sigmoid(real).mean().item(), torch.sigmoid(fake).mean().item(), grads


def by_hand_g(G, D, z):
    """The non-saturating generator loss -E log sigmoid(D(G(z))), float64, and its gradient in G."""
    G, D = copy.deepcopy(G).double(), copy.deepcopy(D).double()
    loss = -torch.log(torch.sigmoid(D(G(as_double(z))))).mean()
    return loss.item(), torch.autograd.grad(loss, list(G.parameters()))


def assert_moved_by(before, after, expected_gradients, lr):
    """after - before == -lr * gradient, tensor by tensor. Two float32 errors: the stored weight is rounded to
    its spacing (one float32 epsilon, 1.2e-7, of the largest weight bounds the rounding and the subtraction
    together, 2 of them leave room), and the float32 gradient differs from the float64 one by a few 1e-6 of the
    tensor's largest step (measured: <= 5e-6 wherever the weights are small); 1e-5 of it is allowed. A learning
    rate 1% off is 1e-2 of the largest step in every tensor: outside the bound in all tensors whose weights are
    below ~1, which is all but the batch-norm scales and the label embeddings."""
    eps = torch.finfo(torch.float32).eps
    for b, a, g in zip(before, after, expected_gradients):
        step = -lr * g
        bound = 2 * eps * b.abs().max().item() + 1e-5 * step.abs().max().item()
        error = ((a.detach() - b).double() - step).abs().max().item()
        assert error <= bound, (tuple(b.shape), error, bound)


@pytest.mark.parametrize("kind", ["mlp", "cgan"])
def test_one_d_step_and_one_g_step_follow_the_value_function_by_hand(kind):
    """Plain SGD with known rates on a fixed batch, networks in eval mode (no dropout, so the forward pass is a
    function): D's step moves D by -lr_d * grad of -V and leaves G alone; G's step moves G by -lr_g * grad of the
    non-saturating loss through the updated D and leaves D alone; the logged losses are the formulas' values."""
    G, D, recipe = make_pair(kind)
    cfg = replace(recipe, optimizer_d="sgd", optimizer_g="sgd", lr_d=0.05, lr_g=0.02)
    x_real = fixed_batch(kind)
    trainer = GANTrainer(G, D, lambda n: x_real, cfg, "cpu")
    G.eval(), D.eval()
    drawn = recorded_noise(G)
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)
    d_before, g_before = [p.detach().clone() for p in D.parameters()], [p.detach().clone() for p in G.parameters()]

    logs = trainer.train_d()
    loss, d_real, d_fake, grads = by_hand_d(G0, D0, x_real, drawn[0])
    assert logs["loss_d"].item() == pytest.approx(loss, rel=1e-5)
    assert logs["d_real"].item() == pytest.approx(d_real, rel=1e-5)
    assert logs["d_fake"].item() == pytest.approx(d_fake, rel=1e-5)
    assert_moved_by(d_before, list(D.parameters()), grads, cfg.lr_d)
    assert all(torch.equal(b, a) for b, a in zip(g_before, G.parameters())), "the D step changed G"
    assert all(p.grad is None for p in G.parameters()), "the D step computed gradients for G (G is held fixed)"
    d_grads = [p.grad.clone() for p in D.parameters()]

    D1 = copy.deepcopy(D)
    d_after = [p.detach().clone() for p in D.parameters()]
    logs = trainer.train_g()
    loss, grads = by_hand_g(G0, D1, drawn[1])
    assert logs["loss_g"].item() == pytest.approx(loss, rel=1e-5)
    assert_moved_by(g_before, list(G.parameters()), grads, cfg.lr_g)
    assert all(torch.equal(b, a) for b, a in zip(d_after, D.parameters())), "the G step changed D"
    # D's gradients are still those of its own step: G's step computed none for D's weights (only through D)
    assert all(torch.equal(before, p.grad) for before, p in zip(d_grads, D.parameters())), "G's step computed D's grads"
    assert all(p.requires_grad for p in D.parameters())  # D trainable again for the next D step


@pytest.mark.parametrize("kind", ["mlp", "cgan"])
def test_the_recipes_adam_moves_each_player_by_its_own_learning_rate(kind):
    """Adam's first update is lr * g / (|g| + eps) per weight: at most lr, and lr to 6 digits wherever |g| >> eps.
    With lr_d = 3 lr_g (train mode, dropout on), D's step moves D's weights by up to lr_d and G's not at all,
    and G's step the reverse; a swapped or scaled learning rate misses the window [0.99 lr, lr + rounding]."""
    G, D, recipe = make_pair(kind)
    cfg = replace(recipe, lr_d=3e-4, lr_g=1e-4)
    trainer = GANTrainer(G, D, lambda n: fixed_batch(kind), cfg, "cpu")
    for step, moved, fixed, lr in (("train_d", D, G, cfg.lr_d), ("train_g", G, D, cfg.lr_g)):
        moved_before = [p.detach().clone() for p in moved.parameters()]
        fixed_before = [p.detach().clone() for p in fixed.parameters()]
        logs = getattr(trainer, step)()
        assert all(torch.isfinite(v) for v in logs.values())
        # float32 weights near 1 (batch-norm scales) round a step of 1e-4 by up to their spacing, 1.2e-7
        eps = torch.finfo(torch.float32).eps
        for a, b in zip(moved.parameters(), moved_before):
            assert (a - b).abs().max().item() <= lr + 2 * eps * b.abs().max().item(), (step, tuple(b.shape))
        largest = max((a - b).abs().max().item() for a, b in zip(moved.parameters(), moved_before))
        assert largest >= 0.99 * lr, (step, largest, lr)
        assert all(torch.equal(a, b) for a, b in zip(fixed.parameters(), fixed_before)), step


def test_the_label_reaches_the_conditional_G_and_D():
    """Same noise or same images, other labels: other images from G, other logits from D, another D loss."""
    G, D, _ = make_pair("cgan")
    G.eval(), D.eval()
    z = torch.randn(16, SMALL_CGAN.z_dim, generator=torch.Generator().manual_seed(2))
    y, other = torch.arange(16) % 10, (torch.arange(16) + 3) % 10
    with torch.no_grad():
        x, y_out = G((z, y))
        assert torch.equal(y_out, y)  # the label travels with the image
        assert (x - G((z, other))[0]).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # every image changes
        assert (D((x, y)) - D((x, other))).abs().min() > 1e-4  # every logit changes
    with torch.no_grad():  # D's logit as models/cgan.py writes it: psi(phi(x, y)) + <e_y, phi(x, y)>
        features = D.phi(torch.cat([x.flatten(1), D.embed_in(y)], dim=1))
        projection = (D.embed(y) * features).sum(dim=1, keepdim=True)
        torch.testing.assert_close(D((x, y)), D.psi(features) + projection)
        assert projection.abs().min() > 1e-4  # the projection term is there, not zero
    assert set(G.sample_z(500)[1].tolist()) == set(range(10))  # G is asked for every class
    images, labels = fixed_batch("cgan")
    noise = G.sample_z(32, generator=torch.Generator().manual_seed(4))
    right = by_hand_d(G, D, (images, labels), noise)[0]
    wrong = by_hand_d(G, D, (images, (labels + 1) % 10), noise)[0]
    assert abs(right - wrong) > 1e-4  # so the by-hand check above would see a step that drops the labels


# ----------------------------------------------------------------------------- CycleGAN: d_steps and amp

TINY_CYCLEGAN = CycleGANConfig(width=4, d_width=4, res_blocks=1)


def cyclegan_trainer(**changes) -> CycleGANTrainer:
    seed_everything(0)
    a = torch.randint(0, 256, (16, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cfg = CycleGANTrainConfig(**{"steps": 3, "batch_size": 4, "log_every": 3, "amp": False, **changes})
    return CycleGANTrainer(CycleGAN(TINY_CYCLEGAN), data.image_sampler(a, "cpu"),
                           data.image_sampler(255 - a, "cpu"), cfg, "cpu")


@pytest.mark.parametrize("d_steps", [1, 2, 3])
def test_cyclegan_makes_d_steps_discriminator_updates_per_generator_update(d_steps):
    trainer = cyclegan_trainer(d_steps=d_steps)
    calls = {"G": 0, "D": 0}
    trainer.opt_g.register_step_post_hook(lambda *_: calls.__setitem__("G", calls["G"] + 1))
    trainer.opt_d.register_step_post_hook(lambda *_: calls.__setitem__("D", calls["D"] + 1))
    trainer.train(progress=False)
    assert calls == {"G": 3, "D": 3 * d_steps}
    # Adam's own count of the updates each weight received
    assert all(state["step"].item() == 3 * d_steps for state in trainer.opt_d.state.values())
    assert all(state["step"].item() == 3 for state in trainer.opt_g.state.values())
    assert len(trainer.opt_d.state) == len(list(trainer.model.D_A.parameters())) * 2  # D_A and D_B both


def dtypes_seen(modules: dict) -> tuple[dict, list]:
    """Forward hooks recording the dtype of each module's output, per module name."""
    seen = {name: [] for name in modules}
    handles = [module.register_forward_hook(lambda m, i, out, name=name: seen[name].append(out.dtype))
               for name, module in modules.items()]
    return seen, handles


@pytest.mark.parametrize("amp", [False, True])
def test_cyclegan_amp_runs_every_network_in_bfloat16_and_keeps_the_weights_float32(amp):
    """CPU autocast runs convolutions in bfloat16, so the first convolution of each network shows it."""
    seed_everything(0)
    model = CycleGAN(TINY_CYCLEGAN)
    first_convs = {"G": model.G.net[1], "F": model.F.net[1], "D_A": model.D_A.net[0], "D_B": model.D_B.net[0]}
    assert all(isinstance(m, torch.nn.Conv2d) for m in first_convs.values())
    a, b = torch.rand(4, 3, 28, 28) * 2 - 1, torch.rand(4, 3, 28, 28) * 2 - 1
    opt_g = torch.optim.Adam([*model.G.parameters(), *model.F.parameters()], lr=1e-4)
    opt_d = torch.optim.Adam([*model.D_A.parameters(), *model.D_B.parameters()], lr=1e-4)
    expected = torch.bfloat16 if amp else torch.float32

    seen, handles = dtypes_seen(first_convs)
    precision = choose_precision("cpu", amp, cpu=True)  # amp=True on a CPU: bfloat16
    logs, fake_a, fake_b = generator_step(model, a, b, opt_g, precision)
    assert all(set(dtypes) == {expected} for dtypes in seen.values()), seen  # all four run in G's step
    assert fake_a.dtype == fake_b.dtype == torch.float32 and logs["loss_g"].dtype == torch.float32
    for handle in handles:
        handle.remove()

    seen, handles = dtypes_seen({"D_A": first_convs["D_A"], "D_B": first_convs["D_B"]})
    logs = discriminator_step(model, a, b, fake_a, fake_b, (ImagePool(0), ImagePool(0)), opt_d, precision)
    assert all(set(dtypes) == {expected} and len(dtypes) == 2 for dtypes in seen.values()), seen
    for handle in handles:
        handle.remove()
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize("amp, fast, expected", [(True, False, torch.bfloat16), (False, True, torch.float32),
                                                 (None, True, torch.bfloat16), (None, False, torch.float32)])
def test_the_cyclegan_trainer_passes_its_amp_decision_to_both_steps(monkeypatch, amp, fast, expected):
    """amp=True/False is obeyed; amp=None asks whether the CPU runs bfloat16 natively (here forced either way)."""
    monkeypatch.setattr(precision_module, "cpu_runs_bfloat16_natively", lambda: fast)
    trainer = cyclegan_trainer(amp=amp, d_steps=2)
    assert trainer.precision.dtype == expected
    seen, handles = dtypes_seen({"G": trainer.model.G.net[1], "D_B": trainer.model.D_B.net[0]})
    trainer.train_step()
    for handle in handles:
        handle.remove()
    # G runs twice in G's step (G(a), G(F(b)), plus G(b) for the identity loss): 3 calls; D_B once in G's step
    # and twice (real, pooled fake) in each of the two D steps: 5 calls
    assert seen["G"] == [expected] * 3 and seen["D_B"] == [expected] * 5, seen


# ----------------------------------------------------------------------------- GANTrainer: autocast


class RecordedAutocast:
    """Stands in for torch.autocast: remembers how it was asked, does nothing."""

    calls: list = []

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        RecordedAutocast.calls.append({"device_type": device_type, "dtype": dtype, "enabled": enabled})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("device_type, dtype", [("cuda", torch.bfloat16), ("cuda", torch.float16),
                                                ("cpu", torch.bfloat16), ("mps", torch.float32)])
def test_gan_trainer_enters_the_autocast_of_its_precision(monkeypatch, device_type, dtype):
    """The trainer's autocast is its precision's (which choose_precision picks: tests/test_precision.py); the
    precision is relabelled after the trainer is built on the CPU (nothing runs on the other device)."""
    G, D, recipe = make_pair("mlp")
    trainer = GANTrainer(G, D, lambda n: fixed_batch("mlp"), recipe, "cpu")
    assert trainer.precision.dtype == torch.float32  # amp=True on a CPU: the GAN trainer keeps float32
    trainer.precision = Precision(device_type, dtype, "relabelled by the test")
    monkeypatch.setattr(RecordedAutocast, "calls", [])
    monkeypatch.setattr(torch, "autocast", RecordedAutocast)
    trainer._autocast()
    expected = [] if dtype == torch.float32 else [{"device_type": device_type, "dtype": dtype, "enabled": True}]
    assert RecordedAutocast.calls == expected


def test_both_gan_steps_run_inside_the_trainers_autocast():
    """With the trainer's autocast switched to CPU bfloat16, D's first layer computes in bfloat16 in D's step
    and in G's step, and G's in G's step: so the steps really are inside `with self._autocast()`."""
    G, D, recipe = make_pair("mlp")
    trainer = GANTrainer(G, D, lambda n: fixed_batch("mlp"), recipe, "cpu",
                         precision=Precision("cpu", torch.bfloat16, "CPU autocast, which runs here"))
    seen, handles = dtypes_seen({"G": G.net[0], "D": D.net[1]})
    trainer.train_d()
    assert seen == {"G": [torch.bfloat16], "D": [torch.bfloat16] * 2}, seen  # G(z), D(x_real), D(x_fake)
    trainer.train_g()
    assert seen == {"G": [torch.bfloat16] * 2, "D": [torch.bfloat16] * 3}, seen
    for handle in handles:
        handle.remove()
    assert all(p.dtype == torch.float32 for p in [*G.parameters(), *D.parameters()])
