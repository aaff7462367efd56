"""Jitted twin of the pure-Python intensity-fit kernel in ``_calib_kernels_python.py``.

Compiled from the same source with numba (``cache=True``, ``nogil=True``, no ``fastmath``);
the kernel's code object is bound to globals in which its helper ``_nll`` is the jitted
helper (numba calls only compiled functions). The tests compare it with its Python twin.
"""

from __future__ import annotations

import types

from numba import njit

from invrisk.quoting import _calib_kernels_python as _py

__all__ = ["fisher_scoring_kernel"]

_serial = njit(cache=True, nogil=True)

_nll = _serial(_py._nll)
fisher_scoring_kernel = _serial(
    types.FunctionType(
        _py.fisher_scoring_kernel.__code__,
        {**vars(_py), "_nll": _nll},
        "fisher_scoring_kernel",
    )
)
