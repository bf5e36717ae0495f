import pytest
import torch

from course_utils import data


def test_gaussian_mixture_samples_match_its_density():
    p = data.GaussianMixture([[-2.0], [3.0]], [0.5, 1.0], [0.25, 0.75])
    x = p.sample(200_000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (200_000, 1)
    assert x.mean().item() == pytest.approx(0.25 * -2 + 0.75 * 3, abs=0.02)
    grid = torch.linspace(-8, 10, 4001)
    assert torch.trapezoid(p.pdf(grid), grid).item() == pytest.approx(1.0, abs=1e-4)
    # the histogram of samples agrees with the pdf
    counts = torch.histc(x.reshape(-1), bins=36, min=-8, max=10) / (len(x) * 0.5)
    centres = torch.linspace(-8 + 0.25, 10 - 0.25, 36)
    assert (counts - p.pdf(centres)).abs().max() < 0.01


def test_quantiles_of_a_gaussian():
    lo, hi = data.gaussian_1d(2.0, 0.5).central_interval(0.95)
    assert lo == pytest.approx(2 - 1.96 * 0.5, abs=2e-3) and hi == pytest.approx(2 + 1.96 * 0.5, abs=2e-3)


def test_two_dimensional_toy_sets():
    ring, grid = data.ring_2d(8), data.grid_2d(5)
    assert ring.sample(100).shape == (100, 2) and grid.sample(100).shape == (100, 2)
    assert torch.allclose(ring.means.norm(dim=1), torch.full((8,), 2.0))
    assert len(grid.means) == 25
    square = torch.linspace(-6, 6, 601)
    xy = torch.cartesian_prod(square, square)
    mass = ring.pdf(xy).sum().item() * (12 / 600) ** 2
    assert mass == pytest.approx(1.0, abs=1e-2)


def test_bad_mixture_arguments():
    with pytest.raises(ValueError, match="one entry per component"):
        data.GaussianMixture([0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        data.GaussianMixture([0.0], [-1.0])


def test_mnist_offline_without_mirror_gives_a_clear_error(data_cache, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.mnist()
    message = str(error.value)
    for expected in ("MNIST", "train-images-idx3-ubyte.gz", str(data_cache / "MNIST" / "raw"),
                     "COURSE_DATA", "COURSE_DATA_MIRROR", "unset COURSE_OFFLINE (now '1')"):
        assert expected in message


def test_download_false_is_not_blamed_on_course_offline(data_cache, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.mnist(download=False)
    message = str(error.value)
    assert "pass download=True" in message and "COURSE_OFFLINE" not in message


def test_a_failed_download_becomes_the_same_clear_error(data_cache, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)

    def no_network(root):
        raise OSError("Temporary failure in name resolution")

    with pytest.raises(data.DatasetNotFoundError, match="download failed:\n    OSError: Temporary failure in name"):
        data.ensure_archives(data.MNIST_ARCHIVES, no_network, download=True)


def test_a_failed_mnist_download_shows_its_whole_cause(data_cache, monkeypatch):
    """torchvision's MNIST error puts the cause after a colon and a line break: all of it is shown."""
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)

    def no_network(root):
        try:
            raise OSError(-3, "Temporary failure in name resolution")
        except OSError as cause:
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://ossci-datasets.s3."
                               "amazonaws.com/mnist/, got:\n<urlopen error [Errno -3] Temporary failure in name "
                               "resolution>\n") from cause

    with pytest.raises(data.DatasetNotFoundError) as error:
        data.ensure_archives(data.MNIST_ARCHIVES, no_network)
    message = str(error.value)
    for expected in ("RuntimeError: Error downloading train-images-idx3-ubyte.gz:",
                     "Tried https://ossci-datasets.s3.amazonaws.com/mnist/, got:",
                     "<urlopen error [Errno -3] Temporary failure in name resolution>",
                     "caused by OSError: [Errno -3] Temporary failure in name resolution",
                     "check the network connection"):
        assert expected in message
    assert "COURSE_OFFLINE" not in message  # it was not set: no advice about it


def test_a_damaged_mirror_file_is_refused(data_cache, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "MNIST" / "raw").mkdir(parents=True)
    (mirror / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"not the real archive")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    with pytest.raises(data.DatasetNotFoundError, match="fails its MD5 check"):
        data.mnist(download=False)


def test_mnist_from_the_mirror(data_cache, mnist_mirror, monkeypatch):
    before = sorted((p, p.stat().st_mtime) for p in mnist_mirror.rglob("*"))
    train, test = data.mnist(train=True, download=False), data.mnist(train=False, download=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    image, label = train[0]
    assert image.size == (28, 28) and label == 5  # the first MNIST training digit is a 5
    assert sorted(train.targets.bincount().tolist())[0] > 5000  # every class is present
    assert before == sorted((p, p.stat().st_mtime) for p in mnist_mirror.rglob("*"))  # mirror untouched
    assert (data_cache / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()
    # a second call is served by the cache, even with the mirror gone
    monkeypatch.delenv("COURSE_DATA_MIRROR")
    images, labels = data.mnist_tensors(train=False)
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.uint8 and labels.shape == (10_000,)
