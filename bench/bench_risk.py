"""Full revaluation of a 2,000-option book on a 21 x 9 spot x vol grid (189 scenarios).

Prints one JSON line. The book: 2,000 Deribit-style BTC options (calls and puts, 14 expiries
from 1 day to a year, long and short) on a synthetic chain with a fitted SVI surface, plus a
perpetual and a dated future. The grid: spot -50%..+50% (21 levels) x vol -20..+20 points (9),
sticky strike and sticky moneyness. ``invrisk_grid_s`` times the whole public call
(:func:`invrisk.risk.spot_vol_grid`: resolving the book against the snapshot, the surface per
spot level, every option of every scenario in one Black-76 kernel call). The reference, timed in
the same run on the same inputs and checked to agree, is a plain per-position loop: per scenario
one vectorised surface call for the vols, then each position priced with a scalar Black-76 in
Python (math.erfc), as a straightforward implementation would.
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

from invrisk.data import synthetic_chain
from invrisk.instruments import parse_deribit
from invrisk.risk import MarketSnapshot, Portfolio, Position, spot_vol_grid
from invrisk.surface import VolShock
from invrisk.units import year_fraction

N_OPTIONS = 2_000
SPOTS = np.linspace(-0.5, 0.5, 21)
VOLS = np.linspace(-0.2, 0.2, 9)
EXPIRY_DAYS = (1, 2, 3, 7, 14, 21, 28, 42, 56, 91, 119, 182, 273, 364)


def _black76_coin(f: float, k: float, t: float, vol: float, cp: float) -> float:
    """Coin price of an inverse option, scalar Black-76 / F (the reference's pricer)."""
    v = vol * math.sqrt(t)
    d1 = math.log(f / k) / v + 0.5 * v
    d2 = d1 - v
    n1 = 0.5 * math.erfc(-cp * d1 / math.sqrt(2.0))
    n2 = 0.5 * math.erfc(-cp * d2 / math.sqrt(2.0))
    return cp * (f * n1 - k * n2) / f


def build() -> tuple[Portfolio, MarketSnapshot, dict[str, float]]:
    """The benchmark book (2,000 BTC options, a perpetual, a dated future) and its snapshot."""
    chain = synthetic_chain(currency="BTC", expiry_days=EXPIRY_DAYS, strikes_per_expiry=91)
    marks = {"BTC-PERPETUAL": 90_050.0, "BTC-27MAR26": 91_000.0}
    market = MarketSnapshot.from_chain(chain, marks=marks, quote_marks=False)
    rng = np.random.default_rng(7)
    rows = rng.choice(len(chain), N_OPTIONS, replace=False)
    positions = [
        Position(
            instrument=parse_deribit(str(chain.instrument[i])),
            contracts=float(rng.integers(-50, 51)) / 10.0,
        )
        for i in rows
    ]
    positions += [
        Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=-50_000, entry_price=89_000),
        Position(instrument=parse_deribit("BTC-27MAR26"), contracts=20_000, entry_price=90_500),
    ]
    return Portfolio(positions), market, marks


def main() -> None:
    book, market, marks = build()

    def ours(dynamics: str = "sticky_strike") -> object:
        return spot_vol_grid(
            book,
            market,
            spot_returns=SPOTS,
            vol_shifts=VOLS,
            dynamics=dynamics,  # type: ignore[arg-type]
        )

    surface = market.surfaces["BTC"]
    spot0 = market.index_usd["BTC"]
    opts = [p for p in book if p.instrument.is_option]
    strike = np.array([p.instrument.strike for p in opts])
    expiry = np.array([p.instrument.expiry_ns for p in opts], dtype=np.int64)
    t_yr = [year_fraction(market.valuation_ns, int(e)) for e in expiry]
    fwd0 = surface.forward(np.asarray(year_fraction(surface.valuation_ns, expiry)))

    def reference() -> np.ndarray:
        out = np.empty((SPOTS.size, VOLS.size))
        for i, r in enumerate(SPOTS):
            moved = surface.moved(spot_return=float(r), dynamics="sticky_strike")
            spot = spot0 * (1.0 + r)
            for j, dv in enumerate(VOLS):
                vols = moved.shocked(VolShock(parallel=float(dv))).iv(
                    strike=strike, expiry_ns=expiry
                )
                total = 0.0
                for k, p in enumerate(opts):
                    c = _black76_coin(
                        fwd0[k] * (1 + r), strike[k], t_yr[k], vols[k], float(p.instrument.right)
                    )
                    total += p.contracts * c * spot
                for p in book:
                    if not p.instrument.is_option:
                        mark = marks[p.instrument.name] * (1.0 + r)
                        assert p.entry_price is not None
                        n_usd = p.contracts * p.instrument.contract_size
                        total += n_usd * (1.0 / p.entry_price - 1.0 / mark) * spot
                out[i, j] = total
        return out

    grid = ours()
    base = grid.result.base_value_usd.sum()  # type: ignore[attr-defined]
    ref = reference()
    np.testing.assert_allclose(grid.pnl_usd, ref - base, rtol=1e-9, atol=1e-3)  # type: ignore[attr-defined]
    t_ours = best_time(ours, repeat=7)
    t_sm = best_time(lambda: ours("sticky_moneyness"), repeat=7)
    t0 = time.perf_counter()
    reference()
    t_ref = time.perf_counter() - t0
    n_scen = SPOTS.size * VOLS.size
    print(
        json.dumps(
            {
                "benchmark": "risk_grid_2000_options_21x9",
                "n_options": N_OPTIONS,
                "n_positions": len(book),
                "n_scenarios": n_scen,
                "invrisk_grid_s": round(t_ours, 4),
                "invrisk_grid_sticky_moneyness_s": round(t_sm, 4),
                "option_revaluations_per_s": round(N_OPTIONS * n_scen / t_ours),
                "reference_loop_s": round(t_ref, 3),
                "speedup_vs_loop": round(t_ref / t_ours, 1),
                "target_s": 0.05,
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
