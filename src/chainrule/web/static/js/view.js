// What each neuron and edge shows at the current point of the step-through, read from the server's
// state: activations a^l in the forward phase, error terms δ^l and gradients ∂C/∂w in the backward phase.

export const SIGMA_NAMES = {
  sigmoid: "sigmoid", tanh: "tanh", relu: "ReLU", leaky_relu: "leaky ReLU", softplus: "softplus", arctan: "arctan",
  identity: "identity",
};

// {kind: "a" | "delta" | null, value} for neuron j of layer l (0-based j).
export function neuronQuantity(state, l, j) {
  const pass = state.pass;
  if (l === 0) return { kind: "a", value: state.example.inputs[j] };
  if ((pass.phase === "backward" || pass.phase === "updated") && l >= pass.backward_layer) {
    return { kind: "delta", value: pass.delta[l][j] };
  }
  if (pass.phase !== "idle" && l <= pass.forward_layer && pass.a[l]) return { kind: "a", value: pass.a[l][j] };
  return { kind: null, value: null };
}

// {kind: "w" | "grad", value} for the weight w^l_jk (0-based j, k).
export function edgeQuantity(state, l, j, k) {
  const pass = state.pass;
  if (pass.phase === "backward" && l >= pass.backward_layer) return { kind: "grad", value: pass.dW[l][j][k] };
  return { kind: "w", value: state.weights.W[l][j][k] };
}

// The layer just computed, and in which direction (for highlighting), or null.
export function currentLayer(state) {
  const pass = state.pass;
  if (pass.phase === "forward") return { l: pass.forward_layer, direction: "forward" };
  if (pass.phase === "backward") return { l: pass.backward_layer, direction: "backward" };
  return null;
}

export function layerName(state, l) {
  if (l === 0) return "input";
  if (l === state.L) return "output";
  return `hidden ${l}`;
}

// A title short enough for a narrow column: in, h1, h2, ..., out.
export function shortLayerName(state, l) {
  if (l === 0) return "in";
  if (l === state.L) return "out";
  return `h${l}`;
}

const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉";
const script = (n, digits) => String(n).split("").map((d) => digits[Number(d)]).join("");

// A plain-text symbol with a superscript and a subscript of digits: indexed("w", 2, "13") is w²₁₃.
export function indexed(base, sup, sub) {
  return `${base}${script(sup, SUPERSCRIPT)}${script(sub, SUBSCRIPT)}`;
}

// The plain-text name of what neuron j of layer l shows: an input feature, a^l_j or δ^l_j.
export function neuronName(state, kind, l, j) {
  if (l === 0) return state.input_names[j];
  return indexed(kind === "delta" ? "δ" : "a", l, j + 1);
}
