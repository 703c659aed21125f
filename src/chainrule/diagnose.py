"""Why a training run ended where it did: one function, `diagnose`, read by `train`, `demo` and `sweep`.

It looks only at the run's own cost history and at gradients and curvature measured by the engine at the
end (and at the start) of the run, and names one verdict with the figures behind it. It never claims a local
minimum unless ‖∇C‖ ≈ 0 and the Hessian there is positive definite; it does not change the model.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .autodiff import Tensor, hessian, hvp, linear, no_grad, value_and_grad
from .nn.activations import ACTIVATIONS
from .nn.functional import get_loss

GRADIENT_ZERO = 1e-6  # ‖∇C‖ below this counts as a vanished gradient
SATURATED_SLOPE = 0.01  # σ'(z) below this share of its largest value counts as "near 0"
STUCK_DROP = 0.05  # the cost fell by less than this share over the last window: hardly moving
STUCK_SATURATION = 0.25  # ... while at least this share of σ' values are near 0: a saturated plateau
PINNED = 1e-6  # an output this close to 0 or 1 is pinned
MAX_HESSIAN_PARAMETERS = 400  # the full Hessian is formed only for networks up to this size
SLOPE_AT_MOST = {"sigmoid": 0.25, "tanh": 1.0, "softplus": 1.0}

VERDICTS = ("converged", "plateau", "saturated plateau", "local minimum", "learning rate too large",
            "dead ReLU units")


@dataclass(frozen=True)
class Target:
    """What counts as success: `metric` ("train_acc", "test_acc" or "train_loss") at least (for a loss: below)
    `value`."""

    metric: str
    value: float

    def met(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return value < self.value if self.metric.endswith("loss") else value >= self.value

    def describe(self) -> str:
        if self.metric.endswith("loss"):
            return f"{self.metric.replace('_', ' ')} < {self.value:g}"
        return f"{self.metric.replace('_acc', ' accuracy').replace('_', ' ')} ≥ {self.value:.0%}"


def default_target(dataset: str, has_test: bool = True) -> Target:
    """100% train accuracy for XOR (or a data set with no test split), 95% test accuracy otherwise."""
    if dataset == "xor" or not has_test:
        return Target("train_acc", 1.0)
    return Target("test_acc", 0.95)


@dataclass
class Diagnosis:
    """One verdict (see VERDICTS), the sentence that explains it, and the figures it rests on."""

    verdict: str
    message: str
    figures: dict[str, float | int | str | None] = field(default_factory=dict)
    suggested_lr: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as JSON-ready data (a figure that is not a finite number becomes None)."""
        figures = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in self.figures.items()}
        return {"verdict": self.verdict, "message": self.message, "figures": figures,
                "suggested_lr": self.suggested_lr}


# ----------------------------------------------------------------------------- the cost as a function of θ
def _layers(model: Any) -> list[tuple[Any, str]]:
    """(layer, activation name) for each layer of an MLP."""
    return [(layer, model.activation_name(l)) for l, layer in enumerate(model.layers, start=1)]


def parameter_vector(model: Any) -> np.ndarray:
    """θ: every parameter of the model, flattened and concatenated in `model.parameters()` order."""
    return np.concatenate([np.asarray(p.data, dtype=np.float64).ravel() for p in model.parameters()])


def cost_function(model: Any, loss: Any, X: np.ndarray, y: np.ndarray) -> Callable[[Any], Any]:
    """θ ↦ C(θ) for an MLP (biases included) on (X, y), written with the engine's operations so that it can
    be differentiated twice (for `hessian` and `hvp`)."""
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    shapes = [tuple(p.shape) for p in model.parameters()]
    layers = _layers(model)

    def cost(theta: Any) -> Any:
        pieces, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            pieces.append(theta[start:start + size].reshape(*shape))
            start += size
        a: Any = X
        for (_, name), W, b in zip(layers, pieces[0::2], pieces[1::2]):
            a = ACTIVATIONS[name](linear(a, W, b))
        return loss_fn(a, y)

    return cost


def largest_curvature(cost: Callable[[Any], Any], theta: np.ndarray, steps: int = 30, seed: int = 0) -> float:
    """λ_max of ∇²C(θ), by power iteration on Hessian-vector products v ↦ ∇²C v (the engine's `hvp`)."""
    v = np.random.default_rng(seed).normal(size=theta.shape)
    v /= np.linalg.norm(v)
    estimate = 0.0
    for _ in range(steps):
        w = np.asarray(_array(hvp(cost, theta, v)), dtype=np.float64)
        estimate = float(v @ w)
        norm = float(np.linalg.norm(w))
        if not math.isfinite(norm) or norm == 0.0:
            break
        v = w / norm
    return abs(estimate)


def _array(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _gradient_norm(cost: Callable[[Any], Any], theta: np.ndarray) -> float:
    return float(np.linalg.norm(_array(value_and_grad(cost)(theta)[1])))


def _slopes(model: Any, X: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(activation, σ'(z^l) of shape (examples, units)) for each hidden layer, from a forward pass."""
    found, a = [], np.asarray(X, dtype=np.float64)
    with no_grad():
        for layer, name in _layers(model)[:-1]:
            z = _array(linear(a, layer.weight, layer.bias))
            a = _array(ACTIVATIONS[name](Tensor(z) if not isinstance(z, Tensor) else z))
            if name == "sigmoid":
                found.append((name, a * (1.0 - a)))
            elif name == "tanh":
                found.append((name, 1.0 - a * a))
            elif name in ("relu", "leaky_relu"):
                found.append((name, (z > 0).astype(float)))
            elif name == "softplus":
                found.append((name, 1.0 / (1.0 + np.exp(-z))))
    return found


def saturated_share(model: Any, X: np.ndarray) -> float | None:
    """The share of (hidden unit, training example) pairs where σ' is near 0 (below 1% of its largest value);
    None when no hidden layer has a saturating activation."""
    shares = [(slope < SATURATED_SLOPE * SLOPE_AT_MOST[name]).ravel() for name, slope in _slopes(model, X)
              if name in SLOPE_AT_MOST]
    if not shares:
        return None
    return float(np.concatenate(shares).mean())


def dead_units(model: Any, X: np.ndarray) -> tuple[int, int]:
    """(dead, total): ReLU hidden units whose z is ≤ 0 on every training example, so they never learn again."""
    counts = [(int((slope == 0).all(axis=0).sum()), slope.shape[1]) for name, slope in _slopes(model, X)
              if name == "relu"]
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


# ----------------------------------------------------------------------------- the verdict
def _too_large_lr(history: Any, outputs: np.ndarray, probabilities: bool, window: int) -> str | None:
    """What in the history says the steps are too large: NaN, a rising or oscillating cost, pinned outputs."""
    costs = np.asarray(history.train_loss, dtype=np.float64)
    if getattr(history, "stopped_reason", "") == "non-finite loss":
        return "the cost became NaN or infinite"
    if len(costs) < 3:
        return None
    if costs[-1] > costs[0] * 1.001:
        return f"the cost rose from {costs[0]:.8g} to {costs[-1]:.8g}"
    recent = np.diff(costs[-window - 1:])
    rises = float((recent > 1e-12 * max(abs(costs[-1]), 1e-300)).mean()) if len(recent) else 0.0
    if rises > 0.25:
        return f"the cost went up in {rises:.0%} of the last {len(recent)} steps (oscillating)"
    if probabilities:
        pinned = float(((outputs < PINNED) | (outputs > 1 - PINNED)).mean())
        if pinned >= 0.5:
            return f"{pinned:.0%} of the outputs are pinned at 0 or 1"
    return None


def _reached(target: Target, history: Any) -> int | None:
    """The first epoch at which the history meets the target, or None."""
    values = getattr(history, target.metric, None) or []
    for epoch, value in enumerate(values):
        if target.met(value):
            return epoch
    return None


def _final(target: Target, history: Any) -> float | None:
    values = getattr(history, target.metric, None) or []
    return values[-1] if values else None


def diagnose(model: Any, loss: str, train_data: tuple[np.ndarray, np.ndarray], history: Any, lr: float,
             target: Target, start: Sequence[np.ndarray] | None = None) -> Diagnosis:
    """The verdict on a finished run: converged, a plateau still moving, a saturated plateau, a local
    minimum (‖∇C‖ ≈ 0 and ∇²C positive definite), too large a learning rate (with η < 2/λ_max suggested from
    the curvature at the `start` parameters), or dead ReLU units — each with its figures."""
    X, y = (np.asarray(v) for v in train_data)
    cost = cost_function(model, loss, X, y)
    theta = parameter_vector(model)
    costs = list(history.train_loss)
    window = max(10, len(costs) // 10)
    figures: dict[str, float | int | str | None] = {
        "epochs": max(len(costs) - 1, 0), "final cost": costs[-1] if costs else None,
        target.metric: _final(target, history), "lr": lr}
    reached = _reached(target, history)
    if reached is not None and target.met(_final(target, history)):
        figures["target reached at epoch"] = reached
        return Diagnosis("converged", f"converged: {target.describe()} first met after {reached} epochs; "
                         f"final cost {figures['final cost']:.8g}.", figures)
    with no_grad():
        outputs = _array(model(X))
    too_large = _too_large_lr(history, outputs, model.activation_name(model.L) == "sigmoid", window)
    if too_large is not None:
        return _lr_verdict(too_large, model, loss, X, y, lr, start, figures)
    dead, units = dead_units(model, X)
    if dead:
        figures["dead units"] = f"{dead}/{units}"
        return Diagnosis("dead ReLU units", f"dead ReLU units: {dead} of {units} hidden ReLU units output 0 on "
                         "every training example, so no gradient reaches them and they never learn again; "
                         "use a smaller η, leaky_relu, or another seed.", figures)
    return _flat_verdict(cost, theta, history, model, X, target, figures, window)


def _lr_verdict(evidence: str, model: Any, loss: Any, X: np.ndarray, y: np.ndarray, lr: float,
                start: Sequence[np.ndarray] | None, figures: dict) -> Diagnosis:
    """'learning rate too large', with η < 2/λ_max from the curvature at the starting parameters."""
    theta0 = np.concatenate([np.ravel(p) for p in start]) if start is not None else parameter_vector(model)
    lam = largest_curvature(cost_function(model, loss, X, y), theta0)
    figures["λ_max at start"] = lam
    limit = 2.0 / lam if lam > 0 else math.inf
    figures["2/λ_max"] = limit
    suggestion = _round_down(limit / 2) if math.isfinite(limit) else None
    where = "the starting weights" if start is not None else "the final weights"
    advice = (f"try η ≈ {suggestion:g} (gradient descent is stable for η < 2/λ_max = {limit:.4g}, with λ_max = "
              f"{lam:.4g} the largest curvature of C at {where})") if suggestion else "try a smaller η"
    return Diagnosis("learning rate too large", f"the learning rate is too large (η = {lr:g}): {evidence}; "
                     f"{advice}.", figures, suggestion)


def _round_down(value: float) -> float:
    """value rounded down to one significant digit (1, 2 or 5 times a power of ten)."""
    power = 10.0 ** math.floor(math.log10(value))
    return max(step * power for step in (1, 2, 5) if step * power <= value)


def _flat_verdict(cost: Callable, theta: np.ndarray, history: Any, model: Any, X: np.ndarray, target: Target,
                  figures: dict, window: int) -> Diagnosis:
    """A run that neither met its target nor blew up: still moving, stuck on a saturated plateau, a true
    local minimum, or too short to say."""
    costs = np.asarray(history.train_loss, dtype=np.float64)
    gradient = _gradient_norm(cost, theta)
    figures["‖∇C‖"] = gradient
    old, new = costs[max(len(costs) - 1 - window, 0)], costs[-1]
    drop = (old - new) / abs(old) if old else 0.0
    figures[f"cost drop over the last {window} epochs"] = f"{drop:.2%}"
    saturated = saturated_share(model, X)
    figures["σ′ ≈ 0 (hidden unit, example) pairs"] = None if saturated is None else f"{saturated:.0%}"
    score = f"{target.describe().split(' ≥')[0].split(' <')[0]} {_format(_final(target, history), target)}"
    stuck = drop < STUCK_DROP and saturated is not None and saturated >= STUCK_SATURATION
    if gradient < GRADIENT_ZERO:
        smallest = _smallest_curvature(cost, theta)
        figures["λ_min of the Hessian"] = smallest
        if smallest is not None and smallest > 0:
            return Diagnosis("local minimum", f"a local minimum: ‖∇C‖ = {gradient:.3g} ≈ 0 and the Hessian is "
                             f"positive definite (smallest eigenvalue {smallest:.3g}), so no small step lowers "
                             f"the cost ({new:.8g}, {score}). Another seed, more hidden units or momentum start "
                             "elsewhere.", figures)
    if stuck:
        return Diagnosis("saturated plateau", f"stuck on a saturated plateau: σ′ ≈ 0 for {saturated:.0%} of the "
                         f"(hidden unit, example) pairs, so ‖∇C‖ = {gradient:.3g} is small and the cost fell only "
                         f"{drop:.3%} (to {new:.8g}) over the last {window} epochs ({score}). It is no local "
                         "minimum (the gradient is not 0: the cost still creeps down as the weights grow), but "
                         "the way out is very slow; another seed or more hidden units avoid it.", figures)
    return Diagnosis("plateau", f"still moving on a plateau: the cost fell {drop:.2%} (to {new:.8g}) over the last "
                     f"{window} epochs with ‖∇C‖ = {gradient:.3g} ({score}); more epochs or a larger η get out "
                     "of it.", figures)


def _format(value: float | None, target: Target) -> str:
    if value is None:
        return "n/a"
    return f"{value:.8g}" if target.metric.endswith("loss") else f"{value:.1%}"


def _smallest_curvature(cost: Callable, theta: np.ndarray) -> float | None:
    """λ_min of the full Hessian (the engine's `hessian`), or None for a network too large to form it."""
    if theta.size > MAX_HESSIAN_PARAMETERS:
        return None
    H = np.asarray(_array(hessian(cost)(theta)), dtype=np.float64).reshape(theta.size, theta.size)
    return float(np.linalg.eigvalsh(0.5 * (H + H.T))[0])

