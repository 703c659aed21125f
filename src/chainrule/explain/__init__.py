"""Explanations of back-propagation: a network's BP1–BP4 worked through with its own numbers, checked, rendered.

`explain(model, x, t, loss, lr)` computes; `render(explanation, format)` writes it for a terminal, Markdown,
LaTeX or a self-contained HTML page.
"""
from .network import (
    ACTIVATIONS,
    COSTS,
    Explanation,
    GradientMismatchError,
    Problem,
    backpropagate,
    explain,
    load_problem,
    load_spec,
    problem_from_spec,
    random_problem,
)
from .render import FORMATS, render

__all__ = [
    "ACTIVATIONS", "COSTS", "FORMATS", "Explanation", "GradientMismatchError", "Problem", "backpropagate",
    "explain", "load_problem", "load_spec", "problem_from_spec", "random_problem", "render",
]
