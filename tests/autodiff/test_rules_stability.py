"""Numerical stability: sigmoid, softplus, logsumexp, log_softmax, softmax (and the fused cross-entropy)
give finite values and finite gradients for inputs of magnitude 1e4, in float32 and float64, with no NumPy
warning of any kind (warnings are errors and NumPy floating-point errors raise in these tests).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import chainrule as cr

BIG = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4])


@contextmanager
def strict_numpy() -> Iterator[None]:
    """Turn every warning into an error and make NumPy raise on overflow, underflow, invalid and divide."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


def _forward_and_backward(f, dtype) -> tuple[np.ndarray, np.ndarray]:
    with strict_numpy():
        x = cr.tensor(BIG.astype(dtype), requires_grad=True)
        y = f(x)
        (y * np.linspace(0.5, 1.5, y.size).reshape(y.shape).astype(dtype)).sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    return y.data, x.grad.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_saturates_to_exact_limits_without_warnings(dtype) -> None:
    y, g = _forward_and_backward(cr.sigmoid, dtype)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[3] == 0.5
    assert g[0] == 0.0 and g[-1] == 0.0
    np.testing.assert_allclose(y[2], 1 / (1 + np.e), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_is_x_for_large_x_and_zero_for_very_negative_x(dtype) -> None:
    y, g = _forward_and_backward(cr.softplus, dtype)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
    assert y[-1] == 1e4 and y[0] == 0.0
    np.testing.assert_allclose(y[3], np.log(2.0), rtol=1e-6)
    weights = np.linspace(0.5, 1.5, BIG.size)
    np.testing.assert_allclose(g[-1], weights[-1], rtol=1e-6)  # softplus' = sigmoid → 1
    assert g[0] == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_of_huge_inputs_is_finite_and_its_gradient_is_softmax(dtype) -> None:
    y, g = _forward_and_backward(lambda t: cr.logsumexp(t), dtype)
    assert np.isfinite(y) and np.all(np.isfinite(g))
    np.testing.assert_allclose(y, 1e4, rtol=1e-7)
    expected = np.zeros(BIG.size)
    expected[-1] = 0.5  # the single weight (0.5 for the scalar output) times softmax = one-hot
    np.testing.assert_allclose(g, expected, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_of_huge_inputs_is_finite(dtype) -> None:
    y, g = _forward_and_backward(lambda t: cr.log_softmax(t), dtype)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(y, BIG - 1e4, rtol=1e-6)
    weights = np.linspace(0.5, 1.5, BIG.size)
    expected = weights.copy()
    expected[-1] -= weights.sum()  # grad of Σ w·log_softmax = w − softmax·Σw
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_inputs_is_finite_and_one_hot(dtype) -> None:
    y, g = _forward_and_backward(lambda t: cr.softmax(t), dtype)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(y, np.eye(BIG.size)[-1], atol=1e-7)
    np.testing.assert_allclose(g, np.zeros(BIG.size), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_of_huge_logits_is_finite(dtype) -> None:
    with strict_numpy():
        logits = cr.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=dtype), requires_grad=True)
        loss = cr.softmax_cross_entropy(logits, np.array([1, 1]))
        loss.backward()
    np.testing.assert_allclose(loss.item(), 2e4 / 2, rtol=1e-6)
    assert np.all(np.isfinite(logits.grad.data))
    np.testing.assert_allclose(logits.grad.data, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_functions_on_a_2d_batch_along_each_axis_give_no_warnings(dtype) -> None:
    x_np = np.array([[1e4, -1e4, 3.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    with strict_numpy():
        for axis in (0, 1, -1):
            x = cr.tensor(x_np, requires_grad=True)
            total = (
                cr.logsumexp(x, axis=axis).sum()
                + cr.log_softmax(x, axis=axis).sum()
                + (cr.softmax(x, axis=axis) * x).sum()
                + cr.sigmoid(x).sum()
                + cr.softplus(x).sum()
            )
            total.backward()
            assert np.isfinite(total.item())
            assert np.all(np.isfinite(x.grad.data))
