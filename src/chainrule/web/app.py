"""The playground's web application (Starlette): the page, its static files and a small JSON API.

Every request body is read with a size limit, parsed as JSON, and each field's type checked before anything
runs; errors answer with a 4xx status and {"error": "one line"}. A client (a browser) is known by an HttpOnly,
SameSite=Strict cookie the server issues; its sessions are its own. The engine's work runs in worker threads,
one request at a time per session, so one client's training never holds up another's requests.

NaN and ±infinity are data, not errors: a state holding them is sent with those numbers as the strings "NaN",
"Infinity" and "-Infinity" (what JavaScript's Number() reads back) and "diverged": true.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .config import MAX_BODY_BYTES, BadInput, json_type, options, parse_config
from .explain_page import explanation_html
from .playground import Playground
from .security import EXPLAIN_POLICY, LOOPBACK_HOSTS, PAGE_POLICY, FrontDoor
from .sessions import ServerFull, Session, SessionStore

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}
CLIENT_COOKIE = "chainrule_client"
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Threads for the engine: training and building (heavy) wait in their own queue, so reads (light) never
# queue behind them; more heavy threads than cores would only fight over the interpreter lock.
HEAVY_THREADS = max(1, min(4, os.cpu_count() or 1))
LIGHT_THREADS = 4
TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false",
              dict: "an object", list: "a list"}
__all__ = ["EXPLAIN_POLICY", "LOOPBACK_HOSTS", "PAGE_POLICY", "create_app", "json_safe", "state_json"]


def _reject_constant(name: str) -> Any:
    raise BadInput(f"the body is not valid JSON: {name} is not a number JSON allows", status=400)


async def read_json(request: Request, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object, at most MAX_BODY_BYTES long; {} when empty and not required."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise BadInput(f"the request body is larger than {MAX_BODY_BYTES} bytes", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadInput(f"the request body is larger than {MAX_BODY_BYTES} bytes", status=413)
    if not body:
        if required:
            raise BadInput("this request needs a JSON object as its body", status=400)
        return {}
    if content_type != "application/json":
        raise BadInput("send the body as JSON, with Content-Type: application/json", status=415)
    try:
        value = json.loads(bytes(body), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        if isinstance(error, BadInput):
            raise
        raise BadInput(f"the body is not valid JSON: {error}", status=400) from None
    except RecursionError:
        raise BadInput("the body is not valid JSON: it is nested too deeply", status=400) from None
    if not isinstance(value, dict):
        raise BadInput(f"the body must be a JSON object, got {json_type(value)}", status=400)
    return value


def _has_type(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def fields(body: dict[str, Any], required: Mapping[str, type],
           optional: Mapping[str, type] | None = None) -> list[Any]:
    """The values of a body's `required` fields, then its `optional` ones (or None), each of its declared type
    (str, int, float, bool, dict or list); an unknown, missing or wrongly typed field is refused with its name."""
    allowed = {**required, **(optional or {})}
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        takes = f"takes {', '.join(allowed)}" if allowed else "takes no fields"
        raise BadInput(f"unknown field {unknown[0]!r}: this request {takes}")
    for name, kind in allowed.items():
        if name not in body:
            if name in required:
                raise BadInput(f"missing field {name!r}")
        elif not _has_type(body[name], kind):
            raise BadInput(f"field {name!r} must be {TYPE_NAMES[kind]}, got {json_type(body[name])}")
    return [body.get(name) for name in allowed]


def json_safe(value: Any) -> Any:
    """`value` with every NaN or ±infinity replaced by the string "NaN", "Infinity" or "-Infinity"."""
    if hasattr(value, "tolist"):         # a NumPy array or scalar
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":"), default=_plain).encode()


def state_json(state: dict[str, Any]) -> bytes:
    """A session's state as JSON with "diverged": whether it holds NaN or ±infinity (sent as strings)."""
    try:
        return _dumps({**state, "diverged": False})
    except ValueError:                   # an out-of-range float: the training diverged somewhere
        return _dumps({**json_safe(state), "diverged": True})


class PlaygroundAPI:
    """The endpoints, over the session store; engine work in worker threads under each session's lock."""

    def __init__(self, store: SessionStore) -> None:
        self.sessions = store
        self.heavy = anyio.CapacityLimiter(HEAVY_THREADS)
        self.light = anyio.CapacityLimiter(LIGHT_THREADS)

    async def engine(self, work: Callable[[], Any], heavy: bool = True) -> Any:
        """Run `work` in a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(work, limiter=self.heavy if heavy else self.light)

    @staticmethod
    def client(request: Request) -> str | None:
        """The client id from the request's cookie, when it is one this server could have issued."""
        value = request.cookies.get(CLIENT_COOKIE, "")
        return value if CLIENT_ID.fullmatch(value) else None

    def session(self, request: Request) -> Session:
        session = self.sessions.get(request.path_params["session_id"], self.client(request))
        if session is None:
            raise BadInput("no such session (it may have expired, or belong to another browser): start a new one",
                           status=404)
        return session

    async def answer(self, request: Request, change: Callable[[Playground], Any] | None = None,
                     include_data: bool = False, heavy: bool = True) -> Response:
        """Apply `change` to the request's session (if given) and answer with its state, under its lock."""
        session = self.session(request)

        def work(playground: Playground) -> bytes:
            if change is not None:
                change(playground)
            return self.render(session, include_data)
        async with self.sessions.use(session) as playground:
            body = await self.engine(lambda: work(playground), heavy)
        return Response(body, media_type="application/json", headers=NO_STORE)

    @staticmethod
    def render(session: Session, include_data: bool) -> bytes:
        state = session.playground.state(include_data=include_data)
        state["session"] = session.id
        return state_json(state)

    # ------------------------------------------------------------------------------------ endpoints
    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY})

    async def options(self, request: Request) -> Response:
        return JSONResponse(options(), headers=NO_STORE)

    async def create(self, request: Request) -> Response:
        (raw,) = fields(await read_json(request, required=False), {}, {"config": dict})
        config = parse_config({} if raw is None else raw)
        owner = self.client(request) or secrets.token_urlsafe(24)
        self.sessions.admit(owner)                      # refuse before building anything
        session = self.sessions.add(owner, await self.engine(lambda: Playground(config)))
        async with self.sessions.use(session):
            body = await self.engine(lambda: self.render(session, include_data=True))
        response = Response(body, status_code=201, media_type="application/json", headers=NO_STORE)
        if owner != self.client(request):
            response.set_cookie(CLIENT_COOKIE, owner, path="/", httponly=True, samesite="strict")
        return response

    async def get(self, request: Request) -> Response:
        data = request.query_params.get("data", "0")
        if data not in ("0", "1", "true", "false"):
            raise BadInput(f"data must be 1 or 0 (with or without the data set), got {data[:20]!r}")
        return await self.answer(request, include_data=data in ("1", "true"), heavy=False)

    async def configure(self, request: Request) -> Response:
        (raw,) = fields(await read_json(request), {"config": dict})
        config = parse_config(raw, base=self.session(request).playground.config)
        return await self.answer(request, lambda p: p.reconfigure(config), include_data=True)

    async def reset(self, request: Request) -> Response:
        fields(await read_json(request, required=False), {})
        return await self.answer(request, Playground.build, include_data=True)

    async def step(self, request: Request) -> Response:
        (action,) = fields(await read_json(request), {"action": str})
        return await self.answer(request, lambda p: p.step(action))

    async def example(self, request: Request) -> Response:
        split, index = fields(await read_json(request), {"split": str, "index": int})
        return await self.answer(request, lambda p: p.choose_example(split, index))

    async def train(self, request: Request) -> Response:
        (epochs,) = fields(await read_json(request), {"epochs": int})
        return await self.answer(request, lambda p: p.train(epochs))

    async def weight(self, request: Request) -> Response:
        l, j, value, k = fields(await read_json(request), {"l": int, "j": int, "value": float}, {"k": int})
        return await self.answer(request, lambda p: p.set_weight(l, j, k, value))

    async def diagnose(self, request: Request) -> Response:
        fields(await read_json(request, required=False), {})
        return await self.answer(request, Playground.diagnose)

    async def model(self, request: Request) -> Response:
        session = self.session(request)
        async with self.sessions.use(session) as playground:
            body = await self.engine(playground.model_file)
        headers = {**NO_STORE, "Content-Disposition": 'attachment; filename="playground-model.npz"'}
        return Response(body, media_type="application/octet-stream", headers=headers)

    async def explain(self, request: Request) -> Response:
        session = self.session(request)
        async with self.sessions.use(session) as playground:
            html = await self.engine(lambda: derivation_page(playground))
        return HTMLResponse(html, headers={**NO_STORE, "Content-Security-Policy": EXPLAIN_POLICY})


def derivation_page(playground: Playground) -> str:
    """The derivation page of the session's current example; refused (409) while the network has diverged
    (a weight, or the cost over a set, is NaN or infinite): its checks cannot compare such numbers."""
    weights_finite = all(np.all(np.isfinite(np.asarray(p.data))) for p in playground.model.parameters())
    if not weights_finite or not all(math.isfinite(v) for v in playground.history.last().values() if isinstance(v, float)):
        raise BadInput("no derivation while the network has diverged (its weights or cost are NaN or infinite): "
                       "reset it, or train with a smaller learning rate", status=409)
    return explanation_html(playground)


async def _bad_input(request: Request, error: Exception) -> Response:
    assert isinstance(error, BadInput)
    headers = {**NO_STORE, **({"Retry-After": str(error.retry_after)} if isinstance(error, ServerFull) else {})}
    return JSONResponse({"error": str(error)}, status_code=error.status, headers=headers)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = {404: "not found", 405: f"method {request.method} is not allowed here"}.get(error.status_code, error.detail)
    return JSONResponse({"error": message}, status_code=error.status_code, headers=NO_STORE)


def create_app(capacity: int = 256, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS, per_client: int = 8,
               idle_seconds: float = 1800.0) -> Starlette:
    """The playground application: at most `capacity` sessions, `per_client` per browser, each expiring after
    `idle_seconds` unused; it answers only to the host names in `allowed_hosts` ("*": any)."""
    api = PlaygroundAPI(SessionStore(capacity, per_client=per_client, idle_seconds=idle_seconds))
    prefix = "/api/sessions/{session_id:str}"
    routes = [
        Route("/", api.page, methods=["GET"]),
        Route("/api/options", api.options, methods=["GET"]),
        Route("/api/sessions", api.create, methods=["POST"]),
        Route(prefix, api.get, methods=["GET"]),
        Route(f"{prefix}/config", api.configure, methods=["POST"]),
        Route(f"{prefix}/reset", api.reset, methods=["POST"]),
        Route(f"{prefix}/step", api.step, methods=["POST"]),
        Route(f"{prefix}/example", api.example, methods=["POST"]),
        Route(f"{prefix}/train", api.train, methods=["POST"]),
        Route(f"{prefix}/weight", api.weight, methods=["POST"]),
        Route(f"{prefix}/diagnose", api.diagnose, methods=["POST"]),
        Route(f"{prefix}/explain", api.explain, methods=["GET"]),
        Route(f"{prefix}/model", api.model, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FrontDoor, allowed_hosts=list(allowed_hosts))],
        exception_handlers={BadInput: _bad_input, HTTPException: _http_error},
    )
    app.state.api = api
    return app
