"""Shared helpers for the benchmark scripts (machine description, timing)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np


def machine() -> dict[str, object]:
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def best_time(fn: Callable[[], object], *, repeat: int = 5) -> float:
    """Best wall time of ``repeat`` calls after one warm-up call (which also compiles)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def random_options(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """A chain-like random book: moneyness 0.5-2, 1 day to 3 years, vol 5%-300%."""
    rng = np.random.default_rng(seed)
    forward = np.full(n, 60_000.0)
    return {
        "forward": forward,
        "strike": forward * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n)),
        "t_yr": np.exp(rng.uniform(np.log(1 / 365), np.log(3.0), n)),
        "vol": np.exp(rng.uniform(np.log(0.05), np.log(3.0), n)),
        "option_type": np.where(rng.random(n) < 0.5, 1.0, -1.0),
    }
