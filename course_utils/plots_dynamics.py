"""Figures of the training-dynamics notebook: the Dirac-GAN's vector field, the parallel lines, and
generated samples on a 2-D mixture over the discriminator's (or critic's) contours.

Every function returns a matplotlib Figure and leaves rcParams alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from .data import GaussianMixture
from .dynamics import Trajectory, parallel_lines_distances


def _method_color(trajectory: Trajectory) -> str:
    """One colour per kind of run, the same in every figure: red diverges, orange circles, green/blue converge."""
    game = trajectory.game
    if game.r1_weight:
        return "tab:green"
    if game.noise_std:
        return "tab:blue"
    return "tab:red" if trajectory.method == "simultaneous" else "tab:orange"


def plot_dirac_gan(trajectories: Sequence[Trajectory], extent: float = 2.0, grid_points: int = 25) -> Figure:
    """One panel per run: the streamlines of its game's vector field over (theta, psi) and its iterates."""
    fig = Figure(figsize=(3.6 * len(trajectories), 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(trajectories), sharey=True))
    axis = torch.linspace(-extent, extent, grid_points, dtype=torch.float64)
    theta, psi = torch.meshgrid(axis, axis, indexing="xy")  # rows follow psi, columns theta, as streamplot wants
    for ax, trajectory in zip(axes, trajectories):
        v_theta, v_psi = trajectory.game.vector_field(theta, psi)
        ax.streamplot(theta.numpy(), psi.numpy(), v_theta.numpy(), v_psi.numpy(), color="0.75", density=0.8,
                      linewidth=0.8, arrowsize=0.8)
        points = trajectory.points.numpy()
        color = _method_color(trajectory)
        ax.plot(points[:, 0], points[:, 1], color=color, linewidth=1.2, marker=".", markersize=2.5)
        ax.plot(*points[0], "o", color=color, markersize=6, label="start")
        ax.plot(0, 0, "*", color="black", markersize=11, label="equilibrium")
        ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal", xlabel=r"$\theta$ (generator)")
        ax.set_title(f"{trajectory.game.label}\n{trajectory.method}, lr={trajectory.lr:g}, "
                     f"{len(points) - 1} steps", fontsize=9)
    axes[0].set_ylabel(r"$\psi$ (discriminator)")
    axes[0].legend(loc="lower left", fontsize=8)
    return fig


def plot_distance_to_equilibrium(trajectories: Sequence[Trajectory], floor: float = 1e-12) -> Figure:
    """Distance of (theta_k, psi_k) to the equilibrium against the step k, on a log scale."""
    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.subplots()
    lowest = 1e-2
    for trajectory in trajectories:
        distance = trajectory.distance.clamp_min(floor).numpy()  # below floor: rounding noise, drawn at floor
        lowest = min(lowest, distance.min())
        ax.semilogy(distance, color=_method_color(trajectory), linewidth=1.8,
                    label=f"{trajectory.label}, lr={trajectory.lr:g}")
    ax.axhline(1e-2, color="0.5", linestyle=":", linewidth=1)
    ax.set(xlabel="step", ylabel=r"distance to (0, 0)", ylim=(lowest / 3, None))
    ax.legend(fontsize=8)
    return fig


def plot_parallel_lines(theta: float = 0.5, thetas: Sequence[float] | None = None,
                        estimates: dict[str, Sequence[float]] | None = None) -> Figure:
    """Left: P_0 and P_theta on the plane. Right: JS and W1 between them against theta.

    estimates: optional {"thetas": [...], "js": [...], "w1": [...]} from samples, drawn as markers.
    """
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2])
    left.plot([0, 0], [0, 1], color="black", linestyle=":", linewidth=3, label=r"$P_0$ (data)")
    left.plot([theta, theta], [0, 1], color="tab:green", linewidth=3, label=rf"$P_\theta$, $\theta$={theta:g}")
    left.annotate("", xy=(theta, 0.5), xytext=(0, 0.5), arrowprops=dict(arrowstyle="<->", color="0.4"))
    left.set(xlim=(-0.5, max(1.0, theta + 0.5)), ylim=(-0.1, 1.3), xlabel="x", ylabel="y")
    left.legend(loc="upper right", fontsize=8)

    thetas = np.linspace(-1, 1, 401) if thetas is None else np.asarray(thetas, dtype=float)
    thetas = np.union1d(thetas, [0.0])  # the one point where JS drops to 0
    js = np.array([parallel_lines_distances(float(t))["js"] for t in thetas])
    w1 = np.array([parallel_lines_distances(float(t))["w1"] for t in thetas])
    apart = thetas != 0
    right.plot(thetas[apart & (thetas < 0)], js[apart & (thetas < 0)], color="tab:purple", linewidth=2,
               label="JS (exact)")
    right.plot(thetas[apart & (thetas > 0)], js[apart & (thetas > 0)], color="tab:purple", linewidth=2)
    right.plot([0], [0], "o", color="tab:purple", markersize=6)  # JS = 0 only at theta = 0 ...
    right.plot([0], [math.log(2)], "o", color="tab:purple", markerfacecolor="white", markersize=6)  # ... a jump
    right.plot(thetas, w1, color="tab:blue", linewidth=2, label=r"$W_1$ (exact) = $|\theta|$")
    if estimates is not None:
        right.plot(estimates["thetas"], estimates["js"], "x", color="tab:purple", markersize=8,
                   label="JS from samples")
        right.plot(estimates["thetas"], estimates["w1"], "+", color="tab:blue", markersize=10,
                   label=r"$W_1$ from samples")
    right.axhline(math.log(2), color="0.6", linestyle=":", linewidth=1)
    right.text(thetas[0], math.log(2) + 0.02, "log 2", color="0.4", fontsize=8)
    right.set(xlabel=r"$\theta$", ylabel="distance between $P_0$ and $P_\\theta$")
    right.legend(fontsize=8, loc="lower right")
    return fig


def draw_mixture_2d(ax, mixture: GaussianMixture, samples: Tensor | np.ndarray, score=None,
                    extent: float | None = None, grid_points: int = 120, sigmas: float = 3.0) -> None:
    """Onto `ax`: D's score over the plane as filled contours (if `score`, a function from (n, 2) points to
    (n, 1) scores, is given), each mode's `sigmas` circle (black), and the generated samples (green)."""
    means, stds = mixture.means.numpy(), mixture.stds.numpy()
    extent = extent or float(np.abs(means).max() + 1.0)
    if score is not None:
        ticks = torch.linspace(-extent, extent, grid_points)
        xx, yy = torch.meshgrid(ticks, ticks, indexing="xy")
        with torch.no_grad():
            values = score(torch.stack([xx.ravel(), yy.ravel()], dim=1)).float().reshape(xx.shape).cpu()
        filled = ax.contourf(xx.numpy(), yy.numpy(), values.numpy(), levels=20, cmap="Blues", alpha=0.8)
        ax.figure.colorbar(filled, ax=ax, shrink=0.8, label="D's score")
    angles = np.linspace(0, 2 * math.pi, 60)
    for (mx, my), std in zip(means, stds):
        ax.plot(mx + sigmas * std * np.cos(angles), my + sigmas * std * np.sin(angles), color="black", linewidth=0.8)
    points = samples.detach().cpu().numpy() if isinstance(samples, Tensor) else np.asarray(samples)
    ax.scatter(points[:, 0], points[:, 1], s=2, color="tab:green", alpha=0.5, label="generated")
    ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_mixtures_2d(panels: Sequence[dict], mixture: GaussianMixture, columns: int = 4) -> Figure:
    """A grid of `draw_mixture_2d` panels; each dict holds "samples", "title" and optionally "score"."""
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(3.4 * min(columns, len(panels)), 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(panels)))).ravel()
    for ax, panel in zip(axes, panels):
        draw_mixture_2d(ax, mixture, panel["samples"], panel.get("score"))
        ax.set_title(panel["title"], fontsize=9)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return fig
