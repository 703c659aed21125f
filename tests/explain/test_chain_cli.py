"""Specification of the commands `chainrule chain` and `chainrule graph`."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from chainrule.cli import main


def test_chain_prints_steps_sweeps_and_the_checked_derivative(capsys):
    assert main(["chain", "exp(sin(x**2))", "--at", "x=0.7"]) == 0
    out = capsys.readouterr().out
    assert "v2  = sin(v1)" in out and "∂y/∂x = 1.9776558" in out and "agree" in out


def test_chain_accepts_several_variables_in_either_form(capsys):
    assert main(["chain", "x*y", "--at", "x=2", "y=3"]) == 0
    first = capsys.readouterr().out
    assert main(["chain", "x*y", "--at", "x=2,y=3"]) == 0
    assert capsys.readouterr().out == first
    assert "∂f/∂x = 3" in first and "∂f/∂y = 2" in first


def test_chain_refuses_unsafe_input_in_one_line_with_status_2(capsys):
    assert main(["chain", "__import__('os')", "--at", "x=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule chain: error: unknown function '__import__'")
    assert len(err.strip().splitlines()) == 1


def test_chain_refuses_a_malformed_point(capsys):
    assert main(["chain", "sin(x)", "--at", "x"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["chain", "sin(x)", "--at", "x=abc"]) == 2
    assert "not a number" in capsys.readouterr().err


def test_chain_at_a_kink_exits_0_and_names_the_kink(capsys):
    assert main(["chain", "relu(x)", "--at", "x=0"]) == 0
    out = capsys.readouterr().out
    assert "a kink" in out and "DISAGREE" not in out


def test_graph_writes_an_svg_with_every_step_and_a_dot_file(tmp_path, capsys):
    svg = tmp_path / "g.svg"
    assert main(["graph", "exp(sin(x**2))", "--at", "x=0.7", "--out", str(svg)]) == 0
    assert f"wrote {svg}" in capsys.readouterr().out
    text = svg.read_text()
    ET.fromstring(text)  # well-formed XML
    for label in ("v1 = pow", "v2 = sin", "y = exp", "grad  1.9776558"):
        assert label in text
    dot = tmp_path / "g.dot"
    assert main(["graph", "exp(sin(x**2))", "--at", "x=0.7", "--out", str(dot)]) == 0
    assert dot.read_text().startswith("digraph")


def test_graph_refuses_an_unknown_file_type(tmp_path, capsys):
    assert main(["graph", "sin(x)", "--at", "x=1", "--out", str(tmp_path / "g.png")]) == 2
    assert "use a .svg, .dot or .gv file name" in capsys.readouterr().err


def test_a_full_width_name_in_at_is_the_name_the_expression_reads(capsys):
    from chainrule.cli import main

    assert main(["chain", "ｘ*ｘ", "--at", "ｘ=3"]) == 0
    assert "6" in capsys.readouterr().out
