"""Back-propagation written out for one network: the source that chainrule.compile generates for one step of
gradient descent, headed by the four equations it carries out (`chainrule explain --code`)."""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..autodiff.tensor import tensor
from ..nn.functional import get_loss
from ..nn.module import Module
from ..optim import SGD
from .function import CompiledFunction

HEADER = """\
# One step of gradient descent, w ← w − η ∂C/∂w, for the network {sizes}, written out by chainrule.compile
# from a step that runs forward, loss.backward() and opt.step(). Rows are examples, so a^l is (examples, n_l)
# and z^l = W^l a^(l-1) + b^l is written z{{l}} = a{{l-1}} @ W{{l}}.T; z{{l}} += b{{l}}. Read it beside the four equations:
#   BP1  δ^L = ∇_a C ⊙ σ'(z^L)              the lines that end in delta{L}
#   BP2  δ^l = ((W^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^l)  da{{l}} = delta{{l+1}} @ W{{l+1}}, then delta{{l}} = da{{l}} * σ'(z{{l}})
#   BP3  ∂C/∂b^l_j = δ^l_j                   db{{l}}: delta{{l}} summed over the examples
#   BP4  ∂C/∂w^l_jk = a^(l-1)_k δ^l_j         dW{{l}} = delta{{l}}.T @ a{{l-1}} (summed over the examples)
# Each δ is computed once and reused for every weight below it: that is what back-propagation saves.
"""


def training_step_source(model: Module, x: Any, t: Any, loss: str = "half_sum", lr: float = 0.5,
                         fixed_biases: bool = False) -> str:
    """The generated source of one SGD step of `model` (a copy: the model is not changed) on example(s) x with
    target(s) t, under the cost `loss`, with η = lr; with fixed_biases only the weights are updated."""
    model = copy.deepcopy(model)
    dtype = model.parameters()[0].dtype
    X = np.atleast_2d(np.asarray(x, dtype=dtype))
    targets = np.asarray(t)
    if loss == "ce":
        one_hot = targets.ndim == max(np.ndim(x), 1) and targets.shape[-1] > 1  # a row per example, as x has
        labels = targets.argmax(axis=-1) if one_hot else targets
        T = np.atleast_1d(labels).astype(np.int64)
    else:
        T = targets.astype(dtype).reshape(len(X), -1)
    cost = get_loss(loss)
    weights = [p for name, p in model.named_parameters() if not (fixed_biases and name.endswith("bias"))]
    optimizer = SGD(weights, lr=lr)

    def training_step(a0: Any, t: Any) -> Any:
        optimizer.zero_grad()
        C = cost(model(a0), t)
        C.backward()
        optimizer.step()
        return C
    compiled = CompiledFunction(training_step)
    compiled(tensor(X), T)
    sizes = getattr(model, "sizes", None)
    layers = len(sizes) - 1 if sizes else 1
    header = HEADER.format(sizes="-".join(map(str, sizes)) if sizes else type(model).__name__, L=layers)
    return header + compiled.source
