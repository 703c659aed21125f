// The numbers and formulas behind one neuron or one weight, with the numbers put in, in the project
// notation: z^l_j = Σ_k w^l_jk a^(l−1)_k + b^l_j, BP1–BP4, and the update w ← w − η ∂C/∂w.
// Every value comes from the server (the engine); the page only writes it down.

import { factor, fmt, full, partial, sumOfProducts, sym } from "./format.js";
import { heatmapUrl } from "./heatmap.js";
import { SIGMA_NAMES, layerName } from "./view.js";

// The neuron's heat map, enlarged: a^l_j over the input plane (the details card only).
function heatmapFigure(state, l, j, withValues) {
  if (!withValues || !state.heatmaps) return "";
  const picture = state.heatmaps.layers[l][j];
  const what = l === 0 ? state.input_names[j] : `a${l},${j + 1}`;
  return `<figure class="heat-large"><img src="${heatmapUrl(picture, state.heatmaps.resolution)}" ` +
    `alt="heat map of ${what} over the input plane, from −${fmt(picture.scale, 3)} (orange) to ${fmt(picture.scale, 3)} (blue)">` +
    `<figcaption>over the input plane (x₁ across, x₂ up); ±${fmt(picture.scale, 3)}</figcaption></figure>`;
}

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
    const x = state.example.inputs[j];
    return `<h3>Input ${sym("a", 0, J)} = ${state.input_names[j]}</h3>` +
      line("fw", "input", `${sym("a", 0, J)} = ${state.input_names[j]} = ${fmt(x, 4)}`) +
      valuesTable([[sym("a", 0, J), "a", x]], withValues) + heatmapFigure(state, l, j, withValues);
  }
  const sigma = state.activations[l];
  let html = `<h3>Neuron ${J} of layer ${l} <span class="muted">(${layerName(state, l)}, σ = ${SIGMA_NAMES[sigma] || sigma})</span></h3>`;
  if (!forwardKnown(pass, l)) {
    return html + '<p class="muted">Not computed yet for this example: press <b>Step forward</b> until this layer is reached.</p>' +
      heatmapFigure(state, l, j, withValues);
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
    if (l === state.L && pass.probabilities) {
      const p = pass.probabilities[j], t = state.example.t[j];
      html += line("bp1", "BP1", `softmax with cross-entropy: ${sym("δ", l, J)} = ${sym("p", undefined, J)} − ${sym("t", undefined, J)} = ` +
        `${fmt(p, 4)} − ${fmt(t, 4)} = ${fmt(delta, 4)}`);
      rows.push([sym("p", undefined, J), "probability", p]);
    } else if (l === state.L) {
      html += line("bp1", "BP1",
        `${sym("δ", l, J)} = ${partial(sym("a", l, J))} · σ′(${sym("z", l, J)}) = ${factor(dCda)} × ${factor(sp)} = ${fmt(delta, 4)}`);
    } else {
      const next = pass.W[l + 1].map((row, m) => [row[j], pass.delta[l + 1][m]]);
      html += line("bp2", "BP2",
        `${sym("δ", l, J)} = (Σ<sub>m</sub> ${sym("w", l + 1, `m${J}`)} ${sym("δ", l + 1, "m")}) · σ′(${sym("z", l, J)}) = ` +
        `(${sumOfProducts(next)}) × ${factor(sp)} = ${factor(dCda)} × ${factor(sp)} = ${fmt(delta, 4)}`);
    }
    html += line("bp3", "BP3", `${partial(sym("b", l, J))} = ${sym("δ", l, J)} = ${fmt(pass.db[l][j], 4)}`);
    if (pass.phase === "updated") {
      const u = pass.update;
      html += updateLines(u, u.state.b[l] || {}, u.state_before.b[l] || {}, sym("b", l, J), pass.b[l][j], pass.db[l][j],
        state.weights.b[l][j], (entries) => entries[j], rows);
    }
    rows.push([partial(sym("a", l, J)), "dC_da", dCda], [`σ′(${sym("z", l, J)})`, "sigma_prime", sp],
      [sym("δ", l, J), "delta", delta], [partial(sym("b", l, J)), "db", pass.db[l][j]]);
  } else if (pass.phase === "backward" || pass.phase === "updated") {
    html += '<p class="muted">δ not reached yet: keep pressing <b>Step backward</b>.</p>';
  }
  return html + valuesTable(rows, withValues) + heatmapFigure(state, l, j, withValues);
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
    const share = pass.dW_penalty[l] ? pass.dW_penalty[l][j][k] : 0;
    const reg = state.config.regularization;
    if (reg !== "none" && state.config.regularization_rate > 0) {
      const term = reg === "l2" ? `λ${w}` : `λ sign(${w})`;
      html += line("bp4", "BP4",
        `${partial(w)} = ${sym("a", l - 1, K)} · ${sym("δ", l, J)} + ${term} = ${factor(pass.a[l - 1][k])} × ${factor(pass.delta[l][j])} + ${factor(share)} = ${fmt(grad, 4)}`);
      rows.push([`${term} (the penalty's share)`, "dW_penalty", share]);
    } else {
      html += line("bp4", "BP4",
        `${partial(w)} = ${sym("a", l - 1, K)} · ${sym("δ", l, J)} = ${factor(pass.a[l - 1][k])} × ${factor(pass.delta[l][j])} = ${fmt(grad, 4)}`);
    }
    rows.push([sym("a", l - 1, K), "a_prev", pass.a[l - 1][k]], [sym("δ", l, J), "delta", pass.delta[l][j]],
      [partial(w), "dW", grad]);
    if (pass.phase === "updated") {
      const u = pass.update;
      html += updateLines(u, u.state.W[l] || {}, u.state_before.W[l] || {}, w, used, grad, current,
        (entries) => entries[j][k], rows);
      rows[0] = [`${w} before`, "w_before", used];
      rows.push([`${w} after`, "w_after", current]);
    }
  } else if (pass.phase === "backward") {
    html += `<p class="muted">${partial(w)} is known once ${sym("δ", l)} is: keep pressing <b>Step backward</b>.</p>`;
  }
  return html + valuesTable(rows, withValues);
}

// The optimiser's step on one weight, with its own state: w ← w − η g (SGD), the velocity v (momentum),
// m, v, m̂, v̂ (Adam), the running square s (RMSprop). `pick` reads this weight's entry from an array.
function updateLines(update, stateOf, stateBefore, w, before, g, after, pick, rows) {
  const eta = fmt(update.lr, 4);
  const own = (name) => pick(stateOf[name]);
  const earlier = (name) => (stateBefore[name] ? pick(stateBefore[name]) : 0);
  const g4 = factor(g, 4);
  const h = update.hyperparameters;
  if (update.optimizer === "sgd") {
    return line("up", "update", `${w} ← ${w} − η ${partial(w)} = ${fmt(before, 4)} − ${eta} × ${g4} = ${fmt(after, 4)}`);
  }
  if ("velocity" in stateOf) {
    const v = own("velocity"), v0 = earlier("velocity");
    rows.push(["velocity v", "velocity", v]);
    return line("up", "momentum", `v ← μ v + ${partial(w)} = ${fmt(h.momentum, 3)} × ${factor(v0, 4)} + ${g4} = ${fmt(v, 4)}`) +
      line("up", "update", `${w} ← ${w} − η v = ${fmt(before, 4)} − ${eta} × ${factor(v, 4)} = ${fmt(after, 4)}`);
  }
  if ("m_hat" in stateOf) {
    const [b1, b2] = h.betas;
    const m = own("m"), v = own("v"), mh = own("m_hat"), vh = own("v_hat"), t = stateOf.step;
    const m0 = earlier("m"), v0 = earlier("v");
    rows.push(["m", "adam_m", m], ["v", "adam_v", v], ["m̂", "adam_m_hat", mh], ["v̂", "adam_v_hat", vh]);
    return line("up", "Adam", `m ← β₁m + (1 − β₁)g = ${b1} × ${factor(m0, 4)} + ${fmt(1 - b1, 3)} × ${g4} = ${fmt(m, 4)}`) +
      line("up", "Adam", `v ← β₂v + (1 − β₂)g² = ${b2} × ${factor(v0, 4)} + ${fmt(1 - b2, 3)} × ${g4}² = ${fmt(v, 4)}`) +
      line("up", "Adam", `m̂ = m/(1 − β₁<sup>t</sup>) = ${fmt(mh, 4)}, v̂ = v/(1 − β₂<sup>t</sup>) = ${fmt(vh, 4)} (t = ${t})`) +
      line("up", "update", `${w} ← ${w} − η m̂/(√v̂ + ε) = ${fmt(before, 4)} − ${eta} × ${factor(mh, 4)}/(${fmt(Math.sqrt(vh), 4)} + ${fmt(h.eps, 2)}) = ${fmt(after, 4)}`);
  }
  if ("square_avg" in stateOf) {
    const s = own("square_avg");
    rows.push(["s", "square_avg", s]);
    return line("up", "RMSprop", `s ← α s + (1 − α) g² = ${fmt(s, 4)}`) +
      line("up", "update", `${w} ← ${w} − η g/(√s + ε) = ${fmt(before, 4)} − ${eta} × ${g4}/${fmt(Math.sqrt(s), 4)} = ${fmt(after, 4)}`);
  }
  return line("up", "update", `${update.optimizer_label}: ${w} = ${fmt(before, 4)} → ${fmt(after, 4)}`);
}
