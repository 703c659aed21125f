"""Module, Linear, Sequential, MLP, activations and initialisers behave as their contracts say."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init
from chainrule.nn.activations import ACTIVATIONS


def test_linear_has_weight_out_by_in_and_bias_out_that_require_grad() -> None:
    layer = nn.Linear(3, 5, rng=0)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert np.all(layer.bias.data == 0)


def test_linear_computes_x_w_transpose_plus_b_for_a_batch_and_for_one_example() -> None:
    layer = nn.Linear(3, 2, rng=1)
    x = np.arange(6.0).reshape(2, 3)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected)
    np.testing.assert_allclose(layer(x[1]).data, expected[1])


def test_linear_without_bias_has_only_a_weight() -> None:
    layer = nn.Linear(2, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_linear_rejects_an_input_with_the_wrong_number_of_features() -> None:
    with pytest.raises(ValueError, match=r"Linear\(3, 2\).*\(4, 5\)"):
        nn.Linear(3, 2, rng=0)(np.zeros((4, 5)))


def test_float32_layers_keep_float32_through_the_forward_pass() -> None:
    model = nn.MLP([2, 3, 1], dtype=np.float32, rng=0)
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model(np.ones((4, 2))).dtype == np.float32


def test_mlp_exposes_sizes_layers_and_the_activation_after_each_layer() -> None:
    model = nn.MLP([2, 4, 3, 1], activation="tanh", output_activation="sigmoid", rng=0)
    assert model.sizes == [2, 4, 3, 1]
    assert [(layer.in_features, layer.out_features) for layer in model.layers] == [(2, 4), (4, 3), (3, 1)]
    assert [model.activation_name(l) for l in (1, 2, 3)] == ["tanh", "tanh", "sigmoid"]
    assert nn.MLP([2, 1], rng=0).activation_name(1) == "identity"  # no output activation: logits


def test_mlp_forward_is_sigma_of_z_layer_by_layer() -> None:
    model = nn.MLP([2, 2, 1], activation="sigmoid", output_activation="sigmoid", rng=3)
    x = np.array([[0.0, 1.0], [1.0, 1.0]])
    a = x
    for layer in model.layers:
        a = 1 / (1 + np.exp(-(a @ layer.weight.data.T + layer.bias.data)))
    np.testing.assert_allclose(model(x).data, a, rtol=1e-12)


def test_mlp_parameters_are_listed_layer_by_layer_with_dotted_names() -> None:
    model = nn.MLP([2, 3, 1], rng=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert model.num_parameters() == 2 * 3 + 3 + 3 * 1 + 1


def test_same_seed_gives_same_weights_and_different_seeds_differ() -> None:
    first, again, other = (nn.MLP([2, 4, 1], rng=seed) for seed in (5, 5, 6))
    np.testing.assert_array_equal(first.layers[0].weight.data, again.layers[0].weight.data)
    assert not np.allclose(first.layers[0].weight.data, other.layers[0].weight.data)


@pytest.mark.parametrize("bad", [[2], [2, 0, 1], [2, -1], "21", [2, 1.5]])
def test_mlp_rejects_bad_sizes_with_a_clear_message(bad) -> None:
    with pytest.raises(ValueError, match="MLP"):
        nn.MLP(bad)


def test_mlp_rejects_an_unknown_activation_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'.*sigmoid"):
        nn.MLP([2, 2, 1], activation="swish")


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


def test_sequential_applies_modules_in_order_and_collects_their_parameters() -> None:
    first, second = nn.Linear(2, 3, rng=0), nn.Linear(3, 1, rng=1)
    model = nn.Sequential(first, nn.Tanh(), second)
    x = np.ones((2, 2))
    np.testing.assert_allclose(model(x).data, second(cr.tanh(first(x))).data)
    assert len(model.parameters()) == 4 and len(model) == 3


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


def test_load_state_dict_marks_parameters_modified_so_a_stale_graph_refuses_to_run() -> None:
    model = nn.MLP([2, 2, 1], rng=0)
    stale = model(np.ones((1, 2))).sum()
    model.load_state_dict(nn.MLP([2, 2, 1], rng=1).state_dict())
    with pytest.raises(RuntimeError, match="modified in place"):
        stale.backward()
