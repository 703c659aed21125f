"""Fixtures shared by the renderer tests: the worked examples of examples/, explained once per test module."""
from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.explain import explain, load_spec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def explained(name: str):
    """The explanation of examples/<name>.json (its model, example(s), cost, learning rate and title)."""
    problem = load_spec(EXAMPLES / f"{name}.json")
    return explain(problem.model, problem.x, problem.t, problem.loss, problem.lr, title=problem.title)


@pytest.fixture(scope="module")
def worked():
    """The classic 2-2-2 sigmoid network on one example (Mazur's numbers)."""
    return explained("two-two-two")


@pytest.fixture(scope="module")
def batch():
    """A 2-2-1 network on the four XOR examples at once."""
    return explained("xor-batch")
