"""The benchmark workloads B, C, D and E: shapes, data and initial weights shared by every library.

The random draws follow the independent harness in ../shared/bench draw for draw, so both measure the same
problems. Weights are kept in chainrule's notation: W[l] has shape (n_l, n_{l-1}), i.e. (out, in).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- B: a chain of tiny ops

CHAIN_PATTERN = ("mul_w", "add_w", "relu", "mul_c")


@dataclass(frozen=True)
class ChainSpec:
    """h_0 = x; h_{i+1} = op_{i mod 4}(h_i) with ops h*w, h+w, relu(h), h*c; the result is sum(h_n).

    Both x and w are differentiated; every step is one elementwise operation on a 0-d value.
    """

    n_ops: int
    x0: float
    w: float
    c: float = 0.5


def make_chain(n_ops: int) -> ChainSpec:
    """The 0-d chain with x0 ~ U(0.2, 0.8) and w ~ U(0.8, 1.0) from seed 1 (as the shared harness)."""
    if n_ops < 1:
        raise ValueError(f"make_chain: n_ops must be at least 1, got {n_ops}")
    rng = np.random.default_rng(1)
    x0 = float(rng.uniform(0.2, 0.8, size=()))
    w = float(rng.uniform(0.8, 1.0, size=()))
    return ChainSpec(n_ops, x0, w)


def chain_exact_gradient(spec: ChainSpec) -> tuple[float, float]:
    """(ds/dx, ds/dw) of the chain in float64, by the chain rule written out by hand."""
    h = [spec.x0]
    for i in range(spec.n_ops):
        kind = CHAIN_PATTERN[i % 4]
        v = h[-1]
        h.append(v * spec.w if kind == "mul_w" else v + spec.w if kind == "add_w"
                 else max(v, 0.0) if kind == "relu" else v * spec.c)
    g, g_w = 1.0, 0.0
    for i in range(spec.n_ops - 1, -1, -1):
        kind = CHAIN_PATTERN[i % 4]
        if kind == "mul_w":
            g_w += g * h[i]
            g *= spec.w
        elif kind == "add_w":
            g_w += g
        elif kind == "relu":
            g = g if h[i] > 0.0 else 0.0
        else:
            g *= spec.c
    return g, g_w


# ----------------------------------------------------------------------------- C: micrograd's demo step


@dataclass(frozen=True)
class MoonsSpec:
    """2-16-16-1 ReLU MLP on two moons; C = mean(relu(1 - y*score)) + alpha * sum of all p^2; SGD step lr."""

    X: np.ndarray           # (n, 2) float32
    y: np.ndarray           # (n,) float32, labels -1 or +1
    W: tuple                # W[l] (out, in) float32
    b: tuple                # b[l] (out,) float32
    alpha: float = 1e-4
    lr: float = 0.05


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0,
               sizes: tuple[int, ...] = (2, 16, 16, 1)) -> MoonsSpec:
    """Two interleaved half circles with Gaussian noise, shuffled, and U(-1, 1) weights, zero biases."""
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 1.0 - np.sin(t_lower) - 0.5])
    X = np.vstack([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([-np.ones(n_upper), np.ones(n_lower)])
    order = rng.permutation(n)
    W_in_out = [rng.uniform(-1.0, 1.0, size=(n_in, n_out)) for n_in, n_out in itertools.pairwise(sizes)]
    return MoonsSpec(
        X=X[order].astype(np.float32), y=y[order].astype(np.float32),
        W=tuple(np.ascontiguousarray(w.T, dtype=np.float32) for w in W_in_out),
        b=tuple(np.zeros(n_out, np.float32) for n_out in sizes[1:]))


# ----------------------------------------------------------------------------- D and E: MLP training

MLP_CASES: dict[str, tuple[tuple[int, ...], int]] = {
    "D-i": ((64, 128, 128, 10), 64),
    "D-ii": ((784, 256, 256, 10), 128),
    "D-iii": ((784, 1024, 1024, 10), 512),
}


@dataclass(frozen=True)
class MLPSpec:
    """ReLU MLP, linear logits, mean softmax cross-entropy over integer labels, plain SGD, float32."""

    name: str
    sizes: tuple[int, ...]
    X: np.ndarray           # (batch, n_0) float32
    labels: np.ndarray      # (batch,) int64
    W: tuple                # W[l] (n_l, n_{l-1}) float32
    b: tuple                # b[l] (n_l,) float32
    lr: float = 0.01

    @property
    def batch(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_params(self) -> int:
        return sum(w.size for w in self.W) + sum(b.size for b in self.b)


def make_mlp(name: str, sizes: tuple[int, ...] | None = None, batch: int | None = None,
             seed: int = 0) -> MLPSpec:
    """X ~ N(0, 1), labels uniform, He-normal weights (drawn as (in, out), as the harness), zero biases."""
    if sizes is None or batch is None:
        if name not in MLP_CASES:
            raise ValueError(f"make_mlp: unknown case {name!r}; known: {', '.join(MLP_CASES)}")
        sizes, batch = MLP_CASES[name]
    if len(sizes) < 2 or batch < 1:
        raise ValueError(f"make_mlp: need at least two layer sizes and batch >= 1, got {sizes}, {batch}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=batch).astype(np.int64)
    W_in_out = [rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)
                for n_in, n_out in itertools.pairwise(sizes)]
    return MLPSpec(
        name=name, sizes=tuple(sizes), X=X, labels=labels,
        W=tuple(np.ascontiguousarray(w.T, dtype=np.float32) for w in W_in_out),
        b=tuple(np.zeros(n_out, np.float32) for n_out in sizes[1:]))


def make_example(sizes: tuple[int, ...] = (64, 128, 128, 10)) -> MLPSpec:
    """Workload E: one example (batch 1) on the D-i network, seed 3 (as the harness's section E)."""
    return make_mlp("E", sizes=sizes, batch=1, seed=3)


def gemm_flops(spec: MLPSpec) -> int:
    """Floating-point operations of the GEMMs of one step: forward, dW for every layer, delta for l >= 2."""
    B, s = spec.batch, spec.sizes
    per_layer = [2 * B * n_in * n_out for n_in, n_out in itertools.pairwise(s)]
    return 3 * sum(per_layer) - per_layer[0]
