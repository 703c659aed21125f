"""One example forward and back through the network by the engine (`chainrule.web.trace`): every per-layer number
the playground shows. They are checked three ways: against the equations (BP1–BP4 as NumPy identities between the
quantities), against `chainrule.explain` (an independent layer-by-layer NumPy derivation), and against the engine's
gradient of the cost with respect to the weights; then the weights' penalty, the cost without a graph, softmax's
probabilities and the JSON the page reads.
"""
from __future__ import annotations

import numpy as np
import pytest
from web_helpers import full_trace, playground

import chainrule as cr
from chainrule.explain.network import explain
from chainrule.nn import get_loss
from chainrule.nn.activations import ACTIVATIONS
from chainrule.web.trace import example_cost, penalty, penalty_gradients, sigma_prime, sum_of, trace_example

CASES = [
    {"activation": "sigmoid", "loss": "half_sum", "hidden": [2]},
    {"activation": "tanh", "loss": "bce", "hidden": [3, 2]},
    {"activation": "relu", "loss": "mse", "hidden": [4, 3, 2]},
    {"activation": "softplus", "loss": "ce", "hidden": [3]},
    {"activation": "leaky_relu", "loss": "ce", "hidden": []},
]


@pytest.mark.parametrize("settings", CASES, ids=lambda s: f"{s['activation']}-{s['loss']}-{len(s['hidden'])}")
def test_trace_obeys_the_four_equations(settings):
    p = playground(**settings, seed=3)
    t = full_trace(p)
    L = p.L
    x, _, _ = p.current_example()
    with cr.no_grad():
        assert np.allclose(t.a[L], np.asarray(p.model(x[None, :]).data)[0], rtol=0, atol=1e-14)
    for l in range(1, L + 1):
        assert np.allclose(t.z[l], t.W[l] @ t.a[l - 1] + t.b[l], atol=1e-14)                 # z = W a + b
        assert np.allclose(t.delta[l], t.dC_da[l] * t.sigma_prime[l], atol=1e-14)            # BP1, BP2 (⊙ σ')
        assert np.allclose(t.db[l], t.delta[l], atol=1e-14)                                  # BP3
        assert np.allclose(t.dW[l], np.outer(t.delta[l], t.a[l - 1]), atol=1e-14)            # BP4
        if l < L:
            assert np.allclose(t.dC_da[l], t.W[l + 1].T @ t.delta[l + 1], atol=1e-14)         # BP2's sum


@pytest.mark.parametrize("settings", CASES, ids=lambda s: f"{s['activation']}-{s['loss']}-{len(s['hidden'])}")
def test_trace_equals_the_independent_derivation_of_explain(settings):
    p = playground(**settings, seed=5)
    t = full_trace(p)
    x, t_explain = p.explanation_inputs()
    d = explain(p.model, x, t_explain, loss=p.config.loss, lr=p.config.lr).derivation
    assert t.cost == pytest.approx(d.cost, rel=1e-12, abs=1e-15)
    for l in range(1, p.L + 1):
        assert np.allclose(t.z[l], d.z[l][:, 0], rtol=1e-12, atol=1e-14)
        assert np.allclose(t.a[l], d.a[l][:, 0], rtol=1e-12, atol=1e-14)
        assert np.allclose(t.delta[l], d.delta[l][:, 0], rtol=1e-10, atol=1e-14)
        assert np.allclose(t.dW[l], d.dW[l], rtol=1e-10, atol=1e-14)
        assert np.allclose(t.db[l], d.db[l].reshape(-1), rtol=1e-10, atol=1e-14)


def test_weight_gradients_equal_the_engines_gradient_of_the_cost():
    p = playground(activation="tanh", loss="bce", hidden=[3, 3], seed=2)
    t = full_trace(p)
    x, _, target = p.current_example()
    weights = [np.array(layer.weight.data) for layer in p.model.layers]
    biases = [np.array(layer.bias.data) for layer in p.model.layers]

    def cost(*Ws):
        a = cr.tensor(x[None, :])
        for l, (W, b) in enumerate(zip(Ws, biases), start=1):
            a = cr.linear(a, W, b)
            a = cr.tanh(a) if l < len(Ws) else cr.sigmoid(a)
        return get_loss("bce")(a, target)

    grads = cr.grad(cost, argnums=tuple(range(len(weights))))(*weights)
    for l, g in enumerate(grads, start=1):
        assert np.allclose(t.dW[l], np.asarray(g), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind, rate", [("l1", 0.03), ("l2", 0.2)])
def test_with_a_penalty_and_features_the_gradients_equal_the_engines_gradient_of_the_whole_cost(kind, rate):
    p = playground(activation="tanh", loss="bce", hidden=[3], seed=2, features=["x1", "x2", "x1x2", "sin_x1"],
                   regularization=kind, regularization_rate=rate)
    t = full_trace(p)
    x, _, target = p.current_example()
    point = p.current_point()
    assert np.allclose(x, [point[0], point[1], point[0] * point[1], np.sin(point[0])], rtol=0, atol=1e-15)
    weights = [np.array(layer.weight.data) for layer in p.model.layers]
    biases = [np.array(layer.bias.data) for layer in p.model.layers]

    def cost(*Ws):
        a = cr.sigmoid(cr.linear(cr.tanh(cr.linear(cr.tensor(x[None, :]), Ws[0], biases[0])), Ws[1], biases[1]))
        penalty = sum((cr.abs(W).sum() * rate if kind == "l1" else (W * W).sum() * (rate / 2)) for W in Ws)
        return get_loss("bce")(a, target) + penalty

    grads = cr.grad(cost, argnums=(0, 1))(*weights)
    for l, g in enumerate(grads, start=1):
        assert np.allclose(t.dW[l], np.asarray(g), rtol=1e-12, atol=1e-15)
        share = rate * (np.sign(weights[l - 1]) if kind == "l1" else weights[l - 1])
        assert np.allclose(t.dW_penalty[l], share, rtol=1e-12, atol=0)
        assert np.allclose(t.dW[l], np.outer(t.delta[l], t.a[l - 1]) + share, rtol=1e-12, atol=1e-15)   # BP4 + λ…
        assert np.allclose(t.db[l], t.delta[l], rtol=0, atol=0)                                           # BP3 as is
    assert t.cost == pytest.approx(float(cost(*weights).item()), rel=1e-14)


def test_trace_leaves_the_gradients_of_the_example_in_the_parameters():
    p = playground(seed=4)
    x, _, target = p.current_example()
    t = trace_example(p.model, p.config.loss, x, target)
    for l, layer in enumerate(p.model.layers, start=1):
        assert np.array_equal(layer.weight.grad.data, t.dW[l])


# ------------------------------------------------------------------------------------ trace_example on its own
def test_tracing_twice_gives_the_same_gradients_not_their_sum():
    p = playground(hidden=[3], seed=7)
    x, _, target = p.current_example()
    first = trace_example(p.model, "bce", x, target)
    second = trace_example(p.model, "bce", x, target)
    for l in (1, 2):
        assert np.array_equal(second.dW[l], first.dW[l]) and np.array_equal(second.db[l], first.db[l])
        assert np.array_equal(p.model.layers[l - 1].weight.grad.data, first.dW[l])


def test_a_linear_output_has_a_equal_to_z_and_sigma_prime_one():
    p = playground(dataset="regression", loss="mse", hidden=[3], seed=1)
    x, label, target = p.current_example()
    t = trace_example(p.model, "mse", x, target)
    assert np.array_equal(t.a[2], t.z[2]) and np.array_equal(t.sigma_prime[2], [1.0])
    assert np.array_equal(t.delta[2], t.dC_da[2])
    assert t.cost == pytest.approx((t.a[2][0] - label) ** 2, rel=1e-14)                 # mse of one number
    assert t.delta[2][0] == pytest.approx(2 * (t.a[2][0] - label), rel=1e-14)          # ∂/∂a (a − t)²


def test_softmax_cross_entropy_keeps_the_probabilities_and_delta_is_p_minus_t():
    p = playground(loss="ce", hidden=[3], seed=2)
    x, label, target = p.current_example()
    t = trace_example(p.model, "ce", x, target)
    z = t.z[2]
    probabilities = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert np.allclose(t.probabilities, probabilities, rtol=1e-14, atol=0)
    assert np.allclose(t.delta[2], probabilities - np.eye(2)[label], rtol=0, atol=1e-15)
    assert t.cost == pytest.approx(-np.log(probabilities[label]), rel=1e-13)
    bce = playground(hidden=[3], seed=2)
    assert trace_example(bce.model, "bce", *bce.current_example()[::2]).probabilities is None


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"])
def test_sigma_prime_is_the_textbook_derivative(name):
    z = np.array([-2.0, -0.3, 0.4, 1.7])
    assert np.allclose(sigma_prime(name, z), ACTIVATIONS[name].textbook_derivative(z), rtol=1e-14, atol=0)


def test_sigma_prime_of_tanh_by_hand():
    z = np.array([0.0, 0.5, -1.0])
    assert np.allclose(sigma_prime("tanh", z), 1 - np.tanh(z) ** 2, rtol=1e-15, atol=0)
    assert sigma_prime("tanh", z)[0] == 1.0


# ------------------------------------------------------------------------------------ the penalty on the weights
@pytest.mark.parametrize("kind, rate", [("l1", 0.3), ("l2", 0.2)])
def test_the_penalty_sums_every_layers_weights_and_not_the_biases(kind, rate):
    p = playground(hidden=[3, 2], seed=4)
    weights = [np.array(layer.weight.data) for layer in p.model.layers]
    expected = (rate * sum(np.abs(W).sum() for W in weights) if kind == "l1"
                else 0.5 * rate * sum((W ** 2).sum() for W in weights))
    assert float(penalty(p.model, kind, rate).item()) == pytest.approx(expected, rel=1e-14)
    for layer in p.model.layers:
        layer.bias.data[...] = 50.0                       # the biases do not count
    assert float(penalty(p.model, kind, rate).item()) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("kind, rate", [("none", 0.5), ("l2", 0.0), ("l1", 0)])
def test_no_penalty_without_a_kind_or_a_rate(kind, rate):
    p = playground(hidden=[3], seed=4)
    assert penalty(p.model, kind, rate) is None
    gradients = penalty_gradients(p.model, kind, rate)
    assert gradients[0] is None
    assert [g.shape for g in gradients[1:]] == [layer.weight.shape for layer in p.model.layers]
    assert all(not g.any() for g in gradients[1:])


def test_the_penaltys_gradient_is_rate_times_w_or_its_sign():
    p = playground(hidden=[3], seed=4)
    weights = [np.array(layer.weight.data) for layer in p.model.layers]
    for l, W in enumerate(weights, start=1):
        assert np.allclose(penalty_gradients(p.model, "l2", 0.1)[l], 0.1 * W, rtol=1e-14, atol=0)
        assert np.allclose(penalty_gradients(p.model, "l1", 0.1)[l], 0.1 * np.sign(W), rtol=1e-14, atol=0)


def test_the_cost_is_the_data_cost_plus_the_penalty():
    p = playground(hidden=[3], seed=5)
    x, _, target = p.current_example()
    plain = trace_example(p.model, "bce", x, target)
    t = trace_example(p.model, "bce", x, target, "l2", 0.25)
    assert t.data_cost == plain.cost == plain.data_cost
    assert t.cost == pytest.approx(plain.cost + float(penalty(p.model, "l2", 0.25).item()), rel=1e-14)
    assert np.array_equal(t.db[1], plain.db[1]) and np.array_equal(t.delta[2], plain.delta[2])


@pytest.mark.parametrize("regularization, rate", [("none", 0.0), ("l1", 0.05), ("l2", 0.3)])
def test_example_cost_equals_the_traced_cost_and_leaves_the_gradients_alone(regularization, rate):
    p = playground(hidden=[4], seed=6)
    x, _, target = p.current_example()
    t = trace_example(p.model, "bce", x, target, regularization, rate)
    cost = example_cost(p.model, "bce", x, target, regularization, rate)
    assert cost == pytest.approx(t.cost, rel=1e-15)
    assert np.array_equal(p.model.layers[0].weight.grad.data, t.dW[1])     # no backward pass of its own


def test_sum_of_adds_its_terms_and_is_none_for_none():
    assert sum_of([]) is None
    assert sum_of(iter([1.5, 2.0, -0.5])) == 3.0
    assert float(sum_of([cr.tensor(2.0), cr.tensor(3.0)]).item()) == 5.0


# ------------------------------------------------------------------------------------ the JSON the page reads
def test_to_json_lists_every_number_and_the_norm_of_each_delta():
    p = playground(hidden=[3], seed=8)
    x, _, target = p.current_example()
    t = trace_example(p.model, "bce", x, target, "l1", 0.1)
    sent = t.to_json()
    assert sent["W"][0] is None and sent["W"][1] == t.W[1].tolist() and sent["dW_penalty"][2] == t.dW_penalty[2].tolist()
    assert sent["delta_norm"] == [None] + [float(np.sqrt(np.sum(d ** 2))) for d in t.delta[1:]]
    assert sent["cost"] == t.cost and sent["data_cost"] == t.data_cost and sent["probabilities"] is None
    assert all(isinstance(v, float) for v in sent["a"][1])
    ce = playground(loss="ce", hidden=[2], seed=8)
    x, _, target = ce.current_example()
    sent = trace_example(ce.model, "ce", x, target).to_json()
    assert len(sent["probabilities"]) == 2 and sum(sent["probabilities"]) == pytest.approx(1.0, rel=1e-15)
