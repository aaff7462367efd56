"""The quoting-model protocol, its input state and its frozen result.

A quoting model is a pure decision: given the inventory ``q``, the time ``t_ns`` and the
market state (the reference price), it returns where to quote. Depths are measured from the
reference price in price units (``bid = mid - bid_depth``, ``ask = mid + ask_depth``), before
any rounding to the tick grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from invrisk.errors import InvalidArgumentError

__all__ = ["ModelState", "Quotes", "QuotingModel"]

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ModelState:
    """Market state a quoting model reads.

    Attributes
    ----------
    mid
        Reference price ``s`` (price units, e.g. USD or ticks) the depths are measured from.
    """

    mid: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.mid):
            raise InvalidArgumentError("mid", self.mid, "a finite price")


@dataclass(frozen=True, slots=True)
class Quotes:
    """Optimal bid/ask of one quoting decision.

    Attributes
    ----------
    bid_depth, ask_depth
        Distances from the reference price, price units (``mid - bid``, ``ask - mid``); may be
        negative (a quote through the mid). ``nan`` for a side that is not quoted.
    bid, ask
        Prices before tick rounding; ``nan`` for a side that is not quoted.
    bid_quoted, ask_quoted
        ``False`` when the side is withdrawn because the inventory is at its bound (no bid at
        ``+q_max``, no ask at ``-q_max``).
    """

    bid_depth: float
    ask_depth: float
    bid: float
    ask: float
    bid_quoted: bool = True
    ask_quoted: bool = True

    @property
    def spread(self) -> float:
        """``ask - bid`` (``nan`` if a side is not quoted)."""
        return self.ask - self.bid


def make_quotes(
    mid: float, bid_depth: float, ask_depth: float, *, bid_quoted: bool, ask_quoted: bool
) -> Quotes:
    """Build :class:`Quotes` from depths, blanking a withdrawn side with ``nan``."""
    nan = math.nan
    bd = bid_depth if bid_quoted else nan
    ad = ask_depth if ask_quoted else nan
    return Quotes(bd, ad, mid - bd, mid + ad, bid_quoted, ask_quoted)


@runtime_checkable
class QuotingModel(Protocol):
    """Anything that turns inventory, time and market state into :class:`Quotes`."""

    def quotes(self, *, q: float, t_ns: int, state: ModelState) -> Quotes:
        """Optimal quotes for inventory ``q`` (base-asset quantity, long positive) at ``t_ns``."""
        ...


# --- boundary checks shared by the quoting models (private) --------------------------------


def check_positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise InvalidArgumentError(name, value, "a finite number > 0")
    return v


def check_nonnegative(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0.0):
        raise InvalidArgumentError(name, value, "a finite number >= 0")
    return v


def check_finite(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise InvalidArgumentError(name, value, "a finite number")
    return v


def tau_seconds(t_ns: int, t_end_ns: int) -> float:
    """Time to the horizon in seconds; ``t_ns`` after the horizon is an error, not a clamp."""
    if t_ns > t_end_ns:
        raise InvalidArgumentError("t_ns", t_ns, f"a time <= t_end_ns={t_end_ns}")
    return (t_end_ns - t_ns) / NS_PER_S
