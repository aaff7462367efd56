"""HTML report of a parameter sweep and of a walk-forward run (layer 5; plotly, self-contained).

The input is plain data, so this layer does not import :mod:`invrisk.sweep` (layer 6): the
sweep's rows (one dict per run: ``point``, ``dataset``, each swept path, the metric columns of
:data:`invrisk.sweep.METRIC_UNITS`), the swept paths, and optionally a walk-forward result as
:meth:`invrisk.walk_forward.WalkForwardResult.as_dict` gives it. Sections:

1. **Heatmaps** of metrics over two swept parameters, each cell the mean over the datasets and
   over every other parameter (a line chart when one parameter is swept).
2. **Efficient frontier** of PnL against inventory risk (time-weighted std of inventory, and
   max drawdown): one marker per point (means over its datasets), the non-dominated points
   (no other point has at least the PnL and at most the risk, one of them strictly) marked
   and joined.
3. **Best configurations**: the points ranked by the chosen metric (mean over datasets).
4. **Walk-forward**: per step the fitted σ, A, k and γ, in-sample against out-of-sample
   metrics, and the degradation (mean in sample minus mean out of sample).

The output depends only on the inputs (fixed div ids).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from invrisk._typing import BoolArray, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.report import _html

__all__ = ["pareto_front", "sweep_report", "write_sweep_report"]

_TEMPLATE = "plotly_white"
_CONFIG = {"displaylogo": False, "responsive": True}
_HEAT_METRICS = ("pnl", "sharpe", "std_inventory", "max_drawdown", "n_fills", "markout_1s")
_TABLE_METRICS = (
    ("pnl", "PnL", ",.4g"),
    ("sharpe", "Sharpe", ".3g"),
    ("max_drawdown", "max DD", ",.4g"),
    ("std_inventory", "std q", ".4g"),
    ("mean_abs_inventory", "mean |q|", ".4g"),
    ("n_fills", "fills", ",.0f"),
    ("fill_ratio", "fill ratio", ".3f"),
    ("markout_1s", "markout 1s", ".4g"),
    ("turnover_qty", "turnover", ".4g"),
)
_UNITS_NOTE = (
    "PnL, max drawdown (DD): settlement currency; std q, mean |q|, turnover: contracts "
    "(time-weighted over the decisions); markouts: price units per fill; Sharpe annualised "
    "from 60 s bars over 365 days (empty when a run is shorter than two bars). Each figure of a "
    "point is the mean over its datasets."
)


def pareto_front(reward: Float64Array, risk: Float64Array) -> BoolArray:
    """Mask of the non-dominated points when maximising ``reward`` and minimising ``risk``:
    no other point has ``reward >= `` and ``risk <=`` with one inequality strict. Points with
    a non-finite value are never on the front.

    Examples
    --------
    >>> pareto_front(np.array([1.0, 2.0, 2.0, 0.5]), np.array([1.0, 2.0, 3.0, 0.1])).tolist()
    [True, True, False, True]
    """
    r = np.asarray(reward, dtype=np.float64)
    q = np.asarray(risk, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise InvalidArgumentError("risk", f"shape {q.shape}", f"the shape of reward {r.shape}")
    ok = np.isfinite(r) & np.isfinite(q)
    front = np.zeros(r.shape, dtype=bool)
    for i in np.flatnonzero(ok):
        ge = (r[ok] >= r[i]) & (q[ok] <= q[i])
        strict = (r[ok] > r[i]) | (q[ok] < q[i])
        front[i] = not np.any(ge & strict)
    return front


def _points(rows: Sequence[Mapping[str, Any]], params: Sequence[str]) -> list[dict[str, Any]]:
    """Per point (in point order): its parameters and the mean of each numeric column."""
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(int(r["point"]), []).append(r)
    out = []
    for point in sorted(groups):
        rs = groups[point]
        agg: dict[str, Any] = {"point": point, "runs": len(rs)}
        agg.update({p: rs[0][p] for p in params})
        for key, value in rs[0].items():
            if key in agg or key in ("run_id", "dataset") or isinstance(value, str | bool):
                continue
            vals = np.array([float(x[key]) for x in rs], dtype=np.float64)
            agg[key] = float(np.mean(vals))
        out.append(agg)
    return out


def _label(p: Mapping[str, Any], params: Sequence[str]) -> str:
    return "<br>".join(f"{k} = {_fmt(p[k])}" for k in params)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _heatmaps(
    rows: Sequence[Mapping[str, Any]], x: str, y: str | None, metrics: Sequence[str]
) -> go.Figure:
    n = len(metrics)
    cols = min(n, 2)
    fig = make_subplots(
        rows=math.ceil(n / cols), cols=cols, subplot_titles=list(metrics), horizontal_spacing=0.22
    )
    xs = sorted({r[x] for r in rows}, key=_sort_key)
    ys = sorted({r[y] for r in rows}, key=_sort_key) if y else []
    for i, m in enumerate(metrics):
        row, col = i // cols + 1, i % cols + 1
        if y is None:
            vals = [_mean([r[m] for r in rows if r[x] == xv]) for xv in xs]
            fig.add_trace(
                go.Scatter(x=[_fmt(v) for v in xs], y=vals, mode="lines+markers", name=m),
                row=row,
                col=col,
            )
            continue
        z = [[_mean([r[m] for r in rows if r[x] == xv and r[y] == yv]) for xv in xs] for yv in ys]
        fig.add_trace(
            go.Heatmap(
                x=[_fmt(v) for v in xs],
                y=[_fmt(v) for v in ys],
                z=z,
                colorscale="RdBu" if m in ("pnl", "sharpe", "markout_1s") else "Viridis",
                colorbar={
                    "len": 0.9 / math.ceil(n / cols),
                    "x": 0.4 if col == 1 else 1.0,
                    "y": 1 - (row - 0.5) / math.ceil(n / cols),
                },
                hovertemplate=f"{x} = %{{x}}<br>{y} = %{{y}}<br>{m} = %{{z:.6g}}<extra></extra>",
                texttemplate="%{z:.3g}",
            ),
            row=row,
            col=col,
        )
        fig.update_xaxes(title_text=x, type="category", row=row, col=col)
        fig.update_yaxes(title_text=y, type="category", row=row, col=col)
    fig.update_layout(
        template=_TEMPLATE,
        height=360 * math.ceil(n / cols),
        showlegend=False,
        margin={"t": 40, "l": 60, "r": 20, "b": 50},
    )
    return fig


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, int | float) else (1, str(v))


def _mean(values: Sequence[Any]) -> float | None:
    vals = np.array([float(v) for v in values], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else None


def _frontier(points: Sequence[dict[str, Any]], params: Sequence[str]) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("PnL against std of inventory", "PnL against max drawdown"),
        horizontal_spacing=0.1,
    )
    pnl = np.array([p["pnl"] for p in points], dtype=np.float64)
    labels = [f"point {p['point']}<br>{_label(p, params)}" for p in points]
    for col, risk_key, axis in (
        (1, "std_inventory", "std of inventory (contracts)"),
        (2, "max_drawdown", "max drawdown (settlement currency)"),
    ):
        risk = np.array([p[risk_key] for p in points], dtype=np.float64)
        front = pareto_front(pnl, risk)
        hover = "%{text}<br>risk %{x:.6g}<br>PnL %{y:.6g}<extra></extra>"
        fig.add_trace(
            go.Scatter(
                x=risk[~front],
                y=pnl[~front],
                mode="markers",
                name="dominated",
                marker={"color": "#9aa5b1", "size": 8},
                text=np.array(labels)[~front].tolist(),
                hovertemplate=hover,
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
        order = np.argsort(risk[front], kind="stable")
        fig.add_trace(
            go.Scatter(
                x=risk[front][order],
                y=pnl[front][order],
                mode="lines+markers",
                name="non-dominated",
                marker={"color": "#b00020", "size": 11, "symbol": "star"},
                line={"color": "#b00020", "dash": "dot"},
                text=np.array(labels)[front][order].tolist(),
                hovertemplate=hover,
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=axis, row=1, col=col)
        fig.update_yaxes(title_text="PnL (settlement currency)", row=1, col=col)
    fig.update_layout(template=_TEMPLATE, height=460, margin={"t": 40, "l": 60, "r": 20, "b": 50})
    return fig


def _best_table(
    points: Sequence[dict[str, Any]], params: Sequence[str], metric: str, direction: str, top: int
) -> str:
    sign = -1.0 if direction == "maximize" else 1.0
    ranked = sorted(
        points,
        key=lambda p: (
            not math.isfinite(p[metric]),
            sign * p[metric] if math.isfinite(p[metric]) else 0.0,
            p["point"],
        ),
    )[:top]
    header = ["rank", "point", *params, *(h for _, h, _ in _TABLE_METRICS), "runs"]
    rows = [
        [
            str(i + 1),
            str(p["point"]),
            *(_fmt(p[k]) for k in params),
            *(_html.num(p[k], spec) for k, _, spec in _TABLE_METRICS),
            str(p["runs"]),
        ]
        for i, p in enumerate(ranked)
    ]
    return _html.table(header, rows, left=0)


def _walk_forward_section(wf: Mapping[str, Any]) -> list[str]:
    steps = wf["steps"]
    labels = [f"{s['calib_window']}→{s['test_window']}" for s in steps]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("PnL", "std of inventory", "fills"))
    for col, key in ((1, "pnl"), (2, "std_inventory"), (3, "n_fills")):
        for which, color in (("in_sample", "#1f77b4"), ("out_of_sample", "#ff7f0e")):
            fig.add_trace(
                go.Bar(
                    x=labels,
                    y=[s[which][key] for s in steps],
                    name=which.replace("_", " "),
                    marker={"color": color},
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="calibration → test window", row=1, col=col)
    fig.update_layout(
        template=_TEMPLATE, height=380, barmode="group", margin={"t": 40, "l": 60, "r": 20, "b": 50}
    )
    chart = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id="invrisk-sweep-wf", config=_CONFIG
    )
    header = [
        "step",
        "σ (price/√s)",
        "A (1/s)",
        "k (1/price)",
        "γ",
        "PnL IS",
        "PnL OOS",
        "std q IS",
        "std q OOS",
        "fills IS",
        "fills OOS",
        "Sharpe IS",
        "Sharpe OOS",
    ]
    rows = [
        [
            lab,
            f"{s['sigma_price_per_sqrt_s']:.4g} ± {s['sigma_se']:.2g}",
            f"{s['a_per_s']:.4g} ± {s['a_se']:.2g}",
            f"{s['k_per_price']:.4g} ± {s['k_se']:.2g}",
            f"{s['gamma']:.4g}",
            *(
                _html.num(float(s[w][k]), spec)
                for k, spec in (
                    ("pnl", ",.4g"),
                    ("std_inventory", ".4g"),
                    ("n_fills", ",.0f"),
                    ("sharpe", ".3g"),
                )
                for w in ("in_sample", "out_of_sample")
            ),
        ]
        for lab, s in zip(labels, steps, strict=True)
    ]
    deg = wf["degradation"]
    mis, moos = wf["mean_in_sample"], wf["mean_out_of_sample"]
    deg_rows = [
        [
            k,
            _html.num(float(mis[k]), ".5g"),
            _html.num(float(moos[k]), ".5g"),
            _html.num(float(deg[k]), ".5g"),
        ]
        for k in (
            "pnl",
            "sharpe",
            "max_drawdown",
            "std_inventory",
            "n_fills",
            "fill_ratio",
            "markout_1s",
        )
    ]
    grid = wf.get("gamma_grid") or []
    note = (
        "Calibrated on window k (σ, A, k by maximum likelihood"
        + (f"; γ chosen from {grid} by in-sample {wf['select']}" if grid else "")
        + "), traded in sample on window k and out of sample on window k + 1 with the fit held "
        "fixed (no online refit). Degradation = mean in sample − mean out of sample (> 0: the "
        "in-sample figure flatters)."
    )
    return [
        "<h2>Walk-forward: in sample against out of sample</h2>",
        f"<p><b>{_html.esc(wf['label'])}</b></p>" if wf.get("label") else "",
        f'<p class="note">{_html.esc(note)}</p>',
        chart,
        _html.table(header, rows, left=1),
        "<h3>Aggregate</h3>",
        _html.table(["metric", "mean in sample", "mean out of sample", "degradation"], deg_rows),
    ]


def sweep_report(
    rows: Sequence[Mapping[str, Any]] | None,
    *,
    params: Sequence[str] = (),
    metric: str = "pnl",
    direction: str = "maximize",
    x: str | None = None,
    y: str | None = None,
    top: int = 10,
    walk_forward: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML page for a sweep's rows and/or a walk-forward result.

    Parameters
    ----------
    rows
        The sweep's rows (``SweepResult.rows`` or the summary table's rows), or None for a
        walk-forward page alone.
    params
        The swept paths (columns of ``rows``).
    metric, direction
        Ranks the best configurations (``"maximize"`` or ``"minimize"``) and heads the heatmaps.
    x, y
        The heatmaps' parameters (default: the first two swept; one swept gives line charts).
    top
        Rows of the best-configurations table.
    walk_forward
        ``WalkForwardResult.as_dict()``, added as the last section (its optional ``label``,
        e.g. which configuration it ran, is shown above it).
    """
    if not rows and walk_forward is None:
        raise InvalidArgumentError("rows", "no rows", "sweep rows or a walk-forward result")
    body: list[str] = []
    first = True
    if rows:
        params = list(params)
        for name, value in (("x", x), ("y", y)):
            if value is not None and value not in params:
                raise InvalidArgumentError(name, value, f"one of the swept parameters {params}")
        if metric not in rows[0]:
            raise InvalidArgumentError("metric", metric, "a metric column of the rows")
        if direction not in ("maximize", "minimize"):
            raise InvalidArgumentError("direction", direction, "'maximize' or 'minimize'")
        hx = x or (params[0] if params else None)
        hy = y or next((p for p in params if p != hx), None)
        points = _points(rows, params)
        datasets = sorted({str(r["dataset"]) for r in rows})
        body.append(
            _html.key_value_table(
                [
                    ("runs", f"{len(rows)}"),
                    ("points", f"{len(points)}"),
                    ("datasets", ", ".join(datasets)),
                    ("swept", ", ".join(params)),
                    ("ranked by", f"{metric} ({direction}, mean over datasets)"),
                ]
            )
        )
        body.append(f'<p class="note">{_html.esc(_UNITS_NOTE)}</p>')
        if hx is not None:
            heat = [
                m
                for m in (metric, *(h for h in _HEAT_METRICS if h != metric))
                if m in rows[0] and _mean([r[m] for r in rows]) is not None  # not all NaN
            ] or [metric]
            body.append(
                f"<h2>Metrics over {_html.esc(hx)}"
                + (f" and {_html.esc(hy)}" if hy else "")
                + "</h2>"
            )
            body.append(
                _heatmaps(rows, hx, hy, heat[:6]).to_html(
                    full_html=False,
                    include_plotlyjs=first,
                    div_id="invrisk-sweep-heat",
                    config=_CONFIG,
                )
            )
            first = False
        body.append("<h2>Efficient frontier: PnL against inventory risk</h2>")
        body.append(
            _frontier(points, params).to_html(
                full_html=False,
                include_plotlyjs=first,
                div_id="invrisk-sweep-frontier",
                config=_CONFIG,
            )
        )
        first = False
        body.append(f"<h2>Best configurations by {_html.esc(metric)}</h2>")
        body.append(_best_table(points, params, metric, direction, top))
    if walk_forward is not None:
        if first:
            body.append(
                go.Figure().to_html(
                    full_html=False,
                    include_plotlyjs=True,
                    div_id="invrisk-sweep-js",
                    config=_CONFIG,
                )
            )
        body += _walk_forward_section(walk_forward)
    heading = title or ("Parameter sweep" if rows else "Walk-forward calibration")
    return _html.page(heading, body)


def write_sweep_report(
    path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]] | None, **kwargs: Any
) -> Path:
    """Write :func:`sweep_report` to ``path`` atomically and return the path."""
    return _html.write_atomic(path, sweep_report(rows, **kwargs))
