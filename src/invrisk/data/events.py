"""The market event: one flat numpy structured dtype shared by readers, catalog, book and engine.

Every vendor format is turned into arrays of :data:`EVENT_DTYPE`, one row per atomic fact: a
price level's new size, a snapshot level, a book clear, a trade, one side of a best bid/offer,
or a derivative ticker value (mark, index, funding, open interest). Rows are ordered by the time
the data became known locally (``local_ns``), as a replay consumes them.

Fields
------
========== ======= ==========================================================================
field      type    meaning
========== ======= ==========================================================================
exch_ns    int64   exchange timestamp, ns UTC (event or transaction time the venue stamped)
local_ns   int64   local receive timestamp, ns UTC (when the recorder got the message)
kind       uint8   :class:`EventKind`
side       int8    :class:`Side`: +1 bid / buyer-initiated trade, -1 ask / seller-initiated,
                   0 when the event has no side (CLEAR of both sides, tickers)
price      float64 price in quote currency (USD, USDT...) — or the ticker value (see below)
qty        float64 size in the venue's quantity unit: base asset for linear and spot, contracts
                   for inverse (Binance COIN-M: USD 100 contracts; see ``instruments.py``);
                   for DEPTH and SNAPSHOT the new absolute size of the level (0 deletes it)
update_id  int64   the venue's sequence number of the message (Binance ``u``; trade id for
                   trades), -1 if the venue has none
first_id   int64   first update id covered by the message (Binance ``U``), -1 if none
prev_id    int64   previous message's last id as the venue states it (Binance futures ``pu``),
                   -1 if none
instrument int32   index into the symbol table of the stream or catalog partition (0 for a
                   single-instrument stream)
========== ======= ==========================================================================

Ticker kinds put their value in ``price``: MARK (mark price), INDEX (index price), FUNDING
(funding rate as a decimal per funding interval, e.g. 0.0001 = 1 bp), OPEN_INTEREST (in
``qty``, contracts). A BBO row is one side of a best bid/offer update (two rows per update).

The layout follows the event arrays of hftbacktest (two int64 clocks, kind and side flags,
price and quantity; see DESIGN.md) with explicit sequence ids for gap detection.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import cast

import numpy as np
import numpy.typing as npt

from invrisk.errors import InvalidArgumentError

CHUNK_ROWS = 1 << 20
"""Rows per chunk of the chunked passes over event arrays (72 MB of ``EVENT_DTYPE``)."""

__all__ = [
    "CHUNK_ROWS",
    "EVENT_DTYPE",
    "EventArray",
    "EventKind",
    "Side",
    "empty_events",
    "events_from_columns",
    "is_sorted_by_local_time",
    "iter_chunks",
    "non_decreasing",
    "release_rows",
]


class EventKind(IntEnum):
    """What an event row says (``kind`` field; usable from numba as an integer)."""

    DEPTH = 1
    """Incremental update: the level at ``price`` on ``side`` now holds ``qty`` (0 = removed)."""
    SNAPSHOT = 2
    """A level of a full book snapshot; a snapshot is preceded by a CLEAR of both sides."""
    CLEAR = 3
    """Remove every level of ``side`` (0 = both sides), e.g. before a snapshot or after a gap."""
    TRADE = 4
    """A trade of ``qty`` at ``price``; ``side`` is the aggressor (+1 buyer, -1 seller)."""
    BBO = 5
    """One side of a best bid/offer update (the venue's own top of book)."""
    MARK = 6
    """Mark price in ``price``."""
    INDEX = 7
    """Index (spot reference) price in ``price``."""
    FUNDING = 8
    """Funding rate (decimal per funding interval) in ``price``."""
    OPEN_INTEREST = 9
    """Open interest (contracts) in ``qty``."""


class Side(IntEnum):
    """Book side or trade aggressor (``side`` field)."""

    BID = 1
    """Bid side, or a buyer-initiated trade."""
    ASK = -1
    """Ask side, or a seller-initiated trade."""
    NONE = 0


EVENT_DTYPE = np.dtype(
    [
        ("exch_ns", np.int64),
        ("local_ns", np.int64),
        ("kind", np.uint8),
        ("side", np.int8),
        ("price", np.float64),
        ("qty", np.float64),
        ("update_id", np.int64),
        ("first_id", np.int64),
        ("prev_id", np.int64),
        ("instrument", np.int32),
    ],
    align=True,
)
"""The market event record (see the module docstring)."""

EventArray = npt.NDArray[np.void]
"""A 1-D array of :data:`EVENT_DTYPE` records."""


def empty_events(n: int) -> EventArray:
    """``n`` events with ids -1 and everything else 0 (to be filled by a reader)."""
    if n < 0:
        raise InvalidArgumentError("n", n, "a count >= 0")
    out = np.zeros(n, dtype=EVENT_DTYPE)
    out["update_id"] = -1
    out["first_id"] = -1
    out["prev_id"] = -1
    return out


def events_from_columns(
    *,
    exch_ns: npt.ArrayLike,
    local_ns: npt.ArrayLike,
    kind: npt.ArrayLike,
    side: npt.ArrayLike,
    price: npt.ArrayLike,
    qty: npt.ArrayLike,
    update_id: npt.ArrayLike = -1,
    first_id: npt.ArrayLike = -1,
    prev_id: npt.ArrayLike = -1,
    instrument: npt.ArrayLike = 0,
) -> EventArray:
    """Build an event array from columns (scalars broadcast), checking kinds and sides."""
    columns = (exch_ns, local_ns, kind, side, price, qty, update_id, first_id, prev_id, instrument)
    try:
        shape = np.broadcast_shapes(*(np.shape(x) for x in columns))
    except ValueError as exc:
        raise InvalidArgumentError(
            "columns", [np.shape(x) for x in columns], "1-D columns of one length (or scalars)"
        ) from exc
    if len(shape) > 1:
        raise InvalidArgumentError("columns", shape, "1-D columns")
    n = shape[0] if shape else 1
    out = empty_events(n)
    for name, value in (
        ("exch_ns", exch_ns),
        ("local_ns", local_ns),
        ("kind", kind),
        ("side", side),
        ("price", price),
        ("qty", qty),
        ("update_id", update_id),
        ("first_id", first_id),
        ("prev_id", prev_id),
        ("instrument", instrument),
    ):
        out[name] = np.broadcast_to(np.asarray(value), (n,))
    kinds = {int(k) for k in EventKind}
    bad = ~np.isin(out["kind"], list(kinds))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError(
            "kind", f"{int(out['kind'][i])} at row {i}", f"one of {sorted(kinds)}"
        )
    bad = ~np.isin(out["side"], [-1, 0, 1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError("side", f"{int(out['side'][i])} at row {i}", "-1, 0 or +1")
    return out


def is_sorted_by_local_time(events: EventArray) -> bool:
    """True if ``local_ns`` never decreases (the replay order); checked chunk by chunk."""
    return non_decreasing(events["local_ns"])


def non_decreasing(x: np.ndarray, chunk: int = CHUNK_ROWS) -> bool:
    """``x`` never decreases (checked in chunks: no full-size temporary)."""
    for lo in range(0, x.shape[0], chunk):
        part = x[lo : lo + chunk + 1]
        if part.shape[0] > 1 and bool(np.any(part[1:] < part[:-1])):
            return False
    return True


def iter_chunks(events: np.ndarray, chunk: int = CHUNK_ROWS) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_row, rows)`` over ``events`` in chunks, releasing each chunk's pages after use.

    For a read-only memory map (``np.load(..., mmap_mode="r")``) the pages of a chunk are
    handed back to the operating system once the caller asks for the next one (see
    :func:`release_rows`), so one pass over a file-backed stream keeps about one chunk
    resident instead of the whole file. Any other array is simply sliced.
    """
    for lo in range(0, events.shape[0], chunk):
        yield lo, events[lo : lo + chunk]
        release_rows(events, lo, min(lo + chunk, events.shape[0]))


def release_rows(events: np.ndarray, lo: int, hi: int) -> None:
    """Drop the resident pages of rows ``[lo, hi)`` of a read-only memory-mapped array.

    Only whole pages inside the rows are released, and only when ``events`` is (a view of) an
    ``np.memmap`` opened read-only on Linux: the file is unchanged, so a later read of those
    rows faults the same bytes back in from the page cache or the file. Anything else (an
    in-memory array, a copy-on-write or writable map, another OS) is left alone. This bounds
    the resident memory of a replay of a large ``.npy`` stream; it never changes a value.
    """
    fn = _madvise
    if fn is None or hi <= lo or not _readonly_memmap(events):
        return
    stride = events.strides[0]
    if stride <= 0:
        return
    base = events.ctypes.data
    start = -(-(base + lo * stride) // _PAGE) * _PAGE
    stop = (base + hi * stride) // _PAGE * _PAGE
    if stop > start:
        fn(start, stop - start, mmap.MADV_DONTNEED)


def _readonly_memmap(arr: np.ndarray) -> bool:
    a: object = arr
    while isinstance(a, np.ndarray):
        if isinstance(a, np.memmap):
            return a.mode == "r"
        a = a.base
    return False


def _libc_madvise() -> Callable[[int, int, int], int] | None:
    if not sys.platform.startswith("linux") or not hasattr(mmap, "MADV_DONTNEED"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return cast("Callable[[int, int, int], int]", fn)


_PAGE = mmap.PAGESIZE
_madvise = _libc_madvise()
