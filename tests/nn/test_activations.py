"""The activation registry: each σ defined once, its textbook σ′ equal to the engine's, and every reader using it."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn.activations import ACTIVATIONS, derivative_by_engine, get_activation

# Points away from the kinks of relu and leaky_relu, where σ′ has no value.
ZS = st.lists(st.floats(-6.0, 6.0).filter(lambda z: abs(z) > 1e-6), min_size=1, max_size=8)


@settings(max_examples=30, deadline=None)
@given(zs=ZS)
def test_every_textbook_derivative_equals_the_engines(zs) -> None:
    z = np.array(zs)
    for name, spec in ACTIVATIONS.items():
        np.testing.assert_allclose(spec.textbook_derivative(z), derivative_by_engine(name, z), rtol=1e-12,
                                   atol=1e-14, err_msg=name)


def test_every_entry_has_its_name_formulas_and_the_engine_function() -> None:
    for name, spec in ACTIVATIONS.items():
        assert spec.name == name and spec.formula.startswith(r"\sigma(z)")
        assert spec.derivative_formula.startswith(r"\sigma'(z)")
        z = cr.tensor([0.5, -1.5])
        np.testing.assert_array_equal(spec(z).data, spec.function(z).data)


def test_arctan_is_one_entry_with_derivative_one_over_one_plus_z_squared() -> None:
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(ACTIVATIONS["arctan"](cr.tensor(z)).data, np.arctan(z))
    np.testing.assert_allclose(derivative_by_engine("arctan", z), 1 / (1 + z**2))


def test_an_mlp_of_arctan_units_trains_xor_through_the_registry() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    model = nn.MLP([2, 4, 1], activation="arctan", rng=0)
    optimizer = optim.OPTIMIZERS["adam"](model.parameters(), lr=0.05)
    for _ in range(600):
        optimizer.zero_grad()
        nn.functional.mse(model(X), y).backward()
        optimizer.step()
    assert nn.functional.accuracy(model(X), y) == 1.0


def test_an_unknown_activation_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'; choose one of sigmoid, tanh"):
        get_activation("swish")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_module_matches_its_function(name: str) -> None:
    module = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
              "softplus": nn.Softplus, "arctan": nn.Arctan, "identity": nn.Identity}[name]()
    z = cr.tensor(np.linspace(-3, 3, 7))
    np.testing.assert_allclose(module(z).data, ACTIVATIONS[name](z).data)


def test_activation_values_match_their_formulas() -> None:
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"](cr.tensor(z)).data, 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(ACTIVATIONS["leaky_relu"](cr.tensor(z)).data, np.where(z > 0, z, 0.01 * z))
    np.testing.assert_allclose(ACTIVATIONS["softplus"](cr.tensor(z)).data, np.log1p(np.exp(z)))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(cr.tensor(z)).data, np.where(z > 0, z, 0.2 * z))
