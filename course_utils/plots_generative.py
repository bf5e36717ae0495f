"""Figures of notebook 09 (flows and diffusion): densities on the plane, a flow's warped grid, denoising
trajectories, and the course's models on one chart. Each function returns a Figure and leaves global settings alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from .plots import tile_images

EXTENT = 3.0  # the plane shown: [-3, 3]^2 (the data are scaled to about unit spread)


def density_grid(log_prob: Callable[[Tensor], Tensor], extent: float = EXTENT, points: int = 201
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """exp(log_prob) on a points x points grid over [-extent, extent]^2: the axis, the density (rows: y) and the
    mass the grid holds (the density times the cell area, summed)."""
    axis = torch.linspace(-extent, extent, points)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    with torch.no_grad():
        density = log_prob(torch.stack([xx.ravel(), yy.ravel()], 1)).exp().reshape(points, points)
    cell = (axis[1] - axis[0]).item() ** 2
    return axis.numpy(), density.numpy(), float(density.sum()) * cell


def plot_density_beside_data(panels: Sequence[tuple[str, Tensor, Callable[[Tensor], Tensor]]],
                             extent: float = EXTENT) -> Figure:
    """One column per data set: its points on top, the flow's exact density (a heat map) below."""
    fig = Figure(figsize=(3.1 * len(panels), 6.0), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False)
    for column, (name, points, log_prob) in enumerate(panels):
        top, bottom = axes[0, column], axes[1, column]
        top.scatter(points[:, 0], points[:, 1], s=2, color="black", alpha=0.4)
        top.set_title(f"{name}: {len(points):,} data points", fontsize=10)
        axis, density, mass = density_grid(log_prob, extent)
        bottom.imshow(density, origin="lower", extent=(-extent, extent, -extent, extent), cmap="viridis")
        bottom.set_title(f"the flow's p(x); mass on the grid {mass:.3f}", fontsize=10)
        for ax in (top, bottom):
            ax.set_xlim(-extent, extent)
            ax.set_ylim(-extent, extent)
            ax.set_aspect("equal")
            ax.tick_params(labelsize=8)
    return fig


def grid_lines(extent: float = 2.5, lines: int = 13, points: int = 200) -> Tensor:
    """Horizontal and vertical lines of the z plane, as (2 * lines, points, 2)."""
    ticks = torch.linspace(-extent, extent, lines)
    along = torch.linspace(-extent, extent, points)
    horizontal = torch.stack([along.expand(lines, -1), ticks[:, None].expand(-1, points)], dim=2)
    vertical = torch.stack([ticks[:, None].expand(-1, points), along.expand(lines, -1)], dim=2)
    return torch.cat([horizontal, vertical])


@torch.no_grad()
def warp_stages(flow, lines: Tensor | None = None) -> list[Tensor]:
    """The z-plane grid pushed back through a Flow2d one coupling at a time: stage 0 is z, the last is x = f^-1(z)."""
    lines = grid_lines() if lines is None else lines
    h = lines.reshape(-1, 2)
    stages = [h.reshape(lines.shape)]
    for layer in reversed(flow.layers):
        h = layer.inverse(h)
        stages.append(h.reshape(lines.shape))
    return stages


def draw_grid(ax: Axes, stage: Tensor, data: Tensor | None = None, extent: float = EXTENT) -> None:
    """Onto ax: the grid lines of one stage (the middle lines darker) over the data points, if given."""
    if data is not None:
        ax.scatter(data[:, 0], data[:, 1], s=2, color="tab:orange", alpha=0.3)
    middle = {len(stage) // 4, 3 * len(stage) // 4}
    for index, line in enumerate(stage):
        ax.plot(line[:, 0], line[:, 1], color="0.1" if index in middle else "tab:blue",
                lw=1.2 if index in middle else 0.6)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=8)


def plot_warp(stages: Sequence[Tensor], data: Tensor, shown: Sequence[int] | None = None) -> Figure:
    """The grid of the z plane after 0, ..., all of the flow's inverse couplings, beside the data."""
    shown = list(shown) if shown is not None else sorted({0, len(stages) // 4, len(stages) // 2, len(stages) - 1})
    fig = Figure(figsize=(3.0 * len(shown), 3.2), layout="constrained")
    for ax, index in zip(np.atleast_1d(fig.subplots(1, len(shown))), shown):
        draw_grid(ax, stages[index], data if index == len(stages) - 1 else None)
        ax.set_title("z (the Gaussian's plane)" if index == 0 else
                     f"after {index} inverse coupling{'s' if index > 1 else ''}" + (" = x" if index == len(stages) - 1
                                                                                    else ""), fontsize=10)
    return fig


def plot_point_trajectories(frames: Sequence[tuple[float, Tensor]], data: Tensor, label: str,
                            positions: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0), paths: int = 40) -> Figure:
    """A 2-D sampler's cloud at `positions` along its path (0: noise, 1: data), and the paths of `paths` points on
    the last panel (a frame is (time label, points))."""
    picks = [round(position * (len(frames) - 1)) for position in positions]
    shown = len(picks)
    fig = Figure(figsize=(2.7 * (shown + 1), 2.9), layout="constrained")
    axes = fig.subplots(1, shown + 1)
    for ax, index in zip(axes, picks):
        t, points = frames[index]
        ax.scatter(points[:, 0], points[:, 1], s=2, color="tab:blue", alpha=0.4)
        ax.set_title(f"{label} = {t:g}", fontsize=10)
    track = torch.stack([points[:paths] for _, points in frames])  # (frames, paths, 2)
    axes[-1].scatter(data[:, 0], data[:, 1], s=2, color="0.7", alpha=0.4)
    for k in range(paths):
        axes[-1].plot(track[:, k, 0], track[:, k, 1], lw=0.7, color="tab:red", alpha=0.8)
    axes[-1].scatter(track[-1, :, 0], track[-1, :, 1], s=6, color="tab:red")
    axes[-1].set_title(f"{paths} paths, noise -> data", fontsize=10)
    for ax in axes:
        ax.set_xlim(-EXTENT, EXTENT)
        ax.set_ylim(-EXTENT, EXTENT)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    return fig


def image_frames_figure(frames: Sequence[tuple[float, Tensor]], label: str, shown: int = 8, images: int = 6) -> Figure:
    """Images along a sampler's path (columns: moments from noise to data; rows: `images` samples)."""
    picks = np.linspace(0, len(frames) - 1, shown).round().astype(int)
    columns = [frames[i][1][:images].clamp(-1, 1) for i in picks]
    tiled = [tile_images(column, 1) for column in columns]
    fig = Figure(figsize=(1.0 * shown + 0.6, 1.0 * images + 0.5), layout="constrained")
    for ax, index, tile in zip(np.atleast_1d(fig.subplots(1, shown)), picks, tiled):
        ax.imshow(tile, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{label}={frames[index][0]:g}", fontsize=9)
    return fig


def plot_quality_against_cost(rows: dict[str, dict], x_key: str, y_key: str, xlabel: str, ylabel: str,
                              title: str = "", logx: bool = True) -> Figure:
    """One point per row (a model or a sampler setting), labelled, e.g. Frechet distance against seconds."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    for name, row in rows.items():
        ax.scatter(row[x_key], row[y_key], s=30)
        ax.annotate(name, (row[x_key], row[y_key]), textcoords="offset points", xytext=(5, 4), fontsize=8)
    if logx:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    return fig
