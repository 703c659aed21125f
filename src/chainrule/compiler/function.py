"""A compiled function: trace on the first call with a new signature, then replay the generated source.

Each signature (shapes and dtypes of the Tensor and array arguments, the values of the other arguments,
whether gradients are recorded) has its own traced program, kept in a small least-recently-used cache. A
program is replayed only while its guards hold: the Python numbers the function captures are unchanged,
every tensor it reads from outside keeps its shape, dtype and requires_grad, and an optimiser written out
as plain SGD is still plain SGD. Otherwise the function is traced again.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import linecache
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autodiff.tensor import RECORDING, WATCHING, Tensor, mode
from .naming import Namer
from .passes import canonical_mul_rules, double_scalars_not_arrays, multiply_scalars_unspread, write_all
from .program import Const, Var
from .tracer import TraceError, Tracer, _plain, installed, user_line

_files = itertools.count(1)


class CompiledFunction:
    """`chainrule.compile(fn)`: call it as fn; `.source` is the generated code of the latest signature."""

    def __init__(self, fn: Callable, max_signatures: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function, got {type(fn).__name__}")
        if int(max_signatures) < 1:
            raise ValueError(f"compile: max_signatures must be at least 1, got {max_signatures}")
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.max_signatures = int(max_signatures)
        self.traces = 0          # how many times fn was traced (a first call, a new signature, a failed guard)
        self._cache: OrderedDict[tuple, _Entry] = OrderedDict()
        self._latest: _Entry | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if mode.state & WATCHING:  # inside a forward-mode sweep, or under detect_anomaly: the eager call
            return self.fn(*args, **kwargs)
        key = _signature(args, kwargs)
        entry = self._cache.get(key)
        if entry is not None and entry.valid():
            self._cache.move_to_end(key)
            self._latest = entry
            return entry.run(args, kwargs)
        return self._trace(key, args, kwargs)

    @property
    def source(self) -> str:
        """The Python source generated for the latest signature called."""
        if self._latest is None:
            raise RuntimeError("compile: nothing traced yet; call the compiled function once first")
        return self._latest.source

    def profile(self, *args: Any, repeat: int = 50, **kwargs: Any) -> list[tuple[float, str]]:
        """(seconds, source line) for every statement of this signature's program, slowest first: the least
        time each statement took over `repeat` replays with a timer around each statement (so the parameters
        move on as they would over `repeat` calls; the minimum leaves out the other programs' interruptions)."""
        self(*args, **kwargs)
        entry = self._cache[_signature(args, kwargs)]
        timed = entry.timed()
        totals: dict[int, float] = {}
        for _ in range(repeat):
            timed(totals, *_replay_arguments(args, kwargs))
        lines = entry.statement_lines
        return sorted(((totals.get(i, 0.0), line) for i, line in enumerate(lines)), reverse=True)

    def __repr__(self) -> str:
        return f"<chainrule.compile of {getattr(self.fn, '__qualname__', self.fn)!r}: {len(self._cache)} signature(s)>"

    def _trace(self, key: tuple, args: tuple, kwargs: dict) -> Any:
        tracer = Tracer()
        seen = [tracer.argument(index, value) for index, value in enumerate(_replay_arguments(args, kwargs))]
        traced_args = seen[:len(args)]
        traced_kwargs = dict(zip(sorted(kwargs), seen[len(args):]))
        numbers = _captured_numbers(self.fn)
        with installed(tracer):
            result = self.fn(*traced_args, **traced_kwargs)
        template, outputs = _outputs(tracer, result)
        result = _rebuild(template, [_as_replayed(kind, value) for (kind, _), value in zip(outputs, _leaves(result))])
        entry = _Entry(self.fn, tracer, template, outputs, numbers, _parameter_names(self.fn, args, kwargs))
        self.traces += 1
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_signatures:
            self._cache.popitem(last=False)
        self._latest = entry
        return result


def _as_replayed(kind: str, value: Any) -> Any:
    """A value of the traced call as a replay returns it, so that every call gives the same kind of result: a
    Tensor as a new leaf without the trace's graph (a compiled function's results are values, as jax.jit's:
    to differentiate, compile the gradient), an array as a plain ndarray, a constant as it is."""
    if kind == "tensor":
        return Tensor._leaf(_plain(value.value))
    return _plain(value) if kind == "array" else value


def _replay_arguments(args: tuple, kwargs: dict) -> tuple:
    return (*args, *(kwargs[k] for k in sorted(kwargs)))


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What a program depends on in a call: whether gradients are recorded, and per argument its kind with
    its shape and dtype (arrays, Tensors) or its value (numbers, strings)."""
    if not args and not kwargs:
        return (mode.state & RECORDING,)
    parts: list = [mode.state & RECORDING]
    for a in _replay_arguments(args, kwargs):
        if isinstance(a, Tensor):
            value = a.value
            parts.append(("tensor", value.shape, value.dtype.str, a.requires_grad))
        elif isinstance(a, (np.ndarray, np.generic)):
            parts.append(("array", a.shape, a.dtype.str))
        elif isinstance(a, (bool, int, float, complex, str, type(None))):
            parts.append((type(a), a))
        else:
            parts.append(("object", id(a)))
    return (*parts, tuple(sorted(kwargs)))


def _captured_numbers(fn: Any, depth: int = 0) -> list[tuple[Callable[[], Any], Any]]:
    """(read it now, its value at trace time) for every Python number fn (or a function it closes over) reads
    from a closure cell or a module global: a change means the traced constants are stale."""
    fn = inspect.unwrap(fn) if inspect.isfunction(fn) else fn
    code = getattr(fn, "__code__", None)
    if code is None or depth > 3:
        return []
    found: list[tuple[Callable[[], Any], Any]] = []
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, (int, float, complex)):
            found.append((lambda cell=cell: cell.cell_contents, value))
        elif inspect.isfunction(value):
            found.extend(_captured_numbers(value, depth + 1))
    namespace = fn.__globals__
    for name in code.co_names:
        value = namespace.get(name)
        if isinstance(value, (int, float, complex)):
            found.append((lambda name=name: namespace.get(name), value))
    return found


def _parameter_names(fn: Callable, args: tuple, kwargs: dict) -> list[str]:
    try:
        positional = [p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        positional = []
    names = [positional[i] if i < len(positional) else f"arg{i}" for i in range(len(args))]
    return names + sorted(kwargs)


# ---------------------------------------------------------------------------------------------- outputs
def _outputs(tracer: Tracer, result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    """The result's structure with each value replaced by its position, and (kind, Var or constant) per value."""
    outputs: list[tuple[str, Any]] = []

    def walk(x: Any) -> Any:
        if isinstance(x, (tuple, list)):
            return type(x)(walk(v) for v in x)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, Tensor):
            outputs.append(("tensor", tracer.ref(x)))
        elif isinstance(x, (np.ndarray, np.generic)):
            var = tracer.vars.get(id(x))
            if var is None:
                raise TraceError(f"compile: the function returned an array computed outside chainrule's operations "
                                 f"(of shape {np.shape(x)}); a replay could not recompute it. Return Tensors, or "
                                 f"compute it with chainrule's functions ({user_line()})")
            outputs.append(("array", var))
        else:
            outputs.append(("constant", x))
        return _Slot(len(outputs) - 1)
    return walk(result), outputs


def _leaves(result: Any) -> list:
    """The values of a result's structure, in the order _outputs numbers them."""
    if isinstance(result, (tuple, list)):
        return [leaf for v in result for leaf in _leaves(v)]
    if isinstance(result, dict):
        return [leaf for v in result.values() for leaf in _leaves(v)]
    return [result]


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index


def _rebuild(template: Any, values: list) -> Any:
    if isinstance(template, _Slot):
        return values[template.index]
    if isinstance(template, (tuple, list)):
        return type(template)(_rebuild(v, values) for v in template)
    if isinstance(template, dict):
        return {k: _rebuild(v, values) for k, v in template.items()}
    return template


# ---------------------------------------------------------------------------------------------- one signature
class _Entry:
    """The program of one signature: its replay function, its source and its guards."""

    def __init__(self, fn: Callable, tracer: Tracer, template: Any, outputs: list, numbers: list,
                 parameters: list[str]) -> None:
        program = tracer.program
        self.template = template
        self.kinds = [kind for kind, _ in outputs]
        self.constants = [value if kind == "constant" else None for kind, value in outputs]
        program.outputs = [_output_var(ref) for kind, ref in outputs if kind != "constant"]
        self.numbers = numbers
        self.captured = [[t, t.value, t.value.shape, t.value.dtype, t.requires_grad] for t, _ in tracer.captured]
        self.guards = list(tracer.guards)
        canonical_mul_rules(program)
        program.simplify()
        multiply_scalars_unspread(program)
        double_scalars_not_arrays(program, tracer.notation)
        program._share_common()
        namespace, parameter_names = Namer(tracer).name_all(parameters)
        where = _origin(fn)
        header = (f"# chainrule.compile of {getattr(fn, '__qualname__', 'a function')} ({where}): one straight line "
                  "of NumPy\n# per traced operation; each comment gives the value's shape and dtype.")
        self.function_name = _function_name(fn)
        write_all(program, namespace, {id(v) for v, _ in tracer.arguments} | {id(v) for _, v in tracer.captured})
        self.source = program.source(self.function_name, parameter_names, header)
        self.namespace = namespace
        self.replay = _compiled(self.source, self.function_name, namespace)
        self.program = program
        self.parameter_names = parameter_names
        self.statement_lines = [program._line(s) for s in program.statements]
        for statement in program.statements:  # the comments become text: nothing keeps the tracer alive
            statement.note = str(statement.note) if statement.note else ""
        tracer.release()
        self.one_tensor = isinstance(template, _Slot) and self.kinds == ["tensor"]

    def valid(self) -> bool:
        for read, value in self.numbers:
            now = read()
            if type(now) is not type(value) or now != value:
                return False
        for entry in self.captured:
            t, seen, shape, dtype, requires_grad = entry
            value = t.value
            if value is not seen:  # a new array (or scalar): check what the program depends on
                if value.shape != shape or value.dtype != dtype:
                    return False
                entry[1] = value
            if t.requires_grad is not requires_grad:
                return False
        return all(guard() for guard in self.guards)

    def run(self, args: tuple, kwargs: dict) -> Any:
        if self.one_tensor and not kwargs:  # the usual training step: one loss
            return Tensor._leaf(self.replay(*args)[0])
        values = self.replay(*_replay_arguments(args, kwargs))
        results: list = []
        it = iter(values)
        for kind, constant in zip(self.kinds, self.constants):
            if kind == "constant":
                results.append(constant)
                continue
            value = next(it)
            if kind == "tensor":
                results.append(Tensor._leaf(value))
            else:
                results.append(value if type(value) is np.ndarray else np.asarray(value))
        return _rebuild(self.template, results)

    def timed(self) -> Callable:
        """The replay with a timer around every statement (for CompiledFunction.profile)."""
        lines = self.source.splitlines()
        out, index = [], 0
        statement_lines = set(self.statement_lines)
        for line in lines:
            stripped = line.strip()
            if stripped in statement_lines and line.startswith("    "):
                out.append("    _t = _clock()")
                out.append(line)
                out.append("    _t = _clock() - _t")
                out.append(f"    if _t < _totals.get({index}, 1.0):")
                out.append(f"        _totals[{index}] = _t")
                index += 1
            else:
                out.append(line)
        source = "\n".join(out).replace(f"def {self.function_name}(", f"def {self.function_name}(_totals, ", 1)
        namespace = dict(self.namespace, _clock=time.perf_counter)
        return _compiled(source, self.function_name, namespace)


def _output_var(ref: Any) -> Var:
    """The program value a result is returned from (a constant result gets a value of its own)."""
    if isinstance(ref, Var):
        ref.escapes = True
        return ref
    return Var("constant", np.shape(ref.value if isinstance(ref, Const) else ref))


def _function_name(fn: Callable) -> str:
    name = re.sub(r"\W", "_", getattr(fn, "__name__", "step")) or "step"
    return name if name.isidentifier() and name != "_lambda_" else "step"


def _origin(fn: Callable) -> str:
    try:
        code = inspect.unwrap(fn).__code__
        return f"{code.co_filename}:{code.co_firstlineno}"
    except AttributeError:
        return "unknown file"


def _compiled(source: str, name: str, namespace: dict) -> Callable:
    filename = f"<chainrule.compile #{next(_files)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


# ---------------------------------------------------------------------------------------------- names
