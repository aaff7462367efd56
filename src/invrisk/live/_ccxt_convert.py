"""Pure conversions for :mod:`invrisk.live.ccxt_gateway`: venue messages (as ccxt parses them)
to :data:`~invrisk.data.events.EVENT_DTYPE` rows, and a ccxt error to the venue's reason.

No state and no I/O: the gateway holds the previous book per instrument and passes it in.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from invrisk.data.events import EventKind

__all__ = [
    "NS_PER_MS",
    "Levels",
    "Row",
    "book_rows",
    "retry_after_s",
    "trade_rows",
    "venue_reason",
]

NS_PER_MS = 1_000_000

Row: TypeAlias = tuple[int, int, int, int, float, float, int, int, int, int]
"""One EVENT_DTYPE record as a tuple (exch_ns, local_ns, kind, side, price, qty, update_id,
first_id, prev_id, instrument)."""

Levels: TypeAlias = tuple[dict[float, float], dict[float, float]]
"""A book as (bids, asks), price -> size, in the event quantity unit."""


def _row(
    exch_ns: int, local_ns: int, kind: int, side: int, price: float, qty: float, uid: int, i: int
) -> Row:
    return (exch_ns, local_ns, int(kind), side, price, qty, uid, -1, -1, i)


def book_rows(
    prev: Levels | None,
    bids: Iterable[Sequence[Any]],
    asks: Iterable[Sequence[Any]],
    *,
    exch_ns: int,
    local_ns: int,
    update_id: int,
    instrument: int,
    qty_per_amount: float,
) -> tuple[list[Row], Levels]:
    """Rows that turn the book ``prev`` into the venue's book ``bids``/``asks`` (``[price,
    amount, ...]`` levels), and the new book.

    ``prev`` None (the first book, or the first after a reconnect): a CLEAR of both sides and
    a SNAPSHOT row per level. Otherwise a DEPTH row per level whose size changed, and a DEPTH
    row of size 0 per level gone. Sizes are ``amount * qty_per_amount``.

    Examples
    --------
    >>> rows, book = book_rows(None, [[100.0, 2.0]], [[101.0, 1.0]], exch_ns=1, local_ns=2,
    ...                        update_id=7, instrument=0, qty_per_amount=1.0)
    >>> [(r[2], r[3], r[4], r[5]) for r in rows]   # CLEAR, then the snapshot levels
    [(3, 0, 0.0, 0.0), (2, 1, 100.0, 2.0), (2, -1, 101.0, 1.0)]
    >>> rows, book = book_rows(book, [[100.0, 3.0]], [], exch_ns=3, local_ns=4,
    ...                        update_id=8, instrument=0, qty_per_amount=1.0)
    >>> [(r[2], r[3], r[4], r[5]) for r in rows]   # a size change, a level gone
    [(1, 1, 100.0, 3.0), (1, -1, 101.0, 0.0)]
    """
    new_b = {float(p[0]): float(p[1]) * qty_per_amount for p in bids}
    new_a = {float(p[0]): float(p[1]) * qty_per_amount for p in asks}
    rows: list[Row] = []
    if prev is None:
        rows.append(_row(exch_ns, local_ns, EventKind.CLEAR, 0, 0.0, 0.0, update_id, instrument))
        kind = EventKind.SNAPSHOT
        old_b: dict[float, float] = {}
        old_a: dict[float, float] = {}
    else:
        kind = EventKind.DEPTH
        old_b, old_a = prev
    for side, new, old in ((1, new_b, old_b), (-1, new_a, old_a)):
        for p, q in new.items():
            if old.get(p) != q:
                rows.append(_row(exch_ns, local_ns, kind, side, p, q, update_id, instrument))
        for p in old:
            if p not in new:
                rows.append(
                    _row(exch_ns, local_ns, EventKind.DEPTH, side, p, 0.0, update_id, instrument)
                )
    return rows, (new_b, new_a)


def trade_rows(
    trades: Iterable[dict[str, Any]], *, local_ns: int, instrument: int, qty_per_amount: float
) -> list[Row]:
    """A TRADE row per ccxt public trade: ``side`` the aggressor (+1 buy), ``exch_ns`` the
    venue's timestamp (ms -> ns), ``update_id`` Deribit's ``trade_seq`` (-1 if absent)."""
    rows = []
    for t in trades:
        seq = (t.get("info") or {}).get("trade_seq")
        rows.append(
            _row(
                int(t["timestamp"]) * NS_PER_MS,
                local_ns,
                EventKind.TRADE,
                1 if t["side"] == "buy" else -1,
                float(t["price"]),
                float(t["amount"]) * qty_per_amount,
                int(seq) if seq is not None else -1,
                instrument,
            )
        )
    return rows


def venue_reason(exc: Exception) -> str:
    """Deribit's error message and code from a ccxt exception (``post_only_reject (11054)``),
    else the exception's class name."""
    text = str(exc)
    start = text.find("{")
    if start >= 0:
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            err = json.loads(text[start:]).get("error", {})
            msg = err.get("message")
            if msg:
                return f"{msg} ({err.get('code')})" if err.get("code") is not None else str(msg)
    return type(exc).__name__


def retry_after_s(headers: Mapping[str, Any] | None) -> float | None:
    """The ``Retry-After`` of a response (seconds, the delta form), None when absent or not a
    number >= 0. Deribit's 10028 answer carries none; some venues send one.

    >>> retry_after_s({"Retry-After": "2"}), retry_after_s({}), retry_after_s(None)
    (2.0, None, None)
    """
    for key, value in (headers or {}).items():
        if str(key).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None
