"""Hand-worked backtest scenarios: small documented event sequences with their expected fills.

Every scenario starts from the same book on a 0.1 tick (BTCUSDT-like linear perpetual,
contract size 1): bid 100.0 x 5, ask 100.2 x 5. Times are milliseconds after ``T0`` (2026-01-01
00:00 UTC), local time = exchange time unless stated. The strategy is scripted: at the decision
times listed (decisions every 100 ms from the first event) it returns the given targets. The
expected numbers are worked out by hand from the rules in ``invrisk.backtest`` (written next to
each assertion) and each scenario is run with both backends.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.backtest import (
    BacktestResult,
    ConstantLatency,
    Fees,
    ProbQueue,
    QueueModel,
    RiskAverseQueue,
    run_backtest,
)
from invrisk.data.events import EventKind, events_from_columns
from invrisk.data.synthetic_market import synthetic_perpetual
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    HedgeIntent,
    MarketView,
    QuoteLevel,
    QuoteTarget,
)

T0 = 1_767_225_600_000_000_000  # 2026-01-01 00:00 UTC
MS = 1_000_000
D, S, C, TR, MK, FU = (
    EventKind.DEPTH,
    EventKind.SNAPSHOT,
    EventKind.CLEAR,
    EventKind.TRADE,
    EventKind.MARK,
    EventKind.FUNDING,
)
BOOK = [(0, C, 0, 0.0, 0.0), (0, S, 1, 100.0, 5.0), (0, S, -1, 100.2, 5.0)]
LINEAR = synthetic_perpetual("linear")
RISK_AVERSE = RiskAverseQueue()
NO_FEES = Fees()
INVERSE = synthetic_perpetual("inverse", contract_size=10.0)


def events(rows: list[tuple[float, int, int, float, float]], feed_ms: float = 0.0) -> np.ndarray:
    """Rows ``(exch_ms, kind, side, price, qty)``; local = exchange + ``feed_ms``."""
    ex = np.array([T0 + round(r[0] * MS) for r in rows], dtype=np.int64)
    return events_from_columns(
        exch_ns=ex,
        local_ns=ex + round(feed_ms * MS),
        kind=[r[1] for r in rows],
        side=[r[2] for r in rows],
        price=[r[3] for r in rows],
        qty=[r[4] for r in rows],
    )


class Script:
    """Returns the scripted decision at each listed decision time (ms after T0)."""

    def __init__(self, plan: dict[int, Decision]) -> None:
        self.plan = plan
        self.fills: list[Fill] = []
        self.views: list[MarketView] = []
        self.cash: list[float] = []

    def on_start(self, ctx: Context) -> None:
        self.ctx = ctx

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        self.views.append(view)
        self.cash.append(float(account.cash[0]))
        return self.plan.get(round((view.t_ns - T0) / MS), Decision())


def bid(price: float, qty: float, *, post_only: bool = True) -> Decision:
    return Decision(quotes=(QuoteTarget(0, (QuoteLevel(price, qty),), (), post_only),))


def run(
    rows: list[tuple[float, int, int, float, float]],
    plan: dict[int, Decision],
    *,
    backend: str,
    queue: QueueModel = RISK_AVERSE,
    partial: bool = True,
    entry_ms: float = 1.0,
    response_ms: float = 1.0,
    fees: Fees = NO_FEES,
    instrument: object = LINEAR,
    funding_ms: int = 0,
) -> tuple[BacktestResult, Script]:
    strat = Script(plan)
    res = run_backtest(
        events=events(rows),
        instruments=[instrument],  # type: ignore[list-item]
        strategy=strat,
        fees=fees,
        latency=ConstantLatency(entry_ns=round(entry_ms * MS), response_ns=round(response_ms * MS)),
        queue=queue,
        partial_fills=partial,
        funding_interval_ns=funding_ms * MS,
        backend=backend,
    )
    return res, strat


def fills_of(res: BacktestResult) -> list[tuple[float, int, float, float, bool]]:
    """``(exch_ms, side, price, qty, maker)`` of every fill."""
    f = res.fills
    return [
        (
            (int(r["exch_ns"]) - T0) / MS,
            int(r["side"]),
            float(r["price"]),
            float(r["qty"]),
            bool(r["maker"]),
        )
        for r in f
    ]


BACKENDS = pytest.mark.parametrize("backend", ["numba", "python"])


# --- queue position -----------------------------------------------------------------------------


@BACKENDS
def test_risk_averse_queue_advances_on_trades_and_shrinks(backend: str) -> None:
    """Bid 100.0 x 1 arrives at 101 ms behind 5. Trade 3 at 150 ms: ahead 5 -> 2, no fill.
    The level shrinks to 2 (the trade) then to 1 at 170 ms (a cancel, assumed behind us in
    the risk-averse model, but the level is now below what was ahead: ahead -> 1). Trade 2 at
    180 ms: 1 consumes the queue ahead, 1 fills us (exactly our size)."""
    rows = [
        *BOOK,
        (150, TR, -1, 100.0, 3.0),
        (151, D, 1, 100.0, 2.0),
        (170, D, 1, 100.0, 1.0),
        (180, TR, -1, 100.0, 2.0),
        (181, D, 1, 100.0, 0.5),  # not part of the scenario: keeps the level alive
        (400, D, 1, 99.9, 1.0),
    ]
    res, strat = run(rows, {100: bid(100.0, 1.0)}, backend=backend)
    assert fills_of(res) == [(180.0, 1, 100.0, 1.0, True)]
    assert strat.fills[0].local_ns == T0 + 181 * MS  # learned after the 1 ms response latency
    # all or nothing: a 2-lot order gets no fill from the 1 that reached it
    res2, _ = run(rows, {100: bid(100.0, 2.0)}, backend=backend, partial=False)
    assert fills_of(res2) == []
    # partial fills: the same 2-lot order is filled 1
    res3, _ = run(rows, {100: bid(100.0, 2.0)}, backend=backend)
    assert fills_of(res3) == [(180.0, 1, 100.0, 1.0, True)]


@BACKENDS
@pytest.mark.parametrize(
    ("queue", "front_after"),
    [
        # share behind = 4² / (4² + 3²) = 0.64 of the 2 cancelled: 1.28 behind, 0.72 ahead
        (ProbQueue("power", 2.0), 3.0 - 0.72),
        # share behind = ln 5 / (ln 5 + ln 4) = 0.537243...; ahead: 2 (1 - 0.537243...)
        (ProbQueue("log"), 3.0 - 2.0 * (1.0 - math.log(5.0) / (math.log(5.0) + math.log(4.0)))),
    ],
)
def test_probabilistic_queue_splits_cancels(
    backend: str, queue: QueueModel, front_after: float
) -> None:
    """Arrive behind 5. The level drops 5 -> 3 without a trade: nobody is behind us, all 2
    come from ahead (ahead 3). It grows to 7 (4 behind us) and drops to 5: of the 2, the model's
    share comes from behind. A trade of 3 then reaches ``3 - ahead`` into our 1-lot order."""
    rows = [
        *BOOK,
        (150, D, 1, 100.0, 3.0),
        (160, D, 1, 100.0, 7.0),
        (170, D, 1, 100.0, 5.0),
        (180, TR, -1, 100.0, 3.0),
        (400, D, 1, 99.9, 1.0),
    ]
    res, _ = run(rows, {100: bid(100.0, 1.0)}, backend=backend, queue=queue)
    got = fills_of(res)
    assert len(got) == 1 and got[0][:3] == (180.0, 1, 100.0)
    np.testing.assert_allclose(got[0][3], 3.0 - front_after, rtol=1e-12)


# --- trade-through, crossing, takers -----------------------------------------------------------


@BACKENDS
def test_trade_through_fills_up_to_the_trade_quantity(backend: str) -> None:
    """A sell of 0.4 printed at 99.9, below our 100.0 bid (behind 5): it swept our price, so we
    fill 0.4 whatever the queue; all-or-nothing mode fills nothing (0.4 < 1)."""
    rows = [*BOOK, (150, TR, -1, 99.9, 0.4), (400, D, 1, 99.9, 1.0)]
    res, _ = run(rows, {100: bid(100.0, 1.0)}, backend=backend)
    assert fills_of(res) == [(150.0, 1, 100.0, 0.4, True)]
    res2, _ = run(rows, {100: bid(100.0, 1.0)}, backend=backend, partial=False)
    assert fills_of(res2) == []


@BACKENDS
def test_book_crossing_into_our_order_fills_the_displayed_size_once(backend: str) -> None:
    """An ask of 0.3 appears at 100.0, on our 100.0 bid: we fill 0.3. The level is updated to
    0.3 again (same size: nothing new) and then to 0.5 — only 0.2 of it is new."""
    rows = [
        *BOOK,
        (150, D, -1, 100.0, 0.3),
        (160, D, -1, 100.0, 0.3),
        (170, D, -1, 100.0, 0.5),
        (400, D, 1, 99.9, 1.0),
    ]
    res, _ = run(rows, {100: bid(100.0, 1.0)}, backend=backend)
    got = fills_of(res)
    assert [g[:3] for g in got] == [(150.0, 1, 100.0), (170.0, 1, 100.0)]
    np.testing.assert_allclose([g[3] for g in got], [0.3, 0.2], rtol=1e-12)


@BACKENDS
def test_post_only_rejected_when_crossing_and_gtc_takes(backend: str) -> None:
    """A post-only bid at 100.2 would cross the 100.2 ask: rejected. As GTC it takes 2 at
    100.2 as a taker and pays the taker fee 0.0005 x 200.4."""
    rows = [*BOOK, (400, D, 1, 99.9, 1.0)]
    res, _ = run(rows, {100: bid(100.2, 2.0)}, backend=backend)
    assert fills_of(res) == [] and res.orders_sent == 1
    res2, _ = run(
        rows, {100: bid(100.2, 2.0, post_only=False)}, backend=backend, fees=Fees(-0.0001, 0.0005)
    )
    assert fills_of(res2) == [(101.0, 1, 100.2, 2.0, False)]
    np.testing.assert_allclose(res2.pnl[0].fees, 0.0005 * 2.0 * 100.2, rtol=1e-12)


@BACKENDS
def test_ioc_hedges_walk_the_book_and_never_reuse_liquidity(backend: str) -> None:
    """Asks 100.2 x 5 and 100.3 x 4. Buy 7 IOC at 100 ms: 5 @ 100.2 + 2 @ 100.3. Buy 3 IOC at
    200 ms (no book update in between): 100.2 is used up, 2 left at 100.3, 1 expires."""
    rows = [*BOOK, (0, S, -1, 100.3, 4.0), (400, D, 1, 99.9, 1.0)]
    plan = {
        100: Decision(hedges=(HedgeIntent(0, 7.0, limit_price=100.3),)),
        200: Decision(hedges=(HedgeIntent(0, 3.0, limit_price=100.3),)),
    }
    res, _ = run(rows, plan, backend=backend)
    assert fills_of(res) == [
        (101.0, 1, 100.2, 5.0, False),
        (101.0, 1, 100.3, 2.0, False),
        (201.0, 1, 100.3, 2.0, False),
    ]
    assert res.pnl[0].position == 9.0


# --- latency ----------------------------------------------------------------------------------


@BACKENDS
def test_no_fill_on_trades_before_arrival_and_cancel_protects_only_after_arrival(
    backend: str,
) -> None:
    """Entry latency 50 ms: the bid sent at 100 ms arrives at 150 ms (front 0: the bid level at
    100.0 is emptied first). Trades at 120 ms and at 150 ms (same instant as the arrival) do not
    fill it; one at 151 ms fills 0.2. The cancel sent at 200 ms arrives at 250 ms: the trade at
    240 ms still fills it (0.3), the one at 260 ms does not."""
    rows = [
        *BOOK,
        (1, D, 1, 100.0, 0.0),
        (120, TR, -1, 100.0, 0.5),
        (150, TR, -1, 100.0, 0.5),
        (151, TR, -1, 100.0, 0.2),
        (240, TR, -1, 100.0, 0.3),
        (260, TR, -1, 100.0, 0.4),
        (400, D, 1, 99.9, 1.0),
    ]
    plan = {100: bid(100.0, 1.0), 200: Decision(quotes=(QuoteTarget(0),))}
    res, strat = run(rows, plan, backend=backend, entry_ms=50.0, response_ms=5.0)
    assert fills_of(res) == [(151.0, 1, 100.0, 0.2, True), (240.0, 1, 100.0, 0.3, True)]
    assert [f.local_ns for f in strat.fills] == [T0 + 156 * MS, T0 + 245 * MS]
    assert res.cancels_sent == 1


# --- accounting -----------------------------------------------------------------------------


@BACKENDS
def test_inverse_contract_pnl_in_coin(backend: str) -> None:
    """BTCUSD-style inverse, 10 USD contracts. Buy 100 contracts IOC at 50000 (ask 50000 x 500);
    the book then moves to 50999.9 / 51000.1, mid 51000: PnL = 100 x 10 (1/50000 - 1/51000) BTC
    = 3.92156862745e-4 BTC, all of it inventory PnL; the spread captured at the fill is
    100 x 10 (1/50000 - 1/mid) with mid 49999.95 (bid 49999.9)."""
    rows = [
        (0, C, 0, 0.0, 0.0),
        (0, S, 1, 49999.9, 500.0),
        (0, S, -1, 50000.0, 500.0),
        (300, D, -1, 51000.1, 500.0),
        (300, D, 1, 50999.9, 500.0),
        (300, D, 1, 49999.9, 0.0),
        (300, D, -1, 50000.0, 0.0),
        (400, D, 1, 50999.8, 1.0),
    ]
    plan = {100: Decision(hedges=(HedgeIntent(0, 100.0, limit_price=50000.0),))}
    res, _ = run(rows, plan, backend=backend, instrument=INVERSE)
    p = res.pnl[0]
    assert p.position == 100.0
    spread = 100 * 10 * (1 / 50000.0 - 1 / 49999.95)
    np.testing.assert_allclose(p.spread, spread, rtol=1e-9)
    np.testing.assert_allclose(p.total, 100 * 10 * (1 / 50000.0 - 1 / 51000.0), rtol=1e-9)
    np.testing.assert_allclose(p.total, p.spread + p.inventory - p.fees + p.funding, atol=1e-15)


@BACKENDS
def test_funding_settles_at_the_interval_with_last_rate_and_mark(backend: str) -> None:
    """Long 2 (IOC at 100.2). Funding every 1 s since the epoch: T0 + 1000 ms settles with the
    last rate (0.0001, sent at 500 ms) and mark (100.5): -2 x 100.5 x 0.0001 = -0.0201."""
    rows = [
        *BOOK,
        (500, FU, 0, 0.0001, 0.0),
        (600, MK, 0, 100.5, 0.0),
        (1500, D, 1, 99.9, 1.0),
    ]
    plan = {100: Decision(hedges=(HedgeIntent(0, 2.0, limit_price=100.2),))}
    res, strat = run(rows, plan, backend=backend, funding_ms=1000)
    np.testing.assert_allclose(res.pnl[0].funding, -2.0 * 100.5 * 0.0001, rtol=1e-12)
    # reported like an account update, one response latency (1 ms) later
    f = res.funding
    assert f.size == 1 and int(f["exch_ns"][0]) == T0 + 1000 * MS
    assert int(f["local_ns"][0]) == T0 + 1001 * MS
    assert (f["position"][0], f["rate"][0], f["value"][0]) == (2.0, 0.0001, 100.5)
    np.testing.assert_allclose(f["payment"][0], -0.0201, rtol=1e-12)
    # the strategy's cash includes it from the first decision after it was reported
    t_ms = [round((v.t_ns - T0) / MS) for v in strat.views]
    cash = dict(zip(t_ms, strat.cash, strict=True))
    np.testing.assert_allclose(cash[1000], -2.0 * 100.2, rtol=1e-12)
    np.testing.assert_allclose(cash[1100], -2.0 * 100.2 - 0.0201, rtol=1e-12)
    p = res.pnl[0]
    np.testing.assert_allclose(p.total, p.spread + p.inventory - p.fees + p.funding, atol=1e-12)


def test_backends_agree_on_a_synthetic_market() -> None:
    """The numba kernel and its Python twin give identical results on a real-sized stream."""
    from invrisk.data.synthetic_market import benchmark_stream

    m = benchmark_stream(20_000, seed=3)

    class Quote:
        def on_start(self, ctx: Context) -> None:
            pass

        def on_fill(self, fill: Fill) -> None:
            pass

        def decide(self, view: MarketView, account: AccountView) -> Decision:
            iv = view.instruments[0]
            if not math.isfinite(iv.mid):
                return Decision()
            q = float(account.position[0])
            b = round((iv.mid - 0.3 - 2.0 * q) / 0.1) / 10
            a = round((iv.mid + 0.3 - 2.0 * q) / 0.1) / 10
            return Decision(
                quotes=(QuoteTarget.two_sided(0, bid=b, ask=a, bid_qty=0.01, ask_qty=0.01),)
            )

    out = [
        run_backtest(
            events=m.events,
            instruments=[m.instrument],
            strategy=Quote(),
            fees=Fees(-0.0001, 0.0005),
            queue=ProbQueue("power", 3.0),
            backend=b,
        )
        for b in ("numba", "python")
    ]
    assert out[0].fills.size > 10
    np.testing.assert_array_equal(out[0].fills, out[1].fills)
    np.testing.assert_array_equal(out[0].equity, out[1].equity)
    assert out[0].pnl == out[1].pnl


# --- the RiskGuard in the loop --------------------------------------------------------------


@BACKENDS
def test_risk_guard_limits_position_and_halts_on_drawdown(backend: str) -> None:
    """Max position 2: a buy of 3 IOC is rejected before it is sent ("max_position"). At 200 ms
    a bid of 0.5 at 94.0 and a buy of 1.5 IOC: the worst case 0.5 + 1.5 = 2 is allowed. The
    book then falls 5 USDT (bid 95.0 / ask 95.2): equity drops by about 1.5 x 5 = 7.5 > the
    5 USDT trailing drawdown, the guard HALTS, the resting bid at 94.0 is cancelled and the next
    quote is rejected ("halted")."""
    from invrisk.risk import GuardLimits, InstrumentLimits, RiskGuard

    guard = RiskGuard(
        limits={
            0: InstrumentLimits(
                max_position=2.0, max_order_qty=5.0, max_order_notional=1e6, price_band=0.5
            )
        },
        guard=GuardLimits(trailing_drawdown=5.0, reduce_drawdown=5.0),
    )
    rows = [
        *BOOK,
        (250, D, 1, 95.0, 5.0),
        (250, D, -1, 95.2, 5.0),
        (250, D, 1, 100.0, 0.0),
        (250, D, -1, 100.2, 0.0),
        (600, D, 1, 94.9, 1.0),
    ]
    plan = {
        100: Decision(hedges=(HedgeIntent(0, 3.0, limit_price=100.2),)),
        200: Decision(
            quotes=(QuoteTarget(0, (QuoteLevel(94.0, 0.5),), ()),),
            hedges=(HedgeIntent(0, 1.5, limit_price=100.2),),
        ),
        400: bid(94.1, 0.5),
    }
    strat = Script(plan)
    res = run_backtest(
        events=events(rows),
        instruments=[LINEAR],
        strategy=strat,
        latency=ConstantLatency(entry_ns=MS, response_ns=MS),
        guard=guard,
        backend=backend,
    )
    assert res.pnl[0].position == 1.5
    assert res.rejections["max_position"] == 1 and res.rejections["halted"] == 1
    assert [e[1] for e in res.risk_events] == ["ACTIVE->HALTED"]
    assert res.cancels_sent == 1  # the resting bid at 94.0, cancelled on the halt
    assert np.isnan(res.bid[-1, 0])


@BACKENDS
def test_series_latency_is_interpolated_at_the_send_time(backend: str) -> None:
    """Entry latency measured 1 ms at T0 and 101 ms at T0 + 200 ms: at 100 ms it is 51 ms, so
    the bid sent at 100 ms arrives at 151 ms (front 0: the 100.0 bid level is emptied). The
    trade at 151 ms (same instant) does not fill it, the one at 152 ms does. Response latency
    20 ms flat: the fill is reported at 172 ms."""
    from invrisk.backtest import SeriesLatency

    rows = [
        *BOOK,
        (1, D, 1, 100.0, 0.0),
        (151, TR, -1, 100.0, 0.5),
        (152, TR, -1, 100.0, 0.25),
        (400, D, 1, 99.9, 1.0),
    ]
    lat = SeriesLatency(
        t_ns=[T0, T0 + 200 * MS], entry_ns=[1 * MS, 101 * MS], response_ns=[20 * MS, 20 * MS]
    )
    strat = Script({100: bid(100.0, 1.0)})
    res = run_backtest(
        events=events(rows), instruments=[LINEAR], strategy=strat, latency=lat, backend=backend
    )
    assert fills_of(res) == [(152.0, 1, 100.0, 0.25, True)]
    assert strat.fills[0].local_ns == T0 + 172 * MS


def test_parquet_output_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Samples, fills, funding and the order log written to Parquet read back equal."""
    import pyarrow.parquet as pq

    rows = [*BOOK, (150, TR, -1, 99.9, 0.4), (500, FU, 0, 0.0001, 0.0), (1500, D, 1, 99.9, 1.0)]
    res, _ = run(rows, {100: bid(100.0, 1.0)}, backend="numba", funding_ms=1000)
    paths = res.to_parquet(tmp_path / "out")
    names = ["samples.parquet", "fills.parquet", "funding.parquet", "orders.parquet"]
    assert [p.name for p in paths] == names
    samples = pq.read_table(paths[0]).to_pydict()
    np.testing.assert_array_equal(samples["t_ns"], res.t_ns)
    np.testing.assert_array_equal(samples["BTCUSDT.position"], res.position[:, 0])
    np.testing.assert_array_equal(samples["BTCUSDT.equity"], res.equity[:, 0])
    fills = pq.read_table(paths[1]).to_pydict()
    assert fills["qty"] == [0.4] and fills["price"] == [100.0]
    funding = pq.read_table(paths[2]).to_pydict()
    assert funding["position"] == [0.4] and funding["rate"] == [0.0001]
    orders = pq.read_table(paths[3]).to_pydict()
    assert orders["order_id"] == res.orders["order_id"].tolist() and orders["filled"] == [0.4]


def test_parquet_tables_equal_pyarrows_own_conversion_without_pandas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The result files are built from the numpy buffers (no pandas import); each table
    equals what ``pyarrow.table`` makes of the same columns (values, NaN, booleans, strings,
    schema), checked on a run with a rejected order (a reason string) and NaN samples."""
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    from invrisk.backtest.results import FILL_DTYPE, ORDER_DTYPE, _arrow_table

    def same(cols: dict[str, np.ndarray], got: pa.Table | None = None) -> None:
        want = pa.table(cols)
        got = _arrow_table(pa, cols) if got is None else got
        got.validate(full=True)  # offsets, bitmaps and lengths consistent
        assert got.schema == want.schema
        for name in cols:  # NaN equal to NaN (Table.equals has NaN != NaN)
            np.testing.assert_array_equal(
                got.column(name).to_numpy(zero_copy_only=False),
                want.column(name).to_numpy(zero_copy_only=False),
            )

    rows = [*BOOK, (150, TR, -1, 99.9, 0.4), (1500, D, 1, 99.9, 1.0)]
    res, _ = run(rows, {100: bid(100.0, 1.0)}, backend="numba")
    assert res.fills.size and res.orders.size
    for arr, dtype in ((res.fills, FILL_DTYPE), (res.orders, ORDER_DTYPE)):
        same({n: arr[n] for n in dtype.names or ()})
    assert np.isnan(res.bid[:, 0]).any()
    same({"t": res.t_ns, "bid": res.bid[:, 0], "flag": res.bid[:, 0] > 0.0})
    same({"s": np.array(["", "post_only_would_cross", "risk:é"], dtype="U40")})
    same({n: res.orders[n][:0] for n in ORDER_DTYPE.names or ()})  # empty columns
    paths = res.to_parquet(tmp_path / "out")
    same({n: res.orders[n] for n in ORDER_DTYPE.names or ()}, pq.read_table(paths[3]))
    code = (
        "import sys, numpy as np\n"
        "from invrisk.backtest.results import _arrow_table\n"
        "import pyarrow as pa\n"
        "_arrow_table(pa, {'a': np.arange(3.0), 'b': np.array(['x'], dtype='U4').repeat(3)})\n"
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
