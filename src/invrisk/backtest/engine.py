"""The event-driven backtest engine: numba replay between decisions, Python strategy at them.

:func:`run_backtest` replays an event array (one or more instruments on one clock) through the
exchange-simulation kernel (``_sim_kernels_python.py``, rules in ``backtest/__init__.py``) and
calls a plain-Python :class:`~invrisk.strategy.Strategy` every ``decision_interval_ns`` of local
time (and, optionally, when a fill is reported). Between decisions everything runs in numba.
At a decision the engine:

1. delivers the exchange's responses whose local time has come, in order, to the
   :class:`~invrisk.order_manager.OrderManager` (acks, rejects, fills, cancels) and each fill
   to ``strategy.on_fill``;
2. builds a :class:`~invrisk.strategy.MarketView` from the *local* book and an
   :class:`~invrisk.strategy.AccountView` from the fills *reported so far*;
3. calls ``strategy.decide``; reconciles each :class:`~invrisk.strategy.QuoteTarget` into
   cancels, amends (``amend_orders=True``) and new orders, turns hedge intents into IOC
   orders, passes every new order and amend through the
   :class:`~invrisk.risk.limits.RiskGuard`, and sends what passes: it reaches the exchange
   after the entry latency (an amend the RiskGuard refuses is replaced by a cancel of its
   order: the old terms are not left resting);
4. records a sample (time, mids, positions, equity, our best quotes).

The same order manager and RiskGuard run in the live runtime; only this loop and the kernel are
backtest-specific. Runs are deterministic: the same inputs give the same result bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from invrisk._typing import Float64Array, Int64Array
from invrisk.backtest import _scan_kernels_python as _scan
from invrisk.backtest import _sim_kernels as _jit
from invrisk.backtest import _sim_kernels_python as _k
from invrisk.backtest._records import OrderLog, Recorder
from invrisk.backtest.models import ConstantLatency, Fees, LatencyModel, QueueModel, RiskAverseQueue
from invrisk.backtest.results import BacktestResult, build_result
from invrisk.data.events import (
    CHUNK_ROWS,
    EVENT_DTYPE,
    EventArray,
    iter_chunks,
    release_rows,
)
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument
from invrisk.market.book import book_range, book_window
from invrisk.order_manager import AmendOrder, CancelOrder, NewOrder, OrderManager, OrderStatus
from invrisk.risk.limits import RiskGuard, TradingState
from invrisk.strategy import (
    AccountView,
    Context,
    Fill,
    InstrumentView,
    MarketView,
    Strategy,
)

if TYPE_CHECKING:  # imported when a run has portfolio limits: it loads pydantic (~50 ms)
    from invrisk.risk.delta_limits import DeltaOneLimits

__all__ = ["run_backtest"]

NS_PER_MS = 1_000_000
NO_FEES = Fees()
DEFAULT_LATENCY = ConstantLatency(entry_ns=10 * NS_PER_MS, response_ns=10 * NS_PER_MS)
DEFAULT_QUEUE = RiskAverseQueue()
_MAX = _k.INT64_MAX
_Response = tuple[int, int, int, int, int, int, int, float, float, float, float]
"""(local_ns, sequence, kind, order_id, code, exch_ns, maker, price, qty, fee, mid)."""
RELEASE_LAG_ROWS = 1 << 18
"""Rows (18 MB of ``EVENT_DTYPE``) a memory-mapped stream keeps resident behind the replay."""
_PENDING_NEW, _OPEN, _FILLED, _CANCELLED, _REJECTED = (
    int(OrderStatus.PENDING_NEW),
    int(OrderStatus.OPEN),
    int(OrderStatus.FILLED),
    int(OrderStatus.CANCELLED),
    int(OrderStatus.REJECTED),
)
_REJECT_TEXT = {
    _k.REJ_POST_ONLY_CROSS: "post_only_would_cross",
    _k.REJ_OUT_OF_WINDOW: "price_outside_book_window",
    _k.REJ_UNKNOWN_ORDER: "unknown_order",
    _k.REJ_ALREADY_DONE: "already_done",
    _k.REJ_AMEND_QTY: "amend_qty_not_above_filled",
}


@dataclass(slots=True)
class _Books:
    """Flat per-instrument book arrays (exchange and local views) and their windows."""

    lo_tick: Int64Array
    offs: Int64Array
    ex_bid: Float64Array
    ex_ask: Float64Array
    tk_bid: Float64Array
    tk_ask: Float64Array
    ex_bst: Int64Array
    lc_bid: Float64Array
    lc_ask: Float64Array
    lc_bst: Int64Array
    lc_info: Float64Array


def _windows(
    events: EventArray,
    instruments: Sequence[Instrument],
    scan: _Scan,
    margin_ticks: int,
    max_ticks: int,
) -> _Books:
    n = len(instruments)
    lo = np.zeros(n, dtype=np.int64)
    widths = np.zeros(n, dtype=np.int64)
    for i, inst in enumerate(instruments):
        if scan.n_rows[i] == 0:
            raise InvalidArgumentError(
                "events", f"no rows for instrument {i} ({inst.name})", "rows"
            )
        # the scan's priced tick range; book_range's own pass only for a range too wide
        # (its window is then centred on the median price), or to report a bad one
        lo_t, hi_t = float(scan.lo_tick[i]), float(scan.hi_tick[i])
        w = None
        if lo_t <= hi_t:
            w = book_window(lo_t, hi_t, margin_ticks=margin_ticks, max_ticks=max_ticks)
        if w is None:
            sub = events if n == 1 else events[events["instrument"] == i]
            w = book_range(sub, inst.tick_size, margin_ticks=margin_ticks, max_ticks=max_ticks)
        lo[i], widths[i] = w.lo_tick, w.n_ticks
    offs = np.zeros(n + 1, dtype=np.int64)
    offs[1:] = np.cumsum(widths)
    total = int(offs[-1])
    bst = np.empty((n, 4), dtype=np.int64)
    bst[:, _k.B_BEST_BID] = -1
    bst[:, _k.B_BEST_ASK] = widths
    bst[:, _k.B_N_BID] = 0
    bst[:, _k.B_N_ASK] = 0
    return _Books(
        lo_tick=lo,
        offs=offs,
        ex_bid=np.zeros(total),
        ex_ask=np.zeros(total),
        tk_bid=np.zeros(total),
        tk_ask=np.zeros(total),
        ex_bst=bst.copy(),
        lc_bid=np.zeros(total),
        lc_ask=np.zeros(total),
        lc_bst=bst.copy(),
        lc_info=np.full((n, _k.L_N), np.nan),
    )


def _instrument_table(instruments: Sequence[Instrument], fees: Sequence[Fees]) -> Float64Array:
    tab = np.zeros((len(instruments), _k.I_N))
    for i, (inst, fee) in enumerate(zip(instruments, fees, strict=True)):
        tab[i, _k.I_TICK] = inst.tick_size
        tab[i, _k.I_CONTRACT] = inst.contract_size
        tab[i, _k.I_INVERSE] = 1.0 if inst.is_inverse else 0.0
        tab[i, _k.I_MAKER_FEE] = fee.maker
        tab[i, _k.I_TAKER_FEE] = fee.taker
        tab[i, _k.I_PERPETUAL] = 1.0 if inst.is_perpetual else 0.0
        inv = 1.0 / inst.tick_size
        tab[i, _k.I_INV_TICK] = float(round(inv)) if abs(inv - round(inv)) <= 1e-9 * inv else 0.0
    return tab


@dataclass(frozen=True, slots=True)
class _Scan:
    """What one chunked pass over the stream found (see :func:`_check_events`)."""

    exch_sorted: bool
    first_exch_ns: int
    n_rows: Int64Array
    """Rows per instrument."""
    lo_tick: Float64Array
    """Lowest priced tick per instrument (+inf: no priced row)."""
    hi_tick: Float64Array
    """Highest priced tick per instrument (-inf: no priced row)."""


def _check_events(
    events: EventArray,
    instruments: Sequence[Instrument],
    backend: str = "numba",
    chunk: int = CHUNK_ROWS,
) -> _Scan:
    """Validate the stream in one compiled pass over chunks (a memory-mapped file's pages
    released as it goes): rows sorted by ``local_ns``, instrument indices in range; note
    whether the rows are also in exchange-time order, the first exchange time, and each
    instrument's rows and priced tick range (for the book windows)."""
    if not isinstance(events, np.ndarray) or events.ndim != 1 or events.dtype != EVENT_DTYPE:
        what = (
            f"an array of dtype {events.dtype} with shape {events.shape}"
            if isinstance(events, np.ndarray)
            else type(events).__name__
        )
        raise InvalidArgumentError("events", what, "a 1-D EVENT_DTYPE array")
    if events.size == 0:
        raise InvalidArgumentError("events", "an empty array", "at least one event")
    n_inst = len(instruments)
    ticks = np.array([i.tick_size for i in instruments], dtype=np.float64)
    lo_tick = np.full(n_inst, np.inf)
    hi_tick = np.full(n_inst, -np.inf)
    n_rows = np.zeros(n_inst, dtype=np.int64)
    sc = _scan.new_scan_state()
    scan_rows = _jit.scan_rows if backend == "numba" else _scan.scan_rows
    for lo, part in iter_chunks(events, chunk):
        scan_rows(
            part["local_ns"],
            part["exch_ns"],
            part["kind"],
            part["price"],
            part["instrument"],
            ticks,
            lo_tick,
            hi_tick,
            n_rows,
            sc,
            lo,
        )
        status, row = int(sc[_scan.SC_STATUS]), int(sc[_scan.SC_ROW])
        if status == _scan.SCAN_LOCAL_DECREASES:
            raise InvalidArgumentError(
                "events", f"local_ns decreases at row {row}", "rows sorted by local_ns"
            )
        if status == _scan.SCAN_BAD_INSTRUMENT:
            raise InvalidArgumentError(
                "events",
                f"instrument {int(events['instrument'][row])} at row {row}",
                f"indices 0..{n_inst - 1}",
            )
    return _Scan(
        exch_sorted=bool(sc[_scan.SC_EXCH_SORTED]),
        first_exch_ns=int(sc[_scan.SC_FIRST_EXCH]),
        n_rows=n_rows,
        lo_tick=lo_tick,
        hi_tick=hi_tick,
    )


@dataclass(slots=True)
class _Known:
    """What the strategy has been told: positions and cash from the fills reported so far
    (and, with portfolio limits, the positions and entries they are checked on)."""

    position: list[float]  # per instrument (Python floats: read at every decision)
    cash: list[float]
    delta_limits: DeltaOneLimits | None = None
    # the limit values at the decision whose view is values_view (None: not computed since the
    # last fill); every order of a decision is checked against the same values
    values: dict[str, float] | None = None
    values_view: MarketView | None = None

    def limits_for(
        self, instrument: int, side: int, qty: float, price: float, view: MarketView
    ) -> tuple[dict[str, float] | None, dict[str, float] | None]:
        """``limit_values`` and ``limit_impact`` for the RiskGuard (None, None without
        portfolio limits)."""
        dl = self.delta_limits
        if dl is None:
            return None, None
        mids = [iv.mid for iv in view.instruments]
        impact = dl.impact(
            instrument=instrument, side=side, qty=qty, price=price, mid=mids[instrument]
        )
        if self.values_view is not view:
            self.values, self.values_view = dl.values(mids), view
        return self.values, impact

    def book_fill(self, instrument: int, side: int, qty: float, price: float) -> None:
        """A fill reported to the strategy: position, and the portfolio-limit book."""
        self.position[instrument] += side * qty
        if self.delta_limits is not None:
            self.delta_limits.on_fill(instrument=instrument, side=side, qty=qty, price=price)
            self.values_view = None


class _Run:
    """The state of one backtest run (arrays shared with the kernel, Python bookkeeping)."""

    def __init__(
        self,
        *,
        events: EventArray,
        scan: _Scan,
        instruments: Sequence[Instrument],
        fees: Sequence[Fees],
        latency: LatencyModel,
        queue: QueueModel,
        partial_fills: bool,
        funding_interval_ns: int,
        margin_ticks: int,
        max_ticks: int,
        backend: str,
        order_capacity: int,
        response_capacity: int,
    ) -> None:
        self.events = events
        self.instruments = tuple(instruments)
        n_inst = len(instruments)
        self.books = _windows(events, instruments, scan, margin_ticks, max_ticks)
        self.itab = _instrument_table(instruments, fees)
        self.lat_t, self.lat_entry, self.lat_resp = latency.arrays()
        self.queue_code, self.queue_power = queue.code()
        self.partial = 1 if partial_fills else 0
        # exchange-time order of the rows; empty when it is the local order (no 40 MB copy)
        self.perm = (
            np.empty(0, dtype=np.int64)
            if scan.exch_sorted
            else np.argsort(events["exch_ns"], kind="stable").astype(np.int64)
        )
        # rows both cursors have passed, by more than a lag, have their pages released (a
        # memory-mapped stream only, and only when rows are in exchange-time order)
        self.released = 0
        self.cols = (
            events["exch_ns"],
            events["local_ns"],
            events["kind"],
            events["side"],
            events["price"],
            events["qty"],
            events["instrument"],
        )
        self.o_i = np.zeros((order_capacity, _k.OI_N), dtype=np.int64)
        self.o_f = np.zeros((order_capacity, _k.OF_N))
        self.active = np.zeros(order_capacity, dtype=np.int64)
        self.r_i = np.zeros((response_capacity, _k.RI_N), dtype=np.int64)
        self.r_f = np.zeros((response_capacity, _k.RF_N))
        self.top = np.full((n_inst, _k.T_N), np.nan)
        self.acc = np.zeros((n_inst, _k.A_N))
        self.acc[:, _k.A_LAST_VALUE] = np.nan
        self.acc[:, _k.A_MARK] = np.nan
        self.acc[:, _k.A_FUND_RATE] = np.nan
        self.state = np.zeros(_k.N_STATE, dtype=np.int64)
        self.state[_k.S_NEXT_ARRIVAL] = _MAX
        first_ex = scan.first_exch_ns
        if funding_interval_ns > 0:
            self.state[_k.S_FUNDING_INTERVAL] = funding_interval_ns
            self.state[_k.S_NEXT_FUNDING] = (
                first_ex // funding_interval_ns + 1
            ) * funding_interval_ns
        else:
            self.state[_k.S_NEXT_FUNDING] = _MAX
        self.kernel: Callable[..., int] = _jit.run_kernel if backend == "numba" else _k.run_kernel
        self.slot_of: dict[int, int] = {}
        self.n_amends = 0  # amends sent (their sending order at the exchange)
        # the amend log: one row per amend sent or refused by the RiskGuard, [order id,
        # sent_ns, price, qty, status (0 in flight, 1 applied, 2 rejected), done_ns, reason]
        self.alog: list[list[object]] = []
        self.amend_row: dict[int, list[object]] = {}  # order id -> its amend in flight
        self.free_slots = list(range(order_capacity - 1, -1, -1))
        self.terminal_delivered: set[int] = set()
        self.cancelling: set[int] = set()
        self.n_taken = 0
        self.tick_sizes = [i.tick_size for i in instruments]
        self.contract = [i.contract_size for i in instruments]
        self.inverse = [i.is_inverse for i in instruments]
        self.const_entry = int(self.lat_entry[0])
        self.olog = OrderLog()  # updated as responses are delivered

    # --- kernel --------------------------------------------------------------------------------

    def advance(self, stop_ns: int, stop_on_fill: bool) -> int:
        b = self.books
        return int(
            self.kernel(
                *self.cols,
                self.perm,
                self.itab,
                b.lo_tick,
                b.offs,
                b.ex_bid,
                b.ex_ask,
                b.tk_bid,
                b.tk_ask,
                b.ex_bst,
                b.lc_bid,
                b.lc_ask,
                b.lc_bst,
                b.lc_info,
                self.top,
                self.o_i,
                self.o_f,
                self.active,
                self.r_i,
                self.r_f,
                self.acc,
                self.state,
                self.lat_t,
                self.lat_resp,
                self.queue_code,
                self.queue_power,
                self.partial,
                stop_ns,
                1 if stop_on_fill else 0,
            )
        )

    def take_responses(self) -> list[_Response]:
        n = int(self.state[_k.S_N_RESP])
        ri, rf = self.r_i[:n], self.r_f[:n]
        base = self.n_taken
        self.n_taken += n
        cols_i = ri.T.tolist()
        cols_f = rf.T.tolist()
        out: list[_Response] = list(
            zip(
                cols_i[_k.RI_LOCAL],
                range(base, base + n),
                cols_i[_k.RI_KIND],
                cols_i[_k.RI_ID],
                cols_i[_k.RI_CODE],
                cols_i[_k.RI_EXCH],
                cols_i[_k.RI_MAKER],
                cols_f[_k.RF_PRICE],
                cols_f[_k.RF_QTY],
                cols_f[_k.RF_FEE],
                cols_f[_k.RF_MID],
                strict=True,
            )
        )
        self.state[_k.S_N_RESP] = 0
        return out

    def release_passed(self) -> None:
        """Release the pages of rows both cursors passed more than ``RELEASE_LAG_ROWS`` ago.

        A no-op unless the stream is a read-only memory map (:func:`release_rows`). The lag
        keeps the rows of recent decisions resident: a strategy may still read the event
        views it was given (reading released rows is correct, it only faults them back in).
        """
        if self.perm.size:
            return
        lag = RELEASE_LAG_ROWS
        low = min(int(self.state[_k.S_LOCAL_I]), int(self.state[_k.S_EXCH_J])) - lag
        if low - self.released >= lag:
            release_rows(self.events, self.released, low)
            self.released = low

    # --- orders --------------------------------------------------------------------------------

    def entry_latency(self, t_ns: int) -> int:
        if self.lat_t.size == 1:
            return self.const_entry
        return int(_k.latency_at(t_ns, self.lat_t, self.lat_entry))

    def send_new(self, order: NewOrder, now_ns: int) -> None:
        if not self.free_slots:
            self._grow()
        k = self.free_slots.pop()
        arrive = now_ns + self.entry_latency(now_ns)
        tick = math.floor(order.price / self.tick_sizes[order.instrument] + 0.5)
        self.o_i[k] = (
            order.order_id,
            order.instrument,
            order.side,
            tick,
            _k.O_PENDING,
            int(order.tif),
            arrive,
            _MAX,
            0,
            _MAX,
            0,
            0,
        )
        self.o_f[k] = (order.price, order.qty, 0.0, 0.0, 0.0, math.nan, math.nan)
        self.slot_of[order.order_id] = k
        if arrive < self.state[_k.S_NEXT_ARRIVAL]:
            self.state[_k.S_NEXT_ARRIVAL] = arrive

    def send_cancel(self, cancel: CancelOrder, now_ns: int) -> None:
        k = self.slot_of[cancel.order_id]
        arrive = now_ns + self.entry_latency(now_ns)
        if self.o_i[k, _k.OI_CANCEL] == _MAX:
            self.o_i[k, _k.OI_CANCEL] = arrive
            self.cancelling.add(cancel.order_id)
            if arrive < self.state[_k.S_NEXT_ARRIVAL]:
                self.state[_k.S_NEXT_ARRIVAL] = arrive

    def send_amend(self, amend: AmendOrder, now_ns: int) -> None:
        """Send an amend of a live order; it reaches the exchange after the entry latency."""
        k = self.slot_of.get(amend.order_id)
        if k is None or self.o_i[k, _k.OI_AMEND] != _MAX:
            raise InvalidArgumentError(
                "amend", amend.order_id, "a live order without an amend in flight"
            )
        arrive = now_ns + self.entry_latency(now_ns)
        self.n_amends += 1
        self.o_i[k, _k.OI_AMEND] = arrive
        self.o_i[k, _k.OI_AMEND_TICK] = math.floor(
            amend.price / self.tick_sizes[amend.instrument] + 0.5
        )
        self.o_i[k, _k.OI_AMEND_SEQ] = self.n_amends
        self.o_f[k, _k.OF_AMEND_PRICE] = amend.price
        self.o_f[k, _k.OF_AMEND_QTY] = amend.qty
        if arrive < self.state[_k.S_NEXT_ARRIVAL]:
            self.state[_k.S_NEXT_ARRIVAL] = arrive

    def release(self, order_id: int) -> None:
        """Free the slot of a terminal order, or mark it to be freed when its cancel (or
        amend) is back.

        A slot is reused only when the kernel is done with it (status done) and no cancel or
        amend of it is still travelling to the exchange (the kernel would apply it to the
        new order).
        """
        k = self.slot_of.get(order_id)
        if k is None:
            return
        cancel_travelling = order_id in self.cancelling and self.o_i[k, _k.OI_CANCEL] != _MAX
        if cancel_travelling or (self.n_amends and self.o_i[k, _k.OI_AMEND] != _MAX):
            self.terminal_delivered.add(order_id)
            return
        self.cancelling.discard(order_id)
        self.o_i[k, _k.OI_STATUS] = _k.O_FREE
        del self.slot_of[order_id]
        self.free_slots.append(k)

    def cancel_answered(self, order_id: int) -> None:
        """A cancel response arrived: free the slot if the order was waiting for it."""
        self.cancelling.discard(order_id)
        if order_id in self.terminal_delivered:
            self.terminal_delivered.discard(order_id)
            self.release(order_id)

    def amend_answered(self, order_id: int) -> None:
        """An amend response arrived: free the slot if the order was waiting for it."""
        if order_id in self.terminal_delivered:
            self.terminal_delivered.discard(order_id)
            self.release(order_id)

    def _grow(self) -> None:
        n = self.o_i.shape[0]
        self.o_i = np.concatenate([self.o_i, np.zeros_like(self.o_i)])
        self.o_f = np.concatenate([self.o_f, np.zeros_like(self.o_f)])
        active = np.zeros(2 * n, dtype=np.int64)
        active[:n] = self.active
        self.active = active
        self.free_slots.extend(range(2 * n - 1, n - 1, -1))
        # the response buffer must hold the worst case of one kernel step (3 per slot)
        r_i = np.zeros((self.r_i.shape[0] + 6 * n, _k.RI_N), dtype=np.int64)
        r_f = np.zeros((r_i.shape[0], _k.RF_N))
        used = int(self.state[_k.S_N_RESP])
        r_i[:used] = self.r_i[:used]
        r_f[:used] = self.r_f[:used]
        self.r_i, self.r_f = r_i, r_f


def run_backtest(
    *,
    events: EventArray,
    instruments: Sequence[Instrument],
    strategy: Strategy,
    fees: Fees | Sequence[Fees] = NO_FEES,
    latency: LatencyModel = DEFAULT_LATENCY,
    queue: QueueModel = DEFAULT_QUEUE,
    partial_fills: bool = True,
    decision_interval_ns: int = 100 * NS_PER_MS,
    decision_phase_ns: int | None = None,
    decide_on_fill: bool = False,
    funding_interval_ns: int = 8 * 3600 * 1_000_000_000,
    guard: RiskGuard | None = None,
    price_tolerance_ticks: int = 0,
    qty_tolerance: float = 0.0,
    amend_orders: bool = False,
    seed: int = 0,
    margin_ticks: int = 2_000,
    max_ticks: int = 2_000_000,
    backend: str = "numba",
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Replay ``events`` and trade ``strategy`` against the simulated exchange.

    Parameters
    ----------
    events
        :data:`~invrisk.data.events.EVENT_DTYPE` rows sorted by ``local_ns``; ``instrument``
        indexes ``instruments``.
    instruments
        The instruments of the stream (tick size, contract size, linear or inverse, perpetual).
    strategy
        Any object implementing :class:`~invrisk.strategy.Strategy`.
    fees
        One :class:`~invrisk.backtest.models.Fees` for every instrument, or one per instrument.
    latency, queue, partial_fills
        Exchange-simulation models (:mod:`invrisk.backtest.models`); ``partial_fills=False``
        fills a resting order completely or not at all.
    decision_interval_ns
        Local time between strategy decisions (> 0); the first is one interval after the
        first event.
    decision_phase_ns
        If given (``0 <= phase < decision_interval_ns``), decisions fall instead at the local
        times ``t`` with ``t % decision_interval_ns == phase`` (a timer aligned to the clock,
        as a live bot's), the first after the first event. Results can depend on it: a
        market that updates on a fixed grid of its own (e.g. a venue's 100 ms book
        snapshots) is seen just before or just after each update depending on the phase;
        running a few phases shows how much.
    decide_on_fill
        Also call the strategy at the local time each fill is reported.
    funding_interval_ns
        Perpetual funding settles at multiples of this since the epoch (8 h: 00:00, 08:00,
        16:00 UTC) with the last FUNDING rate and MARK price seen at the exchange; 0 disables.
    guard
        Pre-trade RiskGuard; ``None`` accepts every order. Its equity triggers see the sum of
        the instruments' equities, so they must share one settlement currency. Its portfolio
        limits (``portfolio_limits``, delta metrics: :mod:`invrisk.risk.delta_limits`) are
        checked on the positions and entries of the fills reported so far.
    price_tolerance_ticks, qty_tolerance
        Order-manager tolerances: a resting order within this many ticks of the target price,
        and whose leaves are within this fraction of the target size, stays (a partly filled
        order keeps its queue priority when ``qty_tolerance`` allows it).
    amend_orders
        Move resting quotes to new levels with an amend (one message, the order keeps its id;
        a size decrease at the same price keeps its queue position) instead of a cancel and a
        new order (default False: cancel and replace). See the order manager's "Amend mode"
        and the exchange rules for amends in ``backtest/_sim_kernels_python.py``; amends are
        logged in :attr:`BacktestResult.amends`.
    seed
        Passed to the strategy in its :class:`~invrisk.strategy.Context`.
    margin_ticks, max_ticks
        Book window per instrument (see :func:`invrisk.market.book.book_range`); our orders
        priced outside it are rejected (``price_outside_book_window``).
    backend
        ``"numba"`` (default) or ``"python"`` (the reference twin; slow, for tests).
    progress
        Called as ``progress(rows_done, rows_total)`` after each decision, if given.
    """
    n_inst = len(instruments)
    if n_inst == 0:
        raise InvalidArgumentError("instruments", "an empty list", "at least one instrument")
    if backend not in ("numba", "python"):
        raise InvalidArgumentError("backend", backend, "'numba' or 'python'")
    scan = _check_events(events, instruments, backend)
    # a zero-copy view; a memmap stays its base, so the pages of passed rows can be released
    ev = events.view(np.ndarray)
    fee_list = [fees] * n_inst if isinstance(fees, Fees) else list(fees)
    if len(fee_list) != n_inst:
        raise InvalidArgumentError("fees", f"{len(fee_list)} entries", f"1 or {n_inst}")
    if isinstance(decision_interval_ns, bool) or int(decision_interval_ns) <= 0:
        raise InvalidArgumentError("decision_interval_ns", decision_interval_ns, "an int > 0")
    if decision_phase_ns is not None and (
        isinstance(decision_phase_ns, bool)
        or not 0 <= int(decision_phase_ns) < int(decision_interval_ns)
    ):
        raise InvalidArgumentError(
            "decision_phase_ns",
            decision_phase_ns,
            f"None or an int in [0, decision_interval_ns={int(decision_interval_ns)})",
        )
    if int(funding_interval_ns) < 0:
        raise InvalidArgumentError("funding_interval_ns", funding_interval_ns, "an int >= 0")
    settles = {i.settle for i in instruments}
    if guard is not None and len(settles) > 1:
        raise InvalidArgumentError(
            "guard",
            f"instruments settled in {sorted(settles)}",
            "instruments of one settlement currency (account equity is not converted)",
        )
    run = _Run(
        events=ev,
        scan=scan,
        instruments=instruments,
        fees=fee_list,
        latency=latency,
        queue=queue,
        partial_fills=partial_fills,
        funding_interval_ns=int(funding_interval_ns),
        margin_ticks=margin_ticks,
        max_ticks=max_ticks,
        backend=backend,
        order_capacity=64,
        response_capacity=4096,
    )
    if not isinstance(amend_orders, bool):
        raise InvalidArgumentError("amend_orders", amend_orders, "True or False")
    om = OrderManager(
        tick_sizes=[i.tick_size for i in instruments],
        price_tolerance_ticks=price_tolerance_ticks,
        qty_tolerance=qty_tolerance,
        amend=amend_orders,
    )
    known = _Known(position=[0.0] * n_inst, cash=[0.0] * n_inst)
    if guard is not None and guard.portfolio_limits is not None:
        from invrisk.risk.delta_limits import DeltaOneLimits

        known.delta_limits = DeltaOneLimits(guard.portfolio_limits, instruments=instruments)
    contract, inverse = run.contract, run.inverse
    start_ns = int(ev["local_ns"][0])
    strategy.on_start(Context(instruments=tuple(instruments), start_ns=start_ns, seed=seed))
    after_decide = getattr(strategy, "after_decide", None)
    interval = int(decision_interval_ns)
    if decision_phase_ns is None:
        next_decision = start_ns + interval
    else:  # the first clock-aligned time strictly after the first event
        next_decision = start_ns - (start_ns - int(decision_phase_ns)) % interval + interval
    rec = Recorder(n_inst)
    pending: list[_Response] = []
    fills: list[tuple[object, ...]] = []
    funding: list[tuple[object, ...]] = []
    quoted = [[math.nan] * n_inst, [math.nan] * n_inst]  # the strategy's best target bid/ask
    last_row = 0
    n_rows = ev.size
    risk_events: list[tuple[int, str]] = []
    state = run.state
    while True:
        stop = next_decision
        if decide_on_fill:  # a fill produced earlier may be reported before the next decision
            for resp in pending:  # sorted by local time
                if resp[2] == _k.R_FILL:
                    stop = min(stop, resp[0])
                    break
        code = run.advance(stop, decide_on_fill)
        run.release_passed()
        if state[_k.S_N_RESP]:
            pending.extend(run.take_responses())
            pending.sort()
        if code == _k.STOP_BUFFER:
            continue
        now = int(state[_k.S_STOP]) if code == _k.STOP_TIME else int(state[_k.S_NOW])
        if code == _k.STOP_END and pending:  # the data ended: report everything travelling
            now = max(now, pending[-1][0])
        if pending and pending[0][0] <= now:
            k_deliver = 0
            while k_deliver < len(pending) and pending[k_deliver][0] <= now:
                resp = pending[k_deliver]
                # acks, the most frequent response, go straight to the order manager (the
                # order log reads the status of the orders still live at the end)
                if resp[2] == _k.R_ACK:
                    om.on_ack(resp[3], now_ns=resp[0])
                else:
                    _deliver(resp, run, om, known, strategy, fills, funding)
                k_deliver += 1
            del pending[:k_deliver]
        if code == _k.STOP_END:
            break
        i_row = int(state[_k.S_LOCAL_I])
        tops = run.top.tolist()
        views = tuple(
            InstrumentView(b, a, bq, aq, inf[0], inf[1], inf[2])
            for (b, a, bq, aq, *_), inf in zip(tops, run.books.lc_info.tolist(), strict=True)
        )
        view = MarketView(t_ns=now, instruments=views, events=ev[last_row:i_row])
        last_row = i_row
        # per-instrument scalars in Python: a handful of instruments, so this is cheaper than
        # a dozen small numpy operations per decision
        pos = known.position
        cash = known.cash
        mids = [0.5 * (t[_k.T_BID] + t[_k.T_ASK]) for t in tops]
        equity = [
            c + (q * (-k / m if inv else k * m) if q != 0.0 else 0.0)
            for c, q, m, k, inv in zip(cash, pos, mids, contract, inverse, strict=True)
        ]
        if guard is not None:
            before = guard.state
            total = math.fsum(e for e in equity if not math.isnan(e))
            after = guard.update_equity(equity=total, now_ns=now)
            if after != before:
                risk_events.append((now, f"{before.name}->{after.name}"))
            if after == TradingState.HALTED:
                for c in om.cancel_all(now_ns=now):
                    run.send_cancel(c, now)
        open_bids, open_asks = om.resting_by_side()
        account = AccountView(
            position=np.array(pos),
            cash=np.array(cash),
            equity=np.array(equity),
            open_bids=np.array(open_bids),
            open_asks=np.array(open_asks),
        )
        decision = strategy.decide(view, account)
        for target in decision.quotes:
            ins = target.instrument
            quoted[0][ins] = target.bids[0].price if target.bids else math.nan
            quoted[1][ins] = target.asks[0].price if target.asks else math.nan
            for action in om.reconcile(target, now_ns=now):
                _send(action, run, om, guard, known, view, now)
        for intent in decision.hedges:
            iv = views[intent.instrument]
            order = om.hedge(intent, best_bid=iv.best_bid, best_ask=iv.best_ask, now_ns=now)
            if order is not None:
                _send(order, run, om, guard, known, view, now)
        if after_decide is not None:  # the strategy's deferred work, after the sends
            after_decide(now)
        rec.add(now, mids, pos, run.acc, tops, quoted)
        if progress is not None:
            progress(i_row, n_rows)
        if now >= next_decision:
            next_decision += interval
    return build_result(
        instruments=tuple(instruments),
        samples=rec.arrays(),
        fills=fills,
        funding=funding,
        account=run.acc.copy(),
        orders_sent=om.n_sent,
        cancels_sent=om.n_cancels_sent,
        amends_sent=om.n_amends_sent,
        amends=run.alog,
        orders=run.olog.to_array(om),
        rejections=dict(guard.rejections) if guard is not None else {},
        risk_events=risk_events,
        out_of_window=int(state[_k.S_OUT_OF_WINDOW]),
        end_ns=int(state[_k.S_NOW]),
    )


def _send(
    action: NewOrder | AmendOrder | CancelOrder,
    run: _Run,
    om: OrderManager,
    guard: RiskGuard | None,
    known: _Known,
    view: MarketView,
    now: int,
) -> None:
    if isinstance(action, CancelOrder):
        run.send_cancel(action, now)
        return
    if isinstance(action, AmendOrder):
        _send_amend(action, run, om, guard, known, view, now)
        return
    if guard is not None:
        fair = view.instruments[action.instrument].mid
        values, impact = known.limits_for(
            action.instrument, action.side, action.qty, action.price, view
        )
        verdict = guard.check_new(
            instrument=action.instrument,
            side=action.side,
            price=action.price,
            qty=action.qty,
            fair_price=fair,
            position=known.position[action.instrument],
            open_same_side=om.resting_qty(action.instrument, action.side) - action.qty,
            now_ns=now,
            limit_values=values,
            limit_impact=impact,
        )
        if not verdict.accepted:
            reason = f"risk:{verdict.reason}"
            om.on_reject(action.order_id, reason=reason, now_ns=now)
            run.olog.add(action, now, _REJECTED, now, reason)
            return
    run.send_new(action, now)
    run.olog.add(action, now, _PENDING_NEW, -1, "")


def _send_amend(
    action: AmendOrder,
    run: _Run,
    om: OrderManager,
    guard: RiskGuard | None,
    known: _Known,
    view: MarketView,
    now: int,
) -> None:
    """Pass an amend through the RiskGuard (as the new order it stands for) and send it; a
    refused amend is rejected in the order manager and its order cancelled."""
    oid = action.order_id
    if guard is not None:
        i = action.instrument
        order = om.order(oid)
        leaves = action.qty - order.filled
        values, impact = known.limits_for(i, action.side, leaves, action.price, view)
        verdict = guard.check_amend(
            instrument=i,
            side=action.side,
            price=action.price,
            leaves=leaves,
            fair_price=view.instruments[i].mid,
            position=known.position[i],
            open_same_side=om.resting_qty(i, action.side, excluding=oid),
            now_ns=now,
            limit_values=values,
            limit_impact=impact,
        )
        if not verdict.accepted:
            reason = f"risk:{verdict.reason}"
            om.on_amend_reject(oid, reason=reason, now_ns=now)
            run.alog.append([oid, now, action.price, action.qty, 2, now, reason])
            cancel = om.cancel(oid, now_ns=now)
            if cancel is not None:
                run.send_cancel(cancel, now)
            return
    run.send_amend(action, now)
    row: list[object] = [oid, now, action.price, action.qty, 0, -1, ""]
    run.alog.append(row)
    run.amend_row[oid] = row


def _deliver(
    resp: _Response,
    run: _Run,
    om: OrderManager,
    known: _Known,
    strategy: Strategy,
    fills: list[tuple[object, ...]],
    funding: list[tuple[object, ...]],
) -> None:
    local, _, kind, oid, code, exch, maker, price, qty, fee, mid = resp
    # branches in order of frequency: fills, cancels, then the rare ones (acks, the most
    # frequent, are applied by the caller)
    log = run.olog
    row = log.row.get(oid)
    if kind == _k.R_FILL:
        om.on_fill(oid, qty=qty, price=price, now_ns=local)
        order = om.order(oid)
        inst, side = order.instrument, order.side
        known.book_fill(inst, side, qty, price)
        value = _k.value_of(price, run.contract[inst], run.inverse[inst])
        known.cash[inst] -= side * qty * value + fee
        fills.append((exch, local, inst, oid, side, price, qty, fee, maker, mid))
        strategy.on_fill(Fill(inst, oid, side, price, qty, fee, maker == 1, exch, local))
        if row is not None:
            log.filled[row] += qty
        if order.status == OrderStatus.FILLED:
            run.release(oid)
            if row is not None:
                log.status[row], log.done_ns[row] = _FILLED, local
    elif kind == _k.R_CANCELLED:
        om.on_cancel_ack(oid, now_ns=local)
        run.cancelling.discard(oid)
        run.release(oid)
        if row is not None:
            log.status[row], log.done_ns[row] = _CANCELLED, local
    elif kind == _k.R_FUNDING:  # oid is the instrument; fee the payment, price the value,
        known.cash[oid] += fee  # mid the rate
        funding.append((exch, local, oid, qty, mid, price, fee))
    elif kind == _k.R_REJECT:
        reason = _REJECT_TEXT.get(code, str(code))
        om.on_reject(oid, reason=reason, now_ns=local)
        run.release(oid)
        if row is not None:
            log.status[row], log.done_ns[row], log.reason[row] = _REJECTED, local, reason
    elif kind == _k.R_CANCEL_REJECT:
        om.on_cancel_reject(oid, reason=_REJECT_TEXT.get(code, str(code)), now_ns=local)
        run.cancel_answered(oid)
    elif kind == _k.R_EXPIRED:
        om.on_expired(oid, now_ns=local)
        run.release(oid)
        if row is not None:
            log.status[row], log.done_ns[row] = _CANCELLED, local
    elif kind in (_k.R_AMEND_ACK, _k.R_AMEND_REJECT):
        arow = run.amend_row.pop(oid, None)
        if kind == _k.R_AMEND_ACK:
            om.on_amend_ack(oid, now_ns=local, price=price, qty=qty)
            reason = ""
        else:
            reason = _REJECT_TEXT.get(code, str(code))
            om.on_amend_reject(oid, reason=reason, now_ns=local)
        if arow is not None:
            arow[4], arow[5], arow[6] = (1 if kind == _k.R_AMEND_ACK else 2), local, reason
        run.amend_answered(oid)
        filled = om.order(oid).status == OrderStatus.FILLED
        if filled and row is not None and log.done_ns[row] == -1:
            run.release(oid)  # filled up to the total the answer left in force
            log.status[row], log.done_ns[row] = _FILLED, local
