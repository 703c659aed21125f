"""Specification of `chainrule.viz.graph.draw_graph`: SVG and DOT, left-to-right layout, readable labels."""
from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz.graph import GraphDrawing, draw_graph, summarize

SVG = "{http://www.w3.org/2000/svg}"


def _boxes(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each box's title line and (x, y, width, height), read back from the SVG."""
    boxes = []
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        title = group.find(f"{SVG}title").text.splitlines()[0]
        rect = group.find(f"{SVG}rect")
        boxes.append((title, tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))))
    return boxes


def _exp_sin_square(x0: float = 0.7, backward: bool = True):
    x = cr.tensor(x0, requires_grad=True)
    v1 = x ** 2
    v2 = cr.sin(v1)
    y = cr.exp(v2)
    if backward:
        for v in (v1, v2):
            v.retain_grad()
        y.backward(retain_graph=True)
    return x, v1, v2, y


def test_each_node_shows_its_operation_value_and_gradient():
    x, v1, v2, y = _exp_sin_square()
    drawing = draw_graph(y, names={"x": x, "v1": v1, "v2": v2, "y": y})
    for text in ("v1 = pow", "v2 = sin", "y = exp", f"value {np.sin(0.49):.8g}", f"grad  {float(x.grad.data):.8g}"):
        assert text in drawing.svg and text in drawing.dot


def test_gradients_appear_only_once_backward_has_run():
    *_, y = _exp_sin_square(backward=False)
    drawing = draw_graph(y)
    assert "grad " not in drawing.dot


def test_layout_runs_left_to_right_from_the_inputs_to_the_output():
    x, v1, v2, y = _exp_sin_square()
    boxes = dict(_boxes(draw_graph(y, names={"x": x, "v1": v1, "v2": v2, "y": y}).svg))
    xs = [boxes[t][0] for t in ("x", "v1 = pow", "v2 = sin", "y = exp")]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert boxes["constant 2"][0] < boxes["v1 = pow"][0]  # the constant exponent has a box of its own


def test_dot_text_has_one_node_per_tensor_and_one_edge_per_input():
    _x, _v1, _v2, y = _exp_sin_square()
    drawing = draw_graph(y)
    assert "rankdir=LR" in drawing.dot
    assert drawing.dot.count("->") == drawing.edges == 4  # x→pow, 2→pow, pow→sin, sin→exp
    assert len(re.findall(r"^\s+n\d+ \[label", drawing.dot, flags=re.MULTILINE)) == drawing.nodes == 5


def test_large_arrays_are_summarised_by_shape_and_three_values():
    W = cr.tensor(np.arange(10000.0).reshape(100, 100), requires_grad=True)
    s = (W * 2.0).sum()
    drawing = draw_graph(s)
    assert "mul  (100×100)" in drawing.svg and "value [0, 2, 4, …]" in drawing.svg
    assert summarize(np.arange(5.0)) == "[0, 1, 2, …]"
    assert len(drawing.svg) < 10000


def test_a_graph_of_a_few_hundred_nodes_is_drawn_quickly_without_overlapping_boxes():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.normal(size=(4, 3)))
    a = x
    params = []
    for _ in range(60):  # 60 layers: linear + tanh, ~300 tensors in all
        W = cr.tensor(rng.normal(size=(3, 3)) * 0.3, requires_grad=True)
        b = cr.tensor(np.zeros(3), requires_grad=True)
        params += [W, b]
        a = cr.tanh(cr.linear(a, W, b))
    C = (a ** 2).sum()
    C.backward(retain_graph=True)
    start = time.perf_counter()
    drawing = draw_graph(C)
    assert time.perf_counter() - start < 5
    assert drawing.nodes > 240
    rects = [rect for _, rect in _boxes(drawing.svg)]
    assert len(rects) == drawing.nodes
    for i, (x1, y1, w1, h1) in enumerate(rects):
        for x2, y2, w2, h2 in rects[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1, "boxes overlap"


def test_save_writes_svg_or_dot_by_suffix_and_refuses_others(tmp_path):
    *_, y = _exp_sin_square()
    drawing = draw_graph(y)
    assert drawing.save(tmp_path / "g.svg").read_text() == drawing.svg
    assert drawing.save(tmp_path / "g.dot").read_text() == drawing.dot
    with pytest.raises(ValueError, match="use a .svg, .dot or .gv"):
        drawing.save(tmp_path / "g.png")


def test_jupyter_shows_the_svg():
    *_, y = _exp_sin_square()
    drawing = draw_graph(y)
    assert isinstance(drawing, GraphDrawing) and drawing._repr_svg_() == drawing.svg


def test_names_with_markup_characters_are_escaped():
    x = cr.tensor(1.0, requires_grad=True)
    y = cr.sin(x)
    drawing = draw_graph(y, names={"<x & \"y\">": x})
    ET.fromstring(drawing.svg)
    assert "&lt;x &amp;" in drawing.svg and '\\"y\\"' in drawing.dot


def test_a_released_graph_gets_a_clear_error_naming_retain_graph():
    x = cr.tensor(0.5, requires_grad=True)
    y = cr.exp(cr.sin(x))
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        draw_graph(y)


def test_tensor_graph_method_draws_the_same_picture():
    *_, y = _exp_sin_square()
    assert y.graph().svg == draw_graph(y).svg


def test_only_tensors_can_be_drawn():
    with pytest.raises(TypeError, match="expected a chainrule Tensor"):
        draw_graph(np.ones(3))
