"""Explanations of back-propagation: a network's BP1–BP4 worked through with its own numbers, checked, rendered.

`explain(model, x, t, loss, lr)` computes; `render(explanation, format)` writes it for a terminal, Markdown,
LaTeX or a self-contained HTML page. `explain_chain` walks one expression through the chain rule;
`compare_modes` sets forward mode, reverse mode and finite differences side by side. The naive symbolic
method is `chainrule.explain.naive` (imported on demand: it loads SymPy).
"""
from .chain import ChainExplanation, ExpressionError, explain_chain, parse_expression
from .modes import compare_modes, stored_for_backward
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
    "ChainExplanation", "ExpressionError", "explain_chain", "parse_expression", "compare_modes",
    "stored_for_backward", "ACTIVATIONS", "COSTS", "FORMATS", "Explanation", "GradientMismatchError", "Problem", "backpropagate",
    "explain", "load_problem", "load_spec", "problem_from_spec", "random_problem", "render",
]
