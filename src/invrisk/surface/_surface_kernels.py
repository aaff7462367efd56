"""Jitted twins of ``_surface_kernels_python`` (numba, cache=True, no fastmath).

As in ``invrisk.pricing._kernels``, the serial build is compiled from a renamed copy so that
numba's cache (keyed by name, not by compile flags) keeps the two builds apart.
"""

from __future__ import annotations

from numba import njit

from invrisk._numba import serial_copy
from invrisk.surface import _surface_kernels_python as _py

__all__ = ["iv_kernel", "iv_kernel_serial", "surface_kernel", "surface_kernel_serial"]

surface_kernel = njit(parallel=True, cache=True, nogil=True)(_py.surface_kernel)
surface_kernel_serial = njit(cache=True, nogil=True)(serial_copy(_py.surface_kernel))
iv_kernel = njit(parallel=True, cache=True, nogil=True)(_py.iv_kernel)
iv_kernel_serial = njit(cache=True, nogil=True)(serial_copy(_py.iv_kernel))
