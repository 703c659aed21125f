"""One example sent forward and back through an MLP by chainrule's engine, with every per-layer number kept.

z[l], a[l] come from the engine's forward pass; delta[l] = ∂C/∂z^l and ∂C/∂a^l are the `.grad` of the
retained intermediate tensors after `backward()`; dW[l], db[l] are the `.grad` of the parameters. Nothing
here re-derives a gradient by hand: the page shows what the engine computed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.nn import MLP, get_loss
from chainrule.nn.activations import ACTIVATIONS, derivative_by_engine

from ..autodiff import Tensor, no_grad, tensor


@dataclass
class Trace:
    """Every quantity of BP1–BP4 for one example, indexed by layer l = 0..L (None where undefined)."""
    W: list
    b: list
    z: list
    a: list
    dC_da: list
    sigma_prime: list
    delta: list
    dW: list
    db: list
    cost: float

    def to_json(self) -> dict[str, Any]:
        """Every array as nested lists of floats."""
        def listed(values: list) -> list:
            return [None if v is None else np.asarray(v, dtype=np.float64).tolist() for v in values]
        return {name: listed(getattr(self, name)) for name in
                ("W", "b", "z", "a", "dC_da", "sigma_prime", "delta", "dW", "db")} | {"cost": self.cost}


def _first_row(t: Tensor | None) -> np.ndarray | None:
    """Row 0 of a (1, n) tensor: the numbers of the one example."""
    return None if t is None else np.array(t.data[0])


def sigma_prime(name: str, z: np.ndarray) -> np.ndarray:
    """σ'(z) elementwise, by the engine: ∂/∂z Σ σ(z)."""
    return derivative_by_engine(name, z)


def example_cost(model: MLP, loss: str, x: np.ndarray, target: Any) -> float:
    """C for the one example x (a vector) with its target, without building a graph."""
    with no_grad():
        return float(get_loss(loss)(model(x[None, :]), target).item())


def trace_example(model: MLP, loss: str, x: np.ndarray, target: Any) -> Trace:
    """Forward and backward pass of the one example x through `model`; leaves ∂C/∂W^l, ∂C/∂b^l in `.grad`."""
    model.zero_grad()
    L = model.L
    a: list = [tensor(np.asarray(x, dtype=np.float64)[None, :])]
    z: list = [None]
    for l, layer in enumerate(model.layers, start=1):
        z_l = layer(a[l - 1]).retain_grad()
        a_l = ACTIVATIONS[model.activation_name(l)](z_l)
        if a_l is not z_l:
            a_l.retain_grad()
        z.append(z_l)
        a.append(a_l)
    cost = get_loss(loss)(a[L], target)
    cost.backward()
    return Trace(
        W=[None] + [np.array(layer.weight.data) for layer in model.layers],
        b=[None] + [np.array(layer.bias.data) for layer in model.layers],
        z=[_first_row(t) for t in z],
        a=[_first_row(t) for t in a],
        dC_da=[None] + [_first_row(t.grad) for t in a[1:]],
        sigma_prime=[None] + [sigma_prime(model.activation_name(l), z[l].data[0]) for l in range(1, L + 1)],
        delta=[None] + [_first_row(t.grad) for t in z[1:]],
        dW=[None] + [np.array(layer.weight.grad.data) for layer in model.layers],
        db=[None] + [np.array(layer.bias.grad.data) for layer in model.layers],
        cost=float(cost.item()),
    )
