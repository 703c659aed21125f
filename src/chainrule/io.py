"""Model files: `save(model, path)` and `load(path)`, a NumPy .npz holding the parameters and a JSON entry
describing the architecture (the default), or a safetensors file holding the parameters under PyTorch's
`nn.Sequential` names (`0.weight`, `0.bias`, ...) with the same JSON in its metadata.

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
from .optim import Optimizer

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


SAFETENSORS_SUFFIX = ".safetensors"
# safetensors' names for the number types a model file may hold (little-endian, as the format requires).
SAFETENSORS_DTYPES: dict[str, np.dtype] = {"F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8")}


def save(model: Module, path: str | os.PathLike, metadata: dict[str, Any] | None = None,
         dtype: Any = None, optimizer: Optimizer | None = None) -> Path:
    """Write the model's architecture, parameters (as `dtype`, default the model's own) and optional JSON-able
    metadata to `path`: a .npz file, or a safetensors file when the name ends in .safetensors.

    With `optimizer` (over `model.parameters()`, in that order) the .npz file is a checkpoint: it also keeps the
    optimiser's hyper-parameters and state (momentum, Adam's m, v and step), which `load_optimizer` restores.
    """
    path = Path(path)
    if not model.parameters():
        raise ValueError(f"save: the {type(model).__name__} has no parameters (no Linear or MLP); there is nothing "
                         "to save")
    architecture = {"format": FORMAT, "version": VERSION, "model": _describe(model), "metadata": metadata or {}}
    optimizer_arrays: dict[str, np.ndarray] = {}
    if optimizer is not None:
        if path.suffix == SAFETENSORS_SUFFIX:
            raise ValueError("save: optimizer state is kept in .npz checkpoints; save to a name ending in .npz")
        architecture["optimizer"], optimizer_arrays = _describe_optimizer(model, optimizer)
    try:
        text = json.dumps(architecture, allow_nan=False)
        _check_metadata(architecture["metadata"])  # what load would refuse is refused here too
    except (TypeError, ValueError) as error:
        raise ValueError(f"save: metadata must be plain JSON (numbers, strings, lists, dicts): {error}") from None
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"save: dtype must be a floating type, got {np.dtype(dtype)}")
    arrays = _finite_parameters(model, dtype)
    if path.suffix == SAFETENSORS_SUFFIX:
        return write_atomically(path, _safetensors_bytes(model, arrays, text))
    if ARCHITECTURE_KEY in arrays:
        raise ValueError(f"save: a parameter may not be called {ARCHITECTURE_KEY}")
    stored = {ARCHITECTURE_KEY: np.array(text), **arrays, **optimizer_arrays}
    return write_atomically(path, lambda file: np.savez(file, **stored))  # type: ignore[arg-type]  # numpy's stub


def _finite_parameters(model: Module, dtype: Any) -> dict[str, np.ndarray]:
    """The model's parameters as `dtype` (default their own); ValueError if one holds NaN or ∞ once cast."""
    with np.errstate(over="ignore"):  # a value float16/float32 cannot hold becomes ∞, refused just below
        arrays = {name: array.astype(dtype or array.dtype) for name, array in model.state_dict().items()}
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            cause = f"the run diverged, or {np.dtype(dtype)} cannot hold its values" if dtype else "the run diverged"
            raise ValueError(f"save: parameter {name} holds NaN or ∞ ({cause}); chainrule saves finite weights only")
    return arrays


OPTIMIZER_PREFIX = "__optimizer__."  # a checkpoint's optimiser arrays: __optimizer__.INDEX.KEY


def _describe_optimizer(model: Module, optimizer: Optimizer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The optimiser as JSON (class, hyper-parameters, numbers such as the step count) and its state arrays."""
    own = model.parameters()
    if len(optimizer.params) != len(own) or any(p is not q for p, q in zip(optimizer.params, own)):
        raise ValueError("save: the optimizer must hold the model's parameters, in model.parameters() order")
    state = optimizer.state_dict()
    hyperparameters = {k: v for k, v in state["param_groups"][0].items() if k != "params"}
    numbers: dict[str, dict[str, Any]] = {}
    arrays = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, np.ndarray):
                arrays[f"{OPTIMIZER_PREFIX}{index}.{key}"] = value
            else:
                numbers.setdefault(str(index), {})[key] = value
    description = {"class": type(optimizer).__name__, "hyperparameters": hyperparameters, "numbers": numbers,
                   "arrays": sorted(arrays)}
    return description, arrays


def _declared_optimizer_shapes(architecture: dict[str, Any],
                               parameters: list[tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """Each optimiser array a checkpoint declares, shaped like the parameter whose index it names."""
    described = architecture.get("optimizer")
    if described is None:
        return {}
    names = described.get("arrays") if isinstance(described, dict) else None
    if not isinstance(names, list) or len(names) > MAX_MEMBERS:
        raise ModelFileError("the optimizer entry is malformed")
    shapes = {}
    for name in names:
        index = name[len(OPTIMIZER_PREFIX):].split(".")[0] if isinstance(name, str) else ""
        if not (name.startswith(OPTIMIZER_PREFIX) and index.isdigit() and int(index) < len(parameters)):
            raise ModelFileError(f"the optimizer entry names {name!r}, which is no parameter's state")
        shapes[name] = parameters[int(index)]
    return shapes


def _safetensors_bytes(model: Module, arrays: dict[str, np.ndarray], architecture: str) -> bytes:
    """The safetensors file: 8 bytes of header length, the JSON header (padded to 8 bytes), then the data."""
    from .interop import ExportError, sequential_names, sequential_steps, torch_source

    codes = {dtype: code for code, dtype in SAFETENSORS_DTYPES.items()}
    metadata = {"format": FORMAT, "version": str(VERSION), "architecture": architecture,
                "sequential": json.dumps([step.describe() for step in sequential_steps(model)])}
    try:
        metadata["torch"] = torch_source(model)
    except ExportError:
        pass  # an activation PyTorch lacks (arctan): no nn.Sequential to name, the parameters are still there
    header: dict[str, Any] = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name, new_name in sequential_names(model).items():
        array = np.ascontiguousarray(arrays[name], dtype=arrays[name].dtype.newbyteorder("<"))
        if array.dtype not in codes:
            raise ValueError(f"save: safetensors holds float16, float32 or float64, not {array.dtype}")
        header[new_name] = {"dtype": codes[array.dtype], "shape": list(array.shape),
                            "data_offsets": [offset, offset + array.nbytes]}
        chunks.append(array.tobytes())
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return b"".join([len(text).to_bytes(8, "little"), text, *chunks])


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
        if member.readinto(buffer) != header.nbytes:  # type: ignore[attr-defined]  # a ZipExtFile
            raise ModelFileError(f"array {header.info.filename[:-4]!r} is truncated")
    array = np.frombuffer(buffer, dtype=header.dtype)
    return array.reshape(header.shape, order="F" if header.fortran_order else "C")


def _parse_architecture(archive: zipfile.ZipFile, headers: dict[str, _Header]) -> dict[str, Any]:
    header = headers.get(ARCHITECTURE_KEY)
    if header is None or header.shape != () or header.dtype.kind != "U":
        raise ModelFileError("not a chainrule model file (no architecture entry)")
    if header.nbytes > MAX_ARCHITECTURE_BYTES:
        raise ModelFileError(f"the architecture entry is {header.nbytes:,} bytes, above {MAX_ARCHITECTURE_BYTES:,}")
    return _architecture_from_text(str(_read_array(archive, header)[()]))


def _refuse_constant(name: str) -> Any:
    raise ModelFileError(f"it holds {name}, which is not a JSON number (chainrule writes only finite numbers)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ModelFileError(f"it holds the number {text[:40]}, which overflows a float (chainrule writes only "
                             "finite numbers)")
    return value


def _strict_json(text: str | bytes) -> Any:
    """JSON as the standard says: NaN, Infinity and numbers that overflow to ±∞ are refused (json.loads takes
    them), as is nesting deep enough to exhaust the stack."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ModelFileError(f"it is not valid JSON ({reason})") from None


# What chainrule itself reads from a model's metadata (`chainrule predict`), checked when the file is opened.
METADATA_RULES: dict[str, tuple[Any, str]] = {
    "threshold": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "loss": (lambda v: isinstance(v, str), "the name of a cost, as text"),
}


def _check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, dict):
        raise ModelFileError(f"its metadata is {type(metadata).__name__}, not a JSON object")
    for key, (accepts, expected) in METADATA_RULES.items():
        if key in metadata and not accepts(metadata[key]):
            raise ModelFileError(f"its metadata says {key} = {_shown(metadata[key])}; expected {expected}")


def _architecture_from_text(text: Any) -> dict[str, Any]:
    """The architecture entry's JSON, checked: a chainrule model description of the version this code reads."""
    if not isinstance(text, str):
        raise ModelFileError("not a chainrule model file (no architecture entry)")
    try:
        architecture = _strict_json(text)
    except ModelFileError as error:
        raise ModelFileError(f"the architecture entry: {error}") from None
    if not isinstance(architecture, dict) or architecture.get("format") != FORMAT:
        raise ModelFileError("not a chainrule model file")
    if architecture.get("version") != VERSION:
        raise ModelFileError(f"model file version {_shown(architecture.get('version'))}; this chainrule reads {VERSION}")
    _check_metadata(architecture.get("metadata", {}))
    return architecture


def _widths(config: dict[str, Any], keys: tuple[str, ...]) -> list[int]:
    values = [config.get(key) for key in keys] if len(keys) > 1 else config.get(keys[0])
    if not isinstance(values, list) or not values or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in values):
        raise ModelFileError(f"the architecture declares {'/'.join(keys)} = {_shown(values)}; expected positive integers")
    return values


def _shown(value: Any) -> str:
    """A value from a file, for an error message: repr (control characters escaped), cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _leaves(description: Any, prefix: str = "", depth: int = 0) -> list[tuple[str, str, dict[str, Any]]]:
    """The modules an architecture entry lists, in the order they apply, Sequential unfolded: (name prefix, class,
    config) each. Nesting is capped at MAX_NESTING, so a hostile file cannot exhaust the stack."""
    if depth > MAX_NESTING:
        raise ModelFileError(f"the architecture nests deeper than {MAX_NESTING} levels")
    if not isinstance(description, dict) or not isinstance(description.get("class"), str):
        raise ModelFileError("the architecture entry is malformed")
    name, config = description["class"], description.get("config", {})
    if name == "Sequential":
        steps = description.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ModelFileError("the architecture entry is malformed: Sequential without steps")
        return [leaf for i, step in enumerate(steps) for leaf in _leaves(step, f"{prefix}steps.{i}.", depth + 1)]
    if not isinstance(config, dict):
        raise ModelFileError(f"the architecture entry for {name} has no config")
    return [(prefix, name, config)]


def _weight_layers(prefix: str, name: str, config: dict[str, Any]) -> tuple[list[tuple[str, int, int]], bool]:
    """([(name prefix, n_out, n_in) per weight matrix W], whether each has a bias b) of one module's config."""
    if name not in ("MLP", "Linear"):
        return [], False  # activations hold no parameters; an unknown name is refused when the model is built
    bias = config.get("bias", True)
    if not isinstance(bias, bool):
        raise ModelFileError(f"the architecture declares {name} bias = {_shown(bias)}; expected true or false")
    if name == "MLP":
        sizes = _widths(config, ("sizes",))
        return [(f"{prefix}layers.{l}.", sizes[l + 1], sizes[l]) for l in range(len(sizes) - 1)], bias
    n_in, n_out = _widths(config, ("in_features", "out_features"))
    return [(prefix, n_out, n_in)], bias


def declared_shapes(description: Any) -> dict[str, tuple[int, ...]]:
    """The parameter names and shapes an architecture entry declares, computed without building anything; each
    layer's inputs must be as many as the layer before gives (else the model could not run)."""
    shapes: dict[str, tuple[int, ...]] = {}
    width: int | None = None
    for prefix, name, config in _leaves(description):
        layers, bias = _weight_layers(prefix, name, config)
        for at, n_out, n_in in layers:
            if width is not None and n_in != width:
                raise ModelFileError(f"the architecture's layers do not line up: {at}weight takes {n_in} inputs but "
                                     f"the layer before gives {width}")
            width = n_out
            shapes[f"{at}weight"] = (n_out, n_in)
            if bias:
                shapes[f"{at}bias"] = (n_out,)
    return shapes


def _declared_within_cap(architecture: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The parameter (and optimiser state) shapes the architecture declares, after checking them against the cap."""
    expected = declared_shapes(architecture.get("model"))
    if not expected:
        raise ModelFileError("the architecture declares no parameters (no Linear or MLP); there is no model to load")
    expected.update(_declared_optimizer_shapes(architecture, list(expected.values())))
    values = sum(math.prod(shape) for shape in expected.values())
    if values * 8 > MAX_MODEL_BYTES:
        raise ModelFileError(f"the architecture declares {values:,} parameters ({values * 8:,} bytes as float64), "
                             f"above the cap of {MAX_MODEL_BYTES:,} bytes (chainrule.io.MAX_MODEL_BYTES)")
    return expected


def _check_against_architecture(architecture: dict[str, Any], headers: dict[str, _Header]) -> None:
    """The stored arrays are exactly the parameters the architecture declares, and within the cap."""
    expected = _declared_within_cap(architecture)
    _compare_shapes(expected, {name: header.shape for name, header in headers.items() if name != ARCHITECTURE_KEY})


def _compare_shapes(expected: dict[str, tuple[int, ...]], stored: dict[str, tuple[int, ...]]) -> None:
    for name in sorted(expected.keys() | stored.keys()):
        if expected.get(name) != stored.get(name):
            found = "is missing" if name not in stored else f"has shape {stored[name]}"
            wanted = f"declares {expected[name]}" if name in expected else "declares no such parameter"
            raise ModelFileError(f"{name} {found} in the file; the architecture {wanted}")


def _open_npz(file: Any, with_arrays: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with zipfile.ZipFile(file) as archive:
        headers = _read_headers(archive)
        architecture = _parse_architecture(archive, headers)
        _check_against_architecture(architecture, headers)
        arrays = {name: _read_array(archive, header) for name, header in headers.items()
                  if with_arrays and name != ARCHITECTURE_KEY}
    return architecture, arrays


MAX_SAFETENSORS_HEADER = 4 * MAX_ARCHITECTURE_BYTES  # the JSON header: architecture, names, shapes, offsets


class _Entry(NamedTuple):
    """One tensor a safetensors header declares: its type, shape and where its bytes lie in the data."""

    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int
    end: int


def _safetensors_entry(name: str, entry: Any) -> _Entry:
    if not isinstance(entry, dict) or entry.get("dtype") not in SAFETENSORS_DTYPES:
        found = entry.get("dtype") if isinstance(entry, dict) else entry
        raise ModelFileError(f"tensor {name!r} has dtype {found!r}; model parameters are "
                             f"{', '.join(SAFETENSORS_DTYPES)}")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if not (isinstance(shape, list) and isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in [*shape, *offsets])):
        raise ModelFileError(f"tensor {name!r} has a malformed shape or data_offsets")
    found = _Entry(SAFETENSORS_DTYPES[entry["dtype"]], tuple(shape), offsets[0], offsets[1])
    if found.end - found.begin != math.prod(found.shape) * found.dtype.itemsize:
        raise ModelFileError(f"tensor {name!r} declares shape {found.shape} of {found.dtype} but spans "
                             f"{found.end - found.begin} bytes")
    return found


def _safetensors_header(file: Any) -> tuple[dict[str, str], dict[str, _Entry], int]:
    """(metadata, tensors, where the data starts) of a safetensors file, every offset checked against its size."""
    size = os.fstat(file.fileno()).st_size
    length = int.from_bytes(file.read(8), "little")
    if length > MAX_SAFETENSORS_HEADER or 8 + length > size:
        raise ModelFileError(f"its safetensors header declares {length:,} bytes; the file holds {size:,} and "
                             f"chainrule reads headers up to {MAX_SAFETENSORS_HEADER:,}")
    try:
        header = _strict_json(file.read(length))
    except ModelFileError as error:
        raise ModelFileError(f"its safetensors header: {error}") from None
    if not isinstance(header, dict):
        raise ModelFileError("its safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelFileError("a safetensors file without chainrule's metadata; chainrule reads the ones it wrote "
                             "(chainrule.save(model, 'name.safetensors') or chainrule export --to safetensors)")
    entries = {name: _safetensors_entry(name, entry) for name, entry in header.items()}
    end = 0
    for name, entry in sorted(entries.items(), key=lambda item: item[1].begin):
        if entry.begin != end:
            raise ModelFileError(f"tensor {name!r} starts at byte {entry.begin} of the data, not {end}")
        end = entry.end
    if 8 + length + end != size:
        raise ModelFileError(f"its tensors take {end:,} bytes but the file holds {size - 8 - length:,} after the "
                             "header (truncated, or something appended)")
    return metadata, entries, 8 + length


def _open_safetensors(file: Any, with_arrays: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The architecture and the arrays (under chainrule's own names) of a safetensors file chainrule wrote."""
    from .interop import sequential_names

    metadata, entries, start = _safetensors_header(file)
    architecture = _architecture_from_text(metadata.get("architecture"))
    expected = _declared_within_cap(architecture)
    own_names = {new: old for old, new in sequential_names(_build(architecture.get("model"))).items()}
    _compare_shapes(expected, {own_names.get(name, name): entry.shape for name, entry in entries.items()})
    arrays = {}
    for name, entry in entries.items() if with_arrays else ():
        file.seek(start + entry.begin)
        buffer = bytearray(entry.end - entry.begin)
        if file.readinto(buffer) != len(buffer):
            raise ModelFileError(f"tensor {name!r} is truncated")
        arrays[own_names[name]] = np.frombuffer(buffer, dtype=entry.dtype).reshape(entry.shape)
    return architecture, arrays


def _open(path: str | os.PathLike, with_arrays: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file")
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with open(path, "rb") as file:
            start = file.read(9)
            file.seek(0)
            if start[:4] == b"PK\x03\x04":
                architecture, arrays = _open_npz(file, with_arrays)
            elif start[8:] == b"{":
                architecture, arrays = _open_safetensors(file, with_arrays)
            else:
                kind = "a safetensors file" if path.suffix == SAFETENSORS_SUFFIX else "an .npz archive"
                raise ModelFileError(f"not a chainrule model file (not {kind})")
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
    return _load(path)[0]


def _load(path: str | os.PathLike) -> tuple[Module, dict[str, Any], dict[str, np.ndarray]]:
    architecture, arrays = read(path)
    try:
        model = _build(architecture.get("model"))
        for name, array in arrays.items():
            if not name.startswith(OPTIMIZER_PREFIX) and not np.isfinite(array).all():
                raise ModelFileError(f"parameter {name} holds NaN or ∞; a model chainrule saved holds finite "
                                     "numbers only (a diverged run keeps its last finite weights)")
    except ModelFileError as error:
        raise ModelFileError(f"{path}: {error}") from None
    try:
        model.load_state_dict({k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER_PREFIX)})
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    return model, architecture, arrays


def load_checkpoint(path: str | os.PathLike) -> tuple[Module, Optimizer]:
    """The model and its optimiser, as `save(model, path, optimizer=opt)` left them: the next `step()` of the
    optimiser is the one the saved run would have taken."""
    from .optim import OPTIMIZERS

    model, architecture, arrays = _load(path)
    described = architecture.get("optimizer")
    if not isinstance(described, dict):
        raise ModelFileError(f"{path}: no optimizer state (save it with chainrule.save(model, path, optimizer=opt))")
    classes = {spec.make.__name__: spec.make for spec in OPTIMIZERS.values() if isinstance(spec.make, type)}
    name, hyperparameters = described.get("class"), described.get("hyperparameters")
    if name not in classes or not isinstance(hyperparameters, dict):
        raise ModelFileError(f"{path}: the optimizer entry names {name!r}; chainrule has {', '.join(classes)}")
    defaults = {key: tuple(value) if isinstance(value, list) else value for key, value in hyperparameters.items()}
    numbers = described.get("numbers")
    numbers = numbers if isinstance(numbers, dict) else {}
    state: dict[int, dict[str, Any]] = {index: dict(numbers.get(str(index), {})) for index in range(len(model.parameters()))}
    for key, array in arrays.items():
        if key.startswith(OPTIMIZER_PREFIX):
            index, entry = key[len(OPTIMIZER_PREFIX):].split(".", 1)
            state[int(index)][entry] = np.array(array)
    try:
        optimizer = classes[name](model.parameters(), **defaults)
        optimizer.load_state_dict({"state": state, "param_groups": [{**defaults, "params": list(state)}]})
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: cannot rebuild the {name} optimizer from the file: {error}") from None
    return model, optimizer


def metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata dictionary saved with the model at `path`."""
    found = _open(path, with_arrays=False)[0].get("metadata", {})
    return found if isinstance(found, dict) else {}
