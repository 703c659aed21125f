"""Render a Document as one self-contained HTML page: MathML for the formulas, inline CSS and SVG, no network.

Nothing is fetched when the page opens (no CDN, no fonts, no scripts), so it works offline and can be mailed.
"""
from __future__ import annotations

import html

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
)
from .math import to_mathml

STYLE = """
:root { --ink: #1f2330; --muted: #5f6878; --line: #dfe3ec; --forward: #3b6fd8; --backward: #e07a1f;
        --update: #2e9e5b; --plain: #7a5cc9; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6fb; color: var(--ink);
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 60px; }
header h1 { font-size: 1.9em; margin: 0 0 4px; letter-spacing: -0.01em; }
header p { color: var(--muted); margin: 0 0 18px; }
nav { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 16px;
      margin-bottom: 18px; font-size: 0.93em; }
nav a { color: var(--ink); text-decoration: none; margin-right: 14px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
nav .dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 5px; }
section { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--plain);
          border-radius: 10px; padding: 6px 22px 14px; margin: 16px 0; }
section.forward { border-left-color: var(--forward); }
section.backward { border-left-color: var(--backward); }
section.update { border-left-color: var(--update); }
section h2 { font-size: 1.3em; margin: 14px 0 8px; }
section.forward h2 { color: var(--forward); }
section.backward h2 { color: #b85c0f; }
section.update h2 { color: var(--update); }
h3 { font-size: 1.02em; margin: 18px 0 6px; color: var(--muted); }
math { font-size: 1.08em; math-style: normal; }
.tables { display: flex; flex-wrap: wrap; gap: 0 28px; align-items: flex-start; }
.equation { display: flex; align-items: center; margin: 10px 0; padding: 2px 0; overflow-x: auto; overflow-y: hidden; }
.equation math { flex: 1; }
.equation .tag { color: var(--muted); font-size: 0.9em; margin-left: 16px; white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: 8px 0 14px; }
table { border-collapse: collapse; font-size: 0.95em; }
caption { text-align: left; font-weight: 600; padding: 4px 0 6px; }
th { background: #eef1f8; font-weight: 600; text-align: left; padding: 6px 12px; border-bottom: 2px solid var(--line); }
td { padding: 5px 12px; border-bottom: 1px solid #eef0f5; vertical-align: middle; }
tr:nth-child(even) td { background: #fafbfd; }
td.num { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; white-space: pre;
         text-align: right; font-size: 0.93em; }
ul { padding-left: 22px; }
li { margin: 4px 0; }
.callout { border-radius: 8px; padding: 8px 16px; margin: 12px 0; border: 1px solid; }
.callout h4 { margin: 6px 0; font-size: 1em; }
.callout.legend { background: #f1f5ff; border-color: #cfdaf7; }
.callout.check { background: #effaf2; border-color: #bfe5cb; }
.callout.check h4 { color: var(--update); }
.callout.note { background: #fff8ec; border-color: #f3dcb4; }
figure { margin: 12px 0; text-align: center; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figure.scroll { text-align: left; }
figure.scroll svg { max-width: none; }
figcaption { color: var(--muted); font-size: 0.9em; }
pre.code { background: #1f2330; color: #e8ebf3; padding: 14px 16px; border-radius: 8px; overflow-x: auto;
           font: 13px/1.5 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.code-caption { color: var(--muted); font-size: 0.85em; margin-bottom: 4px; }
footer { color: var(--muted); font-size: 0.85em; margin-top: 24px; text-align: center; }
"""

PHASE_DOT = {"forward": "var(--forward)", "backward": "var(--backward)", "update": "var(--update)",
             "": "var(--plain)"}


def _inline(parts: tuple) -> str:
    return "".join(to_mathml(part.source) if isinstance(part, Math) else html.escape(str(part)) for part in parts)


def _table(table: Table) -> str:
    aligned = {}
    for c, column in enumerate(zip(*table.rows)):
        numbers = [r for r, cell in enumerate(column) if isinstance(cell, Num)]
        aligned.update(zip(((r, c) for r in numbers), align_numbers([column[r].value for r in numbers])))
    out = ['<div class="table-wrap"><table>']
    if table.caption:
        out.append(f"<caption>{_inline(table.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_inline((cell,))}</th>" for cell in table.header) + "</tr></thead>")
    out.append("<tbody>")
    for r, row in enumerate(table.rows):
        cells = []
        for c, cell in enumerate(row):
            if isinstance(cell, Num):
                cells.append(f'<td class="num">{html.escape(aligned[r, c])}</td>')
            else:
                cells.append(f"<td>{_inline((cell,))}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _blocks(blocks: list) -> str:
    """The blocks in this format.

    Complexity: one branch per kind of document block, so the whole format reads as one table.
    """
    out = []
    for block, previous, following in zip(blocks, [None, *blocks[:-1]], [*blocks[1:], None]):
        if isinstance(block, Table) and not isinstance(previous, Table) and isinstance(following, Table):
            out.append('<div class="tables">')
        if isinstance(block, Paragraph):
            out.append(f"<p>{_inline(block.parts)}</p>")
        elif isinstance(block, Equation):
            tag = f'<span class="tag">({html.escape(block.tag)})</span>' if block.tag else ""
            out.append(f'<div class="equation">{to_mathml(block.source, display=True)}{tag}</div>')
        elif isinstance(block, Items):
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Subheading):
            out.append(f"<h3>{html.escape(block.text)}</h3>")
        elif isinstance(block, Callout):
            mark = {"check": "✓ ", "note": "ℹ "}.get(block.kind, "")
            out.append(f'<div class="callout {block.kind}"><h4>{mark}{html.escape(block.title)}</h4>'
                       f"{_blocks(block.blocks)}</div>")
        elif isinstance(block, Code):
            out.append(f'<div class="code-caption">{html.escape(block.caption)}</div>'
                       f'<pre class="code">{html.escape(block.text)}</pre>')
        elif isinstance(block, Picture):
            kind = ' class="scroll"' if block.scroll else ""
            out.append(f"<figure{kind}>{block.svg}<figcaption>{html.escape(block.caption)}</figcaption></figure>")
        else:
            raise TypeError(f"HTML renderer: unknown block {type(block).__name__}")
        if isinstance(block, Table) and isinstance(previous, Table) and not isinstance(following, Table):
            out.append("</div>")
    return "\n".join(out)


def render_html(document: Document) -> str:
    """The document as a complete, self-contained HTML page."""
    nav = "".join(f'<a href="#{s.anchor}"><span class="dot" style="background:{PHASE_DOT.get(s.phase, "")}">'
                  f"</span>{html.escape(s.title)}</a>" for s in document.sections)
    sections = "\n".join(
        f'<section class="{section.phase}" id="{section.anchor}"><h2>{html.escape(section.title)}</h2>\n'
        f"{_blocks(section.blocks)}</section>" for section in document.sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(document.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{html.escape(document.title)}</h1><p>{html.escape(document.subtitle)}</p></header>\n"
        f"<nav>{nav}</nav>\n{sections}\n"
        "<footer>Made by chainrule explain: every number above was computed, and every gradient checked "
        "against the engine and finite differences.</footer>\n</main>\n</body>\n</html>\n"
    )
