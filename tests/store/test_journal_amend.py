"""The journal's record of amends: events, the ``order_amends`` table, recovery at the amended
terms, and a journal file written before amends existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from invrisk.order_manager import OrderManager, OrderStatus
from invrisk.store import Journal
from invrisk.strategy import Fill, QuoteLevel, QuoteTarget

T0 = 1_767_225_600_000_000_000


def two_sided(bid: float, ask: float, bid_qty: float = 1.0, ask_qty: float = 1.0) -> QuoteTarget:
    return QuoteTarget(0, (QuoteLevel(bid, bid_qty),), (QuoteLevel(ask, ask_qty),))


def test_amends_are_journaled_and_recovered_at_their_terms(journal_url: str) -> None:
    """Bid amended and applied (99.8 x 2.0 total), ask amend rejected, then the bid partly
    filled and amended again without an answer (the process stops): the events say each step
    with its terms, ``order_amends`` holds the applied amend only, and recovery reports the bid
    at its applied terms and the ask at its first ones."""
    j = Journal(journal_url)
    rid = j.start_run(started_ns=T0, mode="paper", venue="sim")
    om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event, amend=True)
    bid, ask = (a.order_id for a in om.reconcile(two_sided(99.9, 100.1), now_ns=T0))
    om.on_ack(bid, now_ns=T0 + 1)
    om.on_ack(ask, now_ns=T0 + 1)
    om.reconcile(two_sided(99.8, 100.3, bid_qty=2.0), now_ns=T0 + 10)
    om.on_amend_ack(bid, now_ns=T0 + 12)
    om.on_amend_reject(ask, reason="post_only_would_cross", now_ns=T0 + 12)
    assert j.record_fill(Fill(0, bid, 1, 99.8, 0.5, 0.0, True, T0 + 20, T0 + 21), fill_id="f1")
    om.on_fill(bid, qty=0.5, price=99.8, now_ns=T0 + 21)
    om.reconcile(two_sided(99.7, 100.1, bid_qty=2.0), now_ns=T0 + 30)  # in flight at the stop
    j.close()

    j2 = Journal(journal_url)
    events = [
        (e["order_id"], e["kind"], e["status"], e["detail"]) for e in j2.table("order_events", rid)
    ]
    assert (bid, "amend_sent", "PENDING_AMEND", "2.0@99.8") in events
    assert (bid, "amended", "OPEN", "2.0@99.8") in events
    assert (ask, "amend_sent", "PENDING_AMEND", "1.0@100.3") in events
    assert (ask, "amend_reject", "OPEN", "post_only_would_cross") in events
    assert (bid, "amend_sent", "PENDING_AMEND", "2.5@99.7") in events  # 0.5 filled + 2.0
    amends = [
        (r["order_id"], r["t_ns"], r["price"], r["qty"]) for r in j2.table("order_amends", rid)
    ]
    assert amends == [(bid, T0 + 12, 99.8, 2.0)]
    orders = {r["order_id"]: (r["price"], r["qty"]) for r in j2.table("orders", rid)}
    assert orders == {bid: (99.9, 1.0), ask: (100.1, 1.0)}  # the requests as first sent
    rec = j2.recover(rid)
    assert set(rec.open_orders) == {bid, ask}
    b, a = rec.open_orders[bid], rec.open_orders[ask]
    assert (b["price"], b["qty"], b["amended_ns"]) == (99.8, 2.0, T0 + 12)
    assert (a["price"], a["qty"], a["amended_ns"]) == (100.1, 1.0, None)
    j2.close()


def test_an_amend_filled_order_is_filled_in_the_journal(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite")
    rid = j.start_run(started_ns=T0, mode="paper", venue="sim")
    om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event, amend=True)
    bid = om.reconcile(QuoteTarget(0, (QuoteLevel(99.9, 1.0),)), now_ns=T0)[0].order_id
    om.on_ack(bid, now_ns=T0 + 1)
    om.reconcile(QuoteTarget(0, (QuoteLevel(99.9, 3.0),)), now_ns=T0 + 2)
    om.on_fill(bid, qty=1.0, price=99.9, now_ns=T0 + 3)  # the old size: the answer decides
    om.on_amend_reject(bid, reason="already_done", now_ns=T0 + 4)
    last = j.table("order_events", rid)[-1]
    assert (last["kind"], last["status"], last["detail"]) == (
        "amend_reject",
        "FILLED",
        "already_done",
    )
    assert j.recover(rid).open_orders == {}
    assert om.order(bid).status == OrderStatus.FILLED
    j.close()


def test_a_journal_file_from_before_amends_gains_the_table(tmp_path: Path) -> None:
    """A file written before ``order_amends`` existed opens, gets the table, and recovers."""
    path = tmp_path / "old.sqlite"
    with Journal(path) as j:
        rid = j.start_run(started_ns=T0, mode="paper", venue="sim")
        om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event)
        om.reconcile(QuoteTarget(0, (QuoteLevel(99.9, 1.0),)), now_ns=T0)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE order_amends")
    con.commit()
    con.close()
    with Journal(path) as j:
        rec = j.recover(rid)
        assert rec.open_orders[1]["qty"] == 1.0 and rec.open_orders[1]["amended_ns"] is None
        assert j.table("order_amends", rid) == []


@pytest.mark.parametrize("amend_applied", [True, False])
def test_restart_reconciles_an_amended_order_by_its_amended_size(
    tmp_path: Path, amend_applied: bool
) -> None:
    """An order amended from 1.0 to a total of 2.0 and 1.5 filled is gone from the venue after
    a restart: by its applied terms it was cancelled with 0.5 unfilled (by its first terms it
    would have been taken for filled); an amend never answered does not count."""
    import numpy as np

    from invrisk.data.synthetic_market import benchmark_stream
    from invrisk.live import PaperGateway, Runtime
    from invrisk.strategies import GLFTMarketMaker

    path = tmp_path / "r.sqlite"
    with Journal(path) as j:
        rid = j.start_run(started_ns=T0, mode="paper", venue="sim")
        om = OrderManager(tick_sizes=[0.1], on_event=j.on_order_event, amend=True)
        bid = om.reconcile(QuoteTarget(0, (QuoteLevel(99.9, 1.0),)), now_ns=T0)[0].order_id
        om.on_ack(bid, now_ns=T0 + 1)
        om.reconcile(QuoteTarget(0, (QuoteLevel(99.9, 2.0),)), now_ns=T0 + 2)
        if amend_applied:
            om.on_amend_ack(bid, now_ns=T0 + 3)
        fill = Fill(0, bid, 1, 99.9, 1.5 if amend_applied else 1.0, 0.0, True, T0 + 4, T0 + 5)
        j.record_fill(fill, fill_id="x1")
        om.on_fill(bid, qty=fill.qty, price=99.9, now_ns=T0 + 5)
    m = benchmark_stream(2_000, seed=1)
    with Journal(path) as j:
        j.start_run(started_ns=T0, mode="paper", venue="sim", run_id=rid)
        gw = PaperGateway(events=m.events, instruments=[m.instrument])
        rt = Runtime(
            strategy=GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01),
            instruments=[m.instrument],
            gateway=gw,
            journal=j,
            amend_orders=True,
        )
        report = rt.resume(rid)
        assert report["missing_at_venue"] == (bid,)
        last = j.table("order_events", rid)[-1]
        if amend_applied:  # 1.5 of 2.0: the rest was cancelled
            assert (last["kind"], last["detail"]) == ("cancelled", "reconciled: not at venue")
        else:  # the amend never answered: 1.0 of 1.0 filled
            assert (last["kind"], last["detail"]) == ("fill", "reconciled: filled at venue")
        assert rt.om.amend and np.isclose(rt.position[0], fill.qty)
