"""Fit quality and arbitrage checks of the three surface models on all 36 Deribit chains.

Prints one JSON line: per model, the distribution over the 18 snapshots x {BTC, ETH} of the
median (over expiries) RMSE against Deribit's mark IV in vol points, the share of surfaces
free of arbitrage by ``arbitrage_report``, and the fit time. The chains are the files of
``deribit_chain_snapshots_2026_znmahbub`` (read from ../shared/data or INVRISK_SHARED_DATA).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine

from invrisk.data import load_deribit_chain
from invrisk.surface import arbitrage_report, fit_surface


def main() -> None:
    root = Path(
        os.environ.get("INVRISK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
    )
    files = sorted((root / "deribit_chain_snapshots_2026_znmahbub").glob("*.csv.gz"))
    out: dict[str, object] = {"benchmark": "surface_quality", "surfaces": 2 * len(files)}
    for model in ("svi", "ssvi", "essvi"):
        medians, pooled, times, free = [], [], [], 0
        for path in files:
            chain = load_deribit_chain(path)
            for currency in ("BTC", "ETH"):
                t0 = time.perf_counter()
                surface = fit_surface(chain, currency=currency, model=model)  # type: ignore[arg-type]
                times.append(time.perf_counter() - t0)
                rmse = np.array([s.rmse_vol_pts for s in surface.slices])
                n = np.array([s.n_quotes for s in surface.slices])
                medians.append(float(np.median(rmse)))
                pooled.append(float(np.sqrt(np.sum(n * rmse**2) / np.sum(n))))
                free += arbitrage_report(surface).arbitrage_free
        q = np.quantile(medians, [0.0, 0.25, 0.5, 0.75, 1.0])
        out[model] = {
            "median_rmse_per_surface_quantiles_0_25_50_75_100": [round(float(x), 3) for x in q],
            "pooled_rmse_median": round(float(np.median(pooled)), 3),
            "pooled_rmse_max": round(float(np.max(pooled)), 3),
            "arbitrage_free_share": free / len(medians),
            "fit_s_median": round(float(np.median(times)), 4),
            "fit_s_max": round(float(np.max(times)), 4),
        }
    print(json.dumps({**out, **machine()}))


if __name__ == "__main__":
    main()
