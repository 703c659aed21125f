"""Products and fused layers: matmul in every NumPy case, dot, outer, two-operand einsum, `linear` and
`softmax_cross_entropy`, each against NumPy with gradcheck and forward/reverse agreement.
"""

from __future__ import annotations

import numpy as np
import pytest
from autodiff_helpers import assert_values, check_primitive, seeds, uniform
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

MATMUL_CASES = {
    "1-D . 1-D": ((3,), (3,)),
    "1-D . 2-D": ((3,), (3, 4)),
    "2-D . 1-D": ((2, 3), (3,)),
    "2-D . 2-D": ((2, 3), (3, 4)),
    "batched . 2-D": ((5, 2, 3), (3, 4)),
    "2-D . batched": ((2, 3), (5, 3, 4)),
    "batched . 1-D": ((2, 2, 3), (3,)),
    "1-D . batched": ((3,), (2, 3, 4)),
    "broadcast batches": ((5, 1, 2, 3), (4, 3, 2)),
    "size-one matrices": ((1, 1), (1, 1)),
}


@pytest.mark.parametrize("case", sorted(MATMUL_CASES))
def test_matmul_follows_numpy_semantics_and_its_gradients_reduce_to_each_operand(case: str) -> None:
    a_shape, b_shape = MATMUL_CASES[case]
    rng = np.random.default_rng(0)
    a, b = uniform(rng, a_shape), uniform(rng, b_shape)
    check_primitive(lambda x, y: x @ y, np.matmul, [a, b])
    check_primitive(cr.matmul, np.matmul, [a, b])


@given(
    batches=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    seed=seeds,
)
def test_batched_matmul_with_broadcast_batch_dimensions(batches, sizes: tuple, seed: int) -> None:
    n, k, m = sizes
    rng = np.random.default_rng(seed)
    a = uniform(rng, (*batches.input_shapes[0], n, k))
    b = uniform(rng, (*batches.input_shapes[1], k, m))
    check_primitive(lambda x, y: x @ y, np.matmul, [a, b])


def test_matmul_with_a_plain_array_on_either_side() -> None:
    a = uniform(np.random.default_rng(1), (2, 3))
    w = uniform(np.random.default_rng(2), (3, 2))
    check_primitive(lambda x: x @ w, lambda x: x @ w, [a])
    check_primitive(lambda x: w @ x, lambda x: w @ x, [a])


def test_matmul_gradients_are_g_b_transpose_and_a_transpose_g() -> None:
    rng = np.random.default_rng(3)
    a_np, b_np, g = uniform(rng, (2, 3)), uniform(rng, (3, 4)), uniform(rng, (2, 4))
    a, b = cr.tensor(a_np, requires_grad=True), cr.tensor(b_np, requires_grad=True)
    (a @ b).backward(g)
    assert_values(a.grad, g @ b_np.T)
    assert_values(b.grad, a_np.T @ g)


@pytest.mark.parametrize(("a_shape", "b_shape"), [((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,))])
def test_dot_matches_numpy_dot(a_shape: tuple, b_shape: tuple) -> None:
    rng = np.random.default_rng(4)
    check_primitive(cr.dot, np.dot, [uniform(rng, a_shape), uniform(rng, b_shape)])


def test_outer_product_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    check_primitive(cr.outer, np.outer, [uniform(rng, (3,)), uniform(rng, (4,))])


@pytest.mark.parametrize(
    ("subscripts", "a_shape", "b_shape"),
    [
        ("ij,jk->ik", (2, 3), (3, 4)),
        ("bij,bjk->bik", (2, 2, 3), (2, 3, 4)),
        ("i,i->", (4,), (4,)),
        ("i,j->ij", (3,), (2,)),
        ("ij,kj->ik", (2, 3), (4, 3)),
        ("bi,bi->b", (3, 4), (3, 4)),
        ("ij,ij->ij", (2, 3), (2, 3)),
    ],
)
def test_einsum_with_two_operands_matches_numpy(subscripts: str, a_shape: tuple, b_shape: tuple) -> None:
    rng = np.random.default_rng(6)
    check_primitive(
        lambda x, y: cr.einsum(subscripts, x, y),
        lambda x, y: np.einsum(subscripts, x, y),
        [uniform(rng, a_shape), uniform(rng, b_shape)],
    )


@pytest.mark.parametrize("with_bias", [True, False])
@given(batch=st.integers(1, 4), n_in=st.integers(1, 4), n_out=st.integers(1, 4), seed=seeds)
def test_linear_is_x_times_w_transpose_plus_b(with_bias: bool, batch: int, n_in: int, n_out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, W, b = uniform(rng, (batch, n_in)), uniform(rng, (n_out, n_in)), uniform(rng, (n_out,))
    if with_bias:
        check_primitive(cr.linear, lambda x_, W_, b_: x_ @ W_.T + b_, [x, W, b])
    else:
        check_primitive(lambda x_, W_: cr.linear(x_, W_), lambda x_, W_: x_ @ W_.T, [x, W])
        check_primitive(lambda x_, W_: cr.linear(x_, W_, None), lambda x_, W_: x_ @ W_.T, [x, W])


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    m = logits.max(axis=1, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels]


@pytest.mark.parametrize(
    ("reduction", "reduce"), [("mean", np.mean), ("sum", np.sum), ("none", lambda v: v)]
)
@given(batch=st.integers(1, 5), classes=st.integers(2, 5), seed=seeds)
def test_softmax_cross_entropy_is_minus_log_softmax_at_the_label(
    reduction: str, reduce, batch: int, classes: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    logits = uniform(rng, (batch, classes), -3.0, 3.0)
    labels = rng.integers(0, classes, size=batch)
    check_primitive(
        lambda z: cr.softmax_cross_entropy(z, labels, reduction=reduction),
        lambda z: reduce(_cross_entropy(z, labels)),
        [logits],
    )


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot_over_batch() -> None:
    rng = np.random.default_rng(8)
    logits_np = uniform(rng, (4, 3))
    labels = np.array([0, 2, 2, 1])
    logits = cr.tensor(logits_np, requires_grad=True)
    loss = cr.softmax_cross_entropy(logits, labels)
    assert loss.shape == ()
    loss.backward()
    p = np.exp(logits_np) / np.exp(logits_np).sum(axis=1, keepdims=True)
    assert_values(logits.grad, (p - np.eye(3)[labels]) / 4, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x_shape", [(3,), (2, 4, 3)], ids=["one example", "batch of sequences"])
def test_linear_accepts_a_single_example_and_extra_leading_axes(x_shape: tuple) -> None:
    rng = np.random.default_rng(9)
    x, W, b = uniform(rng, x_shape), uniform(rng, (2, 3)), uniform(rng, (2,))
    check_primitive(cr.linear, lambda x_, W_, b_: x_ @ W_.T + b_, [x, W, b])


def test_linear_with_mismatched_weights_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear.*\(4, 3\).*\(2, 5\)"):
        cr.linear(cr.tensor(np.ones((4, 3))), cr.tensor(np.ones((2, 5))))


def test_softmax_cross_entropy_of_one_example_with_a_scalar_label() -> None:
    logits = np.array([0.5, -1.0, 2.0])
    check_primitive(
        lambda z: cr.softmax_cross_entropy(z, np.array(2)), lambda z: _cross_entropy(z[None], np.array([2]))[0],
        [logits],
    )


def test_hessian_of_softmax_cross_entropy_is_diag_p_minus_p_p_transpose_over_the_batch() -> None:
    logits = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]])
    labels = np.array([2, 0])
    H = np.asarray(cr.hessian(lambda z: cr.softmax_cross_entropy(z, labels))(logits))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = np.zeros((2, 3, 2, 3))
    for n in range(2):
        expected[n, :, n, :] = (np.diag(p[n]) - np.outer(p[n], p[n])) / 2
    np.testing.assert_allclose(H, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(("labels", "error"), [(np.array([0, 3]), ValueError), (np.array([0.0, 1.0]), TypeError)])
def test_softmax_cross_entropy_refuses_labels_out_of_range_or_not_integers(labels, error) -> None:
    with pytest.raises(error, match="softmax_cross_entropy"):
        cr.softmax_cross_entropy(cr.tensor(np.zeros((2, 3)), requires_grad=True), labels)


def test_einsum_without_an_arrow_uses_numpy_implicit_output() -> None:
    rng = np.random.default_rng(10)
    check_primitive(
        lambda a, b: cr.einsum("ij,jk", a, b), lambda a, b: np.einsum("ij,jk", a, b),
        [uniform(rng, (2, 3)), uniform(rng, (3, 4))],
    )


def test_outer_flattens_its_operands_like_numpy() -> None:
    rng = np.random.default_rng(11)
    check_primitive(cr.outer, np.outer, [uniform(rng, (2, 2)), uniform(rng, (3,))])
