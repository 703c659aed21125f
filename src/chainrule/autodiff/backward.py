"""The reverse sweep: back-propagation over a recorded graph.

Visit the graph from the output back, newest node first (iteratively, so depth is unlimited), calling
each primitive's vjp rule once and summing the gradients of values used more than once.
Knows no particular operation: every derivative comes from the rule table.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

import numpy as np

from .tensor import RECORDING, Tensor, mode, ndarray

RELEASED = ("backward: this graph's saved values were already released by an earlier backward(); "
            "call backward(retain_graph=True) the first time to go through the graph twice")


MODIFIED = ("backward: an input of shape {shape} to '{op}' was modified in place after '{op}' used it, so its "
            "saved value is gone and the gradient would be wrong; modify a copy, or compute after the change")


def topological_order(root: Tensor, differentiable_only: bool = False, stop_at: set | None = None) -> list[Tensor]:
    """Every Tensor the root was computed from, each after all of its inputs (the root last).

    With differentiable_only, only tensors that require grad; tensors whose id is in stop_at are
    listed but not looked through.
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, inputs_done = stack.pop()
        if inputs_done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.op is None or (stop_at and id(t) in stop_at):
            continue
        if t.inputs is None:
            raise RuntimeError(RELEASED)
        for x in t.inputs:
            if isinstance(x, Tensor) and id(x) not in seen and (x.requires_grad or not differentiable_only):
                stack.append((x, False))
    return order


def reduce_to_shape(grad: Any, shape: tuple) -> Any:
    """Undo broadcasting: sum ḡ over the axes that broadcasting added or stretched, so it has `shape`."""
    grad_shape = np.shape(grad.data if isinstance(grad, Tensor) else grad)
    if grad_shape == shape:
        return grad
    extra = len(grad_shape) - len(shape)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(shape, grad_shape[extra:])):
        if np.broadcast_shapes(grad_shape, shape) == shape:  # a rule gave a smaller, broadcastable ḡ
            from .rules import broadcast_to

            return broadcast_to(grad, shape)
        raise ValueError(f"backward: a gradient of shape {grad_shape} cannot be reduced to shape {shape}")
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape) if n == 1 and grad_shape[extra + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _seed(root: Tensor, gradient: Any, create_graph: bool) -> Any:
    if gradient is None:
        value = root.value
        if value.size != 1:
            raise RuntimeError(f"backward: the output has shape {root.shape}, so pass `gradient` (∂C/∂output, of "
                               "that shape); without it backward() is defined only for a one-element output")
        seed = value.dtype.type(1) if type(value) is not ndarray else np.ones_like(value)  # 0-d: a NumPy scalar
    else:
        value = gradient.data if isinstance(gradient, Tensor) else gradient
        seed = np.array(value, dtype=root.dtype)
        if seed.shape != root.shape:
            raise ValueError(f"backward: gradient has shape {seed.shape} but the output has shape {root.shape}")
        if create_graph and isinstance(gradient, Tensor):
            return gradient
    return Tensor._leaf(seed) if create_graph else seed


def _sweep(root: Tensor, seed: Any, retain_graph: bool, create_graph: bool,
           targets: list[Tensor] | None = None) -> dict[int, Any]:
    """Propagate ḡ from root to every input; return the gradients of `targets` (or fill leaves' .grad).

    Nodes are visited newest first (by creation number): every consumer of a value was created after
    it, so by the time a node is visited its gradient has received every share.
    """
    target_ids = {id(t) for t in targets} if targets is not None else None
    relevant = _reaching(root, target_ids) if target_ids is not None else None
    sweep = object()
    anomaly = mode._anomaly
    root.sweep_id = sweep
    root.sweep_grad = seed
    finals = []  # leaves and targets: their gradients are complete only at the end
    queue: list = []
    if root.op is None or (target_ids is not None and id(root) in target_ids):
        finals.append(root)
    else:
        queue.append((-root.seq, root))
    following = None  # the next node, when it is the only one waiting (a chain): no heap needed
    previous = mode.state  # the rules record a graph only under create_graph (as inside enable_grad/no_grad)
    mode.state = previous | RECORDING if create_graph else previous & ~RECORDING
    try:
        while queue or following is not None:
            if following is not None:
                node, following = following, None
            else:
                node = heappop(queue)[1]
            g = node.sweep_grad
            node.sweep_grad = None
            if node.keep_grad and target_ids is None:
                _deliver(node, g, create_graph)
            inputs = node.inputs
            if inputs is None:
                raise RuntimeError(RELEASED)
            params = node.params
            if create_graph:
                y, args = node, inputs
            else:
                y, args = node.value, node.saved
            seq = node.seq
            for x, rule in zip(inputs, node.op.vjps):  # inputs past the rules are not differentiable
                if not isinstance(x, Tensor):
                    continue
                if x.modified_at > seq:
                    raise RuntimeError(MODIFIED.format(op=node.op.name, shape=x.shape))
                if rule is None or not x.requires_grad:
                    continue
                if relevant is not None and id(x) not in relevant:
                    continue
                gi = rule(g, y, *args, **params) if params else rule(g, y, *args)
                xd = x.value
                kind = type(gi)
                if kind is ndarray or kind is not type(xd):  # two NumPy scalars of one class already agree
                    if gi.shape != xd.shape:
                        gi = reduce_to_shape(gi, xd.shape)
                    if gi.dtype is not xd.dtype and gi.dtype != xd.dtype:
                        gi = gi.astype(xd.dtype)
                if anomaly:
                    _check_finite(node, next(i for i, v in enumerate(inputs) if v is x), gi)
                if x.sweep_id is sweep:
                    x.sweep_grad = x.sweep_grad + gi
                    continue
                x.sweep_id = sweep
                if x.op is None or (target_ids is not None and id(x) in target_ids):
                    if not create_graph and (gi is g or gi.base is not None):
                        gi = gi.copy()  # a leaf's .grad must own its buffer: it is accumulated in place
                    finals.append(x)
                elif following is None and not queue:
                    following = x
                else:
                    if following is not None:
                        heappush(queue, (-following.seq, following))
                        following = None
                    heappush(queue, (-x.seq, x))
                x.sweep_grad = gi
            if not retain_graph:
                node.inputs = node.saved = None  # release the saved values as the sweep passes
        found: dict[int, Any] = {}
        for x in finals:
            g = x.sweep_grad
            x.sweep_grad = None
            if target_ids is not None:
                found[id(x)] = g
            else:
                _deliver(x, g, create_graph)
    finally:
        mode.state = previous
    return found


def _reaching(root: Tensor, target_ids: set) -> set:
    """The ids of the nodes from which some target can be reached (targets included)."""
    relevant = set(target_ids)
    for t in topological_order(root, differentiable_only=True, stop_at=target_ids):
        if t.op is not None and id(t) not in target_ids and any(
                id(x) in relevant for x in t.inputs if isinstance(x, Tensor)):
            relevant.add(id(t))
    return relevant


def _deliver(node: Tensor, g: Any, create_graph: bool) -> None:
    """Accumulate ḡ into node.grad (leaves, and non-leaves that asked with retain_grad())."""
    if create_graph:
        node.grad = g if node.grad is None else node.grad + g
    elif node.grad is None:
        g = np.asarray(g)
        node.grad = Tensor._leaf(g if g.base is None else g.copy())
    elif node.grad.requires_grad or node.grad.data.shape != g.shape:
        node.grad = Tensor._leaf(node.grad.data + g)
    else:
        np.add(node.grad.data, g, out=node.grad.data, casting="unsafe")


def _check_finite(node: Tensor, index: int, grad: Any) -> None:
    values = grad.data if isinstance(grad, Tensor) else grad
    if not np.all(np.isfinite(values)):
        kind = "nan" if np.isnan(values).any() else "inf"
        raise FloatingPointError(
            f"detect_anomaly: the backward of '{node.op.name}' produced {kind} in the gradient of its input "
            f"{index}; that '{node.op.name}' was computed at {node.origin or '<unknown>'}")


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate ∂root/∂leaf (weighted by `gradient`) into the .grad of every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph (were its inputs "
                           "created with requires_grad=True, outside no_grad()?)")
    _sweep(root, _seed(root, gradient, create_graph), retain_graph or create_graph, create_graph)


def gradients(output: Tensor, inputs: list[Tensor], gradient: Any = None, retain_graph: bool = False,
              create_graph: bool = False) -> list[Any]:
    """∂output/∂x for each x in inputs (None where output does not depend on x); .grad is left untouched."""
    if not output.requires_grad:
        return [None] * len(inputs)
    found = _sweep(output, _seed(output, gradient, create_graph), retain_graph or create_graph, create_graph,
                   targets=list(inputs))
    return [found.get(id(x)) for x in inputs]
