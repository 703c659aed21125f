"""Reductions (sum mean prod max min var std logsumexp) and softmax / log_softmax.

Axes are None, an int or a tuple, negative ones included, with and without keepdims; max and min split the
gradient equally among ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import (
    assert_values,
    away_from_zero,
    check_primitive,
    distinct,
    seeds,
    shapes,
    uniform,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr


def _logsumexp(x: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


# name -> (NumPy reference taking axis and keepdims, input generator)
REDUCTIONS = {
    "sum": (np.sum, uniform),
    "mean": (np.mean, uniform),
    "prod": (np.prod, lambda rng, s: away_from_zero(rng, s, 0.5, 1.5)),
    "max": (np.max, distinct),
    "min": (np.min, distinct),
    "var": (np.var, uniform),
    "std": (np.std, uniform),
    "logsumexp": (_logsumexp, uniform),
}


@st.composite
def _shape_and_axis(draw: st.DrawFn) -> tuple[tuple, object]:
    """A shape and an axis for it: None, an int (maybe negative) or a tuple of distinct axes (maybe empty)."""
    shape = draw(shapes)
    ndim = len(shape)
    choices = [st.none()]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
        choices.append(hnp.valid_tuple_axes(ndim, min_size=0))
    return shape, draw(st.one_of(*choices))


def _reduced_count(shape: tuple, axis) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=int))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes], dtype=int))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(shape_axis=_shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_reduction_matches_numpy_for_every_axis_form_and_its_gradients_are_right(
    name: str, shape_axis: tuple, keepdims: bool, seed: int
) -> None:
    shape, axis = shape_axis
    reference, generate = REDUCTIONS[name]
    if name == "std":  # std = √var has a kink where the variance is 0 (one element per reduction)
        assume(_reduced_count(shape, axis) >= 2)
    x = generate(np.random.default_rng(seed), shape)
    check_primitive(
        lambda t: getattr(cr, name)(t, axis=axis, keepdims=keepdims),
        lambda a: reference(a, axis=axis, keepdims=keepdims),
        [x],
    )


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_as_a_method_with_default_arguments_reduces_everything(name: str) -> None:
    reference, generate = REDUCTIONS[name]
    x = generate(np.random.default_rng(3), (2, 3))
    result = getattr(cr.tensor(x), name)()
    assert result.shape == ()
    np.testing.assert_allclose(result.data, reference(x, axis=None), rtol=1e-12)
    np.testing.assert_allclose(getattr(cr.tensor(x), name)(axis=-1).data, reference(x, axis=-1), rtol=1e-12)


def test_sum_over_a_negative_axis_tuple_with_keepdims_keeps_size_one_dimensions() -> None:
    x = cr.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = x.sum(axis=(-1, 0), keepdims=True)
    assert y.shape == (1, 3, 1)
    assert_values(y, np.arange(24.0).reshape(2, 3, 4).sum(axis=(0, 2), keepdims=True))
    (y * np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)).sum().backward()
    assert_values(x.grad, np.broadcast_to(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1), (2, 3, 4)))


def test_mean_gradient_is_one_over_the_count() -> None:
    x = cr.tensor(np.ones((4, 5)), requires_grad=True)
    x.mean().backward()
    assert_values(x.grad, np.full((4, 5), 1 / 20))


def test_max_splits_the_gradient_equally_among_ties() -> None:
    x = cr.tensor([1.0, 3.0, 3.0, 2.0, 3.0], requires_grad=True)
    x.max().backward()
    assert_values(x.grad, [0.0, 1 / 3, 1 / 3, 0.0, 1 / 3])


def test_min_splits_the_gradient_equally_among_ties_along_an_axis() -> None:
    x = cr.tensor([[0.0, 0.0, 1.0], [2.0, -1.0, 5.0]], requires_grad=True)
    (cr.min(x, axis=1) * np.array([1.0, 10.0])).sum().backward()
    assert_values(x.grad, [[0.5, 0.5, 0.0], [0.0, 10.0, 0.0]])


def test_max_of_all_equal_values_gives_each_an_equal_share() -> None:
    x = cr.tensor(np.full((2, 2), 7.0), requires_grad=True)
    x.max(axis=(0, 1), keepdims=True).sum().backward()
    assert_values(x.grad, np.full((2, 2), 0.25))


def test_max_tie_gradient_agrees_in_forward_mode() -> None:
    x = np.array([2.0, 2.0, 1.0])
    _, tangent_out = cr.jvp(lambda t: cr.max(t), (x,), (np.array([1.0, 3.0, 100.0]),))
    np.testing.assert_allclose(np.asarray(getattr(tangent_out, "data", tangent_out)), 2.0)


def test_prod_gradient_is_the_product_of_the_other_elements_even_with_a_zero() -> None:
    x = cr.tensor([2.0, 0.0, 3.0, 4.0], requires_grad=True)
    x.prod().backward()
    assert_values(x.grad, [0.0, 24.0, 0.0, 0.0])


def test_var_and_std_use_the_population_formula_like_numpy() -> None:
    x = np.array([[1.0, 2.0, 4.0], [3.0, 3.5, 8.0]])
    t = cr.tensor(x, requires_grad=True)
    assert_values(cr.var(t, axis=1), np.var(x, axis=1))
    assert_values(cr.std(t), np.std(x))
    cr.var(t, axis=1).sum().backward()
    assert_values(t.grad, 2 * (x - x.mean(axis=1, keepdims=True)) / 3)


def test_var_and_std_accept_ddof_like_numpy() -> None:
    x = np.array([[1.0, 2.0, 4.0], [3.0, 3.5, 8.0]])
    check_primitive(lambda t: t.var(axis=1, ddof=1), lambda a: np.var(a, axis=1, ddof=1), [x])
    check_primitive(lambda t: cr.std(t, axis=0, ddof=1), lambda a: np.std(a, axis=0, ddof=1), [x])


@given(shape=st.sampled_from([(5,), (2, 3), (3, 1), (2, 3, 4), (1, 4)]), seed=seeds, data=st.data())
def test_softmax_and_log_softmax_match_numpy_along_any_axis(shape: tuple, seed: int, data) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    x = uniform(np.random.default_rng(seed), shape, -3.0, 3.0)
    log_p = x - _logsumexp(x, axis=axis, keepdims=True)
    check_primitive(lambda t: cr.softmax(t, axis=axis), lambda a: np.exp(log_p), [x])
    check_primitive(lambda t: cr.log_softmax(t, axis=axis), lambda a: log_p, [x])


def test_softmax_defaults_to_the_last_axis_and_rows_sum_to_one() -> None:
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)))
    p = cr.softmax(x)
    np.testing.assert_allclose(p.data.sum(axis=-1), np.ones(3), rtol=1e-12)
    assert_values(cr.log_softmax(x), np.log(p.data), rtol=1e-12)
    assert_values(x.softmax(), p)
    assert_values(x.log_softmax(), np.log(p.data), rtol=1e-12)


def test_softmax_jacobian_is_diag_p_minus_p_p_transpose() -> None:
    x = np.array([0.2, -1.0, 1.5, 0.3])
    p = np.exp(x) / np.exp(x).sum()
    for mode in ("rev", "fwd"):
        jac = cr.jacobian(lambda t: cr.softmax(t), mode=mode)(x)
        assert_values(jac, np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-14)


def test_logsumexp_gradient_is_softmax() -> None:
    x = np.array([[0.5, -2.0, 1.0], [3.0, 3.0, -1.0]])
    t = cr.tensor(x, requires_grad=True)
    cr.logsumexp(t, axis=1).sum().backward()
    assert_values(t.grad, np.exp(x - _logsumexp(x, axis=1, keepdims=True)), rtol=1e-12)
