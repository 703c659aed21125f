// The playground page: holds the server's latest state, wires the buttons to the JSON API and redraws.
// The session id lives in the URL (#session=...), so a reload returns to the same network.

import { api } from "./api.js";
import { Controls } from "./controls.js";
import { fmt, full, sym } from "./format.js";
import { edgeDetails, neuronDetails } from "./formulas.js";
import { drawNetwork } from "./network.js";
import { drawBoundary, drawLossCurve } from "./plots.js";
import { classColour } from "./colors.js";

const $ = (id) => document.getElementById(id);
// Speed 1..5: epochs per request and the pause between requests (ms).
const SPEEDS = [[1, 350], [1, 120], [2, 40], [5, 10], [10, 0]];

const COST_FORMULAS = {
  half_sum: `<i>C</i> = ½ Σ<sub>j</sub> (<i>t</i><sub>j</sub> − ${sym("a", "L", "j")})²`,
  mse: `<i>C</i> = (1/${sym("n", undefined, "L")}) Σ<sub>j</sub> (${sym("a", "L", "j")} − <i>t</i><sub>j</sub>)²`,
  bce: `<i>C</i> = −[<i>t</i> log ${sym("a", "L")} + (1 − <i>t</i>) log(1 − ${sym("a", "L")})]`,
  ce: `<i>C</i> = −log softmax(${sym("z", "L")})<sub><i>t</i></sub>`,
};

const app = {
  options: null,
  session: null,
  state: null,
  data: null,
  selected: null,
  training: false,
  busy: false,
  controls: null,
  generation: 0,  // bumped by reset and new settings: answers to older train requests are dropped
};

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
  if (state.session !== app.session) {
    app.session = state.session;
    history.replaceState(null, "", `#session=${state.session}`);
  }
  render();
}

async function newSession(config) {
  accept(await api("POST", "/api/sessions", { config }));
  app.controls.show(app.state.config);
}

function phaseText(state) {
  const p = state.pass, L = state.L;
  const cost = p.cost === null ? "" : ` The cost of this example is <b><i>C</i> = ${fmt(p.cost, 4)}</b>.`;
  switch (p.phase) {
    case "idle":
      return "Press <b>Step forward</b> to send the example through the network, one layer at a time " +
        "(click a data point on the right to choose another example).";
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
      return `<b>Update applied</b> (${u.optimizer_label}, η = ${fmt(u.lr, 4)}): every weight moved against its gradient, ` +
        `<i>w</i> ← <i>w</i> − η ∂<i>C</i>/∂<i>w</i>. The cost of this example went from ` +
        `${fmt(u.cost_before, 5)} to <b>${fmt(u.cost_after, 5)}</b>. Step forward to see it again.`;
    }
    default:
      return "";
  }
}

function exampleCard(state) {
  const e = state.example, p = state.pass;
  const cls = `<span style="color:${classColour(e.label)};font-weight:700">class ${e.label}</span>`;
  let html = `<h3>The example</h3><div>${e.split} point #${e.index}: <i>x</i> = (${fmt(e.x[0], 4)}, ${fmt(e.x[1], 4)}), ${cls}, ` +
    `target <i>t</i> = (${e.t.map((v) => fmt(v, 3)).join(", ")})</div>`;
  html += `<div class="formula">${COST_FORMULAS[state.config.loss] || ""}</div>`;
  if (p.cost !== null) {
    html += `<div>output ${sym("a", state.L)} = (${p.a[state.L].map((v) => fmt(v, 4)).join(", ")}), ` +
      `<i>C</i> = <span data-quantity="cost" data-value="${p.cost}">${full(p.cost)}</span></div>`;
  }
  html += '<button type="button" id="next-example">Next example ▸</button>';
  return html;
}

function legend(scale, state) {
  const p = state.pass;
  const backward = p.phase === "backward";
  const neuronKind = backward || p.phase === "updated" ? `error δ (up to ±${fmt(scale.delta, 2)})` : `activation <i>a</i> (up to ±${fmt(scale.a, 2)})`;
  const edgeKind = backward ? `gradient ∂<i>C</i>/∂<i>w</i> in the layers reached (up to ±${fmt(scale.grad, 2)}), weight <i>w</i> elsewhere`
    : `weight <i>w</i> (up to ±${fmt(scale.w, 2)})`;
  return `<span>Neurons: ${neuronKind}</span><span>negative<span class="bar"></span>positive</span>` +
    `<span>Edges: ${edgeKind}; thicker = larger |value|</span>`;
}

function metricsTable(state) {
  const m = state.metrics;
  const pct = (v) => `${(100 * v).toFixed(1)}%`;
  const row = (name, id, value, text) => `<tr><th>${name}</th><td id="metric-${id}" data-value="${value}">${text}</td></tr>`;
  return row("epoch", "epoch", m.epoch, m.epoch) + row("parameter updates", "updates", m.updates, m.updates) +
    row("training cost", "train-loss", m.train_loss, fmt(m.train_loss, 4)) +
    row("test cost", "test-loss", m.test_loss, fmt(m.test_loss, 4)) +
    row("training accuracy", "train-accuracy", m.train_accuracy, pct(m.train_accuracy)) +
    row("test accuracy", "test-accuracy", m.test_accuracy, pct(m.test_accuracy));
}

function detailsOf(target, withValues = true) {
  const s = app.state;
  if (target.type === "neuron") return neuronDetails(s, target.l, target.j, withValues);
  return edgeDetails(s, target.l, target.j, target.k, withValues);
}

const handlers = {
  hover(target, event) {
    const tip = $("tooltip");
    tip.innerHTML = detailsOf(target, false) + '<p class="muted">Click to keep it, with exact values.</p>';
    tip.hidden = false;
    // Beside the pointer, on the side with more room, so the element itself stays visible.
    const box = $("network").parentElement.getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top;
    const left = x < box.width / 2 ? x + 18 : x - 18 - tip.offsetWidth;
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${Math.max(0, y - tip.offsetHeight / 2)}px`;
  },
  leave() {
    $("tooltip").hidden = true;
  },
  select(target) {
    app.selected = target;
    render();
  },
};

function updateButtons() {
  const p = app.state.pass, L = app.state.L, off = app.training || app.busy;
  $("step-forward").disabled = off || !(p.phase === "idle" || p.phase === "updated" || (p.phase === "forward" && p.forward_layer < L));
  $("step-backward").disabled = off || !((p.phase === "forward" && p.forward_layer === L) || (p.phase === "backward" && p.backward_layer > 1));
  $("apply-update").disabled = off || !(p.phase === "backward" && p.backward_layer === 1) || app.state.example.split !== "train";
  $("train").textContent = app.training ? "Pause ❚❚" : "Train ▶";
  $("train").classList.toggle("running", app.training);
  $("reset").disabled = app.busy && !app.training;
}

function render() {
  const s = app.state;
  const scale = drawNetwork($("network"), s, handlers, app.selected);
  const phase = $("phase");
  phase.className = `phase ${s.pass.phase}`;
  phase.innerHTML = phaseText(s);
  $("legend").innerHTML = legend(scale, s);
  $("example").innerHTML = exampleCard(s);
  $("next-example").addEventListener("click", () => pickExample(s.example.split, s.example.index + 1));
  if (app.selected) $("details").innerHTML = detailsOf(app.selected);
  drawBoundary($("boundary"), s, app.data, pickExample);
  const classes = Array.from({ length: app.data.classes }, (_, c) =>
    `<span><i class="dot" style="background:${classColour(c)}"></i>class ${c}</span>`).join("");
  $("boundary-legend").innerHTML = `${classes}<span><i class="dot" style="background:#9ca3af"></i>training point</span>` +
    `<span><i class="ring"></i>test point</span><span>◯ the example</span>`;
  drawLossCurve($("loss-curve"), s.history);
  $("metrics").innerHTML = metricsTable(s);
  $("explain-link").href = `/api/sessions/${s.session}/explain`;
  if (s.notice) showError(s.notice);
  updateButtons();
}

async function step(action) {
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
  accept(await call("POST", `/api/sessions/${app.session}/example`, { split, index: index % size }));
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

async function reconfigure(config) {
  app.training = false;
  app.generation += 1;
  let state;
  try {
    state = await call("POST", `/api/sessions/${app.session}/config`, { config });
  } catch (error) {
    app.controls.show(app.state.config);  // the refused settings go back to the session's own
    throw error;
  }
  app.selected = null;
  accept(state);
  app.controls.show(state.config);
}

async function start() {
  app.options = await api("GET", "/api/options");
  app.controls = new Controls($("config-form"), app.options, (config) => reconfigure(config).catch(() => {}));
  const match = location.hash.match(/session=([\w-]+)/);
  let state = null;
  if (match) {
    try {
      state = await api("GET", `/api/sessions/${match[1]}?data=1`);
    } catch (_) {
      state = null;  // expired or unknown: start a fresh session below
    }
  }
  if (state) {
    accept(state);
    app.controls.show(state.config);
  } else {
    await newSession(app.options.defaults);
  }
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
    app.selected = null;
    accept(await call("POST", `/api/sessions/${app.session}/reset`, {}));
    $("details").innerHTML = '<p class="muted">Hover over a neuron or a weight to see its numbers; click it to keep them here.</p>';
  });
  track(0);
  document.body.dataset.ready = "true";
}

start().catch((error) => showError(`could not start the playground: ${error.message}`));
