"""Jitted twins of the synthetic-market kernels in ``_market_kernels_python.py``.

Compiled from the same source with numba (``cache=True``, ``nogil=True``, no ``fastmath``: the
twins must agree bit for bit). The simulation is sequential, so each kernel has one serial
build. The tests run both twins on the same inputs and require identical outputs.
"""

from __future__ import annotations

from numba import njit

from invrisk.data import _market_kernels_python as _py

__all__ = ["ar1_path", "fifo_latency", "price_path", "simulate_market"]

_serial = njit(cache=True, nogil=True)

simulate_market = _serial(_py.simulate_market)
price_path = _serial(_py.price_path)
ar1_path = _serial(_py.ar1_path)
fifo_latency = _serial(_py.fifo_latency)
