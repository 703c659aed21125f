"""HIPS autograd: reverse mode by tracing NumPy calls, written idiomatically (value_and_grad, anp.maximum ReLU).

Its arrays are NumPy's, so its peak memory is measured the same way as chainrule's and the reference's.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..workloads import CHAIN_PATTERN, ChainSpec, MLPSpec, MoonsSpec
from .base import Adapter, Unavailable


class HipsAutograd(Adapter):
    name = "autograd"
    numpy_based = True

    def load(self) -> None:
        try:
            import autograd
            import autograd.numpy as anp
            from autograd.scipy.special import logsumexp
        except ImportError as e:
            raise Unavailable(f"autograd is not installed ({e})") from e
        self.autograd, self.anp, self.logsumexp = autograd, anp, logsumexp

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version
        return {"autograd": version("autograd")}

    def _forward(self, params: list, a):
        anp = self.anp
        L = len(params) // 2
        for l in range(L):
            a = anp.dot(a, params[2 * l]) + params[2 * l + 1]
            if l < L - 1:
                a = anp.maximum(a, np.float32(0))
        return a

    @staticmethod
    def _flat(W: tuple, b: tuple) -> list:
        """[W[1]ᵀ, b[1], W[2]ᵀ, b[2], ...] as fresh float32 arrays (z = a @ Wᵀ + b)."""
        return [p for W_l, b_l in zip(W, b) for p in (W_l.T.copy(), b_l.copy())]

    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        anp = self.anp
        kinds = [CHAIN_PATTERN[i % 4] for i in range(spec.n_ops)]
        c, zero = np.float32(spec.c), np.float32(0)

        def f(xw):
            h, w = xw
            for kind in kinds:
                if kind == "mul_w":
                    h = h * w
                elif kind == "add_w":
                    h = h + w
                elif kind == "relu":
                    h = anp.maximum(h, zero)
                else:
                    h = h * c
            return anp.sum(h)

        grad_f = self.autograd.grad(f)
        xw = (np.asarray(spec.x0, np.float32), np.asarray(spec.w, np.float32))
        return lambda: tuple(grad_f(xw))

    def _sgd_runner(self, loss_fn: Callable, params: list, lr: float) -> Callable[[], float]:
        value_and_grad = self.autograd.value_and_grad(loss_fn)
        lr32 = np.float32(lr)

        def run() -> float:
            loss, grads = value_and_grad(params)
            for p, g in zip(params, grads):
                p -= lr32 * g
            return float(loss)

        return run

    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        anp = self.anp
        X, y = spec.X, spec.y[:, None]
        alpha = np.float32(spec.alpha)

        def loss_fn(params):
            hinge = anp.mean(anp.maximum(1 - y * self._forward(params, X), 0.0))
            return hinge + alpha * sum(anp.sum(p * p) for p in params)

        return self._sgd_runner(loss_fn, self._flat(spec.W, spec.b), spec.lr)

    def _cross_entropy(self, spec: MLPSpec) -> Callable:
        rows, labels, X = np.arange(spec.batch), spec.labels, spec.X

        def loss_fn(params):
            z = self._forward(params, X)
            log_p = z - self.logsumexp(z, axis=1, keepdims=True)
            return -self.anp.mean(log_p[rows, labels])

        return loss_fn

    def mlp_step(self, spec: MLPSpec) -> Callable[[], float]:
        return self._sgd_runner(self._cross_entropy(spec), self._flat(spec.W, spec.b), spec.lr)

    def example_grad(self, spec: MLPSpec) -> Callable[[], list]:
        grad_f = self.autograd.grad(self._cross_entropy(spec))
        params = self._flat(spec.W, spec.b)

        def gradient() -> list:
            grads = grad_f(params)
            return [g.T if i % 2 == 0 else g for i, g in enumerate(grads)]

        return gradient
