"""The Tensor type, the Primitive type, and the one path by which applying a primitive is recorded.

A Tensor is a value (a NumPy array), a .grad, requires_grad, a version counter of in-place writes, and —
when a primitive made it while gradients are recorded — one Node (primitive, inputs, saved values,
parameters, creation order): the graph that the backward sweep walks. Functions and operators alike go
through Primitive.__call__ → _record. A raw write into the array that `.data` returns is the unchecked
escape hatch (as in PyTorch); code that writes so calls mark_modified(t). This module knows no derivative
rule (rules.py holds the table) and does not run sweeps (backward.py, forward.py do).
"""
from __future__ import annotations

import functools
import html
import itertools
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

ndarray = np.ndarray


RECORDING, WATCHING = 1, 2  # bits of _Mode.state: the one attribute the hot path reads


class _Mode(threading.local):
    """Per-thread switches: recording of the reverse graph, anomaly detection, the forward-mode sweeps under way
    (`levels`: one dict {Tensor: tangent} per sweep, outermost first)."""

    state = RECORDING
    _anomaly = False
    _levels: tuple = ()

    def _update(self, recording: bool) -> None:
        watching = self._anomaly or bool(self._levels)
        self.state = (RECORDING if recording else 0) | (WATCHING if watching else 0)

    @property
    def grad_enabled(self) -> bool:
        return bool(self.state & RECORDING)

    @grad_enabled.setter
    def grad_enabled(self, on: bool) -> None:
        self._update(on)

    @property
    def anomaly(self) -> bool:
        return self._anomaly

    @anomaly.setter
    def anomaly(self, on: bool) -> None:
        self._anomaly = on
        self._update(self.grad_enabled)

    @property
    def levels(self) -> tuple:
        return self._levels

    @levels.setter
    def levels(self, levels: tuple) -> None:
        self._levels = levels
        self._update(self.grad_enabled)

    @property
    def forward_depth(self) -> int:
        """How many forward-mode sweeps are under way (nested jvp calls)."""
        return len(self._levels)


mode = _Mode()


class no_grad:
    """Context manager (and decorator) inside which no graph is recorded: results do not require grad."""

    _enable = False

    def __enter__(self) -> None:
        self._previous = mode.grad_enabled
        mode.grad_enabled = self._enable

    def __exit__(self, *exc: object) -> None:
        mode.grad_enabled = self._previous

    def __call__(self, function: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return function(*args, **kwargs)

        wrapper.__name__ = getattr(function, "__name__", "wrapper")
        wrapper.__doc__ = function.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager (and decorator) that records the graph again, e.g. inside `no_grad`."""

    _enable = True


def is_grad_enabled() -> bool:
    """Whether operations record the graph in this thread."""
    return mode.grad_enabled


LINEAR = "linear"  # jvp marker: the primitive is linear in its one input, so its jvp is itself applied to ẋ.


class _RuleForEach:
    """The rules of a primitive with any number of inputs: rules[i] = make_rule(i)."""

    __slots__ = ("make_rule",)

    def __init__(self, make_rule: Callable):
        self.make_rule = make_rule

    def __getitem__(self, index: int) -> Callable:
        return self.make_rule(index)

    def __len__(self) -> int:
        return sys.maxsize

    def __iter__(self) -> Any:
        return map(self.make_rule, itertools.count())


class Primitive:
    """An operation with its derivative rules: forward on arrays, and per input a vjp and a jvp.

    vjp rule for input i:  (ḡ, y, *inputs, **params) ↦ ∂C/∂input_i given ḡ = ∂C/∂y.
    jvp rule for input i:  (ẋ_i, y, *inputs, **params) ↦ ẏ's part due to ẋ_i (the parts are summed).
    A rule is None where the input is not differentiable (an index, a condition).
    Applied to plain arrays (no Tensor among the arguments) a primitive is just its forward function;
    that is what lets the same rules serve the fast first-order sweep and `create_graph=True`.
    With residual=True the forward returns (y, r), r being a by-product that the rules would otherwise
    recompute (softmax probabilities, say): it is kept with the node and reaches the rules as one more
    argument after the inputs (None under create_graph, where the rules get Tensors and recompute).
    """

    __slots__ = ("name", "forward", "vjps", "jvps", "variadic", "residual", "promotes")

    def __init__(self, name: str, forward: Callable, vjp: Sequence | Callable = (),
                 jvp: Sequence | Callable | str = (), variadic: bool = False, residual: bool = False,
                 promotes: bool = False):
        self.name = name
        self.forward = forward
        self.variadic = variadic
        self.residual = residual
        self.promotes = promotes  # a binary elementwise operation: operands follow PyTorch's dtype promotion
        if jvp == LINEAR:
            jvp = (lambda dx, y, x, **params: self(dx, **params),)
        self.vjps = _RuleForEach(vjp) if variadic else tuple(vjp)
        self.jvps = _RuleForEach(jvp) if variadic else tuple(jvp)

    def vjp_rule(self, index: int) -> Callable | None:
        """The vector-Jacobian product rule for input `index` (None: not differentiable)."""
        return self.vjps[index] if index < len(self.vjps) else None

    def jvp_rule(self, index: int) -> Callable | None:
        """The Jacobian-vector product rule for input `index` (None: not differentiable)."""
        return self.jvps[index] if index < len(self.jvps) else None

    def __call__(self, *args: Any, **params: Any) -> Any:
        """y = prim(*args): the forward on the arrays; with a Tensor among args, a Tensor (recorded if needed).

        One or two operands and no parameters (every operator, the activations) take the named fast paths
        `_apply_one` and `_apply_two`: the same steps as `_apply` without its general loop."""
        if params or self.residual:
            return self._apply(args, params)
        count = len(args)
        if count == 1:
            return self._apply_one(args[0])
        if count == 2:
            return self._apply_two(args[0], args[1])
        return self._apply(args, params)

    def _apply(self, args: tuple, params: dict) -> Any:
        """The plain path for any operands and parameters: unwrap the Tensors, run the forward, record."""
        raw = []
        has_tensor = needs_grad = False
        for a in args:
            if isinstance(a, Tensor):
                has_tensor = True
                needs_grad = needs_grad or a.requires_grad
                raw.append(a.value)
            else:
                raw.append(a)
        if self.promotes:
            raw[0], raw[1] = promote_like_pytorch(raw[0], raw[1])
        if not has_tensor:
            out = self.forward(*raw, **params)
            return out[0] if self.residual else out
        try:
            out = self.forward(*raw, **params) if params else self.forward(*raw)
        except (ValueError, TypeError, IndexError) as error:
            raise self._named(error, args) from None
        if self.residual:
            out, kept = out
            raw.append(kept)
        return _record(self, out, args, raw, params or None, needs_grad)

    def _apply_one(self, x: Any) -> Any:
        """prim(x) for one operand and no parameters: `_apply` without the loop (fast path). Measured by
        `python -m timeit -r 9` on a 0-d float32 tensor that requires grad: `relu_p._apply((t,), {})` 1.43 µs,
        `relu_p._apply_one(t)` 1.22 µs (exp: 1.86 → 1.75 µs). tests/autodiff/test_tensor.py checks by
        hypothesis that it equals `_apply`."""
        if not isinstance(x, Tensor):
            return self.forward(x)
        value = x.value
        try:
            out = self.forward(value)
        except (ValueError, TypeError, IndexError) as error:
            raise self._named(error, (x,)) from None
        return _record(self, out, (x,), [value], None, x.requires_grad)

    def _apply_two(self, a: Any, b: Any) -> Any:
        """prim(a, b) for two operands and no parameters, as every binary operator: `_apply` without the loop
        (fast path). Measured by `python -m timeit -r 9` on 0-d float32 tensors that require grad:
        `mul_p._apply((a, b), {})` 782 ns, `mul_p._apply_two(a, b)` 580 ns (`a * b`, which calls it directly:
        632 ns); on (16, 16) arrays 1.12 → 0.98 µs. About a tenth of benchmark B's time per operation.
        tests/autodiff/test_tensor.py checks by hypothesis that it equals `_apply`."""
        if isinstance(a, Tensor):
            raw_a, needs_grad = a.value, a.requires_grad
            if isinstance(b, Tensor):
                raw_b, needs_grad = b.value, needs_grad or b.requires_grad
            else:
                raw_b = b
        elif isinstance(b, Tensor):
            raw_a, raw_b, needs_grad = a, b.value, b.requires_grad
        else:
            return self._apply((a, b), {})
        if self.promotes and (type(raw_a) is ndarray or type(raw_b) is ndarray):  # else nothing to promote
            raw_a, raw_b = promote_like_pytorch(raw_a, raw_b)
        try:
            out = self.forward(raw_a, raw_b)
        except (ValueError, TypeError, IndexError) as error:
            raise self._named(error, (a, b)) from None
        return _record(self, out, (a, b), [raw_a, raw_b], None, needs_grad)

    def _named(self, error: Exception, args: Sequence) -> Exception:
        """A forward's error, its message led by the primitive's name and followed by the operand shapes."""
        message = str(error)
        if message.startswith(self.name + ":"):
            return error
        return _same_kind(error, f"{self.name}: {message} (operand shapes {_describe(args)})")

    def _watch(self, t: Tensor, args: tuple, raw: Sequence, params: dict | None) -> None:
        """The slow path: push forward-mode tangents, or check for NaN/inf under detect_anomaly."""
        if mode._levels:
            _push_tangents(self, t, args, params or {})
        if mode.anomaly and t.node is not None:
            t.node.origin = user_frame()
        if mode.anomaly and not np.all(np.isfinite(t.data)):
            raise FloatingPointError(
                f"detect_anomaly: the forward of '{self.name}' produced {_bad_values(t.data)} "
                f"(operand shapes {_describe(args)}), at {user_frame()}")

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _same_kind(error: Exception, message: str) -> Exception:
    """An error of error's type with a new message (its builtin base if the type needs other arguments)."""
    try:
        return type(error)(message)
    except TypeError:
        for kind in (ValueError, IndexError, TypeError):
            if isinstance(error, kind):
                return kind(message)
        raise


def _describe(args: Sequence) -> str:
    return " and ".join(str(np.shape(a.data if isinstance(a, Tensor) else a)) for a in args)


_new = object.__new__
_creation_order = itertools.count()  # a node's number: its consumers always have larger ones


class _InPlaceWrites:
    """When any array was last written in place, on the clock that numbers nodes (−1: never): a sweep whose
    nodes are all newer needs no version check. An instance's attribute, not a class attribute, because
    assigning a class attribute resets Python's attribute caches for that class (measured on benchmark C:
    3.5 µs of a 158 µs step, one write per parameter)."""

    __slots__ = ("latest",)

    def __init__(self) -> None:
        self.latest = -1


in_place_writes = _InPlaceWrites()


class Version:
    """How many in-place writes a tensor's array has had, and when the last one happened (on the clock that
    numbers nodes); shared by a tensor and its `.detach()` views, because they share the array."""

    __slots__ = ("count", "written_at")

    def __init__(self) -> None:
        self.count = 0
        self.written_at = -1

    def bump(self) -> None:
        """Count one more in-place write, made now: nodes recorded before now saw the old values."""
        self.count += 1
        self.written_at = in_place_writes.latest = next(_creation_order)


class Node:
    """The record of one primitive application, kept by the Tensor it produced: which primitive, its
    inputs (Tensors or constants), the saved input values its rules read, its parameters, and its creation
    number `order` (every consumer is numbered after its inputs, and an input written in place after
    `order` has lost the values this node saved)."""

    __slots__ = ("primitive", "inputs", "saved", "params", "order", "origin")

    def __init__(self, primitive: Primitive, inputs: tuple, saved: list, params: dict | None) -> None:
        self.primitive = primitive
        self.inputs = inputs
        self.saved = saved
        self.params = params
        self.order = next(_creation_order)
        self.origin = None  # where it was computed: set under detect_anomaly

    def release(self) -> None:
        """Drop the inputs and saved values (the sweep has passed): a second backward must be told first."""
        self.inputs = self.saved = None

    def check_unmodified(self) -> None:
        """Raise if an input was written in place after this node used it (its saved value is stale)."""
        if in_place_writes.latest < self.order:
            return
        for x in self.inputs:
            if isinstance(x, Tensor) and x._version is not None and x._version.written_at > self.order:
                raise RuntimeError(MODIFIED.format(op=self.primitive.name, shape=x.shape))


MODIFIED = ("backward: an input of shape {shape} to '{op}' was modified in place after '{op}' used it, so its "
            "saved value is gone and the gradient would be wrong; modify a copy, or compute after the change")


def _fill(t: Tensor, value: Any, requires_grad: bool, node: Node | None, version: Version | None) -> Tensor:
    """The one place a Tensor's fields are set: value, grad, requires_grad, node (None for a leaf), version."""
    t.value = value
    t.grad = None
    t.requires_grad = requires_grad
    t.node = node
    t._version = version  # made when first asked for: most tensors are never written in place
    t.keep_grad = False
    return t


def _record(prim: Primitive, out: Any, args: tuple, raw: list, params: dict | None, needs_grad: bool) -> Tensor:
    """The Tensor holding prim's output, with its Node when gradients are recorded and an input requires grad
    (the one record path: functions and operators alike come here through Primitive.__call__)."""
    state = mode.state
    t = _new(Tensor)
    t.value = out
    t.grad = t._version = None
    t.keep_grad = False
    if needs_grad and state & RECORDING:
        t.requires_grad = True
        t.node = node = _new(Node)
        node.primitive, node.inputs, node.saved, node.params = prim, args, raw, params
        node.order = next(_creation_order)
        node.origin = None
    else:
        t.requires_grad = False
        t.node = None
    if state & WATCHING:
        prim._watch(t, args, raw, params)
    return t


# Set by chainrule.compile while it traces a step: a function of plain arrays marked with array_helper (targets
# turned into one-hot rows, a derivative's mask) is then recorded as one statement of the compiled program.
helper_hook: Callable | None = None


def array_helper(function: Callable) -> Callable:
    """Mark `function` (plain arrays in, a new plain array out) as one step that a compiled program repeats.

    Eagerly it is just `function`. While `chainrule.compile` traces, the call is recorded with its operands, so a
    replay computes it again from that call's data instead of reusing the traced array as a constant.
    """
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if helper_hook is None:
            return function(*args, **kwargs)
        return helper_hook(function, args, kwargs)
    call.plain = function  # type: ignore[attr-defined]
    return call


def mark_modified(*tensors: Tensor) -> None:
    """Record that each tensor's array was written in place (bump its version counter).

    Code that writes into `t.data` directly (an optimiser's step, load_state_dict, a compiled replay)
    calls this afterwards, so a backward through a graph that saved the old values raises instead of
    returning a wrong gradient. In-place operators, `t[...] = v` and `t.data = v` call it themselves.
    """
    for t in tensors:
        t.version.bump()


# Python scalars are weak in NumPy 2 as in PyTorch; a 0-d array or NumPy scalar is not, in NumPy. The table
# of categories lets a 0-d operand take a dimensioned operand's dtype when it is not of a higher category.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _zero_dim(v: Any) -> bool:
    return isinstance(v, np.generic) or (type(v) is ndarray and v.ndim == 0)


def promote_like_pytorch(a: Any, b: Any) -> tuple[Any, Any]:
    """The operands of a binary operation cast as PyTorch's result_type would: a 0-d operand (a 0-d tensor or a
    NumPy scalar) does not promote a dimensioned operand of the same or a higher category (float32 array
    times np.float64(2) stays float32); otherwise NumPy's promotion applies."""
    if type(a) is ndarray and a.ndim:
        if type(b) is ndarray and b.ndim:
            return a, b  # two dimensioned arrays, the usual case: NumPy's promotion is PyTorch's
        if _zero_dim(b) and _CATEGORY.get(b.dtype.kind, 9) <= _CATEGORY.get(a.dtype.kind, -1):
            b = b.astype(a.dtype)
    elif type(b) is ndarray and b.ndim and _zero_dim(a):
        if _CATEGORY.get(a.dtype.kind, 9) <= _CATEGORY.get(b.dtype.kind, -1):
            a = a.astype(b.dtype)
    return a, b


def _as_array(value: Any) -> np.ndarray:
    """A forward result as an ndarray (NumPy returns scalars for 0-d results)."""
    try:
        return value.__array__()  # the fastest way from a NumPy scalar to a 0-d array
    except AttributeError:
        return np.asarray(value)


def _push_tangents(prim: Primitive, t: Tensor, args: tuple, params: dict) -> None:
    """Forward mode, one operation: ẏ = Σ_i (∂y/∂x_i) ẋ_i for each forward sweep under way (a level), from the
    inputs' tangents at that level. The jvp rules are chainrule operations run on the Tensors, so the tangent
    is itself recorded (reverse over forward) and carries the tangents of the sweeps around it (forward over
    forward); while level k's rules run, level k and those inside it are switched off."""
    levels = mode._levels
    extra = (None,) * prim.residual  # a residual's rules recompute it from the Tensors
    for k, tangents in enumerate(levels):
        parts = [(i, tangents[a]) for i, a in enumerate(args) if isinstance(a, Tensor) and a in tangents]
        if not parts:
            continue
        mode.levels = levels[:k]
        try:
            total = None
            for i, dx in parts:
                rule = prim.jvp_rule(i)
                if rule is not None:
                    part = rule(dx, t, *args, *extra, **params)
                    total = part if total is None else total + part
            if total is not None:
                tangents[t] = _as_tangent_of(total, t)
        finally:
            mode.levels = levels


def _as_tangent_of(tangent: Any, t: Tensor) -> Any:
    """A tangent in t's shape and dtype (a rule may give one that broadcasts)."""
    if np.shape(value_of(tangent)) != t.shape:
        tangent = _rules.broadcast_to(tangent, t.shape)
    if np.result_type(value_of(tangent)) != t.dtype:
        tangent = _rules.astype_p(tangent, t.dtype)
    return tangent


def _bad_values(values: np.ndarray) -> str:
    kinds = []
    if np.isnan(values).any():
        kinds.append("nan")
    if np.isinf(values).any():
        kinds.append("inf")
    return " and ".join(kinds)


def user_frame() -> str:
    """'file:line in function' of the first caller outside chainrule's engine."""
    frame = sys._getframe(1)
    here = __file__.rsplit("/", 1)[0]
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _check_dtype(array: np.ndarray, requires_grad: bool) -> np.ndarray:
    kind = array.dtype.kind
    if kind in "OUSVMm":
        raise TypeError(f"tensor: data of dtype {array.dtype} is not numeric")
    if requires_grad:
        if kind == "c":
            raise TypeError("tensor: complex data cannot require grad (only real floating-point tensors can)")
        if kind != "f":
            raise TypeError(f"tensor: only floating-point tensors can require grad, got dtype {array.dtype}")
    return array


@array_helper
def _copied_array(data: Any, dtype: Any, requires_grad: bool) -> np.ndarray:
    """A new array holding data (integers become float64 when gradients are wanted and no dtype is given);
    one value as a NumPy scalar."""
    array = np.array(data, dtype=dtype)
    if requires_grad and dtype is None and array.dtype.kind in "biu":
        array = array.astype(np.float64)
    return array[()] if array.ndim == 0 else array


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf Tensor holding a copy of `data` (NumPy's dtype rules; integers become float64 if
    `requires_grad`). A 0-d value is held as a NumPy scalar until `.data` is asked for, as results are:
    NumPy's arithmetic on scalars is many times faster than on 0-d arrays."""
    if isinstance(data, Tensor):
        data = data.data
    array = _copied_array(data, dtype, requires_grad)
    _check_dtype(array, requires_grad)
    return Tensor._leaf(array, requires_grad)


class Tensor:
    """An n-dimensional array that remembers how it was computed, so that gradients can flow back."""

    __slots__ = ("value", "grad", "requires_grad", "node", "_version", "keep_grad", "__weakref__")
    __array_ufunc__ = None  # NumPy defers to Tensor's reflected operators: `array * t` is a Tensor.
    __hash__ = object.__hash__  # identity hashing, although == compares values

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False):
        _fill(self, tensor(data, dtype=dtype, requires_grad=requires_grad).value, requires_grad, None, None)

    @classmethod
    def _leaf(cls, data: np.ndarray, requires_grad: bool = False) -> Tensor:
        return _fill(_new(cls), data, requires_grad, None, None)

    # ------------------------------------------------------------------ array-like attributes
    @property
    def data(self) -> np.ndarray:
        """The values as a NumPy array (shared, not copied).

        Writing into this array (`t.data[...] = v`) is the unchecked escape hatch, as in PyTorch: the
        engine cannot see it, so call `mark_modified(t)` afterwards if a recorded graph may have saved t.
        Assigning `t.data = v` or `t[...] = v` is checked (it bumps t's version).
        """
        value = self.value
        if type(value) is not ndarray:  # a 0-d result is kept as a NumPy scalar until asked for
            value = self.value = _as_array(value)
        return value

    @data.setter
    def data(self, values: Any) -> None:
        self.value = values if type(values) is ndarray else np.asarray(values)
        self.version.bump()

    @property
    def version(self) -> Version:
        """The counter of in-place writes into this tensor's array (shared with its `.detach()` views)."""
        if self._version is None:
            self._version = Version()
        return self._version

    # the graph's record, read through the node (None for a leaf)
    @property
    def op(self) -> Primitive | None:
        """The primitive that made this tensor (None for a leaf)."""
        return None if self.node is None else self.node.primitive

    @property
    def inputs(self) -> tuple | None:
        return None if self.node is None else self.node.inputs

    @property
    def saved(self) -> list | None:
        return None if self.node is None else self.node.saved

    @property
    def params(self) -> dict | None:
        return None if self.node is None else self.node.params

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded primitive (their .grad is kept by backward)."""
        return self.node is None

    @property
    def grad_fn(self) -> str | None:
        """The name of the primitive that made this tensor, or None for a leaf."""
        return None if self.op is None else self.op.name

    @property
    def T(self) -> Tensor:
        return _rules.transpose(self)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        value = self.value  # an ndarray, or a NumPy scalar: both have .size and .item()
        if value.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, shape is {self.shape}")
        return value.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype != np.float64:
            extras.append(f"dtype={self.data.dtype}")
        if self.op is not None:
            extras.append(f"grad_fn=<{self.op.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __format__(self, spec: str) -> str:
        """f"{t:.4f}" formats the value of a one-element tensor (as PyTorch); other tensors take no spec."""
        if self.value.size == 1:
            return format(self.value.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string passed to Tensor.__format__: a tensor of shape "
                            f"{self.shape} has {self.value.size} values; format one element (t[i]) or use repr")
        return repr(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: shape, dtype, values (abbreviated), grad, and the primitive that made it."""
        def values(array: np.ndarray) -> str:
            return html.escape(np.array2string(np.asarray(array), threshold=60, edgeitems=3, precision=6))

        rows = [("shape", html.escape(str(self.shape))), ("dtype", html.escape(str(self.dtype))),
                ("values", f"<pre style='margin:0'>{values(self.data)}</pre>")]
        if self.grad is not None:
            rows.append(("grad", f"<pre style='margin:0'>{values(self.grad.data)}</pre>"))
        if self.node is not None:
            inputs = self.node.inputs
            shapes = "inputs released by backward" if inputs is None else ", ".join(
                str(np.shape(value_of(x))) for x in inputs)
            rows.append(("made by", html.escape(f"{self.node.primitive.name}({shapes})")))
        elif self.requires_grad:
            rows.append(("made by", "a leaf (requires grad)"))
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
                       for k, v in rows)
        return f"<table class='chainrule-tensor'><caption>Tensor</caption>{body}</table>"

    # ------------------------------------------------------------------ autodiff
    def backward(self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add ∂self/∂leaf (weighted by `gradient`) to every leaf's .grad, by one reverse sweep."""
        _backward.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory and the version counter)."""
        return _fill(_new(Tensor), self.data, False, None, self.version)  # one counter for both

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Make this leaf record operations for gradients (in place); returns self."""
        if self.node is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only a leaf can stop requiring grad; use .detach()")
        if requires_grad:
            _check_dtype(self.data, True)
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf's gradient in .grad after backward (leaves always keep theirs)."""
        self.keep_grad = True
        return self

    def graph(self) -> Any:
        """A drawing of the graph that computed this tensor (SVG and DOT), by the drawer that chainrule.viz
        registers (importing chainrule does); the engine itself draws nothing."""
        if _graph_drawer is None:
            raise RuntimeError("graph: no graph drawer is registered; import chainrule.viz.graph first")
        return _graph_drawer(self)

    # ------------------------------------------------------------------ operators (each one primitive)
    def __add__(self, other: Any) -> Tensor:
        return _rules.add_p._apply_two(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _rules.add_p._apply_two(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _rules.sub_p._apply_two(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _rules.sub_p._apply_two(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _rules.mul_p._apply_two(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _rules.mul_p._apply_two(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _rules.div_p._apply_two(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _rules.div_p._apply_two(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _rules.power_p._apply_two(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _rules.power_p._apply_two(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _rules.matmul_p._apply_two(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _rules.matmul_p._apply_two(other, self)

    def __neg__(self) -> Tensor:
        return _rules.neg_p._apply_one(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _rules.abs_p._apply_one(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _rules.getitem(self, index)

    def __setitem__(self, index: Any, values: Any) -> None:
        """t[index] = values, written into t's array (bumping its version); not recorded for gradients."""
        if mode.grad_enabled and (self.requires_grad or (isinstance(values, Tensor) and values.requires_grad)):
            raise RuntimeError(
                f"item assignment: a tensor of shape {self.shape} that is part of a recorded graph cannot be "
                "assigned into; do it inside `with chainrule.no_grad():` or build the result out of place")
        self.data[index] = value_of(values)
        self.version.bump()

    def _in_place(self, name: str, other: Any, numpy_op: Callable, graph_op: Callable) -> Tensor:
        other_requires = isinstance(other, Tensor) and other.requires_grad
        if mode.grad_enabled and (self.requires_grad or other_requires):
            if self.node is None and self.requires_grad:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad cannot be modified in place while gradients "
                    "are recorded; do it inside `with chainrule.no_grad():` or use an out-of-place operation")
            return graph_op(self, other)  # out of place, so saved values stay intact
        numpy_op(self.data, other.data if isinstance(other, Tensor) else other, out=self.data,
                 casting="same_kind")
        self.version.bump()  # graphs recorded before now hold stale values of it
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place("+=", other, np.add, _rules.add_p)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place("-=", other, np.subtract, _rules.sub_p)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place("*=", other, np.multiply, _rules.mul_p)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place("/=", other, np.true_divide, _rules.div_p)

    # comparisons give plain boolean arrays: they have no derivative
    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < value_of(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= value_of(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > value_of(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= value_of(other)

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data == value_of(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return self.data != value_of(other)

    # ------------------------------------------------------------------ methods mirroring the functions
    def exp(self) -> Tensor:
        return _rules.exp_p._apply_one(self)

    def log(self) -> Tensor:
        return _rules.log_p._apply_one(self)

    def log1p(self) -> Tensor:
        return _rules.log1p_p._apply_one(self)

    def expm1(self) -> Tensor:
        return _rules.expm1_p._apply_one(self)

    def sqrt(self) -> Tensor:
        return _rules.sqrt_p._apply_one(self)

    def square(self) -> Tensor:
        return _rules.square_p._apply_one(self)

    def sin(self) -> Tensor:
        return _rules.sin_p._apply_one(self)

    def cos(self) -> Tensor:
        return _rules.cos_p._apply_one(self)

    def tan(self) -> Tensor:
        return _rules.tan_p._apply_one(self)

    def tanh(self) -> Tensor:
        return _rules.tanh_p._apply_one(self)

    def arctan(self) -> Tensor:
        return _rules.arctan_p._apply_one(self)

    def sigmoid(self) -> Tensor:
        return _rules.sigmoid_p._apply_one(self)

    def relu(self) -> Tensor:
        return _rules.relu_p._apply_one(self)

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        return _rules.leaky_relu_p(self, slope=slope)

    def softplus(self) -> Tensor:
        return _rules.softplus_p._apply_one(self)

    def abs(self) -> Tensor:
        return _rules.abs_p._apply_one(self)

    def sign(self) -> Tensor:
        return _rules.sign_p._apply_one(self)

    def clip(self, low: Any = None, high: Any = None) -> Tensor:
        """The values limited to [low, high] (either may be None)."""
        return _rules.clip_p(self, low=value_of(low), high=value_of(high))

    def maximum(self, other: Any) -> Tensor:
        return _rules.maximum_p(self, other)

    def minimum(self, other: Any) -> Tensor:
        return _rules.minimum_p(self, other)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        if axis is None and not keepdims:  # the usual case records no parameters
            return _rules.sum_p._apply_one(self)
        return _rules.sum_p(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        if axis is None and not keepdims:
            return _rules.mean_p._apply_one(self)
        return _rules.mean_p(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.prod_p(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.max_p(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.min_p(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _rules.var_p(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _rules.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.logsumexp_p(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return _rules.softmax_p(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _rules.log_softmax_p(self, axis=axis)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return _rules.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = tuple(axes[0])
        return _rules.transpose(self, axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        return _rules.swapaxes(self, axis1, axis2)

    def expand_dims(self, axis: Any) -> Tensor:
        return _rules.expand_dims(self, axis)

    def squeeze(self, axis: Any = None) -> Tensor:
        return _rules.squeeze(self, axis)

    def broadcast_to(self, shape: Any) -> Tensor:
        return _rules.broadcast_to(self, shape)

    def flatten(self) -> Tensor:
        return _rules.flatten(self)

    def astype(self, dtype: Any) -> Tensor:
        return _rules.astype_p(self, dtype)

    def dot(self, other: Any) -> Tensor:
        return _rules.dot(self, other)


def value_of(x: Any) -> Any:
    """The NumPy value of a Tensor, or x itself: rules use it for constants such as masks."""
    return x.value if isinstance(x, Tensor) else x


_graph_drawer: Callable | None = None


def register_graph_drawer(drawer: Callable) -> None:
    """Let Tensor.graph() draw with `drawer(tensor)`; chainrule.viz.graph registers its draw_graph, so the
    engine imports nothing above it."""
    global _graph_drawer
    _graph_drawer = drawer


# The methods above call the rule table and the sweep at run time; those modules build on Tensor, so they are
# imported once Tensor exists (a plain import, nothing is patched onto the class).
from . import backward as _backward  # noqa: E402
from . import rules as _rules  # noqa: E402
