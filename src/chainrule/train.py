"""The training loop: `fit` runs gradient descent epoch by epoch and returns a `History`.

It measures loss and accuracy after every epoch (train, and test when given), stops on a NaN/inf loss with
the last finite parameters restored, and notices a plateau below 100% accuracy. It writes no files.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

import chainrule as cr

from .data import batches
from .nn.functional import accuracy, decision_threshold, get_loss
from .nn.module import Module
from .optim import Optimizer

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
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """The number of epochs trained."""
        return max(len(self.train_loss) - 1, 0)

    def stop(self, reason: str, message: str) -> None:
        self.stopped_reason = reason
        self.messages.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "epochs": self.epochs}


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
    from tqdm import tqdm

    return tqdm(total=epochs, unit="epoch", dynamic_ncols=True, leave=False)


def _plateau_message(history: History, window: int, n_examples: int) -> str:
    old, new = history.train_loss[-1 - window], history.train_loss[-1]
    right = round(history.train_acc[-1] * n_examples)
    return (
        f"training has stalled after {history.epochs} epochs: the loss went only from {old:.8g} to {new:.8g} "
        f"over the last {window} epochs while train accuracy is {history.train_acc[-1]:.1%} "
        f"({right}/{n_examples}). This is most likely a local minimum or a flat region of the cost (for XOR with "
        "two hidden units, the known one where both hidden units learn the same split and one corner stays "
        "wrong). Usual remedies: another seed, more hidden units, or momentum (e.g. momentum 0.9)."
    )


def _nonfinite_message(value: float, history: History, lr: float) -> str:
    return (
        f"the loss became {value} after {history.epochs + 1} epochs, so training stopped: the steps are too "
        f"large for this cost; try a smaller learning rate (it was {lr:g}). The model keeps its last parameters "
        f"with a finite loss ({history.train_loss[-1]:.8g}, after {history.epochs} epochs)."
        if history.train_loss
        else f"the loss is {value} before any training: check the data and the model's initial parameters"
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
    plateau_tol: float = 1e-3,
) -> History:
    """Train by w ← w − η ∂C/∂w over mini-batches for `epochs` epochs (batch_size None: the full set).

    After each epoch the train (and test) loss and accuracy are recorded; a callback returning a true value
    stops training (a string is kept as the reason). Training also stops when the loss is NaN or inf
    (restoring the last parameters with a finite loss) and when, below 100% accuracy, the loss fell by less
    than `plateau_tol` (relative) over `plateau_epochs` epochs (default: a tenth of the run, at least 100).
    """
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    threshold = decision_threshold(loss) if threshold is None else float(threshold)
    X, y = _as_pair("train_data", train_data)
    test = _as_pair("test_data", test_data) if test_data is not None else None
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: epochs must be an integer ≥ 0, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise ValueError(f"fit: batch_size must be ≥ 1 (or None for the full set), got {batch_size!r}")
    window = plateau_epochs if plateau_epochs is not None else max(100, epochs // 10)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    full_batch = batch_size is None or batch_size >= len(X)
    callbacks = list(callbacks)

    params = model.parameters()
    snapshot = [np.array(p.data, copy=True) for p in params]

    def keep_parameters() -> None:
        for p, saved in zip(params, snapshot):
            np.copyto(saved, p.data)

    def restore_parameters() -> None:
        for p, saved in zip(params, snapshot):
            np.copyto(p.data, saved)

    history = History()
    bar = _progress_bar(progress, epochs)
    started = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for epoch in range(epochs + 1):
                # Measure the parameters after `epoch` epochs. With a full batch the same forward pass
                # also serves the next step, so it keeps its graph.
                if full_batch and epoch < epochs:
                    optimizer.zero_grad()
                    output = model(X)
                    cost = loss_fn(output, y)
                else:
                    with cr.no_grad():
                        output = model(X)
                        cost = loss_fn(output, y)
                value = _scalar(cost)
                if not math.isfinite(value):
                    restore_parameters()
                    history.stop("non-finite loss", _nonfinite_message(value, history, optimizer.lr))
                    break
                history.train_loss.append(value)
                history.train_acc.append(accuracy(output, y, threshold))
                history.lr.append(optimizer.lr)
                if test is not None:
                    test_loss, test_acc = evaluate(model, loss_fn, *test, threshold=threshold)
                    history.test_loss.append(test_loss)
                    history.test_acc.append(test_acc)
                if bar is not None and epoch > 0:
                    bar.set_postfix_str(f"loss {value:.6g}  acc {history.train_acc[-1]:.1%}", refresh=False)
                    bar.update(1)
                if _should_stop(epoch, history, callbacks, window, plateau_tol, len(X)) or epoch == epochs:
                    break

                keep_parameters()  # these parameters have a finite loss
                if full_batch:
                    cost.backward()
                    optimizer.step()
                else:
                    for X_batch, y_batch in batches(X, y, batch_size, shuffle=True, seed=rng):
                        optimizer.zero_grad()
                        batch_cost = loss_fn(model(X_batch), y_batch)
                        batch_value = _scalar(batch_cost)
                        if not math.isfinite(batch_value):
                            restore_parameters()
                            history.stop("non-finite loss", _nonfinite_message(batch_value, history, optimizer.lr))
                            break
                        keep_parameters()
                        batch_cost.backward()
                        optimizer.step()
                    if history.stopped_reason == "non-finite loss":
                        break
                if scheduler is not None:
                    scheduler.step()
    except KeyboardInterrupt:
        restore_parameters()
        history.stop("interrupted", f"interrupted after {history.epochs} epochs; the model keeps those parameters")
    finally:
        if bar is not None:
            bar.close()
        optimizer.zero_grad()
    history.seconds = time.perf_counter() - started
    return history


def _should_stop(epoch: int, history: History, callbacks: list[Callback], window: int, tol: float,
                 n_examples: int) -> bool:
    for callback in callbacks:
        verdict = callback(epoch, history)
        if verdict:
            history.stop("callback", verdict if isinstance(verdict, str) else f"stopped by a callback after {epoch} epochs")
            return True
    if epoch >= window and history.train_acc[-1] < 1.0:
        old, new = history.train_loss[-1 - window], history.train_loss[-1]
        if old - new <= tol * abs(old):
            history.stop("plateau", _plateau_message(history, window, n_examples))
            return True
    return False


__all__ = ["History", "evaluate", "fit", "predict", "target_reached"]
