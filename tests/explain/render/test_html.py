"""Specification of the HTML renderer (render/html.py): a Document as one self-contained page — MathML for the
formulas, inline CSS and SVG, nothing fetched when it opens — with every piece of text escaped, numbers aligned
in monospace cells, and elements that nest properly."""
from __future__ import annotations

import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from render_examples import page

from chainrule.explain import render
from chainrule.explain.render.document import (
    Callout,
    Code,
    Document,
    Equation,
    Items,
    Math,
    Num,
    Paragraph,
    Picture,
    Section,
    Subheading,
    Table,
)
from chainrule.explain.render.html import render_html

BROWSER_REQUIRED = os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1"
VOID = {"meta", "br", "hr", "img", "link", "input"}




def body(document: Document) -> str:
    """The page after its style sheet."""
    return render_html(document).split("</style>", 1)[1]


class _Nesting(HTMLParser):
    """Checks that every element that opens closes, innermost first."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()


def nesting_errors(text: str) -> list[str]:
    checker = _Nesting()
    checker.feed(text)
    checker.close()
    return checker.errors + [f"<{tag}> never closed" for tag in checker.open]


def test_html_is_one_self_contained_file_with_mathml(worked):
    page_ = render(worked, "html")
    assert page_.startswith("<!DOCTYPE html>") and page_.rstrip().endswith("</html>")
    assert page_.count("<math") > 50
    assert "<script" not in page_ and "<link" not in page_ and "@import" not in page_
    without_namespaces = page_.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert "<svg" in page_  # the drawing of the network
    for value in ("0.29837111", "0.35891648", "0.14978072", "0.61904912"):
        assert value in page_


def test_the_elements_of_a_whole_page_nest_properly(worked, batch):
    for e in (worked, batch):
        assert nesting_errors(render(e, "html")) == []


def test_every_piece_of_text_is_escaped():
    document = Document("A <b> & title", "sub <i>", [Section("One & two", [
        Paragraph(("word <x> ",)), Equation("a = b", "BP<1>"), Subheading("Sub <s>"),
        Table(("name <n>", "v"), [("a<b", Num(0.5))], ("cap <t>",)),
        Callout("note", "Note <c>", [Items([("item <i>",)])]),
        Code("if a < b: pass", "f<1>.py"), Picture("<svg></svg>", "cap & c", "(alt)")], "backward", "one")])
    html = render_html(document)
    for escaped in ("<title>A &lt;b&gt; &amp; title</title>", "<h1>A &lt;b&gt; &amp; title</h1>",
                    "<p>sub &lt;i&gt;</p>", "One &amp; two</a>", "<h2>One &amp; two</h2>", "<p>word &lt;x&gt; </p>",
                    "(BP&lt;1&gt;)", "<h3>Sub &lt;s&gt;</h3>", "<th>name &lt;n&gt;</th>", "<td>a&lt;b</td>",
                    "<caption>cap &lt;t&gt;</caption>", "<h4>ℹ Note &lt;c&gt;</h4>", "<li>item &lt;i&gt;</li>",
                    "if a &lt; b: pass</pre>", "f&lt;1&gt;.py</div>", "<figcaption>cap &amp; c</figcaption>"):
        assert escaped in html, escaped
    assert "<b>" not in html and "<x>" not in html and "<i>" not in html


def test_formulas_are_mathml_inline_and_in_display_with_their_tag():
    html = body(page(Paragraph(("rate ", Math(r"\eta"))), Equation("a = b", "BP1")))
    assert "<p>rate <math><mrow><mi>η</mi></mrow></math></p>" in html
    assert ('<div class="equation"><math display="block"><mrow><mi>a</mi><mo>=</mo><mi>b</mi></mrow></math>'
            '<span class="tag">(BP1)</span></div>') in html


def test_numbers_sit_in_monospace_cells_aligned_on_the_point():
    html = body(page(Table(("name", "value"), [("a", Num(0.5)), ("b", Num(-12.25))])))
    assert '<td class="num">  0.5 </td>' in html and '<td class="num">-12.25</td>' in html


def test_neighbouring_tables_share_one_row_of_tables():
    table = Table(("name", "value"), [("a", Num(0.5))])
    two = render_html(page(table, table, Paragraph(("after",))))
    assert two.count('<div class="tables">') == 1
    assert two.index('<div class="tables">') < two.index("<table>") and two.index("</div>\n<p>after") > 0
    assert nesting_errors(two) == []
    assert '<div class="tables">' not in render_html(page(table, Paragraph(("between",)), table))
    three = render_html(page(table, table, table))
    assert three.count('<div class="tables">') == 1 and nesting_errors(three) == []


def test_a_section_is_coloured_by_its_phase_and_linked_from_the_navigation():
    html = body(page(Paragraph(("x",)), phase="update"))
    assert '<a href="#one"><span class="dot" style="background:var(--update)"></span>One</a>' in html
    assert '<section class="update" id="one"><h2>One</h2>' in html


def test_a_picture_is_inlined_and_a_wide_one_scrolls():
    html = body(page(Picture('<svg id="net"></svg>', "the net", "(alt)"),
                     Picture('<svg id="graph"></svg>', "the graph", "(alt)", scroll=True)))
    assert '<figure><svg id="net"></svg><figcaption>the net</figcaption></figure>' in html
    assert '<figure class="scroll"><svg id="graph"></svg>' in html and "(alt)" not in html


def test_an_unknown_block_is_refused_by_its_type():
    with pytest.raises(TypeError, match="HTML renderer: unknown block dict"):
        render_html(page({"not": "a block"}))


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
        page_ = browser.new_page()
        page_.on("request", lambda request: requests.append(request.url))
        page_.goto(page_file.as_uri())
        widths = page_.eval_on_selector_all("math", "nodes => nodes.map(n => n.getBoundingClientRect().width)")
        browser.close()
    assert requests == [page_file.as_uri()]
    assert len(widths) > 50 and min(widths) > 0
