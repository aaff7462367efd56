"""Order manager: reconcile a strategy's quote target with our resting orders (layer 4).

The same object runs under the backtester and the live runtime. It holds no quoting maths and
never talks to a venue: :meth:`OrderManager.reconcile` and :meth:`OrderManager.hedge` return
actions (:class:`NewOrder`, :class:`AmendOrder`, :class:`CancelOrder`) for the engine to pass
through the RiskGuard to the venue, and the engine reports back what happened (``on_ack``,
``on_fill``, ...).

Order life cycle (:class:`OrderStatus`)::

    PENDING_NEW ──ack──► OPEN ──cancel sent──► PENDING_CANCEL ──cancel ack──► CANCELLED
      │   └──────────cancel sent─────────────────────►│ ──cancel reject──► OPEN (1)
      └──reject──► REJECTED       ▲ │                 ▲
          amend ack (new terms) / │ │ amend sent      │ cancel sent
          amend reject (old terms)│ ▼                 │
                              PENDING_AMEND ──────────┘
    any live state ──fill──► FILLED once leaves <= 1e-12 qty (2);  IOC ──expired──► CANCELLED

    (1) PENDING_AMEND instead while the order's amend is unanswered.
    (2) For an order with an amend in flight: of the larger of its two totals; or when the
        amend's answer leaves its fills within 1e-12 of the total then in force.

A fill for a PENDING_NEW order (ack lost or late) is applied and makes it OPEN; a fill for a
PENDING_CANCEL order (cancel too late) is applied and leaves it PENDING_CANCEL; a fill for a
PENDING_AMEND order is applied to the order and leaves it PENDING_AMEND. ``on_expired``
(an IOC remainder cancelled by the venue) makes an order CANCELLED. Terminal orders (FILLED,
CANCELLED, REJECTED) leave the live set; the last ``recent_capacity`` of them are kept so that
a late event (typically a fill that raced a cancel ack) is still applied and reported. Events
for a terminal order that change nothing (a duplicate cancel ack, an ack after the fill) are
ignored; an id never issued, or evicted from the recent set, raises
:class:`~invrisk.errors.InvalidArgumentError` naming ``order_id``.

Reconcile rules (:meth:`OrderManager.reconcile`), for ``target.instrument`` only:

1. Candidates are the live *quote* orders of the instrument (placed by ``reconcile``, status
   PENDING_NEW, OPEN or PENDING_AMEND). PENDING_CANCEL orders are going away: they never
   satisfy a level and are never cancelled twice. IOC hedge orders are not quotes and are
   left alone.
2. Each side is matched on its own: bids (side +1) against ``target.bids``, asks (side -1)
   against ``target.asks``. An order satisfies a level if its price is within
   ``price_tolerance_ticks`` ticks of the level price (``round(|Δprice| / tick) <= tol``,
   never an exact float comparison) and its leaves (``qty - filled``) is within
   ``max(qty_tolerance, 1e-9)`` of the level qty, relative to the level qty.
3. Each order satisfies at most one level and each level at most one order: all satisfying
   (order, level) pairs are taken greedily by distance in ticks, then level rank (best first),
   then order id (oldest first, it has queue priority).
4. Every candidate left unmatched is cancelled (:class:`CancelOrder`, -> PENDING_CANCEL); every
   level left unmatched gets a :class:`NewOrder` (-> PENDING_NEW) at exactly the level price
   and qty, tif POST_ONLY if ``target.post_only`` else GTC. The tif of a resting order is not
   compared (it only matters on arrival).
5. The returned list holds all cancels first (bids then asks), then the new orders (bids best
   first, then asks best first), so a venue checking positions sees the cancels first.
6. Level prices are not rounded: a level more than 1e-9 (relative) off the instrument's tick
   grid raises :class:`~invrisk.errors.InvalidArgumentError` naming ``price``, before any
   state changes.

Amend mode (``OrderManager(..., amend=True)``; off by default, and then nothing above
changes): rule 4 first pairs the unmatched candidates that the venue has acknowledged (status
OPEN) with the unmatched levels of the same side, the best-priced order (bids highest first,
asks lowest first; then oldest) with the best level, and so on; each pair becomes one
:class:`AmendOrder` (-> PENDING_AMEND) that moves the order to exactly the level's price and
leaves instead of a cancel and a new order. Candidates left over are cancelled and levels left
over get new orders, as above; a PENDING_NEW order is never amended (a venue edits only the
orders it holds). The returned list holds the cancels, then the amends (bids then asks), then
the new orders.

* **Quantities are totals.** Venues amend an order's total size, fills included (Deribit's
  ``private/edit`` ``amount``; Gate.io's futures amendment "new order size, including filled
  part"), so :attr:`AmendOrder.qty` is ``filled + wanted leaves``, with ``filled`` as known
  here when the amend is sent. If the order fills more on the way, the venue's rule caps it:
  the order can never fill more than the new total, and an amend whose total is not above
  what has filled by the time it arrives is rejected by the venue (the simulated exchange
  does so).
* **In flight.** A PENDING_AMEND order keeps its old (acknowledged) ``price`` and ``qty`` and
  carries the requested terms in ``amend_price`` and ``amend_qty``. For reconcile it is a
  candidate at its requested terms (rule 2); if those satisfy no level it is cancelled (it is
  never amended twice before an answer). Fills apply to it and may reach the larger of the
  two totals; it becomes FILLED when they do, or when the answer leaves it fully filled at the
  total then in force (until then either answer could leave it live).
* ``on_amend_ack`` makes the requested terms (or those the venue reports) the order's ``price``
  and ``qty`` and returns it to OPEN (a PENDING_CANCEL order stays PENDING_CANCEL);
  ``on_amend_reject`` keeps the old terms and returns it to OPEN. An answer for a terminal
  order changes nothing (the order keeps the unanswered terms in ``amend_price``/``amend_qty``,
  so that a late fill up to them is still applied). ``resting_qty`` counts a PENDING_AMEND order
  at the larger of its two totals (the worst case for risk checks).

Order ids are consecutive ints from ``first_order_id``, never reused. ``now_ns`` (int64 ns UTC,
the engine's clock) must not decrease from one call to the next. ``on_event(kind, order)`` is
called after every state change with kind one of ``"new"``, ``"ack"``, ``"reject"``,
``"fill"``, ``"cancel_sent"``, ``"cancelled"``, ``"cancel_reject"``, ``"expired"``,
``"amend_sent"``, ``"amended"``, ``"amend_reject"``; the order is the live, mutable record
(copy what you keep).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple, TypeAlias

from invrisk.errors import InvalidArgumentError
from invrisk.strategy import HedgeIntent, QuoteLevel, QuoteTarget, TimeInForce

__all__ = [
    "Action",
    "AmendOrder",
    "CancelOrder",
    "ManagedOrder",
    "NewOrder",
    "OrderManager",
    "OrderStatus",
]

_QTY_REL_EPS = 1e-9  # leaves == level qty up to this relative error when qty_tolerance = 0
_GRID_REL_EPS = 1e-9  # a level price may be this far (relative) off the tick grid
_FILLED_REL_EPS = 1e-12  # an order is FILLED when leaves <= this * qty


class OrderStatus(IntEnum):
    """State of one of our orders: PENDING_NEW, OPEN, PENDING_CANCEL and PENDING_AMEND are
    live, FILLED, CANCELLED and REJECTED terminal (PENDING_AMEND comes last so that the codes
    of the others, stored in backtest results, are those of before amend mode existed)."""

    PENDING_NEW = 0
    OPEN = 1
    PENDING_CANCEL = 2
    FILLED = 3
    CANCELLED = 4
    REJECTED = 5
    PENDING_AMEND = 6


_PENDING_NEW, _OPEN, _PENDING_CANCEL, _FILLED, _CANCELLED, _REJECTED, _PENDING_AMEND = OrderStatus


@dataclass(slots=True)
class ManagedOrder:
    """The order manager's record of one order (mutable; updated as events arrive).

    ``side`` +1 buy / -1 sell; ``price`` in the instrument's quote currency; ``qty`` (the
    total size, fills included) and ``filled`` in contracts; ``created_ns``/``updated_ns``
    engine time. ``reason`` says why it was placed (``"quote"`` or the hedge intent's reason)
    and is replaced by the venue's reason on a reject, a cancel reject or an amend reject.
    ``last_fill_qty``/``last_fill_price`` describe the most recent fill (for the ``"fill"``
    event; NaN price before any fill). ``amend_price``/``amend_qty`` are the terms of the
    amend in flight (NaN when none): ``price`` and ``qty`` stay the acknowledged terms until
    the venue answers.
    """

    order_id: int
    instrument: int
    side: int
    price: float
    qty: float
    tif: TimeInForce
    status: OrderStatus
    filled: float
    created_ns: int
    updated_ns: int
    reason: str
    last_fill_qty: float = 0.0
    last_fill_price: float = math.nan
    amend_price: float = math.nan
    amend_qty: float = math.nan

    @property
    def leaves(self) -> float:
        """Quantity not yet filled, ``qty - filled``."""
        return self.qty - self.filled

    @property
    def live(self) -> bool:
        """True while PENDING_NEW, OPEN, PENDING_CANCEL or PENDING_AMEND."""
        return self.status <= _PENDING_CANCEL or self.status == _PENDING_AMEND

    @property
    def amend_pending(self) -> bool:
        """True while an amend of this order is unanswered."""
        return self.amend_qty == self.amend_qty  # not NaN

    @property
    def worst_qty(self) -> float:
        """The larger of the acknowledged total and the total of an amend in flight."""
        q = self.amend_qty
        return q if q > self.qty else self.qty  # NaN compares False: qty


# The actions are named tuples, immutable like frozen dataclasses but built in a third of the
# time (a few are made at every decision of a backtest).


class NewOrder(NamedTuple):
    """Place ``qty`` contracts at limit ``price`` (side +1 buy / -1 sell)."""

    order_id: int
    instrument: int
    side: int
    price: float
    qty: float
    tif: TimeInForce
    reason: str


class CancelOrder(NamedTuple):
    """Cancel order ``order_id``."""

    order_id: int
    instrument: int


class AmendOrder(NamedTuple):
    """Change resting order ``order_id`` to limit ``price`` and a total size of ``qty``
    contracts (fills included: ``qty`` = filled + the wanted leaves; see the module docs).
    ``side`` (+1 buy / -1 sell) is the order's own, for the RiskGuard and the venue."""

    order_id: int
    instrument: int
    side: int
    price: float
    qty: float


Action: TypeAlias = NewOrder | AmendOrder | CancelOrder
_Book: TypeAlias = dict[int, ManagedOrder]  # order id -> order, one side of one instrument
_Levels: TypeAlias = tuple[QuoteLevel, ...]


class OrderManager:
    """Reconciles quote targets with resting orders and tracks in-flight state.

    Parameters
    ----------
    tick_sizes
        Tick size of each instrument (price units), indexed by instrument number.
    price_tolerance_ticks
        A resting order within this many ticks of a wanted level is kept (default 0: exact).
    qty_tolerance
        Relative tolerance on leaves vs. level qty, in [0, 1) (default 0: 1e-9 relative).
    first_order_id
        The first order id issued (>= 0); ids then increase by one.
    on_event
        Called as ``on_event(kind, order)`` after each state change (see the module docs).
    recent_capacity
        How many terminal orders are kept for late events (default 10,000).
    amend
        Amend resting quotes to new levels instead of cancelling and replacing them (default
        False; see "Amend mode" in the module docs).

    Examples
    --------
    >>> from invrisk.strategy import QuoteTarget
    >>> om = OrderManager(tick_sizes=[0.1], price_tolerance_ticks=1)
    >>> target = QuoteTarget.two_sided(0, bid=99.9, ask=100.1, bid_qty=1.0, ask_qty=1.0)
    >>> [type(a).__name__ for a in om.reconcile(target, now_ns=0)]
    ['NewOrder', 'NewOrder']
    >>> moved = QuoteTarget.two_sided(0, bid=100.0, ask=100.2, bid_qty=1.0, ask_qty=1.0)
    >>> om.reconcile(moved, now_ns=1)  # one tick: within tolerance, nothing to do
    []
    """

    def __init__(
        self,
        *,
        tick_sizes: Sequence[float],
        price_tolerance_ticks: int = 0,
        qty_tolerance: float = 0.0,
        first_order_id: int = 1,
        on_event: Callable[[str, ManagedOrder], None] | None = None,
        recent_capacity: int = 10_000,
        amend: bool = False,
    ) -> None:
        ticks = [float(t) for t in tick_sizes]
        if not ticks or not all(math.isfinite(t) and t > 0.0 for t in ticks):
            raise InvalidArgumentError("tick_sizes", tick_sizes, "a non-empty list of ticks > 0")
        _check_int("price_tolerance_ticks", price_tolerance_ticks)
        if not (math.isfinite(qty_tolerance) and 0.0 <= qty_tolerance < 1.0):
            raise InvalidArgumentError("qty_tolerance", qty_tolerance, "a number in [0, 1)")
        _check_int("first_order_id", first_order_id)
        _check_int("recent_capacity", recent_capacity)
        if not isinstance(amend, bool):
            raise InvalidArgumentError("amend", amend, "True or False")
        self._amend = amend
        self._ticks = ticks
        # round(|Δ| / tick) <= tol  <=>  |Δ| < (tol + 1/2) tick for prices on the grid
        self._bands = [(price_tolerance_ticks + 0.5) * t for t in ticks]
        self._qty_rel = max(float(qty_tolerance), _QTY_REL_EPS)
        self._next_id = first_order_id
        self._on_event = on_event
        self._recent_capacity = recent_capacity
        self._now_ns: int | None = None
        self._live: dict[int, ManagedOrder] = {}
        # per instrument, (bids, asks): quote orders reconcile may match (PENDING_NEW or OPEN)
        self._quoting: list[tuple[_Book, _Book]] = [({}, {}) for _ in ticks]
        self._recent: OrderedDict[int, ManagedOrder] = OrderedDict()
        self._terminal_counts = {_FILLED: 0, _CANCELLED: 0, _REJECTED: 0}
        self._n_sent = 0
        self._n_cancels_sent = 0
        self._n_amends_sent = 0

    # -- counters and queries ------------------------------------------------------------

    @property
    def n_sent(self) -> int:
        """New orders issued so far (quotes and hedges)."""
        return self._n_sent

    @property
    def n_cancels_sent(self) -> int:
        """Cancels issued so far."""
        return self._n_cancels_sent

    @property
    def n_amends_sent(self) -> int:
        """Amends issued so far."""
        return self._n_amends_sent

    @property
    def amend(self) -> bool:
        """Whether reconcile amends resting quotes (amend mode)."""
        return self._amend

    @property
    def terminal_counts(self) -> dict[OrderStatus, int]:
        """How many orders ended FILLED, CANCELLED and REJECTED (a copy)."""
        return dict(self._terminal_counts)

    def order(self, order_id: int) -> ManagedOrder:
        """The record of a live or recently terminal order."""
        order = self._live.get(order_id) or self._recent.get(order_id)
        if order is None:
            raise InvalidArgumentError("order_id", order_id, "a live or recently terminal order")
        return order

    def live_orders(self, instrument: int | None = None) -> list[ManagedOrder]:
        """Live orders (all instruments, or one), oldest first."""
        if instrument is None:
            return list(self._live.values())
        return [o for o in self._live.values() if o.instrument == instrument]

    def resting_qty(self, instrument: int, side: int, *, excluding: int | None = None) -> float:
        """Sum of the leaves of live orders of ``instrument`` on ``side`` (+1 bids, -1 asks),
        an order with an amend in flight counted at the larger of its two totals; without
        order ``excluding`` if given (the order being amended)."""
        self._check_instrument(instrument)
        if side not in (1, -1):
            raise InvalidArgumentError("side", side, "+1 (buy) or -1 (sell)")
        return math.fsum(
            o.worst_qty - o.filled
            for o in self._live.values()
            if o.instrument == instrument and o.side == side and o.order_id != excluding
        )

    def resting_by_side(self) -> tuple[list[float], list[float]]:
        """Resting leaves per instrument, bids and asks: one pass over the live orders (an
        order with an amend in flight at the larger of its two totals)."""
        n = len(self._ticks)
        bids: list[list[float]] = [[] for _ in range(n)]
        asks: list[list[float]] = [[] for _ in range(n)]
        for o in self._live.values():
            (bids if o.side > 0 else asks)[o.instrument].append(o.worst_qty - o.filled)
        return [math.fsum(b) for b in bids], [math.fsum(a) for a in asks]

    # -- decisions -> actions -------------------------------------------------------------

    def reconcile(self, target: QuoteTarget, *, now_ns: int) -> list[Action]:
        """Cancels, then amends (amend mode), then new orders that turn our resting quotes
        into ``target``."""
        inst = target.instrument
        self._check_instrument(inst)
        tick = self._ticks[inst]
        bids = target.bids
        asks = target.asks
        for lv in bids:
            _check_grid(lv.price, tick, inst)
        for lv in asks:
            _check_grid(lv.price, tick, inst)
        self._advance(now_ns)
        book_bids, book_asks = self._quoting[inst]
        actions: list[Action] = []
        amends: list[Action] | None = [] if self._amend else None
        new_bids = self._match(book_bids, bids, inst, actions, now_ns, amends)
        new_asks = self._match(book_asks, asks, inst, actions, now_ns, amends)
        if amends:
            actions.extend(amends)
        if new_bids or new_asks:
            tif = TimeInForce.POST_ONLY if target.post_only else TimeInForce.GTC
            for lv in new_bids:
                actions.append(self._place(inst, 1, lv.price, lv.qty, tif, "quote", now_ns))
            for lv in new_asks:
                actions.append(self._place(inst, -1, lv.price, lv.qty, tif, "quote", now_ns))
        return actions

    def hedge(
        self, intent: HedgeIntent, *, best_bid: float, best_ask: float, now_ns: int
    ) -> NewOrder | None:
        """An IOC order for ``intent``; None if there is no price to send it at.

        The limit is ``intent.limit_price`` rounded to the tick grid in the cautious direction
        (buys down, sells up), or if None the opposite best price (buy at ``best_ask``, sell at
        ``best_bid``). Returns None if that price is NaN (or the rounded cap is below a tick).
        """
        inst = intent.instrument
        self._check_instrument(inst)
        self._advance(now_ns)
        side = 1 if intent.qty > 0.0 else -1
        limit = intent.limit_price
        if limit is None:
            price = best_ask if side > 0 else best_bid
            if not (math.isfinite(price) and price > 0.0):
                return None
        elif math.isnan(limit):
            return None
        elif not (math.isfinite(limit) and limit > 0.0):
            raise InvalidArgumentError("limit_price", limit, "a finite price > 0, None or NaN")
        else:
            price = _cautious_grid_price(limit, self._ticks[inst], side)
            if price <= 0.0:
                return None
        reason = intent.reason or "hedge"
        return self._place(inst, side, price, abs(intent.qty), TimeInForce.IOC, reason, now_ns)

    def cancel(self, order_id: int, *, now_ns: int) -> CancelOrder | None:
        """Cancel one live order (None if it is terminal or already being cancelled): e.g.
        an order whose amend the engine could not send (refused by the RiskGuard)."""
        order = self._lookup(order_id, now_ns)
        if not order.live or order.status == _PENDING_CANCEL:
            return None
        return self._cancel(order, now_ns)

    def cancel_all(self, *, instrument: int | None = None, now_ns: int) -> list[CancelOrder]:
        """Cancel every live order (of one instrument, or all) not already being cancelled."""
        if instrument is not None:
            self._check_instrument(instrument)
        self._advance(now_ns)
        return [
            self._cancel(o, now_ns)
            for o in list(self._live.values())
            if (instrument is None or o.instrument == instrument) and o.status != _PENDING_CANCEL
        ]

    # -- what the engine reports ----------------------------------------------------------

    def on_ack(self, order_id: int, *, now_ns: int) -> None:
        """The venue accepted a new order: PENDING_NEW -> OPEN (PENDING_CANCEL stays)."""
        order = self._lookup(order_id, now_ns)
        if order.status == _PENDING_NEW:  # the most frequent event: OPEN is not terminal
            order.status = _OPEN
            self._touch(order, "ack", now_ns)

    def on_reject(self, order_id: int, *, reason: str, now_ns: int) -> None:
        """The venue or the RiskGuard rejected a new order -> REJECTED."""
        order = self._lookup(order_id, now_ns)
        if order.live:
            order.reason = reason
            self._set(order, _REJECTED, "reject", now_ns)

    def on_fill(self, order_id: int, *, qty: float, price: float, now_ns: int) -> None:
        """``qty`` contracts of the order traded at ``price`` (in any live or recent state)."""
        if not (math.isfinite(qty) and qty > 0.0):
            raise InvalidArgumentError("qty", qty, "a finite fill quantity > 0")
        if not (math.isfinite(price) and price > 0.0):
            raise InvalidArgumentError("price", price, "a finite fill price > 0")
        order = self._lookup(order_id, now_ns)
        total = order.qty
        if order.amend_qty > total:  # an amend in flight may have raised it (NaN: False)
            total = order.amend_qty
        leaves = total - order.filled
        if qty > leaves + _QTY_REL_EPS * total:
            raise InvalidArgumentError("qty", qty, f"at most the leaves {leaves} of {order_id}")
        order.filled += qty
        order.last_fill_qty = qty
        order.last_fill_price = price
        # done whatever the answer to an amend in flight (filled up to the larger total)
        done = total - order.filled <= _FILLED_REL_EPS * total
        if order.live:
            if done:
                self._set(order, _FILLED, "fill", now_ns)
                return
            if order.status == _PENDING_NEW:
                order.status = _OPEN
        elif done and order.status != _FILLED:  # a late fill completes a pruned order
            self._terminal_counts[order.status] -= 1
            self._terminal_counts[_FILLED] += 1
            order.status = _FILLED
        self._touch(order, "fill", now_ns)

    def on_cancel_ack(self, order_id: int, *, now_ns: int) -> None:
        """The venue cancelled the order -> CANCELLED (ignored if already terminal)."""
        order = self._lookup(order_id, now_ns)
        if order.live:
            self._set(order, _CANCELLED, "cancelled", now_ns)

    def on_cancel_reject(self, order_id: int, *, reason: str, now_ns: int) -> None:
        """A cancel failed (it arrived too late): a live order goes back to OPEN (or to
        PENDING_AMEND while its amend is unanswered)."""
        order = self._lookup(order_id, now_ns)
        back = _PENDING_AMEND if order.amend_pending else _OPEN
        if order.live and order.status != back:
            order.reason = reason
            order.status = back
            if order.tif != TimeInForce.IOC:
                self._quoting[order.instrument][order.side < 0][order_id] = order
            self._touch(order, "cancel_reject", now_ns)

    def on_amend_ack(
        self,
        order_id: int,
        *,
        now_ns: int,
        price: float | None = None,
        qty: float | None = None,
    ) -> None:
        """The venue applied the amend in flight: its terms become the order's ``price`` and
        ``qty`` (or ``price``/``qty`` if given: the terms the venue reports, e.g. a price it
        adjusted) and a PENDING_AMEND order is OPEN again (FILLED if its fills reach the new
        total). Ignored for a terminal order or one without an amend in flight."""
        order = self._lookup(order_id, now_ns)
        if not order.live or not order.amend_pending:
            return
        new_price = order.amend_price if price is None else float(price)
        new_qty = order.amend_qty if qty is None else float(qty)
        if not (math.isfinite(new_price) and new_price > 0.0):
            raise InvalidArgumentError("price", price, "a finite price > 0, or None")
        if not (math.isfinite(new_qty) and new_qty > 0.0):
            raise InvalidArgumentError("qty", qty, "a finite total size > 0, or None")
        order.price = new_price
        order.qty = new_qty
        self._end_amend(order, "amended", now_ns)

    def on_amend_reject(self, order_id: int, *, reason: str, now_ns: int) -> None:
        """The venue (or the engine, for an amend it could not send) refused the amend in
        flight: the order keeps its old ``price`` and ``qty`` and a PENDING_AMEND order is
        OPEN again (FILLED if its fills reach the old total). Ignored for a terminal order or
        one without an amend in flight."""
        order = self._lookup(order_id, now_ns)
        if not order.live or not order.amend_pending:
            return
        order.reason = reason
        self._end_amend(order, "amend_reject", now_ns)

    def on_expired(self, order_id: int, *, now_ns: int) -> None:
        """The venue cancelled the rest of an IOC order -> CANCELLED."""
        order = self._lookup(order_id, now_ns)
        if order.live:
            self._set(order, _CANCELLED, "expired", now_ns)

    # -- internals ------------------------------------------------------------------------

    def _end_amend(self, order: ManagedOrder, kind: str, now_ns: int) -> None:
        """Clear the amend in flight; back to OPEN (PENDING_CANCEL stays); FILLED if done."""
        order.amend_price = math.nan
        order.amend_qty = math.nan
        if order.qty - order.filled <= _FILLED_REL_EPS * order.qty:
            self._set(order, _FILLED, kind, now_ns)
            return
        if order.status == _PENDING_AMEND:
            order.status = _OPEN
        self._touch(order, kind, now_ns)

    def _match(
        self,
        book: _Book,
        levels: _Levels,
        inst: int,
        actions: list[Action],
        now_ns: int,
        amends: list[Action] | None = None,
    ) -> Sequence[QuoteLevel]:
        """Cancel the orders of ``book`` that satisfy no level (amend mode: amend OPEN ones to
        unmatched levels first, into ``amends``); return the levels left for new orders."""
        if not book:
            return levels
        tick = self._ticks[inst]
        band = self._bands[inst]
        qty_rel = self._qty_rel
        if len(book) == 1 and len(levels) == 1:  # the common case, without allocations
            lv = levels[0]
            for o in book.values():
                price, qty = o.price, o.qty
                if o.status == _PENDING_AMEND:  # a candidate at its requested terms
                    price, qty = o.amend_price, o.amend_qty
                if abs(price - lv.price) < band and abs(qty - o.filled - lv.qty) <= (
                    qty_rel * lv.qty
                ):
                    return ()
        pairs: list[tuple[int, int, int]] = []
        for rank, lv in enumerate(levels):
            for o in book.values():
                price, qty = o.price, o.qty
                if o.status == _PENDING_AMEND:
                    price, qty = o.amend_price, o.amend_qty
                gap = abs(price - lv.price)
                if gap < band and abs(qty - o.filled - lv.qty) <= qty_rel * lv.qty:
                    pairs.append((round(gap / tick), rank, o.order_id))
        pairs.sort()
        taken_levels: set[int] = set()
        kept: set[int] = set()
        for _, rank, order_id in pairs:
            if rank not in taken_levels and order_id not in kept:
                taken_levels.add(rank)
                kept.add(order_id)
        left = [o for o in book.values() if o.order_id not in kept]
        if amends is not None and left:
            free = [lv for rank, lv in enumerate(levels) if rank not in taken_levels]
            # the venue's acknowledged orders, best price first, then oldest
            movable = sorted(
                (o for o in left if o.status == _OPEN),
                key=lambda o: (-o.side * o.price, o.order_id),
            )
            n = min(len(movable), len(free))
            for o, lv in zip(movable[:n], free[:n], strict=True):
                amends.append(self._amend_to(o, lv, now_ns))
            moved = {o.order_id for o in movable[:n]}
            left = [o for o in left if o.order_id not in moved]
            free = free[n:]
            for o in left:
                actions.append(self._cancel(o, now_ns))
            return free
        for o in left:
            actions.append(self._cancel(o, now_ns))
        return [lv for rank, lv in enumerate(levels) if rank not in taken_levels]

    def _amend_to(self, order: ManagedOrder, level: QuoteLevel, now_ns: int) -> AmendOrder:
        """Send an amend of an OPEN order to ``level`` (total = filled + the level's qty)."""
        total = order.filled + level.qty
        order.amend_price = level.price
        order.amend_qty = total
        order.status = _PENDING_AMEND
        self._n_amends_sent += 1
        self._touch(order, "amend_sent", now_ns)
        return AmendOrder(order.order_id, order.instrument, order.side, level.price, total)

    def _place(
        self,
        instrument: int,
        side: int,
        price: float,
        qty: float,
        tif: TimeInForce,
        reason: str,
        now_ns: int,
    ) -> NewOrder:
        order_id = self._next_id
        self._next_id = order_id + 1
        order = ManagedOrder(
            order_id, instrument, side, price, qty, tif, _PENDING_NEW, 0.0, now_ns, now_ns, reason
        )
        self._live[order_id] = order
        if tif != TimeInForce.IOC:
            self._quoting[instrument][side < 0][order_id] = order
        self._n_sent += 1
        if self._on_event is not None:
            self._on_event("new", order)
        return NewOrder(order_id, instrument, side, price, qty, tif, reason)

    def _cancel(self, order: ManagedOrder, now_ns: int) -> CancelOrder:
        order.status = _PENDING_CANCEL
        self._quoting[order.instrument][order.side < 0].pop(order.order_id, None)
        self._n_cancels_sent += 1
        self._touch(order, "cancel_sent", now_ns)
        return CancelOrder(order.order_id, order.instrument)

    def _set(self, order: ManagedOrder, status: OrderStatus, kind: str, now_ns: int) -> None:
        """Move a live order to ``status``; terminal orders leave the live set."""
        order.status = status
        if _FILLED <= status <= _REJECTED:
            order_id = order.order_id
            del self._live[order_id]
            self._quoting[order.instrument][order.side < 0].pop(order_id, None)
            self._terminal_counts[status] += 1
            self._recent[order_id] = order
            if len(self._recent) > self._recent_capacity:
                self._recent.popitem(last=False)
        self._touch(order, kind, now_ns)

    def _touch(self, order: ManagedOrder, kind: str, now_ns: int) -> None:
        order.updated_ns = now_ns
        if self._on_event is not None:
            self._on_event(kind, order)

    def _lookup(self, order_id: int, now_ns: int) -> ManagedOrder:
        order = self._live.get(order_id) or self.order(order_id)
        self._advance(now_ns)
        return order

    def _advance(self, now_ns: int) -> None:
        last = self._now_ns
        if last is not None and now_ns < last:
            raise InvalidArgumentError("now_ns", now_ns, f"a time >= the last one, {last}")
        self._now_ns = now_ns

    def _check_instrument(self, instrument: int) -> None:
        if not 0 <= instrument < len(self._ticks):
            raise InvalidArgumentError(
                "instrument", instrument, f"an index in [0, {len(self._ticks)})"
            )


def _check_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(name, value, "an int >= 0")


def _check_grid(price: float, tick: float, instrument: int) -> None:
    ticks = price / tick
    if abs(ticks - round(ticks)) > _GRID_REL_EPS * ticks:
        raise InvalidArgumentError(
            "price", price, f"a multiple of instrument {instrument}'s tick size {tick}"
        )


def _cautious_grid_price(limit: float, tick: float, side: int) -> float:
    """``limit`` if on the grid (1e-9 relative), else the grid price below (buy) / above (sell)."""
    ticks = limit / tick
    if abs(ticks - round(ticks)) <= _GRID_REL_EPS * ticks:
        return limit
    return (math.floor(ticks) if side > 0 else math.ceil(ticks)) * tick
