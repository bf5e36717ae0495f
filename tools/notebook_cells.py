"""The notebook builders' shared part (tools/build_notebook_09.py, build_notebook_10.py): cells collected in order as
markdown or code text, then written as a notebook with empty outputs (run it with nbconvert to fill them)."""

from __future__ import annotations

from pathlib import Path

import nbformat


class NotebookCells:
    """An ordered list of (kind, text) cells; `md` and `code` append one, `write` saves them under notebooks/."""

    def __init__(self):
        self.cells: list[tuple[str, str]] = []

    def md(self, text: str) -> None:
        self.cells.append(("markdown", text.strip("\n")))

    def code(self, text: str) -> None:
        self.cells.append(("code", text.strip("\n")))

    def write(self, name: str) -> Path:
        """Write the cells as notebooks/<name> and return its path."""
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
                          for kind, text in self.cells]
        notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                             "language_info": {"name": "python"}}
        path = Path(__file__).resolve().parents[1] / "notebooks" / name
        nbformat.write(notebook, path)
        print(f"wrote {path} ({len(self.cells)} cells)")
        return path
