"""Checkpoints: safetensors for tensors, a JSON sidecar for metadata, sha256-verified pretrained weights.

Nothing here unpickles: safetensors stores raw tensors only, so a checkpoint from a stranger
cannot run code. ``data/pretrained/MANIFEST.json`` maps a name to its file, sha256, config, the
command that produced it, hardware, time and metrics; loading refuses a file whose hash differs.
A checkpoint also carries a checksum of its tensors, its module keys and its config inside the
safetensors header, so a file that lost its JSON sidecar is still verified and still says what it holds.
`pretrained(name)` builds a committed model from its manifest entry and loads it verified.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import platform
import warnings
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import SimpleNamespace

try:
    import fcntl  # POSIX; on Windows the manifest is written without a lock
except ImportError:
    fcntl = None

import torch
from safetensors import SafetensorError
from safetensors import safe_open
from safetensors.torch import save_file
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


def tensors_checksum(tensors: Mapping[str, torch.Tensor], described: str = "") -> str:
    """sha256 over `described` (the header's other entries) and every tensor's name, dtype, shape and bytes."""
    digest = hashlib.sha256(described.encode())
    for key in sorted(tensors):
        value = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The file's tensors and what save_checkpoint stored in its header (checksum, module keys, config,
    JSON-decoded), in one read."""
    with safe_open(str(path), framework="pt") as handle:
        raw = handle.metadata() or {}
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    header = {key: json.loads(value) for key, value in raw.items() if key in ("tensors_sha256", "modules", "config")}
    header["described"] = described(raw.get("modules", ""), raw.get("config", ""))
    return tensors, header


def module_keys(tensor_names) -> list[str]:
    """The module keys ('G', 'D', ...) a checkpoint's tensor names ('G.net.0.weight', ...) are prefixed with."""
    return sorted({name.split(".", 1)[0] for name in tensor_names})


def described(modules: str, config: str) -> str:
    """The header entries the checksum covers besides the tensors, as stored (JSON text)."""
    return f"modules={modules}|config={config}"


@torch.no_grad()
def round_to_half(networks: dict[str, torch.nn.Module]) -> None:
    """Round every floating-point weight and buffer to float16 and back, in place: the numbers measured afterwards
    are those of the float16 file that is committed."""
    for network in networks.values():
        for tensor in network.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())


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
    header = {"modules": json.dumps(sorted(modules)), "config": json.dumps((metadata or {}).get("config"), default=str)}
    header["tensors_sha256"] = json.dumps(tensors_checksum(tensors, described(header["modules"], header["config"])))
    save_file(tensors, str(partial), metadata=header)
    os.replace(partial, path)
    meta = dict(metadata or {})
    meta.update(modules=sorted(modules), sha256=sha256sum(path), torch_version=torch.__version__)
    sidecar(path).write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return path


def load_checkpoint(path: str | Path, modules: Modules, sha256: str | None = None, verify: bool = True) -> dict:
    """Load weights into `modules` in place and return the sidecar's metadata.

    The file's sha256 is checked against `sha256` (or else the sidecar's); without either, the
    tensors (and the module keys and config beside them) are checked against the checksum stored
    inside the file. A mismatch, a corrupt file, a file that cannot be verified, a module key the
    file does not hold or weights that do not fit the model raise CheckpointError saying what to do.
    `verify=False` loads a file that carries no checksum at all (from elsewhere), with a warning.
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
        tensors, header = read_safetensors(path)
    except (SafetensorError, OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        raise CheckpointError(f"{path} is not a readable safetensors file ({error}); delete it and retrain") from error
    if expected is None:
        if "tensors_sha256" not in header:
            if verify:
                raise CheckpointError(
                    f"{path} cannot be verified: it has no JSON sidecar ({sidecar(path).name}) and no checksum "
                    "inside (it was not written by save_checkpoint, or its header was modified). Restore the "
                    "sidecar, or pass verify=False to load it unverified if you trust where it came from")
            warnings.warn(f"{path} has no JSON sidecar and no checksum inside: it is loaded unverified", stacklevel=2)
        elif tensors_checksum(tensors, header["described"]) != header["tensors_sha256"]:
            raise CheckpointError(
                f"the tensors in {path} do not match the checksum stored inside the file: the file is corrupt "
                "or was modified. Delete it and retrain, or restore it from a copy")
    meta = {**header, **meta}
    for key in ("tensors_sha256", "described"):
        meta.pop(key, None)
    held = module_keys(tensors)
    missing = [prefix for prefix in modules if prefix not in held]
    if missing:
        raise CheckpointError(
            f"{path} holds the modules {held}; asked for {sorted(modules)}, it has no weights for {missing}. "
            f"Pass the modules under the keys they were saved with, e.g. {{{held[0]!r}: model}}" if held else
            f"{path} holds no tensors at all; asked for {sorted(modules)}")
    config = meta.get("config")
    config_text = (f"the checkpoint's config: {config}" if config is not None
                   else "the checkpoint records no config")
    for prefix, module in modules.items():
        own = {key[len(prefix) + 1:]: value for key, value in tensors.items() if key.startswith(prefix + ".")}
        reference = module.state_dict()
        own = {key: value.to(reference[key].dtype) if key in reference else value for key, value in own.items()}
        try:
            module.load_state_dict(own, strict=True)
        except RuntimeError as error:
            raise CheckpointError(
                f"the weights for {prefix!r} in {path} do not fit this model (was it built with another "
                f"config? {config_text}):\n{error}") from error
    return meta


# ----------------------------------------------------------------------------- pretrained weights


MANIFEST = "MANIFEST.json"  # the committed weights, one model each (what pretrained() builds)
RECORDINGS = "RECORDINGS.json"  # recorded experiments beside them, in the same style (notebook 07)


def pretrained_dir() -> Path:
    """The committed pretrained weights: <repo>/data/pretrained."""
    return Path(__file__).resolve().parent.parent / "data" / "pretrained"


def read_manifest(directory: Path | None = None, index: str = MANIFEST) -> dict:
    """MANIFEST.json (or another index beside it, such as RECORDINGS.json) as a dict name -> entry (empty when
    there is none)."""
    manifest = (directory or pretrained_dir()) / index
    return json.loads(manifest.read_text()) if manifest.is_file() else {}


def load_pretrained(name: str, modules: Modules, directory: Path | None = None, index: str = MANIFEST) -> dict:
    """Load the pretrained weights `name` into `modules`, verifying the manifest's sha256."""
    directory = directory or pretrained_dir()
    entry = manifest_entry(name, directory, index)
    load_checkpoint(directory / entry["file"], modules, sha256=entry["sha256"])
    return entry


def manifest_entry(name: str, directory: Path | None = None, index: str = MANIFEST) -> dict:
    """The manifest's entry `name`; a wrong name lists the names there are."""
    directory = directory or pretrained_dir()
    manifest = read_manifest(directory, index)
    if name not in manifest:
        raise CheckpointError(f"no pretrained weights named {name!r} in {directory / index}; "
                              f"the names are: {', '.join(sorted(manifest)) or 'none'}")
    return manifest[name]


def recording_file(name: str, directory: Path | None = None) -> Path:
    """The file of recording `name` (RECORDINGS.json), verified against its sha256; missing or changed, a
    CheckpointError says how to restore it or record it again."""
    directory = directory or pretrained_dir()
    entry = manifest_entry(name, directory, RECORDINGS)
    path = directory / entry["file"]
    if not path.is_file() or sha256sum(path) != entry["sha256"]:
        raise CheckpointError(f"{path} is missing or does not match its sha256 in {RECORDINGS}; restore it with git "
                              f"checkout -- {path}, or record it: python -m course_utils.pretrain {name}")
    return path


def hardware() -> str:
    """A short description of where this process trains, for the manifest."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"{os.cpu_count()}-core CPU ({platform.machine()})"


def register_pretrained(name: str, modules: Modules, entry: dict, directory: Path | None = None,
                        dtype: torch.dtype | None = None, index: str = MANIFEST) -> dict:
    """Save `modules` as pretrained weights `name` and record them in MANIFEST.json (or `index`: RECORDINGS.json
    lists recorded experiments, whose files `pretrained()` does not build as one model)."""
    directory = directory or pretrained_dir()
    path = save_checkpoint(directory / f"{name}.safetensors", modules, entry, dtype=dtype)
    sidecar(path).unlink()  # for committed weights the manifest is the one record
    return write_index_entry(name, {"file": path.name, "sha256": sha256sum(path), **entry}, directory, index)


def write_index_entry(name: str, record: dict, directory: Path | None = None, index: str = MANIFEST) -> dict:
    """Set `name`'s entry of MANIFEST.json (or `index`) to `record`, keeping the other entries; return `record`."""
    directory = directory or pretrained_dir()
    # A lock around read-modify-write: pretrainers run in parallel (one per core) must not drop each other's entries.
    with open(directory / f".{index}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        entries = read_manifest(directory, index)
        entries[name] = record
        (directory / index).write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
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



# ----------------------------------------------------------------------------- pretrained(name)

# The module keys a pretrained file uses for the classes its manifest entry names.
MODULE_KEYS = {"Generator": "G", "Discriminator": "D", "ContrastiveHead": "H"}


class PretrainedModules(SimpleNamespace):
    """Several networks of one manifest entry, as attributes named by their keys (`.G`, `.D`), plus
    `.provenance` (one line) and `.manifest_entry` (the entry)."""


def config_from_manifest(config_class: type, values: dict):
    """Build `config_class` from the manifest's JSON values, lists turned back into tuples where the class wants them."""
    wants_tuple = {field.name for field in fields(config_class) if "tuple" in str(field.type)}
    return config_class(**{key: tuple(value) if key in wants_tuple and isinstance(value, list) else value
                            for key, value in values.items()})


def build_from_manifest(class_: type, values: dict) -> nn.Module:
    """`class_(its config dataclass built from values)`, or `class_(**values)` for a class without one."""
    parameters = list(inspect.signature(class_).parameters.values())
    default = parameters[0].default if parameters else inspect.Parameter.empty
    if is_dataclass(default):
        return class_(config_from_manifest(type(default), values))
    return class_(**values)


def provenance(name: str, entry: dict, classes: str) -> str:
    """One line: what the weights are, the command that trained them, where, how long, verified."""
    seconds = entry.get("seconds")
    took = f" in {seconds:,.0f} s" if isinstance(seconds, (int, float)) else ""
    return (f"{name}: {classes}, trained by `{entry.get('command', 'an unrecorded command')}`{took} on "
            f"{entry.get('hardware', 'unrecorded hardware')} ({entry.get('budget', '?')} budget), sha256 ok")


def pretrained(name: str, device: torch.device | str = "cpu", directory: Path | None = None,
               verbose: bool = True) -> nn.Module | PretrainedModules:
    """The committed model `name`, built from its manifest entry, loaded sha256-verified, in eval mode on `device`.

    An entry holding one network returns that module; one holding a generator and a discriminator
    returns a PretrainedModules with `.G` and `.D`; a CycleGAN returns the CycleGAN with G and F
    loaded (its discriminators are not committed). The result carries `.provenance`, a one-line
    account of where the weights come from (printed unless `verbose=False`), and `.manifest_entry`.
    """
    directory = directory or pretrained_dir()
    entry = manifest_entry(name, directory)
    path = directory / entry["file"]
    spec = entry["model"].split()[0]  # "course_utils.models.cyclegan.CycleGAN (G: A->B, F: B->A)" -> the dotted name
    module_name, _, class_names = spec.rpartition(".")
    module = importlib.import_module(module_name)
    networks = [build_from_manifest(getattr(module, class_name), entry["config"]) for class_name in class_names.split("+")]
    if len(networks) == 1:
        model = networks[0]
        try:
            with safe_open(str(path), framework="pt") as handle:
                held = module_keys(handle.keys())
        except (SafetensorError, OSError) as error:
            raise CheckpointError(f"{path} is not a readable safetensors file ({error}); restore it with "
                                  f"git checkout -- {path}") from error
        # one file key: the whole model; several (a CycleGAN's G and F): its submodules of those names
        modules = {held[0]: model} if len(held) == 1 else {key: getattr(model, key) for key in held}
        result = model
    else:
        keys = [MODULE_KEYS.get(class_name, class_name) for class_name in class_names.split("+")]
        modules = dict(zip(keys, networks))
        result = PretrainedModules(**modules)
    load_checkpoint(path, modules, sha256=entry["sha256"])
    for network in networks:
        network.to(device).eval()
    short = spec.removeprefix("course_utils.models.")
    result.provenance = provenance(name, entry, short)
    result.manifest_entry = entry
    if verbose:
        print(result.provenance)
    return result
