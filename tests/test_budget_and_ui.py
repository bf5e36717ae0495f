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


def test_gan1d_demo_buttons_train_the_live_models_and_say_what_is_shown():
    seed_everything(0)
    p = gaussian_1d()
    trainer = GANTrainer(Generator(), Discriminator(), p.sample, GAN1D.train, "cpu")
    demo = GAN1DDemo(trainer, p)
    demo.widget()
    c = demo.controls
    d_before = [q.clone() for q in trainer.D.parameters()]
    c["updates per click"].value = 3
    c["D steps"].click()
    assert any(not torch.equal(a, b) for a, b in zip(d_before, trainer.D.parameters()))
    assert "<b>live</b>, step 0" in c["status"].value
    c["D steps"].click()  # the title counts every update since the last other button
    assert demo.current.label == "after 6 D updates (step 0)"
    c["G steps"].click()
    assert demo.current.label == "after 3 G updates (step 0)"
    c["G loss"].value, c["k"].value = "minimax", 2
    c["train 100"].click()
    assert trainer.step == 100 and trainer.cfg.loss == "minimax" and trainer.cfg.k == 2
    assert "step 100" in c["status"].value
    c["reset"].click()  # fresh players, seeded: the same weights as a new demo's
    assert demo.trainer.step == 0 and demo.trainer.cfg.loss == "minimax"
    torch.manual_seed(0)
    fresh = Generator()
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), demo.trainer.G.parameters()))
    assert isinstance(demo.static_figure(), Figure)


def test_gan1d_demo_records_its_own_run_and_the_status_follows_the_replay():
    demo = GAN1DDemo.record(steps=60, snapshots=3)
    assert [snap.step for snap in demo.recorded] == [0, 20, 40, 60]
    demo.widget()
    assert "step 60 (its last frame)" in demo.controls["status"].value
    demo.controls["recorded"].value = 1
    assert demo.current is demo.recorded[1]
    assert "replay" in demo.controls["status"].value and "step 20 (frame 2 of 4)" in demo.controls["status"].value


def test_gan1d_snapshots_survive_a_round_trip_and_the_replay_is_committed(tmp_path):
    from course_utils.widgets.adversarial import load_snapshots, save_snapshots

    demo = GAN1DDemo.record(steps=20, snapshots=2)
    back = load_snapshots(save_snapshots(tmp_path / "run.npz", demo.recorded))
    assert [(s.step, s.label) for s in back] == [(s.step, s.label) for s in demo.recorded]
    assert all(torch.equal(getattr(a, f), getattr(b, f).float()) for a, b in zip(back, demo.recorded)
               for f in ("grid", "p_g", "d", "x_of_z"))
    committed = GAN1DDemo.from_recording()
    assert committed.trainer.step == 0 and len(committed.recorded) > 10
    assert committed.recorded[0].step == 0 and committed.recorded[-1].step > committed.recorded[0].step


def test_a_demo_saved_in_a_notebook_shows_its_static_figure_not_its_repr():
    import base64

    from course_utils.widgets import PRESETS, use_preset

    demo = GAN1DDemo.record(steps=20, snapshots=2)
    bundle = demo.widget()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "VBox" not in bundle["text/plain"] and "run this cell" in bundle["text/plain"]
    try:  # the projector preset: larger figures, and the controls' style sheet in the box
        use_preset("projector")
        big = GAN1DDemo.record(steps=20, snapshots=2).widget()
        assert "--jp-widgets-font-size: 24px" in big.children[0].value
        width = lambda png: int.from_bytes(png[16:20], "big")  # noqa: E731  (the PNG header's width)
        assert width(big.children[-1].value) == round(8 * PRESETS["projector"].dpi)  # an 8-inch figure
        assert width(demo.widget().children[-1].value) == round(8 * PRESETS["notebook"].dpi)
    finally:
        use_preset("notebook")
    assert PRESETS["projector"].dpi > PRESETS["notebook"].dpi
    with pytest.raises(ValueError, match="no preset named 'beamer'; the presets are: notebook, projector"):
        use_preset("beamer")
