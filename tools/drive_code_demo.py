"""Drive notebook 08's CodeDemo (sliders per InfoGAN code, the "which code moved?" game) in JupyterLab in a real
(headless) browser, time each interaction and take screenshots.

A developer's check, not run by CI; the same set-up as tools/drive_gan_lab.py (Debian's Chromium and the playwright
Python package, never `playwright install`):

    .venv/bin/python tools/drive_code_demo.py --out /tmp/code_demo [--width 1920 --height 1080]

It writes a one-cell notebook (notebook 08's demo on the pretrained `mnist_infogan`) into a temporary folder,
starts `jupyter lab` there, runs the cell, then: moves the c1 slider, moves the noise seed, picks another
category, plays three rounds of the game (new pair, a guess) and checks that each action changes what is shown.
The browser console is watched for errors. Latencies (action to changed image or text) go to
--out/drive_report.json with the screenshots; exit status 1 when a check fails.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from drive_gan_lab import button, demo_main, image_sources, open_demo, wait_changed

CELL = ("%matplotlib inline\nfrom course_utils import pretrained\nfrom course_utils.widgets import CodeDemo\n\n"
        "infogan = pretrained(\"mnist_infogan\")\n"
        "CodeDemo(infogan.G, infogan.D, code_names=[\"c1\", \"c2\"]).widget()")


def status(page) -> str:
    return page.locator(".widget-label").last.inner_text()


def drive(page, out: Path, port: int, report: dict) -> None:
    """Open the notebook, run the demo cell and use every control, filling `report` (images: 0 the slider image, 1
    the pair)."""
    open_demo(page, port, "code_demo", report)
    report["checks"]["a slider per code and the game's buttons"] = (
        page.locator(".widget-slider").count() == 3 and button(page, "new pair").count() == 1)
    page.screenshot(path=str(out / "1_opened.png"))
    latencies = report.setdefault("latency_s", {})

    handle = page.locator(".widget-slider", has_text="c1").locator(".noUi-handle")
    handle.focus()
    before, start = image_sources(page), time.perf_counter()
    page.keyboard.press("ArrowRight")  # one step of 0.05
    latencies["c1 slider, one step"] = round(wait_changed(page, before, 0, start), 2)
    for _ in range(19):  # 19 more: c1 at 1
        page.keyboard.press("ArrowRight")
    time.sleep(1)
    page.screenshot(path=str(out / "2_c1_moved.png"))

    page.locator(".widget-slider", has_text="noise seed").locator(".noUi-handle").focus()
    before, start = image_sources(page), time.perf_counter()
    page.keyboard.press("ArrowRight")
    latencies["noise seed"] = round(wait_changed(page, before, 0, start), 2)

    before, start = image_sources(page), time.perf_counter()
    page.locator(".widget-dropdown", has_text="category").locator("select").select_option("3")
    latencies["category"] = round(wait_changed(page, before, 0, start), 2)
    time.sleep(0.5)
    page.screenshot(path=str(out / "3_category_3.png"))

    rounds = []
    for round_ in range(3):
        before, start = image_sources(page), time.perf_counter()
        button(page, "new pair").click()
        latencies[f"new pair {round_ + 1}"] = round(wait_changed(page, before, 1, start), 2)
        guess = ["c1", "c2", "category"][round_]
        start = time.perf_counter()
        button(page, guess).click()
        page.wait_for_function("() => [...document.querySelectorAll('.widget-label')].some("
                               "n => n.innerText.includes('Score after'))", timeout=10_000)
        latencies[f"guess {round_ + 1}"] = round(time.perf_counter() - start, 2)
        rounds.append(status(page))
        page.screenshot(path=str(out / f"4_round_{round_ + 1}.png"))
    report["rounds"] = rounds
    report["checks"]["the game scores three rounds"] = "after 3 rounds" in rounds[-1]
    report["checks"]["every action redraws within 2 s"] = max(latencies.values()) < 2.0


if __name__ == "__main__":
    sys.exit(demo_main(__doc__.splitlines()[0], CELL, "code_demo", drive, Path("/tmp/code_demo"), 8898))
