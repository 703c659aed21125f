"""Cost functions C(y, t) and accuracy, as functions and as modules.

Targets may be given as the network's output shape, as one label per example for a single output, or as
integer class labels for several outputs (turned into one-hot rows). Targets never need gradients.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autodiff import Tensor, clip, log, softmax_cross_entropy, softplus, tensor
from ..autodiff.tensor import array_helper
from .module import Module

REDUCTIONS = ("mean", "sum", "half_sum", "none")


def _values(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


@array_helper
def _targets_like(name: str, y: Any, t: Any) -> np.ndarray:
    """Targets as a float array of y's shape: as given, reshaped, or one-hot from integer labels."""
    t = _values(t)
    y_shape = tuple(y.shape)
    dtype = y.dtype if np.issubdtype(np.dtype(y.dtype), np.floating) else np.float64
    if t.shape == y_shape:
        return t.astype(dtype, copy=False)
    if t.size == int(np.prod(y_shape)) and t.ndim != len(y_shape) and (len(y_shape) < 2 or y_shape[-1] == 1):
        return t.reshape(y_shape).astype(dtype, copy=False)
    if len(y_shape) == 2 and t.ndim == 1 and t.shape[0] == y_shape[0]:
        return one_hot(t, y_shape[1], name).astype(dtype, copy=False)
    raise ValueError(f"{name}: outputs of shape {y_shape} and targets of shape {t.shape} do not match")


@array_helper
def one_hot(labels: Any, classes: int, name: str = "one_hot") -> np.ndarray:
    """Row i has a 1 in column labels[i] and 0 elsewhere."""
    labels = _class_labels(name, labels, classes)
    rows = np.zeros((labels.shape[0], classes))
    rows[np.arange(labels.shape[0]), labels] = 1.0
    return rows


@array_helper
def _class_labels(name: str, labels: Any, classes: int) -> np.ndarray:
    labels = _values(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name}: class labels must be one integer per example, got shape {labels.shape}")
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError(f"{name}: class labels must be whole numbers, got {labels[:5]}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"{name}: class labels must lie in 0..{classes - 1} for {classes} outputs, "
            f"got {labels.min()}..{labels.max()}"
        )
    return labels


def _reduce(name: str, per_element: Any, reduction: str) -> Any:
    if reduction == "mean":
        return per_element.mean()
    if reduction == "sum":
        return per_element.sum()
    if reduction == "half_sum":
        return 0.5 * per_element.sum()
    if reduction == "none":
        return per_element
    raise ValueError(f"{name}: unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}")


def mse(y: Any, t: Any, reduction: str = "mean") -> Any:
    """C = mean (y − t)² ("mean"), Σ (y − t)² ("sum") or the textbook ½ Σ (t − y)² ("half_sum")."""
    diff = y - _targets_like("mse", y, t)
    return _reduce("mse", diff * diff, reduction)


def binary_cross_entropy(y: Any, t: Any, reduction: str = "mean") -> Any:
    """C = −[t log y + (1 − t) log(1 − y)] for probabilities y in (0, 1) (clipped by machine epsilon)."""
    t = tensor(_targets_like("binary_cross_entropy", y, t))  # a Tensor, so that 1 − t is an engine operation
    eps = float(np.finfo(t.dtype).eps)
    y = clip(y, eps, 1.0 - eps)
    return _reduce("binary_cross_entropy", -(t * log(y) + (1.0 - t) * log(1.0 - y)), reduction)


def binary_cross_entropy_with_logits(z: Any, t: Any, reduction: str = "mean") -> Any:
    """C = softplus(z) − t z, the cross-entropy of σ(z) written stably in the logit z."""
    t = _targets_like("binary_cross_entropy_with_logits", z, t)
    return _reduce("binary_cross_entropy_with_logits", softplus(z) - t * z, reduction)


def cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Any:
    """C = −log softmax(z)[label], fused and stable; integer labels, one per row of logits."""
    if len(logits.shape) != 2:
        raise ValueError(f"cross_entropy: logits must have shape (batch, classes), got {tuple(logits.shape)}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: unknown reduction {reduction!r}; choose one of mean, sum, none")
    labels = _values(labels)
    if labels.dtype.kind not in "iu":  # whole numbers stored as floats; the primitive checks the rest
        labels = _class_labels("cross_entropy", labels, logits.shape[1])
    if reduction == "mean":  # the primitive's default: the node then records no parameters
        return softmax_cross_entropy(logits, labels)
    return softmax_cross_entropy(logits, labels, reduction=reduction)


def predict_labels(y: Any, threshold: float = 0.5) -> np.ndarray:
    """Class of each row: argmax for several outputs, y > threshold for one output."""
    values = _values(y)
    if values.ndim == 2 and values.shape[1] > 1:
        return values.argmax(axis=1)
    return (values.reshape(-1) > threshold).astype(np.int64)


def accuracy(y: Any, t: Any, threshold: float = 0.5) -> float:
    """The fraction of rows whose predicted class equals the target class."""
    predicted = predict_labels(y, threshold)
    target = _values(t)
    if target.ndim == 2 and target.shape[1] > 1:  # one-hot rows
        target = target.argmax(axis=1)
    elif is_single_output(y):  # one output: 0/1 (or −1/+1) targets split by the same threshold
        target = (target.reshape(-1) > threshold).astype(np.int64)
    else:
        target = target.reshape(-1).astype(np.int64)
    if target.shape[0] != predicted.shape[0]:
        raise ValueError(f"accuracy: {predicted.shape[0]} predictions but {target.shape[0]} targets")
    if predicted.shape[0] == 0:
        raise ValueError("accuracy: no examples")
    return float(np.mean(predicted == target))


def is_single_output(y: Any) -> bool:
    """True when y has a single output per example (classes by threshold, not argmax)."""
    shape = tuple(y.shape)
    return not (len(shape) == 2 and shape[1] > 1)


# --------------------------------------------------------------------------- names used by the CLI and trainer
def half_sum_squared_error(y: Any, t: Any) -> Any:
    """C = ½ Σ (t − y)², summed over examples and outputs (the textbook cost)."""
    return mse(y, t, reduction="half_sum")


@dataclass(frozen=True)
class CostSpec:
    """A cost by name: the engine function C(y, t), what printouts and plots call it, the output activation it
    expects after the last layer (None: logits), and where a single output splits two classes."""
    name: str
    function: Callable[[Any, Any], Any]
    label: str
    output_activation: str | None
    threshold: float = 0.5

    def __call__(self, y: Any, t: Any) -> Any:
        """C(y, t) by the engine."""
        return self.function(y, t)


COSTS: dict[str, CostSpec] = {spec.name: spec for spec in (
    CostSpec("mse", mse, "mean squared error", "sigmoid"),
    CostSpec("half_sum", half_sum_squared_error, "C = ½Σ(t − y)²", "sigmoid"),
    CostSpec("bce", binary_cross_entropy, "binary cross-entropy", "sigmoid"),
    CostSpec("bce_logits", binary_cross_entropy_with_logits, "binary cross-entropy", None, threshold=0.0),
    CostSpec("ce", cross_entropy, "cross-entropy", None),
)}
# Views of the registry by field, for the readers that want one field.
LOSSES: dict[str, Callable[[Any, Any], Any]] = {name: spec.function for name, spec in COSTS.items()}
OUTPUT_ACTIVATION: dict[str, str | None] = {name: spec.output_activation for name, spec in COSTS.items()}


def get_loss(name: str) -> Callable[[Any, Any], Any]:
    """The cost function called `name` (see LOSSES)."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None


def decision_threshold(loss: Any) -> float:
    """Where a single output splits the two classes: 0 for a cost on logits, 0.5 for one on probabilities."""
    if isinstance(loss, BCEWithLogitsLoss):
        return COSTS["bce_logits"].threshold
    for spec in COSTS.values():
        if loss == spec.name or loss is spec.function:
            return spec.threshold
    return 0.5


# --------------------------------------------------------------------------- a penalty on the weights
# What a cost may add to keep weights small (never the biases): λ Σ|w| (l1) or ½ λ Σ w² (l2). Their derivatives,
# λ sign(w) and λ w, are written out where they are taught (chainrule.explain) and checked against these.
PENALTIES: dict[str, Callable[[Any, float], Any]] = {
    "l1": lambda W, rate: rate * W.abs().sum(),
    "l2": lambda W, rate: 0.5 * rate * (W * W).sum(),
}


def check_penalty(kind: str, rate: float) -> tuple[str, float]:
    """(kind, λ) once kind is "none" or a name in PENALTIES and λ a finite number ≥ 0; ValueError otherwise."""
    if kind != "none" and kind not in PENALTIES:
        raise ValueError(f"unknown penalty {kind!r}; choose one of none, {', '.join(PENALTIES)}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)) or not (
            np.isfinite(rate) and rate >= 0):
        raise ValueError(f"the penalty's rate λ must be a finite number ≥ 0, got {rate!r}")
    return kind, float(rate)


def weight_penalty(weights: Any, kind: str, rate: float) -> Any:
    """The penalty `kind` ("l1", "l2" or "none") with rate λ summed over weight matrices (Tensors), by the
    engine; None for "none" or λ = 0. ValueError for an unknown kind or a λ that is not a finite number ≥ 0."""
    kind, rate = check_penalty(kind, rate)
    if kind == "none" or rate == 0:
        return None
    total = None
    for W in weights:
        term = PENALTIES[kind](W, rate)
        total = term if total is None else total + term
    return total


# --------------------------------------------------------------------------- the same costs as modules
class MSELoss(Module):
    """mse as a module."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, y: Any, t: Any) -> Any:
        return mse(y, t, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCELoss(MSELoss):
    """binary_cross_entropy as a module."""

    def forward(self, y: Any, t: Any) -> Any:
        return binary_cross_entropy(y, t, self.reduction)


class BCEWithLogitsLoss(MSELoss):
    """binary_cross_entropy_with_logits as a module."""

    def forward(self, z: Any, t: Any) -> Any:
        return binary_cross_entropy_with_logits(z, t, self.reduction)


class CrossEntropyLoss(MSELoss):
    """cross_entropy as a module."""

    def forward(self, logits: Any, labels: Any) -> Any:
        return cross_entropy(logits, labels, self.reduction)
