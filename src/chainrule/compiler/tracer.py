"""Tracing: run a step once, eagerly, and write down every array operation it does as a straight-line program.

While a `Tracer` is installed, the engine's seams report to it: every primitive applied (`tensor._record`),
every leaf made (`tensor._fill`), every marked array helper, every comparison of a Tensor, the reverse sweeps
of `backward()` and `gradients()`, the forward-mode sweep's tangents, gradient delivery, `zero_grad()` and
optimiser steps. The step itself runs as it would eagerly (its results and side effects are the eager ones);
the tracer only records. A backward sweep is recorded rule by rule: each statement calls the same vjp rule
on the same saved values that the eager sweep would, so the replay needs no graph, no sort and no dict.
Anything the replay could not repeat faithfully (reading a value into Python, random numbers, I/O, a graph
recorded before the step) stops the trace with a TraceError naming the line.
"""
from __future__ import annotations

import builtins
import importlib
import operator
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..autodiff.tensor import Primitive, Tensor, mark_modified, mode
from ..nn.module import Module
from ..optim import BLAS_MIN_SIZE, SGD, Optimizer, descend_
from . import runtime
from .program import BACKWARD, FORWARD, UPDATE, Attribute, Const, Name, Program, Statement, Var

# autodiff re-exports the function `tensor` under the submodule's name, so reach the module itself by import
tensor_module = importlib.import_module("chainrule.autodiff.tensor")
backward_module = importlib.import_module("chainrule.autodiff.backward")
functional_module = importlib.import_module("chainrule.autodiff.functional")

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ALLOCATING = {"add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log1p", "expm1", "sqrt", "square", "sin",
               "cos", "tan", "arctan", "tanh", "sigmoid", "softplus", "relu", "leaky_relu", "abs", "sign", "maximum",
               "minimum", "matmul", "linear", "softmax", "log_softmax"}
_RESIDUAL_NAMES = {"softmax_cross_entropy": "p"}  # what a primitive keeps for its rules: here softmax(z)
_LITERALS = (bool, int, str, type(None), slice, type(Ellipsis))
_COMPARISONS = {"__lt__": np.less, "__le__": np.less_equal, "__gt__": np.greater, "__ge__": np.greater_equal,
                "__eq__": np.equal, "__ne__": np.not_equal}


class TraceError(RuntimeError):
    """A step that chainrule.compile cannot replay faithfully; the message names the line and the way out."""


def user_line() -> str:
    """'file:line in function' of the innermost frame outside the chainrule package (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _from_user_code() -> bool:
    """Whether the caller of the hooked function (skipping this module's wrappers) is outside chainrule."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame is not None and not frame.f_code.co_filename.startswith(_PACKAGE)


def refuse(what: str, advice: str) -> TraceError:
    return TraceError(f"compile: {what} at {user_line()}; {advice}")


_active: Tracer | None = None  # the tracer installed now, if any


class _Traced(np.ndarray):
    """An array of the program (a tensor's .data, a helper's result) as Python code outside chainrule's
    operations sees it. Within a primitive, a rule, a marked helper or an optimiser it is a plain array; NumPy
    arithmetic on it anywhere else would compute a value that the trace does not record (so a replay would
    reuse it as a constant): that stops the trace, naming the line."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _check_inside(f"NumPy's {ufunc.__name__}")
        plain = [_plain(x) for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func.__name__ not in _ABOUT_AN_ARRAY:  # np.shape and the like read no values
            _check_inside(f"numpy.{func.__name__}")
        return func(*[_plain_all(a) for a in args], **{k: _plain_all(v) for k, v in kwargs.items()})


_ABOUT_AN_ARRAY = {"shape", "ndim", "size", "result_type", "may_share_memory", "shares_memory", "iscomplexobj",
                   "isrealobj", "min_scalar_type", "can_cast"}


def _refusing(name: str) -> Any:
    method = getattr(np.ndarray, name)

    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        _check_inside(f"{name.strip('_')}()" if name.startswith("__") else f".{name}()")
        return method(self.view(np.ndarray), *args, **kwargs)
    guarded.__name__ = name
    return guarded


# Reading values out of a traced array (an element, a copy, a Python number) outside chainrule's operations
# would hide them from the trace just as arithmetic would.
for _name in ("__getitem__", "__setitem__", "__iter__", "__float__", "__int__", "__index__", "__bool__", "copy",
              "astype", "item", "tolist", "tobytes"):
    setattr(_Traced, _name, _refusing(_name))


def _plain(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, _Traced) else x


def _plain_all(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return _plain(x)


def _check_inside(what: str) -> None:
    if _active is not None and not _active.inside:
        raise TraceError(f"compile: {what} on a traced array at {_line_of_numpy_call()}; a compiled step records "
                         "chainrule's operations only: compute it with chainrule's functions, or run this step "
                         "eagerly")


def _line_of_numpy_call() -> str:
    """'file:line in function' of the code that applied NumPy to a traced array (outside this module and NumPy)."""
    frame = sys._getframe(2)
    numpy_dir = os.path.dirname(np.__file__)
    while frame is not None and (frame.f_code.co_filename == __file__
                                 or frame.f_code.co_filename.startswith(numpy_dir)):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


class _Condition(_Traced):
    """A comparison's result during a trace: usable as an array inside chainrule's operations, but `if` on it
    would bake one branch in."""

    def __bool__(self) -> bool:
        raise refuse("a Python `if` (or bool()) on a comparison of traced values",
                     "a compiled step is one straight line: use chainrule.where, or run this step eagerly")


class Tracer:
    """Records one run of a step as a Program (see the module docstring)."""

    def __init__(self) -> None:
        self.program = Program()
        self.vars: dict[int, Var] = {}
        self.keep: list = []                       # everything whose id is a key above stays alive
        self.captured: list[tuple[Tensor, Var]] = []  # tensors made before the step, read at each replay
        self.arguments: list[tuple[Var, int]] = []
        self.argument_names: dict[int, Name] = {}
        self.tensor_arguments: set[int] = set()
        self.cleared: set[int] = set()  # tensors whose .grad a zero_grad() in the step set to None
        self.constants: dict[int, Const] = {}  # arrays the program reads as they are, by identity
        self.pending_tangents: list[tuple] = []  # forward-mode steps waiting for their forward statement
        self.inside = 0  # > 0 while a primitive, a rule, a helper or an optimiser runs (raw NumPy allowed)
        self.objects: dict[int, tuple[Any, str]] = {}  # optimisers, modules and tensors the effects name
        self.section = FORWARD
        self.higher_order = 0
        self.guards: list[Callable[[], bool]] = []
        self.start = next(tensor_module._creation_order)
        self.notation: dict[int, str] = {}
        self.roots: list[Var] = []

    def release(self) -> None:
        """Let go of every array and tensor the trace saw (the program keeps only its constants): a cached
        program must not hold the first call's forward and backward values."""
        self.vars.clear()
        self.keep.clear()
        self.pending_tangents.clear()

    # ------------------------------------------------------------------ values
    def _new_var(self, value: Any, hint: str, owned: bool = False) -> Var:
        var = Var(hint, np.shape(value), np.result_type(value) if _is_numeric(value) else None, owned=owned)
        self._bind(value, var)
        return var

    def _bind(self, obj: Any, var: Var) -> None:
        self.vars[id(obj)] = var
        self.keep.append(obj)

    def argument(self, index: int, value: Any) -> Any:
        """Positional argument `index` of the step: a Tensor or an array is an input of the program. Returns
        what the step is called with during the trace (an array as a traced view of itself)."""
        if isinstance(value, Tensor):
            var = self._new_var(value.value, f"arg{index}")
            self._bind(value, var)
        elif isinstance(value, (np.ndarray, np.generic)):
            var = self._new_var(value, f"arg{index}")
        else:
            return value
        self.arguments.append((var, index))
        if isinstance(value, Tensor):
            self.tensor_arguments.add(index)
        if type(value) is np.ndarray:  # the step sees a traced view: NumPy arithmetic on it stops the trace
            traced = value.view(_Traced)
            self._bind(traced, var)
            return traced
        return value

    def ref(self, a: Any) -> Any:
        """The program's name for operand a: a Var, a Const, or a literal."""
        if isinstance(a, Tensor):
            var = self.vars.get(id(a))
            return var if var is not None else self._capture(a)
        if isinstance(a, (np.ndarray, np.generic)):
            return self._ref_array(a)
        if isinstance(a, tuple):
            parts = tuple(self.ref(x) for x in a)
            return parts if any(isinstance(x, (Var, Const)) for x in parts) else a
        if isinstance(a, float):
            return a if np.isfinite(a) else Const(a)
        if isinstance(a, _LITERALS):
            return a
        return Const(a)

    def _ref_array(self, a: Any) -> Any:
        """An array operand: a value of the program (itself or a whole view of one), or a constant that no
        traced value made; an array derived from traced values by other means stops the trace."""
        var = self.vars.get(id(a))
        if var is None:
            var = self._same_as_program_array(a)
            if var is not None:
                self._bind(a, var)
        if var is not None:
            return var
        if self._derived(a):
            raise refuse("an array made from traced values outside chainrule's operations (a reshape, an "
                         "index, a copy of a tensor's .data)", "use chainrule's functions on the tensor itself")
        known = self.constants.get(id(a))
        if known is not None:
            return known
        if self.higher_order and isinstance(a, np.ndarray) and a.size > 1:  # made by a rule, from values
            raise refuse("a derivative rule read values outside chainrule's operations inside a higher-order "
                         "derivative", "compute this higher derivative eagerly")
        const = self.constants[id(a)] = Const(a)
        self.keep.append(a)
        return const

    def _same_as_program_array(self, a: Any) -> Var | None:
        """The Var of the array that `a` is a whole, unchanged view of (np.asarray of a traced array), if any."""
        base = getattr(a, "base", None)
        while base is not None:
            var = self.vars.get(id(base))
            if var is not None:
                same = (a.shape == base.shape and a.dtype == base.dtype and a.strides == base.strides
                        and a.__array_interface__["data"][0] == base.__array_interface__["data"][0])
                return var if same else None
            base = getattr(base, "base", None)
        return None

    def _derived(self, a: Any) -> bool:
        """Whether a is, or views, an array of the program without being one of its values."""
        if isinstance(a, _Traced):
            return True
        base = getattr(a, "base", None)
        while base is not None:
            if isinstance(base, _Traced) or id(base) in self.vars:
                return True
            base = getattr(base, "base", None)
        return False

    def _capture(self, t: Tensor) -> Var:
        """A tensor from before the step (a parameter, the data): read afresh from the tensor at every replay (a
        backward that reaches a graph recorded before the step is refused in _reverse)."""
        var = self._new_var(t.value, "param" if t.requires_grad else "data")
        self._bind(t, var)
        self.captured.append((t, var))
        return var

    def emit(self, function: Any, args: list, kwargs: dict, result: Any, label: str, hint: str,
             owned: bool = False) -> Var:
        """Record result = function(*args, **kwargs) (already computed) and return the result's Var."""
        operands, keywords = [self.ref(a) for a in args], {k: self.ref(v) for k, v in kwargs.items()}
        var = self._new_var(result, hint, owned)  # after the operands: a result may be an operand itself
        statement = Statement([var], function, operands, keywords, section=self.section, label=label)
        if not owned:
            for operand in statement.reads():
                operand.aliased = True
        self.program.add(statement)
        return var

    def effect(self, function: Any, args: list, label: str, note: str = "") -> None:
        self.program.add(Statement([], function, args, section=self.section, label=label, note=note, effect=True))

    def name_object(self, obj: Any, kind: str) -> Const:
        """A name the generated source uses for an object it acts on (a tensor, an optimiser, a module)."""
        if id(obj) not in self.objects:
            self.objects[id(obj)] = (obj, kind)
            self.keep.append(obj)
        return Const(obj)

    # ------------------------------------------------------------------ the engine's seams
    def record(self, original: Callable) -> Callable:
        def record(prim: Any, out: Any, args: tuple, raw: list, params: dict | None, needs_grad: bool) -> Tensor:
            t = original(prim, out, args, raw, params, needs_grad)
            if mode.anomaly:
                raise refuse("detect_anomaly() inside a compiled step", "it checks values the replay does not "
                             "see; run the step eagerly under detect_anomaly")
            operands = [self._operand(a, r) for a, r in zip(args, raw)]
            statement = Statement([], prim.forward, operands, {k: self.ref(v) for k, v in (params or {}).items()},
                                  section=self.section, label=prim.name)
            y = Var(prim.name, np.shape(out), np.result_type(out), owned=prim.name in _ALLOCATING)
            statement.outs.append(y)
            if prim.residual:
                kept = raw[-1]
                statement.outs.append(self._new_var(kept, _RESIDUAL_NAMES.get(prim.name, prim.name + "_kept")))
                statement.returns_pair = True
            if prim.name not in _ALLOCATING:
                for operand in statement.reads():
                    operand.aliased = True
            self._bind(out, y)
            self._bind(t, y)
            self.program.add(statement)
            while self.pending_tangents:
                self._push_tangents(*self.pending_tangents.pop(0))
            return t
        return record

    def _operand(self, a: Any, raw_value: Any) -> Any:
        """An operand as the forward saw it: a dtype promotion made by the engine is recorded as a cast."""
        reference = self.ref(a)
        plain = a.value if isinstance(a, Tensor) else a
        if raw_value is plain or not isinstance(reference, Var):
            return reference if raw_value is plain else self.ref(raw_value)
        cast = self.emit(runtime.cast, [plain, np.result_type(raw_value)], {}, raw_value, "cast", "cast")
        return cast

    def fill(self, original: Callable) -> Callable:
        def fill(t: Tensor, value: Any, requires_grad: bool, node: Any, version: Any) -> Tensor:
            result = original(t, value, requires_grad, node, version)
            if node is None and id(t) not in self.vars:
                var = self.vars.get(id(value))
                if var is None and isinstance(value, np.ndarray):
                    var = self._same_as_program_array(value)  # np.asarray of an argument, say
                if var is not None:
                    self._bind(t, var)
                    self._bind(value, var)
            return result
        return fill

    def helper(self, function: Callable, args: tuple, kwargs: dict) -> Any:
        """A marked array helper: computed once now (hooks off inside) and recorded as one statement."""
        hook, tensor_module.helper_hook = tensor_module.helper_hook, None
        self.inside += 1
        try:
            result = _plain(function(*args, **kwargs))
        finally:
            tensor_module.helper_hook = hook
            self.inside -= 1
        var = self.emit(function, list(args), kwargs, result, function.__name__.lstrip("_"),
                        function.__name__.strip("_"), owned=True)
        if type(result) is not np.ndarray:
            return result
        traced = result.view(_Traced)  # NumPy arithmetic on it outside chainrule's operations stops the trace
        self._bind(traced, var)
        return traced

    def compare(self, name: str, original: Callable) -> Callable:
        ufunc = _COMPARISONS[name]

        def compare(t: Tensor, other: Any) -> Any:
            self.inside += 1
            try:
                result = _plain(original(t, other))
            finally:
                self.inside -= 1
            if not isinstance(result, (np.ndarray, np.bool_)):
                return result
            result = np.asarray(result).view(_Condition)
            self.emit(ufunc, [t, other], {}, result, f"np.{ufunc.__name__}", ufunc.__name__, owned=True)
            return result
        return compare

    def data_getter(self, original: Any) -> property:
        tracer = self

        def get(t: Tensor) -> Any:
            value = original.fget(t)
            var = tracer.vars.get(id(t))
            if var is None:
                var = tracer.vars.get(id(value))
            if var is None and not tracer.inside and type(value) is np.ndarray:
                var = tracer._capture(t)  # a tensor from before the step, read by the user's code: an input
            if var is None or type(value) is not np.ndarray:
                return value
            traced = value.view(_Traced)
            if id(value) not in tracer.vars:
                tracer._bind(value, var)
            tracer._bind(traced, var)
            return traced
        return property(get, original.fset, doc=original.__doc__)

    def refusal(self, what: str) -> Callable:
        def refused(t: Tensor, *args: Any, **kwargs: Any) -> Any:
            raise refuse(f"{what} of a traced tensor", "a compiled step cannot branch on or print its values; "
                         "return the tensor and read it after the call, or run this step eagerly")
        return refused

    def user_refusal(self, original: Callable, what: str) -> Callable:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if _from_user_code():
                raise refuse(f"{what} inside the step", "a replay would not repeat it; do it outside the "
                             "compiled function")
            return original(*args, **kwargs)
        return guarded

    # ------------------------------------------------------------------ reverse mode
    def backward(self, original: Callable) -> Callable:
        def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False,
                     create_graph: bool = False) -> None:
            if create_graph:
                raise refuse("backward(create_graph=True) inside a compiled step", "compile a functional "
                             "transform (chainrule.grad of chainrule.grad, hessian) instead")
            if not root.requires_grad:
                return original(root, gradient, retain_graph, create_graph)  # the engine's error
            seed, seed_ref = self._seed(root, gradient)
            found = self._reverse(root, seed, seed_ref, retain_graph, None)
            delivered: set[int] = set()
            previous, self.section = self.section, BACKWARD
            try:
                for leaf, (g, g_ref) in found.items():
                    copy = id(g) in delivered or getattr(g, "base", None) is not None
                    delivered.add(id(g))
                    self._deliver(leaf, g, g_ref, copy)
            finally:
                self.section = previous
        return backward

    def gradients(self, original: Callable) -> Callable:
        def gradients(output: Tensor, inputs: list, gradient: Any = None, retain_graph: bool = False,
                      create_graph: bool = False) -> list:
            if create_graph or not output.requires_grad:
                self.higher_order += create_graph
                previous, self.section = self.section, BACKWARD
                try:
                    return original(output, inputs, gradient, retain_graph, create_graph)
                finally:
                    self.higher_order -= create_graph
                    self.section = previous
            seed, seed_ref = self._seed(output, gradient)
            found = self._reverse(output, seed, seed_ref, retain_graph or create_graph, list(inputs))
            results = []
            previous, self.section = self.section, BACKWARD
            try:
                for x in inputs:
                    entry = found.get(x)
                    if entry is None:
                        results.append(None)
                        continue
                    g, g_ref = entry
                    if not isinstance(g, np.ndarray):  # one value: the caller gets an array, as eagerly
                        array = np.asarray(g)
                        self.emit(np.asarray, [g], {}, array, "np.asarray", "grad")
                        g = array
                    results.append(g)
            finally:
                self.section = previous
            return results
        return gradients

    def _seed(self, root: Tensor, gradient: Any) -> tuple[Any, Any]:
        seed = backward_module._seed(root, gradient, False)
        if gradient is None:  # ∂C/∂C = 1
            return seed, Const(seed, hint="one")
        source = gradient.value if isinstance(gradient, Tensor) else gradient
        if isinstance(self.ref(gradient), Var) or isinstance(self.ref(source), Var):
            self.emit(runtime.as_seed, [gradient if isinstance(gradient, Tensor) else source, seed.dtype], {}, seed,
                      "as_seed", "seed")
            return seed, self.vars[id(seed)]
        return seed, Const(seed)

    def _reverse(self, root: Tensor, seed: Any, seed_ref: Any, retain_graph: bool,
                 targets: list | None) -> dict:
        """The engine's reverse sweep, recorded: the same order, the same rules on the same saved values."""
        order, needed = _order(root, targets)
        for t in order:
            if t.node.order < self.start:
                raise refuse("a backward through a graph recorded before the compiled step began",
                             "compute everything the step differentiates inside it")
        ends = set(targets) if targets is not None else set()
        grads: dict[Tensor, tuple[Any, Any]] = {root: (seed, seed_ref)}
        self.roots.append(self.ref(root))
        previous, self.section = self.section, BACKWARD
        try:
            for t in order:
                entry = grads.pop(t, None)
                if entry is None:
                    continue
                if t.keep_grad and targets is None:
                    raise refuse("retain_grad() inside a compiled step", "the replay keeps no intermediate "
                                 "gradients; return the value you need, or run this step eagerly")
                self._pull(t, entry, grads, needed)
                if not retain_graph:
                    t.node.release()
        finally:
            self.section = previous
        return {t: entry for t, entry in grads.items() if t.node is None or t in ends}

    def _pull(self, t: Tensor, entry: tuple, grads: dict, needed: set) -> None:
        """Each input's share ḡ·∂t/∂x by the primitive's vjp rule, fitted to x, and added where x fans out."""
        g, g_ref = entry
        node = t.node
        node.check_unmodified()
        prim = node.primitive
        params = node.params or {}
        for i, (x, rule) in enumerate(zip(node.inputs, prim.vjps)):
            if rule is None or not isinstance(x, Tensor) or id(x) not in needed:
                continue
            self.inside += 1
            try:
                share = rule(g, t.value, *node.saved, **params)
            finally:
                self.inside -= 1
            var = Var(f"d{prim.name}", np.shape(share), np.result_type(share))
            statement = Statement([var], rule, [g_ref, self.ref(t), *[self.ref(s) for s in node.saved]],
                                  {k: self.ref(v) for k, v in params.items()}, section=BACKWARD,
                                  label=f"{prim.name}_vjp{i}")
            for operand in statement.reads():
                operand.aliased = True
            self.program.add(statement)
            self._bind(share, var)
            self.notation[id(var)] = self._share_name(x)
            fitted = runtime.fit(share, np.shape(x.value), np.result_type(x.value))
            if fitted is not share:
                var = self.emit(runtime.fit, [share, np.shape(x.value), np.result_type(x.value)], {}, fitted,
                                "fit", "fit")
                self.notation[id(var)] = self._share_name(x)
                share = fitted
            if x in grads:
                old, _ = grads[x]
                total = old + share
                var = self.emit(operator.add, [old, share], {}, total, "add", "sum", owned=True)
                self.notation[id(var)] = self._share_name(x)
                grads[x] = (total, var)
            else:
                grads[x] = (share, self.vars[id(share)])

    def _share_name(self, x: Tensor) -> str:
        return "d:" + str(id(self.vars.get(id(x))))

    def _deliver(self, leaf: Tensor, g: Any, g_ref: Any, copy: bool) -> None:
        """leaf.grad += g as the engine does it, and the same call in the program."""
        if isinstance(g_ref, Var):
            g_ref.escapes = True
        target = self.tensor_name(leaf)
        fresh = (leaf.grad is None and id(leaf) in self.cleared and type(g) is np.ndarray and g.base is None
                 and not copy)
        self.inside += 1
        try:
            runtime.deliver(leaf, g, copy)
        finally:
            self.inside -= 1
        if fresh:  # zero_grad() ran earlier in this same program, so at every replay too: a new leaf
            self.effect(runtime.new_leaf, [target, g_ref], "new_leaf", note=_Later(self, "{0}.grad = ∂C/∂{0}", leaf))
            statement = self.program.statements[-1]
            statement.expression = Written("{0}.grad = new_leaf({1})", target, g_ref)
            if isinstance(g_ref, Var) and leaf.grad is not None:
                self._bind(leaf.grad, g_ref)
                self._bind(leaf.grad.value, g_ref)
            return
        if isinstance(g_ref, Var) and leaf.grad is not None and id(leaf.grad) not in self.vars:
            self._bind(leaf.grad, g_ref)
            self._bind(leaf.grad.value, g_ref)
        self.effect(runtime.deliver, [target, g_ref, copy], "deliver", note=_Later(self, "{0}.grad += ∂C/∂{0}", leaf))

    def tensor_name(self, t: Tensor) -> Any:
        """How an effect names tensor t: the argument it came in as, or a tensor from before the step."""
        for var, index in self.arguments:
            if self.vars.get(id(t)) is var:
                return self.argument_names.setdefault(index, Name())
        if any(c is t for c, _ in self.captured):
            return self.name_object(t, "tensor")
        raise refuse("a gradient for a tensor made inside the step", "give it requires_grad outside the step, "
                     "or use chainrule.grad, which returns gradients")

    # ------------------------------------------------------------------ forward mode
    def push_tangents(self, prim: Any, t: Tensor, args: tuple, params: dict) -> None:
        """One forward-mode step on plain arrays, recorded rule by rule (a single, unnested sweep); run once the
        record hook has written the forward statement it depends on."""
        if id(t) not in self.vars:
            self.pending_tangents.append((prim, t, args, params))
            return
        self._push_tangents(prim, t, args, params)

    def _push_tangents(self, prim: Any, t: Tensor, args: tuple, params: dict) -> None:
        levels = mode._levels
        if len(levels) != 1 or mode.grad_enabled and t.requires_grad:
            raise refuse("nested forward- and reverse-mode sweeps inside a compiled function",
                         "compile the outer transformation of plain jvp or grad only, or run it eagerly")
        tangents = levels[0]
        extra = (t.node.saved[-1],) if prim.residual and t.node is not None else (None,) * prim.residual
        total = None
        for i, a in enumerate(args):
            rule = prim.jvp_rule(i) if isinstance(a, Tensor) and a in tangents else None
            if rule is None:
                continue
            part = self._tangent_part(rule, prim, i, tangents[a], t, args, extra, params)
            if total is not None:
                summed = total + part
                self.emit(operator.add, [total, part], {}, summed, "add", "tangent", owned=True)
                part = summed
            total = part
        if total is not None:
            fitted = runtime.fit(total, t.shape, t.dtype)
            if fitted is not total:
                self.emit(runtime.fit, [total, t.shape, t.dtype], {}, fitted, "fit", "tangent")
            if not isinstance(fitted, np.ndarray):  # one value: jvp hands it back through np.asarray, as an array
                array = np.asarray(fitted)
                self.emit(np.asarray, [fitted], {}, array, "np.asarray", "tangent")
                fitted = array
            tangents[t] = fitted

    def _tangent_part(self, rule: Callable, prim: Any, i: int, dx: Any, t: Tensor, args: tuple, extra: tuple,
                      params: dict) -> Any:
        """ẏ's part due to input i, by the primitive's jvp rule on plain arrays, computed and recorded."""
        raw = [x.value if isinstance(x, Tensor) else x for x in args]
        self.inside += 1
        try:
            part = rule(dx, t.value, *raw, *extra, **params)
        finally:
            self.inside -= 1
        self.emit(rule, [dx, t, *args, *extra], params, part, f"{prim.name}_jvp{i}", "tangent")
        return part

    # ------------------------------------------------------------------ optimisers and modules
    def zero_grad(self, original: Callable, owner_kind: str) -> Callable:
        tracer = self

        def zero_grad(owner: Any) -> None:
            tracer.inside += 1
            try:
                original(owner)
            finally:
                tracer.inside -= 1
            params = owner.params if isinstance(owner, Optimizer) else list(owner.parameters())
            tracer.cleared.update(id(p) for p in params)
            tracer.effect(original, [tracer.name_object(owner, owner_kind)], ".zero_grad", note="every .grad ← None")
        return zero_grad

    def step(self, original: Callable) -> Callable:
        tracer = self

        def step(opt: Optimizer) -> None:
            previous, tracer.section = tracer.section, UPDATE
            tracer.inside += 1
            try:
                tracer._record_step(opt)
                original(opt)
            finally:
                tracer.section = previous
                tracer.inside -= 1
        return step

    def _record_step(self, opt: Optimizer) -> None:
        """Plain SGD is written out parameter by parameter (η read at each replay); any other optimiser's
        step() is called as it is (its hyper-parameters and state are read at each replay too)."""
        name = self.name_object(opt, "optimizer")
        plain = type(opt) is SGD and not opt.momentum and not opt.weight_decay
        grads = [(p, self.vars.get(id(p.grad))) for p in opt.params if p.grad is not None]
        if plain and all(var is not None for _, var in grads):
            self.guards.append(lambda opt=opt: type(opt) is SGD and not opt.momentum and not opt.weight_decay)
            self._write_plain_sgd(name, grads)
            return
        doc = (type(opt).__doc__ or type(opt).__name__).strip().splitlines()[0]
        self.effect(type(opt).step, [name], ".step", note=f"{type(opt).__name__}: {doc}")


    def _write_plain_sgd(self, name: Const, grads: list) -> None:
        """w ← w − η g per parameter: descend_'s own NumPy line where descend_ would take it (then one
        mark_modified for them all), else a call of descend_ (its BLAS path for large parameters)."""
        written = []
        for p, var in grads:
            target, rate = self.tensor_name(p), Attribute(name, "lr")
            self.effect(descend_, [target, rate, var], "descend_", note=_Later(self, "{0} ← {0} − η ∂C/∂{0}", p))
            if type(p.value) is np.ndarray and 0 < p.value.ndim and p.value.size < BLAS_MIN_SIZE:
                self.program.statements[-1].expression = Written("{0} -= {1} * {2}", self.ref(p), var, rate)
                written.append(target)
        if written:
            self.effect(mark_modified, written, "mark_modified", note="the weights' version counters")


class Written:
    """A statement's text from a template and the program values it names, written when the source is (names
    are given last): `Written("{0}.grad = new_leaf({1})", W1_param, dW1)`."""

    def __init__(self, template: str, *refs: Any) -> None:
        self.template, self.refs = template, list(refs)

    def __str__(self) -> str:
        from .program import _text
        return self.template.format(*(_text(r) for r in self.refs))

    def __bool__(self) -> bool:
        return True


def _order(root: Tensor, targets: list | None) -> tuple[list[Tensor], set[int]]:
    """The computed tensors between root and the leaves (or the targets), newest node first, so each comes
    before its inputs; and the ids of every tensor on those paths (the engine's sweep order, from the nodes)."""
    ends = set(targets) if targets is not None else set()
    reached, stack, computed = {root}, [root], []
    while stack:
        t = stack.pop()
        if t.node is None or t in ends:
            continue
        if t.node.inputs is None:
            raise RuntimeError(backward_module.RELEASED)
        computed.append(t)
        for x in t.node.inputs:
            if isinstance(x, Tensor) and x.requires_grad and x not in reached:
                reached.add(x)
                stack.append(x)
    order = sorted(computed, key=lambda t: t.node.order, reverse=True)
    if targets is None:
        return order, {id(t) for t in reached}
    return _pruned(order, ends)


def _pruned(order: list[Tensor], ends: set) -> tuple[list[Tensor], set[int]]:
    """The tensors of `order` from which some end can be reached (an input reaches it first), and their ids."""
    reaching = set(ends)
    for t in reversed(order):
        if any(x in reaching for x in t.node.inputs if isinstance(x, Tensor)):
            reaching.add(t)
    return [t for t in order if t in reaching], {id(t) for t in reaching}


class _Later:
    """A comment naming a tensor by its program name, written when the source is (names are given last)."""

    def __init__(self, tracer: Tracer, text: str, t: Tensor) -> None:
        self.tracer, self.text, self.t = tracer, text, t

    def __str__(self) -> str:
        var = self.tracer.vars.get(id(self.t))
        return self.text.format(var.name if var is not None and var.name else "w")


def _is_numeric(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, int, float, complex, bool))


@contextmanager
def installed(tracer: Tracer) -> Iterator[None]:
    """The tracer's hooks in the engine's seams for the length of one trace; everything restored after."""
    patches: list[tuple[Any, str, Any]] = []
    thread = threading.get_ident()

    def patch(owner: Any, name: str, value: Any) -> None:
        """Put value in owner.name for this thread; every other thread keeps getting the original."""
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        patches.append((owner, name, original))
        setattr(owner, name, _this_thread_only(value, original, thread))

    global _active
    _TRACING.acquire()  # one trace at a time: the seams are module and class attributes
    random_state = np.random.get_state()[1].copy()

    def inside(original: Callable) -> Callable:
        def call(*args: Any, **params: Any) -> Any:
            tracer.inside += 1
            try:
                return original(*args, **params)
            finally:
                tracer.inside -= 1
        return call
    _active = tracer
    try:
        for name in ("__call__", "_apply", "_apply_one", "_apply_two"):  # every way into a primitive's forward
            if name in Primitive.__dict__:
                patch(Primitive, name, inside(Primitive.__dict__[name]))
        patch(tensor_module, "_record", tracer.record(tensor_module._record))
        patch(tensor_module, "_fill", tracer.fill(tensor_module._fill))
        patch(tensor_module, "_push_tangents", tracer.push_tangents)
        patch(tensor_module, "helper_hook", tracer.helper)
        patch(backward_module, "backward", tracer.backward(backward_module.backward))
        patch(backward_module, "gradients", tracer.gradients(backward_module.gradients))
        patch(functional_module, "gradients", tracer.gradients(functional_module.gradients))
        patch(functional_module, "_zeros_for", _recorded_zeros(tracer, functional_module._zeros_for))
        patch(functional_module, "_stack", _recorded_stack(tracer, functional_module._stack))
        for name, original in ((n, Tensor.__dict__[n]) for n in _COMPARISONS):
            patch(Tensor, name, tracer.compare(name, original))
        patch(Tensor, "data", tracer.data_getter(Tensor.__dict__["data"]))
        for name, what in (("item", "item()"), ("__bool__", "bool()"), ("__float__", "float()"),
                           ("__int__", "int()"), ("tolist", "tolist()")):
            patch(Tensor, name, tracer.refusal(what))
        patch(builtins, "print", tracer.user_refusal(builtins.print, "print()"))
        patch(builtins, "open", tracer.user_refusal(builtins.open, "open()"))
        patch(Optimizer, "zero_grad", tracer.zero_grad(Optimizer.zero_grad, "optimizer"))
        patch(Module, "zero_grad", tracer.zero_grad(Module.zero_grad, "module"))
        for cls in _subclasses(Optimizer):
            if "step" in cls.__dict__:
                patch(cls, "step", tracer.step(cls.__dict__["step"]))
        yield
    finally:
        _active = None
        for owner, name, value in reversed(patches):
            setattr(owner, name, value)
        _TRACING.release()
    if not np.array_equal(np.random.get_state()[1], random_state):
        raise TraceError("compile: the step drew random numbers from NumPy's global generator; a replay would "
                         "repeat the same numbers. Draw them outside the step and pass them in as an argument")


_TRACING = threading.Lock()


def _this_thread_only(hooked: Any, original: Any, thread: int) -> Any:
    """`hooked` for the tracing thread and `original` for every other (a web server's other sessions keep
    running eagerly while one session's step is traced)."""
    if isinstance(hooked, property):
        def get(t: Any) -> Any:
            return (hooked if threading.get_ident() == thread else original).fget(t)
        return property(get, original.fset, doc=original.__doc__)
    if original is None:  # tensor.helper_hook: no hook means "just call the function"
        def helper(function: Callable, args: tuple, kwargs: dict) -> Any:
            if threading.get_ident() == thread:
                return hooked(function, args, kwargs)
            return function(*args, **kwargs)
        return helper

    def call(*args: Any, **kwargs: Any) -> Any:
        return (hooked if threading.get_ident() == thread else original)(*args, **kwargs)
    return call


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _recorded_zeros(tracer: Tracer, original: Callable) -> Callable:
    def zeros_for(grads: list, inputs: list, nested: bool) -> list:
        tracer.inside += 1
        try:
            results = original(grads, inputs, nested)
        finally:
            tracer.inside -= 1
        for g, x, result in zip(grads, inputs, results):
            if g is None and isinstance(result, np.ndarray):
                tracer.emit(np.zeros_like, [x.value], {}, result, "np.zeros_like", "zeros", owned=True)
        return results
    return zeros_for


def _recorded_stack(tracer: Tracer, original: Callable) -> Callable:
    def stack(pieces: list, shape: tuple) -> Any:
        tracer.inside += 1
        try:
            result = original(pieces, shape)
        finally:
            tracer.inside -= 1
        if isinstance(result, np.ndarray):
            tracer.emit(runtime.stacked, [tuple(shape), *pieces], {}, result, "stacked", "stacked", owned=True)
        return result
    return stack
