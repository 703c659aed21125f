"""The passes over a named program (compiler/passes.py), each one a rewrite that computes the same numbers:
mul's two rules made one so x·x's shares are one computation, a scalar's spread multiplied as the scalar,
`v + v` of a scalar product computed as `(g + g)·b`, each rule written out as one line (a 0-d relu as a
conditional expression), copies and repeated expressions forwarded, and written rules made to write into a
dead operand's buffer."""
from __future__ import annotations

import operator

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autodiff import rules
from chainrule.compiler.passes import (
    canonical_mul_rules,
    double_scalars_not_arrays,
    forward_aliases,
    multiply_scalars_unspread,
    shape_of,
    write_all,
    write_into_dead_operands,
    write_out,
)
from chainrule.compiler.program import Const, Program, Statement, Var

F64 = np.dtype(np.float64)


def _var(name: str, shape: tuple = (3,), dtype=F64, **flags) -> Var:
    return Var(name, shape, dtype, name=name, **flags)


def _statement(out: Var, function, *args, label: str = "rule", **kwargs) -> Statement:
    return Statement([out], function, list(args), kwargs, label=label)


def test_shape_of_reads_values_and_constant_arrays_but_not_literals():
    assert shape_of(_var("x", (2, 3))) == (2, 3)
    assert shape_of(Const(np.zeros((4, 1)))) == (4, 1) and shape_of(Const(np.float32(1.0))) == ()
    assert shape_of(Const("mse")) is None and shape_of(2.0) is None


def test_mul_rules_become_the_first_rule_with_the_operands_swapped():
    g, y, a, b = (_var(n) for n in "gyab")
    second = _statement(_var("d"), rules.mul_p.vjps[1], g, y, a, b, label="mul_vjp1")
    program = Program()
    program.add(second)
    canonical_mul_rules(program)
    assert second.function is rules.mul_p.vjps[0] and second.args == [g, y, b, a] and second.label == "mul_vjp0"
    values = [np.array([0.5, -2.0, 3.0]), None, np.array([1.0, 2.0, 4.0]), np.array([7.0, 0.25, -1.0])]
    np.testing.assert_array_equal(rules.mul_p.vjps[1](*values), rules.mul_p.vjps[0](*values[:2], values[3], values[2]))


def _spread_then_product(b_shape: tuple) -> tuple[Program, Statement, Var]:
    g, x, b = _var("g", ()), _var("x"), _var("b", b_shape)
    spread, product = _var("spread"), _var("product")
    program = Program()
    program.add(_statement(spread, rules.sum_p.vjps[0], g, _var("y", ()), x))
    program.add(_statement(product, rules.mul_p.vjps[0], spread, _var("y2"), x, b))
    program.outputs = [product]
    return program, program.statements[1], g


def test_a_spread_scalar_is_multiplied_as_the_scalar():
    program, product, g = _spread_then_product((3,))
    multiply_scalars_unspread(program)
    assert program.statements == [product] and product.args[0] is g  # the spread is dropped: nothing reads it
    gv, bv, x = np.float64(0.3), np.array([1.0, -2.0, 5.0]), np.zeros(3)
    spread = rules.sum_p.vjps[0](gv, np.float64(0.0), x)
    np.testing.assert_array_equal(rules.mul_p.vjps[0](gv, None, x, bv), rules.mul_p.vjps[0](spread, None, x, bv))


def test_a_spread_is_kept_where_the_other_factor_broadcasts():
    program, product, g = _spread_then_product((1,))  # g * b would have b's shape (1,), not the spread's (3,)
    multiply_scalars_unspread(program)
    assert len(program.statements) == 2 and product.args[0] is not g


def _doubled(g_shape: tuple) -> tuple[Program, Var, Var]:
    g, b = _var("g", g_shape), _var("b")
    v, w = _var("v"), _var("w")
    program = Program()
    program.add(_statement(v, rules.mul_p.vjps[0], g, _var("y"), _var("a"), b))
    program.add(_statement(w, operator.add, v, v, label="add"))
    program.outputs = [w]
    return program, v, g


def test_twice_a_scalar_product_is_the_product_of_twice_the_scalar():
    program, v, g = _doubled(())
    notation = {}
    double_scalars_not_arrays(program, notation)
    twice, product = program.statements
    assert twice.function is operator.add and twice.args == [g, g] and twice.outs[0].shape == ()
    assert product.args[0] is twice.outs[0] and program.outputs == [v]
    rng = np.random.default_rng(0)
    for _ in range(100):  # doubling is exact in floating point: the same numbers bit for bit
        gv, bv = rng.normal(), rng.normal(size=3)
        np.testing.assert_array_equal((gv + gv) * bv, gv * bv + gv * bv)


def test_twice_an_array_product_is_left_as_it_is():
    program, v, _ = _doubled((3,))
    before = list(program.statements)
    double_scalars_not_arrays(program, {})
    assert program.statements == before and program.outputs[0] is not v


def test_a_relu_of_one_value_is_written_as_a_conditional_that_lets_nan_through():
    x, y = _var("x", (), np.dtype(np.float32)), _var("y", (), np.dtype(np.float32))
    program = Program()
    program.add(_statement(y, rules.relu_p.forward, x, label="relu"))
    namespace: dict = {"np": np}
    write_out(program, namespace)
    expression = program.statements[0].expression
    assert expression == "x if not x <= 0 else zero_float32"
    assert namespace["zero_float32"] == 0 and namespace["zero_float32"].dtype == np.float32
    for value in (np.float32(-1.5), np.float32(0.0), np.float32(2.5), np.float32(np.nan)):
        got = eval(expression, dict(namespace, x=value))
        want = rules.relu_p.forward(value)
        assert got.dtype == want.dtype and (np.isnan(got) and np.isnan(want) or got == want), value


def test_a_rule_that_hands_its_gradient_on_is_forwarded_and_its_name_passes_on():
    x = _var("x")
    t, copy, out = _var("t", owned=True), _var("da2"), _var("out")
    program = Program()
    program.add(_statement(t, operator.mul, x, 2.0, label="mul"))
    program.add(_statement(copy, rules.add_p.vjps[0], t, _var("y"), x, x, label="add_vjp0"))
    program.add(_statement(out, operator.mul, copy, 3.0, label="mul"))
    program.outputs = [out]
    write_all(program, {"np": np}, fixed=set())
    assert len(program.statements) == 2 and program.statements[1].args[0] is t
    assert t.name == "da2"  # ∂C/∂a2 reads better than the name of the value it equals


def test_a_fixed_name_is_kept_when_its_copy_is_forwarded():
    x, copy, out = _var("x"), _var("da2"), _var("out")
    program = Program()
    program.add(_statement(copy, rules.add_p.vjps[0], x, _var("y"), x, x, label="add_vjp0"))
    program.add(_statement(out, operator.mul, copy, 3.0, label="mul"))
    program.outputs = [out]
    write_all(program, {"np": np}, fixed={id(x)})
    assert [s.outs[0] for s in program.statements] == [out] and x.name == "x"


def test_a_repeated_expression_is_computed_once():
    x, first, second, out = _var("x"), _var("first"), _var("second"), _var("out")
    program = Program()
    program.add(_statement(first, operator.mul, x, 2.0, label="mul"))
    program.add(_statement(second, operator.mul, x, 2.0, label="mul"))
    program.add(_statement(out, operator.add, first, second, label="add"))
    program.outputs = [out]
    forward_aliases(program, fixed=set())
    assert len(program.statements) == 2 and program.statements[1].args == [first, first]


@pytest.mark.parametrize("kept, rewritten", [(False, True), (True, False)])
def test_a_written_rule_writes_into_a_dead_fresh_operand(kept, rewritten):
    x, y = _var("x"), _var("y")
    da, delta = _var("da", owned=True), _var("delta")
    program = Program()
    program.add(_statement(da, operator.mul, x, y, label="mul"))
    program.add(Statement([delta], rules.relu_p.vjps[0], [da, y, x], label="relu_vjp0", expression="da * (y > 0)"))
    program.outputs = [delta, da] if kept else [delta]
    write_into_dead_operands(program)
    expression = program.statements[1].expression
    assert (expression == "np.multiply(da, y > 0, out=da)") is rewritten, expression
    namespace = {"np": np, "x": np.array([1.0, 2.0, 3.0]), "y": np.array([-1.0, 0.0, 2.0])}
    namespace["da"] = namespace["x"] * namespace["y"]
    np.testing.assert_array_equal(eval(expression, namespace), [-0.0, 0.0, 6.0])


def test_a_weight_penalty_compiles_to_the_same_numbers_with_fewer_statements():
    """w·w's two shares ḡ·w are one value, and 2(ḡ·w) is computed as (2ḡ)·w: exact in floating point."""
    def make():
        model = nn.MLP([2, 16, 16, 1], activation="relu", rng=0, dtype=np.float32)
        opt = optim.SGD(model.parameters(), lr=0.05)
        X = cr.tensor(np.random.default_rng(0).normal(size=(100, 2)).astype(np.float32))
        y = cr.tensor(np.sign(np.random.default_rng(1).normal(size=(100, 1))).astype(np.float32))

        def step():
            opt.zero_grad()
            scores = model(X)  # then the penalty, as micrograd's demo step orders them
            loss = cr.relu(1 - y * scores).mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
            loss.backward()
            opt.step()
            return loss
        return model, step
    (m1, eager), (m2, step) = make(), make()
    compiled = cr.compile(step)
    for _ in range(5):
        assert compiled().item() == eager().item()
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    import re

    doubled = re.findall(r"^\s+\w+ = (\w+) \+ \1  # (\(.*?\))", compiled.source, re.MULTILINE)
    assert [shape for _, shape in doubled] == ["()"]  # one doubled scalar, not one doubled array per parameter


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_compiled_gradient_of_a_scalar_chain_keeps_its_dtype(dtype):
    def f(x, w):
        h = x
        for i in range(40):
            h = h * w if i % 4 == 0 else h + w if i % 4 == 1 else cr.relu(h) if i % 4 == 2 else h * 0.5
        return h.sum()
    g = cr.compile(cr.grad(f, argnums=(0, 1)))
    for x0 in (0.3, -0.7, 0.0, np.nan):
        x, w = np.asarray(x0, dtype), np.asarray(1.1, dtype)
        got, want = g(x, w), cr.grad(f, argnums=(0, 1))(x, w)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype == dtype
            np.testing.assert_array_equal(a, b)
