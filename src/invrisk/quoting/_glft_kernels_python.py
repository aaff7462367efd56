"""Pure-Python GLFT/Guéant kernels, the reference twins of the jitted ``_glft_kernels.py``.

``_glft_kernels.py`` compiles these very functions with numba (no ``fastmath``); the tests run
both on the same eigendecompositions and require bit-identical results. The kernels assume the
input that :func:`invrisk.quoting.glft.solve_gueant` builds (``eta > 0``, finite arrays).

Tail rebuild (see the module docstring of :mod:`invrisk.quoting.glft`): every eigenvector ``u``
of ``M`` (diagonal ``diag``, off-diagonal ``−η``, eigenvalue ``λ``) satisfies
``(diag_i − λ) u_i = η (u_{i−1} + u_{i+1})``. Where ``s_i = diag_i − λ > 2η`` holds up to the
grid bound, the ratio ``r_i = u_i / u_{i∓1} = η / (s_i − η r_{i±1})`` swept in from the bound
(``r = 0`` beyond it) lies in ``(0, 1)`` and damps its own rounding errors; ``ln|u|`` in the
tail is the log-magnitude at the anchor (the last row before the tail) plus the running sum of
``ln r``, and the sign is the anchor's.
"""

from __future__ import annotations

import math

import numpy as np

from invrisk._typing import Float64Array


def rebuild_tail_kernel(
    log_abs: Float64Array,
    signs: Float64Array,
    diag: Float64Array,
    lam: Float64Array,
    eta: float,
    start: int,
    stop: int,
    step: int,
) -> None:
    """Rebuild, in place, one inventory tail of every column of ``log_abs`` and ``signs``.

    ``log_abs``, ``signs``: ``ln|U|`` and ``sign(U)``, shape ``(n, m)``; ``diag``: ``M_ii``,
    shape ``(n,)``; ``lam``: the ``m`` eigenvalues of the columns. The tail rows are visited
    as ``range(start, stop, step)`` from the grid bound inwards: ``start = n − 1, step = −1``
    for the ``+Q`` tail, ``start = 0, step = 1`` for the ``−Q`` tail; ``stop`` is exclusive and
    must lie at or past ``argmin diag`` (where ``diag_i − λ ≤ 2η`` by Gershgorin), so every
    anchor row is inside the grid. Column ``j``'s tail is the run of rows from ``start`` with
    ``diag_i − λ_j > 2η``; the rows before it are left unchanged.
    """
    n_cols = log_abs.shape[1]
    ratio = np.empty(log_abs.shape[0])
    two_eta = 2.0 * eta
    for j in range(n_cols):
        lam_j = lam[j]
        # Sweep the ratio in from the bound while the row is in the tail.
        r = 0.0
        end = start  # first row past the tail, in visiting order
        for i in range(start, stop, step):
            shifted = diag[i] - lam_j
            if not shifted > two_eta:
                break
            r = eta / (shifted - eta * r)
            ratio[i] = r
            end = i + step
        if end == start:
            continue
        # Accumulate ln r outwards from the anchor, the first row past the tail.
        base = log_abs[end, j]
        sign = signs[end, j]
        cum = 0.0
        for i in range(end - step, start - step, -step):
            cum += math.log(ratio[i])
            log_abs[i, j] = base + cum
            signs[i, j] = sign
