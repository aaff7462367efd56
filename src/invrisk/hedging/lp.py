"""Hedging AMM liquidity positions with perpetuals and options through the hedge optimizer.

A liquidity position (:func:`~invrisk.risk.lp.lp_position`) is long the pool's risky coin
(delta = the risky amount held) and short gamma (an LP sells the price moves it rebalances
through). :func:`hedge_lp` asks :func:`~invrisk.hedging.plan.plan_hedge` for the cheapest trades
that bring the book's net delta in coins (and, for a delta-gamma hedge, its net gamma in coins
per USD) inside a band around zero:

- **delta-neutral**: a perpetual (or any delta-one contract) among the candidates and
  ``gamma_band_coin_per_usd=None``;
- **delta-gamma**: options among the candidates (long options carry the gamma the LP is short)
  and a gamma band; the perpetual then absorbs the options' delta.

The optimizer's costs apply unchanged: whole lots, the bid/ask spread (listed options at the
chain's bid/ask, delta-one contracts at ± ``half_spread_bps``), fees, size caps and budget.
:func:`hedged_portfolio` adds the plan's trades to the book as positions, so that the hedged
book can be valued from scratch (an independent check of the plan).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from invrisk.errors import InvalidArgumentError
from invrisk.hedging.plan import CandidateSpec, PortfolioHedge, plan_hedge
from invrisk.risk.limit_set import Limit, LimitSet
from invrisk.risk.portfolio import MarketSnapshot, Portfolio, Position

__all__ = ["hedge_lp", "hedged_portfolio", "lp_hedge_limits"]


def _band(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(name, value, "a finite band > 0")
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise InvalidArgumentError(name, value, "a finite band > 0")
    return v


def lp_hedge_limits(
    *,
    underlying: str,
    delta_band_coin: float,
    gamma_band_coin_per_usd: float | None = None,
) -> LimitSet:
    """The limit set of an LP hedge: ``|net delta| <= delta_band_coin`` (coins of
    ``underlying``) and optionally ``|net gamma| <= gamma_band_coin_per_usd``."""
    if not isinstance(underlying, str) or not underlying:
        raise InvalidArgumentError("underlying", underlying, "a coin code such as 'ETH'")
    limits = [
        Limit(
            name=f"{underlying} delta",
            metric="delta_coin",
            underlying=underlying,
            max_abs=_band("delta_band_coin", delta_band_coin),
        )
    ]
    if gamma_band_coin_per_usd is not None:
        limits.append(
            Limit(
                name=f"{underlying} gamma",
                metric="gamma_coin_per_usd",
                underlying=underlying,
                max_abs=_band("gamma_band_coin_per_usd", gamma_band_coin_per_usd),
            )
        )
    return LimitSet(limits)


def hedge_lp(
    portfolio: Portfolio,
    market: MarketSnapshot,
    *,
    underlying: str,
    candidates: Sequence[CandidateSpec],
    delta_band_coin: float,
    gamma_band_coin_per_usd: float | None = None,
    option_bid_ask_coin: Mapping[str, tuple[float, float]] | None = None,
    option_fee_rate: float = 3e-4,
    delta_one_fee_rate: float = 5e-4,
    half_spread_bps: float = 0.5,
    budget: float = math.inf,
) -> PortfolioHedge:
    """The cheapest delta-neutral (or delta-gamma) hedge of a book holding LP positions.

    Parameters
    ----------
    portfolio, market
        The book (LP positions and anything else) and the snapshot it is valued with.
    underlying
        The coin to hedge (the LP's ``base``, e.g. ``"ETH"``).
    candidates
        Hedge instruments (:class:`~invrisk.hedging.plan.CandidateSpec`: lot, cap, prices).
    delta_band_coin
        Largest |net delta| after the hedge, coins (> 0).
    gamma_band_coin_per_usd
        Largest |net gamma| after the hedge, coins per USD (> 0); ``None`` for a delta-only
        hedge.
    option_bid_ask_coin, option_fee_rate, delta_one_fee_rate, half_spread_bps, budget
        Passed to :func:`~invrisk.hedging.plan.plan_hedge` (prices and costs).

    Returns
    -------
    PortfolioHedge
        The plan (trades in whole lots, cost in USD, exposures before and after).

    Raises
    ------
    HedgeInfeasibleError
        No trade within the caps and budget meets the bands (e.g. a gamma band with no option
        among the candidates); the error names the limits and by how much they are missed.
    """
    if not any(p.instrument.is_lp for p in portfolio):
        raise InvalidArgumentError("portfolio", portfolio.labels, "a book with an LP position")
    limits = lp_hedge_limits(
        underlying=underlying,
        delta_band_coin=delta_band_coin,
        gamma_band_coin_per_usd=gamma_band_coin_per_usd,
    )
    return plan_hedge(
        portfolio,
        market,
        candidates=candidates,
        limits=limits,
        objective="cost",
        option_fee_rate=option_fee_rate,
        delta_one_fee_rate=delta_one_fee_rate,
        half_spread_bps=half_spread_bps,
        budget=budget,
        option_bid_ask_coin=option_bid_ask_coin,
    )


def hedged_portfolio(
    portfolio: Portfolio,
    hedge: PortfolioHedge,
    candidates: Sequence[CandidateSpec],
    market: MarketSnapshot,
) -> Portfolio:
    """``portfolio`` plus the hedge's trades as positions (labels ``"hedge <name>"``).

    Futures and perpetuals are entered at the snapshot's mark (worth 0 there); options at no
    entry price (their value is their premium).
    """
    by_name = {c.instrument.name: c.instrument for c in candidates}
    added = []
    for name, qty in hedge.plan.trades:
        if name not in by_name:
            raise InvalidArgumentError("hedge", name, f"a trade in one of {sorted(by_name)}")
        inst = by_name[name]
        entry = market.mark_of(inst) if (inst.is_perpetual or inst.is_future) else None
        added.append(
            Position(instrument=inst, contracts=qty, label=f"hedge {name}", entry_price=entry)
        )
    return Portfolio([*portfolio.positions, *added])
