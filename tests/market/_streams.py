"""Event streams for the market tests: hand-built rows and seeded random streams."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from invrisk.data.events import EventArray, EventKind, empty_events

D, S, C, T, B = (
    int(EventKind.DEPTH),
    int(EventKind.SNAPSHOT),
    int(EventKind.CLEAR),
    int(EventKind.TRADE),
    int(EventKind.BBO),
)


def rows(
    spec: Sequence[tuple[int, int, float, float]],
    *,
    local_ns: Sequence[int] | None = None,
    update_id: Sequence[int] | None = None,
) -> EventArray:
    """Events from (kind, side, price, qty) tuples; each row its own message by default."""
    ev = empty_events(len(spec))
    for i, (k, s, p, q) in enumerate(spec):
        ev[i]["kind"] = k
        ev[i]["side"] = s
        ev[i]["price"] = p
        ev[i]["qty"] = q
    ev["local_ns"] = np.arange(len(spec)) if local_ns is None else local_ns
    ev["exch_ns"] = ev["local_ns"]
    ev["update_id"] = np.arange(len(spec)) if update_id is None else update_id
    return ev


def random_stream(
    seed: int,
    n: int,
    *,
    lo_tick: int = 1000,
    span: int = 60,
    tick_size: float = 0.1,
    n_instruments: int = 1,
) -> EventArray:
    """Random book rows of every kind, some outside ``[lo_tick, lo_tick + span)``.

    Prices are ``tick / 10`` (on the grid of 0.1); messages of 1-4 rows share local_ns and
    update_id; about 2% CLEARs (either side or both), 5% SNAPSHOT rows, 15% TRADE/BBO rows,
    30% deletions, 5% of DEPTH rows up to 10 ticks outside the window on either side.
    """
    assert tick_size == 0.1
    rng = np.random.default_rng(seed)
    ev = empty_events(n)
    u = rng.random(n)
    kind = np.full(n, D, dtype=np.uint8)
    kind[u < 0.05] = S
    kind[(u >= 0.05) & (u < 0.07)] = C
    kind[(u >= 0.07) & (u < 0.15)] = T
    kind[(u >= 0.15) & (u < 0.22)] = B
    side = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    side[(kind == C) & (rng.random(n) < 0.4)] = 0
    tick = lo_tick + rng.integers(0, span, n)
    outside = rng.random(n) < 0.05
    tick[outside] = np.where(
        rng.random(outside.sum()) < 0.5,
        lo_tick - 1 - rng.integers(0, 10, outside.sum()),
        lo_tick + span + rng.integers(0, 10, outside.sum()),
    )
    qty = np.round(rng.exponential(2.0, n), 3) + 0.001
    qty[rng.random(n) < 0.3] = 0.0
    ev["kind"] = kind
    ev["side"] = side
    ev["price"] = tick / 10.0
    ev["qty"] = qty
    msg = np.cumsum(rng.random(n) < 0.5)
    ev["local_ns"] = 1_000 * msg
    ev["exch_ns"] = ev["local_ns"] - 7
    ev["update_id"] = msg
    ev["instrument"] = rng.integers(0, n_instruments, n)
    return ev
