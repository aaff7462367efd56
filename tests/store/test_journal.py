"""The SQL journal: round trips, the order manager hook, duplicate fills, recovery, crash safety
(SIGKILL mid-write), and plain-SQL readability."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.order_manager import OrderManager, OrderStatus
from invrisk.store import Journal, reconcile_orders
from invrisk.strategy import Fill, QuoteTarget

T0 = 1_767_225_600_000_000_000


def fill(order_id: int, side: int, qty: float, price: float, t: int) -> Fill:
    return Fill(0, order_id, side, price, qty, 0.01, True, T0 + t, T0 + t + 5)


def test_order_manager_hook_and_recovery(journal_url: str) -> None:
    """The order manager's events go to the journal as they happen; after a 'restart' the
    journal gives back the positions (from the fills alone), the cash, the orders still live
    and the next order id. On a SQLite file and on PostgreSQL (by URL)."""
    path = journal_url
    j = Journal(path)
    rid = j.start_run(started_ns=T0, mode="paper", venue="sim", config={"gamma": 0.1})
    om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event)
    actions = om.reconcile(
        QuoteTarget.two_sided(0, bid=99.9, ask=100.1, bid_qty=1.0, ask_qty=2.0), now_ns=T0
    )
    bid, ask = actions[0].order_id, actions[1].order_id
    om.on_ack(bid, now_ns=T0 + 1)
    om.on_ack(ask, now_ns=T0 + 2)
    f1 = fill(bid, 1, 1.0, 99.9, 10)  # the bid fills completely
    assert j.record_fill(f1, fill_id="t1")
    om.on_fill(bid, qty=1.0, price=99.9, now_ns=T0 + 15)
    f2 = fill(ask, -1, 0.5, 100.1, 20)  # the ask partly
    assert j.record_fill(f2, fill_id="t2")
    om.on_fill(ask, qty=0.5, price=100.1, now_ns=T0 + 25)
    assert not j.record_fill(f2, fill_id="t2")  # the same trade reported twice: stored once
    j.close()

    j2 = Journal(path)
    rec = j2.recover(rid)
    assert rec.positions == {0: pytest.approx(0.5)}
    assert rec.cash[0] == pytest.approx(-99.9 + 0.5 * 100.1 - 0.02)
    assert set(rec.open_orders) == {ask} and rec.open_orders[ask]["qty"] == 2.0
    assert rec.next_order_id == ask + 1 and rec.n_fills == 2
    events = [(e["order_id"], e["kind"], e["status"]) for e in j2.table("order_events", rid)]
    assert events[:2] == [(bid, "new", "PENDING_NEW"), (ask, "new", "PENDING_NEW")]
    assert (bid, "fill", "FILLED") in events and (ask, "fill", "OPEN") in events
    # a restarted run adopts its id
    assert j2.start_run(started_ns=T0 + 99, mode="paper", venue="sim", run_id=rid) == rid
    assert len(j2.runs()) == 1
    j2.close()


def test_risk_events_snapshots_and_plain_sql(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.start_run(started_ns=T0, mode="paper", venue="sim")
        j.record_transition(t_ns=T0 + 1, old="ACTIVE", new="HALTED", cause="stale data 5 s")
        j.record_risk_reject(t_ns=T0 + 2, order_id=7, reason="max_position", state="ACTIVE")
        j.record_snapshot(t_ns=T0 + 3, rows=[(0, 1.5, -150.0, 2.0, 101.0)])
    con = sqlite3.connect(path)  # plain SQL, no invrisk
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    kinds = con.execute("SELECT kind, new_state, cause FROM risk_events ORDER BY seq").fetchall()
    assert kinds == [
        ("transition", "HALTED", "stale data 5 s"),
        ("reject", "ACTIVE", "max_position"),
    ]
    assert con.execute("SELECT position, mark FROM snapshots").fetchone() == (1.5, 101.0)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


WRITER = """
import sys
from invrisk.store import Journal
from invrisk.strategy import Fill
j = Journal(sys.argv[1])
j.start_run(started_ns=0, mode="paper", venue="sim", run_id="crash")
for k in range(1_000_000):
    j.record_fill(Fill(0, k, 1, 100.0, 1.0, 0.0, True, k, k), fill_id=f"f{k}")
    print(k, flush=True)  # after the commit: fill k is on disk
"""


def test_fills_survive_sigkill(tmp_path: Path) -> None:
    """A writer process is killed with SIGKILL while journaling fills as fast as it can. Every
    fill it reported committed is in the file, nothing is half-written (integrity check), and a
    new journal opens the file and recovers the position from the fills."""
    path = tmp_path / "crash.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    committed = -1
    for line in proc.stdout:
        committed = int(line)
        if committed >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = con.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
    assert n >= committed + 1  # no committed fill lost (the writer may have got further)
    ids = {r[0] for r in con.execute("SELECT fill_id FROM fills")}
    assert len(ids) == n  # none duplicated
    con.close()
    with Journal(path) as j:
        rec = j.recover("crash")
    assert rec.positions[0] == pytest.approx(float(n)) and rec.n_fills == n


def test_reconcile_rule() -> None:
    r = reconcile_orders([1, 2, 3], [2, 3, 9])
    assert r.matched == (2, 3) and r.unknown_at_venue == (9,) and r.missing_at_venue == (1,)
    assert not r.clean and reconcile_orders([4], [4]).clean


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="target"):
        Journal(tmp_path / "missing-dir" / "j.sqlite")
    with pytest.raises(InvalidArgumentError, match="durability"):
        Journal(tmp_path / "j.sqlite", durability="fast")  # type: ignore[arg-type]
    j = Journal(tmp_path / "j.sqlite")
    with pytest.raises(InvalidArgumentError, match="start_run"):
        j.record_fill(fill(1, 1, 1.0, 100.0, 0), fill_id="x")
    j.start_run(started_ns=T0, mode="paper", venue="sim")
    with pytest.raises(InvalidArgumentError, match="fill_id"):
        j.record_fill(fill(1, 1, 1.0, 100.0, 0), fill_id="")
    with pytest.raises(InvalidArgumentError, match="name"):
        j.table("positions")
    j.close()


def test_journal_command(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from invrisk.cli import app

    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.start_run(started_ns=T0, mode="paper", venue="sim", run_id="first")
        j.start_run(started_ns=T0 + 10, mode="paper", venue="sim", run_id="second")
        om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event)
        (a,) = om.reconcile(
            QuoteTarget.two_sided(0, bid=99.9, ask=None, bid_qty=3.0, ask_qty=0.0), now_ns=T0
        )
        om.on_ack(a.order_id, now_ns=T0 + 1)
        j.record_fill(fill(a.order_id, 1, 1.0, 99.9, 5), fill_id="x1", mid=100.0)
        om.on_fill(a.order_id, qty=1.0, price=99.9, now_ns=T0 + 6)
        j.record_transition(t_ns=T0 + 7, old="ACTIVE", new="REDUCING", cause="drawdown")
        j.record_snapshot(t_ns=T0 + 8, rows=[(0, 1.0, -99.91, 1.09, 101.0)])
    runner = CliRunner()
    out = runner.invoke(app, ["journal", str(path), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["run_id"] == "second" and doc["fills"] == 1 and doc["positions"] == {"0": 1.0}
    assert doc["orders_by_state"] == {"OPEN": 1} and len(doc["open_orders"]) == 1
    assert doc["risk_events"][0]["new_state"] == "REDUCING"
    # bought 1 at 99.9 (fee 0.01) with the mid at 100, marked at the snapshot's 101: spread
    # 0.1, inventory 1.0, total 0.1 + 1.0 - 0.01 = 1.09 = cash -99.91 + 101
    pnl = doc["pnl"]["0"]
    assert pnl["mark"] == 101.0 and pnl["mark_source"].startswith("mid at")
    assert pnl["spread"] == pytest.approx(0.1, abs=1e-12)
    assert pnl["inventory"] == pytest.approx(1.0, abs=1e-12)
    assert pnl["total"] == pytest.approx(1.09, abs=1e-12)
    assert (pnl["realised"], pnl["unrealised"], pnl["fees"]) == (0.0, pytest.approx(1.1), 0.01)
    assert (pnl["delta_base"], pnl["delta_quote"]) == (1.0, 101.0)
    human = runner.invoke(app, ["journal", str(path)])
    assert human.exit_code == 0 and "REDUCING" in human.output and "run second" in human.output
    assert "PnL by instrument" in human.output
    first = runner.invoke(app, ["journal", str(path), "--run", "first", "--json"])
    assert json.loads(first.output)["fills"] == 0
    for args in (["journal", str(tmp_path / "none.sqlite")], ["journal", str(path), "--run", "x"]):
        bad = runner.invoke(app, args)
        assert bad.exit_code == 2, bad.output


def test_paper_run_journaled_in_postgresql(pg_server: str) -> None:
    """A GLFT paper run journaled to PostgreSQL: positions and cash recovered from its fills
    equal the runtime's, and a duplicated fill message is stored once."""
    import asyncio

    from invrisk.backtest import Fees
    from invrisk.data.synthetic_market import benchmark_stream
    from invrisk.live import PaperGateway, Runtime
    from invrisk.strategies import GLFTMarketMaker
    from invrisk.strategies.glft import GLFTParams
    from tests.pg import new_database

    market = benchmark_stream(60_000, seed=3)
    url = new_database(pg_server, "paper_run")
    j = Journal(url)
    j.start_run(started_ns=int(market.events["local_ns"][0]), mode="paper", venue="sim")
    strategy = GLFTMarketMaker(
        gamma=0.05,
        q_max=0.1,
        order_qty=0.01,
        window_ns=60 * 10**9,
        warmup="fallback",
        fallback=GLFTParams(5.0, 80.0, 5.0),
    )
    gw = PaperGateway(events=market.events, instruments=[market.instrument], fees=Fees(maker=-1e-4))
    rt = Runtime(strategy=strategy, instruments=[market.instrument], gateway=gw, journal=j)
    s = asyncio.run(rt.run())
    assert s.fills > 20
    rec = j.recover()
    assert rec.n_fills == s.fills
    assert rec.positions[0] == pytest.approx(s.positions[0], abs=1e-9)
    assert rec.cash[0] == pytest.approx(s.cash[0], rel=1e-12)
    first = j.table("fills")[0]
    again = Fill(0, first["order_id"], first["side"], first["price"], first["qty"], 0.0, True, 1, 2)
    assert not j.record_fill(again, fill_id=first["fill_id"])
    assert j.engine.dialect.name == "postgresql"
    j.close()


def test_fill_mid_is_stored_and_an_older_journal_gains_the_column(journal_url: str) -> None:
    """``record_fill(mid=...)`` stores the mid (NaN as NULL). A journal written before the
    ``fills.mid`` column existed (simulated by dropping it) opens with its rows intact and the
    column added, NULL for the old fills. SQLite file and PostgreSQL."""
    from sqlalchemy import create_engine, text

    j = Journal(journal_url)
    rid = j.start_run(started_ns=T0, mode="paper", venue="sim")
    assert j.record_fill(fill(1, 1, 1.0, 99.9, 10), fill_id="a", mid=100.0)
    assert j.record_fill(fill(1, 1, 1.0, 99.9, 20), fill_id="b", mid=math.nan)
    assert [f["mid"] for f in j.table("fills", rid)] == [100.0, None]
    j.close()
    url = journal_url if "://" in journal_url else f"sqlite:///{journal_url}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE fills DROP COLUMN mid"))
    engine.dispose()
    j2 = Journal(journal_url)
    rows = j2.table("fills", rid)
    assert [(f["fill_id"], f["mid"], f["price"]) for f in rows] == [
        ("a", None, 99.9),
        ("b", None, 99.9),
    ]
    j2.start_run(started_ns=T0 + 99, mode="paper", venue="sim", run_id=rid)  # a restart
    assert j2.record_fill(fill(1, -1, 0.5, 100.1, 30), fill_id="c", mid=100.05)
    assert j2.table("fills", rid)[-1]["mid"] == 100.05
    assert j2.recover(rid).positions == {0: pytest.approx(1.5)}
    j2.close()


def test_a_batch_keeps_the_order_of_its_records_and_a_failed_one_writes_nothing(
    journal_url: str,
) -> None:
    """Order requests and events held in a batch reach the database in the order they were
    made, around the fills and RiskGuard refusals written between them; a batch that raises
    leaves no row of it behind (and nothing held for the next one)."""
    j = Journal(journal_url)
    rid = j.start_run(started_ns=T0, mode="paper", venue="sim")
    om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event)
    with j.batch():
        a, b = om.reconcile(
            QuoteTarget.two_sided(0, bid=99.9, ask=100.1, bid_qty=1.0, ask_qty=1.0), now_ns=T0
        )
        j.record_risk_reject(t_ns=T0, order_id=b.order_id, reason="max_position", state="ACTIVE")
        om.on_reject(b.order_id, reason="risk:max_position", now_ns=T0)
        om.on_ack(a.order_id, now_ns=T0 + 1)
        assert j.record_fill(fill(a.order_id, 1, 0.4, 99.9, 2), fill_id="f1", mid=100.0)
        om.on_fill(a.order_id, qty=0.4, price=99.9, now_ns=T0 + 3)
    events = [(e["order_id"], e["kind"]) for e in j.table("order_events", rid)]
    assert events == [
        (a.order_id, "new"),
        (b.order_id, "new"),
        (b.order_id, "reject"),
        (a.order_id, "ack"),
        (a.order_id, "fill"),
    ]
    assert [o["order_id"] for o in j.table("orders", rid)] == [a.order_id, b.order_id]
    with pytest.raises(RuntimeError, match="boom"), j.batch():
        target = QuoteTarget.two_sided(0, bid=99.8, ask=None, bid_qty=1.0, ask_qty=0.0)
        (c,) = om.reconcile(target, now_ns=T0 + 4)[1:]
        assert j.record_fill(fill(a.order_id, 1, 0.1, 99.9, 5), fill_id="f2")
        raise RuntimeError("boom")
    assert len(j.table("order_events", rid)) == len(events)
    assert [f["fill_id"] for f in j.table("fills", rid)] == ["f1"]
    assert c.order_id not in {o["order_id"] for o in j.table("orders", rid)}
    j.record_event(a.order_id, kind="cancel_sent", status=OrderStatus.PENDING_CANCEL, t_ns=T0 + 6)
    assert [e["kind"] for e in j.table("order_events", rid)][-1] == "cancel_sent"
    assert len(j.table("order_events", rid)) == len(events) + 1  # nothing held over
    j.close()
