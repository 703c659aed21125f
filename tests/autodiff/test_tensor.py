"""tensor.py's named fast paths agree with the plain path they shortcut: `Primitive._apply_one` and
`Primitive._apply_two` (one or two operands, no parameters) give what `Primitive._apply` gives, value, dtype,
requires_grad and recorded Node alike, and `promote_like_pytorch`'s early return for two dimensioned arrays
changes no dtype."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff import rules
from chainrule.autodiff.tensor import Tensor, promote_like_pytorch

UNARY = [rules.neg_p, rules.exp_p, rules.log_p, rules.sqrt_p, rules.sin_p, rules.tanh_p, rules.arctan_p,
         rules.sigmoid_p, rules.relu_p, rules.abs_p, rules.sum_p, rules.mean_p, rules.square_p]
BINARY = [rules.add_p, rules.sub_p, rules.mul_p, rules.div_p, rules.power_p, rules.maximum_p, rules.minimum_p]

dtypes = st.sampled_from([np.float32, np.float64])
shapes = st.sampled_from([(), (3,), (2, 3)])


@st.composite
def operands(draw: st.DrawFn, shape: tuple | None = None) -> object:
    """A Tensor (requiring grad or not, its 0-d value held as a NumPy scalar or a 0-d array), a plain array,
    a NumPy scalar or a Python float."""
    shape = draw(shapes) if shape is None else shape
    dtype = draw(dtypes)
    values = np.asarray(draw(st.lists(st.floats(-3, 3, width=32), min_size=int(np.prod(shape)),
                                      max_size=int(np.prod(shape)))), dtype=dtype).reshape(shape)
    kind = draw(st.sampled_from(["tensor", "tensor", "array", "scalar", "float"]))
    if kind == "tensor":
        t = cr.tensor(values, requires_grad=draw(st.booleans()))
        if draw(st.booleans()):
            t.data  # noqa: B018 — asking for .data turns a NumPy-scalar value into a 0-d array
        return t
    if kind == "array":
        return values
    return dtype(values.flat[0]) if kind == "scalar" else float(values.flat[0])


def assert_same_result(fast: object, plain: object) -> None:
    """Two results of one primitive on the same operands are the same: type, value, dtype, the record."""
    assert type(fast) is type(plain)
    if not isinstance(plain, Tensor):
        np.testing.assert_array_equal(fast, plain)
        assert np.result_type(fast) == np.result_type(plain)
        return
    np.testing.assert_array_equal(fast.data, plain.data)
    assert fast.dtype == plain.dtype and type(fast.value) is type(plain.value)
    assert fast.requires_grad == plain.requires_grad
    if plain.node is None:
        assert fast.node is None
        return
    assert fast.node.primitive is plain.node.primitive and fast.node.params == plain.node.params
    assert all(a is b for a, b in zip(fast.node.inputs, plain.node.inputs, strict=True))
    for a, b in zip(fast.node.saved, plain.node.saved, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.result_type(a) == np.result_type(b)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(UNARY), operands())
def test_the_one_operand_fast_path_equals_the_plain_path(prim, x):
    with np.errstate(all="ignore"):
        assert_same_result(prim._apply_one(x), prim._apply((x,), {}))
        assert_same_result(prim(x), prim._apply((x,), {}))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BINARY), st.data())
def test_the_two_operand_fast_path_equals_the_plain_path(prim, data):
    shape = data.draw(shapes)
    a = data.draw(operands(shape))
    b = data.draw(operands(data.draw(st.sampled_from([shape, ()]))))
    with np.errstate(all="ignore"):
        assert_same_result(prim._apply_two(a, b), prim._apply((a, b), {}))
        assert_same_result(prim(a, b), prim._apply((a, b), {}))


def test_operators_take_the_fast_paths_and_record_as_the_functions_do():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    for by_operator, by_function in ((x * 2.0, cr.mul(x, 2.0)), (2.0 - x, cr.sub(2.0, x)), (-x, cr.neg(x)),
                                     (x.relu(), cr.relu(x)), (x.sum(), cr.sum(x))):
        assert_same_result(by_operator, by_function)


def test_a_fast_path_error_names_the_primitive_and_the_operand_shapes():
    with pytest.raises(ValueError, match=r"add: .*\(operand shapes \(2,\) and \(3,\)\)"):
        cr.tensor([1.0, 2.0]) + cr.tensor([1.0, 2.0, 3.0])


@settings(max_examples=200, deadline=None)
@given(dtypes, dtypes, shapes, shapes)
def test_promotion_of_two_arrays_is_numpys_and_a_zero_d_operand_keeps_the_dimensioned_dtype(da, db, sa, sb):
    a, b = np.ones(sa, da), np.ones(sb, db)
    pa, pb = promote_like_pytorch(a, b)
    if sa and sb:
        assert pa is a and pb is b  # the early return: nothing cast
    expected = np.result_type(a, b) if bool(sa) == bool(sb) else np.dtype(da if sa else db)
    assert np.result_type(pa, pb) == expected
