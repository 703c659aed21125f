"""Random differentiable programs, run by chainrule and by PyTorch, compared value by value and derivative by
derivative (issue 14: gradients at scale).

A program is Python source over a namespace `cr`: compositions of the engine's primitives (elementwise,
broadcasting binary operations, reductions, indexing, reshapes, matmul, softmax, where) on inputs of random
small shapes, in float64 or float32. The same source runs with `cr` bound to chainrule and to a thin PyTorch
shim, so a disagreement comes with its reproducer: the seed and the program printed as code. Domains where a
function is undefined are avoided by construction (log and sqrt of squares plus a constant, denominators
b·b + ½, exp of a tanh), so every number compared is finite and every derivative exists.
Only chainrule's public API is used (tensor, grad, jvp, hvp, .backward and the functions).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr

SHAPES = [(), (3,), (4,), (2, 3), (3, 1), (1, 3), (3, 4), (2, 1, 3), (2, 3, 4)]
# unary forms: (weight, chainrule source with {a}); each is defined and smooth enough everywhere it is used
UNARY = [
    "cr.sin({a})", "cr.cos({a})", "cr.tanh({a})", "cr.sigmoid({a})", "cr.softplus({a})", "cr.square({a})",
    "-{a}", "cr.abs({a})", "cr.relu({a})", "cr.arctan({a})", "cr.log({a} * {a} + 0.5)", "cr.sqrt({a} * {a} + 0.25)",
    "cr.log1p({a} * {a})", "cr.expm1(cr.tanh({a}))", "cr.exp(cr.tanh({a}))", "{a} ** 2", "{a} ** 3",
    "({a} * {a} + 0.5) ** 1.5", "({a} * {a} + 0.5) ** -0.5", "cr.clip({a}, -0.8, 0.9)", "{a} * 0.7", "1.3 - {a}",
    "cr.exp({a} * 0.5)",
]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / ({b} * {b} + 0.5)", "cr.maximum({a}, {b})",
          "cr.minimum({a}, {b})", "cr.where({m}, {a}, {b})"]
REDUCTIONS = ["sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax", "var", "prod"]


@dataclasses.dataclass
class Program:
    """A random program: its inputs' shapes, its constants, and its lines of source."""

    seed: int
    dtype: str
    inputs: list[tuple[int, ...]]
    constants: dict[str, np.ndarray]
    lines: list[str]
    result: str

    def source(self) -> str:
        """The program as a Python function of the inputs x0, x1, ... returning a scalar."""
        arguments = ", ".join(f"x{i}" for i in range(len(self.inputs)))
        body = "".join(f"    {line}\n" for line in self.lines)
        return f"def f({arguments}):\n{body}    return {self.result}\n"

    def function(self, namespace: Any, constants: dict[str, Any]) -> Callable:
        scope = {"cr": namespace, **constants}
        exec(compile(self.source(), f"<fuzz program {self.seed}>", "exec"), scope)  # our own generated source
        return scope["f"]


def _array_source(name: str, array: np.ndarray) -> str:
    return f"{name} = np.array({array.tolist()!r}, dtype=np.{array.dtype})"


CALLS = {  # how each check calls chainrule, for the reproducer (g: the program as a function of x0 alone)
    "value": "f({args})",
    "reverse mode (grad)": "cr.grad(f, argnums={argnums})({args})",
    "reverse mode (.backward)": "cr.grad(f, argnums={argnums})({args})",
    "forward mode (jvp)": "cr.jvp(f, ({args},), ({tangents},))[1]",
    "second order (reverse-over-reverse)": "cr.hvp(g, x0, t0)",
    "second order (forward-over-reverse)": "cr.jvp(cr.grad(g), (x0,), (t0,))[1]",
    "second order (reverse-over-forward)": "cr.grad(lambda y: cr.jvp(g, (y,), (t0,))[1])(x0)",
    "second order (forward-over-forward)": "cr.jvp(lambda y: cr.jvp(g, (y,), (t0,))[1], (x0,), (u0,))[1]",
}


def reproducer(program: Program, inputs: list[np.ndarray], tangents: list[np.ndarray], u0: np.ndarray,
               check: str = "value") -> str:
    """Code that rebuilds the failing program, its inputs and the failing call with chainrule alone."""
    lines = ["import numpy as np", "import chainrule as cr", ""]
    lines += [_array_source(name, value) for name, value in program.constants.items()]
    lines += [_array_source(f"x{i}", x) for i, x in enumerate(inputs)]
    lines += [_array_source(f"t{i}", t) for i, t in enumerate(tangents)] + [_array_source("u0", u0)]
    lines += ["", program.source().rstrip(), ""]
    args = ", ".join(f"x{i}" for i in range(len(inputs)))
    rest = "".join(f", x{i}" for i in range(1, len(inputs)))
    lines.append(f"g = lambda y: f(y{rest})")
    call = CALLS.get(check, CALLS["value"]).format(args=args, argnums=tuple(range(len(inputs))),
                                                   tangents=", ".join(f"t{i}" for i in range(len(inputs))))
    lines.append(f"print({call})")
    return "\n".join(lines)


class _Builder:
    """Grows a program one line at a time, tracking every value's shape so operands always line up."""

    def __init__(self, rng: np.random.Generator, dtype: str) -> None:
        self.rng, self.dtype = rng, dtype
        self.values: list[tuple[str, tuple[int, ...]]] = []
        self.used: set[str] = set()
        self.lines: list[str] = []
        self.constants: dict[str, np.ndarray] = {}

    def pick(self) -> tuple[str, tuple[int, ...]]:
        recent = self.values[-4:] if self.rng.random() < 0.7 else self.values
        return recent[self.rng.integers(len(recent))]

    def constant(self, array: np.ndarray) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = array
        return name

    def emit(self, expression: str, shape: tuple[int, ...], operands: list[str]) -> None:
        name = f"v{len(self.lines)}"
        self.lines.append(f"{name} = {expression}")
        self.used.update(operands)
        self.values.append((name, shape))

    def unary(self) -> None:
        a, shape = self.pick()
        form = UNARY[self.rng.integers(len(UNARY))]
        self.emit(form.format(a=a), shape, [a])

    def binary(self) -> None:
        a, shape_a = self.pick()
        partners = [(b, s) for b, s in self.values if _broadcasts(shape_a, s)]
        b, shape_b = partners[self.rng.integers(len(partners))]
        form = BINARY[self.rng.integers(len(BINARY))]
        shape = np.broadcast_shapes(shape_a, shape_b)
        mask = self.constant(self.rng.random(shape) < 0.5) if "{m}" in form else ""
        self.emit(form.format(a=a, b=b, m=mask), shape, [a, b])

    def reduction(self) -> None:
        a, shape = self.pick()
        if not shape:
            return self.unary()
        kind = REDUCTIONS[self.rng.integers(len(REDUCTIONS))]
        axis = int(self.rng.integers(-len(shape), len(shape)))
        if kind in ("softmax", "log_softmax"):
            return self.emit(f"cr.{kind}({a}, axis={axis})", shape, [a])
        keep = bool(self.rng.integers(2))
        reduced = tuple(1 if i == axis % len(shape) else n for i, n in enumerate(shape)) if keep else \
            tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
        operand = f"(cr.tanh({a}) + 1.5)" if kind == "prod" else a  # prod: factors in (0.5, 2.5), well scaled
        self.emit(f"cr.{kind}({operand}, axis={axis}, keepdims={keep})", reduced, [a])
        return None

    def reshaping(self) -> None:
        a, shape = self.pick()
        choices = [("cr.reshape({a}, (-1,))", (math.prod(shape),)), ("cr.expand_dims({a}, 0)", (1, *shape))]
        if len(shape) >= 2:
            choices.append(("cr.transpose({a})", tuple(reversed(shape))))
            choices.append(("cr.swapaxes({a}, 0, 1)", (shape[1], shape[0], *shape[2:])))
        if shape and shape[0] >= 2:
            choices.append(("{a}[1:]", (shape[0] - 1, *shape[1:])))
            choices.append(("{a}[::2]", ((shape[0] + 1) // 2, *shape[1:])))
            choices.append(("{a}[[0, 1, 0, 1]]", (4, *shape[1:])))  # repeated indices: gradients add up
        if len(shape) >= 2:
            choices.append(("{a}[..., 0]", shape[:-1]))
        if shape and shape[-1] == 1:
            choices.append((f"cr.broadcast_to({{a}}, {(*shape[:-1], 3)!r})", (*shape[:-1], 3)))
        form, new_shape = choices[self.rng.integers(len(choices))]
        self.emit(form.format(a=a), new_shape, [a])

    def product(self) -> None:
        a, shape = self.pick()
        if not shape:
            return self.binary()
        partners = [(b, s) for b, s in self.values if len(s) == 2 and s[0] == shape[-1]]
        if partners and self.rng.random() < 0.6:
            b, shape_b = partners[self.rng.integers(len(partners))]
        else:
            shape_b = (shape[-1], int(self.rng.integers(1, 4)))
            b = self.constant(self.rng.uniform(-1, 1, shape_b).astype(self.dtype))
        out = (*shape[:-1], shape_b[1])
        self.emit(f"cr.matmul({a}, {b})", out, [a, b])
        return None

    def joining(self) -> None:
        a, shape = self.pick()
        if not shape:
            return self.unary()
        same = [b for b, s in self.values if s == shape]
        b = same[self.rng.integers(len(same))]
        if self.rng.random() < 0.5:
            self.emit(f"cr.concatenate([{a}, {b}], axis=0)", (2 * shape[0], *shape[1:]), [a, b])
        else:
            self.emit(f"cr.stack([{a}, {b}], axis=0)", (2, *shape), [a, b])
        return None


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


STEPS = [("unary", 5), ("binary", 4), ("reduction", 2), ("reshaping", 2), ("product", 1), ("joining", 1)]


def generate(seed: int) -> Program:
    """The program numbered `seed`: 1–3 inputs, 3–12 operations, float64 (60%) or float32."""
    rng = np.random.default_rng(seed)
    dtype = "float64" if rng.random() < 0.6 else "float32"
    builder = _Builder(rng, dtype)
    inputs = [SHAPES[rng.integers(len(SHAPES))] for _ in range(int(rng.integers(1, 4)))]
    builder.values = [(f"x{i}", shape) for i, shape in enumerate(inputs)]
    names, weights = [name for name, _ in STEPS], np.array([w for _, w in STEPS], dtype=float)
    for _ in range(int(rng.integers(3, 13))):
        getattr(builder, names[rng.choice(len(names), p=weights / weights.sum())])()
    terms = []
    for name, shape in builder.values:  # every value not used later feeds the result, weighted
        if name not in builder.used:
            weight = builder.constant(rng.uniform(-1, 1, shape).astype(dtype))
            terms.append(f"cr.sum({name} * {weight})")
    return Program(seed, dtype, inputs, builder.constants, builder.lines, " + ".join(terms))


# ---------------------------------------------------------------- PyTorch, spoken in chainrule's names
class TorchNamespace:
    """The subset of chainrule's functions the programs use, implemented with PyTorch (the reference)."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        functional = torch.nn.functional
        for name in ("sin", "cos", "tanh", "sigmoid", "square", "abs", "relu", "log", "sqrt", "log1p", "expm1",
                     "exp", "maximum", "minimum", "matmul", "where"):
            setattr(self, name, getattr(torch, name))
        self.arctan, self.softplus, self.clip = torch.atan, functional.softplus, torch.clamp

    def _reduce(self, function: Callable, x: Any, axis: Any, keepdims: bool) -> Any:
        return function(x, dim=axis, keepdim=keepdims)

    def sum(self, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return self.torch.sum(x) if axis is None else self._reduce(self.torch.sum, x, axis, keepdims)

    def mean(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self._reduce(self.torch.mean, x, axis, keepdims)

    def max(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self._reduce(self.torch.amax, x, axis, keepdims)

    def min(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self._reduce(self.torch.amin, x, axis, keepdims)

    def logsumexp(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self._reduce(self.torch.logsumexp, x, axis, keepdims)

    def prod(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self._reduce(self.torch.prod, x, axis, keepdims)

    def var(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self.torch.var(x, dim=axis, keepdim=keepdims, correction=0)

    def softmax(self, x: Any, axis: int) -> Any:
        return self.torch.softmax(x, dim=axis)

    def log_softmax(self, x: Any, axis: int) -> Any:
        return self.torch.log_softmax(x, dim=axis)

    def reshape(self, x: Any, shape: tuple) -> Any:
        return self.torch.reshape(x, shape)

    def expand_dims(self, x: Any, axis: int) -> Any:
        return self.torch.unsqueeze(x, axis)

    def transpose(self, x: Any) -> Any:
        return x.permute(*reversed(range(x.dim())))

    def swapaxes(self, x: Any, a: int, b: int) -> Any:
        return self.torch.transpose(x, a, b)

    def broadcast_to(self, x: Any, shape: tuple) -> Any:
        return self.torch.broadcast_to(x, shape)

    def concatenate(self, xs: list, axis: int = 0) -> Any:
        return self.torch.cat(xs, dim=axis)

    def stack(self, xs: list, axis: int = 0) -> Any:
        return self.torch.stack(xs, dim=axis)


# ---------------------------------------------------------------- the checks
ORDER_TOLERANCE = {  # (rtol, atol relative to the reference's scale) by dtype and derivative order
    ("float64", 0): (1e-9, 1e-11), ("float64", 1): (1e-8, 1e-10), ("float64", 2): (1e-7, 1e-9),
    ("float32", 0): (2e-4, 2e-5), ("float32", 1): (1e-3, 1e-4), ("float32", 2): (5e-3, 5e-4),
}
LARGEST = 1e5  # programs whose reference values or derivatives exceed this are skipped as out of range


@dataclasses.dataclass
class Disagreement:
    seed: int
    check: str
    detail: str
    code: str

    def report(self) -> str:
        return (f"program {self.seed}: {self.check} disagrees with PyTorch: {self.detail}\n"
                f"reproduce with: python tests/project/fuzz/run.py --seed {self.seed} --programs 1\n{self.code}")


def _close(actual: Any, expected: np.ndarray, dtype: str, order: int) -> str | None:
    """None when `actual` matches `expected` within the scale-aware tolerance, else what differs."""
    actual = np.asarray(actual.data if isinstance(actual, cr.Tensor) else actual)
    if actual.shape != expected.shape:
        return f"shape {actual.shape} instead of {expected.shape}"
    rtol, atol = ORDER_TOLERANCE[(dtype, order)]
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    error = np.abs(actual.astype(np.float64) - expected) - rtol * np.abs(expected)
    if not np.all(np.isfinite(actual)) or np.any(error > atol * scale):
        worst = np.unravel_index(np.argmax(np.nan_to_num(error, nan=np.inf)), error.shape) if error.ndim else ()
        return (f"chainrule {actual[worst]!r} vs PyTorch {expected[worst]!r} at {worst} "
                f"(rtol {rtol:g}, atol {atol:g} × scale {scale:.3g})")
    return None


def mode_probe() -> dict[str, str]:
    """Which derivative modes the engine offers now: 'ok', 'not supported', or 'wrong' (on d²/dx² x³ at 2 = 12)."""
    def cube(x):
        return cr.sum(x ** 3)

    x, v = np.array([2.0]), np.array([1.0])
    attempts = {
        "reverse-over-reverse": lambda: cr.hvp(cube, x, v),
        "forward-over-reverse": lambda: cr.jvp(cr.grad(cube), (x,), (v,))[1],
        "reverse-over-forward": lambda: cr.grad(lambda y: cr.jvp(cube, (y,), (v,))[1])(x),
        "forward-over-forward": lambda: cr.jvp(lambda y: cr.jvp(cube, (y,), (v,))[1], (x,), (v,))[1],
    }
    found = {}
    for mode, attempt in attempts.items():
        try:
            result = attempt()
            value = np.asarray(getattr(result, "data", result))
        except NotImplementedError:
            found[mode] = "not supported"
            continue
        found[mode] = "ok" if np.allclose(value, 12.0) else "wrong"
    return found


class Checker:
    """Runs programs through both libraries and collects disagreements."""

    def __init__(self, torch: Any, engine: Any = cr, include_wrong_modes: bool = False) -> None:
        """`engine`: the namespace the programs run in (chainrule; a test swaps in a broken one).

        Nested modes run when the probe finds them working, or also when it finds them wrong if
        `include_wrong_modes` (so `make fuzz` prints reproducers for a broken mode; CI tests that mode alone).
        """
        self.torch, self.reference, self.engine = torch, TorchNamespace(torch), engine
        self.modes = mode_probe()
        self.run_modes = {mode for mode, state in self.modes.items()
                          if state == "ok" or (include_wrong_modes and state == "wrong")}
        self.checks = self.skipped = self.programs = 0
        self.disagreements: list[Disagreement] = []

    def _torch_reference(self, program: Program, xs: list[np.ndarray], vs: list[np.ndarray], u0: np.ndarray):
        torch = self.torch
        constants = {k: torch.from_numpy(np.array(c)) for k, c in program.constants.items()}
        f = program.function(self.reference, constants)
        leaves = [torch.from_numpy(x.copy()).requires_grad_(True) for x in xs]
        value = f(*leaves)
        grads = torch.autograd.grad(value, leaves, create_graph=True)
        inner = sum((g * torch.from_numpy(v)).sum() for g, v in zip(grads, vs))
        hvp = None
        if grads[0].requires_grad:  # otherwise the program is linear in x0
            hvp = torch.autograd.grad(grads[0], leaves[0], grad_outputs=torch.from_numpy(vs[0]), allow_unused=True)[0]
        hvp = torch.zeros_like(leaves[0]) if hvp is None else hvp
        out = {"value": value, "grad": grads, "jvp": inner, "hvp": hvp, "uHv": (hvp * torch.from_numpy(u0)).sum()}
        as_numpy = {k: tuple(np.asarray(g.detach().numpy(force=True), dtype=np.float64) for g in v) if isinstance(v, tuple)
                    else np.asarray(v.detach().numpy(force=True), dtype=np.float64) for k, v in out.items()}
        return as_numpy, str(value.dtype).replace("torch.", "")

    def _in_range(self, reference: dict) -> bool:
        arrays = [np.asarray(a) for v in reference.values() for a in (v if isinstance(v, tuple) else (v,))]
        return all(np.all(np.isfinite(a)) and np.max(np.abs(a), initial=0) < LARGEST for a in arrays)

    def run(self, seed: int) -> None:
        """Generate program `seed`, run it both ways, and record every disagreement."""
        program = generate(seed)
        rng = np.random.default_rng(seed + 10**9)
        xs = [rng.uniform(-1.5, 1.5, s).astype(program.dtype) for s in program.inputs]
        vs = [rng.uniform(-1, 1, s).astype(program.dtype) for s in program.inputs]
        u0 = rng.uniform(-1, 1, program.inputs[0]).astype(program.dtype)
        xs = [np.asarray(x, dtype=program.dtype) for x in xs]  # 0-d inputs stay arrays
        vs, u0 = [np.asarray(v, dtype=program.dtype) for v in vs], np.asarray(u0, dtype=program.dtype)
        with np.errstate(all="ignore"):
            reference, torch_dtype = self._torch_reference(program, xs, vs, u0)
        self.programs += 1
        if not self._in_range(reference):
            self.skipped += 1
            return
        f = program.function(self.engine, program.constants)
        for check, attempt in self._attempts(f, xs, vs, u0, reference, program, torch_dtype):
            self.checks += 1
            try:
                problem = attempt()
            except Exception as error:  # a crash is a disagreement too, reported with its reproducer
                problem = f"raised {type(error).__name__}: {error}"
            if problem:
                self.disagreements.append(
                    Disagreement(seed, check, problem, reproducer(program, xs, vs, u0, check)))

    def _attempts(self, f, xs, vs, u0, ref, program, torch_dtype):
        dtype, n = program.dtype, len(xs)

        def first_input(g):
            return lambda x: g(x, *xs[1:])

        def value():
            out = f(*xs)
            if str(out.dtype) != torch_dtype:
                return f"result dtype {out.dtype}, PyTorch {torch_dtype}"
            return _close(out, ref["value"], dtype, 0)

        def reverse():
            grads = cr.grad(f, argnums=tuple(range(n)))(*xs)
            return next(filter(None, (_close(g, r, dtype, 1) for g, r in zip(grads, ref["grad"]))), None)

        def backward():
            leaves = [cr.tensor(x, requires_grad=True) for x in xs]
            f(*leaves).backward()
            return next(filter(None, (_close(t.grad, r, dtype, 1) for t, r in zip(leaves, ref["grad"]))), None)

        def forward():
            return _close(cr.jvp(f, tuple(xs), tuple(vs))[1], ref["jvp"], dtype, 1)

        yield "value", value
        yield "reverse mode (grad)", reverse
        yield "reverse mode (.backward)", backward
        yield "forward mode (jvp)", forward
        g = first_input(f)
        second = {
            "reverse-over-reverse": lambda: _close(cr.hvp(g, xs[0], vs[0]), ref["hvp"], dtype, 2),
            "forward-over-reverse": lambda: _close(cr.jvp(cr.grad(g), (xs[0],), (vs[0],))[1], ref["hvp"], dtype, 2),
            "reverse-over-forward": lambda: _close(cr.grad(lambda y: cr.jvp(g, (y,), (vs[0],))[1])(xs[0]),
                                                   ref["hvp"], dtype, 2),
            "forward-over-forward": lambda: _close(
                cr.jvp(lambda y: cr.jvp(g, (y,), (vs[0],))[1], (xs[0],), (u0,))[1], ref["uHv"], dtype, 2),
        }
        for mode, attempt in second.items():
            if mode in self.run_modes:
                yield f"second order ({mode})", attempt

    def summary(self) -> str:
        modes = ", ".join(f"{mode}: {state}" for mode, state in self.modes.items())
        return (f"{self.programs} programs ({self.programs - self.skipped} compared, {self.skipped} skipped as out "
                f"of range, |value| ≥ {LARGEST:g}), {self.checks} checks, {len(self.disagreements)} disagreements; "
                f"modes: {modes}")
