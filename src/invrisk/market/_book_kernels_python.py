"""Pure-Python L2 book kernels: the reference twins of the jitted kernels in ``_book_kernels.py``.

The book is two dense float64 arrays of level quantities, one per side, over a window of
integer ticks ``[lo_tick, lo_tick + n_ticks)``: index ``i`` holds the level at tick
``lo_tick + i``, i.e. the price ``(lo_tick + i) * tick_size``; 0.0 means no level. Best prices
are kept as window indices in an int64 ``state`` array together with the level counts and the
counters (slots ``S_*`` below). ``_book_kernels.py`` compiles these very functions with numba;
the tests run both on the same random streams and require identical books, states and outputs.

``run_kernel`` first checks the rows it would apply (``check_rows``) and returns a status code
with the offending row in ``state[S_ERROR_ROW]`` before touching the book, so a bad row leaves
the book as it was. The Python wrapper (``book.py``) turns status codes into errors.

Rules (documented for users in :mod:`invrisk.market.book`):

* DEPTH and SNAPSHOT set the level at ``price`` on ``side`` to ``qty`` (0 removes it). The tick
  is ``floor(price / tick_size + 0.5)``; a price further than ``GRID_RTOL`` (relative) from
  that tick is off the grid, which is an error.
* CLEAR removes every level of ``side`` (0 = both sides). Other kinds are skipped.
* A DEPTH/SNAPSHOT row whose tick is outside the window is not applied and is counted
  (``S_OUT_OF_WINDOW``); if it adds size on the touch side of the window (a bid above it or an
  ask below it) it is also counted as a window breach (``S_WINDOW_BREACHES``): after one, the
  best price of that side may be wrong.
* Crossing (best bid >= best ask) is checked at the end of each message: after a book row whose
  next row does not share its ``local_ns`` and ``update_id`` (the last row of an array ends a
  message: do not split a message between two calls). Updates inside one exchange
  message may cross the book transiently (a new bid applied before the ask it replaces is
  deleted); only the state between messages is meaningful.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from numba.extending import register_jitable

from invrisk._typing import Float64Array, Int8Array, Int64Array

UInt8Array: TypeAlias = npt.NDArray[np.uint8]
Int32Array: TypeAlias = npt.NDArray[np.int32]

# Event kinds handled by the book (values of invrisk.data.events.EventKind; the three are
# consecutive, so ``DEPTH <= k <= CLEAR`` tests for a book row).
DEPTH = 1
SNAPSHOT = 2
CLEAR = 3

# Status codes returned by the kernels.
OK = 0
ERR_SIDE = 1
ERR_PRICE = 2
ERR_QTY = 3
ERR_OFF_GRID = 4

# Slots of the int64 state array.
S_BEST_BID = 0
"""Window index of the best bid, -1 when the bid side is empty."""
S_BEST_ASK = 1
"""Window index of the best ask, ``n_ticks`` when the ask side is empty."""
S_N_BID = 2
S_N_ASK = 3
S_APPLIED = 4
S_OUT_OF_WINDOW = 5
S_WINDOW_BREACHES = 6
S_CROSSED = 7
S_ERROR_ROW = 8
N_STATE = 9

# What run_kernel records.
MODE_APPLY = 0
MODE_REPLAY = 1
MODE_SAMPLE = 2

GRID_RTOL = 1e-9
"""A price is on the grid when ``|price / tick_size - tick| <= GRID_RTOL * |price / tick_size|``."""


@register_jitable
def price_tick(p: float, tick_size: float) -> float:
    """The nearest tick of ``p`` as a float (an integer value; floats avoid int64 overflow)."""
    return np.floor(p / tick_size + 0.5)


@register_jitable
def check_rows(
    kind: UInt8Array,
    side: Int8Array,
    price: Float64Array,
    qty: Float64Array,
    instrument: Int32Array,
    only_instrument: int,
    tick_size: float,
    state: Int64Array,
) -> int:
    """Check every book row that would be applied; status code, offending row in the state."""
    n = kind.shape[0]
    for i in range(n):
        k = kind[i]
        if not DEPTH <= k <= CLEAR:
            continue
        if only_instrument >= 0 and instrument[i] != only_instrument:
            continue
        s = side[i]
        if k == CLEAR:
            if s != 0 and s != 1 and s != -1:
                state[S_ERROR_ROW] = i
                return ERR_SIDE
            continue
        if s != 1 and s != -1:
            state[S_ERROR_ROW] = i
            return ERR_SIDE
        p = price[i]
        if not np.isfinite(p):
            state[S_ERROR_ROW] = i
            return ERR_PRICE
        q = qty[i]
        if not (q >= 0.0 and q < np.inf):
            state[S_ERROR_ROW] = i
            return ERR_QTY
        x = p / tick_size
        if abs(x - np.floor(x + 0.5)) > GRID_RTOL * abs(x):
            state[S_ERROR_ROW] = i
            return ERR_OFF_GRID
    return OK


@register_jitable
def clear_side(levels: Float64Array, best: int, count: int, step: int) -> None:
    """Zero the ``count`` levels of one side, walking away from ``best`` by ``step``."""
    i = best
    remaining = count
    while remaining > 0:
        if levels[i] != 0.0:
            levels[i] = 0.0
            remaining -= 1
        i += step


@register_jitable
def ends_message(i: int, local_ns: Int64Array, update_id: Int64Array) -> bool:
    """True if row ``i`` is the last row of its message (the next row differs in time or id)."""
    j = i + 1
    if j >= local_ns.shape[0]:
        return True
    return local_ns[j] != local_ns[i] or update_id[j] != update_id[i]


@register_jitable
def top_levels(
    levels: Float64Array,
    best: int,
    count: int,
    step: int,
    n_levels: int,
    out_idx: Int64Array,
    out_qty: Float64Array,
) -> None:
    """Write the ``n_levels`` best levels (window index, qty) of one side; pad with -1 / 0.0."""
    m = min(count, n_levels)
    i = best
    j = 0
    while j < m:
        if levels[i] != 0.0:
            out_idx[j] = i
            out_qty[j] = levels[i]
            j += 1
        i += step
    while j < n_levels:
        out_idx[j] = -1
        out_qty[j] = 0.0
        j += 1


def run_kernel(
    kind: UInt8Array,
    side: Int8Array,
    price: Float64Array,
    qty: Float64Array,
    local_ns: Int64Array,
    update_id: Int64Array,
    instrument: Int32Array,
    only_instrument: int,
    tick_size: float,
    lo_tick: int,
    bid: Float64Array,
    ask: Float64Array,
    state: Int64Array,
    mode: int,
    at_ns: Int64Array,
    out_bid_idx: Int64Array,
    out_bid_qty: Float64Array,
    out_ask_idx: Int64Array,
    out_ask_qty: Float64Array,
) -> int:
    """Apply every row to the book (``bid``, ``ask``, ``state`` updated in place); status code.

    ``mode`` says what is recorded in the ``out_*`` arrays (2-D, levels on the second axis):

    * ``MODE_APPLY``: nothing (pass arrays of shape (0, 1)).
    * ``MODE_REPLAY``: the best level of each side after each row (shape (n_rows, 1)).
    * ``MODE_SAMPLE``: the ``out.shape[1]`` best levels as of each time in ``at_ns``
      (non-decreasing; shape (len(at_ns), n_levels)): sample ``j`` is the book after every
      row with ``local_ns <= at_ns[j]`` (rows sorted by ``local_ns``).

    Recorded levels are window indices (-1 for none) and sizes (0.0 for none). The row loop is
    written out in one function: calling a per-row helper cost about a third of the speed.
    """
    status = check_rows(kind, side, price, qty, instrument, only_instrument, tick_size, state)
    if status != OK:
        return status
    n = kind.shape[0]
    n_ticks = bid.shape[0]
    lo_f = float(lo_tick)
    hi_f = float(n_ticks)
    n_levels = out_bid_idx.shape[1]
    n_at = at_ns.shape[0]
    best_bid = state[S_BEST_BID]
    best_ask = state[S_BEST_ASK]
    n_bid = state[S_N_BID]
    n_ask = state[S_N_ASK]
    applied = 0
    out = 0
    breaches = 0
    crossed = 0
    j = 0
    for i in range(n):
        if mode == MODE_SAMPLE:
            while j < n_at and at_ns[j] < local_ns[i]:
                top_levels(bid, best_bid, n_bid, -1, n_levels, out_bid_idx[j], out_bid_qty[j])
                top_levels(ask, best_ask, n_ask, 1, n_levels, out_ask_idx[j], out_ask_qty[j])
                j += 1
        k = kind[i]
        if DEPTH <= k <= CLEAR and (only_instrument < 0 or instrument[i] == only_instrument):
            s = side[i]
            if k == CLEAR:
                applied += 1
                if s >= 0:
                    clear_side(bid, best_bid, n_bid, -1)
                    n_bid = 0
                    best_bid = -1
                if s <= 0:
                    clear_side(ask, best_ask, n_ask, 1)
                    n_ask = 0
                    best_ask = n_ticks
            else:
                q = qty[i]
                idx_f = price_tick(price[i], tick_size) - lo_f
                if idx_f < 0.0 or idx_f >= hi_f:
                    out += 1
                    if q > 0.0 and ((s == 1 and idx_f >= 0.0) or (s == -1 and idx_f < 0.0)):
                        breaches += 1
                elif s == 1:
                    applied += 1
                    idx = int(idx_f)
                    old = bid[idx]
                    bid[idx] = q
                    if q > 0.0:
                        if old == 0.0:
                            n_bid += 1
                            if idx > best_bid:
                                best_bid = idx
                    elif old != 0.0:
                        n_bid -= 1
                        if n_bid == 0:
                            best_bid = -1
                        elif idx == best_bid:
                            m = idx - 1  # a level exists below: the scan stops
                            while bid[m] == 0.0:
                                m -= 1
                            best_bid = m
                else:
                    applied += 1
                    idx = int(idx_f)
                    old = ask[idx]
                    ask[idx] = q
                    if q > 0.0:
                        if old == 0.0:
                            n_ask += 1
                            if idx < best_ask:
                                best_ask = idx
                    elif old != 0.0:
                        n_ask -= 1
                        if n_ask == 0:
                            best_ask = n_ticks
                        elif idx == best_ask:
                            m = idx + 1
                            while ask[m] == 0.0:
                                m += 1
                            best_ask = m
            if best_bid >= best_ask and ends_message(i, local_ns, update_id):
                crossed += 1
        if mode == MODE_REPLAY:
            if best_bid >= 0:
                out_bid_idx[i, 0] = best_bid
                out_bid_qty[i, 0] = bid[best_bid]
            else:
                out_bid_idx[i, 0] = -1
                out_bid_qty[i, 0] = 0.0
            if best_ask < n_ticks:
                out_ask_idx[i, 0] = best_ask
                out_ask_qty[i, 0] = ask[best_ask]
            else:
                out_ask_idx[i, 0] = -1
                out_ask_qty[i, 0] = 0.0
    if mode == MODE_SAMPLE:
        while j < n_at:
            top_levels(bid, best_bid, n_bid, -1, n_levels, out_bid_idx[j], out_bid_qty[j])
            top_levels(ask, best_ask, n_ask, 1, n_levels, out_ask_idx[j], out_ask_qty[j])
            j += 1
    state[S_BEST_BID] = best_bid
    state[S_BEST_ASK] = best_ask
    state[S_N_BID] = n_bid
    state[S_N_ASK] = n_ask
    state[S_APPLIED] += applied
    state[S_OUT_OF_WINDOW] += out
    state[S_WINDOW_BREACHES] += breaches
    state[S_CROSSED] += crossed
    return OK


def levels_kernel(
    levels: Float64Array,
    best: int,
    count: int,
    step: int,
    out_idx: Int64Array,
    out_qty: Float64Array,
) -> None:
    """The ``len(out_idx)`` best levels of one side (see ``top_levels``)."""
    top_levels(levels, best, count, step, out_idx.shape[0], out_idx, out_qty)
