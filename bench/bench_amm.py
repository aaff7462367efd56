"""Uniswap v3 position Greeks for 1,000,000 positions: invrisk.amm.v3_greeks against a naive
numpy formula with explicit below/in/above branches, plus the time of one optimal_range search.

Prints one JSON line. The naive reference is timed in the same run on the same inputs and
checked to agree.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.amm import optimal_range, v3_greeks

N = 1_000_000


def naive_v3(liq, p, lo, hi):  # type: ignore[no-untyped-def]
    below, above = p < lo, p > hi
    x = np.where(
        below,
        liq * (1 / np.sqrt(lo) - 1 / np.sqrt(hi)),
        np.where(above, 0.0, liq * (1 / np.sqrt(p) - 1 / np.sqrt(hi))),
    )
    y = np.where(
        below,
        0.0,
        np.where(above, liq * (np.sqrt(hi) - np.sqrt(lo)), liq * (np.sqrt(p) - np.sqrt(lo))),
    )
    gamma = np.where(below | above, 0.0, -0.5 * liq / p**1.5)
    return x * p + y, x, gamma, gamma * p * p, x, y


def main() -> None:
    rng = np.random.default_rng(7)
    p = np.full(N, 2200.0) * np.exp(rng.normal(0.0, 0.2, N))
    lo = 2200.0 * np.exp(-rng.uniform(0.01, 0.5, N))
    hi = 2200.0 * np.exp(rng.uniform(0.01, 0.5, N))
    liq = rng.uniform(1e3, 1e6, N)

    def ours() -> object:
        return v3_greeks(liquidity=liq, price=p, price_lower=lo, price_upper=hi)

    def naive() -> object:
        return naive_v3(liq, p, lo, hi)

    g = ours()
    for name, r in zip(g.as_dict(), naive(), strict=True):  # type: ignore[attr-defined]
        np.testing.assert_allclose(getattr(g, name), r, rtol=1e-12, atol=1e-9, err_msg=name)
    t_ours = best_time(ours)
    t_naive = best_time(naive)
    t0 = time.perf_counter()
    optimal_range(
        capital_quote=1e6,
        price=2200.0,
        vol=0.5,
        t_yr=7 / 365,
        fee_rate=0.0005,
        volume_quote_per_yr=365 * 300e6,
        pool_liquidity=15e6,
    )
    t_opt = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "benchmark": "amm_v3_greeks_1m",
                "n_positions": N,
                "outputs": "value,delta,gamma,cash_gamma,risky_qty,quote_qty",
                "invrisk_s": round(t_ours, 4),
                "invrisk_positions_per_s": round(N / t_ours),
                "naive_numpy_s": round(t_naive, 4),
                "naive_numpy_positions_per_s": round(N / t_naive),
                "speedup_vs_naive": round(t_naive / t_ours, 2),
                "optimal_range_s": round(t_opt, 4),
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
