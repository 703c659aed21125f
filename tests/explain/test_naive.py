"""Specification of `chainrule.explain.naive`: the written-out cost, its per-weight derivatives, their cost."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import sympy

from chainrule.cli import main
from chainrule.explain import naive
from chainrule.explain.naive import (
    backprop_operation_count,
    backprop_program,
    check_against_backprop,
    classic_network,
    cost_sweep,
    operation_count,
    program_operation_count,
    random_network,
    shared_operation_count,
    shared_subexpressions,
    sigma,
    symbolic_cost,
    tree_size,
)


def _png_size(path) -> tuple[int, int]:
    data = Path(path).read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_sigma_differentiates_to_sigma_times_one_minus_sigma():
    z = sympy.Symbol("z")
    assert sympy.diff(sigma(z), z) == sigma(z) * (1 - sigma(z))


def test_naive_derivatives_equal_backpropagation_on_the_classic_two_two_two_network():
    check = check_against_backprop(classic_network())
    assert len(check.naive) == 12
    assert check.max_difference < 1e-15
    # independent values of the classic example (hand computation): ∂C/∂w²₁₁ and ∂C/∂w¹₁₁
    by_name = {str(p): v for p, v in check.naive.items()}
    assert by_name["w²₁₁"] == pytest.approx(0.082167040564, rel=1e-9)
    assert by_name["w¹₁₁"] == pytest.approx(0.000438567734, rel=1e-8)


@pytest.mark.parametrize("sizes, activation", [((2, 3, 2, 1), "tanh"), ((3, 2, 2, 2), "sigmoid")])
def test_naive_derivatives_equal_backpropagation_for_deeper_networks(sizes, activation):
    check = check_against_backprop(random_network(sizes, seed=3, activation=activation))
    assert len(check.naive) == random_network(sizes).n_parameters
    assert check.max_difference < 1e-13


def test_the_cost_is_one_expression_in_every_parameter_and_nothing_else():
    c = symbolic_cost(classic_network())
    assert c.cost.free_symbols == set(c.parameters)
    assert [str(p) for p in c.parameters[:6]] == ["w¹₁₁", "w¹₁₂", "w¹₂₁", "w¹₂₂", "b¹₁", "b¹₂"]


def test_tree_size_and_operation_count_count_the_expression_as_written():
    x, y, z = sympy.symbols("x y z")
    assert tree_size([x * y + sympy.sin(z)]) == 6  # add(mul(x, y), sin(z))
    assert operation_count([x * y + sympy.sin(z)]) == 3
    assert operation_count([x - y]) == 1  # a sign is not an operation
    repeated = sympy.sin(x * y) * sympy.cos(x * y)
    assert operation_count([repeated]) == 5  # x·y written twice
    assert shared_operation_count([repeated]) == 4  # x·y computed once


def test_backprop_program_has_exactly_the_operations_the_formula_counts():
    for sizes in [(2, 2, 2), (2, 1, 2), (3, 4, 2, 1), (2, 3, 3, 3, 2)]:
        assert program_operation_count(backprop_program(sizes)) == backprop_operation_count(sizes)
    assert backprop_operation_count((2, 2, 2)) == 48


def test_shared_pieces_found_by_cse_are_the_activations_and_the_error_terms():
    shared = shared_subexpressions(classic_network())
    meanings = {p.meaning for p in shared.pieces}
    assert {"a¹₁", "a¹₂", "a²₁", "a²₂"} <= meanings
    assert {"−δ²₁", "−δ²₂"} <= meanings  # cse writes t − a, so δ appears with its sign flipped
    by_parameter = {str(p): m for p, m in shared.reduced_meaning.items()}
    assert by_parameter["b¹₁"] == "δ¹₁" and by_parameter["b²₂"] == "δ²₂"  # BP3
    assert by_parameter["w²₁₂"] == "a¹₂·δ²₁" and by_parameter["w¹₂₁"] == "x₁·δ¹₂"  # BP4
    assert shared.operations_after_cse < shared.operations_written_out / 10
    assert shared.operations_after_cse < 2 * shared.backprop_operations


def test_naive_work_grows_by_a_factor_per_layer_while_backprop_grows_by_a_constant():
    rows = cost_sweep(hidden=range(1, 4), widths=(2,), n_in=1, n_out=1, seconds_limit=1e9)
    naive_ops = [r.naive_operations for r in rows]
    bp_ops = [r.backprop_operations for r in rows]
    assert naive_ops[2] / naive_ops[1] > 3 and naive_ops[1] / naive_ops[0] > 3
    assert bp_ops[2] - bp_ops[1] == bp_ops[1] - bp_ops[0]
    assert all(r.max_difference < 1e-14 for r in rows)
    assert all(r.derivative_size > r.cost_size for r in rows)


def test_a_network_predicted_to_exceed_the_time_limit_is_skipped_and_says_why():
    rows = cost_sweep(hidden=range(1, 4), widths=(1,), n_in=1, n_out=1, seconds_limit=1e-9)
    assert [r.skipped == "" for r in rows] == [True, True, False]
    assert rows[2].skipped.startswith("predicted") and rows[2].naive_operations is None
    assert rows[2].backprop_operations == backprop_operation_count(rows[2].sizes)


def test_table_and_csv_have_one_line_per_network():
    rows = cost_sweep(hidden=range(1, 3), widths=(1,), n_in=1, n_out=1)
    table = naive.format_cost_table(rows)
    assert "naive ops" in table and f"{rows[1].naive_operations:,}" in table
    operations, times = table.split("\n\n")
    assert len(operations.splitlines()) == len(times.splitlines()) == 4  # a title, a header, one row per network
    assert "SymPy" not in operations and "derive: SymPy s" in times and "evaluate: naive s" in times
    assert all(r.naive_evaluate_seconds is not None for r in rows)
    assert naive.cost_sweep_csv(rows).count("\n") == 3


def test_too_large_a_network_is_refused():
    with pytest.raises(ValueError, match="too many to write out"):
        symbolic_cost(random_network((20, 20, 20)))
    with pytest.raises(ValueError, match="unknown activation"):
        random_network((2, 2), activation="cubic")


def test_compare_naive_command_prints_all_three_parts_and_writes_its_files(tmp_path, capsys):
    assert main(["compare", "naive", "--hidden", "1", "1", "--widths", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(a) The naive method" in out and "(b) What" in out and "(c) Cost as the network deepens" in out
    assert out.index("(a) The naive") < out.index("(b) What") < out.index("(c) Cost")
    assert "nan" not in out and "One depth only" in out
    assert "derive: SymPy s" in out and "evaluate: BP s" in out
    assert "δ²₁" in out and "(BP2)" in out
    assert _png_size(tmp_path / "naive.png") == (1760, 616) and (tmp_path / "naive.csv").exists()


def test_compare_naive_command_refuses_bad_ranges(capsys):
    assert main(["compare", "naive", "--hidden", "3", "1"]) == 2
    assert "--hidden" in capsys.readouterr().err


def test_random_networks_are_seeded():
    a, b = random_network((2, 3, 1), seed=5), random_network((2, 3, 1), seed=5)
    assert all(np.array_equal(wa, wb) for wa, wb in zip(a.W[1:], b.W[1:]))
