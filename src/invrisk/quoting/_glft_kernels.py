"""Jitted twins of the pure-Python GLFT/Guéant kernels in ``_glft_kernels_python.py``.

Compiled from the same source with numba (``cache=True``, ``nogil=True``, no ``fastmath``).
The tail sweep is sequential along the inventory grid and small (a few hundred rows and
columns), so each kernel has one serial build only (no parallel build, hence no
``serial_copy`` renaming). The tests compare every kernel with its Python twin and require
bit-identical results.
"""

from __future__ import annotations

from numba import njit

from invrisk.quoting import _glft_kernels_python as _py

__all__ = ["rebuild_tail_kernel"]

_serial = njit(cache=True, nogil=True)

rebuild_tail_kernel = _serial(_py.rebuild_tail_kernel)
