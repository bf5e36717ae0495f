"""Notebook 08's pretrained models: ``python -m course_utils.pretrain mnist_infogan shapes_reader shapes``.

- `mnist_infogan`: InfoGAN on MNIST (recipes.MNIST_INFOGAN), measured by `disentanglement.infogan_digit_report`.
- `shapes_reader`: the reader whose features measure the quality of generated shapes.
- `shapes_{infogan,infogan_cr,beta_vae}_s{seed}`: the three models of the shapes table, one per seed of
  recipes.SHAPES_SEEDS, each scored by the FactorVAE metric, the MIG and the Frechet distance in the reader's
  features, recorded in RECORDINGS.json; seed 0's networks are committed too (float16). `shapes` trains all of them.

The recipes were chosen on validation draws (probes scored with noise or metric seed 1); the numbers recorded here
use other seeds (SHAPES_METRIC_SEED, MNIST_INFOGAN_REPORT_SEED), which no choice looked at.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch

from . import disentanglement as dis
from .budget import seed_everything
from .checkpoints import (RECORDINGS, hardware, pretrained, register_pretrained, round_to_half, save_checkpoint,
                          write_index_entry)
from .data import data_root, shapes
from .data.loading import image_sampler, to_signed_unit
from .recipes import (MNIST_INFOGAN, MNIST_INFOGAN_INFORMATION, SHAPES_BETA_VAE, SHAPES_CONTRASTIVE,
                      SHAPES_DATA_SEED, SHAPES_INFOGAN, SHAPES_INFORMATION, SHAPES_READER, SHAPES_SEEDS,
                      SHAPES_TRAIN_IMAGES)

MNIST_INFOGAN_REPORT_SEED = 2  # noise seed of the recorded report (the recipe was chosen on seed 1)
SHAPES_METRIC_SEED = 2  # factors of the recorded scores (the probes that chose the recipes used seed 1)
SHAPES_KINDS = ("infogan", "infogan_cr", "beta_vae")
COMMITTED_SEED = 0  # the seed whose networks are committed; the other seeds' numbers are in RECORDINGS.json
SHAPES_READER_SEEDS = {"train": 200, "held_out": 201, "real": 202}  # data seeds of the reader and of FD's real set


def pretrain_mnist_infogan(seed: int = 0) -> None:
    """InfoGAN on MNIST at the recipe's budget, with the codes measured against both readers."""
    from .data import mnist_tensors
    from .models.infogan import Discriminator, Generator
    from .sample_quality import load_classifier
    from .train_infogan import InfoGANTrainer

    seed_everything(seed)
    G, D = Generator(MNIST_INFOGAN.model), Discriminator(MNIST_INFOGAN.model)
    trainer = InfoGANTrainer(G, D, image_sampler(mnist_tensors(train=True)[0], "cpu"), MNIST_INFOGAN.train, "cpu",
                             MNIST_INFOGAN_INFORMATION)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    round_to_half({"G": G, "D": D})  # the committed file is float16: measure what is committed
    G.eval()
    readers = {"reader 1": load_classifier("cpu"), "reader 2": load_classifier("cpu", name="mnist_classifier2")}
    report = dis.infogan_digit_report(G, readers, seed=MNIST_INFOGAN_REPORT_SEED)
    record = register_pretrained("mnist_infogan", {"G": G, "D": D}, {
        "model": "course_utils.models.infogan.Generator+Discriminator", "config": G.config_dict(),
        "train_config": asdict(MNIST_INFOGAN.train), "information": asdict(MNIST_INFOGAN_INFORMATION),
        "precision": trainer.precision.name,
        "data": "MNIST train (60,000), pixels in [-1, 1]", "seed": seed,
        "command": "python -m course_utils.pretrain mnist_infogan", "budget": "full", "hardware": hardware(),
        "threads": torch.get_num_threads(), "seconds": round(seconds, 1),
        "evaluation": f"disentanglement.infogan_digit_report: 10,000 samples, noise seed {MNIST_INFOGAN_REPORT_SEED} "
                      "(the recipe was chosen on seed 1); readers mnist_classifier and mnist_classifier2",
        "history": {key: values[::40] for key, values in trainer.history.items()}, "metrics": report},
        dtype=torch.float16)
    print(f"mnist_infogan: {report} in {seconds:.0f} s -> {record['file']}")


def pretrain_shapes_reader(seed: int = 0) -> None:
    """The reader of 32x32 shapes whose features measure generated shapes (notebook 08)."""
    from .models.classifiers import ShapesReader

    seed_everything(seed)
    images, factors = shapes.sample_shapes(SHAPES_TRAIN_IMAGES, seed=SHAPES_READER_SEEDS["train"])
    reader = ShapesReader(SHAPES_READER.model)
    start = time.perf_counter()
    losses = dis.train_shapes_reader(reader, images, factors, seed=seed, **SHAPES_READER.train)
    seconds = time.perf_counter() - start
    held_out, held_factors = shapes.sample_shapes(10_000, seed=SHAPES_READER_SEEDS["held_out"])
    metrics = {"accuracy": dis.reader_accuracy(reader, held_out, held_factors), "train_loss": losses}
    record = register_pretrained("shapes_reader", {"reader": reader}, {
        "model": "course_utils.models.classifiers.ShapesReader", "config": reader.config_dict(),
        "train_config": dict(SHAPES_READER.train),
        "data": f"{SHAPES_TRAIN_IMAGES:,} shapes, data seed {SHAPES_READER_SEEDS['train']}", "seed": seed,
        "command": "python -m course_utils.pretrain shapes_reader", "budget": "full", "hardware": hardware(),
        "threads": torch.get_num_threads(), "seconds": round(seconds, 1),
        "evaluation": f"accuracy per factor on 10,000 held-out shapes (data seed {SHAPES_READER_SEEDS['held_out']})",
        "metrics": metrics})
    print(f"shapes_reader: {metrics} in {seconds:.0f} s -> {record['file']}")


def shapes_networks(kind: str) -> dict[str, torch.nn.Module]:
    """Fresh networks of one kind of the shapes table, by checkpoint key."""
    from .models.infogan import ContrastiveHead, Discriminator, Generator
    from .models.vae import VAE

    if kind == "beta_vae":
        return {"vae": VAE(SHAPES_BETA_VAE.model)}
    if kind in ("infogan", "infogan_cr"):
        cfg = SHAPES_INFOGAN.model
        return {"G": Generator(cfg), "D": Discriminator(cfg), "H": ContrastiveHead(cfg)}
    raise ValueError(f"the shapes table has the kinds {SHAPES_KINDS}, not {kind!r}")


def pretrained_shapes_model(kind: str, seed: int = COMMITTED_SEED, verbose: bool = True) -> dict[str, torch.nn.Module]:
    """The committed networks of one kind of the shapes table, under the keys shapes_samples and score_shapes_model
    read ("G" and "D", or "vae")."""
    loaded = pretrained(f"shapes_{kind}_s{seed}", verbose=verbose)
    return {"vae": loaded} if kind == "beta_vae" else {"G": loaded.G, "D": loaded.D}


def shapes_representation(kind: str, networks: dict[str, torch.nn.Module]):
    """The code a model gives a real uint8 shape: Q's means (InfoGANs) or the encoder's means (beta-VAE)."""
    if kind == "beta_vae":
        return lambda images: networks["vae"].encode(images.float() / 255)[0]
    return lambda images: networks["D"].read_codes(to_signed_unit(images)).mean


@torch.no_grad()
def shapes_samples(kind: str, networks: dict[str, torch.nn.Module], n: int, seed: int) -> torch.Tensor:
    """n samples in [-1, 1]: G's images, or the beta-VAE decoder's pixel probabilities for prior draws."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "beta_vae":
        vae = networks["vae"].eval()
        z = torch.randn(n, vae.cfg.latent, generator=generator)
        return torch.cat([torch.sigmoid(vae.decoder(chunk)) * 2 - 1 for chunk in z.split(2000)])
    G = networks["G"].eval()
    return torch.cat([G(G.sample_z(min(2000, n - start), generator=generator)) for start in range(0, n, 2000)])


@torch.no_grad()
def score_shapes_model(kind: str, networks: dict[str, torch.nn.Module], reader: torch.nn.Module,
                       seed: int = SHAPES_METRIC_SEED, votes: int = 800, samples: int = 10_000) -> dict:
    """FactorVAE metric, MIG and the Frechet distance of samples to real shapes in the reader's features."""
    for module in networks.values():
        module.eval()
    encode = shapes_representation(kind, networks)
    spec = shapes.ShapesSpec()

    def represent(factors: torch.Tensor) -> torch.Tensor:
        return torch.cat([encode(shapes.render(chunk, spec)) for chunk in factors.split(2000)])

    factors = shapes.random_factors(samples, spec, torch.Generator().manual_seed(seed))
    mig = dis.mutual_information_gap(represent(factors), factors)
    factor_vae = dis.factor_vae_score(represent, spec.factor_sizes, train_votes=votes, eval_votes=votes, seed=seed)
    real = to_signed_unit(shapes.sample_shapes(samples, seed=SHAPES_READER_SEEDS["real"])[0])
    frechet = dis.shapes_frechet_distance(reader, shapes_samples(kind, networks, samples, seed), real)
    return {"factor_vae": factor_vae["score"], "mig": mig["mig"], "mig_per_factor": mig["per_factor"],
            "dimension_factor": factor_vae["dimension_factor"].tolist(), "frechet": frechet,
            "metric_seed": seed, "votes": votes, "samples": samples}


def train_shapes_model(kind: str, seed: int, networks: dict[str, torch.nn.Module], images: torch.Tensor,
                       steps: int | None = None, progress: bool = True):
    """Train one model of the shapes table in place (steps: None for the recipe's); return its trainer."""
    from dataclasses import replace

    from .train_infogan import InfoGANCRTrainer
    from .train_vae import VAETrainer

    seed_everything(seed)
    if kind == "beta_vae":
        cfg = SHAPES_BETA_VAE.train
        trainer = VAETrainer(networks["vae"], images, cfg, "cpu", seed=seed)
    else:
        cfg = SHAPES_INFOGAN.train if steps is None else replace(SHAPES_INFOGAN.train, steps=steps)
        contrastive = SHAPES_CONTRASTIVE if kind == "infogan_cr" else replace(SHAPES_CONTRASTIVE, weight=0.0)
        trainer = InfoGANCRTrainer(networks["G"], networks["D"], networks["H"], image_sampler(images, "cpu"), cfg,
                                   "cpu", SHAPES_INFORMATION, contrastive)
    trainer.train(steps if kind == "beta_vae" else None, progress=progress)
    return trainer


def pretrain_shapes_model(kind: str, seed: int) -> None:
    """One model of the shapes table at the recipe's budget, scored and recorded as shapes_{kind}_s{seed} in
    RECORDINGS.json; seed COMMITTED_SEED's networks are also committed (float16, without H, which only trains) and
    registered in the manifest."""
    name = f"shapes_{kind}_s{seed}"
    images, _ = shapes.sample_shapes(SHAPES_TRAIN_IMAGES, seed=SHAPES_DATA_SEED)
    networks = shapes_networks(kind)
    start = time.perf_counter()
    trainer = train_shapes_model(kind, seed, networks, images)
    seconds = time.perf_counter() - start
    # the trained networks are kept before scoring, so an error in the scores does not lose the training
    save_checkpoint(data_root() / "checkpoints" / f"{name}.safetensors", networks, {"seed": seed, "seconds": seconds})
    kept = {key: network for key, network in networks.items() if key != "H"}
    round_to_half(kept)  # the committed files are float16: every seed is scored as it would be committed
    metrics = score_shapes_model(kind, kept, pretrained("shapes_reader"))
    train_config = {**asdict(trainer.cfg), **({"information": asdict(SHAPES_INFORMATION),
                                               "contrastive": asdict(trainer.contrastive)} if kind != "beta_vae"
                                              else {})}
    model = networks.get("G", networks.get("vae"))
    classes = "vae.VAE" if kind == "beta_vae" else "infogan.Generator+Discriminator"
    entry = {
        "model": f"course_utils.models.{classes}",
        "config": model.config_dict(), "train_config": train_config,
        "precision": trainer.precision.name if trainer.precision is not None else "float32",
        "data": f"{SHAPES_TRAIN_IMAGES:,} shapes, data seed {SHAPES_DATA_SEED}", "seed": seed,
        "command": f"python -m course_utils.pretrain {name}", "budget": "full", "hardware": hardware(),
        "threads": torch.get_num_threads(), "seconds": round(seconds, 1),
        "evaluation": f"score_shapes_model on the float16-rounded weights: FactorVAE metric ({metrics['votes']} "
                      f"training and {metrics['votes']} evaluation votes of 64), MIG (10,000 factor draws, 20 bins), "
                      f"Frechet distance of 10,000 samples to 10,000 real shapes in shapes_reader's features; metric "
                      f"seed {SHAPES_METRIC_SEED}",
        "history": {key: values[::60] for key, values in trainer.history.items()}, "metrics": metrics}
    write_index_entry(name, entry, index=RECORDINGS)
    if seed == COMMITTED_SEED:
        register_pretrained(name, kept, entry, dtype=torch.float16)
    print(f"{name}: {metrics} in {seconds:.0f} s")


def pretrain_shapes() -> None:
    """Every model of the shapes table, every seed."""
    for seed in SHAPES_SEEDS:
        for kind in SHAPES_KINDS:
            pretrain_shapes_model(kind, seed)


PRETRAINERS = {"mnist_infogan": pretrain_mnist_infogan, "shapes_reader": pretrain_shapes_reader,
               "shapes": pretrain_shapes,
               **{f"shapes_{kind}_s{seed}": (lambda kind=kind, seed=seed: pretrain_shapes_model(kind, seed))
                  for kind in SHAPES_KINDS for seed in SHAPES_SEEDS}}
