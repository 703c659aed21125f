"""Elementwise primitives and binary operators: values against NumPy, gradcheck, forward/reverse agreement.

Shapes come from hypothesis (0-d, size-1 and broadcasting); values from a seeded generator, kept away from
kinks (abs, relu, sign at 0) and singularities (log, sqrt at 0; tan at ±π/2; division by 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import (
    assert_forward_matches_reverse,
    assert_gradcheck,
    assert_values,
    away_from_zero,
    check_primitive,
    seeds,
    shapes,
    to_numpy,
    uniform,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# name -> (NumPy reference, input generator (rng, shape) -> array inside the function's smooth domain)
UNARY = {
    "exp": (np.exp, uniform),
    "log": (np.log, lambda rng, s: rng.uniform(0.2, 3.0, s)),
    "log1p": (np.log1p, lambda rng, s: rng.uniform(-0.8, 3.0, s)),
    "expm1": (np.expm1, uniform),
    "sqrt": (np.sqrt, lambda rng, s: rng.uniform(0.2, 3.0, s)),
    "square": (np.square, uniform),
    "sin": (np.sin, uniform),
    "cos": (np.cos, uniform),
    "tan": (np.tan, lambda rng, s: rng.uniform(-1.2, 1.2, s)),
    "tanh": (np.tanh, uniform),
    "sigmoid": (_sigmoid, uniform),
    "relu": (lambda x: np.maximum(x, 0.0), away_from_zero),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.01 * x), away_from_zero),
    "softplus": (lambda x: np.logaddexp(0.0, x), uniform),
    "abs": (np.abs, away_from_zero),
    "sign": (np.sign, away_from_zero),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=seeds)
def test_unary_primitive_matches_numpy_and_its_gradients_are_right(name: str, shape: tuple, seed: int) -> None:
    reference, generate = UNARY[name]
    x = generate(np.random.default_rng(seed), shape)
    check_primitive(getattr(cr, name), reference, [x])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_primitive_as_a_method_equals_the_function(name: str) -> None:
    reference, generate = UNARY[name]
    x = cr.tensor(generate(np.random.default_rng(0), (2, 3)))
    assert_values(getattr(x, name)(), getattr(cr, name)(x))
    assert_values(getattr(x, name)(), reference(x.data))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_primitive_on_a_plain_numpy_array_returns_an_array(name: str) -> None:
    reference, generate = UNARY[name]
    x = generate(np.random.default_rng(0), (3,))
    result = getattr(cr, name)(x)
    assert isinstance(result, np.ndarray)
    np.testing.assert_allclose(result, reference(x), rtol=1e-12)


def test_leaky_relu_uses_the_given_slope_for_negative_inputs() -> None:
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    check_primitive(lambda t: cr.leaky_relu(t, slope=0.2), lambda a: np.where(a > 0, a, 0.2 * a), [x])
    t = cr.tensor(x, requires_grad=True)
    cr.leaky_relu(t, slope=0.2).sum().backward()
    assert_values(t.grad, [0.2, 0.2, 1.0, 1.0])


def test_relu_gradient_is_one_for_positive_and_zero_for_negative_inputs() -> None:
    x = cr.tensor([-1.5, -0.1, 0.1, 2.0], requires_grad=True)
    cr.relu(x).sum().backward()
    assert_values(x.grad, [0.0, 0.0, 1.0, 1.0])


def test_sign_has_zero_gradient_everywhere_off_zero() -> None:
    x = cr.tensor([-3.0, -0.2, 0.7], requires_grad=True)
    (cr.sign(x) * 5.0).sum().backward()
    assert_values(x.grad, [0.0, 0.0, 0.0])


@st.composite
def _two_broadcastable(draw: st.DrawFn) -> tuple[tuple, tuple]:
    shapes_ = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    return shapes_.input_shapes


BINARY = {
    "add": (lambda a, b: a + b, np.add, uniform, uniform),
    "sub": (lambda a, b: a - b, np.subtract, uniform, uniform),
    "mul": (lambda a, b: a * b, np.multiply, uniform, uniform),
    "div": (lambda a, b: a / b, np.divide, uniform, away_from_zero),
    "pow": (lambda a, b: a**b, np.power, lambda rng, s: rng.uniform(0.3, 2.5, s), uniform),
    "maximum": (cr.maximum, np.maximum, uniform, uniform),
    "minimum": (cr.minimum, np.minimum, uniform, uniform),
}


def _separate_from(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift b until no broadcast pair (a, b) is within 1e-2: no ties for maximum/minimum's kink."""
    for _ in range(1000):
        if np.min(np.abs(np.subtract(a, b)), initial=1.0) >= 1e-2:
            return b
        b = b + rng.uniform(0.05, 0.1, size=b.shape)
    raise AssertionError("could not separate the operands")


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=_two_broadcastable(), seed=seeds)
def test_binary_operator_broadcasts_like_numpy_and_its_gradients_are_right(
    name: str, pair: tuple[tuple, tuple], seed: int
) -> None:
    f, reference, generate_a, generate_b = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = generate_a(rng, pair[0]), generate_b(rng, pair[1])
    if name in ("maximum", "minimum"):
        b = _separate_from(a, b, rng)
    check_primitive(f, reference, [a, b])


@pytest.mark.parametrize(
    ("f", "reference"),
    [
        (lambda t: t + 2.5, lambda a: a + 2.5),
        (lambda t: 2.5 + t, lambda a: 2.5 + a),
        (lambda t: t - 1.5, lambda a: a - 1.5),
        (lambda t: 1.5 - t, lambda a: 1.5 - a),
        (lambda t: t * 3.0, lambda a: a * 3.0),
        (lambda t: 3.0 * t, lambda a: 3.0 * a),
        (lambda t: t / 4.0, lambda a: a / 4.0),
        (lambda t: 4.0 / t, lambda a: 4.0 / a),
        (lambda t: t**3, lambda a: a**3),
        (lambda t: t**0.5, lambda a: a**0.5),
        (lambda t: 2.0**t, lambda a: 2.0**a),
        (lambda t: -t, lambda a: -a),
        (lambda t: t * np.array([1.0, -2.0, 3.0]), lambda a: a * np.array([1.0, -2.0, 3.0])),
        (lambda t: np.array([1.0, -2.0, 3.0]) * t, lambda a: np.array([1.0, -2.0, 3.0]) * a),
        (lambda t: np.array([1.0, -2.0, 3.0]) - t, lambda a: np.array([1.0, -2.0, 3.0]) - a),
        (lambda t: np.array([1.0, -2.0, 3.0]) / t, lambda a: np.array([1.0, -2.0, 3.0]) / a),
        (lambda t: np.array([[1.0], [2.0]]) + t, lambda a: np.array([[1.0], [2.0]]) + a),
    ],
    ids=["t+c", "c+t", "t-c", "c-t", "t*c", "c*t", "t/c", "c/t", "t**3", "t**0.5", "c**t", "-t", "t*array",
         "array*t", "array-t", "array/t", "column+t"],
)
def test_operators_with_python_numbers_and_arrays_and_their_reflected_forms(f, reference) -> None:
    x = np.array([0.5, 1.25, 2.0])
    check_primitive(f, reference, [x])


def test_power_with_integer_exponent_of_negative_base_is_differentiable() -> None:
    x = np.array([-2.0, -0.5, 1.5])
    check_primitive(lambda t: t**3, lambda a: a**3, [x])
    t = cr.tensor(x, requires_grad=True)
    (t**3).sum().backward()
    assert_values(t.grad, 3 * x**2)


@given(
    shapes_=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    seed=seeds,
)
def test_where_selects_like_numpy_and_routes_gradient_to_the_chosen_branch(shapes_, seed: int) -> None:
    cond_shape, a_shape, b_shape = shapes_.input_shapes
    rng = np.random.default_rng(seed)
    cond = rng.random(cond_shape) < 0.5
    a, b = uniform(rng, a_shape), uniform(rng, b_shape)
    check_primitive(lambda x, y: cr.where(cond, x, y), lambda x, y: np.where(cond, x, y), [a, b])


def test_where_gradient_is_the_mask_for_the_first_branch_and_its_complement_for_the_second() -> None:
    cond = np.array([True, False, True])
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = cr.tensor([4.0, 5.0, 6.0], requires_grad=True)
    cr.where(cond, a, b).sum().backward()
    assert_values(a.grad, [1.0, 0.0, 1.0])
    assert_values(b.grad, [0.0, 1.0, 0.0])


@given(shape=shapes, seed=seeds)
def test_clip_matches_numpy_and_passes_gradient_only_inside_the_interval(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.5, -0.3, 0.2, 1.6], size=shape) + rng.uniform(-0.05, 0.05, size=shape)
    check_primitive(lambda t: cr.clip(t, -1.0, 1.0), lambda a: np.clip(a, -1.0, 1.0), [x])
    t = cr.tensor(x, requires_grad=True)
    cr.clip(t, -1.0, 1.0).sum().backward()
    assert_values(t.grad, (np.abs(x) < 1.0).astype(float))


@pytest.mark.parametrize(("low", "high"), [(None, 0.5), (-0.5, None)])
def test_clip_with_one_open_side_like_numpy(low, high) -> None:
    x = np.array([-1.3, -0.2, 0.3, 1.1])
    check_primitive(lambda t: cr.clip(t, low, high), lambda a: np.clip(a, low, high), [x])


def test_clip_as_a_method_equals_the_function() -> None:
    x = cr.tensor([-3.0, 0.5, 3.0])
    assert_values(x.clip(-1.0, 1.0), [-1.0, 0.5, 1.0])


def test_maximum_and_minimum_accept_a_python_number_on_either_side() -> None:
    x = np.array([[-1.0, 2.0], [0.5, -0.25]])
    check_primitive(lambda t: cr.maximum(t, 0.1), lambda a: np.maximum(a, 0.1), [x])
    check_primitive(lambda t: cr.minimum(0.1, t), lambda a: np.minimum(0.1, a), [x])


def test_composed_elementwise_function_has_the_product_of_local_derivatives() -> None:
    x = np.array([0.3, -0.7, 1.1])
    f = lambda t: cr.tanh(cr.exp(t) * cr.sin(t))
    t = cr.tensor(x, requires_grad=True)
    f(t).sum().backward()
    u = np.exp(x) * np.sin(x)
    expected = (1 - np.tanh(u) ** 2) * (np.exp(x) * np.sin(x) + np.exp(x) * np.cos(x))
    assert_values(t.grad, expected, rtol=1e-12)
    assert_gradcheck(f, [x])
    assert_forward_matches_reverse(f, [x])
    assert to_numpy(t.grad).dtype == np.float64
