"""The backward sweep and the Tensor's behaviour: deep chains, reuse, retain_graph, accumulation, no_grad,
detach, in-place operators, comparisons, repr and conversions to NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import assert_values

import chainrule as cr


@pytest.mark.slow
def test_backward_through_a_chain_of_200000_operations_needs_no_recursion() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    factor = 1.0 + 1e-7
    for _ in range(200_000):
        y = y * factor
    y.backward()
    np.testing.assert_allclose(x.grad.item(), factor**200_000, rtol=1e-9)


def test_gradient_is_summed_when_a_value_is_used_twice() -> None:
    # Diamond: a feeds b and c, which meet again in d.  d = sin(a)·a², dd/da = cos(a)a² + 2a sin(a).
    x = cr.tensor(0.7, requires_grad=True)
    a = x * 1.0
    b = cr.sin(a)
    c = a * a
    d = b * c
    d.backward()
    expected = np.cos(0.7) * 0.7**2 + 2 * 0.7 * np.sin(0.7)
    np.testing.assert_allclose(x.grad.item(), expected, rtol=1e-14)


def test_a_leaf_used_in_both_operands_gets_both_contributions() -> None:
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()
    assert_values(x.grad, 2 * np.array([1.0, -2.0, 3.0]) + 1)


def test_second_backward_works_with_retain_graph() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.exp(x) * x
    y.backward(retain_graph=True)
    first = x.grad.item()
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 2 * first, rtol=1e-14)


def test_second_backward_without_retain_graph_raises_about_the_released_graph() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    y = cr.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="(?i)releas|freed|retain_graph"):
        y.backward()


def test_leaf_gradients_accumulate_across_backward_calls() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    assert_values(x.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_assigning_none_to_grad_resets_accumulation() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    x.grad = None
    assert x.grad is None
    (x * 5.0).sum().backward()
    assert_values(x.grad, [5.0, 5.0])


def test_grad_is_a_tensor_with_the_leaf_shape() -> None:
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    (x * 2.0).sum().backward()
    assert isinstance(x.grad, cr.Tensor)
    assert x.grad.shape == (2, 3)
    assert not x.grad.requires_grad


def test_backward_with_an_explicit_gradient_computes_a_vector_jacobian_product() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(np.array([1.0, 0.5, -1.0]))
    assert_values(x.grad, [2.0, 2.0, -6.0])


def test_backward_accepts_the_gradient_as_a_tensor() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).backward(cr.tensor([1.0, -1.0]))
    assert_values(x.grad, [3.0, -3.0])


def test_non_leaf_gradients_are_kept_only_with_retain_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    (h * h).sum().backward()
    assert_values(h.grad, [4.0, 8.0])
    assert_values(x.grad, [8.0, 16.0])


def test_inputs_without_requires_grad_get_no_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None
    assert_values(x.grad, [3.0, 4.0])


def test_no_grad_builds_no_graph_and_enable_grad_turns_it_back_on() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2.0
        with cr.enable_grad():
            z = x * 3.0
        w = x * 4.0
    assert not y.requires_grad and y.op is None
    assert not w.requires_grad
    assert z.requires_grad and z.op is not None
    v = x * 5.0
    assert v.requires_grad
    assert_values(y, [2.0, 4.0])


def test_no_grad_restores_recording_when_its_body_raises() -> None:
    with pytest.raises(KeyError), cr.no_grad():
        raise KeyError("inside no_grad")
    assert (cr.tensor(1.0, requires_grad=True) * 2.0).requires_grad


def test_backward_on_a_scalar_leaf_gives_a_gradient_of_one() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_no_grad_also_works_as_a_decorator() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)

    @cr.no_grad()
    def double(t):
        return t * 2.0

    y = double(x)
    assert not y.requires_grad
    assert (x * 2.0).requires_grad


def test_detach_shares_values_but_stops_the_gradient() -> None:
    x = cr.tensor([1.5, -2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    assert d.op is None
    assert_values(d, x.data)
    (x * d).sum().backward()
    assert_values(x.grad, [1.5, -2.0])  # not 2x: the detached factor is a constant


def test_requires_grad_underscore_turns_a_tensor_into_a_leaf_that_gets_gradients() -> None:
    x = cr.tensor([1.0, 2.0])
    assert not x.requires_grad
    same = x.requires_grad_()
    assert same is x and x.requires_grad
    (x * x).sum().backward()
    assert_values(x.grad, [2.0, 4.0])


def test_in_place_operator_on_a_leaf_that_requires_grad_raises() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="(?i)in-place|in place|leaf"):
        x += 1.0
    with pytest.raises(RuntimeError):
        x *= 2.0


def test_in_place_update_inside_no_grad_changes_the_same_object() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    before = x
    (x * x).sum().backward()
    with cr.no_grad():
        x -= 0.5 * x.grad
    assert x is before
    assert x.requires_grad and x.op is None
    assert_values(x, [0.0, 0.0])
    x.grad = None
    (x * 3.0).sum().backward()
    assert_values(x.grad, [3.0, 3.0])


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (lambda t: t.__iadd__(1.0), [2.0, 3.0]),
        (lambda t: t.__isub__(1.0), [0.0, 1.0]),
        (lambda t: t.__imul__(3.0), [3.0, 6.0]),
        (lambda t: t.__itruediv__(2.0), [0.5, 1.0]),
    ],
    ids=["+=", "-=", "*=", "/="],
)
def test_in_place_operators_on_a_plain_tensor_update_it_in_place(update, expected) -> None:
    x = cr.tensor([1.0, 2.0])
    result = update(x)
    assert result is x
    assert_values(x, expected)


def test_in_place_add_of_a_tensor_on_a_plain_tensor() -> None:
    x = cr.tensor([1.0, 2.0])
    same = x
    x += cr.tensor([10.0, 20.0])
    assert x is same
    assert_values(x, [11.0, 22.0])


def test_comparisons_return_plain_boolean_arrays() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([3.0, 2.0, 1.0])
    for result, expected in [
        (x < y, [True, False, False]),
        (x <= y, [True, True, False]),
        (x > 2.0, [False, False, True]),
        (x >= 2.0, [False, True, True]),
        (x == y, [False, True, False]),
        (x != 2.0, [True, False, True]),
    ]:
        assert isinstance(result, np.ndarray) and result.dtype == bool
        np.testing.assert_array_equal(result, expected)


def test_tensors_hash_by_identity_so_they_can_key_dicts_and_sets() -> None:
    a, b = cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0])
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert len({a, b, a}) == 2


def test_boolean_comparison_works_as_a_mask() -> None:
    x = cr.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    x[x > 0].sum().backward()
    assert_values(x.grad, [0.0, 1.0, 0.0, 1.0])


def test_repr_shows_values_and_the_operation_of_a_non_leaf() -> None:
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    y = x * 2.0
    assert "1.5" in repr(x) and "2.5" in repr(x)
    assert "grad_fn" not in repr(x)
    assert "grad_fn=<mul>" in repr(y)
    assert "5." in repr(y)
    assert "grad_fn=<exp>" in repr(cr.exp(x))


def test_op_and_inputs_describe_how_a_non_leaf_was_made() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    assert x.op is None
    assert y.op.name == "mul"
    assert any(inp is x for inp in y.inputs)


def test_item_numpy_asarray_and_len_expose_the_data() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert len(x) == 2
    assert isinstance(x.numpy(), np.ndarray)
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(np.asarray(x), x.data)
    s = x.sum()
    value = s.item()
    assert isinstance(value, float) and value == 21.0
    assert cr.tensor([7.5]).item() == 7.5
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))
    with pytest.raises(ValueError):
        cr.tensor([1.0, 2.0]).item()


def test_tensor_of_a_tensor_copies_its_values() -> None:
    x = cr.tensor([1.0, 2.0])
    y = cr.tensor(x, requires_grad=True)
    assert_values(y, [1.0, 2.0])
    assert y.requires_grad and not x.requires_grad


def test_topological_order_lists_inputs_before_the_tensors_made_from_them() -> None:
    from chainrule.autodiff.backward import topological_order

    x = cr.tensor(1.0, requires_grad=True)
    a = cr.exp(x)
    b = a * x
    c = b + a
    order = topological_order(c)
    position = {id(t): i for i, t in enumerate(order)}
    assert position[id(c)] == len(order) - 1
    assert position[id(x)] < position[id(a)] < position[id(b)] < position[id(c)]
    assert len(order) == len({id(t) for t in order})


def test_modifying_a_saved_input_in_place_before_backward_raises_instead_of_a_wrong_gradient() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([1.0, 2.0])
    y = (w * c).sum()
    c += 1  # the product saved c's old values for ∂y/∂w
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_an_input_in_place_after_backward_is_fine_and_gradients_use_the_old_values() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    (w * c).sum().backward()
    c += 1
    np.testing.assert_array_equal(w.grad.data, [3.0, 4.0])
    w.grad = None
    (w * c).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [4.0, 5.0])


def test_a_zero_dimensional_leaf_gives_a_numpy_array_from_data_and_updates_in_place() -> None:
    w = cr.tensor(np.float32(2.0), requires_grad=True)
    (w * w).backward()
    assert w.grad.item() == 4.0
    data = w.data
    assert isinstance(data, np.ndarray) and data.shape == () and data.dtype == np.float32
    data[...] = 5.0  # the array .data hands out is the tensor's own, as for any other shape
    assert w.item() == 5.0 and w.data is data
    assert (w * 3).item() == 15.0


def test_reflected_operators_keep_the_operand_order() -> None:
    x = cr.tensor([2.0, 4.0], requires_grad=True)
    out = 1 - x / 8 + 2**x * 0 + 3 / x
    assert_values(out.data, 1 - np.array([2.0, 4.0]) / 8 + 3 / np.array([2.0, 4.0]))
    out.sum().backward()
    assert_values(x.grad.data, -1 / 8 - 3 / np.array([2.0, 4.0]) ** 2)
    assert [node.op.name for node in (out,)] == ["add"]


def test_reduction_gradients_are_read_only_views_until_a_leaf_gets_its_own_copy() -> None:
    x = cr.tensor(np.ones((3, 4)), requires_grad=True)
    x.sum().backward()
    assert x.grad.data.flags.writeable and x.grad.data.base is None  # the leaf owns its gradient
    x.grad.data[0, 0] = 7.0  # ... so writing into it cannot change anything else
    x.mean(axis=0).sum().backward()
    assert_values(x.grad.data[0], [7.0 + 1 / 3, 1 + 1 / 3, 1 + 1 / 3, 1 + 1 / 3])


def test_cross_entropy_keeps_its_softmax_and_a_second_backward_gives_the_same_gradient() -> None:
    z = cr.tensor(np.random.default_rng(1).standard_normal((5, 4)), requires_grad=True)
    labels = np.array([0, 3, 1, 1, 2])
    loss = cr.softmax_cross_entropy(z, labels)
    loss.backward(retain_graph=True)
    first = z.grad.data.copy()
    loss.backward()  # the kept probabilities were not overwritten by the first backward
    assert_values(z.grad.data, 2 * first)
    p = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    p[np.arange(5), labels] -= 1
    assert_values(first, p / 5)


def test_a_primitive_with_a_residual_returns_only_its_value_on_plain_arrays() -> None:
    value = cr.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 2]))
    assert np.ndim(value) == 0 and abs(float(value) - np.log(3)) < 1e-15
