"""A traced step as a straight-line program (compiler/program.py): simplifying it computes each value once (but
never across a side effect), drops statements whose results nobody uses, and writes `a + b` into a's buffer
(`np.add(a, b, out=a)`) only where a is a fresh array of the result's shape and dtype that nothing reads
afterwards, views or keeps. The source it writes is one Python function: the inputs read, the sections in
order, a comment with each value's shape and dtype, `del` after an array's last use, and the outputs returned;
run, it computes what the statements compute."""
from __future__ import annotations

import operator

import numpy as np

from chainrule.compiler.program import BACKWARD, FORWARD, SECTION_TITLES, UPDATE, Program, Statement, Var


def _var(name: str, shape: tuple = (3,), **flags) -> Var:
    return Var(name, shape, np.dtype(np.float64), name=name, **flags)


def _program(*inputs: Var) -> Program:
    program = Program()
    program.inputs = [(v, f"{v.name}_tensor.value") for v in inputs]
    return program


def _add(program: Program, out: Var, function, *args, section=FORWARD, **kwargs) -> Statement:
    return program.add(Statement([out], function, list(args), kwargs, section=section,
                                 label=getattr(function, "__name__", "f")))


def _run(program: Program, **inputs: np.ndarray) -> tuple:
    """The program's source, executed: its outputs for the given input arrays."""
    names = [f"{v.name}_tensor" for v, _ in program.inputs]
    source = program.source("f", names)
    namespace: dict = {"np": np}
    exec(compile(source, "<program>", "exec"), namespace)

    class Holder:
        def __init__(self, value):
            self.value = value
    return namespace["f"](*(Holder(inputs[v.name]) for v, _ in program.inputs))


def test_the_same_operation_on_the_same_operands_is_computed_once():
    x, y = _var("x"), _var("y")
    p = _program(x, y)
    s1, s2, m = _var("s1", owned=True), _var("s2", owned=True), _var("m", owned=True)
    _add(p, s1, operator.add, x, y)
    _add(p, s2, operator.add, x, y)
    _add(p, m, operator.mul, s1, s2)
    p.outputs = [m]
    p.simplify()
    assert [s.outs[0] for s in p.statements] == [s1, m]
    assert p.statements[1].args == [s1, s1]  # the second sum reads the first
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, -1.0])
    np.testing.assert_array_equal(_run(p, x=a, y=b)[0], (a + b) ** 2)


def test_nothing_is_shared_across_a_side_effect():
    """An optimiser's step writes the weights: `W * 2` after it is a new value, not the one before."""
    w = _var("w")
    p = _program(w)
    before, after = _var("before"), _var("after")
    _add(p, before, operator.mul, w, 2.0)
    p.add(Statement([], print, [w], effect=True, label="print", section=UPDATE))
    _add(p, after, operator.mul, w, 2.0, section=UPDATE)
    p.outputs = [before, after]
    p.simplify()
    assert len(p.statements) == 3 and p.statements[2].outs == [after]


def test_statements_nobody_reads_are_dropped_but_side_effects_stay():
    x = _var("x")
    p = _program(x)
    used, unused, also_unused = _var("used"), _var("unused"), _var("also_unused")
    _add(p, unused, operator.sub, x, 1.0)
    _add(p, also_unused, operator.mul, unused, 3.0)
    _add(p, used, operator.add, x, 1.0)
    effect = p.add(Statement([], print, [x], effect=True, label="print"))
    p.outputs = [used]
    p.simplify()
    assert p.statements[0].outs == [used] and p.statements[1] is effect and len(p.statements) == 2


def test_a_fresh_dead_operand_is_overwritten_in_place():
    x, y = _var("x"), _var("y")
    p = _program(x, y)
    t, out = _var("t", owned=True), _var("out", owned=True)
    _add(p, t, operator.mul, x, y)
    _add(p, out, operator.sub, t, y)
    p.outputs = [out]
    p.simplify()
    assert p.statements[1].in_place
    assert "out = np.subtract(t, y, out=t)" in p.source("f", ["x_tensor", "y_tensor"])
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    np.testing.assert_array_equal(_run(p, x=a, y=b)[0], a * b - b)


def test_a_commutative_operation_may_overwrite_its_second_operand():
    x = _var("x")
    p = _program(x)
    t, out = _var("t", owned=True), _var("out", owned=True)
    _add(p, t, operator.neg, x)
    _add(p, out, operator.add, x, t)
    _add(p, _var("neg_kept"), operator.neg, x)  # x stays live: only t may be overwritten
    p.outputs = [out, p.statements[-1].outs[0]]
    p.simplify()
    assert p.statements[1].in_place and p.statements[1].args == [t, x]
    assert "np.add(t, x, out=t)" in p.source("f", ["x_tensor"])


def test_no_in_place_write_where_it_would_change_a_value_still_needed():
    x = _var("x")
    cases = {
        "read later": dict(),
        "not fresh": dict(owned=False),
        "viewed": dict(aliased=True),
        "kept by a tensor": dict(escapes=True),
        "broadcast": dict(shape=(1,)),
        "other dtype": dict(dtype=np.dtype(np.float32)),
    }
    for case, flags in cases.items():
        p = _program(x)
        t = Var("t", flags.pop("shape", (3,)), flags.pop("dtype", np.dtype(np.float64)), name="t",
                owned=flags.pop("owned", True), **flags)
        out = _var("out", owned=True)
        _add(p, t, operator.neg, x)
        _add(p, out, operator.sub, t, x)
        p.outputs = [out, t] if case == "read later" else [out]
        if case == "read later":
            _add(p, _var("again"), operator.mul, t, 2.0)
            p.outputs = [out, p.statements[-1].outs[0]]
        p.simplify()
        assert not p.statements[1].in_place, case


def test_a_value_used_twice_in_one_operation_is_not_overwritten():
    x = _var("x")
    p = _program(x)
    t, out = _var("t", owned=True), _var("out", owned=True)
    _add(p, t, operator.neg, x)
    _add(p, out, operator.mul, t, t)
    p.outputs = [out]
    p.simplify()
    assert not p.statements[1].in_place
    assert "out = t * t" in p.source("f", ["x_tensor"])


def test_the_source_frees_each_array_after_its_last_use_and_keeps_inputs_and_outputs():
    x = _var("x")
    p = _program(x)
    t, u, out = _var("t", owned=True), _var("u", owned=True), _var("out", owned=True)
    _add(p, t, operator.mul, x, 2.0)
    _add(p, u, operator.mul, t, x)
    _add(p, out, operator.matmul, u, t, section=BACKWARD)
    p.outputs = [out]
    lines = [line.strip() for line in p.source("f", ["x_tensor"]).splitlines()]
    assert lines.index("del t, u") == lines.index(next(line for line in lines if line.startswith("out = u @ t"))) + 1
    assert not any(line.startswith("del") and ("x" in line.split() or "out" in line) for line in lines)
    assert lines[-1] == "return (out, )"


def test_the_source_has_the_inputs_the_sections_in_order_and_every_shape():
    x = _var("x")
    p = _program(x)
    f, b, u = _var("f"), _var("b"), _var("u", shape=())
    _add(p, f, operator.mul, x, 2.0)
    _add(p, b, operator.mul, f, 3.0, section=BACKWARD)
    _add(p, u, np.sum, b, section=UPDATE)
    p.statements[-1].label = "np.sum"
    p.outputs = [u]
    source = p.source("f", ["x_tensor"], header="# a header")
    assert source.startswith("def f(x_tensor):\n    # a header\n    x = x_tensor.value  # (3,) float64\n")
    positions = [source.index(f"# ---- {SECTION_TITLES[s]}") for s in (FORWARD, BACKWARD, UPDATE)]
    assert positions == sorted(positions)
    assert "f = x * 2.0  # (3,) float64" in source and "u = np.sum(b)  # () float64" in source
    np.testing.assert_allclose(_run(p, x=np.array([1.0, 2.0, 3.0]))[0], 36.0)


def test_an_input_nothing_reads_is_not_read():
    x, y = _var("x"), _var("y")
    p = _program(x, y)
    out = _var("out")
    _add(p, out, operator.mul, x, 2.0)
    p.outputs = [out]
    source = p.source("f", ["x_tensor", "y_tensor"])
    assert "x = x_tensor.value" in source and "y = y_tensor.value" not in source


def test_a_written_rule_reads_only_the_operands_its_text_names():
    g, y, x = _var("g"), _var("y"), _var("x")
    s = Statement([_var("d")], operator.mul, [g, y, x], expression="g * x")
    assert s.reads() == [g, x]
    assert Statement([_var("d")], operator.mul, [g, (y, x)]).reads() == [g, y, x]  # a tuple operand's values too
