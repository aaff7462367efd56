"""One call that answers "what is my risk": Greeks, buckets, scenarios, VaR and limits of a book.

:func:`assess_portfolio` values a :class:`~invrisk.risk.portfolio.Portfolio` with a
:class:`~invrisk.risk.portfolio.MarketSnapshot` and gathers, in a frozen
:class:`RiskAssessment`:

- the Greeks per position and their totals per coin and per (coin, venue);
- the vega of each coin's options by expiry and call-delta bucket;
- a spot x vol grid (default spot -30% … +30% in 5% steps, vol -20 … +20 points in 5-point
  steps, sticky strike);
- the named historical stresses and any user scenarios;
- the exchange-style portfolio margin of each book (:func:`~invrisk.risk.margin.portfolio_margin`,
  default Deribit-like parameters or ``margin_params``);
- VaR and ES by full revaluation (:func:`~invrisk.risk.var_portfolio.portfolio_var`) when a
  return history is given;
- the limit report (:class:`~invrisk.risk.limit_set.LimitSet`), fed with the external metrics
  ``var_usd`` and ``es_usd`` (historical method) and ``margin_usd`` (total initial margin) and,
  when ``equity_usd`` is given, ``margin_utilization`` (initial margin / equity).

The CLI (``invrisk risk``) and the HTML report (:mod:`invrisk.report.risk_report`) only
present it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.risk.greeks import (
    GreeksTotal,
    PortfolioGreeks,
    VegaBuckets,
    portfolio_greeks,
    vega_buckets,
)
from invrisk.risk.limit_set import LimitSet, LimitsReport
from invrisk.risk.margin import MarginParams, MarginResult, portfolio_margin
from invrisk.risk.portfolio import MarketSnapshot, Portfolio
from invrisk.risk.scenarios import (
    HISTORICAL_STRESSES,
    Scenario,
    ScenarioGrid,
    revalue,
    spot_vol_grid,
)
from invrisk.risk.var_portfolio import PortfolioVar, portfolio_var

__all__ = ["DEFAULT_GRID_SPOTS", "DEFAULT_GRID_VOLS", "RiskAssessment", "assess_portfolio"]

DEFAULT_GRID_SPOTS = np.round(np.arange(-0.30, 0.3001, 0.05), 10)
DEFAULT_GRID_VOLS = np.round(np.arange(-0.20, 0.2001, 0.05), 10)


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """Everything :func:`assess_portfolio` computed (see the module docstring)."""

    greeks: PortfolioGreeks
    totals: Mapping[str, GreeksTotal]
    totals_by_venue: Mapping[tuple[str, str], GreeksTotal]
    vega: Mapping[str, VegaBuckets]
    grid: ScenarioGrid
    scenario_names: tuple[str, ...]
    scenario_pnl_usd: Float64Array = field(repr=False)
    margin: MarginResult | None = None
    var: tuple[PortfolioVar, ...] = ()
    limits: LimitsReport | None = None
    equity_usd: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (numbers in the units of the fields' names)."""
        g = self.greeks
        out: dict[str, Any] = {
            "valuation_ns": g.valuation_ns,
            "positions": len(g),
            "totals": {k: t.as_dict() for k, t in self.totals.items()},
            "totals_by_venue": [
                {"underlying": u, "venue": v, **t.as_dict()}
                for (u, v), t in self.totals_by_venue.items()
            ],
            "vega_buckets": {
                coin: {
                    "by": vb.by,
                    "edges": vb.edges.tolist(),
                    "expiry_ns": vb.expiry_ns.tolist(),
                    "vega_usd": vb.vega_usd.tolist(),
                }
                for coin, vb in self.vega.items()
            },
            "grid": {
                "spot_returns": self.grid.spot_returns.tolist(),
                "vol_shifts": self.grid.vol_shifts.tolist(),
                "pnl_usd": self.grid.pnl_usd.tolist(),
            },
            "scenarios": [
                {"name": n, "pnl_usd": float(p)}
                for n, p in zip(self.scenario_names, self.scenario_pnl_usd, strict=True)
            ],
            "var": [
                {
                    "method": v.method,
                    "level": v.level,
                    "var_usd": v.var_usd,
                    "es_usd": v.es_usd,
                    "scenarios": int(v.pnl_usd.size),
                }
                for v in self.var
            ],
            "limits": None if self.limits is None else self.limits.to_records(),
            "margin": None
            if self.margin is None
            else {
                "initial_usd": self.margin.total_initial_margin_usd,
                "maintenance_usd": self.margin.total_maintenance_margin_usd,
                "books": {k: b.summary() for k, b in self.margin.books.items()},
            },
            "equity_usd": self.equity_usd,
        }
        return out


def assess_portfolio(
    portfolio: Portfolio,
    market: MarketSnapshot,
    *,
    scenarios: Sequence[Scenario] = (),
    include_historical: bool = True,
    returns: Mapping[str, ArrayLike] | None = None,
    var_level: float = 0.99,
    var_window: int | None = 1_000,
    limits: LimitSet | None = None,
    margin: bool = True,
    margin_params: MarginParams | Mapping[str, MarginParams] | None = None,
    equity_usd: float | None = None,
    grid_spot_returns: ArrayLike = DEFAULT_GRID_SPOTS,
    grid_vol_shifts: ArrayLike = DEFAULT_GRID_VOLS,
) -> RiskAssessment:
    """Assess ``portfolio`` (see the module docstring).

    Parameters
    ----------
    scenarios, include_historical
        User scenarios, and whether to add :data:`~invrisk.risk.scenarios.HISTORICAL_STRESSES`.
    returns, var_level, var_window
        ``{coin: daily simple returns}`` aligned by date for VaR/ES (historical and filtered
        historical simulation over the last ``var_window`` days; None: all), the level.
    limits
        A :class:`LimitSet` to check; its external metrics may use ``var_usd`` / ``es_usd``
        (of the historical method) when ``returns`` is given, ``margin_usd``, and
        ``margin_utilization`` when ``equity_usd`` is given.
    margin, margin_params, equity_usd
        Compute the portfolio margin (default), with these parameters (per book key, e.g.
        ``"BTC"``; default Deribit-like), and the account equity in USD it is compared with.
    grid_spot_returns, grid_vol_shifts
        The axes of the spot x vol grid (relative spot moves; vol points as decimals).
    """
    if len(portfolio) == 0:
        raise InvalidArgumentError("portfolio", "no positions", "at least one position")
    g = portfolio_greeks(portfolio, market)
    totals = g.totals(by="underlying")
    by_venue = g.totals(by="venue")
    vega: dict[str, VegaBuckets] = {}
    for coin in sorted({u for u, o in zip(g.underlying, g.is_option, strict=True) if o}):
        vega[coin] = vega_buckets(g, underlying=coin)
    grid = spot_vol_grid(
        portfolio, market, spot_returns=grid_spot_returns, vol_shifts=grid_vol_shifts
    )
    scen = list(scenarios)
    if include_historical:
        scen += list(HISTORICAL_STRESSES.values())
    if scen:
        result = revalue(portfolio, market, scen)
        names = tuple(s.name for s in scen)
        pnl = np.asarray(result.total_pnl_usd())
    else:
        names, pnl = (), np.zeros(0)
    var: list[PortfolioVar] = []
    if returns is not None:
        for method in ("historical", "fhs"):
            var.append(
                portfolio_var(
                    portfolio,
                    market,
                    returns=returns,
                    method=method,
                    level=var_level,
                    window=_window(var_window, returns),
                )
            )
    pm = portfolio_margin(portfolio, market, params=margin_params) if margin else None
    if equity_usd is not None and not (np.isfinite(equity_usd) and equity_usd > 0):
        raise InvalidArgumentError("equity_usd", equity_usd, "a finite equity > 0, or None")
    report = None
    if limits is not None:
        extra: dict[str, float] = {}
        if var:
            extra |= {"var_usd": var[0].var_usd, "es_usd": var[0].es_usd}
        if pm is not None:
            extra["margin_usd"] = pm.total_initial_margin_usd
            if equity_usd is not None:
                extra["margin_utilization"] = pm.total_initial_margin_usd / equity_usd
        report = limits.check(g, extra=extra)
    return RiskAssessment(
        greeks=g,
        totals=totals,  # type: ignore[arg-type]
        totals_by_venue=by_venue,  # type: ignore[arg-type]
        vega=vega,
        grid=grid,
        scenario_names=names,
        scenario_pnl_usd=pnl,
        margin=pm,
        var=tuple(var),
        limits=report,
        equity_usd=equity_usd,
    )


def _window(window: int | None, returns: Mapping[str, ArrayLike]) -> int | None:
    if window is None:
        return None
    n = min(np.asarray(r).size for r in returns.values()) if returns else 0
    return min(window, n) if n >= 2 else None
