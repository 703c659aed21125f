"""Every primitive's derivative rule is itself differentiable: for g(x) = Σ w ⊙ f(x), the Hessian-vector
product by reverse-over-reverse (`hvp`) equals central differences of the first-order gradient.

A rule that used a NumPy constant where it needed a chainrule operation would pass every first-order test
and fail here.
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import to_numpy

import chainrule as cr

# name -> (f of one flat float64 vector of length 6, a point inside f's smooth domain)
RNG = np.random.default_rng(12)
POSITIVE = RNG.uniform(0.5, 2.0, 6)
GENERAL = np.array([0.7, -1.1, 0.4, 1.6, -0.3, 0.9])
M = RNG.uniform(-1, 1, (3, 2))

CASES = {
    "exp": (cr.exp, GENERAL),
    "log": (cr.log, POSITIVE),
    "log1p": (cr.log1p, POSITIVE),
    "expm1": (cr.expm1, GENERAL),
    "sqrt": (cr.sqrt, POSITIVE),
    "square": (cr.square, GENERAL),
    "sin": (cr.sin, GENERAL),
    "cos": (cr.cos, GENERAL),
    "tan": (cr.tan, GENERAL * 0.5),
    "tanh": (cr.tanh, GENERAL),
    "sigmoid": (cr.sigmoid, GENERAL),
    "softplus": (cr.softplus, GENERAL),
    "relu times x": (lambda t: cr.relu(t) * t, GENERAL),
    "leaky_relu times x": (lambda t: cr.leaky_relu(t, 0.2) * t, GENERAL),
    "abs times x": (lambda t: cr.abs(t) * t, GENERAL),
    "pow": (lambda t: t[:3] ** t[3:], POSITIVE),
    "div": (lambda t: t[:3] / t[3:], POSITIVE),
    "mul": (lambda t: t[:3] * t[3:], GENERAL),
    "maximum times x": (lambda t: cr.maximum(t[:3], t[3:]) * t[:3], GENERAL),
    "minimum times x": (lambda t: cr.minimum(t[:3], t[3:]) * t[3:], GENERAL),
    "where": (lambda t: cr.where(np.array([True, False, True]), t[:3] ** 2, t[3:] ** 3), GENERAL),
    "clip times x": (lambda t: cr.clip(t, -0.5, 1.0) * t, GENERAL),
    "sum": (lambda t: t.reshape((2, 3)).sum(axis=1) ** 2, GENERAL),
    "mean": (lambda t: t.reshape((2, 3)).mean(axis=0) ** 2, GENERAL),
    "prod": (lambda t: t.reshape((2, 3)).prod(axis=1), GENERAL),
    "prod of all": (lambda t: t.prod(), GENERAL),
    "max times x": (lambda t: t.reshape((2, 3)).max(axis=1) * t[:2], GENERAL),
    "min times x": (lambda t: t.reshape((2, 3)).min(axis=0) * t[3:], GENERAL),
    "var": (lambda t: t.reshape((2, 3)).var(axis=1), GENERAL),
    "std": (lambda t: t.reshape((3, 2)).std(axis=0), GENERAL),
    "logsumexp": (lambda t: cr.logsumexp(t.reshape((2, 3)), axis=-1), GENERAL),
    "softmax": (lambda t: cr.softmax(t.reshape((2, 3)), axis=0), GENERAL),
    "log_softmax": (lambda t: cr.log_softmax(t.reshape((2, 3))), GENERAL),
    "matmul": (lambda t: t.reshape((2, 3)) @ t.reshape((3, 2)), GENERAL),
    "matmul vector": (lambda t: t[:3] @ (t.reshape((3, 2)) * t[:2]), GENERAL),
    "dot": (lambda t: cr.dot(t[:3], t[3:]), GENERAL),
    "outer": (lambda t: cr.outer(t[:3], t[3:]), GENERAL),
    "einsum": (lambda t: cr.einsum("ij,jk->ik", t.reshape((2, 3)), t.reshape((3, 2))), GENERAL),
    "linear": (lambda t: cr.linear(t.reshape((2, 3)), t.reshape((2, 3)) * 0.5, t[:2]) ** 2, GENERAL),
    "softmax_cross_entropy": (lambda t: cr.softmax_cross_entropy(t.reshape((2, 3)), np.array([2, 0])), GENERAL),
    "transpose and index": (lambda t: (t.reshape((2, 3)).T[np.array([0, 0, 2])] ** 2), GENERAL),
    "concatenate and stack": (
        lambda t: cr.stack([cr.concatenate([t[:2], t[4:]]), t[1:5] ** 2]) ** 2, GENERAL),
    "broadcast_to": (lambda t: cr.broadcast_to(t[:3], (2, 3)) * t.reshape((2, 3)), GENERAL),
    "split": (lambda t: cr.split(t, 2)[0] * cr.split(t, 2)[1], GENERAL),
    "matrix constant": (lambda t: M @ cr.tanh(t[:2]), GENERAL),
    "broadcasting": (lambda t: cr.sin(t[:3].reshape((3, 1)) * t[3:].reshape((1, 3)) + t[3:]), GENERAL),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_vector_product_of_every_primitive_matches_differences_of_its_gradient(name: str) -> None:
    f, x = CASES[name]
    rng = np.random.default_rng(sorted(CASES).index(name))
    weights = rng.uniform(0.5, 1.5, np.shape(to_numpy(f(cr.tensor(x)))))
    g = lambda t: (f(t) * weights).sum()
    v = rng.standard_normal(x.shape)
    gradient = cr.grad(g)
    eps = 1e-5
    expected = (to_numpy(gradient(x + eps * v)) - to_numpy(gradient(x - eps * v))) / (2 * eps)
    np.testing.assert_allclose(to_numpy(cr.hvp(g, x, v)), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_over_reverse_hessian_vector_product_of_every_primitive_agrees(name: str) -> None:
    f, x = CASES[name]
    rng = np.random.default_rng(sorted(CASES).index(name))
    weights = rng.uniform(0.5, 1.5, np.shape(to_numpy(f(cr.tensor(x)))))
    g = lambda t: (f(t) * weights).sum()
    v = rng.standard_normal(x.shape)
    gradient = cr.grad(g)
    eps = 1e-5
    expected = (to_numpy(gradient(x + eps * v)) - to_numpy(gradient(x - eps * v))) / (2 * eps)
    value, tangent = cr.jvp(gradient, (x,), (v,))
    np.testing.assert_allclose(to_numpy(value), to_numpy(gradient(x)), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(to_numpy(tangent), expected, rtol=1e-6, atol=1e-7)
