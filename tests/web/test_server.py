"""`chainrule serve`: its help shows an example, a port it cannot use is one line and exit status 2, and a server
bound to an IPv6 address answers requests for it."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from chainrule.cli import main
from chainrule.web.server import allowed_hosts_for, bind, make_server, url_for


def test_serve_help_shows_the_defaults_and_an_example(capsys):
    status = main(["serve", "--help"])
    out = capsys.readouterr().out
    assert status == 0
    assert "127.0.0.1" in out and "--open" in out and "example:" in out and "chainrule serve" in out


def test_a_busy_port_is_one_line_and_exit_status_2(capsys):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        status = main(["serve", "--port", str(busy.getsockname()[1])])
    finally:
        busy.close()
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "cannot listen on 127.0.0.1" in err


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_port_out_of_range_is_refused(port, capsys):
    assert main(["serve", "--port", port]) == 2
    assert "port" in capsys.readouterr().err


def test_the_server_binds_to_loopback_by_default():
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    assert url_for("0.0.0.0", 8000) == "http://127.0.0.1:8000/" and url_for("::1", 80) == "http://[::1]:80/"


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@contextmanager
def running(host: str) -> Iterator[str]:
    """A real playground server bound to host at a free port, in a thread; yields its URL (no trailing slash)."""
    server, sock, url = make_server(host, 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield url.rstrip("/")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (the Host check of [::1] is "
                                                 "covered by test_security.py)")
def test_a_server_bound_to_ipv6_loopback_answers_requests_for_its_own_address():
    with running("::1") as url, httpx.Client(base_url=url, headers={"X-Chainrule": "1", "Origin": url}) as client:
        assert url.startswith("http://[::1]:")
        assert client.get("/").status_code == 200 and client.get("/api/options").status_code == 200
        created = client.post("/api/sessions", json={"config": {"n_points": 20}})
        assert created.status_code == 201, created.text
        assert client.get(f"/api/sessions/{created.json()['session']}").status_code == 200   # the cookie came back


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1", ["127.0.0.1", "localhost", "::1"]),
    ("::1", ["127.0.0.1", "localhost", "::1"]),
    ("[::1]", ["127.0.0.1", "localhost", "::1"]),
    ("playground.local", ["127.0.0.1", "localhost", "::1", "playground.local"]),
    ("0.0.0.0", ["*"]),
    ("::", ["*"]),
])
def test_the_host_names_answered_follow_the_bound_address(host, allowed):
    assert allowed_hosts_for(host) == allowed


@pytest.mark.parametrize("value", ["0", "-3", "1000000"])
def test_a_max_sessions_out_of_range_is_refused_in_one_line(value, capsys):
    assert main(["serve", "--max-sessions", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-sessions" in err
