"""L2Book on hand-built event arrays whose books are known."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from invrisk.data.events import EVENT_DTYPE, EventKind, Side, empty_events, events_from_columns
from invrisk.errors import InvalidArgumentError
from invrisk.market import (
    BookWindow,
    L2Book,
    book_range,
    replay_top_of_book,
    ticks_to_price,
)
from tests.market._streams import B, C, D, S, T, rows

BID, ASK = int(Side.BID), int(Side.ASK)
BACKENDS = ["numba", "python"]


def new_book(backend: str = "numba", lo_tick: int = 990, n_ticks: int = 30) -> L2Book:
    # window 99.0 ... 101.9 on a 0.1 grid
    return L2Book(tick_size=0.1, lo_tick=lo_tick, n_ticks=n_ticks, backend=backend)  # type: ignore[arg-type]


def assert_book(book: L2Book, bids: dict[float, float], asks: dict[float, float]) -> None:
    bp, bq = book.levels(BID, 100)
    ap, aq = book.levels(ASK, 100)
    assert dict(zip(bp.tolist(), bq.tolist(), strict=True)) == bids
    assert dict(zip(ap.tolist(), aq.tolist(), strict=True)) == asks
    assert list(bp) == sorted(bids, reverse=True)
    assert list(ap) == sorted(asks)
    assert book.n_bid_levels == len(bids) and book.n_ask_levels == len(asks)
    if bids:
        assert book.best_bid == max(bids) and book.best_bid_qty == bids[max(bids)]
    else:
        assert math.isnan(book.best_bid) and book.best_bid_qty == 0.0
        assert book.best_bid_tick is None
    if asks:
        assert book.best_ask == min(asks) and book.best_ask_qty == asks[min(asks)]
    else:
        assert math.isnan(book.best_ask) and book.best_ask_qty == 0.0
        assert book.best_ask_tick is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_inserts_updates_and_reads(backend: str) -> None:
    book = new_book(backend)
    book.apply(
        rows(
            [
                (D, BID, 99.9, 2.0),
                (D, BID, 100.0, 1.0),
                (D, BID, 99.5, 4.0),
                (D, ASK, 100.3, 5.0),
                (D, ASK, 100.1, 3.0),
                (D, BID, 99.9, 2.5),  # size change of an existing level
            ]
        )
    )
    assert_book(book, {100.0: 1.0, 99.9: 2.5, 99.5: 4.0}, {100.1: 3.0, 100.3: 5.0})
    assert book.best_bid_tick == 1000 and book.best_ask_tick == 1001
    assert book.depth_at(99.5, Side.BID) == 4.0
    assert book.depth_at(99.6, Side.BID) == 0.0
    assert book.depth_at(100.3, Side.ASK) == 5.0
    assert book.depth_at(100.3, Side.BID) == 0.0
    np.testing.assert_array_equal(book.cumulative_depth(BID, 2), [1.0, 3.5])
    np.testing.assert_array_equal(book.cumulative_depth(ASK, 10), [3.0, 8.0])
    prices, qtys = book.levels(BID, 2)
    np.testing.assert_array_equal(prices, [100.0, 99.9])
    prices[0] = -1.0  # a copy: the book is not changed
    qtys[0] = -1.0
    assert book.best_bid == 100.0 and book.best_bid_qty == 1.0
    assert book.events_applied == 6 and not book.crossed
    assert book.local_ns == 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_deleting_the_best_level_scans_to_the_next(backend: str) -> None:
    book = new_book(backend)
    book.apply(
        rows(
            [
                (D, BID, 100.0, 1.0),
                (D, BID, 99.9, 2.0),
                (D, BID, 99.3, 3.0),
                (D, ASK, 100.1, 1.0),
                (D, ASK, 100.2, 2.0),
                (D, ASK, 101.0, 3.0),
            ]
        )
    )
    book.apply(rows([(D, BID, 99.9, 0.0)]))  # not the best: best unchanged
    assert_book(book, {100.0: 1.0, 99.3: 3.0}, {100.1: 1.0, 100.2: 2.0, 101.0: 3.0})
    book.apply(rows([(D, BID, 100.0, 0.0)]))  # the best: scan over 6 empty ticks to 99.3
    assert_book(book, {99.3: 3.0}, {100.1: 1.0, 100.2: 2.0, 101.0: 3.0})
    book.apply(rows([(D, ASK, 100.1, 0.0), (D, ASK, 100.2, 0.0)]))
    assert_book(book, {99.3: 3.0}, {101.0: 3.0})
    book.apply(rows([(D, BID, 99.3, 0.0), (D, ASK, 101.0, 0.0)]))  # both sides emptied
    assert_book(book, {}, {})
    book.apply(rows([(D, BID, 99.2, 0.0), (D, ASK, 101.5, 0.0)]))  # deleting absent levels
    assert_book(book, {}, {})
    book.apply(rows([(D, BID, 99.0, 1.0), (D, ASK, 101.9, 1.0)]))  # the window's edges
    assert_book(book, {99.0: 1.0}, {101.9: 1.0})
    book.apply(rows([(D, BID, 99.0, 0.0), (D, ASK, 101.9, 0.0)]))
    assert_book(book, {}, {})


@pytest.mark.parametrize("backend", BACKENDS)
def test_clear_and_snapshot(backend: str) -> None:
    book = new_book(backend)
    book.apply(
        rows(
            [(D, BID, 100.0, 1.0), (D, BID, 99.8, 2.0), (D, ASK, 100.2, 3.0), (D, ASK, 101.0, 1.0)]
        )
    )
    book.apply(rows([(C, BID, 0.0, 0.0)]))  # bid side only
    assert_book(book, {}, {100.2: 3.0, 101.0: 1.0})
    book.apply(rows([(D, BID, 99.9, 1.0), (C, 0, 0.0, 0.0)]))  # both sides
    assert_book(book, {}, {})
    # a snapshot replaces the book: CLEAR of both sides, then the snapshot's levels
    book.apply(rows([(D, BID, 100.0, 1.0), (D, ASK, 100.4, 1.0)]))
    book.apply(
        rows(
            [
                (C, 0, 0.0, 0.0),
                (S, BID, 99.7, 1.5),
                (S, BID, 99.6, 2.5),
                (S, ASK, 99.8, 0.5),
                (S, ASK, 100.0, 4.0),
            ],
            local_ns=[10] * 5,
            update_id=[77] * 5,
        )
    )
    assert_book(book, {99.7: 1.5, 99.6: 2.5}, {99.8: 0.5, 100.0: 4.0})
    book.apply(rows([(C, ASK, 0.0, 0.0), (C, ASK, 0.0, 0.0)]))  # clearing an empty side
    assert_book(book, {99.7: 1.5, 99.6: 2.5}, {})
    assert book.events_applied == 4 + 1 + 2 + 2 + 5 + 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_kinds_are_skipped(backend: str) -> None:
    book = new_book(backend)
    book.apply(rows([(D, BID, 100.0, 1.0), (D, ASK, 100.1, 1.0)]))
    ev = events_from_columns(
        exch_ns=0,
        local_ns=np.arange(5),
        kind=[EventKind.TRADE, EventKind.BBO, EventKind.MARK, EventKind.FUNDING, EventKind.INDEX],
        side=[1, -1, 0, 0, 0],
        price=[100.1, 99.55555, 123.456, 0.0001, math.nan],  # off-grid/NaN prices: not checked
        qty=[1.0, -3.0, 0.0, 0.0, 0.0],
    )
    book.apply(ev)
    assert_book(book, {100.0: 1.0}, {100.1: 1.0})
    assert book.events_applied == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_of_window_rows_are_counted_not_applied(backend: str) -> None:
    book = new_book(backend)  # ticks 990 ... 1019 (99.0 ... 101.9)
    book.apply(
        rows(
            [
                (D, BID, 100.0, 1.0),
                (D, ASK, 100.1, 1.0),
                (D, BID, 98.9, 5.0),  # below the window: far from the touch, harmless
                (D, ASK, 102.0, 5.0),  # above: harmless
                (D, BID, 102.0, 0.0),  # a deletion above the window: harmless
                (D, ASK, 98.0, 0.0),  # a deletion below the window: harmless
            ]
        )
    )
    assert book.out_of_window == 4 and book.window_breaches == 0
    assert book.events_applied == 2
    assert_book(book, {100.0: 1.0}, {100.1: 1.0})
    book.apply(rows([(D, BID, 102.0, 1.0), (D, ASK, 98.9, 1.0)]))  # touch side: breaches
    assert book.out_of_window == 6 and book.window_breaches == 2
    assert_book(book, {100.0: 1.0}, {100.1: 1.0})
    top = replay_top_of_book(
        rows([(D, BID, 98.9, 1.0), (D, BID, 102.0, 1.0), (D, ASK, 101.9, 1.0)]),
        tick_size=0.1,
        lo_tick=990,
        n_ticks=30,
        backend=backend,  # type: ignore[arg-type]
    )
    assert (top.out_of_window, top.window_breaches) == (2, 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_crossed_books_are_counted_at_message_ends(backend: str) -> None:
    book = new_book(backend)
    book.apply(rows([(D, BID, 100.0, 1.0), (D, ASK, 100.1, 1.0)]))
    # One message (same local_ns and update_id) moving the price up: the new bid at 100.1 is
    # applied before the ask at 100.1 is deleted; the book is crossed only inside the message.
    book.apply(
        rows(
            [(D, BID, 100.1, 2.0), (D, ASK, 100.1, 0.0), (D, ASK, 100.2, 1.0)],
            local_ns=[5, 5, 5],
            update_id=[9, 9, 9],
        )
    )
    assert book.crossed_events == 0 and not book.crossed
    assert_book(book, {100.0: 1.0, 100.1: 2.0}, {100.2: 1.0})
    # A bid through the ask that stays: crossed after its message, kept as given (no fix).
    book.apply(rows([(D, BID, 100.3, 1.0), (D, ASK, 101.0, 1.0)], local_ns=[6, 7]))
    assert book.crossed and book.crossed_events == 2
    assert book.best_bid == 100.3 and book.best_ask == 100.2
    book.apply(rows([(D, BID, 100.3, 0.0)]))
    assert not book.crossed and book.crossed_events == 2
    # a locked book (bid == ask) counts as crossed
    top = replay_top_of_book(
        rows([(D, BID, 100.0, 1.0), (D, ASK, 100.0, 1.0), (D, ASK, 100.0, 0.0)]),
        tick_size=0.1,
        lo_tick=990,
        n_ticks=30,
        backend=backend,  # type: ignore[arg-type]
    )
    assert top.crossed_events == 1
    np.testing.assert_array_equal(top.crossed, [False, True, False])


@pytest.mark.parametrize("backend", BACKENDS)
def test_instrument_filter(backend: str) -> None:
    ev = rows([(D, BID, 100.0, 1.0), (D, BID, 100.5, 1.0), (D, ASK, 101.0, 1.0)])
    ev["instrument"] = [0, 1, 1]
    book = L2Book(tick_size=0.1, lo_tick=990, n_ticks=30, instrument=1, backend=backend)  # type: ignore[arg-type]
    book.apply(ev)
    assert_book(book, {100.5: 1.0}, {101.0: 1.0})
    assert book.events_applied == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_replay_rows_are_aligned_with_the_input(backend: str) -> None:
    ev = rows(
        [
            (D, BID, 100.0, 1.0),
            (T, BID, 100.1, 0.5),
            (D, ASK, 100.2, 2.0),
            (B, BID, 100.0, 1.0),
            (D, BID, 100.0, 0.0),
            (C, 0, 0.0, 0.0),
        ]
    )
    top = replay_top_of_book(ev, tick_size=0.1, lo_tick=990, n_ticks=30, backend=backend)  # type: ignore[arg-type]
    nan = math.nan
    np.testing.assert_array_equal(top.bid_price, [100.0, 100.0, 100.0, 100.0, nan, nan])
    np.testing.assert_array_equal(top.bid_qty, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(top.ask_price, [nan, nan, 100.2, 100.2, 100.2, nan])
    np.testing.assert_array_equal(top.ask_qty, [0.0, 0.0, 2.0, 2.0, 2.0, 0.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        top.crossed_events = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        top.bid_price[0] = 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_snapshot_and_samples(backend: str) -> None:
    ev = rows(
        [
            (D, BID, 100.0, 1.0),
            (D, BID, 99.8, 2.0),
            (D, ASK, 100.2, 3.0),
            (D, BID, 100.0, 0.0),
            (D, ASK, 100.3, 4.0),
        ],
        local_ns=[10, 20, 20, 30, 40],
        update_id=[1, 2, 2, 3, 4],
    )
    book = new_book(backend)
    samples = book.sample(ev, at_ns=[5, 10, 25, 35, 100], n_levels=2)
    nan = math.nan
    np.testing.assert_array_equal(
        samples.bid_price, [[nan, nan], [100.0, nan], [100.0, 99.8], [99.8, nan], [99.8, nan]]
    )
    np.testing.assert_array_equal(
        samples.bid_qty, [[0, 0], [1.0, 0], [1.0, 2.0], [2.0, 0], [2.0, 0]]
    )
    np.testing.assert_array_equal(
        samples.ask_price, [[nan, nan], [nan, nan], [100.2, nan], [100.2, nan], [100.2, 100.3]]
    )
    np.testing.assert_array_equal(samples.ask_qty, [[0, 0], [0, 0], [3, 0], [3, 0], [3, 4]])
    snap = book.snapshot(3)
    np.testing.assert_array_equal(snap.bid_price, [99.8, nan, nan])
    np.testing.assert_array_equal(snap.bid_qty, [2.0, 0.0, 0.0])
    np.testing.assert_array_equal(snap.ask_price, [100.2, 100.3, nan])
    np.testing.assert_array_equal(snap.ask_qty, [3.0, 4.0, 0.0])
    assert snap.local_ns == 40
    with pytest.raises(ValueError, match="read-only"):
        snap.ask_qty[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.local_ns = 0  # type: ignore[misc]
    # events after the last sample time are applied too
    book2 = new_book(backend)
    book2.sample(ev, at_ns=[15], n_levels=1)
    assert book2.best_bid == 99.8 and book2.best_ask == 100.2


def test_applying_in_pieces_equals_applying_at_once() -> None:
    ev = rows([(D, (-1) ** i, 99.5 + 0.1 * (i % 11), float(i % 3)) for i in range(40)])
    ev["side"] = np.where(ev["price"] < 100.05, BID, ASK)
    whole = new_book()
    whole.apply(ev)
    pieces = new_book()
    for chunk in np.array_split(ev, 7):
        pieces.apply(chunk)
    for side in (BID, ASK):
        for a, b in zip(whole.levels(side, 50), pieces.levels(side, 50), strict=True):
            np.testing.assert_array_equal(a, b)
    assert whole.events_applied == pieces.events_applied == 40


def test_prices_are_the_exact_decimal_floats() -> None:
    # 618002 * 0.1 is one ulp above 61800.2; the book reports the float of the decimal text
    assert float("61800.20") != 618002 * 0.1
    assert float(ticks_to_price(618002, 0.1)) == float("61800.20")
    assert float(ticks_to_price(7, 5.0)) == 35.0
    assert float(ticks_to_price(3, 0.25)) == 0.75
    ticks = np.arange(100_000, 200_000)
    np.testing.assert_array_equal(
        ticks_to_price(ticks, 0.01), [float(f"{t // 100}.{t % 100:02d}") for t in ticks]
    )
    book = L2Book(tick_size=0.1, lo_tick=617_990, n_ticks=100)
    book.apply(rows([(D, BID, float("61800.20"), 1.0), (D, ASK, float("61800.3"), 1.0)]))
    assert book.best_bid == float("61800.20") and book.best_ask == float("61800.3")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_rows_raise_naming_the_row_and_leave_the_book_unchanged(backend: str) -> None:
    good = [(D, BID, 100.0, 1.0), (D, ASK, 100.1, 1.0)]
    cases = [
        ((D, BID, 100.05, 1.0), "price 100.05 at row 2.*grid of tick_size=0.1"),
        ((D, 0, 100.0, 1.0), "side 0 at row 2"),
        ((S, 2, 100.0, 1.0), "side 2 at row 2"),
        ((C, 3, 0.0, 0.0), "side 3 at row 2"),
        ((D, BID, math.inf, 1.0), "price inf at row 2"),
        ((D, ASK, math.nan, 1.0), "price nan at row 2"),
        ((D, BID, 100.0, -1.0), "qty -1.0 at row 2"),
        ((D, BID, 100.0, math.nan), "qty nan at row 2"),
        ((S, ASK, 100.0, math.inf), "qty inf at row 2"),
    ]
    for bad, message in cases:
        book = new_book(backend)
        book.apply(rows([(D, BID, 99.0, 7.0)]))
        with pytest.raises(InvalidArgumentError, match=message) as info:
            book.apply(rows([*good, bad, (D, BID, 101.0, 1.0)]))
        assert info.value.argument == "events"
        assert_book(book, {99.0: 7.0}, {})
        assert book.events_applied == 1 and book.local_ns == 0
    # within 1e-9 relative of the grid is on the grid
    book = new_book(backend)
    book.apply(rows([(D, BID, 100.0 * (1 + 5e-10), 1.0)]))
    assert book.best_bid == 100.0


def test_bad_arguments() -> None:
    for kwargs, name in [
        ({"tick_size": 0.0}, "tick_size"),
        ({"tick_size": -0.1}, "tick_size"),
        ({"tick_size": math.nan}, "tick_size"),
        ({"tick_size": True}, "tick_size"),
        ({"n_ticks": 0}, "n_ticks"),
        ({"n_ticks": 10**9}, "n_ticks"),
        ({"n_ticks": 10.0}, "n_ticks"),
        ({"lo_tick": 2**60}, "lo_tick"),
        ({"instrument": -1}, "instrument"),
        ({"backend": "cuda"}, "backend"),
    ]:
        args: dict[str, object] = {"tick_size": 0.1, "lo_tick": 0, "n_ticks": 10, **kwargs}
        with pytest.raises(InvalidArgumentError) as info:
            L2Book(**args)  # type: ignore[arg-type]
        assert info.value.argument == name
    book = new_book()
    with pytest.raises(InvalidArgumentError, match="EVENT_DTYPE"):
        book.apply(np.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="EVENT_DTYPE"):
        book.apply(empty_events(4).reshape(2, 2))
    with pytest.raises(InvalidArgumentError, match="side"):
        book.levels(0, 3)
    with pytest.raises(InvalidArgumentError, match="n="):
        book.levels(BID, 0)
    with pytest.raises(InvalidArgumentError, match=r"window \[99.0, 101.9\]"):
        book.depth_at(102.0, BID)
    with pytest.raises(InvalidArgumentError, match="grid"):
        book.depth_at(100.05, BID)
    with pytest.raises(InvalidArgumentError, match="at_ns"):
        book.sample(empty_events(2), at_ns=[3, 2], n_levels=1)
    ev = rows([(D, BID, 100.0, 1.0), (D, BID, 100.0, 1.0)], local_ns=[5, 4])
    with pytest.raises(InvalidArgumentError, match="local_ns decreasing at row 1"):
        book.sample(ev, at_ns=[3], n_levels=1)


def test_empty_input_and_clear() -> None:
    book = new_book()
    book.apply(empty_events(0))
    assert book.events_applied == 0 and book.local_ns == -1
    top = book.replay(empty_events(0))
    assert top.bid_price.shape == (0,)
    book.apply(rows([(D, BID, 100.0, 1.0), (D, ASK, 100.1, 1.0)]))
    book.clear()
    assert_book(book, {}, {})
    assert book.events_applied == 2


def test_book_range() -> None:
    ev = rows([(C, 0, 0, 0), (D, BID, 100.0, 1.0), (T, ASK, 100.5, 1.0), (D, ASK, 101.2, 0.0)])
    ev["price"][0] = 1e9  # CLEAR rows carry no price: ignored
    assert book_range(ev, 0.1, margin_ticks=5) == BookWindow(995, 1012 + 5 - 995 + 1)
    window = book_range(ev, 0.1, margin_ticks=0)
    book = L2Book(tick_size=0.1, **window._asdict())
    book.apply(ev)
    assert book.out_of_window == 0 and book.best_bid == 100.0
    # far levels: the window is max_ticks wide, centred on the median trade price
    far = rows([(D, BID, 2.0, 1.0), (T, BID, 100.0, 1.0), (D, ASK, 5000.0, 1.0)])
    assert book_range(far, 0.1, max_ticks=100) == BookWindow(1000 - 50, 100)
    book = L2Book.for_events(far, tick_size=0.1, max_ticks=100)
    book.apply(far)
    assert (book.out_of_window, book.window_breaches) == (2, 0)
    with pytest.raises(InvalidArgumentError, match="events"):
        book_range(rows([(C, 0, 0.0, 0.0)]), 0.1)
    with pytest.raises(InvalidArgumentError, match="margin_ticks"):
        book_range(ev, 0.1, margin_ticks=-1)
    assert ev.dtype == EVENT_DTYPE
