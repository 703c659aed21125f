"""The few functions that generated code calls besides NumPy and the rule table: each one is the array-level
half of something the eager engine does (fit a share to its input, hand a leaf its gradient), so a replay does exactly what the eager call did."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autodiff.backward import _deliver, reduce_to_shape
from ..autodiff.tensor import Tensor


def cast(x: Any, dtype: Any) -> Any:
    """x in dtype (the engine's PyTorch-style promotion of an operand)."""
    return x.astype(dtype)


def fit(share: Any, shape: tuple, dtype: Any) -> Any:
    """A vjp's result in its input's shape (broadcasting summed away) and dtype, as the eager sweep fits it."""
    if np.shape(share) != shape:
        share = reduce_to_shape(np.asarray(share), shape)
    if np.result_type(share) != dtype:
        share = share.astype(dtype)
    return share


def as_seed(gradient: Any, dtype: Any) -> np.ndarray:
    """∂C/∂output given by the caller, as a fresh array of the output's dtype (backward(gradient=...))."""
    return np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=dtype)


def new_leaf(g: np.ndarray) -> Tensor:
    """A new leaf Tensor holding g: a gradient handed to a tensor whose .grad was None."""
    return Tensor._leaf(g)


def deliver(leaf: Tensor, g: Any, copy: bool) -> None:
    """leaf.grad += g, by the engine's own delivery (a new leaf, or added into the existing gradient)."""
    if copy:
        g = np.array(g)
    _deliver(leaf, g, False)


def stacked(shape: tuple, *pieces: Any) -> np.ndarray:
    """The pieces stacked along a new first axis and reshaped (a Jacobian from its rows)."""
    return np.stack(pieces).reshape(shape) if pieces else np.zeros(shape)
