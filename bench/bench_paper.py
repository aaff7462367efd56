"""Paper runtime: sustained market events per second and decision-to-order latency.

Prints one JSON line. The built-in GLFT strategy (quoting from the first decision) trades
1,000,000 events of the synthetic BTCUSDT benchmark stream through the paper gateway, replayed
as fast as possible, with the SQLite journal on (WAL, synchronous=NORMAL, in a temporary
directory). Measured:

- ``events_per_s``: market events through the whole runtime (feed batches, book, order events,
  decisions, risk checks, journal writes, the simulated venue). Target >= 50,000.
- ``latency_p50_us`` / ``latency_p99_us``: per order handed to the gateway, the wall time since
  the market batch that led to it was received (book update, fills delivered, strategy,
  reconcile, RiskGuard, the journal's order-request commit). Targets 200 us / 2 ms.
- ``refit_median_ms`` / ``refit_max_ms``: the strategy's refits, which run after a decision's
  orders are sent (``after_decide``): CPU time outside the latency above.

Reference in the same run: the same strategy and stream through ``run_backtest`` (the
backtester's loop with no journal, no asyncio): the cost of the live path over the simulated
one.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.backtest import Fees, ProbQueue, run_backtest
from invrisk.data.synthetic_market import benchmark_stream
from invrisk.live import PaperGateway, Runtime
from invrisk.risk.limits import InstrumentLimits, RiskGuard
from invrisk.store import Journal
from invrisk.strategies import GLFTMarketMaker
from invrisk.strategies.glft import GLFTParams

N = 1_000_000
FEES = Fees(maker=-1e-4, taker=5e-4)
LIMITS = InstrumentLimits(
    max_position=0.2, max_order_qty=0.05, max_order_notional=1e7, price_band=0.01
)


class TimedGLFT(GLFTMarketMaker):
    """The GLFT strategy, timing its refits (run after each decision's orders are sent)."""

    refit_s: list[float]

    def after_decide(self, t_ns: int) -> None:
        if self._refit_due_ns is None:
            return
        t0 = time.perf_counter()
        super().after_decide(t_ns)
        self.refit_s.append(time.perf_counter() - t0)


def strategy() -> TimedGLFT:
    s = TimedGLFT(
        gamma=0.05,
        q_max=0.1,
        order_qty=0.01,
        window_ns=300 * 10**9,
        warmup="fallback",
        fallback=GLFTParams(5.0, 80.0, 5.0),
    )
    s.refit_s = []
    return s


def main() -> None:
    market = benchmark_stream(N, seed=0)
    small = benchmark_stream(20_000, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        for events, name in ((small.events, "warm"), (market.events, "run")):
            gw = PaperGateway(
                events=events,
                instruments=[market.instrument],
                fees=FEES,
                queue=ProbQueue("power", 2.0),
            )
            j = Journal(Path(tmp) / f"{name}.sqlite")
            j.start_run(started_ns=int(events["local_ns"][0]), mode="paper", venue="bench")
            strat = strategy()
            rt = Runtime(
                strategy=strat,
                instruments=[market.instrument],
                gateway=gw,
                guard=RiskGuard(limits={0: LIMITS}),
                journal=j,
                measure_latency=True,
            )
            t0 = time.perf_counter()
            summary = asyncio.run(rt.run())
            wall = time.perf_counter() - t0
            j.close()
    lat = np.array(rt.latencies_ns) / 1e3
    refits = np.array(strat.refit_s)
    t0 = time.perf_counter()
    ref = run_backtest(
        events=market.events,
        instruments=[market.instrument],
        strategy=strategy(),
        fees=FEES,
        queue=ProbQueue("power", 2.0),
    )
    t_ref = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "bench": "paper_runtime",
                "events": N,
                "wall_s": round(wall, 2),
                "events_per_s": round(N / wall),
                "decisions": summary.decisions,
                "orders": summary.orders_sent,
                "fills": summary.fills,
                "latency_p50_us": round(float(np.percentile(lat, 50)), 1),
                "latency_p99_us": round(float(np.percentile(lat, 99)), 1),
                "latency_max_us": round(float(lat.max()), 1),
                "refits": len(refits),
                "refit_median_ms": round(float(np.median(refits)) * 1e3, 2),
                "refit_max_ms": round(float(np.max(refits)) * 1e3, 2),
                "reference_backtest_s": round(t_ref, 2),
                "reference_backtest_fills": int(ref.fills.size),
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
