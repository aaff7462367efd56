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

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pacsv  # type: ignore[import-untyped, unused-ignore]

from invrisk._typing import BoolArray, Int64Array
from invrisk.data._tardis_events import _BookState, _Columns, _EventMapper
from invrisk.data._tardis_parse import (
    TARDIS_COLUMNS,
    TARDIS_DATASETS,
    TardisDataset,
    _column_types,
    _locate_defect,
    _read_header,
    _resolve_dataset,
    _used_columns,
)
from invrisk.data.events import EventArray, empty_events
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

_DEFAULT_CHUNK_ROWS: Final = 1 << 20
_WHOLE_FILE: Final = 1 << 62
_MAX_US: Final = (2**63 - 1) // NS_PER_US
_BLOCK_BYTES: Final = 1 << 20
"""pyarrow block size: small blocks pipeline decompression and parsing (measured fastest)."""
_WARN_ROWS: Final = 5
"""How many offending rows a warning lists."""


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


# -- the stream --------------------------------------------------------------------------------


class TardisStream(_EventMapper, Iterator[EventArray]):
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
