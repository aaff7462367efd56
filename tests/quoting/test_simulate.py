"""Tests of the vectorised AS (2008) market-making simulator."""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import pytest

from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.quoting.as_model import AvellanedaStoikov, avellaneda_stoikov_depths
from invrisk.quoting.base import ModelState
from invrisk.quoting.glft import GueantClosedForm
from invrisk.quoting.simulate import (
    SimulationResult,
    gueant_closed_form_strategy,
    inventory_strategy,
    simulate,
    symmetric_strategy,
)


class Setting(TypedDict):
    s0: float
    sigma_per_sqrt_s: float
    A_per_s: float
    k_per_price: float
    horizon_s: float
    dt_s: float


# Avellaneda & Stoikov (2008), Sec. 3.3.
PAPER: Setting = {
    "s0": 100.0,
    "sigma_per_sqrt_s": 2.0,
    "A_per_s": 140.0,
    "k_per_price": 1.5,
    "horizon_s": 1.0,
    "dt_s": 0.005,
}
K = 1.5

# Std of profit and of final q, AS (2008) Tables 1-3 (1000 paths each), Quantitative Finance
# 8(3):217-224. Grade [C] in the REFERENCES.md sense: these numbers were written down from the
# published tables without a copy of the paper at hand in the session that added this test, so
# they are UNVERIFIED. Evidence they are right: 9 of the 12 cells (all six symmetric-strategy
# cells among them) agree with our simulation within 4 Monte Carlo standard errors. Check them
# against the paper before quoting them anywhere else.
PAPER_STD = {
    0.1: {"inventory": (5.89, 2.80), "symmetric": (13.43, 8.66)},
    0.01: {"inventory": (8.76, 4.70), "symmetric": (13.40, 8.65)},
    0.5: {"inventory": (4.72, 1.88), "symmetric": (14.53, 9.06)},
}
PAPER_N_PATHS = 1000
N_PATHS = 10_000

# Cells not reproduced under our reading (AS strategy = eqs. 29-30 in full, spread including
# γσ²(T−t); symmetric strategy = (2/γ) ln(1+γ/k), the paper's reported spread); z = (ours −
# paper) / combined MC standard error, 10,000 paths (seed 1; seed 2008 is similar):
#   γ=0.1  inventory std(profit): ours ≈ 6.6 vs 5.89 (z ≈ 4.4). With the spread read as the
#          reported (2/γ)ln(1+γ/k) around the reservation price it is ≈ 6.0 (reproduced), so the
#          paper's inventory strategy seems to quote that narrower spread.
#   γ=0.01 inventory std(q): ours ≈ 5.17 vs 4.70 (z ≈ 3.9) under both readings; unexplained.
#   γ=0.5  inventory std(profit) (z ≈ 9) and mean profit (48.5 vs 33.92): γσ²(T−t) is 2(T−t)
#          here, so the spread reading changes everything; the paper's 33.92 matches neither.
NOT_REPRODUCED = {(0.1, "inventory", 0), (0.01, "inventory", 1), (0.5, "inventory", 0)}


def _as_model(gamma: float) -> AvellanedaStoikov:
    return AvellanedaStoikov(sigma=2.0, gamma=gamma, k=K, t_end_ns=1_000_000_000)


def _paper_spread(gamma: float) -> float:
    return (2.0 / gamma) * math.log1p(gamma / K)


def _run_pair(gamma: float, seed: int = 2008) -> tuple[SimulationResult, SimulationResult]:
    inv = simulate(inventory_strategy(_as_model(gamma)), n_paths=N_PATHS, seed=seed, **PAPER)
    sym = simulate(symmetric_strategy(_paper_spread(gamma)), n_paths=N_PATHS, seed=seed, **PAPER)
    return inv, sym


def _se_of_std(x: Float64Array, n: int) -> float:
    """Standard error of a sample std from ``n`` draws of ``x``'s distribution (delta method,
    ``sd·sqrt((κ−1)/(4n))`` with κ the kurtosis estimated from ``x``)."""
    d = x - x.mean()
    m2 = float(np.mean(d**2))
    kurt = float(np.mean(d**4)) / m2**2
    return math.sqrt(m2) * math.sqrt((kurt - 1.0) / (4.0 * n))


# --- paper: qualitative result and table values -----------------------------------------------


@pytest.mark.parametrize("gamma", [0.1, 0.01])
def test_inventory_strategy_has_less_risk_than_symmetric(gamma: float) -> None:
    inv, sym = _run_pair(gamma)
    ti, ts = inv.table(), sym.table()
    assert ti["profit_std"] < 0.7 * ts["profit_std"]
    assert ti["q_std"] < 0.65 * ts["q_std"]
    # mean profits similar (paper: 62.94 vs 67.21, 66.78 vs 67.36)
    assert abs(ti["profit_mean"] - ts["profit_mean"]) < 0.1 * ts["profit_mean"]
    # the same comparison at the inventory strategy's own measured average spread
    sym_same = simulate(
        symmetric_strategy(ti["spread"]), n_paths=N_PATHS, seed=2008, **PAPER
    ).table()
    assert ti["profit_std"] < 0.7 * sym_same["profit_std"]
    assert ti["q_std"] < 0.65 * sym_same["q_std"]


@pytest.mark.parametrize("gamma", [0.1, 0.01, 0.5])
def test_std_against_paper_tables(gamma: float) -> None:
    inv, sym = _run_pair(gamma)
    for name, res in (("inventory", inv), ("symmetric", sym)):
        for j, arr in enumerate((res.profit, res.final_q)):
            if (gamma, name, j) in NOT_REPRODUCED:
                continue
            ours = float(np.std(arr, ddof=1))
            se = math.hypot(_se_of_std(arr, N_PATHS), _se_of_std(arr, PAPER_N_PATHS))
            assert abs(ours - PAPER_STD[gamma][name][j]) < 4.0 * se, (gamma, name, j, ours)


@pytest.mark.parametrize("gamma", [0.1, 0.01, 0.5])
def test_symmetric_spread_equals_reported_spread(gamma: float) -> None:
    # paper: 1.29, 1.33, 1.15
    res = simulate(symmetric_strategy(_paper_spread(gamma)), n_paths=10, seed=0, **PAPER)
    expected = {0.1: 1.29, 0.01: 1.33, 0.5: 1.15}[gamma]
    assert res.table()["spread"] == pytest.approx(expected, abs=0.005)


def test_inventory_spread_reading() -> None:
    # eq. 30 averaged over the grid: (2/γ)ln(1+γ/k) + γσ² · mean(T − t_i)
    res = simulate(inventory_strategy(_as_model(0.1)), n_paths=5, seed=0, **PAPER)
    mean_tau = np.mean(1.0 - 0.005 * np.arange(200))
    np.testing.assert_allclose(res.avg_spread, _paper_spread(0.1) + 0.1 * 4.0 * mean_tau, 1e-12)


# --- cross-implementation: naive per-path loop (no shared code) -------------------------------


def _naive(gamma: float, n_paths: int, seed: int) -> tuple[list[float], list[float], list[float]]:
    rng = np.random.default_rng(seed)
    n_steps = 200
    blocks = [rng.random((3, n_paths)) for _ in range(n_steps)]
    step = 2.0 * math.sqrt(0.005)
    profits, qs, spreads = [], [], []
    for p in range(n_paths):
        s, q, x, tot = 100.0, 0.0, 0.0, 0.0
        for i in range(n_steps):
            tau = 1.0 - i * 0.005
            r = s - q * gamma * 4.0 * tau
            spread = gamma * 4.0 * tau + (2.0 / gamma) * math.log(1.0 + gamma / K)
            bid, ask = r - spread / 2.0, r + spread / 2.0
            tot += ask - bid
            u = blocks[i][:, p]
            if u[0] < 140.0 * math.exp(-K * (s - bid)) * 0.005:
                q, x = q + 1.0, x - bid
            if u[1] < 140.0 * math.exp(-K * (ask - s)) * 0.005:
                q, x = q - 1.0, x + ask
            s += step if u[2] < 0.5 else -step
        profits.append(x + q * s)
        qs.append(q)
        spreads.append(tot / n_steps)
    return profits, qs, spreads


def test_matches_naive_per_path_loop() -> None:
    res = simulate(inventory_strategy(_as_model(0.1)), n_paths=40, seed=11, **PAPER)
    profit, q, spread = _naive(0.1, 40, 11)
    np.testing.assert_array_equal(res.final_q, q)
    np.testing.assert_allclose(res.profit, profit, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res.avg_spread, spread, rtol=1e-12)


# --- determinism ------------------------------------------------------------------------------


def test_deterministic_for_a_seed() -> None:
    fn = inventory_strategy(_as_model(0.1))
    a = simulate(fn, n_paths=200, seed=5, **PAPER)
    b = simulate(fn, n_paths=200, seed=5, **PAPER)
    c = simulate(fn, n_paths=200, seed=6, **PAPER)
    np.testing.assert_array_equal(a.profit, b.profit)
    np.testing.assert_array_equal(a.final_q, b.final_q)
    assert not np.array_equal(a.profit, c.profit)


def test_gaussian_mid_is_deterministic_and_plausible() -> None:
    fn = symmetric_strategy(_paper_spread(0.1))
    a = simulate(fn, n_paths=2000, seed=3, mid_process="gaussian", **PAPER)
    b = simulate(fn, n_paths=2000, seed=3, mid_process="gaussian", **PAPER)
    np.testing.assert_array_equal(a.profit, b.profit)
    assert 60.0 < a.table()["profit_mean"] < 75.0


# --- limiting cases and adapters --------------------------------------------------------------


def test_zero_volatility_and_unquoted_sides() -> None:
    # σ = 0: the mid never moves; a strategy that never quotes never trades.
    def never(
        q: Float64Array, tau_s: float, mid: Float64Array
    ) -> tuple[Float64Array, Float64Array]:
        nan = np.full(q.shape, np.nan)
        return nan, nan

    flat = PAPER.copy()
    flat["sigma_per_sqrt_s"] = 0.0
    res = simulate(never, n_paths=7, seed=0, **flat)
    np.testing.assert_array_equal(res.profit, 0.0)
    np.testing.assert_array_equal(res.final_q, 0.0)
    assert np.all(np.isnan(res.avg_spread))


def test_as_adapter_matches_scalar_formula() -> None:
    fn = inventory_strategy(_as_model(0.1))
    q = np.array([-3.0, 0.0, 2.0])
    bid, ask = fn(q, 0.4, np.full(3, 100.0))
    for i, qi in enumerate(q):
        b, a = avellaneda_stoikov_depths(q=qi, tau_s=0.4, sigma=2.0, gamma=0.1, k=K)
        assert bid[i] == pytest.approx(b, rel=1e-13)
        assert ask[i] == pytest.approx(a, rel=1e-13)


def test_glft_adapters_match_model_and_withdraw_at_bound() -> None:
    kw = {"sigma": 2.0, "gamma": 0.1, "A": 140.0, "k": K}
    model = GueantClosedForm(q_max=3.0, **kw)
    q = np.arange(-3.0, 4.0)
    for fn in (inventory_strategy(model), gueant_closed_form_strategy(q_max=3.0, **kw)):
        bid, ask = fn(q, 1.0, np.full(q.size, 100.0))
        for i, qi in enumerate(q):
            ref = model.quotes(q=qi, t_ns=0, state=ModelState(mid=100.0))
            np.testing.assert_allclose([bid[i], ask[i]], [ref.bid_depth, ref.ask_depth], 1e-12)
        assert np.isnan(bid[-1]) and np.isnan(ask[0])
    res = simulate(inventory_strategy(model), n_paths=500, seed=1, **PAPER)
    assert np.max(np.abs(res.final_q)) <= 3.0


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "argument"),
    [
        ({"n_paths": 0}, "n_paths"),
        ({"n_paths": 2.5}, "n_paths"),
        ({"seed": -1}, "seed"),
        ({"seed": None}, "seed"),
        ({"s0": math.nan}, "s0"),
        ({"sigma_per_sqrt_s": -1.0}, "sigma_per_sqrt_s"),
        ({"A_per_s": 0.0}, "A_per_s"),
        ({"k_per_price": -1.5}, "k_per_price"),
        ({"horizon_s": 0.0}, "horizon_s"),
        ({"dt_s": 0.0}, "dt_s"),
        ({"dt_s": 0.3}, "dt_s"),
        ({"mid_process": "levy"}, "mid_process"),
    ],
)
def test_bad_input_names_the_argument(override: dict[str, object], argument: str) -> None:
    kwargs: dict[str, object] = {**PAPER, "n_paths": 10, "seed": 0, **override}
    with pytest.raises(InvalidArgumentError) as info:
        simulate(symmetric_strategy(1.0), **kwargs)  # type: ignore[arg-type]
    assert info.value.argument == argument


def test_bad_depth_function_output() -> None:
    def wrong(
        q: Float64Array, tau_s: float, mid: Float64Array
    ) -> tuple[Float64Array, Float64Array]:
        return np.zeros(1), np.zeros(1)

    with pytest.raises(InvalidArgumentError) as info:
        simulate(wrong, n_paths=3, seed=0, **PAPER)
    assert info.value.argument == "depths"


def test_bad_strategy_arguments() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        symmetric_strategy(math.inf)
    assert info.value.argument == "spread"
    with pytest.raises(InvalidArgumentError) as info:
        inventory_strategy(object())
    assert info.value.argument == "model"
    model = GueantClosedForm(sigma=2.0, gamma=0.1, A=140.0, k=K, q_max=3.0, trade_qty=2.0)
    with pytest.raises(InvalidArgumentError) as info:
        inventory_strategy(model)
    assert info.value.argument == "trade_qty"
