"""Uniswap v3 concentrated-liquidity positions: token amounts, value, delta, gamma, impermanent
loss, liquidity from amounts. Vectorised over numpy arrays (broadcasting).

Conventions
-----------
A position holds two tokens: the **risky** token x (the one whose price is quoted, e.g. ETH) and
the **quote** token y (the numeraire, e.g. USDC). ``price`` is quote per risky in human units
(USDC per ETH), and values are in quote units (``*_quote``). This is the whitepaper's
orientation with x = token0 and y = token1. On chain the risky token may be token1 instead (in
the USDC/WETH pools USDC is token0, so the pool's own price is WETH per USDC): convert prices,
ticks, raw liquidity and fee growth with :mod:`invrisk.amm.pool`, never by hand.

``liquidity`` L is in human units, sqrt(risky units x quote units); a pool's raw ``liquidity``
field is converted with :func:`invrisk.amm.pool.liquidity_from_raw`. L does not depend on which
token is called token0.

Greeks use the units of the risk layer (:mod:`invrisk.risk.greeks`) with the quote token as the
USD leg: ``delta_qty`` = dV/dP in risky-token units (``delta_coin`` there),
``gamma_qty_per_quote`` = d²V/dP² (``gamma_coin_per_usd``) and ``cash_gamma_quote`` =
gamma·P² (``cash_gamma_usd``), the P&L of a relative move r being about cash_gamma·r²/2.

References
----------
H. Adams, N. Zinsmeister, M. Salem, R. Keefer, D. Robinson, "Uniswap v3 Core" (2021), §6.2-6.4
(eq. 6.29-6.30: amounts of a position; in [p_a, p_b], x = L(1/√P - 1/√p_b), y = L(√P - √p_a);
below p_a all x, above p_b all y).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, FloatOrArray
from invrisk.amm._checks import as_float, broadcast_shape, check_range, out
from invrisk.errors import InvalidArgumentError

__all__ = [
    "Benchmark",
    "PositionGreeks",
    "TokenAmounts",
    "V3Position",
    "v3_amounts",
    "v3_greeks",
    "v3_impermanent_loss",
    "v3_liquidity_for_value",
    "v3_liquidity_from_amounts",
    "v3_value",
]

Benchmark = Literal["initial_amounts", "fifty_fifty"]


@dataclass(frozen=True, slots=True)
class TokenAmounts:
    """Amounts of the two tokens (one element per input element).

    Attributes
    ----------
    risky_qty
        Amount of the risky token x (human units, e.g. ETH).
    quote_qty
        Amount of the quote token y (human units, e.g. USDC).
    """

    risky_qty: FloatOrArray
    quote_qty: FloatOrArray


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """Value and price sensitivities of an AMM position (units in the module docstring).

    Attributes
    ----------
    value_quote
        V = x·P + y, quote units.
    delta_qty
        dV/dP, risky-token units. For a Uniswap position it equals the risky amount held, x(P).
    gamma_qty_per_quote
        d²V/dP² = dx/dP, risky-token units per quote unit (<= 0: an LP is short gamma). Zero
        outside the range. At the range ends, where dx/dP jumps, it is the one-sided derivative
        from inside the range (the in-range formula holds on the closed interval).
    cash_gamma_quote
        gamma·P², quote units.
    risky_qty, quote_qty
        The token amounts (as :class:`TokenAmounts`).
    """

    value_quote: FloatOrArray
    delta_qty: FloatOrArray
    gamma_qty_per_quote: FloatOrArray
    cash_gamma_quote: FloatOrArray
    risky_qty: FloatOrArray
    quote_qty: FloatOrArray

    def as_dict(self) -> dict[str, FloatOrArray]:
        """The fields by name (for JSON output and tables)."""
        return {name: getattr(self, name) for name in self.__slots__}


def _position_inputs(
    liquidity: ArrayLike, price: ArrayLike, price_lower: ArrayLike, price_upper: ArrayLike
) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array]:
    liq = as_float("liquidity", liquidity, lower=0.0, strict=False)
    p = as_float("price", price, lower=0.0)
    lo, hi = _range_inputs(price_lower, price_upper)
    broadcast_shape(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    return liq, p, lo, hi


def _range_inputs(
    price_lower: ArrayLike, price_upper: ArrayLike
) -> tuple[Float64Array, Float64Array]:
    lo = as_float("price_lower", price_lower, lower=0.0, strict=False)
    hi = as_float("price_upper", price_upper, lower=0.0, allow_inf=True)
    check_range(lo, hi)
    return lo, hi


def _amounts(
    liq: Float64Array, p: Float64Array, lo: Float64Array, hi: Float64Array
) -> tuple[Float64Array, Float64Array]:
    # The whitepaper's formulas at the price moved into the range: below p_a the position is
    # what it holds at p_a (all x), above p_b what it holds at p_b (all y). This is the
    # position's own definition, not a clamp of the caller's price (value and gamma use the
    # price itself). With p_a = 0 and p_b = inf it is the v2 position x = L/√P, y = L√P.
    sp = np.sqrt(np.minimum(np.maximum(p, lo), hi))
    x = liq * (1.0 / sp - 1.0 / np.sqrt(hi))
    y = liq * (sp - np.sqrt(lo))
    return x, y


def v3_amounts(
    *, liquidity: ArrayLike, price: ArrayLike, price_lower: ArrayLike, price_upper: ArrayLike
) -> TokenAmounts:
    """Token amounts of a concentrated-liquidity position at ``price``.

    Parameters
    ----------
    liquidity
        L >= 0, sqrt(risky x quote) human units.
    price
        Quote per risky (> 0).
    price_lower, price_upper
        The range [p_a, p_b], 0 <= p_a < p_b <= inf (p_a = 0, p_b = inf is the full range, a v2
        position).

    Returns
    -------
    TokenAmounts
        x (risky) and y (quote), broadcast to the common shape; floats for scalar inputs.

    Notes
    -----
    With P' = min(max(P, p_a), p_b): x = L(1/√P' - 1/√p_b), y = L(√P' - √p_a)
    (Uniswap v3 whitepaper eq. 6.29-6.30).

    Examples
    --------
    Issue 9's worked values: L = 500, P = 4000, range [3000, 5000] holds 0.834626 ETH and
    4236.65 USDC (x = 500(1/√4000 - 1/√5000), y = 500(√4000 - √3000)).

    >>> a = v3_amounts(liquidity=500.0, price=4000.0, price_lower=3000.0, price_upper=5000.0)
    >>> round(a.risky_qty, 6), round(a.quote_qty, 2)
    (0.834626, 4236.65)
    """
    x, y = _amounts(*_position_inputs(liquidity, price, price_lower, price_upper))
    return TokenAmounts(out(x), out(y))


def v3_value(
    *, liquidity: ArrayLike, price: ArrayLike, price_lower: ArrayLike, price_upper: ArrayLike
) -> FloatOrArray:
    """Value V = x·P + y of the position in quote units (arguments as in :func:`v3_amounts`)."""
    liq, p, lo, hi = _position_inputs(liquidity, price, price_lower, price_upper)
    x, y = _amounts(liq, p, lo, hi)
    return out(x * p + y)


def _greeks(
    liq: Float64Array, p: Float64Array, lo: Float64Array, hi: Float64Array
) -> PositionGreeks:
    x, y = _amounts(liq, p, lo, hi)
    in_range = (p >= lo) & (p <= hi)
    gamma = np.where(in_range, -0.5 * liq / (p * np.sqrt(p)), 0.0)
    x, y, p, gamma = np.broadcast_arrays(x, y, p, gamma)
    return PositionGreeks(
        value_quote=out(x * p + y),
        delta_qty=out(np.array(x)),
        gamma_qty_per_quote=out(np.array(gamma)),
        cash_gamma_quote=out(gamma * p * p),
        risky_qty=out(np.array(x)),
        quote_qty=out(np.array(y)),
    )


def v3_greeks(
    *, liquidity: ArrayLike, price: ArrayLike, price_lower: ArrayLike, price_upper: ArrayLike
) -> PositionGreeks:
    """Value, delta and gamma of the position (arguments as in :func:`v3_amounts`).

    Notes
    -----
    V(P) = x(P)·P + y(P). In range dx/dP = -L/(2P^{3/2}) and dy/dP = L/(2√P) = -P dx/dP, so
    dV/dP = x: the delta is the risky amount held, in and out of the range. Gamma = dx/dP =
    -L/(2P^{3/2}) in [p_a, p_b] and 0 outside.

    Examples
    --------
    >>> g = v3_greeks(liquidity=500.0, price=4000.0, price_lower=3000.0, price_upper=5000.0)
    >>> round(g.value_quote, 2), round(g.delta_qty, 6), round(g.gamma_qty_per_quote, 9)
    (7575.15, 0.834626, -0.000988212)
    """
    return _greeks(*_position_inputs(liquidity, price, price_lower, price_upper))


def v3_liquidity_from_amounts(
    *,
    price: ArrayLike,
    price_lower: ArrayLike,
    price_upper: ArrayLike,
    risky_qty: ArrayLike,
    quote_qty: ArrayLike,
) -> FloatOrArray:
    """The largest liquidity whose amounts at ``price`` fit in ``risky_qty`` and ``quote_qty``.

    Below the range only the risky token counts, above it only the quote token; in range the
    smaller of the two liquidities is taken and the excess of the other token stays unused
    (Uniswap's ``LiquidityAmounts.getLiquidityForAmounts``, in real arithmetic).

    Parameters
    ----------
    price, price_lower, price_upper
        As in :func:`v3_amounts`.
    risky_qty, quote_qty
        Amounts available (>= 0), human units.

    Examples
    --------
    The worked position's own amounts give back L = 500:

    >>> round(v3_liquidity_from_amounts(price=4000.0, price_lower=3000.0, price_upper=5000.0,
    ...                                 risky_qty=0.834626, quote_qty=4236.65), 3)
    500.0
    """
    p = as_float("price", price, lower=0.0)
    lo, hi = _range_inputs(price_lower, price_upper)
    x = as_float("risky_qty", risky_qty, lower=0.0, strict=False)
    y = as_float("quote_qty", quote_qty, lower=0.0, strict=False)
    shape = broadcast_shape(price=p, price_lower=lo, price_upper=hi, risky_qty=x, quote_qty=y)
    p, lo, hi, x, y = (np.broadcast_to(a, shape) for a in (p, lo, hi, x, y))
    sp = np.sqrt(np.minimum(np.maximum(p, lo), hi))
    per_l_x = 1.0 / sp - 1.0 / np.sqrt(hi)  # risky amount per unit of liquidity
    per_l_y = sp - np.sqrt(lo)  # quote amount per unit of liquidity
    # A token the position does not hold at this price (amount per unit L == 0) sets no limit.
    from_x = np.divide(x, per_l_x, out=np.full(shape, np.inf), where=per_l_x > 0.0)
    from_y = np.divide(y, per_l_y, out=np.full(shape, np.inf), where=per_l_y > 0.0)
    return out(np.minimum(from_x, from_y))


def v3_liquidity_for_value(
    *, value_quote: ArrayLike, price: ArrayLike, price_lower: ArrayLike, price_upper: ArrayLike
) -> FloatOrArray:
    """Liquidity of a position worth ``value_quote`` at ``price`` in [p_a, p_b] (capital in
    quote units, >= 0, split between the tokens in the proportions the range requires).

    Examples
    --------
    >>> round(v3_liquidity_for_value(value_quote=7575.1535, price=4000.0, price_lower=3000.0,
    ...                              price_upper=5000.0), 3)
    500.0
    """
    v = as_float("value_quote", value_quote, lower=0.0, strict=False)
    one = np.ones(())
    _, p, lo, hi = _position_inputs(one, price, price_lower, price_upper)
    broadcast_shape(value_quote=v, price=p, price_lower=lo, price_upper=hi)
    x, y = _amounts(one, p, lo, hi)
    return out(v / (x * p + y))


def v3_impermanent_loss(
    *,
    price_entry: ArrayLike,
    price: ArrayLike,
    price_lower: ArrayLike,
    price_upper: ArrayLike,
    benchmark: Benchmark = "initial_amounts",
) -> FloatOrArray:
    """Impermanent loss: value of the position relative to a buy-and-hold benchmark, minus 1.

    Parameters
    ----------
    price_entry
        Price when the position was opened (> 0), quote per risky.
    price
        Price now (> 0).
    price_lower, price_upper
        The range, as in :func:`v3_amounts`.
    benchmark
        ``'initial_amounts'`` (default): hold the tokens the position held at entry, x0 and y0.
        ``'fifty_fifty'``: hold half of the entry value in each token. For a full-range (v2)
        position the two are the same portfolio.

    Returns
    -------
    float or ndarray
        V_LP(P)/V_hold(P) - 1, a fraction (<= 0 against ``'initial_amounts'``; fees are not
        included). Independent of the liquidity.

    Examples
    --------
    Full range, price x4: 2·√4/(1+4) - 1 = -20% (the v2 formula).

    >>> round(v3_impermanent_loss(price_entry=1.0, price=4.0, price_lower=0.0,
    ...                           price_upper=float("inf")), 12)
    -0.2
    """
    if benchmark not in ("initial_amounts", "fifty_fifty"):
        raise InvalidArgumentError("benchmark", benchmark, "'initial_amounts' or 'fifty_fifty'")
    one = np.ones(())
    p0 = as_float("price_entry", price_entry, lower=0.0)
    p = as_float("price", price, lower=0.0)
    lo, hi = _range_inputs(price_lower, price_upper)
    broadcast_shape(price_entry=p0, price=p, price_lower=lo, price_upper=hi)
    x0, y0 = _amounts(one, p0, lo, hi)
    x1, y1 = _amounts(one, p, lo, hi)
    lp = x1 * p + y1
    if benchmark == "initial_amounts":
        hold = x0 * p + y0
    else:
        v0 = x0 * p0 + y0
        hold = 0.5 * v0 * (p / p0) + 0.5 * v0
    return out(lp / hold - 1.0)


@dataclass(frozen=True, slots=True)
class V3Position:
    """A Uniswap v3 position: liquidity L in the price range [price_lower, price_upper].

    Parameters
    ----------
    liquidity
        L >= 0, sqrt(risky x quote) human units.
    price_lower, price_upper
        0 <= p_a < p_b <= inf, quote per risky (p_a = 0, p_b = inf: full range, i.e. v2).

    Examples
    --------
    >>> pos = V3Position(liquidity=500.0, price_lower=3000.0, price_upper=5000.0)
    >>> round(pos.value(4000.0), 2)
    7575.15
    """

    liquidity: float
    price_lower: float
    price_upper: float

    def __post_init__(self) -> None:
        liq = as_float("liquidity", self.liquidity, lower=0.0, strict=False)
        lo, hi = _range_inputs(self.price_lower, self.price_upper)
        for name, arr in (("liquidity", liq), ("price_lower", lo), ("price_upper", hi)):
            if arr.ndim != 0:
                raise InvalidArgumentError(
                    name, arr, "a scalar (use the v3_* functions for arrays)"
                )
        object.__setattr__(self, "liquidity", float(liq))
        object.__setattr__(self, "price_lower", float(lo))
        object.__setattr__(self, "price_upper", float(hi))

    @classmethod
    def from_amounts(
        cls,
        *,
        price: float,
        price_lower: float,
        price_upper: float,
        risky_qty: float,
        quote_qty: float,
    ) -> V3Position:
        """The largest position that ``risky_qty`` and ``quote_qty`` fund at ``price``."""
        liq = v3_liquidity_from_amounts(
            price=price,
            price_lower=price_lower,
            price_upper=price_upper,
            risky_qty=risky_qty,
            quote_qty=quote_qty,
        )
        return cls(float(liq), price_lower, price_upper)

    @classmethod
    def from_value(
        cls, *, value_quote: float, price: float, price_lower: float, price_upper: float
    ) -> V3Position:
        """The position worth ``value_quote`` at ``price``."""
        liq = v3_liquidity_for_value(
            value_quote=value_quote, price=price, price_lower=price_lower, price_upper=price_upper
        )
        return cls(float(liq), price_lower, price_upper)

    def _args(self) -> tuple[Float64Array, Float64Array, Float64Array]:
        return (
            np.asarray(self.liquidity, dtype=np.float64),
            np.asarray(self.price_lower, dtype=np.float64),
            np.asarray(self.price_upper, dtype=np.float64),
        )

    def amounts(self, price: ArrayLike) -> TokenAmounts:
        """Token amounts at ``price`` (quote per risky)."""
        liq, lo, hi = self._args()
        x, y = _amounts(liq, as_float("price", price, lower=0.0), lo, hi)
        return TokenAmounts(out(x), out(y))

    def value(self, price: ArrayLike) -> FloatOrArray:
        """Value in quote units at ``price``."""
        liq, lo, hi = self._args()
        p = as_float("price", price, lower=0.0)
        x, y = _amounts(liq, p, lo, hi)
        return out(x * p + y)

    def greeks(self, price: ArrayLike) -> PositionGreeks:
        """Value, delta and gamma at ``price`` (see :func:`v3_greeks`)."""
        liq, lo, hi = self._args()
        return _greeks(liq, as_float("price", price, lower=0.0), lo, hi)

    def delta(self, price: ArrayLike) -> FloatOrArray:
        """dV/dP in risky-token units (= the risky amount held)."""
        return self.greeks(price).delta_qty

    def gamma(self, price: ArrayLike) -> FloatOrArray:
        """d²V/dP² in risky-token units per quote unit."""
        return self.greeks(price).gamma_qty_per_quote

    def impermanent_loss(
        self, *, price_entry: ArrayLike, price: ArrayLike, benchmark: Benchmark = "initial_amounts"
    ) -> FloatOrArray:
        """See :func:`v3_impermanent_loss` (independent of the liquidity)."""
        return v3_impermanent_loss(
            price_entry=price_entry,
            price=price,
            price_lower=self.price_lower,
            price_upper=self.price_upper,
            benchmark=benchmark,
        )
