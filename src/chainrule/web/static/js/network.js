// Draws the network as SVG: neurons in columns (layer 0 = the input features), one edge per weight w^l_jk.
// Neurons are coloured by a^l_j going forward and by δ^l_j going backward, or show their heat map (a^l_j over
// the input plane); edges by w or by ∂C/∂w, negative ones dashed. The layout is computed from the drawing's
// size in pixels: circles, fonts and labels shrink with depth and width, and a label that would not fit is
// left out (its number is in the neuron's accessible name, the tooltip and the table).

import { diverging, divergingRgb, inkOnRgb, maxAbs } from "./colors.js";
import { fmt } from "./format.js";
import { atlasUrl } from "./heatmap.js";
import { SIGMA_NAMES, currentLayer, edgeQuantity, layerName, neuronName, neuronQuantity, shortLayerName } from "./view.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const NAME_FONT = 11;

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

const clamp = (value, lo, hi) => Math.max(lo, Math.min(hi, value));
const textWidth = (text, font) => 0.62 * font * [...text].length;  // a safe over-estimate for these fonts

// The drawing's size: its width on the page, a height from the aspect ratio (taller for wider layers).
export function drawingSize(svg, sizes) {
  const width = Math.max(280, Math.round(svg.clientWidth || 820));
  const widest = Math.max(...sizes);
  const height = Math.round(clamp(width * (widest > 4 ? 0.8 : 0.6), 260, 480));
  return { width, height };
}

// Where everything goes: a column per layer, a radius and fonts from the room there is, and which labels fit.
export function layout(sizes, width, height) {
  const columns = sizes.length;
  const marginX = clamp(width * 0.07, 26, 64);
  const colGap = columns > 1 ? (width - 2 * marginX) / (columns - 1) : width;
  const sigmaLine = colGap >= 70;
  const titleFont = colGap >= 50 ? 12 : 10;
  const top = (sigmaLine ? 2 * titleFont + 14 : titleFont + 12) + 4;
  const bottom = height - 6;
  const widest = Math.max(...sizes);
  const r = clamp(Math.min(colGap * 0.22, ((bottom - top) / widest) * 0.34), 7, 22);
  const valueFont = clamp(r * 0.55, 8, 12);
  const x = (l) => (columns === 1 ? width / 2 : marginX + colGap * l);
  const where = sizes.map((n, l) => {
    const gap = Math.min((bottom - top - r) / n, r * 3.6);
    const start = (top + bottom - NAME_FONT) / 2 - (gap * (n - 1)) / 2;
    const names = gap - 2 * r >= NAME_FONT + 3;
    return Array.from({ length: n }, (_, j) => ({ x: x(l), y: start + gap * j, r, names }));
  });
  return { where, colGap, sigmaLine, titleFont, valueFont, r, x };
}

// A thin band around the edge from one neuron to the next: the area that answers the mouse.
function band(from, to, half) {
  const x1 = from.x + from.r, y1 = from.y, x2 = to.x - to.r, y2 = to.y;
  const length = Math.hypot(x2 - x1, y2 - y1) || 1;
  const nx = (-(y2 - y1) / length) * half, ny = ((x2 - x1) / length) * half;
  return [[x1 + nx, y1 + ny], [x2 + nx, y2 + ny], [x2 - nx, y2 - ny], [x1 - nx, y1 - ny]]
    .map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
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

function drawTitles(svg, state, shape, current) {
  const titles = el("g", { class: "titles" }, svg);
  state.sizes.forEach((_, l) => {
    const x = shape.x(l);
    const title = el("text", { x, y: shape.titleFont + 2, class: "layer-title", "font-size": shape.titleFont }, titles);
    title.textContent = shape.sigmaLine ? layerName(state, l) : shortLayerName(state, l);
    if (shape.sigmaLine && l > 0) {
      const sigma = el("text", { x, y: 2 * shape.titleFont + 6, class: "layer-title sigma", "font-size": shape.titleFont }, titles);
      sigma.textContent = `σ = ${SIGMA_NAMES[state.activations[l]] || state.activations[l]}`;
    }
    if (current && current.l === l) title.classList.add(current.direction === "forward" ? "active-f" : "active-b");
  });
}

function drawEdges(svg, state, shape, scale, current, selected) {
  const edges = el("g", { class: "edges" }, svg);
  const hits = el("g", { class: "hits" }, svg);
  const sizes = state.sizes;
  for (let l = 1; l < sizes.length; l += 1) {
    for (let j = 0; j < sizes[l]; j += 1) {
      for (let k = 0; k < sizes[l - 1]; k += 1) {
        const from = shape.where[l - 1][k], to = shape.where[l][j];
        const q = edgeQuantity(state, l, j, k);
        const strength = Math.min(1, Math.abs(q.value) / scale[q.kind]);
        const d = `M ${(from.x + from.r).toFixed(1)} ${from.y.toFixed(1)} L ${(to.x - to.r).toFixed(1)} ${to.y.toFixed(1)}`;
        const isSelected = selected && selected.type === "edge" && selected.l === l && selected.j === j && selected.k === k;
        if (isSelected) el("path", { d, class: "edge-halo", "stroke-width": (8 + 5 * strength).toFixed(2) }, edges);
        const negative = q.value < 0;
        const edge = el("path", {
          d, class: `edge ${negative ? "negative" : "positive"}`, id: `edge-${l}-${j + 1}-${k + 1}`,
          stroke: diverging(q.value, scale[q.kind]), "stroke-width": (0.8 + 4 * strength).toFixed(2),
          opacity: (0.35 + 0.65 * strength).toFixed(2),
        }, edges);
        if (current && current.l === l) edge.classList.add(current.direction === "forward" ? "flow-forward" : "flow-backward");
        el("polygon", { points: band(from, to, 5), class: "edge-hit", "data-edge": `${l}-${j + 1}-${k + 1}` }, hits);
      }
    }
  }
}

// The neuron or edge an event happened on, from the element's data (one set of listeners for the drawing).
function targetOf(event) {
  const node = event.target.closest && event.target.closest("[data-neuron], [data-edge]");
  if (!node) return null;
  if (node.dataset.neuron) {
    const [l, j] = node.dataset.neuron.split("-").map(Number);
    return { type: "neuron", l, j: j - 1 };
  }
  const [l, j, k] = node.dataset.edge.split("-").map(Number);
  return { type: "edge", l, j: j - 1, k: k - 1 };
}

// Listeners on the drawing itself, set once: a tooltip follows a mouse or a pen; a finger's tap selects instead
// (the numbers go to the details card), so no tooltip is left over the drawing on a phone.
export function listen(svg, handlers) {
  svg.addEventListener("pointermove", (event) => {
    const target = targetOf(event);
    if (target && event.pointerType !== "touch") handlers.hover(target, event);
    else handlers.leave();
  });
  svg.addEventListener("pointerleave", () => handlers.leave());
  svg.addEventListener("click", (event) => {
    const target = targetOf(event);
    if (target) handlers.select(target, event);
  });
  svg.addEventListener("keydown", (event) => {
    const target = targetOf(event);
    if (target && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      handlers.select(target, event);
    }
  });
}

function neuronLabel(state, l, j, q) {
  const value = q.kind ? `, ${q.kind === "delta" ? "δ" : "a"} = ${fmt(q.value, 4)}` : "";
  return `${neuronName(state, q.kind, l, j)}: neuron ${j + 1} of the ${layerName(state, l)} layer${value}`;
}

// The circle (or heat map) goes in the neuron's focusable group; its texts in `labels`, a layer of their own
// hidden from screen readers (the group's accessible name says the same in full).
function drawNeuron(group, labels, state, shape, l, j, scale, atlas, defs) {
  const { x, y, r, names } = shape.where[l][j];
  const q = neuronQuantity(state, l, j);
  const slot = atlas.slots.get(`${l}-${j}`);
  if (slot !== undefined) {
    // The neuron's heat map: its slot of the atlas, seen through a viewport the size of the circle.
    const n = state.heatmaps.resolution;
    const clip = el("clipPath", { id: `clip-${l}-${j + 1}` }, defs);
    el("circle", { cx: x, cy: y, r }, clip);
    const clipped = el("g", { "clip-path": `url(#clip-${l}-${j + 1})` }, group);
    const view = el("svg", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, viewBox: `0 ${slot * n} ${n} ${n}`,
      preserveAspectRatio: "none", class: "heat" }, clipped);
    el("image", { href: atlas.url, x: 0, y: 0, width: n, height: n * atlas.count, preserveAspectRatio: "none" }, view);
    el("circle", { cx: x, cy: y, r, fill: "none", class: "ring" }, group);
  } else {
    const rgb = q.kind ? divergingRgb(q.value, scale[q.kind]) : [243, 244, 246];
    el("circle", { cx: x, cy: y, r, fill: `rgb(${rgb.join(",")})` }, group);
    const text = q.kind ? fmt(q.value, 2) : "";
    if (text && textWidth(text, shape.valueFont) <= 2 * r - 3) {
      const value = el("text", { x, y, class: "value", fill: inkOnRgb(rgb), "data-on": `rgb(${rgb.join(",")})`,
        "font-size": shape.valueFont.toFixed(1) }, labels);
      value.textContent = text;
    }
  }
  if (names) {
    const name = el("text", { x, y: y + r + NAME_FONT, class: "name", "font-size": NAME_FONT }, labels);
    name.textContent = neuronName(state, q.kind, l, j);
  }
  return q;
}

// The neurons that show their heat map (all with `everyNeuron`; else those with no value for the example yet),
// and their pictures in one atlas image.
function heatmapAtlas(state, everyNeuron) {
  const slots = new Map(), pictures = [];
  if (state.heatmaps) {
    state.sizes.forEach((n, l) => {
      for (let j = 0; j < n; j += 1) {
        if (everyNeuron || !neuronQuantity(state, l, j).kind) {
          slots.set(`${l}-${j}`, pictures.length);
          pictures.push(state.heatmaps.layers[l][j]);
        }
      }
    });
  }
  const url = pictures.length ? atlasUrl(pictures, state.heatmaps.resolution) : null;
  return { slots, url, count: pictures.length };
}

export function drawNetwork(svg, state, selected, options = {}) {
  svg.replaceChildren();
  const { width, height } = drawingSize(svg, state.sizes);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.height = `${height}px`;
  const shape = layout(state.sizes, width, height);
  const scale = scales(state);
  const current = currentLayer(state);
  const defs = el("defs", {}, svg);
  drawTitles(svg, state, shape, current);
  drawEdges(svg, state, shape, scale, current, selected);
  const neurons = el("g", { class: "neurons" }, svg);
  const labels = el("g", { class: "labels", "aria-hidden": "true" }, svg);
  const atlas = heatmapAtlas(state, options.heatmaps);
  state.sizes.forEach((n, l) => {
    for (let j = 0; j < n; j += 1) {
      const group = el("g", { class: "neuron", id: `neuron-${l}-${j + 1}`, tabindex: "0", role: "button",
        "data-neuron": `${l}-${j + 1}` }, neurons);
      const q = drawNeuron(group, labels, state, shape, l, j, scale, atlas, defs);
      group.dataset.kind = q.kind || "none";
      group.setAttribute("aria-label", neuronLabel(state, l, j, q));
      if (current && current.l === l) group.classList.add("current", current.direction);
      if (selected && selected.type === "neuron" && selected.l === l && selected.j === j) group.classList.add("selected");
    }
  });
  return scale;
}
