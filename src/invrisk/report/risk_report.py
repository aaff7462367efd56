"""HTML risk report of a book: Greeks, vega buckets, scenario heatmap, stresses, VaR, limits,
and (given a :class:`~invrisk.risk.venues.VenueReport`) the venue view.

One self-contained page (plotly.js embedded once) presenting a
:class:`~invrisk.risk.assess.RiskAssessment`; no computation beyond formatting.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from invrisk.errors import InvalidArgumentError
from invrisk.report import _html
from invrisk.risk.assess import RiskAssessment
from invrisk.units import NS_PER_DAY, ns_to_iso

if TYPE_CHECKING:
    from invrisk.risk.venues import VenueReport

__all__ = ["risk_report", "write_risk_report"]

_CONFIG = {"displaylogo": False}
_TOTAL_COLUMNS: list[_html.Column] = [
    ("underlying", "coin", ""),
    ("n_positions", "positions", ""),
    ("value_usd", "value USD", ",.0f"),
    ("delta_coin", "delta (coin)", ",.3f"),
    ("delta_premium_adjusted_coin", "delta prem.-adj. (coin)", ",.3f"),
    ("delta_usd", "delta USD", ",.0f"),
    ("cash_gamma_usd", "cash gamma USD", ",.0f"),
    ("vega_usd", "vega USD / 1.0 vol", ",.0f"),
    ("theta_usd", "theta USD / yr", ",.0f"),
    ("volga_usd", "volga USD", ",.0f"),
    ("vanna_coin", "vanna (coin)", ",.3f"),
    ("rho_usd", "rho USD", ",.0f"),
]
_LIMIT_COLUMNS: list[_html.Column] = [
    ("name", "limit", ""),
    ("metric", "metric", ""),
    ("scope", "scope", ""),
    ("value", "value", ",.4g"),
    ("lo", "low", ",.4g"),
    ("hi", "high", ",.4g"),
    ("utilization", "utilization", ".0%"),
    ("breached", "breached", ""),
]


def _grid_figure(a: RiskAssessment) -> go.Figure:
    g = a.grid
    z = g.pnl_usd
    fig = go.Figure(
        go.Heatmap(
            x=[f"{v * 100:+.0f} pts" for v in g.vol_shifts],
            y=[f"{s * 100:+.0f}%" for s in g.spot_returns],
            z=z,
            colorscale="RdYlGn",
            zmid=0.0,
            text=np.vectorize(lambda v: f"{v:,.0f}")(z),
            texttemplate="%{text}",
            hovertemplate="spot %{y}, vol %{x}<br>P&L %{z:,.0f} USD<extra></extra>",
            colorbar={"title": "P&L USD"},
        )
    )
    fig.update_layout(
        title="Full revaluation: spot move x parallel vol shift (sticky strike)",
        xaxis_title="implied vol shift",
        yaxis_title="index move (every coin)",
        height=520,
        margin={"t": 50, "l": 70, "r": 20, "b": 50},
    )
    return fig


def _vega_figure(a: RiskAssessment, coin: str) -> go.Figure:
    vb = a.vega[coin]
    days = (vb.expiry_ns - a.greeks.valuation_ns) / NS_PER_DAY
    labels = [f"{e[0]:g}-{e[1]:g}" for e in zip(vb.edges[:-1], vb.edges[1:], strict=True)]
    fig = go.Figure(
        go.Heatmap(
            x=labels,
            y=[f"{d:.0f} d" for d in days],
            z=vb.vega_usd,
            colorscale="RdBu",
            zmid=0.0,
            hovertemplate="expiry %{y}, call delta %{x}<br>vega %{z:,.0f} USD<extra></extra>",
            colorbar={"title": "vega USD"},
        )
    )
    fig.update_layout(
        title=f"{coin} vega by expiry and call-delta bucket (USD per 1.0 of vol)",
        xaxis_title="call delta N(d1)",
        yaxis_title="days to expiry",
        height=380,
        margin={"t": 50, "l": 70, "r": 20, "b": 50},
    )
    return fig


def _scenario_figure(a: RiskAssessment) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=a.scenario_pnl_usd,
            y=list(a.scenario_names),
            orientation="h",
            marker={"color": ["#b00020" if v < 0 else "#1b7f3b" for v in a.scenario_pnl_usd]},
            hovertemplate="%{y}: %{x:,.0f} USD<extra></extra>",
        )
    )
    fig.update_layout(
        title="Stress scenarios: portfolio P&L (USD)",
        height=120 + 28 * len(a.scenario_names),
        margin={"t": 50, "l": 220, "r": 20, "b": 40},
    )
    return fig


_VENUE_COLUMNS: list[_html.Column] = [
    ("venue", "venue", ""),
    ("type", "type", ""),
    ("positions", "positions", ""),
    ("gross_value_usd", "gross USD", ",.0f"),
    ("net_value_usd", "net USD", ",.0f"),
    ("collateral_usd", "collateral USD", ",.0f"),
    ("at_risk_usd", "claim at risk USD", ",.0f"),
    ("expected_loss_usd", "expected loss USD / yr", ",.0f"),
    ("delta_usd", "delta USD", ",.0f"),
    ("withdrawal_delay_days", "withdrawal days", ",.1f"),
]
_FAILURE_COLUMNS: list[_html.Column] = [
    ("venue", "venue fails", ""),
    ("loss_usd", "loss USD", ",.0f"),
    ("recovered_usd", "recovered USD", ",.0f"),
    ("delta_before_usd", "book delta before USD", ",.0f"),
    ("delta_after_usd", "book delta after USD", ",.0f"),
]


def _venue_figure(v: VenueReport) -> go.Figure:
    names = [f.venue for f in v.failures]
    fig = go.Figure(
        [
            go.Bar(name="loss if it fails now", x=names, y=[f.loss_usd for f in v.failures]),
            go.Bar(
                name="expected loss over a year",
                x=names,
                y=[r.expected_loss_usd for r in v.exposures],
            ),
        ]
    )
    fig.update_layout(
        title="Venue failure: loss now and expected loss over a year (USD)",
        yaxis_title="USD",
        barmode="group",
        height=380,
        margin={"t": 50, "l": 70, "r": 20, "b": 50},
    )
    return fig


def _venue_section(v: VenueReport, chart: Any) -> list[str]:
    depeg = ", ".join(f"{c} {x:,.0f} USD" for c, x in v.depeg_loss_usd.items())
    out = [
        "<h2>Venues</h2>",
        _html.records_table([dataclasses.asdict(r) for r in v.exposures], _VENUE_COLUMNS, left=2),
        chart(_venue_figure(v), "invrisk-risk-venues"),
        _html.records_table(
            [dataclasses.asdict(f) for f in v.failures]
            + [{**dataclasses.asdict(f), "venue": f"chain {f.venue} halts"} for f in v.chain_halts],
            _FAILURE_COLUMNS,
        ),
        f"<p>Stablecoin de-peg of {v.depeg_move:+.1%}: loss {_html.esc(depeg)}.</p>",
    ]
    if v.limits is not None:
        out += [
            _html.verdict("venue limits met", v.limits.ok),
            _html.records_table(v.limits.to_records(), _LIMIT_COLUMNS, left=3),
        ]
    return out


def risk_report(
    assessment: RiskAssessment, *, title: str | None = None, venues: VenueReport | None = None
) -> str:
    """The HTML page for ``assessment`` (with the venue view when ``venues`` is given)."""
    if not isinstance(assessment, RiskAssessment):
        raise InvalidArgumentError("assessment", type(assessment).__name__, "a RiskAssessment")
    a = assessment
    heading = (
        title or f"Risk of a book of {len(a.greeks)} positions, {ns_to_iso(a.greeks.valuation_ns)}"
    )
    body: list[str] = []
    totals: list[dict[str, Any]] = [t.as_dict() for t in a.totals.values()]
    body += ["<h2>Greeks by coin</h2>", _html.records_table(totals, _TOTAL_COLUMNS)]
    first = True

    def chart(fig: go.Figure, div: str) -> str:
        nonlocal first
        html = str(fig.to_html(full_html=False, include_plotlyjs=first, div_id=div, config=_CONFIG))
        first = False
        return html

    body += ["<h2>Scenarios</h2>", chart(_grid_figure(a), "invrisk-risk-grid")]
    if a.scenario_names:
        body.append(chart(_scenario_figure(a), "invrisk-risk-stress"))
    for coin in a.vega:
        body.append(chart(_vega_figure(a, coin), f"invrisk-risk-vega-{coin}"))
    if a.var:
        rows = [
            [
                v.method,
                f"{v.level:.0%}",
                f"{v.var_usd:,.0f}",
                f"{v.es_usd:,.0f}",
                f"{v.pnl_usd.size:,}",
            ]
            for v in a.var
        ]
        body += [
            "<h2>VaR and ES (one day, full revaluation)</h2>",
            _html.table(["method", "level", "VaR USD", "ES USD", "scenarios"], rows),
        ]
    if a.limits is not None:
        verdict = _html.verdict("all limits met", a.limits.ok)
        body += [
            "<h2>Limits</h2>",
            verdict,
            _html.records_table(a.limits.to_records(), _LIMIT_COLUMNS, left=3),
        ]
    if venues is not None:
        body += _venue_section(venues, chart)
    return _html.page(heading, body)


def write_risk_report(
    assessment: RiskAssessment,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    venues: VenueReport | None = None,
) -> Path:
    """Write :func:`risk_report` to ``path`` atomically and return the path."""
    return _html.write_atomic(path, risk_report(assessment, title=title, venues=venues))
