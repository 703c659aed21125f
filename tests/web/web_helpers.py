"""Shared helpers for the playground's tests: a client as the playground page is one, the small settings the API
tests use, a refusal check, a clock the tests move by hand, and a Playground stepped through one example.
"""
from __future__ import annotations

from starlette.testclient import TestClient

from chainrule.web import create_app
from chainrule.web.config import parse_config
from chainrule.web.playground import Playground

PAGE_HEADERS = {"X-Chainrule": "1"}   # what the playground page sends with every request
PAGE_ORIGIN = "http://127.0.0.1:8000"
SMALL = {"n_points": 40, "hidden": [3], "activation": "tanh", "loss": "bce", "seed": 2}
# The compute layer's tests: 40 points, half of them for training.
SMALL_PLAYGROUND = {"n_points": 40, "train_fraction": 0.5}


def page_client(app=None, **create) -> TestClient:
    """A client that sends what the playground page sends, to `app` (default: create_app(**create))."""
    return TestClient(app if app is not None else create_app(**create), base_url=PAGE_ORIGIN, headers=PAGE_HEADERS)


def url(session: dict, action: str = "") -> str:
    return f"/api/sessions/{session['session']}" + (f"/{action}" if action else "")


def refused(answer, status: int, *words: str) -> str:
    """The error message of a refusal with `status`, checked to contain each of `words`."""
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    for word in words:
        assert word in message, message
    return message


class Clock:
    """A monotonic clock that only moves when a test sets `now`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def playground(**settings) -> Playground:
    return Playground(parse_config({**SMALL_PLAYGROUND, **settings}))


def full_trace(p: Playground):
    """Step the current example forward and backward through every layer; its Trace."""
    for _ in range(p.L):
        p.step("forward")
    for _ in range(p.L):
        p.step("backward")
    return p.step_through.trace
