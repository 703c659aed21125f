"""The passes over a named program, before its source is written: each rule written out in place (inline.py),
a scalar spread multiplied as the scalar, copies forwarded, the same expression computed once, and written
rules made to write into a dead operand's buffer."""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..autodiff import rules
from .inline import allocates, in_place, written_form, written_out
from .program import INFIX, PREFIX, Const, Program, Statement, Var, _expression, _text

# A primitive's form for one value (a NumPy scalar), equal to its forward on a 0-d operand and written where
# every operand is 0-d. The gain, measured on float32 scalars with timeit: np.maximum(a, 0) 756 ns, the form
# 39 ns (the 1,000-op chain of benchmark B has 250 of them). NaN goes through as np.maximum lets it.
SCALAR_FORMS = {"relu": "{0} if not {0} <= 0 else {zero}"}

_MUL_RULES = {rules.mul_p.vjps[0]: 3, rules.mul_p.vjps[1]: 2}  # g * b and g * a: the position of the factor


def shape_of(a: Any) -> tuple | None:
    """The shape of a program operand (None for a literal)."""
    if isinstance(a, Var):
        return a.shape
    if isinstance(a, Const):
        return np.shape(a.value) if isinstance(a.value, (np.ndarray, np.generic)) else None
    return None


def write_all(program: Program, namespace: dict, fixed: set[int]) -> None:
    """Every pass, in order: the rules written out, copies and repeats forwarded until none is left (a
    forwarded copy can make two later texts equal), the rules written again with the names that remain,
    then the in-place writes."""
    for _ in range(4):
        write_out(program, namespace)
        before = len(program.statements)
        forward_aliases(program, fixed)
        for statement in program.statements:
            if isinstance(statement.expression, str):
                statement.expression = ""
        if len(program.statements) == before:
            break
    write_out(program, namespace)
    write_into_dead_operands(program)


def _scalar_form(s: Statement, namespace: dict) -> str | None:
    form = SCALAR_FORMS.get(s.label)
    if form is None or s.kwargs or not s.args or not all(isinstance(a, Var) and a.shape == () for a in s.args):
        return None
    zero = f"zero_{np.dtype(s.outs[0].dtype).name}"
    namespace[zero] = np.zeros((), s.outs[0].dtype)[()]
    return form.format(*(_text(a) for a in s.args), zero=zero)


def write_out(program: Program, namespace: dict) -> None:
    """Put each rule's one-line form in place of its call: a scalar form, a written form of a multi-line
    function, or a lambda's own expression (see inline.py)."""
    for s in program.statements:
        if s.effect or s.expression or s.returns_pair or s.in_place or s.function in INFIX or s.function in PREFIX:
            continue
        s.expression = _one_line(s, namespace) or ""


def _one_line(s: Statement, namespace: dict) -> str | None:
    """The statement's call as one line of arithmetic, adding the names it needs to the namespace; or None."""
    texts = [_text(a) for a in s.args]
    form = _scalar_form(s, namespace)
    if form is None and not s.kwargs:
        form = written_form(s.function, texts, [shape_of(a) for a in s.args],
                            [a.dtype if isinstance(a, Var) else None for a in s.args],
                            s.outs[0].name if s.outs else "out")
    if form is not None:
        return form
    found = written_out(s.function, texts, {k: _text(v) for k, v in s.kwargs.items()}, namespace)
    if found is None:
        return None
    expression, needed = found
    namespace.update(needed)
    return expression


def multiply_scalars_unspread(program: Program) -> None:
    """`d = spread(g)` (sum's rule: the scalar ḡ repeated over x's shape) followed by `d * b` with b of that
    shape is `g * b`: the same products, without building the repeated view. The spread is dropped when
    nothing else reads it (as for every weight's L2 term in micrograd's demo step). With
    double_scalars_not_arrays: the demo step's program 75 → 70 statements, ~61 → ~58 µs a call (`python
    -m benchmarks.compiled_profile --workloads C`); tests/compiler checks the numbers bit for bit."""
    spread_of: dict[int, Any] = {}
    for s in program.statements:
        if s.function is rules.sum_p.vjps[0] and not s.kwargs and shape_of(s.args[0]) == () \
                and isinstance(s.args[0], (Var, Const)):
            spread_of[id(s.outs[0])] = s.args[0]
        elif s.function in _MUL_RULES and s.args and id(s.args[0]) in spread_of:
            if shape_of(s.args[_MUL_RULES[s.function]]) == s.args[0].shape:
                s.args = [spread_of[id(s.args[0])], *s.args[1:]]
    program._drop_dead()


def canonical_mul_rules(program: Program) -> None:
    """Both of mul's rules as the first one: ḡ·a (the second rule on a, b) is the first rule on b, a. Then x·x's
    two shares, ḡ·x and ḡ·x, are one computation that program.py computes once."""
    second = rules.mul_p.vjps[1]
    for s in program.statements:
        if s.function is second and len(s.args) == 4:
            g, y, a, b = s.args
            s.function, s.args, s.label = rules.mul_p.vjps[0], [g, y, b, a], s.label.replace("vjp1", "vjp0")


def double_scalars_not_arrays(program: Program, notation: dict[int, str]) -> None:
    """`v = g * b; w = v + v` (a value used twice, as in the L2 term w·w) is `w = (g + g) * b` when g is one
    value: the same numbers (doubling is exact in floating point), one array operation fewer."""
    made_by = {id(s.outs[0]): s for s in program.statements if len(s.outs) == 1 and not s.effect}
    readers: dict[int, int] = {}
    for s in program.statements:
        for key in {id(v) for v in s.reads()}:
            readers[key] = readers.get(key, 0) + 1
    kept: list[Statement] = []
    for s in program.statements:
        product = _doubled_product(s, made_by, readers)
        if product is None:
            kept.append(s)
        else:
            _double_the_scalar(program, kept, product, s, notation)
    program.statements = kept


def _double_the_scalar(program: Program, kept: list, product: Statement, doubling: Statement,
                       notation: dict[int, str]) -> None:
    """Put `twice = g + g` before `v = g * b`, make it `v = twice * b`, and let v stand for `v + v`."""
    g = product.args[0]
    twice = Var("twice", (), g.dtype if isinstance(g, Var) else np.result_type(g.value))
    kept.insert(kept.index(product), Statement([twice], operator.add, [g, g], section=product.section, label="add"))
    product.args = [twice, *product.args[1:]]
    out, v = doubling.outs[0], product.outs[0]
    v.escapes = v.escapes or out.escapes
    if id(out) in notation:
        notation[id(v)] = notation[id(out)]
    for later in program.statements:
        later.args = [v if a is out else a for a in later.args]
    program.outputs = [v if o is out else o for o in program.outputs]


def _doubled_product(s: Statement, made_by: dict, readers: dict) -> Statement | None:
    """The statement g * b (a mul rule with a one-value g) that s doubles as `v + v`, if s is that."""
    if s.function is not operator.add or len(s.args) != 2 or s.args[0] is not s.args[1]:
        return None
    v = s.args[0]
    product = made_by.get(id(v)) if isinstance(v, Var) else None
    if product is None or product.function not in _MUL_RULES or readers.get(id(v)) != 1 or v.escapes:
        return None
    return product if shape_of(product.args[0]) == () else None


def _fresh_and_shared(program: Program) -> tuple[set[int], set[int]]:
    """Ids of values made as new arrays by arithmetic, and of values that a statement may return a view of."""
    fresh: set[int] = set()
    shared: set[int] = set()
    for s in program.statements:
        if s.effect:
            continue
        text = str(s.expression) if s.expression else ""
        made_new = s.in_place or s.function in INFIX or s.function in PREFIX or (text and allocates(text))
        if s.outs and made_new:
            fresh.add(id(s.outs[0]))
        else:
            shared.update(id(v) for v in s.reads())
    return fresh, shared


def write_into_dead_operands(program: Program) -> None:
    """`delta2 = da2 * (z2 > 0)` → `np.multiply(da2, z2 > 0, out=da2)` where da2 is a new array (made by an
    arithmetic statement of this program), read by nothing afterwards, viewed by no other value, kept by no
    tensor, and of the result's shape and dtype: the written rules get the in-place writes that program.py
    gives the operators. Saves an allocation and a pass over memory per statement (what the hand-written step
    does with `delta *= a > 0`). With relu reading y, relu itself runs in z's buffer: D-iii's peak memory
    23.3 → 19.3 MiB (`python -m benchmarks.run --sections D`); the property tests check equal results."""
    fresh, shared = _fresh_and_shared(program)
    last = program.last_uses()
    for i, s in enumerate(program.statements):
        if s.effect or not isinstance(s.expression, str) or not s.expression or len(s.outs) != 1:
            continue
        out = s.outs[0]
        for v in s.reads():
            if id(v) in fresh and id(v) not in shared and last.get(id(v)) == i and _overwritable(v, out, program):
                rewritten = in_place(s.expression, v.name)
                if rewritten is not None:
                    s.expression = rewritten
                    break


def _overwritable(v: Var, out: Var, program: Program) -> bool:
    return (not v.escapes and v not in program.outputs and v.is_array and v.shape == out.shape
            and v.dtype == out.dtype)


def _alias_sources(program: Program) -> list[Any]:
    """Per statement, the value it merely copies (its text is an operand's name, or the text of an earlier
    statement since the last side effect), or None; found before any renaming changes the texts' names."""
    sources: list[Any] = []
    earlier: dict[str, Var] = {}
    for s in program.statements:
        if s.effect:
            earlier.clear()
            sources.append(None)
            continue
        text = str(s.expression) if s.expression else None
        source = next((a for a in s.args if isinstance(a, (Var, Const)) and text == _text(a)), None)
        if text is None and not s.in_place:
            text = _expression(s)  # an operator or a call, as the source will write it
        if source is None and text and len(s.outs) == 1:
            source = earlier.setdefault(text, s.outs[0])  # the same expression again: the same value
            source = None if source is s.outs[0] else source
        sources.append(source)
    return sources


def _read_through(s: Statement, resolve: Any) -> None:
    """Point the statement's operands (and a written template's) at the values the copies stood for."""
    s.args = [resolve(a) for a in s.args]
    s.kwargs = {k: resolve(v) for k, v in s.kwargs.items()}
    if hasattr(s.expression, "refs"):
        s.expression.refs = [resolve(r) for r in s.expression.refs]


def forward_aliases(program: Program, fixed: set[int]) -> None:
    """Drop `da2 = d_sub1` (a rule that hands ḡ on unchanged, such as add's or sub's) and a repeated
    expression: later statements read the first value itself. A dropped copy's name (∂C/∂a2 reads better than
    the sum it equals) passes to its source unless the source's name is fixed (an argument, a tensor)."""
    alias: dict[int, Any] = {}

    def resolve(a: Any) -> Any:
        if isinstance(a, Var):
            return alias.get(id(a), a)
        return tuple(resolve(x) for x in a) if isinstance(a, tuple) else a
    kept = []
    for s, source in zip(program.statements, _alias_sources(program)):
        _read_through(s, resolve)
        out = s.outs[0] if len(s.outs) == 1 else None
        if s.effect or source is None or out is None or out in program.outputs:
            kept.append(s)
            continue
        source = resolve(source)
        if not isinstance(source, Var) and out.escapes:
            kept.append(s)
            continue
        if isinstance(source, Var):
            source.escapes = source.escapes or out.escapes
            if id(source) not in fixed:
                source.name = out.name
        alias[id(out)] = source
    program.statements = kept
    program.outputs = [resolve(v) for v in program.outputs]
