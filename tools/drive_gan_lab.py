"""Drive notebook 07's GAN Lab widget in JupyterLab in a real (headless) browser and take screenshots.

A developer's check, not run by CI. It needs Chromium and the playwright Python package (not in
requirements.txt):

    apt-get install -y chromium            # Debian's Chromium at /usr/bin/chromium
    .venv/bin/pip install playwright       # never `playwright install`: the system Chromium is used
    .venv/bin/python tools/drive_gan_lab.py --out /tmp/hW

It writes a two-cell notebook (the GAN Lab and a `1 + 1` cell) into a temporary folder, starts
`jupyter lab` there on --port, opens it, runs the cells, then: replays the recording (play), takes one
live step, switches the loss to SN-hinge, trains live, runs the `1 + 1` cell while training (the kernel
must answer), pauses, and checks that the step counter stops. Screenshots go to --out; the measured
numbers are printed and written to --out/drive_report.json. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
CELLS = ["from course_utils.gan_lab import GANLab\n\nlab = GANLab(loss=\"GAN\", dataset=\"grid\")\nlab.widget()",
         "1 + 1"]
sys.path.insert(0, str(REPO / "tests"))
from browser.servers import launch, start  # noqa: E402  (the browser test's server and browser helpers)


def start_lab(root: Path, port: int, token: str) -> subprocess.Popen:
    """`jupyter lab` serving `root`, started in the background with its own workspace; returns once it answers."""
    return start("lab", root, "", port, token=token)[0]


def drive_notebook(cells: list[str], name: str, drive, out: Path, port: int, chromium: str,
                   viewport: tuple[int, int], report: dict, on_console=None) -> None:
    """Write `cells` as notebook `name` into a temporary folder, serve it with `jupyter lab`, open it in headless
    Chromium (a fresh profile) and call `drive(page, out, port, report)`; a screenshot goes to out/failed.png when
    the drive raises. `on_console(message)` sees the browser console."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"{name}_drive_"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / f"{name}.ipynb")
    server = start_lab(root, port, "x")
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, root / "chromium-profile", chromium, viewport)
            page = browser.new_page()
            if on_console is not None:
                page.on("console", on_console)
            try:
                drive(page, out, port, report)
            except Exception:
                page.screenshot(path=str(out / "failed.png"))
                raise
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_first_cell(page, wait_until_shown) -> float:
    """Run the notebook's first cell (Shift+Enter) until `wait_until_shown()` returns; seconds it took. Dismisses
    JupyterLab's "news?" notification."""
    start = time.perf_counter()
    for attempt in range(3):  # a Shift+Enter sent while the kernel connects can be lost: try again
        page.locator(".jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")
        try:
            wait_until_shown()
            break
        except Exception:  # noqa: BLE001
            if attempt == 2:
                raise
    seconds = round(time.perf_counter() - start, 1)
    if page.get_by_role("button", name="No", exact=True).is_visible():
        page.get_by_role("button", name="No", exact=True).click()
    return seconds


def image_sources(page) -> list[str]:
    """The src of every image the notebook's outputs show, in page order."""
    return page.eval_on_selector_all(".jp-OutputArea-output img", "nodes => nodes.map(n => n.src)")


def wait_changed(page, before: list[str], index: int, start: float, timeout: float = 10.0) -> float:
    """Seconds from `start` (a perf_counter time taken just before the action) until image `index` differs from
    `before[index]` (raises after `timeout`)."""
    while time.perf_counter() - start < timeout:
        now = image_sources(page)
        if len(now) > index and now[index] != before[index]:
            return time.perf_counter() - start
        time.sleep(0.02)
    raise TimeoutError(f"image {index} did not change within {timeout} s")


def open_demo(page, port: int, name: str, report: dict, images: int = 2, timeout_s: float = 60.0) -> None:
    """Open notebook `name`, run its one cell until its outputs show `images` images (report["widget_shown_s"]),
    and check that the widget renders as controls, not as text (report["checks"])."""
    page.goto(f"http://127.0.0.1:{port}/lab/tree/{name}.ipynb?token=x")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.get_by_text(re.compile(r"\| Idle")).wait_for(timeout=60_000)
    report["widget_shown_s"] = run_first_cell(page, lambda: page.wait_for_function(
        f"() => document.querySelectorAll('.jp-OutputArea-output img').length >= {images}",
        timeout=int(timeout_s * 1000)))
    time.sleep(1)
    text = page.locator(".jp-OutputArea").first.inner_text()
    report["checks"]["renders as controls, not text"] = "VBox(children" not in text and "Error displaying" not in text


def demo_main(description: str, cell: str, name: str, drive, default_out: Path, default_port: int) -> int:
    """The command line of a one-cell demo driver: --out, --port, --chromium, --width, --height; runs `drive` on the
    notebook, watches the console for errors, writes --out/drive_report.json; 0 when every check passed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    report: dict = {"viewport": [args.width, args.height], "checks": {}, "console_errors": []}

    def on_console(message) -> None:
        if message.type == "error":  # with the address, so that a failed resource says which one
            url = (message.location or {}).get("url", "")
            report["console_errors"].append(f"{message.text} ({url})" if url else message.text)

    drive_notebook([cell], name, drive, args.out, args.port, args.chromium, (args.width, args.height), report,
                   on_console)
    report["checks"]["no console error"] = not report["console_errors"]
    (args.out / "drive_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if all(report["checks"].values()) else 1


def button(page, text: str):
    """The widget button whose label is `text` (its icon is a font glyph beside the text)."""
    return page.locator("button.jupyter-button", has_text=re.compile(rf"^\W*{text}$"))


def status_text(page) -> str:
    return page.locator(".widget-html-content b").first.inner_text()


def step_of(text: str) -> int:
    match = re.search(r"step (\d+)", text)
    return int(match.group(1)) if match else -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/hW"))
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    report: dict = {"checks": {}}
    drive_notebook(CELLS, "gan_lab_demo", drive, args.out, args.port, args.chromium, (1400, 1100), report)
    (args.out / "drive_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0 if report["checks"] and all(report["checks"].values()) else 1


def drive(page, out: Path, port: int, report: dict) -> None:
    """Open the notebook, run the GAN Lab cell and click through the widget, filling `report`."""
    page.goto(f"http://127.0.0.1:{port}/lab/tree/gan_lab_demo.ipynb?token=x")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.get_by_text(re.compile(r"\| Idle")).wait_for(timeout=60_000)  # the kernel has started
    report["widget_shown_s"] = run_first_cell(page, lambda: page.wait_for_selector(".widget-image", timeout=60_000))
    time.sleep(1)
    page.screenshot(path=str(out / "1_opened.png"))
    report["opened"] = status_text(page)

    # replay: the Play widget's first button is "play"
    page.locator(".widget-play button").first.click()
    time.sleep(4)
    page.screenshot(path=str(out / "2_replaying.png"))
    report["replaying"] = status_text(page)
    report["checks"]["replay advances"] = step_of(report["replaying"]) > 0
    page.locator(".widget-play button").first.click()  # the same button pauses the replay

    button(page, "step").click()
    page.wait_for_function("() => document.querySelector('.widget-html-content b').innerText.includes('live')",
                           timeout=30_000)
    time.sleep(0.5)
    page.screenshot(path=str(out / "3_one_live_step.png"))
    report["after_step"] = status_text(page)
    report["checks"]["step trains from the recording's end"] = step_of(report["after_step"]) > 2000

    page.locator(".widget-dropdown", has_text="loss").locator("select").select_option("SN-hinge")
    page.wait_for_function("() => document.querySelector('.widget-html-content b').innerText.includes('SN-hinge')",
                           timeout=30_000)
    time.sleep(0.5)
    page.screenshot(path=str(out / "4_sn_hinge_selected.png"))
    report["after_select"] = status_text(page)

    button(page, "train live").click()
    time.sleep(3)
    first = step_of(status_text(page))
    # the kernel must still answer while training: run the "1 + 1" cell
    page.locator(".jp-Cell").nth(1).click()
    start = time.perf_counter()
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output", has_text="2").wait_for(timeout=30_000)
    report["other_cell_answered_while_training_s"] = round(time.perf_counter() - start, 2)
    time.sleep(3)
    second = step_of(status_text(page))
    page.screenshot(path=str(out / "5_training_live.png"))
    report["live_steps"] = [first, second]
    report["checks"]["live training advances"] = second > first > 2000
    report["checks"]["kernel answers while training"] = report["other_cell_answered_while_training_s"] < 10

    start = time.perf_counter()
    button(page, "pause").click()
    button(page, "train live").wait_for(timeout=10_000)
    report["pause_s"] = round(time.perf_counter() - start, 2)
    time.sleep(1)
    paused = step_of(status_text(page))
    time.sleep(3)
    report["paused_steps"] = [paused, step_of(status_text(page))]
    report["checks"]["pause stops training"] = report["paused_steps"][0] == report["paused_steps"][1]
    page.screenshot(path=str(out / "6_paused.png"))

    button(page, "reset").click()
    page.wait_for_function("() => /step 0\\b/.test(document.querySelector('.widget-html-content b').innerText)",
                           timeout=30_000)
    page.screenshot(path=str(out / "7_reset.png"))
    report["checks"]["reset goes to step 0"] = True


if __name__ == "__main__":
    sys.exit(main())
