"""Model files: `save(model, path)` and `load(path)`, a NumPy .npz holding the parameters and a JSON entry
describing the architecture.

No pickle anywhere (files are read with allow_pickle=False), so opening a model file cannot run code. Files
are written to a temporary name and then renamed, so a crash never leaves half a model behind.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .nn.layers import ACTIVATION_MODULES, MLP, Linear, Sequential
from .nn.module import Module

FORMAT = "chainrule-model"
VERSION = 1
ARCHITECTURE_KEY = "__architecture__"


class ModelFileError(ValueError):
    """A model file that cannot be read back: truncated, corrupt, not a chainrule model, or mismatched."""


def _describe(module: Module) -> dict[str, Any]:
    if isinstance(module, Sequential):
        return {"class": "Sequential", "steps": [_describe(step) for step in module.steps]}
    name = type(module).__name__
    if name not in BUILDERS:
        raise TypeError(f"save: cannot describe a {name}; chainrule saves MLP, Linear, Sequential and activations")
    return {"class": name, "config": module.config()}


def _build(description: Any) -> Module:
    if not isinstance(description, dict) or "class" not in description:
        raise ModelFileError("the architecture entry is malformed")
    name = description["class"]
    if name == "Sequential":
        steps = description.get("steps")
        if not isinstance(steps, list):
            raise ModelFileError("the architecture entry is malformed: Sequential without steps")
        return Sequential(*(_build(step) for step in steps))
    if name not in BUILDERS:
        raise ModelFileError(f"the architecture names an unknown module {name!r}")
    config = description.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"the architecture entry for {name} has no config")
    try:
        return BUILDERS[name](**config)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"cannot rebuild {name} from the file: {error}") from None


BUILDERS: dict[str, Any] = {"MLP": MLP, "Linear": Linear, **ACTIVATION_MODULES}


def save(model: Module, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write the model's architecture, parameters and optional JSON-able metadata to `path` (.npz)."""
    path = Path(path)
    architecture = {"format": FORMAT, "version": VERSION, "model": _describe(model), "metadata": metadata or {}}
    try:
        text = json.dumps(architecture, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"save: metadata must be plain JSON (numbers, strings, lists, dicts): {error}") from None
    arrays = model.state_dict()
    if ARCHITECTURE_KEY in arrays:
        raise ValueError(f"save: a parameter may not be called {ARCHITECTURE_KEY}")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **{ARCHITECTURE_KEY: np.array(text)}, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def current_umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(architecture, arrays) from a model file, every array read and checked; ModelFileError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":
                raise ModelFileError(f"{path}: not a chainrule model file (not an .npz archive)")
            file.seek(0)
            with np.load(file, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError) as error:
        reason = str(error) or type(error).__name__
        if "allow_pickle" in reason:
            reason = "it holds pickled Python objects, which chainrule never loads"
        else:
            reason = f"truncated or corrupt: {reason}"
        raise ModelFileError(f"{path}: not a readable chainrule model file ({reason})") from None
    text = arrays.pop(ARCHITECTURE_KEY, None)
    if text is None or text.shape != () or text.dtype.kind != "U":
        raise ModelFileError(f"{path}: not a chainrule model file (no architecture entry)")
    try:
        architecture = json.loads(str(text))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: the architecture entry is not valid JSON ({error})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a chainrule model file")
    if architecture.get("version") != VERSION:
        raise ModelFileError(f"{path}: model file version {architecture.get('version')!r}; this chainrule reads {VERSION}")
    return architecture, arrays


def load(path: str | os.PathLike) -> Module:
    """The model saved at `path`, rebuilt and filled with its parameters."""
    architecture, arrays = read(path)
    model = _build(architecture.get("model"))
    try:
        model.load_state_dict(arrays)
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    return model


def metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata dictionary saved with the model at `path`."""
    found = read(path)[0].get("metadata", {})
    return found if isinstance(found, dict) else {}
