"""The execution side of :mod:`invrisk.sweep` (private): one run in a worker, the worker pools
(in-process, local processes, Dask) and the run files of an output folder.

Kept apart from the sweep file and its orchestration so that each module stays readable; the
public names are re-exported by :mod:`invrisk.sweep`.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Literal

import numpy as np

from invrisk.backtest import BacktestResult
from invrisk.config import BacktestConfig, DataConfig, load_events, run_from_config, time_slice
from invrisk.data.events import EventArray
from invrisk.errors import InvalidArgumentError, InvriskError
from invrisk.instruments import Instrument

__all__ = [
    "METRICS",
    "METRIC_UNITS",
    "metrics_row",
    "parse_scheduler",
    "run_config",
]

_EVENT_CACHE_SIZE = 4


def _canonical(cfg: BacktestConfig) -> str:
    raw = cfg.model_dump(mode="python", exclude={"output"})
    return json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))


METRIC_UNITS: dict[str, str] = {
    "pnl": "settlement currency",
    "pnl_spread": "settlement currency",
    "pnl_inventory": "settlement currency",
    "fees": "settlement currency (negative = rebates)",
    "funding": "settlement currency (received)",
    "max_drawdown": "settlement currency",
    "sharpe": "annualised, 60 s bars of equity changes, 365 days",
    "sortino": "annualised, 60 s bars of equity changes, 365 days",
    "n_fills": "count",
    "orders_sent": "count",
    "fills_per_order": "fill records per order sent",
    "fill_ratio": "share of orders sent with a fill",
    "mean_abs_inventory": "contracts (time-weighted)",
    "std_inventory": "contracts (time-weighted)",
    "max_abs_inventory": "contracts",
    "final_position": "contracts",
    "turnover_qty": "contracts traded",
    "volume": "settlement currency traded",
    "markout_1s": "price units per fill",
    "markout_10s": "price units per fill",
    "markout_60s": "price units per fill",
    "quote_uptime": "share of decisions with both sides resting",
    "mean_quoted_spread": "price units",
    "n_events": "events replayed",
    "wall_s": "seconds (backtest only, not deterministic)",
}
"""Each metric column of a sweep's tables and its unit."""

METRICS: tuple[str, ...] = tuple(METRIC_UNITS)
"""The metric columns, in table order."""


# -- one run (runs in a worker) ----------------------------------------------------------------

_STREAMS: OrderedDict[str, tuple[EventArray, Instrument]] = OrderedDict()


def _events_for(data: DataConfig) -> tuple[EventArray, Instrument]:
    """The events of ``data``; whole streams kept in a small per-process cache (a worker
    reads a file once for every run and slice of it)."""
    whole = data.model_copy(update={"start_s": 0.0, "duration_s": None})
    key = whole.model_dump_json()
    if key in _STREAMS:
        _STREAMS.move_to_end(key)
    else:
        _STREAMS[key] = load_events(whole)
        while len(_STREAMS) > _EVENT_CACHE_SIZE:
            _STREAMS.popitem(last=False)
    events, inst = _STREAMS[key]
    if data.start_s == 0.0 and data.duration_s is None:
        return events, inst
    return (
        time_slice(
            events,
            start_s=data.start_s,
            duration_s=data.duration_s,
            tick_size=inst.tick_size,
            max_ticks=data.max_ticks,
        ),
        inst,
    )


def metrics_row(result: BacktestResult, *, wall_s: float, n_events: int) -> dict[str, Any]:
    """The sweep's metric columns (:data:`METRIC_UNITS`) of a one-instrument backtest."""
    summary = result.summary()
    per = summary["instruments"]
    assert isinstance(per, dict)
    m = next(iter(per.values()))
    t = result.t_ns
    pos = result.position[:, 0]
    dt = np.diff(t).astype(np.float64)
    if dt.size and dt.sum() > 0:
        w = dt / dt.sum()
        mean = float(np.sum(pos[:-1] * w))
        std = math.sqrt(float(np.sum((pos[:-1] - mean) ** 2 * w)))
    else:
        std = 0.0
    marks = m["markouts"]
    row: dict[str, Any] = {
        "pnl": m["pnl"],
        "pnl_spread": m["pnl_spread"],
        "pnl_inventory": m["pnl_inventory"],
        "fees": m["fees"],
        "funding": m["funding"],
        "max_drawdown": m["max_drawdown"],
        "sharpe": m["sharpe"],
        "sortino": m["sortino"],
        "n_fills": m["n_fills"],
        "orders_sent": summary["orders_sent"],
        "fills_per_order": summary["fills_per_order"],
        "fill_ratio": summary["filled_order_ratio"],
        "mean_abs_inventory": m["mean_abs_inventory"],
        "std_inventory": std,
        "max_abs_inventory": m["max_abs_inventory"],
        "final_position": m["final_position"],
        "turnover_qty": m["turnover_qty"],
        "volume": m["volume"],
        "markout_1s": marks.get("1s", math.nan),
        "markout_10s": marks.get("10s", math.nan),
        "markout_60s": marks.get("60s", math.nan),
        "quote_uptime": m["quote_uptime"],
        "mean_quoted_spread": m["mean_quoted_spread"],
        "n_events": int(n_events),
        "wall_s": float(wall_s),
    }
    out: dict[str, Any] = {k: (int(v) if k in _INT_METRICS else float(v)) for k, v in row.items()}
    out["settlement"] = str(m["settlement"])
    return out


_INT_METRICS = frozenset({"n_fills", "orders_sent", "n_events"})


def run_config(cfg: BacktestConfig) -> dict[str, Any]:
    """Run one resolved config and return its metric row (what a sweep worker does).

    The events come from a per-process cache of whole streams, sliced as ``cfg.data`` says;
    the backtest is :func:`~invrisk.config.run_from_config` on them, so the metrics equal
    those of ``run_from_config(cfg)``.
    """
    events, inst = _events_for(cfg.data)
    t0 = time.perf_counter()
    result = run_from_config(cfg, events=events, instrument=inst)
    return metrics_row(result, wall_s=time.perf_counter() - t0, n_events=int(events.size))


def _run_task(run_id: str, cfg: BacktestConfig) -> tuple[str, dict[str, Any] | None, str]:
    """Worker entry point: (run id, metric row or None, error message)."""
    try:
        return run_id, run_config(cfg), ""
    except (InvriskError, OSError, ValueError) as exc:
        return run_id, None, f"{type(exc).__name__}: {exc}"


# -- execution backends ------------------------------------------------------------------------


def parse_scheduler(text: str) -> tuple[Literal["local", "address"], int | str]:
    """``"local:N"`` (a Dask LocalCluster of N worker processes) or a scheduler address
    (``tcp://host:port``, ``tls://...``)."""
    if text.startswith("local:"):
        n = text.removeprefix("local:")
        if n.isdigit() and int(n) >= 1:
            return "local", int(n)
    elif text.startswith(("tcp://", "tls://")) and ":" in text.split("://", 1)[1]:
        return "address", text
    raise InvalidArgumentError(
        "scheduler", text, "'local:N' (N >= 1) or a Dask scheduler address tcp://host:port"
    )


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InvalidArgumentError(
            "dependency",
            module,
            "installed: pip install 'invrisk[sweep]' (dask[distributed], optuna)",
        ) from exc


Task = tuple[str, BacktestConfig]
Done = tuple[str, dict[str, Any] | None, str]


class _Inline:
    """Runs in this process, one after the other (workers=0)."""

    def run(self, tasks: Sequence[Task]) -> Iterator[Done]:
        for run_id, cfg in tasks:
            yield _run_task(run_id, cfg)

    def close(self) -> None:
        pass


class _LocalPool:
    """A pool of local worker processes (forkserver on Linux, spawn elsewhere)."""

    def __init__(self, workers: int) -> None:
        if sys.platform.startswith("linux"):
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["invrisk.sweep"])
        else:  # pragma: no cover - macOS / Windows
            ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    def run(self, tasks: Sequence[Task]) -> Iterator[Done]:
        futures: list[Future[Done]] = [self._pool.submit(_run_task, r, c) for r, c in tasks]
        for fut in as_completed(futures):
            yield fut.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _DaskPool:
    """Tasks on a Dask cluster: a LocalCluster of N processes, or a scheduler address."""

    def __init__(self, scheduler: str) -> None:
        kind, arg = parse_scheduler(scheduler)
        distributed = _need("distributed")
        self._cluster: Any = None
        try:
            if kind == "local":
                self._cluster = distributed.LocalCluster(
                    n_workers=int(arg),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=40,
                )
                self._client = distributed.Client(self._cluster)
            else:
                self._client = distributed.Client(str(arg), timeout="10s")
        except (OSError, TimeoutError) as exc:
            self.close()
            raise InvalidArgumentError(
                "scheduler", scheduler, f"a reachable Dask scheduler ({exc})"
            ) from exc
        self._as_completed = distributed.as_completed

    def run(self, tasks: Sequence[Task]) -> Iterator[Done]:
        futures = [
            self._client.submit(_run_task, r, c, key=f"invrisk-run-{r}", pure=False)
            for r, c in tasks
        ]
        for fut in self._as_completed(futures):
            yield fut.result()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if getattr(self, "_client", None) is not None:
                self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def _pool(workers: int, scheduler: str | None) -> _Inline | _LocalPool | _DaskPool:
    if scheduler is not None:
        return _DaskPool(scheduler)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise InvalidArgumentError("workers", workers, "an integer >= 0 (0: in this process)")
    return _Inline() if workers == 0 else _LocalPool(workers)


# -- output folder -----------------------------------------------------------------------------


def _run_file(out: Path, run_id: str) -> Path:
    return out / "runs" / f"{run_id}.parquet"


def _schema_fields(params: Sequence[str], sample: Sequence[Mapping[str, Any]]) -> list[Any]:
    import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

    fields = [
        pa.field("run_id", pa.string()),
        pa.field("point", pa.int64()),
        pa.field("dataset", pa.string()),
    ]
    for p in params:
        values = [r[p] for r in sample]
        if all(isinstance(v, bool) for v in values):
            typ = pa.bool_()
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            typ = pa.int64()
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            typ = pa.float64()
        else:
            typ = pa.string()
        fields.append(pa.field(p, typ, metadata={"unit": "as in the backtest config"}))
    for m in METRICS:
        typ = pa.int64() if m in _INT_METRICS else pa.float64()
        fields.append(pa.field(m, typ, metadata={"unit": METRIC_UNITS[m]}))
    fields.append(pa.field("settlement", pa.string()))
    return fields


def _write_parquet_atomic(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_run(out: Path, run_id: str, cfg: BacktestConfig, row: Mapping[str, Any]) -> None:
    import pyarrow as pa

    cols: dict[str, list[Any]] = {"run_id": [run_id], "config_json": [_canonical(cfg)]}
    for k, v in row.items():
        cols[k] = [v]
    _write_parquet_atomic(pa.table(cols), _run_file(out, run_id))


def _read_run(out: Path, run_id: str) -> dict[str, Any] | None:
    """The metrics of a finished run, or None when its file is missing or unreadable (e.g.
    written by another version without a column): the run is then computed again."""
    import pyarrow.parquet as pq

    path = _run_file(out, run_id)
    if not path.exists():
        return None
    try:
        table = pq.read_table(path)
        row = {name: table.column(name)[0].as_py() for name in table.column_names}
        return {k: row[k] for k in (*METRICS, "settlement")}
    except (OSError, ValueError, KeyError, IndexError):
        return None


def _write_summary(path: Path, params: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    import pyarrow as pa

    schema = pa.schema(_schema_fields(params, rows))
    cols = {f.name: [r[f.name] for r in rows] for f in schema}
    _write_parquet_atomic(pa.table(cols, schema=schema), path)
