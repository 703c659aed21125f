"""`explain` with a penalty on the weights (the playground's L1 and L2): C = C₀ + P, every ∂C/∂w is BP4's
a·δ plus the penalty's share λ sign(w) or λ w (the biases get none), the update and the cost after the step
use the whole cost, and every number agrees with the engine's gradient of C₀ + P."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explain import explain, render

X, T = [0.5, -0.2], [1.0]


def model() -> cr.nn.MLP:
    return cr.nn.MLP([2, 3, 1], rng=0)


def engine_gradients(kind: str, rate: float) -> tuple[float, list[np.ndarray]]:
    """C and ∂C/∂W^l by the engine alone, with the penalty written out here (not chainrule's PENALTIES)."""
    m = model()
    C = 0.5 * ((cr.tensor([T]) - m(cr.tensor([X], dtype=np.float64))) ** 2).sum()
    for layer in m.layers:
        W = layer.weight
        C = C + (rate * cr.abs(W).sum() if kind == "l1" else 0.5 * rate * (W * W).sum())
    C.backward()
    return float(C.item()), [np.array(layer.weight.grad.data) for layer in m.layers]


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_the_gradient_of_each_weight_is_bp4_plus_the_penalty_share(kind) -> None:
    rate = 0.05
    plain = explain(model(), X, T)
    penalised = explain(model(), X, T, regularization=kind, regularization_rate=rate)
    cost, engine = engine_gradients(kind, rate)
    d, d0 = penalised.derivation, plain.derivation
    assert d.cost == pytest.approx(cost, rel=1e-12)
    for l in (1, 2):
        W = d.W[l]
        share = rate * (np.sign(W) if kind == "l1" else W)
        np.testing.assert_allclose(d.dW[l], d0.dW[l] + share, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(d.dW[l], engine[l - 1], rtol=1e-10, atol=1e-14)
        np.testing.assert_array_equal(d.db[l], d0.db[l])                  # the biases carry no penalty
        np.testing.assert_allclose(d.W_new[l], W - 0.5 * d.dW[l], rtol=1e-14)
    penalty = rate * sum(np.abs(d.W[l]).sum() if kind == "l1" else 0.5 * (d.W[l] ** 2).sum() for l in (1, 2))
    assert d.penalty == pytest.approx(penalty, rel=1e-12)
    assert d.cost == pytest.approx(d0.cost + penalty, rel=1e-12)
    assert d.cost_after == pytest.approx(penalised.checks.engine_cost_after, rel=1e-10)
    assert penalised.checks.max_diff_numeric < 1e-8


def test_no_penalty_and_a_zero_rate_are_the_plain_derivation() -> None:
    plain = explain(model(), X, T).derivation
    for kind, rate in (("none", 0.3), ("l2", 0.0)):
        d = explain(model(), X, T, regularization=kind, regularization_rate=rate).derivation
        assert d.cost == plain.cost and d.penalty == 0.0 and d.penalty_dW is None
        for l in (1, 2):
            np.testing.assert_array_equal(d.dW[l], plain.dW[l])


@pytest.mark.parametrize(("kind", "rate", "message"), [
    ("l3", 0.1, "unknown penalty 'l3'"), ("l2", -0.1, "finite number ≥ 0, got -0.1"),
    ("l1", float("nan"), "finite number ≥ 0"), ("l1", True, "finite number ≥ 0, got True"),
])
def test_a_bad_penalty_is_refused_naming_it(kind, rate, message) -> None:
    with pytest.raises(ValueError, match=message):
        explain(model(), X, T, regularization=kind, regularization_rate=rate)


@pytest.mark.parametrize("format_", ["terminal", "markdown", "latex", "html"])
def test_every_format_shows_the_penalty_in_the_cost_and_in_each_weight_gradient(format_) -> None:
    e = explain(model(), X, T, regularization="l2", regularization_rate=0.05)
    text = render(e, format_)
    assert "The cost carries a penalty P on the weights (L2" in text
    d = e.derivation
    if format_ == "terminal":
        assert f"C = C₀ + P = {d.cost - d.penalty:.8f} + {d.penalty:.6f}" in text
        assert "a⁰₁ δ¹₁ + ∂P/∂w" in text
    plain = render(explain(model(), X, T), format_)
    assert "The cost carries a penalty" not in plain


def test_the_command_explains_with_a_penalty_and_refuses_it_with_code(capsys) -> None:
    assert main(["explain", "--sizes", "2", "3", "1", "--regularization", "l1", "--regularization-rate", "0.1",
                 "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "penalty P on the weights (L1" in out and "λ = 0.1" in out
    assert main(["explain", "--sizes", "2", "3", "1", "--regularization", "l2", "--code"]) == 2
    assert "--code writes the step without a penalty" in capsys.readouterr().err
