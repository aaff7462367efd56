"""Tests of invrisk.data.chains on the real Deribit option-chain files in shared/data.

Reference values are the raw CSV fields (quoted below with their file and row) and the row
counts written in each folder's PROVENANCE.txt. Times are recomputed here with ``datetime``.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from invrisk.data import CHAIN_FORMATS, OptionChain, load_deribit_chain
from invrisk.errors import DataError, InvalidArgumentError
from tests.conftest import require_data

NS = 1_000_000_000
YEAR_NS = 365 * 86_400 * NS

F_2020_05_14 = "deribit_ticker_greeks_2020-05/btc_options_ticker_2020-05-14.csv"
F_2020_05_21 = "deribit_ticker_greeks_2020-05/btc_options_ticker_2020-05-21.csv"
F_2021_BTC_09 = "deribit_ticker_greeks_2021-02/btc_option_ticker_2021-02-09.csv"
F_2021_BTC_11 = "deribit_ticker_greeks_2021-02/btc_option_ticker_2021-02-11_2sweeps.csv"
F_2021_ETH_09 = "deribit_ticker_greeks_2021-02/eth_option_ticker_2021-02-09.csv"
F_2021_ETH_11 = "deribit_ticker_greeks_2021-02/eth_option_ticker_2021-02-11_2sweeps.csv"
F_TESSICIN = (
    "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"
)
SNAPSHOTS = "deribit_chain_snapshots_2026_znmahbub"
F_SNAPSHOT_0 = f"{SNAPSHOTS}/deribit_options_snapshot_20260101T091835Z.csv.gz"
F_DEFINER = (
    "deribit_eth_book_summary_2024-01-08_definer/"
    "deribit_eth_options_book_summary_2024-01-08T1119Z.csv"
)
TESSICIN_VALUATION_NS = int(datetime(2026, 3, 1, 13, 48, 15, tzinfo=UTC).timestamp()) * NS
"""PROVENANCE: inferred valuation time 2026-03-01T13:48:15Z (the file has none)."""


def utc_ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Seconds-resolution UTC time in ns, computed with datetime only."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()) * NS


def load(relative: str, **kwargs: Any) -> OptionChain:
    return load_deribit_chain(require_data(relative), **kwargs)


def row_of(chain: OptionChain, instrument: str, occurrence: int = 0) -> dict[str, Any]:
    index = np.flatnonzero(chain.instrument == instrument)
    assert len(index) > occurrence, instrument
    return chain.select(index[occurrence : occurrence + 1]).rows()[0]


def raw_rows(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


# -- every real file loads with the PROVENANCE row count ---------------------------------------


@pytest.mark.parametrize(
    ("relative", "fmt", "rows", "currencies"),
    [
        (F_2020_05_14, "order_book_nested", 310, ("BTC",)),
        (F_2020_05_21, "order_book_nested", 326, ("BTC",)),
        (F_2021_BTC_09, "order_book_flat", 520, ("BTC",)),
        (F_2021_BTC_11, "order_book_flat", 976, ("BTC",)),
        (F_2021_ETH_09, "order_book_flat", 542, ("ETH",)),
        (F_2021_ETH_11, "order_book_flat", 996, ("ETH",)),
        (F_SNAPSHOT_0, "snapshot_collector", 1328, ("BTC", "ETH")),
        (F_DEFINER, "book_summary", 684, ("ETH",)),
    ],
)
def test_real_files_load(relative: str, fmt: str, rows: int, currencies: tuple[str, ...]) -> None:
    chain = load(relative)
    assert chain.format == fmt
    assert len(chain) == rows
    assert chain.currencies() == currencies
    assert chain.source == str(require_data(relative))
    check_invariants(chain)


def check_invariants(chain: OptionChain) -> None:
    day_ns = 86_400 * NS
    assert np.all((chain.expiry_ns - 8 * 3600 * NS) % day_ns == 0)  # 08:00 UTC
    assert set(np.unique(chain.right)) <= {-1, 1}
    np.testing.assert_allclose(
        chain.t_yr, (chain.expiry_ns - chain.valuation_ns) / YEAR_NS, rtol=1e-15, atol=0.0
    )
    assert np.all(chain.t_yr > 0.0)
    for name in ("bid_coin", "ask_coin", "mark_coin", "forward_usd"):
        values = chain.column(name)
        assert np.all(values[~np.isnan(values)] >= 0.0), name
    both = ~np.isnan(chain.bid_coin) & ~np.isnan(chain.ask_coin)
    assert np.all(chain.bid_coin[both] <= chain.ask_coin[both])  # no crossed quotes (PROVENANCE)
    for name in ("mark_iv", "bid_iv", "ask_iv"):
        values = chain.column(name)
        finite = values[~np.isnan(values)]
        assert np.all((finite > 0.0) & (finite < 5.0)), name  # decimal, sentinels removed


def test_ticker_untimed_needs_a_valuation_time() -> None:
    path = require_data(F_TESSICIN)
    with pytest.raises(DataError) as info:
        load_deribit_chain(path)
    message = str(info.value)
    assert path.name in message and "valuation_ns" in message and "ticker_untimed" in message
    chain = load_deribit_chain(path, valuation_ns=TESSICIN_VALUATION_NS)
    assert chain.format == "ticker_untimed"
    assert len(chain) == 166
    assert np.all(chain.valuation_ns == TESSICIN_VALUATION_NS)
    assert len(chain.expiries()) == 8
    assert int((chain.right == 1).sum()) == 83
    check_invariants(chain)


# PROVENANCE row counts per snapshot and currency (BTC, ETH).
SNAPSHOT_COUNTS = {
    "20260101T091835Z": (640, 688),
    "20260101T211918Z": (644, 690),
    "20260115T092130Z": (674, 726),
    "20260129T093452Z": (714, 752),
    "20260212T094031Z": (778, 804),
    "20260226T094105Z": (1042, 912),
    "20260312T093539Z": (954, 792),
    "20260326T095510Z": (992, 872),
    "20260409T100609Z": (884, 756),
    "20260423T104153Z": (1000, 826),
    "20260507T111534Z": (936, 748),
    "20260521T122502Z": (912, 728),
    "20260604T075825Z": (1062, 786),
    "20260618T081726Z": (954, 772),
    "20260702T114114Z": (904, 708),
    "20260716T110718Z": (872, 718),
    "20260730T111724Z": (934, 768),
    "20260813T101802Z": (820, 688),
}


@pytest.mark.parametrize("stamp", sorted(SNAPSHOT_COUNTS))
def test_every_snapshot_loads(stamp: str) -> None:
    relative = f"{SNAPSHOTS}/deribit_options_snapshot_{stamp}.csv.gz"
    chain = load(relative)
    n_btc, n_eth = SNAPSHOT_COUNTS[stamp]
    assert len(chain) == n_btc + n_eth
    assert len(chain.for_currency("BTC")) == n_btc
    assert len(load(relative, currency="ETH")) == n_eth
    run_start = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    # Every row carries the collector's run start (to the second in the file name).
    assert np.all(chain.valuation_ns // NS == int(run_start.timestamp()))
    check_invariants(chain)
    # The file's own time_to_maturity is ACT/365.25 from the run start; t_yr is ACT/365.
    raw = raw_rows(require_data(relative))
    ttm = np.array([float(r["time_to_maturity"]) for r in raw])
    np.testing.assert_allclose(chain.t_yr * 365.0, ttm * 365.25, rtol=1e-9)


# -- spot checks against the raw CSV values ----------------------------------------------------


def test_spot_check_order_book_nested() -> None:
    chain = load(F_2020_05_14)
    # btc_options_ticker_2020-05-14.csv, data row 1.
    row = row_of(chain, "BTC-22MAY20-9250-P")
    assert row["currency"] == "BTC"
    assert row["strike"] == 9250.0 and row["right"] == -1
    assert row["expiry_ns"] == utc_ns(2020, 5, 22, 8) == 1590134400000 * 1_000_000
    assert row["valuation_ns"] == 1589434896486 * 1_000_000
    expected = {
        "mark_coin": 0.04010621,
        "bid_coin": 0.042,
        "bid_qty": 15.5,
        "ask_coin": 0.045,
        "ask_qty": 0.5,
        "forward_usd": 9352.58,
        "index_usd": 9350.67,
        "mark_iv": 0.7687,
        "bid_iv": 0.8007,
        "ask_iv": 0.8517,
        "delta": -0.43897,
        "gamma": 0.00037,
        "vega": 5.49167,
        "theta": -26.07217,
        "rho": -0.99385,
    }
    for name, value in expected.items():
        np.testing.assert_allclose(row[name], value, rtol=1e-12, err_msg=name)
    t_yr = (1590134400000 - 1589434896486) / (365 * 86_400_000)
    np.testing.assert_allclose(row["t_yr"], t_yr, rtol=1e-15)


def test_spot_check_day_without_leading_zero() -> None:
    chain = load(F_2020_05_21)
    row = row_of(chain, "BTC-5JUN20-6750-P")
    assert row["expiry_ns"] == utc_ns(2020, 6, 5, 8)
    np.testing.assert_allclose(
        [row["mark_coin"], row["mark_iv"], row["delta"], row["vega"]],
        [0.01077366, 1.2174, -0.08741, 2.86749],
        rtol=1e-12,
    )


def test_spot_check_order_book_flat() -> None:
    chain = load(F_2021_BTC_09)
    # btc_option_ticker_2021-02-09.csv, data row 1 (greeks.* columns, no strike column).
    row = row_of(chain, "BTC-24SEP21-7000-P")
    assert row["strike"] == 7000.0 and row["right"] == -1
    assert row["expiry_ns"] == utc_ns(2021, 9, 24, 8)
    assert row["valuation_ns"] == 1612877925407 * 1_000_000
    expected = [0.00182796, 0.001, 0.1, 0.003, 0.1, 49869.55, 45793.62, 1.1639, 1.0713, 1.2566]
    names = ["mark_coin", "bid_coin", "bid_qty", "ask_coin", "ask_qty", "forward_usd"]
    names += ["index_usd", "mark_iv", "bid_iv", "ask_iv"]
    np.testing.assert_allclose([row[n] for n in names], expected, rtol=1e-12)
    greeks = [row[n] for n in ("delta", "gamma", "vega", "theta", "rho")]
    np.testing.assert_allclose(greeks, [-0.00468, 0.0, 5.35364, -1.37395, -2.01481], rtol=1e-12)
    # Data row 3: empty bid side (bids [], best_bid_price 0.0, bid_iv 0.0).
    row = row_of(chain, "BTC-26MAR21-8000-P")
    assert row["bid_coin"] is None and row["bid_qty"] is None and row["bid_iv"] is None
    np.testing.assert_allclose([row["ask_coin"], row["ask_iv"]], [0.0005, 2.0181], rtol=1e-12)


def test_two_sweeps_keep_both_rows() -> None:
    chain = load(F_2021_BTC_11)
    assert len(np.unique(chain.instrument)) == 488
    first = row_of(chain, "BTC-13FEB21-37500-C", 0)
    second = row_of(chain, "BTC-13FEB21-37500-C", 1)
    assert first["valuation_ns"] != second["valuation_ns"]


def test_spot_check_ticker_untimed() -> None:
    chain = load(F_TESSICIN, valuation_ns=TESSICIN_VALUATION_NS)
    row = row_of(chain, "BTC-13MAR26-61000-C")
    assert row["expiry_ns"] == utc_ns(2026, 3, 13, 8) == 1773388800000 * 1_000_000
    names = ["mark_coin", "bid_coin", "ask_coin", "forward_usd", "mark_iv", "bid_iv", "ask_iv"]
    names += ["delta", "gamma", "theta", "vega"]
    expected = [0.0951, 0.0815, 0.101, 66342.3, 0.6329, 0.2816, 0.7421]
    expected += [0.78695, 4e-05, -93.14463, 34.6075]
    np.testing.assert_allclose([row[n] for n in names], expected, rtol=1e-12)
    assert row["rho"] is None and row["index_usd"] is None
    assert row["bid_qty"] is None and row["ask_qty"] is None
    t_yr = (utc_ns(2026, 3, 13, 8) - TESSICIN_VALUATION_NS) / YEAR_NS
    np.testing.assert_allclose(row["t_yr"], t_yr, rtol=1e-15)


def test_spot_check_snapshot_collector() -> None:
    chain = load(F_SNAPSHOT_0)
    run_start_ns = utc_ns(2026, 1, 1, 9, 18, 35) + 173_006_000
    assert np.all(chain.valuation_ns == run_start_ns)
    row = row_of(chain, "BTC-3JAN26-88000-C")
    assert row["expiry_ns"] == utc_ns(2026, 1, 3, 8)
    names = ["forward_usd", "bid_coin", "ask_coin", "mark_coin", "mark_iv", "delta", "vega"]
    names += ["index_usd"]
    expected = [87834.32571428572, 0.0085, 0.009, 0.00882175, 0.3337, 0.47434, 25.52771, 87799.1]
    np.testing.assert_allclose([row[n] for n in names], expected, rtol=1e-15)
    for absent in ("bid_iv", "ask_iv", "gamma", "theta", "rho", "bid_qty", "ask_qty"):
        assert row[absent] is None, absent
    row = row_of(chain, "BTC-16JAN26-82000-C")  # empty bid and ask fields
    assert row["bid_coin"] is None and row["ask_coin"] is None
    np.testing.assert_allclose(row["mark_coin"], 0.07781631, rtol=1e-15)


def test_spot_check_book_summary() -> None:
    chain = load(F_DEFINER)
    assert np.all(chain.valuation_ns // 1_000_000 >= 1704712781414)
    row = row_of(chain, "ETH-26JAN24-1200-P")
    assert row["currency"] == "ETH" and row["strike"] == 1200.0 and row["right"] == -1
    assert row["expiry_ns"] == utc_ns(2024, 1, 26, 8)
    assert row["valuation_ns"] == 1704712781414 * 1_000_000
    names = ["mark_coin", "bid_coin", "ask_coin", "forward_usd", "index_usd"]
    np.testing.assert_allclose(
        [row[n] for n in names],
        [0.000853, 0.0004, 0.001, 2241.65, 2222.19],
        rtol=1e-15,
    )
    row = row_of(chain, "ETH-12JAN24-2550-P")  # no quotes
    assert row["bid_coin"] is None and row["ask_coin"] is None
    for name in ("mark_iv", "bid_iv", "ask_iv", "delta", "gamma", "vega", "theta", "rho"):
        assert np.all(np.isnan(chain.column(name))), name


def test_sentinels_follow_the_raw_file() -> None:
    path = require_data(F_2020_05_14)
    chain = load_deribit_chain(path)
    raw = raw_rows(path)
    bid_price = np.array([float(r["best_bid_price"]) for r in raw])
    bid_iv = np.array([float(r["bid_iv"]) for r in raw])
    ask_price = np.array([float(r["best_ask_price"]) for r in raw])
    ask_iv = np.array([float(r["ask_iv"]) for r in raw])
    np.testing.assert_array_equal(np.isnan(chain.bid_coin), bid_price == 0.0)
    np.testing.assert_array_equal(np.isnan(chain.bid_qty), bid_price == 0.0)
    np.testing.assert_array_equal(np.isnan(chain.ask_coin), ask_price == 0.0)
    np.testing.assert_array_equal(np.isnan(chain.bid_iv), bid_iv == 0.0)
    np.testing.assert_array_equal(np.isnan(chain.ask_iv), (ask_iv == 0.0) | (ask_iv == 500.0))
    # bid_iv == 0 with a real bid (115 rows): the price is kept, only the IV is unknown.
    kept = (bid_iv == 0.0) & (bid_price > 0.0)
    assert int(kept.sum()) == 115
    assert np.all(np.isfinite(chain.bid_coin[kept]))
    # ask_iv == 500 (the cap, 65 rows): the ask price is kept.
    capped = ask_iv == 500.0
    assert int(capped.sum()) == 65
    assert np.all(np.isfinite(chain.ask_coin[capped]))


# -- the OptionChain object --------------------------------------------------------------------


def test_filters_and_select() -> None:
    chain = load(F_SNAPSHOT_0)
    eth = chain.for_currency("eth")
    assert eth.currencies() == ("ETH",) and len(eth) == 688
    expiry = int(chain.expiries()[0])
    one = chain.for_expiry(expiry)
    assert len(one) > 0 and np.all(one.expiry_ns == expiry)
    assert len(chain.select(slice(0, 10))) == 10
    assert len(chain.select(np.array([0, 5, 7]))) == 3
    picked = chain.select(chain.strike > 100_000)
    assert np.all(picked.strike > 100_000)
    assert picked.source == chain.source and picked.format == chain.format
    with pytest.raises(InvalidArgumentError, match="rows"):
        chain.select(np.ones(3, dtype=bool))
    with pytest.raises(InvalidArgumentError, match="rows"):
        chain.select(np.array([0.5]))
    with pytest.raises(InvalidArgumentError, match="indices within"):
        chain.select(np.array([len(chain)]))
    with pytest.raises(InvalidArgumentError, match="currency"):
        chain.for_currency("")
    assert len(load(F_DEFINER, currency="BTC")) == 0


def test_chain_is_immutable() -> None:
    chain = load(F_DEFINER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        chain.strike = chain.strike  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        chain.strike[0] = 1.0


def test_constructor_checks_lengths() -> None:
    chain = load(F_DEFINER)
    columns = {name: chain.column(name) for name in OptionChain.COLUMNS}
    columns["strike"] = columns["strike"][:-1]
    with pytest.raises(InvalidArgumentError, match="strike"):
        OptionChain(**columns, source="x", format="book_summary")


def test_dtypes_and_to_arrow() -> None:
    chain = load(F_2020_05_14)
    assert chain.expiry_ns.dtype == np.int64 and chain.valuation_ns.dtype == np.int64
    assert chain.right.dtype == np.int8 and chain.strike.dtype == np.float64
    assert chain.instrument.dtype == object
    table = chain.to_arrow()
    assert table.num_rows == len(chain)
    assert table.column_names == list(OptionChain.COLUMNS)
    assert str(table.schema.field("right").type) == "int8"
    assert str(table.schema.field("expiry_ns").type) == "int64"
    assert str(table.schema.field("instrument").type) == "string"
    assert table.schema.metadata[b"format"] == b"order_book_nested"
    np.testing.assert_array_equal(table.column("mark_coin").to_numpy(), chain.mark_coin)


def test_to_dict_and_rows_are_json_ready() -> None:
    chain = load(F_SNAPSHOT_0).select(slice(0, 50))
    columns = chain.to_dict()
    assert list(columns) == list(OptionChain.COLUMNS)
    json.dumps(columns, allow_nan=False)
    rows = chain.rows()
    assert len(rows) == 50 and rows[0]["instrument"] == chain.instrument[0]
    json.dumps(rows, allow_nan=False)
    assert rows[0]["gamma"] is None
    assert "snapshot_collector" in repr(chain)


def test_chain_formats_listed() -> None:
    assert CHAIN_FORMATS == (
        "order_book_nested",
        "order_book_flat",
        "ticker_untimed",
        "snapshot_collector",
        "book_summary",
    )


# -- malformed files: the error names the file and the 1-based data row ------------------------


def write_variant(
    source: str,
    target: Path,
    edit: Callable[[list[str], list[list[str]]], None],
    n_rows: int = 3,
) -> Path:
    """Header and the first rows of a real file, edited, written to ``target``."""
    path = require_data(source)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [next(reader) for _ in range(n_rows)]
    edit(header, rows)
    out = gzip.open if target.suffix == ".gz" else open
    with out(target, "wt", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return target


def set_field(
    column: str, value: str, row: int = 2
) -> Callable[[list[str], list[list[str]]], None]:
    def edit(header: list[str], rows: list[list[str]]) -> None:
        rows[row - 1][header.index(column)] = value

    return edit


BAD_ROWS = [
    (F_2020_05_14, "strike", "abc", "not a number"),
    (F_2020_05_14, "option_type", "straddle", "unknown option type"),
    (F_2020_05_14, "timestamp", "2020-05-14 05:41", "not a millisecond timestamp"),
    (F_2020_05_14, "mark_price", "-0.01", "negative price"),
    (F_2020_05_14, "best_ask_price", "-0.5", "negative price"),
    (F_2020_05_14, "bid_iv", "-3", "negative IV"),
    (F_2020_05_14, "expiration_timestamp", "1593158400000", "disagrees"),
    (F_2020_05_14, "strike", "12500", "disagrees"),
    (F_2020_05_14, "option_type", "put", "disagrees"),  # row 2 is a call
    (F_2020_05_14, "instrument_name", "BTC-12MAX20-12000-C", "does not parse"),
    (F_2020_05_14, "instrument_name", "BTC-PERPETUAL", "not an option"),
    (F_2020_05_14, "greeks", "{'delta': 'x'}", "not a number"),
    (F_2020_05_14, "greeks", "not a dict", "dict literal"),
    (F_2021_BTC_09, "greeks.vega", "1,5", "not a number"),
    (F_TESSICIN, "currency", "ETH", "currency column"),
    (F_SNAPSHOT_0, "timestamp", "yesterday", "not an ISO-8601 time"),
    (F_SNAPSHOT_0, "expiry_datetime", "2026-01-16T09:00:00+00:00", "disagrees"),
    (F_SNAPSHOT_0, "bid_price", "-0.0085", "negative price"),
    (F_DEFINER, "expire_date", "XX", "not a Deribit date"),
    (F_DEFINER, "option_type", "X", "unknown option type"),
    (F_DEFINER, "creation_timestamp", "", "not a millisecond timestamp"),
]


@pytest.mark.parametrize(("source", "column", "value", "fragment"), BAD_ROWS)
def test_malformed_row(tmp_path: Path, source: str, column: str, value: str, fragment: str) -> None:
    suffix = ".csv.gz" if source.endswith(".gz") else ".csv"
    target = write_variant(source, tmp_path / f"bad_{column}{suffix}", set_field(column, value))
    kwargs: dict[str, Any] = {"valuation_ns": TESSICIN_VALUATION_NS} if source == F_TESSICIN else {}
    with pytest.raises(DataError) as info:
        load_deribit_chain(target, **kwargs)
    message = str(info.value)
    assert target.name in message
    assert "row 2" in message
    assert fragment in message
    assert info.value.row == 2 and info.value.path == str(target)


def test_short_row(tmp_path: Path) -> None:
    def drop_last_field(header: list[str], rows: list[list[str]]) -> None:
        rows[2].pop()

    target = write_variant(F_DEFINER, tmp_path / "short.csv", drop_last_field)
    with pytest.raises(DataError, match=r"short\.csv, row 3: has 23 fields, the header has 24"):
        load_deribit_chain(target)


def test_missing_required_column(tmp_path: Path) -> None:
    def drop_mark_iv(header: list[str], rows: list[list[str]]) -> None:
        i = header.index("mark_iv")
        for line in (header, *rows):
            del line[i]

    target = write_variant(F_2020_05_14, tmp_path / "no_mark_iv.csv", drop_mark_iv)
    with pytest.raises(DataError) as info:
        load_deribit_chain(target)
    assert "no_mark_iv.csv" in str(info.value) and "'mark_iv'" in str(info.value)
    assert "order_book_nested" in str(info.value)


def test_unknown_header_lists_the_known_formats(tmp_path: Path) -> None:
    target = tmp_path / "other.csv"
    target.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError) as info:
        load_deribit_chain(target)
    message = str(info.value)
    assert "other.csv" in message
    for name in CHAIN_FORMATS:
        assert name in message


def test_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        load_deribit_chain(empty)
    with pytest.raises(DataError, match="cannot read"):
        load_deribit_chain(tmp_path / "missing.csv")
    not_gzip = tmp_path / "plain.csv.gz"
    not_gzip.write_text("instrument_name\n")
    with pytest.raises(DataError, match=r"plain\.csv\.gz"):
        load_deribit_chain(not_gzip)


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    source = require_data(F_DEFINER).read_text().splitlines()
    target = tmp_path / "blank.csv"
    target.write_text("\n".join([source[0], source[1], "", source[2], ""]) + "\n")
    assert len(load_deribit_chain(target)) == 2


def test_valuation_argument_checks() -> None:
    with pytest.raises(InvalidArgumentError, match="valuation_ns"):
        load(F_2020_05_14, valuation_ns=TESSICIN_VALUATION_NS)  # file has its own times
    with pytest.raises(InvalidArgumentError, match="valuation_ns"):
        load(F_TESSICIN, valuation_ns=True)
    with pytest.raises(InvalidArgumentError, match="valuation_ns"):
        load(F_TESSICIN, valuation_ns="2026-03-01T13:48:15Z")
    chain = load(F_TESSICIN, valuation_ns=np.int64(TESSICIN_VALUATION_NS))
    assert chain.valuation_ns[0] == TESSICIN_VALUATION_NS
