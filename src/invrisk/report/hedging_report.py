"""HTML report of a hedging-policy study: hedging error against cost, the efficient frontier.

One self-contained page (plotly.js embedded once): a scatter of every policy's mean cost
against the standard deviation and against the CVaR of its hedged P&L, one colour per policy
family, the efficient rows joined by a line; and the table of all rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from invrisk.errors import InvalidArgumentError
from invrisk.hedging.study import HedgingStudy
from invrisk.report import _html

__all__ = ["hedging_report", "write_hedging_report"]

_CONFIG = {"displaylogo": False}
_COLUMNS: list[_html.Column] = [
    ("label", "policy", ""),
    ("family", "family", ""),
    ("mean_cost", "mean cost", ".4f"),
    ("std_pnl", "P&L std", ".4f"),
    ("cvar", "P&L CVaR", ".4f"),
    ("mean_pnl", "mean P&L", ".4f"),
    ("mean_trades", "trades", ".1f"),
    ("efficient", "efficient (std)", ""),
]


def _figure(study: HedgingStudy) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "standard deviation of the hedged P&L",
            f"CVaR {study.cvar_level:.0%} of the hedged P&L (loss)",
        ),
    )
    families = sorted({r.family for r in study.rows})
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    for k, fam in enumerate(families):
        rows = [r for r in study.rows if r.family == fam]
        for col, attr in ((1, "std_pnl"), (2, "cvar")):
            fig.add_trace(
                go.Scatter(
                    x=[r.mean_cost for r in rows],
                    y=[getattr(r, attr) for r in rows],
                    mode="markers",
                    name=fam,
                    legendgroup=fam,
                    showlegend=col == 1,
                    marker={"color": palette[k % len(palette)], "size": 9},
                    text=[r.label for r in rows],
                    hovertemplate="%{text}<br>cost %{x:.4f}<br>risk %{y:.4f}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    front = study.frontier()
    fig.add_trace(
        go.Scatter(
            x=[r.mean_cost for r in front],
            y=[r.std_pnl for r in front],
            mode="lines",
            name="efficient frontier",
            line={"color": "#444", "dash": "dot"},
        ),
        row=1,
        col=1,
    )
    for col in (1, 2):
        fig.update_xaxes(title_text="mean transaction cost per option", row=1, col=col)
    fig.update_layout(height=480, margin={"t": 60, "l": 60, "r": 20, "b": 50})
    return fig


def hedging_report(study: HedgingStudy, *, title: str | None = None) -> str:
    """The HTML page for ``study`` (see the module docstring)."""
    if not isinstance(study, HedgingStudy):
        raise InvalidArgumentError("study", type(study).__name__, "a HedgingStudy")
    heading = title or f"Hedging policies{' on ' + study.source if study.source else ''}"
    days = study.n_steps * study.dt_yr * 365.0
    meta = _html.key_value_table(
        [
            ("paths", f"{study.n_paths:,}"),
            ("option", f"{days:.1f} days, {study.n_steps} rebalancing steps, sold at the money"),
            ("pricing and hedging volatility", f"{study.vol:.0%}"),
            ("transaction cost", f"{study.cost_rate * 1e4:.1f} bp of the traded notional"),
        ]
    )
    chart = _figure(study).to_html(
        full_html=False, include_plotlyjs=True, div_id="invrisk-hedging", config=_CONFIG
    )
    note = (
        '<p class="note">Costs and P&amp;L in the underlying\'s price unit per option sold. '
        "A row is efficient when no other row has both a lower (or equal) mean cost and a "
        "lower (or equal) P&amp;L standard deviation.</p>"
    )
    body = [
        meta,
        chart,
        note,
        "<h2>All policies</h2>",
        _html.records_table(study.to_records(), _COLUMNS, left=2),
    ]
    return _html.page(heading, body)


def write_hedging_report(
    study: HedgingStudy, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write :func:`hedging_report` to ``path`` atomically and return the path."""
    return _html.write_atomic(path, hedging_report(study, title=title))
