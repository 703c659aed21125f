"""`python -m benchmarks.run [--quick] [--threads 1,2] [--sections BCDE]`: measure, then write RESULTS.md.

Starts one worker process per thread count (the count is fixed before NumPy loads), gathers their JSON and
prints the issue-5 target table. A full run writes benchmarks/RESULTS.md; --quick writes under results/.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from .threads import thread_env

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKER_TIMEOUT_S = {"full": 600, "quick": 300, "tiny": 120}


def machine_info() -> dict:
    """CPU model, CPU count, memory and load of this machine (from /proc where available)."""
    info: dict = {"platform": platform.platform(), "cpus": os.cpu_count(),
                  "load_start": "/".join(f"{x:.2f}" for x in os.getloadavg())}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2 ** 20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    return info


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _parse_threads(text: str) -> list[int]:
    try:
        counts = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads wants numbers separated by commas, got {text!r}") from None
    if not counts or any(c < 1 for c in counts):
        raise argparse.ArgumentTypeError(f"--threads wants positive counts, got {text!r}")
    return counts


def _parse_sections(text: str) -> str:
    bad = sorted(set(text) - set("BCDE"))
    if not text or bad:
        raise argparse.ArgumentTypeError(f"--sections takes letters from BCDE, got {text!r}")
    return "".join(s for s in "BCDE" if s in text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__,
        epilog="example: python -m benchmarks.run --quick --threads 1 --sections BD",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short rounds and a 250-op chain (a smoke run)")
    parser.add_argument("--threads", type=_parse_threads, default=[1, 2], help="thread counts, e.g. 1,2")
    parser.add_argument("--sections", type=_parse_sections, default="BCDE", help="any of B, C, D, E")
    parser.add_argument("--libs", default="", help="only these libraries, e.g. numpy,chainrule,torch")
    parser.add_argument("--out", type=Path, default=None,
                        help="report file (default: benchmarks/RESULTS.md, or results/RESULTS-quick.md)")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: rewrite the report from the last run's results/*.json")
    args = parser.parse_args(argv)
    preset = "quick" if args.quick else "full"
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    out = args.out or (results_dir / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    run_path = results_dir / f"{preset}-run.json"
    if args.render:
        return _render_saved(run_path, out)
    command = "python -m benchmarks.run" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()

    machine = machine_info()
    machine["started"] = _now()
    started = time.monotonic()
    paths, failed = [], []
    for threads in args.threads:
        json_path = results_dir / f"{preset}-t{threads}.json"
        json_path.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "benchmarks.worker", "--threads", str(threads), "--sections",
               args.sections, "--preset", preset, "--out", str(json_path)]
        if args.libs:
            cmd += ["--libs", args.libs]
        print(f"== {threads} thread(s): {' '.join(cmd[1:])}", flush=True)
        try:
            subprocess.run(cmd, env=thread_env(threads), cwd=ROOT, timeout=WORKER_TIMEOUT_S[preset], check=False)
        except subprocess.TimeoutExpired:
            failed.append(f"{threads} thread(s): worker ran past {WORKER_TIMEOUT_S[preset]} s")
        if json_path.exists():
            paths.append(json_path.name)
        else:
            failed.append(f"{threads} thread(s): worker wrote no results")
    sweep = _measure_sweep(results_dir / f"{preset}-sweep.json", WORKER_TIMEOUT_S[preset], failed)
    profile = None
    if not args.libs or "chainrule-compiled" in args.libs:
        profile = _profile_compiled(results_dir / f"{preset}-compiled-profile.md", args.quick, failed)
    machine["finished"] = _now()
    machine["load_end"] = "/".join(f"{x:.2f}" for x in os.getloadavg())
    run_path.write_text(json.dumps({"machine": machine, "command": command, "wall_s": time.monotonic() - started,
                                    "records": paths, "failed": failed, "sweep": sweep, "profile": profile},
                                   indent=1))
    return _render_saved(run_path, out)


def _measure_sweep(json_path: Path, timeout: int, failed: list[str]) -> dict | None:
    """The classic grid of `chainrule sweep` (issue 13) timed on one core by benchmarks.sweep_grid."""
    json_path.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.sweep_grid", "--out", str(json_path)]
    print(f"== sweep: {' '.join(cmd[1:])}", flush=True)
    try:
        subprocess.run(cmd, env=thread_env(1), cwd=ROOT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        failed.append(f"sweep: ran past {timeout} s")
    if not json_path.exists():
        failed.append("sweep: no result written")
        return None
    return json.loads(json_path.read_text())


def _profile_compiled(path: Path, quick: bool, failed: list[str]) -> str | None:
    """Where the compiled steps' time goes (benchmarks.compiled_profile), on one thread; the report's file name."""
    cmd = [sys.executable, "-m", "benchmarks.compiled_profile", "--workloads", "C" if quick else "C,D-i,D-ii"]
    print(f"== compiled profile: {' '.join(cmd[1:])}", flush=True)
    try:
        done = subprocess.run(cmd, env=thread_env(1), cwd=ROOT, timeout=600, check=False, capture_output=True,
                              text=True)
    except subprocess.TimeoutExpired:
        failed.append("compiled profile: ran past 600 s")
        return None
    if done.returncode != 0:
        failed.append(f"compiled profile: exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
        return None
    path.write_text(done.stdout)
    return path.name


def _render_saved(run_path: Path, out: Path) -> int:
    """Write the report from a run's saved JSON files, print the target table; 1 when something failed."""
    if not run_path.exists():
        print(f"benchmarks: no saved run at {run_path}; run without --render first", file=sys.stderr)
        return 1
    run = json.loads(run_path.read_text())
    records = [json.loads((run_path.parent / name).read_text()) for name in run["records"]]
    if not records:
        print("benchmarks: no worker produced results: " + "; ".join(run["failed"]), file=sys.stderr)
        return 1
    from .report import render, targets_table
    text = render(records, run["machine"], run["command"], run["wall_s"])
    if run.get("sweep"):
        from .sweep_grid import line
        text += f"\n## The learner's experiment (issue 13)\n\n- {line(run['sweep'])}\n"
    if run.get("profile") and (run_path.parent / run["profile"]).exists():
        text += "\n" + (run_path.parent / run["profile"]).read_text()
    if run["failed"]:
        text += "\n## Failures\n\n" + "\n".join(f"- {f}" for f in run["failed"]) + "\n"
    out.write_text(text)
    lines, _ = targets_table(sorted(records, key=lambda r: r["threads"]))
    print("\n".join(lines))
    if run.get("sweep"):
        from .sweep_grid import line
        print(line(run["sweep"]))
    print(f"\nwrote {out} (measured in {run['wall_s']:.0f} s)")
    return 0 if not run["failed"] and all(r.get("error") is None for r in records) else 1

if __name__ == "__main__":
    sys.exit(main())
