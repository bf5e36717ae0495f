"""Checkpoints: safetensors for tensors, a JSON sidecar for metadata, sha256-verified pretrained weights.

Nothing here unpickles: safetensors stores raw tensors only, so a checkpoint from a stranger
cannot run code. ``data/pretrained/MANIFEST.json`` maps a name to its file, sha256, config, the
command that produced it, hardware, time and metrics; loading refuses a file whose hash differs.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .data import data_root, file_hash


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, tampered with, or does not fit the model."""


Modules = Mapping[str, nn.Module]


def sha256sum(path: Path) -> str:
    """The sha256 of a file."""
    return file_hash(path, "sha256")


def sidecar(path: Path) -> Path:
    """The JSON metadata file beside a .safetensors file."""
    return Path(path).with_suffix(".json")


def save_checkpoint(path: str | Path, modules: Modules, metadata: dict | None = None,
                    dtype: torch.dtype | None = None) -> Path:
    """Write the modules' state dicts (keys prefixed 'G.', 'D.', ...) and a JSON sidecar.

    The file is written beside the old one and renamed over it, so a crash mid-write never
    destroys the previous checkpoint. `dtype=torch.float16` halves the size of floating tensors.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for prefix, module in modules.items():
        for key, value in module.state_dict().items():
            value = value.detach().cpu()
            if dtype is not None and value.is_floating_point():
                value = value.to(dtype)
            tensors[f"{prefix}.{key}"] = value.contiguous()
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial))
    os.replace(partial, path)
    meta = dict(metadata or {})
    meta.update(modules=sorted(modules), sha256=sha256sum(path), torch_version=torch.__version__)
    sidecar(path).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def load_checkpoint(path: str | Path, modules: Modules, sha256: str | None = None) -> dict:
    """Load weights into `modules` in place and return the sidecar's metadata.

    The file's sha256 is checked against `sha256` (or else the sidecar's); a mismatch, a corrupt
    file or weights that do not fit the model raise CheckpointError saying what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train the model first or check the path")
    meta = json.loads(sidecar(path).read_text()) if sidecar(path).is_file() else {}
    expected = sha256 or meta.get("sha256")
    if expected is not None and sha256sum(path) != expected:
        raise CheckpointError(
            f"{path} does not match its recorded sha256 ({expected[:12]}...): the file is corrupt or "
            f"was modified. Delete it and retrain, or restore it (for pretrained weights: "
            f"git checkout -- {path})")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file ({error}); delete it and retrain") from error
    for prefix, module in modules.items():
        own = {key[len(prefix) + 1:]: value for key, value in tensors.items() if key.startswith(prefix + ".")}
        reference = module.state_dict()
        own = {key: value.to(reference[key].dtype) if key in reference else value for key, value in own.items()}
        try:
            module.load_state_dict(own, strict=True)
        except RuntimeError as error:
            raise CheckpointError(
                f"the weights for {prefix!r} in {path} do not fit this model (was it built with another "
                f"config? the checkpoint's config: {meta.get('config')}):\n{error}") from error
    return meta


# ----------------------------------------------------------------------------- pretrained weights


def pretrained_dir() -> Path:
    """The committed pretrained weights: <repo>/data/pretrained."""
    return Path(__file__).resolve().parent.parent / "data" / "pretrained"


def read_manifest(directory: Path | None = None) -> dict:
    """MANIFEST.json as a dict name -> entry (empty when there is none)."""
    manifest = (directory or pretrained_dir()) / "MANIFEST.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else {}


def load_pretrained(name: str, modules: Modules, directory: Path | None = None) -> dict:
    """Load the pretrained weights `name` into `modules`, verifying the manifest's sha256."""
    directory = directory or pretrained_dir()
    manifest = read_manifest(directory)
    if name not in manifest:
        raise CheckpointError(f"no pretrained weights named {name!r} in {directory / 'MANIFEST.json'}; "
                              f"available: {sorted(manifest) or 'none'}")
    entry = manifest[name]
    load_checkpoint(directory / entry["file"], modules, sha256=entry["sha256"])
    return entry


def hardware() -> str:
    """A short description of where this process trains, for the manifest."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"{os.cpu_count()}-core CPU ({platform.machine()})"


def register_pretrained(name: str, modules: Modules, entry: dict, directory: Path | None = None,
                        dtype: torch.dtype | None = None) -> dict:
    """Save `modules` as pretrained weights `name` and record them in MANIFEST.json."""
    directory = directory or pretrained_dir()
    path = save_checkpoint(directory / f"{name}.safetensors", modules, entry, dtype=dtype)
    sidecar(path).unlink()  # for committed weights the manifest is the one record
    record = {"file": path.name, "sha256": sha256sum(path), **entry}
    manifest = read_manifest(directory)
    manifest[name] = record
    (directory / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return record


def load_or_train(name: str, modules: Modules, train_fn: Callable[[], dict | None],
                  config: dict | None = None, use_pretrained: bool = True) -> dict:
    """Load `name` (pretrained, then the user's cache), else run `train_fn()` and save to the cache.

    Pretrained weights are used only when their recorded config equals `config` (so a student
    who changes the architecture trains their own). Returns the metadata, with 'source' set to
    'pretrained', 'cache' or 'trained'.
    """
    entry = read_manifest().get(name)
    if use_pretrained and entry is not None and (config is None or entry.get("config") == config):
        load_pretrained(name, modules)
        print(f"Loaded pretrained weights {name!r} (sha256 verified) from {pretrained_dir()}")
        return {**entry, "source": "pretrained"}
    cached = data_root() / "checkpoints" / f"{name}.safetensors"
    if cached.is_file():
        meta = json.loads(sidecar(cached).read_text()) if sidecar(cached).is_file() else {}
        if config is None or meta.get("config") == config:
            meta = load_checkpoint(cached, modules)
            print(f"Loaded your earlier run of {name!r} from {cached}")
            return {**meta, "source": "cache"}
    print(f"No saved weights for {name!r} with this config: training now")
    meta = {"config": config, **(train_fn() or {})}
    save_checkpoint(cached, modules, meta)
    print(f"Saved to {cached}")
    return {**meta, "source": "trained"}

