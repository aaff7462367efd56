"""Backtest of a Uniswap v3 LP position, hedged with a perpetual or not, on a pool's history.

:func:`backtest_lp` opens liquidity L in [p_a, p_b] at the first close of a
:class:`~invrisk.amm.history.PoolHistory` and follows it period by period (hourly for the
subgraph's ``poolHourDatas``):

* **Value**: V_t = x(P_t) P_t + y(P_t) (Uniswap v3 whitepaper eq. 6.29-6.30), quote units, at
  each period's close P_t. **Impermanent loss**: V_t - (x_0 P_t + y_0), against holding the
  tokens deposited.
* **Fees** of period t, from the pool's global fee growth. Per unit of liquidity a swap step
  raises feeGrowthGlobal of its input token by fee/(1 - fee) times the change of that token's
  amount per unit of liquidity (whitepaper §6.3): quote-token fees measure the upward path of
  √P, risky-token fees the downward path of 1/√P (``tests/amm/test_pool_data.py`` checks
  this on the same data). The position earns the part of that path that lies inside its
  range: the global growth times (path length of the clamped price, √min(max(P, p_a), p_b)
  for the quote token and 1/√… for the risky one) / (path length of the price). The
  within-period path is reconstructed from open (previous close), high, low and close in the
  two possible orders (high first, low first), averaged. Exact when the period stays inside
  the range (fraction 1) or outside it (0: **an out-of-range period earns nothing**);
  approximate when the price crosses a range end within the period. The fees are diluted by
  the position's own liquidity, share = L_pool / (L_pool + L) with L_pool the pool's
  in-range liquidity (``dilute=False`` to ignore it), and are collected at each close and
  converted to the quote token at P_t (they carry no delta afterwards).
* **LVR** (Milionis, Moallemi, Roughgarden & Zhang 2022, arXiv:2208.06046): realized,
  x(P_{t-1})(P_t - P_{t-1}) - (V_t - V_{t-1}) per period (the rebalancing portfolio's gain
  over the LP's; >= 0 by concavity), and expected, ℓ(P_{t-1}) Δt with ℓ = σ²P²|x'(P)|/2 =
  σ²L√P/4 in range (σ²V/8 for the full range), σ the realized volatility of the closes (or
  ``vol``).
* **Hedge**: a linear perpetual on the risky coin, short h_t. ``"none"``; ``"delta"``:
  h_t = -x(P_t) at every close; a band ``b`` (float): trade to -x(P_t) only when the net
  delta |x(P_t) + h| P_t exceeds b V_t (a fraction of the position's value). The position is
  hedged at entry in both hedged modes. Trades pay ``cost_bps`` of their notional at P_t (taker
  fee plus half-spread, user-set). The perpetual is assumed to trade at the pool's close (no
  basis) and to pay a constant **funding rate** ``funding_rate_per_yr`` (an assumption, user
  set; positive: longs pay shorts, so the short hedge earns it) on the notional h_{t-1}P_{t-1}
  of each period. The hedge is not unwound at the end (no exit cost).

Accounting: every period, total P&L = (V_t - V_0) + fees + hedge P&L + funding - costs, the
hedge P&L being Σ h_{t-1}(P_t - P_{t-1}). The total is computed on its own as a ledger (cash
from fees, funding, costs and the perpetual's realized P&L at its average entry price, plus
the perpetual's unrealized P&L and the LP's value change), so the identity is a check.

Not modelled: gas, the position's own price impact, just-in-time liquidity, compounding of fees,
range changes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

from invrisk._typing import BoolArray, Float64Array, Int64Array
from invrisk.amm import PoolHistory, fees_from_fee_growth, lvr_rate, v3_amounts
from invrisk.errors import InvalidArgumentError
from invrisk.units import NS_PER_YEAR

__all__ = ["HedgeMode", "LpBacktest", "LpBacktestSummary", "backtest_lp", "parse_hedge"]

HedgeMode = Literal["none", "delta"] | float


def parse_hedge(text: str) -> HedgeMode:
    """``"none"``, ``"delta"`` or ``"band:B"`` (B > 0, a fraction of the position's value) as
    a hedge mode for :func:`backtest_lp`.

    >>> parse_hedge("band:0.1")
    0.1
    """
    if text in ("none", "delta"):
        return text  # type: ignore[return-value]
    head, sep, tail = text.partition(":")
    if head == "band" and sep:
        try:
            band = float(tail)
        except ValueError:
            band = math.nan
        if math.isfinite(band) and band > 0:
            return band
    raise InvalidArgumentError("hedge", text, "'none', 'delta' or 'band:B' with B > 0")


@dataclass(frozen=True, slots=True)
class LpBacktestSummary:
    """Totals of an LP backtest (quote units unless named otherwise; see the module).

    ``lp_price_pnl_quote`` = ``hold_pnl_quote`` + ``impermanent_loss_quote`` (the LP's value
    change split into what holding the deposit would have made and the loss against it);
    ``total_pnl_quote`` = ``lp_price_pnl_quote`` + ``fees_quote`` + ``hedge_pnl_quote`` +
    ``funding_quote`` - ``costs_quote``; ``unhedged_pnl_quote`` = price P&L + fees. The hourly
    standard deviations are of the per-period P&L of the unhedged and of the hedged book.
    """

    periods: int
    periods_in_range: int
    periods_with_fees: int
    start_ns: int
    end_ns: int
    liquidity: float
    price_lower: float
    price_upper: float
    price_start: float
    price_end: float
    value_start_quote: float
    value_end_quote: float
    hold_pnl_quote: float
    impermanent_loss_quote: float
    lp_price_pnl_quote: float
    fees_quote: float
    hedge_pnl_quote: float
    funding_quote: float
    costs_quote: float
    total_pnl_quote: float
    unhedged_pnl_quote: float
    std_period_pnl_unhedged_quote: float
    std_period_pnl_hedged_quote: float
    hedge: str
    hedge_trades: int
    hedge_traded_qty: float
    realized_lvr_quote: float
    expected_lvr_quote: float
    vol: float
    fee_apr: float
    cost_bps: float
    funding_rate_per_yr: float

    def as_dict(self) -> dict[str, float | int | str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True, eq=False)
class LpBacktest:
    """Per-period series of an LP backtest (length n = rows of the history; row 0 is the
    entry at the first close, its flows are 0 except the opening hedge's cost).

    Attributes
    ----------
    summary
        :class:`LpBacktestSummary`.
    time_ns
        End of each period (the instant of its close), int64 ns UTC.
    price
        Close, quote per risky.
    in_range
        Close inside [p_a, p_b].
    fee_fraction_quote, fee_fraction_risky
        Share of the period's price path inside the range that earned quote (price rising) and
        risky (price falling) fees (0 at row 0).
    lp_value_quote, hold_value_quote
        V_t and x_0 P_t + y_0.
    risky_qty
        x(P_t), the LP's delta in risky units.
    fees_quote, hedge_pnl_quote, funding_quote, cost_quote
        Flows of each period.
    hedge_qty, hedge_trade_qty
        Perpetual held after the close's rebalance (negative: short) and the trade at it.
    realized_lvr_quote, expected_lvr_quote
        LVR of each period (module docstring).
    total_pnl_quote
        Cumulative P&L of the book from the ledger.
    unhedged_pnl_quote
        Cumulative P&L of the LP alone (value change + fees).
    """

    summary: LpBacktestSummary
    time_ns: Int64Array
    price: Float64Array
    in_range: BoolArray
    fee_fraction_quote: Float64Array
    fee_fraction_risky: Float64Array
    lp_value_quote: Float64Array
    hold_value_quote: Float64Array
    risky_qty: Float64Array
    fees_quote: Float64Array
    hedge_qty: Float64Array
    hedge_trade_qty: Float64Array
    hedge_pnl_quote: Float64Array
    funding_quote: Float64Array
    cost_quote: Float64Array
    realized_lvr_quote: Float64Array
    expected_lvr_quote: Float64Array
    total_pnl_quote: Float64Array
    unhedged_pnl_quote: Float64Array

    @property
    def impermanent_loss_quote(self) -> Float64Array:
        """V_t - (x_0 P_t + y_0), cumulative (<= 0)."""
        return np.asarray(self.lp_value_quote - self.hold_value_quote)

    @property
    def period_pnl_hedged_quote(self) -> Float64Array:
        """P&L of each period (n - 1) of the whole book."""
        return np.asarray(np.diff(self.total_pnl_quote))

    @property
    def period_pnl_unhedged_quote(self) -> Float64Array:
        """P&L of each period (n - 1) of the LP alone."""
        return np.asarray(np.diff(self.unhedged_pnl_quote))


def _clamp(p: Float64Array, lo: float, hi: float) -> Float64Array:
    return np.asarray(np.minimum(np.maximum(p, lo), hi))


def _path_lengths(
    points: tuple[Float64Array, ...], f: Callable[[Float64Array], Float64Array]
) -> Float64Array:
    """Σ max(f(p_{k+1}) - f(p_k), 0) along the points (the rises of f)."""
    total = np.zeros_like(points[0])
    for a, b in itertools.pairwise(f(p) for p in points):
        total += np.maximum(b - a, 0.0)
    return total


def _fee_fractions(
    close: Float64Array, high: Float64Array, low: Float64Array, lo: float, hi: float
) -> tuple[Float64Array, Float64Array]:
    """Share of each period's √P rises (quote fees) and 1/√P rises (risky fees) in range."""
    o, c = close[:-1], close[1:]
    h = np.maximum(high[1:], np.maximum(o, c))
    lw = np.minimum(low[1:], np.minimum(o, c))
    orders = ((o, h, lw, c), (o, lw, h, c))

    def sqrt_in(q: Float64Array) -> Float64Array:
        return np.asarray(np.sqrt(_clamp(q, lo, hi)))

    def inv_in(q: Float64Array) -> Float64Array:
        return np.asarray(1.0 / np.sqrt(_clamp(q, lo, hi)))

    def sqrt_all(q: Float64Array) -> Float64Array:
        return np.asarray(np.sqrt(q))

    def inv_all(q: Float64Array) -> Float64Array:
        return np.asarray(1.0 / np.sqrt(q))

    up_in = sum(_path_lengths(pts, sqrt_in) for pts in orders)
    up_all = sum(_path_lengths(pts, sqrt_all) for pts in orders)
    dn_in = sum(_path_lengths(pts, inv_in) for pts in orders)
    dn_all = sum(_path_lengths(pts, inv_all) for pts in orders)
    inside_close = ((c >= lo) & (c <= hi)).astype(np.float64)
    frac_up = np.where(up_all > 0, up_in / np.where(up_all > 0, up_all, 1.0), inside_close)
    frac_dn = np.where(dn_all > 0, dn_in / np.where(dn_all > 0, dn_all, 1.0), inside_close)
    return np.asarray(np.clip(frac_up, 0.0, 1.0)), np.asarray(np.clip(frac_dn, 0.0, 1.0))


def _nonneg(name: str, value: object, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(name, value, "a finite number >= 0")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InvalidArgumentError(
            name, value, "a finite number " + (">= 0" if allow_zero else "> 0")
        )
    return v


def backtest_lp(
    history: PoolHistory,
    *,
    price_lower: float,
    price_upper: float,
    liquidity: float,
    hedge: HedgeMode = "none",
    cost_bps: float = 0.0,
    funding_rate_per_yr: float = 0.0,
    vol: float | None = None,
    dilute: bool = True,
) -> LpBacktest:
    """Follow an LP position through ``history`` (see the module docstring).

    Parameters
    ----------
    history
        The pool's history (:func:`invrisk.data.read_uniswap_pool_hours`).
    price_lower, price_upper
        The range, quote per risky (0 <= p_a < p_b <= inf).
    liquidity
        L >= 0, human units (:func:`invrisk.amm.v3_liquidity_for_value` for a capital).
    hedge
        ``"none"``, ``"delta"`` (rebalance at every close) or a band b > 0 (rebalance when
        |net delta|·P > b·V); :func:`parse_hedge` reads ``"band:0.1"``.
    cost_bps
        Cost of a hedge trade, bp of its notional (>= 0; taker fee plus half-spread).
    funding_rate_per_yr
        Constant funding rate of the perpetual, per year (assumption; positive: longs pay).
    vol
        σ for the expected LVR, annualised (default: realized vol of the closes).
    dilute
        Share the fees with the pool's in-range liquidity L_pool/(L_pool + L).

    Returns
    -------
    LpBacktest
        Series and summary.
    """
    if not isinstance(history, PoolHistory):
        raise InvalidArgumentError("history", history, "a PoolHistory")
    lo = _nonneg("price_lower", price_lower)
    if isinstance(price_upper, bool) or not isinstance(price_upper, int | float):
        raise InvalidArgumentError("price_upper", price_upper, "a price > price_lower or inf")
    hi = float(price_upper)
    if math.isnan(hi) or not hi > lo:
        raise InvalidArgumentError(
            "price_lower/price_upper", (price_lower, price_upper), "price_lower < price_upper"
        )
    liq = _nonneg("liquidity", liquidity)
    if isinstance(hedge, str):
        if hedge not in ("none", "delta"):
            raise InvalidArgumentError("hedge", hedge, "'none', 'delta' or a band > 0")
        band = math.nan
    else:
        band = _nonneg("hedge", hedge, allow_zero=False)
    cost_rate = _nonneg("cost_bps", cost_bps) * 1e-4
    if isinstance(funding_rate_per_yr, bool) or not isinstance(funding_rate_per_yr, int | float):
        raise InvalidArgumentError("funding_rate_per_yr", funding_rate_per_yr, "a finite rate")
    funding = float(funding_rate_per_yr)
    if not math.isfinite(funding):
        raise InvalidArgumentError("funding_rate_per_yr", funding_rate_per_yr, "a finite rate")
    if not isinstance(dilute, bool):
        raise InvalidArgumentError("dilute", dilute, "True or False")

    p = history.close
    n = p.shape[0]
    dt_yr = np.diff(history.time_ns).astype(np.float64) / NS_PER_YEAR
    if vol is None:
        log_ret = np.diff(np.log(p))
        sigma = float(np.std(log_ret, ddof=1) / math.sqrt(float(np.mean(dt_yr))))
    else:
        sigma = _nonneg("vol", vol)

    amounts = v3_amounts(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    x = np.asarray(amounts.risky_qty, dtype=np.float64)
    y = np.asarray(amounts.quote_qty, dtype=np.float64)
    value = x * p + y
    hold = x[0] * p + y[0]
    in_range = (p >= lo) & (p <= hi)

    # fees of each period
    g0 = np.diff(history.fee_growth0_x128)
    g1 = np.diff(history.fee_growth1_x128)
    per_l = fees_from_fee_growth(
        liquidity=1.0, fee_growth0_delta_x128=g0, fee_growth1_delta_x128=g1, pool=history.pool
    )
    frac_up, frac_dn = _fee_fractions(p, history.high, history.low, lo, hi)
    pool_l = history.liquidity[1:]
    if dilute:
        denom = pool_l + liq
        share = np.where(denom > 0, pool_l / np.where(denom > 0, denom, 1.0), 0.0)
    else:
        share = np.ones(n - 1)
    fees = np.zeros(n)
    fees[1:] = (
        liq
        * share
        * (np.asarray(per_l.quote_qty) * frac_up + np.asarray(per_l.risky_qty) * frac_dn * p[1:])
    )

    # LVR
    realized_lvr = np.zeros(n)
    realized_lvr[1:] = x[:-1] * np.diff(p) - np.diff(value)
    expected_lvr = np.zeros(n)
    expected_lvr[1:] = (
        np.asarray(lvr_rate(liquidity=liq, price=p[:-1], price_lower=lo, price_upper=hi, vol=sigma))
        * dt_yr
    )

    # hedge, flows and the ledger
    hedge_qty = np.zeros(n)
    trade = np.zeros(n)
    hedge_pnl = np.zeros(n)
    funding_flow = np.zeros(n)
    cost = np.zeros(n)
    total = np.zeros(n)
    h = 0.0
    entry = 0.0
    cash = 0.0
    hedged = hedge != "none"
    for t in range(n):
        if t > 0:
            hedge_pnl[t] = h * (p[t] - p[t - 1])
            funding_flow[t] = -h * p[t - 1] * funding * dt_yr[t - 1]
            cash += fees[t] + funding_flow[t]
        if hedged:
            target = -x[t]
            if hedge == "delta" or t == 0:
                move = target - h
            else:
                move = target - h if abs(x[t] + h) * p[t] > band * value[t] else 0.0
            if move != 0.0:
                cost[t] = abs(move) * p[t] * cost_rate
                cash -= cost[t]
                h, entry, realised = _perp_trade(h, entry, move, p[t])
                cash += realised
                trade[t] = move
        hedge_qty[t] = h
        total[t] = (value[t] - value[0]) + cash + h * (p[t] - entry)
    unhedged = (value - value[0]) + np.cumsum(fees)

    period_hedged = np.diff(total)
    period_unhedged = np.diff(unhedged)
    years = float(np.sum(dt_yr))
    summary = LpBacktestSummary(
        periods=n - 1,
        periods_in_range=int(np.sum(in_range[1:])),
        periods_with_fees=int(np.sum(fees[1:] > 0)),
        start_ns=int(history.time_ns[0] + (history.time_ns[1] - history.time_ns[0])),
        end_ns=int(history.time_ns[-1] + (history.time_ns[-1] - history.time_ns[-2])),
        liquidity=liq,
        price_lower=lo,
        price_upper=hi,
        price_start=float(p[0]),
        price_end=float(p[-1]),
        value_start_quote=float(value[0]),
        value_end_quote=float(value[-1]),
        hold_pnl_quote=float(hold[-1] - value[0]),
        impermanent_loss_quote=float(value[-1] - hold[-1]),
        lp_price_pnl_quote=float(value[-1] - value[0]),
        fees_quote=float(fees.sum()),
        hedge_pnl_quote=float(hedge_pnl.sum()),
        funding_quote=float(funding_flow.sum()),
        costs_quote=float(cost.sum()),
        total_pnl_quote=float(total[-1]),
        unhedged_pnl_quote=float(unhedged[-1]),
        std_period_pnl_unhedged_quote=float(np.std(period_unhedged, ddof=1)),
        std_period_pnl_hedged_quote=float(np.std(period_hedged, ddof=1)),
        hedge=hedge if isinstance(hedge, str) else f"band:{band:g}",
        hedge_trades=int(np.sum(trade != 0.0)),
        hedge_traded_qty=float(np.sum(np.abs(trade))),
        realized_lvr_quote=float(realized_lvr.sum()),
        expected_lvr_quote=float(expected_lvr.sum()),
        vol=sigma,
        fee_apr=float(fees.sum() / value[0] / years) if value[0] > 0 else math.nan,
        cost_bps=cost_rate * 1e4,
        funding_rate_per_yr=funding,
    )
    step = history.time_ns[1:] - history.time_ns[:-1]
    ends = history.time_ns + np.concatenate([step[:1], step])
    return LpBacktest(
        summary=summary,
        time_ns=_ro(ends.astype(np.int64)),
        price=_ro(p),
        in_range=_ro(in_range),
        fee_fraction_quote=_ro(np.concatenate([[0.0], frac_up])),
        fee_fraction_risky=_ro(np.concatenate([[0.0], frac_dn])),
        lp_value_quote=_ro(value),
        hold_value_quote=_ro(hold),
        risky_qty=_ro(x),
        fees_quote=_ro(fees),
        hedge_qty=_ro(hedge_qty),
        hedge_trade_qty=_ro(trade),
        hedge_pnl_quote=_ro(hedge_pnl),
        funding_quote=_ro(funding_flow),
        cost_quote=_ro(cost),
        realized_lvr_quote=_ro(realized_lvr),
        expected_lvr_quote=_ro(expected_lvr),
        total_pnl_quote=_ro(total),
        unhedged_pnl_quote=_ro(unhedged),
    )


def _perp_trade(h: float, entry: float, move: float, price: float) -> tuple[float, float, float]:
    """Position, average entry and realized P&L after trading ``move`` at ``price``."""
    if h == 0.0 or (h > 0) == (move > 0):
        new = h + move
        return new, (h * entry + move * price) / new, 0.0
    closed = min(abs(move), abs(h))
    realised = math.copysign(closed, h) * (price - entry)
    new = h + move
    if abs(move) < abs(h):
        return new, entry, realised
    if abs(move) == abs(h):
        return 0.0, 0.0, realised
    return new, price, realised


def _ro(a: np.ndarray) -> np.ndarray:
    out = np.array(a)
    out.setflags(write=False)
    return out
