"""The fuzz suite's random programs, compiled: chainrule.compile(chainrule.grad(f)) equals the eager gradient at
the traced point and at new points (a replay that kept a traced value as a constant would differ there)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "project" / "fuzz"))

from fuzz_programs import generate

import chainrule as cr
from chainrule.compiler import TraceError

PROGRAMS = 150


def _eager(fn, xs):
    try:
        with np.errstate(all="ignore"):
            return fn(*xs)
    except (ValueError, FloatingPointError, ZeroDivisionError):
        return None


def test_compiled_gradients_of_random_programs_equal_eager_ones():
    compared = refused = 0
    for seed in range(PROGRAMS):
        program = generate(seed)
        f = program.function(cr, dict(program.constants))
        grad = cr.grad(f, argnums=tuple(range(len(program.inputs))))
        compiled = cr.compile(grad)
        rng = np.random.default_rng(seed)
        for point in range(3):
            xs = [np.asarray(rng.uniform(-1.5, 1.5, s), dtype=program.dtype) for s in program.inputs]
            want = _eager(grad, xs)
            if want is None:
                continue
            try:
                with np.errstate(all="ignore"):
                    got = compiled(*xs)
            except TraceError:
                refused += 1
                break
            tolerance = 1e-12 if program.dtype == "float64" else 1e-5
            for a, b in zip(got, want):
                assert a.dtype == b.dtype and a.shape == b.shape, f"program {seed}"
                np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance, equal_nan=True,
                                           err_msg=f"program {seed}, point {point}:\n{program.source()}")
            compared += 1
    assert compared >= 2 * PROGRAMS and refused <= PROGRAMS // 20
