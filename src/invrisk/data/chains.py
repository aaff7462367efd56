"""Deribit option chains from CSV files, normalised into one column table (:class:`OptionChain`).

:func:`load_deribit_chain` reads any of the five Deribit chain layouts below (detected from the
header; ``.gz`` files are decompressed) and returns the same normalised table for all of them.

=====================  ==========================================================================
format                 layout (source endpoint)
=====================  ==========================================================================
``order_book_nested``  ``public/get_order_book`` per instrument; ``greeks`` and ``stats`` are
                       Python-literal dict strings; per-row ms ``timestamp``; IVs in percent.
``order_book_flat``    the same endpoint flattened (``greeks.delta``, ``stats.volume`` ...);
                       strike/expiry/type only in the instrument name.
``ticker_untimed``     ``public/ticker`` + ``public/get_instruments``; **no valuation time** in
                       the file, so ``valuation_ns`` must be passed.
``snapshot_collector`` book summary + ticker collector: ISO ``timestamp`` (run start),
                       ``implied_volatility`` already decimal, delta and vega only, BTC and ETH
                       mixed; a missing bid/ask is an empty field.
``book_summary``       ``public/get_book_summary_by_currency``: ms ``creation_timestamp``,
                       prices only (no IVs, no Greeks).
=====================  ==========================================================================

Normalised columns and units
----------------------------
``instrument`` Deribit name; ``currency`` underlying coin (``BTC``/``ETH``); ``expiry_ns`` (08:00
UTC); ``strike`` (USD); ``right`` (int8, +1 call / -1 put); ``bid_coin``, ``ask_coin``,
``mark_coin`` option prices in the settlement coin; ``bid_qty``, ``ask_qty`` best-level sizes in
contracts (1 contract = 1 coin); ``forward_usd`` Deribit's ``underlying_price`` (the future or
synthetic forward it prices the option on); ``index_usd`` Deribit's index; ``valuation_ns`` per
row; ``t_yr`` ACT/365 from valuation to expiry; ``mark_iv``, ``bid_iv``, ``ask_iv`` as annualised
decimals; ``delta``, ``gamma``, ``vega``, ``theta``, ``rho`` exactly as Deribit reports them:
Black-76 on ``forward_usd`` with r = 0, in USD — delta not premium-adjusted, gamma per USD, vega
USD per 1 vol point, theta USD per calendar day, rho USD per 1 percentage point of rate in the
Black-Scholes form ``-K T N(-d2) / 100`` for a put. Absent values are NaN.

Sentinels (mapped to NaN)
-------------------------
- ``best_bid_price == 0`` / ``best_ask_price == 0`` (order-book formats): that side of the book is
  empty; price and size become NaN. An empty field means the same in the other formats.
- ``bid_iv == 0`` / ``ask_iv == 0``: Deribit could not compute an IV for that side (no quote, or a
  bid below the model's intrinsic value — the bid price is kept).
- ``bid_iv >= 500`` / ``ask_iv >= 500``: Deribit's 500 % cap; the true IV is unknown (>= 5.0), so
  the IV is NaN while the quote price is kept.

Errors
------
A defect raises :class:`~invrisk.errors.DataError` naming the file and the **1-based data row**
(the header is not counted; row 1 is the first record, whatever the line breaks inside quoted
fields): a missing required column, a short or long row, a non-numeric number, an unknown option
type, an unparsable timestamp, a negative price or IV, an instrument name that does not parse or
that disagrees with the file's own expiry, strike, type or currency columns.
"""

from __future__ import annotations

import ast
import csv
import gzip
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, NamedTuple, TextIO, TypeAlias

import numpy as np

from invrisk.errors import DataError, InstrumentNameError, InvalidArgumentError
from invrisk.instruments import Instrument, OptionRight, parse_deribit
from invrisk.option_chain import (
    OptionChain,
    _check_currency,
    _column_dtype,
)
from invrisk.units import ms_to_ns, to_ns, vol_from_pct, year_fraction

__all__ = ["CHAIN_FORMATS", "ChainFormat", "OptionChain", "load_deribit_chain"]

ChainFormat: TypeAlias = Literal[
    "order_book_nested", "order_book_flat", "ticker_untimed", "snapshot_collector", "book_summary"
]

_IV_CAP_PCT = 500.0
"""Deribit caps bid/ask IVs at 500 %."""


# -- loading -----------------------------------------------------------------------------------


class _Record(NamedTuple):
    """One normalised row (every column but ``t_yr``, which is computed for the whole file)."""

    instrument: str
    currency: str
    expiry_ns: int
    strike: float
    right: int
    bid_coin: float
    ask_coin: float
    mark_coin: float
    bid_qty: float
    ask_qty: float
    forward_usd: float
    index_usd: float
    valuation_ns: int
    mark_iv: float
    bid_iv: float
    ask_iv: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float


_NAN = math.nan
_MISSING = frozenset({"", "nan", "NaN", "None", "null"})


class _Row:
    """The current data row of a file, with typed accessors whose errors name file and row."""

    __slots__ = ("index", "number", "path", "values")

    def __init__(self, path: str, header: list[str]) -> None:
        self.path = path
        self.index = {name: i for i, name in enumerate(header)}
        self.number = 0
        self.values: list[str] = []

    def error(self, message: str) -> DataError:
        return DataError(message, path=self.path, row=self.number)

    def text(self, column: str) -> str:
        return self.values[self.index[column]].strip()

    def number_or_nan(self, column: str) -> float:
        text = self.text(column)
        if text in _MISSING:
            return _NAN
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"column {column!r} is not a number: {text!r}") from None
        if math.isinf(value):
            raise self.error(f"column {column!r} is infinite: {text!r}")
        return value

    def required_number(self, column: str) -> float:
        value = self.number_or_nan(column)
        if math.isnan(value):
            raise self.error(f"column {column!r} is empty")
        return value

    def price(self, column: str) -> float:
        """A price (NaN if empty); negative prices are a defect."""
        value = self.number_or_nan(column)
        if value < 0.0:
            raise self.error(f"column {column!r} has a negative price {value!r}")
        return value

    def ms_timestamp(self, column: str) -> int:
        text = self.text(column)
        try:
            ms: int | float = int(text) if text.isdigit() else float(text)
            if isinstance(ms, float) and not math.isfinite(ms):
                raise ValueError(text)
            return int(ms_to_ns(ms))
        except (ValueError, InvalidArgumentError):
            raise self.error(
                f"column {column!r} is not a millisecond timestamp: {text!r}"
            ) from None

    def iso_timestamp(self, column: str) -> int:
        text = self.text(column)
        try:
            return to_ns(text)
        except InvalidArgumentError:
            raise self.error(f"column {column!r} is not an ISO-8601 time: {text!r}") from None

    def literal_dict(self, column: str) -> dict[str, Any]:
        """A Python-literal dict string (``{'delta': -0.43, ...}``), parsed safely."""
        text = self.text(column)
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if not isinstance(value, dict):
            raise self.error(f"column {column!r} is not a Python dict literal: {text[:60]!r}")
        return value

    def dict_number(self, column: str, mapping: dict[str, Any], key: str) -> float:
        value = mapping.get(key)
        if value is None:
            return _NAN
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"{column}[{key!r}] is not a number: {value!r}")
        return float(value)

    def right(self, column: str) -> int:
        text = self.text(column).lower()
        if text in ("call", "c"):
            return int(OptionRight.CALL)
        if text in ("put", "p"):
            return int(OptionRight.PUT)
        raise self.error(f"column {column!r} has an unknown option type {self.text(column)!r}")

    def option(self, column: str = "instrument_name") -> Instrument:
        name = self.text(column)
        try:
            inst = parse_deribit(name)
        except InstrumentNameError as exc:
            raise self.error(f"instrument name does not parse: {exc}") from exc
        if not inst.is_option:
            raise self.error(f"instrument {name!r} is a {inst.kind}, not an option")
        return inst

    def check(
        self,
        inst: Instrument,
        *,
        expiry_ns: int | None = None,
        strike: float | None = None,
        right: int | None = None,
        currency: str | None = None,
    ) -> None:
        """Cross-check the file's own columns against what the instrument name says."""
        if expiry_ns is not None and expiry_ns != inst.expiry_ns:
            raise self.error(
                f"expiry column ({expiry_ns} ns) disagrees with instrument {inst.name!r} "
                f"({inst.expiry_ns} ns, 08:00 UTC)"
            )
        if strike is not None and strike != inst.strike:
            raise self.error(f"strike column ({strike!r}) disagrees with instrument {inst.name!r}")
        if right is not None and right != inst.right:
            raise self.error(f"option type column disagrees with instrument {inst.name!r}")
        if currency is not None and currency.upper() != inst.base:
            raise self.error(
                f"currency column ({currency!r}) disagrees with instrument {inst.name!r}"
            )


def _book_side(row: _Row, price_column: str, qty_column: str | None) -> tuple[float, float]:
    """Best price and size of one side; a zero or empty price means the side is empty."""
    price = row.price(price_column)
    if math.isnan(price) or price == 0.0:
        return _NAN, _NAN
    if qty_column is None:
        return price, _NAN
    qty = row.number_or_nan(qty_column)
    if qty < 0.0:
        raise row.error(f"column {qty_column!r} has a negative size {qty!r}")
    return price, qty


def _iv_pct(row: _Row, column: str, *, quote_side: bool) -> float:
    """An IV in percent as a decimal; 0 and (for bid/ask) the 500 % cap become NaN."""
    value = row.number_or_nan(column)
    if value < 0.0:
        raise row.error(f"column {column!r} has a negative IV {value!r}")
    if math.isnan(value) or value == 0.0 or (quote_side and value >= _IV_CAP_PCT):
        return _NAN
    return float(vol_from_pct(value))


def _parse_order_book_nested(row: _Row, valuation_ns: int | None) -> _Record:
    inst = row.option()
    expiry_ns = row.ms_timestamp("expiration_timestamp")
    strike = row.required_number("strike")
    right = row.right("option_type")
    row.check(inst, expiry_ns=expiry_ns, strike=strike, right=right)
    greeks = row.literal_dict("greeks")
    bid, bid_qty = _book_side(row, "best_bid_price", "best_bid_amount")
    ask, ask_qty = _book_side(row, "best_ask_price", "best_ask_amount")
    return _Record(
        instrument=inst.name,
        currency=inst.base,
        expiry_ns=expiry_ns,
        strike=strike,
        right=right,
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=row.price("mark_price"),
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        forward_usd=row.price("underlying_price"),
        index_usd=row.price("index_price"),
        valuation_ns=row.ms_timestamp("timestamp"),
        mark_iv=_iv_pct(row, "mark_iv", quote_side=False),
        bid_iv=_iv_pct(row, "bid_iv", quote_side=True),
        ask_iv=_iv_pct(row, "ask_iv", quote_side=True),
        delta=row.dict_number("greeks", greeks, "delta"),
        gamma=row.dict_number("greeks", greeks, "gamma"),
        vega=row.dict_number("greeks", greeks, "vega"),
        theta=row.dict_number("greeks", greeks, "theta"),
        rho=row.dict_number("greeks", greeks, "rho"),
    )


def _parse_order_book_flat(row: _Row, valuation_ns: int | None) -> _Record:
    inst = row.option()
    assert inst.expiry_ns is not None and inst.strike is not None and inst.right is not None
    bid, bid_qty = _book_side(row, "best_bid_price", "best_bid_amount")
    ask, ask_qty = _book_side(row, "best_ask_price", "best_ask_amount")
    return _Record(
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
        index_usd=row.price("index_price"),
        valuation_ns=row.ms_timestamp("timestamp"),
        mark_iv=_iv_pct(row, "mark_iv", quote_side=False),
        bid_iv=_iv_pct(row, "bid_iv", quote_side=True),
        ask_iv=_iv_pct(row, "ask_iv", quote_side=True),
        delta=row.number_or_nan("greeks.delta"),
        gamma=row.number_or_nan("greeks.gamma"),
        vega=row.number_or_nan("greeks.vega"),
        theta=row.number_or_nan("greeks.theta"),
        rho=row.number_or_nan("greeks.rho"),
    )


def _parse_ticker_untimed(row: _Row, valuation_ns: int | None) -> _Record:
    assert valuation_ns is not None
    inst = row.option()
    expiry_ns = row.ms_timestamp("expiration_timestamp")
    strike = row.required_number("strike")
    right = row.right("type")
    row.check(inst, expiry_ns=expiry_ns, strike=strike, right=right, currency=row.text("currency"))
    bid, bid_qty = _book_side(row, "best_bid_price", None)
    ask, ask_qty = _book_side(row, "best_ask_price", None)
    return _Record(
        instrument=inst.name,
        currency=inst.base,
        expiry_ns=expiry_ns,
        strike=strike,
        right=right,
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=row.price("mark_price"),
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        forward_usd=row.price("underlying_price"),
        # spot_ref is the collector's own reference level, not Deribit's index: not mapped.
        index_usd=_NAN,
        valuation_ns=valuation_ns,
        mark_iv=_iv_pct(row, "mark_iv", quote_side=False),
        bid_iv=_iv_pct(row, "bid_iv", quote_side=True),
        ask_iv=_iv_pct(row, "ask_iv", quote_side=True),
        delta=row.number_or_nan("delta"),
        gamma=row.number_or_nan("gamma"),
        vega=row.number_or_nan("vega"),
        theta=row.number_or_nan("theta"),
        rho=_NAN,
    )


def _parse_snapshot_collector(row: _Row, valuation_ns: int | None) -> _Record:
    inst = row.option()
    expiry_ns = row.iso_timestamp("expiry_datetime")
    strike = row.required_number("strike")
    right = row.right("option_type")
    row.check(inst, expiry_ns=expiry_ns, strike=strike, right=right, currency=row.text("currency"))
    bid, bid_qty = _book_side(row, "bid_price", None)
    ask, ask_qty = _book_side(row, "ask_price", None)
    mark_iv = row.number_or_nan("implied_volatility")  # already decimal
    if mark_iv < 0.0:
        raise row.error(f"column 'implied_volatility' has a negative IV {mark_iv!r}")
    return _Record(
        instrument=inst.name,
        currency=inst.base,
        expiry_ns=expiry_ns,
        strike=strike,
        right=right,
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=row.price("mark_price"),
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        forward_usd=row.price("underlying"),
        index_usd=row.price("index_price"),
        valuation_ns=row.iso_timestamp("timestamp"),
        mark_iv=_NAN if mark_iv == 0.0 else mark_iv,
        bid_iv=_NAN,
        ask_iv=_NAN,
        delta=row.number_or_nan("delta"),
        gamma=_NAN,
        vega=row.number_or_nan("vega"),
        theta=_NAN,
        rho=_NAN,
    )


def _parse_book_summary(row: _Row, valuation_ns: int | None) -> _Record:
    inst = row.option()
    expire_text = row.text("expire_date")
    try:
        expiry = parse_deribit(f"{inst.base}-{expire_text}")
    except InstrumentNameError:
        raise row.error(
            f"column 'expire_date' is not a Deribit date DMMMYY: {expire_text!r}"
        ) from None
    assert expiry.expiry_ns is not None
    strike = row.required_number("strike_price")
    right = row.right("option_type")
    row.check(inst, expiry_ns=expiry.expiry_ns, strike=strike, right=right)
    bid, bid_qty = _book_side(row, "bid_price", None)
    ask, ask_qty = _book_side(row, "ask_price", None)
    return _Record(
        instrument=inst.name,
        currency=inst.base,
        expiry_ns=expiry.expiry_ns,
        strike=strike,
        right=right,
        bid_coin=bid,
        ask_coin=ask,
        mark_coin=row.price("mark_price"),
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        forward_usd=row.price("underlying_price"),
        index_usd=row.price("estimated_delivery_price"),
        valuation_ns=row.ms_timestamp("creation_timestamp"),
        mark_iv=_NAN,
        bid_iv=_NAN,
        ask_iv=_NAN,
        delta=_NAN,
        gamma=_NAN,
        vega=_NAN,
        theta=_NAN,
        rho=_NAN,
    )


class _Format(NamedTuple):
    name: ChainFormat
    signature: frozenset[str]
    """Columns whose presence identifies the layout."""
    required: tuple[str, ...]
    """Every column the parser reads."""
    timed: bool
    """Whether the file carries its own valuation time."""
    parse: Callable[[_Row, int | None], _Record]


def _columns(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_TICKER = "instrument_name underlying_price index_price timestamp mark_price mark_iv bid_iv ask_iv"
_BOOK = "best_bid_price best_bid_amount best_ask_price best_ask_amount"
_FORMATS = (
    _Format(
        "order_book_nested",
        frozenset({"instrument_name", "timestamp", "greeks"}),
        _columns(f"{_TICKER} {_BOOK} expiration_timestamp strike option_type greeks"),
        True,
        _parse_order_book_nested,
    ),
    _Format(
        "order_book_flat",
        frozenset({"instrument_name", "timestamp", "greeks.delta"}),
        _columns(
            f"{_TICKER} {_BOOK} greeks.delta greeks.gamma greeks.vega greeks.theta greeks.rho"
        ),
        True,
        _parse_order_book_flat,
    ),
    _Format(
        "ticker_untimed",
        frozenset({"instrument_name", "type", "expiration_timestamp", "mark_iv", "delta"}),
        _columns(
            "instrument_name currency type strike expiration_timestamp underlying_price "
            "mark_price best_bid_price best_ask_price mark_iv bid_iv ask_iv "
            "delta gamma vega theta"
        ),
        False,
        _parse_ticker_untimed,
    ),
    _Format(
        "snapshot_collector",
        frozenset({"instrument_name", "timestamp", "implied_volatility", "expiry_datetime"}),
        _columns(
            "timestamp instrument_name underlying option_type strike expiry_datetime bid_price "
            "ask_price mark_price implied_volatility delta vega currency index_price"
        ),
        True,
        _parse_snapshot_collector,
    ),
    _Format(
        "book_summary",
        frozenset({"instrument_name", "creation_timestamp", "strike_price", "expire_date"}),
        _columns(
            "instrument_name creation_timestamp underlying_price estimated_delivery_price "
            "mark_price bid_price ask_price expire_date strike_price option_type"
        ),
        True,
        _parse_book_summary,
    ),
)

CHAIN_FORMATS: tuple[ChainFormat, ...] = tuple(f.name for f in _FORMATS)
"""The layouts :func:`load_deribit_chain` recognises (see the module docstring)."""


def _detect_format(header: list[str], path: str) -> _Format:
    columns = set(header)
    matches = [f for f in _FORMATS if f.signature <= columns]
    if len(matches) != 1:
        known = "; ".join(f"{f.name} (columns {sorted(f.signature)})" for f in _FORMATS)
        problem = "matches several" if matches else "matches none"
        raise DataError(
            f"header {problem} of the known Deribit chain formats: {known}", path=path, row=None
        )
    fmt = matches[0]
    missing = [c for c in fmt.required if c not in columns]
    if missing:
        raise DataError(
            f"format {fmt.name} is missing required column(s) {missing}", path=path, row=None
        )
    return fmt


def _open_text(path: Path) -> TextIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _records(path: Path, valuation_ns: int | None) -> tuple[_Format, list[_Record]]:
    source = str(path)
    row: _Row | None = None
    try:
        with _open_text(path) as handle:
            reader: Iterator[list[str]] = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise DataError("file is empty (no header)", path=source)
            header = [name.strip() for name in header]
            fmt = _detect_format(header, source)
            if not fmt.timed and valuation_ns is None:
                raise DataError(
                    f"format {fmt.name} has no valuation timestamp: pass valuation_ns "
                    "(int ns UTC) to load_deribit_chain",
                    path=source,
                )
            if fmt.timed and valuation_ns is not None:
                raise InvalidArgumentError(
                    "valuation_ns",
                    valuation_ns,
                    f"None: {source} ({fmt.name}) carries its own valuation times",
                )
            row = _Row(source, header)
            records = []
            for values in reader:
                if not values or all(not v.strip() for v in values):
                    continue  # blank line: not a record
                row.number += 1
                if len(values) != len(header):
                    raise row.error(f"has {len(values)} fields, the header has {len(header)}")
                row.values = values
                records.append(fmt.parse(row, valuation_ns))
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        where = None if row is None else row.number + 1
        raise DataError(f"cannot read the file: {exc}", path=source, row=where) from exc
    return fmt, records


def load_deribit_chain(
    path: str | os.PathLike[str],
    *,
    valuation_ns: int | None = None,
    currency: str | None = None,
) -> OptionChain:
    """Read a Deribit option-chain CSV (``.csv`` or ``.csv.gz``) into an :class:`OptionChain`.

    The layout is detected from the header (see :data:`CHAIN_FORMATS` and the module docstring
    for the formats, units and sentinel values).

    Parameters
    ----------
    path
        The file. Names ending in ``.gz`` are read through gzip.
    valuation_ns
        Valuation time (int ns UTC) for files that carry none (``ticker_untimed``); required
        there and rejected for files that carry their own per-row times.
    currency
        Keep only options on this underlying coin (``"BTC"``, ``"ETH"``); all rows are still
        validated.

    Raises
    ------
    DataError
        If the file cannot be read, matches no known layout, lacks a required column, has no
        valuation time and none was given, or has a defective row; the message names the file
        and the 1-based data row (header not counted).
    InvalidArgumentError
        If ``valuation_ns`` or ``currency`` is malformed, or ``valuation_ns`` is given for a
        file with its own times.
    """
    if valuation_ns is not None and (
        isinstance(valuation_ns, bool) or not isinstance(valuation_ns, int | np.integer)
    ):
        raise InvalidArgumentError("valuation_ns", valuation_ns, "None or an int ns UTC timestamp")
    wanted = None if currency is None else _check_currency(currency)
    file = Path(path)
    fmt, records = _records(file, None if valuation_ns is None else int(valuation_ns))
    columns: dict[str, Any] = {}
    for name in _Record._fields:
        values = [getattr(r, name) for r in records]
        columns[name] = np.array(values, dtype=_column_dtype(name))
    columns["t_yr"] = np.asarray(
        year_fraction(columns["valuation_ns"], columns["expiry_ns"]), dtype=np.float64
    )
    chain = OptionChain(**columns, source=str(file), format=fmt.name)
    return chain if wanted is None else chain.for_currency(wanted)
