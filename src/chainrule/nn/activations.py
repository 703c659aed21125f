"""Activation functions σ: the registry `ACTIVATIONS` (one entry per σ) and the same σ as modules (`Sigmoid()`).

Each entry holds the engine function that maps z to a = σ(z) (so back-propagation gets σ′ from the engine's
rules), the formula of σ and of σ′ for display (LaTeX subset of `explain.render.math`), and σ′ written out in
NumPy for the explainers to check against the engine. Train, cli, web, explain and naive all read this table.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autodiff import arctan, grad, leaky_relu, relu, sigmoid, softplus, tanh
from .module import Module


def identity(z: Any) -> Any:
    """σ(z) = z (a linear output layer)."""
    return z


def _logistic(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^(−z)) without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


@dataclass(frozen=True)
class ActivationSpec:
    """σ by name: the engine function, its formula and σ′'s for display, and σ′ in NumPy (the textbook's)."""
    name: str
    function: Callable[..., Any]
    formula: str
    derivative_formula: str
    textbook_derivative: Callable[[np.ndarray], np.ndarray]

    def __call__(self, z: Any, *args: Any) -> Any:
        """a = σ(z) by the engine."""
        return self.function(z, *args)


ACTIVATIONS: dict[str, ActivationSpec] = {spec.name: spec for spec in (
    ActivationSpec("sigmoid", sigmoid, r"\sigma(z) = \frac{1}{1+e^{-z}}", r"\sigma'(z) = \sigma(z)\,(1-\sigma(z))",
                   lambda z: _logistic(z) * (1 - _logistic(z))),
    ActivationSpec("tanh", tanh, r"\sigma(z) = \tanh z", r"\sigma'(z) = 1-\tanh^{2} z", lambda z: 1 - np.tanh(z) ** 2),
    ActivationSpec("relu", relu, r"\sigma(z) = \max(0, z)", r"\sigma'(z) = 1 \text{ if } z>0 \text{, else } 0",
                   lambda z: (np.asarray(z) > 0).astype(float)),
    ActivationSpec("leaky_relu", leaky_relu, r"\sigma(z) = z \text{ if } z>0 \text{, else } 0.01\,z",
                   r"\sigma'(z) = 1 \text{ if } z>0 \text{, else } 0.01", lambda z: np.where(np.asarray(z) > 0, 1.0, 0.01)),
    ActivationSpec("softplus", softplus, r"\sigma(z) = \ln(1+e^{z})", r"\sigma'(z) = \frac{1}{1+e^{-z}}", _logistic),
    ActivationSpec("arctan", arctan, r"\sigma(z) = \text{arctan}\, z", r"\sigma'(z) = \frac{1}{1+z^{2}}",
                   lambda z: 1.0 / (1.0 + np.square(np.asarray(z, dtype=np.float64)))),
    ActivationSpec("identity", identity, r"\sigma(z) = z", r"\sigma'(z) = 1", lambda z: np.ones_like(z, dtype=float)),
)}


def get_activation(name: str) -> ActivationSpec:
    """The activation called `name` (see ACTIVATIONS)."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


def derivative_by_engine(name: str, z: Any) -> np.ndarray:
    """σ′(z) elementwise, by the engine's reverse mode: the gradient of Σ σ(z) with respect to z."""
    function = get_activation(name).function
    return np.asarray(grad(lambda v: function(v).sum())(np.asarray(z, dtype=np.float64)), dtype=np.float64)


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


class Arctan(Activation):
    name = "arctan"


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
