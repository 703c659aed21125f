// Number formatting and the project notation (a^l_j, w^l_jk, δ^l_j) as HTML. Drawing only: the numbers
// themselves always come from the server.

const MINUS = "\u2212";

// A number with `digits` significant digits, a true minus sign, no exponent for ordinary magnitudes.
export function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : `${MINUS}∞`;
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  let text;
  if (magnitude >= 1e5 || magnitude < 1e-4) {
    text = value.toExponential(digits - 1).replace("e+", "e");
  } else {
    text = String(Number(value.toPrecision(digits)));
    if (text.includes("e")) text = value.toFixed(Math.max(0, digits - 1 - Math.floor(Math.log10(magnitude))));
  }
  return text.replaceAll("-", MINUS);
}

// Eight significant digits: enough to check by hand.
export function full(value) {
  return fmt(value, 8);
}

// A factor inside a product: negative numbers in parentheses, as in 0.62 × (−0.08).
export function factor(value, digits = 3) {
  const text = fmt(value, digits);
  return value < 0 ? `(${text})` : text;
}

// A symbol with a superscript and a subscript stacked: sym("a", 1, 3) is a^1_3.
export function sym(base, sup, sub) {
  const b = base.length === 1 && /[a-zA-Z]/.test(base) ? `<i>${base}</i>` : base;
  if (sup === undefined && sub === undefined) return b;
  const top = sup === undefined ? "&nbsp;" : String(sup);
  const bottom = sub === undefined ? "&nbsp;" : String(sub);
  return `${b}<span class="ss"><sup>${top}</sup><sub>${bottom}</sub></span>`;
}

// ∂C/∂(something) as HTML.
export function partial(ofHtml) {
  return `∂<i>C</i>/∂${ofHtml}`;
}

// A sum of products written out, at most `limit` terms, then an ellipsis.
export function sumOfProducts(pairs, limit = 4) {
  const shown = pairs.slice(0, limit).map(([u, v]) => `${factor(u)} × ${factor(v)}`);
  if (pairs.length > limit) shown.push("…");
  return shown.join(" + ");
}
