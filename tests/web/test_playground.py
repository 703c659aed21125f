"""The playground's compute layer: every number it shows is the engine's, and the step-through obeys BP1–BP4.

The per-layer numbers of one example are checked three ways: against the equations (BP1–BP4 as NumPy
identities between the quantities), against `chainrule.explain` (an independent layer-by-layer NumPy
derivation), and against the engine's gradient of the cost with respect to the weights.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain.network import explain
from chainrule.nn import get_loss
from chainrule.web.config import MAX_UPDATES_PER_REQUEST, BadInput, parse_config
from chainrule.web.datasets import make_split, noisy_xor
from chainrule.web.playground import MAX_HISTORY, Conflict, History, Playground
from chainrule.web.trace import trace_example

SMALL = {"n_points": 40, "train_fraction": 0.5}


def playground(**settings) -> Playground:
    return Playground(parse_config({**SMALL, **settings}))


def full_trace(p: Playground):
    for _ in range(p.L):
        p.step("forward")
    for _ in range(p.L):
        p.step("backward")
    return p.step_through.trace


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


def test_training_with_l2_shrinks_the_weights_that_the_data_does_not_need():
    plain, shrunk = (playground(hidden=[4], seed=3, regularization=kind, regularization_rate=rate)
                     for kind, rate in (("none", 0.0), ("l2", 0.05)))
    for p in (plain, shrunk):
        p.train(20)
    norm = lambda p: sum(float(np.sum(np.asarray(layer.weight.data) ** 2)) for layer in p.model.layers)
    assert norm(shrunk) < norm(plain)


def test_trace_leaves_the_gradients_of_the_example_in_the_parameters():
    p = playground(seed=4)
    x, _, target = p.current_example()
    t = trace_example(p.model, p.config.loss, x, target)
    for l, layer in enumerate(p.model.layers, start=1):
        assert np.array_equal(layer.weight.grad.data, t.dW[l])


def test_step_through_reveals_one_layer_at_a_time():
    p = playground(hidden=[3, 2], seed=1)
    L = p.L
    p.step("forward")
    state = p.state()["pass"]
    assert state["phase"] == "forward" and state["a"][1] is not None and state["a"][2] is None
    assert state["cost"] is None and all(d is None for d in state["delta"])
    for _ in range(L - 1):
        p.step("forward")
    state = p.state()["pass"]
    assert state["a"][L] is not None and state["cost"] == pytest.approx(p.step_through.trace.cost)
    p.step("backward")
    state = p.state()["pass"]
    assert state["delta"][L] is not None and state["dW"][L] is not None
    assert state["delta"][L - 1] is None and state["dW"][L - 1] is None


@pytest.mark.parametrize("actions, refused", [
    ([], "backward"),
    ([], "update"),
    (["forward"], "backward"),
    (["forward", "forward"], "forward"),
    (["forward", "forward", "backward"], "update"),
    (["forward", "forward", "backward", "backward"], "backward"),
    (["forward", "forward", "backward"], "forward"),
])
def test_a_step_in_the_wrong_phase_is_refused_with_a_conflict(actions, refused):
    p = playground(hidden=[2], seed=1)
    for action in actions:
        p.step(action)
    with pytest.raises(Conflict) as caught:
        p.step(refused)
    assert caught.value.status == 409 and str(caught.value)


def test_the_network_does_not_learn_from_a_test_example():
    p = playground(hidden=[2], seed=1)
    p.choose_example("test", 0)
    full_trace(p)
    before = p.model.state_dict()
    with pytest.raises(Conflict, match="training examples only"):
        p.step("update")
    assert all(np.array_equal(before[name], value) for name, value in p.model.state_dict().items())


def test_an_unknown_action_is_refused():
    with pytest.raises(BadInput, match="action must be one of"):
        playground().step("sideways")


def test_plain_sgd_update_moves_every_weight_by_minus_lr_times_its_gradient():
    p = playground(hidden=[3], optimizer="sgd", lr=0.3, seed=6)
    t = full_trace(p)
    p.step("update")
    for l, layer in enumerate(p.model.layers, start=1):
        assert np.allclose(layer.weight.data, t.W[l] - 0.3 * t.dW[l], rtol=0, atol=1e-15)
        assert np.allclose(layer.bias.data, t.b[l] - 0.3 * t.db[l], rtol=0, atol=1e-15)
    update = p.state()["pass"]["update"]
    assert update["plain_sgd"] and update["cost_after"] < update["cost_before"]
    assert p.updates == 1 and p.history.updates[-1] == 1


def test_training_noisy_xor_reaches_full_test_accuracy():
    p = Playground(parse_config({"dataset": "xor", "noise": 0.1, "n_points": 80, "seed": 1}))
    for _ in range(10):
        p.train(20)
        if p.history.test_accuracy[-1] == 1.0:
            break
    assert p.history.test_accuracy[-1] == 1.0
    assert p.history.train_loss[-1] < p.history.train_loss[0]


def test_a_cost_that_overflows_stops_training_and_keeps_finite_weights():
    p = playground(dataset="gaussians", noise=1.0, activation="leaky_relu", loss="ce", hidden=[8] * 6, lr=10.0,
                   batch_size=1, seed=0)
    p.train(3)
    assert p.notice is not None and "smaller learning rate" in p.notice and p.epoch == 0
    assert all(np.all(np.isfinite(layer.weight.data)) for layer in p.model.layers)


def test_too_many_epochs_for_one_request_are_refused():
    p = playground(batch_size=1)
    most = p.max_epochs_per_request()
    assert most * 20 <= MAX_UPDATES_PER_REQUEST < (most + 1) * 20  # 20 training points, one update each
    with pytest.raises(BadInput, match="epochs must be"):
        p.train(most + 1)
    big = Playground(parse_config({"n_points": 1000, "train_fraction": 0.9, "batch_size": 1}))
    assert big.max_epochs_per_request() == 1  # one epoch (900 updates) is always allowed


def test_new_training_settings_keep_the_weights_and_new_network_settings_rebuild():
    p = playground(seed=2)
    p.train(2)
    before = p.model.layers[0].weight.data.copy()
    p.reconfigure(parse_config({"lr": 0.1, "optimizer": "adam"}, base=p.config))
    assert np.array_equal(p.model.layers[0].weight.data, before) and p.epoch == 2
    p.reconfigure(parse_config({"hidden": [5]}, base=p.config))
    assert p.model.sizes == [2, 5, 1] and p.epoch == 0 and len(p.history.updates) == 1


def test_choosing_an_example_restarts_the_step_through_and_checks_the_index():
    p = playground()
    p.step("forward")
    p.choose_example("test", 3)
    assert p.step_through.phase == "idle" and p.state()["example"]["split"] == "test"
    with pytest.raises(BadInput, match="index must be"):
        p.choose_example("test", 10_000)
    with pytest.raises(BadInput, match="split must be"):
        p.choose_example("validation", 0)


def test_history_is_thinned_past_its_limit_and_keeps_the_newest_point():
    h = History()
    for i in range(MAX_HISTORY + 5):
        h.add(updates=i, epoch=i, train_loss=float(i), test_loss=float(i), train_accuracy=0.5, test_accuracy=0.5)
    assert len(h.updates) <= MAX_HISTORY and h.updates[-1] == MAX_HISTORY + 4 and h.updates[0] == 0
    assert h.updates == sorted(h.updates)


def test_noisy_xor_labels_each_point_by_its_corner():
    X, y = noisy_xor(400, 0.0, seed=0)
    assert np.array_equal(y, np.logical_xor(X[:, 0] > 0.5, X[:, 1] > 0.5).astype(int))
    assert set(np.bincount(y)) == {200}


def test_the_split_has_the_asked_sizes_and_is_seeded():
    config = parse_config({"dataset": "moons", "n_points": 100, "train_fraction": 0.7, "seed": 9})
    a, b = make_split(config), make_split(config)
    assert len(a.y_train) == 70 and len(a.y_test) == 30
    assert np.array_equal(a.X_train, b.X_train)


@pytest.mark.parametrize("settings, named", [
    ({"hidden": [2] * 7}, "hidden"),
    ({"hidden": [9]}, "hidden[0]"),
    ({"hidden": [0]}, "hidden[0]"),
    ({"hidden": "4,4"}, "hidden"),
    ({"n_points": 5000}, "n_points"),
    ({"n_points": 10.5}, "n_points"),
    ({"lr": 0}, "lr"),
    ({"lr": 11}, "lr"),
    ({"lr": "0.1"}, "lr"),
    ({"batch_size": 0}, "batch_size"),
    ({"noise": -0.1}, "noise"),
    ({"seed": True}, "seed"),
    ({"dataset": "mnist"}, "dataset"),
    ({"activation": "__import__('os')"}, "activation"),
    ({"colour": "red"}, "unknown setting"),
])
def test_a_setting_out_of_bounds_is_refused_naming_it(settings, named):
    with pytest.raises(BadInput) as caught:
        parse_config(settings)
    assert named in str(caught.value) and caught.value.status == 422
