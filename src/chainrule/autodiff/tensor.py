"""The Tensor type, the Primitive type, and how a primitive is applied to tensors.

A Tensor holds a NumPy array and, when a primitive made it while gradients are recorded, that primitive
and its inputs: the graph that the backward sweep walks. This module knows no derivative rule (rules.py
holds the table) and does not run sweeps (backward.py, forward.py do).
"""
from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

ndarray = np.ndarray


RECORDING, WATCHING = 1, 2  # bits of _Mode.state: the one attribute the hot path reads


class _Mode(threading.local):
    """Per-thread switches: recording of the reverse graph, anomaly detection, forward-mode depth."""

    state = RECORDING
    _anomaly = False
    _forward_depth = 0

    def _update(self, recording: bool) -> None:
        watching = self._anomaly or self._forward_depth > 0
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
    def forward_depth(self) -> int:
        return self._forward_depth

    @forward_depth.setter
    def forward_depth(self, depth: int) -> None:
        self._forward_depth = depth
        self._update(self.grad_enabled)


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

    __slots__ = ("name", "forward", "vjps", "jvps", "variadic", "residual")

    def __init__(self, name: str, forward: Callable, vjp: Sequence | Callable = (),
                 jvp: Sequence | Callable | str = (), variadic: bool = False, residual: bool = False):
        self.name = name
        self.forward = forward
        self.variadic = variadic
        self.residual = residual
        if jvp == LINEAR:
            jvp = (lambda dx, y, x, **params: self.forward(dx, **params),)
        self.vjps = _RuleForEach(vjp) if variadic else tuple(vjp)
        self.jvps = _RuleForEach(jvp) if variadic else tuple(jvp)

    def vjp_rule(self, index: int) -> Callable | None:
        """The vector-Jacobian product rule for input `index` (None: not differentiable)."""
        return self.vjps[index] if index < len(self.vjps) else None

    def jvp_rule(self, index: int) -> Callable | None:
        """The Jacobian-vector product rule for input `index` (None: not differentiable)."""
        return self.jvps[index] if index < len(self.jvps) else None

    def __call__(self, *args: Any, **params: Any) -> Any:
        """y = prim(*args): compute the forward, and record the node if some input requires grad."""
        raw = []
        has_tensor = needs_grad = False
        for a in args:
            if isinstance(a, Tensor):
                has_tensor = True
                if a.requires_grad:
                    needs_grad = True
                raw.append(a.value)
            else:
                raw.append(a)
        if not has_tensor:
            out = self.forward(*args, **params)
            return out[0] if self.residual else out
        try:
            out = self.forward(*raw, **params) if params else self.forward(*raw)
        except (ValueError, TypeError, IndexError) as error:
            raise self._named(error, args) from None
        if self.residual:
            out, kept = out
            raw.append(kept)
        return _result(self, out, args, raw, params or None, needs_grad)

    def _named(self, error: Exception, args: Sequence) -> Exception:
        """A forward's error, its message led by the primitive's name and followed by the operand shapes."""
        message = str(error)
        if message.startswith(self.name + ":"):
            return error
        return _same_kind(error, f"{self.name}: {message} (operand shapes {_describe(args)})")

    def _watch(self, t: Tensor, args: tuple, raw: Sequence, params: dict | None) -> None:
        """The slow path: push forward-mode tangents, or check for NaN/inf under detect_anomaly."""
        if mode.forward_depth:
            _push_tangent(self, t, args, raw, params or {})
        if mode.anomaly:
            t.origin = user_frame()
            if not np.all(np.isfinite(t.data)):
                raise FloatingPointError(
                    f"detect_anomaly: the forward of '{self.name}' produced {_bad_values(t.data)} "
                    f"(operand shapes {_describe(args)}), at {t.origin}")

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


def _result(prim: Primitive, out: Any, args: tuple, raw: Sequence, params: dict | None, needs_grad: bool) -> Tensor:
    """The Tensor holding prim's output; it records the node (prim, inputs, saved values) when gradients are
    recorded and some input requires grad."""
    t = _new(Tensor)
    t.value = out
    t.grad = t.tangent = t.origin = t.sweep_grad = t.sweep_id = None
    t.keep_grad = False
    t.modified_at = -1
    state = mode.state
    if needs_grad and state & RECORDING:
        t.requires_grad = True
        t.op = prim
        t.inputs = args
        t.saved = raw
        t.params = params
        t.seq = next(_creation_order)
    else:
        t.requires_grad = False
        t.op = t.inputs = t.saved = t.params = None
        t.seq = -1
    if state & WATCHING:
        prim._watch(t, args, raw, params)
    return t


def operator_method(prim: Primitive, reflected: bool = False) -> Callable:
    """prim as a Tensor operator: t ∘ u = prim(t, u), or u ∘ t = prim(u, t) when reflected (as __rmul__).

    The same as calling prim, in one plain Python function (no argument loop, no keyword dictionary), because
    the operators are the engine's most frequent calls.
    """
    forward = prim.forward

    def method(self: Tensor, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            other_raw, other_grad = other.value, other.requires_grad
        else:
            other_raw, other_grad = other, False
        if reflected:
            args, raw = (other, self), (other_raw, self.value)
        else:
            args, raw = (self, other), (self.value, other_raw)
        try:
            out = forward(*raw)
        except (ValueError, TypeError, IndexError) as error:
            raise prim._named(error, args) from None
        return _result(prim, out, args, raw, None, self.requires_grad or other_grad)

    method.__name__ = f"__r{prim.name}__" if reflected else f"__{prim.name}__"
    return method
def _as_array(value: Any) -> np.ndarray:
    """A forward result as an ndarray (NumPy returns scalars for 0-d results)."""
    try:
        return value.__array__()  # the fastest way from a NumPy scalar to a 0-d array
    except AttributeError:
        return np.asarray(value)


def _push_tangent(prim: Primitive, t: Tensor, args: tuple, raw: Sequence, params: dict) -> None:
    """Forward mode: ẏ = Σ_i (∂y/∂x_i) ẋ_i, from the inputs' tangents, alongside the value."""
    tangent = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.tangent is not None:
            rule = prim.jvp_rule(i)
            if rule is None:
                continue
            part = rule(a.tangent, t.value, *raw, **params)
            tangent = part if tangent is None else tangent + part
    if tangent is not None:
        tangent = np.asarray(tangent)
        if tangent.shape != t.shape:
            tangent = np.broadcast_to(tangent, t.shape)
        if tangent.dtype != t.dtype:
            tangent = tangent.astype(t.dtype)
        t.tangent = tangent


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


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf Tensor holding a copy of `data` (NumPy's dtype rules; integers become float64 if
    `requires_grad`). A 0-d value is held as a NumPy scalar until `.data` is asked for, as results are:
    NumPy's arithmetic on scalars is many times faster than on 0-d arrays."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtype)
    if requires_grad and dtype is None and array.dtype.kind in "biu":
        array = array.astype(np.float64)
    _check_dtype(array, requires_grad)
    return Tensor._leaf(array[()] if array.ndim == 0 else array, requires_grad)


class Tensor:
    """An n-dimensional array that remembers how it was computed, so that gradients can flow back."""

    __slots__ = ("value", "grad", "requires_grad", "op", "inputs", "params", "tangent", "origin",
                 "keep_grad", "saved", "seq", "modified_at", "sweep_grad", "sweep_id", "__weakref__")
    __array_ufunc__ = None  # NumPy defers to Tensor's reflected operators: `array * t` is a Tensor.
    __hash__ = object.__hash__  # identity hashing, although == compares values

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False):
        made = tensor(data, dtype=dtype, requires_grad=requires_grad)
        self.value = made.value
        self.grad = None
        self.requires_grad = requires_grad
        self.op = self.inputs = self.saved = self.params = self.tangent = self.origin = self.sweep_grad = None
        self.sweep_id = None
        self.keep_grad = False
        self.modified_at = self.seq = -1

    @classmethod
    def _leaf(cls, data: np.ndarray, requires_grad: bool = False) -> Tensor:
        t = cls.__new__(cls)
        t.value = data
        t.grad = None
        t.requires_grad = requires_grad
        t.op = t.inputs = t.saved = t.params = t.tangent = t.origin = t.sweep_grad = t.sweep_id = None
        t.keep_grad = False
        t.modified_at = t.seq = -1
        return t

    # ------------------------------------------------------------------ array-like attributes
    @property
    def data(self) -> np.ndarray:
        """The values as a NumPy array (shared, not copied)."""
        value = self.value
        if type(value) is not ndarray:  # a 0-d result is kept as a NumPy scalar until asked for
            value = self.value = _as_array(value)
        return value

    @data.setter
    def data(self, values: Any) -> None:
        self.value = values if type(values) is ndarray else np.asarray(values)
        self.modified_at = next(_creation_order)

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
        return self.op is None

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

    # ------------------------------------------------------------------ autodiff
    def backward(self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Add ∂self/∂leaf (weighted by `gradient`) to every leaf's .grad, by one reverse sweep."""
        _backward.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory)."""
        return Tensor._leaf(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Make this leaf record operations for gradients (in place); returns self."""
        if self.op is not None and not requires_grad:
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
        """A drawing of the graph that computed this tensor (SVG and DOT), for notebooks and files."""
        from ..viz.graph import draw_graph  # drawing lives above the engine; imported only when asked

        return draw_graph(self)

    # ------------------------------------------------------------------ operators
    # (+, -, *, /, **, @ and their reflected forms are set below the class, from the rule table)
    def __neg__(self) -> Tensor:
        return _rules.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _rules.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _rules.getitem(self, index)

    # The forward operators (+ - * / ** @, unary -) are the primitives themselves; see the end of this module.

    def _in_place(self, name: str, other: Any, numpy_op: Callable, graph_op: Callable) -> Tensor:
        other_requires = isinstance(other, Tensor) and other.requires_grad
        if mode.grad_enabled and (self.requires_grad or other_requires):
            if self.op is None and self.requires_grad:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad cannot be modified in place while gradients "
                    "are recorded; do it inside `with chainrule.no_grad():` or use an out-of-place operation")
            return graph_op(self, other)  # out of place, so saved values stay intact
        numpy_op(self.data, other.data if isinstance(other, Tensor) else other, out=self.data,
                 casting="same_kind")
        self.modified_at = next(_creation_order)  # graphs recorded before now hold stale values of it
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place("+=", other, np.add, _rules.add)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place("-=", other, np.subtract, _rules.sub)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place("*=", other, np.multiply, _rules.mul)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place("/=", other, np.true_divide, _rules.div)

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
        return _rules.exp(self)

    def log(self) -> Tensor:
        return _rules.log(self)

    def log1p(self) -> Tensor:
        return _rules.log1p(self)

    def expm1(self) -> Tensor:
        return _rules.expm1(self)

    def sqrt(self) -> Tensor:
        return _rules.sqrt(self)

    def square(self) -> Tensor:
        return _rules.square(self)

    def sin(self) -> Tensor:
        return _rules.sin(self)

    def cos(self) -> Tensor:
        return _rules.cos(self)

    def tan(self) -> Tensor:
        return _rules.tan(self)

    def tanh(self) -> Tensor:
        return _rules.tanh(self)

    def sigmoid(self) -> Tensor:
        return _rules.sigmoid(self)

    def relu(self) -> Tensor:
        return _rules.relu(self)

    def leaky_relu(self, slope: float = 0.01) -> Tensor:
        return _rules.leaky_relu(self, slope=slope)

    def softplus(self) -> Tensor:
        return _rules.softplus(self)

    def abs(self) -> Tensor:
        return _rules.abs(self)

    def sign(self) -> Tensor:
        return _rules.sign(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        return _rules.clip(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        return _rules.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return _rules.minimum(self, other)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        if axis is None and not keepdims:  # the usual case records no parameters
            return _rules.sum(self)
        return _rules.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        if axis is None and not keepdims:
            return _rules.mean(self)
        return _rules.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _rules.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        return _rules.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _rules.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return _rules.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _rules.log_softmax(self, axis=axis)

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
        return _rules.astype(self, dtype)

    def dot(self, other: Any) -> Tensor:
        return _rules.dot(self, other)


def value_of(x: Any) -> Any:
    """The NumPy value of a Tensor, or x itself: rules use it for constants such as masks."""
    return x.value if isinstance(x, Tensor) else x


from . import backward as _backward  # noqa: E402  (these modules use Tensor, defined above)
from . import rules as _rules  # noqa: E402

# The binary operators: t * u is mul(t, u), 2 * t is mul(2, t), and so on.
for _name, _prim in (("add", _rules.add), ("sub", _rules.sub), ("mul", _rules.mul), ("truediv", _rules.div),
                     ("pow", _rules.power), ("matmul", _rules.matmul)):
    setattr(Tensor, f"__{_name}__", operator_method(_prim))
    setattr(Tensor, f"__r{_name}__", operator_method(_prim, reflected=True))
del _name, _prim
