"""Pure-Python kernel evaluating a fitted surface (jitted twin in ``_surface_kernels``).

A surface is a list of expiries t_1 < ... < t_n, each with a raw SVI slice (a, b, ρ, m, σ) in
total variance over k = ln(K/F(t)). Between expiries:

* model 0 (per-expiry SVI): total variance is linear in t at fixed k,
  w(k, t) = (1 - λ) w_i(k) + λ w_{i+1}(k), λ = (t - t_i)/(t_{i+1} - t_i); slices that do not
  cross keep the interpolation free of calendar arbitrage.
* model 1 (SSVI): the ATM total variance θ is linear in t and w(k, θ(t)) is the SSVI formula
  with the global (ρ, η, γ), so the whole surface is the arbitrage-free SSVI surface.
* model 2 (eSSVI): θ, ψ and ρψ of the slices are linear in t, and w is the eSSVI formula;
  the calendar and butterfly conditions of the slices carry over to the interpolated ones
  (θ and ψ stay ordered, |Δ(ρψ)| <= Δψ holds on every sub-interval).

Before the first expiry w(k, t) = w_1(k)·t/t_1 and after the last w(k, t) = w_n(k)·t/t_n (the
implied vol at fixed k is held constant). An optional vol shock is applied in vol space:
σ' = σ·(1 + rel·W(t)) + abs·W(t) + skew·k, with W(t) = (ref_days / days(t))^power.
"""

from __future__ import annotations

import math

from numba import prange
from numba.extending import register_jitable

from invrisk._typing import Float64Array, Int64Array
from invrisk.units import NS_PER_YEAR as _NS_PER_YEAR_INT

DAYS_PER_YEAR = 365.0
NS_PER_YEAR = float(_NS_PER_YEAR_INT)


@register_jitable
def svi_w(k: float, a: float, b: float, rho: float, m: float, sigma: float) -> float:
    x = k - m
    return a + b * (rho * x + math.sqrt(x * x + sigma * sigma))


@register_jitable
def ssvi_w(k: float, theta: float, rho: float, eta: float, gamma: float) -> float:
    phi = eta * theta ** (-gamma) * (1.0 + theta) ** (gamma - 1.0)
    pk = phi * k
    return 0.5 * theta * (1.0 + rho * pk + math.sqrt((pk + rho) ** 2 + 1.0 - rho * rho))


@register_jitable
def essvi_w(k: float, theta: float, psi: float, c: float) -> float:
    """eSSVI total variance with ψ = θφ and c = ρψ: (θ + ck + sqrt((ψk + θρ)² + θ²(1-ρ²)))/2."""
    rho = c / psi
    u = psi * k + theta * rho
    return 0.5 * (theta + c * k + math.sqrt(u * u + theta * theta * (1.0 - rho * rho)))


@register_jitable
def _slice_w(i: int, k: float, params: Float64Array) -> float:
    return svi_w(k, params[i, 0], params[i, 1], params[i, 2], params[i, 3], params[i, 4])


@register_jitable
def total_variance_one(
    k: float,
    t: float,
    t_nodes: Float64Array,
    params: Float64Array,
    model: int,
    nodes_x: Float64Array,
    glob: Float64Array,
) -> float:
    """Total variance at (k, t) for t > 0; see the module docstring.

    ``nodes_x[i] = (θ_i, ψ_i, ρ_iψ_i)`` of the slices (models 1 and 2); ``glob`` = (ρ, η, γ)
    of the power-law SSVI (model 1).
    """
    n = t_nodes.shape[0]
    if t <= t_nodes[0]:
        return _slice_w(0, k, params) * t / t_nodes[0]
    if t >= t_nodes[n - 1]:
        return _slice_w(n - 1, k, params) * t / t_nodes[n - 1]
    # Binary search for t_nodes[i] <= t < t_nodes[i + 1].
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if t_nodes[mid] <= t:
            lo = mid
        else:
            hi = mid
    lam = (t - t_nodes[lo]) / (t_nodes[hi] - t_nodes[lo])
    if model == 1:
        th = nodes_x[lo, 0] + lam * (nodes_x[hi, 0] - nodes_x[lo, 0])
        return ssvi_w(k, th, glob[0], glob[1], glob[2])
    if model == 2:
        th = nodes_x[lo, 0] + lam * (nodes_x[hi, 0] - nodes_x[lo, 0])
        psi = nodes_x[lo, 1] + lam * (nodes_x[hi, 1] - nodes_x[lo, 1])
        c = nodes_x[lo, 2] + lam * (nodes_x[hi, 2] - nodes_x[lo, 2])
        return essvi_w(k, th, psi, c)
    return (1.0 - lam) * _slice_w(lo, k, params) + lam * _slice_w(hi, k, params)


def surface_kernel(
    k: Float64Array,
    t: Float64Array,
    t_nodes: Float64Array,
    params: Float64Array,
    model: int,
    nodes_x: Float64Array,
    glob: Float64Array,
    shock: Float64Array,
    out_w: Float64Array,
) -> None:
    """Total variance at each (k[i], t[i]) into ``out_w``; NaN where t <= 0.

    ``shock`` = (rel, abs, skew, ref_days, power); all zeros for no shock. A shocked vol that
    is not positive gives NaN (no silent flooring).
    """
    n = k.shape[0]
    rel = shock[0]
    shift = shock[1]
    skew = shock[2]
    ref_days = shock[3]
    power = shock[4]
    shocked = rel != 0.0 or shift != 0.0 or skew != 0.0
    for i in prange(n):
        ti = t[i]
        if not ti > 0.0:
            out_w[i] = math.nan
            continue
        w = total_variance_one(k[i], ti, t_nodes, params, model, nodes_x, glob)
        if shocked:
            weight = (ref_days / (ti * DAYS_PER_YEAR)) ** power if power != 0.0 else 1.0
            vol = math.sqrt(w / ti) if w > 0.0 else math.nan
            vol = vol * (1.0 + rel * weight) + shift * weight + skew * k[i]
            w = vol * vol * ti if vol > 0.0 else math.nan
        out_w[i] = w


@register_jitable
def log_forward(t: float, t_nodes: Float64Array, logf: Float64Array) -> float:
    """ln F(t): linear in t between expiries, the nearest segment's slope outside."""
    n = t_nodes.shape[0]
    if n == 1:
        return logf[0]
    if t <= t_nodes[0]:
        slope = (logf[1] - logf[0]) / (t_nodes[1] - t_nodes[0])
        return logf[0] + (t - t_nodes[0]) * slope
    if t >= t_nodes[n - 1]:
        slope = (logf[n - 1] - logf[n - 2]) / (t_nodes[n - 1] - t_nodes[n - 2])
        return logf[n - 1] + (t - t_nodes[n - 1]) * slope
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if t_nodes[mid] <= t:
            lo = mid
        else:
            hi = mid
    lam = (t - t_nodes[lo]) / (t_nodes[hi] - t_nodes[lo])
    return logf[lo] + lam * (logf[hi] - logf[lo])


def iv_kernel(
    strike: Float64Array,
    expiry_ns: Int64Array,
    valuation_ns: int,
    t_nodes: Float64Array,
    logf: Float64Array,
    params: Float64Array,
    model: int,
    nodes_x: Float64Array,
    glob: Float64Array,
    shock: Float64Array,
    out_vol: Float64Array,
) -> None:
    """Implied vol at (strike[i], expiry_ns[i]) (length n, or 1 to broadcast); NaN if expired.

    T is ACT/365 from the int64 ns difference (as ``units.year_fraction``), the forward from
    :func:`log_forward`, and k = ln(K/F).
    """
    n = out_vol.shape[0]
    j_k = 0 if strike.shape[0] == 1 else 1
    j_e = 0 if expiry_ns.shape[0] == 1 else 1
    rel = shock[0]
    shift = shock[1]
    skew = shock[2]
    ref_days = shock[3]
    power = shock[4]
    shocked = rel != 0.0 or shift != 0.0 or skew != 0.0
    for i in prange(n):
        t = float(expiry_ns[i * j_e] - valuation_ns) / NS_PER_YEAR
        if not t > 0.0:
            out_vol[i] = math.nan
            continue
        k = math.log(strike[i * j_k]) - log_forward(t, t_nodes, logf)
        w = total_variance_one(k, t, t_nodes, params, model, nodes_x, glob)
        vol = math.sqrt(w / t) if w > 0.0 else math.nan
        if shocked:
            weight = (ref_days / (t * DAYS_PER_YEAR)) ** power if power != 0.0 else 1.0
            vol = vol * (1.0 + rel * weight) + shift * weight + skew * k
            if not vol > 0.0:
                vol = math.nan
        out_vol[i] = vol
