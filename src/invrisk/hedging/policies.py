"""Dynamic delta-hedging policies with transaction costs, and their closed-form ingredients.

A policy decides, at each rebalancing time, the new hedge holding ``h`` (units of the
underlying) given the current holding, the Black–Scholes delta of the book to offset and its
gamma. Four policies:

- :class:`FixedInterval` — rebalance to the delta every ``every`` steps (and only then).
- :class:`FixedBand` — rebalance when ``|h − Δ|`` exceeds a fixed ``half_width`` (to the delta,
  or to the nearest band edge).
- :class:`WhalleyWilmott` — the asymptotically optimal no-trade band of Whalley & Wilmott
  (1997, "An asymptotic analysis of an optimal hedging model for option pricing with
  transaction costs", Math. Finance 7(3)), ``Δ ± H`` with
  ``H = ((3/2) e^{−r(T−t)} λ S Γ² / γ)^{1/3}`` for a proportional cost ``λ`` (fraction of the
  traded notional) and absolute risk aversion ``γ``; trades go to the nearest band edge.
- :class:`LelandDelta` — rebalance to the delta computed with Leland's (1985, "Option pricing
  and replication with transactions costs", J. Finance 40(5)) adjusted volatility
  ``σ̂² = σ²(1 ± Le)``, ``Le = sqrt(2/π) k / (σ sqrt(δt))``, ``k`` the round-trip cost as a
  fraction of notional (``2 λ``), ``+`` for a short option position (the hedger buys high and
  sells low more often than the frictionless delta assumes), ``δt`` the rebalancing interval.

Units: ``cost_rate`` is λ, the one-way proportional cost (0.001 = 10 bp of the traded
notional); ``risk_aversion`` γ is per unit of P&L (1 / USD for a USD P&L); time to expiry in
years (ACT/365).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = [
    "FixedBand",
    "FixedInterval",
    "HedgePolicy",
    "LelandDelta",
    "WhalleyWilmott",
    "leland_number",
    "leland_vol",
    "whalley_wilmott_half_band",
]


def _positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(
            name, value, "a finite number" + (" >= 0" if allow_zero else " > 0")
        )
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or (v == 0.0 and not allow_zero):
        raise InvalidArgumentError(
            name, value, "a finite number" + (" >= 0" if allow_zero else " > 0")
        )
    return v


def whalley_wilmott_half_band(
    *,
    spot: ArrayLike,
    gamma: ArrayLike,
    cost_rate: float,
    risk_aversion: float,
    rate: float = 0.0,
    tau_yr: ArrayLike = 0.0,
) -> Float64Array:
    """Whalley–Wilmott half-width ``H = ((3/2) e^{−r τ} λ S Γ² / γ)^{1/3}`` (units of the
    underlying held).

    ``gamma`` is the Black–Scholes gamma of the book being hedged (per unit of the underlying
    squared), ``tau_yr`` the time to expiry (only the discount factor uses it).

    Examples
    --------
    The worked value of the issue (S = K = 100, T = 0.25, σ = 0.2, r = 0, λ = 1e-3, γ = 1):
    Γ = φ(0.05) / (100 · 0.2 · 0.5) = 0.039844, H = 0.0620.

    >>> round(float(whalley_wilmott_half_band(spot=100.0, gamma=0.0398444, cost_rate=1e-3,
    ...                                       risk_aversion=1.0)), 4)
    0.062
    """
    lam = _positive("cost_rate", cost_rate, allow_zero=True)
    g = _positive("risk_aversion", risk_aversion)
    s = np.asarray(spot, dtype=np.float64)
    gm = np.asarray(gamma, dtype=np.float64)
    tau = np.asarray(tau_yr, dtype=np.float64)
    disc = np.exp(-float(rate) * tau)
    return np.asarray(np.cbrt(1.5 * disc * lam * s * gm * gm / g))


def leland_number(*, vol: float, round_trip_cost: float, dt_yr: float) -> float:
    """Leland's number ``Le = sqrt(2/π) k / (σ sqrt(δt))``."""
    v = _positive("vol", vol)
    k = _positive("round_trip_cost", round_trip_cost, allow_zero=True)
    dt = _positive("dt_yr", dt_yr)
    return math.sqrt(2.0 / math.pi) * k / (v * math.sqrt(dt))


def leland_vol(*, vol: float, round_trip_cost: float, dt_yr: float, short: bool = True) -> float:
    """Leland's adjusted volatility ``σ sqrt(1 ± Le)`` (+ for a short option position).

    Raises :class:`~invrisk.errors.InvalidArgumentError` for a long position whose ``Le >= 1``
    (no real adjusted volatility: the costs exceed what the frictionless hedge earns).
    """
    le = leland_number(vol=vol, round_trip_cost=round_trip_cost, dt_yr=dt_yr)
    factor = 1.0 + le if short else 1.0 - le
    if factor <= 0.0:
        raise InvalidArgumentError(
            "round_trip_cost", round_trip_cost, f"a cost giving Leland's number < 1 (got {le:.3g})"
        )
    return float(vol) * math.sqrt(factor)


class HedgePolicy(Protocol):
    """Decides the new hedge holdings of all paths at one step (vectorised over paths)."""

    @property
    def name(self) -> str:
        """A short label for reports."""
        ...

    def rebalance(
        self,
        *,
        step: int,
        holding: Float64Array,
        delta: Float64Array,
        gamma: Float64Array,
        spot: Float64Array,
        tau_yr: float,
    ) -> Float64Array:
        """New holdings (units of the underlying) given the current ones and the book's delta
        to offset (already signed: the holding that would make the book delta-neutral)."""
        ...

    def pricing_vol(self, vol: float, *, dt_yr: float, short: bool) -> float:
        """The volatility the policy computes its deltas with (the pricing vol by default)."""
        ...


def _to_target(
    holding: Float64Array, target: Float64Array, half: Float64Array, mode: str
) -> Float64Array:
    """Inside the band keep ``holding``; outside move to ``target`` or to the nearest edge."""
    gap = holding - target
    out = np.abs(gap) > half
    if mode == "delta":
        return np.where(out, target, holding)
    return np.where(out, target + np.sign(gap) * half, holding)


@dataclass(frozen=True, slots=True)
class FixedInterval:
    """Rebalance to the delta every ``every`` steps (1 = every step)."""

    every: int = 1
    name: str = "fixed_interval"

    def __post_init__(self) -> None:
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise InvalidArgumentError("every", self.every, "an integer >= 1")

    def rebalance(
        self,
        *,
        step: int,
        holding: Float64Array,
        delta: Float64Array,
        gamma: Float64Array,
        spot: Float64Array,
        tau_yr: float,
    ) -> Float64Array:
        return delta.copy() if step % self.every == 0 else holding

    def pricing_vol(self, vol: float, *, dt_yr: float, short: bool) -> float:
        return vol


@dataclass(frozen=True, slots=True)
class FixedBand:
    """Rebalance when ``|holding − Δ| > half_width`` units, to the delta or the band edge."""

    half_width: float
    to: Literal["delta", "edge"] = "delta"
    name: str = "fixed_band"

    def __post_init__(self) -> None:
        _positive("half_width", self.half_width, allow_zero=True)
        if self.to not in ("delta", "edge"):
            raise InvalidArgumentError("to", self.to, "'delta' or 'edge'")

    def rebalance(
        self,
        *,
        step: int,
        holding: Float64Array,
        delta: Float64Array,
        gamma: Float64Array,
        spot: Float64Array,
        tau_yr: float,
    ) -> Float64Array:
        half = np.full(delta.shape, float(self.half_width))
        return _to_target(holding, delta, half, self.to)

    def pricing_vol(self, vol: float, *, dt_yr: float, short: bool) -> float:
        return vol


@dataclass(frozen=True, slots=True)
class WhalleyWilmott:
    """The Whalley–Wilmott band ``Δ ± H(S, Γ)``; trades go to the nearest edge.

    ``cost_rate`` λ (one-way, fraction of notional), ``risk_aversion`` γ (per unit of P&L),
    ``rate`` the discount rate of the band formula.
    """

    cost_rate: float
    risk_aversion: float
    rate: float = 0.0
    name: str = "whalley_wilmott"

    def __post_init__(self) -> None:
        _positive("cost_rate", self.cost_rate, allow_zero=True)
        _positive("risk_aversion", self.risk_aversion)

    def rebalance(
        self,
        *,
        step: int,
        holding: Float64Array,
        delta: Float64Array,
        gamma: Float64Array,
        spot: Float64Array,
        tau_yr: float,
    ) -> Float64Array:
        half = whalley_wilmott_half_band(
            spot=spot,
            gamma=gamma,
            cost_rate=self.cost_rate,
            risk_aversion=self.risk_aversion,
            rate=self.rate,
            tau_yr=tau_yr,
        )
        return _to_target(holding, delta, half, "edge")

    def pricing_vol(self, vol: float, *, dt_yr: float, short: bool) -> float:
        return vol


@dataclass(frozen=True, slots=True)
class LelandDelta:
    """Rebalance every ``every`` steps to the delta at Leland's adjusted volatility.

    ``round_trip_cost`` is Leland's ``k`` (twice the one-way cost rate); the adjustment uses
    the rebalancing interval ``every · dt``.
    """

    round_trip_cost: float
    every: int = 1
    name: str = "leland"

    def __post_init__(self) -> None:
        _positive("round_trip_cost", self.round_trip_cost, allow_zero=True)
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise InvalidArgumentError("every", self.every, "an integer >= 1")

    def rebalance(
        self,
        *,
        step: int,
        holding: Float64Array,
        delta: Float64Array,
        gamma: Float64Array,
        spot: Float64Array,
        tau_yr: float,
    ) -> Float64Array:
        return delta.copy() if step % self.every == 0 else holding

    def pricing_vol(self, vol: float, *, dt_yr: float, short: bool) -> float:
        return leland_vol(
            vol=vol, round_trip_cost=self.round_trip_cost, dt_yr=self.every * dt_yr, short=short
        )
