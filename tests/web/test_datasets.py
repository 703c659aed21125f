"""The playground's 2-D data (`chainrule.web.datasets`): a noisy XOR around the corners of {0, 1}², a noisy
regression surface, chainrule.data's generators, each split by the config's seed into training and test sets of
the asked sizes; the input features (chainrule.data's, as the playground imports them); and the square view
around the points.
"""
from __future__ import annotations

import numpy as np
import pytest

from chainrule.web.config import DATASETS, parse_config
from chainrule.web.datasets import (
    Split,
    extent,
    feature_matrix,
    make_split,
    noisy_xor,
    regression_surface,
)


def test_noisy_xor_labels_each_point_by_its_corner():
    X, y = noisy_xor(400, 0.0, seed=0)
    assert np.array_equal(y, np.logical_xor(X[:, 0] > 0.5, X[:, 1] > 0.5).astype(int))
    assert set(np.bincount(y)) == {200}


def test_the_split_has_the_asked_sizes_and_is_seeded():
    config = parse_config({"dataset": "moons", "n_points": 100, "train_fraction": 0.7, "seed": 9})
    a, b = make_split(config), make_split(config)
    assert len(a.y_train) == 70 and len(a.y_test) == 30
    assert np.array_equal(a.X_train, b.X_train)


def test_noisy_xor_without_noise_is_the_four_corners_and_with_noise_scatters_around_them():
    X, y = noisy_xor(8, 0.0, seed=1)
    assert {tuple(point) for point in X} == {(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)}
    noisy, labels = noisy_xor(2000, 0.1, seed=1)
    offsets = noisy - np.round(noisy)                  # 0.1 is small enough for every point to round to its corner
    assert np.array_equal(labels, np.logical_xor(*np.round(noisy).T.astype(bool)).astype(int))
    assert offsets.std() == pytest.approx(0.1, rel=0.05) and abs(offsets.mean()) < 0.01
    assert labels.dtype == np.int64 and not np.array_equal(noisy_xor(8, 0.1, 1)[0], noisy_xor(8, 0.1, 2)[0])


def test_the_regression_surface_is_its_formula_inside_the_square():
    X, t = regression_surface(500, 0.0, seed=4)
    assert X.shape == (500, 2) and np.all(np.abs(X) <= 2.0)
    assert np.allclose(t, 0.5 * np.sin(1.5 * X[:, 0]) * np.cos(1.5 * X[:, 1]), rtol=0, atol=1e-15)
    X_noisy, t_noisy = regression_surface(4000, 0.4, seed=4)
    residual = t_noisy - 0.5 * np.sin(1.5 * X_noisy[:, 0]) * np.cos(1.5 * X_noisy[:, 1])
    assert residual.std() == pytest.approx(0.1, rel=0.05)                 # s.d. noise / 4
    assert t.dtype == np.float64


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_data_set_splits_into_the_asked_sizes_and_the_same_points_each_time(dataset):
    config = parse_config({"dataset": dataset, "n_points": 60, "train_fraction": 0.3, "seed": 5,
                           **({"loss": "mse"} if dataset == "regression" else {})})
    split, again = make_split(config), make_split(config)
    assert (len(split.X_train), len(split.y_train), len(split.X_test), len(split.y_test)) == (18, 18, 42, 42)
    assert split.X_train.shape[1] == 2 and np.array_equal(split.X_test, again.X_test)
    assert not np.array_equal(make_split(parse_config({**config.to_json(), "seed": 6})).X_train, split.X_train)


def test_the_split_holds_every_generated_point_once():
    config = parse_config({"dataset": "xor", "n_points": 40, "noise": 0.2, "seed": 3})
    split = make_split(config)
    X, y = noisy_xor(40, 0.2, seed=3)
    together = np.concatenate([split.X_train, split.X_test])
    order, expected = np.lexsort(together.T), np.lexsort(X.T)
    assert np.array_equal(together[order], X[expected])
    assert np.array_equal(np.concatenate([split.y_train, split.y_test])[order], y[expected])


def test_classes_count_the_labels_and_are_zero_for_numbers():
    labels = make_split(parse_config({"dataset": "gaussians", "n_points": 60}))
    assert labels.classes == int(max(labels.y_train.max(), labels.y_test.max())) + 1 >= 2
    two = Split(np.zeros((2, 2)), np.array([0, 1]), np.zeros((1, 2)), np.array([2]))
    assert two.classes == 3                                                # the test set's labels count too
    numbers = make_split(parse_config({"dataset": "regression", "loss": "mse", "n_points": 40}))
    assert numbers.classes == 0 and numbers.y_train.dtype == np.float64


def test_the_feature_matrix_has_one_column_per_feature_in_the_order_given():
    X = np.array([[0.5, -2.0], [3.0, 0.25]])
    columns = feature_matrix(X, ("x2", "x1x2", "sin_x1", "x1sq", "x2sq", "x1", "sin_x2"))
    expected = np.array([[-2.0, -1.0, np.sin(0.5), 0.25, 4.0, 0.5, np.sin(-2.0)],
                         [0.25, 0.75, np.sin(3.0), 9.0, 0.0625, 3.0, np.sin(0.25)]])
    assert np.array_equal(columns, expected)
    assert feature_matrix([1.0, 2.0], ("x1", "x2sq")).tolist() == [[1.0, 4.0]]   # one point


def test_the_view_is_a_square_around_every_point_with_a_margin():
    split = Split(np.array([[0.0, 0.0], [4.0, 1.0]]), np.array([0, 1]), np.array([[1.0, -1.0]]), np.array([0]))
    x_min, x_max, y_min, y_max = extent(split, margin=0.25)
    assert (x_min, x_max) == (2.0 - 2.5, 2.0 + 2.5) and (y_min, y_max) == (0.0 - 2.5, 0.0 + 2.5)
    one_point = Split(np.array([[1.0, 1.0]]), np.array([0]), np.array([[1.0, 1.0]]), np.array([0]))
    assert extent(one_point, margin=0.0) == (0.5, 1.5, 0.5, 1.5)                 # at least 1 wide
