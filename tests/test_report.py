"""The notebooks' shared helpers: metric table, fixed-noise grid hook, nearest training images."""

from types import SimpleNamespace

import pytest
import torch

from course_utils.models import cgan, mlp_gan
from course_utils.report import (FixedNoiseGrid, ManifestMismatchError, compare_with_manifest, metric_table,
                                 nearest_training_images)


def test_metric_table_aligns_names_and_formats():
    rows = {"real": {"fid": 1.23456, "coverage": 10}, "a longer name": {"fid": 20.5, "coverage": 9}}
    lines = metric_table(rows, ["fid", "coverage"]).splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1  # every line as wide
    assert lines[1].startswith("real ") and "1.2346" in lines[1] and lines[1].endswith("10")
    assert lines[0].split() == ["fid", "coverage"]
    custom = metric_table(rows, ["fid"], labels=["FID"], formats={"fid": ".1f"}).splitlines()
    assert custom[0].split() == ["FID"] and custom[2].endswith("20.5")


def test_metric_table_missing_value_and_label_count():
    assert metric_table({"x": {}}, ["fid"]).splitlines()[1].endswith("-")
    with pytest.raises(ValueError, match="2 keys but 1 labels"):
        metric_table({"x": {}}, ["a", "b"], labels=["A"])


def test_fixed_noise_grid_keeps_steps_in_eval_mode_and_restores_training():
    G = mlp_gan.Generator()
    seen_modes = []
    G.register_forward_pre_hook(lambda module, inputs: seen_modes.append(module.training))
    z = G.sample_z(4, generator=torch.Generator().manual_seed(0))
    grid = FixedNoiseGrid(z)
    for step in (10, 20):
        grid(SimpleNamespace(G=G.train(), step=step))
    assert seen_modes == [False, False] and G.training
    assert [step for step, _ in grid.snapshots] == [10, 20] and grid.labels == ["step 10", "step 20"]
    assert grid.images[0].shape == (4, 1, 28, 28)
    assert torch.equal(grid.images[0], grid.images[1])  # same noise, same weights: same images


def test_fixed_noise_grid_with_a_conditional_generator_and_a_selection():
    G = cgan.Generator()
    z, y = torch.randn(20, G.cfg.z_dim), torch.arange(10).repeat_interleave(2)
    grid = FixedNoiseGrid((z, y), keep=slice(None, None, 2))
    grid(SimpleNamespace(G=G, step=1))
    assert grid.images[0].shape == (10, 1, 28, 28)


def test_nearest_training_images_matches_brute_force():
    generator = torch.Generator().manual_seed(0)
    pool, queries = torch.rand(300, 1, 5, 5, generator=generator), torch.rand(17, 1, 5, 5, generator=generator)
    distances, indices = nearest_training_images(queries, pool, k=3, batch_size=4)
    full = torch.cdist(queries.flatten(1), pool.flatten(1))
    assert torch.equal(indices[:, 0], full.argmin(1))
    assert torch.allclose(distances, full.sort(1).values[:, :3], atol=1e-5)
    assert (distances[:, 1:] >= distances[:, :-1]).all()
    own, own_index = nearest_training_images(pool[:5], pool, k=2)
    assert torch.equal(own_index[:, 0], torch.arange(5)) and (own[:, 0] == 0).all()


def test_nearest_training_images_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        nearest_training_images(torch.rand(2, 3, 4, 4), torch.rand(5, 1, 4, 4))
    with pytest.raises(ValueError, match="k = 6"):
        nearest_training_images(torch.rand(2, 1, 4, 4), torch.rand(5, 1, 4, 4), k=6)


def test_compare_with_manifest_passes_within_the_tolerance_and_names_what_differs(capsys):
    entry = {"command": "python -m course_utils.pretrain x", "metrics": {"fd": 9.65904, "ndb": 5}}
    compare_with_manifest(entry, {"fd": 9.65809, "ndb": 5}, {"fd": 0.001, "ndb": 0})
    printed = capsys.readouterr().out
    assert "9.65809" in printed and "9.65904" in printed and "-0.00095" in printed  # here, manifest, difference
    with pytest.raises(ManifestMismatchError, match=r"^fd recomputed here.*`python -m course_utils.pretrain x`"):
        compare_with_manifest(entry, {"fd": 9.65809, "ndb": 5}, {"fd": 0.0009, "ndb": 0})
    with pytest.raises(ManifestMismatchError, match="^ndb recomputed"):
        compare_with_manifest(entry, {"fd": 9.65904, "ndb": 6}, {"fd": 0.0, "ndb": 0})
    with pytest.raises(ManifestMismatchError):  # a NaN is never within a tolerance
        compare_with_manifest(entry, {"fd": float("nan")}, {"fd": 1.0})
    with pytest.raises(KeyError, match=r"no manifest value or no tolerance for \['fid'\]"):
        compare_with_manifest(entry, {"fid": 1.0}, {"fid": 1.0})
    with pytest.raises(KeyError, match=r"\['ndb'\]"):
        compare_with_manifest(entry, {"ndb": 5}, {})
