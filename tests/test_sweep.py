"""Parameter sweeps (invrisk.sweep): resolution and validation of sweep files, identical results
on a Dask LocalCluster and alone, resuming after a SIGKILL, seeded random and Optuna search."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from invrisk.config import BacktestConfig, load_backtest_config, load_events, run_from_config
from invrisk.errors import InvalidArgumentError
from invrisk.sweep import (
    METRICS,
    config_run_id,
    load_sweep,
    metrics_row,
    parse_scheduler,
    resolve_runs,
    run_sweep,
)
from tests.conftest import REPO_ROOT, require_data

BINANCE = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"

BASE = """
[data]
source = "synthetic"
events = {events}
seed = 0

[exchange]
queue = "prob_power"
maker_fee = -0.0001
taker_fee = 0.0005

[run]
decision_interval_ms = 100.0

[risk]
max_position = 0.2
max_order_qty = 0.05

[strategy]
type = "glft"
gamma = 0.05
q_max = 0.1
order_qty = 0.01
window_s = 8
refit_interval_s = 2
min_trades_per_side = 20
"""


def write_sweep(tmp_path: Path, body: str, *, events: int = 30_000) -> Path:
    """A base config and a sweep file naming it (relative path) in ``tmp_path``."""
    (tmp_path / "base.toml").write_text(BASE.format(events=events), encoding="utf-8")
    path = tmp_path / "sweep.toml"
    path.write_text('base = "base.toml"\n' + body, encoding="utf-8")
    return path


def deterministic(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the wall time (the one column that is not deterministic)."""
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


# -- resolution and validation -----------------------------------------------------------------


def test_grid_resolves_every_combination_on_every_dataset(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        """
[params]
"strategy.gamma" = { dist = "log_uniform", low = 0.01, high = 1.0, num = 3 }
"exchange.queue" = ["prob_power", "risk_averse"]

[[datasets]]
name = "a"
seed = 0
[[datasets]]
name = "b"
seed = 1
events = 20000
""",
    )
    spec = load_sweep(path)
    runs = resolve_runs(spec)
    assert len(runs) == 3 * 2 * 2
    gammas = sorted({r.params["strategy.gamma"] for r in runs})
    np.testing.assert_allclose(gammas, [0.01, 0.1, 1.0], rtol=1e-12)
    assert {(r.point, r.dataset) for r in runs} == {(p, d) for p in range(6) for d in "ab"}
    for r in runs:
        cfg = r.config
        assert cfg.strategy["gamma"] == r.params["strategy.gamma"]
        assert cfg.exchange.queue == r.params["exchange.queue"]
        assert cfg.data.seed == (0 if r.dataset == "a" else 1)
        assert cfg.data.events == (30_000 if r.dataset == "a" else 20_000)
        assert r.run_id == config_run_id(cfg) and len(r.run_id) == 16
    assert len({r.run_id for r in runs}) == len(runs)
    # the id is a function of the resolved config alone
    again = BacktestConfig.model_validate(runs[0].config.model_dump())
    assert config_run_id(again) == runs[0].run_id
    changed = runs[0].config.model_copy(
        update={"run": runs[0].config.run.model_copy(update={"seed": 1})}
    )
    assert config_run_id(changed) != runs[0].run_id


def test_random_search_is_reproducible_by_seed(tmp_path: Path) -> None:
    body = """
[search]
method = "random"
n = 40
seed = {seed}

[params]
"strategy.gamma" = {{ dist = "log_uniform", low = 0.001, high = 10.0 }}
"run.decision_interval_ms" = {{ dist = "uniform", low = 50.0, high = 250.0 }}
"strategy.min_spread_ticks" = {{ dist = "int_uniform", low = 1, high = 4 }}
"exchange.queue" = ["prob_power", "risk_averse", "prob_log"]
"""
    draws = {}
    for seed in (3, 3, 4):
        path = write_sweep(tmp_path, body.format(seed=seed))
        draws.setdefault(seed, []).append(
            [(r.run_id, dict(r.params)) for r in resolve_runs(load_sweep(path))]
        )
    assert draws[3][0] == draws[3][1]
    assert draws[3][0] != draws[4][0]
    params = [p for _, p in draws[3][0]]
    g = np.array([p["strategy.gamma"] for p in params])
    assert np.all((g >= 0.001) & (g <= 10.0))
    # log-uniform: about half the draws below the geometric midpoint 0.1
    assert 10 <= int(np.sum(g < 0.1)) <= 30
    d = np.array([p["run.decision_interval_ms"] for p in params])
    assert np.all((d >= 50.0) & (d <= 250.0))
    ticks = {p["strategy.min_spread_ticks"] for p in params}
    assert ticks <= {1, 2, 3, 4} and all(isinstance(t, int) for t in ticks) and len(ticks) > 1
    assert {p["exchange.queue"] for p in params} == {"prob_power", "risk_averse", "prob_log"}


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        (
            '[params]\n"exchange.quue" = ["prob_log"]\n',
            r"params.*exchange\.quue.*a field of \[exchange\]",
        ),
        ('[params]\n"strategy.gammma" = [0.1]\n', r"strategy\.gammma.*a field of the strategy"),
        ('[params]\n"gamma" = [0.1]\n', r"gamma.*dotted field path"),
        ('[params]\n"output.report" = ["x.html"]\n', r"output\.report.*dotted field path"),
        ('[params]\n"strategy.gamma" = []\n', r"params\.strategy\.gamma.*grid is empty"),
        ("[params]\n", r"params.*at least one swept field"),
        ('[params]\n"strategy.gamma" = 0.1\n', r"strategy\.gamma.*a list of values"),
        ('[params]\n"strategy.gamma" = [0.1, "x"]\n', r"values of one type"),
        (
            '[params]\n"strategy.gamma" = { dist = "normal", low = 0, high = 1 }\n',
            r"strategy\.gamma\.dist.*'uniform'",
        ),
        (
            '[params]\n"strategy.gamma" = { dist = "log_uniform", low = 0.0, high = 1 }\n',
            r"strategy\.gamma\.low.*> 0 for log_uniform",
        ),
        (
            '[params]\n"strategy.gamma" = { dist = "uniform", low = 0.1, high = 1 }\n',
            r"without num.*num = points for a grid",
        ),
        ('[search]\nmethod = "random"\n[params]\n"strategy.gamma" = [0.1]\n', r"search\.n"),
        ('[search]\nmetric = "profit"\n[params]\n"strategy.gamma" = [0.1]\n', r"search\.metric"),
        ('[params]\n"strategy.gamma" = [0.1]\n[[datasets]]\nseeed = 1\n', r"datasets\[0\]\.seeed"),
        ('[params]\n"strategy.gamma" = [0.1]\n[execution]\nscheduler = "dask://x"\n', r"scheduler"),
        # values the configs reject name the run and the field
        (
            '[params]\n"strategy.gamma" = [0.1, -1.0]\n',
            r"run 1 \(strategy\.gamma=-1\.0\).*strategy\.gamma",
        ),
        ('[params]\n"run.decision_interval_ms" = [0.0]\n', r"run 0 .*run\.decision_interval_ms"),
        ('[params]\n"exchange.queue" = ["fifo"]\n', r"run 0 .*exchange\.queue"),
        ('bogus = 1\n[params]\n"strategy.gamma" = [0.1]\n', r"bogus"),
    ],
)
def test_bad_sweep_files_name_the_file_and_the_field(
    tmp_path: Path, body: str, pattern: str
) -> None:
    path = write_sweep(tmp_path, body)
    with pytest.raises(InvalidArgumentError, match=pattern) as info:
        run_sweep(path, out=tmp_path / "out", workers=0)
    assert str(path) in str(info.value)
    assert not (tmp_path / "out" / "runs").exists() or not any(
        (tmp_path / "out" / "runs").iterdir()
    )


def test_missing_files_and_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="an existing TOML file"):
        load_sweep(tmp_path / "nope.toml")
    path = tmp_path / "s.toml"
    path.write_text('base = "missing.toml"\n[params]\n"strategy.gamma" = [0.1]\n', encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"s\.toml: base.*missing\.toml"):
        load_sweep(path)
    ok = write_sweep(tmp_path, '[params]\n"strategy.gamma" = [0.1]\n')
    with pytest.raises(InvalidArgumentError, match="out"):
        run_sweep(ok, workers=0)
    for bad in ("local:0", "local:x", "tcp://", "localhost:8786", "http://h:1"):
        with pytest.raises(InvalidArgumentError, match="scheduler"):
            parse_scheduler(bad)
    assert parse_scheduler("local:2") == ("local", 2)
    assert parse_scheduler("tcp://10.0.0.1:8786") == ("address", "tcp://10.0.0.1:8786")
    with pytest.raises(InvalidArgumentError, match="workers"):
        run_sweep(ok, out=tmp_path / "o", workers=-1)


# -- execution ---------------------------------------------------------------------------------


def test_dask_local_cluster_sweep_equals_each_run_alone(tmp_path: Path) -> None:
    """16 configurations (8 points x the synthetic stream and 45 s of the real Binance
    recording) on a 2-worker Dask LocalCluster: every row equals the metrics of the same
    config run alone through run_from_config, bit for bit (wall time aside)."""
    data = require_data(BINANCE)
    path = write_sweep(
        tmp_path,
        f"""
[params]
"strategy.gamma" = [0.01, 0.05, 0.2, 1.0]
"exchange.queue" = ["prob_power", "risk_averse"]

[[datasets]]
name = "synthetic"
seed = 2

[[datasets]]
name = "binance"
source = "binance"
path = "{data}"
lot_size = 0.001
start_s = 20.0
duration_s = 45.0
""",
    )
    result = run_sweep(path, out=tmp_path / "out", scheduler="local:2")
    assert len(result.rows) == 16 and result.computed == 16 and result.skipped == 0
    assert not result.failed
    table = pq.read_table(result.summary)
    assert table.num_rows == 16
    assert table.column_names[:5] == [
        "run_id",
        "point",
        "dataset",
        "strategy.gamma",
        "exchange.queue",
    ]
    assert set(METRICS) <= set(table.column_names)
    assert table.schema.field("pnl").metadata[b"unit"] == b"settlement currency"
    spec = load_sweep(path)
    runs = {r.run_id: r for r in resolve_runs(spec)}
    streams: dict[str, Any] = {}
    alone_done = set()
    for row in table.to_pylist():
        cfg = runs[row["run_id"]].config
        assert row["run_id"] == config_run_id(cfg)
        key = cfg.data.model_dump_json()
        if key not in streams:
            streams[key] = load_events(cfg.data)
        ev, inst = streams[key]
        if row["dataset"] not in alone_done:  # one config per dataset entirely on its own
            alone_done.add(row["dataset"])
            result_alone = run_from_config(cfg)
        else:  # the others on the same events, loaded once
            result_alone = run_from_config(cfg, events=ev, instrument=inst)
        alone = metrics_row(result_alone, wall_s=0.0, n_events=int(ev.size))
        got = {k: row[k] for k in alone if k != "wall_s"}
        want = {k: v for k, v in alone.items() if k != "wall_s"}
        np.testing.assert_equal(got, want)
    # the runs did trade, on both datasets, and the parameters changed the outcome
    by_ds = {
        d: [r for r in table.to_pylist() if r["dataset"] == d] for d in ("synthetic", "binance")
    }
    for rows in by_ds.values():
        assert all(r["n_fills"] > 0 for r in rows)
        assert len({r["pnl"] for r in rows}) > 1


def test_local_processes_and_inline_give_the_same_table(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        """
[params]
"strategy.gamma" = [0.02, 0.5]
"run.decision_interval_ms" = [100.0, 200.0]
""",
        events=20_000,
    )
    a = run_sweep(path, out=tmp_path / "a", workers=2)
    b = run_sweep(path, out=tmp_path / "b", workers=0)
    assert a.computed == b.computed == 4
    np.testing.assert_equal(deterministic(list(a.rows)), deterministic(list(b.rows)))
    # a second sweep on the same folder recomputes nothing
    c = run_sweep(path, out=tmp_path / "a", workers=0)
    assert (c.computed, c.skipped) == (0, 4)
    np.testing.assert_equal(list(c.rows), list(a.rows))
    # a run file that cannot be read is computed again, not trusted
    broken = tmp_path / "a" / "runs" / f"{a.rows[0]['run_id']}.parquet"
    broken.write_bytes(b"not parquet")
    d = run_sweep(path, out=tmp_path / "a", workers=0)
    assert (d.computed, d.skipped) == (1, 3)
    np.testing.assert_equal(deterministic(list(d.rows)), deterministic(list(a.rows)))
    assert pq.read_table(broken).num_rows == 1


def test_killed_sweep_resumes_without_recomputing_finished_runs(tmp_path: Path) -> None:
    """SIGKILL the CLI (and its worker processes) midway; the restart skips the finished runs
    (their files untouched) and the final table equals an uninterrupted sweep's."""
    path = write_sweep(
        tmp_path,
        """
[params]
"strategy.gamma" = { dist = "log_uniform", low = 0.01, high = 1.0, num = 8 }
"run.decision_interval_ms" = [50.0, 100.0, 200.0]
""",
        events=40_000,
    )
    out = tmp_path / "killed"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "invrisk.cli",
            "sweep",
            str(path),
            "--out",
            str(out),
            "--workers",
            "1",
            "--json",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    runs_dir = out / "runs"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if runs_dir.exists() and len(list(runs_dir.glob("*.parquet"))) >= 3:
                break
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    time.sleep(0.2)
    finished = {p.name: p.stat().st_mtime_ns for p in runs_dir.glob("*.parquet")}
    assert 3 <= len(finished) < 24, f"{len(finished)} runs finished before the kill"
    assert not (out / "summary.parquet").exists()
    resumed = run_sweep(path, out=out, workers=0)
    assert resumed.skipped == len(finished)
    assert resumed.computed == 24 - len(finished)
    for name, mtime in finished.items():
        assert (runs_dir / name).stat().st_mtime_ns == mtime, f"{name} was rewritten"
    fresh = run_sweep(path, out=tmp_path / "fresh", workers=0)
    got = pq.read_table(resumed.summary).drop(["wall_s"]).to_pylist()
    want = pq.read_table(fresh.summary).drop(["wall_s"]).to_pylist()
    np.testing.assert_equal(got, want)
    assert len(got) == 24


def test_optuna_search_is_reproducible_by_seed(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    body = """
[search]
method = "optuna"
n = 10
seed = {seed}
metric = "pnl"
batch = 5

[params]
"strategy.gamma" = {{ dist = "log_uniform", low = 0.005, high = 2.0 }}
"strategy.order_qty" = [0.005, 0.01, 0.02]
"""
    rows = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        path = write_sweep(tmp_path, body.format(seed=seed), events=20_000)
        res = run_sweep(path, out=tmp_path / name, workers=0)
        assert len(res.rows) == 10 and res.computed == 10
        rows[name] = [(r["strategy.gamma"], r["strategy.order_qty"], r["pnl"]) for r in res.rows]
        best = res.best(1)[0]
        assert best["pnl"] == max(r["pnl"] for r in res.rows if math.isfinite(r["pnl"]))
    assert rows["a"] == rows["b"]
    assert rows["a"] != rows["c"]


def test_core_import_does_not_load_dask_or_optuna() -> None:
    code = (
        "import sys, invrisk.sweep, invrisk.walk_forward, invrisk.cli\n"
        "heavy = ('dask', 'distributed', 'optuna', 'duckdb')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_time_slice_starts_from_the_book_at_its_start() -> None:
    """A slice of a config is led by a CLEAR and a snapshot of the book rebuilt from the rows
    before it, and holds exactly the rows of its local-time window."""
    from invrisk.data.events import EventKind
    from invrisk.market.book import L2Book

    cfg = load_backtest_config(REPO_ROOT / "examples" / "sweep_base_glft.toml")
    whole, inst = load_events(cfg.data.model_copy(update={"events": 20_000}))
    data = cfg.data.model_copy(update={"events": 20_000, "start_s": 5.0, "duration_s": 3.0})
    part, _ = load_events(data)
    t0 = int(whole["local_ns"][0])
    lo, hi = t0 + 5 * 10**9, t0 + 8 * 10**9
    kept = whole[(whole["local_ns"] >= lo) & (whole["local_ns"] < hi)]
    head = part[: part.size - kept.size]
    np.testing.assert_array_equal(part[head.size :], kept)
    assert head["kind"][0] == EventKind.CLEAR and np.all(head["kind"][1:] == EventKind.SNAPSHOT)
    assert np.all(head["local_ns"] == kept["local_ns"][0])
    before = whole[whole["local_ns"] < lo]
    ref = L2Book.for_events(before, tick_size=inst.tick_size)
    ref.apply(before)
    book = L2Book.for_events(head, tick_size=inst.tick_size)
    book.apply(head)
    assert (book.best_bid, book.best_ask) == (ref.best_bid, ref.best_ask)
    assert (book.n_bid_levels, book.n_ask_levels) == (ref.n_bid_levels, ref.n_ask_levels)
    with pytest.raises(InvalidArgumentError, match=r"data\.start_s/duration_s"):
        load_events(cfg.data.model_copy(update={"events": 20_000, "start_s": 1e6}))


def test_duckdb_queries_the_summary_and_the_run_files(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    path = write_sweep(tmp_path, '[params]\n"strategy.gamma" = [0.02, 0.5, 2.0]\n', events=20_000)
    result = run_sweep(path, out=tmp_path / "out", workers=0)
    con = duckdb.connect()
    got = con.execute(
        f"""SELECT "strategy.gamma", pnl FROM '{result.summary}' ORDER BY 1"""
    ).fetchall()
    assert got == [(r["strategy.gamma"], r["pnl"]) for r in result.rows]
    n = con.execute(f"SELECT count(*) FROM '{result.out}/runs/*.parquet'").fetchone()
    assert n == (3,)


def test_the_same_config_twice_runs_once(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, '[params]\n"strategy.gamma" = [0.05, 0.05, 0.5]\n', events=20_000)
    seen: list[tuple[int, int]] = []
    result = run_sweep(
        path, out=tmp_path / "o", workers=0, progress=lambda d, t: seen.append((d, t))
    )
    assert len(result.rows) == 3 and result.computed == 2
    assert result.rows[0]["run_id"] == result.rows[1]["run_id"]
    assert seen[-1] == (3, 3)


def test_failed_runs_are_reported_not_written_and_retried(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gz"
    bad.write_bytes(b"")
    path = write_sweep(
        tmp_path,
        f"""
[params]
"strategy.gamma" = [0.05, 0.5]

[[datasets]]
name = "synthetic"
events = 20000

[[datasets]]
name = "broken"
source = "binance"
path = "{bad.name}"
""",
    )
    result = run_sweep(path, out=tmp_path / "o", workers=0)
    assert result.computed == 2 and len(result.failed) == 2
    assert all("broken.gz" in msg for msg in result.failed.values())
    assert [r["dataset"] for r in result.rows] == ["synthetic", "synthetic"]
    assert not any((tmp_path / "o" / "runs" / f"{k}.parquet").exists() for k in result.failed)
    again = run_sweep(path, out=tmp_path / "o", workers=0)
    assert (again.computed, again.skipped, len(again.failed)) == (0, 2, 2)
