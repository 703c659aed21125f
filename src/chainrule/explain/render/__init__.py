"""Renderers for explanations: one Document (see `build`), four formats: terminal, Markdown, LaTeX, HTML.

`render(explanation, format)` returns the text; writing files is the caller's business.
"""
from __future__ import annotations

from ..network import Explanation
from .build import document
from .diagram import network_svg
from .html import render_html
from .latex import render_latex
from .markdown import render_markdown
from .terminal import render_terminal

FORMATS = ("terminal", "markdown", "latex", "html")
EXTENSIONS = {"terminal": ".txt", "markdown": ".md", "latex": ".tex", "html": ".html"}


def graph_svg(explanation: Explanation) -> str:
    """The computational graph of the cost as SVG text (chainrule.viz.graph), with every gradient filled in."""
    return explanation.graph().svg


def render(explanation: Explanation, format: str = "terminal", colour: bool = False) -> str:
    """The explanation as text in `format` (terminal text with optional ANSI colour, markdown, latex or html)."""
    if format == "terminal":
        return render_terminal(document(explanation, code=False), colour=colour)
    if format == "markdown":  # the drawing itself is HTML's; Markdown and LaTeX say where to find it
        return render_markdown(document(explanation, network_svg(explanation)))
    if format == "latex":
        return render_latex(document(explanation, network_svg(explanation)))
    if format == "html":
        return render_html(document(explanation, network_svg(explanation), graph_svg(explanation)))
    raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")


__all__ = ["EXTENSIONS", "FORMATS", "graph_svg", "render", "render_html", "render_latex", "render_markdown",
           "render_terminal"]
