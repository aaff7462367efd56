"""Volatility surfaces: arbitrage-free SVI / SSVI fits of option chains, diagnostics, shocks.

- :func:`fit_surface` fits a :class:`VolSurface` to an option chain (per-expiry raw SVI, a
  global power-law SSVI or an extended SSVI), free of butterfly and calendar arbitrage.
- :func:`arbitrage_report` checks a surface: butterfly density, calendar crossings, call-price
  monotonicity and convexity.
- :class:`VolShock` and :meth:`VolSurface.moved` give shocked surfaces and spot moves under
  sticky-strike or sticky-moneyness dynamics.
"""

from __future__ import annotations

from invrisk.surface.arbitrage import (
    ArbitrageReport,
    arbitrage_report,
    butterfly_density,
    call_price_violations,
)
from invrisk.surface.essvi import ESSVIFit, essvi_total_variance, fit_essvi
from invrisk.surface.quotes import REJECTION_REASONS, SmileQuotes, smile_quotes
from invrisk.surface.shocks import VolShock, term_weight
from invrisk.surface.ssvi import SSVIFit, SSVIParams, fit_ssvi, ssvi_eta_max, ssvi_total_variance
from invrisk.surface.surface import SliceFit, VolSurface, fit_surface
from invrisk.surface.svi import SVIFit, SVIParams, fit_svi, svi_density_g, svi_total_variance

__all__ = [
    "REJECTION_REASONS",
    "ArbitrageReport",
    "ESSVIFit",
    "SSVIFit",
    "SSVIParams",
    "SVIFit",
    "SVIParams",
    "SliceFit",
    "SmileQuotes",
    "VolShock",
    "VolSurface",
    "arbitrage_report",
    "butterfly_density",
    "call_price_violations",
    "essvi_total_variance",
    "fit_essvi",
    "fit_ssvi",
    "fit_surface",
    "fit_svi",
    "smile_quotes",
    "ssvi_eta_max",
    "ssvi_total_variance",
    "svi_density_g",
    "svi_total_variance",
    "term_weight",
]
