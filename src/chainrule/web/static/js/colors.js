// Colour scales shared by the network and the plots: blue for positive values, orange for negative ones,
// white for zero; the class colours of the data points.

const POSITIVE = [37, 99, 235];
const NEGATIVE = [234, 88, 12];
const WHITE = [255, 255, 255];

function mix(from, to, t) {
  return from.map((c, i) => Math.round(c + (to[i] - c) * t));
}

// The colour of `value` on a symmetric scale [−scale, scale].
export function diverging(value, scale) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "#e5e7eb";
  const t = Math.min(1, Math.abs(value) / (scale || 1));
  const rgb = mix(WHITE, value >= 0 ? POSITIVE : NEGATIVE, Math.sqrt(t));
  return `rgb(${rgb.join(",")})`;
}

// Text on a filled circle stays readable: white on strong colours.
export function inkOn(value, scale) {
  return Math.abs(value) / (scale || 1) > 0.45 ? "#ffffff" : "#111827";
}

// Classes 0, 1, 2, ...: orange, blue, then further distinct colours.
export const CLASS_COLOURS = ["#ea580c", "#2563eb", "#16a34a", "#9333ea", "#db2777", "#0891b2", "#ca8a04", "#4b5563"];

export function classColour(label) {
  return CLASS_COLOURS[label % CLASS_COLOURS.length];
}

export function classRgb(label) {
  const hex = classColour(label).slice(1);
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

// The largest magnitude among numbers (nested arrays allowed), never zero.
export function maxAbs(values) {
  let best = 0;
  const visit = (v) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === "number" && Number.isFinite(v)) best = Math.max(best, Math.abs(v));
  };
  visit(values);
  return best > 0 ? best : 1;
}
