"""Generation speed of the synthetic-market benchmark stream (5,000,000 events).

Prints one JSON line. invrisk's numba generator (``benchmark_stream``) is timed on the full
5M-event stream (best of 3 after a warm-up call that also loads the compiled kernels); the
reference is the same generator's pure-Python twin, timed once on a 100,000-event prefix in the
same run and scaled per event. The script asserts that the twin's prefix is bit-identical to the
first 100,000 rows of the jitted stream.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.data.events import EventKind
from invrisk.data.synthetic_market import benchmark_stream

N = 5_000_000
N_PYTHON = 100_000
SEED = 0


def main() -> None:
    market = benchmark_stream(N, seed=SEED)
    ev = market.events
    t_numba = best_time(lambda: benchmark_stream(N, seed=SEED), repeat=3)

    t0 = time.perf_counter()
    prefix = benchmark_stream(N_PYTHON, seed=SEED, backend="python")
    t_python = time.perf_counter() - t0
    assert np.array_equal(prefix.events, ev[:N_PYTHON]), "python twin differs from numba"

    kinds = ev["kind"]
    span_s = (int(ev["exch_ns"][-1]) - int(ev["exch_ns"][0])) / 1e9
    print(
        json.dumps(
            {
                "benchmark": "synthetic_market_5m",
                "n_events": N,
                "invrisk_s": round(t_numba, 3),
                "invrisk_events_per_s": round(N / t_numba),
                "python_twin_events": N_PYTHON,
                "python_twin_s": round(t_python, 3),
                "python_twin_events_per_s": round(N_PYTHON / t_python),
                "speedup_vs_python_twin": round((t_python / N_PYTHON) / (t_numba / N), 1),
                "trade_share": round(float((kinds == EventKind.TRADE).mean()), 4),
                "depth_share": round(float((kinds == EventKind.DEPTH).mean()), 4),
                "market_orders": market.n_market_orders,
                "simulated_s": round(span_s, 1),
                "levels_per_side": market.params.book.n_levels,
                "tick_size": market.tick_size,
                "lot_size": market.lot_size,
                "mid_range": [float(market.mid.min()), float(market.mid.max())],
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
