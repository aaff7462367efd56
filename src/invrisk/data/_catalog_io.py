"""Arrow and Parquet I/O behind :mod:`invrisk.data.catalog`.

The part-file schemas (:data:`EVENT_SCHEMA`, :data:`OHLCV_SCHEMA`), the conversions between
EVENT_DTYPE arrays and Arrow (:func:`events_to_table`, :func:`events_from_table`,
:func:`write_events_parquet`, :func:`read_events_parquet`; all re-exported by the public
module), the buffered part writer, the routing of event chunks to partitions and the move of
staged parts into place, and the scan of one part with filters pushed down to row groups.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.dataset as ds  # type: ignore[import-untyped, unused-ignore]
import pyarrow.fs as pafs  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from invrisk.data._catalog_manifest import DataType, PartFile, _day_str, _part_rel
from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.units import NS_PER_DAY

__all__ = [
    "EVENT_SCHEMA",
    "OHLCV_SCHEMA",
    "ROW_GROUP_ROWS",
    "events_from_table",
    "events_to_table",
    "read_events_parquet",
    "write_events_parquet",
]

ROW_GROUP_ROWS = 1 << 20
"""Rows per Parquet row group (about 10 MB on disk, 50 MB decoded): the unit of streaming."""

_TIME_FIELDS = ("exch_ns", "local_ns", "update_id", "first_id", "prev_id")
_EVENT_FIELDS: tuple[str, ...] = tuple(EVENT_DTYPE.names or ())
EVENT_SCHEMA = pa.schema(
    [(name, pa.from_numpy_dtype(EVENT_DTYPE[name])) for name in _EVENT_FIELDS],
    metadata={"invrisk.type": "events", "invrisk.version": "1"},
)
"""Arrow schema of an events part file: EVENT_DTYPE field for field (int64 ns stay int64)."""

OHLCV_SCHEMA = pa.schema(
    [
        ("open_ns", pa.int64()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("volume_base", pa.float64()),
        ("volume_quote", pa.float64()),
        ("trades", pa.int64()),
    ],
    metadata={"invrisk.type": "ohlcv", "invrisk.version": "1"},
)
"""Arrow schema of an OHLCV part file: bar open time (int64 ns UTC), prices in quote currency,
volume in base units and in quote units (NaN if the source has none), trade count (-1 if none)."""


# ---------------------------------------------------------------------------------------------
# Conversions between EVENT_DTYPE arrays and Arrow


def events_to_table(events: EventArray) -> pa.Table:
    """An EVENT_DTYPE array as an Arrow table with :data:`EVENT_SCHEMA` (columns copied)."""
    _check_events(events)
    return pa.Table.from_arrays(
        [pa.array(np.ascontiguousarray(events[name])) for name in _EVENT_FIELDS],
        schema=EVENT_SCHEMA,
    )


def events_from_table(table: pa.Table | pa.RecordBatch) -> EventArray:
    """Arrow columns named like EVENT_DTYPE's fields back to an EVENT_DTYPE array."""
    out = np.zeros(table.num_rows, dtype=EVENT_DTYPE)  # zeros: padding bytes are defined
    names = set(table.schema.names)
    missing = [n for n in _EVENT_FIELDS if n not in names]
    if missing:
        raise DataError(f"event table has no column(s) {missing}")
    for name in _EVENT_FIELDS:
        column = table.column(name)
        if column.null_count:
            raise DataError(f"event column {name!r} has {column.null_count} nulls")
        out[name] = column.to_numpy()
    return out


def write_events_parquet(
    path: str | os.PathLike[str],
    events: EventArray | Iterable[EventArray],
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> int:
    """Write an EVENT_DTYPE array, or a stream of them, to one Parquet file (atomically:
    temporary file, then ``os.replace``). Returns the rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    chunks = [events] if isinstance(events, np.ndarray) else events
    try:
        part = _PartWriter(tmp, EVENT_SCHEMA, row_group_rows)
        for chunk in chunks:
            _check_events(chunk)
            part.append_events(chunk)
        part.close()
        if part.rows == 0:  # a valid file with the schema and no rows
            pq.write_table(EVENT_SCHEMA.empty_table(), str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return part.rows


def read_events_parquet(path: str | os.PathLike[str]) -> EventArray:
    """Read a Parquet file with :data:`EVENT_SCHEMA` columns into an EVENT_DTYPE array."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read Parquet events: {exc}", path=str(path)) from exc
    return events_from_table(table)


# ---------------------------------------------------------------------------------------------
# Staging, committing and scanning part files


def _route_chunk(
    chunk: EventArray,
    symbols: tuple[str, ...],
    writers: dict[tuple[str, str], _PartWriter],
    staging: Path,
    row_group_rows: int,
) -> None:
    """Split a chunk by instrument and UTC day and append the pieces to their writers."""
    if len(chunk) == 0:
        return
    instrument = chunk["instrument"]
    lo, hi = int(instrument.min()), int(instrument.max())
    if lo < 0 or hi >= len(symbols):
        raise InvalidArgumentError(
            "symbol",
            list(symbols),
            f"one symbol per instrument index: events use instruments {lo}..{hi}",
        )
    for idx in range(lo, hi + 1):
        sub = chunk if lo == hi else chunk[instrument == idx]
        if len(sub) == 0:
            continue
        if idx != 0:
            sub = sub.copy()
            sub["instrument"] = 0
        days = sub["local_ns"] // NS_PER_DAY
        d0, d1 = int(days[0]), int(days[-1])
        unique_days = [d0] if d0 == d1 and bool(np.all(days == d0)) else np.unique(days)
        for day in unique_days:
            piece = sub if len(unique_days) == 1 else sub[days == day]
            key = (symbols[idx], _day_str(int(day)))
            writer = writers.get(key)
            if writer is None:
                writer = _PartWriter(
                    staging / f"{len(writers):06d}.parquet", EVENT_SCHEMA, row_group_rows
                )
                writers[key] = writer
            writer.append_events(piece)


def _commit_parts(
    root: Path,
    writers: dict[tuple[str, str], _PartWriter],
    *,
    venue: str,
    source_id: str,
    data_type: DataType = "events",
) -> list[PartFile]:
    parts: list[PartFile] = []
    for (symbol, day), w in sorted(writers.items()):
        if w.rows == 0:
            continue
        rel = _part_rel(venue, symbol, data_type, day, source_id)
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(w.path, dest)
        parts.append(
            PartFile(
                venue=venue,
                symbol=symbol,
                data_type=data_type,
                date=day,
                file=rel,
                rows=w.rows,
                bytes=dest.stat().st_size,
                start_ns=w.start_ns,
                end_ns=w.end_ns,
            )
        )
    return parts


def _scan_part(
    root: Path, part: PartFile, expr: ds.Expression | None, chunk_rows: int
) -> Iterator[EventArray]:
    path = root / part.file
    try:
        dataset = ds.FileSystemDataset.from_paths(
            [str(path)],
            schema=EVENT_SCHEMA,
            format=ds.ParquetFileFormat(),
            filesystem=pafs.LocalFileSystem(),
        )
        # One row group at a time, no pre-buffering: memory stays near one batch (reading
        # ahead with threads was no faster here and held ~4x more decoded data).
        batches = dataset.to_batches(
            filter=expr,
            batch_size=chunk_rows,
            batch_readahead=1,
            fragment_readahead=1,
            fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
            use_threads=False,
        )
        for batch in batches:
            if batch.num_rows:
                yield events_from_table(batch)
    except FileNotFoundError as exc:
        raise DataError(
            "part file listed in the manifest is missing (catalog damaged?)", path=str(path)
        ) from exc
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read catalog part: {exc}", path=str(path)) from exc


# ---------------------------------------------------------------------------------------------
# Writing helpers


def _open_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """zstd, and delta encoding for the int64 time and id columns (monotone: ~1 byte/row)."""
    delta = [n for n in schema.names if n in _TIME_FIELDS or n == "open_ns"]
    return pq.ParquetWriter(
        str(path),
        schema,
        compression="zstd",
        use_dictionary=[n for n in schema.names if n not in delta],
        column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
        write_statistics=True,
    )


class _PartWriter:
    """Buffers rows for one part file and writes them in row groups of ``row_group_rows``."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int) -> None:
        self.path = path
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.rows = 0
        self.start_ns = 0
        self.end_ns = 0
        self._buffer: list[EventArray] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None

    def _track(self, t_ns: npt.NDArray[np.int64]) -> None:
        if len(t_ns) == 0:
            return
        lo, hi = int(t_ns.min()), int(t_ns.max())
        self.start_ns = lo if self.rows == 0 else min(self.start_ns, lo)
        self.end_ns = hi if self.rows == 0 else max(self.end_ns, hi)
        self.rows += len(t_ns)

    def append_events(self, events: EventArray) -> None:
        self._track(events["local_ns"])
        self._buffer.append(events)
        self._buffered += len(events)
        while self._buffered >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def append_table(self, table: pa.Table, t_ns: npt.NDArray[np.int64]) -> None:
        self._track(t_ns)
        self._write(table)

    def _flush(self, n: int) -> None:
        joined = self._buffer[0] if len(self._buffer) == 1 else np.concatenate(self._buffer)
        head, rest = joined[:n], joined[n:]
        self._buffer = [rest] if len(rest) else []
        self._buffered = len(rest)
        self._write(events_to_table(head))

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = _open_writer(self.path, self.schema)
        self._writer.write_table(table, row_group_size=self.row_group_rows)

    def close(self) -> None:
        if self._buffered:
            self._flush(self._buffered)
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _split_chunks(events: EventArray, n: int) -> Iterator[EventArray]:
    for lo in range(0, len(events), n):
        yield events[lo : lo + n]


# ---------------------------------------------------------------------------------------------
# Reading helpers


def _range_filter(column: str, lo: int | None, hi: int | None) -> ds.Expression | None:
    expr: ds.Expression | None = None
    if lo is not None:
        expr = pc.field(column) >= pa.scalar(lo, pa.int64())
    if hi is not None:
        upper = pc.field(column) < pa.scalar(hi, pa.int64())
        expr = upper if expr is None else expr & upper
    return expr


def _event_filter(
    lo: int | None, hi: int | None, kinds: Iterable[int] | None
) -> ds.Expression | None:
    if lo is not None and hi is not None and hi < lo:
        raise InvalidArgumentError("end_ns", hi, f"a time >= start_ns ({lo})")
    expr = _range_filter("local_ns", lo, hi)
    if kinds is not None:
        allowed = {int(k) for k in EventKind}
        wanted = sorted({int(k) for k in kinds})
        bad = [k for k in wanted if k not in allowed]
        if bad:
            raise InvalidArgumentError("kinds", bad, f"EventKind values {sorted(allowed)}")
        kind_expr = pc.field("kind").isin(pa.array(wanted, pa.uint8()))
        expr = kind_expr if expr is None else expr & kind_expr
    return expr


def _check_events(events: object) -> None:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        desc = getattr(events, "dtype", type(events).__name__)
        raise InvalidArgumentError("events", desc, "a 1-D array of EVENT_DTYPE")
