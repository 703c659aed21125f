"""`chainrule serve`: run the playground with uvicorn, on the loopback interface unless told otherwise.

The socket is bound here, before uvicorn starts, so a busy port or a bad address is a clear OSError.
Binding to another interface lets other machines use the playground (and its CPU); it is never the default.
"""
from __future__ import annotations

import logging
import socket
import sys
import threading
import webbrowser

import uvicorn

from .app import create_app
from .security import LOOPBACK_HOSTS

EVERY_INTERFACE = ("0.0.0.0", "::", "")


def url_for(host: str, port: int) -> str:
    """The address a browser on this machine opens for a server bound to host:port."""
    shown = "127.0.0.1" if host in EVERY_INTERFACE else host.strip("[]")
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (raises OSError when the address is busy or unknown)."""
    if not 0 <= port < 65536:
        raise ValueError(f"port must be between 0 and 65535, got {port}")
    family, kind, protocol, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    return sock


def allowed_hosts_for(host: str) -> list[str]:
    """The Host header names answered: loopback names plus the bound one; any name when bound to every interface."""
    return ["*"] if host in EVERY_INTERFACE else list(dict.fromkeys([*LOOPBACK_HOSTS, host.strip("[]").lower()]))


def make_server(host: str = "127.0.0.1", port: int = 8000, capacity: int = 256,
                per_client: int = 8) -> tuple[uvicorn.Server, socket.socket, str]:
    """A uvicorn server for the playground, its bound socket and its URL; `server.run(sockets=[sock])` serves."""
    sock = bind(host, port)
    app = create_app(capacity=capacity, per_client=per_client, allowed_hosts=allowed_hosts_for(host))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=30))
    return server, sock, url_for(host, sock.getsockname()[1])


def _log_errors_to_stderr() -> None:
    logger = logging.getLogger("chainrule.web")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s chainrule.web %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, capacity: int = 256,
          per_client: int = 8) -> None:
    """Serve the playground at http://host:port/ until interrupted; optionally open it in a browser."""
    server, sock, url = make_server(host, port, capacity=capacity, per_client=per_client)
    _log_errors_to_stderr()
    print(f"chainrule playground: {url}  (Ctrl+C stops it)", flush=True)
    if host.strip("[]") not in LOOPBACK_HOSTS:
        print(f"warning: listening on {host}: other machines can reach this server", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
