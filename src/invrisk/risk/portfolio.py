"""Positions, portfolios and the market snapshot they are valued with.

A :class:`Position` is a signed number of contracts of one :class:`~invrisk.instruments.Instrument`
(spot, perpetual, dated future or option; linear or inverse; on any venue; or liquidity in an
AMM pool range, :mod:`invrisk.risk.lp`). A :class:`Portfolio`
is an ordered set of positions with distinct labels. A :class:`MarketSnapshot` holds what
valuing them needs at one instant: the index of every underlying coin, a fitted
:class:`~invrisk.surface.VolSurface` per coin for options, and the marks of spot, perpetual and
futures contracts (optionally also each listed option's own forward and mark implied vol).
Valuation, Greeks and attribution live in :mod:`invrisk.risk.greeks` and
:mod:`invrisk.risk.attribution`; scenarios in :mod:`invrisk.risk.scenarios`.

Positions file
--------------
:func:`read_positions` reads a CSV (``.csv``) or JSON (``.json``) file, one position per row or
object. Columns / keys:

==============  ========  ==================================================================
name            required  meaning
==============  ========  ==================================================================
venue           yes       lower-case venue id; ``deribit`` names are parsed with
                          :func:`~invrisk.instruments.parse_deribit` (``BTC-27JUN25-60000-C``,
                          ``BTC-PERPETUAL``, ``BTC_USDC-PERPETUAL``...), any other venue's
                          with :func:`~invrisk.instruments.parse_ccxt` (``BTC/USDT:USDT``)
instrument      yes       the venue's instrument name or the ccxt unified symbol; an AMM
                          liquidity position is ``LP:<COIN>/<QUOTE>:<lower>-<upper>``
                          (``LP:ETH/USDC:1800-2600``; ``0-inf`` is the full range, a v2
                          position) on the protocol as venue (``uniswap_v3``)
contracts       yes       signed number of contracts, positive long; for an LP the
                          liquidity L >= 0 (sqrt(coin x quote) units, see invrisk.amm)
label           no        unique position id (default ``venue:instrument``)
entry_price     no        futures and perpetuals only: the average entry price (price units);
                          empty means "entered at the valuation snapshot's mark"
contract_size   no        overrides the instrument's default contract size (see
                          :class:`~invrisk.instruments.Instrument`; needed for non-Deribit
                          inverse contracts, e.g. 100 USD for Binance COIN-M BTC)
==============  ========  ==================================================================

CSV lines starting with ``#`` are comments. A JSON file holds a list of objects, or an object
with a ``"positions"`` list. ``examples/positions_btc_options.csv`` is a worked example::

    venue,instrument,contracts,entry_price,label
    deribit,BTC-27MAR26-90000-C,-25,,
    deribit,BTC-PERPETUAL,120000,87500,perp hedge
    binance,BTC/USDT:USDT,1.5,88000,

Units and conventions
---------------------
Prices of linear contracts are in their quote currency and those of inverse contracts in USD;
the stablecoins ``USDT`` and ``USDC`` are taken at par with ``USD`` (a de-peg is not modelled).
Every forward, futures mark and spot mark of a coin is assumed to move in proportion to its
index; the index is the spot price against which deltas are measured. Rates are zero (the
premium of Deribit options changes hands at the trade).
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from invrisk.errors import DataError, InvalidArgumentError
from invrisk.instruments import Instrument, InstrumentKind, parse_ccxt, parse_deribit
from invrisk.option_chain import OptionChain
from invrisk.surface import VolSurface, fit_surface
from invrisk.surface.surface import Model
from invrisk.units import ns_to_iso

__all__ = [
    "POSITION_COLUMNS",
    "USD_LIKE",
    "MarketSnapshot",
    "OptionQuote",
    "Portfolio",
    "Position",
    "read_positions",
]

USD_LIKE = frozenset({"USD", "USDT", "USDC"})
"""Quote/settlement currencies taken as US dollars at par."""

POSITION_COLUMNS = ("venue", "instrument", "contracts", "label", "entry_price", "contract_size")
"""The columns (CSV) or keys (JSON) of a positions file; the first three are required."""

_REQUIRED = POSITION_COLUMNS[:3]
_V = TypeVar("_V")


def _finite(value: object) -> float | None:
    """``value`` as a float if it is a finite real number (bools excluded), else ``None``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A signed holding of one instrument (immutable; keyword-only).

    Parameters
    ----------
    instrument
        What is held.
    contracts
        Signed number of contracts (positive long, finite). One contract is
        ``instrument.contract_size`` units of ``instrument.contract_currency``. For an AMM
        liquidity position (``instrument.kind == "lp"``, see :mod:`invrisk.risk.lp`) it is the
        liquidity L >= 0 in sqrt(base x quote) human units.
    label
        A unique id within a portfolio; default ``"venue:name"`` (or the name without a venue).
    entry_price
        Average entry price of a future or perpetual (price units, > 0), or ``None`` for "entered
        at the mark of the snapshot it is first valued with". Must be ``None`` for spot and
        options, whose value does not depend on it.

    Raises
    ------
    InvalidArgumentError
        If a field is out of range, or the instrument is not priced in a USD-like currency.
    """

    instrument: Instrument
    contracts: float
    label: str = ""
    entry_price: float | None = None

    def __post_init__(self) -> None:
        inst = self.instrument
        if not isinstance(inst, Instrument):
            raise InvalidArgumentError("instrument", inst, "an invrisk.instruments.Instrument")
        if not self.label:
            default = f"{inst.venue}:{inst.name}" if inst.venue else inst.name
            object.__setattr__(self, "label", default)
        elif not isinstance(self.label, str) or self.label != self.label.strip():
            raise InvalidArgumentError("label", self.label, "a non-empty string without padding")
        contracts = _finite(self.contracts)
        if contracts is None:
            raise InvalidArgumentError(
                f"position {self.label!r}: contracts", self.contracts, "a finite number"
            )
        object.__setattr__(self, "contracts", contracts)
        if inst.is_lp and contracts < 0.0:
            raise InvalidArgumentError(
                f"position {self.label!r}: contracts (liquidity)",
                self.contracts,
                "a liquidity >= 0 (an LP position cannot be short)",
            )
        if inst.quote not in USD_LIKE:
            raise InvalidArgumentError(
                f"position {self.label!r}: instrument.quote",
                inst.quote,
                f"a USD-like quote currency ({', '.join(sorted(USD_LIKE))})",
            )
        if self.entry_price is not None:
            if inst.kind not in (InstrumentKind.PERPETUAL, InstrumentKind.FUTURE):
                raise InvalidArgumentError(
                    f"position {self.label!r}: entry_price",
                    self.entry_price,
                    f"None for a {inst.kind} (only futures and perpetuals carry one)",
                )
            entry = _finite(self.entry_price)
            if entry is None or entry <= 0.0:
                raise InvalidArgumentError(
                    f"position {self.label!r}: entry_price", self.entry_price, "a finite price > 0"
                )
            object.__setattr__(self, "entry_price", entry)

    @property
    def underlying(self) -> str:
        """The coin whose index drives the position (``instrument.base``)."""
        return self.instrument.base

    @property
    def venue(self) -> str:
        """The instrument's venue, ``""`` if none."""
        return self.instrument.venue or ""


@dataclass(frozen=True, slots=True, init=False)
class Portfolio:
    """An ordered, immutable set of positions with distinct labels.

    Examples
    --------
    >>> from invrisk.instruments import parse_deribit
    >>> book = Portfolio([Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=-10)])
    >>> len(book), book.labels, book.underlyings()
    (1, ('deribit:BTC-PERPETUAL',), ('BTC',))
    """

    positions: tuple[Position, ...]

    def __init__(self, positions: Iterable[Position]) -> None:
        items = tuple(positions)
        seen: set[str] = set()
        for i, p in enumerate(items):
            if not isinstance(p, Position):
                raise InvalidArgumentError(f"positions[{i}]", p, "a Position")
            if p.label in seen:
                raise InvalidArgumentError(
                    f"positions[{i}].label",
                    p.label,
                    "a label used once (merge the positions or give each its own label)",
                )
            seen.add(p.label)
        object.__setattr__(self, "positions", items)

    def __len__(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions)

    def __getitem__(self, index: int) -> Position:
        return self.positions[index]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.positions)

    def underlyings(self) -> tuple[str, ...]:
        """Sorted distinct underlying coins."""
        return tuple(sorted({p.underlying for p in self.positions}))

    def for_underlying(self, coin: str) -> Portfolio:
        """The positions on one coin."""
        return Portfolio(p for p in self.positions if p.underlying == coin)

    def position(self, label: str) -> Position:
        """The position with this label."""
        for p in self.positions:
            if p.label == label:
                return p
        raise InvalidArgumentError("label", label, "the label of a position of this portfolio")


# -- the market snapshot ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionQuote:
    """An exchange's own valuation inputs for one listed option.

    Attributes
    ----------
    forward_usd
        The forward the exchange prices the option on (Deribit's ``underlying_price``), > 0.
    vol
        The exchange's mark implied volatility (decimal), > 0; NaN when absent.
    """

    forward_usd: float
    vol: float

    def __post_init__(self) -> None:
        fwd = _finite(self.forward_usd)
        if fwd is None or fwd <= 0.0:
            raise InvalidArgumentError("forward_usd", self.forward_usd, "a finite forward > 0")
        object.__setattr__(self, "forward_usd", fwd)
        if not isinstance(self.vol, numbers.Real) or isinstance(self.vol, bool):
            raise InvalidArgumentError("vol", self.vol, "a finite vol > 0 (decimal) or NaN")
        vol = float(self.vol)
        if not (math.isnan(vol) or (math.isfinite(vol) and vol > 0.0)):
            raise InvalidArgumentError("vol", self.vol, "a finite vol > 0 (decimal) or NaN")
        object.__setattr__(self, "vol", vol)


def _frozen_prices(name: str, values: Mapping[str, object]) -> Mapping[str, float]:
    """A read-only copy of a price map; NaN (absent) is kept, anything else must be > 0."""
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(name, values, "a mapping of names to prices")
    out: dict[str, float] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise InvalidArgumentError(name, key, "non-empty string keys")
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise InvalidArgumentError(f"{name}[{key!r}]", value, "a price (a real number)")
        number = float(value)
        if not (math.isnan(number) or (math.isfinite(number) and number > 0.0)):
            raise InvalidArgumentError(f"{name}[{key!r}]", value, "a finite price > 0, or NaN")
        out[key] = number
    return MappingProxyType(out)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MarketSnapshot:
    """Market data at one instant, enough to value a portfolio (immutable; keyword-only).

    Parameters
    ----------
    valuation_ns
        The instant (int ns UTC). Times to expiry are measured from it.
    index_usd
        Index (spot) price in USD per underlying coin, e.g. ``{"BTC": 87_800.0}``.
    surfaces
        A fitted vol surface per coin with options in the portfolio. It gives each option's
        implied vol (``surface.iv``) and forward (its forward curve) and, under a spot move, the
        smile's dynamics (:meth:`~invrisk.surface.VolSurface.moved`).
    marks
        Mark prices of spot, perpetual and futures contracts (price units), keyed by
        ``"venue:name"`` or by ``name`` (the venue-qualified key is looked up first). Spot
        instruments without a mark are valued at their coin's index, and so are LP positions
        (whose mark is the pool price, quote per base). NaN means "no mark".
    option_quotes
        Optional exchange marks of listed options, keyed like ``marks``. A quoted option is
        valued on the quote's forward and vol; the difference between the quote's vol and the
        surface's is held fixed when the surface moves or is shocked.

    Notes
    -----
    Values NaN in ``index_usd`` and ``marks`` are kept: the error is raised, naming the
    position, when a position needs the missing number.
    """

    valuation_ns: int
    index_usd: Mapping[str, float]
    surfaces: Mapping[str, VolSurface] = field(default_factory=dict)
    marks: Mapping[str, float] = field(default_factory=dict)
    option_quotes: Mapping[str, OptionQuote] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.valuation_ns, bool) or not isinstance(
            self.valuation_ns, int | np.integer
        ):
            raise InvalidArgumentError("valuation_ns", self.valuation_ns, "an int ns UTC timestamp")
        object.__setattr__(self, "valuation_ns", int(self.valuation_ns))
        object.__setattr__(self, "index_usd", _frozen_prices("index_usd", self.index_usd))
        object.__setattr__(self, "marks", _frozen_prices("marks", self.marks))
        if not isinstance(self.surfaces, Mapping) or not all(
            isinstance(s, VolSurface) for s in self.surfaces.values()
        ):
            raise InvalidArgumentError("surfaces", self.surfaces, "a mapping coin -> VolSurface")
        for coin, surface in self.surfaces.items():
            if surface.currency != coin:
                raise InvalidArgumentError(
                    f"surfaces[{coin!r}]", f"a {surface.currency} surface", f"a {coin} surface"
                )
        object.__setattr__(self, "surfaces", MappingProxyType(dict(self.surfaces)))
        if not isinstance(self.option_quotes, Mapping) or not all(
            isinstance(q, OptionQuote) for q in self.option_quotes.values()
        ):
            raise InvalidArgumentError(
                "option_quotes", self.option_quotes, "a mapping name -> OptionQuote"
            )
        object.__setattr__(self, "option_quotes", MappingProxyType(dict(self.option_quotes)))

    def __repr__(self) -> str:
        return (
            f"MarketSnapshot({ns_to_iso(self.valuation_ns)}, index_usd={dict(self.index_usd)}, "
            f"surfaces={sorted(self.surfaces)}, marks={len(self.marks)}, "
            f"option_quotes={len(self.option_quotes)})"
        )

    @classmethod
    def from_chain(
        cls,
        chain: OptionChain,
        *,
        marks: Mapping[str, float] | None = None,
        index_usd: Mapping[str, float] | None = None,
        model: Model = "svi",
        quote_marks: bool = True,
    ) -> MarketSnapshot:
        """A snapshot from an option chain: one fitted surface per coin of the chain.

        Parameters
        ----------
        chain
            The option chain (e.g. :func:`invrisk.data.load_deribit_chain`).
        marks
            Marks of the spot, perpetual and futures contracts to value (see the class).
        index_usd
            Index per coin; default the median of the chain's ``index_usd`` per coin.
        model
            Surface model passed to :func:`~invrisk.surface.fit_surface`.
        quote_marks
            Keep each option's own forward and mark IV (:class:`OptionQuote`), so that the
            snapshot values listed options at the exchange's marks; ``False`` values every
            option on the fitted surface alone. A row without a mark IV keeps a quote with a
            NaN vol, so that valuing a position on it raises instead of silently using the
            surface.

        The valuation time is the median of the chain's ``valuation_ns``.
        """
        if len(chain) == 0:
            raise InvalidArgumentError("chain", "0 rows", "an option chain with rows")
        surfaces = {
            coin: fit_surface(chain, currency=coin, model=model) for coin in chain.currencies()
        }
        if index_usd is None:
            index: dict[str, float] = {}
            for coin in chain.currencies():
                values = chain.index_usd[chain.currency == coin]
                values = values[np.isfinite(values)]
                if values.size == 0:
                    raise InvalidArgumentError(
                        "index_usd", None, f"an index for {coin} (the chain has none)"
                    )
                index[coin] = float(np.median(values))
        else:
            index = dict(index_usd)
        quotes: dict[str, OptionQuote] = {}
        if quote_marks:
            for name, fwd, vol in zip(
                chain.instrument, chain.forward_usd, chain.mark_iv, strict=True
            ):
                if math.isfinite(fwd) and fwd > 0.0:
                    ok = math.isfinite(vol) and vol > 0.0
                    quotes[str(name)] = OptionQuote(
                        forward_usd=float(fwd), vol=vol if ok else math.nan
                    )
        return cls(
            valuation_ns=int(np.median(chain.valuation_ns)),
            index_usd=index,
            surfaces=surfaces,
            marks={} if marks is None else marks,
            option_quotes=quotes,
        )

    def mark_of(self, instrument: Instrument) -> float | None:
        """The mark of an instrument (``"venue:name"`` first, then ``name``), or ``None``."""
        return _lookup(self.marks, instrument)

    def quote_of(self, instrument: Instrument) -> OptionQuote | None:
        """The exchange quote of an option (``"venue:name"`` first, then ``name``), or ``None``."""
        return _lookup(self.option_quotes, instrument)


def _lookup(table: Mapping[str, _V], instrument: Instrument) -> _V | None:
    if instrument.venue:
        hit = table.get(f"{instrument.venue}:{instrument.name}")
        if hit is not None:
            return hit
    return table.get(instrument.name)


# -- reading positions files --------------------------------------------------------------------


def read_positions(path: str | Path) -> Portfolio:
    """Read a positions file (CSV or JSON; format in the module docstring).

    Raises
    ------
    DataError
        If the file cannot be read or parsed, a required column is missing, or a row is bad (an
        instrument name that does not parse, a non-numeric size...); the message names the file,
        the 1-based data row and the position.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read positions file: {exc}", path=str(p)) from exc
    suffix = p.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(text, str(p))
    elif suffix == ".json":
        rows = _json_rows(text, str(p))
    else:
        raise DataError(
            f"unknown positions file type {suffix!r}: expected .csv or .json", path=str(p)
        )
    positions = [_position_from_row(row, str(p), i) for i, row in enumerate(rows, start=1)]
    try:
        return Portfolio(positions)
    except InvalidArgumentError as exc:
        raise DataError(str(exc), path=str(p)) from exc


def _csv_rows(text: str, path: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; columns are {list(POSITION_COLUMNS)}", path=path
        )
    unknown = [c for c in header if c not in POSITION_COLUMNS]
    if unknown:
        raise DataError(
            f"unknown column(s) {unknown}; columns are {list(POSITION_COLUMNS)}", path=path
        )
    rows: list[dict[str, Any]] = []
    for raw in reader:
        if None in raw:
            raise DataError("more fields than columns", path=path, row=len(rows) + 1)
        rows.append({k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in raw.items()})
    return rows


def _json_rows(text: str, path: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc}", path=path) from exc
    if isinstance(data, dict):
        if set(data) != {"positions"}:
            raise DataError('expected a list of positions or {"positions": [...]}', path=path)
        data = data["positions"]
    if not isinstance(data, list):
        raise DataError('expected a list of positions or {"positions": [...]}', path=path)
    for i, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise DataError("a position must be an object", path=path, row=i)
        unknown = [k for k in row if k not in POSITION_COLUMNS]
        if unknown:
            raise DataError(
                f"unknown key(s) {unknown}; keys are {list(POSITION_COLUMNS)}", path=path, row=i
            )
    return data


def _number(row: Mapping[str, Any], key: str, path: str, i: int, who: str) -> float | None:
    value = row.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"position {who!r}: {key}={value!r} is not a number", path=path, row=i
        ) from None
    if not math.isfinite(number):
        raise DataError(f"position {who!r}: {key}={value!r} is not finite", path=path, row=i)
    return number


def _position_from_row(row: Mapping[str, Any], path: str, i: int) -> Position:
    for key in _REQUIRED:
        if row.get(key) in (None, ""):
            raise DataError(f"{key} is missing", path=path, row=i)
    venue, name = row["venue"], row["instrument"]
    if not isinstance(venue, str) or not isinstance(name, str):
        raise DataError("venue and instrument must be strings", path=path, row=i)
    label = row.get("label") or ""
    who = label or f"{venue}:{name}"
    contracts = _number(row, "contracts", path, i, who)
    entry = _number(row, "entry_price", path, i, who)
    size = _number(row, "contract_size", path, i, who)
    try:
        if name[:3].upper() == "LP:":
            return _lp_from_row(venue, name, contracts, label, size, who)
        if venue == "deribit":
            inst = parse_deribit(name, contract_size=size)
        else:
            inst = parse_ccxt(name, venue=venue, contract_size=size)
        return Position(instrument=inst, contracts=contracts or 0.0, label=label, entry_price=entry)
    except InvalidArgumentError as exc:
        raise DataError(f"position {who!r}: {exc}", path=path, row=i) from exc


def _lp_from_row(
    venue: str, name: str, contracts: float | None, label: str, size: float | None, who: str
) -> Position:
    """``LP:<COIN>/<QUOTE>:<lower>-<upper>`` (see the module docstring)."""
    from invrisk.risk.lp import lp_position

    parts = name.split(":")
    pair = parts[1].split("/") if len(parts) == 3 else []
    bounds = parts[2].split("-") if len(parts) == 3 else []
    if len(pair) != 2 or len(bounds) != 2 or not all(pair):
        raise InvalidArgumentError(
            "instrument", name, "LP:<COIN>/<QUOTE>:<lower>-<upper>, e.g. LP:ETH/USDC:1800-2600"
        )
    try:
        lower, upper = float(bounds[0]), float(bounds[1])
    except ValueError as exc:
        raise InvalidArgumentError("instrument", name, "numeric range bounds") from exc
    if size is not None:
        raise InvalidArgumentError("contract_size", size, "empty for an LP (L is the size)")
    if contracts is None:
        raise InvalidArgumentError("contracts", who, "the liquidity L of the LP")
    return lp_position(
        liquidity=contracts,
        price_lower=lower,
        price_upper=upper,
        venue=venue,
        base=pair[0].upper(),
        quote=pair[1].upper(),
        label=label,
    )
