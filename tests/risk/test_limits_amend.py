"""RiskGuard.check_amend: an amend is checked as the new order it stands for."""

from __future__ import annotations

import math

from invrisk.risk.limits import GuardLimits, InstrumentLimits, RiskGuard

NS = 1_000_000_000


def guard(**kw: float) -> RiskGuard:
    limits = InstrumentLimits(
        max_position=1.0, max_order_qty=0.8, max_order_notional=70.0, price_band=0.01
    )
    return RiskGuard(limits={0: limits}, guard=GuardLimits(**kw))


def amend(g: RiskGuard, *, t: int = 0, **kw: float) -> str:
    args: dict[str, float] = dict(
        side=1, price=100.0, leaves=0.5, fair_price=100.0, position=0.3, open_same_side=0.2
    )
    args.update(kw)
    return g.check_amend(instrument=0, now_ns=t, **args).reason  # type: ignore[arg-type]


def test_the_position_check_counts_the_new_leaves_in_place_of_the_old() -> None:
    """Long 0.3, 0.2 in the other bids: the amended bid may leave 0.5 (worst case 1.0 =
    max_position) but not 0.6; the old leaves are not counted (only the other orders)."""
    g = guard()
    assert amend(g, leaves=0.5) == ""
    assert amend(g, leaves=0.6) == "max_position"
    # an amend of a sell that reduces the long position is always allowed by the position
    assert amend(g, side=-1, leaves=0.3, position=1.5, open_same_side=0.0) == ""


def test_size_notional_band_and_bad_input_use_the_new_terms() -> None:
    g = guard()
    assert amend(g, leaves=0.9, position=0.0, open_same_side=0.0) == "max_order_qty"
    assert amend(g, leaves=0.75, position=0.0, open_same_side=0.0) == "max_order_notional"
    assert amend(g, price=101.5) == "price_band"
    assert amend(g, leaves=0.0) == "bad_order"  # a new total not above what has filled
    assert amend(g, fair_price=math.nan) == "no_fair_price"
    assert g.rejections["max_order_qty"] == 1 and g.rejections["bad_order"] == 1


def test_an_accepted_amend_uses_one_rate_limit_slot() -> None:
    g = guard(max_orders_per_s=2)
    assert amend(g, t=0) == ""
    assert g.check_new(
        instrument=0, side=1, price=100.0, qty=0.1, fair_price=100.0, position=0.0,
        open_same_side=0.0, now_ns=1,
    ).accepted  # fmt: skip
    assert amend(g, t=2) == "rate_limit"
    assert amend(g, t=NS + 1) == ""  # the first slot has left the 1 s window


def test_trading_states_apply_to_amends() -> None:
    g = guard()
    g.reduce_only(cause="test", now_ns=0)
    assert amend(g, side=-1, leaves=0.5, position=1.0, open_same_side=0.4) == ""
    assert amend(g, side=-1, leaves=0.7, position=1.0, open_same_side=0.4) == "reducing"
    g.halt(cause="test", now_ns=1)
    assert amend(g, t=1) == "halted"
