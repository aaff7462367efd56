"""OHLCV candle files (exchange klines, CryptoDataDownload exports, Kraken OHLCVT) as arrays.

:func:`read_ohlcv` reads one CSV file (``.gz`` decompressed, chosen by the suffix) of bars of one
symbol into an :class:`Ohlcv`: int64 ``open_ns`` (bar start, ns UTC), float64 ``open``, ``high``,
``low``, ``close``, ``volume`` (base asset), ``quote_volume`` and ``trade_count`` when the file has
them, in ascending time order, with a :class:`OhlcvReport` of what was found.

Layouts
-------
The layout is detected from the header (names compared case-insensitively):

=======================  ==================================================================
layout                   recognised by / source
=======================  ==================================================================
``cryptodatadownload``   ``unix, date, symbol, open, high, low, close, Volume <BASE>,
                         Volume <QUOTE>, tradecount`` — CryptoDataDownload's Binance exports;
                         an optional banner line before the header (``https://www.
                         CryptoDataDownload.com``) is skipped; ``unix`` in seconds (older rows,
                         floats such as ``1502946000.0``) or milliseconds (newer rows), told
                         apart per row; ``tradecount`` ``NULL`` is missing (NaN); newest first.
``kraken_ohlcvt``        no header; 6 or 7 numeric fields ``time (s), open, high, low, close,
                         volume[, count]`` — Kraken's downloadable OHLCVT history (only minutes
                         with trades are present).
``header``               any other header with an ``open, high, low, close`` and a time column:
                         ``unix_timestamp``, ``unix``, ``open_time_utc``, ``open_time``,
                         ``timestamp``, ``date`` or ``time`` (the first present), either an epoch
                         number (s, ms, µs or ns told apart by magnitude) or an ISO-8601 text
                         (``2023-03-01 00:00:00+00:00``, ``2017-08-17T04:00:00Z``; no offset =
                         UTC); base volume ``volume``/``volume_base``/``Volume <BASE>``, quote
                         volume ``volume_quote``/``quote_volume``/``Volume <QUOTE>``, trade count
                         ``trade_count``/``tradecount``/``trades``/``count``.
=======================  ==================================================================

When the file has a second time column (``date`` next to ``unix``, ``timestamp`` next to
``unix_timestamp``) the numeric one is used and the text one only checked: disagreements are
counted in the report (CryptoDataDownload's old rows use ``2017-08-17 05-AM``, read as 12-hour
clock). The symbol is the ``symbol`` column (a file with several symbols needs ``symbol=``),
else ``symbol=``, else the upper-case ticker in the file name (``BTCUSD_1d_candles_full.csv`` ->
``BTCUSD``), else ``None``.

Order, duplicates, gaps
-----------------------
- A file whose times never increase from row to row and decrease at least once (newest first,
  as CryptoDataDownload writes) is **reversed** into ascending order (``report.reversed``);
  equal neighbours are duplicates, kept in the reversed order. A file in any other order is kept
  in **file order** with a :class:`~invrisk.errors.DataWarning` naming the rows that go back in
  time: it is never sorted silently.
- Duplicated bar times are kept and counted (``report.duplicates`` and the first rows).
- ``interval_ns`` is the most common step between consecutive distinct bar times; a step longer
  than it is a gap (``report.gaps``, ``report.missing_bars``, first rows). Gaps are not filled.
- ``high >= max(open, close)``, ``low <= min(open, close)`` and ``high >= low`` are checked; a
  violation is a :class:`~invrisk.errors.DataWarning` with the rows (and is counted).

Rows are 1-based **data rows** of the file (header and banner not counted, blank lines
skipped); ``Ohlcv.file_row`` maps each bar back to its row. A defect raises
:class:`~invrisk.errors.DataError` naming the file and the row: a missing column, a short or long
row, an unparsable time or number, a missing or non-finite price, a price <= 0, a negative or
missing base volume.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np

from invrisk._typing import Float64Array, Int64Array
from invrisk.errors import DataError, DataWarning, InvalidArgumentError
from invrisk.units import NS_PER_SECOND, to_ns

__all__ = ["Ohlcv", "OhlcvReport", "read_ohlcv"]

_TIME_COLUMNS = (
    "unix_timestamp",
    "unix",
    "open_time_utc",
    "open_time",
    "timestamp",
    "date",
    "time",
)
_BASE_VOLUME = ("volume", "volume_base", "base_volume")
_QUOTE_VOLUME = ("volume_quote", "quote_volume", "quote_asset_volume")
_COUNT = ("trade_count", "tradecount", "trades", "count", "number_of_trades")
_MISSING = frozenset({"", "null", "nan", "none", "na"})
_KRAKEN = ("unix", "open", "high", "low", "close", "volume", "trade_count")
_LABELS = {60: "1m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 14400: "4h"}
_LABELS |= {86400: "1d", 604800: "1w"}
_SHOWN: Final = 5
"""How many rows a report field or a warning lists."""
_TICKER = re.compile(r"(?:^|[_\-.])([A-Z0-9]{2,10}(?:USDT|USDC|USD|BUSD|EUR|BTC|ETH))(?=[_\-.]|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class OhlcvReport:
    """What :func:`read_ohlcv` found in a file (rows are 1-based data rows of the file).

    Attributes
    ----------
    rows
        Data rows read (bars of the selected symbol).
    order
        ``"ascending"`` (never decreasing), ``"descending"`` (never increasing: reversed) or
        ``"unordered"`` (kept in file order, with a DataWarning).
    reversed
        Whether the bars were reversed into ascending order.
    disorder, disorder_rows
        Rows whose time is earlier than the previous row's (only in an unordered file).
    duplicates, duplicate_rows
        Bars whose time equals an earlier bar's (each extra copy counts once; first rows).
    gaps, missing_bars, gap_rows
        Steps longer than the interval between consecutive distinct times, the bars missing in
        them (step / interval - 1 each), and the rows of the first bars after a gap.
    ohlc_violations, ohlc_violation_rows
        Bars with ``high < max(open, close)``, ``low > min(open, close)`` or ``high < low``.
    time_mismatches, time_mismatch_rows
        Rows whose secondary time column (e.g. CryptoDataDownload's ``date``) disagrees with
        the time used (or does not parse).
    """

    rows: int
    order: str
    reversed: bool
    disorder: int = 0
    disorder_rows: tuple[int, ...] = ()
    duplicates: int = 0
    duplicate_rows: tuple[int, ...] = ()
    gaps: int = 0
    missing_bars: int = 0
    gap_rows: tuple[int, ...] = ()
    ohlc_violations: int = 0
    ohlc_violation_rows: tuple[int, ...] = ()
    time_mismatches: int = 0
    time_mismatch_rows: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Ohlcv:
    """Bars of one symbol: read-only, equal-length numpy columns in ascending time order.

    Attributes
    ----------
    open_ns
        Bar start time, int64 ns UTC.
    open, high, low, close
        Prices in the quote currency.
    volume
        Traded quantity in the base asset.
    quote_volume
        Traded value in the quote currency, or ``None`` if the file has none.
    trade_count
        Number of trades (float64, NaN where missing), or ``None`` if the file has none.
    file_row
        The 1-based data row of the file each bar comes from.
    symbol
        The symbol (see the module docstring), or ``None``.
    interval_ns, interval
        The inferred bar length in ns and as a label (``"1m"``, ``"1h"``, ``"1d"``, ``"1w"``,
        else ``"<seconds>s"``); ``0`` and ``"unknown"`` with fewer than two distinct times.
    layout, source
        The detected layout and the file read.
    report
        Order, duplicates, gaps and checks (:class:`OhlcvReport`).
    """

    open_ns: Int64Array
    open: Float64Array
    high: Float64Array
    low: Float64Array
    close: Float64Array
    volume: Float64Array
    quote_volume: Float64Array | None
    trade_count: Float64Array | None
    file_row: Int64Array
    symbol: str | None
    interval_ns: int
    interval: str
    layout: str
    source: str
    report: OhlcvReport = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("open_ns", "open", "high", "low", "close", "volume", "quote_volume"):
            _freeze(self, name)
        _freeze(self, "trade_count")
        _freeze(self, "file_row")

    def __len__(self) -> int:
        return len(self.open_ns)


def _freeze(obj: Ohlcv, name: str) -> None:
    value = getattr(obj, name)
    if value is not None:
        array = np.asarray(value).view()
        array.setflags(write=False)
        object.__setattr__(obj, name, array)


# -- reading the text --------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Table:
    """The file's rows as text columns, with the layout and the file row of each record."""

    def __init__(self, path: Path) -> None:
        self.source = str(path)
        try:
            with _open_text(path) as handle:
                records = [r for r in csv.reader(handle) if r and any(f.strip() for f in r)]
        except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
            raise DataError(f"cannot read the file: {exc}", path=self.source) from exc
        if not records:
            raise DataError("file is empty", path=self.source)
        first = records[0]
        if len(first) == 1 or "cryptodatadownload" in ",".join(first).lower():
            records = records[1:]  # CryptoDataDownload's banner line
            if not records:
                raise DataError("file has a banner line but no header", path=self.source)
            first = records[0]
        if all(_is_number(f) for f in first):
            if len(first) not in (6, 7):
                raise DataError(
                    f"headerless file with {len(first)} fields: expected Kraken OHLCVT "
                    "(time, open, high, low, close, volume[, count])",
                    path=self.source,
                )
            self.layout = "kraken_ohlcvt"
            self.header = list(_KRAKEN[: len(first)])
            body = records
        else:
            self.header = [name.strip().lstrip("\ufeff").lower() for name in first]
            names = set(self.header)
            cdd = {"unix", "date", "symbol"} <= names
            self.layout = "cryptodatadownload" if cdd else "header"
            body = records[1:]
        width = len(self.header)
        for i, values in enumerate(body):
            if len(values) != width:
                raise DataError(
                    f"has {len(values)} fields, the header has {width}", path=self.source, row=i + 1
                )
        self.columns = {name: [r[j].strip() for r in body] for j, name in enumerate(self.header)}
        self.file_row = np.arange(1, len(body) + 1, dtype=np.int64)

    def find(self, names: tuple[str, ...]) -> str | None:
        return next((n for n in names if n in self.columns), None)

    def select(self, mask: np.ndarray) -> None:
        keep = np.flatnonzero(mask)
        self.columns = {k: [v[i] for i in keep] for k, v in self.columns.items()}
        self.file_row = self.file_row[keep]


def _numbers(table: _Table, name: str, *, optional: bool) -> Float64Array:
    """A float column; missing values (empty, NULL, NaN) are NaN if ``optional`` else errors."""
    texts = table.columns[name]
    try:
        return np.array(texts, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(texts))
    for i, text in enumerate(texts):
        try:
            out[i] = float(text)
        except ValueError:
            if optional and text.lower() in _MISSING:
                out[i] = np.nan
                continue
            what = "missing" if text.lower() in _MISSING else f"not a number: {text!r}"
            raise DataError(
                f"column {name!r} is {what}", path=table.source, row=int(table.file_row[i])
            ) from None
    return out


def _epoch_to_ns(values: Float64Array) -> Int64Array:
    """Epoch numbers to ns, the unit told by magnitude (s < 1e11 <= ms < 1e14 <= µs < 1e17)."""
    scale = np.select(
        [values < 1e11, values < 1e14, values < 1e17],
        [NS_PER_SECOND, 1_000_000, 1_000],
        default=1,
    ).astype(np.int64)
    whole = np.floor(values)
    frac_ns = np.rint((values - whole) * scale).astype(np.int64)
    out: Int64Array = whole.astype(np.int64) * scale + frac_ns
    return out


def _text_time(text: str) -> int | None:
    """One text time to ns (ISO-8601, or CryptoDataDownload's ``2017-08-17 05-AM``), or None."""
    try:
        return to_ns(text)
    except InvalidArgumentError:
        pass
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %I-%p").replace(tzinfo=UTC)
    except ValueError:
        return None
    return to_ns(moment)


def _text_times(texts: list[str]) -> tuple[Int64Array, np.ndarray]:
    """Text times to ns and a "parsed" mask (a vectorised fast path for plain ISO text)."""
    stripped = [t[:-1] if t.endswith("Z") else t.removesuffix("+00:00") for t in texts]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            parsed = np.array(stripped, dtype="datetime64[ns]").astype(np.int64)
            return parsed, np.ones(len(texts), dtype=np.bool_)
        except (ValueError, UserWarning, DeprecationWarning):
            pass
    out = np.zeros(len(texts), dtype=np.int64)
    ok = np.zeros(len(texts), dtype=np.bool_)
    for i, text in enumerate(texts):
        value = _text_time(text)
        if value is not None:
            out[i], ok[i] = value, True
    return out, ok


def _times(table: _Table, name: str) -> Int64Array:
    texts = table.columns[name]
    if texts and all(_is_number(t) for t in texts[:1]):
        return _epoch_to_ns(_numbers(table, name, optional=False))
    values, ok = _text_times(texts)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise DataError(
            f"column {name!r} is not a time: {texts[i]!r}",
            path=table.source,
            row=int(table.file_row[i]),
        )
    return values


def _first_rows(mask: np.ndarray, file_row: Int64Array) -> tuple[int, ...]:
    """The first rows of the file (smallest row numbers) where ``mask`` holds."""
    return tuple(int(r) for r in np.sort(file_row[mask])[:_SHOWN])


def _symbol_from_name(path: Path) -> str | None:
    match = _TICKER.search(path.name.split(".")[0])
    return match.group(1) if match else None


# -- the public function -----------------------------------------------------------------------


def read_ohlcv(path: str | os.PathLike[str], *, symbol: str | None = None) -> Ohlcv:
    """Read an OHLCV candle CSV (layouts, order rules and checks in the module docstring).

    Parameters
    ----------
    path
        The file (``.csv`` or ``.csv.gz``).
    symbol
        The symbol to read from a file with a ``symbol`` column holding several (compared
        as written in the file, e.g. ``BTCUSDT`` or ``BTC/USDT``); for a file without one, the
        name to give the bars.

    Returns
    -------
    Ohlcv
        Ascending bars (reversed from a newest-first file) with the report.

    Raises
    ------
    DataError
        The file cannot be read, lacks a column, holds several symbols and ``symbol`` is
        ``None`` (or an absent one), or has a defective row (file and 1-based data row named).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> text = "open_time,open,high,low,close,volume\\n" + "".join(
    ...     f"2023-03-01 00:0{m}:00+00:00,10,12,9,11,1.5\\n" for m in (2, 1, 0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp) / "binanceus_BTCUSDT_1m.csv"
    ...     _ = file.write_text(text)
    ...     bars = read_ohlcv(file)
    >>> bars.symbol, bars.interval, bars.report.order, int(bars.open_ns[0])
    ('BTCUSDT', '1m', 'descending', 1677628800000000000)
    """
    file = Path(path)
    if not file.is_file():
        raise DataError("no such file", path=str(file))
    table = _Table(file)
    source = table.source
    missing = [c for c in ("open", "high", "low", "close") if c not in table.columns]
    time_name = table.find(_TIME_COLUMNS)
    if time_name is None:
        missing.append("a time column (" + ", ".join(_TIME_COLUMNS) + ")")
    name = _resolve_symbol(table, symbol, file)
    volumes = _volume_columns(table, name)
    if volumes[0] is None:
        missing.append("a base volume column (volume, volume_base or 'Volume <BASE>')")
    if missing or time_name is None or volumes[0] is None:
        raise DataError(
            f"not an OHLCV file: missing {', '.join(missing)} (header: {table.header})",
            path=source,
        )
    open_ns = _times(table, time_name)
    mismatches = _check_second_time(table, time_name, open_ns)
    prices = {c: _numbers(table, c, optional=False) for c in ("open", "high", "low", "close")}
    for column, values in prices.items():
        bad = ~np.isfinite(values) | (values <= 0.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"column {column!r} is {float(values[i])!r}: expected a finite price > 0",
                path=source,
                row=int(table.file_row[i]),
            )
    volume = _numbers(table, volumes[0], optional=False)
    bad = ~np.isfinite(volume) | (volume < 0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {volumes[0]!r} is {float(volume[i])!r}: expected a finite volume >= 0",
            path=source,
            row=int(table.file_row[i]),
        )
    quote = None if volumes[1] is None else _numbers(table, volumes[1], optional=True)
    count_name = table.find(_COUNT)
    count = None if count_name is None else _numbers(table, count_name, optional=True)

    # order: ascending kept, newest-first reversed, anything else kept and warned about
    file_row = table.file_row
    step = np.diff(open_ns)
    order = "ascending"
    disorder = np.zeros(len(open_ns), dtype=np.bool_)
    if (step < 0).any():
        if (step <= 0).all():
            order = "descending"
        else:
            order = "unordered"
            disorder[1:] = step < 0
    flip = slice(None, None, -1) if order == "descending" else slice(None)
    open_ns, file_row, volume = open_ns[flip], file_row[flip], volume[flip]
    prices = {c: v[flip] for c, v in prices.items()}
    quote = None if quote is None else quote[flip]
    count = None if count is None else count[flip]
    if order == "unordered":
        _warn(source, disorder, file_row, "the bar time goes back (bars kept in file order)")

    # duplicates and gaps, on the times sorted (stable) whatever the file order
    by_time = np.argsort(open_ns, kind="stable")
    sorted_ns = open_ns[by_time]
    same = np.zeros(len(open_ns), dtype=np.bool_)
    same[by_time[1:]] = np.diff(sorted_ns) == 0
    distinct = np.unique(sorted_ns)
    steps = np.diff(distinct)
    interval_ns = 0
    gap_after = np.zeros(0, dtype=np.bool_)
    if len(steps):
        values, counts = np.unique(steps, return_counts=True)
        interval_ns = int(values[np.argmax(counts)])
        gap_after = steps > interval_ns
    gap_times = distinct[1:][gap_after]
    gap_rows = np.isin(open_ns, gap_times) & ~same
    missing_bars = int((steps[gap_after] // interval_ns - 1).sum()) if gap_after.any() else 0

    high, low, op, cl = prices["high"], prices["low"], prices["open"], prices["close"]
    violation = (high < np.maximum(op, cl)) | (low > np.minimum(op, cl)) | (high < low)
    if violation.any():
        _warn(source, violation, file_row, "high < max(open, close), low > min(open, close) or "
              "high < low")  # fmt: skip
    report = OhlcvReport(
        rows=len(open_ns),
        order=order,
        reversed=order == "descending",
        disorder=int(disorder.sum()),
        disorder_rows=_first_rows(disorder, table.file_row),
        duplicates=int(same.sum()),
        duplicate_rows=_first_rows(same, file_row),
        gaps=int(gap_after.sum()),
        missing_bars=missing_bars,
        gap_rows=_first_rows(gap_rows, file_row),
        ohlc_violations=int(violation.sum()),
        ohlc_violation_rows=_first_rows(violation, file_row),
        time_mismatches=int(mismatches.sum()),
        time_mismatch_rows=_first_rows(mismatches, table.file_row),
    )
    seconds, rem = divmod(interval_ns, NS_PER_SECOND)
    label = "unknown" if interval_ns == 0 else _LABELS.get(seconds, f"{interval_ns / 1e9:g}s")
    if rem:
        label = f"{interval_ns / 1e9:g}s"
    return Ohlcv(
        open_ns=open_ns,
        open=op,
        high=high,
        low=low,
        close=cl,
        volume=volume,
        quote_volume=quote,
        trade_count=count,
        file_row=file_row,
        symbol=name,
        interval_ns=interval_ns,
        interval=label,
        layout=table.layout,
        source=source,
        report=report,
    )


def _resolve_symbol(table: _Table, symbol: str | None, file: Path) -> str | None:
    if symbol is not None and (not isinstance(symbol, str) or not symbol):
        raise InvalidArgumentError("symbol", symbol, "None or a non-empty symbol name")
    if "symbol" not in table.columns:
        return symbol if symbol is not None else _symbol_from_name(file)
    column = table.columns["symbol"]
    found = sorted(set(column))
    if symbol is None:
        if len(found) > 1:
            raise DataError(
                f"file holds several symbols {found}: pass symbol= to pick one", path=table.source
            )
        return found[0] if found else None
    if symbol not in found:
        raise DataError(f"symbol {symbol!r} is not in the file (it has {found})", path=table.source)
    if len(found) > 1:
        table.select(np.array([s == symbol for s in column], dtype=np.bool_))
    return symbol


def _volume_columns(table: _Table, symbol: str | None) -> tuple[str | None, str | None]:
    """(base, quote) volume columns: by name, or CryptoDataDownload's ``volume <asset>`` pair."""
    base = table.find(_BASE_VOLUME)
    quote = table.find(_QUOTE_VOLUME)
    named = [n for n in table.header if n.startswith("volume ")]
    if base is None and named:
        asset = (symbol or "").lower().split("/")[0]
        base = next((n for n in named if n == f"volume {asset}"), named[0] if asset else None)
        others = [n for n in named if n != base]
        if quote is None and base is not None and len(others) == 1:
            quote = others[0]
    return base, quote


def _check_second_time(table: _Table, used: str, open_ns: Int64Array) -> np.ndarray:
    """Rows whose other time column (``date``, ``timestamp``) disagrees with ``used``."""
    other = next((n for n in _TIME_COLUMNS if n in table.columns and n != used), None)
    if other is None or used not in ("unix", "unix_timestamp"):
        return np.zeros(len(open_ns), dtype=np.bool_)
    values, ok = _text_times(table.columns[other])
    mismatch: np.ndarray = ~ok | (values != open_ns)
    return mismatch


def _warn(source: str, mask: np.ndarray, file_row: Int64Array, what: str) -> None:
    rows = _first_rows(mask, file_row)
    warnings.warn(
        f"{source}, row {rows[0]}: {what} at {int(mask.sum())} row(s) "
        f"(first: {', '.join(map(str, rows))})",
        DataWarning,
        stacklevel=3,
    )
