"""Forward mode: tangents carried alongside values in one sweep.

A sweep (a level) is a dict {Tensor: tangent} that lives while f runs; each primitive's jvp rules fill it
in as the forward pass goes (tensor._push_tangents does the per-operation step). Sweeps nest: a tangent is
itself a Tensor that the sweeps around it differentiate, so forward over forward and reverse over forward
work. This module starts and ends a sweep and reads tangents back.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .rules import astype_p, identity_p
from .tensor import Tensor, mode


def _float_array(x: Any) -> np.ndarray:
    array = np.asarray(x.data if isinstance(x, Tensor) else x)
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return array


def has_tangent(x: Any) -> bool:
    """x carries a tangent in some forward sweep under way."""
    return isinstance(x, Tensor) and any(x in level for level in mode.levels)


def _input(x: Any, dx: Any, i: int) -> tuple[Tensor, Any]:
    """The Tensor f receives for primal x, and its tangent (a Tensor when dx is one: outer sweeps see it)."""
    if isinstance(x, Tensor) and (x.requires_grad or has_tangent(x)):
        t = identity_p(x)  # a node of its own carries the tangent, and keeps x's graph and outer tangents
    else:
        t = Tensor._leaf(_float_array(x))
    if isinstance(dx, Tensor):
        tangent = dx if dx.dtype == t.dtype else astype_p(dx, t.dtype)
    else:
        tangent = np.asarray(dx, dtype=t.dtype)
    if np.shape(tangent.data if isinstance(tangent, Tensor) else tangent) != t.shape:
        raise ValueError(f"jvp: tangent {i} has shape {np.shape(tangent)} but its primal has shape {t.shape}")
    return t, tangent


def forward_sweep(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """(f(x), J_f(x) ẋ): evaluate f once with each input carrying its tangent."""
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    level: dict[Tensor, Any] = {}
    inputs = []
    for i, (x, dx) in enumerate(zip(primals, tangents)):
        t, level[t] = _input(x, dx, i)
        inputs.append(t)
    outer = mode.levels
    mode.levels = (*outer, level)
    try:
        out = f(*inputs)
    finally:
        mode.levels = outer
    if not isinstance(out, Tensor):
        value = np.asarray(out)
        return value, np.zeros_like(value)
    tangent = level.get(out)
    return out, tangent if tangent is not None else np.zeros_like(out.data)
