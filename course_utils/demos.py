"""Every instructor demo of the course, built from committed weights or recordings: nothing trains before the first
picture. notebooks/demos.ipynb shows them one after another (`make present` serves it with Voila), and
tests/browser drives each one in a real browser with the interaction named here.

    from course_utils import demos
    demos.show("gan1d")          # the live widget
    demos.DEMOS["gan1d"].title   # what the demos notebook says about it
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    """One interaction of the browser test: press a button, move a slider by a key, pick an option, or press a
    toggle button; `target` is the control's label (a button's text, a slider's or a menu's description)."""

    kind: str  # "button" | "slider" | "dropdown" | "toggle"
    target: str
    value: str = ""  # slider: the key to press ("ArrowRight", "End"); dropdown: the option's text


@dataclass(frozen=True)
class Demo:
    """A demo: the title and one sentence of what to show (demos.ipynb), its notebook, how to build it, and the
    interaction the browser test performs (it must change the picture within 2 s)."""

    title: str
    notebook: str
    what_to_show: str
    build: Callable[[], object]
    action: Action


def _gan1d():
    from .widgets import GAN1DDemo

    return GAN1DDemo.from_recording()


def _walk(name: str, seed: int):
    def build():
        from .checkpoints import pretrained
        from .widgets import LatentWalkDemo

        model = pretrained(name, verbose=False)
        return LatentWalkDemo(getattr(model, "G", model), seed=seed, name=f"{name}_walk")
    return build


def _vae2d():
    from .checkpoints import pretrained
    from .widgets import Latent2DDemo

    return Latent2DDemo(pretrained("mnist_vae2d", verbose=False).decoder)


def _conditional():
    from .checkpoints import pretrained
    from .widgets import ConditionalDemo

    return ConditionalDemo(pretrained("mnist_cgan", verbose=False))


def _translation():
    from .checkpoints import pretrained
    from .data import to_signed_unit, unpaired_mnist_domains
    from .widgets import TranslationDemo

    held_out = unpaired_mnist_domains(train=False)  # notebook 06's held-out images
    return TranslationDemo(pretrained("mnist_cyclegan", verbose=False), to_signed_unit(held_out["A"][:500]),
                           to_signed_unit(held_out["B"][:500]))


def _gan_lab():
    from .gan_lab import GANLab

    return GANLab(loss="GAN", dataset="grid")


def _codes():
    from .checkpoints import pretrained
    from .widgets import CodeDemo

    infogan = pretrained("mnist_infogan", verbose=False)
    return CodeDemo(infogan.G, infogan.D, name="infogan_codes")


def _denoising():
    from .pretrain_flows_diffusion import load_denoising_demo
    from .widgets import DenoisingDemo

    return DenoisingDemo(*load_denoising_demo())


WIPE_IMAGES = [3, 7, 12, 21, 30, 44, 52, 60]  # test images, as notebook 10's demo offers


def _wipe():
    from .checkpoints import pretrained
    from .data import paired
    from .train_paired import translate
    from .widgets import WipeDemo

    test = paired.super_resolution("test")
    source, target = test["source"][WIPE_IMAGES], test["target"][WIPE_IMAGES]
    bicubic = paired.bicubic_baseline(source)
    images = {"bicubic": bicubic, "L2 regression": translate(pretrained("cifar10_sr_mse", verbose=False), source),
              "SRGAN": translate(pretrained("cifar10_srgan", verbose=False), source), "ground truth": target}
    return WipeDemo(images, source, image_ids=WIPE_IMAGES)


DEMOS: dict[str, Demo] = {
    "gan1d": Demo(
        "The 1-D GAN of the lecture figure", "01_gan_1d",
        "Replay the recorded run (press play): p_g slides onto p_data while D(x) flattens to 1/2; then reset to step 0 "
        "and press 'D steps' and 'G steps' to show one player moving at a time.",
        _gan1d, Action("button", "D steps")),
    "mnist_gan_walk": Demo(
        "A walk through the MNIST GAN's latent space", "03_mnist_gan",
        "Drag t: every point on the path between two noise vectors is a digit, and the digit changes smoothly.",
        _walk("mnist_gan", 7), Action("slider", "t", "ArrowRight")),
    "dcgan_cifar10_walk": Demo(
        "A walk through the DCGAN's latent space (CIFAR-10)", "04_dcgan_cifar10",
        "Press 'new sample' for new end points and drag t: the generator blends scenes, it does not cut between them.",
        _walk("dcgan_cifar10", 3), Action("button", "new sample")),
    "latent2d": Demo(
        "A VAE's two-dimensional latent space", "05_vae",
        "Move z1 and z2: the red dot travels over the decoded manifold, and the image beside it is decoded there.",
        _vae2d, Action("slider", "z1", "ArrowRight")),
    "conditional": Demo(
        "A conditional GAN: the class is an input", "06_cgan_cyclegan",
        "Pick a class, then change the seed: the class picks the digit, the noise picks its style in every class.",
        _conditional, Action("dropdown", "class", "7")),
    "translation": Demo(
        "CycleGAN: MNIST to MNIST-M and back", "06_cgan_cyclegan",
        "Switch the direction and step through images: translated and back, the digit usually survives the trip.",
        _translation, Action("toggle", "MNIST-M (B) -> MNIST")),
    "gan_lab": Demo(
        "GAN Lab: a 2-D GAN's training, recorded and live", "07_training_dynamics",
        "Replay a recorded run, then train live and change the loss, the learning rates or k while it runs.",
        _gan_lab, Action("button", "step")),
    "infogan_codes": Demo(
        "InfoGAN's codes, and the 'which code moved?' game", "08_disentangling",
        "Move each code to see what it controls; then play: press 'new pair' and let the room guess before Q does.",
        _codes, Action("button", "new pair")),
    "denoising": Demo(
        "Noise becoming data: diffusion, and a flow layer by layer", "09_flows_diffusion",
        "Drag from noise to data (or press play): the cloud and the digits come out of noise along recorded paths.",
        _denoising, Action("slider", "noise -> data", "End")),
    "wipe": Demo(
        "Super-resolution: bicubic, L2 regression, SRGAN and the truth", "10_paired_translation",
        "Drag the wipe between L2 regression and SRGAN: sharper, yet lower PSNR (the numbers beside the image).",
        _wipe, Action("slider", "wipe", "ArrowRight")),
}


def show(name: str):
    """Build demo `name` and return its widget (display it in a cell)."""
    if name not in DEMOS:
        raise KeyError(f"no demo named {name!r}; the demos are: {', '.join(DEMOS)}")
    demo = DEMOS[name].build()
    box = demo.widget()
    box.add_class(f"course-demo-{name}")  # the name the browser test finds it by
    return box
