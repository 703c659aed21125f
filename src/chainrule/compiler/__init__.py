"""chainrule.compile: trace a step once, write it out as straight-line NumPy source, and replay that.

    step = chainrule.compile(fn)      # or @chainrule.compile
    step(*args)                       # a new signature traces, generates and compiles; later calls replay
    print(step.source)                # the generated source: forward, backward and update, one line each

The generated code *is* back-propagation written out for one network: the forward pass storing z^l and a^l,
the backward pass computing each δ^l once from the rule table, and the optimiser's update, as NumPy calls.
tracer.py records a step, program.py simplifies it and writes its source, function.py caches and replays it.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .function import CompiledFunction
from .tracer import TraceError

__all__ = ["CompiledFunction", "TraceError", "compile"]


def compile(fn: Callable | None = None, *, max_signatures: int = 8) -> Any:
    """A compiled version of fn (a training step, or a transform such as chainrule.grad(f)); as a decorator,
    with or without arguments. `max_signatures` bounds the programs kept (least recently used first out).

    Its effects (gradients delivered to `.grad`, optimiser steps) are eager's; its results are values: every
    call, the first included, returns Tensors without a graph behind them, as jax.jit does. To differentiate
    a compiled computation, compile its gradient (`chainrule.compile(chainrule.grad(f))`)."""
    if fn is None:
        return lambda f: CompiledFunction(f, max_signatures)
    return CompiledFunction(fn, max_signatures)
