"""Specification of `chain`'s numbers at awkward points: constants exact, infinite derivatives in words, checks honest."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.cli import main
from chainrule.explain.chain import UndefinedDerivativeError, explain_chain


def test_constants_are_carried_exactly_and_only_rounded_for_display():
    e = explain_chain("x + 123456789", {"x": 0.0})
    assert e.steps[-1].value == 123456789.0
    e = explain_chain("sin(pi*x)", {"x": 1.0})
    assert e.gradient["x"] == pytest.approx(-math.pi, rel=1e-15)  # not −3.1415927
    assert e.steps[0].args[0] == "3.1415927"  # the printout still shows 8 digits


@given(st.integers(min_value=-10**15, max_value=10**15), st.floats(-100, 100))
def test_an_integer_constant_survives_the_steps_exactly(c, x):
    e = explain_chain(f"x * 1 + {c}", {"x": x})
    assert e.steps[-1].value == x + c


def test_the_finite_difference_check_is_independent_of_the_rounded_printout():
    e = explain_chain("sin(pi*x)", {"x": 1.0})
    # with π carried as 3.1415927 the difference would be off by 4.6e-8; from the expression itself it is not
    assert abs(e.finite_differences["x"] + math.pi) < 1e-8
    assert e.agrees_with_finite_differences() == {"x": True}


def test_a_large_value_is_not_a_disagreement_because_of_the_differences_own_rounding():
    e = explain_chain("x + 123456789", {"x": 0.0})
    assert e.agrees_with_finite_differences() == {"x": True}


@pytest.mark.parametrize(("expression", "point", "words"), [
    ("sqrt(x)", {"x": 0.0}, "d/dx sqrt(x) = 1/(2·sqrt(x)) is infinite at x = 0"),
    ("x**0.5", {"x": 0.0}, "is infinite at x = 0"),
    ("x**y", {"x": -2.0, "y": 2.0}, "d/dy x^y = ln(x)·x^y is undefined (not a real number) at x = −2, y = 2"),
    ("x**x", {"x": 0.0}, "is undefined (not a real number) at x = 0"),
    ("x**(-1023)", {"x": 0.5}, "is too large for a float64 (about −1.8390401e+311"),
    ("1/x", {"x": 1e-300}, "is too large for a float64 (about −1e+600"),
    ("sqrt(x*x)", {"x": 0.0}, "infinite at v1 = 0 (that is, at x = 0)"),
])
def test_an_infinite_or_undefined_local_derivative_is_said_in_words(expression, point, words):
    with pytest.raises(UndefinedDerivativeError, match="the chain rule needs every local derivative") as caught:
        explain_chain(expression, point)
    assert words in str(caught.value)


@pytest.mark.parametrize("command", ["chain", "graph"])
@pytest.mark.parametrize(("expression", "at"), [("sqrt(x)", ["x=0"]), ("x**y", ["x=-2", "y=2"]),
                                                ("x**x", ["x=0"]), ("x**(-1023)", ["x=0.5"]), ("1/x", ["x=1e-300"])])
def test_the_command_line_prints_one_line_and_no_traceback(command, expression, at, capsys, tmp_path):
    extra = ["--out", str(tmp_path / "g.svg")] if command == "graph" else []
    assert main([command, expression, "--at", *at, *extra]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith(f"chainrule {command}: error: d/d")
    assert "Traceback" not in captured.err + captured.out


def test_a_finite_difference_that_overflows_is_not_a_disagreement():
    e = explain_chain("exp(x)", {"x": 709.7827})  # e^x is finite, e^(x + h) is not, for every step tried
    assert math.isfinite(e.gradient["x"])
    assert e.agrees_with_finite_differences() == {"x": True}
    assert "not checked: y is not a finite number" in e.to_text()


def test_a_large_step_is_judged_with_its_truncation_error():
    e = explain_chain("exp(x)", {"x": 709.7})  # h = 7e-3: the O(h²) error is 8e-6 of the value
    assert e.agrees_with_finite_differences() == {"x": True}


def test_gradients_add_where_a_value_fans_out_and_the_printout_says_so():
    e = explain_chain("sin(x) * sin(x)", {"x": 0.3})
    text = e.to_text()
    assert "v1 is used 2 times, so v̄1 is the SUM of 2 shares" in text
    assert e.adjoints["v1"] == pytest.approx(2 * math.sin(0.3), rel=1e-15)


def test_the_local_rules_of_the_gates_used_are_said_in_words():
    text = explain_chain("x*y + x", {"x": 0.5, "y": 2.0}).to_text()
    assert "add: passes v̄ unchanged to each input" in text
    assert "multiply: gives each input v̄ times the OTHER input" in text
    assert "subtract" not in text  # only the rules the expression uses


def test_max_routes_the_adjoint_to_the_winner_and_splits_a_tie():
    e = explain_chain("max(x*y, x+y)", {"x": 2.0, "y": 3.0})  # x·y = 6 wins over x + y = 5
    assert e.adjoints["v1"] == 1.0 and e.adjoints["v2"] == 0.0
    assert e.gradient == {"x": 3.0, "y": 2.0}
    assert "max: routes v̄ to the larger input (the winner)" in e.to_text()
    tie = explain_chain("max(x, 1)", {"x": 1.0})
    assert tie.gradient["x"] == 0.5 and tie.agrees_with_finite_differences() == {"x": True}
    assert explain_chain("min(x, 2*x)", {"x": 1.0}).gradient["x"] == 1.0


def test_max_takes_exactly_two_arguments():
    from chainrule.explain.chain import ExpressionError
    with pytest.raises(ExpressionError, match=r"max\(\) takes exactly two arguments"):
        explain_chain("max(x)", {"x": 1.0})


def test_a_step_lost_beside_a_huge_number_is_not_a_disagreement():
    e = explain_chain("cos(x - 1e300)", {"x": 1.0})  # x ± h does not change x − 1e300 in float64
    assert e.agrees_with_finite_differences() == {"x": True}
    assert "y does not change at all in float64" in e.to_text()


def test_a_function_that_varies_too_fast_for_any_step_is_not_a_disagreement():
    e = explain_chain("cos(x)", {"x": 1e300})  # h = 1e295 spans countless periods
    assert e.agrees_with_finite_differences() == {"x": True}
    assert "not checked" in e.to_text()


_LEAVES = st.sampled_from(["x", "y", "0", "1", "2", "0.5", "1e300", "pi", "1e-300", "-1"])
_EXPRESSIONS = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.tuples(st.sampled_from(["exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs",
                               "softplus", "square", "log1p", "expm1"]), inner).map(lambda p: f"{p[0]}({p[1]})"),
    st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
    st.tuples(st.sampled_from(["max", "min"]), inner, inner).map(lambda p: f"{p[0]}({p[1]}, {p[2]})"),
), max_leaves=8)
_POINTS = st.sampled_from([0.0, 1.0, -1.0, 0.5, 1e-300, 1e300, -2.0, math.pi / 2, 709.7, 1e-8])


@given(_EXPRESSIONS, _POINTS, _POINTS)
def test_any_expression_at_any_point_is_explained_or_refused_in_words_and_never_disagrees(text, x, y):
    from chainrule.explain.chain import ExpressionError
    try:
        e = explain_chain(text, {name: value for name, value in (("x", x), ("y", y)) if name in text})
    except ExpressionError:
        return  # refused with a sentence (no variable, not finite there, an infinite derivative, ...)
    e.to_text()
    assert all(e.agrees_with_finite_differences().values()), (text, x, y, e.gradient, e.finite_differences)


@pytest.mark.parametrize(("text", "words"), [("x*1 # \x1b[31mred", "invisible character U+001B"),
                                             ("x*1 \u202e", "invisible character U+202E"),
                                             ("sin(x) # <script>", "'#' would start a comment")])
def test_text_that_would_be_echoed_to_a_terminal_unseen_is_refused(text, words):
    from chainrule.explain.chain import ExpressionError
    with pytest.raises(ExpressionError) as caught:
        explain_chain(text, {"x": 1.0})
    assert words in str(caught.value)
