"""Notebook 09's pretrained models: `python -m course_utils.pretrain mnist_flow mnist_diffusion mnist_flow_matching`.

Each trains on MNIST train images 0-54,999 (the validation split, the last 5,000, stays unseen) with its recipe in
course_utils.recipes, is rounded to float16 (the committed file; its numbers are measured after the rounding) and is
measured on the MNIST test set: the flow's exact bound in bits/dim (one uniform dequantisation draw per test image,
seed 0, notebook 02's protocol for the mixture), and for every model 10,000 samples in the course's classifier
features and under both readers (sample_quality.mnist_evaluator), with the seconds to draw 1,000 of them.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch
from torch import Tensor, nn

from .budget import seed_everything, to_cpu_float64
from .checkpoints import hardware, register_pretrained, round_to_half
from .recipes import DIFFUSION_T, MNIST_DIFFUSION, MNIST_FLOW, MNIST_FLOW_MATCHING, TABLE_SAMPLERS

SAMPLE_SEED = 1  # the noise of the table's samples (as for the GAN and the mixture)


def training_images() -> Tensor:
    """MNIST train images 0-54,999, uint8 (n, 1, 28, 28)."""
    from .data import mnist_train_validation

    return mnist_train_validation()["train_x"]


@torch.no_grad()
def flow_test_bits_per_dim(flow: nn.Module, images: Tensor | None = None, seed: int = 0, batch: int = 500) -> float:
    """The flow's bound on -log P of the 8-bit MNIST test images in bits/dim: one uniform dequantisation draw per
    image from `seed`, exactly as notebook 02 measures the mixture."""
    from .data import mnist_tensors
    from .metrics import bits_per_dim, dequantise, discrete_nll_nats

    images = mnist_tensors(train=False)[0] if images is None else images
    x = dequantise(images, torch.Generator().manual_seed(seed)).float().reshape(images.shape)
    device = next(flow.parameters()).device
    flow.eval()
    nll = torch.cat([discrete_nll_nats(to_cpu_float64(flow.log_prob(chunk.to(device))), 784) for chunk in x.split(batch)])
    return bits_per_dim(nll.mean().item(), 784)


@torch.no_grad()
def sample_images(name: str, net: nn.Module, n: int, seed: int = SAMPLE_SEED, batch: int = 1000,
                  **sampler) -> Tensor:
    """n images in [-1, 1] (n, 1, 28, 28) on the CPU from one of notebook 09's models: the flow (temperature 1),
    or a denoiser with its table sampler unless `sampler` says otherwise (sampler="ddpm" | "ddim" | "ode", steps,
    method)."""
    from .models.diffusion import NoiseSchedule, ddim_sample, ddpm_sample, ode_sample

    generator = torch.Generator().manual_seed(seed)
    device = next(net.parameters()).device
    net.eval()
    schedule = NoiseSchedule(DIFFUSION_T)
    chunks = []
    for start in range(0, n, batch):
        size = min(batch, n - start)
        if name == "mnist_flow":
            chunks.append(net.sample(size, generator=generator).cpu() * 2 - 1)
            continue
        settings = {**TABLE_SAMPLERS[name], **sampler}
        kind, steps = settings["sampler"], settings["steps"]
        shape = (size, 1, 28, 28)
        if kind == "ddpm":
            x = ddpm_sample(net, shape, schedule, generator=generator, device=device)
        elif kind == "ddim":
            x = ddim_sample(net, shape, schedule, steps, generator=generator, device=device)
        else:
            x = ode_sample(net, shape, steps, settings.get("method", "heun"), generator=generator, device=device)
        chunks.append(x.cpu().clamp(-1, 1))
    return torch.cat(chunks)


def fit(name: str, seed: int = 0, steps: int | None = None, device: torch.device | str = "cpu",
        progress: bool = True):
    """Train notebook 09's model `name` with its recipe (or `steps` of it); return the trainer (the network in
    trainer.net, the average already copied in) and the seconds."""
    from dataclasses import replace

    from .data import image_sampler
    from .models.diffusion import NoiseSchedule, UNet
    from .models.flows import ImageFlow
    from .train_flows_diffusion import (ObjectiveTrainer, diffusion_objective, flow_matching_objective,
                                        flow_objective)

    seed_everything(seed)
    recipe = {"mnist_flow": MNIST_FLOW, "mnist_diffusion": MNIST_DIFFUSION,
              "mnist_flow_matching": MNIST_FLOW_MATCHING}[name]
    cfg = recipe.train if steps is None else replace(recipe.train, steps=steps)
    images = training_images()
    generator = torch.Generator().manual_seed(seed)
    if name == "mnist_flow":
        net = ImageFlow(recipe.model)
        objective = flow_objective(net, generator)
        uint8 = images.to(device)

        def sample_batch(n: int) -> Tensor:  # the flow dequantises uint8 images itself
            return uint8[torch.randint(len(uint8), (n,), generator=generator).to(uint8.device)]
    else:
        net = UNet(recipe.model)
        objective = (diffusion_objective(net, NoiseSchedule(DIFFUSION_T), generator) if name == "mnist_diffusion"
                     else flow_matching_objective(net, generator))
        sample_batch = image_sampler(images, device, generator=generator)
    trainer = ObjectiveTrainer(net, objective, sample_batch, cfg, device, description=f"training {name}")
    start = time.perf_counter()
    trainer.train(progress=progress)
    seconds = time.perf_counter() - start
    trainer.use_average()
    return trainer, seconds


def pretrain(name: str, seed: int = 0) -> None:
    """Train, round to float16, measure and register `name` (mnist_flow, mnist_diffusion or mnist_flow_matching)."""
    from .sample_quality import mnist_evaluator

    trainer, seconds = fit(name, seed)
    net = trainer.net.eval()
    round_to_half({"net": net})  # the committed file is float16: measure what is committed
    metrics = {}
    if name == "mnist_flow":
        metrics["bits_per_dim"] = round(flow_test_bits_per_dim(net), 4)
    start = time.perf_counter()
    sample_images(name, net, 1000, seed=SAMPLE_SEED + 100)
    metrics["seconds_per_1000_samples"] = round(time.perf_counter() - start, 2)
    report = mnist_evaluator().evaluate(sample_images(name, net, 10_000))
    metrics.update({key: round(value, 5) if isinstance(value, float) else value for key, value in report.items()})
    sampler = "z ~ N(0, I) through the inverse flow (temperature 1)" if name == "mnist_flow" else str(TABLE_SAMPLERS[name])
    entry = {
        "model": f"course_utils.models.{'flows.ImageFlow' if name == 'mnist_flow' else 'diffusion.UNet'}",
        "config": net.config_dict(), "train_config": asdict(trainer.cfg), "precision": trainer.precision.name,
        "data": "MNIST train images 0-54,999 (uint8; the flow dequantises them, the denoisers scale them to [-1, 1])",
        "seed": seed, "command": f"python -m course_utils.pretrain {name}", "budget": "full", "hardware": hardware(),
        "threads": torch.get_num_threads(), "seconds": round(seconds, 1), "sampler": sampler,
        "evaluation": ("bits_per_dim: -log P bound of the 10,000 8-bit MNIST test images, one uniform dequantisation "
                       "draw per image (seed 0), as notebook 02's mixture; " if name == "mnist_flow" else "")
                      + f"samples: 10,000 (noise seed {SAMPLE_SEED}) vs the 10,000 MNIST test images in the "
                        "classifier's features, both readers' class histograms; precision/recall on 5,000 of each "
                        "(k=3); NDB: 5,000 samples, 50 k-means cells; seconds_per_1000_samples: one draw of 1,000 "
                        "on this machine",
        "metrics": metrics,
        "history": {key: values[::5] for key, values in trainer.history.items()},
    }
    record = register_pretrained(name, {"net": net}, entry, dtype=torch.float16)
    print(f"{name}: {metrics} in {seconds:.0f} s of training -> {record['file']} ({record['sha256'][:12]}...)")


PRETRAINERS = {name: (lambda name=name: pretrain(name)) for name in ("mnist_flow", "mnist_diffusion",
                                                                       "mnist_flow_matching")}


# ----------------------------------------------------------------------------- recorded comparisons (RECORDINGS.json)

SWEEP_SAMPLES = 200  # per setting: KID is unbiased at any size, and the DDPM chain (1,000 calls) stays affordable
SWEEP_SEED = 11
SWEEP = {  # setting -> (model, sampler settings)
    "DDPM, 1000 steps": ("mnist_diffusion", {"sampler": "ddpm", "steps": DIFFUSION_T}),
    "DDIM, 50 steps": ("mnist_diffusion", {"sampler": "ddim", "steps": 50}),
    "DDIM, 20 steps": ("mnist_diffusion", {"sampler": "ddim", "steps": 20}),
    "DDIM, 10 steps": ("mnist_diffusion", {"sampler": "ddim", "steps": 10}),
    "DDIM, 5 steps": ("mnist_diffusion", {"sampler": "ddim", "steps": 5}),
    "FM, Heun 20 steps": ("mnist_flow_matching", {"sampler": "ode", "steps": 20, "method": "heun"}),
    "FM, Heun 10 steps": ("mnist_flow_matching", {"sampler": "ode", "steps": 10, "method": "heun"}),
    "FM, Euler 20 steps": ("mnist_flow_matching", {"sampler": "ode", "steps": 20, "method": "euler"}),
    "FM, Euler 10 steps": ("mnist_flow_matching", {"sampler": "ode", "steps": 10, "method": "euler"}),
    "FM, Euler 5 steps": ("mnist_flow_matching", {"sampler": "ode", "steps": 5, "method": "euler"}),
}


def network_calls(settings: dict) -> int:
    """Network evaluations per image of a sampler setting (Heun: two per step but the last)."""
    if settings["sampler"] == "ode" and settings.get("method", "heun") == "heun":
        return 2 * settings["steps"] - 1
    return settings["steps"]


def record_sampler_sweep() -> None:
    """Quality against network calls and seconds for the two pretrained denoisers (SWEEP), on SWEEP_SAMPLES samples
    of noise seed SWEEP_SEED each, into RECORDINGS.json as mnist_sampler_sweep."""
    from .checkpoints import RECORDINGS, pretrained, write_index_entry
    from .sample_quality import mnist_evaluator

    evaluator = mnist_evaluator()
    nets = {name: pretrained(name) for name in ("mnist_diffusion", "mnist_flow_matching")}
    rows = {}
    for label, (name, settings) in SWEEP.items():
        start = time.perf_counter()
        images = sample_images(name, nets[name], SWEEP_SAMPLES, seed=SWEEP_SEED, batch=SWEEP_SAMPLES, **settings)
        seconds = time.perf_counter() - start
        report = evaluator.evaluate(images)
        rows[label] = {"model": name, **settings, "calls": network_calls(settings),
                       "seconds_per_1000": round(seconds * 1000 / SWEEP_SAMPLES, 2),
                       **{key: round(value, 5) if isinstance(value, float) else value for key, value in report.items()
                          if key in ("fd_classifier", "kid_classifier", "coverage_classes", "coverage_classes_reader2",
                                     "precision", "recall")}}
        print(label, rows[label])
    write_index_entry("mnist_sampler_sweep", {
        "command": "python -m course_utils.pretrain mnist_sampler_sweep", "hardware": hardware(),
        "threads": torch.get_num_threads(), "samples": SWEEP_SAMPLES, "seed": SWEEP_SEED,
        "evaluation": f"{SWEEP_SAMPLES} samples per setting vs the 10,000 MNIST test images in the classifier's "
                      "features (fd_classifier biased upwards at this size; kid_classifier unbiased), both readers' "
                      "class coverage; seconds: drawing the samples on this machine, per 1,000",
        "rows": rows}, index=RECORDINGS)


LIKELIHOOD_NOTES = {
    "GMM (notebook 02)": "exact: the mixture's density of the dequantised test images (a bound on the 8-bit images)",
    "MLP GAN (notebook 03)": "none: a GAN has no density",
    "VAE (notebook 05)": "a bound on BINARISED MNIST (89.45 nats by importance sampling, K = 1000): another data "
                         "set, not comparable",
    "flow (notebook 09)": "exact: the flow's density of the dequantised test images (a bound on the 8-bit images)",
    "DDPM (DDIM 20)": "a bound exists (the ELBO of Ho et al. 2020); not computed here",
    "flow matching (Heun 10)": "exact in principle (the ODE's divergence along the path, Chen et al. 2018); not "
                               "computed here",
}


def record_model_table() -> None:
    """The course's MNIST models on one table, into RECORDINGS.json as mnist_model_table: the metrics of 10,000
    samples (noise seed 1) as each model's manifest records them (the VAE's, which the manifest lacks, measured
    here the way notebook 05 does: pixel means of the decoder), and seconds to draw 1,000 measured here."""
    from .checkpoints import RECORDINGS, pretrained, read_manifest, write_index_entry
    from .sample_quality import generator_images, gmm_images, mnist_evaluator

    manifest = read_manifest()
    gmm, gan, vae = pretrained("mnist_gmm"), pretrained("mnist_gan"), pretrained("mnist_vae")
    nets = {name: pretrained(name) for name in ("mnist_flow", "mnist_diffusion", "mnist_flow_matching")}

    @torch.no_grad()
    def vae_images(n: int, seed: int = 1) -> Tensor:
        z = vae.sample_z(n, generator=torch.Generator().manual_seed(seed))
        return torch.sigmoid(vae.decoder(z)) * 2 - 1  # pixel means, in [-1, 1] (notebook 05)

    draws = {"GMM (notebook 02)": ("mnist_gmm", lambda n: gmm_images(gmm, n)),
             "MLP GAN (notebook 03)": ("mnist_gan", lambda n: generator_images(gan, n)),
             "VAE (notebook 05)": ("mnist_vae", vae_images),
             "flow (notebook 09)": ("mnist_flow", lambda n: sample_images("mnist_flow", nets["mnist_flow"], n)),
             "DDPM (DDIM 20)": ("mnist_diffusion", lambda n: sample_images("mnist_diffusion", nets["mnist_diffusion"], n)),
             "flow matching (Heun 10)": ("mnist_flow_matching",
                                         lambda n: sample_images("mnist_flow_matching", nets["mnist_flow_matching"], n))}
    keys = ("fd_classifier", "kid_classifier", "precision", "recall", "coverage_classes", "coverage_classes_reader2",
            "class_histogram", "class_histogram_reader2")
    rows = {}
    for label, (name, draw) in draws.items():
        start = time.perf_counter()
        draw(1000)
        seconds = time.perf_counter() - start
        metrics = manifest[name].get("metrics", {})
        if "fd_classifier" not in metrics:
            report = mnist_evaluator().evaluate(draw(10_000))
            metrics = {key: round(value, 5) if isinstance(value, float) else value for key, value in report.items()}
        bits = metrics.get("bits_per_dim")
        rows[label] = {"weights": name, "likelihood": f"{bits:.3f}" if bits is not None else "-",
                       "likelihood_note": LIKELIHOOD_NOTES[label], "seconds_per_1000": round(seconds, 3),
                       **{key: metrics[key] for key in keys if key in metrics}}
        print(label, {key: rows[label][key] for key in ("likelihood", "fd_classifier", "seconds_per_1000")})
    write_index_entry("mnist_model_table", {
        "command": "python -m course_utils.pretrain mnist_model_table", "hardware": hardware(),
        "threads": torch.get_num_threads(),
        "evaluation": "10,000 samples (noise seed 1) vs the 10,000 MNIST test images in the classifier's features, "
                      "from each model's manifest entry (the VAE's measured by this command: decoder pixel means "
                      "of z ~ N(0, I), as notebook 05); seconds_per_1000: one draw of 1,000 on this machine",
        "rows": rows}, index=RECORDINGS)


PRETRAINERS["mnist_sampler_sweep"] = record_sampler_sweep  # recordings, not weights
PRETRAINERS["mnist_model_table"] = record_model_table


DENOISING_DEMO = "denoising_demo"  # notebooks/demos.ipynb's recorded paths (RECORDINGS.json)


def record_denoising_demo(seed: int = 0, points: int = 500, digits: int = 9) -> None:
    """The denoising demo's frames, recorded so that it shows at once (notebooks/demos.ipynb): a 2-D DDPM on two
    moons trained as notebook 09 trains it at the full budget (5,000 steps), its 1,000-step chain for `points`
    points (every 20th step); the committed mnist_diffusion's chain for `digits` digits (every 40th step, uint8); a
    2-D flow on two moons (3,000 steps) and its grid pushed back coupling by coupling. About 300 KB."""
    import numpy as np

    from .checkpoints import RECORDINGS, pretrained, pretrained_dir, sha256sum, write_index_entry
    from .data import two_moons
    from .models.diffusion import NoiseSchedule, PointDenoiser, ddpm_sample
    from .models.flows import Flow2d
    from .plots_generative import grid_lines, warp_stages
    from .train_flows_diffusion import ObjectiveTrainConfig, ObjectiveTrainer, diffusion_objective

    torch.set_num_threads(1)
    start = time.perf_counter()
    schedule = NoiseSchedule(DIFFUSION_T)
    moons = lambda n, g: two_moons(n, generator=g)  # noqa: E731
    seed_everything(seed)
    net, g = PointDenoiser(), torch.Generator().manual_seed(seed)
    cfg = ObjectiveTrainConfig(steps=5000, batch_size=256, lr=2e-3, log_every=50, ema_decay=0.99)
    trainer = ObjectiveTrainer(net, diffusion_objective(net, schedule, g), lambda n: moons(n, g), cfg, "cpu",
                               description="2-D DDPM")
    trainer.train()
    trainer.use_average()
    seed_everything(seed)
    flow, g = Flow2d(), torch.Generator().manual_seed(seed)
    flow_cfg = ObjectiveTrainConfig(steps=3000, batch_size=256, lr=2e-3, log_every=50)
    ObjectiveTrainer(flow, lambda x: -flow.log_prob(x).mean(), lambda n: moons(n, g), flow_cfg, "cpu",
                     description="2-D flow").train()
    cloud, digit_frames = [], []
    with torch.no_grad():
        ddpm_sample(net.eval(), (points, 2), schedule, torch.Generator().manual_seed(5), trajectory=cloud,
                    keep_every=20)
        ddpm_sample(pretrained("mnist_diffusion", verbose=False), (digits, 1, 28, 28), schedule,
                    torch.Generator().manual_seed(4), trajectory=digit_frames, keep_every=40)
        stages = warp_stages(flow.eval(), grid_lines(points=80))  # 80 points a line draw smooth curves
    seconds = time.perf_counter() - start
    to_uint8 = lambda x: ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()  # noqa: E731
    path = pretrained_dir() / f"{DENOISING_DEMO}.npz"
    np.savez_compressed(path, cloud_t=np.array([t for t, _ in cloud]),
                        cloud=np.stack([x.numpy() for _, x in cloud]).astype(np.float16),
                        digits_t=np.array([t for t, _ in digit_frames]),
                        digits=np.stack([to_uint8(x) for _, x in digit_frames]),
                        data=two_moons(1000, generator=torch.Generator().manual_seed(99)).numpy().astype(np.float16),
                        warp=np.stack([s.numpy() for s in stages]).astype(np.float16))
    write_index_entry(DENOISING_DEMO, {
        "file": path.name, "sha256": sha256sum(path),
        "what": "the denoising demo's recorded paths: 2-D DDPM chain (cloud, float16), mnist_diffusion's chain "
                "(digits, uint8 levels of [-1, 1]), two-moons data, a 2-D flow's grid stages (float16)",
        "train_config": {"ddpm_2d": asdict(cfg), "flow_2d": asdict(flow_cfg)}, "precision": trainer.precision.name,
        "seed": seed,
        "command": "python -m course_utils.pretrain denoising_demo", "hardware": hardware(), "threads": 1,
        "seconds": round(seconds, 1)}, index=RECORDINGS)
    print(f"denoising_demo: {len(cloud)} cloud frames, {len(digit_frames)} digit frames in {seconds:.0f} s -> {path}")


def load_denoising_demo():
    """The recorded frames as DenoisingDemo's arguments: (cloud_frames, digit_frames, data_points, warp)."""
    import numpy as np

    from .checkpoints import recording_file

    with np.load(recording_file(DENOISING_DEMO), allow_pickle=False) as a:
        cloud = [(int(t), torch.from_numpy(x.astype(np.float32))) for t, x in zip(a["cloud_t"], a["cloud"])]
        digits = [(int(t), torch.from_numpy(x.astype(np.float32)) / 127.5 - 1) for t, x in zip(a["digits_t"], a["digits"])]
        return cloud, digits, torch.from_numpy(a["data"].astype(np.float32)), \
            [torch.from_numpy(s.astype(np.float32)) for s in a["warp"]]


PRETRAINERS[DENOISING_DEMO] = record_denoising_demo  # a recording for a widget
