"""PyTorch eager on the CPU, written the way its users write it: nn.Linear, F.cross_entropy, optim.SGD.

Only used when torch imports; the ratios '/torch' in the report are taken against this adapter.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from ..workloads import CHAIN_PATTERN, ChainSpec, MLPSpec, MoonsSpec
from .base import Adapter, Unavailable


class TorchEager(Adapter):
    name = "torch"

    def load(self) -> None:
        try:
            import torch
            from torch.nn import functional
        except ImportError as e:
            raise Unavailable(f"torch is not installed ({e})") from e
        self.torch, self.F = torch, functional

    def versions(self) -> dict[str, str]:
        return {"torch": self.torch.__version__}

    def set_threads(self, n: int) -> None:
        self.torch.set_num_threads(n)
        try:
            self.torch.set_num_interop_threads(1)
        except RuntimeError:                      # already set once in this process
            pass

    def _model(self, W: tuple, b: tuple):
        torch = self.torch
        layers, params = [], []
        for l, (W_l, b_l) in enumerate(zip(W, b)):
            n_out, n_in = W_l.shape
            linear = torch.nn.Linear(n_in, n_out)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W_l))
                linear.bias.copy_(torch.from_numpy(b_l))
            layers.append(linear)
            params += [linear.weight, linear.bias]
            if l < len(W) - 1:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers), params

    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        torch = self.torch
        x = torch.tensor(spec.x0, dtype=torch.float32, requires_grad=True)
        w = torch.tensor(spec.w, dtype=torch.float32, requires_grad=True)
        c = spec.c
        kinds = [CHAIN_PATTERN[i % 4] for i in range(spec.n_ops)]

        def forward_backward() -> tuple:
            h = x
            for kind in kinds:
                if kind == "mul_w":
                    h = h * w
                elif kind == "add_w":
                    h = h + w
                elif kind == "relu":
                    h = torch.relu(h)
                else:
                    h = h * c
            g_x, g_w = torch.autograd.grad(h.sum(), (x, w))
            return g_x.numpy(), g_w.numpy()

        return forward_backward

    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        torch = self.torch
        model, params = self._model(spec.W, spec.b)
        X = torch.from_numpy(spec.X)
        y = torch.from_numpy(spec.y)[:, None]
        optimizer = torch.optim.SGD(params, lr=spec.lr)
        alpha = spec.alpha

        def step() -> float:
            optimizer.zero_grad(set_to_none=True)
            reg = sum((p * p).sum() for p in params)
            loss = torch.relu(1 - y * model(X)).mean() + alpha * reg
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    def _training(self, spec: MLPSpec):
        torch = self.torch
        model, params = self._model(spec.W, spec.b)
        X = torch.from_numpy(spec.X)
        labels = torch.from_numpy(spec.labels)
        optimizer = torch.optim.SGD(params, lr=spec.lr)
        F = self.F
        return optimizer, lambda: F.cross_entropy(model(X), labels)

    def mlp_step(self, spec: MLPSpec) -> Callable[[], float]:
        optimizer, loss_fn = self._training(spec)

        def step() -> float:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    def mlp_phases(self, spec: MLPSpec) -> Callable[[], tuple[float, float, float]]:
        optimizer, loss_fn = self._training(spec)
        clock = time.perf_counter

        def step() -> tuple[float, float, float]:
            optimizer.zero_grad(set_to_none=True)
            t0 = clock()
            loss = loss_fn()
            t1 = clock()
            loss.backward()
            t2 = clock()
            optimizer.step()
            t3 = clock()
            return t1 - t0, t2 - t1, t3 - t2

        return step

    def example_grad(self, spec: MLPSpec) -> Callable[[], list]:
        torch = self.torch
        model, params = self._model(spec.W, spec.b)
        x = torch.from_numpy(spec.X)
        labels = torch.from_numpy(spec.labels)
        F = self.F

        def gradient() -> list:
            grads = torch.autograd.grad(F.cross_entropy(model(x), labels), params)
            return [g.numpy() for g in grads]

        return gradient
