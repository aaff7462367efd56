"""Reports: self-contained HTML pages with plotly charts (layer 5, presentation).

- :func:`backtest_report` / :func:`write_backtest_report`: a backtest's metrics, equity and its
  PnL decomposition, inventory, quotes with fills and markouts, per instrument.
- :func:`surface_report_html` / :func:`write_surface_report`: a fitted volatility surface, its
  smiles against the quotes, a 3-D view, fit quality and arbitrage diagnostics.
- :func:`surface_figures`: the same charts as plotly figures, for notebooks.

plotly is imported here and nowhere below this layer.
"""

from __future__ import annotations

from invrisk.report.backtest_report import backtest_report, write_backtest_report
from invrisk.report.surface_plot import (
    surface_figures,
    surface_report_html,
    write_surface_report,
)

__all__ = [
    "backtest_report",
    "surface_figures",
    "surface_report_html",
    "write_backtest_report",
    "write_surface_report",
]
