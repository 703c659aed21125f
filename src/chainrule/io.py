"""Model files: `save(model, path)` and `load(path)`, a NumPy .npz holding the parameters and a JSON entry
describing the architecture.

No pickle anywhere (files are read with allow_pickle=False), so opening a model file cannot run code. Files
are written to a temporary name and then renamed, so a crash never leaves half a model behind.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .files import write_atomically
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
    return write_atomically(path, lambda file: np.savez(file, **{ARCHITECTURE_KEY: np.array(text)}, **arrays))


MAX_MODEL_BYTES = 1 << 30  # the parameters a model file may declare: 1 GiB (about 134 million float64 values)
MAX_ARCHITECTURE_BYTES = 1 << 20  # the JSON architecture entry
MAX_MEMBERS = 10_000  # arrays in one file
MAX_NESTING = 32  # Sequential inside Sequential, and JSON depth


class _Header(NamedTuple):
    """What a stored array's .npy header declares, read without reading the array."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes of header before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Header:
    name = info.filename[:-4]
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            raise ModelFileError(f"array {name!r} has .npy format version {version}, not 1.0 or 2.0")
        shape, fortran_order, dtype = readers[version](member)
        header = _Header(info, tuple(int(n) for n in shape), dtype, bool(fortran_order), member.tell())
    if dtype.hasobject:
        raise ModelFileError(f"array {name!r} holds pickled Python objects, which chainrule never loads")
    if name != ARCHITECTURE_KEY and dtype.kind != "f":
        raise ModelFileError(f"array {name!r} has dtype {dtype}; model parameters must be real floating point")
    if info.file_size != header.offset + header.nbytes:
        raise ModelFileError(f"array {name!r} declares shape {header.shape} of {dtype} ({header.nbytes} bytes) "
                             f"but its entry holds {info.file_size - header.offset} bytes")
    return header


def _read_headers(archive: zipfile.ZipFile) -> dict[str, _Header]:
    """Every stored array's header, after checking the sizes the zip directory declares against the caps."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(f"it holds {len(members)} entries; a model file holds at most {MAX_MEMBERS}")
    declared = sum(info.file_size for info in members)
    if declared > MAX_MODEL_BYTES + MAX_ARCHITECTURE_BYTES:
        raise ModelFileError(f"its entries would unpack to {declared:,} bytes, above the cap of "
                             f"{MAX_MODEL_BYTES:,} bytes for a model (chainrule.io.MAX_MODEL_BYTES)")
    headers = {}
    for info in members:
        if not info.filename.endswith(".npy"):
            raise ModelFileError(f"it holds {info.filename!r}, which is not a stored array")
        headers[info.filename[:-4]] = _read_header(archive, info)
    return headers


def _read_array(archive: zipfile.ZipFile, header: _Header) -> np.ndarray:
    """The array behind `header`, reading exactly the bytes the header declares and no more."""
    buffer = bytearray(header.nbytes)
    with archive.open(header.info) as member:
        member.read(header.offset)
        if member.readinto(buffer) != header.nbytes:
            raise ModelFileError(f"array {header.info.filename[:-4]!r} is truncated")
    array = np.frombuffer(buffer, dtype=header.dtype)
    return array.reshape(header.shape, order="F" if header.fortran_order else "C")


def _parse_architecture(archive: zipfile.ZipFile, headers: dict[str, _Header]) -> dict[str, Any]:
    header = headers.get(ARCHITECTURE_KEY)
    if header is None or header.shape != () or header.dtype.kind != "U":
        raise ModelFileError("not a chainrule model file (no architecture entry)")
    if header.nbytes > MAX_ARCHITECTURE_BYTES:
        raise ModelFileError(f"the architecture entry is {header.nbytes:,} bytes, above {MAX_ARCHITECTURE_BYTES:,}")
    try:
        architecture = json.loads(str(_read_array(archive, header)[()]))
    except (json.JSONDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ModelFileError(f"the architecture entry is not valid JSON ({reason})") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        raise ModelFileError("not a chainrule model file")
    if architecture.get("version") != VERSION:
        raise ModelFileError(f"model file version {architecture.get('version')!r}; this chainrule reads {VERSION}")
    return architecture


def _widths(config: dict[str, Any], keys: tuple[str, ...]) -> list[int]:
    values = [config.get(key) for key in keys] if len(keys) > 1 else config.get(keys[0])
    if not isinstance(values, list) or not values or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in values):
        raise ModelFileError(f"the architecture declares {'/'.join(keys)} = {values!r}; expected positive integers")
    return values


def declared_shapes(description: Any, prefix: str = "", depth: int = 0) -> dict[str, tuple[int, ...]]:
    """The parameter names and shapes an architecture entry declares, computed without building anything."""
    if depth > MAX_NESTING:
        raise ModelFileError(f"the architecture nests deeper than {MAX_NESTING} levels")
    if not isinstance(description, dict) or not isinstance(description.get("class"), str):
        raise ModelFileError("the architecture entry is malformed")
    name, config = description["class"], description.get("config", {})
    if name == "Sequential":
        steps = description.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ModelFileError("the architecture entry is malformed: Sequential without steps")
        shapes: dict[str, tuple[int, ...]] = {}
        for i, step in enumerate(steps):
            shapes.update(declared_shapes(step, f"{prefix}steps.{i}.", depth + 1))
        return shapes
    if not isinstance(config, dict):
        raise ModelFileError(f"the architecture entry for {name} has no config")
    if name == "MLP":
        sizes, bias = _widths(config, ("sizes",)), config.get("bias", True)
        pairs = [(f"{prefix}layers.{l}.", sizes[l + 1], sizes[l]) for l in range(len(sizes) - 1)]
    elif name == "Linear":
        (n_in, n_out), bias = _widths(config, ("in_features", "out_features")), config.get("bias", True)
        pairs = [(prefix, n_out, n_in)]
    else:
        return {}  # activations hold no parameters; an unknown name is refused when the model is built
    shapes = {}
    for at, n_out, n_in in pairs:
        shapes[f"{at}weight"] = (n_out, n_in)
        if bias:
            shapes[f"{at}bias"] = (n_out,)
    return shapes


def _check_against_architecture(architecture: dict[str, Any], headers: dict[str, _Header]) -> None:
    """The stored arrays are exactly the parameters the architecture declares, and within the cap."""
    expected = declared_shapes(architecture.get("model"))
    values = sum(math.prod(shape) for shape in expected.values())
    if values * 8 > MAX_MODEL_BYTES:
        raise ModelFileError(f"the architecture declares {values:,} parameters ({values * 8:,} bytes as float64), "
                             f"above the cap of {MAX_MODEL_BYTES:,} bytes (chainrule.io.MAX_MODEL_BYTES)")
    stored = {name: header.shape for name, header in headers.items() if name != ARCHITECTURE_KEY}
    for name in sorted(expected.keys() | stored.keys()):
        if expected.get(name) != stored.get(name):
            found = "is missing" if name not in stored else f"has shape {stored[name]}"
            wanted = f"declares {expected[name]}" if name in expected else "declares no such parameter"
            raise ModelFileError(f"{name} {found} in the file; the architecture {wanted}")


def _open(path: str | os.PathLike, with_arrays: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":
                raise ModelFileError("not a chainrule model file (not an .npz archive)")
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                headers = _read_headers(archive)
                architecture = _parse_architecture(archive, headers)
                _check_against_architecture(architecture, headers)
                arrays = {name: _read_array(archive, header) for name, header in headers.items()
                          if with_arrays and name != ARCHITECTURE_KEY}
    except ModelFileError as error:
        raise ModelFileError(f"{path}: {error}") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError, zlib.error) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFileError(f"{path}: not a readable chainrule model file (truncated or corrupt: {reason})") from None
    return architecture, arrays


def read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(architecture, arrays) from a model file; ModelFileError if unreadable.

    Every stored array's header is checked against the architecture and the caps before any array is read,
    so a hostile file costs at most its headers: no pickle, no array larger than declared, no zip bomb.
    """
    return _open(path, with_arrays=True)


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
    found = _open(path, with_arrays=False)[0].get("metadata", {})
    return found if isinstance(found, dict) else {}
