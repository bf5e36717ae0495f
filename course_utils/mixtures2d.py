"""Notebook 07's measured comparison: every method of recipes.MIXTURE_METHODS on the 2-D ring and grid.

`train_mixture(method, dataset, seed)` is one run on the engine, measured with `mode_report` on
PACGAN_EVAL_SAMPLES fresh samples. `python -m course_utils.pretrain mixtures2d` runs every method
on both mixtures for each of recipes.MIXTURE_SEEDS, keeps each finished run in
<COURSE_DATA>/mixtures2d/ (so an interrupted sweep resumes where it stopped), and commits the
seed-0 networks of every method (mixtures2d.safetensors) plus every run's numbers (its entry in
data/pretrained/RECORDINGS.json, beside the weights' MANIFEST.json).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .budget import seed_everything
from .checkpoints import (RECORDINGS, hardware, load_checkpoint, load_pretrained, manifest_entry, register_pretrained,
                          round_to_half, save_checkpoint)
from .data import GaussianMixture, data_root, grid_2d, ring_2d
from .mode_metrics import PACGAN_EVAL_SAMPLES, PACGAN_TABLE1, mode_report
from .models import gan2d
from .recipes import MIXTURE_METHODS, MIXTURE_SEEDS, Recipe
from .train import GANTrainer

MIXTURES = {"ring": ring_2d, "grid": grid_2d}
PRETRAINED_NAME = "mixtures2d"
EVAL_SEED = 100  # evaluation samples of a run with seed s come from torch.Generator seed EVAL_SEED + s


def mixture(dataset: str) -> GaussianMixture:
    """The course's 2-D mixture by name: 'ring' (8 modes) or 'grid' (25 modes)."""
    if dataset not in MIXTURES:
        raise ValueError(f"unknown 2-D data set {dataset!r}; choose one of {sorted(MIXTURES)}")
    return MIXTURES[dataset]()


def method_recipe(method: str) -> Recipe:
    """The recipe of a method of the comparison; a wrong name lists the names."""
    if method not in MIXTURE_METHODS:
        raise ValueError(f"unknown method {method!r}; the methods are: {', '.join(MIXTURE_METHODS)}")
    return MIXTURE_METHODS[method]


def networks(method: str) -> tuple[nn.Module, nn.Module]:
    """A fresh G and D of `method` (the same MLPs for all; SN + hinge puts spectral norm on D)."""
    model = method_recipe(method).model
    return gan2d.Generator(model), gan2d.Discriminator(model)


@torch.no_grad()
def sample(G: nn.Module, seed: int = 0, n: int = PACGAN_EVAL_SAMPLES) -> torch.Tensor:
    """n samples of G from noise seed EVAL_SEED + seed: the same z for every method with that seed."""
    G.eval()
    return G(G.sample_z(n, generator=torch.Generator().manual_seed(EVAL_SEED + seed)))


def evaluate(G: nn.Module, data: GaussianMixture, seed: int = 0, n: int = PACGAN_EVAL_SAMPLES) -> dict:
    """mode_report of `sample(G, seed, n)` against the mixture `data`."""
    return mode_report(sample(G, seed, n), data)


def run_record(records: list[dict], method: str, dataset: str, seed: int = 0) -> dict:
    """The record of one run of the comparison; a missing one names what there is."""
    for record in records:
        if (record["method"], record["dataset"], record["seed"]) == (method, dataset, seed):
            return record
    raise KeyError(f"no run of {method!r} on {dataset!r} with seed {seed} among the {len(records)} records")


@dataclass
class MixtureRun:
    """One trained run: its networks, its trainer's history and its measured numbers."""

    method: str
    dataset: str
    seed: int
    G: nn.Module
    D: nn.Module
    report: dict
    seconds: float
    steps: int
    history: dict | None = None

    def numbers(self) -> dict:
        """The JSON-able record of the run (what the manifest keeps)."""
        return {"method": self.method, "dataset": self.dataset, "seed": self.seed, "steps": self.steps,
                "seconds": round(self.seconds, 1), "modes_covered": self.report["modes_covered"],
                "n_modes": self.report["n_modes"], "high_quality": round(self.report["high_quality"], 4),
                "kl_modes": None if math.isnan(self.report["kl_modes"]) else round(self.report["kl_modes"], 4),
                "counts": self.report["counts"]}


def train_mixture(method: str, dataset: str, seed: int = 0, steps: int | None = None, hooks=(),
                  progress: bool = False) -> MixtureRun:
    """Train `method` on `dataset` from `seed` with its recipe (`steps` shortens it, the schedule follows)."""
    recipe = method_recipe(method)
    data = mixture(dataset)
    cfg = recipe.train if steps is None else replace(recipe.train, steps=steps)
    seed_everything(seed)
    G, D = networks(method)
    trainer = GANTrainer(G, D, data.sampler("cpu"), cfg, "cpu")
    start = time.perf_counter()
    history = trainer.train(hooks=hooks, progress=progress)
    seconds = time.perf_counter() - start
    return MixtureRun(method, dataset, seed, G, D, evaluate(G, data, seed), seconds, cfg.steps, history)


def summarise(records: list[dict]) -> dict:
    """(dataset, method) -> mean and standard error over seeds of modes, high quality, KL; and seconds."""
    table: dict = {}
    for key in dict.fromkeys((r["dataset"], r["method"]) for r in records):
        rows = [r for r in records if (r["dataset"], r["method"]) == key]
        entry = {"seeds": len(rows), "n_modes": rows[0]["n_modes"], "max_seconds": max(r["seconds"] for r in rows)}
        for field in ("modes_covered", "high_quality", "kl_modes"):
            values = np.array([np.nan if r[field] is None else r[field] for r in rows], dtype=float)
            error = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
            entry[field] = (float(values.mean()), float(error))
        table[key] = entry
    return table


def print_mixture_table(records: list[dict], dataset: str, anchor: bool = True) -> None:
    """The comparison on one mixture: mean +- standard error over seeds, with PacGAN's Table 1 rows below."""
    table = summarise(records)
    rows = [(method, entry) for (name, method), entry in table.items() if name == dataset]
    n_modes = rows[0][1]["n_modes"]
    print(f"{dataset} ({n_modes} modes), mean +- standard error over {rows[0][1]['seeds']} seeds, "
          f"{PACGAN_EVAL_SAMPLES} samples each")
    print(f"{'method':<18}{'modes covered':>16}{'high quality':>16}{'reverse KL':>14}{'max s/run':>11}")
    for method, entry in rows:
        print(_row(method, entry["modes_covered"], entry["high_quality"], entry["kl_modes"])
              + f"{entry['max_seconds']:>9.0f}")
    if anchor:
        print(f"PacGAN, Table 1 (Lin et al. 2018; 10 trials, their networks"
              f"{'; their ring: radius 1, std 0.01' if dataset == 'ring' else ''}):")
        for method, row in PACGAN_TABLE1[dataset].items():
            print(_row(f"  {method}", row["modes"], row["high_quality"], row["reverse_kl"]))


def _row(name: str, modes: tuple, quality: tuple, kl: tuple) -> str:
    """One line of the table: (mean, standard error) of modes covered, high-quality share and reverse KL."""
    return (f"{name:<18}{modes[0]:>9.1f} +- {modes[1]:<4.1f}{100 * quality[0]:>9.1f}% +- {100 * quality[1]:<4.1f}"
            f"{kl[0]:>7.2f} +- {kl[1]:<4.2f}")


# ----------------------------------------------------------------------------- the sweep and its record
def _key(method: str, dataset: str) -> str:
    """A module prefix for the checkpoint: 'grid_sn_hinge_G' style (no dots, no spaces)."""
    slug = "".join(c if c.isalnum() else "_" for c in method.lower()).strip("_")
    while "__" in slug:
        slug = slug.replace("__", "_")
    return f"{dataset}_{slug}"


def _as_json(config) -> dict:
    """A config dataclass as JSON keeps it (tuples become lists), so it compares equal to a stored one."""
    return json.loads(json.dumps(asdict(config)))


def cache_dir() -> Path:
    return data_root() / "mixtures2d"


def sweep(methods=None, datasets=("grid", "ring"), seeds=MIXTURE_SEEDS, progress: bool = True) -> list[dict]:
    """Run (or read back from the cache) every run of the comparison; return their records."""
    methods = list(methods or MIXTURE_METHODS)
    jobs = [(d, m, s) for d in datasets for m in methods for s in seeds]
    records = []
    for dataset, method, seed in tqdm(jobs, desc="2-D runs", disable=not progress):
        stem = cache_dir() / f"{_key(method, dataset)}_s{seed}"
        record_file = stem.with_suffix(".json")
        recipe = method_recipe(method)
        config = {"model": asdict(recipe.model), "train": _as_json(recipe.train)}
        if record_file.is_file():
            cached = json.loads(record_file.read_text())
            if cached.get("config") == config:
                records.append(cached["record"])
                continue
        run = train_mixture(method, dataset, seed)
        record = run.numbers()
        save_checkpoint(stem.with_suffix(".safetensors"), {"G": run.G, "D": run.D}, {"record": record})
        record_file.write_text(json.dumps({"config": config, "record": record, "hardware": hardware(),
                                           "threads": torch.get_num_threads()}))
        records.append(record)
        if progress:
            tqdm.write(f"{dataset} {method} seed {seed}: {record['modes_covered']}/{record['n_modes']} modes, "
                       f"{100 * record['high_quality']:.1f}% high quality, {record['seconds']:.0f} s")
    return records


def pretrain_mixtures2d() -> None:
    """The course's command for the comparison: every run, then the seed-0 networks and all numbers committed."""
    start = time.perf_counter()
    records = sweep()
    nets, modules = seed0_networks()
    for (dataset, method), (G, D) in nets.items():
        load_checkpoint(cache_dir() / f"{_key(method, dataset)}_s0.safetensors", {"G": G, "D": D})
    round_to_half(modules)  # committed in float16 (the tree must fit the GPU machine's 64 MiB); checked below
    threads = {json.loads(path.read_text()).get("threads") for path in cache_dir().glob("*.json")}
    entry = {
        "model": "course_utils.models.gan2d.Generator+Discriminator (seed 0 of every method on each mixture)",
        "config": {method: asdict(recipe.model) for method, recipe in MIXTURE_METHODS.items()},
        "train_config": {method: _as_json(recipe.train) for method, recipe in MIXTURE_METHODS.items()},
        "seeds": list(MIXTURE_SEEDS), "data": {name: repr(make()) for name, make in MIXTURES.items()},
        "evaluation": f"mode_report of {PACGAN_EVAL_SAMPLES} samples, noise seed {EVAL_SEED} + run seed",
        "command": "python -m course_utils.pretrain mixtures2d", "budget": "full",
        "hardware": f"{hardware()}, {'/'.join(str(t) for t in sorted(threads))} thread(s) per run, "
                    "runs sharing the cores with other jobs",
        "seconds": round(sum(r["seconds"] for r in records), 1), "runs": records,
        "stored": float16_check(nets, records),
        "metrics": {f"{d} {m}": {"modes_covered": round(e["modes_covered"][0], 2),
                                 "high_quality": round(e["high_quality"][0], 4)}
                    for (d, m), e in summarise(records).items()},
    }
    record = register_pretrained(PRETRAINED_NAME, modules, entry, dtype=torch.float16, index=RECORDINGS)
    print(f"mixtures2d: {len(records)} runs in {time.perf_counter() - start:.0f} s -> {record['file']}")


def float16_check(nets: dict, records: list[dict]) -> str:
    """Seed 0's networks, rounded to float16, evaluated again: what the rounding changed against the float32 runs'
    records (the figures are drawn from the rounded networks, the table from the records)."""
    changed, largest = [], 0.0
    for (dataset, method), (G, _) in nets.items():
        before, after = run_record(records, method, dataset, 0), evaluate(G, mixture(dataset), seed=0)
        if after["modes_covered"] != before["modes_covered"]:
            changed.append(f"{dataset} {method} {before['modes_covered']} -> {after['modes_covered']}")
        largest = max(largest, abs(after["high_quality"] - before["high_quality"]))
    return (f"float16; seed 0 evaluated again on the rounded networks: modes covered "
            f"{'changed for ' + ', '.join(changed) if changed else f'unchanged in all {len(nets)}'}, "
            f"high-quality share within {100 * largest:.2f} points of the float32 run's")


def seed0_networks() -> tuple[dict, dict]:
    """Fresh networks for the committed file: {(dataset, method): (G, D)}, and the same modules by file prefix."""
    nets, modules = {}, {}
    for dataset in MIXTURES:
        for method in MIXTURE_METHODS:
            G, D = networks(method)
            nets[dataset, method] = (G, D)
            modules[f"{_key(method, dataset)}_G"], modules[f"{_key(method, dataset)}_D"] = G, D
    return nets, modules


def load_mixtures2d() -> tuple[dict, dict]:
    """The committed comparison: its manifest entry and {(dataset, method): (G, D)} of seed 0, in eval mode."""
    entry = manifest_entry(PRETRAINED_NAME, index=RECORDINGS)
    nets, modules = seed0_networks()
    load_pretrained(PRETRAINED_NAME, modules, index=RECORDINGS)
    return entry, {key: (G.eval(), D.eval()) for key, (G, D) in nets.items()}


if __name__ == "__main__":  # python -m course_utils.mixtures2d grid: fill the cache for one mixture
    import sys

    torch.set_num_threads(1)
    sweep(datasets=sys.argv[1:] or ("grid", "ring"))
