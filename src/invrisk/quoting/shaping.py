"""Order-size shaping, hard inventory limits, the minimum spread and tick rounding.

These run after a quoting model: the model says where to quote (:class:`Quotes`), this module
says how much and turns prices into orders a venue accepts.

- :func:`shaped_sizes` — sizes that shrink on the side that adds to the inventory, capped so a
  full fill never takes ``|q|`` beyond ``q_max``, rounded *down* to the lot.
- :func:`floor_spread` — widen quotes to a minimum spread around their centre.
- :func:`round_quotes` — bid down and ask up to the tick grid, never through the touch unless
  asked.

Units: ``q``, sizes, ``q_max``, ``lot_size`` in the same quantity unit (base asset or
contracts); prices, ``tick`` and ``min_spread`` in price units; ``eta`` per quantity unit.

References
----------
.. [FGH18] T. Fushimi, C. González Rojas, M. Herman, "Optimal high-frequency market making",
   Stanford University report, 2018, Sec. 4 (order-size shaping
   ``q_bid = Q0 e^{-η q}`` for ``q > 0``, ``q_ask = Q0 e^{η q}`` for ``q < 0``); the same rule
   is hummingbot's ``order_amount_shape_factor`` in its Avellaneda market-making strategy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.base import Quotes, check_finite, check_nonnegative, check_positive

__all__ = [
    "RoundedQuotes",
    "ShapedSizes",
    "floor_spread",
    "lots_down",
    "round_down_to_lot",
    "round_quotes",
    "shaped_sizes",
]

_GRID_TOL = 1e-9
"""A price within this many ticks of a grid point is on it (float representation, not a fix)."""


def lots_down(qty: float, lot_size: float) -> int:
    """Whole lots in ``qty`` rounded down: ``floor(qty / lot_size)`` (``qty >= 0``).

    A quantity within ``1e-9`` lot below a whole number of lots counts as that number
    (``0.3 / 0.1 = 2.9999999999999996`` is 3 lots): float representation, not rounding up.
    The size ``n * lot_size`` may then differ from ``qty`` in the last bit, never by more.

    Examples
    --------
    >>> lots_down(0.3, 0.1), lots_down(0.29, 0.1), lots_down(0.0, 0.1)
    (3, 2, 0)
    """
    lot = check_positive("lot_size", lot_size)
    x = check_nonnegative("qty", qty)
    return math.floor(x / lot + _GRID_TOL)


def round_down_to_lot(qty: float, lot_size: float) -> float:
    """``lots_down(qty, lot_size) * lot_size``: the size rounded down to the lot."""
    return lots_down(qty, lot_size) * float(lot_size)


# --- sizes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShapedSizes:
    """Bid and ask sizes for one inventory.

    Attributes
    ----------
    bid_size, ask_size
        Order sizes (whole lots, quantity units); 0.0 on a side that is not quoted.
    bid_lots, ask_lots
        The same in lots.
    bid_quoted, ask_quoted
        ``False`` when less than one lot fits before the limit (or the shaped size rounds to 0).
    bid_limited, ask_limited
        ``True`` when the room to ``±q_max`` (not the shape) set the size on that side.
    """

    bid_size: float
    ask_size: float
    bid_lots: int
    ask_lots: int
    bid_quoted: bool
    ask_quoted: bool
    bid_limited: bool
    ask_limited: bool


def shaped_sizes(
    *, q: float, base_size: float, eta: float, q_max: float, lot_size: float
) -> ShapedSizes:
    """Order sizes that shrink with the inventory on the side that would add to it.

    Parameters
    ----------
    q
        Inventory (quantity units, long positive). ``|q| > q_max`` is allowed (a position can
        overshoot through other fills): the side that adds to it is then not quoted.
    base_size
        Size at zero inventory, > 0.
    eta
        Shape factor η >= 0, per quantity unit (0: constant size).
    q_max
        Hard inventory limit, > 0: a full fill of either order never takes ``|q|`` above it.
    lot_size
        Venue lot, > 0; sizes are rounded down to it, never up.

    Notes
    -----
    Following [FGH18]_::

        bid_raw = base · exp(−η q)  if q > 0 else base     (a bid fill adds to q)
        ask_raw = base · exp(+η q)  if q < 0 else base     (an ask fill takes from q)

    then ``bid = lots_down(min(bid_raw, q_max − q))``, ``ask = lots_down(min(ask_raw, q_max +
    q))``; a side with 0 lots is not quoted. Symmetric: ``sizes(−q)`` swaps bid and ask.

    Examples
    --------
    >>> s = shaped_sizes(q=2.0, base_size=1.0, eta=0.5, q_max=2.5, lot_size=0.1)
    >>> round(s.bid_size, 10), s.bid_limited, s.ask_size
    (0.3, False, 1.0)
    """
    qq = check_finite("q", q)
    base = check_positive("base_size", base_size)
    e = check_nonnegative("eta", eta)
    qm = check_positive("q_max", q_max)
    lot = check_positive("lot_size", lot_size)
    bid_raw = base * math.exp(-e * qq) if qq > 0.0 else base
    ask_raw = base * math.exp(e * qq) if qq < 0.0 else base
    bid_room = max(qm - qq, 0.0)
    ask_room = max(qm + qq, 0.0)
    bid_lots = lots_down(min(bid_raw, bid_room), lot)
    ask_lots = lots_down(min(ask_raw, ask_room), lot)
    return ShapedSizes(
        bid_size=bid_lots * lot,
        ask_size=ask_lots * lot,
        bid_lots=bid_lots,
        ask_lots=ask_lots,
        bid_quoted=bid_lots > 0,
        ask_quoted=ask_lots > 0,
        bid_limited=bid_room < bid_raw,
        ask_limited=ask_room < ask_raw,
    )


# --- spread floor and tick rounding ---------------------------------------------------------


def floor_spread(quotes: Quotes, *, min_spread: float) -> Quotes:
    """Widen ``quotes`` symmetrically about their centre so that ``ask − bid >= min_spread``.

    Only applies when both sides are quoted; a quote already wider is returned unchanged.
    Depths are recomputed from the implied reference ``bid + bid_depth``.
    """
    floor = check_nonnegative("min_spread", min_spread)
    if not (quotes.bid_quoted and quotes.ask_quoted) or quotes.ask - quotes.bid >= floor:
        return quotes
    centre = 0.5 * (quotes.bid + quotes.ask)
    ref = quotes.bid + quotes.bid_depth
    bid = centre - 0.5 * floor
    ask = centre + 0.5 * floor
    return Quotes(ref - bid, ask - ref, bid, ask, True, True)


@dataclass(frozen=True, slots=True)
class RoundedQuotes:
    """Quotes on the tick grid.

    Attributes
    ----------
    bid, ask
        Prices ``bid_tick * tick`` and ``ask_tick * tick``; ``nan`` on a side not quoted.
    bid_tick, ask_tick
        Integer tick indices (``None`` on a side not quoted).
    bid_quoted, ask_quoted
        As in the input quotes.
    bid_capped, ask_capped
        ``True`` when the touch cap moved the side (the bid was at or above the best ask, the
        ask at or below the best bid): the order would otherwise have crossed.
    floor_bound
        ``True`` when ``min_spread`` widened the quotes.
    """

    bid: float
    ask: float
    bid_tick: int | None
    ask_tick: int | None
    bid_quoted: bool
    ask_quoted: bool
    bid_capped: bool
    ask_capped: bool
    floor_bound: bool

    @property
    def spread(self) -> float:
        return self.ask - self.bid


def _grid_tick(name: str, price: float, tick: float) -> int:
    p = check_finite(name, price)
    x = p / tick
    n = round(x)
    if abs(x - n) > 1e-6:
        raise InvalidArgumentError(name, price, f"a price on the tick grid (tick={tick})")
    return n


def round_quotes(
    quotes: Quotes,
    *,
    tick: float,
    best_bid: float,
    best_ask: float,
    allow_cross: bool = False,
    min_spread: float = 0.0,
) -> RoundedQuotes:
    """Round quotes to the tick grid: bid down, ask up, never through the touch unless asked.

    Parameters
    ----------
    quotes
        Unrounded quotes (e.g. a quoting model's); unquoted sides stay unquoted.
    tick
        Tick size, price units, > 0.
    best_bid, best_ask
        The book's touch, on the grid, ``best_bid < best_ask``.
    allow_cross
        ``False`` (default): the bid is capped at ``best_ask − tick`` and the ask floored at
        ``best_bid + tick``, so neither order takes liquidity; ``bid_capped``/``ask_capped``
        report when the cap bound. ``True``: no cap (the caller wants to take).
    min_spread
        Minimum ``ask − bid``, price units, >= 0, applied before rounding with
        :func:`floor_spread`. Rounding outwards and the touch caps only widen, so the rounded
        spread respects it.

    Raises
    ------
    InvalidArgumentError
        If the rounded bid is not below the rounded ask (quotes that cross each other: use a
        ``min_spread`` of at least one tick).

    Examples
    --------
    >>> from invrisk.quoting.base import Quotes
    >>> r = round_quotes(Quotes(0.0, 0.0, 100.27, 100.33, True, True),
    ...                  tick=0.1, best_bid=100.0, best_ask=100.2)
    >>> r.bid_tick, r.ask_tick, r.bid_capped
    (1001, 1004, True)
    """
    tk = check_positive("tick", tick)
    bb = _grid_tick("best_bid", best_bid, tk)
    ba = _grid_tick("best_ask", best_ask, tk)
    if bb >= ba:
        raise InvalidArgumentError("best_ask", best_ask, f"a price above best_bid={best_bid}")
    if quotes.bid_quoted:
        check_finite("quotes.bid", quotes.bid)
    if quotes.ask_quoted:
        check_finite("quotes.ask", quotes.ask)
    floored = floor_spread(quotes, min_spread=min_spread)
    floor_bound = floored is not quotes
    bid_tick: int | None = None
    ask_tick: int | None = None
    bid_capped = ask_capped = False
    if floored.bid_quoted:
        bid_tick = math.floor(floored.bid / tk + _GRID_TOL)
        if not allow_cross and bid_tick > ba - 1:
            bid_tick, bid_capped = ba - 1, True
    if floored.ask_quoted:
        ask_tick = math.ceil(floored.ask / tk - _GRID_TOL)
        if not allow_cross and ask_tick < bb + 1:
            ask_tick, ask_capped = bb + 1, True
    if bid_tick is not None and ask_tick is not None and bid_tick >= ask_tick:
        raise InvalidArgumentError(
            "quotes",
            f"bid tick {bid_tick} >= ask tick {ask_tick} after rounding",
            "a bid below the ask (set min_spread to at least one tick)",
        )
    return RoundedQuotes(
        bid=math.nan if bid_tick is None else bid_tick * tk,
        ask=math.nan if ask_tick is None else ask_tick * tk,
        bid_tick=bid_tick,
        ask_tick=ask_tick,
        bid_quoted=floored.bid_quoted,
        ask_quoted=floored.ask_quoted,
        bid_capped=bid_capped,
        ask_capped=ask_capped,
        floor_bound=floor_bound,
    )
