"""Portfolio margin (Deribit-style) of the 2,000-option book of ``bench_risk.py``.

Prints one JSON line. The book is the one of ``bench_risk.py`` (its ``build()``: the same
chain, seed, 2,000 BTC options, perpetual and dated future) and the reference uses its scalar
pricer. ``invrisk_margin_s`` times the whole public call
(:func:`invrisk.risk.portfolio_margin` with the default BTC parameters: the 9 x 3 risk
matrix, the 8-move extended table, delta and roll shocks; 35 scenarios, 70,000 option
revaluations). The reference, timed in the same run and checked to agree, is a plain loop:
per distinct spot move one vectorised surface call for the vols, then every (scenario,
position) pair priced with a scalar Black-76 in Python, and the margin assembled from the
formulas of the :mod:`invrisk.risk.margin` docstring written out again here.
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
from bench_risk import N_OPTIONS, _black76_coin, build

from invrisk.risk import MarginParams, MarketSnapshot, Portfolio, Position, portfolio_margin
from invrisk.units import year_fraction


def _cp(q: Position) -> float:
    """+1 for a call, -1 for a put."""
    right = q.instrument.right
    assert right is not None
    return float(right)


def _ndtr(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def reference_margin(
    book: Portfolio, market: MarketSnapshot, marks: dict[str, float], p: MarginParams
) -> float:
    """Initial margin (BTC) by a per-position loop (see the module docstring)."""
    surface = market.surfaces["BTC"]
    spot0 = market.index_usd["BTC"]
    opts = [q for q in book if q.instrument.is_option]
    futs = [q for q in book if not q.instrument.is_option]
    strike = np.array([q.instrument.strike for q in opts])
    expiry = np.array([q.instrument.expiry_ns for q in opts], dtype=np.int64)
    t_yr = [year_fraction(market.valuation_ns, int(e)) for e in expiry]
    fwd0 = surface.forward(np.asarray(year_fraction(surface.valuation_ns, expiry)))
    vol0 = surface.iv(strike=strike, expiry_ns=expiry)
    weight = []
    for t in t_yr:
        d = max(t * 365.0, p.vol_shock_min_days)
        power = p.short_term_vega_power if d < 30.0 else p.long_term_vega_power
        weight.append((30.0 / d) ** power)
    base = [_black76_coin(fwd0[k], strike[k], t_yr[k], vol0[k], _cp(q)) for k, q in enumerate(opts)]

    def fut_coin(q: Position, r: float) -> float:
        mark = marks[q.instrument.name]
        n_usd = q.contracts * q.instrument.contract_size
        return n_usd * (1.0 / mark - 1.0 / (mark * (1.0 + r)))

    def pnl(r: float, state: str, futures_r: float) -> float:
        vols = surface.moved(spot_return=r, dynamics="sticky_strike").iv(
            strike=strike, expiry_ns=expiry
        )
        total = 0.0
        for k, q in enumerate(opts):
            s, w = float(vols[k]), weight[k]
            if state == "up":
                s = s + max(s, p.min_volatility_for_shock_up) * p.volatility_range_up * w
            elif state == "down":
                s = s * (1.0 - p.volatility_range_down * w)
            c = _black76_coin(fwd0[k] * (1 + r), strike[k], t_yr[k], s, _cp(q))
            total += q.contracts * (c - base[k])
        return total + sum(fut_coin(q, futures_r) for q in futs)

    n = p.buckets_count
    entries = [
        pnl(p.price_range * j / n, state, p.price_range * j / n)
        for j in range(-n, n + 1)
        for state in ("up", "same", "down")
    ]
    for m in p.extended_moves:
        raw = p.extended_table_factor * pnl(m, "up", math.copysign(p.price_range, m))
        allowance = (abs(m) / p.price_range - 1.0) * p.extended_dampener_usd / spot0
        entries.append(math.copysign(max(abs(raw) - allowance, 0.0), raw))
    worst_loss = -min(entries)
    delta = 0.0
    for k, q in enumerate(opts):
        cp = _cp(q)
        v = vol0[k] * math.sqrt(t_yr[k])
        d1 = math.log(fwd0[k] / strike[k]) / v + 0.5 * v
        delta += q.contracts * (cp * _ndtr(cp * d1) - base[k])
    roll = 0.0
    for q in futs:
        size = q.contracts * q.instrument.contract_size / marks[q.instrument.name]  # N / P
        delta += size
        e = q.instrument.expiry_ns
        tau = 0.0 if e is None else year_fraction(market.valuation_ns, e)
        roll += abs(size) * max(p.annualised_move_risk * tau, p.min_annualised_move)
    excess = max(0.0, abs(delta) - p.delta_total_liq_shock_threshold_usd / spot0)
    delta_shock = min(p.max_delta_shock, p.m_inc_per_coin * excess) * abs(delta)
    return worst_loss + delta_shock + roll


def main() -> None:
    book, market, marks = build()
    params = MarginParams()

    def ours() -> float:
        return portfolio_margin(book, market, params=params)["BTC"].initial_margin

    im = ours()
    t0 = time.perf_counter()
    ref = reference_margin(book, market, marks, params)
    t_ref = time.perf_counter() - t0
    np.testing.assert_allclose(im, ref, rtol=1e-9)
    t_ours = best_time(ours, repeat=7)
    b = portfolio_margin(book, market, params=params)["BTC"]
    n_scen = 3 * (2 * params.buckets_count + 1) + len(params.extended_moves)
    print(
        json.dumps(
            {
                "benchmark": "portfolio_margin_2000_options",
                "n_options": N_OPTIONS,
                "n_positions": len(book),
                "n_scenarios": n_scen,
                "initial_margin_btc": round(b.initial_margin, 6),
                "initial_margin_usd": round(b.initial_margin_usd, 2),
                "binding_term": b.binding_term,
                "worst_scenario": f"{b.worst_scenario.table} {b.worst_scenario.spot_return:+g} "
                f"vol {b.worst_scenario.vol_state}",
                "invrisk_margin_s": round(t_ours, 4),
                "reference_loop_s": round(t_ref, 3),
                "speedup_vs_loop": round(t_ref / t_ours, 1),
                "target_s": 0.1,
                **machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
