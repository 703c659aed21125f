"""Specification of `render` and `graph_svg` (render/__init__.py): one explanation, four output formats chosen
by name, every format carrying the same legend and cases; a format's own details are in its own test file."""
from __future__ import annotations

import re

import pytest

from chainrule.explain import render
from chainrule.explain.render import EXTENSIONS, FORMATS, graph_svg

ANSI = re.compile(r"\033\[[0-9;]*m")


def test_the_legend_heads_every_format(worked):
    for format_ in ("terminal", "markdown", "latex", "html"):
        text = ANSI.sub("", render(worked, format_))
        notation = text.find("Notation")
        assert 0 <= notation < text.find("forward pass"), format_
        assert all(tag in text for tag in ("BP1", "BP2", "BP3", "BP4")), format_


def test_a_batch_shows_every_example(batch):
    text = render(batch, "terminal")
    assert "a batch of 4 examples" in text
    assert all(f"{n}  " in text for n in "1234")
    for format_ in ("markdown", "latex", "html"):
        assert "0.0" in render(batch, format_)


def test_a_network_without_hidden_layers_says_there_is_nothing_to_propagate():
    from chainrule.explain import explain
    from chainrule.nn import MLP
    e = explain(MLP([2, 1], output_activation="sigmoid", rng=0), [1.0, -1.0], [1.0], loss="bce")
    for format_ in ("terminal", "markdown", "latex", "html"):
        assert "no hidden layer" in render(e, format_)


def test_an_unknown_format_is_refused_with_the_formats_that_exist(worked):
    with pytest.raises(ValueError, match=r"unknown format 'pdf'; choose one of terminal, markdown, latex, html"):
        render(worked, "pdf")


def test_every_format_has_a_file_extension():
    assert set(EXTENSIONS) == set(FORMATS)
    assert len(set(EXTENSIONS.values())) == len(FORMATS)


def test_the_terminal_leaves_out_the_source_listing_that_the_files_carry(worked):
    heading = "The code that computed these numbers"
    assert heading not in render(worked, "terminal")
    for format_ in ("markdown", "latex", "html"):
        assert heading in render(worked, format_), format_
    assert "def backpropagate" in render(worked, "markdown")


def test_only_html_draws_the_network_and_the_graph(worked):
    page = render(worked, "html")
    assert page.count("<svg") == 2 and "The computational graph of C" in page
    for format_ in ("terminal", "markdown", "latex"):
        text = render(worked, format_)
        assert "<svg" not in text and "The computational graph of C" not in text, format_
        # the files say where the drawing is; the terminal, a screen away from any HTML, does not
        assert ("a drawing of the network is in the HTML version" in text) == (format_ != "terminal"), format_


def test_graph_svg_is_the_engine_graph_of_the_cost_with_its_gradients(worked):
    svg = graph_svg(worked)
    assert svg == worked.graph().svg
    assert svg.lstrip().startswith(("<svg", "<?xml")) and svg.rstrip().endswith("</svg>")
    assert svg in render(worked, "html")
