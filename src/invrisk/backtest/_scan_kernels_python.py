"""Pure-Python kernel of the backtester's one pass over an event stream before the replay
(the jitted twin is in ``_sim_kernels.py``).

:func:`scan_rows` checks what the replay relies on (rows sorted by ``local_ns``, instrument
indices in range), notes whether the rows are also in exchange-time order and the first
exchange time, and finds each instrument's lowest and highest priced tick, from which the
engine sizes the book windows (the same ticks as :func:`invrisk.market.book.book_range`:
``floor(price / tick + 0.5)`` over the finite prices of DEPTH, SNAPSHOT, TRADE and BBO rows).
Doing this in one compiled pass replaces two vectorised passes over the whole stream.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from invrisk._typing import Float64Array, Int64Array

UInt8Array = npt.NDArray[np.uint8]
Int32Array = npt.NDArray[np.int32]

# kinds whose price counts for the book window (values of invrisk.data.events.EventKind)
DEPTH = 1
SNAPSHOT = 2
TRADE = 4
BBO = 5

SCAN_OK = 0
SCAN_LOCAL_DECREASES = 1  # local_ns[row] < local_ns[row - 1]
SCAN_BAD_INSTRUMENT = 2  # instrument[row] outside [0, n_instruments)

# scan state (int64), carried from one chunk of rows to the next
SC_STATUS = 0
SC_ROW = 1  # the offending row when SC_STATUS is not SCAN_OK
SC_EXCH_SORTED = 2  # 1 while exch_ns has not decreased
SC_FIRST_EXCH = 3  # smallest exch_ns so far
SC_LAST_LOCAL = 4
SC_LAST_EXCH = 5
SC_N = 6


def new_scan_state() -> Int64Array:
    """The state before the first row."""
    sc = np.zeros(SC_N, dtype=np.int64)
    sc[SC_STATUS] = SCAN_OK
    sc[SC_ROW] = -1
    sc[SC_EXCH_SORTED] = 1
    sc[SC_FIRST_EXCH] = np.iinfo(np.int64).max
    sc[SC_LAST_LOCAL] = np.iinfo(np.int64).min
    sc[SC_LAST_EXCH] = np.iinfo(np.int64).min
    return sc


def scan_rows(
    local_ns: Int64Array,
    exch_ns: Int64Array,
    kind: UInt8Array,
    price: Float64Array,
    instrument: Int32Array,
    tick_size: Float64Array,
    lo_tick: Float64Array,
    hi_tick: Float64Array,
    n_rows: Int64Array,
    sc: Int64Array,
    first_row: int,
) -> None:
    """Scan the rows of one chunk (``first_row`` is the stream row of its first element).

    Updates ``sc`` and, per instrument ``i``, ``n_rows[i]`` and the priced tick range
    ``[lo_tick[i], hi_tick[i]]`` (start them at 0, +inf and -inf). Stops at the first defect,
    recorded in ``sc[SC_STATUS]`` and ``sc[SC_ROW]``; the caller stops too.
    """
    n_inst = tick_size.shape[0]
    last_local = sc[SC_LAST_LOCAL]
    last_exch = sc[SC_LAST_EXCH]
    first_exch = sc[SC_FIRST_EXCH]
    exch_sorted = sc[SC_EXCH_SORTED]
    for r in range(local_ns.shape[0]):
        t = local_ns[r]
        if t < last_local:
            sc[SC_STATUS] = SCAN_LOCAL_DECREASES
            sc[SC_ROW] = first_row + r
            return
        last_local = t
        i = instrument[r]
        if i < 0 or i >= n_inst:
            sc[SC_STATUS] = SCAN_BAD_INSTRUMENT
            sc[SC_ROW] = first_row + r
            return
        n_rows[i] += 1
        e = exch_ns[r]
        if e < first_exch:
            first_exch = e
        if e < last_exch:
            exch_sorted = 0
        last_exch = e
        k = kind[r]
        if k in (DEPTH, SNAPSHOT, TRADE, BBO):
            p = price[r]
            if math.isfinite(p):
                tk = np.floor(p / tick_size[i] + 0.5)
                if tk < lo_tick[i]:
                    lo_tick[i] = tk
                if tk > hi_tick[i]:
                    hi_tick[i] = tk
    sc[SC_LAST_LOCAL] = last_local
    sc[SC_LAST_EXCH] = last_exch
    sc[SC_FIRST_EXCH] = first_exch
    sc[SC_EXCH_SORTED] = exch_sorted
