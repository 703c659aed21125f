"""Models that move on: a chainrule network seen as PyTorch's `nn.Sequential` (its parameter names, a
state_dict file, a live module), as an ONNX graph checked under ONNX Runtime, and a PyTorch MLP taken back.

Only Linear layers and the activations of `chainrule.nn.ACTIVATIONS` travel; anything else is refused with the
layer named. PyTorch, onnx and onnxruntime are optional extras imported only inside the functions that use
them; the safetensors file is written and read by `chainrule.io` with NumPy alone.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .nn.activations import Activation, LeakyReLU
from .nn.layers import ACTIVATION_MODULES, MLP, Linear, Sequential
from .nn.module import Module

FORMATS = ("torch", "safetensors", "onnx")
SUFFIXES = {"torch": ".pt", "safetensors": ".safetensors", "onnx": ".onnx"}

# Each activation of the registry and its counterpart: the torch.nn class and the ONNX operator. A name
# missing from TORCH_MODULES has no PyTorch module (to_torch refuses it; safetensors and ONNX still work).
TORCH_MODULES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "leaky_relu": "LeakyReLU",
                 "softplus": "Softplus"}
ONNX_OPERATORS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu",
                  "softplus": "Softplus", "arctan": "Atan"}
DEFAULT_SLOPE = 0.01  # leaky_relu's slope in ACTIVATIONS (and torch.nn.LeakyReLU's default)


class ExportError(ValueError):
    """A model that cannot be written in the format asked for (an unsupported layer, a missing package)."""


@dataclass(frozen=True)
class Step:
    """One entry of the equivalent `nn.Sequential`: a Linear layer (kind "linear") or an activation."""

    kind: str
    prefix: str = ""  # the chainrule name of a linear step's parameters, e.g. "layers.0."
    in_features: int = 0
    out_features: int = 0
    bias: bool = True
    slope: float = DEFAULT_SLOPE  # leaky_relu only

    def describe(self) -> dict[str, Any]:
        """The step as JSON: {"class": "Linear", "in_features": 2, ...} or {"class": "Sigmoid"}."""
        if self.kind == "linear":
            return {"class": "Linear", "in_features": self.in_features, "out_features": self.out_features,
                    "bias": self.bias}
        if self.kind == "leaky_relu":
            return {"class": "LeakyReLU", "negative_slope": self.slope}
        return {"class": TORCH_MODULES.get(self.kind, self.kind)}

    def torch_source(self) -> str:
        """The PyTorch constructor call for this step, e.g. `nn.Linear(2, 3)`."""
        if self.kind == "linear":
            return f"nn.Linear({self.in_features}, {self.out_features}{'' if self.bias else ', bias=False'})"
        if self.kind not in TORCH_MODULES:
            raise ExportError(f"PyTorch has no module for the {self.kind} activation; export it to safetensors "
                              f"or onnx instead (torch.nn has {', '.join(TORCH_MODULES.values())})")
        slope = f"negative_slope={self.slope!r}" if self.kind == "leaky_relu" and self.slope != DEFAULT_SLOPE else ""
        return f"nn.{TORCH_MODULES[self.kind]}({slope})"


def _activation_step(name: str, slope: float = DEFAULT_SLOPE) -> list[Step]:
    return [] if name == "identity" else [Step(name, slope=slope)]


def sequential_steps(model: Module, prefix: str = "") -> list[Step]:
    """The model as the flat list of layers an `nn.Sequential` would hold (identity activations left out).

    Complexity: one branch per kind of module that travels (MLP, Sequential, Linear, activation).
    """
    if isinstance(model, MLP):
        steps: list[Step] = []
        for l, layer in enumerate(model.layers, start=1):
            steps += sequential_steps(layer, f"{prefix}layers.{l - 1}.")
            steps += _activation_step(model.activation_name(l))
        return steps
    if isinstance(model, Sequential):
        return [step for i, inner in enumerate(model.steps) for step in sequential_steps(inner, f"{prefix}steps.{i}.")]
    if isinstance(model, Linear):
        return [Step("linear", prefix, model.in_features, model.out_features, model.bias is not None)]
    if isinstance(model, LeakyReLU):
        return _activation_step("leaky_relu", model.slope)
    if isinstance(model, Activation):
        return _activation_step(model.name)
    raise ExportError(f"cannot export a {type(model).__name__}: chainrule exports MLP, Sequential, Linear and the "
                      f"activations {', '.join(ACTIVATION_MODULES)}")


def sequential_names(model: Module) -> dict[str, str]:
    """Each chainrule parameter name and its `nn.Sequential` name: {"layers.0.weight": "0.weight", ...}."""
    names = {}
    for index, step in enumerate(sequential_steps(model)):
        if step.kind == "linear":
            names[f"{step.prefix}weight"] = f"{index}.weight"
            if step.bias:
                names[f"{step.prefix}bias"] = f"{index}.bias"
    return names


def torch_source(model: Module) -> str:
    """Python source of the matching PyTorch module: `nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), ...)`."""
    return f"nn.Sequential({', '.join(step.torch_source() for step in sequential_steps(model))})"


def sequential_state(model: Module, dtype: Any = None) -> dict[str, np.ndarray]:
    """The parameters under their `nn.Sequential` names, as arrays of `dtype` (default: the model's own)."""
    state = model.state_dict()
    return {new: np.ascontiguousarray(state[old], dtype=dtype) for old, new in sequential_names(model).items()}


# ---------------------------------------------------------------- PyTorch
def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ExportError("PyTorch is not installed: pip install 'chainrule[compare]'") from None
    return torch


def to_torch(model: Module, dtype: str = "float32") -> Any:
    """A `torch.nn.Sequential` computing the same function with the same weights (in `dtype`)."""
    torch = _import_torch()
    from torch import nn

    layers: list[Any] = []
    for step in sequential_steps(model):
        step.torch_source()  # refuses an activation PyTorch lacks, naming it
        if step.kind == "linear":
            layers.append(nn.Linear(step.in_features, step.out_features, bias=step.bias))
        elif step.kind == "leaky_relu":
            layers.append(nn.LeakyReLU(step.slope))
        else:
            layers.append(getattr(nn, TORCH_MODULES[step.kind])())
    module = nn.Sequential(*layers).to(getattr(torch, dtype))
    state = {name: torch.from_numpy(array) for name, array in sequential_state(model, dtype).items()}
    module.load_state_dict(state)
    return module


def save_torch(model: Module, path: str | os.PathLike, dtype: str = "float32") -> Path:
    """Write the model's `state_dict` under `nn.Sequential` names; `torch.load(path, weights_only=True)` reads it."""
    torch_source(model)  # refuses an activation PyTorch lacks before anything is imported or written
    torch = _import_torch()
    state = {name: torch.from_numpy(array) for name, array in sequential_state(model, dtype).items()}
    from .files import write_atomically

    return write_atomically(Path(path), lambda file: torch.save(state, file))


def _torch_step(index: int, layer: Any) -> Step:
    """The Step for one PyTorch layer; an unsupported one is refused with its index and class."""
    from torch import nn

    if isinstance(layer, nn.Linear):
        return Step("linear", "", layer.in_features, layer.out_features, layer.bias is not None)
    if isinstance(layer, nn.LeakyReLU):
        return Step("leaky_relu", slope=float(layer.negative_slope))
    if isinstance(layer, nn.Softplus) and (layer.beta != 1 or layer.threshold < 20):
        raise ExportError(f"from_torch: layer {index} is Softplus(beta={layer.beta}, threshold={layer.threshold}); "
                          "chainrule's softplus is ln(1 + e^z), i.e. beta=1 (threshold 20 or more)")
    by_class = {torch_name: name for name, torch_name in TORCH_MODULES.items()}
    if type(layer).__name__ in by_class:
        return Step(by_class[type(layer).__name__])
    if isinstance(layer, nn.Identity):
        return Step("identity")
    raise ExportError(f"from_torch: layer {index} is a {type(layer).__name__}; chainrule takes nn.Linear and "
                      f"the activations {', '.join(sorted(by_class))} (and nn.Identity)")


def _flatten_torch(module: Any) -> list[Any]:
    from torch import nn

    if isinstance(module, nn.Sequential):
        return [layer for inner in module for layer in _flatten_torch(inner)]
    return [module]


def _alternates(steps: list[Step]) -> bool:
    """Linear, σ, Linear, σ, ..., Linear, optionally followed by an output σ."""
    pattern = ["linear" if s.kind == "linear" else "act" for s in steps]
    expected = ["linear", "act"] * (pattern.count("linear") - 1) + ["linear"]
    return "linear" in pattern and pattern in (expected, [*expected, "act"])


def _as_mlp(steps: list[Step]) -> MLP | None:
    """The MLP these steps spell (one hidden σ, biases everywhere or nowhere), or None if they spell none."""
    linear = [s for s in steps if s.kind == "linear"]
    hidden = {s.kind for s in steps[1:-1] if s.kind != "linear"}
    if not _alternates(steps) or len(hidden) > 1 or len({s.bias for s in linear}) > 1:
        return None
    if any(s.slope != DEFAULT_SLOPE for s in steps):
        return None  # MLP's leaky_relu has the registry's slope
    sizes = [linear[0].in_features, *(s.out_features for s in linear)]
    output = steps[-1].kind if steps[-1].kind != "linear" else None
    return MLP(sizes, activation=hidden.pop() if hidden else "sigmoid", output_activation=output,
               bias=linear[0].bias)


def _as_sequential(steps: list[Step]) -> Sequential:
    modules: list[Module] = []
    for step in steps:
        if step.kind == "linear":
            modules.append(Linear(step.in_features, step.out_features, bias=step.bias))
        elif step.kind == "leaky_relu":
            modules.append(LeakyReLU(step.slope))
        else:
            modules.append(next(cls for cls in Activation.__subclasses__() if cls.name == step.kind)())
    return Sequential(*modules)


def from_torch(module: Any) -> Module:
    """A chainrule model (an MLP when the layers form one, else a Sequential) with the PyTorch module's weights.

    `module` is an `nn.Sequential` (nested ones are flattened) of `nn.Linear` and supported activations; the
    result is float64, so `chainrule explain` can explain a step of a network built in PyTorch.
    """
    _import_torch()
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise ExportError(f"from_torch: takes an nn.Sequential of nn.Linear and activations, got a "
                          f"{type(module).__name__}; put its layers in an nn.Sequential in the order forward uses")
    layers = _flatten_torch(module)
    steps = [_torch_step(index, layer) for index, layer in enumerate(layers)]
    linear_layers = [layer for layer in layers if isinstance(layer, nn.Linear)]
    if not linear_layers:
        raise ExportError("from_torch: the nn.Sequential holds no nn.Linear layer")
    for before, after in zip(linear_layers, linear_layers[1:]):
        if before.out_features != after.in_features:
            raise ExportError(f"from_torch: a Linear with {before.out_features} outputs feeds a Linear with "
                              f"{after.in_features} inputs")
    model: Module = _as_mlp(steps) or _as_sequential([s for s in steps if s.kind != "identity"])
    torch_state = {f"{i}.{name}": tensor for i, layer in enumerate(linear_layers)
                   for name, tensor in layer.state_dict().items()}
    renamed = dict(zip(sequential_names(model).keys(), torch_state.values()))
    model.load_state_dict({name: tensor.detach().cpu().double().numpy() for name, tensor in renamed.items()})
    return model


# ---------------------------------------------------------------- ONNX
def _import_onnx() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ExportError(f"ONNX export needs onnx and onnxruntime ({error.name} is missing): "
                          "pip install 'chainrule[interop]'") from None
    return onnx, onnxruntime


@functools.lru_cache(maxsize=1)
def newest_common_opset() -> int:
    """The newest ONNX opset that both the installed `onnx` package and ONNX Runtime accept (probed once)."""
    onnx, onnxruntime = _import_onnx()
    from onnx import TensorProto, helper

    value = helper.make_tensor_value_info
    for opset in range(onnx.defs.onnx_opset_version(), 6, -1):
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe",
                                  [value("x", TensorProto.FLOAT, [1])], [value("y", TensorProto.FLOAT, [1])])
        probe = _model_for(graph, opset)
        try:
            onnxruntime.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception:
            continue
        return opset
    raise ExportError("ONNX Runtime accepts no opset of the installed onnx package")


def _model_for(graph: Any, opset: int) -> Any:
    from onnx import helper

    imports = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=imports, producer_name="chainrule")
    model.ir_version = helper.find_min_ir_version_for(imports)
    return model


def to_onnx(model: Module, dtype: str = "float32", opset: int | None = None) -> Any:
    """The model as an ONNX graph: input "x" of shape (batch, n_0), one Gemm per Linear, one node per σ."""
    onnx, _ = _import_onnx()
    from onnx import helper, numpy_helper

    steps = sequential_steps(model)
    state = sequential_state(model, dtype)
    element = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    nodes, initializers, current = [], [], "x"
    for index, step in enumerate(steps):
        output = "y" if index == len(steps) - 1 else f"a{index}"
        if step.kind == "linear":
            inputs = [current, f"{index}.weight"] + ([f"{index}.bias"] if step.bias else [])
            initializers += [numpy_helper.from_array(state[name], name) for name in inputs[1:]]
            nodes.append(helper.make_node("Gemm", inputs, [output], name=f"linear{index}", transB=1))
        else:
            attributes: dict[str, Any] = {"alpha": step.slope} if step.kind == "leaky_relu" else {}
            nodes.append(helper.make_node(ONNX_OPERATORS[step.kind], [current], [output], name=f"{step.kind}{index}",
                                          **attributes))
        current = output
    first = next(s for s in steps if s.kind == "linear")
    last = next(s for s in reversed(steps) if s.kind == "linear")
    graph = helper.make_graph(
        nodes, "chainrule", [helper.make_tensor_value_info("x", element, ["batch", first.in_features])],
        [helper.make_tensor_value_info("y", element, ["batch", last.out_features])], initializers)
    built = _model_for(graph, opset or newest_common_opset())
    onnx.checker.check_model(built, full_check=True)
    return built


def run_onnx(graph: Any, X: Any) -> np.ndarray:
    """The ONNX graph's output "y" for the rows of X, computed by ONNX Runtime."""
    _, onnxruntime = _import_onnx()
    content = graph if isinstance(graph, bytes) else graph.SerializeToString()
    session = onnxruntime.InferenceSession(content, providers=["CPUExecutionProvider"])
    element = session.get_inputs()[0].type  # "tensor(float)" or "tensor(double)"
    inputs = np.asarray(X, dtype=np.float64 if "double" in element else np.float32)
    return session.run(["y"], {"x": inputs})[0]


def check_onnx(model: Module, graph: Any, tolerance: float = 1e-6, seed: int = 0) -> float:
    """The largest |ONNX Runtime − chainrule| over 64 random inputs; ExportError if above `tolerance`."""
    from .train import predict

    steps = sequential_steps(model)
    X = np.random.default_rng(seed).uniform(-2, 2, size=(64, steps[0].in_features))
    try:
        outputs = run_onnx(graph, X)
    except Exception as error:
        raise ExportError(f"ONNX Runtime cannot run the exported graph: {str(error).splitlines()[0]} (it runs "
                          "every layer chainrule exports in float32: --dtype float32)") from None
    expected = predict(model, X).reshape(outputs.shape)
    worst = float(np.max(np.abs(outputs - expected) / np.maximum(1.0, np.abs(expected))))
    if not worst <= tolerance:
        raise ExportError(f"ONNX Runtime's outputs differ from chainrule's by {worst:.3g} (relative), above "
                          f"{tolerance:g}; try --dtype float64")
    return worst


def save_onnx(model: Module, path: str | os.PathLike, dtype: str = "float32") -> tuple[Path, float]:
    """Write the ONNX graph after checking it under ONNX Runtime; (path, largest relative difference)."""
    graph = to_onnx(model, dtype)
    worst = check_onnx(model, graph)
    from .files import write_atomically

    return write_atomically(Path(path), graph.SerializeToString()), worst


# ---------------------------------------------------------------- the `chainrule export` command
@dataclass
class Exported:
    """What `export` wrote, and how to read it back."""

    path: Path
    to: str
    model: Module
    dtype: str
    check: float | None = None  # the largest relative difference under ONNX Runtime

    def lines(self) -> list[str]:
        """The lines `chainrule export` prints: the file, and the code that reads it in the other library."""
        lines = [f"wrote {self.path} ({self.to}, {self.dtype}, {self.model.num_parameters()} parameters)"]
        if self.to == "onnx":
            lines.append(f"checked under ONNX Runtime: largest difference from chainrule {self.check:.3g} (relative)")
            lines.append(f"run it: onnxruntime.InferenceSession({str(self.path)!r}).run(['y'], {{'x': X}})")
            return lines
        if all(step.kind in TORCH_MODULES or step.kind == "linear" for step in sequential_steps(self.model)):
            reader = (f"torch.load({str(self.path)!r}, weights_only=True)" if self.to == "torch"
                      else f"safetensors.torch.load_file({str(self.path)!r})")
            lines.append(f"in PyTorch: model = {torch_source(self.model)}; model.load_state_dict({reader})")
        return lines


def export(model_path: str | os.PathLike, to: str, out: str | os.PathLike | None = None,
           dtype: str | None = None) -> Exported:
    """Read a chainrule model file and write it as `to` (torch, safetensors or onnx) at `out`."""
    if to not in FORMATS:
        raise ExportError(f"export: unknown format {to!r}; choose one of {', '.join(FORMATS)}")
    model = io.load(model_path)
    target = Path(out) if out else Path(model_path).with_suffix(SUFFIXES[to])
    if target.resolve() == Path(model_path).resolve():
        raise ExportError(f"export: --out {target} is the model file itself; choose another name")
    sequential_steps(model)  # refuses an unsupported layer before any package is imported
    if to == "safetensors":
        chosen = dtype or str(model.parameters()[0].dtype)
        return Exported(io.save(model, target, io.metadata(model_path), dtype=chosen), to, model, chosen)
    chosen = dtype or "float32"
    if to == "torch":
        return Exported(save_torch(model, target, chosen), to, model, chosen)
    path, worst = save_onnx(model, target, chosen)
    return Exported(path, to, model, chosen, worst)
