"""Deribit option chains from Tardis.dev ``options_chain`` CSV files, as snapshots at a time.

A Tardis ``options_chain`` file is a *stream*: one row per Deribit ``ticker`` message for every
option, all day long. :func:`load_tardis_options_snapshot` reads it once (``csv`` module, ``.gz``
decompressed on the fly, memory bounded by the number of instruments: only the latest row per
instrument is kept) and returns the chain as it stood at ``at_ns`` as an
:class:`~invrisk.data.chains.OptionChain` with the same normalised columns and units as
:func:`~invrisk.data.chains.load_deribit_chain`, plus counts of what was left out.
:func:`load_tardis_options_chain` returns only the chain.

Source format
-------------
Tardis.dev, "Downloadable CSV files", data type ``options_chain``
(https://docs.tardis.dev/downloadable-csv-files#options_chain): "tick-level options summary info
... collected from exchanges' real-time WebSocket options tickers data feeds", for Deribit
"sourced from ticker channel"; one file per exchange and day with symbol ``OPTIONS`` (e.g.
``https://datasets.tardis.dev/v1/deribit/options_chain/2020/03/01/OPTIONS.csv.gz``). Columns, in
the documented order::

    exchange, symbol, timestamp, local_timestamp, type, strike_price, expiration,
    open_interest, last_price, bid_price, bid_amount, bid_iv, ask_price, ask_amount, ask_iv,
    mark_price, mark_iv, underlying_index, underlying_price, delta, gamma, vega, theta, rho

The page's "CSV format details" give comma-separated values, ``.`` as decimal mark, and times
(``timestamp`` = the exchange's ticker time, ``local_timestamp`` = arrival time, ``expiration``)
as **microseconds** since the epoch, UTC. Bid/ask price, amount and IV are empty "if there
aren't any bids" (asks); Tardis' open-source normalisation of the same ticker feed
(tardis-node ``src/mappers/deribit.ts``, ``DeribitOptionSummaryMapper`` with ``asNumberIfValid``)
turns Deribit's ``0`` placeholders for those six fields into missing values, and passes the
other fields through unchanged. The page does not state units; they are Deribit's ticker values
passed through, verified on the page's preview rows (``BTC-9JUN20-9875-P`` at ``1591574399413000``:
``mark_price 0.02210436``, ``mark_iv 62.89``, ``underlying_price 9756.36``, ``delta -0.61752``,
``vega 2.24964``, ``theta -53.05655``): Black-76 on ``underlying_price`` with r = 0 and vol 0.6289
gives 0.022100 BTC, delta -0.61752, vega 2.24963 USD per vol point and theta -53.054 USD per day.
So:

=================================  ================================================================
Tardis column                      normalised column (unit)
=================================  ================================================================
``symbol``                         ``instrument``, ``currency`` (Deribit name, parsed)
``expiration`` (µs)                ``expiry_ns`` (checked against the name: 08:00 UTC)
``strike_price``, ``type``         ``strike`` (USD), ``right`` (checked against the name)
``timestamp`` (µs, exchange)       ``valuation_ns``; ``t_yr`` = ACT/365 from it to expiry
``bid_price``/``ask_price``/       ``bid_coin``/``ask_coin``/``mark_coin``: already in the coin
``mark_price`` (coin)
``bid_amount``/``ask_amount``      ``bid_qty``/``ask_qty`` (contracts; 1 contract = 1 coin)
``bid_iv``/``ask_iv``/``mark_iv``  ``bid_iv``/``ask_iv``/``mark_iv`` as decimals (percent / 100)
``underlying_price`` (USD)         ``forward_usd`` (the future or synthetic forward priced on)
``delta`` ... ``rho``              unchanged (Deribit's units, see :mod:`invrisk.data.chains`)
(none)                             ``index_usd`` is NaN: the file carries no index price
=================================  ================================================================

``local_timestamp``, ``open_interest``, ``last_price`` and ``underlying_index`` are not part of an
:class:`OptionChain` and are not read. The sentinels of :mod:`invrisk.data.chains` apply: a zero
bid/ask price means an empty side, a zero IV or a bid/ask IV at Deribit's 500 % cap is NaN.

Snapshot rules
--------------
- A row belongs to the snapshot's past if its exchange ``timestamp`` is ``<= at_ns``; later rows
  are read and validated but otherwise ignored. For each instrument the row with the greatest
  such timestamp is kept; among equal timestamps the one further down the file (which Tardis
  writes in arrival order) wins.
- **Expired** instruments (``expiry_ns <= at_ns``) are excluded.
- **Stale** instruments are excluded when ``max_staleness_ns`` is given: those whose latest row is
  older than ``at_ns - max_staleness_ns`` (a row exactly ``max_staleness_ns`` old is kept).
- **Linear** Deribit options (``BTC_USDC-...``, quoted and settled in USDC) are skipped: an
  :class:`OptionChain` has no settlement column and its prices are in the underlying coin.
- Rows are sorted by currency, expiry, strike, right (put before call) and name.

:class:`TardisOptionsSnapshot` reports how many instruments each rule removed, so that
``len(chain) + expired_instruments + stale_instruments`` is the number of (inverse, wanted
currency) instruments with at least one row at or before ``at_ns``.

Errors
------
Every data row is validated, whatever its time. A defect raises
:class:`~invrisk.errors.DataError` naming the file and the **1-based data row** (header not
counted, blank lines skipped), as in :mod:`invrisk.data.chains`: a missing required column, a
short or long row, an exchange other than ``deribit`` (Tardis also publishes ``options_chain``
for other venues, whose names and units are not verified here), a symbol that is not a Deribit
option name, a non-integer microsecond time, a ``type``, ``strike_price`` or ``expiration`` that
disagrees with the name, a non-numeric or infinite number, a negative price, size or IV.

Speed
-----
Day files run to gigabytes, so plain rows take a fast path (about 5 µs a row in all, of which
about 1 µs is the ``csv`` module); any row with something unusual goes through the reference
parser, which gives the error messages. Tests check that both give the same record.
"""

from __future__ import annotations

import csv
import math
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from invrisk.data.chains import (
    _IV_CAP_PCT,
    _NAN,
    OptionChain,
    _book_side,
    _iv_pct,
    _open_text,
    _Record,
    _Row,
)
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.instruments import Instrument
from invrisk.option_chain import _check_currency, _column_dtype
from invrisk.units import NS_PER_US, year_fraction

__all__ = [
    "TARDIS_OPTIONS_CHAIN_COLUMNS",
    "TardisOptionsSnapshot",
    "load_tardis_options_chain",
    "load_tardis_options_snapshot",
]

TARDIS_OPTIONS_CHAIN_COLUMNS: tuple[str, ...] = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "type",
    "strike_price",
    "expiration",
    "open_interest",
    "last_price",
    "bid_price",
    "bid_amount",
    "bid_iv",
    "ask_price",
    "ask_amount",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_index",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
)
"""The documented ``options_chain`` columns, in order
(https://docs.tardis.dev/downloadable-csv-files#options_chain)."""

_REQUIRED = tuple(
    c
    for c in TARDIS_OPTIONS_CHAIN_COLUMNS
    if c not in {"local_timestamp", "open_interest", "last_price", "underlying_index"}
)
"""The columns the reader uses; the other documented columns may be absent."""

_FORMAT = "tardis_options_chain"
"""The ``OptionChain.format`` of chains read here."""

_EXCHANGE = "deribit"
_INF = math.inf


@dataclass(frozen=True, slots=True, kw_only=True)
class TardisOptionsSnapshot:
    """The chain at ``at_ns`` read from a Tardis ``options_chain`` file, and what was left out.

    Attributes
    ----------
    chain
        The snapshot (one row per instrument; see the module docstring for the rules).
    at_ns
        The snapshot time (int ns UTC).
    max_staleness_ns
        The staleness limit used (ns), or ``None`` for none.
    rows_read
        Data rows read and validated (the whole file).
    rows_after
        Rows of inverse options of the wanted currency with an exchange ``timestamp`` after
        ``at_ns`` (validated, otherwise ignored).
    expired_instruments
        Instruments with a row at or before ``at_ns`` but ``expiry_ns <= at_ns`` (excluded).
    stale_instruments
        Unexpired instruments whose latest row at or before ``at_ns`` is older than
        ``at_ns - max_staleness_ns`` (excluded; always 0 without a limit).
    linear_instruments
        Distinct linear (USDC) option names of the wanted currency seen in the file (skipped).
    """

    chain: OptionChain
    at_ns: int
    max_staleness_ns: int | None
    rows_read: int
    rows_after: int
    expired_instruments: int
    stale_instruments: int
    linear_instruments: int


def _check_time(name: str, value: object, *, optional: bool, minimum: int | None = None) -> None:
    if value is None and optional:
        return
    allowed = "an int number of ns" + (f" >= {minimum}" if minimum is not None else "")
    if optional:
        allowed = "None or " + allowed
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgumentError(name, value, allowed)
    if minimum is not None and int(value) < minimum:
        raise InvalidArgumentError(name, value, allowed)


def _is_uint(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` alone admits digits that ``int`` rejects, e.g. ``²``)."""
    return text.isascii() and text.isdigit()


def _us_timestamp(row: _Row, column: str) -> int:
    """An integer microsecond epoch time (Tardis' time format) in ns."""
    text = row.text(column)
    if not _is_uint(text):
        raise row.error(f"column {column!r} is not an integer microsecond timestamp: {text!r}")
    return int(text) * NS_PER_US


def _parse_row(row: _Row, instruments: dict[str, Instrument]) -> tuple[Instrument, _Record]:
    """Validate the current row and normalise it (units in the module docstring).

    The reference implementation: every check goes through :class:`_Row`, whose errors name the
    file and the row. :func:`_parse_fast` must give the same record whenever it gives one.
    """
    exchange = row.text("exchange")
    if exchange != _EXCHANGE:
        raise row.error(
            f"exchange {exchange!r} is not supported: only {_EXCHANGE!r} options_chain rows are "
            "read (other venues' names and units are not verified)"
        )
    symbol = row.text("symbol")
    inst = instruments.get(symbol)
    if inst is None:
        inst = row.option("symbol")
        instruments[symbol] = inst
    assert inst.expiry_ns is not None and inst.strike is not None and inst.right is not None
    row.check(
        inst,
        expiry_ns=_us_timestamp(row, "expiration"),
        strike=row.required_number("strike_price"),
        right=row.right("type"),
    )
    valuation_ns = _us_timestamp(row, "timestamp")
    bid, bid_qty = _book_side(row, "bid_price", "bid_amount")
    ask, ask_qty = _book_side(row, "ask_price", "ask_amount")
    record = _Record(
        instrument=inst.name,
        currency=inst.base,
        expiry_ns=inst.expiry_ns,
        strike=inst.strike,
        right=int(inst.right),
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=row.price("mark_price"),
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        forward_usd=row.price("underlying_price"),
        index_usd=_NAN,
        valuation_ns=valuation_ns,
        mark_iv=_iv_pct(row, "mark_iv", quote_side=False),
        bid_iv=_iv_pct(row, "bid_iv", quote_side=True),
        ask_iv=_iv_pct(row, "ask_iv", quote_side=True),
        delta=row.number_or_nan("delta"),
        gamma=row.number_or_nan("gamma"),
        vega=row.number_or_nan("vega"),
        theta=row.number_or_nan("theta"),
        rho=row.number_or_nan("rho"),
    )
    return inst, record


# -- fast path ---------------------------------------------------------------------------------

_FAST_NUMBERS = (
    "bid_price",
    "bid_amount",
    "bid_iv",
    "ask_price",
    "ask_amount",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
)
_TYPES = {"call": 1, "put": -1}


class _Columns(NamedTuple):
    """Header positions of the columns :func:`_parse_fast` reads."""

    exchange: int
    symbol: int
    timestamp: int
    type: int
    strike_price: int
    expiration: int
    numbers: tuple[int, ...]

    @classmethod
    def of(cls, header: list[str]) -> _Columns:
        index = {name: i for i, name in enumerate(header)}
        return cls(
            exchange=index["exchange"],
            symbol=index["symbol"],
            timestamp=index["timestamp"],
            type=index["type"],
            strike_price=index["strike_price"],
            expiration=index["expiration"],
            numbers=tuple(index[name] for name in _FAST_NUMBERS),
        )


def _iv_fast(value: float, *, quote_side: bool) -> float:
    if value != value or value == 0.0 or (quote_side and value >= _IV_CAP_PCT):  # NaN, 0, cap
        return _NAN
    return value / 100.0


def _parse_fast(
    values: list[str], columns: _Columns, instruments: dict[str, Instrument]
) -> tuple[Instrument, _Record] | None:
    """:func:`_parse_row` for a row without anything unusual, or ``None`` to defer to it.

    It returns ``None`` (and lets the reference path decide, and raise if need be) as soon as a
    field is not in its plain form: an exchange other than Deribit, an uncached symbol, padded
    or non-integer times, a type, strike or expiry that disagrees with the name, a field that
    is not a float literal, an infinite value, a negative price, size or IV.
    """
    inst = instruments.get(values[columns.symbol])
    if inst is None or values[columns.exchange] != _EXCHANGE:
        return None
    expiration = values[columns.expiration]
    timestamp = values[columns.timestamp]
    if not (_is_uint(expiration) and _is_uint(timestamp)):
        return None
    if (
        int(expiration) * NS_PER_US != inst.expiry_ns
        or _TYPES.get(values[columns.type]) != inst.right
    ):
        return None
    try:
        if float(values[columns.strike_price]) != inst.strike:
            return None
        numbers = [float(v) if v else _NAN for v in map(values.__getitem__, columns.numbers)]
    except ValueError:
        return None
    if _INF in numbers or -_INF in numbers:
        return None
    bid, bid_qty, bid_iv, ask, ask_qty, ask_iv, mark, mark_iv, forward = numbers[:9]
    if (  # NaN compares False: only real negatives defer
        bid < 0.0
        or bid_qty < 0.0
        or bid_iv < 0.0
        or ask < 0.0
        or ask_qty < 0.0
        or ask_iv < 0.0
        or mark < 0.0
        or mark_iv < 0.0
        or forward < 0.0
    ):
        return None
    if bid != bid or bid == 0.0:
        bid = bid_qty = _NAN
    if ask != ask or ask == 0.0:
        ask = ask_qty = _NAN
    assert inst.expiry_ns is not None and inst.strike is not None and inst.right is not None
    record = _Record(
        instrument=inst.name,
        currency=inst.base,
        expiry_ns=inst.expiry_ns,
        strike=inst.strike,
        right=int(inst.right),
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=mark,
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        forward_usd=forward,
        index_usd=_NAN,
        valuation_ns=int(timestamp) * NS_PER_US,
        mark_iv=_iv_fast(mark_iv, quote_side=False),
        bid_iv=_iv_fast(bid_iv, quote_side=True),
        ask_iv=_iv_fast(ask_iv, quote_side=True),
        delta=numbers[9],
        gamma=numbers[10],
        vega=numbers[11],
        theta=numbers[12],
        rho=numbers[13],
    )
    return inst, record


class _Scan:
    """What one pass over the file collects: the latest record per instrument and counts."""

    def __init__(self) -> None:
        self.latest: dict[str, _Record] = {}
        self.linear: set[str] = set()
        self.rows_read = 0
        self.rows_after = 0


def _scan(path: Path, *, at_ns: int, wanted: str | None) -> _Scan:
    source = str(path)
    scan = _Scan()
    instruments: dict[str, Instrument] = {}
    row: _Row | None = None
    try:
        with _open_text(path) as handle:
            reader: Iterator[list[str]] = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise DataError("file is empty (no header)", path=source)
            header = [name.strip() for name in header]
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                raise DataError(
                    f"not a Tardis options_chain file: missing required column(s) {missing} "
                    f"(documented columns: {', '.join(TARDIS_OPTIONS_CHAIN_COLUMNS)})",
                    path=source,
                )
            row = _Row(source, header)
            columns = _Columns.of(header)
            latest = scan.latest
            for values in reader:
                if not values or (not values[0].strip() and all(not v.strip() for v in values)):
                    continue  # blank line: not a record
                row.number += 1
                if len(values) != len(header):
                    raise row.error(f"has {len(values)} fields, the header has {len(header)}")
                row.values = values
                parsed = _parse_fast(values, columns, instruments)
                inst, record = _parse_row(row, instruments) if parsed is None else parsed
                if wanted is not None and inst.base != wanted:
                    continue
                if inst.is_linear:
                    scan.linear.add(inst.name)
                    continue
                if record.valuation_ns > at_ns:
                    scan.rows_after += 1
                    continue
                kept = latest.get(record.instrument)
                if kept is None or record.valuation_ns >= kept.valuation_ns:
                    latest[record.instrument] = record
            scan.rows_read = row.number
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
        where = None if row is None else row.number + 1
        raise DataError(f"cannot read the file: {exc}", path=source, row=where) from exc
    return scan


def load_tardis_options_snapshot(
    path: str | os.PathLike[str],
    *,
    at_ns: int,
    currency: str | None = None,
    max_staleness_ns: int | None = None,
) -> TardisOptionsSnapshot:
    """The Deribit option chain at ``at_ns`` from a Tardis ``options_chain`` CSV, with counts.

    Parameters
    ----------
    path
        The file (``.csv`` or, read through gzip, ``.csv.gz``), in the documented Tardis layout
        (see the module docstring for the columns, units and snapshot rules).
    at_ns
        Snapshot time, int ns UTC: each instrument's latest row with exchange ``timestamp``
        ``<= at_ns`` is kept; instruments expiring at or before ``at_ns`` are excluded.
    currency
        Keep only options on this coin (``"BTC"``, ``"ETH"``); every row is still validated.
    max_staleness_ns
        If given (ns, >= 0), exclude instruments whose latest row is older than
        ``at_ns - max_staleness_ns``; ``None`` keeps them however old.

    Returns
    -------
    TardisOptionsSnapshot
        The chain (``format="tardis_options_chain"``, ``valuation_ns`` = each row's exchange
        timestamp) and the counts of rows and instruments left out.

    Raises
    ------
    DataError
        If the file cannot be read, lacks a required column or has a defective row; the message
        names the file and the 1-based data row (header not counted).
    InvalidArgumentError
        If ``at_ns``, ``currency`` or ``max_staleness_ns`` is malformed.
    """
    _check_time("at_ns", at_ns, optional=False)
    _check_time("max_staleness_ns", max_staleness_ns, optional=True, minimum=0)
    wanted = None if currency is None else _check_currency(currency)
    at = int(at_ns)
    staleness = None if max_staleness_ns is None else int(max_staleness_ns)
    file = Path(path)
    scan = _scan(file, at_ns=at, wanted=wanted)

    records: list[_Record] = []
    expired = stale = 0
    for record in scan.latest.values():
        if record.expiry_ns <= at:
            expired += 1
        elif staleness is not None and at - record.valuation_ns > staleness:
            stale += 1
        else:
            records.append(record)
    records.sort(key=lambda r: (r.currency, r.expiry_ns, r.strike, r.right, r.instrument))

    columns: dict[str, Any] = {}
    for name in _Record._fields:
        columns[name] = np.array([getattr(r, name) for r in records], dtype=_column_dtype(name))
    columns["t_yr"] = np.asarray(
        year_fraction(columns["valuation_ns"], columns["expiry_ns"]), dtype=np.float64
    )
    chain = OptionChain(**columns, source=str(file), format=_FORMAT)
    return TardisOptionsSnapshot(
        chain=chain,
        at_ns=at,
        max_staleness_ns=staleness,
        rows_read=scan.rows_read,
        rows_after=scan.rows_after,
        expired_instruments=expired,
        stale_instruments=stale,
        linear_instruments=len(scan.linear),
    )


def load_tardis_options_chain(
    path: str | os.PathLike[str],
    *,
    at_ns: int,
    currency: str | None = None,
    max_staleness_ns: int | None = None,
) -> OptionChain:
    """The Deribit option chain at ``at_ns`` from a Tardis ``options_chain`` CSV.

    The chain of :func:`load_tardis_options_snapshot` (same parameters, rules and errors),
    without the counts of what was left out.
    """
    return load_tardis_options_snapshot(
        path, at_ns=at_ns, currency=currency, max_staleness_ns=max_staleness_ns
    ).chain
