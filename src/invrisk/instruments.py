"""Instrument specifications: spot, perpetual, dated future and option; linear or inverse.

An :class:`Instrument` is a frozen record of what a contract *is*: its venue-native name, what it
is written on (``base``), what its price is quoted against (``quote``), what it pays out in
(``settle``), whether it is linear or inverse (coin-settled), its tick, minimum size, lot and
contract size, and for dated contracts the expiry instant in int64 ns UTC.

Sizes are counted in **contracts** everywhere (``min_size``, ``lot_size``); one contract is
``contract_size`` units of :attr:`Instrument.contract_currency`:

=========================================  ======================  ===========================
instrument                                 contract_size unit      price (``tick_size``) unit
=========================================  ======================  ===========================
spot, linear perpetual/future              base asset (e.g. BTC)   quote (e.g. USDT)
linear (USDC) option                       base asset              quote (USDC)
inverse perpetual/future (BTC-PERPETUAL)   quote (USD)             quote (USD)
inverse option (BTC-27JUN25-60000-C)       base asset (1 BTC)      settle coin (BTC)
=========================================  ======================  ===========================

Name parsers
------------
:func:`parse_deribit` / :func:`format_deribit` handle Deribit's native names
(``BTC-27JUN25-60000-C``, ``BTC-PERPETUAL``, ``BTC-27JUN25``, ``BTC_USDC-PERPETUAL``,
``XRP_USDC-30JUN23-0d625-C``, ``BTC_USDC``); :func:`parse_ccxt` / :func:`format_ccxt` handle ccxt
unified symbols (``BTC/USD:BTC-250627-60000-C``, ``BTC/USDT:USDT``, ``BTC/USDT:USDT-250627``,
``BTC/USDT``). A name that does not parse raises :class:`~invrisk.errors.InstrumentNameError`
whose message shows the name and the expected forms.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import NamedTuple, TypeVar

from invrisk.errors import InstrumentNameError, InvalidArgumentError
from invrisk.units import NS_PER_SECOND, deribit_expiry_ns

__all__ = [
    "CCXT_FORMS",
    "DERIBIT_FORMS",
    "Instrument",
    "InstrumentKind",
    "OptionRight",
    "Settlement",
    "format_ccxt",
    "format_deribit",
    "parse_ccxt",
    "parse_deribit",
]


class InstrumentKind(StrEnum):
    """What kind of contract an instrument is."""

    SPOT = "spot"
    PERPETUAL = "perpetual"
    FUTURE = "future"
    """A dated (expiring) future."""
    OPTION = "option"
    LP = "lp"
    """Liquidity in an AMM pool over a price range (Uniswap v3; the full range [0, inf] is a
    v2 position); one contract is one unit of liquidity L (sqrt(base x quote) human units)."""


class Settlement(StrEnum):
    """Linear (PnL in the quote/stable coin) or inverse (coin-settled, PnL in the base coin)."""

    LINEAR = "linear"
    INVERSE = "inverse"


class OptionRight(IntEnum):
    """Call or put, as ``+1`` / ``-1`` so that it can be used as a sign and passed to numba."""

    CALL = 1
    PUT = -1


@dataclass(frozen=True, slots=True, kw_only=True)
class Instrument:
    """A contract specification (immutable; every argument keyword-only).

    Parameters
    ----------
    name
        The venue-native name (``"BTC-27JUN25-60000-C"``) or, without a venue, a unified symbol.
    kind
        :class:`InstrumentKind` (a plain string such as ``"option"`` is converted).
    base, quote, settle
        Underlying asset, pricing currency and payout currency codes (upper case), e.g.
        ``BTC``/``USD``/``BTC`` for a Deribit inverse contract, ``BTC``/``USDT``/``USDT`` for a
        linear perpetual.
    settlement
        :class:`Settlement`. Inverse requires ``settle == base``; linear requires
        ``settle != base``; spot is linear and settles in its quote currency.
    tick_size
        Minimum price increment, in price units (see :attr:`price_currency`), > 0. For venues
        with price-dependent tick steps this is the smallest tick.
    min_size
        Minimum order size in contracts, > 0.
    lot_size
        Order size increment in contracts, > 0.
    contract_size
        Units of :attr:`contract_currency` per contract, > 0: base-asset units for spot, linear
        contracts and Deribit options (1 BTC); USD for inverse futures and perpetuals (BTC-PERPETUAL
        is 10 USD).
    expiry_ns
        Expiry instant in int64 ns UTC; required for futures and options, ``None`` otherwise.
    strike
        Strike price in quote units (USD for Deribit inverse options); options only.
    right
        :class:`OptionRight` (``1``/``-1`` are converted); options only.
    venue
        Lower-case venue id (``"deribit"``) or ``None``; for an LP the protocol
        (``"uniswap_v3"``).
    price_lower, price_upper
        The price range [p_a, p_b] of an LP (quote per base, 0 <= p_a < p_b <= inf); LP only.
        An LP is linear, settles in its quote token and has no expiry; its ``contract_size``
        is 1 (one unit of liquidity).

    Raises
    ------
    InvalidArgumentError
        If a field is outside its allowed range or the fields contradict each other.
    """

    name: str
    kind: InstrumentKind
    base: str
    quote: str
    settle: str
    settlement: Settlement
    tick_size: float
    min_size: float
    lot_size: float
    contract_size: float
    expiry_ns: int | None = None
    strike: float | None = None
    right: OptionRight | None = None
    venue: str | None = None
    price_lower: float | None = None
    price_upper: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name != self.name.strip():
            raise InvalidArgumentError("name", self.name, "a non-empty string without padding")
        object.__setattr__(self, "kind", _coerce_enum(InstrumentKind, "kind", self.kind))
        object.__setattr__(
            self, "settlement", _coerce_enum(Settlement, "settlement", self.settlement)
        )
        for field in ("base", "quote", "settle"):
            code = getattr(self, field)
            if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
                raise InvalidArgumentError(
                    field, code, "an upper-case currency code such as 'BTC' or 'USDC'"
                )
        if self.venue is not None and (
            not isinstance(self.venue, str) or not _VENUE_RE.fullmatch(self.venue)
        ):
            raise InvalidArgumentError("venue", self.venue, "None or a lower-case id ('deribit')")
        for field in ("tick_size", "min_size", "lot_size", "contract_size"):
            value = _as_positive_float(getattr(self, field))
            if value is None:
                raise InvalidArgumentError(field, getattr(self, field), "a finite number > 0")
            object.__setattr__(self, field, value)
        self._check_settlement()
        self._check_kind_fields()

    def _check_settlement(self) -> None:
        if self.settlement is Settlement.INVERSE:
            if self.kind in (InstrumentKind.SPOT, InstrumentKind.LP):
                raise InvalidArgumentError("settlement", "inverse", f"linear for a {self.kind}")
            if self.settle != self.base:
                raise InvalidArgumentError(
                    "settle",
                    self.settle,
                    f"the base currency {self.base!r} for an inverse contract",
                )
        elif self.settle == self.base:
            raise InvalidArgumentError(
                "settle", self.settle, "a currency other than the base for a linear contract"
            )
        if self.kind in (InstrumentKind.SPOT, InstrumentKind.LP) and self.settle != self.quote:
            raise InvalidArgumentError(
                "settle", self.settle, f"the quote currency {self.quote!r} for {self.kind}"
            )

    def _check_kind_fields(self) -> None:
        if self.kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION):
            expiry_ns = _as_int(self.expiry_ns)
            if expiry_ns is None:
                raise InvalidArgumentError(
                    "expiry_ns", self.expiry_ns, f"an int ns UTC timestamp for a {self.kind}"
                )
            object.__setattr__(self, "expiry_ns", expiry_ns)
        elif self.expiry_ns is not None:
            raise InvalidArgumentError("expiry_ns", self.expiry_ns, f"None for a {self.kind}")
        if self.kind is InstrumentKind.OPTION:
            strike = _as_positive_float(self.strike)
            if strike is None:
                raise InvalidArgumentError("strike", self.strike, "a finite number > 0")
            object.__setattr__(self, "strike", strike)
            object.__setattr__(self, "right", _coerce_right(self.right))
        else:
            if self.strike is not None:
                raise InvalidArgumentError("strike", self.strike, "None for a non-option")
            if self.right is not None:
                raise InvalidArgumentError("right", self.right, "None for a non-option")
        self._check_range()

    def _check_range(self) -> None:
        lo, hi = self.price_lower, self.price_upper
        if self.kind is not InstrumentKind.LP:
            if lo is not None or hi is not None:
                raise InvalidArgumentError(
                    "price_lower/price_upper", (lo, hi), f"None for a {self.kind} (LP only)"
                )
            return
        lo_f = _as_float(lo)
        hi_f = _as_float(hi)
        if lo_f is None or not (math.isfinite(lo_f) and lo_f >= 0.0):
            raise InvalidArgumentError("price_lower", lo, "a finite price >= 0 for an LP")
        if hi_f is None or math.isnan(hi_f) or not hi_f > lo_f:
            raise InvalidArgumentError(
                "price_lower/price_upper",
                (lo, hi),
                "price_lower < price_upper (a non-empty range; price_upper may be inf)",
            )
        object.__setattr__(self, "price_lower", lo_f)
        object.__setattr__(self, "price_upper", hi_f)

    # -- classification -------------------------------------------------------------------

    @property
    def is_spot(self) -> bool:
        return self.kind is InstrumentKind.SPOT

    @property
    def is_perpetual(self) -> bool:
        return self.kind is InstrumentKind.PERPETUAL

    @property
    def is_future(self) -> bool:
        """True for a dated future (not for a perpetual)."""
        return self.kind is InstrumentKind.FUTURE

    @property
    def is_option(self) -> bool:
        return self.kind is InstrumentKind.OPTION

    @property
    def is_lp(self) -> bool:
        """True for liquidity in an AMM pool (:attr:`InstrumentKind.LP`)."""
        return self.kind is InstrumentKind.LP

    @property
    def is_call(self) -> bool:
        return self.right is OptionRight.CALL

    @property
    def is_put(self) -> bool:
        return self.right is OptionRight.PUT

    @property
    def is_inverse(self) -> bool:
        """True for coin-settled (inverse) contracts."""
        return self.settlement is Settlement.INVERSE

    @property
    def is_linear(self) -> bool:
        return self.settlement is Settlement.LINEAR

    @property
    def has_expiry(self) -> bool:
        return self.expiry_ns is not None

    @property
    def contract_currency(self) -> str:
        """The unit of ``contract_size``: the quote for inverse futures/perpetuals, else base."""
        if self.is_inverse and self.kind in (InstrumentKind.PERPETUAL, InstrumentKind.FUTURE):
            return self.quote
        return self.base

    @property
    def price_currency(self) -> str:
        """The unit of prices and ``tick_size``: the settle coin for inverse options, else quote."""
        if self.is_inverse and self.is_option:
            return self.settle
        return self.quote

    @property
    def identity(self) -> tuple[object, ...]:
        """The fields that define *which* contract this is (not its trading specification).

        Two instruments with equal identity are the same contract, possibly described with
        different tick/size defaults or names (a Deribit name and a ccxt symbol).
        """
        return (
            self.kind,
            self.base,
            self.quote,
            self.settle,
            self.settlement,
            self.expiry_ns,
            self.strike,
            self.right,
            self.price_lower,
            self.price_upper,
        )


# -- validation helpers ----------------------------------------------------------------------

_CODE = r"[A-Z0-9]*[A-Z][A-Z0-9]*"
_CODE_RE = re.compile(_CODE)
_VENUE_RE = re.compile(r"[a-z][a-z0-9_.-]*")
_E = TypeVar("_E", InstrumentKind, Settlement)


def _as_int(value: object) -> int | None:
    """``value`` as an int if it is an integer (numpy integers included, bool excluded)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return None


def _as_float(value: object) -> float | None:
    """``value`` as a float if it is a real number (bools excluded), else ``None``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def _as_positive_float(value: object) -> float | None:
    """``value`` as a float if it is a finite real number > 0, else ``None``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number > 0.0:
            return number
    return None


def _coerce_enum(enum: type[_E], argument: str, value: object) -> _E:
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = " or ".join(repr(member.value) for member in enum)
    raise InvalidArgumentError(argument, value, allowed)


def _coerce_right(value: object) -> OptionRight:
    if isinstance(value, OptionRight):
        return value
    number = _as_int(value)
    if number in (1, -1):
        return OptionRight(number)
    raise InvalidArgumentError("right", value, "OptionRight.CALL (1) or OptionRight.PUT (-1)")


# -- shared name pieces ----------------------------------------------------------------------

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_EXPIRY_TIME_NS = 8 * 3_600 * NS_PER_SECOND
"""Expiry time of day (08:00 UTC) on Deribit, Binance, OKX and Bybit."""


class _Spec(NamedTuple):
    """Trading specification defaults: tick (price units), sizes (contracts), contract size."""

    tick_size: float
    min_size: float
    lot_size: float
    contract_size: float


_UNSPECIFIED = _Spec(tick_size=1e-8, min_size=1e-8, lot_size=1e-8, contract_size=1.0)
"""Permissive placeholder for contracts without a verified default: one contract is one unit of
:attr:`Instrument.contract_currency` and the tick/size grids are effectively unconstrained. Pass
the venue's real values (Deribit ``public/get_instrument``) whenever rounding matters."""

# Deribit defaults. ``min_size``/``lot_size`` are in contracts, i.e. Deribit's
# ``min_trade_amount`` divided by ``contract_size`` (Deribit amounts are USD for inverse
# futures/perpetuals and base coin for options and linear contracts).
# Sources:
# - BTC-PERPETUAL tick 0.5 USD, contract 10 USD, min_trade_amount 10 USD; BTC dated futures tick
#   2.5 USD, contract 10 USD, min 10 USD: example response of public/get_instruments,
#   https://docs.deribit.com/api-reference/market-data/public-get_instruments
# - BTC options: 1 BTC per contract, minimum tick 0.0001 BTC:
#   https://www.deribit.com/docs/contract-specifications-options/ ; min_trade_amount 0.1 BTC as
#   returned by public/get_instruments (also in the 2026-03-01 Deribit ticker file in
#   shared/data). Deribit widens the option tick to 0.0005 above 0.005 BTC (tick_size_steps);
#   tick_size here is the minimum tick.
# - ETH-PERPETUAL contract 1 USD, tick 0.05 USD; ETH options 1 ETH per contract, tick 0.0001 ETH,
#   minimum 1 ETH: Deribit public/get_instruments values as commonly reported; not checked against
#   an official doc page here. ETH dated futures are given the perpetual's tick (unverified).
# - BTC_USDC-PERPETUAL (linear): contract 0.001 BTC, tick 1 USDC, min_trade_amount 0.001 BTC:
#   Deribit public/get_instrument response (2025); unverified against a doc page.
_DERIBIT_SPECS: dict[tuple[str, InstrumentKind], _Spec] = {
    ("BTC", InstrumentKind.OPTION): _Spec(0.0001, 0.1, 0.1, 1.0),
    ("ETH", InstrumentKind.OPTION): _Spec(0.0001, 1.0, 1.0, 1.0),
    ("BTC", InstrumentKind.PERPETUAL): _Spec(0.5, 1.0, 1.0, 10.0),
    ("ETH", InstrumentKind.PERPETUAL): _Spec(0.05, 1.0, 1.0, 1.0),
    ("BTC", InstrumentKind.FUTURE): _Spec(2.5, 1.0, 1.0, 10.0),
    ("ETH", InstrumentKind.FUTURE): _Spec(0.05, 1.0, 1.0, 1.0),
    ("BTC_USDC", InstrumentKind.PERPETUAL): _Spec(1.0, 1.0, 1.0, 0.001),
}


def _resolve_spec(
    default: _Spec,
    tick_size: float | None,
    min_size: float | None,
    lot_size: float | None,
    contract_size: float | None,
) -> _Spec:
    return _Spec(
        tick_size=default.tick_size if tick_size is None else tick_size,
        min_size=default.min_size if min_size is None else min_size,
        lot_size=default.lot_size if lot_size is None else lot_size,
        contract_size=default.contract_size if contract_size is None else contract_size,
    )


def _expiry_date(inst: Instrument) -> date:
    """The UTC date of an 08:00 UTC expiry; anything else cannot be written as a venue name."""
    assert inst.expiry_ns is not None
    day_ns, time_ns = divmod(inst.expiry_ns, 86_400 * NS_PER_SECOND)
    if time_ns != _EXPIRY_TIME_NS:
        raise InvalidArgumentError(
            "inst.expiry_ns", inst.expiry_ns, "an expiry at exactly 08:00:00 UTC"
        )
    return datetime.fromtimestamp(day_ns * 86_400, tz=UTC).date()


def _strike_text(strike: float, point: str) -> str:
    """Shortest exact decimal text of ``strike`` with ``point`` as the decimal separator."""
    value = Decimal(repr(strike))
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f").replace(".", point)


def _right_letter(right: OptionRight | None) -> str:
    return "C" if right is OptionRight.CALL else "P"


# -- Deribit -----------------------------------------------------------------------------------

DERIBIT_FORMS = (
    "BTC-27JUN25-60000-C (inverse option)",
    "BTC-PERPETUAL (inverse perpetual)",
    "BTC-27JUN25 (inverse future)",
    "ETH_USDC-27JUN25-3000-C, XRP_USDC-30JUN23-0d625-C (linear option, 'd' = decimal point)",
    "BTC_USDC-PERPETUAL (linear perpetual)",
    "BTC_USDC (spot)",
)
"""The Deribit name forms :func:`parse_deribit` accepts (day without leading zero)."""

_DERIBIT_CCY_RE = re.compile(rf"(?P<base>{_CODE})(?:_(?P<quote>{_CODE}))?")
_DERIBIT_DATE_RE = re.compile(r"(?P<day>[1-9][0-9]?)(?P<month>[A-Z]{3})(?P<year>[0-9]{2})")
_DERIBIT_STRIKE_RE = re.compile(r"(?P<int>0|[1-9][0-9]*)(?:d(?P<frac>[0-9]*[1-9]))?")


def _deribit_error(name: object, problem: str) -> InstrumentNameError:
    return InstrumentNameError(
        "name", name, f"{problem}; Deribit forms: " + ", ".join(DERIBIT_FORMS)
    )


def _parse_deribit_date(name: str, text: str) -> int:
    match = _DERIBIT_DATE_RE.fullmatch(text)
    if match is None:
        raise _deribit_error(
            name,
            f"an expiry date DMMMYY such as 5JUN20 or 27JUN25 (day without a leading zero), "
            f"got {text!r}",
        )
    month_text = match["month"]
    if month_text not in _MONTHS:
        raise _deribit_error(name, f"a month JAN..DEC, got {month_text!r}")
    year = 2000 + int(match["year"])
    day = int(match["day"])
    try:
        expiry_day = date(year, _MONTHS.index(month_text) + 1, day)
    except ValueError:
        raise _deribit_error(name, f"a day that exists in {month_text} {year}, got {day}") from None
    return deribit_expiry_ns(expiry_day)


def _parse_deribit_strike(name: str, text: str) -> float:
    match = _DERIBIT_STRIKE_RE.fullmatch(text)
    if match is None:
        raise _deribit_error(
            name, f"a strike such as 60000 or 0d625 ('d' as decimal point), got {text!r}"
        )
    strike = float(match["int"] + ("." + match["frac"] if match["frac"] else ""))
    if not strike > 0.0:
        raise _deribit_error(name, f"a strike > 0, got {text!r}")
    return strike


def parse_deribit(
    name: str,
    *,
    tick_size: float | None = None,
    min_size: float | None = None,
    lot_size: float | None = None,
    contract_size: float | None = None,
) -> Instrument:
    """Parse a Deribit instrument name into an :class:`Instrument` (venue ``"deribit"``).

    Names without an underscore in the currency part (``BTC-...``) are inverse: quoted in USD,
    settled in the coin. ``BASE_QUOTE-...`` names are linear and settle in ``QUOTE`` (USDC).
    Dated contracts expire at 08:00 UTC on the named day. Tick, sizes and contract size take
    Deribit's values for BTC and ETH inverse contracts (see the table in the source for where
    each number comes from) and a permissive placeholder otherwise; any of them can be
    overridden by keyword.

    Raises
    ------
    InstrumentNameError
        If ``name`` is not one of :data:`DERIBIT_FORMS`; the message shows the name and the
        forms. Combination instruments (``BTC-FS-...``, ``BTC-CS-...``) are not supported.

    Examples
    --------
    >>> inst = parse_deribit("BTC-27JUN25-60000-C")
    >>> inst.kind.value, inst.settlement.value, inst.strike, inst.right.name
    ('option', 'inverse', 60000.0, 'CALL')
    >>> inst.expiry_ns == deribit_expiry_ns(date(2025, 6, 27))
    True
    >>> parse_deribit("XRP_USDC-30JUN23-0d625-C").strike
    0.625
    """
    if not isinstance(name, str):
        raise _deribit_error(name, "a string")
    parts = name.split("-")
    ccy_match = _DERIBIT_CCY_RE.fullmatch(parts[0])
    if not name or ccy_match is None:
        raise _deribit_error(
            name, f"an upper-case currency part such as BTC or BTC_USDC, got {parts[0]!r}"
        )
    base = ccy_match["base"]
    quote = ccy_match["quote"]
    linear = quote is not None
    if len(parts) == 1:
        if not linear:
            raise _deribit_error(name, "a suffix (-PERPETUAL, -DMMMYY or -DMMMYY-STRIKE-C/P)")
        kind = InstrumentKind.SPOT
    elif len(parts) == 2:
        if parts[1] == "PERPETUAL":
            kind = InstrumentKind.PERPETUAL
        elif _DERIBIT_DATE_RE.fullmatch(parts[1]) or parts[1][:1].isdigit():
            kind = InstrumentKind.FUTURE
        else:
            raise _deribit_error(
                name, f"a suffix PERPETUAL or an expiry date DMMMYY, got {parts[1]!r}"
            )
    elif len(parts) == 4:
        kind = InstrumentKind.OPTION
    elif len(parts) == 3:
        raise _deribit_error(
            name, "4 parts for an option (combinations such as BTC-FS-... are not supported)"
        )
    else:
        raise _deribit_error(name, f"1, 2 or 4 dash-separated parts, got {len(parts)}")

    expiry_ns = _parse_deribit_date(name, parts[1]) if kind in _DATED else None
    strike: float | None = None
    right: OptionRight | None = None
    if kind is InstrumentKind.OPTION:
        strike = _parse_deribit_strike(name, parts[2])
        if parts[3] not in ("C", "P"):
            raise _deribit_error(name, f"an option type C or P, got {parts[3]!r}")
        right = OptionRight.CALL if parts[3] == "C" else OptionRight.PUT

    if quote is None:
        quote, settle, settlement = "USD", base, Settlement.INVERSE
    else:
        settle, settlement = quote, Settlement.LINEAR
    if quote == base:
        raise _deribit_error(name, "different base and quote currencies")
    spec = _resolve_spec(
        _DERIBIT_SPECS.get((parts[0], kind), _UNSPECIFIED),
        tick_size,
        min_size,
        lot_size,
        contract_size,
    )
    return Instrument(
        name=name,
        kind=kind,
        base=base,
        quote=quote,
        settle=settle,
        settlement=settlement,
        tick_size=spec.tick_size,
        min_size=spec.min_size,
        lot_size=spec.lot_size,
        contract_size=spec.contract_size,
        expiry_ns=expiry_ns,
        strike=strike,
        right=right,
        venue="deribit",
    )


_DATED = (InstrumentKind.FUTURE, InstrumentKind.OPTION)


def format_deribit(inst: Instrument) -> str:
    """The Deribit name of ``inst`` (built from its fields, not copied from ``inst.name``).

    Raises
    ------
    InvalidArgumentError
        If the contract cannot be named on Deribit: an inverse contract not quoted in USD, a
        linear contract not settled in its quote currency, or an expiry not at 08:00 UTC.

    Examples
    --------
    >>> format_deribit(parse_ccxt("BTC/USD:BTC-250627-60000-C"))
    'BTC-27JUN25-60000-C'
    """
    if inst.is_lp:
        raise InvalidArgumentError(
            "inst.kind", inst.kind, "a Deribit-listed kind (an LP has no Deribit name)"
        )
    if inst.is_inverse:
        if inst.quote != "USD":
            raise InvalidArgumentError(
                "inst.quote", inst.quote, "'USD' for a Deribit inverse contract"
            )
        currency = inst.base
    else:
        if inst.settle != inst.quote:
            raise InvalidArgumentError(
                "inst.settle",
                inst.settle,
                f"the quote {inst.quote!r} for a Deribit linear contract",
            )
        currency = f"{inst.base}_{inst.quote}"
    if inst.is_spot:
        return currency
    if inst.is_perpetual:
        return f"{currency}-PERPETUAL"
    day = _expiry_date(inst)
    if not 2000 <= day.year <= 2099:
        raise InvalidArgumentError("inst.expiry_ns", inst.expiry_ns, "an expiry in 2000..2099")
    dated = f"{currency}-{day.day}{_MONTHS[day.month - 1]}{day.year % 100:02d}"
    if inst.is_future:
        return dated
    assert inst.strike is not None
    return f"{dated}-{_strike_text(inst.strike, 'd')}-{_right_letter(inst.right)}"


# -- ccxt --------------------------------------------------------------------------------------

CCXT_FORMS = (
    "BTC/USDT (spot)",
    "BTC/USDT:USDT (linear perpetual)",
    "BTC/USD:BTC (inverse perpetual)",
    "BTC/USDT:USDT-250627 (future, YYMMDD)",
    "BTC/USD:BTC-250627-60000-C (option)",
)
"""The ccxt unified-symbol forms :func:`parse_ccxt` accepts."""

_CCXT_STRIKE_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CCXT_DATE_RE = re.compile(r"(?P<year>[0-9]{2})(?P<month>[0-9]{2})(?P<day>[0-9]{2})")


def _ccxt_error(symbol: object, problem: str) -> InstrumentNameError:
    return InstrumentNameError("symbol", symbol, f"{problem}; ccxt forms: " + ", ".join(CCXT_FORMS))


def parse_ccxt(
    symbol: str,
    *,
    venue: str | None = None,
    name: str | None = None,
    tick_size: float | None = None,
    min_size: float | None = None,
    lot_size: float | None = None,
    contract_size: float | None = None,
) -> Instrument:
    """Parse a ccxt unified symbol into an :class:`Instrument`.

    A derivative is inverse when its settle currency equals its base (``BTC/USD:BTC``) and
    linear otherwise. The symbol carries only the expiry date; the expiry instant is 08:00 UTC
    of that date (the expiry hour of Deribit, Binance, OKX and Bybit).

    Parameters
    ----------
    symbol
        The unified symbol, one of :data:`CCXT_FORMS`.
    venue
        With ``"deribit"`` the instrument gets its Deribit native name and Deribit's default
        specification (as :func:`parse_deribit`); otherwise ``name`` or the symbol itself is the
        name and sizes default to a permissive placeholder.
    name
        The venue-native name, if known (ignored for ``venue="deribit"``).
    tick_size, min_size, lot_size, contract_size
        Overrides of the defaults (see :class:`Instrument` for units).

    Raises
    ------
    InstrumentNameError
        If ``symbol`` is not a ccxt unified symbol; the message shows it and the forms.

    Examples
    --------
    >>> parse_ccxt("BTC/USD:BTC-250627-60000-C", venue="deribit").name
    'BTC-27JUN25-60000-C'
    >>> parse_ccxt("BTC/USDT:USDT").settlement
    <Settlement.LINEAR: 'linear'>
    """
    if not isinstance(symbol, str) or not symbol:
        raise _ccxt_error(symbol, "a non-empty string")
    pair, colon, derivative = symbol.partition(":")
    pieces = pair.split("/")
    if len(pieces) != 2 or not all(_CODE_RE.fullmatch(p) for p in pieces):
        raise _ccxt_error(symbol, f"an upper-case BASE/QUOTE pair, got {pair!r}")
    base, quote = pieces
    settle = quote
    expiry_ns: int | None = None
    strike: float | None = None
    right: OptionRight | None = None
    if not colon:
        kind = InstrumentKind.SPOT
    else:
        parts = derivative.split("-")
        settle = parts[0]
        if not _CODE_RE.fullmatch(settle):
            raise _ccxt_error(symbol, f"an upper-case settle currency after ':', got {settle!r}")
        if len(parts) == 1:
            kind = InstrumentKind.PERPETUAL
        elif len(parts) == 2:
            kind = InstrumentKind.FUTURE
        elif len(parts) == 4:
            kind = InstrumentKind.OPTION
        else:
            raise _ccxt_error(symbol, f"SETTLE[-YYMMDD[-STRIKE-C|P]] after ':', got {derivative!r}")
        if kind in _DATED:
            expiry_ns = _parse_ccxt_date(symbol, parts[1])
        if kind is InstrumentKind.OPTION:
            if not _CCXT_STRIKE_RE.fullmatch(parts[2]) or not float(parts[2]) > 0.0:
                raise _ccxt_error(symbol, f"a strike > 0 such as 60000 or 0.625, got {parts[2]!r}")
            strike = float(parts[2])
            if parts[3] not in ("C", "P"):
                raise _ccxt_error(symbol, f"an option type C or P, got {parts[3]!r}")
            right = OptionRight.CALL if parts[3] == "C" else OptionRight.PUT
    if kind is not InstrumentKind.SPOT and settle == base:
        settlement = Settlement.INVERSE
    else:
        settlement = Settlement.LINEAR
    if kind is InstrumentKind.SPOT and base == quote:
        raise _ccxt_error(symbol, "different base and quote currencies")
    provisional = Instrument(
        name=name or symbol,
        kind=kind,
        base=base,
        quote=quote,
        settle=settle,
        settlement=settlement,
        tick_size=_UNSPECIFIED.tick_size,
        min_size=_UNSPECIFIED.min_size,
        lot_size=_UNSPECIFIED.lot_size,
        contract_size=_UNSPECIFIED.contract_size,
        expiry_ns=expiry_ns,
        strike=strike,
        right=right,
        venue=venue,
    )
    if venue == "deribit":
        return parse_deribit(
            format_deribit(provisional),
            tick_size=tick_size,
            min_size=min_size,
            lot_size=lot_size,
            contract_size=contract_size,
        )
    spec = _resolve_spec(_UNSPECIFIED, tick_size, min_size, lot_size, contract_size)
    return dataclasses.replace(provisional, **spec._asdict())


def _parse_ccxt_date(symbol: str, text: str) -> int:
    match = _CCXT_DATE_RE.fullmatch(text)
    if match is None:
        raise _ccxt_error(symbol, f"an expiry date YYMMDD such as 250627, got {text!r}")
    try:
        day = date(2000 + int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError:
        raise _ccxt_error(symbol, f"a valid calendar date YYMMDD, got {text!r}") from None
    return deribit_expiry_ns(day)


def format_ccxt(inst: Instrument) -> str:
    """The ccxt unified symbol of ``inst``.

    Raises
    ------
    InvalidArgumentError
        If the expiry is not at 08:00 UTC (a unified symbol carries only the date).

    Examples
    --------
    >>> format_ccxt(parse_deribit("BTC-27JUN25-60000-C"))
    'BTC/USD:BTC-250627-60000-C'
    >>> format_ccxt(parse_deribit("ETH-PERPETUAL"))
    'ETH/USD:ETH'
    """
    if inst.is_lp:
        raise InvalidArgumentError(
            "inst.kind", inst.kind, "a ccxt-listed kind (an LP has no ccxt name)"
        )
    pair = f"{inst.base}/{inst.quote}"
    if inst.is_spot:
        return pair
    symbol = f"{pair}:{inst.settle}"
    if inst.is_perpetual:
        return symbol
    day = _expiry_date(inst)
    if not 2000 <= day.year <= 2099:
        raise InvalidArgumentError("inst.expiry_ns", inst.expiry_ns, "an expiry in 2000..2099")
    symbol += f"-{day.year % 100:02d}{day.month:02d}{day.day:02d}"
    if inst.is_future:
        return symbol
    assert inst.strike is not None
    return f"{symbol}-{_strike_text(inst.strike, '.')}-{_right_letter(inst.right)}"
