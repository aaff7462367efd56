"""``[run] amend_orders`` in the TOML config: it reaches the backtest, the paper runtime and
the live runtime; the CLI's JSON summary counts amends and ``--parquet`` writes their log."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from invrisk.cli import app
from invrisk.config import (
    live_runtime_from_config,
    load_backtest_config,
    paper_runtime_from_config,
)
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.errors import InvalidArgumentError
from invrisk.live import PaperGateway

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "backtest_synthetic_glft.toml"


def with_amends(tmp_path: Path, on: str = "true") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "[run]\n", f"[run]\namend_orders = {on}\n", 1
    )
    p = tmp_path / "amend.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_amend_orders_is_off_by_default_and_read_from_run(tmp_path: Path) -> None:
    assert not load_backtest_config(EXAMPLE).run.amend_orders
    cfg = load_backtest_config(with_amends(tmp_path))
    assert cfg.run.amend_orders
    m = benchmark_stream(2_000, seed=1)
    paper = paper_runtime_from_config(cfg, events=m.events, instrument=m.instrument, speed=0.0)
    assert paper.amend_orders and paper.om.amend
    gw = PaperGateway(events=m.events, instruments=[m.instrument])
    live = live_runtime_from_config(cfg, gateway=gw, instrument=m.instrument)
    assert live.om.amend
    with pytest.raises(InvalidArgumentError, match=r"run\.amend_orders"):
        load_backtest_config(with_amends(tmp_path, "'sometimes'"))


def test_backtest_command_with_amends(tmp_path: Path) -> None:
    """The GLFT example with amends on 600,000 synthetic events: amends counted in the JSON
    summary, logged in amends.parquet (each applied or rejected with a reason), and quotes
    move by amends rather than by cancels."""
    out = tmp_path / "series"
    runner = CliRunner()
    args = ["backtest", str(with_amends(tmp_path)), "--events", "600000", "--json"]
    result = runner.invoke(app, [*args, "--parquet", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)["summary"]
    assert summary["amends_sent"] > 100 and summary["cancels_sent"] < 20
    amends = pq.read_table(out / "amends.parquet").to_pydict()
    assert len(amends["order_id"]) == summary["amends_sent"]
    assert set(amends["status"]) <= {0, 1, 2} and amends["status"].count(1) > 50
    rejected = {r for r, s in zip(amends["reason"], amends["status"], strict=True) if s == 2}
    assert rejected <= {"already_done", "post_only_would_cross", "amend_qty_not_above_filled"}
    plain = runner.invoke(app, ["backtest", str(EXAMPLE), "--events", "600000", "--json"])
    base = json.loads(plain.output)["summary"]
    assert base["amends_sent"] == 0 and base["cancels_sent"] > summary["cancels_sent"]
