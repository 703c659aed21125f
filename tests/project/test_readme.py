"""The README's promises hold: its Python example runs and prints the derivative it claims, and every
`chainrule` command it shows is one the command line accepts, with those options."""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from chainrule.cli import build_parser, main
from chainrule.data import RECIPES, recipe_text

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _blocks(kind: str) -> list[str]:
    return [code for k, code in FENCE.findall(README.read_text(encoding="utf-8")) if k == kind]


def test_readme_opens_with_make_demo_and_make_test():
    first_block = _blocks("sh")[0]
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


def test_readme_python_example_prints_the_chain_rule_derivative_and_weight_gradients():
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(_blocks("python")[0], "README.md", "exec"), namespace)
    first_line = out.getvalue().splitlines()[0]
    assert float(first_line) == pytest.approx(1.9776558344802249, rel=1e-12)
    W1, W2 = namespace["W1"], namespace["W2"]
    assert W1.grad.shape == (2, 2) and W2.grad.shape == (1, 2)
    assert abs(W1.grad.data).sum() > 0 and abs(W2.grad.data).sum() > 0


def run_command(argv: list[str]) -> tuple[int, str]:
    """Run `chainrule ARGV` in-process; (exit status, what it printed on stdout and stderr)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(argv)
    return status, out.getvalue()


def _diagnosis(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("diagnosis:"))


def _check_training(command: str, comment: str, out: str) -> None:
    """A training run converges, unless its comment says it fails on purpose: then the diagnosis says why."""
    diagnosis = _diagnosis(out)
    if "fails on purpose" not in comment:
        assert diagnosis.startswith("diagnosis: converged"), f"`{command}` claims success: {diagnosis}"
        return
    assert not diagnosis.startswith("diagnosis: converged"), f"`{command}` should fail on purpose"
    if "too large" in comment:
        assert "learning rate is too large" in diagnosis and "2/λ_max" in diagnosis
    if "too small" in comment:
        assert "still moving on a plateau" in diagnosis and "larger η" in diagnosis


def _check_train(command: str, comment: str, out: str) -> None:
    _check_training(command, comment, out)
    if "95% test accuracy" in comment:
        line = next(line for line in out.splitlines() if line.startswith("test accuracy"))
        assert float(line.split()[2].rstrip("%")) >= 95.0, line


def _check_predict(command: str, comment: str, out: str) -> None:
    examples = [w for w in shlex.split(command)[3:]]
    rows = out.strip().splitlines()[1:]
    assert len(rows) == len(examples) and all(row.split()[-1] in ("0", "1") for row in rows), out
    if examples == ["0,0", "0,1", "1,0", "1,1"]:  # the demo's model has learned XOR
        assert [row.split()[-1] for row in rows] == ["0", "1", "1", "0"], out


def _check_sweep(command: str, comment: str, out: str) -> None:
    assert "share of seeds that reached the target" in out
    assert "wrote runs/sweep/sweep.png" in out and Path("runs/sweep/sweep.json").exists()
    if "classic grid" in comment:
        assert "80 runs" in out


CLAIMS = {"demo": _check_training, "train": _check_train, "predict": _check_predict, "sweep": _check_sweep}


SHOWN = [(line.split("#")[0].strip(), line.partition("#")[2].strip()) for block in _blocks("sh")
         for line in block.splitlines() if line.startswith("chainrule ")]
COMMANDS = [command for command, _ in SHOWN]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_the_readme_shows_is_accepted_by_the_parser(command):
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert callable(args.func)


@pytest.mark.slow
def test_the_readme_runs_its_training_commands_and_each_does_what_its_comment_claims(tmp_path, monkeypatch):
    """Every train, demo, predict and sweep command, in the README's order (predict reads what demo wrote):
    a run that is not marked "fails on purpose" converges; one that is ends with a diagnosis saying why."""
    monkeypatch.chdir(tmp_path)
    shown = [(c, comment) for c, comment in SHOWN if shlex.split(c)[1] in CLAIMS]
    shown.sort(key=lambda item: shlex.split(item[0])[1] == "predict")  # predict after the demo it reads
    assert {shlex.split(c)[1] for c, _ in shown} == set(CLAIMS), "the README should show each of these"
    for command, comment in shown:
        words = shlex.split(command)
        status, out = run_command(words[1:])
        assert status == 0, f"`{command}` failed:\n{out}"
        CLAIMS[words[1]](command, comment, out)


def test_the_readme_lists_each_data_set_recipe_as_chainrule_data_defines_it():
    text = README.read_text(encoding="utf-8")
    for name in RECIPES:
        assert f"| {name} | `{recipe_text(name)}` |" in text


def _help_examples() -> list[tuple[str, str]]:
    """(command, comment) for every example line of every `--help` text (the epilogs), found by walking the
    parser, so a new command's examples are covered."""
    import argparse

    found, parsers = [], [build_parser()]
    while parsers:
        parser = parsers.pop()
        for line in (parser.epilog or "").splitlines():
            line = line.strip()
            if line.startswith("chainrule "):
                found.append((line.split("#")[0].strip(), line.partition("#")[2].strip()))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return found


def test_every_help_example_is_accepted_by_the_parser():
    examples = _help_examples()
    assert {shlex.split(c)[1] for c, _ in examples} >= set(CLAIMS)
    for command, _ in examples:
        assert callable(build_parser().parse_args(shlex.split(command)[1:]).func), command


@pytest.mark.slow
def test_the_help_texts_training_examples_do_what_their_comments_claim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    order = list(CLAIMS)  # demo before predict, which reads the demo's model
    examples = sorted((item for item in _help_examples() if shlex.split(item[0])[1] in CLAIMS),
                      key=lambda item: order.index(shlex.split(item[0])[1]))
    for command, comment in examples:
        status, out = run_command(shlex.split(command)[1:])
        assert status == 0, f"`{command}` failed:\n{out}"
        CLAIMS[shlex.split(command)[1]](command, comment, out)
