"""hftbacktest 2.4.4 side of the GLFT comparison in ``bench_vs_hftbacktest.py`` (its own venv).

A GLFT market maker with online calibration written against hftbacktest's public Python API as
that library requires (a numba function driving ``hbt.elapse``), following the structure of
hftbacktest's own GLFT tutorial: every 100 ms it records the deepest trade of the step measured
from the previous mid and the mid's change; every 10 s, once 300 s of history exist, it refits

* σ: the standard deviation of the 100 ms mid changes over the window, per sqrt(second);
* A and k of λ(δ) = A exp(-k δ): λ at depths δ = 0, 1, 2 ... ticks is the share of steps whose
  deepest trade reached δ, per second, and log λ is regressed on δ (slope -k, intercept log A);

and quotes one order per side at Guéant's (2017) closed-form depths, eqs. (4.6)-(4.9), with
ξ = γ and Δ = the order size (the formula invrisk's built-in GLFT strategy uses):
δ_bid = c + w (q + Δ/2), δ_ask = c - w (q - Δ/2), c = ln(1 + ξΔ/k) / (ξΔ),
w = sqrt(γσ² (1 + ξΔ/k)^(k/(ξΔ) + 1) / (2AΔk)); prices rounded away from the mid and kept off
the opposite touch, post-only, no quote on a side once |q| reaches q_max. Orders already at the
wanted price are kept, others cancelled.

The calibration differs from invrisk's (maximum likelihood over counting intervals there), so the
two runs trade differently; the benchmark compares whole-process time of the same kind of
strategy on the same stream, which is what the issue's 14.5 s figure measured.

Usage: python _hbt_glft.py DATA.npz GAMMA ORDER_QTY Q_MAX FIRST_ELAPSE_NS [twice]

With ``twice`` the strategy then runs again on a fresh backtest in the same process, compiled
this time, and the time of that call is printed (``COMPILED``): the loop without compilation.
"""

import math
import sys
import time

t_start = time.perf_counter()
import numpy as np  # noqa: E402
from _hbt_common import run_and_report  # noqa: E402
from hftbacktest import (  # noqa: E402
    BUY,
    BUY_EVENT,
    GTX,
    LIMIT,
)
from numba import njit  # noqa: E402

STEP_NS = 100_000_000
WINDOW_STEPS = 3_000  # 300 s
REFIT_STEPS = 100  # 10 s
N_DEPTHS = 200  # ticks of depth in the intensity regression


@njit
def fit_intensity(deepest, tick, step_s):  # type: ignore[no-untyped-def]
    """A (per s) and k (per price unit) from the deepest trade of each step (price units)."""
    n = deepest.size
    xs = np.empty(N_DEPTHS)
    ys = np.empty(N_DEPTHS)
    m = 0
    for i in range(N_DEPTHS):
        d = i * tick
        hits = 0
        for x in deepest:
            if x >= d:
                hits += 1
        if hits == 0:
            break
        xs[m] = d
        ys[m] = math.log(hits / (n * step_s))
        m += 1
    if m < 3:
        return np.nan, np.nan
    mx = xs[:m].mean()
    my = ys[:m].mean()
    sxy = ((xs[:m] - mx) * (ys[:m] - my)).sum()
    sxx = ((xs[:m] - mx) ** 2).sum()
    slope = sxy / sxx
    return math.exp(my - slope * mx), -slope


@njit
def strategy(hbt, gamma, qty, q_max, first_elapse_ns):  # type: ignore[no-untyped-def]
    depth = hbt.depth(0)
    tick = depth.tick_size
    step_s = STEP_NS / 1e9
    n_max = 1 << 16
    deepest = np.full(n_max, np.nan)
    mid_chg = np.full(n_max, np.nan)
    t = 0
    prev_mid = np.nan
    c = np.nan
    w = np.nan
    oid = 0
    n_dec = 0
    n_fits = 0
    if first_elapse_ns > 0 and hbt.elapse(first_elapse_ns) != 0:
        return n_dec, n_fits
    while hbt.elapse(STEP_NS) == 0:
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        bb, ba = depth.best_bid_tick, depth.best_ask_tick
        # the step's deepest trade from the previous mid, and the mid's change
        if t == n_max:  # keep the last window
            deepest[:WINDOW_STEPS] = deepest[t - WINDOW_STEPS : t]
            mid_chg[:WINDOW_STEPS] = mid_chg[t - WINDOW_STEPS : t]
            t = WINDOW_STEPS
        d = np.nan
        if not np.isnan(prev_mid):
            d = -np.inf
            trades = hbt.last_trades(0)
            for k_tr in range(trades.size):
                px = trades[k_tr].px
                if trades[k_tr].ev & BUY_EVENT == BUY_EVENT:
                    d = max(d, px - prev_mid)
                else:
                    d = max(d, prev_mid - px)
        hbt.clear_last_trades(0)
        if bb <= 0 or ba <= 0 or bb >= ba:
            deepest[t] = d
            mid_chg[t] = np.nan
            t += 1
            continue
        mid = (depth.best_bid + depth.best_ask) / 2.0
        deepest[t] = d
        mid_chg[t] = mid - prev_mid
        prev_mid = mid
        t += 1
        n_dec += 1
        if t >= WINDOW_STEPS and t % REFIT_STEPS == 0:
            win_d = deepest[t - WINDOW_STEPS : t]
            win_d = win_d[~np.isnan(win_d)]
            win_m = mid_chg[t - WINDOW_STEPS : t]
            win_m = win_m[~np.isnan(win_m)]
            a, k = fit_intensity(win_d, tick, step_s)
            sigma = np.std(win_m) / math.sqrt(step_s)
            if a > 0.0 and k > 0.0 and sigma > 0.0:
                xd = gamma * qty
                c = math.log(1.0 + xd / k) / xd
                w = math.sqrt(
                    gamma * sigma * sigma * (1.0 + xd / k) ** (k / xd + 1.0) / (2.0 * a * qty * k)
                )
                n_fits += 1
        if np.isnan(c):
            continue
        q = hbt.position(0)
        bid_tick = min(math.floor((mid - (c + w * (q + 0.5 * qty))) / tick), ba - 1)
        ask_tick = max(math.ceil((mid + (c - w * (q - 0.5 * qty))) / tick), bb + 1)
        want_bid = q < q_max - 1e-9
        want_ask = q > -q_max + 1e-9
        orders = hbt.orders(0)
        have_bid = False
        have_ask = False
        it = orders.values()
        while it.has_next():
            o = it.get()
            if not o.cancellable:
                continue
            if o.side == BUY:
                if o.price_tick == bid_tick and want_bid and not have_bid:
                    have_bid = True
                else:
                    hbt.cancel(0, o.order_id, False)
            else:
                if o.price_tick == ask_tick and want_ask and not have_ask:
                    have_ask = True
                else:
                    hbt.cancel(0, o.order_id, False)
        if want_bid and not have_bid:
            oid += 1
            hbt.submit_buy_order(0, oid, bid_tick * tick, qty, GTX, LIMIT, False)
        if want_ask and not have_ask:
            oid += 1
            hbt.submit_sell_order(0, oid, ask_tick * tick, qty, GTX, LIMIT, False)
    return n_dec, n_fits


data = np.load(sys.argv[1])["data"]
run_and_report(
    lambda hbt: strategy(
        hbt, float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    ),
    data,
    t_start,
    last_trades=10_000,
)
