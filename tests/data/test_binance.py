"""Tests of invrisk.data.binance on the real Binance recorder files in shared/data.

Reference values are the counts and replay results written in
``binance_l2_trades_2024-08-08_hftbacktest/PROVENANCE.txt`` (computed there by an independent
check script): messages per type, snapshot ids, diffs applied, 0 sequence gaps, bookTicker
matches (629/629, 551/551, 1124/1124, 1072/1072), final best bid/ask, level counts and the
clock offset of about -1.27 s. The replay is also compared row by row with a small json/dict
reference written here, and the byte scanner with its json twin.
"""

from __future__ import annotations

import gzip
import json
import random
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from invrisk.data import _binance_scan as scan
from invrisk.data.binance import BinanceStream, check_bbo, read_binance_stream
from invrisk.data.events import EVENT_DTYPE, EventKind, Side, is_sorted_by_local_time
from invrisk.data.validate import validate_events
from invrisk.errors import DataError, DataWarning, InvalidArgumentError
from tests.conftest import require_data

FOLDER = "binance_l2_trades_2024-08-08_hftbacktest"
USDM_BTC = f"{FOLDER}/usdm_btcusdt_20240808.gz"
USDM_ETH = f"{FOLDER}/usdm_ethusdt_20240808.gz"
COINM = f"{FOLDER}/cm_btcusd_perp_20240808.gz"
SPOT_0808 = f"{FOLDER}/spot_btcusdt_20240808.gz"
SPOT_0809 = f"{FOLDER}/spot_btcusdt_20240809.gz"
MS = 1_000_000


@dataclass(frozen=True)
class Expected:
    """PROVENANCE.txt, "Quality checks performed" (one JSON line per stream)."""

    files: tuple[str, ...]
    symbol: str
    market: str
    tick: float
    snapshot_id: int
    depth_msgs: int
    depth_applied: int
    trades: int
    book_tickers: int
    bbo_checked: int
    trade_px: tuple[float, float]
    final_bbo: tuple[float, float]
    n_levels: tuple[int, int]


STREAMS = {
    "usdm_btc": Expected(
        (USDM_BTC,), "BTCUSDT", "usdm", 0.1, 5123107852948, 6551, 6547, 21313, 66089, 629,
        (61590.3, 61839.9), (61659.7, 61659.8), (5018, 4578),
    ),
    "usdm_eth": Expected(
        (USDM_ETH,), "ETHUSDT", "usdm", 0.01, 5123107856276, 6586, 6581, 14076, 53992, 551,
        (2677.9, 2684.82), (2681.38, 2681.39), (3181, 3013),
    ),
    "coinm_btc": Expected(
        (COINM,), "BTCUSD_PERP", "coinm", 0.1, 1007198635033, 26847, 26824, 2286, 19136, 1124,
        (61610.0, 61845.0), (61668.6, 61668.7), (1110, 1123),
    ),
    "spot_btc": Expected(
        (SPOT_0808, SPOT_0809), "BTCUSDT", "spot", 0.01, 50093239218, 6495, 6493, 19904, 73174,
        1072, (61556.04, 61860.8), (61602.01, 61602.02), (1971, 2962),
    ),
}  # fmt: skip

_CACHE: dict[str, BinanceStream] = {}


def _paths(exp: Expected) -> list[Path]:
    return [require_data(f) for f in exp.files]


def _stream(name: str) -> BinanceStream:
    exp = STREAMS[name]
    paths = _paths(exp)
    if name not in _CACHE:
        _CACHE[name] = read_binance_stream(paths if len(paths) > 1 else paths[0])
    return _CACHE[name]


def _lines(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def _write(tmp_path: Path, name: str, lines: list[bytes]) -> Path:
    out = tmp_path / name
    out.write_bytes(gzip.compress(b"".join(lines), compresslevel=1))
    return out


def _kind_of(line: bytes) -> str:
    if b'"lastUpdateId"' in line[:60]:
        return "snapshot"
    return line.split(b'"stream":"', 1)[1].split(b'"', 1)[0].split(b"@")[1].decode()


# --------------------------------------------------------------------------------------------
# The four real streams against PROVENANCE.txt
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(STREAMS))
def test_real_stream_matches_provenance(name: str) -> None:
    exp = STREAMS[name]
    s = _stream(name)
    rep = s.sequence
    assert (s.symbol, s.market, s.tick_size) == (exp.symbol, exp.market, exp.tick)
    assert rep.messages["depth"] == exp.depth_msgs
    assert rep.messages["trade"] == exp.trades
    assert rep.messages["bookTicker"] == exp.book_tickers
    assert rep.messages["snapshot"] == 1
    assert rep.messages["bad_line"] == rep.messages["other_stream"] == 0
    assert rep.snapshot_update_id == exp.snapshot_id
    assert rep.diffs_applied == exp.depth_applied
    assert rep.diffs_stale == exp.depth_msgs - exp.depth_applied
    assert rep.diffs_unsynced == 0
    assert rep.gaps == ()
    assert rep.first_diff_ok is True
    assert rep.n_trade_id_gaps == 0
    assert rep.n_local_time_reversals == 0
    json.dumps(rep.as_dict())
    ev = s.events
    kind = ev["kind"]
    assert np.count_nonzero(kind == EventKind.TRADE) == exp.trades
    assert np.count_nonzero(kind == EventKind.BBO) == 2 * exp.book_tickers
    assert np.count_nonzero(kind == EventKind.CLEAR) == 1
    assert is_sorted_by_local_time(ev)
    trade_px = ev["price"][kind == EventKind.TRADE]
    assert (trade_px.min(), trade_px.max()) == exp.trade_px
    # 1,000 levels per side in the REST snapshot (limit=1000).
    snap = kind == EventKind.SNAPSHOT
    assert np.count_nonzero(snap & (ev["side"] == Side.BID)) == 1000
    assert np.count_nonzero(snap & (ev["side"] == Side.ASK)) == 1000
    assert np.all(ev["update_id"][snap] == exp.snapshot_id)


@pytest.mark.parametrize("name", list(STREAMS))
def test_real_stream_bbo_matches_every_comparable_book_ticker(name: str) -> None:
    exp = STREAMS[name]
    s = _stream(name)
    chk = check_bbo(s)
    assert chk.bbo_messages == exp.book_tickers
    assert chk.checked == exp.bbo_checked  # PROVENANCE: bbo_checked
    assert chk.matched == chk.checked  # PROVENANCE: bbo_match, 100 %
    assert chk.qty_matched == chk.checked
    assert chk.mismatches == ()
    assert chk.window_breaches == 0
    json.dumps(chk.as_dict())


@pytest.mark.parametrize("name", list(STREAMS))
def test_real_stream_final_book(name: str) -> None:
    """Final best bid/ask and level counts (PROVENANCE), from a dict replay of the rows."""
    exp = STREAMS[name]
    ev = _stream(name).events
    book: dict[tuple[int, float], float] = {}
    for k, side, px, qty in zip(
        ev["kind"].tolist(), ev["side"].tolist(), ev["price"].tolist(), ev["qty"].tolist(),
        strict=True,
    ):  # fmt: skip
        if k == EventKind.CLEAR:
            book.clear()
        elif k in (EventKind.DEPTH, EventKind.SNAPSHOT):
            if qty == 0.0:
                book.pop((side, px), None)
            else:
                book[(side, px)] = qty
    bids = [p for (sd, p) in book if sd == Side.BID]
    asks = [p for (sd, p) in book if sd == Side.ASK]
    assert (max(bids), min(asks)) == exp.final_bbo
    assert (len(bids), len(asks)) == exp.n_levels


@pytest.mark.parametrize("name", list(STREAMS))
def test_real_stream_clock_offset(name: str) -> None:
    # PROVENANCE: local_ts - E ~ -1270 ms, p1..p99 -1274..-1245 ms.
    off = _stream(name).clock_offset
    assert off is not None
    assert -1.30e9 <= off.median_ns <= -1.24e9
    assert off.p1_ns <= off.median_ns <= off.p99_ns
    assert off.p99_ns - off.p1_ns < 0.05e9


@pytest.mark.parametrize("name", list(STREAMS))
def test_real_stream_validates_clean(name: str) -> None:
    s = _stream(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = validate_events(
            s.events, path=name, tick_size=s.tick_size, exch_known=~s.exch_from_local
        )
    assert rep.ok
    assert rep.n_crossed == 0
    assert rep.clock_offset is not None
    assert -1.30e9 <= rep.clock_offset.median_ns <= -1.24e9
    json.dumps(rep.as_dict())


def test_exchange_time_flags() -> None:
    """Spot bookTickers and the spot snapshot have no exchange time: exch_ns = local_ns."""
    spot = _stream("spot_btc")
    ev, flag = spot.events, spot.exch_from_local
    kind = ev["kind"]
    expect = (kind == EventKind.BBO) | (kind == EventKind.SNAPSHOT) | (kind == EventKind.CLEAR)
    np.testing.assert_array_equal(flag, expect)
    np.testing.assert_array_equal(ev["exch_ns"][flag], ev["local_ns"][flag])
    futures = _stream("usdm_btc")
    assert not futures.exch_from_local.any()
    with pytest.raises(ValueError, match="read-only"):
        futures.events["price"][0] = 1.0


def test_coinm_sizes_are_contracts() -> None:
    """COIN-M sizes stay in contracts (whole numbers), not converted to coin."""
    ev = _stream("coinm_btc").events
    q = ev["qty"][np.isin(ev["kind"], [EventKind.TRADE, EventKind.DEPTH, EventKind.BBO])]
    np.testing.assert_array_equal(q, np.round(q))
    # First trade line of the file: "t":849714402,"p":"61804.8","q":"4","m":false (PROVENANCE).
    tr = ev[(ev["kind"] == EventKind.TRADE) & (ev["update_id"] == 849714402)]
    assert (tr["price"][0], tr["qty"][0], tr["side"][0]) == (61804.8, 4.0, Side.BID)
    assert tr["exch_ns"][0] == 1723161257679 * MS
    assert tr["local_ns"][0] == 1723161256419684465


def test_snapshot_and_buffered_diffs_layout() -> None:
    """CLEAR + SNAPSHOT rows, then the surviving buffered diffs at the snapshot's local time."""
    s = _stream("usdm_btc")
    ev = s.events
    (clear,) = np.flatnonzero(ev["kind"] == EventKind.CLEAR)
    info = s.sequence.snapshots[0]
    lines = _lines(require_data(USDM_BTC))
    assert info.row == clear
    assert _kind_of(lines[info.line - 1]) == "snapshot" and info.path.endswith(
        "usdm_btcusdt_20240808.gz"
    )
    assert (info.n_bids, info.n_asks, info.first_diff_ok) == (1000, 1000, True)
    snap_local = 1723161255319702566  # PROVENANCE example[snapshot]
    assert ev["local_ns"][clear] == snap_local
    assert ev["exch_ns"][clear] == 1723161256493 * MS  # snapshot T
    first_bid = ev[clear + 1]
    assert (first_bid["kind"], first_bid["side"], first_bid["price"], first_bid["qty"]) == (
        EventKind.SNAPSHOT, Side.BID, 61800.2, 2.909,
    )  # fmt: skip
    after = ev[clear + 2001 :]
    released = after[(after["kind"] == EventKind.DEPTH) & (after["local_ns"] == snap_local)]
    ids = np.unique(released["update_id"])
    assert len(ids) == info.buffered - info.stale_dropped == 2
    assert released["first_id"].min() <= 5123107852948 <= ids.min()  # straddles lastUpdateId
    assert np.all(released["exch_ns"] < snap_local + 2 * 10**9)


def test_second_half_alone_has_no_snapshot() -> None:
    with pytest.warns(DataWarning, match="no depth snapshot in the stream: its 3044 depth diffs"):
        s = read_binance_stream(require_data(SPOT_0809))
    assert s.sequence.diffs_unsynced == 3044 and s.sequence.diffs_applied == 0
    assert not np.isin(s.events["kind"], [EventKind.DEPTH, EventKind.SNAPSHOT]).any()
    assert s.sequence.messages["trade"] == 10147


def test_trade_side_from_maker_flag(tmp_path: Path) -> None:
    """m=true: the buyer is the maker, the seller the aggressor -> Side.ASK."""
    lines = _lines(require_data(USDM_ETH))
    trades = [ln for ln in lines if b"@trade" in ln[:60]]
    s = read_binance_stream(_write(tmp_path, "t.gz", trades))
    ev = s.events
    makers = [json.loads(ln.split(b" ", 1)[1])["data"]["m"] for ln in trades]
    np.testing.assert_array_equal(ev["side"], np.where(makers, Side.ASK, Side.BID))
    assert s.sequence.snapshot_update_id is None
    assert s.market == "usdm"


# --------------------------------------------------------------------------------------------
# Cross-checks: a json/dict reference replay, and the byte scanner against its json twin
# --------------------------------------------------------------------------------------------


def _reference_rows(paths: list[Path], spot: bool) -> np.ndarray:
    """Replay with json.loads and Binance's rules, no gaps expected (test-only reference)."""
    rows: list[tuple[int, int, int, int, float, float, int, int, int]] = []
    buffer: list[dict[str, Any]] = []
    synced = False
    book = -1

    def depth_rows(
        d: dict[str, Any], local: int
    ) -> list[tuple[int, int, int, int, float, float, int, int, int]]:
        t = d.get("T", d["E"]) * MS
        pu = d.get("pu", -1)
        return [
            (t, local, 1, side, float(p), float(q), d["u"], d["U"], pu)
            for side, key in ((1, "b"), (-1, "a"))
            for p, q in d[key]
        ]

    for path in paths:
        for raw in gzip.decompress(path.read_bytes()).splitlines():
            ts, js = raw.split(b" ", 1)
            local = int(ts)
            msg = json.loads(js)
            if "lastUpdateId" in msg:
                snap_id = msg["lastUpdateId"]
                t = msg.get("T", msg.get("E"))
                exch = t * MS if t is not None else local
                rows.append((exch, local, 3, 0, 0.0, 0.0, -1, -1, -1))
                for side, key in ((1, "bids"), (-1, "asks")):
                    rows += [(exch, local, 2, side, float(p), float(q), snap_id, -1, -1)
                             for p, q in msg[key]]  # fmt: skip
                for d in buffer:
                    if d["u"] <= snap_id if spot else d["u"] < snap_id:
                        continue
                    if not synced:
                        target = snap_id + 1 if spot else snap_id
                        assert d["U"] <= target <= d["u"]
                        synced = True
                    rows += depth_rows(d, local)
                    book = d["u"]
                buffer = []
                continue
            data = msg["data"]
            stream = msg["stream"].split("@")[1]
            if stream == "depth":
                if not synced:
                    buffer.append(data)
                    continue
                assert (data["U"] == book + 1) if spot else (data["pu"] == book)
                rows += depth_rows(data, local)
                book = data["u"]
            elif stream == "trade":
                side = -1 if data["m"] else 1
                rows.append((data["T"] * MS, local, 4, side, float(data["p"]), float(data["q"]),
                             data["t"], -1, -1))  # fmt: skip
            else:
                t = data.get("T", data.get("E"))
                exch = t * MS if t is not None else local
                for side, pk, qk in ((1, "b", "B"), (-1, "a", "A")):
                    rows.append((exch, local, 5, side, float(data[pk]), float(data[qk]),
                                 data["u"], -1, -1))  # fmt: skip
    names = ["exch_ns", "local_ns", "kind", "side", "price", "qty", "update_id", "first_id",
             "prev_id"]  # fmt: skip
    out = np.zeros(len(rows), EVENT_DTYPE)
    cols = list(zip(*rows, strict=True))
    for name, col in zip(names, cols, strict=True):
        out[name] = col
    return out


@pytest.mark.parametrize("name", ["usdm_btc", "spot_btc"])
def test_events_equal_json_reference_replay(name: str) -> None:
    exp = STREAMS[name]
    got = _stream(name).events
    ref = _reference_rows(_paths(exp), spot=exp.market == "spot")
    assert len(got) == len(ref)
    for field in EVENT_DTYPE.names or ():
        np.testing.assert_array_equal(got[field], ref[field], err_msg=field)


def _scan_file(
    lines: list[bytes],
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    buf = b"".join(lines)
    n = len(lines)
    kinds = np.empty(n, np.int8)
    ints = np.empty((n, scan.N_INTS), np.int64)
    flts = np.empty((n, scan.N_FLOATS))
    cap = len(buf) // 9 + 2
    lv = (np.empty(cap, np.int8), np.empty(cap), np.empty(cap))
    got, _ = scan.scan_lines_jit(np.frombuffer(buf, np.uint8), kinds, ints, flts, *lv)
    assert got == n
    return buf, kinds, ints, flts, lv


@pytest.mark.parametrize("path", [USDM_BTC, COINM, SPOT_0808])
def test_scanner_equals_json_twin_on_every_line(path: str) -> None:
    lines = _lines(require_data(path))
    buf, kinds, ints, flts, (lside, lpx, lqty) = _scan_file(lines)
    for li, line in enumerate(lines):
        ref = scan.parse_line_json(line)
        if kinds[li] == scan.K_SLOW:
            assert ref.kind == scan.K_SNAPSHOT, li
            continue
        assert kinds[li] == ref.kind, li
        assert ints[li, : scan.I_START].tolist() == ref.ints[: scan.I_START], li
        np.testing.assert_array_equal(flts[li], ref.flts)
        lo, hi = ints[li, scan.I_LVL_LO], ints[li, scan.I_LVL_HI]
        got = list(zip(lside[lo:hi].tolist(), lpx[lo:hi].tolist(), lqty[lo:hi].tolist(),
                       strict=True))  # fmt: skip
        assert got == ref.levels, li
        assert buf[ints[li, scan.I_START] : ints[li, scan.I_END] + 1] == line


def test_scanner_python_twin_equals_jit() -> None:
    """The scanner source run by plain Python gives the jitted kernel's output."""
    lines = _lines(require_data(SPOT_0808))[:40]
    buf, kinds, ints, flts, (lside, lpx, lqty) = _scan_file(lines)
    n = len(lines)
    k2 = np.empty(n, np.int8)
    i2 = np.empty((n, scan.N_INTS), np.int64)
    f2 = np.empty((n, scan.N_FLOATS))
    lv2 = (np.empty_like(lside), np.empty_like(lpx), np.empty_like(lqty))
    got, nlev = scan.scan_lines(np.frombuffer(buf, np.uint8), k2, i2, f2, *lv2)
    assert got == n
    np.testing.assert_array_equal(k2, kinds)
    np.testing.assert_array_equal(i2, ints)
    np.testing.assert_array_equal(f2, flts)
    for a, b in zip(lv2, (lside, lpx, lqty), strict=True):
        np.testing.assert_array_equal(a[:nlev], b[:nlev])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"61800.20"', 61800.2),
        ('"0.00000000"', 0.0),
        ('"61685.99000000"', 61685.99),
        ('"-1.5"', -1.5),
        ('"123456789012345.6"', 123456789012345.6),  # mantissa < 2**53
        ('"0.1234567890123456"', 0.1234567890123456),  # 16 digits
        ('"0.0000000000000000000001"', 1e-22),  # 22 decimals
    ],
)
def test_decimal_fast_path_is_correctly_rounded(text: str, value: float) -> None:
    buf = np.frombuffer(text.encode(), np.uint8)
    v, _, end = scan._dec(buf, 0, len(buf))
    assert end == len(buf)
    assert v == value == float(text.strip('"'))


@pytest.mark.parametrize(
    "text", ['"1e5"', '"12345678901234567890"', '"0.1234567890123456789"', '"1.2.3"', '"x"', "1.5"]
)
def test_decimal_fast_path_declines(text: str) -> None:
    buf = np.frombuffer(text.encode(), np.uint8)
    assert scan._dec(buf, 0, len(buf))[2] == -1


# --------------------------------------------------------------------------------------------
# Replay rules on small hand-written streams
# --------------------------------------------------------------------------------------------


def _msg(local: int, stream: str, data: dict[str, Any]) -> bytes:
    body = json.dumps({"stream": stream, "data": data}, separators=(",", ":"))
    return f"{local} {body}\n".encode()


def _depth(
    local: int, U: int, u: int, pu: int | None, bids: list[list[str]], asks: list[list[str]]
) -> bytes:
    d = {"e": "depthUpdate", "E": local // MS + 1000, "T": local // MS + 999, "s": "BTCUSDT",
         "U": U, "u": u}  # fmt: skip
    if pu is not None:
        d["pu"] = pu
    else:
        del d["T"]
    d["b"] = bids
    d["a"] = asks
    return _msg(local, "btcusdt@depth@0ms" if pu is not None else "btcusdt@depth@100ms", d)


def _snap(local: int, last: int, futures: bool = True, bid: str = "10.0") -> bytes:
    d: dict[str, object] = {"lastUpdateId": last}
    if futures:
        d.update(E=local // MS + 1000, T=local // MS + 999)
    d.update(bids=[[bid, "1.0"], ["9.9", "2.0"]], asks=[["10.1", "1.0"], ["10.2", "3.0"]])
    return f"{local} {json.dumps(d, separators=(',', ':'))}\n".encode()


def _trade(local: int, tid: int, m: bool = False) -> bytes:
    return _msg(local, "btcusdt@trade", {"e": "trade", "E": local // MS + 1000,
                "T": local // MS + 1000, "s": "BTCUSDT", "t": tid, "p": "10.0", "q": "0.5",
                "m": m})  # fmt: skip


def _bt(local: int, u: int) -> bytes:
    return _msg(local, "btcusdt@bookTicker", {"u": u, "s": "BTCUSDT", "b": "10.0", "B": "1.0",
                "a": "10.1", "A": "1.0"})  # fmt: skip


T0 = 1_723_161_255_000_000_000


def test_futures_rules_stale_straddle_and_release(tmp_path: Path) -> None:
    lines = [
        _depth(T0 + 1, 90, 95, 89, [["9.8", "1.0"]], []),  # u < 100: stale
        _depth(T0 + 2, 96, 100, 95, [["9.7", "1.0"]], []),  # straddles 100 (u == id is kept)
        _trade(T0 + 3, 7, m=True),
        _snap(T0 + 4, 100),
        _depth(T0 + 5, 101, 105, 100, [], [["10.3", "4.0"]]),
        _bt(T0 + 6, 105),
    ]
    s = read_binance_stream(_write(tmp_path, "f.gz", lines))
    ev = s.events
    assert s.market == "usdm"
    kinds = ev["kind"].tolist()
    assert kinds == [4, 3, 2, 2, 2, 2, 1, 1, 5, 5]
    assert ev["side"][0] == Side.ASK  # m=true
    released = ev[6]
    assert (released["price"], released["update_id"], released["first_id"]) == (9.7, 100, 96)
    assert released["local_ns"] == T0 + 4  # the snapshot's local time
    assert released["exch_ns"] == ((T0 + 2) // MS + 999) * MS  # its own T
    assert ev["prev_id"][7] == 100
    rep = s.sequence
    assert (rep.diffs_buffered, rep.diffs_stale, rep.diffs_applied) == (2, 1, 2)
    assert rep.snapshots[0].stale_dropped == 1 and rep.first_diff_ok is True
    assert check_bbo(s).matched == 1


def test_spot_rules_drop_u_equal_to_snapshot_id(tmp_path: Path) -> None:
    lines = [
        _depth(T0 + 1, 96, 100, None, [["9.7", "1.0"]], []),  # spot: u <= 100 is stale
        _snap(T0 + 2, 100, futures=False),
        _depth(T0 + 3, 100, 104, None, [], [["10.3", "4.0"]]),  # U <= 101 <= u
        _depth(T0 + 4, 105, 106, None, [["9.6", "1.0"]], []),  # U == previous u + 1
        _bt(T0 + 5, 106),
    ]
    s = read_binance_stream(_write(tmp_path, "s.gz", lines))
    assert s.market == "spot"
    rep = s.sequence
    assert (rep.diffs_stale, rep.diffs_applied, rep.gaps) == (1, 2, ())
    ev = s.events
    assert ev["kind"].tolist() == [3, 2, 2, 2, 2, 1, 1, 5, 5]
    assert np.all(ev["prev_id"][ev["kind"] == EventKind.DEPTH] == -1)
    assert s.exch_from_local.tolist() == [True] * 5 + [False, False, True, True]


def test_gap_clears_and_a_later_snapshot_resynchronises(tmp_path: Path) -> None:
    lines = [
        _snap(T0 + 1, 100),
        _depth(T0 + 2, 100, 102, 99, [["9.8", "1.0"]], []),
        _depth(T0 + 3, 110, 112, 108, [["9.7", "1.0"]], []),  # pu 108 != 102: gap, buffered
        _trade(T0 + 4, 1),
        _depth(T0 + 5, 113, 115, 112, [["9.6", "1.0"]], []),  # buffered
        _depth(T0 + 6, 116, 120, 115, [["9.5", "1.0"]], []),  # buffered, straddles 118
        _snap(T0 + 7, 118),
        _depth(T0 + 8, 121, 122, 120, [["9.4", "1.0"]], []),
        _trade(T0 + 9, 2),
    ]
    path = _write(tmp_path, "g.gz", lines)
    with pytest.warns(DataWarning, match=r"g\.gz, line 3: depth sequence gap at u=112") as rec:
        s = read_binance_stream(path)
    assert len(rec) == 1
    (gap,) = s.sequence.gaps
    assert (gap.line, gap.expected, gap.got, gap.rule) == (3, 102, 108, "pu == previous u")
    ev = s.events
    assert ev["kind"][gap.row] == EventKind.CLEAR and ev["local_ns"][gap.row] == T0 + 3
    assert f"event row {gap.row}" in str(rec[0].message)
    depth = ev[ev["kind"] == EventKind.DEPTH]
    assert depth["price"].tolist() == [9.8, 9.5, 9.4]
    assert depth["local_ns"].tolist() == [T0 + 2, T0 + 7, T0 + 8]
    rep = s.sequence
    # The gap diff and the next one are buffered, then stale at the second snapshot (u < 118).
    assert len(rep.snapshots) == 2
    assert (rep.snapshots[1].buffered, rep.snapshots[1].stale_dropped) == (3, 2)
    assert (rep.diffs_applied, rep.diffs_stale, rep.diffs_unsynced) == (3, 2, 0)
    assert np.count_nonzero(ev["kind"] == EventKind.TRADE) == 2
    assert is_sorted_by_local_time(ev)


def test_first_diff_not_straddling_is_a_gap(tmp_path: Path) -> None:
    lines = [_snap(T0 + 1, 100), _depth(T0 + 2, 105, 107, 104, [["9.8", "1.0"]], [])]
    with pytest.warns(DataWarning, match="line 2: depth sequence gap.*lastUpdateId <= u"):
        s = read_binance_stream(_write(tmp_path, "x.gz", lines))
    assert s.sequence.first_diff_ok is False
    assert s.sequence.diffs_unsynced == 1
    assert s.events["kind"].tolist() == [3, 2, 2, 2, 2, 3]


def test_duplicate_diff_in_live_is_ignored_with_warning(tmp_path: Path) -> None:
    d = _depth(T0 + 2, 100, 102, 99, [["9.8", "1.0"]], [])
    lines = [_snap(T0 + 1, 100), d, d.replace(str(T0 + 2).encode(), str(T0 + 3).encode(), 1)]
    with pytest.warns(DataWarning, match="line 3: depth diff u=102 is not newer"):
        s = read_binance_stream(_write(tmp_path, "d.gz", lines))
    assert s.sequence.gaps == () and s.sequence.diffs_stale == 1


def test_chunk_size_plain_text_and_multimember_gzip_give_same_events(tmp_path: Path) -> None:
    lines = _lines(require_data(SPOT_0808))[:3000]
    ref = read_binance_stream(_write(tmp_path, "a.gz", lines))
    small = read_binance_stream(_write(tmp_path, "b.gz", lines), chunk_lines=7)
    plain = tmp_path / "c.txt"
    plain.write_bytes(b"".join(lines))
    multi = tmp_path / "d.gz"
    multi.write_bytes(gzip.compress(b"".join(lines[:1000])) + gzip.compress(b"".join(lines[1000:])))
    for other in (small, read_binance_stream(plain), read_binance_stream(multi)):
        np.testing.assert_array_equal(other.events, ref.events)
        assert other.sequence.messages == ref.sequence.messages


def test_symbol_selection(tmp_path: Path) -> None:
    eth = _trade(T0 + 2, 1).replace(b"BTCUSDT", b"ETHUSDT").replace(b"btcusdt", b"ethusdt")
    lines = [_trade(T0 + 1, 5), eth, _trade(T0 + 3, 6)]
    path = _write(tmp_path, "m.gz", lines)
    with pytest.raises(
        DataError, match=r"m\.gz: line 2: symbol 'ETHUSDT' in a stream of 'BTCUSDT'"
    ):
        read_binance_stream(path)
    s = read_binance_stream(path, symbol="btcusdt")
    assert s.sequence.messages["other_symbol"] == 1
    assert s.events["update_id"].tolist() == [5, 6]
    e = read_binance_stream(path, symbol="ETHUSDT")
    assert e.symbol == "ETHUSDT" and len(e.events) == 1


def test_other_streams_are_counted_and_warned_once(tmp_path: Path) -> None:
    agg = _msg(T0 + 2, "btcusdt@aggTrade", {"e": "aggTrade", "s": "BTCUSDT", "a": 1})
    lines = [_trade(T0 + 1, 5), agg, agg, _trade(T0 + 3, 6)]
    with pytest.warns(DataWarning, match="line 2: stream 'btcusdt@aggTrade' is not used") as rec:
        s = read_binance_stream(_write(tmp_path, "o.gz", lines))
    assert len(rec) == 1
    assert s.sequence.messages["other_stream"] == 2


def test_slow_path_number_and_key_order(tmp_path: Path) -> None:
    """A price the fast path declines and reordered keys still parse, exactly as float()."""
    big = "12345678901234567.5"
    line = (f'{T0 + 1} {{"data":{{"t":5,"m":false,"q":"1","p":"{big}","s":"BTCUSDT",'
            f'"T":1723161256000}}, "stream":"btcusdt@trade"}}\n').encode()  # fmt: skip
    s = read_binance_stream(_write(tmp_path, "n.gz", [line]))
    assert s.events["price"][0] == float(big)


def test_invalid_arguments(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.gz", [_trade(T0, 1)])
    with pytest.raises(InvalidArgumentError, match="market"):
        read_binance_stream(path, market="futures")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="chunk_lines"):
        read_binance_stream(path, chunk_lines=0)
    with pytest.raises(InvalidArgumentError, match="on_bad_line"):
        read_binance_stream(path, on_bad_line="skip")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="path"):
        read_binance_stream([])
    with pytest.raises(DataError, match="no such file"):
        read_binance_stream(tmp_path / "missing.gz")
    depth = _write(tmp_path, "d.gz", [_depth(T0, 1, 2, 0, [["1.0", "1.0"]], [])])
    with pytest.raises(DataError, match="line 1: market='spot' was given but the depth diff is"):
        read_binance_stream(depth, market="spot")
    with pytest.warns(DataWarning, match="no depth snapshot"):
        assert read_binance_stream(depth, market="coinm").market == "coinm"
    with pytest.warns(DataWarning, match="not multiples of tick_size=0.3"):
        read_binance_stream(path, tick_size=0.3)


# --------------------------------------------------------------------------------------------
# Corrupted copies of the real files
# --------------------------------------------------------------------------------------------


def test_deleted_depth_line_is_a_gap_and_nothing_else_is_lost(tmp_path: Path) -> None:
    exp = STREAMS["usdm_btc"]
    lines = _lines(require_data(USDM_BTC))
    kinds = [_kind_of(ln) for ln in lines]
    snap = kinds.index("snapshot")
    depth_after = [i for i in range(snap + 1, len(lines)) if kinds[i].startswith("depth")]
    deleted, nxt = depth_after[100], depth_after[101]
    corrupt = lines[:deleted] + lines[deleted + 1 :]
    path = _write(tmp_path, "deleted.gz", corrupt)
    # After the deletion, the original line nxt (0-based) is 1-based line nxt.
    with pytest.warns(DataWarning, match=rf"deleted\.gz, line {nxt}: depth sequence gap"):
        s = read_binance_stream(path)
    rep = s.sequence
    (gap,) = rep.gaps
    assert (gap.path, gap.line, gap.rule) == (str(path), nxt, "pu == previous u")
    nxt_data = json.loads(lines[nxt].split(b" ", 1)[1])["data"]
    assert (gap.update_id, gap.got) == (nxt_data["u"], nxt_data["pu"])
    ev = s.events
    assert ev["kind"][gap.row] == EventKind.CLEAR
    assert ev["local_ns"][gap.row] == int(lines[nxt].split(b" ", 1)[0])
    later = ev["kind"][gap.row + 1 :]
    assert not np.isin(later, [EventKind.DEPTH, EventKind.SNAPSHOT]).any()
    remaining = len(depth_after) - 101
    assert rep.diffs_unsynced == remaining
    assert rep.diffs_applied == exp.depth_applied - 1 - remaining
    # Nothing else lost: every trade and every bookTicker is there.
    assert np.count_nonzero(ev["kind"] == EventKind.TRADE) == exp.trades
    assert np.count_nonzero(ev["kind"] == EventKind.BBO) == 2 * exp.book_tickers
    assert rep.n_trade_id_gaps == 0
    # The book check compares only while the book is valid, and still matches.
    chk = check_bbo(s)
    assert 0 < chk.checked < exp.bbo_checked and chk.matched == chk.checked


def test_shuffled_block_reports_nonmonotonic_times(tmp_path: Path) -> None:
    lines = _lines(require_data(SPOT_0808))
    block = list(range(20_000, 20_030))
    shuffled = block[:]
    random.Random(7).shuffle(shuffled)
    corrupt = lines[:]
    for dst, src in zip(block, shuffled, strict=True):
        corrupt[dst] = lines[src]
    path = _write(tmp_path, "shuffled.gz", corrupt)
    local = [int(ln.split(b" ", 1)[0]) for ln in corrupt]
    back = [i + 1 for i in range(1, len(local)) if local[i] < local[i - 1]]  # 1-based lines
    assert back
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = read_binance_stream(path)
    msgs = [str(w.message) for w in rec if issubclass(w.category, DataWarning)]
    assert any(f"shuffled.gz, line {back[0]}: local receive time earlier" in m for m in msgs)
    rep = s.sequence
    assert [ln for _, ln in rep.local_time_reversals] == back
    assert rep.n_trade_id_gaps > 0  # trades out of order
    with pytest.warns(DataWarning, match=r"shuffled\.gz, row \d+: local_ns earlier"):
        val = validate_events(s.events, path=str(path), tick_size=s.tick_size)
    assert val.n_nonmonotonic > 0
    for r in val.nonmonotonic_rows:
        assert s.events["local_ns"][r] < s.events["local_ns"][r - 1]


def test_crossed_snapshot_is_reported(tmp_path: Path) -> None:
    lines = _lines(require_data(SPOT_0808))
    i = next(k for k, ln in enumerate(lines) if _kind_of(ln) == "snapshot")
    ts, js = lines[i].split(b" ", 1)
    snap = json.loads(js)
    best_ask = float(snap["asks"][0][0])
    snap["bids"][0] = [f"{best_ask + 1:.8f}", "1.00000000"]
    lines[i] = ts + b" " + json.dumps(snap, separators=(",", ":")).encode() + b"\n"
    path = _write(tmp_path, "crossed.gz", lines)
    with pytest.warns(
        DataWarning, match=rf"crossed\.gz, line {i + 1}: the depth snapshot .* is crossed"
    ):
        s = read_binance_stream(path)
    with pytest.warns(DataWarning, match=r"crossed\.gz, row \d+: crossed book"):
        val = validate_events(s.events, path=str(path), tick_size=s.tick_size,
                              exch_known=~s.exch_from_local)  # fmt: skip
    last_snap_row = int(np.flatnonzero(s.events["kind"] == EventKind.SNAPSHOT)[-1])
    assert val.n_crossed
    assert val.crossed_rows[0] == last_snap_row
    assert val.crossed_after_reset_rows[0] == last_snap_row


def test_truncated_gzip_is_a_data_error(tmp_path: Path) -> None:
    raw = require_data(SPOT_0808).read_bytes()
    cut = raw[: len(raw) // 2]
    path = tmp_path / "truncated.gz"
    path.write_bytes(cut)
    complete = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    with pytest.raises(DataError, match=rf"truncated.*last complete line is line {complete}") as ei:
        read_binance_stream(path)
    assert ei.value.path == str(path)


def test_corrupt_gzip_is_a_data_error(tmp_path: Path) -> None:
    raw = bytearray(require_data(SPOT_0808).read_bytes())
    for k in range(len(raw) // 2, len(raw) // 2 + 64):
        raw[k] ^= 0xFF
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as ei:
        read_binance_stream(path)
    assert ei.value.path == str(path)


def test_line_with_missing_field(tmp_path: Path) -> None:
    lines = _lines(require_data(SPOT_0808))
    i = next(k for k, ln in enumerate(lines) if k > 100 and _kind_of(ln) == "trade")
    ts, js = lines[i].split(b" ", 1)
    msg = json.loads(js)
    del msg["data"]["p"]
    lines[i] = ts + b" " + json.dumps(msg, separators=(",", ":")).encode() + b"\n"
    path = _write(tmp_path, "missing.gz", lines)
    with pytest.raises(DataError, match=rf"line {i + 1}: trade has no field 'p'") as ei:
        read_binance_stream(path)
    assert ei.value.path == str(path)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = read_binance_stream(path, on_bad_line="warn")
    msgs = [str(w.message) for w in rec]
    assert any(f"line {i + 1}: trade has no field 'p'; line skipped" in m for m in msgs)
    assert any("trade id" in m and "was expected" in m for m in msgs)
    assert s.sequence.messages["bad_line"] == 1
    assert s.sequence.bad_lines[0][1] == i + 1
    assert np.count_nonzero(s.events["kind"] == EventKind.TRADE) == 9757 - 1


def test_garbled_depth_line_skipped_shows_as_gap(tmp_path: Path) -> None:
    lines = _lines(require_data(SPOT_0808))
    kinds = [_kind_of(ln) for ln in lines]
    snap = kinds.index("snapshot")
    depth_after = [k for k in range(snap + 1, len(lines)) if kinds[k].startswith("depth")]
    bad, nxt = depth_after[50], depth_after[51]
    lines[bad] = lines[bad][: len(lines[bad]) // 2] + b"\n"
    path = _write(tmp_path, "garbled.gz", lines)
    with pytest.raises(DataError, match=rf"line {bad + 1}: invalid JSON"):
        read_binance_stream(path)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = read_binance_stream(path, on_bad_line="warn")
    msgs = [str(w.message) for w in rec]
    assert any(f"line {bad + 1}: invalid JSON" in m for m in msgs)
    assert any(f"line {nxt + 1}: depth sequence gap" in m for m in msgs)
    assert s.sequence.gaps[0].rule == "U == previous u + 1"
