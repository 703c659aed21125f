"""Render a Document as a standalone LaTeX article (amsmath, amssymb and geometry only), in plain ASCII.

Text characters outside ASCII become LaTeX commands, so pdflatex compiles it without extra setup; pictures are
replaced by a note pointing to the HTML version.
"""
from __future__ import annotations

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
    num,
)
from .math import to_latex

SPECIAL = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_", "{": "\\{",
           "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}"}
TEXT_SYMBOLS = {
    "—": "---", "–": "--", "…": "\\ldots{}", "’": "'", "“": "``", "”": "''", "ℹ": "",
    "−": "\\ensuremath{-}", "→": "\\ensuremath{\\to}", "←": "\\ensuremath{\\leftarrow}",
    "✓": "\\ensuremath{\\checkmark}", "≈": "\\ensuremath{\\approx}", "×": "\\ensuremath{\\times}",
    "·": "\\ensuremath{\\cdot}", "η": "\\ensuremath{\\eta}", "σ": "\\ensuremath{\\sigma}",
    "δ": "\\ensuremath{\\delta}", "ε": "\\ensuremath{\\varepsilon}", "∂": "\\ensuremath{\\partial}",
    "′": "\\ensuremath{'}", "ᴸ": "\\ensuremath{^L}", "ˡ": "\\ensuremath{^l}", "¹": "\\ensuremath{^1}",
    "²": "\\ensuremath{^2}", "³": "\\ensuremath{^3}", "‖": "\\ensuremath{\\|}", "Σ": "\\ensuremath{\\Sigma}",
    "¼": "\\ensuremath{\\frac{1}{4}}", "≤": "\\ensuremath{\\le}", "∞": "\\ensuremath{\\infty}",
    "⊙": "\\ensuremath{\\odot}", "ᵀ": "\\ensuremath{^T}",
}
CODE_SYMBOLS = {"−": "-", "←": "<-", "→": "->", "σ": "sigma", "δ": "delta", "η": "eta", "∂": "d", "ε": "eps",
                "—": "--", "–": "-", "·": "*", "′": "'", "…": "...", "≈": "~"}


def _text(text: str) -> str:
    """Plain text escaped for LaTeX; a non-ASCII character with no LaTeX form here (it may come from a title in a
    file) becomes "?" rather than being left to break pdflatex."""
    out = []
    for char in text:
        if char in SPECIAL:
            out.append(SPECIAL[char])
        elif char in TEXT_SYMBOLS:
            out.append(TEXT_SYMBOLS[char])
        elif ord(char) < 128:
            out.append(char)
        else:
            out.append("?")
    return "".join(out)


def _code(text: str) -> str:
    return "".join(CODE_SYMBOLS.get(char, char if ord(char) < 128 else "?") for char in text)


def _inline(parts: tuple) -> str:
    return "".join(f"${to_latex(part.source)}$" if isinstance(part, Math) else _text(str(part)) for part in parts)


def _cell(cell: object) -> str:
    if isinstance(cell, Num):
        return f"${to_latex(num(cell.value))}$"
    return _inline((cell,))


def _table(table: Table) -> list[str]:
    numeric = [any(isinstance(row[c], Num) for row in table.rows) for c in range(len(table.header))]
    spec = "".join("r" if is_number else "l" for is_number in numeric)
    lines = ["\\begin{center}", "\\footnotesize"]
    if table.caption:
        lines.append(f"\\textbf{{{_inline(table.caption)}}}\\\\[2pt]")
    lines += [f"\\begin{{tabular}}{{{spec}}}", "\\hline",
              " & ".join(_cell(cell) for cell in table.header) + " \\\\", "\\hline"]
    lines += [" & ".join(_cell(cell) for cell in row) + " \\\\" for row in table.rows]
    lines += ["\\hline", "\\end{tabular}", "\\end{center}"]
    return lines


def _blocks(blocks: list) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            lines += [_inline(block.parts), ""]
        elif isinstance(block, Equation):
            tag = f" \\tag{{{_text(block.tag)}}}" if block.tag else ""
            lines += ["\\begin{equation*}", to_latex(block.source) + tag, "\\end{equation*}"]
        elif isinstance(block, Items):
            lines += ["\\begin{itemize}", *(f"\\item {_inline(item)}" for item in block.items), "\\end{itemize}"]
        elif isinstance(block, Table):
            lines += _table(block)
        elif isinstance(block, Subheading):
            lines.append(f"\\subsection*{{{_text(block.text)}}}")
        elif isinstance(block, Callout):
            lines += ["\\begin{quote}", f"\\textbf{{{_text(block.title)}}}", "", *_blocks(block.blocks),
                      "\\end{quote}"]
        elif isinstance(block, Code):
            lines += [f"\\noindent\\texttt{{{_text(block.caption)}}}", "{\\scriptsize", "\\begin{verbatim}",
                      _code(block.text), "\\end{verbatim}", "}"]
        elif isinstance(block, Picture):
            lines += [f"\\emph{{{_text(block.alt)}}}", ""]
        else:
            raise TypeError(f"LaTeX renderer: unknown block {type(block).__name__}")
    return lines


def render_latex(document: Document) -> str:
    """The document as a complete LaTeX source file."""
    lines = [
        "\\documentclass[11pt]{article}",
        "\\usepackage[margin=2cm]{geometry}",
        "\\usepackage{amsmath,amssymb}",
        "\\setlength{\\parindent}{0pt}",
        "\\setlength{\\parskip}{4pt}",
        f"\\title{{{_text(document.title)}}}",
        f"\\author{{{_text(document.subtitle)}}}",
        "\\date{}",
        "\\begin{document}",
        "\\maketitle",
    ]
    for section in document.sections:
        lines += [f"\\section*{{{_text(section.title)}}}", *_blocks(section.blocks), ""]
    lines.append("\\end{document}")
    return "\n".join(lines) + "\n"
