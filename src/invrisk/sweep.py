"""Parameter sweeps over backtest configs, on local processes or a Dask cluster (layer 6).

A sweep file names a base backtest config (:mod:`invrisk.config`), a parameter space over its
fields by dotted path, and the datasets to run every point on::

    base = "backtest_synthetic_glft.toml"   # relative to this file
    out = "out/sweep_gamma"                 # optional default output folder

    [search]
    method = "grid"          # "grid" (every combination), "random" or "optuna" (TPE)
    n = 32                   # random / optuna: points to draw
    seed = 0                 # random / optuna
    metric = "pnl"           # optuna's objective (mean over the datasets); ranks the best
    direction = "maximize"   # or "minimize"
    batch = 4                # optuna: points proposed at once (fixed: results do not
                             # depend on the number of workers)

    [execution]              # optional defaults, overridden by the CLI
    workers = 2              # local processes (0: in this process, for debugging)
    # scheduler = "local:2"  # Dask LocalCluster of 2 workers, or "tcp://host:8786"

    [params]                 # dotted paths into the backtest config
    "strategy.gamma" = [0.01, 0.05, 0.2]                           # grid values / choice
    "exchange.queue" = ["risk_averse", "prob_log"]
    "run.decision_interval_ms" = { dist = "uniform", low = 50.0, high = 200.0 }
    "strategy.order_qty" = { dist = "log_uniform", low = 0.001, high = 0.01, num = 3 }
    "run.price_tolerance_ticks" = { dist = "int_uniform", low = 0, high = 3 }

    [[datasets]]             # each a [data] override of the base config (plus a name)
    name = "synthetic-0"
    source = "synthetic"
    events = 50_000
    seed = 0

    [[datasets]]
    name = "binance-btcusdt"
    source = "binance"
    path = "$INVRISK_SHARED_DATA/binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"
    duration_s = 60.0

A parameter is a list (grid values, or a uniform choice for random/optuna search) or a
distribution table: ``uniform`` and ``log_uniform`` over ``[low, high]`` (floats),
``int_uniform`` over the integers ``low..high``; a grid needs ``num`` points of a
distribution (evenly spaced, geometrically for ``log_uniform``). Without ``[[datasets]]`` the
base config's own ``[data]`` is the one dataset ("base").

Every run is a resolved :class:`~invrisk.config.BacktestConfig` (validated, with its strategy
table, before anything runs: an error names the sweep file, the run and the field). Its run id
is the first 16 hex digits of the SHA-256 of the resolved config (canonical JSON, ``[output]``
dropped), so the same config is the same run in any sweep. Runs are deterministic (same config,
same metrics, bit for bit; the wall time aside).

Output folder::

    runs/<run_id>.parquet   one row per finished run (its metrics and resolved config),
                            written atomically the moment the run finishes
    summary.parquet         one row per (point, dataset) of this sweep, in sweep order
    sweep.json              what was swept (file, parameters, datasets, run ids)

A sweep restarted on the same folder skips the runs whose file exists (crash, kill or a
different sweep sharing configs). Query with DuckDB, e.g. ``SELECT "strategy.gamma",
avg(pnl) FROM 'out/summary.parquet' GROUP BY 1`` (dotted column names need double quotes).

Metric units (:data:`METRIC_UNITS`): PnL, fees, funding and drawdown in the instrument's
settlement currency (column ``settlement``), inventory and turnover in contracts, markouts
and spreads in price units, Sharpe and Sortino annualised from 60 s bars (365 days), wall
time in seconds; the units are also in the Parquet field metadata (key ``unit``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from invrisk._checks import read_toml
from invrisk._sweep_exec import (
    METRIC_UNITS,
    METRICS,
    _canonical,
    _DaskPool,
    _Inline,
    _LocalPool,
    _need,
    _pool,
    _read_run,
    _write_run,
    _write_summary,
    metrics_row,
    parse_scheduler,
    run_config,
)
from invrisk.config import (
    BacktestConfig,
    DataConfig,
    ExchangeConfig,
    RiskConfig,
    RunConfig,
    load_backtest_config,
)
from invrisk.errors import InvalidArgumentError

__all__ = [
    "METRICS",
    "METRIC_UNITS",
    "Dataset",
    "ParamSpec",
    "RunSpec",
    "SweepResult",
    "SweepSpec",
    "best_points",
    "config_run_id",
    "load_sweep",
    "metrics_row",
    "parse_scheduler",
    "resolve_run",
    "resolve_runs",
    "run_config",
    "run_sweep",
]

Method = Literal["grid", "random", "optuna"]
Dist = Literal["choice", "uniform", "log_uniform", "int_uniform"]
Progress = Callable[[int, int], None]


_SECTIONS: dict[str, type[BaseModel]] = {
    "data": DataConfig,
    "exchange": ExchangeConfig,
    "run": RunConfig,
    "risk": RiskConfig,
}
_MAX_RUNS = 100_000


# -- the sweep file ----------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SearchTable(_Model):
    method: Method = "grid"
    n: int | None = Field(None, ge=1, description="random/optuna: points to draw")
    seed: int = Field(0, ge=0)
    metric: str = "pnl"
    direction: Literal["maximize", "minimize"] = "maximize"
    batch: int = Field(4, ge=1, description="optuna: points proposed at once")


class _ExecutionTable(_Model):
    workers: int | None = Field(None, ge=0)
    scheduler: str | None = None


class _SweepFile(_Model):
    base: str
    out: str | None = None
    search: _SearchTable = _SearchTable()
    execution: _ExecutionTable = _ExecutionTable()
    params: dict[str, Any]
    datasets: list[dict[str, Any]] = []


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One swept field: ``path`` (dotted) and either ``values`` (a list; grid values or a
    uniform choice) or a distribution ``dist`` over ``[low, high]`` (``num`` grid points)."""

    path: str
    dist: Dist
    values: tuple[Any, ...] = ()
    low: float = math.nan
    high: float = math.nan
    num: int | None = None

    def grid(self) -> tuple[Any, ...]:
        """The grid values: the list, or ``num`` points of the distribution."""
        if self.dist == "choice":
            return self.values
        if self.num is None:
            raise InvalidArgumentError(
                f"params.{self.path}", f"dist={self.dist!r} without num", "num = points for a grid"
            )
        if self.dist == "uniform":
            return tuple(float(x) for x in np.linspace(self.low, self.high, self.num))
        if self.dist == "log_uniform":
            return tuple(float(x) for x in np.geomspace(self.low, self.high, self.num))
        pts = np.unique(np.round(np.linspace(self.low, self.high, self.num)).astype(np.int64))
        return tuple(int(x) for x in pts)

    def draw(self, rng: np.random.Generator) -> Any:
        """One random value (seeded by ``rng``)."""
        if self.dist == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        if self.dist == "uniform":
            return float(rng.uniform(self.low, self.high))
        if self.dist == "log_uniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return int(rng.integers(int(self.low), int(self.high) + 1))


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named ``[data]`` override (fields of :class:`~invrisk.config.DataConfig`)."""

    name: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A validated sweep file (:func:`load_sweep`)."""

    path: Path
    base: BacktestConfig
    base_path: Path
    params: tuple[ParamSpec, ...]
    datasets: tuple[Dataset, ...]
    method: Method
    n: int | None
    seed: int
    metric: str
    direction: Literal["maximize", "minimize"]
    batch: int
    out: Path | None
    workers: int | None
    scheduler: str | None


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run of a sweep: point ``point`` of the parameter space on ``dataset``."""

    run_id: str
    point: int
    dataset: str
    params: Mapping[str, Any]
    config: BacktestConfig


def _bad(where: str, value: object, allowed: str) -> InvalidArgumentError:
    return InvalidArgumentError(where, value, allowed)


def _check_path(spec_path: Path, base: BacktestConfig, path: str) -> None:
    """Raise unless ``path`` names a sweepable field of ``base``."""
    section, _, name = path.partition(".")
    where = f"{spec_path}: params"
    if section == "strategy" and name:
        if name == "type":
            return
        from invrisk.strategies.config import strategy_config

        fields = type(strategy_config(base.strategy)).model_fields
        if name not in fields:
            raise _bad(where, path, f"a field of the strategy: strategy.{{{', '.join(fields)}}}")
        return
    model = _SECTIONS.get(section)
    if model is None or not name:
        raise _bad(
            where,
            path,
            "a dotted field path: data.*, exchange.*, run.*, risk.* or strategy.*",
        )
    if name not in model.model_fields:
        raise _bad(where, path, f"a field of [{section}]: {', '.join(model.model_fields)}")


def _scalar_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def _param(spec_path: Path, path: str, raw: object) -> ParamSpec:
    where = f"{spec_path}: params.{path}"
    if isinstance(raw, list):
        if not raw:
            raise _bad(where, "[]", "at least one value (the grid is empty)")
        kinds = {_scalar_kind(v) for v in raw}
        if len(kinds) != 1 or kinds - {"bool", "number", "str"}:
            raise _bad(where, raw, "values of one type (numbers, strings or booleans)")
        return ParamSpec(path=path, dist="choice", values=tuple(raw))
    if not isinstance(raw, dict):
        raise _bad(where, raw, "a list of values or a table {dist, low, high[, num]}")
    table = dict(raw)
    if "values" in table:
        extra = set(table) - {"values", "dist"}
        if extra or table.get("dist", "choice") != "choice":
            raise _bad(where, raw, "{values = [...]} alone")
        return _param(spec_path, path, table["values"])
    dist = table.pop("dist", None)
    if dist not in ("uniform", "log_uniform", "int_uniform"):
        raise _bad(f"{where}.dist", dist, "'uniform', 'log_uniform', 'int_uniform' or a list")
    low, high, num = table.pop("low", None), table.pop("high", None), table.pop("num", None)
    if table:
        raise _bad(where, sorted(table), "only dist, low, high and num")
    for key, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise _bad(f"{where}.{key}", v, "a finite number")
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if not low < high:
        raise _bad(f"{where}.high", high, f"a number > low = {low}")
    if dist == "log_uniform" and low <= 0:
        raise _bad(f"{where}.low", low, "a number > 0 for log_uniform")
    if dist == "int_uniform" and not (isinstance(low, int) and isinstance(high, int)):
        raise _bad(f"{where}.low", f"{low}/{high}", "integers for int_uniform")
    if num is not None and (isinstance(num, bool) or not isinstance(num, int) or num < 1):
        raise _bad(f"{where}.num", num, "an integer >= 1 (grid points)")
    return ParamSpec(path=path, dist=dist, low=low, high=high, num=num)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep TOML file (see the module docstring).

    Raises
    ------
    InvalidArgumentError
        Naming the file and the field: a missing or invalid base config, an unknown field
        path, an empty grid, a bad distribution, a dataset field [data] does not have, a
        search method without ``n`` or a metric that is not a column.
    """
    p = Path(path)
    raw = read_toml(p, "sweep")
    try:
        doc = _SweepFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ()))
        raise InvalidArgumentError(f"{p}: {loc}", err.get("input"), err.get("msg", "")) from exc
    base_path = (p.parent / doc.base).resolve()
    try:
        base = load_backtest_config(base_path)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{p}: base", str(exc), "a valid backtest config") from exc
    if not doc.params:
        raise _bad(f"{p}: params", "{}", "at least one swept field")
    for name in doc.params:
        _check_path(p, base, name)
    params = tuple(_param(p, name, value) for name, value in doc.params.items())
    s = doc.search
    if s.method in ("random", "optuna") and s.n is None:
        raise _bad(f"{p}: search.n", None, f"the number of points for method={s.method!r}")
    if s.metric not in METRICS:
        raise _bad(f"{p}: search.metric", s.metric, f"one of {', '.join(METRICS)}")
    if s.method == "grid":
        for ps in params:
            if ps.dist != "choice" and ps.num is None:
                raise _bad(
                    f"{p}: params.{ps.path}",
                    f"dist={ps.dist!r} without num",
                    "num = points for a grid (or search.method = 'random' / 'optuna')",
                )
        size = math.prod(len(ps.grid()) for ps in params)
        if size > _MAX_RUNS:
            raise _bad(f"{p}: params", f"{size} grid points", f"at most {_MAX_RUNS}")
    datasets = tuple(_dataset(p, i, d) for i, d in enumerate(doc.datasets)) or (
        Dataset("base", {}),
    )
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise _bad(f"{p}: datasets", names, "distinct dataset names")
    ex = doc.execution
    if ex.scheduler is not None:
        try:
            parse_scheduler(ex.scheduler)
        except InvalidArgumentError as exc:
            raise _bad(f"{p}: execution.scheduler", ex.scheduler, exc.allowed) from exc
    return SweepSpec(
        path=p,
        base=base,
        base_path=base_path,
        params=params,
        datasets=datasets,
        method=s.method,
        n=s.n,
        seed=s.seed,
        metric=s.metric,
        direction=s.direction,
        batch=s.batch,
        out=None if doc.out is None else p.parent / doc.out,
        workers=ex.workers,
        scheduler=ex.scheduler,
    )


def _dataset(spec_path: Path, i: int, table: Mapping[str, Any]) -> Dataset:
    data = dict(table)
    name = data.pop("name", None)
    for key in data:
        if key not in DataConfig.model_fields:
            raise _bad(
                f"{spec_path}: datasets[{i}].{key}", data[key], "a field of [data] (or name)"
            )
    if "path" in data:
        raw = str(data["path"])
        expanded = os.path.expandvars(raw)
        if "$" in expanded:
            raise _bad(f"{spec_path}: datasets[{i}].path", raw, "a path whose $VARIABLES are set")
        resolved = Path(expanded)
        data["path"] = resolved if resolved.is_absolute() else spec_path.parent / resolved
    if name is None:
        name = (
            Path(str(data["path"])).stem
            if "path" in data
            else f"{data.get('source', 'data')}-{data.get('seed', i)}"
        )
    return Dataset(str(name), data)


# -- resolving runs ----------------------------------------------------------------------------


def config_run_id(cfg: BacktestConfig) -> str:
    """The run id of a resolved config: 16 hex digits of the SHA-256 of its canonical JSON
    (sorted keys, ``[output]`` left out)."""
    return hashlib.sha256(_canonical(cfg).encode()).hexdigest()[:16]


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    section, _, name = path.partition(".")
    table = raw.get(section)
    raw[section] = {**(table or {}), name: value}


def resolve_run(spec: SweepSpec, point: int, values: Mapping[str, Any], ds: Dataset) -> RunSpec:
    """The validated run of ``values`` (path -> value) on ``ds`` (strategy table included)."""
    from invrisk.strategies.config import strategy_config

    label = f"run {point} ({', '.join(f'{k}={v!r}' for k, v in values.items())}) on {ds.name!r}"
    raw = spec.base.model_dump(mode="python", exclude={"output"})
    raw["data"] = {**raw["data"], **ds.data}
    for path, value in values.items():
        _set(raw, path, value)
    try:
        cfg = BacktestConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ()))
        raise InvalidArgumentError(
            f"{spec.path}: {label}: {loc}", err.get("input"), err.get("msg", "a valid value")
        ) from exc
    try:
        strategy_config(cfg.strategy)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"{spec.path}: {label}: strategy.{exc.argument}", exc.value, exc.allowed
        ) from exc
    return RunSpec(config_run_id(cfg), point, ds.name, dict(values), cfg)


def _points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The parameter points of a grid or random search, in order."""
    if spec.method == "grid":
        grids = [ps.grid() for ps in spec.params]
        return [
            {ps.path: v for ps, v in zip(spec.params, combo, strict=True)}
            for combo in itertools.product(*grids)
        ]
    rng = np.random.default_rng(spec.seed)
    assert spec.n is not None
    return [{ps.path: ps.draw(rng) for ps in spec.params} for _ in range(spec.n)]


def resolve_runs(spec: SweepSpec) -> list[RunSpec]:
    """Every run of a grid or random sweep (points x datasets, point-major), validated."""
    if spec.method == "optuna":
        raise InvalidArgumentError(
            "method", "optuna", "grid or random (optuna points depend on results)"
        )
    return [
        resolve_run(spec, i, point, ds)
        for i, point in enumerate(_points(spec))
        for ds in spec.datasets
    ]


# -- the sweep ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out
        The output folder; ``summary`` the summary table's path.
    rows
        One dict per (point, dataset), in sweep order: ``run_id``, ``point``, ``dataset``,
        each swept path, then :data:`METRICS` and ``settlement``.
    params
        The swept paths, in file order.
    computed, skipped
        Distinct runs computed now, and found finished in the folder (not recomputed).
    failed
        Run id -> error, for runs that raised (not written; a restart retries them).
    """

    out: Path
    summary: Path
    rows: tuple[dict[str, Any], ...]
    params: tuple[str, ...]
    datasets: tuple[str, ...]
    metric: str
    direction: Literal["maximize", "minimize"]
    computed: int
    skipped: int
    failed: Mapping[str, str] = field(default_factory=dict)
    wall_s: float = 0.0

    def best(self, n: int = 5) -> list[dict[str, Any]]:
        """The ``n`` best points by the mean of ``metric`` over the datasets."""
        return best_points(
            self.rows, self.params, metric=self.metric, direction=self.direction, n=n
        )


def best_points(
    rows: Iterable[Mapping[str, Any]],
    params: Sequence[str],
    *,
    metric: str,
    direction: Literal["maximize", "minimize"] = "maximize",
    n: int = 5,
) -> list[dict[str, Any]]:
    """Points ranked by the mean of ``metric`` over their datasets (NaN last): per point its
    parameters, ``runs`` and the mean of every metric."""
    groups: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(int(r["point"]), []).append(r)
    out = []
    for point, rs in groups.items():
        agg: dict[str, Any] = {"point": point, **{p: rs[0][p] for p in params}, "runs": len(rs)}
        for m in METRICS:
            vals = np.array([float(r[m]) for r in rs])
            agg[m] = float(np.mean(vals))
        out.append(agg)
    sign = -1.0 if direction == "maximize" else 1.0

    def key(a: dict[str, Any]) -> tuple[bool, float, int]:
        v = a[metric]
        return (not math.isfinite(v), sign * v if math.isfinite(v) else 0.0, a["point"])

    return sorted(out, key=key)[:n]


def run_sweep(
    spec: SweepSpec | str | Path,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring.

    Parameters
    ----------
    spec
        A :class:`SweepSpec` or the path of a sweep file.
    out
        Output folder (default: the file's ``out``; required if it has none).
    workers
        Local worker processes (default: the file's, else 1; 0 runs in this process).
    scheduler
        ``"local:N"`` or a Dask scheduler address (default: the file's); overrides workers.
    progress
        Called with (runs done, runs in total) after each run, finished or skipped.
    """
    t0 = time.perf_counter()
    sp = spec if isinstance(spec, SweepSpec) else load_sweep(spec)
    folder = Path(out) if out is not None else sp.out
    if folder is None:
        raise InvalidArgumentError("out", None, "an output folder (or 'out' in the sweep file)")
    sched = scheduler if scheduler is not None else sp.scheduler
    if sched is not None:
        parse_scheduler(sched)
    n_workers = workers if workers is not None else (sp.workers if sp.workers is not None else 1)
    if sp.method == "optuna":
        _need("optuna")
    runs = [] if sp.method == "optuna" else resolve_runs(sp)  # validate all before any run
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    state = _State(folder, progress)
    pool = _pool(n_workers, sched)
    try:
        if sp.method == "optuna":
            runs = _optuna(sp, pool, state)
        else:
            state.total = len(runs)
            state.execute(pool, runs)
    finally:
        pool.close()
    rows = [
        {
            "run_id": r.run_id,
            "point": r.point,
            "dataset": r.dataset,
            **r.params,
            **state.rows[r.run_id],
        }
        for r in runs
        if r.run_id in state.rows
    ]
    summary = folder / "summary.parquet"
    params = tuple(p.path for p in sp.params)
    _write_summary(summary, params, rows)
    manifest = {
        "sweep": str(sp.path),
        "base": str(sp.base_path),
        "method": sp.method,
        "params": list(params),
        "datasets": [d.name for d in sp.datasets],
        "runs": [r.run_id for r in runs],
        "failed": state.failed,
    }
    (folder / "sweep.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return SweepResult(
        out=folder,
        summary=summary,
        rows=tuple(rows),
        params=params,
        datasets=tuple(d.name for d in sp.datasets),
        metric=sp.metric,
        direction=sp.direction,
        computed=state.computed,
        skipped=state.skipped,
        failed=dict(state.failed),
        wall_s=time.perf_counter() - t0,
    )


class _State:
    """Finished rows of a sweep, and the bookkeeping of one execution."""

    def __init__(self, out: Path, progress: Progress | None) -> None:
        self.out = out
        self.progress = progress
        self.rows: dict[str, dict[str, Any]] = {}
        self.failed: dict[str, str] = {}
        self.computed = 0
        self.skipped = 0
        self.done = 0
        self.total = 0

    def _tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def execute(self, pool: _Inline | _LocalPool | _DaskPool, runs: Sequence[RunSpec]) -> None:
        """Run what is not finished yet (each distinct config once); write each as it ends."""
        todo: dict[str, BacktestConfig] = {}
        for r in runs:
            if r.run_id in self.rows or r.run_id in todo:  # the same config twice
                self._tick()
                continue
            row = _read_run(self.out, r.run_id)  # None: not there, or unreadable
            if row is not None:
                self.rows[r.run_id] = row
                self.skipped += 1
                self._tick()
            else:
                todo[r.run_id] = r.config
        for run_id, row, error in pool.run(list(todo.items())):
            if row is None:
                self.failed[run_id] = error
            else:
                _write_run(self.out, run_id, todo[run_id], row)
                self.rows[run_id] = row
                self.computed += 1
            self._tick()


def _optuna(sp: SweepSpec, pool: _Inline | _LocalPool | _DaskPool, state: _State) -> list[RunSpec]:
    """Optuna TPE (seeded) in batches of ``sp.batch`` points: ask, run every point on every
    dataset, tell the mean metric (NaN: a failed trial). Deterministic for a given batch."""
    optuna = _need("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists: dict[str, Any] = {}
    for ps in sp.params:
        if ps.dist == "choice":
            dists[ps.path] = optuna.distributions.CategoricalDistribution(list(ps.values))
        elif ps.dist == "int_uniform":
            dists[ps.path] = optuna.distributions.IntDistribution(int(ps.low), int(ps.high))
        else:
            dists[ps.path] = optuna.distributions.FloatDistribution(
                ps.low, ps.high, log=ps.dist == "log_uniform"
            )
    study = optuna.create_study(
        direction=sp.direction, sampler=optuna.samplers.TPESampler(seed=sp.seed)
    )
    assert sp.n is not None
    state.total = sp.n * len(sp.datasets)
    runs: list[RunSpec] = []
    while len(runs) < state.total:
        size = min(sp.batch, sp.n - len(runs) // len(sp.datasets))
        trials = [study.ask(dists) for _ in range(size)]
        batch: list[list[RunSpec]] = []
        for trial in trials:
            values = {ps.path: trial.params[ps.path] for ps in sp.params}
            point = len(runs) // len(sp.datasets)
            rs = [resolve_run(sp, point, values, ds) for ds in sp.datasets]
            runs += rs
            batch.append(rs)
        state.execute(pool, [r for rs in batch for r in rs])
        for trial, rs in zip(trials, batch, strict=True):
            vals = [state.rows[r.run_id][sp.metric] for r in rs if r.run_id in state.rows]
            value = float(np.mean(vals)) if len(vals) == len(rs) else math.nan
            if math.isfinite(value):
                study.tell(trial, value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return runs
