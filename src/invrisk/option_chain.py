"""The normalised option chain: one table of equal-length numpy columns, one row per option.

A core data type (layer 0, beside :mod:`invrisk.instruments`): the readers in
:mod:`invrisk.data` build it from exchange and vendor files, and the numerics above them
(volatility surfaces, option quoting) consume it without depending on any reader.

Columns and units
-----------------
``instrument`` Deribit name; ``currency`` underlying coin (``BTC``/``ETH``); ``expiry_ns`` (08:00
UTC); ``strike`` (USD); ``right`` (int8, +1 call / -1 put); ``bid_coin``, ``ask_coin``,
``mark_coin`` option prices in the settlement coin; ``bid_qty``, ``ask_qty`` best-level sizes in
contracts (1 contract = 1 coin); ``forward_usd`` Deribit's ``underlying_price`` (the future or
synthetic forward it prices the option on); ``index_usd`` Deribit's index; ``valuation_ns`` per
row; ``t_yr`` ACT/365 from valuation to expiry; ``mark_iv``, ``bid_iv``, ``ask_iv`` as annualised
decimals; ``delta``, ``gamma``, ``vega``, ``theta``, ``rho`` exactly as Deribit reports them
(see :mod:`invrisk.data.chains`). Absent values are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import numpy as np
import numpy.typing as npt

from invrisk._typing import BoolArray, Float64Array, Int8Array, Int64Array
from invrisk.errors import InvalidArgumentError

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

__all__ = ["ObjectArray", "OptionChain"]

ObjectArray: TypeAlias = npt.NDArray[np.object_]

_STRING_COLUMNS = ("instrument", "currency")
_INT64_COLUMNS = ("expiry_ns", "valuation_ns")
_INT8_COLUMNS = ("right",)
_FLOAT_COLUMNS = (
    "strike",
    "bid_coin",
    "ask_coin",
    "mark_coin",
    "bid_qty",
    "ask_qty",
    "forward_usd",
    "index_usd",
    "t_yr",
    "mark_iv",
    "bid_iv",
    "ask_iv",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OptionChain:
    """A normalised option chain: equal-length, read-only numpy columns (one row per option).

    Column meanings and units are in the module docstring. ``source`` is the file the chain was
    read from and ``format`` its detected layout. Build one with :func:`load_deribit_chain`;
    the constructor only validates and freezes its columns.
    """

    instrument: ObjectArray
    currency: ObjectArray
    expiry_ns: Int64Array
    strike: Float64Array
    right: Int8Array
    bid_coin: Float64Array
    ask_coin: Float64Array
    mark_coin: Float64Array
    bid_qty: Float64Array
    ask_qty: Float64Array
    forward_usd: Float64Array
    index_usd: Float64Array
    valuation_ns: Int64Array
    t_yr: Float64Array
    mark_iv: Float64Array
    bid_iv: Float64Array
    ask_iv: Float64Array
    delta: Float64Array
    gamma: Float64Array
    vega: Float64Array
    theta: Float64Array
    rho: Float64Array
    source: str
    format: str

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "instrument",
        "currency",
        "expiry_ns",
        "strike",
        "right",
        "bid_coin",
        "ask_coin",
        "mark_coin",
        "bid_qty",
        "ask_qty",
        "forward_usd",
        "index_usd",
        "valuation_ns",
        "t_yr",
        "mark_iv",
        "bid_iv",
        "ask_iv",
        "delta",
        "gamma",
        "vega",
        "theta",
        "rho",
    )

    def __post_init__(self) -> None:
        n = len(self.instrument)
        for name in self.COLUMNS:
            dtype = _column_dtype(name)
            column = np.array(getattr(self, name), dtype=dtype, copy=True)
            if column.ndim != 1 or len(column) != n:
                raise InvalidArgumentError(
                    name, f"array of shape {column.shape}", f"a 1-D array of length {n}"
                )
            column.setflags(write=False)
            object.__setattr__(self, name, column)

    def __len__(self) -> int:
        return len(self.instrument)

    def __repr__(self) -> str:
        return (
            f"OptionChain({len(self)} rows, currencies={list(self.currencies())}, "
            f"expiries={len(self.expiries())}, format={self.format!r}, source={self.source!r})"
        )

    def column(self, name: str) -> npt.NDArray[Any]:
        """One column by name."""
        if name not in self.COLUMNS:
            raise InvalidArgumentError("name", name, "one of " + ", ".join(self.COLUMNS))
        return getattr(self, name)  # type: ignore[no-any-return]

    def select(self, rows: BoolArray | npt.NDArray[np.integer[Any]] | slice) -> OptionChain:
        """A new chain with the rows picked by a boolean mask, integer indices or a slice."""
        if isinstance(rows, slice):
            index: npt.NDArray[Any] = np.arange(len(self))[rows]
        else:
            index = np.asarray(rows)
            if index.dtype == np.bool_:
                if index.shape != (len(self),):
                    raise InvalidArgumentError(
                        "rows",
                        f"mask of shape {index.shape}",
                        f"a boolean mask of length {len(self)}",
                    )
            elif index.dtype.kind not in "iu" or index.ndim != 1:
                raise InvalidArgumentError(
                    "rows", f"array of dtype {index.dtype}", "a boolean mask, int indices or slice"
                )
        try:
            picked = {name: getattr(self, name)[index] for name in self.COLUMNS}
        except IndexError as exc:
            raise InvalidArgumentError("rows", rows, f"indices within 0..{len(self) - 1}") from exc
        return OptionChain(**picked, source=self.source, format=self.format)

    def for_currency(self, currency: str) -> OptionChain:
        """The rows on one underlying coin (``"BTC"``, ``"ETH"``)."""
        return self.select(self.currency == _check_currency(currency))

    def for_expiry(self, expiry_ns: int) -> OptionChain:
        """The rows expiring at ``expiry_ns``."""
        return self.select(self.expiry_ns == int(expiry_ns))

    def expiries(self) -> Int64Array:
        """Sorted distinct expiries (ns)."""
        return np.unique(self.expiry_ns)

    def currencies(self) -> tuple[str, ...]:
        """Sorted distinct underlying coins."""
        return tuple(sorted({str(c) for c in self.currency}))

    def to_arrow(self) -> pa.Table:
        """A ``pyarrow.Table`` of the columns, with ``source`` and ``format`` in its metadata."""
        import pyarrow as pa

        arrays = {}
        for name in self.COLUMNS:
            values = getattr(self, name)
            if name in _STRING_COLUMNS:
                arrays[name] = pa.array(values.tolist(), type=pa.string())
            else:
                arrays[name] = pa.array(values)
        return pa.table(arrays, metadata={"source": self.source, "format": self.format})

    def to_dict(self) -> dict[str, list[Any]]:
        """The columns as JSON-ready lists (NaN becomes ``None``)."""
        out: dict[str, list[Any]] = {}
        for name in self.COLUMNS:
            values = getattr(self, name).tolist()
            if name in _FLOAT_COLUMNS:
                values = [None if math.isnan(v) else v for v in values]
            out[name] = values
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row (NaN becomes ``None``)."""
        columns = self.to_dict()
        return [
            dict(zip(columns, values, strict=True))
            for values in zip(*columns.values(), strict=True)
        ]


def _column_dtype(name: str) -> type[np.generic]:
    if name in _STRING_COLUMNS:
        return np.object_
    if name in _INT64_COLUMNS:
        return np.int64
    if name in _INT8_COLUMNS:
        return np.int8
    return np.float64


def _check_currency(currency: object) -> str:
    if not isinstance(currency, str) or not currency.strip() or not currency.strip().isalnum():
        raise InvalidArgumentError("currency", currency, "a currency code such as 'BTC'")
    return currency.strip().upper()
