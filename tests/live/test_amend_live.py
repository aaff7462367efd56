"""Amends live: the gateway contract (paper and ccxt on the fake Deribit), the runtime with the
RiskGuard and the journal, and Deribit's ``private/edit`` through ccxt on loopback."""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from invrisk.errors import RateLimitError
from invrisk.live import Gateway, PaperGateway, Runtime
from invrisk.live.paper import OrderEvent
from invrisk.order_manager import AmendOrder, CancelOrder, NewOrder
from invrisk.risk.limits import InstrumentLimits, RiskGuard
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    MarketView,
    QuoteLevel,
    QuoteTarget,
    TimeInForce,
)
from tests.live.test_ccxt_gateway import (
    SYMBOL,
    Collect,
    open_journal,
    our_trades,
    run,
    runtime,
    until,
    venue,
)
from tests.live.test_gateway_contract import ccxt_deribit, paper
from tests.live.test_runtime import MARKET, gateway, glft, journal

# -- the gateway contract -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [paper, ccxt_deribit], ids=["paper", "ccxt-deribit"])
def test_gateway_amend_contract(make: Callable[[], object]) -> None:
    """An acknowledged order amended to a lower price and twice the size: one ``amend_ack``
    with those terms, the venue holds the order under the same id; after its cancel, an amend
    of it is answered by one ``amend_reject``."""

    async def main() -> None:
        async with make() as s:  # type: ignore[attr-defined]
            gw: Gateway = s.gw
            it = gw.market_batches().__aiter__()
            got: list[OrderEvent] = []

            async def pump(kind: str) -> OrderEvent:
                for _ in range(5_000):
                    await it.__anext__()
                    got.extend(gw.take_order_events())
                    found = [e for e in got if e.kind == kind]
                    if found:
                        return found[0]
                raise AssertionError(f"no {kind!r} event")

            await it.__anext__()
            await gw.submit(NewOrder(1, 0, 1, s.far_bid, s.qty, TimeInForce.POST_ONLY, "quote"))
            await pump("ack")
            lower = s.far_bid - 50.0
            await gw.amend(AmendOrder(1, 0, 1, lower, 2 * s.qty))
            ack = await pump("amend_ack")
            assert (ack.order_id, ack.price) == (1, lower)
            assert ack.qty == pytest.approx(2 * s.qty, rel=1e-12)
            await gw.sync()
            assert gw.open_order_ids() == [1]
            await gw.cancel(CancelOrder(1, 0))
            await pump("cancelled")
            await gw.amend(AmendOrder(1, 0, 1, s.far_bid, s.qty))
            reject = await pump("amend_reject")
            assert reject.order_id == 1 and reject.reason
            gw.release(1)
            assert [e.kind for e in got] == ["ack", "amend_ack", "cancelled", "amend_reject"]

    asyncio.run(asyncio.wait_for(main(), 20))


def test_paper_gateway_answers_an_amend_of_an_order_it_does_not_hold() -> None:
    gw = PaperGateway(events=MARKET.events, instruments=[MARKET.instrument])
    asyncio.run(gw.amend(AmendOrder(99, 0, 1, 100.0, 1.0)))
    (e,) = gw.take_order_events()
    assert (e.kind, e.order_id, e.reason) == ("amend_reject", 99, "unknown_order")


# -- the paper runtime --------------------------------------------------------------------------


def test_paper_run_with_amends_journals_them_and_stays_consistent(tmp_path: Path) -> None:
    """GLFT on the paper gateway with ``amend_orders=True``: quotes move by amends (almost no
    cancels), every applied amend is an ``amended`` event and an ``order_amends`` row, no order
    fills beyond the total last applied, and the journal's positions equal the runtime's."""
    j = journal(tmp_path)
    rt = Runtime(
        strategy=glft(),
        instruments=[MARKET.instrument],
        gateway=gateway(),
        journal=j,
        amend_orders=True,
    )
    s = asyncio.run(rt.run())
    kinds = Counter(e["kind"] for e in j.table("order_events"))
    amends = j.table("order_amends")
    assert rt.om.n_amends_sent > 100 and kinds["amend_sent"] == rt.om.n_amends_sent
    assert kinds["amended"] == len(amends) > 100
    assert rt.om.n_cancels_sent <= 2  # only orders not yet acknowledged are cancelled
    assert s.fills > 100
    total = {o["order_id"]: o["qty"] for o in j.table("orders")}
    for a in amends:  # in order: the last applied amend wins
        total[a["order_id"]] = a["qty"]
    filled: dict[int, float] = defaultdict(float)
    for f in j.table("fills"):
        filled[f["order_id"]] += f["qty"]
    assert all(q <= total[oid] * (1 + 1e-12) for oid, q in filled.items())
    rec = j.recover()
    assert rec.positions[0] == pytest.approx(s.positions[0], abs=1e-9)
    assert rec.cash[0] == pytest.approx(s.cash[0], rel=1e-12)
    for oid, row in rec.open_orders.items():  # recovered at the terms the runtime has
        o = rt.om.order(oid)
        assert (row["price"], row["qty"]) == (o.price, o.qty)
    j.close()


class StepQuoter:
    """A bid 20 ticks under the best bid, of ``sizes[k]`` at the k-th decision (the last size
    afterwards)."""

    def __init__(self, sizes: list[float], tick: float) -> None:
        self.sizes = sizes
        self.tick = tick
        self.k = 0

    def on_start(self, ctx: Context) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        bb = view.instruments[0].best_bid
        if not math.isfinite(bb):
            return Decision()
        qty = self.sizes[min(self.k, len(self.sizes) - 1)]
        self.k += 1
        price = round(bb / self.tick - 20) * self.tick
        return Decision((QuoteTarget(0, (QuoteLevel(price, qty),), ()),))


def test_an_amend_the_guard_refuses_is_journaled_and_its_order_cancelled(tmp_path: Path) -> None:
    """max_order_qty 0.03: the first bid (0.01) goes out; its amend to 0.05 is refused
    (``max_order_qty``, journaled as a risk reject and an ``amend_reject``) and the order is
    cancelled rather than left at its old terms."""
    j = journal(tmp_path)
    limits = InstrumentLimits(
        max_position=1.0, max_order_qty=0.03, max_order_notional=math.inf, price_band=math.inf
    )
    tick = MARKET.instrument.tick_size
    rt = Runtime(
        strategy=StepQuoter([0.01, 0.01, 0.01, 0.05], tick),
        instruments=[MARKET.instrument],
        gateway=gateway(),
        guard=RiskGuard(limits={0: limits}),
        journal=j,
        amend_orders=True,
        snapshot_interval_s=None,
    )
    asyncio.run(rt.run(max_feed_ns=2 * 10**9))
    first = [(e["kind"], e["detail"]) for e in j.table("order_events") if e["order_id"] == 1]
    kinds = [k for k, _ in first]
    assert kinds[:2] == ["new", "ack"]
    assert kinds[-4:] == ["amend_sent", "amend_reject", "cancel_sent", "cancelled"]
    assert first[-3][1] == "risk:max_order_qty"
    refused = [r for r in j.table("risk_events") if r["kind"] == "reject"]
    assert refused[0]["order_id"] == 1 and refused[0]["cause"] == "max_order_qty"
    assert rt.guard is not None and rt.guard.rejections["max_order_qty"] >= 1
    j.close()


class AmendRateLimited(PaperGateway):
    """Every amend is refused for the venue's rate limit."""

    async def amend(self, amend: AmendOrder) -> None:
        raise RateLimitError("429 too many requests", retry_after_s=0.2)


def test_a_rate_limited_amend_backs_off_and_cancels_its_order(tmp_path: Path) -> None:
    j = journal(tmp_path)
    tick = MARKET.instrument.tick_size
    rt = Runtime(
        strategy=StepQuoter([0.01, 0.02], tick),
        instruments=[MARKET.instrument],
        gateway=gateway(AmendRateLimited),
        journal=j,
        amend_orders=True,
        snapshot_interval_s=None,
    )
    asyncio.run(rt.run(max_feed_ns=2 * 10**9))
    assert rt.rate_limited >= 1 and rt.backoffs
    start, end = rt.backoffs[0]
    assert end - start == 500_000_000  # the runtime's 0.5 s backoff beats the 0.2 s hint
    first = [(e["kind"], e["detail"]) for e in j.table("order_events") if e["order_id"] == 1]
    assert ("amend_reject", "rate_limited") in first
    assert [k for k, _ in first][-2:] == ["cancel_sent", "cancelled"]
    assert not rt.halts
    j.close()


# -- ccxt and Deribit's private/edit ---------------------------------------------------------


def test_deribit_edit_amends_in_place_and_refuses_a_crossing_post_only_price() -> None:
    """``edit_order`` sends Deribit's ``order_id``, the new total ``amount`` in USD, the
    price, and for a post-only order ``post_only`` and ``reject_post_only``; the venue keeps
    the order (same venue id, ``replaced``). A new price through the ask is refused
    (11054 post_only_reject) and the order stays where it was."""

    async def main() -> None:
        async with venue() as (fake, gw):
            got = Collect(gw)
            await gw.submit(NewOrder(7, 0, 1, 49_999.5, 3.0, TimeInForce.POST_ONLY, "quote"))
            await until(lambda: got("ack"))
            (o,) = fake.open_orders()
            await gw.amend(AmendOrder(7, 0, 1, 49_999.0, 5.0))
            (ack,) = await until(lambda: got("amend_ack"))
            assert (ack.order_id, ack.price, ack.qty) == (7, 49_999.0, 5.0)
            edit = fake.edit_calls()[-1]
            assert edit["order_id"] == o["order_id"] and edit["amount"] == "50"
            assert edit["price"] == "49999" and edit["post_only"] == "true"
            assert edit["reject_post_only"] == "true"
            (now,) = fake.open_orders()
            assert (now["order_id"], now["price"], now["amount"]) == (o["order_id"], 49_999.0, 50)
            assert now["replaced"] and now["label"] == "t1-7"
            await gw.amend(AmendOrder(7, 0, 1, 50_010.0, 5.0))  # through the 50 010 ask
            (rej,) = await until(lambda: got("amend_reject"))
            assert "post_only_reject (11054)" in rej.reason
            assert fake.open_orders()[0]["price"] == 49_999.0
            assert not [m for m, _ in fake.calls if m == "private/cancel"]

    run(main())


def test_deribit_edit_through_the_book_takes_liquidity_for_a_gtc_order() -> None:
    """A GTC bid edited to the 50 010 ask for 150 contracts takes the 100 offered there (taker
    fills with the venue's trade ids) and rests the other 50."""

    async def main() -> None:
        async with venue() as (fake, gw):
            got = Collect(gw)
            await gw.submit(NewOrder(3, 0, 1, 49_999.5, 1.0, TimeInForce.GTC, "quote"))
            await until(lambda: got("ack"))
            await gw.amend(AmendOrder(3, 0, 1, 50_010.0, 150.0))
            (ack,) = await until(lambda: got("amend_ack"))
            assert ack.qty == 150.0 and "post_only" not in fake.edit_calls()[-1]
            (fill,) = await until(lambda: got("fill"))
            assert (fill.qty, fill.price, fill.is_maker) == (100.0, 50_010.0, False)
            assert fill.fill_id == our_trades(fake)[-1]["trade_id"]
            (o,) = fake.open_orders()
            assert (o["amount"], o["filled_amount"], o["price"]) == (1500, 1000, 50_010.0)

    run(main())


def test_deribit_edit_rate_limit_and_lost_answer() -> None:
    """10028 on ``private/edit`` raises RateLimitError (nothing changed at the venue); an edit
    the venue applied but whose answer was lost with the connection is answered after the
    reconnect by the sync, from the open order's terms."""

    async def main() -> None:
        async with venue() as (fake, gw):
            got = Collect(gw)
            await gw.submit(NewOrder(5, 0, -1, 50_020.0, 2.0, TimeInForce.POST_ONLY, "quote"))
            await until(lambda: got("ack"))
            fake.fail_next("private/edit", 10028, "too_many_requests")
            with pytest.raises(RateLimitError, match="too_many_requests"):
                await gw.amend(AmendOrder(5, 0, -1, 50_030.0, 2.0))
            assert fake.open_orders()[0]["price"] == 50_020.0
            fake.lose_response_next("private/edit")
            await gw.amend(AmendOrder(5, 0, -1, 50_025.0, 4.0))
            await until(lambda: gw.reconnects == 1, 10)
            (ack,) = await until(lambda: got("amend_ack"))
            assert (ack.order_id, ack.price, ack.qty) == (5, 50_025.0, 4.0)
            assert len(fake.edit_calls()) == 2  # never re-sent
            assert not got("amend_reject")

    run(main())


def test_runtime_on_deribit_moves_its_quotes_with_edits(tmp_path: Path) -> None:
    """The runtime quotes the fake's best bid and ask with ``amend_orders=True``; when the
    book moves, the quotes follow by ``private/edit`` (no cancel, no new order), the journal
    records the applied amends, and the venue's orders are at the new touch."""

    async def main() -> None:
        async with venue() as (fake, gw):
            j = open_journal(tmp_path)
            rt = runtime(gw, j, amend_orders=True)
            task = asyncio.create_task(rt.run())
            await until(lambda: len(fake.open_orders()) == 2)
            n_new = len(fake.order_calls())
            await fake.set_level(SYMBOL, "bid", 50_000.0, 0.0)  # best bid 49 999.5
            await fake.set_level(SYMBOL, "ask", 50_005.0, 500.0)  # best ask 50 005
            await until(
                lambda: sorted(o["price"] for o in fake.open_orders()) == [49_999.5, 50_005]
            )
            await until(lambda: len(j.table("order_amends")) == 2)
            await gw.close()
            await task
            assert len(fake.order_calls()) == n_new == 2
            assert not [m for m, _ in fake.calls if m == "private/cancel"]
            assert len(fake.edit_calls()) == 2
            kinds = [e["kind"] for e in j.table("order_events")]
            assert kinds.count("amend_sent") == kinds.count("amended") == 2
            rec = j.recover()
            assert sorted(r["price"] for r in rec.open_orders.values()) == [49_999.5, 50_005.0]
            j.close()

    run(main())
