"""Trust, but verify: gradient checking against finite differences, and NaN/inf detection.

gradcheck compares reverse mode with central differences in float64; detect_anomaly makes the first
operation that produces NaN or inf (forward or backward) raise, naming the operation and where it ran.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ..numeric import central_difference
from .functional import grad
from .tensor import Tensor, mode, no_grad


class GradcheckError(AssertionError):
    """Reverse mode and finite differences disagree: names the input, the element and both values."""


def _numeric_gradient(f: Callable, inputs: list[np.ndarray], i: int, eps: float) -> np.ndarray:
    """∂f/∂x_i by central differences (chainrule.numeric.central_difference), element by element."""
    x = inputs[i]
    result = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        result[index] = central_difference(partial(_value_moved, f, inputs, x, index, original), eps)
        x[index] = original
    return result


def _value_moved(f: Callable, inputs: list[np.ndarray], x: np.ndarray, index: tuple, original: float,
                 step: float) -> float:
    """f at the inputs with the element x[index] moved to original + step (x is one of the inputs)."""
    x[index] = original + step
    with no_grad():
        out = f(*[Tensor._leaf(v) for v in inputs])
    return float(np.asarray(out.data if isinstance(out, Tensor) else out))


def gradcheck(f: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """True if ∇f by reverse mode matches central differences for every element of every input (float64)."""
    if isinstance(inputs, (np.ndarray, Tensor, float, int)):
        inputs = (inputs,)
    arrays = [np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64) for x in inputs]
    analytic = grad(f, argnums=tuple(range(len(arrays))))(*[a.copy() for a in arrays])
    for i, reverse in enumerate(analytic):
        numeric = _numeric_gradient(f, arrays, i, eps)
        bad = np.abs(reverse - numeric) > atol + rtol * np.abs(numeric)
        if bad.any() or not np.all(np.isfinite(reverse)):
            index = tuple(int(k) for k in np.argwhere(bad | ~np.isfinite(reverse))[0])
            raise GradcheckError(
                f"gradcheck: input {i}, element {index}: reverse mode gives {reverse[index]!r}, "
                f"finite differences give {numeric[index]!r} (tolerance {atol} + {rtol}·|numeric|)")
    return True


class detect_anomaly:
    """Context manager: the first operation whose forward value or backward gradient holds NaN or inf
    raises FloatingPointError, naming the operation and the line that computed it."""

    def __enter__(self) -> detect_anomaly:
        self._previous = mode.anomaly
        mode.anomaly = True
        return self

    def __exit__(self, *exc: object) -> None:
        mode.anomaly = self._previous


__all__ = ["GradcheckError", "detect_anomaly", "gradcheck"]
