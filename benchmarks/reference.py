"""The hand-written NumPy back-propagation every ratio is taken against: explicit deltas, no graph, no autodiff.

It keeps each weight matrix transposed, Wt[l] = W[l]ᵀ of shape (in, out), so that z[l] = a[l-1] @ Wt[l] + b[l]
is the BLAS-friendly layout for the narrow last layer; gradients are handed back in the (out, in) notation.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .adapters.base import Adapter
from .workloads import CHAIN_PATTERN, ChainSpec, MLPSpec, MoonsSpec


def _softmax_rows(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p = softmax(z) per row, and log Σ_j exp(z_j) per row (shifted by the row maximum for stability)."""
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    e /= s
    return e, (np.log(s) + m)[:, 0]


class NumpyReference(Adapter):
    """Batched back-propagation by the four equations BP1–BP4, float32 throughout, SGD fused in."""

    name = "numpy"
    numpy_based = True

    def load(self) -> None:
        self.np_version = np.__version__

    def versions(self) -> dict[str, str]:
        return {"numpy": self.np_version}

    # ------------------------------------------------------------------------- B
    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        x = np.asarray(spec.x0, np.float32)
        w = np.asarray(spec.w, np.float32)
        c = np.float32(spec.c)
        zero = np.float32(0.0)
        kinds = [CHAIN_PATTERN[i % 4] for i in range(spec.n_ops)]

        def forward_backward() -> tuple:
            h = [x]
            v = x
            for kind in kinds:
                if kind == "mul_w":
                    v = v * w
                elif kind == "add_w":
                    v = v + w
                elif kind == "relu":
                    v = np.maximum(v, zero)
                else:
                    v = v * c
                h.append(v)
            g = np.ones_like(v)
            g_w = np.zeros_like(w)
            for i in range(len(kinds) - 1, -1, -1):
                kind = kinds[i]
                if kind == "mul_w":
                    g_w = g_w + g * h[i]
                    g = g * w
                elif kind == "add_w":
                    g_w = g_w + g
                elif kind == "relu":
                    g = g * (h[i] > zero)
                else:
                    g = g * c
            return g, g_w

        return forward_backward

    # ------------------------------------------------------------------------- C
    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        Wt = [W.T.copy() for W in spec.W]
        b = [bl.copy() for bl in spec.b]
        X, y = spec.X, spec.y[:, None]
        L = len(Wt)
        lr, alpha = np.float32(spec.lr), np.float32(spec.alpha)
        inv_n = np.float32(1.0 / X.shape[0])

        def step() -> float:
            a = [X]
            for l in range(L):
                z = a[l] @ Wt[l] + b[l]
                a.append(np.maximum(z, 0) if l < L - 1 else z)
            margin = 1 - y * a[L]
            active = margin > 0
            data_loss = float(margin[active].sum()) * float(inv_n)
            reg_loss = sum(float(np.vdot(p, p)) for p in Wt + b) * float(alpha)
            delta = -(y * active) * inv_n                   # dC/dz[L]
            for l in range(L - 1, -1, -1):
                grad_W = a[l].T @ delta + (2 * alpha) * Wt[l]
                grad_b = delta.sum(axis=0) + (2 * alpha) * b[l]
                if l > 0:
                    delta = (delta @ Wt[l].T) * (a[l] > 0)  # BP2
                Wt[l] -= lr * grad_W
                b[l] -= lr * grad_b
            return data_loss + reg_loss

        return step

    # ------------------------------------------------------------------------- D
    def _mlp(self, spec: MLPSpec) -> tuple[Callable, Callable]:
        Wt = [W.T.copy() for W in spec.W]
        b = [bl.copy() for bl in spec.b]
        X, labels = spec.X, spec.labels
        L = len(Wt)
        rows = np.arange(X.shape[0])
        lr = np.float32(spec.lr)
        inv_batch = np.float32(1.0 / X.shape[0])

        def forward() -> tuple[list, np.ndarray, float]:
            a = [X]
            for l in range(L):
                z = a[l] @ Wt[l]
                z += b[l]
                if l < L - 1:
                    np.maximum(z, 0, out=z)
                a.append(z)
            p, log_norm = _softmax_rows(a[L])
            loss = float(np.mean(log_norm - a[L][rows, labels]))
            return a, p, loss

        def backward_update(a: list, p: np.ndarray) -> None:
            delta = p                                       # BP1: softmax minus one-hot, over the batch
            delta[rows, labels] -= 1
            delta *= inv_batch
            for l in range(L - 1, -1, -1):
                grad_W = a[l].T @ delta                     # BP4
                grad_b = delta.sum(axis=0)                  # BP3
                if l > 0:
                    delta = delta @ Wt[l].T                 # BP2 with the ReLU derivative
                    delta *= a[l] > 0
                grad_W *= lr
                Wt[l] -= grad_W
                grad_b *= lr
                b[l] -= grad_b

        return forward, backward_update

    def mlp_step(self, spec: MLPSpec) -> Callable[[], float]:
        forward, backward_update = self._mlp(spec)

        def step() -> float:
            a, p, loss = forward()
            backward_update(a, p)
            return loss

        return step

    def mlp_phases(self, spec: MLPSpec) -> Callable[[], tuple[float, float, float]]:
        forward, backward_update = self._mlp(spec)
        clock = time.perf_counter

        def step() -> tuple[float, float, float]:
            t0 = clock()
            a, p, _ = forward()
            t1 = clock()
            backward_update(a, p)                           # the update is fused into the sweep
            t2 = clock()
            return t1 - t0, t2 - t1, 0.0

        return step

    # ------------------------------------------------------------------------- E
    def example_grad(self, spec: MLPSpec) -> Callable[[], list]:
        Wt = [W.T.copy() for W in spec.W]
        b = list(spec.b)
        x, labels = spec.X, spec.labels
        L = len(Wt)
        rows = np.arange(x.shape[0])
        scale = np.float32(1.0 / x.shape[0])

        def gradient() -> list:
            a = [x]
            for l in range(L):
                z = a[l] @ Wt[l] + b[l]
                a.append(np.maximum(z, 0) if l < L - 1 else z)
            delta, _ = _softmax_rows(a[L])
            delta[rows, labels] -= 1
            delta *= scale
            grads = [None] * (2 * L)
            for l in range(L - 1, -1, -1):
                grads[2 * l] = (a[l].T @ delta).T          # (out, in), as W[l]
                grads[2 * l + 1] = delta.sum(axis=0)
                if l > 0:
                    delta = (delta @ Wt[l].T) * (a[l] > 0)
            return grads

        return gradient
