"""Dtype rules: Python floats give float64, float32 stays float32 (also with Python scalars and in
gradients), integer data requiring grad becomes float64, and two tensors promote as NumPy does.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_python_floats_give_float64() -> None:
    assert cr.tensor(1.5).dtype == np.float64
    assert cr.tensor([1.0, 2.0]).dtype == np.float64


def test_float32_data_stays_float32() -> None:
    assert cr.tensor(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True).dtype == np.float32


def test_dtype_argument_casts_the_data() -> None:
    x = cr.tensor([1.0, 2.0], dtype=np.float32)
    assert x.dtype == np.float32 and x.data.dtype == np.float32


def test_integer_data_without_grad_keeps_numpy_dtype() -> None:
    assert cr.tensor(np.array([1, 2], dtype=np.int64)).dtype == np.int64


@pytest.mark.parametrize("data", [[1, 2, 3], np.array([1, 2], dtype=np.int32), 7])
def test_integer_data_requiring_grad_becomes_float64(data) -> None:
    x = cr.tensor(data, requires_grad=True)
    assert x.dtype == np.float64
    (x * x).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, 2 * np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t * 2.0,
        lambda t: 2.0 * t,
        lambda t: t + 1,
        lambda t: 1.0 - t,
        lambda t: t / 3.0,
        lambda t: 3.0 / t,
        lambda t: t**2.0,
        lambda t: t**2,
        lambda t: 2.0**t,
        lambda t: -t,
        lambda t: cr.exp(t),
        lambda t: cr.sigmoid(t),
        lambda t: cr.softplus(t),
        lambda t: cr.leaky_relu(t),
        lambda t: cr.maximum(t, 0.5),
        lambda t: cr.clip(t, 0.0, 0.5),
        lambda t: cr.where(t.data > 0.5, t, 0.0),
        lambda t: t.mean(axis=0),
        lambda t: t.var(),
        lambda t: t.std(axis=1),
        lambda t: cr.logsumexp(t, axis=1),
        lambda t: cr.softmax(t),
        lambda t: cr.log_softmax(t),
        lambda t: t @ t.T,
        lambda t: t[np.array([0, 0])],
        lambda t: cr.concatenate([t, t], axis=0),
        lambda t: cr.stack([t, t]),
        lambda t: cr.linear(t, t, t[0]),
        lambda t: cr.softmax_cross_entropy(t, np.array([0, 1])),
    ],
)
def test_float32_stays_float32_through_operations_with_python_scalars_and_in_gradients(op) -> None:
    x = cr.tensor(np.array([[0.25, 0.75], [1.5, 0.5]], dtype=np.float32), requires_grad=True)
    y = op(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("a", "b"),
    [(np.float32, np.float64), (np.float64, np.float32), (np.float32, np.float32), (np.float64, np.float64)],
)
def test_two_tensors_promote_as_numpy_does(a, b) -> None:
    x = cr.tensor(np.ones(2, dtype=a), requires_grad=True)
    y = cr.tensor(np.ones(2, dtype=b), requires_grad=True)
    z = x * y + x
    assert z.dtype == np.result_type(a, b)
    z.sum().backward()
    assert x.grad.dtype == a and y.grad.dtype == b


def test_float32_tensor_times_float64_array_promotes_like_numpy() -> None:
    x = cr.tensor(np.ones(2, dtype=np.float32))
    assert (x * np.ones(2)).dtype == np.result_type(np.float32, np.float64)


def test_float32_gradients_of_a_deep_composition_stay_float32() -> None:
    rng = np.random.default_rng(0)
    W = cr.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    x = cr.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    loss = cr.softmax_cross_entropy(cr.tanh(x @ W.T) * 2.0, np.array([0, 1, 2, 0, 1]))
    loss.backward()
    assert loss.dtype == np.float32 and W.grad.dtype == np.float32


@pytest.mark.parametrize(
    "transform",
    [
        lambda f, x: cr.grad(lambda t: f(t).sum())(x),
        lambda f, x: cr.value_and_grad(lambda t: f(t).sum())(x)[0],
        lambda f, x: cr.jvp(f, (x,), (np.ones_like(x),))[0],
        lambda f, x: cr.jvp(f, (x,), (np.ones_like(x),))[1],
        lambda f, x: cr.vjp(f, x)[0],
        lambda f, x: cr.vjp(f, x)[1](np.ones_like(x))[0],
        lambda f, x: cr.jacobian(f, mode="rev")(x),
        lambda f, x: cr.jacobian(f, mode="fwd")(x),
        lambda f, x: cr.hessian(lambda t: f(t).sum())(x),
        lambda f, x: cr.hvp(lambda t: f(t).sum(), x, np.ones_like(x)),
    ],
    ids=["grad", "value", "jvp value", "jvp tangent", "vjp value", "vjp cotangent", "jacobian rev",
         "jacobian fwd", "hessian", "hvp"],
)
def test_functional_transforms_of_float32_inputs_return_float32(transform) -> None:
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    result = transform(lambda t: cr.tanh(t) * 2.0 + t**2, x)
    assert np.asarray(result.data if isinstance(result, cr.Tensor) else result).dtype == np.float32
