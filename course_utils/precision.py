"""Mixed precision chosen by what the device runs natively: one function decides, every trainer asks it.

Autocast runs the matrix products and convolutions of the forward pass in a 16-bit format and keeps the weights,
the losses and the optimiser in float32. Which 16-bit format depends on the card:

- bfloat16 has float32's 8 exponent bits: small gradients stay representable, so autocast needs nothing more.
  Ampere and later NVIDIA GPUs (compute capability 8.0+: A100, L4, H100) run it natively.
- float16 has 5 exponent bits: gradients below about 6e-8 round to zero. The loss is multiplied by a large factor
  before backward and the gradients divided by it before the optimiser step, a factor lowered whenever a gradient
  overflows (the step is then skipped) and raised again after a run of good steps (Micikevicius et al. 2018, "Mixed
  Precision Training"; torch.amp.GradScaler). T4 and V100 (compute capability 7.x) have float16 tensor cores and no
  native bfloat16 (torch would emulate it, slowly), so they get float16 with a scaler.
- float32 everywhere on Apple's MPS (autocast there is not something the course has measured) and on a CPU, except
  where a trainer asks for bfloat16 on CPUs whose oneDNN has native bfloat16 kernels (AVX-512 BF16, AMX): CycleGAN,
  whose benchmark shows the gain (benchmarks/cyclegan_throughput.py).

`choose_precision` decides; a trainer keeps the `Precision` it got (what ran is recorded in its checkpoints and in
the manifest) and routes each update through `apply_gradients`, which scales the loss when the precision needs it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Precision:
    """How a trainer's forward passes run on one kind of device, and why."""

    device_type: str  # "cuda", "cpu", "mps"
    dtype: torch.dtype  # the autocast format; torch.float32 means autocast is off
    reason: str  # one sentence: why this format on this device

    def __post_init__(self):
        if self.dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise ValueError(f"Precision.dtype must be torch.float32, torch.bfloat16 or torch.float16, got {self.dtype}")

    @property
    def scaled(self) -> bool:
        """True when gradients need a scaler (float16)."""
        return self.dtype == torch.float16

    @property
    def name(self) -> str:
        """What ran, as the manifest records it: 'bfloat16', 'float16 + gradient scaler' or 'float32'."""
        return {torch.bfloat16: "bfloat16", torch.float16: "float16 + gradient scaler"}.get(self.dtype, "float32")

    def autocast(self, cache_enabled: bool = True) -> contextlib.AbstractContextManager:
        """The autocast context of this precision (a context that does nothing for float32)."""
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype, cache_enabled=cache_enabled)

    def make_scaler(self, init_scale: float = 2.0**16) -> torch.amp.GradScaler | None:
        """A fresh gradient scaler for one optimiser when the precision is float16; None otherwise."""
        return torch.amp.GradScaler(self.device_type, init_scale=init_scale) if self.scaled else None


def cuda_runs_bfloat16_natively(device: torch.device) -> bool:
    """True when the CUDA card has native bfloat16 (compute capability 8.0+), not torch's emulation of it."""
    return torch.cuda.is_bf16_supported(including_emulation=False)


def cpu_runs_bfloat16_natively() -> bool:
    """True when this CPU's oneDNN has native bfloat16 kernels (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def choose_precision(device: torch.device | str, amp: bool | None = True, cpu: bool = False) -> Precision:
    """The autocast format of a trainer on `device`; `amp=False` means float32 everywhere.

    CUDA: bfloat16 where the card runs it natively, else float16 with a gradient scaler. MPS: float32. CPU: float32,
    unless the trainer passes cpu=True: then bfloat16 where oneDNN has native kernels (amp=None) or always
    (amp=True, emulated where the CPU lacks them: same numbers, slower)."""
    device = torch.device(device)
    kind = device.type
    if amp is False:
        return Precision(kind, torch.float32, "float32: mixed precision switched off (amp=False)")
    if kind == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        if cuda_runs_bfloat16_natively(device):
            return Precision(kind, torch.bfloat16, f"bfloat16: compute capability {major}.{minor} runs it natively")
        return Precision(kind, torch.float16, f"float16 with a gradient scaler: compute capability {major}.{minor} "
                                              "has no native bfloat16")
    if kind == "cpu" and cpu:
        if amp is True:
            return Precision(kind, torch.bfloat16, "bfloat16 on the CPU: asked for (amp=True)")
        if cpu_runs_bfloat16_natively():
            return Precision(kind, torch.bfloat16, "bfloat16 on the CPU: oneDNN has native bfloat16 kernels here")
        return Precision(kind, torch.float32, "float32: this CPU has no native bfloat16 kernels")
    if kind == "mps":
        return Precision(kind, torch.float32, "float32 on MPS: the course has not measured autocast on Apple GPUs")
    return Precision(kind, torch.float32, f"float32 on {kind}: this trainer uses autocast on CUDA only")


def resolve_precision(given: Precision | None, device: torch.device | str, amp: bool | None = True,
                      cpu: bool = False) -> Precision:
    """A trainer's precision: `given` (a ValueError if it is for another kind of device) or `choose_precision`'s."""
    device = torch.device(device)
    if given is None:
        return choose_precision(device, amp, cpu)
    if not isinstance(given, Precision) or given.device_type != device.type:
        raise ValueError(f"precision={given!r} does not fit a trainer on {device}: pass a Precision whose "
                         f"device_type is {device.type!r}, or None to let choose_precision decide")
    return given


def apply_gradients(loss: Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None = None,
                    max_norm: float = 0.0) -> Tensor | None:
    """One update: zero the gradients, backward, step (scaled with a float16 scaler: the gradients the optimiser
    sees, and that remain in .grad afterwards, are unscaled; a step whose gradients overflowed is skipped).

    max_norm > 0 clips the gradients of the optimiser's parameters to that total norm first, and returns the norm
    they had (None without clipping)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
    else:
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    norm = None
    if max_norm > 0:
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    if scaler is None:
        optimizer.step()
    else:
        scaler.step(optimizer)
        scaler.update()
    return norm
