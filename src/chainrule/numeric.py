"""Central finite differences, written once: the derivative-free check that the explainers set beside the engine.

Plain arithmetic on a function of one step size; it knows nothing of Tensors or graphs.
"""
from __future__ import annotations

from collections.abc import Callable


def central_difference(f: Callable[[float], float], h: float) -> float:
    """f′(0) ≈ (f(h) − f(−h)) / 2h, by two evaluations of f (error O(h²) for smooth f).

    `f(s)` is the quantity at the point moved by s along one direction, e.g. C(θ + s·e_i)."""
    if not h > 0:
        raise ValueError(f"central_difference: the step h must be > 0, got {h}")
    return (f(h) - f(-h)) / (2 * h)
