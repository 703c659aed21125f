"""chainrule's browser playground: a local web server whose page shows a network's forward and backward passes.

The page only draws; chainrule's engine computes every number on the server (`chainrule serve`).
"""
from .app import create_app
from .server import serve

__all__ = ["create_app", "serve"]
