// The network as a table: every neuron's value and every weight and bias, one button each (choosing one shows
// its numbers in the details card), so that a keyboard or a screen reader reaches all of them.

import { fmt } from "./format.js";
import { indexed, layerName, neuronName, neuronQuantity } from "./view.js";

export function networkTable(state) {
  const rows = [];
  state.sizes.forEach((n, l) => {
    for (let j = 0; j < n; j += 1) {
      const q = neuronQuantity(state, l, j);
      const shown = q.kind ? `${q.kind === "delta" ? "δ" : "a"} = ${fmt(q.value, 4)}` : "not computed yet";
      const bias = l > 0 ? `b = ${fmt(state.weights.b[l][j], 4)}` : "";
      rows.push(`<tr><th scope="row">${layerName(state, l)} ${j + 1}</th>` +
        `<td><button type="button" data-target="n-${l}-${j}">${neuronName(state, q.kind, l, j)}: ${shown}${bias ? `; ${bias}` : ""}</button></td>` +
        `<td>${l > 0 ? incoming(state, l, j) : ""}</td></tr>`);
    }
  });
  return `<table class="net-table"><thead><tr><th scope="col">neuron</th><th scope="col">value</th>` +
    `<th scope="col">weights in (w from each neuron of the layer before)</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function incoming(state, l, j) {
  return state.weights.W[l][j].map((w, k) =>
    `<button type="button" data-target="e-${l}-${j}-${k}">${indexed("w", l, `${j + 1}${k + 1}`)} = ${fmt(w, 4)}</button>`).join(" ");
}
