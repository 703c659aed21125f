"""The table of primitives: each one's forward (NumPy), vector-Jacobian products and Jacobian-vector products.

Read it like a page of derivative rules. In each rule `g` is ḡ = ∂C/∂y (vjp) or `d…` a tangent (jvp), `y` is
the output and the remaining names are the inputs. Primitives are named `<name>_p` (`sin_p`), apart from the
functions users call (`chainrule.sin`, in functions.py), so nothing here is rebound and no builtin is shadowed.
vjp and jvp rules alike are written with chainrule's own operations, so under `create_graph=True` or inside a
forward sweep they build differentiable results and every mode nests in every other; on plain arrays the same
operations are just NumPy. Broadcasting is undone in one place (backward.reduce_to_shape), so no rule sums over
broadcast axes itself. Composite functions (std, stack, split, ...) are at the end.
"""
from __future__ import annotations

import functools
import math
import operator
from typing import Any

import numpy as np

from .tensor import LINEAR, Primitive, Tensor, array_helper, value_of

_AxisError = getattr(np, "exceptions", np).AxisError


# ---------------------------------------------------------------------------------------------- helpers
def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axis argument (None, int or tuple, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise _AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        result.append(int(a) % max(ndim, 1) if ndim else 0)
    if len(set(result)) != len(result):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return tuple(sorted(result)) if ndim else ()


def _kept_shape(x: Any, axis: Any) -> tuple:
    """x's shape with the reduced axes kept as size 1."""
    shape = x.shape
    if axis is None:
        return (1,) * len(shape)
    axes = normalize_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _kept(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """ḡ of a reduction reshaped with the reduced axes kept as size 1, so it broadcasts against x."""
    return g if keepdims else g.reshape(_kept_shape(x, axis))


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """ḡ of a reduction broadcast back to x's shape."""
    if isinstance(g, Tensor):
        return broadcast_to(_kept(g, x, axis, keepdims), x.shape)
    return _repeated(g, x.shape if axis is None else _kept_shape(x, axis), x.shape)


def _repeated(g: Any, kept_shape: tuple, shape: tuple) -> np.ndarray:
    """g (of kept_shape, its reduced axes of size 1) repeated along those axes to `shape`: a read-only view.

    Made directly with zero strides: np.broadcast_to gives the same view but costs several times more,
    which matters because every loss ends in a reduction.
    """
    if isinstance(g, np.generic):  # one value: a NumPy scalar lends a read-only buffer
        return np.ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
    g = np.asarray(g)
    if g.size == 1:
        strides = (0,) * len(shape)
    elif g.flags.c_contiguous:
        g = g.reshape(kept_shape)
        strides = tuple(0 if n == 1 else stride for n, stride in zip(kept_shape, g.strides))
    else:
        return np.broadcast_to(g.reshape(kept_shape), shape)
    view = np.ndarray(shape, g.dtype, g, 0, strides)
    view.flags.writeable = False
    return view


def _count(x: Any, axis: Any) -> int:
    """How many elements each result of a reduction over `axis` summarises."""
    if axis is None:
        return x.size
    shape = x.shape
    return math.prod(shape[a] for a in normalize_axes(axis, len(shape)))


def _in_dtype(array: np.ndarray, like: Any) -> np.ndarray:
    return array.astype(np.result_type(value_of(like)), copy=False)


# ---------------------------------------------------------------------------------------------- arithmetic
add_p = Primitive("add", operator.add, promotes=True,
    vjp=(lambda g, y, a, b: g,
         lambda g, y, a, b: g),
    jvp=(lambda da, y, a, b: da,
         lambda db, y, a, b: db))

sub_p = Primitive("sub", operator.sub, promotes=True,
    vjp=(lambda g, y, a, b: g,
         lambda g, y, a, b: -g),
    jvp=(lambda da, y, a, b: da,
         lambda db, y, a, b: -db))

mul_p = Primitive("mul", operator.mul, promotes=True,
    vjp=(lambda g, y, a, b: g * b,
         lambda g, y, a, b: g * a),
    jvp=(lambda da, y, a, b: da * b,
         lambda db, y, a, b: a * db))

div_p = Primitive("div", operator.truediv, promotes=True,
    vjp=(lambda g, y, a, b: g / b,
         lambda g, y, a, b: -g * y / b),
    jvp=(lambda da, y, a, b: da / b,
         lambda db, y, a, b: -db * y / b))

power_p = Primitive("pow", operator.pow, promotes=True,
    vjp=(lambda g, y, a, b: g * b * a ** (b - 1),
         lambda g, y, a, b: g * log_p(a) * y),
    jvp=(lambda da, y, a, b: da * b * a ** (b - 1),
         lambda db, y, a, b: db * log_p(a) * y))

neg_p = Primitive("neg", operator.neg,
    vjp=(lambda g, y, x: -g,),
    jvp=LINEAR)

identity_p = Primitive("identity", lambda x: x,
    vjp=(lambda g, y, x: g,),
    jvp=LINEAR)


def _cast(x: np.ndarray, dtype: Any) -> np.ndarray:
    return x.astype(dtype, copy=False)


astype_p = Primitive("astype", _cast,
    vjp=(lambda g, y, x, dtype: astype_p(g, value_of(x).dtype),),
    jvp=(lambda dx, y, x, dtype: astype_p(dx, dtype),))  # linear, but its dtype is an operand, not a parameter


# ---------------------------------------------------------------------------------------------- elementwise
def _exp(x: np.ndarray) -> np.ndarray:
    """e^x; a result too small for the dtype is exactly 0, which is right, so underflow is not an error."""
    with np.errstate(under="ignore"):
        return np.exp(x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^−x), computed from e^−|x| so that no exponential overflows."""
    e = _exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^−|x|), with no overflow."""
    return np.maximum(x, 0) + np.log1p(_exp(-np.abs(x)))


exp_p = Primitive("exp", _exp,
    vjp=(lambda g, y, x: g * y,),
    jvp=(lambda dx, y, x: dx * y,))

log_p = Primitive("log", np.log,
    vjp=(lambda g, y, x: g / x,),
    jvp=(lambda dx, y, x: dx / x,))

log1p_p = Primitive("log1p", np.log1p,
    vjp=(lambda g, y, x: g / (1 + x),),
    jvp=(lambda dx, y, x: dx / (1 + x),))

expm1_p = Primitive("expm1", np.expm1,
    vjp=(lambda g, y, x: g * (y + 1),),
    jvp=(lambda dx, y, x: dx * (y + 1),))

sqrt_p = Primitive("sqrt", np.sqrt,
    vjp=(lambda g, y, x: g / (2 * y),),
    jvp=(lambda dx, y, x: dx / (2 * y),))

square_p = Primitive("square", np.square,
    vjp=(lambda g, y, x: g * (2 * x),),
    jvp=(lambda dx, y, x: dx * (2 * x),))

sin_p = Primitive("sin", np.sin,
    vjp=(lambda g, y, x: g * cos_p(x),),
    jvp=(lambda dx, y, x: dx * cos_p(x),))

cos_p = Primitive("cos", np.cos,
    vjp=(lambda g, y, x: -g * sin_p(x),),
    jvp=(lambda dx, y, x: -dx * sin_p(x),))

tan_p = Primitive("tan", np.tan,
    vjp=(lambda g, y, x: g * (1 + y * y),),
    jvp=(lambda dx, y, x: dx * (1 + y * y),))

arctan_p = Primitive("arctan", np.arctan,
    vjp=(lambda g, y, x: g / (1 + x * x),),
    jvp=(lambda dx, y, x: dx / (1 + x * x),))

tanh_p = Primitive("tanh", np.tanh,
    vjp=(lambda g, y, x: g * (1 - y * y),),
    jvp=(lambda dx, y, x: dx * (1 - y * y),))

sigmoid_p = Primitive("sigmoid", _sigmoid,
    vjp=(lambda g, y, x: g * y * (1 - y),),
    jvp=(lambda dx, y, x: dx * y * (1 - y),))

softplus_p = Primitive("softplus", _softplus,
    vjp=(lambda g, y, x: g * sigmoid_p(x),),
    jvp=(lambda dx, y, x: dx * sigmoid_p(x),))

relu_p = Primitive("relu", lambda x: np.maximum(x, 0),  # the rules read y: y > 0 exactly where x > 0
    vjp=(lambda g, y, x: g * (y > 0),),
    jvp=(lambda dx, y, x: dx * (y > 0),))

leaky_relu_p = Primitive("leaky_relu", lambda x, slope=0.01: np.where(x > 0, x, x * slope),
    vjp=(lambda g, y, x, slope=0.01: where_p(x > 0, g, g * slope),),
    jvp=(lambda dx, y, x, slope=0.01: where_p(x > 0, dx, dx * slope),))

@array_helper
def _sign_of(x: Any) -> Any:
    """sign(x) as plain values: where x > 0, 1; where x < 0, −1; at 0, 0 (the subgradient chosen at the kink)."""
    return np.sign(value_of(x))


abs_p = Primitive("abs", np.abs,
    vjp=(lambda g, y, x: g * _sign_of(x),),
    jvp=(lambda dx, y, x: dx * _sign_of(x),))

sign_p = Primitive("sign", np.sign,
    vjp=(lambda g, y, x: g * 0,),
    jvp=(lambda dx, y, x: dx * 0,))


@array_helper
def _tie_share(first: Any, second: Any) -> np.ndarray:
    """1 where first wins, ½ on ties, 0 where it loses: how maximum/minimum split ḡ."""
    a, b = value_of(first), value_of(second)
    share = (a > b) + 0.5 * (a == b)
    return _in_dtype(np.asarray(share), np.result_type(a, b))


maximum_p = Primitive("maximum", np.maximum, promotes=True,
    vjp=(lambda g, y, a, b: g * _tie_share(a, b),
         lambda g, y, a, b: g * _tie_share(b, a)),
    jvp=(lambda da, y, a, b: da * _tie_share(a, b),
         lambda db, y, a, b: db * _tie_share(b, a)))

minimum_p = Primitive("minimum", np.minimum, promotes=True,
    vjp=(lambda g, y, a, b: g * _tie_share(b, a),
         lambda g, y, a, b: g * _tie_share(a, b)),
    jvp=(lambda da, y, a, b: da * _tie_share(b, a),
         lambda db, y, a, b: db * _tie_share(a, b)))

where_p = Primitive("where", np.where,
    vjp=(None,
         lambda g, y, cond, a, b: where_p(cond, g, 0),
         lambda g, y, cond, a, b: where_p(cond, 0, g)),
    jvp=(None,
         lambda da, y, cond, a, b: where_p(cond, da, 0),
         lambda db, y, cond, a, b: where_p(cond, 0, db)))


@array_helper
def _inside(x: Any, low: Any, high: Any) -> np.ndarray:
    x = value_of(x)
    mask = np.ones(np.shape(x), dtype=bool)
    if low is not None:
        mask &= x >= low
    if high is not None:
        mask &= x <= high
    return mask


clip_p = Primitive("clip", lambda x, low, high: np.clip(x, low, high),
    vjp=(lambda g, y, x, low, high: g * _inside(x, low, high),),
    jvp=(lambda dx, y, x, low, high: dx * _inside(x, low, high),))


# ---------------------------------------------------------------------------------------------- reductions
def _as_values(x: Any) -> Any:
    return x if isinstance(x, (np.ndarray, np.generic)) else np.asarray(x)


def _reduction(ufunc: np.ufunc) -> Any:
    """The forward of a reduction: the ufunc's reduce (what x.sum() and the like call, without their Python
    wrapper), after checking the axes."""
    reduce = ufunc.reduce

    def forward(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        x = _as_values(x)
        if axis is None:
            return reduce(x, axis=None, keepdims=True) if keepdims else reduce(x, axis=None)
        normalize_axes(axis, x.ndim)
        return reduce(x, axis=axis, keepdims=keepdims)
    return forward


def _mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Σx / n over the axes (in x's floating dtype; integers give float64, as NumPy)."""
    x = _as_values(x)
    if axis is not None:
        normalize_axes(axis, x.ndim)
    total = np.add.reduce(x, axis=axis, keepdims=keepdims)
    if x.dtype.kind != "f":
        total = total.astype(np.float64)
    return total / _count(x, axis) if x.size else np.mean(x, axis=axis, keepdims=keepdims)


sum_p = Primitive("sum", _reduction(np.add),
    vjp=(lambda g, y, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims),),
    jvp=LINEAR)

mean_p = Primitive("mean", _mean,
    vjp=(lambda g, y, x, axis=None, keepdims=False: _spread(g / _count(x, axis), x, axis, keepdims),),
    jvp=LINEAR)


def _others_product(x: Any, axis: Any) -> np.ndarray:
    """∂(Πx)/∂x_i = Π_{j≠i} x_j along the axes, exact even where some x_j are zero."""
    x = value_of(x)
    axes = normalize_axes(axis, x.ndim)
    moved = np.moveaxis(x, axes, range(len(axes))) if axes else x[None]
    flat = moved.reshape((-1,) + moved.shape[len(axes) or 1:])
    before = np.concatenate([np.ones_like(flat[:1]), np.cumprod(flat, axis=0)[:-1]])
    after = np.concatenate([np.cumprod(flat[::-1], axis=0)[:-1][::-1], np.ones_like(flat[:1])])
    result = (before * after).reshape(moved.shape)
    return np.moveaxis(result, range(len(axes)), axes) if axes else result[0]


def _others(y: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """Π_{j≠i} x_j = y / x_i where no x is zero (differentiable again); exact products elsewhere."""
    if np.all(value_of(x) != 0):
        return _kept(y, x, axis, keepdims) / x
    return _others_product(x, axis)


def _prod_vjp(g: Any, y: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """ḡ · Π_{j≠i} x_j."""
    return _spread(g, x, axis, keepdims) * _others(y, x, axis, keepdims)


prod_p = Primitive("prod", _reduction(np.multiply),
    vjp=(_prod_vjp,),
    jvp=(lambda dx, y, x, axis=None, keepdims=False:
         sum_p(dx * _others(y, x, axis, keepdims), axis=axis, keepdims=keepdims),))


@array_helper
def _extreme_share(x: Any, y: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """1/k at each of the k positions that attain the max (or min), 0 elsewhere: ties share ḡ equally."""
    x = value_of(x)
    hits = x == _kept(value_of(y), x, axis, keepdims)
    return _in_dtype(hits / hits.sum(axis=axis, keepdims=True), x)


max_p = Primitive("max", _reduction(np.maximum),
    vjp=(lambda g, y, x, axis=None, keepdims=False:
         _spread(g, x, axis, keepdims) * _extreme_share(x, y, axis, keepdims),),
    jvp=(lambda dx, y, x, axis=None, keepdims=False:
         sum_p(dx * _extreme_share(x, y, axis, keepdims), axis=axis, keepdims=keepdims),))

min_p = Primitive("min", _reduction(np.minimum),
    vjp=max_p.vjps,
    jvp=max_p.jvps)


def _var(x: np.ndarray, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> np.ndarray:
    normalize_axes(axis, x.ndim)
    return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)


var_p = Primitive("var", _var,
    vjp=(lambda g, y, x, axis=None, ddof=0, keepdims=False:
         _spread(g, x, axis, keepdims) * (2 * (x - mean_p(x, axis=axis, keepdims=True)) / (_count(x, axis) - ddof)),),
    jvp=(lambda dx, y, x, axis=None, ddof=0, keepdims=False:
         sum_p(dx * (x - mean_p(x, axis=axis, keepdims=True)), axis=axis, keepdims=keepdims)
         * (2 / (_count(x, axis) - ddof)),))


def _logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    """log Σ e^x = m + log Σ e^(x − m) with m = max x, so nothing overflows."""
    normalize_axes(axis, x.ndim)
    if x.size == 0:
        return np.log(np.sum(_exp(x), axis=axis, keepdims=keepdims))
    m = np.max(x, axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(_exp(x - m), axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=normalize_axes(axis, x.ndim))


logsumexp_p = Primitive("logsumexp", _logsumexp,
    vjp=(lambda g, y, x, axis=None, keepdims=False:
         _spread(g, x, axis, keepdims) * exp_p(x - _kept(y, x, axis, keepdims)),),
    jvp=(lambda dx, y, x, axis=None, keepdims=False:
         sum_p(dx * exp_p(x - _kept(y, x, axis, keepdims)), axis=axis, keepdims=keepdims),))


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^(x − max x) / Σ e^(x − max x): nothing overflows."""
    e = _exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """(x − m) − log Σ e^(x − m) with m = max x: the shift is exact, so nothing cancels at large |x|."""
    m = np.max(x, axis=axis, keepdims=True)
    if not np.isfinite(m).all():
        m = np.where(np.isfinite(m), m, 0)
    shifted = x - m
    return shifted - np.log(np.sum(_exp(shifted), axis=axis, keepdims=True))


softmax_p = Primitive("softmax", _softmax,
    vjp=(lambda g, y, x, axis=-1: y * (g - (g * y).sum(axis=axis, keepdims=True)),),
    jvp=(lambda dx, y, x, axis=-1: y * (dx - (dx * y).sum(axis=axis, keepdims=True)),))

log_softmax_p = Primitive("log_softmax", _log_softmax,
    vjp=(lambda g, y, x, axis=-1: g - exp_p(y) * g.sum(axis=axis, keepdims=True),),
    jvp=(lambda dx, y, x, axis=-1: dx - (exp_p(y) * dx).sum(axis=axis, keepdims=True),))


# ---------------------------------------------------------------------------------------------- shapes
reshape_p = Primitive("reshape", lambda x, shape: np.reshape(x, shape),
    vjp=(lambda g, y, x, shape: g.reshape(np.shape(value_of(x))),),
    jvp=LINEAR)


def _inverse(axes: Any, ndim: int) -> Any:
    return None if axes is None else tuple(np.argsort([a % ndim for a in axes]))


transpose_p = Primitive("transpose", lambda x, axes=None: np.transpose(x, axes),
    vjp=(lambda g, y, x, axes=None: transpose(g, _inverse(axes, np.ndim(value_of(x)))),),
    jvp=LINEAR)

broadcast_to_p = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
    vjp=(lambda g, y, x, shape: g,),  # backward.reduce_to_shape sums ḡ back to x's shape
    jvp=LINEAR)


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


def _scatter_add(g: np.ndarray, index: Any, shape: tuple) -> np.ndarray:
    """An array of zeros of `shape` with g added at `index` (repeated indices add up)."""
    out = np.zeros(shape, dtype=np.result_type(g))
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


getitem_p = Primitive("getitem", lambda x, index: x[index],
    vjp=(lambda g, y, x, index: scatter_add_p(g, index=index, shape=np.shape(value_of(x))),),
    jvp=LINEAR)

scatter_add_p = Primitive("scatter_add", _scatter_add,
    vjp=(lambda g, y, source, index, shape: getitem(g, index=index),),
    jvp=LINEAR)


def _concatenate(*xs: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.concatenate(xs, axis=axis)


def _piece(i: int, xs: tuple, axis: int) -> tuple:
    """The index of input i's slab inside the concatenation along `axis`."""
    shapes = [np.shape(value_of(x)) for x in xs]
    axis = normalize_axes(axis, len(shapes[0]))[0]
    start = sum(s[axis] for s in shapes[:i])
    return (slice(None),) * axis + (slice(start, start + shapes[i][axis]),)


def _concatenate_vjp(i: int) -> Any:
    return lambda g, y, *xs, axis=0: getitem(g, index=_piece(i, xs, axis))


def _concatenate_jvp(i: int) -> Any:
    return lambda dx, y, *xs, axis=0: concatenate_p(
        *[dx if j == i else np.zeros_like(value_of(x)) for j, x in enumerate(xs)], axis=axis)


concatenate_p = Primitive("concatenate", _concatenate,
    vjp=_concatenate_vjp, jvp=_concatenate_jvp, variadic=True)


# ---------------------------------------------------------------------------------------------- products
def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, shapes {np.shape(a)} and {np.shape(b)}")
    inner_a = np.shape(a)[-1]
    inner_b = np.shape(b)[-2] if np.ndim(b) > 1 else np.shape(b)[0]
    if inner_a != inner_b:
        raise ValueError(f"matmul: shapes {np.shape(a)} and {np.shape(b)} do not line up: {inner_a} != {inner_b}")
    return np.matmul(a, b)


def _matmul_vjp_a(g: Any, y: Any, a: Any, b: Any) -> Any:
    """∂C/∂A = ḡ Bᵀ (with 1-D operands treated as a row or column vector)."""
    if np.ndim(value_of(b)) == 1:
        g = expand_dims(g, -1)                            # (..., m, 1)
        b = reshape(b, (1, -1))                           # (1, k)
        return g * b if np.ndim(value_of(a)) > 1 else (g * b)[..., 0, :]
    if np.ndim(value_of(a)) == 1:
        return matmul_p(expand_dims(g, -2), swapaxes(b, -1, -2))[..., 0, :]
    return matmul_p(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g: Any, y: Any, a: Any, b: Any) -> Any:
    """∂C/∂B = Aᵀ ḡ (with 1-D operands treated as a row or column vector)."""
    if np.ndim(value_of(a)) == 1:
        if np.ndim(value_of(b)) == 1:
            return g * a
        return reshape(a, (-1, 1)) * expand_dims(g, -2)   # (k, 1) * (..., 1, n)
    if np.ndim(value_of(b)) == 1:
        return matmul_p(swapaxes(a, -1, -2), expand_dims(g, -1))[..., 0]
    return matmul_p(swapaxes(a, -1, -2), g)


matmul_p = Primitive("matmul", _matmul,
    vjp=(_matmul_vjp_a, _matmul_vjp_b),
    jvp=(lambda da, y, a, b: matmul_p(da, b),
         lambda db, y, a, b: matmul_p(a, db)))


def _linear(x: np.ndarray, W: np.ndarray, b: Any = None) -> np.ndarray:
    if W.ndim != 2 or x.shape[-1:] != W.shape[1:]:
        raise ValueError(f"linear: input of shape {np.shape(x)} does not fit weights of shape {W.shape} "
                         f"(out, in): the input's last axis must be {W.shape[-1] if W.ndim else '?'}")
    y = np.matmul(x, W.T)
    if b is not None:
        y += b
    return y


def _rows(v: Any) -> Any:
    """v as a 2-D matrix with one row per example."""
    ndim = v.ndim
    if ndim == 2:
        return v
    return v.reshape(1, -1) if ndim == 1 else v.reshape(-1, v.shape[-1])


def _linear_vjp_W(g: Any, y: Any, x: Any, W: Any, b: Any = None) -> Any:
    """∂C/∂W = Σ over examples of ḡ xᵀ, i.e. gᵀ x with one row per example."""
    if g.ndim != 2 or x.ndim != 2:
        g, x = _rows(g), _rows(x)
    if g.shape[0] == 1:
        return g.T * x  # one example: an outer product, far cheaper than a matrix product of inner size 1
    return g.T @ x


def _linear_vjp_b(g: Any, y: Any, x: Any, W: Any, b: Any = None) -> Any:
    """∂C/∂b = Σ over examples of ḡ."""
    if g.ndim != 2:
        g = _rows(g)
    return np.add.reduce(g, axis=0) if type(g) is np.ndarray else g.sum(axis=0)


linear_p = Primitive("linear", _linear,
    vjp=(lambda g, y, x, W, b=None: g @ W,
         _linear_vjp_W,
         _linear_vjp_b),
    jvp=(lambda dx, y, x, W, b=None: dx @ W.T,
         lambda dW, y, x, W, b=None: x @ dW.T,
         lambda db, y, x, W, b=None: db))


def _check_labels(logits: np.ndarray, labels: Any) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if logits.ndim not in (1, 2):
        raise ValueError(f"softmax_cross_entropy: logits must be (classes,) or (batch, classes), got {logits.shape}")
    if labels.shape != logits.shape[:-1]:
        rows = logits.shape[0] if logits.ndim == 2 else "1 row"
        raise ValueError(f"softmax_cross_entropy: {rows} rows of logits but labels of shape {labels.shape} "
                         f"({labels.size} labels); one integer label per row")
    return labels


def _labelled(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """z_label of each example (z[label] for one example), naming labels outside 0..classes − 1."""
    classes = z.shape[-1]
    # NumPy would count negative labels from the end
    if labels.dtype.kind == "i" and labels.size and np.minimum.reduce(labels, axis=None) < 0:
        raise ValueError(f"softmax_cross_entropy: class labels must lie in 0..{classes - 1} for {classes} "
                         f"outputs, got {labels.min()}")
    try:
        return z[_picked(z, labels)]
    except IndexError:
        raise ValueError(f"softmax_cross_entropy: class labels must lie in 0..{classes - 1} for {classes} "
                         f"outputs, got {labels.max()}") from None


@array_helper
def _one_hot(labels: np.ndarray, logits: Any) -> np.ndarray:
    logits = value_of(logits)
    hot = np.zeros(logits.shape, dtype=logits.dtype)
    np.put_along_axis(hot, np.asarray(labels)[..., None], 1, axis=-1)
    return hot


def _picked(z: np.ndarray, labels: np.ndarray) -> tuple:
    """The index of each example's labelled class: z[_picked(z, labels)] = z_label per example."""
    return (_row_numbers(len(labels)), labels) if z.ndim == 2 else (labels,)


@functools.lru_cache(maxsize=16)
def _row_numbers(n: int) -> np.ndarray:
    """0, 1, ..., n − 1, read-only and kept: every batch of one size indexes its rows with the same array."""
    rows = np.arange(n)
    rows.flags.writeable = False
    return rows


def _softmax_cross_entropy(logits: np.ndarray, labels: Any, reduction: str = "mean") -> tuple:
    """C = log Σ_c e^{z_c} − z_label per example, then reduced; and softmax(z), which the vjp needs."""
    labels = _check_labels(logits, labels)
    with np.errstate(under="ignore", invalid="ignore"):  # e^(very negative) = 0 is right; ±inf is redone below
        shifted = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
        e = np.exp(shifted)
        total = np.add.reduce(e, axis=-1, keepdims=True)
        losses = np.log(total[..., 0])  # log Σ e^{z − max} − (z_label − max): nothing overflows
    losses -= _labelled(shifted, labels)
    loss = _reduce_losses(losses, reduction, "softmax_cross_entropy")
    if np.isfinite(loss).all() if reduction == "none" else math.isfinite(loss):
        e /= total
        return loss, e
    losses = _logsumexp(logits, axis=-1) - logits[_picked(logits, labels)]  # infinite logits: the general route
    return _reduce_losses(losses, reduction, "softmax_cross_entropy"), _softmax(logits)


def _cross_entropy_vjp(g: Any, y: Any, z: Any, labels: Any, probabilities: Any = None,
                       reduction: str = "mean") -> Any:
    """∂C/∂z = ḡ of each example · (softmax(z) − onehot(label))."""
    if isinstance(z, Tensor):
        return _per_example(g, z, reduction) * (softmax_p(z) - _one_hot(labels, z))
    grad = probabilities.copy()  # the node keeps its probabilities (a second backward may need them)
    grad[_picked(z, np.asarray(labels))] -= 1
    grad *= _per_example(g, z, reduction)
    return grad


def _reduce_losses(losses: np.ndarray, reduction: str, name: str) -> np.ndarray:
    if reduction == "mean":
        return np.add.reduce(losses, axis=None) / losses.size if losses.size else np.mean(losses)
    if reduction == "sum":
        return np.add.reduce(losses, axis=None)
    if reduction == "none":
        return losses
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce_tangent(losses: Any, reduction: str) -> Any:
    """The tangent of the reduced loss from the tangents of the per-example losses."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _per_example(g: Any, logits: Any, reduction: str) -> Any:
    """ḡ for each example's loss, shaped to broadcast against the logits."""
    if reduction == "none":
        return expand_dims(g, -1)
    if reduction == "mean":
        return g / max(1, logits.size // logits.shape[-1])
    return g


softmax_cross_entropy_p = Primitive("softmax_cross_entropy", _softmax_cross_entropy,
    vjp=(_cross_entropy_vjp, None),
    jvp=(lambda dz, y, z, labels, probabilities, reduction="mean":
         _reduce_tangent(sum_p((softmax_p(z) - _one_hot(labels, z)) * dz, axis=-1), reduction),
         None),
    residual=True)


def _einsum_parts(subscripts: str, *operands: Any) -> tuple[list[str], str]:
    if "..." in subscripts:
        raise ValueError("einsum: '...' is not supported; name every axis")
    inputs, _, output = subscripts.replace(" ", "").partition("->")
    parts = inputs.split(",")
    if len(parts) != len(operands):
        raise ValueError(f"einsum: {len(parts)} operand subscripts for {len(operands)} operands")
    if "->" not in subscripts:
        letters = "".join(parts)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for p in parts:
        if len(set(p)) != len(p):
            raise ValueError(f"einsum: repeated index within operand '{p}' (a diagonal) is not supported")
    return parts, output


def _einsum(*operands: np.ndarray, subscripts: str) -> np.ndarray:
    parts, output = _einsum_parts(subscripts, *operands)
    return np.einsum(",".join(parts) + "->" + output, *operands)


def _einsum_rule(i: int) -> Any:
    """∂C/∂operand_i: contract ḡ with the other operands onto operand i's indices, broadcasting the rest."""
    def rule(g: Any, y: Any, *xs: Any, subscripts: str) -> Any:
        parts, output = _einsum_parts(subscripts, *xs)
        others = [p for j, p in enumerate(parts) if j != i]
        available = set(output).union(*others)
        kept = "".join(c for c in parts[i] if c in available)
        spec = ",".join([output] + others) + "->" + kept
        part = einsum(spec, g, *[x for j, x in enumerate(xs) if j != i])
        if kept == parts[i]:
            return part
        shape = tuple(n if c in available else 1 for c, n in zip(parts[i], np.shape(value_of(xs[i]))))
        return broadcast_to(reshape(part, shape), np.shape(value_of(xs[i])))
    return rule


def _einsum_jvp(i: int) -> Any:
    def rule(dx: Any, y: Any, *xs: Any, subscripts: str) -> Any:
        return einsum_p(*[dx if j == i else x for j, x in enumerate(xs)], subscripts=subscripts)
    return rule


einsum_p = Primitive("einsum", _einsum, vjp=_einsum_rule, jvp=_einsum_jvp, variadic=True)


# ---------------------------------------------------------------------------------------------- composites
def einsum(subscripts: str, *operands: Any) -> Any:
    """Einstein summation, e.g. einsum('ij,jk->ik', A, B) = A @ B (no '...' and no diagonals)."""
    return einsum_p(*operands, subscripts=subscripts)


def concatenate(tensors: Any, axis: int = 0) -> Any:
    """Join tensors along an existing axis."""
    return concatenate_p(*tensors, axis=axis)


def stack(tensors: Any, axis: int = 0) -> Any:
    """Join tensors along a new axis."""
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split x along `axis` into equal sections, or at the given indices (NumPy's semantics)."""
    n = np.shape(value_of(x))[normalize_axes(axis, np.ndim(value_of(x)))[0]]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n % indices_or_sections:
            raise ValueError(f"split: an axis of length {n} does not split into {indices_or_sections} equal parts")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:
        bounds = [0, *indices_or_sections, n]
    axis = normalize_axes(axis, np.ndim(value_of(x)))[0]
    lead = (slice(None),) * axis
    return [getitem(x, index=lead + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def expand_dims(x: Any, axis: Any) -> Any:
    """Insert a size-1 axis at `axis`."""
    return reshape(x, shape=np.expand_dims(np.empty(np.shape(value_of(x)), dtype=bool), axis).shape)


def squeeze(x: Any, axis: Any = None) -> Any:
    """Remove size-1 axes (all of them, or those named)."""
    return reshape(x, shape=np.squeeze(np.empty(np.shape(value_of(x)), dtype=bool), axis).shape)


def flatten(x: Any) -> Any:
    """The values as one axis."""
    return reshape(x, shape=(-1,))


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Exchange two axes."""
    ndim = np.ndim(value_of(x))
    (axis1,), (axis2,) = normalize_axes(axis1, ndim), normalize_axes(axis2, ndim)
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes=tuple(axes))


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """Standard deviation √var(x)."""
    return sqrt_p(var_p(x, axis=axis, ddof=ddof, keepdims=keepdims))


def dot(a: Any, b: Any) -> Any:
    """NumPy's dot for 1-D and 2-D operands (a matrix product); use matmul or einsum beyond."""
    if np.ndim(value_of(a)) > 2 or np.ndim(value_of(b)) > 2:
        raise ValueError(f"dot: operands of shapes {np.shape(value_of(a))} and {np.shape(value_of(b))}: "
                         "use matmul or einsum for more than 2 dimensions")
    if np.ndim(value_of(a)) == 0 or np.ndim(value_of(b)) == 0:
        return mul_p(a, b)
    return matmul_p(a, b)


def outer(a: Any, b: Any) -> Any:
    """Outer product a bᵀ of the flattened operands."""
    return mul_p(reshape(a, shape=(-1, 1)), reshape(b, shape=(1, -1)))


# Keyword-friendly wrappers: primitives take their static parameters by keyword.


def reshape(x: Any, shape: Any) -> Any:
    """The same values in a new shape (one entry may be -1)."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return reshape_p(x, shape=shape)


def transpose(x: Any, axes: Any = None) -> Any:
    """Permute the axes (reverse them when axes is None)."""
    return transpose_p(x, axes=None if axes is None else tuple(axes))




def broadcast_to(x: Any, shape: Any) -> Any:
    """x repeated along broadcast axes to `shape`."""
    return broadcast_to_p(x, shape=(int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape))


def getitem(x: Any, index: Any) -> Any:
    """x[index]: ints, slices, None, ..., boolean masks and integer arrays (NumPy's indexing)."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    elif isinstance(index, list):
        index = np.asarray(index)
    return getitem_p(x, index=index)
