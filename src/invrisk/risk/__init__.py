"""Portfolio risk and pre-trade limits (layer 2).

- :class:`RiskGuard` (:mod:`invrisk.risk.limits`) — the pre-trade checks every order passes in
  the backtester and the live runtime, and the trading state ``ACTIVE`` / ``REDUCING`` /
  ``HALTED`` driven by drawdown and daily-loss limits and by the operator's kill switches.
- :class:`Portfolio` of :class:`Position` (spot, perpetuals, futures, options; linear or
  coin-settled; any venue; :func:`read_positions` from CSV/JSON) valued with a
  :class:`MarketSnapshot` (:mod:`invrisk.risk.portfolio`); per-position and aggregated Greeks
  and vega buckets (:func:`portfolio_greeks`, :func:`vega_buckets`,
  :mod:`invrisk.risk.greeks`); PnL attribution between two snapshots (:func:`attribute_pnl`).
- Exchange-style portfolio margin (:mod:`invrisk.risk.margin`): Deribit-like risk matrix,
  extended table, delta and roll shocks per book (:func:`portfolio_margin`,
  :class:`MarginParams`, :func:`load_margin_params`).
- Scenarios (:mod:`invrisk.risk.scenarios`): full revaluation under :class:`Scenario` moves
  (:func:`revalue`), spot x vol grids (:func:`spot_vol_grid`), named
  :data:`HISTORICAL_STRESSES`, user scenarios from TOML (:func:`load_scenarios`).
"""

from __future__ import annotations

from invrisk.risk.attribution import ATTRIBUTION_TERMS, PnLAttribution, attribute_pnl
from invrisk.risk.greeks import (
    GREEK_FIELDS,
    GreeksTotal,
    PortfolioGreeks,
    VegaBuckets,
    portfolio_greeks,
    vega_buckets,
)
from invrisk.risk.limits import (
    REJECT_REASONS,
    GuardLimits,
    InstrumentLimits,
    RiskGuard,
    TradingState,
    Transition,
    Verdict,
)
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

__all__ = [
    "ATTRIBUTION_TERMS",
    "DEFAULT_MARGIN_PARAMS",
    "DERIBIT_LIKE_TERMS",
    "FLAT_TERMS",
    "GREEK_FIELDS",
    "HISTORICAL_STRESSES",
    "POSITION_COLUMNS",
    "REJECT_REASONS",
    "USD_LIKE",
    "VOL_STATES",
    "CurrencyMargin",
    "GreeksTotal",
    "GuardLimits",
    "InstrumentLimits",
    "MarginParams",
    "MarginResult",
    "MarginScenario",
    "MarketSnapshot",
    "OptionQuote",
    "PnLAttribution",
    "Portfolio",
    "PortfolioGreeks",
    "Position",
    "RiskGuard",
    "Scenario",
    "ScenarioGrid",
    "ScenarioResult",
    "TermWeighting",
    "TradingState",
    "Transition",
    "VegaBuckets",
    "Verdict",
    "attribute_pnl",
    "historical_stress",
    "load_margin_params",
    "load_scenarios",
    "portfolio_greeks",
    "portfolio_margin",
    "read_positions",
    "revalue",
    "spot_vol_grid",
    "vega_buckets",
]
