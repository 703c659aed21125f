"""Small seeded data sets for classification (XOR, circles, moons, spirals, Gaussian blobs, 8×8 digits),
a train/test split, a mini-batch iterator, and the input features (x₁², sin x₁, ...) that a network of the
playground may take instead of a point (x₁, x₂).

Every generator returns (X, y): X of shape (n, d) in float64 and y of shape (n,) with integer class labels.
Nothing is downloaded: the digits come from scikit-learn's bundled copy.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

Dataset = tuple[np.ndarray, np.ndarray]


def _generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _check(name: str, n: int, noise: float, minimum: int = 2) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{name}: n must be an integer ≥ {minimum}, got {n!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name}: noise must be a finite number ≥ 0, got {noise!r}")


def _split_counts(n: int, classes: int) -> list[int]:
    """n examples shared among the classes as evenly as possible."""
    return [n // classes + (1 if c < n % classes else 0) for c in range(classes)]


def _finish(parts: list[np.ndarray], labels: list[np.ndarray], rng: np.random.Generator) -> Dataset:
    """Stack the classes and shuffle the rows, so no class comes first."""
    X = np.concatenate(parts).astype(np.float64)
    y = np.concatenate(labels).astype(np.int64)
    order = rng.permutation(len(y))
    return X[order], y[order]


def xor() -> Dataset:
    """The four points of {0, 1}², labelled x₁ XOR x₂."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    return X, y


def circles(n: int = 200, noise: float = 0.1, seed: int | np.random.Generator | None = 0,
            factor: float = 0.5) -> Dataset:
    """Class 0 on the unit circle, class 1 on a circle of radius `factor`, plus Gaussian noise."""
    _check("circles", n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor must lie in (0, 1), got {factor}")
    rng = _generator(seed)
    parts, labels = [], []
    for label, (count, radius) in enumerate(zip(_split_counts(n, 2), (1.0, factor))):
        angle = rng.uniform(0, 2 * np.pi, count)
        points = radius * np.column_stack([np.cos(angle), np.sin(angle)])
        parts.append(points + rng.normal(0, noise, points.shape))
        labels.append(np.full(count, label))
    return _finish(parts, labels, rng)


def moons(n: int = 200, noise: float = 0.1, seed: int | np.random.Generator | None = 0) -> Dataset:
    """Two interleaving half circles, plus Gaussian noise."""
    _check("moons", n, noise)
    rng = _generator(seed)
    count0, count1 = _split_counts(n, 2)
    angle0 = rng.uniform(0, np.pi, count0)
    angle1 = rng.uniform(0, np.pi, count1)
    upper = np.column_stack([np.cos(angle0), np.sin(angle0)])
    lower = np.column_stack([1 - np.cos(angle1), 0.5 - np.sin(angle1)])
    parts = [p + rng.normal(0, noise, p.shape) for p in (upper, lower)]
    return _finish(parts, [np.zeros(count0), np.ones(count1)], rng)


def spirals(n: int = 200, noise: float = 0.1, seed: int | np.random.Generator | None = 0,
            classes: int = 2, turns: float = 1.25) -> Dataset:
    """`classes` interleaved arms r = s, θ = 2π·turns·s + 2πc/classes for s in (0, 1], plus noise."""
    _check("spirals", n, noise, minimum=classes)
    if int(classes) < 2:
        raise ValueError(f"spirals: classes must be ≥ 2, got {classes}")
    rng = _generator(seed)
    parts, labels = [], []
    for label, count in enumerate(_split_counts(n, int(classes))):
        s = rng.uniform(0.05, 1.0, count)
        angle = 2 * np.pi * turns * s + 2 * np.pi * label / classes
        points = s[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        parts.append(points + rng.normal(0, noise * 0.5, points.shape))
        labels.append(np.full(count, label))
    return _finish(parts, labels, rng)


def gaussians(n: int = 200, noise: float = 0.5, seed: int | np.random.Generator | None = 0,
              classes: int = 2) -> Dataset:
    """Gaussian blobs of standard deviation `noise` centred evenly on a circle of radius 2, one per class."""
    _check("gaussians", n, noise, minimum=classes)
    if int(classes) < 2:
        raise ValueError(f"gaussians: classes must be ≥ 2, got {classes}")
    rng = _generator(seed)
    parts, labels = [], []
    for label, count in enumerate(_split_counts(n, int(classes))):
        angle = 2 * np.pi * label / classes
        centre = 2.0 * np.array([np.cos(angle), np.sin(angle)])
        parts.append(centre + rng.normal(0, noise, (count, 2)))
        labels.append(np.full(count, label))
    return _finish(parts, labels, rng)


def digits() -> Dataset:
    """The 1,797 8×8 handwritten digits bundled with scikit-learn: pixels scaled to [0, 1], labels 0–9."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn: pip install 'chainrule[train]'") from None
    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "xor": xor,
    "circles": circles,
    "moons": moons,
    "spirals": spirals,
    "gaussians": gaussians,
    "digits": digits,
}
FIXED_DATASETS = ("xor", "digits")  # no size, noise or seed to choose

# The default recipe of each data set: what `chainrule train DATASET` uses when no option says otherwise.
# Each reaches ≥ 95% test accuracy (XOR: 100% train accuracy) at seed 0 and at ≥ 4 of seeds 0–4
# (tests/test_data_recipes.py checks it). Full-batch descent throughout.
RECIPES: dict[str, dict[str, Any]] = {
    "xor": {"hidden": [4], "activation": "sigmoid", "loss": "mse", "optimizer": "sgd", "lr": 2.0, "epochs": 2000},
    "circles": {"hidden": [8], "activation": "tanh", "loss": "mse", "optimizer": "adam", "lr": 0.05, "epochs": 500},
    "moons": {"hidden": [8], "activation": "tanh", "loss": "mse", "optimizer": "adam", "lr": 0.05, "epochs": 500},
    "spirals": {"hidden": [32, 32], "activation": "tanh", "loss": "mse", "optimizer": "adam", "lr": 0.01,
                "epochs": 2000},
    "gaussians": {"hidden": [4], "activation": "sigmoid", "loss": "mse", "optimizer": "sgd", "lr": 0.5,
                  "epochs": 500},
    "digits": {"hidden": [64], "activation": "sigmoid", "loss": "ce", "optimizer": "adam", "lr": 0.02,
               "epochs": 100},
}


def recipe_text(name: str) -> str:
    """The recipe of a data set as the options of `chainrule train` would spell it."""
    r = RECIPES[name]
    return (f"--hidden {' '.join(map(str, r['hidden']))} --activation {r['activation']} --loss {r['loss']} "
            f"--optimizer {r['optimizer']} --lr {r['lr']:g} --epochs {r['epochs']}")


def load_dataset(name: str, n: int | None = None, noise: float | None = None, seed: int = 0) -> Dataset:
    """The data set called `name`, with its size and noise where it has them (None: the default)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if name in FIXED_DATASETS:
        if n is not None or noise is not None:
            raise ValueError(f"the {name} data set is fixed: it takes no size or noise")
        return DATASETS[name]()
    options: dict[str, Any] = {"seed": seed}
    if n is not None:
        options["n"] = n
    if noise is not None:
        options["noise"] = noise
    return DATASETS[name](**options)


# Input features of a point (x₁, x₂): the playground's networks may take these as a⁰ instead of the point, and
# a model file saved there lists them in its metadata ("features"), so `chainrule predict` applies them too.
class InputFeature(NamedTuple):
    """One input feature: its label as printed (x₁²) and its column for points X of shape (n, 2)."""
    label: str
    compute: Callable[[np.ndarray], np.ndarray]


INPUT_FEATURES: dict[str, InputFeature] = {
    "x1": InputFeature("x₁", lambda X: X[:, 0]),
    "x2": InputFeature("x₂", lambda X: X[:, 1]),
    "x1sq": InputFeature("x₁²", lambda X: X[:, 0] ** 2),
    "x2sq": InputFeature("x₂²", lambda X: X[:, 1] ** 2),
    "x1x2": InputFeature("x₁x₂", lambda X: X[:, 0] * X[:, 1]),
    "sin_x1": InputFeature("sin x₁", lambda X: np.sin(X[:, 0])),
    "sin_x2": InputFeature("sin x₂", lambda X: np.sin(X[:, 1])),
}


def feature_matrix(X: np.ndarray, features: tuple[str, ...] | list[str]) -> np.ndarray:
    """The network's input a⁰ for each point (x₁, x₂) in the rows of X: one column per feature, in the order
    given. ValueError naming an unknown feature or points that are not pairs."""
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"input features are computed from points (x₁, x₂); got an array of shape {X.shape}")
    unknown = [name for name in features if name not in INPUT_FEATURES]
    if unknown or not features:
        raise ValueError(f"unknown input features {unknown or '(none given)'}; known: {', '.join(INPUT_FEATURES)}")
    return np.stack([INPUT_FEATURES[name].compute(X) for name in features], axis=1)


def _check_pair(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (examples, features), got {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    return X, y


def train_test_split(X: np.ndarray, y: np.ndarray, test_size: float = 0.2,
                     seed: int | np.random.Generator | None = 0) -> tuple[np.ndarray, ...]:
    """(X_train, X_test, y_train, y_test): a seeded random share `test_size` of the rows held out."""
    X, y = _check_pair(X, y)
    if not 0 < test_size < 1:
        raise ValueError(f"train_test_split: test_size must lie in (0, 1), got {test_size}")
    n_test = round(test_size * len(y))
    if n_test < 1 or n_test >= len(y):
        raise ValueError(f"train_test_split: {len(y)} examples are too few for test_size={test_size}")
    order = _generator(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X: np.ndarray, y: np.ndarray, batch_size: int | None = None, shuffle: bool = True,
            seed: int | np.random.Generator | None = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(X_batch, y_batch) pairs covering every row once; `batch_size` None means the whole set at once.

    Pass one Generator as `seed` across epochs to get a different, repeatable order each epoch.
    """
    X, y = _check_pair(X, y)
    n = len(y)
    if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
        raise ValueError(f"batches: batch_size must be ≥ 1, got {batch_size}")
    if batch_size is None or batch_size >= n:
        yield X, y
        return
    order = _generator(seed).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, int(batch_size)):
        rows = order[start:start + int(batch_size)]
        yield X[rows], y[rows]
