"""The trading runtime: feed -> strategy -> order manager -> RiskGuard -> gateway, journaled.

:class:`Runtime` runs the same :class:`~invrisk.strategy.Strategy` object as the backtester
against a :class:`~invrisk.live.gateway.Gateway` (:class:`~invrisk.live.paper.PaperGateway`
or :class:`~invrisk.live.ccxt_gateway.CcxtGateway`). One asyncio task consumes market batches
and, after each:

1. applies the batch to its own L2 book per instrument (the strategy sees what the runtime
   received, not the venue's internals);
2. takes the gateway's order events: a fill is journaled first (by the venue's fill id: a
   duplicated or replayed fill message is stored once and then ignored), then given to the
   order manager, the account and ``strategy.on_fill``; acks, rejects and cancels update the
   order manager (which journals every state change through its ``on_event`` hook);
3. at each decision time (every ``decision_interval_ns`` of feed time) updates the RiskGuard's
   equity, asks the strategy, reconciles its targets into orders (journaled as requests
   before anything is sent), passes each new order through the RiskGuard (a refusal is
   journaled with its reason) and hands what passes to the gateway.

**Amends** (``amend_orders=True``): the order manager moves a resting quote with an
:class:`~invrisk.order_manager.AmendOrder` instead of a cancel and a new order. The amend is
journaled (``amend_sent``, with the requested ``qty@price``), checked by the RiskGuard as the
new order it stands for, and handed to the gateway; the venue's answer (``amended``, with the
terms in force, or ``amend_reject`` with its reason) is applied to the order manager and
journaled, and the terms of an applied amend are what :meth:`Journal.recover
<invrisk.store.Journal.recover>` reports for the order after a restart. An amend the runtime
cannot send (refused by the RiskGuard, in a rate-limit backoff or refused by the gateway for
its rate limit) is rejected in the order manager and its order cancelled: the old terms are
not left resting. A disconnect halts trading as for an order.

Automatic risk controls implemented here halt trading (RiskGuard ``HALTED``), cancel every
live order and journal the transition with its cause. Each halt has a kind:

- ``stale``: no market batch for ``stale_after_s`` of wall time;
- ``disconnect``: the gateway refuses an order or a cancel (connection lost);
- ``reject_storm``: more than ``max_rejects_per_s`` venue rejects within one second of feed
  time;
- ``cancel_storm``: more than ``max_cancels_per_s`` cancels sent by the strategy's reconcile
  within one second of feed time (a strategy churning its quotes; the cancels of a halt do
  not count);
- ``clock_skew``: the median of ``local_ns - exch_ns`` over a batch (our receive time minus
  the venue's timestamp: latency plus clock error) is above ``max_clock_skew_s`` or below
  its negative (a venue timestamp in our future is a clock error). Measured on the first
  batch received at least 100 ms (receive time) after the previous measurement: a clock drifts
  slowly, and the median costs more than the rest of a small batch's handling.

Drawdown and daily-loss triggers are the RiskGuard's own. **Resume rules**: a halt holds until
the operator resumes (``guard.resume``), unless ``auto_resume`` gives its kind a cool-down in
feed seconds: once the halt's condition has been clear for that long (``stale``: batches
flowing; ``disconnect``: the link back and reconciled (below); ``reject_storm``: no venue
reject in the last
second; ``cancel_storm``: the cool-down alone; ``clock_skew``: every batch's skew within the
limit), and every other active halt may resume too, the runtime resumes trading and journals
why. An automatic resume keeps the RiskGuard's drawdown peak (``reset_peak=False``: a loss
made before the halt still counts), and a halt of the RiskGuard's own (losses) is never
resumed automatically. A **rate-limit error** from the gateway
(:class:`~invrisk.errors.RateLimitError`) rejects that order and makes the runtime back off:
no new order is sent for ``backoff_s`` of feed time (the venue's ``retry_after_s`` if larger),
doubling on each further rate-limit error up to ``max_backoff_s`` and reset by the next order
that goes through; cancels are still sent.

**Reconnect**: each time the gateway's link comes back (``gateway.reconnects`` grows) the
runtime reconciles its live orders with the venue before anything else: it asks the gateway
to :meth:`~invrisk.live.gateway.Gateway.sync` (the fills missed while disconnected are then
booked, each once by fill id), marks cancelled the orders the venue no longer holds, sends
again the cancels the venue did not get, and cancels any order of ours the venue holds that
the runtime does not consider live; a new order is never re-sent, so the venue never holds a
duplicate. A halt caused by the disconnect (a refused order or cancel) holds until the
operator resumes, or, with a ``disconnect`` resume rule (``auto_resume_after_s`` sets one for
``stale`` and ``disconnect``), until the link has been back and reconciled for the cool-down.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from invrisk.data.events import EVENT_DTYPE, EventArray
from invrisk.errors import InvalidArgumentError, RateLimitError
from invrisk.instruments import Instrument
from invrisk.live.gateway import Gateway
from invrisk.live.paper import OrderEvent
from invrisk.market.book import L2Book
from invrisk.order_manager import AmendOrder, CancelOrder, NewOrder, OrderManager, OrderStatus
from invrisk.risk.delta_limits import DeltaOneLimits
from invrisk.risk.limits import RiskGuard, TradingState
from invrisk.store.journal import Journal
from invrisk.strategy import (
    AccountView,
    Context,
    Fill,
    InstrumentView,
    MarketView,
    Strategy,
    TimeInForce,
)

__all__ = ["HALT_KINDS", "Runtime", "RuntimeSummary"]

HALT_KINDS = ("stale", "disconnect", "reject_storm", "cancel_storm", "clock_skew")
_SKEW_EVERY_NS = 100_000_000  # clock skew measured at most this often (receive time)
_MID_HISTORY = 4096  # batches of mid history per instrument (seconds of feed at ~1 ms each)


@dataclass(frozen=True, slots=True)
class RuntimeSummary:
    """How a run ended."""

    decisions: int
    orders_sent: int
    fills: int
    duplicate_fills: int
    positions: tuple[float, ...]
    cash: tuple[float, ...]
    state: str
    halts: tuple[str, ...]
    end_ns: int


class Runtime:
    """See the module docstring.

    Parameters
    ----------
    strategy, instruments
        The strategy and the instruments of the feed (index = the events' ``instrument``).
    gateway
        Where orders go and market data and order events come from (any
        :class:`~invrisk.live.gateway.Gateway`).
    guard
        The pre-trade RiskGuard (None: accept every order; the automatic halts then only
        cancel orders and stop deciding).
    journal
        Where everything is recorded (None: nothing is persisted).
    decision_interval_ns
        Feed time between decisions (> 0).
    stale_after_s
        Wall seconds without a market batch before trading halts (> 0).
    measure_latency
        Record, for every order handed to the gateway, the wall time since the market batch
        that led to it was received (``latencies_ns``; journal writes included).
    max_rejects_per_s, backoff_s, max_backoff_s
        The reject-storm threshold and the rate-limit backoff (see the module docstring).
    auto_resume
        Cool-down in feed seconds per halt kind (``stale``, ``disconnect``, ``reject_storm``,
        ``cancel_storm``, ``clock_skew``) after which a halt of that kind resumes on its own
        (see the module docstring); kinds not given (default: all) need the operator.
    auto_resume_after_s
        Shorthand for a cool-down of ``auto_resume_after_s`` on ``stale`` and ``disconnect``
        halts (a disconnect halt clears once the link is back and reconciled).
    max_cancels_per_s
        Cancel-storm threshold (an int >= 1).
    max_clock_skew_s
        Clock-skew threshold in seconds (> 0), or None to disable the check.
    snapshot_interval_s
        Journal each instrument's position, cash, equity and mark every this many feed
        seconds (None: never).
    amend_orders
        Amend resting quotes instead of cancelling and replacing them (default False; see
        the module docstring and the order manager's "Amend mode").
    price_tolerance_ticks, qty_tolerance
        The order manager's tolerances, as in :func:`~invrisk.backtest.run_backtest`: a
        resting quote within this many ticks of its target price and whose unfilled size is
        within this fraction of the target size stays (defaults 0: exact).
    venue
        The venue traded on (``"deribit"``): a RiskGuard portfolio limit scoped to another
        venue does not cover this book (None, the default: every venue scope covers it).

    Portfolio (Greeks) limits: a ``guard`` built with ``portfolio_limits`` (a
    :class:`~invrisk.risk.limit_set.LimitSet` of delta metrics, see
    :mod:`invrisk.risk.delta_limits`) refuses every new order or amend that would breach one
    of them, or breach it further, if it filled (``portfolio_limit``), from the positions and
    average entries of the fills booked so far (on :meth:`resume`, those of the journal).
    """

    def __init__(
        self,
        *,
        strategy: Strategy,
        instruments: Sequence[Instrument],
        gateway: Gateway,
        guard: RiskGuard | None = None,
        journal: Journal | None = None,
        decision_interval_ns: int = 100_000_000,
        stale_after_s: float = 5.0,
        measure_latency: bool = False,
        max_rejects_per_s: int = 20,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        auto_resume_after_s: float | None = None,
        snapshot_interval_s: float | None = 60.0,
        auto_resume: Mapping[str, float] | None = None,
        max_cancels_per_s: int = 50,
        max_clock_skew_s: float | None = 1.0,
        amend_orders: bool = False,
        price_tolerance_ticks: int = 0,
        qty_tolerance: float = 0.0,
        venue: str | None = None,
    ) -> None:
        if isinstance(decision_interval_ns, bool) or decision_interval_ns <= 0:
            raise InvalidArgumentError("decision_interval_ns", decision_interval_ns, "ns > 0")
        if not (math.isfinite(stale_after_s) and stale_after_s > 0):
            raise InvalidArgumentError("stale_after_s", stale_after_s, "seconds > 0")
        self.strategy = strategy
        self._after_decide: Callable[[int], None] | None = getattr(strategy, "after_decide", None)
        self.instruments = tuple(instruments)
        self.gateway = gateway
        self.guard = guard
        self.journal = journal
        self.interval = int(decision_interval_ns)
        self.stale_after_s = float(stale_after_s)
        hook = journal.on_order_event if journal is not None else None
        if not isinstance(amend_orders, bool):
            raise InvalidArgumentError("amend_orders", amend_orders, "True or False")
        self.amend_orders = amend_orders
        self.price_tolerance_ticks = price_tolerance_ticks
        self.venue = venue
        # the guard's portfolio (Greeks) limits, followed from the fills as they are booked
        limits = guard.portfolio_limits if guard is not None else None
        self._delta_limits = (
            None if limits is None else DeltaOneLimits(limits, instruments=instruments, venue=venue)
        )
        self._limit_values_at = -1
        self._limit_values_cache: dict[str, float] = {}
        self.qty_tolerance = qty_tolerance
        self.om = OrderManager(
            tick_sizes=[i.tick_size for i in instruments],
            on_event=hook,
            amend=amend_orders,
            price_tolerance_ticks=price_tolerance_ticks,
            qty_tolerance=qty_tolerance,
        )
        n = len(instruments)
        self.position = [0.0] * n
        self.cash = [0.0] * n
        self.books: list[L2Book | None] = [None] * n
        # per instrument, (venue time of the last event applied, mid after it) for the last
        # few seconds of batches: a fill is journaled with the mid as of its venue time
        self._mid_times: list[deque[int]] = [deque(maxlen=_MID_HISTORY) for _ in range(n)]
        self._mids: list[deque[float]] = [deque(maxlen=_MID_HISTORY) for _ in range(n)]
        self.halts: list[str] = []
        self.decisions = 0
        self.fills = 0
        self.duplicate_fills = 0
        self.unknown_fills = 0
        self._buffer: list[EventArray] = []
        if isinstance(max_rejects_per_s, bool) or max_rejects_per_s < 1:
            raise InvalidArgumentError("max_rejects_per_s", max_rejects_per_s, "an int >= 1")
        if not (0 < backoff_s <= max_backoff_s and math.isfinite(max_backoff_s)):
            raise InvalidArgumentError(
                "backoff_s", (backoff_s, max_backoff_s), "0 < backoff_s <= max_backoff_s, finite"
            )
        self.max_rejects_per_s = int(max_rejects_per_s)
        self.backoff_ns = round(backoff_s * 1e9)
        self.max_backoff_ns = round(max_backoff_s * 1e9)
        self._backoff = self.backoff_ns
        self._backoff_until = -1
        self.rate_limited = 0
        self.sends_in_backoff = 0
        self.backoffs: list[tuple[int, int]] = []  # feed-time windows without new orders
        self._rejects: list[int] = []
        self._cancels: deque[int] = deque()
        self._storm: tuple[str, str] | None = None  # (kind, cause) of a halt to make
        if isinstance(max_cancels_per_s, bool) or max_cancels_per_s < 1:
            raise InvalidArgumentError("max_cancels_per_s", max_cancels_per_s, "an int >= 1")
        self.max_cancels_per_s = int(max_cancels_per_s)
        if max_clock_skew_s is not None and not (
            math.isfinite(max_clock_skew_s) and max_clock_skew_s > 0
        ):
            raise InvalidArgumentError("max_clock_skew_s", max_clock_skew_s, "seconds > 0, or None")
        self.max_skew_ns = None if max_clock_skew_s is None else round(max_clock_skew_s * 1e9)
        self.last_skew_ns = 0
        self._next_skew_ns = -(2**62)
        for name, v in (
            ("auto_resume_after_s", auto_resume_after_s),
            ("snapshot_interval_s", snapshot_interval_s),
        ):
            if v is not None and not (math.isfinite(v) and v > 0):
                raise InvalidArgumentError(name, v, "seconds > 0, or None")
        rules = dict(auto_resume or {})
        if auto_resume_after_s is not None:
            rules.setdefault("stale", auto_resume_after_s)
            rules.setdefault("disconnect", auto_resume_after_s)
        for kind, cool in rules.items():
            if kind not in HALT_KINDS:
                raise InvalidArgumentError("auto_resume", kind, f"halt kinds {HALT_KINDS}")
            if not (isinstance(cool, int | float) and math.isfinite(cool) and cool >= 0):
                raise InvalidArgumentError(f"auto_resume[{kind!r}]", cool, "seconds >= 0")
        self.auto_resume_ns = {k: round(v * 1e9) for k, v in rules.items()}
        self.snapshot_ns = None if snapshot_interval_s is None else round(snapshot_interval_s * 1e9)
        # active runtime halts: kind -> feed time since which its condition has been clear
        # (None: not clear now)
        self._active: dict[str, int | None] = {}
        self._own_causes: set[str] = set()  # causes of the halts this runtime made
        self._reconnects_seen = int(gateway.reconnects)
        self.reconciliations: list[dict[str, tuple[int, ...]]] = []
        self._next_snapshot = -1
        self._halted = False  # the runtime's own halt flag, used when there is no RiskGuard
        self.measure_latency = bool(measure_latency)
        self.latencies_ns: list[int] = []
        self._t_batch = 0

    # -- restart ----------------------------------------------------------------------------

    def resume(self, run_id: str | None = None) -> dict[str, tuple[int, ...]]:
        """Continue a journaled run after a restart (call before :meth:`run`).

        Positions and cash come back from the journal's fills; new order ids continue after
        the last journaled one (no client id is reused); the orders the journal last saw live
        are reconciled with the venue by :func:`~invrisk.store.reconcile_orders`'s rule:
        those the venue no longer holds are journaled as cancelled (``reconciled: not at
        venue``), or as filled when their journaled fills add up to their size (the fills the
        gateway's last :meth:`~invrisk.live.gateway.Gateway.sync` fetched are booked first,
        each once by fill id), and orders the venue holds that the journal does not know are
        returned in ``unknown_at_venue`` for the caller to cancel (never adopted). Returns the
        reconciliation (``matched``, ``unknown_at_venue``, ``missing_at_venue``). A venue
        gateway must be started (and so synced) before this is called.
        """
        from invrisk.store import reconcile_orders

        j = self.journal
        if j is None:
            raise InvalidArgumentError("journal", None, "a Journal to resume from")
        rec = j.recover(run_id)
        for i, q in rec.positions.items():
            self.position[i] = q
            self.cash[i] = rec.cash[i]
        if self._delta_limits is not None:  # positions and entries from the journal's fills
            self._delta_limits = DeltaOneLimits(
                self._delta_limits.limits, instruments=self.instruments, venue=self.venue
            )
            for f in j.table("fills", rec.run_id):
                self._delta_limits.on_fill(
                    instrument=int(f["instrument"]),
                    side=int(f["side"]),
                    qty=float(f["qty"]),
                    price=float(f["price"]),
                )
            self._limit_values_at = -1
        self.om = OrderManager(
            tick_sizes=[i.tick_size for i in self.instruments],
            on_event=j.on_order_event,
            first_order_id=rec.next_order_id,
            amend=self.amend_orders,
            price_tolerance_ticks=self.price_tolerance_ticks,
            qty_tolerance=self.qty_tolerance,
        )
        # fills the venue gateway fetched in its last sync (missed while we were down) are
        # booked first, each once by fill id, before an order is declared gone
        for e in self.gateway.take_order_events():
            self._on_order_event(e)
        report = reconcile_orders(rec.open_orders, self.gateway.open_order_ids())
        now = self.gateway.now_ns
        filled: dict[int, float] = {}
        if report.missing_at_venue:
            for f in j.table("fills", rec.run_id):
                filled[int(f["order_id"])] = filled.get(int(f["order_id"]), 0.0) + f["qty"]
        for oid in report.missing_at_venue:
            qty = float(rec.open_orders[oid]["qty"])
            if filled.get(oid, 0.0) >= qty * (1 - 1e-9):  # filled while we were down
                j.record_event(
                    oid,
                    kind="fill",
                    status=OrderStatus.FILLED,
                    t_ns=now,
                    detail="reconciled: filled at venue",
                )
                continue
            j.record_event(
                oid,
                kind="cancelled",
                status=OrderStatus.CANCELLED,
                t_ns=now,
                detail="reconciled: not at venue",
            )
        return {
            "matched": report.matched,
            "unknown_at_venue": report.unknown_at_venue,
            "missing_at_venue": report.missing_at_venue,
        }

    # -- the loop ---------------------------------------------------------------------------

    async def run(self, *, max_feed_ns: int | None = None) -> RuntimeSummary:
        """Trade until the feed ends (or ``max_feed_ns`` of feed time has passed)."""
        gw = self.gateway
        start = gw.now_ns
        self.strategy.on_start(Context(instruments=self.instruments, start_ns=start))
        next_decision = start + self.interval
        it = gw.market_batches().__aiter__()
        # the next batch is awaited without cancelling it on a timeout (cancelling would close
        # the feed): a stale feed halts trading, and the same request goes on waiting
        pending: asyncio.Future[EventArray] | None = None
        while True:
            if pending is None:
                pending = asyncio.ensure_future(it.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=self.stale_after_s)
            if not done:
                if "stale" not in self._active:
                    await self._halt(
                        f"stale market data: no update for {self.stale_after_s:g} s", "stale"
                    )
                self._active["stale"] = None  # not clear while the feed is silent
                continue
            try:
                batch = pending.result()
            except StopAsyncIteration:
                break
            finally:
                pending = None
            if self.measure_latency:
                self._t_batch = time.perf_counter_ns()
            if gw.reconnects != self._reconnects_seen and gw.connected:
                self._reconnects_seen = gw.reconnects
                await self._reconcile_after_reconnect()
            self._apply(batch)
            await self._deliver()
            await self._storm_halt()
            self._maybe_resume(gw.now_ns)
            self._maybe_snapshot(gw.now_ns)
            now = gw.now_ns
            while now >= next_decision:
                await self._decide(now)
                next_decision += self.interval
            await self._storm_halt()  # a cancel storm of these decisions
            if max_feed_ns is not None and now - start >= max_feed_ns:
                break
        await self._deliver()
        return RuntimeSummary(
            decisions=self.decisions,
            orders_sent=self.om.n_sent,
            fills=self.fills,
            duplicate_fills=self.duplicate_fills,
            positions=tuple(self.position),
            cash=tuple(self.cash),
            state=(
                self.guard.state.name
                if self.guard is not None
                else ("HALTED" if self._halted else "ACTIVE")
            ),
            halts=tuple(self.halts),
            end_ns=gw.now_ns,
        )

    def _apply(self, batch: EventArray) -> None:
        if batch.size == 0:
            return
        self._buffer.append(batch)
        if self.max_skew_ns is not None and int(batch["local_ns"][-1]) >= self._next_skew_ns:
            self._next_skew_ns = int(batch["local_ns"][-1]) + _SKEW_EVERY_NS
            exch = batch["exch_ns"]
            stamped = exch > 0
            if stamped.any():
                skew = int(np.median(batch["local_ns"][stamped] - exch[stamped]))
                self.last_skew_ns = skew
                if abs(skew) > self.max_skew_ns and self._storm is None:
                    where = "ahead of" if skew > 0 else "behind"
                    self._storm = (
                        "clock_skew",
                        f"clock skew: local receive time {abs(skew) / 1e6:.0f} ms {where} the "
                        f"venue's timestamps (limit {self.max_skew_ns / 1e6:.0f} ms)",
                    )
        for i, inst in enumerate(self.instruments):
            sub = batch if len(self.instruments) == 1 else batch[batch["instrument"] == i]
            if sub.size == 0:
                continue
            book = self.books[i]
            if book is None:
                priced = sub["price"][np.isfinite(sub["price"]) & (sub["price"] > 0)]
                if priced.size == 0:
                    continue
                ref = float(np.median(priced))
                half = min(int(0.5 * ref / inst.tick_size), 1_000_000)
                centre = round(ref / inst.tick_size)
                book = L2Book(tick_size=inst.tick_size, lo_tick=centre - half, n_ticks=2 * half)
                self.books[i] = book
            book.apply(sub)
            t_exch = int(sub["exch_ns"][-1])
            times = self._mid_times[i]
            if t_exch > 0 and (not times or t_exch >= times[-1]):
                times.append(t_exch)
                self._mids[i].append(0.5 * (book.best_bid + book.best_ask))

    async def _deliver(self) -> None:
        events = self.gateway.take_order_events()
        if not events:
            return
        with self._batch():  # one commit for the step's fills and order states
            for e in events:
                self._on_order_event(e)

    def _batch(self) -> contextlib.AbstractContextManager[None]:
        return self.journal.batch() if self.journal is not None else contextlib.nullcontext()

    def _on_order_event(self, e: OrderEvent) -> None:
        om = self.om
        if e.kind == "funding" or e.order_id < 0:
            return
        known = True
        try:
            order = om.order(e.order_id)
            instrument, side = order.instrument, order.side
        except InvalidArgumentError:
            # the order manager keeps the last 10,000 terminal orders: a fill for an older one
            # (a very late trade message) is still ours if the journal has the request
            row = self.journal.order_of(e.order_id) if self.journal is not None else None
            if row is None or e.kind != "fill":
                if e.kind == "fill":
                    self.unknown_fills += 1  # not ours: reported, never booked
                return
            known, instrument, side = False, int(row["instrument"]), int(row["side"])
        # the runtime's own (monotonic) clock: a venue's messages may arrive out of order
        t = max(self.gateway.now_ns, 0)
        if e.kind == "fill":
            f = Fill(
                instrument=instrument,
                order_id=e.order_id,
                side=side,
                price=e.price,
                qty=e.qty,
                fee=e.fee,
                is_maker=e.is_maker,
                exch_ns=e.exch_ns,
                local_ns=e.local_ns,
            )
            inst = self.instruments[instrument]
            value = (
                e.price * inst.contract_size
                if not inst.is_inverse
                else -inst.contract_size / e.price
            )
            cash = -side * e.qty * value - e.fee
            if self.journal is not None and not self.journal.record_fill(
                f, fill_id=e.fill_id, cash_delta=cash, mid=self._mid_at(instrument, e.exch_ns)
            ):
                self.duplicate_fills += 1
                return
            if known:
                om.on_fill(e.order_id, qty=e.qty, price=e.price, now_ns=t)
            self.position[instrument] += side * e.qty
            if self._delta_limits is not None:
                self._delta_limits.on_fill(
                    instrument=instrument, side=side, qty=e.qty, price=e.price
                )
                self._limit_values_at = -1
            self.cash[instrument] += cash
            self.fills += 1
            self.strategy.on_fill(f)
            if known and om.order(e.order_id).status == OrderStatus.FILLED:
                self.gateway.release(e.order_id)
        elif e.kind == "ack":
            om.on_ack(e.order_id, now_ns=t)
        elif e.kind == "reject":
            om.on_reject(e.order_id, reason=e.reason or "venue_reject", now_ns=t)
            self.gateway.release(e.order_id)
            self._rejects = [r for r in self._rejects if r > t - 1_000_000_000] + [t]
            if len(self._rejects) > self.max_rejects_per_s:
                self._storm = (
                    "reject_storm",
                    f"reject storm: {len(self._rejects)} venue rejects within 1 s",
                )
        elif e.kind == "cancelled":
            om.on_cancel_ack(e.order_id, now_ns=t)
            self.gateway.release(e.order_id)
        elif e.kind == "cancel_reject":
            om.on_cancel_reject(e.order_id, reason=e.reason or "cancel_reject", now_ns=t)
        elif e.kind == "expired":
            om.on_expired(e.order_id, now_ns=t)
            self.gateway.release(e.order_id)
        elif e.kind in ("amend_ack", "amend_reject"):
            self._on_amend_answer(e, t)

    def _on_amend_answer(self, e: OrderEvent, t: int) -> None:
        """The venue's answer to an amend: applied (the venue's terms when it gives them) or
        rejected (a venue reject: it counts towards the reject storm)."""
        om = self.om
        if e.kind == "amend_ack":
            price = e.price if math.isfinite(e.price) and e.price > 0 else None
            qty = e.qty if math.isfinite(e.qty) and e.qty > 0 else None
            om.on_amend_ack(e.order_id, now_ns=t, price=price, qty=qty)
        else:
            om.on_amend_reject(e.order_id, reason=e.reason or "venue_reject", now_ns=t)
            self._rejects = [r for r in self._rejects if r > t - 1_000_000_000] + [t]
            if len(self._rejects) > self.max_rejects_per_s:
                self._storm = (
                    "reject_storm",
                    f"reject storm: {len(self._rejects)} venue rejects within 1 s",
                )
        if om.order(e.order_id).status == OrderStatus.FILLED:  # filled up to the terms in force
            self.gateway.release(e.order_id)

    async def _decide(self, now: int) -> None:
        guard = self.guard
        views = []
        for book in self.books:
            if book is None:
                views.append(InstrumentView(*(math.nan,) * 7))
            else:
                views.append(
                    InstrumentView(
                        book.best_bid,
                        book.best_ask,
                        book.best_bid_qty,
                        book.best_ask_qty,
                        math.nan,
                        math.nan,
                        math.nan,
                    )
                )
        events = (
            np.concatenate([b.view(np.uint8) for b in self._buffer]).view(EVENT_DTYPE)
            if self._buffer
            else np.empty(0, dtype=EVENT_DTYPE)
        )
        self._buffer.clear()
        equity = [
            c
            + (
                q
                * (
                    v.mid * inst.contract_size
                    if not inst.is_inverse
                    else -inst.contract_size / v.mid
                )
                if q
                else 0.0
            )
            for c, q, v, inst in zip(self.cash, self.position, views, self.instruments, strict=True)
        ]
        if guard is not None:
            before = guard.state
            total = math.fsum(e for e in equity if math.isfinite(e))
            after = guard.update_equity(equity=total, now_ns=now)
            if after != before:
                self._journal_transition(now, before.name, after.name, guard.transitions[-1].cause)
                if after == TradingState.HALTED:
                    await self._cancel_all(now)
            if after == TradingState.HALTED:
                return
        elif self._halted:  # no RiskGuard: the runtime's own halt stops the decisions
            return
        view = MarketView(t_ns=now, instruments=tuple(views), events=events)
        bids, asks = self.om.resting_by_side()
        account = AccountView(
            position=np.array(self.position),
            cash=np.array(self.cash),
            equity=np.array(equity),
            open_bids=np.array(bids),
            open_asks=np.array(asks),
        )
        decision = self.strategy.decide(view, account)
        self.decisions += 1
        # every request of the decision and every RiskGuard refusal journaled in one commit,
        # before anything is sent
        approved: list[NewOrder | AmendOrder | CancelOrder] = []
        with self._batch():
            for target in decision.quotes:
                for action in self.om.reconcile(target, now_ns=now):
                    if self._approve(action, views, now):
                        approved.append(action)
                    elif isinstance(action, AmendOrder):  # refused: not left at the old terms
                        cancel = self.om.cancel(action.order_id, now_ns=now)
                        if cancel is not None:
                            approved.append(cancel)
            for intent in decision.hedges:
                iv = views[intent.instrument]
                order = self.om.hedge(
                    intent, best_bid=iv.best_bid, best_ask=iv.best_ask, now_ns=now
                )
                if order is not None and self._approve(order, views, now):
                    approved.append(order)
        for action in approved:
            await self._send(action, now)
        if self._after_decide is not None:  # the strategy's deferred work, after the sends
            self._after_decide(now)

    def _approve(
        self, action: NewOrder | AmendOrder | CancelOrder, views: list[InstrumentView], now: int
    ) -> bool:
        """The RiskGuard's answer for a new order or an amend (cancels always pass); a refusal
        is journaled and the order (or the amend) rejected in the order manager."""
        guard = self.guard
        if isinstance(action, CancelOrder) or guard is None:
            return True
        i = action.instrument
        dl = self._delta_limits
        values = impact = None
        if isinstance(action, AmendOrder):
            leaves = action.qty - self.om.order(action.order_id).filled
            if dl is not None:
                values = self._limit_values(views, now)
                impact = dl.impact(
                    instrument=i, side=action.side, qty=leaves, price=action.price,
                    mid=views[i].mid,
                )  # fmt: skip
            verdict = guard.check_amend(
                instrument=i,
                side=action.side,
                price=action.price,
                leaves=leaves,
                fair_price=views[i].mid,
                position=self.position[i],
                open_same_side=self.om.resting_qty(i, action.side, excluding=action.order_id),
                now_ns=now,
                limit_values=values,
                limit_impact=impact,
            )
        else:
            if dl is not None:
                values = self._limit_values(views, now)
                impact = dl.impact(
                    instrument=i, side=action.side, qty=action.qty, price=action.price,
                    mid=views[i].mid,
                )  # fmt: skip
            verdict = guard.check_new(
                instrument=i,
                side=action.side,
                price=action.price,
                qty=action.qty,
                fair_price=views[i].mid,
                position=self.position[i],
                open_same_side=self.om.resting_qty(i, action.side) - action.qty,
                now_ns=now,
                limit_values=values,
                limit_impact=impact,
            )
        if verdict.accepted:
            return True
        reason = verdict.reason + (f" ({verdict.detail})" if verdict.detail else "")
        if isinstance(action, AmendOrder):
            self.om.on_amend_reject(action.order_id, reason=f"risk:{reason}", now_ns=now)
        else:
            self.om.on_reject(action.order_id, reason=f"risk:{reason}", now_ns=now)
        if self.journal is not None:
            self.journal.record_risk_reject(
                t_ns=now, order_id=action.order_id, reason=reason, state=guard.state.name
            )
        return False

    def _limit_values(self, views: list[InstrumentView], now: int) -> dict[str, float]:
        """The portfolio limits' values for this decision (computed once per decision)."""
        if self._limit_values_at != now:
            assert self._delta_limits is not None
            self._limit_values_cache = self._delta_limits.values([v.mid for v in views])
            self._limit_values_at = now
        return self._limit_values_cache

    async def _send(self, action: NewOrder | AmendOrder | CancelOrder, now: int) -> None:
        gw = self.gateway
        if isinstance(action, AmendOrder):
            await self._send_amend(action, now)
            return
        if isinstance(action, CancelOrder):
            sent = self._cancels
            sent.append(now)
            while sent and sent[0] <= now - 1_000_000_000:
                sent.popleft()
            if len(sent) > self.max_cancels_per_s and self._storm is None:
                self._storm = ("cancel_storm", f"cancel storm: {len(sent)} cancels sent within 1 s")
            try:
                await gw.cancel(action)
            except ConnectionError as exc:
                await self._halt(f"gateway refused a cancel: {exc}", "disconnect")
            return
        if now < self._backoff_until:  # backing off after a rate limit: not sent
            self.om.on_reject(action.order_id, reason="rate_limit_backoff", now_ns=now)
            self.sends_in_backoff += 1
            return
        try:
            if self.measure_latency:
                self.latencies_ns.append(time.perf_counter_ns() - self._t_batch)
            await gw.submit(action)
            self._backoff = self.backoff_ns
        except RateLimitError as exc:
            self.rate_limited += 1
            self.om.on_reject(action.order_id, reason="rate_limited", now_ns=now)
            hint = round((exc.retry_after_s or 0.0) * 1e9)
            self._backoff_until = now + max(self._backoff, hint)
            self.backoffs.append((now, self._backoff_until))
            self._backoff = min(2 * self._backoff, self.max_backoff_ns)
        except ConnectionError as exc:
            self.om.on_reject(action.order_id, reason="gateway_disconnected", now_ns=now)
            await self._halt(f"gateway refused an order: {exc}", "disconnect")

    async def _send_amend(self, action: AmendOrder, now: int) -> None:
        """Hand an amend to the gateway; one that cannot be sent is rejected and its order
        cancelled (module docstring)."""
        oid = action.order_id
        reason = ""
        if now < self._backoff_until:  # backing off after a rate limit: not sent
            reason = "rate_limit_backoff"
            self.sends_in_backoff += 1
        else:
            try:
                if self.measure_latency:
                    self.latencies_ns.append(time.perf_counter_ns() - self._t_batch)
                await self.gateway.amend(action)
                self._backoff = self.backoff_ns
                return
            except RateLimitError as exc:
                reason = "rate_limited"
                self.rate_limited += 1
                hint = round((exc.retry_after_s or 0.0) * 1e9)
                self._backoff_until = now + max(self._backoff, hint)
                self.backoffs.append((now, self._backoff_until))
                self._backoff = min(2 * self._backoff, self.max_backoff_ns)
            except ConnectionError as exc:
                self.om.on_amend_reject(oid, reason="gateway_disconnected", now_ns=now)
                await self._halt(f"gateway refused an amend: {exc}", "disconnect")
                return
        with self._batch():
            self.om.on_amend_reject(oid, reason=reason, now_ns=now)
            cancel = self.om.cancel(oid, now_ns=now)
        if cancel is not None:
            await self._send(cancel, now)

    async def _storm_halt(self) -> None:
        if self._storm is not None:
            (kind, cause), self._storm = self._storm, None
            if kind not in self._active:
                await self._halt(cause, kind)
            else:
                self._active[kind] = None  # the condition is back: the cool-down restarts

    def _clear(self, kind: str, now: int) -> bool:
        """Whether the condition of a halt of ``kind`` is clear now (module docstring)."""
        if kind == "disconnect":  # the link is back and the runtime has reconciled it
            gw = self.gateway
            return bool(gw.connected) and self._reconnects_seen == int(gw.reconnects)
        if kind == "reject_storm":
            return not self._rejects or self._rejects[-1] <= now - 1_000_000_000
        if kind == "clock_skew":
            return self.max_skew_ns is None or abs(self.last_skew_ns) <= self.max_skew_ns
        return True  # stale: a batch has just arrived; cancel_storm: the cool-down alone

    async def _reconcile_after_reconnect(self) -> None:
        """The link came back: book the missed fills, then settle our orders with the venue
        (see the module docstring). Recorded in ``reconciliations``."""
        gw = self.gateway
        try:
            await gw.sync()
        except ConnectionError:  # dropped again: the next reconnect reconciles
            return
        await self._deliver()
        now = gw.now_ns
        venue = set(gw.open_order_ids())
        live = {o.order_id: o for o in self.om.live_orders()}
        gone = sorted(oid for oid in live if oid not in venue)
        with self._batch():
            for oid in gone:
                if live[oid].tif == TimeInForce.IOC:
                    self.om.on_expired(oid, now_ns=now)
                else:
                    self.om.on_cancel_ack(oid, now_ns=now)
                gw.release(oid)
        recancel = sorted(
            oid
            for oid, o in live.items()
            if oid in venue and o.status == OrderStatus.PENDING_CANCEL
        )
        unknown = sorted(oid for oid in venue if oid not in live)
        for oid in recancel + unknown:
            inst = live[oid].instrument if oid in live else self._instrument_of(oid)
            with contextlib.suppress(ConnectionError):
                await gw.cancel(CancelOrder(oid, inst))
        self.reconciliations.append(
            {
                "missing_at_venue": tuple(gone),
                "cancels_resent": tuple(recancel),
                "unknown_at_venue": tuple(unknown),
            }
        )

    def _instrument_of(self, order_id: int) -> int:
        with contextlib.suppress(InvalidArgumentError):
            return self.om.order(order_id).instrument
        row = self.journal.order_of(order_id) if self.journal is not None else None
        return int(row["instrument"]) if row is not None else 0

    def _maybe_resume(self, now: int) -> None:
        active = self._active
        if not active:
            return
        for kind, since in active.items():
            if not self._clear(kind, now):
                active[kind] = None
            elif since is None:
                active[kind] = now
        rules = self.auto_resume_ns
        if not all(
            kind in rules and since is not None and now - since >= rules[kind]
            for kind, since in active.items()
        ):
            return
        guard = self.guard
        if guard is not None and guard.state == TradingState.HALTED:
            last = guard.transitions[-1] if guard.transitions else None
            if last is not None and last.cause not in self._own_causes:
                return  # the RiskGuard's own halt (losses): the operator resumes
        kinds = ", ".join(sorted(active))
        cause = f"auto resume: {kinds} clear for the cool-down"
        before = guard.state.name if guard is not None else "HALTED"
        if guard is not None and guard.state == TradingState.HALTED:
            guard.resume(cause=cause, now_ns=max(now, 0), reset_peak=False)
        active.clear()
        self._halted = False
        self._journal_transition(now, before, "ACTIVE", cause)

    def _mid(self, i: int) -> float:
        """Instrument ``i``'s book mid now (NaN while a side is empty or no book yet)."""
        book = self.books[i]
        return 0.5 * (book.best_bid + book.best_ask) if book is not None else math.nan

    def _mid_at(self, i: int, exch_ns: int) -> float:
        """Instrument ``i``'s mid as of venue time ``exch_ns``: the mid after the last market
        batch whose latest venue timestamp is at or before it (what the spread/inventory split
        of a fill needs: by the time a fill is reported, the book has usually moved through
        the order's price). The current mid when the feed carries no venue times or the fill
        has none; NaN when the fill is older than the history kept."""
        times = self._mid_times[i]
        if exch_ns <= 0 or not times:
            return self._mid(i)
        k = bisect_right(times, exch_ns)
        return self._mids[i][k - 1] if k > 0 else math.nan

    def _maybe_snapshot(self, now: int) -> None:
        if self.snapshot_ns is None or self.journal is None or now < self._next_snapshot:
            return
        self._next_snapshot = now + self.snapshot_ns
        rows = []
        for i, inst in enumerate(self.instruments):
            mid = self._mid(i)
            q = self.position[i]
            held = (
                q * (mid * inst.contract_size if not inst.is_inverse else -inst.contract_size / mid)
                if q
                else 0.0
            )
            rows.append((i, q, self.cash[i], self.cash[i] + held, mid))
        self.journal.record_snapshot(t_ns=now, rows=rows)

    async def cancel_open_orders(self, *, wait_s: float = 2.0) -> int:
        """End of a session: cancel every live order and wait up to ``wait_s`` wall seconds
        for the venue's answers (booked like any order event). Returns the orders still live
        (0 when the venue confirmed every cancel)."""
        gw = self.gateway
        await self._cancel_all(gw.now_ns)
        deadline = time.monotonic() + wait_s
        while self.om.live_orders() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            await self._deliver()
        await self._deliver()
        return len(self.om.live_orders())

    async def _cancel_all(self, now: int) -> None:
        for c in self.om.cancel_all(now_ns=now):
            # an unreachable venue: reconciliation on reconnect settles these orders
            with contextlib.suppress(ConnectionError):
                await self.gateway.cancel(c)

    async def _halt(self, cause: str, kind: str) -> None:
        if kind in self._active:  # already halted for this: e.g. the next refused order of a
            self._active[kind] = None  # decision; its cool-down restarts, nothing new to log
            return
        now = self.gateway.now_ns
        self.halts.append(cause)
        self._halted = True
        self._active[kind] = None
        self._own_causes.add(cause)
        guard = self.guard
        before = guard.state.name if guard is not None else "ACTIVE"
        if guard is not None and guard.state != TradingState.HALTED:
            guard.halt(cause=cause, now_ns=max(now, 0))
        self._journal_transition(now, before, "HALTED", cause)
        await self._cancel_all(now)

    def _journal_transition(self, now: int, old: str, new: str, cause: str) -> None:
        if self.journal is not None:
            self.journal.record_transition(t_ns=now, old=old, new=new, cause=cause)
