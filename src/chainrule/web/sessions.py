"""The playground's sessions: each belongs to one client (a browser, known by a cookie the server issues).

Nothing is evicted while in use. A client holds at most `per_client` sessions; a session unused for `idle_seconds`
expires; a full server refuses new sessions (`ServerFull`, answered 429 with Retry-After) instead of dropping
someone else's. The store is used from the event loop only; each session's lock serialises its engine work.
"""
from __future__ import annotations

import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from .config import BadInput
from .playground import Playground

# A session used within this many seconds is in use: never removed, not even by its own client.
ACTIVE_SECONDS = 60.0


class ServerFull(BadInput):
    """No room for another session now: answered 429, with the seconds to wait in Retry-After."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, status=429)
        self.retry_after = max(1, math.ceil(retry_after))


@dataclass(eq=False)
class Session:
    """One client's playground, with the lock that lets one request at a time run its engine work."""
    id: str
    owner: str
    playground: Playground
    last_used: float
    busy: int = 0                                  # requests holding or waiting for the lock
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class SessionStore:
    """Sessions by id, owned by clients: per-client cap, idle expiry, a global cap; none evicted while in use."""

    def __init__(self, capacity: int = 256, per_client: int = 8, idle_seconds: float = 1800.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        for name, value in (("capacity", capacity), ("per_client", per_client), ("idle_seconds", idle_seconds)):
            if value < 1:
                raise ValueError(f"SessionStore: {name} must be at least 1, got {value}")
        self.capacity, self.per_client, self.idle_seconds = capacity, per_client, float(idle_seconds)
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self.expired = 0      # sessions removed after idle_seconds unused
        self.recycled = 0     # idle sessions replaced by a new one of the same client at its cap

    # ------------------------------------------------------------------------------------ admission
    def _expire(self, now: float) -> None:
        stale = [s.id for s in self._sessions.values() if not s.busy and now - s.last_used >= self.idle_seconds]
        for session_id in stale:
            del self._sessions[session_id]
        self.expired += len(stale)

    def admit(self, owner: str) -> None:
        """Make room for one more session of `owner`, or raise ServerFull saying how long to wait."""
        now = self.clock()
        self._expire(now)
        own = [s for s in self._sessions.values() if s.owner == owner]
        if len(own) >= self.per_client:
            self._recycle_or_refuse(own, now)
        if len(self._sessions) >= self.capacity:
            idle = [s for s in self._sessions.values() if not s.busy]
            wait = min((s.last_used + self.idle_seconds - now for s in idle), default=ACTIVE_SECONDS)
            raise ServerFull(f"the playground server is full ({self.capacity} sessions in use): try again "
                             f"in {max(1, math.ceil(wait))} s", retry_after=wait)

    def _recycle_or_refuse(self, own: list[Session], now: float) -> None:
        idle = [s for s in own if not s.busy]
        oldest = min(idle, key=lambda s: s.last_used, default=None)
        if oldest is not None and now - oldest.last_used >= ACTIVE_SECONDS:
            del self._sessions[oldest.id]
            self.recycled += 1
            return
        wait = ACTIVE_SECONDS if oldest is None else oldest.last_used + ACTIVE_SECONDS - now
        raise ServerFull(f"this browser already has {self.per_client} playground sessions in use: close a tab, "
                         f"or try again in {max(1, math.ceil(wait))} s", retry_after=wait)

    def add(self, owner: str, playground: Playground) -> Session:
        """Store `playground` as a new session of `owner` under a fresh unguessable id (admitted first)."""
        self.admit(owner)
        session = Session(secrets.token_urlsafe(16), owner, playground, self.clock())
        self._sessions[session.id] = session
        return session

    # ------------------------------------------------------------------------------------ use
    def get(self, session_id: str, owner: str | None) -> Session | None:
        """The session with this id, now marked as used, if `owner` owns it and it has not expired; else None."""
        session = self._sessions.get(session_id)
        if session is None or owner is None or not secrets.compare_digest(session.owner, owner):
            return None
        now = self.clock()
        if not session.busy and now - session.last_used >= self.idle_seconds:
            del self._sessions[session_id]
            self.expired += 1
            return None
        session.last_used = now
        return session

    @asynccontextmanager
    async def use(self, session: Session) -> AsyncIterator[Playground]:
        """Hold the session's lock (waiting without blocking the event loop); it counts as in use meanwhile."""
        session.busy += 1
        session.last_used = self.clock()
        try:
            async with session.lock:
                yield session.playground
        finally:
            session.busy -= 1
            session.last_used = self.clock()

    def owned_by(self, owner: str) -> int:
        """How many sessions `owner` holds."""
        return sum(1 for s in self._sessions.values() if s.owner == owner)

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions
