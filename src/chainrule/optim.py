"""Optimisers that apply w ← w − η·(update) to parameter Tensors in place, and learning-rate schedules.

Shaped like `torch.optim` (`zero_grad()`, `step()`), with one learning rate `lr` per optimiser. Updates write
into `p.data` in place: a large parameter block by block through two small scratch buffers that stay in cache
(no parameter-sized scratch memory), a small one whole with NumPy's temporaries (cheaper than finding space).
Plain SGD (no momentum, no weight decay), w ← w − η g, takes a short path of its own: it is what most
training loops run, and per-piece bookkeeping would cost more than the arithmetic on small parameters. On that
path a large parameter is updated by BLAS axpy (`_blas`) in one pass, where NumPy's wheel carries OpenBLAS.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from numpy import ndarray

import chainrule as cr

from ._blas import axpy


def _check_rate(owner: str, name: str, value: float, upper: float | None = None) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (upper is not None and value >= upper):
        bound = f"in [0, {upper})" if upper is not None else "a finite number ≥ 0"
        raise ValueError(f"{owner}: {name} must be {bound}, got {value}")
    return value


BLOCK = 1 << 15  # elements updated at a time in a large parameter: the scratch pieces (128 KiB each in float32)
WHOLE = 2 * BLOCK  # a parameter with at most this many elements is updated whole, with NumPy's temporaries


class Optimizer:
    """Holds the parameters and the learning rate; subclasses define `step`."""

    def __init__(self, params: Iterable[cr.Tensor], lr: float) -> None:
        self.params = list(params)
        name = type(self).__name__
        if not self.params:
            raise ValueError(f"{name}: got no parameters to optimise")
        for index, p in enumerate(self.params):
            if not isinstance(p, cr.Tensor) or not p.requires_grad:
                raise TypeError(f"{name}: parameter {index} is not a Tensor with requires_grad=True")
        self.lr = _check_rate(name, "lr", lr)
        self.initial_lr = self.lr
        self._scratch: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}  # two BLOCK-sized buffers per dtype

    def _pieces(self, written: list[np.ndarray], read: np.ndarray) -> Iterable[tuple[Any, ...]]:
        """Matching pieces of the arrays to update (`written`, e.g. w and velocity) and of the gradient, each
        followed by two scratch arrays of the same shape, or by (None, None) where NumPy's temporaries will do:
        the whole parameter when it has at most WHOLE elements, else flat blocks of BLOCK elements, so that
        scratch memory is 2·BLOCK elements in all however large the parameters."""
        w = written[0]
        if w.size <= WHOLE or not all(a.flags.c_contiguous for a in written):
            return ((*written, read, None, None),)
        return self._blocks(written, read, *self._scratch_for(w.dtype))

    def _scratch_for(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        if dtype not in self._scratch:
            self._scratch[dtype] = (np.empty(BLOCK, dtype), np.empty(BLOCK, dtype))
        return self._scratch[dtype]

    @staticmethod
    def _blocks(written: list[np.ndarray], read: np.ndarray, first: np.ndarray,
                second: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        flats = [a.reshape(-1) for a in written] + [np.ravel(read)]
        for lo in range(0, flats[0].size, BLOCK):
            pieces = [f[lo:lo + BLOCK] for f in flats]
            n = pieces[0].size
            yield (*pieces, first[:n], second[:n])

    def zero_grad(self) -> None:
        """Forget the gradients (p.grad = None), so the next backward() starts from zero."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define step()")


class SGD(Optimizer):
    """v ← μ v + g;  w ← w − η v   (g = ∂C/∂w + λ w; Nesterov uses g + μ v in place of v)."""

    def __init__(
        self,
        params: Iterable[cr.Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_rate("SGD", "momentum", momentum, upper=1.0)
        self.weight_decay = _check_rate("SGD", "weight_decay", weight_decay)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self._velocity = [np.zeros_like(p.data) for p in self.params] if self.momentum else []

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        if not (self.momentum or self.weight_decay):
            self._descend()
            return
        for index, p in enumerate(self.params):
            grad = p.grad
            if grad is None:
                continue
            if self.momentum:
                for w, v, g, s1, s2 in self._pieces([p.data, self._velocity[index]], grad.data):
                    self._update(w, v, g, s1, s2)
            else:
                for w, g, s1, s2 in self._pieces([p.data], grad.data):
                    self._update(w, None, g, s1, s2)

    def _descend(self) -> None:
        """Plain SGD, w ← w − η g in place for every parameter with a gradient. A large parameter goes by BLAS
        axpy (one pass, on NumPy's BLAS threads) where NumPy's bundled OpenBLAS has it, else by `_pieces`; a
        small one whole."""
        lr = self.lr
        for p in self.params:
            grad = p.grad
            if grad is None:
                continue
            w, g = p.value, grad.value  # the arrays themselves (read as .data below only for a 0-d parameter)
            if type(w) is not ndarray:
                w = p.data
            n = w.size
            if n < BLOCK or not axpy(-lr, g, w):
                if n <= WHOLE or np.shape(g) != w.shape:
                    w -= g * lr
                else:
                    for w_piece, g_piece, s1, s2 in self._pieces([w], g):
                        self._update(w_piece, None, g_piece, s1, s2)

    def _update(self, w: np.ndarray, v: np.ndarray | None, g: np.ndarray, s1: Any, s2: Any) -> None:
        """w ← w − η·direction for one piece, in place; s1, s2 are scratch (None: temporaries)."""
        if self.weight_decay:  # g + λ w
            g = np.add(np.multiply(w, self.weight_decay, out=s1), g, out=s1)
        direction = g
        if v is not None:
            mu = self.momentum
            np.multiply(v, mu, out=v)
            np.add(v, g, out=v)
            direction = v
            if self.nesterov:  # g + μ v
                direction = np.add(np.multiply(v, mu, out=s2), g, out=s2)
        np.subtract(w, np.multiply(direction, self.lr, out=s2), out=w)


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η m̂ / (√v̂ + ε) with bias-corrected m̂, v̂."""

    def __init__(
        self,
        params: Iterable[cr.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (β₁, β₂), got {betas!r}")
        self.betas = (_check_rate("Adam", "β₁", betas[0], 1.0), _check_rate("Adam", "β₂", betas[1], 1.0))
        self.eps = _check_rate("Adam", "eps", eps)
        self.weight_decay = _check_rate("Adam", "weight_decay", weight_decay)
        self.steps = 0
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1**self.steps)
        v_correction = math.sqrt(1.0 - beta2**self.steps)
        for p, m, v in zip(self.params, self._m, self._v):
            if p.grad is None:
                continue
            for w, m_, v_, g, s1, s2 in self._pieces([p.data, m, v], p.grad.data):
                if self.weight_decay:  # g + λ w
                    g = np.add(np.multiply(w, self.weight_decay, out=s1), g, out=s1)
                np.multiply(m_, beta1, out=m_)
                np.add(m_, np.multiply(g, 1.0 - beta1, out=s2), out=m_)
                np.multiply(v_, beta2, out=v_)
                np.add(v_, np.multiply(np.square(g, out=s2), 1.0 - beta2, out=s2), out=v_)
                denominator = np.add(np.divide(np.sqrt(v_, out=s2), v_correction, out=s2), self.eps, out=s2)
                np.subtract(w, np.multiply(np.divide(m_, denominator, out=s2), step_size, out=s2), out=w)


class _Schedule:
    """Sets optimizer.lr from the epoch count; call step() once per epoch."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        """Advance one epoch and return the new learning rate."""
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr


class StepLR(_Schedule):
    """η_e = η₀ · γ^⌊e / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        if int(step_size) < 1:
            raise ValueError(f"StepLR: step_size must be ≥ 1 epoch, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = _check_rate("StepLR", "gamma", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(_Schedule):
    """η_e = η_min + ½(η₀ − η_min)(1 + cos(π e / T)) for e ≤ T, then η_min."""

    def __init__(self, optimizer: Optimizer, total_epochs: int, min_lr: float = 0.0) -> None:
        super().__init__(optimizer)
        if int(total_epochs) < 1:
            raise ValueError(f"CosineLR: total_epochs must be ≥ 1, got {total_epochs}")
        self.total_epochs = int(total_epochs)
        self.min_lr = _check_rate("CosineLR", "min_lr", min_lr)

    def lr_at(self, epoch: int) -> float:
        progress = min(epoch, self.total_epochs) / self.total_epochs
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))


OPTIMIZERS = {"sgd": SGD, "adam": Adam}
