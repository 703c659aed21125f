"""Forward mode: tangents carried alongside values in one sweep, building no reverse graph.

Each primitive's jvp rules turn its inputs' tangents ẋ into the output's tangent ẏ as the forward pass
runs (Primitive.__call__ does the per-operation step); this module starts and ends such a sweep.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .rules import identity
from .tensor import Tensor, mode


def _float_array(x: Any) -> np.ndarray:
    array = np.asarray(x.data if isinstance(x, Tensor) else x)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return array


def forward_sweep(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """(f(x), J_f(x) ẋ): evaluate f once with each input carrying its tangent."""
    if mode.forward_depth:
        raise NotImplementedError("jvp: forward mode inside forward mode is not supported; "
                                  "for second derivatives use hessian() or hvp() (reverse over reverse)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    inputs = []
    for i, (x, dx) in enumerate(zip(primals, tangents)):
        if isinstance(x, Tensor) and x.requires_grad:
            t = identity(x)  # a node of its own carries the tangent, and keeps x's reverse graph
        else:
            t = Tensor._leaf(_float_array(x))
        tangent = np.asarray(dx.data if isinstance(dx, Tensor) else dx, dtype=t.dtype)
        if tangent.shape != t.shape:
            raise ValueError(f"jvp: tangent {i} has shape {tangent.shape} but its primal has shape {t.shape}")
        t.tangent = tangent
        inputs.append(t)
    mode.forward_depth += 1
    try:
        out = f(*inputs)
    finally:
        mode.forward_depth -= 1
    if not isinstance(out, Tensor):
        value = np.asarray(out)
        return value, np.zeros_like(value)
    tangent = out.tangent if out.tangent is not None else np.zeros_like(out.data)
    return out, tangent
