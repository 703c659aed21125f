"""One example sent forward and back through an MLP by chainrule's engine, with every per-layer number kept.

z[l], a[l] come from the engine's forward pass; delta[l] = ∂C/∂z^l and ∂C/∂a^l are the `.grad` of the
retained intermediate tensors after `backward()`; dW[l], db[l] are the `.grad` of the parameters. With a
penalty on the weights (L1 or L2) the cost is C = C₀ + penalty, so ∂C/∂W^l = δ^l (a^{l−1})ᵀ + the penalty's share,
which the engine differentiates on its own (`dW_penalty`). Nothing here re-derives a gradient by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.nn import MLP, get_loss
from chainrule.nn.activations import ACTIVATIONS, derivative_by_engine
from chainrule.nn.functional import PENALTIES, weight_penalty

from ..autodiff import Tensor, grad, no_grad, softmax, tensor


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
    dW_penalty: list
    cost: float
    data_cost: float
    probabilities: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        """Every array as nested lists of floats; ‖δ^l‖ per layer; softmax(z^L) for softmax cross-entropy."""
        def listed(values: list) -> list:
            return [None if v is None else np.asarray(v, dtype=np.float64).tolist() for v in values]
        arrays = {name: listed(getattr(self, name)) for name in
                  ("W", "b", "z", "a", "dC_da", "sigma_prime", "delta", "dW", "db", "dW_penalty")}
        norms = [None if d is None else float(np.linalg.norm(d)) for d in self.delta]
        probabilities = None if self.probabilities is None else self.probabilities.tolist()
        return arrays | {"cost": self.cost, "data_cost": self.data_cost, "delta_norm": norms,
                         "probabilities": probabilities}


def _first_row(t: Tensor | None) -> np.ndarray | None:
    """Row 0 of a (1, n) tensor: the numbers of the one example."""
    return None if t is None else np.array(t.data[0])


def sigma_prime(name: str, z: np.ndarray) -> np.ndarray:
    """σ'(z) elementwise, by the engine: ∂/∂z Σ σ(z)."""
    return derivative_by_engine(name, z)


def example_cost(model: MLP, loss: str, x: np.ndarray, target: Any, regularization: str = "none",
                 rate: float = 0.0) -> float:
    """C = C₀ + penalty for the one example x (its features a⁰) with its target, without building a graph."""
    with no_grad():
        cost = get_loss(loss)(model(x[None, :]), target)
        extra = penalty(model, regularization, rate)
        return float((cost if extra is None else cost + extra).item())


def penalty(model: MLP, kind: str, rate: float) -> Tensor | None:
    """The penalty term on every layer's weights (not the biases), or None for "none" or λ = 0."""
    return weight_penalty([layer.weight for layer in model.layers], kind, rate)


def penalty_gradients(model: MLP, kind: str, rate: float) -> list:
    """[None, ∂penalty/∂W^1, ..., ∂penalty/∂W^L] by the engine (zeros without a penalty)."""
    weights = [np.array(layer.weight.data) for layer in model.layers]
    if kind == "none" or rate == 0:
        return [None] + [np.zeros_like(W) for W in weights]
    shares = grad(lambda *Ws: sum_of(PENALTIES[kind](W, rate) for W in Ws), argnums=tuple(range(len(weights))))(*weights)
    return [None] + [np.asarray(getattr(g, "data", g), dtype=np.float64) for g in shares]


def sum_of(terms: Any) -> Any:
    """t₁ + t₂ + ... of engine values."""
    total = None
    for term in terms:
        total = term if total is None else total + term
    return total


def trace_example(model: MLP, loss: str, x: np.ndarray, target: Any, regularization: str = "none",
                  rate: float = 0.0) -> Trace:
    """Forward and backward pass of the one example x (its features a⁰) through `model`, with the cost
    C = C₀ + the weights' penalty; leaves ∂C/∂W^l, ∂C/∂b^l in `.grad`."""
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
    data_cost = get_loss(loss)(a[L], target)
    extra = penalty(model, regularization, rate)
    cost = data_cost if extra is None else data_cost + extra
    cost.backward()
    with no_grad():
        probabilities = np.array(softmax(z[L]).data[0]) if loss == "ce" else None
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
        dW_penalty=penalty_gradients(model, regularization, rate),
        cost=float(cost.item()),
        data_cost=float(data_cost.item()),
        probabilities=probabilities,
    )
