"""Lay out an Explanation as a Document: the legend, the forward pass, BP1–BP4 with numbers, the update, the checks.

Every number comes from the Explanation (computed and checked in `explain/network.py`); nothing is computed here
beyond putting those numbers into the equations' slots.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..lessons import compare_with_article
from ..network import ACTIVATIONS, BCE_EPS, Explanation, backpropagate, forward
from .document import (
    Callout,
    Code,
    Document,
    Equation,
    Items,
    Math,
    Num,
    Paragraph,
    Picture,
    Section,
    Subheading,
    Table,
    factor,
    fmt,
    num,
    printable,
)

MAX_TERMS = 4  # longer sums are shown by their value only
DELTA = "\\delta"


def _idx(*indices: int) -> str:
    """Indices as a subscript: ``11`` for small ones, ``10,3`` when one has two digits."""
    return ("," if any(i >= 10 for i in indices) else "").join(str(i) for i in indices)


def _sym(name: str, l: int | str, *indices: int, n: int | None = None) -> str:
    """A symbol of the notation, e.g. w^{2}_{11}; with n, the example index is added (a^{1}_{1,n})."""
    sub = _idx(*indices) if n is None else f"{_idx(*indices)}{',' if _idx(*indices).count(',') else ''}{n}"
    return f"{name}^{{{l}}}_{{{sub}}}"


def _legend(e: Explanation) -> Callout:
    L, N = e.L, e.N
    items = [
        (Math("a^{0} = x"), ": the input; the layers with weights are ", Math("l = 1, \\ldots, L"),
         f" (here L = {L})."),
        (Math("w^{l}_{jk}"), ": the weight from neuron k of layer l−1 to neuron j of layer l; ",
         Math("b^{l}_{j}"), ": the bias of neuron j of layer l. ", Math("W^{l}"), (" has one row per neuron of "
         "layer l.")),
        (Math("z^{l} = W^{l} a^{l-1} + b^{l}"), ": the weighted input;  ", Math("a^{l} = \\sigma(z^{l})"),
         ": the activation (output) of layer l."),
        (Math("C"), ": the cost;  ", Math("\\delta^{l} = \\frac{\\partial C}{\\partial z^{l}}"),
         (": the error of layer l, the quantity that back-propagation carries from the output back to the "
         "first layer;  "), Math("\\eta"), ": the learning rate;  ", Math("\\odot"), ": elementwise product."),
    ]
    if N > 1:
        items.append(("With a batch of ", Math(f"N = {N}"), (" examples, each quantity carries an example index n "
                      "("), Math("a^{l}_{jn}"), ("). In matrix form the examples are the rows of X, and the "
                      "gradients add up the contributions of all examples; a cost that averages ("),
                      Math("\\frac{1}{N}"), ") already has that factor inside ", Math("\\partial C/\\partial a^{L}"),
                      "."))
    equations = [
        Equation("\\delta^{L} = \\nabla_{a} C \\odot \\sigma'(z^{L})", "BP1"),
        Equation("\\delta^{l} = \\left((W^{l+1})^{\\top} \\delta^{l+1}\\right) \\odot \\sigma'(z^{l})", "BP2"),
        Equation("\\frac{\\partial C}{\\partial b^{l}_{j}} = \\delta^{l}_{j}", "BP3"),
        Equation("\\frac{\\partial C}{\\partial w^{l}_{jk}} = a^{l-1}_{k}\\,\\delta^{l}_{j}", "BP4"),
        Equation("w \\leftarrow w - \\eta\\,\\frac{\\partial C}{\\partial w},\\quad "
                 "b \\leftarrow b - \\eta\\,\\frac{\\partial C}{\\partial b}", "update"),
    ]
    legend = Callout("legend", "Notation and the four equations of back-propagation", [Items(items), *equations])
    if N == 1:
        return legend
    batched = Callout("legend", "The same equations for a batch, one row per example", [
        Paragraph(("Stack the examples as the rows of ", Math("A^{0} = X"), " (", Math("N \\times n_{0}"), "). Row n of ",
                   Math("Z^{l}"),
                   ", ", Math("A^{l}"), " and ", Math("\\Delta^{l}"), " holds ", Math("z^{l}"), ", ",
                   Math("a^{l}"), " and ", Math("\\delta^{l}"), " of example n, and 1 is a column of N ones:")),
        Equation("Z^{l} = A^{l-1}(W^{l})^{\\top} + 1\\,(b^{l})^{\\top},\\qquad A^{l} = \\sigma(Z^{l})"),
        Equation("\\Delta^{L} = \\nabla_{A} C \\odot \\sigma'(Z^{L}),\\qquad "
                 "\\Delta^{l} = (\\Delta^{l+1} W^{l+1}) \\odot \\sigma'(Z^{l})", "BP1, BP2"),
        Equation("\\frac{\\partial C}{\\partial W^{l}} = (\\Delta^{l})^{\\top} A^{l-1},\\qquad "
                 "\\frac{\\partial C}{\\partial b^{l}} = (\\Delta^{l})^{\\top} 1", "BP3, BP4"),
        Paragraph(("The products over the rows add up the examples' contributions. ", e.cost.name,
                   " sums over the examples, so the gradients are sums" if e.cost.reduction == "sum" else
                   " averages: its ∂C/∂aᴸ carries the averaging factor into every δ, so the sums are averages",
                   ".")),
    ])
    return [legend, batched]


def _setup(e: Explanation, picture_svg: str) -> Section:
    blocks: list = [Items(_setup_items(e))]
    if e.cost.name == "ce":
        blocks.append(Paragraph(("The softmax belongs to the cost, not to the network: the last layer's output ",
                                 Math("a^{L}"), " are the logits, ", Math("p = \\operatorname{softmax}(a^{L})"),
                                 " are the predicted probabilities, and the targets are one-hot.")))
    blocks += _example_tables(e) + _parameter_tables(e)
    if picture_svg:
        blocks.append(Picture(picture_svg, "The network: each circle is a neuron with its activation a; each line "
                              "a weight w, written near the neuron it starts from.",
                              "(a drawing of the network is in the HTML version)"))
    return Section("The network and the example", blocks, "", "network")


def _setup_items(e: Explanation) -> list:
    """The layers, each activation with σ and σ′, the cost with its gradient, and η, as a bulleted list."""
    L, N, sizes = e.L, e.N, e.sizes

    def described(l: int) -> str:
        kind = "input" if l == 0 else "output" if l == L else "hidden neuron"
        plural = "s" if sizes[l] > 1 else ""
        return f"{sizes[l]} {kind}{plural}" + (f" ({e.activations[l]})" if l else "")

    items = [("Layers: ", " → ".join(described(l) for l in range(L + 1)), ".")]
    for name in dict.fromkeys(e.activations[1:]):
        activation = ACTIVATIONS[name]
        used = ", ".join(str(l) for l in range(1, L + 1) if e.activations[l] == name)
        items.append((f"{name} (layer{'s' if ',' in used else ''} {used}): ", Math(activation.formula),
                      ",  ", Math(activation.derivative_formula), "."))
    items.append((f"Cost: {e.cost.title}, ", Math(e.cost.formula(N, sizes[-1])), "."))
    items.append(("Its gradient with respect to the output: ", Math(e.cost.gradient_formula(N, sizes[-1])), "."))
    items.append(("Learning rate ", Math(f"\\eta = {num(e.lr)}"), f"; {N} example{'s' if N > 1 else ''}."))
    return items


def _example_tables(e: Explanation) -> list:
    """The example (inputs and targets), or the batch with one row per example."""
    sizes = e.sizes
    if e.N == 1:
        inputs = [(Math(f"x_{{{k + 1}}} = a^{{0}}_{{{k + 1}}}"), Num(e.x[0, k])) for k in range(sizes[0])]
        targets = [(Math(f"t_{{{j + 1}}}"), Num(e.t[0, j])) for j in range(sizes[-1])]
        return [Table(("input", "value"), inputs, ("The example",)), Table(("target", "value"), targets)]
    header = ("n", *(Math(f"x_{{{k + 1}}}") for k in range(sizes[0])),
              *(Math(f"t_{{{j + 1}}}") for j in range(sizes[-1])))
    rows = [(str(n + 1), *(Num(v) for v in e.x[n]), *(Num(v) for v in e.t[n])) for n in range(e.N)]
    return [Table(header, rows, ("The batch: one row per example",))]


def _parameter_tables(e: Explanation) -> list:
    """W^l and b^l of each layer, one row per neuron j."""
    d, sizes, tables = e.derivation, e.sizes, []
    for l in range(1, e.L + 1):
        header = ("neuron j", *(Math(f"w^{{{l}}}_{{j{k + 1}}}") for k in range(sizes[l - 1])),
                  Math(f"b^{{{l}}}_{{j}}"))
        rows = [(str(j + 1), *(Num(v) for v in d.W[l][j]), Num(d.b[l][j])) for j in range(sizes[l])]
        tables.append(Table(header, rows, ("Layer ", Math(f"l = {l}"), ": the weights ", Math(f"W^{{{l}}}"),
                                           " (row j, column k) and the biases ", Math(f"b^{{{l}}}"))))
    return tables


def _weighted_sum(e: Explanation, l: int, j: int, n: int) -> str:
    """Σ_k w^l_{jk} a^{l−1}_k + b^l_j with the numbers put in (or only its value when long)."""
    d = e.derivation
    fan_in = e.sizes[l - 1]
    if fan_in > MAX_TERMS:
        return num(d.z[l][j, n])
    terms = [f"{factor(d.W[l][j, k])}\\cdot {factor(d.a[l - 1][k, n])}" for k in range(fan_in)]
    return " + ".join(terms) + f" + {factor(d.b[l][j])} = {num(d.z[l][j, n])}"


def _forward(e: Explanation) -> Section:
    L, N, d = e.L, e.N, e.derivation
    blocks: list = [
        Paragraph(("Starting from ", Math("a^{0} = x"), (", each layer forms weighted sums of the previous layer's "
                   "activations and passes them through its activation function. The values "),
                   Math("\\sigma'(z)"), (" are computed now too: back-propagation will need them, and this is why a "
                   "network stores its forward values."))),
        Equation("z^{l}_{j} = \\sum_{k} w^{l}_{jk}\\, a^{l-1}_{k} + b^{l}_{j},\\qquad a^{l}_{j} = \\sigma(z^{l}_{j})"),
    ]
    for l in range(1, L + 1):
        name = e.activations[l]
        blocks.append(Subheading(f"Layer {l} ({name})"))
        rows = []
        for n in range(N):
            for j in range(e.sizes[l]):
                lead = (str(n + 1),) if N > 1 else ()
                rows.append((*lead, Math(_sym("z", l, j + 1)), Math(_weighted_sum(e, l, j, n)),
                             Num(d.a[l][j, n]), Num(d.sigma_prime[l][j, n])))
        header = (*(("n",) if N > 1 else ()), "neuron", Math(f"z^{{{l}}}_{{j}} = \\sum_{{k}} w^{{{l}}}_{{jk}}"
                  f"a^{{{l - 1}}}_{{k}} + b^{{{l}}}_{{j}}"), Math(f"a^{{{l}}}_{{j}} = \\sigma(z^{{{l}}}_{{j}})"),
                  Math(f"\\sigma'(z^{{{l}}}_{{j}})"))
        blocks.append(Table(header, rows))
    blocks.append(Paragraph((Math("\\sigma'"), " is computed by the engine, as the gradient of ",
                             Math("\\sum_{j}\\sigma(z_{j})"), " (chainrule.grad), and agrees with its formula (largest difference ",
                             f"{_diff(e.checks.max_diff_sigma_prime)}).")))
    return Section("Step 1 — the forward pass", blocks, "forward", "forward")


def _cost(e: Explanation) -> Section:
    N, n_L, d = e.N, e.sizes[-1], e.derivation
    a, t = d.a[e.L][:, 0], e.t[0]
    C = "C_{0}" if e.penalty.active else "C"   # with a penalty the formula is C₀'s, and C = C₀ + P
    data_cost = d.cost - d.penalty
    blocks: list = [Equation(e.cost.formula(N, n_L).replace("C = ", f"{C} = ", 1))]
    if N == 1 and n_L <= MAX_TERMS:
        if e.cost.name == "half_sum":
            terms = " + ".join(f"({num(t[j])} - {num(a[j])})^{{2}}" for j in range(n_L))
            blocks.append(Equation(f"{C} = \\frac{{1}}{{2}}\\left[{terms}\\right] = {num(data_cost)}"))
        elif e.cost.name == "mse":
            terms = " + ".join(f"({num(a[j])} - {num(t[j])})^{{2}}" for j in range(n_L))
            blocks.append(Equation(f"{C} = \\frac{{1}}{{{n_L}}}\\left[{terms}\\right] = {num(data_cost)}"))
        elif e.cost.name == "bce":
            terms = " + ".join(f"{num(t[j])}\\ln {num(a[j])} + {num(1 - t[j])}\\ln {num(1 - a[j])}"
                               for j in range(n_L))
            blocks.append(Equation(f"{C} = -\\frac{{1}}{{{n_L}}}\\left[{terms}\\right] = {num(data_cost)}"))
    if e.cost.name == "ce":
        p = np.exp(d.a[e.L] - d.a[e.L].max(axis=0)) / np.exp(d.a[e.L] - d.a[e.L].max(axis=0)).sum(axis=0)
        rows = [(*((str(n + 1),) if N > 1 else ()), Math(f"p_{{{j + 1}}}"), Num(d.a[e.L][j, n]), Num(p[j, n]),
                 Num(e.t[n, j])) for n in range(N) for j in range(n_L)]
        blocks.append(Table((*(("n",) if N > 1 else ()), "class j", Math("a^{L}_{j}\\text{ (logit)}"),
                             Math("p_{j} = \\frac{e^{a^{L}_{j}}}{\\sum_{i} e^{a^{L}_{i}}}"), Math("t_{j}")), rows))
    blocks += _penalty(e, data_cost)
    blocks.append(Paragraph(("The cost before the step: ", Math(f"C = {num(d.cost)}"),
                             f" (the engine computes {fmt(e.checks.engine_cost)} through chainrule.nn)." )))
    blocks += _cost_conventions(e)
    return Section("Step 2 — the cost", blocks, "forward", "cost")


def _penalty(e: Explanation, data_cost: float) -> list:
    """With a penalty P on the weights: P and ∂P/∂w, and C = C₀ + P with the numbers (nothing without one)."""
    if not e.penalty.active:
        return []
    d = e.derivation
    return [Paragraph((f"The cost carries a penalty P on the weights ({e.penalty.kind.upper()}; never on the "
                       "biases), so C = C₀ + P:",)),
            Equation(e.penalty.formula()),
            Equation(f"C = C_{{0}} + P = {num(data_cost)} + {num(d.penalty)} = {num(d.cost)}")]


def _cost_conventions(e: Explanation) -> list:
    """Where the textbook formula has no value in float64, the convention the engine uses, said in words."""
    a = e.derivation.a[e.L]
    if e.cost.name == "bce" and np.any((a < BCE_EPS) | (a > 1 - BCE_EPS)):
        return [Callout("note", "A saturated output", [Paragraph((
            f"An output is exactly 0 or 1 in float64, where ln 0 has no value. As the engine does, the cost uses "
            f"a clipped to [ε, 1 − ε] (ε = {BCE_EPS:.3g}), and the gradient through the clip is 0: this step "
            "does not move that output. Binary cross-entropy on the logit (bce_logits) has no such limit.",))])]
    if e.cost.name == "ce" and np.any(np.exp(a - a.max(axis=0)) / np.exp(a - a.max(axis=0)).sum(axis=0) == 0):
        return [Callout("note", "A very confident output", [Paragraph((
            "A probability p_j underflows to 0 in float64, so the textbook t·ln p would read 0·ln 0. As the "
            "engine does, ln p is computed in the shifted form a_j − max a − ln Σ e^(a_i − max a), which stays "
            "finite, so a target of 0 contributes 0 (the limit of t ln p as p → 0 with t = 0).",))])]
    return []


def _bp1(e: Explanation) -> Section:
    L, N, d = e.L, e.N, e.derivation
    blocks: list = [
        Paragraph((("The error of an output neuron is how much the cost changes with its weighted input. By the "
                   "chain rule it is the cost's sensitivity to the neuron's output times the output's sensitivity "
                   "to the weighted input:"),)),
        Equation(f"\\delta^{{L}}_{{j}} = \\frac{{\\partial C}}{{\\partial a^{{L}}_{{j}}}}\\,\\sigma'(z^{{L}}_{{j}}),"
                 f"\\qquad {e.cost.gradient_formula(N, e.sizes[-1])}", "BP1"),
    ]
    rows = []
    for n in range(N):
        for j in range(e.sizes[L]):
            lead = (str(n + 1),) if N > 1 else ()
            grad, slope, delta = d.nabla_a[j, n], d.sigma_prime[L][j, n], d.delta[L][j, n]
            rows.append((*lead, Math(_sym("\\delta", L, j + 1)), Num(grad), Num(slope),
                         Math(f"{factor(grad)}\\cdot {factor(slope)} = {num(delta)}")))
    blocks.append(Table((*(("n",) if N > 1 else ()), "error", Math(f"\\partial C/\\partial a^{{{L}}}_{{j}}"),
                         Math(f"\\sigma'(z^{{{L}}}_{{j}})"), Math(f"\\delta^{{{L}}}_{{j}}")), rows))
    if e.cost.name == "ce" and e.activations[L] == "identity":
        blocks.append(Callout("note", "Softmax with cross-entropy", [Paragraph((
            "With the softmax inside the cost, ", Math("\\partial C/\\partial a^{L}_{j} = p_{j} - t_{j}"),
            " (per example), and the output layer is linear (", Math("\\sigma' = 1"), "), so BP1 becomes simply ",
            Math("\\delta^{L} = p - t"), (": predicted probabilities minus targets. The softmax's own Jacobian "
            "has been folded into this formula; it is not multiplied in a second time.")))]))
    elif e.cost.name == "bce" and e.activations[L] == "sigmoid":
        blocks.append(Callout("note", "Sigmoid with cross-entropy", [Paragraph((
            "Here ", Math("\\sigma'(z) = a(1-a)"), " cancels the denominator of ", Math("\\partial C/\\partial a"),
            ", so ", Math("\\delta^{L}"), " is just ", Math("a^{L} - t"), (" (divided by the number of outputs "
            "averaged over): the output error no longer shrinks when a sigmoid saturates.")))]))
    return Section("Step 3 — the output error δᴸ (BP1)", blocks, "backward", "bp1")


def _bp2(e: Explanation) -> Section:
    L, N, d = e.L, e.N, e.derivation
    blocks: list = [
        Paragraph((("Now the error travels backwards. Neuron j of layer l fed every neuron i of layer l+1 through "
                   "the weight "), Math("w^{l+1}_{ij}"), (", so its error collects their errors, each weighted by "
                   "that weight (the transpose "), Math("(W^{l+1})^{\\top}"), (" sends errors back along the same "
                   "wires), and is scaled by the neuron's own slope "), Math("\\sigma'(z^{l}_{j})"),
                   ". This is the chain rule, read from the cost inwards.")),
        Equation("\\delta^{l}_{j} = \\left(\\sum_{i} w^{l+1}_{ij}\\,\\delta^{l+1}_{i}\\right)\\sigma'(z^{l}_{j})",
                 "BP2"),
    ]
    if L == 1:
        blocks.append(Paragraph((("This network has no hidden layer, so there is nothing to propagate: BP1 gave "
                                 "every error."),)))
    for l in range(L - 1, 0, -1):
        blocks.append(Subheading(f"Layer {l}, from the errors of layer {l + 1}"))
        rows = []
        for n in range(N):
            for j in range(e.sizes[l]):
                fan_out = e.sizes[l + 1]
                total = float(d.W[l + 1][:, j] @ d.delta[l + 1][:, n])
                if fan_out <= MAX_TERMS:
                    back = " + ".join(f"{factor(d.W[l + 1][i, j])}\\cdot {factor(d.delta[l + 1][i, n])}"
                                      for i in range(fan_out))
                    worked = f"\\left({back}\\right)\\cdot {factor(d.sigma_prime[l][j, n])}"
                else:
                    worked = f"{factor(total)}\\cdot {factor(d.sigma_prime[l][j, n])}"
                rows.append((*((str(n + 1),) if N > 1 else ()), Math(_sym("\\delta", l, j + 1)),
                             Math(f"{worked} = {num(d.delta[l][j, n])}")))
        blocks.append(Table((*(("n",) if N > 1 else ()), "error",
                             Math(f"\\left(\\sum_{{i}} w^{{{l + 1}}}_{{ij}}\\delta^{{{l + 1}}}_{{i}}\\right)"
                                  f"\\sigma'(z^{{{l}}}_{{j}}) = \\delta^{{{l}}}_{{j}}")), rows))
    return Section("Step 4 — back-propagate the error (BP2)", blocks, "backward", "bp2")


def _gradient_terms(e: Explanation, l: int, j: int, k: int | None) -> str:
    """a^{l−1}_k δ^l_j (or δ^l_j for a bias) with the numbers, summed over the examples of a batch."""
    d, N = e.derivation, e.N
    if N > MAX_TERMS // 2:
        return ""
    if k is None:
        return " + ".join(num(d.delta[l][j, n]) for n in range(N)) if N > 1 else ""
    terms = " + ".join(f"{factor(d.a[l - 1][k, n])}\\cdot {factor(d.delta[l][j, n])}" for n in range(N))
    return terms if d.penalty_dW is None else f"{terms} + {factor(d.penalty_dW[l][j, k])}"


def _gradients(e: Explanation) -> Section:
    L, N, d, c = e.L, e.N, e.derivation, e.checks
    sum_n = "\\sum_{n}" if N > 1 else ""
    idx_n = "n" if N > 1 else ""
    blocks: list = [
        Paragraph((("Every weight's gradient is a forward value times a backward error: the activation that "
                   "enters the weight, times the error of the neuron it feeds. A bias behaves like a weight "
                   "whose input is always 1."),)),
        Equation(f"\\frac{{\\partial C}}{{\\partial b^{{l}}_{{j}}}} = {sum_n}\\delta^{{l}}_{{j{idx_n}}},\\qquad"
                 f"\\frac{{\\partial C}}{{\\partial w^{{l}}_{{jk}}}} = {sum_n}a^{{l-1}}_{{k{idx_n}}}\\,"
                 f"\\delta^{{l}}_{{j{idx_n}}}", "BP3, BP4"),
        _shapes_paragraph(e),
    ]
    if e.penalty.active:
        blocks.insert(2, Paragraph(("With the penalty, each weight's gradient gains the penalty's share: ",
                                    Math(f"\\frac{{\\partial C}}{{\\partial w^{{l}}_{{jk}}}} = {sum_n}a^{{l-1}}_{{k{idx_n}}}"
                                         f"\\,\\delta^{{l}}_{{j{idx_n}}} + \\frac{{\\partial P}}{{\\partial w^{{l}}_{{jk}}}}"),
                                    " (the biases have none).")))
    plus_penalty = "" if d.penalty_dW is None else " + \\partial P/\\partial w"
    for l in range(1, L + 1):
        blocks.append(Subheading(f"Layer {l}"))
        rows = []
        for j in range(e.sizes[l]):
            for k in range(e.sizes[l - 1]):
                product = _gradient_terms(e, l, j, k)
                rows.append((Math(f"\\partial C/\\partial {_sym('w', l, j + 1, k + 1)}"),
                             Math(f"{_sym('a', l - 1, k + 1)}\\,{_sym(DELTA, l, j + 1)}{plus_penalty}") if N == 1 else
                             Math(f"\\sum_{{n}} {_sym('a', l - 1, k + 1, n='n')}\\,{_sym(DELTA, l, j + 1, n='n')}"
                                  f"{plus_penalty}"),
                             Math(f"{product} = {num(d.dW[l][j, k])}") if product else Num(d.dW[l][j, k]),
                             Num(c.engine_dW[l][j, k]), Num(c.numeric_dW[l][j, k])))
            product = _gradient_terms(e, l, j, None)
            rows.append((Math(f"\\partial C/\\partial {_sym('b', l, j + 1)}"),
                         Math(_sym("\\delta", l, j + 1)) if N == 1 else
                         Math(f"\\sum_{{n}} {_sym(DELTA, l, j + 1, n='n')}"),
                         Math(f"{product} = {num(d.db[l][j])}") if product else Num(d.db[l][j]),
                         Num(c.engine_db[l][j]), Num(c.numeric_db[l][j])))
        blocks.append(Table(("gradient", "by BP3/BP4", "back-propagation", "engine (reverse mode)",
                             "finite differences"), rows))
    blocks.append(_check_callout(e))
    return Section("Step 5 — every gradient (BP3, BP4)", blocks, "backward", "gradients")


def _shapes_paragraph(e: Explanation) -> Paragraph:
    """BP4 and BP2 in matrix form, the transposes found by matching shapes (with this network's widths)."""
    n = e.sizes
    l = max(range(1, e.L + 1), key=lambda m: n[m] != n[m - 1])  # a layer whose W is not square, if any
    return Paragraph((
        "In matrix form the transposes need no index bookkeeping, only shapes. ",
        Math(f"\\partial C/\\partial W^{{{l}}}"), f" has the shape of W{_SUP.get(l, l)}, {n[l]} × {n[l - 1]}; ",
        Math(f"\\delta^{{{l}}}"), f" is {n[l]} × N and ", Math(f"a^{{{l - 1}}}"), f" is {n[l - 1]} × N (N examples), "
        "so the only product of the two with that shape is ", Math(f"\\delta^{{{l}}}(a^{{{l - 1}}})^{{\\top}}"),
        " (BP4). In BP2, likewise, only ", Math("(W^{l+1})^{\\top}"), ", ", Math("n_{l} \\times n_{l+1}"),
        ", turns the ",
        Math("n_{l+1}"), " errors of the layer above into the ", Math("n_{l}"), " of layer l."))


_SUP = dict(enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _diff(value: float) -> str:
    """A small difference: 0, or one significant digit and an exponent."""
    return "0" if value == 0 else f"{value:.1e}"


def _check_callout(e: Explanation) -> Callout:
    c = e.checks
    return Callout("check", "Checked", [Items([
        ((f"All {c.parameters} gradients agree with the engine's reverse mode (chainrule's .backward() on the same "
         f"model): largest difference {_diff(c.max_diff_engine)}."),),
        ((f"They agree with central finite differences (C(w + ε) − C(w − ε)) / 2ε with ε = {c.eps:g}"
          + (", apart from the gradients noted below" if c.kinks else "")
          + f": largest difference {_diff(c.max_diff_numeric)}."),),
        ((f"σ′ from the engine equals its formula (largest difference {_diff(c.max_diff_sigma_prime)}); the "
         f"cost before and after the step equals the engine's (largest difference {_diff(c.max_diff_cost)})."),),
        *((note,) for note in c.kinks),
    ])])


def _update(e: Explanation) -> Section:
    L, d = e.L, e.derivation
    blocks: list = [
        Paragraph((("Gradient descent moves every parameter a small step against its gradient, all at once, "
                   "using the gradients computed with the old weights:"),)),
        Equation(f"w \\leftarrow w - \\eta\\,\\frac{{\\partial C}}{{\\partial w}},\\qquad \\eta = {num(e.lr)}",
                 "update"),
    ]
    for l in range(1, L + 1):
        blocks.append(Subheading(f"Layer {l}"))
        rows = []
        for j in range(e.sizes[l]):
            for k in range(e.sizes[l - 1]):
                rows.append((Math(_sym("w", l, j + 1, k + 1)), Num(d.W[l][j, k]), Num(d.dW[l][j, k]),
                             Math(f"{num(d.W[l][j, k])} - {num(e.lr)}\\cdot {factor(d.dW[l][j, k])}"),
                             Num(d.W_new[l][j, k])))
            rows.append((Math(_sym("b", l, j + 1)), Num(d.b[l][j]), Num(d.db[l][j]),
                         Math(f"{num(d.b[l][j])} - {num(e.lr)}\\cdot {factor(d.db[l][j])}"), Num(d.b_new[l][j])))
        blocks.append(Table(("parameter", "before", "gradient", "before − η · gradient", "after"), rows))
    return Section("Step 6 — the update", blocks, "update", "update")


def _after(e: Explanation) -> Section:
    d, c = e.derivation, e.checks
    change = d.cost_after - d.cost
    blocks: list = [
        Paragraph(("Running the forward pass again with the new parameters gives the cost after one step:",)),
        Table(("", "cost C", "engine"), [("before the step", Num(d.cost), Num(c.engine_cost)),
                                         ("after the step", Num(d.cost_after), Num(c.engine_cost_after))]),
        Paragraph((_change_in_words(d.cost, change),)),
        Paragraph((_biases_in_words(e),)),
    ]
    return Section("Step 7 — the cost after one step", blocks, "update", "after")


def _change_in_words(cost: float, change: float) -> str:
    """How the cost moved, in words (a relative change only where the cost before is not 0)."""
    if change == 0:
        return ("The cost did not change" + (": it is already 0, so every gradient is 0 and the step moves nothing."
                                             if cost == 0 else "."))
    relative = f" ({abs(change) / cost:.2%})" if cost > 0 else ""
    if change < 0:
        return f"The cost falls by {fmt(abs(change))}{relative}. One step is small; training repeats it many times."
    return f"The cost rises by {fmt(abs(change))}{relative}: the step was too large (try a smaller η)."


def _biases_in_words(e: Explanation) -> str:
    """What happened to the biases, and the cost after the step had they been treated the other way."""
    other = fmt(e.cost_after_if(not e.fixed_biases))
    if not e.fixed_biases:
        return (f"chainrule updates the biases as well as the weights (b ← b − η ∂C/∂b). With the biases kept "
                f"fixed, as some step-by-step articles do, the cost after the step would be {other} "
                "(chainrule explain --fixed-biases).")
    text = (f"The biases were kept fixed (--fixed-biases), as some step-by-step articles do; updating them too, as "
            f"chainrule does by default, gives {other}.")
    if e.L >= 2:
        text += (" An article that carries each hidden error back through the output weights after updating them "
                 f"(instead of the weights the forward pass used) gets {e.cost_after_sequential_update():.9g}: "
                 "that δ is not ∂C/∂z at the old weights, so it is not a gradient step.")
    return text


def _delta_sizes(e: Explanation) -> Section:
    """Vanishing gradients: the size of δ^l per layer, for this network and with tanh and ReLU in its place."""
    sizes = e.delta_sizes()
    names = list(sizes)
    rows = [(str(l), *(Num(sizes[name][l - 1]) for name in names)) for l in range(1, e.L + 1)]
    ratio = {name: sizes[name][0] / sizes[name][-1] if sizes[name][-1] else float("nan") for name in names}
    return Section("How big is δˡ in each layer? (vanishing gradients)", [
        Paragraph((("BP2 multiplies δ by σ′(zˡ) once per layer on its way back. For the sigmoid σ′ ≤ ¼, so in a "
                   "deep sigmoid network δ shrinks layer by layer and the first layers learn slowest. Below, "
                   "‖δˡ‖ is the root mean square over the neurons of layer l and the examples (so layers of any "
                   "width compare), for these weights and this example, with each hidden activation in turn:"),)),
        Table(("layer l", *(f"‖δˡ‖, {name}" + (" (this network)" if i == 0 else "") for i, name in enumerate(names))),
              rows),
        Paragraph(("‖δ¹‖ / ‖δᴸ‖: " + ", ".join(f"{name} {fmt(ratio[name])}" for name in names)
                   + ". tanh′ ≤ 1 and ReLU′ is 0 or 1, so they shrink δ less (or not at all) on the way back.",)),
    ], "backward", "delta-sizes")


def _article(e: Explanation) -> Section:
    """A step-by-step article's hidden-layer rule, read literally, beside BP2 on this network and example."""
    c = compare_with_article(e)
    rows = [(str(layer.l), layer.missing or "nothing (BP1)", Num(layer.size_ratio), Num(layer.relative_difference),
             Num(layer.cosine)) for layer in c.layers]
    return Section("A step-by-step article's rule beside BP2", [
        Paragraph((("The article \"Principles of training multi-layer neural network using backpropagation\" "
                   "carries a hidden neuron's error back as the weighted sum of the next layer's errors, "
                   "without σ′ of that layer, and moves each weight by η · error · σ′(z) · input. Its "
                   "updates beside the gradient step, for this network and example:"),)),
        Table(("layer l", "σ′ left out", "‖article‖ / ‖true‖", "‖article − true‖ / ‖true‖", "cosine"), rows),
        Paragraph((f"Cost after one step (weights only, as the article has no biases): {fmt(c.cost_after_true)} by "
                   f"the gradient, {fmt(c.cost_after_article)} by the article's rule. BP2 keeps every σ′.",)),
    ], "backward", "article")


def _code() -> Section:
    source = inspect.getsource(forward) + "\n\n" + inspect.getsource(backpropagate)
    return Section("The code that computed these numbers", [
        Paragraph((("From chainrule/explain/network.py: plain NumPy, one line per equation, each column of a "
                   "matrix one example. Hold it beside the steps above."),)),
        Code(source.rstrip(), "chainrule/explain/network.py"),
    ], "", "code")


def _graph(graph_svg: str) -> Section:
    return Section("The computational graph of C", [
        Paragraph((("The same cost as the engine sees it: every elementary operation a node, values flowing "
                   "left to right, gradients (from .backward()) flowing right to left."),)),
        Picture(graph_svg, "Computational graph of the cost for this example (scroll sideways to follow it).",
                "(the computational graph is drawn in the HTML version)", scroll=True),
    ], "", "graph")


def document(e: Explanation, network_svg: str = "", graph_svg: str = "", code: bool = True) -> Document:
    """The whole explanation as a Document (pictures are passed in as SVG text; empty means none)."""
    sizes = "-".join(str(n) for n in e.sizes)
    title = printable(e.title) or f"Back-propagation, step by step: a {sizes} network"
    examples = "one example" if e.N == 1 else f"a batch of {e.N} examples"
    subtitle = (f"{sizes} network, {', '.join(dict.fromkeys(e.activations[1:]))}; cost: {e.cost.title}; "
                f"{examples}; learning rate η = {fmt(e.lr)}")
    legend_blocks = _legend(e)
    legend = Section("Notation", legend_blocks if isinstance(legend_blocks, list) else [legend_blocks], "",
                     "notation")
    sections = [legend, _setup(e, network_svg), _forward(e), _cost(e), _bp1(e), _bp2(e), _gradients(e),
                _update(e), _after(e)]
    if e.L >= 3:
        sections.append(_delta_sizes(e))
        if e.cost.name == "half_sum" and e.N == 1 and all(np.any(e.derivation.dW[l]) for l in range(1, e.L + 1)):
            sections.append(_article(e))  # (not where a layer's gradient is 0: no ratio to show)
    if graph_svg:
        sections.append(_graph(graph_svg))
    if code:
        sections.append(_code())
    return Document(title, subtitle, sections)
