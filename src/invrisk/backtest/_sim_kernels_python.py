"""Pure-Python exchange-simulation kernel: the reference twin of the jitted ``_sim_kernels.py``.

One call of :func:`run_kernel` advances a backtest on one clock until a local stop time: it
merges, in time order, the market events as the **exchange** sees them (``exch_ns``, applied to
the exchange book, where our orders queue and match), the same events as **we** see them
(``local_ns``, applied to the local book the strategy reads), the arrival of our orders and
cancels at the exchange (their send time plus the entry latency), and funding settlements.
Everything it does to our orders is written to a response buffer stamped with the local time
the response reaches us (exchange time plus the response latency). The Python engine
(``engine.py``) turns responses into order-manager and strategy callbacks. Both clocks are
treated as one clock (as hftbacktest does): latencies are differences of the two.

Ties at one instant: exchange data first, then order/cancel arrivals, then funding, then
local data. An order therefore never fills on a trade stamped at or before its arrival.

Rules of the simulated exchange (documented for users in ``backtest/__init__.py``):

* Books live on integer ticks in a per-instrument window (flat arrays with offsets); rows
  outside the window are skipped and counted. Our liquidity use is tracked per level in
  ``taken_*``: displayed quantity we already consumed as a taker, or that crossed into our
  resting orders, is not available again; a level update caps it at the new size.
* Arrival of a new order: a POST_ONLY order that would cross is rejected. A crossing GTC or IOC
  order walks the opposite side from the best level to its limit, taking the available
  (displayed minus taken) quantity as a taker; an IOC remainder expires; a GTC remainder (or
  a non-crossing order) rests, its queue position (quantity ahead) being the displayed size
  of its level on its side.
* A resting order fills as a maker (at its own price) on a trade printed through its price
  (the trade's quantity is a budget shared by our orders, so two orders never fill on the
  same quantity), on a trade at its price once the quantity ahead is consumed, or when the
  opposite side of the book crosses its price (the crossing size is the budget).
  ``partial = 1``: a fill is ``min(leaves, budget)``; ``partial = 0``: an order fills
  completely when the budget covers its leaves and not at all otherwise.
* Queue models (quantity ahead after a level shrinks from ``prev`` to ``new`` without a trade):
  risk-averse (``QM_RISK_AVERSE``): ``front = min(front, new)`` (a cancel is always behind
  us); probabilistic (``QM_PROB_POWER``: f(x) = x^n; ``QM_PROB_LOG``: f(x) = ln(1 + x)): of a
  decrease ``c`` (net of the trades printed at that level since the previous update), a share
  ``p = f(back) / (f(back) + f(front))`` is taken from behind us (at most ``back``) and the rest
  from ahead, ``back = prev - front``; then ``front = min(front, new)``. This is the estimator
  of Rigtorp (quant.stackexchange.com/q/3782, "How do we estimate position of our order in
  order book?") as implemented by hftbacktest's ``ProbQueueModel`` family; trades at our level
  reduce ``front`` in every model.
* Cancels take effect at their arrival; fills before it stand (a cancel that arrives after the
  order is done is rejected).
* Amends (``OI_AMEND``: the order's new tick, price and *total* size, fills included) take
  effect at their arrival, after the new orders arriving at the same instant and before the
  cancels, in the order they were sent (``OI_AMEND_SEQ``). Rejected (the order keeps its
  price, size and queue position): an amend of an order not resting (``REJ_ALREADY_DONE``:
  filled, cancelled or expired; ``REJ_UNKNOWN_ORDER``: not arrived), a new total not above
  what has filled (``REJ_AMEND_QTY``), a new price outside the window, a POST_ONLY order's new
  price crossing the available opposite liquidity (``REJ_POST_ONLY_CROSS``). Otherwise
  acknowledged (``R_AMEND_ACK`` carrying the new price and total): a size decrease at the same
  price keeps the queue position; a size increase at the same price, or any price change,
  sends the order to the back of the queue at its (new) price (quantity ahead = the level's
  displayed size, a new priority), after a GTC order's new price has taken the opposite
  liquidity it crosses as a taker, as a new order would.
* Accounting per instrument at exchange time: position (contracts), cash in the settlement
  currency (quote for linear, coin for inverse: an inverse contract is linear in ``1/price``
  with size ``-contract_size``), fees (maker/taker rate times notional; negative = rebate),
  and a PnL decomposition that sums to the equity change: spread capture at each fill
  (``qty (mid - price)`` in value terms), inventory (position times the change of the mid's
  value, marked at fills and at every stop), fees and funding (``-position * value(mark) *
  rate`` at each settlement, the mark falling back to the mid).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba.extending import register_jitable

from invrisk._typing import Float64Array, Int8Array, Int64Array

UInt8Array = npt.NDArray[np.uint8]
Int32Array = npt.NDArray[np.int32]

# --- event kinds (values of invrisk.data.events.EventKind) ------------------------------------
DEPTH = 1
SNAPSHOT = 2
CLEAR = 3
TRADE = 4
MARK = 6
FUNDING = 8

# --- order slot status ------------------------------------------------------------------------
O_FREE = 0
O_PENDING = 1  # sent, not yet at the exchange
O_RESTING = 2  # at the exchange, in the book
O_DONE = 3  # filled, cancelled, rejected or expired (slot reusable once read by Python)

# --- time in force (values of invrisk.strategy.TimeInForce) -----------------------------------
TIF_GTC = 0
TIF_POST_ONLY = 1
TIF_IOC = 2

# --- response kinds and reject codes ----------------------------------------------------------
R_ACK = 1
R_REJECT = 2
R_FILL = 3
R_CANCELLED = 4
R_CANCEL_REJECT = 5
R_EXPIRED = 6
R_FUNDING = 7  # a funding payment (account update), not about an order
R_AMEND_ACK = 8  # the amend took effect: RF_PRICE the new price, RF_QTY the new total
R_AMEND_REJECT = 9

REJ_NONE = 0
REJ_POST_ONLY_CROSS = 1
REJ_OUT_OF_WINDOW = 2
REJ_UNKNOWN_ORDER = 3  # a cancel that arrives before its order
REJ_ALREADY_DONE = 4  # a cancel (or amend) that arrives after its order is done
REJ_AMEND_QTY = 5  # an amend whose new total is not above what has filled

# --- queue models ----------------------------------------------------------------------------
QM_RISK_AVERSE = 0
QM_PROB_POWER = 1
QM_PROB_LOG = 2

# --- stop reasons ----------------------------------------------------------------------------
STOP_TIME = 0
STOP_END = 1
STOP_BUFFER = 2


# --- slots of the int64 run state ------------------------------------------------------------
S_LOCAL_I = 0  # next event row in local order
S_EXCH_J = 1  # next position in the exchange-order permutation
S_N_RESP = 2  # responses written
S_NEXT_ARRIVAL = 3  # earliest pending arrival (order or cancel), INT64_MAX if none
S_NEXT_FUNDING = 4  # next funding settlement (exchange time), INT64_MAX if none
S_FUNDING_INTERVAL = 5  # ns, 0 = no funding
S_OUT_OF_WINDOW = 6  # book rows outside the window (both books)
S_SEQ = 7  # priority counter of resting orders
S_NOW = 8  # time of the last thing processed
S_STOP = 9  # the effective stop time of the last call (a fill may bring it forward)
S_N_ACTIVE = 10  # resting orders in the priority list
N_STATE = 11

# --- order table: int64 columns (shape (capacity, OI_N)) and float64 columns (OF_N) ----------
OI_ID = 0
OI_INST = 1
OI_SIDE = 2
OI_TICK = 3  # absolute tick of the limit price
OI_STATUS = 4
OI_TIF = 5
OI_ARRIVE = 6  # exchange time the order arrives
OI_CANCEL = 7  # exchange time the cancel arrives, INT64_MAX if none
OI_SEQ = 8  # queue priority (set when it starts resting)
OI_AMEND = 9  # exchange time an amend arrives, INT64_MAX if none
OI_AMEND_TICK = 10  # the amend's absolute tick
OI_AMEND_SEQ = 11  # the amend's sending order (amends arriving together are applied in it)
OI_N = 12
OF_PRICE = 0
OF_QTY = 1  # total size, fills included
OF_FILLED = 2
OF_FRONT = 3  # quantity ahead in the queue
OF_TRADED = 4  # traded at our level since the last depth update (probabilistic models)
OF_AMEND_PRICE = 5  # the amend's price
OF_AMEND_QTY = 6  # the amend's total size
OF_N = 7

# --- response table: int64 columns (shape (capacity, RI_N)) and float64 columns (RF_N) -------
RI_KIND = 0
RI_ID = 1
RI_CODE = 2
RI_MAKER = 3
RI_EXCH = 4
RI_LOCAL = 5
RI_N = 6
RF_PRICE = 0
RF_QTY = 1
RF_FEE = 2
RF_MID = 3  # exchange mid (price) at the fill
RF_N = 4

# --- per-instrument account (float64, shape (n_inst, A_N)) -----------------------------------
A_POS = 0
A_CASH = 1
A_FEES = 2  # fees paid (negative = rebates received), settlement currency
A_SPREAD = 3
A_INV = 4
A_FUNDING = 5  # funding received (negative = paid)
A_LAST_VALUE = 6  # value(mid) at which the inventory PnL was last marked (nan: never)
A_VOLUME = 7  # traded notional, settlement currency
A_MAKER_QTY = 8
A_TAKER_QTY = 9
A_MARK = 10  # last mark price seen at the exchange
A_FUND_RATE = 11  # last funding rate seen at the exchange
A_N = 12

# --- per-instrument parameters (float64, shape (n_inst, I_N)) --------------------------------
I_TICK = 0
I_CONTRACT = 1
I_INVERSE = 2  # 1.0 inverse, 0.0 linear
I_MAKER_FEE = 3
I_TAKER_FEE = 4
I_PERPETUAL = 5  # 1.0: pays funding
I_INV_TICK = 6  # round(1 / tick) when that is an integer, else 0.0
I_N = 7

# --- per-instrument local information (float64, shape (n_inst, L_N)) ------------------------
L_LAST_TRADE = 0
L_MARK = 1
L_FUNDING = 2
L_N = 3

# --- per-instrument book state (int64, shape (n_inst, 4)) ------------------------------------
B_BEST_BID = 0  # window index, -1 if empty
B_BEST_ASK = 1  # window index, n_ticks if empty
B_N_BID = 2
B_N_ASK = 3

# --- what a call leaves for the engine (float64, shape (n_inst, T_N)) ------------------------
T_BID = 0  # local best bid price (nan: empty)
T_ASK = 1
T_BID_QTY = 2
T_ASK_QTY = 3
T_EX_VALUE = 4  # value of one contract at the exchange mid (nan: a side empty)
T_OUR_BID = 5  # our best order resting at the exchange (nan: none)
T_OUR_ASK = 6
T_N = 7

INT64_MAX = np.iinfo(np.int64).max


@register_jitable
def latency_at(t: int, lat_t: Int64Array, lat_v: Int64Array) -> int:
    """Latency (ns) at time ``t``: linear interpolation of the series, flat beyond its ends."""
    n = lat_t.shape[0]
    if n == 1 or t <= lat_t[0]:
        return int(lat_v[0])
    if t >= lat_t[n - 1]:
        return int(lat_v[n - 1])
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if lat_t[mid] <= t:
            lo = mid
        else:
            hi = mid
    w = (t - lat_t[lo]) / (lat_t[hi] - lat_t[lo])
    return int(np.floor(lat_v[lo] + w * (lat_v[hi] - lat_v[lo]) + 0.5))


@register_jitable
def value_of(price: float, contract: float, inverse: float) -> float:
    """Value of one contract at ``price`` in the settlement currency (inverse: ``-c / p``)."""
    if inverse > 0.5:
        return -contract / price
    return contract * price


@register_jitable
def set_level(
    levels: Float64Array,
    off: int,
    n_ticks: int,
    bst: Int64Array,
    inst: int,
    side: int,
    idx: int,
    q: float,
) -> float:
    """Set level ``idx`` (window index) of one side to ``q``, keeping best and count; old size."""
    old = float(levels[off + idx])
    levels[off + idx] = q
    if side == 1:
        if q > 0.0:
            if old == 0.0:
                bst[inst, B_N_BID] += 1
                if idx > bst[inst, B_BEST_BID]:
                    bst[inst, B_BEST_BID] = idx
        elif old != 0.0:
            bst[inst, B_N_BID] -= 1
            if bst[inst, B_N_BID] == 0:
                bst[inst, B_BEST_BID] = -1
            elif idx == bst[inst, B_BEST_BID]:
                m = idx - 1
                while levels[off + m] == 0.0:
                    m -= 1
                bst[inst, B_BEST_BID] = m
    elif q > 0.0:
        if old == 0.0:
            bst[inst, B_N_ASK] += 1
            if idx < bst[inst, B_BEST_ASK]:
                bst[inst, B_BEST_ASK] = idx
    elif old != 0.0:
        bst[inst, B_N_ASK] -= 1
        if bst[inst, B_N_ASK] == 0:
            bst[inst, B_BEST_ASK] = n_ticks
        elif idx == bst[inst, B_BEST_ASK]:
            m = idx + 1
            while levels[off + m] == 0.0:
                m += 1
            bst[inst, B_BEST_ASK] = m
    return old


@register_jitable
def clear_side(
    levels: Float64Array,
    taken: Float64Array,
    off: int,
    n_ticks: int,
    bst: Int64Array,
    inst: int,
    side: int,
) -> None:
    """Empty one side of one instrument's book (and forget what we took from it)."""
    for i in range(n_ticks):
        levels[off + i] = 0.0
        taken[off + i] = 0.0
    if side == 1:
        bst[inst, B_BEST_BID] = -1
        bst[inst, B_N_BID] = 0
    else:
        bst[inst, B_BEST_ASK] = n_ticks
        bst[inst, B_N_ASK] = 0


@register_jitable
def mid_value(
    bst: Int64Array, lo_tick: Int64Array, offs: Int64Array, itab: Float64Array, inst: int
) -> float:
    """Value of one contract at the book's mid (settlement currency); nan if a side is empty."""
    bb = bst[inst, B_BEST_BID]
    ba = bst[inst, B_BEST_ASK]
    if bb < 0 or ba >= offs[inst + 1] - offs[inst]:
        return np.nan
    mid = 0.5 * (bb + ba + 2 * lo_tick[inst]) * itab[inst, I_TICK]
    return value_of(mid, itab[inst, I_CONTRACT], itab[inst, I_INVERSE])


@register_jitable
def mark_inventory(acc: Float64Array, inst: int, value: float) -> None:
    """Add ``position * (value - last value)`` to the inventory PnL; remember ``value``."""
    if value == value:  # not nan
        last = acc[inst, A_LAST_VALUE]
        if last == last:
            acc[inst, A_INV] += acc[inst, A_POS] * (value - last)
        acc[inst, A_LAST_VALUE] = value


@register_jitable
def respond(
    r_i: Int64Array,
    r_f: Float64Array,
    state: Int64Array,
    kind: int,
    oid: int,
    code: int,
    t: int,
    lat: int,
) -> None:
    """Append a non-fill response (ack, reject, cancelled, cancel reject, expired)."""
    n = state[S_N_RESP]
    r_i[n, RI_KIND] = kind
    r_i[n, RI_ID] = oid
    r_i[n, RI_CODE] = code
    r_i[n, RI_MAKER] = 0
    r_i[n, RI_EXCH] = t
    r_i[n, RI_LOCAL] = t + lat
    r_f[n, RF_PRICE] = np.nan
    r_f[n, RF_QTY] = 0.0
    r_f[n, RF_FEE] = 0.0
    r_f[n, RF_MID] = np.nan
    state[S_N_RESP] = n + 1


@register_jitable
def fill(
    o_i: Int64Array,
    o_f: Float64Array,
    k: int,
    qty: float,
    price: float,
    maker: bool,
    t: int,
    lat: int,
    itab: Float64Array,
    acc: Float64Array,
    value_mid: float,
    r_i: Int64Array,
    r_f: Float64Array,
    state: Int64Array,
) -> None:
    """Fill order ``k`` with ``qty`` at ``price``: account, response, status."""
    inst = o_i[k, OI_INST]
    side = o_i[k, OI_SIDE]
    v = value_of(price, itab[inst, I_CONTRACT], itab[inst, I_INVERSE])
    notional = qty * abs(v)
    fee = (itab[inst, I_MAKER_FEE] if maker else itab[inst, I_TAKER_FEE]) * notional
    if value_mid != value_mid:
        # No mid at this instant (a side momentarily empty, e.g. inside a re-centring
        # message): measure against the last marked value, or the fill itself if none, so
        # that total = spread + inventory - fees + funding still holds exactly.
        value_mid = acc[inst, A_LAST_VALUE]
        if value_mid != value_mid:
            value_mid = v
    mark_inventory(acc, inst, value_mid)
    acc[inst, A_POS] += side * qty
    acc[inst, A_CASH] -= side * qty * v + fee
    acc[inst, A_FEES] += fee
    acc[inst, A_VOLUME] += notional
    acc[inst, A_SPREAD] += side * qty * (value_mid - v)
    if maker:
        acc[inst, A_MAKER_QTY] += qty
    else:
        acc[inst, A_TAKER_QTY] += qty
    o_f[k, OF_FILLED] += qty
    if o_f[k, OF_FILLED] >= o_f[k, OF_QTY] * (1.0 - 1e-12):
        o_i[k, OI_STATUS] = O_DONE
    n = state[S_N_RESP]
    r_i[n, RI_KIND] = R_FILL
    r_i[n, RI_ID] = o_i[k, OI_ID]
    r_i[n, RI_CODE] = REJ_NONE
    r_i[n, RI_MAKER] = 1 if maker else 0
    r_i[n, RI_EXCH] = t
    r_i[n, RI_LOCAL] = t + lat
    r_f[n, RF_PRICE] = price
    r_f[n, RF_QTY] = qty
    r_f[n, RF_FEE] = fee
    c = itab[inst, I_CONTRACT]
    r_f[n, RF_MID] = -c / value_mid if itab[inst, I_INVERSE] > 0.5 else value_mid / c
    state[S_N_RESP] = n + 1


# A budget this small relative to the order's leaves is rounding left over from subtracting
# quantities (e.g. 0.01 - 0.009999999999999998), not liquidity: it fills nothing. (Without this
# guard about 5% of the GLFT benchmark's fills were "dust" fills of ~1e-17 contracts.)
DUST_REL = 1e-9


@register_jitable
def fill_qty(leaves: float, budget: float, partial: int) -> float:
    """How much of ``leaves`` a budget fills: all or part (partial mode) or all or nothing;
    nothing when the budget is rounding dust (at most ``DUST_REL × leaves``)."""
    if budget <= leaves * DUST_REL:
        return 0.0
    if partial == 1:
        return min(leaves, budget)
    return leaves if budget >= leaves * (1.0 - 1e-12) else 0.0


@register_jitable
def queue_share_behind(front: float, back: float, model: int, power: float) -> float:
    """Probability that a cancel at our level comes from behind us (probabilistic models)."""
    if model == QM_PROB_LOG:
        fb = np.log1p(back)
        ff = np.log1p(front)
    else:
        fb = back**power
        ff = front**power
    den = float(fb + ff)
    if den <= 0.0:
        return 0.0
    return float(fb) / den


@register_jitable
def tick_price(tick: int, itab: Float64Array, inst: int) -> float:
    """The price of an absolute tick (division by 1/tick when that is an integer, as the book)."""
    inv = float(itab[inst, I_INV_TICK])
    if inv > 0.0:
        return tick / inv
    return tick * float(itab[inst, I_TICK])


@register_jitable
def drop_done(active: Int64Array, o_i: Int64Array, state: Int64Array) -> None:
    """Remove the orders that are no longer resting from the priority list (order kept)."""
    n = state[S_N_ACTIVE]
    m = 0
    for a in range(n):
        k = active[a]
        if o_i[k, OI_STATUS] == O_RESTING:
            active[m] = k
            m += 1
    state[S_N_ACTIVE] = m


@register_jitable
def next_arrival(o_i: Int64Array) -> int:
    """Earliest pending order, cancel or amend arrival over every slot (INT64_MAX if none)."""
    t = INT64_MAX
    for k in range(o_i.shape[0]):
        st = o_i[k, OI_STATUS]
        if st == O_PENDING and o_i[k, OI_ARRIVE] < t:
            t = o_i[k, OI_ARRIVE]
        if st != O_FREE:
            if o_i[k, OI_CANCEL] < t:
                t = o_i[k, OI_CANCEL]
            if o_i[k, OI_AMEND] < t:
                t = o_i[k, OI_AMEND]
    return t


@register_jitable
def crossing_level(
    ex_bid: Float64Array,
    ex_ask: Float64Array,
    tk_bid: Float64Array,
    tk_ask: Float64Array,
    ex_bst: Int64Array,
    ins: int,
    off: int,
    nt: int,
    side: int,
    idx: int,
) -> int:
    """Window index of the best opposite level with available (displayed minus taken)
    liquidity at or through window index ``idx`` for an order of ``side``; -1 if none."""
    if side == 1:
        a_ = ex_bst[ins, B_BEST_ASK]
        while a_ <= idx and a_ < nt:
            if ex_ask[off + a_] - tk_ask[off + a_] > 0.0:
                return int(a_)
            a_ += 1
    else:
        a_ = ex_bst[ins, B_BEST_BID]
        while a_ >= idx and a_ >= 0:
            if ex_bid[off + a_] - tk_bid[off + a_] > 0.0:
                return int(a_)
            a_ -= 1
    return -1


@register_jitable
def take_liquidity(
    o_i: Int64Array,
    o_f: Float64Array,
    k: int,
    a_: int,
    ex_bid: Float64Array,
    ex_ask: Float64Array,
    tk_bid: Float64Array,
    tk_ask: Float64Array,
    ex_bst: Int64Array,
    lo_tick: Int64Array,
    offs: Int64Array,
    itab: Float64Array,
    acc: Float64Array,
    r_i: Int64Array,
    r_f: Float64Array,
    state: Int64Array,
    t: int,
    lat: int,
) -> None:
    """Order ``k`` (status resting, provisional) takes the opposite levels from window index
    ``a_`` (the first crossing level) up to its limit as a taker, until it is done."""
    ins = o_i[k, OI_INST]
    off = offs[ins]
    nt = offs[ins + 1] - off
    s = o_i[k, OI_SIDE]
    idx = o_i[k, OI_TICK] - lo_tick[ins]
    vm = mid_value(ex_bst, lo_tick, offs, itab, ins)
    while a_ >= 0 and a_ < nt and o_i[k, OI_STATUS] == O_RESTING:
        if (s == 1 and a_ > idx) or (s == -1 and a_ < idx):
            break
        if s == 1:
            avail = ex_ask[off + a_] - tk_ask[off + a_]
        else:
            avail = ex_bid[off + a_] - tk_bid[off + a_]
        leaves = o_f[k, OF_QTY] - o_f[k, OF_FILLED]
        if avail > leaves * DUST_REL:
            f = min(leaves, avail)
            fill(
                o_i,
                o_f,
                k,
                f,
                tick_price(a_ + lo_tick[ins], itab, ins),
                False,
                t,
                lat,
                itab,
                acc,
                vm,
                r_i,
                r_f,
                state,
            )
            if s == 1:
                tk_ask[off + a_] += f
            else:
                tk_bid[off + a_] += f
        a_ += s


@register_jitable
def to_back_of_queue(
    o_i: Int64Array,
    o_f: Float64Array,
    k: int,
    active: Int64Array,
    ex_bid: Float64Array,
    ex_ask: Float64Array,
    lo_tick: Int64Array,
    offs: Int64Array,
    state: Int64Array,
) -> None:
    """Resting order ``k`` loses its priority: a new priority, last among our orders in the
    priority list, behind the displayed size of its level."""
    n = state[S_N_ACTIVE]
    m = 0
    for a in range(n):
        if active[a] != k:
            active[m] = active[a]
            m += 1
    active[m] = k
    state[S_N_ACTIVE] = m + 1
    state[S_SEQ] += 1
    o_i[k, OI_SEQ] = state[S_SEQ]
    ins = o_i[k, OI_INST]
    i = offs[ins] + o_i[k, OI_TICK] - lo_tick[ins]
    o_f[k, OF_FRONT] = ex_bid[i] if o_i[k, OI_SIDE] == 1 else ex_ask[i]
    o_f[k, OF_TRADED] = 0.0


@register_jitable
def apply_amend(
    o_i: Int64Array,
    o_f: Float64Array,
    k: int,
    active: Int64Array,
    ex_bid: Float64Array,
    ex_ask: Float64Array,
    tk_bid: Float64Array,
    tk_ask: Float64Array,
    ex_bst: Int64Array,
    lo_tick: Int64Array,
    offs: Int64Array,
    itab: Float64Array,
    acc: Float64Array,
    r_i: Int64Array,
    r_f: Float64Array,
    state: Int64Array,
    t: int,
    lat: int,
) -> bool:
    """The amend of slot ``k`` reaches the exchange (rules in the module docstring); True if
    the order is done after it (filled by the liquidity its new price took)."""
    o_i[k, OI_AMEND] = INT64_MAX
    oid = o_i[k, OI_ID]
    st = o_i[k, OI_STATUS]
    if st != O_RESTING:
        code = REJ_UNKNOWN_ORDER if st == O_PENDING else REJ_ALREADY_DONE
        respond(r_i, r_f, state, R_AMEND_REJECT, oid, code, t, lat)
        return False
    new_qty = o_f[k, OF_AMEND_QTY]
    if o_f[k, OF_FILLED] >= new_qty * (1.0 - 1e-12):  # done at the new total: refused
        respond(r_i, r_f, state, R_AMEND_REJECT, oid, REJ_AMEND_QTY, t, lat)
        return False
    ins = o_i[k, OI_INST]
    off = offs[ins]
    nt = offs[ins + 1] - off
    s = o_i[k, OI_SIDE]
    new_tick = o_i[k, OI_AMEND_TICK]
    idx = new_tick - lo_tick[ins]
    if idx < 0 or idx >= nt:
        respond(r_i, r_f, state, R_AMEND_REJECT, oid, REJ_OUT_OF_WINDOW, t, lat)
        return False
    same_price = new_tick == o_i[k, OI_TICK]
    a_ = -1
    if not same_price:
        a_ = crossing_level(ex_bid, ex_ask, tk_bid, tk_ask, ex_bst, ins, off, nt, s, idx)
        if a_ >= 0 and o_i[k, OI_TIF] == TIF_POST_ONLY:
            respond(r_i, r_f, state, R_AMEND_REJECT, oid, REJ_POST_ONLY_CROSS, t, lat)
            return False
    grows = new_qty > o_f[k, OF_QTY]
    o_i[k, OI_TICK] = new_tick
    o_f[k, OF_PRICE] = o_f[k, OF_AMEND_PRICE]
    o_f[k, OF_QTY] = new_qty
    respond(r_i, r_f, state, R_AMEND_ACK, oid, REJ_NONE, t, lat)
    n = state[S_N_RESP] - 1
    r_f[n, RF_PRICE] = o_f[k, OF_PRICE]
    r_f[n, RF_QTY] = new_qty
    if same_price and not grows:  # a size decrease keeps the queue position
        return False
    if a_ >= 0:
        take_liquidity(
            o_i, o_f, k, a_, ex_bid, ex_ask, tk_bid, tk_ask, ex_bst, lo_tick, offs, itab, acc,
            r_i, r_f, state, t, lat,
        )  # fmt: skip
        if o_i[k, OI_STATUS] != O_RESTING:
            return True
    to_back_of_queue(o_i, o_f, k, active, ex_bid, ex_ask, lo_tick, offs, state)
    return False


def run_kernel(
    ex_ns: Int64Array,
    lo_ns: Int64Array,
    kind: UInt8Array,
    side: Int8Array,
    price: Float64Array,
    qty: Float64Array,
    inst_col: Int32Array,
    perm: Int64Array,
    itab: Float64Array,
    lo_tick: Int64Array,
    offs: Int64Array,
    ex_bid: Float64Array,
    ex_ask: Float64Array,
    tk_bid: Float64Array,
    tk_ask: Float64Array,
    ex_bst: Int64Array,
    lc_bid: Float64Array,
    lc_ask: Float64Array,
    lc_bst: Int64Array,
    lc_info: Float64Array,
    top: Float64Array,
    o_i: Int64Array,
    o_f: Float64Array,
    active: Int64Array,
    r_i: Int64Array,
    r_f: Float64Array,
    acc: Float64Array,
    state: Int64Array,
    lat_t: Int64Array,
    lat_resp: Int64Array,
    queue_model: int,
    queue_power: float,
    partial: int,
    stop_ns: int,
    stop_on_fill: int,
) -> int:
    """Advance the simulation until local time ``stop_ns`` (inclusive); a STOP_* code.

    Event columns are in local-time order; ``perm`` lists the rows in exchange-time order
    (stable), or is empty when that is the local order itself. Everything else is updated in
    place (see the module docstring and the slot constants). With ``stop_on_fill`` the stop is
    brought forward to the local time the first fill of the call is reported at, so the engine
    can call the strategy then.
    """
    n = kind.shape[0]
    n_slots = o_i.shape[0]
    n_inst = itab.shape[0]
    identity = 1 if perm.shape[0] == 0 else 0  # rows already in exchange-time order
    cap = r_i.shape[0]
    i = state[S_LOCAL_I]
    j = state[S_EXCH_J]
    stop = stop_ns
    code = STOP_TIME
    while True:
        if state[S_N_RESP] + 3 * n_slots + n_inst + 8 > cap:
            code = STOP_BUFFER
            break
        if i >= n and j >= n:
            code = STOP_END
            break
        t_loc = lo_ns[i] if i < n else INT64_MAX
        if j < n:
            t_ex = ex_ns[perm[j]] if identity == 0 else ex_ns[j]
        else:
            t_ex = INT64_MAX
        t_arr = state[S_NEXT_ARRIVAL]
        t_fund = state[S_NEXT_FUNDING]
        t = min(min(t_ex, t_arr), min(t_fund, t_loc))
        if t > stop:
            break
        state[S_NOW] = t
        n_resp_before = state[S_N_RESP]
        if t_ex == t:
            # --- market data at the exchange ---------------------------------------------
            r = perm[j] if identity == 0 else j
            j += 1
            k_ = kind[r]
            ins = inst_col[r]
            off = offs[ins]
            nt = offs[ins + 1] - off
            if k_ == DEPTH or k_ == SNAPSHOT or k_ == TRADE:  # noqa: SIM109 (numba-friendly)
                tick = int(np.floor(price[r] / itab[ins, I_TICK] + 0.5))
                idx = tick - lo_tick[ins]
                if k_ != TRADE and (idx < 0 or idx >= nt):
                    state[S_OUT_OF_WINDOW] += 1
                    continue
                if k_ == TRADE:
                    if state[S_N_ACTIVE] == 0:
                        continue
                    vm = mid_value(ex_bst, lo_tick, offs, itab, ins)
                    passive = -side[r]
                    q_tr = qty[r]
                    used = 0.0
                    done_any = False
                    # orders priced through the trade price were swept by it
                    for a in range(state[S_N_ACTIVE]):
                        k = active[a]
                        if o_i[k, OI_INST] != ins or o_i[k, OI_SIDE] != passive:
                            continue
                        ot = o_i[k, OI_TICK]
                        if (passive == 1 and ot > tick) or (passive == -1 and ot < tick):
                            leaves = o_f[k, OF_QTY] - o_f[k, OF_FILLED]
                            f = fill_qty(leaves, q_tr - used, partial)
                            if f > 0.0:
                                fill(
                                    o_i,
                                    o_f,
                                    k,
                                    f,
                                    o_f[k, OF_PRICE],
                                    True,
                                    t,
                                    latency_at(t, lat_t, lat_resp),
                                    itab,
                                    acc,
                                    vm,
                                    r_i,
                                    r_f,
                                    state,
                                )
                                used += f
                                done_any = done_any or o_i[k, OI_STATUS] == O_DONE
                    # orders at the trade price: the trade first consumes the queue ahead
                    for a in range(state[S_N_ACTIVE]):
                        k = active[a]
                        if (
                            o_i[k, OI_INST] != ins
                            or o_i[k, OI_SIDE] != passive
                            or o_i[k, OI_TICK] != tick
                            or o_i[k, OI_STATUS] != O_RESTING
                        ):
                            continue
                        front = o_f[k, OF_FRONT]
                        reach = q_tr - front
                        o_f[k, OF_FRONT] = front - q_tr if front > q_tr else 0.0
                        o_f[k, OF_TRADED] += q_tr
                        leaves = o_f[k, OF_QTY] - o_f[k, OF_FILLED]
                        f = fill_qty(leaves, min(reach, q_tr) - used, partial)
                        if f > 0.0:
                            fill(
                                o_i,
                                o_f,
                                k,
                                f,
                                o_f[k, OF_PRICE],
                                True,
                                t,
                                latency_at(t, lat_t, lat_resp),
                                itab,
                                acc,
                                vm,
                                r_i,
                                r_f,
                                state,
                            )
                            used += f
                            done_any = done_any or o_i[k, OI_STATUS] == O_DONE
                    if done_any:
                        drop_done(active, o_i, state)
                else:
                    s = side[r]
                    q = qty[r]
                    if s == 1:
                        prev = set_level(ex_bid, off, nt, ex_bst, ins, 1, idx, q)
                        if tk_bid[off + idx] > q:
                            tk_bid[off + idx] = q
                        taken = tk_bid[off + idx]
                    else:
                        prev = set_level(ex_ask, off, nt, ex_bst, ins, -1, idx, q)
                        if tk_ask[off + idx] > q:
                            tk_ask[off + idx] = q
                        taken = tk_ask[off + idx]
                    # our queue position at this level
                    for a in range(state[S_N_ACTIVE]):
                        k = active[a]
                        if (
                            o_i[k, OI_INST] != ins
                            or o_i[k, OI_SIDE] != s
                            or o_i[k, OI_TICK] != tick
                        ):
                            continue
                        front = o_f[k, OF_FRONT]
                        if queue_model != QM_RISK_AVERSE:
                            chg = prev - q - o_f[k, OF_TRADED]
                            o_f[k, OF_TRADED] = 0.0
                            if chg > 0.0:
                                back = prev - front if prev > front else 0.0
                                p = queue_share_behind(front, back, queue_model, queue_power)
                                from_back = min(p * chg, back)
                                front = front - (chg - from_back)
                                if front < 0.0:  # the model's estimate cannot go past the front
                                    front = 0.0
                        if front > q:
                            front = q
                        o_f[k, OF_FRONT] = front
                    # the opposite side crossing into our resting orders
                    avail = q - taken
                    if avail > 0.0 and state[S_N_ACTIVE] > 0:
                        vm = mid_value(ex_bst, lo_tick, offs, itab, ins)
                        done_any = False
                        for a in range(state[S_N_ACTIVE]):
                            k = active[a]
                            if o_i[k, OI_INST] != ins or o_i[k, OI_SIDE] != -s:
                                continue
                            ot = o_i[k, OI_TICK]
                            if (s == -1 and ot >= tick) or (s == 1 and ot <= tick):
                                leaves = o_f[k, OF_QTY] - o_f[k, OF_FILLED]
                                f = fill_qty(leaves, avail, partial)
                                if f > 0.0:
                                    fill(
                                        o_i,
                                        o_f,
                                        k,
                                        f,
                                        o_f[k, OF_PRICE],
                                        True,
                                        t,
                                        latency_at(t, lat_t, lat_resp),
                                        itab,
                                        acc,
                                        vm,
                                        r_i,
                                        r_f,
                                        state,
                                    )
                                    avail -= f
                                    if s == 1:
                                        tk_bid[off + idx] += f
                                    else:
                                        tk_ask[off + idx] += f
                                    done_any = done_any or o_i[k, OI_STATUS] == O_DONE
                        if done_any:
                            drop_done(active, o_i, state)
            elif k_ == CLEAR:
                s = side[r]
                if s >= 0:
                    clear_side(ex_bid, tk_bid, off, nt, ex_bst, ins, 1)
                if s <= 0:
                    clear_side(ex_ask, tk_ask, off, nt, ex_bst, ins, -1)
            elif k_ == MARK:
                acc[ins, A_MARK] = price[r]
            elif k_ == FUNDING:
                acc[ins, A_FUND_RATE] = price[r]
        elif t_arr == t:
            # --- our orders and cancels reach the exchange ---------------------------------
            lat = latency_at(t, lat_t, lat_resp)
            done_any = False
            # orders arriving together are handled in the order they were sent (order ids
            # increase with sending), not in the order of their table slots
            n_arr = 0
            for k in range(n_slots):
                if o_i[k, OI_STATUS] == O_PENDING and o_i[k, OI_ARRIVE] == t:
                    n_arr += 1
            arriving = np.empty(n_arr, dtype=np.int64)
            ids = np.empty(n_arr, dtype=np.int64)
            m_ = 0
            for k in range(n_slots):
                if o_i[k, OI_STATUS] == O_PENDING and o_i[k, OI_ARRIVE] == t:
                    arriving[m_] = k
                    ids[m_] = o_i[k, OI_ID]
                    m_ += 1
            arriving = arriving[np.argsort(ids, kind="mergesort")]
            for k_arr in range(n_arr):
                k = arriving[k_arr]
                ins = o_i[k, OI_INST]
                off = offs[ins]
                nt = offs[ins + 1] - off
                s = o_i[k, OI_SIDE]
                tick = o_i[k, OI_TICK]
                idx = tick - lo_tick[ins]
                if idx < 0 or idx >= nt:
                    o_i[k, OI_STATUS] = O_DONE
                    respond(r_i, r_f, state, R_REJECT, o_i[k, OI_ID], REJ_OUT_OF_WINDOW, t, lat)
                    continue
                # does it cross the available opposite liquidity?
                a_ = crossing_level(ex_bid, ex_ask, tk_bid, tk_ask, ex_bst, ins, off, nt, s, idx)
                if a_ >= 0 and o_i[k, OI_TIF] == TIF_POST_ONLY:
                    o_i[k, OI_STATUS] = O_DONE
                    respond(r_i, r_f, state, R_REJECT, o_i[k, OI_ID], REJ_POST_ONLY_CROSS, t, lat)
                    continue
                respond(r_i, r_f, state, R_ACK, o_i[k, OI_ID], REJ_NONE, t, lat)
                o_i[k, OI_STATUS] = O_RESTING  # provisional: fill() may mark it done
                if a_ >= 0:
                    take_liquidity(
                        o_i, o_f, k, a_, ex_bid, ex_ask, tk_bid, tk_ask, ex_bst, lo_tick, offs,
                        itab, acc, r_i, r_f, state, t, lat,
                    )  # fmt: skip
                if o_i[k, OI_STATUS] != O_RESTING:
                    continue
                if o_i[k, OI_TIF] == TIF_IOC:
                    o_i[k, OI_STATUS] = O_DONE
                    respond(r_i, r_f, state, R_EXPIRED, o_i[k, OI_ID], REJ_NONE, t, lat)
                    continue
                state[S_SEQ] += 1
                o_i[k, OI_SEQ] = state[S_SEQ]
                o_f[k, OF_FRONT] = ex_bid[off + idx] if s == 1 else ex_ask[off + idx]
                o_f[k, OF_TRADED] = 0.0
                active[state[S_N_ACTIVE]] = k
                state[S_N_ACTIVE] += 1
            # amends arriving now, in the order they were sent
            n_am = 0
            for k in range(n_slots):
                if o_i[k, OI_STATUS] != O_FREE and o_i[k, OI_AMEND] == t:
                    n_am += 1
            if n_am > 0:
                amending = np.empty(n_am, dtype=np.int64)
                am_seq = np.empty(n_am, dtype=np.int64)
                m_ = 0
                for k in range(n_slots):
                    if o_i[k, OI_STATUS] != O_FREE and o_i[k, OI_AMEND] == t:
                        amending[m_] = k
                        am_seq[m_] = o_i[k, OI_AMEND_SEQ]
                        m_ += 1
                amending = amending[np.argsort(am_seq, kind="mergesort")]
                for k_am in range(n_am):
                    if apply_amend(
                        o_i, o_f, amending[k_am], active, ex_bid, ex_ask, tk_bid, tk_ask,
                        ex_bst, lo_tick, offs, itab, acc, r_i, r_f, state, t, lat,
                    ):  # fmt: skip
                        done_any = True
            for k in range(n_slots):
                if o_i[k, OI_STATUS] == O_FREE or o_i[k, OI_CANCEL] != t:
                    continue
                o_i[k, OI_CANCEL] = INT64_MAX
                st = o_i[k, OI_STATUS]
                if st == O_RESTING:
                    o_i[k, OI_STATUS] = O_DONE
                    done_any = True
                    respond(r_i, r_f, state, R_CANCELLED, o_i[k, OI_ID], REJ_NONE, t, lat)
                elif st == O_PENDING:
                    respond(
                        r_i, r_f, state, R_CANCEL_REJECT, o_i[k, OI_ID], REJ_UNKNOWN_ORDER, t, lat
                    )
                else:
                    respond(
                        r_i, r_f, state, R_CANCEL_REJECT, o_i[k, OI_ID], REJ_ALREADY_DONE, t, lat
                    )
            if done_any:
                drop_done(active, o_i, state)
            state[S_NEXT_ARRIVAL] = next_arrival(o_i)
        elif t_fund == t:
            # --- funding settlement ----------------------------------------------------------
            for ins in range(n_inst):
                pos = acc[ins, A_POS]
                rate = acc[ins, A_FUND_RATE]
                if itab[ins, I_PERPETUAL] < 0.5 or pos == 0.0 or rate != rate:
                    continue
                mark = acc[ins, A_MARK]
                if mark == mark and mark > 0.0:
                    v = abs(value_of(mark, itab[ins, I_CONTRACT], itab[ins, I_INVERSE]))
                else:
                    v = abs(mid_value(ex_bst, lo_tick, offs, itab, ins))
                if v == v:
                    pay = -pos * v * rate
                    acc[ins, A_CASH] += pay
                    acc[ins, A_FUNDING] += pay
                    # reported to us like any account update: instrument in RI_ID, the
                    # position in RF_QTY, the payment in RF_FEE, the rate in RF_MID
                    n_r = state[S_N_RESP]
                    r_i[n_r, RI_KIND] = R_FUNDING
                    r_i[n_r, RI_ID] = ins
                    r_i[n_r, RI_CODE] = REJ_NONE
                    r_i[n_r, RI_MAKER] = 0
                    r_i[n_r, RI_EXCH] = t
                    r_i[n_r, RI_LOCAL] = t + latency_at(t, lat_t, lat_resp)
                    r_f[n_r, RF_PRICE] = v
                    r_f[n_r, RF_QTY] = pos
                    r_f[n_r, RF_FEE] = pay
                    r_f[n_r, RF_MID] = rate
                    state[S_N_RESP] = n_r + 1
            state[S_NEXT_FUNDING] = t + state[S_FUNDING_INTERVAL]
        else:
            # --- market data as we receive it ----------------------------------------------
            r = i
            i += 1
            k_ = kind[r]
            ins = inst_col[r]
            if k_ == DEPTH or k_ == SNAPSHOT:  # noqa: SIM109
                off = offs[ins]
                nt = offs[ins + 1] - off
                idx = int(np.floor(price[r] / itab[ins, I_TICK] + 0.5)) - lo_tick[ins]
                if idx < 0 or idx >= nt:
                    state[S_OUT_OF_WINDOW] += 1
                elif side[r] == 1:
                    set_level(lc_bid, off, nt, lc_bst, ins, 1, idx, qty[r])
                else:
                    set_level(lc_ask, off, nt, lc_bst, ins, -1, idx, qty[r])
            elif k_ == CLEAR:
                off = offs[ins]
                nt = offs[ins + 1] - off
                if side[r] >= 0:
                    clear_side(lc_bid, lc_bid, off, nt, lc_bst, ins, 1)
                if side[r] <= 0:
                    clear_side(lc_ask, lc_ask, off, nt, lc_bst, ins, -1)
            elif k_ == TRADE:
                lc_info[ins, L_LAST_TRADE] = price[r]
            elif k_ == MARK:
                lc_info[ins, L_MARK] = price[r]
            elif k_ == FUNDING:
                lc_info[ins, L_FUNDING] = price[r]
        if stop_on_fill == 1 and state[S_N_RESP] > n_resp_before:
            for m in range(n_resp_before, state[S_N_RESP]):
                if r_i[m, RI_KIND] == R_FILL and r_i[m, RI_LOCAL] < stop:
                    stop = r_i[m, RI_LOCAL]
    state[S_LOCAL_I] = i
    state[S_EXCH_J] = j
    state[S_STOP] = stop
    for ins in range(n_inst):
        vm = mid_value(ex_bst, lo_tick, offs, itab, ins)
        mark_inventory(acc, ins, vm)
        # what the engine reads at a decision: the local top of book and the exchange value
        off = offs[ins]
        nt = offs[ins + 1] - off
        bb = lc_bst[ins, B_BEST_BID]
        ba = lc_bst[ins, B_BEST_ASK]
        top[ins, T_BID] = tick_price(bb + lo_tick[ins], itab, ins) if bb >= 0 else np.nan
        top[ins, T_ASK] = tick_price(ba + lo_tick[ins], itab, ins) if ba < nt else np.nan
        top[ins, T_BID_QTY] = lc_bid[off + bb] if bb >= 0 else 0.0
        top[ins, T_ASK_QTY] = lc_ask[off + ba] if ba < nt else 0.0
        top[ins, T_EX_VALUE] = vm
        top[ins, T_OUR_BID] = np.nan
        top[ins, T_OUR_ASK] = np.nan
    for a in range(state[S_N_ACTIVE]):
        k = active[a]
        ins = o_i[k, OI_INST]
        p = o_f[k, OF_PRICE]
        if o_i[k, OI_SIDE] == 1:
            if not p <= top[ins, T_OUR_BID]:  # also when nan
                top[ins, T_OUR_BID] = p
        elif not p >= top[ins, T_OUR_ASK]:
            top[ins, T_OUR_ASK] = p
    return code
