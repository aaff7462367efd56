"""Reports: self-contained HTML pages with plotly charts (layer 5, presentation).

- :func:`surface_report_html` / :func:`write_surface_report`: a fitted volatility surface, its
  smiles against the quotes, a 3-D view, fit quality and arbitrage diagnostics.
- :func:`surface_figures`: the same charts as plotly figures, for notebooks.

plotly is imported here and nowhere below this layer.
"""

from __future__ import annotations

from invrisk.report.surface_plot import (
    surface_figures,
    surface_report_html,
    write_surface_report,
)

__all__ = ["surface_figures", "surface_report_html", "write_surface_report"]
