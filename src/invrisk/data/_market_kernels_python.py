"""Pure-Python kernels of the synthetic market: the reference twins of ``_market_kernels.py``.

``_market_kernels.py`` compiles these very functions with numba; the tests run both on the same
inputs and require identical outputs. The kernels draw no random numbers themselves: they read
uniforms (in [0, 1)) and normals that the Python wrapper (``synthetic_market.py``) drew with a
seeded numpy ``Generator``, so a run is bit-identical for a seed and the same in both twins.

Everything here assumes validated input (the wrapper checks it). The book simulation
(:func:`simulate_market`) is resumable: its whole state lives in the arrays ``sf``/``si`` (slots
``SF_*``/``SI_*``), the book in ``bid_q``/``ask_q``, and it returns a status code whenever it
needs more uniforms (``ST_NEED_UNIFORMS``) or more output rows (``ST_NEED_ROWS``); the wrapper
supplies them and calls it again. It stops only between two iterations of its event loop, and
an iteration never uses more than ``IP_MAX_U`` uniforms nor writes more than ``IP_MAX_ROWS``
rows, so the output does not depend on where the stops fall.

The book
--------
Each side is a dense int64 array of level sizes in lots, indexed by ``tick - base_tick``. A
side always holds a *contiguous* block of non-empty levels from its best to its far end
(``d = +1`` for asks, whose levels go up from the best, ``d = -1`` for bids), at most
``n_levels`` long after each re-centring:

* at every step boundary the book is re-centred on the fair price: with S the spread in ticks,
  best bid ``bb = floor(x - S/2)`` (x the fair price in ticks), best ask ``ba = bb + S``; levels
  outside ``[bb - N + 1, bb]`` / ``[ba, ba + N - 1]`` are deleted first (both sides), then the
  empty ticks inside those blocks are filled with fresh levels, so no prefix of the message is
  crossed; the step's reference mid is ``(bb + ba) / 2``;
* limit orders add to a level ``j`` ticks behind their side's best (j geometric, capped at the
  block length and at ``N - 1``): they never improve the best and never leave a gap;
* cancels take between one lot and all but one lot of a level chosen uniformly in the block (a
  level's last lot is never cancelled, so no gap opens inside the block);
* market orders sweep from the best (below); the far level of a side always keeps a lot; with
  replenishment on, the levels a market order emptied are refilled right after it.

Market orders and lambda(delta) = A exp(-k delta)
-------------------------------------------------
Candidates for buy (sell) market orders arrive as a Poisson (or Hawkes) process of rate
``A exp(-k S tick / 2)`` per side, each with a target ``E ~ Exponential(k)`` ticks beyond the
step's reference best, i.e. a target depth ``tau = S tick / 2 + E tick`` from the reference mid.
Candidates with ``tau >= delta`` are thus a Poisson process of rate ``A exp(-k delta)``. A
candidate whose target lies before the current best (only possible without replenishment, after
an earlier order of the step swept levels away) is not marketable and is dropped; otherwise it
trades every level from the best to the last level within its target (whole levels, and
``ceil(u q)`` lots of the last one, q its size). As the block is contiguous from the step's
reference best, "the deepest level reached in the step is at least delta" is exactly "some
candidate of the step had ``tau >= delta``" (and, with replenishment, "this order reached
delta" is exactly "its ``tau >= delta``"), for every level depth delta from the best to the
``N - 1``-th level.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from numba.extending import register_jitable

from invrisk._typing import Float64Array, Int64Array

Columns: TypeAlias = tuple[npt.NDArray[Any], ...]
"""Output columns: exch_ns, message id, kind, side, price, qty, update_id, first_id, prev_id."""

# Status codes returned by simulate_market.
ST_DONE = 0
ST_NEED_UNIFORMS = 1
ST_NEED_ROWS = 2
ST_MAX_EVENTS = 3
ST_CROSSED = 4

# Event kinds (values of invrisk.data.events.EventKind).
K_DEPTH = 1
K_SNAPSHOT = 2
K_CLEAR = 3
K_TRADE = 4
K_BBO = 5
K_MARK = 6
K_INDEX = 7
K_FUNDING = 8

# Order-flow streams (index into the rates and the Hawkes excitations).
N_STREAMS = 6
LIMIT_BID = 0
LIMIT_ASK = 1
CANCEL_BID = 2
CANCEL_ASK = 3
MARKET_BUY = 4
MARKET_SELL = 5

# Slots of the float64 parameter array ``fp``.
FP_STEP_NS = 0
FP_TICK = 1
FP_INV_TICK = 2
"""``1 / tick`` when that is an integer (prices are then ``tick_index / inv``), else 0."""
FP_LOT = 3
"""Output quantity of one lot (base units for linear, contracts for inverse)."""
FP_CONTRACT = 4
FP_RATE = 5
"""Six slots: the baseline rate of each stream, per ns (already times 1 - branching ratio)."""
FP_HAWKES_ALPHA = 11
"""Jump of a stream's intensity at each of its arrivals, per ns (0: Poisson)."""
FP_HAWKES_BETA = 12
"""Decay rate of the excitation, per ns."""
FP_K_TICK = 13
"""k of the market-order depth profile, per tick."""
FP_LIMIT_P = 14
"""Parameter p of the geometric level distance of limit orders, P(j) = p (1 - p)^j."""
FP_LIMIT_QTY = 15
FP_TOP_QTY = 16
FP_GROWTH = 17
FP_NOISE = 18
FP_INTEREST = 19
FP_CLAMP = 20
FP_CAP = 21
FP_MARK_TAU_NS = 22
FP_TICKER_NS = 23
FP_FUNDING_NS = 24
N_FP = 25

# Slots of the int64 parameter array ``ip``.
IP_N_LEVELS = 0
IP_SPREAD = 1
IP_N_STEPS = 2
IP_BASE_TICK = 3
IP_BBO = 4
IP_MAX_EVENTS = 5
IP_INVERSE = 6
IP_MAX_ROWS = 7
IP_MAX_U = 8
IP_HAWKES = 9
IP_REPLENISH = 10
IP_BOOK_WIDTH = 11
"""Length of ``bid_q``/``ask_q`` (read by the wrapper only)."""
N_IP = 12

# Slots of the float64 state ``sf``.
SF_T = 0
"""Current time, ns since the start (float)."""
SF_EXC = 1
"""Six slots: Hawkes excitation of each stream at SF_T, per ns."""
SF_EMA = 7
SF_PREM_SUM = 8
SF_LAST_TICKER = 9
"""Time of the previous ticker (ns since start), -1 before the first."""
N_SF = 10

# Slots of the int64 state ``si``.
SI_STEP = 0
"""Index of the current step, -1 before the first re-centring."""
SI_ROW = 1
SI_U = 2
SI_MSG = 3
"""Messages written so far (the next message's id)."""
SI_CHANGE_ID = 4
"""Last book-change id used (DEPTH/SNAPSHOT/CLEAR rows are numbered 1, 2, ...)."""
SI_TRADE_ID = 5
SI_BID_BEST = 6
SI_BID_FAR = 7
SI_ASK_BEST = 8
SI_ASK_FAR = 9
SI_MID2 = 10
"""Twice the step's reference mid, in ticks above the base tick."""
SI_NEXT_TICKER = 11
SI_NEXT_FUNDING = 12
SI_PREM_N = 13
SI_N_MARKET = 14
"""Market orders executed."""
SI_N_CANDIDATES = 15
"""Market-order candidates (executed or dropped)."""
SI_ERROR_ROW = 16
N_SI = 17

NEVER = 2**62
"""A scheduled time that never comes (tickers or funding disabled)."""


# -- rows and levels -------------------------------------------------------------------------


@register_jitable
def level_price(idx: int, fp: Float64Array, ip: Int64Array) -> float:
    """Price of the level ``idx`` ticks above the base: ``tick_index / inv`` when exact."""
    t = float(ip[IP_BASE_TICK] + idx)
    inv = fp[FP_INV_TICK]
    if inv > 0.0:
        return t / inv
    return t * fp[FP_TICK]


@register_jitable
def to_lots(base_qty: float, price: float, fp: Float64Array, ip: Int64Array) -> int:
    """A size in base units at ``price`` as a whole number of lots (at least one)."""
    x = base_qty / fp[FP_LOT]
    if ip[IP_INVERSE]:
        x = x * price / fp[FP_CONTRACT]
    n = math.floor(x + 0.5)
    if n < 1:
        n = 1
    return n


@register_jitable
def emit(
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    kind: int,
    side: int,
    price: float,
    qty: float,
    uid: int,
) -> None:
    """Write one output row (``first_id``/``prev_id`` -1 until a book message is closed)."""
    exch, msgid, kd, sd, px, q, ui, fi, pi = cols
    exch[row] = t_ns
    msgid[row] = msg
    kd[row] = kind
    sd[row] = side
    px[row] = price
    q[row] = qty
    ui[row] = uid
    fi[row] = -1
    pi[row] = -1


@register_jitable
def emit_level(
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    kind: int,
    d: int,
    q: Int64Array,
    idx: int,
    fp: Float64Array,
    ip: Int64Array,
) -> None:
    """A book row with the current size of level ``idx`` of the side whose direction is d."""
    price = level_price(idx, fp, ip)
    emit(cols, row, t_ns, msg, kind, -d, price, q[idx] * fp[FP_LOT], -1)


@register_jitable
def fill_level(
    q: Int64Array, idx: int, size: float, uniform: float, fp: Float64Array, ip: Int64Array
) -> None:
    """A fresh level: ``size`` base units times a uniform noise in ``1 +- qty_noise``."""
    noisy = size * (1.0 + fp[FP_NOISE] * (2.0 * uniform - 1.0))
    q[idx] = to_lots(noisy, level_price(idx, fp, ip), fp, ip)


@register_jitable
def close_book_message(cols: Columns, first_row: int, row: int, n_changes: int, last: int) -> int:
    """Number the book rows of a message ``[first_row, row)``: U, u, pu as Binance does.

    The ``n_changes`` book rows get ``first_id = last + 1``, ``update_id = last + n_changes``
    and ``prev_id = last`` (the previous message's ``update_id``). Returns the new last id.
    """
    kd = cols[2]
    ui = cols[6]
    fi = cols[7]
    pi = cols[8]
    new_last = last + n_changes
    for r in range(first_row, row):
        k = kd[r]
        if K_DEPTH <= k <= K_CLEAR:  # DEPTH, SNAPSHOT or CLEAR
            ui[r] = new_last
            fi[r] = last + 1
            pi[r] = last
    return new_last


@register_jitable
def emit_bbo(
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    uid: int,
    bid_q: Int64Array,
    bid_best: int,
    ask_q: Int64Array,
    ask_best: int,
    fp: Float64Array,
    ip: Int64Array,
) -> int:
    """Write the two BBO rows (bid, then ask) of the current top of book; returns the next row."""
    lot = fp[FP_LOT]
    bp = level_price(bid_best, fp, ip)
    ap = level_price(ask_best, fp, ip)
    emit(cols, row, t_ns, msg, K_BBO, 1, bp, bid_q[bid_best] * lot, uid)
    emit(cols, row + 1, t_ns, msg, K_BBO, -1, ap, ask_q[ask_best] * lot, uid)
    return row + 2


@register_jitable
def book_mid(bid_best: int, ask_best: int, fp: Float64Array, ip: Int64Array) -> float:
    return 0.5 * (level_price(bid_best, fp, ip) + level_price(ask_best, fp, ip))


# -- order-flow events on one side (d = +1: asks, d = -1: bids) ------------------------------


@register_jitable
def market_order(
    q: Int64Array,
    d: int,
    best: int,
    far: int,
    ref_best: int,
    ua: float,
    ub: float,
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    trade_id: int,
    fp: Float64Array,
    ip: Int64Array,
) -> tuple[int, int, int, int]:
    """Sweep side ``d`` for a candidate with target ``-ln(1 - ua) / k`` ticks beyond ``ref_best``.

    Returns ``(row, trade_id, new best, levels changed)``; 0 levels when not marketable.
    """
    room = (far - ref_best) * d
    excess = -math.log(1.0 - ua) / fp[FP_K_TICK]
    extra = room
    if excess < room:
        extra = math.floor(excess)
    deep = ref_best + d * extra
    if (deep - best) * d < 0:
        return row, trade_id, best, 0
    if deep == far and q[deep] == 1:
        deep -= d
        if (deep - best) * d < 0:
            return row, trade_id, best, 0
    q_deep = q[deep]
    take = math.ceil(ub * q_deep)
    if take < 1:
        take = 1
    if deep == far and take >= q_deep:
        take = q_deep - 1
    n = (deep - best) * d + 1
    lot = fp[FP_LOT]
    for i in range(n):
        idx = best + d * i
        lots = q[idx] if idx != deep else take
        trade_id += 1
        emit(cols, row, t_ns, msg, K_TRADE, d, level_price(idx, fp, ip), lots * lot, trade_id)
        row += 1
    for i in range(n):
        idx = best + d * i
        q[idx] = 0 if idx != deep else q_deep - take
        emit_level(cols, row, t_ns, msg, K_DEPTH, d, q, idx, fp, ip)
        row += 1
    new_best = deep if q[deep] > 0 else deep + d
    return row, trade_id, new_best, n


@register_jitable
def replenish_side(
    q: Int64Array,
    d: int,
    best: int,
    ref_best: int,
    u: Float64Array,
    up: int,
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    fp: Float64Array,
    ip: Int64Array,
) -> tuple[int, int, int]:
    """Refill the empty levels from ``ref_best`` to the current best; ``(row, up, levels)``."""
    n = (best - ref_best) * d
    size = fp[FP_TOP_QTY]
    for i in range(n):
        idx = ref_best + d * i
        fill_level(q, idx, size, u[up], fp, ip)
        up += 1
        emit_level(cols, row, t_ns, msg, K_DEPTH, d, q, idx, fp, ip)
        row += 1
        size *= fp[FP_GROWTH]
    return row, up, n


@register_jitable
def limit_order(
    q: Int64Array,
    d: int,
    best: int,
    far: int,
    ua: float,
    ub: float,
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    fp: Float64Array,
    ip: Int64Array,
) -> int:
    """Add a limit order ``j`` levels behind the best (geometric j); returns the new far end."""
    length = (far - best) * d + 1
    j_max = ip[IP_N_LEVELS] - 1
    if length < j_max:
        j_max = length
    j = 0
    p = fp[FP_LIMIT_P]
    if p < 1.0:
        xj = math.log(1.0 - ua) / math.log(1.0 - p)
        j = j_max if xj >= j_max else math.floor(xj)
    idx = best + d * j
    q[idx] += to_lots(-math.log(1.0 - ub) * fp[FP_LIMIT_QTY], level_price(idx, fp, ip), fp, ip)
    emit_level(cols, row, t_ns, msg, K_DEPTH, d, q, idx, fp, ip)
    if (idx - far) * d > 0:
        return idx
    return far


@register_jitable
def cancel_order(
    q: Int64Array,
    d: int,
    best: int,
    far: int,
    ua: float,
    ub: float,
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    fp: Float64Array,
    ip: Int64Array,
) -> int:
    """Cancel part of a uniformly chosen level, keeping one lot; returns levels changed (0/1)."""
    idx = best + d * math.floor(ua * ((far - best) * d + 1))
    size = q[idx]
    if size < 2:
        return 0
    q[idx] = size - 1 - math.floor(ub * (size - 1))
    emit_level(cols, row, t_ns, msg, K_DEPTH, d, q, idx, fp, ip)
    return 1


@register_jitable
def delete_outside(
    q: Int64Array,
    d: int,
    best: int,
    far: int,
    new_best: int,
    new_far: int,
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    fp: Float64Array,
    ip: Int64Array,
) -> int:
    """Delete the levels of the block ``best..far`` outside ``new_best..new_far``; next row."""
    for i in range((far - best) * d + 1):
        idx = best + d * i
        if (idx - new_best) * d < 0 or (idx - new_far) * d > 0:
            q[idx] = 0
            emit_level(cols, row, t_ns, msg, K_DEPTH, d, q, idx, fp, ip)
            row += 1
    return row


@register_jitable
def fill_block(
    q: Int64Array,
    d: int,
    new_best: int,
    kind: int,
    u: Float64Array,
    up: int,
    cols: Columns,
    row: int,
    t_ns: int,
    msg: int,
    fp: Float64Array,
    ip: Int64Array,
) -> tuple[int, int]:
    """Fill the empty levels of ``n_levels`` from ``new_best``; returns ``(row, up)``."""
    size = fp[FP_TOP_QTY]
    for i in range(ip[IP_N_LEVELS]):
        idx = new_best + d * i
        if q[idx] == 0:
            fill_level(q, idx, size, u[up], fp, ip)
            up += 1
            emit_level(cols, row, t_ns, msg, kind, d, q, idx, fp, ip)
            row += 1
        size *= fp[FP_GROWTH]
    return row, up


# -- the simulation --------------------------------------------------------------------------


def simulate_market(
    fair: Float64Array,
    index: Float64Array,
    mid2_out: Int64Array,
    bid_q: Int64Array,
    ask_q: Int64Array,
    u: Float64Array,
    fp: Float64Array,
    ip: Int64Array,
    sf: Float64Array,
    si: Int64Array,
    cols: Columns,
) -> int:
    """Run the book and order-flow simulation until done or a buffer runs out (status code).

    ``fair``/``index`` are the fair (book-centre) and index prices at the step starts,
    ``mid2_out`` receives twice each step's reference mid in absolute ticks. ``cols`` are the
    output columns (see :data:`Columns`); exchange times are ns since the start.
    """
    n_levels = ip[IP_N_LEVELS]
    spread = ip[IP_SPREAD]
    hawkes = ip[IP_HAWKES]
    step_ns = int(fp[FP_STEP_NS])
    beta = fp[FP_HAWKES_BETA]
    cap = len(cols[0])
    n_u = len(u)

    t = sf[SF_T]
    step = si[SI_STEP]
    row = si[SI_ROW]
    up = si[SI_U]
    msg = si[SI_MSG]
    chg = si[SI_CHANGE_ID]
    trade_id = si[SI_TRADE_ID]
    bid_best = si[SI_BID_BEST]
    bid_far = si[SI_BID_FAR]
    ask_best = si[SI_ASK_BEST]
    ask_far = si[SI_ASK_FAR]
    mid2 = si[SI_MID2]
    next_ticker = si[SI_NEXT_TICKER]
    next_funding = si[SI_NEXT_FUNDING]
    exc = sf[SF_EXC : SF_EXC + N_STREAMS]
    rate = fp[FP_RATE : FP_RATE + N_STREAMS]
    status = ST_DONE

    while True:
        if row >= ip[IP_MAX_EVENTS]:
            status = ST_MAX_EVENTS
            break
        if row + ip[IP_MAX_ROWS] > cap:
            status = ST_NEED_ROWS
            break
        if up + ip[IP_MAX_U] > n_u:
            status = ST_NEED_UNIFORMS
            break

        if step >= 0:
            # Propose the next order-flow event (Ogata thinning; exact Poisson when no Hawkes).
            t_step = (step + 1) * step_ns
            t_sched = min(t_step, next_ticker, next_funding)
            total = 0.0
            for s in range(N_STREAMS):
                total += rate[s] + exc[s]
            t_new = t - math.log(1.0 - u[up]) / total
            up += 1
            if t_new >= t_sched:
                # Beyond the next scheduled event: by the memoryless property the proposal is
                # dropped and the flow restarts from the scheduled time.
                if hawkes:
                    decay = math.exp(-beta * (t_sched - t))
                    for s in range(N_STREAMS):
                        exc[s] *= decay
                t = float(t_sched)
                if t_sched == t_step:
                    if step + 1 >= ip[IP_N_STEPS]:
                        status = ST_DONE
                        break
                elif t_sched == next_ticker:
                    # INDEX and MARK; the premium sample feeds the mark's EMA and the funding.
                    idx_price = index[step]
                    premium = (book_mid(bid_best, ask_best, fp, ip) - idx_price) / idx_price
                    if sf[SF_LAST_TICKER] < 0.0:
                        sf[SF_EMA] = premium
                    else:
                        w = 1.0 - math.exp(-(t - sf[SF_LAST_TICKER]) / fp[FP_MARK_TAU_NS])
                        sf[SF_EMA] += w * (premium - sf[SF_EMA])
                    sf[SF_LAST_TICKER] = t
                    sf[SF_PREM_SUM] += premium
                    si[SI_PREM_N] += 1
                    mark = idx_price * (1.0 + sf[SF_EMA])
                    emit(cols, row, t_sched, msg, K_INDEX, 0, idx_price, 0.0, -1)
                    emit(cols, row + 1, t_sched, msg, K_MARK, 0, mark, 0.0, -1)
                    row += 2
                    msg += 1
                    next_ticker += int(fp[FP_TICKER_NS])
                    continue
                else:
                    # FUNDING = clamp(P + clamp(interest - P, -c, c), -cap, cap), P the mean
                    # premium sampled at the interval's tickers (the current one if none).
                    if si[SI_PREM_N] > 0:
                        p_avg = sf[SF_PREM_SUM] / si[SI_PREM_N]
                    else:
                        idx_price = index[step]
                        p_avg = (book_mid(bid_best, ask_best, fp, ip) - idx_price) / idx_price
                    diff = min(max(fp[FP_INTEREST] - p_avg, -fp[FP_CLAMP]), fp[FP_CLAMP])
                    funding = min(max(p_avg + diff, -fp[FP_CAP]), fp[FP_CAP])
                    emit(cols, row, t_sched, msg, K_FUNDING, 0, funding, 0.0, -1)
                    row += 1
                    msg += 1
                    sf[SF_PREM_SUM] = 0.0
                    si[SI_PREM_N] = 0
                    next_funding += int(fp[FP_FUNDING_NS])
                    continue
            else:
                if hawkes:
                    decay = math.exp(-beta * (t_new - t))
                    for s in range(N_STREAMS):
                        exc[s] *= decay
                t = t_new
                x = u[up] * total
                up += 1
                stream = -1
                acc = 0.0
                for s in range(N_STREAMS):
                    acc += rate[s] + exc[s]
                    if x < acc:
                        stream = s
                        break
                if stream < 0:
                    continue  # rejected by the thinning (Hawkes only)
                if hawkes:
                    exc[stream] += fp[FP_HAWKES_ALPHA]
                ua = u[up]
                ub = u[up + 1]
                up += 2
                t_ns = math.floor(t)
                top = (bid_best, bid_q[bid_best], ask_best, ask_q[ask_best])
                first_row = row
                n_changes = 0
                ref_best = 0
                if stream == MARKET_BUY:
                    si[SI_N_CANDIDATES] += 1
                    ref_best = (mid2 + spread) // 2
                    row, trade_id, ask_best, n_changes = market_order(
                        ask_q,
                        1,
                        ask_best,
                        ask_far,
                        ref_best,
                        ua,
                        ub,
                        cols,
                        row,
                        t_ns,
                        msg,
                        trade_id,
                        fp,
                        ip,
                    )
                elif stream == MARKET_SELL:
                    si[SI_N_CANDIDATES] += 1
                    ref_best = (mid2 - spread) // 2
                    row, trade_id, bid_best, n_changes = market_order(
                        bid_q,
                        -1,
                        bid_best,
                        bid_far,
                        ref_best,
                        ua,
                        ub,
                        cols,
                        row,
                        t_ns,
                        msg,
                        trade_id,
                        fp,
                        ip,
                    )
                elif stream == LIMIT_BID:
                    bid_far = limit_order(
                        bid_q, -1, bid_best, bid_far, ua, ub, cols, row, t_ns, msg, fp, ip
                    )
                    n_changes = 1
                    row += 1
                elif stream == LIMIT_ASK:
                    ask_far = limit_order(
                        ask_q, 1, ask_best, ask_far, ua, ub, cols, row, t_ns, msg, fp, ip
                    )
                    n_changes = 1
                    row += 1
                elif stream == CANCEL_BID:
                    n_changes = cancel_order(
                        bid_q, -1, bid_best, bid_far, ua, ub, cols, row, t_ns, msg, fp, ip
                    )
                    row += n_changes
                else:
                    n_changes = cancel_order(
                        ask_q, 1, ask_best, ask_far, ua, ub, cols, row, t_ns, msg, fp, ip
                    )
                    row += n_changes
                if n_changes == 0:
                    continue
                if stream >= MARKET_BUY:
                    si[SI_N_MARKET] += 1
                chg = close_book_message(cols, first_row, row, n_changes, chg)
                if bid_best >= ask_best:
                    si[SI_ERROR_ROW] = row - 1
                    status = ST_CROSSED
                    break
                if ip[IP_BBO] and top != (bid_best, bid_q[bid_best], ask_best, ask_q[ask_best]):
                    row = emit_bbo(
                        cols, row, t_ns, msg, chg, bid_q, bid_best, ask_q, ask_best, fp, ip
                    )
                msg += 1
                if stream < MARKET_BUY or not ip[IP_REPLENISH]:
                    continue
                # Resilience: the levels the order emptied between the reference best and the
                # new best are refilled at once (a separate message).
                first_row = row
                if stream == MARKET_BUY:
                    row, up, n_changes = replenish_side(
                        ask_q, 1, ask_best, ref_best, u, up, cols, row, t_ns, msg, fp, ip
                    )
                    if n_changes > 0:
                        ask_best = ref_best
                else:
                    row, up, n_changes = replenish_side(
                        bid_q, -1, bid_best, ref_best, u, up, cols, row, t_ns, msg, fp, ip
                    )
                    if n_changes > 0:
                        bid_best = ref_best
                if n_changes == 0:
                    continue
                chg = close_book_message(cols, first_row, row, n_changes, chg)
                if bid_best >= ask_best:
                    si[SI_ERROR_ROW] = row - 1
                    status = ST_CROSSED
                    break
                if ip[IP_BBO]:
                    row = emit_bbo(
                        cols, row, t_ns, msg, chg, bid_q, bid_best, ask_q, ask_best, fp, ip
                    )
                msg += 1
                continue

        # ---- step boundary: re-centre the book on the fair price of the new step -------------
        initial = step < 0
        step += 1
        t_ns = step * step_ns
        t = float(t_ns)
        if fp[FP_INV_TICK] > 0.0:
            x = fair[step] * fp[FP_INV_TICK] - ip[IP_BASE_TICK]
        else:
            x = fair[step] / fp[FP_TICK] - ip[IP_BASE_TICK]
        bb = math.floor(x - 0.5 * spread)
        ba = bb + spread
        mid2 = bb + ba
        mid2_out[step] = mid2 + 2 * ip[IP_BASE_TICK]
        first_row = row
        kind = K_DEPTH
        if initial:
            kind = K_SNAPSHOT
            emit(cols, row, t_ns, msg, K_CLEAR, 0, 0.0, 0.0, -1)
            row += 1
            top = (-1, 0, -1, 0)
        else:
            top = (bid_best, bid_q[bid_best], ask_best, ask_q[ask_best])
            # Deletions first (both sides), then insertions: no prefix is crossed.
            row = delete_outside(
                ask_q, 1, ask_best, ask_far, ba, ba + n_levels - 1, cols, row, t_ns, msg, fp, ip
            )
            row = delete_outside(
                bid_q, -1, bid_best, bid_far, bb, bb - n_levels + 1, cols, row, t_ns, msg, fp, ip
            )
        row, up = fill_block(ask_q, 1, ba, kind, u, up, cols, row, t_ns, msg, fp, ip)
        row, up = fill_block(bid_q, -1, bb, kind, u, up, cols, row, t_ns, msg, fp, ip)
        ask_best = ba
        ask_far = ba + n_levels - 1
        bid_best = bb
        bid_far = bb - n_levels + 1
        if row > first_row:
            chg = close_book_message(cols, first_row, row, row - first_row, chg)
            if ip[IP_BBO] and top != (bid_best, bid_q[bid_best], ask_best, ask_q[ask_best]):
                row = emit_bbo(cols, row, t_ns, msg, chg, bid_q, bid_best, ask_q, ask_best, fp, ip)
            msg += 1

    sf[SF_T] = t
    si[SI_STEP] = step
    si[SI_ROW] = row
    si[SI_U] = up
    si[SI_MSG] = msg
    si[SI_CHANGE_ID] = chg
    si[SI_TRADE_ID] = trade_id
    si[SI_BID_BEST] = bid_best
    si[SI_BID_FAR] = bid_far
    si[SI_ASK_BEST] = ask_best
    si[SI_ASK_FAR] = ask_far
    si[SI_MID2] = mid2
    si[SI_NEXT_TICKER] = next_ticker
    si[SI_NEXT_FUNDING] = next_funding
    return status


# -- price paths and latency -----------------------------------------------------------------


def price_path(
    z: Float64Array,
    jump_log: Float64Array,
    x0: float,
    geometric: int,
    drift_step: float,
    var_step: float,
    garch_alpha: float,
    garch_beta: float,
    x_out: Float64Array,
    var_out: Float64Array,
) -> int:
    """Fair price on the step grid with a GARCH(1,1) variance recursion; status 0 or the step.

    ``x_out[0] = x0``; for each step i, with conditional variance ``h_i`` (``var_out[i]``) and
    ``eps_i = sqrt(h_i) z_i``:

    * arithmetic: ``x_{i+1} = (x_i + drift_step + eps_i) exp(J_i)``,
    * geometric: ``x_{i+1} = x_i exp(drift_step - h_i / 2 + eps_i + J_i)``,

    ``J_i`` the sum of the step's log-jumps, then ``h_{i+1} = omega + alpha eps_i^2 + beta h_i``
    with ``omega = var_step (1 - alpha - beta)`` so that the unconditional variance per step is
    ``var_step`` (``h_0 = var_step``). Returns ``i + 1`` if an arithmetic path reaches a
    non-positive price at step ``i + 1``, else 0.
    """
    omega = var_step * (1.0 - garch_alpha - garch_beta)
    h = var_step
    x = x0
    x_out[0] = x0
    for i in range(len(z)):
        eps = math.sqrt(h) * z[i]
        var_out[i] = h
        if geometric:
            x = x * math.exp(drift_step - 0.5 * h + eps + jump_log[i])
        else:
            x = (x + drift_step + eps) * math.exp(jump_log[i])
            if not x > 0.0:
                return i + 1
        x_out[i + 1] = x
        h = omega + garch_alpha * eps * eps + garch_beta * h
    return 0


def ar1_path(z: Float64Array, x0: float, mean: float, phi: float, scale: float) -> Float64Array:
    """``x_{i+1} = mean + phi (x_i - mean) + scale z_i`` from ``x_0 = x0`` (len(z) + 1 values)."""
    out = np.empty(len(z) + 1)
    x = x0
    out[0] = x
    for i in range(len(z)):
        x = mean + phi * (x - mean) + scale * z[i]
        out[i + 1] = x
    return out


def fifo_latency(
    exch: Int64Array, local: Int64Array, start_ns: int, latency_ns: Int64Array
) -> None:
    """Shift ``exch`` by ``start_ns`` and replace the message ids in ``local`` by receive times.

    ``local`` holds each row's message id (consecutive, from ``local[0]``); message m is
    received at ``exch + latency_ns[m - local[0]]``, but never before the message before it
    (one connection delivers in order): ``local = max(previous local, exch + latency)``.
    """
    if len(exch) == 0:
        return
    first = local[0]
    current = first - 1
    prev = exch[0] + start_ns
    t = prev
    for r in range(len(exch)):
        e = exch[r] + start_ns
        exch[r] = e
        m = local[r]
        if m != current:
            current = m
            t = e + latency_ns[m - first]
            if t < prev:
                t = prev
            prev = t
        local[r] = t
