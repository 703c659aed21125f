"""Activation functions σ, as plain functions (`ACTIVATIONS[name](z)`) and as modules (`Sigmoid()`, ...).

Each maps a Tensor z to a = σ(z) elementwise through the engine, so back-propagation gets σ' for free.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr

from .module import Module


def identity(z: Any) -> Any:
    """σ(z) = z (a linear output layer)."""
    return z


# σ by name. The others are the engine's own primitives, called directly:
#   sigmoid σ(z) = 1 / (1 + e^(−z)),  tanh σ(z) = tanh z,  relu σ(z) = max(0, z),
#   leaky_relu σ(z) = z for z > 0, slope·z otherwise (slope 0.01 unless given),  softplus σ(z) = log(1 + e^z).
ACTIVATIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": cr.sigmoid,
    "tanh": cr.tanh,
    "relu": cr.relu,
    "leaky_relu": cr.leaky_relu,
    "softplus": cr.softplus,
    "identity": identity,
}


def get_activation(name: str) -> Callable[[Any], Any]:
    """The activation function called `name` (see ACTIVATIONS)."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


class Activation(Module):
    """An activation as a module without parameters."""

    name = "identity"

    def forward(self, z: Any) -> Any:
        return ACTIVATIONS[self.name](z)

    def config(self) -> dict[str, Any]:
        return {}


class Sigmoid(Activation):
    name = "sigmoid"


class Tanh(Activation):
    name = "tanh"


class ReLU(Activation):
    name = "relu"


class Softplus(Activation):
    name = "softplus"


class Identity(Activation):
    name = "identity"


class LeakyReLU(Activation):
    name = "leaky_relu"

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = float(slope)

    def forward(self, z: Any) -> Any:
        return cr.leaky_relu(z, self.slope)

    def config(self) -> dict[str, Any]:
        return {"slope": self.slope}

    def extra_repr(self) -> str:
        return f"slope={self.slope}"
