"""The strategy protocol and the types a strategy reads and returns (layer 4).

A strategy is a pure decision: it reads a :class:`MarketView` (what the market looks like at
the local time of the decision) and an :class:`AccountView` (positions, cash, open orders) and
returns a :class:`Decision`: the quotes it wants resting (:class:`QuoteTarget`, per instrument)
and optional hedge intents. It never sends or cancels orders: the engine (backtest or live,
same code path, :mod:`invrisk.order_manager`) reconciles the target with the resting orders and
passes every order through the RiskGuard (:mod:`invrisk.risk.limits`).

Conventions: instruments are integer indices into the run's instrument list
(:attr:`Context.instruments`); prices in each instrument's quote currency; quantities in
contracts (base-asset units for linear and spot, contract counts for inverse); time int64 ns
UTC; sides +1 buy / -1 sell.

Immutability: what the engines hand to a strategy (:class:`MarketView`, :class:`InstrumentView`,
:class:`AccountView`, :class:`Fill`) are named tuples, read by attribute and never changed;
what a strategy returns (:class:`QuoteTarget`, :class:`QuoteLevel`, :class:`HedgeIntent`,
:class:`Decision`) are frozen dataclasses, validated when built.

Departure from DESIGN.md: DESIGN names the second argument of ``decide`` ``Portfolio`` (the
risk layer's position book, not written yet). Until it exists the engines pass an
:class:`AccountView`, the subset a quoting strategy needs; the risk layer's Portfolio will
provide the same attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import pairwise
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from invrisk.data.events import EventArray
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument

__all__ = [
    "AccountView",
    "Context",
    "Decision",
    "Fill",
    "HedgeIntent",
    "InstrumentView",
    "MarketView",
    "QuoteLevel",
    "QuoteTarget",
    "Strategy",
    "TimeInForce",
]


class TimeInForce(IntEnum):
    """Order time in force (numba-friendly integer codes)."""

    GTC = 0
    """Rests until filled or cancelled; may take liquidity on arrival if it crosses."""
    POST_ONLY = 1
    """Rejected on arrival if it would cross (Binance GTX, Deribit post_only + reject)."""
    IOC = 2
    """Takes what it can on arrival, the rest is cancelled."""


@dataclass(frozen=True, slots=True)
class QuoteLevel:
    """One price level a strategy wants resting: ``qty`` contracts at ``price``."""

    price: float
    qty: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.price) and self.price > 0.0):
            raise InvalidArgumentError("price", self.price, "a finite price > 0")
        if not (math.isfinite(self.qty) and self.qty > 0.0):
            raise InvalidArgumentError("qty", self.qty, "a finite quantity > 0")


@dataclass(frozen=True, slots=True)
class QuoteTarget:
    """The bid and ask levels a strategy wants resting on one instrument.

    ``bids`` best (highest) first, ``asks`` best (lowest) first; an empty side means "no
    orders on that side" (the order manager cancels what rests there). ``post_only`` quotes
    are rejected by the venue instead of crossing.
    """

    instrument: int
    bids: tuple[QuoteLevel, ...] = ()
    asks: tuple[QuoteLevel, ...] = ()
    post_only: bool = True

    def __post_init__(self) -> None:
        for name, levels, sign in (("bids", self.bids, -1.0), ("asks", self.asks, 1.0)):
            if len(levels) < 2:  # one level per side is the common case: nothing to order
                continue
            prices = [lv.price for lv in levels]
            if any(sign * (b - a) <= 0.0 for a, b in pairwise(prices)):
                order = "strictly decreasing" if sign < 0 else "strictly increasing"
                raise InvalidArgumentError(name, prices, f"prices {order} (best first)")
        if self.bids and self.asks and self.bids[0].price >= self.asks[0].price:
            raise InvalidArgumentError(
                "bids", self.bids[0].price, f"a best bid below the best ask {self.asks[0].price}"
            )

    @classmethod
    def two_sided(
        cls,
        instrument: int,
        *,
        bid: float | None,
        ask: float | None,
        bid_qty: float,
        ask_qty: float,
        post_only: bool = True,
    ) -> QuoteTarget:
        """One level per side; ``None`` (or a NaN price, or a zero size) leaves a side empty."""
        bids = (QuoteLevel(bid, bid_qty),) if bid is not None and _quotable(bid, bid_qty) else ()
        asks = (QuoteLevel(ask, ask_qty),) if ask is not None and _quotable(ask, ask_qty) else ()
        return cls(instrument, bids, asks, post_only)


def _quotable(price: float, qty: float) -> bool:
    return math.isfinite(price) and qty > 0.0


@dataclass(frozen=True, slots=True)
class HedgeIntent:
    """Trade ``qty`` (signed: + buy, - sell) of ``instrument`` now, as a taker (IOC).

    ``limit_price`` caps the worst price accepted (``None``: any price the book offers);
    ``reason`` is recorded with the order.
    """

    instrument: int
    qty: float
    limit_price: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.qty) and self.qty != 0.0):
            raise InvalidArgumentError("qty", self.qty, "a finite, non-zero signed quantity")


@dataclass(frozen=True, slots=True)
class Decision:
    """What a strategy returns: quote targets (per instrument) and hedge intents.

    An instrument without a target keeps its resting orders untouched; to pull quotes, return
    a target with empty sides.
    """

    quotes: tuple[QuoteTarget, ...] = ()
    hedges: tuple[HedgeIntent, ...] = ()


# Fill and the views are named tuples: immutable like the frozen dataclasses above but built in
# a third of the time (the engines make several at every decision).


class Fill(NamedTuple):
    """One execution of one of our orders, as the strategy learns about it.

    ``side`` +1 buy / -1 sell; ``qty`` > 0 contracts; ``fee`` in the settlement currency
    (negative = rebate received); ``exch_ns`` when it happened at the venue, ``local_ns`` when
    we learned it.
    """

    instrument: int
    order_id: int
    side: int
    price: float
    qty: float
    fee: float
    is_maker: bool
    exch_ns: int
    local_ns: int


class InstrumentView(NamedTuple):
    """Top of book and tickers of one instrument as known locally (NaN when unknown)."""

    best_bid: float
    best_ask: float
    bid_qty: float
    ask_qty: float
    last_trade: float
    mark: float
    funding_rate: float

    @property
    def mid(self) -> float:
        """``(best_bid + best_ask) / 2``; NaN if a side is empty."""
        return 0.5 * (self.best_bid + self.best_ask)


class MarketView(NamedTuple):
    """The market at local time ``t_ns``.

    ``instruments[i]`` is the top of book of instrument ``i``; ``events`` the raw market events
    received since the previous decision (a read-only view, :data:`EVENT_DTYPE` rows), for
    strategies that calibrate online.
    """

    t_ns: int
    instruments: tuple[InstrumentView, ...]
    events: EventArray


class AccountView(NamedTuple):
    """Positions, cash and open orders at the time of a decision.

    ``position[i]``: contracts of instrument ``i`` (long positive). ``cash`` and ``equity`` per
    instrument in its settlement currency (quote for linear, coin for inverse); ``equity`` marks
    the position at the mid. ``open_bids``/``open_asks``: resting quantity per instrument.
    """

    position: np.ndarray
    cash: np.ndarray
    equity: np.ndarray
    open_bids: np.ndarray
    open_asks: np.ndarray


@dataclass(frozen=True, slots=True)
class Context:
    """What a strategy learns once, at the start of a run."""

    instruments: tuple[Instrument, ...]
    start_ns: int
    seed: int = 0
    params: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Strategy(Protocol):
    """A market-making strategy: the same object runs in the backtester and live.

    Optional hook: a strategy may also define ``after_decide(t_ns: int) -> None``. The
    backtester and the live runtime call it right after each decision's orders have been
    handed to the venue (``t_ns`` is that decision's time), for work whose result only the
    next decisions need (a model refit, say): it then costs CPU but not decision-to-order
    latency, and runs at the same point of the decision cycle in backtests and live.
    """

    def on_start(self, ctx: Context) -> None:
        """Called once before the first decision."""
        ...

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        """The quotes wanted now (called on the decision interval, and after fills if asked)."""
        ...

    def on_fill(self, fill: Fill) -> None:
        """Called for each fill, at the local time it is learned, before the next decision."""
        ...
