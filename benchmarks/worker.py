"""One measuring process for one thread count: `python -m benchmarks.worker --threads 2 --out r.json`.

Thread counts can only be fixed before a BLAS loads, so run.py starts one of these per thread count; it pins
itself, imports the libraries, runs the sections and writes everything it measured as JSON.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

from .threads import blas_summary, pin_and_limit

if TYPE_CHECKING:
    from .sections import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--sections", default="BCDE")
    parser.add_argument("--preset", choices=("full", "quick", "tiny"), default="full")
    parser.add_argument("--libs", default="", help="comma-separated library names (default: all)")
    parser.add_argument("--out", required=True, help="where to write the JSON results")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")

    setup = pin_and_limit(args.threads)          # before NumPy is imported anywhere
    from .sections import FULL, QUICK, TINY

    settings = {"full": FULL, "quick": QUICK, "tiny": TINY}[args.preset]
    if args.threads > 1:                          # let the last library's spinning BLAS threads go idle
        settings = replace(settings, plan=replace(settings.plan, quiesce_s=0.1))
    record = collect(args.threads, args.sections, settings, [n for n in args.libs.split(",") if n] or None,
                     setup=setup, log=lambda msg: print(f"[t={args.threads}] {msg}", flush=True), freeze_gc=True)
    record["preset"] = args.preset
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1, default=_plain)
    print(f"[t={args.threads}] done in {record['wall_s']:.0f} s", flush=True)
    return 0 if record["error"] is None else 1


def collect(threads: int, sections: str, settings: Settings, libs: list[str] | None = None,
            setup: dict | None = None, log: Callable[[str], None] = print, freeze_gc: bool = False) -> dict:
    """Load the libraries, run the sections and return one JSON-able record of everything measured.

    freeze_gc: move everything allocated so far out of the collector's sight (only in a worker process)."""
    from .adapters import load_adapters  # imported here: NumPy must load after pin_and_limit
    from .sections import run_sections

    started = time.time()
    adapters, missing = load_adapters(libs, threads, log)
    if freeze_gc:
        # the imported libraries hold ~10^5 objects: frozen, a gc.collect() before each timed block costs
        # microseconds instead of a large fraction of a second
        gc.collect()
        gc.freeze()
    log(f"libraries: {[a.name for a in adapters]}")
    probe_start, load_start = gemm_probe(), os.getloadavg()[0]
    versions = {"python": platform.python_version()}
    for adapter in adapters:
        versions.update(adapter.versions())
    record = {"threads": threads, "setup": setup or {"threads": threads, "note": "in-process, not pinned"},
              "versions": versions, "missing": missing,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "sections": {}, "error": None, "plan": asdict(settings.plan)}
    try:
        record["sections"] = run_sections(adapters, sections, settings, log)
    except Exception as e:
        record["error"] = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    record["gemm_probe_gflops"] = {"start": probe_start, "end": gemm_probe()}
    record["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    record["blas"] = blas_summary()
    record["wall_s"] = time.time() - started
    return record


def gemm_probe(shape: tuple[int, int, int] = (128, 784, 256), calls: int = 50) -> float:
    """GFLOP/s of NumPy's float32 GEMM (M, K, N) = D-ii's first layer, median of `calls`: a health check.

    With more threads than idle cores, BLAS threads wait for each other and this collapses."""
    import numpy as np

    M, K, N = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((M, K), np.float32), rng.standard_normal((K, N), np.float32)
    out = np.empty((M, N), np.float32)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return 2.0 * M * K * N / sorted(times)[calls // 2] / 1e9


def _plain(value: object) -> object:
    """JSON fallback for NumPy scalars and anything else: a number where possible, else its text."""
    try:
        return value.item()  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return str(value)


if __name__ == "__main__":
    sys.exit(main())
