"""Produce the committed pretrained weights: ``python -m course_utils.pretrain gan1d``.

Each recipe trains at the full budget, measures its metrics, and `register_pretrained` writes the
weights and their MANIFEST.json entry (sha256, config, command, hardware, seconds, metrics).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

import torch

from .budget import seed_everything
from .checkpoints import hardware, register_pretrained, round_to_half
from .data import gaussian_1d
from .metrics import gan1d_diagnostics
from .mixtures2d import pretrain_mixtures2d
from .pretrain_disentangling import PRETRAINERS as DISENTANGLING
from .pretrain_flows_diffusion import PRETRAINERS as FLOWS_DIFFUSION
from .pretrain_paired import PRETRAINERS as PAIRED
from .models import gan1d
from .precision import choose_precision, cpu_runs_bfloat16_natively
from .recipes import (GAN1D, MNIST_CGAN, MNIST_CGAN_AVERAGE_CANDIDATES, MNIST_CLASSIFIER, MNIST_CLASSIFIER2,
                      MNIST_CLASSIFIER2_EPOCH_CANDIDATES, MNIST_CYCLEGAN, MNIST_CYCLEGAN_EMA_CANDIDATES, MNIST_GAN,
                      MNIST_GMM, MNIST_VAE, MNIST_VAE2D, dcgan_cifar10_recipe)
from .train import GANTrainer


def pretrain_gan1d(seed: int = 0) -> None:
    """The 1-D lecture GAN on gaussian_1d() with recipes.GAN1D (notebook 01)."""
    seed_everything(seed)
    device = torch.device("cpu")  # a 1-D MLP is faster on the CPU than through GPU launches
    p_data = gaussian_1d()
    G, D = gan1d.Generator(GAN1D.model), gan1d.Discriminator(GAN1D.model)
    trainer = GANTrainer(G, D, p_data.sample, GAN1D.train, device)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    metrics = {key: round(value, 5) for key, value in gan1d_diagnostics(G, D, p_data).items()}
    record = register_pretrained("gan1d", {"G": G, "D": D}, {
        "model": "course_utils.models.gan1d.Generator+Discriminator",
        "config": G.config_dict(), "train_config": asdict(GAN1D.train), "precision": trainer.precision.name,
        "data": repr(p_data),
        "seed": seed, "command": "python -m course_utils.pretrain gan1d", "budget": "full", "hardware": hardware(),
        "seconds": round(seconds, 1), "metrics": metrics})
    print(f"gan1d: {metrics} in {seconds:.1f} s -> {record['file']} ({record['sha256'][:12]}...)")


def pretrain_mnist_classifier(seed: int = 0) -> None:
    """The MNIST classifier whose features the sample-quality metrics use (notebooks 02, 03, 05, 06)."""
    from .data import mnist_tensors, to_signed_unit
    from .models.classifiers import MNISTClassifier, accuracy, train_classifier

    seed_everything(seed)
    train_x, train_y = mnist_tensors(train=True)
    test_x, test_y = mnist_tensors(train=False)
    model = MNISTClassifier(MNIST_CLASSIFIER.model)
    epochs = MNIST_CLASSIFIER.train["epochs"]
    start = time.perf_counter()
    losses = train_classifier(model, to_signed_unit(train_x), train_y, epochs=epochs, seed=seed)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, to_signed_unit(test_x), test_y)
    record = register_pretrained("mnist_classifier", {"classifier": model}, {
        "model": "course_utils.models.classifiers.MNISTClassifier", "config": model.config_dict(),
        "train_config": {"epochs": epochs, "batch_size": MNIST_CLASSIFIER.train["batch_size"], "optimizer": "AdamW one-cycle, lr 2e-3",
                         "augmentation": "random shifts of up to 2 pixels", "train_losses": losses},
        "data": "MNIST train (60,000), evaluated on MNIST test (10,000)", "seed": seed,
        "command": "python -m course_utils.pretrain mnist_classifier", "budget": "full",
        "hardware": hardware(), "seconds": round(seconds, 1),
        "metrics": {"test_accuracy": round(test_accuracy, 4)}})
    print(f"mnist_classifier: test accuracy {test_accuracy:.4f} in {seconds:.0f} s -> {record['file']}")


def fit_mnist_classifier2(images, labels, epochs: int, seed: int = 0):
    """Train the second reader (ResidualClassifier with random distortions); return it, the seconds, the losses."""
    from .data import to_signed_unit
    from .models.classifiers import ResidualClassifier, random_distortion, train_classifier

    seed_everything(seed)
    model = ResidualClassifier(MNIST_CLASSIFIER2.model)
    start = time.perf_counter()
    losses = train_classifier(model, to_signed_unit(images), labels, epochs=epochs, augment=random_distortion,
                              seed=seed, **MNIST_CLASSIFIER2.train)
    return model, time.perf_counter() - start, losses


def pretrain_mnist_classifier2(seed: int = 0) -> None:
    """The second reader, of another family than mnist_classifier: one model per candidate number of
    epochs, trained on MNIST train minus the validation split; the best on validation is kept (the
    fewer epochs on a tie) and only it is measured on the test set."""
    from .data import mnist_tensors, mnist_train_validation, to_signed_unit
    from .models.classifiers import accuracy

    split = mnist_train_validation()
    val_x = to_signed_unit(split["val_x"])
    candidates = {}
    for epochs in MNIST_CLASSIFIER2_EPOCH_CANDIDATES:
        model, seconds, losses = fit_mnist_classifier2(split["train_x"], split["train_y"], epochs, seed)
        candidates[epochs] = (round(accuracy(model, val_x, split["val_y"]), 4), model, seconds, losses)
        print(f"mnist_classifier2, {epochs} epochs: validation accuracy {candidates[epochs][0]:.4f} ({seconds:.0f} s)")
    epochs = max(candidates, key=lambda e: (candidates[e][0], -e))
    _, model, seconds, losses = candidates[epochs]
    test_x, test_y = mnist_tensors(train=False)
    model_half = type(model)(model.cfg)  # the weights are committed in fp16: measure them as committed
    model_half.load_state_dict({key: value.half().float() for key, value in model.state_dict().items()})
    test_accuracy = accuracy(model_half, to_signed_unit(test_x), test_y)
    record = register_pretrained("mnist_classifier2", {"classifier": model}, {
        "model": "course_utils.models.classifiers.ResidualClassifier", "config": model.config_dict(),
        "train_config": {**MNIST_CLASSIFIER2.train, "epochs": epochs, "optimizer": "AdamW one-cycle",
                         "augmentation": "per image: rotation +-12 deg, shift +-2.5 px, scale 0.9-1.1, then 2x2 "
                                         "dilation, 2x2 erosion or none (a third each)",
                         "validation_accuracy_by_epochs": {str(e): c[0] for e, c in candidates.items()},
                         "seconds_by_epochs": {str(e): round(c[2], 1) for e, c in candidates.items()},
                         "train_losses": losses},
        "data": "MNIST train: its first 55,000 images to fit, the last 5,000 (data.mnist_train_validation) to "
                "choose the epochs; evaluated on MNIST test (10,000)", "seed": seed,
        "command": "python -m course_utils.pretrain mnist_classifier2", "budget": "full",
        "hardware": hardware(), "seconds": round(sum(c[2] for c in candidates.values()), 1),
        "metrics": {"validation_accuracy": candidates[epochs][0], "test_accuracy": round(test_accuracy, 4)}},
        dtype=torch.float16)
    print(f"mnist_classifier2: {epochs} epochs, test accuracy {test_accuracy:.4f} (fp16 weights) -> {record['file']}")


def fit_mnist_gan(seed: int = 0, steps: int | None = None) -> tuple["torch.nn.Module", float]:
    """Train notebook 03's MLP GAN from scratch with its recipe; return G (eval mode) and the seconds."""
    from dataclasses import replace

    from .data import batch_sampler, mnist_tensors, to_signed_unit
    from .models import mlp_gan

    seed_everything(seed)
    train_x = to_signed_unit(mnist_tensors(train=True)[0])
    G, D = mlp_gan.Generator(MNIST_GAN.model), mlp_gan.Discriminator(MNIST_GAN.model)
    cfg = MNIST_GAN.train if steps is None else replace(MNIST_GAN.train, steps=steps)
    trainer = GANTrainer(G, D, batch_sampler(train_x), cfg, torch.device("cpu"))
    start = time.perf_counter()
    trainer.train()
    return G.eval(), time.perf_counter() - start


def pretrain_mnist_gan(seed: int = 0) -> None:
    """The MLP GAN of notebook 03 at its full budget, measured against MNIST test."""
    from .sample_quality import generator_images, mnist_evaluator

    G, seconds = fit_mnist_gan(seed)
    G.half().float()  # the file stores float16: measure the weights a student loads, not the float32 ones
    report = mnist_evaluator().evaluate(generator_images(G))
    metrics = {key: round(value, 5) if isinstance(value, float) else value for key, value in report.items()}
    record = register_pretrained("mnist_gan", {"G": G}, {
        "model": "course_utils.models.mlp_gan.Generator", "config": G.config_dict(),
        "train_config": asdict(MNIST_GAN.train), "precision": choose_precision("cpu", MNIST_GAN.train.amp).name,
        "data": "MNIST train (60,000), pixels in [-1, 1]",
        "seed": seed, "command": "python -m course_utils.pretrain mnist_gan", "budget": "full",
        "hardware": hardware(), "seconds": round(seconds, 1), "evaluation": EVALUATION, "metrics": metrics},
        dtype=torch.float16)
    print(f"mnist_gan: {metrics} in {seconds:.0f} s -> {record['file']}")


EVALUATION = ("10,000 samples (noise seed 1) vs the 10,000 MNIST test images in the classifier's features; "
              "precision/recall on 5,000 of each (k=3); NDB: 5,000 samples, 50 k-means cells of 10,000 "
              "random training images")


def pretrain_mnist_gmm(seed: int = 0) -> None:
    """The diagonal GMM over MNIST pixels of notebook 02, with its test likelihood and sample metrics."""
    from .data import mnist_tensors
    from .metrics import bits_per_dim, dequantise, discrete_nll_nats
    from .models.gmm import DiagonalGMM
    from .sample_quality import gmm_images, mnist_evaluator

    seed_everything(seed)
    train_u8, test_u8 = mnist_tensors(train=True)[0], mnist_tensors(train=False)[0]
    generator = torch.Generator().manual_seed(seed)
    gmm = DiagonalGMM(**MNIST_GMM.model)
    start = time.perf_counter()
    history = gmm.fit(dequantise(train_u8, generator), iterations=MNIST_GMM.train["max_iterations"], generator=generator, progress=True)
    seconds = time.perf_counter() - start
    test_nll = discrete_nll_nats(gmm.log_prob(dequantise(test_u8, torch.Generator().manual_seed(0))),
                                 28 * 28).mean().item()
    samples = gmm_images(gmm)
    report = mnist_evaluator().evaluate(samples)
    metrics = {"nll_nats": round(test_nll, 2), "bits_per_dim": round(bits_per_dim(test_nll, 28 * 28), 4),
               **{key: round(value, 5) if isinstance(value, float) else value for key, value in report.items()}}
    record = register_pretrained("mnist_gmm", {"gmm": gmm}, {
        "model": "course_utils.models.gmm.DiagonalGMM", "config": gmm.config_dict(),
        "train_config": {"iterations_run": len(history), "max_iterations": MNIST_GMM.train["max_iterations"],
                         "train_log_likelihood": [round(v, 2) for v in history]},
        "data": "MNIST train (60,000), dequantised: (pixel + U(0,1)) / 256", "seed": seed,
        "command": "python -m course_utils.pretrain mnist_gmm", "budget": "full", "hardware": hardware(),
        "seconds": round(seconds, 1),
        "evaluation": "nll_nats: -log P of the 8-bit MNIST test images, bounded with one uniform "
                      "dequantisation draw per image; samples: " + EVALUATION,
        "metrics": metrics}, dtype=torch.float32)
    print(f"mnist_gmm: {metrics} in {seconds:.0f} s -> {record['file']}")


VAE_PROTOCOL = ("MNIST test set (10,000 images) binarised once with torch.bernoulli(pixel / 255) from seed 0; "
                "elbo_nats: mean negative ELBO, one z per image; nll_nats: importance-weighted estimate of "
                "-log p(x) with K = iw_samples samples of q(z | x) per image (Burda et al. 2016)")


def fit_mnist_vae(seed: int = 0, epochs: int | None = None, latent: int | None = None) -> tuple["torch.nn.Module", float, dict]:
    """Train notebook 05's MLP VAE on dynamically binarised MNIST; return it, the seconds, the history."""
    from .data import mnist_tensors
    from dataclasses import replace

    from .models.vae import VAE
    from .train_vae import train_vae

    seed_everything(seed)
    model = VAE(MNIST_VAE.model if latent is None else replace(MNIST_VAE.model, latent=latent))
    cfg = MNIST_VAE.train if epochs is None else replace(MNIST_VAE.train, epochs=epochs)
    start = time.perf_counter()
    history = train_vae(model, mnist_tensors(train=True)[0], cfg, torch.device("cpu"), seed=seed)
    return model, time.perf_counter() - start, history


def evaluate_mnist_vae(model: "torch.nn.Module", samples: int = 1000) -> dict:
    """Test negative ELBO and importance-weighted NLL in nats, by VAE_PROTOCOL."""
    from .data import mnist_tensors
    from .losses import importance_weighted_bound, negative_elbo
    from .train_vae import binarise

    model.eval()
    torch.manual_seed(0)
    x = binarise(mnist_tensors(train=False)[0], torch.Generator().manual_seed(0))
    with torch.no_grad():
        elbo = torch.cat([negative_elbo(logits, chunk, mu, log_var)
                          for chunk in x.split(1000) for logits, mu, log_var in [model(chunk)]]).mean().item()
    nll = -torch.cat([importance_weighted_bound(model, chunk, samples) for chunk in x.split(250)]).mean().item()
    return {"elbo_nats": round(elbo, 2), "nll_nats": round(nll, 2), "iw_samples": samples}


def pretrain_mnist_vae(seed: int = 0, name: str = "mnist_vae", latent: int | None = None,
                       epochs: int | None = None, iw_samples: int = 1000, half: bool = False) -> None:
    """Notebook 05's VAE at its full budget, with its test ELBO and importance-weighted NLL; `half`: the file
    stores float16, and the numbers are measured on the rounded weights."""
    model, seconds, history = fit_mnist_vae(seed, epochs, latent)
    if half:
        round_to_half({"vae": model})
    metrics = evaluate_mnist_vae(model, iw_samples)
    record = register_pretrained(name, {"vae": model}, {
        "model": "course_utils.models.vae.VAE", "config": model.config_dict(),
        "train_config": {"latent": model.cfg.latent, "hidden": model.cfg.hidden, "epochs": len(history["loss"]),
                         "batch_size": 128, "optimizer": "Adam lr 1e-3, cosine to 1e-4",
                         "train_negative_elbo": [round(v, 2) for v in history["loss"]]},
        "data": "MNIST train (60,000), dynamically binarised", "seed": seed,
        "command": f"python -m course_utils.pretrain {name}", "budget": "full", "hardware": hardware(),
        "seconds": round(seconds, 1), "evaluation": VAE_PROTOCOL, "metrics": metrics,
        "stored": "float16, measured after rounding" if half else "float32"},
        dtype=torch.float16 if half else None)
    print(f"{name}: {metrics} in {seconds:.0f} s -> {record['file']}")


def pretrain_mnist_vae2d(seed: int = 0) -> None:
    """The 2-D latent VAE whose code space notebook 05 draws (and its instructor widget decodes)."""
    pretrain_mnist_vae(seed, name="mnist_vae2d", latent=MNIST_VAE2D.model.latent, epochs=MNIST_VAE2D.train.epochs,
                       iw_samples=100, half=True)  # float16: the committed tree must stay within 64 MiB


def fit_dcgan_cifar10(seed: int = 0, device: torch.device | str | None = None, steps: int | None = None,
                      hooks=(), checkpoint_path=None):
    """Train notebook 04's DCGAN on the 50,000 CIFAR-10 training images; return G, D, trainer, seconds.

    The recipe is recipes.dcgan_cifar10_recipe(device): the paper's widths on a GPU, half the widths on a CPU."""
    from dataclasses import replace

    from .budget import get_device
    from .data import cifar10_tensors, image_sampler
    from .models import dcgan

    device = torch.device(device) if device is not None else get_device()
    seed_everything(seed, deterministic=device.type == "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    chosen = dcgan_cifar10_recipe(device)
    cfg, recipe = chosen.model, chosen.train
    recipe = recipe if steps is None else replace(recipe, steps=steps)
    images, _ = cifar10_tensors(train=True)
    G, D = dcgan.Generator(cfg), dcgan.Discriminator(cfg)
    trainer = GANTrainer(G, D, image_sampler(images, device, channels_last=recipe.channels_last), recipe, device,
                         checkpoint_path=checkpoint_path)
    start = time.perf_counter()
    trainer.train(hooks=hooks)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return G.eval(), D.eval(), trainer, time.perf_counter() - start


def pretrain_dcgan_cifar10(seed: int = 0, replace_gpu_weights: bool = False) -> None:
    """Notebook 04's DCGAN, with its FID and KID against the CIFAR-10 training set.

    Without a GPU this trains the CPU recipe; it then leaves GPU-trained weights in place (the
    better generator) unless `replace_gpu_weights` is set."""
    from .budget import get_device
    from .checkpoints import read_manifest
    from .data import data_root

    committed = read_manifest().get("dcgan_cifar10", {})
    if get_device().type != "cuda" and committed.get("device") == "cuda" and not replace_gpu_weights:
        print(f"dcgan_cifar10: skipped. The committed weights were trained on {committed.get('hardware')}; "
              "this machine would train the smaller CPU recipe and replace them. To do so anyway: python -c "
              "'from course_utils.pretrain import pretrain_dcgan_cifar10 as p; p(replace_gpu_weights=True)'")
        return
    G, D, trainer, seconds = fit_dcgan_cifar10(
        seed, checkpoint_path=data_root() / "checkpoints" / "dcgan_cifar10_run.safetensors")
    from .fid import fid_protocol, generator_fid, reference_size  # Inception loads after training
    metrics = generator_fid(G.float())  # on the training device (fast on a GPU)
    protocol = fid_protocol(reference_size(trainer.device))
    G, D = G.cpu(), D.float().cpu()
    record = register_pretrained("dcgan_cifar10", {"G": G, "D": D}, {
        "model": "course_utils.models.dcgan.Generator+Discriminator", "config": G.config_dict(),
        "train_config": asdict(trainer.cfg), "precision": trainer.precision.name,
        "data": "CIFAR-10 train (50,000 images)", "seed": seed,
        "command": "python -m course_utils.pretrain dcgan_cifar10", "budget": "full", "hardware": hardware(),
        "torch": torch.__version__, "device": str(trainer.device), "seconds": round(seconds, 1),
        "fid_protocol": protocol,
        "history": {key: values[::50] for key, values in trainer.history.items()},
        "metrics": {key: round(value, 4) for key, value in metrics.items()}})
    print(f"dcgan_cifar10: {metrics} in {seconds:.0f} s -> {record['file']}")


# ---------------------------------------------------------------- notebook 07: the DCGAN with SN + hinge, WGAN-GP
# Each name's recipe in course_utils.recipes; the three *_cpu_* runs are the CPU comparison at half the widths.
DCGAN_CIFAR10_VARIANTS = {"dcgan_cifar10_cpu_plain": "DCGAN_CIFAR10_CPU_PLAIN",
                          "dcgan_cifar10_cpu_sn_hinge": "DCGAN_CIFAR10_CPU_SN_HINGE",
                          "dcgan_cifar10_cpu_wgan_gp": "DCGAN_CIFAR10_CPU_WGAN_GP",
                          "dcgan_cifar10_sn_hinge": "DCGAN_CIFAR10_SN_HINGE",
                          "dcgan_cifar10_wgan_gp": "DCGAN_CIFAR10_WGAN_GP"}
VARIANT_FID_SAMPLES = 500  # on a CPU Inception reads about 3 images/s on one thread


def pretrain_dcgan_cifar10_variant(name: str, seed: int = 0, fid_samples: int = VARIANT_FID_SAMPLES) -> None:
    """Train one of notebook 07's DCGANs (recipes named in DCGAN_CIFAR10_VARIANTS) on the engine, measure FID/KID."""
    from . import recipes
    from .budget import get_device
    from .data import cifar10_tensors, data_root, image_sampler
    from .models import dcgan

    recipe = getattr(recipes, DCGAN_CIFAR10_VARIANTS[name])
    device = get_device()
    seed_everything(seed, deterministic=device.type == "cpu")
    images, _ = cifar10_tensors(train=True)
    G, D = dcgan.Generator(recipe.model), dcgan.Discriminator(recipe.model)
    trainer = GANTrainer(G, D, image_sampler(images, device, channels_last=recipe.train.channels_last), recipe.train,
                         device, checkpoint_path=data_root() / "checkpoints" / f"{name}_run.safetensors")
    start = time.perf_counter()
    trainer.train()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    from .fid import fid_kid, fid_protocol, generator_uint8, inception_features, reference_features  # after training
    G, D = G.eval().float(), D.float()
    round_to_half({"G": G, "D": D})  # the committed file is float16 (64 MiB for the tree): measure what is committed
    features = inception_features(generator_uint8(G, fid_samples, seed=1), device)
    metrics = fid_kid(features, reference_features(fid_samples, device))
    if fid_samples <= 1000:  # KID's subsets of min(1000, n) are then all the whole set: their spread says nothing
        metrics.pop("kid_std_x1000")
    history = trainer.history
    losses = {key: values for key, values in history.items() if key != "step"}
    summary = {key: {"first_100_mean": round(sum(values[:100]) / len(values[:100]), 4),
                     "last_100_mean": round(sum(values[-100:]) / len(values[-100:]), 4)}
               for key, values in losses.items()}
    G, D = G.cpu(), D.cpu()
    record = register_pretrained(name, {"G": G, "D": D}, {
        "model": "course_utils.models.dcgan.Generator+Discriminator", "config": G.config_dict(),
        "train_config": asdict(trainer.cfg), "precision": trainer.precision.name,
        "stored": "float16, measured after rounding", "recipe": f"course_utils.recipes.{DCGAN_CIFAR10_VARIANTS[name]}",
        "data": "CIFAR-10 train (50,000 images)", "seed": seed,
        "command": f"python -m course_utils.pretrain {name}", "budget": "full", "hardware": hardware(),
        "torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(),
        "seconds": round(seconds, 1), "fid_protocol": fid_protocol(fid_samples, fid_samples),
        "loss_summary": summary,
        "history": {key: [round(value, 4) for value in values[::25]] for key, values in history.items()},
        "metrics": {f"{key}_n{fid_samples}": round(value, 4) for key, value in metrics.items()}}, dtype=torch.float16)
    print(f"{name}: {record['metrics']} in {seconds:.0f} s ({torch.get_num_threads()} threads) -> {record['file']}")


CGAN_PROTOCOL = ("1,000 samples per digit (noise seed 1) read by both readers (class_accuracy: mnist_classifier, "
                 "class_accuracy_reader2: mnist_classifier2); per-class Frechet distance in the first reader's features "
                 "between the samples of digit c and the even-position half of the MNIST test images of c, with as many "
                 "samples as the odd half holds; per_class_fd_floor: the odd half against the even half")


def fit_mnist_cgan(seed: int = 0, steps: int | None = None, average_decays: tuple[float, ...] = ()):
    """Train notebook 06's conditional GAN on MNIST train 0-54,999 (the last 5,000 are the validation split);
    return G, D, the trainer, the seconds and, per decay in `average_decays`, G's weight average."""
    from dataclasses import replace

    from .data import mnist_train_validation, to_signed_unit
    from .models import cgan
    from .train import WeightAverage

    seed_everything(seed)
    split = mnist_train_validation()
    G, D = cgan.Generator(MNIST_CGAN.model), cgan.Discriminator(MNIST_CGAN.model)
    cfg = MNIST_CGAN.train if steps is None else replace(MNIST_CGAN.train, steps=steps)
    trainer = GANTrainer(G, D, cgan.labelled_sampler(to_signed_unit(split["train_x"]), split["train_y"]), cfg,
                         torch.device("cpu"))
    averages = {decay: WeightAverage(G, decay) for decay in average_decays}
    start = time.perf_counter()
    trainer.train(hooks=list(averages.values()))
    return G.eval(), D.eval(), trainer, time.perf_counter() - start, {d: a.model for d, a in averages.items()}


def pretrain_mnist_cgan(seed: int = 0) -> None:
    """Notebook 06's conditional GAN, with its class accuracy and per-class Frechet distances.

    The weights kept are the last ones or one of G's weight averages, whichever reads best on validation
    noise (seed 2; the test protocol uses seed 1) under the stricter of the two readers."""
    from .data import mnist_tensors, to_signed_unit
    from .sample_quality import conditional_report, load_classifier, requested_digit_accuracy

    G_last, D, trainer, seconds, averages = fit_mnist_cgan(seed, average_decays=MNIST_CGAN_AVERAGE_CANDIDATES)
    readers = [load_classifier(), load_classifier(name="mnist_classifier2")]
    labels = torch.arange(10).repeat_interleave(500)

    @torch.no_grad()
    def validation_accuracy(model) -> list[float]:
        images = model.generate(labels, seed=2).cpu()
        return [round(requested_digit_accuracy(reader, images, labels)[0], 4) for reader in readers]

    candidates = {0.0: G_last, **averages}
    validation = {decay: validation_accuracy(model) for decay, model in candidates.items()}
    chosen = max(validation, key=lambda decay: (min(validation[decay]), -decay))
    G = candidates[chosen].float().eval()
    print(f"validation class accuracy (reader 1, reader 2) by average decay: {validation}; chosen {chosen}")
    test_x, test_y = mnist_tensors(train=False)
    report = conditional_report(G, readers[0], to_signed_unit(test_x), test_y, second_reader=readers[1])
    metrics = {key: round(value, 5) if isinstance(value, float) else value for key, value in report.items()}
    record = register_pretrained("mnist_cgan", {"G": G}, {
        "model": "course_utils.models.cgan.Generator", "config": G.config_dict(),
        "train_config": asdict(trainer.cfg), "precision": trainer.precision.name,
        "data": "MNIST train 0-54,999 with labels, pixels in [-1, 1]",
        "weight_average_decay": chosen, "validation_class_accuracy_by_average_decay":
            {str(decay): accuracies for decay, accuracies in validation.items()},
        "protocol": "the weight average's decay (0: the last weights) chosen on validation noise (seed 2, 500 "
                    "samples per digit) by the stricter reader; network and recipe as before (chosen earlier)",
        "seed": seed, "command": "python -m course_utils.pretrain mnist_cgan", "budget": "full",
        "hardware": hardware(), "seconds": round(seconds, 1),
        "evaluation": CGAN_PROTOCOL,
        "history": {key: values[::50] for key, values in trainer.history.items()}, "metrics": metrics},
        dtype=torch.float16)
    print(f"mnist_cgan: class accuracy {metrics['class_accuracy']:.4f} / {metrics['class_accuracy_reader2']:.4f} "
          f"(readers 1 / 2), mean class FD "
          f"{metrics['mean_class_fd']:.2f} in {seconds:.0f} s -> {record['file']}")


def fit_mnist_cyclegan(seed: int = 0, steps: int | None = None, hooks=(), ema_decays=()):
    """Train notebook 06's CycleGAN between MNIST (A) and MNIST-M (B) on the train split (the validation
    split stays unseen); return it, its training config, the history, the seconds, and for each decay in
    `ema_decays` the moving average of G's and F's weights with that decay (what `ema_decay` would leave)."""
    from dataclasses import replace

    from .data import image_sampler, unpaired_mnist_domains
    from .models.cyclegan import CycleGAN
    from .train import update_average
    from .train_cyclegan import train_cyclegan

    seed_everything(seed)
    domains = unpaired_mnist_domains(split="train")
    model = CycleGAN(MNIST_CYCLEGAN.model)
    cfg = replace(MNIST_CYCLEGAN.train, amp=cpu_runs_bfloat16_natively())  # recorded as True or False
    cfg = cfg if steps is None else replace(cfg, steps=steps)
    weights = [*model.G.parameters(), *model.F.parameters()]
    averages = {decay: [weight.detach().clone() for weight in weights] for decay in ema_decays}

    def average(trainer):  # the same update as train_cyclegan's own ema_decay, one per decay
        for decay, averaged in averages.items():
            update_average(averaged, weights, decay)

    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    history = train_cyclegan(model, image_sampler(domains["A"], "cpu", generator=generator),
                             image_sampler(domains["B"], "cpu", generator=generator), cfg, "cpu",
                             hooks=[*hooks, average] if averages else hooks)
    return model, cfg, history, time.perf_counter() - start, averages


def mnist_cyclegan_metrics(model) -> dict:
    """The CycleGAN read by both readers: translation_report on the test split (12x12 patches), F(b) on
    the test digits with full 28x28 crops, and F(b), F(G(a)) on the validation split (which chose the
    recipe). Second-reader keys end in "_reader2"."""
    from .data import unpaired_mnist_domains
    from .sample_quality import load_classifier, translation_report

    test = unpaired_mnist_domains(split="test")
    test_full = unpaired_mnist_domains(split="test", patch_size=28)
    validation = unpaired_mnist_domains(split="validation")
    metrics = {}
    for name, suffix in (("mnist_classifier", ""), ("mnist_classifier2", "_reader2")):
        reader = load_classifier(name=name)
        report = translation_report(model, reader, test)
        keys = report if not suffix else ("accuracy_F_b", "accuracy_F_G_a", "accuracy_a", "accuracy_b_untranslated")
        metrics.update({key + suffix: report[key] for key in keys})
        metrics["accuracy_F_b_full_crops" + suffix] = translation_report(model, reader, test_full)["accuracy_F_b"]
        report = translation_report(model, reader, validation)
        metrics["validation_accuracy_F_b" + suffix] = report["accuracy_F_b"]
        metrics["validation_accuracy_F_G_a" + suffix] = report["accuracy_F_G_a"]
    return {key: round(value, 5) for key, value in metrics.items()}


def pretrain_mnist_cyclegan(seed: int = 0) -> None:
    """Notebook 06's CycleGAN, with cycle errors and content preservation under both readers.

    One training run; among the weight-averaging candidates, the one whose F(b) reads best on the
    validation split under the stricter reader is kept (the smaller decay on a tie)."""
    decays = [decay for decay in MNIST_CYCLEGAN_EMA_CANDIDATES if decay > 0]
    register_mnist_cyclegan(*fit_mnist_cyclegan(seed, ema_decays=decays), seed=seed)


def register_mnist_cyclegan(model, cfg, history, seconds: float, averages: dict, seed: int = 0) -> None:
    """Keep the weight-averaging candidate that reads best on validation, measure it, write it to the manifest."""
    from dataclasses import replace

    from .data import MNIST_M_PATCH, unpaired_mnist_domains
    from .sample_quality import load_classifier, translation_report

    weights = [*model.G.parameters(), *model.F.parameters()]
    averages[0.0] = [weight.detach().clone() for weight in weights]
    validation = unpaired_mnist_domains(split="validation")
    readers = [load_classifier(name=name) for name in ("mnist_classifier", "mnist_classifier2")]
    validation_by_decay = {}
    for decay in sorted(averages):
        with torch.no_grad():
            for weight, averaged in zip(weights, averages[decay]):
                weight.copy_(averaged)
        validation_by_decay[decay] = [round(translation_report(model, reader, validation)["accuracy_F_b"], 4)
                                      for reader in readers]
    chosen = max(sorted(validation_by_decay), key=lambda decay: min(validation_by_decay[decay]))
    with torch.no_grad():
        for weight, averaged in zip(weights, averages[chosen]):
            weight.copy_(averaged)
    cfg = replace(cfg, ema_decay=chosen)
    print(f"validation F(b) (reader 1, reader 2) by ema_decay: {validation_by_decay}; chosen {chosen}")
    metrics = mnist_cyclegan_metrics(model)
    record = register_pretrained("mnist_cyclegan", {"G": model.G, "F": model.F}, {
        "model": "course_utils.models.cyclegan.CycleGAN (G: A->B, F: B->A)", "config": model.config_dict(),
        "train_config": asdict(cfg), "precision": choose_precision("cpu", cfg.amp, cpu=True).name,
        "validation_accuracy_F_b_by_ema_decay": {str(decay): accuracies
                                                 for decay, accuracies in validation_by_decay.items()},
        "data": "A: MNIST train images 0-54,999 at even indices; B: MNIST-M built from the odd ones with patches "
                f"of CIFAR-10 training images 0-34,999 ({MNIST_M_PATCH}x{MNIST_M_PATCH} scaled to 28x28)",
        "seed": seed, "command": "python -m course_utils.pretrain mnist_cyclegan", "budget": "full",
        "hardware": hardware(), "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
        "protocol": "validation split: MNIST train images 55,000-59,999 (even indices as A, MNIST-M of the odd ones "
                    "as B, patches of CIFAR-10 training images 35,000-39,999), held out from training. The weight "
                    "averaging (ema_decay among MNIST_CYCLEGAN_EMA_CANDIDATES) is chosen on it, by F(b) under the "
                    "stricter reader; the networks, steps and schedule are the earlier recipe's, unchanged. The test "
                    "split only reports",
        "evaluation": "MNIST test: 5,000 even-index images as A, MNIST-M of the 5,000 odd ones as B (patches of "
                      "CIFAR-10 training images 40,000-49,999; _full_crops: the same digits on 28x28 crops); both "
                      "readers (mnist_classifier, mnist_classifier2: keys ending _reader2) read RGB as its channel "
                      "mean; validation_ keys: the validation split",
        "history": {key: values[::20] for key, values in history.items()}, "metrics": metrics})
    print(f"mnist_cyclegan: {metrics} in {seconds:.0f} s -> {record['file']}")


def pretrain_gan_lab(seed: int = 0) -> None:
    """Notebook 07's GAN Lab demo: a recorded run per loss and data set (data/pretrained/gan_lab.npz)."""
    from .gan_lab import record_all

    torch.set_num_threads(1)  # small MLPs: one thread is as fast, and leaves the other cores free
    record_all(seed)


def pretrain_gan1d_replay(seed: int = 0, steps: int = 1500, snapshots: int = 30) -> None:
    """The 1-D GAN demo's replay (notebooks/demos.ipynb): a fresh run of recipes.GAN1D for `steps` steps, a lecture
    panel every steps/snapshots steps (data/pretrained/gan1d_replay.npz, listed in RECORDINGS.json)."""
    from .checkpoints import RECORDINGS, pretrained_dir, sha256sum, write_index_entry
    from .widgets.adversarial import GAN1D_REPLAY, record_gan1d_run, save_snapshots

    torch.set_num_threads(1)
    start = time.perf_counter()
    trainer, recorded = record_gan1d_run(steps, snapshots, seed)
    seconds = time.perf_counter() - start
    path = save_snapshots(pretrained_dir() / f"{GAN1D_REPLAY}.npz", recorded)
    metrics = {key: round(value, 5) for key, value in gan1d_diagnostics(trainer.G, trainer.D, gaussian_1d()).items()}
    write_index_entry(GAN1D_REPLAY, {
        "file": path.name, "sha256": sha256sum(path), "what": "lecture panels (plots.Snapshot) of one 1-D GAN run",
        "train_config": asdict(trainer.cfg), "precision": trainer.precision.name, "data": repr(gaussian_1d()),
        "seed": seed, "frames": len(recorded),
        "command": "python -m course_utils.pretrain gan1d_replay", "hardware": hardware(), "threads": 1,
        "seconds": round(seconds, 1), "metrics_at_the_last_step": metrics}, index=RECORDINGS)
    print(f"gan1d_replay: {len(recorded)} panels of {steps} steps in {seconds:.1f} s -> {path.name}; {metrics}")


# Each name's training command (the recipes themselves are in course_utils.recipes).
PRETRAINERS = {"gan1d": pretrain_gan1d, "mnist_classifier": pretrain_mnist_classifier,
               "mnist_classifier2": pretrain_mnist_classifier2, "mnist_gan": pretrain_mnist_gan,
               "mnist_gmm": pretrain_mnist_gmm, "mnist_vae": pretrain_mnist_vae, "mnist_vae2d": pretrain_mnist_vae2d,
               "dcgan_cifar10": pretrain_dcgan_cifar10, "mnist_cgan": pretrain_mnist_cgan,
               "mnist_cyclegan": pretrain_mnist_cyclegan,
               **{name: (lambda name=name: pretrain_dcgan_cifar10_variant(name)) for name in DCGAN_CIFAR10_VARIANTS}}

PRETRAINERS["gan_lab"] = pretrain_gan_lab  # recordings for a widget, not weights
PRETRAINERS["gan1d_replay"] = pretrain_gan1d_replay  # the same for the 1-D GAN demo
PRETRAINERS["mixtures2d"] = pretrain_mixtures2d  # notebook 07: 54 runs; seed 0's networks and every run's numbers
PRETRAINERS.update(DISENTANGLING)  # notebook 08: mnist_infogan, shapes_reader, the shapes table ("shapes": all)
PRETRAINERS.update(FLOWS_DIFFUSION)  # notebook 09: mnist_flow, mnist_diffusion, mnist_flow_matching
PRETRAINERS.update(PAIRED)  # notebook 10: the CIFAR-10 classifier, super-resolution, colourisation, MNIST-M


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", choices=sorted(PRETRAINERS))
    args = parser.parse_args()
    for name in args.names:
        PRETRAINERS[name]()


if __name__ == "__main__":
    main()
