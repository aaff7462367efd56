"""Tardis.dev downloadable CSV datasets as market events (:data:`~invrisk.data.events.EVENT_DTYPE`).

:func:`read_tardis` reads a whole file into a :class:`TardisData`; :func:`iter_tardis` streams it
in chunks of at most ``chunk_rows`` CSV rows (memory bounded by the chunk, for day files larger
than memory). ``.gz`` files are decompressed on the fly (chosen by the suffix). Parsing is done by
``pyarrow.csv`` (a project dependency) and the row-to-event mapping by vectorised numpy; a slow
pure-Python scan runs only when pyarrow rejects the file, to name the defective row.

Source format
-------------
Tardis.dev, "Downloadable CSV files" (https://docs.tardis.dev/downloadable-csv-files) and its
"Data Types" page with the column schemas (https://docs.tardis.dev/downloadable-csv-files/data-types):
comma-separated, LF line ends, ``.`` decimal mark, one file per exchange, data type, day and
symbol (``{exchange}_{data_type}_{YYYY-MM-DD}_{symbol}.csv.gz``). Every dataset starts with
``exchange, symbol, timestamp, local_timestamp``: ``timestamp`` is the exchange's time ("if
exchange does not provide one local_timestamp value is used as a fallback"), ``local_timestamp``
the message arrival time, both **microseconds** since the epoch, UTC; they become ``exch_ns`` and
``local_ns`` (x 1000). The other columns, in the documented order:

=======================  ====================================================================
dataset                  columns after ``exchange, symbol, timestamp, local_timestamp``
=======================  ====================================================================
``incremental_book_L2``  ``is_snapshot, side, price, amount``
``trades``               ``id, side, price, amount``
``book_snapshot_25``     ``asks[0].price, asks[0].amount, bids[0].price, bids[0].amount``, ...
                         ``asks[24].price, asks[24].amount, bids[24].price, bids[24].amount``
                         (``book_snapshot_5``: levels 0..4)
``quotes``               ``ask_amount, ask_price, bid_price, bid_amount``
                         (``book_ticker`` has the same columns)
``derivative_ticker``    ``funding_timestamp, funding_rate, predicted_funding_rate,
                         open_interest, last_price, index_price, mark_price``
=======================  ====================================================================

Columns are found by name (extra columns are ignored); a missing one is a
:class:`~invrisk.errors.DataError` that lists the dataset's documented columns. The dataset is
taken from ``dataset=``, else from the Tardis file name, else from the header.

Mapping to events
-----------------
``incremental_book_L2``
    Each row is one price level's new **absolute** size (``amount``; "0 indicates that the
    price level can be removed"): ``side`` ``bid`` -> :attr:`Side.BID`, ``ask`` -> :attr:`Side.ASK`.
    ``is_snapshot=false`` rows are :attr:`EventKind.DEPTH`, ``true`` rows
    :attr:`EventKind.SNAPSHOT`. The Data Types page: "If last update was not a snapshot and
    current one is, then existing order book state must be discarded (all existing levels
    removed)"; the FAQ (https://docs.tardis.dev/faq/data) adds that this happens at the start of
    each file and whenever the exchange connection restarted. So a :attr:`EventKind.CLEAR`
    (side 0 = both sides, the first snapshot row's timestamps) is emitted before the first row
    of every snapshot block, i.e. a snapshot row whose previous row *of the same symbol* was not
    a snapshot (the first snapshot of a file included). Snapshot rows with amount 0 are kept
    (the Tardis docs say they mean an absent level). "Files may contain non-snapshot updates
    before the first snapshot — skip these rows until you encounter the first is_snapshot=true
    row" (Data Types page): they are skipped and counted (``pre_snapshot_rows``), unless
    ``keep_pre_snapshot=True``.
``trades``
    One :attr:`EventKind.TRADE`; ``side`` is the "liquidity taker side (aggressor)"
    (https://docs.tardis.dev/tardis-machine/data-types#trade): ``buy`` -> +1 (buyer-initiated),
    ``sell`` -> -1, ``unknown`` -> 0 (the venue did not say; not guessed from prices). ``id``
    becomes ``update_id`` when it is a decimal integer of at most 18 digits, else -1 (some venues
    use UUIDs).
``book_snapshot_25`` / ``book_snapshot_5``
    Each record is the whole top-of-book: a :attr:`EventKind.CLEAR` (side 0) then one
    :attr:`EventKind.SNAPSHOT` row per present level, bids 0..N-1 then asks 0..N-1 (levels are
    empty "if there aren't that many levels"; an empty level is no row). Replaying them gives
    a book of at most N levels a side, exactly the record.
``quotes`` / ``book_ticker``
    Two :attr:`EventKind.BBO` rows per record, the bid (+1) then the ask (-1); a side whose
    price is empty (no bid or no ask) gives no row, so a consumer keeps the side's previous
    value.
``derivative_ticker``
    Per record, one row per non-empty value, in this order: :attr:`EventKind.FUNDING`
    (``funding_rate`` in ``price``, decimal per funding interval as the venue publishes it),
    :attr:`EventKind.MARK` (``mark_price``), :attr:`EventKind.INDEX` (``index_price``),
    :attr:`EventKind.OPEN_INTEREST` (``open_interest`` in ``qty``). Not emitted:
    ``predicted_funding_rate`` (an estimate of a *later* period's rate; EVENT_DTYPE has no kind
    for it), ``funding_timestamp`` (the next funding time; EVENT_DTYPE has no field for a second
    time) and ``last_price`` (trades come from the ``trades`` dataset). Tardis repeats the
    latest value of every field on each row, so values repeat; they are not de-duplicated.

Every event carries ``instrument`` = the index of its symbol in ``symbols`` (first-seen order;
with ``symbol=`` only that symbol's rows are read and it is index 0). ``first_id`` and
``prev_id`` are -1 (Tardis CSVs carry no sequence numbers); ``update_id`` is -1 except for trades.

Checks
------
Row numbers are 1-based **data rows** (header not counted, blank lines skipped), as in
:mod:`invrisk.data.tardis_options`. :class:`~invrisk.errors.DataError` (file and row): a missing
column, a row with too few or too many fields, an empty or non-integer timestamp, a negative
timestamp, a number that does not parse or is not finite, a negative size, a book or trade price
<= 0, an unknown ``side`` or ``is_snapshot`` value, a level with a price but no amount (or the
reverse), a second exchange in one file, a truncated or corrupt gzip stream. A
:class:`~invrisk.errors.DataWarning` (never a reordering): ``local_timestamp`` going backwards,
with the first such rows and their count, once per chunk.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, TypeAlias, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

from invrisk._typing import BoolArray, Float64Array, Int64Array
from invrisk.data.events import EventArray, EventKind, Side, empty_events
from invrisk.errors import DataError, DataWarning, InvalidArgumentError
from invrisk.units import NS_PER_US

__all__ = [
    "TARDIS_COLUMNS",
    "TARDIS_DATASETS",
    "TardisData",
    "TardisDataset",
    "TardisStream",
    "iter_tardis",
    "read_tardis",
]

TardisDataset: TypeAlias = Literal[
    "incremental_book_L2",
    "trades",
    "book_snapshot_25",
    "book_snapshot_5",
    "quotes",
    "book_ticker",
    "derivative_ticker",
]
TARDIS_DATASETS: tuple[str, ...] = get_args(TardisDataset)
"""The Tardis CSV datasets read here."""

_BASE = ("exchange", "symbol", "timestamp", "local_timestamp")


def _snapshot_columns(depth: int) -> tuple[str, ...]:
    out: list[str] = list(_BASE)
    for i in range(depth):
        out += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return tuple(out)


_QUOTE_COLUMNS = (*_BASE, "ask_amount", "ask_price", "bid_price", "bid_amount")
TARDIS_COLUMNS: dict[str, tuple[str, ...]] = {
    "incremental_book_L2": (*_BASE, "is_snapshot", "side", "price", "amount"),
    "trades": (*_BASE, "id", "side", "price", "amount"),
    "book_snapshot_25": _snapshot_columns(25),
    "book_snapshot_5": _snapshot_columns(5),
    "quotes": _QUOTE_COLUMNS,
    "book_ticker": _QUOTE_COLUMNS,
    "derivative_ticker": (
        *_BASE,
        "funding_timestamp",
        "funding_rate",
        "predicted_funding_rate",
        "open_interest",
        "last_price",
        "index_price",
        "mark_price",
    ),
}
"""The documented columns of each dataset, in order
(https://docs.tardis.dev/downloadable-csv-files/data-types)."""

_UNUSED: dict[str, frozenset[str]] = {
    "derivative_ticker": frozenset({"funding_timestamp", "predicted_funding_rate", "last_price"}),
}
"""Documented columns the reader does not use (they may be absent)."""

_DOC = "https://docs.tardis.dev/downloadable-csv-files/data-types"
_NAME_PATTERN = re.compile(
    r"(?:^|_)(incremental_book_L2|book_snapshot_\d+|trades|quotes|book_ticker|"
    r"derivative_ticker|options_chain|liquidations)(?=_|\.|$)"
)
_DEFAULT_CHUNK_ROWS: Final = 1 << 20
_WHOLE_FILE: Final = 1 << 62
_MAX_US: Final = (2**63 - 1) // NS_PER_US
_BLOCK_BYTES: Final = 1 << 20
"""pyarrow block size: small blocks pipeline decompression and parsing (measured fastest)."""
_WARN_ROWS: Final = 5
"""How many offending rows a warning lists."""

_STRING = pa.dictionary(pa.int32(), pa.string())


def _used_columns(dataset: str) -> tuple[str, ...]:
    unused = _UNUSED.get(dataset, frozenset())
    return tuple(c for c in TARDIS_COLUMNS[dataset] if c not in unused)


def _column_types(dataset: str) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for name in _used_columns(dataset):
        if name in ("exchange", "symbol", "side"):
            types[name] = _STRING
        elif name in ("timestamp", "local_timestamp"):
            types[name] = pa.int64()
        elif name == "is_snapshot":
            types[name] = pa.bool_()
        elif name == "id":
            types[name] = pa.string()
        else:
            types[name] = pa.float64()
    return types


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TardisData:
    """A Tardis CSV file read into events.

    Attributes
    ----------
    events
        Read-only :data:`~invrisk.data.events.EVENT_DTYPE` array in file order (see the module
        docstring for the mapping of each dataset).
    source
        The file read.
    dataset
        The Tardis data type (one of :data:`TARDIS_DATASETS`).
    exchange
        The ``exchange`` column's value (Tardis exchange id, e.g. ``binance-futures``), or
        ``None`` for a file without data rows.
    symbols
        The symbol table: ``symbols[i]`` is the name of ``instrument == i``.
    rows_read
        Data rows read and validated (the whole file).
    pre_snapshot_rows
        ``incremental_book_L2`` rows before a symbol's first snapshot, skipped (0 with
        ``keep_pre_snapshot=True``).
    other_symbol_rows
        Rows of symbols other than the requested ``symbol`` (validated, not converted).
    warnings
        How many :class:`~invrisk.errors.DataWarning` were issued while reading.
    """

    events: EventArray
    source: str
    dataset: str
    exchange: str | None
    symbols: tuple[str, ...]
    rows_read: int
    pre_snapshot_rows: int
    other_symbol_rows: int
    warnings: int

    def __post_init__(self) -> None:
        events = np.asarray(self.events).view()
        events.setflags(write=False)
        object.__setattr__(self, "events", events)

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        return (
            f"TardisData({len(self)} events, dataset={self.dataset!r}, exchange={self.exchange!r}, "
            f"symbols={list(self.symbols)}, rows_read={self.rows_read}, source={self.source!r})"
        )


# -- header and dataset ------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_header(path: Path) -> list[str]:
    source = str(path)
    try:
        with _open_text(path) as handle:
            line = handle.readline()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise DataError(f"cannot read the file: {exc}", path=source) from exc
    if not line.strip():
        raise DataError("file is empty (no header)", path=source)
    return [name.strip().lstrip("\ufeff") for name in line.rstrip("\r\n").split(",")]


def _dataset_from_header(header: list[str]) -> str | None:
    names = set(header)
    if "is_snapshot" in names:
        return "incremental_book_L2"
    if "asks[0].price" in names or "bids[0].price" in names:
        depth = sum(1 for name in names if name.startswith("asks[") and name.endswith("].price"))
        return f"book_snapshot_{depth}"
    if "funding_rate" in names or "mark_price" in names or "open_interest" in names:
        return "derivative_ticker"
    if "ask_price" in names or "bid_price" in names:
        return "quotes"
    if "id" in names and "side" in names:
        return "trades"
    return None


def _resolve_dataset(path: Path, header: list[str], dataset: str | None) -> str:
    source = str(path)
    if dataset is None:
        match = _NAME_PATTERN.search(path.name)
        dataset = match.group(1) if match else _dataset_from_header(header)
        if dataset is None:
            raise DataError(
                "cannot tell which Tardis dataset this is from the file name or the header "
                f"{header}; pass dataset= (one of {', '.join(TARDIS_DATASETS)})",
                path=source,
            )
    if dataset == "options_chain":
        raise DataError(
            "options_chain files are read by invrisk.data.load_tardis_options_snapshot",
            path=source,
        )
    if dataset not in TARDIS_COLUMNS:
        raise DataError(
            f"Tardis dataset {dataset!r} is not supported: expected one of "
            f"{', '.join(TARDIS_DATASETS)}",
            path=source,
        )
    missing = [c for c in _used_columns(dataset) if c not in header]
    if missing:
        raise DataError(
            f"not a Tardis {dataset} file: missing column(s) {missing} (expected the documented "
            f"columns: {', '.join(TARDIS_COLUMNS[dataset])}; {_DOC})",
            path=source,
        )
    return dataset


# -- the stream --------------------------------------------------------------------------------


class _BookState:
    """Per-symbol memory of incremental_book_L2 across chunks."""

    def __init__(self) -> None:
        self.previous_snapshot: list[bool] = []
        self.seen_snapshot: list[bool] = []

    def grow(self, n: int) -> None:
        while len(self.previous_snapshot) < n:
            self.previous_snapshot.append(False)
            self.seen_snapshot.append(False)


class TardisStream(Iterator[EventArray]):
    """An iterator of event chunks read from one Tardis CSV file (see :func:`iter_tardis`).

    Its attributes grow as it is consumed: ``symbols`` (the symbol table so far), ``exchange``,
    ``rows_read``, ``pre_snapshot_rows``, ``other_symbol_rows``, ``warnings``. Use it as a
    context manager, or consume it fully, to close the file.
    """

    def __init__(
        self,
        path: Path,
        *,
        dataset: str,
        symbol: str | None,
        chunk_rows: int,
        keep_pre_snapshot: bool,
    ) -> None:
        self.source = str(path)
        self.dataset = dataset
        self.chunk_rows = chunk_rows
        self.keep_pre_snapshot = keep_pre_snapshot
        self.exchange: str | None = None
        self.symbols: list[str] = [] if symbol is None else [symbol]
        self.rows_read = 0
        self.pre_snapshot_rows = 0
        self.other_symbol_rows = 0
        self.warnings = 0
        self._path = path
        self._symbol = symbol
        self._symbol_seen = False
        self._index: dict[str, int] = {} if symbol is None else {symbol: 0}
        self._reader: pacsv.CSVStreamingReader | None = None
        self._pending: pa.RecordBatch | None = None
        self._back_rows: list[int] = []
        self._back_count = 0
        self._last_local_us: int | None = None
        self._book = _BookState()
        self._done = False

    # -- iterator protocol

    def __iter__(self) -> TardisStream:
        return self

    def __next__(self) -> EventArray:
        pieces: list[EventArray] = []
        rows = 0
        while rows < self.chunk_rows:
            batch = self._next_batch(self.chunk_rows - rows)
            if batch is None:
                break
            start = self.rows_read
            self.rows_read += batch.num_rows
            rows += batch.num_rows
            try:
                pieces.append(self._convert(batch, start))
            except DataError:
                self.close()
                raise
        self._warn_local_order()
        if not pieces:
            self._finish()
            raise StopIteration
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def __enter__(self) -> TardisStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file (further iteration stops)."""
        self._done = True
        self._pending = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- reading

    def _open(self) -> pacsv.CSVStreamingReader:
        header = _read_header(self._path)
        try:
            stream = pa.input_stream(
                str(self._path), compression="gzip" if self._path.suffix == ".gz" else None
            )
            return pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(use_threads=True, block_size=_BLOCK_BYTES),
                convert_options=pacsv.ConvertOptions(
                    column_types=_column_types(self.dataset),
                    include_columns=[c for c in _used_columns(self.dataset) if c in header],
                    true_values=["true"],
                    false_values=["false"],
                    null_values=[""],
                    strings_can_be_null=False,
                ),
            )
        except (pa.ArrowException, OSError) as exc:
            raise self._diagnose(exc) from exc

    def _next_batch(self, most: int) -> pa.RecordBatch | None:
        """The next non-empty batch of at most ``most`` rows, or ``None`` at the end."""
        while True:
            if self._pending is not None:
                batch, self._pending = self._pending, None
            elif self._done:
                return None
            else:
                try:
                    if self._reader is None:
                        self._reader = self._open()
                    batch = self._reader.read_next_batch()
                except StopIteration:
                    return None
                except (pa.ArrowException, OSError) as exc:
                    self.close()
                    raise self._diagnose(exc) from exc
            if batch.num_rows > most:
                self._pending = batch.slice(most)
                return batch.slice(0, most)
            if batch.num_rows:
                return batch

    def _finish(self) -> None:
        self.close()
        if self._symbol is not None and not self._symbol_seen and self.rows_read > 0:
            raise DataError(
                f"symbol {self._symbol!r} has no rows in the file "
                f"({self.other_symbol_rows} rows of other symbols)",
                path=self.source,
            )

    def _diagnose(self, exc: BaseException) -> DataError:
        """The DataError for a file pyarrow rejected: a pure-Python scan names the row."""
        located = _locate_defect(self._path, self.dataset)
        if located is not None:
            return located
        return DataError(f"cannot read the file: {exc}", path=self.source)

    def _error(self, message: str, row: int) -> DataError:
        return DataError(message, path=self.source, row=row)

    # -- conversion

    def _convert(self, batch: pa.RecordBatch, start: int) -> EventArray:
        exch_us = self._timestamps(batch, "timestamp", start)
        local_us = self._timestamps(batch, "local_timestamp", start)
        self._check_exchange(batch.column("exchange"), start)
        instrument = self._instruments(batch.column("symbol"))
        self._check_local_order(local_us, start)
        keep: BoolArray | None = None
        if self._symbol is not None:
            keep = instrument >= 0
            n_keep = int(keep.sum())
            self.other_symbol_rows += len(keep) - n_keep
            if n_keep:
                self._symbol_seen = True
            if n_keep == len(keep):
                keep = None
        columns = _Columns(batch, keep, exch_us, local_us, instrument, start)
        if self.dataset == "incremental_book_L2":
            return self._book_l2(columns)
        if self.dataset == "trades":
            return self._trades(columns)
        if self.dataset.startswith("book_snapshot_"):
            return self._book_snapshot(columns)
        if self.dataset in ("quotes", "book_ticker"):
            return self._quotes(columns)
        return self._derivative_ticker(columns)

    def _timestamps(self, batch: pa.RecordBatch, name: str, start: int) -> Int64Array:
        column = batch.column(name)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise self._error(f"column {name!r} is empty", start + row + 1)
        values: Int64Array = column.to_numpy()
        bad = (values < 0) | (values > _MAX_US)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self._error(
                f"column {name!r} is not a microsecond epoch time: {int(values[row])}",
                start + row + 1,
            )
        return values

    def _check_exchange(self, column: pa.DictionaryArray, start: int) -> None:
        names = column.dictionary.to_pylist()
        if len(names) == 1 and names[0] == self.exchange:
            return
        codes = column.indices.to_numpy()
        if self.exchange is None:
            self.exchange = names[int(codes[0])]
        expected = names.index(self.exchange) if self.exchange in names else -1
        bad = codes != expected
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise self._error(
                f"exchange {names[int(codes[row])]!r} differs from the file's "
                f"{self.exchange!r} (one exchange per file)",
                start + row + 1,
            )

    def _instruments(self, column: pa.DictionaryArray) -> npt.NDArray[np.int32]:
        lut = np.empty(len(column.dictionary), dtype=np.int32)
        for i, name in enumerate(column.dictionary.to_pylist()):
            index = self._index.get(name)
            if index is None:
                if self._symbol is not None:
                    index = -1
                else:
                    index = len(self.symbols)
                    self.symbols.append(name)
                    self._index[name] = index
            lut[i] = index
        codes: npt.NDArray[np.intp] = column.indices.to_numpy()
        return lut[codes]

    def _check_local_order(self, local_us: Int64Array, start: int) -> None:
        previous = local_us[0] if self._last_local_us is None else self._last_local_us
        back = np.flatnonzero(np.diff(local_us, prepend=previous) < 0)
        self._last_local_us = int(local_us[-1])
        if len(back):
            self._back_count += len(back)
            room = _WARN_ROWS - len(self._back_rows)
            self._back_rows += [start + 1 + int(i) for i in back[:room]]

    def _warn_local_order(self) -> None:
        """One DataWarning for the chunk just read, if its local timestamps went backwards."""
        if not self._back_count:
            return
        shown = ", ".join(str(r) for r in self._back_rows)
        count, self._back_count, self._back_rows = self._back_count, 0, []
        self.warnings += 1
        warnings.warn(
            f"{self.source}, row {shown.split(',')[0]}: local_timestamp goes backwards at "
            f"{count} row(s) of this chunk (first rows: {shown}); rows are kept in file order",
            DataWarning,
            stacklevel=3,
        )

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


# -- the pure-Python scan that names a defective row ---------------------------------------------


def _locate_defect(path: Path, dataset: str) -> DataError | None:
    """Scan the file with the ``csv`` module; the DataError of the first defective row, if any.

    It checks what pyarrow's parse checks: the field count and the text of every typed column.
    """
    source = str(path)
    types = _column_types(dataset)
    row = 0
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
            typed = [(header.index(name), name, kind) for name, kind in types.items()]
            for values in reader:
                if not values:
                    continue  # blank line: pyarrow skips it too
                row += 1
                if len(values) != len(header):
                    return DataError(
                        f"has {len(values)} fields, the header has {len(header)}",
                        path=source,
                        row=row,
                    )
                for i, name, kind in typed:
                    problem = _field_problem(values[i], kind)
                    if problem is not None:
                        return DataError(
                            f"column {name!r} is {values[i]!r}: {problem}", path=source, row=row
                        )
    except (OSError, EOFError, zlib.error) as exc:
        return DataError(
            f"the file is truncated or corrupt after data row {row}: {exc}",
            path=source,
            row=row + 1,
        )
    except UnicodeDecodeError as exc:
        return DataError(f"is not UTF-8 text: {exc}", path=source, row=row + 1)
    return None


def _field_problem(text: str, kind: pa.DataType) -> str | None:
    if text == "" or kind in (_STRING, pa.string()):
        return None
    if kind == pa.int64():
        digits = text[1:] if text[:1] in "+-" else text
        return None if digits.isascii() and digits.isdigit() else "expected an integer"
    if kind == pa.bool_():
        return None if text in ("true", "false") else "expected true or false"
    try:
        float(text)
    except ValueError:
        return "expected a number"
    return None


# -- public functions --------------------------------------------------------------------------


def _check_path(path: str | os.PathLike[str]) -> Path:
    file = Path(path)
    if not file.is_file():
        raise DataError("no such file", path=str(file))
    return file


def iter_tardis(
    path: str | os.PathLike[str],
    *,
    dataset: TardisDataset | None = None,
    symbol: str | None = None,
    chunk_rows: int | None = None,
    keep_pre_snapshot: bool = False,
) -> TardisStream:
    """Stream a Tardis CSV file as chunks of events (memory bounded by ``chunk_rows``).

    Parameters
    ----------
    path
        The file, ``.csv`` or ``.csv.gz`` (gzip chosen by the suffix).
    dataset
        The Tardis data type (one of :data:`TARDIS_DATASETS`); ``None`` infers it from the
        Tardis file name (``..._{data_type}_{date}_...``), else from the header.
    symbol
        Read only this symbol's rows (it becomes instrument 0); every row is still validated.
        ``None`` reads every symbol, indexed in first-seen order.
    chunk_rows
        Most CSV rows per chunk (default 2**20). A chunk has one event per row for
        ``incremental_book_L2`` and ``trades`` (plus CLEAR rows), up to ``2 * depth + 1`` per
        row for book snapshots. The file is parsed in blocks of 1 MiB whatever ``chunk_rows``.
    keep_pre_snapshot
        Keep ``incremental_book_L2`` rows that come before a symbol's first snapshot (Tardis
        advises skipping them; they are skipped and counted by default).

    Returns
    -------
    TardisStream
        An iterator of :data:`~invrisk.data.events.EVENT_DTYPE` arrays, whose attributes
        (``symbols``, ``exchange``, ``rows_read``...) grow as it is consumed.

    Raises
    ------
    DataError
        Missing file or column (at the call); a defective row (while iterating), naming the
        file and the 1-based data row.
    InvalidArgumentError
        If ``chunk_rows`` is not a positive int or ``dataset`` is not a known dataset name.
    """
    if dataset is not None and dataset not in TARDIS_DATASETS:
        raise InvalidArgumentError("dataset", dataset, "one of " + ", ".join(TARDIS_DATASETS))
    if chunk_rows is not None and (
        isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1
    ):
        raise InvalidArgumentError("chunk_rows", chunk_rows, "an int >= 1")
    if symbol is not None and (not isinstance(symbol, str) or not symbol):
        raise InvalidArgumentError("symbol", symbol, "None or a non-empty symbol name")
    file = _check_path(path)
    name = _resolve_dataset(file, _read_header(file), dataset)
    return TardisStream(
        file,
        dataset=name,
        symbol=symbol,
        chunk_rows=_DEFAULT_CHUNK_ROWS if chunk_rows is None else chunk_rows,
        keep_pre_snapshot=keep_pre_snapshot,
    )


def read_tardis(
    path: str | os.PathLike[str],
    *,
    dataset: TardisDataset | None = None,
    symbol: str | None = None,
    keep_pre_snapshot: bool = False,
) -> TardisData:
    """Read a whole Tardis CSV file into events.

    The parameters, mapping and checks are those of :func:`iter_tardis` (see the module
    docstring); the chunks are concatenated in file order.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> text = ("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\\n"
    ...         "deribit,BTC-PERPETUAL,1585699202957000,1585699203089980,1,buy,6425.5,12\\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp) / "deribit_trades_2020-04-01_BTC-PERPETUAL.csv.gz"
    ...     _ = file.write_bytes(gzip.compress(text.encode()))
    ...     data = read_tardis(file)
    >>> data.dataset, data.symbols, int(data.events["exch_ns"][0]), float(data.events["price"][0])
    ('trades', ('BTC-PERPETUAL',), 1585699202957000000, 6425.5)
    """
    with iter_tardis(
        path,
        dataset=dataset,
        symbol=symbol,
        chunk_rows=_WHOLE_FILE,
        keep_pre_snapshot=keep_pre_snapshot,
    ) as stream:
        chunks = list(stream)  # one chunk: the whole file
    events = chunks[0] if chunks else empty_events(0)
    return TardisData(
        events=events,
        source=stream.source,
        dataset=stream.dataset,
        exchange=stream.exchange,
        symbols=tuple(stream.symbols),
        rows_read=stream.rows_read,
        pre_snapshot_rows=stream.pre_snapshot_rows,
        other_symbol_rows=stream.other_symbol_rows,
        warnings=stream.warnings,
    )
