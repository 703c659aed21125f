"""The reverse sweep: back-propagation over a recorded graph.

Order the tensors so that each comes before its inputs, pull each one's ḡ, apply its node's vjp rule per
input, add up the shares where a value fans out, and hand the totals to the leaves. Knows no particular
operation: every derivative comes from the rule table. Gradients live in a dict for the length of one
sweep, never in slots on the tensors.
"""
from __future__ import annotations

import operator
from heapq import heappop, heappush
from typing import Any

import numpy as np

from .tensor import RECORDING, Node, Tensor, in_place_writes, mode, ndarray

RELEASED = ("backward: this graph's saved values were already released by an earlier backward(); "
            "call backward(retain_graph=True) the first time to go through the graph twice")


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
        node = t.node
        if node is None or (stop_at and id(t) in stop_at):
            continue
        if node.inputs is None:
            raise RuntimeError(RELEASED)
        for x in node.inputs:
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
           targets: list[Tensor] | None = None) -> dict[Tensor, Any]:
    """∂root/∂t (weighted by seed) for every end t of the sweep: the leaves, or the targets when given.

    The reference algorithm, and the code that runs. A consumer is always created after its inputs, so once
    the newest tensor still waiting for its ḡ is taken, every consumer of it is done: its ḡ is complete.
    """
    ends = set(targets) if targets is not None else set()
    needed = _on_paths_to(root, ends) if targets is not None else None   # with targets: prune other branches
    grads: dict[Tensor, Any] = {root: seed}                  # ḡ of each tensor reached so far
    # the computed tensors that hold a share of ḡ, waiting for the rest: a heap on minus the creation number
    waiting = [(-root.node.order, root)] if root.node is not None and root not in ends else []
    anomaly = mode._anomaly
    outside = mode.state  # the rules record a graph only under create_graph, whatever no_grad says outside
    mode.state = outside | RECORDING if create_graph else outside & ~RECORDING
    try:
        while waiting:
            t = heappop(waiting)[1]                          # 1. the newest tensor waiting for its ḡ
            if t.node.inputs is None:
                raise RuntimeError(RELEASED)
            g = grads.pop(t)                                 # 2. ḡ = ∂root/∂t, complete by now
            if t.keep_grad and targets is None:
                _deliver(t, _own(g), create_graph)           # retain_grad(): a non-leaf keeps its ḡ too
            for x in _add_input_shares(t, g, grads, needed, create_graph):   # 3. vjp per input, shares add up
                if x.node is not None and x not in ends:     #    a computed input reached for the first time
                    heappush(waiting, (-x.node.order, x))    #    waits its turn (a leaf has no vjp to apply)
            if anomaly:
                _check_shares(t.node, grads)                 #    under detect_anomaly, each share finite
            if not retain_graph:
                t.node.release()                             # 4. free the saved values as the sweep passes
    finally:
        mode.state = outside
    return grads                                             # 5. what is left: the leaves' (targets') ḡ


def _add_input_shares(t: Tensor, g: Any, grads: dict, needed: set | None, on_tensors: bool) -> list[Tensor]:
    """grads[x] += ḡ · ∂t/∂x for each input x of t's node that requires grad (and, with targets, that the sweep
    needs: its id is in `needed`), by the primitive's vjp rules: on the saved arrays, or on the Tensors under
    create_graph (so the result is differentiable again). Returns the inputs reached for the first time."""
    node = t.node
    if node.order < in_place_writes.latest:
        node.check_unmodified()                              # the saved values must be those the forward used
    y, args = (t, node.inputs) if on_tensors else (t.value, node.saved)
    params = node.params
    first = []
    for x, rule in zip(node.inputs, node.primitive.vjps):    # inputs past the rules are constants
        if rule is None or not isinstance(x, Tensor) or not x.requires_grad:
            continue
        if needed is not None and id(x) not in needed:
            continue                                         # a branch that reaches no target
        share = rule(g, y, *args, **params) if params else rule(g, y, *args)
        value, kind = x.value, type(share)  # two NumPy scalars of one class always fit
        if kind is not type(value) or (kind is ndarray and (share.shape != value.shape or share.dtype != value.dtype)):
            share = _fit(share, value)                       # broadcast, or another dtype: made to fit x
        if x in grads:
            grads[x] = grads[x] + share                      # a value used twice gets both shares
        else:
            grads[x] = share
            first.append(x)
    return first


def _fit(share: Any, value: Any) -> Any:
    """A vjp's result in the shape (broadcasting undone) and dtype of its input's value."""
    if share.shape != value.shape:
        share = reduce_to_shape(share, value.shape)
    if share.dtype is not value.dtype and share.dtype != value.dtype:
        share = share.astype(value.dtype)
    return share


def _check_shares(node: Node, grads: dict) -> None:
    """Under detect_anomaly: raise if the ḡ of an input of node is not finite after node's shares were added
    (earlier shares were checked when they were added, so the culprit is node's vjp)."""
    for index, x in enumerate(node.inputs):
        if isinstance(x, Tensor) and x in grads:
            _check_finite(node, index, grads[x])


def _on_paths_to(root: Tensor, ends: set) -> set[int]:
    """The ids of the tensors on a path from root to an end (the ends included): with targets, the sweep gives
    shares to those only. A consumer is always created after its inputs, so going through the tensors that
    lead to root oldest first, a tensor is on such a path when one of its inputs is."""
    on_paths = set(ends)
    for t in sorted(_leading_to(root, ends), key=_CREATION_NUMBER):
        if any(x in on_paths for x in t.node.inputs if isinstance(x, Tensor)):
            on_paths.add(t)
    return {id(t) for t in on_paths}


_CREATION_NUMBER = operator.attrgetter("node.order")  # when a computed tensor's node was recorded


def _leading_to(root: Tensor, ends: set) -> list[Tensor]:
    """The computed tensors (a node, not an end) that require grad and lead to root, root included; no end is
    looked through."""
    reached, stack, computed = {root}, [root], []
    while stack:
        t = stack.pop()
        if t.node is None or t in ends:
            continue
        computed.append(t)
        inputs = t.node.inputs
        if inputs is None:
            raise RuntimeError(RELEASED)
        for x in inputs:
            if isinstance(x, Tensor) and x.requires_grad and x not in reached:
                reached.add(x)
                stack.append(x)
    return computed


def _own(g: Any) -> Any:
    """g, or a copy when g is a view or a Tensor: a .grad that is accumulated in place must own its buffer."""
    if isinstance(g, Tensor):
        return g
    g = np.asarray(g)
    return g.copy() if g.base is not None else g


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


def _check_finite(node: Node, index: int, grad: Any) -> None:
    values = grad.data if isinstance(grad, Tensor) else grad
    if not np.all(np.isfinite(values)):
        kind = "nan" if np.isnan(values).any() else "inf"
        name = node.primitive.name
        raise FloatingPointError(
            f"detect_anomaly: the backward of '{name}' produced {kind} in the gradient of its input "
            f"{index}; that '{name}' was computed at {node.origin or '<unknown>'}")


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate ∂root/∂leaf (weighted by `gradient`) into the .grad of every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph (were its inputs "
                           "created with requires_grad=True, outside no_grad()?)")
    found = _sweep(root, _seed(root, gradient, create_graph), retain_graph or create_graph, create_graph)
    delivered: set[int] = set()
    for leaf, g in found.items():  # 6. deliver to the leaves; no two .grad share a buffer
        if not create_graph and (id(g) in delivered or getattr(g, "base", None) is not None):
            g = np.array(g)
        delivered.add(id(g))
        _deliver(leaf, g, create_graph)


def gradients(output: Tensor, inputs: list[Tensor], gradient: Any = None, retain_graph: bool = False,
              create_graph: bool = False) -> list[Any]:
    """∂output/∂x for each x in inputs (None where output does not depend on x); .grad is left untouched."""
    if not output.requires_grad:
        return [None] * len(inputs)
    found = _sweep(output, _seed(output, gradient, create_graph), retain_graph or create_graph, create_graph,
                   targets=list(inputs))
    return [found.get(x) for x in inputs]
