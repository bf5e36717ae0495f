"""Every instructor demo (course_utils.demos.DEMOS) in a real browser: notebooks/demos.ipynb in JupyterLab (all cells
run) and as the Voila app of `make present`, at 1920x1080, in headless Chromium driven by Playwright.

For each demo: it renders as controls (not as text such as "VBox(children=...)" or "Error displaying widget"); its
interaction (course_utils.demos.DEMOS[name].action) changes its picture within 2 s; the browser console shows no
error; a screenshot of the demo is saved. The latencies, sizes and font sizes go to <out>/browser_report.json.

    make test-browser     # out: browser-report/ (COURSE_BROWSER_OUT to change it)

It needs Debian's Chromium (/usr/bin/chromium, or COURSE_CHROMIUM) and the playwright package (requirements.txt);
nothing is downloaded. Without Chromium it skips, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from course_utils.demos import DEMOS, Action

from .servers import launch, start, stop

CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
OUT = Path(os.environ.get("COURSE_BROWSER_OUT", Path(__file__).resolve().parents[2] / "browser-report"))
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "demos.ipynb"
VIEWPORT = (1920, 1080)
REDRAW_LIMIT_S = 2.0
FAILED_TEXT = ("VBox(children", "HBox(children", "Error displaying widget", "Traceback (most recent call last)")

if not Path(CHROMIUM).is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) or set COURSE_CHROMIUM; "
                "the browser test of the demos is skipped", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs the playwright package "
                                     "(pip install -r requirements.txt); never `playwright install`")


def image_sources(box) -> list[str]:
    return box.locator("img").evaluate_all("nodes => nodes.map(n => n.src)")


def perform(box, page, action: Action) -> None:
    """Do `action` on the demo inside `box`."""
    if action.kind == "button":
        box.locator(".widget-button", has_text=action.target).first.click()
    elif action.kind == "slider":
        handle = box.locator(".widget-slider", has_text=action.target).first.locator(".noUi-handle")
        handle.focus()
        page.keyboard.press(action.value)
    elif action.kind == "dropdown":
        box.locator(".widget-dropdown", has_text=action.target).first.locator("select").select_option(label=action.value)
    elif action.kind == "toggle":
        box.locator(".widget-toggle-button", has_text=action.target).first.click()
    else:
        raise ValueError(f"unknown action kind {action.kind!r}")


def drive_demos(page, kind: str, load_timeout_s: float) -> dict:
    """Check, use and photograph every demo on the open page; return the measurements."""
    results = {}
    for name, demo in DEMOS.items():
        box = page.locator(f".course-demo-{name}")
        started = time.perf_counter()
        box.wait_for(state="visible", timeout=load_timeout_s * 1000)
        box.scroll_into_view_if_needed()
        page.wait_for_function("b => [...b.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)",
                               arg=box.element_handle(), timeout=30_000)
        text = box.inner_text()
        size = box.bounding_box()
        label_px = box.locator(".widget-label, .widget-button").first.evaluate(
            "n => parseFloat(getComputedStyle(n).fontSize)")
        controls = box.locator(".widget-button, .widget-slider, .widget-dropdown, .widget-toggle-buttons, "
                               ".widget-play").count()
        box.screenshot(path=str(OUT / f"{kind}_{name}.png"))
        before, clock = image_sources(box), time.perf_counter()
        perform(box, page, demo.action)
        latency = None
        while time.perf_counter() - clock < 10.0:
            if image_sources(box) != before:
                latency = time.perf_counter() - clock
                break
            time.sleep(0.02)
        time.sleep(0.3)
        box.screenshot(path=str(OUT / f"{kind}_{name}_after.png"))
        results[name] = {"controls": controls, "fits_the_screen": size["height"] <= VIEWPORT[1] - 80, "renders_as_text": any(t in text for t in FAILED_TEXT),
                         "action": f"{demo.action.kind} {demo.action.target} {demo.action.value}".strip(),
                         "redraw_s": None if latency is None else round(latency, 2),
                         "width_px": round(size["width"]), "height_px": round(size["height"]),
                         "control_font_px": label_px, "shown_after_s": round(time.perf_counter() - started, 1)}
    return results


@pytest.mark.parametrize("kind", ["lab", "voila"])
def test_every_demo_renders_responds_and_logs_no_error(kind, tmp_path):
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)  # JupyterLab saves what it runs: never into the repository
    server, url = start(kind, tmp_path, NOTEBOOK.name)
    errors: list[str] = []
    report = {"app": kind, "viewport": list(VIEWPORT)}
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = launch(playwright, tmp_path / "profile", CHROMIUM, VIEWPORT)
            page = browser.new_page()
            page.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url', '')})")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            clock = time.perf_counter()
            page.goto(url, timeout=600_000)
            if kind == "lab":
                page.wait_for_selector(".jp-Notebook", timeout=120_000)
                page.get_by_text("| Idle").wait_for(timeout=120_000)
                page.locator(".lm-MenuBar-item", has_text="Run").first.click()
                page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
                # the kernel answers a widget only between cells: use the demos once every cell has run
                page.locator(f".course-demo-{list(DEMOS)[-1]}").wait_for(state="visible", timeout=600_000)
                page.get_by_text("| Idle").wait_for(timeout=120_000)
            report["demos"] = drive_demos(page, kind, load_timeout_s=300)
            report["first_demo_to_last_checked_s"] = round(time.perf_counter() - clock, 1)
            browser.close()
    finally:
        stop(server)
        report["console_errors"] = errors
        (OUT / f"browser_report_{kind}.json").write_text(json.dumps(report, indent=2) + "\n")
    demos = report["demos"]
    assert not [n for n, r in demos.items() if r["renders_as_text"] or r["controls"] == 0], demos
    slow = {n: r["redraw_s"] for n, r in demos.items() if r["redraw_s"] is None or r["redraw_s"] > REDRAW_LIMIT_S}
    assert not slow, f"demos that did not redraw within {REDRAW_LIMIT_S} s: {slow}"
    assert not errors, f"browser console errors: {errors}"
    assert all(r["control_font_px"] >= 20 for r in demos.values()), "the projector preset should make text >= 20 px"
    assert all(r["fits_the_screen"] for r in demos.values()), {n: r["height_px"] for n, r in demos.items()}


def test_a_committed_notebook_shows_its_demo_as_a_picture_before_it_runs(tmp_path):
    """Opened in JupyterLab and not run (so not trusted), notebook 05's demo cell shows the saved static figure: an
    image, not the text "VBox(children=...)". Every cell is drawn at once (no windowing), so the page can be read."""
    OUT.mkdir(parents=True, exist_ok=True)
    name = "05_vae.ipynb"
    shutil.copy(NOTEBOOK.parent / name, tmp_path / name)
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    server, url = start("lab", tmp_path, name)
    errors: list[str] = []
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = launch(playwright, tmp_path / "profile", CHROMIUM, (1280, 800))
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(url, timeout=120_000)
            cell = page.locator(".jp-CodeCell", has_text="demo.widget()").last
            cell.wait_for(timeout=120_000)
            cell.scroll_into_view_if_needed()
            picture = cell.locator(".jp-OutputArea-output img").first
            picture.wait_for(timeout=30_000)
            text = cell.locator(".jp-OutputArea").inner_text()
            cell.screenshot(path=str(OUT / "lab_saved_05_demo_cell.png"))
            width = picture.evaluate("n => n.naturalWidth")
            browser.close()
    finally:
        stop(server)
    assert width > 300 and not any(t in text for t in FAILED_TEXT), text
    assert not errors, errors
