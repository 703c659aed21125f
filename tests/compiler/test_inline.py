"""The rules written out in generated source compute what the rule table's functions compute."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from chainrule.autodiff import rules
from chainrule.autodiff.tensor import Primitive
from chainrule.compiler.inline import WRITTEN_FORMS, in_place, written_form, written_out


def _lambda_rules():
    for name, prim in vars(rules).items():
        if not isinstance(prim, Primitive) or prim.variadic:
            continue
        for kind, table in (("vjp", prim.vjps), ("jvp", prim.jvps), ("forward", (prim.forward,))):
            for i, rule in enumerate(table):
                if rule is not None and getattr(rule, "__name__", "") == "<lambda>":
                    yield f"{name}.{kind}{i}", rule


def test_every_one_line_rule_written_out_equals_the_rule():
    rng = np.random.default_rng(0)
    checked = 0
    for label, rule in _lambda_rules():
        count = rule.__code__.co_argcount - len(rule.__defaults__ or ())
        names = [f"v{i}" for i in range(count)]
        values = [rng.uniform(0.5, 2.0, size=3) for _ in names]
        try:
            expected = rule(*values)
        except Exception:
            continue
        found = written_out(rule, names, {}, {})
        if found is None:
            continue
        expression, needed = found
        got = eval(expression, {**needed, **dict(zip(names, values))})
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected), err_msg=f"{label}: {expression}")
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("rows", [1, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_written_forms_of_linear_equal_the_rule_functions(rows, dtype):
    rng = np.random.default_rng(1)
    x, W, b = (rng.normal(size=s).astype(dtype) for s in ((rows, 3), (4, 3), (4,)))
    g = rng.normal(size=(rows, 4)).astype(dtype)
    y = rules._linear(x, W, b)
    cases = [(rules._linear, [x, W, b]), (rules._linear, [x, W, None]), (rules._linear_vjp_W, [g, y, x, W, b]),
             (rules._linear_vjp_b, [g, y, x, W, b])]
    cases += [(rules.sum_p.forward, [g]), (rules._mean, [g])]
    assert {function for function, _ in cases} == set(WRITTEN_FORMS)
    for function, args in cases:
        names = [f"v{i}" if a is not None else "None" for i, a in enumerate(args)]
        form = written_form(function, names, [None if a is None else a.shape for a in args],
                            [None if a is None else a.dtype for a in args], out="result")
        assert form is not None
        namespace = {"np": np, **{n: a for n, a in zip(names, args) if a is not None}}
        exec(f"result = {form}", namespace)  # a form may be two statements: `z = x @ W.T; z += b`
        got, want = namespace["result"], function(*args)
        assert np.result_type(got) == np.result_type(want)
        np.testing.assert_array_equal(got, want)


def test_in_place_rewrites_only_an_operation_on_the_dead_name():
    assert in_place("da2 * (z2 > 0)", "da2") == "np.multiply(da2, z2 > 0, out=da2)"
    assert in_place("g * y * (1 - y)", "g") is None  # the top operation's left side is g * y, not g
    assert in_place("x - g", "g") is None  # subtraction does not commute
    assert in_place("g * g", "g") is None
    assert in_place("2 * g", "g") == "np.multiply(g, 2, out=g)"
    assert in_place("np.maximum(z1, 0)", "z1") == "np.maximum(z1, 0, out=z1)"
    assert in_place("np.maximum(0, z1)", "z1") is None and in_place("_spread(z1, 0)", "z1") is None


def test_a_mixed_dtype_linear_keeps_its_call():
    assert written_form(rules._linear, ["x", "W", "b"], [(2, 3), (4, 3), (4,)],
                        [np.dtype(np.float32), np.dtype(np.float32), np.dtype(np.float64)]) is None


def test_a_def_rule_without_a_form_is_not_written_out():
    assert written_out(rules._cross_entropy_vjp, ["g", "y", "z", "t", "p"], {}, {}) is None
    assert inspect.isfunction(rules._cross_entropy_vjp)
