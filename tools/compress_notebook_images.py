"""Re-encode the PNG figures saved in notebooks' outputs with oxipng, losslessly (every pixel is checked equal).

A developer's tool: the committed notebooks carry their figures, and the whole checkout must stay within the 64 MiB
that the GPU machine's tool carries. matplotlib writes PNGs fast rather than small; oxipng at level 4 makes the same
images about a third smaller. Needs `pip install pyoxipng` (requirements-dev.txt), not a course dependency.

    .venv/bin/python tools/compress_notebook_images.py notebooks/*.ipynb
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image


def same_pixels(a: bytes, b: bytes) -> bool:
    """True when two PNG files decode to the same RGBA pixels."""
    first, second = (np.asarray(Image.open(io.BytesIO(x)).convert("RGBA")) for x in (a, b))
    return first.shape == second.shape and bool((first == second).all())


def compress(path: Path) -> tuple[int, int]:
    """Re-encode every image/png output of the notebook at `path` in place; (bytes before, bytes after) of the PNGs."""
    import oxipng

    notebook = nbformat.read(path, as_version=4)
    before = after = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            encoded = output.get("data", {}).get("image/png")
            if not encoded:
                continue
            raw = base64.b64decode(encoded)
            smaller = oxipng.optimize_from_memory(raw, level=4, strip=oxipng.StripChunks.safe())
            if len(smaller) < len(raw) and same_pixels(raw, smaller):
                output["data"]["image/png"] = base64.b64encode(smaller).decode("ascii")
                raw = smaller
            before += len(base64.b64decode(encoded))
            after += len(raw)
    nbformat.write(notebook, path)
    return before, after


def main() -> int:
    for name in sys.argv[1:]:
        before, after = compress(Path(name))
        print(f"{name}: PNG figures {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
