"""Specification of `chainrule.explain.modes`: reverse mode, forward mode and finite differences compared."""
from __future__ import annotations

import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explain.modes import _reads as reads
from chainrule.explain.modes import (
    compare_one,
    difference_partial,
    format_modes_table,
    forward_partial,
    make_problem,
    operation_counts,
    reverse_gradient,
    stored_for_backward,
)


def test_three_ways_give_the_same_gradient():
    problem = make_problem((3, 4, 2), batch=5)
    reverse = reverse_gradient(problem)
    assert reverse.shape == (problem.n,) == (26,)
    forward = np.array([forward_partial(problem, i) for i in range(problem.n)])
    differences = np.array([difference_partial(problem, i) for i in range(problem.n)])
    assert np.allclose(forward, reverse, rtol=1e-12, atol=1e-15)
    assert np.allclose(differences, reverse, rtol=1e-5, atol=1e-9)


def test_reverse_mode_costs_a_few_forward_passes_and_forward_mode_n_times_more():
    for sizes in [(4, 4, 1), (8, 16, 4), (16, 32, 8)]:
        problem = make_problem(sizes)
        ops = operation_counts(problem)
        assert ops["forward"] < ops["reverse"] < 4 * ops["forward"]
        row = compare_one(problem, sample=4)
        assert row.forward_ops == problem.n * ops["jvp"] and row.difference_ops == 2 * problem.n * ops["forward"]
        assert row.forward_ops > problem.n / 2 * row.reverse_ops


def test_matrix_products_are_counted_as_two_m_k_n():
    problem = make_problem((3, 2), batch=4)
    ops = operation_counts(problem)
    # linear: 2·4·2·3 = 48 + bias 8; sigmoid 8; sub 8; pow 8; sum 8; mul 1
    assert ops["forward"] == 48 + 8 + 8 + 8 + 8 + 8 + 1


def test_large_networks_are_sampled_and_say_so():
    row = compare_one(make_problem((8, 16, 4)), sample=10)
    assert row.n == 212 and row.sampled == 10 and row.extrapolated
    assert row.forward_error < 1e-12 and row.difference_error < 1e-7
    table = format_modes_table([row])
    assert "*" in table and "212" in table


def test_backward_rules_read_exactly_the_values_they_need():
    x = cr.tensor(np.array([0.3, -1.2]), requires_grad=True)
    w = cr.tensor(np.array([2.0, 0.5]), requires_grad=True)
    rng = np.random.default_rng(0)
    assert reads(x * w, rng) == [1, 2]  # ∂(xw)/∂x = w, ∂(xw)/∂w = x
    assert reads(cr.exp(x), rng) == [0]  # its own output
    assert reads(cr.sigmoid(x), rng) == [0]
    assert reads(x + w, rng) == []  # only shapes
    assert reads(cr.sin(x), rng) == [1]  # its input


def test_stored_values_list_the_activations_and_weights_and_add_up_their_bytes():
    problem = make_problem((4, 4, 1), batch=16)
    report = stored_for_backward(problem)
    reads_by_op = dict(report.reads)
    assert reads_by_op["sigmoid#1"] == ["sigmoid#1 (its output) 16×4"]
    assert reads_by_op["linear#2"] == ["sigmoid#1 16×4", "W2 1×4"]
    assert reads_by_op["linear#1"] == ["the input data 16×4"]  # W1's gradient needs x; W1 itself is not read
    assert reads_by_op["sub#1"] == []
    assert report.intermediate_bytes == (16 * 4 + 16 * 1 + 16 * 1) * 8  # a¹, a², and a² − t
    assert report.total_bytes == sum(v.nbytes for v in report.values)
    assert report.intermediate_bytes < report.all_forward_bytes


def test_compare_modes_command_prints_the_table_and_the_answer_and_writes_the_plot(tmp_path, capsys):
    assert main(["compare", "modes", "--max-params", "60", "--sample", "8", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Can the backward pass start before the forward pass ends?" in out and "reverse ops" in out
    data = (tmp_path / "modes.png").read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1430, 572)
    assert (tmp_path / "modes.csv").read_text().count("\n") == 3


def test_compare_modes_command_refuses_a_too_small_limit(capsys):
    assert main(["compare", "modes", "--max-params", "3"]) == 2
    assert "below the smallest network" in capsys.readouterr().err


def test_sizes_must_be_positive():
    with pytest.raises(ValueError, match="at least two layers"):
        make_problem((3,))
