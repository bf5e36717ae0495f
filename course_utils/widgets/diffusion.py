"""Demos of the flows-and-diffusion lecture: noise becoming data along recorded sampler paths, and a flow's grid
pushed back layer by layer (notebook 09)."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
import torch
from matplotlib.figure import Figure

from .display import DemoBox, FigureView, label_style, slider_layout


class DenoisingDemo:
    """Noise becoming data (notebook 09). A slider runs t from T down to 0 along recorded reverse trajectories: a
    2-D cloud turning into the data, and MNIST digits coming out of noise. A second slider pushes the grid of a
    2-D flow's Gaussian plane back through its couplings one at a time, from z to x.

    Frames are (time, tensor) pairs in sampling order (noise first); `warp` is plots_generative.warp_stages(flow)."""

    name = "denoising"

    def __init__(self, cloud_frames: Sequence[tuple[float, torch.Tensor]],
                 digit_frames: Sequence[tuple[float, torch.Tensor]], data_points: torch.Tensor,
                 warp: Sequence[torch.Tensor] | None = None, digits_label: str = "t"):
        if not cloud_frames or not digit_frames:
            raise ValueError("DenoisingDemo needs at least one frame of the cloud and one of the digits")
        self.cloud_frames, self.digit_frames = list(cloud_frames), list(digit_frames)
        self.data_points, self.warp, self.digits_label = data_points, list(warp or []), digits_label
        self.controls: dict[str, w.Widget] = {}

    @staticmethod
    def _at(frames: Sequence[tuple[float, torch.Tensor]], position: float) -> tuple[float, torch.Tensor]:
        """The frame at `position` in [0, 1] of a path (0: its first frame, the noise; 1: its last, the data)."""
        return frames[round(position * (len(frames) - 1))]

    def figure(self, position: float) -> Figure:
        """The cloud and the digits at `position` in [0, 1] of their paths (0: noise, 1: data)."""
        from ..plots import tile_images
        from ..plots_generative import EXTENT

        t_cloud, points = self._at(self.cloud_frames, position)
        t_digits, images = self._at(self.digit_frames, position)
        fig = Figure(figsize=(8.4, 4.0), layout="constrained")
        left, right = fig.subplots(1, 2)
        left.scatter(self.data_points[:, 0], self.data_points[:, 1], s=2, color="0.8")
        left.scatter(points[:, 0], points[:, 1], s=3, color="tab:blue", alpha=0.6)
        left.set_xlim(-EXTENT, EXTENT)
        left.set_ylim(-EXTENT, EXTENT)
        left.set_aspect("equal")
        left.set_title(f"2-D DDPM, t = {t_cloud:g} (grey: the data)", fontsize=11)
        right.imshow(tile_images(images.clamp(-1, 1), 4), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        right.set_axis_off()
        right.set_title(f"MNIST, {self.digits_label} = {t_digits:g}", fontsize=11)
        return fig

    def warp_figure(self, stage: int) -> Figure:
        """The flow's z-plane grid after `stage` inverse couplings (0: z; the last: x), over the data."""
        from ..plots_generative import draw_grid

        fig = Figure(figsize=(4.2, 4.0), layout="constrained")
        ax = fig.subplots()
        last = len(self.warp) - 1
        draw_grid(ax, self.warp[stage], self.data_points if stage == last else None)
        ax.set_title("z: the Gaussian's plane" if stage == 0 else f"after {stage} of {last} inverse couplings",
                     fontsize=11)
        return fig

    def static_figure(self) -> Figure:
        """Five moments of the cloud and of the digits (noise, three in between, data) in one figure."""
        from ..plots import tile_images
        from ..plots_generative import EXTENT

        positions = [0.0, 0.5, 0.75, 0.9, 1.0]
        fig = Figure(figsize=(2.4 * len(positions), 4.8), layout="constrained")
        axes = fig.subplots(2, len(positions))
        for column, position in enumerate(positions):
            t_cloud, points = self._at(self.cloud_frames, position)
            t_digits, images = self._at(self.digit_frames, position)
            axes[0, column].scatter(points[:, 0], points[:, 1], s=2, color="tab:blue", alpha=0.5)
            axes[0, column].set_xlim(-EXTENT, EXTENT)
            axes[0, column].set_ylim(-EXTENT, EXTENT)
            axes[0, column].set_aspect("equal")
            axes[0, column].tick_params(labelsize=7)
            axes[0, column].set_title(f"t = {t_cloud:g}", fontsize=10)
            axes[1, column].imshow(tile_images(images[:9].clamp(-1, 1), 3), cmap="gray", vmin=0, vmax=1)
            axes[1, column].set_axis_off()
            axes[1, column].set_title(f"{self.digits_label} = {t_digits:g}", fontsize=10)
        return fig

    def widget(self):
        """A t slider (with play) over the denoising, and a slider over the flow's couplings."""
        steps = max(len(self.cloud_frames), len(self.digit_frames)) - 1  # one slider step per recorded frame
        position = w.IntSlider(min=0, max=steps, value=0, description="noise -> data", readout=False,
                               layout=slider_layout(), style=label_style(1.2))
        play = w.Play(min=0, max=steps, step=1, interval=150, description="play")
        w.jslink((play, "value"), (position, "value"))
        denoise_view = FigureView()
        self.controls = {"play": play, "noise -> data": position}

        def redraw(*_) -> None:
            denoise_view.show(self.figure(position.value / max(steps, 1)))

        position.observe(redraw, names="value")
        redraw()
        denoise = [w.HTML("<b>Drag from noise to data</b>: every t is a recorded step of the sampler"),
                   w.HBox([play, position]), denoise_view.widget]
        if not self.warp:
            return DemoBox(denoise, self.static_figure, self.name)
        stage = w.IntSlider(min=0, max=len(self.warp) - 1, value=0, description="couplings undone",
                            style=label_style(1.3), layout=slider_layout(0.7))
        warp_view = FigureView()
        self.controls["couplings undone"] = stage

        def redraw_warp(*_) -> None:
            warp_view.show(self.warp_figure(stage.value))

        stage.observe(redraw_warp, names="value")
        redraw_warp()
        flow = [w.HTML("<b>A flow, layer by layer</b>: the grid of z pushed back to x"), stage, warp_view.widget]
        return DemoBox([w.HBox([w.VBox(denoise), w.VBox(flow)])], self.static_figure, self.name)
