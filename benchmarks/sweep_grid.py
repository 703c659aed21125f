"""`python -m benchmarks.sweep_grid --out FILE`: time the classic grid of `chainrule sweep` on one core.

XOR 2-2-1, learning rates 0.1 0.5 2 10 × costs mse, bce × seeds 0–9, 5,000 epochs of full-batch descent each
(80 runs), diagnoses included; the target of issue 13 is under a minute. run.py starts it with one thread.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .threads import pin_and_limit

TARGET_S = 60.0


def measure() -> dict:
    """Seconds for the whole classic grid (and how many runs reached 100% train accuracy)."""
    from chainrule.sweep import run_sweep

    started = time.perf_counter()
    result = run_sweep("xor", lrs=[0.1, 0.5, 2.0, 10.0], losses=["mse", "bce"], seeds=range(10),
                       hidden=[[2]], epochs=5000, progress=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "runs": len(result.runs), "reached": sum(r.reached is not None for r in result.runs),
            "target_s": TARGET_S, "met": seconds < TARGET_S}


def line(record: dict) -> str:
    """One sentence for the terminal and RESULTS.md."""
    verdict = "met" if record["met"] else "NOT met"
    return (f"classic sweep grid (XOR 2-2-1, 4 learning rates × 2 costs × 10 seeds, 5,000 epochs, one core): "
            f"{record['runs']} runs in {record['seconds']:.1f} s, {record['reached']} reached 100% "
            f"(target < {record['target_s']:.0f} s: {verdict})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_grid", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the measurement")
    args = parser.parse_args(argv)
    pin_and_limit(1)
    record = measure()
    args.out.write_text(json.dumps(record, indent=1))
    print(line(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
