// The settings form: filled from the server's options (choices and bounds) and the session's config,
// read back into a config object that the server validates again.

import { fmt } from "./format.js";

const LABELS = {
  xor: "XOR", circles: "circles", moons: "moons", spirals: "spirals", gaussians: "gaussians",
  regression: "regression (a 2-D function)",
  sigmoid: "sigmoid", tanh: "tanh", relu: "ReLU", leaky_relu: "leaky ReLU", softplus: "softplus",
  none: "none", l1: "L1: λ Σ|w|", l2: "L2: ½ λ Σ w²",
};
const FIELDS = ["dataset", "noise", "train_fraction", "n_points", "activation", "loss", "optimizer", "lr",
  "batch_size", "seed", "regularization", "regularization_rate"];

function fillSelect(select, names, labels = {}) {
  select.replaceChildren(...names.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = labels[name] || LABELS[name] || name;
    return option;
  }));
}

export class Controls {
  constructor(form, options, onChange) {
    this.form = form;
    this.options = options;
    this.onChange = onChange;
    this.hidden = [...options.defaults.hidden];
    const limits = options.limits;
    fillSelect(form.querySelector("#dataset"), options.datasets);
    fillSelect(form.querySelector("#activation"), options.activations);
    fillSelect(form.querySelector("#loss"), options.losses.map((l) => l.name),
      Object.fromEntries(options.losses.map((l) => [l.name, l.label])));
    fillSelect(form.querySelector("#optimizer"), options.optimizers, options.optimizer_labels);
    fillSelect(form.querySelector("#regularization"), options.regularizations);
    const features = form.querySelector("#features");
    for (const { name, label } of options.features) {
      const box = document.createElement("label");
      box.className = "check";
      box.innerHTML = `<input type="checkbox" name="feature" value="${name}" id="feature-${name}"> ${label}`;
      features.appendChild(box);
    }
    const range = (id, [lo, hi], step) => {
      const input = form.querySelector(`#${id}`);
      Object.assign(input, { min: lo, max: hi, step });
    };
    range("noise", limits.noise, 0.01);
    range("train_fraction", limits.train_fraction, 0.05);
    range("n_points", limits.n_points, 1);
    range("lr", limits.lr, "any");
    range("batch_size", limits.batch_size, 1);
    range("seed", limits.seed, 1);
    range("regularization_rate", limits.regularization_rate, "any");
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", (event) => {
      if (event.target.closest(".display-only")) return;
      // Choosing an optimiser proposes its usual η (chainrule.optim's registry): SGD's 0.5 makes Adam diverge.
      if (event.target.id === "optimizer") form.elements.lr.value = options.optimizer_lr[event.target.value];
      this.changed();
    });
    form.addEventListener("input", (event) => {
      if (event.target.type === "range") this.showRangeValues();
    });
    form.querySelector("#add-layer").addEventListener("click", () => {
      if (this.hidden.length < limits.hidden_layers[1]) {
        this.hidden.push(this.hidden.length ? this.hidden[this.hidden.length - 1] : 2);
        this.changed();
      }
    });
    form.querySelector("#remove-layer").addEventListener("click", () => {
      if (this.hidden.length > limits.hidden_layers[0]) {
        this.hidden.pop();
        this.changed();
      }
    });
  }

  // Show a config (the server's validated one) in the form.
  show(config) {
    const form = this.form;
    for (const name of FIELDS) form.elements[name].value = config[name];
    form.querySelectorAll("input[name=feature]").forEach((box) => { box.checked = config.features.includes(box.value); });
    this.hidden = [...config.hidden];
    this.showRangeValues();
    this.drawLayerWidths();
  }

  showRangeValues() {
    const form = this.form;
    form.querySelector("#noise-out").textContent = fmt(Number(form.elements.noise.value), 2);
    form.querySelector("#train_fraction-out").textContent = `${Math.round(100 * Number(form.elements.train_fraction.value))}%`;
  }

  drawLayerWidths() {
    const limits = this.options.limits;
    const focused = document.activeElement && document.activeElement.id;
    const box = this.form.querySelector("#layer-widths");
    this.form.querySelector("#layer-count").textContent = String(this.hidden.length);
    this.form.querySelector("#add-layer").setAttribute("aria-disabled", String(this.hidden.length >= limits.hidden_layers[1]));
    this.form.querySelector("#remove-layer").setAttribute("aria-disabled", String(this.hidden.length <= limits.hidden_layers[0]));
    box.replaceChildren(...this.hidden.map((width, index) => {
      const cell = document.createElement("div");
      cell.className = "layer-width";
      const n = index + 1;
      cell.innerHTML = `<span>layer ${n}</span><div class="row">` +
        `<button type="button" data-d="-1" id="fewer-${n}" aria-label="one neuron fewer in hidden layer ${n}">−</button>` +
        `<b aria-label="hidden layer ${n}: ${width} neurons">${width}</b>` +
        `<button type="button" data-d="1" id="more-${n}" aria-label="one neuron more in hidden layer ${n}">+</button></div>`;
      cell.querySelectorAll("button").forEach((button) => {
        const next = width + Number(button.dataset.d);
        const allowed = next >= limits.neurons[0] && next <= limits.neurons[1];
        button.setAttribute("aria-disabled", String(!allowed));  // not disabled: a focused button keeps focus
        button.addEventListener("click", () => {
          if (!allowed) return;
          this.hidden[index] = next;
          this.changed();
        });
      });
      return cell;
    }));
    if (focused && !document.activeElement.id) {  // the rebuilt buttons: focus goes back where it was
      const again = document.getElementById(focused);
      if (again) again.focus();
    }
  }

  read() {
    const form = this.form;
    return {
      dataset: form.elements.dataset.value,
      noise: Number(form.elements.noise.value),
      train_fraction: Number(form.elements.train_fraction.value),
      n_points: Number(form.elements.n_points.value),
      hidden: [...this.hidden],
      activation: form.elements.activation.value,
      loss: form.elements.loss.value,
      optimizer: form.elements.optimizer.value,
      lr: Number(form.elements.lr.value),
      batch_size: Number(form.elements.batch_size.value),
      seed: Number(form.elements.seed.value),
      features: [...form.querySelectorAll("input[name=feature]:checked")].map((box) => box.value),
      regularization: form.elements.regularization.value,
      regularization_rate: Number(form.elements.regularization_rate.value),
    };
  }

  changed() {
    this.drawLayerWidths();
    this.onChange(this.read());
  }
}
