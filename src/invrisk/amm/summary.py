"""One-look summary of an LP position: amounts, value, Greeks, IL at moves, LVR and break-even.

:func:`lp_position_summary` gathers what ``invrisk lp`` prints for a position at one price:
the token amounts (:func:`~invrisk.amm.v3.v3_amounts`), value, delta, gamma
(:func:`~invrisk.amm.v3.v3_greeks`), the impermanent loss against holding the current tokens
after relative price moves (:func:`~invrisk.amm.v3.v3_impermanent_loss`), and, given a
volatility, the LVR rate (:func:`~invrisk.amm.lvr.lvr_rate`) and the fee income per year that
pays for it (:func:`~invrisk.amm.lvr.break_even_fee_apr`).

Units: prices in quote per risky, values in quote units, delta in risky units, gamma in risky
units per quote unit, LVR in quote units per year (and per day, /365), rates as fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from invrisk.amm.lvr import break_even_fee_apr, lvr_rate
from invrisk.amm.v3 import v3_greeks, v3_impermanent_loss
from invrisk.errors import InvalidArgumentError
from invrisk.units import DAYS_PER_YEAR

__all__ = ["DEFAULT_MOVES", "LpPositionSummary", "lp_position_summary"]

DEFAULT_MOVES = (-0.5, -0.25, -0.1, -0.05, 0.05, 0.1, 0.25, 0.5)
"""Relative price moves at which the impermanent loss is reported."""


@dataclass(frozen=True, slots=True)
class LpPositionSummary:
    """See :func:`lp_position_summary` (units in the module docstring)."""

    liquidity: float
    price: float
    price_lower: float
    price_upper: float
    in_range: bool
    risky_qty: float
    quote_qty: float
    value_quote: float
    delta_qty: float
    gamma_qty_per_quote: float
    cash_gamma_quote: float
    moves: tuple[float, ...]
    impermanent_loss: tuple[float, ...]
    impermanent_loss_quote: tuple[float, ...]
    vol: float | None
    lvr_quote_per_yr: float | None
    lvr_quote_per_day: float | None
    break_even_fee_apr: float | None

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def lp_position_summary(
    *,
    liquidity: float,
    price: float,
    price_lower: float,
    price_upper: float,
    vol: float | None = None,
    moves: tuple[float, ...] = DEFAULT_MOVES,
) -> LpPositionSummary:
    """Amounts, value, Greeks, IL after ``moves``, LVR and break-even fee APR at ``price``.

    ``impermanent_loss`` is V_LP(P(1+m))/V_hold(P(1+m)) - 1 against holding the tokens the
    position holds at ``price`` (a fraction, <= 0), and ``impermanent_loss_quote`` the same in
    quote units. Without ``vol`` the LVR fields are None.

    Examples
    --------
    Issue 9's worked position at σ = 80%: ℓ = σ²L√P/4 = 0.64·500·√4000/4 = 5059.6 USDC a year.

    >>> s = lp_position_summary(liquidity=500.0, price=4000.0, price_lower=3000.0,
    ...                         price_upper=5000.0, vol=0.8)
    >>> round(s.risky_qty, 6), round(s.quote_qty, 2), round(s.lvr_quote_per_yr, 1)
    (0.834626, 4236.65, 5059.6)
    """
    g = v3_greeks(
        liquidity=liquidity, price=price, price_lower=price_lower, price_upper=price_upper
    )
    m = np.asarray(moves, dtype=np.float64)
    if m.ndim != 1 or not np.all(np.isfinite(m) & (m > -1.0)):
        raise InvalidArgumentError("moves", moves, "relative moves > -1")
    moved = price * (1.0 + m)
    il = np.asarray(
        v3_impermanent_loss(
            price_entry=price, price=moved, price_lower=price_lower, price_upper=price_upper
        )
    )
    x, y = float(g.risky_qty), float(g.quote_qty)
    hold = x * moved + y
    lvr: float | None = None
    be: float | None = None
    if vol is not None:
        if isinstance(vol, bool) or not isinstance(vol, int | float) or not vol >= 0.0:
            raise InvalidArgumentError("vol", vol, "an annualised volatility >= 0")
        if not math.isfinite(vol):
            raise InvalidArgumentError("vol", vol, "a finite annualised volatility >= 0")
        lvr = float(
            lvr_rate(
                liquidity=liquidity,
                price=price,
                price_lower=price_lower,
                price_upper=price_upper,
                vol=vol,
            )
        )
        be = float(
            break_even_fee_apr(
                price=price, price_lower=price_lower, price_upper=price_upper, vol=vol
            )
        )
    return LpPositionSummary(
        liquidity=float(liquidity),
        price=float(price),
        price_lower=float(price_lower),
        price_upper=float(price_upper),
        in_range=bool(price_lower <= price <= price_upper),
        risky_qty=x,
        quote_qty=y,
        value_quote=float(g.value_quote),
        delta_qty=float(g.delta_qty),
        gamma_qty_per_quote=float(g.gamma_qty_per_quote),
        cash_gamma_quote=float(g.cash_gamma_quote),
        moves=tuple(float(v) for v in m),
        impermanent_loss=tuple(float(v) for v in il),
        impermanent_loss_quote=tuple(float(v) for v in il * hold),
        vol=None if vol is None else float(vol),
        lvr_quote_per_yr=lvr,
        lvr_quote_per_day=None if lvr is None else lvr / DAYS_PER_YEAR,
        break_even_fee_apr=be,
    )
