"""The playground's web application (Starlette): the page, its static files and a small JSON API.

Every request body is read with a size limit, parsed as JSON and validated before anything runs; errors
answer with a 4xx status and {"error": "one line"}. The engine's work runs in a worker thread, one request
at a time, so the page and its files stay responsive while a network trains.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .config import MAX_BODY_BYTES, BadInput, json_type, options, parse_config
from .explain_page import explanation_html
from .playground import Playground
from .sessions import SessionStore

STATIC = Path(__file__).parent / "static"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
EXPLAIN_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
NO_STORE = {"Cache-Control": "no-store"}


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


def fields(body: dict[str, Any], required: Sequence[str], optional: Sequence[str] = ()) -> list[Any]:
    """The values of the `required` fields of a request body (then the optional ones, or None); no others allowed."""
    allowed = [*required, *optional]
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        takes = f"takes {', '.join(allowed)}" if allowed else "takes no fields"
        raise BadInput(f"unknown field {unknown[0]!r}: this request {takes}")
    for name in required:
        if name not in body:
            raise BadInput(f"missing field {name!r}")
    return [body.get(name) for name in allowed]


class PlaygroundAPI:
    """The endpoints, over one bounded session store; the engine runs under one lock, in a worker thread."""

    def __init__(self, capacity: int) -> None:
        self.sessions = SessionStore(capacity)
        self.lock = threading.Lock()

    async def run(self, work: Callable[[], Any]) -> Any:
        def locked() -> Any:
            with self.lock:
                return work()
        return await run_in_threadpool(locked)

    def session(self, request: Request) -> tuple[str, Playground]:
        session_id = request.path_params["session_id"]
        playground = self.sessions.get(session_id)
        if playground is None:
            raise BadInput("no such session (it may have expired): start a new one", status=404)
        return session_id, playground

    @staticmethod
    def answer(session_id: str, playground: Playground, include_data: bool = False, status: int = 200) -> JSONResponse:
        state = playground.state(include_data=include_data)
        state["session"] = session_id
        return JSONResponse(state, status_code=status, headers=NO_STORE)

    # ------------------------------------------------------------------------------------ endpoints
    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY})

    async def options(self, request: Request) -> Response:
        return JSONResponse(options(), headers=NO_STORE)

    async def create(self, request: Request) -> Response:
        (raw,) = fields(await read_json(request, required=False), [], ["config"])
        config = parse_config({} if raw is None else raw)

        def work() -> JSONResponse:
            session_id, playground = self.sessions.create(config)
            return self.answer(session_id, playground, include_data=True, status=201)
        return await self.run(work)

    async def get(self, request: Request) -> Response:
        session_id, playground = self.session(request)
        include = request.query_params.get("data", "0") in ("1", "true")
        return await self.run(lambda: self.answer(session_id, playground, include_data=include))

    async def configure(self, request: Request) -> Response:
        session_id, playground = self.session(request)
        (raw,) = fields(await read_json(request), ["config"])
        config = parse_config(raw, base=playground.config)

        def work() -> JSONResponse:
            playground.reconfigure(config)
            return self.answer(session_id, playground, include_data=True)
        return await self.run(work)

    async def reset(self, request: Request) -> Response:
        session_id, playground = self.session(request)
        fields(await read_json(request, required=False), [])

        def work() -> JSONResponse:
            playground.build()
            return self.answer(session_id, playground, include_data=True)
        return await self.run(work)

    async def step(self, request: Request) -> Response:
        session_id, playground = self.session(request)
        (action,) = fields(await read_json(request), ["action"])

        def work() -> JSONResponse:
            playground.step(action)
            return self.answer(session_id, playground)
        return await self.run(work)

    async def example(self, request: Request) -> Response:
        session_id, playground = self.session(request)
        split, index = fields(await read_json(request), ["split", "index"])

        def work() -> JSONResponse:
            playground.choose_example(split, index)
            return self.answer(session_id, playground)
        return await self.run(work)

    async def train(self, request: Request) -> Response:
        session_id, playground = self.session(request)
        (epochs,) = fields(await read_json(request), ["epochs"])

        def work() -> JSONResponse:
            playground.train(epochs)
            return self.answer(session_id, playground)
        return await self.run(work)

    async def explain(self, request: Request) -> Response:
        _, playground = self.session(request)
        html = await self.run(lambda: explanation_html(playground))
        return HTMLResponse(html, headers={**NO_STORE, "Content-Security-Policy": EXPLAIN_POLICY})


async def _bad_input(request: Request, error: Exception) -> Response:
    assert isinstance(error, BadInput)
    return JSONResponse({"error": str(error)}, status_code=error.status, headers=NO_STORE)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = {404: "not found", 405: f"method {request.method} is not allowed here"}.get(error.status_code, error.detail)
    return JSONResponse({"error": message}, status_code=error.status_code, headers=NO_STORE)


async def _server_error(request: Request, error: Exception) -> Response:
    return JSONResponse({"error": f"internal error ({type(error).__name__}): {error}"}, status_code=500,
                        headers=NO_STORE)


def create_app(capacity: int = 32, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS) -> Starlette:
    """The playground application, keeping at most `capacity` sessions; it answers only to `allowed_hosts`."""
    api = PlaygroundAPI(capacity)
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
        Route(f"{prefix}/explain", api.explain, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))],
        exception_handlers={BadInput: _bad_input, HTTPException: _http_error, Exception: _server_error},
    )
    app.state.api = api
    return app
