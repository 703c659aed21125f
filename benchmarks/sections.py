"""The measurements B, C, D and E, run in one process over the loaded adapters; each returns a JSON-able dict.

Every library is first run a few times on the same spec and its results are compared with the reference
(gradients for B and E, the first losses for C and D); then the libraries are timed in interleaved rounds.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .adapters.base import Adapter
from .reference import NumpyReference
from .timing import (
    RoundPlan,
    Timing,
    clock,
    interleave,
    interleave_phases,
    paired_ratio,
    peak_memory,
    time_limit,
)
from .workloads import (
    MLP_CASES,
    ChainSpec,
    MLPSpec,
    chain_exact_gradient,
    gemm_flops,
    make_chain,
    make_example,
    make_mlp,
    make_moons,
)

REFERENCE = "numpy"
TORCH = "torch"


@dataclass(frozen=True)
class Settings:
    """What to measure and for how long; `FULL`, `QUICK` and `TINY` below are the presets."""

    plan: RoundPlan = field(default_factory=RoundPlan)
    chain_ops: int = 1000
    moons_points: int = 100
    mlp_shapes: dict[str, tuple[tuple[int, ...], int]] = field(default_factory=lambda: dict(MLP_CASES))
    example_sizes: tuple[int, ...] = (64, 128, 128, 10)
    check_steps: int = 2
    phase_rounds: int = 5
    phase_steps: int = 8
    memory_steps: int = 3


FULL = Settings()
QUICK = Settings(plan=RoundPlan(rounds=4, block_s=0.05, warmup=1, budget_s=1.5, min_rounds=2),
                 chain_ops=250, phase_rounds=3, phase_steps=4)
TINY = Settings(plan=RoundPlan(rounds=2, block_s=0.002, warmup=1, budget_s=0.05, min_rounds=1),
                chain_ops=12, moons_points=20, check_steps=3,
                mlp_shapes={"D-i": ((6, 8, 8, 3), 5), "D-ii": ((7, 9, 4), 6), "D-iii": ((5, 6, 6, 6, 4), 3)},
                example_sizes=(6, 8, 8, 3), phase_rounds=1, phase_steps=2, memory_steps=2)


def relative_error(values: Any, reference: Any) -> float:
    """max |v - r| / max |r| over all entries of two equally shaped (lists of) arrays."""
    v = [np.asarray(a, np.float64).ravel() for a in (values if isinstance(values, (list, tuple)) else [values])]
    r = [np.asarray(a, np.float64).ravel() for a in (reference if isinstance(reference, (list, tuple))
                                                     else [reference])]
    if len(v) != len(r) or any(a.shape != b.shape for a, b in zip(v, r)):
        raise ValueError(f"cannot compare results of shapes {[a.shape for a in v]} and {[b.shape for b in r]}")
    v_all, r_all = np.concatenate(v), np.concatenate(r)
    scale = float(np.max(np.abs(r_all))) or 1.0
    return float(np.max(np.abs(v_all - r_all))) / scale


def _dtypes(values: Any) -> list[str]:
    items = values if isinstance(values, (list, tuple)) else [values]
    return sorted({str(np.asarray(a).dtype) for a in items})


def _prepare(adapters: list[Adapter], factory: str, spec: Any, calls: int,
             log: Callable[[str], None]) -> tuple[dict[str, Callable], dict[str, list], dict[str, dict]]:
    """Build each library's callable and run it `calls` times: (callables, outputs, {name: first call/error})."""
    callables, outputs, info = {}, {}, {}
    for adapter in adapters:
        try:
            fn = getattr(adapter, factory)(spec)
        except NotImplementedError:
            continue
        except Exception as e:
            info[adapter.name] = {"error": f"building: {type(e).__name__}: {e}"[:300]}
            log(f"    {adapter.name}: {info[adapter.name]['error']}")
            continue
        try:
            with time_limit(adapter.warm_limit_s):
                outs = []
                t0 = clock()
                for k in range(calls):
                    outs.append(fn())
                    if k == 0:
                        first = clock() - t0
        except Exception as e:
            info[adapter.name] = {"error": f"{type(e).__name__}: {e}"[:300]}
            log(f"    {adapter.name}: {info[adapter.name]['error']}")
            continue
        callables[adapter.name], outputs[adapter.name] = fn, outs
        info[adapter.name] = {"first_call_s": first}
    return callables, outputs, info


def _time(callables: dict[str, Callable], info: dict[str, dict], adapters: list[Adapter], plan: RoundPlan,
          log: Callable[[str], None], units: dict[str, float] | None = None) -> dict[str, dict]:
    """Interleaved timing; per library: median per unit of work (`units[name]` units per call, default 1),
    ratios per unit to the reference and to torch, spread, first call."""
    limits = {a.name: a.warm_limit_s for a in adapters}
    timings = interleave(callables, plan, warm_limits=limits, log=log)
    timings = {name: t.per_unit((units or {}).get(name, 1.0)) for name, t in timings.items()}
    results = {name: dict(entry) for name, entry in info.items()}
    ref, torch = timings.get(REFERENCE), timings.get(TORCH)
    for name, t in timings.items():
        row = results.setdefault(name, {})
        row.update(t.as_dict())
        row.pop("first_s", None)
        row["median_per_unit_s"] = t.median_s
        row["ratio_numpy"] = _ratio(t, ref)
        row["ratio_torch"] = _ratio(t, torch)
    return results


def _ratio(t: Timing, other: Timing | None) -> float | None:
    return paired_ratio(t, other) if other is not None and other.per_round and t.per_round else None


# ----------------------------------------------------------------------------- B

def section_chain(adapters: list[Adapter], settings: Settings, log: Callable[[str], None] = print) -> dict:
    """B: forward + backward through a chain of tiny 0-d ops; time per op and gradient check."""
    callables, outputs, info, specs = {}, {}, {}, {}
    for adapter in adapters:                       # a library whose first call explodes runs a shorter chain
        spec: ChainSpec = make_chain(min(settings.chain_ops, adapter.chain_max_ops or settings.chain_ops))
        c, o, i = _prepare([adapter], "chain", spec, 1, log)
        callables.update(c)
        outputs.update(o)
        info.update(i)
        specs[adapter.name] = spec
    log(f"  B: {settings.chain_ops} ops, timing {list(callables)}")
    results = _time(callables, info, adapters, settings.plan, log,
                    units={name: specs[name].n_ops for name in callables})
    for name, outs in outputs.items():
        g_x, g_w = outs[0]
        results[name]["check"] = relative_error([float(g_x), float(g_w)], list(chain_exact_gradient(specs[name])))
        results[name]["dtypes"] = _dtypes([g_x, g_w])
        results[name]["n_ops"] = specs[name].n_ops
    return {"n_ops": settings.chain_ops, "results": results,
            "check_against": "exact float64 gradient: max |g - g64| / max |g64| over ds/dx and ds/dw"}


# ----------------------------------------------------------------------------- C

def section_moons(adapters: list[Adapter], settings: Settings, log: Callable[[str], None] = print) -> dict:
    """C: micrograd's demo step (2-16-16-1, hinge loss + L2, SGD); the first losses are compared."""
    spec = make_moons(n=settings.moons_points)
    callables, outputs, info = _prepare(adapters, "moons_step", spec, settings.check_steps, log)
    log(f"  C: timing {list(callables)}")
    results = _time(callables, info, adapters, settings.plan, log)
    _check_losses(results, outputs)
    return {"points": settings.moons_points, "results": results}


def _check_losses(results: dict, outputs: dict) -> None:
    ref = outputs.get(REFERENCE)
    for name, losses in outputs.items():
        results[name]["losses"] = [float(v) for v in losses]
        if ref is not None:
            results[name]["check"] = relative_error(losses, ref)


# ----------------------------------------------------------------------------- D

def section_mlp(adapters: list[Adapter], settings: Settings, log: Callable[[str], None] = print) -> dict:
    """D: MLP training steps; time per step, forward/backward/update split, peak memory, dtypes, losses."""
    cases = {}
    for case, (sizes, batch) in settings.mlp_shapes.items():
        spec = make_mlp(case, sizes=sizes, batch=batch)
        log(f"  D {case}: sizes {spec.sizes}, batch {spec.batch}")
        callables, outputs, info = _prepare(adapters, "mlp_step", spec, settings.check_steps, log)
        results = _time(callables, info, adapters, settings.plan, log)
        _check_losses(results, outputs)
        cases[case] = {"sizes": list(spec.sizes), "batch": spec.batch, "params": spec.n_params,
                       "gemm_flops": gemm_flops(spec), "results": results,
                       "phases": _phases(adapters, spec, settings),
                       "memory": _memory(adapters, spec, settings, log),
                       "dtypes": _dtype_reports(adapters, spec)}
    return {"cases": cases}


def _phases(adapters: list[Adapter], spec: MLPSpec, settings: Settings) -> dict:
    candidates = {}
    for adapter in adapters:
        try:
            candidates[adapter.name] = adapter.mlp_phases(spec)
        except NotImplementedError:
            continue
        except Exception as e:
            candidates[adapter.name] = _raiser(e)
    return interleave_phases(candidates, settings.phase_rounds, settings.phase_steps, settings.plan.block_s,
                             settings.plan.quiesce_s)


def _raiser(error: Exception) -> Callable[[], tuple[float, float, float]]:
    def fail() -> tuple[float, float, float]:
        raise error
    return fail


def _memory(adapters: list[Adapter], spec: MLPSpec, settings: Settings, log: Callable[[str], None]) -> dict:
    out = {}
    for adapter in adapters:
        if not adapter.numpy_based:
            continue
        try:
            out[adapter.name] = peak_memory(lambda a=adapter: a.mlp_step(spec), settings.memory_steps)
        except NotImplementedError:
            continue
        except Exception as e:
            out[adapter.name] = {"error": f"{type(e).__name__}: {e}"[:300]}
            log(f"    memory {adapter.name}: {out[adapter.name]['error']}")
    ref = out.get(REFERENCE, {}).get("peak_bytes")
    for row in out.values():
        if ref and "peak_bytes" in row:
            row["ratio_numpy"] = row["peak_bytes"] / ref
    return out


def _dtype_reports(adapters: list[Adapter], spec: MLPSpec) -> dict:
    out = {}
    for adapter in adapters:
        try:
            out[adapter.name] = adapter.dtype_report(spec)
        except NotImplementedError:
            continue
        except Exception as e:
            out[adapter.name] = {"error": f"{type(e).__name__}: {e}"[:300]}
    return out


# ----------------------------------------------------------------------------- E

def section_example(adapters: list[Adapter], settings: Settings, log: Callable[[str], None] = print) -> dict:
    """E: the full gradient of one example's loss on the D-i network by reverse mode, checked in float64."""
    spec = make_example(settings.example_sizes)
    spec64 = replace(spec, X=spec.X.astype(np.float64), W=tuple(w.astype(np.float64) for w in spec.W),
                     b=tuple(b.astype(np.float64) for b in spec.b))
    truth = NumpyReference().example_grad(spec64)()
    callables, outputs, info = _prepare(adapters, "example_grad", spec, 1, log)
    log(f"  E: {spec.n_params} parameters, timing {list(callables)}")
    results = _time(callables, info, adapters, settings.plan, log)
    for name, outs in outputs.items():
        results[name]["check"] = relative_error(outs[0], truth)
        results[name]["dtypes"] = _dtypes(outs[0])
    return {"sizes": list(spec.sizes), "params": spec.n_params, "results": results,
            "check_against": "float64 hand-written back-propagation (max |g - g64| / max |g64|)"}


SECTIONS: dict[str, Callable[..., dict]] = {"B": section_chain, "C": section_moons, "D": section_mlp,
                                             "E": section_example}


def run_sections(adapters: list[Adapter], sections: str, settings: Settings,
                 log: Callable[[str], None] = print) -> dict[str, dict]:
    """Run the named sections (letters of 'BCDE') in order over the given adapters."""
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise ValueError(f"unknown sections {bad}; choose letters from {''.join(SECTIONS)}")
    out = {}
    for letter in sections:
        t0 = clock()
        out[letter] = SECTIONS[letter](adapters, settings, log)
        out[letter]["wall_s"] = clock() - t0
    return out
