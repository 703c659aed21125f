"""The playground's HTTP API, through Starlette's test client: every endpoint, the bounds, and the 4xx answers;
then the server under abuse: diverged numbers, wrong types, cross-site requests, capacity, hosts, headers.

A bad request always gets a 4xx status and a JSON body {"error": "..."} whose message says what was wrong.
"""
from __future__ import annotations

import itertools
import json
import logging
import math
import time

import anyio
import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

import chainrule as cr
from chainrule.nn import get_loss
from chainrule.web import create_app
from chainrule.web.app import state_json
from chainrule.web.config import MAX_BODY_BYTES
from chainrule.web.security import PAGE_POLICY
from chainrule.web.sessions import ACTIVE_SECONDS, ServerFull, SessionStore

PAGE_HEADERS = {"X-Chainrule": "1"}   # what the playground page sends with every request
SMALL = {"n_points": 40, "hidden": [3], "activation": "tanh", "loss": "bce", "seed": 2}


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(capacity=4), base_url="http://127.0.0.1:8000", headers=PAGE_HEADERS)


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


def test_an_unexpected_error_is_a_json_500_without_the_exception_text_and_it_is_logged(monkeypatch, caplog):
    client = TestClient(create_app(), base_url="http://127.0.0.1:8000", headers=PAGE_HEADERS)
    created = client.post("/api/sessions", json={"config": SMALL}).json()

    def broken(self, action):
        raise ArithmeticError("broken on purpose")
    monkeypatch.setattr("chainrule.web.playground.Playground.step", broken)
    with caplog.at_level(logging.ERROR, logger="chainrule.web"):
        answer = client.post(url(created, "step"), json={"action": "forward"})
    message = refused(answer, 500, "internal error", "server's log")
    assert "broken" not in answer.text and "ArithmeticError" not in message
    assert answer.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in answer.headers
    assert "broken on purpose" in caplog.text and "/step" in caplog.text        # the details stay server-side
    assert client.get(url(created)).status_code == 200


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


# ------------------------------------------------------------------------------------ cross-site requests
PAGE_ORIGIN = "http://127.0.0.1:8000"


def test_a_state_change_without_the_page_header_is_refused_and_changes_nothing():
    app = create_app()
    bare = TestClient(app, base_url=PAGE_ORIGIN)
    refused(bare.post("/api/sessions"), 403, "X-Chainrule: 1")                       # a POST with no body
    form = bare.post("/api/sessions", content=b"config=1", headers={"content-type": "text/plain"})
    refused(form, 403, "X-Chainrule")                                                 # what a <form> can send
    assert len(app.state.api.sessions) == 0
    assert bare.get("/api/options").status_code == 200                               # reading needs no header


@pytest.mark.parametrize("origin", ["http://attacker.example", "http://127.0.0.1:9999", "https://127.0.0.1:8000",
                                    "null", "http://127.0.0.1:8000.attacker.example", "http://localhost:8000"])
def test_a_state_change_from_another_origin_is_refused_even_with_the_header(client, session, origin):
    refused(client.post("/api/sessions", headers={"origin": origin}), 403, "another origin")
    refused(client.post(url(session, "step"), json={"action": "forward"}, headers={"origin": origin}), 403)
    assert client.get(url(session)).json()["pass"]["phase"] == "idle"


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_state_change_the_browser_marks_as_from_another_site_is_refused(client, site):
    refused(client.post("/api/sessions", headers={"sec-fetch-site": site}), 403, "another site")


def test_the_pages_own_origin_may_change_state(client):
    headers = {"origin": PAGE_ORIGIN, "sec-fetch-site": "same-origin"}
    assert client.post("/api/sessions", json={"config": SMALL}, headers=headers).status_code == 201


def test_a_cross_origin_preflight_is_never_granted(client):
    answer = client.options("/api/sessions", headers={"origin": "http://attacker.example",
                                                      "access-control-request-method": "POST",
                                                      "access-control-request-headers": "x-chainrule"})
    assert answer.status_code >= 400 and "access-control-allow-origin" not in answer.headers


# ------------------------------------------------------------------------------------ clients, caps and expiry
def test_the_client_cookie_is_http_only_same_site_strict_and_issued_once(client):
    first = client.post("/api/sessions", json={"config": SMALL})
    cookie = first.headers["set-cookie"].lower()
    assert "chainrule_client=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "set-cookie" not in client.post("/api/sessions", json={"config": SMALL}).headers


def test_a_session_belongs_to_the_browser_that_created_it(client, session):
    stranger = TestClient(client.app, base_url=PAGE_ORIGIN, headers=PAGE_HEADERS)
    refused(stranger.get(url(session)), 404, "no such session")
    refused(stranger.post(url(session, "step"), json={"action": "forward"}), 404, "no such session")
    assert client.get(url(session)).status_code == 200


def test_a_full_server_answers_429_with_retry_after_and_evicts_nobody():
    app = create_app(capacity=3)
    clients = [TestClient(app, base_url=PAGE_ORIGIN, headers=PAGE_HEADERS) for _ in range(4)]
    sessions = [c.post("/api/sessions", json={"config": SMALL}).json() for c in clients[:3]]
    full = clients[3].post("/api/sessions", json={"config": SMALL})
    refused(full, 429, "full", "try again")
    assert int(full.headers["retry-after"]) >= 1
    assert all(c.get(url(s)).status_code == 200 for c, s in zip(clients, sessions))


def test_a_browser_at_its_cap_gets_429_while_its_sessions_are_in_use(client):
    app = create_app(per_client=2)
    browser = TestClient(app, base_url=PAGE_ORIGIN, headers=PAGE_HEADERS)
    kept = [browser.post("/api/sessions", json={"config": SMALL}).json() for _ in range(2)]
    refused(browser.post("/api/sessions", json={"config": SMALL}), 429, "already has 2")
    assert all(browser.get(url(s)).status_code == 200 for s in kept)
    other = TestClient(app, base_url=PAGE_ORIGIN, headers=PAGE_HEADERS)
    assert other.post("/api/sessions", json={"config": SMALL}).status_code == 201


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_session_expires_and_a_used_one_does_not():
    clock = Clock()
    store = SessionStore(capacity=10, idle_seconds=600, clock=clock)
    idle, used = store.add("alice", object()), store.add("bob", object())
    for _ in range(3):
        clock.now += 300
        assert store.get(used.id, "bob") is used
    assert store.get(idle.id, "alice") is None and idle.id not in store and store.expired == 1
    assert store.get(used.id, "alice") is None and used.id in store     # the id alone is not enough


def test_a_session_in_use_is_never_removed_however_long_its_request_takes():
    clock = Clock()
    store = SessionStore(capacity=1, per_client=1, idle_seconds=60, clock=clock)
    session = store.add("alice", object())

    async def long_request() -> None:
        async with store.use(session):
            clock.now += 10_000
            with pytest.raises(ServerFull):
                store.admit("bob")            # full, and the busy session does not expire
            with pytest.raises(ServerFull):
                store.admit("alice")          # not even its own client may replace it
    anyio.run(long_request)
    assert session.id in store


def test_at_its_cap_a_browser_reuses_its_own_longest_idle_session_never_anothers():
    clock = Clock()
    store = SessionStore(capacity=10, per_client=2, idle_seconds=3600, clock=clock)
    old, recent = store.add("alice", object()), store.add("alice", object())
    neighbour = store.add("bob", object())
    clock.now += ACTIVE_SECONDS / 2
    store.get(recent.id, "alice")
    with pytest.raises(ServerFull) as caught:
        store.add("alice", object())
    assert caught.value.status == 429 and caught.value.retry_after == math.ceil(ACTIVE_SECONDS / 2)
    clock.now += ACTIVE_SECONDS / 2
    store.add("alice", object())
    assert old.id not in store and recent.id in store and neighbour.id in store and store.recycled == 1


def test_one_clients_training_does_not_hold_up_another_clients_requests():
    app = create_app()
    big = {"n_points": 1000, "train_fraction": 0.9, "hidden": [8] * 6, "batch_size": 1}
    done: dict[str, float] = {}

    async def main() -> None:
        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PAGE_ORIGIN,
                                     headers=PAGE_HEADERS)
        async with browser() as trainer, browser() as reader:
            heavy = (await trainer.post("/api/sessions", json={"config": big})).json()
            light = (await reader.post("/api/sessions", json={"config": SMALL})).json()

            async def train() -> None:
                epochs = heavy["limits"]["max_epochs_per_request"]
                assert (await trainer.post(url(heavy, "train"), json={"epochs": epochs})).status_code == 200
                done["train"] = time.perf_counter()

            async def read() -> None:
                await anyio.sleep(0.05)
                assert (await reader.get(url(light))).status_code == 200
                done["read"] = time.perf_counter()
            async with anyio.create_task_group() as group:
                group.start_soon(train)
                group.start_soon(read)
    anyio.run(main)
    assert done["read"] < done["train"]


# ------------------------------------------------------------------------------------ hosts and headers
@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "[::1]", "LOCALHOST"])
def test_every_loopback_name_is_answered_including_ipv6_literals(client, host):
    assert client.get("/api/options", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["attacker.example", "[::1", "::1:8000", "127.0.0.1:99999", "127.0.0.1:http",
                                  "[::2]:8000", ""])
def test_a_foreign_or_malformed_host_header_is_refused(client, host):
    refused(client.get("/api/options", headers={"host": host}), 400, "host name")


def test_every_response_says_nosniff_and_carries_a_content_policy(client, session):
    answers = {
        "page": client.get("/"), "script": client.get("/static/js/main.js"), "options": client.get("/api/options"),
        "state": client.get(url(session)), "derivation": client.get(url(session, "explain")),
        "not found": client.get("/api/nothing"), "wrong method": client.delete(url(session)),
        "bad host": client.get("/", headers={"host": "attacker.example"}),
        "cross-site": client.post("/api/sessions", headers={"origin": "http://attacker.example"}),
        "bad field": client.post(url(session, "step"), json={"action": 1}),
    }
    for name, answer in answers.items():
        assert answer.headers.get("x-content-type-options") == "nosniff", name
        policy = answer.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy and "http" not in policy and "*" not in policy, (name, policy)
    assert answers["options"].headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src 'self';" in PAGE_POLICY and "style-src-elem 'self';" in PAGE_POLICY
    assert "script" not in answers["derivation"].headers["content-security-policy"]
