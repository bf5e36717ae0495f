"""The instructor demos as a whole (issue 18): the registry of notebooks/demos.ipynb, and what a committed notebook
shows before its demo cells run. (tests/browser drives them in a real browser.)"""

import base64
import json
from pathlib import Path

import pytest

from course_utils import demos

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"


def test_the_demos_notebook_shows_every_demo_of_the_registry_in_order_with_its_words():
    cells = json.loads((NOTEBOOKS / "demos.ipynb").read_text())["cells"]
    shown = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert shown[1:] == [f'demos.show("{name}")' for name in demos.DEMOS]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for demo in demos.DEMOS.values():
        assert demo.title in text and demo.what_to_show in text
        assert (NOTEBOOKS / f"{demo.notebook}.ipynb").is_file()
        assert demo.action.kind in ("button", "slider", "dropdown", "toggle")
    with pytest.raises(KeyError, match="no demo named 'gan2d'; the demos are: gan1d, mnist_gan_walk"):
        demos.show("gan2d")


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb")))
def test_a_saved_demo_output_carries_its_static_figure_and_no_widget_repr(notebook):
    """Before a notebook's cells run (or where it is not trusted), JupyterLab draws a widget output's safe parts: its
    text, or the PNG beside it. No saved widget output may have "VBox(children=...)" as its text (a progress bar's
    text is fine), and every demo cell's output must carry its static figure."""
    cells = [c for c in json.loads((NOTEBOOKS / notebook).read_text())["cells"] if c["cell_type"] == "code"]
    for cell in cells:
        source = "".join(cell["source"])
        outputs = [o["data"] for o in cell.get("outputs", []) if WIDGET in o.get("data", {})]
        for data in outputs:
            assert "children=" not in "".join(data["text/plain"]), f"{notebook}: a widget's repr would show as text"
        if source.rstrip().endswith(".widget()"):  # a demo cell
            pictures = [d["image/png"] for d in outputs if "image/png" in d]
            assert len(pictures) == 1, f"{notebook}: the demo cell {source.splitlines()[0]!r} should save one picture"
            assert base64.b64decode(pictures[0])[:4] == b"\x89PNG"


def test_a_missing_or_changed_recording_says_how_to_restore_or_record_it(tmp_path):
    from course_utils.checkpoints import CheckpointError, recording_file, sha256sum

    (tmp_path / "run.npz").write_bytes(b"frames")
    (tmp_path / "RECORDINGS.json").write_text(json.dumps({"gan1d_replay": {"file": "run.npz", "sha256": "0" * 64}}))
    with pytest.raises(CheckpointError, match=r"does not match its sha256 in RECORDINGS.json; restore it with git "
                                              r"checkout -- .*run.npz, or record it: python -m course_utils.pretrain "
                                              r"gan1d_replay"):
        recording_file("gan1d_replay", tmp_path)
    (tmp_path / "RECORDINGS.json").write_text(json.dumps({"gan1d_replay": {"file": "run.npz",
                                                                          "sha256": sha256sum(tmp_path / "run.npz")}}))
    assert recording_file("gan1d_replay", tmp_path) == tmp_path / "run.npz"
    (tmp_path / "run.npz").unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        recording_file("gan1d_replay", tmp_path)
