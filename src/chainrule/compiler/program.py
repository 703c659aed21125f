"""A traced step as a straight-line program, simplified and written out as Python source that calls NumPy.

A `Program` is a list of `Statement`s, each `outs = function(*args, **kwargs)` over `Var`s (values the program
computes or reads) and constants, or a side effect (deliver a gradient, step an optimiser). Simplifying it
drops statements whose results nobody uses, writes a result into a dead operand's buffer (`out=`) where that
is safe, and frees each array after its last use (`del`), which is where the generated code saves the time
and memory that the eager engine and a hand-written step spend on temporaries.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORWARD, BACKWARD, UPDATE = "forward", "backward", "update"
SECTION_TITLES = {
    FORWARD: "forward: z^l = W^l a^(l-1) + b^l, a^l = σ(z^l), then the cost C",
    BACKWARD: "backward: δ^L = ∂C/∂z^L (BP1), δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^l) (BP2), "
              "∂C/∂b^l = δ^l (BP3), ∂C/∂w^l_jk = a^(l-1)_k δ^l_j (BP4)",
    UPDATE: "update: w ← w − η ∂C/∂w (or the optimiser's rule)",
}

# Python's operators as NumPy ufuncs: written infix, and able to write into a dead operand with out=.
INFIX = {operator.add: ("+", np.add), operator.sub: ("-", np.subtract), operator.mul: ("*", np.multiply),
         operator.truediv: ("/", np.true_divide), operator.pow: ("**", np.power),
         operator.matmul: ("@", np.matmul)}
PREFIX = {operator.neg: ("-", np.negative)}


@dataclass(eq=False)
class Var:
    """A value of the program: an input it reads or a result it computes (shape and dtype as traced)."""
    hint: str
    shape: tuple | None = None
    dtype: Any = None
    name: str = ""
    owned: bool = False   # a fresh array that this program allocated (so it may be overwritten once dead)
    aliased: bool = False  # some other value may be a view of it
    escapes: bool = False  # returned, or handed to a tensor's .grad: must never be overwritten

    @property
    def is_array(self) -> bool:
        return self.shape is not None and len(self.shape) > 0


@dataclass(eq=False)
class Const:
    """A constant of the program: written as a literal when it has an exact one, else bound by name."""
    value: Any
    name: str = ""
    hint: str = "k"


@dataclass(eq=False)
class Name:
    """An object the replay reaches by a name (a tensor passed as an argument, an optimiser): written as is."""
    text: str = ""


@dataclass(eq=False)
class Attribute:
    """owner.attribute read at replay time (an optimiser's η, say, so that a changed rate takes effect)."""
    owner: Any
    attribute: str


@dataclass(eq=False)
class Statement:
    """outs = function(*args, **kwargs), or a side effect when `effect` is set (no outs)."""
    outs: list
    function: Any
    args: list
    kwargs: dict = field(default_factory=dict)
    section: str = FORWARD
    label: str = ""       # what the function is, for the source (e.g. "linear", "vjp of sigmoid")
    note: Any = ""        # a comment (shape, dtype, meaning); str() of it is taken when the source is written
    effect: bool = False
    returns_pair: bool = False  # the function returns (y, residual): outs holds both
    in_place: bool = False      # written as np.ufunc(a, b, out=a)
    expression: Any = ""        # the rule written out (inline.py), used instead of a call when set

    def reads(self) -> list:
        """The values this statement reads: its operands, or, once it is written out as text, those whose names
        the text uses (a written rule may ignore an operand, such as the output y, which can then be freed)."""
        found = []
        for a in list(self.args) + list(self.kwargs.values()):
            if isinstance(a, Var):
                found.append(a)
            elif isinstance(a, tuple):
                found.extend(x for x in a if isinstance(x, Var))
        if isinstance(self.expression, str) and self.expression:
            used = set(re.findall(r"[A-Za-z_]\w*", self.expression))
            found = [v for v in found if not v.name or v.name in used]
        return found


class Program:
    """The statements of one traced call, its inputs (by how the replay reads them) and its outputs."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.inputs: list[tuple[Var, str]] = []   # (var, the expression that reads it at the top of a replay)
        self.outputs: list[Var] = []

    def add(self, statement: Statement) -> Statement:
        self.statements.append(statement)
        return statement

    # ------------------------------------------------------------------ simplification
    def simplify(self) -> None:
        """Compute each value once, drop dead statements, then write into dead operands in place where safe."""
        self._share_common()
        self._drop_dead()
        self._write_in_place()

    def _share_common(self) -> None:
        """Two statements calling the same function on the same operands compute the same value (every
        non-effect statement is a pure function of its operands): the second reads the first's result. A side
        effect (an optimiser writing the weights) may change what an operand holds, so nothing is shared
        across one."""
        seen: dict[tuple, Var] = {}
        same: dict[int, Var] = {}

        def key_of(a: Any) -> Any:
            if isinstance(a, Var):
                return ("var", id(same.get(id(a), a)))
            if isinstance(a, Const):
                return ("const", id(a.value))
            if isinstance(a, tuple):
                return tuple(key_of(x) for x in a)
            return ("literal", type(a), repr(a))

        kept = []
        for s in self.statements:
            s.args = [_resolve(a, same) for a in s.args]
            s.kwargs = {k: _resolve(v, same) for k, v in s.kwargs.items()}
            if s.effect:
                seen.clear()
                kept.append(s)
                continue
            key = (id(s.function), tuple(key_of(a) for a in s.args),
                   tuple((k, key_of(v)) for k, v in sorted(s.kwargs.items())))
            if key in seen and len(s.outs) == 1 and s.outs[0] not in self.outputs and not s.outs[0].escapes:
                same[id(s.outs[0])] = seen[key]
                continue
            if len(s.outs) == 1:
                seen[key] = s.outs[0]
            kept.append(s)
        self.statements = kept
        self.outputs = [_resolve(v, same) for v in self.outputs]

    def _drop_dead(self) -> None:
        live = {id(v) for v in self.outputs}
        kept = []
        for s in reversed(self.statements):
            if s.effect or any(id(o) in live for o in s.outs):
                kept.append(s)
                live.update(id(v) for v in s.reads())
        self.statements = kept[::-1]

    def last_uses(self) -> dict[int, int]:
        """id(var) → index of the last statement that reads it."""
        last: dict[int, int] = {}
        for i, s in enumerate(self.statements):
            for v in s.reads():
                last[id(v)] = i
        return last

    def _write_in_place(self) -> None:
        """a + b → np.add(a, b, out=a) when a is a fresh array of the result's shape and dtype that nothing
        reads afterwards, nobody views and nobody keeps (BLAS products and calls keep their own outputs)."""
        last = self.last_uses()
        for i, s in enumerate(self.statements):
            if s.effect or s.function not in INFIX and s.function not in PREFIX or s.function is operator.matmul:
                continue
            positions = (0, 1) if s.function in (operator.add, operator.mul) else (0,)  # commutative: either
            for position in positions:
                if position < len(s.args) and _overwritable(s, s.args[position], i, last):
                    s.in_place = True
                    if position == 1:
                        s.args = [s.args[1], s.args[0]]
                    s.outs[0].owned = True
                    break

    # ------------------------------------------------------------------ source
    def source(self, name: str, parameters: list[str], header: str = "") -> str:
        """The program as the text of one Python function."""
        last = self.last_uses()
        inputs = {id(v) for v, _ in self.inputs}
        lines = [f"def {name}({', '.join(parameters)}):"]
        if header:
            lines += ["    " + line if line else "" for line in header.splitlines()]
        lines += self._input_lines()
        section = None
        for i, s in enumerate(self.statements):
            if s.section != section:
                section = s.section
                lines += ["", f"    # ---- {SECTION_TITLES[section]}"]
            lines.append("    " + self._line(s))
            dead = sorted({v.name for v in s.reads() if last.get(id(v)) == i and self._freeable(v, inputs, parameters)})
            if dead:
                lines.append(f"    del {', '.join(dead)}")
        lines.append("")
        lines.append(f"    return ({''.join(v.name + ', ' for v in self.outputs)})")
        return "\n".join(lines) + "\n"

    def _input_lines(self) -> list[str]:
        """`W1 = W1_param.value` for every input the program reads."""
        read = {id(v) for s in self.statements for v in s.reads()} | {id(v) for v in self.outputs}
        return [f"    {var.name} = {expression}{_shape_note(var)}" for var, expression in self.inputs
                if id(var) in read]

    def _freeable(self, v: Var, inputs: set[int], parameters: list[str]) -> bool:
        """Whether the program may drop its name for v after its last use (an array it made and keeps to
        itself): `del` frees the memory at once, not at the end of the step."""
        return (v.is_array and not v.escapes and v not in self.outputs and id(v) not in inputs
                and v.name not in parameters)

    def _line(self, s: Statement) -> str:
        call = _expression(s)
        if s.effect:
            text = call
        elif s.returns_pair:
            text = f"{s.outs[0].name}, {s.outs[1].name} = {call}"
        else:
            text = f"{s.outs[0].name} = {call}"
        note = str(s.note) if s.note else (_describe(s.outs[0]) if s.outs else "")
        return f"{text}  # {note}" if note else text


def _overwritable(s: Statement, a: Any, i: int, last: dict[int, int]) -> bool:
    """Whether statement i may write its result into operand a: a fresh array of the result's shape and dtype
    that nothing reads afterwards, nobody views, nobody keeps, and that is not also the other operand."""
    out = s.outs[0]
    return (isinstance(a, Var) and a.owned and not a.aliased and not a.escapes and last.get(id(a)) == i
            and a.shape == out.shape and a.dtype == out.dtype and a.is_array and sum(x is a for x in s.args) == 1)


def _resolve(a: Any, same: dict) -> Any:
    if isinstance(a, Var):
        return same.get(id(a), a)
    if isinstance(a, tuple):
        return tuple(_resolve(x, same) for x in a)
    return a


def _describe(v: Var) -> str:
    if v.shape is None:
        return ""
    return f"{v.shape} {np.dtype(v.dtype).name}" if v.dtype is not None else str(v.shape)


def _shape_note(v: Var) -> str:
    d = _describe(v)
    return f"  # {d}" if d else ""


def _text(a: Any) -> str:
    if isinstance(a, Var):
        return a.name
    if isinstance(a, (Const, Name)):
        return a.name if isinstance(a, Const) else a.text
    if isinstance(a, Attribute):
        return f"{_text(a.owner)}.{a.attribute}"
    if isinstance(a, tuple):
        inner = ", ".join(_text(x) for x in a)
        return f"({inner},)" if len(a) == 1 else f"({inner})"
    return repr(a)


def _expression(s: Statement) -> str:
    if s.expression:
        return str(s.expression)
    args = [_text(a) for a in s.args]
    kwargs = [f"{k}={_text(v)}" for k, v in s.kwargs.items()]
    if s.function in INFIX and not s.kwargs and len(args) == 2:
        symbol, ufunc = INFIX[s.function]
        if s.in_place:
            return f"np.{ufunc.__name__}({args[0]}, {args[1]}, out={args[0]})"
        return f"{args[0]} {symbol} {args[1]}"
    if s.function in PREFIX and not s.kwargs and len(args) == 1:
        symbol, ufunc = PREFIX[s.function]
        if s.in_place:
            return f"np.{ufunc.__name__}({args[0]}, out={args[0]})"
        return f"{symbol}{args[0]}"
    if s.label.startswith("."):  # a method of the first operand: optimizer.step()
        return f"{args[0]}{s.label}({', '.join(args[1:] + kwargs)})"
    return f"{s.label}({', '.join(args + kwargs)})"
