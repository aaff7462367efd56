"""Binance recorder files (L2 diffs + REST snapshot + trades + bookTicker) as market events.

:func:`read_binance_stream` reads the text files written by the hftbacktest Binance collector
(gzip or plain): one message per line, ``<local_receive_ns> <raw exchange JSON>``, where the JSON
is a combined-stream envelope ``{"stream": "<symbol>@depth@0ms" | "@depth@100ms" | "@trade" |
"@bookTicker", "data": {...}}`` or a bare REST depth snapshot ``{"lastUpdateId", "bids",
"asks", ...}``. It replays the depth diffs against the snapshot with Binance's rules and returns
the :data:`~invrisk.data.events.EVENT_DTYPE` rows in replay order, with a
:class:`SequenceReport`. :func:`check_bbo` rebuilds the book from the events and compares it
with every bookTicker that describes the same book state.

Markets
-------
``usdm`` (USD-M futures), ``coinm`` (COIN-M futures) and ``spot``, inferred from the data when
not given: depth diffs that carry ``pu`` are futures, and COIN-M messages carry the pair ``ps``
(snapshot: ``pair``). COIN-M sizes are **contracts** (100 USD each for BTCUSD_PERP, 10 USD for
the other coins) and are kept as contracts, not converted; USD-M and spot sizes are in the base
asset.

Replay rules (Binance, "How to manage a local order book correctly")
---------------------------------------------------------------------
Futures (USD-M [1]_, COIN-M [2]_): buffer the diffs until the snapshot; drop a diff whose
``u < lastUpdateId``; the first applied diff must have ``U <= lastUpdateId <= u``; afterwards
each diff's ``pu`` must equal the previous diff's ``u``. Spot [3]_: drop ``u <= lastUpdateId``;
the first applied diff must have ``U <= lastUpdateId + 1 <= u``; afterwards each ``U`` must
equal the previous ``u + 1``. In both, a diff whose ``u`` is not newer than the book (a
duplicate or a late message) is ignored with a warning (the current spot procedure; it cannot
happen in an intact futures chain).

A **gap** is a diff that breaks the chain (or a first diff that does not straddle the snapshot
id). Binance says to start again from a new snapshot; a recorded file cannot fetch one, so the
reader: warns (:class:`~invrisk.errors.DataWarning` naming the file, line and event row),
emits a CLEAR of both sides at that diff's times (the book downstream is empty, not wrong),
and applies no depth until the next snapshot line in the stream, buffering the diffs as at the
start (at most 10,000; older ones are dropped and counted). Trades and bookTickers keep
flowing. A stream without another snapshot has an empty book from the gap to its end.

Event rows
----------
Replay order is the order of the lines, except for the buffer: the snapshot line becomes one
CLEAR (both sides) and one SNAPSHOT row per level (``update_id = lastUpdateId``), followed by
the buffered diffs that survive the rules. Those diffs were received before the snapshot but
only enter the book with it, so their rows take the **snapshot's** ``local_ns`` (their
``exch_ns`` is their own); rows therefore stay sorted by ``local_ns``. A depth diff gives one
DEPTH row per ``[price, qty]`` pair (bids then asks as in the message; ``qty`` is the new
absolute size, 0 deletes) with ``update_id = u``, ``first_id = U``, ``prev_id = pu`` (-1 on
spot). A trade gives one TRADE row, ``update_id`` = trade id, side from ``m``: ``m = true``
means the buyer is the maker, so the seller was the aggressor: ``Side.ASK``. A bookTicker gives
two BBO rows (bid then ask, ``update_id = u``).

Times: ``local_ns`` is the recorder's clock. ``exch_ns`` is ``T`` (transaction time) when the
message has it, else ``E`` (event time), in ms converted to ns. Spot bookTickers and spot REST
snapshots carry no exchange time at all: their ``exch_ns`` is set to their ``local_ns`` and
flagged in :attr:`BinanceStream.exch_from_local` (no time is invented from a measured offset).
:class:`ClockOffset` is ``local - E`` over the messages that carry ``E`` (the exchange's send
time); in these files the recorder's clock is about 1.27 s behind Binance's.

Defects
-------
A line that does not parse (invalid JSON, no ``<ns> `` prefix, a missing or mistyped field) raises
:class:`~invrisk.errors.DataError` naming the file and 1-based line (``on_bad_line="raise"``,
the default), or is skipped with a :class:`~invrisk.errors.DataWarning` (``"warn"``); a skipped
depth line then shows up as a sequence gap. A truncated or corrupt gzip stream raises
:class:`~invrisk.errors.DataError` naming the file and the last complete line. Lines whose
local time goes backwards, missing trade ids (Binance trade ids are consecutive per symbol)
and crossed snapshots are reported and warned about, never reordered or fixed. Streams the
reader does not use (``@aggTrade``, ``@markPrice`` ...) are counted and warned about once.

Speed: lines are parsed by a numba byte scanner (:mod:`invrisk.data._binance_scan`; a
``json`` twin handles snapshots and anything unusual), in chunks of ``chunk_lines`` lines
decompressed by a background thread; memory is one chunk plus the event rows.

References
----------
.. [1] https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly
.. [2] https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly
.. [3] https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
   ("How to manage a local order book correctly"; repository binance/binance-spot-api-docs,
   ``web-socket-streams.md``)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np

from invrisk._typing import BoolArray
from invrisk.data._binance_replay import (
    OnBadLine,
    Replay,
    SequenceGap,
    StreamEndError,
    TradeIdGap,
    iter_chunks,
)
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind, Side
from invrisk.errors import DataError, DataWarning, InvalidArgumentError

__all__ = [
    "BboCheck",
    "BboMismatch",
    "BinanceStream",
    "ClockOffset",
    "Market",
    "SequenceGap",
    "SequenceReport",
    "SnapshotInfo",
    "TradeIdGap",
    "check_bbo",
    "read_binance_stream",
]

Market: TypeAlias = Literal["usdm", "coinm", "spot"]
PathLike: TypeAlias = str | os.PathLike[str]

_MARKETS = ("usdm", "coinm", "spot")


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A REST snapshot line and what happened to the diffs buffered before it.

    ``first_diff_ok`` is whether the first diff applied after it straddled its id (None when
    no diff followed it).
    """

    path: str
    line: int
    row: int
    update_id: int
    n_bids: int
    n_asks: int
    buffered: int
    stale_dropped: int
    first_diff_ok: bool | None


@dataclass(frozen=True)
class SequenceReport:
    """How the depth stream was sequenced, and the line-level defects found.

    Attributes
    ----------
    messages
        Lines per type: ``depth``, ``trade``, ``bookTicker``, ``snapshot``, ``other_stream``,
        ``other_symbol``, ``bad_line``.
    snapshot_update_id
        ``lastUpdateId`` of the first snapshot (None without one).
    diffs_buffered, diffs_stale, diffs_applied, diffs_unsynced
        Diffs held before a snapshot; dropped as older than a snapshot or the book
        (``u < lastUpdateId`` futures, ``<=`` spot, or not newer than the book); applied; and
        never applied because no valid book was available (after a gap, or before a snapshot
        that never came).
    gaps, trade_id_gaps
        Chain breaks (each emitted a CLEAR) and missing trade ids (at most 1,000 listed;
        ``n_trade_id_gaps`` counts all).
    first_diff_ok
        Every snapshot's first diff straddled its id (None if no snapshot was followed by one).
    local_time_reversals
        ``(path, line)`` of lines whose local time is earlier than the previous line's
        (at most 1,000 listed; ``n_local_time_reversals`` counts all).
    bad_lines
        ``(path, line, reason)`` of lines skipped with ``on_bad_line="warn"``.
    """

    messages: Mapping[str, int]
    snapshot_update_id: int | None
    snapshots: tuple[SnapshotInfo, ...]
    diffs_buffered: int
    diffs_stale: int
    diffs_applied: int
    diffs_unsynced: int
    gaps: tuple[SequenceGap, ...]
    first_diff_ok: bool | None
    trade_id_gaps: tuple[TradeIdGap, ...]
    n_trade_id_gaps: int
    local_time_reversals: tuple[tuple[str, int], ...]
    n_local_time_reversals: int
    bad_lines: tuple[tuple[str, int, str], ...]

    def as_dict(self) -> dict[str, object]:
        """A JSON-able dict."""
        out = asdict(self)
        out["messages"] = dict(self.messages)
        return out


@dataclass(frozen=True)
class ClockOffset:
    """``local_ns - E`` (ns) over the messages carrying an exchange event time ``E``."""

    median_ns: int
    p1_ns: int
    p99_ns: int
    n_messages: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class BinanceStream:
    """The events of one Binance recording, with how they were sequenced.

    Attributes
    ----------
    events
        :data:`~invrisk.data.events.EVENT_DTYPE` rows in replay order (``instrument`` 0).
    symbol, market
        Exchange symbol (``BTCUSDT``, ``BTCUSD_PERP``) and ``usdm``/``coinm``/``spot``.
    tick_size
        Price increment (given, or inferred: see :func:`read_binance_stream`).
    price_decimals
        Most decimals seen in a price string (``"61685.99000000"``: 8).
    sequence, clock_offset
        :class:`SequenceReport`; :class:`ClockOffset` (None without any ``E``).
    exch_from_local
        Per row: ``exch_ns`` is the local time because the message has no exchange time.
    paths
        The files read, in order.
    """

    events: EventArray
    symbol: str
    market: Market
    tick_size: float
    price_decimals: int
    sequence: SequenceReport
    clock_offset: ClockOffset | None
    exch_from_local: BoolArray
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BboMismatch:
    """A bookTicker that disagrees with the book rebuilt from the depth rows."""

    row: int
    update_id: int
    bbo_bid: float
    bbo_ask: float
    book_bid: float
    book_ask: float


@dataclass(frozen=True)
class BboCheck:
    """Reconstructed best bid/ask against the exchange's bookTicker.

    ``checked`` counts the comparable bookTickers: those whose ``u`` is the update id of an
    applied depth message (see :func:`check_bbo`); ``matched``: both prices equal the rebuilt
    best bid and ask after that message; ``qty_matched``: prices and both sizes equal.
    ``out_of_window`` and ``window_breaches`` are the book's counters (far levels outside the
    replay window; a breach means a best price may be wrong).
    """

    bbo_messages: int
    checked: int
    matched: int
    qty_matched: int
    mismatches: tuple[BboMismatch, ...]
    out_of_window: int
    window_breaches: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _infer_tick(events: EventArray, decimals: int) -> float:
    """Greatest common divisor of all prices, at the finest decimals of the price strings.

    The decimals of the strings alone are not the tick: USD-M prints ``"61800.20"`` for a 0.1
    tick, spot ``"61685.99000000"`` for 0.01. With thousands of distinct levels the GCD is the
    tick unless every price observed happens to be a multiple of a larger step.
    """
    priced = np.isin(
        events["kind"], [EventKind.DEPTH, EventKind.SNAPSHOT, EventKind.TRADE, EventKind.BBO]
    )
    px = events["price"][priced]
    if len(px) == 0:
        return float("nan")
    scaled = np.rint(px * 10.0**decimals).astype(np.int64)
    g = int(np.gcd.reduce(np.abs(scaled)))
    if g == 0:
        return float("nan")
    return float(Decimal(g).scaleb(-decimals))


def read_binance_stream(
    path: PathLike | Sequence[PathLike],
    *,
    market: Market | None = None,
    symbol: str | None = None,
    tick_size: float | None = None,
    on_bad_line: OnBadLine = "raise",
    chunk_lines: int = 10_000,
) -> BinanceStream:
    """Read a Binance recorder file (or consecutive files) into replay-ordered events.

    Parameters
    ----------
    path
        A ``.gz`` (or plain text) recorder file, or a sequence of files of one recording in time
        order (e.g. the two halves of a stream split at midnight): the replay state carries
        across them, so the second file needs no snapshot of its own.
    market
        ``"usdm"``, ``"coinm"`` or ``"spot"``; inferred from the messages when None.
    symbol
        The symbol to read (case-insensitive). None: the file's one symbol (messages of another
        symbol are then an error); given: other symbols' messages are skipped and counted.
    tick_size
        Price increment. None: inferred as the greatest common divisor of all prices at the
        finest decimals of the price strings (the decimals alone are not the tick: USD-M
        prints ``"61800.20"`` for a 0.1 tick, spot ``"61685.99000000"`` for 0.01). Given: checked
        (prices off its grid give a DataWarning).
    on_bad_line
        ``"raise"`` (DataError naming file and line) or ``"warn"`` (DataWarning, line skipped).
    chunk_lines
        Lines parsed per chunk (bounds the memory used for parsing; >= 1).

    Returns
    -------
    BinanceStream
        Events, symbol, market, tick size, :class:`SequenceReport` and :class:`ClockOffset`.

    Notes
    -----
    The replay rules, the event rows and the handling of defects are described in the module
    docstring of :mod:`invrisk.data.binance`.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    if not paths:
        raise InvalidArgumentError("path", path, "a file or a non-empty sequence of files")
    if market is not None and market not in _MARKETS:
        raise InvalidArgumentError("market", market, f"one of {_MARKETS} or None")
    if on_bad_line not in ("raise", "warn"):
        raise InvalidArgumentError("on_bad_line", on_bad_line, "'raise' or 'warn'")
    if isinstance(chunk_lines, bool) or not isinstance(chunk_lines, int) or chunk_lines < 1:
        raise InvalidArgumentError("chunk_lines", chunk_lines, "an integer >= 1")
    if tick_size is not None and not (np.isfinite(tick_size) and tick_size > 0):
        raise InvalidArgumentError("tick_size", tick_size, "a positive finite price step or None")
    replay = Replay(market, symbol, on_bad_line)
    names: list[str] = []
    for p in paths:
        fp = Path(p)
        name = str(fp)
        names.append(name)
        if not fp.is_file():
            raise DataError("no such file", path=name)
        line0 = 1
        try:
            for buf, n in iter_chunks(fp, chunk_lines):
                replay.feed(name, buf, n, line0)
                line0 += n
        except StreamEndError as exc:
            raise DataError(
                f"{exc}; the last complete line is line {line0 - 1}", path=name
            ) from exc
        except OSError as exc:
            raise DataError(f"cannot read the file ({exc})", path=name) from exc
    return _finish(replay, names, tick_size)


def _finish(replay: Replay, names: list[str], tick_size: float | None) -> BinanceStream:
    if replay.symbol is None:
        raise DataError("no depth, trade or bookTicker message in the stream", path=names[0])
    if replay.market is None:
        keys = replay.market_keys
        replay.market = "spot" if "M" in keys else ("coinm" if "ps" in keys else "usdm")
    if replay.blocks:
        events = np.concatenate(replay.blocks) if len(replay.blocks) > 1 else replay.blocks[0]
        flags = np.concatenate(replay.flags) if len(replay.flags) > 1 else replay.flags[0]
    else:
        events = np.zeros(0, EVENT_DTYPE)
        flags = np.zeros(0, np.bool_)
    replay.unsynced += len(replay.buffer)
    if replay.messages["depth"] and not replay.snaps:
        warnings.warn(
            DataWarning(
                f"{names[0]}: no depth snapshot in the stream: its {replay.messages['depth']} "
                "depth diffs cannot be applied (read the file together with the one holding "
                "the snapshot, e.g. the previous day's)"
            ),
            stacklevel=3,
        )
    if tick_size is None:
        tick = _infer_tick(events, replay.pdec)
    else:
        tick = float(tick_size)
        priced = np.isin(
            events["kind"], [EventKind.DEPTH, EventKind.SNAPSHOT, EventKind.TRADE, EventKind.BBO]
        )
        x = events["price"] / tick
        off = np.flatnonzero(priced & (np.abs(x - np.rint(x)) > 1e-9 * np.abs(x)))
        if len(off):
            warnings.warn(
                DataWarning(
                    f"{names[0]}: {len(off)} prices are not multiples of tick_size={tick} "
                    f"(first at event row {int(off[0])}: {float(events['price'][off[0]])})"
                ),
                stacklevel=3,
            )
    offsets = np.concatenate(replay.offsets) if replay.offsets else np.zeros(0, np.int64)
    clock = None
    if len(offsets):
        p1, med, p99 = np.percentile(offsets, [1, 50, 99], method="nearest")
        clock = ClockOffset(int(med), int(p1), int(p99), len(offsets))
    snaps = tuple(
        SnapshotInfo(s.path, s.line, s.row, s.update_id, s.n_bids, s.n_asks, s.buffered,
                     s.stale_dropped, s.first_diff_ok)
        for s in replay.snaps
    )  # fmt: skip
    oks = [s.first_diff_ok for s in snaps if s.first_diff_ok is not None]
    report = SequenceReport(
        messages=dict(replay.messages),
        snapshot_update_id=snaps[0].update_id if snaps else None,
        snapshots=snaps,
        diffs_buffered=replay.buffered,
        diffs_stale=replay.stale,
        diffs_applied=replay.applied,
        diffs_unsynced=replay.unsynced,
        gaps=tuple(replay.gaps),
        first_diff_ok=all(oks) if oks else None,
        trade_id_gaps=tuple(replay.trade_gaps),
        n_trade_id_gaps=replay.n_trade_gaps,
        local_time_reversals=tuple(replay.reversals),
        n_local_time_reversals=replay.n_reversals,
        bad_lines=tuple(replay.bad_lines),
    )
    for a in (events, flags):
        a.flags.writeable = False
    return BinanceStream(
        events=events,
        symbol=replay.symbol,
        market=replay.market,
        tick_size=tick,
        price_decimals=replay.pdec,
        sequence=report,
        clock_offset=clock,
        exch_from_local=flags,
        paths=tuple(names),
    )


def check_bbo(
    stream: BinanceStream, *, max_ticks: int = 4_000_000, max_mismatches: int = 20
) -> BboCheck:
    """Compare the book rebuilt from ``stream.events`` with the comparable bookTickers.

    The book is replayed with :func:`invrisk.market.book.replay_top_of_book` on the window of
    :func:`invrisk.market.book.book_range` (at most ``max_ticks`` wide; far levels outside it
    are counted, see :class:`BboCheck`). A bookTicker is comparable when its ``u`` is the
    update id of an applied depth message (a diff's ``u`` or a snapshot's ``lastUpdateId``):
    both then describe the book after that update, and the bookTicker is compared with the
    rebuilt best bid/ask right after the message's last row, whichever of the two arrived
    first (the bookTicker stream is usually ahead of the diff stream).
    """
    from invrisk.market.book import book_range, replay_top_of_book

    ev = stream.events
    kind = ev["kind"]
    uid = ev["update_id"]
    window = book_range(ev, stream.tick_size, max_ticks=max_ticks)
    top = replay_top_of_book(
        ev, tick_size=stream.tick_size, lo_tick=window.lo_tick, n_ticks=window.n_ticks
    )
    is_book = (kind == EventKind.DEPTH) | (kind == EventKind.SNAPSHOT)
    rows = np.flatnonzero(is_book)
    nxt = np.append(rows[1:], -1)
    ends = rows[(nxt != rows + 1) | (uid[np.maximum(nxt, 0)] != uid[rows])]
    order = np.argsort(uid[ends], kind="stable")
    ids, ends = uid[ends][order], ends[order]
    bid_rows = np.flatnonzero((kind == EventKind.BBO) & (ev["side"] == Side.BID))
    bid_rows = bid_rows[bid_rows + 1 < len(ev)]
    ask_rows = bid_rows + 1
    paired = (kind[ask_rows] == EventKind.BBO) & (uid[ask_rows] == uid[bid_rows])
    b, a = bid_rows[paired], ask_rows[paired]
    pos = np.minimum(np.searchsorted(ids, uid[b]), max(len(ids) - 1, 0))
    comp = (uid[b] >= 0) & (ids[pos] == uid[b]) if len(ids) else np.zeros(len(b), bool)
    b, a, at = b[comp], a[comp], ends[pos[comp]]
    px_ok = (top.bid_price[at] == ev["price"][b]) & (top.ask_price[at] == ev["price"][a])
    qty_ok = px_ok & (top.bid_qty[at] == ev["qty"][b]) & (top.ask_qty[at] == ev["qty"][a])
    bad = np.flatnonzero(~px_ok)[:max_mismatches]
    mismatches = tuple(
        BboMismatch(
            int(b[i]), int(uid[b[i]]), float(ev["price"][b[i]]), float(ev["price"][a[i]]),
            float(top.bid_price[at[i]]), float(top.ask_price[at[i]]),
        )
        for i in bad.tolist()
    )  # fmt: skip
    return BboCheck(
        bbo_messages=len(bid_rows),
        checked=len(b),
        matched=int(px_ok.sum()),
        qty_matched=int(qty_ok.sum()),
        mismatches=mismatches,
        out_of_window=int(top.out_of_window),
        window_breaches=int(top.window_breaches),
    )
