"""Jitted twin of ``_svi_kernels_python.svi_objective`` (numba, cache=True, no fastmath)."""

from __future__ import annotations

from numba import njit

from invrisk.surface import _svi_kernels_python as _py

__all__ = ["svi_full_objective", "svi_objective"]

svi_objective = njit(cache=True, nogil=True)(_py.svi_objective)
svi_full_objective = njit(cache=True, nogil=True)(_py.svi_full_objective)
