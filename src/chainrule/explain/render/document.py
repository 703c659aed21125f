"""The parts an explanation is made of (sections, paragraphs, formulas, tables, call-outs), independent of format.

Each renderer (terminal, Markdown, LaTeX, HTML) walks the same Document; none of them computes anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...files import printable  # noqa: F401 - text from a file, made visible (build.py takes it from here)


def fmt(value: float) -> str:
    """A number with 8 significant digits, as printed everywhere in chainrule (``-0`` becomes ``0``)."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    return f"{value:.8g}"


def _split_number(text: str) -> tuple[str, str]:
    """A printed number split before its decimal point (or exponent), for alignment."""
    for mark in (".", "e", "inf", "nan"):
        if mark in text:
            at = text.index(mark)
            return text[:at], text[at:]
    return text, ""


def align_numbers(values: list) -> list[str]:
    """The numbers printed with `fmt` and padded so that their decimal points line up."""
    heads = [_split_number(fmt(value)) for value in values]
    left = max((len(head) for head, _ in heads), default=0)
    right = max((len(tail) for _, tail in heads), default=0)
    return [head.rjust(left) + tail.ljust(right) for head, tail in heads]


def num(value: float) -> str:
    """A number inside a formula."""
    return f"\\num{{{fmt(value)}}}"


def factor(value: float) -> str:
    """A number inside a product: wrapped in parentheses when negative."""
    return f"\\left({num(value)}\\right)" if fmt(value).startswith("-") else num(value)


@dataclass(frozen=True)
class Math:
    """An inline formula in the LaTeX subset of `render.math`."""
    source: str


@dataclass(frozen=True)
class Num:
    """A number in a table cell, printed with `fmt`."""
    value: float


Inline = tuple  # of str (plain text) and Math
Cell = str | Math | Num


@dataclass
class Paragraph:
    parts: Inline


@dataclass
class Equation:
    """A displayed formula, optionally tagged (e.g. "BP1")."""
    source: str
    tag: str = ""


@dataclass
class Items:
    """A bulleted list."""
    items: list


@dataclass
class Table:
    header: tuple
    rows: list
    caption: Inline = ()


@dataclass
class Callout:
    """A framed box: kind is "legend", "check" or "note"."""
    kind: str
    title: str
    blocks: list


@dataclass
class Code:
    text: str
    caption: str = ""


@dataclass
class Picture:
    """An SVG drawing; formats that cannot show it print `alt` instead."""
    svg: str
    caption: str
    alt: str
    scroll: bool = False  # keep the drawing's own size and scroll sideways (for wide drawings)


@dataclass
class Subheading:
    text: str


@dataclass
class Section:
    """A titled part; phase ("forward", "backward", "update" or "") colours it."""
    title: str
    blocks: list = field(default_factory=list)
    phase: str = ""
    anchor: str = ""


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list
