"""Layers: `Linear` (z = W a + b), `Sequential`, and `MLP`, a multi-layer perceptron of any depth.

Weights have shape (out, in), so `layer.weight[j, k]` is w^l_{jk}: from neuron k of layer l−1 to neuron j
of layer l. Layers are numbered l = 1..L and layer l is `mlp.layers[l - 1]`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autodiff import Tensor, linear, tensor
from .activations import ACTIVATIONS, Activation, get_activation
from .init import as_generator, get_initialiser
from .module import Module


def _check_count(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


class Linear(Module):
    """z = a Wᵀ + b for a batch a of shape (batch, in); W has shape (out, in), b shape (out,)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "xavier",
        dtype: Any = np.float64,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _check_count("Linear", "in_features", in_features)
        self.out_features = _check_count("Linear", "out_features", out_features)
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise ValueError(f"Linear: dtype must be a floating type, got {self.dtype}")
        self.init = init
        generator = as_generator(rng)
        W = get_initialiser(init)((self.out_features, self.in_features), generator)
        self.weight = tensor(W.astype(self.dtype), requires_grad=True)
        self.bias = tensor(np.zeros(self.out_features, dtype=self.dtype), requires_grad=True) if bias else None

    def forward(self, x: Any) -> Any:
        if not isinstance(x, Tensor):
            x = np.asarray(x, dtype=self.dtype)
        shape = x.shape
        if len(shape) not in (1, 2) or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {tuple(shape)} should be "
                f"(batch, {self.in_features}) or ({self.in_features},)"
            )
        return linear(x, self.weight, self.bias)

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init,
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied one after the other: f_n(... f_2(f_1(x)))."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: item {index} is a {type(module).__name__}, not a Module")
        self.steps = list(modules)

    def forward(self, x: Any) -> Any:
        for module in self.steps:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> Module:
        return self.steps[index]

    def __iter__(self):
        return iter(self.steps)


# Each activation module by its class name (as chainrule.io stores it).
ACTIVATION_MODULES: dict[str, type[Module]] = {cls.__name__: cls for cls in Activation.__subclasses__()}


def _default_init(activation: str) -> str:
    """He initialisation for the ReLU family, Xavier for the rest."""
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


class MLP(Module):
    """A multi-layer perceptron: a^0 = x, z^l = W^l a^(l−1) + b^l, a^l = σ(z^l) for l = 1..L."""

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        output_activation: str | None = None,
        init: str | None = None,
        bias: bool = True,
        dtype: Any = np.float64,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"MLP: sizes must list at least two layer widths, e.g. [2, 2, 1], got {sizes!r}")
        self.sizes = [_check_count("MLP", "every size", n) for n in sizes]
        get_activation(activation)
        if output_activation is not None:
            get_activation(output_activation)
        self.activation = activation
        self.output_activation = None if output_activation == "identity" else output_activation
        self.init = init or _default_init(activation)
        generator = as_generator(rng)
        self.layers = [
            Linear(n_in, n_out, bias=bias, init=self.init, dtype=dtype, rng=generator)
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])
        ]
        self.dtype = np.dtype(dtype)

    @property
    def L(self) -> int:
        """The number of weight layers."""
        return len(self.layers)

    def activation_name(self, l: int) -> str:
        """The name of σ applied after layer l (1..L): the hidden activation, or the output one for l = L."""
        if not 1 <= l <= self.L:
            raise ValueError(f"MLP: layer index l must be in 1..{self.L}, got {l}")
        if l == self.L:
            return self.output_activation or "identity"
        return self.activation

    def forward(self, x: Any) -> Any:
        a = x
        for l, layer in enumerate(self.layers, start=1):
            a = ACTIVATIONS[self.activation_name(l)](layer(a))
        return a

    def config(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "activation": self.activation,
            "output_activation": self.output_activation,
            "init": self.init,
            "bias": self.layers[0].bias is not None,
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        return (
            f"sizes={self.sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r}"
        )
