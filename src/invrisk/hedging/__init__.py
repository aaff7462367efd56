"""Hedging (layer 2): dynamic delta-hedging policies with transaction costs and their
simulation.

- :mod:`invrisk.hedging.policies` — :class:`FixedInterval`, :class:`FixedBand`,
  :class:`WhalleyWilmott` (no-trade band), :class:`LelandDelta` (Leland-adjusted volatility),
  and the closed forms :func:`whalley_wilmott_half_band`, :func:`leland_vol`.
- :mod:`invrisk.hedging.simulate` — :func:`simulate_hedging` runs a policy on price paths
  (synthetic or real history) for an option position and reports hedging error against cost;
  :mod:`invrisk.hedging.study` compares a grid of policies and marks the efficient frontier.
- :mod:`invrisk.hedging.optimizer` — :func:`optimize_hedge`: the cheapest trades in candidate
  instruments (bid/ask, fees, lots, caps) that bring a book's exposures inside its limits, or
  that minimise a Greek or scenario risk; a frozen :class:`HedgePlan`, and
  :class:`HedgeInfeasibleError` naming the limits that cannot be met.
- :mod:`invrisk.hedging.lp` — delta-neutral and delta-gamma hedges of AMM liquidity positions
  through the optimizer (:func:`~invrisk.hedging.lp.hedge_lp`); :mod:`invrisk.hedging.lp_backtest`
  — a Uniswap v3 position hedged or not with a perpetual on real hourly pool data. Like
  :mod:`invrisk.hedging.plan`, they import the risk layer and are not re-exported here.
"""

from __future__ import annotations

from invrisk.hedging.optimizer import (
    HedgeCandidate,
    HedgeInfeasibleError,
    HedgePlan,
    optimize_hedge,
)
from invrisk.hedging.policies import (
    FixedBand,
    FixedInterval,
    HedgePolicy,
    LelandDelta,
    WhalleyWilmott,
    leland_number,
    leland_vol,
    whalley_wilmott_half_band,
)
from invrisk.hedging.simulate import HedgeRun, hourly_windows, simulate_hedging

__all__ = [
    "FixedBand",
    "FixedInterval",
    "HedgeCandidate",
    "HedgeInfeasibleError",
    "HedgePlan",
    "HedgePolicy",
    "HedgeRun",
    "LelandDelta",
    "WhalleyWilmott",
    "hourly_windows",
    "leland_number",
    "leland_vol",
    "optimize_hedge",
    "simulate_hedging",
    "whalley_wilmott_half_band",
]
