"""One contract suite for every gateway (STYLE habit 7): what the runtime relies on, checked the
same way on the paper gateway and on the ccxt gateway against the fake Deribit on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from invrisk.data.events import EVENT_DTYPE
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.live import CcxtGateway, Credentials, Gateway, PaperGateway
from invrisk.live.paper import OrderEvent
from invrisk.order_manager import CancelOrder, NewOrder
from invrisk.strategy import TimeInForce
from tests.live.fake_deribit import FakeDeribit
from tests.live.test_ccxt_gateway import PERP, STREAMS, scripted_book, until


@dataclass
class Subject:
    gw: Gateway
    far_bid: float  # a bid price on the tick grid far below the market (rests, never fills)
    qty: float
    drop: Callable[[], Awaitable[None]]
    restore: Callable[[], Awaitable[None]]


@asynccontextmanager
async def paper() -> AsyncIterator[Subject]:
    m = benchmark_stream(20_000, seed=5)
    gw = PaperGateway(events=m.events, instruments=[m.instrument])

    async def drop() -> None:
        gw.disconnect()

    async def restore() -> None:
        gw.reconnect()

    yield Subject(gw, far_bid=59_950.0, qty=0.01, drop=drop, restore=restore)
    await gw.close()


@asynccontextmanager
async def ccxt_deribit() -> AsyncIterator[Subject]:
    fake = FakeDeribit()
    await fake.start()
    await scripted_book(fake)
    creds = Credentials(venue="deribit", api_key=fake.api_key, api_secret="fake-secret", source="t")
    gw = CcxtGateway(
        venue="deribit",
        instruments=[PERP],
        credentials=creds,
        api_url=fake.url,
        ws_url=fake.ws_url,
        reconnect_backoff_s=0.1,
        max_reconnect_backoff_s=0.2,
        idle_batch_s=0.02,
        rate_limit_ms=5,
    )
    await gw.start()
    await until(lambda: fake.subscribed(*STREAMS))
    try:
        yield Subject(gw, far_bid=40_000.0, qty=1.0, drop=fake.refuse, restore=fake.accept)
    finally:
        await gw.close()
        await fake.close()


@pytest.mark.parametrize("make", [paper, ccxt_deribit], ids=["paper", "ccxt-deribit"])
def test_gateway_contract(make: Callable[[], object]) -> None:
    async def main() -> None:
        async with make() as s:  # type: ignore[attr-defined]
            gw: Gateway = s.gw
            assert isinstance(gw, Gateway) and gw.connected and gw.reconnects == 0
            it = gw.market_batches().__aiter__()
            clock: list[int] = []
            got: list[OrderEvent] = []

            async def pump(kind: str) -> OrderEvent:
                for _ in range(5_000):
                    batch = await it.__anext__()
                    assert batch.dtype == EVENT_DTYPE
                    clock.append(gw.now_ns)
                    got.extend(gw.take_order_events())
                    found = [e for e in got if e.kind == kind]
                    if found:
                        return found[0]
                raise AssertionError(f"no {kind!r} event")

            await it.__anext__()
            await gw.submit(NewOrder(1, 0, 1, s.far_bid, s.qty, TimeInForce.POST_ONLY, "quote"))
            ack = await pump("ack")
            assert ack.order_id == 1
            await gw.sync()
            assert gw.open_order_ids() == [1]
            await gw.cancel(CancelOrder(1, 0))
            cancelled = await pump("cancelled")
            assert cancelled.order_id == 1
            gw.release(1)
            await gw.sync()
            assert gw.open_order_ids() == []
            assert [e.kind for e in got] == ["ack", "cancelled"]  # each once
            assert clock == sorted(clock)  # the clock never goes back

            await s.drop()
            await until(lambda: not gw.connected)
            with pytest.raises(ConnectionError):
                await gw.submit(NewOrder(2, 0, 1, s.far_bid, s.qty, TimeInForce.POST_ONLY, "q"))
            await s.restore()
            await until(lambda: gw.connected, 10)
            assert gw.reconnects == 1
            await gw.close()
            await gw.close()  # idempotent

    asyncio.run(asyncio.wait_for(main(), 20))
