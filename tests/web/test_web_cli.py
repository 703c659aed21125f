"""`chainrule serve`: its help shows an example, and a port it cannot use is one line and exit status 2."""
from __future__ import annotations

import socket

import pytest

from chainrule.cli import main
from chainrule.web.server import bind, url_for


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
