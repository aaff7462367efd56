"""Tests of invrisk.data.tardis_options (Tardis.dev ``options_chain`` CSV -> OptionChain snapshot).

No real Tardis options file is in shared/data, so the files are written here in the documented
layout (https://docs.tardis.dev/downloadable-csv-files#options_chain). ``DOC_PREVIEW`` is the
page's own "dataset preview" (nine Deribit rows, 2020-06-07/08), copied field for field; the
unit checks below reprice it with a Black-76 formula written out in this file (scipy's ``ndtr``
only), independent of invrisk. The round trip writes a real Deribit chain from shared/data
(``load_deribit_chain``) in the Tardis layout and reads it back.
"""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from invrisk.data import (
    TARDIS_OPTIONS_CHAIN_COLUMNS,
    OptionChain,
    TardisOptionsSnapshot,
    load_deribit_chain,
    load_tardis_options_chain,
    load_tardis_options_snapshot,
)
from invrisk.data.chains import _Row
from invrisk.data.tardis_options import _Columns, _parse_fast, _parse_row
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.instruments import Instrument, parse_deribit
from tests.conftest import require_data

NS = 1_000_000_000
US = 1_000
YEAR_NS = 365 * 86_400 * NS


def utc_ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Seconds-resolution UTC time in ns, computed with datetime only."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()) * NS


HEADER = ",".join(TARDIS_OPTIONS_CHAIN_COLUMNS)

# The "dataset preview" of options_chain on https://docs.tardis.dev/downloadable-csv-files
# (Deribit, file of 2020-06-08), verbatim; rows 1 and 2 are two updates of BTC-9JUN20-9875-P.
DOC_PREVIEW = """\
deribit,BTC-9JUN20-9875-P,1591574399413000,1591574400196008,put,9875,1591689600000000,0.1,0.0295,0.0205,15.0,55.91,0.0235,15.0,68.94,0.02210436,62.89,SYN.BTC-9JUN20,9756.36,-0.61752,0.00103,2.24964,-53.05655,-0.22796
deribit,BTC-9JUN20-9875-P,1591574404454000,1591574404473112,put,9875,1591689600000000,0.1,0.0295,0.0205,15.0,55.91,0.0235,15.0,68.94,0.02209480,62.86,SYN.BTC-9JUN20,9756.37,-0.61757,0.00103,2.24954,-53.02754,-0.22798
deribit,BTC-9JUN20-9875-C,1591574397505000,1591574400196010,call,9875,1591689600000000,44.3,0.0080,0.0095,0.5,61.00,0.0105,20.0,65.33,0.00992836,62.87,SYN.BTC-9JUN20,9756.25,0.38232,0.00103,2.24933,-53.03038,0.13272
deribit,BTC-9JUN20-9750-C,1591574399414000,1591574400196011,call,9750,1591689600000000,30.5,0.0145,0.0145,0.3,58.80,0.0160,20.0,65.02,0.01527998,62.05,SYN.BTC-9JUN20,9756.36,0.51442,0.00109,2.35092,-54.69903,0.17789
deribit,BTC-9JUN20-9750-P,1591574397562000,1591574400196012,put,9750,1591689600000000,0.8,0.0185,0.0140,0.3,59.40,0.0155,0.3,65.63,0.01464260,62.06,SYN.BTC-9JUN20,9756.25,-0.48570,0.00109,2.35092,-54.70775,-0.17832
deribit,BTC-9JUN20-9625-P,1591574397824000,1591574400197202,put,9625,1591689600000000,9.5,0.0130,0.0090,0.4,61.64,0.0105,0.4,68.29,0.00975848,65.01,SYN.BTC-9JUN20,9756.25,-0.35780,0.00097,2.20136,-53.66975,-0.13100
deribit,BTC-9JUN20-9625-C,1591574397359000,1591574400197208,call,9625,1591689600000000,18.0,0.0220,0.0215,15.0,57.39,0.0235,20.0,66.31,0.02320750,65.02,SYN.BTC-9JUN20,9756.18,0.64212,0.00097,2.20150,-53.67532,0.22058
deribit,BTC-9JUN20-9500-P,1591574397940000,1591574400197209,put,9500,1591689600000000,51.5,0.0065,0.0060,0.5,66.31,0.0065,17.1,68.91,0.00625625,67.64,SYN.BTC-9JUN20,9756.30,-0.25091,0.00080,1.87744,-47.62196,-0.09165
deribit,BTC-9JUN20-9500-C,1591574399413000,1591574400197211,call,9500,1591689600000000,43.8,0.0165,0.0315,20.0,62.19,0.0350,0.4,80.06,0.03252520,67.64,SYN.BTC-9JUN20,9756.36,0.74914,0.00080,1.87725,-47.61618,0.25540
"""
EXPIRY_9JUN20_NS = utc_ns(2020, 6, 9, 8)


def write_lines(path: Path, lines: Sequence[str], *, header: str = HEADER) -> Path:
    text = header + "\n" + "".join(line + "\n" for line in lines)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def preview_file(path: Path) -> Path:
    return write_lines(path, DOC_PREVIEW.splitlines())


def row_of(chain: OptionChain, instrument: str) -> dict[str, Any]:
    index = np.flatnonzero(chain.instrument == instrument)
    assert len(index) == 1, instrument
    return chain.select(index).rows()[0]


# -- a small row builder in the documented layout -------------------------------------------

EXP_26JUN20_US = utc_ns(2020, 6, 26, 8) // US
EXP_9JUN20_US = EXPIRY_9JUN20_NS // US
T0_US = utc_ns(2020, 6, 8, 12) // US
"""2020-06-08 12:00 UTC, in µs."""


def tardis_line(symbol: str, timestamp_us: int, /, **fields: object) -> str:
    """One options_chain line for ``symbol``; ``fields`` override the defaults by column name."""
    parts = symbol.split("-")
    is_call = parts[-1] == "C"
    strike = parts[2].replace("d", ".")
    expiration = {"9JUN20": EXP_9JUN20_US, "26JUN20": EXP_26JUN20_US}[parts[1]]
    values: dict[str, object] = {
        "exchange": "deribit",
        "symbol": symbol,
        "timestamp": timestamp_us,
        "local_timestamp": timestamp_us + 1_500,
        "type": "call" if is_call else "put",
        "strike_price": strike,
        "expiration": expiration,
        "open_interest": 12.5,
        "last_price": 0.05,
        "bid_price": 0.0500,
        "bid_amount": 3.0,
        "bid_iv": 60.5,
        "ask_price": 0.0525,
        "ask_amount": 4.5,
        "ask_iv": 63.25,
        "mark_price": 0.05125,
        "mark_iv": 61.75,
        "underlying_index": f"SYN.{parts[0]}-{parts[1]}",
        "underlying_price": 9700.5,
        "delta": 0.5 if is_call else -0.5,
        "gamma": 0.0002,
        "vega": 7.25,
        "theta": -20.5,
        "rho": 1.25,
    }
    unknown = set(fields) - set(values)
    assert not unknown, unknown
    values.update(fields)
    return ",".join("" if v is None else str(v) for v in values.values())


C9000 = "BTC-26JUN20-9000-C"
P9000 = "BTC-26JUN20-9000-P"
C10000 = "BTC-26JUN20-10000-C"
P9J = "BTC-9JUN20-9500-P"  # expires 2020-06-09 08:00
ETH = "ETH-26JUN20-250-C"
LINEAR = "BTC_USDC-26JUN20-9000-C"
SEC_US = 1_000_000

# A day-stream in miniature, in file (arrival) order; the snapshot is taken at T0 + 100 s.
AT_NS = (T0_US + 100 * SEC_US) * US
STREAM = [
    tardis_line(C9000, T0_US, mark_price=0.0500),  # 1: superseded
    tardis_line(P9000, T0_US + 10 * SEC_US, mark_price=0.0300),  # 2: superseded by 5
    tardis_line(C9000, T0_US + 90 * SEC_US, mark_price=0.0510),  # 3: superseded by 4 (equal ts)
    tardis_line(C9000, T0_US + 90 * SEC_US, mark_price=0.0520),  # 4: kept (later in the file)
    tardis_line(P9000, T0_US + 60 * SEC_US, mark_price=0.0310),  # 5: kept
    tardis_line(P9000, T0_US + 30 * SEC_US, mark_price=0.0299),  # 6: older, arrives late: ignored
    tardis_line(C10000, T0_US + 5 * SEC_US, mark_price=0.0100),  # 7: latest of C10000: stale
    tardis_line(P9J, T0_US + 95 * SEC_US),  # 8: kept (expires the next day)
    tardis_line(ETH, T0_US + 50 * SEC_US, mark_price=0.0700),  # 9: kept unless currency="BTC"
    tardis_line(LINEAR, T0_US + 50 * SEC_US, mark_price=500.0),  # 10: linear: skipped
    tardis_line(C9000, T0_US + 100 * SEC_US + 1, mark_price=0.0530),  # 11: 1 µs after at_ns
    tardis_line(C10000, T0_US + 200 * SEC_US, mark_price=0.0110),  # 12: after at_ns
]


# -- the documentation's preview rows ----------------------------------------------------------


def test_doc_preview_latest_rows_and_units(tmp_path: Path) -> None:
    path = preview_file(tmp_path / "OPTIONS.csv")
    at_ns = 1591574404454000 * US  # row 2's timestamp: every row is at or before it
    snap = load_tardis_options_snapshot(path, at_ns=at_ns)
    chain = snap.chain
    assert isinstance(snap, TardisOptionsSnapshot)
    assert (snap.rows_read, snap.rows_after, snap.expired_instruments) == (9, 0, 0)
    assert (snap.stale_instruments, snap.linear_instruments) == (0, 0)
    assert chain.format == "tardis_options_chain"
    assert chain.source == str(path)
    # sorted by expiry, strike, right (put first)
    assert list(chain.instrument) == [
        f"BTC-9JUN20-{k}-{r}" for k in (9500, 9625, 9750, 9875) for r in ("P", "C")
    ]
    put = row_of(chain, "BTC-9JUN20-9875-P")  # preview row 2, the later update
    assert put == {
        "instrument": "BTC-9JUN20-9875-P",
        "currency": "BTC",
        "expiry_ns": EXPIRY_9JUN20_NS,
        "strike": 9875.0,
        "right": -1,
        "bid_coin": 0.0205,
        "ask_coin": 0.0235,
        "mark_coin": 0.02209480,
        "bid_qty": 15.0,
        "ask_qty": 15.0,
        "forward_usd": 9756.37,
        "index_usd": None,
        "valuation_ns": 1591574404454000 * US,
        "t_yr": (EXPIRY_9JUN20_NS - 1591574404454000 * US) / YEAR_NS,
        "mark_iv": 62.86 / 100,
        "bid_iv": 55.91 / 100,
        "ask_iv": 68.94 / 100,
        "delta": -0.61757,
        "gamma": 0.00103,
        "vega": 2.24954,
        "theta": -53.02754,
        "rho": -0.22798,
    }


def black76_usd(
    *, forward: float, strike: float, t_yr: float, vol: float, right: int
) -> tuple[float, float, float, float]:
    """Black-76, r = 0: (price, delta, vega per vol point, theta per day), all in USD."""
    sd = vol * math.sqrt(t_yr)
    d1 = (math.log(forward / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    call = forward * ndtr(d1) - strike * ndtr(d2)
    price = call if right == 1 else call - (forward - strike)
    delta = ndtr(d1) if right == 1 else ndtr(d1) - 1.0
    vega_pt = forward * pdf * math.sqrt(t_yr) / 100.0
    theta_day = -forward * pdf * vol / (2.0 * math.sqrt(t_yr)) / 365.0
    return price, delta, vega_pt, theta_day


def test_doc_preview_units_reprice_with_black76(tmp_path: Path) -> None:
    """Mapped columns are consistent with Black-76 on forward_usd: IV decimal, price in coin.

    Tolerances: the file rounds mark_iv to 0.01 vol point (price ~2e-4 relative), delta to 5
    decimals; Deribit's theta is its own short-dated convention (within 0.1 % here).
    """
    chain = load_tardis_options_chain(preview_file(tmp_path / "p.csv"), at_ns=EXPIRY_9JUN20_NS - 1)
    assert len(chain) == 8
    for row in chain.rows():
        price, delta, vega, theta = black76_usd(
            forward=row["forward_usd"],
            strike=row["strike"],
            t_yr=row["t_yr"],
            vol=row["mark_iv"],
            right=row["right"],
        )
        assert row["mark_coin"] == pytest.approx(price / row["forward_usd"], rel=1e-3, abs=2e-5)
        assert row["delta"] == pytest.approx(delta, abs=2e-5)
        assert row["vega"] == pytest.approx(vega, rel=1e-4)
        assert row["theta"] == pytest.approx(theta, rel=1e-3)


@pytest.mark.parametrize(
    ("at_us", "kept", "after", "put_ts_us"),
    [
        (1591574404454000, 8, 0, 1591574404454000),
        (1591574404453999, 8, 1, 1591574399413000),  # 1 µs before row 2: row 1 is the latest
        (1591574400000000, 8, 1, 1591574399413000),
        (1591574399000000, 5, 4, None),  # only the rows stamped ...397xxx
        (1591574397000000, 0, 9, None),
    ],
)
def test_doc_preview_snapshot_time(
    tmp_path: Path, at_us: int, kept: int, after: int, put_ts_us: int | None
) -> None:
    snap = load_tardis_options_snapshot(preview_file(tmp_path / "p.csv"), at_ns=at_us * US)
    assert (len(snap.chain), snap.rows_after) == (kept, after)
    assert np.all(snap.chain.valuation_ns <= at_us * US)
    if put_ts_us is not None:
        assert row_of(snap.chain, "BTC-9JUN20-9875-P")["valuation_ns"] == put_ts_us * US


def test_doc_preview_staleness(tmp_path: Path) -> None:
    path = preview_file(tmp_path / "p.csv")
    at_ns = 1591574400000000 * US
    snap = load_tardis_options_snapshot(path, at_ns=at_ns, max_staleness_ns=1 * NS)
    # rows at ...399413/399414 are within 1 s of at_ns; the five ...397xxx rows are older
    assert sorted(snap.chain.instrument) == [
        "BTC-9JUN20-9500-C",
        "BTC-9JUN20-9750-C",
        "BTC-9JUN20-9875-P",
    ]
    assert snap.stale_instruments == 5
    assert snap.max_staleness_ns == NS
    # the limit is inclusive: a row exactly max_staleness_ns old is kept
    oldest = 1591574397359000 * US  # BTC-9JUN20-9625-C
    edge = load_tardis_options_snapshot(path, at_ns=at_ns, max_staleness_ns=at_ns - oldest)
    assert (len(edge.chain), edge.stale_instruments) == (8, 0)
    edge = load_tardis_options_snapshot(path, at_ns=at_ns, max_staleness_ns=at_ns - oldest - 1)
    assert (len(edge.chain), edge.stale_instruments) == (7, 1)
    assert "BTC-9JUN20-9625-C" not in edge.chain.instrument


def test_doc_preview_expiry_is_exclusive(tmp_path: Path) -> None:
    path = preview_file(tmp_path / "p.csv")
    assert len(load_tardis_options_chain(path, at_ns=EXPIRY_9JUN20_NS - 1)) == 8
    snap = load_tardis_options_snapshot(path, at_ns=EXPIRY_9JUN20_NS)
    assert (len(snap.chain), snap.expired_instruments) == (0, 8)
    assert snap.chain.instrument.dtype == object and snap.chain.t_yr.shape == (0,)


# -- snapshot rules on a small stream ----------------------------------------------------------


def test_stream_snapshot(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "stream.csv", STREAM)
    snap = load_tardis_options_snapshot(path, at_ns=AT_NS, max_staleness_ns=60 * NS)
    chain = snap.chain
    assert list(chain.instrument) == [P9J, P9000, C9000, ETH]  # currency, expiry, strike, right
    assert row_of(chain, C9000)["mark_coin"] == 0.0520  # row 4: equal timestamp, later in file
    assert row_of(chain, C9000)["valuation_ns"] == (T0_US + 90 * SEC_US) * US
    assert row_of(chain, P9000)["mark_coin"] == 0.0310  # row 5, not the late older row 6
    assert row_of(chain, ETH)["currency"] == "ETH"
    assert snap.rows_read == 12
    assert snap.rows_after == 2  # rows 11 and 12
    assert snap.stale_instruments == 1  # C10000: latest row at or before at_ns is 95 s old
    assert snap.expired_instruments == 0
    assert snap.linear_instruments == 1
    assert snap.at_ns == AT_NS
    # without a staleness limit the stale instrument is back, with its old row
    loose = load_tardis_options_snapshot(path, at_ns=AT_NS)
    assert (len(loose.chain), loose.stale_instruments) == (5, 0)
    assert row_of(loose.chain, C10000)["valuation_ns"] == (T0_US + 5 * SEC_US) * US


def test_stream_expired_instrument(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "stream.csv", STREAM)
    at_ns = EXPIRY_9JUN20_NS  # P9J expires exactly now: excluded
    snap = load_tardis_options_snapshot(path, at_ns=at_ns, currency="BTC")
    assert P9J not in snap.chain.instrument
    assert snap.expired_instruments == 1
    assert sorted(snap.chain.instrument) == sorted([C9000, P9000, C10000])
    assert row_of(snap.chain, C10000)["mark_coin"] == 0.0110  # row 12 is now in the past
    assert snap.rows_after == 0


def test_currency_filter_still_validates_every_row(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "stream.csv", STREAM)
    eth = load_tardis_options_chain(path, at_ns=AT_NS, currency="eth")
    assert list(eth.instrument) == [ETH]
    assert eth.currencies() == ("ETH",)
    bad = write_lines(tmp_path / "bad.csv", [*STREAM, tardis_line(C9000, T0_US, vega="x")])
    with pytest.raises(DataError, match=r"bad\.csv, row 13: column 'vega' is not a number"):
        load_tardis_options_chain(bad, at_ns=AT_NS, currency="ETH")


def test_gzip_equals_plain(tmp_path: Path) -> None:
    plain = load_tardis_options_chain(write_lines(tmp_path / "s.csv", STREAM), at_ns=AT_NS)
    zipped = load_tardis_options_chain(write_lines(tmp_path / "s.csv.gz", STREAM), at_ns=AT_NS)
    assert zipped.source.endswith("s.csv.gz")
    assert zipped.to_dict() == plain.to_dict()


def test_sentinels_and_empty_fields(tmp_path: Path) -> None:
    lines = [
        # no bid (Tardis: empty), ask at Deribit's 500 % IV cap: price kept, IV unknown
        tardis_line(C9000, T0_US, bid_price=None, bid_amount=None, bid_iv=None, ask_iv=500),
        # zero placeholders as Deribit sends them: empty side, no IV; mark IV 0 -> NaN
        tardis_line(P9000, T0_US, bid_price=0, bid_amount=0, bid_iv=0, mark_iv=0),
        # greeks and underlying not provided
        tardis_line(C10000, T0_US, underlying_price=None, delta=None, rho=None, ask_amount=None),
    ]
    chain = load_tardis_options_chain(write_lines(tmp_path / "s.csv", lines), at_ns=AT_NS)
    c = row_of(chain, C9000)
    assert (c["bid_coin"], c["bid_qty"], c["bid_iv"]) == (None, None, None)
    assert (c["ask_coin"], c["ask_qty"], c["ask_iv"]) == (0.0525, 4.5, None)
    assert c["mark_iv"] == 61.75 / 100
    p = row_of(chain, P9000)
    assert (p["bid_coin"], p["bid_qty"], p["bid_iv"], p["mark_iv"]) == (None, None, None, None)
    assert p["ask_iv"] == 63.25 / 100
    k = row_of(chain, C10000)
    assert (k["forward_usd"], k["delta"], k["rho"], k["ask_qty"]) == (None, None, None, None)
    assert (k["ask_coin"], k["gamma"]) == (0.0525, 0.0002)


def test_optional_columns_and_column_order(tmp_path: Path) -> None:
    """Only the mapped columns are required; they are found by name, in any order."""
    unused = {"local_timestamp", "open_interest", "last_price", "underlying_index"}
    columns = [c for c in reversed(TARDIS_OPTIONS_CHAIN_COLUMNS) if c not in unused]
    full = dict(
        zip(TARDIS_OPTIONS_CHAIN_COLUMNS, DOC_PREVIEW.splitlines()[0].split(","), strict=True)
    )
    path = write_lines(
        tmp_path / "min.csv", [",".join(full[c] for c in columns)], header=",".join(columns)
    )
    chain = load_tardis_options_chain(path, at_ns=EXPIRY_9JUN20_NS - 1)
    reference = load_tardis_options_chain(
        write_lines(tmp_path / "full.csv", DOC_PREVIEW.splitlines()[:1]),
        at_ns=EXPIRY_9JUN20_NS - 1,
    )
    assert chain.to_dict() == reference.to_dict()


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    lines = [STREAM[0], "", ",,,", STREAM[1], tardis_line(C9000, T0_US, bid_amount="-1")]
    path = write_lines(tmp_path / "blank.csv", lines)
    with pytest.raises(DataError) as info:
        load_tardis_options_chain(path, at_ns=AT_NS)
    assert info.value.row == 3
    assert "column 'bid_amount' has a negative size -1.0" in str(info.value)


# -- errors ------------------------------------------------------------------------------------

# (fields to override on the 3rd data row, message fragment). Rows 1-2 are valid rows of the
# same instrument, so a defect is met both when the symbol is new and when it is cached.
BAD_FIELDS: list[tuple[dict[str, object], str]] = [
    ({"bid_price": "abc"}, "column 'bid_price' is not a number: 'abc'"),
    ({"ask_amount": "-2"}, "column 'ask_amount' has a negative size -2.0"),
    ({"mark_price": "-0.01"}, "column 'mark_price' has a negative price -0.01"),
    ({"underlying_price": "-1"}, "column 'underlying_price' has a negative price -1.0"),
    ({"bid_iv": "-5"}, "column 'bid_iv' has a negative IV -5.0"),
    ({"theta": "inf"}, "column 'theta' is infinite: 'inf'"),
    ({"gamma": "1e999"}, "column 'gamma' is infinite: '1e999'"),
    ({"timestamp": "1591574399413000.5"}, "column 'timestamp' is not an integer microsecond"),
    ({"timestamp": ""}, "column 'timestamp' is not an integer microsecond timestamp: ''"),
    ({"timestamp": "²"}, "column 'timestamp' is not an integer microsecond timestamp: '²'"),
    ({"expiration": "1593158400000"}, "expiry column (1593158400000000 ns) disagrees"),
    ({"expiration": str(EXP_26JUN20_US + 1)}, "disagrees with instrument 'BTC-26JUN20-9000-C'"),
    ({"strike_price": "9500"}, "strike column (9500.0) disagrees"),
    ({"strike_price": ""}, "column 'strike_price' is empty"),
    ({"type": "put"}, "option type column disagrees with instrument 'BTC-26JUN20-9000-C'"),
    ({"type": "straddle"}, "column 'type' has an unknown option type 'straddle'"),
    ({"exchange": "okex-options"}, "exchange 'okex-options' is not supported"),
    ({"symbol": "BTC-26JUN20-9000"}, "instrument name does not parse"),
    ({"symbol": "BTC-PERPETUAL"}, "instrument 'BTC-PERPETUAL' is a perpetual, not an option"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_FIELDS)
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_malformed_row(
    tmp_path: Path, fields: dict[str, object], message: str, suffix: str
) -> None:
    lines = [
        tardis_line(C9000, T0_US),
        tardis_line(C9000, T0_US + SEC_US),
        tardis_line(C9000, T0_US + 2 * SEC_US, **fields),
        tardis_line(C9000, T0_US + 3 * SEC_US),
    ]
    path = write_lines(tmp_path / f"bad{suffix}", lines)
    with pytest.raises(DataError) as info:
        load_tardis_options_chain(path, at_ns=AT_NS)
    assert info.value.path == str(path)
    assert info.value.row == 3
    assert str(info.value).startswith(f"{path}, row 3: ")
    assert message in str(info.value)


def test_malformed_row_after_the_snapshot_time_still_raises(tmp_path: Path) -> None:
    lines = [*STREAM, tardis_line(C9000, T0_US + 3_600 * SEC_US, mark_iv="n/a")]
    path = write_lines(tmp_path / "late.csv", lines)
    with pytest.raises(DataError, match=r"late\.csv, row 13: column 'mark_iv' is not a number"):
        load_tardis_options_chain(path, at_ns=AT_NS)


def test_short_and_long_rows(tmp_path: Path) -> None:
    short = write_lines(tmp_path / "short.csv", [STREAM[0], STREAM[1].rsplit(",", 1)[0]])
    with pytest.raises(DataError, match=r"short\.csv, row 2: has 23 fields, the header has 24"):
        load_tardis_options_chain(short, at_ns=AT_NS)
    long = write_lines(tmp_path / "long.csv", [STREAM[0] + ",extra"])
    with pytest.raises(DataError, match=r"long\.csv, row 1: has 25 fields, the header has 24"):
        load_tardis_options_chain(long, at_ns=AT_NS)


def test_file_level_errors(tmp_path: Path) -> None:
    missing = write_lines(
        tmp_path / "quotes.csv",
        ["deribit,BTC-PERPETUAL,1,2,10,9000,9001,20"],
        header="exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,"
        "bid_amount",
    )
    with pytest.raises(DataError, match=r"quotes\.csv: not a Tardis options_chain file") as info:
        load_tardis_options_chain(missing, at_ns=AT_NS)
    assert info.value.row is None
    assert "'type', 'strike_price', 'expiration'" in str(info.value)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        load_tardis_options_chain(empty, at_ns=AT_NS)
    with pytest.raises(DataError, match="cannot read"):
        load_tardis_options_chain(tmp_path / "absent.csv", at_ns=AT_NS)
    fake_gz = write_lines(tmp_path / "plain.csv", STREAM).rename(tmp_path / "plain.csv.gz")
    with pytest.raises(DataError, match=r"plain\.csv\.gz: cannot read the file"):
        load_tardis_options_chain(fake_gz, at_ns=AT_NS)
    truncated = tmp_path / "cut.csv.gz"
    data = gzip.compress((HEADER + "\n" + "\n".join(STREAM * 50) + "\n").encode())
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.csv\.gz, row \d+: cannot read the file"):
        load_tardis_options_chain(truncated, at_ns=AT_NS)
    headerless = write_lines(tmp_path / "noheader.csv", STREAM[1:], header=STREAM[0])
    with pytest.raises(DataError, match="not a Tardis options_chain file"):
        load_tardis_options_chain(headerless, at_ns=AT_NS)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"at_ns": 1.5e18}, "at_ns"),
        ({"at_ns": True}, "at_ns"),
        ({"at_ns": "2020-06-08"}, "at_ns"),
        ({"at_ns": AT_NS, "max_staleness_ns": -1}, "max_staleness_ns"),
        ({"at_ns": AT_NS, "max_staleness_ns": 1.0}, "max_staleness_ns"),
        ({"at_ns": AT_NS, "currency": "B-TC"}, "currency"),
        ({"at_ns": AT_NS, "currency": ""}, "currency"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, Any], argument: str) -> None:
    path = write_lines(tmp_path / "s.csv", STREAM)
    with pytest.raises(InvalidArgumentError) as info:
        load_tardis_options_snapshot(path, **kwargs)
    assert info.value.argument == argument


def test_numpy_integer_arguments(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "s.csv", STREAM)
    at_ns: Any = np.int64(AT_NS)  # accepted at run time like an int
    staleness: Any = np.int64(60 * NS)
    snap = load_tardis_options_snapshot(path, at_ns=at_ns, max_staleness_ns=staleness)
    assert type(snap.at_ns) is int and type(snap.max_staleness_ns) is int
    assert len(snap.chain) == 4


# -- the fast path gives the reference path's record, or defers to it -------------------------

PLAIN = ["", "0", "-0", "0.0", "1", "15.0", "0.0205", "55.91", "500", "499.99", "nan", "1e-3"]
ODD = ["-1", "-0.5", "-53.05655", " ", "NaN", "None", "null", "inf", "-inf", "1e999", "abc",
       "1_000", " 2.5", "3.5 "]  # fmt: skip
NUMBER_COLUMNS = [
    "bid_price", "bid_amount", "bid_iv", "ask_price", "ask_amount", "ask_iv", "mark_price",
    "mark_iv", "underlying_price", "delta", "gamma", "vega", "theta", "rho",
]  # fmt: skip
KEY_VARIANTS: Mapping[str, list[str]] = {
    "exchange": [" deribit", "okex-options", "Deribit"],
    "timestamp": [f" {T0_US}", "12.5", "", "٣", "²"],
    "type": ["CALL", "c", "put", ""],
    "strike_price": ["9000.0", " 9000", "9500", "", "nan", "9e3"],
    "expiration": [str(EXP_26JUN20_US + 1), "", "x", f"{EXP_26JUN20_US} "],
}
"""Variants of the key fields (the plain value is the row's own)."""


def fields_from(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)


@settings(max_examples=500, deadline=None)
@given(
    numbers=st.fixed_dictionaries({c: st.sampled_from(PLAIN) for c in NUMBER_COLUMNS}),
    odd=st.lists(st.tuples(st.sampled_from(NUMBER_COLUMNS), st.sampled_from(ODD)), max_size=2).map(
        fields_from
    ),
    keys=st.lists(
        st.sampled_from(sorted(KEY_VARIANTS)).flatmap(
            lambda c: st.tuples(st.just(c), st.sampled_from(KEY_VARIANTS[c]))
        ),
        max_size=1,
    ).map(fields_from),
)
def test_fast_path_matches_reference(
    numbers: dict[str, str], odd: dict[str, str], keys: dict[str, str]
) -> None:
    """Cross-implementation: the fast path gives the reference record or defers (``None``).

    Rows are plain numbers with at most two odd number fields and one odd key field.
    """
    header = list(TARDIS_OPTIONS_CHAIN_COLUMNS)
    line = tardis_line(C9000, T0_US).split(",")
    values = dict(zip(header, line, strict=True)) | numbers | odd | keys
    row = _Row("x.csv", header)
    row.number = 7
    row.values = [values[c] for c in header]
    cache: dict[str, Instrument] = {C9000: parse_deribit(C9000)}
    reference: tuple[Instrument, Any] | None
    try:
        reference = _parse_row(row, cache)
    except DataError as exc:
        reference = None
        assert exc.row == 7
    fast = _parse_fast(row.values, _Columns.of(header), cache)
    if fast is not None:
        assert reference is not None
        assert fast[0] is reference[0]
        assert_same_record(fast[1], reference[1])
    elif not odd and not keys:
        pytest.fail(f"the fast path deferred a plain row: {numbers}")


def test_fast_path_takes_the_doc_preview_rows() -> None:
    header = list(TARDIS_OPTIONS_CHAIN_COLUMNS)
    columns = _Columns.of(header)
    cache: dict[str, Instrument] = {}
    for number, line in enumerate(DOC_PREVIEW.splitlines(), start=1):
        row = _Row("p.csv", header)
        row.number = number
        row.values = line.split(",")
        reference = _parse_row(row, cache)  # caches the symbol
        fast = _parse_fast(row.values, columns, cache)
        assert fast is not None
        assert_same_record(fast[1], reference[1])


def assert_same_record(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y)
        else:
            assert type(x) is type(y) and x == y


# -- round trip with a real Deribit chain ------------------------------------------------------

F_2020_05_14 = "deribit_ticker_greeks_2020-05/btc_options_ticker_2020-05-14.csv"
SHARED = [c for c in OptionChain.COLUMNS if c != "index_usd"]
"""Every normalised column but the index price, which a Tardis options_chain does not carry."""


def num(value: float | None, scale: float = 1.0) -> str:
    """A float written so that it reads back exactly (empty for a missing value)."""
    return "" if value is None else repr(value * scale)


def write_tardis(chain: OptionChain, *, shift_ns: int = 0, **fields: object) -> list[str]:
    """``chain`` as options_chain lines (times shifted by ``shift_ns``; ``fields`` override)."""
    lines = []
    for row in chain.rows():
        values = {
            "exchange": "deribit",
            "symbol": row["instrument"],
            "timestamp": (row["valuation_ns"] + shift_ns) // US,
            "local_timestamp": (row["valuation_ns"] + shift_ns) // US + 20_000,
            "type": "call" if row["right"] == 1 else "put",
            "strike_price": repr(row["strike"]),
            "expiration": row["expiry_ns"] // US,
            "open_interest": "",
            "last_price": "",
            "bid_price": num(row["bid_coin"]),
            "bid_amount": num(row["bid_qty"]),
            "bid_iv": num(row["bid_iv"], 100.0),
            "ask_price": num(row["ask_coin"]),
            "ask_amount": num(row["ask_qty"]),
            "ask_iv": num(row["ask_iv"], 100.0),
            "mark_price": num(row["mark_coin"]),
            "mark_iv": num(row["mark_iv"], 100.0),
            "underlying_index": "SYN.BTC",
            "underlying_price": num(row["forward_usd"]),
            "delta": num(row["delta"]),
            "gamma": num(row["gamma"]),
            "vega": num(row["vega"]),
            "theta": num(row["theta"]),
            "rho": num(row["rho"]),
        } | fields
        lines.append(",".join(str(values[c]) for c in TARDIS_OPTIONS_CHAIN_COLUMNS))
    return lines


def test_round_trip_real_deribit_chain(tmp_path: Path) -> None:
    original = load_deribit_chain(require_data(F_2020_05_14))
    assert len(original) == 310  # PROVENANCE row count
    at_ns = int(original.valuation_ns.max())
    # The day as a stream: an older update of every option before the real one, then updates
    # after the snapshot time; written to a gzip file in shuffled arrival order per block.
    rng = np.random.default_rng(20200514)
    older = write_tardis(original, shift_ns=-3_600 * NS, mark_price="0.5")
    real = write_tardis(original)
    later = write_tardis(original, timestamp=at_ns // US + 1, mark_iv="99.0")
    lines = [block[i] for block in (older, real, later) for i in rng.permutation(len(block))]
    path = write_lines(tmp_path / "OPTIONS.csv.gz", lines)

    snap = load_tardis_options_snapshot(path, at_ns=at_ns)
    assert (snap.rows_read, snap.rows_after, snap.expired_instruments) == (930, 310, 0)
    loaded = snap.chain
    order = np.lexsort((original.instrument, original.right, original.strike, original.expiry_ns))
    expected = original.select(order)
    assert len(loaded) == len(expected) == 310
    for name in SHARED:
        got, want = loaded.column(name), expected.column(name)
        assert got.dtype == want.dtype, name
        if name in ("mark_iv", "bid_iv", "ask_iv"):  # written as percent: x * 100 / 100
            np.testing.assert_allclose(got, want, rtol=4e-16, atol=0, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
    assert np.isnan(loaded.index_usd).all()

    # staleness against the same chain: the sweep took 2.5 minutes
    limit_ns = 60 * NS
    stale = load_tardis_options_snapshot(path, at_ns=at_ns, max_staleness_ns=limit_ns)
    n_stale = int(np.sum(at_ns - original.valuation_ns > limit_ns))
    assert 0 < n_stale < 310
    assert stale.stale_instruments == n_stale
    assert len(stale.chain) == 310 - n_stale
    assert np.all(at_ns - stale.chain.valuation_ns <= limit_ns)


def test_round_trip_csv_writer_quoting(tmp_path: Path) -> None:
    """The reader is a real CSV reader: quoted fields (as csv.writer may emit) are accepted."""
    path = tmp_path / "quoted.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(TARDIS_OPTIONS_CHAIN_COLUMNS)
        for line in DOC_PREVIEW.splitlines():
            writer.writerow(line.split(","))
    quoted = load_tardis_options_chain(path, at_ns=EXPIRY_9JUN20_NS - 1)
    plain = load_tardis_options_chain(preview_file(tmp_path / "p.csv"), at_ns=EXPIRY_9JUN20_NS - 1)
    assert quoted.to_dict() == plain.to_dict()
