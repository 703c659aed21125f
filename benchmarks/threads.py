"""Thread counts, fixed before NumPy (or any BLAS) is imported: environment variables, CPU pinning, threadpoolctl.

`thread_env` is what run.py gives each worker process; `pin_and_limit` is what the worker does on start.
"""
from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


def thread_env(threads: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment with every BLAS/OpenMP pool set to `threads` (and XLA's to one when 1)."""
    if threads < 1:
        raise ValueError(f"thread count must be at least 1, got {threads}")
    env = dict(os.environ if base is None else base)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    flags = env.get("XLA_FLAGS", "")
    if threads == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pin_and_limit(threads: int) -> dict:
    """Pin this process to `threads` CPUs (XLA ignores its thread flag; pinning holds it) and set the
    environment, then, once NumPy is imported, cap its BLAS pool with threadpoolctl. Returns what was set."""
    before = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if before and threads < len(before):
        os.sched_setaffinity(0, set(before[:threads]))
    os.environ.update(thread_env(threads))
    import numpy  # noqa: F401 -- imported only after the variables above are set
    report: dict = {"threads": threads,
                    "affinity": sorted(os.sched_getaffinity(0)) if before else None,
                    "env": {k: os.environ.get(k) for k in THREAD_VARIABLES + ("XLA_FLAGS",)}}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        report["threadpools"] = "threadpoolctl not installed"
        return report
    threadpool_limits(limits=threads)      # stays in force: the limiter is never restored in a worker
    report["threadpools"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                             for p in threadpool_info()]
    return report


def blas_summary() -> list[dict]:
    """The BLAS/OpenMP pools loaded now (after every library was imported), with their thread counts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture", "filepath")}
            for p in threadpool_info()]
