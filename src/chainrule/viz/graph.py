"""Drawings of a computation graph: every Tensor as a box with its operation, value and gradient, left to right.

`draw_graph(root)` lays the graph out in layers (inputs on the left, the output on the right) in pure Python
and returns SVG text and Graphviz DOT text; it needs no Graphviz. Large arrays are summarised as their
shape and a few values, so graphs of a few hundred nodes stay readable.
"""
from __future__ import annotations

import html
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..autodiff import Tensor, topological_order
from ..autodiff.tensor import register_graph_drawer
from ..files import printable, write_atomically

MAX_NODES = 2000
CHAR_WIDTH = 7.0  # px per character of the 12 px monospace font
LINE_HEIGHT = 16
PADDING = 8
COLUMN_GAP = 56
ROW_GAP = 18
MARGIN = 20
HEADER = 84
MAX_LINE = 36  # characters per line inside a box

STYLE = {  # kind: (fill, border, explanation in the legend)
    "input": ("#dbeafe", "#2563eb", "input or parameter (a leaf that requires grad)"),
    "constant": ("#f3f4f6", "#6b7280", "data or constant (no gradient asked for)"),
    "operation": ("#fef9c3", "#a16207", "operation, with the value it computed"),
    "output": ("#fee2e2", "#b91c1c", "output (backward starts here)"),
}
GRAD_COLOUR = "#b91c1c"


def _xml(text: Any) -> str:
    """`text` for SVG: printable, with < > & and both quotes escaped."""
    return html.escape(printable(text), quote=True)


@dataclass
class GraphDrawing:
    """A drawn graph: `.svg` and `.dot` text, shown inline by Jupyter, written by `.save(path)`."""
    svg: str
    dot: str
    nodes: int
    edges: int

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | Path) -> Path:
        """Write the SVG (suffix .svg) or the DOT text (.dot or .gv); return the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".svg":
            text = self.svg
        elif suffix in (".dot", ".gv"):
            text = self.dot
        else:
            raise ValueError(f"draw_graph: cannot save as '{suffix or path.name}'; use a .svg, .dot or .gv file name")
        write_atomically(path, text)
        return path


@dataclass
class _Box:
    key: int
    kind: str
    lines: list[str]  # the first is the title; a line starting with "grad" is drawn in GRAD_COLOUR
    tooltip: str
    inputs: list[int]
    layer: int = 0
    row: float = 0.0
    weight: float = 0.0  # mean row of the neighbours, for ordering
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        return max(len(line) for line in self.lines) * CHAR_WIDTH + 2 * PADDING if self.lines else 0.0

    @property
    def height(self) -> float:
        if not self.lines:
            return 6.0
        shown = len(self.lines) if self.kind == "constant" else max(3, len(self.lines))  # room for 3 input ports
        return shown * LINE_HEIGHT + 2 * PADDING - 4


def draw_graph(root: Tensor, names: Mapping[str, Tensor] | None = None, title: str | None = None) -> GraphDrawing:
    """The graph that computed `root`, one box per Tensor (operation, value, .grad when known), as SVG and DOT."""
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: expected a chainrule Tensor, got {type(root).__name__}")
    label = {id(t): name for name, t in (names or {}).items()}
    try:
        order = topological_order(root)
    except RuntimeError:
        raise RuntimeError("draw_graph: backward() has already released this graph; call "
                           "backward(retain_graph=True) to draw it with its gradients") from None
    if len(order) > MAX_NODES:
        raise ValueError(f"draw_graph: the graph has {len(order)} tensors; drawings stop at {MAX_NODES}")
    boxes = _boxes(order, root, label)
    _assign_layers(boxes)
    n_nodes, n_edges = len(boxes), sum(len(b.inputs) for b in boxes.values())
    heading = title or f"Computation graph of {label.get(id(root), 'the output')}: {n_nodes} nodes, {n_edges} edges"
    dot = _dot(boxes, heading)
    edges = _route(boxes)
    _order_rows(boxes, edges)
    width, height, right = _place(boxes)
    return GraphDrawing(_svg(boxes, edges, width, height, right, heading), dot, n_nodes, n_edges)


# ------------------------------------------------------------------ what each box says
def summarize(value: Any, digits: int = 8) -> str:
    """A short text for a value: the number itself, or an array's shape and its first few numbers."""
    array = np.asarray(value)
    if array.size == 1:
        return _number(array.reshape(()).item(), digits)
    shown = ", ".join(_number(v, 3) for v in array.reshape(-1)[:3])
    more = ", …" if array.size > 3 else ""
    return f"[{shown}{more}]"


def shape_text(shape: tuple[int, ...]) -> str:
    """'8×16' for an array's shape, '' for a single number."""
    return "" if int(np.prod(shape)) == 1 else "×".join(map(str, shape))


def _number(v: Any, digits: int) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return f"{float(v):.{digits}g}"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE - 1] + "…"


def _operation_text(t: Tensor) -> str:
    params = {k: v for k, v in (t.params or {}).items() if v is not None and v is not False}  # hide defaults
    if not params:
        return t.op.name
    shown = ", ".join(f"{k}={_param_text(v)}" for k, v in params.items())
    return f"{t.op.name}({shown})"


def _param_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, slice):
        return f"{'' if value.start is None else value.start}:{'' if value.stop is None else value.stop}"
    if isinstance(value, tuple):
        return "(" + ",".join(_param_text(v) for v in value) + ")"
    return str(value)


def _boxes(order: list[Tensor], root: Tensor, label: dict[int, str]) -> dict[int, _Box]:
    boxes: dict[int, _Box] = {}
    for t in order:
        name = label.get(id(t))
        if t.op is None:
            kind = "input" if t.requires_grad else "constant"
            title = name or ("leaf" if t.requires_grad else "constant")
        else:
            kind = "output" if t is root else "operation"
            title = f"{name} = {_operation_text(t)}" if name else _operation_text(t)
        if shape_text(t.shape):
            title = f"{title}  ({shape_text(t.shape)})"
        lines = [_clip(title), _clip(f"value {summarize(t.data)}")]
        if t.grad is not None:
            lines.append(_clip(f"grad  {summarize(t.grad.data)}"))
        tooltip = f"{title}\nshape {t.shape}, dtype {t.dtype}\nvalue {np.array2string(np.asarray(t.data), threshold=20)}"
        if t.grad is not None:
            tooltip += f"\ngrad {np.array2string(np.asarray(t.grad.data), threshold=20)}"
        inputs: list[int] = []
        for i, x in enumerate(t.inputs or ()):
            if isinstance(x, Tensor):
                inputs.append(id(x))
            else:  # a plain number or array used by the operation: a small constant box of its own
                key = -(len(boxes) + 1) * 1000 - i
                text = summarize(x)
                boxes[key] = _Box(key, "constant", [_clip(text)], f"constant {text}", [])
                inputs.append(key)
        boxes[id(t)] = _Box(id(t), kind, lines, tooltip, inputs)
    return boxes


# ------------------------------------------------------------------ layout: layers left to right, rows by barycentre
def _assign_layers(boxes: dict[int, _Box]) -> None:
    """An operation sits one column right of its rightmost input; a leaf just left of its first consumer."""
    for box in boxes.values():  # boxes are in topological order (inputs first)
        box.layer = 1 + max((boxes[i].layer for i in box.inputs), default=-1)
    consumers: dict[int, list[int]] = {}
    for box in boxes.values():
        for i in box.inputs:
            consumers.setdefault(i, []).append(box.key)
    for box in boxes.values():
        if not box.inputs and box.key in consumers:
            box.layer = min(boxes[c].layer for c in consumers[box.key]) - 1


def _route(boxes: dict[int, _Box]) -> list[tuple[list[int], int, int]]:
    """Each edge as (its boxes from source to target, argument position, number of arguments); an edge that
    skips columns passes through a small invisible box in each column it crosses, so it never runs behind a box."""
    edges = []
    for box in list(boxes.values()):
        for position, key in enumerate(box.inputs):
            path = [key]
            for layer in range(boxes[key].layer + 1, box.layer):
                dummy = _Box(-len(boxes) - 10**9, "dummy", [], "", [path[-1]], layer=layer)
                boxes[dummy.key] = dummy
                path.append(dummy.key)
            path.append(box.key)
            edges.append((path, position, len(box.inputs)))
    return edges


def _order_rows(boxes: dict[int, _Box], edges: list[tuple[list[int], int, int]], sweeps: int = 8) -> None:
    """Order the boxes in each column by the mean row of their neighbours (fewer crossings), a few sweeps."""
    columns: dict[int, list[_Box]] = {}
    for box in boxes.values():
        columns.setdefault(box.layer, []).append(box)
    neighbours: dict[int, list[tuple[int, float]]] = {key: [] for key in boxes}
    for path, position, count in edges:
        port = 0.3 * (position - (count - 1) / 2) / max(count - 1, 1)  # argument 1 above argument 2, ...
        for a, b in itertools.pairwise(path):
            neighbours[a].append((b, port if b == path[-1] else 0.0))
            neighbours[b].append((a, 0.0))
    for column in columns.values():
        for row, box in enumerate(column):
            box.row = row
    layers = sorted(columns)
    for sweep in range(sweeps):
        for layer in (layers if sweep % 2 == 0 else reversed(layers)):
            column = columns[layer]
            for box in column:
                near = [boxes[n].row + port for n, port in neighbours[box.key]]
                box.weight = sum(near) / len(near) if near else box.row
            column.sort(key=lambda b: b.weight)
            for row, box in enumerate(column):
                box.row = row
    _swap_neighbours(boxes, columns, edges)


def _swap_neighbours(boxes: dict[int, _Box], columns: dict[int, list[_Box]],
                     edges: list[tuple[list[int], int, int]], passes: int = 4) -> None:
    """Exchange two boxes next to each other in a column whenever that removes edge crossings."""
    touching: dict[int, list[tuple[int, int, float]]] = {key: [] for key in boxes}
    for path, position, count in edges:
        port = 0.3 * (position - (count - 1) / 2) / max(count - 1, 1)
        for a, b in itertools.pairwise(path):
            segment = (a, b, port if b == path[-1] else 0.0)
            touching[a].append(segment)
            touching[b].append(segment)

    def crossings(column: list[_Box]) -> int:
        segments = {seg for box in column for seg in touching[box.key]}
        ends = [(boxes[a].layer, boxes[a].row, boxes[b].row + port) for a, b, port in segments]
        return sum(1 for i, (la, a1, b1) in enumerate(ends) for lb, a2, b2 in ends[i + 1:]
                   if la == lb and (a1 - a2) * (b1 - b2) < 0)

    for _ in range(passes):
        improved = False
        for column in columns.values():
            if len(column) < 2 or sum(len(touching[b.key]) for b in column) > 400:
                continue
            column.sort(key=lambda b: b.row)
            for i in range(len(column) - 1):
                before = crossings(column)
                column[i].row, column[i + 1].row = column[i + 1].row, column[i].row
                if crossings(column) < before:
                    column[i], column[i + 1] = column[i + 1], column[i]
                    improved = True
                else:
                    column[i].row, column[i + 1].row = column[i + 1].row, column[i].row
        if not improved:
            break


def _place(boxes: dict[int, _Box]) -> tuple[float, float, dict[int, float]]:
    """Pixel positions: columns as wide as their widest box, each column centred vertically.
    Returns the drawing's width and height and each column's right edge."""
    columns: dict[int, list[_Box]] = {}
    for box in boxes.values():
        columns.setdefault(box.layer, []).append(box)
    heights = {layer: sum(b.height for b in col) + ROW_GAP * (len(col) - 1) for layer, col in columns.items()}
    tallest = max(heights.values())
    right: dict[int, float] = {}
    x = MARGIN
    for layer in sorted(columns):
        column = sorted(columns[layer], key=lambda b: b.row)
        y = HEADER + (tallest - heights[layer]) / 2
        for box in column:
            box.x, box.y = x, y
            y += box.height + ROW_GAP
        right[layer] = x + max(b.width for b in column)
        for box in column:
            if box.kind == "dummy":  # an edge crosses the whole column
                box.x = x
        x = right[layer] + COLUMN_GAP
    return x - COLUMN_GAP + MARGIN, HEADER + tallest + MARGIN, right


# ------------------------------------------------------------------ SVG and DOT
def _edge_path(boxes: dict[int, _Box], path: list[int], position: int, count: int, right: dict[int, float]) -> str:
    """An SVG path from the source's right side, across skipped columns, into the target's argument port."""
    source = boxes[path[0]]
    x, y = source.x + source.width, source.y + source.height / 2
    parts = [f"M {x:.1f} {y:.1f}"]
    if right[source.layer] > x:
        x = right[source.layer]
        parts.append(f"L {x:.1f} {y:.1f}")
    for key in path[1:]:
        box = boxes[key]
        if box.kind == "dummy":
            x2, y2 = box.x, box.y + box.height / 2
        else:
            x2, y2 = box.x, box.y + box.height * (position + 1) / (count + 1)
        bend = (x2 - x) / 2
        parts.append(f"C {x + bend:.1f} {y:.1f} {x2 - bend:.1f} {y2:.1f} {x2:.1f} {y2:.1f}")
        x, y = x2, y2
        if box.kind == "dummy":
            x = right[box.layer]
            parts.append(f"L {x:.1f} {y:.1f}")
    return " ".join(parts)


def _legend(x0: float) -> tuple[list[str], float]:
    out, x, width = [], x0, 0.0
    rows = (("input", "operation", "output"), ("constant", "grad"))
    for r, kinds in enumerate(rows):
        x, y = x0, 34 + r * 16
        for kind in kinds:
            if kind == "grad":
                meaning = "grad: ∂output/∂node, known after backward()"
                out.append(f'<text x="{x}" y="{y + 10}" font-size="11" fill="{GRAD_COLOUR}">{meaning}</text>')
            else:
                fill, border, meaning = STYLE[kind]
                out.append(f'<rect x="{x}" y="{y}" width="14" height="12" rx="3" fill="{fill}" stroke="{border}"/>')
                out.append(f'<text x="{x + 19}" y="{y + 10}" font-size="11" fill="#374151">{_xml(meaning)}</text>')
                x += 19
            x += len(meaning) * 6.7 + 18
        width = max(width, x)
    return out, width


def _svg(boxes: dict[int, _Box], edges: list, width: float, height: float, right: dict[int, float],
         heading: str) -> str:
    legend, legend_width = _legend(MARGIN)
    width = max(width, legend_width, len(heading) * 9.0 + 2 * MARGIN)
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
           'font-size="12">'),
           ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#475569"/></marker></defs>'),
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>',
           f'<text x="{MARGIN}" y="22" font-size="15" font-weight="bold" fill="#111827">{_xml(heading)}</text>',
           *legend]
    for path, position, count in edges:
        out.append(f'<path d="{_edge_path(boxes, path, position, count, right)}" fill="none" stroke="#475569" '
                   'stroke-width="1.3" marker-end="url(#arrow)"/>')
        if count > 1:
            target = boxes[path[-1]]
            y = target.y + target.height * (position + 1) / (count + 1)
            out.append(f'<text x="{target.x - 9:.1f}" y="{y - 4:.1f}" font-size="10" fill="#475569" '
                       f'text-anchor="end">{position + 1}</text>')
    for box in boxes.values():
        if box.kind == "dummy":
            continue
        fill, border, _ = STYLE[box.kind]
        out.append(f'<g><title>{"&#10;".join(_xml(part) for part in box.tooltip.split(chr(10)))}</title>'
                   f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" rx="6" '
                   f'fill="{fill}" stroke="{border}" stroke-width="1.5"/>')
        for n, line in enumerate(box.lines):
            colour = GRAD_COLOUR if line.startswith("grad") else "#111827"
            weight = ' font-weight="bold"' if n == 0 and box.kind != "constant" else ""
            out.append(f'<text x="{box.x + PADDING:.1f}" y="{box.y + PADDING + 10 + n * LINE_HEIGHT:.1f}" '
                       f'fill="{colour}"{weight}>{_xml(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    """`text` inside a DOT double-quoted string: printable, with backslashes and quotes escaped (so Graphviz's
    own escapes such as \\N or \\l cannot be written from a label)."""
    return printable(text).replace("\\", "\\\\").replace('"', '\\"')


def _dot(boxes: dict[int, _Box], heading: str) -> str:
    names = {key: f"n{i}" for i, key in enumerate(boxes)}
    out = ["digraph chainrule {", "  rankdir=LR;", f'  label="{_dot_text(heading)}"; labelloc=t;',
           '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=11];']
    for key, box in boxes.items():
        fill, border, _ = STYLE[box.kind]
        label = "\\n".join(_dot_text(line) for line in box.lines)
        out.append(f'  {names[key]} [label="{label}", fillcolor="{fill}", color="{border}"];')
    for box in boxes.values():
        for position, key in enumerate(box.inputs):
            extra = f' [label="{position + 1}", fontsize=9]' if len(box.inputs) > 1 else ""
            out.append(f"  {names[key]} -> {names[box.key]}{extra};")
    out.append("}")
    return "\n".join(out) + "\n"


register_graph_drawer(draw_graph)  # Tensor.graph() draws with this; the engine does not import viz
