"""The playground's HTTP API, through Starlette's test client: every endpoint, the bounds, and the 4xx answers;
then the server under abuse: diverged numbers, wrong types, the client cookie, one client's heavy training.
The front door (hosts, cross-site requests, headers) is specified in test_security.py, the sessions' caps and
expiry in test_sessions.py, the settings' bounds in test_config.py.

A bad request always gets a 4xx status and a JSON body {"error": "..."} whose message says what was wrong.
"""
from __future__ import annotations

import itertools
import json
import math

import anyio
import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient
from web_helpers import PAGE_HEADERS, PAGE_ORIGIN, SMALL, refused, url

import chainrule as cr
from chainrule.nn import get_loss
from chainrule.web import create_app
from chainrule.web.app import state_json
from chainrule.web.config import MAX_BODY_BYTES


# ------------------------------------------------------------------------------------ every endpoint
def test_the_page_and_its_static_files_are_served_with_a_content_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="static/js/main.js"' in page.text and "http" not in page.text.split("<body>")[0]
    for name in ("js/main.js", "js/network.js", "js/formulas.js", "js/plots.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    refused(client.get("/static/nothing.js"), 404, "not found")


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


# ------------------------------------------------------------------------------------ bounds and 4xx answers


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


# ------------------------------------------------------------------------------------ NaN and infinity are data
# A deep linear network with softmax cross-entropy at η = 10: a few one-example updates overflow its numbers.
DIVERGING = {"lr": 10, "activation": "identity", "loss": "ce", "optimizer": "sgd", "hidden": [8] * 6,
             "n_points": 40, "noise": 1.0, "seed": 1}


def diverge(client: TestClient) -> tuple[dict, dict]:
    """A new session stepped through updates at η = 10 until its numbers overflow: (session, the last state)."""
    session = client.post("/api/sessions", json={"config": DIVERGING}).json()
    L = session["L"]
    for i in range(20):
        client.post(url(session, "example"), json={"split": "train", "index": 7 * i % 20})
        for action in ["forward"] * L + ["backward"] * L + ["update"]:
            answer = client.post(url(session, "step"), json={"action": action})
            assert answer.status_code == 200, answer.text
        if answer.json()["diverged"]:
            return session, answer.json()
    pytest.fail("the network did not diverge at η = 10")


def numbers(value) -> list:
    """Every leaf of a JSON value."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in numbers(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in numbers(item)]
    return [value]


def test_nan_and_infinity_are_sent_as_the_strings_javascript_reads_back():
    state = {"cost": math.nan, "W": [[1.5, math.inf], [-math.inf, np.float64("nan")]], "b": np.array([math.inf])}
    sent = json.loads(state_json(state))
    assert sent == {"cost": "NaN", "W": [[1.5, "Infinity"], ["-Infinity", "NaN"]], "b": ["Infinity"],
                    "diverged": True}
    assert [float(v) for v in numbers(sent["W"])][1:3] == [math.inf, -math.inf]   # Number("Infinity") likewise
    assert json.loads(state_json({"cost": 0.25, "W": [[1.0]]})) == {"cost": 0.25, "W": [[1.0]], "diverged": False}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverged_session_answers_with_json_safe_numbers_and_stays_usable(client):
    session, state = diverge(client)
    assert state["diverged"] is True and state["metrics"]["train_loss"] in ("NaN", "Infinity")
    weights = [w for w in numbers(state["weights"]) if w is not None]      # W[0], b[0] are None
    assert all(isinstance(w, float) or w in ("NaN", "Infinity", "-Infinity") for w in weights)
    assert client.get(url(session)).json()["diverged"] is True
    refused(client.get(url(session, "explain")), 409, "diverged")
    trained = client.post(url(session, "train"), json={"epochs": 1})
    assert trained.status_code == 200 and "overflowed" in trained.json()["notice"]
    fresh = client.post(url(session, "reset"))
    assert fresh.status_code == 200 and fresh.json()["diverged"] is False
    assert all(math.isfinite(w) for w in numbers(fresh.json()["weights"]) if w is not None)


# ------------------------------------------------------------------------------------ every field's type is checked
VALID_BODIES = {"step": {"action": "forward"}, "example": {"split": "train", "index": 0}, "train": {"epochs": 1},
                "config": {"config": {}}}
FIELD_TYPES = [("step", "action", str), ("example", "split", str), ("example", "index", int),
               ("train", "epochs", int), ("config", "config", dict)]
WRONG_VALUES = [["forward"], {"action": "forward"}, 1, 2.5, True, None, "forward"]


def wrongly_typed(kind: type, value) -> bool:
    return isinstance(value, bool) or not isinstance(value, kind)


@pytest.mark.parametrize("route, name, value", [
    (route, name, value) for (route, name, kind), value in itertools.product(FIELD_TYPES, WRONG_VALUES)
    if wrongly_typed(kind, value)
])
def test_a_wrongly_typed_field_is_refused_naming_it(client, session, route, name, value):
    body = {**VALID_BODIES[route], name: value}
    answer = client.post(url(session, route), json=body)
    refused(answer, 422, repr(name), "must be")
    assert client.get(url(session)).status_code == 200          # and the session is untouched


@pytest.mark.parametrize("body", [{"config": []}, {"config": "xor"}, {"config": 3}, {"config": None}])
def test_a_new_session_with_a_wrongly_typed_config_is_refused(client, body):
    refused(client.post("/api/sessions", json=body), 422, "'config'", "must be an object")


def test_a_wrongly_typed_query_is_refused(client, session):
    refused(client.get(url(session) + "?data=[1]"), 422, "data must be 1 or 0")


# ------------------------------------------------------------------------------------ clients
def test_the_client_cookie_is_http_only_same_site_strict_and_issued_once(client):
    first = client.post("/api/sessions", json={"config": SMALL})
    cookie = first.headers["set-cookie"].lower()
    assert "chainrule_client=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "set-cookie" not in client.post("/api/sessions", json={"config": SMALL}).headers


def test_one_clients_training_does_not_hold_up_another_clients_requests(monkeypatch):
    """The training request waits until the other client's read has been answered: if training held up the
    server (the event loop, or a lock shared across sessions), that read could never be answered and the
    training would give up after 10 s. No clock is read, so a busy machine cannot make it flaky."""
    import threading

    from chainrule.web.playground import Playground

    app = create_app()
    read_answered = threading.Event()
    train = Playground.train

    def train_once_the_other_client_was_answered(self, epochs):
        assert read_answered.wait(timeout=10), "the other client's request was held up by this training"
        return train(self, epochs)

    monkeypatch.setattr(Playground, "train", train_once_the_other_client_was_answered)
    statuses: dict[str, int] = {}

    async def main() -> None:
        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PAGE_ORIGIN,
                                     headers=PAGE_HEADERS)
        async with browser() as trainer, browser() as reader:
            heavy = (await trainer.post("/api/sessions", json={"config": SMALL})).json()
            light = (await reader.post("/api/sessions", json={"config": SMALL})).json()

            async def training() -> None:
                statuses["train"] = (await trainer.post(url(heavy, "train"), json={"epochs": 1})).status_code

            async def read() -> None:
                await anyio.sleep(0.05)  # the training request is in by now (it is waiting, so no race either way)
                statuses["read"] = (await reader.get(url(light))).status_code
                read_answered.set()
            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    group.start_soon(training)
                    group.start_soon(read)
    anyio.run(main)
    assert statuses == {"read": 200, "train": 200}
