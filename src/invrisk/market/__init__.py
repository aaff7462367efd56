"""Market state built from event arrays: the L2 order book and market features.

- :class:`L2Book` applies arrays of :data:`~invrisk.data.events.EVENT_DTYPE` (DEPTH, SNAPSHOT,
  CLEAR) on an integer tick window with a numba kernel; best bid/ask, levels, depth,
  snapshots, sampled snapshots on a time grid, and counters of out-of-window rows and crossed
  books. :func:`replay_top_of_book` gives the best bid/ask after every row (to check a
  reconstructed book against an exchange's own BBO stream); :func:`book_range` picks a window
  (:func:`book_window` from a known tick range).
- :mod:`invrisk.market.features`: mid, microprice, multi-level weighted mid, order-book
  imbalance, spread, realized volatility on a time grid, trade-flow imbalance.
"""

from __future__ import annotations

from invrisk.market.book import (
    MAX_TICKS,
    BookSamples,
    BookSnapshot,
    BookWindow,
    L2Book,
    TopOfBook,
    book_range,
    book_window,
    replay_top_of_book,
    ticks_to_price,
)
from invrisk.market.features import (
    RealizedVolatility,
    book_imbalance,
    microprice,
    mid_price,
    realized_volatility,
    spread,
    spread_ticks,
    trade_flow_imbalance,
    weighted_mid,
)

__all__ = [
    "MAX_TICKS",
    "BookSamples",
    "BookSnapshot",
    "BookWindow",
    "L2Book",
    "RealizedVolatility",
    "TopOfBook",
    "book_imbalance",
    "book_range",
    "book_window",
    "microprice",
    "mid_price",
    "realized_volatility",
    "replay_top_of_book",
    "spread",
    "spread_ticks",
    "ticks_to_price",
    "trade_flow_imbalance",
    "weighted_mid",
]
