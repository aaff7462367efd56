"""Extended SSVI (eSSVI): one surface, each expiry with its own skew and curvature.

eSSVI (Hendriks & Martini 2019) writes every expiry's total variance with its ATM total variance
θ, a curvature ψ = θφ and a skew ρ:

    w(k) = (θ + ρψk + sqrt((ψk + θρ)² + θ²(1 - ρ²))) / 2,

which is the SSVI slice of Gatheral & Jacquier (2014, eq. 4.1) with φ = ψ/θ, but with ψ and ρ
free per expiry instead of tied to θ through one power law. Crypto smiles, steep and short, need
that freedom: on Deribit's 2026 chains a power-law SSVI leaves about one vol point of error
where eSSVI leaves about half of one.

No arbitrage, enforced by the parametrisation and checked on the result:

- butterfly, per slice (GJ Theorem 4.2 applied to the slice): ψ(1 + |ρ|) < 4 and
  ψ²(1 + |ρ|) <= 4θ;
- calendar, between consecutive slices (sufficient): θ₂ >= θ₁, ψ₁ <= ψ₂ <= ψ₁θ₂/θ₁ (ψ
  non-decreasing and φ = ψ/θ non-increasing) and |ρ₂ψ₂ - ρ₁ψ₁| <= ψ₂ - ψ₁. The last two
  keep both wings ordered (their slopes are (ψ ± ρψ)/2); the bound on ψ₂ keeps the slices
  ordered near the money, where θ alone does not. Hendriks & Martini (2019) state calendar
  conditions for eSSVI that Pasquazzi (2023) showed to need a correction; this sufficient set
  is the one used by Mingone's (2022) global parametrisation, and
  ``tests/surface/test_essvi.py`` checks it on random slice pairs (without the bound on ψ₂,
  crossings appear).

The fit writes θ_j as cumulative sums of non-negative increments, ψ_j = ψ_{j-1}(1 + u_j
(θ_j/θ_{j-1} - 1)) with u_j in [0, 1], and ρ_jψ_j = ρ_{j-1}ψ_{j-1} + τ_j (ψ_j - ψ_{j-1}) with
τ_j in [-1, 1], so every point it can reach satisfies the calendar conditions. The butterfly
conditions are penalised during the fit and then enforced exactly by scaling every slice's
(ψ, ρψ) by one common factor, which leaves all the calendar conditions intact (they are
homogeneous in (ψ, ρψ)); see :func:`_enforce_butterfly`.

References
----------
S. Hendriks and C. Martini, "The extended SSVI volatility surface", Journal of Computational
Finance 22(5) (2019), eq. (2.1).
L. Pasquazzi, "A note about characterization of calendar spread arbitrage in eSSVI surfaces",
Theoretical Economics Letters 13 (2023) 1341-1358.
A. Mingone, "No arbitrage global parametrization for the eSSVI volatility surface",
Quantitative Finance 22(12) (2022) (arXiv:2204.00312).
J. Gatheral and A. Jacquier, "Arbitrage-free SVI volatility surfaces", Quantitative Finance 14
(2014) 59-71, eq. (4.1) and Theorem 4.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = ["ESSVIFit", "essvi_total_variance", "fit_essvi"]

_STRICT = 1.0 - 1e-9
_PENALTY = 1e3


def essvi_total_variance(
    k: ArrayLike, *, theta: ArrayLike, psi: ArrayLike, rho: ArrayLike
) -> Float64Array:
    """eSSVI total variance w(k) for slices (θ, ψ, ρ) (broadcasting)."""
    kk = np.asarray(k, dtype=np.float64)
    th = np.asarray(theta, dtype=np.float64)
    ps = np.asarray(psi, dtype=np.float64)
    r = np.asarray(rho, dtype=np.float64)
    return np.asarray(
        0.5 * (th + r * ps * kk + np.sqrt((ps * kk + th * r) ** 2 + th * th * (1.0 - r * r)))
    )


@dataclass(frozen=True, slots=True)
class ESSVIFit:
    """An eSSVI surface fitted by :func:`fit_essvi`: one (θ, ψ, ρ) per expiry, in time order.

    ``rmse_vol_pts`` and ``max_abs_err_vol_pts`` are per expiry, in vol points (0.01).
    """

    t_yr: Float64Array
    theta: Float64Array
    psi: Float64Array
    rho: Float64Array
    rmse_vol_pts: Float64Array
    max_abs_err_vol_pts: Float64Array

    def butterfly_ok(self) -> bool:
        """Every slice meets ψ(1 + |ρ|) < 4 and ψ²(1 + |ρ|) <= 4θ (with rounding allowance)."""
        a = self.psi * (1.0 + np.abs(self.rho))
        return bool(np.all(a < 4.0) and np.all(self.psi * a <= 4.0 * self.theta * (1 + 1e-12)))

    def calendar_ok(self) -> bool:
        """θ non-decreasing, ψ₁ <= ψ₂ <= ψ₁θ₂/θ₁ and |Δ(ρψ)| <= Δψ between consecutive slices."""
        c = self.rho * self.psi
        dpsi = np.diff(self.psi)
        tol = 1e-12
        return bool(
            np.all(np.diff(self.theta) >= 0.0)
            and np.all(dpsi >= -tol * self.psi[1:])
            and np.all(self.psi[1:] <= self.psi[:-1] * self.theta[1:] / self.theta[:-1] * (1 + tol))
            and np.all(np.abs(np.diff(c)) <= dpsi + tol * self.psi[1:])
        )


def _slices_from(x: Float64Array, n: int) -> tuple[Float64Array, Float64Array, Float64Array]:
    """x = (θ increments, (ψ₁, u₂..u_n), (τ₁..τ_n)) -> (θ, ψ, ρ) (module docstring)."""
    theta = np.cumsum(x[:n])
    psi = np.empty(n)
    c = np.empty(n)
    psi[0] = x[n]
    c[0] = 0.999 * x[2 * n] * psi[0]
    for j in range(1, n):
        psi[j] = psi[j - 1] * (1.0 + x[n + j] * (theta[j] / theta[j - 1] - 1.0))
        c[j] = c[j - 1] + x[2 * n + j] * (psi[j] - psi[j - 1])
    return theta, psi, c / psi


def _enforce_butterfly(
    theta: Float64Array, psi: Float64Array, rho: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Scale every slice's (ψ, ρψ) by one factor λ <= 1 so that all butterfly conditions hold.

    ψ(1+|ρ|) scales like λ and ψ²(1+|ρ|) like λ² at fixed ρ and θ, and the calendar
    conditions are homogeneous in (ψ, ρψ), so they survive the scaling.
    """
    one = 1.0 + np.abs(rho)
    lam = min(
        1.0,
        float(np.min(4.0 * _STRICT / (psi * one))),
        float(np.min(np.sqrt(4.0 * theta / (psi * psi * one)))) * _STRICT,
    )
    return psi * lam, rho


def fit_essvi(
    *,
    log_moneyness: ArrayLike,
    t_yr: ArrayLike,
    implied_vol: ArrayLike,
    expiry_index: ArrayLike,
    weights: ArrayLike | None = None,
) -> ESSVIFit:
    """Fit an arbitrage-free eSSVI surface to quotes of several expiries.

    Parameters
    ----------
    log_moneyness, t_yr, implied_vol
        Per quote: k = ln(K/F_T), years to expiry (> 0), target vol (decimal, > 0).
    expiry_index
        Per quote: 0, 1, ... numbering the expiries in time order (each with >= 3 quotes).
    weights
        Per quote: relative weight of the squared vol error (equal if None).

    Returns
    -------
    ESSVIFit
        With ``butterfly_ok()`` and ``calendar_ok()`` true.

    Notes
    -----
    Least squares in vol (scipy's trust-region reflective method) over the increments of θ,
    the first ψ and the steps u of ψ, and the skew steps τ (module docstring). The start is
    the market ATM total variance per expiry, ψ₁ = sqrt(θ₁)/2, u = 1/2 and ρ = -0.3.
    """
    k = np.asarray(log_moneyness, dtype=np.float64).ravel()
    t = np.asarray(t_yr, dtype=np.float64).ravel()
    iv = np.asarray(implied_vol, dtype=np.float64).ravel()
    idx = np.asarray(expiry_index).ravel()
    if not (k.shape == t.shape == iv.shape == idx.shape):
        raise InvalidArgumentError(
            "log_moneyness/t_yr/implied_vol/expiry_index",
            f"lengths {k.size}, {t.size}, {iv.size}, {idx.size}",
            "arrays of one length",
        )
    if idx.dtype.kind not in "iu":
        raise InvalidArgumentError("expiry_index", f"dtype {idx.dtype}", "integer labels")
    if not np.all(np.isfinite(k)):
        raise InvalidArgumentError("log_moneyness", "non-finite values", "finite numbers")
    if not np.all(np.isfinite(t) & (t > 0.0)):
        raise InvalidArgumentError("t_yr", "values <= 0 or non-finite", "times to expiry > 0")
    if not np.all(np.isfinite(iv) & (iv > 0.0)):
        raise InvalidArgumentError("implied_vol", "values <= 0 or non-finite", "vols > 0")
    n = int(idx.max()) + 1 if idx.size else 0
    counts = np.bincount(idx, minlength=n) if n else np.zeros(0, dtype=np.int64)
    if n < 2 or idx.min() < 0 or np.any(counts < 3):
        raise InvalidArgumentError(
            "expiry_index",
            f"{n} expiries with counts {counts.tolist()}",
            "labels 0..n-1, n >= 2 expiries, >= 3 quotes each",
        )
    lam = np.ones_like(k) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if lam.shape != k.shape or not np.all(np.isfinite(lam) & (lam >= 0.0)):
        raise InvalidArgumentError("weights", "weights", "finite, >= 0, one per quote")
    t_exp = np.array([t[idx == e].mean() for e in range(n)])
    if not np.all(np.diff(t_exp) > 0.0):
        raise InvalidArgumentError("expiry_index", "labels", "expiries numbered in time order")
    sqrt_w = np.sqrt(lam / lam.sum())

    atm = np.empty(n)
    for e in range(n):
        on = idx == e
        order = np.argsort(k[on])
        atm[e] = np.interp(0.0, k[on][order], (iv[on] ** 2 * t[on])[order])
    theta0 = np.maximum.accumulate(np.maximum(atm, 1e-10))
    x0 = np.concatenate(
        (np.diff(theta0, prepend=0.0), [0.5 * math.sqrt(theta0[0])], np.full(n - 1, 0.5),
         np.full(n, -0.3))
    )  # fmt: skip
    lower = np.concatenate((np.zeros(2 * n), np.full(n, -1.0)))
    lower[0] = lower[n] = 1e-12
    upper = np.concatenate(([np.inf] * (n + 1), np.ones(n - 1), np.ones(n)))
    x0 = np.clip(x0, lower, upper)

    def residuals(x: Float64Array) -> Float64Array:
        theta, psi, rho = _slices_from(x, n)
        w = essvi_total_variance(k, theta=theta[idx], psi=psi[idx], rho=rho[idx])
        fit_err = sqrt_w * (np.sqrt(np.maximum(w, 1e-300) / t) - iv)
        one = 1.0 + np.abs(rho)
        pen_a = np.maximum(0.0, psi * one - 4.0 * _STRICT)
        pen_b = np.maximum(0.0, psi * psi * one - 4.0 * _STRICT * theta) / theta
        return np.concatenate((fit_err, _PENALTY * pen_a, _PENALTY * pen_b))

    res = least_squares(residuals, x0, bounds=(lower, upper), method="trf", x_scale="jac")
    theta, psi, rho = _slices_from(np.asarray(res.x), n)
    psi, rho = _enforce_butterfly(theta, psi, rho)
    model = np.sqrt(essvi_total_variance(k, theta=theta[idx], psi=psi[idx], rho=rho[idx]) / t)
    err = (model - iv) * 100.0
    w_err = lam * err * err
    rmse = np.sqrt(
        np.bincount(idx, weights=w_err, minlength=n)
        / np.maximum(np.bincount(idx, weights=lam, minlength=n), 1e-300)
    )
    max_err = np.zeros(n)
    np.maximum.at(max_err, idx, np.abs(err))
    return ESSVIFit(
        t_yr=t_exp, theta=theta, psi=psi, rho=rho, rmse_vol_pts=rmse, max_abs_err_vol_pts=max_err
    )
