"""Model simulator: 10,000 paths × 200 steps of the AS (2008) Sec. 3.3 setting.

Prints one JSON line. Target: the vectorised :func:`invrisk.quoting.simulate.simulate` with
the Avellaneda–Stoikov inventory strategy (γ = 0.1) runs 10,000 paths × 200 steps in < 1 s.
Reference timed in the same run: a naive per-path Python loop (scalar maths, same random
blocks) on 100 paths, scaled linearly to 10,000; the two are checked to agree on those paths.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.quoting.as_model import AvellanedaStoikov
from invrisk.quoting.simulate import (
    DepthFunction,
    SimulationResult,
    inventory_strategy,
    simulate,
)

PAPER = {
    "s0": 100.0,
    "sigma_per_sqrt_s": 2.0,
    "A_per_s": 140.0,
    "k_per_price": 1.5,
    "horizon_s": 1.0,
    "dt_s": 0.005,
}
GAMMA, K = 0.1, 1.5
N_PATHS, N_REF, N_STEPS, SEED = 10_000, 100, 200, 1


def naive(n_paths: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blocks = [rng.random((3, n_paths)) for _ in range(N_STEPS)]
    step = 2.0 * math.sqrt(0.005)
    out = np.empty(n_paths)
    for p in range(n_paths):
        s, q, x = 100.0, 0.0, 0.0
        for i in range(N_STEPS):
            tau = 1.0 - i * 0.005
            r = s - q * GAMMA * 4.0 * tau
            half = 0.5 * (GAMMA * 4.0 * tau + (2.0 / GAMMA) * math.log(1.0 + GAMMA / K))
            bid, ask = r - half, r + half
            u = blocks[i][:, p]
            if u[0] < 140.0 * math.exp(-K * (s - bid)) * 0.005:
                q, x = q + 1.0, x - bid
            if u[1] < 140.0 * math.exp(-K * (ask - s)) * 0.005:
                q, x = q - 1.0, x + ask
            s += step if u[2] < 0.5 else -step
        out[p] = x + q * s
    return out


def run(fn: DepthFunction, n_paths: int) -> SimulationResult:
    return simulate(fn, n_paths=n_paths, seed=SEED, mid_process="binomial", **PAPER)


def main() -> None:
    fn = inventory_strategy(AvellanedaStoikov(sigma=2.0, gamma=GAMMA, k=K, t_end_ns=10**9))
    t_vec = best_time(lambda: run(fn, N_PATHS), repeat=5)
    t0 = time.perf_counter()
    ref = naive(N_REF, SEED)
    t_ref = (time.perf_counter() - t0) * N_PATHS / N_REF
    small = run(fn, N_REF)
    max_diff = float(np.max(np.abs(small.profit - ref)))
    table = run(fn, N_PATHS).table()
    print(
        json.dumps(
            {
                "bench": "simulate",
                "n_paths": N_PATHS,
                "n_steps": N_STEPS,
                "vectorised_s": round(t_vec, 4),
                "naive_loop_scaled_s": round(t_ref, 2),
                "speedup": round(t_ref / t_vec, 1),
                "target_s": 1.0,
                "max_profit_diff_vs_naive": max_diff,
                "table_gamma_0_1": {k: round(v, 3) for k, v in table.items()},
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
