"""Backtester speed and memory on the 5-million-event synthetic benchmark stream.

Prints one JSON line. Measurements (numba cache warm: a first run compiles and is not timed):

- ``replay_meps``: pure replay (no strategy): the whole stream through both books of the
  exchange simulation in one kernel call, million events per second. Target >= 10.
- ``glft_meps``: ``run_backtest`` with the built-in plain-Python GLFT strategy (online
  calibration, refit every 10 s) deciding every 100 ms. Target >= 5.
- ``trivial_meps``: the same with a strategy that only returns one two-sided quote (the
  engine's own per-decision cost).
- ``process_s`` / ``peak_rss_mb``: a fresh Python process that imports invrisk, memory-maps
  the stream from a ``.npy`` file, runs the GLFT backtest and writes the Parquet result, timed
  from outside (start to result written) with its peak resident memory (its own ``VmHWM``,
  Linux). Targets: half of hftbacktest's whole-process time for the same stream and strategy
  (about 14.5 s measured in the issue), 600 MB.

Reference in the same run: the replay and the trivial-strategy run bracket the GLFT run (the
strategy's own cost is the difference). The side-by-side run against hftbacktest is
``bench_vs_hftbacktest.py``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.backtest import Fees, ProbQueue, run_backtest
from invrisk.backtest import engine as _engine
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.strategies import GLFTMarketMaker
from invrisk.strategy import AccountView, Context, Decision, Fill, MarketView, QuoteTarget

N = 5_000_000
FEES = Fees(maker=-0.0001, taker=0.0005)
QUEUE = ProbQueue("power", 2.0)


def glft() -> GLFTMarketMaker:
    return GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=300 * 10**9)


class Trivial:
    def on_start(self, ctx: Context) -> None:
        pass

    def on_fill(self, fill: Fill) -> None:
        pass

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        iv = view.instruments[0]
        m = iv.mid
        if not math.isfinite(m):
            return Decision()
        b, a = math.floor(m * 10 - 5) / 10, math.ceil(m * 10 + 5) / 10
        return Decision(
            quotes=(QuoteTarget.two_sided(0, bid=b, ask=a, bid_qty=0.01, ask_qty=0.01),)
        )


PROCESS = """
import sys
import numpy as np
from invrisk.backtest import Fees, ProbQueue, run_backtest
from invrisk.data.synthetic_market import synthetic_perpetual
from invrisk.strategies import GLFTMarketMaker
events = np.load(sys.argv[1], mmap_mode="r")
s = GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=300 * 10**9)
r = run_backtest(events=events, instruments=[synthetic_perpetual("linear")], strategy=s,
                 fees=Fees(maker=-0.0001, taker=0.0005), queue=ProbQueue("power", 2.0))
r.to_parquet(sys.argv[2])
with open("/proc/self/status") as f:  # this process's own peak (not the parent's, see below)
    print("VMHWM_KB", next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")))
"""


def replay_seconds(market: object) -> float:
    m = market
    run = _engine._Run(
        events=m.events,  # type: ignore[attr-defined]
        scan=_engine._check_events(m.events, [m.instrument]),  # type: ignore[attr-defined]
        instruments=[m.instrument],  # type: ignore[attr-defined]
        fees=[FEES],
        latency=_engine.DEFAULT_LATENCY,
        queue=QUEUE,
        partial_fills=True,
        funding_interval_ns=8 * 3600 * 10**9,
        margin_ticks=2_000,
        max_ticks=2_000_000,
        backend="numba",
        order_capacity=64,
        response_capacity=4096,
    )
    t0 = time.perf_counter()
    run.advance(_engine._MAX - 1, False)
    return time.perf_counter() - t0


def timed_run(market: object, strategy: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    res = run_backtest(
        events=market.events,  # type: ignore[attr-defined]
        instruments=[market.instrument],  # type: ignore[attr-defined]
        strategy=strategy,  # type: ignore[arg-type]
        fees=FEES,
        queue=QUEUE,
    )
    return time.perf_counter() - t0, res


def main() -> None:
    market = benchmark_stream(N, seed=0)
    small = benchmark_stream(50_000, seed=0)
    timed_run(small, glft())  # compile / load the kernels
    replay = min(replay_seconds(market) for _ in range(3))
    t_trivial, _ = timed_run(market, Trivial())
    t_glft, res = timed_run(market, glft())
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "stream.npy"
        np.save(data, market.events)  # the stream as a file, as hftbacktest reads its data
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PROCESS, str(data), tmp],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        process_s = time.perf_counter() - t0
    # The child's VmHWM: getrusage(RUSAGE_CHILDREN).ru_maxrss would include this (large)
    # parent's resident memory, which Linux folds into the child's maximum at fork/exec.
    peak_mb = next(int(x.split()[1]) for x in out.splitlines() if x.startswith("VMHWM_KB")) / 1024
    print(
        json.dumps(
            {
                "bench": "backtest",
                "events": N,
                "decisions": int(res.t_ns.size),  # type: ignore[attr-defined]
                "fills": int(res.fills.size),  # type: ignore[attr-defined]
                "replay_meps": round(N / replay / 1e6, 2),
                "trivial_meps": round(N / t_trivial / 1e6, 2),
                "glft_meps": round(N / t_glft / 1e6, 2),
                "glft_s": round(t_glft, 3),
                "process_s": round(process_s, 2),
                "peak_rss_mb": round(peak_mb, 1),
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
