"""Amends in the backtester: hand-worked streams, the RiskGuard, random streams, both backends.

Hand-worked streams use the book of ``test_invariants`` (bids 99.9 x 2.0, 99.8 x 5.0; asks
100.1 x 3.0, 100.2 x 5.0, all rows at 1 µs), entry and response latency 1 µs and a decision
every 5 µs: an order decided at 5 µs rests from 6 µs (ack at 7 µs), an amend decided at 10 µs
reaches the exchange at 11 µs. The expected fills are worked out from the documented rules
(``backtest/__init__.py``, the kernel's module docstring): a size decrease at the same price
keeps the queue position, a size increase or a new price goes to the back of the queue (the
level's displayed size ahead), a crossing POST_ONLY amend is rejected and the order stays, a
crossing GTC amend takes liquidity, an amend of a done order or below what has filled is
rejected.

The random streams are ``test_invariants``'s; the checks here replay the *order manager's*
record of every order and amend (its ``on_event`` hook) against ``result.fills``: each fill is
within the terms in force at its exchange time (price, total size), maker fills never happen at
an amend's new price before the amend's arrival, taker fills only at an arrival (of the order
or of an applied amend, never POST_ONLY), and the python twin gives the numba result bit for
bit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import invrisk.backtest.engine as engine_module
from invrisk.backtest import BacktestResult, ConstantLatency, run_backtest
from invrisk.order_manager import ManagedOrder, OrderManager, OrderStatus
from invrisk.risk.limits import InstrumentLimits, RiskGuard
from invrisk.strategy import Decision, QuoteLevel, QuoteTarget, TimeInForce
from tests.backtest.test_invariants import (
    _BOOK,
    DEPTH,
    LINEAR_PERP,
    SETTINGS,
    T0_NS,
    TRADE,
    UNIT_NS,
    RandomQuoter,
    Scenario,
    Scripted,
    _hand_stream,
    assert_identical,
    fill_rows,
    scenarios,
)

BACKENDS = ["numba", "python"]


def at(t_us: int) -> int:
    return T0_NS + t_us * UNIT_NS


def bid(price: float, qty: float, *, post_only: bool = True) -> Decision:
    return Decision((QuoteTarget(0, (QuoteLevel(price, qty),), (), post_only=post_only),))


def hand_run(
    rows: list[tuple[int, int, int, float, float]],
    script: list[Decision],
    *,
    amend: bool = True,
    backend: str = "numba",
    guard: RiskGuard | None = None,
) -> tuple[BacktestResult, Scripted]:
    strategy = Scripted(script)
    result = run_backtest(
        events=_hand_stream(_BOOK + rows),
        instruments=[LINEAR_PERP],
        strategy=strategy,
        latency=ConstantLatency(entry_ns=UNIT_NS, response_ns=UNIT_NS),
        decision_interval_ns=5 * UNIT_NS,
        funding_interval_ns=0,
        amend_orders=amend,
        guard=guard,
        backend=backend,
    )
    return result, strategy


def fills(result: BacktestResult) -> list[tuple[int, int, float, float, bool]]:
    """(exch µs, order id, price, qty, maker) of each fill."""
    return [
        ((f.exch - T0_NS) // UNIT_NS, f.oid, f.price, f.qty, f.maker) for f in fill_rows(result)
    ]


def amends(result: BacktestResult) -> list[tuple[int, float, float, int, str]]:
    """(order id, price, new total, status, reason) of each amend."""
    a = result.amends
    return list(
        zip(
            a["order_id"].tolist(),
            a["price"].tolist(),
            a["qty"].tolist(),
            a["status"].tolist(),
            a["reason"].tolist(),
            strict=True,
        )
    )


# 4.0 joins the level behind us at 8 µs (6.0 displayed), before the amend arrives at 11 µs
GROWS_BEHIND = [(8, DEPTH, 1, 99.9, 6.0)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_size_decrease_keeps_the_queue_position(backend: str) -> None:
    """2.0 ahead when we arrive (6 µs); the amend to 1.0 (11 µs) keeps that; a 2.5 sell at
    12 µs eats the 2.0 ahead and fills 0.5. Cancel-and-replace: the new order (11 µs) has the
    6.0 displayed ahead and the trade leaves it unfilled."""
    rows = [*GROWS_BEHIND, (12, TRADE, -1, 99.9, 2.5), (30, DEPTH, 1, 99.8, 5.0)]
    script = [bid(99.9, 2.0), bid(99.9, 1.0)]
    res, _ = hand_run(rows, script, backend=backend)
    assert fills(res) == [(12, 1, 99.9, 0.5, True)]
    assert amends(res) == [(1, 99.9, 1.0, 1, "")]
    assert res.orders_sent == 1 and res.cancels_sent == 0 and res.amends_sent == 1
    assert res.amends["sent_ns"].tolist() == [at(10)] and res.amends["done_ns"].tolist() == [at(12)]
    replaced, _ = hand_run(rows, script, amend=False, backend=backend)
    assert fills(replaced) == [] and replaced.cancels_sent == 1 and replaced.orders_sent == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_size_increase_goes_to_the_back_of_the_queue(backend: str) -> None:
    """The amend to 3.0 (11 µs) puts 6.0 ahead: the 2.5 sell at 12 µs fills nothing (3.5
    left ahead), the 5.0 sell at 13 µs reaches 1.5 of us."""
    rows = [*GROWS_BEHIND, (12, TRADE, -1, 99.9, 2.5), (13, TRADE, -1, 99.9, 5.0)]
    res, strategy = hand_run(rows, [bid(99.9, 2.0), bid(99.9, 3.0)], backend=backend)
    assert fills(res) == [(13, 1, 99.9, 1.5, True)]
    assert amends(res) == [(1, 99.9, 3.0, 1, "")]
    assert [(f.order_id, f.qty) for f in strategy.fills] == [(1, 1.5)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_price_change_queues_behind_the_new_level(backend: str) -> None:
    """Moved to 99.8 (5.0 displayed) at 11 µs: a 99.9 sell trade at 12 µs no longer fills us;
    a 99.8 sell of 6.0 at 13 µs eats the 5.0 ahead and fills 1.0 at 99.8."""
    rows = [(12, TRADE, -1, 99.9, 4.0), (13, TRADE, -1, 99.8, 6.0), (30, DEPTH, 1, 99.7, 1.0)]
    res, _ = hand_run(rows, [bid(99.9, 2.0), bid(99.8, 2.0)], backend=backend)
    assert fills(res) == [(13, 1, 99.8, 1.0, True)]
    # our best bid at the exchange at the samples of 5 µs (none yet), 10 and 15 µs
    np.testing.assert_array_equal(res.bid[:3, 0], [np.nan, 99.9, 99.8])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crossing_post_only_amend_is_rejected_and_the_order_stays(backend: str) -> None:
    """Moving the post-only bid to 100.1 would take the ask: rejected at 11 µs; the order
    keeps 99.9 and its place (2.0 ahead), so a 3.0 sell at 99.9 at 13 µs fills 1.0 of it."""
    rows = [(13, TRADE, -1, 99.9, 3.0)]
    res, _ = hand_run(rows, [bid(99.9, 2.0), bid(100.1, 2.0)], backend=backend)
    assert amends(res) == [(1, 100.1, 2.0, 2, "post_only_would_cross")]
    assert fills(res) == [(13, 1, 99.9, 1.0, True)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crossing_gtc_amend_takes_liquidity_and_rests_the_rest(backend: str) -> None:
    """A GTC bid amended to 100.1 for 4.0 takes the 3.0 offered there at 11 µs (taker) and
    rests 1.0 at 100.1 with nothing ahead: a 100.1 sell of 0.5 at 13 µs fills 0.5."""
    rows = [(13, TRADE, -1, 100.1, 0.5)]
    script = [bid(99.9, 2.0, post_only=False), bid(100.1, 4.0, post_only=False)]
    res, _ = hand_run(rows, script, backend=backend)
    assert amends(res) == [(1, 100.1, 4.0, 1, "")]
    assert fills(res) == [(11, 1, 100.1, 3.0, False), (13, 1, 100.1, 0.5, True)]
    assert res.pnl[0].taker_qty == 3.0 and res.pnl[0].maker_qty == 0.5


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_amend_of_an_order_filled_on_the_way_is_rejected(backend: str) -> None:
    """A 10.0 sell at 10 µs fills our 2.0 (reported at 11 µs); the amend decided at 10 µs
    (to 3.0) arrives at 11 µs: already done. Its total 3 could have been live, so the order is
    FILLED once the reject arrives (12 µs)."""
    rows = [(10, TRADE, -1, 99.9, 10.0), (30, DEPTH, 1, 99.7, 1.0)]
    res, _ = hand_run(rows, [bid(99.9, 2.0), bid(99.8, 3.0)], backend=backend)
    assert fills(res) == [(10, 1, 99.9, 2.0, True)]
    assert amends(res) == [(1, 99.8, 3.0, 2, "already_done")]
    assert res.orders["status"].tolist() == [int(OrderStatus.FILLED)]
    assert res.orders["done_ns"].tolist() == [at(12)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_amend_below_what_has_filled_is_rejected(backend: str) -> None:
    """A 3.5 sell at 10 µs fills 1.5 (2.0 ahead); the amend to a total of 0.5 decided at 10 µs
    (the fill not yet known) arrives at 11 µs: not above the 1.5 filled, rejected; the order
    keeps 0.5 leaves at 99.9 and its place: a 1.0 sell at 13 µs fills the 0.5."""
    rows = [(10, TRADE, -1, 99.9, 3.5), (13, TRADE, -1, 99.9, 1.0)]
    res, _ = hand_run(rows, [bid(99.9, 2.0), bid(99.9, 0.5)], backend=backend)
    assert amends(res) == [(1, 99.9, 0.5, 2, "amend_qty_not_above_filled")]
    assert fills(res) == [(10, 1, 99.9, 1.5, True), (13, 1, 99.9, 0.5, True)]


def test_the_risk_guard_checks_an_amend_at_its_new_size_and_cancels_when_refused() -> None:
    """max_order_qty 2.5: the amend to 3.0 is refused (risk:max_order_qty, no rate slot) and
    the order cancelled (it reaches the exchange at 11 µs): the 99.9 trade at 12 µs does not
    fill it."""
    limits = InstrumentLimits(
        max_position=10.0, max_order_qty=2.5, max_order_notional=math.inf, price_band=math.inf
    )
    guard = RiskGuard(limits={0: limits})
    rows = [(12, TRADE, -1, 99.9, 9.0)]
    res, _ = hand_run(rows, [bid(99.9, 2.0), bid(99.9, 3.0)], guard=guard)
    assert amends(res) == [(1, 99.9, 3.0, 2, "risk:max_order_qty")]
    assert res.rejections["max_order_qty"] == 1 and res.cancels_sent == 1
    assert fills(res) == []
    assert res.orders["status"].tolist() == [int(OrderStatus.CANCELLED)]


def test_the_amend_default_is_off_and_bit_identical_to_cancel_replace() -> None:
    rows = [*GROWS_BEHIND, (12, TRADE, -1, 99.9, 2.5), (13, TRADE, -1, 99.9, 9.0)]
    script = [bid(99.9, 2.0), bid(99.9, 1.0), bid(99.7, 1.0)]
    a, _ = hand_run(rows, script, amend=False)
    strategy = Scripted(script)
    b = run_backtest(
        events=_hand_stream(_BOOK + rows),
        instruments=[LINEAR_PERP],
        strategy=strategy,
        latency=ConstantLatency(entry_ns=UNIT_NS, response_ns=UNIT_NS),
        decision_interval_ns=5 * UNIT_NS,
        funding_interval_ns=0,
    )
    assert_identical(a, b)
    assert a.amends.size == 0 and a.amends_sent == 0
    with pytest.raises(ValueError, match="amend_orders"):
        hand_run(rows, script, amend=1)  # type: ignore[arg-type]


# -- random streams ----------------------------------------------------------------------------


@dataclass
class AmendRec:
    order_id: int
    sent_ns: int
    price: float
    qty: float
    outcome: str = ""  # "amended" / "amend_reject" / "" (no answer delivered)
    reason: str = ""


@dataclass
class Log:
    """The order manager's record of every order (first terms, tif, cancel) and amend."""

    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    amends: dict[int, list[AmendRec]] = field(default_factory=lambda: defaultdict(list))

    def __call__(self, kind: str, o: ManagedOrder) -> None:
        if kind == "new":
            self.orders[o.order_id] = dict(
                price=o.price, qty=o.qty, tif=o.tif, sent=o.created_ns, cancel=None
            )
        elif kind == "cancel_sent" and self.orders[o.order_id]["cancel"] is None:
            self.orders[o.order_id]["cancel"] = o.updated_ns
        elif kind == "amend_sent":
            self.amends[o.order_id].append(
                AmendRec(o.order_id, o.updated_ns, o.amend_price, o.amend_qty)
            )
        elif kind in ("amended", "amend_reject"):
            rec = self.amends[o.order_id][-1]
            rec.outcome, rec.reason = kind, o.reason if kind == "amend_reject" else ""


@st.composite
def amend_scenarios(draw: st.DrawFn, **kwargs: Any) -> Scenario:
    """``test_invariants``'s scenarios made to amend often: the strategy quotes at every
    decision (its "keep" actions become quotes; pulls stay) and the latencies are short next
    to the decision interval, so that its orders are acknowledged before it moves them."""
    scn = draw(scenarios(**kwargs))
    actions = tuple(
        tuple((a[0] % 4 if a[0] < 9 else 9, *a[1:]) for a in acts) for acts in scn.actions
    )
    return replace(
        scn,
        actions=actions,
        entry_ns=draw(st.integers(0, 3)) * UNIT_NS,
        response_ns=draw(st.integers(0, 3)) * UNIT_NS,
        interval_ns=draw(st.integers(4, 10)) * UNIT_NS,
    )


def random_run(scn: Scenario, backend: str = "numba") -> tuple[BacktestResult, Log]:
    log = Log()

    def recording_manager(**kwargs: Any) -> OrderManager:
        return OrderManager(on_event=log, **kwargs)

    with mock.patch.object(engine_module, "OrderManager", recording_manager):
        result = run_backtest(
            events=scn.events,
            instruments=scn.instruments,
            strategy=RandomQuoter(scn),
            fees=scn.fees,
            latency=ConstantLatency(entry_ns=scn.entry_ns, response_ns=scn.response_ns),
            queue=scn.queue,
            partial_fills=scn.partial,
            decision_interval_ns=scn.interval_ns,
            decide_on_fill=scn.decide_on_fill,
            funding_interval_ns=scn.funding_ns,
            amend_orders=True,
            backend=backend,
        )
    return result, log


def terms_timeline(scn: Scenario, log: Log, oid: int) -> list[tuple[int, float, float]]:
    """(exchange time from which, price, total) of each set of terms an order had: its own
    from its arrival, then each applied amend's from that amend's arrival."""
    o = log.orders[oid]
    out = [(o["sent"] + scn.entry_ns, o["price"], o["qty"])]
    for a in log.amends.get(oid, []):
        if a.outcome == "amended":
            out.append((a.sent_ns + scn.entry_ns, a.price, a.qty))
    return out


def violations(scn: Scenario, result: BacktestResult, log: Log) -> list[str]:
    """The fill and amend-answer rules, from the order manager's record (module docstring).

    At one instant the exchange applies market data before arrivals, so a maker fill at an
    amend's arrival instant is under the old terms: maker fills use the terms that took
    effect strictly before them; taker fills happen exactly at an arrival, under its terms.
    """
    out: list[str] = []
    all_fills = fill_rows(result)
    done: dict[int, float] = defaultdict(float)
    for f in all_fills:
        o = log.orders[f.oid]
        line = terms_timeline(scn, log, f.oid)
        if f.maker:
            before = [x for x in line if x[0] < f.exch]
            if not before:
                out.append(f"maker fill at or before its order's arrival: {f}")
                continue
            _, price, total = before[-1]
            if f.price != price:
                out.append(f"maker fill at {f.price}, the terms in force are at {price}: {f}")
        else:
            now = [x for x in line if x[0] == f.exch]
            if not now:
                out.append(f"taker fill not at an arrival {[x[0] for x in line]}: {f}")
                continue
            _, price, total = now[-1]
            if o["tif"] == TimeInForce.POST_ONLY:
                out.append(f"taker fill of a POST_ONLY order: {f}")
            if (f.price - price) * f.side > 1e-9 * price:
                out.append(f"taker fill worse than the limit {price} in force: {f}")
        done[f.oid] += f.qty
        if done[f.oid] > total * (1 + 1e-12) + 1e-15:
            out.append(f"order {f.oid} filled {done[f.oid]} > total {total} in force: {f}")
        if o["cancel"] is not None and f.exch > o["cancel"] + scn.entry_ns:
            out.append(f"fill after its cancel arrived: {f}")
    for oid, recs in log.amends.items():
        for a in recs:
            arrive = a.sent_ns + scn.entry_ns
            # filled when the amend arrived: before that instant, or by data at that instant
            # (taker fills at the instant are the amend's own)
            filled = sum(
                f.qty
                for f in all_fills
                if f.oid == oid and (f.exch < arrive or (f.exch == arrive and f.maker))
            )
            total = [t for start, _, t in terms_timeline(scn, log, oid) if start < arrive][-1]
            if a.reason == "post_only_would_cross" and log.orders[oid]["tif"] != 1:
                out.append(f"post-only reject of a non-POST_ONLY order's amend: {a}")
            elif a.reason == "already_done":
                cancel = log.orders[oid]["cancel"]
                gone = cancel is not None and cancel + scn.entry_ns < arrive
                if not gone and filled < total * (1 - 1e-12):
                    out.append(f"{a} rejected as done with {filled} of {total} filled")
            elif a.reason == "amend_qty_not_above_filled" and filled < a.qty * (1 - 1e-12):
                out.append(f"{a} rejected as below the {filled} filled")
            elif a.outcome == "amended" and filled >= a.qty * (1 - 1e-12):
                out.append(f"{a} applied with {filled} already filled")
    return out


@SETTINGS
@given(amend_scenarios())
def test_random_streams_with_amends_keep_the_fill_invariants(scn: Scenario) -> None:
    result, log = random_run(scn)
    problems = violations(scn, result, log)
    assert not problems, "\n".join(problems[:5]) + "\n" + scn.describe()
    for p in result.pnl:  # the accounting identity holds with amends too
        assert p.total == pytest.approx(p.spread + p.inventory - p.fees + p.funding, abs=1e-9)


@settings(SETTINGS, max_examples=60)
@given(amend_scenarios(n_instruments=2, max_ops=40))
def test_the_python_twin_matches_numba_with_amends(scn: Scenario) -> None:
    (a, log_a), (b, log_b) = random_run(scn, "numba"), random_run(scn, "python")
    assert_identical(a, b)
    assert a.amends_sent == b.amends_sent
    assert a.amends.tobytes() == b.amends.tobytes() and a.orders.tobytes() == b.orders.tobytes()
    assert log_a == log_b


def test_random_streams_do_amend() -> None:
    """The generator exercises amends: applied, rejected for crossing, and for a done order."""
    reasons: set[str] = set()
    applied = 0

    @settings(SETTINGS, max_examples=80, database=None)
    @given(amend_scenarios())
    def collect(scn: Scenario) -> None:
        nonlocal applied
        result, _ = random_run(scn)
        applied += int((result.amends["status"] == 1).sum())
        reasons.update(result.amends["reason"][result.amends["status"] == 2].tolist())

    collect()
    assert applied > 50
    assert {"post_only_would_cross", "already_done"} <= reasons, reasons


def test_amend_log_matches_the_order_manager() -> None:
    rows = [*GROWS_BEHIND, (12, TRADE, -1, 99.9, 2.5), (30, DEPTH, 1, 99.7, 1.0)]
    res, _ = hand_run(rows, [bid(99.9, 2.0), bid(99.9, 1.0), bid(99.8, 1.0)])
    a = res.amends
    assert a.dtype.names == ("order_id", "sent_ns", "price", "qty", "status", "done_ns", "reason")
    assert np.array_equal(a["sent_ns"], [at(10), at(15)])
    # the second amend: 0.5 had filled, so the new total is 1.5 (0.5 + the 1.0 wanted)
    assert amends(res) == [(1, 99.9, 1.0, 1, ""), (1, 99.8, 1.5, 1, "")]
