"""Walk-forward calibration of the GLFT market maker: fit on window k, trade window k + 1.

:func:`walk_forward` cuts a backtest config's data into ``windows`` consecutive time windows
of equal length (int ns boundaries: window k is ``[s + k w, s + (k + 1) w)`` on the local
clock, ``s`` the start of the config's slice, ``w`` its span divided by the number of windows,
so the windows neither overlap nor leave gaps). Each window is a config of its own (the base
config with ``data.start_s`` / ``data.duration_s`` set, see :func:`invrisk.config.time_slice`):
it starts from the book as it stood at its start, rebuilt from earlier rows only. For each
step k = 0 ... windows - 2:

1. **Calibrate on window k** with the functions of :mod:`invrisk.quoting`: the mid of the
   window's own book (:class:`~invrisk.market.book.L2Book` over the window's rows) sampled on
   a grid of ``intensity_interval_ms`` from the window start and 1 ns before each trade; σ by
   :func:`~invrisk.quoting.calibrate_sigma` on the grid mids (``sigma_interval_s``), A and k by
   :func:`~invrisk.quoting.calibrate_intensity` (both sides pooled, ``clock="local_ns"``,
   ``reference="pre_trade"``, intervals wholly inside the window) - the estimator the GLFT
   strategy uses online.
2. **Optionally choose γ** from ``gamma_grid`` by the in-sample ``select`` metric (maximised;
   ties and NaN go to the first/lowest γ of the grid).
3. **Trade window k in sample and window k + 1 out of sample** with those fixed parameters:
   the base ``[strategy]`` table with ``warmup = "fallback"``, the fitted ``fallback_sigma``,
   ``fallback_a`` and ``fallback_k``, the chosen ``gamma``, and a calibration window and refit
   interval of :data:`NO_REFIT_S` seconds, longer than any data, so the online calibrator never
   fits and the strategy quotes with the fitted parameters throughout.

Calibration never sees the rows of the window it is traded on out of sample. The metrics are
those of a sweep (:data:`invrisk.sweep.METRIC_UNITS`); the aggregate degradation of a metric
is the mean in sample minus the mean out of sample over the steps (the overfitting gap: > 0
when the in-sample figures flatter the strategy).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrisk.config import (
    BacktestConfig,
    load_backtest_config,
    load_events,
    run_from_config,
    time_slice,
)
from invrisk.data.events import EventArray, EventKind
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument
from invrisk.sweep import METRICS, metrics_row

__all__ = [
    "NO_REFIT_S",
    "GLFTFit",
    "WalkForwardResult",
    "WalkForwardStep",
    "Window",
    "calibrate_glft",
    "fixed_glft_table",
    "walk_forward",
    "walk_forward_windows",
]

NO_REFIT_S = 10 * 365 * 86_400.0
"""Calibration window and refit interval (seconds, ten years) that switch the GLFT strategy's
online calibration off: no window of data ever spans it."""

_SUMMARY_METRICS = (
    "pnl",
    "sharpe",
    "max_drawdown",
    "std_inventory",
    "mean_abs_inventory",
    "n_fills",
    "fill_ratio",
    "markout_1s",
)


@dataclass(frozen=True, slots=True)
class Window:
    """One time window: ``start_s`` / ``duration_s`` as in ``[data]`` (seconds from the first
    event of the stream), and its bounds on the local clock (int ns, ``[start_ns, end_ns)``)."""

    index: int
    start_s: float
    duration_s: float
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class GLFTFit:
    """σ (price units per sqrt(second)), A (per second) and k (per price unit) fitted on one
    window, with their standard errors and the data used."""

    sigma_price_per_sqrt_s: float
    sigma_se: float
    a_per_s: float
    a_se: float
    k_per_price: float
    k_se: float
    n_trades: int
    n_intervals: int
    status: str


@dataclass(frozen=True, slots=True)
class WalkForwardStep:
    """Calibrated on ``calib`` (window k), traded in sample on it and out of sample on
    ``test`` (window k + 1); ``gamma_scores`` maps each γ tried to its in-sample metric."""

    calib: Window
    test: Window
    fit: GLFTFit
    gamma: float
    gamma_scores: Mapping[float, float]
    in_sample: Mapping[str, Any]
    out_of_sample: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WalkForwardResult:
    """The steps of a walk-forward run and their aggregate.

    ``degradation[m]`` is the mean over the steps of metric ``m`` in sample minus its mean out
    of sample (NaN values left out).
    """

    config: Path | None
    windows: tuple[Window, ...]
    steps: tuple[WalkForwardStep, ...]
    select: str
    gamma_grid: tuple[float, ...]
    wall_s: float
    degradation: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description (also what the sweep report reads)."""
        return {
            "config": None if self.config is None else str(self.config),
            "select": self.select,
            "gamma_grid": list(self.gamma_grid),
            "windows": [_window(w) for w in self.windows],
            "steps": [
                {
                    "calib_window": s.calib.index,
                    "test_window": s.test.index,
                    "calib": _window(s.calib),
                    "test": _window(s.test),
                    "sigma_price_per_sqrt_s": s.fit.sigma_price_per_sqrt_s,
                    "sigma_se": s.fit.sigma_se,
                    "a_per_s": s.fit.a_per_s,
                    "a_se": s.fit.a_se,
                    "k_per_price": s.fit.k_per_price,
                    "k_se": s.fit.k_se,
                    "fit_status": s.fit.status,
                    "n_trades": s.fit.n_trades,
                    "gamma": s.gamma,
                    "gamma_scores": {str(g): v for g, v in s.gamma_scores.items()},
                    "in_sample": dict(s.in_sample),
                    "out_of_sample": dict(s.out_of_sample),
                }
                for s in self.steps
            ],
            "degradation": dict(self.degradation),
            "mean_in_sample": _means([s.in_sample for s in self.steps]),
            "mean_out_of_sample": _means([s.out_of_sample for s in self.steps]),
            "wall_s": self.wall_s,
        }


def _window(w: Window) -> dict[str, Any]:
    return {
        "index": w.index,
        "start_s": w.start_s,
        "duration_s": w.duration_s,
        "start_ns": w.start_ns,
        "end_ns": w.end_ns,
    }


def _means(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in METRICS:
        vals = np.array([float(r[m]) for r in rows if m in r], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        out[m] = float(vals.mean()) if vals.size else math.nan
    return out


def walk_forward_windows(
    cfg: BacktestConfig, events: EventArray, *, windows: int
) -> tuple[Window, ...]:
    """The ``windows`` consecutive windows of ``cfg``'s slice of ``events`` (the whole
    stream, not yet sliced), each as a ``[data]`` time slice; see the module docstring."""
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 2:
        raise InvalidArgumentError("windows", windows, "an integer >= 2 (calibrate, then trade)")
    t = events["local_ns"]
    first = int(t[0])
    start = round(cfg.data.start_s * 1e9)
    end = (
        (int(t[-1]) - first + 1)
        if cfg.data.duration_s is None
        else (start + round(cfg.data.duration_s * 1e9))
    )
    width = (end - start) // windows
    if width <= 0:
        raise InvalidArgumentError("windows", windows, f"at most the span {end - start} ns")
    return tuple(
        Window(
            index=k,
            start_s=(start + k * width) / 1e9,
            duration_s=width / 1e9,
            start_ns=first + start + k * width,
            end_ns=first + start + (k + 1) * width,
        )
        for k in range(windows)
    )


def calibrate_glft(
    events: EventArray,
    *,
    tick_size: float,
    start_ns: int,
    end_ns: int,
    sigma_interval_s: float = 1.0,
    intensity_interval_ms: float = 100.0,
    max_depth_ticks: int = 50,
    max_ticks: int = 200_000,
) -> GLFTFit:
    """σ, A and k of one window's rows (``events``, led by the book snapshot of
    :func:`~invrisk.config.time_slice`), on the local clock within ``[start_ns, end_ns)``.

    Raises
    ------
    InvalidArgumentError
        When the window has no two-sided book or not enough trades to fit.
    """
    from invrisk.market.book import L2Book
    from invrisk.quoting import calibrate_intensity, calibrate_sigma

    dt_ns = round(intensity_interval_ms * 1_000_000)
    grid = np.arange(start_ns, end_ns + 1, dt_ns, dtype=np.int64)
    trades = events[events["kind"] == EventKind.TRADE]
    inside = (trades["local_ns"] >= start_ns) & (trades["local_ns"] < int(grid[-1]))
    at = np.union1d(grid, trades["local_ns"][inside] - 1)
    book = L2Book.for_events(events, tick_size=tick_size, max_ticks=max_ticks)
    s = book.sample(events, at_ns=at, n_levels=1)
    mid = 0.5 * (s.bid_price[:, 0] + s.ask_price[:, 0])
    mid = np.where(np.isfinite(mid), mid, np.nan)
    on_grid = np.isin(at, grid)
    sig = calibrate_sigma(
        at[on_grid], mid[on_grid], interval_ns=round(sigma_interval_s * 1_000_000_000)
    )
    fit = calibrate_intensity(
        events,
        mid_ns=at,
        mid=mid,
        tick_size=tick_size,
        interval_ns=dt_ns,
        max_depth_ticks=max_depth_ticks,
        side="both",
        clock="local_ns",
        start_ns=int(grid[0]),
        end_ns=int(grid[-1]),
        reference="pre_trade",
    )
    return GLFTFit(
        sigma_price_per_sqrt_s=sig.sigma_price_per_sqrt_s,
        sigma_se=sig.sigma_se_price_per_sqrt_s,
        a_per_s=fit.a_per_s,
        a_se=fit.a_se_per_s,
        k_per_price=fit.k_per_price,
        k_se=fit.k_se_per_price,
        n_trades=fit.n_trades,
        n_intervals=fit.n_intervals,
        status=fit.status,
    )


def fixed_glft_table(
    strategy: Mapping[str, Any], fit: GLFTFit, *, gamma: float | None = None
) -> dict[str, Any]:
    """The ``[strategy]`` table that trades GLFT with ``fit`` held fixed (no online refit;
    see the module docstring); ``gamma`` replaces the table's when given."""
    table = dict(strategy)
    table.update(
        warmup="fallback",
        fallback_sigma=fit.sigma_price_per_sqrt_s,
        fallback_a=fit.a_per_s,
        fallback_k=fit.k_per_price,
        window_s=NO_REFIT_S,
        refit_interval_s=NO_REFIT_S,
    )
    if gamma is not None:
        table["gamma"] = float(gamma)
    return table


def _run(cfg: BacktestConfig, events: EventArray, inst: Instrument) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_from_config(cfg, events=events, instrument=inst)
    return metrics_row(result, wall_s=time.perf_counter() - t0, n_events=int(events.size))


def walk_forward(
    config: BacktestConfig | str | Path,
    *,
    windows: int,
    gamma_grid: Sequence[float] | None = None,
    select: str = "pnl",
    sigma_interval_s: float = 1.0,
    intensity_interval_ms: float = 100.0,
    max_depth_ticks: int = 50,
    events: EventArray | None = None,
    instrument: Instrument | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WalkForwardResult:
    """Calibrate on window k, trade window k + 1 (see the module docstring).

    Parameters
    ----------
    config
        A backtest config (or its TOML path) whose ``[strategy]`` is GLFT.
    windows
        Number of consecutive windows (>= 2); there are ``windows - 1`` steps.
    gamma_grid
        Risk aversions to choose from on each calibration window (per price unit x
        contract); None keeps the config's γ.
    select
        In-sample metric maximised to choose γ (a column of :data:`invrisk.sweep.METRICS`).
    sigma_interval_s, intensity_interval_ms, max_depth_ticks
        Calibration grid of σ (seconds), counting interval of the intensity fit (ms) and its
        depth levels.
    events, instrument
        The whole stream and its instrument (default: ``config``'s ``[data]`` without its
        time slice; the slice still bounds the windows).
    progress
        Called with (backtests done, backtests in total).
    """
    from invrisk.strategies.config import GLFTConfig, strategy_config

    t0 = time.perf_counter()
    path = None if isinstance(config, BacktestConfig) else Path(config)
    cfg = config if isinstance(config, BacktestConfig) else load_backtest_config(config)
    if not isinstance(strategy_config(cfg.strategy), GLFTConfig):
        raise InvalidArgumentError(
            "strategy.type", cfg.strategy.get("type"), "'glft' (walk-forward fits GLFT's σ, A, k)"
        )
    if select not in METRICS:
        raise InvalidArgumentError("select", select, f"one of {', '.join(METRICS)}")
    grid = tuple(float(g) for g in gamma_grid) if gamma_grid else ()
    for g in grid:
        if not (math.isfinite(g) and g > 0):
            raise InvalidArgumentError("gamma_grid", g, "risk aversions > 0")
    if events is None or instrument is None:
        whole = cfg.data.model_copy(update={"start_s": 0.0, "duration_s": None})
        events, instrument = load_events(whole)
    wins = walk_forward_windows(cfg, events, windows=windows)
    n_is = max(len(grid), 1)
    total = (windows - 1) * (n_is + 1)
    done = 0

    def window_cfg(w: Window, table: Mapping[str, Any]) -> BacktestConfig:
        data = cfg.data.model_copy(update={"start_s": w.start_s, "duration_s": w.duration_s})
        return cfg.model_copy(update={"data": data, "strategy": dict(table)})

    def window_events(w: Window) -> EventArray:
        return time_slice(
            events,
            start_s=w.start_s,
            duration_s=w.duration_s,
            tick_size=instrument.tick_size,
            max_ticks=cfg.data.max_ticks,
        )

    steps = []
    sliced = {w.index: window_events(w) for w in wins}
    for k in range(windows - 1):
        calib, test = wins[k], wins[k + 1]
        try:
            fit = calibrate_glft(
                sliced[k],
                tick_size=instrument.tick_size,
                start_ns=calib.start_ns,
                end_ns=calib.end_ns,
                sigma_interval_s=sigma_interval_s,
                intensity_interval_ms=intensity_interval_ms,
                max_depth_ticks=max_depth_ticks,
                max_ticks=cfg.data.max_ticks,
            )
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                f"window {k} ({calib.start_s:.3f} s + {calib.duration_s:.3f} s)",
                str(exc),
                "enough trades and a two-sided book to fit σ, A and k (use fewer windows)",
            ) from exc
        scores: dict[float, float] = {}
        rows: dict[float, dict[str, Any]] = {}
        for g in grid or (float(cfg.strategy["gamma"]),):
            rows[g] = _run(
                window_cfg(calib, fixed_glft_table(cfg.strategy, fit, gamma=g)),
                sliced[k],
                instrument,
            )
            scores[g] = float(rows[g][select])
            done += 1
            if progress is not None:
                progress(done, total)
        finite = [g for g in scores if math.isfinite(scores[g])]
        best = max(finite, key=lambda g: scores[g]) if finite else next(iter(scores))
        table = fixed_glft_table(cfg.strategy, fit, gamma=best)
        oos = _run(window_cfg(test, table), sliced[k + 1], instrument)
        done += 1
        if progress is not None:
            progress(done, total)
        steps.append(
            WalkForwardStep(
                calib=calib,
                test=test,
                fit=fit,
                gamma=best,
                gamma_scores=scores if grid else {},
                in_sample=rows[best],
                out_of_sample=oos,
            )
        )
    mis = _means([s.in_sample for s in steps])
    moos = _means([s.out_of_sample for s in steps])
    return WalkForwardResult(
        config=path,
        windows=wins,
        steps=tuple(steps),
        select=select,
        gamma_grid=grid,
        wall_s=time.perf_counter() - t0,
        degradation={m: mis[m] - moos[m] for m in METRICS if m != "wall_s"},
    )
