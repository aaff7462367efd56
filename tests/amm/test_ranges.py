"""Range selection: the expected-economics model against an independent Monte Carlo, the
optimizer against a brute-force grid, and the limits that decide whether any range earns.

Fee model under test (ranges module docstring): while in range the position earns
fee_rate · volume · L/(L + L_pool); LVR accrues at σ²L√P/4.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.amm import optimal_range, range_economics, v3_liquidity_for_value

MARKET = dict(
    capital_quote=1e6,
    price=2200.0,
    t_yr=7 / 365,
    fee_rate=0.0005,
    volume_quote_per_yr=365 * 300e6,
    pool_liquidity=15e6,
)


def test_economics_against_monte_carlo() -> None:
    # Independent estimate: simulate GBM, integrate the fee and LVR rates along each path
    # (left-point sums over 400 steps); tolerance 4 standard errors plus the Riemann-sum bias
    # bound (rate scale · T/n).
    lo, hi, vol, t, mu = 2000.0, 2500.0, 0.9, 0.1, 0.3
    econ = range_economics(
        capital_quote=1e5,
        price=2200.0,
        price_lower=lo,
        price_upper=hi,
        vol=vol,
        t_yr=t,
        fee_rate=0.003,
        volume_quote_per_yr=1e9,
        pool_liquidity=2e5,
        drift=mu,
    )
    liq = v3_liquidity_for_value(value_quote=1e5, price=2200.0, price_lower=lo, price_upper=hi)
    np.testing.assert_allclose(econ.liquidity, liq, rtol=1e-14)
    share = liq / (liq + 2e5)
    np.testing.assert_allclose(econ.fee_share, share, rtol=1e-14)
    rng = np.random.default_rng(2024)
    n, paths = 400, 20_000
    dt = t / n
    p = np.full(paths, 2200.0)
    time_in = np.zeros(paths)
    lvr = np.zeros(paths)
    for _ in range(n):
        inside = (p >= lo) & (p <= hi)
        time_in += inside * dt
        lvr += inside * vol**2 * liq * np.sqrt(p) / 4 * dt
        p *= np.exp((mu - vol**2 / 2) * dt + vol * math.sqrt(dt) * rng.standard_normal(paths))
    fees = 0.003 * 1e9 * share * time_in
    for got, sample, rate_scale in [
        (econ.expected_fees_quote, fees, 0.003 * 1e9 * share),
        (econ.expected_lvr_quote, lvr, vol**2 * liq * math.sqrt(hi) / 4),
        (econ.expected_time_in_range_yr, time_in, 1.0),
    ]:
        se = sample.std(ddof=1) / math.sqrt(paths)
        assert abs(sample.mean() - got) <= 4 * se + rate_scale * t / n
    inside_end = ((p >= lo) & (p <= hi)).mean()
    se_end = math.sqrt(inside_end * (1 - inside_end) / paths)
    assert abs(inside_end - econ.prob_in_range_at_horizon) <= 4 * se_end
    np.testing.assert_allclose(
        econ.expected_net_quote, econ.expected_fees_quote - econ.expected_lvr_quote, rtol=1e-14
    )


def test_break_even_fee_rate_zeroes_the_net() -> None:
    kw = dict(MARKET, vol=0.6)
    econ = range_economics(price_lower=2000.0, price_upper=2400.0, **kw)  # type: ignore[arg-type]
    kw["fee_rate"] = float(econ.break_even_fee_rate)
    at_be = range_economics(price_lower=2000.0, price_upper=2400.0, **kw)  # type: ignore[arg-type]
    assert abs(at_be.expected_net_quote) <= 1e-9 * at_be.expected_lvr_quote


@pytest.mark.parametrize("symmetric", [False, True])
def test_optimum_beats_a_brute_force_grid(symmetric: bool) -> None:
    choice = optimal_range(vol=0.5, symmetric=symmetric, **MARKET)  # type: ignore[arg-type]
    assert not choice.at_width_bound
    widths = np.geomspace(1e-3, 5.0, 61)  # finer than the optimizer's 33-point grid
    a, b = (widths, widths) if symmetric else np.meshgrid(widths, widths, indexing="ij")
    grid = range_economics(
        price_lower=2200.0 * np.exp(-a), price_upper=2200.0 * np.exp(b), vol=0.5, **MARKET
    )
    best = float(np.max(grid.expected_net_quote))
    assert choice.economics.expected_net_quote >= best - 1e-9 * MARKET["capital_quote"]
    # A local maximum: 1% wider or narrower on either side is not better.
    for da, db in [(1.01, 1), (0.99, 1), (1, 1.01), (1, 0.99)]:
        if symmetric:
            db = da
        e = range_economics(
            price_lower=2200.0 * math.exp(-choice.log_width_lower * da),
            price_upper=2200.0 * math.exp(choice.log_width_upper * db),
            vol=0.5,
            **MARKET,
        )
        assert e.expected_net_quote <= choice.economics.expected_net_quote + 1e-9


def test_higher_volatility_widens_the_optimal_range() -> None:
    widths = [
        optimal_range(vol=v, symmetric=True, **MARKET).log_width_lower  # type: ignore[arg-type]
        for v in (0.2, 0.3, 0.4, 0.5)
    ]
    assert np.all(np.diff(widths) > 0), widths


def test_no_range_earns_when_the_pool_does_not() -> None:
    # Fees per unit of liquidity f·volume/L_pool below the LVR per unit σ²√P/4 at every price
    # a searched range can reach (down to P·e^-5): every range loses at every instant, and the
    # search stops at a width bound, flagged.
    kw = dict(MARKET, fee_rate=0.00005)
    c_fee = 0.00005 * MARKET["volume_quote_per_yr"] / MARKET["pool_liquidity"]
    assert c_fee < 0.8**2 * math.sqrt(2200.0 * math.exp(-5.0)) / 4
    choice = optimal_range(vol=0.8, **kw)  # type: ignore[arg-type]
    assert choice.economics.expected_net_quote < 0
    assert choice.at_width_bound


def test_fee_share_saturates_with_a_large_position() -> None:
    # With no other LP the position takes all fees; a narrow range then only adds LVR.
    solo = range_economics(
        price_lower=2100.0, price_upper=2300.0, vol=0.5, **dict(MARKET, pool_liquidity=0.0)
    )  # type: ignore[arg-type]
    assert solo.fee_share == 1.0
