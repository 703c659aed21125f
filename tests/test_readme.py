"""The README's promises hold: its Python example runs and prints the derivative it claims, and every
`chainrule` command it shows is one the command line accepts, with those options."""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from chainrule.cli import build_parser

README = Path(__file__).resolve().parent.parent / "README.md"
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


COMMANDS = [line.split("#")[0].strip() for block in _blocks("sh") for line in block.splitlines()
            if line.startswith("chainrule ")]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_the_readme_shows_is_accepted_by_the_parser(command):
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert callable(args.func)
