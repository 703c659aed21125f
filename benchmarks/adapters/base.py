"""What a library adapter provides: a loader and one factory per workload, each optional.

A factory takes a workload spec and returns a zero-argument callable doing one unit of work, synchronised,
starting from the spec's weights exactly; the callable returns what the cross-check compares.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Unavailable(Exception):
    """The library is not installed or cannot run here; its columns are left out."""


class Adapter:
    """One library under test. Factories not overridden raise NotImplementedError (shown as n/a).

    chain(spec)        -> fn() -> (ds/dx, ds/dw)                   workload B
    moons_step(spec)   -> fn() -> loss before the update            workload C
    mlp_step(spec)     -> fn() -> loss before the update            workload D
    mlp_phases(spec)   -> fn() -> (t_forward, t_backward, t_update) workload D, seconds
    example_grad(spec) -> fn() -> [dC/dW[1], dC/db[1], ...] as (out, in) / (out,) arrays   workload E
    """

    name = "?"
    #: True when the library's arrays are NumPy's, so tracemalloc sees its buffers (peak memory column).
    numpy_based = False
    #: Seconds one warm-up call may take (compilers need more).
    warm_limit_s = 120.0
    #: Longest chain for workload B (None: any); for a compiler whose compile time grows faster than the chain.
    chain_max_ops: int | None = None

    def load(self) -> None:
        """Import the library; raise Unavailable(reason) when it cannot be used."""
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return {}

    def set_threads(self, n: int) -> None:
        """Called once after load; the thread environment variables are already set."""

    def chain(self, spec: Any) -> Callable[[], Any]:
        raise NotImplementedError

    def moons_step(self, spec: Any) -> Callable[[], float]:
        raise NotImplementedError

    def mlp_step(self, spec: Any) -> Callable[[], float]:
        raise NotImplementedError

    def mlp_phases(self, spec: Any) -> Callable[[], tuple[float, float, float]]:
        raise NotImplementedError

    def example_grad(self, spec: Any) -> Callable[[], list]:
        raise NotImplementedError

    def dtype_report(self, spec: Any) -> dict[str, str]:
        """Dtypes of loss, activations, gradients and parameters after one step of workload D."""
        raise NotImplementedError
