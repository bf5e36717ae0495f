"""Figures for the notebooks. Every function returns a matplotlib Figure and leaves rcParams alone.

Lecture conventions (Goodfellow et al. 2014, Figure 1): the data density p_data is black dotted,
the generator's density p_g green solid, the discriminator D(x) blue dashed; below them the line
of z, with arrows showing the mapping x = G(z).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from .data import GaussianMixture
from .metrics import discriminator_probability, generator_samples, kde_pdf, optimal_discriminator

DATA_STYLE = dict(color="black", linestyle=":", linewidth=2.2, label=r"$p_{data}$")
GENERATOR_STYLE = dict(color="tab:green", linestyle="-", linewidth=2.2, label=r"$p_g$")
DISCRIMINATOR_STYLE = dict(color="tab:blue", linestyle="--", linewidth=2.2, label=r"$D(x)$")
OPTIMAL_STYLE = dict(color="tab:red", linestyle="-.", linewidth=1.5, label=r"$D^*(x)$")
GENERATOR_LOSS_COLORS = {"minimax": "tab:purple", "non_saturating": "tab:green"}  # the same in every figure
Z_RANGE = 3.0  # the z line shows z from -3 to 3 (99.7% of N(0, 1)) across the panel's width
PEAK_LIMIT = 3.0  # a p_g taller than this is clipped, and its peak height written beside it


@dataclass
class Snapshot:
    """Everything the lecture figure draws at one moment of training, computed from G and D."""

    step: int
    grid: Tensor  # x values
    p_data: Tensor  # exact density on the grid
    p_g: Tensor  # KDE of G's samples on the grid
    d: Tensor  # D(x) on the grid
    z: Tensor  # quantiles of N(0, 1), evenly spaced in probability: equal mass between arrows
    x_of_z: Tensor  # G(z) for those z
    label: str = ""

    @property
    def d_star(self) -> Tensor:
        """D* = p_data / (p_data + p_g) for this snapshot's p_g."""
        return optimal_discriminator(self.p_data, self.p_g)


@torch.no_grad()
def take_snapshot(G: nn.Module, D: nn.Module, p_data: GaussianMixture, step: int = 0, label: str = "",
                  grid: Tensor | None = None, n_samples: int = 20_000, n_arrows: int = 21) -> Snapshot:
    """Evaluate p_data, p_g (by KDE of n_samples draws of G), D and the z -> x map."""
    grid = p_data.plot_range(width=4.0, points=400) if grid is None else grid
    device = next(G.parameters()).device
    # The i-th arrow starts at the (i + 1/2)/n quantile of N(0, 1): as many samples of z fall
    # between two neighbouring arrows as between any other two, so arrows crowd where p_g is high.
    z = torch.special.ndtri((torch.arange(n_arrows, dtype=torch.float64) + 0.5) / n_arrows).float()[:, None]
    z = torch.cat([z, torch.zeros(n_arrows, G.cfg.z_dim - 1)], dim=1) if G.cfg.z_dim > 1 else z
    x_of_z = G(z.to(device)).reshape(-1).cpu()
    return Snapshot(step, grid, p_data.pdf(grid), kde_pdf(generator_samples(G, n_samples), grid),
                    discriminator_probability(D, grid), z[:, 0], x_of_z, label)


def density_top(snapshots: Sequence[Snapshot]) -> float:
    """The top of the y axis that shows every curve of the snapshots whole (up to PEAK_LIMIT)."""
    peak = max(max(snap.p_g.max().item(), snap.p_data.max().item()) for snap in snapshots)
    return min(max(1.1, 1.05 * peak), PEAK_LIMIT)


def draw_snapshot(ax: Axes, snap: Snapshot, show_d_star: bool = False, legend: bool = True,
                  top: float | None = None) -> None:
    """Draw one lecture panel: p_data, p_g, D(x); under it the z line, with arrows to x = G(z).

    `ax` must come from a grid (fig.subplots): its slot is split between the curves and, below
    them, a strip with the arrows (same x axis; the z line has its own scale). The legend goes
    above the figure, away from the curves.
    """
    grid = snap.grid.numpy()
    ax.plot(grid, snap.p_data.numpy(), **DATA_STYLE)
    ax.plot(grid, snap.p_g.numpy(), **GENERATOR_STYLE)
    ax.plot(grid, snap.d.numpy(), **DISCRIMINATOR_STYLE)
    if show_d_star:
        ax.plot(grid, snap.d_star.numpy(), **OPTIMAL_STYLE)
    lo, hi = float(grid[0]), float(grid[-1])
    top = density_top([snap]) if top is None else top
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.03, top)
    ax.set_yticks([0, 0.5, 1.0] + ([2.0] if top > 2.1 else []))
    ax.axhline(0.5, color="0.85", linewidth=0.8, zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(snap.label or f"step {snap.step}", fontsize=11)
    peak = snap.p_g.max().item()
    if peak > top:  # too tall to show without flattening every other curve: say how tall
        where = grid[int(snap.p_g.argmax())]
        ax.annotate(f"$p_g$ peaks at {peak:.1f}", xy=(where, top), xytext=(6, -4), textcoords="offset points",
                    ha="left", va="top", fontsize=9, color=GENERATOR_STYLE["color"])

    # The strip of arrows takes the lower part of ax's slot in the figure's grid.
    upper, lower = ax.get_subplotspec().subgridspec(2, 1, height_ratios=[3, 1], hspace=0.02)
    ax.set_subplotspec(upper)
    strip = ax.get_figure().add_subplot(lower)
    strip.set_xlim(lo, hi)
    strip.set_ylim(0, 1)
    strip.set_axis_off()
    x_line, z_line = 0.95, 0.3
    strip.hlines([x_line, z_line], lo, hi, color="0.3", linewidth=1)
    strip.text(lo, x_line - 0.04, " x", fontsize=11, style="italic", va="top")
    strip.text(lo, z_line + 0.04, " z", fontsize=11, style="italic", va="bottom")

    def z_position(z: float) -> float:  # z in [-Z_RANGE, Z_RANGE] -> across the panel
        return lo + (z + Z_RANGE) / (2 * Z_RANGE) * (hi - lo)

    for tick in range(-int(Z_RANGE), int(Z_RANGE) + 1):
        strip.vlines(z_position(tick), z_line - 0.05, z_line, color="0.3", linewidth=1)
        strip.text(z_position(tick), z_line - 0.08, f"{tick:g}", ha="center", va="top", fontsize=8, color="0.3")
    off_plot = 0
    for z, x in zip(snap.z.tolist(), snap.x_of_z.tolist()):
        outside = not lo <= x <= hi
        off_plot += outside
        strip.annotate("", xy=(min(max(x, lo), hi), x_line), xytext=(z_position(z), z_line),
                       arrowprops=dict(arrowstyle="->", color="tab:red" if outside else "0.35", linewidth=0.9,
                                       shrinkA=0, shrinkB=1))
    if off_plot:  # their arrows stop at the edge, in red
        strip.text(hi, x_line - 0.08, f"{off_plot} of {len(snap.z)} arrows: G(z) off the plot (red)",
                   ha="right", va="top", fontsize=8, color="tab:red",
                   bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1))
    if legend:
        handles, labels = ax.get_legend_handles_labels()
        ax.figure.legend(handles, labels, loc="outside upper center", ncol=len(handles), fontsize=9,
                         frameon=False, handlelength=2.2, columnspacing=1.2)


def plot_lecture_figure(snapshots: Sequence[Snapshot], captions: Sequence[str] | None = None) -> Figure:
    """Panels (a), (b), (c), ... side by side, each drawn from a real training snapshot.

    A single snapshot is drawn without a letter."""
    fig = Figure(figsize=(4.2 * len(snapshots), 4.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(snapshots), sharey=True))
    top = density_top(snapshots)
    for i, (ax, snap) in enumerate(zip(axes, snapshots)):
        draw_snapshot(ax, snap, legend=i == 0, top=top)
        if len(snapshots) > 1:
            letter = f"({chr(ord('a') + i)})"
            ax.set_title(f"{letter} {snap.label or f'step {snap.step}'}", fontsize=11)
        if captions:
            ax.set_xlabel(captions[i], fontsize=9)
    return fig


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Running mean over `window` points (same length; the start uses what it has)."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (cumulative[1:] - cumulative[np.maximum(np.arange(1, len(values) + 1) - window, 0)]) / counts


def plot_losses(history: dict[str, list[float]], window: int = 50, title: str = "") -> Figure:
    """Loss curves (left) and D's mean outputs on real and fake batches (right)."""
    steps = np.asarray(history["step"])
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(steps, smooth(history["loss_d"], window), label=r"loss$_D$", color="tab:blue")
    left.plot(steps, smooth(history["loss_g"], window), label=r"loss$_G$", color="tab:green")
    left.axhline(np.log(4), color="0.6", linestyle=":", label=r"$\log 4$ (D at 1/2)")
    left.set_xlabel("step")
    left.legend(frameon=False)
    right.plot(steps, smooth(history["d_real"], window), label=r"$D(x)$ on real", color="black")
    right.plot(steps, smooth(history["d_fake"], window), label=r"$D(G(z))$ on fake", color="tab:green")
    right.axhline(0.5, color="0.6", linestyle=":")
    right.set_ylim(0, 1)
    right.set_xlabel("step")
    right.legend(frameon=False)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def plot_optimal_discriminator(snap: Snapshot, support: tuple[float, float] | None = None) -> Figure:
    """The trained D next to D* = p_data / (p_data + p_g); the data's support shaded."""
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.subplots()
    if support is not None:  # drawn first, so that draw_snapshot's legend lists it
        ax.axvspan(*support, facecolor="0.92", edgecolor="0.6", linewidth=0.8, zorder=-1,
                   label="central 95% of $p_{data}$")
    draw_snapshot(ax, snap, show_d_star=True)
    return fig


def plot_curves(x: Sequence[float], curves: dict[str, Sequence[float]], xlabel: str, ylabel: str,
                title: str = "", hlines: dict[str, float] | None = None, logy: bool = False,
                marker: str = "o", logx: bool = False, colors: dict[str, str] | None = None) -> Figure:
    """Several named curves over the same x (e.g. diagnostics against training steps).

    `colors` optionally maps a curve's name to its colour (e.g. GENERATOR_LOSS_COLORS)."""
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    for name, values in curves.items():
        ax.plot(x, values, marker=marker, markersize=3, label=name, color=(colors or {}).get(name))
    for i, (name, value) in enumerate((hlines or {}).items()):  # C{i}: the colour of the i-th curve
        ax.axhline(value, color=f"C{i}", linestyle=":", label=name)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def live_losses(every: int = 250, window: int = 50) -> Callable:
    """A training hook that redraws the loss curves in the notebook every `every` steps."""
    from IPython.display import clear_output, display

    def hook(trainer) -> None:
        if trainer.step % every == 0:
            trainer.flush()  # the logs still on the device (the engine reads them every log_every steps)
            history, title = trainer.history, f"step {trainer.step}"
            if {"loss_d", "loss_g", "d_real", "d_fake"} <= set(history):  # a GAN: its losses and D's outputs
                fig = plot_losses(history, window=window, title=title)
            else:  # any other trainer (VAE, CycleGAN, ...): each logged value against the step
                curves = {key: smooth(values, window) for key, values in history.items() if key != "step"}
                fig = plot_curves(history["step"], curves, xlabel="step", ylabel="logged value", title=title,
                                  marker="")
            clear_output(wait=True)
            display(fig)
    return hook


def plot_generator_losses(points: int = 400) -> Figure:
    """Both generator losses, and their gradient with respect to D's logit, against D(G(z)).

    Values and gradients come from course_utils.losses through autograd, so the figure shows
    what the code computes, not a formula typed twice.
    """
    from .losses import GENERATOR_LOSSES

    d_fake = torch.linspace(1e-3, 1 - 1e-3, points, dtype=torch.float64)
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    styles = {"minimax": dict(color=GENERATOR_LOSS_COLORS["minimax"], label=r"minimax: $\log(1 - D(G(z)))$"),
              "non_saturating": dict(color=GENERATOR_LOSS_COLORS["non_saturating"],
                                     label=r"non-saturating: $-\log D(G(z))$")}
    for name, loss_fn in GENERATOR_LOSSES.items():
        logits = torch.logit(d_fake).requires_grad_(True)
        values = torch.stack([loss_fn(logit[None]) for logit in logits])
        (gradient,) = torch.autograd.grad(values.sum(), logits)
        left.plot(d_fake, values.detach(), **styles[name])
        right.plot(d_fake, gradient.abs(), **styles[name])
    left.set_ylabel("generator loss (minimised)")
    right.set_ylabel(r"$|\partial\, \mathrm{loss} / \partial\, \mathrm{logit}|$")
    # Legends and the label of the shaded band where the curves leave room.
    for ax, corner, label_height in ((left, "upper right", 0.3), (right, "upper center", 0.55)):
        ax.axvspan(0, 0.1, color="0.92", zorder=-1)
        ax.text(0.03, label_height, "early training:\nD rejects fakes", transform=ax.transAxes, va="center",
                fontsize=9)
        ax.set_xlabel(r"$D(G(z))$")
        ax.legend(frameon=False, loc=corner)
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def tile_images(images: Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """Images (n, c, h, w) in [-1, 1] -> one (H, W) or (H, W, 3) array in [0, 1], nrow per row."""
    images = ((images.detach().float().cpu().clamp(-1, 1) + 1) / 2)
    n, c, h, w = images.shape
    rows = math.ceil(n / nrow)
    canvas = torch.ones(c, rows * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        canvas[:, top:top + h, left:left + w] = images[i]
    return canvas[0].numpy() if c == 1 else canvas.permute(1, 2, 0).numpy()


def image_grid(images: Tensor, nrow: int = 8, title: str = "", scale: float = 0.45) -> Figure:
    """A grid of images in [-1, 1] (grey or RGB), nrow per row."""
    tiled = tile_images(images, nrow)
    fig = Figure(figsize=(max(scale * tiled.shape[1] / 14, 2), scale * tiled.shape[0] / 14 + (0.4 if title else 0)),
                 layout="constrained")
    ax = fig.subplots()
    ax.imshow(tiled, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def image_rows(rows: Sequence[Tensor], labels: Sequence[str], title: str = "", scale: float = 0.45) -> Figure:
    """Several rows of images, each labelled on the left (progress grids, interpolations, neighbours)."""
    fig = Figure(figsize=(scale * len(rows[0]) * 30 / 14 / 2 + 1.2, scale * len(rows) * 30 / 14 / 2 + 0.5),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(rows), 1))
    for ax, row, label in zip(axes, rows, labels):
        ax.imshow(tile_images(row, len(row)), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        for spine in ax.spines.values():
            spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_bars(labels: Sequence[str], series: dict[str, Sequence[float]], ylabel: str, title: str = "",
              hline: float | None = None) -> Figure:
    """Grouped bars, e.g. the class histogram of several models."""
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        ax.bar(np.arange(len(labels)) + (i - (len(series) - 1) / 2) * width, values, width, label=name)
    if hline is not None:
        ax.axhline(hline, color="0.4", linestyle=":")
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    # The legend goes below the plot, outside the axes, so that no bar can run under it.
    fig.legend(frameon=False, ncol=len(series), loc="outside lower center")
    ax.spines[["top", "right"]].set_visible(False)
    return fig
