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

from ..autodiff import rules
from ..autodiff.tensor import RECORDING, Tensor, mode
from .inline import allocates, in_place, written_form, written_out
from .program import BACKWARD, INFIX, PREFIX, Const, Program, Var, _text
from .tracer import TraceError, Tracer, _plain, installed, user_line

_ACTIVATIONS = {"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "arctan", "softmax", "exp", "sin"}
_files = itertools.count(1)
_SCALAR = "[()]"  # a 0-d array read as a NumPy scalar of the same dtype (same results, far cheaper operations)


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
        if mode.levels or mode.anomaly:  # inside a forward-mode sweep, or checking values: the eager call
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
        result = _rebuild(template, [_plain(value) if kind != "constant" else value for kind, value in
                                     zip([k for k, _ in outputs], _leaves(result))])
        entry = _Entry(self.fn, tracer, template, outputs, numbers, _parameter_names(self.fn, args, kwargs))
        self.traces += 1
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_signatures:
            self._cache.popitem(last=False)
        self._latest = entry
        return result


def _replay_arguments(args: tuple, kwargs: dict) -> tuple:
    return (*args, *(kwargs[k] for k in sorted(kwargs)))


def _signature(args: tuple, kwargs: dict) -> tuple:
    parts = [bool(mode.state & RECORDING)]
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
        program.outputs = []
        for kind, ref in outputs:
            if kind != "constant":
                if isinstance(ref, Var):
                    ref.escapes = True
                    program.outputs.append(ref)
                else:  # a constant Tensor or value: still returned fresh each call
                    var = Var("constant", np.shape(ref.value if isinstance(ref, Const) else ref))
                    program.outputs.append(var)
        self.numbers = numbers
        self.captured = [[t, t.value, t.value.shape, t.value.dtype, t.requires_grad] for t, _ in tracer.captured]
        self.guards = list(tracer.guards)
        program.simplify()
        _multiply_scalars_unspread(program)
        namespace, parameter_names = _name_everything(tracer, parameters)
        where = _origin(fn)
        header = (f"# chainrule.compile of {getattr(fn, '__qualname__', 'a function')} ({where}): one straight line "
                  "of NumPy\n# per traced operation; each comment gives the value's shape and dtype.")
        self.function_name = re.sub(r"\W", "_", getattr(fn, "__name__", "step")) or "step"
        if self.function_name == "<lambda>" or not self.function_name.isidentifier():
            self.function_name = "step"
        _write_out(program, namespace)
        _forward_aliases(program, {id(v) for v, _ in tracer.arguments} | {id(v) for _, v in tracer.captured})
        for statement in program.statements:  # written again with the names that remain
            if isinstance(statement.expression, str):
                statement.expression = ""
        _write_out(program, namespace)
        _write_into_dead_operands(program)
        self.source = program.source(self.function_name, parameter_names, header)
        self.namespace = namespace
        self.replay = _compiled(self.source, self.function_name, namespace)
        self.program = program
        self.parameter_names = parameter_names
        self.statement_lines = [program._line(s) for s in program.statements]

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


# A primitive's form for one value (a NumPy scalar), equal to its forward on a 0-d operand and written where
# every operand is 0-d. The gain, measured on float32 scalars with timeit: np.maximum(a, 0) 756 ns, the form
# 39 ns (the 1,000-op chain of benchmark B has 250 of them). NaN goes through as np.maximum lets it.
SCALAR_FORMS = {"relu": "{0} if not {0} <= 0 else {zero}"}


def _scalar_form(s: Any, namespace: dict) -> str | None:
    form = SCALAR_FORMS.get(s.label)
    if form is None or s.kwargs or not s.args or not all(isinstance(a, Var) and a.shape == () for a in s.args):
        return None
    zero = f"zero_{np.dtype(s.outs[0].dtype).name}"
    namespace[zero] = np.zeros((), s.outs[0].dtype)[()]
    return form.format(*(_text(a) for a in s.args), zero=zero)


def _write_out(program: Program, namespace: dict) -> None:
    """Put each one-line rule's expression in place of its call (see inline.py)."""
    for s in program.statements:
        if s.effect or s.expression or s.returns_pair or s.in_place or s.function in INFIX or s.function in PREFIX:
            continue
        scalar = _scalar_form(s, namespace)
        if scalar is not None:
            s.expression = scalar
            continue
        texts = [_text(a) for a in s.args]
        form = None if s.kwargs else written_form(s.function, texts, [_shape_of(a) for a in s.args],
                                                  [a.dtype if isinstance(a, Var) else None for a in s.args],
                                                  s.outs[0].name if s.outs else "out")
        if form is not None:
            s.expression = form
            continue
        found = written_out(s.function, texts, {k: _text(v) for k, v in s.kwargs.items()}, namespace)
        if found is not None:
            s.expression, needed = found
            namespace.update(needed)


def _multiply_scalars_unspread(program: Program) -> None:
    """`d = spread(g)` (sum's rule: the scalar ḡ repeated over x's shape) followed by `d * b` with b of that
    shape is `g * b`: the same products, without building the repeated view. The spread is dropped when
    nothing else reads it (as for every weight's L2 term in micrograd's demo step)."""
    spread_of: dict[int, Any] = {}
    for s in program.statements:
        if s.function is rules.sum_p.vjps[0] and not s.kwargs and isinstance(s.args[0], (Var, Const)) \
                and _shape_of(s.args[0]) == ():
            spread_of[id(s.outs[0])] = s.args[0]
        elif s.function in _MUL_RULES and s.args and id(s.args[0]) in spread_of:
            other = s.args[_MUL_RULES[s.function]]
            if _shape_of(other) == s.args[0].shape:
                s.args = [spread_of[id(s.args[0])], *s.args[1:]]
    program._drop_dead()


_MUL_RULES = {rules.mul_p.vjps[0]: 3, rules.mul_p.vjps[1]: 2}  # g * b and g * a: the position of the factor


def _write_into_dead_operands(program: Program) -> None:
    """`delta2 = da2 * (z2 > 0)` → `np.multiply(da2, z2 > 0, out=da2)` where da2 is a new array (made by an
    arithmetic statement of this program), read by nothing afterwards, viewed by no other value, kept by no
    tensor, and of the result's shape and dtype: the written rules get the in-place writes that program.py
    gives the operators. Saves an allocation and a pass over memory per statement (what the hand-written step
    does with `delta *= a > 0`)."""
    fresh: set[int] = set()
    shared: set[int] = set()
    for s in program.statements:
        text = str(s.expression) if s.expression else ""
        made_new = s.in_place or s.function in INFIX or s.function in PREFIX or (text and allocates(text))
        if s.outs and made_new and not s.effect:
            fresh.add(id(s.outs[0]))
        elif not s.effect:
            shared.update(id(v) for v in s.reads())
    last = program.last_uses()
    for i, s in enumerate(program.statements):
        if s.effect or not isinstance(s.expression, str) or not s.expression or len(s.outs) != 1:
            continue
        out = s.outs[0]
        for v in s.reads():
            if (id(v) in fresh and id(v) not in shared and not v.escapes and v not in program.outputs
                    and last.get(id(v)) == i and v.is_array and v.shape == out.shape and v.dtype == out.dtype):
                rewritten = in_place(s.expression, v.name)
                if rewritten is not None:
                    s.expression = rewritten
                    break


def _shape_of(a: Any) -> tuple | None:
    if isinstance(a, Var):
        return a.shape
    if isinstance(a, Const):
        return np.shape(a.value) if isinstance(a.value, (np.ndarray, np.generic)) else None
    return None


def _forward_aliases(program: Program, fixed: set[int]) -> None:
    """Drop `da2 = d_sub1` (a rule that hands ḡ on unchanged, such as add's or sub's): later statements read
    d_sub1 itself (or the constant itself)."""
    alias: dict[int, Any] = {}

    def resolve(a: Any) -> Any:
        if isinstance(a, Var):
            return alias.get(id(a), a)
        if isinstance(a, tuple):
            return tuple(resolve(x) for x in a)
        return a
    sources = []  # found before any renaming below changes the names the texts were written with
    earlier: dict[str, Var] = {}  # expression text → the value that computed it (since the last side effect)
    for s in program.statements:
        text = str(s.expression) if s.expression else None
        if s.effect:
            earlier.clear()
        source = next((a for a in s.args if isinstance(a, (Var, Const)) and text == _text(a)), None)
        if source is None and isinstance(s.expression, str) and s.expression and len(s.outs) == 1:
            source = earlier.setdefault(text, s.outs[0])  # the same expression again: the same value
            source = None if source is s.outs[0] else source
        sources.append(source)
    kept = []
    for s, source in zip(program.statements, sources):
        s.args = [resolve(a) for a in s.args]
        s.kwargs = {k: resolve(v) for k, v in s.kwargs.items()}
        if hasattr(s.expression, "refs"):
            s.expression.refs = [resolve(r) for r in s.expression.refs]
        out = s.outs[0] if len(s.outs) == 1 else None
        if not s.effect and source is not None and out is not None and out not in program.outputs:
            source = resolve(source)
            if isinstance(source, Var):
                source.escapes = source.escapes or out.escapes
                if id(source) not in fixed:
                    source.name = out.name  # ∂C/∂a2 reads better than the name of the sum it equals
            elif out.escapes:
                kept.append(s)
                continue
            alias[id(out)] = source
            continue
        kept.append(s)
    program.statements = kept
    program.outputs = [resolve(v) for v in program.outputs]


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
def _name_everything(tracer: Tracer, parameters: list[str]) -> tuple[dict, list[str]]:
    """Give every value, constant and object of the program a name, in the notation where the network's
    structure shows (W1, b1, z1, a1, ..., delta2, dW2) and by operation otherwise; return the namespace the
    source runs in and the replay's parameter names."""
    program = tracer.program
    namespace: dict[str, Any] = {"np": np, "new_leaf": Tensor._leaf}
    taken = {"np", "del", "return"}
    for s in program.statements:
        if not s.label.startswith((".", "np.")) and s.label not in ("add",):
            namespace.setdefault(s.label, s.function)
            taken.add(s.label)

    def claim(base: str) -> str:
        base = re.sub(r"\W", "_", base) or "v"
        if base[0].isdigit():
            base = "v" + base
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        return name

    parameter_names = []
    argument_vars = {index: var for var, index in tracer.arguments}
    inputs: list[tuple[Var, str]] = []
    for index, name in enumerate(parameters):
        var = argument_vars.get(index)
        label = tracer.argument_names.get(index)
        is_tensor = index in tracer.tensor_arguments
        one_value = var is not None and not is_tensor and var.shape == ()
        parameter = claim(f"{name}_tensor" if is_tensor else f"{name}_array" if one_value else name)
        parameter_names.append(parameter)
        if label is not None:
            label.text = parameter
        if var is not None:
            var.name = claim(name) if is_tensor or one_value else parameter
            if is_tensor:
                inputs.append((var, f"{parameter}.value"))
            elif one_value:  # a NumPy scalar: its arithmetic is many times cheaper than a 0-d array's
                inputs.append((var, f"{parameter}{_SCALAR}"))
    _notation(tracer, claim)
    for t, var in tracer.captured:
        if not var.name:
            var.name = claim("param" if t.requires_grad else "data")
    for var in tracer.roots:
        if isinstance(var, Var) and not var.name and var.shape == ():
            var.name = claim("C")
    counters: dict[str, int] = {}
    by_id = {id(v): v for v in _all_vars(tracer)}
    for s in program.statements:
        for var in s.outs:
            if not var.name:
                key = tracer.notation.get(id(var))
                if key is not None:
                    var.name = claim(_share_name(by_id, key))
                    continue
                counters[var.hint] = counters.get(var.hint, 0) + 1
                var.name = claim(f"{var.hint}{counters[var.hint]}")
    constant_count = 0
    for s in program.statements:
        for a in [*s.args, *s.kwargs.values()]:
            for c in (a if isinstance(a, tuple) else (a,)):
                if isinstance(c, Const) and not c.name:
                    c.name = _object_name(tracer, c, claim)
                    if c.name.startswith("k"):
                        constant_count += 1
                    namespace[c.name] = c.value
                owner = getattr(c, "owner", None)
                if isinstance(owner, Const) and not owner.name:
                    owner.name = _object_name(tracer, owner, claim)
                    namespace[owner.name] = owner.value
    for t, var in tracer.captured:
        const = _tensor_const(tracer, t)
        scalar = type(t.value) is np.ndarray and t.value.ndim == 0 and not t.requires_grad  # never written
        inputs.append((var, f"{const.name}.value{_SCALAR if scalar else ''}"))
        namespace[const.name] = t
    for v in program.outputs:
        if not v.name:
            v.name = claim("out")
    program.inputs = inputs
    for label in tracer.argument_names.values():
        if not label.text:
            label.text = "None"
    return namespace, parameter_names


def _notation(tracer: Tracer, claim: Callable[[str], str]) -> None:
    """W1, b1, z1, a1, ...: the layers of the network, found as the linear operations on parameters."""
    layer = 0
    by_z: dict[int, int] = {}
    captured = {id(var): t for t, var in tracer.captured}
    for s in tracer.program.statements:
        if s.section == BACKWARD:
            break
        if s.label == "linear" and len(s.args) >= 2 and isinstance(s.args[1], Var) and id(s.args[1]) in captured:
            layer += 1
            x, W = s.args[0], s.args[1]
            if not W.name:
                W.name = claim(f"W{layer}")
            if len(s.args) > 2 and isinstance(s.args[2], Var) and not s.args[2].name:
                s.args[2].name = claim(f"b{layer}")
            if layer == 1 and isinstance(x, Var) and not x.name:
                x.name = claim("a0")
            s.outs[0].name = claim(f"z{layer}")
            by_z[id(s.outs[0])] = layer
        elif s.label in _ACTIVATIONS and s.args and isinstance(s.args[0], Var) and id(s.args[0]) in by_z:
            s.outs[0].name = claim(f"a{by_z[id(s.args[0])]}")


def _share_name(by_id: dict[int, Var], key: str) -> str:
    """dW1, db1, delta1, da1 or d_<name>: the name of ∂C/∂(the value with program id `key`)."""
    target = by_id.get(int(key.split(":", 1)[1]))
    name = target.name if target is not None and target.name else "x"
    match = re.fullmatch(r"([a-zA-Z]+)(\d+)", name)
    if match and match.group(1) == "z":
        return f"delta{match.group(2)}"
    if match and match.group(1) in ("W", "b", "a"):
        return f"d{name}"
    return f"d_{name}"


def _all_vars(tracer: Tracer) -> list[Var]:
    seen: dict[int, Var] = {}
    for s in tracer.program.statements:
        for v in [*s.outs, *s.reads()]:
            seen[id(v)] = v
    for _, v in tracer.captured:
        seen[id(v)] = v
    return list(seen.values())


def _object_name(tracer: Tracer, c: Const, claim: Callable[[str], str]) -> str:
    entry = tracer.objects.get(id(c.value))
    if entry is not None:
        obj, kind = entry
        if kind == "tensor":
            return _tensor_const(tracer, obj).name
        existing = tracer.objects_named.get(id(obj)) if hasattr(tracer, "objects_named") else None
        if existing:
            return existing
        name = claim(kind)
        tracer.__dict__.setdefault("objects_named", {})[id(obj)] = name
        return name
    return claim(c.hint)


def _tensor_const(tracer: Tracer, t: Tensor) -> Const:
    names = tracer.__dict__.setdefault("tensor_consts", {})
    if id(t) not in names:
        var = tracer.vars.get(id(t))
        base = var.name if var is not None and var.name else "tensor"
        const = Const(t)
        taken = {c.name for c in names.values()}
        name = f"{base}_param" if t.requires_grad else f"{base}_tensor"
        while name in taken:
            name += "_"
        const.name = name
        names[id(t)] = const
    return names[id(t)]
