"""`fit` runs compiled steps by default, equal to the eager engine's, and falls back to eager steps (saying
why) when a step cannot be traced."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import data, nn, optim, train


def _fit(compile_steps, loss="mse", batch_size=None, epochs=60):
    X, y = data.moons(n=60, noise=0.2, seed=2)
    model = nn.MLP([2, 5, 1], activation="tanh", output_activation="sigmoid", rng=1)
    history = train.fit(model, loss, optim.Adam(model.parameters(), lr=0.05), (X, y), epochs,
                        batch_size=batch_size, seed=0, compile=compile_steps)
    return model, history


@pytest.mark.parametrize("batch_size", [None, 16])
def test_compiled_and_eager_fits_agree(batch_size):
    (a, ha), (b, hb) = _fit(True, batch_size=batch_size), _fit(False, batch_size=batch_size)
    assert ha.compiled and not hb.compiled
    np.testing.assert_allclose(ha.train_loss, hb.train_loss, rtol=1e-12)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)


def test_a_step_that_cannot_be_traced_runs_eagerly_and_says_why():
    def loss_that_branches(y, t):
        cost = nn.functional.mse(y, t)
        return cost * 2 if cost.item() > 10 else cost  # a Python `if` on a value: not traceable
    (a, ha), (b, hb) = _fit(True, loss=loss_that_branches), _fit(False, loss=loss_that_branches)
    assert not ha.compiled and any("could not be compiled" in m and "item()" in m for m in ha.messages)
    np.testing.assert_allclose(ha.train_loss, hb.train_loss, rtol=1e-12)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)
