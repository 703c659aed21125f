"""Specifications of chainrule.explain.explain: the BP1–BP4 derivation, its checks, and the worked 2-2-2 example."""
from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.explain import (
    GradientMismatchError,
    explain,
    load_spec,
    network,
    problem_from_spec,
    random_problem,
)
from chainrule.nn import MLP

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def hand_computed_two_two_two() -> dict:
    """The classic 2-2-2 example worked by hand with floats and math.exp (independent of chainrule)."""
    def s(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    x1, x2, t1, t2, lr = 0.05, 0.10, 0.01, 0.99, 0.5
    w1, w2, w3, w4, b1 = 0.15, 0.20, 0.25, 0.30, 0.35      # W¹ = [[w1, w2], [w3, w4]], b¹ = (b1, b1)
    w5, w6, w7, w8, b2 = 0.40, 0.45, 0.50, 0.55, 0.60      # W² = [[w5, w6], [w7, w8]], b² = (b2, b2)
    h1, h2 = s(w1 * x1 + w2 * x2 + b1), s(w3 * x1 + w4 * x2 + b1)
    o1, o2 = s(w5 * h1 + w6 * h2 + b2), s(w7 * h1 + w8 * h2 + b2)
    cost = 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2
    d_o1, d_o2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
    d_h1 = (w5 * d_o1 + w7 * d_o2) * h1 * (1 - h1)
    d_h2 = (w6 * d_o1 + w8 * d_o2) * h2 * (1 - h2)
    new = {
        "w¹₁₁": w1 - lr * d_h1 * x1, "w¹₁₂": w2 - lr * d_h1 * x2, "b¹₁": b1 - lr * d_h1,
        "w¹₂₁": w3 - lr * d_h2 * x1, "w¹₂₂": w4 - lr * d_h2 * x2, "b¹₂": b1 - lr * d_h2,
        "w²₁₁": w5 - lr * d_o1 * h1, "w²₁₂": w6 - lr * d_o1 * h2, "b²₁": b2 - lr * d_o1,
        "w²₂₁": w7 - lr * d_o2 * h1, "w²₂₂": w8 - lr * d_o2 * h2, "b²₂": b2 - lr * d_o2,
    }
    return {"cost": cost, "new": new}


def two_two_two():
    problem = load_spec(EXAMPLES / "two-two-two.json")
    return explain(problem.model, problem.x, problem.t, problem.loss, problem.lr)


def test_worked_example_equals_the_hand_computation_and_the_known_values():
    e = two_two_two()
    hand = hand_computed_two_two_two()
    assert e.derivation.cost == pytest.approx(hand["cost"], rel=1e-13)
    assert e.derivation.cost == pytest.approx(0.298371109, abs=1e-9)
    assert e.derivation.W_new[2][0, 0] == pytest.approx(0.35891648, abs=1e-8)
    for l in (1, 2):
        for j in (0, 1):
            for k in (0, 1):
                assert e.derivation.W_new[l][j, k] == pytest.approx(hand["new"][f"w{'¹²'[l - 1]}{'₁₂'[j]}{'₁₂'[k]}"],
                                                                    rel=1e-13)
            assert e.derivation.b_new[l][j] == pytest.approx(hand["new"][f"b{'¹²'[l - 1]}{'₁₂'[j]}"], rel=1e-13)


def test_cost_falls_after_one_step_of_the_worked_example():
    e = two_two_two()
    assert e.derivation.cost_after < e.derivation.cost
    assert e.checks.engine_cost_after == pytest.approx(e.derivation.cost_after, rel=1e-12)


def test_every_gradient_agrees_with_engine_and_finite_differences():
    e = two_two_two()
    assert e.checks.parameters == 12
    assert e.checks.max_diff_engine < 1e-14
    assert e.checks.max_diff_numeric < 1e-8
    for l in (1, 2):
        np.testing.assert_allclose(e.derivation.dW[l], e.checks.engine_dW[l], rtol=1e-12)
        np.testing.assert_allclose(e.derivation.db[l], e.checks.numeric_db[l], rtol=1e-5)


@pytest.mark.parametrize("activation", sorted(network.ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(network.COSTS))
def test_every_activation_and_cost_passes_its_checks(activation, loss):
    output = "sigmoid" if loss == "bce" else "identity" if loss == "ce" else activation
    model = MLP([3, 4, 3], activation=activation, output_activation=output, rng=1)
    t = 2 if loss == "ce" else [0.2, 0.7, 0.4]
    e = explain(model, [0.3, -0.8, 0.5], t, loss=loss, lr=0.1)
    assert e.checks.max_diff_engine < 1e-10
    assert e.checks.max_diff_numeric < 1e-5
    for l in (1, 2):  # the update is w − η·(the engine's gradient)
        np.testing.assert_allclose(e.derivation.W_new[l], e.derivation.W[l] - 0.1 * e.checks.engine_dW[l],
                                   rtol=1e-12, atol=1e-15)


def test_sigma_prime_is_the_engines_and_matches_each_formula():
    z = np.linspace(-3, 3, 13) + 0.05  # avoid the kink of relu at 0
    for name, activation in network.ACTIVATIONS.items():
        np.testing.assert_allclose(network.sigma_prime_of(name, z), activation.textbook_derivative(z), atol=1e-12)


def test_softmax_cross_entropy_output_error_is_probabilities_minus_targets():
    model = MLP([2, 3, 4], activation="tanh", output_activation=None, rng=3)
    e = explain(model, [0.5, -1.0], 1, loss="ce", lr=0.1)
    z = e.derivation.z[2][:, 0]
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(e.derivation.delta[2][:, 0], p - np.eye(4)[1], atol=1e-15)


def test_a_batch_sums_per_example_gradients_for_half_sum_and_averages_them_for_mse():
    model = MLP([2, 3, 1], rng=4, output_activation="sigmoid")
    xs, ts = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
    for loss, combine in (("half_sum", np.sum), ("mse", np.mean)):
        batch = explain(model, xs, ts, loss=loss)
        singles = [explain(model, x, [t], loss=loss) for x, t in zip(xs, ts)]
        for l in (1, 2):
            expected = combine([s.derivation.dW[l] for s in singles], axis=0)
            np.testing.assert_allclose(batch.derivation.dW[l], expected, rtol=1e-12)


def test_deep_network_propagates_errors_through_every_layer():
    model = MLP([2, 3, 3, 3, 2], activation="tanh", output_activation="sigmoid", rng=5)
    e = explain(model, [0.1, -0.4], [0.0, 1.0])
    assert e.L == 4
    assert all(np.any(e.derivation.delta[l] != 0) for l in range(1, 5))
    assert e.checks.max_diff_engine < 1e-12


def test_the_model_is_left_unchanged():
    model = MLP([2, 2, 1], rng=6, output_activation="sigmoid")
    before = model.state_dict()
    explain(model, [1.0, 2.0], [1.0])
    after = model.state_dict()
    assert all(np.array_equal(before[name], after[name]) for name in before)
    assert all(p.grad is None for p in model.parameters())


def test_a_wrong_derivation_fails_loudly(monkeypatch):
    wrong = dataclasses.replace(network.COSTS["half_sum"], gradient=lambda a, t: 2.0 * (a - t))
    monkeypatch.setitem(network.COSTS, "half_sum", wrong)
    problem = load_spec(EXAMPLES / "two-two-two.json")
    with pytest.raises(GradientMismatchError, match="engine"):
        explain(problem.model, problem.x, problem.t, "half_sum", 0.5)


@pytest.mark.parametrize("kwargs, message", [
    ({"x": [1.0]}, "needs 2 numbers"),
    ({"t": [1.0, 2.0, 3.0]}, "needs 2 numbers"),
    ({"loss": "hinge"}, "unknown loss"),
    ({"lr": -1}, "positive"),
    ({"x": [float("nan"), 1.0]}, "NaN"),
    ({"loss": "bce", "t": [2.0, 0.0]}, "between 0 and 1"),
    ({"loss": "ce", "t": 5}, "class labels"),
    ({"x": [[1, 2], [3, 4]], "t": [[0, 1]]}, "2 inputs but 1 targets"),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    model = MLP([2, 2, 2], rng=0, output_activation="sigmoid")
    arguments = {"x": [0.1, 0.2], "t": [0.0, 1.0], "loss": "half_sum", "lr": 0.5, **kwargs}
    with pytest.raises(ValueError, match=message):
        explain(model, arguments.pop("x"), arguments.pop("t"), **arguments)


def test_large_networks_are_refused():
    with pytest.raises(ValueError, match="small networks"):
        explain(MLP([64, 32, 10], rng=0), np.zeros(64), np.zeros(10))


@pytest.mark.parametrize("change, message", [
    ({"W": [[[0.1, 0.2]], [[0.3, 0.4]]]}, r"W\[2\] has shape"),
    ({"oops": 1}, "unknown key"),
    ({"activation": None}, "activation must be text"),
    ({"activation": "cubic"}, "unknown activation"),
    ({"b": [[0.0]]}, "one vector per layer"),
])
def test_bad_specs_are_refused(change, message):
    spec = {"activation": "sigmoid", "output_activation": "sigmoid", "W": [[[0.1, 0.2]], [[0.3]]],
            "b": [[0.0], [0.0]], "x": [1, 2], "t": [1]}
    with pytest.raises(ValueError, match=message):
        problem_from_spec({**spec, **change})


def test_spec_must_name_both_activations():
    with pytest.raises(ValueError, match="output_activation"):
        problem_from_spec({"activation": "sigmoid", "sizes": [1, 1], "x": [1], "t": [1]})


def test_sizes_and_seed_give_the_same_problem_twice():
    first, second = random_problem([2, 3, 1], seed=7), random_problem([2, 3, 1], seed=7)
    assert np.array_equal(first.x, second.x) and np.array_equal(first.t, second.t)
    assert np.array_equal(first.model.layers[0].weight.data, second.model.layers[0].weight.data)


@settings(max_examples=8)
@given(sizes=st.lists(st.integers(1, 3), min_size=2, max_size=4), seed=st.integers(0, 1000),
       activation=st.sampled_from(["sigmoid", "tanh", "softplus"]))
def test_random_networks_always_pass_their_checks(sizes, seed, activation):
    problem = random_problem(sizes, seed=seed, activation=activation)
    e = explain(problem.model, problem.x, problem.t, problem.loss, problem.lr)
    assert e.checks.max_diff_engine < 1e-10
    assert e.checks.parameters == sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))
