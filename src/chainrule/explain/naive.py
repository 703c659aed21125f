"""The naive method beside back-propagation: C written out as one SymPy expression in every weight, then
differentiated once per weight, as a learner would by hand.

It checks that the derivatives equal back-propagation's (the engine's), measures how their size and cost grow
with depth, and finds the sub-expressions they share: the δ's that back-propagation computes once.
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from ..autodiff import tensor
from ..files import write_atomically
from ..nn.activations import ACTIVATIONS as REGISTRY
from .modes import LEGEND

MAX_PARAMETERS = 400

# The classic 2-2-2 example (x, t and every weight fixed), used when no network is given.
CLASSIC = {
    "sizes": (2, 2, 2),
    "x": (0.05, 0.10),
    "t": (0.01, 0.99),
    "W": (((0.15, 0.20), (0.25, 0.30)), ((0.40, 0.45), (0.50, 0.55))),
    "b": ((0.35, 0.35), (0.60, 0.60)),
}


class sigma(sympy.Function):
    """σ(z) = 1/(1 + e^−z), kept as one symbol so that expressions stay readable; σ'(z) = σ(z)(1 − σ(z))."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = sigma(self.args[0])
        return s * (1 - s)


# σ as a SymPy function, for the activations this method writes out. Their values, and the σ the engine runs,
# come from the one registry, chainrule.nn.activations.ACTIVATIONS.
ACTIVATIONS: dict[str, type[sympy.Function]] = {"sigmoid": sigma, "tanh": sympy.tanh, "arctan": sympy.atan}
_ACTIVATION_NAMES = {function: name for name, function in ACTIVATIONS.items()}


def _sigma_value(name: str, z: float) -> float:
    """σ(z) for one number, by the registry's (the engine's) σ."""
    return float(REGISTRY[name](np.float64(z)).item())


# ------------------------------------------------------------------ the network, numerically
@dataclass
class Network:
    """An MLP with one example: sizes n_0..n_L, W[l] of shape (n_l, n_{l−1}) and b[l] for l = 1..L (W[0] unused)."""
    sizes: tuple[int, ...]
    W: list[np.ndarray | None]
    b: list[np.ndarray | None]
    x: np.ndarray
    t: np.ndarray
    activation: str = "sigmoid"

    @property
    def L(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_parameters(self) -> int:
        return sum(self.sizes[l] * (self.sizes[l - 1] + 1) for l in range(1, self.L + 1))


def classic_network() -> Network:
    """The 2-2-2 sigmoid network of the worked example (x = (0.05, 0.10), t = (0.01, 0.99))."""
    c = CLASSIC
    return Network(c["sizes"], [None, *(np.array(w) for w in c["W"])], [None, *(np.array(b) for b in c["b"])],
                   np.array(c["x"]), np.array(c["t"]))


def random_network(sizes: Iterable[int], seed: int = 0, activation: str = "sigmoid") -> Network:
    """An MLP with weights and biases drawn from N(0, 1) (seeded), x = 0.05, 0.10, ... and t in (0, 1)."""
    sizes = tuple(int(n) for n in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"naive: sizes must list at least two layers of at least one neuron, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"naive: unknown activation '{activation}'; choose from {', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    W = [None] + [rng.normal(size=(sizes[l], sizes[l - 1])) for l in range(1, len(sizes))]
    b = [None] + [rng.normal(size=sizes[l]) for l in range(1, len(sizes))]
    x = 0.05 * np.arange(1, sizes[0] + 1)
    t = np.linspace(0.01, 0.99, sizes[-1]) if sizes[-1] > 1 else np.array([0.99])
    return Network(sizes, W, b, x, t, activation)


# ------------------------------------------------------------------ names in the notation (neurons from 1)
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def symbol_name(kind: str, l: int, *index: int) -> str:
    """'w¹₁₂' for w^1_{12}: layer as a superscript, neurons (counted from 1) as subscripts."""
    sep = "," if any(i >= 9 for i in index) else ""
    return kind + str(l).translate(_SUP) + sep.join(str(i + 1) for i in index).translate(_SUB)


# ------------------------------------------------------------------ the learner's method
@dataclass
class SymbolicCost:
    """C as one expression in the parameters: W[l][j][k] and b[l][j] are SymPy symbols."""
    network: Network
    W: list[list[list[sympy.Symbol]] | None]
    b: list[list[sympy.Symbol] | None]
    cost: sympy.Expr
    parameters: list[sympy.Symbol] = field(default_factory=list)  # W¹ row by row, b¹, W², b², ...

    def values(self, network: Network | None = None) -> dict[sympy.Symbol, float]:
        """Each symbol's number in `network` (by default the one C was written for)."""
        net = network or self.network
        out = {}
        for l in range(1, net.L + 1):
            for j in range(net.sizes[l]):
                out[self.b[l][j]] = float(net.b[l][j])
                for k in range(net.sizes[l - 1]):
                    out[self.W[l][j][k]] = float(net.W[l][j, k])
        return out


def symbolic_cost(network: Network) -> SymbolicCost:
    """C(w) = ½ Σ_j (t_j − a^L_j)² with a^l = σ(W^l a^{l−1} + b^l) substituted all the way down to a^0 = x."""
    if network.n_parameters > MAX_PARAMETERS:
        raise ValueError(f"naive: {network.n_parameters} parameters is too many to write out (limit {MAX_PARAMETERS})")
    act = ACTIVATIONS[network.activation]
    W: list = [None]
    b: list = [None]
    parameters = []
    a = [sympy.Float(v) for v in network.x]
    for l in range(1, network.L + 1):
        W.append([[sympy.Symbol(symbol_name("w", l, j, k)) for k in range(network.sizes[l - 1])]
                  for j in range(network.sizes[l])])
        b.append([sympy.Symbol(symbol_name("b", l, j)) for j in range(network.sizes[l])])
        parameters += [w for row in W[l] for w in row] + b[l]
        a = [act(sympy.Add(*(W[l][j][k] * a[k] for k in range(len(a)))) + b[l][j]) for j in range(network.sizes[l])]
    cost = sympy.Rational(1, 2) * sympy.Add(*((sympy.Float(t) - a_j) ** 2 for t, a_j in zip(network.t, a)))
    return SymbolicCost(network, W, b, cost, parameters)


def naive_derivatives(c: SymbolicCost) -> dict[sympy.Symbol, sympy.Expr]:
    """∂C/∂p for every parameter p, differentiating the written-out C separately for each one."""
    return {p: sympy.diff(c.cost, p) for p in c.parameters}


def evaluate(expr: sympy.Expr, values: dict, memo: dict | None = None) -> float:
    """The number an expression stands for, each distinct sub-expression computed once."""
    memo = {} if memo is None else memo

    def value(e: sympy.Basic) -> float:
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            result = values[e]
        elif e.is_Number:
            result = float(e)
        elif e.is_Add:
            result = math.fsum(value(a) for a in e.args)
        elif e.is_Mul:
            result = math.prod(value(a) for a in e.args)
        elif e.is_Pow:
            result = value(e.args[0]) ** value(e.args[1])
        elif e.func in _ACTIVATION_NAMES:
            result = _sigma_value(_ACTIVATION_NAMES[e.func], value(e.args[0]))
        else:
            raise TypeError(f"naive: cannot evaluate {type(e).__name__} ({e})")
        memo[e] = result
        return result

    return value(expr)


# ------------------------------------------------------------------ sizes and operation counts
def _own_operations(e: sympy.Basic) -> int:
    """Operations at the top of e: n−1 for a sum or product of n terms, 1 for a power or a function.
    A factor −1 is a sign, not a multiplication, so a − b counts one operation."""
    if e.is_Add:
        return len(e.args) - 1
    if e.is_Mul:
        return len(e.args) - 1 - (e.args[0] == -1)
    if e.is_Atom:
        return 0
    return 1


def tree_size(exprs: Iterable[sympy.Basic]) -> int:
    """Nodes of the expressions written out in full (a repeated sub-expression counted each time it appears)."""
    memo: dict = {}

    def size(e: sympy.Basic) -> int:
        if e not in memo:
            memo[e] = 1 + sum(size(a) for a in e.args)
        return memo[e]

    return sum(size(e) for e in exprs)


def operation_count(exprs: Iterable[sympy.Basic]) -> int:
    """Arithmetic operations (+ − × ÷, powers, σ) to evaluate the expressions as written, nothing reused."""
    memo: dict = {}

    def ops(e: sympy.Basic) -> int:
        if e not in memo:
            memo[e] = _own_operations(e) + sum(ops(a) for a in e.args)
        return memo[e]

    return sum(ops(e) for e in exprs)


def shared_operation_count(exprs: Iterable[sympy.Basic]) -> int:
    """Operations when every repeated sub-expression (across all the expressions) is computed only once."""
    seen: set = set()
    stack = list(exprs)
    total = 0
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        total += _own_operations(e)
        stack.extend(e.args)
    return total


def backprop_operation_count(sizes: Iterable[int]) -> int:
    """Operations of back-propagation for one example, counted like the naive ones:
    forward Σ n_l(2n_{l−1} + 1), BP1 4n_L, BP2 Σ_{l<L} n_l(2n_{l+1} + 2), BP3 none, BP4 Σ n_l n_{l−1}."""
    n = tuple(sizes)
    L = len(n) - 1
    forward = sum(n[l] * (2 * n[l - 1] + 1) for l in range(1, L + 1))
    bp1 = 4 * n[L]
    bp2 = sum(n[l] * (2 * n[l + 1] + 2) for l in range(1, L))
    bp4 = sum(n[l] * n[l - 1] for l in range(1, L + 1))
    return forward + bp1 + bp2 + bp4


def backprop_program(sizes: Iterable[int]) -> list[tuple[sympy.Symbol, sympy.Expr]]:
    """Back-propagation as a list of scalar assignments (z, a forward; δ by BP1 and BP2; ∂C/∂w by BP4),
    each a new symbol, so each step is written once and reused, and its operations can be counted."""
    n = tuple(sizes)
    L = len(n) - 1
    W = [None] + [[[sympy.Symbol(symbol_name("w", l, j, k)) for k in range(n[l - 1])] for j in range(n[l])]
                  for l in range(1, L + 1)]
    program: list[tuple[sympy.Symbol, sympy.Expr]] = []
    a = _forward_program(n, W, program)
    delta = _backward_program(n, W, a, program)
    for l in range(1, L + 1):
        for j in range(n[l]):
            for k in range(n[l - 1]):
                program.append((sympy.Symbol("∂C/∂" + symbol_name("w", l, j, k)),
                                sympy.Mul(delta[l][j], a[l - 1][k], evaluate=False)))        # (BP4)
    return program


def _forward_program(n: tuple[int, ...], W: list, program: list) -> list:
    """Append z^l_j = Σ_k w^l_jk a^{l−1}_k + b^l_j and a^l_j = σ(z^l_j) to the program; return the a's."""
    a: list = [[sympy.Symbol(f"x{k + 1}".translate(_SUB)) for k in range(n[0])]]
    for l in range(1, len(n)):
        a_l = []
        for j in range(n[l]):
            z = sympy.Symbol(symbol_name("z", l, j))
            program.append((z, sympy.Add(*(sympy.Mul(W[l][j][k], a[l - 1][k], evaluate=False) for k in range(n[l - 1])),
                                         sympy.Symbol(symbol_name("b", l, j)), evaluate=False)))
            a_lj = sympy.Symbol(symbol_name("a", l, j))
            program.append((a_lj, sigma(z)))
            a_l.append(a_lj)
        a.append(a_l)
    return a


def _backward_program(n: tuple[int, ...], W: list, a: list, program: list) -> list:
    """Append δ^L by BP1 and δ^l by BP2 (σ′ written as a(1 − a)) to the program; return the δ's."""
    L = len(n) - 1
    t = [sympy.Symbol(f"t{j + 1}".translate(_SUB)) for j in range(n[L])]
    delta: list = [None] * (L + 1)
    delta[L] = []
    for j in range(n[L]):
        d = sympy.Symbol(symbol_name("δ", L, j))
        derivative = sympy.Mul(a[L][j], sympy.Add(1, -a[L][j], evaluate=False), evaluate=False)
        program.append((d, sympy.Mul(sympy.Add(a[L][j], -t[j], evaluate=False), derivative, evaluate=False)))
        delta[L].append(d)
    for l in range(L - 1, 0, -1):
        delta[l] = []
        for k in range(n[l]):
            d = sympy.Symbol(symbol_name("δ", l, k))
            back = sympy.Add(*(sympy.Mul(W[l + 1][j][k], delta[l + 1][j], evaluate=False) for j in range(n[l + 1])),
                             evaluate=False)
            derivative = sympy.Mul(a[l][k], sympy.Add(1, -a[l][k], evaluate=False), evaluate=False)
            program.append((d, sympy.Mul(back, derivative, evaluate=False)))
            delta[l].append(d)
    return delta


def program_operation_count(program: list[tuple[sympy.Symbol, sympy.Expr]]) -> int:
    """Operations of a straight-line program: each assignment's right-hand side counted as written."""
    return operation_count(expr for _, expr in program)


# ------------------------------------------------------------------ back-propagation by the engine
@dataclass
class Backprop:
    """The engine's reverse mode on the network: C, z[l], a[l], delta[l] = ∂C/∂z[l] (retain_grad), ∂C/∂W[l], ∂C/∂b[l]."""
    cost: float
    z: list
    a: list
    delta: list
    dW: list
    db: list


def backprop_gradient(network: Network) -> Backprop:
    """One forward and one backward pass of chainrule's engine for the network's one example."""
    act = REGISTRY[network.activation]
    W = [None] + [tensor(network.W[l], requires_grad=True) for l in range(1, network.L + 1)]
    b = [None] + [tensor(network.b[l], requires_grad=True) for l in range(1, network.L + 1)]
    a = [tensor(network.x)]
    z: list = [None]
    for l in range(1, network.L + 1):
        z.append((W[l] @ a[l - 1] + b[l]).retain_grad())
        a.append(act(z[l]))
    cost = 0.5 * ((tensor(network.t) - a[network.L]) ** 2).sum()
    cost.backward()
    return Backprop(float(cost.data), [None] + [v.data for v in z[1:]], [v.data for v in a],
                    [None] + [v.grad.data for v in z[1:]], [None] + [w.grad.data for w in W[1:]],
                    [None] + [v.grad.data for v in b[1:]])


def _backprop_values(c: SymbolicCost, network: Network) -> dict[sympy.Symbol, float]:
    bp = backprop_gradient(network)
    out = {}
    for l in range(1, network.L + 1):
        for j in range(network.sizes[l]):
            out[c.b[l][j]] = float(bp.db[l][j])
            for k in range(network.sizes[l - 1]):
                out[c.W[l][j][k]] = float(bp.dW[l][j, k])
    return out


# ------------------------------------------------------------------ (a) the same numbers
@dataclass
class NaiveCheck:
    """The naive derivatives beside back-propagation's, parameter by parameter."""
    cost: SymbolicCost
    derivatives: dict[sympy.Symbol, sympy.Expr]
    naive: dict[sympy.Symbol, float]
    backprop: dict[sympy.Symbol, float]

    @property
    def max_difference(self) -> float:
        return max(abs(self.naive[p] - self.backprop[p]) for p in self.naive)


def check_against_backprop(network: Network | None = None, tolerance: float = 1e-12) -> NaiveCheck:
    """Differentiate C once per parameter (SymPy), evaluate, and compare with the engine's back-propagation."""
    network = network or classic_network()
    c = symbolic_cost(network)
    derivatives = naive_derivatives(c)
    values, memo = c.values(), {}
    naive = {p: evaluate(d, values, memo) for p, d in derivatives.items()}
    backprop = _backprop_values(c, network)
    check = NaiveCheck(c, derivatives, naive, backprop)
    scale = max(1.0, max(abs(v) for v in backprop.values()))
    if check.max_difference > tolerance * scale:
        raise AssertionError(f"naive: the naive derivatives differ from back-propagation's by {check.max_difference:.3g}")
    return check


# ------------------------------------------------------------------ (c) cost as the network deepens
@dataclass
class CostRow:
    """One network of the sweep: sizes, expression size, operations and time, naive against back-propagation."""
    hidden_layers: int
    width: int
    sizes: tuple[int, ...]
    n_parameters: int
    cost_size: int  # nodes of C written out
    derivative_size: int | None  # nodes of all ∂C/∂p written out
    naive_operations: int | None  # to evaluate every ∂C/∂p as written
    shared_operations: int | None  # the same, each repeated sub-expression computed once
    backprop_operations: int
    naive_seconds: float | None  # CPU seconds for SymPy to differentiate C once per parameter (deriving)
    backprop_seconds: float  # CPU seconds for chainrule's forward and backward pass (evaluating)
    max_difference: float | None
    skipped: str = ""  # why the naive route was not run
    naive_evaluate_seconds: float | None = None  # CPU seconds to evaluate every derived ∂C/∂p once (evaluating)


def cost_sweep(hidden: Iterable[int] = range(1, 7), widths: Iterable[int] = (2, 3, 4), n_in: int = 2,
               n_out: int = 2, seconds_limit: float = 60.0, seed: int = 0,
               progress: Callable[[CostRow], None] | None = None) -> list[CostRow]:
    """Naive differentiation against back-propagation for 1..6 hidden layers of each width; a network whose
    naive route is predicted (from the previous depth's growth) to take over `seconds_limit` is not run."""
    rows = []
    for width in widths:
        times: list[float] = []
        for h in hidden:
            network = random_network((n_in, *([width] * h), n_out), seed=seed)
            c = symbolic_cost(network)
            predicted = times[-1] ** 2 / times[-2] if len(times) >= 2 and times[-2] > 0 else 0.0
            row = CostRow(h, width, network.sizes, network.n_parameters, tree_size([c.cost]), None, None, None,
                          backprop_operation_count(network.sizes), None, _time_backprop(network), None)
            if predicted > seconds_limit:
                row.skipped = f"predicted {predicted:.0f} s > {seconds_limit:g} s"
                times.append(predicted)  # the next depth is extrapolated from this prediction
            else:
                sympy.core.cache.clear_cache()  # time the differentiation itself, not SymPy's memory of a previous one
                start = time.process_time()
                derivatives = naive_derivatives(c)
                row.naive_seconds = time.process_time() - start
                times.append(row.naive_seconds)
                exprs = list(derivatives.values())
                row.derivative_size = tree_size(exprs)
                row.naive_operations = operation_count(exprs)
                row.shared_operations = shared_operation_count(exprs)
                values, memo = c.values(), {}
                start = time.process_time()
                naive = {p: evaluate(d, values, memo) for p, d in derivatives.items()}
                row.naive_evaluate_seconds = time.process_time() - start
                backprop = _backprop_values(c, network)
                row.max_difference = max(abs(naive[p] - backprop[p]) for p in derivatives)
            rows.append(row)
            if progress:
                progress(row)
    return rows


def _time_backprop(network: Network, repeats: int = 5) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        backprop_gradient(network)
        best = min(best, time.process_time() - start)
    return best


def format_cost_table(rows: list[CostRow]) -> str:
    """The sweep as two aligned text tables: operations (counted alike for every method), then CPU time, with the
    time to derive (SymPy, once per network) apart from the time to evaluate every derivative once."""
    def opt(v: object, fmt: str = "{:,}") -> str:
        return "—" if v is None else fmt.format(v)

    operations = [("hidden", "width", "params", "size of C", "size of ∂C/∂p", "naive ops", "shared ops", "BP ops",
                   "naive/BP")]
    times = [("hidden", "width", "params", "derive: SymPy s", "evaluate: naive s", "evaluate: BP s",
              "max |naive−BP|")]
    for r in rows:
        ratio = "—" if r.naive_operations is None else f"{r.naive_operations / r.backprop_operations:,.0f}×"
        network = (str(r.hidden_layers), str(r.width), str(r.n_parameters))
        operations.append((*network, f"{r.cost_size:,}", opt(r.derivative_size), opt(r.naive_operations),
                           opt(r.shared_operations), f"{r.backprop_operations:,}", ratio))
        times.append((*network, opt(r.naive_seconds, "{:.3g}"), opt(r.naive_evaluate_seconds, "{:.2g}"),
                      f"{r.backprop_seconds:.2g}", opt(r.max_difference, "{:.1e}") if not r.skipped else r.skipped))
    return ("Operations to evaluate every ∂C/∂p (each + − × ÷ power σ counted once, the same way for every "
            "method):\n" + _aligned(operations) + "\n\nCPU seconds (deriving and evaluating are different "
            "work, so they are shown apart):\n" + _aligned(times))


def _aligned(lines: list[tuple[str, ...]]) -> str:
    """Rows of cells right-aligned in columns (the last column left-aligned: it may hold a sentence)."""
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    last = len(widths) - 1
    return "\n".join("  ".join(cell.rjust(w) if i < last else cell for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in lines)


_STYLES = {"naive": ("o", "-"), "shared": ("^", "-."), "backprop": ("s", "--"), "cost": ("D", ":"),
           "derive": ("v", (0, (1, 1)))}  # (marker, line) per method in the sweep's plot


def _draw_width(axes: Any, mine: list[CostRow], colour: str) -> None:
    """One width's curves on the three panels: sizes, operations, CPU seconds (derive apart from evaluate)."""
    done = [r for r in mine if r.naive_operations is not None]
    hs, all_hs = [r.hidden_layers for r in done], [r.hidden_layers for r in mine]

    def draw(ax: Any, x: list, y: list, style: str) -> None:
        marker, line = _STYLES[style]
        ax.plot(x, y, marker=marker, linestyle=line, color=colour)

    draw(axes[0], hs, [r.derivative_size for r in done], "naive")
    draw(axes[0], all_hs, [r.cost_size for r in mine], "cost")
    draw(axes[1], hs, [r.naive_operations for r in done], "naive")
    draw(axes[1], hs, [r.shared_operations for r in done], "shared")
    draw(axes[1], all_hs, [r.backprop_operations for r in mine], "backprop")
    draw(axes[2], hs, [r.naive_seconds for r in done], "derive")
    draw(axes[2], hs, [r.naive_evaluate_seconds for r in done], "shared")
    draw(axes[2], all_hs, [r.backprop_seconds for r in mine], "backprop")


def plot_cost_sweep(rows: list[CostRow], path: str) -> str:
    """Three log-scale panels against depth: expression size, operations, time; colour = width, line = method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from ..viz.plots import save_figure

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    widths = sorted({r.width for r in rows})
    for i, width in enumerate(widths):
        _draw_width(axes, [r for r in rows if r.width == width], colours[i % len(colours)])
    titles = ("Expression size (nodes, written out)", "Arithmetic operations for every ∂C/∂w",
              "CPU seconds: derive once (SymPy), evaluate once")
    for ax, title in zip(axes, titles):
        ax.set_yscale("log")
        ax.set_xlabel("hidden layers (2 inputs, 2 outputs)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xticks(sorted({r.hidden_layers for r in rows}))
    handles = [Line2D([], [], color=colours[i % len(colours)], linewidth=3, label=f"hidden width {w}")
               for i, w in enumerate(widths)]
    meanings = {"naive": "naive: every ∂C/∂w as written (SymPy)", "shared": "naive, each repeated piece once",
                "backprop": "back-propagation (chainrule)", "cost": "C itself, written out",
                "derive": "time for SymPy to derive every ∂C/∂w"}
    handles += [Line2D([], [], color="black", marker=_STYLES[k][0], linestyle=_STYLES[k][1], label=text)
                for k, text in meanings.items()]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.suptitle("Differentiating the written-out cost once per weight (naive) vs back-propagation", fontsize=13)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ (b) what the derivatives share
@dataclass
class SharedPiece:
    """A sub-expression that sympy.cse found in several naive derivatives, and what it is in BP's terms."""
    symbol: sympy.Symbol
    expression: sympy.Expr
    meaning: str  # e.g. 'δ²₁' or '−δ²₁' or 'a¹₁', '' if it matches none


@dataclass
class SharedSubexpressions:
    """sympy.cse applied to all the naive derivatives at once, its pieces identified with BP's quantities."""
    pieces: list[SharedPiece]
    reduced: dict[sympy.Symbol, sympy.Expr]  # each ∂C/∂p in terms of the pieces
    reduced_meaning: dict[sympy.Symbol, str]
    operations_written_out: int
    operations_after_cse: int
    backprop_operations: int
    operations_shared: int = 0  # each distinct sub-expression once, as the sweep's "shared ops" counts


def _quantities(network: Network) -> dict[str, float]:
    """Every named quantity of back-propagation as a number, from the engine: z, a, σ'(z), δ, and the terms
    w·δ·σ'(z) of BP2 and a·δ of BP4."""
    bp = backprop_gradient(network)
    out: dict[str, float] = {}
    for l in range(1, network.L + 1):
        a, a_before = bp.a[l], bp.a[l - 1]
        slope = np.asarray(REGISTRY[network.activation].textbook_derivative(np.asarray(bp.z[l], dtype=np.float64)))
        for j in range(network.sizes[l]):
            out[symbol_name("a", l, j)] = a[j]
            out[symbol_name("z", l, j)] = bp.z[l][j]
            out[f"σ'({symbol_name('z', l, j)})"] = slope[j]
            out[symbol_name("δ", l, j)] = bp.delta[l][j]
            out[f"1 − {symbol_name('a', l, j)}"] = 1 - a[j]
            for k in range(network.sizes[l - 1]):
                before = symbol_name("a", l - 1, k) if l > 1 else f"x{k + 1}".translate(_SUB)
                out[f"{before}·{symbol_name('δ', l, j)}"] = a_before[k] * bp.delta[l][j]
                out[f"{symbol_name('w', l, j, k)}·{before}"] = network.W[l][j, k] * a_before[k]
            if l < network.L:
                for i in range(network.sizes[l + 1]):
                    w_delta = network.W[l + 1][i, j] * bp.delta[l + 1][i]
                    out[f"{symbol_name('w', l + 1, i, j)}·{symbol_name('δ', l + 1, i)}"] = w_delta
                    out[f"{symbol_name('w', l + 1, i, j)}·{symbol_name('δ', l + 1, i)}·σ'({symbol_name('z', l, j)})"] = \
                        w_delta * slope[j]
    return out


def _identify(values: list[float], candidates: list[dict[str, float]]) -> str:
    """The name whose value equals ±the piece's value at every one of the networks tried ('' if none)."""
    for name in candidates[0]:
        for sign, prefix in ((1, ""), (-1, "−")):
            if all(math.isclose(v, sign * c[name], rel_tol=1e-9, abs_tol=1e-15) for v, c in zip(values, candidates)):
                return prefix + name
    return ""


def shared_subexpressions(network: Network | None = None, seed: int = 1) -> SharedSubexpressions:
    """Run sympy.cse on all the naive derivatives together and name each shared piece in BP's notation,
    by comparing its value with z, a, σ'(z), δ and the terms of BP2/BP4 at the network and a second one."""
    network = network or classic_network()
    c = symbolic_cost(network)
    derivatives = naive_derivatives(c)
    replacements, reduced = sympy.cse(list(derivatives.values()), optimizations=None)
    other = random_network(network.sizes, seed=seed, activation=network.activation)
    other.x, other.t = network.x, network.t  # only the weights differ: x and t are numbers inside C
    networks = (network, other)
    candidates = [_quantities(n) for n in networks]
    point_values = [c.values(n) for n in networks]
    pieces, piece_values = [], [dict(v) for v in point_values]
    for symbol, expression in replacements:
        values = []
        for known in piece_values:
            known[symbol] = evaluate(expression, known)
            values.append(known[symbol])
        pieces.append(SharedPiece(symbol, expression, _identify(values, candidates)))
    reduced_map = dict(zip(derivatives, reduced))
    meaning = {}
    for p, expression in reduced_map.items():
        meaning[p] = _identify([evaluate(expression, known) for known in piece_values], candidates)
    after = operation_count([e for _, e in replacements] + list(reduced))
    return SharedSubexpressions(pieces, reduced_map, meaning, operation_count(derivatives.values()), after,
                                backprop_operation_count(network.sizes),
                                shared_operation_count(derivatives.values()))


# ------------------------------------------------------------------ the printout


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_check(check: NaiveCheck, expression_limit: int = 900) -> str:
    """(a): C written out, and every naive derivative's value beside back-propagation's."""
    net = check.cost.network
    lines = [(f"(a) The naive method: C written out as one expression in all {len(check.naive)} parameters of the "
             f"{'-'.join(map(str, net.sizes))} network"), (f"    (σ = {net.activation}, x = {[float(v) for v in net.x]}, "
             f"t = {[float(v) for v in net.t]}; written out, C has {tree_size([check.cost.cost]):,} nodes):"), ""]
    lines += ["    C = " + _short(str(check.cost.cost), expression_limit), ""]
    first = check.cost.parameters[0]
    lines += [(f"    Differentiating C separately for each parameter, e.g. ∂C/∂{first} "
              f"({tree_size([check.derivatives[first]]):,} nodes):"),
              "    ∂C/∂" + f"{first} = " + _short(str(check.derivatives[first]), expression_limit), ""]
    rows = [("parameter", "naive: ∂C/∂p by SymPy", "back-propagation (engine)", "difference")]
    rows += [(str(p), f"{check.naive[p]:.10g}", f"{check.backprop[p]:.10g}", f"{check.naive[p] - check.backprop[p]:.1e}")
             for p in check.naive]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines += ["    " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    lines += ["", (f"    Every derivative agrees (largest difference {check.max_difference:.1e}, rounding only): the "
              "learner's method is right. Its cost is the problem.")]
    return "\n".join(lines)


def format_shared(shared: SharedSubexpressions, expression_limit: int = 90) -> str:
    """(b): the pieces that sympy.cse finds in all the naive derivatives, named in back-propagation's terms."""
    lines = ["(b) What the naive derivatives share. sympy.cse pulls out every sub-expression used more than once;",
             "    each piece is named by comparing its value with back-propagation's quantities (at two networks):", ""]
    width = max(len(str(p.symbol)) for p in shared.pieces)
    texts = [_short(str(p.expression), expression_limit) for p in shared.pieces]
    column = max(len(t) for t in texts)
    for p, text in zip(shared.pieces, texts):
        meaning = f"  = {p.meaning}" if p.meaning else ""
        lines.append(f"    {str(p.symbol).ljust(width)} = {text.ljust(column)}{meaning}".rstrip())
    lines += ["", "    and then every derivative is short:"]
    width = max(len(str(p)) for p in shared.reduced)
    texts = [_short(str(e), expression_limit) for e in shared.reduced.values()]
    column = max(len(t) for t in texts)
    for (p, _), text in zip(shared.reduced.items(), texts):
        meaning = f"  = {shared.reduced_meaning[p]}" if shared.reduced_meaning[p] else ""
        lines.append(f"    ∂C/∂{str(p).ljust(width)} = {text.ljust(column)}{meaning}".rstrip())
    lines += ["", "    The shared pieces are back-propagation's own quantities: the activations a, the output errors δᴸ",
              "    (BP1) and the terms w·δ·σ'(z) that BP2 adds up. What cse cannot do is factor: written out, the",
              "    derivative for a weight is a sum over every path from it to the output, and each added layer",
              "    multiplies the paths. Back-propagation groups those sums one layer at a time: δˡⱼ gathers every",
              "    path from neuron j of layer l to the output into one number (BP2), computed once and reused for",
              "    all the weights into neuron j (BP4) and for the layer below.",
              (f"    Operations for all the derivatives: written out {shared.operations_written_out:,}; each distinct "
               f"sub-expression once {shared.operations_shared:,}"),
              (f"    (the table's \"shared ops\"); after cse, which also regroups sums and products, "
               f"{shared.operations_after_cse:,}; back-propagation {shared.backprop_operations:,} (forward pass "
               "included).")]
    return "\n".join(lines)


def cost_sweep_csv(rows: list[CostRow]) -> str:
    """The sweep as CSV text (one row per network)."""
    names = list(CostRow.__dataclass_fields__)
    out = [",".join(names)]
    for r in rows:
        out.append(",".join("" if getattr(r, n) is None else ("-".join(map(str, r.sizes)) if n == "sizes"
                                                              else str(getattr(r, n))) for n in names))
    return "\n".join(out) + "\n"


def compare_naive(out_dir: str = "runs/compare-naive", network: Network | None = None,
                  hidden: Iterable[int] = range(1, 7), widths: Iterable[int] = (2, 3, 4),
                  seconds_limit: float = 60.0, write: Callable[[str], None] = print) -> dict[str, str]:
    """Everything `chainrule compare naive` shows: (a) equality, (b) the shared pieces, (c) the cost sweep,
    written as it is computed; the table (CSV) and the plot (PNG) go to out_dir. Returns the files written."""
    from pathlib import Path

    network = network or classic_network()
    write(LEGEND + "\n")
    write(format_check(check_against_backprop(network)) + "\n")
    write(format_shared(shared_subexpressions(network)) + "\n")
    write("(c) Cost as the network deepens: 2 inputs, 2 outputs, hidden layers of one width, one example.")
    write("    size = nodes written out; ops = + − × ÷ powers σ to evaluate every ∂C/∂p (naive: each derivative as")
    write("    written; shared: each repeated sub-expression once; BP: forward pass + BP1, BP2, BP4). derive: the")
    write("    CPU time for SymPy to differentiate C once per parameter, paid once; evaluate: the CPU time to compute")
    write("    every ∂C/∂p once (naive: the derived expressions, each piece once; BP: chainrule's forward and")
    write(f"    backward pass). A network predicted to take SymPy over {seconds_limit:g} s is skipped.")

    def progress(row: CostRow) -> None:
        state = row.skipped or f"SymPy {row.naive_seconds:.2f} s, naive/BP ops {row.naive_operations / row.backprop_operations:,.0f}×"
        write(f"    … {row.hidden_layers} hidden × {row.width}: {row.n_parameters} parameters: {state}")

    rows = cost_sweep(hidden, widths, seconds_limit=seconds_limit, progress=progress)
    write("")
    write(format_cost_table(rows))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"table": str(out / "naive.csv"), "plot": str(out / "naive.png")}
    write_atomically(files["table"], cost_sweep_csv(rows))
    plot_cost_sweep(rows, files["plot"])
    done = [r for r in rows if r.naive_operations is not None]
    if done:
        write("\n" + _summary(done))
    write(f"wrote {files['table']} and {files['plot']}")
    return files


def _summary(done: list[CostRow]) -> str:
    """The sweep in one or two sentences (the growth per layer only where two consecutive depths were run)."""
    worst = max(done, key=lambda r: r.naive_operations / r.backprop_operations)
    layers = "hidden layer" if worst.hidden_layers == 1 else "hidden layers"
    most = (f"At {worst.hidden_layers} {layers} of {worst.width} the naive route needs "
            f"{worst.naive_operations / worst.backprop_operations:,.0f}× back-propagation's operations.")
    growth = _growth(done)
    if math.isnan(growth):
        return most + " (One depth only: give --hidden 1 3 to see how the work grows per added layer.)"
    return (f"The naive route's work grows about {growth:.1f}× per added layer; back-propagation's grows by a "
            f"constant amount. {most}")


def _growth(rows: list[CostRow]) -> float:
    """The median ratio of naive operations between consecutive depths of the same width."""
    ratios = []
    for a, b in itertools.pairwise(rows):
        if a.width == b.width and b.hidden_layers == a.hidden_layers + 1:
            ratios.append(b.naive_operations / a.naive_operations)
    return float(np.median(ratios)) if ratios else math.nan

