"""Replay of a real Binance USD-M BTCUSDT L2 stream: the book's BBO equals the exchange's own.

Data: ``binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz`` (hftbacktest sample
data, 5.7 minutes on 2024-08-08; see its PROVENANCE.txt). The file is parsed minimally here,
independently of invrisk's Binance reader: buffer the diffs received before the REST snapshot,
apply the snapshot (CLEAR + SNAPSHOT rows), drop diffs with ``u < lastUpdateId``, check the
``pu`` chain, then apply every diff; each bookTicker becomes two BBO rows and each trade a
TRADE row (the book skips both).

Reference values from PROVENANCE.txt (the data curator's own replay of the same file):
629 bookTicker events carry the update id of the last applied diff and all 629 match the
reconstructed BBO; final best bid/ask 61659.7/61659.8 with 5018 bid and 4578 ask levels;
no crossed book.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from invrisk.data.events import EventArray, EventKind, Side, empty_events
from invrisk.market import L2Book, book_range
from tests.conftest import require_data

FILE = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"
TICK = 0.1


def parse(path: Path) -> EventArray:
    out: list[tuple[int, int, int, int, float, float, int]] = []

    def depth(local_ns: int, d: dict) -> None:
        for key, side in (("b", Side.BID), ("a", Side.ASK)):
            for p, q in d[key]:
                out.append(
                    (d["T"] * 10**6, local_ns, EventKind.DEPTH, side, float(p), float(q), d["u"])
                )

    buffered: list[tuple[int, dict]] = []
    snapshot_id = None
    last_u = None
    with gzip.open(path, "rt") as fh:
        for line in fh:
            ts, _, text = line.partition(" ")
            local_ns = int(ts)
            msg = json.loads(text)
            if "lastUpdateId" in msg:
                snapshot_id = msg["lastUpdateId"]
                out.append(
                    (msg["T"] * 10**6, local_ns, EventKind.CLEAR, Side.NONE, 0.0, 0.0, snapshot_id)
                )
                for key, side in (("bids", Side.BID), ("asks", Side.ASK)):
                    for p, q in msg[key]:
                        out.append(
                            (msg["T"] * 10**6, local_ns, EventKind.SNAPSHOT, side, float(p),
                             float(q), snapshot_id)
                        )  # fmt: skip
                for t, d in buffered:
                    if d["u"] >= snapshot_id:
                        assert last_u is None or d["pu"] == last_u
                        depth(t, d)
                        last_u = d["u"]
                continue
            d = msg["data"]
            stream = msg["stream"]
            if stream.endswith("@depth@0ms"):
                if snapshot_id is None:
                    buffered.append((local_ns, d))
                elif d["u"] >= snapshot_id:
                    assert last_u is None or d["pu"] == last_u, "sequence gap"
                    depth(local_ns, d)
                    last_u = d["u"]
            elif snapshot_id is None:
                continue
            elif stream.endswith("@bookTicker"):
                for side, p, q in ((Side.BID, d["b"], d["B"]), (Side.ASK, d["a"], d["A"])):
                    out.append(
                        (d["T"] * 10**6, local_ns, EventKind.BBO, side, float(p), float(q), d["u"])
                    )
            elif stream.endswith("@trade"):
                side = Side.ASK if d["m"] else Side.BID  # buyer is maker: a sell aggressor
                out.append(
                    (
                        d["T"] * 10**6,
                        local_ns,
                        EventKind.TRADE,
                        side,
                        float(d["p"]),
                        float(d["q"]),
                        d["t"],
                    )
                )
    ev = empty_events(len(out))
    cols = list(zip(*out, strict=True))
    for name, col in zip(
        ("exch_ns", "local_ns", "kind", "side", "price", "qty", "update_id"), cols, strict=True
    ):
        ev[name] = np.asarray([int(x) if name in ("kind", "side") else x for x in col])
    return ev


@pytest.fixture(scope="module")
def events() -> EventArray:
    return parse(require_data(FILE))


@pytest.mark.parametrize("backend", ["numba"])
def test_reconstructed_bbo_equals_book_ticker(events: EventArray, backend: str) -> None:
    window = book_range(events, TICK)
    book = L2Book(tick_size=TICK, **window._asdict(), backend=backend)  # type: ignore[arg-type]
    top = book.replay(events)
    assert top.out_of_window == 0 and top.window_breaches == 0
    assert top.crossed_events == 0

    kind = events["kind"]
    uid = events["update_id"]
    # The book after the last row of each diff message, by its update id (u). A bookTicker
    # with the same u describes that book; it arrives on another stream, before the diff
    # message (503 times here) or after it (126 times).
    depth_rows = np.flatnonzero(kind == EventKind.DEPTH)
    end_of_message = {int(u): int(i) for u, i in zip(uid[depth_rows], depth_rows, strict=True)}
    bbo_bid = np.flatnonzero((kind == EventKind.BBO) & (events["side"] == Side.BID))
    assert np.all(events["side"][bbo_bid + 1] == Side.ASK)
    pairs = [
        (int(i), end_of_message[int(uid[i])]) for i in bbo_bid if int(uid[i]) in end_of_message
    ]
    assert len(pairs) == 629  # as in PROVENANCE.txt
    ticker, state = (np.array(x) for x in zip(*pairs, strict=True))
    np.testing.assert_array_equal(top.bid_price[state], events["price"][ticker])
    np.testing.assert_array_equal(top.bid_qty[state], events["qty"][ticker])
    np.testing.assert_array_equal(top.ask_price[state], events["price"][ticker + 1])
    np.testing.assert_array_equal(top.ask_qty[state], events["qty"][ticker + 1])
    # when the ticker comes after its diff, the BBO row itself holds the same book
    after = ticker > state
    assert after.sum() == 126
    np.testing.assert_array_equal(top.bid_price[ticker[after]], events["price"][ticker[after]])

    assert (book.best_bid, book.best_ask) == (61659.7, 61659.8)
    assert (book.n_bid_levels, book.n_ask_levels) == (5018, 4578)
    assert book.events_applied == int(np.isin(kind, [1, 2, 3]).sum())
