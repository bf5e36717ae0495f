"""Notebook 07's 2-D comparison: runs, the resumable sweep, the summary table and the committed record."""

import json
import math
from dataclasses import asdict, replace

import pytest
import torch

from course_utils import mixtures2d
from course_utils.recipes import MIXTURE_METHODS, MIXTURE_SEEDS, Recipe


def short(method: str, steps: int = 5) -> Recipe:
    recipe = MIXTURE_METHODS[method]
    return Recipe(recipe.model, replace(recipe.train, steps=steps, log_every=1))


def test_wrong_names_list_the_choices():
    with pytest.raises(ValueError, match="R1"):
        mixtures2d.method_recipe("R2")
    with pytest.raises(ValueError, match="grid"):
        mixtures2d.mixture("spiral")


def test_every_method_has_its_own_checkpoint_prefix():
    keys = {mixtures2d._key(method, "grid") for method in MIXTURE_METHODS}
    assert len(keys) == len(MIXTURE_METHODS)
    assert all("." not in key and " " not in key for key in keys)


@pytest.mark.parametrize("method", list(MIXTURE_METHODS))
def test_each_method_trains_and_is_measured(method):
    run = mixtures2d.train_mixture(method, "ring", seed=0, steps=3)
    assert run.steps == 3 and run.report["n_modes"] == 8 and run.report["n_samples"] == 2500
    record = run.numbers()
    assert record["method"] == method and record["dataset"] == "ring" and sum(record["counts"]) <= 2500
    if method == "SN + hinge":
        assert any("parametrizations" in name for name, _ in run.D.named_parameters())


def test_the_same_seed_gives_the_same_evaluation_noise():
    G, _ = mixtures2d.networks("GAN")
    assert torch.equal(mixtures2d.sample(G, seed=1, n=10), mixtures2d.sample(G, seed=1, n=10))
    assert not torch.equal(mixtures2d.sample(G, seed=1, n=10), mixtures2d.sample(G, seed=2, n=10))


def records(values, method="GAN", dataset="grid"):
    return [{"method": method, "dataset": dataset, "seed": seed, "steps": 1, "seconds": 10.0 + seed,
             "modes_covered": modes, "n_modes": 25, "high_quality": hq, "kl_modes": kl, "counts": []}
            for seed, (modes, hq, kl) in enumerate(values)]


def test_summary_is_the_mean_and_standard_error_over_seeds():
    table = mixtures2d.summarise(records([(25, 0.9, 0.1), (23, 0.8, 0.3), (24, 0.7, 0.2)]))
    entry = table["grid", "GAN"]
    assert entry["seeds"] == 3 and entry["max_seconds"] == 12.0
    assert entry["modes_covered"][0] == pytest.approx(24.0)
    assert entry["modes_covered"][1] == pytest.approx(1.0 / math.sqrt(3))  # std 1 over sqrt(3) seeds
    assert entry["high_quality"][0] == pytest.approx(0.8)


def test_a_run_with_no_high_quality_sample_has_no_kl_and_the_table_still_prints(capsys):
    rows = records([(0, 0.0, None), (2, 0.1, 2.0)])
    assert math.isnan(mixtures2d.summarise(rows)["grid", "GAN"]["kl_modes"][0])
    mixtures2d.print_mixture_table(rows, "grid")
    out = capsys.readouterr().out
    assert "GAN" in out and "PacGAN" in out and "17.3" in out  # the anchor row of PacGAN's Table 1


def test_run_record_finds_a_run_or_says_what_is_missing():
    rows = records([(25, 0.9, 0.1)])
    assert mixtures2d.run_record(rows, "GAN", "grid", 0)["modes_covered"] == 25
    with pytest.raises(KeyError, match="seed 4"):
        mixtures2d.run_record(rows, "GAN", "grid", 4)


def test_sweep_keeps_finished_runs_and_retrains_when_the_recipe_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    monkeypatch.setitem(MIXTURE_METHODS, "GAN", short("GAN", steps=4))
    first = mixtures2d.sweep(methods=["GAN"], datasets=("ring",), seeds=(0,), progress=False)
    assert (tmp_path / "mixtures2d" / "ring_gan_s0.safetensors").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")
    monkeypatch.setattr(mixtures2d, "train_mixture", no_training)
    assert mixtures2d.sweep(methods=["GAN"], datasets=("ring",), seeds=(0,), progress=False) == first

    monkeypatch.setitem(MIXTURE_METHODS, "GAN", short("GAN", steps=6))  # a changed recipe is not the same run
    with pytest.raises(AssertionError, match="trained again"):
        mixtures2d.sweep(methods=["GAN"], datasets=("ring",), seeds=(0,), progress=False)


def test_the_comparison_runs_every_method_over_at_least_three_seeds():
    assert len(MIXTURE_SEEDS) >= 3
    assert {"GAN", "WGAN (clip)", "WGAN-GP", "SN + hinge", "R1", "label smoothing", "instance noise",
            "TTUR"} <= set(MIXTURE_METHODS)
    assert MIXTURE_METHODS["WGAN (clip)"].train.clip > 0 and MIXTURE_METHODS["WGAN (clip)"].train.optimizer_d == "rmsprop"
    assert MIXTURE_METHODS["SN + hinge"].model.spectral_norm and MIXTURE_METHODS["SN + hinge"].train.loss == "hinge"


def test_the_committed_comparison_loads_and_matches_the_recipes():
    from course_utils.checkpoints import read_manifest
    from course_utils.recipes import RECIPES

    entry, nets = mixtures2d.load_mixtures2d()  # sha256-verified
    plain = {name: json.loads(json.dumps(asdict(recipe.train))) for name, recipe in MIXTURE_METHODS.items()}
    assert entry["train_config"] == plain
    assert entry["config"] == {name: asdict(recipe.model) for name, recipe in MIXTURE_METHODS.items()}
    assert len(entry["runs"]) == len(MIXTURE_METHODS) * 2 * len(MIXTURE_SEEDS)
    assert "mixtures2d" not in read_manifest() and "mixtures2d" not in RECIPES  # a recording, not one model
    # The committed networks (float16) are the ones that were measured: every seed-0 run evaluated again covers the
    # same modes, and its high-quality share moves by at most 2 of 2,500 samples (rounding moved 0.08 points at most).
    for (dataset, method), (G, _) in nets.items():
        recorded = mixtures2d.run_record(entry["runs"], method, dataset, 0)
        report = mixtures2d.evaluate(G, mixtures2d.mixture(dataset), seed=0)
        assert report["modes_covered"] == recorded["modes_covered"], (dataset, method)
        assert abs(report["high_quality"] - recorded["high_quality"]) <= 2 / 2500 + 1e-9, (dataset, method)
        assert sum(abs(a - b) for a, b in zip(report["counts"], recorded["counts"])) <= 4, (dataset, method)
    assert entry["stored"].startswith("float16") and "unchanged in all 18" in entry["stored"]
