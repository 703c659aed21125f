"""The few functions that generated code calls besides NumPy and the rule table (compiler/runtime.py): each
does at array level what the eager engine does, so `cast` promotes, `fit` sums a broadcast share back to its
input's shape and dtype, `as_seed` makes a fresh seed, `new_leaf` and `deliver` hand a leaf its gradient the
way backward() does (a fresh gradient, or one added into the existing .grad), and `stacked` builds a Jacobian
from its rows."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.compiler import runtime


def test_cast_converts_to_the_dtype_keeping_the_values():
    x = np.array([1, -2, 3], dtype=np.int32)
    y = runtime.cast(x, np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [1.0, -2.0, 3.0])


def test_fit_sums_a_broadcast_share_back_to_the_input_shape():
    share = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(runtime.fit(share, (3,), np.float64), [18.0, 22.0, 26.0])
    np.testing.assert_array_equal(runtime.fit(share, (4, 1), np.float64), [[3.0], [12.0], [21.0], [30.0]])
    assert runtime.fit(share, (), np.float64) == 66.0


def test_fit_casts_to_the_input_dtype_and_leaves_a_fitting_share_as_it_is():
    share = np.ones((2, 2), dtype=np.float64)
    assert runtime.fit(share, (2, 2), np.float64) is share  # the tracer records a fit only when it changed
    cast = runtime.fit(share, (2,), np.float32)
    assert cast.dtype == np.float32
    np.testing.assert_array_equal(cast, [2.0, 2.0])


def test_as_seed_is_a_fresh_array_of_the_output_dtype():
    given = np.array([1.5, 2.5])
    seed = runtime.as_seed(given, np.float32)
    assert seed.dtype == np.float32 and not np.shares_memory(seed, given)
    np.testing.assert_array_equal(seed, [1.5, 2.5])
    from_tensor = runtime.as_seed(cr.tensor([3.0]), np.float64)
    assert type(from_tensor) is np.ndarray and from_tensor.tolist() == [3.0]


def test_new_leaf_is_a_leaf_tensor_holding_the_array_itself():
    g = np.array([1.0, 2.0])
    leaf = runtime.new_leaf(g)
    assert isinstance(leaf, cr.Tensor) and leaf.data is g
    assert not leaf.requires_grad and leaf.node is None


def test_deliver_sets_a_missing_gradient_then_adds_into_it():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([0.5, 0.25])
    runtime.deliver(w, g, copy=False)
    np.testing.assert_array_equal(w.grad.data, [0.5, 0.25])
    first = w.grad.data
    runtime.deliver(w, np.array([1.0, 1.0]), copy=False)
    assert w.grad.data is first  # accumulated in place, as the eager sweep does
    np.testing.assert_array_equal(w.grad.data, [1.5, 1.25])


def test_deliver_with_copy_keeps_the_gradient_apart_from_the_given_array():
    """One array delivered to two leaves (or still read by the program) must not become both their .grad."""
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([3.0, 4.0])
    runtime.deliver(w, g, copy=True)
    assert not np.shares_memory(w.grad.data, g)
    g[:] = 0.0
    np.testing.assert_array_equal(w.grad.data, [3.0, 4.0])


def test_deliver_matches_backward():
    w = cr.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    (w * w).sum().backward()
    eager = w.grad.data.copy()
    v = cr.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    runtime.deliver(v, 2 * v.data, copy=False)
    np.testing.assert_array_equal(v.grad.data, eager)


def test_stacked_builds_the_shape_from_its_rows():
    rows = [np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])]
    np.testing.assert_array_equal(runtime.stacked((3, 2), *rows), [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(runtime.stacked((2, 3), *rows), [[1, 2, 3], [4, 5, 6]])


def test_stacked_of_no_rows_is_zeros_of_the_shape():
    result = runtime.stacked((0, 4))
    assert result.shape == (0, 4)
    np.testing.assert_array_equal(runtime.stacked((2, 0)), np.zeros((2, 0)))


def test_stacked_refuses_rows_that_do_not_fill_the_shape():
    with pytest.raises(ValueError):
        runtime.stacked((2, 2), np.ones(3))
