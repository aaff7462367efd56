"""The manifest side of :mod:`invrisk.data.catalog`.

The record types of sources and part files (:class:`PartFile`, :class:`ImportResult`,
:class:`CatalogEntry`, with the :data:`DataType` and :data:`SourceFormat` aliases, all
re-exported by the public module), the manifest file (atomic rewrite, import lock), source
records and their overlaps, and the naming rules of partitions and part files.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np

from invrisk.errors import InvalidArgumentError
from invrisk.units import ns_to_iso

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "CatalogEntry",
    "DataType",
    "ImportResult",
    "PartFile",
    "SourceFormat",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1

DataType: TypeAlias = str
"""``"events"`` or ``"ohlcv-<interval>"`` (e.g. ``"ohlcv-1h"``)."""
SourceFormat: TypeAlias = Literal["binance", "tardis", "ohlcv", "array", "synthetic"]

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
# The manifest file


def _save_manifest(root: Path, manifest: dict[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{MANIFEST_NAME}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / MANIFEST_NAME)
    finally:
        tmp.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the rename durable where directories fsync
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    """Exclusive lock on the catalog for the duration of an import (POSIX flock)."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: single writer assumed
        yield
        return
    with open(root / ".lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _record_source(
    root: Path,
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
    _save_manifest(root, manifest)
    return _result_from_record(record, "imported")


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
