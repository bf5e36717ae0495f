import pytest
import torch
from matplotlib.figure import Figure

from course_utils import budget, get_device, is_fast, plots, seed_everything
from course_utils.data import gaussian_1d
from course_utils.models.gan1d import Discriminator, Generator
from course_utils.recipes import GAN1D
from course_utils.train import GANTrainer
from course_utils.widgets import GAN1DDemo


def test_budget_switch(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert is_fast() and budget(full=100, fast=1) == 1
    monkeypatch.setenv("COURSE_FAST", "0")
    assert not is_fast() and budget(full=100, fast=1) == 100


@pytest.mark.parametrize("value, fast", [("1", True), ("TRUE", True), (" yes ", True), ("On", True),
                                         ("0", False), ("false", False), ("No", False), ("OFF", False), ("", False)])
def test_the_usual_spellings_of_course_fast(monkeypatch, value, fast):
    monkeypatch.setenv("COURSE_FAST", value)
    assert is_fast() is fast


@pytest.mark.parametrize("value", ["maybe", "y", "fast", "2", "-1"])
def test_an_unknown_course_fast_is_refused_with_the_spellings(monkeypatch, value):
    monkeypatch.setenv("COURSE_FAST", value)
    with pytest.raises(ValueError, match=f"COURSE_FAST='{value}'.*1, true, yes, on.*0, false, no, off"):
        budget(full=100, fast=1)


def test_an_unknown_course_offline_is_refused_too(monkeypatch):
    from course_utils.data import offline

    monkeypatch.setenv("COURSE_OFFLINE", "sometimes")
    with pytest.raises(ValueError, match="COURSE_OFFLINE"):
        offline()
    monkeypatch.delenv("COURSE_OFFLINE")
    assert offline() is False


def test_seed_everything_repeats_random_numbers():
    seed_everything(7)
    first = torch.rand(3), torch.randn(2)
    seed_everything(7)
    second = torch.rand(3), torch.randn(2)
    assert all(torch.equal(a, b) for a, b in zip(first, second))


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")  # the warning without it: tests/test_precision.py
    assert get_device() == torch.device(expected)


def test_figures_are_returned_not_shown():
    seed_everything(0)
    G, D = Generator(), Discriminator()
    trainer = GANTrainer(G, D, gaussian_1d().sample, GAN1D.train, "cpu")
    trainer.train(30, progress=False)
    snap = plots.take_snapshot(G, D, gaussian_1d(), trainer.step, n_samples=2000)
    assert snap.p_g.shape == snap.grid.shape == snap.d.shape and len(snap.z) == len(snap.x_of_z) == 21
    for fig in (plots.plot_lecture_figure([snap, snap]), plots.plot_losses(trainer.history),
                plots.plot_optimal_discriminator(snap, (1.0, 3.0)), plots.plot_generator_losses(),
                plots.plot_curves([1, 2], {"a": [1, 2]}, "x", "y")):
        assert isinstance(fig, Figure) and fig.axes


def test_gan1d_demo_buttons_train_the_live_models():
    seed_everything(0)
    p = gaussian_1d()
    trainer = GANTrainer(Generator(), Discriminator(), p.sample, GAN1D.train, "cpu")
    demo = GAN1DDemo(trainer, p)
    ui = demo.widget()
    play_row, button_row, status, output = ui.children
    step_d, step_g, train_100, loss, k = button_row.children
    d_before = [q.clone() for q in trainer.D.parameters()]
    step_d.click()
    assert any(not torch.equal(a, b) for a, b in zip(d_before, trainer.D.parameters()))
    assert "live step 0" in status.value
    loss.value, k.value = "minimax", 2
    train_100.click()
    assert trainer.step == 100 and trainer.cfg.loss == "minimax" and trainer.cfg.k == 2
    assert isinstance(demo.static_figure(), Figure)


def test_gan1d_demo_records_its_own_run():
    demo = GAN1DDemo.record(steps=60, snapshots=3)
    assert [snap.step for snap in demo.recorded] == [0, 20, 40, 60]
    play_row = demo.widget().children[0]
    play, frame = play_row.children
    frame.value = 1
    assert demo.current is demo.recorded[1]
