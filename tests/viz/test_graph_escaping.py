"""Text given to a drawing (names, a title) is escaped for where it goes: the SVG stays well-formed XML with no
markup from the text, the DOT file stays one graph, and neither carries a terminal escape sequence (issue 14)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.files import printable
from chainrule.viz.graph import draw_graph

HOSTILE = ('<script>alert(1)</script> & "double" \'single\' \x1b[31mred\x1b[0m \x9b2J \x00 \x7f '
           "\ud800 \u202eevil\u202c back\\slash \\N")
UNSAFE = "\x1b\x9b\x00\x7f\ud800\u202e\u202c"


def _drawing(name: str, title: str):
    x = cr.Tensor([2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    return draw_graph(y, names={name: x, f'y"]; injected [label="{name}': y}, title=title)


def _dot_statements(dot: str) -> list[str]:
    """The DOT text with every double-quoted string removed: what Graphviz reads as syntax."""
    out, inside, escaped = [], False, False
    for char in dot:
        if inside:
            inside = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            inside = True
        else:
            out.append(char)
    return "".join(out).split(";")


def test_hostile_names_and_title_are_escaped_in_svg_and_dot(tmp_path) -> None:
    drawing = _drawing(HOSTILE, HOSTILE)
    root = ET.fromstring(drawing.svg)  # well-formed XML: no control character, no stray markup
    assert not any(element.tag.endswith("script") for element in root.iter())
    assert "<script" not in drawing.svg and "&lt;script&gt;" in drawing.svg
    texts = "".join(root.itertext())
    assert "<script>alert(1)</script>" in texts and "␛[31mred" in texts  # shown, not acted on
    for text in (drawing.svg, drawing.dot):
        assert not any(char in text for char in UNSAFE)
    assert "injected" not in "".join(_dot_statements(drawing.dot))  # a quote in a name cannot end its label
    assert drawing.dot.count("digraph") == 1
    for suffix in (".svg", ".dot"):  # both encode as UTF-8 (a lone surrogate would not)
        assert drawing.save(tmp_path / f"g{suffix}").read_text(encoding="utf-8")


@given(st.text(max_size=40))
def test_any_text_keeps_the_svg_well_formed(text: str) -> None:
    drawing = _drawing(text or "x", text)
    ET.fromstring(drawing.svg)
    drawing.dot.encode("utf-8")
    assert not any(char in drawing.dot for char in UNSAFE)


@pytest.mark.parametrize("text, shown", [
    ("\x1b[0m", "␛[0m"), ("a\x00b", "a␀b"), ("\x7f\x9b", "\ufffd\ufffd"), ("\ud800", "\ufffd"),
    ("\u202eevil", "\ufffdevil"), ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
    ("ordinary ∂C/∂w", "ordinary ∂C/∂w")])
def test_printable_shows_control_characters_as_their_pictures(text: str, shown: str) -> None:
    assert printable(text) == shown
