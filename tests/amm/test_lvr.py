"""LVR: the constant-product rate σ²V/8 and the paper's example, the general rate from gamma,
expectations against independent quadrature, and a Monte Carlo of an LP against the
rebalancing portfolio whose realized LVR converges to the rate.

References: Milionis, Moallemi, Roughgarden & Zhang (2022), arXiv:2208.06046 — ℓ = (σ²P²/2)
|x*'(P)|; constant product ℓ = σ²V/8; "5% daily volatility -> 3.125 bp of pool value per day"
(REFERENCES.md grade B).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.stats import norm

from invrisk.amm import (
    V2Position,
    V3Position,
    break_even_fee_apr,
    break_even_fee_rate,
    expected_lvr,
    expected_time_in_range,
    lvr_rate,
    lvr_rate_constant_product,
    lvr_rate_from_gamma,
    prob_in_range,
    simulate_lvr,
    v2_value,
    v3_greeks,
)

SOME = settings(max_examples=150, deadline=None)


def test_paper_example_five_percent_daily_vol() -> None:
    # 5% daily -> σ²/8 = 0.0025/8 = 3.125e-4 of pool value per day.
    per_day = lvr_rate_constant_product(value_quote=1.0, vol=0.05 * math.sqrt(365)) / 365
    assert per_day == pytest.approx(3.125e-4, rel=1e-14)


@SOME
@given(
    liq=st.floats(min_value=1e-3, max_value=1e9),
    p=st.floats(min_value=1e-4, max_value=1e7),
    vol=st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=5.0)),  # no subnormal σ²
)
def test_full_range_rate_is_sigma_squared_over_eight_of_value(
    liq: float, p: float, vol: float
) -> None:
    v = v2_value(liquidity=liq, price=p)
    general = lvr_rate(liquidity=liq, price=p, price_lower=0.0, price_upper=math.inf, vol=vol)
    np.testing.assert_allclose(
        general, lvr_rate_constant_product(value_quote=v, vol=vol), rtol=1e-14, atol=0.0
    )
    np.testing.assert_allclose(
        break_even_fee_apr(price=p, price_lower=0.0, price_upper=math.inf, vol=vol),
        vol * vol / 8,
        rtol=1e-14,
        atol=0.0,
    )


@SOME
@given(
    liq=st.floats(min_value=1e-3, max_value=1e9),
    lo=st.floats(min_value=1e-2, max_value=1e5),
    ratio=st.floats(min_value=1.001, max_value=100.0),
    u=st.floats(min_value=-0.5, max_value=1.5),
    vol=st.floats(min_value=0.01, max_value=3.0),
)
def test_rate_equals_the_general_formula_with_the_position_gamma(
    liq: float, lo: float, ratio: float, u: float, vol: float
) -> None:
    hi = lo * ratio
    p = lo * ratio**u
    g = v3_greeks(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    from_gamma = lvr_rate_from_gamma(vol=vol, price=p, gamma_qty_per_quote=g.gamma_qty_per_quote)
    rate = lvr_rate(liquidity=liq, price=p, price_lower=lo, price_upper=hi, vol=vol)
    np.testing.assert_allclose(rate, from_gamma, rtol=1e-14, atol=0.0)
    # By hand: σ²L√P/4 in range, 0 outside.
    expected = vol * vol * liq * math.sqrt(p) / 4 if lo <= p <= hi else 0.0
    np.testing.assert_allclose(rate, expected, rtol=1e-14, atol=0.0)


def test_concentration_raises_lvr_per_unit_value() -> None:
    # In [3000, 5000] at 4000 the position is 2L√P/V = 16.7 times more LVR per dollar than v2.
    pos = V3Position(500.0, 3000.0, 5000.0)
    apr = break_even_fee_apr(price=4000.0, price_lower=3000.0, price_upper=5000.0, vol=0.8)
    concentration = 2 * 500.0 * math.sqrt(4000.0) / pos.value(4000.0)
    np.testing.assert_allclose(apr, 0.64 / 8 * concentration, rtol=1e-14)
    assert break_even_fee_apr(price=6000.0, price_lower=3000.0, price_upper=5000.0, vol=0.8) == 0


def test_break_even_fee_rate_whole_v2_pool() -> None:
    # f* = σ²·TVL/(8·volume): TVL 100M, σ = 60%, 50M a day -> 2.466 bp.
    tvl, vol, volume = 100e6, 0.6, 365 * 50e6
    f = break_even_fee_rate(
        lvr_quote_per_yr=lvr_rate_constant_product(value_quote=tvl, vol=vol),
        volume_quote_per_yr=volume,
    )
    np.testing.assert_allclose(f, 0.36 * 100e6 / (8 * 365 * 50e6), rtol=1e-14)


def _quad_expected_lvr(
    liq: float, p0: float, lo: float, hi: float, vol: float, t: float, mu: float
) -> float:
    """E∫ℓ dt by nested scipy quadrature over the lognormal density (no code shared)."""

    def at(s: float) -> float:
        if s == 0.0:
            return vol * vol * liq * math.sqrt(p0) / 4 if lo <= p0 <= hi else 0.0
        m = math.log(p0) + (mu - vol * vol / 2) * s
        sd = vol * math.sqrt(s)
        a = max(math.log(lo) if lo > 0 else -math.inf, m - 12 * sd)
        b = min(math.log(hi), m + 12 * sd)
        if a >= b:
            return 0.0
        c = 1 / (sd * math.sqrt(2 * math.pi))
        inner = quad(lambda z: math.exp(z / 2 - 0.5 * ((z - m) / sd) ** 2) * c, a, b, limit=200)[0]
        return vol * vol * liq / 4 * inner

    return quad(
        at, 0.0, t, limit=400, epsabs=0.0, epsrel=1e-11, points=[t * 1e-6, t * 1e-4, t * 1e-2]
    )[0]


@pytest.mark.parametrize(
    ("lo", "hi", "vol", "t", "mu"),
    [
        (3000.0, 5000.0, 0.8, 1.0, 0.0),
        (3990.0, 4010.0, 0.8, 2.0, 0.1),  # narrow range, long horizon
        (4100.0, 6000.0, 1.0, 0.5, -0.2),  # range above the price
        (3999.9, 4000.1, 1.5, 5.0, 0.0),  # very narrow
    ],
)
def test_expected_lvr_against_scipy_quad(
    lo: float, hi: float, vol: float, t: float, mu: float
) -> None:
    ref = _quad_expected_lvr(500.0, 4000.0, lo, hi, vol, t, mu)
    got = expected_lvr(
        liquidity=500.0, price=4000.0, price_lower=lo, price_upper=hi, vol=vol, t_yr=t, drift=mu
    )
    np.testing.assert_allclose(got, ref, rtol=1e-9)


@pytest.mark.parametrize("t", [1 / 365, 0.25, 1.0, 10.0])
def test_expected_lvr_full_range_closed_form(t: float) -> None:
    # Zero drift: E[V_T] = 2L E[√P_T] = V0 e^{-σ²T/8}, so E[LVR_T] = V0 (1 - e^{-σ²T/8}).
    v0 = 2 * 10.0 * math.sqrt(2000.0)
    got = expected_lvr(
        liquidity=10.0, price=2000.0, price_lower=0.0, price_upper=math.inf, vol=0.9, t_yr=t
    )
    np.testing.assert_allclose(got, v0 * -math.expm1(-0.81 * t / 8), rtol=1e-12)


def test_prob_and_time_in_range_by_hand() -> None:
    # Zero drift: ln P_T ~ N(ln P0 - σ²T/2, σ²T).
    p0, lo, hi, vol, t = 100.0, 90.0, 120.0, 0.6, 0.5
    m, sd = math.log(p0) - 0.18 * t, 0.6 * math.sqrt(t)
    expected = norm.cdf((math.log(hi) - m) / sd) - norm.cdf((math.log(lo) - m) / sd)
    got = prob_in_range(price=p0, price_lower=lo, price_upper=hi, vol=vol, t_yr=t)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    ref_time = quad(
        lambda s: prob_in_range(price=p0, price_lower=lo, price_upper=hi, vol=vol, t_yr=s),
        0.0,
        t,
        epsrel=1e-12,
        limit=200,
    )[0]
    got_time = expected_time_in_range(price=p0, price_lower=lo, price_upper=hi, vol=vol, t_yr=t)
    np.testing.assert_allclose(got_time, ref_time, rtol=1e-10)
    # Degenerate branches: no time, no volatility.
    assert (
        expected_time_in_range(price=p0, price_lower=lo, price_upper=hi, vol=vol, t_yr=0.0) == 0.0
    )
    assert prob_in_range(price=p0, price_lower=lo, price_upper=hi, vol=0.0, t_yr=t) == 1.0
    # Zero vol, drift 100%/yr: P_t = 100 e^t leaves [90, 120] at t = ln 1.2.
    np.testing.assert_allclose(
        expected_time_in_range(
            price=p0, price_lower=lo, price_upper=hi, vol=0.0, t_yr=1.0, drift=1.0
        ),
        math.log(1.2),
        rtol=1e-14,  # ln 120 - ln 100 against ln 1.2
    )
    assert expected_time_in_range(
        price=p0, price_lower=lo, price_upper=hi, vol=0.0, t_yr=1.0, drift=-1.0
    ) == pytest.approx(math.log(100 / 90), rel=1e-14)


def test_simulated_mean_lvr_matches_the_expectation() -> None:
    # Zero drift: E[realized] = V0 - E[V_T] = expected_lvr exactly for any step count (the
    # rebalancing P&L is a martingale). Tolerance 4 Monte Carlo standard errors.
    for lo, hi in [(0.0, math.inf), (3000.0, 5000.0)]:
        sim = simulate_lvr(
            liquidity=500.0,
            price=4000.0,
            price_lower=lo,
            price_upper=hi,
            vol=0.8,
            t_yr=0.25,
            n_steps=64,
            n_paths=4000,
            seed=7,
        )
        assert abs(sim.mean_realized_lvr_quote - sim.expected_lvr_quote) <= 4 * sim.std_error_quote
        assert sim.std_error_quote < 0.02 * sim.expected_lvr_quote  # the test has power
        # Step by step the LP never beats the rebalancing portfolio (V concave).
        assert np.all(sim.realized_lvr_quote >= -1e-9 * sim.expected_lvr_quote)
        np.testing.assert_allclose(
            sim.realized_lvr_quote, sim.rebalancing_pnl_quote - sim.lp_pnl_quote, rtol=0, atol=0
        )


@pytest.mark.parametrize("n_steps", [256, 4096])
def test_realized_lvr_converges_pathwise_to_the_rate(n_steps: int) -> None:
    # Full range: realized per step = L(Δ√P)²/√P_k, predicted σ²L√P_k Δt/4. Their difference is
    # (L√P σ²/4)(ΔW² - Δt) to leading order, so the relative error of a path has standard
    # deviation √(2/n). The RMS over 300 paths estimates it to about ±6% (4 standard errors
    # of an RMS of 300 near-normal draws: 4/√600 = 16%; we allow 20%).
    sim = simulate_lvr(
        liquidity=500.0,
        price=4000.0,
        price_lower=0.0,
        price_upper=math.inf,
        vol=0.8,
        t_yr=0.25,
        n_steps=n_steps,
        n_paths=300,
        seed=11,
    )
    rel = sim.realized_lvr_quote / sim.predicted_lvr_quote - 1
    rms = float(np.sqrt(np.mean(rel**2)))
    assert 0.8 * math.sqrt(2 / n_steps) <= rms <= 1.2 * math.sqrt(2 / n_steps)


def test_realized_lvr_converges_in_a_range() -> None:
    # A v3 range: the relative error shrinks as √(1/n) too (crossings add to the constant).
    errors = []
    for n in (64, 1024):
        sim = simulate_lvr(
            liquidity=500.0,
            price=4000.0,
            price_lower=3000.0,
            price_upper=5000.0,
            vol=0.8,
            t_yr=0.25,
            n_steps=n,
            n_paths=400,
            seed=3,
        )
        inside = sim.predicted_lvr_quote > 0.1 * sim.expected_lvr_quote
        diff = sim.realized_lvr_quote[inside] - sim.predicted_lvr_quote[inside]
        errors.append(float(np.sqrt(np.mean((diff / sim.predicted_lvr_quote[inside]) ** 2))))
    # 16 times more steps: 4 times smaller error (allow 3 to 5.5).
    assert 3.0 <= errors[0] / errors[1] <= 5.5


def test_simulation_is_deterministic_per_seed() -> None:
    kw = dict(
        liquidity=1.0,
        price=1.0,
        price_lower=0.5,
        price_upper=2.0,
        vol=1.0,
        t_yr=0.1,
        n_steps=16,
        n_paths=50,
    )
    a = simulate_lvr(seed=5, **kw)  # type: ignore[arg-type]
    b = simulate_lvr(seed=5, **kw)  # type: ignore[arg-type]
    c = simulate_lvr(seed=6, **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(a.realized_lvr_quote, b.realized_lvr_quote)
    assert not np.array_equal(a.realized_lvr_quote, c.realized_lvr_quote)


def test_v2_position_lvr_via_as_v3() -> None:
    pos = V2Position(42.0)
    v3 = pos.as_v3()
    rate = lvr_rate(
        liquidity=v3.liquidity,
        price=9.0,
        price_lower=v3.price_lower,
        price_upper=v3.price_upper,
        vol=0.5,
    )
    np.testing.assert_allclose(rate, 0.25 * pos.value(9.0) / 8, rtol=1e-15)
