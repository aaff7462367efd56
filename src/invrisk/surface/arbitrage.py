"""Static-arbitrage diagnostics for volatility surfaces and for quoted prices.

* Butterfly: the Gatheral–Jacquier density g(k) of every slice, and of the interpolated smile
  halfway between consecutive expiries, on a grid reaching well into the wings (minimum and
  where).
* Calendar: total variance must not decrease with maturity at fixed log-moneyness; consecutive
  slices are compared on the grid (smallest difference, where, and how many grid points cross).
* Call prices on the quoted strikes: undiscounted call prices must decrease with strike, stay
  within [max(F - K, 0), F], and be convex in strike.

References: J. Gatheral and A. Jacquier, "Arbitrage-free SVI volatility surfaces", Quantitative
Finance 14 (2014), Lemma 2.2 (butterfly) and Lemma 2.1 (calendar); P. Carr and D. Madan, "A note
on sufficient conditions for no arbitrage", Finance Research Letters 2 (2005) (call spreads and
butterflies on a strike grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.pricing import black76_price
from invrisk.surface.svi import SVIParams, check_grid, svi_w_derivatives
from invrisk.units import ns_to_iso

__all__ = [
    "ArbitrageReport",
    "arbitrage_report",
    "butterfly_density",
    "call_price_violations",
]

_TOL_G = 0.0
"""g below this is butterfly arbitrage (exact: the fit aims at g >= 1e-7)."""
_TOL_W_REL = 1e-12
"""A later slice's total variance below the earlier one's by more than this relative amount is a
calendar crossing (rounding of w itself is ~1e-16 relative; the fit keeps a 1e-8 margin)."""


def butterfly_density(k: ArrayLike, w: ArrayLike, dw: ArrayLike, d2w: ArrayLike) -> Float64Array:
    """Gatheral–Jacquier g(k) from total variance w and its first two k-derivatives.

    g(k) = (1 - k w'/(2w))² - (w'²/4)(1/w + 1/4) + w''/2; a smile is free of butterfly
    arbitrage iff g >= 0 (and its wings obey Lee's bound). Where w <= 0, g is -inf.
    """
    kk, ww, w1, w2 = (np.asarray(a, dtype=np.float64) for a in (k, w, dw, d2w))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 - kk * w1 / (2.0 * ww)) ** 2 - 0.25 * w1 * w1 * (1.0 / ww + 0.25) + 0.5 * w2
    return np.asarray(np.where(ww > 0.0, g, -np.inf))


def call_price_violations(
    strike: ArrayLike, call_price: ArrayLike, forward: float, *, tol: float = 1e-12
) -> dict[str, Any]:
    """Check undiscounted call prices on a strike grid for static arbitrage.

    Parameters
    ----------
    strike
        Strikes, strictly increasing.
    call_price
        Undiscounted call prices (forward measure), same unit as ``forward``.
    forward
        The forward of the expiry.
    tol
        Tolerance relative to the forward.

    Returns
    -------
    dict
        ``bounds`` (prices outside [max(F-K, 0), F]), ``monotonicity`` (call spreads with
        negative value), ``convexity`` (butterflies with negative value, i.e. slopes that
        decrease), each a count, and ``worst`` (the most negative violation / F).
    """
    kk = np.asarray(strike, dtype=np.float64)
    c = np.asarray(call_price, dtype=np.float64)
    if kk.ndim != 1 or kk.shape != c.shape or kk.size < 2:
        raise InvalidArgumentError("strike/call_price", kk.shape, "equal 1-D arrays, >= 2 strikes")
    if not np.all(np.diff(kk) > 0.0):
        raise InvalidArgumentError("strike", "unsorted values", "strictly increasing strikes")
    eps = tol * forward
    lower = np.maximum(forward - kk, 0.0)
    below = lower - c
    above = c - forward
    spread = np.diff(c)  # must be <= 0
    slopes = spread / np.diff(kk)
    convex = np.diff(slopes)  # must be >= 0
    worst = max(
        float(np.max(below, initial=0.0)),
        float(np.max(above, initial=0.0)),
        float(np.max(spread, initial=0.0)),
        float(np.max(-convex * np.diff(kk)[1:], initial=0.0)),
    )
    return {
        "bounds": int(np.sum(below > eps) + np.sum(above > eps)),
        "monotonicity": int(np.sum(spread > eps)),
        "convexity": int(np.sum(convex * np.diff(kk)[1:] < -eps)),
        "worst": worst / forward,
    }


@dataclass(frozen=True, slots=True)
class ArbitrageReport:
    """Result of :func:`arbitrage_report`.

    ``butterfly``: per slice (and per midpoint between slices) the minimum of g, where, and the
    number of grid points with g < 0. ``calendar``: per consecutive pair the smallest
    w(k, T2) - w(k, T1) on the grid, where, and the number of crossing points. ``call_prices``:
    per expiry, :func:`call_price_violations` of the surface's prices on the quoted strikes.
    """

    butterfly: list[dict[str, Any]]
    calendar: list[dict[str, Any]]
    call_prices: list[dict[str, Any]]

    @property
    def butterfly_free(self) -> bool:
        return all(b["negative_points"] == 0 for b in self.butterfly)

    @property
    def calendar_free(self) -> bool:
        return all(c["crossing_points"] == 0 for c in self.calendar)

    @property
    def call_prices_free(self) -> bool:
        return all(
            c["bounds"] == 0 and c["monotonicity"] == 0 and c["convexity"] == 0
            for c in self.call_prices
        )

    @property
    def arbitrage_free(self) -> bool:
        return self.butterfly_free and self.calendar_free and self.call_prices_free

    def as_dict(self) -> dict[str, Any]:
        return {
            "arbitrage_free": self.arbitrage_free,
            "butterfly_free": self.butterfly_free,
            "calendar_free": self.calendar_free,
            "call_prices_free": self.call_prices_free,
            "butterfly": self.butterfly,
            "calendar": self.calendar,
            "call_prices": self.call_prices,
        }


def arbitrage_report(
    surface: Any,
    *,
    quoted_strikes: dict[int, ArrayLike] | None = None,
    n_grid: int = 2401,
) -> ArbitrageReport:
    """Butterfly, calendar and call-price diagnostics of a fitted :class:`VolSurface`.

    Parameters
    ----------
    surface
        A :class:`invrisk.surface.VolSurface`.
    quoted_strikes
        ``{expiry_ns: strikes}`` on which to check the surface's call prices; by default a grid
        of 41 strikes spanning ±3 ATM standard deviations of each expiry.
    n_grid
        Points of the uniform grid over k in [-3, 3] (``invrisk.surface.svi.check_grid``,
        joined with a slice's quoted range where that reaches beyond); a calendar pair is
        compared on the union of both slices' grids.
    """
    slices = surface.slices
    butterfly: list[dict[str, Any]] = []
    calendar: list[dict[str, Any]] = []
    call_prices: list[dict[str, Any]] = []
    grids = [check_grid(s.k_min, s.k_max, n=n_grid) for s in slices]
    for i, s in enumerate(slices):
        w_atm = float(svi_w_derivatives(0.0, s.params)[0])
        sd = math.sqrt(max(w_atm, 0.0))
        grid = grids[i]
        w, w1, w2 = svi_w_derivatives(grid, s.params)
        g = butterfly_density(grid, w, w1, w2)
        butterfly.append(_butterfly_row(ns_to_iso(s.expiry_ns), grid, g))
        if i + 1 < len(slices):
            nxt = slices[i + 1]
            grid = np.union1d(grid, grids[i + 1])
            w, w1, w2 = svi_w_derivatives(grid, s.params)
            wn, wn1, wn2 = svi_w_derivatives(grid, nxt.params)
            diff = wn - w
            j = int(np.argmin(diff))
            calendar.append(
                {
                    "from": ns_to_iso(s.expiry_ns),
                    "to": ns_to_iso(nxt.expiry_ns),
                    "min_w_diff": float(diff[j]),
                    "min_at_k": float(grid[j]),
                    "crossing_points": int(np.sum(diff < -_TOL_W_REL * np.abs(w))),
                }
            )
            label = f"midpoint {ns_to_iso(s.expiry_ns)} / {ns_to_iso(nxt.expiry_ns)}"
            if surface.model == "svi":
                # The interpolated smile halfway in time is the average of the two slices.
                gm = butterfly_density(grid, 0.5 * (w + wn), 0.5 * (w1 + wn1), 0.5 * (w2 + wn2))
            else:
                # (e)SSVI: halfway, the smile is the (e)SSVI slice of the interpolated parameters.
                mid = _interpolated_slice(surface, i, 0.5)
                gm = butterfly_density(grid, *svi_w_derivatives(grid, mid))
            butterfly.append(_butterfly_row(label, grid, gm))
        strikes = None if quoted_strikes is None else quoted_strikes.get(s.expiry_ns)
        if strikes is None:
            strikes = s.forward_usd * np.exp(np.linspace(-3.0 * sd, 3.0 * sd, 41))
        kq = np.unique(np.asarray(strikes, dtype=np.float64))
        if kq.size >= 3:
            vol = np.sqrt(svi_w_derivatives(np.log(kq / s.forward_usd), s.params)[0] / s.t_yr)
            c = np.asarray(
                black76_price(
                    forward=s.forward_usd, strike=kq, t_yr=s.t_yr, vol=vol, option_type="call"
                )
            )
            row = call_price_violations(kq, c, s.forward_usd)
            row["expiry"] = ns_to_iso(s.expiry_ns)
            row["strikes"] = int(kq.size)
            call_prices.append(row)
    return ArbitrageReport(butterfly=butterfly, calendar=calendar, call_prices=call_prices)


def _interpolated_slice(surface: Any, i: int, lam: float) -> SVIParams:
    """The (e)SSVI slice a fraction ``lam`` of the way from expiry i to i + 1, as raw SVI.

    Mirrors the evaluation kernel: θ (and for eSSVI ψ and ρψ) linear in time; for power-law
    SSVI, ψ = θφ(θ) with the global (ρ, η, γ).
    """
    a, b = surface.slices[i].params, surface.slices[i + 1].params
    theta_a, theta_b = (float(svi_w_derivatives(0.0, p)[0]) for p in (a, b))
    theta = theta_a + lam * (theta_b - theta_a)
    if surface.model == "ssvi":
        g = surface.ssvi_params
        rho = g["rho"]
        psi = theta * g["eta"] * theta ** (-g["gamma"]) * (1.0 + theta) ** (g["gamma"] - 1.0)
    else:
        psi = 2.0 * (a.b + lam * (b.b - a.b))
        c = 2.0 * (a.b * a.rho + lam * (b.b * b.rho - a.b * a.rho))
        rho = c / psi
    return SVIParams(
        a=0.5 * theta * (1.0 - rho * rho),
        b=0.5 * psi,
        rho=rho,
        m=-rho * theta / psi,
        sigma=math.sqrt(1.0 - rho * rho) * theta / psi,
    )


def _butterfly_row(label: str, grid: Float64Array, g: Float64Array) -> dict[str, Any]:
    j = int(np.argmin(g))
    return {
        "expiry": label,
        "g_min": float(g[j]),
        "g_min_k": float(grid[j]),
        "negative_points": int(np.sum(g < _TOL_G)),
    }
