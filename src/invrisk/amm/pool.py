"""On-chain Uniswap v3 conventions: token order and decimals, ticks, sqrtPriceX96, raw liquidity,
and fees from fee growth (Q128 fixed point).

Orientation
-----------
A pool orders its tokens by address: token0 < token1. Its raw price is token1 per token0 in the
tokens' smallest units, p_raw = (sqrtPriceX96 / 2^96)^2 = 1.0001^tick. The rest of
:mod:`invrisk.amm` quotes the **risky** token in the **quote** token, in human units; a
:class:`PoolSpec` says which token is risky and converts. In the USDC/WETH pools (0.05%:
0x88e6a0c2…, 0.30%: 0x8ad599c3…) token0 = USDC (6 decimals) and token1 = WETH (18 decimals):
the raw price is wei per micro-USDC, and the ETH price in USDC is P = 10^(18-6) / p_raw.

Liquidity
---------
A pool's ``liquidity`` is L_raw = sqrt(raw0·raw1). In human units L = L_raw / 10^((d0+d1)/2)
(USDC/WETH: L_raw / 10^12). L is the same whichever token is called token0.

Fee growth
----------
``feeGrowthGlobal{0,1}X128`` is the fee collected per unit of raw liquidity since the pool
started, in raw units of token0 (token1), as unsigned Q128.128 fixed point (value · 2^128,
uint256 that may wrap). A position with raw liquidity L_raw earns
L_raw · Δ(feeGrowthInside)/2^128 raw units between two readings (whitepaper eq. 6.28); in human
units, token0 fees = L · Δ/2^128 · 10^((d1-d0)/2) and token1 fees = L · Δ/2^128 ·
10^((d0-d1)/2). The fee is charged on the input token of each swap, so feeGrowthGlobal0 grows
with token0-in swaps (for USDC/WETH: ETH bought, its price rising) and feeGrowthGlobal1 with
token1-in swaps. Per unit of liquidity and per swap step inside a tick range, fee =
fee_rate/(1 - fee_rate) · |Δ(amount per unit L)| (the price moves by the input net of fee).

References
----------
H. Adams et al., "Uniswap v3 Core" (2021): §6.1 ticks (p = 1.0001^i), §6.2.1 sqrtPriceX96,
§6.3 fee growth, eq. 6.17-6.19 fee growth inside a range, eq. 6.28 uncollected fees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Literal, overload

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, FloatOrArray, Int64Array
from invrisk.amm._checks import as_float, broadcast_shape, out
from invrisk.amm.v3 import TokenAmounts
from invrisk.errors import InvalidArgumentError

__all__ = [
    "MAX_TICK",
    "MIN_TICK",
    "Q96",
    "Q128",
    "Q256",
    "TICK_BASE",
    "USDC_WETH_005",
    "USDC_WETH_030",
    "PoolSpec",
    "fee_growth_delta_x128",
    "fee_growth_inside_x128",
    "fees_from_fee_growth",
    "liquidity_from_raw",
    "liquidity_to_raw",
    "price_from_sqrt_price_x96",
    "price_from_tick",
    "tick_from_price",
]

Q96 = 2**96
Q128 = 2**128
Q256 = 2**256
TICK_BASE = 1.0001
MIN_TICK = -887272
MAX_TICK = 887272
_MAX_SQRT_PRICE_X96 = 2**160
_LOG_TICK_BASE = math.log(TICK_BASE)

# 1.0001 is not a binary fraction: np.power(1.0001, 200_000) inherits the base's representation
# error 200,000-fold (2e-12 relative). Instead 1.0001^t = exp(t·c_hi)·exp(t·c_lo) with
# ln(1.0001) = c_hi + c_lo from 50-digit decimal arithmetic, c_hi holding 32 significant bits
# so that t·c_hi is exact for |t| < 2^20: the result is good to a few ulps.
_LN_BASE = Decimal(10001).ln(Context(prec=50)) - Decimal(10000).ln(Context(prec=50))
_LN_BASE_HI = round(float(_LN_BASE) * 2.0**45) / 2.0**45
_LN_BASE_LO = float(_LN_BASE - Decimal(_LN_BASE_HI))


def _tick_ratio(tick: Float64Array) -> Float64Array:
    """1.0001^tick for integer-valued float ticks, |tick| <= MAX_TICK."""
    return np.asarray(np.exp(tick * _LN_BASE_HI) * np.exp(tick * _LN_BASE_LO), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """Token order, decimals, fee tier and risky side of a Uniswap v3 pool.

    Parameters
    ----------
    token0, token1
        Symbols, in the pool's order (token0 has the lower address).
    decimals0, decimals1
        ERC-20 decimals (0-77).
    fee_rate
        LP fee as a fraction of each swap's input amount (0.0005 for the 5 bp tier), in [0, 1).
    tick_spacing
        The pool's tick spacing (>= 1); positions start and end on multiples of it.
    risky_token
        0 or 1: the token whose price is quoted (the other is the quote token).
    address
        Pool address (documentation only).
    """

    token0: str
    token1: str
    decimals0: int
    decimals1: int
    fee_rate: float
    tick_spacing: int
    risky_token: Literal[0, 1]
    address: str = ""

    def __post_init__(self) -> None:
        for name in ("decimals0", "decimals1"):
            d = getattr(self, name)
            if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 77:
                raise InvalidArgumentError(name, d, "an integer in [0, 77]")
        f = self.fee_rate
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0.0 <= f < 1.0:
            raise InvalidArgumentError("fee_rate", f, "a fraction in [0, 1)")
        s = self.tick_spacing
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise InvalidArgumentError("tick_spacing", s, "an integer >= 1")
        if self.risky_token not in (0, 1) or isinstance(self.risky_token, bool):
            raise InvalidArgumentError("risky_token", self.risky_token, "0 or 1")

    @property
    def risky_symbol(self) -> str:
        return self.token0 if self.risky_token == 0 else self.token1

    @property
    def quote_symbol(self) -> str:
        return self.token1 if self.risky_token == 0 else self.token0

    @property
    def liquidity_scale(self) -> float:
        """10^((d0+d1)/2): raw liquidity per unit of human liquidity."""
        return float(10.0 ** ((self.decimals0 + self.decimals1) / 2))


USDC_WETH_005 = PoolSpec(
    token0="USDC",
    token1="WETH",
    decimals0=6,
    decimals1=18,
    fee_rate=0.0005,
    tick_spacing=10,
    risky_token=1,
    address="0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640",
)
"""Ethereum mainnet Uniswap v3 USDC/WETH 0.05% pool (prices in USDC per ETH)."""

USDC_WETH_030 = PoolSpec(
    token0="USDC",
    token1="WETH",
    decimals0=6,
    decimals1=18,
    fee_rate=0.003,
    tick_spacing=60,
    risky_token=1,
    address="0x8ad599c3a0ff1de082011efddc58f1908eb6e6d8",
)
"""Ethereum mainnet Uniswap v3 USDC/WETH 0.30% pool (prices in USDC per ETH)."""


def _check_pool(pool: object) -> PoolSpec:
    if not isinstance(pool, PoolSpec):
        raise InvalidArgumentError("pool", pool, "a PoolSpec")
    return pool


def _raw_to_price(p_raw: Float64Array, pool: PoolSpec) -> Float64Array:
    """Raw token1-per-token0 price -> human quote per risky."""
    scale = 10.0 ** (pool.decimals0 - pool.decimals1)
    if pool.risky_token == 0:
        return np.asarray(p_raw * scale, dtype=np.float64)
    return np.asarray(1.0 / (p_raw * scale), dtype=np.float64)


def _price_to_raw(price: Float64Array, pool: PoolSpec) -> Float64Array:
    scale = 10.0 ** (pool.decimals1 - pool.decimals0)
    if pool.risky_token == 0:
        return np.asarray(price * scale, dtype=np.float64)
    return np.asarray(scale / price, dtype=np.float64)


def _exact_int(value: object) -> int | None:
    """A Python int (or numpy integer or decimal-integer string) as int; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


def _exact_price(sqrt_price_x96: int, pool: PoolSpec) -> float:
    """Quote per risky from an exact sqrtPriceX96: one integer ratio, correctly rounded."""
    num, den = sqrt_price_x96 * sqrt_price_x96, Q96 * Q96  # p_raw = num / den
    shift = pool.decimals0 - pool.decimals1  # human token1 per token0 = p_raw · 10^shift
    if shift >= 0:
        num *= 10**shift
    else:
        den *= 10**-shift
    if pool.risky_token == 1:
        num, den = den, num
    return num / den


def price_from_sqrt_price_x96(*, sqrt_price_x96: ArrayLike, pool: PoolSpec) -> FloatOrArray:
    """Human price (quote per risky) from a pool's ``sqrtPriceX96``.

    Parameters
    ----------
    sqrt_price_x96
        sqrt(p_raw)·2^96 as an exact integer (Python ``int`` or decimal string, as the chain and
        the subgraph give it), a sequence of those, or floats. For exact integers the price is
        one integer ratio, correctly rounded to float64.
    pool
        The pool's :class:`PoolSpec`.

    Examples
    --------
    The first swap of the USDC/WETH 0.05% pool (2021-05-05, subgraph swap ``…#2``) left
    sqrtPriceX96 = 1358206768703179146794161129278934, an ETH price of 3402.73 USDC.

    >>> round(price_from_sqrt_price_x96(
    ...     sqrt_price_x96="1358206768703179146794161129278934", pool=USDC_WETH_005), 2)
    3402.73
    """
    spec = _check_pool(pool)
    items: Sequence[object] | None = None
    if isinstance(sqrt_price_x96, list | tuple) or (
        isinstance(sqrt_price_x96, np.ndarray) and sqrt_price_x96.dtype.kind in "OUS"
    ):
        items = list(np.asarray(sqrt_price_x96, dtype=object).ravel())
        shape = np.shape(np.asarray(sqrt_price_x96, dtype=object))
    else:
        single = _exact_int(sqrt_price_x96)
        if single is not None:
            items, shape = [single], ()
    if items is not None:
        ints = [_exact_int(v) for v in items]
        if all(v is not None for v in ints):
            exact = [int(v) for v in ints if v is not None]
            bad = [i for i, v in enumerate(exact) if not 0 < v < _MAX_SQRT_PRICE_X96]
            if bad:
                raise InvalidArgumentError(
                    "sqrt_price_x96",
                    f"{exact[bad[0]]} (element {bad[0]})",
                    "an integer in (0, 2^160)",
                )
            prices = [_exact_price(v, spec) for v in exact]
            return out(np.array(prices, dtype=np.float64).reshape(shape))
    s = as_float("sqrt_price_x96", sqrt_price_x96, lower=0.0)
    if (s >= _MAX_SQRT_PRICE_X96).any():
        raise InvalidArgumentError("sqrt_price_x96", s, "a value in (0, 2^160)")
    return out(_raw_to_price((s / Q96) ** 2, spec))


def _check_ticks(name: str, tick: ArrayLike) -> Int64Array:
    arr = np.asarray(tick)
    if arr.dtype.kind not in "iuf" or arr.dtype == np.bool_:
        raise InvalidArgumentError(name, tick, "an integer tick or an array of integer ticks")
    as_f = arr.astype(np.float64)
    bad = ~np.isfinite(as_f) | (as_f != np.round(as_f)) | (as_f < MIN_TICK) | (as_f > MAX_TICK)
    if bad.any():
        idx = int(np.flatnonzero(bad.ravel())[0])
        raise InvalidArgumentError(
            name, f"{arr.ravel()[idx]!r} (element {idx})", f"integers in [{MIN_TICK}, {MAX_TICK}]"
        )
    return as_f.astype(np.int64)


def price_from_tick(*, tick: ArrayLike, pool: PoolSpec) -> FloatOrArray:
    """Human price (quote per risky) at ``tick``: p_raw = 1.0001^tick, then decimals and side.

    Examples
    --------
    >>> round(price_from_tick(tick=194996, pool=USDC_WETH_005), 2)
    3402.94
    """
    spec = _check_pool(pool)
    t = _check_ticks("tick", tick)
    return out(_raw_to_price(_tick_ratio(t.astype(np.float64)), spec))


@overload
def tick_from_price(*, price: float, pool: PoolSpec) -> int: ...
@overload
def tick_from_price(*, price: ArrayLike, pool: PoolSpec) -> int | Int64Array: ...
def tick_from_price(*, price: ArrayLike, pool: PoolSpec) -> int | Int64Array:
    """The pool tick of a human price: the largest i with 1.0001^i <= p_raw (Uniswap's
    ``TickMath.getTickAtSqrtRatio``), p_raw the raw token1-per-token0 price.

    Exact except for prices within about 1e-15 (relative) of a tick boundary, where the float
    comparison 1.0001^i <= p_raw can round either way. For a risky token1 (USDC/WETH) a higher
    ETH price is a lower tick.

    Examples
    --------
    >>> tick_from_price(price=3402.73, pool=USDC_WETH_005)
    194996
    """
    spec = _check_pool(pool)
    p = as_float("price", price, lower=0.0)
    p_raw = _price_to_raw(p, spec)
    t = np.floor(np.log(p_raw) / _LOG_TICK_BASE)
    # One correction step each way absorbs the rounding of the logarithm.
    t = t + (_tick_ratio(t + 1.0) <= p_raw)
    t = t - (_tick_ratio(t) > p_raw)
    bad = (t < MIN_TICK) | (t > MAX_TICK)
    if bad.any():
        raise InvalidArgumentError("price", p, f"a price whose tick is in [{MIN_TICK}, {MAX_TICK}]")
    ticks = t.astype(np.int64)
    return int(ticks) if ticks.ndim == 0 else ticks


def liquidity_from_raw(*, liquidity_raw: ArrayLike, pool: PoolSpec) -> FloatOrArray:
    """Human liquidity L = L_raw / 10^((d0+d1)/2) from a pool's raw ``liquidity`` (>= 0).

    Examples
    --------
    >>> liquidity_from_raw(liquidity_raw=1.667e19, pool=USDC_WETH_005)
    16670000.0
    """
    spec = _check_pool(pool)
    raw = as_float("liquidity_raw", liquidity_raw, lower=0.0, strict=False)
    return out(raw / spec.liquidity_scale)


def liquidity_to_raw(*, liquidity: ArrayLike, pool: PoolSpec) -> FloatOrArray:
    """Raw liquidity L_raw = L·10^((d0+d1)/2) from human liquidity (>= 0)."""
    spec = _check_pool(pool)
    liq = as_float("liquidity", liquidity, lower=0.0, strict=False)
    return out(liq * spec.liquidity_scale)


@overload
def fee_growth_delta_x128(*, start_x128: int | str, end_x128: int | str) -> int: ...
@overload
def fee_growth_delta_x128(*, start_x128: ArrayLike, end_x128: ArrayLike) -> int | FloatOrArray: ...
def fee_growth_delta_x128(*, start_x128: ArrayLike, end_x128: ArrayLike) -> int | FloatOrArray:
    """Fee growth accrued between two readings of a fee-growth counter (Q128, raw units).

    Exact integers (Python ``int`` or decimal strings, as read from the chain) are differenced
    modulo 2^256, as the contract does (the counters are uint256 that may wrap). Floats (e.g.
    the subgraph's CSV exports) are differenced as floats and must not decrease: a decrease
    raises, naming the element, instead of being wrapped or clipped.

    Examples
    --------
    >>> fee_growth_delta_x128(start_x128=2**256 - 5, end_x128=7)
    12
    """
    a, b = _exact_int(start_x128), _exact_int(end_x128)
    if a is not None and b is not None:
        for name, v in (("start_x128", a), ("end_x128", b)):
            if not 0 <= v < Q256:
                raise InvalidArgumentError(name, v, "an integer in [0, 2^256)")
        return (b - a) % Q256
    s = as_float("start_x128", start_x128, lower=0.0, strict=False)
    e = as_float("end_x128", end_x128, lower=0.0, strict=False)
    broadcast_shape(start_x128=s, end_x128=e)
    delta = e - s
    bad = delta < 0.0
    if bad.any():
        idx = int(np.flatnonzero(np.broadcast_to(bad, delta.shape).ravel())[0])
        raise InvalidArgumentError(
            "end_x128",
            f"{float(np.ravel(delta)[idx])!r} below start_x128 (element {idx})",
            "fee growth that does not decrease (pass exact integers to difference uint256 "
            "counters modulo 2^256)",
        )
    return out(delta)


def fees_from_fee_growth(
    *,
    liquidity: ArrayLike,
    fee_growth0_delta_x128: ArrayLike,
    fee_growth1_delta_x128: ArrayLike,
    pool: PoolSpec,
) -> TokenAmounts:
    """Fees earned by ``liquidity`` (human units) over fee-growth increments of both tokens.

    Parameters
    ----------
    liquidity
        Human liquidity L >= 0 (:func:`liquidity_from_raw` for a pool's raw field), constant
        over the interval and in range whenever the fee growth passed in accrued: use the
        growth *inside* the position's range (:func:`fee_growth_inside_x128`), or the global
        growth for a full-range position.
    fee_growth0_delta_x128, fee_growth1_delta_x128
        Increments of feeGrowth{0,1}X128 (>= 0; :func:`fee_growth_delta_x128`).
    pool
        The pool's :class:`PoolSpec`.

    Returns
    -------
    TokenAmounts
        Fees in human units of the risky and the quote token.

    Examples
    --------
    The hour starting 2024-01-08 11:00 UTC in the USDC/WETH 0.05% pool (subgraph poolHourData):
    feeGrowthGlobal0X128 rose by 6.8898e27 and the in-range liquidity was 1.667e19 raw, i.e.
    16.67e6 human; that liquidity earned 16.67e6 · 6.8898e27/2^128 · 10^6 = 337.5 USDC.

    >>> f = fees_from_fee_growth(liquidity=16.67e6, fee_growth0_delta_x128=6.8898e27,
    ...                          fee_growth1_delta_x128=0.0, pool=USDC_WETH_005)
    >>> round(f.quote_qty, 1), f.risky_qty
    (337.5, 0.0)
    """
    spec = _check_pool(pool)
    liq = as_float("liquidity", liquidity, lower=0.0, strict=False)
    g0 = as_float("fee_growth0_delta_x128", fee_growth0_delta_x128, lower=0.0, strict=False)
    g1 = as_float("fee_growth1_delta_x128", fee_growth1_delta_x128, lower=0.0, strict=False)
    broadcast_shape(liquidity=liq, fee_growth0_delta_x128=g0, fee_growth1_delta_x128=g1)
    half = (spec.decimals1 - spec.decimals0) / 2
    fee0 = liq * (g0 / Q128) * 10.0**half
    fee1 = liq * (g1 / Q128) * 10.0 ** (-half)
    if spec.risky_token == 0:
        return TokenAmounts(out(fee0), out(fee1))
    return TokenAmounts(out(fee1), out(fee0))


def fee_growth_inside_x128(
    *,
    tick_current: int,
    tick_lower: int,
    tick_upper: int,
    fee_growth_global_x128: int,
    fee_growth_outside_lower_x128: int,
    fee_growth_outside_upper_x128: int,
) -> int:
    """Fee growth inside [tick_lower, tick_upper) for one token, exact uint256 arithmetic.

    Parameters
    ----------
    tick_current
        The pool's current tick.
    tick_lower, tick_upper
        The position's ticks (tick_lower < tick_upper).
    fee_growth_global_x128
        feeGrowthGlobal{0,1}X128 now.
    fee_growth_outside_lower_x128, fee_growth_outside_upper_x128
        The ticks' feeGrowthOutside{0,1}X128 now.

    Notes
    -----
    Whitepaper eq. 6.17-6.19 (``Tick.getFeeGrowthInside``): below = f_o(lower) if
    i_c >= i_lower else f_g - f_o(lower); above = f_o(upper) if i_c < i_upper else
    f_g - f_o(upper); inside = f_g - below - above, all modulo 2^256. Only differences of
    this value between two readings are meaningful (they are the fees per unit of raw
    liquidity, Q128).

    Examples
    --------
    A range entered once: outside values 100 (lower, crossed upward when global was 100) and
    0 (upper, never crossed), global now 250, price in range: 150 accrued inside.

    >>> fee_growth_inside_x128(tick_current=5, tick_lower=0, tick_upper=10,
    ...     fee_growth_global_x128=250, fee_growth_outside_lower_x128=100,
    ...     fee_growth_outside_upper_x128=0)
    150
    """
    ticks = {"tick_current": tick_current, "tick_lower": tick_lower, "tick_upper": tick_upper}
    for name, t in ticks.items():
        if isinstance(t, bool) or not isinstance(t, int | np.integer):
            raise InvalidArgumentError(name, t, "an integer tick")
        if not MIN_TICK <= int(t) <= MAX_TICK:
            raise InvalidArgumentError(name, t, f"an integer in [{MIN_TICK}, {MAX_TICK}]")
    if not int(tick_lower) < int(tick_upper):
        raise InvalidArgumentError(
            "tick_lower/tick_upper", (tick_lower, tick_upper), "tick_lower < tick_upper"
        )
    values = {
        "fee_growth_global_x128": fee_growth_global_x128,
        "fee_growth_outside_lower_x128": fee_growth_outside_lower_x128,
        "fee_growth_outside_upper_x128": fee_growth_outside_upper_x128,
    }
    exact: dict[str, int] = {}
    for name, v in values.items():
        iv = _exact_int(v)
        if iv is None or not 0 <= iv < Q256:
            raise InvalidArgumentError(name, v, "an exact integer in [0, 2^256)")
        exact[name] = iv
    fg = exact["fee_growth_global_x128"]
    fo_lo = exact["fee_growth_outside_lower_x128"]
    fo_hi = exact["fee_growth_outside_upper_x128"]
    below = fo_lo if tick_current >= tick_lower else (fg - fo_lo) % Q256
    above = fo_hi if tick_current < tick_upper else (fg - fo_hi) % Q256
    return (fg - below - above) % Q256
