"""The worked examples of examples/, explained, for the renderer tests (a module of its own, not conftest.py:
`from conftest import ...` would find whichever conftest.py was imported last)."""
from __future__ import annotations

from pathlib import Path

from chainrule.explain import explain, load_spec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def explained(name: str):
    """The explanation of examples/<name>.json (its model, example(s), cost, learning rate and title)."""
    problem = load_spec(EXAMPLES / f"{name}.json")
    return explain(problem.model, problem.x, problem.t, problem.loss, problem.lr, title=problem.title)
