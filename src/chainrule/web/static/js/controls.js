// The settings form: filled from the server's options (choices and bounds) and the session's config,
// read back into a config object that the server validates again.

import { fmt } from "./format.js";

const LABELS = {
  xor: "XOR", circles: "circles", moons: "moons", spirals: "spirals", gaussians: "gaussians",
  sigmoid: "sigmoid", tanh: "tanh", relu: "ReLU", leaky_relu: "leaky ReLU", softplus: "softplus",
  sgd: "SGD", momentum: "SGD with momentum 0.9", adam: "Adam",
};

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
    fillSelect(form.querySelector("#optimizer"), options.optimizers);
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
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", () => this.changed());
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
    for (const name of ["dataset", "noise", "train_fraction", "n_points", "activation", "loss", "optimizer", "lr", "batch_size", "seed"]) {
      form.elements[name].value = config[name];
    }
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
    const box = this.form.querySelector("#layer-widths");
    this.form.querySelector("#layer-count").textContent = String(this.hidden.length);
    this.form.querySelector("#add-layer").disabled = this.hidden.length >= limits.hidden_layers[1];
    this.form.querySelector("#remove-layer").disabled = this.hidden.length <= limits.hidden_layers[0];
    box.replaceChildren(...this.hidden.map((width, index) => {
      const cell = document.createElement("div");
      cell.className = "layer-width";
      cell.innerHTML = `<span>layer ${index + 1}</span><div class="row"><button type="button" data-d="-1" title="one neuron fewer">−</button>` +
        `<b>${width}</b><button type="button" data-d="1" title="one neuron more">+</button></div>`;
      cell.querySelectorAll("button").forEach((button) => {
        const next = width + Number(button.dataset.d);
        button.disabled = next < limits.neurons[0] || next > limits.neurons[1];
        button.addEventListener("click", () => {
          this.hidden[index] = next;
          this.changed();
        });
      });
      return cell;
    }));
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
    };
  }

  changed() {
    this.drawLayerWidths();
    this.onChange(this.read());
  }
}
