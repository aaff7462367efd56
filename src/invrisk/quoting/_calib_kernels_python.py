"""Pure-Python intensity-fit kernel, the reference twin of the jitted ``_calib_kernels.py``.

``_calib_kernels.py`` compiles this very function with numba (no ``fastmath``); the tests run
both on the same counts and require agreement to rounding (numba's ``exp``/``log`` and the
order of the sums are those of the loops below in both).

The model (see :func:`invrisk.quoting.calibrate.calibrate_intensity`): in each counting
interval of ``dt_s`` seconds the deepest level reached on a side falls in one of ``J + 1``
categories (none, level 0 .. J - 1). With ``x_j = A e^{-k δ_j} dt`` and ``u_j = e^{-x_j}``,
the probabilities are ``p_0 = u_0``, ``p_j = u_j − u_{j−1}`` (written
``u_j (1 − e^{−(x_{j−1} − x_j)})``, accurate when the two are close) and ``p_J = 1 − u_{J−1}``.
The kernel maximises the multinomial log-likelihood ``Σ c_j ln p_j`` over ``θ = (ln A,
ln k)`` by Fisher scoring: each step solves ``I dθ = −∇ nll`` with the expected information
``I = n Σ_j ∇p_j ∇p_jᵀ / p_j``, halving the step until it stays inside the bounds and the
negative log-likelihood does not increase.
"""

from __future__ import annotations

import math

import numpy as np

from invrisk._typing import Float64Array

__all__ = ["fisher_scoring_kernel"]

_TINY = 1e-300


def _nll(
    log_a: float,
    log_k: float,
    cat: Float64Array,
    depth: Float64Array,
    dt_s: float,
    p: Float64Array,
    g0: Float64Array,
    g1: Float64Array,
    out: Float64Array,
) -> None:
    """Probabilities and their gradients in (ln A, k) into ``p``, ``g0``, ``g1``; the negative
    log-likelihood and its gradient in (ln A, ln k) into ``out[0:3]``."""
    k = math.exp(log_k)
    a_dt = math.exp(log_a) * dt_s
    n_levels = depth.size
    x_prev = 0.0
    d0_prev = 0.0
    d1_prev = 0.0
    for j in range(n_levels):
        x = a_dt * math.exp(-k * depth[j])
        u = math.exp(-x)
        d0 = -x * u  # du/d(ln A)
        d1 = depth[j] * x * u  # du/dk
        if j == 0:
            p[0] = u
            g0[0] = d0
            g1[0] = d1
        else:
            p[j] = u * -math.expm1(-(x_prev - x))
            g0[j] = d0 - d0_prev
            g1[j] = d1 - d1_prev
        x_prev, d0_prev, d1_prev = x, d0, d1
    p[n_levels] = -math.expm1(-x_prev)
    g0[n_levels] = -d0_prev
    g1[n_levels] = -d1_prev
    f = 0.0
    grad0 = 0.0
    grad1 = 0.0
    for j in range(n_levels + 1):
        pj = max(p[j], _TINY)
        c = cat[j]
        if c != 0.0:
            f -= c * math.log(pj)
            w = c / pj
            grad0 -= w * g0[j]
            grad1 -= w * g1[j]
    out[0] = f
    out[1] = grad0
    out[2] = grad1 * k  # d/dk -> d/d(ln k)


def fisher_scoring_kernel(
    cat: Float64Array,
    depth: Float64Array,
    dt_s: float,
    log_a0: float,
    log_k0: float,
    lo_a: float,
    hi_a: float,
    lo_k: float,
    hi_k: float,
    result: Float64Array,
) -> int:
    """Fisher scoring from ``(log_a0, log_k0)`` within the bounds.

    On success writes ``ln A``, ``ln k`` and the negative log-likelihood to ``result[0:3]``
    and returns the number of scoring steps computed (>= 1; the last one, below 1e-9 in both
    coordinates, is not taken); returns -1 when a step search fails (no non-increasing point
    inside the bounds in 30 halvings) for a step of 1e-6 or more (a smaller one means the
    likelihood is at its maximum to rounding: success), the information matrix is singular,
    or 50 steps do not converge.
    """
    n_cat = depth.size + 1
    p = np.empty(n_cat)
    g0 = np.empty(n_cat)
    g1 = np.empty(n_cat)
    cur = np.empty(3)
    new = np.empty(3)
    n_total = 0.0
    for j in range(n_cat):
        n_total += cat[j]
    xa, xk = log_a0, log_k0
    _nll(xa, xk, cat, depth, dt_s, p, g0, g1, cur)
    for it in range(50):
        # expected information in (ln A, k) at the current point (p, g0, g1 are current)
        i00 = 0.0
        i01 = 0.0
        i11 = 0.0
        for j in range(n_cat):
            w = 1.0 / max(p[j], _TINY)
            i00 += g0[j] * g0[j] * w
            i01 += g0[j] * g1[j] * w
            i11 += g1[j] * g1[j] * w
        k = math.exp(xk)
        i00 *= n_total
        i01 *= n_total * k  # (ln A, k) -> (ln A, ln k)
        i11 *= n_total * k * k
        det = i00 * i11 - i01 * i01
        if not (det != 0.0 and math.isfinite(det)):
            return -1
        step_a = -(i11 * cur[1] - i01 * cur[2]) / det
        step_k = -(i00 * cur[2] - i01 * cur[1]) / det
        # Converged when the full scoring step is negligible, or when the decrease it
        # predicts (-step . grad, the squared Newton decrement) is below the rounding of the
        # negative log-likelihood: near the optimum the gradient is rounding noise and the
        # steps it gives neither shrink nor lower the likelihood. A flat likelihood (k not
        # identified) gives large steps that leave the bounds instead.
        decrement = -(step_a * cur[1] + step_k * cur[2])
        if max(abs(step_a), abs(step_k)) < 1e-9 or decrement < 1e-14 * (1.0 + abs(cur[0])):
            result[0] = xa
            result[1] = xk
            result[2] = cur[0]
            return it + 1
        t = 1.0
        accepted = False
        for _ in range(30):
            na = xa + t * step_a
            nk = xk + t * step_k
            if lo_a <= na <= hi_a and lo_k <= nk <= hi_k:
                _nll(na, nk, cat, depth, dt_s, p, g0, g1, new)
                if new[0] <= cur[0]:
                    accepted = True
                    break
            t *= 0.5
        if not accepted:
            if max(abs(step_a), abs(step_k)) < 1e-6:
                # converged to rounding: at the optimum the negative log-likelihood cannot
                # be lowered in floating point, yet the step is not yet below 1e-9
                result[0] = xa
                result[1] = xk
                result[2] = cur[0]
                return it + 1
            return -1
        xa, xk = na, nk
        cur[0], cur[1], cur[2] = new[0], new[1], new[2]
    return -1
