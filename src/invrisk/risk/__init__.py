"""Portfolio risk and pre-trade limits (layer 2).

- :class:`RiskGuard` (:mod:`invrisk.risk.limits`) — the pre-trade checks every order passes in
  the backtester and the live runtime, and the trading state ``ACTIVE`` / ``REDUCING`` /
  ``HALTED`` driven by drawdown and daily-loss limits and by the operator's kill switches.
- :class:`Portfolio` of :class:`Position` (spot, perpetuals, futures, options; linear or
  coin-settled; any venue; AMM liquidity ranges from :func:`lp_position`;
  :func:`read_positions` from CSV/JSON) valued with a :class:`MarketSnapshot`
  (:mod:`invrisk.risk.portfolio`); per-position and aggregated Greeks and vega buckets
  (:func:`portfolio_greeks`, :func:`vega_buckets`, :mod:`invrisk.risk.greeks`); PnL
  attribution between two snapshots (:func:`attribute_pnl`).
- Exchange-style portfolio margin (:mod:`invrisk.risk.margin`): Deribit-like risk matrix,
  extended table, delta and roll shocks per book (:func:`portfolio_margin`,
  :class:`MarginParams`, :func:`load_margin_params`).
- Scenarios (:mod:`invrisk.risk.scenarios`): full revaluation under :class:`Scenario` moves
  (:func:`revalue`), spot x vol grids (:func:`spot_vol_grid`), named
  :data:`HISTORICAL_STRESSES`, user scenarios from TOML (:func:`load_scenarios`).
- VaR and ES (:mod:`invrisk.risk.var`: :func:`var_es`, filtered historical and Student-t
  scenarios, :func:`backtest_var` with Kupiec and Christoffersen tests;
  :mod:`invrisk.risk.var_portfolio`: :func:`portfolio_var` by full revaluation).
- Limits (:mod:`invrisk.risk.limit_set`): a declarative :class:`LimitSet` (net Greeks per coin,
  venue and vega bucket, gross exposures, VaR or margin), its breach report, TOML
  (:func:`load_limits`); the :class:`RiskGuard` checks orders against the same set.
- :func:`assess_portfolio` (:mod:`invrisk.risk.assess`) gathers all of it for one book.
- Venue risk (:mod:`invrisk.risk.venues`): exposure, expected loss and failure or de-peg
  stresses per exchange, custodian, protocol or chain; :func:`allocate_capital` splits capital
  across venues under margin, concentration and single-failure caps.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invrisk.risk.allocation import Allocation, AllocationInfeasibleError, allocate_capital
    from invrisk.risk.assess import RiskAssessment, assess_portfolio
    from invrisk.risk.attribution import ATTRIBUTION_TERMS, PnLAttribution, attribute_pnl
    from invrisk.risk.greeks import (
        GREEK_FIELDS,
        GreeksTotal,
        PortfolioGreeks,
        VegaBuckets,
        portfolio_greeks,
        vega_buckets,
    )
    from invrisk.risk.limit_set import Limit, LimitRow, LimitSet, LimitsReport, load_limits
    from invrisk.risk.limits import (
        REJECT_REASONS,
        GuardLimits,
        InstrumentLimits,
        RiskGuard,
        TradingState,
        Transition,
        Verdict,
    )
    from invrisk.risk.lp import lp_instrument, lp_position, unwrapped_symbol
    from invrisk.risk.margin import (
        DEFAULT_MARGIN_PARAMS,
        VOL_STATES,
        CurrencyMargin,
        MarginParams,
        MarginResult,
        MarginScenario,
        load_margin_params,
        portfolio_margin,
    )
    from invrisk.risk.portfolio import (
        POSITION_COLUMNS,
        USD_LIKE,
        MarketSnapshot,
        OptionQuote,
        Portfolio,
        Position,
        read_positions,
    )
    from invrisk.risk.scenarios import (
        DERIBIT_LIKE_TERMS,
        FLAT_TERMS,
        HISTORICAL_STRESSES,
        Scenario,
        ScenarioGrid,
        ScenarioResult,
        TermWeighting,
        historical_stress,
        load_scenarios,
        revalue,
        spot_vol_grid,
    )
    from invrisk.risk.var import (
        CoverageTest,
        VarBacktest,
        VarEstimate,
        backtest_var,
        christoffersen_independence,
        kupiec_pof,
        var_es,
    )
    from invrisk.risk.var_portfolio import PortfolioVar, portfolio_var
    from invrisk.risk.venues import (
        DEFAULT_VENUE_TYPES,
        VenueExposure,
        VenueFailure,
        VenueSpec,
        depeg_from_prices,
        load_venues,
        stablecoin_depeg,
        venue_exposures,
        venue_failure,
    )

# Names load from their modules on first use (PEP 562): the backtester imports
# ``invrisk.risk.limits`` alone, without the portfolio, surface and scipy machinery.
_SOURCES = {
    "Allocation": "allocation",
    "AllocationInfeasibleError": "allocation",
    "allocate_capital": "allocation",
    "DEFAULT_VENUE_TYPES": "venues",
    "VenueExposure": "venues",
    "VenueFailure": "venues",
    "VenueSpec": "venues",
    "depeg_from_prices": "venues",
    "load_venues": "venues",
    "stablecoin_depeg": "venues",
    "venue_exposures": "venues",
    "venue_failure": "venues",
    "ATTRIBUTION_TERMS": "attribution",
    "CoverageTest": "var",
    "CurrencyMargin": "margin",
    "DEFAULT_MARGIN_PARAMS": "margin",
    "DERIBIT_LIKE_TERMS": "scenarios",
    "FLAT_TERMS": "scenarios",
    "GREEK_FIELDS": "greeks",
    "GreeksTotal": "greeks",
    "GuardLimits": "limits",
    "HISTORICAL_STRESSES": "scenarios",
    "InstrumentLimits": "limits",
    "Limit": "limit_set",
    "LimitRow": "limit_set",
    "LimitSet": "limit_set",
    "LimitsReport": "limit_set",
    "MarginParams": "margin",
    "MarginResult": "margin",
    "MarginScenario": "margin",
    "MarketSnapshot": "portfolio",
    "OptionQuote": "portfolio",
    "POSITION_COLUMNS": "portfolio",
    "PnLAttribution": "attribution",
    "Portfolio": "portfolio",
    "PortfolioGreeks": "greeks",
    "PortfolioVar": "var_portfolio",
    "Position": "portfolio",
    "REJECT_REASONS": "limits",
    "RiskAssessment": "assess",
    "RiskGuard": "limits",
    "Scenario": "scenarios",
    "ScenarioGrid": "scenarios",
    "ScenarioResult": "scenarios",
    "TermWeighting": "scenarios",
    "TradingState": "limits",
    "Transition": "limits",
    "USD_LIKE": "portfolio",
    "VOL_STATES": "margin",
    "VarBacktest": "var",
    "VarEstimate": "var",
    "VegaBuckets": "greeks",
    "Verdict": "limits",
    "assess_portfolio": "assess",
    "attribute_pnl": "attribution",
    "backtest_var": "var",
    "christoffersen_independence": "var",
    "historical_stress": "scenarios",
    "kupiec_pof": "var",
    "load_limits": "limit_set",
    "load_margin_params": "margin",
    "lp_instrument": "lp",
    "lp_position": "lp",
    "unwrapped_symbol": "lp",
    "load_scenarios": "scenarios",
    "portfolio_greeks": "greeks",
    "portfolio_margin": "margin",
    "portfolio_var": "var_portfolio",
    "read_positions": "portfolio",
    "revalue": "scenarios",
    "spot_vol_grid": "scenarios",
    "var_es": "var",
    "vega_buckets": "greeks",
}


def __getattr__(name: str) -> object:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'invrisk.risk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"invrisk.risk.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))


__all__ = [
    "ATTRIBUTION_TERMS",
    "DEFAULT_MARGIN_PARAMS",
    "DEFAULT_VENUE_TYPES",
    "DERIBIT_LIKE_TERMS",
    "FLAT_TERMS",
    "GREEK_FIELDS",
    "HISTORICAL_STRESSES",
    "POSITION_COLUMNS",
    "REJECT_REASONS",
    "USD_LIKE",
    "VOL_STATES",
    "Allocation",
    "AllocationInfeasibleError",
    "CoverageTest",
    "CurrencyMargin",
    "GreeksTotal",
    "GuardLimits",
    "InstrumentLimits",
    "Limit",
    "LimitRow",
    "LimitSet",
    "LimitsReport",
    "MarginParams",
    "MarginResult",
    "MarginScenario",
    "MarketSnapshot",
    "OptionQuote",
    "PnLAttribution",
    "Portfolio",
    "PortfolioGreeks",
    "PortfolioVar",
    "Position",
    "RiskAssessment",
    "RiskGuard",
    "Scenario",
    "ScenarioGrid",
    "ScenarioResult",
    "TermWeighting",
    "TradingState",
    "Transition",
    "VarBacktest",
    "VarEstimate",
    "VegaBuckets",
    "VenueExposure",
    "VenueFailure",
    "VenueSpec",
    "Verdict",
    "allocate_capital",
    "assess_portfolio",
    "attribute_pnl",
    "backtest_var",
    "christoffersen_independence",
    "depeg_from_prices",
    "historical_stress",
    "kupiec_pof",
    "load_limits",
    "load_margin_params",
    "load_scenarios",
    "load_venues",
    "lp_instrument",
    "lp_position",
    "portfolio_greeks",
    "portfolio_margin",
    "portfolio_var",
    "read_positions",
    "revalue",
    "spot_vol_grid",
    "stablecoin_depeg",
    "unwrapped_symbol",
    "var_es",
    "vega_buckets",
    "venue_exposures",
    "venue_failure",
]
