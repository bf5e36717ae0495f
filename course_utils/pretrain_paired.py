"""Notebook 10's pretrained models: `python -m course_utils.pretrain cifar10_classifier cifar10_sr_mse cifar10_sr_l1
cifar10_srgan cifar10_colour_l1 cifar10_pix2pix_colour mnist_m_pix2pix paired_quality`.

Each generator trains with its recipe (course_utils.recipes) on its task's training split (course_utils.data.paired),
is rounded to float16 (the committed file; its numbers are measured after the rounding) and is measured on the
validation split (what a recipe may be chosen by) and the test split (what is reported). `paired_quality` records
the perception side, FID and KID in Inception features, for every CIFAR-10 model and baseline (RECORDINGS.json).
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace

import torch
from torch import Tensor, nn

from .budget import seed_everything
from .checkpoints import hardware, register_pretrained, round_to_half
from .recipes import (CIFAR10_CLASSIFIER, CIFAR10_COLOUR_L1, CIFAR10_PIX2PIX_COLOUR, CIFAR10_SR_L1, CIFAR10_SR_MSE,
                      CIFAR10_SRGAN, MNIST_M_PIX2PIX, PAIRED_DISCRIMINATOR_WIDTH)

PAIRED_MODELS = {  # name -> (task, recipe, what it is)
    "cifar10_sr_mse": ("super_resolution", CIFAR10_SR_MSE, "SRResNet, L2 regression"),
    "cifar10_sr_l1": ("super_resolution", CIFAR10_SR_L1, "SRResNet, L1 regression"),
    "cifar10_srgan": ("super_resolution", CIFAR10_SRGAN, "SRGAN: perceptual + adversarial, from cifar10_sr_mse"),
    "cifar10_colour_l1": ("colourisation", CIFAR10_COLOUR_L1, "U-Net, L1 regression"),
    "cifar10_pix2pix_colour": ("colourisation", CIFAR10_PIX2PIX_COLOUR,
                               "pix2pix: U-Net, L1 x 100 + conditional GAN, from cifar10_colour_l1"),
    "mnist_m_pix2pix": ("mnist_m", MNIST_M_PIX2PIX, "pix2pix: U-Net, L1 x 100 + conditional GAN"),
}
START_FROM = {"cifar10_srgan": "cifar10_sr_mse", "cifar10_pix2pix_colour": "cifar10_colour_l1"}  # their regression
FEATURE_SCALE_IMAGES = 1000  # training targets whose feature energy normalises the perceptual loss


def cifar_augment(x: Tensor, generator: torch.Generator, pixels: int = 4) -> Tensor:
    """Random horizontal flips (per image) and one random shift of up to `pixels` per batch (reflect padding)."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = nn.functional.pad(x, [pixels] * 4, mode="reflect")
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy:dy + x.shape[2], dx:dx + x.shape[3]]


def pretrain_cifar10_classifier(seed: int = 0) -> None:
    """The CIFAR-10 classifier whose features are SRGAN's perceptual loss; trained on training images 0-44,999."""
    from .data import cifar10_tensors, to_signed_unit
    from .models.classifiers import accuracy, train_classifier
    from .models.paired import CIFARClassifier

    seed_everything(seed)
    images, labels = cifar10_tensors(train=True)
    test_x, test_y = cifar10_tensors(train=False)
    model = CIFARClassifier(CIFAR10_CLASSIFIER.model)
    settings = CIFAR10_CLASSIFIER.train
    start = time.perf_counter()
    losses = train_classifier(model, to_signed_unit(images[:45_000]), labels[:45_000], epochs=settings["epochs"],
                              batch_size=settings["batch_size"], lr=settings["lr"], seed=seed, augment=cifar_augment,
                              name="cifar10_classifier")
    seconds = time.perf_counter() - start
    round_to_half({"classifier": model})  # the committed file is float16: measure what is committed
    metrics = {"validation_accuracy": round(accuracy(model, to_signed_unit(images[45_000:]), labels[45_000:]), 4),
               "test_accuracy": round(accuracy(model, to_signed_unit(test_x), test_y), 4)}
    record = register_pretrained("cifar10_classifier", {"classifier": model}, {
        "model": "course_utils.models.paired.CIFARClassifier", "config": model.config_dict(),
        "train_config": {**settings, "optimizer": "AdamW one-cycle", "augmentation": "horizontal flips, shifts of up "
                         "to 4 pixels (reflect padding)", "train_losses": [round(v, 4) for v in losses]},
        "precision": "float32",
        "data": "CIFAR-10 training images 0-44,999; validation 45,000-49,999; test: the test images present",
        "seed": seed, "command": "python -m course_utils.pretrain cifar10_classifier", "budget": "full",
        "hardware": hardware(), "threads": torch.get_num_threads(), "seconds": round(seconds, 1), "metrics": metrics},
        dtype=torch.float16)
    print(f"cifar10_classifier: {metrics} in {seconds:.0f} s -> {record['file']}")


def perceptual_features(classifier: nn.Module, targets: Tensor | None = None):
    """SRGAN's content space here: the classifier's second-block features divided by their RMS over
    FEATURE_SCALE_IMAGES training targets, so the squared error is relative (about 1 between unrelated images)."""
    from .data import paired

    classifier.eval().requires_grad_(False)
    device = next(classifier.parameters()).device
    if targets is None:
        targets = paired.super_resolution("train")["target"][:FEATURE_SCALE_IMAGES]
    with torch.no_grad():
        scale = classifier.perceptual_features(targets.to(device).float() / 127.5 - 1).square().mean().sqrt().item()
    return lambda x: classifier.perceptual_features(x) / scale


def build(name: str, conditional_d: bool | None = None):
    """The untrained generator and discriminator of paired model `name` (its recipe's networks; `conditional_d`
    overrides whether D also sees the source image)."""
    from .models.cyclegan import CycleGANConfig, PatchDiscriminator, init_weights
    from .models.paired import SRResNet, UNetGenerator

    task, recipe, _ = PAIRED_MODELS[name]
    G = SRResNet(recipe.model) if task == "super_resolution" else UNetGenerator(recipe.model)
    D = None
    if recipe.train.adversarial_weight > 0:
        conditional = recipe.train.conditional_d if conditional_d is None else conditional_d
        channels = 3 + (recipe.model.in_channels if conditional else 0)
        D = PatchDiscriminator(CycleGANConfig(channels=channels, d_width=PAIRED_DISCRIMINATOR_WIDTH))
        D.apply(init_weights)
    return G, D


def fit(name: str, seed: int = 0, steps: int | None = None, device: torch.device | str = "cpu",
        progress: bool = True, start_from: nn.Module | None = None, classifier: nn.Module | None = None):
    """Train paired model `name` with its recipe (or `steps` of it); return the trainer and the seconds.
    SRGAN and pix2pix's colouriser start from `start_from` (default: the committed regression model START_FROM names);
    SRGAN reads `classifier` (default: the committed cifar10_classifier)."""
    from .checkpoints import pretrained
    from .data import paired
    from .train_paired import PairedTrainer, pair_sampler

    seed_everything(seed)
    task, recipe, _ = PAIRED_MODELS[name]
    cfg = recipe.train if steps is None else replace(recipe.train, steps=steps)
    G, D = build(name)
    features = None
    if name in START_FROM:
        G.load_state_dict((start_from or pretrained(START_FROM[name], verbose=False)).state_dict())
    if name == "cifar10_srgan":
        features = perceptual_features((classifier or pretrained("cifar10_classifier", verbose=False)).to(device))
    pairs = paired.paired_task(task, "train")
    sampler = pair_sampler(pairs["source"], pairs["target"], device, torch.Generator().manual_seed(seed))
    trainer = PairedTrainer(G, sampler, cfg, device, D=D, features=features, description=f"training {name}")
    start = time.perf_counter()
    trainer.train(progress=progress)
    G.eval()
    return trainer, time.perf_counter() - start


def evaluate(name: str, G: nn.Module, split: str = "test") -> dict:
    """Distortion of G's outputs on a split of its task (image_metrics.distortion); for MNIST-M also the digits
    read by both readers, and for colourisation the colourfulness of the outputs."""
    from .data import paired
    from .image_metrics import colourfulness, distortion
    from .train_paired import translate

    task = PAIRED_MODELS[name][0]
    pairs = paired.paired_task(task, split)
    outputs = translate(G, pairs["source"])
    metrics = distortion(outputs, pairs["target"])
    if task == "colourisation":
        metrics["colourfulness"] = colourfulness(outputs).mean().item()
    if task == "mnist_m":
        metrics.update(digit_accuracy(outputs, pairs["labels"]))
    return {key: round(value, 4) for key, value in metrics.items()}


def digit_accuracy(outputs: Tensor, labels: Tensor) -> dict[str, float]:
    """Both readers' accuracy on translated MNIST-M images (uint8 RGB, read as grey, as notebook 06 reads F(b))."""
    from .data import rgb_to_grey, to_signed_unit
    from .sample_quality import classifier_outputs, load_classifier

    grey = to_signed_unit(rgb_to_grey(outputs))
    result = {}
    for key, reader in (("accuracy", "mnist_classifier"), ("accuracy_reader2", "mnist_classifier2")):
        logits = classifier_outputs(load_classifier(name=reader), grey)[1]
        result[key] = (logits.argmax(1) == labels).float().mean().item()
    return result


def pretrain(name: str, seed: int = 0) -> None:
    """Train, round to float16, measure and register paired model `name`."""
    trainer, seconds = fit(name, seed)
    G = trainer.G.eval()
    round_to_half({"G": G})
    metrics = {f"validation_{key}": value for key, value in evaluate(name, G, "validation").items()}
    metrics.update(evaluate(name, G, "test"))
    task, recipe, what = PAIRED_MODELS[name]
    entry = {
        "model": f"course_utils.models.paired.{type(G).__name__}", "config": G.config_dict(),
        "train_config": asdict(trainer.cfg), "precision": trainer.precision.name, "what": what,
        "data": f"data.paired.paired_task({task!r}, 'train')"
                + (f"; starts from {START_FROM[name]}" if name in START_FROM else "")
                + ("; perceptual loss in cifar10_classifier's features" if name == "cifar10_srgan" else ""),
        "seed": seed, "command": f"python -m course_utils.pretrain {name}", "budget": "full", "hardware": hardware(),
        "threads": torch.get_num_threads(), "seconds": round(seconds, 1),
        "evaluation": "outputs (uint8) against their targets on the validation and the test split: psnr_db and ssim "
                      "(torchmetrics; SSIM window 11, sigma 1.5), mae in uint8 levels"
                      + ("; colourfulness (Hasler and Suesstrunk 2003)" if task == "colourisation" else "")
                      + ("; accuracy: the two MNIST readers on the outputs as grey images" if task == "mnist_m" else ""),
        "metrics": metrics,
        "history": {key: [round(v, 5) for v in values[::40]] for key, values in trainer.history.items()},  # every 40th
    }
    record = register_pretrained(name, {"G": G}, entry, dtype=torch.float16)
    print(f"{name}: {metrics} in {seconds:.0f} s -> {record['file']} ({record['sha256'][:12]}...)")


# ----------------------------------------------------------------------------- the perception side (RECORDINGS.json)

QUALITY_REFERENCE = 2000  # validation targets (CIFAR-10 training images 45,000-46,999) behind the FID reference


def method_outputs(split: str = "test", tasks: tuple[str, ...] = ("super_resolution", "colourisation")
                   ) -> dict[str, dict[str, Tensor]]:
    """Every CIFAR-10 method's uint8 outputs on a split, by task: {"super_resolution": {"bicubic": ..., ...},
    "colourisation": {...}}, with the targets under "ground truth" (`tasks`: only these)."""
    from .checkpoints import pretrained
    from .data import paired
    from .train_paired import translate

    sr, colour = paired.super_resolution(split), paired.colourisation(split)
    bicubic = paired.bicubic_baseline(sr["source"])
    outputs = {"super_resolution": {"bicubic": bicubic}, "colourisation": {"grey input": colour["source"].expand(-1, 3, -1, -1).contiguous()}}
    outputs = {task: methods for task, methods in outputs.items() if task in tasks}
    for name, (task, _, _) in PAIRED_MODELS.items():
        if task in outputs:
            outputs[task][name] = translate(pretrained(name, verbose=False), paired.paired_task(task, split)["source"])
    for task, pairs in (("super_resolution", sr), ("colourisation", colour)):
        if task in outputs:
            outputs[task]["ground truth"] = pairs["target"]
    return outputs


def record_paired_quality(only: tuple[str, ...] = ()) -> None:
    """PSNR, SSIM, colourfulness and FID/KID (Inception) of every CIFAR-10 method on the test split, against
    QUALITY_REFERENCE validation images, into RECORDINGS.json as paired_quality. `only`: re-measure just these rows
    ("task/method", e.g. after one model was retrained) and keep the others as recorded."""
    from .checkpoints import RECORDINGS, read_manifest, write_index_entry
    from .data import paired
    from .fid import INCEPTION_PACKAGE, fid_kid, inception_features
    from .image_metrics import colourfulness, distortion

    start = time.perf_counter()
    reference = inception_features(paired.super_resolution("validation")["target"][:QUALITY_REFERENCE])
    rows = dict(read_manifest(index=RECORDINGS)["paired_quality"]["rows"]) if only else {}
    for task, methods in method_outputs("test").items():
        targets = methods["ground truth"]
        for method, images in methods.items():
            if only and f"{task}/{method}" not in only:
                continue
            row = {key: round(value, 4) for key, value in distortion(images, targets).items()} if method != "ground truth" else {}
            row.update({key: round(value, 3) for key, value in fid_kid(inception_features(images), reference).items()})
            row["colourfulness"] = round(colourfulness(images).mean().item(), 3)
            rows[f"{task}/{method}"] = row
            print(task, method, row)
    write_index_entry("paired_quality", {
        "command": "python -m course_utils.pretrain paired_quality" + (
            f" (rows {', '.join(only)} re-measured by record_paired_quality(only=...))" if only else ""), "hardware": hardware(),
        "threads": torch.get_num_threads(), "seconds": round(time.perf_counter() - start, 1),
        "evaluation": f"the test images present ({len(targets):,}): each method's uint8 outputs against their targets "
                      "(psnr_db, ssim by torchmetrics, mae in uint8 levels) and, as a set, FID and KID x1000 (10 "
                      f"subsets of 1,000) in the Inception-v3 pool3 features of {INCEPTION_PACKAGE} against "
                      f"{QUALITY_REFERENCE:,} validation images (CIFAR-10 training images 45,000-46,999); 'ground "
                      "truth' is the test images themselves: the floor of FID at these sizes; psnr_db: each image capped at 100 dB "
                      "(image_metrics.PSNR_CAP_DB) before the mean (the grey input equals the target where a CIFAR-10 "
                      "photo is grey)",
        "rows": rows, **({"rows_re_measured": list(only)} if only else {})}, index=RECORDINGS)


PRETRAINERS = {"cifar10_classifier": pretrain_cifar10_classifier,
               **{name: (lambda name=name: pretrain(name)) for name in PAIRED_MODELS},
               "paired_quality": record_paired_quality}
