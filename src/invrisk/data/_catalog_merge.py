"""Merging the parts of one day for :mod:`invrisk.data.catalog` queries.

A k-way merge of the parts' streams on the running maximum of ``local_ns`` (ties in the
order of the sources' hashes), the multiset de-duplication of records repeated between
overlapping sources, and the re-chunking of the merged stream (the rules are in the
public module's docstring).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow.dataset as ds  # type: ignore[import-untyped, unused-ignore]

from invrisk.data._catalog_io import _EVENT_FIELDS, _scan_part
from invrisk.data._catalog_manifest import PartFile
from invrisk.data.events import EVENT_DTYPE, EventArray, empty_events

_MERGE_BATCH_ROWS = 1 << 18
_PACKED_DTYPE = np.dtype([(name, EVENT_DTYPE[name]) for name in _EVENT_FIELDS])
_RECORD_DTYPE = np.dtype((np.void, _PACKED_DTYPE.itemsize))


def _iter_days(
    root: Path,
    parts_by_date: dict[str, list[PartFile]],
    expr: ds.Expression | None,
    chunk_rows: int,
    dedup: bool,
) -> Iterator[EventArray]:
    for parts in parts_by_date.values():
        # merging works on smaller batches: its temporaries scale with the batch
        batch = chunk_rows if len(parts) == 1 else min(chunk_rows, _MERGE_BATCH_ROWS)
        streams = [_scan_part(root, p, expr, batch) for p in parts]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from _merge_streams(streams, dedup=dedup)


class _Cursor:
    """One part's stream during a merge: buffered rows and their merge keys."""

    __slots__ = ("carry", "done", "events", "it", "keys")

    def __init__(self, it: Iterator[EventArray]) -> None:
        self.it = it
        self.events: EventArray = empty_events(0)
        self.keys: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self.carry: int | None = None
        self.done = False

    def pull(self) -> None:
        """Append the next batch; the key is the running maximum of ``local_ns``."""
        try:
            batch = next(self.it)
        except StopIteration:
            self.done = True
            return
        keys = np.maximum.accumulate(batch["local_ns"])
        if self.carry is not None:
            np.maximum(keys, self.carry, out=keys)
        self.carry = int(keys[-1])
        if len(self.events):
            self.events = np.concatenate([self.events, batch])
            self.keys = np.concatenate([self.keys, keys])
        else:
            self.events, self.keys = batch, keys


def _merge_streams(streams: list[Iterator[EventArray]], *, dedup: bool) -> Iterator[EventArray]:
    """K-way merge on the running-max key; ties in stream order; optional de-duplication."""
    cursors = [_Cursor(it) for it in streams]
    while True:
        for c in cursors:
            while not c.done and len(c.events) == 0:
                c.pull()
        live = [c for c in cursors if not c.done]
        bound = min(int(c.keys[-1]) for c in live) if live else None
        pieces: list[tuple[int, EventArray, npt.NDArray[np.int64]]] = []
        for i, c in enumerate(cursors):
            n = len(c.events) if bound is None else int(np.searchsorted(c.keys, bound, "left"))
            if n:
                pieces.append((i, c.events[:n], c.keys[:n]))
                c.events, c.keys = c.events[n:], c.keys[n:]
        if not pieces:
            if bound is None:
                return
            for c in live:  # every buffered row sits at the bound: read further
                if int(c.keys[-1]) == bound:
                    c.pull()
            continue
        if len(pieces) == 1:
            yield pieces[0][1]
            continue
        block = np.concatenate([p[1] for p in pieces])
        keys = np.concatenate([p[2] for p in pieces])
        src = np.concatenate([np.full(len(p[1]), p[0], dtype=np.int64) for p in pieces])
        order = np.argsort(keys, kind="stable")
        block, src, keys = block[order], src[order], keys[order]
        yield _dedup(block, src, keys) if dedup else block


def _dedup(
    block: EventArray, src: npt.NDArray[np.int64], keys: npt.NDArray[np.int64]
) -> EventArray:
    """Drop rows repeated between sources in a merged block (sorted by ``keys``).

    Only rows whose merge key is shared by rows of another source can be repeats; the record
    comparison runs on those alone.
    """
    n = len(block)
    if n < 2:
        return block
    start = np.ones(n, dtype=bool)
    start[1:] = keys[1:] != keys[:-1]
    bounds = np.flatnonzero(start)
    mixed = np.minimum.reduceat(src, bounds) != np.maximum.reduceat(src, bounds)
    if not mixed.any():
        return block
    candidate = np.repeat(mixed, np.diff(np.append(bounds, n)))
    idx = np.flatnonzero(candidate)
    keep = np.ones(n, dtype=bool)
    keep[idx] = _first_occurrences(block[idx], src[idx])
    return block if keep.all() else block[keep]


def _first_occurrences(rows: EventArray, src: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Keep each record (equal in every field) ``max over sources of its count`` times.

    The k-th occurrence of a record in its source is dropped if an earlier row (in merged
    order) from another source is the k-th occurrence of the same record in that source.
    """
    n = len(rows)
    packed = np.empty(n, dtype=_PACKED_DTYPE)
    for name in _EVENT_FIELDS:
        packed[name] = rows[name]
    _, rid = np.unique(packed.view(_RECORD_DTYPE), return_inverse=True)
    rid = rid.reshape(-1)
    pos = np.arange(n)
    # rank of each row among the rows of the same record and the same source
    order = np.lexsort((pos, src, rid))
    r_s, s_s = rid[order], src[order]
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (r_s[1:] != r_s[:-1]) | (s_s[1:] != s_s[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = pos - group_start
    # keep the first row (in merged order) of every (record, rank)
    order2 = np.lexsort((pos, rank, rid))
    r2, k2 = rid[order2], rank[order2]
    first = np.ones(n, dtype=bool)
    first[1:] = (r2[1:] != r2[:-1]) | (k2[1:] != k2[:-1])
    keep = np.zeros(n, dtype=bool)
    keep[order2[first]] = True
    return keep


def _rechunk(chunks: Iterator[EventArray], n: int) -> Iterator[EventArray]:
    """Chunks of at most ``n`` rows: larger arrays are split, small neighbours joined (a
    batch that already fills a chunk is passed on without a copy)."""
    pending: list[EventArray] = []
    count = 0
    for chunk in chunks:
        for lo in range(0, len(chunk), n):
            piece = chunk[lo : lo + n]
            if count + len(piece) > n:
                yield pending[0] if len(pending) == 1 else np.concatenate(pending)
                pending, count = [], 0
            pending.append(piece)
            count += len(piece)
    if count:
        yield pending[0] if len(pending) == 1 else np.concatenate(pending)
