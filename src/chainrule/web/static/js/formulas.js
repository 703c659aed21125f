// The numbers and formulas behind one neuron or one weight, with the numbers put in, in the project
// notation: z^l_j = Σ_k w^l_jk a^(l−1)_k + b^l_j, BP1–BP4, and the update w ← w − η ∂C/∂w.
// Every value comes from the server (the engine); the page only writes it down.

import { factor, fmt, full, partial, sumOfProducts, sym } from "./format.js";
import { SIGMA_NAMES, layerName } from "./view.js";

function tag(kind, text) {
  return `<span class="tag ${kind}">${text}</span>`;
}

function line(kind, label, body) {
  return `<div class="formula">${tag(kind, label)}${body}</div>`;
}

// The exact values (8 significant digits), only in the details card; the tooltip keeps to the formulas.
function valuesTable(rows, withValues) {
  if (!withValues) return "";
  const cells = rows.map(([name, quantity, value]) =>
    `<tr><td>${name}</td><td class="num" data-quantity="${quantity}" data-value="${value}">${full(value)}</td></tr>`);
  return `<table class="values">${cells.join("")}</table>`;
}

function forwardKnown(pass, l) {
  return pass.phase !== "idle" && l <= pass.forward_layer && pass.a[l] !== null;
}

function deltaKnown(pass, l) {
  return (pass.phase === "backward" || pass.phase === "updated") && l >= pass.backward_layer;
}

export function neuronDetails(state, l, j, withValues = true) {
  const pass = state.pass;
  const J = j + 1;
  if (l === 0) {
    const x = state.example.x[j];
    return `<h3>Input ${sym("x", undefined, J)}</h3>` +
      line("fw", "input", `${sym("a", 0, J)} = ${sym("x", undefined, J)} = ${fmt(x, 4)}`) +
      valuesTable([[sym("a", 0, J), "a", x]], withValues);
  }
  const sigma = state.activations[l];
  let html = `<h3>Neuron ${J} of layer ${l} <span class="muted">(${layerName(state, l)}, σ = ${SIGMA_NAMES[sigma] || sigma})</span></h3>`;
  if (!forwardKnown(pass, l)) {
    return html + '<p class="muted">Not computed yet: press <b>Step forward</b> until this layer is reached.</p>';
  }
  const rows = [];
  const W = pass.W[l], b = pass.b[l], aPrev = pass.a[l - 1];
  const z = pass.z[l][j], a = pass.a[l][j];
  const pairs = W[j].map((w, k) => [w, aPrev[k]]);
  html += line("fw", "forward",
    `${sym("z", l, J)} = Σ<sub>k</sub> ${sym("w", l, `${J}k`)} ${sym("a", l - 1, "k")} + ${sym("b", l, J)} = ` +
    `${sumOfProducts(pairs)} + ${factor(b[j])} = ${fmt(z, 4)}`);
  html += line("fw", "forward", `${sym("a", l, J)} = σ(${sym("z", l, J)}) = σ(${fmt(z, 4)}) = ${fmt(a, 4)}`);
  rows.push([sym("z", l, J), "z", z], [sym("a", l, J), "a", a]);
  if (deltaKnown(pass, l)) {
    const dCda = pass.dC_da[l][j], sp = pass.sigma_prime[l][j], delta = pass.delta[l][j];
    if (l === state.L) {
      html += line("bp1", "BP1",
        `${sym("δ", l, J)} = ${partial(sym("a", l, J))} · σ′(${sym("z", l, J)}) = ${factor(dCda)} × ${factor(sp)} = ${fmt(delta, 4)}`);
    } else {
      const next = pass.W[l + 1].map((row, m) => [row[j], pass.delta[l + 1][m]]);
      html += line("bp2", "BP2",
        `${sym("δ", l, J)} = (Σ<sub>m</sub> ${sym("w", l + 1, `m${J}`)} ${sym("δ", l + 1, "m")}) · σ′(${sym("z", l, J)}) = ` +
        `(${sumOfProducts(next)}) × ${factor(sp)} = ${factor(dCda)} × ${factor(sp)} = ${fmt(delta, 4)}`);
    }
    html += line("bp3", "BP3", `${partial(sym("b", l, J))} = ${sym("δ", l, J)} = ${fmt(pass.db[l][j], 4)}`);
    rows.push([partial(sym("a", l, J)), "dC_da", dCda], [`σ′(${sym("z", l, J)})`, "sigma_prime", sp],
      [sym("δ", l, J), "delta", delta], [partial(sym("b", l, J)), "db", pass.db[l][j]]);
  } else if (pass.phase === "backward" || pass.phase === "updated") {
    html += '<p class="muted">δ not reached yet: keep pressing <b>Step backward</b>.</p>';
  }
  return html + valuesTable(rows, withValues);
}

export function edgeDetails(state, l, j, k, withValues = true) {
  const pass = state.pass;
  const J = j + 1, K = k + 1;
  const w = sym("w", l, `${J}${K}`);
  let html = `<h3>Weight ${w} <span class="muted">from neuron ${K} of layer ${l - 1} to neuron ${J} of layer ${l}</span></h3>`;
  const current = state.weights.W[l][j][k];
  const rows = [[w, "w", current]];
  if (pass.phase === "idle") {
    html += line("fw", "weight", `${w} = ${fmt(current, 4)}`);
    html += '<p class="muted">Step forward to send the example through this weight.</p>';
    return html + valuesTable(rows, withValues);
  }
  const used = pass.W[l][j][k];
  if (forwardKnown(pass, l)) {
    html += line("fw", "forward",
      `carries ${w} ${sym("a", l - 1, K)} = ${factor(used, 4)} × ${factor(pass.a[l - 1][k], 4)} into ${sym("z", l, J)} = ${fmt(pass.z[l][j], 4)}`);
  }
  if (deltaKnown(pass, l)) {
    const grad = pass.dW[l][j][k];
    html += line("bp4", "BP4",
      `${partial(w)} = ${sym("a", l - 1, K)} · ${sym("δ", l, J)} = ${factor(pass.a[l - 1][k])} × ${factor(pass.delta[l][j])} = ${fmt(grad, 4)}`);
    rows.push([sym("a", l - 1, K), "a_prev", pass.a[l - 1][k]], [sym("δ", l, J), "delta", pass.delta[l][j]],
      [partial(w), "dW", grad]);
    if (pass.phase === "updated") {
      const update = pass.update;
      if (update.plain_sgd) {
        html += line("up", "update",
          `${w} ← ${w} − η ${partial(w)} = ${fmt(used, 4)} − ${fmt(update.lr, 4)} × ${factor(grad, 4)} = ${fmt(current, 4)}`);
      } else {
        html += line("up", "update",
          `${update.optimizer_label} step with η = ${fmt(update.lr, 4)}: ${w} = ${fmt(used, 4)} → ${fmt(current, 4)}`);
      }
      rows[0] = [`${w} before`, "w_before", used];
      rows.push([`${w} after`, "w_after", current]);
    }
  } else if (pass.phase === "backward") {
    html += `<p class="muted">${partial(w)} is known once ${sym("δ", l)} is: keep pressing <b>Step backward</b>.</p>`;
  }
  return html + valuesTable(rows, withValues);
}
