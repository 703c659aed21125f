// Draws the network as SVG: neurons in columns (layer 0 = the input), one edge per weight w^l_jk.
// Neurons are coloured by a^l_j going forward and by δ^l_j going backward; edges by w or by ∂C/∂w.

import { diverging, inkOn, maxAbs } from "./colors.js";
import { fmt } from "./format.js";
import { SIGMA_NAMES, currentLayer, edgeQuantity, layerName, neuronQuantity } from "./view.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const WIDTH = 820;
const HEIGHT = 400;
const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉";

const script = (n, digits) => String(n).split("").map((d) => digits[Number(d)]).join("");

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function positions(sizes) {
  const columns = sizes.length;
  const left = 70, right = WIDTH - 70, top = 48, bottom = HEIGHT - 24;
  const widest = Math.max(...sizes);
  const radius = Math.max(11, Math.min(24, (bottom - top) / widest / 2.6));
  return sizes.map((n, l) => {
    const x = columns === 1 ? WIDTH / 2 : left + ((right - left) * l) / (columns - 1);
    const gap = Math.min((bottom - top) / n, radius * 3.4);
    const start = (top + bottom) / 2 - (gap * (n - 1)) / 2;
    return Array.from({ length: n }, (_, j) => ({ x, y: start + gap * j, r: radius }));
  });
}

// A thin band around the edge from one neuron to the next: the area that answers the mouse.
function band(from, to, half) {
  const x1 = from.x + from.r, y1 = from.y, x2 = to.x - to.r, y2 = to.y;
  const length = Math.hypot(x2 - x1, y2 - y1) || 1;
  const nx = (-(y2 - y1) / length) * half, ny = ((x2 - x1) / length) * half;
  return [[x1 + nx, y1 + ny], [x2 + nx, y2 + ny], [x2 - nx, y2 - ny], [x1 - nx, y1 - ny]]
    .map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
}

// The scale of each kind of value among what is on show, so colours compare within one kind.
function scales(state) {
  const sizes = state.sizes;
  const shown = { a: [], delta: [], w: [], grad: [] };
  sizes.forEach((n, l) => {
    for (let j = 0; j < n; j += 1) {
      const q = neuronQuantity(state, l, j);
      if (q.kind) shown[q.kind].push(q.value);
      if (l > 0) for (let k = 0; k < sizes[l - 1]; k += 1) {
        const e = edgeQuantity(state, l, j, k);
        shown[e.kind].push(e.value);
      }
    }
  });
  return { a: maxAbs(shown.a), delta: maxAbs(shown.delta), w: maxAbs(shown.w), grad: maxAbs(shown.grad) };
}

function neuronLabel(kind, l, j) {
  if (l === 0) return `x${script(j + 1, SUBSCRIPT)}`;
  const base = kind === "delta" ? "δ" : "a";
  return `${base}${script(l, SUPERSCRIPT)}${script(j + 1, SUBSCRIPT)}`;
}

export function drawNetwork(svg, state, handlers, selected) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const sizes = state.sizes;
  const where = positions(sizes);
  const scale = scales(state);
  const current = currentLayer(state);

  const titles = el("g", {}, svg);
  sizes.forEach((_, l) => {
    const title = el("text", { x: where[l][0].x, y: 14, class: "layer-title" }, titles);
    el("tspan", { x: where[l][0].x, dy: 0 }, title).textContent = `layer ${l}`;
    const sigma = l === 0 ? "" : `, σ = ${SIGMA_NAMES[state.activations[l]]}`;
    el("tspan", { x: where[l][0].x, dy: 14 }, title).textContent = `${layerName(state, l)}${sigma}`;
    if (current && current.l === l) title.classList.add(current.direction === "forward" ? "active-f" : "active-b");
  });

  const edges = el("g", {}, svg);
  const hits = el("g", {}, svg);
  for (let l = 1; l < sizes.length; l += 1) {
    for (let j = 0; j < sizes[l]; j += 1) {
      for (let k = 0; k < sizes[l - 1]; k += 1) {
        const from = where[l - 1][k], to = where[l][j];
        const q = edgeQuantity(state, l, j, k);
        const s = scale[q.kind];
        const strength = Math.min(1, Math.abs(q.value) / s);
        const d = `M ${from.x + from.r} ${from.y} L ${to.x - to.r} ${to.y}`;
        const isSelected = selected && selected.type === "edge" && selected.l === l && selected.j === j && selected.k === k;
        if (isSelected) el("path", { d, class: "edge-halo", "stroke-width": (8 + 5 * strength).toFixed(2) }, edges);
        const edge = el("path", {
          d, class: "edge", id: `edge-${l}-${j + 1}-${k + 1}`,
          stroke: diverging(q.value, s), "stroke-width": (0.8 + 5 * strength).toFixed(2),
          opacity: (0.35 + 0.65 * strength).toFixed(2),
        }, edges);
        if (current && current.l === l) edge.classList.add(current.direction === "forward" ? "flow-forward" : "flow-backward");
        const target = { type: "edge", l, j, k };
        if (isSelected) edge.classList.add("selected");
        const hit = el("polygon", { points: band(from, to, 5), class: "edge-hit", "data-edge": `${l}-${j + 1}-${k + 1}` }, hits);
        hit.addEventListener("mouseenter", (event) => handlers.hover(target, event));
        hit.addEventListener("mousemove", (event) => handlers.hover(target, event));
        hit.addEventListener("mouseleave", () => handlers.leave());
        hit.addEventListener("click", () => handlers.select(target));
      }
    }
  }

  const neurons = el("g", {}, svg);
  sizes.forEach((n, l) => {
    for (let j = 0; j < n; j += 1) {
      const { x, y, r } = where[l][j];
      const q = neuronQuantity(state, l, j);
      const s = q.kind ? scale[q.kind] : 1;
      const group = el("g", { class: "neuron", id: `neuron-${l}-${j + 1}`, "data-kind": q.kind || "none" }, neurons);
      el("circle", { cx: x, cy: y, r, fill: q.kind ? diverging(q.value, s) : "#f3f4f6" }, group);
      if (q.kind) {
        const value = el("text", { x, y, class: "value", fill: inkOn(q.value, s), "font-size": Math.max(8, Math.min(11, r * 0.5)).toFixed(1) }, group);
        value.textContent = fmt(q.value, 2);
      }
      const name = el("text", { x, y: y + r + 13, class: "name" }, group);
      name.textContent = neuronLabel(q.kind, l, j);
      if (current && current.l === l) group.classList.add("current", current.direction);
      if (selected && selected.type === "neuron" && selected.l === l && selected.j === j) group.classList.add("selected");
      const target = { type: "neuron", l, j };
      group.addEventListener("mouseenter", (event) => handlers.hover(target, event));
      group.addEventListener("mousemove", (event) => handlers.hover(target, event));
      group.addEventListener("mouseleave", () => handlers.leave());
      group.addEventListener("click", () => handlers.select(target));
    }
  });
  return scale;
}
