"""Specification of the formula language (render/math.py): a small subset of LaTeX parsed into a tree and
written three ways — Unicode text for the terminal, MathML for HTML, standard LaTeX — with anything outside the
subset refused by name rather than rendered wrongly."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from chainrule.explain.render.build import document
from chainrule.explain.render.document import Callout, Equation, Items, Math, Paragraph, Table
from chainrule.explain.render.math import (
    Ident,
    Number,
    Operator,
    Row,
    Scripts,
    parse,
    to_latex,
    to_mathml,
    to_text,
)


def test_a_formula_renders_as_unicode_text_mathml_and_latex():
    source = r"\frac{\partial C}{\partial w^{2}_{11}} = a^{1}_{1}\,\delta^{2}_{1} = \num{-0.5}"
    assert to_text(source) == "∂C/∂w²₁₁ = a¹₁ δ²₁ = −0.5"
    assert to_latex(source) == r"\frac{\partial C}{\partial w_{11}^{2}}=a_{1}^{1}\, \delta_{1}^{2}=-0.5"
    mathml = to_mathml(source, display=True)
    assert mathml.startswith('<math display="block">') and "<mfrac>" in mathml and "<msubsup>" in mathml


def test_scientific_numbers_become_powers_of_ten_in_mathml_and_latex():
    assert "<msup><mn>10</mn><mrow><mo>−</mo><mn>5</mn></mrow></msup>" in to_mathml(r"\num{1.5e-05}")
    assert to_latex(r"\num{1.5e-05}") == r"1.5\times 10^{-5}"


def test_scripts_without_unicode_forms_fall_back_to_caret_and_underscore():
    assert to_text("w^{2}_{10,3}") == "w²_(10,3)"


@pytest.mark.parametrize("source", [r"\foo{x}", r"\frac{1}", "a}", r"\num{abc}", "x @ y"])
def test_formulas_outside_the_subset_are_refused(source):
    with pytest.raises(ValueError, match="formula"):
        parse(source)


@pytest.mark.parametrize(("source", "words"), [
    (r"\foo{x}", r"unsupported command \foo"),
    (r"\frac{1}", "ends too early"),
    ("a}", "unbalanced '}'"),
    (r"\num{abc}", r"\num{abc} is not a number"),
    ("x @ y", "unsupported character '@'"),
    (r"\left< x", "unsupported delimiter '<'"),
    (r"\left{ x", "unsupported delimiter '{'"),  # a bare brace groups; the delimiter is written \{
])
def test_a_refusal_quotes_the_formula_and_says_what_is_wrong(source, words):
    with pytest.raises(ValueError) as caught:
        parse(source)
    message = str(caught.value)
    assert message.startswith(f"formula {source!r}: ") and words in message


def test_scripts_parse_into_a_base_with_subscript_and_superscript():
    assert parse("w^{2}_{11}") == Row((Scripts(Ident("w", "w"), sub=Row((Number("11"),)), sup=Row((Number("2"),))),))
    assert parse(r"\num{-0.5}") == Row((Row((Operator("−", "-"), Number("0.5"))),))


@pytest.mark.parametrize(("source", "text", "latex"), [
    (r"\sigma'(z^{L})", "σ′(zᴸ)", r"\sigma^{\prime }(z^{L})"),
    (r"\frac{a+b}{c}", "(a + b)/c", r"\frac{a+b}{c}"),
    (r"\frac{\partial C}{\partial w}", "∂C/∂w", r"\frac{\partial C}{\partial w}"),
    (r"\eta x", "ηx", r"\eta x"),                   # a control word keeps its space before a letter
    (r"\ln x", "ln x", r"\ln x"),
    (r"\operatorname{softmax}(x)", "softmax(x)", r"\operatorname{softmax}(x)"),
    (r"\sum_{k} w_{k}", "∑ₖ wₖ", r"\sum_{k}w_{k}"),
    (r"x^{10}", "x¹⁰", "x^{10}"),
    (r"\num{1e5}", "1e5", r"1\times 10^{5}"),
    (r"\left. x \right|", "x|", "x|"),              # \left. is no delimiter at all
    (r"\left\{ x \right\}", "{x}", r"\{x\}"),
])
def test_each_construct_as_text_and_as_latex(source, text, latex):
    assert to_text(source) == text
    assert to_latex(source) == latex


def test_mathml_escapes_what_html_would_read_as_markup():
    assert to_mathml("a < b") == "<math><mrow><mi>a</mi><mo>&lt;</mo><mi>b</mi></mrow></math>"
    assert to_mathml(r"\text{<b>&}") == "<math><mrow><mtext>&lt;b&gt;&amp;</mtext></mrow></math>"


def test_mathml_marks_upright_letters_and_keeps_the_prime_beside_its_base():
    assert '<mi mathvariant="normal">T</mi>' in to_mathml(r"W^{\top}")
    assert '<mi mathvariant="normal">d</mi><mi>x</mi>' in to_mathml(r"\mathrm{d}x")
    assert to_mathml(r"\sigma'_{j}") == ("<math><mrow><msub><mrow><mi>σ</mi><mo>′</mo></mrow><mrow><mi>j</mi>"
                                         "</mrow></msub></mrow></math>")
    assert '<mspace width="1.0em"></mspace>' in to_mathml(r"a \quad b")


def _formulas(blocks: list):
    """Every formula source in a list of document blocks."""
    for block in blocks:
        if isinstance(block, Equation):
            yield block.source
        elif isinstance(block, Paragraph):
            yield from (part.source for part in block.parts if isinstance(part, Math))
        elif isinstance(block, Items):
            yield from (part.source for item in block.items for part in item if isinstance(part, Math))
        elif isinstance(block, Table):
            for row in (block.header, *block.rows, block.caption):
                yield from (cell.source for cell in row if isinstance(cell, Math))
        elif isinstance(block, Callout):
            yield from _formulas(block.blocks)


def test_every_formula_of_an_explanation_renders_three_ways_without_leftover_markup(worked, batch):
    sources = [source for e in (worked, batch) for section in document(e).sections
               for source in _formulas(section.blocks)]
    assert len(sources) > 200
    for source in sources:
        ET.fromstring(to_mathml(source, display=True))  # well-formed XML
        text = to_text(source)
        assert not re.search(r"[\\{}]", text), (source, text)
        latex = re.sub(r"\\[{}]", "", to_latex(source))
        assert latex.count("{") == latex.count("}"), source
