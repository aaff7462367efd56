"""A single-instrument market maker driven by any :mod:`invrisk.quoting` model.

:class:`QuotingMarketMaker` only wires state to the quoting maths: it reads the top of book and
the position, asks a :class:`~invrisk.quoting.QuotingModel` where to quote, sizes the orders
with :func:`~invrisk.quoting.shaped_sizes`, rounds them with
:func:`~invrisk.quoting.round_quotes` and returns a one-level-per-side
:class:`~invrisk.strategy.QuoteTarget`. Each decision, in order:

1. **Touch.** If the local book is not two-sided (a side empty, or ``best_bid >= best_ask``)
   both sides are pulled: there is no reference price and nothing to cap the quotes against.
2. **Reference price** ``s``: the local mid ``(bid + ask) / 2`` (``reference="mid"``), or the
   microprice ``(bid · ask_qty + ask · bid_qty) / (bid_qty + ask_qty)`` (``"microprice"``;
   the mid when both displayed sizes are 0).
3. **Inventory.** ``q = account.position[instrument]``, in contracts, long positive. The
   quoting models' ``q`` is in the same quantity unit as their trade sizes (``trade_qty``,
   ``q_max``), so a model used here must be parametrised in contracts: for a linear contract
   of ``contract_size`` base units, ``gamma`` per (price unit × contract) is ``contract_size``
   times ``gamma`` per (price unit × base unit). (An inverse contract's PnL is linear in
   ``1/price``; the models' linear PnL ``q dS`` is then a local approximation.) The model is
   given ``q`` clipped to ``[-q_max, q_max]`` — an explicit branch: the position can overshoot
   the limit through fills already in flight, and the bounded models (GLFT/Guéant) reject
   ``|q| > q_max``; at the bound the model withdraws the side that adds to the inventory.
4. **Sizes** (:func:`~invrisk.quoting.shaped_sizes`): ``order_qty · exp(−η q)`` on the side
   that adds to ``|q|``, capped so that a full fill never takes ``|q|`` beyond ``q_max``,
   rounded down to the instrument's lot. A side with less than one lot of room is not quoted
   (the side that would breach the limit). A side is quoted only if both the model and the
   sizing quote it; a side whose model price is not finite is not quoted either (counted in
   :attr:`QuotingMarketMaker.n_nonfinite`).
5. **Rounding** (:func:`~invrisk.quoting.round_quotes`): the spread is first widened
   symmetrically to at least ``min_spread_ticks`` ticks, then the bid is rounded down and the
   ask up to the tick grid, and neither is allowed through the touch (bid <= best ask − 1 tick,
   ask >= best bid + 1 tick), so a post-only quote is never rejected for crossing the local
   book (it still can be if the venue's book moved in the meantime). A bid that rounds to a
   price <= 0 (a very wide model spread on a low price) is not quoted.
6. **Requote threshold.** A side keeps the price of the previous decision's target when the new
   price is within ``requote_ticks`` ticks of it, its size is unchanged and the kept price still
   respects the touch and the spread floor. Otherwise it moves to the new price.
7. **Orders in flight.** A side that is not an exact repeat of the previous target (same
   price and size, no fill on that side since the previous decision, and at least that size
   live on the side) is a new order while the orders it
   replaces can still fill until their cancels arrive. Its size is capped so that
   ``|q| + (live orders of that side, AccountView.open_bids/open_asks) + new size <= q_max``
   (rounded down to the lot; the side is left empty for this decision if less than one lot
   fits; it comes back once the cancels are acknowledged). With every live order counted,
   the position cannot pass ``q_max`` through our quotes, even when a cancelled order and
   its replacement both fill.

``requote_ticks`` and the order manager's ``price_tolerance_ticks`` (``T``)
-------------------------------------------------------------------------
Both are hysteresis, against different anchors. The strategy compares the new price with its
*previous target* (``requote_ticks = R``); the order manager compares each *resting order* with
the target it receives (:meth:`invrisk.order_manager.OrderManager.reconcile`: kept while
``round(|Δ| / tick) <= T``, and only if its leaves match the level size within the order
manager's ``qty_tolerance``, 0 by default). With ``R >= T`` the
order manager's tolerance never binds: a moved target is more than ``R >= T`` ticks from the
order resting at the previous target, so the order is replaced, and an unmoved target matches
it exactly; resting orders are then always exactly at the target. With ``R < T`` the order
manager may keep an order up to ``T`` ticks from the target while the strategy re-anchors on
the new target, so the resting price can lag the model's price by up to ``R + T`` ticks. Use one
of the two (this class defaults to ``R = 0``, the backtester to ``T = 0``: every tick moves the
quote). A size change (a fill changed ``q``, or a partial fill left the order with different
leaves) always replaces the order, so the strategy then also takes the fresh price.

Cost: a decision builds a few small frozen objects and no numpy arrays; with a closed-form
model it takes about 9 µs in CPython 3.11 (see the package docstring for measurements).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.base import ModelState, Quotes, QuotingModel, check_positive
from invrisk.quoting.shaping import lots_down, round_quotes, shaped_sizes
from invrisk.strategy import (
    AccountView,
    Context,
    Decision,
    Fill,
    MarketView,
    QuoteLevel,
    QuoteTarget,
)

if TYPE_CHECKING:
    from invrisk.instruments import Instrument

__all__ = ["QuotingMarketMaker", "Reference"]

Reference = Literal["mid", "microprice"]
"""Reference price the model's depths are measured from."""

_NAN = math.nan


def check_count(name: str, value: int, lo: int) -> int:
    """An int (not a bool) >= ``lo``, else an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidArgumentError(name, value, f"an integer >= {lo}")
    return value


def _kept(
    tick: int, qty: float, prev_tick: int | None, prev_qty: float, live_qty: float, filled: bool
) -> bool:
    """True when the level repeats the previous target, whose order is presumably still whole:
    no fill on that side since, and at least that quantity live on the side."""
    return not filled and tick == prev_tick and qty == prev_qty and live_qty >= qty * (1.0 - 1e-9)


def reference_price(
    best_bid: float, best_ask: float, bid_qty: float, ask_qty: float, reference: Reference
) -> float:
    """The mid, or the size-weighted microprice (the mid when both sizes are 0)."""
    if reference == "microprice":
        depth = bid_qty + ask_qty
        if depth > 0.0:
            return (best_bid * ask_qty + best_ask * bid_qty) / depth
    return 0.5 * (best_bid + best_ask)


class QuotingMarketMaker:
    """Quote one instrument from a quoting model, with size shaping and tick rounding.

    Parameters
    ----------
    model
        Any :class:`~invrisk.quoting.QuotingModel` (``quotes(*, q, t_ns, state)``), in price
        units of the instrument and quantities in contracts (see the module docstring). A
        bounded model's ``q_max`` must be at least this strategy's ``q_max``. ``None`` pulls
        both sides at every decision (subclasses set :attr:`model` once they can quote).
    order_qty
        Size at zero inventory, contracts (> 0, at least one lot of the instrument).
    q_max
        Inventory limit, contracts (> 0): no order whose full fill would take ``|q|`` above it.
    instrument
        Index of the quoted instrument in the run's instrument list (default 0).
    eta
        Size shape factor η >= 0, per contract: the side adding to ``|q|`` is quoted
        ``order_qty · exp(−η |q|)`` (default 0: constant size).
    min_spread_ticks
        Minimum quoted spread, ticks (>= 1, default 1).
    requote_ticks
        Keep the previous price of a side while the new one is within this many ticks
        (>= 0, default 0; see the module docstring for its interplay with the order manager).
    reference
        ``"mid"`` (default) or ``"microprice"``.
    post_only
        Send the quotes post-only (default True).

    Attributes
    ----------
    last_reference, last_q
        Reference price and inventory of the last decision (NaN before it).
    last_target
        The last :class:`~invrisk.strategy.QuoteTarget` returned (None before the first).
    n_decisions, n_pulled, n_nonfinite
        Decisions made, decisions that pulled both sides (the book was not two-sided, there was
        no model, or neither side could be quoted), and model prices that were not finite (side
        not quoted).
    """

    def __init__(
        self,
        *,
        model: QuotingModel | None,
        order_qty: float,
        q_max: float,
        instrument: int = 0,
        eta: float = 0.0,
        min_spread_ticks: int = 1,
        requote_ticks: int = 0,
        reference: Reference = "mid",
        post_only: bool = True,
    ) -> None:
        self.model = model
        self.order_qty = check_positive("order_qty", order_qty)
        self.q_max = check_positive("q_max", q_max)
        self.instrument = check_count("instrument", instrument, 0)
        eta_f = float(eta)
        if not (math.isfinite(eta_f) and eta_f >= 0.0):
            raise InvalidArgumentError("eta", eta, "a finite number >= 0")
        self.eta = eta_f
        self.min_spread_ticks = check_count("min_spread_ticks", min_spread_ticks, 1)
        self.requote_ticks = check_count("requote_ticks", requote_ticks, 0)
        if reference not in ("mid", "microprice"):
            raise InvalidArgumentError("reference", reference, "'mid' or 'microprice'")
        self.reference: Reference = reference
        self.post_only = bool(post_only)
        self.tick_size = _NAN
        self.lot_size = _NAN
        self._reset()

    def _reset(self) -> None:
        self.last_reference = _NAN
        self.last_q = _NAN
        self.last_target: QuoteTarget | None = None
        self.n_decisions = 0
        self.n_pulled = 0
        self.n_nonfinite = 0
        self._bid_tick: int | None = None
        self._ask_tick: int | None = None
        self._bid_qty = 0.0
        self._ask_qty = 0.0
        self._bid_filled = False
        self._ask_filled = False
        self._empty = QuoteTarget(self.instrument, (), (), self.post_only)

    # -- Strategy protocol ----------------------------------------------------------------------

    def on_start(self, ctx: Context) -> None:
        """Read the instrument's tick and lot; check ``order_qty`` is at least one lot."""
        inst = self._instrument_spec(ctx)
        self.tick_size = float(inst.tick_size)
        self.lot_size = float(inst.lot_size)
        if self.order_qty < self.lot_size * (1.0 - 1e-9):
            raise InvalidArgumentError(
                "order_qty", self.order_qty, f"at least one lot ({self.lot_size} contracts)"
            )
        self._reset()

    def on_fill(self, fill: Fill) -> None:
        """Note the side filled (the position itself is read from the account)."""
        if fill.instrument == self.instrument:
            if fill.side > 0:
                self._bid_filled = True
            else:
                self._ask_filled = True

    def decide(self, view: MarketView, account: AccountView) -> Decision:
        """One-level quotes on :attr:`instrument` (see the module docstring for the steps)."""
        return Decision(quotes=(self._target(view, account, self.model),))

    # -- the decision ---------------------------------------------------------------------------

    def _instrument_spec(self, ctx: Context) -> Instrument:
        if self.instrument >= len(ctx.instruments):
            raise InvalidArgumentError(
                "instrument", self.instrument, f"an index < {len(ctx.instruments)}"
            )
        return ctx.instruments[self.instrument]

    def model_inventory(self, q: float) -> float:
        """The inventory given to the model: ``q`` clipped to ``[-q_max, q_max]``."""
        if q > self.q_max:
            return self.q_max
        if q < -self.q_max:
            return -self.q_max
        return q

    def _pull(self) -> QuoteTarget:
        self.n_pulled += 1
        self._bid_tick = self._ask_tick = None
        self.last_target = self._empty
        return self._empty

    def _target(
        self, view: MarketView, account: AccountView, model: QuotingModel | None
    ) -> QuoteTarget:
        if math.isnan(self.tick_size):
            raise InvalidArgumentError("decide", "called before on_start", "on_start(ctx) first")
        self.n_decisions += 1
        bid_filled, ask_filled = self._bid_filled, self._ask_filled
        self._bid_filled = self._ask_filled = False
        iv = view.instruments[self.instrument]
        bb, ba = iv.best_bid, iv.best_ask
        q = float(account.position[self.instrument])
        self.last_q = q
        if model is None or not bb < ba:  # also False when either side is NaN
            self.last_reference = _NAN
            return self._pull()
        ref = reference_price(bb, ba, iv.bid_qty, iv.ask_qty, self.reference)
        self.last_reference = ref
        mq = model.quotes(q=self.model_inventory(q), t_ns=view.t_ns, state=ModelState(ref))
        sizes = shaped_sizes(
            q=q, base_size=self.order_qty, eta=self.eta, q_max=self.q_max, lot_size=self.lot_size
        )
        bid_on = mq.bid_quoted and sizes.bid_quoted
        ask_on = mq.ask_quoted and sizes.ask_quoted
        if bid_on and not math.isfinite(mq.bid):
            bid_on = False
            self.n_nonfinite += 1
        if ask_on and not math.isfinite(mq.ask):
            ask_on = False
            self.n_nonfinite += 1
        if not (bid_on or ask_on):
            return self._pull()
        tick = self.tick_size
        rq = round_quotes(
            Quotes(
                mq.bid_depth if bid_on else _NAN,
                mq.ask_depth if ask_on else _NAN,
                mq.bid if bid_on else _NAN,
                mq.ask if ask_on else _NAN,
                bid_on,
                ask_on,
            ),
            tick=tick,
            best_bid=bb,
            best_ask=ba,
            min_spread=self.min_spread_ticks * tick,
        )
        bid_tick, ask_tick = rq.bid_tick, rq.ask_tick
        if bid_tick is not None and bid_tick <= 0:  # a bid at or below a zero price
            bid_tick = None
        bid_qty, ask_qty = sizes.bid_size, sizes.ask_size
        if self.requote_ticks > 0:
            bid_tick, ask_tick = self._hysteresis(bid_tick, ask_tick, bid_qty, ask_qty, bb, ba)
        i = self.instrument
        ob, oa = float(account.open_bids[i]), float(account.open_asks[i])
        if bid_tick is not None and not _kept(
            bid_tick, bid_qty, self._bid_tick, self._bid_qty, ob, bid_filled
        ):
            bid_qty = self._in_flight_cap(bid_qty, self.q_max - q - ob)
            if bid_qty == 0.0:
                bid_tick = None
        if ask_tick is not None and not _kept(
            ask_tick, ask_qty, self._ask_tick, self._ask_qty, oa, ask_filled
        ):
            ask_qty = self._in_flight_cap(ask_qty, self.q_max + q - oa)
            if ask_qty == 0.0:
                ask_tick = None
        self._bid_tick, self._ask_tick = bid_tick, ask_tick
        self._bid_qty, self._ask_qty = bid_qty, ask_qty
        target = QuoteTarget(
            self.instrument,
            (QuoteLevel(bid_tick * tick, bid_qty),) if bid_tick is not None else (),
            (QuoteLevel(ask_tick * tick, ask_qty),) if ask_tick is not None else (),
            self.post_only,
        )
        self.last_target = target
        return target

    def _in_flight_cap(self, qty: float, room: float) -> float:
        """``qty``, or the whole lots of ``room`` if less (0.0 when not one lot fits)."""
        if qty <= room + 1e-9 * self.lot_size:
            return qty
        return lots_down(room, self.lot_size) * self.lot_size if room > 0.0 else 0.0

    def _hysteresis(
        self,
        bid_tick: int | None,
        ask_tick: int | None,
        bid_qty: float,
        ask_qty: float,
        best_bid: float,
        best_ask: float,
    ) -> tuple[int | None, int | None]:
        """Keep the previous tick of a side within ``requote_ticks`` (see the module docs)."""
        r = self.requote_ticks
        inv = 1.0 / self.tick_size
        bb_tick = round(best_bid * inv)
        ba_tick = round(best_ask * inv)
        new_bid, new_ask = bid_tick, ask_tick
        prev = self._bid_tick
        if (
            bid_tick is not None
            and prev is not None
            and bid_qty == self._bid_qty
            and abs(bid_tick - prev) <= r
            and prev < ba_tick
        ):
            new_bid = prev
        prev = self._ask_tick
        if (
            ask_tick is not None
            and prev is not None
            and ask_qty == self._ask_qty
            and abs(ask_tick - prev) <= r
            and prev > bb_tick
        ):
            new_ask = prev
        if (
            new_bid is not None
            and new_ask is not None
            and new_ask - new_bid < self.min_spread_ticks
        ):
            return bid_tick, ask_tick
        return new_bid, new_ask
