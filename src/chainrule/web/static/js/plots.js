// The two plots: the decision boundary of the 2-D data with its points, and the cost per parameter
// update for the training and the test set. Both draw numbers the server computed.

import { classColour, classRgb } from "./colors.js";
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

// The grid of P(class 1 | x) as an image: the more likely class's colour, paler where the network is unsure.
function boundaryImage(boundary) {
  const n = boundary.resolution;
  const canvas = document.createElement("canvas");
  canvas.width = n;
  canvas.height = n;
  const context = canvas.getContext("2d");
  const image = context.createImageData(n, n);
  for (let row = 0; row < n; row += 1) {
    for (let col = 0; col < n; col += 1) {
      const p = boundary.probability[row][col];
      const label = p >= 0.5 ? 1 : 0;
      const confidence = Math.abs(p - 0.5) * 2;
      const rgb = classRgb(label);
      const t = 0.12 + 0.5 * Math.max(0, Math.min(1, confidence));
      const offset = 4 * ((n - 1 - row) * n + col);  // row 0 is the bottom (smallest y)
      for (let c = 0; c < 3; c += 1) image.data[offset + c] = Math.round(255 + (rgb[c] - 255) * t);
      image.data[offset + 3] = 255;
    }
  }
  context.putImageData(image, 0, 0);
  return canvas.toDataURL();
}

export function drawBoundary(svg, state, data, onPick) {
  const size = 360, pad = 28;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  const boundary = state.boundary;
  const [xmin, xmax, ymin, ymax] = boundary.extent;
  const inner = size - 2 * pad;
  const sx = (x) => pad + ((x - xmin) / (xmax - xmin)) * inner;
  const sy = (y) => size - pad - ((y - ymin) / (ymax - ymin)) * inner;
  el("image", {
    href: boundaryImage(boundary), x: pad, y: pad, width: inner, height: inner,
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
  const points = el("g", {}, svg);
  for (const split of ["train", "test"]) {
    const set = data[split];
    set.x.forEach(([x1, x2], index) => {
      const label = set.y[index];
      const dot = el("circle", {
        cx: sx(x1), cy: sy(x2), r: split === "train" ? 3.6 : 3.4,
        fill: split === "train" ? classColour(label) : "#ffffff",
        stroke: split === "train" ? "#ffffff" : classColour(label),
        "stroke-width": split === "train" ? 0.9 : 1.8, class: `point ${split}`,
        "data-split": split, "data-index": index, style: "cursor: pointer",
      }, points);
      const title = el("title", {}, dot);
      title.textContent = `${split} example ${index}: x = (${fmt(x1, 3)}, ${fmt(x2, 3)}), class ${label}`;
      dot.addEventListener("click", () => onPick(split, index));
    });
  }
  const example = state.example;
  const [ex1, ex2] = example.x;
  el("circle", { cx: sx(ex1), cy: sy(ex2), r: 8, fill: "none", stroke: "#111827", "stroke-width": 2.2, id: "current-example" }, svg);
}

export function drawLossCurve(svg, history) {
  const width = 360, height = 200, left = 44, right = 10, top = 24, bottom = 30;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const xs = history.updates;
  const series = [
    { name: "training", values: history.train_loss, colour: "#2563eb", dash: "" },
    { name: "test", values: history.test_loss, colour: "#ea580c", dash: "5 3" },
  ];
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const yMax = all.length ? Math.max(...all) * 1.05 || 1 : 1;
  const xMax = xs.length ? Math.max(1, xs[xs.length - 1]) : 1;
  const sx = (x) => left + (x / xMax) * (width - left - right);
  const sy = (y) => height - bottom - (y / yMax) * (height - top - bottom);
  const axis = el("g", { class: "axis" }, svg);
  for (const t of niceTicks(0, yMax, 4)) {
    el("line", { x1: left, x2: width - right, y1: sy(t), y2: sy(t), stroke: "#eef2f7" }, axis);
    const label = el("text", { x: left - 4, y: sy(t) + 3, "text-anchor": "end" }, axis);
    label.textContent = fmt(t, 2);
  }
  for (const t of niceTicks(0, xMax, 4)) {
    const label = el("text", { x: sx(t), y: height - bottom + 13, "text-anchor": "middle" }, axis);
    label.textContent = fmt(t, 3);
  }
  el("line", { x1: left, x2: width - right, y1: height - bottom, y2: height - bottom }, axis);
  el("line", { x1: left, x2: left, y1: top, y2: height - bottom }, axis);
  const xName = el("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle" }, axis);
  xName.textContent = "parameter updates";
  const yName = el("text", { x: 12, y: (top + height - bottom) / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${(top + height - bottom) / 2})` }, axis);
  yName.textContent = "cost C";
  series.forEach((s, i) => {
    if (xs.length) {
      const d = xs.map((x, index) => `${index ? "L" : "M"} ${sx(x).toFixed(1)} ${sy(s.values[index]).toFixed(1)}`).join(" ");
      el("path", { d, fill: "none", stroke: s.colour, "stroke-width": 2, "stroke-dasharray": s.dash }, svg);
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
    const note = el("text", { x: (left + width) / 2, y: height / 2, "text-anchor": "middle", fill: "#9ca3af", "font-size": 12 }, svg);
    note.textContent = "press Train, or apply an update";
  }
}
