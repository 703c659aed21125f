"""Shared strategies and checks for the engine's tests: shapes, seeded arrays and the two gradient checks.

Every primitive is checked the same way: values against NumPy, `gradcheck` in float64 (the reverse-mode
gradient against central differences) and ⟨w, J v⟩ = ⟨Jᵀ w, v⟩ (forward mode against reverse mode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

# Shapes of 0 to 3 dimensions with sides 1..4: includes 0-d arrays and size-1 dimensions.
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def to_numpy(value: object) -> np.ndarray:
    """The NumPy array behind a Tensor, array or number."""
    return value.data if isinstance(value, cr.Tensor) else np.asarray(value)


def as_tuple(value: object) -> tuple:
    """A vjp result as a tuple, whether the engine returns one cotangent or a tuple of them."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def uniform(rng: np.random.Generator, shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> np.ndarray:
    """Float64 values drawn uniformly from [low, high)."""
    return rng.uniform(low, high, size=shape)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], low: float = 0.2, high: float = 2.0) -> np.ndarray:
    """Float64 values with |x| in [low, high) and a random sign: keeps finite differences off a kink at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def distinct(rng: np.random.Generator, shape: tuple[int, ...], gap: float = 0.1) -> np.ndarray:
    """Float64 values that differ pairwise by at least `gap` (no ties for max/min)."""
    size = int(np.prod(shape, dtype=int))
    return (rng.permutation(size) * gap - size * gap / 2).reshape(shape)


def scalarize(f: Callable, inputs: Sequence[np.ndarray], seed: int = 0) -> Callable:
    """g(*xs) = Σ w ⊙ f(*xs) with fixed random weights w, so a non-scalar f can be gradchecked."""
    out = f(*[cr.tensor(x) for x in inputs])
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, size=np.shape(to_numpy(out)))
    return lambda *xs: (f(*xs) * weights).sum()


def assert_gradcheck(f: Callable, inputs: Sequence[np.ndarray]) -> None:
    """Reverse-mode gradients of Σ w ⊙ f agree with central finite differences in float64."""
    inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
    assert cr.gradcheck(scalarize(f, inputs), inputs) is True


def assert_forward_matches_reverse(f: Callable, inputs: Sequence[np.ndarray], seed: int = 1) -> None:
    """⟨w, J v⟩ computed by jvp equals ⟨Jᵀ w, v⟩ computed by vjp, and both give f's value."""
    rng = np.random.default_rng(seed)
    inputs = tuple(np.asarray(x, dtype=np.float64) for x in inputs)
    tangents = tuple(rng.standard_normal(x.shape) for x in inputs)
    out_fwd, tangent_out = cr.jvp(f, inputs, tangents)
    out_rev, vjp_fn = cr.vjp(f, *inputs)
    np.testing.assert_allclose(to_numpy(out_fwd), to_numpy(out_rev), rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(np.shape(to_numpy(out_rev)))
    cotangents_in = as_tuple(vjp_fn(cotangent))
    assert len(cotangents_in) == len(inputs)
    for x, ct in zip(inputs, cotangents_in):
        assert np.shape(to_numpy(ct)) == x.shape
    assert np.shape(to_numpy(tangent_out)) == np.shape(to_numpy(out_fwd))
    forward = float(np.sum(cotangent * to_numpy(tangent_out)))
    reverse = float(sum(np.sum(to_numpy(ct) * v) for ct, v in zip(cotangents_in, tangents)))
    np.testing.assert_allclose(forward, reverse, rtol=1e-9, atol=1e-9)


def assert_values(actual: object, expected: np.ndarray, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    """A Tensor (or array) has the expected shape and values."""
    actual = to_numpy(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def check_primitive(f: Callable, reference: Callable, inputs: Sequence[np.ndarray]) -> None:
    """f on Tensors matches the NumPy reference, passes gradcheck and forward/reverse consistency."""
    tensors = [cr.tensor(x, requires_grad=True) for x in inputs]
    assert_values(f(*tensors), reference(*inputs), rtol=1e-10, atol=1e-12)
    assert_gradcheck(f, inputs)
    assert_forward_matches_reverse(f, inputs)
