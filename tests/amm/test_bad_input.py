"""Bad input to the public AMM functions raises ``InvalidArgumentError`` naming the argument.

Each public function is called with one argument replaced by a bad value (negative liquidity,
inverted or empty ranges, non-positive or NaN prices, negative vol, shapes that do not
broadcast, ...); the error must be an ``InvalidArgumentError`` whose ``argument`` is the name
the caller used, and its message must show the value and the allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from invrisk.amm import (
    USDC_WETH_005,
    PoolSpec,
    V2Position,
    V3Position,
    break_even_fee_apr,
    break_even_fee_rate,
    expected_lvr,
    fees_from_fee_growth,
    liquidity_from_raw,
    lvr_rate,
    lvr_rate_constant_product,
    optimal_range,
    price_from_sqrt_price_x96,
    price_from_tick,
    range_economics,
    simulate_lvr,
    tick_from_price,
    v2_amounts,
    v2_impermanent_loss,
    v3_amounts,
    v3_greeks,
    v3_impermanent_loss,
    v3_liquidity_from_amounts,
)
from invrisk.errors import InvalidArgumentError

POS = {"liquidity": 500.0, "price": 4000.0, "price_lower": 3000.0, "price_upper": 5000.0}
MARKET = {
    "capital_quote": 1e6,
    "price": 2200.0,
    "vol": 0.5,
    "t_yr": 0.02,
    "fee_rate": 0.0005,
    "volume_quote_per_yr": 1e11,
    "pool_liquidity": 1.5e7,
}
SIM = {**POS, "vol": 0.8, "t_yr": 0.1, "n_steps": 4, "n_paths": 3, "seed": 1}

VALID: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "v3_amounts": (v3_amounts, POS),
    "v3_greeks": (v3_greeks, POS),
    "v3_impermanent_loss": (
        v3_impermanent_loss,
        {"price_entry": 4000.0, "price": 4500.0, "price_lower": 3000.0, "price_upper": 5000.0},
    ),
    "v3_liquidity_from_amounts": (
        v3_liquidity_from_amounts,
        {
            "price": 4000.0,
            "price_lower": 3000.0,
            "price_upper": 5000.0,
            "risky_qty": 1.0,
            "quote_qty": 4000.0,
        },
    ),
    "v2_amounts": (v2_amounts, {"liquidity": 1.0, "price": 4.0}),
    "v2_impermanent_loss": (v2_impermanent_loss, {"price_ratio": 2.0}),
    "lvr_rate": (lvr_rate, {**POS, "vol": 0.8}),
    "lvr_rate_constant_product": (lvr_rate_constant_product, {"value_quote": 1.0, "vol": 0.8}),
    "break_even_fee_apr": (
        break_even_fee_apr,
        {"price": 4000.0, "price_lower": 3000.0, "price_upper": 5000.0, "vol": 0.8},
    ),
    "break_even_fee_rate": (
        break_even_fee_rate,
        {"lvr_quote_per_yr": 1.0, "volume_quote_per_yr": 100.0},
    ),
    "expected_lvr": (expected_lvr, {**POS, "vol": 0.8, "t_yr": 1.0}),
    "simulate_lvr": (simulate_lvr, SIM),
    "range_economics": (range_economics, {**MARKET, "price_lower": 2000.0, "price_upper": 2400.0}),
    "optimal_range": (optimal_range, MARKET),
    "price_from_tick": (price_from_tick, {"tick": 0, "pool": USDC_WETH_005}),
    "tick_from_price": (tick_from_price, {"price": 2000.0, "pool": USDC_WETH_005}),
    "price_from_sqrt_price_x96": (
        price_from_sqrt_price_x96,
        {"sqrt_price_x96": 2**96, "pool": USDC_WETH_005},
    ),
    "liquidity_from_raw": (liquidity_from_raw, {"liquidity_raw": 1e18, "pool": USDC_WETH_005}),
    "fees_from_fee_growth": (
        fees_from_fee_growth,
        {
            "liquidity": 1.0,
            "fee_growth0_delta_x128": 1.0,
            "fee_growth1_delta_x128": 1.0,
            "pool": USDC_WETH_005,
        },
    ),
}

BAD: list[tuple[str, str, object, str]] = [
    # (function, argument, bad value, the argument named in the error)
    ("v3_amounts", "liquidity", -1.0, "liquidity"),
    ("v3_amounts", "liquidity", math.nan, "liquidity"),
    ("v3_amounts", "price", 0.0, "price"),
    ("v3_amounts", "price", -4000.0, "price"),
    ("v3_amounts", "price", math.inf, "price"),
    ("v3_amounts", "price_lower", 6000.0, "price_lower/price_upper"),  # inverted range
    ("v3_amounts", "price_upper", 3000.0, "price_lower/price_upper"),  # empty range
    ("v3_amounts", "price_lower", -1.0, "price_lower"),
    ("v3_amounts", "price_lower", math.inf, "price_lower"),
    ("v3_amounts", "price_upper", -math.inf, "price_upper"),
    ("v3_greeks", "liquidity", np.array([1.0, -2.0]), "liquidity"),
    ("v3_greeks", "price", "abc", "price"),
    ("v3_impermanent_loss", "price_entry", 0.0, "price_entry"),
    ("v3_impermanent_loss", "benchmark", "hodl", "benchmark"),
    ("v3_liquidity_from_amounts", "risky_qty", -1.0, "risky_qty"),
    ("v3_liquidity_from_amounts", "quote_qty", math.nan, "quote_qty"),
    ("v2_amounts", "liquidity", -5.0, "liquidity"),
    ("v2_impermanent_loss", "price_ratio", 0.0, "price_ratio"),
    ("lvr_rate", "vol", -0.1, "vol"),
    ("lvr_rate_constant_product", "value_quote", -1.0, "value_quote"),
    ("break_even_fee_apr", "price_upper", 2000.0, "price_lower/price_upper"),
    ("break_even_fee_rate", "volume_quote_per_yr", 0.0, "volume_quote_per_yr"),
    ("expected_lvr", "t_yr", -1.0, "t_yr"),
    ("expected_lvr", "vol", np.array([0.5, 0.6]), "vol"),
    ("expected_lvr", "drift", math.nan, "drift"),
    ("simulate_lvr", "n_steps", 0, "n_steps"),
    ("simulate_lvr", "n_paths", 2.5, "n_paths"),
    ("simulate_lvr", "seed", "x", "seed"),
    ("simulate_lvr", "t_yr", 0.0, "t_yr"),
    ("simulate_lvr", "price", np.array([1.0, 2.0]), "price"),
    ("range_economics", "capital_quote", 0.0, "capital_quote"),
    ("range_economics", "fee_rate", 1.0, "fee_rate"),
    ("range_economics", "pool_liquidity", -1.0, "pool_liquidity"),
    ("optimal_range", "vol", math.inf, "vol"),
    ("optimal_range", "min_log_width", 0.0, "min_log_width"),
    ("optimal_range", "max_log_width", 1e-4, "min_log_width/max_log_width"),
    ("price_from_tick", "tick", 1.5, "tick"),
    ("price_from_tick", "tick", 900_000, "tick"),
    ("price_from_tick", "pool", "USDC/WETH", "pool"),
    ("tick_from_price", "price", -1.0, "price"),
    ("tick_from_price", "price", 1e300, "price"),
    ("price_from_sqrt_price_x96", "sqrt_price_x96", 0, "sqrt_price_x96"),
    ("price_from_sqrt_price_x96", "sqrt_price_x96", 2**160, "sqrt_price_x96"),
    ("price_from_sqrt_price_x96", "sqrt_price_x96", ["1", "-5"], "sqrt_price_x96"),
    ("liquidity_from_raw", "liquidity_raw", -1.0, "liquidity_raw"),
    ("fees_from_fee_growth", "fee_growth0_delta_x128", -1.0, "fee_growth0_delta_x128"),
]


@pytest.mark.parametrize(("func", "arg", "bad", "named"), BAD)
def test_bad_argument_is_named(func: str, arg: str, bad: object, named: str) -> None:
    fn, kwargs = VALID[func]
    fn(**kwargs)  # the valid call works
    with pytest.raises(InvalidArgumentError) as err:
        fn(**{**kwargs, arg: bad})
    assert err.value.argument == named
    assert "expected" in str(err.value) and named in str(err.value)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((-500.0, 3000.0, 5000.0), "liquidity"),
        ((500.0, 5000.0, 3000.0), "price_lower/price_upper"),
        ((500.0, 3000.0, 3000.0), "price_lower/price_upper"),
        ((500.0, -1.0, 5000.0), "price_lower"),
        ((500.0, 3000.0, math.nan), "price_upper"),
        ((np.array([1.0, 2.0]), 3000.0, 5000.0), "liquidity"),
    ],
)
def test_v3_position_constructor(args: tuple[Any, Any, Any], named: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        V3Position(*args)
    assert err.value.argument == named


def test_shapes_that_do_not_broadcast() -> None:
    with pytest.raises(InvalidArgumentError) as err:
        v3_amounts(
            liquidity=1.0,
            price=np.array([1.0, 2.0, 3.0]),
            price_lower=np.array([0.5, 0.6]),
            price_upper=10.0,
        )
    assert err.value.argument == "liquidity/price/price_lower/price_upper"
    assert "(3,)" in str(err.value) and "(2,)" in str(err.value)


def test_inverted_range_message_shows_both_ends() -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"\[5000.0, 3000.0\].*price_lower < price_upper"
    ):
        V3Position(1.0, 5000.0, 3000.0)


def test_position_methods_validate_the_price() -> None:
    with pytest.raises(InvalidArgumentError, match="price"):
        V3Position(1.0, 1.0, 2.0).value(-1.0)
    with pytest.raises(InvalidArgumentError, match="liquidity"):
        V2Position(-1.0)
    with pytest.raises(InvalidArgumentError, match="price"):
        V2Position(1.0).greeks(0.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("decimals0", -1),
        ("decimals1", 6.0),
        ("fee_rate", 1.5),
        ("tick_spacing", 0),
        ("risky_token", 2),
    ],
)
def test_pool_spec_validation(field: str, value: object) -> None:
    kw: dict[str, Any] = dict(
        token0="A",
        token1="B",
        decimals0=6,
        decimals1=18,
        fee_rate=0.003,
        tick_spacing=60,
        risky_token=1,
    )
    kw[field] = value
    with pytest.raises(InvalidArgumentError) as err:
        PoolSpec(**kw)
    assert err.value.argument == field
