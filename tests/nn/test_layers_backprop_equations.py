"""The engine's gradients for MLPs of several depths equal a hand-written NumPy back-propagation.

The reference below uses nothing from chainrule: the forward pass, then the four equations
BP1 δ^L = ∇_a C ⊙ σ'(z^L), BP2 δ^l = (δ^(l+1) W^(l+1)) ⊙ σ'(z^l), BP3 ∂C/∂b^l = Σ δ^l, BP4 ∂C/∂W^l = δ^lᵀ a^(l−1),
written for a batch whose rows are examples.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F


def sigma(name: str, z: np.ndarray) -> np.ndarray:
    return {
        "sigmoid": lambda: 1 / (1 + np.exp(-z)),
        "tanh": lambda: np.tanh(z),
        "relu": lambda: np.maximum(z, 0),
        "leaky_relu": lambda: np.where(z > 0, z, 0.01 * z),
        "softplus": lambda: np.log1p(np.exp(z)),
        "identity": lambda: z,
    }[name]()


def sigma_prime(name: str, z: np.ndarray) -> np.ndarray:
    s = 1 / (1 + np.exp(-z))
    return {
        "sigmoid": lambda: s * (1 - s),
        "tanh": lambda: 1 - np.tanh(z) ** 2,
        "relu": lambda: (z > 0).astype(float),
        "leaky_relu": lambda: np.where(z > 0, 1.0, 0.01),
        "softplus": lambda: s,
        "identity": lambda: np.ones_like(z),
    }[name]()


def cost_and_gradient(loss: str, a: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """C and ∇_a C for the output a^L (rows are examples); t is one-hot for "ce"."""
    n, k = a.shape
    if loss == "mse":
        return np.mean((a - t) ** 2), 2 * (a - t) / (n * k)
    if loss == "mse_sum":
        return np.sum((a - t) ** 2), 2 * (a - t)
    if loss == "half_sum":
        return 0.5 * np.sum((t - a) ** 2), a - t
    if loss == "bce":
        cost = -np.mean(t * np.log(a) + (1 - t) * np.log(1 - a))
        return cost, -(t / a - (1 - t) / (1 - a)) / (n * k)
    if loss == "bce_logits":
        return np.mean(np.log1p(np.exp(a)) - t * a), (1 / (1 + np.exp(-a)) - t) / (n * k)
    if loss == "ce":
        shifted = a - a.max(axis=1, keepdims=True)
        softmax = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        return -np.mean(np.log(softmax[t.astype(bool)])), (softmax - t) / n
    raise AssertionError(loss)


def backprop(W: list, b: list, names: list[str], x: np.ndarray, t: np.ndarray, loss: str):
    """(C, [∂C/∂W^l], [∂C/∂b^l]) by BP1–BP4; lists are indexed l = 1..L (index 0 unused)."""
    L = len(W) - 1
    a, z = [x], [None]
    for l in range(1, L + 1):
        z.append(a[l - 1] @ W[l].T + b[l])
        a.append(sigma(names[l], z[l]))
    cost, grad_a = cost_and_gradient(loss, a[L], t)
    delta = [None] * (L + 1)
    delta[L] = grad_a * sigma_prime(names[L], z[L])  # BP1
    for l in range(L - 1, 0, -1):
        delta[l] = (delta[l + 1] @ W[l + 1]) * sigma_prime(names[l], z[l])  # BP2
    dC_db = [None] + [delta[l].sum(axis=0) for l in range(1, L + 1)]  # BP3
    dC_dW = [None] + [delta[l].T @ a[l - 1] for l in range(1, L + 1)]  # BP4
    return cost, dC_dW, dC_db


ENGINE_LOSS = {
    "mse": lambda y, t: F.mse(y, t),
    "mse_sum": lambda y, t: F.mse(y, t, reduction="sum"),
    "half_sum": lambda y, t: F.mse(y, t, reduction="half_sum"),
    "bce": F.binary_cross_entropy,
    "bce_logits": F.binary_cross_entropy_with_logits,
    "ce": F.cross_entropy,
}
OUTPUT = {"mse": "tanh", "mse_sum": "identity", "half_sum": "sigmoid", "bce": "sigmoid", "bce_logits": None,
          "ce": None}
HIDDEN_ACTIVATIONS = ["sigmoid", "tanh", "softplus", "leaky_relu", "relu"]


@pytest.mark.parametrize("hidden_layers", [1, 2, 3, 5])
@pytest.mark.parametrize("loss", list(ENGINE_LOSS))
def test_engine_gradients_equal_hand_written_bp1_to_bp4(hidden_layers: int, loss: str) -> None:
    rng = np.random.default_rng(100 * hidden_layers + len(loss))
    activation = HIDDEN_ACTIVATIONS[(hidden_layers + len(loss)) % len(HIDDEN_ACTIVATIONS)]
    outputs = 3
    sizes = [4, *rng.integers(2, 6, hidden_layers).tolist(), outputs]
    model = nn.MLP(sizes, activation=activation, output_activation=OUTPUT[loss], rng=rng)
    x = rng.normal(size=(7, sizes[0]))
    if loss == "ce":
        labels = rng.integers(0, outputs, 7)
        target_for_engine, target_by_hand = labels, np.eye(outputs)[labels]
    else:
        target_for_engine = target_by_hand = rng.uniform(0, 1, (7, outputs))

    cost = ENGINE_LOSS[loss](model(x), target_for_engine)
    cost.backward()

    W = [None] + [layer.weight.data.copy() for layer in model.layers]
    b = [None] + [layer.bias.data.copy() for layer in model.layers]
    names = [None] + [model.activation_name(l) for l in range(1, model.L + 1)]
    hand_cost, dC_dW, dC_db = backprop(W, b, names, x, target_by_hand, loss)

    np.testing.assert_allclose(cost.item(), hand_cost, rtol=1e-10, atol=1e-12)
    for l, layer in enumerate(model.layers, start=1):
        np.testing.assert_allclose(layer.weight.grad.data, dC_dW[l], rtol=1e-10, atol=1e-12,
                                   err_msg=f"∂C/∂W^{l}")
        np.testing.assert_allclose(layer.bias.grad.data, dC_db[l], rtol=1e-10, atol=1e-12,
                                   err_msg=f"∂C/∂b^{l}")


def test_the_hand_written_reference_agrees_with_finite_differences() -> None:
    """Guards the reference itself: a wrong BP2 here would make the test above meaningless."""
    rng = np.random.default_rng(7)
    W = [None, rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    b = [None, rng.normal(size=3), rng.normal(size=2)]
    names = [None, "tanh", "sigmoid"]
    x, t = rng.normal(size=(5, 2)), rng.uniform(size=(5, 2))
    _, dC_dW, _ = backprop(W, b, names, x, t, "half_sum")
    eps = 1e-6
    for j, k in np.ndindex(W[1].shape):
        plus = [w.copy() if w is not None else None for w in W]
        minus = [w.copy() if w is not None else None for w in W]
        plus[1][j, k] += eps
        minus[1][j, k] -= eps
        numeric = (backprop(plus, b, names, x, t, "half_sum")[0] - backprop(minus, b, names, x, t, "half_sum")[0])
        assert abs(numeric / (2 * eps) - dC_dW[1][j, k]) < 1e-7


def test_weight_j_k_connects_neuron_k_below_to_neuron_j_above() -> None:
    """weight[j, k] is w^l_{jk}: changing it moves only output j, by a^(l−1)_k per unit."""
    layer = nn.Linear(3, 2, rng=0)
    x = np.array([[0.5, -2.0, 4.0]])
    before = layer(x).data.copy()
    layer.weight.data[1, 2] += 1.0
    change = layer(x).data - before
    np.testing.assert_allclose(change, [[0.0, 4.0]])


def test_engine_gradient_of_mean_cost_is_the_average_of_per_example_gradients() -> None:
    rng = np.random.default_rng(3)
    model = nn.MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", rng=rng)
    x, t = rng.normal(size=(4, 2)), rng.uniform(size=(4, 1))
    F.mse(model(x), t).backward()
    batch_grad = model.layers[0].weight.grad.data.copy()
    per_example = []
    for i in range(4):
        model.zero_grad()
        F.mse(model(x[i:i + 1]), t[i:i + 1]).backward()
        per_example.append(model.layers[0].weight.grad.data.copy())
    np.testing.assert_allclose(batch_grad, np.mean(per_example, axis=0), rtol=1e-12)
    assert isinstance(model.layers[0].weight, cr.Tensor)
