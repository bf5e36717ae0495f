import json

import pytest
import torch

from course_utils import checkpoints
from course_utils.checkpoints import CheckpointError, load_checkpoint, load_or_train, save_checkpoint
from course_utils.data import gaussian_1d
from course_utils.metrics import gan1d_diagnostics
from course_utils.models.gan1d import Discriminator, GAN1DConfig, Generator


def test_round_trip(tmp_path):
    G, D = Generator(), Discriminator()
    path = save_checkpoint(tmp_path / "gan.safetensors", {"G": G, "D": D}, {"step": 42, "config": G.config_dict()})
    G2, D2 = Generator(), Discriminator()
    meta = load_checkpoint(path, {"G": G2, "D": D2})
    assert meta["step"] == 42 and meta["config"] == G.config_dict()
    for a, b in zip([*G.state_dict().values(), *D.state_dict().values()],
                    [*G2.state_dict().values(), *D2.state_dict().values()]):
        assert torch.equal(a, b)


def test_fp16_storage_loads_into_fp32_models(tmp_path):
    G = Generator()
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": G}, dtype=torch.float16)
    G2 = Generator()
    load_checkpoint(path, {"G": G2})
    assert G2.net[0].weight.dtype == torch.float32
    assert torch.allclose(G.net[0].weight, G2.net[0].weight, atol=1e-3)


def test_tampered_file_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()})
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # flip bits inside a weight
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="does not match its recorded sha256"):
        load_checkpoint(path, {"G": Generator()})


def test_corrupt_file_without_sidecar_is_refused_clearly(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()})
    checkpoints.sidecar(path).unlink()
    path.write_bytes(path.read_bytes()[:40])  # truncated
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path, {"G": Generator()})


def test_wrong_architecture_is_refused_clearly(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()}, {"config": {"g_hidden": 32}})
    with pytest.raises(CheckpointError, match="do not fit this model"):
        load_checkpoint(path, {"G": Generator(GAN1DConfig(g_hidden=8))})


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nothing.safetensors", {"G": Generator()})


def test_committed_pretrained_gan1d_is_verified_and_good():
    manifest = checkpoints.read_manifest()
    entry = manifest["gan1d"]
    for key in ("file", "sha256", "model", "config", "command", "budget", "hardware", "seconds", "metrics"):
        assert key in entry
    assert checkpoints.sha256sum(checkpoints.pretrained_dir() / entry["file"]) == entry["sha256"]
    G, D = Generator(), Discriminator()
    checkpoints.load_pretrained("gan1d", {"G": G, "D": D})
    numbers = gan1d_diagnostics(G, D, gaussian_1d())
    assert numbers["js_nats"] <= 0.02 and numbers["d_mean_abs_dev"] <= 0.05


def test_pretrained_with_a_tampered_manifest_hash_is_refused(tmp_path):
    source = checkpoints.pretrained_dir()
    manifest = checkpoints.read_manifest()
    manifest["gan1d"]["sha256"] = "0" * 64
    (tmp_path / "MANIFEST.json").write_text(json.dumps(manifest))
    (tmp_path / "gan1d.safetensors").write_bytes((source / "gan1d.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="sha256"):
        checkpoints.load_pretrained("gan1d", {"G": Generator(), "D": Discriminator()}, directory=tmp_path)
    with pytest.raises(CheckpointError, match="available"):
        checkpoints.load_pretrained("no_such_model", {"G": Generator()}, directory=tmp_path)


def test_load_or_train_trains_once_then_loads(data_cache):
    calls = []
    G = Generator(GAN1DConfig(g_hidden=8))

    def train():
        calls.append(1)
        torch.nn.init.constant_(G.net[0].weight, 0.25)
        return {"metrics": {"note": "trained"}}

    first = load_or_train("tiny", {"G": G}, train, config=G.config_dict())
    G2 = Generator(GAN1DConfig(g_hidden=8))
    second = load_or_train("tiny", {"G": G2}, train, config=G2.config_dict())
    assert (first["source"], second["source"], len(calls)) == ("trained", "cache", 1)
    assert torch.all(G2.net[0].weight == 0.25)
    # another config does not load the cached weights: it trains
    G3 = Generator(GAN1DConfig(g_hidden=4))
    assert load_or_train("tiny", {"G": G3}, lambda: None, config=G3.config_dict())["source"] == "trained"
