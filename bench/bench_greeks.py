"""Price + 8 Greeks for 1,000,000 options: invrisk.black76 against a naive numpy kernel.

Prints one JSON line. The naive reference is the textbook vectorised numpy formula with
scipy.special.ndtr, timed in the same run on the same inputs (and checked to agree).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine, random_options

from invrisk.pricing import black76

N = 1_000_000


def naive_black76(forward, strike, t_yr, vol, cp, rate=0.0):  # type: ignore[no-untyped-def]
    sqrt_t = np.sqrt(t_yr)
    v = vol * sqrt_t
    d1 = np.log(forward / strike) / v + 0.5 * v
    d2 = d1 - v
    df = np.exp(-rate * t_yr)
    nd1 = ndtr(cp * d1)
    nd2 = ndtr(cp * d2)
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi)
    price = cp * df * (forward * nd1 - strike * nd2)
    delta = cp * df * nd1
    gamma = df * pdf / (forward * v)
    vega = df * forward * pdf * sqrt_t
    theta = rate * price - df * forward * pdf * vol / (2 * sqrt_t)
    rho = -t_yr * price
    vanna = -df * pdf * d2 / vol
    volga = vega * d1 * d2 / vol
    charm = rate * delta + df * pdf * d2 / (2 * t_yr)
    return price, delta, gamma, vega, theta, rho, vanna, volga, charm


def main() -> None:
    o = random_options(N)
    args = (o["forward"], o["strike"], o["t_yr"], o["vol"], o["option_type"])

    def ours() -> object:
        return black76(
            forward=o["forward"],
            strike=o["strike"],
            t_yr=o["t_yr"],
            vol=o["vol"],
            option_type=o["option_type"],
        )

    def naive() -> object:
        return naive_black76(*args)

    g = ours()
    ref = naive()
    for name, r in zip(g.as_dict(), ref, strict=True):  # type: ignore[attr-defined]
        np.testing.assert_allclose(getattr(g, name), r, rtol=1e-9, atol=1e-9, err_msg=name)
    t_ours = best_time(ours)
    t_naive = best_time(naive)
    print(
        json.dumps(
            {
                "benchmark": "greeks_1m",
                "n_options": N,
                "outputs": "price+delta,gamma,vega,theta,rho,vanna,volga,charm",
                "invrisk_s": round(t_ours, 4),
                "invrisk_options_per_s": round(N / t_ours),
                "naive_numpy_s": round(t_naive, 4),
                "naive_numpy_options_per_s": round(N / t_naive),
                "speedup_vs_naive": round(t_naive / t_ours, 2),
                "target_options_per_s": 20_000_000,
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
