"""Activations and optimisers are each listed once, in their registries, and every reader takes its names there."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import optim, train
from chainrule.explain import naive, network
from chainrule.nn.activations import ACTIVATIONS
from chainrule.web import config


def test_the_playground_offers_exactly_the_registered_activations_and_optimizers() -> None:
    assert config.options()["activations"] == list(ACTIVATIONS)
    assert config.options()["optimizers"] == list(optim.OPTIMIZERS)
    assert config.parse_config({"activation": "arctan", "optimizer": "rmsprop"}).optimizer == "rmsprop"


def test_the_trainers_default_rates_are_the_registrys() -> None:
    assert train.DEFAULT_LR == {name: spec.defaults["lr"] for name, spec in optim.OPTIMIZERS.items()}
    assert train.DEFAULT_LR["sgd"] == 0.5 and train.DEFAULT_LR["adam"] == 0.01


def test_the_explainer_shows_the_registrys_formulas_and_checks_its_derivative() -> None:
    assert network.ACTIVATIONS is ACTIVATIONS
    problem = network.random_problem([2, 3, 1], 0, "arctan")
    explanation = network.explain(problem.model, problem.x, problem.t, problem.loss, problem.lr)
    assert explanation.checks.max_diff_sigma_prime < 1e-12


def test_the_naive_method_takes_its_values_from_the_registry() -> None:
    net = naive.classic_network()
    assert set(naive.ACTIVATIONS) <= set(ACTIVATIONS)
    np.testing.assert_allclose(naive.check_against_backprop(net).max_difference, 0.0, atol=1e-12)


@pytest.mark.parametrize("name", ["momentum", "rmsprop"])
def test_the_trainer_builds_any_registered_optimizer(name, tmp_path) -> None:
    settings = train.RunSettings(dataset="xor", optimizer=name, epochs=5, out=str(tmp_path))
    result = train.run(settings, progress=False)
    assert isinstance(result.history.train_loss[-1], float)


def test_the_naive_method_differentiates_an_arctan_network_like_back_propagation() -> None:
    net = naive.random_network([2, 2, 1], seed=0, activation="arctan")
    assert naive.check_against_backprop(net).max_difference < 1e-12
