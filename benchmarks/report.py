"""Turns the workers' records into benchmarks/RESULTS.md: the issue-5 targets, met or not, then the details.

Every number printed comes from the records; a missing measurement prints as '–', never as a guess.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: "equals the reference to float32 precision": relative difference at most this (about 80 float32 ulps).
FLOAT32_TOLERANCE = 1e-5
CHAINRULE = "chainrule"
MIB = 2.0 ** 20


def _get(d: object, *keys: str) -> object:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


@dataclass(frozen=True)
class Target:
    """One line of the issue's target table: a measured value per thread count and its limit."""

    label: str
    limit: float
    measure: Callable[[dict], float | None]
    unit: str = "×"


def _ratio(*path: str) -> Callable[[dict], float | None]:
    return lambda record: _get(record, "sections", *path)


def _check_worst(record: dict) -> float | None:
    """Largest relative difference of chainrule from the reference over B, C, every D case and E."""
    s = record.get("sections", {})
    checks = [_get(s, "B", "results", CHAINRULE, "check"), _get(s, "C", "results", CHAINRULE, "check"),
              _get(s, "E", "results", CHAINRULE, "check")]
    checks += [_get(case, "results", CHAINRULE, "check") for case in (_get(s, "D", "cases") or {}).values()]
    checks = [c for c in checks if c is not None]
    return max(checks) if checks else None


def chainrule_dtypes(record: dict) -> set[str]:
    """Every dtype chainrule produced: B and E gradients, D logits, loss, gradients and updated parameters."""
    s = record.get("sections", {})
    seen: set[str] = set()
    for letter in ("B", "E"):
        seen.update(_get(s, letter, "results", CHAINRULE, "dtypes") or [])
    for case in (_get(s, "D", "cases") or {}).values():
        report = _get(case, "dtypes", CHAINRULE) or {}
        if "error" in report:
            seen.add("error: " + report["error"])
            continue
        for value in report.values():
            seen.update(value.split(","))
    return seen


def _dtype_flag(record: dict) -> float | None:
    seen = chainrule_dtypes(record)
    return None if not seen else 0.0 if seen == {"float32"} else 1.0


def _shape_label(record: dict | None, case: str, fallback: str) -> str:
    info = _get(record, "sections", "D", "cases", case)
    if not isinstance(info, dict):
        return fallback
    return f"{'-'.join(map(str, info['sizes']))}, b{info['batch']}"


def targets(record: dict | None = None) -> list[Target]:
    """The issue's targets, labelled with the sizes that `record` (any thread count's) actually ran."""
    n_ops = _get(record, "sections", "B", "n_ops")
    points = _get(record, "sections", "C", "points")
    e_sizes = _get(record, "sections", "E", "sizes")

    def step(case: str) -> Callable[[dict], float | None]:
        return _ratio("D", "cases", case, "results", CHAINRULE, "ratio_numpy")

    def bwd_over_fwd(case: str) -> Callable[[dict], float | None]:
        return _ratio("D", "cases", case, "phases", CHAINRULE, "backward_over_forward")

    return [
        Target(f"B: chain of {n_ops or 1000:,} tiny 0-d ops, fwd+bwd, per op", 4.0,
               _ratio("B", "results", CHAINRULE, "ratio_numpy")),
        Target(f"C: micrograd's demo step (2-16-16-1, {points or 100} moons points)", 3.0,
               _ratio("C", "results", CHAINRULE, "ratio_numpy")),
        Target(f"D-i: MLP step {_shape_label(record, 'D-i', '64-128-128-10, b64')}", 1.5, step("D-i")),
        Target(f"D-ii: MLP step {_shape_label(record, 'D-ii', '784-256-256-10, b128')}", 1.10, step("D-ii")),
        Target(f"D-iii: MLP step {_shape_label(record, 'D-iii', '784-1024-1024-10, b512')}", 1.05,
               step("D-iii")),
        Target("D-iii: peak memory", 1.2, _ratio("D", "cases", "D-iii", "memory", CHAINRULE, "ratio_numpy")),
        Target("D-ii: backward / forward", 1.7, bwd_over_fwd("D-ii"), unit=""),
        Target("D-iii: backward / forward", 1.7, bwd_over_fwd("D-iii"), unit=""),
        Target(f"E: one example's full gradient by reverse mode ({'-'.join(map(str, e_sizes or (64, 128, 128, 10)))})",
               2.0, _ratio("E", "results", CHAINRULE, "ratio_numpy")),
        Target("float32 stays float32 (B, D, E outputs)", 0.0, _dtype_flag, unit="dtype"),
        Target("equals the reference to float32 precision (max rel. diff.)", FLOAT32_TOLERANCE, _check_worst,
               unit="rel"),
    ]


COMPILED = "chainrule-compiled"


def compiled_targets(record: dict | None = None) -> list[Target]:
    """Issue 16's targets for the compiled tier: the hand-written NumPy step is the yardstick."""
    def result(*path: str) -> Callable[[dict], float | None]:
        return _ratio(*path[:-1], "results", COMPILED, path[-1])

    def first_call(record: dict) -> float | None:
        seconds = _get(record, "sections", "D", "cases", "D-ii", "results", COMPILED, "first_call_s")
        return None if seconds is None else seconds * 1e3

    return [
        Target("B: chain of tiny 0-d ops, fwd+bwd, per op (compiled gradient)", 0.35,
               result("B", "ratio_numpy")),
        Target("C: micrograd's demo step (compiled step)", 1.00, result("C", "ratio_numpy")),
        Target(f"D-i: MLP step {_shape_label(record, 'D-i', '64-128-128-10, b64')}", 1.00,
               result("D", "cases", "D-i", "ratio_numpy")),
        Target(f"D-ii: MLP step {_shape_label(record, 'D-ii', '784-256-256-10, b128')}", 1.00,
               result("D", "cases", "D-ii", "ratio_numpy")),
        Target(f"D-iii: MLP step {_shape_label(record, 'D-iii', '784-1024-1024-10, b512')}", 1.00,
               result("D", "cases", "D-iii", "ratio_numpy")),
        Target("D-iii: peak memory", 1.0, _ratio("D", "cases", "D-iii", "memory", COMPILED, "ratio_numpy")),
        Target("D-ii: first call (trace + generate + compile), ms", 50.0, first_call, unit=" ms"),
    ]


def evaluate(records: list[dict], table: Callable[[dict | None], list[Target]] | None = None) -> list[dict]:
    """For each target: its limit, the value at each thread count, and whether every value is within it."""
    rows = []
    for target in (table or targets)(records[0] if records else None):
        values = {r["threads"]: target.measure(r) for r in records}
        measured = [v for v in values.values() if v is not None]
        met = bool(measured) and len(measured) == len(values) and all(v <= target.limit for v in measured)
        rows.append({"label": target.label, "limit": target.limit, "unit": target.unit, "values": values,
                     "met": met if measured else None})
    return rows


# ----------------------------------------------------------------------------- formatting

def _num(v: float | None, digits: int = 3) -> str:
    """`digits` significant digits, trailing zeros kept (1.00, 0.0263); whole numbers from 10**digits up."""
    if v is None:
        return "–"
    if v == 0:
        return "0"
    return f"{v:#.{digits}g}".rstrip(".") if abs(v) < 10 ** digits else f"{v:,.0f}"


def _times(v: float | None) -> str:
    return "–" if v is None else f"{_num(v)}×"


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else _num(seconds * 1e3)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.0f}%"


def _sci(v: float | None) -> str:
    return "–" if v is None else f"{v:.1e}"


def _first(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1e3:.1f} ms"


def target_value(row: dict, threads: int) -> str:
    v = row["values"].get(threads)
    if v is None:
        return "not measured"
    if row["unit"] == "dtype":
        return "yes" if v == 0.0 else "no"
    if row["unit"] == "rel":
        return _sci(v)
    return f"{_num(v)}{row['unit']}"


def target_limit(row: dict) -> str:
    if row["unit"] == "dtype":
        return "float32"
    if row["unit"] == "rel":
        return f"≤ {_sci(row['limit'])}"
    return f"≤ {row['limit']:.2f}{row['unit']}"


def targets_table(records: list[dict], table: Callable[[dict | None], list[Target]] | None = None,
                  who: str = "chainrule") -> tuple[list[str], list[dict]]:
    rows = evaluate(records, table)
    threads = [r["threads"] for r in records]
    lines = [f"| target ({who} vs hand-written NumPy, same rounds) | limit | "
             + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " | met |",
             "|---|---|" + "---|" * len(threads) + "---|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(f"| {row['label']} | {target_limit(row)} | "
                     + " | ".join(target_value(row, t) for t in threads) + f" | {met} |")
    return lines, rows


def _library_table(records: list[dict], results_of: Callable[[dict], dict | None], unit: str,
                   scale: float, check_label: str) -> list[str]:
    """Rows = libraries; per thread count: time, /numpy, /torch, spread; then first call and check."""
    names: list[str] = []
    for r in records:
        for name in results_of(r) or {}:
            if name not in names:
                names.append(name)
    head = "| library | " + " | ".join(f"t={r['threads']} {unit} | /numpy | /torch | spread" for r in records)
    lines = [head + f" | first call | {check_label} |",
             "|---|" + "---|---|---|---|" * len(records) + "---|---|"]
    for name in names:
        cells = []
        for r in records:
            row = (results_of(r) or {}).get(name, {})
            t = row.get("median_per_unit_s")
            if row.get("error") and t is None:
                cells.append(f"failed: {row['error'][:60]} | – | – | –")
                continue
            cells.append(f"{_num(t * scale) if t else '–'} | {_times(row.get('ratio_numpy'))} | "
                         f"{_times(row.get('ratio_torch'))} | {_pct(row.get('spread'))}")
        first_row = next(((results_of(r) or {}).get(name) for r in records if (results_of(r) or {}).get(name)), {})
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {_first(first_row.get('first_call_s'))} | {_sci(first_row.get('check'))} |")
    return lines


def _setup_lines(records: list[dict], machine: dict, command: str, wall_s: float | None) -> list[str]:
    versions: dict[str, str] = {}
    missing: dict[str, str] = {}
    for r in records:
        versions.update(r.get("versions", {}))
        missing.update(r.get("missing", {}))
    lines = [f"- Date (UTC): {machine.get('started', '–')} → {machine.get('finished', '–')}"
             + (f", wall {wall_s:.0f} s" if wall_s else ""),
             f"- Command: `{command}`",
             (f"- Machine: {machine.get('cpu', '?')}, {machine.get('cpus', '?')} CPUs, "
             f"{machine.get('mem_gib', '?')} GiB; load average at start {machine.get('load_start', '–')}, "
             f"at end {machine.get('load_end', '–')}"),
             f"- Platform: {machine.get('platform', '?')}",
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))]
    if missing:
        lines.append("- Not measured: " + "; ".join(f"{k} ({v})" for k, v in missing.items()))
    plan = next((r["plan"] for r in records if r.get("plan")), None)
    if plan:
        lines.append(f"- Timing: up to {plan['rounds']} interleaved rounds per workload, each library's block "
                     f"about {plan['block_s']:g} s, after {plan['warmup']} warm-up call(s); at most "
                     f"{plan['budget_s']:g} s of calls per library and workload")
    for r in records:
        walls = ", ".join(f"{k} {v['wall_s']:.0f} s" for k, v in r.get("sections", {}).items() if "wall_s" in v)
        lines.append(f"- Wall time with {r['threads']} thread(s): {walls or '–'}")
    lines += ["", ("| threads | environment | CPU affinity | BLAS / OpenMP pools (threadpoolctl, after imports) | "
              "GEMM probe GFLOP/s, start → end | load average, start → end |"), "|---|---|---|---|---|---|"]
    for r in records:
        setup = r.get("setup", {})
        env = ", ".join(f"{k}={v}" for k, v in (setup.get("env") or {}).items() if v)
        pools = "; ".join(f"{p.get('internal_api')} {p.get('version') or ''} threads={p.get('num_threads')}"
                          for p in r.get("blas", []))
        probe, load = r.get("gemm_probe_gflops") or {}, r.get("load_average") or {}
        lines.append(f"| {r['threads']} | {env or setup.get('note', '–')} | {setup.get('affinity')} | "
                     f"{pools or '–'} | {_num(probe.get('start'))} → {_num(probe.get('end'))} | "
                     f"{_num(load.get('start'))} → {_num(load.get('end'))} |")
    lines += [f"- **Warning:** {w}" for w in busy_warnings(records)]
    return lines


def busy_warnings(records: list[dict]) -> list[str]:
    """Signs that the machine was shared while measuring: a multi-threaded GEMM probe (at the start or the
    end of its worker) slower than the single-threaded one makes that thread count's timings unreliable."""
    probes = {}
    for r in records:
        rates = [v for v in (_get(r, "gemm_probe_gflops") or {}).values() if v is not None]
        probes[r["threads"]] = min(rates) if rates else None
    single = probes.get(1)
    out = []
    for threads, rate in sorted(probes.items()):
        if threads > 1 and single and rate is not None and rate < single:
            out.append(f"with {threads} threads the GEMM probe fell to {_num(rate)} GFLOP/s, below the "
                       f"{_num(single)} of 1 thread: another process held a core, so the {threads}-thread "
                       "timings are not trustworthy; rerun on a quiet machine.")
    return out


def render(records: list[dict], machine: dict, command: str, wall_s: float | None = None) -> str:
    """The whole RESULTS.md text."""
    records = sorted(records, key=lambda r: r["threads"])
    table, rows = targets_table(records)
    unmet = [r["label"] for r in rows if r["met"] is not True]
    out = ["# chainrule benchmarks", "",
           ("Written by `python -m benchmarks.run` (`make bench`); do not edit by hand. Every library runs the "
           "same workloads from the same float32 weights, in one process per thread count, timed in "
           "interleaved rounds; ratios are medians of per-round ratios."), "",
           "## Targets of issue 5", ""] + table + [""]
    out.append("All targets met at every thread count." if not unmet
               else f"Not met or not measured: {'; '.join(unmet)}.")
    if any(_get(r, "sections", "C", "results", COMPILED) or _get(r, "sections", "B", "results", COMPILED)
           for r in records):
        compiled_table, compiled_rows = targets_table(records, compiled_targets, COMPILED)
        unmet = [r["label"] for r in compiled_rows if r["met"] is not True]
        out += ["", "## Targets of issue 16: the compiled tier (`chainrule.compile`)", ""] + compiled_table + [""]
        out.append("All targets met at every thread count." if not unmet
                   else f"Not met or not measured: {'; '.join(unmet)} (see the profile below each section "
                        "in docs and the closing note for the floor that stops them).")
    out += ["", "## Issue 15: the reference engine, eager", "",
            ("The code a learner reads is the code that runs; its eager ratios must stay within 10% of issue 5's "
             "limits and faster than PyTorch eager everywhere."), ""] + eager_table(records)
    out += ["", "Named fast paths and their measured gains (from their docstrings; each has a hypothesis test "
            "that it equals the plain path):", ""] + fast_path_lines()
    out += ["", "## Setup", ""] + _setup_lines(records, machine, command, wall_s)
    out += _section_b(records) + _section_c(records) + _section_d(records) + _section_e(records)
    out += ["", "## How to read", "",
            ("- `/numpy`, `/torch`: the library's time over the hand-written NumPy reference's (or PyTorch "
            "eager's) in the same round, median over rounds; compare these, not milliseconds across runs."),
            ("- `spread` = (p90 − p10) / median of single calls; `first call` includes building, tracing, "
            "compiling. `check`: relative difference from the reference (see each section)."),
            ("- The NumPy reference (benchmarks/reference.py) is batched back-propagation by BP1–BP4 with the "
            "SGD update fused into the backward sweep, so its `update` column is 0."),
            ("- Peak memory: tracemalloc (NumPy buffers and Python objects) over steps 2–3 above what was "
            "allocated before the model was built; only libraries whose arrays are NumPy's.")]
    return "\n".join(out) + "\n"


EAGER_SLACK = 1.10  # issue 15: an eager ratio may slip at most 10% past issue 5's limit
EAGER_WORKLOADS = (("B", 4.0, ("B", "results")), ("C", 3.0, ("C", "results")),
                   ("D-i", 1.5, ("D", "cases", "D-i", "results")), ("D-ii", 1.10, ("D", "cases", "D-ii", "results")),
                   ("D-iii", 1.05, ("D", "cases", "D-iii", "results")))


def eager_table(records: list[dict]) -> list[str]:
    """Issue 15's test for the reference engine: each eager ratio within 10% of issue 5's limit, and chainrule
    eager faster than PyTorch eager (`/torch` < 1) on every workload, at every thread count."""
    lines = ["| workload | threads | /numpy | issue 5 limit | limit + 10% | /torch | within 10% | faster than torch |",
             "|---|---|---|---|---|---|---|---|"]
    for name, limit, path in EAGER_WORKLOADS:
        for record in records:
            result = _get(record, "sections", *path, CHAINRULE) or {}
            numpy_ratio, torch_ratio = result.get("ratio_numpy"), result.get("ratio_torch")
            within = "not measured" if numpy_ratio is None else (
                "yes" if numpy_ratio <= limit * EAGER_SLACK else "**no**")
            faster = "not measured" if torch_ratio is None else ("yes" if torch_ratio < 1 else "**no**")
            lines.append(f"| {name} | {record['threads']} | {_times(numpy_ratio)} | ≤ {limit:.2f}× | "
                         f"≤ {limit * EAGER_SLACK:.2f}× | {_times(torch_ratio)} | {within} | {faster} |")
    return lines


def fast_path_lines() -> list[str]:
    """The engine's named fast paths with the measured gain their docstrings state (read, not copied)."""
    import inspect

    from chainrule.autodiff.tensor import Primitive
    from chainrule.optim import descend_

    lines = []
    for name, function in (("Primitive._apply_one", Primitive._apply_one),
                           ("Primitive._apply_two", Primitive._apply_two), ("optim.descend_", descend_)):
        doc = " ".join(inspect.getdoc(function).split())
        lines.append(f"- `{name}`: {doc}")
    return lines


def _section_b(records: list[dict]) -> list[str]:
    if not any(_get(r, "sections", "B") for r in records):
        return []
    n = next(_get(r, "sections", "B", "n_ops") for r in records if _get(r, "sections", "B"))
    shorter = sorted({f"{name} ran {row['n_ops']:,} ops" for r in records
                      for name, row in (_get(r, "sections", "B", "results") or {}).items()
                      if row.get("n_ops") not in (None, n)})
    note = (f" Shorter chains (a compiler whose compile time grows faster than the chain): {', '.join(shorter)};"
            " the per-op columns still compare." if shorter else "")
    return ["", f"## B. Chain of {n:,} tiny 0-d ops, forward + backward (per-op overhead)", "",
            ("h ← h·w, h + w, relu(h), h·0.5 in turn; ds/dx and ds/dw of s = sum(h). Times are µs per op. "
            "check: max |g − g64| / max |g64| over ds/dx and ds/dw against the exact float64 values "
             "(for a long chain ds/dx lies below float32's range and comes out 0)." + note), ""] + \
        _library_table(records, lambda r: _get(r, "sections", "B", "results"), "µs/op", 1e6, "check")


def _section_c(records: list[dict]) -> list[str]:
    if not any(_get(r, "sections", "C") for r in records):
        return []
    points = next(_get(r, "sections", "C", "points") for r in records if _get(r, "sections", "C"))
    return ["", f"## C. micrograd's demo step: 2-16-16-1 MLP, {points} moons points, hinge loss + L2, SGD", "",
            ("One step = forward, loss, zero-grad, backward, update, loss read back. check: relative difference "
            "of the first losses from the NumPy reference's."), ""] + \
        _library_table(records, lambda r: _get(r, "sections", "C", "results"), "ms", 1e3, "check")


def _section_d(records: list[dict]) -> list[str]:
    cases: list[str] = []
    for r in records:
        for c in _get(r, "sections", "D", "cases") or {}:
            if c not in cases:
                cases.append(c)
    if not cases:
        return []
    out = ["", "## D. MLP training step, float32, softmax cross-entropy, SGD (lr 0.01)", "",
           "check: relative difference of the first losses (so also of the updates) from the NumPy reference's."]
    for case in cases:
        info = next(_get(r, "sections", "D", "cases", case) for r in records
                    if _get(r, "sections", "D", "cases", case))
        sizes = "-".join(map(str, info["sizes"]))
        rates = []
        for r in records:
            t = _get(r, "sections", "D", "cases", case, "results", "numpy", "median_per_unit_s")
            if t:
                rates.append(f"t={r['threads']} {_num(info['gemm_flops'] / t / 1e9)}")
        out += ["", (f"### {case}: {sizes}, batch {info['batch']} ({info['params']:,} parameters, "
                f"{info['gemm_flops'] / 1e9:.3g} GEMM GFLOP per step; NumPy reference runs at "
                f"{', '.join(rates) or '–'} GFLOP/s)"), ""]
        out += _library_table(records, lambda r, c=case: _get(r, "sections", "D", "cases", c, "results"),
                              "ms", 1e3, "check")
    out += ["", "### Forward / backward / update split", "",
            ("forward = model and loss; backward = `loss.backward()`; update = optimiser step. Medians of "
            "single steps."), "", ("| case | library | threads | forward ms | backward ms | update ms | "
            "backward / forward |"), "|---|---|---|---|---|---|---|"]
    for case in cases:
        for r in records:
            for name, p in (_get(r, "sections", "D", "cases", case, "phases") or {}).items():
                if "error" in p:
                    out.append(f"| {case} | {name} | {r['threads']} | failed: {p['error'][:60]} | | | |")
                    continue
                out.append(f"| {case} | {name} | {r['threads']} | {_ms(p['forward_s'])} | "
                           f"{_ms(p['backward_s'])} | {_ms(p['update_s'])} | {_num(p['backward_over_forward'])} |")
    out += ["", "### Peak memory of training (tracemalloc)", "",
            "| case | library | threads | peak MiB | × numpy | held after step 1, MiB |", "|---|---|---|---|---|---|"]
    for case in cases:
        for r in records:
            for name, m in (_get(r, "sections", "D", "cases", case, "memory") or {}).items():
                if "error" in m:
                    out.append(f"| {case} | {name} | {r['threads']} | failed: {m['error'][:60]} | | |")
                    continue
                out.append(f"| {case} | {name} | {r['threads']} | {m['peak_bytes'] / MIB:.2f} | "
                           f"{_times(m.get('ratio_numpy'))} | {m['held_after_first_step_bytes'] / MIB:.2f} |")
    out += ["", "### dtypes chainrule produced (float32 in, float32 out)", "",
            "| case | threads | logits | loss | gradients | parameters after SGD |", "|---|---|---|---|---|---|"]
    for case in cases:
        for r in records:
            d = _get(r, "sections", "D", "cases", case, "dtypes", CHAINRULE)
            if isinstance(d, dict):
                cells = [d.get("error", "")] + [""] * 3 if "error" in d else \
                    [d.get(k, "–") for k in ("logits", "loss", "gradients", "parameters after SGD")]
                out.append(f"| {case} | {r['threads']} | " + " | ".join(cells) + " |")
    return out


def _section_e(records: list[dict]) -> list[str]:
    if not any(_get(r, "sections", "E") for r in records):
        return []
    e = next(_get(r, "sections", "E") for r in records if _get(r, "sections", "E"))
    return ["", (f"## E. One example's full gradient by reverse mode ({'-'.join(map(str, e['sizes']))}, "
            f"{e['params']:,} parameters)"), "",
            "check: max |g − g64| / max |g64| against the float64 hand-written back-propagation.", ""] + \
        _library_table(records, lambda r: _get(r, "sections", "E", "results"), "ms", 1e3, "check")
