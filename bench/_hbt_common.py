"""What the two hftbacktest strategy scripts of ``bench_vs_hftbacktest.py`` share (run in
hftbacktest's own virtualenv): the simulated exchange both are measured on, and the timed
call with its ``RESULT`` line (and, with ``twice``, a second, compiled call: ``COMPILED``).

The exchange matches invrisk's side: 10 ms entry and response latency, power-2 probabilistic
queue, no partial fills, maker -1 bp / taker 5 bp, tick 0.1, lot 0.001.
"""

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest


def backtest(data: np.ndarray, *, last_trades: int = 0) -> Any:
    """A fresh hftbacktest backtest of ``data`` (keeping ``last_trades`` trades for
    ``hbt.last_trades`` if > 0)."""
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(10_000_000, 10_000_000)
        .power_prob_queue_model(2.0)
        .no_partial_fill_exchange()
        .trading_value_fee_model(-0.0001, 0.0005)
        .tick_size(0.1)
        .lot_size(0.001)
    )
    if last_trades > 0:
        asset = asset.last_trades_capacity(last_trades)
    return HashMapMarketDepthBacktest([asset])


def run_and_report(
    call: Callable[[Any], Any], data: np.ndarray, t_start: float, *, last_trades: int = 0
) -> None:
    """Time ``call(hbt)`` and print ``RESULT decisions position trades run_s process_s
    [extra...]`` (``call`` returns the decision count, or a tuple starting with it); with
    ``twice`` as the last argument, time the call again on a fresh backtest (compiled by
    then) and print ``COMPILED seconds``."""
    hbt = backtest(data, last_trades=last_trades)
    t0 = time.perf_counter()
    out = call(hbt)
    t_run = time.perf_counter() - t0
    n, *extra = out if isinstance(out, tuple) else (out,)
    st = hbt.state_values(0)
    elapsed = round(time.perf_counter() - t_start, 3)
    print("RESULT", n, st.position, st.num_trades, round(t_run, 3), elapsed, *extra)
    hbt.close()
    if sys.argv[-1] == "twice":  # the same run again, the strategy compiled: the loop alone
        hbt = backtest(data, last_trades=last_trades)
        t0 = time.perf_counter()
        call(hbt)
        print("COMPILED", round(time.perf_counter() - t0, 3))
        hbt.close()
