"""Volatility shocks: parallel, term-structure weighted, relative, and skew (rotation).

A :class:`VolShock` moves every implied vol of a surface:

    σ'(k, T) = σ(k, T) · (1 + relative · W(T)) + parallel · W(T) + skew · k,
    W(T) = (reference_days / days_to_expiry)^power,

so ``power = 0`` is a flat shock, and ``power > 0`` shocks short expiries more than long ones,
the form exchange margin grids use (Deribit's portfolio margin scales its vol shock by
(30 / DTE)^p, with p about 0.3 below 30 days and 0.13 above — make every number configurable).
``skew`` rotates each smile around the forward (k = ln(K/F)): a negative skew raises put-side
vols and lowers call-side vols. A shocked vol that is not positive evaluates to NaN rather than
being floored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = ["VolShock", "term_weight"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VolShock:
    """A vol shock (all parts optional; see the module docstring).

    Attributes
    ----------
    parallel
        Additive vol change (decimal: 0.05 = +5 vol points) at the reference maturity.
    relative
        Multiplicative change at the reference maturity (0.5 = vols × 1.5).
    skew
        Vol change per unit of log-moneyness (decimal vol per 1.0 of k).
    reference_days
        Days to expiry at which the term weight W is 1 (> 0).
    power
        Term-structure exponent p of W = (reference_days / days)^p, >= 0.
    """

    parallel: float = 0.0
    relative: float = 0.0
    skew: float = 0.0
    reference_days: float = 30.0
    power: float = 0.0

    def __post_init__(self) -> None:
        for name in ("parallel", "relative", "skew", "reference_days", "power"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise InvalidArgumentError(name, value, "a finite number")
        if not self.reference_days > 0.0:
            raise InvalidArgumentError("reference_days", self.reference_days, "days > 0")
        if self.power < 0.0:
            raise InvalidArgumentError("power", self.power, "an exponent >= 0")

    def as_array(self) -> Float64Array:
        """(relative, parallel, skew, reference_days, power), the kernel's layout."""
        return np.array([self.relative, self.parallel, self.skew, self.reference_days, self.power])

    def as_dict(self) -> dict[str, float]:
        return {
            "parallel": self.parallel,
            "relative": self.relative,
            "skew": self.skew,
            "reference_days": self.reference_days,
            "power": self.power,
        }


def term_weight(days: ArrayLike, *, reference_days: float = 30.0, power: float) -> Float64Array:
    """W = (reference_days / days)^power for days to expiry > 0.

    Examples
    --------
    A 7-day option under Deribit-style weighting with p = 0.3 takes (30/7)^0.3 = 1.55 times the
    30-day shock.

    >>> round(float(term_weight(7.0, power=0.3)), 4)
    1.5474
    """
    d = np.asarray(days, dtype=np.float64)
    if not np.all(d > 0.0):
        raise InvalidArgumentError("days", "values <= 0", "days to expiry > 0")
    return np.asarray((reference_days / d) ** power)
