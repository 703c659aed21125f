"""Every mode nests in every other, because jvp rules (like vjp rules) are chainrule operations:
forward over forward, forward over reverse and reverse over forward, each against PyTorch's torch.func."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

W = np.array([[0.5, -1.0, 0.3], [0.2, 0.4, -0.7]])


def vector_f(lib, x):
    """R³ → R²: tanh(W x) ⊙ (x₀, x₁) + log_softmax(x)₀ · sin(x₂), built from several kinds of primitive."""
    Wt = lib.from_array(W)
    h = lib.tanh(Wt @ x) * x[:2]
    return h + lib.log_softmax(x)[0] * lib.sin(x[2])


def scalar_f(lib, x):
    """R³ → R: a sum of products, a reduction and a smooth nonlinearity."""
    return (lib.exp(x * 0.5) * lib.sigmoid(x[[2, 0, 1]])).sum() + lib.logsumexp(x * x)


class Chainrule:
    from_array = staticmethod(cr.tensor)
    tanh, sin, exp, sigmoid = cr.tanh, cr.sin, cr.exp, cr.sigmoid
    log_softmax = staticmethod(lambda x: cr.log_softmax(x, axis=-1))
    logsumexp = staticmethod(lambda x: cr.logsumexp(x))


def torch_lib(torch):
    class Torch:
        from_array = staticmethod(lambda a: torch.tensor(a))
        tanh, sin, exp, sigmoid = torch.tanh, torch.sin, torch.exp, torch.sigmoid
        log_softmax = staticmethod(lambda x: torch.log_softmax(x, dim=-1))
        logsumexp = staticmethod(lambda x: torch.logsumexp(x, dim=0))
    return Torch


X0 = np.array([0.3, -0.8, 1.1])


def test_forward_over_forward_second_derivatives_match_torch(torch):
    ours = cr.jacobian(cr.jacobian(lambda x: vector_f(Chainrule, x), mode="fwd"), mode="fwd")(X0)
    lib = torch_lib(torch)
    theirs = torch.func.jacfwd(torch.func.jacfwd(lambda x: vector_f(lib, x)))(torch.tensor(X0))
    assert ours.shape == (2, 3, 3)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_forward_over_reverse_hessian_matches_torch(torch):
    ours = cr.jacobian(cr.grad(lambda x: scalar_f(Chainrule, x)), mode="fwd")(X0)
    lib = torch_lib(torch)
    theirs = torch.func.jacfwd(torch.func.jacrev(lambda x: scalar_f(lib, x)))(torch.tensor(X0))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours, cr.hessian(lambda x: scalar_f(Chainrule, x))(X0), rtol=1e-10, atol=1e-12)


def test_reverse_over_forward_second_derivatives_match_torch(torch):
    ours = cr.jacobian(cr.jacobian(lambda x: vector_f(Chainrule, x), mode="fwd"), mode="rev")(X0)
    lib = torch_lib(torch)
    theirs = torch.func.jacrev(torch.func.jacfwd(lambda x: vector_f(lib, x)))(torch.tensor(X0))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_of_a_jvp_is_the_hessian_vector_product(torch):
    v = np.array([1.0, -2.0, 0.5])
    ours = cr.grad(lambda x: cr.jvp(lambda y: scalar_f(Chainrule, y), (x,), (v,))[1])(X0)
    lib = torch_lib(torch)
    _, theirs = torch.autograd.functional.hvp(lambda x: scalar_f(lib, x), torch.tensor(X0), torch.tensor(v))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_nested_jvps_do_not_confuse_their_perturbations():
    # d/dx [x · d/dy (x + y)]|_{y=1} = d/dx [x · 1] = 1 (perturbation confusion would give 2)
    def inner(x):
        return cr.jvp(lambda y: x + y, (np.array(1.0),), (np.array(1.0),))[1]

    _, outer = cr.jvp(lambda x: x * inner(x), (np.array(1.0),), (np.array(1.0),))
    assert float(outer) == 1.0


def test_third_derivative_by_forward_over_forward_over_forward():
    third = cr.jacobian(cr.jacobian(cr.jacobian(cr.sin, mode="fwd"), mode="fwd"), mode="fwd")(np.array([0.4]))
    np.testing.assert_allclose(third.reshape(-1), [-np.cos(0.4)])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
def test_all_second_order_nestings_agree(values):
    x = np.array(values)

    def f(t):
        return scalar_f(Chainrule, t)
    rev_rev = cr.hessian(f)(x)
    fwd_rev = cr.jacobian(cr.grad(f), mode="fwd")(x)
    fwd_fwd = cr.jacobian(cr.jacobian(f, mode="fwd"), mode="fwd")(x)
    rev_fwd = cr.jacobian(cr.jacobian(f, mode="fwd"), mode="rev")(x)
    for other in (fwd_rev, fwd_fwd, rev_fwd):
        np.testing.assert_allclose(other.reshape(rev_rev.shape), rev_rev, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", ["prod", "max", "var", "einsum", "matmul", "concatenate", "where"])
def test_forward_over_forward_through_each_numpy_free_jvp_rule(name):
    ops = {
        "prod": lambda t: cr.prod(t * t + 1.0),
        "max": lambda t: cr.max(t * t),
        "var": lambda t: cr.var(t * t),
        "einsum": lambda t: cr.einsum("i,i->", t, cr.sin(t)),
        "matmul": lambda t: cr.matmul(cr.sin(t), t),
        "concatenate": lambda t: (cr.concatenate([t * t, cr.sin(t)]) ** 2).sum(),
        "where": lambda t: cr.where(np.array([True, False, True]), t * t * t, cr.sin(t)).sum(),
    }
    f = ops[name]
    x = np.array([0.3, -0.7, 1.2])
    fwd_fwd = cr.jacobian(cr.jacobian(f, mode="fwd"), mode="fwd")(x)
    np.testing.assert_allclose(fwd_fwd, cr.hessian(f)(x), rtol=1e-9, atol=1e-11)
