"""Coin-settled (inverse) options, as listed on Deribit: prices in coin, Greeks in coin and USD.

A Deribit BTC option on one BTC pays max(S_T - K, 0) / S_T BTC (call) or max(K - S_T, 0) / S_T
BTC (put) at expiry, and its premium is paid in BTC at the trade. Its value in coin is the
Black-76 USD value divided by the forward, C = V / F, i.e. N(d1) - (K/F) N(d2) for a call
(Deribit's documented pricing, with r = 0 and F the ``underlying_price`` of the expiry).

Sensitivities come in two currencies, and the conversion is explicit:

* USD Greeks are the Black-76 Greeks of V = C·F (``CoinGreeks.usd``): what Deribit reports.
* Coin Greeks are the derivatives of C itself (``*_coin`` fields): what a coin-margined account
  experiences, since its equity is counted in coin.
* The premium-adjusted delta ``delta - C`` is F·dC/dF: the number of coins of underlying that
  hedge the option's coin value. Deribit calls it the "net transaction delta".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrisk._typing import ArrayLike, FloatOrArray
from invrisk.pricing._validate import as_checked_float, check_shapes
from invrisk.pricing.black import Backend, Greeks, black76
from invrisk.units import DAYS_PER_YEAR

__all__ = [
    "CoinGreeks",
    "DeribitGreeks",
    "coin_greeks",
    "coin_price",
    "deribit_greeks",
    "deribit_theta_per_day",
]


def _f(x: FloatOrArray) -> FloatOrArray:
    return float(x) if np.ndim(x) == 0 else x


@dataclass(frozen=True, slots=True)
class CoinGreeks:
    """Value and Greeks of coin-settled options, in coin and in USD.

    Attributes
    ----------
    price_coin
        C = V/F, coin per option (per one coin of notional).
    delta_coin
        dC/dF, coin per USD of forward move.
    gamma_coin
        d²C/dF², coin per USD².
    vega_coin
        dC/dσ, coin per 1.0 of volatility.
    theta_coin
        -dC/dT, coin per year, forward fixed.
    vanna_coin, volga_coin
        d²C/dF dσ and d²C/dσ².
    delta_premium_adjusted
        F·dC/dF = delta - C, dimensionless (coins of underlying per coin of notional):
        Deribit's "net transaction delta".
    usd
        Black-76 Greeks of the USD value V = C·F (Deribit's reporting basis), with ``rate``.
    """

    price_coin: FloatOrArray
    delta_coin: FloatOrArray
    gamma_coin: FloatOrArray
    vega_coin: FloatOrArray
    theta_coin: FloatOrArray
    vanna_coin: FloatOrArray
    volga_coin: FloatOrArray
    delta_premium_adjusted: FloatOrArray
    usd: Greeks


def coin_price(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike = 0.0,
    backend: Backend = "numba",
) -> FloatOrArray:
    """Price in coin of coin-settled options: Black-76 USD value / forward.

    Examples
    --------
    Deribit, BTC-26JUN20-8000-C at 2020-05-14 05:41:37.494 UTC, forward 9359.92 USD, mark_iv
    90.26%: Deribit's mark price is 0.20112115 BTC (``btc_options_ticker_2020-05-14.csv``,
    row 2; the mark IV is rounded to 0.01 vol points, hence 5 decimals here).

    >>> from invrisk.units import to_ns, year_fraction
    >>> t = year_fraction(1589434897494 * 1_000_000, to_ns("2020-06-26T08:00:00Z"))
    >>> round(coin_price(forward=9359.92, strike=8000.0, t_yr=t, vol=0.9026,
    ...                  option_type="call"), 5)
    0.20112
    """
    g = coin_greeks(
        forward=forward,
        strike=strike,
        t_yr=t_yr,
        vol=vol,
        option_type=option_type,
        rate=rate,
        backend=backend,
    )
    return g.price_coin


def coin_greeks(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    rate: ArrayLike = 0.0,
    backend: Backend = "numba",
) -> CoinGreeks:
    """Greeks of coin-settled options in coin and USD; arguments as in :func:`black76`.

    Notes
    -----
    With C = V/F: dC/dF = (Δ - C)/F, d²C/dF² = Γ/F - 2(Δ - C)/F², dC/dσ = vega/F,
    -dC/dT = θ/F, d²C/dFdσ = vanna/F - vega/F², d²C/dσ² = volga/F.
    """
    f = as_checked_float("forward", forward, lower=0.0)
    g = black76(
        forward=f,
        strike=strike,
        t_yr=t_yr,
        vol=vol,
        option_type=option_type,
        rate=rate,
        backend=backend,
    )
    price = np.asarray(g.price)
    delta = np.asarray(g.delta)
    fwd = np.broadcast_to(f, price.shape)
    c = price / fwd
    delta_pa = delta - c
    delta_coin = delta_pa / fwd
    return CoinGreeks(
        price_coin=_f(c),
        delta_coin=_f(delta_coin),
        gamma_coin=_f(np.asarray(g.gamma) / fwd - 2.0 * delta_coin / fwd),
        vega_coin=_f(np.asarray(g.vega) / fwd),
        theta_coin=_f(np.asarray(g.theta) / fwd),
        vanna_coin=_f(np.asarray(g.vanna) / fwd - np.asarray(g.vega) / fwd**2),
        volga_coin=_f(np.asarray(g.volga) / fwd),
        delta_premium_adjusted=_f(delta_pa),
        usd=g,
    )


@dataclass(frozen=True, slots=True)
class DeribitGreeks:
    """Greeks in exactly Deribit's reporting units (the ``greeks`` object of its ticker).

    Attributes
    ----------
    delta
        Black-76 delta on the forward, dimensionless, not premium-adjusted.
    gamma
        Per USD (d delta / dF).
    vega
        USD per volatility point (0.01).
    theta
        USD per calendar day in Deribit's convention (:func:`deribit_theta_per_day`): the
        analytic θ/365, except that within a day of expiry the decay is θ times the time left,
        and the reported loss never exceeds the option's value.
    theta_analytic
        USD per calendar day, θ/365 with θ = -dV/dT (equal to ``theta`` for most options more
        than a day from expiry).
    rho
        USD per rate point (0.01), Deribit's rate sensitivity at a fixed index:
        ω K T N(ω d2) / 100.
    delta_premium_adjusted
        delta - price in coin (Deribit's "net transaction delta" shown for positions).
    price_coin
        Value in coin (Deribit's mark price at the mark IV).
    """

    delta: FloatOrArray
    gamma: FloatOrArray
    vega: FloatOrArray
    theta: FloatOrArray
    theta_analytic: FloatOrArray
    rho: FloatOrArray
    delta_premium_adjusted: FloatOrArray
    price_coin: FloatOrArray


def deribit_theta_per_day(*, theta: ArrayLike, price: ArrayLike, t_yr: ArrayLike) -> FloatOrArray:
    """Deribit's reported theta (USD per day) from the analytic theta (per year) and value.

    ``max(theta * min(t_yr, 1/365), -price)``: the linear decay over one day, or over the time
    left when less than a day remains, and never a loss larger than the option's whole value.

    Notes
    -----
    Deribit documents its theta as the value lost per day; it does not publish how it treats
    the last day. This rule was read off Deribit's own numbers: on the 636 BTC options of
    ``deribit_ticker_greeks_2020-05`` it reproduces the exchange's theta to a median relative
    error of 5.9e-4 within 3 days of expiry (where the analytic θ/365 is off by up to a factor of
    ten) and of 5.6e-5 beyond. What remains is rounding (Greeks to 5 decimals, mark IV to 0.01
    points) and timing: Deribit evaluates its Greeks at a whole minute, not at the row's
    timestamp (see ``tests/reference/README.md`` and ``tests/pricing/test_deribit_reference.py``).
    """
    th = as_checked_float("theta", theta)
    v = as_checked_float("price", price, lower=0.0, strict=False)
    t = as_checked_float("t_yr", t_yr)
    check_shapes(theta=th, price=v, t_yr=t)
    out = np.maximum(th * np.minimum(t, 1.0 / DAYS_PER_YEAR), -v)
    return _f(out)


def deribit_greeks(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t_yr: ArrayLike,
    vol: ArrayLike,
    option_type: object,
    backend: Backend = "numba",
) -> DeribitGreeks:
    """Greeks in Deribit's units from the forward (``underlying_price``) and a vol (decimal).

    Deribit computes its Greeks with Black-76 on the expiry's forward and r = 0, time in years
    of 365 days to 08:00 UTC on the expiry date.

    Notes
    -----
    Theta: Deribit's theta is the analytic θ/365 except near expiry and for options worth less
    than a day of decay; ``theta`` follows Deribit's convention (:func:`deribit_theta_per_day`)
    and ``theta_analytic`` is θ/365.

    Examples
    --------
    Deribit, BTC-26JUN20-8000-C at 2020-05-14 05:41:37.494 UTC, forward 9359.92, mark_iv
    90.26%; Deribit reports delta 0.74578, vega 10.31091 USD/vol pt, theta -10.7973 USD/day
    (file ``btc_options_ticker_2020-05-14.csv``, row 2).

    >>> from invrisk.units import to_ns, year_fraction
    >>> t = year_fraction(1589434897494 * 1_000_000, to_ns("2020-06-26T08:00:00Z"))
    >>> g = deribit_greeks(forward=9359.92, strike=8000.0, t_yr=t, vol=0.9026,
    ...                    option_type="call")
    >>> round(g.delta, 5), round(g.vega, 3), round(g.theta, 2)
    (0.74578, 10.311, -10.8)
    """
    f = as_checked_float("forward", forward, lower=0.0)
    cg = coin_greeks(
        forward=f, strike=strike, t_yr=t_yr, vol=vol, option_type=option_type, backend=backend
    )
    g = cg.usd
    # Deribit's rho holds the index fixed, so the forward moves with the rate: the BSM rho,
    # which at r = 0 is ω K T N(ω d2) = T (F·delta - V).
    t = np.asarray(as_checked_float("t_yr", t_yr))
    t_pos = np.where(t > 0.0, t, 0.0)
    rho = t_pos * (f * np.asarray(g.delta) - np.asarray(g.price)) * 0.01
    return DeribitGreeks(
        delta=g.delta,
        gamma=g.gamma,
        vega=_f(np.asarray(g.vega) * 0.01),
        theta=deribit_theta_per_day(theta=g.theta, price=g.price, t_yr=t_pos),
        theta_analytic=_f(np.asarray(g.theta) / DAYS_PER_YEAR),
        rho=_f(np.broadcast_to(rho, np.shape(g.price))),
        delta_premium_adjusted=cg.delta_premium_adjusted,
        price_coin=cg.price_coin,
    )
