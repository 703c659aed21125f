// The playground page: holds the server's latest state, wires the controls to the JSON API and redraws
// every card and picture from that state after any change. The configuration lives in the URL (#dataset=...):
// opening the link builds the same network from its seed in a new session of this browser's own.

import { api } from "./api.js";
import { Controls } from "./controls.js";
import { fmt, full, sym } from "./format.js";
import { edgeDetails, neuronDetails } from "./formulas.js";
import { drawNetwork, listen } from "./network.js";
import { drawBoundary, drawLossCurve } from "./plots.js";
import { classColour } from "./colors.js";
import { configFromHash, hashOf, trainCommand } from "./url.js";
import { networkTable } from "./table.js";
import { indexed } from "./view.js";

const $ = (id) => document.getElementById(id);
// Speed 1..5: epochs per request and the pause between requests (ms).
const SPEEDS = [[1, 350], [1, 120], [2, 40], [5, 10], [10, 0]];
const PLACEHOLDER = '<p class="muted">Hover over a neuron or a weight to see its numbers; click it (or press Enter on a ' +
  "neuron, or choose it in the table below) to keep them here.</p>";

const COST_FORMULAS = {
  half_sum: `<i>C</i> = ½ Σ<sub>j</sub> (<i>t</i><sub>j</sub> − ${sym("a", "L", "j")})²`,
  mse: `<i>C</i> = (1/${sym("n", undefined, "L")}) Σ<sub>j</sub> (${sym("a", "L", "j")} − <i>t</i><sub>j</sub>)²`,
  bce: `<i>C</i> = −[<i>t</i> log ${sym("a", "L")} + (1 − <i>t</i>) log(1 − ${sym("a", "L")})]`,
  ce: `<i>C</i> = −log <i>p</i><sub><i>t</i></sub>, <i>p</i> = softmax(${sym("z", "L")})`,
};

const app = {
  options: null,
  session: null,
  state: null,
  data: null,
  selected: null,
  training: false,
  busy: false,
  askedDiagnosis: false,
  controls: null,
  view: { showTest: true, discretize: false, heatmaps: false, logScale: false },
  generation: 0,  // bumped by reset and new settings: answers to older train requests are dropped
};

// Replace an element's content only when it changed: live regions are not re-announced, focus inside stays.
function setHtml(node, html) {
  if (node.dataset.html === html) return false;
  node.innerHTML = html;
  node.dataset.html = html;
  return true;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// Requests in flight, shown as <body data-pending="n"> (0 when the page is settled).
let pending = 0;
function track(change) {
  pending += change;
  document.body.dataset.pending = String(pending);
}

async function call(method, path, body) {
  track(1);
  try {
    const answer = await api(method, path, body);
    showError("");
    return answer;
  } catch (error) {
    showError(error.message);
    if (error.status === 404 && path.startsWith("/api/sessions/")) await newSession(app.controls.read());
    throw error;
  } finally {
    track(-1);
  }
}

function accept(state) {
  app.state = state;
  if (state.data) app.data = state.data;
  app.session = state.session;
  document.body.dataset.session = state.session;
  render();
}

// The URL says the configuration and the view; a new entry for each change, so Back and Forward work.
function writeUrl(replace = false) {
  const hash = hashOf(app.state.config, app.view);
  if (location.hash === hash) return;
  if (replace) history.replaceState(null, "", hash);
  else history.pushState(null, "", hash);
}

async function newSession(config) {
  track(1);
  try {
    accept(await api("POST", "/api/sessions", { config }));
  } finally {
    track(-1);
  }
  app.controls.show(app.state.config);
}

function phaseText(state) {
  const p = state.pass, L = state.L;
  const cost = p.cost === null ? "" : ` The cost of this example is <b><i>C</i> = ${fmt(p.cost, 4)}</b>.`;
  switch (p.phase) {
    case "idle":
      return "Press <b>Step forward</b> to send the example through the network, one layer at a time " +
        "(click a data point, or choose one below the plot, for another example).";
    case "forward":
      if (p.forward_layer < L) {
        const l = p.forward_layer;
        return `<b>Forward pass</b>, layer ${l} of ${L}: ${sym("z", l)} = ${sym("W", l)}${sym("a", l - 1)} + ${sym("b", l)}, ` +
          `${sym("a", l)} = σ(${sym("z", l)}). Neurons show their activations ${sym("a", "l", "j")}.`;
      }
      return `<b>Forward pass done</b>: the output is ${sym("a", L)}.${cost} Next, <b>Step backward</b>: ` +
        `BP1 gives the output error ${sym("δ", L)}.`;
    case "backward": {
      const l = p.backward_layer;
      const rule = l === L
        ? `<b>BP1</b>: ${sym("δ", L)} = ∇<sub><i>a</i></sub><i>C</i> ⊙ σ′(${sym("z", L)})`
        : `<b>BP2</b>: ${sym("δ", l)} = ((${sym("W", l + 1)})<sup>T</sup>${sym("δ", l + 1)}) ⊙ σ′(${sym("z", l)})`;
      const learn = state.example.split === "train" ? "<b>Apply update</b>."
        : "this is a <b>test</b> example, so the network does not learn from it: pick a training point to update.";
      const next = l > 1 ? `Next: ${sym("δ", l - 1)}.` : `Every gradient is known: ${learn}`;
      return `<b>Backward pass</b>, layer ${l}: ${rule}. Neurons show δ; the edges into layer ${l} show ` +
        `∂<i>C</i>/∂${sym("w", l, "jk")} = ${sym("a", l - 1, "k")}${sym("δ", l, "j")} (BP4). ${next}`;
    }
    case "updated": {
      const u = p.update;
      const rule = { sgd: "<i>w</i> ← <i>w</i> − η ∂<i>C</i>/∂<i>w</i>", momentum: "<i>v</i> ← μ<i>v</i> + ∂<i>C</i>/∂<i>w</i>, <i>w</i> ← <i>w</i> − η<i>v</i>",
        adam: "<i>w</i> ← <i>w</i> − η m̂/(√v̂ + ε)", rmsprop: "<i>w</i> ← <i>w</i> − η <i>g</i>/(√<i>s</i> + ε)" }[u.optimizer] || "";
      return `<b>Update applied</b> (${u.optimizer_label}, η = ${fmt(u.lr, 4)}): every weight and bias took one step, ` +
        `${rule}. Choose a weight to see its step with numbers. Step forward to send the example through again.`;
    }
    default:
      return "";
  }
}

function vector(values, digits = 4) {
  return `(${values.map((v) => fmt(v, digits)).join(", ")})`;
}

function targetText(state) {
  const e = state.example;
  if (state.data && !state.data.classes) return `target <i>t</i> = ${fmt(e.label, 4)}`;
  const cls = `<span class="class-name" style="border-color:${classColour(e.label)}">class ${e.label}</span>`;
  return `${cls}, target <i>t</i> = ${vector(e.t, 3)}`;
}

// The example, its output and cost; after an update, before → after, and why the whole set's cost may rise.
function exampleCard(state) {
  const e = state.example, p = state.pass, L = state.L;
  let html = `<h3>The example</h3><div>${e.split} point #${e.index}: <i>x</i> = (${fmt(e.x[0], 4)}, ${fmt(e.x[1], 4)}), ` +
    `${targetText(state)}</div>`;
  html += `<div class="formula">${COST_FORMULAS[state.config.loss] || ""}</div>`;
  if (p.phase === "updated") {
    const u = p.update;
    const before = p.probabilities ? p.probabilities : p.a[L];
    const after = u.output_after;
    html += `<div>output ${sym("a", L)}: ${vector(before)} → <b>${vector(after)}</b>${p.probabilities ? " (logits after)" : ""}</div>`;
    html += `<div>cost of this example: <span data-quantity="cost_before" data-value="${u.cost_before}">${full(u.cost_before)}</span> → ` +
      `<b data-quantity="cost_after" data-value="${u.cost_after}">${full(u.cost_after)}</b> (${signed(u.cost_after - u.cost_before)})</div>`;
    html += `<div>mean cost over the training set: ${fmt(u.train_cost_before, 6)} → <b id="train-cost-after">${fmt(u.train_cost_after, 6)}</b> ` +
      `(${signed(u.train_cost_after - u.train_cost_before)})</div>`;
    html += '<p class="muted why">One example\'s step goes downhill for <em>that example</em>: it follows −∂<i>C</i>/∂<i>w</i> of ' +
      "this one point. The other points pull in other directions, so the cost over the whole set can rise after " +
      "it; training averages the gradients of many points (a mini-batch) so that the steps agree on the whole set.</p>";
  } else if (p.cost !== null) {
    if (p.probabilities) {
      html += `<div>logits ${sym("z", L)} = ${vector(p.z[L])}; probabilities <i>p</i> = softmax(${sym("z", L)}) = ` +
        `<b>${vector(p.probabilities)}</b></div>`;
      if (p.delta[L]) html += `<div>${sym("δ", L)} = <i>p</i> − <i>t</i> = ${vector(p.probabilities)} − ${vector(e.t, 3)} = ${vector(p.delta[L])}</div>`;
    } else {
      html += `<div>output ${sym("a", L)} = ${vector(p.a[L])}</div>`;
    }
    const penalty = p.cost !== p.data_cost ? ` (C₀ = ${fmt(p.data_cost, 6)} plus the weights' penalty)` : "";
    html += `<div><i>C</i> = <span data-quantity="cost" data-value="${p.cost}">${full(p.cost)}</span>${penalty}</div>`;
  }
  html += '<button type="button" id="next-example">Next example ▸</button>';
  return html;
}

function signed(value) {
  return `${value > 0 ? "+" : ""}${fmt(value, 3)}`;
}

function legend(scale, state) {
  const p = state.pass;
  const backward = p.phase === "backward";
  const neuronKind = backward || p.phase === "updated" ? `error δ (up to ±${fmt(scale.delta, 2)})` : `activation <i>a</i> (up to ±${fmt(scale.a, 2)})`;
  const edgeKind = backward ? `gradient ∂<i>C</i>/∂<i>w</i> in the layers reached (up to ±${fmt(scale.grad, 2)}), weight <i>w</i> elsewhere`
    : `weight <i>w</i> (up to ±${fmt(scale.w, 2)})`;
  return `<span>Neurons: ${neuronKind}; a neuron with no value yet shows its heat map (<i>a</i> over the input plane)</span>` +
    `<span>negative<span class="bar"></span>positive</span>` +
    `<span>Edges: ${edgeKind}; thicker = larger |value|; dashed = negative</span>`;
}

// ‖δˡ‖ per layer on a log scale, once the backward pass has reached layer 1: vanishing gradients show.
function deltaNorms(state) {
  const norms = state.pass.delta_norm;
  if (!norms || norms[1] === null || norms[1] === undefined) {
    return '<p class="muted small">‖δ<sup>l</sup>‖ per layer appears here once the backward pass reaches layer 1.</p>';
  }
  const values = norms.slice(1);
  const logs = values.map((v) => Math.log10(Math.max(v, 1e-12)));
  const hi = Math.max(...logs), lo = Math.min(...logs, hi - 1);
  const bars = values.map((v, i) => {
    const width = 8 + (92 * (logs[i] - lo)) / (hi - lo || 1);
    return `<div class="norm-row"><span>‖δ${sup(i + 1)}‖</span><span class="norm-bar" style="width:${width.toFixed(0)}%"></span>` +
      `<span class="num">${fmt(v, 2)}</span></div>`;
  }).join("");
  const first = values[0], last = values[values.length - 1];
  const note = first * 100 < last ? `<p class="note" id="vanishing">‖δ¹‖ is ${fmt(last / first, 2)}× smaller than ‖δ${sup(values.length)}‖: ` +
    "the gradients vanish on their way back (saturated σ′ multiplies in at every layer), so the first layers learn slowly.</p>"
    : first > 100 * last ? `<p class="note" id="exploding">‖δ¹‖ is ${fmt(first / last, 2)}× larger than the last layer's: the gradients explode.</p>` : "";
  return `<h3>‖δ<sup>l</sup>‖ <span class="muted">(log scale)</span></h3>${bars}${note}`;
}

function sup(n) {
  return String(n).split("").map((d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[Number(d)]).join("");
}

function metricsTable(state) {
  const m = state.metrics;
  const pct = (v) => (v === null ? "–" : `${(100 * v).toFixed(1)}%`);
  const row = (name, id, value, text) => `<tr><th scope="row">${name}</th><td id="metric-${id}" data-value="${value}">${text}</td></tr>`;
  let html = row("epoch", "epoch", m.epoch, m.epoch) + row("parameter updates", "updates", m.updates, m.updates) +
    row("training cost C₀", "train-loss", m.train_loss, fmt(m.train_loss, 4)) +
    row("test cost C₀", "test-loss", m.test_loss, fmt(m.test_loss, 4));
  if (m.train_accuracy !== null) {
    html += row("training accuracy", "train-accuracy", m.train_accuracy, pct(m.train_accuracy)) +
      row("test accuracy", "test-accuracy", m.test_accuracy, pct(m.test_accuracy));
  }
  const how = state.compiled_training ? "compiled steps (chainrule.compile); the step-through runs eagerly" : "eager steps";
  html += row("Train runs", "training-engine", state.compiled_training ? 1 : 0, how);
  return html;
}

function diagnosisBox(state) {
  const box = $("diagnosis");
  const d = state.diagnosis;
  if (!d || (d.verdict === "converged" && !app.askedDiagnosis)) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.dataset.verdict = d.verdict;
  const serious = d.verdict !== "plateau" && d.verdict !== "converged";
  box.className = serious ? "warning serious" : "warning";
  box.textContent = `${serious ? "⚠ " : ""}Diagnosis (as chainrule train gives it): ${d.message}`;
}

function detailsOf(target, withValues = true) {
  const s = app.state;
  if (target.type === "neuron") return neuronDetails(s, target.l, target.j, withValues);
  return edgeDetails(s, target.l, target.j, target.k, withValues);
}

// A number field to set a weight or a bias by hand: the server writes it through the engine's checked path.
function editor(target) {
  if (target.type === "neuron" && target.l === 0) return "";
  const s = app.state;
  const isBias = target.type === "neuron";
  const value = isBias ? s.weights.b[target.l][target.j] : s.weights.W[target.l][target.j][target.k];
  const name = isBias ? indexed("b", target.l, target.j + 1) : indexed("w", target.l, `${target.j + 1}${target.k + 1}`);
  return `<div class="edit"><label>Set ${isBias ? "the bias" : "this weight"} by hand <input type="number" step="any" id="edit-value" ` +
    `value="${value}" aria-label="new value of ${name}"></label> <button type="button" id="edit-apply">Set ${name}</button></div>`;
}

function hideTooltip() {
  $("tooltip").hidden = true;
}

// Where the pointer chose something: the redrawn element under a still pointer must not bring the tooltip back.
let chosenAt = null;

const handlers = {
  hover(target, event) {
    if (chosenAt && chosenAt[0] === event.clientX && chosenAt[1] === event.clientY) return;
    chosenAt = null;
    const tip = $("tooltip");
    tip.innerHTML = detailsOf(target, false) + '<p class="muted">Click to keep it, with exact values.</p>';
    tip.hidden = false;
    // Beside the pointer, on the side with more room, so the element itself stays visible.
    const box = $("network").parentElement.getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top;
    const left = x < box.width / 2 ? x + 18 : x - 18 - tip.offsetWidth;
    tip.style.left = `${Math.max(0, Math.min(left, box.width - tip.offsetWidth))}px`;
    tip.style.top = `${Math.max(0, y - tip.offsetHeight / 2)}px`;
  },
  leave: hideTooltip,
  select(target, event) {
    if (event) event.stopPropagation();
    if (event && "clientX" in event) chosenAt = [event.clientX, event.clientY];
    hideTooltip();
    app.selected = target;
    render();
  },
};

// Buttons stay enabled (a disabled button drops keyboard focus): aria-disabled says when one does nothing,
// aria-busy on the toolbar while a request runs.
function updateButtons() {
  const p = app.state.pass, L = app.state.L, off = app.training || app.busy;
  const allow = (id, ok) => $(id).setAttribute("aria-disabled", String(!ok));
  allow("step-forward", !app.training && (p.phase === "idle" || p.phase === "updated" || (p.phase === "forward" && p.forward_layer < L)));
  allow("step-backward", !app.training && ((p.phase === "forward" && p.forward_layer === L) || (p.phase === "backward" && p.backward_layer > 1)));
  allow("apply-update", !app.training && p.phase === "backward" && p.backward_layer === 1 && app.state.example.split === "train");
  $("toolbar").setAttribute("aria-busy", String(off));
  $("train").textContent = app.training ? "Pause ❚❚" : "Train ▶";
  $("train").classList.toggle("running", app.training);
}

// Every render is measured (performance.measure "render"): the browser test reads how long they take.
function render() {
  const started = performance.now();
  const s = app.state;
  const focused = document.activeElement && document.activeElement.id;
  const scale = drawNetwork($("network"), s, app.selected, app.view);
  const phase = $("phase");
  phase.className = `phase ${s.pass.phase}`;
  setHtml(phase, phaseText(s));
  setHtml($("legend"), legend(scale, s));
  setHtml($("delta-norms"), deltaNorms(s));
  setHtml($("example"), exampleCard(s));
  setHtml($("details"), app.selected ? detailsOf(app.selected) + editor(app.selected) : PLACEHOLDER);
  drawBoundary($("boundary"), s, app.data, (split, index) => pickExample(split, index).catch(() => {}), app.view);
  $("boundary-title").textContent = app.data.classes ? "Decision boundary" : "The network's output over the plane";
  $("boundary-legend").innerHTML = boundaryLegend();
  drawLossCurve($("loss-curve"), s.history, app.view.logScale);
  setHtml($("metrics"), metricsTable(s));
  $("explain-link").href = `/api/sessions/${s.session}/explain`;
  $("download-model").href = `/api/sessions/${s.session}/model`;
  if ($("network-table-box").open) setHtml($("network-table"), networkTable(s));
  $("pick-split").value = s.example.split;
  $("pick-index").value = s.example.index;
  $("pick-index").max = app.data[s.example.split].y.length - 1;
  diagnosisBox(s);
  if (s.notice) showError(s.notice);
  updateButtons();
  if (focused && document.activeElement !== $(focused) && $(focused)) $(focused).focus();
  performance.measure("render", { start: started });
}

function boundaryLegend() {
  const test = app.view.showTest ? "<span><i class=\"ring\"></i>test point</span>" : "";
  if (!app.data.classes) {
    return `<span>colour: the target (points) and the output (background), orange negative, blue positive</span>${test}<span>◯ the example</span>`;
  }
  const classes = Array.from({ length: app.data.classes }, (_, c) =>
    `<span><i class="dot" style="background:${classColour(c)}"></i>class ${c}</span>`).join("");
  return `${classes}<span><i class="dot" style="background:#6b7280"></i>training point</span>${test}<span>◯ the example</span>`;
}

async function step(action) {
  const button = { forward: "step-forward", backward: "step-backward", update: "apply-update" }[action];
  if (app.busy || app.training || $(button).getAttribute("aria-disabled") === "true") return;
  app.busy = true;
  updateButtons();
  try {
    accept(await call("POST", `/api/sessions/${app.session}/step`, { action }));
  } finally {
    app.busy = false;
    updateButtons();
  }
}

async function pickExample(split, index) {
  const size = app.data[split].y.length;
  accept(await call("POST", `/api/sessions/${app.session}/example`, { split, index: ((index % size) + size) % size }));
}

async function editWeight() {
  const t = app.selected;
  const value = Number($("edit-value").value);
  const body = t.type === "neuron" ? { l: t.l, j: t.j, value } : { l: t.l, j: t.j, k: t.k, value };
  accept(await call("POST", `/api/sessions/${app.session}/weight`, body));
}

async function trainLoop() {
  while (app.training) {
    const [epochs, pause] = SPEEDS[Number($("speed").value) - 1];
    const generation = app.generation;
    try {
      const state = await call("POST", `/api/sessions/${app.session}/train`, { epochs: Math.min(epochs, app.state.limits.max_epochs_per_request) });
      if (generation === app.generation) accept(state);  // not after a reset or new settings meanwhile
    } catch (error) {
      app.training = false;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  updateButtons();
}

async function reconfigure(config, fromUrl = false) {
  app.training = false;
  app.askedDiagnosis = false;
  app.generation += 1;
  let state;
  try {
    state = await call("POST", `/api/sessions/${app.session}/config`, { config });
  } catch (error) {
    app.controls.show(app.state.config);  // the refused settings go back to the session's own
    throw error;
  }
  if (state.sizes.join() !== app.state.sizes.join()) app.selected = null;
  accept(state);
  app.controls.show(state.config);
  if (!fromUrl) writeUrl();
}

function readView() {
  app.view = { showTest: $("show-test").checked, discretize: $("discretize").checked,
    heatmaps: $("heatmaps").checked, logScale: $("log-scale").checked };
}

function showView() {
  $("show-test").checked = app.view.showTest;
  $("discretize").checked = app.view.discretize;
  $("heatmaps").checked = app.view.heatmaps;
  $("log-scale").checked = app.view.logScale;
}

function wire() {
  listen($("network"), handlers);
  $("step-forward").addEventListener("click", () => step("forward").catch(() => {}));
  $("step-backward").addEventListener("click", () => step("backward").catch(() => {}));
  $("apply-update").addEventListener("click", () => step("update").catch(() => {}));
  $("train").addEventListener("click", () => {
    app.training = !app.training;
    updateButtons();
    if (app.training) trainLoop();
  });
  $("reset").addEventListener("click", async () => {
    app.training = false;
    app.generation += 1;
    accept(await call("POST", `/api/sessions/${app.session}/reset`, {}));
  });
  $("diagnose").addEventListener("click", () => call("POST", `/api/sessions/${app.session}/diagnose`, {})
    .then((state) => {
      app.askedDiagnosis = true;  // a converged verdict is shown too when asked for
      accept(state);
    }).catch(() => {}));
  for (const id of ["show-test", "discretize", "heatmaps", "log-scale"]) {
    $(id).addEventListener("change", () => {
      readView();
      writeUrl();
      render();
    });
  }
  $("example").addEventListener("click", (event) => {
    if (event.target.id === "next-example") pickExample(app.state.example.split, app.state.example.index + 1).catch(() => {});
  });
  $("details").addEventListener("click", (event) => {
    if (event.target.id === "edit-apply") editWeight().catch(() => {});
  });
  $("pick-go").addEventListener("click", () => pickExample($("pick-split").value, Number($("pick-index").value)).catch(() => {}));
  $("network-table-box").addEventListener("toggle", () => render());
  $("network-table").addEventListener("click", (event) => {
    const cell = event.target.closest("button[data-target]");
    if (!cell) return;
    const [type, l, j, k] = cell.dataset.target.split("-");
    app.selected = type === "n" ? { type: "neuron", l: Number(l), j: Number(j) } : { type: "edge", l: Number(l), j: Number(j), k: Number(k) };
    render();
    $("details").focus();
  });
  $("copy-command").addEventListener("click", async () => {
    const command = trainCommand(app.state.config);
    $("command-out").textContent = command;
    try {
      await navigator.clipboard.writeText(command);
    } catch (_) {
      // no clipboard (an insecure context, or no permission): the command is on the page to copy by hand
    }
  });
  // A tapped tooltip goes when the page is tapped elsewhere; Escape closes it too.
  document.addEventListener("click", (event) => {
    if (!event.target.closest("#network .neuron, #network .edge-hit")) hideTooltip();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideTooltip();
  });
  window.addEventListener("popstate", () => {
    const { config, view } = configFromHash(location.hash, app.options.defaults);
    app.view = view;
    showView();
    if (hashOf(config, view) === hashOf(app.state.config, view)) render();  // only the view changed
    else reconfigure(config, true).catch(() => {});
  });
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth !== width && app.state) {
      width = window.innerWidth;
      render();
    }
  });
}

async function start() {
  app.options = await api("GET", "/api/options");
  app.controls = new Controls($("config-form"), app.options, (config) => reconfigure(config).catch(() => {}));
  $("details").tabIndex = -1;
  const { config, view } = configFromHash(location.hash, app.options.defaults);
  app.view = view;
  showView();
  try {
    await newSession(config);
  } catch (error) {
    await newSession(app.options.defaults);  // a link with settings out of range: the defaults, and why
    showError(`the link's settings were refused (${error.message}); the playground starts from its defaults`);
  }
  writeUrl(true);
  wire();
  track(0);
  document.body.dataset.ready = "true";
}

start().catch((error) => showError(`could not start the playground: ${error.message}`));
