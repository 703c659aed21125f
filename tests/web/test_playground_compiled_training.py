"""The playground's Train runs compiled steps: the weights after training equal an eager run's, and a change of
settings or optimiser gets a program of its own."""
from __future__ import annotations

import numpy as np

from chainrule.web.config import parse_config
from chainrule.web.playground import Playground

SETTINGS = {"dataset": "circles", "n_points": 120, "seed": 3, "hidden": [4, 3], "batch_size": 10, "lr": 0.3,
            "regularization": "l2", "regularization_rate": 0.001}


def _eager_twin(p: Playground) -> Playground:
    twin = Playground(p.config)
    twin._compiled_step = lambda: twin._batch_step  # the same batches, each step on the eager engine
    return twin


def test_compiled_training_equals_eager_training():
    p = Playground(parse_config(SETTINGS))
    twin = _eager_twin(p)
    for player in (p, twin):
        player.train(3)
    for a, b in zip(p.model.parameters(), twin.model.parameters()):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-15)
    assert p.state()["compiled_training"] is True


def test_a_new_optimiser_gets_a_new_program():
    p = Playground(parse_config(SETTINGS))
    p.train(1)
    first = p._compiled
    p.train(1)
    assert p._compiled is first and first.traces <= 2  # a full batch and maybe a last, smaller one
    p.optimizer = type(p.optimizer)(p.model.parameters(), lr=0.1)
    p.train(1)
    assert p._compiled is not first
