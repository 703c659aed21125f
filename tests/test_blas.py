"""`chainrule._blas.axpy`: y ← y + αx in place through the OpenBLAS that NumPy's wheel bundles, or False with
y untouched wherever BLAS cannot do it (no bundled library, other dtypes, mixed orders, read-only, overlap);
a library whose routine disagrees with NumPy is never used. The optimisers' use of it is in test_optim.py."""
from __future__ import annotations

import numpy as np
import pytest

from chainrule import _blas


def test_blas_axpy_declines_what_it_cannot_do_and_leaves_y_untouched() -> None:
    n = 100
    x = np.linspace(0.0, 1.0, n, dtype=np.float32)
    frozen = np.ones(n, np.float32)
    frozen.flags.writeable = False
    both = np.ones(2 * n, np.float32)
    cases = {
        "ints": (np.arange(n), np.arange(n)),
        "dtypes differ": (x.astype(np.float64), np.ones(n, np.float32)),
        "shapes differ": (x[:-1], np.ones(n - 1, np.float32).reshape(1, -1)),
        "strided y": (x[::2], np.ones(n, np.float32)[::2]),
        "read-only y": (x, frozen),
        "overlapping": (both[:n], both[n // 2:n // 2 + n]),
    }
    for name, (xs, y) in cases.items():
        before = y.copy()
        assert _blas.axpy(-0.5, xs, y) is False, name
        np.testing.assert_array_equal(y, before, err_msg=name)


@pytest.mark.skipif(not _blas.available, reason="this NumPy has no bundled OpenBLAS")
def test_blas_axpy_adds_alpha_x_to_y_in_place() -> None:
    x = np.arange(5, dtype=np.float64)
    y = np.full((5,), 10.0)
    assert _blas.axpy(-2.0, x, y) is True
    np.testing.assert_array_equal(y, [10.0, 8.0, 6.0, 4.0, 2.0])
    x2 = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))  # both Fortran order: element by element
    y2 = np.asfortranarray(np.ones((2, 3), np.float32))
    assert _blas.axpy(0.5, x2, y2) is True
    np.testing.assert_array_equal(y2, 1 + 0.5 * np.arange(6).reshape(2, 3))
    assert _blas.axpy(0.5, x2, np.ones((2, 3), np.float32)) is False  # one of each order: not element by element


@pytest.mark.skipif(not _blas.available, reason="this NumPy has no bundled OpenBLAS")
def test_blas_axpy_finds_the_first_element_of_views_and_read_only_arrays() -> None:
    buffer = np.arange(20, dtype=np.float64)
    x, y = buffer[3:8], buffer[8:13]  # views starting inside one buffer, touching but not overlapping
    assert _blas.axpy(1.0, x, y) is True
    np.testing.assert_array_equal(buffer[8:13], [11.0, 13.0, 15.0, 17.0, 19.0])
    np.testing.assert_array_equal(buffer[:8], np.arange(8.0))  # x and what lies before it are untouched
    np.testing.assert_array_equal(buffer[13:], np.arange(13.0, 20.0))
    frozen = np.arange(4, dtype=np.float32)
    frozen.flags.writeable = False  # lends no writable buffer: its address comes the slower way
    target = np.zeros(4, np.float32)
    assert _blas.axpy(2.0, frozen, target) is True
    np.testing.assert_array_equal(target, [0.0, 2.0, 4.0, 6.0])
    grid = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    ones = np.asfortranarray(np.ones((3, 2), np.float32))
    assert _blas.axpy(-1.0, grid[:, 1:3], ones) is True  # a Fortran-ordered view two columns in
    np.testing.assert_array_equal(ones, 1 - grid[:, 1:3])
    overlap = np.asfortranarray(np.zeros((4, 4), np.float32))
    assert _blas.axpy(1.0, overlap[:, :2], overlap[:, 1:3]) is False  # Fortran-ordered and overlapping


def test_blas_routines_that_disagree_with_numpy_are_not_used(monkeypatch) -> None:
    assert _blas._agrees({np.dtype(np.float32): lambda n, alpha, x, incx, y, incy: None}) is False
    monkeypatch.setattr(_blas, "_bundled_openblas", lambda: [__file__])  # not a shared library: skipped
    assert _blas._load() == {}


@pytest.mark.skipif(not _blas.available, reason="this NumPy has no bundled OpenBLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_axpy_is_y_plus_alpha_x_to_within_one_rounding_at_sizes_around_simd_widths(dtype) -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 1000, 1031):
        x, y = rng.standard_normal((2, n)).astype(dtype)
        alpha = dtype(0.731)
        expected = y + alpha * x
        assert _blas.axpy(alpha, x, y) is True
        np.testing.assert_array_less(np.abs(y - expected), 2 * np.spacing(np.abs(expected) + np.abs(alpha * x)) + 1e-300)


def test_available_says_whether_routines_were_loaded() -> None:
    assert _blas.available == bool(_blas._ROUTINES)
    assert set(_blas._ROUTINES) <= {np.dtype(np.float32), np.dtype(np.float64)}
