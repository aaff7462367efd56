"""The hedge optimizer against brute-force search on small problems, limits after hedging,
and the infeasibility report."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.hedging.optimizer import (
    HedgeCandidate,
    HedgeInfeasibleError,
    optimize_hedge,
)
from invrisk.risk.var import var_es

PERP = HedgeCandidate(
    "BTC-PERP", bid=59_999.5, ask=60_000.5, exposure={"delta": 1.0}, lot=0.01, fee_rate=5e-4
)
CALL = HedgeCandidate(
    "C70", bid=2_950.0, ask=3_050.0, exposure={"delta": 0.5, "vega": 80.0}, lot=0.1, max_qty=30
)
PUT = HedgeCandidate(
    "P50", bid=2_900.0, ask=3_000.0, exposure={"delta": -0.45, "vega": 75.0}, lot=0.1, max_qty=30
)
BOOK = {"delta": 3.2, "vega": -1_500.0}


def cost_of(cands: list[HedgeCandidate], q: np.ndarray) -> float:
    return sum(
        (c.ask - c.mid + c.fee_rate * c.mid) * max(x, 0.0)
        + (c.mid - c.bid + c.fee_rate * c.mid) * max(-x, 0.0)
        for c, x in zip(cands, q, strict=True)
    )


def lot_grid(c: HedgeCandidate, lo: float, hi: float) -> np.ndarray:
    return np.arange(math.ceil(lo / c.lot), math.floor(hi / c.lot) + 1) * c.lot


def test_cheapest_hedge_matches_brute_force() -> None:
    """Delta within ±0.1 and vega within ±200 with the two options (lots of 0.1): the search
    over every lot pair in [0, 30]² finds the cheapest feasible pair; the optimizer's plan
    costs the same (its rounding may pick another pair of equal cost)."""
    cands = [CALL, PUT]
    limits = {"delta": (-0.1, 0.1), "vega": (-200.0, 200.0)}
    plan = optimize_hedge(exposure=BOOK, candidates=cands, limits=limits)
    best = math.inf
    for qc, qp in itertools.product(lot_grid(CALL, 0, 30), lot_grid(PUT, 0, 30)):
        d = 3.2 + 0.5 * qc - 0.45 * qp
        v = -1_500 + 80 * qc + 75 * qp
        if abs(d) <= 0.1 + 1e-9 and abs(v) <= 200 + 1e-9:
            best = min(best, cost_of(cands, np.array([qc, qp])))
    assert plan.cost == pytest.approx(best, abs=1e-6)
    assert plan.continuous_cost <= plan.cost + 1e-6  # rounding can only cost more
    for k, (lo, hi) in limits.items():
        assert lo - 1e-9 <= plan.exposure_after[k] <= hi + 1e-9


def test_es_objective_matches_brute_force() -> None:
    """A short-vol book and two hedges on 60 scenarios: minimise ES_0.9 of the hedged P&L plus
    the cost. Brute force over the lot grid (perp in [-5, 5] by 0.01 is too fine: lots of 0.5
    here) finds the same objective value within the rounding of one lot."""
    rng = np.random.default_rng(3)
    moves = rng.normal(0, 0.05, 60)
    book_pnl = -200_000 * moves**2 + 20_000 * moves  # short gamma, long delta
    perp = HedgeCandidate(
        "PERP",
        bid=99.9,
        ask=100.1,
        exposure={},
        lot=0.5,
        max_qty=5_000,
        scenario_pnl=100.0 * moves * 1.0,
    )
    straddle = HedgeCandidate(
        "STRADDLE",
        bid=990.0,
        ask=1_010.0,
        exposure={},
        lot=0.5,
        max_qty=100,
        scenario_pnl=5_000.0 * moves**2 * 100 - 1_000.0 + 1_000.0,
    )
    cands = [perp, straddle]
    plan = optimize_hedge(
        exposure={}, candidates=cands, objective="es", scenario_pnl=book_pnl, es_level=0.9
    )

    def objective(q: np.ndarray) -> float:
        pnl = book_pnl + q[0] * perp.scenario_pnl + q[1] * straddle.scenario_pnl  # type: ignore[operator]
        return cost_of(cands, q) + var_es(pnl, level=0.9).es

    grid = itertools.product(np.arange(-400, 401) * 0.5, np.arange(0, 201) * 0.5)
    brute = min(objective(np.array(q)) for q in grid)
    got = objective(np.array([dict(plan.trades).get(c.name, 0.0) for c in cands]))
    assert got == pytest.approx(plan.cost + plan.risk_after, rel=1e-9)
    assert got <= brute + 0.01 * abs(brute) + 100.0  # one lot of either hedge moves it ~<100


def test_greeks_objective_trades_cost_against_residual() -> None:
    """Weighted squared delta: with a tiny weight nothing is worth trading; with a large one the
    residual delta is close to zero (within half a perp lot)."""
    cheap = optimize_hedge(
        exposure={"delta": 0.3}, candidates=[PERP], objective="greeks", weights={"delta": 1e-3}
    )
    assert cheap.trades == () and cheap.cost == 0.0
    tight = optimize_hedge(
        exposure={"delta": 0.3}, candidates=[PERP], objective="greeks", weights={"delta": 1e6}
    )
    assert abs(tight.exposure_after["delta"]) <= PERP.lot / 2 + 1e-12
    assert tight.risk_after < tight.risk_before


@pytest.mark.parametrize("seed", range(25))
def test_random_problems_end_inside_every_feasible_limit(seed: int) -> None:
    """Random books and three candidates: when a plan is returned every limit, cap and the
    budget hold after lot rounding; when infeasibility is reported, a brute-force search over
    the lot grid confirms that no trade meets the limits."""
    rng = np.random.default_rng(seed)
    cands = [
        HedgeCandidate(
            f"h{i}",
            bid=100.0,
            ask=100.0 + rng.uniform(0.1, 2.0),
            exposure={"a": float(rng.normal()), "b": float(rng.normal())},
            lot=1.0,
            max_qty=6.0,
        )
        for i in range(3)
    ]
    book = {"a": float(rng.normal(0, 4)), "b": float(rng.normal(0, 4))}
    limits = {"a": (-0.5, 0.5), "b": (-1.0, 1.0)}

    def ok(q: np.ndarray) -> bool:
        a = book["a"] + sum(c.exposure["a"] * x for c, x in zip(cands, q, strict=True))
        b = book["b"] + sum(c.exposure["b"] * x for c, x in zip(cands, q, strict=True))
        return abs(a) <= 0.5 + 1e-7 and abs(b) <= 1.0 + 1e-7

    grid = [np.array(q) for q in itertools.product(range(-6, 7), repeat=3)]
    feasible = [q for q in grid if ok(q)]
    try:
        plan = optimize_hedge(exposure=book, candidates=cands, limits=limits)
    except HedgeInfeasibleError as exc:
        assert not feasible, exc
        return
    q = np.array([dict(plan.trades).get(c.name, 0.0) for c in cands])
    assert ok(q) and np.all(np.abs(q) <= 6.0) and np.all(q == np.round(q))
    assert plan.cost <= min(cost_of(cands, f) for f in feasible) * 1.5 + 2.0


def test_infeasible_report_names_the_limit() -> None:
    """Only the perpetual (no vega) cannot bring vega inside ±200: the report says vega misses
    by 1,300, and delta (which the perpetual can fix) is not blamed."""
    with pytest.raises(HedgeInfeasibleError) as info:
        optimize_hedge(
            exposure=BOOK, candidates=[PERP], limits={"delta": (-0.1, 0.1), "vega": (-200, 200)}
        )
    assert set(info.value.violations) == {"vega"}
    assert info.value.violations["vega"] == pytest.approx(1_300.0, rel=1e-6)
    assert "vega by 1300" in str(info.value)
    # a budget too small to fix delta: delta is blamed
    with pytest.raises(HedgeInfeasibleError) as info:
        optimize_hedge(
            exposure={"delta": 3.2}, candidates=[PERP], limits={"delta": (-0.1, 0.1)}, budget=1.0
        )
    assert set(info.value.violations) == {"delta"}


def test_bad_input() -> None:
    with pytest.raises(InvalidArgumentError, match="bid/ask"):
        HedgeCandidate("x", bid=2.0, ask=1.0, exposure={})
    with pytest.raises(InvalidArgumentError, match="lot"):
        HedgeCandidate("x", bid=1.0, ask=2.0, exposure={}, lot=0.0)
    for kw, name in (
        ({"candidates": []}, "candidates"),
        ({"candidates": [PERP, PERP]}, "candidates"),
        ({"objective": "sharpe"}, "objective"),
        ({"limits": {"gamma": (-1.0, 1.0)}}, "exposure"),
        ({"limits": {"delta": (1.0, -1.0)}}, "limits"),
        ({"objective": "greeks"}, "weights"),
        ({"objective": "es"}, "scenario_pnl"),
        ({"budget": 0.0}, "budget"),
    ):
        args = {"exposure": BOOK, "candidates": [PERP], **kw}
        with pytest.raises(InvalidArgumentError, match=name):
            optimize_hedge(**args)  # type: ignore[arg-type]


def test_solver_output_does_not_reach_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    """The integer step (HiGHS) prints a banner below Python; it must not reach stdout, where
    it would corrupt the CLI's --json output."""
    optimize_hedge(exposure=BOOK, candidates=[CALL, PUT], limits={"vega": (-200.0, 200.0)})
    out, _ = capfd.readouterr()
    assert out == ""
