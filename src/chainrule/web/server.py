"""`chainrule serve`: run the playground with uvicorn, on the loopback interface unless told otherwise.

The socket is bound here, before uvicorn starts, so a busy port or a bad address is a clear OSError.
Binding to another interface lets other machines use the playground (and its CPU); it is never the default.
"""
from __future__ import annotations

import socket
import threading
import webbrowser

import uvicorn

from .app import LOOPBACK_HOSTS, create_app


def url_for(host: str, port: int) -> str:
    """The address a browser on this machine opens for a server bound to host:port."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (raises OSError when the address is busy or unknown)."""
    if not 0 <= port < 65536:
        raise ValueError(f"port must be between 0 and 65535, got {port}")
    family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, capacity: int = 32) -> None:
    """Serve the playground at http://host:port/ until interrupted; optionally open it in a browser."""
    sock = bind(host, port)
    # Host headers answered: loopback names, plus the bound name; any name when bound to every interface.
    allowed = ["*"] if host in ("0.0.0.0", "::", "") else [*LOOPBACK_HOSTS, host]
    app = create_app(capacity=capacity, allowed_hosts=allowed)
    url = url_for(host, sock.getsockname()[1])
    print(f"chainrule playground: {url}  (Ctrl+C stops it)", flush=True)
    if host not in LOOPBACK_HOSTS:
        print(f"warning: listening on {host}: other machines can reach this server", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
