"""The reference engine's contracts: one Node per recorded result, version counters that catch in-place
writes, PyTorch's dtype promotion, the shifted log_softmax, arctan as one table entry, and how a Tensor
prints (format specs, Jupyter's HTML); and the named fast paths `Primitive._apply_one`/`_apply_two` and
`promote_like_pytorch`'s early return agree with the plain path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autodiff import rules
from chainrule.autodiff.tensor import Node, Tensor, mark_modified, promote_like_pytorch


# ------------------------------------------------------------------ Node and the record path
def test_a_recorded_result_holds_one_node_with_primitive_inputs_and_order():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    z = y.sin()
    assert isinstance(z.node, Node) and z.node.primitive.name == "sin"
    assert z.node.inputs[0] is y and y.node.inputs == (x, 3.0)
    assert y.node.order < z.node.order
    assert x.node is None and x.is_leaf


def test_operators_and_functions_record_the_same_node():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    by_operator, by_function = x * x, cr.mul(x, x)
    assert by_operator.node.primitive is by_function.node.primitive
    np.testing.assert_array_equal(by_operator.data, by_function.data)


def test_backward_leaves_no_gradient_state_on_intermediate_tensors():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.sum().backward()
    assert y.grad is None and not hasattr(y, "__dict__")
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_leaf_gradients_own_their_buffers_when_one_share_reaches_two_leaves():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    (a + b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])


# ------------------------------------------------------------------ version counters
def _stand_in_sgd_step(params: list, lr: float) -> None:
    """A tiny optimiser written with the engine's in-place-write API, as the real ones must be."""
    with cr.no_grad():
        for p in params:
            p.data -= lr * p.grad.data  # a raw write into the array ...
            mark_modified(p)  # ... announced to the engine


def test_an_optimiser_step_between_forward_and_backward_raises_naming_op_and_shape():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    w.grad = cr.tensor([0.5, 0.5])
    loss = (w * w).sum()
    _stand_in_sgd_step([w], lr=0.1)
    with pytest.raises(RuntimeError, match=r"shape \(2,\) to 'mul' was modified in place"):
        loss.backward()


def test_writing_through_detach_of_a_saved_tensor_is_caught():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    view = h.detach()
    assert view.version is h.version
    view[0] = 10.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_item_assignment_bumps_the_version_and_is_refused_on_a_recorded_tensor():
    c = cr.tensor([1.0, 2.0])
    x = cr.tensor([3.0, 4.0], requires_grad=True)
    y = (x * c).sum()
    before = c.version.count
    c[1] = 5.0
    assert c.version.count == before + 1 and c.data[1] == 5.0
    with pytest.raises(RuntimeError, match="'mul' was modified in place"):
        y.backward()
    with pytest.raises(RuntimeError, match="item assignment"):
        x[0] = 1.0


def test_in_place_operators_and_data_assignment_are_caught():
    for write in (lambda c: c.__imul__(2.0), lambda c: setattr(c, "data", np.array([9.0, 9.0]))):
        c = cr.tensor([1.0, 2.0])
        x = cr.tensor([3.0, 4.0], requires_grad=True)
        y = (x * c).sum()
        write(c)
        with pytest.raises(RuntimeError, match="modified in place"):
            y.backward()


def test_writes_after_backward_do_not_disturb_a_finished_sweep():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    _stand_in_sgd_step([w], lr=0.5)
    np.testing.assert_array_equal(w.data, [0.0, 0.0])
    (w * w).sum().backward()  # a fresh graph saw the new values: no error


# ------------------------------------------------------------------ dtype promotion (PyTorch's rule)
_PROMOTION_CASES = [
    (np.ones(3, np.float32), np.array(2.0)),  # 0-d float64 tensor
    (np.ones(3, np.float32), np.float64(2.0)),  # NumPy float64 scalar
    (np.ones(3, np.float32), 2.0),  # Python float
    (np.ones(3, np.float32), np.ones(3)),  # dimensioned float64: promotes
    (np.ones(3, np.float32), np.ones(1)),  # one-element but dimensioned: promotes
    (np.ones(3, np.int32), np.array(2.0)),  # a higher category does promote
    (np.ones(3, np.int8), np.array(300, np.int64)),  # 0-d int64 does not widen int8
    (np.array(1.0, np.float32), np.array(2.0)),  # both 0-d: usual promotion
]


@pytest.mark.parametrize("left, right", _PROMOTION_CASES)
def test_result_dtype_matches_torch_result_type(torch, left, right):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # chainrule's default float is NumPy's float64
    try:
        def as_torch(v):
            return torch.from_numpy(np.asarray(v)) if isinstance(v, np.ndarray) else (
                v.item() if isinstance(v, np.generic) else v)
        expected = torch.result_type(as_torch(left), as_torch(right))
    finally:
        torch.set_default_dtype(previous)
    right_operand = cr.tensor(right) if isinstance(right, np.ndarray) else right
    for result in (cr.tensor(left) + right_operand, right_operand * cr.tensor(left)):
        assert str(result.dtype) == str(expected).replace("torch.", "")


def test_a_float32_network_stays_float32_with_float64_scalars():
    w = cr.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    loss = ((w * np.float64(0.5)) ** 2).sum() * cr.tensor(2.0)
    loss.backward()
    assert w.dtype == np.float32 and w.grad.dtype == np.float32
    assert cr.tensor([1.0]).dtype == np.float64  # the default float stays float64


# ------------------------------------------------------------------ log_softmax at large magnitudes
@pytest.mark.parametrize("values, dtype", [([1e5, 1e5 + 0.001], np.float32),
                                           ([1e30, 1e30, -1e30], np.float64),
                                           ([1e30, 1e30, -1e30], np.float32),
                                           ([1e5, 1e5 + 0.001], np.float64)])
def test_log_softmax_matches_torch_at_large_magnitudes(torch, values, dtype):
    x = cr.tensor(np.array(values, dtype), requires_grad=True)
    weights = np.arange(1, len(values) + 1, dtype=dtype)
    y = cr.log_softmax(x)
    (y * weights).sum().backward()
    tx = torch.tensor(np.array(values, dtype), requires_grad=True)
    ty = torch.log_softmax(tx, dim=-1)
    (ty * torch.from_numpy(weights)).sum().backward()
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_softmax_cross_entropy_and_logsumexp_agree_with_torch_at_large_magnitudes(torch):
    logits = np.array([[1e30, 1e30, -1e30]])
    z = cr.tensor(logits, requires_grad=True)
    loss = cr.softmax_cross_entropy(z, np.array([0]))
    loss.backward()
    tz = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.tensor([0]))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(z.grad.data, tz.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(cr.logsumexp(cr.tensor(logits)).item(), torch.logsumexp(tz, (0, 1)).item())


# ------------------------------------------------------------------ arctan: one entry in the table
def test_arctan_values_and_gradient_match_torch(torch):
    values = np.linspace(-3, 3, 7)
    x = cr.tensor(values, requires_grad=True)
    cr.arctan(x).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    torch.arctan(tx).sum().backward()
    np.testing.assert_allclose(x.arctan().data, np.arctan(values))
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-14)


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=5))
def test_arctan_passes_gradcheck_and_forward_mode_agrees(values):
    x = np.array(values)
    assert cr.gradcheck(lambda t: cr.arctan(t * t + t).sum(), (x,))
    _, tangent = cr.jvp(cr.arctan, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(tangent, 1 / (1 + x * x))


def test_arctan_second_derivative_is_minus_2x_over_1_plus_x2_squared():
    x = np.array([0.3, -1.2])
    h = cr.hessian(lambda t: cr.arctan(t).sum())(x)
    np.testing.assert_allclose(np.diag(h), -2 * x / (1 + x * x) ** 2)


# ------------------------------------------------------------------ printing
def test_format_spec_formats_a_one_element_tensor_like_its_value():
    assert f"{cr.tensor(3.14159):.2f}" == "3.14"
    assert f"{cr.tensor([[2.5]]):>6.1f}" == "   2.5"
    assert f"{(cr.tensor([1.0, 2.0], requires_grad=True) ** 2).sum():.3e}" == "5.000e+00"


def test_format_spec_on_a_many_element_tensor_raises_type_error_as_pytorch():
    with pytest.raises(TypeError, match="format"):
        f"{cr.tensor([1.0, 2.0]):.2f}"
    assert f"{cr.tensor([1.0, 2.0])}" == repr(cr.tensor([1.0, 2.0]))


def test_html_repr_shows_shape_dtype_values_grad_and_the_primitive_escaped():
    x = cr.tensor(np.arange(1000.0).reshape(10, 100), requires_grad=True)
    y = x * 2.0
    page = y._repr_html_()
    assert "(10, 100)" in page and "float64" in page and "mul((10, 100), ())" in page
    assert "..." in page and len(page) < 4000  # abbreviated
    y.sum().backward()
    assert "mul(inputs released by backward)" in y._repr_html_()
    leaf = x._repr_html_()
    assert "grad" in leaf and "<script" not in leaf


# ------------------------------------------------------------------ layering
def test_tensor_graph_works_through_the_hook_that_viz_registers():
    drawing = (cr.tensor([1.0], requires_grad=True) * 2.0).graph()
    assert "mul" in drawing.svg


# ------------------------------------------------------------------ the fast paths equal the plain path
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
