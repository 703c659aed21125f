"""Specification of the document model's number helpers (render/document.py): every number chainrule prints
has 8 significant digits, a column of numbers lines up on its decimal point, and a number put into a formula is
wrapped so that a negative factor reads unambiguously."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from chainrule.explain.render.document import align_numbers, factor, fmt, num
from chainrule.explain.render.math import to_text


def test_numbers_have_eight_significant_digits_and_align_on_the_point():
    assert fmt(0.298371108760003) == "0.29837111"
    assert fmt(-0.0) == "0"
    assert align_numbers([0.5, -12.25, 3.0]) == ["  0.5 ", "-12.25", "  3   "]


def test_fmt_switches_to_an_exponent_where_eight_digits_need_one_and_names_what_is_not_finite():
    assert [fmt(v) for v in (1.5e-5, 123456789.0, 1 / 3, -2.0, 100.0)] == [
        "1.5e-05", "1.2345679e+08", "0.33333333", "-2", "100"]
    assert [fmt(v) for v in (float("inf"), float("-inf"), float("nan"))] == ["inf", "-inf", "nan"]
    assert fmt(np.float32(0.1)) == "0.1" and fmt(np.int64(3)) == "3"


def test_an_exponent_lines_up_like_a_decimal_point():
    assert align_numbers([1.5e-05, 2.0, -300.25]) == ["   1.5e-05", "   2      ", "-300.25   "]
    assert align_numbers([]) == []


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=8))
def test_aligned_numbers_share_one_width_and_one_decimal_column(values):
    aligned = align_numbers(values)
    assert len({len(text) for text in aligned}) == 1
    points = {next((i for i, char in enumerate(text) if char in ".e"), len(text.rstrip())) for text in aligned}
    assert len(points) == 1
    assert [float(text) for text in aligned] == [float(fmt(v)) for v in values]  # padding only, no digits lost


def test_a_negative_factor_is_parenthesised_inside_a_formula():
    assert num(-0.5) == r"\num{-0.5}"
    assert factor(-0.5) == r"\left(\num{-0.5}\right)" and factor(0.5) == r"\num{0.5}"
    assert factor(-0.0) == r"\num{0}"  # -0 prints as 0, so it needs no parentheses
    assert to_text(f"{factor(2.0)}\\cdot {factor(-0.25)}") == "2 · (−0.25)"
