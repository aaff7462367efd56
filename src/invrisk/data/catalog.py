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
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.dataset as ds  # type: ignore[import-untyped, unused-ignore]
import pyarrow.fs as pafs  # type: ignore[import-untyped, unused-ignore]

from invrisk.data._catalog_io import (
    EVENT_SCHEMA,
    OHLCV_SCHEMA,
    ROW_GROUP_ROWS,
    _check_events,
    _commit_parts,
    _event_filter,
    _PartWriter,
    _range_filter,
    _route_chunk,
    _split_chunks,
    events_from_table,
    events_to_table,
    read_events_parquet,
    write_events_parquet,
)
from invrisk.data._catalog_manifest import (
    MANIFEST_NAME,
    MANIFEST_VERSION,
    CatalogEntry,
    DataType,
    ImportResult,
    PartFile,
    SourceFormat,
    _check_name,
    _find_source,
    _lock,
    _record_source,
    _result_from_record,
    _symbol_table,
)
from invrisk.data._catalog_merge import _iter_days, _rechunk
from invrisk.data._catalog_readers import (
    _BINANCE_VENUES,
    ProgressCallback,
    _guess_ohlcv_venue,
    _hashing,
    _market_name,
    _ohlcv_table,
    _RowsHasher,
    _sub_id,
    _tardis_name_exchange,
    detect_format,
    file_sha256,
)
from invrisk.data.events import EventArray, empty_events
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.units import to_ns

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

DEFAULT_CHUNK_ROWS = 1 << 20
"""Most rows per chunk yielded by :meth:`Catalog.iter_events`."""


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
        with _lock(self.root):
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
                    _route_chunk(
                        chunk, _symbol_table(symbols_of()), writers, staging, self.row_group_rows
                    )
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
                parts = _commit_parts(self.root, writers, venue=venue, source_id=source_id)
                return _record_source(
                    self.root,
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
        with _lock(self.root):
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
                parts = _commit_parts(
                    self.root, writers, venue=venue, source_id=source_id, data_type=data_type
                )
                return _record_source(
                    self.root,
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
        return _rechunk(_iter_days(self.root, parts_by_date, expr, chunk_rows, dedup), chunk_rows)

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
