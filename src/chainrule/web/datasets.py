"""The playground's 2-D data: chainrule.data's generators, a noisy XOR and a regression surface, split into
training and test sets. The input features (x₁², sin x₁, ...) are chainrule.data's (`feature_matrix`).

`chainrule.data.xor()` is the fixed four-point problem; a train/test split needs more points, so here XOR
is the four corners of {0, 1}² repeated with Gaussian noise, each point labelled by its corner.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data
from ..data import feature_matrix  # noqa: F401 - the features are data's; the playground imports them here
from .config import PlaygroundConfig, train_size


@dataclass(frozen=True)
class Split:
    """Training and test sets: X rows are points (x₁, x₂), y their integer classes (numbers for regression)."""
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def classes(self) -> int:
        """The number of classes (0 for regression: the targets are numbers)."""
        if self.y_train.dtype.kind == "f":
            return 0
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def regression_surface(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points uniform in [−2, 2]² with t = sin(1.5 x₁) cos(1.5 x₂) / 2 plus Gaussian noise of s.d. noise / 4."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, (n, 2))
    t = 0.5 * np.sin(1.5 * X[:, 0]) * np.cos(1.5 * X[:, 1]) + rng.normal(0.0, noise / 4, n)
    return X, t.astype(np.float64)


def noisy_xor(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points around the corners of {0, 1}² (Gaussian noise of standard deviation `noise`), y = x₁ XOR x₂."""
    rng = np.random.default_rng(seed)
    corners, labels = data.xor()
    which = np.arange(n) % len(labels)
    rng.shuffle(which)
    X = corners[which] + rng.normal(0.0, noise, (n, 2))
    return X, labels[which].astype(np.int64)


def make_split(config: PlaygroundConfig) -> Split:
    """The data set of `config`, generated from its seed and split into training and test sets."""
    if config.dataset == "xor":
        X, y = noisy_xor(config.n_points, config.noise, config.seed)
    elif config.is_regression:
        X, y = regression_surface(config.n_points, config.noise, config.seed)
    else:
        X, y = data.load_dataset(config.dataset, n=config.n_points, noise=config.noise, seed=config.seed)
    n_test = config.n_points - train_size(config)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=n_test / config.n_points,
                                                             seed=config.seed)
    return Split(X_train, y_train, X_test, y_test)


def extent(split: Split, margin: float = 0.15) -> tuple[float, float, float, float]:
    """(x_min, x_max, y_min, y_max) around every point, with a margin, as a square view."""
    X = np.concatenate([split.X_train, split.X_test])
    low, high = X.min(axis=0), X.max(axis=0)
    centre = (low + high) / 2
    half = max(float((high - low).max()) / 2, 0.5) * (1 + margin)
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))
