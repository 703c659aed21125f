// The two plots: the decision boundary of the 2-D data with its points, and the cost per parameter
// update for the training and the test set. Both draw numbers the server computed.

import { classColour, classRgb, diverging, divergingRgb, maxAbs } from "./colors.js";
import { fmt } from "./format.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function el(name, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function niceTicks(lo, hi, count = 5) {
  const span = hi - lo || 1;
  const step0 = span / count;
  const power = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

// The grid of P(class 1 | x) as an image: the more likely class's colour, paler where the network is unsure
// (solid when `discretize`); for regression, the predicted number on the blue/orange scale.
function boundaryImage(boundary, discretize) {
  const n = boundary.resolution;
  const canvas = document.createElement("canvas");
  canvas.width = n;
  canvas.height = n;
  const context = canvas.getContext("2d");
  const image = context.createImageData(n, n);
  const scale = boundary.kind === "value" ? maxAbs(boundary.probability) : 1;
  for (let row = 0; row < n; row += 1) {
    for (let col = 0; col < n; col += 1) {
      const p = boundary.probability[row][col];
      let rgb;
      if (boundary.kind === "value") {
        const shown = discretize ? Math.sign(p) * scale : p;
        rgb = mixWhite(divergingRgb(shown, scale), 0.25);
      } else {
        const confidence = discretize ? 1 : Math.abs(p - 0.5) * 2;
        const t = 0.12 + 0.5 * Math.max(0, Math.min(1, confidence));
        rgb = classRgb(p >= 0.5 ? 1 : 0).map((c) => Math.round(255 + (c - 255) * t));
      }
      const offset = 4 * ((n - 1 - row) * n + col);  // row 0 is the bottom (smallest y)
      for (let c = 0; c < 3; c += 1) image.data[offset + c] = rgb[c];
      image.data[offset + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return canvas.toDataURL();
}

function mixWhite(rgb, share) {
  return rgb.map((c) => Math.round(c + (255 - c) * share));
}

// The points are drawn once per data set and view (they do not move while the network trains).
let pointsCache = { data: null, showTest: null, group: null };

function pointColour(data, split, index) {
  const target = data[split].y[index];
  return data.classes ? classColour(target) : diverging(target, maxAbs(data.train.y));
}

function pointsGroup(data, sx, sy, showTest, onPick) {
  if (pointsCache.data === data && pointsCache.showTest === showTest) return pointsCache.group;
  const points = el("g", { class: "points" });
  for (const split of showTest ? ["train", "test"] : ["train"]) {
    const set = data[split];
    set.x.forEach(([x1, x2], index) => {
      const colour = pointColour(data, split, index);
      const dot = el("circle", {
        cx: sx(x1).toFixed(1), cy: sy(x2).toFixed(1), r: split === "train" ? 3.6 : 3.4,
        fill: split === "train" ? colour : "#ffffff", stroke: split === "train" ? "#ffffff" : colour,
        "stroke-width": split === "train" ? 0.9 : 1.8, class: `point ${split}`,
        "data-split": split, "data-index": index,
      }, points);
      const title = el("title", {}, dot);
      const what = data.classes ? `class ${set.y[index]}` : `target ${fmt(set.y[index], 3)}`;
      title.textContent = `${split} example ${index}: x = (${fmt(x1, 3)}, ${fmt(x2, 3)}), ${what}`;
    });
  }
  points.addEventListener("click", (event) => {
    const dot = event.target.closest("circle.point");
    if (dot) onPick(dot.dataset.split, Number(dot.dataset.index));
  });
  pointsCache = { data, showTest, group: points };
  return points;
}

export function drawBoundary(svg, state, data, onPick, view = {}) {
  const size = 360, pad = 28;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  const boundary = state.boundary;
  const [xmin, xmax, ymin, ymax] = boundary.extent;
  const inner = size - 2 * pad;
  const sx = (x) => pad + ((x - xmin) / (xmax - xmin)) * inner;
  const sy = (y) => size - pad - ((y - ymin) / (ymax - ymin)) * inner;
  el("image", {
    href: boundaryImage(boundary, view.discretize), x: pad, y: pad, width: inner, height: inner,
    preserveAspectRatio: "none", style: "image-rendering: auto",
  }, svg);
  el("rect", { x: pad, y: pad, width: inner, height: inner, fill: "none", stroke: "#9ca3af" }, svg);
  const axis = el("g", { class: "axis" }, svg);
  for (const t of niceTicks(xmin, xmax, 4)) {
    const label = el("text", { x: sx(t), y: size - pad + 13, "text-anchor": "middle" }, axis);
    label.textContent = fmt(t, 2);
  }
  for (const t of niceTicks(ymin, ymax, 4)) {
    const label = el("text", { x: pad - 4, y: sy(t) + 3, "text-anchor": "end" }, axis);
    label.textContent = fmt(t, 2);
  }
  const xName = el("text", { x: size - pad, y: size - 3, "text-anchor": "end" }, axis);
  xName.textContent = "x₁";
  const yName = el("text", { x: 4, y: pad - 8 }, axis);
  yName.textContent = "x₂";
  svg.appendChild(pointsGroup(data, sx, sy, view.showTest !== false, onPick));
  const [ex1, ex2] = state.example.x;
  el("circle", { cx: sx(ex1), cy: sy(ex2), r: 8, fill: "none", stroke: "#111827", "stroke-width": 2.2, id: "current-example" }, svg);
}

// Ticks for a log axis: the powers of ten in [lo, hi] (at least two values: the ends when no power falls inside).
function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e += 1) ticks.push(10 ** e);
  return ticks.length >= 2 ? ticks : [lo, hi];
}

export function drawLossCurve(svg, history, logScale = false) {
  const width = 360, height = 200, left = 48, right = 22, top = 24, bottom = 30;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const xs = history.updates;
  const series = [
    { name: "training", values: history.train_loss, colour: "#2563eb", dash: "" },
    { name: "test", values: history.test_loss, colour: "#c2410c", dash: "5 3" },
  ];
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && (!logScale || v > 0));
  const yMax = all.length ? Math.max(...all) * 1.05 || 1 : 1;
  const yMin = logScale ? (all.length ? Math.min(...all) / 1.5 : 1e-3) : 0;
  const xMax = xs.length ? Math.max(1, xs[xs.length - 1]) : 1;
  const sx = (x) => left + (x / xMax) * (width - left - right);
  const frac = (y) => (logScale ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin) || 1)
    : y / yMax);
  const sy = (y) => height - bottom - frac(y) * (height - top - bottom);
  const axis = el("g", { class: "axis" }, svg);
  for (const t of logScale ? logTicks(yMin, yMax) : niceTicks(0, yMax, 4)) {
    el("line", { x1: left, x2: width - right, y1: sy(t), y2: sy(t), stroke: "#eef2f7" }, axis);
    const label = el("text", { x: left - 4, y: sy(t) + 3, "text-anchor": "end" }, axis);
    label.textContent = fmt(t, 2);
  }
  const xTicks = niceTicks(0, xMax, 4);
  xTicks.forEach((t) => {
    // The last label ends at its tick when it would cross the right edge: never cut off.
    const anchor = sx(t) + 3 * String(t).length > width - 2 ? "end" : "middle";
    const label = el("text", { x: sx(t), y: height - bottom + 13, "text-anchor": anchor }, axis);
    label.textContent = fmt(t, 3);
  });
  el("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }, axis);
  el("line", { x1: left, x2: left, y1: top, y2: height - bottom }, axis);
  const xName = el("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle" }, axis);
  xName.textContent = "parameter updates";
  const yName = el("text", { x: 12, y: (top + height - bottom) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${(top + height - bottom) / 2})` }, axis);
  yName.textContent = logScale ? "cost C₀ (log scale)" : "cost C₀";
  series.forEach((s, i) => {
    if (xs.length) {
      const d = xs.map((x, index) => `${index ? "L" : "M"} ${sx(x).toFixed(1)} ${sy(s.values[index]).toFixed(1)}`).join(" ");
      el("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2, "stroke-dasharray": s.dash, class: "curve" }, svg);
      const last = xs.length - 1;
      el("circle", { cx: sx(xs[last]), cy: sy(s.values[last]), r: 3, fill: s.colour }, svg);
    }
    const key = el("g", {}, svg);  // the key sits above the plot, where no curve can hide it
    const x0 = left + 10 + 110 * i;
    el("line", { x1: x0, x2: x0 + 22, y1: 9, y2: 9, stroke: s.colour, "stroke-width": 2, "stroke-dasharray": s.dash }, key);
    const label = el("text", { x: x0 + 27, y: 13, "font-size": 11, fill: "#374151" }, key);
    label.textContent = `${s.name} set`;
  });
  if (!xs.length) {
    const note = el("text", { x: (left + width) / 2, y: height / 2, "text-anchor": "middle", fill: "#4b5563", "font-size": 12 }, svg);
    note.textContent = "press Train, or apply an update";
  }
}
