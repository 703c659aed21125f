"""Specification of `chainrule.explain.chain`: safe parsing, the elementary steps, both sweeps, the checks."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.explain.chain import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    elementary_steps,
    explain_chain,
    parse_expression,
)


def test_exp_sin_square_is_split_into_three_named_steps_with_their_values():
    e = explain_chain("exp(sin(x**2))", {"x": 0.7})
    assert [(s.name, s.formula) for s in e.steps] == [("v1", "x²"), ("v2", "sin(v1)"), ("y", "exp(v2)")]
    assert [s.value for s in e.steps] == pytest.approx([0.49, math.sin(0.49), math.exp(math.sin(0.49))], rel=1e-15)


@pytest.mark.parametrize("x", [-1.3, -0.2, 0.0, 0.7, 2.1])
def test_derivative_of_exp_sin_square_is_the_closed_form(x):
    e = explain_chain("exp(sin(x**2))", {"x": x})
    closed_form = 2 * x * math.cos(x * x) * math.exp(math.sin(x * x))
    assert e.gradient["x"] == pytest.approx(closed_form, rel=1e-12, abs=1e-15)
    assert e.agrees_with_finite_differences()["x"]


def test_reverse_sweep_adjoints_are_the_products_of_local_derivatives_from_the_output_inwards():
    x = 0.7
    e = explain_chain("exp(sin(x**2))", {"x": x})
    y_bar = 1.0
    v2_bar = y_bar * math.exp(math.sin(x * x))
    v1_bar = v2_bar * math.cos(x * x)
    x_bar = v1_bar * 2 * x
    assert [e.adjoints[n] for n in ("y", "v2", "v1", "x")] == pytest.approx([y_bar, v2_bar, v1_bar, x_bar], rel=1e-14)


def test_forward_sweep_tangents_are_the_derivatives_of_each_step_with_respect_to_the_input():
    x = 0.7
    e = explain_chain("exp(sin(x**2))", {"x": x})
    t = e.tangents["x"]
    assert t["v1"] == pytest.approx(2 * x)
    assert t["v2"] == pytest.approx(math.cos(x * x) * 2 * x)
    assert t["y"] == pytest.approx(e.gradient["x"], rel=1e-14)


def test_a_repeated_subexpression_is_one_step_and_its_adjoint_sums_both_uses():
    e = explain_chain("sin(x) * sin(x)", {"x": 0.4})
    assert [s.formula for s in e.steps] == ["sin(x)", "v1 · v1"]
    assert e.adjoints["v1"] == pytest.approx(2 * math.sin(0.4))
    assert e.gradient["x"] == pytest.approx(2 * math.sin(0.4) * math.cos(0.4))


def test_several_variables_one_reverse_sweep_gives_every_partial_and_forward_mode_needs_one_sweep_each():
    e = explain_chain("x*y + sin(x) / y**2", {"x": 0.5, "y": 2.0})
    assert e.gradient["x"] == pytest.approx(2.0 + math.cos(0.5) / 4)
    assert e.gradient["y"] == pytest.approx(0.5 - 2 * math.sin(0.5) / 8)
    assert set(e.tangents) == {"x", "y"}  # one forward sweep per variable
    assert e.tangents["y"][e.output] == pytest.approx(e.gradient["y"])
    text = e.to_text()
    assert "Reverse mode: ONE sweep" in text
    assert "sweep 2 of 2" in text and "sweep 3 of" not in text
    assert "Forward mode needed 2 sweeps" in text and "all 2 partial derivatives" in text


def test_output_is_named_f_when_the_expression_uses_a_variable_called_y():
    e = explain_chain("x*y", {"x": 1.0, "y": 3.0})
    assert e.output == "f"
    assert e.gradient == {"x": 3.0, "y": 1.0}


def test_printout_shows_steps_both_sweeps_chain_product_and_the_check():
    text = explain_chain("exp(sin(x**2))", {"x": 0.7}).to_text()
    bar, dot = "\u0304", "\u0307"  # combining macron (adjoint) and dot above (tangent)
    for line in ("v1  = x²", f"v{bar}1  = v{bar}2·cos(v1)", f"v{dot}1  = (2·x)·x{dot}",
                 "dy/dx = exp(v2) · cos(v1) · (2·x)", "∂y/∂x = 1.9776558", "agree"):
        assert line in text


def test_a_kink_is_recognised_by_its_one_sided_slopes_and_the_engines_convention_is_not_a_disagreement():
    e = explain_chain("relu(x)", {"x": 0.0})
    assert e.gradient["x"] == 0.0 and e.finite_differences["x"] == pytest.approx(0.5)
    assert e.agrees_with_finite_differences() == {"x": True}
    assert "a kink (slope 0 from the left, 1 from the right)" in e.to_text()
    assert "DISAGREE" not in e.to_text()


def test_constants_are_folded_and_pi_is_known():
    variables, steps = elementary_steps(parse_expression("x * (2 + 3) + sin(pi/2)"))
    assert variables == ["x"]
    assert [s.formula for s in steps] == ["x · 5", "v1 + 1"]


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "only plain function names can be called"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('f')", "unknown function 'open'"),
    ("x.real", "attribute access"),
    ("x % 2", "operator '%'"),
    ("x // 2", "operator '//'"),
    ("x @ x", "operator '@'"),
    ("~x", "operator '~'"),
    ("x < 1", "comparisons"),
    ("lambda: x", "is not allowed"),
    ("x if x else 1", "is not allowed"),
    ("[x]", "is not allowed"),
    ("'text'", "not a real number"),
    ("True * x", "not a real number"),
    ("1j * x", "not a real number"),
    ("sin(x, x)", "exactly one argument"),
    ("sin(x=1)", "exactly one argument"),
    ("sin", "is a function"),
    ("_secret + x", "may not start with '_'"),
    ("sin(x", "not a valid expression"),
    ("x +", "invalid syntax at the end"),  # Python says column 0 here
    ("x ** * 2", "invalid syntax at column 6"),
    ("", "empty"),
    ("x" + "+x" * MAX_LENGTH, "characters long"),
    ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1), "parentheses deep"),
    ("-" * (MAX_DEPTH + 5) + "x", "operations deep"),
    ("x" + "**x" * (MAX_DEPTH + 5), "operations deep"),
    ("1e400 * x", "too large"),
    ("10**400 * x", "is not a finite real number"),
])
def test_parser_refuses_anything_outside_the_whitelist_with_a_clear_error(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace("*", r"\*")):
        elementary_steps(parse_expression(text))


def test_parser_never_evaluates_python(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError):
        explain_chain("__import__('pathlib').Path('touched').touch()", {})
    assert not (tmp_path / "touched").exists()


@pytest.mark.parametrize("text, at, message", [
    ("x", {"x": 1.0}, r"just the variable 'x' .* e\.g\. sin\(x\)"),
    ("v1*u1*s1*h1*q1 + y*f*F*out", dict.fromkeys(["v1", "u1", "s1", "h1", "q1", "y", "f", "F", "out"], 1.0),
     "rename the variables"),
    ("2 + 3", {}, "no variable"),
    ("x * y", {"x": 1.0}, "no value given for y"),
    ("x * 2", {"x": 1.0, "z": 2.0}, "'z' has a value but does not appear"),
    ("x * 2", {"x": "abc"}, "not a number"),
    ("x * 2", {"x": math.inf}, "must be finite"),
    ("log(x)", {"x": -1.0}, "not a finite real number"),
])
def test_bad_points_and_degenerate_expressions_get_a_clear_error(text, at, message):
    with pytest.raises(ExpressionError, match=message):
        explain_chain(text, at)


_UNARY = ("sin", "cos", "tanh", "sigmoid", "exp", "softplus")


@st.composite
def smooth_expressions(draw, depth=0):
    """Random compositions of smooth whitelisted functions and + - * of x and y."""
    if depth >= 3 or draw(st.booleans()) and depth > 0:
        return draw(st.sampled_from(["x", "y", "0.5", "x", "y"]))
    if draw(st.booleans()):
        return f"{draw(st.sampled_from(_UNARY))}({draw(smooth_expressions(depth + 1))})"
    op = draw(st.sampled_from(["+", "-", "*"]))
    return f"({draw(smooth_expressions(depth + 1))} {op} {draw(smooth_expressions(depth + 1))})"


@given(smooth_expressions(), st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_random_smooth_expressions_agree_with_finite_differences(text, x, y):
    variables, _ = elementary_steps(parse_expression(text.replace("0.5", "x")))
    e = explain_chain(text.replace("0.5", "x"), {v: {"x": x, "y": y}[v] for v in variables})
    for v in variables:
        assert abs(e.gradient[v] - e.finite_differences[v]) <= 1e-5 * max(1.0, abs(e.gradient[v]))
        assert e.tangents[v][e.output] == pytest.approx(e.gradient[v], rel=1e-12, abs=1e-14)
