"""Fit a full chain's surface and evaluate it at 1,000,000 points, against naive references.

Prints one JSON line. Targets (issue 3): per-expiry SVI plus the global surface for a 13-expiry,
~1,500-option chain in under 200 ms; ``iv`` at 1,000,000 (strike, expiry) points in under
100 ms. References timed in the same run: a per-expiry SVI fit with scipy's least_squares over
all five raw parameters (the usual notebook approach, no arbitrage constraints), and the same
surface evaluated with vectorised numpy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.data import load_deribit_chain, synthetic_chain
from invrisk.surface import fit_surface, smile_quotes
from invrisk.units import year_fraction

SNAPSHOT = (
    Path(__file__).resolve().parents[2]
    / "shared/data/deribit_chain_snapshots_2026_znmahbub"
    / "deribit_options_snapshot_20260226T094105Z.csv.gz"
)


def naive_svi_fits(chain) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    out = []
    for q in smile_quotes(chain)[0]:
        k, w = q.log_moneyness, q.iv**2 * q.t_yr

        def res(p: np.ndarray, k: np.ndarray = k, w: np.ndarray = w) -> np.ndarray:
            a, b, rho, m, s = p
            return a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + s * s)) - w

        x0 = np.array([w.min() * 0.5, 0.1, -0.3, 0.0, 0.1])
        lo = [-1.0, 0.0, -0.999, -1.0, 1e-4]
        hi = [1.0, 5.0, 0.999, 1.0, 5.0]
        out.append(least_squares(res, x0, bounds=(lo, hi)).x)
    return out


def naive_iv(surface, strike, expiry_ns):  # type: ignore[no-untyped-def]
    t = year_fraction(np.full(expiry_ns.shape, surface.valuation_ns), expiry_ns)
    nodes = surface.t_yr
    logf = np.log(surface.forward_usd)
    fwd = np.exp(np.interp(t, nodes, logf))
    k = np.log(strike / fwd)
    i = np.clip(np.searchsorted(nodes, t) - 1, 0, nodes.size - 2)
    lam = np.clip((t - nodes[i]) / (nodes[i + 1] - nodes[i]), 0.0, 1.0)
    p = np.array([[s.params.a, s.params.b, s.params.rho, s.params.m, s.params.sigma]
                  for s in surface.slices])  # fmt: skip

    def w_at(j: np.ndarray) -> np.ndarray:
        a, b, rho, m, s = (p[j, c] for c in range(5))
        return a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + s * s))

    w = (1 - lam) * w_at(i) + lam * w_at(i + 1)
    return np.sqrt(w / t)


def main() -> None:
    results: dict[str, object] = {"benchmark": "surface"}
    chains = {"synthetic_13x58x2": synthetic_chain(
        expiry_days=(1, 2, 3, 7, 14, 21, 28, 56, 91, 119, 182, 273, 364), strikes_per_expiry=58
    )}  # fmt: skip
    if SNAPSHOT.exists():
        chains["deribit_btc_20260226"] = load_deribit_chain(SNAPSHOT).for_currency("BTC")
    for name, chain in chains.items():
        fit_surface(chain)  # warm-up (compiles or loads the kernels)
        fit_surface(chain, model="essvi")
        t_svi = best_time(lambda c=chain: fit_surface(c), repeat=3)
        t_essvi = best_time(lambda c=chain: fit_surface(c, model="essvi"), repeat=3)
        t_naive = best_time(lambda c=chain: naive_svi_fits(c), repeat=3)
        results[name] = {
            "options": len(chain),
            "expiries": len(chain.expiries()),
            "svi_per_expiry_s": round(t_svi, 4),
            "essvi_global_s": round(t_essvi, 4),
            "svi_plus_global_s": round(t_svi + t_essvi, 4),
            "naive_unconstrained_svi_s": round(t_naive, 4),
            "target_fit_s": 0.2,
        }
    surface = fit_surface(chains["synthetic_13x58x2"])
    rng = np.random.default_rng(3)
    n = 1_000_000
    strike = surface.forward_usd[0] * np.exp(rng.uniform(-1.0, 1.0, n))
    expiry = rng.integers(int(surface.expiry_ns[0]), int(surface.expiry_ns[-1]), n)
    ours = surface.iv(strike=strike, expiry_ns=expiry)
    ref = naive_iv(surface, strike, expiry)
    assert np.allclose(ours, ref, rtol=1e-10, atol=1e-12), np.max(np.abs(ours - ref))
    t_iv = best_time(lambda: surface.iv(strike=strike, expiry_ns=expiry))
    t_ref = best_time(lambda: naive_iv(surface, strike, expiry))
    results["iv_1m"] = {
        "points": n,
        "invrisk_s": round(t_iv, 4),
        "naive_numpy_s": round(t_ref, 4),
        "speedup": round(t_ref / t_iv, 2),
        "target_s": 0.1,
    }
    print(json.dumps({**results, **machine()}))


if __name__ == "__main__":
    main()
