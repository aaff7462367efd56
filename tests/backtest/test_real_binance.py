"""The backtester on the real Binance USD-M recording (BTCUSDT, ETHUSDT, 2024-08-08).

Data: ``binance_l2_trades_2024-08-08_hftbacktest`` (hftbacktest's sample recording, 344 s of
depth diffs, trades and bookTicker; see its PROVENANCE.txt).

The local book the strategy reads is checked against :class:`invrisk.market.L2Book` sampled at
the same times: the L2Book is in turn checked against the exchange's own bookTicker by
``tests/data`` (``check_bbo``), so the backtester's book agrees with the exchange's top of book
wherever the two are comparable.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.backtest import ConstantLatency, Fees, run_backtest
from invrisk.data.binance import read_binance_stream
from invrisk.instruments import parse_ccxt
from invrisk.market import L2Book
from invrisk.strategy import AccountView, Context, Decision, Fill, MarketView, QuoteTarget
from tests.conftest import require_data

DATA = "binance_l2_trades_2024-08-08_hftbacktest/usdm_{}_20240808.gz"


class Recorder:
    """Records the local top of book at each decision; quotes one tick inside nothing."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float, float, float]] = []

    def on_start(self, ctx: Context) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        self.rows.append((view.t_ns, iv.best_bid, iv.bid_qty, iv.best_ask, iv.ask_qty))
        return Decision()


@pytest.fixture(scope="module", params=["btcusdt", "ethusdt"])
def stream(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return read_binance_stream(require_data(DATA.format(request.param)))


def _instrument(symbol: str, tick: float):  # type: ignore[no-untyped-def]
    """Binance USD-M perpetual: quantity step 0.001 for BTCUSDT and ETHUSDT (exchangeInfo)."""
    base = symbol.removesuffix("USDT")
    return parse_ccxt(
        f"{base}/USDT:USDT",
        tick_size=tick,
        contract_size=1.0,
        lot_size=0.001,
        min_size=0.001,
        venue="binance",
    )


def test_local_book_equals_l2book_at_every_decision(stream) -> None:  # type: ignore[no-untyped-def]
    rec = Recorder()
    run_backtest(
        events=stream.events,
        instruments=[_instrument(stream.symbol, stream.tick_size)],
        strategy=rec,
        decision_interval_ns=250_000_000,
        max_ticks=200_000,  # the ETH feed carries far bids (200 USDT): keep a window
    )
    t = np.array([r[0] for r in rec.rows], dtype=np.int64)
    assert t.size > 1000
    book = L2Book.for_events(stream.events, tick_size=stream.tick_size, max_ticks=200_000)
    s = book.sample(stream.events, at_ns=t, n_levels=1)
    got = np.array([r[1:] for r in rec.rows])
    ok = np.isfinite(s.bid_price[:, 0])
    assert ok.mean() > 0.99
    np.testing.assert_array_equal(got[ok, 0], s.bid_price[ok, 0])
    np.testing.assert_array_equal(got[ok, 1], s.bid_qty[ok, 0])
    np.testing.assert_array_equal(got[ok, 2], s.ask_price[ok, 0])
    np.testing.assert_array_equal(got[ok, 3], s.ask_qty[ok, 0])


class TouchQuoter:
    """Joins the best bid and ask with 1 lot, skewed away by one tick per 5 lots of inventory."""

    def on_start(self, ctx: Context) -> None:
        inst = ctx.instruments[0]
        self.tick, self.lot = inst.tick_size, inst.lot_size

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        if not (math.isfinite(iv.best_bid) and math.isfinite(iv.best_ask)):
            return Decision()
        skew = math.floor(float(account.position[0]) / (5 * self.lot)) * self.tick
        bid, ask = iv.best_bid - max(skew, 0.0), iv.best_ask - min(skew, 0.0)
        lot = self.lot
        return Decision(
            quotes=(QuoteTarget.two_sided(0, bid=bid, ask=ask, bid_qty=lot, ask_qty=lot),)
        )


def test_quoting_strategy_runs_end_to_end_with_fills_on_both_sides(stream) -> None:  # type: ignore[no-untyped-def]
    inst = _instrument(stream.symbol, stream.tick_size)
    res = run_backtest(
        events=stream.events,
        instruments=[inst],
        strategy=TouchQuoter(),
        fees=Fees(maker=-0.0001, taker=0.0004),
        latency=ConstantLatency(entry_ns=5_000_000, response_ns=5_000_000),
        max_ticks=200_000,
    )
    sides = res.fills["side"]
    assert (sides == 1).sum() > 5 and (sides == -1).sum() > 5
    p = res.pnl[0]
    np.testing.assert_allclose(
        p.total, p.spread + p.inventory - p.fees + p.funding, rtol=0, atol=1e-9 * max(1.0, p.volume)
    )
    assert res.out_of_window > 0  # the far ETH/BTC levels are outside the window, counted
