"""The public API as a user's code calls it, for `make lint` to type-check (mypy, through chainrule's py.typed).

Never run by pytest (no test_ prefix): mypy reads it and checks every call against chainrule's signatures.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import Tensor, interop
from chainrule.nn import MLP, Linear, Module, Sequential, Sigmoid
from chainrule.nn.functional import mse
from chainrule.optim import SGD, Adam
from chainrule.train import History, fit, predict


def engine() -> float:
    x = cr.tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    slope = cr.grad(lambda v: (v**2).sum())(np.array([1.0, 2.0]))
    return float(np.sum(slope)) + float(y.item())


def network(path: Path) -> np.ndarray:
    model: Module = MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", rng=0)
    other = Sequential(Linear(2, 2, rng=1), Sigmoid())
    optimizer = SGD(model.parameters(), lr=0.5)
    X, t = np.zeros((4, 2)), np.array([0, 1, 1, 0])
    history: History = fit(model, "bce", optimizer, (X, t), 10)
    Adam(other.parameters(), lr=0.01).step()
    saved: Path = cr.save(model, path / "m.safetensors", metadata={"epochs": history.epochs})
    again: Module = cr.load(saved)
    names: dict[str, str] = interop.sequential_names(again)
    assert names and interop.torch_source(again).startswith("nn.Sequential(")
    return predict(again, X)


def compiled_step() -> float:
    from chainrule.compiler import CompiledFunction, TraceError, compile

    model: Module = MLP([2, 3, 1], activation="tanh", rng=0)
    optimizer = SGD(model.parameters(), lr=0.5)
    X, t = np.zeros((4, 2)), np.zeros((4, 1))

    def step(x: np.ndarray, target: np.ndarray) -> Tensor:
        optimizer.zero_grad()
        loss = mse(model(x), target)
        loss.backward()
        optimizer.step()
        return loss
    compiled: CompiledFunction = compile(step)
    try:
        loss: Tensor = compiled(X, t)
    except TraceError:
        raise
    source: str = compiled.source
    return loss.item() + len(source)
