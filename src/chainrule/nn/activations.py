"""Activation functions σ, as plain functions (`ACTIVATIONS[name](z)`) and as modules (`Sigmoid()`, ...).

Each maps a Tensor z to a = σ(z) elementwise through the engine, so back-propagation gets σ' for free.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr

from .module import Module


def sigmoid(z: Any) -> Any:
    """σ(z) = 1 / (1 + e^(−z))."""
    return cr.sigmoid(z)


def tanh(z: Any) -> Any:
    """σ(z) = tanh z."""
    return cr.tanh(z)


def relu(z: Any) -> Any:
    """σ(z) = max(0, z)."""
    return cr.relu(z)


def leaky_relu(z: Any, slope: float = 0.01) -> Any:
    """σ(z) = z for z > 0, slope·z otherwise."""
    return cr.leaky_relu(z, slope)


def softplus(z: Any) -> Any:
    """σ(z) = log(1 + e^z)."""
    return cr.softplus(z)


def identity(z: Any) -> Any:
    """σ(z) = z (a linear output layer)."""
    return z


ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "softplus": softplus,
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
        return leaky_relu(z, self.slope)

    def config(self) -> dict[str, Any]:
        return {"slope": self.slope}

    def extra_repr(self) -> str:
        return f"slope={self.slope}"
