"""Render a Document as text for a terminal: aligned tables, formulas in Unicode, ANSI colour only on request.

Numbers line up on their decimal point; the caller decides on colour (a tty and no NO_COLOR).
"""
from __future__ import annotations

import textwrap

from .document import (
    Callout,
    Code,
    Document,
    Equation,
    Items,
    Math,
    Num,
    Paragraph,
    Picture,
    Subheading,
    Table,
    align_numbers,
    fmt,
)
from .math import to_text

PHASE_COLOURS = {"forward": "34", "backward": "33", "update": "32", "": "36"}


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour and text else text


def _inline(parts: tuple) -> str:
    return "".join(to_text(part.source) if isinstance(part, Math) else str(part) for part in parts)


def _cell(cell: object) -> str:
    if isinstance(cell, Num):
        return fmt(cell.value)
    if isinstance(cell, Math):
        return to_text(cell.source)
    return str(cell)


def _column(cells: list) -> list[str]:
    """The cells of one column as strings, numbers aligned on the decimal point."""
    texts = [_cell(cell) for cell in cells]
    numbers = [i for i, cell in enumerate(cells) if isinstance(cell, Num)]
    for i, text in zip(numbers, align_numbers([cells[i].value for i in numbers])):
        texts[i] = text
    return texts


def render_table(table: Table, style: _Style, indent: str = "  ") -> list[str]:
    """The table as lines: header, a rule, then the rows, columns separated by two spaces."""
    columns = list(zip(*([table.header] + list(table.rows))))
    texts = [_column(list(column)) for column in columns]
    widths = [max(len(text) for text in column) for column in texts]
    numeric = [any(isinstance(cell, Num) for cell in column[1:]) for column in columns]
    lines = []
    if table.caption:
        lines.append(indent + style(_inline(table.caption), "1"))
    for r in range(len(columns[0])):
        cells = [(column[r].rjust(width) if is_number and r > 0 else column[r].ljust(width))
                 for column, width, is_number in zip(texts, widths, numeric)]
        line = indent + "  ".join(cells).rstrip()
        lines.append(style(line, "1") if r == 0 else line)
        if r == 0:
            lines.append(indent + style("  ".join("─" * width for width in widths), "2"))
    return lines


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


def _blocks(blocks: list, style: _Style, width: int, accent: str) -> list[str]:
    """The blocks in this format.

    Complexity: one branch per kind of document block, so the whole format reads as one table.
    """
    lines: list[str] = []
    for block, following in zip(blocks, [*blocks[1:], None]):
        if isinstance(block, Paragraph):
            lines += _wrap(_inline(block.parts), width, "  ", "  ")
        elif isinstance(block, Equation):
            text = "    " + to_text(block.source)
            if block.tag:
                text = text.ljust(max(len(text) + 2, width - len(block.tag) - 2)) + f"({block.tag})"
            lines.append(style(text, accent))
        elif isinstance(block, Items):
            for item in block.items:
                lines += _wrap(_inline(item), width, "  • ", "    ")
        elif isinstance(block, Table):
            lines += render_table(block, style)
        elif isinstance(block, Subheading):
            lines.append(style("  " + block.text, "1"))
        elif isinstance(block, Callout):
            mark = {"check": "✓ ", "note": "ℹ "}.get(block.kind, "")
            colour = {"check": "32", "note": "36"}.get(block.kind, "35")
            inner = _blocks(block.blocks, style, width - 4, accent)
            lines.append(style(f"  ┌─ {mark}{block.title} ", colour))
            lines += [style("  │", colour) + line for line in inner[:-1]]
            lines.append(style("  └─", colour))
        elif isinstance(block, Code):
            lines.append(style(f"  # {block.caption}", "2"))
            lines += ["    " + line for line in block.text.splitlines()]
        elif isinstance(block, Picture):
            lines.append(style("  " + block.alt, "2"))
        else:
            raise TypeError(f"terminal renderer: unknown block {type(block).__name__}")
        if not (isinstance(block, Equation) and isinstance(following, Equation)):
            lines.append("")
    return lines


def render_terminal(document: Document, colour: bool = False, width: int = 100, code: bool = False) -> str:
    """The document as terminal text (colour adds ANSI escapes; code includes the source listing)."""
    style = _Style(colour)
    lines = [style(document.title, "1"), style("═" * min(width, len(document.title)), "1"),
             style(document.subtitle, "2"), ""]
    for section in document.sections:
        if any(isinstance(block, Code) for block in section.blocks) and not code:
            continue
        accent = PHASE_COLOURS.get(section.phase, "36")
        title = f"━━ {section.title} "
        lines.append(style(title + "━" * max(3, width - len(title)), f"1;{accent}"))
        lines.append("")
        lines += _blocks(section.blocks, style, width, accent)
    return "\n".join(lines).rstrip() + "\n"
