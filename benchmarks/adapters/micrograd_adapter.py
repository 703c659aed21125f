"""micrograd (Karpathy's scalar Value engine, Python floats): workload B and its own demo step, workload C.

The C step follows the structure of micrograd's demo notebook: Values per input, hinge loss, L2 over parameters.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from ..workloads import CHAIN_PATTERN, ChainSpec, MoonsSpec
from .base import Adapter, Unavailable


class Micrograd(Adapter):
    name = "micrograd"
    warm_limit_s = 60.0

    def load(self) -> None:
        try:
            from micrograd.engine import Value
            from micrograd.nn import MLP
        except ImportError as e:
            raise Unavailable(f"micrograd is not installed ({e})") from e
        self.Value, self.MLP = Value, MLP

    def versions(self) -> dict[str, str]:
        from importlib.metadata import version
        return {"micrograd": version("micrograd")}

    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        # micrograd sorts the graph recursively, one Python frame per node: a long chain needs a deeper stack
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 2 * spec.n_ops + 1000))
        Value = self.Value
        kinds = [CHAIN_PATTERN[i % 4] for i in range(spec.n_ops)]

        def forward_backward() -> tuple:
            x, w = Value(spec.x0), Value(spec.w)
            h = x
            for kind in kinds:
                if kind == "mul_w":
                    h = h * w
                elif kind == "add_w":
                    h = h + w
                elif kind == "relu":
                    h = h.relu()
                else:
                    h = h * spec.c
            h.backward()
            return x.grad, w.grad

        return forward_backward

    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        Value = self.Value
        sizes = [spec.W[0].shape[1]] + [W_l.shape[0] for W_l in spec.W]
        model = self.MLP(sizes[0], sizes[1:])
        for layer, W_l, b_l in zip(model.layers, spec.W, spec.b):
            for j, neuron in enumerate(layer.neurons):
                for k, weight in enumerate(neuron.w):
                    weight.data = float(W_l[j, k])
                neuron.b.data = float(b_l[j])
        params = model.parameters()
        rows = [[float(v) for v in row] for row in spec.X]
        targets = [float(t) for t in spec.y]

        def step() -> float:
            scores = [model([Value(v) for v in row]) for row in rows]
            losses = [(1 + -t * s).relu() for t, s in zip(targets, scores)]
            data_loss = sum(losses) * (1.0 / len(losses))
            reg_loss = spec.alpha * sum(p * p for p in params)
            total = data_loss + reg_loss
            model.zero_grad()
            total.backward()
            for p in params:
                p.data -= spec.lr * p.grad
            return total.data

        return step
