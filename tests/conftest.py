"""Shared fixtures: keep every test's cache in a temporary folder, never in the repo or the mirror."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_MIRROR = REPO.parent / "shared" / "datasets"


@pytest.fixture
def data_cache(tmp_path, monkeypatch):
    """An empty COURSE_DATA cache folder for this test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA", str(cache))
    return cache


def _mirror_with(folder: str, monkeypatch) -> Path:
    """$COURSE_DATA_MIRROR, else ../shared/datasets, if it holds `folder`; skip the test otherwise."""
    import os

    mirror = Path(os.environ.get("COURSE_DATA_MIRROR") or SHARED_MIRROR)
    if not (mirror / folder).is_dir():
        pytest.skip(f"no {folder} in a dataset mirror at {mirror}")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    return mirror


@pytest.fixture
def mnist_mirror(monkeypatch):
    """The real MNIST mirror (the original archives)."""
    return _mirror_with("MNIST/raw", monkeypatch)


@pytest.fixture
def cifar10_mirror(monkeypatch):
    """The real CIFAR-10 mirror (PNG class folders)."""
    return _mirror_with("cifar10/train", monkeypatch)


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("shared_cache")


@pytest.fixture
def shared_cache(_session_cache, monkeypatch):
    """A COURSE_DATA cache kept for the whole test session (CIFAR-10 is decoded once, not per test)."""
    monkeypatch.setenv("COURSE_DATA", str(_session_cache))
    return _session_cache
