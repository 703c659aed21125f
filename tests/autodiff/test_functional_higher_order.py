"""Second and higher derivatives: Hessians against closed forms, hvp against the Hessian, nested `grad`,
and `backward(create_graph=True)` followed by differentiating `.grad`.
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import assert_values, seeds, to_numpy
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr


@given(n=st.integers(1, 5), seed=seeds)
def test_hessian_of_sum_of_squares_times_sum(n: int, seed: int) -> None:
    # f(x) = (Σ x_i²)(Σ x_j)  ⇒  H_ij = 2 δ_ij Σx + 2 x_i + 2 x_j
    x = np.random.default_rng(seed).uniform(-2, 2, n)
    H = cr.hessian(lambda t: (t * t).sum() * t.sum())(x)
    expected = 2 * np.eye(n) * x.sum() + 2 * x[:, None] + 2 * x[None, :]
    assert_values(H, expected, rtol=1e-10, atol=1e-12)


@given(n=st.integers(1, 5), seed=seeds)
def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    H = cr.hessian(lambda t: t @ (A @ t))(x)
    assert_values(H, A + A.T, rtol=1e-10, atol=1e-12)


@given(n=st.integers(1, 6), seed=seeds)
def test_hessian_of_logsumexp_is_diag_p_minus_p_p_transpose(n: int, seed: int) -> None:
    x = np.random.default_rng(seed).uniform(-3, 3, n)
    p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    H = cr.hessian(lambda t: cr.logsumexp(t))(x)
    assert_values(H, np.diag(p) - np.outer(p, p), rtol=1e-9, atol=1e-12)


def test_hessian_of_sum_of_sines_is_minus_diag_sin() -> None:
    x = np.array([0.1, 1.0, -2.0, 3.0])
    assert_values(cr.hessian(lambda t: cr.sin(t).sum())(x), -np.diag(np.sin(x)), atol=1e-14)


def test_hessian_of_a_matrix_input_has_shape_x_shape_twice() -> None:
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    H = cr.hessian(lambda t: (t**3).sum())(x)
    assert np.shape(to_numpy(H)) == (2, 2, 2, 2)
    expected = np.zeros((2, 2, 2, 2))
    for i in range(2):
        for j in range(2):
            expected[i, j, i, j] = 6 * x[i, j]
    assert_values(H, expected)


def _network_cost(t):
    """A small smooth function of many primitives: a two-layer tanh network's squared output."""
    W1 = np.array([[0.5, -1.0, 0.25], [1.5, 0.3, -0.7]])
    z1 = W1 @ t
    a1 = cr.tanh(z1)
    return (cr.sigmoid(a1.sum()) + cr.exp(0.1 * t).sum() * cr.softplus(z1[0])) ** 2


@given(seed=seeds)
def test_hvp_equals_hessian_times_vector(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    H = to_numpy(cr.hessian(_network_cost)(x))
    assert_values(cr.hvp(_network_cost, x, v), H @ v, rtol=1e-9, atol=1e-12)


def test_hessian_is_symmetric_and_matches_finite_differences_of_the_gradient() -> None:
    x = np.array([0.3, -0.8, 1.2])
    H = to_numpy(cr.hessian(_network_cost)(x))
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)
    g = cr.grad(_network_cost)
    eps = 1e-5
    columns = [(to_numpy(g(x + eps * e)) - to_numpy(g(x - eps * e))) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(H, np.stack(columns, axis=1), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("x0", [-2.0, -0.4, 0.0, 0.9, 2.5])
def test_third_derivative_of_sin_by_nesting_grad_is_minus_cos(x0: float) -> None:
    d3 = cr.grad(cr.grad(cr.grad(lambda t: cr.sin(t))))
    np.testing.assert_allclose(to_numpy(d3(np.array(x0))), -np.cos(x0), rtol=1e-12, atol=1e-14)
    d4 = cr.grad(d3)
    np.testing.assert_allclose(to_numpy(d4(np.array(x0))), np.sin(x0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("f", "third"),
    [
        (lambda t: t**4, lambda x: 24 * x),
        (lambda t: cr.exp(2.0 * t), lambda x: 8 * np.exp(2 * x)),
        (lambda t: cr.tanh(t), lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
        (lambda t: cr.log(t), lambda x: 2 / x**3),
        (lambda t: t * cr.sigmoid(t), None),
    ],
    ids=["x^4", "exp(2x)", "tanh", "log", "x*sigmoid"],
)
def test_third_derivative_by_nested_grad_matches_closed_form_or_differences(f, third) -> None:
    d2 = cr.grad(cr.grad(f))
    d3 = cr.grad(d2)
    for x0 in (0.5, 1.3):
        got = float(to_numpy(d3(np.array(x0))))
        if third is not None:
            np.testing.assert_allclose(got, third(x0), rtol=1e-11)
        eps = 1e-5
        fd = (float(to_numpy(d2(np.array(x0 + eps)))) - float(to_numpy(d2(np.array(x0 - eps))))) / (2 * eps)
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_backward_with_create_graph_makes_grad_differentiable() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    np.testing.assert_allclose(first.item(), 12.0)
    x.grad = None
    first.backward()
    np.testing.assert_allclose(x.grad.item(), 12.0)  # d/dx 3x² = 6x = 12


def test_create_graph_gradient_of_a_vector_function_gives_hessian_rows() -> None:
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    (cr.sin(x) * x).sum().backward(create_graph=True)
    g = x.grad
    x.grad = None
    (g * np.array([1.0, 0.0, 0.0])).sum().backward()
    x0 = 0.5
    expected_first = 2 * np.cos(x0) - x0 * np.sin(x0)  # d²/dx² (x sin x)
    assert_values(x.grad, [expected_first, 0.0, 0.0], rtol=1e-12, atol=1e-15)


def test_gradient_of_gradient_norm_penalty_matches_closed_form() -> None:
    # f(w) = Σ (w ⊙ w ⊙ w); penalty(w) = |∇f|² = Σ 9 w⁴; ∇penalty = 36 w³
    w = np.array([0.5, -1.5, 2.0])
    penalty = lambda t: (cr.grad(lambda u: (u * u * u).sum())(t) ** 2).sum()
    assert_values(cr.grad(penalty)(w), 36 * w**3, rtol=1e-12)
