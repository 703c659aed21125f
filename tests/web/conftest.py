"""Fixtures for the playground's tests: an API client as the page is one and a small session in it; for the
browser tests, a live server in a thread, headless Debian chromium, a folder for screenshots (reported at the
end of the run).

Without chromium or playwright the browser tests skip with the reason, unless CHAINRULE_REQUIRE_BROWSER=1
(as CI sets): then they fail.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import SMALL, page_client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
_written: list[Path] = []


@pytest.fixture
def client():
    """The playground's API (at most 4 sessions) through Starlette's test client, sending what the page sends."""
    return page_client(capacity=4)


@pytest.fixture
def session(client) -> dict:
    """A new session of the SMALL settings: its state, with the data."""
    answer = client.post("/api/sessions", json={"config": SMALL})
    assert answer.status_code == 201
    return answer.json()


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CHAINRULE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(f"browser test skipped: {reason}")


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The playground served by uvicorn on 127.0.0.1 at a free port, for the duration of the module."""
    import uvicorn

    from chainrule.web import create_app
    from chainrule.web.server import bind

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the playground server did not start within 20 s")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium driven by playwright (never a browser that playwright downloads)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _skip_or_fail(f"playwright is not importable ({error}); pip install playwright")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _skip_or_fail(f"{CHROMIUM} is missing; install it with: apt-get install -y chromium")
    from playwright.sync_api import Error as PlaywrightError

    with sync_playwright() as driver:
        try:
            launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            _skip_or_fail(f"{CHROMIUM} did not start: {str(error).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def screenshot():
    """save(page, name): a full-page PNG under test-artifacts/web/, reported at the end of the run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _written.append(path)
        return path
    return save


def pytest_terminal_summary(terminalreporter) -> None:
    if _written:
        terminalreporter.write_line(f"playground screenshots ({len(_written)}): {ARTIFACTS}")
