"""Where a compiled step's time goes: per generated statement (CompiledFunction.profile), beside the floor that
no NumPy step can beat, the matrix products alone.

    python -m benchmarks.compiled_profile [--workloads C,D-i,D-ii] [--top 8]

Prints Markdown: for each workload the compiled step's time, the hand-written NumPy step's, the time of its
GEMMs alone (the same shapes, back to back), and the statements that take the most time. `make bench` appends
it to RESULTS.md. One thread (set before NumPy loads), minimum over rounds, as the other sections.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import timeit
from collections.abc import Callable

import numpy as np

from . import workloads
from .adapters.chainrule_compiled import ChainruleCompiled
from .reference import NumpyReference


def _best(fn: Callable[[], object], number: int, rounds: int = 15) -> float:
    fn()
    return min(timeit.repeat(fn, number=number, repeat=rounds)) / number


def _gemm_floor(sizes: tuple[int, ...], batch: int, dtype: type = np.float32) -> Callable[[], None]:
    """The forward products a W^T, the backward δ W and δ^T a of an MLP step, on arrays of its shapes."""
    rng = np.random.default_rng(0)
    Ws = [rng.normal(size=(n_out, n_in)).astype(dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    acts = [rng.normal(size=(batch, n)).astype(dtype) for n in sizes]

    def gemms() -> None:
        for l, W in enumerate(Ws):
            acts[l] @ W.T
        for l in range(len(Ws) - 1, -1, -1):
            delta = acts[l + 1]
            delta.T @ acts[l]
            if l > 0:
                delta @ Ws[l]
    return gemms


def profile(name: str, top: int) -> list[str]:
    compiled, reference = ChainruleCompiled(), NumpyReference()
    compiled.load()
    reference.load()
    cr = compiled.cr
    if name == "C":
        spec = workloads.make_moons()
        step = cr.compile(compiled._moons_step_function(spec))
        hand = reference.moons_step(spec)
        sizes, batch = tuple(spec.W[0].shape[::-1]) + tuple(W.shape[0] for W in spec.W[1:]), spec.X.shape[0]
        number = 200
    else:
        spec = workloads.make_mlp(name)
        step = compiled.compiled_mlp_step(spec)
        hand = reference.mlp_step(spec)
        sizes, batch = spec.sizes, spec.batch
        number = 50 if name != "D-iii" else 3
    step()
    t_compiled, t_hand = _best(step, number), _best(hand, number)
    t_gemm = _best(_gemm_floor(tuple(sizes), batch), number)
    rows = step.profile(repeat=number)
    lines = [f"### {name}: compiled {t_compiled * 1e6:.1f} µs, hand-written NumPy {t_hand * 1e6:.1f} µs "
             f"({t_compiled / t_hand:.2f}×), the GEMMs alone {t_gemm * 1e6:.1f} µs ({t_gemm / t_hand:.2f}× the hand-"
             f"written step); {len(rows)} statements",
             "",
             "| µs per call (timed one by one) | statement |",
             "|---:|---|"]
    for seconds, line in rows[:top]:
        code = line.split("  #")[0].replace("|", "\\|")
        lines.append(f"| {seconds * 1e6:.2f} | `{code}` |")
    rest = sum(seconds for seconds, _ in rows[top:])
    lines.append(f"| {rest * 1e6:.2f} | the other {max(len(rows) - top, 0)} statements |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="C,D-i,D-ii")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args(argv)
    out = ["## Where the compiled step's time goes", "",
           "Each statement timed on its own (`CompiledFunction.profile`, a clock around every line, so the column "
           "adds up to more than the step); the floor is the step's matrix products alone, on arrays of its "
           "shapes.", ""]
    for name in args.workloads.split(","):
        out += profile(name.strip(), args.top)
    print("\n".join(out))


if __name__ == "__main__":
    main()
