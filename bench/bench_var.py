"""Monte Carlo VaR speed, and the VaR backtest table on the real daily BTC history.

Prints one JSON line.

- ``mc``: 100,000 Student-t paths (ν = 4) of 10 correlated underlyings, P&L of a linear
  book of exposures on them, 95% and 99% VaR and ES. Target: under 1 s. Reference in the same
  run: the same scenarios drawn with ``scipy.stats.multivariate_t`` (a general-purpose
  sampler) and the VaR/ES read with ``np.quantile`` and a mean beyond it. (Option books revalue
  each path in full; that is timed with the portfolio revaluation, not here.)
- ``backtest``: one-day VaR of a long BTC position over 2011-2025 (the daily history in
  ``../shared/data``, window 500 days, refits every 20 days) for every method and level:
  exceptions against the expected count, Kupiec POF and Christoffersen independence p-values.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.data import read_ohlcv
from invrisk.risk.var import backtest_var, student_t_scenarios, var_es

N_PATHS, N_UND, NU = 100_000, 10, 4.0
DAILY = Path(__file__).resolve().parents[2] / "shared/data/btcusd_daily_2011-2025_bitstamp_coinbase"


def book() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    vols = rng.uniform(0.02, 0.06, N_UND)
    a = rng.normal(size=(N_UND, N_UND))
    cov = a @ a.T + N_UND * np.eye(N_UND)
    d = np.sqrt(np.diag(cov))
    corr = cov / np.outer(d, d)
    exposure_usd = rng.uniform(-2e6, 2e6, N_UND)
    return vols, corr, exposure_usd


def ours() -> dict[float, tuple[float, float]]:
    vols, corr, expo = book()
    r = student_t_scenarios(vols=vols, corr=corr, nu=NU, n_paths=N_PATHS, seed=1)
    pnl = r @ expo
    return {lv: (e.var, e.es) for lv in (0.95, 0.99) for e in [var_es(pnl, level=lv)]}


def reference() -> dict[float, tuple[float, float]]:
    vols, corr, expo = book()
    cov = corr * np.outer(vols, vols) * (NU - 2) / NU  # t scale matrix for the given vols
    r = stats.multivariate_t(loc=np.zeros(N_UND), shape=cov, df=NU, seed=1).rvs(N_PATHS)
    loss = -(r @ expo)
    out = {}
    for lv in (0.95, 0.99):
        q = float(np.quantile(loss, lv))
        out[lv] = (q, float(loss[loss >= q].mean()))
    return out


def main() -> None:
    t_ours, t_ref = best_time(ours, repeat=3), best_time(reference, repeat=3)
    a, b = ours(), reference()
    close = read_ohlcv(DAILY / "BTCUSD_1d_candles_full.csv").close
    r = close[1:] / close[:-1] - 1.0
    table = []
    for method in ("historical", "fhs", "normal", "student_t"):
        t0 = time.perf_counter()
        res = backtest_var(r, method=method, window=500, refit_every=20)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - t0
        for bt in res:
            table.append(
                {
                    "method": method,
                    "level": bt.level,
                    "days": bt.n_obs,
                    "exceptions": bt.n_exceptions,
                    "expected": round(bt.expected_exceptions, 1),
                    "kupiec_p": round(bt.kupiec.p_value, 4),
                    "christoffersen_ind_p": round(bt.independence.p_value, 4),
                    "conditional_coverage_p": round(bt.conditional_coverage.p_value, 4),
                    "seconds": round(elapsed, 2),
                }
            )
    print(
        json.dumps(
            {
                "bench": "var",
                "mc_paths": N_PATHS,
                "mc_underlyings": N_UND,
                "mc_s": round(t_ours, 4),
                "mc_reference_s": round(t_ref, 4),
                "mc_var_es": {str(k): [round(x) for x in v] for k, v in a.items()},
                "mc_reference_var_es": {str(k): [round(x) for x in v] for k, v in b.items()},
                "backtest": table,
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
