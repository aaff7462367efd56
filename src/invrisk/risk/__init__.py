"""Portfolio risk and pre-trade limits (layer 2).

- :class:`RiskGuard` (:mod:`invrisk.risk.limits`) — the pre-trade checks every order passes in
  the backtester and the live runtime, and the trading state ``ACTIVE`` / ``REDUCING`` /
  ``HALTED`` driven by drawdown and daily-loss limits and by the operator's kill switches.
"""

from __future__ import annotations

from invrisk.risk.limits import (
    REJECT_REASONS,
    GuardLimits,
    InstrumentLimits,
    RiskGuard,
    TradingState,
    Transition,
    Verdict,
)

__all__ = [
    "REJECT_REASONS",
    "GuardLimits",
    "InstrumentLimits",
    "RiskGuard",
    "TradingState",
    "Transition",
    "Verdict",
]
