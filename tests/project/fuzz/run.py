"""`make fuzz`: run many random programs through chainrule and PyTorch and report every disagreement.

    python tests/project/fuzz/run.py                       # 10,000 programs from seed 0
    python tests/project/fuzz/run.py --seed 4711 --programs 1   # one program again, printed as code
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_programs import Checker, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=10_000, help="how many programs (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="the first program's seed (default 0)")
    parser.add_argument("--show", action="store_true", help="print each program's source")
    parser.add_argument("--max-reports", type=int, default=20, help="disagreements printed in full (default 20)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    checker = Checker(torch, include_wrong_modes=True)
    start = time.perf_counter()
    for seed in range(args.seed, args.seed + args.programs):
        if args.show or args.programs == 1:
            print(f"# program {seed} ({generate(seed).dtype})\n{generate(seed).source()}")
        checker.run(seed)
        if (seed - args.seed + 1) % 1000 == 0:
            print(f"  {seed - args.seed + 1} programs, {len(checker.disagreements)} disagreements, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    for disagreement in checker.disagreements[:args.max_reports]:
        print("\n" + disagreement.report())
    print(f"\nfuzz: seeds {args.seed}..{args.seed + args.programs - 1}: {checker.summary()}; {seconds:.1f} s")
    for mode, state in checker.modes.items():
        if state == "wrong":
            print(f"engine bug: {mode} gives a wrong second derivative of x³ at 2 (expected 12)")
    return 1 if checker.disagreements or "wrong" in checker.modes.values() else 0


if __name__ == "__main__":
    sys.exit(main())
