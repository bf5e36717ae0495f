"""Give the demo cells of notebooks 03-08 the one-output form of issue 18 without re-running hours of notebook:
each cell's code becomes `demo.widget()` alone (no second, static copy under the live demo), and its saved output
becomes what that code outputs (the widget, whose saved form holds the static figure as a PNG).

A developer's tool, run once per change of the demos' code:

    .venv/bin/python tools/refresh_demo_cells.py

Every demo here is built from committed weights or recordings, as the notebook's own cell builds it, so the saved
picture is the one the cell draws. (Notebooks 01, 09 and 10 build theirs from what they train: re-run those.) The
markdown cell before each demo is checked to hold the sentence being replaced."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course_utils import data, pretrained
from course_utils.gan_lab import GANLab
from course_utils.widgets import CodeDemo, ConditionalDemo, Latent2DDemo, LatentWalkDemo, TranslationDemo

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FALLBACK = "Saved without its widgets (a notebook not yet run, a repository page), the demo shows its static figure."


def held_out_domains():
    held_out = data.unpaired_mnist_domains(train=False)
    return data.to_signed_unit(held_out["A"][:500]), data.to_signed_unit(held_out["B"][:500])


def infogan_demo():
    infogan = pretrained("mnist_infogan", verbose=False)
    return CodeDemo(infogan.G, infogan.D, code_names=[f"c{j + 1}" for j in range(infogan.G.cfg.continuous)])


# notebook -> [(its code cell's start, the new code, (old, new) in the markdown cell before it, the demo built alike)]
CELLS = {
    "03_mnist_gan.ipynb": [(
        "demo = LatentWalkDemo(G_pretrained, seed=7)", "demo = LatentWalkDemo(G_pretrained, seed=7)\ndemo.widget()",
        ("Below the widget, the static fallback: the whole walk as a row.",
         "The frame nearest $t$ is outlined in the walk beside it. " + FALLBACK),
        lambda: LatentWalkDemo(pretrained("mnist_gan"), seed=7))],
    "04_dcgan_cifar10.ipynb": [(
        "demo = LatentWalkDemo(G_pre.cpu(), seed=3)", "demo = LatentWalkDemo(G_pre.cpu(), seed=3)\ndemo.widget()",
        ("Where widgets do not render (a PDF, GitHub), the static walk below it shows the same.",
         "Where widgets do not render (a PDF, GitHub), the saved output shows the whole walk as a static row."),
        lambda: LatentWalkDemo(pretrained("dcgan_cifar10").G, seed=3))],
    "05_vae.ipynb": [(
        "demo = Latent2DDemo(vae2d.decoder)", "demo = Latent2DDemo(vae2d.decoder)\ndemo.widget()",
        ("Below, the static fallback: the decoded code space with the chosen point.",
         "Beside the image, the decoded code space with the chosen point in red, which follows the sliders. "
         + FALLBACK),
        lambda: Latent2DDemo(pretrained("mnist_vae2d").decoder))],
    "06_cgan_cyclegan.ipynb": [
        ("demo = ConditionalDemo(G_pre)", "demo = ConditionalDemo(G_pre)\ndemo.widget()",
         ("the image appears at once, with the same noise under every label below it.",
          "the image appears at once, with the same noise under every label beside it. " + FALLBACK),
         lambda: ConditionalDemo(pretrained("mnist_cgan"))),
        ("demo = TranslationDemo(pre,",
         'demo = TranslationDemo(pre, data.to_signed_unit(held_out["A"][:500]), data.to_signed_unit(held_out["B"][:500]))'
         "\ndemo.widget()",
         ("its translation and reconstruction appear at once.",
          "its translation and reconstruction appear at once. " + FALLBACK),
         lambda: TranslationDemo(pretrained("mnist_cyclegan"), *held_out_domains()))],
    "07_training_dynamics.ipynb": [(
        "from course_utils.gan_lab import GANLab", None, None, lambda: GANLab(loss="GAN", dataset="grid"))],
    "08_disentangling.ipynb": [("demo = CodeDemo(infogan.G", None, None, infogan_demo)],
}


def refresh(name: str) -> None:
    path = NOTEBOOKS / name
    notebook = nbformat.read(path, as_version=4)
    for start, code, markdown, build in CELLS[name]:
        index = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and c.source.startswith(start))
        cell = notebook.cells[index]
        if markdown is not None:
            before = notebook.cells[index - 1]
            old = re.compile(r"\s+".join(map(re.escape, markdown[0].split())))  # line breaks anywhere
            if not old.search(before.source) and markdown[1] not in before.source:
                raise ValueError(f"{name}: the markdown before cell {index} holds neither {markdown[0]!r} nor the new text")
            before.source = old.sub(lambda _: markdown[1], before.source)
        if code is not None:
            cell.source = code
        bundle = build().widget()._repr_mimebundle_()
        streams = [o for o in cell.outputs if o.output_type == "stream"]
        cell.outputs = streams + [nbformat.v4.new_output("execute_result", data=bundle,
                                                         execution_count=cell.execution_count)]
        print(f"{name} cell {index}: {cell.source.splitlines()[-1]} -> {sorted(bundle)}")
    nbformat.write(notebook, path)


def main() -> None:
    for name in CELLS:
        refresh(name)


if __name__ == "__main__":
    main()
