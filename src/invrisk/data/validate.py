"""Checks of an event array before it is trusted: order, duplicates, book state, gaps, clocks.

:func:`validate_events` inspects an array of :data:`~invrisk.data.events.EVENT_DTYPE` (from any
reader) and returns a frozen :class:`ValidationReport`; every defect found is also announced by
one :class:`~invrisk.errors.DataWarning` per kind of defect, naming the file (``path``) and the
first offending rows. Nothing is modified, sorted, dropped or "fixed".

Checks
------
Counts
    Rows per :class:`~invrisk.data.events.EventKind`.
Local time order
    Rows whose ``local_ns`` is earlier than the previous row's (replay order is local time).
Duplicates
    Rows identical, field by field and bit for bit, to an earlier row.
Off-grid prices
    DEPTH/SNAPSHOT/TRADE/BBO prices that are not a multiple of the tick size (relative
    tolerance 1e-9). The tick size is given or inferred (:func:`infer_tick_size`).
Crossed books
    The rows are applied to an L2 book (:func:`invrisk.market.book.replay_top_of_book`, one
    book per ``instrument``) and the book is checked at the end of each book message (the last
    row of a run of DEPTH/SNAPSHOT/CLEAR rows sharing ``local_ns`` and ``update_id``; inside a
    message the book may cross for a moment). Every message end with best bid >= best ask is a
    crossed row. **Rule after a reset:** a crossed book is reported, never repaired; the replay
    goes on with the crossed levels until later updates uncross it or a CLEAR/SNAPSHOT
    replaces the book. A crossing that starts at a snapshot (the snapshot itself is crossed)
    or at the first message after a CLEAR/snapshot is listed in ``crossed_after_reset_rows``:
    such a book stays suspect until the next snapshot rebuilds it. If prices are off the grid
    the book cannot be replayed and this check is skipped (``n_crossed`` is None).
Depth gaps
    Where DEPTH rows carry update ids (``update_id >= 0``), consecutive messages must chain:
    ``prev_id`` equal to the previous message's ``update_id`` when ``prev_id`` is present
    (Binance futures ``pu``), else ``first_id`` equal to the previous ``update_id + 1`` (Binance
    spot ``U``). The first message after a SNAPSHOT must straddle its id
    (``first_id <= id <= update_id``, or ``id + 1`` without ``prev_id``). After a CLEAR there is
    no book: messages are not checked until the next SNAPSHOT. A message not newer than the
    previous one is also a gap.
Clock offset
    ``local_ns - exch_ns`` per message (consecutive rows with the same pair count once), over
    rows whose exchange time is real (``exch_known``; e.g. ``~BinanceStream.exch_from_local``):
    median, 1st and 99th percentiles and their spread, and stability: the medians of
    consecutive ``window_ns`` windows of local time, whose range is the drift. A drift above
    ``max_drift_ns`` is warned about: a single offset does not then describe the recorder's
    clock.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np

from invrisk._typing import BoolArray, Float64Array, Int64Array
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind
from invrisk.errors import DataWarning, InvalidArgumentError
from invrisk.units import NS_PER_MINUTE, NS_PER_MS

__all__ = ["ClockOffsetStats", "DepthGap", "ValidationReport", "infer_tick_size", "validate_events"]

_MAX_LISTED = 1_000
_GRID_RTOL = 1e-9
_PRICED = (EventKind.DEPTH, EventKind.SNAPSHOT, EventKind.TRADE, EventKind.BBO)


@dataclass(frozen=True, slots=True)
class DepthGap:
    """A DEPTH message that does not chain to the book before it (``row``: its first row)."""

    row: int
    update_id: int
    expected: int
    got: int
    rule: str


@dataclass(frozen=True)
class ClockOffsetStats:
    """``local_ns - exch_ns`` statistics (ns) over ``n_messages`` messages.

    ``window_medians_ns`` are the medians of consecutive ``window_ns`` windows of local time
    (windows with at least 10 messages); ``drift_ns`` is their range (max - min).
    """

    median_ns: int
    p1_ns: int
    p99_ns: int
    spread_ns: int
    n_messages: int
    window_ns: int
    window_medians_ns: tuple[int, ...]
    drift_ns: int


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_events` found. Row lists hold at most 1,000 entries; ``n_*`` all.

    Attributes
    ----------
    path
        The file the events came from (for messages), or None.
    n_events, counts
        Rows, and rows per kind name (``DEPTH``, ``TRADE`` ...).
    tick_size
        The tick size used (given or inferred; NaN without priced rows).
    n_nonmonotonic, nonmonotonic_rows
        Rows with ``local_ns`` earlier than the previous row.
    n_duplicates, duplicate_rows
        Rows identical to an earlier row.
    n_off_grid, off_grid_rows
        Priced rows off the tick grid.
    n_crossed, crossed_rows, crossed_after_reset_rows
        Book-message ends with a crossed book (None: not checked), and those of them that
        start a crossing at a snapshot or right after a CLEAR/snapshot.
    out_of_window, window_breaches
        Book rows outside the replay window, and those that may hide a better price.
    n_gaps, gaps
        Depth messages that break the update-id chain (:class:`DepthGap`).
    clock_offset
        :class:`ClockOffsetStats`, or None without rows with a known exchange time.
    """

    path: str | None
    n_events: int
    counts: Mapping[str, int]
    tick_size: float
    n_nonmonotonic: int
    nonmonotonic_rows: tuple[int, ...]
    n_duplicates: int
    duplicate_rows: tuple[int, ...]
    n_off_grid: int
    off_grid_rows: tuple[int, ...]
    n_crossed: int | None
    crossed_rows: tuple[int, ...]
    crossed_after_reset_rows: tuple[int, ...]
    out_of_window: int
    window_breaches: int
    n_gaps: int
    gaps: tuple[DepthGap, ...]
    clock_offset: ClockOffsetStats | None

    @property
    def ok(self) -> bool:
        """No defect of any kind was found."""
        return (
            self.n_nonmonotonic == 0
            and self.n_duplicates == 0
            and self.n_off_grid == 0
            and not self.n_crossed
            and self.n_gaps == 0
        )

    def as_dict(self) -> dict[str, object]:
        """A JSON-able dict (tuples become lists; NaN tick size becomes None)."""
        out = asdict(self)
        out["counts"] = dict(self.counts)
        out["ok"] = self.ok
        if not np.isfinite(self.tick_size):
            out["tick_size"] = None
        return out


def infer_tick_size(prices: Float64Array, *, max_decimals: int = 12) -> float:
    """The price step of ``prices``: the GCD of the prices at their finest decimal precision.

    The decimals ``d`` are the fewest (<= ``max_decimals``) for which every ``price * 10**d``
    is an integer to within 1e-6; the step is then ``gcd(round(price * 10**d)) / 10**d``,
    returned as the double nearest to that decimal. NaN if there are no finite positive
    prices or no such ``d``. With many distinct prices this is the tick size; with a handful it
    may be a multiple of it.

    Examples
    --------
    >>> infer_tick_size(np.array([61800.2, 61800.0, 61799.9]))
    0.1
    """
    px = np.asarray(prices, dtype=np.float64)
    px = np.unique(px[np.isfinite(px) & (px > 0)])
    if len(px) == 0:
        return float("nan")
    for d in range(max_decimals + 1):
        scaled = px * 10.0**d
        if scaled.max() >= 2.0**53:
            break
        units = np.rint(scaled)
        if np.all(np.abs(scaled - units) <= 1e-6):
            g = int(np.gcd.reduce(units.astype(np.int64)))
            return float(Decimal(g).scaleb(-d))
    return float("nan")


def _where(path: str | None) -> str:
    return path if path is not None else "<events>"


def _listed(rows: Int64Array) -> tuple[int, ...]:
    return tuple(int(r) for r in rows[:_MAX_LISTED])


def _duplicates(ev: EventArray) -> Int64Array:
    """Rows identical (bit for bit, every field) to an earlier row."""
    n = len(ev)
    if n < 2:
        return np.zeros(0, np.int64)
    cols: list[np.ndarray] = []
    for name in EVENT_DTYPE.names or ():
        col = np.ascontiguousarray(ev[name])
        cols.append(col.view(np.int64) if col.dtype == np.float64 else col.astype(np.int64))
    h = np.zeros(n, np.uint64)
    for col in cols:
        h = (h ^ col.view(np.uint64)) * np.uint64(0x100000001B3)
        h ^= h >> np.uint64(29)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    same = np.flatnonzero(hs[1:] == hs[:-1])
    if len(same) == 0:
        return np.zeros(0, np.int64)
    dup: list[int] = []
    for k in same.tolist():  # candidates only: verify field by field
        a, b = int(order[k]), int(order[k + 1])
        if all(c[a] == c[b] for c in cols):
            dup.append(max(a, b))
    return np.unique(np.array(dup, dtype=np.int64))


def _message_ends(ev: EventArray, rows: Int64Array) -> Int64Array:
    """Last row of each run of book rows sharing ``local_ns`` and ``update_id``."""
    if len(rows) == 0:
        return rows
    nxt = np.append(rows[1:], -1)
    nx = np.maximum(nxt, 0)
    same = (
        (nxt == rows + 1)
        & (ev["local_ns"][nx] == ev["local_ns"][rows])
        & (ev["update_id"][nx] == ev["update_id"][rows])
    )
    ends: Int64Array = rows[~same]
    return ends


def _crossed(
    ev: EventArray, tick_size: float, max_ticks: int
) -> tuple[Int64Array, Int64Array, int, int]:
    """Crossed message ends, those right after a reset, out-of-window rows and breaches."""
    from invrisk.market.book import book_range, replay_top_of_book

    kind = ev["kind"]
    book_rows = np.flatnonzero(
        (kind == EventKind.DEPTH) | (kind == EventKind.SNAPSHOT) | (kind == EventKind.CLEAR)
    )
    if len(book_rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 0
    crossed: list[Int64Array] = []
    after_reset: list[Int64Array] = []
    out = breaches = 0
    for inst in np.unique(ev["instrument"]).tolist():
        sel = ev["instrument"] == inst
        idx = np.flatnonzero(sel)
        sub = ev[sel]
        priced = np.isin(sub["kind"], [int(k) for k in _PRICED])
        if not priced.any():
            continue
        window = book_range(sub, tick_size, max_ticks=max_ticks)
        top = replay_top_of_book(
            sub, tick_size=tick_size, lo_tick=window.lo_tick, n_ticks=window.n_ticks
        )
        out += top.out_of_window
        breaches += top.window_breaches
        sk = sub["kind"]
        rows = np.flatnonzero(
            (sk == EventKind.DEPTH) | (sk == EventKind.SNAPSHOT) | (sk == EventKind.CLEAR)
        )
        ends = _message_ends(sub, rows)
        with np.errstate(invalid="ignore"):
            is_x = top.bid_price[ends] >= top.ask_price[ends]
        if not is_x.any():
            continue
        prev_x = np.concatenate(([False], is_x[:-1]))
        prev_kind = np.concatenate(([EventKind.CLEAR], sk[ends][:-1]))
        reset = (sk[ends] == EventKind.SNAPSHOT) | np.isin(
            prev_kind, [EventKind.CLEAR, EventKind.SNAPSHOT]
        )
        starts = is_x & ~prev_x & reset
        crossed.append(idx[ends[is_x]])
        after_reset.append(idx[ends[starts]])
    cat = np.concatenate(crossed) if crossed else np.zeros(0, np.int64)
    aft = np.concatenate(after_reset) if after_reset else np.zeros(0, np.int64)
    return np.sort(cat), np.sort(aft), out, breaches


def _gaps(ev: EventArray) -> list[DepthGap]:
    """Depth messages that break the update-id chain (per instrument)."""
    gaps: list[DepthGap] = []
    for inst in np.unique(ev["instrument"]).tolist():
        idx = np.flatnonzero(ev["instrument"] == inst)
        sub = ev[idx]
        k = sub["kind"]
        rows = np.flatnonzero(
            (k == EventKind.DEPTH) | (k == EventKind.SNAPSHOT) | (k == EventKind.CLEAR)
        )
        if len(rows) == 0:
            continue
        # First row of each message.
        prv = np.concatenate(([-2], rows[:-1]))
        pp = np.maximum(prv, 0)
        cont = (
            (prv == rows - 1)
            & (k[pp] == k[rows])
            & (sub["local_ns"][pp] == sub["local_ns"][rows])
            & (sub["update_id"][pp] == sub["update_id"][rows])
        )
        starts = rows[~cont]
        book_id = -1  # -1: no book (start, or after a CLEAR)
        fresh = False  # the previous message was a snapshot
        have_book = False
        for r in starts.tolist():
            kind = int(k[r])
            uid = int(sub["update_id"][r])
            if kind == EventKind.CLEAR:
                have_book = False
                continue
            if kind == EventKind.SNAPSHOT:
                book_id, fresh, have_book = uid, True, uid >= 0
                continue
            first = int(sub["first_id"][r])
            prev = int(sub["prev_id"][r])
            if uid < 0 or (first < 0 and prev < 0):
                continue
            if not have_book:
                book_id, have_book, fresh = uid, True, False  # start of the chain
                continue
            if fresh:
                target = book_id if prev >= 0 else book_id + 1
                if not first <= target <= uid:
                    gaps.append(
                        DepthGap(int(idx[r]), uid, target, first, "first_id <= snapshot id <= u")
                    )
            elif uid <= book_id:
                gaps.append(DepthGap(int(idx[r]), uid, book_id + 1, uid, "update_id increases"))
            elif prev >= 0 and prev != book_id:
                gaps.append(DepthGap(int(idx[r]), uid, book_id, prev, "prev_id == previous u"))
            elif prev < 0 and first != book_id + 1:
                gaps.append(
                    DepthGap(int(idx[r]), uid, book_id + 1, first, "first_id == previous u + 1")
                )
            book_id, fresh = max(uid, book_id), False
    gaps.sort(key=lambda g: g.row)
    return gaps


def _clock(ev: EventArray, known: BoolArray, window_ns: int) -> ClockOffsetStats | None:
    rows = np.flatnonzero(known)
    if len(rows) == 0:
        return None
    local = ev["local_ns"][rows]
    exch = ev["exch_ns"][rows]
    new = np.ones(len(rows), bool)
    new[1:] = (local[1:] != local[:-1]) | (exch[1:] != exch[:-1])
    local, exch = local[new], exch[new]
    off = local - exch
    p1, med, p99 = (int(x) for x in np.percentile(off, [1, 50, 99], method="nearest"))
    win = (local - local.min()) // window_ns
    order = np.argsort(win, kind="stable")
    w_sorted = win[order]
    bounds = np.flatnonzero(np.diff(w_sorted)) + 1
    medians = [
        int(np.percentile(part, 50, method="nearest"))
        for part in np.split(off[order], bounds)
        if len(part) >= 10
    ]
    drift = (max(medians) - min(medians)) if medians else 0
    return ClockOffsetStats(
        median_ns=med,
        p1_ns=p1,
        p99_ns=p99,
        spread_ns=p99 - p1,
        n_messages=len(off),
        window_ns=window_ns,
        window_medians_ns=tuple(medians),
        drift_ns=drift,
    )


def validate_events(
    events: EventArray,
    *,
    path: str | None = None,
    tick_size: float | None = None,
    exch_known: BoolArray | None = None,
    window_ns: int = NS_PER_MINUTE,
    max_drift_ns: int = 100 * NS_PER_MS,
    max_ticks: int = 4_000_000,
) -> ValidationReport:
    """Check ``events`` (see the module docstring) and report; warn once per defect kind.

    Parameters
    ----------
    events
        Array of :data:`~invrisk.data.events.EVENT_DTYPE`, in replay order.
    path
        The file the events came from, named in the warnings.
    tick_size
        Price increment; inferred with :func:`infer_tick_size` (per the whole array) if None.
    exch_known
        Per row, whether ``exch_ns`` is a real exchange time (default: every row with
        ``exch_ns > 0``). Pass ``~stream.exch_from_local`` for a Binance stream.
    window_ns
        Window of the clock-offset stability check (default one minute).
    max_drift_ns
        Drift of the clock offset above which a warning is given (default 100 ms).
    max_ticks
        Widest book window for the crossed-book replay (far levels beyond it are counted).
    """
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise InvalidArgumentError("events", type(events).__name__, "a 1-D EVENT_DTYPE array")
    if tick_size is not None and not (np.isfinite(tick_size) and tick_size > 0):
        raise InvalidArgumentError("tick_size", tick_size, "a positive finite price step or None")
    if isinstance(window_ns, bool) or not isinstance(window_ns, int) or window_ns <= 0:
        raise InvalidArgumentError("window_ns", window_ns, "a positive integer (ns)")
    ev = events
    n = len(ev)
    if exch_known is None:
        known = ev["exch_ns"] > 0
    else:
        known = np.asarray(exch_known, dtype=bool)
        if known.shape != (n,):
            raise InvalidArgumentError(
                "exch_known", known.shape, f"a boolean array of shape ({n},)"
            )
    where = _where(path)
    kinds = ev["kind"]
    counts = {k.name: int(np.count_nonzero(kinds == k)) for k in EventKind}
    priced = np.isin(kinds, [int(k) for k in _PRICED])
    tick = float(tick_size) if tick_size is not None else infer_tick_size(ev["price"][priced])

    local = ev["local_ns"]
    back = np.flatnonzero(local[1:] < local[:-1]) + 1
    if len(back):
        warnings.warn(
            DataWarning(
                f"{where}, row {int(back[0])}: local_ns earlier than the previous row's "
                f"({len(back)} rows; first rows {_listed(back)[:5]}); rows are not in replay order"
            ),
            stacklevel=2,
        )
    dup = _duplicates(ev)
    if len(dup):
        warnings.warn(
            DataWarning(
                f"{where}, row {int(dup[0])}: identical to an earlier row ({len(dup)} duplicate "
                f"rows; first rows {_listed(dup)[:5]})"
            ),
            stacklevel=2,
        )
    off_grid = np.zeros(0, np.int64)
    if np.isfinite(tick):
        with np.errstate(invalid="ignore"):
            x = ev["price"] / tick
            bad = priced & ~(np.abs(x - np.rint(x)) <= _GRID_RTOL * np.abs(x))
        off_grid = np.flatnonzero(bad)
        if len(off_grid):
            warnings.warn(
                DataWarning(
                    f"{where}, row {int(off_grid[0])}: price {float(ev['price'][off_grid[0]])} "
                    f"is not a multiple of the tick size {tick} ({len(off_grid)} rows); the "
                    "book is not replayed"
                ),
                stacklevel=2,
            )
    n_crossed: int | None = None
    crossed = after = np.zeros(0, np.int64)
    out = breaches = 0
    if np.isfinite(tick) and len(off_grid) == 0:
        crossed, after, out, breaches = _crossed(ev, tick, max_ticks)
        n_crossed = len(crossed)
        if n_crossed:
            warnings.warn(
                DataWarning(
                    f"{where}, row {int(crossed[0])}: crossed book (best bid >= best ask) after "
                    f"this message ({n_crossed} message ends crossed, {len(after)} crossings "
                    "starting at a snapshot or right after a reset); reported, not repaired"
                ),
                stacklevel=2,
            )
    gaps = _gaps(ev)
    if gaps:
        g = gaps[0]
        warnings.warn(
            DataWarning(
                f"{where}, row {g.row}: depth update-id gap at update_id {g.update_id} "
                f"({g.rule}: expected {g.expected}, got {g.got}; {len(gaps)} gaps)"
            ),
            stacklevel=2,
        )
    clock = _clock(ev, known, window_ns)
    if clock is not None and clock.drift_ns > max_drift_ns:
        warnings.warn(
            DataWarning(
                f"{where}: the clock offset local - exchange drifts by {clock.drift_ns} ns "
                f"between {window_ns} ns windows (more than {max_drift_ns} ns)"
            ),
            stacklevel=2,
        )
    return ValidationReport(
        path=path,
        n_events=n,
        counts=counts,
        tick_size=tick,
        n_nonmonotonic=len(back),
        nonmonotonic_rows=_listed(back),
        n_duplicates=len(dup),
        duplicate_rows=_listed(dup),
        n_off_grid=len(off_grid),
        off_grid_rows=_listed(off_grid),
        n_crossed=n_crossed,
        crossed_rows=_listed(crossed),
        crossed_after_reset_rows=_listed(after),
        out_of_window=out,
        window_breaches=breaches,
        n_gaps=len(gaps),
        gaps=tuple(gaps[:_MAX_LISTED]),
        clock_offset=clock,
    )
