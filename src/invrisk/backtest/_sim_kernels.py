"""Jitted twin of the pure-Python exchange-simulation kernel in ``_sim_kernels_python.py``.

Compiled from the same source with numba (``cache=True``, ``nogil=True``, no ``fastmath``); the
tests run both on the same streams and strategies and require identical results.
"""

from __future__ import annotations

from numba import njit

from invrisk.backtest import _sim_kernels_python as _py

__all__ = ["run_kernel"]

run_kernel = njit(cache=True, nogil=True)(_py.run_kernel)
