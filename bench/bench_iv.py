"""Implied volatility of 1,000,000 options: invrisk.implied_vol against a numba Newton solver.

Prints one JSON line. The reference is the usual approach: Newton-Raphson on the Black-76
price from a fixed start, parallel numba over options, timed in the same run on the same
prices. Both results are checked against the volatilities the prices were made from.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine, random_options

from invrisk.pricing import black76, implied_vol

N = 1_000_000


@njit(parallel=True, cache=True)
def newton_iv(price, forward, strike, t_yr, cp, out):  # type: ignore[no-untyped-def]
    for i in prange(price.shape[0]):
        f = forward[i]
        k = strike[i]
        t = t_yr[i]
        sqrt_t = math.sqrt(t)
        sigma = 0.5
        for _ in range(100):
            v = sigma * sqrt_t
            d1 = math.log(f / k) / v + 0.5 * v
            d2 = d1 - v
            p = cp[i] * (
                f * 0.5 * math.erfc(-cp[i] * d1 / math.sqrt(2.0))
                - k * 0.5 * math.erfc(-cp[i] * d2 / math.sqrt(2.0))
            )
            vega = f * math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) * sqrt_t
            if vega < 1e-300:
                sigma = math.nan
                break
            step = (p - price[i]) / vega
            sigma -= step
            if sigma <= 0.0:
                sigma = 1e-4
            if abs(step) < 1e-13:
                break
        out[i] = sigma


def main() -> None:
    o = random_options(N, seed=11)
    g = black76(
        forward=o["forward"],
        strike=o["strike"],
        t_yr=o["t_yr"],
        vol=o["vol"],
        option_type=o["option_type"],
    )
    price = np.asarray(g.price)
    # The well-posed region: one ulp of the price scale max(F, K) moves the vol by < 1e-13
    # (eps * max(F, K) / vega < 1e-13), and the price is a normal float. Outside it no solver
    # can be more accurate than the rounding of the price it is given.
    with np.errstate(divide="ignore", over="ignore"):
        ulp_vol = np.finfo(float).eps * np.maximum(o["forward"], o["strike"]) / np.asarray(g.vega)
    well_posed = (ulp_vol < 1e-13) & (price > 1e-250)
    ref_out = np.empty(N)

    def ours() -> object:
        return implied_vol(
            price=price,
            forward=o["forward"],
            strike=o["strike"],
            t_yr=o["t_yr"],
            option_type=o["option_type"],
        )

    def newton() -> object:
        newton_iv(price, o["forward"], o["strike"], o["t_yr"], o["option_type"], ref_out)
        return ref_out

    res = ours()
    newton()
    err_ours = np.abs(np.asarray(res.vol) - o["vol"])[well_posed]  # type: ignore[attr-defined]
    err_newton = np.abs(ref_out - o["vol"])[well_posed]
    t_ours = best_time(ours)
    t_newton = best_time(newton)
    print(
        json.dumps(
            {
                "benchmark": "implied_vol_1m",
                "n_options": N,
                "well_posed_share": round(float(well_posed.mean()), 4),
                "invrisk_s": round(t_ours, 4),
                "invrisk_options_per_s": round(N / t_ours),
                "invrisk_max_abs_vol_err_well_posed": float(np.nanmax(err_ours)),
                "newton_numba_s": round(t_newton, 4),
                "newton_numba_options_per_s": round(N / t_newton),
                "newton_max_abs_vol_err_well_posed": float(np.nanmax(err_newton)),
                "newton_nan_share_well_posed": round(float(np.isnan(err_newton).mean()), 4),
                "speedup_vs_newton": round(t_newton / t_ours, 2),
                "target_options_per_s": 5_000_000,
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
