"""hftbacktest 2.4.4 side of bench_vs_hftbacktest.py (runs in a separate venv with hftbacktest).

The same quoter as the invrisk side: every 100 ms, bid at ``mid - (c1 + (q + 1/2) c2)`` and ask at
``mid + (c1 - (q - 1/2) c2)`` (GLFT's closed form with fixed coefficients, q in lots), rounded
away from the mid and kept off the touch, one lot of 0.001 per side, post-only, |q| < q_max
lots; orders at the right price are kept, others cancelled. Written against hftbacktest's
public Python API (numba strategy, as that library requires).

Decision times: hftbacktest's clock starts at the earliest timestamp of its data (the first
exchange time), invrisk's at the first local receive time, and both then decide every 100 ms.
The strategy first elapses ``first_elapse_ns`` (the stream's first local minus first exchange
time, passed by the caller) so that both engines decide at the same instants. On the
benchmark stream, whose book is re-centred every 100 ms of exchange time, the offset decides
whether a decision sees the re-centring or not; without it the two engines run what are in
effect different strategies (11,906 fills at hftbacktest's own timing, 34,583 at invrisk's).

Usage: python _hbt_quoter.py DATA.npz C1 C2 FIRST_ELAPSE_NS [twice]

With ``twice`` the strategy then runs again on a fresh backtest in the same process, compiled
this time, and the time of that call is printed (``COMPILED``): the loop without compilation.
"""

import math
import sys
import time

t_start = time.perf_counter()
import numpy as np  # noqa: E402
from _hbt_common import run_and_report  # noqa: E402
from hftbacktest import BUY, GTX, LIMIT  # noqa: E402
from numba import njit  # noqa: E402


@njit
def strategy(hbt, c1, c2, qty, q_max, first_elapse_ns):  # type: ignore[no-untyped-def]
    tick = hbt.depth(0).tick_size
    oid = 0
    n_dec = 0
    if first_elapse_ns > 0 and hbt.elapse(first_elapse_ns) != 0:
        return n_dec
    while hbt.elapse(100_000_000) == 0:
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        bb, ba = depth.best_bid_tick, depth.best_ask_tick
        if bb <= 0 or ba <= 0 or bb >= ba:
            continue
        mid = (depth.best_bid + depth.best_ask) / 2.0
        q = hbt.position(0) / qty
        bid_depth = c1 + (q + 0.5) * c2
        ask_depth = c1 - (q - 0.5) * c2
        bid_tick = min(math.floor((mid - bid_depth) / tick), depth.best_ask_tick - 1)
        ask_tick = max(math.ceil((mid + ask_depth) / tick), depth.best_bid_tick + 1)
        orders = hbt.orders(0)
        have_bid = False
        have_ask = False
        it = orders.values()
        while it.has_next():
            o = it.get()
            if not o.cancellable:
                continue
            if o.side == BUY:
                if o.price_tick == bid_tick and q < q_max:
                    have_bid = True
                else:
                    hbt.cancel(0, o.order_id, False)
            else:
                if o.price_tick == ask_tick and q > -q_max:
                    have_ask = True
                else:
                    hbt.cancel(0, o.order_id, False)
        if not have_bid and q < q_max:
            oid += 1
            hbt.submit_buy_order(0, oid, bid_tick * tick, qty, GTX, LIMIT, False)
        if not have_ask and q > -q_max:
            oid += 1
            hbt.submit_sell_order(0, oid, ask_tick * tick, qty, GTX, LIMIT, False)
        n_dec += 1
    return n_dec


data = np.load(sys.argv[1])["data"]
run_and_report(
    lambda hbt: strategy(
        hbt, float(sys.argv[2]), float(sys.argv[3]), 0.001, 10.0, int(sys.argv[4])
    ),
    data,
    t_start,
)
