"""The ccxt gateway against a fake Deribit on loopback (tests/live/fake_deribit.py): ccxt's own
``deribit`` class talks JSON-RPC over HTTP and websocket to 127.0.0.1; nothing leaves the
machine."""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from invrisk.errors import CredentialsError, RateLimitError, VenueConnectionError
from invrisk.instruments import parse_deribit
from invrisk.live import CcxtGateway, Gateway, PaperGateway, Runtime
from invrisk.live.credentials import Credentials, load_credentials
from invrisk.live.paper import OrderEvent
from invrisk.order_manager import CancelOrder, NewOrder
from invrisk.store import Journal
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    MarketView,
    QuoteTarget,
    TimeInForce,
)
from tests.live.fake_deribit import FakeDeribit

PERP = parse_deribit("BTC-PERPETUAL")  # inverse: 1 contract = 10 USD, tick 0.5
SYMBOL = "BTC-PERPETUAL"
T = TypeVar("T")
STREAMS = (
    "book.BTC-PERPETUAL.100ms",
    "trades.BTC-PERPETUAL.100ms",
    "user.orders.any.any.raw",
    "user.trades.any.any.raw",
)


async def scripted_book(fake: FakeDeribit, bid: float = 50_000.0, ask: float = 50_010.0) -> None:
    for k in range(3):
        await fake.set_level(SYMBOL, "bid", bid - k * 0.5, 1_000.0 * (k + 1))
        await fake.set_level(SYMBOL, "ask", ask + k * 0.5, 1_000.0 * (k + 1))


@asynccontextmanager
async def venue(
    secret: str = "fake-secret", **kw: Any
) -> AsyncIterator[tuple[FakeDeribit, CcxtGateway]]:
    fake = FakeDeribit(api_secret=secret)
    await fake.start()
    await scripted_book(fake)
    creds = Credentials(venue="deribit", api_key=fake.api_key, api_secret=secret, source="test")
    gw = CcxtGateway(
        venue="deribit",
        instruments=[PERP],
        credentials=creds,
        api_url=fake.url,
        ws_url=fake.ws_url,
        label_prefix=kw.pop("label_prefix", "t1-"),
        reconnect_backoff_s=kw.pop("reconnect_backoff_s", 0.1),
        max_reconnect_backoff_s=0.4,
        idle_batch_s=0.05,
        rate_limit_ms=5,  # ccxt's Deribit spacing is 50 ms; the fake on loopback needs none
        **kw,
    )
    try:
        await gw.start()
        await until(lambda: fake.subscribed(*STREAMS))
        yield fake, gw
    finally:
        await gw.close()
        await fake.close()


async def until(check: Callable[[], T], timeout_s: float = 5.0) -> T:
    """Wait until ``check()`` is truthy (polling the event loop) and return its value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await asyncio.sleep(0.01)


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 20))  # type: ignore[arg-type]


class Collect:
    """Take a gateway's order events as they arrive."""

    def __init__(self, gw: CcxtGateway) -> None:
        self.gw = gw
        self.events: list[OrderEvent] = []

    def __call__(self, kind: str, n: int = 1) -> list[OrderEvent] | None:
        self.events += self.gw.take_order_events()
        got = [e for e in self.events if e.kind == kind]
        return got if len(got) >= n else None


class Quoter:
    """Quotes one contract at the best bid and the best ask (post-only)."""

    def __init__(self) -> None:
        self.fills: list[Fill] = []

    def on_start(self, ctx: Context) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        if not (math.isfinite(iv.best_bid) and math.isfinite(iv.best_ask)):
            return Decision()
        return Decision(
            quotes=(
                QuoteTarget.two_sided(
                    0, bid=iv.best_bid, ask=iv.best_ask, bid_qty=1.0, ask_qty=1.0
                ),
            )
        )


def runtime(gw: CcxtGateway, journal: Journal | None = None, **kw: Any) -> Runtime:
    return Runtime(
        strategy=Quoter(),
        instruments=[PERP],
        gateway=gw,
        journal=journal,
        decision_interval_ns=50_000_000,
        snapshot_interval_s=None,
        **kw,
    )


def open_journal(tmp_path: Path) -> Journal:
    j = Journal(tmp_path / "live.sqlite")
    j.start_run(started_ns=0, mode="live", venue="deribit")
    return j


def our_trades(fake: FakeDeribit, prefix: str = "t1-") -> list[dict[str, Any]]:
    return [t for t in fake.user_trades if t["label"].startswith(prefix)]


def venue_position(fake: FakeDeribit) -> float:
    return sum(
        (1 if t["direction"] == "buy" else -1) * t["amount"] / 10.0 for t in our_trades(fake)
    )


# -- the protocol ---------------------------------------------------------------------------------


def test_both_gateways_implement_the_protocol() -> None:
    from invrisk.data.synthetic_market import benchmark_stream

    m = benchmark_stream(1_000, seed=1)
    paper = PaperGateway(events=m.events, instruments=[m.instrument])
    creds = Credentials(venue="deribit", api_key="k", api_secret="s", source="test")
    live = CcxtGateway(venue="deribit", instruments=[PERP], credentials=creds)
    assert isinstance(paper, Gateway) and isinstance(live, Gateway)
    assert not live.connected and live.reconnects == 0  # the constructor does no I/O


# -- market data ----------------------------------------------------------------------------------


def test_market_data_arrives_as_events_and_the_runtime_book_matches_the_fake() -> None:
    """Book changes and a public trade scripted at the fake reach the runtime as event rows:
    a CLEAR + SNAPSHOT first, then DEPTH rows, a TRADE row with the venue's time and the
    aggressor side; the runtime's book ends equal to the fake's (prices, sizes in contracts)."""

    seen: list[Any] = []

    class Watcher(Quoter):
        def decide(self, view: MarketView, account: AccountView) -> Decision:
            seen.append(view.events.copy())
            return Decision()

    async def main() -> None:
        async with venue() as (fake, gw):
            rt = runtime(gw)
            rt.strategy = Watcher()
            task = asyncio.create_task(rt.run())
            await until(lambda: rt.books[0] is not None)
            await fake.set_level(SYMBOL, "bid", 50_000.0, 0.0)  # the best bid leaves
            await fake.set_level(SYMBOL, "ask", 50_005.0, 70.0)  # a better ask
            await fake.trade(SYMBOL, direction="buy", price=50_005.0, amount=30.0)
            book = rt.books[0]
            assert book is not None
            await until(lambda: book.best_ask == 50_005.0 and book.best_bid == 49_999.5)
            await until(lambda: any((b["kind"] == 4).any() for b in seen if b.size))
            await gw.close()
            await task
            import numpy as np

            ev = np.concatenate([b for b in seen if b.size])
            assert ev["kind"][0] == 3 and ev["kind"][1] == 2  # CLEAR, then the snapshot
            trade = ev[ev["kind"] == 4][0]
            assert trade["side"] == 1 and trade["price"] == 50_005.0 and trade["qty"] == 3.0
            assert abs(trade["local_ns"] - trade["exch_ns"]) < 5 * 10**9
            inst = fake.instruments[SYMBOL]
            for side, levels in ((1, inst.bids), (-1, inst.asks)):
                for price, amount in levels.items():
                    assert book.depth_at(price, side) == pytest.approx(amount / 10.0)
            assert book.best_bid == max(inst.bids) and book.best_ask == min(inst.asks)

    run(main())


# -- orders ---------------------------------------------------------------------------------------


def test_order_round_trip_ack_fill_cancel_with_the_venue_trade_ids() -> None:
    async def main() -> None:
        async with venue() as (fake, gw):
            got = Collect(gw)
            await gw.submit(NewOrder(7, 0, 1, 49_999.5, 3.0, TimeInForce.POST_ONLY, "quote"))
            (ack,) = await until(lambda: got("ack"))
            assert ack.order_id == 7
            sent = fake.order_calls()[-1]
            assert sent["label"] == "t1-7" and sent["amount"] == "30"  # 3 contracts = 30 USD
            assert sent["post_only"] == "true" and sent["reject_post_only"] == "true"
            await fake.trade(SYMBOL, direction="sell", price=49_999.5, amount=10.0)
            (fill,) = await until(lambda: got("fill"))
            venue_trade = our_trades(fake)[-1]
            assert fill.fill_id == venue_trade["trade_id"] and fill.qty == 1.0
            assert fill.price == 49_999.5 and fill.is_maker
            assert fill.fee == pytest.approx(venue_trade["fee"])
            await gw.cancel(CancelOrder(7, 0))
            (cancelled,) = await until(lambda: got("cancelled"))
            assert cancelled.order_id == 7 and fake.open_orders() == []
            # an IOC that crosses the book: a taker fill, the rest expires
            await gw.submit(NewOrder(8, 0, 1, 50_010.0, 150.0, TimeInForce.IOC, "hedge"))
            fills = await until(lambda: got("fill", 2))
            (expired,) = await until(lambda: got("expired"))
            assert fills[-1].order_id == 8 and fills[-1].qty == 100.0 and not fills[-1].is_maker
            assert expired.order_id == 8
            await asyncio.sleep(0.2)  # the websocket copies of the same trades come later
            got("fill")
            assert len({e.fill_id for e in got.events if e.kind == "fill"}) == 2
            assert len([e for e in got.events if e.kind == "fill"]) == 2  # each trade once

    run(main())


def test_venue_rejects_become_reject_events_with_the_reason() -> None:
    async def main() -> None:
        async with venue() as (fake, gw):
            got = Collect(gw)
            fake.fail_next("private/buy", 10009, "not_enough_funds")
            await gw.submit(NewOrder(1, 0, 1, 49_000.0, 1.0, TimeInForce.GTC, "quote"))
            await gw.submit(
                NewOrder(2, 0, 1, 50_010.0, 1.0, TimeInForce.POST_ONLY, "quote")
            )  # crosses
            rejects = await until(lambda: got("reject", 2))
            assert rejects[0].order_id == 1 and "not_enough_funds" in rejects[0].reason
            assert rejects[1].order_id == 2 and "post_only_reject" in rejects[1].reason
            assert fake.open_orders() == []

    run(main())


def test_rate_limit_error_raises_and_the_runtime_backs_off(tmp_path: Path) -> None:
    """Deribit's 10028 too_many_requests: the gateway raises RateLimitError, the runtime
    rejects that order (journaled ``rate_limited``), sends nothing for the backoff window, then
    quotes again (the next orders are acknowledged)."""

    async def main() -> None:
        async with venue() as (fake, gw):
            fake.fail_next("private/buy", 10028, "too_many_requests")
            with pytest.raises(RateLimitError, match="deribit: rate limit: too_many_requests"):
                await gw.submit(NewOrder(1, 0, 1, 49_000.0, 1.0, TimeInForce.GTC, "quote"))
            fake.fail_next("private/buy", 10028, "too_many_requests", retry_after_s=2)
            with pytest.raises(RateLimitError, match="retry after 2 s") as hinted:
                await gw.submit(NewOrder(2, 0, 1, 49_000.0, 1.0, TimeInForce.GTC, "quote"))
            assert hinted.value.retry_after_s == 2.0
            j = open_journal(tmp_path)
            fake.fail_next("private/buy", 10028, "too_many_requests")
            rt = runtime(gw, j, backoff_s=0.3, max_backoff_s=1.0)
            task = asyncio.create_task(rt.run())
            await until(lambda: rt.rate_limited == 1 and len(fake.open_orders()) == 2)
            await gw.close()
            await task
            start, end = rt.backoffs[0]
            assert end - start == 300_000_000
            labels = [c["label"] for c in fake.order_calls()[3:]]  # the runtime's requests
            assert len(labels) == len(set(labels))
            reasons = [e["detail"] for e in j.table("order_events") if e["kind"] == "reject"]
            assert "rate_limited" in reasons and not rt.halts
            j.close()

    run(main())


# -- the runtime end to end -----------------------------------------------------------------------


def test_runtime_through_the_ccxt_gateway_journals_every_fill(tmp_path: Path) -> None:
    """The runtime quotes at the fake's best bid and ask; scripted trades hit the quotes on
    both sides. Every venue trade of ours is journaled once under its venue id, and the
    positions recomputed from the journal equal the runtime's and the venue's."""

    async def main() -> None:
        async with venue() as (fake, gw):
            j = open_journal(tmp_path)
            rt = runtime(gw, j)
            task = asyncio.create_task(rt.run())
            for k in range(6):
                await until(lambda: len(fake.open_orders()) == 2)
                direction = "sell" if k % 3 else "buy"
                price = 50_000.0 if direction == "sell" else 50_010.0
                await fake.trade(SYMBOL, direction=direction, price=price, amount=10.0)
                await until(lambda n=k: rt.fills == n + 1)
            assert await gw.venue_positions() == [rt.position[0]]  # Deribit's signed size
            bal = await gw.venue_balance("BTC")  # the fake's account summary
            assert bal == {"equity": 1.0, "available": 1.0, "maintenance_margin": 0.0}
            await gw.close()
            await task
            journaled = {f["fill_id"] for f in j.table("fills")}
            assert journaled == {t["trade_id"] for t in our_trades(fake)}
            assert len(journaled) == rt.fills == 6
            rec = j.recover()
            assert rec.positions[0] == pytest.approx(rt.position[0]) == venue_position(fake)
            assert rt.position[0] == 2.0  # four sells hit our bid, two buys our ask
            assert rec.cash[0] == pytest.approx(rt.cash[0], rel=1e-12)
            j.close()

    run(main())


@pytest.mark.parametrize("fault", ["drop", "refuse"])
def test_disconnect_and_reconnect_reconcile_without_duplicates_or_lost_fills(
    tmp_path: Path, fault: str
) -> None:
    """The connection drops (websockets closed; or the venue refuses every connection for a
    while) and our resting bid is filled while we cannot hear it. After the reconnect the
    missed fill is fetched and journaled once, the runtime reconciles, resumes quoting and the
    venue never holds more than one order per side; no client id is ever sent twice."""

    async def main() -> None:
        async with venue() as (fake, gw):
            j = open_journal(tmp_path)
            rt = runtime(gw, j, stale_after_s=0.3, auto_resume_after_s=0.2)
            task = asyncio.create_task(rt.run())
            await until(lambda: len(fake.open_orders()) == 2)
            if fault == "drop":
                await fake.drop_connections()
            else:
                await fake.refuse()
            await until(lambda: not gw.connected)
            await fake.trade(SYMBOL, direction="sell", price=50_000.0, amount=10.0)  # unheard
            await fake.set_level(SYMBOL, "bid", 49_999.0, 0.0)  # book changes nobody hears
            await fake.set_level(SYMBOL, "ask", 50_011.0, 555.0)
            assert rt.fills == 0
            if fault == "refuse":
                await asyncio.sleep(0.6)  # a few refused reconnect attempts; the feed goes stale
                assert rt.halts and not gw.connected
                await fake.accept()
            await until(lambda: gw.reconnects == 1, 10)
            await until(lambda: rt.fills == 1)
            # trading goes on: a new bid replaces the filled one
            await until(
                lambda: len(fake.open_orders()) == 2 and rt.guard is None and not rt._halted
            )
            await fake.trade(SYMBOL, direction="buy", price=50_010.0, amount=10.0)
            await until(lambda: rt.fills == 2)
            await until(lambda: len(fake.open_orders()) == 2)
            await asyncio.sleep(0.2)
            # the book restarted from the venue's snapshot: no level left over from before
            book, inst = rt.books[0], fake.instruments[SYMBOL]
            assert book is not None and book.depth_at(49_999.0, 1) == 0.0
            assert book.depth_at(50_011.0, -1) == 55.5
            assert (book.n_bid_levels, book.n_ask_levels) == (len(inst.bids), len(inst.asks))
            await gw.close()
            await task
            sides = [o["direction"] for o in fake.open_orders()]
            assert sorted(sides) == ["buy", "sell"]  # one per side: no duplicate quote
            labels = [c["label"] for c in fake.order_calls()]
            assert len(labels) == len(set(labels))  # no client order id sent twice
            journaled = [f["fill_id"] for f in j.table("fills")]
            assert sorted(journaled) == sorted(t["trade_id"] for t in our_trades(fake))
            assert rt.position[0] == pytest.approx(j.recover().positions[0]) == 0.0
            assert venue_position(fake) == 0.0
            # the missed fill was booked before the reconcile: the filled bid is not "missing"
            assert rt.reconciliations[0]["missing_at_venue"] == ()
            live = {o.order_id for o in rt.om.live_orders()}
            assert live == {int(o["label"].removeprefix("t1-")) for o in fake.open_orders()}
            j.close()

    run(main())


def test_orders_cancelled_by_the_venue_while_disconnected_are_reconciled(tmp_path: Path) -> None:
    """Deribit's cancel-on-disconnect: the venue cancels both quotes when the link drops and
    nobody hears of it. After the reconnect the runtime finds them missing at the venue, marks
    them cancelled (journaled), and quotes again: one order per side, nothing duplicated."""

    async def main() -> None:
        async with venue() as (fake, gw):
            fake.cancel_on_disconnect = True
            j = open_journal(tmp_path)
            rt = runtime(gw, j)
            task = asyncio.create_task(rt.run())
            await until(lambda: len(fake.open_orders()) == 2)
            before = {o.order_id for o in rt.om.live_orders()}
            await fake.drop_connections()
            await until(lambda: gw.reconnects == 1)
            await until(lambda: len(fake.open_orders()) == 2)
            await asyncio.sleep(0.2)
            await gw.close()
            await task
            assert set(rt.reconciliations[0]["missing_at_venue"]) == before
            states = {e["order_id"]: e["status"] for e in j.table("order_events")}
            assert all(states[oid] == "CANCELLED" for oid in before)
            live = {o.order_id for o in rt.om.live_orders()}
            assert live.isdisjoint(before)
            assert live == {int(o["label"].removeprefix("t1-")) for o in fake.open_orders()}
            labels = [c["label"] for c in fake.order_calls()]
            assert len(labels) == len(set(labels)) and rt.fills == 0
            j.close()

    run(main())


def test_an_order_whose_answer_is_lost_is_never_sent_twice(tmp_path: Path) -> None:
    """The venue takes our first order but the link drops before it answers. Neither aiohttp
    (which re-sends a GET on such a drop) nor the gateway re-sends it, and it is not
    forgotten: after the reconnect the sync finds it open (ack), the cancel the halted runtime
    wanted is sent then, trading resumes with new client ids, and the venue ends with one
    order per side."""

    async def main() -> None:
        async with venue() as (fake, gw):
            fake.lose_response_next("private/buy")
            j = open_journal(tmp_path)
            rt = runtime(gw, j, auto_resume_after_s=0.2)
            task = asyncio.create_task(rt.run())
            await until(lambda: gw.reconnects == 1)
            await until(lambda: len(fake.open_orders()) == 2 and rt.om.n_sent >= 4)
            await asyncio.sleep(0.2)
            await gw.close()
            await task
            labels = [c["label"] for c in fake.order_calls()]
            assert labels[0] == "t1-1" and len(labels) == len(set(labels))
            first = [e["kind"] for e in j.table("order_events") if e["order_id"] == 1]
            # halted while it was in flight: cancel wanted, sent once the sync found it open
            assert first == ["new", "cancel_sent", "cancelled"]
            assert [o["label"] for o in fake.orders.values()].count("t1-1") == 1
            assert fake.orders["50000001"]["order_state"] == "cancelled"
            assert sorted(o["direction"] for o in fake.open_orders()) == ["buy", "sell"]
            assert rt.halts and "gateway refused" in rt.halts[0]
            j.close()

    run(main())


def test_restart_delivers_the_fills_missed_while_down_before_reconciling(tmp_path: Path) -> None:
    """A run stops with an order resting; the order fills while nobody is connected; a new
    gateway (same labels) started from the journal's last fill time delivers that fill in
    ``resume``, which books it and then journals the order as filled (not cancelled)."""

    async def main() -> None:
        fake = FakeDeribit()
        await fake.start()
        await scripted_book(fake)
        creds = Credentials(
            venue="deribit", api_key=fake.api_key, api_secret="fake-secret", source="t"
        )
        kw: dict[str, Any] = dict(
            venue="deribit", instruments=[PERP], credentials=creds, api_url=fake.url,
            ws_url=fake.ws_url, label_prefix="r1-", idle_batch_s=0.05, rate_limit_ms=5,
        )  # fmt: skip
        j = Journal(tmp_path / "r.sqlite")
        j.start_run(started_ns=0, mode="live", venue="deribit", run_id="r1")
        gw = CcxtGateway(**kw)
        await gw.start()
        rt = runtime(gw, j)
        task = asyncio.create_task(rt.run())
        await until(lambda: len(fake.open_orders()) == 2)
        await gw.close()
        await task
        await fake.trade(SYMBOL, direction="sell", price=50_000.0, amount=10.0)
        gw2 = CcxtGateway(**kw, fills_since_ns=0)
        await gw2.start()
        rt2 = runtime(gw2, j)
        report = rt2.resume("r1")
        assert rt2.fills == 1 and rt2.position[0] == 1.0
        assert len(report["missing_at_venue"]) == 1 and len(report["matched"]) == 1
        rec = j.recover("r1")
        assert rec.positions[0] == 1.0 and rec.n_fills == 1
        (filled,) = report["missing_at_venue"]
        last = [e for e in j.table("order_events", "r1") if e["order_id"] == filled][-1]
        assert (last["status"], last["detail"]) == ("FILLED", "reconciled: filled at venue")
        assert set(rec.open_orders) == set(report["matched"])  # the ask, still resting
        await gw2.close()
        j.close()
        await fake.close()

    run(main())


# -- credentials ----------------------------------------------------------------------------------


def test_credentials_never_leak(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A full session with debug logging on, including ccxt's: the secret is in no log line,
    no journal byte (database and WAL), no repr, and not in the error of a refused login."""
    secret = "sekret-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)

    async def main() -> list[str]:
        texts = []
        async with venue(secret=secret) as (fake, gw):
            j = open_journal(tmp_path)
            rt = runtime(gw, j)
            task = asyncio.create_task(rt.run())
            await until(lambda: len(fake.open_orders()) == 2)
            await fake.trade(SYMBOL, direction="sell", price=50_000.0, amount=10.0)
            await until(lambda: rt.fills == 1)
            texts += [repr(gw), str(gw), repr(gw._credentials), repr(vars(rt)), repr(vars(gw))]
            await gw.close()
            await task
            j.close()
        # the venue refuses the key: the error names the venue, not the key or the secret
        fake = FakeDeribit(api_secret="another")
        await fake.start()
        bad = CcxtGateway(
            venue="deribit",
            instruments=[PERP],
            credentials=Credentials(
                venue="deribit", api_key="key-1234", api_secret=secret, source="test"
            ),
            api_url=fake.url,
            ws_url=fake.ws_url,
        )
        with pytest.raises(CredentialsError, match="deribit: the venue refused") as refused:
            await bad.start()
        await fake.close()
        texts.append(str(refused.value))
        assert "key-1234" not in str(refused.value)
        return texts

    texts = run(main())
    assert any("private/buy" in r.getMessage() for r in caplog.records)  # ccxt did log
    blobs = [p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("live.sqlite")]
    assert blobs and any(b"t1-" in b for b in blobs) is not None
    for b in blobs:
        assert secret.encode() not in b
    assert secret not in caplog.text
    for t in texts:
        assert secret not in t


def test_credentials_error_paths(tmp_path: Path) -> None:
    from tests.conftest import REPO_ROOT

    with pytest.raises(CredentialsError, match="INVRISK_DERIBIT_API_KEY and INVRISK_DERIBIT"):
        load_credentials("deribit", environ={})
    with pytest.raises(CredentialsError, match="INVRISK_DERIBIT_API_SECRET"):
        load_credentials("deribit", environ={"INVRISK_DERIBIT_API_KEY": "k"})
    c = load_credentials(
        "deribit", environ={"INVRISK_DERIBIT_API_KEY": "k1", "INVRISK_DERIBIT_API_SECRET": "s1"}
    )
    assert (c.api_key, c.api_secret) == ("k1", "s1") and "s1" not in repr(c)
    inside = REPO_ROOT / "tests" / "live" / "keys-never-here.toml"
    with pytest.raises(CredentialsError, match="inside the repository"):
        load_credentials("deribit", path=inside)
    f = tmp_path / "keys.toml"
    f.write_text('[deribit]\napi_key = "k2"\napi_secret = "s2"\n', encoding="utf-8")
    c = load_credentials("deribit", path=f)
    assert (c.api_key, c.api_secret) == ("k2", "s2") and "s2" not in repr(c)
    f.write_text('[deribit]\napi_key = "k2"\n', encoding="utf-8")
    with pytest.raises(CredentialsError, match="api_secret") as err:
        load_credentials("deribit", path=f)
    assert "k2" not in str(err.value)
    with pytest.raises(CredentialsError, match="cannot read"):
        load_credentials("deribit", path=tmp_path / "missing.toml")


def test_disconnected_gateway_refuses_orders_with_a_connection_error() -> None:
    async def main() -> None:
        async with venue(reconnect_backoff_s=0.4) as (fake, gw):
            await fake.refuse()
            await until(lambda: not gw.connected)
            with pytest.raises(VenueConnectionError, match="deribit: disconnected"):
                await gw.submit(NewOrder(1, 0, 1, 49_000.0, 1.0, TimeInForce.GTC, "quote"))
            assert isinstance(VenueConnectionError("x"), ConnectionError)
            await fake.accept()
            await until(lambda: gw.connected, 10)

    run(main())


# -- the command line -----------------------------------------------------------------------------

LIVE_CONFIG = """
[run]
decision_interval_ms = 50.0

[risk]
max_position = 5.0          # contracts (10 USD each)
max_order_qty = 2.0
price_band = 0.01

[strategy]
type = "grid"
n_levels = 1
step_ticks = 2
order_qty = 1.0
q_max = 5.0
"""


def test_run_command_trades_live_against_the_fake_and_refuses_without_limits_or_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``invrisk run CONFIG --venue deribit --api-url URL``: quotes go to the fake under the
    run's labels, and are cancelled when the run ends; without [risk] or without credentials
    the command refuses with a message naming what is missing."""
    import json
    import threading

    from typer.testing import CliRunner

    from invrisk.cli import app

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeDeribit(api_secret="cli-secret")
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    asyncio.run_coroutine_threadsafe(scripted_book(fake), loop).result(10)
    try:
        cfg = tmp_path / "live.toml"
        cfg.write_text(LIVE_CONFIG, encoding="utf-8")
        monkeypatch.setenv("INVRISK_DERIBIT_API_KEY", fake.api_key)
        monkeypatch.setenv("INVRISK_DERIBIT_API_SECRET", "cli-secret")
        runner = CliRunner()
        path = tmp_path / "cli.sqlite"
        base = ["run", str(cfg), "--venue", "deribit", "--api-url", fake.url]
        result = runner.invoke(app, [*base, "--duration", "1.5s", "--json", "--journal", str(path)])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["orders_sent"] >= 2 and doc["state"] == "ACTIVE" and doc["fills"] == 0
        calls = fake.order_calls()
        prefix = f"ir{doc['run_id'][:8]}-"
        assert calls and all(c["label"].startswith(prefix) for c in calls)
        buys = {float(c["price"]) for c in calls if c["type"] == "limit" and "50004" in c["price"]}
        assert buys and all(50_000 < float(c["price"]) < 50_010 for c in calls)  # inside the book
        assert fake.open_orders() == []  # cancelled when the run ended
        with Journal(path) as j:
            assert len(j.table("orders", doc["run_id"])) == doc["orders_sent"]
        assert "cli-secret" not in result.output

        no_risk = tmp_path / "norisk.toml"
        no_risk.write_text(
            LIVE_CONFIG[: LIVE_CONFIG.index("[risk]")]
            + LIVE_CONFIG[LIVE_CONFIG.index("[strategy]") :],
            encoding="utf-8",
        )
        bad = runner.invoke(app, ["run", str(no_risk), "--venue", "deribit", "--api-url", fake.url])
        assert bad.exit_code == 2 and "[risk]" in bad.output, bad.output
        monkeypatch.delenv("INVRISK_DERIBIT_API_SECRET")
        bad = runner.invoke(app, [*base])
        assert bad.exit_code == 2 and "INVRISK_DERIBIT_API_SECRET" in bad.output, bad.output
        both = runner.invoke(app, [*base, "--paper"])
        assert both.exit_code == 2 and "exclude" in both.output
        assert "--testnet" in runner.invoke(app, ["run", "--help"]).output
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
