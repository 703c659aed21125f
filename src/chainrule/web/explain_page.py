"""The "full derivation" page: `chainrule explain`'s self-contained HTML for the playground's current example.

It explains one step of w ← w − η ∂C/∂w for the session's network as it is now, on the example being
stepped through, with the session's cost, its penalty on the weights and learning rate; every number there
is checked by `explain`.
"""
from __future__ import annotations

from chainrule.explain import explain, render

from .config import BadInput
from .playground import Playground


def explanation_html(playground: Playground) -> str:
    """The HTML derivation (BP1–BP4 with numbers, the update, the checks) of the current example."""
    x, t = playground.explanation_inputs()
    split, index = playground.example
    c = playground.config
    title = f"Back-propagation for {split} example #{index} of the playground ({c.dataset})"
    try:
        explanation = explain(playground.model, x, t, loss=c.loss, lr=c.lr, title=title,
                              regularization=c.regularization, regularization_rate=c.regularization_rate)
    except ValueError as error:  # e.g. a sigmoid output saturated to exactly 1, where bce has no derivative
        raise BadInput(f"no derivation for this example: {error}") from None
    return render(explanation, "html")
