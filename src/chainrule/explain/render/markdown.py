"""Render a Document as Markdown with $…$ / $$…$$ mathematics (as GitHub, Jupyter and VS Code display it).

Pictures are not embedded (a note points to the HTML version); everything else is.
"""
from __future__ import annotations

import re

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
    fmt,
)
from .math import to_latex


def _inline(parts: tuple) -> str:
    return "".join(f"${to_latex(part.source)}$" if isinstance(part, Math) else str(part) for part in parts)


def _cell(cell: object) -> str:
    if isinstance(cell, Num):
        return fmt(cell.value)
    text = _inline((cell,))
    return text.replace("|", "\\|")


def _table(table: Table) -> list[str]:
    lines = [f"**{_inline(table.caption)}**", ""] if table.caption else []
    numeric = [any(isinstance(row[c], Num) for row in table.rows) for c in range(len(table.header))]
    lines.append("| " + " | ".join(_cell(cell) for cell in table.header) + " |")
    lines.append("|" + "|".join("---:" if is_number else ":---" for is_number in numeric) + "|")
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in table.rows]
    return lines


def _blocks(blocks: list, quote: bool = False) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            lines.append(_inline(block.parts))
        elif isinstance(block, Equation):
            tag = f" \\qquad \\text{{({block.tag})}}" if block.tag else ""
            lines.append(f"$$ {to_latex(block.source)}{tag} $$")
        elif isinstance(block, Items):
            lines += [f"- {_inline(item)}" for item in block.items]
        elif isinstance(block, Table):
            lines += _table(block)
        elif isinstance(block, Subheading):
            lines.append(f"### {block.text}")
        elif isinstance(block, Callout):
            mark = {"check": "✓ ", "note": "ℹ "}.get(block.kind, "")
            inner = [f"**{mark}{block.title}**", "", *_blocks(block.blocks, quote=True)]
            lines += [f"> {line}".rstrip() for line in inner]
        elif isinstance(block, Code):
            lines += [f"`{block.caption}`", "", "```python", block.text, "```"]
        elif isinstance(block, Picture):
            lines.append(f"*{block.alt}*")
        else:
            raise TypeError(f"Markdown renderer: unknown block {type(block).__name__}")
        lines.append("")
    return lines


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|$&~])")


def escape_markdown(text: str) -> str:
    """Plain text that Markdown shows as written: every character that could start markup, HTML (<script>),
    an entity (&) or mathematics ($) is backslash-escaped, as CommonMark allows for any ASCII punctuation."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render_markdown(document: Document) -> str:
    """The document as Markdown text (the title, which may come from a file, escaped)."""
    lines = [f"# {escape_markdown(document.title)}", "", f"*{document.subtitle}*", ""]
    for section in document.sections:
        lines += [f"## {section.title}", ""]
        lines += _blocks(section.blocks)
    return "\n".join(lines).rstrip() + "\n"
