"""Jitted twins of the pure-Python kernels in ``_kernels_python.py``.

The functions are compiled from the same source with numba (``cache=True``; no ``fastmath``:
pricing needs IEEE semantics). Each kernel has a parallel build (``prange`` over elements) for
large arrays and a serial build for small ones, where starting the thread pool costs more than
the work. Tests compare every jitted kernel with its Python twin.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from numba import njit

from invrisk.pricing import _kernels_python as _py

__all__ = [
    "greeks_kernel",
    "greeks_kernel_serial",
    "implied_vol_kernel",
    "implied_vol_kernel_serial",
    "price_kernel",
    "price_kernel_serial",
]

_parallel = njit(parallel=True, cache=True, nogil=True)
_serial = njit(cache=True, nogil=True)


def _serial_copy(func: Callable[..., Any]) -> Callable[..., Any]:
    """The same function under the name ``<name>_serial``.

    numba's on-disk cache is keyed by a function's qualified name and signature, not by its
    compile flags: compiling one function both serially and in parallel would make the two
    builds overwrite each other in the cache (and a process could load the serial build where
    it asked for the parallel one). A renamed copy gets its own cache entry.
    """
    name = func.__name__ + "_serial"
    copy = types.FunctionType(
        func.__code__, func.__globals__, name, func.__defaults__, func.__closure__
    )
    copy.__qualname__ = name
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    return copy


greeks_kernel = _parallel(_py.greeks_kernel)
greeks_kernel_serial = _serial(_serial_copy(_py.greeks_kernel))
price_kernel = _parallel(_py.price_kernel)
price_kernel_serial = _serial(_serial_copy(_py.price_kernel))
implied_vol_kernel = _parallel(_py.implied_vol_kernel)
implied_vol_kernel_serial = _serial(_serial_copy(_py.implied_vol_kernel))
