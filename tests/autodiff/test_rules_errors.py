"""Bad input gets a clear error, never a wrong answer: shape mismatches name the operation and both shapes,
bad data with requires_grad is a TypeError, bad `gradient` arguments and out-of-range axes are refused.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize(
    ("name", "op"),
    [
        ("add", lambda a, b: a + b),
        ("sub", lambda a, b: a - b),
        ("mul", lambda a, b: a * b),
        ("div", lambda a, b: a / b),
        ("maximum", cr.maximum),
    ],
)
def test_binary_op_on_unbroadcastable_shapes_names_the_op_and_both_shapes(name: str, op) -> None:
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    b = cr.tensor(np.ones((4,)), requires_grad=True)
    with pytest.raises(ValueError) as info:
        op(a, b)
    message = str(info.value)
    assert name in message
    assert "(2, 3)" in message and "(4,)" in message


def test_matmul_shape_mismatch_says_which_dimensions_do_not_line_up() -> None:
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    b = cr.tensor(np.ones((4, 5)), requires_grad=True)
    with pytest.raises(ValueError) as info:
        a @ b
    message = str(info.value)
    assert "matmul" in message and "(2, 3)" in message and "(4, 5)" in message
    assert re.search(r"3\s*!=\s*4", message), message


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [((3,), (4,)), ((2, 3), (2,)), ((2, 2, 3), (3, 3, 4))],
)
def test_matmul_mismatch_in_other_cases_is_a_value_error_naming_the_shapes(a_shape, b_shape) -> None:
    with pytest.raises(ValueError) as info:
        cr.tensor(np.ones(a_shape)) @ cr.tensor(np.ones(b_shape))
    message = str(info.value)
    assert "matmul" in message and str(a_shape) in message and str(b_shape) in message


def test_matmul_of_a_zero_dimensional_tensor_is_refused() -> None:
    with pytest.raises(ValueError, match="matmul"):
        cr.tensor(2.0) @ cr.tensor(np.ones(3))


@pytest.mark.parametrize(
    "data",
    [["a", "b"], "text", np.array([1 + 2j, 3j]), 1 + 1j, np.array([object(), object()], dtype=object), [None]],
    ids=["strings", "string", "complex array", "complex scalar", "object array", "None"],
)
def test_non_numeric_complex_or_object_data_with_requires_grad_is_a_type_error(data) -> None:
    with pytest.raises(TypeError):
        cr.tensor(data, requires_grad=True)


def test_requires_grad_underscore_on_integer_data_is_refused_or_converts_to_float() -> None:
    x = cr.tensor(np.array([1, 2]))
    try:
        x.requires_grad_()
    except TypeError:
        return
    assert x.dtype == np.float64


def test_backward_with_a_gradient_of_the_wrong_shape_is_a_value_error() -> None:
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_backward_on_a_non_scalar_without_gradient_is_a_clear_runtime_error() -> None:
    x = cr.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*gradient"):
        (x * 2.0).backward()


def test_backward_on_a_tensor_that_does_not_require_grad_is_refused() -> None:
    with pytest.raises(RuntimeError):
        cr.tensor(1.0).backward()


@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.sum(axis=2),
        lambda t: t.sum(axis=-3),
        lambda t: t.mean(axis=(0, 5)),
        lambda t: t.max(axis=3),
        lambda t: t.min(axis=-4),
        lambda t: t.prod(axis=2),
        lambda t: t.var(axis=2),
        lambda t: t.std(axis=2),
        lambda t: cr.logsumexp(t, axis=2),
        lambda t: cr.softmax(t, axis=2),
        lambda t: cr.log_softmax(t, axis=-3),
        lambda t: cr.expand_dims(t, 4),
        lambda t: cr.squeeze(t, 5),
        lambda t: cr.swapaxes(t, 0, 2),
        lambda t: cr.concatenate([t, t], axis=2),
        lambda t: cr.stack([t, t], axis=4),
    ],
)
def test_axis_out_of_range_is_an_axis_error(call) -> None:
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError):  # np.exceptions.AxisError is a ValueError
        call(x)


def test_reshape_to_an_incompatible_size_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        cr.tensor(np.ones((2, 3))).reshape((4, 2))


def test_gradcheck_of_a_non_scalar_function_is_refused() -> None:
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        cr.gradcheck(lambda t: t * 2.0, [np.ones(3)])


def test_grad_of_a_non_scalar_function_is_refused() -> None:
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        cr.grad(lambda t: t * 2.0)(np.ones(3))


def test_jacobian_with_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        cr.jacobian(lambda t: t * 2.0, mode="sideways")(np.ones(3))


@pytest.mark.parametrize(("name", "op"), [("add", lambda t: t + "a"), ("mul", lambda t: t * None)])
def test_binary_op_with_a_non_numeric_operand_is_a_type_error_naming_the_op(name: str, op) -> None:
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=rf"^{name}: "):
        op(t)


def test_an_index_out_of_range_is_an_index_error_naming_getitem_and_the_shape() -> None:
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(IndexError, match=r"^getitem: .*\(3,\)"):
        t[10]
