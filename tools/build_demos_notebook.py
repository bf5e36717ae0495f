"""Write notebooks/demos.ipynb, the instructor's page of every demo (course_utils.demos.DEMOS), with empty outputs:

    .venv/bin/python tools/build_demos_notebook.py
    .venv/bin/jupyter nbconvert --to notebook --execute --inplace notebooks/demos.ipynb

Its titles and sentences come from DEMOS, so the page, the browser test and the registry cannot drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.demos import DEMOS  # noqa: E402
from notebook_cells import NotebookCells  # noqa: E402

NOTEBOOK = NotebookCells()
NOTEBOOK.md("""
# Instructor demos: every live demo of the course

Each demo below starts from committed weights or a recorded run: nothing trains before its first picture. Serve this
page with only the demos (no code) for a projector: `make present` prints the address. In JupyterLab, run all cells.

The page is sized for a projected 1920x1080 screen (larger figures, 24-pixel controls). For a laptop screen set
`PRESET = "notebook"` below. The demos also sit at the end of their own notebooks, with the lesson around them.
""")
NOTEBOOK.code("""
from course_utils import demos
from course_utils.widgets import use_preset

PRESET = "projector"  # or "notebook"
use_preset(PRESET);
""")
for number, (key, demo) in enumerate(DEMOS.items(), 1):
    NOTEBOOK.md(f"## {number}. {demo.title}\n\n*From notebook `{demo.notebook}`.* {demo.what_to_show}")
    NOTEBOOK.code(f'demos.show("{key}")')


def main() -> None:
    NOTEBOOK.write("demos.ipynb")


if __name__ == "__main__":
    main()
