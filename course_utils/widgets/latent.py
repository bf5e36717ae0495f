"""Demos of the latent-variable lectures: a VAE's 2-D latent space (notebook 05) and an InfoGAN's codes by hand,
with the "which code moved?" game (notebook 08)."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as w
import torch
from matplotlib.figure import Figure

from ..plots import tile_images
from .display import DemoBox, FigureView, label_style, slider_layout


class Latent2DDemo:
    """Two sliders over the 2-D latent space of a VAE (or autoencoder) decoder: each move decodes one image,
    instantly. The picture: the decoded manifold with the chosen z as a red dot, and the image decoded there."""

    name = "latent2d"

    def __init__(self, decoder: torch.nn.Module, limit: float = 3.0, points: int = 15):
        self.decoder = decoder.eval()
        self.limit, self.points = limit, points
        self.z = torch.zeros(1, 2)
        self.controls: dict[str, w.Widget] = {}
        self._manifold = None

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities in [-1, 1] image scale for codes z (n, 2)."""
        device = next(self.decoder.parameters()).device
        return torch.sigmoid(self.decoder(z.to(device))).cpu() * 2 - 1

    def manifold(self, points: int | None = None):
        """The decoded grid over [-limit, limit]^2 as one picture (z2 upwards)."""
        points = points or self.points
        if self._manifold is None or self._manifold[0] != points:
            axis = torch.linspace(-self.limit, self.limit, points)
            grid = torch.stack(torch.meshgrid(axis, axis.flip(0), indexing="xy"), dim=-1).reshape(-1, 2)
            self._manifold = (points, tile_images(self.decode(grid), points, padding=0))
        return self._manifold[1]

    def _draw_manifold(self, ax, points: int | None = None) -> None:
        extent = (-self.limit, self.limit, -self.limit, self.limit)
        ax.imshow(self.manifold(points), cmap="gray", extent=extent)
        ax.plot(*self.z[0].tolist(), marker="o", color="tab:red", markersize=9, markeredgecolor="white")
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
        ax.set_title("decoded latent space", fontsize=11)

    def static_figure(self, points: int | None = None) -> Figure:
        """The manifold: a grid of decoded codes over [-limit, limit]^2, the chosen z marked in red."""
        fig = Figure(figsize=(6, 6), layout="constrained")
        self._draw_manifold(fig.subplots(), points)
        return fig

    def figure(self) -> Figure:
        """The manifold with z marked (left) and the image decoded at z (right)."""
        fig = Figure(figsize=(8, 4), layout="constrained")
        left, right = fig.subplots(1, 2)
        self._draw_manifold(left)
        right.imshow(tile_images(self.decode(self.z), 1, padding=0), cmap="gray", vmin=0, vmax=1,
                     interpolation="nearest")
        right.set_axis_off()
        right.set_title(f"decoded at z = ({self.z[0, 0]:.2f}, {self.z[0, 1]:.2f})", fontsize=11)
        return fig

    def widget(self):
        """Two sliders and the picture."""
        view = FigureView()
        z1 = w.FloatSlider(min=-self.limit, max=self.limit, step=0.05, value=0.0, description="z1",
                           layout=slider_layout(0.8), style=label_style(0.4))
        z2 = w.FloatSlider(min=-self.limit, max=self.limit, step=0.05, value=0.0, description="z2",
                           layout=slider_layout(0.8), style=label_style(0.4))
        self.controls = {"z1": z1, "z2": z2}

        def redraw(*_) -> None:
            self.z = torch.tensor([[z1.value, z2.value]])
            view.show(self.figure())

        z1.observe(redraw, names="value")
        z2.observe(redraw, names="value")
        redraw()
        return DemoBox([w.HBox([z1, z2]), view.widget], self.static_figure, self.name)


class CodeDemo:
    """An InfoGAN's codes by hand (notebook 08): a slider per continuous code, and a dropdown for the categorical
    code if there is one; each move draws G's image at once. And a game: two images whose latents differ in one
    code only (the noise and the other codes fixed); which code moved? Q, the head of D that reads the codes back,
    plays too: its guess is the code whose reading changed most between the two images."""

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module | None = None,
                 code_names: Sequence[str] | None = None, limit: float = 2.0, seed: int = 0, name: str = "code"):
        self.G = G.eval()
        self.name = name
        self.controls: dict[str, w.Widget] = {}
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
        from ..models.infogan import make_latent

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
        from ..plots import image_rows

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
        from ..plots import image_grid

        sliders = [w.FloatSlider(min=-self.limit, max=self.limit, step=0.05, value=0.0, description=name,
                                 layout=slider_layout(0.8), style=label_style(0.8)) for name in self.code_names]
        seed = w.IntSlider(min=0, max=99, value=0, description="noise seed", layout=slider_layout(0.8),
                           style=label_style(0.8))
        category = w.Dropdown(options=list(range(self.cfg.categories)), value=0, description="category",
                              style=label_style(0.8), layout=w.Layout(width="auto")) if self.cfg.categories else None
        image_view, game_view = FigureView(), FigureView()
        status = w.Label("Press 'new pair', then guess which code moved.")

        def redraw(*_) -> None:
            codes = torch.tensor([[s.value for s in sliders]])
            cat = torch.tensor([category.value if category is not None else 0])
            image_view.show(image_grid(self.images(self.noise(seed.value), cat, codes), nrow=1, scale=2.2))

        def start(_=None) -> None:
            pair = self.new_round()["images"]
            status.value = "Which code moved?"
            game_view.show(image_grid(pair, nrow=2, scale=1.6, title="before, after"))

        def answer(name: str):
            def on_click(_) -> None:
                if self.round is not None:
                    status.value = self.guess(name)
                    self.round = None
            return on_click

        controls = [*sliders, seed] + ([category] if category is not None else [])
        for control in controls:
            control.observe(redraw, names="value")
        new_pair = w.Button(description="new pair", button_style="primary")
        new_pair.on_click(start)
        buttons = []
        for name in self.choices:
            button = w.Button(description=name, layout=w.Layout(width="auto"))
            button.on_click(answer(name))
            buttons.append(button)
        self.controls = {**{s.description: s for s in controls}, "new pair": new_pair, "status": status,
                         **{f"guess {b.description}": b for b in buttons}}
        redraw()
        start()
        return DemoBox([w.HBox([w.VBox([*controls, image_view.widget]),
                                w.VBox([new_pair, game_view.widget, w.HBox(buttons), status])])],
                       self.static_figure, self.name)
