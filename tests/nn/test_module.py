"""Module: parameters listed once by dotted name, state_dict round trips (copies, named errors, version
counters bumped), train/eval on every submodule, zero_grad and repr."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn


def test_state_dict_round_trip_copies_values_and_not_references() -> None:
    source, target = nn.MLP([2, 3, 1], rng=0), nn.MLP([2, 3, 1], rng=1)
    state = source.state_dict()
    target.load_state_dict(state)
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(source(x).data, target(x).data)
    state["layers.0.weight"][:] = 99.0
    assert not np.any(source.layers[0].weight.data == 99.0)


def test_load_state_dict_names_missing_and_mismatched_parameters() -> None:
    model = nn.MLP([2, 3, 1], rng=0)
    state = model.state_dict()
    del state["layers.1.bias"]
    with pytest.raises(ValueError, match="missing layers.1.bias"):
        model.load_state_dict(state)
    wrong = nn.MLP([2, 4, 1], rng=0).state_dict()
    with pytest.raises(ValueError, match=r"layers.0.weight has shape \(4, 2\).*\(3, 2\)"):
        model.load_state_dict(wrong)


def test_a_parameter_shared_by_two_layers_is_listed_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encode = nn.Linear(2, 2, rng=0)
            self.decode = nn.Linear(2, 2, rng=1)
            self.decode.weight = self.encode.weight

    assert len(Tied().parameters()) == 3


def test_train_and_eval_set_the_mode_on_every_submodule() -> None:
    model = nn.MLP([2, 2, 1], rng=0)
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_repr_shows_the_architecture() -> None:
    text = repr(nn.MLP([2, 2, 1], output_activation="sigmoid", rng=0))
    assert "sizes=[2, 2, 1]" in text and "Linear(in_features=2, out_features=1, bias=True)" in text


def test_zero_grad_forgets_gradients() -> None:
    model = nn.MLP([2, 2, 1], rng=0)
    model(np.ones((1, 2))).sum().backward()
    assert model.layers[0].weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_load_state_dict_marks_parameters_modified_so_a_stale_graph_refuses_to_run() -> None:
    model = nn.MLP([2, 2, 1], rng=0)
    stale = model(np.ones((1, 2))).sum()
    model.load_state_dict(nn.MLP([2, 2, 1], rng=1).state_dict())
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()
