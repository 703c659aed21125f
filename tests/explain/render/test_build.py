"""Specification of the document builder (render/build.py): an Explanation laid out as a Document — the legend,
the network, the forward pass, the cost, BP1–BP4 and the update, each as sections of paragraphs, formulas and
tables whose numbers are the explanation's own, put into the equations' slots and nowhere recomputed.

The numbers checked here are those of Matt Mazur's "A Step by Step Backpropagation Example" (the 2-2-2 network of
examples/two-two-two.json), worked independently of chainrule."""
from __future__ import annotations

import pytest
from render_examples import explained

from chainrule.explain import explain, render
from chainrule.explain.render.build import document
from chainrule.explain.render.document import (
    Callout,
    Code,
    Equation,
    Math,
    Num,
    Paragraph,
    Picture,
    Table,
    fmt,
)
from chainrule.explain.render.math import to_text
from chainrule.nn import MLP

MAIN_SECTIONS = ["notation", "network", "forward", "cost", "bp1", "bp2", "gradients", "update", "after"]


def section(doc, anchor: str):
    return next(s for s in doc.sections if s.anchor == anchor)


def tables(doc, anchor: str) -> list[Table]:
    return [block for block in section(doc, anchor).blocks if isinstance(block, Table)]


def value(cell) -> float:
    assert isinstance(cell, Num), cell
    return float(cell.value)


def row_named(table: Table, symbol: str) -> tuple:
    """The row whose first Math cell (after an example number, if any) is `symbol`."""
    return next(row for row in table.rows if any(isinstance(c, Math) and c.source == symbol for c in row[:2]))


def test_the_sections_come_in_the_order_of_the_derivation_each_in_its_phase(worked):
    doc = document(worked)
    assert [s.anchor for s in doc.sections] == [*MAIN_SECTIONS, "code"]
    phases = {s.anchor: s.phase for s in doc.sections}
    assert [phases[a] for a in ("forward", "cost")] == ["forward"] * 2
    assert [phases[a] for a in ("bp1", "bp2", "gradients")] == ["backward"] * 3
    assert [phases[a] for a in ("update", "after")] == ["update"] * 2
    assert all(s.title for s in doc.sections)


def test_pictures_graph_and_code_appear_exactly_when_given(worked):
    bare = document(worked, code=False)
    assert [s.anchor for s in bare.sections] == MAIN_SECTIONS
    assert not any(isinstance(b, Picture) for b in section(bare, "network").blocks)
    full = document(worked, network_svg="<svg>net</svg>", graph_svg="<svg>graph</svg>")
    assert [s.anchor for s in full.sections] == [*MAIN_SECTIONS, "graph", "code"]
    assert [b.svg for b in section(full, "network").blocks if isinstance(b, Picture)] == ["<svg>net</svg>"]
    graph = next(b for b in section(full, "graph").blocks if isinstance(b, Picture))
    assert graph.svg == "<svg>graph</svg>" and graph.scroll
    code = next(b for b in section(full, "code").blocks if isinstance(b, Code))
    assert "def forward" in code.text and "def backpropagate" in code.text


def test_the_title_and_subtitle_describe_the_problem(worked, batch):
    doc = document(worked)
    assert doc.title == "The classic 2-2-2 network: one step of back-propagation"
    assert doc.subtitle == ("2-2-2 network, sigmoid; cost: half the sum of squared errors; one example; "
                            "learning rate η = 0.5")
    assert "a batch of 4 examples; learning rate η = 1" in document(batch).subtitle


def test_an_untitled_explanation_is_named_after_its_network_and_a_title_is_made_printable():
    model = MLP([2, 1], output_activation="sigmoid", rng=0)
    assert document(explain(model, [0.1, 0.2], [1.0])).title == "Back-propagation, step by step: a 2-1 network"
    assert document(explain(model, [0.1, 0.2], [1.0], title="a\x1bb\u202ec")).title == "a␛b\ufffdc"


def test_the_forward_pass_puts_the_numbers_into_the_weighted_sum(worked):
    z11 = row_named(tables(document(worked), "forward")[0], "z^{1}_{1}")
    # net_h1 = w1 i1 + w2 i2 + b1 = 0.15 · 0.05 + 0.2 · 0.1 + 0.35 = 0.3775, out_h1 = σ(0.3775) = 0.593269992
    assert to_text(z11[1].source) == "0.15 · 0.05 + 0.2 · 0.1 + 0.35 = 0.3775"
    assert fmt(value(z11[2])) == "0.59326999"
    assert value(z11[3]) == pytest.approx(0.593269992 * (1 - 0.593269992))  # σ′ = a(1 − a)


def test_a_long_weighted_sum_is_shown_by_its_value_only():
    e = explain(MLP([5, 1], output_activation="sigmoid", rng=0), [0.1] * 5, [1.0], loss="bce")
    z11 = row_named(tables(document(e), "forward")[0], "z^{1}_{1}")
    assert z11[1].source == f"\\num{{{fmt(e.derivation.z[1][0, 0])}}}"


def test_bp1_multiplies_the_cost_gradient_by_the_slope_with_negative_factors_in_parentheses(worked):
    bp1 = tables(document(worked), "bp1")[0]
    first, second = row_named(bp1, "\\delta^{2}_{1}"), row_named(bp1, "\\delta^{2}_{2}")
    # ∂E/∂out_o1 = 0.74136507, ∂out_o1/∂net_o1 = 0.186815602
    assert fmt(value(first[1])) == "0.74136507" and fmt(value(first[2])) == "0.1868156"
    assert to_text(first[3].source) == "0.74136507 · 0.1868156 = 0.13849856"
    assert to_text(second[3].source).startswith("(−0.21707153) · 0.17551005 = −0.038098237")


def test_every_gradient_row_shows_bp4_the_engine_and_finite_differences_agreeing(worked):
    doc = document(worked)
    rows = [row for table in tables(doc, "gradients") for row in table.rows]
    assert len(rows) == 12  # 8 weights and 4 biases
    for row in rows:
        by_bp = value(row[2]) if isinstance(row[2], Num) else float(to_text(row[2].source).split("= ")[-1]
                                                                     .replace("−", "-"))
        assert by_bp == pytest.approx(value(row[3]), rel=1e-7) and by_bp == pytest.approx(value(row[4]), rel=1e-6)
    w5 = row_named(tables(doc, "gradients")[1], "\\partial C/\\partial w^{2}_{11}")
    assert to_text(w5[2].source) == "0.59326999 · 0.13849856 = 0.082167041"  # Mazur's ∂E/∂w5


def test_the_update_table_is_before_minus_eta_times_the_gradient(worked):
    doc = document(worked)
    rows = [row for table in tables(doc, "update") for row in table.rows]
    assert len(rows) == 12
    for _symbol, before, gradient, worked_out, after in rows:
        assert value(after) == pytest.approx(value(before) - 0.5 * value(gradient), abs=1e-15)
        assert to_text(worked_out.source).startswith(f"{fmt(value(before))} − 0.5 · ")
    after = {row[0].source: fmt(value(row[4])) for row in rows}
    assert after["w^{2}_{11}"] == "0.35891648" and after["w^{1}_{11}"] == "0.14978072"  # Mazur's w5⁺ and w1⁺


def test_the_cost_before_and_after_agrees_with_the_words_under_it(worked):
    blocks = section(document(worked), "after").blocks
    table = next(b for b in blocks if isinstance(b, Table))
    before, after = (value(row[1]) for row in table.rows)
    assert fmt(before) == "0.29837111"  # Mazur's E_total = 0.298371109
    assert all(value(row[1]) == value(row[2]) for row in table.rows)
    words = " ".join(part for b in blocks if isinstance(b, Paragraph) for part in b.parts if isinstance(part, str))
    assert f"The cost falls by {fmt(before - after)} ({(before - after) / before:.2%})" in words


def test_the_legend_states_bp1_to_bp4_and_a_batch_adds_their_matrix_form(worked, batch):
    one = section(document(worked), "notation").blocks
    assert len(one) == 1 and isinstance(one[0], Callout) and one[0].kind == "legend"
    tags = [b.tag for b in one[0].blocks if isinstance(b, Equation)]
    assert tags == ["BP1", "BP2", "BP3", "BP4", "update"]
    many = section(document(batch), "notation").blocks
    assert len(many) == 2 and many[1].title == "The same equations for a batch, one row per example"
    example_table = tables(document(batch), "network")[0]
    assert [row[0] for row in example_table.rows] == ["1", "2", "3", "4"] and example_table.header[0] == "n"


def test_a_deep_network_adds_the_sizes_of_delta_and_the_articles_rule():
    e = explain(MLP([2, 3, 2, 1], output_activation="sigmoid", rng=0), [0.5, -0.3], [1.0])
    doc = document(e, code=False)
    assert [s.anchor for s in doc.sections] == [*MAIN_SECTIONS, "delta-sizes", "article"]
    sizes = tables(doc, "delta-sizes")[0]
    assert [row[0] for row in sizes.rows] == ["1", "2", "3"] and sizes.header[1] == "‖δˡ‖, sigmoid (this network)"


def test_softmax_cross_entropy_says_that_delta_is_p_minus_t():
    e = explained("softmax-3class")
    text = render(e, "terminal")
    assert "δᴸ = p − t" in text and "softmax" in text


def test_softmax_cross_entropy_shows_the_probabilities_beside_the_logits():
    e = explained("softmax-3class")
    doc = document(e)
    table = tables(doc, "cost")[0]
    probabilities = [value(row[2]) for row in table.rows]
    assert sum(probabilities) == pytest.approx(1.0) and [value(row[3]) for row in table.rows] == [0.0, 0.0, 1.0]
    note = next(b for b in section(doc, "bp1").blocks if isinstance(b, Callout))
    assert note.title == "Softmax with cross-entropy"
