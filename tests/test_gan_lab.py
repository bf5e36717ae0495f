"""The GAN Lab demo (course_utils.gan_lab): its model step, its recordings, its errors and its static figure."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils import gan_lab
from course_utils.checkpoints import CheckpointError
from course_utils.gan_lab import LOSSES, GANLab, LabRun, load_recordings, record_run, save_recordings


@pytest.fixture(scope="module")
def small_recordings(tmp_path_factory):
    """Every loss on the ring, 6 steps in 2 frames each, saved and loaded back."""
    torch.set_num_threads(1)
    path = tmp_path_factory.mktemp("lab") / "lab.npz"
    save_recordings(path, [record_run(loss, "ring", steps=6, n_frames=2) for loss in LOSSES])
    return load_recordings(path)


@pytest.mark.parametrize("loss", LOSSES)
def test_a_step_of_each_loss_moves_the_samples(loss):
    run = LabRun(loss, "grid", n_samples=200, n_arrows=20, resolution=12)
    before = run.frame()
    run.step(3)
    after = run.frame()
    assert after.step == 3 and before.step == 0
    assert after.samples.shape == (200, 2) and after.push.shape == (20, 2) and after.scores.shape == (12, 12)
    assert not np.allclose(before.samples, after.samples)
    assert np.isfinite(after.push).all() and np.abs(after.push).sum() > 0
    assert np.isfinite(after.loss_d) and np.isfinite(after.loss_g)
    assert 0 <= after.modes <= 25 and 0.0 <= after.high_quality <= 1.0


def test_arrows_point_down_the_generator_loss():
    """A small move of each sample along its arrow lowers G's loss (the arrows are minus its gradient)."""
    run = LabRun("GAN", "ring", n_samples=100, n_arrows=100)
    run.step(5)
    frame = run.frame(measure_modes=False)
    loss = gan_lab.GAN_LOSSES["non_saturating"].g
    x = torch.from_numpy(frame.samples)
    push = torch.from_numpy(frame.push)
    with torch.no_grad():
        assert loss(run.D(x + 1e-3 * push / push.norm(dim=1, keepdim=True))) < loss(run.D(x))


def test_recordings_round_trip(small_recordings):
    assert set(small_recordings) == {("ring", loss) for loss in LOSSES}
    rec = small_recordings[("ring", "SN-hinge")]
    assert [frame.step for frame in rec.frames] == [0, 3, 6]
    assert rec.frames[-1].samples.shape == (1000, 2) and rec.frames[-1].scores.shape == (48, 48)
    assert rec.settings == {"lr_d": rec.settings["lr_d"], "lr_g": rec.settings["lr_g"], "k": rec.settings["k"]}
    # the last weights come back (float16) into a live run that goes on from the recording's step
    run = LabRun("SN-hinge", "ring")
    run.load_state(rec.weights, rec.frames[-1].step)
    assert run.step_count == 6
    np.testing.assert_allclose(run.frame().samples, rec.frames[-1].samples, atol=0.02)


def test_committed_recording_loads_verified():
    recordings = load_recordings()
    assert set(recordings) == {(dataset, loss) for dataset in gan_lab.DATASETS for loss in LOSSES}
    for rec in recordings.values():
        steps = [frame.step for frame in rec.frames]
        assert steps[0] == 0 and steps == sorted(steps) and len(steps) >= 10
        assert rec.frames[0].samples.shape == (1000, 2) and rec.frames[0].push.shape == (80, 2)
        assert rec.frames[0].scores.shape == (48, 48)
        assert all(np.isfinite(frame.samples).all() for frame in rec.frames)


def test_a_tampered_recording_is_refused(tmp_path, small_recordings):
    path = save_recordings(tmp_path / "lab.npz", list(small_recordings.values()))
    with pytest.raises(CheckpointError, match="sha256"):
        load_recordings(path, sha256="0" * 64)
    with pytest.raises(CheckpointError, match="pretrain gan_lab"):
        load_recordings(tmp_path / "missing.npz")


def test_wrong_names_are_clear_errors(small_recordings):
    with pytest.raises(ValueError, match="unknown loss 'WGAN'.*'GAN', 'WGAN-GP', 'SN-hinge'"):
        LabRun("WGAN", "ring")
    with pytest.raises(ValueError, match="unknown data set 'moons'.*'ring', 'grid'"):
        LabRun("GAN", "moons")
    with pytest.raises(ValueError, match="no recording of GAN on grid"):
        GANLab(small_recordings, loss="GAN", dataset="grid")


def test_static_figure_draws(small_recordings):
    fig = GANLab(small_recordings, dataset="ring").static_figure(columns=3)
    assert isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(LOSSES) * 3
    fig.savefig(__import__("io").BytesIO(), format="png")


def test_widget_replays_and_trains_a_chunk(small_recordings):
    pytest.importorskip("ipywidgets")
    lab = GANLab(small_recordings, loss="GAN", dataset="ring", chunk_seconds=0.01)
    lab.widget()
    controls = lab.controls
    assert controls["image"].value[:8] == b"\x89PNG\r\n\x1a\n"
    controls["frame"].value = 2
    assert "recorded" in controls["status"].value and "step 6" in controls["status"].value
    controls["step"].click()
    assert "live" in controls["status"].value and lab.run.step_count > 6
    controls["loss"].value = "WGAN-GP"
    assert lab.run is None and "WGAN-GP" in controls["status"].value
    controls["reset"].click()
    assert lab.run.step_count == 0


def test_one_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with gan_lab.one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_record_all_writes_the_file_and_its_entry(tmp_path, monkeypatch):
    import json

    from course_utils import recipes

    monkeypatch.setattr(recipes, "GAN_LAB_STEPS", 4)
    entry = gan_lab.record_all(n_frames=2, directory=tmp_path)
    written = json.loads((tmp_path / "RECORDINGS.json").read_text())["gan_lab"]
    assert written["sha256"] == entry["sha256"] and written["metrics"] == entry["metrics"]
    for key in ("file", "sha256", "command", "budget", "hardware", "seconds", "metrics", "config"):
        assert key in entry
    recordings = load_recordings(tmp_path / entry["file"], sha256=entry["sha256"])
    assert len(recordings) == len(LOSSES) * len(gan_lab.DATASETS)
    assert all([frame.step for frame in rec.frames] == [0, 2, 4] for rec in recordings.values())


def test_recipes_are_the_ones_that_made_the_committed_recordings():
    import json
    from dataclasses import asdict

    from course_utils.recipes import GAN_LAB

    entry = gan_lab.recordings_index()["gan_lab"]
    as_json = lambda config: json.loads(json.dumps(asdict(config)))  # noqa: E731 -- tuples become lists
    for loss in LOSSES:
        assert as_json(GAN_LAB[loss].model) == entry["config"][loss]["model"]
        assert as_json(GAN_LAB[loss].train) == entry["config"][loss]["train_config"]
