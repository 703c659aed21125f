"""The worked examples of examples/, explained, for the renderer tests (a module of its own, not conftest.py:
`from conftest import ...` would find whichever conftest.py was imported last)."""
from __future__ import annotations

from pathlib import Path

from chainrule.explain import explain, load_spec
from chainrule.explain.render.document import Document, Section

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def explained(name: str):
    """The explanation of examples/<name>.json (its model, example(s), cost, learning rate and title)."""
    problem = load_spec(EXAMPLES / f"{name}.json")
    return explain(problem.model, problem.x, problem.t, problem.loss, problem.lr, title=problem.title)


def page(*blocks, title: str = "Title", phase: str = "forward") -> Document:
    """A one-section document holding `blocks` (for the renderers' tests of one kind of block at a time)."""
    return Document(title, "the subtitle", [Section("One", list(blocks), phase, "one")])
