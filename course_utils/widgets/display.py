"""How every demo shows itself: one preset for the notebook or the projector, figures drawn as image widgets at
the preset's resolution, and the demo's box, which a notebook saved without its widgets shows as a picture.

The preset is the one switch: `course_utils.widgets.use_preset("projector")` before building the demos makes their
figures about 1.6 times as many pixels across (fonts and lines with them) and their controls' text 24 px instead of 13.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as w
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Preset:
    """Sizes of everything a demo draws."""

    name: str
    dpi: int  # pixels per inch of the demos' figures: their size, fonts and lines on the screen
    font_px: int  # the controls' labels, buttons, menus and readouts
    control_height_px: int  # one row of controls
    label_px: int  # the width given to a control's label
    slider_px: int  # a slider's whole width, label included


PRESETS = {
    "notebook": Preset("notebook", dpi=90, font_px=13, control_height_px=28, label_px=100, slider_px=420),
    # 1920x1080 read from the back of a room: figures about 1.6 times the notebook's, text 24 px, and every demo
    # under 1,000 pixels tall (tests/browser measures it).
    "projector": Preset("projector", dpi=140, font_px=24, control_height_px=46, label_px=190, slider_px=760),
}
_preset = PRESETS["notebook"]


def use_preset(name: str) -> Preset:
    """Choose the sizes of the demos built from now on: 'notebook' (the default) or 'projector'."""
    global _preset
    if name not in PRESETS:
        raise ValueError(f"no preset named {name!r}; the presets are: {', '.join(PRESETS)}")
    _preset = PRESETS[name]
    return _preset


def preset() -> Preset:
    """The preset in use."""
    return _preset


def figure_png(fig: Figure, dpi: int | None = None, tight: bool = False) -> bytes:
    """The figure as PNG bytes at `dpi` (default: the preset's). Without `tight` the picture keeps the figure's exact
    size, so a live view does not jump when a title gets longer."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or _preset.dpi, facecolor="white",
                **({"bbox_inches": "tight"} if tight else {}))
    return buffer.getvalue()


def image_beside_strip(image, strip, outlined: int, image_title: str, strip_title: str,
                       figsize: tuple[float, float], strip_ratio: float) -> Figure:
    """One image (1, C, H, W in [-1, 1]) drawn large on the left, a row of images on the right with image
    `outlined` of it framed in red (the latent walk's frame nearest t, the conditional GAN's chosen class)."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.patches import Rectangle

    from ..plots import tile_images

    fig = Figure(figsize=figsize, layout=ConstrainedLayoutEngine(w_pad=0.1))
    big, row = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, strip_ratio]})
    big.imshow(tile_images(image, 1, padding=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    big.set_title(image_title, fontsize=11)
    padding = 2
    row.imshow(tile_images(strip, len(strip), padding=padding), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    size = strip.shape[-1] + padding
    row.add_patch(Rectangle((outlined * size + padding / 2 - 0.5, padding / 2 - 0.5), size, size, fill=False,
                            edgecolor="tab:red", linewidth=2.5))
    row.set_title(strip_title, fontsize=11)
    for ax in (big, row):
        ax.set_axis_off()
    return fig


class FigureView:
    """An image widget that shows one matplotlib figure at a time, drawn at the preset's resolution."""

    def __init__(self):
        self.widget = w.Image(format="png", layout=image_layout())

    def show(self, fig: Figure) -> None:
        self.widget.value = figure_png(fig)


def image_layout() -> w.Layout:
    """An image at its own size: not stretched to the width of the box it sits in (a flex column stretches its
    children), only shrunk when the page is narrower than the figure."""
    return w.Layout(align_self="flex-start", max_width="100%", height="auto")


def style_sheet(p: Preset) -> str:
    """CSS for the controls inside a demo (ipywidgets reads these variables); empty for the notebook preset."""
    if p.name == "notebook":
        return ""
    return ("<style>.course-demo {"
            f"--jp-widgets-font-size: {p.font_px}px; --jp-widgets-inline-height: {p.control_height_px}px; "
            f"--jp-widgets-inline-label-width: {p.label_px}px; --jp-widgets-inline-width: {p.slider_px}px; "
            f"--jp-widgets-inline-width-short: {p.slider_px // 2}px; "
            f"--jp-widgets-slider-handle-size: {p.font_px}px; --jp-widgets-slider-track-thickness: {p.font_px // 4}px;"
            "} .course-demo .widget-button, .course-demo .widget-toggle-button, .course-demo select, "
            f".course-demo .widget-readout {{font-size: {p.font_px}px;}} "
            f".course-demo .widget-button, .course-demo .widget-toggle-button {{height: {p.control_height_px}px;}} "
            f".course-demo .widget-html-content, .course-demo .widget-label {{font-size: {p.font_px}px; "
            f"line-height: {round(p.font_px * 1.35)}px;}}</style>")


class DemoBox(w.VBox):
    """A demo's widgets, top to bottom. Saved in a notebook, its output also holds the demo's static figure as a
    PNG: where the widgets cannot be drawn (a notebook not yet run or not trusted, a repository page) that picture
    shows instead of the text "VBox(children=...)"; once the cell runs, the live demo replaces it."""

    def __init__(self, children: Sequence[w.Widget], static: Callable[[], Figure], name: str):
        sheet = style_sheet(_preset)
        super().__init__(children=([w.HTML(sheet)] if sheet else []) + list(children))
        self.add_class("course-demo")
        self.add_class(f"course-demo-{name}")
        self._static = static

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = "An instructor demo: run this cell to use it. (Saved, it shows its static figure.)"
        fig = self._static()  # at the notebook preset's resolution, or lower where the figure asks for less
        data["image/png"] = base64.b64encode(figure_png(fig, dpi=min(fig.dpi, PRESETS["notebook"].dpi),
                                                        tight=True)).decode("ascii")
        return data


def slider_layout(fraction: float = 1.0) -> w.Layout:
    """A slider `fraction` of the preset's slider width."""
    return w.Layout(width=f"{round(_preset.slider_px * fraction)}px")


def label_style(width: float = 1.0) -> dict:
    """A control's label `width` times the preset's label width."""
    return {"description_width": f"{round(_preset.label_px * width)}px"}
