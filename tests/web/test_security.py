"""The server's front door (`chainrule.web.security`): it answers only to the host names it serves (IPv6 literals
in brackets, any port), refuses a state change that may come from another site (another origin, a browser's
Sec-Fetch-Site, or a request without the page's X-Chainrule header), puts nosniff, a content policy and the other
security headers on every response, and turns an unhandled exception into a logged 500 that tells the client
nothing. First through the application, then the middleware and its parsing on their own.
"""
from __future__ import annotations

import logging

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient
from web_helpers import PAGE_HEADERS, PAGE_ORIGIN, SMALL, refused, url

from chainrule.web import create_app
from chainrule.web.security import (
    CSRF_HEADER,
    DATA_POLICY,
    INTERNAL_ERROR,
    PAGE_POLICY,
    FrontDoor,
    content_policy,
    cross_site_reason,
    host_allowed,
    same_origin,
    split_host,
    with_security_headers,
)


# ------------------------------------------------------------------------------------ through the application
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


# ------------------------------------------------------------------------------------ the parsing of hosts and origins
@pytest.mark.parametrize("authority, parsed", [
    ("127.0.0.1", ("127.0.0.1", None)),
    ("LocalHost:8000", ("localhost", 8000)),
    ("[::1]:8000", ("::1", 8000)),
    ("[::1]", ("::1", None)),
    (" example.org:65535 ", ("example.org", 65535)),
    ("example.org:65536", None),
    ("example.org:0080000", None),                # more than five digits
    ("example.org:", None),
    ("example.org:8o", None),
    ("::1", None),                                # an IPv6 literal needs brackets
    ("[::1", None),
    ("[::1]8000", None),
    ("[]:80", None),
    (":80", None),
    ("", None),
])
def test_split_host_reads_a_name_and_an_optional_port(authority, parsed):
    assert split_host(authority) == parsed


names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,30}[A-Za-z0-9])?", fullmatch=True)
ports = st.none() | st.integers(min_value=0, max_value=65535)


def authority(name: str, port: int | None) -> str:
    return name + ("" if port is None else f":{port}")


@given(names, ports)
def test_any_host_name_with_any_port_reads_back_lower_cased(name, port):
    assert split_host(authority(name, port)) == (name.lower(), port)
    assert split_host(authority(f"[{name}]", port)) == (name.lower(), port)          # brackets are taken off
    assert split_host(authority(name, 65536 + (port or 0))) is None


@given(names, ports, st.sampled_from(["http", "https"]))
def test_a_page_is_always_of_the_origin_its_host_header_names(name, port, scheme):
    host = authority(name, port)
    assert same_origin(f"{scheme}://{host}", scheme, host)
    assert not same_origin(f"{scheme}://{host}", {"http": "https", "https": "http"}[scheme], host)
    assert not same_origin(f"{scheme}://{host}.attacker.example", scheme, host)


def test_allowed_hosts_match_by_name_on_any_port_and_star_allows_any_well_formed_one():
    assert host_allowed("LOCALHOST:1234", ["localhost"]) and host_allowed("[::1]:80", ["[::1]"])
    assert not host_allowed("localhost.attacker.example", ["localhost"])
    assert host_allowed("anything.example:8000", ["*"]) and not host_allowed("[::1", ["*"])
    assert not host_allowed("", ["*"])


@pytest.mark.parametrize("origin, scheme, host, same", [
    ("http://example.org", "http", "example.org:80", True),          # the default port, said or not
    ("https://example.org:443", "https", "example.org", True),
    ("http://[::1]:8000", "http", "[::1]:8000", True),
    ("HTTP://LOCALHOST:8000", "http", "localhost:8000", True),
    ("http://example.org:8080", "http", "example.org", False),
    ("https://example.org", "http", "example.org", False),            # another scheme
    ("http://example.org/path", "http", "example.org", False),
    ("null", "http", "example.org", False),
    ("http://example.org", "http", "not a host:x", False),
])
def test_same_origin_compares_scheme_name_and_port(origin, scheme, host, same):
    assert same_origin(origin, scheme, host) is same


def test_a_cross_site_reason_is_given_only_for_state_changes_and_names_the_fix():
    page = {"host": "127.0.0.1:8000", "x-chainrule": "1"}
    assert cross_site_reason("GET", "http", {"origin": "http://attacker.example"}) is None
    assert cross_site_reason("HEAD", "http", {}) is None
    assert cross_site_reason("POST", "http", page) is None
    assert cross_site_reason("POST", "http", {**page, "sec-fetch-site": "none"}) is None     # typed in the address bar
    assert cross_site_reason("PUT", "http", {"host": "127.0.0.1:8000"}) == \
        f"send the header {CSRF_HEADER}: 1 with every PUT (the playground page does)"
    assert cross_site_reason("POST", "http", {**page, "x-chainrule": "yes"}) is not None
    reason = cross_site_reason("POST", "http", {**page, "origin": "http://" + "a" * 100})
    assert reason.startswith("requests from another origin (http://aaa") and len(reason) < 140


def test_the_page_and_its_static_files_get_the_pages_policy_everything_else_the_datas():
    assert content_policy("/") == content_policy("/static/js/main.js") == PAGE_POLICY
    assert content_policy("/api/options") == content_policy("/staticfile") == DATA_POLICY
    assert "script" not in DATA_POLICY and "frame-ancestors 'none'" in DATA_POLICY


def test_security_headers_are_added_after_the_responses_own_and_never_replace_them():
    own = [(b"content-type", b"text/html"), (b"Content-Security-Policy", b"default-src 'self'")]
    headers = with_security_headers(own, DATA_POLICY)
    assert headers[:2] == own
    names = [name.lower() for name, _ in headers]
    assert names.count(b"content-security-policy") == 1
    assert dict(headers[2:]) == {b"x-content-type-options": b"nosniff", b"referrer-policy": b"no-referrer",
                                 b"cross-origin-resource-policy": b"same-origin", b"x-frame-options": b"DENY"}
    assert dict(with_security_headers([], PAGE_POLICY))[b"content-security-policy"] == PAGE_POLICY.encode()


# ------------------------------------------------------------------------------------ the middleware on its own
def http_scope(method: str = "GET", path: str = "/api/options", **headers: str) -> dict:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in {"host": "127.0.0.1:8000",
                                                                                    **headers}.items()]
    return {"type": "http", "method": method, "path": path, "scheme": "http", "headers": raw}


def through(door: FrontDoor, scope: dict) -> list[dict]:
    """The messages the front door sends for one request."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    anyio.run(door, scope, receive, send)
    return sent


async def hello(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_the_front_door_passes_a_good_request_and_adds_the_headers():
    start, body = through(FrontDoor(hello), http_scope())
    assert start["status"] == 200 and body["body"] == b"hello"
    assert dict(start["headers"])[b"content-security-policy"] == DATA_POLICY.encode()


def test_the_front_door_answers_for_the_app_and_never_calls_it_for_a_refused_request():
    calls = []

    async def app(scope, receive, send) -> None:
        calls.append(scope["path"])
        await hello(scope, receive, send)
    door = FrontDoor(app, allowed_hosts=["playground.local"])
    assert through(door, http_scope())[0]["status"] == 400                       # 127.0.0.1 is not allowed here
    assert through(door, http_scope("POST", host="playground.local"))[0]["status"] == 403
    assert through(door, http_scope("POST", host="playground.local", x_chainrule="1"))[0]["status"] == 200
    assert calls == ["/api/options"]


def test_scopes_other_than_http_go_straight_to_the_app():
    seen = []

    async def app(scope, receive, send) -> None:
        seen.append(scope["type"])
    through(FrontDoor(app, allowed_hosts=[]), {"type": "lifespan"})
    assert seen == ["lifespan"]


def test_an_exception_before_the_answer_is_a_500_and_after_it_is_raised(caplog):
    async def fails_first(scope, receive, send) -> None:
        raise KeyError("secret")

    async def fails_midway(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise KeyError("secret")
    with caplog.at_level(logging.ERROR, logger="chainrule.web"):
        start, body = through(FrontDoor(fails_first), http_scope(path="/"))
    assert start["status"] == 500 and body["body"] == f'{{"error": "{INTERNAL_ERROR}"}}'.encode()
    assert dict(start["headers"])[b"content-security-policy"] == PAGE_POLICY.encode()
    assert "GET / failed" in caplog.text and "secret" in caplog.text
    with pytest.raises(KeyError, match="secret"):
        through(FrontDoor(fails_midway), http_scope())                          # no second answer after the first
