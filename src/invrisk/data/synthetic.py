"""Synthetic Deribit-style option chains on a known smile, for demos and round-trip tests.

The chain is generated from a volatility smile that is fully specified by its parameters, so
whatever is computed from the chain (implied vols, a fitted surface, Greeks) can be checked
against the truth. Prices are made exactly as Deribit quotes coin-settled options: the Black-76
USD value on the expiry's forward divided by the forward, in coin, bid and ask rounded outward
to the tick.

The built-in smile is raw SVI per expiry (Gatheral 2004) in total implied variance
w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)), k = ln(K/F), with ATM total variance
from a term structure of ATM vols. The defaults give a mild put skew and wings whose slope in
total variance grows with the ATM vol, roughly the shape of a BTC chain.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from invrisk._typing import Float64Array
from invrisk.data.chains import OptionChain
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import OptionRight, format_deribit, parse_deribit
from invrisk.pricing import black76, deribit_greeks, implied_vol_coin
from invrisk.units import NS_PER_DAY, NS_PER_HOUR, to_ns, year_fraction

__all__ = ["SmileSpec", "smile_vol", "synthetic_chain"]

_DEFAULT_VALUATION = "2026-01-02T12:00:00Z"
_DEFAULT_DAYS = (1, 2, 7, 14, 28, 56, 91, 182, 364)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmileSpec:
    """Parameters of the built-in smile (every expiry shares the shape, ATM vol varies).

    Attributes
    ----------
    atm_vol_short, atm_vol_long
        ATM implied vol (decimal) at 1 day and at 1 year; in between the ATM total variance
        interpolates so that the ATM vol moves linearly in sqrt(T) (log-spaced term structure).
    skew
        SVI ``rho`` in (-1, 1): negative gives a put skew.
    wing
        SVI ``b`` per unit of ATM vol and sqrt-year (b = wing * atm_vol * sqrt(T)): the wings'
        slope in total variance. Measured in standard deviations, the smile then keeps a similar
        shape across expiries, and short expiries have the steeper smiles in log-moneyness that
        crypto chains show.
    curvature
        SVI ``sigma`` at one year (> 0); scaled by sqrt(T).
    """

    atm_vol_short: float = 0.55
    atm_vol_long: float = 0.62
    skew: float = -0.25
    wing: float = 0.25
    curvature: float = 0.25

    def __post_init__(self) -> None:
        for name in ("atm_vol_short", "atm_vol_long", "wing", "curvature"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise InvalidArgumentError(name, value, "a finite number > 0")
        if not -1.0 < self.skew < 1.0:
            raise InvalidArgumentError("skew", self.skew, "a number in (-1, 1)")


def smile_vol(spec: SmileSpec, *, log_moneyness: Float64Array, t_yr: Float64Array) -> Float64Array:
    """Implied vol of the built-in smile at k = ln(K/F) and T (years, > 0)."""
    k = np.asarray(log_moneyness, dtype=np.float64)
    t = np.asarray(t_yr, dtype=np.float64)
    if np.any(~(t > 0.0)):
        raise InvalidArgumentError("t_yr", t_yr, "times to expiry > 0")
    # ATM vol linear in sqrt(T) between the 1-day and 1-year values (extrapolated flat).
    u = np.clip((np.sqrt(t) - math.sqrt(1 / 365)) / (1.0 - math.sqrt(1 / 365)), 0.0, 1.0)
    atm = spec.atm_vol_short + (spec.atm_vol_long - spec.atm_vol_short) * u
    w_atm = atm * atm * t
    sig = spec.curvature * np.sqrt(t)
    b = spec.wing * atm * np.sqrt(t)
    rho = spec.skew
    # Choose a so that w(0) = w_atm exactly (m = 0).
    a = w_atm - b * sig
    w = a + b * (rho * k + np.sqrt(k * k + sig * sig))
    return np.asarray(np.sqrt(w / t), dtype=np.float64)


def synthetic_chain(
    *,
    currency: str = "BTC",
    index_usd: float = 90_000.0,
    valuation_ns: int | None = None,
    expiry_days: tuple[int, ...] = _DEFAULT_DAYS,
    basis_per_yr: float = 0.06,
    strikes_per_expiry: int = 21,
    spec: SmileSpec | None = None,
    half_spread_vol: float = 0.01,
) -> OptionChain:
    """A Deribit-style coin-settled chain priced on the built-in smile.

    Parameters
    ----------
    currency
        ``"BTC"`` or ``"ETH"`` (Deribit inverse options, tick 0.0001 coin).
    index_usd
        Spot index (USD), > 0.
    valuation_ns
        Valuation time (int ns UTC); default 2026-01-02T12:00Z.
    expiry_days
        Expiries as whole days after the valuation date, each at 08:00 UTC.
    basis_per_yr
        Annualised futures basis: forward = index · exp(basis · T).
    strikes_per_expiry
        Strikes per expiry (odd numbers centre one on the forward), >= 3; spaced evenly in
        log-moneyness over ±2.5 ATM standard deviations and rounded to Deribit-like increments.
    spec
        Smile parameters (:class:`SmileSpec` defaults if None).
    half_spread_vol
        Half bid-ask spread in vol (decimal); bid and ask are then rounded outward to the tick.

    Returns
    -------
    OptionChain
        Calls and puts on every strike. ``mark_iv`` is the smile's vol and ``mark_coin`` its
        price (unrounded, as Deribit's mark); ``bid_iv``/``ask_iv`` are the IVs of the rounded
        quotes; the Greeks columns are in Deribit's units at the mark.
    """
    if currency not in ("BTC", "ETH"):
        raise InvalidArgumentError("currency", currency, "'BTC' or 'ETH'")
    if not (math.isfinite(index_usd) and index_usd > 0.0):
        raise InvalidArgumentError("index_usd", index_usd, "a finite price > 0")
    if strikes_per_expiry < 3:
        raise InvalidArgumentError("strikes_per_expiry", strikes_per_expiry, "an integer >= 3")
    if not expiry_days or any(int(d) < 1 for d in expiry_days):
        raise InvalidArgumentError("expiry_days", expiry_days, "whole days >= 1")
    if not (half_spread_vol >= 0.0 and math.isfinite(half_spread_vol)):
        raise InvalidArgumentError("half_spread_vol", half_spread_vol, "a finite number >= 0")
    spec = spec or SmileSpec()
    now_ns = to_ns(_DEFAULT_VALUATION) if valuation_ns is None else int(valuation_ns)
    midnight = now_ns - now_ns % NS_PER_DAY
    template = parse_deribit(f"{currency}-27JUN25-60000-C")
    tick = template.tick_size

    names: list[str] = []
    expiries: list[int] = []
    strikes: list[float] = []
    rights: list[int] = []
    for days in sorted({int(d) for d in expiry_days}):
        expiry_ns = midnight + days * NS_PER_DAY + 8 * NS_PER_HOUR
        t = year_fraction(now_ns, expiry_ns)
        fwd = index_usd * math.exp(basis_per_yr * t)
        atm = float(smile_vol(spec, log_moneyness=np.zeros(1), t_yr=np.full(1, t))[0])
        width = 2.5 * atm * math.sqrt(t)
        step = _strike_step(fwd * (math.exp(width) - 1.0) / (strikes_per_expiry // 2))
        grid = np.exp(np.linspace(-width, width, strikes_per_expiry)) * fwd
        for strike in sorted({max(step, round(k / step) * step) for k in grid}):
            for right in (OptionRight.CALL, OptionRight.PUT):
                inst = dataclasses.replace(
                    template, expiry_ns=expiry_ns, strike=float(strike), right=right
                )
                names.append(format_deribit(inst))
                expiries.append(expiry_ns)
                strikes.append(float(strike))
                rights.append(int(right))

    n = len(names)
    expiry_arr = np.asarray(expiries, dtype=np.int64)
    strike_arr = np.asarray(strikes)
    right_arr = np.asarray(rights, dtype=np.int8)
    t_arr = np.asarray(year_fraction(np.full(n, now_ns), expiry_arr), dtype=np.float64)
    fwd_arr = index_usd * np.exp(basis_per_yr * t_arr)
    vol = smile_vol(spec, log_moneyness=np.log(strike_arr / fwd_arr), t_yr=t_arr)
    cp = right_arr.astype(np.float64)

    def coin(v: Float64Array) -> Float64Array:
        g = black76(forward=fwd_arr, strike=strike_arr, t_yr=t_arr, vol=v, option_type=cp)
        return np.asarray(g.price) / fwd_arr

    mark = coin(vol)
    bid = np.floor(coin(np.maximum(vol - half_spread_vol, 0.0)) / tick) * tick
    ask = np.ceil(coin(vol + half_spread_vol) / tick) * tick
    bid = np.where(bid >= tick, bid, np.nan)  # Deribit shows no bid below one tick
    ask = np.maximum(ask, tick)
    bid_iv = implied_vol_coin(
        price_coin=bid, forward=fwd_arr, strike=strike_arr, t_yr=t_arr, option_type=cp
    ).vol
    ask_iv = implied_vol_coin(
        price_coin=ask, forward=fwd_arr, strike=strike_arr, t_yr=t_arr, option_type=cp
    ).vol
    g = deribit_greeks(forward=fwd_arr, strike=strike_arr, t_yr=t_arr, vol=vol, option_type=cp)
    size = np.full(n, 10.0)
    return OptionChain(
        instrument=np.asarray(names, dtype=object),
        currency=np.full(n, currency, dtype=object),
        expiry_ns=expiry_arr,
        strike=strike_arr,
        right=right_arr,
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=mark,
        bid_qty=np.where(np.isnan(bid), np.nan, size),
        ask_qty=size,
        forward_usd=fwd_arr,
        index_usd=np.full(n, index_usd),
        valuation_ns=np.full(n, now_ns, dtype=np.int64),
        t_yr=t_arr,
        mark_iv=vol,
        bid_iv=np.asarray(bid_iv),
        ask_iv=np.asarray(ask_iv),
        delta=np.asarray(g.delta),
        gamma=np.asarray(g.gamma),
        vega=np.asarray(g.vega),
        theta=np.asarray(g.theta),
        rho=np.asarray(g.rho),
        source="synthetic",
        format="synthetic",
    )


def _strike_step(raw: float) -> float:
    """A Deribit-like strike increment: 1, 2.5 or 5 times a power of ten, at least ``raw``/2."""
    if raw <= 0.0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.5, 5.0, 10.0):
        if mult * power >= 0.5 * raw:
            return mult * power
    return 10.0 * power
