"""Write notebooks/10_paired_translation.ipynb from the cells below (outputs empty: run it with nbconvert to fill them).

A developer's tool: the notebook is edited here, where the cells read as one Python file, then rebuilt with
`python tools/build_notebook_10.py` and executed (`make notebooks` or nbconvert --execute --inplace).
"""

from __future__ import annotations

from notebook_cells import NotebookCells

NOTEBOOK = NotebookCells()
md, code = NOTEBOOK.md, NOTEBOOK.code
CELLS = NOTEBOOK.cells


md(r"""
# 10 · Paired translation and super-resolution: regression, pix2pix, SRGAN

The lecture on style transfer starts from the easy case: *if we have paired training data* and want a model
$G(x) = y$, *this can be posed as a regression problem*. Only then does it ask what to do without pairs, and
answers with CycleGAN (notebook 06). Super-resolution gets its own slides: a low-resolution image, the estimated
high-resolution image, the true one; and the first lecture names SRGAN (4x upscaling), whose loss is *a perceptual
loss function (adversarial loss + content loss)*, where its baseline SRResNet uses the MSE.

This notebook builds the easy case and finds out why GANs are used even there. Regression on pairs answers with the
**average** of the plausible outputs, which is blurred; an adversarial loss asks for **one** plausible output, which
is sharp but further from the truth pixel by pixel. Blau and Michaeli (2018) proved that the two aims conflict: the
*perception-distortion trade-off*.

| | claim | checked in |
|---|---|---|
| 1 | regression on pairs gives the blurred, desaturated average | section 2 (power spectra, colourfulness) |
| 2 | an adversarial loss loses PSNR against its regression baseline and gains FID (SRGAN's own finding) | section 4 (super-resolution and colourisation) |
| 3 | with pairs, translation is easier: pix2pix beats notebook 06's CycleGAN on the same held-out images | section 5 |
""")

code(r"""
%matplotlib inline
from dataclasses import replace

import torch
from IPython.display import display

from course_utils import budget, get_device, is_fast, pretrained, read_manifest, seed_everything
from course_utils import plots_paired
from course_utils.checkpoints import RECORDINGS
from course_utils.data import paired, to_signed_unit, to_uint8
from course_utils.image_metrics import colourfulness, distortion, radial_power_spectrum
from course_utils.pretrain_paired import build, digit_accuracy, method_outputs
from course_utils.recipes import CIFAR10_PIX2PIX_COLOUR, CIFAR10_SR_MSE
from course_utils.report import print_metric_table
from course_utils.sample_quality import frechet_distance
from course_utils.train_paired import PairedTrainer, pair_sampler, translate
from course_utils.widgets import WipeDemo

seed_everything(0)
device = get_device()  # cuda > mps > cpu: the live training; the pretrained models are evaluated on the CPU
live_steps = budget(full=600, fast=20)  # short runs from scratch, to watch the losses fall
manifest = read_manifest()
quality = read_manifest(index=RECORDINGS)["paired_quality"]
print(f"fast budget: {is_fast()}; live runs of {live_steps} steps on {device}")
""")

md(r"""
## 1. Pairs, made from the data the course has

Three tasks, each a function in `course_utils.data.paired` with a training split (CIFAR-10 training images
0–44,999), a validation split (45,000–49,999: what a recipe may be chosen by) and a test split (the test images:
what is reported).

- **4x super-resolution**: $x$ is the 32x32 image shrunk to 8x8 by bicubic downsampling with antialiasing, the
  protocol of the SRGAN paper; $y$ is the 32x32 image. Sixteen target pixels per input pixel.
- **Colourisation**: $x$ is the grey image (the BT.601 luma, $0.299R + 0.587G + 0.114B$), $y$ the colour image.
- **MNIST-M → MNIST**: notebook 06's domain B, now with the digit each image was made from.
""")

code(r"""
sr_test, colour_test = paired.super_resolution("test"), paired.colourisation("test")
mnist_m_test = paired.paired_mnist_m("test")
for name, pairs in (("super-resolution", sr_test), ("colourisation", colour_test), ("MNIST-M -> MNIST", mnist_m_test)):
    print(f"{name:>17}: test x {tuple(pairs['source'].shape)} -> y {tuple(pairs['target'].shape)}")
show = list(range(6))
display(plots_paired.method_columns(
    {"x: 8x8": sr_test["source"], "y: 32x32": sr_test["target"], "x: grey": colour_test["source"],
     "y: colour": colour_test["target"], "x: MNIST-M": mnist_m_test["source"], "y: its digit": mnist_m_test["target"]},
    show, title="pairs from the test splits"))
""")

md(r"""
## 2. Regression: the answer is the average

Train $G$ to minimise a pixel loss over the pairs. With the squared error the best $G$ is the **conditional mean**,

$$
\arg\min_G \; \mathbb E_{x, y}\, \lVert G(x) - y \rVert_2^2 \quad\Rightarrow\quad G^*(x) = \mathbb E[\,y \mid x\,],
$$

and with the absolute error the conditional median, pixel by pixel. Where $x$ determines $y$ that is the right
answer. Where it does not, the mean of all the $y$ that fit $x$ is none of them: many sharp edges in slightly
different places average to a soft ramp; a grey car that could be red, blue or white gets a dull colour in between.

The generator here is SRResNet (Ledig et al. 2017), shrunk to 32 channels and 4 residual blocks. It adds its output
to the bicubic upsampling, so it starts as bicubic and learns the missing detail. First a short run from scratch
with the squared error, on the course's engine, to see the loss fall; then the pretrained models (3,000 steps).
""")

code(r"""
train_sr = paired.super_resolution("train")
G_live, _ = build("cifar10_sr_mse")
sampler = pair_sampler(train_sr["source"], train_sr["target"], device, torch.Generator().manual_seed(0))
trainer = PairedTrainer(G_live, sampler, replace(CIFAR10_SR_MSE.train, steps=live_steps), device)
history = trainer.train()
live = distortion(translate(G_live.cpu(), sr_test["source"]), sr_test["target"])
print(f"after {live_steps} steps from scratch: test PSNR {live['psnr_db']:.2f} dB, SSIM {live['ssim']:.3f}")
display(plots_paired.plot_training(history, ["pixel"], ["squared error per pixel ([-1, 1] units)"],
                                   "SRResNet from scratch"))
""")

code(r"""
outputs = method_outputs("test")  # every CIFAR-10 model and baseline on the test images, uint8
sr, colour = outputs["super_resolution"], outputs["colourisation"]
rows = {name: distortion(images, sr["ground truth"]) for name, images in sr.items() if name != "ground truth"}
print_metric_table(rows, ["psnr_db", "ssim", "mae"])
assert rows["cifar10_sr_mse"]["psnr_db"] > rows["bicubic"]["psnr_db"] + 1.0  # the network beats interpolation
show = [3, 7, 12, 21, 30, 44]
display(plots_paired.method_columns({"input 8x8": sr_test["source"], **{k: sr[k] for k in
                                     ("bicubic", "cifar10_sr_mse", "cifar10_sr_l1", "ground truth")}},
                                    show, title="4x super-resolution by regression"))
""")

md(r"""
The regression models beat bicubic interpolation by the pixel measures, and still look soft. The blur has a number:
the power of the image at each spatial frequency. Divided by the data's own power, 1 means "as much detail as real
images at this scale"; blur is a drop towards the high frequencies.
""")

code(r"""
sr_spectra = {name: radial_power_spectrum(sr[name]) for name in ("bicubic", "cifar10_sr_mse", "cifar10_sr_l1",
                                                                 "ground truth")}
display(plots_paired.plot_spectra(sr_spectra, "super-resolution: power by frequency, relative to the data"))
high = slice(12, None)  # 12-16 cycles per image: detail finer than the 8x8 input can hold (its limit is 4)
for name, spectrum in sr_spectra.items():
    print(f"{name:>16}: power at 12-16 cycles / the data's = {(spectrum[high] / sr_spectra['ground truth'][high]).mean():.3f}")
assert (sr_spectra["cifar10_sr_mse"][high] / sr_spectra["ground truth"][high]).mean() < 0.5  # regression is blurred
""")

md(r"""
At 12–16 cycles per image, finer than anything the 8x8 input holds, the regression models have no more power than
bicubic interpolation: what they add is below about 10 cycles, where the input still says something.

The same average in colour: a grey pixel fits many colours, and the L1 model (the conditional median of each
channel) paints the safe middle. Colourfulness (Hasler and Süsstrunk 2003) is 0 for a grey image and rises with the
spread and strength of the colours.
""")

code(r"""
colourfulness_rows = {name: {"colourfulness": colourfulness(images).mean().item()}
                      for name, images in colour.items()}
print_metric_table(colourfulness_rows, ["colourfulness"])
assert colourfulness_rows["cifar10_colour_l1"]["colourfulness"] < 0.8 * colourfulness_rows["ground truth"]["colourfulness"]
""")

md(r"""
## 3. Adversarial losses with pairs: pix2pix and SRGAN

**pix2pix** (Isola et al. 2017) keeps the L1 term and adds a conditional GAN. $D$ sees the input with an output and
judges, patch by patch (notebook 06's PatchGAN), whether the pair is real:

$$
G^* = \arg\min_G \max_D\; \mathbb E_{x,y}[\log D(x, y)] + \mathbb E_x[\log(1 - D(x, G(x)))] \;+\; \lambda\,
\mathbb E_{x,y} \lVert y - G(x) \rVert_1, \qquad \lambda = 100 .
$$

The generator is a U-Net: an encoder, a decoder, and skip connections between layers of the same size, so the
input's edges reach the output directly. An average colour is now punished: real pairs do not look like that.

**SRGAN** (Ledig et al. 2017) drops the pixel loss for a **perceptual loss**: the squared distance between the
features of $G(x)$ and of $y$ in a classifier (the paper: VGG-19), plus $10^{-3}$ times the adversarial loss, and
starts from its MSE model. VGG cannot be downloaded here, so the features are those of a small CIFAR-10 classifier
the course trains itself (`python -m course_utils.pretrain cifar10_classifier`), normalised by their energy; the
adversarial weight against those, $2 \cdot 10^{-2}$, and the length of training, 1,000 steps, were chosen by FID on
*validation* images (`tools/paired_probe.py`): the first recipe, $5 \cdot 10^{-3}$ for 2,000 steps, made images that
Inception judged worse than the MSE model's. Its $D$ is the same PatchGAN, judging the image alone. pix2pix's
colouriser is chosen the same way: with the paper's weights ($\lambda = 100$), 1,000 steps from the L1 model scored
FID 91.9 on validation images against the L1 model's 104.8, where the first recipe (4,000 steps from scratch) scored
108.7, worse than L1; $\lambda = 10$ (96.6), an image-only $D$ (98.9) and an added perceptual term (92.5) were
tried too.

A short pix2pix run from scratch, to see the two players:
""")

code(r"""
train_colour = paired.colourisation("train")
G_live, D_live = build("cifar10_pix2pix_colour")
sampler = pair_sampler(train_colour["source"], train_colour["target"], device, torch.Generator().manual_seed(0))
history = PairedTrainer(G_live, sampler, replace(CIFAR10_PIX2PIX_COLOUR.train, steps=live_steps), device,
                        D=D_live).train()
display(plots_paired.plot_training(history, ["pixel", "adversarial", "loss_d", "d_fake"],
                                   ["L1 (weight 100)", "G's adversarial loss", "D's loss", "D on generated pairs"],
                                   "pix2pix on colourisation, from scratch"))
""")

code(r"""
show = [0, 5, 9, 17, 26, 38]
display(plots_paired.method_columns({k: colour[k] for k in ("grey input", "cifar10_colour_l1", "cifar10_pix2pix_colour",
                                                            "ground truth")}, show, title="colourisation"))
display(plots_paired.method_columns({"input 8x8": sr_test["source"], **{k: sr[k] for k in
                                     ("bicubic", "cifar10_sr_mse", "cifar10_srgan", "ground truth")}},
                                    [3, 7, 12, 21, 30, 44], title="4x super-resolution: regression and SRGAN"))
sr_spectra["cifar10_srgan"] = radial_power_spectrum(sr["cifar10_srgan"])
display(plots_paired.plot_spectra({k: sr_spectra[k] for k in ("bicubic", "cifar10_sr_mse", "cifar10_srgan",
                                                              "ground truth")}, "SRGAN puts power back"))
""")

md(r"""
pix2pix paints with more colour than the L1 model, sometimes the right one (the horse's brown), often not (the fire
engine's red is missed), and in blotches where it guesses. SRGAN's spectrum is closer to the data's than the regression
models' at every frequency above 4 cycles: it draws edges and texture that the 8x8 input cannot have told it, so some
of them are invented (look at the frog's skin and the dog's fur against the ground truth).

## 4. The perception-distortion trade-off

Two kinds of measure. **Distortion**: how far each output is from its own ground truth, PSNR in dB and SSIM
(torchmetrics; both higher is closer). **Perception**: how much the outputs, as a set, look like real images: FID
and KID in the offline Inception network of notebook 04, against 2,000 validation images. The "ground truth" row is
the test images themselves: FID's floor at these sizes. Inception at 299x299 costs about 0.12 s an image on two CPU
cores, so the FIDs were recorded once (`python -m course_utils.pretrain paired_quality`); the pixel measures are
recomputed here and must agree with that recording.
""")

code(r"""
recorded = quality["rows"]
table = {}
for task, methods in outputs.items():
    for name, images in methods.items():
        key = f"{task}/{name}"
        if name != "ground truth":
            live = distortion(images, methods["ground truth"])
            assert abs(live["psnr_db"] - recorded[key]["psnr_db"]) < 0.01, (key, live, recorded[key])
        table[key] = recorded[key]
print(quality["evaluation"], "\n")
print_metric_table(table, ["psnr_db", "ssim", "fid", "kid_x1000", "colourfulness"])
""")

code(r"""
def trade_off(task: str, regression: str, adversarial: str) -> dict:
    r, a = recorded[f"{task}/{regression}"], recorded[f"{task}/{adversarial}"]
    change = {key: a[key] - r[key] for key in ("psnr_db", "ssim", "fid", "kid_x1000", "colourfulness")}
    print(f"{adversarial} against {regression}: " + ", ".join(f"{key} {value:+.2f}" for key, value in change.items()))
    assert change["psnr_db"] < 0  # the distortion side of the trade-off: the adversarial model is further from the truth
    return change

srgan = trade_off("super_resolution", "cifar10_sr_mse", "cifar10_srgan")
trade_off("super_resolution", "cifar10_sr_l1", "cifar10_srgan")
pix2pix_change = trade_off("colourisation", "cifar10_colour_l1", "cifar10_pix2pix_colour")
# The perception side, as Inception measures it: both adversarial models gain FID and KID
assert srgan["fid"] < 0 and srgan["kid_x1000"] < 0
assert pix2pix_change["fid"] < 0 and pix2pix_change["kid_x1000"] < 0
# What the adversarial terms did change: colour back towards the data's colourfulness
truth_colour = recorded["colourisation/ground truth"]["colourfulness"]
assert abs(recorded["colourisation/cifar10_pix2pix_colour"]["colourfulness"] - truth_colour) < \
       abs(recorded["colourisation/cifar10_colour_l1"]["colourfulness"] - truth_colour)
for task in ("super_resolution", "colourisation"):
    points = {name.removeprefix("cifar10_"): recorded[f"{task}/{name}"] for name in outputs[task]
              if name not in ("ground truth", "grey input")}
    display(plots_paired.plot_perception_distortion(points, task.replace("_", "-")))
""")

md(r"""
For super-resolution the trade-off is there: SRGAN is 1.5 dB further from the truth than the MSE model, and its
outputs are much nearer to real images as a set (FID 96.8 against 139.7, KID 50.5 against 111.5). So it is for
colourisation: pix2pix is 0.7 dB further from the truth than the L1 model and nearer to real images (FID 68.4 against
81.7, KID 22.9 against 33.3), and more colourful (20.3 against 13.7; the data: 33.9). Both took a choice: the first
recipes (SRGAN's adversarial weight $5 \cdot 10^{-3}$ for 2,000 steps; pix2pix trained from scratch for 4,000
steps) lost PSNR *and* FID, SRGAN's because it drew a regular grain, pix2pix's because of its colour blotches; the
recipes chosen on validation images did not. The SRGAN paper's finding was made with a 16-block generator, VGG-19
features and $10^6$ updates of SRResNet, then $2 \cdot 10^5$ of SRGAN, on a GPU.
""")

md(r"""
**A second reader.** Inception is one network's view. The course's CIFAR-10 classifier gives another: the Fréchet
distance in its penultimate features (64 numbers per image), against the same 2,000 validation images. For
colourisation it is an independent reader (pix2pix never saw it), and it agrees with Inception: pix2pix's outputs are
nearer to real images than the L1 model's. For super-resolution it is not independent: SRGAN was trained to match
that classifier's second block, which feeds these features, so its much lower number there is flattered, and is shown
only to make that point.
""")

code(r"""
classifier = pretrained("cifar10_classifier")
reference_images = paired.super_resolution("validation")["target"][:2000]

@torch.no_grad()
def classifier_features(images):
    return torch.cat([classifier.features(to_signed_unit(chunk)) for chunk in images.split(500)]).double()

reference = classifier_features(reference_images)
second = {key: {"fd_classifier": frechet_distance(classifier_features(images), reference)}
          for task, methods in outputs.items() for name, images in methods.items()
          for key in [f"{task}/{name}"]}
print_metric_table(second, ["fd_classifier"])
assert second["colourisation/cifar10_pix2pix_colour"]["fd_classifier"] < second["colourisation/cifar10_colour_l1"]["fd_classifier"]

""")

md(r"""
## 5. Paired against unpaired, on the same images

Notebook 06 trained a CycleGAN between MNIST and MNIST-M without pairs. Its $F$ (MNIST-M → MNIST) and a pix2pix
trained on the same MNIST-M training images *with* their digits are now read on the same 5,000 held-out images:
the digit by both MNIST readers of the course, and, since the true digit is known here, PSNR and SSIM against it.
""")

code(r"""
cyclegan = pretrained("mnist_cyclegan")
pix2pix = pretrained("mnist_m_pix2pix")
translations = {"CycleGAN F (unpaired)": to_uint8(cyclegan.translate(to_signed_unit(mnist_m_test["source"]), "BA")),
                "pix2pix (paired)": translate(pix2pix, mnist_m_test["source"])}
rows = {name: {**digit_accuracy(images, mnist_m_test["labels"]), **distortion(images, mnist_m_test["target"])}
        for name, images in translations.items()}
print_metric_table(rows, ["accuracy", "accuracy_reader2", "psnr_db", "ssim"])
# The same images as notebook 06's test split: its recorded accuracy of F comes back
assert abs(rows["CycleGAN F (unpaired)"]["accuracy"] - manifest["mnist_cyclegan"]["metrics"]["accuracy_F_b"]) < 0.005
for key in ("accuracy", "accuracy_reader2", "psnr_db", "ssim"):
    assert rows["pix2pix (paired)"][key] > rows["CycleGAN F (unpaired)"][key], key
display(plots_paired.method_columns({"MNIST-M": mnist_m_test["source"], **translations,
                                     "true digit": mnist_m_test["target"]}, list(range(8)),
                                    title="MNIST-M -> MNIST on held-out images"))
""")

md(r"""
## 6. Instructor demo: the wipe

One test image at a time: bicubic, the regression model, SRGAN and the ground truth, with a wipe between any two
and every method's PSNR and SSIM for that image. What to show: where the L2 model is smooth, SRGAN draws edges and
texture (some of it invented: compare with the ground truth), and its PSNR is still the lower one. Where widgets do
not render, the saved output shows four of the images with every method side by side.
""")

code(r"""
wipe = WipeDemo({"bicubic": sr["bicubic"], "L2 regression": sr["cifar10_sr_mse"], "SRGAN": sr["cifar10_srgan"],
                 "ground truth": sr["ground truth"]}, sr_test["source"], indices=[3, 7, 12, 21, 30, 44, 52, 60])
wipe.widget()
""")

md(r"""
## Summary

| | claim | what this notebook measured (CPU budgets, 2 cores) |
|---|---|---|
| 1 | regression on pairs gives the blurred, desaturated average | **yes**: the L2 and L1 SRResNets beat bicubic by 1.3 dB but hold no more power than it at 12–16 cycles (0.30–0.32 of the data's); the L1 colouriser's colourfulness is 13.7 against the data's 33.9 |
| 2 | an adversarial loss loses PSNR and gains FID | **super-resolution: yes**, SRGAN −1.50 dB and FID 96.8 against the MSE model's 139.7 (KID 50.5 against 111.5), **colourisation: yes**, pix2pix −0.70 dB and FID 68.4 against L1's 81.7 (KID 22.9 against 33.3), and the course's classifier agrees; both recipes chosen on validation FID (the first ones lost FID too) |
| 3 | pairs make translation easier | **yes**: pix2pix reads 93.6% / 93.1% of the held-out digits (two readers), CycleGAN's F 90.2% / 90.2%; PSNR against the true digit 19.0 dB against 15.6 dB |

*Try this:* change SRGAN's adversarial weight or its number of steps, or pix2pix's $\lambda$ (`CIFAR10_SRGAN` and
`CIFAR10_PIX2PIX_COLOUR` in `course_utils/recipes.py`; `tools/paired_probe.py` scores candidates), retrain (`python -m course_utils.pretrain cifar10_srgan`) and
compare its FID on *validation* images, not the test images, with the MSE model's: where on the plane does the point go, and when do
the invented textures stop looking like the image? Or train pix2pix with the GAN term alone ($\lambda = 0$):
pix2pix's paper found its outputs sharp but often wrong.
""")


def main() -> None:
    NOTEBOOK.write("10_paired_translation.ipynb")


if __name__ == "__main__":
    main()
