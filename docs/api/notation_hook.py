"""A MkDocs hook (mkdocs.yml: hooks): docstrings write the notation's indices in brackets, W[l][j, k], which
Markdown reads as a reference link `[l][j, k]`; mkdocs-autorefs would then warn that it finds no target "j, k"
and `mkdocs build --strict` would fail on notation, not on a broken link.

Only those warnings are dropped: an unresolved target of at most six characters without a dot or a capital
(an index such as j, k, l, l-1, 0). A reference to a Python name (chainrule.Tensor, Module) still fails.
"""
from __future__ import annotations

import logging
import re

NOTATION_TARGET = re.compile(r"Could not find cross-reference target '([a-z0-9 ,+\-−]{1,6})'")


class NotationIndices(logging.Filter):
    """Drops autorefs' warning for a bracketed index of the notation."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not NOTATION_TARGET.search(record.getMessage())


def on_config(config):
    """Install the filter on every handler of MkDocs' logger (strict mode counts the warnings there)."""
    for handler in logging.getLogger("mkdocs").handlers:
        if not any(isinstance(f, NotationIndices) for f in handler.filters):
            handler.addFilter(NotationIndices())
    return config
