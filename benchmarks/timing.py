"""Timing on a shared, noisy machine: interleaved rounds, per-round medians, ratios paired within a round.

Every library runs one block of calls per round, in an order that rotates; ratios are formed round by round
(measurements a fraction of a second apart) and their median is reported. Also: peak memory by tracemalloc.
"""
from __future__ import annotations

import gc
import math
import signal
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

clock = time.perf_counter


class CallTimeout(Exception):
    """A warm-up call ran past its limit (a compiler that takes too long, an engine that hangs)."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CallTimeout in the main thread once `seconds` have passed (SIGALRM; a no-op elsewhere)."""
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise CallTimeout(f"took longer than {seconds:.0f} s")

    try:
        previous = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:          # not the main thread: run without a limit
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def quantile(xs: list[float], q: float) -> float:
    """The q-quantile of xs by linear interpolation between order statistics."""
    s = sorted(xs)
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class Timing:
    """Call times of one library: the first call, the per-round medians and every timed call."""

    first_s: float | None = None
    per_round: dict[int, float] = field(default_factory=dict)
    samples: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def median_s(self) -> float | None:
        """Median over rounds of the per-round median call time."""
        return statistics.median(self.per_round.values()) if self.per_round else None

    @property
    def spread(self) -> float | None:
        """(p90 - p10) / median of all single calls: how noisy the measurement was."""
        if len(self.samples) < 2:
            return None
        return (quantile(self.samples, 0.9) - quantile(self.samples, 0.1)) / statistics.median(self.samples)

    def per_unit(self, units: float) -> Timing:
        """The same measurements divided by `units` (e.g. per op of a chain of `units` ops)."""
        return Timing(first_s=self.first_s, per_round={r: v / units for r, v in self.per_round.items()},
                      samples=[v / units for v in self.samples], error=self.error)

    def as_dict(self) -> dict:
        return {"first_s": self.first_s, "median_s": self.median_s, "spread": self.spread,
                "rounds": len(self.per_round), "calls": len(self.samples), "error": self.error,
                "per_round": {str(k): v for k, v in self.per_round.items()}}


@dataclass(frozen=True)
class RoundPlan:
    """How long to measure: rounds, seconds per block, warm-up calls, and a per-library time budget.

    Many short rounds rather than a few long ones: a ratio is the median of per-round ratios, and each round
    pairs blocks run next to each other, so the more (and the shorter) the rounds, the less a burst of load
    on this shared machine moves the median. With 15 rounds of 0.15 s, D-ii's ratio at 1 thread came out
    anywhere from 1.05 to 1.13 for one engine; with 40 rounds of 0.05 s, from 1.06 to 1.09 in six runs.
    """

    rounds: int = 40
    block_s: float = 0.05
    warmup: int = 1           # the section's cross-check calls have already run each library once or more
    budget_s: float = 5.0
    min_rounds: int = 3
    max_calls_per_block: int = 500
    quiesce_s: float = 0.0


def interleave(candidates: dict[str, Callable[[], Any]], plan: RoundPlan,
               warm_limits: dict[str, float] | None = None,
               log: Callable[[str], None] = print) -> dict[str, Timing]:
    """Time each zero-argument callable in rotating rounds; a library failing is recorded, not fatal."""
    warm_limits = warm_limits or {}
    timings = {name: Timing() for name in candidates}
    calls_per_block: dict[str, int] = {}
    for name, fn in candidates.items():
        gc.collect()
        time.sleep(plan.quiesce_s)
        try:
            with time_limit(warm_limits.get(name)):
                times = []
                for _ in range(max(1, plan.warmup)):
                    t0 = clock()
                    fn()
                    times.append(clock() - t0)
        except Exception as e:
            timings[name].error = f"{type(e).__name__}: {e}"[:300]
            log(f"    {name}: warm-up failed: {timings[name].error}")
            continue
        timings[name].first_s = times[0]
        typical = min(times[1:]) if len(times) > 1 else times[0]
        calls_per_block[name] = int(max(1, min(plan.max_calls_per_block, round(plan.block_s / max(typical, 1e-7)))))
    live = list(calls_per_block)
    spent = dict.fromkeys(live, 0.0)
    for r in range(plan.rounds):
        shift = r % len(live) if live else 0
        for name in live[shift:] + live[:shift]:
            t = timings[name]
            if t.error or (len(t.per_round) >= plan.min_rounds and spent[name] > plan.budget_s):
                continue
            gc.collect()
            time.sleep(plan.quiesce_s)
            fn, block = candidates[name], []
            try:
                for _ in range(calls_per_block[name]):
                    t0 = clock()
                    fn()
                    block.append(clock() - t0)
            except Exception as e:
                t.error = f"{type(e).__name__}: {e}"[:300]
                continue
            spent[name] += sum(block)
            t.per_round[r] = statistics.median(block)
            t.samples.extend(block)
    return timings


def paired_ratio(a: Timing, b: Timing) -> float | None:
    """Median over the rounds both took part in of (a's time / b's time) in that round."""
    shared = [a.per_round[r] / b.per_round[r] for r in a.per_round if r in b.per_round and b.per_round[r] > 0]
    if shared:
        return statistics.median(shared)
    if a.median_s and b.median_s:
        return a.median_s / b.median_s
    return None


def interleave_phases(candidates: dict[str, Callable[[], tuple[float, float, float]]], rounds: int,
                      max_steps_per_round: int, block_s: float = 0.15, quiesce_s: float = 0.0) -> dict[str, dict]:
    """Run phase-timed steps (forward, backward, update) in rotating rounds; medians of each phase.

    Each round runs as many steps as fit in `block_s`, at least 2 and at most `max_steps_per_round`."""
    names = list(candidates)
    steps: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
    per_round: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            t0 = clock()
            candidates[name]()
            per_round[name] = int(min(max_steps_per_round, max(2, round(block_s / (clock() - t0)))))
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {e}"[:300]
    live = [n for n in names if n not in errors]
    for r in range(rounds):
        shift = r % len(live) if live else 0
        for name in live[shift:] + live[:shift]:
            gc.collect()
            time.sleep(quiesce_s)
            steps[name].extend(candidates[name]() for _ in range(per_round[name]))
    out = {}
    for name in names:
        if name in errors:
            out[name] = {"error": errors[name]}
            continue
        s = steps[name]
        out[name] = {"forward_s": statistics.median(t[0] for t in s),
                     "backward_s": statistics.median(t[1] for t in s),
                     "update_s": statistics.median(t[2] for t in s),
                     "backward_over_forward": statistics.median(t[1] / t[0] for t in s if t[0] > 0),
                     "steps": len(s)}
    return out


def peak_memory(factory: Callable[[], Callable[[], Any]], steps: int = 3) -> dict[str, int]:
    """Bytes traced by tracemalloc (NumPy buffers and Python objects) while training: what the state and the
    steps after the first hold at their peak, above what was allocated before the model was built.

    Construction temporaries and the first step's one-off allocations are not counted; the state the library
    keeps (parameters, gradient buffers) and every step's temporaries are."""
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn = factory()
        fn()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.reset_peak()
        for _ in range(max(1, steps - 1)):
            fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return {"peak_bytes": int(peak), "held_after_first_step_bytes": int(held)}
