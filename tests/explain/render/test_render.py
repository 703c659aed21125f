"""Specifications of the explanation renderers: formulas three ways, and the four output formats."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chainrule.explain import explain, load_spec, render
from chainrule.explain.render.document import align_numbers, fmt
from chainrule.explain.render.math import parse, to_latex, to_mathml, to_text

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BROWSER_REQUIRED = os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1"
ANSI = re.compile(r"\033\[[0-9;]*m")


@pytest.fixture(scope="module")
def worked():
    problem = load_spec(EXAMPLES / "two-two-two.json")
    return explain(problem.model, problem.x, problem.t, problem.loss, problem.lr, title=problem.title)


@pytest.fixture(scope="module")
def batch():
    problem = load_spec(EXAMPLES / "xor-batch.json")
    return explain(problem.model, problem.x, problem.t, problem.loss, problem.lr, title=problem.title)


# ------------------------------------------------------------------------------------------------ formulas

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


def test_numbers_have_eight_significant_digits_and_align_on_the_point():
    assert fmt(0.298371108760003) == "0.29837111"
    assert fmt(-0.0) == "0"
    assert align_numbers([0.5, -12.25, 3.0]) == ["  0.5 ", "-12.25", "  3   "]


# ------------------------------------------------------------------------------------------------- formats

def test_the_legend_heads_every_format(worked):
    for format_ in ("terminal", "markdown", "latex", "html"):
        text = ANSI.sub("", render(worked, format_))
        notation = text.find("Notation")
        assert 0 <= notation < text.find("forward pass"), format_
        assert all(tag in text for tag in ("BP1", "BP2", "BP3", "BP4")), format_


def test_terminal_text_has_colour_only_when_asked(worked):
    plain, coloured = render(worked, "terminal"), render(worked, "terminal", colour=True)
    assert "\033[" not in plain
    assert "\033[" in coloured and ANSI.sub("", coloured) == plain


def test_terminal_update_table_aligns_the_new_values_on_the_decimal_point(worked):
    rows = [line for line in render(worked, "terminal").splitlines() if re.match(r"\s+[wb][¹²][₁₂]+\s", line)]
    rows = rows[-12:]  # the update tables come last
    points = {line.rindex(".") for line in rows}
    assert len(rows) == 12 and len(points) == 1


def test_html_is_one_self_contained_file_with_mathml(worked):
    page = render(worked, "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<math") > 50
    assert "<script" not in page and "<link" not in page and "@import" not in page
    without_namespaces = page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert "<svg" in page  # the drawing of the network
    for value in ("0.29837111", "0.35891648", "0.14978072", "0.61904912"):
        assert value in page


def test_markdown_uses_dollar_mathematics_and_pipe_tables(worked):
    text = render(worked, "markdown")
    assert text.startswith("# The classic 2-2-2 network")
    assert "$$ \\delta^{L}" in text and "| parameter | before |" in text
    assert "0.35891648" in text


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


def test_a_batch_shows_every_example(batch):
    text = render(batch, "terminal")
    assert "a batch of 4 examples" in text
    assert all(f"{n}  " in text for n in "1234")
    for format_ in ("markdown", "latex", "html"):
        assert "0.0" in render(batch, format_)


def test_a_network_without_hidden_layers_says_there_is_nothing_to_propagate():
    from chainrule.nn import MLP
    e = explain(MLP([2, 1], output_activation="sigmoid", rng=0), [1.0, -1.0], [1.0], loss="bce")
    for format_ in ("terminal", "markdown", "latex", "html"):
        assert "no hidden layer" in render(e, format_)


def test_softmax_cross_entropy_says_that_delta_is_p_minus_t():
    problem = load_spec(EXAMPLES / "softmax-3class.json")
    e = explain(problem.model, problem.x, problem.t, problem.loss, problem.lr)
    text = render(e, "terminal")
    assert "δᴸ = p − t" in text and "softmax" in text


@pytest.mark.browser
def test_html_renders_in_chromium_without_network(worked, tmp_path):
    """The page opens offline in a real browser, its formulas take up space, and it asks for nothing."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        if BROWSER_REQUIRED:
            pytest.fail(f"playwright is not importable: {error}")
        pytest.skip(f"playwright is not importable: {error}")
    if not Path(chromium).exists():
        if BROWSER_REQUIRED:
            pytest.fail("CHAINRULE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
        pytest.skip("chromium is not installed")
    page_file = tmp_path / "explain.html"
    page_file.write_text(render(worked, "html"), encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        widths = page.eval_on_selector_all("math", "nodes => nodes.map(n => n.getBoundingClientRect().width)")
        browser.close()
    assert requests == [page_file.as_uri()]
    assert len(widths) > 50 and min(widths) > 0
