"""The JAX-style functional API: grad and value_and_grad (argnums int or tuple), vjp, jvp (true forward
mode, no reverse graph), jacobian in "rev" and "fwd" modes against finite differences, on NumPy arrays
and Tensors; and the chain-rule example d/dx exp(sin(x²)).
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import as_tuple, assert_values, seeds, to_numpy
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr


def _f(x, y):
    """f(x, y) = Σ sin(x) y² — scalar, two array arguments."""
    return (cr.sin(x) * y * y).sum()


X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.5, 0.5, -0.7])


def test_grad_defaults_to_the_first_argument() -> None:
    assert_values(cr.grad(_f)(X, Y), np.cos(X) * Y**2)


def test_grad_with_an_int_argnum_differentiates_that_argument() -> None:
    assert_values(cr.grad(_f, argnums=1)(X, Y), 2 * np.sin(X) * Y)


def test_grad_with_a_tuple_of_argnums_returns_a_tuple_of_gradients() -> None:
    gx, gy = cr.grad(_f, argnums=(0, 1))(X, Y)
    assert_values(gx, np.cos(X) * Y**2)
    assert_values(gy, 2 * np.sin(X) * Y)
    (gy_only,) = cr.grad(_f, argnums=(1,))(X, Y)
    assert_values(gy_only, 2 * np.sin(X) * Y)


def test_value_and_grad_returns_the_value_and_the_gradient() -> None:
    value, g = cr.value_and_grad(_f)(X, Y)
    np.testing.assert_allclose(float(to_numpy(value)), np.sum(np.sin(X) * Y**2), rtol=1e-14)
    assert_values(g, np.cos(X) * Y**2)
    value, (_gx, gy) = cr.value_and_grad(_f, argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(float(to_numpy(value)), np.sum(np.sin(X) * Y**2), rtol=1e-14)
    assert_values(gy, 2 * np.sin(X) * Y)


def test_grad_accepts_tensors_as_well_as_arrays_and_leaves_inputs_untouched() -> None:
    x = cr.tensor(X)
    assert_values(cr.grad(_f)(x, cr.tensor(Y)), np.cos(X) * Y**2)
    assert x.grad is None
    X_copy = X.copy()
    cr.grad(_f)(X, Y)
    np.testing.assert_array_equal(X, X_copy)


def test_grad_returns_numpy_arrays_for_numpy_inputs() -> None:
    g = cr.grad(_f)(X, Y)
    assert isinstance(g, (np.ndarray, cr.Tensor))
    assert np.asarray(g).shape == X.shape


def test_vjp_returns_the_output_and_a_function_of_the_cotangent() -> None:
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    out, vjp_fn = cr.vjp(lambda x: A @ cr.tanh(x), X)
    assert_values(out, A @ np.tanh(X))
    w = np.array([2.0, -1.0])
    (ct,) = as_tuple(vjp_fn(w))
    assert_values(ct, (A.T @ w) * (1 - np.tanh(X) ** 2))
    (ct2,) = as_tuple(vjp_fn(np.array([0.0, 1.0])))  # the same vjp function can be called again
    assert_values(ct2, A[1] * (1 - np.tanh(X) ** 2))


def test_vjp_of_two_primals_gives_one_cotangent_each() -> None:
    _out, vjp_fn = cr.vjp(lambda x, y: x * y, X, Y)
    cx, cy = as_tuple(vjp_fn(np.ones(3)))
    assert_values(cx, Y)
    assert_values(cy, X)


def test_jvp_is_true_forward_mode_and_builds_no_reverse_graph() -> None:
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    v = np.array([1.0, 0.0, -2.0])
    inside = []

    def f(x):
        inside.extend([x, cr.tanh(x)])
        inside.append(A @ inside[-1])
        return inside[-1]

    out, tangent = cr.jvp(f, (X,), (v,))
    assert_values(out, A @ np.tanh(X))
    assert_values(tangent, A @ ((1 - np.tanh(X) ** 2) * v))
    for t in inside:  # the input and every intermediate value: no reverse graph recorded
        assert not t.requires_grad and t.op is None
    for result in (out, tangent):
        if isinstance(result, cr.Tensor):
            assert result.op is None and not result.requires_grad


def test_jvp_evaluates_the_function_once_whatever_the_input_size() -> None:
    calls = []

    def f(x, y):
        calls.append(1)
        return cr.exp(x) * y

    x, y = np.linspace(-1.0, 1.0, 50), np.linspace(0.0, 2.0, 50)
    _, tangent = cr.jvp(f, (x, y), (np.ones(50), np.zeros(50)))
    assert len(calls) == 1
    assert_values(tangent, np.exp(x) * y)


def test_jvp_on_tensor_inputs_that_require_grad_still_adds_nothing_to_their_graph() -> None:
    x = cr.tensor(X, requires_grad=True)
    _out, tangent = cr.jvp(lambda t: (t * t).sum(), (x,), (np.ones(3),))
    np.testing.assert_allclose(float(to_numpy(tangent)), 2 * X.sum())
    assert x.grad is None


def _vector_function(x, y):
    return cr.stack([cr.sin(x[0]) * y[1], x[1] * x[2] + cr.exp(y[0]), cr.tanh(x.sum() * y[1])])


def _finite_difference_jacobian(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = eps
        e = e.reshape(x.shape)
        columns.append((to_numpy(f(cr.tensor(x + e))) - to_numpy(f(cr.tensor(x - e)))) / (2 * eps))
    return np.stack(columns, axis=-1).reshape(np.shape(columns[0]) + x.shape)


@given(seed=seeds)
def test_jacobian_rev_and_fwd_agree_with_each_other_and_with_finite_differences(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 2)
    jac_rev = to_numpy(cr.jacobian(_vector_function, mode="rev")(x, y))
    jac_fwd = to_numpy(cr.jacobian(_vector_function, mode="fwd")(x, y))
    assert jac_rev.shape == (3, 3)
    np.testing.assert_allclose(jac_rev, jac_fwd, rtol=1e-12, atol=1e-14)
    fd = _finite_difference_jacobian(lambda t: _vector_function(t, cr.tensor(y)), x)
    np.testing.assert_allclose(jac_rev, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_with_a_tuple_of_argnums_gives_one_block_per_argument(mode: str) -> None:
    x, y = np.array([0.1, 0.2, 0.3]), np.array([0.4, -0.5])
    jx, jy = cr.jacobian(_vector_function, argnums=(0, 1), mode=mode)(x, y)
    assert to_numpy(jx).shape == (3, 3) and to_numpy(jy).shape == (3, 2)
    fd_y = _finite_difference_jacobian(lambda t: _vector_function(cr.tensor(x), t), y)
    np.testing.assert_allclose(to_numpy(jy), fd_y, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_a_matrix_function_has_shape_out_shape_plus_in_shape(mode: str) -> None:
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    f = lambda x: cr.tanh(x @ W.T)
    x = np.array([[0.1, -0.2], [0.3, 0.05]])
    jac = to_numpy(cr.jacobian(f, mode=mode)(x))
    assert jac.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(jac, _finite_difference_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_scalar_function_is_the_gradient() -> None:
    for mode in ("rev", "fwd"):
        assert_values(cr.jacobian(lambda x: _f(x, cr.tensor(Y)), mode=mode)(X), np.cos(X) * Y**2)


def test_hessian_and_hvp_accept_tensors() -> None:
    x = cr.tensor(np.array([1.0, 2.0]))
    H = cr.hessian(lambda t: (t**3).sum())(x)
    assert_values(H, np.diag(6 * np.array([1.0, 2.0])))
    assert_values(cr.hvp(lambda t: (t**3).sum(), x, np.array([1.0, -1.0])), [6.0, -12.0])


@pytest.mark.parametrize("x0", [-2.0, -0.75, 0.0, 0.5, 1.3, 3.0])
def test_chain_rule_example_derivative_of_exp_sin_x_squared(x0: float) -> None:
    # d/dx exp(sin(x²)) = 2x · cos(x²) · exp(sin(x²))
    expected = 2 * x0 * np.cos(x0**2) * np.exp(np.sin(x0**2))
    f = lambda x: cr.exp(cr.sin(x**2))
    np.testing.assert_allclose(float(to_numpy(cr.grad(f)(np.array(x0)))), expected, rtol=1e-13, atol=1e-15)
    x = cr.tensor(x0, requires_grad=True)
    f(x).backward()
    np.testing.assert_allclose(x.grad.item(), expected, rtol=1e-13, atol=1e-15)
    _, tangent = cr.jvp(f, (np.array(x0),), (np.array(1.0),))
    np.testing.assert_allclose(float(to_numpy(tangent)), expected, rtol=1e-13, atol=1e-15)


@given(x0=st.floats(-3.0, 3.0))
def test_chain_rule_example_at_any_point_agrees_with_a_central_difference(x0: float) -> None:
    f = lambda x: cr.exp(cr.sin(x**2))
    eps = 1e-6
    fd = (np.exp(np.sin((x0 + eps) ** 2)) - np.exp(np.sin((x0 - eps) ** 2))) / (2 * eps)
    np.testing.assert_allclose(float(to_numpy(cr.grad(f)(np.array(x0)))), fd, rtol=1e-6, atol=1e-7)


def test_forward_mode_jacobian_of_a_gradient_is_the_hessian() -> None:
    f = lambda t: (t**3).sum() + cr.sin(t[0] * t[1])
    x = np.array([1.0, 2.0])
    hessian_rev = to_numpy(cr.jacobian(cr.grad(f), mode="rev")(x))
    hessian_fwd = to_numpy(cr.jacobian(cr.grad(f), mode="fwd")(x))
    s, c = np.sin(x[0] * x[1]), np.cos(x[0] * x[1])
    expected = np.array([
        [6 * x[0] - x[1] ** 2 * s, c - x[0] * x[1] * s],
        [c - x[0] * x[1] * s, 6 * x[1] - x[0] ** 2 * s],
    ])
    np.testing.assert_allclose(hessian_rev, expected, rtol=1e-12)
    np.testing.assert_allclose(hessian_fwd, expected, rtol=1e-12)


def test_jvp_of_a_gradient_is_a_hessian_vector_product() -> None:
    f = lambda t: (t**3).sum()
    x, v = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    gradient, hv = cr.jvp(cr.grad(f), (x,), (v,))
    assert_values(gradient, 3 * x**2)
    assert_values(hv, 6 * x * v)


def test_grad_of_a_function_that_ignores_its_argument_is_zero() -> None:
    g = cr.grad(lambda x, y: (y * y).sum())(X, Y)
    assert_values(g, np.zeros(3))
    gx, gy = cr.grad(lambda x, y: (y * y).sum(), argnums=(0, 1))(X, Y)
    assert_values(gx, np.zeros(3))
    assert_values(gy, 2 * Y)


def test_grad_of_integer_input_is_taken_at_the_float_value() -> None:
    assert_values(cr.grad(lambda t: (t * t).sum())(np.array([1, 2])), [2.0, 4.0])


def test_transforms_accept_plain_python_floats() -> None:
    np.testing.assert_allclose(float(to_numpy(cr.grad(cr.sin)(1.5))), np.cos(1.5), rtol=1e-15)
    value, tangent = cr.jvp(cr.sin, (1.5,), (2.0,))
    np.testing.assert_allclose([float(to_numpy(value)), float(to_numpy(tangent))], [np.sin(1.5), 2 * np.cos(1.5)])
    np.testing.assert_allclose(float(to_numpy(cr.hessian(lambda t: t**3)(2.0))), 12.0)


def test_gradcheck_leaves_the_callers_arrays_unchanged() -> None:
    x = np.array([1.0, 2.0])
    assert cr.gradcheck(lambda t: (t * t).sum(), [x]) is True
    np.testing.assert_array_equal(x, [1.0, 2.0])
