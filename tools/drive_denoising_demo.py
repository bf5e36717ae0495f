"""Drive notebook 09's DenoisingDemo (noise -> data slider with play, the flow's couplings slider) in JupyterLab in a
real (headless) browser, time each interaction and take screenshots.

A developer's check, not run by CI; the same set-up as tools/drive_gan_lab.py (Debian's Chromium and the playwright
Python package, never `playwright install`):

    .venv/bin/python tools/drive_denoising_demo.py --out /tmp/denoising_demo [--width 1920 --height 1080]

It writes a one-cell notebook that builds the demo as notebook 09 does (a 2-D DDPM and a moons flow trained in
seconds, the pretrained `mnist_diffusion` on a 50-jump DDIM path), starts `jupyter lab`, runs the cell, then: moves
the noise -> data slider by one step and to the end, presses play, and moves the couplings slider; each action must
change the picture within 2 s. The browser console is watched for errors. Latencies go to --out/drive_report.json
with the screenshots; exit status 1 when a check fails.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from drive_gan_lab import demo_main, image_sources, open_demo, wait_changed

CELL = """%matplotlib inline
import torch
from course_utils import data, pretrained, seed_everything
from course_utils.models.diffusion import NoiseSchedule, PointDenoiser, ddim_sample, ddpm_sample
from course_utils.models.flows import Flow2d
from course_utils.plots_generative import warp_stages
from course_utils.train_flows_diffusion import ObjectiveTrainConfig, ObjectiveTrainer, diffusion_objective
from course_utils.widgets import DenoisingDemo

seed_everything(0)
schedule = NoiseSchedule()
g = torch.Generator().manual_seed(0)
moons = lambda n: data.two_moons(n, generator=g)
net, flow = PointDenoiser(), Flow2d()
ObjectiveTrainer(net, diffusion_objective(net, schedule, g), moons, ObjectiveTrainConfig(steps=2000, batch_size=256,
                 lr=2e-3, log_every=50), "cpu").train(progress=False)
ObjectiveTrainer(flow, lambda x: -flow.log_prob(x).mean(), moons, ObjectiveTrainConfig(steps=1000, batch_size=256,
                 lr=2e-3, log_every=50), "cpu").train(progress=False)
cloud, digits = [], []
ddpm_sample(net.eval(), (2000, 2), schedule, torch.Generator().manual_seed(5), trajectory=cloud, keep_every=20)
ddim_sample(pretrained("mnist_diffusion", verbose=False), (16, 1, 28, 28), schedule, 50,
            torch.Generator().manual_seed(4), trajectory=digits)
DenoisingDemo(cloud, digits, data.two_moons(2000, generator=torch.Generator().manual_seed(9)),
              warp=warp_stages(flow.eval())).widget()"""


def drive(page, out: Path, port: int, report: dict) -> None:
    """Open the notebook, run the demo cell and use every control, filling `report` (images: 0 the denoising pair,
    1 the warped grid)."""
    open_demo(page, port, "denoising_demo", report, timeout_s=180.0)  # the cell trains its 2-D models first
    report["checks"]["two sliders and a play button"] = (page.locator(".widget-slider").count() == 2
                                                         and page.locator(".widget-play").count() == 1)
    page.screenshot(path=str(out / "1_opened_noise.png"))
    latencies = report.setdefault("latency_s", {})

    handle = page.locator(".widget-slider", has_text="noise -> data").locator(".noUi-handle")
    handle.focus()
    before, start = image_sources(page), time.perf_counter()
    page.keyboard.press("ArrowRight")
    latencies["noise -> data, one step"] = round(wait_changed(page, before, 0, start), 2)
    before, start = image_sources(page), time.perf_counter()
    page.keyboard.press("End")
    latencies["noise -> data, to the end"] = round(wait_changed(page, before, 0, start), 2)
    time.sleep(1)
    page.screenshot(path=str(out / "2_data.png"))
    page.keyboard.press("Home")
    time.sleep(1)

    before, start = image_sources(page), time.perf_counter()
    page.locator(".widget-play button").first.click()
    latencies["play, first frame"] = round(wait_changed(page, before, 0, start), 2)
    seen = {image_sources(page)[0]}
    end = time.perf_counter() + 6
    while time.perf_counter() < end:
        seen.add(image_sources(page)[0])
        time.sleep(0.1)
    report["play_frames_seen_in_6_s"] = len(seen)
    report["checks"]["play animates (several frames in 6 s)"] = len(seen) >= 5
    page.screenshot(path=str(out / "3_playing.png"))

    page.locator(".widget-slider", has_text="couplings undone").locator(".noUi-handle").focus()
    for step in range(1, 9):
        before, start = image_sources(page), time.perf_counter()
        page.keyboard.press("ArrowRight")
        latencies[f"couplings undone = {step}"] = round(wait_changed(page, before, 1, start), 2)
        if step in (4, 8):
            time.sleep(0.5)
            page.screenshot(path=str(out / f"4_couplings_{step}.png"))
    report["checks"]["every action redraws within 2 s"] = max(latencies.values()) < 2.0


if __name__ == "__main__":
    sys.exit(demo_main(__doc__.splitlines()[0], CELL, "denoising_demo", drive, Path("/tmp/denoising_demo"), 8899))
