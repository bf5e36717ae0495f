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
    with pytest.raises(CheckpointError, match="the names are: .*dcgan_cifar10, .*gan1d"):
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


# ----------------------------------------------------------------------------- bad input without a sidecar


def flip_byte(path, position):
    raw = bytearray(path.read_bytes())
    raw[position] ^= 0x01
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("where", ["last weight byte", "first weight byte", "middle"])
def test_flipped_byte_without_sidecar_is_refused(tmp_path, where):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()}, {"config": Generator().config_dict()})
    checkpoints.sidecar(path).unlink()
    header_size = 8 + int.from_bytes(path.read_bytes()[:8], "little")
    size = path.stat().st_size
    position = {"last weight byte": size - 1, "first weight byte": header_size,
                "middle": (header_size + size) // 2}[where]
    flip_byte(path, position)
    with pytest.raises(CheckpointError, match="checksum stored inside the file"):
        load_checkpoint(path, {"G": Generator()})


def test_flipped_byte_in_the_header_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()})
    checkpoints.sidecar(path).unlink()
    header_size = int.from_bytes(path.read_bytes()[:8], "little")
    for position in range(8, 8 + header_size, max(header_size // 25, 1)):  # anywhere in the JSON header
        copy = tmp_path / f"copy{position}.safetensors"
        copy.write_bytes(path.read_bytes())
        flip_byte(copy, position)
        try:
            load_checkpoint(copy, {"G": Generator()})
        except CheckpointError:
            continue
        raise AssertionError(f"a flipped bit at byte {position} of the header loaded without error")


def test_intact_file_without_sidecar_loads_verified_with_its_config(tmp_path):
    G = Generator()
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": G}, {"config": G.config_dict()})
    checkpoints.sidecar(path).unlink()
    G2 = Generator()
    meta = load_checkpoint(path, {"G": G2})
    assert meta["config"] == G.config_dict() and meta["modules"] == ["G"]
    assert torch.equal(G.net[0].weight, G2.net[0].weight)


def test_file_without_sidecar_or_checksum_is_refused_unless_asked(tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / "foreign.safetensors"
    save_file({f"G.{key}": value for key, value in Generator().state_dict().items()}, str(path))
    with pytest.raises(CheckpointError, match="cannot be verified.*verify=False"):
        load_checkpoint(path, {"G": Generator()})
    with pytest.warns(UserWarning, match="loaded unverified"):
        load_checkpoint(path, {"G": Generator()}, verify=False)


def test_wrong_module_key_names_what_the_file_holds(tmp_path):
    path = save_checkpoint(tmp_path / "gan.safetensors", {"G": Generator(), "D": Discriminator()})
    checkpoints.sidecar(path).unlink()
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path, {"generator": Generator()})
    message = str(error.value)
    assert "['D', 'G']" in message and "['generator']" in message and "None" not in message


def test_wrong_architecture_without_sidecar_says_the_stored_config(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()}, {"config": Generator().config_dict()})
    checkpoints.sidecar(path).unlink()
    with pytest.raises(CheckpointError, match="'g_hidden': 32"):
        load_checkpoint(path, {"G": Generator(GAN1DConfig(g_hidden=8))})


def test_wrong_architecture_without_any_config_does_not_print_none(tmp_path):
    path = save_checkpoint(tmp_path / "g.safetensors", {"G": Generator()})
    with pytest.raises(CheckpointError, match="records no config") as error:
        load_checkpoint(path, {"G": Generator(GAN1DConfig(g_hidden=8))})
    assert "None" not in str(error.value)


# ----------------------------------------------------------------------------- pretrained(name)


@pytest.mark.parametrize("name", sorted(checkpoints.read_manifest()))
def test_every_manifest_entry_loads_through_pretrained(name, capsys):
    model = checkpoints.pretrained(name)
    assert capsys.readouterr().out.strip() == model.provenance
    assert model.provenance.startswith(f"{name}: ") and model.provenance.endswith("sha256 ok")
    entry = checkpoints.read_manifest()[name]
    assert model.manifest_entry == entry
    G = model if isinstance(model, torch.nn.Module) else model.G
    assert not G.training
    if not isinstance(model, torch.nn.Module):
        assert not model.D.training
    assert G.config_dict() == entry["config"]


def test_pretrained_gan_pair_and_cyclegan_shapes():
    gan = checkpoints.pretrained("gan1d", verbose=False)
    assert isinstance(gan, checkpoints.PretrainedModules)
    assert gan.G(torch.zeros(4, 1)).shape == (4, 1) and gan.D(torch.zeros(4, 1)).shape == (4, 1)
    cyclegan = checkpoints.pretrained("mnist_cyclegan", verbose=False)
    assert cyclegan.G(torch.zeros(2, 3, 28, 28)).shape == (2, 3, 28, 28)


def test_pretrained_wrong_name_lists_the_names():
    with pytest.raises(CheckpointError) as error:
        checkpoints.pretrained("mnist_gann")
    for name in checkpoints.read_manifest():
        assert name in str(error.value)


def test_pretrained_restores_tuples_in_configs():
    G = checkpoints.pretrained("mnist_cgan", verbose=False)
    assert G.cfg.g_hidden == (256, 512, 1024) and isinstance(G.cfg.d_hidden, tuple)


def test_an_infogan_cr_entry_loads_g_d_and_h_through_pretrained(tmp_path):
    """The shapes table stores G, D and InfoGAN-CR's H under the keys G, D, H; pretrained() must build all three."""
    from course_utils.models.infogan import ContrastiveHead, Discriminator as InfoD, Generator as InfoG, InfoGANConfig

    cfg = InfoGANConfig(z_dim=2, categories=0, continuous=2, width=4, image_size=8)
    networks = {"G": InfoG(cfg), "D": InfoD(cfg), "H": ContrastiveHead(cfg)}
    checkpoints.register_pretrained("tiny_cr", networks, {
        "model": "course_utils.models.infogan.Generator+Discriminator+ContrastiveHead", "config": cfg.__dict__},
        directory=tmp_path)
    loaded = checkpoints.pretrained("tiny_cr", directory=tmp_path, verbose=False)
    for key, network in networks.items():
        for a, b in zip(network.state_dict().values(), getattr(loaded, key).state_dict().values()):
            assert torch.equal(a, b), key


def _write_entries(directory, prefix, n, go):
    go.wait()  # both writers start together
    for i in range(n):
        checkpoints.write_index_entry(f"{prefix}{i}", {"history": list(range(2000))}, directory)


def test_parallel_pretrainers_do_not_drop_each_others_manifest_entries(tmp_path):
    """Two pretrainers (one per core) registering at once: every entry must survive the read-modify-write. Without
    the lock in write_index_entry this test loses entries (checked by removing it)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    go = context.Event()
    workers = [context.Process(target=_write_entries, args=(tmp_path, prefix, 40, go)) for prefix in "ab"]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(120)
    assert len(checkpoints.read_manifest(tmp_path)) == 80
