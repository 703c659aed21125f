"""The playground server's front door, as one ASGI middleware: the Host check, the cross-site request defence,
the security headers on every response, and a 500 that tells the client nothing of the exception (it is logged).

It knows nothing of sessions or the engine; routing and validation of bodies are the application's job.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# A header a cross-origin page cannot send without a CORS preflight, which this server never grants.
CSRF_HEADER = "X-Chainrule"
SAFE_METHODS = frozenset({"GET", "HEAD"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# The page: scripts, styles and images from this server only; inline style attributes (set by the page's
# script) but no inline <style> or <script>; style-src keeps 'unsafe-inline' only for browsers without CSP 3.
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; style-src-elem 'self'; "
               "style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The derivation page is one self-contained file: its own <style>, inline pictures, no script at all.
EXPLAIN_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                  "form-action 'none'; frame-ancestors 'none'")
# JSON answers and errors: nothing to load, nothing to run, never framed.
DATA_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

INTERNAL_ERROR = "internal error: the server could not answer this request (the details are in the server's log)"
log = logging.getLogger("chainrule.web")


def split_host(authority: str) -> tuple[str, int | None] | None:
    """(name, port) of a Host header or an origin's authority, e.g. "[::1]:8000" → ("::1", 8000); None if malformed.

    An IPv6 literal must be in brackets (RFC 3986); the name is lower-cased and the port is None when absent.
    """
    text = authority.strip().lower()
    if text.startswith("["):
        name, bracket, rest = text[1:].partition("]")
        if not bracket:
            return None
    elif text.count(":") > 1:
        return None
    else:
        name, colon, port = text.partition(":")
        rest = colon + port
    if not name or (rest and not (rest[:1] == ":" and rest[1:].isdigit() and len(rest) <= 6)):
        return None
    port_number = int(rest[1:]) if rest else None
    return (name, port_number) if port_number is None or port_number < 65536 else None


def host_allowed(host_header: str, allowed: Sequence[str]) -> bool:
    """Whether a Host header names one of the `allowed` host names (any port); "*" allows every well-formed one."""
    parsed = split_host(host_header)
    if parsed is None:
        return False
    return "*" in allowed or parsed[0] in {name.strip("[]").lower() for name in allowed}


def same_origin(origin: str, scheme: str, host_header: str) -> bool:
    """Whether an Origin header ("http://[::1]:8000") is this server's own origin, as the Host header names it."""
    origin_scheme, separator, authority = origin.strip().lower().partition("://")
    ours, theirs = split_host(host_header), split_host(authority) if separator and "/" not in authority else None
    if origin_scheme != scheme or ours is None or theirs is None:
        return False
    default = DEFAULT_PORTS.get(scheme)
    return (ours[0], ours[1] or default) == (theirs[0], theirs[1] or default)


def cross_site_reason(method: str, scheme: str, headers: dict[str, str]) -> str | None:
    """Why a state-changing request may come from another site (a one-line refusal), or None when it may not."""
    if method in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is not None and not same_origin(origin, scheme, headers.get("host", "")):
        return f"requests from another origin ({origin[:60]}) may not change the playground's state"
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return "requests from another site may not change the playground's state"
    if headers.get(CSRF_HEADER.lower()) != "1":
        return f"send the header {CSRF_HEADER}: 1 with every {method} (the playground page does)"
    return None


def content_policy(path: str) -> str:
    """The Content-Security-Policy for a response that did not set its own: the page's for static files."""
    return PAGE_POLICY if path == "/" or path.startswith("/static/") else DATA_POLICY


class FrontDoor:
    """ASGI middleware: refuse unknown hosts (400) and cross-site state changes (403), add the security headers
    to every response, and turn an unhandled exception into a logged, text-free JSON 500."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS) -> None:
        self.app = app
        self.allowed_hosts = list(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        policy = content_policy(scope["path"])
        if not host_allowed(headers.get("host", ""), self.allowed_hosts):
            await _json(send, 400, f"this server does not answer to the host name {headers.get('host', '')[:60]!r}",
                        policy)
            return
        reason = cross_site_reason(scope["method"], scope.get("scheme", "http"), headers)
        if reason is not None:
            await _json(send, 403, reason, policy)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = with_security_headers(list(message.get("headers", [])), policy)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("%s %s failed", scope["method"], scope["path"])
            if started:
                raise
            await _json(send, 500, INTERNAL_ERROR, policy)


def with_security_headers(headers: list[tuple[bytes, bytes]], policy: str) -> list[tuple[bytes, bytes]]:
    """`headers` plus nosniff, a CSP (unless the response set its own), no referrer, same-origin resources."""
    present = {name.lower() for name, _ in headers}
    extra = {
        b"x-content-type-options": b"nosniff",
        b"content-security-policy": policy.encode(),
        b"referrer-policy": b"no-referrer",
        b"cross-origin-resource-policy": b"same-origin",
        b"x-frame-options": b"DENY",
    }
    return headers + [(name, value) for name, value in extra.items() if name not in present]


async def _json(send: Send, status: int, message: str, policy: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": with_security_headers(headers, policy)})
    await send({"type": "http.response.body", "body": body})
