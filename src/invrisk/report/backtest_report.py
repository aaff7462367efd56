"""HTML report of a backtest (:class:`~invrisk.backtest.BacktestResult`).

One self-contained HTML document (plotly.js embedded once, opens offline): a header for the
whole run, then per instrument

1. a table of summary metrics with units (:func:`~invrisk.backtest.summary_metrics`);
2. a timeline on one shared UTC time axis: equity with the cumulative spread capture and fees
   rebuilt from the fills, the true position and the position known to the strategy, and our
   best quotes against the local mid with every fill marked (buy/sell, maker/taker);
3. the final PnL decomposition as a waterfall and the markout curve of maker and taker fills
   with standard errors, with a table of the markouts.

The formulas are stated on the page. Series longer than :data:`MAX_POINTS` are thinned to
the minimum and maximum of equal buckets; fills are never thinned. int64 ns times become UTC
strings (microseconds) only here. The output depends only on the result (fixed div ids).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from invrisk._typing import Float64Array, Int64Array
from invrisk.backtest.results import BacktestResult, summary_metrics
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument
from invrisk.report import _html
from invrisk.units import NS_PER_SECOND, ns_to_iso

__all__ = ["MAX_POINTS", "backtest_report", "write_backtest_report"]

MAX_POINTS = 20_000
"""At most this many points per plotted time series (fills excepted)."""

_TEMPLATE = "plotly_white"
_CONFIG = {"displaylogo": False, "responsive": True}
_DEFAULT_MARKOUTS_S = (0.1, 0.5, 1, 2, 5, 10, 30, 60)
_BUY, _SELL = "#1b7f3b", "#b00020"
_GROUPS = ("maker", "taker", "all")
_SIDES = ((1, "buy", _BUY, "triangle-up"), (-1, "sell", _SELL, "triangle-down"))
_Marks = dict[str, tuple[Float64Array, Float64Array, Int64Array]]
"""Markouts per group (maker, taker, all): mean, standard error and count per horizon."""
_REST = "inventory + funding (equity − spread + fees)"
_FILL_HOVER = (
    "%{x}<br>price %{y}<br>qty %{customdata[0]}<br>fee %{customdata[1]}"
    "<br>exchange mid %{customdata[2]}<extra>%{fullData.name}</extra>"
)
_DECOMPOSITION_NOTE = (
    "Equity = cash + position × value(exchange mid) = spread + inventory − fees + funding; "
    "value(p) = contract_size × p (linear) or −contract_size / p (inverse). Spread capture of a "
    "fill = side × qty × (value(mid) − value(price)), mid the exchange mid at the fill; fees as "
    "charged per fill (negative = rebate); both summed over the fills in exchange-time order. "
    "Inventory + funding is the rest of the equity. Quotes are our best live bid and ask at "
    "each decision against the local mid; fills are drawn at their exchange time and price "
    "(filled markers maker, open markers taker)."
)
_MARKOUT_NOTE = (
    "Markout at h = side × (mid(t + h) − price) in price units, averaged without weights over "
    "fills; t is the local time the fill was reported, mid the local mid of the first sample at "
    "or after t + h (fills without one are left out). SE = std (ddof 1) / √n."
)


def backtest_report(
    result: BacktestResult,
    *,
    title: str | None = None,
    markouts_s: Sequence[float] = _DEFAULT_MARKOUTS_S,
) -> str:
    """One self-contained HTML document describing a backtest.

    Parameters
    ----------
    result
        The backtest (:func:`invrisk.backtest.run_backtest`).
    title
        Page title; default ``"Backtest <instruments>, <first sample> to <end> (UTC)"``.
    markouts_s
        Markout horizons (seconds, finite, >= 0, at least one).

    Returns
    -------
    str
        The HTML text (a few MB: the plotly.js bundle is embedded once).

    Raises
    ------
    InvalidArgumentError
        If ``result`` is not a :class:`BacktestResult`, ``title`` not a string or a horizon
        is not a finite number >= 0.
    """
    horizons = _check(result, title, markouts_s)
    names = ", ".join(inst.name for inst in result.instruments)
    start = ns_to_iso(int(result.t_ns[0])) if result.t_ns.size else ns_to_iso(result.end_ns)
    heading = title or f"Backtest {names}, {start} to {ns_to_iso(result.end_ns)} (UTC)"
    body = _header(result, start)
    for i, inst in enumerate(result.instruments):
        body += _instrument_section(result, i, inst, horizons, first=i == 0)
    return _html.page(heading, body)


def write_backtest_report(
    result: BacktestResult,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    markouts_s: Sequence[float] = _DEFAULT_MARKOUTS_S,
) -> Path:
    """Write :func:`backtest_report` to ``path`` atomically (``os.replace`` of a temporary
    file in the same directory, which must exist) and return the path."""
    text = backtest_report(result, title=title, markouts_s=markouts_s)
    return _html.write_atomic(path, text)


def _check(result: object, title: object, markouts_s: object) -> tuple[float, ...]:
    if not isinstance(result, BacktestResult):
        raise InvalidArgumentError(
            "result", type(result).__name__, "a BacktestResult (invrisk.backtest.run_backtest)"
        )
    if title is not None and not isinstance(title, str):
        raise InvalidArgumentError("title", type(title).__name__, "None or a string")
    if not isinstance(markouts_s, Sequence) or isinstance(markouts_s, str) or not markouts_s:
        raise InvalidArgumentError("markouts_s", repr(markouts_s), "a non-empty list of seconds")
    out = []
    for h in markouts_s:
        ok = isinstance(h, numbers.Real) and not isinstance(h, bool) and math.isfinite(h)
        if not ok or h < 0:
            raise InvalidArgumentError("markouts_s", repr(h), "finite numbers of seconds >= 0")
        out.append(float(h))
    return tuple(out)


# -- computations --------------------------------------------------------------------------------


def _value(inst: Instrument, price: npt.ArrayLike) -> Float64Array:
    """``value(p)``: ``contract_size * p`` (linear) or ``-contract_size / p`` (inverse)."""
    p = np.asarray(price, dtype=np.float64)
    return -inst.contract_size / p if inst.is_inverse else inst.contract_size * p


def _markouts(result: BacktestResult, i: int, horizons_s: Sequence[float]) -> _Marks:
    """Markouts of instrument ``i`` as :data:`_MARKOUT_NOTE` states (NaN mids left out)."""
    f = result.fills[result.fills["instrument"] == i]
    t, mid = result.t_ns, result.mid[:, i]
    out = {}
    for group in _GROUPS:
        g = f if group == "all" else f[f["maker"] == (group == "maker")]
        mean, se, n = (np.full(len(horizons_s), np.nan) for _ in range(3))
        for k, h in enumerate(horizons_s):
            idx = np.searchsorted(t, g["local_ns"] + round(h * NS_PER_SECOND))
            ok = idx < t.size
            v = g["side"][ok] * (mid[idx[ok]] - g["price"][ok])
            v = v[np.isfinite(v)]
            n[k] = v.size
            mean[k] = float(np.mean(v)) if v.size else math.nan
            se[k] = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
        out[group] = (mean, se, n.astype(np.int64))
    return out


def _thin(y: Float64Array, cap: int = MAX_POINTS) -> Int64Array:
    """Indices of ``y`` to plot: all if ``y.size <= cap``; else the first, the last and the
    minimum and maximum of each of ``cap // 2 - 1`` equal buckets (NaN ignored; an all-NaN
    bucket keeps its first point, so gaps stay gaps)."""
    n = y.size
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    nb = cap // 2 - 1
    b = -(-n // nb)
    flat = np.full(nb * b, np.nan)
    flat[:n] = y
    blk = flat.reshape(nb, b)
    bad = np.isnan(blk)
    base = np.arange(nb) * b
    lo = np.where(bad, np.inf, blk).argmin(axis=1) + base
    hi = np.where(bad, -np.inf, blk).argmax(axis=1) + base
    idx = np.concatenate([[0, n - 1], lo, hi])
    return np.unique(idx[idx < n]).astype(np.int64)


def _utc(t_ns: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """int64 ns UTC -> ISO strings with microseconds (plotly shows strings as given: UTC)."""
    t = np.asarray(t_ns, dtype=np.int64).astype("datetime64[ns]").astype("datetime64[us]")
    return np.datetime_as_string(t, unit="us")


def _single(result: BacktestResult, i: int) -> BacktestResult:
    """The result restricted to instrument ``i`` (so metrics never mix same-named instruments)."""
    cols = ("mid", "position", "position_known", "equity", "bid", "ask")
    fills = result.fills[result.fills["instrument"] == i].copy()
    fills["instrument"] = 0
    return dataclasses.replace(
        result,
        instruments=(result.instruments[i],),
        pnl=(result.pnl[i],),
        fills=fills,
        **{c: getattr(result, c)[:, i : i + 1] for c in cols},
    )


# -- header and tables ---------------------------------------------------------------------------


def _header(result: BacktestResult, start: str) -> list[str]:
    totals: dict[str, float] = {}
    for inst, p in zip(result.instruments, result.pnl, strict=True):
        totals[inst.settle] = totals.get(inst.settle, 0.0) + p.total
    n_fills = int(result.fills.size)
    per_order = n_fills / result.orders_sent if result.orders_sent else math.nan
    rejections = ", ".join(f"{k}: {v}" for k, v in sorted(result.rejections.items())) or "none"
    items = [
        ("instruments", ", ".join(i.name for i in result.instruments)),
        ("period (UTC)", f"{start} to {ns_to_iso(result.end_ns)}"),
        ("decisions (samples)", str(result.t_ns.size)),
        (
            "orders / cancels / amends sent",
            f"{result.orders_sent} / {result.cancels_sent} / {result.amends_sent}",
        ),
        ("fills", str(n_fills)),
        ("fills per order sent", _html.num(per_order, ".3f")),
        ("risk rejections", rejections),
        ("risk events", str(len(result.risk_events))),
        ("book rows outside the window", str(result.out_of_window)),
        *((f"total PnL ({cur})", _money(v)) for cur, v in sorted(totals.items())),
    ]
    note = (
        f"Time series longer than {MAX_POINTS:,} points are thinned for the page to the "
        "minimum and maximum of equal buckets of consecutive points; every fill is drawn. "
        "Times are UTC. PnL is in each instrument's settlement currency (totals add only "
        "instruments that share it); positions are in contracts."
    )
    out = [_html.key_value_table(items), f'<p class="note">{_html.esc(note)}</p>']
    if result.risk_events:
        rows = [[ns_to_iso(t), what] for t, what in result.risk_events]
        out += ["<h2>Risk events</h2>", _html.table(["time (UTC)", "transition"], rows, left=2)]
    return out


def _money(x: float) -> str:
    return _html.num(x, ",.8g")


def _metrics_table(result: BacktestResult, i: int, inst: Instrument) -> str:
    s = summary_metrics(_single(result, i), markouts_s=())
    m = cast(dict[str, Any], cast(dict[str, Any], s["instruments"])[inst.name])
    cur, px, ppy = inst.settle, inst.price_currency, cast(float, s["periods_per_year"])
    ratio = f"annualised, 60 s PnL bars, {ppy:,.0f} periods/yr"
    rows = [
        ("total PnL", _money(m["pnl"]), cur),
        ("spread capture", _money(m["pnl_spread"]), cur),
        ("inventory", _money(m["pnl_inventory"]), cur),
        ("fees paid (negative = rebate)", _money(m["fees"]), cur),
        ("funding received", _money(m["funding"]), cur),
        ("traded notional", _money(m["volume"]), cur),
        ("max drawdown of equity", _money(m["max_drawdown"]), cur),
        (f"Sharpe ({ratio})", _html.num(m["sharpe"], ".3f"), "–"),
        (f"Sortino ({ratio})", _html.num(m["sortino"], ".3f"), "–"),
        ("fills", str(m["n_fills"]), "count"),
        ("maker / taker quantity", f"{m['maker_qty']:,.6g} / {m['taker_qty']:,.6g}", "contracts"),
        ("final position", f"{m['final_position']:,.6g}", "contracts"),
        ("mean |position| (time-weighted)", f"{m['mean_abs_inventory']:,.6g}", "contracts"),
        ("max |position| (at samples)", f"{m['max_abs_inventory']:,.6g}", "contracts"),
        ("two-sided quote uptime", _html.num(100.0 * m["quote_uptime"], ".2f"), "% of samples"),
        ("mean quoted spread", _html.num(m["mean_quoted_spread"], ",.6g"), px),
    ]
    return _html.table(["metric", "value", "unit"], rows, left=1)


def _markout_table(marks: _Marks, horizons: tuple[float, ...]) -> str:
    rows = []
    for k, h in enumerate(horizons):
        row = [f"{h:g}"]
        for g in _GROUPS:
            mean, se, n = marks[g]
            row += [_html.num(mean[k], ".6g"), _html.num(se[k], ".3g"), str(n[k])]
        rows.append(row)
    header = ["horizon (s)"] + [f"{g} {c}" for g in _GROUPS for c in ("mean", "SE", "fills")]
    return _html.table(header, rows)


# -- charts --------------------------------------------------------------------------------------


def _timeline(result: BacktestResult, i: int, inst: Instrument) -> go.Figure:
    t, eq, known = result.t_ns, result.equity[:, i], result.position_known[:, i]
    f = result.fills[result.fills["instrument"] == i]
    f = f[np.argsort(f["exch_ns"], kind="stable")]
    value_gain = _value(inst, f["mid"]) - _value(inst, f["price"])
    spread = np.r_[0.0, np.cumsum(f["side"] * f["qty"] * value_gain)]
    fees = np.r_[0.0, np.cumsum(f["fee"])]
    tf = np.concatenate([t[:1], f["exch_ns"]])  # the sums start at 0 at the first sample
    done = np.searchsorted(f["exch_ns"], t, side="right")  # fills done by each sample
    hv = {"shape": "hv"}
    lines = [
        (1, t, eq, "equity", {}),
        (1, tf, spread[spread.size - tf.size :], "spread capture (cumulative)", hv),
        (1, tf, -fees[fees.size - tf.size :], "−fees (cumulative)", hv),
        (1, t, eq - spread[done] + fees[done], _REST, {"dash": "dot"}),
        (2, t, result.position[:, i], "position (true)", hv),
        (2, t, known, "position (known to the strategy)", {**hv, "dash": "dash"}),
        (3, t, result.mid[:, i], "mid (local)", {"color": "#555", "width": 1}),
        (3, t, result.bid[:, i], "our best bid", {**hv, "color": _BUY, "width": 1}),
        (3, t, result.ask[:, i], "our best ask", {**hv, "color": _SELL, "width": 1}),
    ]
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05)
    for row, x, y, name, line in lines:
        k = _thin(y)
        trace = go.Scatter(x=_utc(x[k]), y=y[k], name=name, mode="lines", line=line, meta=inst.name)
        fig.add_trace(trace, row=row, col=1)
    for side, word, colour, shape in _SIDES:
        for maker, kind in ((True, "maker"), (False, "taker")):
            g = f[(f["side"] == side) & (f["maker"] == maker)]
            marker = {"symbol": shape if maker else f"{shape}-open", "color": colour, "size": 9}
            trace = go.Scatter(
                x=_utc(g["exch_ns"]),
                y=g["price"],
                customdata=np.column_stack([g["qty"], g["fee"], g["mid"]]),
                mode="markers",
                name=f"{word} fill, {kind}",
                meta=inst.name,
                marker=marker,
                hovertemplate=_FILL_HOVER,
            )
            fig.add_trace(trace, row=3, col=1)
    for row, text in enumerate(("PnL", "position", "price"), start=1):
        unit = {"PnL": inst.settle, "position": "contracts", "price": inst.price_currency}[text]
        fig.update_yaxes(title_text=f"{text} ({unit})", row=row, col=1)
    fig.update_xaxes(type="date")
    fig.update_xaxes(title_text="time (UTC)", row=3, col=1)
    margin = {"l": 70, "r": 20, "t": 30, "b": 50}
    fig.update_layout(template=_TEMPLATE, height=950, hovermode="closest", margin=margin)
    return fig


def _outcome(
    result: BacktestResult, i: int, inst: Instrument, horizons: tuple[float, ...], marks: _Marks
) -> go.Figure:
    p, h = result.pnl[i], np.asarray(horizons)
    titles = ["final PnL decomposition", "markouts: mean ± 1 SE"]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=titles)
    waterfall = go.Waterfall(
        x=["spread capture", "inventory", "−fees", "funding", "total"],
        y=[p.spread, p.inventory, -p.fees, p.funding, p.total],
        measure=["relative"] * 4 + ["total"],
        name="PnL decomposition",
        meta=inst.name,
        showlegend=False,
    )
    fig.add_trace(waterfall, row=1, col=1)
    for g, colour in (("maker", "#1d3557"), ("taker", "#e76f51")):
        mean, se, n = marks[g]
        curve = go.Scatter(
            x=h,
            y=mean,
            error_y={"type": "data", "array": se, "visible": True},
            customdata=np.column_stack([n, se]),
            mode="lines+markers",
            name=f"{g} fills",
            meta=inst.name,
            line={"color": colour},
            hovertemplate="h=%{x} s: %{y:.6g} ± %{customdata[1]:.3g} (%{customdata[0]} fills)",
        )
        fig.add_trace(curve, row=1, col=2)
    fig.update_yaxes(title_text=f"PnL ({inst.settle})", row=1, col=1)
    fig.update_yaxes(title_text=f"markout ({inst.price_currency} per unit)", row=1, col=2)
    fig.update_xaxes(
        title_text="horizon h (s)", row=1, col=2, type="log" if h.min() > 0 else "linear"
    )
    fig.update_layout(template=_TEMPLATE, height=420, margin={"l": 70, "r": 20, "t": 40, "b": 50})
    return fig


def _instrument_section(
    result: BacktestResult, i: int, inst: Instrument, horizons: tuple[float, ...], *, first: bool
) -> list[str]:
    marks = _markouts(result, i, horizons)
    timeline = _timeline(result, i, inst).to_html(
        full_html=False, include_plotlyjs=first, div_id=f"invrisk-bt-{i}-timeline", config=_CONFIG
    )
    outcome = _outcome(result, i, inst, horizons, marks).to_html(
        full_html=False, include_plotlyjs=False, div_id=f"invrisk-bt-{i}-outcome", config=_CONFIG
    )
    n = int(np.count_nonzero(result.fills["instrument"] == i))
    spec = (
        f"{inst.kind.value}, {inst.settlement.value}; contract size {inst.contract_size:g} "
        f"{inst.contract_currency}; tick {inst.tick_size:g} {inst.price_currency}; settles in "
        f"{inst.settle}." + (" No fills." if n == 0 else "")
    )
    return [
        f"<h2>{_html.esc(inst.name)}</h2>",
        f'<p class="note">{_html.esc(spec)}</p>',
        _metrics_table(result, i, inst),
        "<h3>Equity, inventory and quotes</h3>",
        f'<p class="note">{_html.esc(_DECOMPOSITION_NOTE)}</p>',
        timeline,
        "<h3>PnL decomposition and markouts</h3>",
        f'<p class="note">{_html.esc(_MARKOUT_NOTE)}</p>',
        outcome,
        _markout_table(marks, horizons),
    ]
