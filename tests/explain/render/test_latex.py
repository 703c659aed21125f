"""Specification of the LaTeX renderer (render/latex.py): a Document as a standalone article in plain ASCII
that pdflatex compiles without extra packages — text escaped for LaTeX, characters beyond ASCII turned into
commands (or "?" where there is none), tables with numeric columns set right, pictures as a note."""
from __future__ import annotations

import re
import shutil
import subprocess

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
from chainrule.explain.render.latex import render_latex


def balanced(text: str) -> bool:
    """Whether the braces that are not escaped (\\{ and \\}) pair up."""
    unescaped = re.sub(r"\\[{}]", "", text)
    return unescaped.count("{") == unescaped.count("}")


def test_latex_is_ascii_with_balanced_environments_and_braces(worked):
    text = render(worked, "latex")
    assert text.isascii()
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    for environment in set(re.findall(r"\\begin\{(\w+\*?)\}", text)):
        assert text.count(f"\\begin{{{environment}}}") == text.count(f"\\end{{{environment}}}")
    unescaped = re.sub(r"\\[{}]", "", text)
    assert unescaped.count("{") == unescaped.count("}")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_with_pdflatex(worked, tmp_path):
    (tmp_path / "explain.tex").write_text(render(worked, "latex"), encoding="ascii")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "explain.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout[-2000:]


def test_the_characters_latex_reserves_are_escaped_in_text():
    text = render_latex(page(title="50% of $x & y_1 #2 {a} ~ ^ \\"))
    assert ("\\title{50\\% of \\$x \\& y\\_1 \\#2 \\{a\\} \\textasciitilde{} \\textasciicircum{} "
            "\\textbackslash{}}") in text


def test_symbols_in_text_become_commands_and_the_unknown_become_question_marks():
    text = render_latex(page(Paragraph(("η — δ′ ≤ ¼, 日本",))))
    assert ("\\ensuremath{\\eta} --- \\ensuremath{\\delta}\\ensuremath{'} \\ensuremath{\\le} "
            "\\ensuremath{\\frac{1}{4}}, ??\n") in text


@given(st.text(max_size=40))
@example("\\{}%$&#_^~ ᴸ 日本 ✓ \x00")
def test_any_title_comes_out_as_ascii_with_every_reserved_character_escaped(title):
    text = render_latex(page(title=title))
    assert text.isascii() and balanced(text)
    line = next(line for line in text.splitlines() if line.startswith("\\title{"))
    assert not re.search(r"(?<!\\)[%$&#_~]", line)


def test_formulas_are_dollar_latex_and_equations_carry_a_tag():
    text = render_latex(page(Paragraph(("rate ", Math(r"\eta"), ".")), Equation("a = b", "BP1"),
                             Equation("c = d")))
    assert "rate $\\eta$.\n" in text
    assert "\\begin{equation*}\na=b \\tag{BP1}\n\\end{equation*}\n\\begin{equation*}\nc=d\n\\end{equation*}" in text


def test_a_table_sets_numeric_columns_right_and_numbers_as_mathematics():
    table = Table(("name", Math("w^{1}_{j}")), [("a_b", Num(0.5)), ("bb", Num(-1.5e-5))], ("Layer ", Math("l = 1")))
    text = render_latex(page(table))
    assert ("\\textbf{Layer $l=1$}\\\\[2pt]\n\\begin{tabular}{lr}\n\\hline\nname & $w_{j}^{1}$ \\\\\n\\hline\n"
            "a\\_b & $0.5$ \\\\\nbb & $-1.5\\times 10^{-5}$ \\\\\n\\hline\n\\end{tabular}") in text


def test_a_callout_is_a_quote_with_a_bold_title_and_items_an_itemize():
    text = render_latex(page(Callout("check", "Checked", [Items([("all agree",), ("rate ", Math(r"\eta"))])])))
    assert ("\\begin{quote}\n\\textbf{Checked}\n\n\\begin{itemize}\n\\item all agree\n\\item rate $\\eta$\n"
            "\\end{itemize}\n\\end{quote}") in text


def test_code_is_verbatim_in_ascii_and_a_picture_is_its_alternative_text():
    text = render_latex(page(Code("σ′ = a·(1 − a)  # x_1", "network_1.py"), Picture("<svg/>", "caption", "(alt)"),
                             Subheading("Layer #2")))
    assert "\\texttt{network\\_1.py}" in text
    assert "\\begin{verbatim}\nsigma' = a*(1 - a)  # x_1\n\\end{verbatim}" in text  # verbatim: nothing escaped
    assert "\\emph{(alt)}" in text and "<svg" not in text
    assert "\\subsection*{Layer \\#2}" in text


def test_an_unknown_block_is_refused_by_its_type():
    with pytest.raises(TypeError, match="LaTeX renderer: unknown block dict"):
        render_latex(page({"not": "a block"}))
