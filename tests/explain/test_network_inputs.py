"""Specification of what `explain` reads and writes: hostile spec files get one clear error before anything is
built, and text from a file is escaped for the place it is written to."""
from __future__ import annotations

import json
import resource

import pytest

from chainrule.cli import main
from chainrule.explain import explain, load_spec, render
from chainrule.explain.render.markdown import escape_markdown

GOOD = {"sizes": [2, 1], "activation": "sigmoid", "output_activation": "sigmoid", "x": [0.0, 1.0], "t": [1.0]}


def write(tmp_path, text: str, name: str = "spec.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "words"), [
    ({"sizes": [10000, 10000, 2], "t": [0.0, 1.0]}, "100,030,002 parameters"),
    ({"sizes": "abc"}, "sizes must be a list of at least two whole numbers"),
    ({"sizes": [2, True]}, "sizes must be a list"),
    ({"sizes": [2, -1]}, "every layer width must be a positive integer"),
    ({"seed": 1.5}, "seed must be a whole number"),
    ({"seed": -1}, "seed must be a whole number from 0"),
    ({"lr": "abc"}, "lr must be a number"),
    ({"lr": 0}, "lr must be a positive number"),
    ({"activation": ["sigmoid"]}, "activation must be text"),
    ({"loss": 5}, "loss must be text"),
    ({"title": 7}, "title must be text"),
    ({"title": "x" * 201}, "at most 200"),
    ({"x": [0, "1"]}, "x must be numbers, found str"),
    ({"t": [True]}, "t must be numbers, found bool"),
    ({"W": [[[[[1.0]]]]], "b": [[0.0]]}, "W is nested too deeply"),
])
def test_a_bad_field_gets_one_clear_error(tmp_path, change, words):
    path = write(tmp_path, json.dumps(GOOD | change))
    with pytest.raises(ValueError, match="spec.json: ") as caught:
        load_spec(path)
    assert words in str(caught.value)


@pytest.mark.parametrize(("text", "words"), [
    ('{"sizes": [2, 1], "seed": Infinity}', "Infinity is not a JSON number"),
    ('{"sizes": [2, 1], "seed": NaN}', "NaN is not a JSON number"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ("[1, 2]", "expected a JSON object"),
])
def test_malformed_json_gets_one_line_on_the_command_line(tmp_path, capsys, text, words):
    assert main(["explain", str(write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_a_huge_network_in_a_spec_is_refused_before_anything_is_allocated(tmp_path):
    path = write(tmp_path, json.dumps(GOOD | {"sizes": [10000, 10000, 2], "t": [0.0, 1.0]}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="parameters"):
        load_spec(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB: not the 800 MB of weights


def test_a_spec_file_larger_than_the_limit_is_not_read(tmp_path):
    path = write(tmp_path, json.dumps(GOOD | {"title": "x"}) + " " * 1_000_001)
    with pytest.raises(ValueError, match="a spec is at most 1,000,000 bytes"):
        load_spec(path)


HOSTILE = "\x1b[31mRED\x1b[0m <script>alert(1)</script> & $x$ \\ % \u202e"


@pytest.fixture
def hostile_explanation(tmp_path):
    problem = load_spec(write(tmp_path, json.dumps(GOOD | {"title": HOSTILE})))
    return explain(problem.model, problem.x, problem.t, title=problem.title)


def test_no_format_carries_a_raw_control_character_from_a_title(hostile_explanation):
    for format_ in ("terminal", "markdown", "latex", "html"):
        text = render(hostile_explanation, format_)
        assert "\x1b" not in text and "\u202e" not in text, format_
    assert "␛[31mRED" in render(hostile_explanation, "terminal")


def test_a_title_is_escaped_for_html_markdown_and_latex(hostile_explanation):
    html = render(hostile_explanation, "html")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html
    markdown = render(hostile_explanation, "markdown")
    assert "<script>" not in markdown and "\\<script\\>" in markdown and "\\$x\\$" in markdown
    latex = render(hostile_explanation, "latex")
    assert "\\& \\$x\\$ \\textbackslash{} \\%" in latex and all(ord(c) < 128 for c in latex)


def test_escaped_markdown_shows_the_text_as_written():
    assert escape_markdown("a_b *c* [d](e) #1 <i>") == "a\\_b \\*c\\* \\[d\\]\\(e\\) \\#1 \\<i\\>"
