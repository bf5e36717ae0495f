"""Figures of notebook 10 (paired translation): methods side by side, power spectra, the perception-distortion plane.
Each function returns a matplotlib Figure and leaves global settings alone."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor


def method_columns(images: dict[str, Tensor], indices: Sequence[int], title: str = "", scale: float = 1.0) -> Figure:
    """One column per method (uint8 images (N, C, H, W), grey or RGB, any size), one row per image index."""
    names = list(images)
    fig = Figure(figsize=(1.35 * scale * len(names), 1.3 * scale * len(indices) + 0.5), layout="constrained")
    axes = fig.subplots(len(indices), len(names), squeeze=False)
    for column, name in enumerate(names):
        for row, index in enumerate(indices):
            ax = axes[row, column]
            picture = images[name][index].permute(1, 2, 0).squeeze(-1).float().numpy() / 255
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def plot_spectra(spectra: dict[str, Tensor], title: str = "") -> Figure:
    """Radially averaged power spectra (image_metrics.radial_power_spectrum), each divided by the ground truth's,
    so 1 is the data's power at that frequency and the blur is the drop towards the high frequencies."""
    truth = spectra["ground truth"].numpy()
    fig = Figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.subplots()
    radii = np.arange(len(truth))
    for name, spectrum in spectra.items():
        style = {"color": "black", "linestyle": ":"} if name == "ground truth" else {}
        ax.plot(radii[1:], spectrum.numpy()[1:] / truth[1:], marker="o", markersize=3, label=name, **style)
    ax.set_yscale("log")
    ax.set_xlabel("spatial frequency (cycles per image)")
    ax.set_ylabel("power / the data's power")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_perception_distortion(rows: dict[str, dict[str, float]], title: str = "",
                               distortion_key: str = "psnr_db", perception_key: str = "fid") -> Figure:
    """Methods as points on Blau and Michaeli's plane: distortion (PSNR, better to the right) against perception
    (FID, better downwards). rows: method -> {distortion_key, perception_key, ...}."""
    fig = Figure(figsize=(5.4, 3.8), layout="constrained")
    ax = fig.subplots()
    for name, row in rows.items():
        ax.scatter(row[distortion_key], row[perception_key], s=40)
        ax.annotate(name, (row[distortion_key], row[perception_key]), textcoords="offset points", xytext=(6, 4),
                    fontsize=9)
    ax.set_xlabel("PSNR (dB), higher: closer to its own ground truth")
    ax.set_ylabel("FID, lower: more like real images")
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_training(history: dict[str, list[float]], keys: Sequence[str], labels: Sequence[str], title: str = "") -> Figure:
    """One panel per logged value of a PairedTrainer's history (each against the step)."""
    fig = Figure(figsize=(max(5.0, 3.4 * len(keys)), 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key, label in zip(axes, keys, labels):
        ax.plot(history["step"], history[key], color="tab:blue")
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
