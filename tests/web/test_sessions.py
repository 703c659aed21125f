"""The playground's sessions (`chainrule.web.sessions`): each belongs to the browser that created it; a browser
holds at most `per_client` and reuses its own longest-idle one, never another's; a session unused for
`idle_seconds` expires, one in use never does; a full server refuses with 429 and how long to wait instead of
evicting anyone; and one request at a time holds a session's lock.
"""
from __future__ import annotations

import math

import anyio
import pytest
from starlette.testclient import TestClient
from web_helpers import PAGE_HEADERS, PAGE_ORIGIN, SMALL, Clock, refused, url

from chainrule.web import create_app
from chainrule.web.sessions import ACTIVE_SECONDS, ServerFull, SessionStore


# ------------------------------------------------------------------------------------ through the API
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


# ------------------------------------------------------------------------------------ the store on its own
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



@pytest.mark.parametrize("name", ["capacity", "per_client", "idle_seconds"])
def test_a_store_without_room_is_refused_naming_the_setting(name):
    with pytest.raises(ValueError, match=f"SessionStore: {name} must be at least 1, got 0"):
        SessionStore(**{name: 0})


@pytest.mark.parametrize("wait, seconds", [(0.0, 1), (0.2, 1), (1.0, 1), (2.1, 3), (59.5, 60)])
def test_server_full_says_the_whole_seconds_to_wait_at_least_one(wait, seconds):
    error = ServerFull("full", retry_after=wait)
    assert error.status == 429 and error.retry_after == seconds and str(error) == "full"


def test_each_session_gets_its_own_unguessable_id_and_is_counted_by_owner():
    store = SessionStore(capacity=10, per_client=5)
    sessions = [store.add(owner, object()) for owner in ("alice", "alice", "bob")]
    ids = {s.id for s in sessions}
    assert len(ids) == 3 and all(len(i) >= 20 for i in ids)              # 16 random bytes, base64
    assert len(store) == 3 and store.owned_by("alice") == 2 and store.owned_by("bob") == 1 and store.owned_by("eve") == 0
    assert all(i in store for i in ids) and "made-up" not in store
    assert store.get(sessions[0].id, None) is None and store.get(sessions[0].id, "bob") is None
    assert store.get("made-up", "alice") is None and store.get(sessions[0].id, "alice") is sessions[0]


def test_a_full_server_says_when_its_first_idle_session_will_expire():
    clock = Clock()
    store = SessionStore(capacity=2, idle_seconds=600, clock=clock)
    first = store.add("alice", object())
    clock.now += 100
    store.add("bob", object())
    clock.now += 50
    with pytest.raises(ServerFull, match="full \\(2 sessions in use\\): try again in 450 s") as caught:
        store.add("carol", object())
    assert caught.value.retry_after == 450                                 # first: 600 − 150 s to go
    clock.now += 450
    store.add("carol", object())                                           # first expired, and made room
    assert first.id not in store and len(store) == 2 and store.expired == 1


def test_a_server_full_of_busy_sessions_asks_for_a_minutes_wait():
    clock = Clock()
    store = SessionStore(capacity=1, idle_seconds=600, clock=clock)
    session = store.add("alice", object())

    async def request() -> None:
        async with store.use(session):
            with pytest.raises(ServerFull) as caught:
                store.admit("bob")
            assert caught.value.retry_after == ACTIVE_SECONDS
    anyio.run(request)


def test_use_counts_the_session_busy_and_marks_it_used_when_done():
    clock = Clock()
    store = SessionStore(idle_seconds=600, clock=clock)
    session = store.add("alice", "the playground")

    async def request() -> None:
        async with store.use(session) as playground:
            assert playground == "the playground" and session.busy == 1
            clock.now += 900                                               # a long request
        assert session.busy == 0 and session.last_used == clock.now
    anyio.run(request)
    clock.now += 599
    assert store.get(session.id, "alice") is session                      # idle for 599 s only


def test_one_request_at_a_time_holds_a_sessions_lock():
    store = SessionStore()
    session = store.add("alice", object())
    events: list[str] = []

    async def request(name: str, hold: float) -> None:
        async with store.use(session):
            events.append(f"{name} in")
            await anyio.sleep(hold)
            events.append(f"{name} out")

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(request, "first", 0.05)
            await anyio.sleep(0.01)
            group.start_soon(request, "second", 0.0)
            await anyio.sleep(0.01)
            assert session.busy == 2                                       # one holds the lock, one waits
    anyio.run(main)
    assert events == ["first in", "first out", "second in", "second out"] and session.busy == 0


def test_a_busy_session_past_its_idle_time_is_still_found():
    clock = Clock()
    store = SessionStore(idle_seconds=60, clock=clock)
    session = store.add("alice", object())

    async def request() -> None:
        async with store.use(session):
            clock.now += 1000
            assert store.get(session.id, "alice") is session
    anyio.run(request)
    assert store.expired == 0
