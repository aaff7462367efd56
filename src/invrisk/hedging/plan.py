"""Hedge a portfolio: candidates from a market snapshot, exposures from the limit set.

:func:`plan_hedge` values the book and one contract of every candidate instrument with the
same :class:`~invrisk.risk.portfolio.MarketSnapshot`, turns each limit of a
:class:`~invrisk.risk.limit_set.LimitSet` whose metric is linear in the positions (the net
Greeks: deltas, gamma, vega per bucket, theta ...) into a named exposure, and calls
:func:`~invrisk.hedging.optimizer.optimize_hedge`. Limits on gross or external metrics
(``gross_notional_usd``, ``var_usd`` ...) are not linear in the trades and are reported as
``skipped`` rather than silently dropped. With ``objective="scenario"`` the hedge minimises
the expected shortfall (``es_level``) of the book's P&L over a spot x vol grid plus the cost;
each candidate's grid P&L comes from the same full revaluation.

Candidate prices (USD per contract): ``bid_usd``/``ask_usd`` when the spec gives them, else
for a listed option its bid/ask in coin (``option_bid_ask_coin``, e.g. the chain's) times the
index, else (delta-one contracts) the contract's USD notional ± ``half_spread_bps``. Fees:
``option_fee_rate`` of the index per option contract, capped at 12.5% of the option's price
(Deribit's option fee: 0.03% of the underlying with that cap), and ``delta_one_fee_rate`` of
the notional for delta-one contracts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from invrisk.errors import InvalidArgumentError
from invrisk.hedging.optimizer import HedgeCandidate, HedgePlan, optimize_hedge
from invrisk.instruments import Instrument
from invrisk.risk.greeks import PortfolioGreeks, portfolio_greeks
from invrisk.risk.limit_set import GREEK_METRICS, LimitSet
from invrisk.risk.portfolio import MarketSnapshot, Portfolio, Position
from invrisk.risk.scenarios import spot_vol_grid

__all__ = ["CandidateSpec", "PortfolioHedge", "plan_hedge"]

_LINEAR = tuple(m for m in GREEK_METRICS if not m.startswith("gross_"))


@dataclass(frozen=True, slots=True)
class CandidateSpec:
    """A hedge instrument: its spec, lot, largest trade, and (optionally) its bid/ask in USD."""

    instrument: Instrument
    lot: float
    max_qty: float = math.inf
    bid_usd: float | None = None
    ask_usd: float | None = None


@dataclass(frozen=True, slots=True)
class PortfolioHedge:
    """The plan and what was (not) constrained."""

    plan: HedgePlan
    candidates: tuple[str, ...]
    constrained: tuple[str, ...]
    skipped: tuple[str, ...]


def plan_hedge(
    portfolio: Portfolio,
    market: MarketSnapshot,
    *,
    candidates: Sequence[CandidateSpec],
    limits: LimitSet,
    objective: str = "cost",
    es_level: float = 0.95,
    greek_penalty_usd: float = 10_000.0,
    option_fee_rate: float = 3e-4,
    delta_one_fee_rate: float = 5e-4,
    half_spread_bps: float = 0.5,
    budget: float = math.inf,
    option_bid_ask_coin: Mapping[str, tuple[float, float]] | None = None,
) -> PortfolioHedge:
    """The cheapest (``objective="cost"``), lowest-ES (``"scenario"``) or most neutral
    (``"greeks"``) hedge of ``portfolio`` inside the linear limits of ``limits`` (see the
    module docstring).

    ``"greeks"`` minimises ``cost + Σ_g greek_penalty_usd · (r_g / bound_g)²``: each limited
    exposure ``r_g`` is priced by how close it sits to its bound (the larger of ``|lo|`` and
    ``|hi|``): at the bound it costs ``greek_penalty_usd``, at zero nothing.

    ``option_bid_ask_coin`` gives listed options' bid/ask in coin (e.g. from the chain) by
    instrument name; a candidate option without it and without ``bid_usd``/``ask_usd`` is an
    error naming it.
    """
    if objective not in ("cost", "scenario", "greeks"):
        raise InvalidArgumentError("objective", objective, "'cost', 'scenario' or 'greeks'")
    if not (math.isfinite(greek_penalty_usd) and greek_penalty_usd > 0):
        raise InvalidArgumentError("greek_penalty_usd", greek_penalty_usd, "a finite amount > 0")
    if not candidates:
        raise InvalidArgumentError("candidates", candidates, "at least one hedge instrument")
    linear = [lim for lim in limits.limits if lim.metric in _LINEAR]
    skipped = tuple(lim.name for lim in limits.limits if lim.metric not in _LINEAR)
    if not linear and objective == "cost":
        raise InvalidArgumentError(
            "limits", [lim.name for lim in limits.limits], "at least one limit on a net Greek"
        )
    sub = LimitSet(linear)
    book_values = sub.values(portfolio_greeks(portfolio, market))
    one_each = Portfolio(
        Position(instrument=c.instrument, contracts=1.0, label=f"candidate {i}")
        for i, c in enumerate(candidates)
    )
    cg = portfolio_greeks(one_each, market)
    per_contract = [sub.values(_select(cg, i)) for i in range(len(candidates))]
    scen_pnl: list[np.ndarray] | None = None
    book_scen = None
    if objective == "scenario":
        kw = {"spot_returns": np.linspace(-0.3, 0.3, 13), "vol_shifts": np.linspace(-0.2, 0.2, 9)}
        book_scen = spot_vol_grid(portfolio, market, **kw).result.total_pnl_usd()  # type: ignore[arg-type]
        grid = spot_vol_grid(one_each, market, **kw).result.pnl_usd  # type: ignore[arg-type]
        scen_pnl = [grid[:, i] for i in range(len(candidates))]
    ask_coin = dict(option_bid_ask_coin or {})
    hc = []
    for i, c in enumerate(candidates):
        inst = c.instrument
        index = float(cg.index_usd[i])
        if c.bid_usd is not None and c.ask_usd is not None:
            bid, ask = c.bid_usd, c.ask_usd
        elif inst.is_option:
            if inst.name not in ask_coin:
                raise InvalidArgumentError(
                    "candidates", inst.name, "a listed option with a bid/ask (or bid_usd/ask_usd)"
                )
            b, a = ask_coin[inst.name]
            bid, ask = b * index, a * index
        else:  # a delta-one contract: its "price" is its USD notional (|delta| of one contract)
            notional = abs(float(cg.delta_usd[i]))
            bid = notional * (1.0 - half_spread_bps * 1e-4)
            ask = notional * (1.0 + half_spread_bps * 1e-4)
        if inst.is_option:
            fee = min(option_fee_rate * index * inst.contract_size, 0.125 * max(ask, 0.0))
        else:
            fee = delta_one_fee_rate * 0.5 * (bid + ask)
        mid = 0.5 * (bid + ask)
        if not (bid > 0 and ask >= bid):
            raise InvalidArgumentError(
                f"candidate {inst.name!r}: bid/ask", (bid, ask), "0 < bid <= ask"
            )
        hc.append(
            HedgeCandidate(
                inst.name,
                bid=bid,
                ask=ask,
                exposure=per_contract[i],
                lot=c.lot,
                max_qty=c.max_qty,
                fee_rate=fee / mid,
                scenario_pnl=None if scen_pnl is None else scen_pnl[i],
            )
        )
    bounds = {lim.name: (lim.lo, lim.hi) for lim in linear}
    weights = None
    if objective == "greeks":
        weights = {}
        for lim in linear:
            scale = max(abs(b) for b in (lim.lo, lim.hi) if math.isfinite(b))
            weights[lim.name] = greek_penalty_usd / scale**2 if scale > 0 else greek_penalty_usd
    plan = optimize_hedge(
        exposure=book_values,
        candidates=hc,
        limits=bounds,
        objective={"cost": "cost", "scenario": "es", "greeks": "greeks"}[objective],  # type: ignore[arg-type]
        weights=weights,
        scenario_pnl=book_scen,
        es_level=es_level,
        budget=budget,
    )
    return PortfolioHedge(
        plan=plan,
        candidates=tuple(c.name for c in hc),
        constrained=tuple(lim.name for lim in linear),
        skipped=skipped,
    )


def _select(g: PortfolioGreeks, i: int) -> PortfolioGreeks:
    """The one-position view of position ``i`` (for :meth:`LimitSet.values`)."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(g):
        v = getattr(g, f.name)
        out[f.name] = v[i : i + 1] if isinstance(v, np.ndarray | tuple) else v
    return PortfolioGreeks(**out)  # type: ignore[arg-type]
