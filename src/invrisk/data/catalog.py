"""A catalog of normalised market data: Parquet files by venue / symbol / type / date.

Layout
------
::

    <root>/manifest.json
    <root>/venue=binance-futures/symbol=BTCUSDT/type=events/date=2024-08-08/part-<hash16>.parquet
    <root>/venue=binance/symbol=BTCUSDT/type=ohlcv-1h/date=2021-06-10/part-<hash16>.parquet

* ``type=events`` files hold :data:`~invrisk.data.events.EVENT_DTYPE` rows, one Parquet column
  per field with the same name and type (:data:`EVENT_SCHEMA`; timestamps stay int64 ns, they
  are not converted to Arrow timestamps). ``instrument`` is 0: a partition holds one symbol.
* ``type=ohlcv-<interval>`` files hold bars of one interval (``ohlcv-1m``, ``ohlcv-1h``,
  ``ohlcv-1d``...; :data:`OHLCV_SCHEMA`: ``open_ns`` int64 ns UTC, prices in quote currency,
  volumes in base and quote units), so hourly and daily bars of a symbol never mix.
* ``date`` is the UTC calendar date of ``local_ns`` for events (as Tardis.dev splits its daily
  files by local timestamp); bars are stored one part per UTC month, under the month's first
  day (``date=2021-06-01`` holds June 2021).
* ``<hash16>`` is the first 16 hex digits of the source's sha256: each imported source writes
  its own part files and never touches another source's.

The directory names are Hive partitions, so other tools read the catalog as it is (DuckDB:
``read_parquet('<root>/**/*.parquet', hive_partitioning = true)``; pyarrow: ``ds.dataset(root,
partitioning="hive")``). Inside invrisk, :meth:`Catalog.events` and :meth:`Catalog.iter_events`
read through ``pyarrow.dataset`` with the time and kind filters pushed down to the row groups.

Manifest and idempotency
------------------------
``manifest.json`` (rewritten atomically: temporary file, fsync, ``os.replace``) lists every
imported source: path, size, sha256, format, row count, time range and the part files it
wrote. It is the catalog's table of contents: queries read the parts it lists, so a part file
left behind by an interrupted import is ignored and overwritten by the next import.

* **Same source twice**: a source is identified by the sha256 of its bytes (a file) or of its
  columns, venue and symbol (an array). Importing it again writes nothing and returns
  ``status="already_imported"``.
* **Overlapping sources** (e.g. two recordings of the same hour, or a day file and a file that
  covers part of it) are both kept, each in its own parts; the import reports the overlap. Queries
  remove the duplicates: rows of different sources that are equal in *every* field are kept once
  (as a multiset: a record that occurs twice in one source and once in another is kept twice).
  Rows that differ in any field (a different receive time, a different id) are all kept, merged
  in ``local_ns`` order, ties in the order of the sources' hashes (independent of import order).

Order
-----
Within a source, rows keep the order the reader produced (the replay order; a few rows may
have a ``local_ns`` slightly earlier than their predecessor, as in Tardis files where the first
updates after a snapshot were buffered before it). Sources are merged on the running maximum of
``local_ns``, which is ``local_ns`` itself for a sorted source and never reorders the rows of one
source. Days are read in date order. For sorted sources the result is sorted by ``local_ns``.

Time ranges are half-open, ``start_ns <= local_ns < end_ns``, in int64 ns UTC.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.dataset as ds  # type: ignore[import-untyped, unused-ignore]
import pyarrow.fs as pafs  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]

from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind, empty_events
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.units import NS_PER_DAY, ns_to_iso, to_ns

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "EVENT_SCHEMA",
    "MANIFEST_NAME",
    "OHLCV_SCHEMA",
    "ROW_GROUP_ROWS",
    "Catalog",
    "CatalogEntry",
    "DataType",
    "ImportResult",
    "PartFile",
    "ProgressCallback",
    "SourceFormat",
    "detect_format",
    "events_from_table",
    "events_to_table",
    "file_sha256",
    "read_events_parquet",
    "write_events_parquet",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
ROW_GROUP_ROWS = 1 << 20
"""Rows per Parquet row group (about 10 MB on disk, 50 MB decoded): the unit of streaming."""
DEFAULT_CHUNK_ROWS = 1 << 20
"""Most rows per chunk yielded by :meth:`Catalog.iter_events`."""

DataType: TypeAlias = str
"""``"events"`` or ``"ohlcv-<interval>"`` (e.g. ``"ohlcv-1h"``)."""
SourceFormat: TypeAlias = Literal["binance", "tardis", "ohlcv", "array", "synthetic"]
ProgressCallback: TypeAlias = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: stage ``"hash"`` (bytes), ``"read"``, ``"write"`` (rows)."""

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

_MERGE_BATCH_ROWS = 1 << 18
_PACKED_DTYPE = np.dtype([(name, EVENT_DTYPE[name]) for name in _EVENT_FIELDS])
_RECORD_DTYPE = np.dtype((np.void, _PACKED_DTYPE.itemsize))
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ---------------------------------------------------------------------------------------------
# Result objects


@dataclass(frozen=True)
class PartFile:
    """One Parquet part written by one source into one partition."""

    venue: str
    symbol: str
    data_type: DataType
    date: str
    """UTC date ``YYYY-MM-DD`` of the rows' ``local_ns`` (events); first day of the UTC month
    of their ``open_ns`` (bars)."""
    file: str
    """Path relative to the catalog root (``/`` separated)."""
    rows: int
    bytes: int
    start_ns: int
    """Smallest time in the part (``local_ns`` or ``open_ns``), int64 ns UTC."""
    end_ns: int
    """Largest time in the part (inclusive), int64 ns UTC."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "type": self.data_type,
            "date": self.date,
            "file": self.file,
            "rows": self.rows,
            "bytes": self.bytes,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PartFile:
        return cls(
            venue=str(d["venue"]),
            symbol=str(d["symbol"]),
            data_type=d["type"],
            date=str(d["date"]),
            file=str(d["file"]),
            rows=int(d["rows"]),
            bytes=int(d["bytes"]),
            start_ns=int(d["start_ns"]),
            end_ns=int(d["end_ns"]),
        )


@dataclass(frozen=True)
class ImportResult:
    """What one import did (or found already done)."""

    source_id: str
    """sha256 (hex) of the source file's bytes, or of an array's columns, venue and symbol."""
    status: Literal["imported", "already_imported"]
    name: str
    format: str
    data_type: DataType
    venue: str
    symbols: tuple[str, ...]
    rows: int
    start_ns: int | None
    end_ns: int | None
    """Last time in the source (inclusive), int64 ns UTC; None for an empty source."""
    parts: tuple[PartFile, ...]
    overlaps: tuple[str, ...]
    """Ids of earlier sources with rows in the same partitions and time span (queries
    de-duplicate identical records between them)."""

    @property
    def imported(self) -> bool:
        return self.status == "imported"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "status": self.status,
            "name": self.name,
            "format": self.format,
            "type": self.data_type,
            "venue": self.venue,
            "symbols": list(self.symbols),
            "rows": self.rows,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "start": None if self.start_ns is None else ns_to_iso(self.start_ns),
            "end": None if self.end_ns is None else ns_to_iso(self.end_ns),
            "parts": [p.as_dict() for p in self.parts],
            "overlaps": list(self.overlaps),
        }


@dataclass(frozen=True)
class CatalogEntry:
    """Summary of one (venue, symbol, type) in the catalog (:meth:`Catalog.ls`)."""

    venue: str
    symbol: str
    data_type: DataType
    dates: tuple[str, ...]
    rows: int
    """Rows stored (before de-duplication of overlapping sources)."""
    bytes: int
    sources: int
    start_ns: int
    end_ns: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "type": self.data_type,
            "first_date": self.dates[0],
            "last_date": self.dates[-1],
            "days": len(self.dates),
            "dates": list(self.dates),
            "rows": self.rows,
            "bytes": self.bytes,
            "sources": self.sources,
            "start": ns_to_iso(self.start_ns),
            "end": ns_to_iso(self.end_ns),
        }


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
# Source files


def file_sha256(path: str | os.PathLike[str], *, progress: ProgressCallback | None = None) -> str:
    """sha256 (hex) of a file, read in 8 MiB blocks."""
    h = hashlib.sha256()
    total = os.path.getsize(path)
    done = 0
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            h.update(block)
            done += len(block)
            if progress is not None:
                progress("hash", done, total)
    return h.hexdigest()


_BINANCE_LINE = re.compile(rb"^\d{10,20} [\[{]")
_TARDIS_HEADER = b"exchange,symbol,timestamp,local_timestamp"


def detect_format(path: str | os.PathLike[str]) -> Literal["binance", "tardis", "ohlcv"]:
    """Recognise a market-data file by its first lines.

    * ``binance``: a raw Binance stream recording, ``<local_ns> <exchange JSON>`` per line
      (plain or gzip), as hftbacktest's collector writes.
    * ``tardis``: a Tardis.dev CSV (plain or gzip) whose header starts
      ``exchange,symbol,timestamp,local_timestamp``.
    * ``ohlcv``: a CSV of bars whose header names open, high, low and close columns (plain
      or gzip).
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
        if magic[:2] == b"\x1f\x8b":
            with gzip.open(p, "rb") as g:
                head = g.read(65536)
        elif magic == b"PK\x03\x04":
            raise DataError(
                "a zip archive: extract it first (a Binance archive zip holds one CSV)",
                path=str(p),
            )
        else:
            with open(p, "rb") as f:
                head = f.read(65536)
    except FileNotFoundError as exc:
        raise DataError("no such file", path=str(p)) from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read: {exc}", path=str(p)) from exc
    lines = [ln.strip() for ln in head.splitlines()[:3]]
    first = lines[0] if lines else b""
    if _BINANCE_LINE.match(first):
        return "binance"
    if first.lower().startswith(_TARDIS_HEADER):
        return "tardis"
    for line in lines[:2]:
        cols = {c.strip().strip('"').lower() for c in line.decode("utf-8", "replace").split(",")}
        if {"open", "high", "low", "close"} <= cols:
            return "ohlcv"
    raise DataError(
        "unrecognised format: expected a Binance raw stream ('<local_ns> {json}' lines), a "
        "Tardis.dev CSV (header 'exchange,symbol,timestamp,local_timestamp,...') or an OHLCV "
        f"CSV (open/high/low/close columns); first line: {first[:120]!r}",
        path=str(p),
    )


# ---------------------------------------------------------------------------------------------
# The catalog


class Catalog:
    """Parquet catalog of market events and bars (see the module docstring for the layout).

    Parameters
    ----------
    root
        Catalog directory; created on the first import. The constructor does no I/O.
    row_group_rows
        Rows per Parquet row group when writing.

    Examples
    --------
    >>> import tempfile
    >>> from invrisk.data.events import events_from_columns
    >>> cat = Catalog(tempfile.mkdtemp())
    >>> ev = events_from_columns(exch_ns=[1, 2], local_ns=[10, 20], kind=4, side=1,
    ...                          price=[100.0, 100.5], qty=0.1)
    >>> cat.import_events(ev, venue="test", symbol="X").status
    'imported'
    >>> cat.import_events(ev, venue="test", symbol="X").status
    'already_imported'
    >>> bool(np.array_equal(cat.events("test", "X"), ev))
    True
    """

    def __init__(self, root: str | os.PathLike[str], *, row_group_rows: int = ROW_GROUP_ROWS):
        if row_group_rows < 1:
            raise InvalidArgumentError("row_group_rows", row_group_rows, "an integer >= 1")
        self.root = Path(root)
        self.row_group_rows = int(row_group_rows)

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    # -- manifest ------------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    def manifest(self) -> dict[str, Any]:
        """The manifest as a dict (``{"version": 1, "sources": [...]}``); empty if none yet."""
        path = self.manifest_path
        if not path.exists():
            return {"version": MANIFEST_VERSION, "sources": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(f"unreadable catalog manifest: {exc}", path=str(path)) from exc
        if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
            raise DataError("catalog manifest has no 'sources' list", path=str(path))
        if data.get("version") != MANIFEST_VERSION:
            raise DataError(
                f"catalog manifest version {data.get('version')!r}, expected {MANIFEST_VERSION}",
                path=str(path),
            )
        return data

    def sources(self) -> list[dict[str, Any]]:
        """The manifest's source records (path, size, sha256, rows, time range, parts)."""
        return list(self.manifest()["sources"])

    def _save_manifest(self, manifest: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{MANIFEST_NAME}.{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.manifest_path)
        finally:
            tmp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # make the rename durable where directories fsync
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Exclusive lock on the catalog for the duration of an import (POSIX flock)."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: single writer assumed
            yield
            return
        with open(self.root / ".lock", "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    # -- import ----------------------------------------------------------------------------------

    def import_events(
        self,
        events: EventArray,
        *,
        venue: str,
        symbol: str | Sequence[str],
        source_id: str | None = None,
        name: str | None = None,
        fmt: SourceFormat = "array",
        source: dict[str, Any] | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import one EVENT_DTYPE array as one source.

        Parameters
        ----------
        events
            Rows in replay order (see the module docstring on order).
        venue, symbol
            Partition names (letters, digits, ``.``, ``_``, ``-``). ``symbol`` may be a list: the
            symbol table that ``instrument`` indexes; rows are stored with ``instrument = 0``
            under their own symbol.
        source_id
            Identity for idempotency; default: sha256 of the columns, venue and symbol.
        name, fmt, source
            Recorded in the manifest (file name, format, extra fields such as path and size).
        """
        _check_events(events)
        symbols = _symbol_table(symbol)
        if source_id is None:
            hasher = _RowsHasher(venue, symbols)
            hasher.update(events)
            source_id = hasher.hexdigest()
        return self._import_chunks(
            _split_chunks(events, self.row_group_rows),
            venue_of=lambda: venue,
            symbols_of=lambda: symbols,
            source_id=source_id,
            name=name or f"array:{source_id[:16]}",
            fmt=fmt,
            source=source or {},
            total_rows=len(events),
            progress=progress,
        )

    def import_chunks(
        self,
        chunks: Iterable[EventArray],
        *,
        venue: str,
        symbol: str | Sequence[str],
        source_id: str | None = None,
        name: str | None = None,
        fmt: SourceFormat = "array",
        source: dict[str, Any] | None = None,
        total_rows: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import a stream of EVENT_DTYPE chunks as one source, in bounded memory.

        Without ``source_id`` the id is the sha256 of the chunks' columns, known only at the end:
        the rows are written to a staging area first and discarded if the id is already in the
        catalog. Each chunk may span several days; parts are appended in chunk order.
        """
        symbols = _symbol_table(symbol)
        _check_name("venue", venue)
        hasher: _RowsHasher | None = None
        if source_id is None:  # the id is the hash of the rows, known at the end
            hasher = _RowsHasher(venue, symbols)
            chunks = _hashing(chunks, hasher)
        return self._import_chunks(
            chunks,
            venue_of=lambda: venue,
            symbols_of=lambda: symbols,
            source_id=source_id,
            hasher=hasher,
            name=name,
            fmt=fmt,
            source=source or {},
            total_rows=total_rows,
            progress=progress,
        )

    def import_file(
        self,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        fmt: Literal["auto", "binance", "tardis", "ohlcv"] = "auto",
        venue: str | None = None,
        symbol: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportResult:
        """Import one vendor file, auto-detecting its format (:func:`detect_format`).

        The source id is the sha256 of the file's bytes: a file already imported is not read
        again. ``venue`` defaults to the reader's (Tardis exchange id; ``binance`` /
        ``binance-futures`` / ``binance-delivery`` for Binance spot, USD-M and COIN-M streams;
        bars: the vendor prefix of the file name). ``symbol``: for event files, read only that
        symbol (a source of its own, id ``sha256(file sha256, symbol)``); for bars, the name
        to store them under (default: the file's, with ``/`` removed: ``BTC/USDT`` ->
        ``BTCUSDT``). Tardis files are streamed in chunks (bounded memory). Readers:
        :mod:`invrisk.data.binance`, :mod:`invrisk.data.tardis`, :mod:`invrisk.data.ohlcv`.

        A list of paths is one Binance recording split into consecutive files (e.g. at
        midnight): the reader carries the book state across them, so a file without its own
        snapshot keeps its depth updates (read alone, it would lose them). Its id is the sha256
        of the files' sha256s in order.
        """
        paths = [Path(path)] if isinstance(path, str | os.PathLike) else [Path(p) for p in path]
        if not paths:
            raise InvalidArgumentError("path", path, "a file or a non-empty list of files")
        for p in paths:
            if not p.is_file():
                raise DataError("no such file", path=str(p))
        kinds = {detect_format(p) if fmt == "auto" else fmt for p in paths}
        kind = kinds.pop()
        if kinds or kind not in ("binance", "tardis", "ohlcv"):
            raise InvalidArgumentError("fmt", fmt, "auto, binance, tardis or ohlcv (one format)")
        if len(paths) > 1 and kind != "binance":
            raise InvalidArgumentError(
                "path", [str(p) for p in paths], "several files only for one Binance recording"
            )
        shas = [file_sha256(p, progress=progress) for p in paths]
        p = paths[0]
        if len(paths) == 1:
            sha = shas[0]
            source: dict[str, Any] = {
                "path": str(p.resolve()),
                "size_bytes": p.stat().st_size,
                "sha256": sha,
            }
        else:
            sha = hashlib.sha256("\n".join(shas).encode()).hexdigest()
            source = {
                "path": [str(q.resolve()) for q in paths],
                "size_bytes": sum(q.stat().st_size for q in paths),
                "sha256": shas,
            }
        # Reading one symbol out of a (multi-symbol) event file is a source of its own.
        source_id = sha if kind == "ohlcv" or symbol is None else _sub_id(sha, symbol)
        existing = _find_source(self.manifest(), source_id)
        if existing is not None:
            return _result_from_record(existing, "already_imported")
        if progress is not None:
            progress("read", 0, None)
        if kind == "ohlcv":
            from invrisk.data.ohlcv import read_ohlcv

            bars = read_ohlcv(p)
            bar_venue = venue or _guess_ohlcv_venue(p)
            bar_symbol = symbol or re.sub(r"[^A-Za-z0-9._-]", "", bars.symbol or "")
            if not bar_symbol:
                raise InvalidArgumentError(
                    "symbol", None, f"a symbol for {p.name} (the file does not name one)"
                )
            return self.import_ohlcv(
                _ohlcv_table(bars, path=p),
                venue=bar_venue,
                symbol=bar_symbol,
                interval=bars.interval,
                source_id=source_id,
                name=p.name,
                source=source,
            )
        if kind == "tardis":
            from invrisk.data.tardis import iter_tardis

            with iter_tardis(p, symbol=symbol) as stream:
                return self._import_chunks(
                    stream,
                    venue_of=lambda: venue or stream.exchange or _tardis_name_exchange(p),
                    symbols_of=lambda: stream.symbols,
                    source_id=source_id,
                    name=p.name,
                    fmt="tardis",
                    source={**source, "dataset": stream.dataset},
                    total_rows=None,
                    progress=progress,
                )
        from invrisk.data.binance import read_binance_stream

        stream_b = read_binance_stream(paths if len(paths) > 1 else p, symbol=symbol)
        market = _market_name(getattr(stream_b, "market", ""))
        file_venue = _BINANCE_VENUES.get(market, f"binance-{market}" if market else "binance")
        tick = getattr(stream_b, "tick_size", None)
        source.update(market=market, tick_size=None if tick is None else float(tick))
        return self.import_events(
            stream_b.events,
            venue=venue or file_venue,
            symbol=str(stream_b.symbol),
            source_id=source_id,
            name=" + ".join(q.name for q in paths),
            fmt="binance",
            source=source,
            progress=progress,
        )

    def _import_chunks(
        self,
        chunks: Iterable[EventArray],
        *,
        venue_of: Callable[[], str | None],
        symbols_of: Callable[[], Sequence[str]],
        source_id: str | None,
        name: str | None,
        fmt: str,
        source: dict[str, Any],
        total_rows: int | None,
        progress: ProgressCallback | None,
        hasher: _RowsHasher | None = None,
    ) -> ImportResult:
        """Write chunks to staging, then move the parts in place and record the source.

        ``venue_of`` and ``symbols_of`` are read after each chunk: a streaming reader learns
        its exchange and symbol table as it goes. Either ``source_id`` or ``hasher`` (whose
        digest becomes the id at the end) is given.
        """
        if source_id is None and hasher is None:
            raise InvalidArgumentError("source_id", None, "a source id or a hasher")
        with self._lock():
            manifest = self.manifest()
            if source_id is not None:
                existing = _find_source(manifest, source_id)
                if existing is not None:
                    return _result_from_record(existing, "already_imported")
            staging = self.root / ".staging" / secrets.token_hex(8)
            staging.mkdir(parents=True)
            try:
                writers: dict[tuple[str, str], _PartWriter] = {}
                rows = 0
                for chunk in chunks:
                    _check_events(chunk)
                    self._route_chunk(chunk, _symbol_table(symbols_of()), writers, staging)
                    rows += len(chunk)
                    if progress is not None:
                        progress("write", rows, total_rows)
                for w in writers.values():
                    w.close()
                if hasher is not None:
                    source_id = hasher.hexdigest()
                    existing = _find_source(manifest, source_id)
                    if existing is not None:
                        return _result_from_record(existing, "already_imported")
                assert source_id is not None
                venue = venue_of() or "unknown"
                _check_name("venue", venue)
                parts = self._commit_parts(writers, venue=venue, source_id=source_id)
                return self._record_source(
                    manifest,
                    source_id=source_id,
                    name=name or f"stream:{source_id[:16]}",
                    fmt=fmt,
                    data_type="events",
                    venue=venue,
                    symbols=tuple(symbols_of()),
                    rows=rows,
                    parts=parts,
                    source=source,
                )
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                with contextlib.suppress(OSError):
                    staging.parent.rmdir()

    def _route_chunk(
        self,
        chunk: EventArray,
        symbols: tuple[str, ...],
        writers: dict[tuple[str, str], _PartWriter],
        staging: Path,
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
                        staging / f"{len(writers):06d}.parquet", EVENT_SCHEMA, self.row_group_rows
                    )
                    writers[key] = writer
                writer.append_events(piece)

    def _commit_parts(
        self,
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
            dest = self.root / rel
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

    def _record_source(
        self,
        manifest: dict[str, Any],
        *,
        source_id: str,
        name: str,
        fmt: str,
        data_type: DataType,
        venue: str,
        symbols: tuple[str, ...],
        rows: int,
        parts: list[PartFile],
        source: dict[str, Any],
    ) -> ImportResult:
        overlaps = _overlapping_sources(manifest, parts)
        start = min((p.start_ns for p in parts), default=None)
        end = max((p.end_ns for p in parts), default=None)
        record: dict[str, Any] = {
            "id": source_id,
            "name": name,
            "format": fmt,
            "type": data_type,
            "venue": venue,
            "symbols": list(symbols),
            "path": source.get("path"),
            "size_bytes": source.get("size_bytes"),
            "sha256": source.get("sha256"),
            "rows": rows,
            "start_ns": start,
            "end_ns": end,
            "start": None if start is None else ns_to_iso(start),
            "end": None if end is None else ns_to_iso(end),
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "overlaps": overlaps,
            "parts": [p.as_dict() for p in parts],
        }
        for key, value in source.items():
            record.setdefault(key, value)
        manifest["sources"].append(record)
        self._save_manifest(manifest)
        return _result_from_record(record, "imported")

    def import_ohlcv(
        self,
        table: pa.Table,
        *,
        venue: str,
        symbol: str,
        interval: str,
        source_id: str | None = None,
        name: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> ImportResult:
        """Import bars of one ``interval`` (``1m``, ``1h``, ``1d``...; an Arrow table with
        :data:`OHLCV_SCHEMA`) as one source, under ``type=ohlcv-<interval>``."""
        _check_name("venue", venue)
        _check_name("symbol", symbol)
        _check_name("interval", interval)
        data_type = f"ohlcv-{interval}"
        try:
            table = table.select(OHLCV_SCHEMA.names).cast(OHLCV_SCHEMA)
        except (KeyError, pa.ArrowException) as exc:
            raise InvalidArgumentError(
                "table", table.schema.names, f"columns {OHLCV_SCHEMA.names}"
            ) from exc
        open_ns = table.column("open_ns").to_numpy()
        if source_id is None:
            h = hashlib.sha256(f"{data_type}\0{venue}\0{symbol}\0".encode())
            for column in table.columns:
                h.update(np.ascontiguousarray(column.to_numpy()).tobytes())
            source_id = h.hexdigest()
        with self._lock():
            manifest = self.manifest()
            existing = _find_source(manifest, source_id)
            if existing is not None:
                return _result_from_record(existing, "already_imported")
            staging = self.root / ".staging" / secrets.token_hex(8)
            staging.mkdir(parents=True)
            try:
                writers: dict[tuple[str, str], _PartWriter] = {}
                months = open_ns.astype("datetime64[ns]").astype("datetime64[M]")
                for month in np.unique(months):
                    mask = months == month
                    w = _PartWriter(
                        staging / f"{len(writers):06d}.parquet", OHLCV_SCHEMA, self.row_group_rows
                    )
                    w.append_table(table.filter(pa.array(mask)), open_ns[mask])
                    w.close()
                    writers[(symbol, f"{month}-01")] = w
                parts = self._commit_parts(
                    writers, venue=venue, source_id=source_id, data_type=data_type
                )
                return self._record_source(
                    manifest,
                    source_id=source_id,
                    name=name or f"ohlcv:{source_id[:16]}",
                    fmt="ohlcv",
                    data_type=data_type,
                    venue=venue,
                    symbols=(symbol,),
                    rows=table.num_rows,
                    parts=parts,
                    source=source or {},
                )
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                with contextlib.suppress(OSError):
                    staging.parent.rmdir()

    # -- queries ---------------------------------------------------------------------------------

    def ls(self) -> tuple[CatalogEntry, ...]:
        """One summary per (venue, symbol, type): dates, rows and bytes stored, sources."""
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for record in self.manifest()["sources"]:
            for part in record["parts"]:
                key = (part["venue"], part["symbol"], part["type"])
                g = groups.setdefault(
                    key,
                    {"dates": set(), "rows": 0, "bytes": 0, "sources": set(), "lo": [], "hi": []},
                )
                g["dates"].add(part["date"])
                g["rows"] += int(part["rows"])
                g["bytes"] += int(part["bytes"])
                g["sources"].add(record["id"])
                g["lo"].append(int(part["start_ns"]))
                g["hi"].append(int(part["end_ns"]))
        return tuple(
            CatalogEntry(
                venue=venue,
                symbol=symbol,
                data_type=data_type,
                dates=tuple(sorted(g["dates"])),
                rows=g["rows"],
                bytes=g["bytes"],
                sources=len(g["sources"]),
                start_ns=min(g["lo"]),
                end_ns=max(g["hi"]),
            )
            for (venue, symbol, data_type), g in sorted(groups.items())
        )

    def _parts(
        self,
        venue: str,
        symbol: str,
        data_type: DataType,
        start_ns: int | None,
        end_ns: int | None,
    ) -> dict[str, list[PartFile]]:
        """Parts overlapping ``[start_ns, end_ns)``, by date, each date's parts by file name."""
        every = [
            PartFile.from_dict(p)
            for record in self.manifest()["sources"]
            for p in record["parts"]
            if p["venue"] == venue and p["symbol"] == symbol and p["type"] == data_type
        ]
        if not every:
            have = sorted({f"{e.venue}/{e.symbol}" for e in self.ls() if e.data_type == data_type})
            raise DataError(
                f"no {data_type} for venue={venue!r} symbol={symbol!r} in the catalog "
                f"(it has: {', '.join(have) or 'nothing'})",
                path=str(self.root),
            )
        by_date: dict[str, list[PartFile]] = {}
        for p in every:
            if start_ns is not None and p.end_ns < start_ns:
                continue
            if end_ns is not None and p.start_ns >= end_ns:
                continue
            by_date.setdefault(p.date, []).append(p)
        return {d: sorted(ps, key=lambda p: p.file) for d, ps in sorted(by_date.items())}

    def iter_events(
        self,
        venue: str,
        symbol: str,
        start_ns: int | str | datetime | date | None = None,
        end_ns: int | str | datetime | date | None = None,
        *,
        kinds: Iterable[int] | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        dedup: bool = True,
    ) -> Iterator[EventArray]:
        """Stream events of one venue and symbol in replay order, ``chunk_rows`` at a time.

        Parameters
        ----------
        venue, symbol
            As imported.
        start_ns, end_ns
            Half-open range ``start_ns <= local_ns < end_ns`` (int ns UTC, or an ISO string,
            aware datetime or date); None = unbounded.
        kinds
            Keep only these :class:`~invrisk.data.events.EventKind` values.
        chunk_rows
            Most rows per yielded chunk (chunks follow the Parquet row groups, so most have
            exactly ``min(chunk_rows, ROW_GROUP_ROWS)``; some, at day ends, fewer).
        dedup
            Drop records repeated between overlapping sources (see the module docstring).

        Memory is bounded by a few row groups per part of the day being read, whatever the
        range. The filters are pushed down to Parquet row groups (statistics on ``local_ns``).
        """
        if chunk_rows < 1:
            raise InvalidArgumentError("chunk_rows", chunk_rows, "an integer >= 1")
        lo = None if start_ns is None else to_ns(start_ns)
        hi = None if end_ns is None else to_ns(end_ns)
        expr = _event_filter(lo, hi, kinds)
        parts_by_date = self._parts(venue, symbol, "events", lo, hi)
        return _rechunk(self._iter_days(parts_by_date, expr, chunk_rows, dedup), chunk_rows)

    def _iter_days(
        self,
        parts_by_date: dict[str, list[PartFile]],
        expr: ds.Expression | None,
        chunk_rows: int,
        dedup: bool,
    ) -> Iterator[EventArray]:
        for parts in parts_by_date.values():
            # merging works on smaller batches: its temporaries scale with the batch
            batch = chunk_rows if len(parts) == 1 else min(chunk_rows, _MERGE_BATCH_ROWS)
            streams = [self._scan_part(p, expr, batch) for p in parts]
            if len(streams) == 1:
                yield from streams[0]
            else:
                yield from _merge_streams(streams, dedup=dedup)

    def _scan_part(
        self, part: PartFile, expr: ds.Expression | None, chunk_rows: int
    ) -> Iterator[EventArray]:
        path = self.root / part.file
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

    def events(
        self,
        venue: str,
        symbol: str,
        start_ns: int | str | datetime | date | None = None,
        end_ns: int | str | datetime | date | None = None,
        *,
        kinds: Iterable[int] | None = None,
        dedup: bool = True,
    ) -> EventArray:
        """All events of one venue and symbol in ``[start_ns, end_ns)`` as one array.

        Same rows and order as concatenating :meth:`iter_events`; use that for ranges that do
        not fit in memory (64 bytes per event).
        """
        chunks = list(self.iter_events(venue, symbol, start_ns, end_ns, kinds=kinds, dedup=dedup))
        if not chunks:
            return empty_events(0)
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def ohlcv(
        self,
        venue: str,
        symbol: str,
        start_ns: int | str | datetime | date | None = None,
        end_ns: int | str | datetime | date | None = None,
        *,
        interval: str | None = None,
    ) -> pa.Table:
        """Bars with ``start_ns <= open_ns < end_ns`` (:data:`OHLCV_SCHEMA`), sorted by open
        time; bars with the same open time from overlapping sources are kept once (the first
        source by hash). ``interval`` may be omitted when the symbol has bars of one interval."""
        lo = None if start_ns is None else to_ns(start_ns)
        hi = None if end_ns is None else to_ns(end_ns)
        if interval is None:
            types = sorted(
                e.data_type
                for e in self.ls()
                if e.venue == venue and e.symbol == symbol and e.data_type.startswith("ohlcv-")
            )
            if len(types) > 1:
                raise InvalidArgumentError(
                    "interval", None, "one of " + ", ".join(t[6:] for t in types)
                )
            data_type = types[0] if types else "ohlcv"
        else:
            data_type = f"ohlcv-{interval}"
        parts = [p for ps in self._parts(venue, symbol, data_type, lo, hi).values() for p in ps]
        expr = _range_filter("open_ns", lo, hi)
        paths = [str(self.root / p.file) for p in parts]
        if not paths:
            return OHLCV_SCHEMA.empty_table()
        try:
            dataset = ds.FileSystemDataset.from_paths(
                paths,
                schema=OHLCV_SCHEMA,
                format=ds.ParquetFileFormat(),
                filesystem=pafs.LocalFileSystem(),
            )
            table = dataset.to_table(filter=expr)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot read catalog bars: {exc}", path=str(self.root)) from exc
        open_ns = table.column("open_ns").to_numpy()
        order = np.argsort(open_ns, kind="stable")
        first = np.ones(len(order), dtype=bool)
        first[1:] = open_ns[order][1:] != open_ns[order][:-1]
        return table.take(pa.array(order[first]))


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


# ---------------------------------------------------------------------------------------------
# Manifest helpers


def _find_source(manifest: dict[str, Any], source_id: str) -> dict[str, Any] | None:
    for record in manifest["sources"]:
        if record["id"] == source_id:
            return dict(record)
    return None


def _result_from_record(
    record: dict[str, Any], status: Literal["imported", "already_imported"]
) -> ImportResult:
    return ImportResult(
        source_id=record["id"],
        status=status,
        name=str(record.get("name") or record["id"][:16]),
        format=str(record.get("format")),
        data_type=record.get("type", "events"),
        venue=str(record["venue"]),
        symbols=tuple(record.get("symbols", ())),
        rows=int(record["rows"]),
        start_ns=record.get("start_ns"),
        end_ns=record.get("end_ns"),
        parts=tuple(PartFile.from_dict(p) for p in record.get("parts", ())),
        overlaps=tuple(record.get("overlaps", ())),
    )


def _overlapping_sources(manifest: dict[str, Any], parts: list[PartFile]) -> list[str]:
    out: list[str] = []
    for record in manifest["sources"]:
        for old in record["parts"]:
            if any(
                old["venue"] == p.venue
                and old["symbol"] == p.symbol
                and old["type"] == p.data_type
                and old["date"] == p.date
                and int(old["start_ns"]) <= p.end_ns
                and p.start_ns <= int(old["end_ns"])
                for p in parts
            ):
                out.append(record["id"])
                break
    return out


def _part_rel(venue: str, symbol: str, data_type: str, day: str, source_id: str) -> str:
    return (
        f"venue={venue}/symbol={symbol}/type={data_type}/date={day}/part-{source_id[:16]}.parquet"
    )


def _day_str(day: int) -> str:
    return str(np.datetime64(day, "D"))


def _check_name(argument: str, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidArgumentError(
            argument, value, "a name of letters, digits, '.', '_' and '-' (e.g. BTCUSDT)"
        )


def _symbol_table(symbol: str | Sequence[str]) -> tuple[str, ...]:
    symbols = (symbol,) if isinstance(symbol, str) else tuple(symbol)
    if not symbols:
        raise InvalidArgumentError("symbol", symbol, "a symbol or a non-empty list of symbols")
    for s in symbols:
        _check_name("symbol", s)
    return symbols


def _check_events(events: object) -> None:
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        desc = getattr(events, "dtype", type(events).__name__)
        raise InvalidArgumentError("events", desc, "a 1-D array of EVENT_DTYPE")


# ---------------------------------------------------------------------------------------------
# Reader adapters (the readers live in their own modules, imported when needed)

_BINANCE_VENUES = {
    "spot": "binance",
    "usdm": "binance-futures",
    "um": "binance-futures",
    "futures": "binance-futures",
    "coinm": "binance-delivery",
    "cm": "binance-delivery",
    "delivery": "binance-delivery",
}


def _market_name(market: object) -> str:
    """A reader's market (a string or an enum) as a lower-case name."""
    value = getattr(market, "value", market)
    if not isinstance(value, str):
        value = getattr(market, "name", str(value))
    return str(value).lower()


def _sub_id(sha: str, symbol: str) -> str:
    return hashlib.sha256(f"{sha}\0symbol={symbol}".encode()).hexdigest()


class _RowsHasher:
    """sha256 identity of event rows, independent of how they are cut into chunks.

    One sha256 per field over the field's bytes, then a sha256 of venue, symbols and the
    field digests: an array and the same rows streamed in any chunks get the same id.
    """

    def __init__(self, venue: str, symbols: Sequence[str]) -> None:
        self._head = f"events\0{venue}\0{chr(0).join(symbols)}\0".encode()
        self._fields = [hashlib.sha256() for _ in _EVENT_FIELDS]

    def update(self, events: EventArray) -> None:
        for h, field in zip(self._fields, _EVENT_FIELDS, strict=True):
            h.update(np.ascontiguousarray(events[field]).tobytes())

    def hexdigest(self) -> str:
        final = hashlib.sha256(self._head)
        for h in self._fields:
            final.update(h.digest())
        return final.hexdigest()


def _hashing(chunks: Iterable[EventArray], hasher: _RowsHasher) -> Iterator[EventArray]:
    for chunk in chunks:
        _check_events(chunk)
        hasher.update(chunk)
        yield chunk


def _tardis_name_exchange(path: Path) -> str | None:
    """The exchange from a Tardis file name ``{exchange}_{data_type}_{date}_{symbol}.csv.gz``."""
    head = path.name.split("_", 1)[0]
    return head if _NAME_RE.match(head) and head != path.name else None


def _guess_ohlcv_venue(path: Path) -> str:
    name = path.name.lower()
    for venue in ("binanceus", "binance", "kraken", "coinbase", "bitstamp", "deribit"):
        if name.startswith(venue):
            return venue
    return "unknown"


def _ohlcv_table(bars: Any, *, path: Path) -> pa.Table:
    """An Ohlcv result object (columns as attributes) as an :data:`OHLCV_SCHEMA` table."""

    def column(*names: str) -> Any:
        for n in names:
            value = getattr(bars, n, None)
            if value is not None:
                return np.asarray(value)
        return None

    open_ns = column("open_ns", "t_ns", "time_ns", "ts_ns")
    if open_ns is None:
        raise DataError("OHLCV reader returned no bar open times (open_ns)", path=str(path))
    n = len(open_ns)

    def num(*names: str, fill: float = np.nan) -> npt.NDArray[np.float64]:
        value = column(*names)
        return np.full(n, fill) if value is None else value.astype(np.float64)

    trades = column("trades", "trade_count", "n_trades")
    return pa.Table.from_arrays(
        [
            pa.array(open_ns.astype(np.int64)),
            pa.array(num("open")),
            pa.array(num("high")),
            pa.array(num("low")),
            pa.array(num("close")),
            pa.array(num("volume_base", "volume", "volume_qty")),
            pa.array(num("volume_quote", "quote_volume", "volume_usd")),
            pa.array(
                np.full(n, -1, dtype=np.int64)
                if trades is None
                else np.nan_to_num(trades.astype(np.float64), nan=-1).astype(np.int64)
            ),
        ],
        schema=OHLCV_SCHEMA,
    )
