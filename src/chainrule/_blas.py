"""axpy, y ← y + αx in place in one pass, from the OpenBLAS that NumPy's own wheels carry and have loaded.

NumPy has no axpy: `w -= lr * g` writes the product to a temporary and then passes over memory again, on one
thread. BLAS's axpy reads x and y once and writes y once, rounding α·x + y once where its kernel uses fused
multiply-adds (within one unit in the last place in any case), and runs on NumPy's BLAS threads (as many as
`OMP_NUM_THREADS` or threadpoolctl allow) for long vectors.

`available` is False where NumPy was built without its bundled OpenBLAS (conda, MKL, Accelerate, a source
build), where the library does not answer to the expected names, or where it fails the check below; `axpy`
then returns False and callers use NumPy. No other library is loaded: only the file that NumPy itself links
to, found beside the numpy package.
"""
from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable

import numpy as np

# Names of axpy in the scipy-openblas builds that NumPy's wheels bundle (64-bit or 32-bit BLAS integers).
_SYMBOLS = (("scipy_cblas_{}axpy64_", ctypes.c_int64), ("scipy_cblas_{}axpy", ctypes.c_int32))
_SCALARS = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}


def _bundled_openblas() -> list[str]:
    """Paths of the OpenBLAS files shipped inside the NumPy wheel (Linux and Windows: numpy.libs; macOS: .dylibs)."""
    package = os.path.dirname(np.__file__)
    found = []
    for folder in (os.path.join(package, os.pardir, "numpy.libs"), os.path.join(package, ".dylibs")):
        found += sorted(glob.glob(os.path.join(folder, "*openblas*")))
    return found


def _routines(path: str) -> dict[np.dtype, Callable]:
    """The library's saxpy and daxpy as ctypes functions (an empty dict where it has neither)."""
    library = ctypes.CDLL(path)
    for pattern, integer in _SYMBOLS:
        routines = {}
        for dtype, (letter, scalar) in _SCALARS.items():
            routine = getattr(library, pattern.format(letter), None)
            if routine is None:
                break
            routine.restype = None
            routine.argtypes = [integer, scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
            routines[dtype] = routine
        else:
            return routines
    return {}


def _agrees(routines: dict[np.dtype, Callable]) -> bool:
    """Whether each routine gives y + αx to within rounding (two units in the last place of |y| + |αx|), on a
    vector longer than a SIMD register and with a tail, so that a wrong calling convention shows up here."""
    rng = np.random.default_rng(0)
    for dtype, routine in routines.items():
        x, y = rng.standard_normal((2, 1003)).astype(dtype)
        alpha = dtype.type(-0.37)
        expected = y + alpha * x
        tolerance = 2 * np.spacing(np.abs(y) + np.abs(alpha * x))
        routine(x.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
        if not np.all(np.abs(y - expected) <= tolerance):
            return False
    return True


def _load() -> dict[np.dtype, Callable]:
    for path in _bundled_openblas():
        try:
            routines = _routines(path)
        except OSError:
            continue
        if routines and _agrees(routines):
            return routines
    return {}


_ROUTINES = _load()


_NO_BYTES = ctypes.c_char * 0  # a zero-length ctypes array: from_buffer(a) sits at a's first byte


def _start(a: np.ndarray) -> int:
    """The address of the first element of a C-contiguous array. ctypes' from_buffer takes it from the buffer
    protocol, several times faster than `a.ctypes.data`; a read-only array does not lend its buffer that way."""
    try:
        return ctypes.addressof(_NO_BYTES.from_buffer(a))
    except (TypeError, BufferError, ValueError):
        return a.ctypes.data


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> bool:
    """y ← y + αx in place by BLAS, and True; or False, with nothing done, where BLAS cannot do it: no
    bundled OpenBLAS, a dtype other than float32/float64, x and y of different dtypes or shapes, not both
    C-contiguous or both Fortran-contiguous, y read-only, or the two overlapping in memory."""
    routine = _ROUTINES.get(y.dtype)
    if routine is None or x.dtype != y.dtype or x.shape != y.shape:
        return False
    x_flags, y_flags = x.flags, y.flags
    if not y_flags.writeable:
        return False
    if x_flags.c_contiguous and y_flags.c_contiguous:  # element i of one is element i of the other
        x_start, y_start = _start(x), _start(y)
    elif x_flags.f_contiguous and y_flags.f_contiguous:
        x_start, y_start = _start(x.T), _start(y.T)
    else:
        return False
    size = y.nbytes
    if x_start < y_start + size and y_start < x_start + size:  # both contiguous: their byte ranges overlap
        return False
    routine(y.size, alpha, x_start, 1, y_start, 1)
    return True


available = bool(_ROUTINES)
