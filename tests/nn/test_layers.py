"""Linear, Sequential and MLP: shapes (out, in), z = x Wᵀ + b, σ after each layer, seeds, dtypes, and bad sizes
or activations refused by name."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


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


def test_sequential_applies_modules_in_order_and_collects_their_parameters() -> None:
    first, second = nn.Linear(2, 3, rng=0), nn.Linear(3, 1, rng=1)
    model = nn.Sequential(first, nn.Tanh(), second)
    x = np.ones((2, 2))
    np.testing.assert_allclose(model(x).data, second(cr.tanh(first(x))).data)
    assert len(model.parameters()) == 4 and len(model) == 3
