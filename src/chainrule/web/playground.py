"""One playground session: the data, the network, the optimiser, the step-through of one example, the history.

The step-through reveals one layer at a time: forward (z^l, a^l for l = 1..L), then backward (δ^L by BP1, then
δ^l by BP2 down to l = 1, each with ∂C/∂W^l and ∂C/∂b^l), then the update. All numbers come from the engine
(`trace.py`); this module only keeps the cursor and turns arrays into JSON. It knows nothing about HTTP.
The network sees the input features of each point (a⁰ = (x₁, x₂, x₁², ...)); the plots show the points.
"""
from __future__ import annotations

import base64
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.diagnose import Target, default_target, diagnose
from chainrule.nn import MLP, get_loss
from chainrule.nn.activations import ACTIVATIONS
from chainrule.nn.functional import accuracy, decision_threshold
from chainrule.optim import OPTIMIZERS, Optimizer

from .. import data, io
from ..autodiff import mark_modified, no_grad, tensor
from .config import FEATURES, LIMITS, MAX_UPDATES_PER_REQUEST, BadInput, PlaygroundConfig
from .datasets import Split, extent, feature_matrix, make_split
from .trace import Trace, example_cost, penalty, trace_example

BOUNDARY_RESOLUTION = 48   # the decision boundary is drawn from a 48 × 48 grid of predictions
HEATMAP_RESOLUTION = 32    # each neuron's picture over the input plane: a 32 × 32 grid, as TensorFlow Playground
MAX_HISTORY = 1000         # points kept on the cost curve (older ones are thinned, never invented)
DIAGNOSE_AFTER = 20        # epochs before the first diagnosis, and between two diagnoses while training
REGRESSION_TARGET = Target("train_loss", 0.01)   # success for the regression surface: training cost < 0.01


class Conflict(BadInput):
    """A step asked for in the wrong phase (e.g. backward before the forward pass is complete)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=409)


def make_optimizer(config: PlaygroundConfig, model: MLP) -> Optimizer:
    """The optimiser the config names, over the model's parameters, with learning rate η = config.lr."""
    return OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)


def targets(config: PlaygroundConfig, labels: np.ndarray) -> np.ndarray:
    """What the cost compares the output with: class labels for ce, t ∈ {0, 1} (or the regression target) in one
    column otherwise."""
    if config.loss == "ce" and not config.is_regression:
        return labels.astype(np.int64)
    return labels.astype(np.float64)[:, None]


def mean_cost(config: PlaygroundConfig, model: MLP, X: np.ndarray, labels: np.ndarray) -> float:
    """The data cost C₀ per example over a whole set of inputs a⁰ (half_sum is a sum, so it is divided by the
    number of examples); the weights' penalty is not in it, so the curves of two λ compare."""
    with no_grad():
        cost = float(get_loss(config.loss)(model(X), targets(config, labels)).item())
    return cost / len(labels) if config.loss == "half_sum" else cost


def output_map(config: PlaygroundConfig, model: MLP, X: np.ndarray) -> np.ndarray:
    """For each row of inputs a⁰: P(class 1 | x) (the sigmoid output, or softmax(z^L)₁ for ce), or the predicted
    number for regression."""
    with no_grad():
        output = np.asarray(model(X).data)
    if config.loss == "ce" and not config.is_regression:
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

    @property
    def train_acc(self) -> list:
        """The training accuracies, under the name `chainrule.diagnose` reads."""
        return self.train_accuracy

    @property
    def test_acc(self) -> list:
        """The test accuracies, under the name `chainrule.diagnose` reads."""
        return self.test_accuracy

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


def _check_index(value: Any, low: int, stop: int, message: str) -> None:
    """Refuse (BadInput with `message`) anything but a whole number in low..stop−1."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < stop:
        raise BadInput(message)


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
        self.inputs_train = feature_matrix(self.split.X_train, c.features)
        self.inputs_test = feature_matrix(self.split.X_test, c.features)
        self.model = MLP(c.sizes, activation=c.activation, output_activation=c.output_activation, rng=c.seed)
        self.start = [np.array(p.data, copy=True) for p in self.model.parameters()]
        self.optimizer = make_optimizer(c, self.model)
        self.batch_rng = np.random.default_rng([c.seed, 1])
        self.epoch = 0
        self.updates = 0
        self.edited = False
        self.history = History()
        self.example = ("train", 0)
        self.notice = None
        self.diagnosis: dict | None = None
        self.diagnosed_at = 0
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
            self._forget_diagnosis()
            self._retrace()

    def _forget_diagnosis(self) -> None:
        """The verdict was on the old settings or weights: none until the next one (after DIAGNOSE_AFTER epochs)."""
        self.diagnosis = None
        self.diagnosed_at = self.epoch

    @property
    def L(self) -> int:
        """The number of weight layers."""
        return self.model.L

    def _restart_step_through(self) -> None:
        self.step_through = StepThrough(backward_layer=self.L + 1)

    def _retrace(self) -> None:
        """After the weights or the cost changed: the example's forward and backward passes again, by the engine,
        keeping how far the step-through had gone (an applied update's record no longer matches and goes)."""
        s = self.step_through
        if s.trace is None:
            return
        if s.phase == "updated":
            self._restart_step_through()
            return
        x, _, target = self.current_example()
        s.trace = self._trace(x, target)

    def _trace(self, x: np.ndarray, target: np.ndarray) -> Trace:
        c = self.config
        return trace_example(self.model, c.loss, x, target, c.regularization, c.regularization_rate)

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

    def current_example(self) -> tuple[np.ndarray, Any, np.ndarray]:
        """(a⁰: the features of the point, its class or number, its target t as the cost takes it) for the example
        being stepped through."""
        split, index = self.example
        inputs = self.inputs_train if split == "train" else self.inputs_test
        value = self._labels(split)[index]
        label = float(value) if self.config.is_regression else int(value)
        return inputs[index], label, targets(self.config, np.array([value]))

    def current_point(self) -> np.ndarray:
        """The example's point (x₁, x₂) in the plane."""
        split, index = self.example
        return (self.split.X_train if split == "train" else self.split.X_test)[index]

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
            self.step_through = StepThrough("forward", 1, L + 1, self._trace(x, target))
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
        s, c = self.step_through, self.config
        if not (s.phase == "backward" and s.backward_layer == 1):
            raise Conflict("apply the update once the backward pass has reached layer 1")
        if self.example[0] != "train":
            raise Conflict("the network learns from training examples only: pick a training point to update")
        x, _, target = self.current_example()
        before = self.history.last()
        self._trace(x, target)  # the same gradients, left in .grad
        state_before = self._optimizer_state()
        self.optimizer.step()
        self.updates += 1
        s.phase = "updated"
        with no_grad():
            output_after = np.asarray(self.model(x[None, :]).data)[0].tolist()
        self._record()
        after = self.history.last()
        s.update = {
            "optimizer": c.optimizer,
            "optimizer_label": OPTIMIZERS[c.optimizer].label,
            "plain_sgd": c.optimizer == "sgd",
            "lr": c.lr,
            "hyperparameters": self._hyperparameters(),
            "state": self._optimizer_state(),
            "state_before": state_before,
            "cost_before": s.trace.cost,
            "cost_after": example_cost(self.model, c.loss, x, target, c.regularization, c.regularization_rate),
            "output_after": output_after,
            "train_cost_before": before["train_loss"],
            "train_cost_after": after["train_loss"],
        }

    def _hyperparameters(self) -> dict[str, Any]:
        o = self.optimizer
        return {name: getattr(o, name) for name in o.hyperparameters if name != "weight_decay"}

    def _optimizer_state(self) -> dict[str, list]:
        """The optimiser's own state after its step, per layer l: {"W": {name: array}, "b": {...}} (momentum's
        velocity v; Adam's m, v, step count t and the bias-corrected m̂, v̂; RMSprop's running square s)."""
        layer_of = {}
        for l, layer in enumerate(self.model.layers, start=1):
            layer_of[id(layer.weight)], layer_of[id(layer.bias)] = (l, "W"), (l, "b")
        answer: dict[str, list] = {"W": [None] * (self.L + 1), "b": [None] * (self.L + 1)}
        betas = getattr(self.optimizer, "betas", None)
        for index, p in enumerate(self.optimizer.params):
            l, kind = layer_of[id(p)]
            entries = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                       for k, v in self.optimizer.state[index].items()}
            if betas is not None and "m" in entries:
                t = entries["step"]
                entries["m_hat"] = (np.asarray(entries["m"]) / (1.0 - betas[0] ** t)).tolist()
                entries["v_hat"] = (np.asarray(entries["v"]) / (1.0 - betas[1] ** t)).tolist()
            answer[kind][l] = entries
        return answer

    # ----------------------------------------------------------------------------------- editing a weight
    def set_weight(self, l: Any, j: Any, k: Any, value: Any) -> None:
        """Set w^l_jk (k None: the bias b^l_j) to `value` by hand, through the engine's checked in-place path
        (mark_modified); the example's forward and backward passes are computed again."""
        L = self.L
        _check_index(l, 1, L + 1, f"l must be a layer from 1 to {L}")
        rows, columns = self.model.layers[l - 1].weight.shape
        _check_index(j, 0, rows, f"j must be a neuron of layer {l}: from 0 to {rows - 1}")
        if k is not None:
            _check_index(k, 0, columns, f"k must be a neuron of layer {l - 1}: from 0 to {columns - 1} "
                                        "(or null for the bias)")
        low, high = LIMITS["weight"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low <= value <= high:
            raise BadInput(f"value must be a number between {low:g} and {high:g}")
        layer = self.model.layers[l - 1]
        if k is None:
            layer.bias.data[j] = float(value)
            mark_modified(layer.bias)
        else:
            layer.weight.data[j, k] = float(value)
            mark_modified(layer.weight)
        self.edited = True
        self._forget_diagnosis()
        self._retrace()
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
        if self.epoch >= self.diagnosed_at + DIAGNOSE_AFTER:
            self.diagnose()

    def _one_epoch(self) -> bool:
        """One pass over the training set in shuffled mini-batches; False if a cost or a weight stopped being finite.

        Each batch's step runs as a chainrule.compile program (traced again whenever the network, the optimiser
        or the settings change); a non-finite cost ends the epoch, which train() then takes back whole."""
        c = self.config
        X, y = self.inputs_train, targets(c, self.split.y_train)
        step = self._compiled_step()
        for X_batch, t_batch in data.batches(X, y, c.batch_size, shuffle=True, seed=self.batch_rng):
            cost = step(X_batch, t_batch)
            if not math.isfinite(cost.item()):
                return False
            self.updates += 1
        return all(np.all(np.isfinite(p.data)) for p in self.model.parameters())

    def _batch_step(self, X_batch: Any, t_batch: Any) -> Any:
        """zero_grad, C = cost + penalty, backward, the optimiser's step; returns C."""
        c = self.config
        self.optimizer.zero_grad()
        cost = get_loss(c.loss)(self.model(X_batch), t_batch)
        extra = penalty(self.model, c.regularization, c.regularization_rate)
        if extra is not None:
            cost = cost + extra
        cost.backward()
        self.optimizer.step()
        return cost

    def _compiled_step(self) -> Any:
        """The compiled _batch_step for this network, optimiser and settings (a new one when any changed)."""
        from chainrule.compiler import compile as compile_step

        key = (id(self.model), id(self.optimizer), repr(self.config))
        if getattr(self, "_compiled_key", None) != key:
            self._compiled_key, self._compiled = key, compile_step(self._batch_step, max_signatures=2)
        return self._compiled

    def diagnose(self) -> dict[str, Any]:
        """The project's verdict on the training so far (`chainrule.diagnose`, as `chainrule train` gives it)."""
        c = self.config
        target = REGRESSION_TARGET if c.is_regression else default_target(c.dataset)
        with np.errstate(all="ignore"):
            verdict = diagnose(self.model, c.loss, (self.inputs_train, targets(c, self.split.y_train)), self.history,
                               c.lr, target, self.start)
        self.diagnosis = verdict.to_dict()
        self.diagnosed_at = self.epoch
        return self.diagnosis

    def _record(self) -> None:
        c, s, m = self.config, self.split, self.model
        with no_grad():
            train_out, test_out = m(self.inputs_train), m(self.inputs_test)
        self.history.add(
            updates=self.updates, epoch=self.epoch,
            train_loss=mean_cost(c, m, self.inputs_train, s.y_train),
            test_loss=mean_cost(c, m, self.inputs_test, s.y_test),
            train_accuracy=None if c.is_regression else accuracy(train_out, s.y_train),
            test_accuracy=None if c.is_regression else accuracy(test_out, s.y_test),
        )

    def model_file(self) -> bytes:
        """The network as a `chainrule.io` .npz file (what `chainrule predict` and `chainrule explain` read), its
        metadata saying the cost, the threshold and the input features a⁰ the network takes."""
        c = self.config
        names = [FEATURES[name] for name in c.features]
        metadata = {"loss": c.loss, "threshold": decision_threshold(c.loss), "dataset": c.dataset,
                    "features": list(c.features), "source": "chainrule playground",
                    "inputs": f"the network's inputs are the features ({', '.join(names)}) of a point (x₁, x₂)"}
        with tempfile.TemporaryDirectory() as folder:
            path = io.save(self.model, Path(folder) / "model.npz", metadata=metadata)
            return path.read_bytes()

    # ----------------------------------------------------------------------------------- the state as JSON
    def explanation_inputs(self) -> tuple[np.ndarray, Any]:
        """The current example's a⁰ and its target t in the form `chainrule.explain.explain` takes."""
        x, label, _ = self.current_example()
        return x, (label if self.config.loss == "ce" and not self.config.is_regression else [float(label)])

    def _grid(self, n: int) -> np.ndarray:
        x_min, x_max, y_min, y_max = extent(self.split)
        xs, ys = np.linspace(x_min, x_max, n), np.linspace(y_min, y_max, n)
        return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)

    def _boundary(self) -> dict[str, Any]:
        n = BOUNDARY_RESOLUTION
        values = output_map(self.config, self.model, feature_matrix(self._grid(n), self.config.features))
        return {"extent": list(extent(self.split)), "resolution": n,
                "kind": "value" if self.config.is_regression else "probability",
                "probability": np.round(values.reshape(n, n), 4).tolist()}  # a picture: 4 decimals are plenty

    def heatmaps(self) -> dict[str, Any]:
        """Every neuron's a^l_j over the input plane (row 0 = the smallest x₂), by the engine on a 32 × 32 grid;
        each as {"scale": max |a|, "data": base64 of round(127 a / scale) as signed bytes}."""
        n = HEATMAP_RESOLUTION
        a = tensor(feature_matrix(self._grid(n), self.config.features))
        layers = [a.data]
        with no_grad():
            for l, layer in enumerate(self.model.layers, start=1):
                a = ACTIVATIONS[self.model.activation_name(l)](layer(a))
                layers.append(np.asarray(a.data))

        def picture(values: np.ndarray) -> dict[str, Any]:
            finite = np.where(np.isfinite(values), values, 0.0)
            scale = float(np.abs(finite).max()) or 1.0
            quantised = np.round(127 * finite / scale).astype(np.int8)
            return {"scale": scale, "data": base64.b64encode(quantised.tobytes()).decode("ascii")}
        return {"resolution": n, "layers": [[picture(values[:, j]) for j in range(values.shape[1])]
                                            for values in layers]}

    def _pass_json(self) -> dict[str, Any]:
        s, L = self.step_through, self.L
        x, _, _ = self.current_example()
        empty = [None] * (L + 1)
        names = ("W", "b", "z", "dC_da", "sigma_prime", "delta", "dW", "db", "dW_penalty", "delta_norm")
        answer: dict[str, Any] = {"phase": s.phase, "forward_layer": s.forward_layer, "backward_layer": s.backward_layer,
                                  "cost": None, "data_cost": None, "probabilities": None, "update": s.update}
        if s.trace is None:
            answer.update({name: list(empty) for name in names})
            answer["a"] = [x.tolist()] + empty[1:]
            return answer
        full = s.trace.to_json()
        shown_forward = set(range(1, s.forward_layer + 1))
        shown_backward = set(range(s.backward_layer, L + 1))
        answer["W"], answer["b"] = full["W"], full["b"]
        answer["a"] = [full["a"][0]] + [full["a"][l] if l in shown_forward else None for l in range(1, L + 1)]
        answer["z"] = [full["z"][l] if l in shown_forward else None for l in range(L + 1)]
        for name in ("dC_da", "sigma_prime", "delta", "dW", "db", "dW_penalty", "delta_norm"):
            answer[name] = [full[name][l] if l in shown_backward else None for l in range(L + 1)]
        if s.forward_layer == L:
            answer.update(cost=full["cost"], data_cost=full["data_cost"], probabilities=full["probabilities"])
        return answer

    def state(self, include_data: bool = False) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready values."""
        x, label, _ = self.current_example()
        split, index = self.example
        c = self.config
        if c.is_regression:
            t = [label]
        else:
            t = np.eye(self.model.sizes[-1])[label].tolist() if c.loss == "ce" else [float(label)]
        answer = {
            "config": c.to_json(),
            "sizes": list(self.model.sizes),
            "L": self.L,
            "activations": [None] + [self.model.activation_name(l) for l in range(1, self.L + 1)],
            "input_names": [FEATURES[name] for name in c.features],
            "weights": {
                "W": [None] + [np.asarray(layer.weight.data).tolist() for layer in self.model.layers],
                "b": [None] + [np.asarray(layer.bias.data).tolist() for layer in self.model.layers],
            },
            "example": {"split": split, "index": index, "x": self.current_point().tolist(), "inputs": x.tolist(),
                        "label": label, "t": t},
            "pass": self._pass_json(),
            "metrics": self.history.last(),
            "history": self.history.to_json(),
            "boundary": self._boundary(),
            "heatmaps": self.heatmaps(),
            "diagnosis": self.diagnosis,
            "edited": self.edited,
            "limits": {"max_epochs_per_request": self.max_epochs_per_request()},
            "notice": self.notice,
            "compiled_training": True,  # Train runs chainrule.compile programs; the step-through stays eager
        }
        if include_data:
            s = self.split
            answer["data"] = {
                "train": {"x": s.X_train.tolist(), "y": s.y_train.tolist()},
                "test": {"x": s.X_test.tolist(), "y": s.y_test.tolist()},
                "classes": s.classes,
            }
        return answer
