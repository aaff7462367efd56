"""Order manager: reconcile rules, in-flight state, engine events, random-sequence property."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.order_manager import (
    CancelOrder,
    ManagedOrder,
    NewOrder,
    OrderManager,
    OrderStatus,
)
from invrisk.strategy import HedgeIntent, QuoteLevel, QuoteTarget, TimeInForce

TICKS = [0.1, 0.5]


def two_sided(bid: float | None, ask: float | None, qty: float = 1.0, inst: int = 0) -> QuoteTarget:
    return QuoteTarget.two_sided(inst, bid=bid, ask=ask, bid_qty=qty, ask_qty=qty)


def ack_all(om: OrderManager, actions: list[NewOrder | CancelOrder], now_ns: int) -> None:
    for a in actions:
        if isinstance(a, NewOrder):
            om.on_ack(a.order_id, now_ns=now_ns)


def summary(actions: list[NewOrder | CancelOrder]) -> list[tuple[str, int, float]]:
    return [
        ("new", a.side, a.price) if isinstance(a, NewOrder) else ("cancel", a.order_id, 0.0)
        for a in actions
    ]


@pytest.fixture
def om() -> OrderManager:
    return OrderManager(tick_sizes=TICKS, price_tolerance_ticks=1)


# -- reconcile ------------------------------------------------------------------------------


def test_first_quote_places_two_orders(om: OrderManager) -> None:
    actions = om.reconcile(two_sided(100.0, 100.2, qty=2.0), now_ns=10)
    assert actions == [
        NewOrder(1, 0, 1, 100.0, 2.0, TimeInForce.POST_ONLY, "quote"),
        NewOrder(2, 0, -1, 100.2, 2.0, TimeInForce.POST_ONLY, "quote"),
    ]
    assert [o.status for o in om.live_orders()] == [OrderStatus.PENDING_NEW] * 2
    assert om.n_sent == 2 and om.n_cancels_sent == 0
    gtc = QuoteTarget.two_sided(1, bid=99.5, ask=None, bid_qty=1.0, ask_qty=1.0, post_only=False)
    (new,) = om.reconcile(gtc, now_ns=10)
    assert isinstance(new, NewOrder) and new.tif == TimeInForce.GTC and new.instrument == 1


def test_same_target_again_places_nothing(om: OrderManager) -> None:
    target = two_sided(100.0, 100.2)
    om.reconcile(target, now_ns=0)
    assert om.reconcile(target, now_ns=1) == []  # still PENDING_NEW: in flight, not re-sent
    om.on_ack(1, now_ns=2)
    om.on_ack(2, now_ns=2)
    assert om.reconcile(target, now_ns=3) == []
    assert om.n_sent == 2


def test_price_move_within_tolerance_keeps_orders(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=0)
    assert om.reconcile(two_sided(100.1, 100.3), now_ns=1) == []  # one tick up
    assert om.reconcile(two_sided(99.9, 100.1), now_ns=2) == []  # one tick down
    assert [o.price for o in om.live_orders()] == [100.0, 100.2]


def test_price_move_beyond_tolerance_cancels_then_replaces(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=0)
    actions = om.reconcile(two_sided(100.2, 100.4), now_ns=1)  # two ticks: beyond tolerance
    assert summary(actions) == [
        ("cancel", 1, 0.0),
        ("cancel", 2, 0.0),
        ("new", 1, 100.2),
        ("new", -1, 100.4),
    ]
    assert om.order(1).status == OrderStatus.PENDING_CANCEL
    assert om.n_cancels_sent == 2 and om.n_sent == 4
    # only one side moved: only that side is replaced
    actions = om.reconcile(two_sided(100.2, 100.7), now_ns=2)
    assert summary(actions) == [("cancel", 4, 0.0), ("new", -1, 100.7)]


def test_exact_tolerance_zero_and_tick_rounding() -> None:
    om = OrderManager(tick_sizes=[0.1])
    om.reconcile(two_sided(0.3, 0.5), now_ns=0)
    # 0.1 + 0.2 != 0.3 in floating point; compared in ticks it is the same price
    assert om.reconcile(two_sided(0.1 + 0.2, 0.5), now_ns=1) == []
    assert len(om.reconcile(two_sided(0.4, 0.5), now_ns=2)) == 2


def test_qty_change_replaces_and_qty_tolerance_keeps() -> None:
    om = OrderManager(tick_sizes=[0.1])
    om.reconcile(two_sided(100.0, 100.2, qty=1.0), now_ns=0)
    assert om.reconcile(two_sided(100.0, 100.2, qty=1.0 + 1e-12), now_ns=1) == []
    actions = om.reconcile(two_sided(100.0, 100.2, qty=1.5), now_ns=2)
    assert summary(actions) == [
        ("cancel", 1, 0.0),
        ("cancel", 2, 0.0),
        ("new", 1, 100.0),
        ("new", -1, 100.2),
    ]
    loose = OrderManager(tick_sizes=[0.1], qty_tolerance=0.2)
    loose.reconcile(two_sided(100.0, 100.2, qty=1.0), now_ns=0)
    assert loose.reconcile(two_sided(100.0, 100.2, qty=1.15), now_ns=1) == []
    loose.on_fill(1, qty=0.5, price=100.0, now_ns=2)  # leaves 0.5: outside 20 % of 1.15
    assert summary(loose.reconcile(two_sided(100.0, 100.2, qty=1.15), now_ns=3)) == [
        ("cancel", 1, 0.0),
        ("new", 1, 100.0),
    ]


def test_empty_side_cancels(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=0)
    assert summary(om.reconcile(two_sided(100.0, None), now_ns=1)) == [("cancel", 2, 0.0)]
    assert summary(om.reconcile(QuoteTarget(0), now_ns=2)) == [("cancel", 1, 0.0)]
    assert om.reconcile(QuoteTarget(0), now_ns=3) == []
    assert [o.status for o in om.live_orders()] == [OrderStatus.PENDING_CANCEL] * 2


def test_multi_level_targets() -> None:
    om = OrderManager(tick_sizes=[0.1], price_tolerance_ticks=1)
    bids = tuple(QuoteLevel(p, 1.0) for p in (100.0, 99.8, 99.6))
    asks = tuple(QuoteLevel(p, 1.0) for p in (100.2, 100.4))
    actions = om.reconcile(QuoteTarget(0, bids, asks), now_ns=0)
    assert [(a.side, a.price) for a in actions if isinstance(a, NewOrder)] == [
        (1, 100.0),
        (1, 99.8),
        (1, 99.6),
        (-1, 100.2),
        (-1, 100.4),
    ]
    # 99.7 is within one tick of both 99.8 (id 2) and 99.6 (id 3): the closest-first greedy
    # match keeps 100.0 (id 1, exact), and the 99.7 level takes one of ids 2/3 (equal distance,
    # the older, id 2); id 3 is unmatched -> cancelled. 99.4 is new.
    bids2 = tuple(QuoteLevel(p, 1.0) for p in (100.0, 99.7, 99.4))
    actions = om.reconcile(QuoteTarget(0, bids2, asks), now_ns=1)
    assert summary(actions) == [("cancel", 3, 0.0), ("new", 1, 99.4)]
    # fewer levels: the extra asks are cancelled, the kept one is the exact match
    actions = om.reconcile(QuoteTarget(0, bids2, (QuoteLevel(100.4, 1.0),)), now_ns=2)
    assert summary(actions) == [("cancel", 4, 0.0)]


def test_closest_price_wins_the_level() -> None:
    om = OrderManager(tick_sizes=[1.0], price_tolerance_ticks=2)
    bids = (QuoteLevel(100.0, 1.0), QuoteLevel(98.0, 1.0))
    om.reconcile(QuoteTarget(0, bids), now_ns=0)  # ids 1 @ 100, 2 @ 98
    # level 99 is 1 tick from both; level 97 only 1 tick from id 2 (3 from id 1: too far).
    # Greedy by distance then level rank: (1 tick, level 0, id 1) -> id 1 takes 99,
    # (1 tick, level 1, id 2) -> id 2 takes 97. Nothing to do.
    target = QuoteTarget(0, (QuoteLevel(99.0, 1.0), QuoteLevel(97.0, 1.0)))
    assert om.reconcile(target, now_ns=1) == []
    # a single level at 98: id 2 is exact (0 ticks) and wins over id 1 (2 ticks)
    assert summary(om.reconcile(QuoteTarget(0, (QuoteLevel(98.0, 1.0),)), now_ns=2)) == [
        ("cancel", 1, 0.0)
    ]


def test_pending_cancel_never_matched_nor_cancelled_twice(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=0)
    om.reconcile(two_sided(101.0, 101.2), now_ns=1)  # ids 1, 2 PENDING_CANCEL; 3, 4 new
    # back to the first prices: the cancelling orders do not satisfy them, are not re-cancelled
    actions = om.reconcile(two_sided(100.0, 100.2), now_ns=2)
    assert summary(actions) == [
        ("cancel", 3, 0.0),
        ("cancel", 4, 0.0),
        ("new", 1, 100.0),
        ("new", -1, 100.2),
    ]
    assert om.cancel_all(now_ns=3) == [CancelOrder(5, 0), CancelOrder(6, 0)]
    assert om.cancel_all(now_ns=4) == []


def test_off_grid_price_raises_before_any_change(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=0)
    with pytest.raises(InvalidArgumentError, match="price"):
        om.reconcile(two_sided(100.05, 100.5), now_ns=1)
    with pytest.raises(InvalidArgumentError, match="price"):
        om.reconcile(two_sided(100.0, 100.2, inst=1), now_ns=1)  # tick 0.5 on instrument 1
    assert [o.status for o in om.live_orders()] == [OrderStatus.PENDING_NEW] * 2
    assert om.n_sent == 2
    assert om.reconcile(two_sided(100.0 + 1e-10, 100.2), now_ns=1) == []  # within 1e-9 rel
    with pytest.raises(InvalidArgumentError, match="instrument"):
        om.reconcile(two_sided(100.0, 100.5, inst=2), now_ns=1)


def test_ids_monotone_and_never_reused() -> None:
    om = OrderManager(tick_sizes=[0.1], first_order_id=1000)
    ids: list[int] = []
    for k in range(20):
        actions = om.reconcile(two_sided(100.0 + 0.1 * (k % 3), 101.0), now_ns=k)
        for a in actions:
            if isinstance(a, NewOrder):
                ids.append(a.order_id)
            else:
                om.on_cancel_ack(a.order_id, now_ns=k)
    hedge = om.hedge(HedgeIntent(0, 1.0), best_bid=100.0, best_ask=100.1, now_ns=99)
    assert hedge is not None
    ids.append(hedge.order_id)
    assert ids == list(range(1000, 1000 + len(ids)))


def test_now_ns_must_not_decrease(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=100)
    om.on_ack(1, now_ns=100)
    with pytest.raises(InvalidArgumentError, match="now_ns"):
        om.on_ack(2, now_ns=99)
    with pytest.raises(InvalidArgumentError, match="now_ns"):
        om.reconcile(two_sided(100.0, 100.2), now_ns=50)


def test_constructor_validation() -> None:
    with pytest.raises(InvalidArgumentError, match="tick_sizes"):
        OrderManager(tick_sizes=[])
    with pytest.raises(InvalidArgumentError, match="tick_sizes"):
        OrderManager(tick_sizes=[0.1, 0.0])
    with pytest.raises(InvalidArgumentError, match="price_tolerance_ticks"):
        OrderManager(tick_sizes=[0.1], price_tolerance_ticks=-1)
    with pytest.raises(InvalidArgumentError, match="qty_tolerance"):
        OrderManager(tick_sizes=[0.1], qty_tolerance=math.nan)
    with pytest.raises(InvalidArgumentError, match="first_order_id"):
        OrderManager(tick_sizes=[0.1], first_order_id=-1)


# -- engine events ----------------------------------------------------------------------------


def test_fill_during_pending_new_is_applied(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2, qty=2.0), now_ns=0)
    om.on_fill(1, qty=0.5, price=100.0, now_ns=1)  # ack lost or late
    order = om.order(1)
    assert order.status == OrderStatus.OPEN and order.filled == 0.5 and order.leaves == 1.5
    om.on_ack(1, now_ns=2)  # the late ack changes nothing
    assert order.status == OrderStatus.OPEN
    assert om.resting_qty(0, 1) == 1.5 and om.resting_qty(0, -1) == 2.0
    om.on_fill(2, qty=2.0, price=100.2, now_ns=3)  # filled entirely before the ack
    assert om.order(2).status == OrderStatus.FILLED and not om.order(2).live
    om.on_ack(2, now_ns=4)
    assert om.order(2).status == OrderStatus.FILLED
    assert [o.order_id for o in om.live_orders()] == [1]


def test_fill_during_pending_cancel_is_applied(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2, qty=2.0), now_ns=0)
    om.cancel_all(now_ns=1)
    om.on_fill(1, qty=1.0, price=100.0, now_ns=2)  # the cancel was too late for half of it
    assert om.order(1).status == OrderStatus.PENDING_CANCEL and om.order(1).filled == 1.0
    assert om.resting_qty(0, 1) == 1.0
    om.on_fill(1, qty=1.0, price=100.0, now_ns=3)
    assert om.order(1).status == OrderStatus.FILLED
    om.on_cancel_ack(1, now_ns=4)  # the venue answers the cancel after the fill: ignored
    assert om.order(1).status == OrderStatus.FILLED
    assert om.resting_qty(0, 1) == 0.0
    assert om.terminal_counts[OrderStatus.FILLED] == 1


def test_ack_after_cancel_sent_stays_pending_cancel(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, None), now_ns=0)
    om.cancel_all(now_ns=1)
    om.on_ack(1, now_ns=2)
    assert om.order(1).status == OrderStatus.PENDING_CANCEL


def test_cancel_reject_returns_to_open_and_is_matched_again(om: OrderManager) -> None:
    ack_all(om, om.reconcile(two_sided(100.0, 100.2), now_ns=0), 0)
    om.reconcile(two_sided(101.0, 101.2), now_ns=1)  # cancels 1, 2; places 3, 4
    om.on_cancel_reject(1, reason="too late", now_ns=2)
    order = om.order(1)
    assert order.status == OrderStatus.OPEN and order.reason == "too late"
    # the target returns to the original bid: order 1 is live again and satisfies it
    assert summary(om.reconcile(two_sided(100.0, 101.2), now_ns=3)) == [("cancel", 3, 0.0)]
    om.on_cancel_reject(3, reason="filled", now_ns=4)
    # id 3 (101.0) is OPEN again; the target has one bid level (100.0, held by id 1)
    assert summary(om.reconcile(two_sided(100.0, 101.2), now_ns=5)) == [("cancel", 3, 0.0)]


def test_reject_is_terminal(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, 100.2), now_ns=0)
    om.on_reject(1, reason="post-only would cross", now_ns=1)
    assert om.order(1).status == OrderStatus.REJECTED
    assert om.order(1).reason == "post-only would cross"
    assert [o.order_id for o in om.live_orders()] == [2]
    # the next reconcile replaces the rejected bid
    assert summary(om.reconcile(two_sided(100.0, 100.2), now_ns=2)) == [("new", 1, 100.0)]


def test_late_fill_after_cancel_ack_is_applied_and_reported() -> None:
    events: list[tuple[str, int, OrderStatus, float]] = []
    om = OrderManager(
        tick_sizes=[0.1],
        on_event=lambda kind, o: events.append((kind, o.order_id, o.status, o.filled)),
    )
    om.reconcile(two_sided(100.0, None, qty=2.0), now_ns=0)
    om.on_ack(1, now_ns=1)
    om.cancel_all(now_ns=2)
    om.on_cancel_ack(1, now_ns=3)
    assert om.live_orders() == []
    om.on_fill(1, qty=0.5, price=100.0, now_ns=4)  # raced the cancel at the venue
    assert events[-1] == ("fill", 1, OrderStatus.CANCELLED, 0.5)
    assert om.order(1).last_fill_price == 100.0 and om.order(1).updated_ns == 4
    om.on_fill(1, qty=1.5, price=100.0, now_ns=5)  # completes it after all
    assert om.order(1).status == OrderStatus.FILLED
    assert om.terminal_counts == {
        OrderStatus.FILLED: 1,
        OrderStatus.CANCELLED: 0,
        OrderStatus.REJECTED: 0,
    }
    with pytest.raises(InvalidArgumentError, match="qty"):
        om.on_fill(1, qty=0.1, price=100.0, now_ns=6)  # more than the order's size


def test_unknown_and_evicted_ids_raise() -> None:
    om = OrderManager(tick_sizes=[0.1], recent_capacity=2)
    with pytest.raises(InvalidArgumentError, match="order_id"):
        om.on_fill(7, qty=1.0, price=100.0, now_ns=0)
    with pytest.raises(InvalidArgumentError, match="order_id"):
        om.order(7)
    for k in range(3):
        (new,) = om.reconcile(two_sided(100.0 + k, None), now_ns=k)
        om.on_reject(new.order_id, reason="x", now_ns=k)
    assert om.order(3).status == om.order(2).status == OrderStatus.REJECTED
    with pytest.raises(InvalidArgumentError, match="order_id"):
        om.on_fill(1, qty=1.0, price=100.0, now_ns=9)  # evicted from the recent set
    assert om.terminal_counts[OrderStatus.REJECTED] == 3


def test_fill_arguments_validated(om: OrderManager) -> None:
    om.reconcile(two_sided(100.0, None), now_ns=0)
    with pytest.raises(InvalidArgumentError, match="qty"):
        om.on_fill(1, qty=0.0, price=100.0, now_ns=1)
    with pytest.raises(InvalidArgumentError, match="price"):
        om.on_fill(1, qty=0.5, price=math.nan, now_ns=1)
    with pytest.raises(InvalidArgumentError, match="qty"):
        om.on_fill(1, qty=1.5, price=100.0, now_ns=1)
    assert om.order(1).filled == 0.0


def test_on_event_sequence_for_a_full_lifecycle() -> None:
    events: list[tuple[str, int, OrderStatus, float, int]] = []

    def record(kind: str, o: ManagedOrder) -> None:
        events.append((kind, o.order_id, o.status, o.filled, o.updated_ns))

    om = OrderManager(tick_sizes=[0.1], on_event=record)
    om.reconcile(two_sided(100.0, 100.2, qty=2.0), now_ns=0)
    om.on_ack(1, now_ns=1)
    om.on_ack(2, now_ns=1)
    om.on_fill(1, qty=0.5, price=100.0, now_ns=2)
    om.reconcile(two_sided(100.0, 100.5, qty=2.0), now_ns=3)  # bid leaves 1.5 != 2: replaced
    om.on_cancel_ack(1, now_ns=4)
    om.on_cancel_reject(2, reason="too late", now_ns=4)
    om.on_fill(2, qty=2.0, price=100.2, now_ns=5)
    om.on_reject(3, reason="would cross", now_ns=6)
    hedge = om.hedge(HedgeIntent(0, -0.3), best_bid=100.0, best_ask=100.1, now_ns=7)
    assert hedge is not None
    om.on_ack(hedge.order_id, now_ns=8)
    om.on_fill(hedge.order_id, qty=0.1, price=100.0, now_ns=8)
    om.on_expired(hedge.order_id, now_ns=9)
    S = OrderStatus
    assert events == [
        ("new", 1, S.PENDING_NEW, 0.0, 0),
        ("new", 2, S.PENDING_NEW, 0.0, 0),
        ("ack", 1, S.OPEN, 0.0, 1),
        ("ack", 2, S.OPEN, 0.0, 1),
        ("fill", 1, S.OPEN, 0.5, 2),
        ("cancel_sent", 1, S.PENDING_CANCEL, 0.5, 3),
        ("cancel_sent", 2, S.PENDING_CANCEL, 0.0, 3),
        ("new", 3, S.PENDING_NEW, 0.0, 3),
        ("new", 4, S.PENDING_NEW, 0.0, 3),
        ("cancelled", 1, S.CANCELLED, 0.5, 4),
        ("cancel_reject", 2, S.OPEN, 0.0, 4),
        ("fill", 2, S.FILLED, 2.0, 5),
        ("reject", 3, S.REJECTED, 0.0, 6),
        ("new", 5, S.PENDING_NEW, 0.0, 7),
        ("ack", 5, S.OPEN, 0.0, 8),
        ("fill", 5, S.OPEN, 0.1, 8),
        ("expired", 5, S.CANCELLED, 0.1, 9),
    ]
    assert [o.order_id for o in om.live_orders()] == [4]
    assert om.terminal_counts == {S.FILLED: 1, S.CANCELLED: 2, S.REJECTED: 1}


# -- hedges -----------------------------------------------------------------------------------


def test_hedge_ioc_price_choice(om: OrderManager) -> None:
    buy = om.hedge(HedgeIntent(0, 2.0, reason="delta"), best_bid=99.9, best_ask=100.1, now_ns=0)
    assert buy == NewOrder(1, 0, 1, 100.1, 2.0, TimeInForce.IOC, "delta")
    sell = om.hedge(HedgeIntent(0, -2.0), best_bid=99.9, best_ask=100.1, now_ns=0)
    assert sell == NewOrder(2, 0, -1, 99.9, 2.0, TimeInForce.IOC, "hedge")
    capped = om.hedge(HedgeIntent(0, 1.0, 100.5), best_bid=99.9, best_ask=100.1, now_ns=0)
    assert capped is not None and capped.price == 100.5
    # an off-grid cap is rounded the cautious way: buys down, sells up
    capped = om.hedge(HedgeIntent(1, 1.0, 100.3), best_bid=99.5, best_ask=100.0, now_ns=0)
    assert capped is not None and capped.price == 100.0
    capped = om.hedge(HedgeIntent(1, -1.0, 100.3), best_bid=99.5, best_ask=100.0, now_ns=0)
    assert capped is not None and capped.price == 100.5
    assert om.resting_qty(1, 1) == 1.0 and om.resting_qty(1, -1) == 1.0
    assert om.order(1).status == OrderStatus.PENDING_NEW and om.n_sent == 5


def test_hedge_none_on_nan_book(om: OrderManager) -> None:
    nan = math.nan
    assert om.hedge(HedgeIntent(0, 1.0), best_bid=100.0, best_ask=nan, now_ns=0) is None
    assert om.hedge(HedgeIntent(0, -1.0), best_bid=nan, best_ask=100.1, now_ns=0) is None
    assert om.hedge(HedgeIntent(0, 1.0, nan), best_bid=100.0, best_ask=100.1, now_ns=0) is None
    # a cap makes the book irrelevant
    assert om.hedge(HedgeIntent(0, 1.0, 100.2), best_bid=nan, best_ask=nan, now_ns=0) is not None
    with pytest.raises(InvalidArgumentError, match="limit_price"):
        om.hedge(HedgeIntent(0, 1.0, -1.0), best_bid=100.0, best_ask=100.1, now_ns=0)
    assert om.n_sent == 1


def test_reconcile_leaves_hedges_alone(om: OrderManager) -> None:
    om.hedge(HedgeIntent(0, 1.0), best_bid=99.9, best_ask=100.1, now_ns=0)
    assert summary(om.reconcile(QuoteTarget(0, (QuoteLevel(100.1, 1.0),)), now_ns=1)) == [
        ("new", 1, 100.1)
    ]
    assert om.reconcile(QuoteTarget(0), now_ns=2) == [CancelOrder(2, 0)]
    assert om.cancel_all(instrument=0, now_ns=3) == [CancelOrder(1, 0)]  # everything goes


# -- property ---------------------------------------------------------------------------------

QTY_TOL = 0.1
PRICE_TOL = 1


@st.composite
def targets(draw: st.DrawFn) -> QuoteTarget:
    inst = draw(st.integers(0, 1))
    mid = draw(st.integers(190, 210))  # in ticks
    n_bids = draw(st.integers(0, 3))
    n_asks = draw(st.integers(0, 3))
    gaps = st.integers(1, 3)
    bid_ticks = [mid - 1]
    ask_ticks = [mid + 1]
    for _ in range(2):
        bid_ticks.append(bid_ticks[-1] - draw(gaps))
        ask_ticks.append(ask_ticks[-1] + draw(gaps))
    qty = st.sampled_from([0.5, 1.0, 1.05, 2.0])
    tick = TICKS[inst]
    bids = tuple(QuoteLevel(t * tick, draw(qty)) for t in bid_ticks[:n_bids])
    asks = tuple(QuoteLevel(t * tick, draw(qty)) for t in ask_ticks[:n_asks])
    return QuoteTarget(inst, bids, asks, post_only=draw(st.booleans()))


def satisfies(order: ManagedOrder, level: QuoteLevel) -> bool:
    """Independent restatement of the matching rule (tolerance in ticks, relative qty)."""
    ticks_off = abs(order.price - level.price) / TICKS[order.instrument]
    return ticks_off <= PRICE_TOL + 1e-6 and abs(order.leaves - level.qty) <= (
        QTY_TOL * level.qty + 1e-9
    )


def assert_matches(om: OrderManager, target: QuoteTarget) -> None:
    quotes = [
        o
        for o in om.live_orders(target.instrument)
        if o.status != OrderStatus.PENDING_CANCEL and o.tif != TimeInForce.IOC
    ]
    for side, levels in ((1, target.bids), (-1, target.asks)):
        orders = [o for o in quotes if o.side == side]
        assert len(orders) == len(levels)
        assert any(
            all(satisfies(o, lv) for o, lv in zip(perm, levels, strict=True))
            for perm in itertools.permutations(orders)
        ), (orders, levels)


def assert_resting_consistent(om: OrderManager) -> None:
    for inst, side in itertools.product((0, 1), (1, -1)):
        live = [o for o in om.live_orders(inst) if o.side == side]
        assert all(o.live and o.leaves > 0.0 for o in live)
        assert om.resting_qty(inst, side) == pytest.approx(math.fsum(o.leaves for o in live))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_sequences_keep_the_invariants(data: st.DataObject) -> None:
    om = OrderManager(tick_sizes=TICKS, price_tolerance_ticks=PRICE_TOL, qty_tolerance=QTY_TOL)
    venue: dict[int, dict[str, bool]] = {}  # order id -> what the venue can still say about it
    issued: list[int] = []
    now = 0
    for _ in range(data.draw(st.integers(1, 30))):
        now += data.draw(st.integers(0, 5))
        step = data.draw(st.sampled_from(["reconcile", "respond", "respond", "hedge"]))
        if step == "reconcile":
            target = data.draw(targets())
            actions = om.reconcile(target, now_ns=now)
            cancels = [a for a in actions if isinstance(a, CancelOrder)]
            news = [a for a in actions if isinstance(a, NewOrder)]
            assert actions == cancels + news  # all cancels first
            assert all(om.order(c.order_id).tif != TimeInForce.IOC for c in cancels)
            issued += [a.order_id for a in news]
            for a in news:
                venue[a.order_id] = {"acked": False, "alive": True, "cancel": False}
            for c in cancels:
                venue[c.order_id]["cancel"] = True
            if data.draw(st.booleans()):  # immediate acks
                for a in news:
                    om.on_ack(a.order_id, now_ns=now)
                    venue[a.order_id]["acked"] = True
                    assert om.order(a.order_id).status == OrderStatus.OPEN
            assert_matches(om, target)  # (a) with or without the acks
        elif step == "hedge":
            qty = data.draw(st.sampled_from([-1.0, 0.5]))
            new = om.hedge(HedgeIntent(0, qty), best_bid=19.9, best_ask=20.1, now_ns=now)
            assert new is not None and new.tif == TimeInForce.IOC
            issued.append(new.order_id)
            venue[new.order_id] = {"acked": False, "alive": True, "cancel": False, "ioc": True}
        elif venue:
            order_id = data.draw(st.sampled_from(sorted(venue)))
            v = venue[order_id]
            choices = ["fill"] if v["alive"] else ["late_fill"] if v.get("cancelled") else []
            if v["alive"] and not v["acked"]:
                choices += ["ack", "reject"]
            if v["alive"] and v.get("ioc"):
                choices.append("expire")
            if v["cancel"]:
                choices += ["cancel_ack", "cancel_reject"] if v["alive"] else ["cancel_reject"]
            if not choices:
                continue
            event = data.draw(st.sampled_from(choices))
            leaves = om.order(order_id).leaves
            if event in ("fill", "late_fill"):
                if leaves <= 0.0:
                    continue
                qty = data.draw(st.sampled_from([leaves, leaves / 2]))
                om.on_fill(order_id, qty=qty, price=20.0, now_ns=now)
                v["acked"] = True
                v["alive"] = v["alive"] and qty < leaves
                if qty == leaves:
                    assert om.order(order_id).status == OrderStatus.FILLED
            elif event == "ack":
                om.on_ack(order_id, now_ns=now)
                v["acked"] = True
            elif event == "reject":
                om.on_reject(order_id, reason="post-only", now_ns=now)
                v["alive"] = False
            elif event in ("cancel_ack", "expire"):
                (om.on_cancel_ack if event == "cancel_ack" else om.on_expired)(order_id, now_ns=now)
                v["alive"] = v["cancel"] = False
                v["cancelled"] = True
            else:
                om.on_cancel_reject(order_id, reason="too late", now_ns=now)
                v["cancel"] = False
            if not om.order(order_id).live:
                assert om.order(order_id) not in om.live_orders()
        assert_resting_consistent(om)
    assert issued == sorted(set(issued))  # (b) ids increasing, never reused
    assert om.n_sent == len(issued)
