"""chainrule's compiled tier (`chainrule.compile`) on the same workloads, through the public API only.

B compiles the gradient transform `chainrule.grad(f, argnums=(0, 1))`; C and D compile the whole training step
(zero_grad, loss, backward, optimiser step) as a closure over the model and the optimiser. The first call traces
and generates the source (its time is the `first call` column); every later call replays it.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..workloads import ChainSpec, MLPSpec, MoonsSpec
from .base import Unavailable
from .chainrule_adapter import Chainrule


class ChainruleCompiled(Chainrule):
    name = "chainrule-compiled"

    def load(self) -> None:
        super().load()
        if not callable(getattr(self.cr, "compile", None)):
            raise Unavailable("this chainrule has no compile()")

    def chain(self, spec: ChainSpec) -> Callable[[], tuple]:
        cr = self.cr
        gradient = cr.compile(cr.grad(self._chain_sum(spec), argnums=(0, 1)))
        x, w = np.asarray(spec.x0, np.float32), np.asarray(spec.w, np.float32)
        return lambda: gradient(x, w)

    def moons_step(self, spec: MoonsSpec) -> Callable[[], float]:
        step = self.cr.compile(self._moons_step_function(spec))
        return lambda: step().item()

    def compiled_mlp_step(self, spec: MLPSpec) -> Callable[[], object]:
        """The whole training step (zero_grad, loss, backward, optimiser step) as one compiled program."""
        _, _, optimizer, loss_fn = self._training(spec)

        @self.cr.compile
        def step():
            optimizer.zero_grad()
            loss = loss_fn()
            loss.backward()
            optimizer.step()
            return loss

        return step

    def mlp_step(self, spec: MLPSpec) -> Callable[[], float]:
        step = self.compiled_mlp_step(spec)
        return lambda: step().item()

    def mlp_phases(self, spec: MLPSpec):
        raise NotImplementedError("a compiled step runs as one program: no phases to time apart")

    def example_grad(self, spec: MLPSpec):
        raise NotImplementedError
