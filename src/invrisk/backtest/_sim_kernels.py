"""Jitted twins of the pure-Python exchange-simulation kernel in ``_sim_kernels_python.py`` and
of the stream scan in ``_scan_kernels_python.py``.

Compiled from the same sources with numba (``cache=True``, ``nogil=True``, no ``fastmath``); the
tests run both on the same streams and strategies and require identical results.
"""

from __future__ import annotations

from numba import njit

from invrisk.backtest import _scan_kernels_python as _scan
from invrisk.backtest import _sim_kernels_python as _py

__all__ = ["run_kernel", "scan_rows"]

run_kernel = njit(cache=True, nogil=True)(_py.run_kernel)
scan_rows = njit(cache=True, nogil=True)(_scan.scan_rows)
