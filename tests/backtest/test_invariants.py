"""Property tests of the backtester's invariants, from its documented rules (hypothesis).

Each example is a small random market for one instrument (or two on one clock): a valid initial
book (CLEAR + SNAPSHOT rows on the tick grid, best bid < best ask), then random DEPTH updates
(absolute sizes, 0 deletes; anywhere near the touch, or small size changes at the touch), TRADE
rows at or through the passive side's best (often followed by the book update they imply), MARK
and FUNDING rows and re-snapshots (CLEAR then SNAPSHOT rows, one side or both). Every row of an
instrument has its own ``exch_ns`` (strictly increasing); ``local_ns`` is ``exch_ns`` plus a
random feed delay, made non-decreasing. Times are on a 1 µs grid so that decisions, arrivals,
rows and funding settlements often coincide (the tie rules matter). A random strategy replays
pre-drawn actions: one or two levels per side around the local book (some crossing it,
POST_ONLY or GTC), keeping or pulling its quotes, sometimes an IOC hedge. Models are drawn
too: constant latencies (0 included, some far longer than the decision interval), the
risk-averse or a probabilistic queue (power 2, power 0.5, log), partial fills on or off, maker
and taker fees (negative = rebate), linear, spot, dated and inverse (100 USD) contracts.

The checks never call the kernel: they replay the *events* through a small reference of the
documented exchange (``backtest/__init__.py``, the kernel's module docstring, ``models.py``)
and confront it with ``result.fills``, ``result.pnl`` and the samples. What each order was
(side, price, qty, time in force, send time, cancel time, reject reason) is recorded through
the order manager's documented ``on_event`` hook, by handing the engine an
:class:`~invrisk.order_manager.OrderManager` built with a recorder (``BacktestResult`` has no
order log).

Documented rules the reference uses:

* ties at one instant: exchange data first, then our order/cancel arrivals, then funding;
  an order arrives at its send time plus the entry latency, a response reaches us after the
  response latency; an order sent at ``t`` with entry latency 0 arrives after everything else
  at ``t`` (the decision that sent it came after them);
* a new order crossing the available opposite liquidity takes it as a taker, walking from the
  best level to its limit (POST_ONLY: rejected instead; IOC: the remainder expires; GTC: it
  rests); available = displayed minus what we took, which stays taken until the level's
  displayed size falls below it (a level update caps it at the new size, a CLEAR at zero);
* a resting order fills as a maker at its own price on a trade through its price, on a trade at
  its price once the quantity ahead (queue) is consumed, or when the opposite side moves onto
  its price (the crossing level's available size is the budget); a trade's quantity is a budget
  shared by all our orders; ``partial_fills=False``: all or nothing per order;
* queue: the quantity ahead starts at the displayed size of the order's level at arrival,
  falls by the trades at the level, and on a level update follows the configured model
  (risk-averse: ``min(front, new)``; probabilistic: the documented share of the decrease, net
  of trades, taken from behind us); a CLEAR leaves it until the level is updated;
* a cancel takes effect at its arrival (fills before it stand);
* fees: rate times notional, ``qty * contract_size * price`` (linear) or
  ``qty * contract_size / price`` (inverse); funding ``-position * |value(mark)| * rate`` at each
  multiple of the funding interval within the replay (mark falling back to the exchange mid);
  ``total = spread + inventory - fees + funding``; the strategy is called every decision
  interval of local time (and at fill reports with ``decide_on_fill``).

A known failure would be kept as an ``xfail(strict=True)`` test with its minimal reproduction.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import invrisk.backtest.engine as engine_module
from invrisk.backtest import (
    BacktestResult,
    ConstantLatency,
    Fees,
    PnL,
    ProbQueue,
    RiskAverseQueue,
    run_backtest,
)
from invrisk.data.events import EventKind, events_from_columns
from invrisk.instruments import Instrument
from invrisk.order_manager import ManagedOrder, OrderManager
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    HedgeIntent,
    MarketView,
    QuoteLevel,
    QuoteTarget,
    TimeInForce,
)

DEPTH = int(EventKind.DEPTH)
SNAPSHOT = int(EventKind.SNAPSHOT)
CLEAR = int(EventKind.CLEAR)
TRADE = int(EventKind.TRADE)
MARK = int(EventKind.MARK)
FUNDING = int(EventKind.FUNDING)

UNIT_NS = 1_000  # every time is on a 1 µs grid so that events, decisions and arrivals tie
T0_NS = 1_700_000_000_000_123_000
QTY_TOL = 1e-9  # quantities are a few units: an absolute tolerance for float sums
POST_ONLY_REJECT = "post_only_would_cross"

# -- instruments -------------------------------------------------------------------------------

LINEAR_PERP = Instrument(
    name="BTCUSDT",
    kind="perpetual",
    base="BTC",
    quote="USDT",
    settle="USDT",
    settlement="linear",
    tick_size=0.1,
    min_size=0.001,
    lot_size=0.001,
    contract_size=1.0,
    venue="binance",
)
LINEAR_SMALL = Instrument(
    name="ETH-USDT-SWAP",
    kind="perpetual",
    base="ETH",
    quote="USDT",
    settle="USDT",
    settlement="linear",
    tick_size=0.5,
    min_size=1.0,
    lot_size=1.0,
    contract_size=0.01,
    venue="okx",
)
LINEAR_FUTURE = Instrument(
    name="BTCUSDT_250627",
    kind="future",
    base="BTC",
    quote="USDT",
    settle="USDT",
    settlement="linear",
    tick_size=0.1,
    min_size=0.001,
    lot_size=0.001,
    contract_size=1.0,
    expiry_ns=1_751_011_200_000_000_000,
    venue="binance",
)
LINEAR_CENTS = Instrument(
    name="BTC-USDC",
    kind="spot",
    base="BTC",
    quote="USDC",
    settle="USDC",
    settlement="linear",
    tick_size=0.01,
    min_size=0.0001,
    lot_size=0.0001,
    contract_size=1.0,
    venue="coinbase",
)
INVERSE_PERP = Instrument(
    name="BTC-PERPETUAL",
    kind="perpetual",
    base="BTC",
    quote="USD",
    settle="BTC",
    settlement="inverse",
    tick_size=0.5,
    min_size=1.0,
    lot_size=1.0,
    contract_size=100.0,
    venue="deribit",
)


@dataclass(frozen=True)
class Market:
    """An instrument, the tick around which its book starts and its possible size units."""

    inst: Instrument
    base_tick: int
    units: tuple[float, ...]


MARKETS = (
    Market(LINEAR_PERP, 1_000, (0.1, 0.5)),  # 100.0 USDT, sizes in 0.1 or 0.5 BTC
    Market(LINEAR_SMALL, 6_000, (1.0,)),  # 3000.0 USDT, 0.01 ETH contracts
    Market(LINEAR_FUTURE, 1_000, (0.5,)),  # dated: never pays funding
    Market(LINEAR_CENTS, 6_543_210, (0.1,)),  # spot at 65432.10 USDC: large tick counts
    Market(INVERSE_PERP, 40_000, (1.0, 10.0)),  # 20000.0 USD, 100 USD contracts
)


def grid_price(inst: Instrument, tick: int) -> float:
    """The price of an integer tick, exact for decimal ticks (0.1 -> tick / 10)."""
    inv = 1.0 / inst.tick_size
    if abs(inv - round(inv)) <= 1e-9 * inv:
        return tick / round(inv)
    return tick * inst.tick_size


def tick_of(inst: Instrument, price: float) -> int:
    return math.floor(price / inst.tick_size + 0.5)


def on_grid(inst: Instrument, price: float) -> bool:
    x = price / inst.tick_size
    return abs(x - round(x)) <= 1e-9 * abs(x)


def same(xs: Iterable[float], ys: Iterable[float]) -> bool:
    """Equal element by element, NaN equal to NaN."""
    return all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(xs, ys, strict=True))


def value(inst: Instrument, price: float) -> float:
    """Value of one contract in the settlement currency (inverse: ``-contract_size / price``)."""
    if inst.is_inverse:
        return -inst.contract_size / price
    return inst.contract_size * price


# -- event streams -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    exch: int
    local: int
    kind: int
    side: int
    tick: int  # book and trade rows; -1 otherwise
    price: float
    qty: float
    inst: int


class _StreamGen:
    """Interprets drawn integers as a valid stream for one instrument (a book kept alongside)."""

    def __init__(self, inst_idx: int, market: Market, unit: float, t0: int) -> None:
        self.i = inst_idx
        self.m = market
        self.unit = unit
        self.exch = t0
        self.local = t0
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self.rows: list[Row] = []

    def emit(
        self, gap: int, delay: int, kind: int, side: int, tick: int, qty: float, val: float = 0.0
    ) -> None:
        self.exch += gap * UNIT_NS
        self.local = max(self.local, self.exch + delay * UNIT_NS)
        price = grid_price(self.m.inst, tick) if tick >= 0 else val
        self.rows.append(Row(self.exch, self.local, kind, side, tick, price, qty, self.i))
        if kind in (DEPTH, SNAPSHOT):
            book = self.bids if side == 1 else self.asks
            if qty > 0.0:
                book[tick] = qty
            else:
                book.pop(tick, None)
        elif kind == CLEAR:
            if side >= 0:
                self.bids.clear()
            if side <= 0:
                self.asks.clear()

    def snapshot(
        self, side: int, top_bid: int, top_ask: int, n_bid: int, n_ask: int, s: int
    ) -> None:
        """CLEAR of ``side`` then SNAPSHOT rows (each row one µs after the previous)."""
        self.emit(1, 0, CLEAR, side, -1, 0.0)
        if side >= 0:
            for k in range(n_bid):
                self.emit(1, 0, SNAPSHOT, 1, top_bid - k, self.unit * (1 + (s + k) % 4))
        if side <= 0:
            for k in range(n_ask):
                self.emit(1, 0, SNAPSHOT, -1, top_ask + k, self.unit * (1 + (s + 2 * k) % 4))

    def op(self, code: int, bit: bool, off: int, units: int, gap: int, delay: int) -> None:
        bb, ba = max(self.bids), min(self.asks)
        if 30 <= code < 55:  # DEPTH at the touch (or next level): size up or down a little
            side = 1 if bit else -1
            book = self.bids if side == 1 else self.asks
            levels = sorted(book, reverse=side == 1)
            tick = levels[min(abs(off) % 2, len(levels) - 1)]
            qty = max(0.0, book[tick] + (units - 4) * self.unit)
            if qty <= 1e-9 * self.unit:
                qty = 0.0 if len(book) > 1 else self.unit
            self.emit(gap, delay, DEPTH, side, tick, qty)
        elif code < 55:  # DEPTH: one level's new absolute size
            side = 1 if bit else -1
            if side == 1:
                tick = min(bb + off, ba - 1)
                book = self.bids
            else:
                tick = max(ba - off, bb + 1)
                book = self.asks
            qty = units * self.unit
            if qty == 0.0 and tick in book and len(book) == 1:
                qty = self.unit  # never empty a side (the mid stays defined between ops)
            self.emit(gap, delay, DEPTH, side, tick, qty)
        elif code < 80:  # TRADE at or through the passive side's best
            aggressor = 1 if bit else -1
            through = max(0, off - 1)
            tick = ba + through if aggressor == 1 else bb - through
            q = max(1, units) * self.unit
            self.emit(gap, delay, TRADE, aggressor, tick, q)
            book = self.asks if aggressor == 1 else self.bids
            if through == 0 and units % 2 == 1:  # the book update that usually follows
                left = book[tick] - q if book[tick] - q > 1e-9 * self.unit else 0.0
                if left == 0.0 and len(book) == 1:
                    left = self.unit  # never empty a side
                self.emit(1, delay, DEPTH, -aggressor, tick, left)
        elif code < 86:
            self.emit(gap, delay, MARK, 0, -1, 0.0, grid_price(self.m.inst, (bb + ba) // 2 + off))
        elif code < 92:
            self.emit(gap, delay, FUNDING, 0, -1, 0.0, off * 1e-4)
        else:  # a re-snapshot of both sides, or of one side (kept uncrossed with the other)
            centre = (bb + ba) // 2 + off
            side = 0 if code < 96 else (1 if code < 98 else -1)
            top_bid = centre - 1 if side == 0 else min(centre - 1, ba - 1)
            top_ask = centre + 1 if side == 0 else max(centre + 1, bb + 1)
            self.exch += (gap - 1) * UNIT_NS
            self.snapshot(side, top_bid, top_ask, 1 + units % 3, 1 + (units // 3) % 3, units)


@dataclass(frozen=True)
class Scenario:
    markets: tuple[Market, ...]
    units: tuple[float, ...]
    rows: tuple[Row, ...]  # in the events' (local) order
    actions: tuple[tuple[tuple[Any, ...], ...], ...]  # per instrument, cycled over decisions
    entry_ns: int
    response_ns: int
    queue: RiskAverseQueue | ProbQueue
    partial: bool
    fees: Fees
    interval_ns: int
    decide_on_fill: bool
    funding_ns: int

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return tuple(m.inst for m in self.markets)

    @property
    def events(self) -> np.ndarray:
        r = self.rows
        return events_from_columns(
            exch_ns=np.array([x.exch for x in r], np.int64),
            local_ns=np.array([x.local for x in r], np.int64),
            kind=np.array([x.kind for x in r], np.uint8),
            side=np.array([x.side for x in r], np.int8),
            price=np.array([x.price for x in r]),
            qty=np.array([x.qty for x in r]),
            instrument=np.array([x.inst for x in r], np.int32),
        )

    def describe(self) -> str:
        """A readable dump (rows in local order, models), for failure reports."""
        names = {DEPTH: "DEPTH", SNAPSHOT: "SNAP", CLEAR: "CLEAR", TRADE: "TRADE"}
        names |= {MARK: "MARK", FUNDING: "FUNDING"}
        lines = [
            f"instruments={[m.inst.name for m in self.markets]} units={self.units} "
            f"entry={self.entry_ns} response={self.response_ns} queue={self.queue} "
            f"partial={self.partial} fees={self.fees} interval={self.interval_ns} "
            f"decide_on_fill={self.decide_on_fill} funding={self.funding_ns}",
            "  exch(us)  local(us) inst kind     side  price        qty",
        ]
        for x in self.rows:
            lines.append(
                f"  {(x.exch - T0_NS) // UNIT_NS:8d} {(x.local - T0_NS) // UNIT_NS:9d} "
                f"{x.inst:4d} {names[x.kind]:8s} {x.side:+d} {x.price:12.6g} {x.qty:8.4g}"
            )
        return "\n".join(lines)


def _ops(lo: int = 0, hi: int = 99) -> st.SearchStrategy[tuple[int, bool, int, int, int, int]]:
    """Stream operations; ``lo..hi`` selects the kinds (see :meth:`_StreamGen.op`)."""
    return st.tuples(
        st.integers(lo, hi),  # kind selector
        st.booleans(),  # side
        st.integers(-4, 4),  # offset in ticks
        st.integers(0, 8),  # size in units (0 = delete)
        st.integers(1, 4),  # exchange-time gap, µs
        st.integers(0, 4),  # feed delay, µs
    )


ALL_KINDS = (0, 99)
TOUCH_AND_TRADES = (30, 79)  # size changes at the touch and trades: the queue's dynamics
_ACTION = st.tuples(
    st.integers(0, 9),  # 0-3 quote, 4-8 keep (no target), 9 pull (empty target)
    st.integers(0, 2),  # bid levels
    st.integers(0, 2),  # ask levels
    st.integers(-3, 3),  # bid offset from the local best bid (positive: more aggressive)
    st.integers(-3, 3),  # ask offset from the local best ask (positive: more aggressive)
    st.integers(1, 4),  # level 1 size units
    st.integers(1, 4),  # level 2 size units
    st.booleans(),  # post_only
    st.integers(0, 9),  # 0-1: send a hedge
    st.sampled_from([-3, -2, -1, 1, 2, 3]),  # hedge size units, signed
    st.integers(-3, 3),  # hedge limit offset from the opposite best; -3: no limit
)
_LATENCY_US = st.one_of(st.integers(0, 6), st.sampled_from([15, 40]))  # long: many in flight
_QUEUES = (
    RiskAverseQueue(),
    ProbQueue("power", 2.0),
    ProbQueue("power", 0.5),
    ProbQueue("log"),
)


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    n_instruments: int = 1,
    min_ops: int = 20,
    max_ops: int = 120,
    funding: bool = True,
    markets: tuple[Market, ...] = MARKETS,
    kinds: tuple[int, int] = ALL_KINDS,
) -> Scenario:
    chosen = tuple(draw(st.sampled_from(markets)) for _ in range(n_instruments))
    units = tuple(draw(st.sampled_from(m.units)) for m in chosen)
    rows: list[Row] = []
    for i, (m, unit) in enumerate(zip(chosen, units, strict=True)):
        gen = _StreamGen(i, m, unit, T0_NS + draw(st.integers(0, 3)) * UNIT_NS)
        half = draw(st.integers(1, 2))
        gen.snapshot(
            0,
            m.base_tick - half,
            m.base_tick + half,
            draw(st.integers(1, 4)),
            draw(st.integers(1, 4)),
            draw(st.integers(0, 7)),
        )
        for op in draw(st.lists(_ops(*kinds), min_size=min_ops, max_size=max_ops)):
            gen.op(*op)
        rows.extend(gen.rows)
    rows.sort(key=lambda r: (r.local, r.inst))  # stable: each instrument keeps its order
    actions = tuple(
        tuple(draw(st.lists(_ACTION, min_size=1, max_size=12))) for _ in range(n_instruments)
    )
    return Scenario(
        markets=chosen,
        units=units,
        rows=tuple(rows),
        actions=actions,
        entry_ns=draw(_LATENCY_US) * UNIT_NS,
        response_ns=draw(_LATENCY_US) * UNIT_NS,
        queue=draw(st.sampled_from(_QUEUES)),
        partial=draw(st.booleans()),
        fees=Fees(
            maker=draw(st.sampled_from([-0.00025, 0.0, 0.0002, 0.001])),
            taker=draw(st.sampled_from([0.0, 0.0005, 0.00075, -0.0001])),
        ),
        interval_ns=draw(st.integers(1, 8)) * UNIT_NS,
        decide_on_fill=draw(st.booleans()),
        funding_ns=(draw(st.integers(0, 30)) * UNIT_NS if funding else 0),
    )


# -- the strategy and the order log ------------------------------------------------------------


class RandomQuoter:
    """Replays pre-drawn actions (cycled) against the local book; records what it saw."""

    def __init__(self, scn: Scenario) -> None:
        self.scn = scn
        self.decisions: list[int] = []
        self.views: list[tuple[MarketView, np.ndarray]] = []
        self.targets: list[tuple[QuoteTarget, ...]] = []
        self.fills: list[Fill] = []
        self.last = [(m.base_tick - 1, m.base_tick + 1) for m in scn.markets]
        self.start_ns: int | None = None

    def on_start(self, ctx: Context) -> None:
        self.start_ns = ctx.start_ns

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        k = len(self.decisions)
        self.decisions.append(view.t_ns)
        self.views.append((view, account.position.copy()))
        quotes: list[QuoteTarget] = []
        hedges: list[HedgeIntent] = []
        for i, iv in enumerate(view.instruments):
            m, unit = self.scn.markets[i], self.scn.units[i]
            inst = m.inst
            bb, ba = self.last[i]
            if math.isfinite(iv.best_bid):
                bb = tick_of(inst, iv.best_bid)
            if math.isfinite(iv.best_ask):
                ba = tick_of(inst, iv.best_ask)
            self.last[i] = (bb, ba)
            acts = self.scn.actions[i]
            mode, nb, na, boff, aoff, q1, q2, post, hedge, hq, hl = acts[k % len(acts)]
            if mode <= 3:
                b1 = bb + boff
                a1 = ba - aoff
                if nb and na and b1 >= a1:
                    a1 = b1 + 1
                bids = [QuoteLevel(grid_price(inst, b1), q1 * unit)]
                bids.append(QuoteLevel(grid_price(inst, b1 - 1 - q2 % 2), q2 * unit))
                asks = [QuoteLevel(grid_price(inst, a1), q2 * unit)]
                asks.append(QuoteLevel(grid_price(inst, a1 + 1 + q1 % 2), q1 * unit))
                quotes.append(QuoteTarget(i, tuple(bids[:nb]), tuple(asks[:na]), post))
            elif mode == 9:
                quotes.append(QuoteTarget(i))
            if hedge <= 1:
                side = 1 if hq > 0 else -1
                limit = None
                if hl > -3:
                    limit = grid_price(inst, ba + hl if side == 1 else bb - hl)
                hedges.append(HedgeIntent(i, hq * unit, limit, reason="test"))
        self.targets.append(tuple(quotes))
        return Decision(tuple(quotes), tuple(hedges))


@dataclass
class OrderRec:
    order_id: int
    instrument: int
    side: int
    price: float
    qty: float
    tif: TimeInForce
    created_ns: int
    decision: int  # index of the strategy decision that sent it
    cancel_ns: int | None = None  # first cancel sent
    cancel_decision: int | None = None  # index of the decision that sent it
    reject: str | None = None


@dataclass
class OrderLog:
    """Records every order the engine's order manager issues (its ``on_event`` hook)."""

    strategy: RandomQuoter
    orders: dict[int, OrderRec] = field(default_factory=dict)

    def __call__(self, kind: str, order: ManagedOrder) -> None:
        if kind == "new":
            self.orders[order.order_id] = OrderRec(
                order.order_id,
                order.instrument,
                order.side,
                order.price,
                order.qty,
                order.tif,
                order.created_ns,
                len(self.strategy.decisions) - 1,
            )
        elif kind == "cancel_sent":
            rec = self.orders[order.order_id]
            if rec.cancel_ns is None:
                rec.cancel_ns = order.updated_ns
                rec.cancel_decision = len(self.strategy.decisions) - 1
        elif kind == "reject":
            self.orders[order.order_id].reject = order.reason


@dataclass
class Run:
    scn: Scenario
    result: BacktestResult
    log: OrderLog
    strategy: RandomQuoter


def run(scn: Scenario, backend: str = "numba") -> Run:
    strategy = RandomQuoter(scn)
    log = OrderLog(strategy)

    def recording_manager(**kwargs: Any) -> OrderManager:
        return OrderManager(on_event=log, **kwargs)

    with mock.patch.object(engine_module, "OrderManager", recording_manager):
        result = run_backtest(
            events=scn.events,
            instruments=scn.instruments,
            strategy=strategy,
            fees=scn.fees,
            latency=ConstantLatency(entry_ns=scn.entry_ns, response_ns=scn.response_ns),
            queue=scn.queue,
            partial_fills=scn.partial,
            decision_interval_ns=scn.interval_ns,
            decide_on_fill=scn.decide_on_fill,
            funding_interval_ns=scn.funding_ns,
            backend=backend,
        )
    return Run(scn, result, log, strategy)


# -- the reference replay ----------------------------------------------------------------------


@dataclass(frozen=True)
class FillRow:
    exch: int
    local: int
    inst: int
    oid: int
    side: int
    price: float
    qty: float
    fee: float
    maker: bool
    mid: float


def fill_rows(result: BacktestResult) -> list[FillRow]:
    f = result.fills
    return [
        FillRow(
            int(f["exch_ns"][k]),
            int(f["local_ns"][k]),
            int(f["instrument"][k]),
            int(f["order_id"][k]),
            int(f["side"][k]),
            float(f["price"][k]),
            float(f["qty"][k]),
            float(f["fee"][k]),
            bool(f["maker"][k]),
            float(f["mid"][k]),
        )
        for k in range(f.size)
    ]


@dataclass(eq=False)
class _Order:
    rec: OrderRec
    tick: int
    arrive: int
    cancel: int | None
    filled: float = 0.0
    resting: bool = False
    front: float = math.nan  # quantity ahead in the queue (the queue model's estimate)
    traded: float = 0.0  # traded at its level since the level's last update
    moved: bool = False  # a probabilistic model took part of a decrease from ahead

    @property
    def side(self) -> int:
        return self.rec.side

    @property
    def leaves(self) -> float:
        return self.rec.qty - self.filled

    def crosses(self, tick: int) -> bool:
        """True if a level or trade at ``tick`` is at or through this order's price."""
        return tick <= self.tick if self.side == 1 else tick >= self.tick


def queue_update(o: _Order, prev: float, new: float, queue: RiskAverseQueue | ProbQueue) -> None:
    """The documented queue models, after our level changes from ``prev`` to ``new``."""
    front = o.front
    if isinstance(queue, ProbQueue):
        chg = prev - new - o.traded  # the decrease not explained by trades
        o.traded = 0.0
        if chg > 0.0:
            back = max(prev - front, 0.0)
            if queue.function == "log":
                fb, ff = math.log1p(back), math.log1p(front)
            else:
                fb, ff = back**queue.power, front**queue.power
            p = fb / (fb + ff) if fb + ff > 0.0 else 0.0
            from_back = min(p * chg, back)
            front = max(front - (chg - from_back), 0.0)
            o.moved = o.moved or 0.0 < from_back < chg
    o.front = min(front, new)


class _Book:
    """One side's displayed sizes and what we took from each level."""

    def __init__(self) -> None:
        self.size: dict[int, float] = {}
        self.taken: dict[int, float] = {}

    def set(self, tick: int, qty: float) -> None:
        if qty > 0.0:
            self.size[tick] = qty
        else:
            self.size.pop(tick, None)
        if tick in self.taken:  # a level update caps what we took at the new size
            self.taken[tick] = min(self.taken[tick], qty)

    def clear(self) -> None:
        self.size.clear()
        self.taken.clear()

    def avail(self, tick: int) -> float:
        return self.size.get(tick, 0.0) - self.taken.get(tick, 0.0)


def last_local_ns(scn: Scenario) -> int:
    """The simulation ends with the last row: later arrivals and settlements never happen."""
    return max(r.local for r in scn.rows)


Violation = tuple[str, str]
COVERAGE: Counter[str] = Counter()  # how often the rarer checks ran (for tuning the generator)


def replay(r: Run) -> list[Violation]:
    """Replays every instrument's rows, our orders and ``result.fills`` against the rules.

    Categories: ``cause`` (invariant 1), ``qty`` (2), ``budget`` (3), ``timing`` (5),
    ``completeness`` (fills the rules say must happen) and ``queue`` (the queue models).
    """
    scn, log = r.scn, r.log
    out: list[Violation] = []
    fills = fill_rows(r.result)
    end = last_local_ns(scn)
    decisions = set(r.strategy.decisions)

    # invariant 2 and 5: per order totals and times
    per_order: dict[int, float] = defaultdict(float)
    for f in fills:
        rec = log.orders.get(f.oid)
        if rec is None:
            out.append(("cause", f"fill of an order never sent: {f}"))
            continue
        per_order[f.oid] += f.qty
        if not (f.qty > 0.0 and math.isfinite(f.qty)):
            out.append(("qty", f"fill qty not > 0: {f}"))
        arrive = rec.created_ns + scn.entry_ns
        if f.maker and f.exch <= arrive:
            out.append(("timing", f"maker fill at or before its order's arrival {arrive}: {f}"))
        if not f.maker and f.exch != arrive:
            out.append(("timing", f"taker fill not at its order's arrival {arrive}: {f}"))
        if f.exch < arrive:
            out.append(("timing", f"fill before sent + entry latency ({arrive}): {f}"))
        if rec.cancel_ns is not None and f.exch > rec.cancel_ns + scn.entry_ns:
            out.append(("timing", f"fill after its cancel arrived ({rec.cancel_ns}): {f}"))
        if f.local != f.exch + scn.response_ns:
            out.append(("timing", f"fill reported at local {f.local}, not exch + response: {f}"))
        if f.exch > end:
            out.append(("timing", f"fill after the last event ({end}): {f}"))
    for oid, total in per_order.items():
        rec = log.orders[oid]
        if total > rec.qty * (1.0 + 1e-12) + 1e-15:
            out.append(("qty", f"order {oid} filled {total!r} > requested {rec.qty!r} ({rec})"))
    for rec in log.orders.values():
        if rec.created_ns not in decisions:
            out.append(("timing", f"order sent outside a decision: {rec}"))

    for i, inst in enumerate(scn.instruments):
        out.extend(_Reference(r, i, inst, [f for f in fills if f.inst == i], end).run())
    return out


class _Reference:
    """The documented exchange for one instrument, replayed beside ``result.fills``.

    Moments (rows, arrivals, cancel arrivals, fills) are visited in exchange-time order; at
    each: (1) the row is applied and the maker fills at that instant are checked against it,
    (2) our orders arriving are checked against their taker fills, (3) cancels take effect.
    """

    def __init__(self, r: Run, i: int, inst: Instrument, fills: list[FillRow], end: int) -> None:
        self.scn, self.i, self.inst = r.scn, i, inst
        self.out: list[Violation] = []
        rows = [x for x in r.scn.rows if x.inst == i]
        self.row_at = {x.exch: x for x in rows}
        assert len(self.row_at) == len(rows), "the generator gives each row its own exch_ns"
        self.orders: dict[int, _Order] = {}
        self.arrivals: dict[int, list[_Order]] = defaultdict(list)
        self.cancels: dict[int, list[_Order]] = defaultdict(list)
        entry = r.scn.entry_ns
        for rec in r.log.orders.values():
            if rec.instrument != i:
                continue
            cancel = None if rec.cancel_ns is None else rec.cancel_ns + entry
            o = _Order(rec, tick_of(inst, rec.price), rec.created_ns + entry, cancel)
            self.orders[rec.order_id] = o
            if o.arrive <= end:  # later arrivals never happen: the replay is over
                self.arrivals[o.arrive].append(o)
            if o.cancel is not None:
                self.cancels[o.cancel].append(o)
            if not on_grid(inst, rec.price):
                self.bad("cause", f"order price off the grid: {rec}")
        self.makers: dict[int, list[FillRow]] = defaultdict(list)
        self.takers: dict[int, list[FillRow]] = defaultdict(list)
        for f in fills:
            o_ = self.orders.get(f.oid)
            if o_ is None or f.side != o_.side:
                self.bad("cause", f"fill of an unknown order or on the wrong side: {f}")
                continue
            (self.makers if f.maker else self.takers)[f.exch].append(f)
        self.books = {1: _Book(), -1: _Book()}
        self.resting: list[_Order] = []

    def bad(self, cat: str, msg: str) -> None:
        self.out.append((cat, f"[inst {self.i}] {msg}"))

    def run(self) -> list[Violation]:
        moments = set(self.row_at) | set(self.arrivals) | set(self.cancels)
        for t in sorted(moments | set(self.makers) | set(self.takers)):
            self.data(t)
            self.arrive(t)
            for o in self.cancels.get(t, []):
                o.resting = False
            self.resting = [o for o in self.resting if o.resting and o.leaves > QTY_TOL]
        return self.out

    # --- 1. market data at the exchange, and the maker fills it causes

    def data(self, t: int) -> None:
        row = self.row_at.get(t)
        prev = 0.0
        if row is not None and row.kind in (DEPTH, SNAPSHOT):
            prev = self.books[row.side].size.get(row.tick, 0.0)
            self.books[row.side].set(row.tick, row.qty)
        elif row is not None and row.kind == CLEAR:
            for s in (1, -1):
                if row.side in (0, s):
                    self.books[s].clear()
        mk = self.makers.get(t, [])
        filled: dict[int, float] = defaultdict(float)  # per order, at this instant
        for f in mk:
            o = self.orders[f.oid]
            if not self.scn.partial and abs(f.qty - (o.leaves - filled[f.oid])) > QTY_TOL:
                self.bad("completeness", f"partial maker fill without partial fills: {f} {o.rec}")
            filled[f.oid] += f.qty
            if o.rec.tif == TimeInForce.IOC:
                self.bad("cause", f"maker fill of an IOC order {o.rec}: {f}")
            if tick_of(self.inst, f.price) != o.tick or not math.isclose(f.price, o.rec.price):
                self.bad("cause", f"maker fill not at its order's price {o.rec.price}: {f}")
            if o not in self.resting:
                self.bad("cause", f"maker fill of an order not resting at {t}: {f} {o.rec}")
            if row is None or row.kind not in (TRADE, DEPTH, SNAPSHOT):
                self.bad("cause", f"maker fill without a trade or book row at {t}: {f} {row}")
            elif row.side != -o.side or not o.crosses(row.tick) or row.qty <= 0.0:
                self.bad("cause", f"maker fill {f} of {o.rec} not caused by {row}")
        total = sum(f.qty for f in mk)
        if row is not None and row.kind == TRADE:
            self.on_trade(row, total, filled)
        elif row is not None and row.kind in (DEPTH, SNAPSHOT):
            self.on_level(row, prev, total, filled)
        elif mk:
            self.bad("budget", f"maker fills {mk} without a budget at {t} (row {row})")
        for f in mk:
            self.orders[f.oid].filled += f.qty

    def on_trade(self, row: Row, total: float, filled: dict[int, float]) -> None:
        """Our resting orders on the passive side, through or at the trade price."""
        q, tol, partial = row.qty, QTY_TOL, self.scn.partial
        if total > q + tol:
            self.bad("budget", f"maker fills {total} on a trade of {q}: {row}")
        passive = [o for o in self.resting if o.side == -row.side]
        through = [o for o in passive if o.crosses(row.tick) and o.tick != row.tick]
        at = [o for o in passive if o.tick == row.tick]
        if partial and total < min(q, sum(o.leaves for o in through)) - tol:
            self.bad("completeness", f"{row} through resting {[o.rec for o in through]}: {total}")
        for o in through if not partial else []:
            if o.rec.order_id not in filled and o.leaves < q - total - tol:
                self.bad("completeness", f"trade {row} left {o.rec} unfilled ({total} used)")
        for o in at:  # an order at the trade price fills once the queue ahead is consumed
            got = filled.get(o.rec.order_id, 0.0)
            if got > max(0.0, q - o.front) + tol:
                self.bad("queue", f"{o.rec} filled {got} on {row} with {o.front} ahead")
        if len(at) == 1 and not any(o.rec.order_id in filled for o in through):
            o = at[0]  # alone at its level, nothing else of ours filled: the fill is exact
            reach = max(0.0, q - o.front)
            got = filled.get(o.rec.order_id, 0.0)
            COVERAGE["queue exact check"] += 1
            COVERAGE["queue exact check, some ahead and a fill"] += o.front > 0 and got > 0
            COVERAGE["queue exact check, probabilistic front moved"] += o.moved
            want = min(o.leaves, reach)
            if not partial:
                want = o.leaves if reach >= o.leaves * (1 - 1e-12) else 0.0
            tie = abs(reach - o.leaves) <= tol or abs(reach) <= tol
            if abs(got - want) > tol and not tie:
                self.bad(
                    "queue",
                    f"{o.rec} (leaves {o.leaves}, {o.front} ahead) filled {got} on {row}; "
                    f"{self.scn.queue} gives {want}",
                )
        for o in at:
            o.front = max(0.0, o.front - q)
            o.traded += q

    def on_level(self, row: Row, prev: float, total: float, filled: dict[int, float]) -> None:
        """A level update: our queue at that level; our orders on the other side it crosses."""
        tol, partial = QTY_TOL, self.scn.partial
        for o in self.resting:
            if o.side == row.side and o.tick == row.tick:
                queue_update(o, prev, row.qty, self.scn.queue)
        book = self.books[row.side]
        avail = max(book.avail(row.tick), 0.0)
        if total > avail + tol:
            taken = book.taken.get(row.tick, 0.0)
            self.bad("budget", f"maker fills {total} on {row}, {avail} available (taken {taken})")
        crossing = [o for o in self.resting if o.side == -row.side and o.crosses(row.tick)]
        if partial and abs(total - min(avail, sum(o.leaves for o in crossing))) > tol:
            recs = [o.rec for o in crossing]
            self.bad("completeness", f"{row} ({avail} available) crossing {recs}: {total}")
        for o in crossing if not partial else []:
            if o.rec.order_id not in filled and o.leaves < avail - total - tol:
                self.bad("completeness", f"{row} ({avail} available) left {o.rec} unfilled")
        if total > 0.0:
            book.taken[row.tick] = book.taken.get(row.tick, 0.0) + total

    # --- 2. our orders arriving: taker fills, POST_ONLY rejects, what rests

    def arrive(self, t: int) -> None:
        group = self.arrivals.get(t, [])
        tk = self.takers.get(t, [])
        books, tol = self.books, QTY_TOL
        start_avail = {s: {k: books[s].avail(k) for k in books[s].size} for s in (1, -1)}
        per_level: dict[tuple[int, int], float] = defaultdict(float)
        for f in tk:
            o = self.orders[f.oid]
            if o not in group:
                self.bad("cause", f"taker fill of an order not arriving at {t}: {f} {o.rec}")
            if o.rec.tif == TimeInForce.POST_ONLY:
                self.bad("cause", f"taker fill of a POST_ONLY order {o.rec}: {f}")
            if not on_grid(self.inst, f.price):
                self.bad("cause", f"taker fill off the tick grid: {f}")
            if (f.price - o.rec.price) * o.side > 1e-9 * o.rec.price:
                self.bad("cause", f"taker fill worse than its limit {o.rec.price}: {f}")
            ftick = tick_of(self.inst, f.price)
            if books[-o.side].size.get(ftick, 0.0) <= 0.0:
                self.bad("budget", f"taker fill at a level not displayed at {t}: {f}")
            per_level[(-o.side, ftick)] += f.qty
            o.filled += f.qty
        for (s, k), q in per_level.items():
            if q > books[s].avail(k) + tol:
                self.bad("budget", f"taker fills {q} at {s:+d} {k} ({books[s].avail(k)} left)")
            books[s].taken[k] = books[s].taken.get(k, 0.0) + q
        for o in group:  # order-independent: simultaneous arrivals may be matched in any order
            opposite = books[-o.side]
            within = [k for k in opposite.size if o.crosses(k)]
            left = [k for k in within if opposite.avail(k) > tol]
            if o.rec.tif == TimeInForce.POST_ONLY:
                if o.rec.reject == POST_ONLY_REJECT:
                    if not any(start_avail[-o.side][k] > 0.0 for k in within):
                        self.bad("completeness", f"{o.rec} rejected with nothing to cross at {t}")
                elif o.rec.reject is None and left:
                    self.bad("completeness", f"POST_ONLY {o.rec} accepted while crossing {left}")
            else:
                if o.rec.reject is not None:
                    self.bad("completeness", f"{o.rec} rejected")
                if o.leaves > tol and left:
                    self.bad("completeness", f"{o.rec} has {o.leaves} left and {left} to take")
                mine = [tick_of(self.inst, f.price) for f in tk if f.oid == o.rec.order_id]
                if mine:
                    worst = max(mine) if o.side == 1 else min(mine)
                    better = [k for k in left if (k < worst if o.side == 1 else k > worst)]
                    if better:
                        self.bad("completeness", f"{o.rec} took {worst}, left {better} at {t}")
            if o.rec.tif != TimeInForce.IOC and o.rec.reject is None and o.leaves > tol:
                o.resting = True
                o.front = books[o.side].size.get(o.tick, 0.0)
                o.traded = 0.0
                self.resting.append(o)


# -- accounting reference ----------------------------------------------------------------------


@dataclass(frozen=True)
class Top:
    """The top of one instrument's book and its tickers after some rows (NaN when unknown)."""

    bid: int | None
    ask: int | None
    bid_qty: float
    ask_qty: float
    last_trade: float
    mark: float
    rate: float

    @property
    def mid_ticks(self) -> float:
        return (
            0.5 * (self.bid + self.ask)
            if self.bid is not None and self.ask is not None
            else math.nan
        )


class Timeline:
    """The top of book after each row of one instrument, on the exchange or the local clock."""

    def __init__(self, rows: Iterable[Row], clock: Callable[[Row], int], inst: int) -> None:
        bids: dict[int, float] = {}
        asks: dict[int, float] = {}
        trade = mark = rate = math.nan
        self.t: list[int] = []
        self.top: list[Top] = []
        self.marks: list[tuple[int, float]] = []
        self.rates: list[tuple[int, float]] = []
        for x in sorted((x for x in rows if x.inst == inst), key=clock):
            if x.kind in (DEPTH, SNAPSHOT):
                book = bids if x.side == 1 else asks
                if x.qty > 0.0:
                    book[x.tick] = x.qty
                else:
                    book.pop(x.tick, None)
            elif x.kind == CLEAR:
                if x.side >= 0:
                    bids.clear()
                if x.side <= 0:
                    asks.clear()
            elif x.kind == TRADE:
                trade = x.price
            elif x.kind == MARK:
                mark = x.price
                self.marks.append((clock(x), x.price))
            elif x.kind == FUNDING:
                rate = x.price
                self.rates.append((clock(x), x.price))
            bb = max(bids) if bids else None
            ba = min(asks) if asks else None
            self.t.append(clock(x))
            self.top.append(
                Top(
                    bb,
                    ba,
                    bids[bb] if bb is not None else 0.0,
                    asks[ba] if ba is not None else 0.0,
                    trade,
                    mark,
                    rate,
                )
            )

    def at(self, t: int) -> Top:
        k = bisect_right(self.t, t) - 1
        return self.top[k] if k >= 0 else Top(None, None, 0.0, 0.0, math.nan, math.nan, math.nan)

    def mid_ticks_at(self, t: int) -> float:
        return self.at(t).mid_ticks

    @staticmethod
    def last_at(series: list[tuple[int, float]], t: int) -> float:
        k = bisect_right([s[0] for s in series], t) - 1
        return series[k][1] if k >= 0 else math.nan


def decision_times(r: Run) -> list[Violation]:
    """The strategy is called every interval of local time after the first event (while data
    remains) and, with ``decide_on_fill``, at the local time each fill is reported; one sample
    per decision. Categories: ``interval``, ``fill_report``."""
    out: list[Violation] = []
    scn, dec = r.scn, r.strategy.decisions
    if dec != r.result.t_ns.tolist():
        out.append(("interval", f"samples at {r.result.t_ns.tolist()} but decisions at {dec}"))
    start, end = scn.rows[0].local, last_local_ns(scn)
    grid = set(range(start + scn.interval_ns, end, scn.interval_ns))
    fills = fill_rows(r.result)
    reported = {f.local for f in fills if f.local < end} if scn.decide_on_fill else set()
    rel = lambda ts: sorted((t - T0_NS) // UNIT_NS for t in ts)  # noqa: E731
    if grid - set(dec):
        out.append(("interval", f"no decision at interval times (us) {rel(grid - set(dec))}"))
    if set(dec) - grid - reported:
        msg = f"decisions at unexpected times (us) {rel(set(dec) - grid - reported)}"
        out.append(("interval", msg))
    if reported - set(dec):
        msg = f"no decision at fill report times (us) {rel(reported - set(dec))}"
        out.append(("fill_report", msg))
    return out


def sampled_quotes(r: Run) -> list[str]:
    """``bid``/``ask``: our best order resting at the exchange at each sample, before the
    decision's own new orders; ``target_bid``/``target_ask``: the strategy's last targets."""
    out: list[str] = []
    scn, res = r.scn, r.result
    fills = fill_rows(res)
    for k, t in enumerate(res.t_ns.tolist()):
        for i in range(len(scn.markets)):
            best: dict[int, float] = {}
            for rec in r.log.orders.values():
                if rec.instrument != i or rec.tif == TimeInForce.IOC or rec.reject is not None:
                    continue
                arrived = rec.created_ns + scn.entry_ns <= t and rec.decision < k
                cancelled = rec.cancel_ns is not None and (
                    rec.cancel_ns + scn.entry_ns < t
                    or (rec.cancel_ns + scn.entry_ns == t and (rec.cancel_decision or 0) < k)
                )
                done = sum(f.qty for f in fills if f.oid == rec.order_id and f.exch <= t)
                if arrived and not cancelled and rec.qty - done > QTY_TOL:
                    cur = best.get(rec.side, math.nan)
                    if math.isnan(cur) or (rec.price - cur) * rec.side > 0:
                        best[rec.side] = rec.price
            got = (res.bid[k, i], res.ask[k, i])
            want = (best.get(1, math.nan), best.get(-1, math.nan))
            if not all(
                a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got, want, strict=False)
            ):
                out.append(f"[inst {i}] sample {k} at {t}: our best bid/ask {got} vs {want}")
            last = [q for d in r.strategy.targets[: k + 1] for q in d if q.instrument == i]
            tb = last[-1].bids[0].price if last and last[-1].bids else math.nan
            ta = last[-1].asks[0].price if last and last[-1].asks else math.nan
            got = (res.target_bid[k, i], res.target_ask[k, i])
            if not all(
                a == b or (math.isnan(a) and math.isnan(b))
                for a, b in zip(got, (tb, ta), strict=False)
            ):
                out.append(f"[inst {i}] sample {k} at {t}: targets {got} vs {(tb, ta)}")
    return out


def accounting(r: Run) -> list[str]:
    """Invariant 4 (and the samples): the result against a recomputation from the fills."""
    fills = fill_rows(r.result)
    out: list[str] = []
    for i, inst in enumerate(r.scn.instruments):
        out.extend(_accounting_instrument(r, i, inst, [f for f in fills if f.inst == i]))
    # each view holds the rows received since the previous decision
    seen = 0
    local = np.array([x.local for x in r.scn.rows])
    for k, (view, _) in enumerate(r.strategy.views):
        n = int(np.searchsorted(local, view.t_ns, side="right"))
        if view.events.size != n - seen or (
            n > seen and not (np.array_equal(view.events["local_ns"], local[seen:n]))
        ):
            out.append(f"decision {k} at {view.t_ns}: {view.events.size} rows, not {n - seen}")
        seen = max(seen, n)
    # what the strategy was told equals the fills of the result, in order
    told = [(f.order_id, f.exch_ns, f.qty, f.price, f.is_maker) for f in r.strategy.fills]
    rep = [(f.oid, f.exch, f.qty, f.price, f.maker) for f in fills]
    if told != rep:
        out.append(f"strategy.on_fill saw {told} but result.fills has {rep}")
    return out


def _accounting_instrument(r: Run, i: int, inst: Instrument, f_i: list[FillRow]) -> list[str]:
    scn, res = r.scn, r.result
    out: list[str] = []
    end = last_local_ns(scn)
    first = min(x.exch for x in scn.rows)
    created = {oid: rec.created_ns for oid, rec in r.log.orders.items()}
    dec = {oid: rec.decision for oid, rec in r.log.orders.items()}
    ex = Timeline(scn.rows, lambda x: x.exch, i)
    lc = Timeline(scn.rows, lambda x: x.local, i)
    px = grid_price(inst, 1)  # mids are kept in ticks

    notional = [f.qty * abs(value(inst, f.price)) for f in f_i]
    tol = 1e-9 * (sum(notional) + 1.0) if inst.is_linear else 1e-12

    def close(a: float, b: float, what: str, tol: float = tol) -> None:
        if not (abs(a - b) <= tol or (math.isnan(a) and math.isnan(b))):
            out.append(f"[inst {i}] {what}: result {a!r} vs recomputed {b!r}")

    for f, n in zip(f_i, notional, strict=True):
        rate = scn.fees.maker if f.maker else scn.fees.taker
        if abs(f.fee - rate * n) > 1e-12 * n + 1e-18:
            out.append(f"[inst {i}] fee {f.fee!r} != {rate} * notional {n!r}: {f}")
        m = ex.mid_ticks_at(f.exch) * px
        if math.isfinite(m) and not math.isclose(f.mid, m, rel_tol=1e-12):
            out.append(f"[inst {i}] fill mid {f.mid!r} != exchange mid {m!r}: {f}")

    def counted(f: FillRow, t: int) -> bool:
        """Done at the exchange by time ``t``; an order sent at ``t`` (entry latency 0) arrives
        after everything else the exchange does at ``t``."""
        return f.exch < t or (f.exch == t and (f.maker or created[f.oid] < t))

    def done(t: int) -> list[FillRow]:
        return [f for f in f_i if counted(f, t)]

    def sampled(k: int, t: int) -> list[FillRow]:
        """Done before the sample of decision ``k`` (at ``t``): what was sent by that decision
        has not reached the exchange yet, even with entry latency 0."""
        return [f for f in f_i if f.exch < t or (f.exch == t and (f.maker or dec[f.oid] < k))]

    # funding at each settlement within the replay, with the position at that instant
    funding: list[tuple[int, float]] = []
    if scn.funding_ns and inst.is_perpetual:
        t_set = (first // scn.funding_ns + 1) * scn.funding_ns
        while t_set <= end:
            pos = sum(f.side * f.qty for f in done(t_set))
            rate = Timeline.last_at(ex.rates, t_set)
            mark = Timeline.last_at(ex.marks, t_set)
            if not (math.isfinite(mark) and mark > 0.0):
                mark = ex.mid_ticks_at(t_set) * px
            if pos != 0.0 and math.isfinite(rate) and math.isfinite(mark):
                funding.append((t_set, -pos * abs(value(inst, mark)) * rate))
            t_set += scn.funding_ns
    fund = sum(p for _, p in funding)
    pos_end = sum(f.side * f.qty for f in f_i)
    fees = sum(f.fee for f in f_i)
    cash = -sum(f.side * f.qty * value(inst, f.price) for f in f_i) - fees + fund
    v_end = value(inst, ex.mid_ticks_at(max(x.exch for x in scn.rows)) * px)
    total = cash + (pos_end * v_end if pos_end else 0.0)
    spread = sum(f.side * f.qty * (value(inst, f.mid) - value(inst, f.price)) for f in f_i)
    p: PnL = res.pnl[i]
    close(p.position, pos_end, "final position", 1e-9)
    close(p.fees, fees, "fees")
    close(p.volume, sum(notional), "volume")
    close(p.maker_qty, sum(f.qty for f in f_i if f.maker), "maker qty", 1e-9)
    close(p.taker_qty, sum(f.qty for f in f_i if not f.maker), "taker qty", 1e-9)
    close(p.funding, fund, f"funding (settlements {funding})")
    close(p.total, total, "total = cash + position * value(final exchange mid)")
    close(p.total, p.spread + p.inventory - p.fees + p.funding, "total = decomposition")
    close(p.spread, spread, "spread = sum side*qty*(value(fill mid) - value(price))")

    # the samples: true and known positions, local mid, equity
    stops: list[tuple[int, float]] = []  # (time, value marked) at each earlier sample
    for k, t in enumerate(res.t_ns.tolist()):
        d = sampled(k, t)
        true = sum(f.side * f.qty for f in d)
        known = sum(f.side * f.qty for f in d if f.local <= t)
        if abs(res.position[k, i] - true) > 1e-9:
            out.append(f"[inst {i}] sample {k} at {t}: position {res.position[k, i]} vs {true}")
        if abs(res.position_known[k, i] - known) > 1e-9:
            out.append(
                f"[inst {i}] sample {k} at {t}: known position {res.position_known[k, i]} "
                f"vs {known}"
            )
        top = lc.at(t)
        view, known_pos = r.strategy.views[k]
        iv = view.instruments[i]
        if known_pos[i] != res.position_known[k, i]:
            out.append(f"[inst {i}] decision {k}: account position {known_pos[i]} vs sample")
        want = (
            math.nan if top.bid is None else grid_price(inst, top.bid),
            math.nan if top.ask is None else grid_price(inst, top.ask),
            top.bid_qty,
            top.ask_qty,
            top.last_trade,
            top.mark,
            top.rate,
        )
        got_view = (
            iv.best_bid,
            iv.best_ask,
            iv.bid_qty,
            iv.ask_qty,
            iv.last_trade,
            iv.mark,
            iv.funding_rate,
        )
        if not same(got_view, want):
            out.append(f"[inst {i}] decision {k} at {t}: view {got_view} vs local book {want}")
        lm = lc.mid_ticks_at(t) * px
        got = res.mid[k, i]
        if not (math.isclose(got, lm, rel_tol=1e-12) or (math.isnan(got) and math.isnan(lm))):
            out.append(f"[inst {i}] sample {k} at {t}: local mid {got} vs {lm}")
        v = value(inst, ex.mid_ticks_at(t) * px)
        if math.isnan(v):  # a side is empty: the last value marked (at a fill or a stop)
            marks = [(f.exch, value(inst, f.mid)) for f in d]
            marks += [(t_j, v_j) for t_j, v_j in stops if t_j <= t and not math.isnan(v_j)]
            v = max(marks, key=lambda m: m[0])[1] if marks else math.nan
        stops.append((t, v))
        c = -sum(f.side * f.qty * value(inst, f.price) + f.fee for f in d)
        c += sum(p_ for ts, p_ in funding if ts <= t)
        eq = c + (true * v if true else 0.0)
        close(res.equity[k, i], eq, f"sample {k} at {t}: equity")
    return out


# -- reporting helpers -------------------------------------------------------------------------


def report(r: Run, problems: list[Any]) -> str:
    orders = "\n".join(f"  {rec}" for rec in r.log.orders.values())
    fills = "\n".join(f"  {f}" for f in fill_rows(r.result))
    rel = [(t - T0_NS) // UNIT_NS for t in r.strategy.decisions]
    return (
        f"{len(problems)} violation(s), first: {problems[:4]}\n{r.scn.describe()}\n"
        f"decisions (us since T0): {rel}\norders:\n{orders}\nfills:\n{fills}\n"
        f"pnl: {r.result.pnl}"
    )


def check(r: Run, categories: set[str]) -> None:
    problems = [msg for cat, msg in replay(r) if cat in categories]
    assert not problems, report(r, problems)


SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    """Compile (or load from numba's cache) the jitted kernel once, before the examples."""
    assert run(_fixed_scenario()).result.fills.size > 0


# -- the tests ---------------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_maker_fills_have_a_cause_and_taker_fills_respect_their_limit(scn: Scenario) -> None:
    """Invariant 1: every maker fill is at its order's price on a trade at/through it or a
    crossing book row at the same exchange time; taker fills happen at the order's arrival,
    within its limit, never for POST_ONLY orders (nor maker fills for IOC orders)."""
    check(run(scn), {"cause"})


@SETTINGS
@given(scenarios())
def test_an_order_never_fills_more_than_its_quantity(scn: Scenario) -> None:
    """Invariant 2: per order id, the sum of its fills is at most the requested quantity."""
    check(run(scn), {"qty"})


@SETTINGS
@given(scenarios())
def test_the_same_liquidity_never_fills_twice(scn: Scenario) -> None:
    """Invariant 3: maker fills on a trade sum to at most its quantity; on a crossing book row
    to at most the level's displayed size minus what we already took from it; taker fills at a
    level to at most what is displayed and not yet taken."""
    check(run(scn), {"budget"})


@SETTINGS
@given(scenarios())
def test_accounting_matches_the_fills(scn: Scenario) -> None:
    """Invariant 4: fees, volume, position, funding, spread and total recomputed from the fills
    and the events; ``total = spread + inventory - fees + funding``; the samples (true and
    known position, local mid, equity) agree with the fills and the events."""
    r = run(scn)
    problems = accounting(r)
    assert not problems, report(r, problems)


@SETTINGS
@given(scenarios())
def test_no_fill_before_its_order_arrives_or_after_its_cancel(scn: Scenario) -> None:
    """Invariant 5: a fill's exch_ns is never before send time + entry latency (maker fills
    strictly after it, taker fills exactly at it), never after the cancel's arrival, and it is
    reported at exch_ns + response latency."""
    check(run(scn), {"timing"})


@SETTINGS
@given(scenarios())
def test_fills_the_rules_require_do_happen(scn: Scenario) -> None:
    """Beyond the five invariants: takers walk every available level within their limit;
    POST_ONLY is rejected exactly when it would cross; trades through a resting order and book
    rows crossing it fill it (all or nothing without partial fills, never partly); a fill at the
    trade price is at most what the trade leaves after the quantity ahead (queue model)."""
    check(run(scn), {"completeness", "queue"})


@SETTINGS
@given(scenarios(kinds=TOUCH_AND_TRADES))
def test_queue_position_follows_the_documented_models(scn: Scenario) -> None:
    """Streams of size changes at the touch and trades only, so that our orders sit in queues
    that grow, shrink and trade: fills at the trade price are what the configured queue model
    (risk-averse, power or log, as documented) leaves after the quantity ahead, plus every
    other replay check."""
    check(run(scn), {"queue", "completeness", "budget", "cause", "timing", "qty"})


@SETTINGS
@given(scenarios())
def test_the_strategy_is_called_on_the_decision_interval(scn: Scenario) -> None:
    """run_backtest: the strategy is called every ``decision_interval_ns`` of local time, the
    first one interval after the first event, while data remains; one sample per decision."""
    r = run(scn)
    problems = [msg for cat, msg in decision_times(r) if cat == "interval"]
    assert not problems, report(r, problems)


@SETTINGS
@given(scenarios())
def test_decide_on_fill_calls_the_strategy_when_each_fill_is_reported(scn: Scenario) -> None:
    """run_backtest(decide_on_fill=True): "Also call the strategy at the local time each fill is
    reported", also when the report comes later than the next decision boundary (a response
    latency longer than the decision interval)."""
    r = run(scn)
    problems = [msg for cat, msg in decision_times(r) if cat == "fill_report"]
    assert not problems, report(r, problems)


@SETTINGS
@given(scenarios())
def test_sampled_quotes_are_our_resting_orders_and_targets(scn: Scenario) -> None:
    """BacktestResult ``bid``/``ask``: our best order resting at the exchange at each sample,
    before the decision's own new orders (nan when none); ``target_bid``/``target_ask``: the
    best price the strategy last asked for (nan when none)."""
    r = run(scn)
    problems = sampled_quotes(r)
    assert not problems, report(r, problems)


@settings(SETTINGS, max_examples=120)
@given(scenarios(n_instruments=2, max_ops=60))
def test_two_instruments_on_one_clock(scn: Scenario) -> None:
    """Every check above, with two instruments (linear and/or inverse, possibly the same
    contract twice) on one clock, each with its own feed delays."""
    r = run(scn)
    problems = [msg for _, msg in replay(r) + decision_times(r)]
    problems += accounting(r) + sampled_quotes(r)
    assert not problems, report(r, problems)


def assert_identical(a: BacktestResult, b: BacktestResult) -> None:
    arrays = ("t_ns", "mid", "position", "position_known", "equity", "bid", "ask")
    for name in (*arrays, "target_bid", "target_ask", "fills"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name
    for p, q in zip(a.pnl, b.pnl, strict=True):
        for fd in fields(PnL):
            u, v = getattr(p, fd.name), getattr(q, fd.name)
            assert np.float64(u).tobytes() == np.float64(v).tobytes(), fd.name
    for name in ("orders_sent", "cancels_sent", "rejections", "risk_events", "out_of_window"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.end_ns == b.end_ns


@settings(SETTINGS, max_examples=100)
@given(scenarios(n_instruments=2, max_ops=60))
def test_a_rerun_is_bit_identical(scn: Scenario) -> None:
    """Invariant 6a: the same inputs give the same result, every array bit for bit."""
    a, b = run(scn), run(scn)
    assert_identical(a.result, b.result)
    assert a.strategy.decisions == b.strategy.decisions
    assert a.log.orders == b.log.orders


@settings(SETTINGS, max_examples=60)
@given(scenarios(n_instruments=2, max_ops=40))
def test_the_python_twin_matches_numba(scn: Scenario) -> None:
    """Invariant 6b: backend="python" (the reference twin) gives the numba result bit for bit."""
    a, b = run(scn, "numba"), run(scn, "python")
    assert_identical(a.result, b.result)
    assert a.strategy.decisions == b.strategy.decisions
    assert a.log.orders == b.log.orders


@pytest.mark.slow
@settings(SETTINGS, max_examples=400)
@given(scenarios(n_instruments=2))
def test_the_python_twin_matches_numba_on_longer_streams(scn: Scenario) -> None:
    """Invariant 6b on more and longer two-instrument streams (about 15 s)."""
    a, b = run(scn, "numba"), run(scn, "python")
    assert_identical(a.result, b.result)
    assert a.strategy.decisions == b.strategy.decisions
    assert a.log.orders == b.log.orders


@pytest.mark.slow
@settings(SETTINGS, max_examples=2_000)
@given(st.one_of(scenarios(), scenarios(kinds=TOUCH_AND_TRADES), scenarios(n_instruments=2)))
def test_every_invariant_on_many_streams(scn: Scenario) -> None:
    """Every check above on ten times more examples (about 30 s)."""
    r = run(scn)
    problems = [msg for _, msg in replay(r) + decision_times(r)]
    problems += accounting(r) + sampled_quotes(r)
    assert not problems, report(r, problems)


def _fixed_scenario() -> Scenario:
    gen = _StreamGen(0, MARKETS[0], 0.5, T0_NS)
    gen.snapshot(0, 999, 1001, 3, 3, 1)
    ops = [(60, True, 0, 3, 2, 1), (10, False, 2, 2, 1, 0), (60, False, 2, 4, 3, 2)] * 6
    ops += [(82, True, 1, 0, 1, 1), (88, True, 2, 0, 1, 0), (93, True, 1, 5, 2, 1)]
    ops += [(60, True, 0, 3, 2, 1), (10, True, 3, 2, 1, 0), (60, False, 0, 4, 3, 2)] * 4
    for op in ops:
        gen.op(*op)
    acts = (
        (0, 2, 2, 1, 1, 2, 3, False, 0, 2, 1),
        (7, 1, 1, 0, 0, 1, 1, True, 9, 1, 0),
        (0, 1, 1, 3, -1, 2, 1, True, 1, -3, -3),
        (0, 1, 2, -1, 3, 4, 2, False, 9, 1, 0),
    )
    return Scenario(
        MARKETS[:1], (0.5,), tuple(gen.rows), (acts,), 2 * UNIT_NS, 1 * UNIT_NS,
        RiskAverseQueue(), True, Fees(-0.00025, 0.0005), 3 * UNIT_NS, True, 7 * UNIT_NS,
    )  # fmt: skip


# -- the documented queue estimators on hand-built streams -------------------------------------


class Scripted:
    """Returns ``script[k]`` at its k-th decision (nothing afterwards); records its fills."""

    def __init__(self, script: list[Decision]) -> None:
        self.script = script
        self.k = 0
        self.fills: list[Fill] = []

    def on_start(self, ctx: Context) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        self.k += 1
        return self.script[self.k - 1] if self.k <= len(self.script) else Decision()

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)


def _hand_stream(rows: list[tuple[int, int, int, float, float]]) -> np.ndarray:
    """``(t_us, kind, side, price, qty)`` rows, exch = local = T0 + t µs."""
    t = np.array([T0_NS + r[0] * UNIT_NS for r in rows], np.int64)
    return events_from_columns(
        exch_ns=t,
        local_ns=t,
        kind=[r[1] for r in rows],
        side=[r[2] for r in rows],
        price=[r[3] for r in rows],
        qty=[r[4] for r in rows],
    )


_BOOK = [
    (0, CLEAR, 0, 0.0, 0.0),
    (1, SNAPSHOT, 1, 99.9, 2.0),
    (1, SNAPSHOT, 1, 99.8, 5.0),
    (1, SNAPSHOT, -1, 100.1, 3.0),
    (1, SNAPSHOT, -1, 100.2, 5.0),
]
# Our bid of 2.0 at 99.9 is decided at 5 µs and arrives at 6 µs behind the 2.0 displayed there.
_GROW_SHRINK = [(7, DEPTH, 1, 99.9, 6.0), (8, DEPTH, 1, 99.9, 4.0), (9, TRADE, -1, 99.9, 2.5)]
_SHRINK_BELOW = [(7, DEPTH, 1, 99.9, 1.0), (8, TRADE, -1, 99.9, 1.5)]
_TRADED_NET = [
    (7, TRADE, -1, 99.9, 1.0),
    (8, DEPTH, 1, 99.9, 1.0),
    (9, DEPTH, 1, 99.9, 3.0),
    (10, DEPTH, 1, 99.9, 2.0),
    (11, TRADE, -1, 99.9, 1.0),
]


def _share(front: float, back: float, queue: RiskAverseQueue | ProbQueue) -> float:
    """The documented share of a decrease taken from behind us: f(back) / (f(back) + f(front))."""
    if isinstance(queue, RiskAverseQueue):
        return 1.0
    if queue.function == "log":
        return math.log1p(back) / (math.log1p(back) + math.log1p(front))
    return back**queue.power / (back**queue.power + front**queue.power)


def _expected_fill(stream: str, queue: RiskAverseQueue | ProbQueue) -> float:
    """Worked by hand from the kernel docstring's rules (quantity ahead after each row)."""
    if stream == "grow_shrink":  # 2 ahead, 4 join behind, 2 leave: p of them from behind
        front = 2.0 - 2.0 * (1.0 - _share(2.0, 4.0, queue))
        return max(0.0, 2.5 - front)
    if stream == "shrink_below":  # the level falls to 1 < 2 ahead: front = min(front, new)
        return 1.5 - 1.0
    # traded_net: a trade of 1 eats 1 ahead (front 1); the level's 2 -> 1 is that trade (no
    # cancel); the level grows to 3 (2 behind) and falls to 2: p of that 1 from behind
    front = 1.0 - 1.0 * (1.0 - _share(1.0, 2.0, queue))
    return max(0.0, 1.0 - front)


@pytest.mark.parametrize("queue", _QUEUES, ids=repr)
@pytest.mark.parametrize(
    ("stream", "rows"),
    [("grow_shrink", _GROW_SHRINK), ("shrink_below", _SHRINK_BELOW), ("traded_net", _TRADED_NET)],
)
def test_queue_models_follow_the_documented_estimators(
    queue: RiskAverseQueue | ProbQueue, stream: str, rows: list[tuple[int, int, int, float, float]]
) -> None:
    """A bid resting behind 2.0 at its level; depth and trade rows at that level only."""
    bid = QuoteTarget(0, (QuoteLevel(99.9, 2.0),), (), post_only=True)
    strategy = Scripted([Decision((bid,))])
    result = run_backtest(
        events=_hand_stream(_BOOK + rows),
        instruments=[LINEAR_PERP],
        strategy=strategy,
        latency=ConstantLatency(entry_ns=UNIT_NS, response_ns=UNIT_NS),
        queue=queue,
        decision_interval_ns=5 * UNIT_NS,
        funding_interval_ns=0,
    )
    got = float(result.fills["qty"].sum())
    np.testing.assert_allclose(got, _expected_fill(stream, queue), rtol=0, atol=1e-12)
    assert result.fills["maker"].all()
    assert (result.fills["exch_ns"] == T0_NS + rows[-1][0] * UNIT_NS).all()


# -- orders sent together ----------------------------------------------------------------------


def test_orders_sent_together_reach_the_exchange_in_the_order_sent() -> None:
    """Two IOC buys sent in one decision for the one lot offered at 100.1: the first sent gets it.

    Both arrive at the same instant. Order-table slots are reused last-freed-first, so after two
    orders were freed (decision 1) the next two sit in reverse slot order (decision 2); the
    exchange must still match them in the order they were sent.
    """

    def ioc(limit: float) -> HedgeIntent:
        return HedgeIntent(0, 1.0, limit)

    strategy = Scripted(
        [Decision(hedges=(ioc(99.0), ioc(99.0))), Decision(hedges=(ioc(100.1), ioc(100.1)))]
    )
    book = [(0, CLEAR, 0, 0.0, 0.0), (1, SNAPSHOT, 1, 99.9, 2.0), (1, SNAPSHOT, -1, 100.1, 1.0)]
    result = run_backtest(
        events=_hand_stream([*book, (30, DEPTH, 1, 99.9, 2.0)]),
        instruments=[LINEAR_PERP],
        strategy=strategy,
        latency=ConstantLatency(entry_ns=UNIT_NS, response_ns=UNIT_NS),
        decision_interval_ns=5 * UNIT_NS,
        funding_interval_ns=0,
    )
    fills = [(f.order_id, f.price, f.qty) for f in strategy.fills]
    assert fills == [(3, 100.1, 1.0)]  # ids 1 and 2 expire unfilled at decision 1
    assert result.fills["order_id"].tolist() == [3]


# -- the checks themselves can fail ------------------------------------------------------------


def _tamper(r: Run, pick: Callable[[FillRow, Row | None], bool], **edit: float) -> Run:
    """``r`` with the first fill matching ``pick(fill, row at its exch_ns)`` changed by ``edit``
    (field -> amount added)."""
    rows = {x.exch: x for x in r.scn.rows}
    k = next(j for j, f in enumerate(fill_rows(r.result)) if pick(f, rows.get(f.exch)))
    fills = r.result.fills.copy()
    for name, delta in edit.items():
        fills[name][k] += delta
    return Run(r.scn, replace(r.result, fills=fills), r.log, r.strategy)


def _on_trade(f: FillRow, row: Row | None) -> bool:
    return f.maker and row is not None and row.kind == TRADE


def _taker(f: FillRow, row: Row | None) -> bool:
    return not f.maker


@pytest.mark.parametrize(
    ("pick", "edit", "category"),
    [
        (_on_trade, {"exch_ns": 1, "local_ns": 1}, "cause"),  # no row at that instant
        (_taker, {"price": 0.5}, "cause"),  # a buy above its limit
        (_on_trade, {"qty": 10.0}, "budget"),  # more than the trade
        (_taker, {"qty": 2.0}, "qty"),  # more than the order's 1.0
        (_taker, {"exch_ns": UNIT_NS, "local_ns": UNIT_NS}, "timing"),  # after its arrival
        (_on_trade, {"local_ns": 1}, "timing"),  # not reported after the response latency
        (_taker, {"fee": 1e-6}, "accounting"),
        (_on_trade, {"mid": 0.1}, "accounting"),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_the_checks_catch_a_tampered_result(
    pick: Callable[[FillRow, Row | None], bool], edit: dict[str, float], category: str
) -> None:
    """Each check is able to fail: one fill of a clean run is altered and must be caught."""
    clean = run(_fixed_scenario())
    assert not replay(clean) and not accounting(clean)
    bad = _tamper(clean, pick, **edit)
    found = {c for c, _ in replay(bad)} | ({"accounting"} if accounting(bad) else set())
    assert category in found, found


def test_a_rejected_quote_is_a_target_but_not_a_resting_order() -> None:
    """``BacktestResult.ask``: our best order resting at the exchange; ``target_ask``: the best
    price the strategy last asked for.

    A POST_ONLY ask at 99.9 crosses the 99.9 bid and is rejected on arrival (6 µs): from then
    on we have no ask in the book, though the strategy's target stays 99.9.
    """
    ask = QuoteTarget(0, (), (QuoteLevel(99.9, 1.0),), post_only=True)
    strategy = Scripted([Decision((ask,))])
    rows = [*_BOOK, (40, DEPTH, 1, 99.8, 5.0)]
    result = run_backtest(
        events=_hand_stream(rows),
        instruments=[LINEAR_PERP],
        strategy=strategy,
        latency=ConstantLatency(entry_ns=UNIT_NS, response_ns=UNIT_NS),
        decision_interval_ns=5 * UNIT_NS,
        funding_interval_ns=0,
    )
    assert result.fills.size == 0 and result.orders_sent == 1
    assert np.isnan(result.ask[:, 0]).all(), result.ask[:, 0]
    assert (result.target_ask[:, 0] == 99.9).all(), result.target_ask[:, 0]
