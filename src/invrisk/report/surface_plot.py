"""HTML report of a fitted volatility surface.

One self-contained HTML document (plotly.js embedded, opens offline) with:

1. a header: currency, model, valuation time, number of expiries (and shock, SSVI parameters);
2. one smile panel per expiry, implied vol (%) over log-moneyness k = ln(K/F): the quotes' bid
   and ask IVs, the target IV the fit was made to, and the fitted smile, solid over the quoted
   range and dotted where it extrapolates;
3. a 3-D view of implied vol (%) over k and days to expiry, drawn over the quoted range of
   log-moneyness (interpolated in time between expiries), with the fitted expiries as lines;
4. a table of fit quality per expiry and, given an :class:`~invrisk.surface.ArbitrageReport`,
   the butterfly, calendar and call-price diagnostics with a one-line verdict.

The output depends only on the inputs: no clock is read and the plotly div ids are fixed, so
two renders of the same surface are byte-identical.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.report import _html
from invrisk.surface import ArbitrageReport, SliceFit, SmileQuotes, VolSurface
from invrisk.units import DAYS_PER_YEAR, ns_to_iso, vol_to_pct

__all__ = ["surface_figures", "surface_report_html", "write_surface_report"]

_TEMPLATE = "plotly_white"  # fixed, so the global plotly default cannot change the output
_CONFIG = {"displaylogo": False, "responsive": True}
_PANEL_HEIGHT_PX = 270
_FIT_POINTS = 161
_WIDEN = 0.25  # the fitted line reaches this fraction of the quoted k-range beyond each end
_FIT_COLOUR = "#1d3557"
_COLOURS = {"bid": "#2a9d8f", "ask": "#e76f51", "target": "#264653", "mark": "#8d99ae"}


def surface_figures(
    surface: VolSurface, *, quotes: Sequence[SmileQuotes] | None = None
) -> tuple[go.Figure, go.Figure]:
    """The report's two charts: (smile panels, 3-D surface), as plotly figures.

    Every smile trace carries its expiry (ISO) in ``meta``; the fitted line's ``name`` is
    ``"<MODEL> fit"``.
    """
    by_expiry = _check_inputs(surface, quotes, None, None)
    return _smile_figure(surface, by_expiry), _surface_figure(surface, by_expiry)


def surface_report_html(
    surface: VolSurface,
    *,
    quotes: Sequence[SmileQuotes] | None = None,
    report: ArbitrageReport | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML document describing a fitted volatility surface.

    Parameters
    ----------
    surface
        The fitted surface (:func:`invrisk.surface.fit_surface`).
    quotes
        The quotes it was fitted to (:func:`invrisk.surface.smile_quotes`), drawn on the smile
        panels; without them only the fitted smiles are shown. Quotes of expiries that are not
        in the surface are left out (and counted in a note).
    report
        Arbitrage diagnostics (:func:`invrisk.surface.arbitrage_report`), tabulated if given.
    title
        Page title; default ``"<currency> volatility surface, <valuation ISO>"``.

    Returns
    -------
    str
        The HTML text (a few MB: the plotly.js bundle is embedded once).

    Raises
    ------
    InvalidArgumentError
        If an argument has the wrong type, or ``quotes`` holds an expiry twice.
    """
    by_expiry = _check_inputs(surface, quotes, report, title)
    valuation = ns_to_iso(surface.valuation_ns)
    heading = title if title is not None else f"{surface.currency} volatility surface, {valuation}"
    known = {int(e) for e in surface.expiry_ns}
    unplotted = sorted(e for e in by_expiry if e not in known)
    smiles = _smile_figure(surface, by_expiry)
    surf = _surface_figure(surface, by_expiry)
    smiles_div = smiles.to_html(
        full_html=False, include_plotlyjs=True, div_id="invrisk-smiles", config=_CONFIG
    )
    surf_div = surf.to_html(
        full_html=False, include_plotlyjs=False, div_id="invrisk-surface", config=_CONFIG
    )
    notes = []
    if not by_expiry:
        notes.append("No quotes given: the panels show the fitted smiles only.")
    if unplotted:
        labels = ", ".join(ns_to_iso(e) for e in unplotted)
        notes.append(f"Quotes of {len(unplotted)} expiries not in the surface: {labels}.")
    return _html.page(
        heading,
        [
            _header_table(surface),
            "<h2>Smiles per expiry</h2>",
            *(f'<p class="note">{_html.esc(n)}</p>' for n in notes),
            smiles_div,
            "<h2>Implied volatility surface</h2>",
            '<p class="note">Drawn over the quoted log-moneyness range of each expiry, '
            "interpolated in time between expiries; black lines are the fitted expiries.</p>",
            surf_div,
            "<h2>Fit quality</h2>",
            _fit_table(surface),
            "<h2>Arbitrage diagnostics</h2>",
            _arbitrage_section(report),
        ],
    )


def write_surface_report(
    path: str | os.PathLike[str],
    surface: VolSurface,
    *,
    quotes: Sequence[SmileQuotes] | None = None,
    report: ArbitrageReport | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`surface_report_html` to ``path`` atomically and return the path.

    The text goes to a temporary file in the same directory, which then replaces ``path``
    (``os.replace``): a reader never sees a half-written report, and a failure leaves no
    temporary file behind. The directory must exist (else :class:`InvalidArgumentError`).
    """
    text = surface_report_html(surface, quotes=quotes, report=report, title=title)
    return _html.write_atomic(path, text)


# -- validation ----------------------------------------------------------------------------------


def _check_inputs(
    surface: object, quotes: object, report: object, title: object
) -> dict[int, SmileQuotes]:
    """Check the arguments' types; return the quotes keyed by expiry (ns)."""
    if not isinstance(surface, VolSurface):
        raise InvalidArgumentError(
            "surface", type(surface).__name__, "a VolSurface (invrisk.surface.fit_surface)"
        )
    if report is not None and not isinstance(report, ArbitrageReport):
        raise InvalidArgumentError(
            "report", type(report).__name__, "None or an ArbitrageReport (arbitrage_report)"
        )
    if title is not None and not isinstance(title, str):
        raise InvalidArgumentError("title", type(title).__name__, "None or a string")
    if quotes is None:
        return {}
    if not isinstance(quotes, Sequence) or isinstance(quotes, str):
        raise InvalidArgumentError(
            "quotes", type(quotes).__name__, "None or a list of SmileQuotes (smile_quotes)"
        )
    out: dict[int, SmileQuotes] = {}
    for i, q in enumerate(quotes):
        if not isinstance(q, SmileQuotes):
            raise InvalidArgumentError(f"quotes[{i}]", type(q).__name__, "a SmileQuotes")
        if q.expiry_ns in out:
            raise InvalidArgumentError(
                f"quotes[{i}]", ns_to_iso(q.expiry_ns), "one SmileQuotes per expiry"
            )
        out[int(q.expiry_ns)] = q
    return out


# -- charts --------------------------------------------------------------------------------------


def _pct(vol: Float64Array) -> Float64Array:
    return np.asarray(vol_to_pct(vol), dtype=np.float64)


def _days(s: SliceFit) -> float:
    return s.t_yr * DAYS_PER_YEAR


def _smile_figure(surface: VolSurface, by_expiry: dict[int, SmileQuotes]) -> go.Figure:
    slices = surface.slices
    n = len(slices)
    ncols = min(4, math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    height = _PANEL_HEIGHT_PX * nrows + 110
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[f"{ns_to_iso(s.expiry_ns)[:10]} ({_days(s):.1f} d)" for s in slices],
        horizontal_spacing=0.06,
        vertical_spacing=75.0 / height,
    )
    for i, s in enumerate(slices):
        row, col = i // ncols + 1, i % ncols + 1
        for trace in _smile_traces(surface, s, by_expiry.get(int(s.expiry_ns)), i == 0):
            fig.add_trace(trace, row=row, col=col)
        bottom = i + ncols >= n  # no panel below this one in its column
        x_title = "log-moneyness k = ln(K/F) (–)" if bottom else None
        fig.update_xaxes(title_text=x_title, row=row, col=col)
        fig.update_yaxes(title_text="implied vol (%)" if col == 1 else None, row=row, col=col)
    fig.update_annotations(font_size=12)
    fig.update_layout(
        template=_TEMPLATE,
        height=height,
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        legend={"orientation": "h", "x": 0.0, "y": 1.0, "yanchor": "top", "yref": "container"},
        hovermode="closest",
    )
    return fig


def _smile_traces(
    surface: VolSurface, s: SliceFit, q: SmileQuotes | None, first: bool
) -> list[go.Scatter]:
    """One expiry's panel: bid, ask and target IV of the quotes, and the fitted smile.

    The fitted smile is solid over the quoted range and dotted over ``_WIDEN`` of that range
    beyond either end (one trace: left wing, a NaN gap, right wing). The mark gets its own
    markers only where it is not the fit's target (``target="mid"``).
    """
    span = max(s.k_max - s.k_min, 0.05)
    k = np.linspace(s.k_min - _WIDEN * span, s.k_max + _WIDEN * span, _FIT_POINTS)
    k = np.union1d(k, [s.k_min, s.k_max])  # both segments end exactly on the quoted range
    iv = surface.iv_k(log_moneyness=k, t_yr=s.t_yr)
    inside, left, right = (k >= s.k_min) & (k <= s.k_max), k <= s.k_min, k >= s.k_max
    wing_k = np.concatenate([k[left], [math.nan], k[right]])
    wing_iv = np.concatenate([iv[left], [math.nan], iv[right]])
    model = surface.model.upper()
    series: list[tuple[str, str, Float64Array, Float64Array, dict[str, Any]]] = []
    if q is not None:
        mark_is_target = bool(np.allclose(q.iv, q.iv_mark, rtol=0.0, atol=1e-10, equal_nan=True))
        kq = q.log_moneyness
        series += [
            ("bid", "bid IV", kq, q.iv_bid, {"marker": {"symbol": "triangle-up", "size": 7}}),
            ("ask", "ask IV", kq, q.iv_ask, {"marker": {"symbol": "triangle-down", "size": 7}}),
        ]
        if not mark_is_target:
            series.append(
                ("mark", "mark IV", kq, q.iv_mark, {"marker": {"symbol": "x", "size": 6}})
            )
        target = "mark IV (fit target)" if mark_is_target else "target IV (fit)"
        series.append(("target", target, kq, q.iv, {"marker": {"symbol": "circle", "size": 6}}))
    series += [
        ("fit", f"{model} fit", k[inside], iv[inside], {"line": {"width": 2}}),
        ("wing", f"{model} fit, extrapolated", wing_k, wing_iv, {"line": {"dash": "dot"}}),
    ]
    label = ns_to_iso(s.expiry_ns)
    hover = "K=%{customdata:,.0f} USD<br>k=%{x:.4f}<br>IV=%{y:.2f}%<extra>%{meta}<br>"
    traces = []
    for group, name, kx, vol, style in series:
        kind = "marker" if "marker" in style else "line"
        style[kind]["color"] = _COLOURS.get(group, _FIT_COLOUR)
        traces.append(
            go.Scatter(
                x=kx,
                y=_pct(vol),
                customdata=s.forward_usd * np.exp(kx),  # strike (USD)
                mode=kind + "s",
                name=name,
                legendgroup=group,
                showlegend=first,
                meta=label,
                hovertemplate=hover + name + "</extra>",
                **style,
            )
        )
    return traces


def _surface_figure(surface: VolSurface, by_expiry: dict[int, SmileQuotes]) -> go.Figure:
    slices = surface.slices
    days = np.array([_days(s) for s in slices])
    k_lo = np.array([s.k_min for s in slices])
    k_hi = np.array([s.k_max for s in slices])
    margin = 0.1 * max(float(k_hi.max() - k_lo.min()), 0.05)
    k = np.linspace(float(k_lo.min()) - margin, float(k_hi.max()) + margin, 101)
    if len(slices) == 1:
        d = np.array([0.5 * days[0], days[0], 1.5 * days[0]])
    else:
        d = np.union1d(np.geomspace(days[0], days[-1], 60), days)
    kk, dd = np.meshgrid(k, d)
    iv = _pct(surface.iv_k(log_moneyness=kk, t_yr=dd / DAYS_PER_YEAR))
    # Show the surface where quotes support it: each row's k-range interpolates the slices'.
    lo = np.interp(np.log(d), np.log(days), k_lo)[:, None] - margin
    hi = np.interp(np.log(d), np.log(days), k_hi)[:, None] + margin
    iv = np.where((kk >= lo) & (kk <= hi), iv, np.nan)
    fig = go.Figure()
    fig.add_trace(
        go.Surface(
            x=k,
            y=d,
            z=iv,
            colorscale="Viridis",
            colorbar={"title": {"text": "IV (%)"}},
            name="implied vol",
            hovertemplate="k=%{x:.3f}<br>%{y:.1f} days<br>IV=%{z:.2f}%<extra></extra>",
        )
    )
    # The fitted expiries as lines on the surface (one trace, NaN-separated).
    lk = [np.linspace(s.k_min, s.k_max, 41) for s in slices]
    lz = [_pct(surface.iv_k(log_moneyness=x, t_yr=s.t_yr)) for x, s in zip(lk, slices, strict=True)]
    lx, ly, lzz = (
        np.concatenate([np.append(v, np.nan) for v in parts])
        for parts in (lk, [np.full(41, dy) for dy in days], lz)
    )
    line = {"color": "black", "width": 3}
    fig.add_trace(go.Scatter3d(x=lx, y=ly, z=lzz, mode="lines", name="fitted expiries", line=line))
    points = [(q, _days(s)) for s in slices if (q := by_expiry.get(int(s.expiry_ns)))]
    if points:
        fig.add_trace(
            go.Scatter3d(
                x=np.concatenate([q.log_moneyness for q, _ in points]),
                y=np.concatenate([np.full(len(q), dy) for q, dy in points]),
                z=_pct(np.concatenate([q.iv for q, _ in points])),
                mode="markers",
                name="target IV (quotes)",
                marker={"size": 2.5, "color": _COLOURS["ask"]},
                hovertemplate="k=%{x:.3f}<br>%{y:.1f} days<br>IV=%{z:.2f}%<extra>quote</extra>",
            )
        )
    fig.update_layout(
        template=_TEMPLATE,
        height=650,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        scene={
            "xaxis": {"title": {"text": "k = ln(K/F) (–)"}},
            "yaxis": {"title": {"text": "days to expiry (d, log scale)"}, "type": "log"},
            "zaxis": {"title": {"text": "implied vol (%)"}},
            "camera": {"eye": {"x": -1.6, "y": -1.6, "z": 0.9}},
        },
        legend={"x": 0.0, "y": 1.0},
    )
    return fig


# -- tables --------------------------------------------------------------------------------------


def _header_table(surface: VolSurface) -> str:
    items = [
        ("currency", surface.currency),
        ("model", surface.model.upper()),
        ("valuation time", ns_to_iso(surface.valuation_ns)),
        ("expiries", str(len(surface.slices))),
    ]
    if surface.ssvi_params:
        items.append(
            ("SSVI parameters", ", ".join(f"{k}={v:.4g}" for k, v in surface.ssvi_params.items()))
        )
    if surface.shock is not None:
        shock = ", ".join(f"{k}={v}" for k, v in surface.shock.as_dict().items())
        items.append(("vol shock applied", shock))
    return _html.key_value_table(items)


_FIT_COLUMNS = (
    ("expiry", "expiry (UTC)", ""),
    ("days", "days to expiry (d)", ".2f"),
    ("forward_usd", "forward (USD)", ",.2f"),
    ("n_quotes", "quotes used", ""),
    ("rejected", "rejected (by reason)", ""),
    ("rmse_vol_pts", "RMSE (vol pts)", ".3f"),
    ("max_abs_err_vol_pts", "max |error| (vol pts)", ".3f"),
    ("g_min", "g_min (–)", ".3g"),
    ("g_min_k", "g_min at k (–)", ".3f"),
)
_BUTTERFLY_COLUMNS = (
    ("expiry", "expiry (UTC)", ""),
    ("g_min", "g_min (–)", ".4g"),
    ("g_min_k", "at k (–)", ".3f"),
    ("negative_points", "grid points with g < 0", ""),
)
_CALENDAR_COLUMNS = (
    ("from", "from (UTC)", ""),
    ("to", "to (UTC)", ""),
    ("min_w_diff", "min w(k,T2) − w(k,T1) (total variance)", ".3e"),
    ("min_at_k", "at k (–)", ".3f"),
    ("crossing_points", "crossing grid points", ""),
)
_CALL_COLUMNS = (
    ("expiry", "expiry (UTC)", ""),
    ("strikes", "strikes checked", ""),
    ("bounds", "bound violations", ""),
    ("monotonicity", "monotonicity violations", ""),
    ("convexity", "convexity violations", ""),
    ("worst", "worst (fraction of F)", ".3e"),
)


def _fit_table(surface: VolSurface) -> str:
    records = [
        {
            **s.as_dict(),
            "days": _days(s),
            "rejected": ", ".join(f"{k}={v}" for k, v in sorted(s.rejected.items())) or "none",
        }
        for s in surface.slices
    ]
    out = _html.records_table(records, _FIT_COLUMNS)
    if surface.skipped_expiries:
        skipped = [[e, r] for e, r in sorted(surface.skipped_expiries.items())]
        out += "<p>Expiries not fitted:</p>" + _html.table(
            ["expiry (UTC)", "reason"], skipped, left=2
        )
    return out


def _arbitrage_section(report: ArbitrageReport | None) -> str:
    if report is None:
        return (
            '<p class="note">No arbitrage report given '
            "(pass report=invrisk.surface.arbitrage_report(surface)).</p>"
        )
    return "".join(
        [
            _html.verdict("Arbitrage free", report.arbitrage_free),
            _html.verdict(
                "butterfly free (g ≥ 0 on every slice and midpoint)", report.butterfly_free
            ),
            _html.verdict("calendar free (total variance rises with expiry)", report.calendar_free),
            _html.verdict("call prices free (bounds, monotone, convex)", report.call_prices_free),
            "<h3>Butterfly: Gatheral–Jacquier density g(k)</h3>",
            _html.records_table(report.butterfly, _BUTTERFLY_COLUMNS),
            "<h3>Calendar: total variance of consecutive expiries</h3>",
            _html.records_table(report.calendar, _CALENDAR_COLUMNS, left=2),
            "<h3>Undiscounted call prices on the checked strikes</h3>",
            _html.records_table(report.call_prices, _CALL_COLUMNS),
        ]
    )
