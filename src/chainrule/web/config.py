"""The playground's settings, their bounds, and the validation of what a browser sends.

The server never trusts the client: every setting is checked for type and range here, and anything
unknown or out of bounds is refused with a one-line message naming the setting. Nothing is executed.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..data import INPUT_FEATURES
from ..nn.activations import ACTIVATIONS as ACTIVATION_REGISTRY
from ..nn.functional import OUTPUT_ACTIVATION
from ..optim import OPTIMIZERS as OPTIMIZER_REGISTRY

DATASETS = ("xor", "circles", "moons", "spirals", "gaussians", "regression")
# The one data set whose targets are numbers, not classes: it takes a squared-error cost and a linear output.
REGRESSION = "regression"
REGRESSION_LOSSES = ("mse", "half_sum")
# The input features a network may take, as in TensorFlow Playground: name → what a⁰ holds.
FEATURES = {name: feature.label for name, feature in INPUT_FEATURES.items()}  # chainrule.data's, by label
# A penalty on the weights (never the biases) added to the cost: λ Σ|w| (l1) or ½ λ Σ w² (l2).
REGULARIZATIONS = ("none", "l1", "l2")
ACTIVATIONS = tuple(ACTIVATION_REGISTRY)  # the names of the registries: one list each, in chainrule.nn / optim
# The costs `chainrule explain` can derive, with the label the page shows.
LOSSES = {
    "half_sum": "½ Σ (t − a)²  (textbook)",
    "mse": "mean squared error",
    "bce": "binary cross-entropy",
    "ce": "softmax cross-entropy",
}
OPTIMIZERS = tuple(OPTIMIZER_REGISTRY)

# Bounds on everything a client may ask for.
LIMITS: dict[str, tuple[float, float]] = {
    "noise": (0.0, 1.0),
    "train_fraction": (0.1, 0.9),
    "n_points": (20, 1000),
    "hidden_layers": (0, 6),
    "neurons": (1, 8),
    "lr": (1e-4, 10.0),
    "regularization_rate": (0.0, 1.0),
    "batch_size": (1, 1000),
    "seed": (0, 2**31 - 1),
    "epochs_per_request": (1, 200),
    "weight": (-100.0, 100.0),
}
# The most parameter updates one /train request may run (about a second for the largest network), except that
# one epoch is always allowed: at most 900 updates (batch size 1, 90% of 1000 points).
MAX_UPDATES_PER_REQUEST = 500
# The most bytes of JSON a request body may hold.
MAX_BODY_BYTES = 16 * 1024


class BadInput(ValueError):
    """A request the server refuses: its message is shown to the user as is."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PlaygroundConfig:
    """Everything that defines a playground session: the data, the network and the training settings."""
    dataset: str = "xor"
    noise: float = 0.15
    train_fraction: float = 0.5
    n_points: int = 200
    hidden: tuple[int, ...] = field(default=(3,))
    activation: str = "tanh"
    loss: str = "bce"
    optimizer: str = "sgd"
    lr: float = 0.5
    batch_size: int = 10
    seed: int = 1
    features: tuple[str, ...] = field(default=("x1", "x2"))
    regularization: str = "none"
    regularization_rate: float = 0.0

    @property
    def sizes(self) -> list[int]:
        """Layer widths n_0..n_L: one input per feature, the hidden layers, then one output (two for ce)."""
        return [len(self.features), *self.hidden, 2 if self.loss == "ce" else 1]

    @property
    def is_regression(self) -> bool:
        """Whether the targets are numbers (the regression data set) rather than classes."""
        return self.dataset == REGRESSION

    @property
    def output_activation(self) -> str | None:
        """σ of the output layer: the cost's own (sigmoid for bce, mse; none for ce), linear for regression."""
        return "identity" if self.is_regression else OUTPUT_ACTIVATION[self.loss]

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        values = asdict(self)
        values["hidden"] = list(self.hidden)
        values["features"] = list(self.features)
        return values

    def rebuild_needed(self, other: PlaygroundConfig) -> bool:
        """Whether going to `other` needs new data or a new network (not only new training settings)."""
        training = ("optimizer", "lr", "batch_size", "regularization", "regularization_rate")
        return any(getattr(self, name) != getattr(other, name) for name in self.__dataclass_fields__
                   if name not in training)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{name} must be a number, got {json_type(value)}")
    if not math.isfinite(value):
        raise BadInput(f"{name} must be a finite number")
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise BadInput(f"{name} must lie between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _integer(name: str, value: Any, limit: str | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{name} must be a whole number, got {json_type(value)}")
    low, high = LIMITS[limit or name]
    if not low <= value <= high:
        raise BadInput(f"{name} must lie between {low:g} and {high:g}, got {value}")
    return value


def _choice(name: str, value: Any, choices: Any) -> str:
    if not isinstance(value, str) or value not in choices:
        raise BadInput(f"{name} must be one of {', '.join(choices)}, got {json_short(value)}")
    return value


def _hidden(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise BadInput(f"hidden must be a list of layer widths, e.g. [4, 4], got {json_type(value)}")
    low, high = LIMITS["hidden_layers"]
    if not low <= len(value) <= high:
        raise BadInput(f"hidden must list between {low:g} and {high:g} layer widths, got {len(value)}")
    return tuple(_integer(f"hidden[{index}]", width, "neurons") for index, width in enumerate(value))


def _features(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise BadInput(f"features must be a non-empty list of {', '.join(FEATURES)}, got {json_short(value)}")
    for index, name in enumerate(value):
        _choice(f"features[{index}]", name, tuple(FEATURES))
    if len(set(value)) != len(value):
        raise BadInput(f"features must not repeat a feature, got {json_short(value)}")
    return tuple(name for name in FEATURES if name in value)  # one order, whatever the client sent


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
             dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def json_short(value: Any) -> str:
    """A value for an error message, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_config(raw: Any, base: PlaygroundConfig | None = None) -> PlaygroundConfig:
    """The settings in `raw` (a JSON object) laid over `base` (default: the defaults), all checked."""
    if not isinstance(raw, dict):
        raise BadInput(f"config must be a JSON object, got {json_type(raw)}")
    values = (base or PlaygroundConfig()).to_json()
    unknown = sorted(set(raw) - set(values))
    if unknown:
        raise BadInput(f"unknown setting {json_short(unknown[0])}; the settings are {', '.join(values)}")
    values.update(raw)
    config = PlaygroundConfig(
        dataset=_choice("dataset", values["dataset"], DATASETS),
        noise=_number("noise", values["noise"]),
        train_fraction=_number("train_fraction", values["train_fraction"]),
        n_points=_integer("n_points", values["n_points"]),
        hidden=_hidden(values["hidden"]),
        activation=_choice("activation", values["activation"], ACTIVATIONS),
        loss=_choice("loss", values["loss"], tuple(LOSSES)),
        optimizer=_choice("optimizer", values["optimizer"], OPTIMIZERS),
        lr=_number("lr", values["lr"]),
        batch_size=_integer("batch_size", values["batch_size"]),
        seed=_integer("seed", values["seed"]),
        features=_features(values["features"]),
        regularization=_choice("regularization", values["regularization"], REGULARIZATIONS),
        regularization_rate=_number("regularization_rate", values["regularization_rate"]),
    )
    if config.is_regression and config.loss not in REGRESSION_LOSSES:
        raise BadInput(f"the regression data set has numbers as targets: choose the cost mse or half_sum, "
                       f"not {config.loss}")
    n_train = train_size(config)
    if n_train < 2 or config.n_points - n_train < 2:
        raise BadInput(f"n_points={config.n_points} with train_fraction={config.train_fraction:g} leaves "
                       f"too few points for training or testing")
    return config


def train_size(config: PlaygroundConfig) -> int:
    """How many of the points are for training (the rest are the test set)."""
    return round(config.train_fraction * config.n_points)


def options() -> dict[str, Any]:
    """The choices, bounds and defaults a client needs to build its form."""
    limits = {name: list(bounds) for name, bounds in LIMITS.items()}
    return {
        "datasets": list(DATASETS),
        "activations": list(ACTIVATIONS),
        "losses": [{"name": name, "label": label} for name, label in LOSSES.items()],
        "optimizers": list(OPTIMIZERS),
        "optimizer_labels": {name: spec.label for name, spec in OPTIMIZER_REGISTRY.items()},
        "optimizer_lr": {name: spec.defaults.get("lr") for name, spec in OPTIMIZER_REGISTRY.items()},
        "features": [{"name": name, "label": label} for name, label in FEATURES.items()],
        "regularizations": list(REGULARIZATIONS),
        "regression": {"dataset": REGRESSION, "losses": list(REGRESSION_LOSSES)},
        "limits": limits,
        "max_updates_per_request": MAX_UPDATES_PER_REQUEST,
        "max_body_bytes": MAX_BODY_BYTES,
        "defaults": PlaygroundConfig().to_json(),
    }
