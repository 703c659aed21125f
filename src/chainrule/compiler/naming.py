"""Names for a traced program: the notation where the network's structure shows (a0, W1, b1, z1, a1, ...,
delta2, dW2, db2, C), the step's own parameter names for its arguments, and the operation and a number for
everything else. Also the namespace the generated source runs in (its functions, constants and objects)."""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..autodiff.tensor import Tensor
from .program import BACKWARD, Const, Var
from .tracer import Tracer

SCALAR = "[()]"  # a 0-d array read as a NumPy scalar of the same dtype (same results, far cheaper operations)
_ACTIVATIONS = {"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "arctan", "softmax", "exp", "sin"}


class Namer:
    """Hands out unique names (`claim`) and names the program's values, constants and objects."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer, self.program = tracer, tracer.program
        self.namespace: dict[str, Any] = {"np": np, "new_leaf": Tensor._leaf}
        self.taken = {"np", "del", "return", "new_leaf"}
        self.objects: dict[int, str] = {}
        self.tensors: dict[int, Const] = {}
        for s in self.program.statements:
            if not s.label.startswith((".", "np.")) and s.label != "add":
                self.namespace.setdefault(s.label, s.function)
                self.taken.add(s.label)

    def claim(self, base: str) -> str:
        """`base`, or base_2, base_3, ... : a name no other value, function or object of the program has."""
        base = re.sub(r"\W", "_", base) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def name_all(self, parameters: list[str]) -> tuple[dict, list[str]]:
        """Name everything; return the namespace of the source and the replay's parameter names."""
        tracer = self.tracer
        parameter_names, inputs = self._arguments(parameters)
        self._notation()
        for t, var in tracer.captured:
            if not var.name:
                var.name = self.claim("param" if t.requires_grad else "data")
        for var in tracer.roots:
            if isinstance(var, Var) and not var.name and var.shape == ():
                var.name = self.claim("C")
        self._values()
        self._constants()
        inputs += self._captured_inputs()
        for v in self.program.outputs:
            if not v.name:
                v.name = self.claim("out")
        self.program.inputs = inputs
        for label in tracer.argument_names.values():
            label.text = label.text or "None"
        return self.namespace, parameter_names

    def _captured_inputs(self) -> list[tuple[Var, str]]:
        """The lines that read each tensor from before the step (a 0-d one that is never written, as a scalar)."""
        inputs = []
        for t, var in self.tracer.captured:
            const = self._tensor_const(t)
            scalar = type(t.value) is np.ndarray and t.value.ndim == 0 and not t.requires_grad
            inputs.append((var, f"{const.name}.value{SCALAR if scalar else ''}"))
            self.namespace[const.name] = t
        return inputs

    def _arguments(self, parameters: list[str]) -> tuple[list[str], list[tuple[Var, str]]]:
        """The replay's parameters (x_tensor for a Tensor argument, x_array for a 0-d array) and the lines that
        read their values."""
        tracer = self.tracer
        argument_vars = {index: var for var, index in tracer.arguments}
        names, inputs = [], []
        for index, name in enumerate(parameters):
            var = argument_vars.get(index)
            is_tensor = index in tracer.tensor_arguments
            one_value = var is not None and not is_tensor and var.shape == ()
            parameter = self.claim(f"{name}_tensor" if is_tensor else f"{name}_array" if one_value else name)
            names.append(parameter)
            if index in tracer.argument_names:
                tracer.argument_names[index].text = parameter
            if var is None:
                continue
            var.name = self.claim(name) if is_tensor or one_value else parameter
            if is_tensor:
                inputs.append((var, f"{parameter}.value"))
            elif one_value:  # a NumPy scalar: its arithmetic is many times cheaper than a 0-d array's
                inputs.append((var, f"{parameter}{SCALAR}"))
        return names, inputs

    def _notation(self) -> None:
        """W1, b1, z1, a1, ...: the layers of the network, found as the linear operations on parameters."""
        layer = 0
        by_z: dict[int, int] = {}
        captured = {id(var) for _, var in self.tracer.captured}
        for s in self.program.statements:
            if s.section == BACKWARD:
                break
            if s.label == "linear" and len(s.args) >= 2 and id(s.args[1]) in captured:
                layer += 1
                self._name_layer(s, layer)
                by_z[id(s.outs[0])] = layer
            elif s.label in _ACTIVATIONS and s.args and id(s.args[0]) in by_z:
                s.outs[0].name = self.claim(f"a{by_z[id(s.args[0])]}")

    def _name_layer(self, s: Any, layer: int) -> None:
        x, W = s.args[0], s.args[1]
        if not W.name:
            W.name = self.claim(f"W{layer}")
        if len(s.args) > 2 and isinstance(s.args[2], Var) and not s.args[2].name:
            s.args[2].name = self.claim(f"b{layer}")
        if layer == 1 and isinstance(x, Var) and not x.name:
            x.name = self.claim("a0")
        s.outs[0].name = self.claim(f"z{layer}")

    def _values(self) -> None:
        """∂C/∂x as delta{l}, dW{l}, ... (from the tracer's notes), anything else as operation + number."""
        counters: dict[str, int] = {}
        by_id = {id(v): v for v in self._all_vars()}
        for s in self.program.statements:
            for var in s.outs:
                if var.name:
                    continue
                key = self.tracer.notation.get(id(var))
                if key is not None:
                    var.name = self.claim(_share_name(by_id.get(int(key.split(":", 1)[1]))))
                    continue
                counters[var.hint] = counters.get(var.hint, 0) + 1
                var.name = self.claim(f"{var.hint}{counters[var.hint]}")

    def _constants(self) -> None:
        for s in self.program.statements:
            for a in [*s.args, *s.kwargs.values()]:
                for c in (a if isinstance(a, tuple) else (a,)):
                    for const in (c, getattr(c, "owner", None)):
                        if isinstance(const, Const) and not const.name:
                            const.name = self._object_name(const)
                            self.namespace[const.name] = const.value

    def _all_vars(self) -> list[Var]:
        seen: dict[int, Var] = {}
        for s in self.program.statements:
            for v in [*s.outs, *s.reads()]:
                seen[id(v)] = v
        for _, v in self.tracer.captured:
            seen[id(v)] = v
        return list(seen.values())

    def _object_name(self, c: Const) -> str:
        entry = self.tracer.objects.get(id(c.value))
        if entry is None:
            return self.claim(c.hint)
        obj, kind = entry
        if kind == "tensor":
            return self._tensor_const(obj).name
        if id(obj) not in self.objects:
            self.objects[id(obj)] = self.claim(kind)
        return self.objects[id(obj)]

    def _tensor_const(self, t: Tensor) -> Const:
        """The name by which the source reaches tensor t itself: W1_param, a0_tensor, ..."""
        if id(t) not in self.tensors:
            var = self.tracer.vars.get(id(t))
            base = var.name if var is not None and var.name else "tensor"
            const = Const(t)
            const.name = self.claim(f"{base}_param" if t.requires_grad else f"{base}_tensor")
            self.tensors[id(t)] = const
        return self.tensors[id(t)]


def _share_name(target: Var | None) -> str:
    """dW1, db1, delta1, da1 or d_<name>: the name of ∂C/∂target."""
    name = target.name if target is not None and target.name else "x"
    match = re.fullmatch(r"([a-zA-Z]+)(\d+)", name)
    if match and match.group(1) == "z":
        return f"delta{match.group(2)}"
    if match and match.group(1) in ("W", "b", "a"):
        return f"d{name}"
    return f"d_{name}"
