"""Demos of the adversarial lectures: the 1-D GAN of the lecture figure (notebook 01) and a walk through a trained
generator's latent space (notebooks 03 and 04)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import ipywidgets as w
import numpy as np
import torch
from matplotlib.figure import Figure

from ..data import GaussianMixture, gaussian_1d
from ..losses import GENERATOR_LOSSES
from ..metrics import gan1d_diagnostics
from ..plots import Snapshot, draw_snapshot, take_snapshot
from ..train import GANTrainer, every
from .display import DemoBox, FigureView, image_beside_strip, label_style, slider_layout

SNAPSHOT_FIELDS = ("grid", "p_data", "p_g", "d", "z", "x_of_z")
GAN1D_REPLAY = "gan1d_replay"  # the recorded run in data/pretrained/RECORDINGS.json


def save_snapshots(path: str | Path, snapshots: Sequence[Snapshot]) -> Path:
    """Write snapshots to one .npz (float32; their steps and labels beside them)."""
    arrays = {field: np.stack([getattr(s, field).numpy() for s in snapshots]).astype(np.float32)
              for field in SNAPSHOT_FIELDS}
    arrays["step"] = np.array([s.step for s in snapshots])
    arrays["label"] = np.array([s.label for s in snapshots])
    path = Path(path)
    np.savez_compressed(path, **arrays)
    return path


def load_snapshots(path: str | Path) -> list[Snapshot]:
    """The snapshots written by `save_snapshots`."""
    with np.load(path, allow_pickle=False) as arrays:
        return [Snapshot(int(arrays["step"][i]), *(torch.from_numpy(arrays[f][i]) for f in SNAPSHOT_FIELDS),
                         label=str(arrays["label"][i])) for i in range(len(arrays["step"]))]


def gan1d_trainer(p_data: GaussianMixture, cfg=None) -> GANTrainer:
    """Fresh players of recipes.GAN1D (`cfg`: its settings, changed or not) on the CPU, from the current seed."""
    from ..models.gan1d import Discriminator, Generator
    from ..recipes import GAN1D

    return GANTrainer(Generator(GAN1D.model), Discriminator(GAN1D.model), p_data.sample, cfg or GAN1D.train,
                      torch.device("cpu"))


def record_gan1d_run(steps: int = 1500, snapshots: int = 30, seed: int = 0,
                     p_data: GaussianMixture | None = None, **changes) -> tuple[GANTrainer, list[Snapshot]]:
    """Train a fresh 1-D GAN (recipes.GAN1D, `steps` steps, `changes` to its settings) and record `snapshots`
    lecture panels along the way; returns the trainer and the panels (step 0 first)."""
    from ..budget import seed_everything
    from ..recipes import GAN1D

    seed_everything(seed)
    p_data = p_data or gaussian_1d()
    trainer = gan1d_trainer(p_data, replace(GAN1D.train, steps=steps, **changes))
    recorded = [take_snapshot(trainer.G, trainer.D, p_data, 0, "start (step 0)", n_samples=5000)]

    def keep(trainer: GANTrainer) -> None:
        recorded.append(take_snapshot(trainer.G, trainer.D, p_data, trainer.step, n_samples=5000))

    trainer.train(hooks=[every(max(steps // snapshots, 1), keep)], progress=False)
    return trainer, recorded


class GAN1DDemo:
    """Replay a recorded 1-D GAN run, or train live, a few updates per click.

    Top row: a play button and a slider over the recorded snapshots. Second row: "D steps" and "G steps" (that
    many updates of one player, on the live trainer), "train 100" (100 full steps with the chosen loss and k),
    and "reset to step 0" (fresh players: the unbalanced start, where every click visibly moves the curves).
    The status line always says what the panel shows: a recorded step, or the live trainer's step and numbers.
    """

    name = "gan1d"

    def __init__(self, trainer: GANTrainer, p_data: GaussianMixture, recorded: Sequence[Snapshot] = (),
                 seed: int = 0):
        self.trainer = trainer
        self.p_data = p_data
        self.seed = seed
        self.recorded = list(recorded) or [self._snapshot("start")]
        self.current = self.recorded[-1]
        self.clicks: tuple[str, int] | None = None  # the last button and how many times in a row
        self.controls: dict[str, w.Widget] = {}
        self._widget = None

    @classmethod
    def record(cls, p_data: GaussianMixture | None = None, steps: int = 1500, snapshots: int = 30,
               seed: int = 0, **changes) -> GAN1DDemo:
        """A demo with no notebook behind it: train a fresh 1-D GAN for `steps` steps (a few seconds on a CPU),
        recording `snapshots` panels. `changes` adjust the recipe, e.g. lr_d=1e-3."""
        p_data = p_data or gaussian_1d()
        trainer, recorded = record_gan1d_run(steps, snapshots, seed, p_data, **changes)
        return cls(trainer, p_data, recorded, seed)

    @classmethod
    def from_recording(cls, seed: int = 0) -> GAN1DDemo:
        """The committed recorded run (`python -m course_utils.pretrain gan1d_replay`) to replay, and live players
        fresh at step 0: nothing is trained before the demo shows."""
        from ..checkpoints import recording_file

        p_data = gaussian_1d()
        demo = cls(cls._fresh_trainer(p_data, seed), p_data, load_snapshots(recording_file(GAN1D_REPLAY)), seed)
        demo.current = demo._snapshot("live players at their start")
        return demo

    @staticmethod
    def _fresh_trainer(p_data: GaussianMixture, seed: int, cfg=None) -> GANTrainer:
        torch.manual_seed(seed)
        return gan1d_trainer(p_data, cfg)

    def reset(self) -> None:
        """Fresh players (seeded), live step 0; the recorded run stays."""
        self.trainer = self._fresh_trainer(self.p_data, self.seed, self.trainer.cfg)
        self.clicks = None

    def _snapshot(self, label: str) -> Snapshot:
        return take_snapshot(self.trainer.G, self.trainer.D, self.p_data, self.trainer.step,
                             label=f"{label} (step {self.trainer.step})", n_samples=5000)

    def static_figure(self) -> Figure:
        """The panel currently shown, as a plain figure (the fallback where widgets do not render)."""
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        draw_snapshot(fig.subplots(), self.current)
        return fig

    def _count(self, button: str) -> int:
        """How many times in a row `button` has been pressed, this press included."""
        n = self.clicks[1] + 1 if self.clicks and self.clicks[0] == button else 1
        self.clicks = (button, n)
        return n

    def widget(self):
        """Build the ipywidgets interface (once) and return it; display it in a notebook cell."""
        if self._widget is not None:
            return self._widget
        view = FigureView()
        status = w.HTML()
        last = len(self.recorded) - 1
        play = w.Play(min=0, max=last, value=last, interval=300, description="replay", tooltip="replay")
        frame = w.IntSlider(min=0, max=last, value=last, description="recorded", continuous_update=True,
                            layout=slider_layout(), style=label_style())
        w.jslink((play, "value"), (frame, "value"))
        per_click = w.BoundedIntText(value=10, min=1, max=500, description="updates per click",
                                     layout=w.Layout(width="auto"), style=label_style(1.5))
        step_d, step_g = w.Button(description="D steps"), w.Button(description="G steps")
        train = w.Button(description="train 100", button_style="primary")
        reset = w.Button(description="reset to step 0", button_style="warning")
        loss = w.Dropdown(options=sorted(GENERATOR_LOSSES), value=self.trainer.cfg.loss, description="G loss",
                          style=label_style())
        k = w.IntSlider(min=1, max=10, value=self.trainer.cfg.k, description="k (D steps)", style=label_style(),
                        layout=slider_layout(0.6))
        self.controls = {"replay": play, "recorded": frame, "updates per click": per_click, "D steps": step_d,
                         "G steps": step_g, "train 100": train, "reset": reset, "G loss": loss, "k": k,
                         "status": status}

        def redraw(snapshot: Snapshot) -> None:
            self.current = snapshot
            view.show(self.static_figure())

        def show_live(label: str) -> None:
            numbers = gan1d_diagnostics(self.trainer.G, self.trainer.D, self.p_data, n_samples=5000)
            status.value = (f"<b>live</b>, step {self.trainer.step}: JS(p_g, p_data) = {numbers['js_nats']:.4f} nats, "
                            f"mean |D(x) - 1/2| = {numbers['d_mean_abs_dev']:.3f}")
            redraw(self._snapshot(label))

        def on_frame(change) -> None:
            snapshot = self.recorded[change["new"]]
            status.value = (f"<b>replay</b> of the recorded run: step {snapshot.step} "
                            f"(frame {change['new'] + 1} of {last + 1})")
            redraw(snapshot)

        def on_steps(player: str):
            def on_click(_) -> None:
                n = per_click.value
                for _ in range(n):
                    self.trainer.train_d() if player == "D" else self.trainer.train_g()
                presses = self._count(player)
                show_live(f"after {presses * n} {player} update{'s' if presses * n > 1 else ''}")
            return on_click

        def on_train(_) -> None:
            self.trainer.reconfigure(loss=loss.value, k=k.value)
            self.trainer.train(100, progress=False)
            self._count("train")
            show_live(f"trained, k={k.value}, {loss.value}")

        def on_reset(_) -> None:
            self.reset()
            self.trainer.reconfigure(loss=loss.value, k=k.value)
            show_live("fresh players")

        frame.observe(on_frame, names="value")
        step_d.on_click(on_steps("D"))
        step_g.on_click(on_steps("G"))
        train.on_click(on_train)
        reset.on_click(on_reset)
        if self.current is self.recorded[-1]:
            status.value = f"<b>replay</b> of the recorded run: step {self.current.step} (its last frame)"
            redraw(self.current)
        else:  # the live players; computing their numbers now also spares the first click a slow start
            show_live("live players at their start")
        label = w.Label("replay", layout=w.Layout(width="auto", flex="0 0 auto"))
        self._widget = DemoBox([w.HBox([label, play, frame]),
                                w.HBox([per_click, step_d, step_g, train, reset]), w.HBox([loss, k]),
                                status, view.widget], self.static_figure, self.name)
        return self._widget


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: stays at the typical norm of Gaussian z (White 2016)."""
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


class LatentWalkDemo:
    """A slider that walks between two latent points of a trained generator, and a "new sample" button that draws
    new end points; each frame is one forward pass, instant on a CPU. The picture: the image at t, and the whole
    walk beside it with the frame nearest t outlined."""

    def __init__(self, G: torch.nn.Module, seed: int = 0, steps: int = 10, name: str = "latent_walk"):
        self.G = G.eval()
        self.generator = torch.Generator().manual_seed(seed)
        self.device = next(G.parameters()).device
        self.steps, self.name = steps, name
        self.controls: dict[str, w.Widget] = {}
        self._new_endpoints()
        self.t = 0.0

    def _new_endpoints(self) -> None:
        self.z0, self.z1 = (self.G.sample_z(1, generator=self.generator, device=self.device) for _ in range(2))
        self._strip = None

    @torch.no_grad()
    def frames(self, steps: int = 10) -> torch.Tensor:
        """The walk from z0 to z1 as `steps` images."""
        z = torch.cat([slerp(self.z0, self.z1, t) for t in torch.linspace(0, 1, steps).tolist()])
        return self.G(z).cpu()

    @torch.no_grad()
    def static_figure(self, steps: int | None = None) -> Figure:
        """The whole walk as one row (the fallback where widgets do not render)."""
        from ..plots import image_rows

        return image_rows([self.frames(steps or self.steps)], [r"$z_0 \to z_1$"], title="latent walk")

    @torch.no_grad()
    def figure(self, t: float) -> Figure:
        """The image at t (left) and the walk (right), the frame nearest t outlined in red."""
        if self._strip is None:
            self._strip = self.frames(self.steps)
        image = self.G(slerp(self.z0, self.z1, t)).cpu()
        return image_beside_strip(image, self._strip, round(t * (self.steps - 1)), f"t = {t:.2f}",
                                  r"the walk $z_0 \to z_1$ (slerp); red: the frame nearest t", (9.0, 2.3), 4.6)

    def widget(self):
        """The t slider, the 'new sample' button, and the picture."""
        view = FigureView()
        t = w.FloatSlider(min=0, max=1, step=0.02, value=0, description="t", continuous_update=True,
                          layout=slider_layout(1.4), style=label_style(0.4))
        new = w.Button(description="new sample", button_style="primary")
        self.controls = {"t": t, "new sample": new}

        def redraw(*_) -> None:
            self.t = t.value
            view.show(self.figure(t.value))

        def on_new(_) -> None:
            self._new_endpoints()
            redraw()

        t.observe(redraw, names="value")
        new.on_click(on_new)
        redraw()
        return DemoBox([w.HBox([t, new]), view.widget], self.static_figure, self.name)
