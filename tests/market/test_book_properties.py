"""Hypothesis: on random DEPTH/CLEAR streams the book equals a dict-based reference at every step.

The reference below shares no code with the kernels: it keys levels by the integer tick the
test generated (not by a tick computed from the price) and finds best prices with max/min.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.market import L2Book, replay_top_of_book
from tests.market._streams import C, D, rows

LO, SPAN = 500, 40  # window ticks 500 ... 539 (50.0 ... 53.9)

row_strategy = st.one_of(
    st.tuples(
        st.just(D),
        st.sampled_from([1, -1]),
        st.integers(LO - 3, LO + SPAN + 2),  # a few ticks outside the window
        st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.25, 1e-8, 1e6]),
    ),
    st.tuples(st.just(C), st.sampled_from([1, -1, 0]), st.just(0), st.just(0.0)),
)


def reference(stream: list[tuple[int, int, int, float]]) -> list[tuple[dict, dict, int]]:
    """Book (bids, asks as tick -> qty) and out-of-window count after each row."""
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    out = 0
    states = []
    for kind, side, tick, qty in stream:
        if kind == C:
            if side >= 0:
                bids = {}
            if side <= 0:
                asks = {}
        elif not LO <= tick < LO + SPAN:
            out += 1
        else:
            book = bids if side == 1 else asks
            if qty > 0.0:
                book[tick] = qty
            else:
                book.pop(tick, None)
        states.append((dict(bids), dict(asks), out))
    return states


@settings(max_examples=150, deadline=None)
@given(st.lists(row_strategy, min_size=1, max_size=40))
def test_book_equals_dict_reference_at_every_step(
    stream: list[tuple[int, int, int, float]],
) -> None:
    ev = rows([(k, s, t / 10.0, q) for k, s, t, q in stream])
    expected = reference(stream)
    top = replay_top_of_book(ev, tick_size=0.1, lo_tick=LO, n_ticks=SPAN)
    book = L2Book(tick_size=0.1, lo_tick=LO, n_ticks=SPAN)
    for i, (bids, asks, out) in enumerate(expected):
        book.apply(ev[i : i + 1])
        for side, levels, best in ((1, bids, max), (-1, asks, min)):
            prices, qtys = book.levels(side, SPAN)
            ticks = sorted(levels, reverse=side == 1)
            np.testing.assert_array_equal(prices, [t / 10.0 for t in ticks])
            np.testing.assert_array_equal(qtys, [levels[t] for t in ticks])
            tob_price = top.bid_price[i] if side == 1 else top.ask_price[i]
            tob_qty = top.bid_qty[i] if side == 1 else top.ask_qty[i]
            if levels:
                assert tob_price == best(levels) / 10.0
                assert tob_qty == levels[best(levels)]
            else:
                assert math.isnan(tob_price) and tob_qty == 0.0
        assert book.best_bid_qty == top.bid_qty[i] and book.best_ask_qty == top.ask_qty[i]
        assert book.n_bid_levels == len(bids) and book.n_ask_levels == len(asks)
        assert book.out_of_window == out
        crossed = bool(bids) and bool(asks) and max(bids) >= min(asks)
        assert book.crossed == crossed
