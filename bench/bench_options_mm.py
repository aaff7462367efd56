"""Option market making in vega space: quote a 100-option book in one vectorised call.

Prints one JSON line. The book is the first 100 rows of ``synthetic_chain()`` (BTC, USD Black-76
prices and vegas per 1.0 vol on the built-in smile). Measurements:

- ``vega_book_quotes`` (validation + closed-form a, b + depths for every option), target < 5 ms;
- ``VegaBookModel.quotes`` (book validated once at construction), with exponential and with
  the paper's logistic intensities;
- reference in the same run: the same depths from a per-option Python loop over the written-out
  formula, checked to agree.

Parameters: sizes 1 contract, A = 0.01 /s, k = 1/(0.01·vega + 1) per USD, γ = 1e-4 per USD,
ξ = 1.0 per √yr, horizon 3600 s, V = 2e5 USD per vol, V̄ = 5e5.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.data.synthetic import synthetic_chain
from invrisk.pricing import black76
from invrisk.quoting.intensity import ExponentialIntensity, LogisticIntensity
from invrisk.quoting.options_mm import VegaBookModel, vega_book_quotes

N = 100
P = {"sizes": 1.0, "gamma": 1e-4, "vol_of_vol": 1.0, "vega_limit": 5e5}
HORIZON_S = 3600.0
V = 2e5
NS = 1_000_000_000


def book() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chain = synthetic_chain()
    rows = slice(0, N)
    g = black76(
        forward=chain.forward_usd[rows],
        strike=chain.strike[rows],
        t_yr=chain.t_yr[rows],
        vol=chain.mark_iv[rows],
        option_type=chain.right[rows],
    )
    vegas = np.asarray(g.vega)
    return np.asarray(g.price), vegas, 1.0 / (0.01 * vegas + 1.0)


def loop_reference(vegas: np.ndarray, k: np.ndarray, a: float) -> tuple[list[float], list[float]]:
    bids, asks = [], []
    for vi, ki in zip(vegas, k, strict=True):
        base = 1.0 / ki + a * P["sizes"] * vi * vi
        bids.append(base + vi * 2.0 * a * V)
        asks.append(base - vi * 2.0 * a * V)
    return bids, asks


def main() -> None:
    mids, vegas, k = book()
    expo = ExponentialIntensity(A=0.01, k=k)

    def call() -> object:
        return vega_book_quotes(
            mids=mids, vegas=vegas, intensity=expo, horizon_s=HORIZON_S, portfolio_vega=V, **P
        )

    model = VegaBookModel(vegas=vegas, intensity=expo, t_end_ns=3600 * NS, **P)
    # The paper's logistic intensity λ/(1 + e^{α + βδ/V^i}) (α = 0.7, β = 150), solved per
    # quote with the Lambert W function.
    logistic = LogisticIntensity.from_vega(lam=0.01, alpha=0.7, beta=150.0, vegas=vegas)
    model_logistic = VegaBookModel(vegas=vegas, intensity=logistic, t_end_ns=3600 * NS, **P)

    def call_model() -> object:
        return model.quotes(portfolio_vega=V, t_ns=0, mids=mids)

    def call_logistic() -> object:
        return model_logistic.quotes(portfolio_vega=V, t_ns=0, mids=mids)

    q = vega_book_quotes(
        mids=mids, vegas=vegas, intensity=expo, horizon_s=HORIZON_S, portfolio_vega=V, **P
    )
    bids, asks = loop_reference(vegas, k, q.a)
    ok = np.isfinite(q.bid_depth)
    err = max(
        float(np.max(np.abs(q.bid_depth[ok] - np.array(bids)[ok]) / np.array(bids)[ok])),
        float(np.max(np.abs(q.ask_depth - np.array(asks)) / np.abs(np.array(asks)))),
    )
    t_fn = best_time(call, repeat=200)
    t_model = best_time(call_model, repeat=200)
    t_logistic = best_time(call_logistic, repeat=200)
    assert t_logistic < 5e-3, f"logistic quotes took {t_logistic * 1e3:.3f} ms (target < 5 ms)"
    t_loop = best_time(lambda: loop_reference(vegas, k, q.a), repeat=50)
    assert t_fn < 5e-3, f"vega_book_quotes took {t_fn * 1e3:.3f} ms (target < 5 ms)"
    assert err < 1e-12
    print(
        json.dumps(
            {
                "bench": "options_mm",
                "n_options": N,
                "vega_book_quotes_ms": round(t_fn * 1e3, 4),
                "model_quotes_ms": round(t_model * 1e3, 4),
                "model_quotes_logistic_ms": round(t_logistic * 1e3, 4),
                "python_loop_ms": round(t_loop * 1e3, 4),
                "max_rel_diff_vs_loop": err,
                "a": q.a,
                "bids_withdrawn": int(np.sum(~q.bid_quoted)),
                "spread_usd_median": float(np.nanmedian(q.spread)),
                "finite": bool(np.all(np.isfinite(q.ask)) and math.isfinite(q.a)),
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
