"""AMM liquidity positions: Uniswap v2 and v3 position math, fees, LVR and range selection.

- :mod:`~invrisk.amm.v3` — concentrated liquidity in [p_a, p_b]: :class:`V3Position`,
  :func:`v3_amounts`, :func:`v3_value`, :func:`v3_greeks` (delta, gamma in the risk layer's
  units), :func:`v3_impermanent_loss`, :func:`v3_liquidity_from_amounts`;
- :mod:`~invrisk.amm.v2` — constant product: :class:`V2Position`, :func:`v2_amounts`,
  :func:`v2_greeks`, :func:`v2_impermanent_loss` (the full range [0, inf] of v3);
- :mod:`~invrisk.amm.pool` — on-chain conventions: :class:`PoolSpec` (token order, decimals,
  fee tier, which token is risky), ticks, sqrtPriceX96, raw liquidity, fees from Q128 fee
  growth (:func:`fees_from_fee_growth`, :func:`fee_growth_inside_x128`);
- :mod:`~invrisk.amm.lvr` — loss-versus-rebalancing: :func:`lvr_rate` (σ²P²/2·|x*'(P)|),
  :func:`lvr_rate_constant_product` (σ²V/8), break-even fees, :func:`expected_lvr`,
  :func:`simulate_lvr` (LP against the rebalancing portfolio on GBM paths);
- :mod:`~invrisk.amm.history` — :class:`PoolHistory`, a pool's prices, in-range liquidity and
  fee growth per period (read by :func:`invrisk.data.read_uniswap_pool_hours`);
- :mod:`~invrisk.amm.summary` — :func:`lp_position_summary`: amounts, value, Greeks, IL at
  moves, LVR and break-even fee APR of one position at one price;
- :mod:`~invrisk.amm.ranges` — :func:`optimal_range`: the range maximizing expected fees minus
  expected LVR for a volatility and a fee model.

Units: prices in quote per risky (human units, e.g. USDC per ETH), values in quote units
(``*_quote``), token amounts ``*_qty``, liquidity in sqrt(risky·quote) human units, ``vol``
annualised, ``t_yr`` in years (ACT/365).
"""

from __future__ import annotations

from invrisk.amm.history import PoolHistory
from invrisk.amm.lvr import (
    LvrSimulation,
    break_even_fee_apr,
    break_even_fee_rate,
    expected_lvr,
    expected_time_in_range,
    lvr_rate,
    lvr_rate_constant_product,
    lvr_rate_from_gamma,
    prob_in_range,
    simulate_lvr,
)
from invrisk.amm.pool import (
    MAX_TICK,
    MIN_TICK,
    USDC_WETH_005,
    USDC_WETH_030,
    PoolSpec,
    fee_growth_delta_x128,
    fee_growth_inside_x128,
    fees_from_fee_growth,
    liquidity_from_raw,
    liquidity_to_raw,
    price_from_sqrt_price_x96,
    price_from_tick,
    tick_from_price,
)
from invrisk.amm.ranges import RangeChoice, RangeEconomics, optimal_range, range_economics
from invrisk.amm.summary import DEFAULT_MOVES, LpPositionSummary, lp_position_summary
from invrisk.amm.v2 import (
    V2Position,
    v2_amount_out,
    v2_amounts,
    v2_greeks,
    v2_impermanent_loss,
    v2_liquidity_from_reserves,
    v2_value,
)
from invrisk.amm.v3 import (
    PositionGreeks,
    TokenAmounts,
    V3Position,
    v3_amounts,
    v3_greeks,
    v3_impermanent_loss,
    v3_liquidity_for_value,
    v3_liquidity_from_amounts,
    v3_value,
)

__all__ = [
    "DEFAULT_MOVES",
    "MAX_TICK",
    "MIN_TICK",
    "USDC_WETH_005",
    "USDC_WETH_030",
    "LpPositionSummary",
    "LvrSimulation",
    "PoolHistory",
    "PoolSpec",
    "PositionGreeks",
    "RangeChoice",
    "RangeEconomics",
    "TokenAmounts",
    "V2Position",
    "V3Position",
    "break_even_fee_apr",
    "break_even_fee_rate",
    "expected_lvr",
    "expected_time_in_range",
    "fee_growth_delta_x128",
    "fee_growth_inside_x128",
    "fees_from_fee_growth",
    "liquidity_from_raw",
    "liquidity_to_raw",
    "lp_position_summary",
    "lvr_rate",
    "lvr_rate_constant_product",
    "lvr_rate_from_gamma",
    "optimal_range",
    "price_from_sqrt_price_x96",
    "price_from_tick",
    "prob_in_range",
    "range_economics",
    "simulate_lvr",
    "tick_from_price",
    "v2_amount_out",
    "v2_amounts",
    "v2_greeks",
    "v2_impermanent_loss",
    "v2_liquidity_from_reserves",
    "v2_value",
    "v3_amounts",
    "v3_greeks",
    "v3_impermanent_loss",
    "v3_liquidity_for_value",
    "v3_liquidity_from_amounts",
    "v3_value",
]
