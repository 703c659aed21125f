"""Specification of the Markdown renderer (render/markdown.py): a Document as Markdown with $…$ and $$…$$
mathematics and pipe tables (as GitHub, Jupyter and VS Code show them), call-outs as block quotes, code fenced,
pictures as their alternative text, and text from a file escaped so that it shows as written."""
from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
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
from chainrule.explain.render.markdown import escape_markdown, render_markdown


def test_markdown_uses_dollar_mathematics_and_pipe_tables(worked):
    text = render(worked, "markdown")
    assert text.startswith("# The classic 2-2-2 network")
    assert "$$ \\delta^{L}" in text and "| parameter | before |" in text
    assert "0.35891648" in text


def test_headings_follow_the_document_and_the_subtitle_is_italic():
    text = render_markdown(page(Subheading("Layer 2")))
    assert text == "# Title\n\n*the subtitle*\n\n## One\n\n### Layer 2\n"


def test_the_title_is_escaped_and_shows_as_written():
    text = render_markdown(page(title="A *bold* <b>title</b> & $x$"))
    assert text.startswith("# A \\*bold\\* \\<b\\>title\\</b\\> \\& \\$x\\$\n")


@given(st.text(max_size=40))
@example("a_b *c* [d](e) #1 <i> \\ {$x$} & ~!+|`")
def test_escaped_markdown_unescapes_to_the_original_text(text):
    escaped = escape_markdown(text)
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL) == text
    unescaped_rest = re.sub(r"\\.", "", escaped, flags=re.DOTALL)  # what is left once the escapes are taken out
    assert not set(unescaped_rest) & set("\\`*_{}[]<>()#+!|$&~")


def test_formulas_are_dollar_latex_and_equations_carry_their_tag():
    text = render_markdown(page(Paragraph(("rate ", Math(r"\eta"), ".")), Equation("a = b", "BP1"),
                                Equation(r"c = \num{1e-5}")))
    assert "rate $\\eta$.\n" in text
    assert "$$ a=b \\qquad \\text{(BP1)} $$\n" in text and "$$ c=1\\times 10^{-5} $$\n" in text


def test_a_table_has_its_caption_bold_numbers_right_aligned_and_pipes_escaped():
    table = Table(("name", Math("w^{1}_{j}")), [("a|b", Num(0.5)), (Math(r"\left| x \right|"), Num(-12.25))],
                  ("Layer ", Math("l = 1")))
    lines = render_markdown(page(table)).splitlines()
    at = lines.index("**Layer $l=1$**")
    assert lines[at + 2:at + 6] == [
        "| name | $w_{j}^{1}$ |",
        "|:---|---:|",
        "| a\\|b | 0.5 |",
        "| $\\|x\\|$ | -12.25 |",
    ]


def test_a_callout_is_a_block_quote_with_a_bold_title():
    text = render_markdown(page(Callout("check", "Checked", [Items([("all agree",), ("rate ", Math(r"\eta"))])])))
    assert "> **✓ Checked**\n>\n> - all agree\n> - rate $\\eta$\n" in text


def test_code_is_fenced_and_a_picture_is_its_alternative_text():
    text = render_markdown(page(Code("print(1)", "network.py"), Picture("<svg></svg>", "caption", "(see HTML)")))
    assert "`network.py`\n\n```python\nprint(1)\n```\n" in text
    assert "*(see HTML)*" in text and "<svg" not in text


def test_an_unknown_block_is_refused_by_its_type():
    with pytest.raises(TypeError, match="Markdown renderer: unknown block dict"):
        render_markdown(page({"not": "a block"}))
