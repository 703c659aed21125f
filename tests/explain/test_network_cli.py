"""Specifications of `chainrule explain`: the worked example to 8 digits, the formats, and one-line errors."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_network import hand_computed_two_two_two

from chainrule.cli import main
from chainrule.nn import MLP

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKED = str(EXAMPLES / "two-two-two.json")
NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_worked_example_prints_cost_and_every_updated_parameter_to_eight_digits(capsys):
    status, out, _ = run(capsys, "explain", WORKED)
    assert status == 0
    hand = hand_computed_two_two_two()
    cost = float(re.search(rf"before the step\s+({NUMBER})", out).group(1))
    assert cost == pytest.approx(hand["cost"], rel=5e-8)
    for name, value in hand["new"].items():
        row = re.search(rf"^\s+{name}\s.*?({NUMBER})\s*$", out, re.MULTILINE)
        assert row, f"no update row for {name}"
        assert float(row.group(1)) == pytest.approx(value, rel=5e-8), name  # 8 significant digits


@pytest.mark.parametrize("suffix, marker", [(".html", "<math"), (".md", "$$"), (".tex", "\\begin{document}"),
                                            (".txt", "━━ Notation")])
def test_the_format_follows_the_file_extension(capsys, tmp_path, suffix, marker):
    out_file = tmp_path / f"explanation{suffix}"
    status, out, _ = run(capsys, "explain", WORKED, "--out", str(out_file))
    assert status == 0
    assert f"wrote {out_file}" in out
    assert marker in out_file.read_text(encoding="utf-8")


def test_overrides_on_the_command_line_change_the_numbers(capsys):
    _, default, _ = run(capsys, "explain", WORKED)
    status, changed, _ = run(capsys, "explain", WORKED, "--lr", "0.1", "--x", "1", "2", "--t", "0", "1")
    assert status == 0
    assert "η = 0.1" in changed and re.search(r"x₂ = a⁰₂\s+2\s*$", changed, re.MULTILINE)
    assert default != changed


def test_sizes_and_seed_explain_a_fresh_network(capsys):
    status, out, _ = run(capsys, "explain", "--sizes", "2", "3", "1", "--seed", "3")
    assert status == 0 and "2-3-1 network (seed 3)" in out and "✓ Checked" in out


def test_a_saved_model_is_explained_with_x_and_t(capsys, tmp_path):
    from chainrule import io
    path = io.save(MLP([2, 2, 1], output_activation="sigmoid", rng=1), tmp_path / "model.npz")
    status, out, _ = run(capsys, "explain", str(path), "--x", "0.5", "-1", "--t", "1", "--loss", "bce")
    assert status == 0 and "binary cross-entropy" in out


@pytest.mark.parametrize("argv, message", [
    ([], "one of them"),
    ([WORKED, "--sizes", "2", "1"], "one of them"),
    (["missing.json"], "no such file"),
    ([WORKED, "--x", "1", "2", "3"], "needs 2 numbers"),
    ([WORKED, "--lr", "-2"], "positive"),
    (["--sizes", "2", "0"], "positive integer"),
    (["--sizes", "100", "100"], "small networks"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, message):
    status, _, err = run(capsys, "explain", *argv)
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_model_file_without_an_example_asks_for_one(capsys, tmp_path):
    from chainrule import io
    path = io.save(MLP([2, 1], rng=0), tmp_path / "model.npz")
    status, _, err = run(capsys, "explain", str(path))
    assert status == 2 and "--x and --t" in err
