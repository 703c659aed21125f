"""Forward mode, reverse mode and finite differences side by side: the full gradient of a network's cost.

`compare_modes()` times and counts the operations of one backward pass, n JVPs and 2n cost evaluations for
networks of tens to tens of thousands of parameters; `stored_for_backward()` lists the forward values the
backward pass reads (found by probing each rule of the engine) and the memory they hold.
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from chainrule.autodiff import Tensor, topological_order

from .. import autodiff as ad
from ..files import write_atomically
from ..numeric import central_difference
from .lessons import checkpointing, format_checkpointing

# The notation, printed at the head of every comparison (shared with naive.py).
LEGEND = """\
Notation: layers l = 1..L; a⁰ = x; w^l_jk (printed wˡⱼₖ) is the weight from neuron k of layer l−1 to neuron j
of layer l, neurons counted from 1; b^l_j the bias; z^l = W^l a^{l−1} + b^l; a^l = σ(z^l); C = ½ Σ_j (t_j − a^L_j)²;
δ^l = ∂C/∂z^l.  (BP1) δ^L = (a^L − t) ⊙ σ'(z^L)   (BP2) δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ'(z^l)
(BP3) ∂C/∂b^l_j = δ^l_j   (BP4) ∂C/∂w^l_jk = a^{l−1}_k δ^l_j   update: w ← w − η ∂C/∂w."""

SIZES = ((4, 4, 1), (4, 8, 2), (8, 16, 4), (16, 32, 8), (32, 64, 16), (64, 128, 32), (64, 256, 64))
BATCH = 16


# ------------------------------------------------------------------ the network and its cost
@dataclass
class Problem:
    """An MLP (sigmoid layers) with a batch: parameters [W¹, b¹, W², b², ...], inputs X, targets T."""
    sizes: tuple[int, ...]
    parameters: list[np.ndarray]
    X: np.ndarray
    T: np.ndarray

    @property
    def n(self) -> int:
        return sum(p.size for p in self.parameters)

    def cost(self, *parameters: object) -> object:
        """C = (1/2B) Σ (a^L − t)², a^l = σ(W^l a^{l−1} + b^l) row by row (Tensors or plain arrays)."""
        a = self.X
        for l in range(len(self.sizes) - 1):
            a = ad.sigmoid(ad.linear(a, parameters[2 * l], parameters[2 * l + 1]))
        return ad.sum((a - self.T) ** 2) * (0.5 / len(self.X))


def make_problem(sizes: Iterable[int], batch: int = BATCH, seed: int = 0) -> Problem:
    """Seeded Xavier-scaled weights, zero biases, a random batch with targets in (0, 1)."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"modes: sizes must list at least two layers of at least one neuron, got {sizes}")
    rng = np.random.default_rng(seed)
    parameters = []
    for n_in, n_out in itertools.pairwise(sizes):
        parameters += [rng.normal(scale=math.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in)), np.zeros(n_out)]
    return Problem(sizes, parameters, rng.normal(size=(batch, sizes[0])), rng.uniform(0.1, 0.9, (batch, sizes[-1])))


# ------------------------------------------------------------------ the three ways to the full gradient
def reverse_gradient(problem: Problem) -> np.ndarray:
    """∇C by reverse mode: one forward pass, one backward pass (flattened in parameter order)."""
    grads = ad.grad(problem.cost, argnums=tuple(range(len(problem.parameters))))(*problem.parameters)
    return np.concatenate([np.ravel(g) for g in grads])


def _unit(problem: Problem, i: int) -> tuple[np.ndarray, ...]:
    """The tangent e_i: 1 for parameter number i (in flattened order), 0 elsewhere, shaped like the parameters."""
    tangents, offset = [], 0
    for p in problem.parameters:
        t = np.zeros_like(p)
        if offset <= i < offset + p.size:
            t.flat[i - offset] = 1.0
        tangents.append(t)
        offset += p.size
    return tuple(tangents)


def forward_partial(problem: Problem, i: int) -> float:
    """∂C/∂θ_i by forward mode: one sweep carrying the tangent e_i alongside the values (one JVP)."""
    _, tangent = ad.jvp(problem.cost, tuple(problem.parameters), _unit(problem, i))
    return float(np.asarray(tangent))


def difference_partial(problem: Problem, i: int, h: float = 1e-6) -> float:
    """∂C/∂θ_i ≈ (C(θ + h e_i) − C(θ − h e_i)) / 2h: two evaluations of C, no derivative rules at all."""
    step = _unit(problem, i)
    return central_difference(lambda s: float(problem.cost(*(p + s * e for p, e in zip(problem.parameters, step)))), h)


# ------------------------------------------------------------------ counting operations on the engine's graph
def _matmul_ops(node: Tensor) -> int:
    """2·(multiply-adds) of a product: (rows of the output) × (its columns) × (the inner dimension)."""
    x = node.inputs[0]
    inner = np.shape(x.data if isinstance(x, Tensor) else x)[-1]
    return 2 * node.size * inner


_ELEMENTWISE_RULE_OPS = {  # operations per element of a vjp or jvp rule (g·y·(1−y) is 3)
    "add": 0, "sub": 1, "mul": 1, "div": 2, "pow": 4, "neg": 1, "sigmoid": 3, "tanh": 3, "exp": 1, "log": 1,
    "relu": 2, "square": 2, "sum": 0, "mean": 1, "softplus": 2, "identity": 0,
}


def operation_counts(problem: Problem) -> dict[str, int]:
    """Arithmetic operations of one forward pass, one backward pass (all parameters) and one JVP, counted
    node by node on the engine's graph of C: a matrix product 2·m·k·n, elementwise work per element."""
    inputs = [ad.tensor(p, requires_grad=True) for p in problem.parameters]
    root = problem.cost(*inputs)
    forward = backward = tangent = 0
    for node in topological_order(root):
        if node.op is None:
            continue
        name = node.op.name
        if name in ("linear", "matmul"):
            forward += _matmul_ops(node) + (node.size if len(node.inputs) > 2 else 0)
            x_needs = isinstance(node.inputs[0], Tensor) and node.inputs[0].requires_grad
            # vjp: ∂C/∂W = ḡᵀx and ∂C/∂x = ḡW (if x depends on the parameters), ∂C/∂b = Σ ḡ
            backward += _matmul_ops(node) * (1 + x_needs) + (node.size if len(node.inputs) > 2 else 0)
            # jvp: Ẇ x + W ẋ (+ ḃ): one product per input that carries a tangent, plus the sums
            tangent += _matmul_ops(node) * (1 + x_needs) + node.size * (len(node.inputs) - 1 + x_needs)
        else:
            size = max(node.size, max((x.size for x in node.inputs if isinstance(x, Tensor)), default=1))
            rule_ops = _ELEMENTWISE_RULE_OPS.get(name, 1)
            forward += size
            backward += size * rule_ops
            tangent += size * max(rule_ops, 1)
    return {"forward": forward, "reverse": forward + backward, "jvp": forward + tangent}


# ------------------------------------------------------------------ the comparison
@dataclass
class ModeRow:
    """The full gradient of one network three ways: time (s) and counted operations."""
    sizes: tuple[int, ...]
    n: int
    reverse_seconds: float
    forward_seconds: float
    difference_seconds: float
    reverse_ops: int
    forward_ops: int
    difference_ops: int
    sampled: int  # partial derivatives computed by forward mode and by differences (n, or a sample of n)
    forward_error: float  # max |forward − reverse| over the sampled partials
    difference_error: float

    @property
    def extrapolated(self) -> bool:
        return self.sampled < self.n


def _best_time(run: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def compare_one(problem: Problem, sample: int = 64, seed: int = 0) -> ModeRow:
    """Time the full gradient by reverse mode (measured), forward mode and differences (measured for all n
    partials when n ≤ sample, else measured on `sample` partials chosen at random and scaled by n/sample)."""
    n = problem.n
    reverse = reverse_gradient(problem)
    reverse_seconds = _best_time(lambda: reverse_gradient(problem), 3)
    rng = np.random.default_rng(seed)
    chosen = np.arange(n) if n <= sample else np.sort(rng.choice(n, size=sample, replace=False))
    start = time.process_time()
    forward = [forward_partial(problem, int(i)) for i in chosen]
    forward_seconds = (time.process_time() - start) * n / len(chosen)
    start = time.process_time()
    differences = [difference_partial(problem, int(i)) for i in chosen]
    difference_seconds = (time.process_time() - start) * n / len(chosen)
    ops = operation_counts(problem)
    return ModeRow(problem.sizes, n, reverse_seconds, forward_seconds, difference_seconds, ops["reverse"],
                   n * ops["jvp"], 2 * n * ops["forward"], len(chosen),
                   float(np.max(np.abs(np.array(forward) - reverse[chosen]))),
                   float(np.max(np.abs(np.array(differences) - reverse[chosen]))))


def compare_modes(sizes: Iterable[Iterable[int]] = SIZES, sample: int = 64, batch: int = BATCH, seed: int = 0,
                  progress: Callable[[ModeRow], None] | None = None) -> list[ModeRow]:
    """One row per network, from tens to tens of thousands of parameters."""
    rows = []
    for s in sizes:
        row = compare_one(make_problem(s, batch=batch, seed=seed), sample=sample, seed=seed)
        rows.append(row)
        if progress:
            progress(row)
    return rows


def format_modes_table(rows: list[ModeRow]) -> str:
    """The comparison as an aligned text table; '*' marks times scaled up from a sample of partials."""
    header = ("sizes", "n params", "reverse CPU s", "forward CPU s", "differences CPU s", "reverse ops", "forward ops",
              "differences ops", "fwd/rev time", "checked", "max |fwd−rev|", "max |FD−rev|")
    lines = [header]
    for r in rows:
        star = "*" if r.extrapolated else ""
        lines.append(("-".join(map(str, r.sizes)), f"{r.n:,}", f"{r.reverse_seconds:.2g}",
                      f"{r.forward_seconds:.3g}{star}", f"{r.difference_seconds:.3g}{star}", f"{r.reverse_ops:,}",
                      f"{r.forward_ops:,}", f"{r.difference_ops:,}", f"{r.forward_seconds / r.reverse_seconds:,.0f}×",
                      f"{r.sampled:,}", f"{r.forward_error:.1e}", f"{r.difference_error:.1e}"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in lines)


def plot_modes(rows: list[ModeRow], path: str) -> str:
    """Log-log: time and counted operations of the full gradient against n (hollow: scaled from a sample)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..viz.plots import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    n = [r.n for r in rows]
    series = (("reverse mode: 1 backward pass", "reverse", "#1d4ed8", "o"),
              ("forward mode: n JVPs", "forward", "#b45309", "s"),
              ("finite differences: 2n evaluations", "difference", "#6b7280", "^"))
    for label, key, colour, marker in series:
        seconds = [getattr(r, f"{key}_seconds") for r in rows]
        ops = [getattr(r, f"{key}_ops") for r in rows]
        axes[0].plot(n, seconds, "-", marker=marker, color=colour, label=label)
        for r, s in zip(rows, seconds):
            hollow = key != "reverse" and r.extrapolated
            axes[0].plot(r.n, s, marker, color=colour, markerfacecolor="white" if hollow else colour)
        axes[1].plot(n, ops, "-", marker=marker, color=colour, label=label)
    axes[0].plot([], [], "o", color="black", markerfacecolor="white", label="scaled up from a sample of partials")
    axes[0].set_ylabel("CPU seconds for the full gradient")
    axes[0].set_title("CPU time (measured on this machine)")
    axes[1].set_ylabel("arithmetic operations")
    axes[1].set_title("Operations counted on the engine's graph")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n = number of parameters")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle("The full gradient ∂C/∂θ: reverse mode costs a few forward passes, the others n of them",
                 fontsize=12)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ what the backward pass reads
@dataclass
class StoredValue:
    """A forward value the backward pass reads: who made it, its shape and bytes, and which rule reads it."""
    description: str
    shape: tuple[int, ...]
    nbytes: int
    kind: str  # "parameter", "data" (inputs, targets, constants) or "intermediate"
    read_by: list[str] = field(default_factory=list)


@dataclass
class StoredReport:
    """Which stored forward values each rule reads, and the memory they keep alive until the sweep passes."""
    reads: list[tuple[str, list[str]]]  # (operation, the values its vjp rules read)
    values: list[StoredValue]
    intermediate_bytes: int
    total_bytes: int
    all_forward_bytes: int  # every value the forward pass made, for comparison


def _reads(node: Tensor, rng: np.random.Generator) -> list[int]:
    """Slots (0: the output y, i+1: input i) whose values change what node's vjp rules return: found by
    calling each rule with the stored values and again with one of them replaced by different numbers."""
    y = np.asarray(node.data)
    raw = list(node.saved)
    params = node.params or {}
    g = rng.normal(size=y.shape).astype(y.dtype) if y.shape else y.dtype.type(rng.normal())
    rules = [(i, node.op.vjp_rule(i)) for i, x in enumerate(node.inputs) if isinstance(x, Tensor) and x.requires_grad]
    rules = [(i, rule) for i, rule in rules if rule is not None]

    def call(values: list) -> list:
        with ad.no_grad(), np.errstate(all="ignore"):
            return [np.asarray(rule(g, values[0], *values[1:], **params)) for _, rule in rules]

    stored = [y, *raw]
    base = call(stored)
    return [slot for slot in range(len(stored)) if _changes_the_rules(call, base, stored, slot, rng)]


def _changes_the_rules(call: Callable[[list], list], base: list, stored: list, slot: int,
                       rng: np.random.Generator) -> bool:
    """Whether replacing the value in `slot` by other numbers (twice) changes what the rules return."""
    value = stored[slot]
    if isinstance(value, (float, np.floating)):
        value = np.float64(value)  # a number in the formula, e.g. the 2 of x**2
    elif not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return False
    for changed in (-1.37 * value - 0.61, rng.normal(size=value.shape).astype(value.dtype)):
        values = list(stored)
        values[slot] = changed
        try:
            result = call(values)
        except (ValueError, FloatingPointError):
            return True
        if any(r.shape != b.shape or not np.allclose(r, b, equal_nan=True) for r, b in zip(result, base)):
            return True
    return False


def _labels(order: list[Tensor], names: dict[int, str]) -> dict[int, str]:
    """A name for every tensor of the graph: the parameters' own, and op#k for the k-th result of each op."""
    labels: dict[int, str] = dict(names)
    counts: dict[str, int] = {}
    for t in order:
        if t.op is not None:
            counts[t.op.name] = counts.get(t.op.name, 0) + 1
            labels[id(t)] = f"{t.op.name}#{counts[t.op.name]}"
    return labels


def _stored_slot(t: Tensor, slot: int, labels: dict[int, str], names: dict[int, str]) -> tuple:
    """(identity, array, kind, description) of the value in `slot` of t's node (0: its output, i+1: input i)."""
    if slot == 0:
        return id(t), t.data, "intermediate", f"{labels[id(t)]} (its output)"
    source = t.inputs[slot - 1]
    array = source.data if isinstance(source, Tensor) else np.asarray(source)
    key = id(source) if isinstance(source, Tensor) else id(t) * 31 + slot
    if isinstance(source, Tensor) and source.op is not None:
        return key, array, "intermediate", labels[id(source)]
    if isinstance(source, Tensor) and source.requires_grad:
        return key, array, "parameter", names.get(id(source), "parameter")
    return key, array, "data", "the input data" if array.size > 1 else f"the constant {float(array):.6g}"


def stored_for_backward(problem: Problem, seed: int = 0) -> StoredReport:
    """Walk the graph of C; for every operation find which stored values (its inputs, its output) its
    derivative rules read; add up their bytes (each array once)."""
    rng = np.random.default_rng(seed)
    parameters = [ad.tensor(p, requires_grad=True) for p in problem.parameters]
    names = {id(p): f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i, p in enumerate(parameters)}
    root = problem.cost(*parameters)
    order = topological_order(root)
    labels = _labels(order, names)
    stored: dict[int, StoredValue] = {}
    reads = []
    for t in order:
        if t.op is None or not t.requires_grad:
            continue
        read_names = []
        for slot in _reads(t, rng):
            key, array, kind, what = _stored_slot(t, slot, labels, names)
            if key not in stored:
                stored[key] = StoredValue(what, tuple(np.shape(array)), int(np.asarray(array).nbytes), kind)
            stored[key].read_by.append(labels[id(t)])
            read_names.append(f"{what} {'×'.join(map(str, np.shape(array)))}".rstrip())
        reads.append((labels[id(t)], read_names))
    values = list(stored.values())
    all_forward = sum(t.data.nbytes for t in order if t.op is not None)
    return StoredReport(reads, values, sum(v.nbytes for v in values if v.kind == "intermediate"),
                        sum(v.nbytes for v in values), all_forward)


def format_stored_report(report: StoredReport, problem: Problem) -> str:
    """The answer to 'can the backward pass start before the forward pass ends?', with this network's numbers."""
    lines = ["Can the backward pass start before the forward pass ends?",
             "No. Its first step needs ∂C/∂a^L, which exists only once C has been computed, and each later step",
             "reads values that the forward pass stored. Forward mode needs no stored values (it carries ẋ",
             "alongside x and forgets each value once used), but it gives one directional derivative per pass.", "",
             (f"Network {'-'.join(map(str, problem.sizes))}, batch {len(problem.X)}, float64. What each backward "
              "rule reads (found by probing the engine's rules):")]
    rows = [(op, ", ".join(r) if r else "nothing (only shapes)") for op, r in report.reads]
    width = max(len(op) for op, _ in rows)
    lines += [f"  {op.ljust(width)}  reads {what}" for op, what in rows]
    lines += ["", (f"Stored for the backward pass: {len(report.values)} arrays, {report.total_bytes:,} bytes; "
                   f"of these {report.intermediate_bytes:,} bytes are"),
              "intermediate values kept only because the backward pass will read them (the rest are parameters and",
              (f"data, which exist anyway). The forward pass made {report.all_forward_bytes:,} bytes of values in all."),
              "This memory grows with batch size × depth: it is what limits the training of deep networks.",
              "Gradient checkpointing trades it for recomputation: keep every k-th layer's activation, recompute",
              "each segment when the backward pass reaches it. Done both ways by the engine on a deeper network:",
              *("  " + line for line in format_checkpointing(checkpointing(width=16, layers=16, batch=16,
                                                                            every=4)).splitlines())]
    return "\n".join(lines)


def modes_csv(rows: list[ModeRow]) -> str:
    """The comparison as CSV text."""
    names = list(ModeRow.__dataclass_fields__)
    lines = [",".join(names)]
    for r in rows:
        lines.append(",".join("-".join(map(str, r.sizes)) if n == "sizes" else str(getattr(r, n)) for n in names))
    return "\n".join(lines) + "\n"


def compare_modes_report(out_dir: str = "runs/compare-modes", sizes: Iterable[Iterable[int]] = SIZES,
                         sample: int = 64, batch: int = BATCH, write: Callable[[str], None] = print) -> dict[str, str]:
    """Everything `chainrule compare modes` shows: the three ways to the full gradient (table, CSV, log-log
    plot in out_dir) and what the backward pass must keep from the forward pass. Returns the files written."""
    from pathlib import Path

    sizes = [tuple(s) for s in sizes]
    write(LEGEND + "\n")
    write("The full gradient ∂C/∂θ of a sigmoid MLP's cost (½‖a^L − t‖² averaged over a batch of "
          f"{batch}), three ways:")
    write("  reverse mode: one forward pass, then one backward pass gives all n partial derivatives;")
    write("  forward mode: one JVP (a forward pass carrying a tangent θ̇ = e_i) gives one partial: n JVPs;")
    write("  finite differences: (C(θ + h e_i) − C(θ − h e_i)) / 2h: two evaluations per partial: 2n evaluations.")
    write(f"Times are CPU seconds. Those marked * are measured on {sample} randomly chosen partials and multiplied")
    write(f"by n/{sample}; those partials are also checked against reverse mode. Operations are counted on the")
    write("engine's graph (a matrix product (m×k)(k×n) is 2mkn; elementwise work a few per element).")

    def progress(row: ModeRow) -> None:
        write(f"  … {'-'.join(map(str, row.sizes))}: n = {row.n:,} done")

    rows = compare_modes(sizes, sample=sample, batch=batch, progress=progress)
    write("")
    write(format_modes_table(rows))
    last = rows[-1]
    write(f"\nAt n = {last.n:,}, forward mode needs {last.forward_ops / last.reverse_ops:,.0f}× the operations of "
          f"reverse mode and finite differences {last.difference_ops / last.reverse_ops:,.0f}×: both grow like n × "
          "(one pass), reverse mode like a few passes.")
    write("At these sizes the reverse pass's time is mostly Python's fixed cost per operation, so it hardly grows.")
    problem = make_problem(sizes[0], batch=batch)
    write("")
    write(format_stored_report(stored_for_backward(problem), problem))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"table": str(out / "modes.csv"), "plot": str(out / "modes.png")}
    write_atomically(files["table"], modes_csv(rows))
    plot_modes(rows, files["plot"])
    write(f"\nwrote {files['table']} and {files['plot']}")
    return files
