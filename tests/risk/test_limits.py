"""Tests of invrisk.risk.limits: every reject reason at its boundary, the state machine, and a
hypothesis property that no accepted order breaks a limit."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.risk import (
    REJECT_REASONS,
    GuardLimits,
    InstrumentLimits,
    RiskGuard,
    TradingState,
    Transition,
    Verdict,
)
from invrisk.risk.limit_set import Limit, LimitSet

S = 1_000_000_000
DAY = 86_400 * S
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
BASE: dict[str, Any] = dict(
    max_position=10.0, max_order_qty=2.0, max_order_notional=210.0, price_band=0.01
)
LIM = InstrumentLimits(**BASE)


def make(guard: GuardLimits | None = None, **lim: Any) -> RiskGuard:
    """A guard for instrument 1 with the limits of ``BASE`` updated by ``lim``."""
    return RiskGuard(limits={1: InstrumentLimits(**{**BASE, **lim})}, guard=guard or GuardLimits())


def order(g: RiskGuard, **kw: Any) -> str:
    """Reason code of an order (``""`` if accepted); defaults: buy 1 @ 100, flat, t=0."""
    args: dict[str, Any] = dict(instrument=1, side=1, price=100.0, qty=1.0, fair_price=100.0,
                                position=0.0, open_same_side=0.0, now_ns=0)  # fmt: skip
    v = g.check_new(**{**args, **kw})
    assert v.accepted == (v.reason == "")
    return v.reason


# --- reject reasons, each at its boundary ----------------------------------------------------


def test_bad_order() -> None:
    g = make()
    bad = {"side": [0, 2, -2, 0.5], "qty": [0.0, -1.0, math.nan, math.inf],
           "price": [0.0, -100.0, math.nan, math.inf], "position": [math.nan, -math.inf],
           "open_same_side": [-0.5, math.nan, math.inf]}  # fmt: skip
    valid = dict(side=-1, qty=0.5, price=100.5, position=3.0, open_same_side=2.0)
    for field, values in bad.items():
        for value in values:
            assert order(g, **{field: value}) == "bad_order", (field, value)
        assert order(g, **{field: valid[field]}) == ""
    assert g.rejections["bad_order"] == sum(map(len, bad.values()))


def test_unknown_instrument() -> None:
    assert order(make(), instrument=2) == "unknown_instrument"


def test_max_order_qty() -> None:
    g = make()
    assert order(g, qty=2.0, price=70.0, fair_price=70.0) == ""
    assert order(g, qty=2.000001, price=70.0, fair_price=70.0) == "max_order_qty"


def test_max_order_notional_linear_and_inverse() -> None:
    g = make(max_order_qty=100.0, max_order_notional=150.0, contract_size=0.5)
    assert order(g, qty=3.0) == ""  # 3 * 100 * 0.5 = 150 exactly
    assert order(g, qty=3.0001) == "max_order_notional"
    inv = make(max_order_notional=150.0, contract_size=100.0, inverse=True, price_band=math.inf)
    for price in (1.0, 1e6):  # the USD notional does not depend on the price
        assert order(inv, qty=1.5, price=price) == ""  # 1.5 * 100 USD
        assert order(inv, qty=1.5001, price=price) == "max_order_notional"


@pytest.mark.parametrize("side", [1, -1])
def test_max_position_worst_case(side: int) -> None:
    g = make()
    # 8 held, 1 open same side, 1 more: worst case exactly 10
    assert order(g, side=side, position=8.0 * side, open_same_side=1.0, qty=1.0) == ""
    assert order(g, side=side, position=8.0 * side, open_same_side=1.0, qty=1.5) == "max_position"
    # flipping through zero is measured on the other side too: 9 - (8 + 2) = -1 is fine
    assert order(g, side=-side, position=9.0 * side, open_same_side=8.0, qty=2.0) == ""


def test_position_beyond_limit_can_still_be_reduced() -> None:
    g = make(max_order_qty=40.0, max_order_notional=math.inf)
    assert order(g, side=-1, position=15.0, qty=2.0) == ""  # 13 > 10 but a pure reduction
    assert order(g, side=-1, position=15.0, qty=5.0) == ""  # lands exactly on 10
    assert order(g, side=-1, position=15.0, qty=30.0) == "max_position"  # flips to -15
    assert order(g, side=1, position=15.0, qty=0.1) == "max_position"


def test_price_band_and_fair_price() -> None:
    g = make()
    assert order(g, price=101.0) == order(g, price=99.0) == ""  # |price/fair - 1| = 1% exactly
    assert order(g, price=101.00001) == order(g, price=98.99999) == "price_band"
    for fair in (math.nan, 0.0, -100.0, math.inf):
        assert order(g, fair_price=fair) == "no_fair_price"
    no_band = make(price_band=math.inf)
    assert order(no_band, fair_price=math.nan, price=1.0) == ""


def test_check_order_is_fixed() -> None:
    # each order fails the checks listed after its reason as well; the first one wins
    delta = LimitSet([Limit(name="delta", metric="delta_coin", underlying="BTC", max_abs=2.0)])
    g = RiskGuard(
        limits={1: InstrumentLimits(**BASE)},
        guard=GuardLimits(max_orders_per_s=1),
        portfolio_limits=delta,
    )
    past = {"limit_values": {"delta": 1.5}, "limit_impact": {"delta": 1.0}}
    assert order(g, side=0, instrument=9) == "bad_order"
    assert order(g, instrument=9, qty=50.0) == "unknown_instrument"
    assert order(g, qty=3.0, price=100.0, fair_price=math.nan) == "max_order_qty"
    assert order(g, qty=2.0, price=120.0, fair_price=math.nan) == "max_order_notional"
    assert order(g, qty=2.0, position=9.0, fair_price=math.nan) == "max_position"
    assert order(g, fair_price=math.nan, **past) == "portfolio_limit"
    assert order(g, fair_price=math.nan) == "no_fair_price"
    assert order(g, price=105.0) == "price_band"
    assert order(g) == ""
    assert order(g) == "rate_limit"
    g.halt(cause="test", now_ns=0)
    assert order(g, qty=3.0, instrument=1) == "halted"
    g.reduce_only(cause="test", now_ns=0)
    assert order(g, qty=3.0) == "reducing"
    assert tuple(k for k, n in g.rejections.items() if n) == REJECT_REASONS


def test_portfolio_limit_refuses_only_orders_that_breach_or_worsen() -> None:
    """Delta limit ±2 BTC: from 1.5, +1.0 breaches (refused, limit named); from 2.5 (already
    past the limit) a -0.3 order reduces the excess and passes, +0.1 worsens it and is refused;
    a limit the order does not touch (no impact entry) and a guard called without values are
    not checked."""
    limits = LimitSet(
        [
            Limit(name="btc delta", metric="delta_coin", underlying="BTC", max_abs=2.0),
            Limit(name="vega", metric="vega_usd", hi=1e5),
        ]
    )
    g = RiskGuard(limits={1: InstrumentLimits(**BASE)}, portfolio_limits=limits)
    v = g.check_new(instrument=1, side=1, price=100.0, qty=1.0, fair_price=100.0, position=0.0,
                    open_same_side=0.0, now_ns=0, limit_values={"btc delta": 1.5, "vega": 9e4},
                    limit_impact={"btc delta": 1.0})  # fmt: skip
    assert (v.accepted, v.reason, v.detail) == (False, "portfolio_limit", "btc delta")
    for cur, d, ok in ((2.5, -0.3, True), (2.5, 0.1, False), (1.0, 0.9, True), (-1.9, -0.2, False)):
        reason = order(
            g, limit_values={"btc delta": cur, "vega": 0.0}, limit_impact={"btc delta": d}
        )
        assert (reason == "") is ok, (cur, d, reason)
    assert order(g, limit_values={"btc delta": 9.0}, limit_impact={"vega": 0.0}) == ""
    assert order(g) == ""
    assert g.rejections["portfolio_limit"] == 3


# --- rate limit -------------------------------------------------------------------------------


def test_rate_limit_exactly_n_per_second_and_sliding() -> None:
    g = make(GuardLimits(max_orders_per_s=3))
    assert [order(g, now_ns=0) for _ in range(4)] == ["", "", "", "rate_limit"]
    assert order(g, now_ns=S - 1) == "rate_limit"  # still inside (t - 1 s, t]
    assert [order(g, now_ns=S) for _ in range(4)] == ["", "", "", "rate_limit"]
    g2 = make(GuardLimits(max_orders_per_s=3))
    for t in (0, S // 2, 9 * S // 10):
        assert order(g2, now_ns=t) == ""
    assert order(g2, now_ns=S) == ""  # the order at 0 left the window
    assert order(g2, now_ns=S) == "rate_limit"
    assert order(g2, now_ns=3 * S // 2) == ""  # the one at 0.5 s left


def test_rejected_orders_do_not_use_a_slot() -> None:
    g = make(GuardLimits(max_orders_per_s=2))
    for _ in range(10):
        assert order(g, qty=5.0) == "max_order_qty"
    assert [order(g) for _ in range(3)] == ["", "", "rate_limit"]
    assert g.rejections["rate_limit"] == 1 and g.rejections["max_order_qty"] == 10


# --- trading states ---------------------------------------------------------------------------


def test_reducing_accepts_only_pure_reductions() -> None:
    g = make()
    g.reduce_only(cause="operator", now_ns=5)
    assert g.state is REDUCING
    assert order(g, side=-1, position=5.0, qty=2.0, open_same_side=3.0, now_ns=5) == ""
    assert order(g, side=1, position=-5.0, qty=2.0, now_ns=5) == ""
    would_flip = dict(side=-1, position=5.0, qty=2.0, open_same_side=3.5, now_ns=5)
    assert order(g, **would_flip) == "reducing"
    assert order(g, side=1, position=5.0, now_ns=5) == "reducing"  # adds
    assert order(g, side=-1, position=0.0, now_ns=5) == "reducing"  # opens
    assert order(g, side=-1, position=5.0, qty=2.5, now_ns=5) == "max_order_qty"  # limits apply
    assert g.transitions == (Transition(5, ACTIVE, REDUCING, "operator"),)


def test_halted_rejects_everything_until_resume() -> None:
    g = make()
    g.halt(cause="kill switch", now_ns=10)
    g.halt(cause="again", now_ns=11)  # no change, no transition
    for kw in (dict(), dict(side=-1, position=5.0), dict(side=1, position=-1.0)):
        assert order(g, now_ns=12, **kw) == "halted"
    g.resume(cause="checked", now_ns=20)
    assert g.state is ACTIVE and order(g, now_ns=20) == ""
    assert g.transitions == (
        Transition(10, ACTIVE, HALTED, "kill switch"),
        Transition(20, HALTED, ACTIVE, "checked"),
    )


def test_drawdown_transitions_with_causes_and_times() -> None:
    g = make(GuardLimits(trailing_drawdown=1000.0, reduce_drawdown=500.0))
    assert g.update_equity(equity=10_000.0, now_ns=1) is ACTIVE
    assert g.update_equity(equity=10_600.0, now_ns=2) is ACTIVE  # new peak
    assert g.update_equity(equity=10_100.5, now_ns=3) is ACTIVE  # 499.5
    assert g.update_equity(equity=10_100.0, now_ns=4) is REDUCING  # 500 exactly
    assert g.update_equity(equity=9_600.5, now_ns=5) is REDUCING  # 999.5
    assert g.update_equity(equity=9_600.0, now_ns=6) is HALTED  # 1000 exactly
    assert g.update_equity(equity=50_000.0, now_ns=7) is HALTED  # never back by itself
    assert g.transitions == (
        Transition(4, ACTIVE, REDUCING, "reduce_drawdown 500 >= 500"),
        Transition(6, REDUCING, HALTED, "trailing_drawdown 1000 >= 1000"),
    )


def test_resume_resets_the_peak() -> None:
    g = make(GuardLimits(trailing_drawdown=1000.0, reduce_drawdown=500.0))
    g.update_equity(equity=10_000.0, now_ns=1)
    g.update_equity(equity=8_765.5, now_ns=2)
    assert g.transitions[-1].cause == "trailing_drawdown 1234.5 >= 1000"
    g.resume(cause="reviewed", now_ns=3)
    assert g.update_equity(equity=8_765.5, now_ns=4) is ACTIVE  # no re-trigger at once
    assert g.update_equity(equity=8_265.5, now_ns=5) is REDUCING  # 500 from the new peak


def test_halted_never_becomes_reducing_automatically() -> None:
    g = make(GuardLimits(trailing_drawdown=1000.0, reduce_drawdown=500.0))
    g.update_equity(equity=10_000.0, now_ns=1)
    g.halt(cause="manual", now_ns=2)
    assert g.update_equity(equity=9_400.0, now_ns=3) is HALTED
    assert len(g.transitions) == 1
    g.reduce_only(cause="unwind", now_ns=4)  # a manual step down resets the peak too
    assert g.update_equity(equity=9_400.0, now_ns=5) is REDUCING


def test_jump_straight_to_halted() -> None:
    g = make(GuardLimits(trailing_drawdown=1000.0, reduce_drawdown=500.0))
    g.update_equity(equity=0.0, now_ns=1)
    assert g.update_equity(equity=-2_000.0, now_ns=2) is HALTED
    assert g.transitions == (Transition(2, ACTIVE, HALTED, "trailing_drawdown 2000 >= 1000"),)


def test_daily_loss_and_new_utc_day() -> None:
    g = make(GuardLimits(daily_loss=300.0))
    g.update_equity(equity=1_000.0, now_ns=DAY + 1)  # day baseline 1000
    assert g.update_equity(equity=1_200.0, now_ns=DAY + 2) is ACTIVE
    assert g.update_equity(equity=750.0, now_ns=2 * DAY - 1) is ACTIVE  # loss 250
    assert g.update_equity(equity=750.0, now_ns=2 * DAY) is ACTIVE  # new day, baseline 750
    assert g.update_equity(equity=450.5, now_ns=2 * DAY + 5) is ACTIVE  # loss 299.5
    assert g.update_equity(equity=450.0, now_ns=2 * DAY + 6) is HALTED  # loss 300
    assert g.transitions == (Transition(2 * DAY + 6, ACTIVE, HALTED, "daily_loss 300 >= 300"),)


def test_clock_going_back_is_an_error() -> None:
    g = make()
    order(g, now_ns=100)
    for call in (
        lambda: order(g, now_ns=99),
        lambda: g.update_equity(equity=1.0, now_ns=99),
        lambda: g.halt(cause="x", now_ns=99),
    ):
        with pytest.raises(InvalidArgumentError) as err:
            call()
        assert err.value.argument == "now_ns"
    assert order(g, now_ns=100) == ""  # equal times are fine


def test_bad_method_arguments() -> None:
    g = make()
    with pytest.raises(InvalidArgumentError, match="equity"):
        g.update_equity(equity=math.nan, now_ns=0)
    with pytest.raises(InvalidArgumentError, match="cause"):
        g.halt(cause="", now_ns=0)


# --- construction -----------------------------------------------------------------------------


def test_bad_construction_names_the_argument() -> None:
    bad_limits = [("max_position", 0.0), ("max_position", math.inf), ("max_order_qty", -1.0),
                  ("max_order_qty", math.nan), ("max_order_notional", 0.0), ("price_band", -0.01),
                  ("price_band", math.nan), ("contract_size", 0.0), ("inverse", 1),
                  ("max_position", "10")]  # fmt: skip
    for field, value in bad_limits:
        with pytest.raises(InvalidArgumentError) as err:
            InstrumentLimits(**{**BASE, field: value})
        assert err.value.argument == field
    bad_guard = [(dict(max_orders_per_s=0), "max_orders_per_s"),
                 (dict(max_orders_per_s=2.5), "max_orders_per_s"),
                 (dict(trailing_drawdown=0.0), "trailing_drawdown"),
                 (dict(daily_loss=-1.0), "daily_loss"),
                 (dict(reduce_drawdown=math.nan), "reduce_drawdown"),
                 (dict(trailing_drawdown=1.0, reduce_drawdown=2.0), "reduce_drawdown")]  # fmt: skip
    for kw, argument in bad_guard:
        with pytest.raises(InvalidArgumentError) as err:
            GuardLimits(**kw)
        assert err.value.argument == argument
    bad_args = [(dict(limits={}), "limits"), (dict(limits={"BTC": LIM}), "limits"),
                (dict(limits={1: 5.0}), "limits[1]"),
                (dict(limits={1: LIM}, guard={}), "guard")]  # fmt: skip
    for kw, argument in bad_args:
        with pytest.raises(InvalidArgumentError) as err:
            RiskGuard(**kw)
        assert err.value.argument == argument


def test_verdict_and_counts() -> None:
    g = make()
    v = g.check_new(instrument=1, side=-1, price=100.0, qty=1.0, fair_price=100.0,
                    position=0.0, open_same_side=0.0, now_ns=0)  # fmt: skip
    assert v == Verdict(True, "")
    counts = g.rejections
    counts["halted"] = 99  # a copy
    assert set(g.rejections) == set(REJECT_REASONS) and sum(g.rejections.values()) == 0


# --- property ---------------------------------------------------------------------------------

# fmt: off
LIMITS = {
    1: InstrumentLimits(max_position=10.0, max_order_qty=3.0, max_order_notional=400.0,
                        price_band=0.02),
    2: InstrumentLimits(max_position=5.0, max_order_qty=4.0, max_order_notional=300.0,
                        price_band=math.inf, contract_size=100.0, inverse=True),
}
# fmt: on
GUARD = GuardLimits(
    max_orders_per_s=3, trailing_drawdown=1000.0, reduce_drawdown=400.0, daily_loss=700.0
)
orders = st.fixed_dictionaries(
    {
        "instrument": st.sampled_from([1, 2, 3]),
        "side": st.sampled_from([1, -1]),
        "price": st.sampled_from([100.0, 102.0, 98.0, 103.0, 90.0]),
        "qty": st.sampled_from([0.5, 1.0, 2.5, 3.0, 3.5, 4.0]),
        "fair_price": st.sampled_from([100.0, math.nan]),
        "position": st.sampled_from([0.0, 2.0, -2.0, 5.0, -6.0, 9.0, 11.0, -12.0]),
        "open_same_side": st.sampled_from([0.0, 1.0, 2.0, 6.0]),
    }
)
steps = st.lists(
    st.tuples(
        st.sampled_from([0, 1, S // 3, S - 1, S, DAY // 5]),
        st.one_of(orders, st.floats(9_300.0, 10_500.0, allow_nan=False)),
    ),
    min_size=10,
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_no_accepted_order_breaks_a_limit(ops: list[tuple[int, Any]]) -> None:
    g = RiskGuard(limits=LIMITS, guard=GUARD)
    t, accepted_at = 0, []
    for dt, op in ops:
        t += dt
        if isinstance(op, float):
            g.update_equity(equity=op, now_ns=t)
            continue
        state = g.state
        if not g.check_new(**op, now_ns=t).accepted:
            continue
        accepted_at.append(t)
        lim = LIMITS[op["instrument"]]
        side, qty, pos, opn = op["side"], op["qty"], op["position"], op["open_same_side"]
        pure_reduction = side * pos < 0 and qty + opn <= abs(pos)
        assert state is not HALTED and (state is ACTIVE or pure_reduction)
        assert qty <= lim.max_order_qty
        usd = qty * lim.contract_size if lim.inverse else qty * op["price"] * lim.contract_size
        assert usd <= lim.max_order_notional
        assert abs(pos + side * (opn + qty)) <= lim.max_position or pure_reduction
        if lim.price_band != math.inf:
            assert abs(op["price"] / op["fair_price"] - 1.0) <= lim.price_band + 1e-12
        assert sum(t - S < a <= t for a in accepted_at) <= GUARD.max_orders_per_s
    states = [ACTIVE] + [tr.new for tr in g.transitions]
    assert all(a < b for a, b in itertools.pairwise(states))
    for tr in g.transitions:
        assert tr.cause.split()[0] in {"reduce_drawdown", "trailing_drawdown", "daily_loss"}


def test_resume_keeps_or_resets_the_drawdown_peak() -> None:
    """An operator's resume restarts the drawdown from the current equity; an automatic one
    (reset_peak=False) keeps the peak, so the loss made before the halt still counts."""
    for reset, expected in ((True, TradingState.ACTIVE), (False, TradingState.HALTED)):
        g = RiskGuard(
            limits={
                0: InstrumentLimits(
                    max_position=1.0, max_order_qty=1.0, max_order_notional=1e9, price_band=0.05
                )
            },
            guard=GuardLimits(trailing_drawdown=15.0, reduce_drawdown=15.0),
        )
        g.update_equity(equity=100.0, now_ns=1)
        g.update_equity(equity=90.0, now_ns=2)  # drawdown 10 < 15
        g.halt(cause="stale feed", now_ns=3)
        g.resume(cause="feed back", now_ns=4, reset_peak=reset)
        assert g.update_equity(equity=84.0, now_ns=5) == expected  # 16 from 100, 6 from 90
