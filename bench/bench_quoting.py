"""Quoting models: exact GLFT/Guéant solve at Q = 100 and one closed-form quote decision.

Prints one JSON line. Each measurement has a reference timed in the same run on the same
inputs (and checked to agree):

- solve: ``solve_gueant`` (even-block tridiagonal eigensolver) + ``v`` at τ = 600 s, against a
  dense ``scipy.linalg.expm`` of the full 201×201 generator. Target < 1 ms.
- quote: ``GueantClosedForm.quotes`` (scalar maths, frozen ``Quotes``), against the same
  formula written with numpy arrays per call. Target < 5 µs per decision.

GLFT (2013) figure parameters: σ = 0.3 tick/√s, A = 0.9 /s, k = 0.3 /tick, γ = 0.01 /tick.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, machine

from invrisk.quoting import (
    GueantClosedForm,
    ModelState,
    round_quotes,
    shaped_sizes,
    solve_gueant,
)

P = {"sigma": 0.3, "A": 0.9, "k": 0.3, "gamma": 0.01}
Q_MAX = 100
TAU_S = 600.0
N_QUOTES = 100_000


def expm_reference() -> np.ndarray:
    s, a, k, g = P["sigma"], P["A"], P["k"], P["gamma"]
    q = np.arange(-Q_MAX, Q_MAX + 1, dtype=np.float64)
    eta = a * (1 + g / k) ** (-(1 + k / g))
    m = np.diag(k * g * s * s * q * q / 2) - eta * (np.eye(len(q), k=1) + np.eye(len(q), k=-1))
    return scipy.linalg.expm(-m * TAU_S) @ np.ones(len(q))


def solve() -> np.ndarray:
    return solve_gueant(q_max=Q_MAX, **P).value(tau_s=TAU_S)


def numpy_quote(q: float, mid: float) -> tuple[float, float]:
    s, a, k, g = P["sigma"], P["A"], P["k"], P["gamma"]
    qa = np.array([q])
    c = np.log1p(g / k) / g
    w = np.sqrt(g * s * s / (2 * a * k) * (1 + g / k) ** (1 + k / g))
    bid = mid - (c + w * (qa + 0.5))
    ask = mid + (c - w * (qa - 0.5))
    return float(bid[0]), float(ask[0])


def main() -> None:
    v_ref = expm_reference()
    v = solve()
    # Same v up to a constant factor where v is above the eigen sum's precision (|q| <= 40 here;
    # further out GueantSolution.depths itself falls back to expm).
    core = slice(Q_MAX - 40, Q_MAX + 41)
    rel = v[core] / v_ref[core]
    agree = float(np.max(np.abs(rel / rel[40] - 1)))
    t_solve = best_time(solve, repeat=50)
    t_expm = best_time(expm_reference, repeat=10)

    model = GueantClosedForm(q_max=Q_MAX, **P)
    state = ModelState(mid=1000.0)
    qs = [float(i % 41 - 20) for i in range(N_QUOTES)]
    out = model.quotes(q=3.0, t_ns=0, state=state)
    ref = numpy_quote(3.0, 1000.0)
    assert math.isclose(out.bid, ref[0], rel_tol=1e-12) and math.isclose(out.ask, ref[1])

    def loop_model() -> None:
        for q in qs:
            model.quotes(q=q, t_ns=0, state=state)

    def loop_numpy() -> None:
        for q in qs[: N_QUOTES // 10]:
            numpy_quote(q, 1000.0)

    # The full decision the issue times: closed-form quote, size shaping with the inventory limit
    # and lot rounding, then tick rounding that never crosses the touch.
    def loop_decision() -> None:
        for q in qs:
            quote = model.quotes(q=q, t_ns=0, state=state)
            shaped_sizes(q=q, base_size=1.0, eta=0.05, q_max=Q_MAX, lot_size=0.001)
            if quote.bid_quoted and quote.ask_quoted:
                round_quotes(quote, tick=0.1, best_bid=999.9, best_ask=1000.1)

    t_decision = best_time(loop_decision, repeat=3) / N_QUOTES
    t_quote = best_time(loop_model, repeat=3) / N_QUOTES
    t_numpy = best_time(loop_numpy, repeat=3) / (N_QUOTES // 10)
    print(
        json.dumps(
            {
                "bench": "quoting",
                "levels": 2 * Q_MAX + 1,
                "solve_ms": round(t_solve * 1e3, 4),
                "solve_expm_ref_ms": round(t_expm * 1e3, 4),
                "solve_max_rel_diff_vs_expm_abs_q_le_40": agree,
                "solve_target_ms": 1.0,
                "quote_us": round(t_quote * 1e6, 3),
                "quote_numpy_ref_us": round(t_numpy * 1e6, 3),
                "quote_target_us": 5.0,
                "decision_with_shaping_and_rounding_us": round(t_decision * 1e6, 3),
                "machine": machine(),
                "time": time.strftime("%H:%M:%S"),
            }
        )
    )


if __name__ == "__main__":
    main()
