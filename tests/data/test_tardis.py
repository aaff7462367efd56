"""Tests of invrisk.data.tardis (Tardis.dev downloadable CSV datasets -> EVENT_DTYPE arrays).

Real data: the two files of ``binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format``
(Binance USD-M BTCUSDT, 2024-08-08 23:54-23:59 UTC, in the Tardis ``incremental_book_L2`` and
``trades`` schemas). Their PROVENANCE.txt gives the reference numbers asserted here: 445,262 and
21,313 data rows, 2,000 ``is_snapshot`` rows, a replayed final BBO of 61659.7 / 61659.8 with
5,018 bid and 4,578 ask levels (the same as the replay of the raw Binance stream), and the
recorder's clock about 1.27 s behind Binance's. The replays below are independent of the
reader: a dict-based book written in this file, and ``invrisk.market.book.L2Book``.

The other datasets have no real file in shared/data: small files are written here in the
documented layouts (https://docs.tardis.dev/downloadable-csv-files/data-types), and every
file is also read by a naive ``csv.DictReader`` reference written in this file from the
documented rules, which must give the same events.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.data.events import EVENT_DTYPE, EventArray, EventKind, Side
from invrisk.data.tardis import (
    TARDIS_COLUMNS,
    TARDIS_DATASETS,
    TardisData,
    iter_tardis,
    read_tardis,
)
from invrisk.errors import DataError, DataWarning, InvalidArgumentError
from tests.conftest import require_data

FOLDER = "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format"
L2_FILE = f"{FOLDER}/binance-futures_incremental_book_L2_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
TRADES_FILE = f"{FOLDER}/binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"

L2_HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
TRADES_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
QUOTES_HEADER = (
    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
)
TICKER_HEADER = (
    "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,"
    "predicted_funding_rate,open_interest,last_price,index_price,mark_price"
)

# -- an independent reference: csv.DictReader and the documented rules -------------------------

_SIDES = {"bid": 1, "ask": -1, "buy": 1, "sell": -1, "unknown": 0}


def _open(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def reference_events(path: Path, dataset: str) -> list[tuple[object, ...]]:
    """(exch_ns, local_ns, kind, side, price, qty, update_id, symbol) per event, naively."""
    out: list[tuple[object, ...]] = []
    previous_snapshot: dict[str, bool] = {}
    with _open(path) as handle:
        for rec in csv.DictReader(handle):
            t = int(rec["timestamp"]) * 1000
            lt = int(rec["local_timestamp"]) * 1000
            sym = rec["symbol"]

            def add(kind: int, side: int, price: float, qty: float, uid: int = -1) -> None:
                out.append((t, lt, kind, side, price, qty, uid, sym))  # noqa: B023

            if dataset == "incremental_book_L2":
                snap = rec["is_snapshot"] == "true"
                seen = sym in previous_snapshot
                if not snap and not seen:
                    continue  # before the symbol's first snapshot: skipped
                if snap and not previous_snapshot.get(sym, False):
                    add(3, 0, 0.0, 0.0)
                previous_snapshot[sym] = snap
                add(
                    2 if snap else 1, _SIDES[rec["side"]], float(rec["price"]), float(rec["amount"])
                )
            elif dataset == "trades":
                uid = int(rec["id"]) if rec["id"].isdigit() and len(rec["id"]) <= 18 else -1
                add(4, _SIDES[rec["side"]], float(rec["price"]), float(rec["amount"]), uid)
            elif dataset.startswith("book_snapshot_"):
                depth = int(dataset.rsplit("_", 1)[1])
                add(3, 0, 0.0, 0.0)
                for name, side in (("bids", 1), ("asks", -1)):
                    for i in range(depth):
                        p = rec[f"{name}[{i}].price"]
                        if p:
                            add(2, side, float(p), float(rec[f"{name}[{i}].amount"]))
            elif dataset == "quotes":
                for name, side in (("bid", 1), ("ask", -1)):
                    if rec[f"{name}_price"]:
                        add(5, side, float(rec[f"{name}_price"]), float(rec[f"{name}_amount"]))
            elif dataset == "derivative_ticker":
                for column, kind in (("funding_rate", 8), ("mark_price", 6), ("index_price", 7)):
                    if rec[column]:
                        add(kind, 0, float(rec[column]), 0.0)
                if rec["open_interest"]:
                    add(9, 0, 0.0, float(rec["open_interest"]))
    return out


def as_tuples(data: TardisData) -> list[tuple[object, ...]]:
    ev = data.events
    return [
        (int(r["exch_ns"]), int(r["local_ns"]), int(r["kind"]), int(r["side"]), float(r["price"]),
         float(r["qty"]), int(r["update_id"]), data.symbols[int(r["instrument"])])
        for r in ev
    ]  # fmt: skip


def write(path: Path, lines: Sequence[str]) -> Path:
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def replay_dict(events: EventArray) -> tuple[dict[float, float], dict[float, float]]:
    """A plain-dict L2 book: absolute sizes, 0 deletes, CLEAR empties the side(s)."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for kind, side, price, qty in zip(
        events["kind"].tolist(), events["side"].tolist(), events["price"].tolist(),
        events["qty"].tolist(), strict=True,
    ):  # fmt: skip
        if kind == EventKind.CLEAR:
            if side in (0, 1):
                bids.clear()
            if side in (0, -1):
                asks.clear()
        elif kind in (EventKind.DEPTH, EventKind.SNAPSHOT):
            book = bids if side == 1 else asks
            if qty == 0.0:
                book.pop(price, None)
            else:
                book[price] = qty
    return bids, asks


# -- the real Binance files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_l2() -> TardisData:
    path = require_data(L2_FILE)
    with pytest.warns(DataWarning, match=r"row 2001: local_timestamp goes backwards at 1 row"):
        return read_tardis(path)


@pytest.fixture(scope="module")
def real_trades() -> TardisData:
    return read_tardis(require_data(TRADES_FILE))


def test_real_l2_counts(real_l2: TardisData) -> None:
    assert real_l2.dataset == "incremental_book_L2"  # from the file name
    assert real_l2.exchange == "binance-futures"
    assert real_l2.symbols == ("BTCUSDT",)
    assert real_l2.rows_read == 445_262  # PROVENANCE.txt data_rows
    assert real_l2.pre_snapshot_rows == 0
    assert real_l2.warnings == 1
    ev = real_l2.events
    assert ev.dtype == EVENT_DTYPE
    assert not ev.flags.writeable
    kinds = ev["kind"]
    assert int((kinds == EventKind.SNAPSHOT).sum()) == 2_000  # PROVENANCE.txt is_snapshot rows
    assert int((kinds == EventKind.CLEAR).sum()) == 1  # one snapshot block
    assert int((kinds == EventKind.DEPTH).sum()) == 445_262 - 2_000
    assert len(ev) == 445_263
    assert ev["kind"][0] == EventKind.CLEAR and ev["side"][0] == Side.NONE
    # the CLEAR carries the first snapshot row's times (file line 2 of the PROVENANCE example)
    assert int(ev["exch_ns"][0]) == 1723161256493000 * 1000
    assert int(ev["local_ns"][0]) == 1723161255319702 * 1000
    first = ev[1]
    assert (first["kind"], first["side"], first["price"], first["qty"]) == (2, 1, 61800.20, 2.909)
    assert set(np.unique(ev["side"][kinds != EventKind.CLEAR]).tolist()) == {-1, 1}
    assert (ev["instrument"] == 0).all() and (ev["update_id"] == -1).all()


def test_real_l2_replay_matches_provenance(real_l2: TardisData) -> None:
    bids, asks = replay_dict(real_l2.events)
    assert max(bids) == 61659.7 and min(asks) == 61659.8  # PROVENANCE final BBO
    assert (len(bids), len(asks)) == (5018, 4578)  # PROVENANCE level counts


def test_real_l2_replay_through_l2book(real_l2: TardisData) -> None:
    book_module = pytest.importorskip("invrisk.market.book")
    book = book_module.L2Book.for_events(real_l2.events, tick_size=0.1)
    book.apply(real_l2.events)
    assert (book.best_bid, book.best_ask) == (61659.7, 61659.8)
    assert (book.n_bid_levels, book.n_ask_levels) == (5018, 4578)
    assert book.out_of_window == 0 and book.crossed_events == 0


def test_real_clock_offset(real_l2: TardisData, real_trades: TardisData) -> None:
    # PROVENANCE: local_ts - E is about -1270 ms (p1..p99 -1274..-1245 ms), the recorder's clock
    # being behind Binance's. Exchange times here are Binance's T (transaction time).
    for data in (real_l2, real_trades):
        offset_s = (data.events["local_ns"] - data.events["exch_ns"]) / 1e9
        assert -1.30 < float(np.median(offset_s)) < -1.24


def test_real_trades(real_trades: TardisData) -> None:
    path = require_data(TRADES_FILE)
    assert real_trades.dataset == "trades" and real_trades.rows_read == 21_313
    ev = real_trades.events
    assert len(ev) == 21_313 and (ev["kind"] == EventKind.TRADE).all()
    with gzip.open(path, "rt") as handle:
        rows = list(csv.DictReader(handle))
    buys = sum(r["side"] == "buy" for r in rows)
    sells = sum(r["side"] == "sell" for r in rows)
    assert buys + sells == 21_313
    assert int((ev["side"] == Side.BID).sum()) == buys  # buyer-initiated -> +1
    assert int((ev["side"] == Side.ASK).sum()) == sells
    np.testing.assert_array_equal(ev["update_id"], [int(r["id"]) for r in rows])
    # PROVENANCE: trade prices 61590.3 .. 61839.9
    assert (ev["price"].min(), ev["price"].max()) == (61590.3, 61839.9)
    first = ev[0]  # PROVENANCE example row: 5266583935,buy,61800.30,0.006
    assert (int(first["update_id"]), int(first["side"]), float(first["qty"])) == (
        5266583935, 1, 0.006,
    )  # fmt: skip


def test_real_files_match_reference(real_l2: TardisData, real_trades: TardisData) -> None:
    assert as_tuples(real_trades) == reference_events(require_data(TRADES_FILE), "trades")
    assert as_tuples(real_l2) == reference_events(require_data(L2_FILE), "incremental_book_L2")


def test_iter_chunks_equal_whole_read(real_l2: TardisData) -> None:
    path = require_data(L2_FILE)
    with pytest.warns(DataWarning, match="row 2001") as record:
        stream = iter_tardis(path, chunk_rows=50_000)
        chunks = list(stream)
    assert len(record) == 1 and stream.warnings == 1
    assert len(chunks) == 9  # ceil(445262 / 50000)
    assert [len(c) for c in chunks[1:-1]] == [50_000] * 7
    assert len(chunks[0]) == 50_001  # + the CLEAR
    assert stream.rows_read == 445_262 and stream.symbols == ["BTCUSDT"]
    np.testing.assert_array_equal(np.concatenate(chunks), real_l2.events)


# -- small files in the documented layouts -------------------------------------------------------


def test_incremental_book_l2_snapshot_blocks(tmp_path: Path) -> None:
    path = write(
        tmp_path / "deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv",
        [
            L2_HEADER,
            "deribit,BTC-PERPETUAL,1000,1001,false,bid,99.5,1",  # before the first snapshot
            "deribit,BTC-PERPETUAL,1000,1002,true,bid,100,5",
            "deribit,BTC-PERPETUAL,1000,1002,true,ask,101,0",  # snapshot level with amount 0
            "deribit,BTC-PERPETUAL,1000,1002,true,ask,101.5,7",
            "deribit,BTC-PERPETUAL,1003,1004,false,bid,100,0",
            "deribit,BTC-PERPETUAL,1003,1004,false,ask,101,2",
            "deribit,BTC-PERPETUAL,2000,2001,true,bid,98,1",  # reconnection: a new block
            "deribit,BTC-PERPETUAL,2000,2001,true,ask,99,1",
            "deribit,BTC-PERPETUAL,2002,2003,false,ask,99,0",
        ],
    )
    data = read_tardis(path)
    assert data.rows_read == 9 and data.pre_snapshot_rows == 1
    assert data.exchange == "deribit" and data.symbols == ("BTC-PERPETUAL",)
    ev = data.events
    assert ev["kind"].tolist() == [3, 2, 2, 2, 1, 1, 3, 2, 2, 1]
    assert ev["side"].tolist() == [0, 1, -1, -1, 1, -1, 0, 1, -1, -1]
    assert ev["price"].tolist() == [0, 100, 101, 101.5, 100, 101, 0, 98, 99, 99]
    assert ev["qty"].tolist() == [0, 5, 0, 7, 0, 2, 0, 1, 1, 0]
    assert ev["exch_ns"].tolist() == [1_000_000] * 4 + [1_003_000] * 2 + [2_000_000] * 3 + [
        2_002_000
    ]
    assert ev["local_ns"][[0, 6]].tolist() == [1_002_000, 2_001_000]
    assert as_tuples(data) == reference_events(path, "incremental_book_L2")
    kept = read_tardis(path, keep_pre_snapshot=True)
    assert kept.pre_snapshot_rows == 0 and len(kept) == len(data) + 1
    assert (kept.events["kind"][0], kept.events["price"][0]) == (EventKind.DEPTH, 99.5)
    # every chunking gives the same events (block and per-symbol state carried over)
    for chunk_rows in (1, 2, 3, 5):
        chunks = list(iter_tardis(path, chunk_rows=chunk_rows))
        np.testing.assert_array_equal(np.concatenate(chunks), data.events)


def test_incremental_book_l2_symbols(tmp_path: Path) -> None:
    path = write(
        tmp_path / "book.csv.gz",
        [
            L2_HEADER,
            "binance,BTCUSDT,10,10,true,bid,100,1",
            "binance,ETHUSDT,10,11,true,bid,10,1",
            "binance,BTCUSDT,10,12,true,ask,101,1",  # still BTC's block: no second CLEAR
            "binance,ETHUSDT,13,13,false,ask,11,2",
            "binance,BTCUSDT,14,14,false,ask,101,0",
        ],
    )
    data = read_tardis(path, dataset="incremental_book_L2")
    assert data.symbols == ("BTCUSDT", "ETHUSDT")
    ev = data.events
    assert ev["kind"].tolist() == [3, 2, 3, 2, 2, 1, 1]
    assert ev["instrument"].tolist() == [0, 0, 1, 1, 0, 1, 0]
    assert as_tuples(data) == reference_events(path, "incremental_book_L2")
    eth = read_tardis(path, symbol="ETHUSDT")
    assert eth.symbols == ("ETHUSDT",) and eth.other_symbol_rows == 3 and eth.rows_read == 5
    assert eth.events["kind"].tolist() == [3, 2, 1]
    assert (eth.events["instrument"] == 0).all()
    assert eth.events["price"].tolist() == [0, 10, 11]
    with pytest.raises(DataError, match="symbol 'SOLUSDT' has no rows"):
        read_tardis(path, symbol="SOLUSDT")


def test_trades(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bitmex_trades_2020-04-01_XBTUSD.csv.gz",
        [
            TRADES_HEADER,
            "bitmex,XBTUSD,1585699202957000,1585699203089980,"
            "d202810a-ec78-0d65-8652-42c8168f127c,buy,6425.5,12",
            "bitmex,XBTUSD,1585699203000000,1585699203100000,77,sell,6425,150",
            "bitmex,XBTUSD,1585699203000001,1585699203100001,,unknown,6425,1",
            "bitmex,XBTUSD,1585699203000002,1585699203100002,1234567890123456789,buy,6425,1",
        ],
    )
    data = read_tardis(path)
    ev = data.events
    assert data.dataset == "trades"
    assert ev["side"].tolist() == [1, -1, 0, 1]
    assert ev["update_id"].tolist() == [-1, 77, -1, -1]  # UUID, number, empty, 19 digits
    assert ev["exch_ns"][0] == 1585699202957000000 and ev["local_ns"][0] == 1585699203089980000
    assert ev["price"].tolist() == [6425.5, 6425, 6425, 6425]
    assert ev["qty"].tolist() == [12, 150, 1, 1]
    assert as_tuples(data) == reference_events(path, "trades")


def _snapshot_line(
    depth: int, bids: Sequence[tuple[float, float]], asks: Sequence[tuple[float, float]]
) -> str:
    fields = ["binance", "BTCUSDT", "1000", "2000"]
    for i in range(depth):
        for levels in (asks, bids):
            if i < len(levels):
                fields += [repr(levels[i][0]), repr(levels[i][1])]
            else:
                fields += ["", ""]
    return ",".join(fields)


@pytest.mark.parametrize("depth", [5, 25])
def test_book_snapshot(tmp_path: Path, depth: int) -> None:
    header = ",".join(TARDIS_COLUMNS[f"book_snapshot_{depth}"])
    assert header.startswith(
        "exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,"
        "bids[0].price,bids[0].amount,asks[1].price"
    )
    full_bids = [(100.0 - i, 1.0 + i) for i in range(depth)]
    full_asks = [(101.0 + i, 2.0 + i) for i in range(depth)]
    path = write(
        tmp_path / f"binance_book_snapshot_{depth}_2024-01-01_BTCUSDT.csv",
        [
            header,
            _snapshot_line(depth, full_bids, full_asks),
            _snapshot_line(depth, [(99.0, 3.0)], [(102.0, 4.0), (103.0, 0.5)]),
        ],
    )
    data = read_tardis(path)
    assert data.dataset == f"book_snapshot_{depth}" and data.rows_read == 2
    ev = data.events
    assert len(ev) == (1 + 2 * depth) + (1 + 3)
    second = ev[1 + 2 * depth :]
    assert second["kind"].tolist() == [3, 2, 2, 2]
    assert second["side"].tolist() == [0, 1, -1, -1]
    assert second["price"].tolist() == [0, 99, 102, 103]
    assert second["qty"].tolist() == [0, 3, 4, 0.5]
    assert ev["price"][1 : 1 + depth].tolist() == [p for p, _ in full_bids]
    assert ev["qty"][1 + depth : 1 + 2 * depth].tolist() == [q for _, q in full_asks]
    assert as_tuples(data) == reference_events(path, f"book_snapshot_{depth}")
    bids, asks = replay_dict(ev)
    assert bids == {99.0: 3.0} and asks == {102.0: 4.0, 103.0: 0.5}


def test_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "huobi-dm-swap_quotes_2020-04-01_BTC-USD.csv",
        [
            QUOTES_HEADER,
            "huobi-dm-swap,BTC-USD,1585699201147000,1585699201270777,86,6423,6422.9,112",
            "huobi-dm-swap,BTC-USD,1585699201200000,1585699201300000,,,6422.8,5",  # no ask
            "huobi-dm-swap,BTC-USD,1585699201300000,1585699201400000,3,6424,,",  # no bid
        ],
    )
    data = read_tardis(path)
    ev = data.events
    assert data.dataset == "quotes"
    assert (ev["kind"] == EventKind.BBO).all()
    assert ev["side"].tolist() == [1, -1, 1, -1]
    assert ev["price"].tolist() == [6422.9, 6423, 6422.8, 6424]
    assert ev["qty"].tolist() == [112, 86, 5, 3]
    assert as_tuples(data) == reference_events(path, "quotes")
    ticker = write(tmp_path / "binance_book_ticker_2024-01-01_BTCUSDT.csv", [QUOTES_HEADER])
    empty = read_tardis(ticker)
    assert empty.dataset == "book_ticker" and len(empty) == 0 and empty.exchange is None


def test_derivative_ticker(tmp_path: Path) -> None:
    path = write(
        tmp_path / "binance-futures_derivative_ticker_2024-01-01_BTCUSDT.csv",
        [
            TICKER_HEADER,
            "binance-futures,BTCUSDT,1000,1100,1704096000000000,0.0001,,12345.5,42000,42001.5,42002",
            "binance-futures,BTCUSDT,2000,2100,1704096000000000,-0.00002,0.0003,,,,42003",
        ],
    )
    data = read_tardis(path)
    ev = data.events
    assert data.dataset == "derivative_ticker"
    assert ev["kind"].tolist() == [8, 6, 7, 9, 8, 6]
    assert ev["price"].tolist() == [0.0001, 42002, 42001.5, 0, -0.00002, 42003]
    assert ev["qty"].tolist() == [0, 0, 0, 12345.5, 0, 0]
    assert (ev["side"] == 0).all()
    assert as_tuples(data) == reference_events(path, "derivative_ticker")


def test_dataset_from_header_and_argument(tmp_path: Path) -> None:
    lines = [TRADES_HEADER, "binance,BTCUSDT,1,2,5,buy,1,1"]
    assert read_tardis(write(tmp_path / "anything.csv", lines)).dataset == "trades"
    # the argument wins; a header without the dataset's columns is a missing-column error
    with pytest.raises(DataError, match=r"missing column\(s\) \['is_snapshot'\]"):
        read_tardis(tmp_path / "anything.csv", dataset="incremental_book_L2")
    with pytest.raises(DataError, match="cannot tell which Tardis dataset"):
        read_tardis(write(tmp_path / "x.csv", ["a,b,c", "1,2,3"]))
    with pytest.raises(DataError, match="load_tardis_options_snapshot"):
        read_tardis(write(tmp_path / "deribit_options_chain_2020-03-01_OPTIONS.csv", ["a"]))
    with pytest.raises(InvalidArgumentError, match="dataset"):
        read_tardis(tmp_path / "anything.csv", dataset="liquidations")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="chunk_rows"):
        iter_tardis(tmp_path / "anything.csv", chunk_rows=0)
    assert set(TARDIS_DATASETS) == set(TARDIS_COLUMNS)


# -- defects ---------------------------------------------------------------------------------


def test_missing_column_lists_expected(tmp_path: Path) -> None:
    path = write(
        tmp_path / "binance_trades_2024-01-01_BTCUSDT.csv",
        ["exchange,symbol,timestamp,local_timestamp,id,side,price", "binance,BTCUSDT,1,2,3,buy,4"],
    )
    with pytest.raises(DataError) as info:
        read_tardis(path)
    message = str(info.value)
    assert str(path) in message and "missing column(s) ['amount']" in message
    assert ", ".join(TARDIS_COLUMNS["trades"]) in message


def test_truncated_gzip_names_file(tmp_path: Path) -> None:
    line = "binance,BTCUSDT,1723161256493000,1723161255319702,false,bid,61800.20,2.909"
    full = gzip.compress(("\n".join([L2_HEADER] + [line] * 50_000) + "\n").encode())
    path = tmp_path / "binance_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DataError, match="truncated or corrupt") as info:
        read_tardis(path)
    assert info.value.path == str(path) and info.value.row is not None


@pytest.mark.parametrize(
    ("bad", "row", "match"),
    [
        ("binance,BTCUSDT,3,3,false,bid,abc,1", 3, "column 'price' is 'abc'"),  # pyarrow rejects
        ("binance,BTCUSDT,3,3,false,bid,1", 3, "has 7 fields, the header has 8"),
        ("binance,BTCUSDT,3.5,3,false,bid,1,1", 3, "column 'timestamp' is '3.5'"),
        ("binance,BTCUSDT,3,3,TRUE,bid,1,1", 3, "column 'is_snapshot' is 'TRUE'"),
        ("binance,BTCUSDT,3,3,false,buy,1,1", 3, "column 'side' is 'buy'"),  # numpy checks
        ("binance,BTCUSDT,3,3,false,bid,1,-1", 3, "column 'amount' is -1.0"),
        ("binance,BTCUSDT,3,3,false,bid,0,1", 3, "column 'price' is 0.0"),
        ("binance,BTCUSDT,3,3,false,bid,nan,1", 3, "column 'price' is nan"),
        ("binance,BTCUSDT,,3,false,bid,1,1", 3, "column 'timestamp' is empty"),
        ("binance,BTCUSDT,3,3,,bid,1,1", 3, "column 'is_snapshot' is empty"),
        ("okex,BTCUSDT,3,3,false,bid,1,1", 3, "exchange 'okex' differs"),
    ],
)
def test_bad_row_names_file_and_row(tmp_path: Path, bad: str, row: int, match: str) -> None:
    # a blank line before the bad row: both the pyarrow path and the numpy checks skip it
    lines = [L2_HEADER, "binance,BTCUSDT,1,1,true,bid,1,1", "", "binance,BTCUSDT,2,2,true,ask,2,1"]
    path = write(tmp_path / "binance_incremental_book_L2_2024-01-01_BTCUSDT.csv.gz", [*lines, bad])
    with pytest.raises(DataError, match=match) as info:
        read_tardis(path)
    assert (info.value.path, info.value.row) == (str(path), row)
    assert f"row {row}:" in str(info.value)


def test_bad_wide_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x_quotes_2024-01-01_Y.csv",
        [QUOTES_HEADER, "x,Y,1,1,1,2,1,1", "x,Y,2,2,,3,1,1"],
    )
    with pytest.raises(DataError, match="ask_price and ask_amount must be both") as info:
        read_tardis(path)
    assert info.value.row == 2
    header = ",".join(TARDIS_COLUMNS["book_snapshot_5"])
    line = _snapshot_line(5, [(1.0, 1.0)], [(2.0, 1.0)]).split(",")
    line[7] = ""  # bids[0].amount
    path = write(tmp_path / "x_book_snapshot_5_2024-01-01_Y.csv", [header, ",".join(line)])
    with pytest.raises(DataError, match=r"level bids\[0\] has a price or an amount") as info:
        read_tardis(path)
    assert info.value.row == 1


def test_shuffled_block_warns_with_row(tmp_path: Path) -> None:
    rows = [f"binance,BTCUSDT,{t},{t},false,bid,100,{t}" for t in range(10, 20)]
    rows[4], rows[5] = rows[5], rows[4]  # data rows 6, 7: local 15 then 14 (row 7 goes back)
    path = write(
        tmp_path / "binance_incremental_book_L2_2024-01-01_BTCUSDT.csv",
        [L2_HEADER, "binance,BTCUSDT,1,1,true,bid,100,1", *rows],
    )
    with pytest.warns(DataWarning, match=r"row 7: local_timestamp goes backwards at 1 row") as rec:
        data = read_tardis(path)
    assert len(rec) == 1 and data.warnings == 1
    assert data.events["local_ns"][1:].tolist() == [1000] + [
        int(r.split(",")[3]) * 1000 for r in rows
    ]  # file order kept


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**40),
            st.sampled_from(["buy", "sell", "unknown"]),
            st.decimals(min_value="0.01", max_value="100000", places=2),
            st.decimals(min_value="0", max_value="1000", places=3),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 7),
)
def test_trades_round_trip(rows: list[tuple[int, str, object, object]], chunk_rows: int) -> None:
    import tempfile

    lines = [TRADES_HEADER]
    for i, (t, side, price, qty) in enumerate(rows):
        lines.append(f"binance,BTCUSDT,{t},{t + i},{i},{side},{price},{qty}")
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "binance_trades_2024-01-01_BTCUSDT.csv.gz", lines)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # random local times may go backwards
            chunks = list(iter_tardis(path, chunk_rows=chunk_rows))
            data = read_tardis(path)
        assert as_tuples(data) == reference_events(path, "trades")
    np.testing.assert_array_equal(np.concatenate(chunks), data.events)
    assert all(len(c) <= chunk_rows for c in chunks)
