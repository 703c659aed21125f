"""Data sets are seeded, shaped (n, d) float64 with integer labels, and split and batched without loss."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import data


def test_xor_is_the_four_corners_labelled_by_exclusive_or() -> None:
    X, y = data.xor()
    assert X.dtype == np.float64 and X.shape == (4, 2)
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(int))


@pytest.mark.parametrize("name", ["circles", "moons", "spirals", "gaussians"])
def test_generated_sets_have_the_asked_size_balanced_classes_and_repeat_with_a_seed(name: str) -> None:
    generate = data.DATASETS[name]
    X, y = generate(n=101, noise=0.1, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.dtype.kind == "i" and set(np.unique(y)) == {0, 1}
    assert abs(int(np.sum(y == 0)) - int(np.sum(y == 1))) <= 1
    X_again, y_again = generate(n=101, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, generate(n=101, noise=0.1, seed=4)[0])


def test_noise_zero_puts_circles_exactly_on_their_radii() -> None:
    X, y = data.circles(n=50, noise=0.0, seed=0, factor=0.4)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0)
    np.testing.assert_allclose(radius[y == 1], 0.4)


def test_spirals_and_gaussians_take_a_number_of_classes() -> None:
    for generate in (data.spirals, data.gaussians):
        _, y = generate(n=90, noise=0.1, seed=0, classes=3)
        assert sorted(np.unique(y)) == [0, 1, 2]


def test_digits_are_1797_images_of_64_pixels_in_0_1_with_labels_0_to_9() -> None:
    X, y = data.digits()
    assert X.shape == (1797, 64) and 0.0 <= X.min() and X.max() <= 1.0
    assert sorted(np.unique(y)) == list(range(10))


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda: data.moons(n=1), "n must be"), (lambda: data.circles(noise=-1), "noise"),
     (lambda: data.load_dataset("mnist"), "unknown data set 'mnist'"),
     (lambda: data.load_dataset("xor", n=10), "fixed")],
)
def test_bad_requests_are_refused_with_a_clear_message(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_train_test_split_is_disjoint_complete_seeded_and_of_the_asked_share() -> None:
    X = np.arange(100, dtype=float).reshape(50, 2)
    y = np.arange(50)
    X_train, _X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=1)
    assert len(y_test) == 10 and len(y_train) == 40
    assert sorted(np.concatenate([y_train, y_test])) == list(range(50))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)  # rows stay paired with their labels
    np.testing.assert_array_equal(y_test, data.train_test_split(X, y, 0.2, seed=1)[3])


def test_batches_cover_every_row_once_in_a_seeded_shuffled_order() -> None:
    X = np.arange(20, dtype=float).reshape(10, 2)
    y = np.arange(10)
    parts = list(data.batches(X, y, batch_size=4, seed=0))
    assert [len(b) for _, b in parts] == [4, 4, 2]
    seen = np.concatenate([b for _, b in parts])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))
    for X_batch, y_batch in parts:
        np.testing.assert_array_equal(X_batch[:, 0], 2 * y_batch)
    again = np.concatenate([b for _, b in data.batches(X, y, batch_size=4, seed=0)])
    np.testing.assert_array_equal(seen, again)


def test_one_generator_passed_across_epochs_gives_a_new_order_each_epoch() -> None:
    X, y = np.zeros((30, 1)), np.arange(30)
    rng = np.random.default_rng(0)
    first = np.concatenate([b for _, b in data.batches(X, y, 10, seed=rng)])
    second = np.concatenate([b for _, b in data.batches(X, y, 10, seed=rng)])
    assert not np.array_equal(first, second)


def test_no_batch_size_means_the_whole_set_in_one_batch() -> None:
    X, y = data.xor()
    [(X_batch, y_batch)] = list(data.batches(X, y))
    assert X_batch.shape == (4, 2) and len(y_batch) == 4


def test_input_features_are_computed_from_points_in_the_order_given() -> None:
    from chainrule.data import INPUT_FEATURES, feature_matrix

    points = np.array([[0.5, -2.0], [3.0, 0.0]])
    a0 = feature_matrix(points, ["sin_x2", "x1x2", "x1sq", "x2"])
    np.testing.assert_array_equal(a0, [[np.sin(-2.0), -1.0, 0.25, -2.0], [0.0, 0.0, 9.0, 0.0]])
    np.testing.assert_array_equal(feature_matrix([1.5, 2.5], ["x1", "x2sq"]), [[1.5, 6.25]])  # one point
    assert [f.label for f in INPUT_FEATURES.values()] == ["x₁", "x₂", "x₁²", "x₂²", "x₁x₂", "sin x₁", "sin x₂"]
    with pytest.raises(ValueError, match=r"unknown input features \['x3'\]"):
        feature_matrix(points, ["x1", "x3"])
    with pytest.raises(ValueError, match=r"points \(x₁, x₂\); got an array of shape \(2, 3\)"):
        feature_matrix(np.ones((2, 3)), ["x1"])
