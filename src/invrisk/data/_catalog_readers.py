"""Source files for :mod:`invrisk.data.catalog`.

Recognising a vendor file (:func:`detect_format`), hashing it (:func:`file_sha256`; both
re-exported by the public module) and the identity of streamed rows, and the adapters from
the reader modules (:mod:`invrisk.data.binance`, :mod:`invrisk.data.tardis`,
:mod:`invrisk.data.ohlcv`) to the catalog's venues, symbols and bar schema.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]

from invrisk.data._catalog_io import _EVENT_FIELDS, OHLCV_SCHEMA, _check_events
from invrisk.data._catalog_manifest import _NAME_RE
from invrisk.data.events import EventArray
from invrisk.errors import DataError

__all__ = ["ProgressCallback", "detect_format", "file_sha256"]

ProgressCallback: TypeAlias = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: stage ``"hash"`` (bytes), ``"read"``, ``"write"`` (rows)."""

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
