"""On-chain conventions: ticks, sqrtPriceX96, raw liquidity, fee growth (Q128) and fee growth
inside a range.

The fee-growth-inside tests keep their own ledger of the fees accrued while the price was in
the range and replay the pool's tick-crossing rule (whitepaper eq. 6.20: crossing tick i sets
f_o(i) <- f_g - f_o(i); initialization eq. 6.21: f_o(i) = f_g if i <= i_c else 0). The library
computes the inside growth from eq. 6.17-6.19, a different formula.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.amm import (
    MAX_TICK,
    MIN_TICK,
    USDC_WETH_005,
    PoolSpec,
    fee_growth_delta_x128,
    fee_growth_inside_x128,
    fees_from_fee_growth,
    liquidity_from_raw,
    liquidity_to_raw,
    price_from_sqrt_price_x96,
    price_from_tick,
    tick_from_price,
    v3_amounts,
)
from invrisk.amm.pool import Q96, Q128
from invrisk.errors import InvalidArgumentError

SOME = settings(max_examples=200, deadline=None)
Q256 = 2**256

ETH_USDC = PoolSpec(
    token0="WETH",
    token1="USDC",
    decimals0=18,
    decimals1=6,
    fee_rate=0.003,
    tick_spacing=60,
    risky_token=0,
)
"""A made-up pool with the risky token as token0 (the other orientation)."""


def test_usdc_weth_orientation_by_hand() -> None:
    # ETH at 2000 USDC: raw price (wei per micro-USDC) = 1e18 / (2000·1e6) = 5e8.
    raw = 1e18 / (2000 * 1e6)
    sqrt_x96 = math.sqrt(raw) * Q96
    np.testing.assert_allclose(
        price_from_sqrt_price_x96(sqrt_price_x96=sqrt_x96, pool=USDC_WETH_005), 2000.0, rtol=1e-12
    )
    tick = math.floor(math.log(raw) / math.log(1.0001))
    assert tick_from_price(price=2000.0, pool=USDC_WETH_005) == tick
    # Risky token0 (ETH/USDC with WETH first): raw price = 2000·1e6/1e18.
    raw0 = 2000 * 1e6 / 1e18
    assert tick_from_price(price=2000.0, pool=ETH_USDC) == math.floor(
        math.log(raw0) / math.log(1.0001)
    )
    assert ETH_USDC.risky_symbol == "WETH" and USDC_WETH_005.quote_symbol == "USDC"


def test_exact_integer_sqrt_price_is_correctly_rounded() -> None:
    s = 1358206768703179146794161129278934  # first swap of the 0.05% pool (subgraph)
    # ETH price = 10^12 · 2^192 / s², one integer ratio (Python int / int is correctly rounded).
    expected = 10**12 * 2**192 / (s * s)
    assert price_from_sqrt_price_x96(sqrt_price_x96=s, pool=USDC_WETH_005) == expected
    assert price_from_sqrt_price_x96(sqrt_price_x96=str(s), pool=USDC_WETH_005) == expected
    arr = price_from_sqrt_price_x96(sqrt_price_x96=[str(s), s], pool=USDC_WETH_005)
    assert isinstance(arr, np.ndarray) and arr.tolist() == [expected, expected]


@pytest.mark.parametrize("tick", [MIN_TICK, -500_000, -1, 0, 1, 201_362, 500_000, MAX_TICK])
def test_price_from_tick_against_50_digit_decimal(tick: int) -> None:
    # 1.0001^tick in decimal arithmetic; a float base 1.0001 would be off by 2e-12 at 2e5 ticks.
    ctx = Context(prec=50)
    raw = ctx.power(Decimal("1.0001"), tick)
    np.testing.assert_allclose(
        price_from_tick(tick=tick, pool=ETH_USDC), float(raw * Decimal(10) ** 12), rtol=4e-16
    )
    np.testing.assert_allclose(
        price_from_tick(tick=tick, pool=USDC_WETH_005), float(Decimal(10) ** 12 / raw), rtol=4e-16
    )


@SOME
@given(tick=st.integers(min_value=-400_000, max_value=400_000))
def test_tick_round_trip(tick: int) -> None:
    for pool in (USDC_WETH_005, ETH_USDC):
        p = price_from_tick(tick=tick, pool=pool)
        # Inside the tick interval, away from its edges by far more than float rounding.
        mid_raw_step = 1.0001**0.5
        inside = p * (mid_raw_step if pool.risky_token == 0 else 1 / mid_raw_step)
        assert tick_from_price(price=inside, pool=pool) == tick


def test_tick_from_price_is_vectorised() -> None:
    ticks = np.array([-100_000, 0, 194_996, 250_000])
    p = price_from_tick(tick=ticks, pool=USDC_WETH_005)
    back = tick_from_price(price=np.asarray(p) * (1 - 1e-9), pool=USDC_WETH_005)
    np.testing.assert_array_equal(back, ticks)  # ETH price a hair lower: raw price higher


def test_liquidity_raw_conversion() -> None:
    # USDC (6) / WETH (18): L = L_raw / 1e12. Check against the amounts it implies: at ETH =
    # 2500 USDC, a full-range unit of raw liquidity holds L_raw/√p_raw micro-USDC.
    l_raw = 1.0e18
    p = 2500.0
    raw_price = 1e12 / p
    usdc = l_raw / math.sqrt(raw_price) / 1e6
    weth = l_raw * math.sqrt(raw_price) / 1e18
    liq = liquidity_from_raw(liquidity_raw=l_raw, pool=USDC_WETH_005)
    a = v3_amounts(liquidity=liq, price=p, price_lower=0.0, price_upper=math.inf)
    np.testing.assert_allclose([a.quote_qty, a.risky_qty], [usdc, weth], rtol=1e-14)
    assert liquidity_to_raw(liquidity=liq, pool=USDC_WETH_005) == pytest.approx(l_raw, rel=1e-15)


def test_fees_from_fee_growth_by_hand() -> None:
    # Raw liquidity 2e18 (human 2e6); fee growth 0 up by 3·2^128/1e18 raw micro-USDC per raw
    # unit of L -> 6 micro-USDC... scaled: L_raw·Δ/2^128 = 2e18·3/1e18 = 6 raw = 6e-6 USDC.
    d0 = 3 * Q128 / 1e18
    d1 = 5 * Q128 / 1e18  # 2e18·5/1e18 = 10 wei = 1e-17 WETH
    f = fees_from_fee_growth(
        liquidity=2e6, fee_growth0_delta_x128=d0, fee_growth1_delta_x128=d1, pool=USDC_WETH_005
    )
    np.testing.assert_allclose([f.quote_qty, f.risky_qty], [6e-6, 1e-17], rtol=1e-14)


def test_fee_growth_delta_wraps_exact_integers_only() -> None:
    assert fee_growth_delta_x128(start_x128=Q256 - 10, end_x128=5) == 15
    assert fee_growth_delta_x128(start_x128="100", end_x128="250") == 150
    np.testing.assert_array_equal(
        fee_growth_delta_x128(start_x128=np.array([1.0, 2.0]), end_x128=np.array([3.0, 2.0])),
        [2.0, 0.0],
    )
    with pytest.raises(InvalidArgumentError, match="end_x128"):
        fee_growth_delta_x128(start_x128=np.array([1.0, 5.0]), end_x128=np.array([3.0, 4.0]))


class _Pool:
    """A ledger pool: fee growth accrues at the current tick; ticks cross by eq. 6.20."""

    def __init__(self, fg0: int, tick: int) -> None:
        self.fg = fg0 % Q256
        self.tick = tick
        self.outside: dict[int, int] = {}

    def init_tick(self, i: int) -> None:
        self.outside[i] = self.fg if i <= self.tick else 0

    def accrue(self, amount: int) -> None:
        self.fg = (self.fg + amount) % Q256

    def move_to(self, new_tick: int) -> None:
        # Cross every initialized tick between the old and the new current tick.
        if new_tick > self.tick:
            crossed = [i for i in self.outside if self.tick < i <= new_tick]
        else:
            crossed = [i for i in self.outside if new_tick < i <= self.tick]
        for i in crossed:
            self.outside[i] = (self.fg - self.outside[i]) % Q256
        self.tick = new_tick

    def inside(self, lo: int, hi: int) -> int:
        return fee_growth_inside_x128(
            tick_current=self.tick,
            tick_lower=lo,
            tick_upper=hi,
            fee_growth_global_x128=self.fg,
            fee_growth_outside_lower_x128=self.outside[lo],
            fee_growth_outside_upper_x128=self.outside[hi],
        )


def test_fee_growth_inside_story() -> None:
    # Position [-10, 10) opened at tick 0 when the global growth is 1000; 500 accrue in range,
    # 200 more, the price leaves above (300 accrue outside), comes back (100 inside), leaves
    # below (400 outside). The position is owed 500 + 200 + 100 = 800.
    pool = _Pool(1000, 0)
    pool.init_tick(-10)
    pool.init_tick(10)
    start = pool.inside(-10, 10)
    pool.accrue(500)
    pool.accrue(200)
    pool.move_to(15)
    pool.accrue(300)
    pool.move_to(3)
    pool.accrue(100)
    pool.move_to(-20)
    pool.accrue(400)
    assert (pool.inside(-10, 10) - start) % Q256 == 800


@SOME
@given(
    start=st.integers(min_value=0, max_value=Q256 - 1),
    steps=st.lists(
        st.tuples(st.integers(min_value=-50, max_value=50), st.integers(0, 10**30)),
        min_size=1,
        max_size=30,
    ),
    lo=st.integers(min_value=-30, max_value=0),
    width=st.integers(min_value=1, max_value=40),
)
def test_fee_growth_inside_equals_the_in_range_ledger(
    start: int, steps: list[tuple[int, int]], lo: int, width: int
) -> None:
    hi = lo + width
    pool = _Pool(start, 0)
    pool.init_tick(lo)
    pool.init_tick(hi)
    before = pool.inside(lo, hi)
    owed = 0
    for tick, amount in steps:
        pool.move_to(tick)
        pool.accrue(amount)
        if lo <= pool.tick < hi:  # the range [lo, hi) is active when lo <= tick < hi
            owed += amount
    assert (pool.inside(lo, hi) - before) % Q256 == owed % Q256


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"tick_current": 0, "tick_lower": 5, "tick_upper": 5}, "tick_lower/tick_upper"),
        ({"tick_current": 0, "tick_lower": MIN_TICK - 1, "tick_upper": 5}, "tick_lower"),
        ({"tick_current": 1.5, "tick_lower": 0, "tick_upper": 5}, "tick_current"),
        ({"tick_current": 0, "tick_lower": 0, "tick_upper": MAX_TICK + 1}, "tick_upper"),
    ],
)
def test_fee_growth_inside_bad_ticks(kwargs: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        fee_growth_inside_x128(
            fee_growth_global_x128=1,
            fee_growth_outside_lower_x128=0,
            fee_growth_outside_upper_x128=0,
            **kwargs,  # type: ignore[arg-type]
        )
    assert err.value.argument == argument


def test_fee_growth_inside_refuses_floats() -> None:
    with pytest.raises(InvalidArgumentError, match="fee_growth_global_x128"):
        fee_growth_inside_x128(
            tick_current=0,
            tick_lower=-1,
            tick_upper=1,
            fee_growth_global_x128=1.5e30,
            fee_growth_outside_lower_x128=0,
            fee_growth_outside_upper_x128=0,
        )
