"""Specification of `explain` at the edges: a cost of 0, confident outputs, kinks, diverged models, the biases."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.cli import main
from chainrule.explain import FORMATS, explain, load_problem, problem_from_spec, random_problem, render
from chainrule.explain.network import GradientMismatchError
from chainrule.nn import MLP

WORKED = str(Path(__file__).resolve().parents[2] / "examples" / "two-two-two.json")


def one_neuron(W, b, x, t, loss="half_sum", output="identity", hidden=None):
    spec = {"activation": hidden or "identity", "output_activation": output, "W": W, "b": b, "x": x, "t": t,
            "loss": loss}
    return problem_from_spec(spec)


@pytest.mark.parametrize("loss", ["half_sum", "mse"])
def test_a_cost_of_exactly_zero_is_explained_in_every_format(loss):
    p = one_neuron([[[1.0]]], [[0.0]], [0.5], [0.5], loss)
    e = explain(p.model, p.x, p.t, p.loss)
    assert e.derivation.cost == 0 and e.derivation.cost_after == 0
    for format_ in FORMATS:
        assert "it is already 0, so every gradient is 0" in render(e, format_).replace("\n", " ").replace("  ", " ")


def test_a_very_confident_softmax_output_uses_the_shifted_log_and_agrees_with_the_engine():
    p = one_neuron([[[100.0], [-100.0]]], [[0.0, 0.0]], [5.0], 0, "ce")
    e = explain(p.model, p.x, p.t, p.loss)  # p_2 = e^(−1000) underflows to 0: 0·ln 0 would be NaN
    assert np.isfinite(e.derivation.cost) and e.derivation.cost == pytest.approx(e.checks.engine_cost, abs=1e-12)
    assert "shifted form" in render(e, "markdown")
    p = one_neuron([[[100.0], [-100.0]]], [[0.0, 0.0]], [5.0], 1, "ce")  # confidently wrong: cost 1000, finite
    assert explain(p.model, p.x, p.t, p.loss).derivation.cost == pytest.approx(1000.0)


def test_a_saturated_sigmoid_output_under_bce_uses_the_engines_clip_and_says_so():
    p = one_neuron([[[100.0]]], [[0.0]], [5.0], [1.0], "bce", output="sigmoid")  # σ(500) = 1.0 exactly
    e = explain(p.model, p.x, p.t, p.loss)
    assert e.derivation.cost == pytest.approx(e.checks.engine_cost)
    assert e.derivation.dW[1][0, 0] == 0.0  # the clip passes no gradient, in the engine and here
    assert "clipped to [ε, 1 − ε]" in render(e, "terminal")


def test_a_relu_exactly_at_its_kink_is_not_a_false_mismatch():
    p = one_neuron([[[1.0]], [[1.0]]], [[0.0], [0.0]], [0.0], [1.0], hidden="relu")  # z¹ = 0
    e = explain(p.model, p.x, p.t, p.loss)
    assert len(e.checks.kinks) == 1 and "kink" in e.checks.kinks[0] and "relu′(0) = 0" in e.checks.kinks[0]
    assert e.checks.max_diff_numeric < 1e-6  # the kink is not counted as a difference
    assert "kink" in render(e, "html")


def test_a_real_mismatch_still_fails(monkeypatch):
    import chainrule.explain.network as network
    p = one_neuron([[[0.3]], [[0.7]]], [[0.1], [0.2]], [0.5], [1.0], hidden="sigmoid", output="sigmoid")
    monkeypatch.setitem(network.COSTS, "half_sum", network.COSTS["half_sum"].__class__(
        "half_sum", "wrong", network.COSTS["half_sum"].value, lambda a, t: 2 * (a - t), "sum"))
    with pytest.raises(GradientMismatchError):
        explain(p.model, p.x, p.t, "half_sum")


def test_a_diverged_model_gets_one_line_and_no_failed_check(tmp_path):
    import chainrule
    model = MLP([2, 2, 1], activation="sigmoid", output_activation="sigmoid", rng=0)
    model.layers[0].weight.data[...] = np.nan
    with pytest.raises(ValueError) as error:  # from Python: a model that diverged in the caller's own loop
        explain(model, [0.0, 1.0], [1.0], "half_sum")
    message = str(error.value)
    assert "\n" not in message and "NaN or infinite" in message and "diverged" in message
    with pytest.raises(ValueError, match="diverged"):  # such weights never reach a model file
        chainrule.save(model, tmp_path / "diverged.npz")


def test_an_overflowing_forward_pass_is_said_in_words():
    p = one_neuron([[[1e200]], [[1e200]]], [[0.0], [0.0]], [1e200], [1.0], hidden="identity")
    with pytest.raises(ValueError, match="is not a finite number"):
        explain(p.model, p.x, p.t, p.loss)


def mazur_cost_after(fixed_biases: bool) -> float:
    """The 2-2-2 example's cost after one step, by NumPy written out here (independent of chainrule)."""
    def s(z):
        return 1 / (1 + np.exp(-z))
    W1, W2 = np.array([[.15, .2], [.25, .3]]), np.array([[.4, .45], [.5, .55]])
    b1, b2, x, t = np.array([.35, .35]), np.array([.6, .6]), np.array([.05, .1]), np.array([.01, .99])
    h = s(W1 @ x + b1)
    o = s(W2 @ h + b2)
    d2 = (o - t) * o * (1 - o)
    d1 = (W2.T @ d2) * h * (1 - h)
    W1, W2 = W1 - 0.5 * np.outer(d1, x), W2 - 0.5 * np.outer(d2, h)
    if not fixed_biases:
        b1, b2 = b1 - 0.5 * d1, b2 - 0.5 * d2
    return 0.5 * float(np.sum((t - s(W2 @ s(W1 @ x + b1) + b2)) ** 2))


def test_fixed_biases_moves_only_the_weights_and_the_default_says_it_moves_the_biases(capsys):
    p = load_problem(WORKED)
    e = explain(p.model, p.x, p.t, p.loss, p.lr, fixed_biases=True)
    assert e.derivation.cost_after == pytest.approx(mazur_cost_after(True), rel=1e-14)
    assert all(np.array_equal(e.derivation.b_new[l], e.derivation.b[l]) for l in (1, 2))
    # the published 0.291027924 is the arithmetic of carrying δ¹ through the already updated W²
    assert f"{e.cost_after_sequential_update():.9g}" == "0.291027924"
    assert main(["explain", WORKED]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "chainrule updates the biases as well as the weights" in out
    assert f"would be {mazur_cost_after(True):.8g}" in out
    assert main(["explain", WORKED, "--fixed-biases"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"gives {mazur_cost_after(False):.8g}" in out and "gets 0.291027924" in out


def test_delta_sizes_per_layer_are_rms_over_neurons_and_examples_and_shrink_for_sigmoid(capsys):
    p = random_problem([2, 8, 8, 8, 8, 1], seed=0)
    e = explain(p.model, p.x, p.t, p.loss, p.lr)
    sizes = e.delta_sizes()
    assert list(sizes) == ["sigmoid", "tanh", "relu"]
    assert sizes["sigmoid"] == pytest.approx([float(np.sqrt(np.mean(e.derivation.delta[l] ** 2)))
                                              for l in range(1, 6)], rel=1e-15)
    assert all(a < b for a, b in zip(sizes["sigmoid"], sizes["sigmoid"][1:]))  # smaller towards the input
    assert sizes["sigmoid"][0] / sizes["sigmoid"][-1] < sizes["tanh"][0] / sizes["tanh"][-1]
    assert main(["explain", "--sizes", "2", "8", "8", "8", "8", "1"]) == 0
    out = capsys.readouterr().out
    assert "‖δˡ‖, sigmoid (this network)" in out and "‖δˡ‖, tanh" in out and "‖δˡ‖, relu" in out
    assert main(["explain", WORKED]) == 0
    assert "vanishing" not in capsys.readouterr().out  # only for networks with 3 or more layers



def test_a_deep_half_sum_explanation_sets_the_articles_rule_beside_bp2(capsys):
    from chainrule.explain.lessons import compare_with_article
    p = random_problem([2, 3, 2, 1], seed=0)
    c = compare_with_article(explain(p.model, p.x, p.t, p.loss, p.lr))
    assert main(["explain", "--sizes", "2", "3", "2", "1"]) == 0
    out = capsys.readouterr().out
    assert "A step-by-step article's rule beside BP2" in out
    assert f"{c.layers[0].size_ratio:.8g}" in out and "σ′(z³) σ′(z²)" in out


@pytest.mark.parametrize(("spec", "words"), [
    ({"sizes": [2, 2, 1, 2], "activation": "leaky_relu", "output_activation": "sigmoid",  # z¹₁ = 0: a small kink
      "W": [[[-0.252, 0.5], [0.0, 0.5]], [[-0.205, 0.0]], [[0.0], [-0.5]]], "b": [[0.0, -0.0758], [-0.407],
      [0.0, 0.0437]], "x": [0.0, 0.0], "t": 1, "loss": "ce", "lr": 10.0}, "C has a kink here"),
    ({"sizes": [2, 2, 1], "activation": "tanh", "output_activation": "sigmoid",  # a = 1 − 9e-14: steps are lost
      "W": [[[-27.46, -30.0], [9.306, -30.0]], [[0.0, 30.0]]], "b": [[-17.05, 0.0], [0.0]], "x": [0.0, -1.0],
      "t": [0.0], "loss": "bce", "lr": 0.5}, "C does not change at all in float64"),
])
def test_a_finite_difference_that_cannot_check_a_gradient_is_said_and_is_not_a_failed_check(spec, words):
    p = problem_from_spec(spec)
    e = explain(p.model, p.x, p.t, p.loss, p.lr)
    assert any(words in note for note in e.checks.kinks)
    np.testing.assert_allclose(e.derivation.dW[1], e.checks.engine_dW[1], rtol=1e-8, atol=1e-10)


@st.composite
def awkward_specs(draw):
    """Small networks with weights that saturate, sit at kinks (0) or are ordinary, for every activation and cost."""
    from chainrule.nn.activations import ACTIVATIONS
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    loss = draw(st.sampled_from(["half_sum", "mse", "bce", "ce"]))
    if loss == "ce":
        sizes[-1] = max(sizes[-1], 2)
    number = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 30.0, -30.0]), st.floats(-3, 3))
    W = [[[draw(number) for _ in range(sizes[l])] for _ in range(sizes[l + 1])] for l in range(len(sizes) - 1)]
    b = [[draw(number) for _ in range(sizes[l + 1])] for l in range(len(sizes) - 1)]
    t = (draw(st.integers(0, sizes[-1] - 1)) if loss == "ce"
         else [draw(st.sampled_from([0.0, 0.5, 1.0])) for _ in range(sizes[-1])])
    return {"sizes": sizes, "activation": draw(st.sampled_from(list(ACTIVATIONS))),
            "output_activation": "sigmoid" if loss == "bce" else draw(st.sampled_from(list(ACTIVATIONS))),
            "W": W, "b": b, "x": [draw(number) for _ in range(sizes[0])], "t": t, "loss": loss,
            "lr": draw(st.sampled_from([0.1, 0.5, 10.0]))}


@settings(max_examples=60, deadline=None)
@given(awkward_specs())
def test_no_correct_gradient_is_ever_reported_as_a_failed_check(spec):
    p = problem_from_spec(spec)
    e = explain(p.model, p.x, p.t, p.loss, p.lr)  # raises GradientMismatchError on a failed check
    for format_ in ("terminal", "html"):
        render(e, format_)
