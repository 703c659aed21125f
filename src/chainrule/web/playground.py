"""One playground session: the data, the network, the optimiser, the step-through of one example, the history.

The step-through reveals one layer at a time: forward (z^l, a^l for l = 1..L), then backward (δ^L by BP1, then
δ^l by BP2 down to l = 1, each with ∂C/∂W^l and ∂C/∂b^l), then the update. All numbers come from the engine
(`trace.py`); this module only keeps the cursor and turns arrays into JSON. It knows nothing about HTTP.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.nn import MLP, get_loss
from chainrule.nn.functional import OUTPUT_ACTIVATION, accuracy
from chainrule.optim import OPTIMIZERS, Optimizer

from .. import data
from ..autodiff import no_grad
from .config import LIMITS, MAX_UPDATES_PER_REQUEST, BadInput, PlaygroundConfig
from .datasets import Split, extent, make_split
from .trace import Trace, example_cost, trace_example

BOUNDARY_RESOLUTION = 48   # the decision boundary is drawn from a 48 × 48 grid of predictions
MAX_HISTORY = 1000         # points kept on the cost curve (older ones are thinned, never invented)


class Conflict(BadInput):
    """A step asked for in the wrong phase (e.g. backward before the forward pass is complete)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=409)


def make_optimizer(config: PlaygroundConfig, model: MLP) -> Optimizer:
    """The optimiser the config names, over the model's parameters, with learning rate η = config.lr."""
    return OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)


def targets(config: PlaygroundConfig, labels: np.ndarray) -> np.ndarray:
    """What the cost compares the output with: class labels for ce, t ∈ {0, 1} in one column otherwise."""
    if config.loss == "ce":
        return labels.astype(np.int64)
    return labels.astype(np.float64)[:, None]


def mean_cost(config: PlaygroundConfig, model: MLP, X: np.ndarray, labels: np.ndarray) -> float:
    """The cost per example over a whole set (half_sum is a sum, so it is divided by the number of examples)."""
    with no_grad():
        cost = float(get_loss(config.loss)(model(X), targets(config, labels)).item())
    return cost / len(labels) if config.loss == "half_sum" else cost


def class_one_probability(config: PlaygroundConfig, model: MLP, X: np.ndarray) -> np.ndarray:
    """P(class 1 | x) for each row: the sigmoid output, or softmax(z^L)₁ for ce."""
    with no_grad():
        output = np.asarray(model(X).data)
    if config.loss == "ce":
        shifted = np.exp(output - output.max(axis=1, keepdims=True))
        return shifted[:, 1] / shifted.sum(axis=1)
    return output[:, 0]


@dataclass
class History:
    """The cost and accuracy on both sets after each epoch or single update."""
    updates: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)

    def add(self, **point: float) -> None:
        """Append one point; past MAX_HISTORY, keep every other older point (the newest always stays)."""
        for name, value in point.items():
            getattr(self, name).append(value)
        if len(self.updates) > MAX_HISTORY:
            for name in point:
                column = getattr(self, name)
                column[:] = column[:-1:2] + column[-1:]

    def last(self) -> dict[str, float]:
        """The newest point."""
        return {name: getattr(self, name)[-1] for name in self.__dataclass_fields__}

    def to_json(self) -> dict[str, list]:
        """Every column as a list."""
        return {name: list(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class StepThrough:
    """Where the step-through of the example stands: the phase, how far each pass has gone, the engine's trace."""
    phase: str = "idle"          # idle → forward → backward → updated
    forward_layer: int = 0       # layers 1..forward_layer have z and a
    backward_layer: int = 0      # layers backward_layer..L have δ (L + 1: none yet)
    trace: Trace | None = None
    update: dict | None = None


class Playground:
    """A learner's network and data, stepped through one example at a time or trained on mini-batches."""

    def __init__(self, config: PlaygroundConfig) -> None:
        self.config = config
        self.notice: str | None = None
        self.build()

    # ----------------------------------------------------------------------------------- building
    def build(self) -> None:
        """Fresh data, weights and optimiser from the config's seed; an empty history."""
        c = self.config
        self.split: Split = make_split(c)
        self.model = MLP(c.sizes, activation=c.activation, output_activation=OUTPUT_ACTIVATION[c.loss], rng=c.seed)
        self.optimizer = make_optimizer(c, self.model)
        self.batch_rng = np.random.default_rng([c.seed, 1])
        self.epoch = 0
        self.updates = 0
        self.history = History()
        self.example = ("train", 0)
        self.notice = None
        self.step_through = StepThrough(backward_layer=self.model.L + 1)
        self._record()

    def reconfigure(self, config: PlaygroundConfig) -> None:
        """New settings: rebuild for new data or network; otherwise keep the weights and only swap the optimiser."""
        rebuild = self.config.rebuild_needed(config)
        self.config = config
        if rebuild:
            self.build()
        else:
            self.optimizer = make_optimizer(config, self.model)

    @property
    def L(self) -> int:
        """The number of weight layers."""
        return self.model.L

    def _restart_step_through(self) -> None:
        self.step_through = StepThrough(backward_layer=self.L + 1)

    # ----------------------------------------------------------------------------------- the example
    def choose_example(self, split: Any, index: Any) -> None:
        """Make row `index` of the training or test set the example that is stepped through."""
        if split not in ("train", "test"):
            raise BadInput(f"split must be 'train' or 'test', got {split!r}")
        size = len(self._labels(split))
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise BadInput(f"index must be a whole number from 0 to {size - 1} for the {split} set")
        self.example = (split, index)
        self._restart_step_through()

    def _labels(self, split: str) -> np.ndarray:
        return self.split.y_train if split == "train" else self.split.y_test

    def current_example(self) -> tuple[np.ndarray, int, np.ndarray]:
        """(x, its class, its target t as the cost takes it) for the example being stepped through."""
        split, index = self.example
        X = self.split.X_train if split == "train" else self.split.X_test
        label = int(self._labels(split)[index])
        return X[index], label, targets(self.config, np.array([label]))

    # ----------------------------------------------------------------------------------- the steps
    def step(self, action: Any) -> None:
        """One step of the step-through: "forward" (one layer), "backward" (one layer) or "update"."""
        actions = {"forward": self._forward, "backward": self._backward, "update": self._update}
        if action not in actions:
            raise BadInput(f"action must be one of forward, backward, update; got {action!r}")
        actions[action]()

    def _forward(self) -> None:
        s, L = self.step_through, self.L
        if s.phase in ("idle", "updated"):
            x, _, target = self.current_example()
            self.step_through = StepThrough("forward", 1, L + 1, trace_example(self.model, self.config.loss, x, target))
        elif s.phase == "forward" and s.forward_layer < L:
            s.forward_layer += 1
        elif s.phase == "forward":
            raise Conflict("the forward pass is complete: step backward next")
        else:
            raise Conflict("the backward pass has started: apply the update, or pick an example to start again")

    def _backward(self) -> None:
        s, L = self.step_through, self.L
        if s.phase == "forward" and s.forward_layer == L:
            s.phase, s.backward_layer = "backward", L
        elif s.phase == "backward" and s.backward_layer > 1:
            s.backward_layer -= 1
        elif s.phase == "backward":
            raise Conflict("the backward pass is complete: apply the update next")
        elif s.phase == "forward":
            raise Conflict(f"finish the forward pass first: {L - s.forward_layer} more layer(s) to go")
        else:
            raise Conflict("step forward first: the backward pass reads the values of the forward pass")

    def _update(self) -> None:
        s = self.step_through
        if not (s.phase == "backward" and s.backward_layer == 1):
            raise Conflict("apply the update once the backward pass has reached layer 1")
        if self.example[0] != "train":
            raise Conflict("the network learns from training examples only: pick a training point to update")
        x, _, target = self.current_example()
        trace_example(self.model, self.config.loss, x, target)  # the same gradients, left in .grad
        self.optimizer.step()
        self.updates += 1
        s.phase = "updated"
        s.update = {
            "optimizer": self.config.optimizer,
            "optimizer_label": OPTIMIZERS[self.config.optimizer].label,
            "plain_sgd": self.config.optimizer == "sgd",
            "lr": self.config.lr,
            "cost_before": s.trace.cost,
            "cost_after": example_cost(self.model, self.config.loss, x, target),
        }
        self._record()

    # ----------------------------------------------------------------------------------- training
    def max_epochs_per_request(self) -> int:
        """The most epochs one request may train: MAX_UPDATES_PER_REQUEST updates' worth, and at least one."""
        per_epoch = math.ceil(len(self.split.y_train) / self.config.batch_size)
        return int(max(1, min(LIMITS["epochs_per_request"][1], MAX_UPDATES_PER_REQUEST // per_epoch)))

    def train(self, epochs: Any) -> None:
        """`epochs` passes over the training set in shuffled mini-batches: w ← w − η ∂C/∂w after each batch."""
        most = self.max_epochs_per_request()
        if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= most:
            raise BadInput(f"epochs must be a whole number from 1 to {most} for this data set and batch size")
        self.notice = None
        self._restart_step_through()
        for _ in range(epochs):
            saved = self.model.state_dict()
            with np.errstate(over="ignore", invalid="ignore"):
                finite = self._one_epoch()
            if not finite:
                self.model.load_state_dict(saved)
                self.optimizer = make_optimizer(self.config, self.model)  # its running averages overflowed too
                self.notice = (f"training stopped: the cost or the weights overflowed (inf or NaN) in epoch "
                               f"{self.epoch + 1}; the weights are back to the end of the last epoch. "
                               f"Try a smaller learning rate.")
                return
            self.epoch += 1
            self._record()

    def _one_epoch(self) -> bool:
        """One pass over the training set in shuffled mini-batches; False if a cost or a weight stopped being finite."""
        c, loss = self.config, get_loss(self.config.loss)
        X, y = self.split.X_train, targets(c, self.split.y_train)
        for X_batch, t_batch in data.batches(X, y, c.batch_size, shuffle=True, seed=self.batch_rng):
            self.optimizer.zero_grad()
            cost = loss(self.model(X_batch), t_batch)
            if not math.isfinite(cost.item()):
                return False
            cost.backward()
            self.optimizer.step()
            self.updates += 1
        return all(np.all(np.isfinite(p.data)) for p in self.model.parameters())

    def _record(self) -> None:
        c, s, m = self.config, self.split, self.model
        with no_grad():
            train_out, test_out = m(s.X_train), m(s.X_test)
        self.history.add(
            updates=self.updates, epoch=self.epoch,
            train_loss=mean_cost(c, m, s.X_train, s.y_train), test_loss=mean_cost(c, m, s.X_test, s.y_test),
            train_accuracy=accuracy(train_out, s.y_train), test_accuracy=accuracy(test_out, s.y_test),
        )

    # ----------------------------------------------------------------------------------- the state as JSON
    def explanation_inputs(self) -> tuple[np.ndarray, Any]:
        """The current example x and its target t in the form `chainrule.explain.explain` takes."""
        x, label, _ = self.current_example()
        return x, (label if self.config.loss == "ce" else [float(label)])

    def _boundary(self) -> dict[str, Any]:
        x_min, x_max, y_min, y_max = extent(self.split)
        n = BOUNDARY_RESOLUTION
        xs, ys = np.linspace(x_min, x_max, n), np.linspace(y_min, y_max, n)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        probability = class_one_probability(self.config, self.model, grid).reshape(n, n)
        return {"extent": [x_min, x_max, y_min, y_max], "resolution": n,
                "probability": np.round(probability, 4).tolist()}  # a picture: 4 decimals are plenty

    def _pass_json(self) -> dict[str, Any]:
        s, L = self.step_through, self.L
        x, _, _ = self.current_example()
        empty = [None] * (L + 1)
        answer: dict[str, Any] = {"phase": s.phase, "forward_layer": s.forward_layer, "backward_layer": s.backward_layer,
                                  "cost": None, "update": s.update}
        if s.trace is None:
            answer.update({name: list(empty) for name in ("W", "b", "z", "dC_da", "sigma_prime", "delta", "dW", "db")})
            answer["a"] = [x.tolist()] + empty[1:]
            return answer
        full = s.trace.to_json()
        shown_forward = set(range(1, s.forward_layer + 1))
        shown_backward = set(range(s.backward_layer, L + 1))
        answer["W"], answer["b"] = full["W"], full["b"]
        answer["a"] = [full["a"][0]] + [full["a"][l] if l in shown_forward else None for l in range(1, L + 1)]
        answer["z"] = [full["z"][l] if l in shown_forward else None for l in range(L + 1)]
        for name in ("dC_da", "sigma_prime", "delta", "dW", "db"):
            answer[name] = [full[name][l] if l in shown_backward else None for l in range(L + 1)]
        if s.forward_layer == L:
            answer["cost"] = s.trace.cost
        return answer

    def state(self, include_data: bool = False) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready values."""
        x, label, _ = self.current_example()
        split, index = self.example
        answer = {
            "config": self.config.to_json(),
            "sizes": list(self.model.sizes),
            "L": self.L,
            "activations": [None] + [self.model.activation_name(l) for l in range(1, self.L + 1)],
            "weights": {
                "W": [None] + [np.asarray(layer.weight.data).tolist() for layer in self.model.layers],
                "b": [None] + [np.asarray(layer.bias.data).tolist() for layer in self.model.layers],
            },
            "example": {"split": split, "index": index, "x": x.tolist(), "label": label,
                        "t": np.eye(self.model.sizes[-1])[label].tolist() if self.config.loss == "ce" else [float(label)]},
            "pass": self._pass_json(),
            "metrics": self.history.last(),
            "history": self.history.to_json(),
            "boundary": self._boundary(),
            "limits": {"max_epochs_per_request": self.max_epochs_per_request()},
            "notice": self.notice,
        }
        if include_data:
            s = self.split
            answer["data"] = {
                "train": {"x": s.X_train.tolist(), "y": s.y_train.tolist()},
                "test": {"x": s.X_test.tolist(), "y": s.y_test.tolist()},
                "classes": s.classes,
            }
        return answer
