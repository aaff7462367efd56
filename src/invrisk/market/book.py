"""The L2 order book: level quantities on an integer tick grid, built from event arrays.

:class:`L2Book` keeps, for each side, a dense float64 array of level quantities over a fixed
window of integer ticks ``[lo_tick, lo_tick + n_ticks)``, and the best bid and ask as ticks,
updated incrementally. Arrays of :data:`~invrisk.data.events.EVENT_DTYPE` are applied in one
call by a numba kernel (a pure-Python twin of it is available with ``backend="python"``).

Rules
-----
Prices and ticks
    A row's tick is ``round(price / tick_size)``. A price more than 1e-9 (relative) away from
    its tick is off the grid: :class:`~invrisk.errors.InvalidArgumentError` naming the row.
    Prices reported by the book are ``tick / (1 / tick_size)`` when ``1 / tick_size`` is an
    integer (e.g. ``618002 / 10``), the double nearest to the decimal price, i.e. the same
    float a reader gets from the exchange's text ``"61800.2"``; ``tick * tick_size`` otherwise.
Kinds
    DEPTH and SNAPSHOT set the level at ``price`` on ``side`` to the absolute size ``qty``
    (0 removes it). CLEAR removes every level of ``side`` (``Side.NONE`` = both sides). Every
    other kind (TRADE, BBO, tickers) is skipped. Rows are checked before any is applied: a
    bad row (side not +-1, price not finite, qty negative or not finite, price off the grid)
    raises and leaves the book unchanged.
The window
    The window is fixed at construction; :func:`book_range` chooses one from the data. A
    DEPTH/SNAPSHOT row whose tick falls outside it is **not applied and is counted**
    (:attr:`L2Book.out_of_window`). Far levels outside the window do not change the top of the
    book, so a window a few thousand ticks around the touch gives exact best prices and
    top-N features. The dangerous case is counted separately: a row that *adds* size on the
    touch side of the window (a bid at or above its top, an ask below its bottom) is a
    :attr:`L2Book.window_breaches`; after one, the best price of that side may be wrong and
    the window should be widened or moved.
Best prices
    An insert better than the best moves it; deleting the best level scans away from the touch
    to the next non-empty level (per-side level counts make an emptied side O(1)).
Crossed books
    The book applies what it is given; a crossed book (best bid >= best ask) is never "fixed".
    It is counted at the end of each message (a row whose next row has another ``local_ns`` or
    ``update_id``, or the last row of the array applied): an exchange message that moves the
    price may cross the book for a moment while its rows are applied one by one (a new bid
    before the deletion of the ask it replaces). Readers can avoid even that by putting a
    message's deletions before its inserts.

Examples
--------
>>> from invrisk.data.events import EventKind, Side, events_from_columns
>>> ev = events_from_columns(
...     exch_ns=0, local_ns=[1, 2, 3, 4], kind=EventKind.DEPTH,
...     side=[Side.BID, Side.BID, Side.ASK, Side.BID],
...     price=[99.9, 100.0, 100.2, 100.0], qty=[2.0, 1.0, 3.0, 0.0])
>>> book = L2Book(tick_size=0.1, lo_tick=990, n_ticks=20)
>>> book.apply(ev)
>>> book.best_bid, book.best_bid_qty, book.best_ask
(99.9, 2.0, 100.2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from invrisk._typing import ArrayLike, BoolArray, Float64Array, Int64Array
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind, Side, iter_chunks
from invrisk.errors import InvalidArgumentError
from invrisk.market import _book_kernels as _jit
from invrisk.market import _book_kernels_python as _py

__all__ = [
    "MAX_TICKS",
    "BookSamples",
    "BookSnapshot",
    "BookWindow",
    "L2Book",
    "TopOfBook",
    "book_range",
    "book_window",
    "replay_top_of_book",
    "ticks_to_price",
]

Backend = Literal["numba", "python"]

MAX_TICKS = 100_000_000
"""Largest window (ticks per side): two float64 arrays of this length take 1.6 GB."""

_MAX_ABS_TICK = 2**53  # ticks are exact in float64 up to here
_NO_TIMES = np.empty(0, dtype=np.int64)
_PRICED_KINDS = (EventKind.DEPTH, EventKind.SNAPSHOT, EventKind.BBO, EventKind.TRADE)


class BookWindow(NamedTuple):
    """A tick window ``[lo_tick, lo_tick + n_ticks)`` (unpacks as keyword arguments of L2Book)."""

    lo_tick: int
    n_ticks: int


def ticks_to_price(ticks: ArrayLike, tick_size: float) -> Float64Array:
    """Integer ticks to prices, exactly as the decimal price when ``1/tick_size`` is an integer.

    ``618002 / 10`` is the double nearest to 61800.2 (what ``float("61800.2")`` gives), while
    ``618002 * 0.1`` is one ulp above it; division by the integer ``1 / tick_size`` is used
    whenever that is an integer, multiplication otherwise (ticks of 1, 5, 0.3 ...).
    """
    t = np.asarray(ticks, dtype=np.float64)
    inv = 1.0 / tick_size
    inv_int = round(inv)
    if inv_int >= 1 and abs(inv - inv_int) <= 1e-9 * inv:
        out: Float64Array = t / float(inv_int)
    else:
        out = t * tick_size
    return out


def _check_tick_size(tick_size: object) -> float:
    if isinstance(tick_size, bool) or not isinstance(tick_size, int | float | np.floating):
        raise InvalidArgumentError("tick_size", tick_size, "a finite number > 0")
    value = float(tick_size)
    if not (math.isfinite(value) and value > 0.0):
        raise InvalidArgumentError("tick_size", tick_size, "a finite number > 0")
    return value


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgumentError(name, value, f"an integer in [{lo}, {hi}]")
    if not lo <= int(value) <= hi:
        raise InvalidArgumentError(name, value, f"an integer in [{lo}, {hi}]")
    return int(value)


def _check_events(events: object) -> EventArray:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        what = (
            f"array of dtype {events.dtype} and shape {events.shape}"
            if isinstance(events, np.ndarray)
            else type(events).__name__
        )
        raise InvalidArgumentError("events", what, "a 1-D array of invrisk EVENT_DTYPE")
    return events


def _check_side(side: object) -> int:
    if isinstance(side, bool) or side not in (1, -1):
        raise InvalidArgumentError("side", side, "Side.BID (+1) or Side.ASK (-1)")
    return int(side)


def book_range(
    events: EventArray,
    tick_size: float,
    *,
    margin_ticks: int = 100,
    max_ticks: int | None = None,
) -> BookWindow:
    """A tick window covering the prices of ``events``, plus ``margin_ticks`` on each side.

    The prices of DEPTH, SNAPSHOT, BBO and TRADE rows are rounded to ticks (non-finite prices
    are ignored) and the window spans their minimum to maximum. When that is wider than
    ``max_ticks`` (raw feeds carry a few levels far from the market, e.g. a bid at 200 USD on
    ETH), the window is instead ``max_ticks`` wide, centred on the median trade/BBO price (on
    the median book price if there are none); the far levels then count as out of window.

    Parameters
    ----------
    events
        Array of ``EVENT_DTYPE``.
    tick_size
        Price increment, quote currency per tick (> 0).
    margin_ticks
        Ticks added below the lowest and above the highest price (>= 0; default 100).
    max_ticks
        Widest window allowed (default: no limit beyond :data:`MAX_TICKS`).
    """
    ts = _check_tick_size(tick_size)
    ev = _check_events(events)
    _check_int("margin_ticks", margin_ticks, 0, MAX_TICKS)
    limit = MAX_TICKS if max_ticks is None else _check_int("max_ticks", max_ticks, 1, MAX_TICKS)
    kinds_priced = [int(k) for k in _PRICED_KINDS]
    lo_t, hi_t = math.inf, -math.inf
    # chunks: bounded temporaries on streams of millions of rows, and a memory-mapped stream's
    # pages released as the pass goes
    for _, part in iter_chunks(ev):
        priced = np.isin(part["kind"], kinds_priced) & np.isfinite(part["price"])
        if priced.any():
            ticks = np.floor(part["price"][priced] / ts + 0.5)
            lo_t, hi_t = min(lo_t, float(ticks.min())), max(hi_t, float(ticks.max()))
    window = book_window(lo_t, hi_t, margin_ticks=margin_ticks, max_ticks=max_ticks)
    if window is not None:
        return window
    priced = np.isin(ev["kind"], kinds_priced) & np.isfinite(ev["price"])
    ticks = np.floor(ev["price"][priced] / ts + 0.5)
    kinds = ev["kind"][priced]
    touch = (kinds == EventKind.TRADE) | (kinds == EventKind.BBO)
    centre = int(np.median(ticks[touch] if touch.any() else ticks))
    return BookWindow(centre - limit // 2, limit)


def book_window(
    lo_tick: float, hi_tick: float, *, margin_ticks: int = 100, max_ticks: int | None = None
) -> BookWindow | None:
    """The window from tick ``lo_tick - margin_ticks`` to ``hi_tick + margin_ticks``, or None
    when that is wider than ``max_ticks`` (:func:`book_range` then centres a ``max_ticks``
    window on the median price).

    ``lo_tick`` and ``hi_tick`` are the lowest and highest priced ticks of a stream
    (``floor(price / tick_size + 0.5)``, as :func:`book_range` computes them); ``lo_tick >
    hi_tick`` means the stream has no priced row, an error, as is a tick beyond 2**53.
    """
    margin = _check_int("margin_ticks", margin_ticks, 0, MAX_TICKS)
    limit = MAX_TICKS if max_ticks is None else _check_int("max_ticks", max_ticks, 1, MAX_TICKS)
    if not lo_tick <= hi_tick:
        raise InvalidArgumentError(
            "events", "no DEPTH/SNAPSHOT/BBO/TRADE row with a finite price", "priced rows"
        )
    if max(abs(lo_tick), abs(hi_tick)) >= _MAX_ABS_TICK:
        raise InvalidArgumentError("events", "a price beyond 2**53 ticks", "prices in range")
    lo = int(lo_tick) - margin
    hi = int(hi_tick) + margin
    if hi - lo + 1 <= limit:
        return BookWindow(lo, hi - lo + 1)
    return None


@dataclass(frozen=True)
class TopOfBook:
    """Best bid and ask after each event row (arrays aligned with the input rows).

    Prices are NaN and quantities 0.0 where a side is empty. The counters cover this replay.

    Attributes
    ----------
    bid_price, bid_qty, ask_price, ask_qty
        Per row, read-only float64 arrays.
    crossed_events
        Messages after which the book was crossed (see :mod:`invrisk.market.book`).
    out_of_window, window_breaches
        Rows outside the window, and those of them that add size on its touch side.
    """

    bid_price: Float64Array
    bid_qty: Float64Array
    ask_price: Float64Array
    ask_qty: Float64Array
    crossed_events: int
    out_of_window: int
    window_breaches: int

    @property
    def crossed(self) -> BoolArray:
        """Per row: best bid >= best ask (False where a side is empty)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(self.bid_price >= self.ask_price)


@dataclass(frozen=True)
class BookSnapshot:
    """The ``n`` best levels of each side, best first; padded with NaN prices and 0.0 sizes.

    ``local_ns`` is the local time of the last row applied to the book (-1 if none).
    """

    bid_price: Float64Array
    bid_qty: Float64Array
    ask_price: Float64Array
    ask_qty: Float64Array
    local_ns: int


@dataclass(frozen=True)
class BookSamples:
    """Book snapshots at the times ``at_ns``: arrays of shape ``(len(at_ns), n_levels)``.

    Row ``j`` is the book after every row with ``local_ns <= at_ns[j]``, padded as in
    :class:`BookSnapshot`.
    """

    at_ns: Int64Array
    bid_price: Float64Array
    bid_qty: Float64Array
    ask_price: Float64Array
    ask_qty: Float64Array


def _readonly(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


class L2Book:
    """A price-level (L2) order book on the tick window ``[lo_tick, lo_tick + n_ticks)``.

    Parameters
    ----------
    tick_size
        Price increment of the instrument, quote currency per tick (> 0).
    lo_tick
        Lowest tick of the window (``lo_tick * tick_size`` is its lowest price).
    n_ticks
        Width of the window in ticks (1 ... :data:`MAX_TICKS`); memory is 16 bytes per tick.
    instrument
        Apply only rows of this ``instrument`` index (default: every row).
    backend
        ``"numba"`` (default) or ``"python"`` (the pure-Python twin; slow, for tests).

    See the module docstring for the rules (grid, kinds, window, crossed books).
    """

    def __init__(
        self,
        *,
        tick_size: float,
        lo_tick: int,
        n_ticks: int,
        instrument: int | None = None,
        backend: Backend = "numba",
    ) -> None:
        self._tick_size = _check_tick_size(tick_size)
        self._n_ticks = _check_int("n_ticks", n_ticks, 1, MAX_TICKS)
        self._lo_tick = _check_int(
            "lo_tick", lo_tick, -_MAX_ABS_TICK, _MAX_ABS_TICK - self._n_ticks
        )
        self._instrument = (
            -1 if instrument is None else _check_int("instrument", instrument, 0, 2**31 - 1)
        )
        if backend not in ("numba", "python"):
            raise InvalidArgumentError("backend", backend, "'numba' or 'python'")
        self._backend: Backend = backend
        self._kernels = _jit if backend == "numba" else _py
        self._bid = np.zeros(self._n_ticks)
        self._ask = np.zeros(self._n_ticks)
        self._state = np.zeros(_py.N_STATE, dtype=np.int64)
        self._state[_py.S_BEST_BID] = -1
        self._state[_py.S_BEST_ASK] = self._n_ticks
        self._local_ns = -1

    @classmethod
    def for_events(
        cls,
        events: EventArray,
        *,
        tick_size: float,
        margin_ticks: int = 100,
        max_ticks: int | None = None,
        instrument: int | None = None,
        backend: Backend = "numba",
    ) -> L2Book:
        """An empty book whose window is :func:`book_range` of ``events`` (not applied)."""
        window = book_range(events, tick_size, margin_ticks=margin_ticks, max_ticks=max_ticks)
        return cls(
            tick_size=tick_size,
            lo_tick=window.lo_tick,
            n_ticks=window.n_ticks,
            instrument=instrument,
            backend=backend,
        )

    def __repr__(self) -> str:
        return (
            f"L2Book(tick_size={self._tick_size!r}, lo_tick={self._lo_tick}, "
            f"n_ticks={self._n_ticks}, best_bid={self.best_bid!r}, best_ask={self.best_ask!r})"
        )

    # -- applying events ---------------------------------------------------------------------

    def _columns(self, ev: EventArray) -> tuple[np.ndarray, ...]:
        return (
            ev["kind"],
            ev["side"],
            ev["price"],
            ev["qty"],
            ev["local_ns"],
            ev["update_id"],
            ev["instrument"],
        )

    def _raise(self, status: int, ev: EventArray) -> None:
        row = int(self._state[_py.S_ERROR_ROW])
        r = ev[row]
        if status == _py.ERR_SIDE:
            allowed = "side +1 or -1 on DEPTH/SNAPSHOT rows, 0/+1/-1 on CLEAR rows"
            value: object = f"side {int(r['side'])} at row {row}"
        elif status == _py.ERR_PRICE:
            allowed = "finite prices"
            value = f"price {float(r['price'])!r} at row {row}"
        elif status == _py.ERR_QTY:
            allowed = "finite level sizes >= 0"
            value = f"qty {float(r['qty'])!r} at row {row}"
        else:
            allowed = (
                f"prices on the grid of tick_size={self._tick_size!r} "
                f"(within {_py.GRID_RTOL:g} relative)"
            )
            value = f"price {float(r['price'])!r} at row {row}"
        raise InvalidArgumentError("events", value, allowed)

    def _run(
        self,
        ev: EventArray,
        mode: int,
        at_ns: Int64Array | None = None,
        n_rows: int = 0,
        n_levels: int = 1,
    ) -> tuple[Int64Array, Float64Array, Int64Array, Float64Array]:
        bid_idx = np.empty((n_rows, n_levels), dtype=np.int64)
        ask_idx = np.empty((n_rows, n_levels), dtype=np.int64)
        bid_qty = np.empty((n_rows, n_levels))
        ask_qty = np.empty((n_rows, n_levels))
        status = self._kernels.run_kernel(
            *self._columns(ev),
            self._instrument,
            self._tick_size,
            self._lo_tick,
            self._bid,
            self._ask,
            self._state,
            mode,
            _NO_TIMES if at_ns is None else at_ns,
            bid_idx,
            bid_qty,
            ask_idx,
            ask_qty,
        )
        if status != _py.OK:
            self._raise(int(status), ev)
        if ev.shape[0]:
            self._local_ns = int(ev["local_ns"][-1])
        return bid_idx, bid_qty, ask_idx, ask_qty

    def apply(self, events: EventArray) -> None:
        """Apply every row of ``events`` in order (see the module docstring for the rules).

        Raises :class:`~invrisk.errors.InvalidArgumentError` naming the first bad row; the book
        is then unchanged.
        """
        self._run(_check_events(events), _py.MODE_APPLY)

    def replay(self, events: EventArray) -> TopOfBook:
        """Apply ``events`` and return the best bid/ask after each row (aligned with the rows).

        Rows the book skips (trades, BBO, tickers) repeat the previous state, so the row of
        an exchange BBO event holds the reconstructed BBO at that moment.
        """
        ev = _check_events(events)
        before = self._state.copy()
        bid_idx, bid_qty, ask_idx, ask_qty = self._run(ev, _py.MODE_REPLAY, n_rows=ev.shape[0])
        bid_price = self._idx_to_price(bid_idx[:, 0])
        ask_price = self._idx_to_price(ask_idx[:, 0])
        bid_qty, ask_qty = bid_qty[:, 0], ask_qty[:, 0]
        _readonly(bid_price, bid_qty, ask_price, ask_qty)
        d = self._state - before
        return TopOfBook(
            bid_price=bid_price,
            bid_qty=bid_qty,
            ask_price=ask_price,
            ask_qty=ask_qty,
            crossed_events=int(d[_py.S_CROSSED]),
            out_of_window=int(d[_py.S_OUT_OF_WINDOW]),
            window_breaches=int(d[_py.S_WINDOW_BREACHES]),
        )

    def sample(self, events: EventArray, *, at_ns: ArrayLike, n_levels: int) -> BookSamples:
        """Apply ``events`` and record the ``n_levels`` best levels as of each time in ``at_ns``.

        ``at_ns`` (int ns, non-decreasing) is compared with the rows' ``local_ns`` (the replay
        clock): sample ``j`` is the book after every row with ``local_ns <= at_ns[j]``. The
        events must be sorted by ``local_ns``. Every row is applied in the end.
        """
        ev = _check_events(events)
        n_lv = _check_int("n_levels", n_levels, 1, MAX_TICKS)
        at = np.asarray(at_ns)
        if at.ndim != 1 or at.dtype.kind not in "iu":
            raise InvalidArgumentError("at_ns", f"array {at.dtype}{at.shape}", "1-D int ns")
        at = np.ascontiguousarray(at, dtype=np.int64)
        if at.size > 1 and np.any(np.diff(at) < 0):
            raise InvalidArgumentError("at_ns", "decreasing times", "non-decreasing int ns")
        if ev.shape[0] > 1 and np.any(np.diff(ev["local_ns"]) < 0):
            i = int(np.flatnonzero(np.diff(ev["local_ns"]) < 0)[0]) + 1
            raise InvalidArgumentError(
                "events", f"local_ns decreasing at row {i}", "rows sorted by local_ns"
            )
        bid_idx, bid_qty, ask_idx, ask_qty = self._run(
            ev, _py.MODE_SAMPLE, at_ns=at, n_rows=at.shape[0], n_levels=n_lv
        )
        bid_price = self._idx_to_price(bid_idx)
        ask_price = self._idx_to_price(ask_idx)
        at = at.copy()
        _readonly(at, bid_price, bid_qty, ask_price, ask_qty)
        return BookSamples(
            at_ns=at, bid_price=bid_price, bid_qty=bid_qty, ask_price=ask_price, ask_qty=ask_qty
        )

    def clear(self) -> None:
        """Remove every level (the counters are kept)."""
        self._bid[:] = 0.0
        self._ask[:] = 0.0
        self._state[_py.S_BEST_BID] = -1
        self._state[_py.S_BEST_ASK] = self._n_ticks
        self._state[_py.S_N_BID] = 0
        self._state[_py.S_N_ASK] = 0

    # -- reading the book --------------------------------------------------------------------

    def _idx_to_price(self, idx: Int64Array) -> Float64Array:
        price = ticks_to_price(idx + self._lo_tick, self._tick_size)
        price[idx < 0] = np.nan
        return price

    def _price_of_index(self, idx: int) -> float:
        return float(ticks_to_price(self._lo_tick + idx, self._tick_size))

    @property
    def tick_size(self) -> float:
        return self._tick_size

    @property
    def lo_tick(self) -> int:
        return self._lo_tick

    @property
    def n_ticks(self) -> int:
        return self._n_ticks

    @property
    def window(self) -> BookWindow:
        return BookWindow(self._lo_tick, self._n_ticks)

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def best_bid_tick(self) -> int | None:
        """Tick of the best bid, None when the bid side is empty."""
        i = int(self._state[_py.S_BEST_BID])
        return None if i < 0 else self._lo_tick + i

    @property
    def best_ask_tick(self) -> int | None:
        """Tick of the best ask, None when the ask side is empty."""
        i = int(self._state[_py.S_BEST_ASK])
        return None if i >= self._n_ticks else self._lo_tick + i

    @property
    def best_bid(self) -> float:
        """Best bid price, NaN when the bid side is empty."""
        i = int(self._state[_py.S_BEST_BID])
        return math.nan if i < 0 else self._price_of_index(i)

    @property
    def best_ask(self) -> float:
        """Best ask price, NaN when the ask side is empty."""
        i = int(self._state[_py.S_BEST_ASK])
        return math.nan if i >= self._n_ticks else self._price_of_index(i)

    @property
    def best_bid_qty(self) -> float:
        """Size at the best bid, 0.0 when the bid side is empty."""
        i = int(self._state[_py.S_BEST_BID])
        return 0.0 if i < 0 else float(self._bid[i])

    @property
    def best_ask_qty(self) -> float:
        """Size at the best ask, 0.0 when the ask side is empty."""
        i = int(self._state[_py.S_BEST_ASK])
        return 0.0 if i >= self._n_ticks else float(self._ask[i])

    @property
    def n_bid_levels(self) -> int:
        return int(self._state[_py.S_N_BID])

    @property
    def n_ask_levels(self) -> int:
        return int(self._state[_py.S_N_ASK])

    @property
    def crossed(self) -> bool:
        """True when both sides are non-empty and best bid >= best ask."""
        return bool(self._state[_py.S_BEST_BID] >= self._state[_py.S_BEST_ASK])

    @property
    def events_applied(self) -> int:
        """DEPTH, SNAPSHOT and CLEAR rows applied (inside the window) since construction."""
        return int(self._state[_py.S_APPLIED])

    @property
    def out_of_window(self) -> int:
        """DEPTH/SNAPSHOT rows not applied because their tick is outside the window."""
        return int(self._state[_py.S_OUT_OF_WINDOW])

    @property
    def window_breaches(self) -> int:
        """Out-of-window rows adding size on the touch side (a bid above, an ask below)."""
        return int(self._state[_py.S_WINDOW_BREACHES])

    @property
    def crossed_events(self) -> int:
        """Messages after which the book was crossed (see the module docstring)."""
        return int(self._state[_py.S_CROSSED])

    @property
    def local_ns(self) -> int:
        """``local_ns`` of the last row applied (-1 before any)."""
        return self._local_ns

    def _index_of(self, price: float) -> int:
        p = float(price)
        if not math.isfinite(p):
            raise InvalidArgumentError("price", price, "a finite price")
        x = p / self._tick_size
        tick = math.floor(x + 0.5)
        if abs(x - tick) > _py.GRID_RTOL * abs(x):
            raise InvalidArgumentError(
                "price", price, f"a price on the grid of tick_size={self._tick_size!r}"
            )
        idx = tick - self._lo_tick
        if not 0 <= idx < self._n_ticks:
            lo = self._price_of_index(0)
            hi = self._price_of_index(self._n_ticks - 1)
            raise InvalidArgumentError("price", price, f"a price in the window [{lo}, {hi}]")
        return idx

    def depth_at(self, price: float, side: int) -> float:
        """Size resting at ``price`` on ``side`` (0.0 if no level); ``price`` must be in the
        window."""
        s = _check_side(side)
        idx = self._index_of(price)
        return float(self._bid[idx] if s == Side.BID else self._ask[idx])

    def _levels_idx(self, side: int, n: int) -> tuple[Int64Array, Float64Array]:
        s = _check_side(side)
        n = _check_int("n", n, 1, MAX_TICKS)
        if s == Side.BID:
            levels, best, count, step = (
                self._bid,
                self._state[_py.S_BEST_BID],
                self.n_bid_levels,
                -1,
            )
        else:
            levels, best, count, step = self._ask, self._state[_py.S_BEST_ASK], self.n_ask_levels, 1
        m = min(n, count)
        idx = np.empty(m, dtype=np.int64)
        qty = np.empty(m)
        self._kernels.levels_kernel(levels, int(best), count, step, idx, qty)
        return idx, qty

    def levels(self, side: int, n: int) -> tuple[Float64Array, Float64Array]:
        """Prices and sizes of the ``n`` best levels of ``side``, best first (fewer if the side
        has fewer levels). The arrays are copies."""
        idx, qty = self._levels_idx(side, n)
        return self._idx_to_price(idx), qty

    def cumulative_depth(self, side: int, n: int) -> Float64Array:
        """Cumulative size of the ``n`` best levels of ``side`` (element k: levels 0..k)."""
        _, qty = self._levels_idx(side, n)
        out: Float64Array = np.cumsum(qty)
        return out

    def snapshot(self, n: int) -> BookSnapshot:
        """The ``n`` best levels of each side (padded with NaN prices and 0.0 sizes)."""
        n = _check_int("n", n, 1, MAX_TICKS)
        arrays = []
        for side in (Side.BID, Side.ASK):
            idx, qty = self._levels_idx(side, n)
            price = np.full(n, np.nan)
            size = np.zeros(n)
            price[: idx.shape[0]] = self._idx_to_price(idx)
            size[: qty.shape[0]] = qty
            _readonly(price, size)
            arrays += [price, size]
        return BookSnapshot(
            bid_price=arrays[0],
            bid_qty=arrays[1],
            ask_price=arrays[2],
            ask_qty=arrays[3],
            local_ns=self._local_ns,
        )


def replay_top_of_book(
    events: EventArray,
    *,
    tick_size: float,
    lo_tick: int,
    n_ticks: int,
    instrument: int | None = None,
    backend: Backend = "numba",
) -> TopOfBook:
    """Replay ``events`` on an empty :class:`L2Book`; best bid/ask after each row.

    The outputs are aligned with the input rows, so the reconstructed BBO can be compared with
    an exchange's own BBO rows. Binance bookTicker events carry the update id ``u`` of the book
    they show: compare one with the output at the *last row of the DEPTH message with the same
    ``update_id``*. It comes on another stream and may be received before that message (in
    the 2024-08-08 BTCUSDT sample, 503 of the 629 such pairs) or after it; when after, the
    output at the BBO row itself is the same book.
    """
    book = L2Book(
        tick_size=tick_size,
        lo_tick=lo_tick,
        n_ticks=n_ticks,
        instrument=instrument,
        backend=backend,
    )
    return book.replay(events)
