"""The playground's HTTP API, through Starlette's test client: every endpoint, the bounds, and the 4xx answers.

A bad request always gets a 4xx status and a JSON body {"error": "..."} whose message says what was wrong.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.testclient import TestClient

import chainrule as cr
from chainrule.nn import get_loss
from chainrule.web import create_app
from chainrule.web.config import MAX_BODY_BYTES

SMALL = {"n_points": 40, "hidden": [3], "activation": "tanh", "loss": "bce", "seed": 2}


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(capacity=4), base_url="http://127.0.0.1:8000")


@pytest.fixture
def session(client) -> dict:
    answer = client.post("/api/sessions", json={"config": SMALL})
    assert answer.status_code == 201
    return answer.json()


def url(session: dict, action: str = "") -> str:
    return f"/api/sessions/{session['session']}" + (f"/{action}" if action else "")


def refused(answer, status: int, *words: str) -> str:
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    for word in words:
        assert word in message, message
    return message


# ------------------------------------------------------------------------------------ every endpoint
def test_the_page_and_its_static_files_are_served_with_a_content_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="static/js/main.js"' in page.text and "http" not in page.text.split("<body>")[0]
    for name in ("js/main.js", "js/network.js", "js/formulas.js", "js/plots.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    refused(client.get("/static/nothing.js"), 404, "not found")


def test_options_list_the_choices_bounds_and_defaults(client):
    options = client.get("/api/options").json()
    assert "xor" in options["datasets"] and "ce" in [loss["name"] for loss in options["losses"]]
    assert options["limits"]["hidden_layers"] == [0, 6] and options["defaults"]["dataset"] == "xor"


def test_a_new_session_returns_its_state_with_the_data(session):
    assert session["sizes"] == [2, 3, 1] and session["L"] == 2
    assert len(session["data"]["train"]["x"]) == 20 and len(session["data"]["test"]["y"]) == 20
    assert session["pass"]["phase"] == "idle" and session["history"]["updates"] == [0]
    assert np.shape(session["boundary"]["probability"]) == (48, 48)


def test_a_session_can_be_read_back_with_or_without_data(client, session):
    without = client.get(url(session)).json()
    assert "data" not in without and without["weights"] == session["weights"]
    assert "data" in client.get(url(session) + "?data=1").json()


def test_step_forward_backward_and_update_follow_the_phases(client, session):
    phases = [client.post(url(session, "step"), json={"action": a}).json()["pass"]["phase"]
              for a in ("forward", "forward", "backward", "backward", "update")]
    assert phases == ["forward", "forward", "backward", "backward", "updated"]
    refused(client.post(url(session, "step"), json={"action": "backward"}), 409, "step forward first")


def test_the_numbers_of_the_api_equal_the_engines(client, session):
    for action in ("forward", "forward", "backward", "backward"):
        state = client.post(url(session, "step"), json={"action": action}).json()
    p, e = state["pass"], state["example"]
    W = [None] + [np.array(w) for w in p["W"][1:]]
    b = [None] + [np.array(v) for v in p["b"][1:]]
    x = np.array(e["x"])

    def cost(W1, b1, W2, b2):
        a1 = cr.tanh(cr.linear(cr.tensor(x[None, :]), W1, b1))
        return get_loss("bce")(cr.sigmoid(cr.linear(a1, W2, b2)), np.array([e["t"]]))

    grads = cr.grad(cost, argnums=(0, 1, 2, 3))(W[1], b[1], W[2], b[2])
    assert np.allclose(p["dW"][1], grads[0], atol=1e-14) and np.allclose(p["db"][1], grads[1], atol=1e-14)
    assert np.allclose(p["dW"][2], grads[2], atol=1e-14) and np.allclose(p["db"][2], grads[3], atol=1e-14)
    assert p["cost"] == pytest.approx(float(cost(W[1], b[1], W[2], b[2]).item()), rel=1e-14)
    assert np.allclose(p["dW"][2][0][1], p["a"][1][1] * p["delta"][2][0], atol=1e-15)  # BP4 for w^2_12


def test_picking_an_example_restarts_the_step_through(client, session):
    client.post(url(session, "step"), json={"action": "forward"})
    state = client.post(url(session, "example"), json={"split": "test", "index": 4}).json()
    assert state["example"]["split"] == "test" and state["example"]["index"] == 4
    assert state["example"]["x"] == session["data"]["test"]["x"][4] and state["pass"]["phase"] == "idle"
    refused(client.post(url(session, "example"), json={"split": "test", "index": 20}), 422, "index")


def test_training_adds_to_the_history_and_lowers_the_cost(client, session):
    state = client.post(url(session, "train"), json={"epochs": 30}).json()
    assert state["metrics"]["epoch"] == 30 and len(state["history"]["updates"]) == 31
    assert state["metrics"]["train_loss"] < session["metrics"]["train_loss"]
    most = state["limits"]["max_epochs_per_request"]
    refused(client.post(url(session, "train"), json={"epochs": most + 1}), 422, "epochs")
    refused(client.post(url(session, "train"), json={"epochs": "10"}), 422, "epochs")


def test_config_changes_rebuild_or_keep_the_network(client, session):
    kept = client.post(url(session, "config"), json={"config": {"lr": 0.05}}).json()
    assert kept["weights"] == session["weights"] and kept["config"]["lr"] == 0.05
    rebuilt = client.post(url(session, "config"), json={"config": {"hidden": [4, 2]}}).json()
    assert rebuilt["sizes"] == [2, 4, 2, 1] and rebuilt["config"]["lr"] == 0.05


def test_reset_draws_the_same_weights_from_the_seed_and_clears_the_history(client, session):
    client.post(url(session, "train"), json={"epochs": 3})
    state = client.post(url(session, "reset")).json()
    assert state["weights"] == session["weights"] and state["history"]["updates"] == [0]


def test_the_explain_link_gives_the_derivation_of_the_current_example(client, session):
    client.post(url(session, "example"), json={"split": "train", "index": 3})
    page = client.get(url(session, "explain"))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "train example #3" in page.text and "<math" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


# ------------------------------------------------------------------------------------ bounds and 4xx answers
@pytest.mark.parametrize("config, words", [
    ({"hidden": [4] * 7}, ["hidden"]),
    ({"hidden": [100]}, ["hidden[0]", "8"]),
    ({"n_points": 100000}, ["n_points", "1000"]),
    ({"lr": 1e9}, ["lr"]),
    ({"batch_size": -1}, ["batch_size"]),
    ({"loss": "os.system"}, ["loss"]),
    ({"shell": "rm -rf /"}, ["unknown setting"]),
])
def test_oversized_or_unknown_settings_are_refused(client, config, words):
    refused(client.post("/api/sessions", json={"config": config}), 422, *words)


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, ["not valid JSON"]),
    (b"[1, 2]", 400, ["JSON object"]),
    (b'{"config": {"lr": NaN}}', 400, ["NaN"]),
    (b"[" * 5000 + b"]" * 5000, 400, ["JSON"]),
    (b'{"config": {}, "extra": 1}', 422, ["unknown field 'extra'"]),
    (b"\xff\xfe", 400, ["not valid JSON"]),
])
def test_bad_json_is_refused_with_a_clear_message(client, body, status, words):
    answer = client.post("/api/sessions", content=body, headers={"content-type": "application/json"})
    refused(answer, status, *words)


def test_an_oversized_body_is_refused_before_it_is_parsed(client):
    body = json.dumps({"config": {"dataset": "x" * (MAX_BODY_BYTES + 1)}})
    refused(client.post("/api/sessions", content=body, headers={"content-type": "application/json"}), 413, "larger")


def test_a_body_that_is_not_json_typed_is_refused(client):
    answer = client.post("/api/sessions", content=b'{"config": {}}', headers={"content-type": "text/plain"})
    refused(answer, 415, "Content-Type: application/json")


def test_unknown_sessions_paths_and_methods_answer_in_json(client, session):
    refused(client.post("/api/sessions/nope/step", json={"action": "forward"}), 404, "no such session")
    refused(client.get("/api/nothing"), 404, "not found")
    refused(client.delete(url(session)), 405, "DELETE")


def test_missing_or_unknown_fields_are_named(client, session):
    refused(client.post(url(session, "step"), json={}), 422, "missing field 'action'")
    refused(client.post(url(session, "step")), 400, "needs a JSON object")
    refused(client.post(url(session, "step"), json={"action": "forward", "eval": "1"}), 422, "unknown field 'eval'")
    refused(client.post(url(session, "reset"), json={"anything": 1}), 422, "takes no fields")


def test_requests_for_another_host_name_are_refused(client):
    assert client.get("/api/options", headers={"host": "attacker.example"}).status_code == 400


def test_the_number_of_sessions_is_bounded(client):
    ids = [client.post("/api/sessions", json={"config": {"n_points": 20}}).json()["session"] for _ in range(5)]
    assert client.get(f"/api/sessions/{ids[0]}").status_code == 404      # capacity 4: the oldest is gone
    assert all(client.get(f"/api/sessions/{i}").status_code == 200 for i in ids[1:])


def test_an_unexpected_error_is_a_json_500_and_the_server_keeps_serving(monkeypatch):
    app = create_app()
    client = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    created = client.post("/api/sessions", json={"config": SMALL}).json()

    def broken(self, action):
        raise ArithmeticError("broken on purpose")
    monkeypatch.setattr("chainrule.web.playground.Playground.step", broken)
    refused(client.post(url(created, "step"), json={"action": "forward"}), 500, "broken on purpose")
    assert client.get(url(created)).status_code == 200
