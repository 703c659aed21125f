"""chainrule against PyTorch: random expression trees of primitives (a seeded generator), values and
gradients, in float64 (tight tolerances) and float32 (float32 tolerances); plus the fused layers.
These tests skip with the reason when torch is missing, and fail instead under CHAINRULE_REQUIRE_TORCH=1.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

LEAF_SHAPES = [(3, 4), (4,), (3, 1)]
UNARY = ["sin", "cos", "tanh", "sigmoid", "softplus", "exp_tanh", "log1p_square", "sqrt_one_plus_square",
         "abs", "neg", "relu", "leaky_relu", "cube_over", "softmax", "log_softmax"]
BINARY = ["add", "sub", "mul", "div_safe", "matmul_last"]
# Exact zeros are common (x - x, the variance of one element); shifting keeps the kinks of abs and relu away
# from them, so the two libraries' conventions for a derivative at a kink never matter.
KINK_SHIFT = 0.3141
REDUCE = ["sum_last", "mean_first", "logsumexp_last", "var_last", "std_last_safe"]


def random_expression(rng: np.random.Generator, depth: int) -> tuple:
    """A random expression tree: ("leaf", i) or (op, child, ...), at most `depth` operations deep."""
    if depth == 0 or rng.random() < 0.2:
        return ("leaf", int(rng.integers(len(LEAF_SHAPES))))
    kind = rng.choice(["unary", "binary", "reduce"], p=[0.45, 0.4, 0.15])
    if kind == "unary":
        return (str(rng.choice(UNARY)), random_expression(rng, depth - 1))
    if kind == "binary":
        return (str(rng.choice(BINARY)), random_expression(rng, depth - 1), random_expression(rng, depth - 1))
    return (str(rng.choice(REDUCE)), random_expression(rng, depth - 1))


def chainrule_ops() -> dict:
    """Each op of the generator written with chainrule."""
    return {
        "sin": cr.sin, "cos": cr.cos, "tanh": cr.tanh, "sigmoid": cr.sigmoid, "softplus": cr.softplus,
        "exp_tanh": lambda x: cr.exp(cr.tanh(x)),
        "log1p_square": lambda x: cr.log1p(cr.square(x)),
        "sqrt_one_plus_square": lambda x: cr.sqrt(1.0 + x * x),
        "abs": lambda x: cr.abs(x + KINK_SHIFT), "neg": lambda x: -x,
        "relu": lambda x: cr.relu(x + KINK_SHIFT), "leaky_relu": lambda x: cr.leaky_relu(x + KINK_SHIFT, 0.1),
        "cube_over": lambda x: x**3 / (1.0 + x**2),
        "softmax": lambda x: cr.softmax(x, axis=-1), "log_softmax": lambda x: cr.log_softmax(x, axis=-1),
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div_safe": lambda x, y: x / (1.0 + y * y),
        "matmul_last": lambda x, y: (x @ _mixing(x.shape[-1], x.dtype)) + y,
        "sum_last": lambda x: x.sum(axis=-1, keepdims=True),
        "mean_first": lambda x: x.mean(axis=0, keepdims=True),
        "logsumexp_last": lambda x: cr.logsumexp(x, axis=-1, keepdims=True),
        "var_last": lambda x: x.var(axis=-1, keepdims=True),
        "std_last_safe": lambda x: cr.sqrt(x.var(axis=-1, keepdims=True) + 1.0),
    }


def torch_ops(torch) -> dict:
    """The same ops written with PyTorch."""
    F = torch.nn.functional
    return {
        "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": F.softplus,
        "exp_tanh": lambda x: torch.exp(torch.tanh(x)),
        "log1p_square": lambda x: torch.log1p(torch.square(x)),
        "sqrt_one_plus_square": lambda x: torch.sqrt(1.0 + x * x),
        "abs": lambda x: torch.abs(x + KINK_SHIFT), "neg": lambda x: -x,
        "relu": lambda x: torch.relu(x + KINK_SHIFT), "leaky_relu": lambda x: F.leaky_relu(x + KINK_SHIFT, 0.1),
        "cube_over": lambda x: x**3 / (1.0 + x**2),
        "softmax": lambda x: torch.softmax(x, dim=-1), "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div_safe": lambda x, y: x / (1.0 + y * y),
        "matmul_last": lambda x, y: (x @ torch.from_numpy(_mixing(x.shape[-1], _numpy_dtype(x)))) + y,
        "sum_last": lambda x: x.sum(dim=-1, keepdim=True),
        "mean_first": lambda x: x.mean(dim=0, keepdim=True),
        "logsumexp_last": lambda x: torch.logsumexp(x, dim=-1, keepdim=True),
        "var_last": lambda x: x.var(dim=-1, keepdim=True, correction=0),
        "std_last_safe": lambda x: torch.sqrt(x.var(dim=-1, keepdim=True, correction=0) + 1.0),
    }


def _numpy_dtype(x) -> np.dtype:
    return np.dtype(str(x.dtype).replace("torch.", ""))


def _mixing(n: int, dtype) -> np.ndarray:
    """A fixed n×n matrix for the matmul node."""
    return (np.arange(n * n).reshape(n, n) % 5 - 2.0).astype(dtype) / n


def evaluate(tree: tuple, ops: dict, leaves: list):
    """Evaluate an expression tree bottom-up with the given ops (no recursion limit issue: depth ≤ 5)."""
    name, *children = tree
    if name == "leaf":
        return leaves[children[0]]
    return ops[name](*[evaluate(child, ops, leaves) for child in children])


def _describe(tree: tuple) -> str:
    name, *children = tree
    if name == "leaf":
        return "abc"[children[0]]
    return f"{name}({', '.join(_describe(c) for c in children)})"


def _compare(a: np.ndarray, b: np.ndarray, dtype, what: str) -> None:
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (2e-4, 2e-5)
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("seed", range(40))
def test_random_composition_matches_pytorch_in_value_and_gradient(torch, seed: int, dtype) -> None:
    rng = np.random.default_rng(seed)
    tree = random_expression(rng, depth=4)
    leaves_np = [rng.uniform(-1.5, 1.5, shape).astype(dtype) for shape in LEAF_SHAPES]
    leaves_cr = [cr.tensor(x, requires_grad=True) for x in leaves_np]
    leaves_pt = [torch.tensor(x, requires_grad=True) for x in leaves_np]
    out_cr = evaluate(tree, chainrule_ops(), leaves_cr)
    out_pt = evaluate(tree, torch_ops(torch), leaves_pt)
    if not isinstance(out_cr, cr.Tensor):  # the tree is a single leaf
        out_cr = out_cr * 1.0
        out_pt = out_pt * 1.0
    what = _describe(tree)
    assert out_cr.shape == tuple(out_pt.shape), what
    assert out_cr.dtype == dtype, what
    _compare(out_cr.data, out_pt.detach().numpy(), dtype, f"value of {what}")
    weights = rng.uniform(0.5, 1.5, out_cr.shape).astype(dtype)
    (out_cr * weights).sum().backward()
    (out_pt * torch.from_numpy(weights)).sum().backward()
    for name, x_cr, x_pt in zip("abc", leaves_cr, leaves_pt):
        g_cr = np.zeros_like(x_cr.data) if x_cr.grad is None else x_cr.grad.data
        g_pt = np.zeros_like(x_cr.data) if x_pt.grad is None else x_pt.grad.numpy()
        if x_cr.grad is not None:
            assert x_cr.grad.dtype == dtype, what
        _compare(g_cr, g_pt, dtype, f"gradient of {what} with respect to {name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_matches_pytorch_cross_entropy(torch, reduction: str, dtype) -> None:
    rng = np.random.default_rng(1)
    logits_np = rng.normal(0, 3, (6, 5)).astype(dtype)
    labels = rng.integers(0, 5, 6)
    logits_cr = cr.tensor(logits_np, requires_grad=True)
    logits_pt = torch.tensor(logits_np, requires_grad=True)
    loss_cr = cr.softmax_cross_entropy(logits_cr, labels, reduction=reduction)
    loss_pt = torch.nn.functional.cross_entropy(logits_pt, torch.from_numpy(labels), reduction=reduction)
    _compare(loss_cr.data, loss_pt.detach().numpy(), dtype, "loss")
    weights = np.linspace(0.5, 1.5, loss_cr.size).reshape(loss_cr.shape).astype(dtype)
    (loss_cr * weights).sum().backward()
    (loss_pt * torch.from_numpy(weights)).sum().backward()
    _compare(logits_cr.grad.data, logits_pt.grad.numpy(), dtype, "gradient")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_two_layer_network_gradients_match_pytorch(torch, dtype) -> None:
    rng = np.random.default_rng(2)
    arrays = {
        "x": rng.normal(size=(8, 3)), "W1": rng.normal(size=(5, 3)), "b1": rng.normal(size=5),
        "W2": rng.normal(size=(2, 5)), "b2": rng.normal(size=2),
    }
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}
    labels = rng.integers(0, 2, 8)
    p_cr = {k: cr.tensor(v, requires_grad=True) for k, v in arrays.items()}
    p_pt = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    a1 = cr.sigmoid(cr.linear(p_cr["x"], p_cr["W1"], p_cr["b1"]))
    loss_cr = cr.softmax_cross_entropy(cr.linear(a1, p_cr["W2"], p_cr["b2"]), labels)
    F = torch.nn.functional
    a1_pt = torch.sigmoid(F.linear(p_pt["x"], p_pt["W1"], p_pt["b1"]))
    loss_pt = F.cross_entropy(F.linear(a1_pt, p_pt["W2"], p_pt["b2"]), torch.from_numpy(labels))
    loss_cr.backward()
    loss_pt.backward()
    _compare(loss_cr.data, loss_pt.detach().numpy(), dtype, "loss")
    for k in arrays:
        _compare(p_cr[k].grad.data, p_pt[k].grad.numpy(), dtype, f"gradient of {k}")


def test_second_derivatives_match_pytorch_double_backward(torch) -> None:
    x_np = np.array([0.3, -1.1, 0.8])
    v = np.array([1.0, 0.5, -2.0])
    f_cr = lambda t: (cr.tanh(t) * cr.softplus(t)).sum() * cr.logsumexp(t)
    hv_cr = cr.hvp(f_cr, x_np, v)
    x_pt = torch.tensor(x_np, requires_grad=True)
    y = (torch.tanh(x_pt) * torch.nn.functional.softplus(x_pt)).sum() * torch.logsumexp(x_pt, dim=0)
    (g,) = torch.autograd.grad(y, x_pt, create_graph=True)
    (hv_pt,) = torch.autograd.grad(g, x_pt, grad_outputs=torch.from_numpy(v))
    hv = hv_cr.data if isinstance(hv_cr, cr.Tensor) else np.asarray(hv_cr)
    np.testing.assert_allclose(hv, hv_pt.numpy(), rtol=1e-10, atol=1e-12)
