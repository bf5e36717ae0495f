"""Demos of the conditional and translation lectures: a conditional GAN's classes (notebook 06), CycleGAN's
translations (notebook 06), and a wipe between super-resolution methods on one image (notebook 10)."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
import torch
from matplotlib.figure import Figure

from ..plots import tile_images
from .display import DemoBox, FigureView, image_beside_strip, label_style, slider_layout


class ConditionalDemo:
    """Choose a class and a noise seed; the conditional generator draws that class at once, and beside it the same
    noise in every class."""

    name = "conditional"

    def __init__(self, G: torch.nn.Module, classes: Sequence[str] = tuple(str(d) for d in range(10))):
        self.G = G.eval()
        self.classes = list(classes)
        self.controls: dict[str, w.Widget] = {}

    @torch.no_grad()
    def image(self, digit: int, seed: int) -> torch.Tensor:
        """One image (1, C, H, W) of class `digit` from the noise of `seed`."""
        return self.G.generate(torch.tensor([digit]), seed=seed).cpu()

    def static_figure(self, seeds: Sequence[int] = range(10)) -> Figure:
        """Every class (rows) for a few seeds (columns): what the widget can show."""
        from ..plots import image_rows

        rows = [torch.cat([self.image(c, s) for s in seeds]) for c in range(len(self.classes))]
        return image_rows(rows, self.classes, title="class (rows) x noise seed (columns)")

    def figure(self, digit: int, seed: int) -> Figure:
        """The chosen class (left) and the same noise in every class (right, the chosen one outlined)."""
        same_noise = torch.cat([self.image(c, seed) for c in range(len(self.classes))])
        return image_beside_strip(same_noise[digit:digit + 1], same_noise, digit,
                                  f"class {self.classes[digit]}, seed {seed}", "the same noise, every class",
                                  (9.6, 1.9), len(self.classes) * 0.56)

    def widget(self):
        """A class dropdown, a seed slider and the picture."""
        view = FigureView()
        digit = w.Dropdown(options=[(name, i) for i, name in enumerate(self.classes)], value=0, description="class",
                           style=label_style(0.6), layout=w.Layout(width="auto"))
        seed = w.IntSlider(min=0, max=999, value=0, description="noise seed", continuous_update=True,
                           layout=slider_layout(), style=label_style())
        self.controls = {"class": digit, "noise seed": seed}

        def redraw(*_) -> None:
            view.show(self.figure(digit.value, seed.value))

        digit.observe(redraw, names="value")
        seed.observe(redraw, names="value")
        redraw()
        return DemoBox([w.HBox([digit, seed]), view.widget], self.static_figure, self.name)


class TranslationDemo:
    """Pick a held-out image of either domain; see its translation and its reconstruction."""

    name = "translation"

    def __init__(self, model: torch.nn.Module, images_a: torch.Tensor, images_b: torch.Tensor):
        self.model = model.eval()
        self.images = {"A": images_a, "B": images_b}  # in [-1, 1]
        self.controls: dict[str, w.Widget] = {}

    @torch.no_grad()
    def row(self, domain: str, index: int) -> torch.Tensor:
        """[x, translation, reconstruction] for image `index` of `domain` ('A' or 'B')."""
        x = self.images[domain][index:index + 1]
        there, back = ("AB", "BA") if domain == "A" else ("BA", "AB")
        y = self.model.translate(x, there)
        return torch.cat([x, y, self.model.translate(y, back)])

    def static_figure(self, indices: Sequence[int] = range(4)) -> Figure:
        """Rows for a few images of each domain."""
        from ..plots import image_rows

        rows = [self.row(d, i) for d in ("A", "B") for i in indices]
        labels = [f"{d} #{i}" for d in ("A", "B") for i in indices]
        return image_rows(rows, labels, title="image | translated | translated back", scale=0.8)

    def figure(self, domain: str, index: int) -> Figure:
        """The image, its translation and the translation back, labelled."""
        there = ("MNIST", "MNIST-M") if domain == "A" else ("MNIST-M", "MNIST")
        fig = Figure(figsize=(6.6, 2.6), layout="constrained")
        for ax, image, title in zip(fig.subplots(1, 3), self.row(domain, index),
                                    [f"{there[0]} #{index}", f"-> {there[1]}", f"-> back to {there[0]}"]):
            ax.imshow(tile_images(image[None], 1, padding=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title, fontsize=11)
            ax.set_axis_off()
        return fig

    def widget(self):
        """A domain toggle and an index slider."""
        view = FigureView()
        domain = w.ToggleButtons(options=[("MNIST (A) -> MNIST-M", "A"), ("MNIST-M (B) -> MNIST", "B")], value="A",
                                 style={"button_width": "auto"})
        index = w.IntSlider(min=0, max=len(self.images["A"]) - 1, value=0, description="image",
                            layout=slider_layout(), style=label_style(0.6))
        self.controls = {"domain": domain, "image": index}

        def redraw(*_) -> None:
            index.max = len(self.images[domain.value]) - 1
            view.show(self.figure(domain.value, index.value))

        domain.observe(redraw, names="value")
        index.observe(redraw, names="value")
        redraw()
        return DemoBox([domain, index, view.widget], self.static_figure, self.name)


class WipeDemo:
    """A wipe between the answers of several methods on one image (notebook 10): the left part of the picture from
    one method, the right part from another, the boundary on a slider; under it, each method's PSNR and SSIM for that
    image against the ground truth.

    images: method -> uint8 (N, 3, H, W), in the order to offer, the ground truth under `truth`; inputs: the models'
    uint8 inputs (N, C, h, w), drawn small beside the wipe; indices: the images offered (default: all); image_ids:
    the number each image is called by (default: its position; e.g. its test-set index when given a subset)."""

    name = "wipe"

    def __init__(self, images: dict[str, torch.Tensor], inputs: torch.Tensor, truth: str = "ground truth",
                 indices: Sequence[int] | None = None, image_ids: Sequence[int] | None = None):
        from ..image_metrics import psnr, ssim

        if truth not in images:
            raise ValueError(f"WipeDemo needs the ground truth among the images, under {truth!r}; got {list(images)}")
        shapes = {name: tuple(x.shape) for name, x in images.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"WipeDemo needs images of one shape for every method, got {shapes}")
        self.images, self.inputs, self.truth = images, inputs, truth
        self.methods = list(images)
        self.indices = list(indices) if indices is not None else list(range(len(inputs)))
        self.image_ids = list(image_ids) if image_ids is not None else list(range(len(inputs)))
        if len(self.image_ids) != len(inputs):
            raise ValueError(f"WipeDemo needs one image id per image ({len(inputs)}), got {len(self.image_ids)}")
        target = images[truth]
        self.scores = {name: (psnr(x, target), ssim(x, target)) for name, x in images.items() if name != truth}
        self.controls: dict[str, w.Widget] = {}

    def composite(self, index: int, left: str, right: str, position: float) -> torch.Tensor:
        """Image `index` (H, W, 3) in [0, 1]: columns left of `position` (0..1 of the width) from `left`, the rest
        from `right`."""
        width = self.images[left].shape[-1]
        split = round(position * width)
        picture = torch.cat([self.images[left][index][..., :split], self.images[right][index][..., split:]], dim=-1)
        return picture.permute(1, 2, 0).float() / 255

    def numbers(self, index: int) -> str:
        """PSNR and SSIM of every method for image `index`, one line each."""
        lines = [f"{'':<22}{'PSNR':>8}{'SSIM':>7}"]
        for name, (psnr_values, ssim_values) in self.scores.items():
            lines.append(f"{name:<22}{psnr_values[index].item():>6.1f}dB{ssim_values[index].item():>7.3f}")
        return "\n".join(lines)

    def figure(self, index: int, left: str, right: str, position: float, scale: float = 1.0) -> Figure:
        """The input, the wipe with its boundary, and the numbers, for image `index`."""
        fig = Figure(figsize=(9.6 * scale, 4.2 * scale), layout="constrained")
        small, big, text = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 2.6, 2.2]})
        source = self.inputs[index]
        small.imshow(source.permute(1, 2, 0).squeeze(-1).float().numpy() / 255, cmap="gray", vmin=0, vmax=1,
                     interpolation="nearest")
        small.set_title(f"input, {source.shape[-1]}x{source.shape[-2]}", fontsize=11 * scale)
        big.imshow(self.composite(index, left, right, position).numpy(), interpolation="nearest")
        width = self.images[left].shape[-1]
        big.axvline(position * width - 0.5, color="white", linewidth=2)
        big.set_title(f"<- {left}  |  {right} ->", fontsize=12 * scale)
        for ax in (small, big, text):
            ax.set_axis_off()
        text.text(0, 0.5, self.numbers(index), family="monospace", fontsize=10 * scale, va="center")
        text.set_title(f"test image {self.image_ids[index]}", fontsize=11 * scale)
        return fig

    def static_figure(self, indices: Sequence[int] | None = None) -> Figure:
        """A few images, every method side by side, with each one's PSNR under it."""
        indices = list(indices) if indices is not None else self.indices[:4]
        columns = ["input", *self.methods]
        fig = Figure(figsize=(1.7 * len(columns), 1.9 * len(indices)), layout="constrained")
        axes = fig.subplots(len(indices), len(columns), squeeze=False)
        for row, index in enumerate(indices):
            for column, name in enumerate(columns):
                ax = axes[row, column]
                picture = self.inputs[index] if name == "input" else self.images[name][index]
                ax.imshow(picture.permute(1, 2, 0).squeeze(-1).float().numpy() / 255, cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(name, fontsize=10)
                if name in self.scores:
                    ax.set_xlabel(f"{self.scores[name][0][index].item():.1f} dB", fontsize=9)
        return fig

    def widget(self):
        """An image chooser, the two methods of the wipe, and the wipe slider."""
        view = FigureView()
        choose = w.Dropdown(options=[(f"test image {self.image_ids[i]}", i) for i in self.indices], value=self.indices[0],
                            description="image", style=label_style(0.6), layout=w.Layout(width="auto"))
        left = w.Dropdown(options=self.methods, value=self.methods[0], description="left", style=label_style(0.5),
                          layout=w.Layout(width="auto"))
        right = w.Dropdown(options=self.methods, value=self.methods[-1], description="right",
                           style=label_style(0.5), layout=w.Layout(width="auto"))
        position = w.FloatSlider(min=0.0, max=1.0, step=1 / 32, value=0.5, description="wipe", readout=False,
                                 continuous_update=True, layout=slider_layout(1.3), style=label_style(0.5))
        self.controls = {"image": choose, "left": left, "right": right, "wipe": position}

        def redraw(*_) -> None:
            view.show(self.figure(choose.value, left.value, right.value, position.value))

        for control in (choose, left, right, position):
            control.observe(redraw, names="value")
        redraw()
        return DemoBox([w.HTML("<b>Drag the wipe</b>: left of the white line one method, right of it another"),
                        w.HBox([choose, left, right]), position, view.widget], self.static_figure, self.name)
