"""L2 book throughput: invrisk.market.L2Book.apply on 5,000,000 events against pure-Python books.

Prints one JSON line. The stream is synthetic and seeded (numpy Generator): a random-walk
book of at most 50 levels per side (about 36 on average), tick 0.1 around 60,000, starting
from a CLEAR + SNAPSHOT; 20% of the rows are trades (which the book must skip), the rest
DEPTH updates near the touch (distance from the touch exponential with mean 12 ticks; a
quarter of them deletions, including deletions of the best level, which make the book scan
for the next level) and price moves (the touch ask deleted and a new bid placed at the old
mid, a far level deleted; or the mirror image). Timing is the public ``L2Book.apply`` on
the whole array (row checks included), best of 5 after a warm-up call.

References measured in the same run on a 200,000-event prefix of the same stream, scaled to
events/s: a dict-based book in plain Python (price -> size per side, best prices tracked, the
usual way to write one), and invrisk's own pure-Python twin of the kernel. The dict book's top
of book is checked against invrisk's on that prefix.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.data.events import EventKind, empty_events
from invrisk.market import L2Book, book_range, replay_top_of_book

N = 5_000_000
N_REF = 200_000
TICK = 0.1
LEVELS = 50
SEED = 2024


@njit(cache=True)
def _generate(n, u, levels, kind, side, tick, qty):  # type: ignore[no-untyped-def]
    """Fill the columns with a random-walk book stream; returns the number of rows written.

    ``u`` holds uniform draws (from a seeded numpy Generator), consumed in order.
    """
    width = 200_000
    c = width // 2  # bids at ticks <= c, asks at ticks >= c + 1
    j = 0  # next draw
    i = 0
    # initial snapshot: CLEAR then `levels` levels per side
    kind[i] = 3
    side[i] = 0
    tick[i] = c
    qty[i] = 0.0
    i += 1
    for k in range(levels):
        for s in (1, -1):
            kind[i] = 2
            side[i] = s
            tick[i] = c - k if s == 1 else c + 1 + k
            qty[i] = 0.001 * (1 + np.floor(-2000.0 * np.log(1.0 - u[j])))
            j += 1
            i += 1
    while i < n - 3:
        x = u[j]
        if x < 0.2:  # trade at the touch
            s = 1 if u[j + 1] < 0.5 else -1
            kind[i] = 4
            side[i] = s
            tick[i] = c + 1 if s == 1 else c
            qty[i] = 0.001 * (1 + np.floor(-200.0 * np.log(1.0 - u[j + 2])))
            i += 1
        elif x < 0.22:  # the mid moves one tick
            q = 0.001 * (1 + np.floor(-2000.0 * np.log(1.0 - u[j + 2])))
            if u[j + 1] < 0.5:  # up: the touch ask goes, a new bid at the old mid
                kind[i], side[i], tick[i], qty[i] = 1, -1, c + 1, 0.0
                c += 1
                kind[i + 1], side[i + 1], tick[i + 1], qty[i + 1] = 1, 1, c, q
                kind[i + 2], side[i + 2], tick[i + 2], qty[i + 2] = 1, 1, c - levels, 0.0
            else:
                kind[i], side[i], tick[i], qty[i] = 1, 1, c, 0.0
                c -= 1
                kind[i + 1], side[i + 1], tick[i + 1], qty[i + 1] = 1, -1, c + 1, q
                kind[i + 2], side[i + 2], tick[i + 2], qty[i + 2] = 1, -1, c + 1 + levels, 0.0
            i += 3
        else:  # a level near the touch changes size or is deleted
            s = 1 if u[j + 1] < 0.5 else -1
            k = min(int(-12.0 * np.log(1.0 - u[j + 2])), levels - 1)
            kind[i] = 1
            side[i] = s
            tick[i] = c - k if s == 1 else c + 1 + k
            if u[j + 3] < 0.25:
                qty[i] = 0.0
            else:
                qty[i] = 0.001 * (1 + np.floor(-2000.0 * np.log(1.0 - u[j + 4])))
            i += 1
        j += 5
    return i


def synthetic_stream(n: int, seed: int) -> np.ndarray:
    kind = np.zeros(n, dtype=np.uint8)
    side = np.zeros(n, dtype=np.int8)
    tick = np.zeros(n, dtype=np.int64)
    qty = np.zeros(n)
    u = np.random.default_rng(seed).random(5 * n + 2 * LEVELS)
    m = _generate(n, u, LEVELS, kind, side, tick, qty)
    del u
    ev = empty_events(m)
    ev["kind"] = kind[:m]
    ev["side"] = side[:m]
    # tick 100_000 is 60,000.0; tick / 10 is the double nearest to the decimal price
    ev["price"] = (tick[:m] + 500_000) / 10.0
    ev["qty"] = qty[:m]
    ev["local_ns"] = 1_723_161_255_000_000_000 + 1_000 * np.arange(m, dtype=np.int64)
    ev["exch_ns"] = ev["local_ns"] - 1_000_000
    ev["update_id"] = np.arange(m, dtype=np.int64)
    return ev


def dict_book(kind: list[int], side: list[int], price: list[float], qty: list[float]) -> tuple:
    """A plain-Python L2 book: dicts price -> size, best prices tracked incrementally."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    best_bid: float | None = None
    best_ask: float | None = None
    for k, s, p, q in zip(kind, side, price, qty, strict=True):
        if k == 1 or k == 2:
            if s == 1:
                if q > 0.0:
                    bids[p] = q
                    if best_bid is None or p > best_bid:
                        best_bid = p
                elif bids.pop(p, None) is not None and p == best_bid:
                    best_bid = max(bids) if bids else None
            else:
                if q > 0.0:
                    asks[p] = q
                    if best_ask is None or p < best_ask:
                        best_ask = p
                elif asks.pop(p, None) is not None and p == best_ask:
                    best_ask = min(asks) if asks else None
        elif k == 3:
            if s >= 0:
                bids.clear()
                best_bid = None
            if s <= 0:
                asks.clear()
                best_ask = None
    return best_bid, best_ask, bids, asks


def rate(n: int, seconds: float) -> float:
    return n / seconds


def main() -> None:
    t0 = time.perf_counter()
    ev = synthetic_stream(N, SEED)
    gen_s = time.perf_counter() - t0
    window = book_range(ev, TICK, margin_ticks=100)
    n = ev.shape[0]

    def ours() -> L2Book:
        book = L2Book(tick_size=TICK, **window._asdict())
        book.apply(ev)
        return book

    t_ours = best_time(ours)
    book = ours()

    def replay() -> object:
        return replay_top_of_book(ev, tick_size=TICK, **window._asdict())

    t_replay = best_time(replay)

    prefix = ev[:N_REF]
    cols = (
        prefix["kind"].tolist(),
        prefix["side"].tolist(),
        prefix["price"].tolist(),
        prefix["qty"].tolist(),
    )
    t_dict = best_time(lambda: dict_book(*cols), repeat=3)
    ref_bid, ref_ask, ref_bids, ref_asks = dict_book(*cols)

    def twin() -> L2Book:
        b = L2Book(tick_size=TICK, **window._asdict(), backend="python")
        b.apply(prefix)
        return b

    t_twin = best_time(twin, repeat=1)
    small = twin()
    fast = L2Book(tick_size=TICK, **window._asdict())
    fast.apply(prefix)
    assert (fast.best_bid, fast.best_ask) == (ref_bid, ref_ask) == (small.best_bid, small.best_ask)
    assert (fast.n_bid_levels, fast.n_ask_levels) == (len(ref_bids), len(ref_asks))
    kinds = ev["kind"]
    print(
        json.dumps(
            {
                "bench": "l2_book_apply",
                "events": n,
                "trade_share": round(float(np.mean(kinds == EventKind.TRADE)), 4),
                "window_ticks": window.n_ticks,
                "bid_levels_end": book.n_bid_levels,
                "ask_levels_end": book.n_ask_levels,
                "out_of_window": book.out_of_window,
                "crossed_events": book.crossed_events,
                "invrisk_apply_events_per_s": round(rate(n, t_ours)),
                "invrisk_replay_top_of_book_events_per_s": round(rate(n, t_replay)),
                "dict_book_python_events_per_s": round(rate(N_REF, t_dict)),
                "python_twin_events_per_s": round(rate(N_REF, t_twin)),
                "speedup_vs_dict_book": round(t_dict / N_REF / (t_ours / n), 1),
                "speedup_vs_python_twin": round(t_twin / N_REF / (t_ours / n), 1),
                "target_events_per_s": 20_000_000,
                "generate_s": round(gen_s, 2),
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
