"""Back-propagation worked through for one network and one example (or a small batch): every number BP1–BP4 need.

The derivation is plain layer-by-layer NumPy that reads like the equations; each gradient it produces is then
checked against the engine's reverse mode and central finite differences. Drawing it is `render/`'s job.
"""
from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..autodiff import no_grad, tensor
from ..nn.activations import ACTIVATIONS, derivative_by_engine
from ..nn.functional import check_penalty, weight_penalty
from ..numeric import central_difference

MAX_PARAMETERS = 1000
MAX_EXAMPLES = 32


class GradientMismatchError(AssertionError):
    """A gradient of the derivation disagrees with the engine or with finite differences."""


# ---------------------------------------------------------------------------------- activations σ
# σ, its formula and σ′ come from the registry (chainrule.nn.activations): one definition each, read here.

def _write(tensor: Any, index: Any, values: Any) -> None:
    """tensor[index] = values through the engine's checked path (it bumps the tensor's version, so a graph that
    saved the old values would refuse to run backward), outside any recording."""
    with no_grad():
        tensor[index] = values


def _numeric_gradient(tensor: Any, cost_now: Callable[[], float], eps: float) -> np.ndarray:
    """∂C/∂(each entry of tensor) by central differences, one entry at a time; the tensor is left as it was."""
    estimate = np.zeros(tensor.shape)
    for index in np.ndindex(*tensor.shape):
        original = tensor.data[index]
        estimate[index] = central_difference(partial(_cost_moved, cost_now, tensor, index, original), eps)
        _write(tensor, index, original)
    return estimate


def _compare_gradients(kind: str, l: int, ours: np.ndarray, engine: np.ndarray, numeric: np.ndarray,
                       slopes: Callable[[tuple, float], tuple[float, float]],
                       unreliable: str = "") -> list[tuple[tuple, str]]:
    """Raise GradientMismatchError at the first entry of ∂C/∂W^l (kind "w") or ∂C/∂b^l ("b") where
    back-propagation disagrees with the engine or with central differences; return a note for each entry
    where the central difference straddles a kink (see _at_a_kink) instead of failing there."""
    notes = []
    for index in np.ndindex(*ours.shape):
        name = _parameter_name(kind, l, index)
        value = float(ours[index])
        if not _close(value, engine[index], ENGINE_TOLERANCE):
            raise GradientMismatchError(
                f"∂C/∂{name}: back-propagation gives {value!r} but the engine's reverse mode gives "
                f"{float(engine[index])!r}")
        if _close(value, numeric[index], NUMERIC_TOLERANCE):
            continue
        note = _reconcile(name, value, slopes, index, unreliable)
        if note is None:
            raise GradientMismatchError(
                f"∂C/∂{name}: back-propagation gives {value!r} but central finite differences give "
                f"{float(numeric[index])!r}")
        notes.append((index, note))
    return notes


DIFFERENCE_STEPS = (1e-4, 1e-5, 1e-7)  # tried when ε = 1e-6 disagrees: rounding or curvature may spoil one step


def _unreliable_differences(cost: Cost, derivation: Derivation) -> str:
    """Why finite differences of the computed C cannot check gradients here ("" if they can): under bce, an
    output within 1e-8 of 0 or 1 is stored so coarsely (1 − a moves in steps of 1.1e-16) that ln(1 − a) of a
    slightly moved weight changes in jumps, not smoothly, though its true derivative is finite."""
    a = derivation.a[len(derivation.a) - 1]
    if cost.name == "bce" and np.any(np.minimum(a, 1 - a) < 1e-8):
        return ("an output is within 1e-8 of 0 or 1, where binary cross-entropy of the stored output changes in "
                "jumps of float64 rounding, so no finite difference can follow it (the engine's gradient, "
                "compared above, is the derivative)")
    return ""


def _reconcile(name: str, value: float, slopes: Callable[[tuple, float], tuple[float, float]],
               index: tuple, unreliable: str = "") -> str | None:
    """Why a central difference at ε = 1e-6 that disagrees is not a wrong gradient — it agrees at another step,
    C has a kink there, or no step settles (C is badly conditioned there, e.g. an output within 1e-13 of 1) —
    as a note; None when the differences settle on another value, which is a real mismatch."""
    sides = {step: slopes(index, step) for step in DIFFERENCE_STEPS}
    if all(side == 0 for pair in sides.values() for side in pair):
        return (f"∂C/∂{name} = {value:.8g} is not compared: C does not change at all in float64 for steps of "
                "1e-7 to 1e-4 here (an output is so close to 0 or 1 that such a step is lost in rounding)")
    centrals = {step: (left + right) / 2 for step, (left, right) in sides.items()}
    for step, central in centrals.items():
        if _close(value, central, NUMERIC_TOLERANCE):
            return (f"∂C/∂{name} = {value:.8g} agrees with the central difference at ε = {step:g} "
                    f"({central:.8g}); at ε = 1e-6 rounding or curvature spoils the difference")
    kink = _at_a_kink(name, value, slopes, index)
    if kink is not None:
        return kink
    if unreliable:
        return f"∂C/∂{name} = {value:.8g} is not compared: {unreliable}"
    low, high = min(centrals.values()), max(centrals.values())
    if high - low > 1e-3 * max(abs(low), abs(high)) + NUMERIC_TOLERANCE[0]:
        return (f"∂C/∂{name} = {value:.8g} is not compared: central differences do not settle here ({low:.3g} to "
                f"{high:.3g} for ε from 1e-7 to 1e-4), as C is badly conditioned at this point")
    return None


def _at_a_kink(name: str, value: float, slopes: Callable[[tuple, float], tuple[float, float]],
               index: tuple) -> str | None:
    """A note if C has a kink along this parameter (slopes from the left and right differ by an amount that does
    not shrink as the step halves, e.g. relu at z = 0) and back-propagation's value is one of the two slopes —
    the engine's convention (relu′(0) = 0, as in PyTorch). None if it is not such a kink."""
    eps = NUMERIC_TOLERANCE[0]
    (left, right), (left_half, right_half) = slopes(index, eps), slopes(index, eps / 2)
    gap, gap_half = abs(right - left), abs(right_half - left_half)
    if not (gap > 1e-7 and gap_half > 0.75 * gap):  # a smooth C's gap is ≈ |C″|·ε and halves with ε
        return None
    if not any(_close(value, side, NUMERIC_TOLERANCE) for side in (left, right)):
        return None
    return (f"∂C/∂{name} = {value:.8g}: C has a kink here (slope {left:.8g} from the left, {right:.8g} from the "
            f"right, e.g. relu at z = 0); the engine takes one side by convention (relu′(0) = 0, as PyTorch does), "
            f"so the central difference, their average, is not compared")


def _check_sigma_prime(model: Any, derivation: Derivation) -> float:
    """The largest gap between σ′ by the registry's textbook formula and σ′ by the engine (raises above 1e-12)."""
    max_sigma = 0.0
    for l in range(1, len(derivation.z)):
        textbook = ACTIVATIONS[model.activation_name(l)].textbook_derivative(derivation.z[l])
        max_sigma = max(max_sigma, float(np.max(np.abs(textbook - derivation.sigma_prime[l]))))
    if max_sigma > 1e-12:
        raise GradientMismatchError(f"σ' from the engine differs from its formula by {max_sigma:.3g}")
    return max_sigma


def _one_sided_slopes(tensor: Any, cost_now: Callable[[], float], index: tuple, step: float) -> tuple[float, float]:
    """(C(w) − C(w − h)) / h and (C(w + h) − C(w)) / h for one entry w of the tensor; the tensor is left as it was."""
    original = tensor.data[index]
    try:
        here, after, before = (_cost_moved(cost_now, tensor, index, original, s) for s in (0.0, step, -step))
    finally:
        _write(tensor, index, original)
    return (here - before) / step, (after - here) / step


def _cost_moved(cost_now: Callable[[], float], tensor: Any, index: tuple, original: float, s: float) -> float:
    """C with one weight (or bias) moved from `original` by s, written into the tensor's array."""
    _write(tensor, index, original + s)
    return cost_now()


def sigma(name: str, z: np.ndarray) -> np.ndarray:
    """a = σ(z), computed by the engine's own activation function."""
    return np.asarray(ACTIVATIONS[name](z), dtype=np.float64)


def sigma_prime_of(name: str, z: np.ndarray) -> np.ndarray:
    """σ'(z) elementwise, by the engine: the gradient of Σ σ(z) with respect to z."""
    return derivative_by_engine(name, z)


# ------------------------------------------------------------------------------------------- costs C


@dataclass(frozen=True)
class Cost:
    """A cost C(a^L, t) over N examples (columns) with its gradient ∇_a C, both by their textbook formulas."""
    name: str
    title: str
    value: Callable[[np.ndarray, np.ndarray], float]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]
    reduction: str  # "sum" or "mean": how the examples of a batch combine

    def formula(self, N: int, n_L: int) -> str:
        """C written for N examples and n_L outputs."""
        over_n = (r"\sum_{n}" if N > 1 else "")
        sub = "_{jn}" if N > 1 else "_{j}"
        a, t = f"a^{{L}}{sub}", f"t{sub}"
        if self.name == "half_sum":
            return rf"C = \frac{{1}}{{2}}{over_n}\sum_{{j}} ({t}-{a})^{{2}}"
        if self.name == "mse":
            return rf"C = \frac{{1}}{{{N * n_L}}}{over_n}\sum_{{j}} ({a}-{t})^{{2}}"
        if self.name == "bce":
            return (rf"C = -\frac{{1}}{{{N * n_L}}}{over_n}\sum_{{j}} \left[{t}\ln {a} + (1-{t})\ln(1-{a})\right]")
        scale = rf"\frac{{1}}{{{N}}}" if N > 1 else ""
        return (rf"C = -{scale}{over_n}\sum_{{j}} {t}\ln p{sub},\quad "
                rf"p = \operatorname{{softmax}}(a^{{L}})")

    def gradient_formula(self, N: int, n_L: int) -> str:
        """∂C/∂a^L_j written for N examples and n_L outputs."""
        sub = "_{jn}" if N > 1 else "_{j}"
        a, t, lhs = f"a^{{L}}{sub}", f"t{sub}", rf"\frac{{\partial C}}{{\partial a^{{L}}{sub}}}"
        if self.name == "half_sum":
            return rf"{lhs} = {a}-{t}"
        if self.name == "mse":
            return rf"{lhs} = \frac{{2}}{{{N * n_L}}}({a}-{t})"
        if self.name == "bce":
            return rf"{lhs} = \frac{{1}}{{{N * n_L}}}\,\frac{{{a}-{t}}}{{{a}(1-{a})}}"
        scale = rf"\frac{{1}}{{{N}}}" if N > 1 else ""
        return rf"{lhs} = {scale}(p{sub}-{t})"


@dataclass(frozen=True)
class Penalty:
    """A penalty on the weights added to the cost, C = C₀ + P(W) (never on the biases), with its derivative by
    the textbook formula: l1, P = λ Σ|w| and ∂P/∂w = λ sign(w); l2, P = ½ λ Σ w² and ∂P/∂w = λ w.
    The engine's version (chainrule.nn.functional.PENALTIES) checks both."""
    kind: str = "none"
    rate: float = 0.0

    @property
    def active(self) -> bool:
        """Whether there is a penalty at all (a kind other than "none" and λ > 0)."""
        return self.kind != "none" and self.rate > 0

    def value(self, W: list) -> float:
        """P over the weight matrices W[1..L]."""
        if not self.active:
            return 0.0
        if self.kind == "l1":
            return self.rate * sum(float(np.abs(W[l]).sum()) for l in range(1, len(W)))
        return 0.5 * self.rate * sum(float((W[l] * W[l]).sum()) for l in range(1, len(W)))

    def gradient(self, W_l: np.ndarray) -> np.ndarray:
        """∂P/∂W^l (zero without a penalty; at w = 0 the l1 derivative is taken as 0, as the engine's)."""
        if not self.active:
            return np.zeros_like(W_l)
        return self.rate * (np.sign(W_l) if self.kind == "l1" else W_l)

    def formula(self) -> str:
        """P and ∂P/∂w in LaTeX."""
        if self.kind == "l1":
            return (rf"P = \lambda \sum |w|,\quad \frac{{\partial P}}{{\partial w}} = \lambda\,\operatorname{{sign}}(w),"
                    rf"\quad \lambda = {self.rate:.6g}")
        return rf"P = \frac{{1}}{{2}}\lambda \sum w^{{2}},\quad \frac{{\partial P}}{{\partial w}} = \lambda\, w,\quad \lambda = {self.rate:.6g}"


NO_PENALTY = Penalty()


def make_penalty(kind: str, rate: float) -> Penalty:
    """A Penalty from a kind ("none", "l1", "l2") and λ, checked by chainrule.nn's own check: ValueError naming
    what is wrong."""
    try:
        return Penalty(*check_penalty(kind, rate))
    except ValueError as error:
        raise ValueError(f"explain: {error}") from None


def _softmax_columns(a: np.ndarray) -> np.ndarray:
    shifted = np.exp(a - a.max(axis=0, keepdims=True))
    return shifted / shifted.sum(axis=0, keepdims=True)


def _log_softmax_columns(a: np.ndarray) -> np.ndarray:
    """ln p in the shifted form a − max a − ln Σ e^(a − max a), as the engine computes it: finite even where p
    underflows to 0, so a confident output gives t·ln p = 0·(−200) = 0, not 0·ln 0 = NaN."""
    shifted = a - a.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


BCE_EPS = float(np.finfo(np.float64).eps)  # the engine's clip for binary cross-entropy (nn.functional)


def _clipped(a: np.ndarray) -> np.ndarray:
    """a clipped to [ε, 1 − ε] as the engine's binary cross-entropy does, so ln a and ln(1 − a) stay finite."""
    return np.clip(a, BCE_EPS, 1 - BCE_EPS)


def _bce_gradient(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """∂C/∂a of the clipped cost: the formula inside [ε, 1 − ε], 0 outside (the clip passes no gradient there)."""
    inside = (a >= BCE_EPS) & (a <= 1 - BCE_EPS)
    a_c = _clipped(a)
    return np.where(inside, (a_c - t) / (a_c * (1 - a_c)), 0.0) / a.size


COSTS: dict[str, Cost] = {
    "half_sum": Cost("half_sum", "half the sum of squared errors",
                     lambda a, t: 0.5 * float(np.sum((t - a) ** 2)),
                     lambda a, t: a - t, "sum"),
    "mse": Cost("mse", "mean squared error",
                lambda a, t: float(np.mean((a - t) ** 2)),
                lambda a, t: 2.0 * (a - t) / a.size, "mean"),
    "bce": Cost("bce", "binary cross-entropy",
                lambda a, t: -float(np.mean(t * np.log(_clipped(a)) + (1 - t) * np.log(1 - _clipped(a)))),
                _bce_gradient, "mean"),
    "ce": Cost("ce", "softmax cross-entropy",
               lambda a, t: -float(np.sum(t * _log_softmax_columns(a))) / a.shape[1],
               lambda a, t: (_softmax_columns(a) - t) / a.shape[1], "mean"),
}


# ------------------------------------------------------------------------------------ the derivation


@dataclass
class Derivation:
    """Every quantity of BP1–BP4, indexed by layer l = 0..L (index 0 unused where undefined).

    Arrays hold one column per example: a[l] and z[l] are (n_l, N), as in the equations.
    """
    W: list
    b: list
    z: list
    a: list
    sigma_prime: list
    nabla_a: np.ndarray
    delta: list
    dW: list
    db: list
    W_new: list
    b_new: list
    cost: float                 # C = C₀ + P before the step
    cost_after: float           # and after it
    penalty: float = 0.0        # P before the step (0 without a penalty)
    penalty_after: float = 0.0
    penalty_dW: list | None = None  # ∂P/∂W^l, already included in dW (None without a penalty)


def forward(W: list, b: list, activations: list, x: np.ndarray) -> tuple[list, list]:
    """z^l = W^l a^{l−1} + b^l and a^l = σ(z^l) for l = 1..L, with a^0 = x (one column per example)."""
    L = len(W) - 1
    z, a = [None] * (L + 1), [x] + [None] * L
    for l in range(1, L + 1):
        z[l] = W[l] @ a[l - 1] + b[l][:, None]
        a[l] = sigma(activations[l], z[l])
    return z, a


def backpropagate(W: list, b: list, activations: list, x: np.ndarray, t: np.ndarray,
                  cost: Cost, lr: float, fixed_biases: bool = False, penalty: Penalty = NO_PENALTY) -> Derivation:
    """BP1–BP4 and one step of gradient descent, layer by layer, exactly as the equations read
    (with fixed_biases, as some step-by-step articles do, only the weights move; with a penalty P on the
    weights, C = C₀ + P and ∂C/∂W^l = δ^l (a^{l−1})ᵀ + ∂P/∂W^l)."""
    L = len(W) - 1
    z, a = forward(W, b, activations, x)
    sigma_prime = [None] + [sigma_prime_of(activations[l], z[l]) for l in range(1, L + 1)]
    delta, dW, db = [None] * (L + 1), [None] * (L + 1), [None] * (L + 1)

    nabla_a = cost.gradient(a[L], t)
    delta[L] = nabla_a * sigma_prime[L]                                             # (BP1)
    for l in range(L - 1, 0, -1):
        delta[l] = (W[l + 1].T @ delta[l + 1]) * sigma_prime[l]                     # (BP2)
    for l in range(1, L + 1):
        db[l] = delta[l].sum(axis=1)                                                # (BP3), summed over examples
        dW[l] = delta[l] @ a[l - 1].T                                               # (BP4), summed over examples
    penalty_dW = [None] + [penalty.gradient(W[l]) for l in range(1, L + 1)] if penalty.active else None
    if penalty_dW is not None:
        dW = [None] + [dW[l] + penalty_dW[l] for l in range(1, L + 1)]             # ∂C/∂w = BP4 + ∂P/∂w

    W_new = [None] + [W[l] - lr * dW[l] for l in range(1, L + 1)]                   # w ← w − η ∂C/∂w
    b_new = [None] + [b[l] if fixed_biases else b[l] - lr * db[l] for l in range(1, L + 1)]
    _, a_after = forward(W_new, b_new, activations, x)
    P, P_after = penalty.value(W), penalty.value(W_new)
    return Derivation(W, b, z, a, sigma_prime, nabla_a, delta, dW, db, W_new, b_new,
                      cost.value(a[L], t) + P, cost.value(a_after[L], t) + P_after, P, P_after, penalty_dW)


# --------------------------------------------------------------------------------------- the checks


@dataclass
class Checks:
    """Each gradient of the derivation beside the engine's reverse mode and central finite differences."""
    engine_dW: list
    engine_db: list
    numeric_dW: list
    numeric_db: list
    engine_cost: float
    engine_cost_after: float
    max_diff_engine: float
    max_diff_numeric: float
    max_diff_sigma_prime: float
    max_diff_cost: float
    parameters: int
    eps: float
    kinks: list = field(default_factory=list)  # a note per gradient whose central difference straddles a kink


ENGINE_TOLERANCE = (1e-10, 1e-8)    # (absolute, relative): both are exact float64 computations
NUMERIC_TOLERANCE = (1e-6, 1e-5)    # central differences with eps = 1e-6 in float64


def _close(value: float, reference: float, tolerance: tuple[float, float]) -> bool:
    absolute, relative = tolerance
    return abs(value - reference) <= absolute + relative * abs(reference)


_SUPERSCRIPT = dict(enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")) | {l: str(l) for l in range(10, 100)}


def _engine_cost(model: Any, x: np.ndarray, t: np.ndarray, cost: Cost, penalty: Penalty = NO_PENALTY) -> Any:
    """C computed by the engine through the model, chainrule.nn's cost and its penalty (x and t are rows)."""
    C = _cost_of_output(model(tensor(x)), t, cost)
    extra = weight_penalty([layer.weight for layer in model.layers], penalty.kind, penalty.rate)
    return C if extra is None else C + extra


def _cost_of_output(y: Any, t: np.ndarray, cost: Cost) -> Any:
    """chainrule.nn's version of the cost for outputs y (a Tensor) and targets t (rows)."""
    from chainrule.nn import functional as F
    if cost.name == "ce":
        return F.cross_entropy(y, t.argmax(axis=1))
    if cost.name == "half_sum":
        return F.mse(y, t, reduction="half_sum")
    if cost.name == "mse":
        return F.mse(y, t, reduction="mean")
    return F.binary_cross_entropy(y, t)


def _parameter_name(kind: str, l: int, index: tuple) -> str:
    return f"{kind}^{l}_{''.join(str(i + 1) for i in index)}"


def _compare_all(params: list, derivation: Derivation, engine: tuple[list, list], numeric: tuple[list, list],
                 cost_now: Callable[[], float], unreliable: str = "") -> tuple[list[str], float, float]:
    """Every gradient against the engine and central differences (raises at the first that disagrees): the kink
    notes, the largest difference from the engine and the largest from the differences (kinks left out)."""
    kinks, max_engine, max_numeric = [], 0.0, 0.0
    for l, (w, bias) in enumerate(params, start=1):
        for i, (kind, tensor_, ours) in enumerate((("w", w, derivation.dW[l]), ("b", bias, derivation.db[l]))):
            by_engine, by_differences = engine[i][l], numeric[i][l]
            at_kinks = _compare_gradients(kind, l, ours, by_engine, by_differences,
                                          partial(_one_sided_slopes, tensor_, cost_now), unreliable)
            kinks += [note for _, note in at_kinks]
            compared = np.ones(ours.shape, dtype=bool)
            for index, _ in at_kinks:
                compared[index] = False
            max_engine = max(max_engine, float(np.max(np.abs(ours - by_engine))))
            max_numeric = max(max_numeric, float(np.max(np.abs(ours - by_differences), where=compared,
                                                        initial=0.0)))
    return kinks, max_engine, max_numeric


def check(model: Any, x: np.ndarray, t: np.ndarray, cost: Cost, lr: float, derivation: Derivation,
          eps: float = 1e-6, penalty: Penalty = NO_PENALTY) -> Checks:
    """Compare every ∂C/∂w and ∂C/∂b with the engine's `.backward()` and with central differences.

    Raises GradientMismatchError naming the first parameter that disagrees. The model is left unchanged.
    """
    params = [(layer.weight, layer.bias) for layer in model.layers]
    saved = [(w.grad, bias.grad, w.data.copy(), bias.data.copy()) for w, bias in params]
    try:
        for w, bias in params:
            w.grad = bias.grad = None
        C = _engine_cost(model, x, t, cost, penalty)
        C.backward()
        engine_dW = [None] + [np.array(w.grad.data, dtype=np.float64) for w, _ in params]
        engine_db = [None] + [np.array(bias.grad.data, dtype=np.float64) for _, bias in params]
        engine_cost = float(C.item())

        def cost_now() -> float:
            with no_grad():
                return float(_engine_cost(model, x, t, cost, penalty).item())

        numeric_dW = [None] + [_numeric_gradient(w, cost_now, eps) for w, _ in params]
        numeric_db = [None] + [_numeric_gradient(bias, cost_now, eps) for _, bias in params]
        kinks, max_engine, max_numeric = _compare_all(params, derivation, (engine_dW, engine_db),
                                                      (numeric_dW, numeric_db), cost_now,
                                                      _unreliable_differences(cost, derivation))
        for l, (w, bias) in enumerate(params, start=1):
            _write(w, ..., derivation.W_new[l])
            _write(bias, ..., derivation.b_new[l])
        engine_cost_after = cost_now()
    finally:
        for (w, bias), (w_grad, b_grad, w_data, b_data) in zip(params, saved):
            w.grad, bias.grad = w_grad, b_grad
            _write(w, ..., w_data)
            _write(bias, ..., b_data)

    max_sigma = _check_sigma_prime(model, derivation)
    max_cost = max(abs(engine_cost - derivation.cost), abs(engine_cost_after - derivation.cost_after))
    if not (_close(derivation.cost, engine_cost, ENGINE_TOLERANCE)
            and _close(derivation.cost_after, engine_cost_after, ENGINE_TOLERANCE)):
        raise GradientMismatchError(
            f"the cost by the formula ({derivation.cost!r}, after the step {derivation.cost_after!r}) differs "
            f"from the engine's ({engine_cost!r}, {engine_cost_after!r})")
    count = sum(w.size + bias.size for w, bias in params)
    return Checks(engine_dW, engine_db, numeric_dW, numeric_db, engine_cost, engine_cost_after,
                  max_engine, max_numeric, max_sigma, max_cost, count, eps, kinks)


# ---------------------------------------------------------------------------------- the explanation


@dataclass
class Explanation:
    """One step of back-propagation and gradient descent, with every number shown and its checks."""
    sizes: list
    activations: list          # activations[l] names σ of layer l (index 0 is None)
    cost: Cost
    lr: float
    x: np.ndarray              # rows are examples, (N, n_0)
    t: np.ndarray              # rows are examples, (N, n_L)
    derivation: Derivation
    checks: Checks
    title: str = ""
    model: Any = field(default=None, repr=False)
    fixed_biases: bool = False
    penalty: Penalty = NO_PENALTY

    @property
    def L(self) -> int:
        """The number of weight layers."""
        return len(self.sizes) - 1

    @property
    def N(self) -> int:
        """The number of examples."""
        return self.x.shape[0]

    def summary(self) -> dict[str, Any]:
        """The headline numbers as plain Python values (cost before and after, updated parameters)."""
        d = self.derivation
        return {
            "cost": d.cost, "cost_after": d.cost_after,
            "W": [d.W_new[l].tolist() for l in range(1, self.L + 1)],
            "b": [d.b_new[l].tolist() for l in range(1, self.L + 1)],
            "max_diff_engine": self.checks.max_diff_engine, "max_diff_numeric": self.checks.max_diff_numeric,
        }

    def cost_after_if(self, fixed_biases: bool) -> float:
        """C after the step if the biases were (fixed_biases=False) or were not (True) updated as well."""
        d = self.derivation
        b_new = [None] + [d.b[l] if fixed_biases else d.b[l] - self.lr * d.db[l] for l in range(1, self.L + 1)]
        _, a = forward(d.W_new, b_new, self.activations, self.x.T)
        return self.cost.value(a[self.L], self.t.T) + self.penalty.value(d.W_new)

    def cost_after_sequential_update(self) -> float:
        """C after a step that updates the layers from the output backwards, biases fixed, and carries each δ^l
        through the *already updated* W^{l+1}: the arithmetic behind some step-by-step articles' figures.
        It is not gradient descent (those δ's are not ∂C/∂z at the old weights); shown to explain the gap."""
        d, L = self.derivation, self.L
        W_new = list(d.W)
        delta = d.delta[L]
        for l in range(L, 0, -1):
            if l < L:
                delta = (W_new[l + 1].T @ delta) * d.sigma_prime[l]
            W_new[l] = d.W[l] - self.lr * (delta @ d.a[l - 1].T + self.penalty.gradient(d.W[l]))
        _, a = forward(W_new, d.b, self.activations, self.x.T)
        return self.cost.value(a[L], self.t.T) + self.penalty.value(W_new)

    def delta_sizes(self, activations: tuple[str, ...] = ("sigmoid", "tanh", "relu")) -> dict[str, list[float]]:
        """‖δ^l‖ for l = 1..L as the root mean square over neurons and examples (so layers of any width compare),
        for the same weights, example and cost with each hidden activation in turn (the output's σ is kept)."""
        d, sizes = self.derivation, {}
        for name in dict.fromkeys((self.activations[1],) + tuple(activations)):
            chosen = [None] + [name] * (self.L - 1) + [self.activations[self.L]]
            other = backpropagate(d.W, d.b, chosen, self.x.T, self.t.T, self.cost, self.lr, self.fixed_biases,
                                  self.penalty)
            sizes[name] = [float(np.sqrt(np.mean(other.delta[l] ** 2))) for l in range(1, self.L + 1)]
        return sizes

    def graph(self) -> Any:
        """The engine's graph of C for these examples, drawn by chainrule.viz.graph.draw_graph, with x, W^l, b^l,
        z^l, a^l and C named as in the notation and every gradient filled in by `.backward()`."""
        from chainrule.viz.graph import draw_graph
        for parameter in self.model.parameters():
            parameter.grad = None
        a = tensor(self.x, requires_grad=False)
        names = {"x = a⁰": a}
        for l, layer in enumerate(self.model.layers, start=1):
            z = layer(a)
            z.retain_grad()
            a = ACTIVATIONS[self.activations[l]](z)
            names.update({f"W{_SUPERSCRIPT[l]}": layer.weight, f"b{_SUPERSCRIPT[l]}": layer.bias,
                          f"z{_SUPERSCRIPT[l]}": z})
            if a is not z:
                a.retain_grad()
                names[f"a{_SUPERSCRIPT[l]}"] = a
        C = _cost_of_output(a, self.t, self.cost)
        extra = weight_penalty([layer.weight for layer in self.model.layers], self.penalty.kind, self.penalty.rate)
        if extra is not None:
            C = C + extra
        C.backward(retain_graph=True)
        names["C"] = C
        return draw_graph(C, names=names, title=f"The cost C as the engine computed it ({self.cost.title})")


def _as_rows(name: str, values: Any, width: int) -> tuple[np.ndarray, bool]:
    """values as a float array of rows (N, width) and whether one example was given as a vector."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"explain: {name} must be numbers, got {values!r}") from None
    single = array.ndim <= 1
    array = array.reshape(1, -1) if single else array
    if array.ndim != 2 or array.shape[1] != width:
        raise ValueError(f"explain: {name} has shape {np.shape(values)}, the network needs {width} numbers "
                         f"per example")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"explain: {name} holds a NaN or an infinite value")
    return array, single


def _targets(t: Any, cost: Cost, n_L: int, N: int) -> np.ndarray:
    """Targets as rows (N, n_L); a 1-D list of N labels (ce) or N numbers (one output) gives one per example.

    For ce, one example's target is a class label (a number) or a one-hot row of n_L numbers.
    """
    values = np.asarray(t, dtype=object if not isinstance(t, np.ndarray) else None)
    if cost.name == "ce":
        return _class_targets(t, values, n_L, N)
    if n_L == 1 and values.ndim == 1 and values.size == N:
        t = np.array(t, dtype=np.float64).reshape(N, 1)
    rows, _ = _as_rows("t", t, n_L)
    if cost.name == "bce" and not np.all((rows >= 0) & (rows <= 1)):
        raise ValueError("explain: bce needs targets between 0 and 1")
    return rows


def _class_targets(t: Any, values: np.ndarray, n_L: int, N: int) -> np.ndarray:
    """ce's targets as one-hot rows, from class labels (one number per example) or one-hot rows."""
    if values.ndim == 0 or (values.ndim == 1 and values.size == N and (N > 1 or n_L > 1)):
        labels = np.array(t, dtype=np.float64).reshape(-1)
        if not np.all(np.equal(np.mod(labels, 1), 0)) or labels.min() < 0 or labels.max() >= n_L:
            raise ValueError(f"explain: ce needs class labels in 0..{n_L - 1} or one-hot targets, got {t!r}"[:300])
        return np.eye(n_L)[labels.astype(int)]
    rows, _ = _as_rows("t", t, n_L)
    if not np.all((rows == 0) | (rows == 1)) or not np.all(rows.sum(axis=1) == 1):
        raise ValueError("explain: ce needs one-hot targets (one 1 per row) or integer class labels")
    return rows


def _float64_twin(model: Any) -> Any:
    """A float64 MLP with the model's architecture and a copy of its parameters (the model stays untouched)."""
    from chainrule.nn import MLP
    for l, layer in enumerate(model.layers, start=1):
        if layer.bias is None:
            raise ValueError(f"explain: layer {l} has no bias; explain needs z = W a + b in every layer")
    twin = MLP(list(model.sizes), activation=model.activation, output_activation=model.output_activation,
               dtype=np.float64, rng=0)
    for l, source in enumerate(model.layers, start=1):
        for name, values in (("weights", source.weight.data), ("biases", source.bias.data)):
            if np.iscomplexobj(values) or not np.issubdtype(np.asarray(values).dtype, np.number):
                raise ValueError(f"explain: the {name} of layer {l} are {np.asarray(values).dtype}, not real numbers")
    for source, target in zip(model.layers, twin.layers):
        _write(target.weight, ..., np.asarray(source.weight.data, dtype=np.float64))
        _write(target.bias, ..., np.asarray(source.bias.data, dtype=np.float64))
    return twin


def _check_arguments(model: Any, loss: str, lr: float) -> tuple[list[int], Cost, float]:
    """(sizes, cost, η) once the model is an MLP small enough to explain, the loss known and η positive."""
    if loss not in COSTS:
        raise ValueError(f"explain: unknown loss {loss!r}; choose one of {', '.join(COSTS)}"[:300])
    lr = float(lr)
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"explain: the learning rate must be a positive number, got {lr}")
    for attribute in ("sizes", "layers", "activation_name"):
        if not hasattr(model, attribute):
            raise TypeError(f"explain: expected a chainrule.nn.MLP, got {type(model).__name__} "
                            f"(it has no {attribute!r})")
    return check_sizes(list(model.sizes)), COSTS[loss], lr


def _examples(x: Any, t: Any, cost: Cost, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """x and t as rows (N, n_0) and (N, n_L), checked against each other, the batch limit and the cost."""
    x_rows, _ = _as_rows("x", x, sizes[0])
    t_rows = _targets(t, cost, sizes[-1], x_rows.shape[0])
    if x_rows.shape[0] != t_rows.shape[0]:
        raise ValueError(f"explain: {x_rows.shape[0]} inputs but {t_rows.shape[0]} targets")
    if x_rows.shape[0] > MAX_EXAMPLES:
        raise ValueError(f"explain: {x_rows.shape[0]} examples; a small batch of at most {MAX_EXAMPLES} please")
    if cost.name == "ce" and sizes[-1] < 2:
        raise ValueError("explain: ce (softmax cross-entropy) needs at least 2 outputs")
    return x_rows, t_rows


def explain(model: Any, x: Any, t: Any, loss: str = "half_sum", lr: float = 0.5, title: str = "",
            eps: float = 1e-6, fixed_biases: bool = False, regularization: str = "none",
            regularization_rate: float = 0.0) -> Explanation:
    """One step of w ← w − η ∂C/∂w for `model` on example(s) x with target(s) t, derived by BP1–BP4 and checked
    (with fixed_biases the biases stay as they are, as in some step-by-step articles; with regularization
    "l1" or "l2" and a rate λ > 0 the cost carries λ Σ|w| or ½ λ Σ w² on the weights, as in the playground)."""
    sizes, cost, lr = _check_arguments(model, loss, lr)
    penalty = make_penalty(regularization, regularization_rate)
    x_rows, t_rows = _examples(x, t, cost, sizes)
    L = len(sizes) - 1
    twin = _float64_twin(model)
    activations = [None] + [model.activation_name(l) for l in range(1, L + 1)]
    for name in activations[1:]:
        if name not in ACTIVATIONS:
            raise ValueError(f"explain: no formula for activation {name!r}; known: {', '.join(ACTIVATIONS)}")
    W = [None] + [np.array(layer.weight.data, dtype=np.float64) for layer in twin.layers]
    b = [None] + [np.array(layer.bias.data, dtype=np.float64) for layer in twin.layers]
    _refuse_not_finite(W, b)
    if cost.name == "bce":
        _, a = forward(W, b, activations, x_rows.T)
        if not np.all((a[L] >= 0) & (a[L] <= 1)):
            raise ValueError(f"explain: bce needs outputs between 0 and 1: use output activation sigmoid "
                             f"(this network's is {activations[L]})")

    with np.errstate(all="ignore"):  # a value that is not finite is reported just below, in words
        derivation = backpropagate(W, b, activations, x_rows.T, t_rows.T, cost, lr, fixed_biases, penalty)
    _refuse_overflow(derivation)
    checks = check(twin, x_rows, t_rows, cost, lr, derivation, eps=eps, penalty=penalty)
    return Explanation(sizes, activations, cost, lr, x_rows, t_rows, derivation, checks, title, twin, fixed_biases,
                       penalty)


def _refuse_not_finite(W: list, b: list) -> None:
    """A diverged model (NaN or ±∞ among its parameters) gets one clear error instead of a failed check."""
    for l in range(1, len(W)):
        for name, values in ((f"W{_SUPERSCRIPT[l]}", W[l]), (f"b{_SUPERSCRIPT[l]}", b[l])):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            if bad:
                raise ValueError(f"explain: {bad} of the {values.size} entries of {name} are NaN or infinite: the "
                                 "model diverged during training (η too large?); explain a model saved before it "
                                 "diverged, or retrain with a smaller η")


def _refuse_overflow(d: Derivation) -> None:
    """Finite parameters can still overflow in the forward or backward pass: say where, in words."""
    L = len(d.W) - 1
    for what, values in ([(f"z{_SUPERSCRIPT[l]}", d.z[l]) for l in range(1, L + 1)]
                         + [("the cost C", np.array(d.cost))]
                         + [(f"δ{_SUPERSCRIPT[l]}", d.delta[l]) for l in range(L, 0, -1)]):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"explain: {what} is not a finite number (an overflow: the weights or inputs are too "
                             "large for float64); scale them down")
    if not np.isfinite(d.cost_after):
        raise ValueError("explain: the cost after the step is not a finite number: η is far too large; use a "
                         "smaller learning rate")


# ------------------------------------------------------------------------------------ JSON problems


@dataclass
class Problem:
    """A network with its example(s), target(s), cost and learning rate, as read from a JSON spec."""
    model: Any
    x: Any
    t: Any
    loss: str = "half_sum"
    lr: float = 0.5
    title: str = ""


SPEC_KEYS = {"title", "sizes", "activation", "output_activation", "W", "b", "seed", "x", "t", "loss", "lr"}
MAX_SPEC_BYTES = 1_000_000  # a spec is a small network and an example or two; larger files are refused unread
MAX_TITLE = 200  # characters


def check_sizes(sizes: Any, where: str = "explain") -> list[int]:
    """Layer widths as ints, refused (before anything is built) unless the network is small enough to explain."""
    if (not isinstance(sizes, (list, tuple)) or len(sizes) < 2
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in sizes)):
        raise ValueError(f"{where}: sizes must be a list of at least two whole numbers, e.g. [2, 3, 1]; got {sizes!r}"[:300])
    if min(sizes) < 1:
        raise ValueError(f"{where}: every layer width must be a positive integer, got {list(sizes)}")
    parameters = sum(int(n_in) * int(n_out) + int(n_out) for n_in, n_out in itertools.pairwise(sizes))
    if parameters > MAX_PARAMETERS:
        raise ValueError(f"{where}: the network has {parameters:,} parameters; explanations are for small networks "
                         f"(at most {MAX_PARAMETERS}), e.g. sizes 2 3 1")
    return [int(n) for n in sizes]


def _numbers(value: Any, what: str, depth: int) -> None:
    """Refuse anything but a number or lists of numbers nested at most `depth` deep (no text, true/false, objects)."""
    level: list = [value]
    for _ in range(depth + 1):
        if any(isinstance(v, bool) or not isinstance(v, (int, float, list)) for v in level):
            bad = next(v for v in level if isinstance(v, bool) or not isinstance(v, (int, float, list)))
            raise ValueError(f"{what} must be numbers, found {type(bad).__name__} {str(bad)[:40]!r}")
        level = [item for v in level if isinstance(v, list) for item in v]
        if not level:
            return
    raise ValueError(f"{what} is nested too deeply: lists of numbers at most {depth} levels deep")


def _spec_field(spec: dict, key: str, kind: type | tuple, where: str, default: Any = None) -> Any:
    """spec[key] if it has the right JSON type (default if absent): one clear error otherwise."""
    if key not in spec:
        return default
    value = spec[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ValueError(f"{where}: {key} must be {_type_words(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise ValueError(f"{where}: {key} must be {_type_words(kind)}, got {type(value).__name__} "
                         f"{str(value)[:40]!r}")
    return value


def _type_words(kind: type | tuple) -> str:
    if kind == (int, float):
        return "a number"
    names = {str: "text", int: "a whole number", float: "a number", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,)))


def _matrix(value: Any, what: str, shape: tuple) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers") from None
    if array.shape != shape:
        raise ValueError(f"{what} has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} holds a NaN or an infinite value")
    return array


def problem_from_spec(spec: dict, where: str = "spec") -> Problem:
    """Build the MLP and read x, t, loss, lr from a spec dict (format: see examples/two-two-two.json).

    Keys: "activation" and "output_activation" (required: sigmoid, tanh, relu, leaky_relu, softplus, identity);
    either "W" (one nested list (out, in) per layer) with "b" (one list per layer), or "sizes" with an optional
    "seed"; "x" (one example as a list, or a batch as a list of lists) and "t" (targets, or class labels for
    ce); optional "loss" (half_sum, mse, bce, ce; default half_sum), "lr" (default 0.5) and "title".
    """
    from chainrule.nn import MLP
    _check_spec_fields(spec, where)
    sizes = check_sizes(_spec_sizes(spec, where), where)  # before the network is built
    for key in ("activation", "output_activation"):
        if spec[key] not in ACTIVATIONS:
            raise ValueError(f"{where}: unknown {key} {spec[key]!r}; choose one of {', '.join(ACTIVATIONS)}")
    model = MLP(sizes, activation=spec["activation"], output_activation=spec["output_activation"],
                rng=int(spec.get("seed", 0)))
    if "W" in spec:
        _set_parameters(model, spec, where)
    return Problem(model, spec["x"], spec["t"], spec.get("loss", "half_sum"), spec.get("lr", 0.5),
                   str(spec.get("title", "")))


def _spec_sizes(spec: dict, where: str) -> Any:
    """The layer widths a spec declares: read off the shapes of W when it gives W, else its "sizes"."""
    if "W" not in spec:
        if "sizes" not in spec:
            raise ValueError(f"{where}: give W (and b) for every layer, or sizes and seed")
        return spec["sizes"]
    if not isinstance(spec["W"], list) or not spec["W"]:
        raise ValueError(f"{where}: W must be a list with one matrix (out, in) per layer")
    W = [np.array(w, dtype=np.float64) if _is_rectangular(w) else None for w in spec["W"]]
    if any(w is None or w.ndim != 2 for w in W):
        raise ValueError(f"{where}: every W[l] must be a rectangular nested list of numbers (out, in)")
    sizes = [W[0].shape[1]] + [w.shape[0] for w in W]
    if "sizes" in spec and spec["sizes"] != sizes:
        raise ValueError(f"{where}: sizes {spec['sizes']} do not match the shapes of W ({sizes})"[:300])
    return sizes


def _set_parameters(model: Any, spec: dict, where: str) -> None:
    """Copy the spec's W and b into the freshly built model, each checked against the layer's shape."""
    biases = spec.get("b")
    if not isinstance(biases, list) or len(biases) != len(model.layers):
        raise ValueError(f"{where}: b must be a list with one vector per layer ({len(model.layers)})")
    for l, layer in enumerate(model.layers, start=1):
        _write(layer.weight, ..., _matrix(spec["W"][l - 1], f"{where}: W[{l}]", layer.weight.shape))
        _write(layer.bias, ..., _matrix(biases[l - 1], f"{where}: b[{l}]", layer.bias.shape))


def _check_spec_fields(spec: dict, where: str) -> None:
    """Every field's JSON type and range, before anything is built from it (one clear error for each)."""
    _check_spec_keys(spec, where)
    _check_spec_values(spec, where)


def _check_spec_keys(spec: dict, where: str) -> None:
    """A JSON object with only known keys and both activations named."""
    if not isinstance(spec, dict):
        raise TypeError(f"{where}: expected a JSON object")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(map(str, unknown))[:200]}; known: "
                         f"{', '.join(sorted(SPEC_KEYS))}")
    missing = [key for key in ("activation", "output_activation") if key not in spec]
    if missing:
        raise ValueError(f"{where}: give {' and '.join(missing)} (e.g. \"sigmoid\"; \"identity\" for none)")


def _check_spec_values(spec: dict, where: str) -> None:
    """Each value of the right JSON type and range."""
    for key in ("activation", "output_activation"):
        _spec_field(spec, key, str, where)
    title = _spec_field(spec, "title", str, where, "")
    if len(title) > MAX_TITLE:
        raise ValueError(f"{where}: the title has {len(title)} characters; at most {MAX_TITLE}")
    _spec_field(spec, "loss", str, where)
    lr = _spec_field(spec, "lr", (int, float), where)
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"{where}: lr must be a positive number, got {lr!r}")
    seed = _spec_field(spec, "seed", int, where)
    if seed is not None and not 0 <= seed < 2 ** 63:
        raise ValueError(f"{where}: seed must be a whole number from 0 to 2**63 − 1, got {seed}")
    for key, depth in (("W", 3), ("b", 2), ("x", 2), ("t", 2)):
        if key in spec:
            _numbers(spec[key], f"{where}: {key}", depth)
    for key in ("x", "t"):
        if key not in spec:
            raise ValueError(f"{where}: give {key} (one example as a list, or a batch as a list of lists)")


def _is_rectangular(value: Any) -> bool:
    try:
        np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def load_spec(path: str | Path) -> Problem:
    """Read a JSON spec file: sizes, activation, output_activation, W, b (or seed), x, t, loss, lr."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise ValueError(f"{path}: {path.stat().st_size:,} bytes; a spec is at most {MAX_SPEC_BYTES:,} bytes")
        spec = json.loads(path.read_text(encoding="utf-8"), parse_constant=partial(_refuse_constant, path))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except RecursionError:
        raise ValueError(f"{path}: the JSON is nested too deeply to be a spec") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON spec ({error})") from None
    return problem_from_spec(spec, str(path))


def _refuse_constant(path: Path, name: str) -> float:
    """json's hook for NaN, Infinity and -Infinity, which are not JSON numbers: refused with their name."""
    raise ValueError(f"{path}: {name} is not a JSON number; write a finite number")


def load_problem(path: str | Path) -> Problem:
    """A JSON spec (``*.json``) with its example, or a model saved by chainrule.save (x and t left as None)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return load_spec(path)
    from chainrule.io import load
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    return Problem(load(path), None, None)


def random_problem(sizes: list, seed: int = 0, activation: str = "sigmoid", output_activation: str | None = None,
                   loss: str = "half_sum", lr: float = 0.5) -> Problem:
    """An MLP initialised from `seed`, with one example drawn from the same seed: x ~ U(−1, 1), t a class or
    U(0, 1) targets (the output activation defaults to identity for ce and sigmoid otherwise)."""
    from chainrule.nn import MLP
    sizes = check_sizes(list(sizes))  # before the network is built
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"explain: the seed must be a whole number ≥ 0, got {seed!r}")
    if output_activation is None:
        output_activation = "identity" if loss == "ce" else "sigmoid"
    rng = np.random.default_rng(seed)
    model = MLP(list(sizes), activation=activation, output_activation=output_activation, rng=rng)
    x = np.round(rng.uniform(-1, 1, size=model.sizes[0]), 2)
    n_L = model.sizes[-1]
    t = int(rng.integers(n_L)) if loss == "ce" else np.round(rng.uniform(0.05, 0.95, size=n_L), 2)
    title = f"Back-propagation, step by step: a {'-'.join(map(str, model.sizes))} network (seed {seed})"
    return Problem(model, x, t, loss, lr, title)
