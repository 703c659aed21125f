"""Shape operations and indexing: values against NumPy, gradcheck and forward/reverse agreement.

Indexing covers ints, slices, None, Ellipsis, boolean masks and integer arrays; repeated integer indices
accumulate in the gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import (
    assert_values,
    check_primitive,
    nonscalar_shapes,
    seeds,
    shapes,
    to_numpy,
    uniform,
)
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr


@given(shape=shapes, seed=seeds, data=st.data())
def test_reshape_to_any_compatible_shape_and_back(shape: tuple, seed: int, data) -> None:
    x = uniform(np.random.default_rng(seed), shape)
    target = data.draw(st.sampled_from([tuple(reversed(shape)), (-1,), (1, *shape), (x.size, 1)]), label="target")
    check_primitive(lambda t: t.reshape(target), lambda a: a.reshape(target), [x])
    check_primitive(lambda t: cr.reshape(t, target), lambda a: np.reshape(a, target), [x])


@given(shape=shapes, seed=seeds, data=st.data())
def test_transpose_with_any_permutation_and_without_axes(shape: tuple, seed: int, data) -> None:
    x = uniform(np.random.default_rng(seed), shape)
    perm = tuple(data.draw(st.permutations(range(len(shape))), label="perm"))
    check_primitive(lambda t: t.transpose(*perm), lambda a: a.transpose(*perm), [x])
    check_primitive(lambda t: t.transpose(), lambda a: a.transpose(), [x])
    check_primitive(lambda t: t.T, lambda a: a.T, [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_swapaxes_with_negative_axes(shape: tuple, seed: int, data) -> None:
    x = uniform(np.random.default_rng(seed), shape)
    a1 = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis1")
    a2 = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis2")
    check_primitive(lambda t: cr.swapaxes(t, a1, a2), lambda a: np.swapaxes(a, a1, a2), [x])
    check_primitive(lambda t: t.swapaxes(a1, a2), lambda a: np.swapaxes(a, a1, a2), [x])


@given(shape=shapes, seed=seeds, data=st.data())
def test_expand_dims_then_squeeze_round_trip(shape: tuple, seed: int, data) -> None:
    x = uniform(np.random.default_rng(seed), shape)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    check_primitive(lambda t: cr.expand_dims(t, axis), lambda a: np.expand_dims(a, axis), [x])
    check_primitive(lambda t: cr.squeeze(cr.expand_dims(t, axis), axis), lambda a: a, [x])


@given(shape=shapes, seed=seeds)
def test_squeeze_without_axis_removes_every_size_one_dimension(shape: tuple, seed: int) -> None:
    x = uniform(np.random.default_rng(seed), shape)
    check_primitive(lambda t: cr.squeeze(t), np.squeeze, [x])
    check_primitive(lambda t: t.squeeze(), np.squeeze, [x])


@given(shapes_=hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3), seed=seeds)
def test_broadcast_to_sums_the_gradient_over_the_copies(shapes_, seed: int) -> None:
    (shape,) = shapes_.input_shapes
    target = shapes_.result_shape
    x = uniform(np.random.default_rng(seed), shape)
    check_primitive(lambda t: cr.broadcast_to(t, target), lambda a: np.broadcast_to(a, target), [x])
    t = cr.tensor(x, requires_grad=True)
    cr.broadcast_to(t, target).sum().backward()
    copies = int(np.prod(target, dtype=int)) // max(x.size, 1)
    assert_values(t.grad, np.full(shape, float(copies)))


@given(shape=shapes, seed=seeds)
def test_flatten_gives_a_one_dimensional_copy_in_c_order(shape: tuple, seed: int) -> None:
    x = uniform(np.random.default_rng(seed), shape)
    check_primitive(lambda t: t.flatten(), lambda a: a.flatten(), [x])
    check_primitive(lambda t: cr.flatten(t), lambda a: a.flatten(), [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data(), sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_concatenate_along_any_axis_sends_each_part_its_slice_of_the_gradient(
    shape: tuple, seed: int, data, sizes: list[int]
) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    rng = np.random.default_rng(seed)
    parts = []
    for size in sizes:
        part_shape = list(shape)
        part_shape[axis] = size
        parts.append(uniform(rng, tuple(part_shape)))
    check_primitive(lambda *ts: cr.concatenate(list(ts), axis=axis), lambda *a: np.concatenate(a, axis=axis), parts)


@given(shape=shapes, seed=seeds, data=st.data(), count=st.integers(1, 3))
def test_stack_along_any_axis_including_a_new_last_axis(shape: tuple, seed: int, data, count: int) -> None:
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    rng = np.random.default_rng(seed)
    parts = [uniform(rng, shape) for _ in range(count)]
    check_primitive(lambda *ts: cr.stack(list(ts), axis=axis), lambda *a: np.stack(a, axis=axis), parts)


@pytest.mark.parametrize(
    ("shape", "sections", "axis"),
    [((6,), 3, 0), ((4, 6), 2, -1), ((4, 6), [1, 4], 1), ((5, 2), [2], 0), ((3, 4, 2), 2, 1)],
)
def test_split_into_sections_or_at_indices_like_numpy(shape: tuple, sections, axis: int) -> None:
    x = uniform(np.random.default_rng(0), shape)
    expected = np.split(x, sections, axis=axis)
    pieces = cr.split(cr.tensor(x), sections, axis=axis)
    assert len(pieces) == len(expected)
    for piece, reference in zip(pieces, expected):
        assert_values(piece, reference)
    for i in range(len(expected)):
        weights = np.arange(1.0, expected[i].size + 1).reshape(expected[i].shape)
        check_primitive(
            lambda t, i=i, w=weights: cr.split(t, sections, axis=axis)[i] * w,
            lambda a, i=i, w=weights: np.split(a, sections, axis=axis)[i] * w,
            [x],
        )


def test_split_pieces_used_together_rebuild_the_full_gradient() -> None:
    x = cr.tensor(np.arange(6.0), requires_grad=True)
    a, b, c = cr.split(x, 3)
    (a * 1.0 + b * 2.0 + c * 3.0).sum().backward()
    assert_values(x.grad, [1.0, 1.0, 2.0, 2.0, 3.0, 3.0])


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "step slice": slice(None, None, 2),
    "int and slice": (1, slice(0, 2)),
    "None": (None, slice(None)),
    "Ellipsis": (Ellipsis, 0),
    "Ellipsis and None": (Ellipsis, None),
    "integer array": np.array([0, 2, 1]),
    "repeated integers": np.array([0, 0, 2, 0]),
    "integer list": [1, 1, 0],
    "2-d integer array": np.array([[0, 1], [1, 1]]),
    "integer arrays on two axes": (np.array([0, 1, 1]), np.array([2, 2, 0])),
    "slice and integer array": (slice(None), np.array([3, 3, 0])),
    "boolean mask": np.array([[True, False, True, False], [False, False, True, True], [True, True, True, False]]),
    "boolean row mask": np.array([True, False, True]),
}


@pytest.mark.parametrize("name", sorted(INDICES))
def test_indexing_matches_numpy_and_scatters_the_gradient_back(name: str) -> None:
    index = INDICES[name]
    x = uniform(np.random.default_rng(7), (3, 4))
    check_primitive(lambda t: t[index], lambda a: a[index], [x])
    t = cr.tensor(x, requires_grad=True)
    t[index].sum().backward()
    expected = np.zeros_like(x)
    np.add.at(expected, index, 1.0)
    assert_values(t.grad, expected)


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_any_basic_index_matches_numpy_and_its_gradient_is_right(shape: tuple, seed: int, data) -> None:
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True), label="index")
    x = uniform(np.random.default_rng(seed), shape)
    if x[index].size == 0:
        return  # an empty selection has nothing to differentiate
    check_primitive(lambda t: t[index], lambda a: a[index], [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_any_integer_array_index_matches_numpy_and_accumulates_repeats(shape: tuple, seed: int, data) -> None:
    index = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=4)))
    x = uniform(np.random.default_rng(seed), shape)
    check_primitive(lambda t: t[index], lambda a: a[index], [x])
    t = cr.tensor(x, requires_grad=True)
    t[index].sum().backward()
    expected = np.zeros_like(x)
    np.add.at(expected, index, 1.0)
    assert_values(t.grad, expected)


@given(shape=nonscalar_shapes, seed=seeds)
def test_any_boolean_mask_selects_like_numpy_and_routes_gradient_to_selected_elements(shape: tuple, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = uniform(rng, shape)
    mask = rng.random(shape) < 0.5
    check_primitive(lambda t: t[mask], lambda a: a[mask], [x])
    t = cr.tensor(x, requires_grad=True)
    t[mask].sum().backward()
    assert_values(t.grad, mask.astype(float))


def test_repeated_integer_indices_accumulate_in_the_gradient() -> None:
    x = cr.tensor([10.0, 20.0, 30.0], requires_grad=True)
    y = x[np.array([0, 0, 2, 0])]
    assert_values(y, [10.0, 10.0, 30.0, 10.0])
    (y * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert_values(x.grad, [7.0, 0.0, 3.0])


def test_indexing_a_zero_dimensional_result_gives_a_scalar_tensor() -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x[1, 2]
    assert y.shape == ()
    y.backward()
    expected = np.zeros((2, 3))
    expected[1, 2] = 1.0
    assert_values(x.grad, expected)


def test_shape_attributes_follow_the_data() -> None:
    x = cr.tensor(np.zeros((2, 3, 4)))
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3, 4), 3, 24, 2)
    assert x.reshape((4, 6)).shape == (4, 6)
    assert to_numpy(x.T).shape == (4, 3, 2)
