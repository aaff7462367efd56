"""Sweep throughput: runs per minute with 1 and 2 local worker processes and a 2-worker Dask
LocalCluster, on the same set of runs, against the ideal (2x the 1-worker rate).

Prints one JSON line. The runs: 24 GLFT points (risk aversion x decision interval x order
size) on two synthetic BTCUSDT streams of ``EVENTS`` events each (48 backtests). Each
backend starts from an empty output folder and its wall time covers everything a user waits
for: starting the workers (or the cluster), each worker generating its streams once, the
runs, writing one Parquet file per run and the summary. The numba cache is warmed first by an
in-process run of one configuration (not timed). Best of ``REPEAT`` sweeps per backend; the
1-minute load average at the start is printed (the machine may be shared).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.sweep import run_sweep

EVENTS = 100_000
REPEAT = 3
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SWEEP = f"""
base = "{EXAMPLES / "sweep_base_glft.toml"}"

[params]
"strategy.gamma" = {{ dist = "log_uniform", low = 0.01, high = 1.0, num = 4 }}
"run.decision_interval_ms" = [50.0, 100.0, 200.0]
"strategy.order_qty" = [0.005, 0.01]

[[datasets]]
name = "synthetic-0"
events = {EVENTS}
seed = 0

[[datasets]]
name = "synthetic-1"
events = {EVENTS}
seed = 1
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_sweep.toml"
        path.write_text(SWEEP, encoding="utf-8")
        warm = Path(tmp) / "warm.toml"
        warm.write_text(
            SWEEP.replace("num = 4", "num = 1").replace("[50.0, 100.0, 200.0]", "[100.0]"),
            encoding="utf-8",
        )
        run_sweep(warm, out=Path(tmp) / "warm", workers=0)
        out: dict[str, object] = {"bench": "sweep", **machine(), "events_per_run": EVENTS}
        rates: dict[str, float] = {}
        rows = None
        out["load_avg_1min_at_start"] = round(os.getloadavg()[0], 2)
        for name, kwargs in (
            ("local_1", {"workers": 1}),
            ("local_2", {"workers": 2}),
            ("dask_local_2", {"scheduler": "local:2"}),
        ):
            wall = math.inf
            for rep in range(REPEAT):  # best of REPEAT, each from an empty folder
                t0 = time.perf_counter()
                folder = Path(tmp) / f"{name}-{rep}"
                result = run_sweep(path, out=folder, **kwargs)  # type: ignore[arg-type]
                wall = min(wall, time.perf_counter() - t0)
            assert result.computed == len(result.rows) and not result.failed
            same = [{k: v for k, v in r.items() if k != "wall_s"} for r in result.rows]
            if rows is None:
                rows = same
            identical = json.dumps(same, sort_keys=True) == json.dumps(rows, sort_keys=True)
            rates[name] = len(result.rows) / wall * 60.0
            backtest_s = sum(float(r["wall_s"]) for r in result.rows)
            out[name] = {
                "runs": len(result.rows),
                "wall_s": round(wall, 2),
                "runs_per_min": round(rates[name], 1),
                "backtest_s_total": round(backtest_s, 2),
                "same_results_as_local_1": identical,
            }
        ideal = 2.0 * rates["local_1"]
        out["ideal_2_workers_runs_per_min"] = round(ideal, 1)
        for name in ("local_2", "dask_local_2"):
            out[f"{name}_speedup"] = round(rates[name] / rates["local_1"], 2)
            out[f"{name}_efficiency_vs_ideal"] = round(rates[name] / ideal, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
