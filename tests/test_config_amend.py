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


def test_order_manager_tolerances_reach_the_runtimes(tmp_path: Path) -> None:
    """``[run] price_tolerance_ticks`` and ``qty_tolerance`` reach the paper and the live
    runtime's order manager (they used to reach only the backtester): with a 2-tick tolerance
    a quote moved by 2 ticks and trimmed by 10% stays, one moved by 3 ticks is replaced."""
    from invrisk.strategy import QuoteTarget

    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("price_tolerance_ticks = 0", "price_tolerance_ticks = 2", 1)
    text = text.replace("qty_tolerance = 0.99 ", "qty_tolerance = 0.2 ", 1)
    assert "price_tolerance_ticks = 2" in text and "qty_tolerance = 0.2 " in text
    path = tmp_path / "tol.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_backtest_config(path)
    m = benchmark_stream(2_000, seed=1)
    tick = m.instrument.tick_size
    paper = paper_runtime_from_config(cfg, events=m.events, instrument=m.instrument, speed=0.0)
    gw = PaperGateway(events=m.events, instruments=[m.instrument])
    live = live_runtime_from_config(cfg, gateway=gw, instrument=m.instrument)
    for rt in (paper, live):
        om = rt.om
        (order,) = om.reconcile(
            QuoteTarget.two_sided(0, bid=1000 * tick, ask=None, bid_qty=1.0, ask_qty=0.0),
            now_ns=1,
        )
        om.on_ack(order.order_id, now_ns=2)
        near = QuoteTarget.two_sided(0, bid=1002 * tick, ask=None, bid_qty=0.9, ask_qty=0.0)
        assert om.reconcile(near, now_ns=3) == []
        far = QuoteTarget.two_sided(0, bid=1003 * tick, ask=None, bid_qty=1.0, ask_qty=0.0)
        assert len(om.reconcile(far, now_ns=4)) == 2  # cancel + new
