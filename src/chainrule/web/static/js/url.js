// The configuration and the view in the page's address (#dataset=xor&hidden=4,4&...), and back; and the
// `chainrule train` command line for the same configuration. The server checks every value again.

const LISTS = ["hidden", "features"];
const VIEW = { showTest: "test", discretize: "discretize", heatmaps: "heatmaps", logScale: "log" };

export function hashOf(config, view) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(config)) {
    params.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const shown = Object.entries(VIEW).filter(([key]) => (key === "showTest" ? !view[key] : view[key]));
  if (shown.length) params.set("view", shown.map(([key, word]) => (key === "showTest" ? "notest" : word)).join(","));
  return `#${params.toString()}`;
}

// {config, view} from an address: every setting the defaults know, as the defaults' types; others ignored.
export function configFromHash(hash, defaults) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const config = { ...defaults };
  for (const [name, fallback] of Object.entries(defaults)) {
    if (!params.has(name)) continue;
    const text = params.get(name);
    if (LISTS.includes(name)) {
      const items = text === "" ? [] : text.split(",");
      config[name] = name === "hidden" ? items.map(Number) : items;
    } else if (typeof fallback === "number") {
      config[name] = Number(text);
    } else {
      config[name] = text;
    }
  }
  const words = (params.get("view") || "").split(",");
  const view = { showTest: !words.includes("notest"), discretize: words.includes("discretize"),
    heatmaps: words.includes("heatmaps"), logScale: words.includes("log") };
  return { config, view };
}

// The `chainrule train` line for this configuration (the CLI has no input features or regularisation: said so).
export function trainCommand(config) {
  const parts = ["chainrule train", config.dataset, "--hidden", ...config.hidden.map(String),
    "--activation", config.activation, "--loss", config.loss, "--optimizer", config.optimizer === "momentum" ? "sgd" : config.optimizer,
    "--lr", String(config.lr), "--batch-size", String(config.batch_size), "--seed", String(config.seed),
    "--samples", String(config.n_points), "--noise", String(config.noise), "--test-size", String(Number((1 - config.train_fraction).toFixed(4)))];
  if (config.optimizer === "momentum") parts.push("--momentum", "0.9");
  if (config.hidden.length === 0) parts.splice(parts.indexOf("--hidden"), 1);
  const missing = [];
  if (config.features.join() !== "x1,x2") missing.push("input features");
  if (config.regularization !== "none") missing.push("regularisation");
  if (config.dataset === "regression") missing.push("the regression data set");
  return parts.join(" ") + (missing.length ? `   (not in the CLI: ${missing.join(", ")})` : "");
}
