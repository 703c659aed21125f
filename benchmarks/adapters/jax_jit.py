"""JAX on the CPU with jax.jit around the whole step (value_and_grad and the SGD update, parameters donated).

A compiler, not an eager engine: it shows what removing all per-operation overhead buys. First calls compile.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..workloads import CHAIN_PATTERN, ChainSpec, MLPSpec, MoonsSpec
from .base import Adapter, Unavailable


class JaxJit(Adapter):
    name = "jax-jit"
    warm_limit_s = 240.0
    # XLA compiles the unrolled chain in time that grows faster than its length (1,000 ops: 20-90 s here);
    # 250 ops compile in a few seconds and give the same per-op time.
    chain_max_ops = 250

    def load(self) -> None:
        try:
            import jax
            import jax.numpy as jnp
        except ImportError as e:
            raise Unavailable(f"jax is not installed ({e})") from e
        warnings.filterwarnings("ignore", message=".*donated buffers.*")
        self.jax, self.jnp = jax, jnp
        jax.devices("cpu")

    def versions(self) -> dict[str, str]:
        import jaxlib
        return {"jax": self.jax.__version__, "jaxlib": jaxlib.__version__}

    def _params(self, W: tuple, b: tuple) -> list:
        """[(W[l]ᵀ, b[l])] as JAX arrays: z = a @ W[l]ᵀ + b[l] is written a @ Wt + b."""
        return [(self.jnp.asarray(W_l.T), self.jnp.asarray(b_l)) for W_l, b_l in zip(W, b)]

    def _forward(self, params: list, a):
        jax = self.jax
        for l, (Wt, b) in enumerate(params):
            a = a @ Wt + b
            if l < len(params) - 1:
                a = jax.nn.relu(a)
        return a

    def _cross_entropy(self, params: list, X, labels):
        logp = self.jax.nn.log_softmax(self._forward(params, X), axis=-1)
        return -self.jnp.mean(self.jnp.take_along_axis(logp, labels[:, None], axis=1))

    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        jax, jnp = self.jax, self.jnp
        kinds = [CHAIN_PATTERN[i % 4] for i in range(spec.n_ops)]
        c = spec.c

        def f(x, w):
            h = x
            for kind in kinds:
                if kind == "mul_w":
                    h = h * w
                elif kind == "add_w":
                    h = h + w
                elif kind == "relu":
                    h = jnp.maximum(h, 0.0)
                else:
                    h = h * c
            return jnp.sum(h)

        grad_f = jax.jit(jax.grad(f, argnums=(0, 1)))
        x = jnp.asarray(spec.x0, jnp.float32)
        w = jnp.asarray(spec.w, jnp.float32)
        return lambda: jax.block_until_ready(grad_f(x, w))

    def _sgd_runner(self, loss_fn: Callable, params: list, lr: float, *args) -> Callable[[], float]:
        jax = self.jax

        def step(params, *args):
            loss, grads = jax.value_and_grad(loss_fn)(params, *args)
            return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss

        compiled = jax.jit(step, donate_argnums=0)
        state = {"params": params}

        def run() -> float:
            state["params"], loss = compiled(state["params"], *args)
            return float(loss)

        return run

    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        jax, jnp = self.jax, self.jnp
        X, y = jnp.asarray(spec.X), jnp.asarray(spec.y)[:, None]
        alpha = spec.alpha

        def loss_fn(params):
            hinge = jnp.mean(jax.nn.relu(1 - y * self._forward(params, X)))
            return hinge + alpha * sum(jnp.sum(Wt * Wt) + jnp.sum(b * b) for Wt, b in params)

        return self._sgd_runner(loss_fn, self._params(spec.W, spec.b), spec.lr)

    def mlp_step(self, spec: MLPSpec) -> Callable[[], float]:
        jnp = self.jnp
        return self._sgd_runner(self._cross_entropy, self._params(spec.W, spec.b), spec.lr,
                                jnp.asarray(spec.X), jnp.asarray(spec.labels.astype(np.int32)))

    def example_grad(self, spec: MLPSpec) -> Callable[[], list]:
        jax, jnp = self.jax, self.jnp
        params = self._params(spec.W, spec.b)
        x, labels = jnp.asarray(spec.X), jnp.asarray(spec.labels.astype(np.int32))
        grad_f = jax.jit(jax.grad(self._cross_entropy))

        def gradient() -> list:
            grads = jax.block_until_ready(grad_f(params, x, labels))
            return [g for Wt, b in grads for g in (np.asarray(Wt).T, np.asarray(b))]

        return gradient
