"""Checks the command line runs before any work: can the outputs be written, and will the job fit in memory?

Each `check_*` takes a command's parsed arguments and raises LimitError (one line) when an output path is
unusable or when the memory the job would need is above the smaller of the memory available and the cap
(DEFAULT_MAX_MEMORY, 2 GiB; `--max-memory SIZE` raises it). The estimates count the big arrays (data,
parameters with their gradients and optimiser state, activations of a batch, pictures) at 8 bytes a number;
they are meant to catch sizes off by orders of magnitude, not to budget to the byte.
"""
from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from typing import Any

from .files import check_output_file, check_output_folder

DEFAULT_MAX_MEMORY = 2 * 2**30
NUMBER_BYTES = 8  # float64, chainrule's default
BOUNDARY_GRID = 250 * 250  # points the decision-boundary picture evaluates
TRAINING_FILES = ("model.npz", "metrics.json", "loss.png", "boundary.png")
_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "KIB": 2**10, "M": 2**20, "MB": 2**20, "MIB": 2**20,
          "G": 2**30, "GB": 2**30, "GIB": 2**30, "T": 2**40, "TB": 2**40, "TIB": 2**40}


class LimitError(ValueError):
    """A job refused before it starts: an output that cannot be written, or more memory than allowed."""


def parse_size(text: str) -> int:
    """Bytes from a size such as 512M, 8G, 1.5GiB or 3000000000 (binary units: 1G = 2³⁰ bytes)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 512M, 8G or 3000000000, got {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def format_bytes(n: float) -> str:
    """A byte count for people: 1.5 GiB, 320 MiB, 12 KiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def available_memory() -> int | None:
    """Memory the system can give without swapping (MemAvailable on Linux), or None when it cannot tell."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(needed: int, what: str, max_memory: int | None = None) -> None:
    """Refuse `what` when it would need more than min(memory available, the cap) bytes."""
    cap = DEFAULT_MAX_MEMORY if max_memory is None else max_memory
    available = available_memory()
    if needed <= cap and (available is None or needed <= available):
        return
    if available is not None and available < cap:
        limit = f"the {format_bytes(available)} of memory available"
    else:
        flag = "the default cap" if max_memory is None else "--max-memory"
        limit = f"{flag} of {format_bytes(cap)} (raise it with --max-memory SIZE, e.g. --max-memory 16G)"
    raise LimitError(f"{what} would need about {format_bytes(needed)} of memory, above {limit}")


def add_memory_flag(parser: argparse.ArgumentParser) -> None:
    """The --max-memory option, shared by every command that takes sizes."""
    parser.add_argument("--max-memory", type=parse_size, metavar="SIZE",
                        help=f"refuse jobs estimated above this much memory (default {format_bytes(DEFAULT_MAX_MEMORY)}"
                        "; never above the memory available)")


def mlp_parameters(sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP with layer widths `sizes`: Σ (n_{l−1} + 1) n_l."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def training_bytes(sizes: Sequence[int], samples: int, batch: int, picture: bool = False, runs: int = 1) -> int:
    """Memory to train `runs` MLPs of `sizes` on `samples` examples, `batch` at a time (estimate, bytes).

    Data (with its split and shuffled copy), parameters ×5 (values, gradients, two Adam moments, a temporary),
    z, a and δ of every layer for a batch and for evaluating the whole set, and the decision-boundary grid.
    """
    widths = sum(sizes)
    numbers = samples * (sizes[0] + 2) * 3
    numbers += runs * (mlp_parameters(sizes) * 5 + (max(batch, samples) * widths * 3))
    if picture:
        numbers += BOUNDARY_GRID * widths * 2
    return numbers * NUMBER_BYTES


def _dataset_shape(name: str) -> tuple[int, int, int] | None:
    """(default samples, features, classes) of a data set, from its default recipe; None if unknown."""
    from .data import DATASETS, load_dataset

    if name not in DATASETS:
        return None
    X, y = load_dataset(name)
    return len(X), X.shape[1], max(2, len(set(y.tolist())))


def _training_job(args: Any, hidden: Sequence[int], runs: int = 1) -> None:
    shape = _dataset_shape(args.dataset)
    if shape is None:
        return  # the command reports the unknown data set itself
    default_samples, features, classes = shape
    samples = getattr(args, "samples", None) or default_samples
    batch = min(getattr(args, "batch_size", None) or samples, samples)
    sizes = [features, *hidden, classes]
    needed = training_bytes(sizes, samples, batch, picture=features == 2, runs=runs)
    check_memory(needed, f"training an MLP {'-'.join(map(str, sizes))} on {samples:,} examples",
                 args.max_memory)


def _refuse_bad_path(check: Any, path: Any, *more: Any) -> None:
    try:
        check(path, *more)
    except ValueError as error:
        raise LimitError(str(error)) from None


def _at_least_one(option: str, values: Sequence[int]) -> None:
    if any(n < 1 for n in values):
        raise LimitError(f"{option} must be at least 1, got {' '.join(map(str, values))}")


def check_train(args: Any) -> None:
    """`chainrule train`: the output folder and its four files, and the memory for data, network and pictures."""
    from .data import RECIPES

    hidden = args.hidden or RECIPES.get(args.dataset, {}).get("hidden", [])
    _at_least_one("--hidden", hidden)
    _at_least_one("--batch-size", [] if args.batch_size is None else [args.batch_size])
    _refuse_bad_path(check_output_folder, args.out or f"runs/{args.dataset}", TRAINING_FILES)
    _training_job(args, hidden)


def check_demo(args: Any) -> None:
    """`chainrule demo`: the output folder and the 2-hidden-1 network's memory."""
    _refuse_bad_path(check_output_folder, args.out, TRAINING_FILES)
    _training_job(argparse.Namespace(dataset="xor", max_memory=args.max_memory), [args.hidden])


def check_sweep(args: Any) -> None:
    """`chainrule sweep`: the output folder, and the largest setting's memory with its seeds trained together."""
    _refuse_bad_path(check_output_folder, args.out, ("sweep.csv", "sweep.json", "sweep.png"))
    widths = []
    for text in args.hidden:
        try:
            widths.append([int(w) for w in text.split(",")])
        except ValueError:
            return  # the command explains the syntax of --hidden itself
    for hidden in widths:
        _training_job(args, hidden, runs=len(args.seed))


def check_explain(args: Any) -> None:
    """`chainrule explain`: the output file, and the memory of a --sizes network."""
    if args.out:
        _refuse_bad_path(check_output_file, args.out)
    if args.sizes:
        check_memory(mlp_parameters(args.sizes) * NUMBER_BYTES * 8,
                     f"explaining an MLP {'-'.join(map(str, args.sizes))}", args.max_memory)


def check_compare_naive(args: Any) -> None:
    """`chainrule compare naive`: the output folder, and the memory of a --sizes network's weights."""
    _refuse_bad_path(check_output_folder, args.out, ("naive.csv", "naive.png"))
    if args.sizes:
        check_memory(mlp_parameters(args.sizes) * NUMBER_BYTES * 4,
                     f"the network {'-'.join(map(str, args.sizes))}", args.max_memory)


def check_compare_modes(args: Any, largest: Sequence[int]) -> None:
    """`chainrule compare modes`: the output folder, and the largest network's memory at --batch examples."""
    _refuse_bad_path(check_output_folder, args.out, ("modes.csv", "modes.png"))
    numbers = mlp_parameters(largest) * 6 + args.batch * sum(largest) * 6 + args.sample * len(largest)
    check_memory(numbers * NUMBER_BYTES, f"comparing modes on an MLP {'-'.join(map(str, largest))} with a batch "
                 f"of {args.batch:,}", args.max_memory)


def check_output(path: Any) -> None:
    """An output file named on the command line (chain --graph, graph --out) can be written."""
    _refuse_bad_path(check_output_file, path)


def check_arguments_are_text(argv: Sequence[str]) -> None:
    """Refuse an argument that is not valid UTF-8 (Python keeps such bytes as lone surrogates)."""
    for position, argument in enumerate(argv, start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            raw = os.fsencode(argument)
            raise LimitError(f"argument {position} is not valid UTF-8: {raw!r}") from None
