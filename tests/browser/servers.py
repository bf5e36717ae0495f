"""Start JupyterLab or Voila on a free local port for the browser tests (and tools/drive_*.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent  # the environment's jupyter and voila
REPO = Path(__file__).resolve().parents[2]
VOILA_TEMPLATES = REPO / "share" / "jupyter"  # the course's Voila template (no CDN links), found through JUPYTER_PATH
TOKEN = "course"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, root: Path, notebook: str, port: int | None = None, timeout_s: float = 120.0,
          token: str = TOKEN) -> tuple[subprocess.Popen, str]:
    """`jupyter lab` serving `root` (kind "lab") or `voila` serving root/notebook (kind "voila"), in the background;
    returns the process and the page's address once the server answers. Its log is root/<kind>.log."""
    port = port or free_port()
    if kind == "lab":
        command = [str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}", f"--IdentityProvider.token={token}",
                   f"--ServerApp.root_dir={root}", "--ServerApp.ip=127.0.0.1", "--allow-root",
                   f"--LabApp.workspaces_dir={root / 'workspaces'}",  # not the user's: it reopens their last notebooks
                   f"--LabApp.user_settings_dir={root / 'settings'}"]
        status, page = f"/api/status?token={token}", f"/lab/tree/{notebook}?token={token}"
    elif kind == "voila":
        command = [str(BIN / "voila"), notebook, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                   "--template=course", "--VoilaExecutor.timeout=600", "--show_tracebacks=True"]
        status, page = "/voila/static/favicon.ico", "/"
    else:
        raise ValueError(f"kind must be 'lab' or 'voila', got {kind!r}")
    log = open(root / f"{kind}.log", "w")
    env = {**os.environ, "JUPYTER_PATH": os.pathsep.join(filter(None, [str(VOILA_TEMPLATES),
                                                                       os.environ.get("JUPYTER_PATH")]))}
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{status}", timeout=2)
            return server, f"http://127.0.0.1:{port}{page}"
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError(f"{kind} did not start within {timeout_s:.0f} s; see {root / f'{kind}.log'}")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def launch(playwright, profile: Path, chromium: str, viewport: tuple[int, int]):
    """Headless Chromium (the system's, `chromium`) with a fresh profile folder and a `viewport` (width, height)
    page size: a persistent context, so it is closed with .close()."""
    return playwright.chromium.launch_persistent_context(str(profile), executable_path=chromium, headless=True,
                                                         args=BROWSER_ARGS,
                                                         viewport={"width": viewport[0], "height": viewport[1]})
