"""A bounded store of playground sessions: at most `capacity`, the least recently used one goes first.

Session ids are random and unguessable; a forgotten or evicted id simply answers "not found".
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from .config import PlaygroundConfig
from .playground import Playground


class SessionStore:
    """Playground sessions by id, least recently used first out once `capacity` is reached."""

    def __init__(self, capacity: int = 32) -> None:
        if capacity < 1:
            raise ValueError(f"SessionStore: capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._sessions: OrderedDict[str, Playground] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, config: PlaygroundConfig) -> tuple[str, Playground]:
        """A new session with `config`; evicts the least recently used one when full."""
        playground = Playground(config)
        session_id = secrets.token_urlsafe(12)
        with self._lock:
            self._sessions[session_id] = playground
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
        return session_id, playground

    def get(self, session_id: str) -> Playground | None:
        """The session with this id (now the most recently used), or None."""
        with self._lock:
            playground = self._sessions.get(session_id)
            if playground is not None:
                self._sessions.move_to_end(session_id)
            return playground

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions
