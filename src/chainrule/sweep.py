"""The learner's experiment: train one network per (learning rate, cost, architecture, optimiser, seed) on the
same data and put the runs side by side — a table (final cost, accuracies, the epoch the target was reached,
the diagnosis) and a grid of cost curves. It does not choose settings for you; `chainrule train` trains one.

Runs that differ only by seed are trained together: `train_seeds` holds the weights of S networks as (S, out,
in) arrays and does full-batch descent on all of them at once (the same arithmetic as `train.fit` with the
engine, checked equal by a test), which is what makes the classic grid take seconds.
"""
from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .autodiff import Tensor, tensor
from .data import DATASETS, load_dataset, train_test_split
from .diagnose import Diagnosis, Target, default_target, diagnose
from .files import write_atomically
from .nn.activations import ACTIVATIONS
from .nn.functional import LOSSES, OUTPUT_ACTIVATION, decision_threshold
from .nn.layers import MLP
from .optim import OPTIMIZERS, Optimizer

MAX_RUNS = 1000


# ----------------------------------------------------------------------------- the vectorised seam
def _sigma(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(σ(z), σ'(z)) elementwise for the activation `name`, both from its registry entry (chainrule.nn.ACTIVATIONS):
    σ by the engine's function (on a plain array a primitive is its forward), σ′ as the entry writes it out."""
    spec = ACTIVATIONS[name]
    return np.asarray(spec.function(z)), np.asarray(spec.textbook_derivative(z), dtype=z.dtype)


def _cost_and_output_gradient(loss: str, out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C per network (S,), ∂C/∂a^L of shape (S, N, outputs)) for the named cost, as nn.functional defines it."""
    n = out.shape[1]
    if loss == "ce":
        shifted = out - out.max(axis=2, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
        rows = np.arange(n)
        cost = -log_p[:, rows, y].mean(axis=1)
        grad = np.exp(log_p)
        grad[:, rows, y] -= 1.0
        return cost, grad / n
    t = y.reshape(1, n, -1).astype(out.dtype)
    count = out.shape[1] * out.shape[2]
    if loss in ("mse", "half_sum"):
        diff = out - t
        scale = 0.5 if loss == "half_sum" else 1.0 / count
        return scale * (diff * diff).sum(axis=(1, 2)), (1.0 if loss == "half_sum" else 2.0 / count) * diff
    if loss == "bce":
        eps = float(np.finfo(out.dtype).eps)
        p = np.clip(out, eps, 1.0 - eps)
        inside = (out >= eps) & (out <= 1.0 - eps)
        cost = -(t * np.log(p) + (1.0 - t) * np.log(1.0 - p)).sum(axis=(1, 2)) / count
        return cost, np.where(inside, (-(t / p) + (1.0 - t) / (1.0 - p)) / count, 0.0)
    # bce_logits: softplus(z) − t z
    cost = (np.logaddexp(0.0, out) - t * out).sum(axis=(1, 2)) / count
    return cost, (1.0 / (1.0 + np.exp(-out)) - t) / count


def _predicted_classes(out: np.ndarray, threshold: float) -> np.ndarray:
    """(S, N) class labels: argmax for several outputs, output > threshold for one."""
    if out.shape[2] > 1:
        return out.argmax(axis=2)
    return (out[..., 0] > threshold).astype(np.int64)


@dataclass
class SeedRuns:
    """What `train_seeds` records for S networks: cost and accuracies after k = 0..epochs epochs, (S, epochs+1)."""

    train_loss: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray | None
    start: list[list[np.ndarray]]  # per network: W1, b1, W2, b2, ... before training
    final: list[list[np.ndarray]]  # the same after training
    stopped: np.ndarray  # epoch at which a network's cost became NaN/inf (−1: never)


class _Batched:
    """The parameters of S MLPs with the same sizes, stacked: W[l] of shape (S, out, in), b[l] of shape (S, out)."""

    def __init__(self, models: Sequence[MLP]) -> None:
        first = models[0]
        self.activations = [first.activation_name(l) for l in range(1, first.L + 1)]
        self.W = [np.stack([m.layers[i].weight.data for m in models]) for i in range(first.L)]
        self.b = [np.stack([m.layers[i].bias.data for m in models]) for i in range(first.L)]

    def arrays(self) -> list[np.ndarray]:
        return [p for pair in zip(self.W, self.b) for p in pair]

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """(a^L, [a^0..a^(L−1)], [σ'(z^1)..σ'(z^L)]) for the batch X of shape (N, in), for every network."""
        a = np.broadcast_to(X, (self.W[0].shape[0], *X.shape))
        inputs, slopes = [], []
        for W, b, name in zip(self.W, self.b, self.activations):
            inputs.append(a)
            z = np.matmul(a, W.transpose(0, 2, 1)) + b[:, None, :]
            a, slope = _sigma(name, z)
            slopes.append(slope)
        return a, inputs, slopes

    def gradients(self, inputs: list[np.ndarray], slopes: list[np.ndarray], grad_out: np.ndarray) -> list[np.ndarray]:
        """∂C/∂W^l = δ^l (a^(l−1))ᵀ and ∂C/∂b^l = δ^l summed over examples, by BP1–BP4, for every network."""
        delta = grad_out * slopes[-1]  # BP1
        grads: list[np.ndarray] = []
        for l in range(len(self.W) - 1, -1, -1):
            grads[:0] = [np.matmul(delta.transpose(0, 2, 1), inputs[l]), delta.sum(axis=1)]  # BP4, BP3
            if l:
                delta = np.matmul(delta, self.W[l]) * slopes[l - 1]  # BP2
        return grads


def _record_test(net: _Batched, test_data: tuple[np.ndarray, np.ndarray] | None, threshold: float,
                 test_acc: np.ndarray | None, live: np.ndarray, epoch: int) -> None:
    if test_data is None or test_acc is None:
        return
    test_out = net.forward(test_data[0])[0]
    test_acc[live, epoch] = (_predicted_classes(test_out, threshold) == test_data[1]).mean(axis=1)[live]


class _Descent:
    """The registry's optimiser `name` (chainrule.optim.OPTIMIZERS, with its default hyper-parameters) run on the
    stacked arrays: its update is elementwise, so one step on (S, ...) arrays is S networks' steps side by side.
    The stacked arrays of `net` become the optimiser's parameters (the same arrays, updated in place)."""

    def __init__(self, name: str, lr: float, net: _Batched) -> None:
        self.parameters = [tensor(p, requires_grad=True) for p in net.arrays()]
        net.W = [p.data for p in self.parameters[0::2]]
        net.b = [p.data for p in self.parameters[1::2]]
        self.optimizer: Optimizer = OPTIMIZERS[name](self.parameters, lr=lr)

    def step(self, grads: list[np.ndarray], live: np.ndarray) -> None:
        """One update of the networks marked live ((S,) booleans); the others keep their parameters."""
        dead = ~live
        kept = [p.data[dead] for p in self.parameters] if dead.any() else []  # fancy indexing copies
        for p, g in zip(self.parameters, grads):
            p.grad = Tensor(g)
        self.optimizer.step()
        for p, values in zip(self.parameters, kept):
            p.data[dead] = values


def _build_models(sizes: Sequence[int], activation: str, loss: str, seeds: Sequence[int],
                  init: str | None = None) -> list[MLP]:
    """One MLP per seed, drawn exactly as `chainrule train` draws it (so runs of one seed share their start)."""
    return [MLP(list(sizes), activation=activation, output_activation=OUTPUT_ACTIVATION[loss], init=init, rng=seed)
            for seed in seeds]


def train_seeds(models: Sequence[MLP], loss: str, optimizer: str, lr: float, train_data: tuple[np.ndarray, np.ndarray],
                epochs: int, test_data: tuple[np.ndarray, np.ndarray] | None = None, on_epoch: Callable[[int], Any] | None = None) -> SeedRuns:
    """Full-batch descent on S MLPs of one architecture at once (weights stacked as (S, out, in)).

    `optimizer` names an entry of chainrule.optim.OPTIMIZERS (its class runs the update). Equals running
    `train.fit(model, loss, OPTIMIZERS[optimizer](params, lr=lr), train_data, epochs)` on each model in turn, to
    rounding; the models themselves are left untouched. A network whose cost becomes NaN/inf keeps its last
    finite parameters and stops (as `fit` does), the others go on.
    """
    X, y = (np.asarray(v) for v in train_data)
    threshold = decision_threshold(loss)
    net = _Batched(models)
    descent = _Descent(optimizer, lr, net)
    params = net.arrays()
    start = [[p[s].copy() for p in params] for s in range(len(models))]
    S = len(models)
    losses = np.full((S, epochs + 1), np.nan)
    train_acc = np.full((S, epochs + 1), np.nan)
    test_acc = None if test_data is None else np.full((S, epochs + 1), np.nan)
    stopped = np.full(S, -1)
    live = np.ones(S, dtype=bool)
    previous = [p.copy() for p in params]
    with np.errstate(all="ignore"):
        for epoch in range(epochs + 1):
            out, inputs, slopes = net.forward(X)
            cost, grad_out = _cost_and_output_gradient(loss, out, y)
            newly_bad = live & ~np.isfinite(cost)
            if newly_bad.any():  # back to the last parameters with a finite cost
                for p, saved in zip(params, previous):
                    p[newly_bad] = saved[newly_bad]
                stopped[newly_bad] = epoch
                live &= ~newly_bad
            losses[live, epoch] = cost[live]
            train_acc[live, epoch] = (_predicted_classes(out, threshold) == y).mean(axis=1)[live]
            _record_test(net, test_data, threshold, test_acc, live, epoch)
            if on_epoch is not None:
                on_epoch(epoch)
            if epoch == epochs or not live.any():
                break
            previous = [p.copy() for p in params]
            descent.step(net.gradients(inputs, slopes, grad_out), live)
    final = [[p[s].copy() for p in params] for s in range(S)]
    return SeedRuns(losses, train_acc, test_acc, start, final, stopped)


def train_one_by_one(models: Sequence[MLP], loss: str, optimizer: str, lr: float,
                     train_data: tuple[np.ndarray, np.ndarray], epochs: int,
                     test_data: tuple[np.ndarray, np.ndarray] | None = None, compile: bool = True) -> SeedRuns:
    """What `train_seeds` records, by `train.fit` on each model in turn (compiled steps, or the eager engine);
    the models themselves are left untouched."""
    from .train import fit

    S = len(models)
    losses, train_acc = np.full((S, epochs + 1), np.nan), np.full((S, epochs + 1), np.nan)
    test_acc = None if test_data is None else np.full((S, epochs + 1), np.nan)
    stopped = np.full(S, -1)
    start, final = [], []
    for s, original in enumerate(models):
        model = copy.deepcopy(original)
        params = model.parameters()
        start.append([p.data.copy() for p in params])
        history = fit(model, loss, OPTIMIZERS[optimizer](params, lr=lr), train_data, epochs, test_data=test_data,
                      progress=False, plateau_epochs=epochs + 1, compile=compile)
        n = len(history.train_loss)
        losses[s, :n], train_acc[s, :n] = history.train_loss, history.train_acc
        if test_acc is not None:
            test_acc[s, :len(history.test_acc)] = history.test_acc
        if history.stopped_reason == "non-finite loss":
            stopped[s] = n
        final.append([p.data.copy() for p in params])
    return SeedRuns(losses, train_acc, test_acc, start, final, stopped)


ENGINES = ("stacked", "compiled", "eager")


# ----------------------------------------------------------------------------- the experiment
@dataclass
class SweepRun:
    """One run of a sweep: its setting, seed, results and verdict; `curve` is the cost after each epoch."""

    lr: float
    loss: str
    hidden: tuple[int, ...]
    optimizer: str
    seed: int
    final_cost: float | None
    train_acc: float | None
    test_acc: float | None
    reached: int | None
    diagnosis: Diagnosis
    curve: np.ndarray = field(repr=False)

    @property
    def setting(self) -> tuple[float, str, tuple[int, ...], str]:
        return self.lr, self.loss, self.hidden, self.optimizer

    def row(self) -> dict[str, Any]:
        """The run as a table row (plain numbers and strings)."""
        return {"lr": self.lr, "loss": self.loss, "hidden": "-".join(map(str, self.hidden)),
                "optimizer": self.optimizer, "seed": self.seed, "final_cost": self.final_cost,
                "train_acc": self.train_acc, "test_acc": self.test_acc,
                "reached_at": self.reached if self.reached is not None else "never",
                "verdict": self.diagnosis.verdict, "diagnosis": self.diagnosis.message}


@dataclass
class SweepResult:
    """The runs of a sweep, the target they were measured against, and whether it was interrupted."""

    dataset: str
    target: Target
    epochs: int
    runs: list[SweepRun]
    planned: int
    interrupted: bool = False
    seconds: float = 0.0

    def table(self) -> list[dict[str, Any]]:
        """One row per run (see `SweepRun.row`)."""
        return [run.row() for run in self.runs]

    def shares(self) -> list[dict[str, Any]]:
        """Per setting: how many of its seeds reached the target."""
        groups: dict[tuple, list[SweepRun]] = {}
        for run in self.runs:
            groups.setdefault(run.setting, []).append(run)
        return [{"lr": lr, "loss": loss, "hidden": "-".join(map(str, hidden)), "optimizer": optimizer,
                 "reached": sum(r.reached is not None for r in runs), "seeds": len(runs),
                 "share": sum(r.reached is not None for r in runs) / len(runs)}
                for (lr, loss, hidden, optimizer), runs in groups.items()]

    def text(self) -> str:
        """The table as aligned text: one line per run, then the share of seeds that reached the target."""
        head = (f"{'lr':>8} {'loss':<10} {'hidden':<8} {'opt':<5} {'seed':>4} {'final cost':>14} {'train':>7} "
                f"{'test':>7} {'reached':>8}  verdict")
        lines = [f"target: {self.target.describe()}", head]
        for r in self.table():
            lines.append(f"{r['lr']:>8g} {r['loss']:<10} {r['hidden']:<8} {r['optimizer']:<5} {r['seed']:>4} "
                         f"{_number(r['final_cost']):>14} {_percent(r['train_acc']):>7} {_percent(r['test_acc']):>7} "
                         f"{r['reached_at']!s:>8}  {r['verdict']}")
        lines.append("share of seeds that reached the target, per setting:")
        for s in self.shares():
            lines.append(f"{s['lr']:>8g} {s['loss']:<10} {s['hidden']:<8} {s['optimizer']:<5} "
                         f"{s['reached']}/{s['seeds']} ({s['share']:.0%})")
        return "\n".join(lines)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.8g}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def check_sweep(dataset: str, lrs: Sequence[float], losses: Sequence[str], seeds: Sequence[int],
                hidden: Sequence[Sequence[int]], optimizers: Sequence[str], epochs: int,
                activation: str = "sigmoid") -> int:
    """The number of runs, or ValueError naming the first setting that cannot work (before any training)."""
    for name, values in (("--lr", lrs), ("--loss", losses), ("--seed", seeds), ("--hidden", hidden),
                         ("--optimizer", optimizers)):
        if len(values) == 0:
            raise ValueError(f"{name} needs at least one value")
    _check_names(dataset, lrs, losses, optimizers, activation)
    if any(len(h) == 0 or min(h) < 1 for h in hidden):
        raise ValueError(f"hidden layer widths must be positive integers, got {[list(h) for h in hidden]}")
    if isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {epochs}")
    runs = len(lrs) * len(losses) * len(seeds) * len(hidden) * len(optimizers)
    if runs > MAX_RUNS:
        raise ValueError(f"{runs} runs is too many for one sweep (at most {MAX_RUNS}): give fewer values")
    return runs


def _check_names(dataset: str, lrs: Sequence[float], losses: Sequence[str], optimizers: Sequence[str],
                 activation: str) -> None:
    """ValueError for an unknown data set, cost, optimizer or activation, or a learning rate that is not > 0."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    bad_lr = [lr for lr in lrs if not (math.isfinite(lr) and lr > 0)]
    if bad_lr:
        raise ValueError(f"every learning rate must be a positive number, got {bad_lr[0]:g}")
    for what, values, known in (("cost", losses, LOSSES), ("optimizer", optimizers, OPTIMIZERS),
                                ("activation", [activation], ACTIVATIONS)):
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ValueError(f"unknown {what} {unknown[0]!r}; choose one of {', '.join(known)}")


def _load(dataset: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
    """The data every run shares: the data set at seed 0, with 20% held out for testing (none for XOR)."""
    X, y = load_dataset(dataset)
    if dataset == "xor":
        return (X, y), None
    X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, 0)
    return (X_train, y_train), (X_test, y_test)


def _history(runs: SeedRuns, s: int) -> Any:
    """The engine trainer's History for network s of a batch (only the epochs with a finite cost)."""
    from .train import History

    keep = np.isfinite(runs.train_loss[s])
    history = History(train_loss=runs.train_loss[s][keep].tolist(), train_acc=runs.train_acc[s][keep].tolist())
    if runs.test_acc is not None:
        history.test_acc = runs.test_acc[s][keep].tolist()
    if runs.stopped[s] >= 0:
        history.stopped_reason = "non-finite loss"
    return history


def _finish(models: Sequence[MLP], runs: SeedRuns, setting: tuple, seeds: Sequence[int],
            train: tuple[np.ndarray, np.ndarray], target: Target) -> list[SweepRun]:
    """Load each network's final weights into its model and diagnose it."""
    lr, loss, hidden, optimizer = setting
    done = []
    for s, (model, seed) in enumerate(zip(models, seeds)):
        for p, value in zip(model.parameters(), runs.final[s]):
            np.copyto(p.data, value)
        history = _history(runs, s)
        diagnosis = diagnose(model, loss, train, history, lr, target, runs.start[s])
        reached = next((k for k, v in enumerate(getattr(history, target.metric)) if target.met(v)), None)
        done.append(SweepRun(lr, loss, tuple(hidden), optimizer, int(seed),
                             history.train_loss[-1] if history.train_loss else None,
                             history.train_acc[-1] if history.train_acc else None,
                             history.test_acc[-1] if history.test_acc else None, reached, diagnosis,
                             np.asarray(history.train_loss)))
    return done


def run_sweep(dataset: str, lrs: Sequence[float] = (0.1, 0.5, 2.0, 10.0), losses: Sequence[str] = ("mse", "bce"),
              seeds: Sequence[int] = tuple(range(10)), hidden: Sequence[Sequence[int]] = ((2,),),
              optimizers: Sequence[str] = ("sgd",), epochs: int = 5000, target: Target | None = None,
              activation: str = "sigmoid", progress: bool | None = None, engine: str = "stacked") -> SweepResult:
    """Train every combination of the settings on the same data (full batch), each seed starting from the same
    weights in every setting that shares its architecture, and return the table of results with verdicts.

    `engine` says how: "stacked" (the seeds of a setting in one vectorised program, `train_seeds`), "compiled"
    (each run by `train.fit` with chainrule.compile steps) or "eager" (each run by `train.fit` on the eager
    engine, the reference the other two equal). Interrupted (Ctrl+C), it returns the runs that finished, with
    `interrupted` set.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown sweep engine {engine!r}; choose one of {', '.join(ENGINES)}")
    planned = check_sweep(dataset, lrs, losses, seeds, hidden, optimizers, epochs, activation)
    train, test = _load(dataset)
    target = target or default_target(dataset, test is not None)
    classes = int(train[1].max()) + 1
    if classes > 2 and any(loss in ("bce", "bce_logits") for loss in losses):
        raise ValueError(f"the bce costs need two classes, but {dataset} has {classes}: use ce or mse")
    settings = list(itertools.product(lrs, losses, [tuple(h) for h in hidden], optimizers))
    result = SweepResult(dataset, target, epochs, [], planned)
    bar = _bar(progress, planned)
    started = time.perf_counter()
    try:
        for setting in settings:
            lr, loss, sizes, optimizer = setting
            outputs = classes if loss == "ce" else (1 if classes == 2 else classes)
            models = _build_models([train[0].shape[1], *sizes, outputs], activation, loss, seeds)
            if engine == "stacked":
                runs = train_seeds(models, loss, optimizer, lr, train, epochs, test)
            else:
                runs = train_one_by_one(models, loss, optimizer, lr, train, epochs, test, engine == "compiled")
            result.runs.extend(_finish(models, runs, setting, seeds, train, target))
            if bar is not None:
                bar.update(len(seeds))
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    result.seconds = time.perf_counter() - started
    return result


def _bar(progress: bool | None, total: int):
    import sys

    if not (sys.stderr.isatty() if progress is None else progress):
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="run", dynamic_ncols=True)


def write_sweep(result: SweepResult, out: str | Path) -> dict[str, Path]:
    """Write sweep.csv, sweep.json and sweep.png (the grid of cost curves) into `out`; return their paths."""
    from .viz.plots import plot_sweep_curves

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = result.table()
    files = {"csv": out / "sweep.csv", "json": out / "sweep.json", "picture": out / "sweep.png"}
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["lr"])
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(files["csv"], table.getvalue())
    content = {"dataset": result.dataset, "target": result.target.describe(), "epochs": result.epochs,
               "runs_planned": result.planned, "runs_finished": len(rows), "interrupted": result.interrupted,
               "runs": rows, "shares": result.shares()}
    write_atomically(files["json"], json.dumps(content, indent=1, ensure_ascii=False) + "\n")
    panels: dict[tuple, list[tuple[str, np.ndarray]]] = {}
    for run in result.runs:
        panels.setdefault(run.setting, []).append((f"seed {run.seed}", run.curve))
    titled = [(f"η={lr:g} {loss} {'-'.join(map(str, hidden))} {optimizer}", curves)
              for (lr, loss, hidden, optimizer), curves in panels.items()]
    if titled:
        plot_sweep_curves(titled, files["picture"], title=f"{result.dataset}: cost per epoch (log axis), "
                          f"seeds overlaid; target {result.target.describe()}")
    else:
        del files["picture"]
    return files
