"""``invrisk backtest CONFIG.toml`` and its TOML configuration (invrisk.config)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from invrisk.backtest import run_backtest
from invrisk.cli import app
from invrisk.config import load_backtest_config
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.errors import InvalidArgumentError
from invrisk.strategies import Hold
from tests.conftest import require_data

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BINANCE = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"


def test_synthetic_example_end_to_end(tmp_path: Path) -> None:
    """The example config on 600,000 synthetic events (past the 300 s calibration window):
    summary JSON, Parquet and HTML written, and the JSON's fill count is the Parquet's."""
    report, out = tmp_path / "bt.html", tmp_path / "series"
    result = runner.invoke(
        app,
        [
            "backtest",
            str(EXAMPLES / "backtest_synthetic_glft.toml"),
            "--events",
            "600000",
            "--json",
            "--report",
            str(report),
            "--parquet",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["events"] == 600_000
    assert 0.0 <= doc["compile_s"] <= doc["elapsed_s"]
    summary = doc["summary"]
    fills = pq.read_table(out / "fills.parquet")
    assert summary["n_fills"] == fills.num_rows > 0
    samples = pq.read_table(out / "samples.parquet")
    assert samples.num_rows > 0 and "t_ns" in samples.column_names
    assert report.exists() and report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(doc["written"]) == sorted(
        [
            str(out / f)
            for f in ("samples.parquet", "fills.parquet", "funding.parquet", "orders.parquet")
        ]
        + [str(report)]
    )


def test_human_summary_names_units() -> None:
    result = runner.invoke(
        app, ["backtest", str(EXAMPLES / "backtest_synthetic_glft.toml"), "--events", "30000"]
    )
    assert result.exit_code == 0, result.output
    assert "M events/s" in result.output and "PnL in USDT" in result.output


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bt.toml"
    p.write_text(text, encoding="utf-8")
    return p


MINIMAL = """
[data]
source = "synthetic"
events = 20000

[strategy]
type = "hold"
"""


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ("[run]\nnot_a_field = 1\n", r"run\.not_a_field"),
        ("[run]\ndecision_interval_ms = 0\n", r"run\.decision_interval_ms"),
        (
            "[run]\ndecision_interval_ms = 100\ndecision_phase_ms = 100\n",
            r"decision_phase_ms=100\.0 must be below decision_interval_ms=100\.0",
        ),
        ("[exchange]\nqueue = 'fifo'\n", r"exchange\.queue"),
    ],
)
def test_config_errors_name_file_and_field(tmp_path: Path, extra: str, pattern: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(InvalidArgumentError, match=pattern) as info:
        load_backtest_config(path)
    assert str(path) in str(info.value)
    result = runner.invoke(app, ["backtest", str(path)])
    assert result.exit_code == 2 and "bt.toml" in result.output


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="an existing TOML file"):
        load_backtest_config(tmp_path / "nope.toml")
    with pytest.raises(InvalidArgumentError, match="valid TOML"):
        load_backtest_config(write(tmp_path, "[data\n"))


def test_decision_phase_aligns_decisions_to_the_clock(tmp_path: Path) -> None:
    """With a phase, every decision falls at local times = phase (mod the interval); the
    config's decision_phase_ms reaches the engine."""
    market = benchmark_stream(20_000, seed=1)
    interval = 100_000_000
    for phase in (0, 25_000_000, 99_999_999):
        r = run_backtest(
            events=market.events,
            instruments=[market.instrument],
            strategy=Hold(),
            decision_interval_ns=interval,
            decision_phase_ns=phase,
        )
        assert r.t_ns.size > 10
        assert np.all(r.t_ns % interval == phase)
        assert r.t_ns[0] > market.events["local_ns"][0] >= r.t_ns[0] - interval
    default = run_backtest(events=market.events, instruments=[market.instrument], strategy=Hold())
    assert default.t_ns[0] == market.events["local_ns"][0] + interval
    for bad in (-1, interval, True):
        with pytest.raises(InvalidArgumentError, match="decision_phase_ns"):
            run_backtest(
                events=market.events,
                instruments=[market.instrument],
                strategy=Hold(),
                decision_phase_ns=bad,  # type: ignore[arg-type]
            )
    cfg = load_backtest_config(write(tmp_path, MINIMAL + "[run]\ndecision_phase_ms = 25\n"))
    assert cfg.run.decision_phase_ms == 25.0


def test_binance_example_runs_on_the_real_recording(tmp_path: Path) -> None:
    """The real-data example with its path pointed at the shared data folder: a GLFT run with
    fills on both sides."""
    data = require_data(BINANCE)
    text = (EXAMPLES / "backtest_binance_btcusdt.toml").read_text(encoding="utf-8")
    lines = [
        f'path = "{data}"' if line.startswith("path = ") else line for line in text.splitlines()
    ]
    path = write(tmp_path, "\n".join(lines))
    result = runner.invoke(app, ["backtest", str(path), "--json", "--parquet", str(tmp_path)])
    assert result.exit_code == 0, result.output
    fills = pq.read_table(tmp_path / "fills.parquet").to_pydict()
    assert json.loads(result.output)["summary"]["n_fills"] == len(fills["side"])
    assert {1, -1} <= set(fills["side"])


def test_compile_timer_counts_compilation_not_cache_loads() -> None:
    """The backtest's "of which compiling" figure: a function compiled inside the block is
    counted (nested compiles once); calling it again, already compiled, is not."""
    from numba import njit

    from invrisk.cli_backtest import compile_timer

    @njit
    def inner(x: float) -> float:
        return x * 2.0

    @njit
    def outer(x: float) -> float:
        return inner(x) + 1.0

    with compile_timer() as first:
        assert outer(1.0) == 3.0
    with compile_timer() as again:
        assert outer(2.0) == 5.0
    assert first[0] > 0.0
    assert again[0] == 0.0
