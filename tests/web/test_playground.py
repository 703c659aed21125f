"""The playground's compute layer: the step-through reveals one layer at a time and refuses steps out of order,
an update moves the weights by the optimiser's rule, training learns and stops when its cost overflows, and new
settings keep or rebuild the network. The per-layer numbers of one example are specified in test_trace.py.
"""
from __future__ import annotations

import numpy as np
import pytest
from web_helpers import full_trace, playground

from chainrule.web.config import MAX_UPDATES_PER_REQUEST, BadInput, parse_config
from chainrule.web.playground import MAX_HISTORY, Conflict, History, Playground


def test_training_with_l2_shrinks_the_weights_that_the_data_does_not_need():
    plain, shrunk = (playground(hidden=[4], seed=3, regularization=kind, regularization_rate=rate)
                     for kind, rate in (("none", 0.0), ("l2", 0.05)))
    for p in (plain, shrunk):
        p.train(20)
    norm = lambda p: sum(float(np.sum(np.asarray(layer.weight.data) ** 2)) for layer in p.model.layers)
    assert norm(shrunk) < norm(plain)


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
