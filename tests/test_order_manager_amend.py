"""Order manager in amend mode: pairing, totals, the PENDING_AMEND life cycle, a random venue."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.order_manager import (
    AmendOrder,
    CancelOrder,
    ManagedOrder,
    NewOrder,
    OrderManager,
    OrderStatus,
)
from invrisk.strategy import QuoteLevel, QuoteTarget, TimeInForce

TICKS = [0.1, 0.5]
PENDING_AMEND, OPEN = OrderStatus.PENDING_AMEND, OrderStatus.OPEN


def two_sided(bid: float | None, ask: float | None, qty: float = 1.0) -> QuoteTarget:
    return QuoteTarget.two_sided(0, bid=bid, ask=ask, bid_qty=qty, ask_qty=qty)


def placed(om: OrderManager, target: QuoteTarget, now_ns: int = 0) -> list[int]:
    """Reconcile ``target`` into new orders and acknowledge them all; their ids."""
    actions = om.reconcile(target, now_ns=now_ns)
    assert all(isinstance(a, NewOrder) for a in actions)
    for a in actions:
        om.on_ack(a.order_id, now_ns=now_ns)
    return [a.order_id for a in actions]


@pytest.fixture
def om() -> OrderManager:
    return OrderManager(tick_sizes=TICKS, amend=True)


def test_amend_is_off_by_default_and_validated() -> None:
    plain = OrderManager(tick_sizes=TICKS)
    assert not plain.amend
    placed(plain, two_sided(100.0, 100.2))
    actions = plain.reconcile(two_sided(100.1, 100.3), now_ns=1)
    assert [type(a).__name__ for a in actions] == ["CancelOrder"] * 2 + ["NewOrder"] * 2
    with pytest.raises(InvalidArgumentError, match="amend"):
        OrderManager(tick_sizes=TICKS, amend=1)  # type: ignore[arg-type]


def test_a_moved_target_amends_both_sides(om: OrderManager) -> None:
    bid, ask = placed(om, two_sided(100.0, 100.2))
    actions = om.reconcile(two_sided(99.9, 100.4, qty=2.0), now_ns=5)
    assert actions == [AmendOrder(bid, 0, 1, 99.9, 2.0), AmendOrder(ask, 0, -1, 100.4, 2.0)]
    o = om.order(bid)
    assert o.status == PENDING_AMEND and (o.price, o.qty) == (100.0, 1.0)  # old terms
    assert (o.amend_price, o.amend_qty) == (99.9, 2.0)
    assert om.n_sent == 2 and om.n_cancels_sent == 0 and om.n_amends_sent == 2
    # the same target again: the orders in flight satisfy it at their requested terms
    assert om.reconcile(two_sided(99.9, 100.4, qty=2.0), now_ns=6) == []
    om.on_amend_ack(bid, now_ns=7)
    assert (o.status, o.price, o.qty, o.amend_pending) == (OPEN, 99.9, 2.0, False)
    om.on_amend_reject(ask, reason="post_only_would_cross", now_ns=8)
    a = om.order(ask)
    assert (a.status, a.price, a.qty, a.reason) == (OPEN, 100.2, 1.0, "post_only_would_cross")


def test_amend_qty_is_the_new_total_including_fills(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None, qty=1.0))
    om.on_fill(bid, qty=0.4, price=100.0, now_ns=1)
    (amend,) = om.reconcile(two_sided(99.8, None, qty=1.0), now_ns=2)
    # venues amend the total size: 0.4 filled + 1.0 wanted
    assert amend == AmendOrder(bid, 0, 1, 99.8, 1.4)
    om.on_amend_ack(bid, now_ns=3)
    o = om.order(bid)
    assert o.leaves == pytest.approx(1.0, abs=1e-15) and o.qty == 1.4
    # the venue may report other terms (e.g. a price it adjusted): they win
    (amend,) = om.reconcile(two_sided(99.5, None, qty=0.5), now_ns=4)
    assert amend.qty == pytest.approx(0.9, abs=1e-15)
    om.on_amend_ack(bid, now_ns=5, price=99.6, qty=0.9)
    assert (o.price, o.qty) == (99.6, 0.9)


def test_pending_new_orders_are_cancelled_not_amended(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, None), now_ns=0)  # not acknowledged yet
    actions = om.reconcile(two_sided(99.0, None), now_ns=1)
    assert actions == [
        CancelOrder(1, 0),
        NewOrder(2, 0, 1, 99.0, 1.0, TimeInForce.POST_ONLY, "quote"),
    ]


def test_an_order_in_flight_is_cancelled_when_the_target_moves_again(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None))
    om.reconcile(two_sided(99.9, None), now_ns=1)
    actions = om.reconcile(two_sided(99.5, None), now_ns=2)  # never two amends in flight
    assert actions == [
        CancelOrder(bid, 0),
        NewOrder(2, 0, 1, 99.5, 1.0, TimeInForce.POST_ONLY, "quote"),
    ]
    o = om.order(bid)
    assert o.status == OrderStatus.PENDING_CANCEL and o.amend_pending
    # the cancel arrived first at the venue: its late amend answer changes nothing
    om.on_cancel_ack(bid, now_ns=3)
    om.on_amend_ack(bid, now_ns=4)
    assert (o.status, o.price) == (OrderStatus.CANCELLED, 100.0)


def test_cancel_reject_during_an_amend_returns_to_pending_amend(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None))
    om.reconcile(two_sided(99.9, None), now_ns=1)
    (cancel,) = om.cancel_all(now_ns=2)
    assert cancel == CancelOrder(bid, 0) and om.cancel(bid, now_ns=2) is None
    om.on_cancel_reject(bid, reason="too late", now_ns=3)
    o = om.order(bid)
    assert o.status == PENDING_AMEND
    om.on_amend_ack(bid, now_ns=4)
    assert (o.status, o.price) == (OPEN, 99.9)


def test_amend_ack_while_pending_cancel_applies_the_terms(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None))
    om.reconcile(two_sided(99.9, None), now_ns=1)
    om.cancel_all(now_ns=2)
    om.on_amend_ack(bid, now_ns=3)
    o = om.order(bid)
    assert (o.status, o.price, o.amend_pending) == (OrderStatus.PENDING_CANCEL, 99.9, False)


def test_fills_during_an_amend_reach_the_larger_total(om: OrderManager) -> None:
    # size up 1 -> 3: the venue may have applied it, so fills up to 3 are accepted
    (bid,) = placed(om, two_sided(100.0, None, qty=1.0))
    om.reconcile(two_sided(100.0, None, qty=3.0), now_ns=1)
    om.on_fill(bid, qty=2.0, price=100.0, now_ns=2)
    o = om.order(bid)
    assert o.status == PENDING_AMEND and o.filled == 2.0
    assert om.resting_qty(0, 1) == 1.0  # the larger total 3 minus 2 filled
    with pytest.raises(InvalidArgumentError, match="leaves"):
        om.on_fill(bid, qty=1.5, price=100.0, now_ns=3)
    om.on_amend_ack(bid, now_ns=4)
    assert (o.status, o.qty, o.leaves) == (OPEN, 3.0, 1.0)


def test_a_fill_of_the_old_size_waits_for_the_amend_answer(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None, qty=1.0))
    om.reconcile(two_sided(100.0, None, qty=3.0), now_ns=1)
    om.on_fill(bid, qty=1.0, price=100.0, now_ns=2)  # the whole old size
    o = om.order(bid)
    assert o.status == PENDING_AMEND  # live at 3 if the venue applied the amend first
    om.on_amend_reject(bid, reason="already_done", now_ns=3)  # it did not: filled
    assert o.status == OrderStatus.FILLED and om.live_orders() == []
    assert om.terminal_counts[OrderStatus.FILLED] == 1


def test_a_size_decrease_filled_at_the_new_total_is_done_on_the_ack(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None, qty=3.0))
    om.reconcile(two_sided(100.0, None, qty=1.0), now_ns=1)  # down to 1 (still 3 if refused)
    om.on_fill(bid, qty=1.0, price=100.0, now_ns=2)
    o = om.order(bid)
    assert o.status == PENDING_AMEND
    events: list[tuple[str, OrderStatus]] = []
    om._on_event = lambda kind, order: events.append((kind, order.status))
    om.on_amend_ack(bid, now_ns=3, qty=1.0)
    assert o.status == OrderStatus.FILLED and events == [("amended", OrderStatus.FILLED)]


def test_pairing_best_order_with_best_level_and_the_action_order() -> None:
    om = OrderManager(tick_sizes=TICKS, amend=True)
    bids = (QuoteLevel(100.0, 1.0), QuoteLevel(99.9, 1.0))
    asks = (QuoteLevel(100.2, 1.0), QuoteLevel(100.3, 1.0))
    b1, b2, a1, a2 = placed(om, QuoteTarget(0, bids, asks))
    # bids: one level left -> the best bid (100.0) is amended to it, the other cancelled;
    # asks: three levels -> both asks amended (best to best), one new order
    target = QuoteTarget(
        0,
        (QuoteLevel(99.5, 1.0),),
        (QuoteLevel(100.5, 1.0), QuoteLevel(100.6, 2.0), QuoteLevel(100.8, 1.0)),
    )
    actions = om.reconcile(target, now_ns=1)
    assert actions == [
        CancelOrder(b2, 0),
        AmendOrder(b1, 0, 1, 99.5, 1.0),
        AmendOrder(a1, 0, -1, 100.5, 1.0),
        AmendOrder(a2, 0, -1, 100.6, 2.0),
        NewOrder(5, 0, -1, 100.8, 1.0, TimeInForce.POST_ONLY, "quote"),
    ]


def test_a_kept_order_is_not_amended() -> None:
    om = OrderManager(tick_sizes=TICKS, price_tolerance_ticks=1, amend=True)
    bids = (QuoteLevel(100.0, 1.0), QuoteLevel(99.9, 1.0))
    _, b2 = placed(om, QuoteTarget(0, bids, ()))
    # 100.1 is within one tick of b1: kept; b2 (99.9) is moved to 99.0
    target = QuoteTarget(0, (QuoteLevel(100.1, 1.0), QuoteLevel(99.0, 1.0)), ())
    assert om.reconcile(target, now_ns=1) == [AmendOrder(b2, 0, 1, 99.0, 1.0)]


def test_resting_qty_counts_the_worst_total_and_can_exclude(om: OrderManager) -> None:
    bid, _ = placed(om, two_sided(100.0, 100.2, qty=1.0))
    om.reconcile(QuoteTarget(0, (QuoteLevel(100.0, 2.5),), (QuoteLevel(100.2, 1.0),)), now_ns=1)
    assert om.resting_qty(0, 1) == 2.5
    assert om.resting_qty(0, 1, excluding=bid) == 0.0
    assert om.resting_by_side() == ([2.5, 0.0], [1.0, 0.0])


def test_on_event_kinds_of_an_amend() -> None:
    seen: list[tuple[str, OrderStatus, float, float]] = []

    def hook(kind: str, o: ManagedOrder) -> None:
        seen.append((kind, o.status, o.price, o.qty))

    om = OrderManager(tick_sizes=TICKS, amend=True, on_event=hook)
    placed(om, two_sided(100.0, None))
    om.reconcile(two_sided(99.9, None), now_ns=1)
    om.on_amend_reject(1, reason="post_only_would_cross", now_ns=2)
    om.reconcile(two_sided(99.8, None), now_ns=3)
    om.on_amend_ack(1, now_ns=4)
    assert [(k, s.name, p, q) for k, s, p, q in seen] == [
        ("new", "PENDING_NEW", 100.0, 1.0),
        ("ack", "OPEN", 100.0, 1.0),
        ("amend_sent", "PENDING_AMEND", 100.0, 1.0),
        ("amend_reject", "OPEN", 100.0, 1.0),
        ("amend_sent", "PENDING_AMEND", 100.0, 1.0),
        ("amended", "OPEN", 99.8, 1.0),
    ]


def test_answers_without_an_amend_in_flight_are_ignored(om: OrderManager) -> None:
    (bid,) = placed(om, two_sided(100.0, None))
    om.on_amend_ack(bid, now_ns=1)
    om.on_amend_reject(bid, reason="x", now_ns=1)
    o = om.order(bid)
    assert (o.status, o.price, o.reason) == (OPEN, 100.0, "quote")
    om.reconcile(two_sided(99.0, None), now_ns=2)
    with pytest.raises(InvalidArgumentError, match="price"):
        om.on_amend_ack(bid, now_ns=3, price=-1.0)


# -- a random venue -----------------------------------------------------------------------


@st.composite
def targets(draw: st.DrawFn) -> QuoteTarget:
    mid = draw(st.integers(990, 1010))  # in ticks of 0.1
    n_bids, n_asks = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    qty = st.sampled_from([0.5, 1.0, 2.0])
    bids = tuple(QuoteLevel((mid - 1 - 2 * k) / 10, draw(qty)) for k in range(n_bids))
    asks = tuple(QuoteLevel((mid + 1 + 2 * k) / 10, draw(qty)) for k in range(n_asks))
    return QuoteTarget(0, bids, asks)


def terms(o: ManagedOrder) -> tuple[float, float]:
    return (o.amend_price, o.amend_qty) if o.status == PENDING_AMEND else (o.price, o.qty)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_venue_keeps_the_amend_invariants(data: st.DataObject) -> None:
    """A venue that answers in any order: the manager's totals and fills follow the venue's,
    at most one amend is in flight per order, only acknowledged orders are amended, reconcile
    leaves every level covered (counting orders in flight at their requested terms), and the
    resting quantity is the worst case."""
    om = OrderManager(tick_sizes=TICKS, amend=True)
    # the venue: order id -> {"total", "filled", "alive", "acked", "amend": (p, q) | None,
    # "cancel": bool}
    venue: dict[int, dict[str, Any]] = {}
    now = 0
    for _ in range(data.draw(st.integers(1, 40))):
        now += 1
        step = data.draw(st.sampled_from(["reconcile", "venue", "venue", "venue"]))
        if step == "reconcile":
            target = data.draw(targets())
            before = {o.order_id: o.status for o in om.live_orders()}
            actions = om.reconcile(target, now_ns=now)
            kinds = [type(a).__name__ for a in actions]
            assert kinds == sorted(kinds, key=["CancelOrder", "AmendOrder", "NewOrder"].index)
            for a in actions:
                if isinstance(a, NewOrder):
                    venue[a.order_id] = dict(total=a.qty, filled=0.0, alive=True, acked=False,
                                             amend=None, cancel=False)  # fmt: skip
                elif isinstance(a, AmendOrder):
                    v = venue[a.order_id]
                    assert before[a.order_id] == OPEN and v["amend"] is None
                    wanted = next(
                        lv.qty for lv in (*target.bids, *target.asks) if lv.price == a.price
                    )
                    assert a.qty == om.order(a.order_id).filled + wanted
                    v["amend"] = (a.price, a.qty)
                else:
                    venue[a.order_id]["cancel"] = True
            quotes = [o for o in om.live_orders() if o.status != OrderStatus.PENDING_CANCEL]
            for side, levels in ((1, target.bids), (-1, target.asks)):
                got = sorted(
                    (terms(o)[0], terms(o)[1] - o.filled) for o in quotes if o.side == side
                )
                want = sorted((lv.price, lv.qty) for lv in levels)
                assert len(got) == len(want), (got, want)
                for (gp, gq), (wp, wq) in zip(got, want, strict=True):
                    assert gp == wp and gq == pytest.approx(wq, abs=1e-9)
        else:
            live = sorted(oid for oid, v in venue.items() if v["alive"] or v["amend"])
            if not live:
                continue
            oid = data.draw(st.sampled_from(live))
            v = venue[oid]
            choices = []
            if v["alive"] and not v["acked"]:
                choices.append("ack")
            if v["alive"] and v["acked"]:
                choices.append("fill")
            if v["amend"] is not None:
                choices.append("amend_answer")
            if v["cancel"] and v["alive"]:
                choices.append("cancel_ack")
            if not choices:
                continue
            event = data.draw(st.sampled_from(choices))
            total, filled = float(v["total"]), float(v["filled"])
            if event == "ack":
                om.on_ack(oid, now_ns=now)
                v["acked"] = True
            elif event == "fill":
                q = data.draw(st.sampled_from([total - filled, (total - filled) / 2]))
                om.on_fill(oid, qty=q, price=100.0, now_ns=now)
                v["filled"] = filled + q
                v["alive"] = filled + q < total * (1 - 1e-12)
            elif event == "amend_answer":
                _, new_total = v["amend"]
                v["amend"] = None
                if v["alive"] and new_total > filled * (1 + 1e-12):
                    v["total"] = new_total
                    om.on_amend_ack(oid, now_ns=now)
                    assert om.order(oid).qty == new_total
                else:
                    om.on_amend_reject(oid, reason="already_done", now_ns=now)
                done = float(v["filled"]) >= float(v["total"]) * (1 - 1e-12)
                v["alive"] = v["alive"] and not done
            else:
                om.on_cancel_ack(oid, now_ns=now)
                v["alive"] = False
        # the manager agrees with the venue on every order it still tracks
        for oid, v in venue.items():
            o = om.order(oid)
            assert o.filled == pytest.approx(v["filled"], abs=1e-12)
            if not v["amend"] and o.live:  # (a terminal order keeps an amend it never heard of)
                assert o.qty == v["total"] and not o.amend_pending
            if not v["alive"] and not v["amend"]:
                assert not o.live
            if o.live:
                assert o.worst_qty - o.filled > 0.0
        for side in (1, -1):
            live = [o for o in om.live_orders() if o.side == side]
            worst = math.fsum(max(o.qty, o.amend_qty if o.amend_pending else 0.0) - o.filled
                              for o in live)  # fmt: skip
            assert om.resting_qty(0, side) == pytest.approx(worst, abs=1e-12)
