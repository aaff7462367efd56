"""Hedge plan over 50 candidate instruments: ``optimize_hedge`` against scipy's HiGHS LP.

Prints one JSON line. A BTC option book's exposures (delta, gamma, vega in 6 expiry buckets)
and 50 candidates (the perpetual and 49 options over 7 expiries x 7 strikes, with bid/ask,
fees and lots); limits on every exposure; objective: the cheapest hedge inside the limits
(``"cost"``, continuous LP then the mixed-integer LP over lots), and the ES of the hedged P&L
over 189 scenarios (``"es"``). Target: a plan in under 1 s. Reference in the same run: the
continuous cost LP written by hand for ``scipy.optimize.linprog`` (HiGHS): the same optimum,
and its time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.hedging.optimizer import HedgeCandidate, optimize_hedge
from invrisk.pricing import black76

EXPIRIES_D = (7, 14, 30, 60, 90, 180, 365)
BUCKETS = ("vega_7d", "vega_14d", "vega_30d", "vega_60d", "vega_90d", "vega_180d+")


def candidates() -> tuple[list[HedgeCandidate], np.ndarray]:
    rng = np.random.default_rng(0)
    f = 60_000.0
    moves = np.linspace(-0.3, 0.3, 21)[:, None] * np.ones((1, 9))
    vols = np.linspace(-0.3, 0.3, 9)[None, :] * np.ones((21, 1))
    scen_f = f * (1 + moves.ravel())
    scen_dv = vols.ravel()
    out = [
        HedgeCandidate(
            "BTC-PERPETUAL",
            bid=f - 0.5,
            ask=f + 0.5,
            exposure={"delta": 1.0},
            lot=0.001,
            fee_rate=5e-4,
            scenario_pnl=scen_f - f,
        )
    ]
    for d in EXPIRIES_D:
        t = d / 365
        bucket = BUCKETS[min(EXPIRIES_D.index(d), len(BUCKETS) - 1)]
        for k in f * np.array([0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2]):
            right = "call" if k >= f else "put"
            g = black76(forward=f, strike=k, t_yr=t, vol=0.6, option_type=right)
            price = float(g.price)
            spread = max(0.0005 * f, 0.02 * price)
            scen = black76(forward=scen_f, strike=k, t_yr=t, vol=0.6 + scen_dv, option_type=right)
            out.append(
                HedgeCandidate(
                    f"BTC-{d}D-{int(k)}-{right[0].upper()}",
                    bid=max(price - spread / 2, 1.0),
                    ask=price + spread / 2,
                    exposure={
                        "delta": float(g.delta),
                        "gamma": float(g.gamma),
                        bucket: float(g.vega),
                    },
                    lot=0.1,
                    max_qty=500.0,
                    fee_rate=3e-4,
                    scenario_pnl=np.asarray(scen.price) - price,
                )
            )
    book_scen = -40 * (out[20].scenario_pnl + out[30].scenario_pnl) + rng.normal(0, 1, 189)  # type: ignore[operator]
    return out, book_scen


def main() -> None:
    cands, book_scen = candidates()
    assert len(cands) == 50
    book = {"delta": 12.0, "gamma": -0.002}
    book |= {b: -40_000.0 + 5_000.0 * i for i, b in enumerate(BUCKETS)}
    limits = {"delta": (-0.5, 0.5), "gamma": (-0.0005, 0.0005)} | {
        b: (-5_000.0, 5_000.0) for b in BUCKETS
    }
    optimize_hedge(exposure=book, candidates=cands, limits=limits)  # warm-up (imports)
    t0 = time.perf_counter()
    plan = optimize_hedge(exposure=book, candidates=cands, limits=limits)
    t_cost = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan_es = optimize_hedge(
        exposure=book, candidates=cands, limits=limits, objective="es", scenario_pnl=book_scen
    )
    t_es = time.perf_counter() - t0
    # reference: the continuous cost LP by hand, x = x+ - x-
    keys = list(limits)
    e = np.array([[c.exposure.get(k, 0.0) for c in cands] for k in keys])
    b = np.array([book[k] for k in keys])
    lo = np.array([limits[k][0] for k in keys])
    hi = np.array([limits[k][1] for k in keys])
    buy = np.array([c.ask - c.mid + c.fee_rate * c.mid for c in cands])
    sell = np.array([c.mid - c.bid + c.fee_rate * c.mid for c in cands])
    a_ub = np.vstack([np.hstack([e, -e]), np.hstack([-e, e])])
    b_ub = np.concatenate([hi - b, b - lo])
    caps = [(0, c.max_qty if np.isfinite(c.max_qty) else None) for c in cands] * 2
    t0 = time.perf_counter()
    ref = linprog(np.concatenate([buy, sell]), A_ub=a_ub, b_ub=b_ub, bounds=caps, method="highs")
    t_ref = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "bench": "hedge",
                "candidates": len(cands),
                "limits": len(limits),
                "cost_plan_s": round(t_cost, 3),
                "es_plan_s": round(t_es, 3),
                "reference_lp_s": round(t_ref, 4),
                "continuous_cost": round(plan.continuous_cost, 2),
                "reference_lp_cost": round(float(ref.fun), 2),
                "lot_cost": round(plan.cost, 2),
                "rounding": plan.rounding,
                "trades": len(plan.trades),
                "es_before": round(plan_es.risk_before, 1),
                "es_after": round(plan_es.risk_after, 1),
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
