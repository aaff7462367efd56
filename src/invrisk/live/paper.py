"""The paper gateway: a local matching engine behind the gateway protocol, on a replayed feed.

:class:`PaperGateway` replays an event array (a recording or a synthetic market) as the market
feed and matches our orders against it with the backtester's exchange simulation (the same
numba kernel, queue, latency and fee models as :func:`invrisk.backtest.run_backtest`: not
"filled in full at the limit"). Feed time is the events' local receive time; ``speed`` sets
how it maps to wall time (1.0 real time, 10.0 ten times faster, 0 as fast as possible).

Protocol (what the runtime uses; a live gateway offers the same):

- :meth:`market_batches` — an async iterator of event batches, each the rows received up to a
  feed time (at most ``batch_ns`` apart); the exchange side is simulated up to that time first.
- :meth:`submit` / :meth:`cancel` / :meth:`amend` — an order, a cancel or an amend leaves at
  the current feed time and reaches the simulated venue after the entry latency (amends follow
  the backtester's rules: see :mod:`invrisk.backtest`).
- :meth:`order_events` — acknowledgements, rejects, fills, cancels, amend answers, each an
  :class:`OrderEvent` whose local time has come (the response latency applied), in order.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import numpy as np

from invrisk.backtest import _sim_kernels_python as _k
from invrisk.backtest.engine import DEFAULT_LATENCY, DEFAULT_QUEUE, NO_FEES, _check_events, _Run
from invrisk.backtest.models import Fees, LatencyModel, QueueModel
from invrisk.data.events import EventArray
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument
from invrisk.order_manager import AmendOrder, CancelOrder, NewOrder

__all__ = ["OrderEvent", "PaperGateway"]

_KINDS = {
    _k.R_ACK: "ack",
    _k.R_REJECT: "reject",
    _k.R_FILL: "fill",
    _k.R_CANCELLED: "cancelled",
    _k.R_CANCEL_REJECT: "cancel_reject",
    _k.R_EXPIRED: "expired",
    _k.R_AMEND_ACK: "amend_ack",
    _k.R_AMEND_REJECT: "amend_reject",
}
_WITH_REASON = ("reject", "cancel_reject", "amend_reject")
_REASONS = {
    _k.REJ_POST_ONLY_CROSS: "post_only_would_cross",
    _k.REJ_OUT_OF_WINDOW: "price_outside_book_window",
    _k.REJ_UNKNOWN_ORDER: "unknown_order",
    _k.REJ_ALREADY_DONE: "already_done",
    _k.REJ_AMEND_QTY: "amend_qty_not_above_filled",
}


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """What the venue says about one of our orders.

    ``kind``: ``ack``, ``reject``, ``fill``, ``cancelled``, ``cancel_reject``, ``expired``,
    ``amend_ack`` (the order's new terms in force: ``price`` and ``qty``, its total size in
    contracts, fills included), ``amend_reject`` (the order keeps its old terms); ``fill_id``
    the venue's trade id (fills only; unique per fill), ``reason`` for rejects.
    """

    kind: str
    order_id: int
    local_ns: int
    exch_ns: int
    price: float = float("nan")
    qty: float = 0.0
    fee: float = 0.0
    is_maker: bool = False
    fill_id: str = ""
    reason: str = ""


class PaperGateway:
    """Paper trading on a replayed feed (see the module docstring)."""

    def __init__(
        self,
        *,
        events: EventArray,
        instruments: Sequence[Instrument],
        fees: Fees | Sequence[Fees] = NO_FEES,
        latency: LatencyModel = DEFAULT_LATENCY,
        queue: QueueModel = DEFAULT_QUEUE,
        partial_fills: bool = True,
        speed: float = 0.0,
        batch_ns: int = 10_000_000,
    ) -> None:
        if not (np.isfinite(speed) and speed >= 0.0):
            raise InvalidArgumentError("speed", speed, "a number >= 0 (0: as fast as possible)")
        if isinstance(batch_ns, bool) or not isinstance(batch_ns, int) or batch_ns <= 0:
            raise InvalidArgumentError("batch_ns", batch_ns, "an int number of ns > 0")
        n = len(instruments)
        scan = _check_events(events, instruments)
        fee_list = [fees] * n if isinstance(fees, Fees) else list(fees)
        self.events = events.view(np.ndarray)
        self.instruments = tuple(instruments)
        self._run = _Run(
            events=self.events,
            scan=scan,
            instruments=instruments,
            fees=fee_list,
            latency=latency,
            queue=queue,
            partial_fills=partial_fills,
            funding_interval_ns=0,
            margin_ticks=2_000,
            max_ticks=2_000_000,
            backend="numba",
            order_capacity=64,
            response_capacity=4096,
        )
        self.speed = float(speed)
        self.batch_ns = batch_ns
        # fill ids unique across gateway instances (a restarted runtime gets a new session)
        self.session = uuid.uuid4().hex[:12]
        self.now_ns = int(self.events["local_ns"][0])
        self._row = 0
        self._pending: list[OrderEvent] = []
        self._n_fills = 0
        self._connected = True
        self.reconnects = 0

    # -- orders ---------------------------------------------------------------------------------

    async def submit(self, order: NewOrder) -> None:
        """Send ``order`` at the current feed time."""
        if not self._connected:
            raise ConnectionError("paper gateway disconnected")
        self._run.send_new(order, self.now_ns)

    async def cancel(self, cancel: CancelOrder) -> None:
        """Send a cancel at the current feed time."""
        if not self._connected:
            raise ConnectionError("paper gateway disconnected")
        self._run.send_cancel(cancel, self.now_ns)

    async def amend(self, amend: AmendOrder) -> None:
        """Send an amend (new price and total size) of an order at the current feed time; the
        answer comes back as an ``amend_ack`` or ``amend_reject`` event (at once, reason
        ``unknown_order``, for an order the simulation no longer holds: released, or never
        sent)."""
        if not self._connected:
            raise ConnectionError("paper gateway disconnected")
        run = self._run
        k = run.slot_of.get(amend.order_id)
        if k is None or run.o_i[k, _k.OI_AMEND] != _k.INT64_MAX:
            reason = "unknown_order" if k is None else "amend_in_flight"
            now = self.now_ns
            self._pending.append(
                OrderEvent("amend_reject", amend.order_id, now, now, reason=reason)
            )
            return
        run.send_amend(amend, self.now_ns)

    def release(self, order_id: int) -> None:
        """The runtime is done with a terminal order: its simulation slot can be reused."""
        self._run.release(order_id)

    def take_order_events(self) -> list[OrderEvent]:
        """Order events whose local time has come, in order (and forget them)."""
        ready = [e for e in self._pending if e.local_ns <= self.now_ns]
        self._pending = [e for e in self._pending if e.local_ns > self.now_ns]
        return ready

    # -- market ---------------------------------------------------------------------------------

    async def market_batches(self) -> AsyncIterator[EventArray]:
        """Batches of market events in feed-time order, paced by ``speed``."""
        ev = self.events
        local = ev["local_ns"]
        n = ev.shape[0]
        start_feed = int(local[0])
        start_wall = time.perf_counter()
        while self._row < n:
            stop = int(local[self._row]) + self.batch_ns
            hi = int(np.searchsorted(local, stop, side="right"))
            stop_ns = int(local[hi - 1])
            if self.speed > 0.0:
                due = start_wall + (stop_ns - start_feed) / 1e9 / self.speed
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)  # let the runtime's other tasks run
            self._advance(stop_ns)
            batch = ev[self._row : hi]
            self._row = hi
            yield batch
        self._advance(_k.INT64_MAX - 1)

    def _advance(self, stop_ns: int) -> None:
        run = self._run
        while True:
            code = run.advance(stop_ns, False)
            if run.state[_k.S_N_RESP]:
                for r in run.take_responses():
                    self._pending.append(self._event(r))
            if code != _k.STOP_BUFFER:
                break
        self._pending.sort(key=lambda e: e.local_ns)
        if stop_ns < _k.INT64_MAX - 1:
            self.now_ns = max(self.now_ns, stop_ns)
        else:  # the feed ended: everything still travelling is delivered
            last = max((e.local_ns for e in self._pending), default=self.now_ns)
            self.now_ns = max(self.now_ns, last)

    def _event(
        self, r: tuple[int, int, int, int, int, int, int, float, float, float, float]
    ) -> OrderEvent:
        local, seq, kind, oid, code, exch, maker, price, qty, fee, _mid = r
        name = _KINDS.get(kind)
        if name is None:  # funding responses: not an order event
            return OrderEvent("funding", -1, local, exch, price, qty, fee)
        fill_id = ""
        if name == "fill":
            self._n_fills += 1
            fill_id = f"paper-{self.session}-{seq}"
        return OrderEvent(
            kind=name,
            order_id=oid,
            local_ns=local,
            exch_ns=exch,
            price=price,
            qty=qty,
            fee=fee,
            is_maker=maker == 1,
            fill_id=fill_id,
            reason=_REASONS.get(code, "") if name in _WITH_REASON else "",
        )

    # -- fault injection (tests) ----------------------------------------------------------------

    def disconnect(self) -> None:
        """Refuse orders until :meth:`reconnect` (a dropped connection)."""
        self._connected = False

    def reconnect(self) -> None:
        if not self._connected:
            self.reconnects += 1
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    async def sync(self) -> None:
        """Nothing to fetch: the simulated venue never loses a message."""

    async def close(self) -> None:
        """Nothing to release."""

    def open_order_ids(self) -> list[int]:
        """Orders the simulated venue holds live (for reconciliation)."""
        run = self._run
        return [
            int(oid)
            for oid, k in run.slot_of.items()
            if run.o_i[k, _k.OI_STATUS] in (_k.O_PENDING, _k.O_RESTING)
        ]
