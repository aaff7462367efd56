"""Position math against real Uniswap v3 data: the pools' own fields must agree with it.

Swaps (``uniswap_v3_usdc_weth_swaps``, The Graph, see its PROVENANCE.txt): for two consecutive
events of a pool (the subgraph's transaction counter ``#N`` increments by one, so no mint, burn
or other swap happened in between) that stay inside one tick-spacing interval (no initialized
tick, hence constant liquidity), the tokens a swap moved are the change of a position's amounts
between the pre- and post-swap prices. With x(P), y(P) per unit of liquidity from
``v3_amounts`` and the input token net of the fee, L = Δy/Δy₁ = Δx/Δx₁ must agree: one
equation per token, one unknown. The tolerance is the amounts' integer rounding (3 raw units
each: amountIn and the fee are rounded up on chain) plus the float rounding of the two prices.

Hourly pool data (``uniswap_v3_usdc_weth_0p05_poolhourdata_2023-11_2024-01_definer``): per unit
of liquidity a swap step raises feeGrowthGlobal by fee/(1-fee) times the change of the
position amount of the input token (whitepaper §6.3), whatever the liquidity. So
feeGrowthGlobal0 measures the path length of y = √P (ETH rising: USDC in) and feeGrowthGlobal1
that of x = 1/√P (ETH falling: WETH in). Checked: (1) each hour's fee growth is at least the
shortest path through the hour's open (previous close), high, low and close; (2) up minus down
reproduces the hour's net price move (a regression over the 999 hours).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from invrisk.amm import (
    USDC_WETH_005,
    USDC_WETH_030,
    PoolSpec,
    fee_growth_delta_x128,
    fees_from_fee_growth,
    liquidity_from_raw,
    price_from_sqrt_price_x96,
    price_from_tick,
    tick_from_price,
    v3_amounts,
)
from tests.conftest import require_data

SWAPS = "uniswap_v3_usdc_weth_swaps/"
SWAP_FILES = [
    (
        SWAPS + "univ3_usdc_weth_0p30pct_0x8ad599c3_swaps_blocks22376302-22390607.derived.csv",
        USDC_WETH_030,
        800,
    ),
    (
        SWAPS + "univ3_usdc_weth_0p05pct_0x88e6a0c2_first100swaps_2021-05-05.derived.csv",
        USDC_WETH_005,
        10,
    ),
]
HOURLY = (
    "uniswap_v3_usdc_weth_0p05_poolhourdata_2023-11_2024-01_definer/"
    "uniswap_v3_usdc_eth_0x88e6_poolHourDatas_2023-11-27_2024-01-08.csv"
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(("relative", "pool", "min_pairs"), SWAP_FILES)
def test_swap_amounts_match_the_position_formulas(
    relative: str, pool: PoolSpec, min_pairs: int
) -> None:
    rows = _rows(require_data(relative))
    price = np.asarray(
        price_from_sqrt_price_x96(sqrt_price_x96=[r["sqrtPriceX96"] for r in rows], pool=pool)
    )
    # The file's own derived price column (1e12 / (sqrtPriceX96/2^96)^2): same orientation.
    derived = np.array([float(r["price_usdc_per_weth_after"]) for r in rows])
    np.testing.assert_allclose(price, derived, rtol=1e-14)

    spacing = pool.tick_spacing
    checked = 0
    for prev, cur, p0, p1 in zip(rows[:-1], rows[1:], price[:-1], price[1:], strict=True):
        if int(cur["swap_index"]) != int(prev["swap_index"]) + 1:
            continue  # another event (mint, burn, swap) may have happened in between
        bucket = int(prev["tick"]) // spacing
        if int(cur["tick"]) // spacing != bucket:
            continue  # may have crossed an initialized tick: liquidity may change
        if abs(p1 - p0) <= 1e-9 * p1:
            continue  # a dust swap: the price change is below the float resolution we check
        # The tick interval as a price range (risky WETH is token1: a higher tick is a lower
        # ETH price).
        lo = price_from_tick(tick=(bucket + 1) * spacing, pool=pool)
        hi = price_from_tick(tick=bucket * spacing, pool=pool)
        unit = v3_amounts(liquidity=1.0, price=np.array([p0, p1]), price_lower=lo, price_upper=hi)
        d_quote = abs(float(np.diff(unit.quote_qty)[0]))
        d_risky = abs(float(np.diff(unit.risky_qty)[0]))
        amount_usdc, amount_weth = float(cur["amount0"]), float(cur["amount1"])
        assert amount_usdc * amount_weth < 0  # one token in, the other out
        net_usdc = abs(amount_usdc) * ((1 - pool.fee_rate) if amount_usdc > 0 else 1.0)
        net_weth = abs(amount_weth) * ((1 - pool.fee_rate) if amount_weth > 0 else 1.0)
        l_quote, l_risky = net_usdc / d_quote, net_weth / d_risky
        tol = (
            3 / (abs(amount_usdc) * 10**pool.decimals0)
            + 3 / (abs(amount_weth) * 10**pool.decimals1)
            + 1e-14 * p1 / abs(p1 - p0)
        )
        assert abs(l_quote / l_risky - 1) <= tol, (cur["id"], l_quote, l_risky, tol)
        checked += 1
    assert checked >= min_pairs


@pytest.mark.parametrize(("relative", "pool", "min_pairs"), SWAP_FILES)
def test_tick_of_the_pool_price(relative: str, pool: PoolSpec, min_pairs: int) -> None:
    rows = _rows(require_data(relative))
    price = np.asarray(
        price_from_sqrt_price_x96(sqrt_price_x96=[r["sqrtPriceX96"] for r in rows], pool=pool)
    )
    ticks = np.asarray(tick_from_price(price=price, pool=pool))
    pool_ticks = np.array([int(r["tick"]) for r in rows])
    for i in np.flatnonzero(ticks != pool_ticks):
        # Uniswap leaves tick = i - 1 when a swap towards lower ticks stops exactly on tick i;
        # only that case may differ: one tick, with the price on the boundary.
        assert ticks[i] == pool_ticks[i] + 1, rows[i]["id"]
        boundary = price_from_tick(tick=int(ticks[i]), pool=pool)
        assert abs(price[i] / boundary - 1) < 1e-14, rows[i]["id"]
    assert np.mean(ticks == pool_ticks) >= 0.99


def _hourly() -> dict[str, np.ndarray]:
    rows = _rows(require_data(HOURLY))
    rows.sort(key=lambda r: float(r["periodStartUnix"]))  # the file is in descending time
    cols = [
        "periodStartUnix",
        "liquidity",
        "high",
        "low",
        "close",
        "feeGrowthGlobal0X128",
        "feeGrowthGlobal1X128",
    ]
    data = {c: np.array([float(r[c]) for r in rows]) for c in cols}
    assert {r["pool.token0.decimals"] for r in rows} == {"6.0"}  # USDC is token0
    assert {r["pool.token1.decimals"] for r in rows} == {"18.0"}  # WETH is token1
    assert np.all(np.diff(data["periodStartUnix"]) == 3600.0)
    return data


def _per_unit_liquidity_path_lengths() -> tuple[np.ndarray, ...]:
    """Fee-implied path lengths of y = √P (up) and x = 1/√P (down) per unit of liquidity, and
    the hour's open (previous close), extended high and low, and close."""
    d = _hourly()
    f = USDC_WETH_005.fee_rate
    g0 = fee_growth_delta_x128(
        start_x128=d["feeGrowthGlobal0X128"][:-1], end_x128=d["feeGrowthGlobal0X128"][1:]
    )
    g1 = fee_growth_delta_x128(
        start_x128=d["feeGrowthGlobal1X128"][:-1], end_x128=d["feeGrowthGlobal1X128"][1:]
    )
    fees = fees_from_fee_growth(
        liquidity=1.0, fee_growth0_delta_x128=g0, fee_growth1_delta_x128=g1, pool=USDC_WETH_005
    )
    up_quote = np.asarray(fees.quote_qty) * (1 - f) / f  # Σ Δy over ETH-up steps, per unit L
    down_risky = np.asarray(fees.risky_qty) * (1 - f) / f  # Σ Δx over ETH-down steps
    open_ = d["close"][:-1]
    close = d["close"][1:]
    high = np.maximum(d["high"][1:], open_)  # the path starts at the previous close
    low = np.minimum(d["low"][1:], open_)
    return up_quote, down_risky, open_, high, low, close


def test_fee_growth_covers_the_shortest_price_path() -> None:
    up_quote, down_risky, open_, high, low, close = _per_unit_liquidity_path_lengths()

    def unit(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = v3_amounts(liquidity=1.0, price=p, price_lower=0.0, price_upper=math.inf)
        return np.asarray(a.risky_qty), np.asarray(a.quote_qty)

    (xo, yo), (xh, yh), (xl, yl), (xc, yc) = unit(open_), unit(high), unit(low), unit(close)
    # The path visits high and low in one of two orders; take the shorter one for each token.
    min_up = np.minimum((yh - yo) + (yc - yl), yh - yl)
    min_down = np.minimum(xl - xh, (xl - xo) + (xc - xh))
    # Rounding: the CSV's fee growth has 17 significant digits of a ~1e33-1e42 counter.
    assert np.all(up_quote >= min_up * (1 - 1e-9))
    assert np.all(down_risky >= min_down * (1 - 1e-9))
    # Not vacuous: measured, the shortest path is 43% (up) and 41% (down) of the fee-implied
    # one at the median hour and 98% in the tightest hour; reading the fee growth with the
    # 0.30% tier (6 times less path) or with wrong decimals would break the bound.
    assert np.median(min_up / up_quote) > 1 / 6
    assert np.median(min_down / down_risky) > 1 / 6
    assert np.min(down_risky / min_down) < 1.1


def test_fee_growth_reproduces_the_net_price_move() -> None:
    up_quote, down_risky, open_, high, low, close = _per_unit_liquidity_path_lengths()
    # Net change of y = √P over the hour: up - down, where a down step Δx = Δ(1/√P) is worth
    # Δ√P = Δx·√(P1·P2), P1, P2 in [low, high]; √(low·high) is within that bracket.
    net = np.sqrt(close) - np.sqrt(open_)
    design = np.column_stack([up_quote, -down_risky * np.sqrt(low * high)])
    coef, *_ = np.linalg.lstsq(design, net, rcond=None)
    fitted = design @ coef
    r2 = 1 - np.sum((net - fitted) ** 2) / np.sum((net - net.mean()) ** 2)
    # Measured: coefficients 0.993 and 0.992, R² 0.998. Fee growth without a price move (flash
    # loans pay the fee tier into feeGrowthGlobal) can only push the coefficients below 1; a
    # wrong fee tier (0.3%: x 6), decimals (x 1e6) or token order would be off by orders.
    assert np.all((coef > 0.98) & (coef < 1.002)), coef
    assert r2 > 0.99


def test_pool_liquidity_and_fees_in_human_units() -> None:
    d = _hourly()
    liq = np.asarray(liquidity_from_raw(liquidity_raw=d["liquidity"], pool=USDC_WETH_005))
    # The in-range liquidity earned, over the hour ending at each row, L·Δfg (L at the hour's
    # end: the subgraph keeps the last value). Same numbers by hand for the last hour:
    g0 = d["feeGrowthGlobal0X128"][-1] - d["feeGrowthGlobal0X128"][-2]
    by_hand_usdc = d["liquidity"][-1] * g0 / 2**128 / 1e6  # raw L · Δ/2^128 micro-USDC
    f = fees_from_fee_growth(
        liquidity=liq[-1], fee_growth0_delta_x128=g0, fee_growth1_delta_x128=0.0, pool=USDC_WETH_005
    )
    np.testing.assert_allclose(f.quote_qty, by_hand_usdc, rtol=1e-14)
    assert 1e6 < np.median(liq) < 1e9  # 4e18-6e20 raw / 1e12 (PROVENANCE liquidity range)
