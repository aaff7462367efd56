"""A real venue behind the gateway protocol, through ccxt's async (``ccxt.pro``) API.

:class:`CcxtGateway` turns a venue's websocket streams and REST answers into what
:class:`~invrisk.live.Runtime` consumes (see :mod:`invrisk.live.gateway`):

- **market data**: ``watch_order_book`` and ``watch_trades`` per instrument become
  :data:`~invrisk.data.events.EVENT_DTYPE` rows: the first book (and the first after a
  reconnect) as a CLEAR of both sides plus SNAPSHOT levels, then DEPTH rows for the levels that
  changed (size 0: removed), and a TRADE row per public trade (``side`` the aggressor).
  ``exch_ns`` is the venue's timestamp (ms -> ns), ``local_ns`` our receive time (wall clock,
  ns). Quantities follow the event convention: contracts for inverse instruments (Deribit's USD
  amount divided by the contract size), base units for linear ones.
- **orders**: ``create_order`` (limit; POST_ONLY as ccxt's ``postOnly``, which on Deribit also
  sets ``reject_post_only``; IOC as ``timeInForce``) with our integer client order id carried
  in the venue's client-id field (Deribit's ``label``: ``label_prefix`` + the id),
  ``cancel_order``, and ``edit_order`` for an amend (Deribit's ``private/edit``: ``order_id``,
  the new total ``amount`` and ``price``; for a POST_ONLY order also ``post_only`` and
  ``reject_post_only``, so that a new price that would cross is refused, the order keeping
  its old terms, rather than moved by the venue). Order sizes are contracts; Deribit's
  ``amount`` is in the contract currency (USD for inverse, the coin for linear and options),
  i.e. contracts x contract size.
- **order events** (:class:`~invrisk.live.paper.OrderEvent`) from the REST answers and from
  ``watch_orders`` / ``watch_my_trades``, deduplicated: one ack per order, one fill per venue
  trade id (``fill_id``; the journal dedupes again across restarts), one cancel, one answer per
  amend (``amend_ack`` with the terms the venue reports, ``amend_reject`` with its reason).
  Orders whose client id does not carry our prefix are someone else's and ignored.

Errors are translated at the boundary: a rate limit (ccxt ``RateLimitExceeded`` /
``DDoSProtection``) raises :class:`~invrisk.errors.RateLimitError` (the runtime backs off); a
venue's refusal of an order (``InvalidOrder``, ``InsufficientFunds`` and other exchange errors)
becomes a ``reject`` event with the venue's reason (``amend_reject`` for an amend: e.g.
``post_only_reject (11054)``, or ``not_open_order`` for an order filled or cancelled first);
a network error marks the link down
(:attr:`connected` False: orders are refused with
:class:`~invrisk.errors.VenueConnectionError` and the runtime halts); refused credentials raise
:class:`~invrisk.errors.CredentialsError` naming the venue, never the key.

**Reconnect**: on a dropped connection the gateway retries with exponential backoff
(``reconnect_backoff_s`` doubling up to ``max_reconnect_backoff_s``): REST first, then the
streams are subscribed again (books restart from a snapshot), then :meth:`sync` fetches our
trades since the last one seen (missed fills, delivered as fill events) and the open orders;
only then is the link up again and ``reconnects`` incremented, which makes the runtime
reconcile. An order whose REST request died with the connection is neither re-sent nor
forgotten: the sync finds it open (ack), filled (its fills), or absent (reject); likewise an
amend whose request died is answered by the sync: ``amend_ack`` if the open order has the
requested price and amount, else ``amend_reject``. (aiohttp
would re-send such a request by itself, Deribit's orders being HTTP GETs: the gateway's HTTP
session forbids that.)

The constructor does no I/O: ``await gateway.start()`` (or ``async with``) connects, checks
the credentials, syncs and starts the streams; ``await gateway.close()`` stops them.

Scope: tested against a fake Deribit (``tests/live/fake_deribit.py``) speaking Deribit's API v2
to ccxt's own ``deribit`` class. The amount and label conventions above are Deribit's; another
ccxt venue needs its own (its client-id field, its amount unit) before it can be trusted.
Orders are amended only when the runtime's order manager is in amend mode (``amend_orders``);
otherwise it cancels and replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from invrisk.data.events import EVENT_DTYPE, EventArray
from invrisk.errors import (
    CredentialsError,
    InvalidArgumentError,
    RateLimitError,
    VenueConnectionError,
    VenueError,
)
from invrisk.instruments import Instrument
from invrisk.live._ccxt_convert import (
    NS_PER_MS,
    Levels,
    Row,
    book_rows,
    retry_after_s,
    trade_rows,
    venue_reason,
)
from invrisk.live.credentials import Credentials
from invrisk.live.paper import OrderEvent
from invrisk.order_manager import AmendOrder, CancelOrder, NewOrder
from invrisk.strategy import TimeInForce

__all__ = ["CcxtGateway"]

log = logging.getLogger(__name__)

_SEEN_TRADES = 100_000  # trade ids remembered for dedup (the journal keeps them all)
_CANCEL_RETRY_S = (0.1, 0.2, 0.4, 0.8, 1.6)  # waits after a rate-limited cancel, then give up


@dataclass(slots=True)
class _Track:
    """What the gateway knows about one of our orders."""

    order_id: int
    instrument: int
    tif: TimeInForce
    venue_id: str | None = None
    acked: bool = False
    done: bool = False  # a terminal event was emitted (or the venue said filled)
    uncertain: bool = False  # the create request died with the connection
    cancel_wanted: bool = False
    lost_amend: tuple[float, float] | None = None  # (price, contracts) of a died amend request


async def _no_silent_resend(request: Any, handler: Any) -> Any:
    """aiohttp client middleware: a connection lost during a request is reported as a plain
    ``ClientConnectionError``, which aiohttp does not retry (it retries idempotent methods on
    ``ServerDisconnectedError`` / ``ClientOSError``), so an order is never sent twice."""
    import aiohttp

    try:
        return await handler(request)
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise aiohttp.ClientConnectionError(f"connection lost during the request ({exc})") from exc


class CcxtGateway:
    """A venue through ccxt (see the module docstring).

    Parameters
    ----------
    venue
        The ccxt exchange id (``"deribit"``; its ``ccxt.pro`` class is used).
    instruments
        The traded instruments (index = the events' ``instrument``), by venue-native name
        (``BTC-PERPETUAL``) or ccxt symbol; their tick and contract size must match the
        venue's market.
    credentials
        The API key and secret (:func:`~invrisk.live.credentials.load_credentials`).
    label_prefix
        Prefix of the client-id labels (our order ids follow it): orders without it are not
        ours. Use one per run (the runtime's ids restart at 1 in a new run).
    api_url, ws_url
        Override the venue's REST and websocket base URLs (a local fake, a proxy); by default
        ccxt's production URLs, or the venue's test environment with ``testnet``.
    testnet
        Use the venue's test environment (ccxt sandbox mode; Deribit: test.deribit.com).
    fills_since_ns
        Fetch our trades from this time at the first :meth:`sync` (a restart: the journal's
        last fill time); default: the start time.
    reconnect_backoff_s, max_reconnect_backoff_s
        First and largest wait between reconnect attempts (seconds, > 0).
    rate_limit_ms
        ccxt's client-side spacing of REST requests (ms); None: ccxt's value for the venue
        (Deribit 50 ms). Lower only against a local endpoint.
    idle_batch_s
        While the link is up and the venue is quiet, yield an empty batch after this many
        seconds so the runtime's clock and decisions go on (None: only on data). No empty
        batch is yielded while disconnected, so the runtime's stale-data halt still fires.
    """

    def __init__(
        self,
        *,
        venue: str,
        instruments: Sequence[Instrument],
        credentials: Credentials,
        label_prefix: str = "ir-",
        api_url: str | None = None,
        ws_url: str | None = None,
        testnet: bool = False,
        fills_since_ns: int | None = None,
        reconnect_backoff_s: float = 0.5,
        max_reconnect_backoff_s: float = 30.0,
        idle_batch_s: float | None = 0.25,
        rate_limit_ms: float | None = None,
    ) -> None:
        if not instruments:
            raise InvalidArgumentError("instruments", instruments, "at least one instrument")
        if not isinstance(credentials, Credentials):
            raise InvalidArgumentError(
                "credentials", type(credentials).__name__, "a Credentials (load_credentials)"
            )
        if not label_prefix or len(label_prefix) > 40:
            raise InvalidArgumentError("label_prefix", label_prefix, "1 to 40 characters")
        if not (0 < reconnect_backoff_s <= max_reconnect_backoff_s < math.inf):
            raise InvalidArgumentError(
                "reconnect_backoff_s",
                (reconnect_backoff_s, max_reconnect_backoff_s),
                "0 < reconnect_backoff_s <= max_reconnect_backoff_s, finite",
            )
        if idle_batch_s is not None and not (0 < idle_batch_s < math.inf):
            raise InvalidArgumentError("idle_batch_s", idle_batch_s, "seconds > 0, or None")
        if rate_limit_ms is not None and not (0 < rate_limit_ms < math.inf):
            raise InvalidArgumentError("rate_limit_ms", rate_limit_ms, "ms > 0, or None")
        self.rate_limit_ms = rate_limit_ms
        self.venue = venue
        self.instruments = tuple(instruments)
        self._credentials = credentials
        self.label_prefix = label_prefix
        self.api_url = api_url
        self.ws_url = ws_url
        self.testnet = bool(testnet)
        self.backoff_s = float(reconnect_backoff_s)
        self.max_backoff_s = float(max_reconnect_backoff_s)
        self.idle_batch_s = idle_batch_s
        self._fills_since_ns = fills_since_ns
        self._ex: Any = None
        self._session: Any = None
        self._symbols: list[str] = []
        self._now = 0
        self._connected = False
        self._closed = False
        self.reconnects = 0
        self.drops = 0
        self._rows: list[Row] = []
        self._wake = asyncio.Event()
        self._streams_up = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnector: asyncio.Task[None] | None = None
        self._books: list[Levels | None] = []
        self._events: list[OrderEvent] = []
        self._orders: dict[int, _Track] = {}
        self._by_venue_id: dict[str, int] = {}
        self._seen_trades: OrderedDict[str, None] = OrderedDict()
        self._since_ms: list[int] = []
        self._venue_open: dict[int, tuple[str, int]] = {}  # client id -> (venue id, instrument)

    def __repr__(self) -> str:
        url = self.api_url or ("testnet" if self.testnet else "production")
        return (
            f"CcxtGateway(venue={self.venue!r}, url={url!r}, "
            f"instruments={[i.name for i in self.instruments]!r}, connected={self._connected})"
        )

    # -- the clock and the link -------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """Wall-clock time (ns UTC), never decreasing."""
        t = time.time_ns()
        if t > self._now:
            self._now = t
        return self._now

    @property
    def connected(self) -> bool:
        return self._connected

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> CcxtGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect: load the markets, check the credentials, sync, start the streams."""
        import aiohttp
        import ccxt.pro

        cls = getattr(ccxt.pro, self.venue, None)
        if cls is None:
            raise InvalidArgumentError("venue", self.venue, "a ccxt.pro exchange id ('deribit')")
        # aiohttp silently sends an idempotent request (ccxt's Deribit orders are GETs) a
        # second time when the connection drops before the answer: a duplicate order. The
        # session's middleware turns that drop into an error aiohttp does not retry.
        self._session = aiohttp.ClientSession(middlewares=(_no_silent_resend,))
        ex = cls(
            {
                "apiKey": self._credentials.api_key,
                "secret": self._credentials.api_secret,
                "enableRateLimit": True,
                "session": self._session,
                **({} if self.rate_limit_ms is None else {"rateLimit": self.rate_limit_ms}),
            }
        )
        if self.testnet:
            ex.set_sandbox_mode(True)
        if self.api_url is not None or self.ws_url is not None:
            urls = dict(ex.urls["api"])
            if self.api_url is not None:
                urls["rest"] = self.api_url.rstrip("/")
            if self.ws_url is not None:
                urls["ws"] = self.ws_url
            ex.urls["api"] = urls
        self._ex = ex
        try:
            await self._call(ex.load_markets())
            self._symbols = [self._symbol_of(inst) for inst in self.instruments]
            since_ns = time.time_ns() if self._fills_since_ns is None else self._fills_since_ns
            start_ms = since_ns // NS_PER_MS
            self._since_ms = [start_ms] * len(self.instruments)
            self._books = [None] * len(self.instruments)
            # the streams first, then the sync: a fill in between is heard twice (and kept
            # once by its trade id), never missed
            self._streams_up.set()
            for i, sym in enumerate(self._symbols):
                self._tasks.append(asyncio.create_task(self._watch_book(i, sym)))
                self._tasks.append(asyncio.create_task(self._watch_trades(i, sym)))
            self._tasks.append(asyncio.create_task(self._watch_orders()))
            self._tasks.append(asyncio.create_task(self._watch_my_trades()))
            await self._wait_streams()
            await self.sync()
        except BaseException:
            await self.close()
            raise
        self._connected = True

    async def close(self) -> None:
        """Stop the streams and close the connections (idempotent)."""
        self._closed = True
        self._connected = False
        self._wake.set()
        tasks = [*self._tasks, *([self._reconnector] if self._reconnector else [])]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self._reconnector = None
        if self._ex is not None:
            with contextlib.suppress(Exception):
                await self._ex.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _symbol_of(self, inst: Instrument) -> str:
        ex = self._ex
        market = ex.markets.get(inst.name)
        if market is None:
            by_id = ex.markets_by_id.get(inst.name)
            market = by_id[0] if by_id else None
        if market is None:
            raise InvalidArgumentError(
                "instruments", inst.name, f"an instrument {self.venue} lists (name or symbol)"
            )
        tick = market["precision"]["price"]
        size = market.get("contractSize")
        if tick is not None and not math.isclose(float(tick), inst.tick_size, rel_tol=1e-9):
            raise InvalidArgumentError(
                "instruments",
                inst.name,
                f"tick size {tick} as at {self.venue}, not {inst.tick_size}",
            )
        if size is not None and not math.isclose(float(size), inst.contract_size, rel_tol=1e-9):
            raise InvalidArgumentError(
                "instruments",
                inst.name,
                f"contract size {size} as at {self.venue}, not {inst.contract_size}",
            )
        return str(market["symbol"])

    async def _call(self, coro: Any) -> Any:
        """Await a ccxt call, translating its errors that are not about one order."""
        import ccxt

        try:
            return await coro
        except ccxt.AuthenticationError as exc:
            raise CredentialsError(
                f"{self.venue}: the venue refused the API credentials "
                f"({self._credentials.source}): {venue_reason(exc)}"
            ) from None
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            raise self._rate_limit_error(exc) from exc
        except ccxt.NetworkError as exc:
            self._link_lost(exc)
            raise VenueConnectionError(f"{self.venue}: connection lost ({exc})") from exc
        except ccxt.BaseError as exc:
            raise VenueError(f"{self.venue}: {venue_reason(exc)}") from exc

    def _rate_limit_error(self, exc: Exception) -> RateLimitError:
        """The venue's refusal for its rate limit, with its Retry-After hint if it gave one."""
        hint = retry_after_s(getattr(self._ex, "last_response_headers", None))
        return RateLimitError(
            f"{self.venue}: rate limit: {venue_reason(exc)}"
            + (f" (retry after {hint:g} s)" if hint is not None else ""),
            retry_after_s=hint,
        )

    # -- market data ------------------------------------------------------------------------

    async def market_batches(self) -> AsyncIterator[EventArray]:
        """Rows received since the last batch; an empty batch after ``idle_batch_s`` of quiet
        while connected; ends when the gateway is closed."""
        while not self._closed:
            if not self._rows:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_batch_s)
                except TimeoutError:
                    if not self._connected:
                        continue
            if self._closed:
                break
            rows, self._rows = self._rows, []
            _ = self.now_ns
            yield np.array(rows, dtype=EVENT_DTYPE)

    def _push(self, rows: list[Row]) -> None:
        if rows:
            self._rows.extend(rows)
            self._wake.set()

    def _event_scale(self, i: int) -> float:
        """Event quantity per venue amount: contracts for inverse (Deribit's USD / contract
        size), the venue's base amount otherwise."""
        inst = self.instruments[i]
        return 1.0 / inst.contract_size if inst.is_inverse else 1.0

    def _order_qty(self, i: int, amount: float) -> float:
        """Venue amount -> contracts (Deribit amounts are in the contract currency)."""
        return amount / self.instruments[i].contract_size if self.venue == "deribit" else amount

    def _venue_amount(self, i: int, qty: float) -> float:
        return qty * self.instruments[i].contract_size if self.venue == "deribit" else qty

    async def _stream(self, watch: Any, handle: Any) -> None:
        """Call ``watch()`` and ``handle(result, local_ns)`` until closed; a network error marks
        the link down and waits for the reconnect to bring the streams back."""
        import ccxt

        while not self._closed:
            await self._streams_up.wait()
            try:
                result = await watch()
            except asyncio.CancelledError:
                raise
            except ccxt.AuthenticationError:
                log.error("%s: the venue refused the API credentials on the websocket", self.venue)
                self._link_lost(None)
                continue
            except ccxt.NetworkError as exc:
                self._link_lost(exc)
                continue
            except ccxt.BaseError as exc:
                log.warning("%s: stream error %s", self.venue, venue_reason(exc))
                self._link_lost(exc)
                continue
            try:
                handle(result, time.time_ns())
            except Exception:  # a message we cannot read must not end the stream
                log.exception("%s: unreadable stream message", self.venue)

    async def _watch_book(self, i: int, symbol: str) -> None:
        await self._stream(
            lambda: self._ex.watch_order_book(symbol), lambda ob, t: self._on_book(i, ob, t)
        )

    async def _watch_trades(self, i: int, symbol: str) -> None:
        await self._stream(
            lambda: self._ex.watch_trades(symbol), lambda tr, t: self._on_trades(i, tr, t)
        )

    async def _watch_orders(self) -> None:
        await self._stream(self._ex.watch_orders, self._on_order_updates)

    async def _watch_my_trades(self) -> None:
        await self._stream(self._ex.watch_my_trades, self._on_my_trades)

    def _on_book(self, i: int, ob: Any, local: int) -> None:
        ts = ob.get("timestamp")
        nonce = ob.get("nonce")
        rows, self._books[i] = book_rows(
            self._books[i],
            ob["bids"],
            ob["asks"],
            exch_ns=int(ts) * NS_PER_MS if ts is not None else local,
            local_ns=local,
            update_id=int(nonce) if isinstance(nonce, int) else -1,
            instrument=i,
            qty_per_amount=self._event_scale(i),
        )
        self._push(rows)

    def _on_trades(self, i: int, trades: Any, local: int) -> None:
        self._push(
            trade_rows(trades, local_ns=local, instrument=i, qty_per_amount=self._event_scale(i))
        )

    # -- orders -----------------------------------------------------------------------------

    def _label(self, order_id: int) -> str:
        return f"{self.label_prefix}{order_id}"

    def _client_id(self, label: Any) -> int | None:
        if not isinstance(label, str) or not label.startswith(self.label_prefix):
            return None
        rest = label[len(self.label_prefix) :]
        return int(rest) if rest.isdigit() else None

    async def submit(self, order: NewOrder) -> None:
        """Send ``order`` (see the module docstring for what each venue answer becomes)."""
        import ccxt

        if not self._connected:
            raise VenueConnectionError(
                f"{self.venue}: disconnected, order {order.order_id} not sent"
            )
        i = order.instrument
        track = _Track(order.order_id, i, order.tif)
        self._orders[order.order_id] = track
        params: dict[str, Any] = {"label": self._label(order.order_id)}
        if order.tif == TimeInForce.POST_ONLY:
            params["postOnly"] = True
        elif order.tif == TimeInForce.IOC:
            params["timeInForce"] = "IOC"
        try:
            res = await self._ex.create_order(
                self._symbols[i],
                "limit",
                "buy" if order.side > 0 else "sell",
                self._venue_amount(i, order.qty),
                order.price,
                params,
            )
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            self._orders.pop(order.order_id, None)
            raise self._rate_limit_error(exc) from exc
        except ccxt.AuthenticationError:
            self._reject(track, "venue refused the API credentials")
            log.error("%s: the venue refused the API credentials", self.venue)
            return
        except ccxt.NetworkError as exc:
            # the request may or may not have reached the venue: never re-sent; the sync after
            # the reconnect finds it open, filled or absent
            track.uncertain = True
            self._link_lost(exc)
            return
        except ccxt.BaseError as exc:  # InvalidOrder, InsufficientFunds, other refusals
            self._reject(track, venue_reason(exc))
            return
        local = time.time_ns()
        info = res.get("info") or {}
        for t in info.get("trades") or res.get("trades") or []:
            self._on_trade_info(t.get("info", t) if isinstance(t, dict) else t, local)
        self._on_order_info(info, local)

    def _reject(self, track: _Track, reason: str) -> None:
        track.done = True
        now = self.now_ns
        self._events.append(OrderEvent("reject", track.order_id, now, now, reason=reason))

    async def cancel(self, cancel: CancelOrder) -> None:
        """Cancel an order of ours (a cancel for an order not open at the venue becomes a
        ``cancelled`` event unless it filled)."""
        oid = cancel.order_id
        track = self._orders.get(oid)
        venue_id = track.venue_id if track is not None else None
        if venue_id is None and oid in self._venue_open:
            venue_id = self._venue_open[oid][0]
        if not self._connected:
            if track is not None:
                track.cancel_wanted = True
            raise VenueConnectionError(f"{self.venue}: disconnected, cancel of {oid} not sent")
        if venue_id is None:  # not acknowledged yet (or its request was lost): after the sync
            if track is not None:
                track.cancel_wanted = True
            return
        await self._cancel_at_venue(oid, venue_id, cancel.instrument)

    async def _cancel_at_venue(self, oid: int, venue_id: str, instrument: int) -> None:
        import ccxt

        track = self._orders.get(oid)
        for delay_s in _CANCEL_RETRY_S:
            try:
                res = await self._ex.cancel_order(venue_id, self._symbols[instrument])
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection):
                await asyncio.sleep(delay_s)
                continue
            except ccxt.NetworkError as exc:
                if track is not None:
                    track.cancel_wanted = True
                self._link_lost(exc)
                raise VenueConnectionError(f"{self.venue}: cancel of {oid} not confirmed") from exc
            except ccxt.BaseError as exc:  # not open (filled or cancelled) or unknown
                if track is not None and not track.done:
                    track.done = True
                    now = self.now_ns
                    reason = f"not open at venue: {venue_reason(exc)}"
                    self._events.append(OrderEvent("cancelled", oid, now, now, reason=reason))
                return
            self._venue_open.pop(oid, None)
            self._on_order_info(res.get("info") or {}, time.time_ns())
            return
        now = self.now_ns
        self._events.append(
            OrderEvent("cancel_reject", oid, now, now, reason="rate limited (cancel retries)")
        )

    async def amend(self, amend: AmendOrder) -> None:
        """Amend an order of ours with ``edit_order`` (the new price and total size); the
        answer is an ``amend_ack`` or ``amend_reject`` event (module docstring)."""
        import ccxt

        oid = amend.order_id
        if not self._connected:
            raise VenueConnectionError(f"{self.venue}: disconnected, amend of {oid} not sent")
        track = self._orders.get(oid)
        venue_id = track.venue_id if track is not None else None
        if venue_id is None and oid in self._venue_open:
            venue_id = self._venue_open[oid][0]
        now = self.now_ns
        if venue_id is None or track is None:
            reason = "not acknowledged by the venue" if track else "not an order of this session"
            self._events.append(OrderEvent("amend_reject", oid, now, now, reason=reason))
            return
        i = amend.instrument
        params: dict[str, Any] = {}
        if track.tif == TimeInForce.POST_ONLY:
            params = {"post_only": True, "reject_post_only": True}
        try:
            res = await self._ex.edit_order(
                venue_id,
                self._symbols[i],
                "limit",
                "buy" if amend.side > 0 else "sell",
                self._venue_amount(i, amend.qty),
                amend.price,
                params,
            )
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            raise self._rate_limit_error(exc) from exc
        except ccxt.AuthenticationError:
            log.error("%s: the venue refused the API credentials", self.venue)
            now = self.now_ns
            reason = "venue refused the API credentials"
            self._events.append(OrderEvent("amend_reject", oid, now, now, reason=reason))
            return
        except ccxt.NetworkError as exc:
            # applied or not: the sync after the reconnect compares the open order's terms
            track.lost_amend = (amend.price, amend.qty)
            self._link_lost(exc)
            return
        except ccxt.BaseError as exc:  # post_only_reject, not_open_order, invalid amount ...
            now = self.now_ns
            reason = venue_reason(exc)
            self._events.append(OrderEvent("amend_reject", oid, now, now, reason=reason))
            return
        local = time.time_ns()
        info = res.get("info") or {}
        self._amend_answer(track, info, local)
        for t in info.get("trades") or res.get("trades") or []:
            self._on_trade_info(t.get("info", t) if isinstance(t, dict) else t, local)
        self._on_order_info(info, local)

    def _amend_answer(self, track: _Track, info: dict[str, Any], local: int) -> None:
        """``amend_ack`` with the order's terms as the venue reports them (Deribit's order)."""
        ts = info.get("last_update_timestamp")
        exch = int(ts) * NS_PER_MS if ts is not None else local
        self._events.append(
            OrderEvent(
                "amend_ack",
                track.order_id,
                local,
                exch,
                price=float(info["price"]),
                qty=self._order_qty(track.instrument, float(info["amount"])),
            )
        )

    def take_order_events(self) -> list[OrderEvent]:
        out, self._events = self._events, []
        return out

    def release(self, order_id: int) -> None:
        track = self._orders.pop(order_id, None)
        if track is not None and track.venue_id is not None:
            self._by_venue_id.pop(track.venue_id, None)

    def open_order_ids(self) -> list[int]:
        """Client ids of our orders open at the venue, as of the last :meth:`sync`."""
        return sorted(self._venue_open)

    def _on_order_updates(self, orders: Any, local: int) -> None:
        for o in orders:
            self._on_order_info(o.get("info") or {}, local)

    def _on_my_trades(self, trades: Any, local: int) -> None:
        for t in trades:
            self._on_trade_info(t.get("info") or {}, local)

    def _on_order_info(self, info: dict[str, Any], local: int) -> None:
        oid = self._client_id(info.get("label"))
        if oid is None:
            return
        state = info.get("order_state")
        venue_id = str(info.get("order_id"))
        track = self._orders.get(oid)
        if state == "open":
            i = track.instrument if track else self._instrument_by_name(info.get("instrument_name"))
            self._venue_open[oid] = (venue_id, i)
        else:
            self._venue_open.pop(oid, None)
        if track is None:
            return
        track.venue_id = venue_id
        self._by_venue_id[venue_id] = oid
        ts = info.get("last_update_timestamp")
        exch = int(ts) * NS_PER_MS if ts is not None else local
        if state == "open" and not track.acked and not track.done:
            track.acked = True
            self._events.append(OrderEvent("ack", oid, local, exch))
        elif state == "filled":
            track.done = True
        elif state in ("cancelled", "rejected") and not track.done:
            track.done = True
            kind = (
                "reject"
                if state == "rejected"
                else ("expired" if track.tif == TimeInForce.IOC else "cancelled")
            )
            reason = str(info.get("reject_reason") or info.get("cancel_reason") or "")
            self._events.append(OrderEvent(kind, oid, local, exch, reason=reason))

    def _on_trade_info(self, info: dict[str, Any], local: int) -> None:
        trade_id = info.get("trade_id")
        if trade_id is None:
            return
        oid = self._client_id(info.get("label"))
        if oid is None:
            oid = self._by_venue_id.get(str(info.get("order_id")))
        if oid is None:
            return
        trade_id = str(trade_id)
        track = self._orders.get(oid)
        if track is not None and track.venue_id is None and info.get("order_id") is not None:
            track.venue_id = str(info["order_id"])  # the order reached the venue
            self._by_venue_id[track.venue_id] = oid
        ts = int(info.get("timestamp", local // NS_PER_MS))
        name = info.get("instrument_name")
        for i, inst in enumerate(self.instruments):
            if inst.name == name or self._symbols[i] == name:
                self._since_ms[i] = max(self._since_ms[i], ts)
        if trade_id in self._seen_trades:
            return
        self._seen_trades[trade_id] = None
        if len(self._seen_trades) > _SEEN_TRADES:  # the journal dedupes beyond this window
            self._seen_trades.popitem(last=False)
        i = track.instrument if track is not None else self._instrument_by_name(name)
        self._events.append(
            OrderEvent(
                "fill",
                oid,
                local,
                ts * NS_PER_MS,
                price=float(info["price"]),
                qty=self._order_qty(i, float(info["amount"])),
                fee=float(info.get("fee") or 0.0),
                is_maker=info.get("liquidity") == "M",
                fill_id=trade_id,
            )
        )

    def _instrument_by_name(self, name: Any) -> int:
        for i, inst in enumerate(self.instruments):
            if inst.name == name or self._symbols[i] == name:
                return i
        return 0

    async def venue_positions(self) -> list[float]:
        """Our position per instrument as the venue reports it, in contracts (signed, long
        positive): a cross-check of the journal's positions. Deribit reports the whole
        account's position, not only this run's."""
        ex = self._ex
        if ex is None:
            raise InvalidArgumentError("gateway", "not started", "await gateway.start() first")
        out = [0.0] * len(self.instruments)
        for p in await self._call(ex.fetch_positions(self._symbols)):
            info = p.get("info") or {}
            i = self._instrument_by_name(info.get("instrument_name"))
            if self.instruments[i].name == info.get("instrument_name"):
                out[i] = self._order_qty(i, float(info.get("size") or 0.0))
        return out

    async def venue_balance(self, currency: str) -> dict[str, float]:
        """The account in ``currency`` (e.g. ``"BTC"``) as the venue reports it: ``equity``,
        ``available`` (free for new orders) and ``maintenance_margin``, in that currency."""
        ex = self._ex
        if ex is None:
            raise InvalidArgumentError("gateway", "not started", "await gateway.start() first")
        bal = await self._call(ex.fetch_balance({"code": currency}))
        acct = bal.get(currency) or {}
        return {
            "equity": float(acct.get("total") or 0.0),
            "available": float(acct.get("free") or 0.0),
            "maintenance_margin": float(acct.get("used") or 0.0),
        }

    # -- sync and reconnect -----------------------------------------------------------------

    async def sync(self) -> None:
        """Fetch our open orders and our trades since the last one seen (missed fills are
        delivered by :meth:`take_order_events`); settle orders whose request was lost and
        cancels that could not be sent."""
        ex = self._ex
        if ex is None:
            raise InvalidArgumentError("gateway", "not started", "await gateway.start() first")
        local = time.time_ns()
        venue_open: dict[int, tuple[str, int]] = {}
        for i, sym in enumerate(self._symbols):
            since = self._since_ms[i]
            while True:
                trades = await self._call(ex.fetch_my_trades(sym, since=since, limit=1000))
                for t in trades:
                    self._on_trade_info(t.get("info") or {}, local)
                if len(trades) < 1000:
                    break
                since = max(int(t["timestamp"]) for t in trades)
            for o in await self._call(ex.fetch_open_orders(sym)):
                info = o.get("info") or {}
                oid = self._client_id(info.get("label"))
                if oid is not None:
                    venue_open[oid] = (str(info.get("order_id")), i)
                    self._settle_lost_amend(oid, info, local)
                    self._on_order_info(info, local)
        self._venue_open = venue_open
        for oid, track in list(self._orders.items()):
            if track.lost_amend is not None:  # not open any more: the amend is moot
                track.lost_amend = None
                now = self.now_ns
                reason = "request lost with the connection; order not open at venue"
                self._events.append(OrderEvent("amend_reject", oid, now, now, reason=reason))
            if track.done:
                continue
            if track.uncertain and oid not in venue_open:
                if track.venue_id is None:  # never reached the venue, or gone without a trade
                    self._reject(track, "request lost with the connection; not at venue")
                track.uncertain = False
            if track.cancel_wanted and oid in venue_open:
                track.cancel_wanted = False
                await self._cancel_at_venue(oid, venue_open[oid][0], track.instrument)

    def _settle_lost_amend(self, oid: int, info: dict[str, Any], local: int) -> None:
        """An open order whose amend request died with the connection: applied if the venue
        holds it at the requested price and amount, else rejected."""
        track = self._orders.get(oid)
        if track is None or track.lost_amend is None:
            return
        price, qty = track.lost_amend
        track.lost_amend = None
        amount = self._venue_amount(track.instrument, qty)
        applied = math.isclose(float(info.get("price", math.nan)), price, rel_tol=1e-12) and (
            math.isclose(float(info.get("amount", math.nan)), amount, rel_tol=1e-12)
        )
        if applied:
            self._amend_answer(track, info, local)
        else:
            now = self.now_ns
            reason = "request lost with the connection; not applied at venue"
            self._events.append(OrderEvent("amend_reject", oid, now, now, reason=reason))

    def _link_lost(self, exc: BaseException | None) -> None:
        if self._closed:
            return
        if self._connected:
            log.warning("%s: connection lost (%s); reconnecting", self.venue, type(exc).__name__)
            self.drops += 1
        self._connected = False
        self._streams_up.clear()
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        import ccxt

        delay = self.backoff_s
        while not self._closed:
            await asyncio.sleep(delay)
            delay = min(2 * delay, self.max_backoff_s)
            try:
                await self._ex.fetch_time()
                for i, sym in enumerate(self._symbols):  # books restart from a snapshot
                    self._books[i] = None
                    self._ex.orderbooks.pop(sym, None)
                self._streams_up.set()
                await self._wait_streams()
                await self.sync()
            except ccxt.NetworkError:
                self._streams_up.clear()
                continue
            except (VenueConnectionError, RateLimitError):
                self._streams_up.clear()
                continue
            except Exception:
                log.exception("%s: reconnect failed", self.venue)
                self._streams_up.clear()
                continue
            if not self._streams_up.is_set():  # a stream failed again meanwhile
                continue
            self._connected = True
            self.reconnects += 1
            log.info("%s: reconnected (%d)", self.venue, self.reconnects)
            self._wake.set()
            return

    async def _wait_streams(self) -> None:
        """Give the streams time to open their websocket and subscribe again."""
        url = self._ex.urls["api"].get("ws")
        for _ in range(100):
            client = self._ex.clients.get(url)
            fut = getattr(client, "connected", None)
            if fut is not None and fut.done():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
