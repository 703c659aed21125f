"""Two lessons with numbers from the engine: a step-by-step article's hidden-layer rule against BP2, and the
memory that reverse mode keeps (and what gradient checkpointing trades for it).

Neither is a new way to train: each sets a procedure that learners meet beside back-propagation and measures
how far it is from it. Every number is computed here, by the derivation in `network.py` or by the engine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import autodiff as ad
from .network import Explanation, forward


# ------------------------------------------------------------------ the article's hidden-layer error
@dataclass
class ArticleLayer:
    """One layer's weight update by the article's rule beside the true gradient step (both with the same η)."""
    l: int
    true_update: np.ndarray  # −η ∂C/∂W^l, from BP1, BP2 and BP4
    article_update: np.ndarray  # η (e^l ⊙ σ′(z^l)) (a^{l−1})ᵀ with e^l carried back without σ′ of later layers
    missing: str  # the σ′ factors the article's e^l leaves out, e.g. "σ′(z³) σ′(z²)"

    @property
    def relative_difference(self) -> float:
        """‖article − true‖ / ‖true‖ (NaN where the true update is 0)."""
        return _ratio(np.linalg.norm(self.article_update - self.true_update), np.linalg.norm(self.true_update))

    @property
    def size_ratio(self) -> float:
        """‖article‖ / ‖true‖: how much larger the article's step is (NaN where the true update is 0)."""
        return _ratio(np.linalg.norm(self.article_update), np.linalg.norm(self.true_update))

    @property
    def cosine(self) -> float:
        """The cosine of the angle between the two updates (1: the same direction; NaN where one is 0)."""
        a, b = self.article_update.ravel(), self.true_update.ravel()
        return _ratio(a @ b, np.linalg.norm(a) * np.linalg.norm(b))


def _ratio(top: float, bottom: float) -> float:
    return float(top / bottom) if bottom != 0 else math.nan


@dataclass
class ArticleComparison:
    """The article's procedure on one example beside back-propagation, layer by layer, and the cost after each."""
    layers: list[ArticleLayer]
    cost: float
    cost_after_true: float  # weights moved by −η ∂C/∂W (biases kept, as the article has none)
    cost_after_article: float


_SUPERSCRIPT = dict(enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹"))


def compare_with_article(e: Explanation) -> ArticleComparison:
    """Follow "Principles of training multi-layer neural network using backpropagation" literally on e's network
    and example: the output error is t − y; each hidden error is the weighted sum of the errors of the next layer
    (e^l = (W^{l+1})ᵀ e^{l+1}, with no σ′ of the later layer); the update is w ← w + η e σ′(z) x. Set beside it
    the true step −η ∂C/∂W, whose δ carries σ′ of every later layer (BP2)."""
    if e.cost.name != "half_sum" or e.N != 1:
        raise ValueError("the article's rule is for one example and the cost ½Σ(t − y)²: use loss half_sum")
    d, L = e.derivation, e.L
    error = e.t.T - d.a[L]  # e^L = t − y
    layers: list[ArticleLayer] = [None] * (L + 1)
    for l in range(L, 0, -1):
        if l < L:
            error = d.W[l + 1].T @ error  # the article: no σ′(z^{l+1}) here
        article = e.lr * (error * d.sigma_prime[l]) @ d.a[l - 1].T
        missing = " ".join(f"σ′(z{_SUPERSCRIPT.get(m, m)})" for m in range(L, l, -1))
        layers[l] = ArticleLayer(l, -e.lr * d.dW[l], article, missing)
    moved_true = [None] + [d.W[l] + layers[l].true_update for l in range(1, L + 1)]
    moved_article = [None] + [d.W[l] + layers[l].article_update for l in range(1, L + 1)]
    after = [e.cost.value(forward(W, d.b, e.activations, e.x.T)[1][L], e.t.T) for W in (moved_true, moved_article)]
    return ArticleComparison(layers[1:], d.cost, after[0], after[1])


def format_article_comparison(c: ArticleComparison) -> str:
    """The comparison as a table: per layer the factors the article leaves out and how far its update is."""
    rows = [("layer l", "left out of e^l", "‖article‖/‖true‖", "‖article − true‖/‖true‖", "cosine")]
    rows += [(str(layer.l), layer.missing or "nothing (BP1)", f"{layer.size_ratio:.4g}",
              f"{layer.relative_difference:.4g}", f"{layer.cosine:.6f}") for layer in c.layers]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"cost {c.cost:.8g}; after one step: {c.cost_after_true:.8g} by the gradient (BP2), "
                 f"{c.cost_after_article:.8g} by the article's rule")
    return "\n".join(lines)


# ------------------------------------------------------------------ reverse mode's memory, and checkpointing
@dataclass
class CheckpointReport:
    """One gradient of a deep sigmoid MLP computed twice: storing every layer's values, and storing only every
    k-th layer's activation and recomputing each segment during the backward pass."""
    layers: int
    batch: int
    every: int
    stored_full: int  # activations kept for the backward pass when nothing is recomputed
    stored_checkpointed: int  # checkpoints plus one segment's activations at a time
    bytes_per_activation: int
    layer_evaluations_full: int  # forward layer evaluations (z = W a + b, a = σ(z))
    layer_evaluations_checkpointed: int
    max_difference: float  # largest |∂C/∂w| difference between the two ways


def _layer(a: ad.Tensor, W: ad.Tensor, b: ad.Tensor) -> ad.Tensor:
    return ad.sigmoid(a @ W.T + b)


def checkpointing(width: int = 32, layers: int = 16, batch: int = 64, every: int = 4,
                  seed: int = 0) -> CheckpointReport:
    """C = ½‖a^L − t‖² of a sigmoid MLP (`layers` layers of `width`), its gradient by the engine both ways:
    one graph over all the layers, and segments of `every` layers, each recomputed from its stored input
    (the checkpoint) when the backward pass reaches it, its output's gradient fed in by backward(gradient)."""
    if not 1 <= every <= layers:
        raise ValueError(f"checkpointing: every must be between 1 and the number of layers ({layers}), got {every}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, width))
    t = rng.uniform(size=(batch, width))
    params = [(ad.tensor(rng.normal(scale=1 / np.sqrt(width), size=(width, width)), requires_grad=True),
               ad.tensor(rng.normal(scale=0.1, size=width), requires_grad=True)) for _ in range(layers)]

    def cost(a: ad.Tensor) -> ad.Tensor:
        return 0.5 * ((a - t) ** 2).sum()

    a = ad.tensor(x)
    for W, b in params:  # one graph: every activation stays alive until the sweep passes it
        a = _layer(a, W, b)
    cost(a).backward()
    full = [p.grad.data.copy() for pair in params for p in pair]
    for W, b in params:
        W.grad = b.grad = None

    starts = list(range(0, layers, every))
    checkpoints, a = {}, x
    with ad.no_grad():  # the forward pass keeps only the segments' inputs
        for l, (W, b) in enumerate(params):
            if l in starts:
                checkpoints[l] = a
            a = np.asarray(_layer(ad.tensor(a), W, b).data)
    gradient = None
    for start in reversed(starts):  # recompute each segment with its graph, then sweep it
        a_in = ad.tensor(checkpoints[start], requires_grad=True)
        a = a_in
        for W, b in params[start:start + every]:
            a = _layer(a, W, b)
        if gradient is None:
            cost(a).backward()
        else:
            a.backward(gradient)
        gradient = a_in.grad.data
    checkpointed = [p.grad.data for pair in params for p in pair]
    return CheckpointReport(layers, batch, every, layers + 1, len(starts) + every, batch * width * 8,
                            layers, 2 * layers,
                            max(float(np.max(np.abs(f - c))) for f, c in zip(full, checkpointed)))


def format_checkpointing(r: CheckpointReport) -> str:
    """The trade in two lines: memory kept against forward work, and that the gradient is the same."""
    kib = r.bytes_per_activation / 1024
    return (f"{r.layers} layers, batch {r.batch}: storing every activation keeps {r.stored_full} of them "
            f"({r.stored_full * kib:,.0f} KiB) for {r.layer_evaluations_full} layer evaluations;\n"
            f"checkpoints every {r.every} layers keep {r.stored_checkpointed} at a time "
            f"({r.stored_checkpointed * kib:,.0f} KiB) for {r.layer_evaluations_checkpointed} layer evaluations; "
            f"largest gradient difference {r.max_difference:.1e}")
