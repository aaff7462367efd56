"""The gateway protocol: what :class:`~invrisk.live.Runtime` needs from a venue, real or paper.

Two implementations: :class:`~invrisk.live.paper.PaperGateway` (a local matching engine on a
replayed feed) and :class:`~invrisk.live.ccxt_gateway.CcxtGateway` (a real venue through ccxt's
async API). The runtime uses nothing else, so a strategy that runs on one runs on the other.

Contract (both implementations honour it; ``tests/live`` checks it):

- ``now_ns`` — the gateway's clock, int64 ns UTC, never decreasing: feed time for a replay,
  the wall clock (receive time) for a venue. Decisions and order-manager times use it.
- :meth:`Gateway.market_batches` — an async iterator of :data:`~invrisk.data.events.EVENT_DTYPE`
  arrays in receive order; it ends when the feed ends (a replay) or the gateway is closed.
- :meth:`Gateway.submit` / :meth:`Gateway.cancel` / :meth:`Gateway.amend` — hand an order, a
  cancel or an amend (a live order's new price and total size, fills included) to the venue.
  Raises :class:`ConnectionError` if the gateway knows the venue did not get it (disconnected:
  the runtime then halts) and :class:`~invrisk.errors.RateLimitError` if the venue refused it
  for its rate limit (the runtime backs off). A venue's *reject* is not an exception: it comes
  back as a ``reject`` order event with the venue's reason (``amend_reject`` for an amend).
- :meth:`Gateway.take_order_events` — the :class:`~invrisk.live.paper.OrderEvent` s received
  since the last call (acks, rejects, fills with the venue's trade id as ``fill_id``, cancels,
  amend answers: ``amend_ack`` with the order's terms now in force, ``amend_reject``), in
  arrival order. Every amend handed over gets exactly one answer, unless its order ends first
  (the runtime then ignores a late answer). A fill may be delivered more than once (a
  replayed message, a fill fetched again after a reconnect): the journal keeps one per
  ``fill_id``.
- :meth:`Gateway.release` — the runtime is done with a terminal order.
- ``connected``, ``reconnects`` and :meth:`Gateway.open_order_ids` — the link state, how many
  times the link has come back after a drop (the runtime reconciles its orders with the venue
  each time it grows), and the client ids of our orders the venue holds live, as of the last
  :meth:`Gateway.sync`.
- :meth:`Gateway.sync` — bring the gateway up to date with the venue: fetch the fills it may
  have missed (while disconnected, or before a restart) into the next
  :meth:`take_order_events`, and the open orders into :meth:`open_order_ids`. The runtime calls
  it before reconciling its orders with the venue, so missed fills are booked before an order
  is declared gone.
- :meth:`Gateway.close` — release connections (idempotent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from invrisk.data.events import EventArray
from invrisk.live.paper import OrderEvent
from invrisk.order_manager import AmendOrder, CancelOrder, NewOrder

__all__ = ["Gateway"]


@runtime_checkable
class Gateway(Protocol):
    """See the module docstring."""

    @property
    def now_ns(self) -> int: ...

    @property
    def connected(self) -> bool: ...

    @property
    def reconnects(self) -> int: ...

    def market_batches(self) -> AsyncIterator[EventArray]: ...

    async def submit(self, order: NewOrder) -> None: ...

    async def cancel(self, cancel: CancelOrder) -> None: ...

    async def amend(self, amend: AmendOrder) -> None: ...

    def take_order_events(self) -> list[OrderEvent]: ...

    def release(self, order_id: int) -> None: ...

    def open_order_ids(self) -> list[int]: ...

    async def sync(self) -> None: ...

    async def close(self) -> None: ...
