"""Budgets (fast for CI, full for students), seeding and device choice.

`make test` sets ``COURSE_FAST=1``; every notebook then picks its small budget in one
visible line: ``cfg = budget(full=TrainConfig(steps=20_000), fast=TrainConfig(steps=1_500))``.
"""

from __future__ import annotations

import os
import random
import warnings
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """An on/off environment variable: 1/true/yes/on or 0/false/no/off in any case; unset or empty is off.

    Anything else raises a ValueError that lists the accepted spellings, so that a typo such as
    ``COURSE_FAST=maybe`` does not silently pick the full budget."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in _ON:
        return True
    if value in _OFF or not value:
        return False
    raise ValueError(f"the environment variable {name}={raw!r} is neither on nor off: use one of "
                     f"{', '.join(_ON)} (on) or {', '.join(_OFF)} (off), in any case; empty or unset means off")


def is_fast() -> bool:
    """True when the environment variable COURSE_FAST asks for the fast (CI) budget (see `env_flag`)."""
    return env_flag("COURSE_FAST")


def budget(full: T, fast: T) -> T:
    """Return `fast` under COURSE_FAST=1, else `full` (what a student gets by default)."""
    return fast if is_fast() else full


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (CPU and CUDA); ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        # warn_only: a kernel with no deterministic variant warns instead of failing a lesson.
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        # cuBLAS needs this workspace setting to be deterministic (PyTorch reproducibility notes).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def to_cpu_float64(values) -> torch.Tensor:
    """`values` (a tensor on any device, an array, a list) as a float64 tensor on the CPU, moved before it is
    converted: Apple's MPS has no float64, so converting a tensor there fails, while converting its CPU copy works."""
    return torch.as_tensor(values).detach().cpu().to(torch.float64)


def get_device() -> torch.device:
    """The best available device: cuda > mps > cpu. Pass it explicitly; never store it globally."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        if os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK", "").strip() in ("", "0"):
            warnings.warn("Apple MPS: start Jupyter with PYTORCH_ENABLE_MPS_FALLBACK=1 (`make lab` does), so that an "
                          "operation MPS has no kernel for runs on the CPU with a warning instead of stopping a cell. "
                          "torch reads the variable when it is imported: setting it in a running notebook is too late.",
                          RuntimeWarning, stacklevel=2)
        return torch.device("mps")
    return torch.device("cpu")
