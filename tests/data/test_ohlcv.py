"""Tests of invrisk.data.ohlcv on every OHLCV file in shared/data, and on small files made here.

Reference numbers come from each folder's PROVENANCE.txt (row counts, date ranges, the 2,649
duplicated hours, 8 gaps / 16 missing hours and 91 unix/date disagreements of the
CryptoDataDownload exports, Kraken's 26,746 gaps, the USDC de-peg peak, zero-volume minutes,
the COVID-crash hour); spot values are read from the raw CSV text in the test with ``str.split``
(no shared code with the reader).
"""

from __future__ import annotations

import gzip
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from invrisk.data.ohlcv import Ohlcv, read_ohlcv
from invrisk.errors import DataError, DataWarning, InvalidArgumentError
from tests.conftest import require_data

DAILY = "btcusd_daily_2011-2025_bitstamp_coinbase"
CDD = "binance_btc_eth_hourly_2017-2021_cdd"
DEPEG = "binanceus_kraken_1m_2023-03_usdc_depeg"


def ns(text: str) -> int:
    """'YYYY-MM-DD HH:MM' UTC to ns (datetime arithmetic, independent of invrisk.units)."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000


def raw_rows(path: Path) -> list[list[str]]:
    if path.suffix == ".gz":
        text = gzip.decompress(path.read_bytes()).decode()
    else:
        text = path.read_text()
    return [line.split(",") for line in text.splitlines() if line.strip()]


def check_bar(bars: Ohlcv, i: int, fields: list[str], columns: dict[str, int]) -> None:
    """Bar ``i`` equals the raw fields (column indices of open, high, low, close, volume...)."""
    for name, j in columns.items():
        value = getattr(bars, name)[i]
        text = fields[j]
        if text in ("", "NULL"):
            assert math.isnan(value), name
        else:
            assert value == float(text), (name, value, text)


def assert_clean(bars: Ohlcv) -> None:
    assert np.all(np.diff(bars.open_ns) >= 0)
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert not bars.open_ns.flags.writeable and not bars.close.flags.writeable


# -- BTC/USD daily and weekly (Bitstamp then Coinbase) -------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows", "first", "last", "interval"),
    [
        ("BTCUSD_1d_candles_full.csv", 5152, "2011-08-18 00:00", "2025-09-24 00:00", "1d"),
        ("BTCUSD_1w_candles_full.csv", 737, "2011-08-21 00:00", "2025-09-28 00:00", "1w"),
    ],
)
def test_btcusd_daily_weekly(name: str, rows: int, first: str, last: str, interval: str) -> None:
    path = require_data(f"{DAILY}/{name}")
    bars = read_ohlcv(path)
    assert len(bars) == rows and bars.report.rows == rows
    assert (bars.open_ns[0], bars.open_ns[-1]) == (ns(first), ns(last))
    assert bars.interval == interval and bars.layout == "header" and bars.symbol == "BTCUSD"
    assert bars.interval_ns == {"1d": 86_400, "1w": 604_800}[interval] * 1_000_000_000
    report = bars.report
    assert report.order == "ascending" and not report.reversed
    assert (report.duplicates, report.gaps, report.ohlc_violations) == (0, 0, 0)  # PROVENANCE
    assert report.time_mismatches == 0  # the text timestamp agrees with unix_timestamp
    assert bars.quote_volume is None and bars.trade_count is None
    raw = raw_rows(path)
    # header: timestamp, open, close, volume, unix_timestamp, high, low (close before high/low)
    columns = {"open": 1, "close": 2, "volume": 3, "high": 5, "low": 6}
    for i in (0, 1, len(bars) // 2, -1):
        check_bar(bars, i, raw[1:][i], columns)
        assert bars.open_ns[i] == int(raw[1:][i][4]) * 1_000_000_000
    assert_clean(bars)


def test_btcusd_daily_values() -> None:
    bars = read_ohlcv(require_data(f"{DAILY}/BTCUSD_1d_candles_full.csv"))
    # PROVENANCE example rows and last close
    assert (bars.open[1], bars.close[1], bars.high[1], bars.low[1]) == (10.9, 11.69, 11.85, 10.9)
    assert bars.volume[0] == 0.48990826
    assert bars.close[-1] == 113700.11
    assert (bars.close.min(), bars.close.max()) == (2.24, 123365.63)  # PROVENANCE close range


# -- CryptoDataDownload Binance exports (newest first, mixed s/ms, duplicates) --------------------


@pytest.mark.parametrize("name", ["Binance_BTCUSDT_1h.csv", "Binance_ETHUSDT_1h.csv"])
def test_cdd_hourly(name: str) -> None:
    path = require_data(f"{CDD}/{name}")
    bars = read_ohlcv(path)
    report = bars.report
    assert bars.layout == "cryptodatadownload" and bars.interval == "1h"
    assert bars.symbol == ("BTC/USDT" if "BTC" in name else "ETH/USDT")
    assert len(bars) == 36_062  # PROVENANCE: data rows, duplicates included
    assert report.order == "descending" and report.reversed
    assert (bars.open_ns[0], bars.open_ns[-1]) == (ns("2017-08-17 04:00"), ns("2021-06-10 00:00"))
    assert report.duplicates == 2_649  # PROVENANCE: 2,649 duplicated hours
    assert len(np.unique(bars.open_ns)) == 33_413  # PROVENANCE: unique hours
    assert (report.gaps, report.missing_bars) == (8, 16)  # PROVENANCE: 8 gaps, 16 missing hours
    assert report.time_mismatches == 91  # PROVENANCE: 91 rows where unix and date disagree
    dup_times = bars.open_ns[np.isin(bars.file_row, report.duplicate_rows)]
    assert dup_times.min() >= ns("2020-08-01 23:00") and dup_times.max() <= ns("2020-11-20 07:00")
    assert report.ohlc_violations == 0
    assert_clean(bars)
    assert bars.quote_volume is not None and bars.trade_count is not None
    raw = raw_rows(path)[1:]
    columns = {"open": 3, "high": 4, "low": 5, "close": 6, "volume": 7}
    columns |= {"quote_volume": 8, "trade_count": 9}
    check_bar(bars, 0, raw[-1], columns)  # oldest bar = last file row (unix in seconds, NULL)
    check_bar(bars, -1, raw[0], columns)  # newest bar = first file row (unix in ms)
    assert (bars.file_row[0], bars.file_row[-1]) == (36_062, 1)
    assert bars.open_ns[-1] == int(raw[0][0]) * 1_000_000
    assert bars.open_ns[0] == int(float(raw[-1][0])) * 1_000_000_000
    assert math.isnan(bars.trade_count[0]) and bars.trade_count[-1] == float(raw[0][9])
    # PROVENANCE: the largest hourly move is the COVID crash hour, 2020-03-12 10:00 UTC (the
    # first bar, a bad listing print with open = high = 16199.91, is left out as advised there)
    move = np.abs(np.log(bars.close[1:] / bars.open[1:]))
    assert bars.open_ns[1 + int(np.argmax(move))] == ns("2020-03-12 10:00")


def test_cdd_daily() -> None:
    path = require_data(f"{CDD}/Binance_BTCUSDT_d.csv")
    bars = read_ohlcv(path)
    assert len(bars) == 1_396 and bars.interval == "1d"  # PROVENANCE: daily 1,396
    assert (bars.open_ns[0], bars.open_ns[-1]) == (ns("2017-08-17 00:00"), ns("2021-06-11 00:00"))
    assert bars.report.reversed and bars.report.duplicates == 1 and bars.report.gaps == 0
    raw = raw_rows(path)[1:]
    check_bar(bars, -1, raw[0], {"open": 3, "high": 4, "low": 5, "close": 6, "volume": 7})
    assert bars.open[-1] == 36677.83 and bars.close[0] == 4285.08


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_derived_clean_hourly(symbol: str) -> None:
    path = require_data(f"{CDD}/derived_clean_btcusdt_ethusdt_1h_2017-08-17_2021-06-10.csv.gz")
    bars = read_ohlcv(path, symbol=symbol)
    assert bars.symbol == symbol and len(bars) == 33_413  # PROVENANCE: per symbol
    assert (bars.open_ns[0], bars.open_ns[-1]) == (ns("2017-08-17 04:00"), ns("2021-06-10 00:00"))
    report = bars.report
    assert report.order == "ascending" and report.duplicates == 0
    assert (report.gaps, report.missing_bars) == (8, 16)  # gaps not filled
    raw = [r for r in raw_rows(path)[1:] if r[1] == symbol]
    columns = {"open": 2, "high": 3, "low": 4, "close": 5, "volume": 6, "quote_volume": 7}
    columns |= {"trade_count": 8}
    for i in (0, 1000, -1):
        check_bar(bars, i, raw[i], columns)
    # the same hours as the raw export, duplicates removed (the newer rows kept)
    cdd = read_ohlcv(require_data(f"{CDD}/Binance_{symbol}_1h.csv"))
    np.testing.assert_array_equal(np.unique(cdd.open_ns), bars.open_ns)
    with pytest.raises(DataError, match=r"several symbols \['BTCUSDT', 'ETHUSDT'\]"):
        read_ohlcv(path)
    with pytest.raises(DataError, match="symbol 'SOLUSDT' is not in the file"):
        read_ohlcv(path, symbol="SOLUSDT")


# -- Binance.US and Kraken 1-minute bars (USDC de-peg, March 2023) --------------------------------


@pytest.mark.parametrize(
    ("pair", "zero_volume"), [("BTCUSDT", 658), ("BTCUSD", 72), ("BTCUSDC", 12_971)]
)
def test_binanceus_minutes(pair: str, zero_volume: int) -> None:
    path = require_data(f"{DEPEG}/binanceus_{pair}_1m_20230301_20230321.csv")
    bars = read_ohlcv(path)
    assert bars.symbol == pair and bars.interval == "1m" and len(bars) == 30_240
    assert (bars.open_ns[0], bars.open_ns[-1]) == (ns("2023-03-01 00:00"), ns("2023-03-21 23:59"))
    report = bars.report
    assert (report.duplicates, report.gaps, report.ohlc_violations) == (0, 0, 0)
    assert int((bars.volume == 0).sum()) == zero_volume  # PROVENANCE zero-volume minutes
    raw = raw_rows(path)[1:]
    for i in (0, 2, 15_000, -1):
        check_bar(bars, i, raw[i], {"open": 1, "high": 2, "low": 3, "close": 4, "volume": 5})
    assert_clean(bars)


def test_usdc_depeg_peak() -> None:
    usdc = read_ohlcv(require_data(f"{DEPEG}/binanceus_BTCUSDC_1m_20230301_20230321.csv"))
    usd = read_ohlcv(require_data(f"{DEPEG}/binanceus_BTCUSD_1m_20230301_20230321.csv"))
    np.testing.assert_array_equal(usdc.open_ns, usd.open_ns)
    ratio = usdc.close / usd.close
    # PROVENANCE: the BTCUSDC/BTCUSD close ratio peaks at 1.143 on 2023-03-11 07:50 UTC
    assert usdc.open_ns[int(np.argmax(ratio))] == ns("2023-03-11 07:50")
    assert ratio.max() == pytest.approx(1.143, abs=5e-4)


def test_kraken_headerless() -> None:
    path = require_data(f"{DEPEG}/kraken_BTCUSDC_1m_20230301_20230321.csv")
    bars = read_ohlcv(path)
    assert bars.layout == "kraken_ohlcvt" and bars.symbol == "BTCUSDC" and bars.interval == "1m"
    assert len(bars) == 56_717  # PROVENANCE: traded minutes (no header row)
    assert (bars.open_ns[0], bars.open_ns[-1]) == (ns("2023-01-01 00:00"), ns("2023-03-31 23:59"))
    assert bars.report.gaps == 26_746  # PROVENANCE
    assert bars.report.missing_bars == 90 * 1440 - 56_717  # every other minute of Q1 2023
    assert bars.trade_count is not None and bars.quote_volume is None
    raw = raw_rows(path)
    columns = {"open": 1, "high": 2, "low": 3, "close": 4, "volume": 5, "trade_count": 6}
    for i in (0, 1, -1):
        check_bar(bars, i, raw[i], columns)
        assert bars.open_ns[i] == int(raw[i][0]) * 1_000_000_000
    assert bars.report.gap_rows[:2] == (2, 3)  # 00:00 -> 00:09 -> 00:12 (PROVENANCE rows)


def test_metadata_file_is_not_ohlcv() -> None:
    path = require_data(f"{DEPEG}/binanceus_metadata_range_1m_20230301_20230321.csv")
    with pytest.raises(DataError, match="not an OHLCV file: missing open, high, low, close"):
        read_ohlcv(path)


# -- small files: layouts, order rules, defects -------------------------------------------------

CDD_HEADER = "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount"


def write(path: Path, lines: list[str]) -> Path:
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_cdd_banner_and_mixed_units(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Binance_BTCUSDT_1h.csv.gz",
        [
            "https://www.CryptoDataDownload.com",
            CDD_HEADER,
            "1623283200000,2021-06-10 00:00:00,BTC/USDT,3,4,2,3.5,10,35,7",
            "1623279600.0,2021-06-09 11-PM,BTC/USDT,2,3,1,3,5,15,NULL",
            "1623276000,2021-06-09 10-PM,BTC/USDT,1,2,1,2,1,2,",
        ],
    )
    bars = read_ohlcv(path)
    assert bars.layout == "cryptodatadownload" and bars.report.reversed
    assert bars.open_ns.tolist() == [
        ns("2021-06-09 22:00"),
        ns("2021-06-09 23:00"),
        ns("2021-06-10 00:00"),
    ]
    assert bars.file_row.tolist() == [3, 2, 1]  # banner and header not counted
    assert bars.open.tolist() == [1, 2, 3] and bars.volume.tolist() == [1, 5, 10]
    assert bars.quote_volume is not None and bars.quote_volume.tolist() == [2, 15, 35]
    assert bars.trade_count is not None and bars.trade_count[2] == 7
    assert np.isnan(bars.trade_count[:2]).all()
    assert bars.report.time_mismatches == 0 and bars.interval == "1h"


def test_unordered_file_warns_and_keeps_order(tmp_path: Path) -> None:
    lines = ["open_time,open,high,low,close,volume"]
    for minute in (0, 1, 3, 2, 4):
        lines.append(f"2023-03-01T00:0{minute}:00Z,10,12,9,11,1")
    path = write(tmp_path / "x.csv", lines)
    with pytest.warns(DataWarning, match=r"row 4: the bar time goes back .* at 1 row"):
        bars = read_ohlcv(path)
    assert bars.report.order == "unordered" and not bars.report.reversed
    assert (bars.report.disorder, bars.report.disorder_rows) == (1, (4,))
    assert [int((t - ns("2023-03-01 00:00")) // 60e9) for t in bars.open_ns] == [0, 1, 3, 2, 4]
    assert bars.report.gaps == 0 and bars.symbol is None


def test_duplicates_gaps_and_ohlc_violations(tmp_path: Path) -> None:
    lines = ["timestamp,open,high,low,close,volume,quote_volume"]
    rows: list[tuple[int, float, float, float, float]] = [(0, 10, 12, 9, 11), (1, 11, 12, 10, 11)]
    rows += [(1, 11, 12, 10, 11), (2, 11, 10.5, 10, 11)]
    rows += [(5, 11, 12, 10, 11), (6, 11, 12, 11.5, 11)]
    for hour, o, h, lo, c in rows:
        lines.append(f"2024-01-01 0{hour}:00:00,{o},{h},{lo},{c},1,{c}")
    path = write(tmp_path / "ETHUSDT_1h.csv", lines)
    with pytest.warns(DataWarning, match=r"row 4: high < max\(open, close\).* at 2 row\(s\)"):
        bars = read_ohlcv(path)
    report = bars.report
    assert bars.symbol == "ETHUSDT" and bars.interval == "1h"
    assert (report.duplicates, report.duplicate_rows) == (1, (3,))
    assert (report.gaps, report.missing_bars, report.gap_rows) == (1, 2, (5,))
    assert (report.ohlc_violations, report.ohlc_violation_rows) == (2, (4, 6))


@pytest.mark.parametrize(
    ("line", "row", "match"),
    [
        ("2024-01-01 02:00:00,10,12,abc,11,1", 2, "column 'low' is not a number: 'abc'"),
        ("2024-01-01 02:00:00,10,12,9,,1", 2, "column 'close' is missing"),
        ("2024-01-01 02:00:00,10,12,9,11,-1", 2, "column 'volume' is -1.0"),
        ("2024-01-01 02:00:00,0,12,9,11,1", 2, "column 'open' is 0.0"),
        ("2024-01-01 02:00:00,10,12,9,11", 2, "has 5 fields, the header has 6"),
        ("yesterday,10,12,9,11,1", 2, "column 'timestamp' is not a time: 'yesterday'"),
    ],
)
def test_bad_rows(tmp_path: Path, line: str, row: int, match: str) -> None:
    lines = ["timestamp,open,high,low,close,volume", "2024-01-01 01:00:00,10,12,9,11,1", "", line]
    path = write(tmp_path / "bars.csv", lines)
    with pytest.raises(DataError, match=match) as info:
        read_ohlcv(path)
    assert (info.value.path, info.value.row) == (str(path), row)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_ohlcv(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="file is empty"):
        read_ohlcv(write(tmp_path / "empty.csv", [""]))
    with pytest.raises(DataError, match="headerless file with 3 fields"):
        read_ohlcv(write(tmp_path / "three.csv", ["1,2,3"]))
    with pytest.raises(DataError, match="missing a base volume column"):
        read_ohlcv(write(tmp_path / "novol.csv", ["time,open,high,low,close", "1,1,1,1,1"]))
    truncated = tmp_path / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(b"time,open,high,low,close,volume\n" * 2000)[:200])
    with pytest.raises(DataError, match="cannot read the file"):
        read_ohlcv(truncated)
    with pytest.raises(InvalidArgumentError, match="symbol"):
        read_ohlcv(write(tmp_path / "ok.csv", ["time,open,high,low,close,volume"]), symbol="")
