"""Specification of the network drawing (render/diagram.py): one SVG with a column per layer and a circle per
neuron, centred on a common line, a line per weight running from circle edge to circle edge with its label laid
along it, and the numbers of the (first) example beside each neuron — or only the structure where they would not
fit."""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from chainrule.explain import explain
from chainrule.explain.render.diagram import network_svg
from chainrule.nn import MLP

SVG = "{http://www.w3.org/2000/svg}"


def drawing(e) -> ET.Element:
    """The parsed SVG (it must be well-formed XML)."""
    return ET.fromstring(network_svg(e))


def circles(root: ET.Element) -> list[tuple[float, float, float]]:
    return [(float(c.get("cx")), float(c.get("cy")), float(c.get("r"))) for c in root.iter(f"{SVG}circle")]


def texts(root: ET.Element) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def wide():
    """A 7-3-1 network: too many inputs to label."""
    return explain(MLP([7, 3, 1], output_activation="sigmoid", rng=0), [0.1] * 7, [1.0])


def test_one_circle_per_neuron_and_one_line_per_weight(worked, wide):
    for e, neurons, weights in ((worked, 6, 8), (wide, 11, 24)):
        root = drawing(e)
        assert len(circles(root)) == neurons and len(list(root.iter(f"{SVG}line"))) == weights


def test_the_size_of_the_drawing_follows_the_layers_and_the_widest_layer(worked):
    root = drawing(worked)
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("760", "350", "0 0 760 350")


def test_layers_are_evenly_spaced_columns_centred_on_one_line(worked, wide):
    for e in (worked, wide):
        root = drawing(e)
        by_column: dict[float, list[float]] = {}
        for x, y, _ in circles(root):
            by_column.setdefault(x, []).append(y)
        xs = sorted(by_column)
        assert [len(by_column[x]) for x in xs] == list(e.sizes)
        assert len({round(b - a, 6) for a, b in zip(xs, xs[1:])}) == 1  # even spacing between layers
        centres = {round(sum(ys) / len(ys), 6) for ys in by_column.values()}
        assert len(centres) == 1  # every column centred on the same height
        for ys in by_column.values():
            ys.sort()
            assert len({round(b - a, 6) for a, b in zip(ys, ys[1:])}) <= 1  # neurons evenly spaced in a column
        height = float(root.get("height"))
        assert all(r < y < height - r for _, y, r in circles(root))


def test_a_weight_runs_from_the_edge_of_one_circle_to_the_edge_of_the_next(worked):
    root = drawing(worked)
    (_, _, radius), centres = circles(root)[0], {(x, y) for x, y, _ in circles(root)}
    for line in root.iter(f"{SVG}line"):
        x1, y1, x2, y2 = (float(line.get(name)) for name in ("x1", "y1", "x2", "y2"))
        assert (x1 - radius, y1) in centres and (x2 + radius, y2) in centres and x2 > x1


def test_each_weight_label_lies_on_its_line_turned_to_its_slope(worked):
    root = drawing(worked)
    lines = list(root.iter(f"{SVG}line"))
    groups = list(root.iter(f"{SVG}g"))
    assert len(groups) == len(lines)
    for line, group in zip(lines, groups):
        x1, y1, x2, y2 = (float(line.get(name)) for name in ("x1", "y1", "x2", "y2"))
        lx, ly, angle = map(float, re.fullmatch(r"translate\((\S+) (\S+)\) rotate\((\S+)\)",
                                                group.get("transform")).groups())
        assert x1 < lx < x2
        assert ly == pytest.approx(y1 + (lx - x1) * (y2 - y1) / (x2 - x1), abs=0.2)  # on the line
        assert angle == pytest.approx(math.degrees(math.atan2(y2 - y1, x2 - x1)), abs=0.1)


def test_the_labels_carry_the_weights_and_the_first_examples_numbers(worked):
    labels = texts(drawing(worked))
    assert "w²₁₂ = 0.45" in labels and "w¹₂₁ = 0.25" in labels
    # Mazur's worked example: out_h1 = 0.593269992, out_o1 = 0.75136507, δ_o1 = 0.138498562
    for label in ("x₁", "a¹₁", "a = 0.59326999", "a = 0.75136507", "δ = 0.13849856", "b = 0.35", "t = 0.01"):
        assert label in labels, label
    assert [t for t in labels if t.startswith("layer")] == ["layer 0 (input)", "layer 1 (sigmoid)",
                                                            "layer 2 (output, sigmoid)"]


def test_a_neurons_numbers_stop_short_of_the_next_circle_down(worked):
    root = drawing(worked)
    radius = circles(root)[0][2]
    by_column: dict[float, list[float]] = {}
    for x, y, _ in circles(root):
        by_column.setdefault(x, []).append(y)
    for x, ys in by_column.items():
        ys.sort()
        below = [float(t.get("y")) for t in root.iter(f"{SVG}text")
                 if float(t.get("x")) == x and ys[0] + radius < float(t.get("y")) < ys[1]]
        assert below and max(below) < ys[1] - radius


def test_a_network_too_wide_to_label_shows_only_its_structure(wide):
    labels = texts(drawing(wide))
    assert not any(t.startswith(("w", "a = ", "x₁")) for t in labels)
    assert len(labels) == 3  # the layer titles
    assert {r for _, _, r in circles(drawing(wide))} == {14.0}


def test_a_batch_names_the_neurons_but_shows_no_single_examples_numbers(batch):
    labels = texts(drawing(batch))
    assert "a¹₂" in labels and "w¹₁₁ = 0.5" in labels
    assert not any(t.startswith(("a = ", "δ = ", "t = ", "b = ")) for t in labels)
