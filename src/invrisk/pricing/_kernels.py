"""Jitted twins of the pure-Python kernels in ``_kernels_python.py``.

The functions are compiled from the same source with numba (``cache=True``; no ``fastmath``:
pricing needs IEEE semantics). Each kernel has a parallel build (``prange`` over elements) for
large arrays and a serial build for small ones, where starting the thread pool costs more than
the work. Tests compare every jitted kernel with its Python twin.
"""

from __future__ import annotations

from numba import njit

from invrisk._numba import serial_copy
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


greeks_kernel = _parallel(_py.greeks_kernel)
greeks_kernel_serial = _serial(serial_copy(_py.greeks_kernel))
price_kernel = _parallel(_py.price_kernel)
price_kernel_serial = _serial(serial_copy(_py.price_kernel))
implied_vol_kernel = _parallel(_py.implied_vol_kernel)
implied_vol_kernel_serial = _serial(serial_copy(_py.implied_vol_kernel))
