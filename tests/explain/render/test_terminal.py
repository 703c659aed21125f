"""Specification of the terminal renderer (render/terminal.py): a Document as plain text whose formulas are
Unicode, whose tables line numbers up on the decimal point, whose lines keep to the width, and which carries ANSI
colour only when asked."""
from __future__ import annotations

import re

import pytest
from render_examples import page

from chainrule.explain import render
from chainrule.explain.render.document import (
    Callout,
    Code,
    Equation,
    Items,
    Math,
    Num,
    Paragraph,
    Picture,
    Subheading,
    Table,
)
from chainrule.explain.render.terminal import _Style, render_table, render_terminal

ANSI = re.compile(r"\033\[[0-9;]*m")




def test_terminal_text_has_colour_only_when_asked(worked):
    plain, coloured = render(worked, "terminal"), render(worked, "terminal", colour=True)
    assert "\033[" not in plain
    assert "\033[" in coloured and ANSI.sub("", coloured) == plain


def test_terminal_update_table_aligns_the_new_values_on_the_decimal_point(worked):
    rows = [line for line in render(worked, "terminal").splitlines() if re.match(r"\s+[wb][¹²][₁₂]+\s", line)]
    rows = rows[-12:]  # the update tables come last
    points = {line.rindex(".") for line in rows}
    assert len(rows) == 12 and len(points) == 1


def test_a_table_has_a_caption_a_ruled_header_and_numbers_right_aligned_on_the_point():
    table = Table(("name", Math("w^{1}_{j}")), [("a", Num(0.5)), ("bb", Num(-12.25)), ("c", Num(3.0))],
                  ("Layer ", Math("l = 1")))
    assert render_table(table, _Style(False)) == [
        "  Layer l = 1",
        "  name  w¹ⱼ",
        "  ────  ──────",
        "  a       0.5",
        "  bb    -12.25",
        "  c       3",
    ]


def test_the_title_is_underlined_to_its_length_and_a_section_rule_fills_the_width():
    lines = render_terminal(page(Paragraph(("text",))), width=40).splitlines()
    assert lines[:3] == ["Title", "═════", "the subtitle"]
    rule = next(line for line in lines if line.startswith("━━ One "))
    assert len(rule) == 40 and set(rule[len("━━ One "):]) == {"━"}


def test_paragraphs_wrap_at_the_width_without_breaking_words():
    words = "back-propagation " * 12
    lines = [line for line in render_terminal(page(Paragraph((words,))), width=40).splitlines()
             if "back" in line]
    assert len(lines) > 3 and all(len(line) <= 40 and line.startswith("  ") for line in lines)
    assert " ".join(line.strip() for line in lines) == words.strip()


def test_an_equation_is_unicode_with_its_tag_flush_right_and_equations_stack_without_blank_lines():
    text = render_terminal(page(Equation(r"\delta^{L} = \nabla_{a} C", "BP1"), Equation("c = d")), width=40)
    lines = text.splitlines()
    tagged = next(i for i, line in enumerate(lines) if line.endswith("(BP1)"))
    assert lines[tagged].startswith("    δᴸ = ∇ₐC") and len(lines[tagged]) == 40
    assert lines[tagged + 1] == "    c = d"


def test_a_callout_is_framed_and_items_are_bulleted():
    text = render_terminal(page(Callout("check", "Checked", [Items([("all agree",), ("rate ", Math(r"\eta"))])])))
    assert "  ┌─ ✓ Checked \n  │  • all agree\n  │  • rate η\n  └─\n" in text


def test_a_picture_prints_its_alternative_text_and_a_subheading_its_words():
    text = render_terminal(page(Subheading("Layer 2"), Picture("<svg></svg>", "caption", "(see the HTML)")))
    assert "  Layer 2\n" in text and "  (see the HTML)\n" in text and "<svg" not in text


def test_a_section_with_source_code_appears_only_when_asked():
    document = page(Code("print(1)", "network.py"))
    assert "print(1)" not in render_terminal(document)
    assert "  # network.py\n    print(1)\n" in render_terminal(document, code=True)


def test_colour_follows_the_phase_of_a_section():
    forward = render_terminal(page(Equation("a = b"), phase="forward"), colour=True)
    update = render_terminal(page(Equation("a = b"), phase="update"), colour=True)
    assert "\033[1;34m━━ One" in forward and "\033[34m    a = b" in forward
    assert "\033[1;32m━━ One" in update and "\033[32m    a = b" in update


def test_an_unknown_block_is_refused_by_its_type():
    with pytest.raises(TypeError, match="terminal renderer: unknown block dict"):
        render_terminal(page({"not": "a block"}))
