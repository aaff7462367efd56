"""The replay engine behind :func:`invrisk.data.binance.read_binance_stream`.

Reading: :func:`iter_chunks` decompresses a gzip (or plain) recorder file in a background
thread and yields chunks of complete lines. Replay: :class:`Replay` parses each chunk with the
byte scanner of :mod:`invrisk.data._binance_scan`, sequences the depth diffs with Binance's
rules (documented in :mod:`invrisk.data.binance`) and writes the event rows of the chunk into
a preallocated block. The public records of the report (:class:`SequenceGap`,
:class:`TradeIdGap`) live here and are re-exported by :mod:`invrisk.data.binance`.
"""

from __future__ import annotations

import queue
import threading
import warnings
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np

from invrisk._typing import BoolArray, Float64Array, Int64Array
from invrisk.data import _binance_scan as _scan
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind, Side
from invrisk.errors import DataError, DataWarning

__all__ = ["Replay", "SequenceGap", "StreamEndError", "TradeIdGap", "iter_chunks"]

Market: TypeAlias = Literal["usdm", "coinm", "spot"]
OnBadLine: TypeAlias = Literal["raise", "warn"]

MAX_BUFFERED = 10_000
"""Most diffs held while waiting for a snapshot; older ones are dropped (and counted)."""
MAX_LISTED = 1_000
"""Most entries kept in each list of the report."""
_NS_PER_MS = 1_000_000

# Replay states and per-diff decisions.
_WAIT, _SYNC, _LIVE = 0, 1, 2
_APPLY, _STALE, _STALE_LIVE, _GAP_FIRST, _GAP_CHAIN = 0, 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """A depth diff that broke the update-id chain; a CLEAR row was emitted at ``row``."""

    path: str
    line: int
    row: int
    update_id: int
    expected: int
    got: int
    rule: str


@dataclass(frozen=True, slots=True)
class TradeIdGap:
    """A trade whose id is not the previous trade's id + 1."""

    path: str
    line: int
    expected: int
    got: int


# --------------------------------------------------------------------------------------------
# Reading: chunks of complete lines from a gzip (or plain) file, decompressed by a thread
# --------------------------------------------------------------------------------------------


class StreamEndError(Exception):
    """Raised by the decompressor after the good data: the file is truncated or corrupt."""


def _decompressed(path: Path, block: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as f:
        head = f.read(2)
        if head != b"\x1f\x8b":
            yield head
            while data := f.read(block):
                yield data
            return
        d = zlib.decompressobj(wbits=31)
        comp = head
        while True:
            try:
                out = d.decompress(comp)
                while d.eof and d.unused_data:  # a multi-member gzip file
                    rest = d.unused_data
                    d = zlib.decompressobj(wbits=31)
                    out += d.decompress(rest)
            except zlib.error as exc:
                raise StreamEndError(f"corrupt gzip data ({exc})") from exc
            if out:
                yield out
            comp = f.read(block)
            if not comp:
                break
        if not d.eof:
            raise StreamEndError("the gzip stream ends before its end marker (truncated file)")


def _chunks(path: Path, chunk_lines: int) -> Iterator[tuple[bytes, int]]:
    """``(bytes of complete lines, line count)``; the error of a bad stream comes last."""
    pending = b""
    try:
        for data in _decompressed(path):
            pending += data
            n = pending.count(b"\n")
            if n < chunk_lines:
                continue
            nl = np.flatnonzero(np.frombuffer(pending, np.uint8) == 10)
            start = 0
            k = chunk_lines
            while k <= n:
                stop = int(nl[k - 1]) + 1
                yield pending[start:stop], chunk_lines
                start = stop
                k += chunk_lines
            pending = pending[start:]
    except StreamEndError:
        n = pending.count(b"\n")
        if n:
            cut = pending.rfind(b"\n") + 1
            yield pending[:cut], n
        raise
    if pending:
        yield pending, pending.count(b"\n") + (0 if pending.endswith(b"\n") else 1)


def _threaded(it: Iterator[tuple[bytes, int]]) -> Iterator[tuple[bytes, int]]:
    """Run ``it`` in a background thread (zlib releases the GIL), two chunks ahead."""
    q: queue.Queue[tuple[bytes, int] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(None)
        except BaseException as exc:
            q.put(exc)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    try:
        while True:
            got = q.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


# --------------------------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Diff:
    path: str
    line: int
    local: int
    exch: int
    first: int
    last: int
    prev: int
    side: np.ndarray
    price: np.ndarray
    qty: np.ndarray


@dataclass(slots=True)
class _Snap:
    path: str
    line: int
    row: int
    update_id: int
    n_bids: int
    n_asks: int
    buffered: int
    stale_dropped: int = 0
    first_diff_ok: bool | None = None


@dataclass(slots=True)
class _Extra:
    """Extra rows of one chunk (snapshot, CLEARs, released diffs), grouped by line."""

    i64: list[np.ndarray] = field(default_factory=list)
    f64: list[np.ndarray] = field(default_factory=list)
    i8: list[np.ndarray] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)
    count: int = 0

    def add(
        self,
        li: int,
        *,
        exch: int | np.ndarray,
        local: int,
        kind: int,
        side: int | np.ndarray,
        price: float | np.ndarray,
        qty: float | np.ndarray,
        update_id: int = -1,
        first_id: int = -1,
        prev_id: int = -1,
        flag: bool = False,
        n: int = 1,
    ) -> int:
        """Append ``n`` rows owned by line ``li``; returns their offset in the line's block."""
        i64 = np.empty((n, 5), np.int64)
        i64[:, 0] = exch
        i64[:, 1] = local
        i64[:, 2] = update_id
        i64[:, 3] = first_id
        i64[:, 4] = prev_id
        f64 = np.empty((n, 2))
        f64[:, 0] = price
        f64[:, 1] = qty
        i8 = np.empty((n, 3), np.int8)
        i8[:, 0] = kind
        i8[:, 1] = side
        i8[:, 2] = int(flag)
        offset = sum(len(a) for a, o in zip(self.i64, self.owner, strict=True) if o == li)
        self.i64.append(i64)
        self.f64.append(f64)
        self.i8.append(i8)
        self.owner.append(li)
        self.count += n
        return offset


class Replay:
    """State of one stream across chunks and files."""

    def __init__(self, market: Market | None, symbol: str | None, on_bad_line: OnBadLine) -> None:
        self.market = market
        self.symbol_filter = symbol.upper() if symbol is not None else None
        self.symbol: str | None = self.symbol_filter
        self.sym_hash = -1 if symbol is None else _scan.symbol_hash(symbol.upper())
        self.on_bad_line = on_bad_line
        self.state = _WAIT
        self.book_id = -1
        self.snap_id = -1
        self.cur_snap: _Snap | None = None
        self.buffer: deque[_Diff] = deque()
        self.blocks: list[EventArray] = []
        self.flags: list[BoolArray] = []
        self.n_rows = 0
        self.offsets: list[Int64Array] = []
        self.messages = dict.fromkeys(
            ("depth", "trade", "bookTicker", "snapshot", "other_stream", "other_symbol"), 0
        )
        self.messages["bad_line"] = 0
        self.snaps: list[_Snap] = []
        self.gaps: list[SequenceGap] = []
        self.buffered = self.stale = self.applied = self.unsynced = 0
        self.trade_gaps: list[TradeIdGap] = []
        self.n_trade_gaps = 0
        self.reversals: list[tuple[str, int]] = []
        self.n_reversals = 0
        self.bad_lines: list[tuple[str, int, str]] = []
        self.warned_streams: set[str] = set()
        self.prev_local: int | None = None
        self.prev_tid: int | None = None
        self.pdec = 0
        self.market_keys: set[str] = set()
        self.market_checked = False

    # -- per chunk ---------------------------------------------------------------------------

    def feed(self, path: str, buf: bytes, n_lines: int, line0: int) -> None:
        """Parse and replay the ``n_lines`` lines of ``buf``; ``line0`` is the first's number."""
        arr = np.frombuffer(buf, np.uint8)
        kinds = np.empty(n_lines, np.int8)
        ints = np.empty((n_lines, _scan.N_INTS), np.int64)
        flts = np.empty((n_lines, _scan.N_FLOATS))
        cap = len(buf) // 9 + 2  # a level takes >= 9 bytes; untouched pages cost nothing
        lside = np.empty(cap, np.int8)
        lpx = np.empty(cap)
        lqty = np.empty(cap)
        got, nlev = _scan.scan_lines_jit(arr, kinds, ints, flts, lside, lpx, lqty)
        if got != n_lines:  # pragma: no cover - the chunker counts lines the same way
            raise DataError(f"internal: scanned {got} of {n_lines} lines", path=path)
        snaps: dict[int, _scan.ParsedLine] = {}
        for li in np.flatnonzero(kinds == _scan.K_SLOW).tolist():
            parsed = self._slow(
                path, line0 + li, buf[ints[li, _scan.I_START] : ints[li, _scan.I_END]]
            )
            kind = _scan.K_IGNORED if parsed is None else parsed.kind
            kinds[li] = kind
            if parsed is None or kind == _scan.K_OTHER:
                kinds[li] = _scan.K_IGNORED
                continue
            ints[li, : _scan.I_START] = parsed.ints[: _scan.I_START]
            flts[li] = parsed.flts
            if kind == _scan.K_SNAPSHOT:
                snaps[li] = parsed
                continue
            lo = nlev
            nlev += len(parsed.levels)
            if nlev > lside.shape[0]:
                grow = max(nlev, 2 * lside.shape[0])
                lside = np.resize(lside, grow)
                lpx = np.resize(lpx, grow)
                lqty = np.resize(lqty, grow)
            if parsed.levels:
                lv = np.array(parsed.levels)
                lside[lo:nlev] = lv[:, 0]
                lpx[lo:nlev] = lv[:, 1]
                lqty[lo:nlev] = lv[:, 2]
            ints[li, _scan.I_LVL_LO] = lo
            ints[li, _scan.I_LVL_HI] = nlev
        self._identify(path, line0, buf, kinds, ints, snaps)
        self._line_checks(path, line0, kinds, ints)
        extra = _Extra()
        acts = np.zeros(n_lines, np.int8)
        acts[(kinds == _scan.K_TRADE) | (kinds == _scan.K_BOOK_TICKER)] = 1
        pending: list[tuple[int, int, SequenceGap | _Snap]] = []
        self._depth(path, line0, kinds, ints, lside, lpx, lqty, snaps, acts, extra, pending)
        self._emit(kinds, acts, ints, flts, lside, lpx, lqty, extra, pending)

    def _slow(self, path: str, line: int, text: bytes) -> _scan.ParsedLine | None:
        try:
            parsed = _scan.parse_line_json(text)
        except _scan.LineError as exc:
            if self.on_bad_line == "raise":
                raise DataError(f"line {line}: {exc}", path=path) from None
            self.messages["bad_line"] += 1
            if len(self.bad_lines) < MAX_LISTED:
                self.bad_lines.append((path, line, str(exc)))
            warnings.warn(DataWarning(f"{path}, line {line}: {exc}; line skipped"), stacklevel=4)
            return None
        if parsed.kind == _scan.K_OTHER:
            self.messages["other_stream"] += 1
            name = parsed.stream.partition("@")[2]
            if name not in self.warned_streams:
                self.warned_streams.add(name)
                warnings.warn(
                    DataWarning(
                        f"{path}, line {line}: stream {parsed.stream!r} is not used by this "
                        "reader (depth, trade and bookTicker are); its messages are skipped"
                    ),
                    stacklevel=4,
                )
        return parsed

    def _identify(
        self,
        path: str,
        line0: int,
        buf: bytes,
        kinds: np.ndarray,
        ints: Int64Array,
        snaps: Mapping[int, _scan.ParsedLine],
    ) -> None:
        """Infer symbol and market from the first messages; enforce one symbol per stream."""
        msg = (kinds == _scan.K_DEPTH) | (kinds == _scan.K_TRADE) | (kinds == _scan.K_BOOK_TICKER)
        idx = np.flatnonzero(msg)

        def parse(li: int) -> _scan.ParsedLine:
            return _scan.parse_line_json(buf[ints[li, _scan.I_START] : ints[li, _scan.I_END]])

        if self.symbol is None and len(idx):
            first = parse(int(idx[0]))
            assert first.symbol is not None
            self.symbol = first.symbol.upper()
            self.sym_hash = _scan.symbol_hash(first.symbol)
        if len(idx):
            other = idx[ints[idx, _scan.I_SYM] != self.sym_hash]
            if len(other):
                if self.symbol_filter is None:
                    li = int(other[0])
                    raise DataError(
                        f"line {line0 + li}: symbol {parse(li).symbol!r} in a stream of "
                        f"{self.symbol!r}; pass symbol= to read one symbol of a mixed file",
                        path=path,
                    )
                kinds[other] = _scan.K_IGNORED
                self.messages["other_symbol"] += len(other)
        if self.market is None or not self.market_checked:
            firsts = set()
            for k in (_scan.K_SNAPSHOT, _scan.K_DEPTH, _scan.K_TRADE, _scan.K_BOOK_TICKER):
                where = np.flatnonzero(kinds == k)
                if len(where):
                    firsts.add(int(where[0]))
            for li in sorted(firsts):
                p = snaps[li] if li in snaps else parse(li)
                self.market_keys |= p.keys
                inferred: Market | None = None
                if p.kind == _scan.K_SNAPSHOT:
                    if "pair" in p.keys:
                        inferred = "coinm"
                    elif "E" not in p.keys:
                        inferred = "spot"
                elif p.kind == _scan.K_DEPTH:
                    if "pu" not in p.keys:
                        inferred = "spot"
                    else:
                        inferred = "coinm" if "ps" in self.market_keys else "usdm"
                if inferred is None:
                    continue
                if self.market is None:
                    self.market = inferred
                elif (self.market == "spot") != (inferred == "spot"):
                    raise DataError(
                        f"line {line0 + li}: market={self.market!r} was given but the "
                        f"{'snapshot' if p.kind == _scan.K_SNAPSHOT else 'depth diff'} is "
                        f"{'spot' if inferred == 'spot' else 'futures'} data",
                        path=path,
                    )
                self.market_checked = True
                break

    def _line_checks(self, path: str, line0: int, kinds: np.ndarray, ints: Int64Array) -> None:
        """Message counts, local-time reversals, trade-id gaps, clock offsets, decimals."""
        for name, k in (
            ("depth", _scan.K_DEPTH),
            ("trade", _scan.K_TRADE),
            ("bookTicker", _scan.K_BOOK_TICKER),
            ("snapshot", _scan.K_SNAPSHOT),
        ):
            self.messages[name] += int(np.count_nonzero(kinds == k))
        used = np.flatnonzero(kinds != _scan.K_IGNORED)
        if len(used) == 0:
            return
        local = ints[used, _scan.I_LOCAL]
        prev = np.concatenate(
            ([local[0] if self.prev_local is None else self.prev_local], local[:-1])
        )
        back = used[local < prev]
        self.prev_local = int(local[-1])
        if len(back):
            self.n_reversals += len(back)
            room = MAX_LISTED - len(self.reversals)
            self.reversals.extend((path, line0 + int(li)) for li in back[:room])
            warnings.warn(
                DataWarning(
                    f"{path}, line {line0 + int(back[0])}: local receive time earlier than the "
                    f"previous line's ({len(back)} such lines in lines {line0}-"
                    f"{line0 + len(kinds) - 1}); rows are kept in file order"
                ),
                stacklevel=3,
            )
        tr = np.flatnonzero(kinds == _scan.K_TRADE)
        if len(tr):
            tid = ints[tr, _scan.I_TID]
            expect = (
                np.concatenate(([tid[0] if self.prev_tid is None else self.prev_tid], tid[:-1])) + 1
            )
            if self.prev_tid is None:
                expect[0] = tid[0]
            bad = np.flatnonzero(tid != expect)
            self.prev_tid = int(tid[-1])
            if len(bad):
                self.n_trade_gaps += len(bad)
                for b in bad[: MAX_LISTED - len(self.trade_gaps)].tolist():
                    self.trade_gaps.append(
                        TradeIdGap(path, line0 + int(tr[b]), int(expect[b]), int(tid[b]))
                    )
                b = int(bad[0])
                warnings.warn(
                    DataWarning(
                        f"{path}, line {line0 + int(tr[b])}: trade id {int(tid[b])} where "
                        f"{int(expect[b])} was expected ({len(bad)} trade-id breaks in lines "
                        f"{line0}-{line0 + len(kinds) - 1}): trades lost or out of order"
                    ),
                    stacklevel=3,
                )
        e = ints[used, _scan.I_E]
        has_e = e >= 0
        self.offsets.append(local[has_e] - e[has_e] * _NS_PER_MS)
        self.pdec = max(self.pdec, int(ints[used, _scan.I_PDEC].max()))

    # -- depth sequencing ----------------------------------------------------------------

    def _decide(self, first: int, last: int, prev: int) -> int:
        futures = self.market != "spot"
        if self.state == _SYNC:
            snap = self.snap_id
            if (last < snap) if futures else (last <= snap):
                return _STALE
            target = snap if futures else snap + 1
            return _APPLY if first <= target <= last else _GAP_FIRST
        if last <= self.book_id:
            return _STALE_LIVE
        ok = (prev == self.book_id) if futures else (first == self.book_id + 1)
        return _APPLY if ok else _GAP_CHAIN

    def _gap(
        self,
        diff: _Diff,
        decision: int,
        li: int,
        extra: _Extra,
        pending: list[tuple[int, int, SequenceGap | _Snap]],
        local: int | None = None,
    ) -> None:
        """Record a gap at ``diff``; emit a CLEAR owned by line ``li``; wait for a snapshot.

        The CLEAR takes the diff's times, or ``local`` when the diff is released from the buffer
        at a snapshot (it then enters the replay at the snapshot's local time).
        """
        if decision == _GAP_FIRST:
            target = self.snap_id if self.market != "spot" else self.snap_id + 1
            rule = "the first diff after a snapshot must have U <= " + (
                "lastUpdateId <= u" if self.market != "spot" else "lastUpdateId + 1 <= u"
            )
            expected, got = target, diff.first
            if self.cur_snap is not None:
                self.cur_snap.first_diff_ok = False
        elif self.market != "spot":
            rule, expected, got = "pu == previous u", self.book_id, diff.prev
        else:
            rule, expected, got = "U == previous u + 1", self.book_id + 1, diff.first
        offset = extra.add(
            li,
            exch=diff.exch,
            local=diff.local if local is None else local,
            kind=EventKind.CLEAR,
            side=0,
            price=0.0,
            qty=0.0,
        )
        gap = SequenceGap(diff.path, diff.line, -1, diff.last, expected, got, rule)
        pending.append((li, offset, gap))
        self.state = _WAIT
        self.book_id = -1
        self._buffer(diff)

    def _buffer(self, diff: _Diff) -> None:
        self.buffer.append(diff)
        self.buffered += 1
        if len(self.buffer) > MAX_BUFFERED:
            self.buffer.popleft()
            self.unsynced += 1

    def _stale_live(self, diff: _Diff) -> None:
        self.stale += 1
        warnings.warn(
            DataWarning(
                f"{diff.path}, line {diff.line}: depth diff u={diff.last} is not newer than "
                f"the book (update id {self.book_id}); ignored"
            ),
            stacklevel=5,
        )

    def _depth(
        self,
        path: str,
        line0: int,
        kinds: np.ndarray,
        ints: Int64Array,
        lside: np.ndarray,
        lpx: Float64Array,
        lqty: Float64Array,
        snaps: Mapping[int, _scan.ParsedLine],
        acts: np.ndarray,
        extra: _Extra,
        pending: list[tuple[int, int, SequenceGap | _Snap]],
    ) -> None:
        idx = np.flatnonzero((kinds == _scan.K_DEPTH) | (kinds == _scan.K_SNAPSHOT))
        is_snap = kinds[idx] == _scan.K_SNAPSHOT
        next_snap = np.full(len(idx) + 1, len(idx))
        pos = np.flatnonzero(is_snap)
        for a, b in zip(
            np.concatenate(([0], pos + 1)), np.concatenate((pos, [len(idx)])), strict=True
        ):
            next_snap[a:b] = b
        futures = self.market != "spot"

        def diff_at(li: int) -> _Diff:
            lo, hi = ints[li, _scan.I_LVL_LO], ints[li, _scan.I_LVL_HI]
            t = ints[li, _scan.I_T] if ints[li, _scan.I_T] >= 0 else ints[li, _scan.I_E]
            return _Diff(
                path=path,
                line=line0 + li,
                local=int(ints[li, _scan.I_LOCAL]),
                exch=int(t) * _NS_PER_MS,
                first=int(ints[li, _scan.I_FIRST]),
                last=int(ints[li, _scan.I_LAST]),
                prev=int(ints[li, _scan.I_PREV]),
                side=lside[lo:hi].copy(),
                price=lpx[lo:hi].copy(),
                qty=lqty[lo:hi].copy(),
            )

        j = 0
        while j < len(idx):
            li = int(idx[j])
            if is_snap[j]:
                self._snapshot(path, line0 + li, li, snaps[li], extra, pending)
                j += 1
                continue
            if self.state == _LIVE:
                run = idx[j : next_snap[j]]
                first = ints[run, _scan.I_FIRST]
                last = ints[run, _scan.I_LAST]
                before = np.concatenate(([self.book_id], last[:-1]))
                link = (ints[run, _scan.I_PREV] == before) if futures else (first == before + 1)
                ok = link & (last > before)
                m = int(np.argmin(ok)) if not ok.all() else len(run)
                acts[run[:m]] = 1
                self.applied += m
                if m:
                    self.book_id = int(last[m - 1])
                j += m
                if m == len(run):
                    continue
                li = int(run[m])
            d = diff_at(li)
            if self.state == _WAIT:
                self._buffer(d)
            else:
                decision = self._decide(d.first, d.last, d.prev)
                if decision == _APPLY:
                    acts[li] = 1
                    self._applied(d)
                elif decision == _STALE:
                    self.stale += 1
                    if self.cur_snap is not None:
                        self.cur_snap.stale_dropped += 1
                elif decision == _STALE_LIVE:
                    self._stale_live(d)
                else:
                    self._gap(d, decision, li, extra, pending)
            j += 1

    def _applied(self, d: _Diff) -> None:
        if self.state == _SYNC and self.cur_snap is not None:
            self.cur_snap.first_diff_ok = True
        self.state = _LIVE
        self.book_id = d.last
        self.applied += 1

    def _snapshot(
        self,
        path: str,
        line: int,
        li: int,
        snap: _scan.ParsedLine,
        extra: _Extra,
        pending: list[tuple[int, int, SequenceGap | _Snap]],
    ) -> None:
        local = snap.ints[_scan.I_LOCAL]
        t = snap.ints[_scan.I_T] if snap.ints[_scan.I_T] >= 0 else snap.ints[_scan.I_E]
        flag = t < 0
        exch = local if flag else t * _NS_PER_MS
        uid = snap.ints[_scan.I_LAST]
        lv = np.array(snap.levels, dtype=np.float64).reshape(-1, 3)
        side, px, qty = lv[:, 0].astype(np.int8), lv[:, 1], lv[:, 2]
        n_bids = int(np.count_nonzero(side == Side.BID))
        row_in_block = extra.add(
            li, exch=exch, local=local, kind=EventKind.CLEAR, side=0, price=0.0, qty=0.0, flag=flag
        )
        extra.add(
            li, exch=exch, local=local, kind=EventKind.SNAPSHOT, side=side, price=px, qty=qty,
            update_id=uid, flag=flag, n=len(px),
        )  # fmt: skip
        bid = px[(side == Side.BID) & (qty > 0)]
        ask = px[(side == Side.ASK) & (qty > 0)]
        if len(bid) and len(ask) and bid.max() >= ask.min():
            warnings.warn(
                DataWarning(
                    f"{path}, line {line}: the depth snapshot (lastUpdateId {uid}) is crossed: "
                    f"best bid {bid.max()} >= best ask {ask.min()}; applied as given"
                ),
                stacklevel=4,
            )
        self.pdec = max(self.pdec, snap.ints[_scan.I_PDEC])
        rec = _Snap(path, line, -1, uid, n_bids, len(px) - n_bids, len(self.buffer))
        self.snaps.append(rec)
        pending.append((li, row_in_block, rec))
        self.cur_snap = rec
        self.snap_id = uid
        self.book_id = uid
        self.state = _SYNC
        buffered = self.buffer
        self.buffer = deque()
        while buffered:
            d = buffered.popleft()
            if self.state == _WAIT:
                self._buffer(d)
                self.buffered -= 1  # already counted when first buffered
                continue
            decision = self._decide(d.first, d.last, d.prev)
            if decision == _APPLY:
                extra.add(
                    li, exch=d.exch, local=local, kind=EventKind.DEPTH, side=d.side, price=d.price,
                    qty=d.qty, update_id=d.last, first_id=d.first, prev_id=d.prev, n=len(d.price),
                )  # fmt: skip
                self._applied(d)
            elif decision in (_STALE, _STALE_LIVE):
                self.stale += 1
                rec.stale_dropped += 1
            else:
                self._gap(d, decision, li, extra, pending, local=local)
                self.buffered -= 1

    # -- output --------------------------------------------------------------------------

    def _emit(
        self,
        kinds: np.ndarray,
        acts: np.ndarray,
        ints: Int64Array,
        flts: Float64Array,
        lside: np.ndarray,
        lpx: Float64Array,
        lqty: Float64Array,
        extra: _Extra,
        pending: list[tuple[int, int, SequenceGap | _Snap]],
    ) -> None:
        n_lines = len(kinds)
        own = np.zeros(n_lines, np.int64)
        dep = (kinds == _scan.K_DEPTH) & (acts == 1)
        own[dep] = ints[dep, _scan.I_LVL_HI] - ints[dep, _scan.I_LVL_LO]
        own[(kinds == _scan.K_TRADE) & (acts == 1)] = 1
        own[(kinds == _scan.K_BOOK_TICKER) & (acts == 1)] = 2
        xcount = np.zeros(n_lines, np.int64)
        if extra.count:
            owner = np.array(extra.owner)
            order = np.argsort(owner, kind="stable")
            x_i64 = np.concatenate([extra.i64[k] for k in order])
            x_f64 = np.concatenate([extra.f64[k] for k in order])
            x_i8 = np.concatenate([extra.i8[k] for k in order])
            np.add.at(xcount, owner, [len(a) for a in extra.i64])
        else:
            x_i64 = np.empty((0, 5), np.int64)
            x_f64 = np.empty((0, 2))
            x_i8 = np.empty((0, 3), np.int8)
        xhi = np.cumsum(xcount)
        xlo = xhi - xcount
        total = int(own.sum() + xcount.sum())
        block = np.zeros(total, EVENT_DTYPE)
        flag = np.zeros(total, np.bool_)
        rows = _scan.emit_rows_jit(
            kinds, acts, ints, flts, lside, lpx, lqty, xlo, xhi, x_i64, x_f64, x_i8,
            block["exch_ns"], block["local_ns"], block["kind"], block["side"], block["price"],
            block["qty"], block["update_id"], block["first_id"], block["prev_id"], flag,
        )  # fmt: skip
        assert rows == total
        line_row = self.n_rows + np.cumsum(own + xcount) - (own + xcount)
        for li, offset, rec in pending:
            row = int(line_row[li]) + offset
            if isinstance(rec, _Snap):
                rec.row = row
                continue
            gap = SequenceGap(
                rec.path, rec.line, row, rec.update_id, rec.expected, rec.got, rec.rule
            )
            self.gaps.append(gap)
            warnings.warn(
                DataWarning(
                    f"{gap.path}, line {gap.line}: depth sequence gap at u={gap.update_id} "
                    f"({gap.rule}: expected {gap.expected}, got {gap.got}); the book is cleared "
                    f"(CLEAR at event row {row}) and no depth is applied until the next snapshot"
                ),
                stacklevel=3,
            )
        if total:
            self.blocks.append(block)
            self.flags.append(flag)
        self.n_rows += total


def iter_chunks(path: Path, chunk_lines: int) -> Iterator[tuple[bytes, int]]:
    """Chunks ``(bytes, line count)`` of at most ``chunk_lines`` complete lines of ``path``.

    Decompression runs in a background thread. A truncated or corrupt gzip stream yields every
    complete line before it, then raises :class:`StreamEndError`.
    """
    return _threaded(_chunks(path, chunk_lines))
