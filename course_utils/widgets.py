"""Instructor demos (ipywidgets). Each has `static_figure()`, the same picture as a plain figure,
for places where widgets do not render (a repository page, a PDF export)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from dataclasses import replace

import torch

from .data import GaussianMixture, gaussian_1d
from .losses import GENERATOR_LOSSES
from .metrics import gan1d_diagnostics
from .plots import Snapshot, draw_snapshot, take_snapshot
from .train import GANTrainer, every


class GAN1DDemo:
    """Replay a recorded 1-D GAN run, or train live one step at a time.

    Top row: a play button and slider over the recorded snapshots. Bottom row: "step D" and
    "step G" buttons (one update each, on the live trainer), "train 100" (100 full steps with
    the chosen k), a generator-loss selector and a k slider. Every click redraws the lecture panel.
    """

    def __init__(self, trainer: GANTrainer, p_data: GaussianMixture, recorded: Sequence[Snapshot] = ()):
        self.trainer = trainer
        self.p_data = p_data
        self.recorded = list(recorded) or [self._snapshot("start")]
        self.current = self.recorded[-1]
        self._widget = None

    @classmethod
    def record(cls, p_data: GaussianMixture | None = None, steps: int = 1500, snapshots: int = 30,
               seed: int = 0, **changes) -> GAN1DDemo:
        """A demo with no notebook behind it: train a fresh 1-D GAN for `steps` steps (a few seconds
        on a CPU), recording `snapshots` panels. `changes` adjust the recipe, e.g. lr_d=1e-3."""
        from .budget import seed_everything
        from .models.gan1d import Discriminator, Generator
        from .recipes import GAN1D

        seed_everything(seed)
        p_data = p_data or gaussian_1d()
        cfg = replace(GAN1D.train, steps=steps, **changes)
        trainer = GANTrainer(Generator(GAN1D.model), Discriminator(GAN1D.model), p_data.sample, cfg, torch.device("cpu"))
        recorded = [take_snapshot(trainer.G, trainer.D, p_data, 0, "start (step 0)", n_samples=5000)]

        def keep(trainer: GANTrainer) -> None:
            recorded.append(take_snapshot(trainer.G, trainer.D, p_data, trainer.step, n_samples=5000))

        trainer.train(hooks=[every(max(steps // snapshots, 1), keep)])
        return cls(trainer, p_data, recorded)

    def _snapshot(self, label: str) -> Snapshot:
        return take_snapshot(self.trainer.G, self.trainer.D, self.p_data, self.trainer.step,
                             label=f"{label} (step {self.trainer.step})", n_samples=5000)

    def static_figure(self) -> Figure:
        """The panel currently shown, as a plain figure (the fallback where widgets do not render)."""
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        draw_snapshot(fig.subplots(), self.current)
        return fig

    def widget(self):
        """Build the ipywidgets interface (once) and return it; display it in a notebook cell."""
        if self._widget is not None:
            return self._widget
        import ipywidgets as w
        from IPython.display import display

        output = w.Output(layout=w.Layout(min_height="360px"))
        status = w.HTML()
        last = len(self.recorded) - 1
        play = w.Play(min=0, max=last, value=last, interval=300, description="replay")
        frame = w.IntSlider(min=0, max=last, value=last, description="recorded", continuous_update=True,
                            layout=w.Layout(width="420px"))
        w.jslink((play, "value"), (frame, "value"))
        step_d, step_g = w.Button(description="step D"), w.Button(description="step G")
        train = w.Button(description="train 100", button_style="primary")
        loss = w.Dropdown(options=sorted(GENERATOR_LOSSES), value=self.trainer.cfg.loss, description="G loss")
        k = w.IntSlider(min=1, max=10, value=self.trainer.cfg.k, description="k (D steps)")

        def redraw(snapshot: Snapshot) -> None:
            self.current = snapshot
            with output:
                output.clear_output(wait=True)
                display(self.static_figure())

        def show_live(label: str) -> None:
            numbers = gan1d_diagnostics(self.trainer.G, self.trainer.D, self.p_data, n_samples=5000)
            status.value = (f"live step {self.trainer.step}: JS(p_g, p_data) = {numbers['js_nats']:.4f} nats, "
                            f"mean |D(x) - 1/2| = {numbers['d_mean_abs_dev']:.3f}")
            redraw(self._snapshot(label))

        def on_frame(change) -> None:
            redraw(self.recorded[change["new"]])

        def on_step_d(_) -> None:
            self.trainer.train_d()
            show_live("after one D step")

        def on_step_g(_) -> None:
            self.trainer.train_g()
            show_live("after one G step")

        def on_train(_) -> None:
            self.trainer.reconfigure(loss=loss.value, k=k.value)
            self.trainer.train(100, progress=False)
            show_live(f"trained, k={k.value}, {loss.value}")

        frame.observe(on_frame, names="value")
        step_d.on_click(on_step_d)
        step_g.on_click(on_step_g)
        train.on_click(on_train)
        redraw(self.current)
        self._widget = w.VBox([w.HBox([play, frame]), w.HBox([step_d, step_g, train, loss, k]), status, output])
        return self._widget


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: stays at the typical norm of Gaussian z (White 2016)."""
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


class LatentWalkDemo:
    """A slider that walks between two latent points of a trained generator, and a "new sample"
    button that draws new end points; each frame is one forward pass, instant on a CPU."""

    def __init__(self, G: torch.nn.Module, seed: int = 0):
        self.G = G.eval()
        self.generator = torch.Generator().manual_seed(seed)
        self.device = next(G.parameters()).device
        self._new_endpoints()
        self.t = 0.0

    def _new_endpoints(self) -> None:
        self.z0, self.z1 = (self.G.sample_z(1, generator=self.generator, device=self.device) for _ in range(2))

    @torch.no_grad()
    def frames(self, steps: int = 10) -> torch.Tensor:
        """The walk from z0 to z1 as `steps` images."""
        z = torch.cat([slerp(self.z0, self.z1, t) for t in torch.linspace(0, 1, steps).tolist()])
        return self.G(z).cpu()

    @torch.no_grad()
    def static_figure(self, steps: int = 10) -> Figure:
        """The whole walk as one row (the fallback where widgets do not render)."""
        from .plots import image_rows

        return image_rows([self.frames(steps)], [r"$z_0 \to z_1$"], title="latent walk")

    def widget(self):
        """Slider, buttons and the current image, side by side with the whole walk."""
        import ipywidgets as w
        from IPython.display import display

        from .plots import image_grid

        output = w.Output()
        t = w.FloatSlider(min=0, max=1, step=0.02, value=0, description="t", continuous_update=True)
        new = w.Button(description="new sample", button_style="primary")

        @torch.no_grad()
        def redraw(*_) -> None:
            image = self.G(slerp(self.z0, self.z1, t.value)).cpu()
            with output:
                output.clear_output(wait=True)
                display(image_grid(image, nrow=1, scale=2.2))
                display(self.static_figure())

        def on_new(_) -> None:
            self._new_endpoints()
            redraw()

        t.observe(redraw, names="value")
        new.on_click(on_new)
        redraw()
        return w.VBox([w.HBox([t, new]), output])


class Latent2DDemo:
    """Two sliders over the 2-D latent space of a VAE (or autoencoder) decoder: each move decodes
    one image, instantly; the static fallback is the decoded manifold with the chosen point marked."""

    def __init__(self, decoder: torch.nn.Module, limit: float = 3.0):
        self.decoder = decoder.eval()
        self.limit = limit
        self.z = torch.zeros(1, 2)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities in [-1, 1] image scale for codes z (n, 2)."""
        device = next(self.decoder.parameters()).device
        return torch.sigmoid(self.decoder(z.to(device))).cpu() * 2 - 1

    def static_figure(self, points: int = 15) -> Figure:
        """The manifold: a grid of decoded codes over [-limit, limit]^2, the chosen z marked in red."""
        axis = torch.linspace(-self.limit, self.limit, points)
        grid = torch.stack(torch.meshgrid(axis, axis.flip(0), indexing="xy"), dim=-1).reshape(-1, 2)
        from .plots import tile_images

        fig = Figure(figsize=(6, 6), layout="constrained")
        ax = fig.subplots()
        extent = (-self.limit, self.limit, -self.limit, self.limit)
        ax.imshow(tile_images(self.decode(grid), points, padding=0), cmap="gray", extent=extent)
        ax.plot(*self.z[0].tolist(), marker="o", color="tab:red", markersize=8)
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        ax.set_title("decoded latent space")
        return fig

    def widget(self):
        """Two sliders and the decoded image beside the manifold."""
        import ipywidgets as w
        from IPython.display import display

        from .plots import image_grid

        output = w.Output()
        z1 = w.FloatSlider(min=-self.limit, max=self.limit, step=0.05, value=0.0, description="z1")
        z2 = w.FloatSlider(min=-self.limit, max=self.limit, step=0.05, value=0.0, description="z2")

        def redraw(*_) -> None:
            self.z = torch.tensor([[z1.value, z2.value]])
            with output:
                output.clear_output(wait=True)
                display(image_grid(self.decode(self.z), nrow=1, scale=2.2, title=f"z = ({z1.value:.2f}, {z2.value:.2f})"))

        z1.observe(redraw, names="value")
        z2.observe(redraw, names="value")
        redraw()
        return w.VBox([w.HBox([z1, z2]), output])


class ConditionalDemo:
    """Choose a digit and a noise seed; the conditional generator draws that digit at once."""

    def __init__(self, G: torch.nn.Module, classes: Sequence[str] = tuple(str(d) for d in range(10))):
        self.G = G.eval()
        self.classes = list(classes)

    @torch.no_grad()
    def image(self, digit: int, seed: int) -> torch.Tensor:
        """One image (1, C, H, W) of class `digit` from the noise of `seed`."""
        return self.G.generate(torch.tensor([digit]), seed=seed).cpu()

    def static_figure(self, seeds: Sequence[int] = range(8)) -> Figure:
        """Every class (rows) for a few seeds (columns): what the widget can show."""
        from .plots import image_rows

        rows = [torch.cat([self.image(c, s) for s in seeds]) for c in range(len(self.classes))]
        return image_rows(rows, self.classes, title="class (rows) x noise seed (columns)")

    def widget(self):
        """A class dropdown, a seed slider and the image; 'same seed, all classes' below it."""
        import ipywidgets as w
        from IPython.display import display

        from .plots import image_grid

        output = w.Output()
        digit = w.Dropdown(options=[(name, i) for i, name in enumerate(self.classes)], value=0, description="class")
        seed = w.IntSlider(min=0, max=999, value=0, description="noise seed", continuous_update=True)

        def redraw(*_) -> None:
            same_noise = torch.cat([self.image(c, seed.value) for c in range(len(self.classes))])
            with output:
                output.clear_output(wait=True)
                display(image_grid(self.image(digit.value, seed.value), nrow=1, scale=2.2,
                                   title=f"class {self.classes[digit.value]}, seed {seed.value}"))
                display(image_grid(same_noise, nrow=len(self.classes), title="the same noise, every class"))

        digit.observe(redraw, names="value")
        seed.observe(redraw, names="value")
        redraw()
        return w.VBox([w.HBox([digit, seed]), output])


class TranslationDemo:
    """Pick a held-out image of either domain; see its translation and its reconstruction."""

    def __init__(self, model: torch.nn.Module, images_a: torch.Tensor, images_b: torch.Tensor):
        self.model = model.eval()
        self.images = {"A": images_a, "B": images_b}  # in [-1, 1]

    @torch.no_grad()
    def row(self, domain: str, index: int) -> torch.Tensor:
        """[x, translation, reconstruction] for image `index` of `domain` ('A' or 'B')."""
        x = self.images[domain][index:index + 1]
        there, back = ("AB", "BA") if domain == "A" else ("BA", "AB")
        y = self.model.translate(x, there)
        return torch.cat([x, y, self.model.translate(y, back)])

    def static_figure(self, indices: Sequence[int] = range(6)) -> Figure:
        """Rows for a few images of each domain."""
        from .plots import image_rows

        rows = [self.row(d, i) for d in ("A", "B") for i in indices]
        labels = [f"{d} #{i}" for d in ("A", "B") for i in indices]
        return image_rows(rows, labels, title="image | translated | translated back", scale=0.8)

    def widget(self):
        """A domain toggle and an index slider."""
        import ipywidgets as w
        from IPython.display import display

        from .plots import image_grid

        output = w.Output()
        domain = w.ToggleButtons(options=[("MNIST (A) -> MNIST-M", "A"), ("MNIST-M (B) -> MNIST", "B")], value="A")
        index = w.IntSlider(min=0, max=len(self.images["A"]) - 1, value=0, description="image")

        def redraw(*_) -> None:
            index.max = len(self.images[domain.value]) - 1
            with output:
                output.clear_output(wait=True)
                display(image_grid(self.row(domain.value, index.value), nrow=3, scale=1.6,
                                   title="image | translated | translated back"))

        domain.observe(redraw, names="value")
        index.observe(redraw, names="value")
        redraw()
        return w.VBox([domain, index, output])


class CodeDemo:
    """An InfoGAN's codes by hand (notebook 08): a slider per continuous code, and a dropdown for the categorical
    code if there is one; each move draws G's image at once. And a game: two images whose latents differ in one
    code only (the noise and the other codes fixed); which code moved? Q, the head of D that reads the codes back,
    plays too: its guess is the code whose reading changed most between the two images."""

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module | None = None,
                 code_names: Sequence[str] | None = None, limit: float = 2.0, seed: int = 0):
        self.G = G.eval()
        self.D = D.eval() if D is not None else None
        self.cfg = G.cfg
        names = list(code_names) if code_names is not None else [f"c{i + 1}" for i in range(self.cfg.continuous)]
        if len(names) != self.cfg.continuous:
            raise ValueError(f"code_names needs one name per continuous code ({self.cfg.continuous}), got {names}")
        self.code_names = names
        self.limit = limit
        self.generator = torch.Generator().manual_seed(seed)
        self.score = {"you": 0, "Q": 0, "rounds": 0}
        self.round: dict | None = None

    @property
    def choices(self) -> list[str]:
        """What the game may move: each continuous code, and the categorical code ("category") if there is one."""
        return self.code_names + (["category"] if self.cfg.categories else [])

    def noise(self, seed: int) -> torch.Tensor:
        """The noise z (1, z_dim) of one seed."""
        return torch.randn(1, self.cfg.z_dim, generator=torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def images(self, z: torch.Tensor, category: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """G's images (n, 1, s, s) for noise (n, z_dim), category indices (n,) and continuous codes (n, c)."""
        from .models.infogan import make_latent

        device = next(self.G.parameters()).device
        return self.G(make_latent(z, category, codes, self.cfg).to(device)).cpu()

    def traversal(self, seed: int = 0, steps: int = 7, category: int = 0) -> list[torch.Tensor]:
        """One row per continuous code: that code from -limit to limit, the noise and the other codes at 0."""
        values = torch.linspace(-self.limit, self.limit, steps)
        rows = []
        for k in range(self.cfg.continuous):
            codes = torch.zeros(steps, self.cfg.continuous)
            codes[:, k] = values
            rows.append(self.images(self.noise(seed).expand(steps, -1), torch.full((steps,), category), codes))
        return rows

    def static_figure(self, seed: int = 0, steps: int = 7) -> Figure:
        """The latent traversal: each code varied alone (rows), from -limit to limit (columns)."""
        from .plots import image_rows

        return image_rows(self.traversal(seed, steps), self.code_names,
                          title=f"each code from {-self.limit:g} to {self.limit:g}, the rest fixed (noise seed {seed})")

    @torch.no_grad()
    def q_guess(self, pair: torch.Tensor) -> str | None:
        """Q's guess at which code changed between the two images of `pair` (2, 1, s, s); None without D."""
        if self.D is None:
            return None
        device = next(self.D.parameters()).device
        codes = self.D.read_codes(pair.to(device))
        if self.cfg.categories and codes.logits[0].argmax() != codes.logits[1].argmax():
            return "category"
        return self.code_names[int((codes.mean[0] - codes.mean[1]).abs().argmax())]

    def new_round(self) -> dict:
        """Two images that differ in one code, moved by at least 1 (or to another category); Q's guess."""
        g = self.generator
        z = torch.randn(1, self.cfg.z_dim, generator=g).expand(2, -1)
        category = torch.randint(max(self.cfg.categories, 1), (1,), generator=g).repeat(2)
        codes = (torch.rand(1, self.cfg.continuous, generator=g) * 2 - 1).repeat(2, 1)
        moved = int(torch.randint(len(self.choices), (1,), generator=g))
        if moved < self.cfg.continuous:
            step = 1 + torch.rand(1, generator=g).item()  # the code moves by 1 to 2, towards the far side
            codes[1, moved] = codes[0, moved] - step if codes[0, moved] > 0 else codes[0, moved] + step
        else:
            category[1] = (category[0] + 1 + torch.randint(self.cfg.categories - 1, (1,), generator=g)) \
                % self.cfg.categories
        pair = self.images(z, category, codes)
        self.round = {"images": pair, "moved": self.choices[moved], "q_guess": self.q_guess(pair),
                      "codes": codes, "category": category}
        return self.round

    def guess(self, name: str) -> str:
        """Score a guess for the current round and say who was right."""
        if self.round is None:
            raise RuntimeError("no round yet: call new_round() first")
        if name not in self.choices:
            raise ValueError(f"guess one of {self.choices}, got {name!r}")
        moved, q = self.round["moved"], self.round["q_guess"]
        self.score["rounds"] += 1
        self.score["you"] += name == moved
        self.score["Q"] += q == moved
        q_text = "" if q is None else f"; Q guessed {q}"
        return (f"{moved} moved: you {'right' if name == moved else 'wrong'}{q_text}. Score after "
                f"{self.score['rounds']} rounds: you {self.score['you']}, Q {self.score['Q']}")

    def widget(self):
        """Sliders and the image on the left; the game on the right."""
        import ipywidgets as w
        from IPython.display import display

        from .plots import image_grid

        sliders = [w.FloatSlider(min=-self.limit, max=self.limit, step=0.05, value=0.0, description=name)
                   for name in self.code_names]
        seed = w.IntSlider(min=0, max=99, value=0, description="noise seed")
        category = w.Dropdown(options=list(range(self.cfg.categories)), value=0, description="category") \
            if self.cfg.categories else None
        image_out, game_out = w.Output(), w.Output()
        status = w.Label("Press 'new pair', then guess which code moved.")

        def redraw(*_) -> None:
            codes = torch.tensor([[s.value for s in sliders]])
            cat = torch.tensor([category.value if category is not None else 0])
            with image_out:
                image_out.clear_output(wait=True)
                display(image_grid(self.images(self.noise(seed.value), cat, codes), nrow=1, scale=2.2))

        def start(_=None) -> None:
            pair = self.new_round()["images"]
            status.value = "Which code moved?"
            with game_out:
                game_out.clear_output(wait=True)
                display(image_grid(pair, nrow=2, scale=1.6, title="before, after"))

        def answer(name: str):
            def on_click(_) -> None:
                if self.round is not None:
                    status.value = self.guess(name)
                    self.round = None
            return on_click

        controls = [*sliders, seed] + ([category] if category is not None else [])
        for control in controls:
            control.observe(redraw, names="value")
        new_pair = w.Button(description="new pair")
        new_pair.on_click(start)
        buttons = []
        for name in self.choices:
            button = w.Button(description=name, layout=w.Layout(width="auto"))
            button.on_click(answer(name))
            buttons.append(button)
        redraw()
        start()
        return w.HBox([w.VBox([*controls, image_out]), w.VBox([new_pair, game_out, w.HBox(buttons), status])])


class DenoisingDemo:
    """Noise becoming data (notebook 09). A slider runs t from T down to 0 along recorded reverse trajectories: a
    2-D cloud turning into the data, and MNIST digits coming out of noise. A second slider pushes the grid of a
    2-D flow's Gaussian plane back through its couplings one at a time, from z to x.

    Frames are (time, tensor) pairs in sampling order (noise first); `warp` is plots_generative.warp_stages(flow)."""

    def __init__(self, cloud_frames: Sequence[tuple[float, torch.Tensor]],
                 digit_frames: Sequence[tuple[float, torch.Tensor]], data_points: torch.Tensor,
                 warp: Sequence[torch.Tensor] | None = None, digits_label: str = "t"):
        if not cloud_frames or not digit_frames:
            raise ValueError("DenoisingDemo needs at least one frame of the cloud and one of the digits")
        self.cloud_frames, self.digit_frames = list(cloud_frames), list(digit_frames)
        self.data_points, self.warp, self.digits_label = data_points, list(warp or []), digits_label

    @staticmethod
    def _at(frames: Sequence[tuple[float, torch.Tensor]], position: float) -> tuple[float, torch.Tensor]:
        """The frame at `position` in [0, 1] of a path (0: its first frame, the noise; 1: its last, the data)."""
        return frames[round(position * (len(frames) - 1))]

    def figure(self, position: float) -> Figure:
        """The cloud and the digits at `position` in [0, 1] of their paths (0: noise, 1: data)."""
        from .plots import tile_images
        from .plots_generative import EXTENT

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
        from .plots_generative import draw_grid

        fig = Figure(figsize=(4.2, 4.0), layout="constrained")
        ax = fig.subplots()
        last = len(self.warp) - 1
        draw_grid(ax, self.warp[stage], self.data_points if stage == last else None)
        ax.set_title("z: the Gaussian's plane" if stage == 0 else f"after {stage} of {last} inverse couplings",
                     fontsize=11)
        return fig

    def static_figure(self) -> Figure:
        """Five moments of the cloud and of the digits (noise, three in between, data) in one figure."""
        from .plots import tile_images
        from .plots_generative import EXTENT

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
        import ipywidgets as w
        from IPython.display import display

        steps = max(len(self.cloud_frames), len(self.digit_frames)) - 1  # one slider step per recorded frame
        position = w.IntSlider(min=0, max=steps, value=0, description="noise -> data", readout=False,
                               layout=w.Layout(width="420px"), style={"description_width": "110px"})
        play = w.Play(min=0, max=steps, step=1, interval=150, description="play")
        w.jslink((play, "value"), (position, "value"))
        denoise_out = w.Output(layout=w.Layout(height="420px"))

        def redraw(*_) -> None:
            with denoise_out:
                denoise_out.clear_output(wait=True)
                display(self.figure(position.value / max(steps, 1)))

        position.observe(redraw, names="value")
        redraw()
        parts = [w.HTML("<b>Drag from noise to data</b>: every t is a recorded step of the sampler"),
                 w.HBox([play, position]), denoise_out]
        if self.warp:
            stage = w.IntSlider(min=0, max=len(self.warp) - 1, value=0, description="couplings undone",
                                style={"description_width": "130px"}, layout=w.Layout(width="420px"))
            warp_out = w.Output(layout=w.Layout(height="410px"))

            def redraw_warp(*_) -> None:
                with warp_out:
                    warp_out.clear_output(wait=True)
                    display(self.warp_figure(stage.value))

            stage.observe(redraw_warp, names="value")
            redraw_warp()
            parts += [w.HTML("<b>A flow, layer by layer</b>: the grid of z pushed back to x"), stage, warp_out]
        return w.VBox(parts)


class WipeDemo:
    """A wipe between the answers of several methods on one image (notebook 10): the left part of the picture from
    one method, the right part from another, the boundary on a slider; under it, each method's PSNR and SSIM for that
    image against the ground truth.

    images: method -> uint8 (N, 3, H, W), in the order to offer, the ground truth under `truth`; inputs: the models'
    uint8 inputs (N, C, h, w), drawn small beside the wipe; indices: the images offered (default: all)."""

    def __init__(self, images: dict[str, torch.Tensor], inputs: torch.Tensor, truth: str = "ground truth",
                 indices: Sequence[int] | None = None):
        from .image_metrics import psnr, ssim

        if truth not in images:
            raise ValueError(f"WipeDemo needs the ground truth among the images, under {truth!r}; got {list(images)}")
        shapes = {name: tuple(x.shape) for name, x in images.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"WipeDemo needs images of one shape for every method, got {shapes}")
        self.images, self.inputs, self.truth = images, inputs, truth
        self.methods = list(images)
        self.indices = list(indices) if indices is not None else list(range(len(inputs)))
        target = images[truth]
        self.scores = {name: (psnr(x, target), ssim(x, target)) for name, x in images.items() if name != truth}

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
        text.set_title(f"test image {index}", fontsize=11 * scale)
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
        import ipywidgets as w
        from IPython.display import display

        choose = w.Dropdown(options=[(f"test image {i}", i) for i in self.indices], value=self.indices[0],
                            description="image", layout=w.Layout(width="240px"))
        left = w.Dropdown(options=self.methods, value=self.methods[0], description="left",
                          layout=w.Layout(width="260px"))
        right = w.Dropdown(options=self.methods, value=self.methods[-1], description="right",
                           layout=w.Layout(width="260px"))
        position = w.FloatSlider(min=0.0, max=1.0, step=1 / 32, value=0.5, description="wipe", readout=False,
                                 continuous_update=True, layout=w.Layout(width="520px"))
        out = w.Output(layout=w.Layout(height="440px"))

        def redraw(*_) -> None:
            with out:
                out.clear_output(wait=True)
                display(self.figure(choose.value, left.value, right.value, position.value))

        for control in (choose, left, right, position):
            control.observe(redraw, names="value")
        redraw()
        return w.VBox([w.HTML("<b>Drag the wipe</b>: left of the white line one method, right of it another"),
                       w.HBox([choose, left, right]), position, out])
