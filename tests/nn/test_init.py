"""The initialisers: the variances their papers prescribe, uniform ones within their limit, the default per
activation, unknown names refused, and seeds given as a Generator, an int or None."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import nn
from chainrule.nn import init


@pytest.mark.parametrize(
    ("name", "variance"),
    [("xavier_uniform", 2 / (300 + 200)), ("xavier_normal", 2 / (300 + 200)), ("he_uniform", 2 / 300),
     ("he_normal", 2 / 300), ("normal", 1.0)],
)
def test_initialisers_have_the_variance_their_papers_prescribe(name: str, variance: float) -> None:
    W = init.get_initialiser(name)((200, 300), np.random.default_rng(0))
    assert W.shape == (200, 300)
    assert abs(W.mean()) < 0.05 * np.sqrt(variance)
    assert W.var() == pytest.approx(variance, rel=0.03)


def test_uniform_initialisers_stay_within_their_limit() -> None:
    W = init.xavier_uniform((50, 30), np.random.default_rng(1))
    assert np.abs(W).max() <= np.sqrt(6 / 80)


def test_mlp_uses_he_for_relu_and_xavier_for_sigmoid_by_default() -> None:
    assert nn.MLP([2, 2, 1], activation="relu", rng=0).init == "he"
    assert nn.MLP([2, 2, 1], activation="sigmoid", rng=0).init == "xavier"


def test_unknown_initialiser_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown initialiser 'glorious'"):
        nn.Linear(2, 2, init="glorious")


def test_as_generator_takes_a_generator_an_int_seed_or_none() -> None:
    rng = np.random.default_rng(5)
    assert init.as_generator(rng) is rng
    assert init.as_generator(7).standard_normal() == np.random.default_rng(7).standard_normal()
    assert isinstance(init.as_generator(None), np.random.Generator)
    assert init.as_generator(None).integers(1 << 62) != init.as_generator(None).integers(1 << 62)


def test_fans_of_a_weight_matrix_are_in_and_out() -> None:
    """W is (out, in): Xavier's variance 2 / (fan_in + fan_out) and He's 2 / fan_in read them that way round."""
    W = init.he_normal((10, 4000), np.random.default_rng(0))  # fan_in 4000: variance 2/4000, not 2/10
    assert W.var() == pytest.approx(2 / 4000, rel=0.05)


@pytest.mark.parametrize("bad", [True, 1.5, "0", [0]])
def test_as_generator_refuses_anything_else_naming_its_type(bad) -> None:
    with pytest.raises(TypeError, match=f"not {type(bad).__name__}"):
        init.as_generator(bad)
