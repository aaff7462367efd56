"""The row-to-event mapping of :mod:`invrisk.data.tardis`, dataset by dataset.

:class:`_EventMapper` holds the conversion methods of
:class:`~invrisk.data.tardis.TardisStream` (its base class): each turns the kept rows of one
pyarrow batch (:class:`_Columns`) into EVENT_DTYPE rows with vectorised numpy, checking the
numbers and sides as it goes. :class:`_BookState` carries the snapshot state of
``incremental_book_L2`` across chunks; :func:`_interleave` inserts its CLEAR rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]

from invrisk._typing import BoolArray, Float64Array, Int64Array
from invrisk.data.events import EventArray, EventKind, Side, empty_events
from invrisk.errors import DataError
from invrisk.units import NS_PER_US


class _BookState:
    """Per-symbol memory of incremental_book_L2 across chunks."""

    def __init__(self) -> None:
        self.previous_snapshot: list[bool] = []
        self.seen_snapshot: list[bool] = []

    def grow(self, n: int) -> None:
        while len(self.previous_snapshot) < n:
            self.previous_snapshot.append(False)
            self.seen_snapshot.append(False)


class _EventMapper:
    """The conversion methods of :class:`~invrisk.data.tardis.TardisStream` (its base class).

    They read the stream's attributes below and update ``pre_snapshot_rows`` and the book state.
    """

    source: str
    dataset: str
    symbols: list[str]
    keep_pre_snapshot: bool
    pre_snapshot_rows: int
    _book: _BookState

    def _error(self, message: str, row: int) -> DataError:
        return DataError(message, path=self.source, row=row)

    def _side(self, columns: _Columns, mapping: dict[str, int]) -> npt.NDArray[np.int8]:
        column: pa.DictionaryArray = columns.batch.column("side")
        names = column.dictionary.to_pylist()
        lut = np.array([mapping.get(name, 2) for name in names], dtype=np.int8)
        side = lut[column.indices.to_numpy()]
        bad = side == 2
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self._error(
                f"column 'side' is {names[column.indices[row].as_py()]!r}: expected one of "
                f"{sorted(mapping)}",
                columns.start + row + 1,
            )
        return columns.pick(side)

    def _number(
        self,
        columns: _Columns,
        name: str,
        *,
        minimum: float | None = None,
        strict: bool = False,
        optional: bool = False,
    ) -> tuple[Float64Array, BoolArray]:
        """A float column (kept rows) and its "present" mask; checks finiteness and range."""
        column = columns.batch.column(name)
        values: Float64Array = column.to_numpy(zero_copy_only=False)
        present: BoolArray
        if column.null_count:
            present = ~column.is_null().to_numpy(zero_copy_only=False)
            if not optional:
                row = int(np.flatnonzero(~present)[0])
                raise self._error(f"column {name!r} is empty", columns.start + row + 1)
        else:
            present = np.ones(len(values), dtype=np.bool_)
        finite = np.isfinite(values)
        bad = present & ~finite
        if minimum is not None:
            with np.errstate(invalid="ignore"):
                below = values <= minimum if strict else values < minimum
            bad |= present & below
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            allowed = (
                "a finite number"
                if minimum is None
                else (f"a finite number {'>' if strict else '>='} {minimum:g}")
            )
            raise self._error(
                f"column {name!r} is {float(values[row])!r}: expected {allowed}",
                columns.start + row + 1,
            )
        return columns.pick(values), columns.pick(present)

    def _book_l2(self, columns: _Columns) -> EventArray:
        column = columns.batch.column("is_snapshot")
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise self._error(
                "column 'is_snapshot' is empty: expected true or false", columns.start + row + 1
            )
        side = self._side(columns, {"bid": int(Side.BID), "ask": int(Side.ASK)})
        price, _ = self._number(columns, "price", minimum=0.0, strict=True)
        qty, _ = self._number(columns, "amount", minimum=0.0)
        snapshot: BoolArray = columns.pick(column.to_numpy(zero_copy_only=False))
        instrument = columns.pick(columns.instrument)
        n = len(snapshot)
        starts = np.zeros(n, dtype=np.bool_)
        keep = np.ones(n, dtype=np.bool_)
        book = self._book
        book.grow(len(self.symbols))
        single = len(self.symbols) <= 1
        present = [0] if single else np.unique(instrument).tolist()
        for s in present if n else ():
            rows = np.arange(n) if single else np.flatnonzero(instrument == s)
            sub = snapshot[rows]
            previous = np.concatenate(([book.previous_snapshot[s]], sub[:-1]))
            starts[rows] = sub & ~previous
            book.previous_snapshot[s] = bool(sub[-1])
            if not book.seen_snapshot[s]:
                first = int(np.argmax(sub)) if sub.any() else len(sub)
                book.seen_snapshot[s] = bool(sub.any())
                if not self.keep_pre_snapshot:
                    keep[rows[:first]] = False
                    self.pre_snapshot_rows += first
        kind = np.where(snapshot, np.uint8(EventKind.SNAPSHOT), np.uint8(EventKind.DEPTH))
        return _interleave(
            columns.pick(columns.exch_us),
            columns.pick(columns.local_us),
            instrument,
            starts,
            keep,
            kind=kind,
            side=side,
            price=price,
            qty=qty,
        )

    def _trades(self, columns: _Columns) -> EventArray:
        side = self._side(
            columns, {"buy": int(Side.BID), "sell": int(Side.ASK), "unknown": int(Side.NONE)}
        )
        price, _ = self._number(columns, "price", minimum=0.0, strict=True)
        qty, _ = self._number(columns, "amount", minimum=0.0)
        ids = columns.batch.column("id")
        numeric = pc.and_(pc.utf8_is_decimal(ids), pc.less_equal(pc.utf8_length(ids), 18))
        update_id = (
            pc.cast(pc.if_else(numeric, ids, pa.scalar(None, pa.string())), pa.int64())
            .fill_null(-1)
            .to_numpy()
        )
        out = empty_events(len(price))
        out["exch_ns"] = columns.pick(columns.exch_us) * NS_PER_US
        out["local_ns"] = columns.pick(columns.local_us) * NS_PER_US
        out["kind"] = EventKind.TRADE
        out["side"] = side
        out["price"] = price
        out["qty"] = qty
        out["update_id"] = columns.pick(update_id)
        out["instrument"] = columns.pick(columns.instrument)
        return out

    def _book_snapshot(self, columns: _Columns) -> EventArray:
        depth = int(self.dataset.rsplit("_", 1)[1])
        names = [f"{s}[{i}]" for s in ("bids", "asks") for i in range(depth)]
        n = columns.n_kept
        price = np.empty((n, 2 * depth), dtype=np.float64)
        qty = np.empty((n, 2 * depth), dtype=np.float64)
        valid = np.empty((n, 2 * depth), dtype=np.bool_)
        for j, name in enumerate(names):
            p, p_ok = self._number(
                columns, f"{name}.price", minimum=0.0, strict=True, optional=True
            )
            q, q_ok = self._number(columns, f"{name}.amount", minimum=0.0, optional=True)
            if (p_ok != q_ok).any():
                row = columns.file_row(int(np.flatnonzero(p_ok != q_ok)[0]))
                raise self._error(f"level {name} has a price or an amount but not both", row)
            price[:, j], qty[:, j], valid[:, j] = p, q, p_ok
        slots = np.concatenate((np.ones((n, 1), dtype=np.bool_), valid), axis=1).ravel()
        per_row = 1 + 2 * depth
        kind = np.full((n, per_row), np.uint8(EventKind.SNAPSHOT), dtype=np.uint8)
        kind[:, 0] = EventKind.CLEAR
        side = np.empty((n, per_row), dtype=np.int8)
        side[:, 0] = Side.NONE
        side[:, 1 : 1 + depth] = Side.BID
        side[:, 1 + depth :] = Side.ASK
        out = empty_events(int(slots.sum()))
        row_of_slot = np.repeat(np.arange(n), per_row)[slots]
        out["exch_ns"] = columns.pick(columns.exch_us)[row_of_slot] * NS_PER_US
        out["local_ns"] = columns.pick(columns.local_us)[row_of_slot] * NS_PER_US
        out["kind"] = kind.ravel()[slots]
        out["side"] = side.ravel()[slots]
        zero = np.zeros((n, 1))
        out["price"] = np.concatenate((zero, price), axis=1).ravel()[slots]
        out["qty"] = np.concatenate((zero, qty), axis=1).ravel()[slots]
        out["instrument"] = columns.pick(columns.instrument)[row_of_slot]
        return out

    def _quotes(self, columns: _Columns) -> EventArray:
        parts: list[tuple[int, int, str, str]] = [
            (int(EventKind.BBO), int(Side.BID), "bid_price", "bid_amount"),
            (int(EventKind.BBO), int(Side.ASK), "ask_price", "ask_amount"),
        ]
        return self._wide(columns, parts)

    def _derivative_ticker(self, columns: _Columns) -> EventArray:
        parts: list[tuple[int, int, str, str]] = [
            (int(EventKind.FUNDING), 0, "funding_rate", ""),
            (int(EventKind.MARK), 0, "mark_price", ""),
            (int(EventKind.INDEX), 0, "index_price", ""),
            (int(EventKind.OPEN_INTEREST), 0, "", "open_interest"),
        ]
        return self._wide(columns, parts)

    def _wide(self, columns: _Columns, parts: list[tuple[int, int, str, str]]) -> EventArray:
        """Records with up to ``len(parts)`` optional events each (kind, side, price, qty)."""
        n = columns.n_kept
        m = len(parts)
        price = np.zeros((n, m))
        qty = np.zeros((n, m))
        valid = np.empty((n, m), dtype=np.bool_)
        for j, (kind, _, price_name, qty_name) in enumerate(parts):
            positive = kind in (EventKind.BBO, EventKind.MARK, EventKind.INDEX)
            p_ok = q_ok = None
            if price_name:
                minimum = 0.0 if positive else None
                p, p_ok = self._number(
                    columns, price_name, minimum=minimum, strict=positive, optional=True
                )
                price[:, j] = p
            if qty_name:
                q, q_ok = self._number(columns, qty_name, minimum=0.0, optional=True)
                qty[:, j] = q
            if p_ok is not None and q_ok is not None and (p_ok != q_ok).any():
                row = columns.file_row(int(np.flatnonzero(p_ok != q_ok)[0]))
                raise self._error(
                    f"{price_name} and {qty_name} must be both present or both empty", row
                )
            ok = p_ok if p_ok is not None else q_ok
            assert ok is not None
            valid[:, j] = ok
        slots = valid.ravel()
        row_of_slot = np.repeat(np.arange(n), m)[slots]
        out = empty_events(int(slots.sum()))
        out["exch_ns"] = columns.pick(columns.exch_us)[row_of_slot] * NS_PER_US
        out["local_ns"] = columns.pick(columns.local_us)[row_of_slot] * NS_PER_US
        out["kind"] = np.tile(np.array([p[0] for p in parts], dtype=np.uint8), n)[slots]
        out["side"] = np.tile(np.array([p[1] for p in parts], dtype=np.int8), n)[slots]
        out["price"] = price.ravel()[slots]
        out["qty"] = qty.ravel()[slots]
        out["instrument"] = columns.pick(columns.instrument)[row_of_slot]
        return out


class _Columns:
    """One batch and the rows kept from it (``keep`` is ``None`` for all rows)."""

    def __init__(
        self,
        batch: pa.RecordBatch,
        keep: BoolArray | None,
        exch_us: Int64Array,
        local_us: Int64Array,
        instrument: npt.NDArray[np.int32],
        start: int,
    ) -> None:
        self.batch = batch
        self.keep = keep
        self.exch_us = exch_us
        self.local_us = local_us
        self.instrument = instrument
        self.start = start
        self.n_kept = batch.num_rows if keep is None else int(keep.sum())
        self._kept_rows = None if keep is None else np.flatnonzero(keep)

    def pick(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return values if self.keep is None else values[self.keep]

    def file_row(self, kept_index: int) -> int:
        """1-based data row of the file of a kept row's index."""
        i = kept_index if self._kept_rows is None else int(self._kept_rows[kept_index])
        return self.start + i + 1


def _interleave(
    exch_us: Int64Array,
    local_us: Int64Array,
    instrument: npt.NDArray[np.int32],
    starts: BoolArray,
    keep: BoolArray,
    *,
    kind: npt.NDArray[np.uint8],
    side: npt.NDArray[np.int8],
    price: Float64Array,
    qty: Float64Array,
) -> EventArray:
    """Kept rows as events, each ``starts`` row preceded by a CLEAR (side 0) of its instrument."""
    counts = keep.astype(np.int64) + starts
    ends = np.cumsum(counts)
    out = empty_events(int(ends[-1]) if len(ends) else 0)
    at = ends[keep] - 1
    out["exch_ns"][at] = exch_us[keep] * NS_PER_US
    out["local_ns"][at] = local_us[keep] * NS_PER_US
    out["kind"][at] = kind[keep]
    out["side"][at] = side[keep]
    out["price"][at] = price[keep]
    out["qty"][at] = qty[keep]
    out["instrument"][at] = instrument[keep]
    if starts.any():
        clear = ends[starts] - 2
        out["exch_ns"][clear] = exch_us[starts] * NS_PER_US
        out["local_ns"][clear] = local_us[starts] * NS_PER_US
        out["kind"][clear] = EventKind.CLEAR
        out["instrument"][clear] = instrument[starts]
    return out
