"""Choosing a Uniswap v3 range: expected fees minus expected LVR for a given volatility.

Model
-----
* The price follows GBM with volatility σ (annualised) and drift μ (0 by default) from P_0.
* Capital ``capital_quote`` (quote units) is deposited at P_0 in [p_a, p_b]; the liquidity is
  L = capital / V_1(P_0), V_1 the value of one unit of liquidity (:mod:`.v3`).
* **Fee model**: while the price is inside [p_a, p_b], the pool trades ``volume_quote_per_yr``
  (quote units per year, fee-paying input volume) and charges ``fee_rate`` on it; the position
  receives the share L/(L + L_pool) of those fees, L_pool being the other LPs' liquidity
  active around the price (human units, held constant). Outside the range it earns nothing.
  Expected fees = fee_rate · volume · L/(L + L_pool) · E[time in range].
* **LVR** (:mod:`.lvr`): E[∫_0^T ℓ(P_t) dt], ℓ = σ²L√P/4 in range.

The objective, expected fees - expected LVR, is the expected P&L of the LP hedged against the
rebalancing portfolio (delta-hedged, before hedging costs), the quantity Milionis et al. argue
an LP should compare with zero. Narrow ranges buy a larger fee share with more LVR per unit of
capital and less time in range; wide ranges the opposite. The pool's own profitability per unit
of liquidity, fee_rate·volume/L_pool against σ²√P/4, decides whether any range earns money.

Not modelled: volume that depends on volatility or on the price, the position's own price
impact, just-in-time liquidity, gas, rebalancing of the range, and the time value of money.

References
----------
J. Milionis, C. C. Moallemi, T. Roughgarden, A. L. Zhang, arXiv:2208.06046 (2022), §4-5.
H. Adams et al., "Uniswap v3 Core" (2021), §6 (fees pro rata to in-range liquidity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from invrisk._typing import ArrayLike, Float64Array, FloatOrArray
from invrisk.amm._checks import broadcast_shape, out, positive_scalar
from invrisk.amm.lvr import (
    _range_moments,
    _scalar_drift,
    _scalar_vol,
    _time_grid,
    _time_in_range,
)
from invrisk.amm.v3 import _amounts, _position_inputs
from invrisk.errors import InvalidArgumentError

__all__ = ["RangeChoice", "RangeEconomics", "optimal_range", "range_economics"]

_GRID_POINTS = 33


@dataclass(frozen=True, slots=True)
class RangeEconomics:
    """Expected economics of ranges over the horizon (one element per range).

    Attributes
    ----------
    price_lower, price_upper
        The range, quote per risky.
    liquidity
        L bought by the capital at P_0 (human units).
    fee_share
        L/(L + L_pool), the share of the pool's fees while in range.
    expected_time_in_range_yr
        E[∫ 1{P_t in range} dt], years.
    prob_in_range_at_horizon
        P(P_T in range).
    expected_fees_quote, expected_lvr_quote
        Over the horizon, quote units.
    expected_net_quote
        Fees - LVR, quote units.
    break_even_fee_rate
        The fee tier at which expected fees equal expected LVR (inf when the range earns no
        fees but has LVR, 0 when it has neither).
    """

    price_lower: FloatOrArray
    price_upper: FloatOrArray
    liquidity: FloatOrArray
    fee_share: FloatOrArray
    expected_time_in_range_yr: FloatOrArray
    prob_in_range_at_horizon: FloatOrArray
    expected_fees_quote: FloatOrArray
    expected_lvr_quote: FloatOrArray
    expected_net_quote: FloatOrArray
    break_even_fee_rate: FloatOrArray


@dataclass(frozen=True, slots=True)
class RangeChoice:
    """The range that maximizes expected fees - LVR, with its economics.

    Attributes
    ----------
    economics
        :class:`RangeEconomics` of the chosen range (scalars).
    log_width_lower, log_width_upper
        ln(P_0/p_a) and ln(p_b/P_0).
    at_width_bound
        True when a width sits at ``min_log_width`` or ``max_log_width``: the optimum may lie
        outside the searched widths (e.g. the widest range when no range earns money).
    """

    economics: RangeEconomics
    log_width_lower: float
    log_width_upper: float
    at_width_bound: bool


@dataclass(frozen=True, slots=True)
class _Market:
    capital: float
    price: float
    vol: float
    t_yr: float
    drift: float
    fee_rate: float
    volume: float
    pool_liquidity: float


def _economics(m: _Market, lo: Float64Array, hi: Float64Array, p0: Float64Array) -> RangeEconomics:
    one = np.ones(())
    x1, y1 = _amounts(one, p0, lo, hi)
    liq = m.capital / (x1 * p0 + y1)
    nodes, weights = _time_grid(m.t_yr)
    _, sqrt_t = _range_moments(p0, lo, hi, m.vol, m.drift, nodes)
    time_in = _time_in_range(p0, lo, hi, m.vol, m.drift, m.t_yr)
    prob_end, _ = _range_moments(p0, lo, hi, m.vol, m.drift, np.array([m.t_yr]))
    share = liq / (liq + m.pool_liquidity)
    fees = m.fee_rate * m.volume * share * time_in
    lvr = 0.25 * m.vol * m.vol * liq * (sqrt_t @ weights)
    per_fee = m.volume * share * time_in  # fees per unit of fee rate
    be = np.where(per_fee > 0.0, lvr / np.where(per_fee > 0.0, per_fee, 1.0), 0.0)
    be = np.where((per_fee <= 0.0) & (lvr > 0.0), np.inf, be)
    lo_b, hi_b, liq, share, time_in, prob_end, fees, lvr, be = np.broadcast_arrays(
        lo, hi, liq, share, time_in, prob_end[..., 0], fees, lvr, be
    )
    return RangeEconomics(
        price_lower=out(np.array(lo_b)),
        price_upper=out(np.array(hi_b)),
        liquidity=out(np.array(liq)),
        fee_share=out(np.array(share)),
        expected_time_in_range_yr=out(np.array(time_in)),
        prob_in_range_at_horizon=out(np.array(prob_end)),
        expected_fees_quote=out(np.array(fees)),
        expected_lvr_quote=out(np.array(lvr)),
        expected_net_quote=out(np.array(fees - lvr)),
        break_even_fee_rate=out(np.array(be)),
    )


def _market(
    capital_quote: object,
    price: object,
    vol: object,
    t_yr: object,
    drift: object,
    fee_rate: object,
    volume_quote_per_yr: object,
    pool_liquidity: object,
) -> _Market:
    f = positive_scalar("fee_rate", fee_rate, strict=False)
    if f >= 1.0:
        raise InvalidArgumentError("fee_rate", fee_rate, "a fraction in [0, 1)")
    return _Market(
        capital=positive_scalar("capital_quote", capital_quote),
        price=positive_scalar("price", price),
        vol=_scalar_vol(vol),
        t_yr=positive_scalar("t_yr", t_yr),
        drift=_scalar_drift(drift),
        fee_rate=f,
        volume=positive_scalar("volume_quote_per_yr", volume_quote_per_yr, strict=False),
        pool_liquidity=positive_scalar("pool_liquidity", pool_liquidity, strict=False),
    )


def range_economics(
    *,
    capital_quote: float,
    price: float,
    price_lower: ArrayLike,
    price_upper: ArrayLike,
    vol: float,
    t_yr: float,
    fee_rate: float,
    volume_quote_per_yr: float,
    pool_liquidity: float,
    drift: float = 0.0,
) -> RangeEconomics:
    """Expected fees, LVR and time in range of positions funded with ``capital_quote``.

    Parameters
    ----------
    capital_quote
        Capital deposited at ``price``, quote units (> 0).
    price
        P_0, quote per risky (> 0).
    price_lower, price_upper
        Ranges to evaluate (arrays broadcast; 0 <= p_a < p_b <= inf).
    vol, t_yr, drift
        σ annualised (>= 0), horizon in years (> 0), μ per year.
    fee_rate
        Pool fee tier, fraction of volume in [0, 1) (0.0005 for 5 bp).
    volume_quote_per_yr
        Pool volume while the price is in the range, quote units per year (>= 0).
    pool_liquidity
        Other LPs' active liquidity, human units (>= 0;
        :func:`~invrisk.amm.pool.liquidity_from_raw` converts a pool's raw field).

    Returns
    -------
    RangeEconomics
        Model in the module docstring.
    """
    m = _market(
        capital_quote, price, vol, t_yr, drift, fee_rate, volume_quote_per_yr, pool_liquidity
    )
    _, p0, lo, hi = _position_inputs(np.ones(()), m.price, price_lower, price_upper)
    broadcast_shape(price_lower=lo, price_upper=hi)
    return _economics(m, lo, hi, p0)


def optimal_range(
    *,
    capital_quote: float,
    price: float,
    vol: float,
    t_yr: float,
    fee_rate: float,
    volume_quote_per_yr: float,
    pool_liquidity: float,
    drift: float = 0.0,
    min_log_width: float = 1e-3,
    max_log_width: float = 5.0,
    symmetric: bool = False,
) -> RangeChoice:
    """The range around ``price`` that maximizes expected fees - expected LVR.

    Searches p_a = P_0 e^{-a}, p_b = P_0 e^{b} with log widths a, b in
    [``min_log_width``, ``max_log_width``] (a = b if ``symmetric``): a 33-point geometric grid
    per width, then Nelder-Mead from the best grid point. Arguments as in
    :func:`range_economics`.

    Returns
    -------
    RangeChoice
        The best range found, its economics, and whether it sits at a width bound.

    Examples
    --------
    ETH at 2200 USDC, σ = 50%, one week, 0.05% tier, volume 300M USDC a day, other LPs'
    liquidity 15e6 (the USDC/WETH 0.05% pool's order of magnitude in Dec. 2023), 1M USDC:

    >>> c = optimal_range(capital_quote=1e6, price=2200.0, vol=0.5, t_yr=7 / 365,
    ...                   fee_rate=0.0005, volume_quote_per_yr=365 * 300e6, pool_liquidity=15e6)
    >>> c.economics.expected_net_quote > 0, c.at_width_bound
    (True, False)
    """
    m = _market(
        capital_quote, price, vol, t_yr, drift, fee_rate, volume_quote_per_yr, pool_liquidity
    )
    w_min = positive_scalar("min_log_width", min_log_width)
    w_max = positive_scalar("max_log_width", max_log_width)
    if not w_min < w_max:
        raise InvalidArgumentError(
            "min_log_width/max_log_width", (min_log_width, max_log_width), "min < max"
        )
    if not isinstance(symmetric, bool):
        raise InvalidArgumentError("symmetric", symmetric, "True or False")
    p0 = np.asarray(m.price)
    scale = m.capital

    def net(a: Float64Array, b: Float64Array) -> Float64Array:
        e = _economics(m, m.price * np.exp(-a), m.price * np.exp(b), p0)
        return np.asarray(e.expected_net_quote, dtype=np.float64) / scale

    grid = np.geomspace(w_min, w_max, _GRID_POINTS)
    if symmetric:
        values = net(grid, grid)
        best = int(np.argmax(values))
        start = np.array([np.log(grid[best])])
    else:
        ga, gb = np.meshgrid(grid, grid, indexing="ij")
        values = net(ga, gb)
        ia, ib = np.unravel_index(int(np.argmax(values)), values.shape)
        start = np.log(np.array([grid[ia], grid[ib]]))
    bounds = [(np.log(w_min), np.log(w_max))] * start.size

    def objective(theta: Float64Array) -> float:
        a = np.exp(theta[0])
        b = a if symmetric else np.exp(theta[1])
        return -float(net(np.asarray(a), np.asarray(b)))

    res = minimize(
        objective,
        start,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 2000},
    )
    theta = res.x if res.fun <= objective(start) else start
    a = float(np.exp(theta[0]))
    b = a if symmetric else float(np.exp(theta[1]))
    econ = _economics(m, np.asarray(m.price * np.exp(-a)), np.asarray(m.price * np.exp(b)), p0)
    near = [abs(np.log(w) - np.log(bound)) < 1e-6 for w in (a, b) for bound in (w_min, w_max)]
    return RangeChoice(
        economics=econ, log_width_lower=a, log_width_upper=b, at_width_bound=any(near)
    )
