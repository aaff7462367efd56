"""Uniswap v2 (constant product x·y = L²) positions: amounts, value, delta, gamma, impermanent
loss. Closed forms written out on their own (not by calling :mod:`invrisk.amm.v3`), so that the
tests can check v3 with the range [p_a -> 0, p_b -> inf] against them.

Units and orientation as in :mod:`invrisk.amm.v3`: x is the risky token, y the quote token,
price P = y/x in quote per risky, L = sqrt(x·y) in human units, values in quote units.

References
----------
H. Adams, N. Zinsmeister, D. Robinson, "Uniswap v2 Core" (2020), §2 (x·y = k).
H. Adams et al., "Uniswap v3 Core" (2021), §6.2 (virtual reserves x = L/√P, y = L√P).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrisk._typing import ArrayLike, FloatOrArray
from invrisk.amm._checks import as_float, broadcast_shape, out
from invrisk.amm.v3 import PositionGreeks, TokenAmounts, V3Position
from invrisk.errors import InvalidArgumentError

__all__ = [
    "V2Position",
    "v2_amount_out",
    "v2_amounts",
    "v2_greeks",
    "v2_impermanent_loss",
    "v2_liquidity_from_reserves",
    "v2_value",
]


def v2_amount_out(
    *, amount_in: ArrayLike, reserve_in: ArrayLike, reserve_out: ArrayLike, fee: float = 0.003
) -> FloatOrArray:
    """Tokens out of a constant-product pool for ``amount_in`` (same units as the reserves).

    The input is charged ``fee`` (0.3% in Uniswap v2) and the rest keeps the product constant:
    ``out = a (1 − f) R_out / (R_in + a (1 − f))`` (Adams et al. 2020, §3.2.1; the pair
    contract checks ``(x·1000 − 3·a_in)·y' >= x·y·1000`` and the router's ``getAmountOut``
    computes this in integers, rounding down). The marginal price before the trade is
    ``(1 − f) R_out / R_in``; the execution price falls as ``amount_in`` grows.

    Examples
    --------
    >>> round(v2_amount_out(amount_in=1.0, reserve_in=100.0, reserve_out=200.0), 6)
    1.974316
    """
    a = as_float("amount_in", amount_in, lower=0.0, strict=False)
    r_in = as_float("reserve_in", reserve_in, lower=0.0)
    r_out = as_float("reserve_out", reserve_out, lower=0.0)
    if not (isinstance(fee, int | float) and 0.0 <= fee < 1.0):
        raise InvalidArgumentError("fee", fee, "a fraction in [0, 1)")
    broadcast_shape(amount_in=a, reserve_in=r_in, reserve_out=r_out)
    net = a * (1.0 - fee)
    return out(net * r_out / (r_in + net))


def v2_amounts(*, liquidity: ArrayLike, price: ArrayLike) -> TokenAmounts:
    """Reserves of a constant-product position: x = L/√P (risky), y = L√P (quote).

    Examples
    --------
    >>> a = v2_amounts(liquidity=10.0, price=4.0)
    >>> a.risky_qty, a.quote_qty
    (5.0, 20.0)
    """
    liq = as_float("liquidity", liquidity, lower=0.0, strict=False)
    p = as_float("price", price, lower=0.0)
    broadcast_shape(liquidity=liq, price=p)
    sp = np.sqrt(p)
    return TokenAmounts(out(liq / sp), out(liq * sp))


def v2_value(*, liquidity: ArrayLike, price: ArrayLike) -> FloatOrArray:
    """Value V = x·P + y = 2L√P, quote units."""
    liq = as_float("liquidity", liquidity, lower=0.0, strict=False)
    p = as_float("price", price, lower=0.0)
    broadcast_shape(liquidity=liq, price=p)
    return out(2.0 * liq * np.sqrt(p))


def v2_greeks(*, liquidity: ArrayLike, price: ArrayLike) -> PositionGreeks:
    """Value, delta and gamma of a constant-product position.

    Notes
    -----
    V = 2L√P, delta = dV/dP = L/√P = x, gamma = d²V/dP² = -L/(2P^{3/2}), cash gamma = gamma·P²
    = -V/4 (units as in :class:`~invrisk.amm.v3.PositionGreeks`).
    """
    liq = as_float("liquidity", liquidity, lower=0.0, strict=False)
    p = as_float("price", price, lower=0.0)
    broadcast_shape(liquidity=liq, price=p)
    liq, p = np.broadcast_arrays(liq, p)
    sp = np.sqrt(p)
    gamma = -0.5 * liq / (p * sp)
    return PositionGreeks(
        value_quote=out(2.0 * liq * sp),
        delta_qty=out(liq / sp),
        gamma_qty_per_quote=out(gamma),
        cash_gamma_quote=out(gamma * p * p),
        risky_qty=out(liq / sp),
        quote_qty=out(liq * sp),
    )


def v2_liquidity_from_reserves(*, risky_qty: ArrayLike, quote_qty: ArrayLike) -> FloatOrArray:
    """L = sqrt(x·y) from reserves (>= 0, human units)."""
    x = as_float("risky_qty", risky_qty, lower=0.0, strict=False)
    y = as_float("quote_qty", quote_qty, lower=0.0, strict=False)
    broadcast_shape(risky_qty=x, quote_qty=y)
    return out(np.sqrt(x * y))


def v2_impermanent_loss(*, price_ratio: ArrayLike) -> FloatOrArray:
    """Impermanent loss of a constant-product position, 2√r/(1+r) - 1, with r = P/P_entry > 0.

    The benchmark is holding the tokens deposited at entry; a v2 deposit is 50/50 by value, so
    this is also the loss against holding 50/50 without rebalancing. Fees are not included.

    Examples
    --------
    Price x4: 2·2/5 - 1 = -20%; price x2: 2√2/3 - 1 = -5.72%.

    >>> round(v2_impermanent_loss(price_ratio=4.0), 12)
    -0.2
    >>> round(v2_impermanent_loss(price_ratio=2.0), 4)
    -0.0572
    """
    r = as_float("price_ratio", price_ratio, lower=0.0)
    return out(2.0 * np.sqrt(r) / (1.0 + r) - 1.0)


@dataclass(frozen=True, slots=True)
class V2Position:
    """A constant-product (Uniswap v2) position with liquidity L = sqrt(x·y) >= 0.

    Examples
    --------
    >>> V2Position(liquidity=10.0).value(4.0)
    40.0
    """

    liquidity: float

    def __post_init__(self) -> None:
        liq = as_float("liquidity", self.liquidity, lower=0.0, strict=False)
        if liq.ndim != 0:
            raise InvalidArgumentError("liquidity", liq, "a scalar (use the v2_* functions)")
        object.__setattr__(self, "liquidity", float(liq))

    @classmethod
    def from_reserves(cls, *, risky_qty: float, quote_qty: float) -> V2Position:
        """The position holding the reserves ``risky_qty`` and ``quote_qty``."""
        return cls(float(v2_liquidity_from_reserves(risky_qty=risky_qty, quote_qty=quote_qty)))

    def as_v3(self) -> V3Position:
        """The same position as a v3 position on the full range [0, inf]."""
        return V3Position(self.liquidity, 0.0, float("inf"))

    def amounts(self, price: ArrayLike) -> TokenAmounts:
        """Reserves at ``price``."""
        return v2_amounts(liquidity=self.liquidity, price=price)

    def value(self, price: ArrayLike) -> FloatOrArray:
        """Value in quote units at ``price``."""
        return v2_value(liquidity=self.liquidity, price=price)

    def greeks(self, price: ArrayLike) -> PositionGreeks:
        """Value, delta and gamma at ``price``."""
        return v2_greeks(liquidity=self.liquidity, price=price)

    def delta(self, price: ArrayLike) -> FloatOrArray:
        """dV/dP in risky-token units."""
        return self.greeks(price).delta_qty

    def gamma(self, price: ArrayLike) -> FloatOrArray:
        """d²V/dP² in risky-token units per quote unit."""
        return self.greeks(price).gamma_qty_per_quote

    def impermanent_loss(self, *, price_entry: ArrayLike, price: ArrayLike) -> FloatOrArray:
        """See :func:`v2_impermanent_loss` (independent of the liquidity)."""
        p0 = as_float("price_entry", price_entry, lower=0.0)
        p = as_float("price", price, lower=0.0)
        broadcast_shape(price_entry=p0, price=p)
        return v2_impermanent_loss(price_ratio=p / p0)
