"""Backtest of a Uniswap v3 LP position, hedged and unhedged, on the real hourly pool data.

Data: ``uniswap_v3_usdc_weth_0p05_poolhourdata_2023-11_2024-01_definer`` (The Graph's
poolHourDatas of the USDC/WETH 0.05% pool, 1,000 hours 2023-11-27 20:00 .. 2024-01-08 11:00
UTC, ETH 1996 -> 2223 USDC; see its PROVENANCE.txt). Reference formulas: Uniswap v3
whitepaper eq. 6.29-6.30 (amounts) and §6.3 (fee growth); Milionis et al. (2022,
arXiv:2208.06046) for LVR (ℓ = σ²V/8 for constant product).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from invrisk.amm import (
    USDC_WETH_005,
    PoolHistory,
    fees_from_fee_growth,
    v3_impermanent_loss,
    v3_liquidity_for_value,
    v3_value,
)
from invrisk.data import read_uniswap_pool_hours
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.hedging.lp_backtest import backtest_lp, parse_hedge
from invrisk.units import NS_PER_HOUR, NS_PER_YEAR
from tests.conftest import require_data

POOL_DIR = "uniswap_v3_usdc_weth_0p05_poolhourdata_2023-11_2024-01_definer"
POOL_CSV = POOL_DIR + "/uniswap_v3_usdc_eth_0x88e6_poolHourDatas_2023-11-27_2024-01-08.csv"
WIDE = (1800.0, 2600.0)  # holds every close of the file (1995.85 .. 2433.08)
NARROW = (2200.0, 2300.0)  # in and out of range


@pytest.fixture(scope="module")
def history() -> PoolHistory:
    return read_uniswap_pool_hours(require_data(POOL_DIR))


def _liquidity(history: PoolHistory, lo: float, hi: float, capital: float = 1e6) -> float:
    return float(
        v3_liquidity_for_value(
            value_quote=capital, price=float(history.close[0]), price_lower=lo, price_upper=hi
        )
    )


def test_reader_matches_the_provenance(history: PoolHistory) -> None:
    assert len(history) == 1000
    assert np.all(np.diff(history.time_ns) == NS_PER_HOUR)  # ascending, no gap
    assert history.close.min() == pytest.approx(1995.85, abs=0.01)
    assert history.close.max() == pytest.approx(2433.08, abs=0.01)
    assert history.close[-1] == pytest.approx(2223.3277, abs=1e-4)  # first row of the file
    # raw liquidity 4.142e18 .. 5.871e20 (PROVENANCE) / 10^12
    assert history.liquidity.min() == pytest.approx(4.142e6, rel=1e-3)
    assert history.liquidity.max() == pytest.approx(5.871e8, rel=1e-3)


def test_hedged_variance_is_far_below_unhedged(history: PoolHistory) -> None:
    liq = _liquidity(history, *WIDE)
    none = backtest_lp(history, price_lower=WIDE[0], price_upper=WIDE[1], liquidity=liq)
    delta = backtest_lp(
        history, price_lower=WIDE[0], price_upper=WIDE[1], liquidity=liq, hedge="delta", cost_bps=5
    )
    band = backtest_lp(
        history, price_lower=WIDE[0], price_upper=WIDE[1], liquidity=liq, hedge=0.05, cost_bps=5
    )
    s_none = none.summary.std_period_pnl_hedged_quote
    assert s_none == pytest.approx(none.summary.std_period_pnl_unhedged_quote, rel=1e-15)
    # measured: hourly std 2292 USDC unhedged, 120 hedged every hour (variance ratio 0.003),
    # 182 on a 5% band (0.006) with 59 trades instead of 1000
    assert (delta.summary.std_period_pnl_hedged_quote / s_none) ** 2 < 0.01
    assert (band.summary.std_period_pnl_hedged_quote / s_none) ** 2 < 0.02
    assert delta.summary.hedge_trades == 1000  # entry and every close
    assert 10 < band.summary.hedge_trades < 200
    assert band.summary.costs_quote < delta.summary.costs_quote
    # the unhedged P&L is the same LP in all three
    np.testing.assert_allclose(delta.unhedged_pnl_quote, none.total_pnl_quote, rtol=1e-12)
    # hedged every hour, the hedge holds -x(P): the net delta after each close is zero
    np.testing.assert_allclose(delta.hedge_qty, -delta.risky_qty, rtol=1e-15)


@pytest.mark.parametrize("hedge", ["none", "delta", 0.03])
def test_accounting_identity_every_hour(history: PoolHistory, hedge: object) -> None:
    """The ledger total (cash, perpetual at its average entry, LP value) equals LP value change
    + fees + hedge P&L + funding - costs at every hour."""
    liq = _liquidity(history, *NARROW)
    r = backtest_lp(
        history,
        price_lower=NARROW[0],
        price_upper=NARROW[1],
        liquidity=liq,
        hedge=hedge,  # type: ignore[arg-type]
        cost_bps=7.5,
        funding_rate_per_yr=0.12,
    )
    parts = (
        (r.lp_value_quote - r.lp_value_quote[0])
        + np.cumsum(r.fees_quote)
        + np.cumsum(r.hedge_pnl_quote)
        + np.cumsum(r.funding_quote)
        - np.cumsum(r.cost_quote)
    )
    np.testing.assert_allclose(r.total_pnl_quote, parts, rtol=0.0, atol=1e-8 * 1e6)
    s = r.summary
    assert s.total_pnl_quote == pytest.approx(
        s.lp_price_pnl_quote + s.fees_quote + s.hedge_pnl_quote + s.funding_quote - s.costs_quote,
        abs=1e-6,
    )
    assert s.lp_price_pnl_quote == pytest.approx(
        s.hold_pnl_quote + s.impermanent_loss_quote, abs=1e-6
    )
    # flows by hand: hedge P&L h_{t-1}(P_t - P_{t-1}); funding -h P r dt; costs 7.5 bp
    h, p = r.hedge_qty, r.price
    np.testing.assert_allclose(r.hedge_pnl_quote[1:], h[:-1] * np.diff(p), rtol=1e-14)
    dt = 1.0 / (365 * 24)
    np.testing.assert_allclose(r.funding_quote[1:], -h[:-1] * p[:-1] * 0.12 * dt, rtol=1e-12)
    np.testing.assert_allclose(r.cost_quote, np.abs(r.hedge_trade_qty) * p * 7.5e-4, rtol=1e-14)
    if hedge != "none":
        assert s.funding_quote > 0  # the short hedge receives a positive funding rate


def test_out_of_range_hours_earn_no_fees(history: PoolHistory) -> None:
    liq = _liquidity(history, *NARROW)
    r = backtest_lp(history, price_lower=NARROW[0], price_upper=NARROW[1], liquidity=liq)
    o = history.close[:-1]
    hi = np.maximum(history.high[1:], o)
    lo = np.minimum(history.low[1:], o)
    outside = (hi < NARROW[0]) | (lo > NARROW[1])
    inside = (lo >= NARROW[0]) & (hi <= NARROW[1])
    assert outside.sum() > 300 and inside.sum() > 300  # measured 406 and 474 hours
    assert np.all(r.fees_quote[1:][outside] == 0.0)
    # a whole hour inside the range earns the pool's full fee growth per unit of liquidity,
    # diluted by the position's own liquidity (whitepaper eq. 6.28, by hand here)
    g0 = np.diff(history.fee_growth0_x128)[inside]
    g1 = np.diff(history.fee_growth1_x128)[inside]
    usdc = liq * g0 / 2**128 * 1e-6 * 10**12  # raw token0 per raw L -> human (decimals 6, 18)
    weth = liq * g1 / 2**128 * 1e-18 * 10**12
    pool_l = history.liquidity[1:][inside]
    by_hand = (usdc + weth * history.close[1:][inside]) * pool_l / (pool_l + liq)
    np.testing.assert_allclose(r.fees_quote[1:][inside], by_hand, rtol=1e-12)
    # partly-in hours earn something between nothing and the full growth
    partial = ~outside & ~inside
    for frac in (r.fee_fraction_quote[1:][partial], r.fee_fraction_risky[1:][partial]):
        assert np.all((frac >= 0.0) & (frac <= 1.0))
        assert np.any((frac > 0.0) & (frac < 1.0))
    assert r.summary.periods_with_fees < r.summary.periods


def test_full_range_fees_are_the_global_fee_growth(history: PoolHistory) -> None:
    liq = 1e5
    r = backtest_lp(history, price_lower=0.0, price_upper=math.inf, liquidity=liq, dilute=False)
    f = fees_from_fee_growth(
        liquidity=liq,
        fee_growth0_delta_x128=np.diff(history.fee_growth0_x128),
        fee_growth1_delta_x128=np.diff(history.fee_growth1_x128),
        pool=USDC_WETH_005,
    )
    expect = np.asarray(f.quote_qty) + np.asarray(f.risky_qty) * history.close[1:]
    np.testing.assert_allclose(r.fees_quote[1:], expect, rtol=1e-12)


def test_lvr_realized_against_the_sigma_squared_rate(history: PoolHistory) -> None:
    """Full range: expected LVR per hour is σ²V/8·Δt (Milionis et al., constant product);
    over the 999 hours the realized LVR (rebalancing P&L minus LP P&L) matches the expectation
    at the realized volatility within 5% (measured: 0.1%)."""
    liq = 1e5
    r = backtest_lp(history, price_lower=0.0, price_upper=math.inf, liquidity=liq)
    sigma = r.summary.vol
    log_ret = np.diff(np.log(history.close))
    assert sigma == pytest.approx(np.std(log_ret, ddof=1) * math.sqrt(365 * 24), rel=1e-12)
    v = 2 * liq * np.sqrt(history.close[:-1])
    np.testing.assert_allclose(
        r.expected_lvr_quote[1:], sigma**2 / 8 * v * NS_PER_HOUR / NS_PER_YEAR, rtol=1e-12
    )
    assert np.all(r.realized_lvr_quote >= -1e-9)  # the LP's value is concave in P
    assert r.summary.realized_lvr_quote == pytest.approx(r.summary.expected_lvr_quote, rel=0.05)


def test_delta_hedged_lp_earns_fees_minus_lvr(history: PoolHistory) -> None:
    """Hedged at every close at no cost, the book's P&L is fees - realized LVR exactly."""
    liq = _liquidity(history, *NARROW)
    r = backtest_lp(
        history, price_lower=NARROW[0], price_upper=NARROW[1], liquidity=liq, hedge="delta"
    )
    np.testing.assert_allclose(
        r.total_pnl_quote,
        np.cumsum(r.fees_quote) - np.cumsum(r.realized_lvr_quote),
        rtol=0.0,
        atol=1e-6,
    )


def test_impermanent_loss_path(history: PoolHistory) -> None:
    liq = _liquidity(history, *WIDE)
    r = backtest_lp(history, price_lower=WIDE[0], price_upper=WIDE[1], liquidity=liq)
    p = history.close
    np.testing.assert_allclose(
        r.lp_value_quote,
        v3_value(liquidity=liq, price=p, price_lower=WIDE[0], price_upper=WIDE[1]),
        rtol=1e-14,
    )
    il = np.asarray(
        v3_impermanent_loss(price_entry=p[0], price=p, price_lower=WIDE[0], price_upper=WIDE[1])
    )
    np.testing.assert_allclose(
        r.impermanent_loss_quote, il * r.hold_value_quote, rtol=1e-9, atol=1e-6
    )
    assert np.all(r.impermanent_loss_quote <= 1e-9)
    assert r.lp_value_quote[0] == pytest.approx(1e6, rel=1e-12)


def test_bad_backtest_input(history: PoolHistory, tmp_path: Path) -> None:
    kw = {"price_lower": 2000.0, "price_upper": 2500.0, "liquidity": 1.0}
    with pytest.raises(InvalidArgumentError, match="liquidity"):
        backtest_lp(history, **{**kw, "liquidity": -1.0})
    with pytest.raises(InvalidArgumentError, match="price_lower/price_upper"):
        backtest_lp(history, **{**kw, "price_lower": 2500.0, "price_upper": 2000.0})
    with pytest.raises(InvalidArgumentError, match="cost_bps"):
        backtest_lp(history, **kw, cost_bps=-1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="hedge"):
        backtest_lp(history, **kw, hedge="gamma")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="hedge"):
        parse_hedge("band:-0.1")
    assert parse_hedge("delta") == "delta" and parse_hedge("band:0.25") == 0.25
    # reader: a missing hour, a missing column, decimals that contradict the pool
    lines = require_data(POOL_CSV).read_text().splitlines()
    gap = tmp_path / "gap.csv"
    gap.write_text("\n".join([lines[0], *lines[1:10], *lines[11:20]]) + "\n")
    with pytest.raises(DataError, match="gap of 7200 s"):
        read_uniswap_pool_hours(gap)
    assert len(read_uniswap_pool_hours(gap, check_hourly=False)) == 18
    header = lines[0].split(",")
    drop = header.index("feeGrowthGlobal1X128")
    cut = tmp_path / "cut.csv"
    cut.write_text(
        "\n".join(",".join(c for k, c in enumerate(ln.split(",")) if k != drop) for ln in lines)
    )
    with pytest.raises(DataError, match="feeGrowthGlobal1X128"):
        read_uniswap_pool_hours(cut)
    import dataclasses

    from invrisk.amm import USDC_WETH_030

    wrong = dataclasses.replace(USDC_WETH_030, decimals1=8)
    with pytest.raises(DataError, match="decimals"):
        read_uniswap_pool_hours(require_data(POOL_CSV), pool=wrong)
