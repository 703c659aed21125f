"""`Module`, the base of every layer and network: it finds its parameters and sub-modules by attribute.

Shaped like `torch.nn.Module` (parameters, named_parameters, train/eval, state_dict), and deliberately small:
no hooks, no buffers, no devices.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..autodiff import Tensor, mark_modified


def _is_parameter(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def _is_module_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, Module) for v in value)


class Module:
    """A differentiable function with parameters: subclasses set Tensors and Modules as attributes
    and define `forward`."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        parameters = self.__dict__.get("_parameters")
        if parameters is None:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before setting attributes")
        parameters.pop(name, None)
        self._modules.pop(name, None)
        if _is_parameter(value):
            parameters[name] = value
        elif isinstance(value, Module) or _is_module_list(value):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)

    # ------------------------------------------------------------------ traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module; a list attribute `layers` gives `layers.0`, `layers.1`, ..."""
        for name, value in self._modules.items():
            if isinstance(value, Module):
                yield name, value
            else:
                for index, module in enumerate(value):
                    yield f"{name}.{index}", module

    def children(self) -> Iterator[Module]:
        """Each direct sub-module (as named_children, without the names)."""
        for _, module in self.named_children():
            yield module

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every parameter, each Tensor once, in the order they were set."""
        seen: set[int] = set()
        for name, tensor in self._named_parameters_with_repeats(prefix):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor

    def _named_parameters_with_repeats(self, prefix: str) -> Iterator[tuple[str, Tensor]]:
        for name, tensor in self._parameters.items():
            yield prefix + name, tensor
        for name, child in self.named_children():
            yield from child._named_parameters_with_repeats(f"{prefix}{name}.")

    def parameters(self) -> list[Tensor]:
        """Every parameter Tensor (requires_grad=True), each once."""
        return [tensor for _, tensor in self.named_parameters()]

    def num_parameters(self) -> int:
        """The number of scalar parameters."""
        return int(sum(p.size for p in self.parameters()))

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all below it (kept for PyTorch habits; no layer here differs)."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode (train(False)); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (p.grad = None)."""
        for p in self.parameters():
            p.grad = None

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, keyed by dotted name."""
        return {name: np.array(tensor.data, copy=True) for name, tensor in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy values into the parameters in place; names and shapes must match."""
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        if strict and (missing or unexpected):
            details = []
            if missing:
                details.append(f"missing {', '.join(missing)}")
            if unexpected:
                details.append(f"unexpected {', '.join(unexpected)}")
            raise ValueError(f"{type(self).__name__}.load_state_dict: parameters do not match: {'; '.join(details)}")
        checked = {name: self._checked_value(name, tensor, state[name]) for name, tensor in own.items()
                   if name in state}  # every value checked before any is written: all or nothing
        for name, value in checked.items():
            np.copyto(own[name].data, value, casting="unsafe")
            mark_modified(own[name])  # written in place: graphs that saved the old values must not run

    def _checked_value(self, name: str, tensor: Any, value: Any) -> np.ndarray:
        """`value` as an array that fits parameter `name`: same shape, numeric, and not complex for a real one."""
        value = np.asarray(value)
        where = f"{type(self).__name__}.load_state_dict: {name}"
        if value.shape != tensor.shape:
            raise ValueError(f"{where} has shape {value.shape}, the model expects {tuple(tensor.shape)}")
        if not np.issubdtype(value.dtype, np.number):
            raise ValueError(f"{where} is not numeric ({value.dtype})")
        if np.iscomplexobj(value) and not np.iscomplexobj(tensor.data):
            raise ValueError(f"{where} holds complex numbers ({value.dtype}) but the parameter is real "
                             f"({tensor.dtype}); the imaginary parts would be lost")
        return value

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this module (used by chainrule.io.save)."""
        raise NotImplementedError(f"{type(self).__name__} cannot describe itself for saving")

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def _repr_html_(self) -> str:
        """Jupyter's view: one row per layer that holds parameters (name, layer, parameter shapes, count), a total."""
        import html

        rows = []
        for name, module in [("", self), *self._named_modules("")]:
            own = list(module._parameters.items())
            if own:
                shapes = ", ".join(f"{key} {tuple(tensor.shape)}" for key, tensor in own)
                layer = f"{type(module).__name__}({module.extra_repr()})"
                rows.append(f"<tr><td><code>{html.escape(name or '(self)')}</code></td><td>{html.escape(layer)}</td>"
                            f"<td>{html.escape(shapes)}</td>"
                            f"<td style='text-align:right'>{sum(t.size for _, t in own):,}</td></tr>")
        title = html.escape(f"{type(self).__name__}({self.extra_repr()})")
        return (f"<table class='chainrule-module'><caption>{title}</caption><thead><tr><th>name</th><th>layer</th>"
                f"<th>parameters</th><th>values</th></tr></thead><tbody>{''.join(rows)}</tbody><tfoot><tr>"
                f"<th colspan='3' style='text-align:left'>total</th><th style='text-align:right'>"
                f"{self.num_parameters():,}</th></tr></tfoot></table>")

    def _named_modules(self, prefix: str) -> Iterator[tuple[str, Module]]:
        for name, child in self.named_children():
            yield f"{prefix}{name}", child
            yield from child._named_modules(f"{prefix}{name}.")

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
