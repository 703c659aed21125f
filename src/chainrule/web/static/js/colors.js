// Colour scales shared by the network and the plots: blue for positive values, orange for negative ones,
// white for zero; the class colours of the data points.

const POSITIVE = [37, 99, 235];
const NEGATIVE = [234, 88, 12];
const WHITE = [255, 255, 255];

function mix(from, to, t) {
  return from.map((c, i) => Math.round(c + (to[i] - c) * t));
}

// The colour of `value` on a symmetric scale [−scale, scale], as [r, g, b].
export function divergingRgb(value, scale) {
  if (value === null || value === undefined || !Number.isFinite(value)) return [229, 231, 235];
  const t = Math.min(1, Math.abs(value) / (scale || 1));
  return mix(WHITE, value >= 0 ? POSITIVE : NEGATIVE, Math.sqrt(t));
}

export function diverging(value, scale) {
  return `rgb(${divergingRgb(value, scale).join(",")})`;
}

// WCAG relative luminance of an [r, g, b] colour, and the contrast ratio of two luminances.
export function luminance(rgb) {
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(l1, l2) {
  return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}

// Text on a fill: black or white, whichever contrasts more (one of the two always reaches 4.58:1).
export function inkOnRgb(rgb) {
  const l = luminance(rgb);
  return contrast(l, 1) >= contrast(l, 0) ? "#ffffff" : "#000000";
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
