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

import numpy as np

from invrisk._typing import ArrayLike, BoolArray, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = ["BookQuotes", "BookQuotingModel", "ModelState", "Quotes", "QuotingModel"]

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


@dataclass(frozen=True, slots=True, eq=False)
class BookQuotes:
    """Quotes for every instrument of a book, one decision (arrays of shape ``(N,)``).

    Same fields and conventions as :class:`Quotes`, one entry per instrument: depths from each
    instrument's reference price (price units), prices before tick rounding, ``nan`` and
    ``False`` on a withdrawn side.
    """

    bid_depth: Float64Array
    ask_depth: Float64Array
    bid: Float64Array
    ask: Float64Array
    bid_quoted: BoolArray
    ask_quoted: BoolArray

    @property
    def spread(self) -> Float64Array:
        """``ask - bid`` per instrument (``nan`` where a side is withdrawn)."""
        out: Float64Array = self.ask - self.bid
        return out

    def __len__(self) -> int:
        return int(self.bid.shape[0])

    def __getitem__(self, i: int) -> Quotes:
        """The :class:`Quotes` of instrument ``i``."""
        return Quotes(
            float(self.bid_depth[i]),
            float(self.ask_depth[i]),
            float(self.bid[i]),
            float(self.ask[i]),
            bool(self.bid_quoted[i]),
            bool(self.ask_quoted[i]),
        )


def book_depths_to_quotes(
    mids: Float64Array,
    bid_depth: Float64Array,
    ask_depth: Float64Array,
    *,
    bid_quoted: BoolArray,
    ask_quoted: BoolArray,
) -> tuple[Float64Array, Float64Array, Float64Array, Float64Array]:
    """``(bid_depth, ask_depth, bid, ask)`` with withdrawn sides blanked to ``nan``."""
    bd = np.where(bid_quoted, bid_depth, np.nan)
    ad = np.where(ask_quoted, ask_depth, np.nan)
    return bd, ad, mids - bd, mids + ad


@runtime_checkable
class BookQuotingModel(Protocol):
    """A model that quotes N instruments at once from the whole position vector.

    Multi-asset models (correlated instruments) and option books quoted in vega space do not
    reduce to one scalar inventory: their quotes for one instrument depend on the positions in
    all the others. ``positions`` are signed quantities per instrument (long positive, the
    same units as the model's trade sizes); ``mids`` the reference prices, shape ``(N,)``.
    """

    @property
    def n_instruments(self) -> int:
        """N, the length of ``positions`` and ``mids``."""
        ...

    def book_quotes(self, *, positions: ArrayLike, t_ns: int, mids: ArrayLike) -> BookQuotes:
        """Quotes for every instrument at ``t_ns`` (int ns UTC)."""
        ...


def check_mids(mids: ArrayLike, n: int) -> Float64Array:
    """Reference prices: shape ``(n,)``, finite."""
    arr = np.asarray(mids, dtype=np.float64)
    if arr.shape != (n,):
        raise InvalidArgumentError("mids", f"array of shape {arr.shape}", f"shape ({n},)")
    if not bool(np.all(np.isfinite(arr))):
        raise InvalidArgumentError("mids", "array with nan/inf", "finite prices")
    return arr


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
