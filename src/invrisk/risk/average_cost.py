"""Average-cost bookkeeping of one position (layer 2): the running position and its average
entry, fill by fill.

Used by the PnL of journaled fills (:mod:`invrisk.store.pnl`, which averages the value of one
contract) and by the delta limits of a traded book (:mod:`invrisk.risk.delta_limits`, which
averages ``1 / price`` for an inverse contract's entry), so that both books follow the same
rules: a fill that opens or adds to the position moves the average to the quantity-weighted
mean of the old entry and the fill; a fill that reduces it leaves the average and realises
``closed × (unit − average) × sign(position)``; the part of a fill that flips the position
opens at the fill; a position within :data:`FLAT_QTY` of zero is flat (average 0).
"""

from __future__ import annotations

__all__ = ["FLAT_QTY", "average_cost"]

FLAT_QTY = 1e-12
"""|position| (contracts) at or below which a position is flat: float sums of lots."""


def average_cost(
    position: float, average: float, *, side: int, qty: float, unit: float
) -> tuple[float, float, float]:
    """``(position, average, realised)`` after a fill of ``qty`` contracts (> 0) bought
    (``side`` +1) or sold (-1) at ``unit`` (the averaged quantity per contract: a value, a
    price, or ``1 / price``); ``realised`` is in ``unit`` × contracts.

    Examples
    --------
    Buy 2 at 10, buy 2 at 20, sell 3 at 30: entry 15, 3 × (30 − 15) = 45 realised.

    >>> q, avg, _ = average_cost(0.0, 0.0, side=1, qty=2.0, unit=10.0)
    >>> q, avg, _ = average_cost(q, avg, side=1, qty=2.0, unit=20.0)
    >>> average_cost(q, avg, side=-1, qty=3.0, unit=30.0)
    (1.0, 15.0, 45.0)
    """
    new_q = position + side * qty
    if abs(position) <= FLAT_QTY or (position > 0) == (side > 0):  # opening or adding
        return new_q, (abs(position) * average + qty * unit) / abs(new_q), 0.0
    closed = min(qty, abs(position))  # reducing, maybe through zero
    realised = closed * (unit - average) * (1.0 if position > 0 else -1.0)
    if abs(new_q) <= FLAT_QTY:
        return 0.0, 0.0, realised
    if qty > closed:  # flipped: the rest opens at this fill
        return new_q, unit, realised
    return new_q, average, realised
