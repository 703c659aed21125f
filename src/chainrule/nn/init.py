"""Weight initialisers: Xavier/Glorot and He/Kaiming, normal and uniform, all drawn from a seeded Generator.

Each returns a NumPy array of the requested shape (out, in); wrapping it in a Tensor is the layer's job.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

Shape = tuple[int, int]


def _fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight matrix of shape (out, in)."""
    if len(shape) != 2:
        raise ValueError(f"initialisers expect a weight shape (out, in), got {shape}")
    fan_out, fan_in = shape
    return fan_in, fan_out


def xavier_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """W ~ U(−r, r) with r = √(6 / (fan_in + fan_out))  (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def xavier_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """W ~ N(0, σ²) with σ = √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def he_uniform(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """W ~ U(−r, r) with r = √(6 / fan_in)  (He et al., 2015; suits ReLU)."""
    fan_in, _ = _fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def he_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """W ~ N(0, σ²) with σ = √(2 / fan_in)."""
    fan_in, _ = _fans(shape)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def standard_normal(shape: Shape, rng: np.random.Generator) -> np.ndarray:
    """W ~ N(0, 1), the textbook choice (Nielsen's network.py)."""
    _fans(shape)
    return rng.standard_normal(size=shape)


INITIALISERS: dict[str, Callable[[Shape, np.random.Generator], np.ndarray]] = {
    "xavier": xavier_uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": he_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "kaiming_normal": he_normal,
    "normal": standard_normal,
}


def get_initialiser(name: str) -> Callable[[Shape, np.random.Generator], np.ndarray]:
    """The initialiser called `name` (see INITIALISERS)."""
    try:
        return INITIALISERS[name]
    except KeyError:
        raise ValueError(f"unknown initialiser {name!r}; choose one of {', '.join(INITIALISERS)}") from None


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a Generator, an int seed, or None (fresh entropy, as numpy.random.default_rng)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, not {type(rng).__name__}")
