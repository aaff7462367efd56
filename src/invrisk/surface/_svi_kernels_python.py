"""Pure-Python kernels of the quasi-explicit SVI calibration (jitted twins in ``_svi_kernels``).

Quasi-explicit reduction (Zeliade Systems, "Quasi-explicit calibration of Gatheral's SVI model",
2009; De Marco & Martini): for a fixed vertex (m, σ), with y = (k - m)/σ, raw SVI is linear in
three parameters,

    w(k) = a + d·y + c·sqrt(y² + 1),   c = bσ, d = ρbσ,

so the best (a, d, c) is a small least-squares problem. Its linear constraints here are

    |d| <= c                 (|ρ| <= 1, b >= 0)
    c + |d| <= 2σ            (Roger Lee's wing bound b(1 + |ρ|) <= 2)
    a + c - |d| >= 0         (sufficient for min w = a + sqrt(c² - d²) >= 0)

and the constrained minimum is found exactly by enumerating active sets (at most 3 of the 6
half-planes can be active in 3 dimensions): every face's equality-constrained minimiser is
computed from its KKT system and the best feasible one is kept. The outer problem over (m, σ)
is two-dimensional and solved by Nelder–Mead in ``svi.py``. A penalty on negative values of the
Gatheral–Jacquier density g(k) over a grid wider than the quotes keeps each slice free of
butterfly arbitrage, which the linear constraints alone do not guarantee; a second penalty keeps
the slice between its neighbouring expiries' total variances (no calendar arbitrage).
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable

from invrisk._typing import Float64Array

# Constraint rows G x >= h for x = (a, d, c); h depends on σ for rows 2-3.
_G = np.array(
    [
        [0.0, -1.0, 1.0],  # c - d >= 0
        [0.0, 1.0, 1.0],  # c + d >= 0
        [0.0, -1.0, -1.0],  # -(c + d) >= -2σ
        [0.0, 1.0, -1.0],  # -(c - d) >= -2σ
        [1.0, -1.0, 1.0],  # a + c - d >= 0
        [1.0, 1.0, 1.0],  # a + c + d >= 0
    ]
)
_N_CON = 6
_FEAS_TOL = 1e-12
# The penalties aim a hair inside the arbitrage-free region, so that the constraints that end up
# active still hold after rounding: g >= G_MARGIN, and w at least W_MARGIN (relative) inside the
# neighbouring slices.
G_MARGIN = 1e-7
W_MARGIN = 1e-8


@register_jitable
def _solve_small(mat: Float64Array, rhs: Float64Array, n: int) -> bool:
    """Gaussian elimination with partial pivoting on the leading n×n block; rhs is overwritten
    with the solution. Returns False if the matrix is (numerically) singular."""
    scale = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(mat[i, j]))
    if scale == 0.0:
        return False
    for col in range(n):
        piv = col
        best = abs(mat[col, col])
        for row in range(col + 1, n):
            if abs(mat[row, col]) > best:
                best = abs(mat[row, col])
                piv = row
        if best <= 1e-13 * scale:
            return False
        if piv != col:
            for j in range(n):
                tmp = mat[col, j]
                mat[col, j] = mat[piv, j]
                mat[piv, j] = tmp
            tmp = rhs[col]
            rhs[col] = rhs[piv]
            rhs[piv] = tmp
        for row in range(col + 1, n):
            f = mat[row, col] / mat[col, col]
            if f != 0.0:
                for j in range(col, n):
                    mat[row, j] -= f * mat[col, j]
                rhs[row] -= f * rhs[col]
    for row in range(n - 1, -1, -1):
        acc = rhs[row]
        for j in range(row + 1, n):
            acc -= mat[row, j] * rhs[j]
        rhs[row] = acc / mat[row, row]
    return True


@register_jitable
def _feasible(x: Float64Array, h: Float64Array) -> bool:
    for c_idx in range(_N_CON):
        lhs = _G[c_idx, 0] * x[0] + _G[c_idx, 1] * x[1] + _G[c_idx, 2] * x[2]
        if lhs < h[c_idx] - _FEAS_TOL * (1.0 + abs(h[c_idx])):
            return False
    return True


@register_jitable
def _sse(x: Float64Array, A: Float64Array, r: Float64Array, vv: float) -> float:
    """Weighted sum of squares from the normal-equation pieces: vv - 2 x·r + x·A·x."""
    obj = vv
    for p in range(3):
        obj -= 2.0 * x[p] * r[p]
        for q in range(3):
            obj += x[p] * A[p, q] * x[q]
    return obj


@register_jitable
def svi_inner(
    y: Float64Array, z: Float64Array, v: Float64Array, wt: Float64Array, sigma: float
) -> tuple[float, float, float, float]:
    """Best (a, d, c) for a fixed vertex; returns (a, d, c, weighted sum of squares).

    ``y = (k - m)/σ``, ``z = sqrt(y² + 1)``, ``v`` the market total variances, ``wt`` weights.
    """
    # Normal equations: A x = r with basis (1, y, z).
    A = np.zeros((3, 3))
    r = np.zeros(3)
    vv = 0.0
    for i in range(y.shape[0]):
        f0 = 1.0
        f1 = y[i]
        f2 = z[i]
        w = wt[i]
        A[0, 0] += w * f0 * f0
        A[0, 1] += w * f0 * f1
        A[0, 2] += w * f0 * f2
        A[1, 1] += w * f1 * f1
        A[1, 2] += w * f1 * f2
        A[2, 2] += w * f2 * f2
        r[0] += w * f0 * v[i]
        r[1] += w * f1 * v[i]
        r[2] += w * f2 * v[i]
        vv += w * v[i] * v[i]
    A[1, 0] = A[0, 1]
    A[2, 0] = A[0, 2]
    A[2, 1] = A[1, 2]

    h = np.zeros(_N_CON)
    h[2] = -2.0 * sigma
    h[3] = -2.0 * sigma

    # The unconstrained minimiser, if feasible, is the answer (the problem is convex).
    mat = A.copy()
    x = r.copy()
    if _solve_small(mat, x, 3) and _feasible(x, h):
        return x[0], x[1], x[2], max(_sse(x, A, r, vv), 0.0)

    best_obj = math.inf
    best = np.zeros(3)
    kkt = np.zeros((6, 6))
    sol = np.zeros(6)
    x = np.zeros(3)
    active = np.zeros(3, dtype=np.int64)
    # Enumerate active sets of size 0..3 as combinations of the 6 constraints.
    for size in range(4):
        # Iterate over combinations i0 < i1 < i2 (only the first ``size`` used).
        for i0 in range(_N_CON if size >= 1 else 1):
            for i1 in range(i0 + 1 if size >= 2 else 0, _N_CON if size >= 2 else 1):
                for i2 in range(i1 + 1 if size >= 3 else 0, _N_CON if size >= 3 else 1):
                    active[0] = i0
                    active[1] = i1
                    active[2] = i2
                    n = 3 + size
                    for p in range(6):
                        sol[p] = 0.0
                        for q in range(6):
                            kkt[p, q] = 0.0
                    for p in range(3):
                        for q in range(3):
                            kkt[p, q] = 2.0 * A[p, q]
                        sol[p] = 2.0 * r[p]
                    for s in range(size):
                        c_idx = active[s]
                        for q in range(3):
                            kkt[3 + s, q] = _G[c_idx, q]
                            kkt[q, 3 + s] = -_G[c_idx, q]
                        sol[3 + s] = h[c_idx]
                    if not _solve_small(kkt, sol, n):
                        continue
                    x[0] = sol[0]
                    x[1] = sol[1]
                    x[2] = sol[2]
                    if not _feasible(x, h):
                        continue
                    obj = _sse(x, A, r, vv)
                    if obj < best_obj:
                        best_obj = obj
                        best[0] = x[0]
                        best[1] = x[1]
                        best[2] = x[2]
    return best[0], best[1], best[2], max(best_obj, 0.0)


@register_jitable
def density_penalty(
    k_grid: Float64Array,
    w_lo: Float64Array,
    w_hi: Float64Array,
    a: float,
    b: float,
    rho: float,
    m: float,
    sigma: float,
) -> float:
    """Squared violations over a grid: negative g(k) (butterfly), w <= 0, and w outside
    [w_lo, w_hi], the neighbouring expiries' total variances (calendar, relative). 0 when
    arbitrage free."""
    pen = 0.0
    for j in range(k_grid.shape[0]):
        k = k_grid[j]
        x = k - m
        rr = math.sqrt(x * x + sigma * sigma)
        w = a + b * (rho * x + rr)
        if w <= 0.0:
            pen += 1.0 + w * w
            continue
        lo = w_lo[j] * (1.0 + W_MARGIN)
        hi = w_hi[j] * (1.0 - W_MARGIN)
        if w < lo:
            rel = (lo - w) / lo
            pen += rel * rel
        if w > hi:
            rel = (w - hi) / hi
            pen += rel * rel
        w1 = b * (rho + x / rr)
        w2 = b * sigma * sigma / (rr * rr * rr)
        t = 1.0 - k * w1 / (2.0 * w)
        g = t * t - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
        if g < G_MARGIN:
            pen += (G_MARGIN - g) * (G_MARGIN - g)
    return pen


def svi_objective(
    m: float,
    sigma: float,
    k: Float64Array,
    v: Float64Array,
    wt: Float64Array,
    k_grid: Float64Array,
    w_lo: Float64Array,
    w_hi: Float64Array,
    penalty_weight: float,
) -> tuple[float, float, float, float, float]:
    """Outer objective at vertex (m, σ): returns (objective, a, d, c, inner sum of squares)."""
    n = k.shape[0]
    y = np.empty(n)
    z = np.empty(n)
    for i in range(n):
        y[i] = (k[i] - m) / sigma
        z[i] = math.sqrt(y[i] * y[i] + 1.0)
    a, d, c, sse = svi_inner(y, z, v, wt, sigma)
    b = c / sigma
    rho = d / c if c > 0.0 else 0.0
    pen = 0.0
    if penalty_weight > 0.0 and b > 0.0:
        pen = density_penalty(k_grid, w_lo, w_hi, a, b, rho, m, sigma)
    return sse + penalty_weight * pen, a, d, c, sse


def svi_full_objective(
    a: float,
    b: float,
    rho: float,
    m: float,
    sigma: float,
    k: Float64Array,
    v: Float64Array,
    wt: Float64Array,
    k_grid: Float64Array,
    w_lo: Float64Array,
    w_hi: Float64Array,
    penalty_weight: float,
) -> float:
    """Weighted squared error of a full raw SVI parameter set plus the arbitrage penalty.

    Used when the data and the constraints disagree: the quasi-explicit inner step only sees
    the data, so the constraints must then act on all five parameters at once.
    """
    sse = 0.0
    for i in range(k.shape[0]):
        x = k[i] - m
        w = a + b * (rho * x + math.sqrt(x * x + sigma * sigma))
        sse += wt[i] * (w - v[i]) * (w - v[i])
    return sse + penalty_weight * density_penalty(k_grid, w_lo, w_hi, a, b, rho, m, sigma)
