"""The second version's API: input features, the L1/L2 penalty, the regression data set, heat maps, the
optimiser's state after an update, softmax probabilities, editing a weight and the diagnosis; each new field
and its bounds (a 4xx naming what was wrong for anything out of range).
"""
from __future__ import annotations

import base64

import numpy as np
import pytest
from starlette.testclient import TestClient

from chainrule.optim import OPTIMIZERS
from chainrule.web import create_app

PAGE_HEADERS = {"X-Chainrule": "1"}
SMALL = {"n_points": 40, "hidden": [3], "activation": "tanh", "loss": "bce", "seed": 2}


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(capacity=8), base_url="http://127.0.0.1:8000", headers=PAGE_HEADERS)


def create(client, **config) -> dict:
    answer = client.post("/api/sessions", json={"config": {**SMALL, **config}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def url(state: dict, action: str = "") -> str:
    return f"/api/sessions/{state['session']}" + (f"/{action}" if action else "")


def walk(client, state: dict, update: bool = False) -> dict:
    for action in ["forward"] * state["L"] + ["backward"] * state["L"] + (["update"] if update else []):
        answer = client.post(url(state, "step"), json={"action": action})
        assert answer.status_code == 200, answer.text
    return answer.json()






def test_features_make_the_inputs_and_the_url_order_does_not_matter(client):
    state = create(client, features=["sin_x2", "x1", "x1x2"])
    assert state["config"]["features"] == ["x1", "x1x2", "sin_x2"] and state["sizes"][0] == 3
    x1, x2 = state["example"]["x"]
    assert np.allclose(state["example"]["inputs"], [x1, x1 * x2, np.sin(x2)], rtol=0, atol=1e-15)
    assert state["input_names"] == ["x₁", "x₁x₂", "sin x₂"]


def test_heat_maps_decode_to_every_neurons_activation_over_the_plane(client):
    state = create(client)
    maps = state["heatmaps"]
    assert [len(layer) for layer in maps["layers"]] == state["sizes"] and maps["resolution"] == 32
    first = maps["layers"][1][0]
    values = np.frombuffer(base64.b64decode(first["data"]), dtype=np.int8) / 127 * first["scale"]
    xmin, xmax, ymin, ymax = state["boundary"]["extent"]
    grid = np.stack(np.meshgrid(np.linspace(xmin, xmax, 32), np.linspace(ymin, ymax, 32)), axis=-1).reshape(-1, 2)
    W, b = np.array(state["weights"]["W"][1]), np.array(state["weights"]["b"][1])
    expected = np.tanh(grid @ W.T + b)[:, 0]
    assert np.max(np.abs(values - expected)) <= first["scale"] / 127      # one step of the 8-bit scale


def test_the_penalty_is_a_term_of_the_cost_on_the_weights_not_the_biases(client):
    for kind, share in (("l2", lambda w: 0.05 * w), ("l1", lambda w: 0.05 * np.sign(w))):
        state = walk(client, create(client, regularization=kind, regularization_rate=0.05))
        p = state["pass"]
        for l in (1, 2):
            W, delta, a = np.array(p["W"][l]), np.array(p["delta"][l]), np.array(p["a"][l - 1])
            assert np.allclose(p["dW_penalty"][l], share(W), rtol=1e-12, atol=0)
            assert np.allclose(p["dW"][l], np.outer(delta, a) + share(W), rtol=1e-12, atol=1e-15)
            assert np.allclose(p["db"][l], delta, rtol=1e-12, atol=0)                  # biases: no penalty
        assert p["cost"] > p["data_cost"]


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "rmsprop"])
def test_an_update_reports_the_optimisers_own_state_and_the_step_it_took(client, optimizer):
    state = create(client, optimizer=optimizer, lr=OPTIMIZERS[optimizer].defaults["lr"])
    walk(client, state, update=True)
    state = walk(client, state, update=True)
    u, p = state["pass"]["update"], state["pass"]
    W_before, W_after, g = (np.array(v) for v in (p["W"][2], state["weights"]["W"][2], p["dW"][2]))
    entry = {k: np.array(v) for k, v in u["state"]["W"][2].items()}
    h, lr = u["hyperparameters"], u["lr"]
    if optimizer == "momentum":
        assert np.allclose(entry["velocity"], h["momentum"] * np.array(u["state_before"]["W"][2]["velocity"]) + g)
        step = lr * entry["velocity"]
    elif optimizer == "adam":
        assert entry["step"] == 2
        assert np.allclose(entry["m_hat"], entry["m"] / (1 - h["betas"][0] ** 2))
        step = lr * entry["m_hat"] / (np.sqrt(entry["v_hat"]) + h["eps"])
    else:
        step = lr * g / (np.sqrt(entry["square_avg"]) + h["eps"])
    assert np.allclose(W_after, W_before - step, rtol=1e-12, atol=1e-15)
    assert u["train_cost_after"] == state["metrics"]["train_loss"]
    assert u["cost_after"] < u["cost_before"]


def test_softmax_cross_entropy_sends_the_probabilities_and_delta_is_p_minus_t(client):
    state = walk(client, create(client, loss="ce"))
    p = state["pass"]
    probabilities = np.array(p["probabilities"])
    z = np.array(p["z"][2])
    assert np.allclose(probabilities, np.exp(z) / np.exp(z).sum(), rtol=1e-14)
    assert np.allclose(p["delta"][2], probabilities - np.array(state["example"]["t"]), rtol=0, atol=1e-15)


def test_the_regression_data_set_has_numbers_as_targets_and_a_linear_output(client):
    state = create(client, dataset="regression", loss="mse")
    assert state["activations"][-1] == "identity" and state["data"]["classes"] == 0
    assert state["metrics"]["train_accuracy"] is None and state["boundary"]["kind"] == "value"
    assert isinstance(state["data"]["train"]["y"][0], float)
    state = walk(client, state)
    a, t = state["pass"]["a"][2][0], state["example"]["t"][0]
    assert state["pass"]["cost"] == pytest.approx((a - t) ** 2, rel=1e-12)


def test_a_weight_edited_by_hand_is_used_by_both_passes(client):
    state = walk(client, create(client))
    answer = client.post(url(state, "weight"), json={"l": 2, "j": 0, "k": 1, "value": 1.5})
    state = answer.json()
    assert answer.status_code == 200 and state["edited"]
    p = state["pass"]
    assert p["phase"] == "backward" and p["W"][2][0][1] == 1.5 == state["weights"]["W"][2][0][1]
    assert np.allclose(p["dC_da"][1], np.array(p["W"][2]).T @ np.array(p["delta"][2]), rtol=1e-12)   # BP2 again
    state = client.post(url(state, "weight"), json={"l": 1, "j": 2, "value": -0.25}).json()
    assert state["weights"]["b"][1][2] == -0.25


@pytest.mark.parametrize("body, words", [
    ({"l": 0, "j": 0, "k": 0, "value": 1}, ["l must be a layer from 1 to 2"]),
    ({"l": 3, "j": 0, "k": 0, "value": 1}, ["l must be"]),
    ({"l": 1, "j": 3, "k": 0, "value": 1}, ["j must be a neuron of layer 1"]),
    ({"l": 1, "j": 0, "k": 2, "value": 1}, ["k must be a neuron of layer 0"]),
    ({"l": 1, "j": 0, "k": 0, "value": 101}, ["value", "between -100 and 100"]),
    ({"l": 1, "j": 0, "k": 0, "value": "1"}, ["value", "a number"]),
    ({"l": 1, "j": 0, "k": 0}, ["missing field 'value'"]),
    ({"l": 1, "j": 0, "k": 0, "value": 1, "bias": True}, ["unknown field 'bias'"]),
])
def test_a_weight_out_of_range_is_refused_naming_what(client, body, words):
    state = create(client)
    answer = client.post(url(state, "weight"), json=body)
    assert 400 <= answer.status_code < 500, answer.text
    for word in words:
        assert word in answer.json()["error"]
    assert client.get(url(state)).json()["weights"] == state["weights"]


def test_the_diagnosis_is_the_projects_and_comes_with_training(client):
    from chainrule.diagnose import VERDICTS

    state = create(client, lr=10.0, activation="sigmoid", seed=3)
    assert state["diagnosis"] is None
    state = client.post(url(state, "train"), json={"epochs": 25}).json()
    assert state["diagnosis"]["verdict"] in VERDICTS                      # after 20 epochs, by itself
    answer = client.post(url(state, "diagnose"), json={})
    assert answer.status_code == 200 and answer.json()["diagnosis"]["message"]
    assert client.post(url(state, "diagnose"), json={"now": 1}).status_code == 422


def test_the_model_downloads_as_a_file_that_predict_and_explain_read(client, tmp_path):
    from chainrule import io
    from chainrule.train import predict

    state = create(client, features=["x1", "x2", "x1sq"], hidden=[4])
    answer = client.get(url(state, "model"))
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    path = tmp_path / "model.npz"
    path.write_bytes(answer.content)
    model, metadata = io.load(path), io.metadata(path)
    assert metadata["features"] == ["x1", "x2", "x1sq"] and metadata["loss"] == "bce"
    a0 = np.array([state["example"]["inputs"]])
    assert predict(model, a0)[0, 0] == pytest.approx(
        1 / (1 + np.exp(-(np.array(state["weights"]["W"][2]) @ np.tanh(np.array(state["weights"]["W"][1]) @ a0[0]
                                                                         + state["weights"]["b"][1])
                          + state["weights"]["b"][2])[0])), rel=1e-12)


def test_a_diagnosis_goes_when_the_settings_or_the_weights_change(client):
    state = create(client, lr=10.0, activation="sigmoid", seed=3)
    state = client.post(url(state, "train"), json={"epochs": 25}).json()
    assert state["diagnosis"] is not None
    state = client.post(url(state, "config"), json={"config": {"lr": 0.1}}).json()
    assert state["diagnosis"] is None and state["metrics"]["epoch"] == 25          # same weights, no stale verdict
    state = client.post(url(state, "diagnose"), json={}).json()
    state = client.post(url(state, "weight"), json={"l": 1, "j": 0, "k": 0, "value": 0.5}).json()
    assert state["diagnosis"] is None
