"""The playground's settings (`chainrule.web.config`): what a browser sends is laid over the defaults (or the
session's settings) and every value checked for type and range; anything unknown or out of bounds is refused with
a one-line message naming the setting, as BadInput (422); the settings say the network's widths, its output
activation and whether a change needs a new network; `options()` is the form a client builds from them.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from web_helpers import SMALL, refused

from chainrule.data import INPUT_FEATURES
from chainrule.nn.activations import ACTIVATIONS as ACTIVATION_REGISTRY
from chainrule.optim import OPTIMIZERS
from chainrule.web.config import (
    LIMITS,
    MAX_BODY_BYTES,
    MAX_UPDATES_PER_REQUEST,
    BadInput,
    PlaygroundConfig,
    json_short,
    json_type,
    options,
    parse_config,
    train_size,
)


# ------------------------------------------------------------------------------------ through the API
def test_options_list_the_choices_bounds_and_defaults(client):
    options = client.get("/api/options").json()
    assert "xor" in options["datasets"] and "ce" in [loss["name"] for loss in options["losses"]]
    assert options["limits"]["hidden_layers"] == [0, 6] and options["defaults"]["dataset"] == "xor"


@pytest.mark.parametrize("config, words", [
    ({"hidden": [4] * 7}, ["hidden"]),
    ({"hidden": [100]}, ["hidden[0]", "8"]),
    ({"n_points": 100000}, ["n_points", "1000"]),
    ({"lr": 1e9}, ["lr"]),
    ({"batch_size": -1}, ["batch_size"]),
    ({"loss": "os.system"}, ["loss"]),
    ({"shell": "rm -rf /"}, ["unknown setting"]),
])
def test_oversized_or_unknown_settings_are_refused(client, config, words):
    refused(client.post("/api/sessions", json={"config": config}), 422, *words)


def test_options_give_each_optimisers_own_eta_from_the_registry_and_the_new_choices(client):
    options = client.get("/api/options").json()
    assert options["optimizer_lr"] == {name: spec.defaults["lr"] for name, spec in OPTIMIZERS.items()}
    assert [f["name"] for f in options["features"]][:2] == ["x1", "x2"]
    assert options["regularizations"] == ["none", "l1", "l2"] and "regression" in options["datasets"]
    assert options["limits"]["regularization_rate"] == [0.0, 1.0]


@pytest.mark.parametrize("config, words", [
    ({"features": []}, ["features", "non-empty"]),
    ({"features": ["x1", "x3"]}, ["features[1]", "x1sq"]),
    ({"features": ["x1", "x1"]}, ["repeat"]),
    ({"features": "x1"}, ["features"]),
    ({"regularization": "l3"}, ["regularization", "l1, l2"]),
    ({"regularization_rate": 2}, ["regularization_rate", "between 0 and 1"]),
    ({"regularization_rate": -0.1}, ["regularization_rate"]),
    ({"dataset": "regression", "loss": "bce"}, ["regression", "mse or half_sum"]),
    ({"dataset": "regression", "loss": "ce"}, ["mse or half_sum"]),
])
def test_new_settings_out_of_range_are_refused_naming_them(client, config, words):
    answer = client.post("/api/sessions", json={"config": {**SMALL, **config}})
    assert answer.status_code == 422, answer.text
    for word in words:
        assert word in answer.json()["error"]


# ------------------------------------------------------------------------------------ parse_config
@pytest.mark.parametrize("settings, named", [
    ({"hidden": [2] * 7}, "hidden"),
    ({"hidden": [9]}, "hidden[0]"),
    ({"hidden": [0]}, "hidden[0]"),
    ({"hidden": "4,4"}, "hidden"),
    ({"n_points": 5000}, "n_points"),
    ({"n_points": 10.5}, "n_points"),
    ({"lr": 0}, "lr"),
    ({"lr": 11}, "lr"),
    ({"lr": "0.1"}, "lr"),
    ({"batch_size": 0}, "batch_size"),
    ({"noise": -0.1}, "noise"),
    ({"seed": True}, "seed"),
    ({"dataset": "mnist"}, "dataset"),
    ({"activation": "__import__('os')"}, "activation"),
    ({"colour": "red"}, "unknown setting"),
])
def test_a_setting_out_of_bounds_is_refused_naming_it(settings, named):
    with pytest.raises(BadInput) as caught:
        parse_config(settings)
    assert named in str(caught.value) and caught.value.status == 422


def refusal(raw, base=None) -> str:
    with pytest.raises(BadInput) as caught:
        parse_config(raw, base)
    assert caught.value.status == 422
    return str(caught.value)


def test_nothing_sent_is_the_defaults_and_what_is_sent_is_laid_over_the_base():
    assert parse_config({}) == PlaygroundConfig()
    base = parse_config({"dataset": "moons", "hidden": [4, 4], "lr": 0.2})
    changed = parse_config({"lr": 0.05}, base=base)
    assert changed == PlaygroundConfig(dataset="moons", hidden=(4, 4), lr=0.05)
    assert base.lr == 0.2                                                      # the base is left as it was


def test_the_settings_round_trip_through_json():
    config = parse_config({"dataset": "regression", "loss": "half_sum", "hidden": [5, 1], "features": ["x2", "x1sq"],
                           "optimizer": "adam", "regularization": "l1", "regularization_rate": 0.01, "seed": 12})
    sent = config.to_json()
    assert sent["hidden"] == [5, 1] and sent["features"] == ["x2", "x1sq"] and isinstance(sent["lr"], float)
    assert parse_config(sent) == config


def test_whole_numbers_sent_as_floats_are_whole_numbers_and_numbers_are_floats():
    config = parse_config({"n_points": 100.0, "hidden": [3.0], "seed": 7.0, "lr": 1})
    assert config.n_points == 100 and type(config.n_points) is int and config.hidden == (3,)
    assert type(config.hidden[0]) is int and type(config.seed) is int and type(config.lr) is float


@pytest.mark.parametrize("raw, message", [
    ({"n_points": 5000}, "n_points must lie between 20 and 1000, got 5000"),
    ({"n_points": 10.5}, "n_points must be a whole number, got a number"),
    ({"lr": True}, "lr must be a number, got true/false"),
    ({"lr": None}, "lr must be a number, got null"),
    ({"lr": 0.00001}, "lr must lie between 0.0001 and 10, got 1e-05"),
    ({"lr": math.nan}, "lr must be a finite number"),
    ({"noise": math.inf}, "noise must be a finite number"),
    ({"hidden": [3, "4"]}, "hidden[1] must be a whole number, got a string"),
    ({"hidden": {"0": 3}}, "hidden must be a list of layer widths, e.g. [4, 4], got an object"),
    ({"hidden": [1] * 7}, "hidden must list between 0 and 6 layer widths, got 7"),
    ({"hidden": [3, 9]}, "hidden[1] must lie between 1 and 8, got 9"),
    ({"loss": "hinge"}, "loss must be one of half_sum, mse, bce, ce, got 'hinge'"),
    ({"optimizer": 3}, "optimizer must be one of " + ", ".join(OPTIMIZERS) + ", got 3"),
    ({"features": ["x1", 2]}, "features[1] must be one of x1, x2, x1sq"),
    ({"dataset": "regression", "loss": "ce"}, "the regression data set has numbers as targets: choose the cost "
                                              "mse or half_sum, not ce"),
])
def test_each_refusal_names_the_setting_the_rule_and_what_was_sent(raw, message):
    assert refusal(raw).startswith(message)


def test_an_unknown_setting_is_named_and_the_settings_are_listed():
    message = refusal({"lr": 0.1, "zeta": 1, "alpha": 2})
    assert message.startswith("unknown setting 'alpha'; the settings are dataset, noise, ")
    assert all(name in message for name in PlaygroundConfig.__dataclass_fields__)


@given(st.sampled_from(["noise", "train_fraction", "lr", "regularization_rate"]), st.data())
def test_a_number_is_accepted_inside_its_limits_and_refused_outside_naming_it(name, data):
    low, high = LIMITS[name]
    inside = data.draw(st.floats(min_value=low, max_value=high))
    assert getattr(parse_config({name: inside}), name) == inside
    outside = data.draw(st.floats(max_value=low, exclude_max=True) | st.floats(min_value=high, exclude_min=True),
                        label="outside")
    assert refusal({name: outside}).startswith(f"{name} must")


@pytest.mark.parametrize("raw", [[], "xor", 3, None])
def test_settings_that_are_not_an_object_are_refused(raw):
    assert refusal(raw).startswith(f"config must be a JSON object, got {json_type(raw)}")


def test_the_base_is_checked_too():
    assert refusal({}, base=PlaygroundConfig(lr=50.0)).startswith("lr must lie between")


def test_features_come_back_in_one_order_whatever_the_order_sent():
    assert parse_config({"features": ["sin_x2", "x1", "x1x2"]}).features == ("x1", "x1x2", "sin_x2")


@pytest.mark.parametrize("n_points, fraction, n_train", [(20, 0.1, 2), (20, 0.9, 18), (100, 0.7, 70), (25, 0.5, 12),
                                                         (1000, 0.9, 900)])
def test_the_training_set_is_the_rounded_share_of_the_points(n_points, fraction, n_train):
    config = parse_config({"n_points": n_points, "train_fraction": fraction})
    assert train_size(config) == n_train


# ------------------------------------------------------------------------------------ what the settings say
@pytest.mark.parametrize("settings, sizes, output", [
    ({}, [2, 3, 1], "sigmoid"),
    ({"loss": "ce", "hidden": [4, 2]}, [2, 4, 2, 2], None),
    ({"features": ["x1", "x2", "x1x2"], "hidden": [], "loss": "half_sum"}, [3, 1], "sigmoid"),
    ({"dataset": "regression", "loss": "mse", "hidden": [5]}, [2, 5, 1], "identity"),
])
def test_the_widths_and_the_output_activation_follow_the_features_and_the_cost(settings, sizes, output):
    config = parse_config(settings)
    assert config.sizes == sizes and config.output_activation == output
    assert config.is_regression == ("dataset" in settings)


@pytest.mark.parametrize("change, rebuild", [
    ({"lr": 0.01}, False), ({"optimizer": "adam"}, False), ({"batch_size": 1}, False),
    ({"regularization": "l2", "regularization_rate": 0.1}, False),
    ({"hidden": [3, 3]}, True), ({"seed": 2}, True), ({"activation": "relu"}, True), ({"noise": 0.3}, True),
    ({"dataset": "moons"}, True), ({"features": ["x1"]}, True), ({"loss": "mse"}, True),
    ({"n_points": 100}, True), ({"train_fraction": 0.6}, True),
])
def test_only_new_training_settings_keep_the_network(change, rebuild):
    config = PlaygroundConfig()
    assert config.rebuild_needed(parse_config(change, base=config)) is rebuild
    assert config.rebuild_needed(config) is False


# ------------------------------------------------------------------------------------ the form and the messages
def test_options_are_the_registries_the_limits_and_the_defaults():
    form = options()
    assert form["activations"] == list(ACTIVATION_REGISTRY) and form["optimizers"] == list(OPTIMIZERS)
    assert form["optimizer_labels"] == {name: spec.label for name, spec in OPTIMIZERS.items()}
    assert form["features"] == [{"name": name, "label": f.label} for name, f in INPUT_FEATURES.items()]
    assert form["limits"] == {name: [low, high] for name, (low, high) in LIMITS.items()}
    assert form["defaults"] == PlaygroundConfig().to_json() and parse_config(form["defaults"]) == PlaygroundConfig()
    assert form["max_updates_per_request"] == MAX_UPDATES_PER_REQUEST and form["max_body_bytes"] == MAX_BODY_BYTES
    assert form["regression"] == {"dataset": "regression", "losses": ["mse", "half_sum"]}
    assert [loss["name"] for loss in form["losses"]] == ["half_sum", "mse", "bce", "ce"]


def test_every_default_lies_within_its_limits():
    defaults = PlaygroundConfig()
    for name, (low, high) in LIMITS.items():
        if hasattr(defaults, name):
            assert low <= getattr(defaults, name) <= high, name
    assert LIMITS["hidden_layers"][0] <= len(defaults.hidden) <= LIMITS["hidden_layers"][1]


@pytest.mark.parametrize("value, name", [(True, "true/false"), (1, "a number"), (1.5, "a number"), ("s", "a string"),
                                         ([], "a list"), ({}, "an object"), (None, "null"), (b"x", "bytes")])
def test_json_type_names_a_value_as_json_does(value, name):
    assert json_type(value) == name


def test_json_short_cuts_a_long_value_to_forty_characters():
    assert json_short("abc") == "'abc'"
    long = json_short("x" * 100)
    assert len(long) == 40 and long == "'" + "x" * 36 + "..."
    assert json_short("y" * 38) == "'" + "y" * 38 + "'"                       # 40 characters: kept whole
    assert json_short("y" * 39) == "'" + "y" * 36 + "..."                     # 41: cut


def test_bad_input_is_a_value_error_with_a_status():
    assert BadInput("no").status == 422 and BadInput("too big", status=413).status == 413
    assert isinstance(BadInput("no"), ValueError) and str(BadInput("no")) == "no"
