"""Tests of invrisk.instruments: the Instrument record and the Deribit / ccxt name parsers.

Expiry instants are computed here independently with ``datetime`` (not with invrisk.units), and
names are checked against every instrument named in the real Deribit files in shared/data.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from invrisk.errors import InstrumentNameError, InvalidArgumentError
from invrisk.instruments import (
    CCXT_FORMS,
    DERIBIT_FORMS,
    Instrument,
    InstrumentKind,
    OptionRight,
    Settlement,
    format_ccxt,
    format_deribit,
    parse_ccxt,
    parse_deribit,
)
from tests.conftest import require_data, shared_data_dir


def expiry_ns(year: int, month: int, day: int) -> int:
    """08:00 UTC of a day in ns, computed with datetime only."""
    dt = datetime(year, month, day, 8, 0, tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000


# -- the Instrument record ---------------------------------------------------------------------


def make_option(**overrides: object) -> Instrument:
    fields: dict[str, object] = {
        "name": "BTC-27JUN25-60000-C",
        "kind": InstrumentKind.OPTION,
        "base": "BTC",
        "quote": "USD",
        "settle": "BTC",
        "settlement": Settlement.INVERSE,
        "tick_size": 0.0001,
        "min_size": 0.1,
        "lot_size": 0.1,
        "contract_size": 1.0,
        "expiry_ns": expiry_ns(2025, 6, 27),
        "strike": 60000.0,
        "right": OptionRight.CALL,
        "venue": "deribit",
    }
    fields.update(overrides)
    return Instrument(**fields)  # type: ignore[arg-type]


def test_instrument_is_frozen_and_hashable() -> None:
    inst = make_option()
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.strike = 1.0  # type: ignore[misc]
    assert hash(inst) == hash(make_option())
    assert inst == make_option()
    assert not hasattr(inst, "__dict__")  # slots


def test_instrument_converts_strings_and_numpy_values() -> None:
    inst = make_option(
        kind="option",
        settlement="inverse",
        right=-1,
        expiry_ns=np.int64(expiry_ns(2025, 6, 27)),
        strike=np.float64(50000),
        tick_size=np.float64(0.0001),
    )
    assert inst.kind is InstrumentKind.OPTION
    assert inst.settlement is Settlement.INVERSE
    assert inst.right is OptionRight.PUT
    assert type(inst.expiry_ns) is int
    assert type(inst.strike) is float
    assert type(inst.tick_size) is float


def test_option_right_is_a_sign() -> None:
    assert int(OptionRight.CALL) == 1
    assert int(OptionRight.PUT) == -1
    assert OptionRight.CALL * 2.0 == 2.0


def test_properties() -> None:
    call = make_option()
    assert call.is_option and call.is_call and not call.is_put
    assert call.is_inverse and not call.is_linear and call.has_expiry
    assert call.contract_currency == "BTC"  # 1 BTC per contract
    assert call.price_currency == "BTC"  # premium quoted in BTC
    perp = parse_deribit("BTC-PERPETUAL")
    assert perp.is_perpetual and not perp.is_future and not perp.has_expiry
    assert perp.contract_currency == "USD"  # 10 USD per contract
    assert perp.price_currency == "USD"
    future = parse_deribit("BTC-27JUN25")
    assert future.is_future and future.contract_currency == "USD"
    linear = parse_deribit("ETH_USDC-27JUN25-3000-C")
    assert linear.is_linear and linear.contract_currency == "ETH"
    assert linear.price_currency == "USDC"
    spot = parse_deribit("BTC_USDC")
    assert spot.is_spot and spot.is_linear and spot.price_currency == "USDC"


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [
        ({"tick_size": 0.0}, "tick_size"),
        ({"tick_size": -0.5}, "tick_size"),
        ({"min_size": float("nan")}, "min_size"),
        ({"lot_size": float("inf")}, "lot_size"),
        ({"contract_size": True}, "contract_size"),
        ({"strike": None}, "strike"),
        ({"strike": -1.0}, "strike"),
        ({"right": None}, "right"),
        ({"right": 0}, "right"),
        ({"expiry_ns": None}, "expiry_ns"),
        ({"expiry_ns": 1.5e18}, "expiry_ns"),
        ({"kind": "swap"}, "kind"),
        ({"settlement": "quanto"}, "settlement"),
        ({"settle": "USD"}, "settle"),  # inverse must settle in the base coin
        ({"base": "btc"}, "base"),
        ({"quote": ""}, "quote"),
        ({"name": ""}, "name"),
        ({"name": " BTC-PERPETUAL"}, "name"),
        ({"venue": "Deribit"}, "venue"),
    ],
)
def test_instrument_validation(overrides: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        make_option(**overrides)
    assert info.value.argument == argument
    assert argument in str(info.value)


def test_kind_specific_fields_are_rejected_on_other_kinds() -> None:
    perp = parse_deribit("BTC-PERPETUAL")
    with pytest.raises(InvalidArgumentError, match="expiry_ns"):
        dataclasses.replace(perp, expiry_ns=expiry_ns(2025, 6, 27))
    with pytest.raises(InvalidArgumentError, match="strike"):
        dataclasses.replace(perp, strike=1.0)
    with pytest.raises(InvalidArgumentError, match="right"):
        dataclasses.replace(perp, right=OptionRight.CALL)
    with pytest.raises(InvalidArgumentError, match="settle"):
        dataclasses.replace(parse_deribit("BTC_USDC-PERPETUAL"), settle="BTC")
    spot = parse_deribit("BTC_USDC")
    with pytest.raises(InvalidArgumentError, match="settlement"):
        dataclasses.replace(spot, settlement=Settlement.INVERSE, settle="BTC")
    with pytest.raises(InvalidArgumentError, match="settle"):
        dataclasses.replace(spot, settle="USDT")


def test_instrument_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        Instrument("BTC-PERPETUAL")  # type: ignore[call-arg]


# -- Deribit names -----------------------------------------------------------------------------


def test_parse_deribit_inverse_option() -> None:
    inst = parse_deribit("BTC-27JUN25-60000-C")
    assert inst.name == "BTC-27JUN25-60000-C"
    assert inst.venue == "deribit"
    assert inst.kind is InstrumentKind.OPTION
    assert (inst.base, inst.quote, inst.settle) == ("BTC", "USD", "BTC")
    assert inst.settlement is Settlement.INVERSE
    assert inst.strike == 60000.0
    assert inst.right is OptionRight.CALL
    # 2025-06-27T08:00:00Z = 1751011200 s since the epoch.
    assert inst.expiry_ns == expiry_ns(2025, 6, 27) == 1_751_011_200_000_000_000
    # Deribit BTC option spec: 1 BTC per contract, tick 0.0001 BTC, minimum 0.1 BTC.
    assert (inst.contract_size, inst.tick_size, inst.min_size, inst.lot_size) == (
        1.0,
        0.0001,
        0.1,
        0.1,
    )


def test_parse_deribit_day_without_leading_zero() -> None:
    inst = parse_deribit("BTC-5JUN20-6750-P")
    assert inst.expiry_ns == expiry_ns(2020, 6, 5)
    assert inst.right is OptionRight.PUT
    assert inst.strike == 6750.0
    assert format_deribit(inst) == "BTC-5JUN20-6750-P"


def test_parse_deribit_defaults_by_underlying() -> None:
    eth_option = parse_deribit("ETH-27JUN25-3000-P")
    assert (eth_option.contract_size, eth_option.tick_size, eth_option.min_size) == (
        1.0,
        0.0001,
        1.0,
    )
    btc_perp = parse_deribit("BTC-PERPETUAL")
    assert (btc_perp.contract_size, btc_perp.tick_size, btc_perp.min_size) == (10.0, 0.5, 1.0)
    assert btc_perp.settlement is Settlement.INVERSE and btc_perp.expiry_ns is None
    eth_perp = parse_deribit("ETH-PERPETUAL")
    assert (eth_perp.contract_size, eth_perp.tick_size) == (1.0, 0.05)
    btc_future = parse_deribit("BTC-27JUN25")
    assert btc_future.kind is InstrumentKind.FUTURE
    assert btc_future.expiry_ns == expiry_ns(2025, 6, 27)
    assert (btc_future.contract_size, btc_future.tick_size) == (10.0, 2.5)


def test_parse_deribit_overrides() -> None:
    inst = parse_deribit("BTC-PERPETUAL", tick_size=1.0, min_size=2.0, lot_size=2.0)
    assert (inst.tick_size, inst.min_size, inst.lot_size, inst.contract_size) == (
        1.0,
        2.0,
        2.0,
        10.0,
    )
    with pytest.raises(InvalidArgumentError, match="tick_size"):
        parse_deribit("BTC-PERPETUAL", tick_size=0.0)


def test_parse_deribit_linear_usdc() -> None:
    perp = parse_deribit("BTC_USDC-PERPETUAL")
    assert (perp.base, perp.quote, perp.settle) == ("BTC", "USDC", "USDC")
    assert perp.settlement is Settlement.LINEAR
    assert perp.kind is InstrumentKind.PERPETUAL
    option = parse_deribit("ETH_USDC-27JUN25-3000-C")
    assert (option.base, option.quote, option.settle) == ("ETH", "USDC", "USDC")
    assert option.settlement is Settlement.LINEAR and option.strike == 3000.0
    spot = parse_deribit("BTC_USDC")
    assert spot.kind is InstrumentKind.SPOT and spot.settle == "USDC"


def test_parse_deribit_fractional_strike() -> None:
    # Deribit writes decimal strikes with 'd' as the decimal point (0d625 = 0.625).
    inst = parse_deribit("XRP_USDC-30JUN23-0d625-C")
    assert inst.strike == 0.625
    assert inst.base == "XRP" and inst.settlement is Settlement.LINEAR
    assert inst.expiry_ns == expiry_ns(2023, 6, 30)
    assert format_deribit(inst) == "XRP_USDC-30JUN23-0d625-C"
    assert parse_deribit("SOL_USDC-27JUN25-142d5-P").strike == 142.5


CANONICAL_DERIBIT = [
    "BTC-27JUN25-60000-C",
    "BTC-27JUN25-60000-P",
    "BTC-5JUN20-6750-P",
    "ETH-PERPETUAL",
    "BTC-PERPETUAL",
    "BTC-27JUN25",
    "ETH-1JAN26",
    "BTC-29FEB24",  # leap day
    "BTC_USDC-PERPETUAL",
    "ETH_USDC-27JUN25-3000-C",
    "XRP_USDC-30JUN23-0d625-C",
    "BTC_USDC",
    "ETH-31DEC99-1000000-C",
]


@pytest.mark.parametrize("name", CANONICAL_DERIBIT)
def test_deribit_round_trip(name: str) -> None:
    inst = parse_deribit(name)
    assert format_deribit(inst) == name
    # Through ccxt and back to the same contract.
    symbol = format_ccxt(inst)
    assert parse_ccxt(symbol, venue="deribit") == inst
    assert parse_ccxt(symbol).identity == inst.identity


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "currency part"),
        ("btc-perpetual", "upper-case"),
        ("garbage", "upper-case"),
        ("BTC", "suffix"),
        ("BTC-PERP", "suffix PERPETUAL"),
        ("BTC-27JUX25", "month JAN..DEC"),
        ("BTC-27jun25-60000-C", "DMMMYY"),
        ("BTC-32JAN25", "day that exists"),
        ("BTC-29FEB25", "day that exists"),
        ("BTC-0JAN25", "DMMMYY"),
        ("BTC-05JUN20-6750-P", "leading zero"),
        ("BTC-27JUN2025", "DMMMYY"),
        ("BTC-27JUN25-C", "4 parts"),
        ("BTC-27JUN25-60000", "4 parts"),
        ("BTC-27JUN25--C", "strike"),
        ("BTC-27JUN25-0-C", "strike > 0"),
        ("BTC-27JUN25-60000.5-C", "'d' as decimal point"),
        ("BTC-27JUN25-0d6250-C", "strike"),
        ("BTC-27JUN25-060000-C", "strike"),
        ("BTC-27JUN25-60000-X", "C or P"),
        ("BTC-27JUN25-60000-c", "C or P"),
        ("BTC-27JUN25-60000-C-D", "1, 2 or 4"),
        ("BTC-FS-19MAY26_PERP", "combinations"),
        ("BTC_BTC-PERPETUAL", "different base and quote"),
        ("BTC_-PERPETUAL", "currency part"),
    ],
)
def test_parse_deribit_errors(name: str, fragment: str) -> None:
    with pytest.raises(InstrumentNameError) as info:
        parse_deribit(name)
    message = str(info.value)
    assert repr(name) in message
    assert fragment in message
    assert DERIBIT_FORMS[0] in message  # the expected forms are shown
    assert isinstance(info.value, InvalidArgumentError)
    assert info.value.argument == "name"


def test_parse_deribit_rejects_non_string() -> None:
    with pytest.raises(InstrumentNameError):
        parse_deribit(None)  # type: ignore[arg-type]


def test_format_deribit_rejects_inexpressible_contracts() -> None:
    future = parse_deribit("BTC-27JUN25")
    with pytest.raises(InvalidArgumentError, match="08:00"):
        format_deribit(dataclasses.replace(future, expiry_ns=future.expiry_ns + 1))  # type: ignore[operator]
    usdt_inverse = dataclasses.replace(parse_deribit("BTC-PERPETUAL"), quote="USDT")
    with pytest.raises(InvalidArgumentError, match="USD"):
        format_deribit(usdt_inverse)
    quanto = parse_ccxt("ETH/USD:BTC")
    with pytest.raises(InvalidArgumentError, match="settle"):
        format_deribit(quanto)


# -- ccxt symbols ------------------------------------------------------------------------------


def test_parse_ccxt_forms() -> None:
    option = parse_ccxt("BTC/USD:BTC-250627-60000-C")
    assert option.kind is InstrumentKind.OPTION and option.settlement is Settlement.INVERSE
    assert option.expiry_ns == expiry_ns(2025, 6, 27)
    assert option.strike == 60000.0 and option.right is OptionRight.CALL
    assert option.name == "BTC/USD:BTC-250627-60000-C" and option.venue is None

    linear_perp = parse_ccxt("BTC/USDT:USDT")
    assert linear_perp.kind is InstrumentKind.PERPETUAL
    assert linear_perp.settlement is Settlement.LINEAR and linear_perp.settle == "USDT"

    inverse_perp = parse_ccxt("BTC/USD:BTC")
    assert inverse_perp.kind is InstrumentKind.PERPETUAL
    assert inverse_perp.settlement is Settlement.INVERSE

    future = parse_ccxt("BTC/USDT:USDT-250627")
    assert future.kind is InstrumentKind.FUTURE and future.settlement is Settlement.LINEAR
    assert future.expiry_ns == expiry_ns(2025, 6, 27)

    spot = parse_ccxt("BTC/USDT")
    assert spot.kind is InstrumentKind.SPOT and spot.settle == "USDT"
    assert spot.settlement is Settlement.LINEAR

    assert parse_ccxt("1000PEPE/USDT:USDT").base == "1000PEPE"
    assert parse_ccxt("XRP/USDC:USDC-230630-0.625-C").strike == 0.625


def test_parse_ccxt_venue_name_and_overrides() -> None:
    inst = parse_ccxt("BTC/USD:BTC", venue="deribit")
    assert inst.name == "BTC-PERPETUAL" and inst.venue == "deribit"
    assert inst.contract_size == 10.0
    inst = parse_ccxt("BTC/USDT:USDT", venue="binance", name="BTCUSDT", tick_size=0.1)
    assert inst.name == "BTCUSDT" and inst.venue == "binance" and inst.tick_size == 0.1
    assert parse_ccxt("ETH/USD:ETH-250627-3000-P", venue="deribit", min_size=5.0).min_size == 5.0


@pytest.mark.parametrize(
    "symbol",
    [
        "BTC/USD:BTC-250627-60000-C",
        "BTC/USD:BTC-250627-60000-P",
        "BTC/USDT:USDT",
        "BTC/USD:BTC",
        "BTC/USDT:USDT-250627",
        "BTC/USDT",
        "XRP/USDC:USDC-230630-0.625-C",
    ],
)
def test_ccxt_round_trip(symbol: str) -> None:
    assert format_ccxt(parse_ccxt(symbol)) == symbol


@pytest.mark.parametrize(
    ("symbol", "fragment"),
    [
        ("", "non-empty"),
        ("BTCUSDT", "BASE/QUOTE"),
        ("btc/usdt", "BASE/QUOTE"),
        ("BTC/USDT/X", "BASE/QUOTE"),
        ("BTC/USDT:", "settle currency"),
        ("BTC/USDT:usdt", "settle currency"),
        ("BTC/USDT:USDT-2506", "YYMMDD"),
        ("BTC/USDT:USDT-251327", "valid calendar date"),
        ("BTC/USDT:USDT-250631", "valid calendar date"),
        ("BTC/USD:BTC-250627-60000", "SETTLE[-YYMMDD"),
        ("BTC/USD:BTC-250627-abc-C", "strike"),
        ("BTC/USD:BTC-250627-0-C", "strike > 0"),
        ("BTC/USD:BTC-250627-60000-X", "C or P"),
        ("BTC/BTC", "different base and quote"),
    ],
)
def test_parse_ccxt_errors(symbol: str, fragment: str) -> None:
    with pytest.raises(InstrumentNameError) as info:
        parse_ccxt(symbol)
    message = str(info.value)
    assert repr(symbol) in message
    assert fragment in message
    assert CCXT_FORMS[0] in message
    assert info.value.argument == "symbol"


# -- hypothesis round trips --------------------------------------------------------------------

codes = st.sampled_from(["BTC", "ETH", "SOL", "XRP", "PAXG", "1000PEPE"])
stables = st.sampled_from(["USDC", "USDT"])
expiry_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
strikes = st.one_of(
    st.integers(min_value=1, max_value=10_000_000).map(float),
    st.decimals(
        min_value="0.0001", max_value="100000", places=4, allow_nan=False, allow_infinity=False
    ).map(float),
)


@st.composite
def deribit_instruments(draw: st.DrawFn) -> Instrument:
    base = draw(codes)
    linear = draw(st.booleans())
    # exchange-listed kinds only: an AMM liquidity range (LP) has no Deribit or ccxt name
    kind = draw(st.sampled_from([k for k in InstrumentKind if k is not InstrumentKind.LP]))
    if kind is InstrumentKind.SPOT:
        linear = True
    quote = draw(stables) if linear else "USD"
    settle = quote if linear else base
    expiry: int | None = None
    strike: float | None = None
    right: OptionRight | None = None
    if kind in (InstrumentKind.FUTURE, InstrumentKind.OPTION):
        day = draw(expiry_days)
        expiry = expiry_ns(day.year, day.month, day.day)
    if kind is InstrumentKind.OPTION:
        strike = draw(strikes)
        right = draw(st.sampled_from(list(OptionRight)))
    return Instrument(
        name="generated",
        kind=kind,
        base=base,
        quote=quote,
        settle=settle,
        settlement=Settlement.LINEAR if linear else Settlement.INVERSE,
        tick_size=0.01,
        min_size=1.0,
        lot_size=1.0,
        contract_size=1.0,
        expiry_ns=expiry,
        strike=strike,
        right=right,
    )


@given(deribit_instruments())
def test_hypothesis_deribit_round_trip(inst: Instrument) -> None:
    name = format_deribit(inst)
    parsed = parse_deribit(name)
    assert parsed.identity == inst.identity
    assert parsed.name == name
    assert format_deribit(parsed) == name


@given(deribit_instruments())
def test_hypothesis_ccxt_round_trip(inst: Instrument) -> None:
    symbol = format_ccxt(inst)
    parsed = parse_ccxt(symbol)
    assert parsed.identity == inst.identity
    assert format_ccxt(parsed) == symbol
    assert parse_ccxt(symbol, venue="deribit").identity == inst.identity


@given(
    st.sampled_from(["BTC", "ETH", "SOL_USDC"]),
    expiry_days,
    st.integers(min_value=1, max_value=999_999),
    st.sampled_from(["", "d5", "d25", "d625"]),
    st.sampled_from(["C", "P"]),
)
def test_hypothesis_deribit_option_names(
    currency: str, day: date, whole: int, fraction: str, letter: str
) -> None:
    month = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    name = (
        f"{currency}-{day.day}{month[day.month - 1]}{day.year % 100:02d}-{whole}{fraction}-{letter}"
    )
    inst = parse_deribit(name)
    assert format_deribit(inst) == name
    assert inst.expiry_ns == expiry_ns(day.year, day.month, day.day)
    assert inst.strike == float(f"{whole}.{fraction[1:] or 0}")


# -- every instrument name in the real Deribit files -------------------------------------------

DERIBIT_FOLDERS = [
    "deribit_ticker_greeks_2020-05",
    "deribit_ticker_greeks_2021-02",
    "deribit_btc_ticker_greeks_2026-03-01_tessicin",
    "deribit_chain_snapshots_2026_znmahbub",
    "deribit_eth_book_summary_2024-01-08_definer",
]
NAME_COLUMNS = ("instrument_name", "futures_instrument_name", "underlying_index", "underlying_name")


def _read_rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def _real_names() -> set[str]:
    names: set[str] = set()
    for folder in DERIBIT_FOLDERS:
        require_data(folder)
        for path in sorted((shared_data_dir() / folder).glob("*.csv*")):
            for row in _read_rows(path):
                for column in NAME_COLUMNS:
                    value = row.get(column) or ""
                    # SYN.* are Deribit's synthetic forwards; 'index_price' marks the index.
                    if value and not value.startswith("SYN.") and value != "index_price":
                        names.add(value)
    return names


def test_every_real_deribit_name_parses() -> None:
    names = _real_names()
    assert len(names) > 5_000
    kinds = set()
    for name in names:
        inst = parse_deribit(name)
        assert format_deribit(inst) == name  # the files use canonical names only
        kinds.add(inst.kind)
    assert kinds == {InstrumentKind.OPTION, InstrumentKind.FUTURE, InstrumentKind.PERPETUAL}
    assert "BTC-5JUN20-6750-P" in names


def test_real_names_agree_with_the_files_expiry_and_strike() -> None:
    path = require_data(
        "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"
    )
    rows = _read_rows(path)
    assert len(rows) == 166
    for row in rows:
        inst = parse_deribit(row["instrument_name"])
        assert inst.expiry_ns == int(row["expiration_timestamp"]) * 1_000_000
        assert inst.strike == float(row["strike"])
        assert inst.right is (OptionRight.CALL if row["type"] == "call" else OptionRight.PUT)
        # The file carries Deribit's own instrument spec for BTC options: our defaults match.
        assert inst.contract_size == float(row["contract_size"])
        assert inst.tick_size == float(row["tick_size"])
        assert inst.min_size == float(row["min_trade_amount"])
        expiry_dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=inst.expiry_ns // 1_000
        )
        assert expiry_dt.hour == 8 and expiry_dt.minute == 0
