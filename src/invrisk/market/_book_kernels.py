"""Jitted twins of the pure-Python book kernels in ``_book_kernels_python.py``.

Compiled from the same source with numba (``cache=True``, ``nogil=True``, no ``fastmath``).
A book is sequential by nature, so each kernel has one serial build only (no parallel build,
hence no ``serial_copy`` renaming: there is a single cache entry per kernel). The tests compare
every kernel with its Python twin on random event streams and require exact equality.
"""

from __future__ import annotations

from numba import njit

from invrisk.market import _book_kernels_python as _py

__all__ = ["levels_kernel", "run_kernel"]

_serial = njit(cache=True, nogil=True)

run_kernel = _serial(_py.run_kernel)
levels_kernel = _serial(_py.levels_kernel)
