"""The playground's "full derivation" page (`chainrule.web.explain_page`): `chainrule explain`'s self-contained
HTML for the session's network as it is now, on the example being stepped through, with the session's cost and
learning rate and its penalty on the weights (C = C₀ + P, each ∂C/∂w with the penalty's share, as the
playground trains); its title says which example; an example that explain cannot derive is refused with
explain's reason.
"""
from __future__ import annotations

import numpy as np
import pytest
from web_helpers import playground, url

from chainrule.explain import explain, render
from chainrule.web.config import BadInput
from chainrule.web.explain_page import explanation_html


def test_the_explain_link_gives_the_derivation_of_the_current_example(client, session):
    client.post(url(session, "example"), json={"split": "train", "index": 3})
    page = client.get(url(session, "explain"))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "train example #3" in page.text and "<math" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("settings, split, index, target", [
    ({"loss": "bce", "lr": 0.3}, "train", 5, lambda y: [float(y)]),
    ({"loss": "ce", "lr": 0.05, "hidden": [3, 2]}, "test", 2, int),
    ({"loss": "half_sum", "dataset": "regression", "activation": "sigmoid"}, "train", 0, lambda y: [float(y)]),
    ({"loss": "mse", "regularization": "l2", "regularization_rate": 0.2}, "test", 7, lambda y: [float(y)]),
    ({"loss": "ce", "regularization": "l1", "regularization_rate": 0.05}, "train", 1, int),
])
def test_the_page_is_explains_derivation_of_the_current_example_with_the_sessions_cost_penalty_and_rate(
        settings, split, index, target):
    p = playground(**settings, seed=3)
    p.choose_example(split, index)
    X, y = (p.split.X_train, p.split.y_train) if split == "train" else (p.split.X_test, p.split.y_test)
    title = f"Back-propagation for {split} example #{index} of the playground ({p.config.dataset})"
    penalty = {name: settings[name] for name in ("regularization", "regularization_rate") if name in settings}
    expected = explain(p.model, X[index], target(y[index]), loss=settings["loss"], lr=p.config.lr, title=title,
                       **penalty)
    assert explanation_html(p) == render(expected, "html")


def test_the_page_follows_the_weights_as_they_are_now():
    p = playground(hidden=[2], seed=1)
    before = explanation_html(p)
    p.set_weight(2, 0, 1, 0.75)
    after = explanation_html(p)
    assert after != before and after == explanation_html(p)


def test_with_a_penalty_the_derivation_is_of_the_whole_cost_the_playground_trains_on():
    from chainrule.web.trace import trace_example

    title = "Back-propagation for train example #0 of the playground (xor)"
    session = playground(regularization="l1", regularization_rate=0.01)
    penalised = explanation_html(session)
    assert f"<title>{title}</title>" in penalised and "The cost carries a penalty P on the weights (L1" in penalised
    x, t = session.explanation_inputs()
    trace = trace_example(session.model, session.config.loss, x, t, "l1", 0.01)   # the playground's own numbers
    C = f"{trace.cost:.8f}".rstrip("0")
    assert C in penalised  # C = C₀ + P, the cost the playground shows, not C₀ alone
    for settings in ({"regularization": "l2", "regularization_rate": 0.0}, {}):
        page = explanation_html(playground(**settings))
        assert f"<title>{title}</title>" in page and "The cost carries a penalty" not in page


def test_the_page_has_no_script():
    page = explanation_html(playground())
    assert page.lstrip().lower().startswith("<!doctype html") and "<script" not in page.lower()


def test_an_example_explain_cannot_derive_is_refused_with_its_reason():
    p = playground(hidden=[2], seed=1)
    p.model.layers[0].weight.data[0, 0] = np.inf                         # as after an overflow
    with pytest.raises(BadInput) as caught:
        explanation_html(p)
    assert caught.value.status == 422
    assert str(caught.value).startswith("no derivation for this example: explain: 1 of the 4 entries of W¹")
