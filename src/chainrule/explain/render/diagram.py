"""Draw the explained network as SVG: neurons as circles (with a and δ), weights as lines labelled with w.

Layers run left to right; for a batch, or a network too large to label, only the structure is drawn.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass

from ..network import Explanation
from .document import fmt
from .math import to_text

COLOURS = {"input": "#8a93a6", "hidden": "#3b6fd8", "output": "#e07a1f"}
MAX_LABELLED = 6  # neurons per layer beyond which weights are not labelled


def _text(x: float, y: float, text: str, size: int = 13, anchor: str = "middle", colour: str = "#1f2330",
          weight: str = "normal", halo: bool = False) -> str:
    halo_attributes = ' stroke="#ffffff" stroke-width="4" paint-order="stroke"' if halo else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="{weight}"{halo_attributes}>{html.escape(text)}</text>')


@dataclass(frozen=True)
class _Layout:
    """Where the drawing puts things: one column per layer, neurons spread evenly in their column."""
    sizes: tuple[int, ...]
    labelled: bool
    gap_x: float
    gap_y: float
    radius: float
    height: float

    def position(self, l: int, j: int) -> tuple[float, float]:
        top = (self.height + 40 - self.gap_y * self.sizes[l]) / 2 + self.gap_y / 2
        return 130 + self.gap_x * l, top + self.gap_y * j - 10


def network_svg(e: Explanation) -> str:
    """An SVG drawing of the network of `e`, with the numbers of its (first) example."""
    sizes, L = e.sizes, e.L
    labelled = max(sizes) <= MAX_LABELLED
    gap_x, gap_y = 250, 120 if labelled else 54
    width, height = gap_x * L + 260, gap_y * max(sizes) + 110
    layout = _Layout(tuple(sizes), labelled, gap_x, gap_y, 30 if labelled else 14, height)
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" font-family="system-ui, sans-serif" role="img" '
             f'aria-label="the network, layer by layer">')]
    for l in range(L + 1):
        kind = "input" if l == 0 else "output" if l == L else "hidden"
        name = "input" if l == 0 else f"output, {e.activations[l]}" if l == L else e.activations[l]
        parts.append(_text(130 + gap_x * l, 24, f"layer {l} ({name})", 14, colour=COLOURS[kind], weight="600"))
    for l in range(1, L + 1):
        for j in range(sizes[l]):
            for k in range(sizes[l - 1]):
                parts += _edge(e, layout, l, j, k)
    for l in range(L + 1):
        for j in range(sizes[l]):
            parts += _neuron(e, layout, l, j)
    parts.append("</svg>")
    return "".join(parts)


def _edge(e: Explanation, layout: _Layout, l: int, j: int, k: int) -> list[str]:
    """The line for w^l_jk, labelled along it when the network is small enough to label."""
    (x1, y1), (x2, y2), radius = layout.position(l - 1, k), layout.position(l, j), layout.radius
    parts = [f'<line x1="{x1 + radius:.1f}" y1="{y1:.1f}" x2="{x2 - radius:.1f}" y2="{y2:.1f}" '
             f'stroke="#b8c0d0" stroke-width="1.6"/>']
    if layout.labelled:  # along the line, staggered by target so that crossing labels stay apart
        s = 0.22 + 0.5 * j / max(1, layout.sizes[l] - 1)
        sx, ex = x1 + radius, x2 - radius
        lx, ly = sx + s * (ex - sx), y1 + s * (y2 - y1)
        angle = math.degrees(math.atan2(y2 - y1, ex - sx))
        label = f"{to_text(f'w^{{{l}}}_{{{j + 1}{k + 1}}}')} = {fmt(e.derivation.W[l][j, k])}"
        parts.append(f'<g transform="translate({lx:.1f} {ly:.1f}) rotate({angle:.1f})">'
                     f'{_text(0, -4, label, 11, colour="#4a5470", halo=True)}</g>')
    return parts


def _neuron(e: Explanation, layout: _Layout, l: int, j: int) -> list[str]:
    """The circle for neuron j of layer l, with its name and (for one example) a, b, δ and the target."""
    d, L = e.derivation, e.L
    kind = "input" if l == 0 else "output" if l == L else "hidden"
    (x, y), radius = layout.position(l, j), layout.radius
    parts = [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="#ffffff" '
             f'stroke="{COLOURS[kind]}" stroke-width="3"/>']
    if not layout.labelled:
        return parts
    name = to_text(f"x_{{{j + 1}}}") if l == 0 else to_text(f"a^{{{l}}}_{{{j + 1}}}")
    parts.append(_text(x, y + 5, name, 15, colour=COLOURS[kind], weight="600"))
    if e.N != 1:
        return parts
    lines = [f"a = {fmt(d.a[l][j, 0])}"]
    if l > 0:
        lines = [f"b = {fmt(d.b[l][j])}", *lines, f"δ = {fmt(d.delta[l][j, 0])}"]
    for row, line in enumerate(lines):
        colour = "#c0392b" if line.startswith("δ") else "#1f2330"
        parts.append(_text(x, y + radius + 16 + 15 * row, line, 12, colour=colour, halo=True))
    if l == L:
        parts.append(_text(x + radius + 10, y + 5, f"t = {fmt(e.t[0, j])}", 12, anchor="start", colour="#6b7280"))
    return parts
