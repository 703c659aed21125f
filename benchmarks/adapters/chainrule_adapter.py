"""chainrule under test, through its public API only: tensor, relu, nn, nn.functional, optim, backward, grad.

Models are built with nn.Linear (weights (out, in), float32), nn.ReLU and nn.Sequential; SGD updates them.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..workloads import CHAIN_PATTERN, ChainSpec, MLPSpec, MoonsSpec
from .base import Adapter, Unavailable


class Chainrule(Adapter):
    name = "chainrule"
    numpy_based = True

    def load(self) -> None:
        try:
            import chainrule
            from chainrule import nn, optim
            from chainrule.nn import functional
        except ImportError as e:
            raise Unavailable(f"cannot import chainrule's public API ({e})") from e
        self.cr, self.nn, self.optim, self.functional = chainrule, nn, optim, functional

    def versions(self) -> dict[str, str]:
        return {"chainrule": str(getattr(self.cr, "__version__", "unknown"))}

    def _model(self, W: tuple, b: tuple):
        """Sequential(Linear, ReLU, ..., Linear) holding copies of the given float32 weights and biases,
        and its parameters in the order W[1], b[1], W[2], b[2], ..."""
        layers, params = [], []
        for l, (W_l, b_l) in enumerate(zip(W, b)):
            n_out, n_in = W_l.shape
            linear = self.nn.Linear(n_in, n_out, dtype=np.float32)
            linear.weight.data[...] = W_l
            linear.bias.data[...] = b_l
            layers.append(linear)
            params += [linear.weight, linear.bias]
            if l < len(W) - 1:
                layers.append(self.nn.ReLU())
        return self.nn.Sequential(*layers), params

    # ------------------------------------------------------------------------- B
    def _chain_sum(self, spec: ChainSpec) -> Callable:
        """s(x, w) = sum(h_n) of the chain, in chainrule's operations; the compiled adapter compiles its gradient."""
        relu, c = self.cr.relu, spec.c
        kinds = [CHAIN_PATTERN[i % 4] for i in range(spec.n_ops)]

        def chain_sum(x, w):
            h = x
            for kind in kinds:
                if kind == "mul_w":
                    h = h * w
                elif kind == "add_w":
                    h = h + w
                elif kind == "relu":
                    h = relu(h)
                else:
                    h = h * c
            return h.sum()
        return chain_sum

    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        cr = self.cr
        x = cr.tensor(np.asarray(spec.x0, np.float32), requires_grad=True)
        w = cr.tensor(np.asarray(spec.w, np.float32), requires_grad=True)
        chain_sum = self._chain_sum(spec)

        def forward_backward() -> tuple:
            x.grad = None
            w.grad = None
            chain_sum(x, w).backward()
            return x.grad.data, w.grad.data

        return forward_backward

    # ------------------------------------------------------------------------- C
    def _moons_step_function(self, spec: MoonsSpec) -> Callable:
        """micrograd's demo step (the loss Tensor returned); the compiled adapter compiles this same function."""
        cr = self.cr
        model, params = self._model(spec.W, spec.b)
        X = cr.tensor(spec.X)
        y = cr.tensor(spec.y[:, None])
        optimizer = self.optim.SGD(params, lr=spec.lr)
        alpha = spec.alpha

        def step():
            optimizer.zero_grad()
            score = model(X)
            reg = (params[0] * params[0]).sum()
            for p in params[1:]:
                reg = reg + (p * p).sum()
            loss = cr.relu(1 - y * score).mean() + alpha * reg
            loss.backward()
            optimizer.step()
            return loss

        return step

    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        step = self._moons_step_function(spec)
        return lambda: step().item()

    # ------------------------------------------------------------------------- D
    def _training(self, spec: MLPSpec):
        model, params = self._model(spec.W, spec.b)
        X = self.cr.tensor(spec.X)
        optimizer = self.optim.SGD(params, lr=spec.lr)
        cross_entropy = self.functional.cross_entropy
        labels = spec.labels

        def loss_fn():
            return cross_entropy(model(X), labels)

        return model, params, optimizer, loss_fn

    def mlp_step(self, spec: MLPSpec) -> Callable[[], float]:
        _, _, optimizer, loss_fn = self._training(spec)

        def step() -> float:
            optimizer.zero_grad()
            loss = loss_fn()
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    def mlp_phases(self, spec: MLPSpec) -> Callable[[], tuple[float, float, float]]:
        _, _, optimizer, loss_fn = self._training(spec)
        clock = time.perf_counter

        def step() -> tuple[float, float, float]:
            optimizer.zero_grad()
            t0 = clock()
            loss = loss_fn()
            loss.item()
            t1 = clock()
            loss.backward()
            t2 = clock()
            optimizer.step()
            t3 = clock()
            return t1 - t0, t2 - t1, t3 - t2

        return step

    def dtype_report(self, spec: MLPSpec) -> dict[str, str]:
        model, params, optimizer, _ = self._training(spec)
        optimizer.zero_grad()
        logits = model(self.cr.tensor(spec.X))
        loss = self.functional.cross_entropy(logits, spec.labels)
        loss.backward()
        optimizer.step()
        return {"logits": str(logits.dtype), "loss": str(loss.dtype),
                "gradients": ",".join(sorted({str(p.grad.dtype) for p in params})),
                "parameters after SGD": ",".join(sorted({str(p.dtype) for p in params}))}

    # ------------------------------------------------------------------------- E
    def example_grad(self, spec: MLPSpec) -> Callable[[], list]:
        model, params = self._model(spec.W, spec.b)
        x = self.cr.tensor(spec.X)
        labels = spec.labels
        cross_entropy = self.functional.cross_entropy

        def gradient() -> list:
            for p in params:
                p.grad = None
            cross_entropy(model(x), labels).backward()
            return [p.grad.data for p in params]

        return gradient
