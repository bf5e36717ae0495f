"""Drive notebook 10's WipeDemo (bicubic / L2 regression / SRGAN / ground truth on one image) in JupyterLab in a real
(headless) browser, time each interaction and take screenshots.

A developer's check, not run by CI; the same set-up as tools/drive_gan_lab.py (Debian's Chromium and the playwright
Python package, never `playwright install`):

    .venv/bin/python tools/drive_wipe_demo.py --out /tmp/wipe_demo [--width 1920 --height 1080]

It writes a one-cell notebook that builds the demo as notebook 10 does (the pretrained super-resolution models on the
test images), starts `jupyter lab`, runs the cell, then: moves the wipe by one step and to both ends, picks another
image, and picks other methods for both sides; each action must change the picture within 2 s. The browser console is
watched for errors. Latencies go to --out/drive_report.json with the screenshots; exit status 1 when a check fails.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from drive_gan_lab import demo_main, image_sources, open_demo, wait_changed

CELL = """%matplotlib inline
from course_utils.data import paired
from course_utils.pretrain_paired import method_outputs
from course_utils.widgets import WipeDemo

sr = method_outputs("test")["super_resolution"]
WipeDemo({"bicubic": sr["bicubic"], "L2 regression": sr["cifar10_sr_mse"], "SRGAN": sr["cifar10_srgan"],
          "ground truth": sr["ground truth"]}, paired.super_resolution("test")["source"],
         indices=[3, 7, 12, 21, 30, 44, 52, 60]).widget()"""


def choose(page, label: str, value: str) -> None:
    """Pick `value` in the widget dropdown whose description is `label`."""
    page.locator(".widget-dropdown", has_text=label).locator("select").select_option(label=value)


def drive(page, out: Path, port: int, report: dict) -> None:
    """Open the notebook, run the demo cell and use every control, filling `report`."""
    open_demo(page, port, "wipe_demo", report, images=1, timeout_s=180.0)
    report["checks"]["three dropdowns and a slider"] = (page.locator(".widget-dropdown").count() == 3
                                                        and page.locator(".widget-slider").count() == 1)
    page.screenshot(path=str(out / "1_opened.png"))
    latencies = report.setdefault("latency_s", {})

    def timed(name: str, action) -> None:
        before, start = image_sources(page), time.perf_counter()
        action()
        latencies[name] = round(wait_changed(page, before, 0, start), 2)

    handle = page.locator(".widget-slider", has_text="wipe").locator(".noUi-handle")
    handle.focus()
    timed("wipe, one step", lambda: page.keyboard.press("ArrowRight"))
    timed("wipe, to the left end", lambda: page.keyboard.press("Home"))
    time.sleep(0.5)
    page.screenshot(path=str(out / "2_wipe_left_end.png"))
    timed("wipe, to the right end", lambda: page.keyboard.press("End"))
    timed("another image", lambda: choose(page, "image", "test image 21"))
    timed("left: SRGAN", lambda: choose(page, "left", "SRGAN"))
    timed("right: L2 regression", lambda: choose(page, "right", "L2 regression"))
    handle.focus()
    timed("wipe, a page back (PageDown)", lambda: page.keyboard.press("PageDown"))
    time.sleep(0.5)
    page.screenshot(path=str(out / "3_srgan_against_l2.png"))
    report["checks"]["every action redraws within 2 s"] = max(latencies.values()) < 2.0


if __name__ == "__main__":
    sys.exit(demo_main(__doc__.splitlines()[0], CELL, "wipe_demo", drive, Path("/tmp/wipe_demo"), 8897))
