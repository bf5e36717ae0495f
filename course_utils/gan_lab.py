"""A GAN Lab inside Jupyter: watch a GAN learn a 2-D mixture, replayed or live (after Kahng et al. 2019, GAN Lab).

On the plane: real samples (black), generated samples (green), D's output (or the critic's score) as a blue
map, and the generator's gradient arrows: for a subset of the generated points, minus the gradient of G's
loss with respect to the point, the direction G's next step pushes it. The demo opens on a recorded run
(`python -m course_utils.pretrain gan_lab`, one per loss and data set), so it starts at once; "train live"
goes on from the recording's last state, a chunk of steps at a time on the kernel's event loop.

`LabRun` is the model side (G, D, trainer, one frame of what the plane shows); `GANLab` is the widget
and its static fallback.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from .budget import seed_everything
from .data import GaussianMixture, grid_2d, ring_2d
from .losses import GAN_LOSSES
from .mode_metrics import mode_report
from .models.gan2d import Discriminator, Generator
from .plots_dynamics import draw_mixture_2d
from .train import GANTrainer

LOSSES = ("GAN", "WGAN-GP", "SN-hinge")  # the selector's names; their settings are recipes.GAN_LAB
DATASETS = {"ring": ring_2d, "grid": grid_2d}
RECORDING_FILE = "gan_lab.npz"


def check_choice(kind: str, value: str, choices: Sequence[str]) -> str:
    """`value` if it is one of `choices`, else a ValueError that lists them."""
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of {', '.join(map(repr, choices))}")
    return value


def lab_recipe(loss: str):
    """The recipe (G/D config, training config) of the selector's `loss`."""
    from .recipes import GAN_LAB

    return GAN_LAB[check_choice("loss", loss, LOSSES)]


def mixture_of(dataset: str) -> GaussianMixture:
    """The 2-D data set called `dataset` ('ring' or 'grid')."""
    return DATASETS[check_choice("data set", dataset, tuple(DATASETS))]()


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside, restoring the count after: a 64-unit MLP gains nothing from more, and on a
    busy machine (other jobs on every core) extra threads wait on each other and slow each step many times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class Frame:
    """What the plane shows at one step: generated samples, gradient arrows, D's map and the numbers."""

    step: int
    samples: np.ndarray  # (N, 2) generated points from fixed noise
    push: np.ndarray  # (M, 2) minus the gradient of G's loss at the first M samples
    scores: np.ndarray  # (R, R) D's raw score on a grid over [-extent, extent]^2, rows along y
    loss_d: float
    loss_g: float
    modes: int
    high_quality: float


class LabRun:
    """G, D and the trainer of one lab run on the CPU; `step(n)` trains, `frame()` measures the plane."""

    def __init__(self, loss: str = "GAN", dataset: str = "grid", seed: int = 0, n_samples: int = 1000,
                 n_arrows: int = 80, resolution: int = 48, **changes):
        self.loss, self.dataset = check_choice("loss", loss, LOSSES), check_choice("data set", dataset, tuple(DATASETS))
        self.mixture = mixture_of(dataset)
        self.extent = float(self.mixture.means.abs().max()) + 1.0
        recipe = lab_recipe(loss)
        seed_everything(seed)
        self.G, self.D = Generator(recipe.model), Discriminator(recipe.model)
        cfg = replace(recipe.train, **changes)
        self.trainer = GANTrainer(self.G, self.D, self.mixture.sampler("cpu"), cfg, "cpu")
        self.z = self.G.sample_z(n_samples, generator=torch.Generator().manual_seed(seed + 1))
        self.n_arrows, self.resolution = n_arrows, resolution
        self.logit = GAN_LOSSES[cfg.loss].logit

    @property
    def step_count(self) -> int:
        return self.trainer.step

    def settings(self) -> dict:
        """The live settings the widget's sliders show."""
        cfg = self.trainer.cfg
        return {"lr_d": cfg.lr_d, "lr_g": cfg.lr_g, "k": cfg.k}

    def reconfigure(self, lr_d: float, lr_g: float, k: int) -> None:
        """New learning rates and k, kept constant from here on."""
        self.trainer.reconfigure(lr_d=lr_d, lr_g=lr_g, k=k)

    def step(self, n: int) -> dict[str, float]:
        """Train n generator steps (each after k D steps); return the last logged losses."""
        with one_thread():
            self.trainer.train(n, progress=False)
        return self.trainer.latest()

    def frame(self, measure_modes: bool = True) -> Frame:
        """The plane now; `measure_modes=False` skips the mode report (modes -1, high_quality NaN)."""
        was_training = self.D.training
        self.D.eval()  # no power iteration of spectral norm while we only look
        with one_thread():
            try:
                x_fake = self.G(self.z).detach().requires_grad_(True)
                scores = self.D(x_fake)
                loss_g = GAN_LOSSES[self.trainer.cfg.loss].g(scores)
                (grad,) = torch.autograd.grad(loss_g * len(x_fake), x_fake)  # per-sample gradient, not 1/N of it
                ticks = torch.linspace(-self.extent, self.extent, self.resolution)
                yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
                with torch.no_grad():
                    grid = self.D(torch.stack([xx.ravel(), yy.ravel()], 1)).reshape(self.resolution, self.resolution)
            finally:
                self.D.train(was_training)
        samples = x_fake.detach()
        report = mode_report(samples, self.mixture) if measure_modes and torch.isfinite(samples).all() else None
        latest = self.trainer.latest()
        return Frame(self.trainer.step, samples.numpy(), -grad[: self.n_arrows].numpy(), grid.numpy(),
                     float(latest.get("loss_d", np.nan)), float(latest.get("loss_g", np.nan)),
                     report["modes_covered"] if report else -1, report["high_quality"] if report else np.nan)

    def state(self) -> dict[str, np.ndarray]:
        """G's and D's weights as float32 arrays (keys 'G.<name>', 'D.<name>')."""
        return {f"{key}.{name}": value.detach().float().numpy() for key, module in (("G", self.G), ("D", self.D))
                for name, value in module.state_dict().items()}

    def load_state(self, arrays: dict[str, np.ndarray], step: int) -> None:
        """Weights from `state()`; the optimisers start afresh from there, the step counter at `step`."""
        for key, module in (("G", self.G), ("D", self.D)):
            prefix = f"{key}."
            module.load_state_dict({name[len(prefix):]: torch.from_numpy(np.asarray(value, dtype=np.float32))
                                    for name, value in arrays.items() if name.startswith(prefix)})
        self.trainer.step = step
        self.trainer.flush(keep=True)  # the loaded state is the divergence guard's last good one


# ----------------------------------------------------------------------------- recordings


@dataclass
class Recording:
    """A recorded lab run: its frames, the settings it trained with and its last weights."""

    loss: str
    dataset: str
    frames: list[Frame]
    settings: dict
    weights: dict[str, np.ndarray]


def record_run(loss: str, dataset: str, steps: int, n_frames: int = 40, seed: int = 0) -> Recording:
    """Train a fresh lab run for `steps` steps from seed `seed`, keeping `n_frames` + 1 frames (step 0 included)."""
    run = LabRun(loss, dataset, seed=seed, steps=steps)
    frames = [run.frame()]
    chunk = max(steps // n_frames, 1)
    while run.step_count < steps:
        run.step(min(chunk, steps - run.step_count))
        frames.append(run.frame())
    return Recording(loss, dataset, frames, run.settings(), run.state())


FIELDS = ("step", "samples", "push", "scores", "loss_d", "loss_g", "modes", "high_quality")


def save_recordings(path: str | Path, recordings: Sequence[Recording]) -> Path:
    """Write recordings into one compressed .npz, everything in float16 (the weights too); return the path."""
    arrays = {}
    for rec in recordings:
        prefix = f"{rec.dataset}.{rec.loss}."
        for field in FIELDS:
            values = np.stack([np.asarray(getattr(frame, field)) for frame in rec.frames])
            if values.dtype.kind == "f":
                values = np.clip(values, -6e4, 6e4).astype(np.float16)  # inside float16's range
            arrays[prefix + field] = values
        arrays[prefix + "settings"] = np.array(json.dumps(rec.settings))
        arrays.update({prefix + "weights." + name: value.astype(np.float16) for name, value in rec.weights.items()})
    path = Path(path)
    np.savez_compressed(path, **arrays)
    return path


def recordings_index(directory: Path | None = None) -> dict:
    """data/pretrained/RECORDINGS.json: recorded runs (not weights) in the manifest's style."""
    from .checkpoints import RECORDINGS, read_manifest

    return read_manifest(directory, RECORDINGS)


def load_recordings(path: str | Path | None = None, sha256: str | None = None) -> dict[tuple[str, str], Recording]:
    """The recordings {(dataset, loss): Recording}; by default the committed file, verified against its sha256."""
    from .checkpoints import CheckpointError, pretrained_dir, sha256sum

    if path is None:
        entry = recordings_index().get("gan_lab")
        if entry is None:
            raise CheckpointError(f"no 'gan_lab' entry in {pretrained_dir() / 'RECORDINGS.json'}; "
                                  "record it with: python -m course_utils.pretrain gan_lab")
        path, sha256 = pretrained_dir() / entry["file"], entry["sha256"]
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no recording at {path}; record it with: python -m course_utils.pretrain gan_lab")
    if sha256 is not None and sha256sum(path) != sha256:
        raise CheckpointError(f"{path} does not match its sha256 in RECORDINGS.json; restore it with "
                              f"git checkout -- {path} or record it again")
    recordings = {}
    with np.load(path, allow_pickle=False) as arrays:
        for key in {k.rsplit(".", 1)[0] for k in arrays.files if k.endswith(".step")}:
            dataset, loss = key.split(".", 1)
            columns = {field: arrays[f"{key}.{field}"] for field in FIELDS}
            frames = [Frame(int(columns["step"][i]), *(columns[f][i].astype(np.float32) for f in FIELDS[1:4]),
                            float(columns["loss_d"][i]), float(columns["loss_g"][i]), int(columns["modes"][i]),
                            float(columns["high_quality"][i])) for i in range(len(columns["step"]))]
            weights = {k[len(key) + 9:]: arrays[k] for k in arrays.files if k.startswith(f"{key}.weights.")}
            recordings[(dataset, loss)] = Recording(loss, dataset, frames, json.loads(str(arrays[f"{key}.settings"])),
                                                    weights)
    return recordings


# ----------------------------------------------------------------------------- drawing


def draw_frame(ax, frame: Frame, mixture: GaussianMixture, logit: bool, real: np.ndarray | None = None,
               colorbar_ax=None, colorbar: bool = True) -> dict:
    """Onto `ax`: D's map, the real samples, the generated samples with each mode's 3-sigma circle, and the
    gradient arrows (the longest 15% of the plane's width). Returns the artists a widget updates in place."""
    extent = float(mixture.means.abs().max()) + 1.0
    image = ax.imshow(score_image(frame, logit), extent=(-extent, extent, -extent, extent), origin="lower",
                      cmap="Blues", alpha=0.8, zorder=0, interpolation="nearest",
                      **({"vmin": 0, "vmax": 1} if logit else {}))
    if colorbar:
        ax.figure.colorbar(image, ax=None if colorbar_ax else ax, cax=colorbar_ax, shrink=0.7,
                           label="D(x) = P(real)" if logit else "critic's score f(x)")
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, color="black", alpha=0.6, zorder=1)
    draw_mixture_2d(ax, mixture, frame.samples, extent=extent)  # circles and generated points (green)
    generated = ax.collections[-1]
    u, v = arrow_vectors(frame, extent)
    anchors = frame.samples[: len(u)]
    arrows = ax.quiver(anchors[:, 0], anchors[:, 1], u, v, angles="xy", scale_units="xy", scale=1.0,
                       color="darkgreen", width=0.004, zorder=3)
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    return {"image": image, "generated": generated, "arrows": arrows}


def score_image(frame: Frame, logit: bool) -> np.ndarray:
    """D's map as drawn: the probability sigmoid(score) for a logit, the raw score for a critic."""
    scores = frame.scores.astype(np.float32)
    return 1 / (1 + np.exp(-scores)) if logit else scores


def arrow_vectors(frame: Frame, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """The arrows' (u, v), scaled so that the longest is 15% of the plane's width (0 when all are 0)."""
    push = np.nan_to_num(frame.push.astype(np.float32))
    longest = float(np.linalg.norm(push, axis=1).max()) if len(push) else 0.0
    push = push * (0.3 * extent / longest) if longest > 0 else push
    return push[:, 0], push[:, 1]


def frame_caption(frame: Frame, n_modes: int) -> str:
    """'step 400: loss_D 1.21, loss_G 0.83, 7/8 modes, 93% high quality'."""
    text = f"step {frame.step}: loss_D {frame.loss_d:.3g}, loss_G {frame.loss_g:.3g}"
    if frame.modes >= 0:
        text += f", {frame.modes}/{n_modes} modes, {frame.high_quality:.0%} high quality"
    return text


def render_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class LabCanvas:
    """One figure kept between frames: each new frame only moves the artists, then renders to PNG."""

    def __init__(self, mixture: GaussianMixture, logit: bool, frame: Frame, size: float = 5.6, dpi: int = 80):
        self.mixture, self.logit = mixture, logit
        self.extent = float(mixture.means.abs().max()) + 1.0
        self.fig = Figure(figsize=(size * 1.18, size), dpi=dpi)
        ax = self.fig.add_axes((0.02, 0.02, 0.78, 0.9))
        cax = self.fig.add_axes((0.84, 0.12, 0.03, 0.7))
        real = mixture.sample(1000, generator=torch.Generator().manual_seed(0)).numpy()
        self.ax, self.artists = ax, draw_frame(ax, frame, mixture, logit, real, colorbar_ax=cax)
        self.title = ax.set_title("", fontsize=10)

    def render(self, frame: Frame, title: str) -> bytes:
        """The PNG of `frame` under `title`."""
        image = self.artists["image"]
        values = score_image(frame, self.logit)
        image.set_data(values)
        if not self.logit and np.isfinite(values).all():
            image.set_clim(float(values.min()), float(values.max()))
        self.artists["generated"].set_offsets(frame.samples)
        u, v = arrow_vectors(frame, self.extent)
        arrows = self.artists["arrows"]
        arrows.set_offsets(frame.samples[: len(u)])
        arrows.set_UVC(u, v)
        self.title.set_text(title)
        return render_png(self.fig)


class GANLab:
    """The instructor demo: replay a recorded run, train live from its last state, change loss, data, lr, k.

    `widget()` builds the ipywidgets interface; `static_figure()` is a few recorded frames of every loss as
    one plain figure, for places where widgets do not render.
    """

    def __init__(self, recordings: dict[tuple[str, str], Recording] | None = None, loss: str = "GAN",
                 dataset: str = "grid", chunk_seconds: float = 0.1, report_every: int = 3):
        self.entry = recordings_index().get("gan_lab") if recordings is None else None
        self.recordings = load_recordings() if recordings is None else recordings
        if not self.recordings:
            raise ValueError("no recordings to show; record them with: python -m course_utils.pretrain gan_lab")
        self.loss, self.dataset = check_choice("loss", loss, LOSSES), check_choice("data set", dataset, tuple(DATASETS))
        self.recording()  # fails clearly when this pair was not recorded
        self.chunk_seconds, self.report_every = chunk_seconds, report_every
        self.run: LabRun | None = None
        self.playing = False
        self._task = None
        self._seconds_per_step: float | None = None
        self._live_frames = 0
        self._last_report: tuple[int, float, int] | None = None  # modes, high quality, at step

    def provenance(self) -> str:
        """One line: what the recordings are and the command that made them (or 'given recordings')."""
        if self.entry is None:
            return f"{len(self.recordings)} recordings given by the caller"
        entry = self.entry
        steps = max(rec.frames[-1].step for rec in self.recordings.values())
        frames = entry["frames"]["per_run"]
        return (f"gan_lab: {len(self.recordings)} recorded runs of {steps:,} steps, {frames} frames "
                f"each, recorded by `{entry['command']}` in {entry['seconds']:,.0f} s on {entry['hardware']}, "
                "sha256 ok")

    def recording(self) -> Recording:
        """The recording of the current loss and data set."""
        key = (self.dataset, self.loss)
        if key not in self.recordings:
            raise ValueError(f"no recording of {self.loss} on {self.dataset}; recorded: "
                             + ", ".join(f"{loss} on {dataset}" for dataset, loss in sorted(self.recordings)))
        return self.recordings[key]

    def live_run(self, **settings) -> LabRun:
        """The live run, made on first use from the recording's last state (with `settings`: lr_d, lr_g, k)."""
        if self.run is None:
            rec = self.recording()
            self.run = LabRun(self.loss, self.dataset, **{**rec.settings, **settings})
            self.run.load_state(rec.weights, rec.frames[-1].step)
            self._seconds_per_step, self._live_frames = None, 0
        elif settings:
            self.run.reconfigure(**{**self.run.settings(), **settings})
        return self.run

    def reset(self, **settings) -> LabRun:
        """A fresh live run at step 0 (the recording's own seed), with `settings`."""
        self.run = None
        rec = self.recording()
        self.run = LabRun(self.loss, self.dataset, **{**rec.settings, **settings})
        self._seconds_per_step, self._last_report, self._live_frames = None, None, 0
        return self.run

    def advance(self) -> Frame:
        """Train the live run for about `chunk_seconds` (at least one step); return its frame."""
        import time

        run = self.live_run()
        per_step = self._seconds_per_step
        steps = 1 if per_step is None else int(np.clip(self.chunk_seconds / per_step, 1, 500))
        start = time.perf_counter()
        run.step(steps)
        self._seconds_per_step = (time.perf_counter() - start) / steps
        self._live_frames += 1
        frame = run.frame(measure_modes=(self._live_frames - 1) % self.report_every == 0)  # the first, then every few
        if frame.modes >= 0:
            self._last_report = (frame.modes, frame.high_quality, frame.step)
        return frame

    def caption(self, frame: Frame, live: bool) -> str:
        """The label under the controls: where the frame comes from, its losses and the mode report."""
        n_modes = len(mixture_of(self.dataset).means)
        source = "live" if live else f"recorded ({self.recording().frames[-1].step} steps)"
        text = f"{self.loss} on the {self.dataset}, {source}, step {frame.step}"
        if np.isfinite(frame.loss_d):  # none logged yet at step 0
            text += f": loss_D {frame.loss_d:.3g}, loss_G {frame.loss_g:.3g}"
        report = (frame.modes, frame.high_quality, frame.step) if frame.modes >= 0 else self._last_report
        if report is not None:
            text += f"; {report[0]}/{n_modes} modes covered, {report[1]:.0%} high quality"
            text += f" (at step {report[2]})" if report[2] != frame.step else ""
        return text

    def static_figure(self, dataset: str | None = None, columns: int = 3, points: int = 500) -> Figure:
        """Rows: the recorded losses on `dataset`; columns: evenly spaced recorded frames after step 0, each
        with `points` of its generated samples (a lighter file than the widget's 1,000)."""
        dataset = check_choice("data set", dataset or self.dataset, tuple(DATASETS))
        mixture = mixture_of(dataset)
        losses = [loss for loss in LOSSES if (dataset, loss) in self.recordings]
        real = mixture.sample(points, generator=torch.Generator().manual_seed(0)).numpy()
        fig = Figure(figsize=(3.0 * columns, 3.2 * len(losses)), dpi=72, layout="constrained")
        axes = np.atleast_2d(fig.subplots(len(losses), columns))
        for row, loss in zip(axes, losses):
            rec = self.recordings[(dataset, loss)]
            picks = np.linspace(0, len(rec.frames) - 1, columns + 1).round().astype(int)[1:]
            logit = GAN_LOSSES[lab_recipe(loss).train.loss].logit
            for ax, index in zip(row, picks):
                frame = rec.frames[index]
                shown = replace(frame, samples=frame.samples[:max(points, len(frame.push))])
                draw_frame(ax, shown, mixture, logit, real, colorbar=False)
                ax.set_title(f"{loss}, step {frame.step}\n{frame.modes}/{len(mixture.means)} modes, "
                             f"{frame.high_quality:.0%} high quality", fontsize=9)
        fig.suptitle(f"GAN Lab recordings on the {dataset}: real (black), generated (green),\nD's map (blue, "
                     "darker = more 'real'), arrows: where G's loss pushes each point", fontsize=10)
        return fig

    # -- the widget
    def widget(self):
        """Build the ipywidgets interface and return it; display it in a notebook cell."""
        import ipywidgets as w

        from .widgets.display import PRESETS, DemoBox, image_layout, preset, slider_layout

        rec = self.recording()
        dpi = round(80 * preset().dpi / PRESETS["notebook"].dpi)  # 80 in the notebook; more on a projector
        image = w.Image(format="png", layout=image_layout())
        status = w.HTML()
        last = len(rec.frames) - 1
        replay = w.Play(min=0, max=last, value=0, interval=200, description="replay")
        frame_slider = w.IntSlider(min=0, max=last, value=0, description="recorded", layout=slider_layout(0.9))
        w.jslink((replay, "value"), (frame_slider, "value"))
        live = w.ToggleButton(description="train live", icon="play", button_style="success")
        step = w.Button(description="step", icon="step-forward")
        reset = w.Button(description="reset", icon="undo")
        loss = w.Dropdown(options=[l for l in LOSSES if (self.dataset, l) in self.recordings], value=self.loss,
                          description="loss", layout=w.Layout(width="auto"))
        dataset = w.Dropdown(options=sorted({d for d, _ in self.recordings}), value=self.dataset,
                             description="data", layout=w.Layout(width="auto"))
        slider = dict(base=10, min=-5, max=-1, step=0.25, readout_format=".1e", continuous_update=False)
        lr_d = w.FloatLogSlider(value=rec.settings["lr_d"], description="lr D", **slider)
        lr_g = w.FloatLogSlider(value=rec.settings["lr_g"], description="lr G", **slider)
        k = w.IntSlider(value=rec.settings["k"], min=1, max=10, description="k (D steps)", continuous_update=False)
        canvas: dict[str, LabCanvas] = {}

        def show(frame: Frame, is_live: bool) -> None:
            key = f"{self.dataset}.{self.loss}"
            if key not in canvas:
                canvas.clear()
                canvas[key] = LabCanvas(mixture_of(self.dataset), GAN_LOSSES[lab_recipe(self.loss).train.loss].logit,
                                        frame, dpi=dpi)
            text = self.caption(frame, is_live)
            title = text.split(":")[0].split(";")[0]  # "GAN on the grid, live, step 40"
            image.value = canvas[key].render(frame, title)
            status.value = f"<b>{text}</b>"

        def settings() -> dict:
            return {"lr_d": lr_d.value, "lr_g": lr_g.value, "k": k.value}

        def pause() -> None:
            self.playing = False
            live.value = False

        def on_frame(change) -> None:
            if not self.playing:
                show(self.recording().frames[change["new"]], False)

        def one_chunk(_=None) -> None:
            if self.playing:
                return
            try:
                self.live_run(**settings())
                show(self.advance(), True)
            except Exception as error:  # noqa: BLE001 -- a diverged run is shown, not raised into the frontend
                status.value = f"<b style='color:#b00'>{type(error).__name__}: {error}</b>"

        async def train_live() -> None:
            try:
                while self.playing:
                    show(self.advance(), True)
                    await asyncio.sleep(0.02)  # let the kernel read clicks (pause, sliders) between chunks
            except Exception as error:  # noqa: BLE001
                status.value = f"<b style='color:#b00'>{type(error).__name__}: {error}</b>"
            finally:
                pause()

        def on_live(change) -> None:
            live.description, live.icon = ("pause", "pause") if change["new"] else ("train live", "play")
            if change["new"] and not self.playing:
                replay.playing = False
                self.live_run(**settings())
                self.playing = True
                self._task = asyncio.get_event_loop().create_task(train_live())
            elif not change["new"]:
                self.playing = False

        def on_reset(_) -> None:
            pause()
            show(self.reset(**settings()).frame(), True)

        def on_choice(_) -> None:
            pause()
            self.loss, self.dataset = loss.value, dataset.value
            if (self.dataset, self.loss) not in self.recordings:
                status.value = f"<b>no recording of {self.loss} on the {self.dataset}</b>"
                return
            self.run, self._last_report = None, None
            new = self.recording()
            lr_d.value, lr_g.value, k.value = new.settings["lr_d"], new.settings["lr_g"], new.settings["k"]
            frame_slider.max = replay.max = len(new.frames) - 1
            frame_slider.value = 0
            show(new.frames[0], False)

        def on_setting(_) -> None:
            if self.run is not None:
                self.run.reconfigure(**settings())

        frame_slider.observe(on_frame, names="value")
        live.observe(on_live, names="value")
        step.on_click(one_chunk)
        reset.on_click(on_reset)
        loss.observe(on_choice, names="value")
        dataset.observe(on_choice, names="value")
        for control in (lr_d, lr_g, k):
            control.observe(on_setting, names="value")
        show(rec.frames[0], False)
        self.controls = {"replay": replay, "frame": frame_slider, "live": live, "step": step, "reset": reset,
                         "loss": loss, "dataset": dataset, "lr_d": lr_d, "lr_g": lr_g, "k": k, "image": image,
                         "status": status}
        label = w.Label("replay", layout=w.Layout(width="auto", flex="0 0 auto"))
        return DemoBox([w.HBox([label, replay, frame_slider, live, step, reset]), w.HBox([loss, dataset, k]),
                        w.HBox([lr_d, lr_g]), status, image], self.static_figure, "gan_lab")


def record_all(seed: int = 0, n_frames: int = 40, directory: Path | None = None) -> dict:
    """Record every loss on every data set (recipes.GAN_LAB), save gan_lab.npz and its RECORDINGS.json entry."""
    import time
    from dataclasses import asdict

    from .checkpoints import RECORDINGS, hardware, pretrained_dir, sha256sum, write_index_entry
    from .recipes import GAN_LAB_STEPS

    directory = directory or pretrained_dir()
    recordings, metrics, seconds = [], {}, {}
    for dataset in DATASETS:
        for loss in LOSSES:
            key, start = f"{dataset}/{loss}", time.perf_counter()
            rec = record_run(loss, dataset, GAN_LAB_STEPS, n_frames, seed)
            seconds[key] = round(time.perf_counter() - start, 1)
            last = rec.frames[-1]
            metrics[key] = {"modes_covered": last.modes, "high_quality": round(last.high_quality, 4)}
            recordings.append(rec)
            print(f"gan_lab {loss} on the {dataset}: {metrics[key]} in {seconds[key]} s", flush=True)
    path = save_recordings(directory / RECORDING_FILE, recordings)
    frame = recordings[0].frames[0]
    entry = {"file": path.name, "sha256": sha256sum(path),
             "what": "recorded runs replayed by the GAN Lab widget (course_utils.gan_lab), not weights to load",
             "config": {loss: {"model": asdict(lab_recipe(loss).model), "train_config": asdict(lab_recipe(loss).train)}
                        for loss in LOSSES},
             "frames": {"per_run": n_frames + 1, "generated_samples": len(frame.samples), "arrows": len(frame.push),
                        "score_grid": list(frame.scores.shape), "dtype": "float16"},
             "seed": seed, "command": "python -m course_utils.pretrain gan_lab", "budget": "full",
             "hardware": hardware(), "seconds": round(sum(seconds.values()), 1), "seconds_per_run": seconds,
             "metrics": metrics,
             "metrics_protocol": "the last frame's 1,000 generated samples (fixed noise, seed + 1) through "
                                 "mode_metrics.mode_report (3 sigma, min_count 1)"}
    write_index_entry("gan_lab", entry, directory, RECORDINGS)
    print(f"gan_lab: {path} ({path.stat().st_size / 1e6:.2f} MB, sha256 {entry['sha256'][:12]}...)")
    return entry
