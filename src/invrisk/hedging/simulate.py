"""Simulate dynamic delta hedging of an option position along price paths, with costs.

:func:`simulate_hedging` sells (or buys) ``position`` European options at the Black–Scholes
price at the pricing volatility, hedges them with the underlying along each path under a
:class:`~invrisk.hedging.policies.HedgePolicy`, pays a proportional cost on every trade, and
settles at expiry. Everything is vectorised over paths (one BSM evaluation per step for all
paths).

Accounting, per path (price unit of the underlying, e.g. USD; rate ``r`` continuously
compounded on the cash account, 0 by default as for crypto):

- at ``t_0``: cash = −position · C(S_0, σ) (the premium received for a short position);
- at each step ``k = 0 … n−1`` the policy sets the holding ``h_k`` (units of the underlying):
  cash −= (h_k − h_{k−1}) S_k, cost += λ |h_k − h_{k−1}| S_k;
- at expiry ``T = n dt``: the option pays position · payoff(S_n); the hedge is sold at ``S_n``
  (with its cost when ``unwind_cost`` is true: a cash-settled option);
- P&L = cash + h_{n−1} S_n + position · payoff(S_n) − cost.

With no costs, a fair premium and continuous rebalancing the P&L is zero; with discrete
rebalancing its standard deviation falls like ``1/sqrt(n)`` (Kamal & Derman 1999, "When you
cannot hedge continuously: the corrections to Black–Scholes", Risk 12(1)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, Int64Array
from invrisk.errors import InvalidArgumentError
from invrisk.hedging.policies import HedgePolicy
from invrisk.pricing import bsm

__all__ = ["HedgeRun", "hourly_windows", "simulate_hedging"]


@dataclass(frozen=True, slots=True)
class HedgeRun:
    """Per-path outcome of one policy (see the module docstring for the accounting)."""

    policy: str
    pnl: Float64Array = field(repr=False)
    cost: Float64Array = field(repr=False)
    trades: Int64Array = field(repr=False)
    premium: Float64Array = field(repr=False)

    def summary(self, *, level: float = 0.95) -> dict[str, float]:
        """Mean and standard deviation of the P&L, its expected shortfall (CVaR) at ``level``,
        the mean cost and the mean number of trades per path."""
        from invrisk.risk.var import var_es

        es = var_es(self.pnl, level=level)
        return {
            "mean_pnl": float(self.pnl.mean()),
            "std_pnl": float(self.pnl.std(ddof=1)) if self.pnl.size > 1 else 0.0,
            "cvar": es.es,
            "mean_cost": float(self.cost.mean()),
            "mean_trades": float(self.trades.mean()),
            "mean_premium": float(self.premium.mean()),
        }


def simulate_hedging(
    paths: ArrayLike,
    *,
    dt_yr: float,
    strike: ArrayLike,
    vol: float,
    option_type: object,
    policy: HedgePolicy,
    position: float = -1.0,
    cost_rate: float = 0.0,
    rate: float = 0.0,
    unwind_cost: bool = True,
) -> HedgeRun:
    """Hedge ``position`` options along each row of ``paths`` (``(n_paths, n + 1)`` prices).

    Parameters
    ----------
    paths
        Underlying prices at ``t_0 … t_n`` (> 0), one path per row; expiry is at ``t_n``.
    dt_yr
        Time between columns, years.
    strike
        Strike (> 0), one for all paths or one per path (e.g. at the money per path).
    vol
        Volatility the option is priced and delta-hedged at (the policy may adjust it, as
        Leland's does), annualised decimal.
    option_type
        ``"call"`` or ``"put"``.
    policy
        When and how far to rebalance (:mod:`invrisk.hedging.policies`).
    position
        Options held (negative = sold; default one sold).
    cost_rate
        One-way proportional cost λ, fraction of the traded notional (>= 0).
    rate
        Continuously compounded rate for pricing and the cash account.
    unwind_cost
        Pay λ on selling the hedge at expiry (default True).
    """
    s = np.asarray(paths, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 2 or s.shape[0] < 1:
        raise InvalidArgumentError("paths", f"shape {s.shape}", "(n_paths, n_steps + 1), n >= 1")
    if not np.all(np.isfinite(s)) or not np.all(s > 0.0):
        bad = np.argwhere(~(np.isfinite(s) & (s > 0.0)))[0]
        raise InvalidArgumentError(
            "paths", f"{s[tuple(bad)]!r} at path {bad[0]}, step {bad[1]}", "finite prices > 0"
        )
    if not (isinstance(dt_yr, int | float) and math.isfinite(dt_yr) and dt_yr > 0.0):
        raise InvalidArgumentError("dt_yr", dt_yr, "a finite number of years > 0")
    if not (isinstance(vol, int | float) and math.isfinite(vol) and vol > 0.0):
        raise InvalidArgumentError("vol", vol, "an annualised volatility > 0")
    if not (isinstance(position, int | float) and math.isfinite(position) and position != 0.0):
        raise InvalidArgumentError("position", position, "a finite, non-zero number of options")
    if not (isinstance(cost_rate, int | float) and math.isfinite(cost_rate) and cost_rate >= 0.0):
        raise InvalidArgumentError("cost_rate", cost_rate, "a fraction of notional >= 0")
    sign = _call_put(option_type)
    n_paths, n_steps = s.shape[0], s.shape[1] - 1
    k_ = np.broadcast_to(np.asarray(strike, dtype=np.float64), (n_paths,)).copy()
    if not np.all(np.isfinite(k_) & (k_ > 0.0)):
        raise InvalidArgumentError("strike", strike, "strikes > 0, one or one per path")
    t_total = n_steps * dt_yr
    short = position < 0.0
    hedge_vol = policy.pricing_vol(float(vol), dt_yr=dt_yr, short=short)
    premium = bsm(spot=s[:, 0], strike=k_, t_yr=t_total, vol=vol, option_type=sign, rate=rate).price
    cash = -position * np.asarray(premium, dtype=np.float64)
    holding = np.zeros(n_paths)
    cost = np.zeros(n_paths)
    trades = np.zeros(n_paths, dtype=np.int64)
    growth = math.exp(rate * dt_yr)
    for k in range(n_steps):
        spot = s[:, k]
        tau = t_total - k * dt_yr
        g = bsm(spot=spot, strike=k_, t_yr=tau, vol=hedge_vol, option_type=sign, rate=rate)
        target = -position * np.asarray(g.delta, dtype=np.float64)
        book_gamma = abs(position) * np.asarray(g.gamma, dtype=np.float64)
        new = policy.rebalance(
            step=k, holding=holding, delta=target, gamma=book_gamma, spot=spot, tau_yr=tau
        )
        traded = new - holding
        moved = traded != 0.0
        cash -= traded * spot
        cost += cost_rate * np.abs(traded) * spot
        trades += moved
        holding = new
        cash *= growth
    final = s[:, -1]
    payoff = np.maximum(sign * (final - k_), 0.0)
    cash += holding * final
    if unwind_cost:
        cost += cost_rate * np.abs(holding) * final
        trades += holding != 0.0
    pnl = cash + position * payoff - cost
    return HedgeRun(
        policy=policy.name,
        pnl=pnl,
        cost=cost,
        trades=trades,
        premium=np.asarray(premium, dtype=np.float64),
    )


def _call_put(option_type: object) -> float:
    text = str(getattr(option_type, "name", option_type)).lower()
    if text in ("call", "c", "1", "1.0"):
        return 1.0
    if text in ("put", "p", "-1", "-1.0"):
        return -1.0
    raise InvalidArgumentError("option_type", option_type, "'call' or 'put'")


def hourly_windows(close: ArrayLike, *, steps: int, stride: int) -> Float64Array:
    """Overlapping windows of a price series as paths: rows ``close[i : i + steps + 1]`` for
    ``i = 0, stride, 2 stride, …`` (e.g. 720 hourly steps, a 30-day option, started weekly)."""
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1:
        raise InvalidArgumentError("close", f"shape {c.shape}", "a 1-D price series")
    for name, v in (("steps", steps), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidArgumentError(name, v, "an integer >= 1")
    if c.size < steps + 1:
        raise InvalidArgumentError("close", f"{c.size} prices", f"at least steps + 1 = {steps + 1}")
    starts = np.arange(0, c.size - steps, stride)
    return np.asarray(c[starts[:, None] + np.arange(steps + 1)[None, :]])
