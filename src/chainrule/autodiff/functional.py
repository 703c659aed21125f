"""JAX-style function transformations over any Python function built from chainrule operations.

grad, value_and_grad, vjp (reverse mode), jvp (forward mode), jacobian, hessian and hvp take NumPy arrays
or Tensors and return NumPy arrays; called inside another transformation they return Tensors that the
outer one differentiates again, which is how higher derivatives compose.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import rules
from .backward import gradients
from .forward import forward_sweep, has_tangent
from .tensor import Tensor, enable_grad, mode, value_of


def _is_traced(x: Any) -> bool:
    """x belongs to an enclosing transformation (it requires grad or carries a tangent)."""
    return isinstance(x, Tensor) and (x.requires_grad or has_tangent(x))


def _primal(x: Any, name: str) -> Tensor:
    """A fresh differentiable input for x; for a traced x, a node on top of it, so outer sweeps see through."""
    if isinstance(x, Tensor) and x.requires_grad:
        return rules.identity_p(x)
    if has_tangent(x):  # forward over reverse: the fresh input keeps x's tangents
        leaf = Tensor._leaf(x.data, requires_grad=True)
        for level in mode.levels:
            if x in level:
                level[leaf] = level[x]
        return leaf
    array = np.asarray(x.data if isinstance(x, Tensor) else x)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    if array.dtype.kind != "f":
        raise TypeError(f"{name}: inputs must be real numbers, got dtype {array.dtype}")
    return Tensor._leaf(array, requires_grad=True)


def _argnums(argnums: int | Sequence[int], n_args: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -n_args <= i < n_args:
            raise ValueError(f"{name}: argnums {argnums} does not fit a call with {n_args} positional arguments")
    return tuple(i % n_args for i in nums)


def _as_output(value: Any, nested: bool) -> Any:
    if nested:
        return value
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _trace(f: Callable, args: tuple, kwargs: dict, nums: tuple[int, ...], name: str) -> tuple[Any, list, bool]:
    """Run f with the chosen arguments as fresh differentiable inputs; return (output, inputs, nested)."""
    nested = bool(mode.levels) or any(_is_traced(args[i]) for i in nums)
    call = list(args)
    inputs = []
    for i in nums:
        call[i] = _primal(args[i], name)
        inputs.append(call[i])
    with enable_grad():
        out = f(*call, **kwargs)
    return out, inputs, nested


def _zeros_for(grads: list, inputs: list, nested: bool) -> list:
    return [g if g is not None else (Tensor._leaf(np.zeros_like(x.data)) if nested else np.zeros_like(x.data))
            for g, x in zip(grads, inputs)]


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """x ↦ (f(x), ∇f(x)) for a scalar-valued f, by one reverse sweep; argnums picks the inputs."""
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args), "grad")
        out, inputs, nested = _trace(f, args, kwargs, nums, "grad")
        if not isinstance(out, Tensor):
            out = Tensor._leaf(np.asarray(out, dtype=float))
        if out.size != 1:
            raise ValueError(f"grad: f must return a scalar (one element), got shape {out.shape}; "
                             "use vjp or jacobian for vector outputs")
        grads = _zeros_for(gradients(out, inputs, create_graph=nested), inputs, nested)
        if not nested:
            grads = [np.asarray(g.data if isinstance(g, Tensor) else g) for g in grads]
        result = grads[0] if isinstance(argnums, int) else tuple(grads)
        return _as_output(out, nested), result
    return value_and_grad_f


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """x ↦ ∇f(x) for a scalar-valued f (reverse mode); nest it for higher derivatives."""
    value_and_grad_f = value_and_grad(f, argnums)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]
    return grad_f


def vjp(f: Callable, *primals: Any) -> tuple[Any, Callable]:
    """(f(x), w ↦ wᵀ J_f(x)): the output and a function pulling cotangents back to every input."""
    out, inputs, nested = _trace(f, primals, {}, tuple(range(len(primals))), "vjp")
    if not isinstance(out, Tensor):
        out = Tensor._leaf(np.asarray(out, dtype=float))

    def vjp_fn(cotangent: Any) -> tuple:
        ct = cotangent if nested and isinstance(cotangent, Tensor) else np.asarray(
            cotangent.data if isinstance(cotangent, Tensor) else cotangent)
        if np.shape(ct.data if isinstance(ct, Tensor) else ct) != out.shape:
            raise ValueError(f"vjp: cotangent has shape {np.shape(ct)} but the output has shape {out.shape}")
        grads = gradients(out, inputs, gradient=ct, retain_graph=True, create_graph=nested)
        grads = _zeros_for(grads, inputs, nested)
        return tuple(g if nested else np.asarray(g.data if isinstance(g, Tensor) else g) for g in grads)
    return _as_output(out, nested), vjp_fn


def jvp(f: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """(f(x), J_f(x) v): true forward mode, one sweep carrying tangents, no reverse graph."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists), e.g. jvp(f, (x,), (v,))")
    out, tangent = forward_sweep(f, primals, tangents)
    if any(_is_traced(v) for v in (*primals, *tangents)):  # inside another transformation: keep the Tensors
        return out, tangent
    return (out.data if isinstance(out, Tensor) else out), np.asarray(value_of(tangent))


def _basis(shape: tuple, dtype: Any) -> Any:
    size = int(np.prod(shape, dtype=np.int64))
    for k in range(size):
        e = np.zeros(size, dtype=dtype)
        e[k] = 1
        yield e.reshape(shape)


def _stack(pieces: list, shape: tuple) -> Any:
    if pieces and isinstance(pieces[0], Tensor):
        return rules.reshape(rules.stack(pieces), shape)
    return np.stack(pieces).reshape(shape) if pieces else np.zeros(shape)


def jacobian(f: Callable, argnums: int | Sequence[int] = 0, mode: str = "rev") -> Callable:
    """x ↦ J_f(x) of shape f(x).shape + x.shape: by rows (reverse mode) or by columns (forward mode)."""
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")

    def jacobian_f(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacobian")
        if mode == "rev":
            call = list(args)

            def of_chosen(*chosen: Any) -> Any:
                for i, c in zip(nums, chosen):
                    call[i] = c
                return f(*call)
            out, pull = vjp(of_chosen, *[args[i] for i in nums])
            out_shape = np.shape(out.data if isinstance(out, Tensor) else out)
            rows = [pull(e) for e in _basis(out_shape, np.result_type(out.data if isinstance(out, Tensor) else out))]
            result = [_stack([r[j] for r in rows], out_shape + np.shape(value_of(args[i])))
                      for j, i in enumerate(nums)]
        else:
            result = [_forward_jacobian(f, args, i) for i in nums]
        return result[0] if isinstance(argnums, int) else tuple(result)
    return jacobian_f


def _forward_jacobian(f: Callable, args: tuple, i: int) -> Any:
    """∂f/∂args[i] column by column, one jvp per basis vector of the input; a traced input stays a Tensor,
    so an enclosing transformation differentiates the columns again (forward over forward)."""
    x = args[i]
    value = _float_array(value_of(x))
    primal = x if _is_traced(x) else value

    def of_one(xi: Any) -> Any:
        call = list(args)
        call[i] = xi
        return f(*call)
    columns, out_shape = [], ()
    for e in _basis(value.shape, value.dtype):
        out, column = jvp(of_one, (primal,), (e,))
        out_shape = np.shape(value_of(out))
        columns.append(column)
    if not columns:
        return np.zeros(out_shape + (0,))
    if any(isinstance(c, Tensor) for c in columns):
        return rules.reshape(rules.stack(columns, axis=-1), out_shape + value.shape)
    return np.stack([np.asarray(c) for c in columns], axis=-1).reshape(out_shape + value.shape)


def _float_array(x: Any) -> np.ndarray:
    array = np.asarray(x)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """x ↦ ∇²f(x) for a scalar-valued f: the Jacobian of the gradient (reverse over reverse)."""
    return jacobian(grad(f, argnums), argnums, mode="rev")


def hvp(f: Callable, x: Any, v: Any) -> Any:
    """∇²f(x) v without forming the Hessian: the gradient of ⟨∇f(x), v⟩."""
    v = np.asarray(value_of(v))

    def directional(x_: Any) -> Any:
        return (grad(f)(x_) * v).sum()
    return grad(directional)(x)
