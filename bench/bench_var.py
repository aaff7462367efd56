"""Monte Carlo VaR speed, and the VaR backtest table on the real daily BTC history.

Prints one JSON line.

- ``mc``: 100,000 Student-t paths (ν = 4) of 10 correlated underlyings, P&L of a linear
  book of exposures on them, 95% and 99% VaR and ES. Target: under 1 s. Reference in the same
  run: the same scenarios drawn with ``scipy.stats.multivariate_t`` (a general-purpose
  sampler) and the VaR/ES read with ``np.quantile`` and a mean beyond it. (Option books revalue
  each path in full; that is timed with the portfolio revaluation, not here.)
- ``mc_options``: the same 100,000 paths on a book of options on 10 coins (50 options per coin on
  synthetic chains, plus a perpetual each), fully revalued through per-coin spline grids
  (``portfolio_var(..., grid_points=64)``). Reference in the same run: the same paths each
  revalued in full (``grid_points=None``); the two must agree to 1e-4 of the book's largest
  P&L.
- ``backtest``: one-day VaR of a long BTC position over 2011-2025 (the daily history in
  ``../shared/data``, window 500 days, refits every 20 days) for every method and level:
  exceptions against the expected count, Kupiec POF and Christoffersen independence p-values.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.data import read_ohlcv, synthetic_chain
from invrisk.instruments import parse_deribit
from invrisk.risk import MarketSnapshot, Portfolio, Position
from invrisk.risk.var import backtest_var, student_t_scenarios, var_es
from invrisk.risk.var_portfolio import portfolio_var

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


COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "DOT", "LINK", "LTC")


def option_book() -> tuple[Portfolio, MarketSnapshot, dict[str, np.ndarray]]:
    """50 options and a perpetual on each of 10 coins; 500 days of correlated returns."""
    rng = np.random.default_rng(3)
    positions, snaps, marks = [], [], {}
    for k, coin in enumerate(COINS):
        index = 50.0 * 2.0**k
        # the generator knows BTC and ETH only: an ETH-shaped chain relabelled as this coin
        base = synthetic_chain(currency="ETH", index_usd=index, expiry_days=(7, 30, 90, 180))
        chain = dataclasses.replace(
            base,
            currency=np.full(len(base), coin, dtype=base.currency.dtype),
            instrument=np.array([coin + str(n)[3:] for n in base.instrument], dtype=object),
        )
        snaps.append(MarketSnapshot.from_chain(chain, quote_marks=False))
        for i in rng.choice(len(chain), 50, replace=False):
            name = str(chain.instrument[i])
            positions.append(
                Position(instrument=parse_deribit(name), contracts=float(rng.integers(-20, 21)))
            )
        perp = f"{coin}-PERPETUAL"
        marks[perp] = index
        positions.append(
            Position(instrument=parse_deribit(perp), contracts=-1_000.0, entry_price=index)
        )
    market = MarketSnapshot(
        valuation_ns=snaps[0].valuation_ns,
        index_usd={c: s.index_usd[c] for c, s in zip(COINS, snaps, strict=True)},
        surfaces={c: s.surfaces[c] for c, s in zip(COINS, snaps, strict=True)},
        marks=marks,
    )
    common = rng.standard_normal(500)
    returns = {c: 0.03 * (0.7 * common + 0.7 * rng.standard_normal(500)) for c in COINS}
    return Portfolio(positions), market, returns


def main() -> None:
    t_ours, t_ref = best_time(ours, repeat=3), best_time(reference, repeat=3)
    a, b = ours(), reference()
    obook, omarket, oreturns = option_book()
    kw = {"returns": oreturns, "method": "student_t", "n_paths": N_PATHS, "seed": 1}

    def options_fast() -> object:
        return portfolio_var(obook, omarket, grid_points=64, **kw)  # type: ignore[arg-type]

    t_opt = best_time(options_fast, repeat=3)
    fast = options_fast()
    t0 = time.perf_counter()
    full = portfolio_var(obook, omarket, **kw)  # type: ignore[arg-type]
    t_full = time.perf_counter() - t0
    err = float(np.abs(fast.pnl_usd - full.pnl_usd).max() / np.abs(full.pnl_usd).max())  # type: ignore[attr-defined]
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
                "mc_options_positions": len(obook),
                "mc_options_s": round(t_opt, 3),
                "mc_options_full_revaluation_s": round(t_full, 2),
                "mc_options_max_rel_pnl_error": err,
                "mc_options_var99_usd": round(full.var_usd),
                "backtest": table,
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
