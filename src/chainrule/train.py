"""The training loop: `fit` runs gradient descent epoch by epoch and returns a `History`; `run` does a whole
experiment as the `chainrule train` command does (data, model, fit, then the model file, metrics and pictures).

`fit` measures loss and accuracy after every epoch (train, and test when given), stops on a NaN/inf loss with
the last finite parameters restored, and notices a plateau below 100% accuracy. Only `run` writes files.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import autodiff as cr
from .data import batches
from .diagnose import Diagnosis, default_target, diagnose
from .nn.functional import COSTS, accuracy, decision_threshold, get_loss
from .nn.module import Module
from .optim import OPTIMIZERS, Optimizer

Callback = Callable[[int, "History"], Any]


@dataclass
class History:
    """Loss and accuracy after k = 0, 1, ..., epochs epochs (index 0 is before any training)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_reason: str = "completed"
    plateau: bool = False
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0
    compiled: bool = False  # whether the steps ran as programs traced by chainrule.compile
    shuffle_state: dict[str, Any] | None = None  # the shuffling generator's state for the next epoch (to resume)

    @property
    def epochs(self) -> int:
        """The number of epochs trained."""
        return max(len(self.train_loss) - 1, 0)

    def stop(self, reason: str, message: str) -> None:
        """Record why training stopped early, and the message to show."""
        self.stopped_reason = reason
        self.messages.append(message)

    def to_dict(self) -> dict[str, Any]:
        """The history as plain JSON-able data, with the number of epochs."""
        return {**asdict(self), "epochs": self.epochs}

    def _repr_html_(self) -> str:
        """Jupyter's view: the loss curve (train, and test when measured) as inline SVG, and the final values."""
        import html

        curves = [(name, values, colour) for name, values, colour in
                  (("train", self.train_loss, "#1f77b4"), ("test", self.test_loss, "#d62728")) if values]
        finite = [v for _, values, _ in curves for v in values if math.isfinite(v)]
        if not finite:
            return f"<p>History: {self.epochs} epochs, no finite loss recorded ({html.escape(self.stopped_reason)})</p>"
        low, high = min(finite), max(finite)
        width, height, span = 480, 200, (high - low) or 1.0
        lines = []
        for name, values, colour in curves:
            points = " ".join(f"{20 + 450 * k / max(len(values) - 1, 1):.1f},{10 + 170 * (high - v) / span:.1f}"
                              for k, v in enumerate(values) if math.isfinite(v))
            lines.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{points}'>"
                         f"<title>{name} loss</title></polyline>")
        final = ", ".join(f"{name} loss {values[-1]:.8g}" for name, values, _ in curves)
        accuracy = f", train accuracy {self.train_acc[-1]:.1%}" if self.train_acc else ""
        caption = html.escape(f"{self.epochs} epochs ({self.stopped_reason}): {final}{accuracy}")
        return (f"<figure class='chainrule-history'><svg xmlns='http://www.w3.org/2000/svg' width='{width}' "
                f"height='{height}' role='img' aria-label='loss per epoch'>"
                f"<text x='20' y='198' font-size='11'>epoch 0 to {self.epochs}; loss {low:.4g} to {high:.4g}</text>"
                f"{''.join(lines)}</svg><figcaption>{caption}</figcaption></figure>")


def evaluate(model: Module, loss: Any, X: np.ndarray, y: np.ndarray, threshold: float | None = None) -> tuple[float, float]:
    """(C, accuracy) of the model on (X, y), computed without building a graph."""
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    threshold = decision_threshold(loss) if threshold is None else threshold
    with cr.no_grad():
        output = model(X)
        value = _scalar(loss_fn(output, y))
    return value, accuracy(output, y, threshold)


def predict(model: Module, X: np.ndarray) -> np.ndarray:
    """The model's outputs for the rows of X, as a NumPy array."""
    with cr.no_grad():
        output = model(np.asarray(X))
    return np.asarray(output.data if isinstance(output, cr.Tensor) else output)


def target_reached(accuracy: float = 1.0, loss: float | None = None) -> Callback:
    """A callback that stops training once train accuracy ≥ `accuracy` (and train loss < `loss`, if given)."""

    def check(epoch: int, history: History) -> str | None:
        if history.train_acc[-1] < accuracy or (loss is not None and history.train_loss[-1] >= loss):
            return None
        condition = f"train accuracy {history.train_acc[-1]:.1%}"
        if loss is not None:
            condition += f" and loss {history.train_loss[-1]:.8g} < {loss:g}"
        return f"target reached after {epoch} epochs: {condition}"

    return check


def _scalar(value: Any) -> float:
    return float(np.asarray(value.data if isinstance(value, cr.Tensor) else value))


def _as_pair(name: str, data: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(data, Sequence) or len(data) != 2:
        raise ValueError(f"fit: {name} must be a pair (X, y)")
    X, y = np.asarray(data[0]), np.asarray(data[1])
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"fit: {name} X must have shape (examples, features) with at least one row, got {X.shape}")
    if len(y) != len(X):
        raise ValueError(f"fit: {name} has {len(X)} rows in X but {len(y)} targets")
    return X, y


def _progress_bar(progress: bool | None, epochs: int):
    """A tqdm bar over epochs when asked to, or (progress=None) when stdout is a terminal."""
    show = sys.stdout.isatty() if progress is None else bool(progress)
    if not show:
        return None
    from tqdm.auto import tqdm  # the notebook form (a widget) in Jupyter, text on a terminal

    return tqdm(total=epochs, unit="epoch", dynamic_ncols=True)


def plateau(history: History, window: int, tol: float = 1e-2, n_examples: int | None = None) -> str | None:
    """A message if, below 100% train accuracy, the loss fell by less than `tol` (relative) over the last
    `window` epochs; None otherwise."""
    if history.epochs < window or not history.train_acc or history.train_acc[-1] >= 1.0:
        return None
    old, new = history.train_loss[-1 - window], history.train_loss[-1]
    if old - new > tol * abs(old):
        return None
    score = f"{history.train_acc[-1]:.1%}"
    if n_examples:
        score += f" ({round(history.train_acc[-1] * n_examples)}/{n_examples})"
    return (
        f"training has levelled off below 100% accuracy: after {history.epochs} epochs the loss went only from "
        f"{old:.8g} to {new:.8g} over the last {window} epochs, and train accuracy is {score}. "
        "chainrule.diagnose.diagnose tells a plateau that is still moving from a saturated one or a true minimum."
    )


def stop_on_plateau(window: int, tol: float = 1e-2) -> Callback:
    """A callback that stops training as soon as `plateau` reports (saves time in sweeps over seeds).

    Choose a window longer than the flat stretch many runs cross early on (outputs all near 0.5), or runs
    that would have learned get stopped there.
    """

    def check(epoch: int, history: History) -> str | None:
        found = plateau(history, window, tol)
        if found:
            history.stopped_reason, history.plateau = "plateau", True
        return found

    return check


def _nonfinite_message(value: float, history: History, lr: float) -> str:
    if not history.train_loss:
        return f"the loss is {value} before any training: check the data and the model's initial parameters"
    return (
        f"the loss became {value} during epoch {history.epochs + 1}, so training stopped: the steps are too "
        f"large for this cost; try a smaller learning rate (it was {lr:g}). The model keeps the parameters "
        f"from before the step that diverged (the last loss measured was {history.train_loss[-1]:.8g})."
    )


def fit(
    model: Module,
    loss: Any,
    optimizer: Optimizer,
    train_data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    batch_size: int | None = None,
    test_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Iterable[Callback] = (),
    progress: bool | None = None,
    *,
    scheduler: Any = None,
    seed: int | np.random.Generator | None = 0,
    threshold: float | None = None,
    plateau_epochs: int | None = None,
    plateau_tol: float = 1e-2,
    compile: bool = True,
) -> History:
    """Train by w ← w − η ∂C/∂w over mini-batches for `epochs` epochs (batch_size None: the full set).

    After each epoch the train (and test) loss and accuracy are recorded; a callback returning a true value
    stops training (a string is kept as the reason). Training stops when the loss is NaN or inf, restoring
    the last parameters with a finite loss. At the end, if accuracy is below 100% and the loss fell by less
    than `plateau_tol` (relative) over the last `plateau_epochs` epochs (default: a tenth of the run, at
    least 100), a message says so (see `plateau`).

    With `compile` (the default) each step and each measurement runs as a program traced once by
    `chainrule.compile` (the same numbers, less Python per step); a step that cannot be traced runs eagerly,
    and `history.compiled` says which way it ran.
    """
    _check_counts(epochs, batch_size)
    X, y = _as_pair("train_data", train_data)
    test = _as_pair("test_data", test_data) if test_data is not None else None
    window = plateau_epochs if plateau_epochs is not None else max(100, epochs // 10)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    full_batch = batch_size is None or batch_size >= len(X)
    callbacks = list(callbacks)
    run = _Epochs(model, loss, optimizer, X, y, test, threshold, compile)
    history = run.history
    bar = _progress_bar(progress, epochs)
    started = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for epoch in range(epochs + 1):
                # With a full batch the forward pass that measures also serves the next step (keeps its graph).
                cost = run.measure(keep_graph=full_batch and epoch < epochs)
                if cost is None:
                    break
                _advance(bar, epoch, history)
                if epoch == epochs or _callbacks_stop(epoch, history, callbacks):
                    run.undo_pending_step()
                    break
                history.shuffle_state = rng.bit_generator.state  # where the next epoch's shuffle starts
                if not (run.full_batch_step(cost) if full_batch else run.mini_batch_epoch(batch_size, rng)):
                    break
                history.shuffle_state = rng.bit_generator.state
                if scheduler is not None:
                    scheduler.step()
    except KeyboardInterrupt:
        run.interrupted()
    finally:
        if bar is not None:
            bar.close()
        optimizer.zero_grad()
    history.seconds = time.perf_counter() - started
    _note_plateau(history, window, plateau_tol, len(X))
    return history


def _note_plateau(history: History, window: int, tol: float, n_examples: int) -> None:
    """At the end of a run that completed, record `plateau`'s message if it finds one."""
    found = plateau(history, window, tol, n_examples) if history.stopped_reason == "completed" else None
    if found:
        history.plateau = True
        history.messages.append(found)


def _check_counts(epochs: Any, batch_size: Any) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an integer ≥ 0, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise ValueError(f"fit: batch_size must be ≥ 1 (or None for the full set), got {batch_size!r}")


def _advance(bar: Any, epoch: int, history: History) -> None:
    if bar is not None and epoch > 0:
        bar.set_postfix_str(f"loss {history.train_loss[-1]:.6g}  acc {history.train_acc[-1]:.1%}", refresh=False)
        bar.update(1)


class _Epochs:
    """One `fit` in progress: measures after each epoch into `history`, steps, and keeps the last parameters
    with a finite loss so that a NaN step or an interruption can go back to them."""

    def __init__(self, model: Module, loss: Any, optimizer: Optimizer, X: np.ndarray, y: np.ndarray,
                 test: tuple[np.ndarray, np.ndarray] | None, threshold: float | None, compiled: bool = False) -> None:
        self.model, self.optimizer, self.X, self.y, self.test = model, optimizer, X, y, test
        self.loss_fn = get_loss(loss) if isinstance(loss, str) else loss
        self.threshold = decision_threshold(loss) if threshold is None else float(threshold)
        self.params = model.parameters()
        self.snapshot = [np.array(p.data, copy=True) for p in self.params]
        self.history = History()
        self.history.compiled = compiled
        self.stepping = False
        if compiled:
            from .compiler import compile as compile_step

            self.compiled_forward = compile_step(self._forward)
            self.compiled_step = compile_step(self._step)
            self.compiled_measure_step = compile_step(self._measure_and_step)
        self.step_applied = False  # a compiled measurement already took this epoch's full-batch step
        self.optimizer_state: dict[str, Any] | None = None
        self.pending: list[np.ndarray] | None = None
        self.pending_state: dict[str, Any] | None = None

    def _forward(self, X: Any, y: Any) -> tuple[Any, Any]:
        """The output and the cost at the current weights, recording nothing."""
        with cr.no_grad():
            output = self.model(X)
            return output, self.loss_fn(output, y)

    def _step(self, X: Any, y: Any) -> Any:
        """One step of gradient descent on (X, y); returns the cost before it."""
        self.optimizer.zero_grad()
        cost = self.loss_fn(self.model(X), y)
        cost.backward()
        self.optimizer.step()
        return cost

    def _measure_and_step(self, X: Any, y: Any) -> tuple[Any, Any]:
        """The output and cost at the current weights, then one full-batch step from them (one forward pass)."""
        self.optimizer.zero_grad()
        output = self.model(X)
        cost = self.loss_fn(output, y)
        cost.backward()
        self.optimizer.step()
        return output, cost

    def undo_pending_step(self) -> None:
        """Training stops after a measurement that a compiled program followed by its step: take it back."""
        if self.step_applied:
            self.restore()
            self.step_applied = self.stepping = False

    def _run_compiled(self, which: str, X: Any, y: Any) -> Any:
        """The compiled program `which` on (X, y), or None after switching to eager steps if it cannot be
        traced (the reason goes into the history's messages)."""
        from .compiler import TraceError

        try:
            return getattr(self, which)(X, y)
        except TraceError as error:
            self.restore()
            self.history.compiled = False
            self.history.messages.append(f"the step could not be compiled, so it ran eagerly: {error}")
            return None

    def keep(self, pending: bool = False) -> None:
        """Copy the weights (and, for compiled steps, the optimiser's state) into the snapshot, or into the
        pending copy that becomes the snapshot when the cost at these weights turns out finite."""
        if pending and self.pending is None:
            self.pending = [np.array(p.data, copy=True) for p in self.params]
        for p, saved in zip(self.params, self.pending if pending else self.snapshot):
            np.copyto(saved, p.data)
        if self.history.compiled:  # a compiled step may have to be taken back whole, optimiser state included
            state = self.optimizer.state_dict()
            if pending:
                self.pending_state = state
            else:
                self.optimizer_state = state

    def restore(self) -> None:
        for p, saved in zip(self.params, self.snapshot):
            np.copyto(p.data, saved)
            cr.mark_modified(p)
        if self.optimizer_state is not None:
            self.optimizer.load_state_dict(self.optimizer_state)

    def _stop_if_nonfinite(self, value: float) -> bool:
        if math.isfinite(value):
            return False
        self.restore()
        self.history.stop("non-finite loss", _nonfinite_message(value, self.history, self.optimizer.lr))
        return True

    def measure(self, keep_graph: bool) -> Any:
        """Record train (and test) loss and accuracy now; the cost (for a full-batch step), or None on NaN/inf."""
        found = None
        if self.history.compiled and keep_graph:  # measure, then step from the same forward pass
            self.keep(pending=True)  # these weights become the kept ones once their cost is known finite
            self.stepping = True
            found = self._run_compiled("compiled_measure_step", self.X, self.y)
            self.step_applied = found is not None
        elif self.history.compiled:
            found = self._run_compiled("compiled_forward", self.X, self.y)
        if found is not None:
            output, cost = found
        elif keep_graph and not self.history.compiled:
            self.optimizer.zero_grad()
            output = self.model(self.X)
            cost = self.loss_fn(output, self.y)
        else:
            with cr.no_grad():
                output = self.model(self.X)
                cost = self.loss_fn(output, self.y)
        value = _scalar(cost)
        if self._stop_if_nonfinite(value):
            return None
        if self.step_applied:
            self.snapshot, self.pending = self.pending, self.snapshot
            self.optimizer_state, self.pending_state = self.pending_state, self.optimizer_state
        history = self.history
        history.train_loss.append(value)
        history.train_acc.append(accuracy(output, self.y, self.threshold))
        history.lr.append(self.optimizer.lr)
        if self.test is not None:
            test_loss, test_acc = evaluate(self.model, self.loss_fn, *self.test, threshold=self.threshold)
            history.test_loss.append(test_loss)
            history.test_acc.append(test_acc)
        return cost

    def full_batch_step(self, cost: Any) -> bool:
        if self.step_applied:  # the compiled measurement took it
            self.step_applied = self.stepping = False
            return True
        self.keep()  # these parameters have a finite loss
        self.stepping = True
        if not self.history.compiled or self._run_compiled("compiled_step", self.X, self.y) is None:
            if cost.requires_grad:
                cost.backward()
            else:  # measured by the compiled forward (no graph), then compiling the step failed
                self._step(self.X, self.y)
                self.stepping = False
                return True
            self.optimizer.step()
        self.stepping = False
        return True

    def mini_batch_epoch(self, batch_size: int | None, rng: np.random.Generator) -> bool:
        """One pass over shuffled mini-batches; False when a batch's loss was NaN/inf (training stops)."""
        self.keep()
        self.stepping = True
        for X_batch, y_batch in batches(self.X, self.y, batch_size, shuffle=True, seed=rng):
            if self.history.compiled:  # the step runs whole; a non-finite cost sends the weights back after it
                self.keep()
                batch_cost = self._run_compiled("compiled_step", X_batch, y_batch)
                if batch_cost is not None:
                    if self._stop_if_nonfinite(_scalar(batch_cost)):
                        return False
                    continue
            self.optimizer.zero_grad()
            batch_cost = self.loss_fn(self.model(X_batch), y_batch)
            if self._stop_if_nonfinite(_scalar(batch_cost)):
                return False
            self.keep()
            batch_cost.backward()
            self.optimizer.step()
        self.stepping = False
        return True

    def interrupted(self) -> None:
        if self.stepping:  # a step may be half applied: go back to the parameters before it
            self.restore()
        self.history.stop("interrupted", f"interrupted after {self.history.epochs} epochs; the model keeps its "
                          "last complete parameters")


def _callbacks_stop(epoch: int, history: History, callbacks: list[Callback]) -> bool:
    for callback in callbacks:
        verdict = callback(epoch, history)
        if verdict:
            message = verdict if isinstance(verdict, str) else f"stopped by a callback after {epoch} epochs"
            history.stop(history.stopped_reason if history.stopped_reason != "completed" else "callback", message)
            return True
    return False



# ----------------------------------------------------------------------------- a whole run, as the CLI does it
LOSS_LABELS = {name: spec.label for name, spec in COSTS.items()}  # read from the cost registry
DEFAULT_LR = {name: spec.defaults["lr"] for name, spec in OPTIMIZERS.items()}  # read from the registry


@dataclass
class RunSettings:
    """Everything that defines one training run; None means "the usual choice" (see `resolve`)."""

    dataset: str = "xor"
    hidden: list[int] | None = None  # None: the data set's recipe (chainrule.data.RECIPES), as are the next five
    activation: str | None = None
    loss: str | None = None  # the recipe's; "ce" for more than two classes, else "mse", when that does not fit
    optimizer: str | None = None
    lr: float | None = None  # the recipe's for its optimizer, else 0.5 for SGD, 0.01 for Adam
    momentum: float = 0.0
    epochs: int | None = None
    batch_size: int | None = None  # the full training set
    seed: int = 0
    samples: int | None = None
    noise: float | None = None
    test_size: float | None = None  # 0 for xor (four points), else 0.2
    init: str | None = None  # He for ReLU-like units, Xavier otherwise
    out: str | None = None  # runs/<dataset>
    compile: bool = True  # steps as chainrule.compile programs (False: the eager engine)


@dataclass
class RunResult:
    """What `run` made: the trained model, its history, final scores and the files written."""

    settings: RunSettings
    model: Module
    history: History
    threshold: float
    train_data: tuple[np.ndarray, np.ndarray]
    test_data: tuple[np.ndarray, np.ndarray] | None
    final: dict[str, float | None]
    files: dict[str, Any]
    diagnosis: Diagnosis | None = None


def check_settings(settings: RunSettings) -> None:
    """Raise ValueError naming the first setting that cannot work."""
    from .data import DATASETS, RECIPES
    from .nn.activations import ACTIVATIONS
    from .nn.functional import LOSSES
    from .nn.init import INITIALISERS

    def choose(what: str, value: Any, choices: Any) -> None:
        if value not in choices:
            raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(choices)}")

    choose("data set", settings.dataset, DATASETS)
    for what, value, choices in (("activation", settings.activation, ACTIVATIONS), ("loss", settings.loss, LOSSES),
                                 ("optimizer", settings.optimizer, OPTIMIZERS),
                                 ("initialiser", settings.init, INITIALISERS)):
        if value is not None:
            choose(what, value, choices)
    if settings.hidden is not None and (not settings.hidden or any(n < 1 for n in settings.hidden)):
        raise ValueError(f"hidden layer sizes must be positive integers, got {settings.hidden}")
    if settings.lr is not None and not (math.isfinite(settings.lr) and settings.lr > 0):
        raise ValueError(f"the learning rate must be a positive number, got {settings.lr}")
    if not 0 <= settings.momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {settings.momentum}")
    _check_momentum(settings, settings.optimizer or RECIPES[settings.dataset]["optimizer"])
    _check_sizes(settings)


def _check_momentum(settings: RunSettings, optimizer: str) -> None:
    if settings.momentum and not OPTIMIZERS[optimizer].accepts("momentum"):
        takers = [name for name, spec in OPTIMIZERS.items() if spec.accepts("momentum")]
        raise ValueError(f"momentum applies to the {takers[0]} optimizer (also {', '.join(takers[1:])}), "
                         f"not to {optimizer}" + ("" if settings.optimizer else " (the recipe's)"))


def _check_sizes(settings: RunSettings) -> None:
    """ValueError for a count or share out of range: epochs, batch size, test share, samples, noise."""
    if settings.epochs is not None and settings.epochs < 0:
        raise ValueError(f"epochs must be ≥ 0, got {settings.epochs}")
    if settings.batch_size is not None and settings.batch_size < 1:
        raise ValueError(f"the batch size must be ≥ 1, got {settings.batch_size}")
    if settings.test_size is not None and not 0 <= settings.test_size < 1:
        raise ValueError(f"the test share must lie in [0, 1), got {settings.test_size}")
    if settings.samples is not None and settings.samples < 4:
        raise ValueError(f"the number of samples must be ≥ 4, got {settings.samples}")
    if settings.noise is not None and not (math.isfinite(settings.noise) and settings.noise >= 0):
        raise ValueError(f"noise must be a number ≥ 0, got {settings.noise}")


def resolve(settings: RunSettings, classes: int) -> RunSettings:
    """The settings with every "usual choice" (None) filled in, for data with `classes` classes."""
    from dataclasses import replace

    from .data import RECIPES

    recipe = RECIPES[settings.dataset]
    loss = settings.loss or ("ce" if recipe["loss"] == "mse" and classes > 2 else recipe["loss"])
    if loss in ("bce", "bce_logits") and classes > 2:
        raise ValueError(f"the {loss} loss needs two classes, but {settings.dataset} has {classes}: use ce or mse")
    optimizer = settings.optimizer or recipe["optimizer"]
    lr = recipe["lr"] if optimizer == recipe["optimizer"] else DEFAULT_LR[optimizer]
    test_size = 0.0 if settings.dataset == "xor" else 0.2
    return replace(
        settings,
        loss=loss,
        optimizer=optimizer,
        activation=settings.activation or recipe["activation"],
        epochs=settings.epochs if settings.epochs is not None else recipe["epochs"],
        lr=settings.lr if settings.lr is not None else lr,
        test_size=settings.test_size if settings.test_size is not None else test_size,
        out=settings.out or f"runs/{settings.dataset}",
        hidden=list(settings.hidden if settings.hidden is not None else recipe["hidden"]),
    )


def _resumed(folder: Any, epochs: int | None) -> tuple[RunSettings, Module, Optimizer, History, Any]:
    """(settings, model, optimiser, history so far, shuffling generator) of the run saved in `folder`, to train
    until `epochs` in all (default: the saved run's own total)."""
    import json
    from pathlib import Path

    from . import io

    folder = Path(folder)
    try:
        saved = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        model, optimizer = io.load_checkpoint(folder / "model.npz")
        saved = saved if isinstance(saved, dict) else {}
        settings = _from_saved(RunSettings, saved.get("settings"), "settings")
        history = _from_saved(History, saved.get("history"), "history")
    except (OSError, ValueError) as error:
        raise ValueError(f"--resume {folder}: {error}") from None
    settings.out = str(folder)
    total = settings.epochs if epochs is None else epochs
    if total <= history.epochs:
        raise ValueError(f"--resume {folder}: that run already trained {history.epochs} epochs; give --epochs "
                         f"larger than {history.epochs} to train further")
    settings.epochs = total
    rng = np.random.default_rng(settings.seed)
    try:
        if history.shuffle_state is not None:
            rng.bit_generator.state = history.shuffle_state
    except (TypeError, ValueError, KeyError):
        raise ValueError(f"--resume {folder}: metrics.json's history holds a shuffle_state that is no "
                         f"{type(rng.bit_generator).__name__} state") from None
    history.stopped_reason, history.messages = "completed", []
    return settings, model, optimizer, history, rng


def _fits(value: Any, hint: Any) -> bool:
    """Whether the JSON `value` has the type `hint` names: X | None, list[X], dict, an int (not a bool), a finite
    float (an int will do), str, bool."""
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if origin in (list, dict):
        return isinstance(value, origin) and (origin is dict or all(_fits(item, args[0]) for item in value))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return hint is Any or isinstance(value, hint)


def _from_saved(kind: Any, saved: Any, what: str) -> Any:
    """The dataclass `kind` from the JSON object `saved` (metrics.json's `what`), each field's type checked first:
    a hand-edited or hostile file is one clear ValueError, never a TypeError deep inside training."""
    import typing

    if not isinstance(saved, dict):
        raise ValueError(f"metrics.json has no {what} object; it is not a file chainrule train wrote")
    hints = typing.get_type_hints(kind)
    for key, value in saved.items():
        if key in hints and not _fits(value, hints[key]):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            expected = hints[key].__name__ if isinstance(hints[key], type) else str(hints[key])
            raise ValueError(f"metrics.json's {what} say {key} = {shown}; expected {expected}")
    return kind(**{key: value for key, value in saved.items() if key in hints})


def _joined(before: History, after: History) -> History:
    """The history of a resumed run: `after` starts by measuring the weights `before` ended with."""
    for name in ("train_loss", "train_acc", "test_loss", "test_acc", "lr"):
        getattr(before, name).extend(getattr(after, name)[1:])
    before.stopped_reason, before.messages, before.plateau = after.stopped_reason, after.messages, after.plateau
    before.seconds += after.seconds
    before.compiled, before.shuffle_state = after.compiled, after.shuffle_state
    return before


def run(settings: RunSettings, progress: bool | None = None, resume: Any = None) -> RunResult:
    """Load the data, build the MLP, fit it, and write model.npz (a checkpoint with the optimiser's state),
    metrics.json, loss.png (and boundary.png). With `resume` (a folder this wrote), continue that run where it
    stopped, until settings.epochs in all (if given) or the run's own total: the result equals a run that was
    never stopped."""
    from pathlib import Path

    from . import io
    from .data import load_dataset, train_test_split
    from .nn.functional import OUTPUT_ACTIVATION
    from .nn.layers import MLP
    from .viz.plots import plot_decision_boundary, plot_history

    before = None
    if resume is not None:
        compiled = settings.compile
        settings, model, optimizer, before, shuffle = _resumed(resume, settings.epochs)
        settings.compile = compiled
    check_settings(settings)
    X, y = load_dataset(settings.dataset, settings.samples, settings.noise, settings.seed)
    classes = int(y.max()) + 1
    settings = resolve(settings, classes)
    if settings.test_size:
        X_train, X_test, y_train, y_test = train_test_split(X, y, settings.test_size, settings.seed)
        test_data: tuple[np.ndarray, np.ndarray] | None = (X_test, y_test)
    else:
        X_train, y_train, test_data = X, y, None
    outputs = 1 if classes == 2 and settings.loss != "ce" else classes
    if before is None:
        model = MLP([X.shape[1], *settings.hidden, outputs], activation=settings.activation,
                    output_activation=OUTPUT_ACTIVATION[settings.loss], init=settings.init, rng=settings.seed)
        optimizer = OPTIMIZERS[settings.optimizer](model.parameters(), lr=settings.lr,
                                                   momentum=settings.momentum or None)
        shuffle = np.random.default_rng(settings.seed)
    threshold = decision_threshold(settings.loss)
    start = [np.array(p.data, copy=True) for p in model.parameters()]
    done = before.epochs if before is not None else 0
    history = fit(model, settings.loss, optimizer, (X_train, y_train), settings.epochs - done, settings.batch_size,
                  test_data, progress=progress, seed=shuffle, compile=settings.compile)
    if before is not None:
        history = _joined(before, history)
    diagnosis = diagnose(model, settings.loss, (X_train, y_train), history, settings.lr,
                         default_target(settings.dataset, test_data is not None), start)
    train_loss, train_acc = evaluate(model, settings.loss, X_train, y_train, threshold)
    test_loss, test_acc = evaluate(model, settings.loss, *test_data, threshold) if test_data else (None, None)
    final = {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}

    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    description = {"dataset": settings.dataset, "loss": settings.loss, "threshold": threshold, "classes": classes,
                   "features": int(X.shape[1])}
    files: dict[str, Any] = {"model": io.save(model, out / "model.npz", metadata=description, optimizer=optimizer)}
    files["metrics"] = out / "metrics.json"
    metrics = {"settings": asdict(settings), "data": {**description, "train_examples": len(y_train),
               "test_examples": len(test_data[1]) if test_data else 0},
               "sizes": model.sizes, "final": final, "diagnosis": diagnosis.to_dict(), "history": history.to_dict()}
    _write_json(files["metrics"], metrics)
    title = (f"{settings.dataset}: MLP {'-'.join(map(str, model.sizes))} ({settings.activation} hidden, "
             f"{model.activation_name(model.L)} output),\n"
             f"{LOSS_LABELS[settings.loss]}, {OPTIMIZERS[settings.optimizer].label} "
             f"lr {settings.lr:g}")
    files["loss_plot"] = plot_history(history, out / "loss.png", title=title, loss_name=LOSS_LABELS[settings.loss])
    if X.shape[1] == 2:
        subtitle = f"decision regions after {history.epochs} epochs: train accuracy {train_acc:.1%}"
        if test_acc is not None:
            subtitle += f", test {test_acc:.1%}"
        files["boundary_plot"] = plot_decision_boundary(model, X, y, out / "boundary.png", threshold=threshold,
                                                        title=f"{title}\n{subtitle}")
    return RunResult(settings, model, history, threshold, (X_train, y_train), test_data, final, files, diagnosis)


def prediction_table(model: Module, X: np.ndarray, t: np.ndarray, threshold: float) -> list[tuple[str, str, int, bool]]:
    """(inputs, outputs, class, right) per row: class = argmax of several outputs (softmax for ce), else
    output > threshold."""
    from .nn.functional import predict_labels

    outputs = predict(model, X).reshape(len(X), -1)
    labels = predict_labels(outputs, threshold)
    rows = []
    for x, target, output, label in zip(X, t, outputs, labels):
        rows.append((", ".join(f"{v:g}" for v in x), ", ".join(f"{v:.8g}" for v in output), int(label),
                     bool(int(label) == int(target))))
    return rows


def _write_json(path: Any, content: dict[str, Any]) -> None:
    """Write JSON atomically (temporary file, then rename), one top-level entry per line (lists kept inline)."""
    import json

    from .files import write_atomically

    def entry(key: str, value: Any, indent: str) -> str:
        if isinstance(value, dict) and value and not all(isinstance(v, (int, float, str)) for v in value.values()):
            inner = ",\n".join(entry(k, v, indent + "  ") for k, v in value.items())
            return f'{indent}"{key}": {{\n{inner}\n{indent}}}'
        return f'{indent}"{key}": {json.dumps(value, allow_nan=False, ensure_ascii=False)}'

    text = "{\n" + ",\n".join(entry(k, v, "  ") for k, v in content.items()) + "\n}\n"
    write_atomically(path, text)
