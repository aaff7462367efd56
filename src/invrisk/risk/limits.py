"""Pre-trade risk limits and the trading state: the :class:`RiskGuard`.

The backtester and the live runtime pass every new order through the same :class:`RiskGuard`
before it reaches the simulated or real venue. Limits are validated once, when they are built;
:meth:`RiskGuard.check_new` then does plain arithmetic (a few microseconds in CPython).

Trading state
-------------
``ACTIVE`` accepts any order within the limits, ``REDUCING`` only pure reductions, ``HALTED``
nothing. :meth:`RiskGuard.update_equity` moves the state automatically, only towards more
restriction: ``HALTED`` when the drawdown from the running equity peak reaches
``trailing_drawdown`` or the loss since the start of the UTC day (day ``now_ns // NS_PER_DAY``,
baseline its first reported equity) reaches ``daily_loss``; ``REDUCING``, from ``ACTIVE`` only,
when the drawdown reaches ``reduce_drawdown`` ("reaches" is ``>=``). Only the operator goes
back (:meth:`~RiskGuard.resume`, :meth:`~RiskGuard.reduce_only` from ``HALTED``); such a step
down resets the drawdown peak to the last reported equity so the same drawdown does not
re-trigger at once. The daily baseline is not reset: a daily-loss halt holds until the next
UTC day unless the loss recovers. Every state change is recorded as a :class:`Transition`
with its time and cause, e.g. ``"trailing_drawdown 1234.5 >= 1000"``.

Checks of a new order
---------------------
:meth:`RiskGuard.check_new` runs these checks in this order and returns the first failure as a
:class:`Verdict` with a stable reason code (``""`` when accepted):

1. ``bad_order`` — ``side`` not +1 (buy) or -1 (sell); ``qty`` or ``price`` not finite > 0;
   ``position`` not finite; ``open_same_side`` not finite >= 0.
2. ``unknown_instrument`` — no :class:`InstrumentLimits` for ``instrument``.
3. ``halted`` — the state is ``HALTED``.
4. ``reducing`` — the state is ``REDUCING`` and the order is not a pure reduction:
   ``side * position < 0`` and ``qty + open_same_side <= |position|`` (it can neither add to
   the position nor flip it, even if every open same-side order fills).
5. ``max_order_qty`` — ``qty > max_order_qty``.
6. ``max_order_notional`` — notional ``> max_order_notional``; the notional is
   ``qty * contract_size`` (USD) for an inverse contract, ``qty * price * contract_size``
   (quote currency) for a linear one.
7. ``max_position`` — the worst case ``|position + side * (open_same_side + qty)|`` exceeds
   ``max_position`` and the order is not a pure reduction (rule of step 4): a position already
   beyond its limit can always be reduced.
8. ``portfolio_limit`` — only for a guard built with ``portfolio_limits`` (a
   :class:`~invrisk.risk.limit_set.LimitSet`) and a call that passes ``limit_values`` (the
   book's current value of each limit's metric) and ``limit_impact`` (what the order adds if it
   fills, by limit name): the order would breach a portfolio limit or breach it further
   (:meth:`LimitSet.order_breaches <invrisk.risk.limit_set.LimitSet.order_breaches>`); the
   limits are named in :attr:`Verdict.detail`.
9. ``no_fair_price`` / ``price_band`` — skipped when ``price_band`` is ``inf``. Otherwise
   ``fair_price`` must be finite > 0 (``no_fair_price``) and
   ``|price - fair_price| <= price_band * fair_price`` (``price_band``; the same as
   ``|price / fair - 1| <= band`` with less rounding at the boundary).
10. ``rate_limit`` — at most ``max_orders_per_s`` accepted orders in the half-open window
   ``(now_ns - 1 s, now_ns]``. Only an accepted order uses a slot; cancels are never checked.

Checks of an amend
------------------
:meth:`RiskGuard.check_amend` checks an amend of a resting order as the new order it stands
for, with the same checks in the same order and the same reason codes: its new ``price``, its
new ``leaves`` (the new total size minus what has filled: what can still trade) as the size
for ``max_order_qty``, ``max_order_notional`` and the position checks, and the *other* open
orders of its side as ``open_same_side``. The worst-case position thus counts the change in
exposure (the order's old leaves are replaced by its new ones). An accepted amend uses one
rate-limit slot, like a new order. A refused amend leaves the venue's order untouched; the
engines then cancel it (an amend they could not send must not leave the old terms resting:
cancel-and-replace would not have).

Examples
--------
>>> guard = RiskGuard(limits={7: InstrumentLimits(max_position=10.0, max_order_qty=2.0,
...     max_order_notional=math.inf, price_band=0.01)})
>>> guard.check_new(instrument=7, side=1, price=101.0, qty=2.0, fair_price=100.0,
...     position=0.0, open_same_side=0.0, now_ns=0)
Verdict(accepted=True, reason='', detail='')
>>> guard.check_new(instrument=7, side=1, price=101.5, qty=2.0, fair_price=100.0,
...     position=0.0, open_same_side=0.0, now_ns=1).reason
'price_band'
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from invrisk.errors import InvalidArgumentError
from invrisk.units import NS_PER_DAY, NS_PER_SECOND

if TYPE_CHECKING:  # not imported at run time: the guard must stay cheap to import
    from invrisk.risk.limit_set import LimitSet

__all__ = [
    "REJECT_REASONS",
    "GuardLimits",
    "InstrumentLimits",
    "RiskGuard",
    "TradingState",
    "Transition",
    "Verdict",
]

_INF = math.inf

REJECT_REASONS: tuple[str, ...] = (
    "bad_order",
    "unknown_instrument",
    "halted",
    "reducing",
    "max_order_qty",
    "max_order_notional",
    "max_position",
    "portfolio_limit",
    "no_fair_price",
    "price_band",
    "rate_limit",
)
"""Every reason code :meth:`RiskGuard.check_new` can return, in the order the checks run."""


class TradingState(IntEnum):
    """What the guard lets through: everything, reductions only, or nothing."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


def _check_limit(name: str, value: object, *, allow_inf: bool) -> None:
    """``value`` must be a real number > 0 (finite unless ``allow_inf``)."""
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value > 0.0
        and (allow_inf or math.isfinite(value))
    ):
        return
    allowed = "a number > 0 (math.inf = no limit)" if allow_inf else "a finite number > 0"
    raise InvalidArgumentError(name, value, allowed)


@dataclass(frozen=True, slots=True)
class InstrumentLimits:
    """Pre-trade limits of one instrument.

    Attributes
    ----------
    max_position
        Contracts, finite > 0: bound on ``|position|`` once the order and every open same-side
        order fill (a position already beyond it may still be reduced).
    max_order_qty
        Contracts per order, finite > 0.
    max_order_notional
        Notional per order, > 0 (``math.inf``: no limit); USD for an inverse contract, quote
        currency for a linear one.
    price_band
        Relative distance from the fair price, > 0 (``0.01`` is 1%); ``math.inf`` skips the
        check and the need for a fair price.
    contract_size
        Finite > 0: USD per contract if ``inverse``, base-asset units per contract otherwise.
    inverse
        ``True`` for a coin-settled contract (notional ``qty * contract_size`` USD),
        ``False`` for a linear one (notional ``qty * price * contract_size``).
    """

    max_position: float
    max_order_qty: float
    max_order_notional: float
    price_band: float
    contract_size: float = 1.0
    inverse: bool = False

    def __post_init__(self) -> None:
        _check_limit("max_position", self.max_position, allow_inf=False)
        _check_limit("max_order_qty", self.max_order_qty, allow_inf=False)
        _check_limit("max_order_notional", self.max_order_notional, allow_inf=True)
        _check_limit("price_band", self.price_band, allow_inf=True)
        _check_limit("contract_size", self.contract_size, allow_inf=False)
        if not isinstance(self.inverse, bool):
            raise InvalidArgumentError("inverse", self.inverse, "True or False")


@dataclass(frozen=True, slots=True)
class GuardLimits:
    """Account-level limits; every default (``math.inf``) disables its check.

    Attributes
    ----------
    max_orders_per_s
        New orders accepted per sliding 1 s window: a whole number >= 1, or ``math.inf``.
    trailing_drawdown
        Currency, > 0: ``HALTED`` when equity is this far below its running peak.
    reduce_drawdown
        Currency, > 0 and ``<= trailing_drawdown``: ``REDUCING`` at this drawdown.
    daily_loss
        Currency, > 0: ``HALTED`` when equity is this far below the day's first equity (UTC).
    """

    max_orders_per_s: float = _INF
    trailing_drawdown: float = _INF
    reduce_drawdown: float = _INF
    daily_loss: float = _INF

    def __post_init__(self) -> None:
        rate = self.max_orders_per_s
        _check_limit("max_orders_per_s", rate, allow_inf=True)
        if rate != _INF and (rate < 1 or rate != int(rate)):
            raise InvalidArgumentError("max_orders_per_s", rate, "a whole number >= 1 or math.inf")
        _check_limit("trailing_drawdown", self.trailing_drawdown, allow_inf=True)
        _check_limit("reduce_drawdown", self.reduce_drawdown, allow_inf=True)
        _check_limit("daily_loss", self.daily_loss, allow_inf=True)
        if self.reduce_drawdown > self.trailing_drawdown:
            allowed = f"a drawdown <= trailing_drawdown={self.trailing_drawdown!r}"
            raise InvalidArgumentError("reduce_drawdown", self.reduce_drawdown, allowed)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of :meth:`RiskGuard.check_new`: ``reason`` is ``""`` when accepted;
    ``detail`` names the portfolio limits of a ``portfolio_limit`` rejection."""

    accepted: bool
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of trading state at ``t_ns`` (int ns UTC) and why it happened."""

    t_ns: int
    old: TradingState
    new: TradingState
    cause: str


_ACCEPTED = Verdict(True, "")
_REJECTED = {reason: Verdict(False, reason) for reason in REJECT_REASONS}
_DEFAULT_GUARD = GuardLimits()
_NO_TIME = -(2**63)  # before any int64 ns time


def _fmt(x: float) -> str:
    """A number for a transition's cause: ``1000.0`` -> ``"1000"``, ``1234.5`` -> ``"1234.5"``."""
    return f"{x:.12g}"


class RiskGuard:
    """Pre-trade checks and the trading state machine (see the module docstring).

    Parameters
    ----------
    limits
        :class:`InstrumentLimits` per instrument id (int); at least one.
    guard
        Account-level :class:`GuardLimits`; the default disables them all.

    Notes
    -----
    Every ``now_ns`` (int ns UTC) passed to any method must be >= the previous one: a clock
    going back is a bug in the caller and raises :class:`~invrisk.errors.InvalidArgumentError`.
    """

    __slots__ = (
        "_day",
        "_day_start_equity",
        "_equity",
        "_guard",
        "_last_ns",
        "_limits",
        "_max_rate",
        "_peak",
        "_portfolio_limits",
        "_rejections",
        "_sent_ns",
        "_state",
        "_transitions",
    )

    def __init__(
        self,
        *,
        limits: Mapping[int, InstrumentLimits],
        guard: GuardLimits = _DEFAULT_GUARD,
        portfolio_limits: LimitSet | None = None,
    ) -> None:
        if not isinstance(limits, Mapping) or not limits:
            raise InvalidArgumentError("limits", limits, "a non-empty mapping id -> limits")
        for key, value in limits.items():
            if not isinstance(key, int) or isinstance(key, bool):
                raise InvalidArgumentError("limits", key, "int instrument ids as keys")
            if not isinstance(value, InstrumentLimits):
                raise InvalidArgumentError(f"limits[{key}]", value, "an InstrumentLimits")
        if not isinstance(guard, GuardLimits):
            raise InvalidArgumentError("guard", guard, "a GuardLimits")
        if portfolio_limits is not None and not hasattr(portfolio_limits, "order_breaches"):
            raise InvalidArgumentError("portfolio_limits", portfolio_limits, "a LimitSet or None")
        self._limits: dict[int, InstrumentLimits] = dict(limits)
        self._guard = guard
        self._portfolio_limits = portfolio_limits
        self._max_rate = guard.max_orders_per_s
        self._sent_ns: deque[int] = deque()
        self._state = TradingState.ACTIVE
        self._transitions: list[Transition] = []
        self._rejections: dict[str, int] = dict.fromkeys(REJECT_REASONS, 0)
        self._last_ns = _NO_TIME
        self._equity = math.nan
        self._peak = -_INF
        self._day: int | None = None
        self._day_start_equity = math.nan

    @property
    def portfolio_limits(self) -> LimitSet | None:
        """The portfolio limits orders are checked against (None: none)."""
        return self._portfolio_limits

    @property
    def state(self) -> TradingState:
        """The current :class:`TradingState`."""
        return self._state

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """Every state change so far, oldest first."""
        return tuple(self._transitions)

    @property
    def rejections(self) -> dict[str, int]:
        """Rejected orders per reason code (a copy; every code present, zero if unused)."""
        return dict(self._rejections)

    def _clock(self, now_ns: int) -> None:
        last = self._last_ns
        if now_ns < last:
            raise InvalidArgumentError("now_ns", now_ns, f"a time >= the previous now_ns={last}")
        self._last_ns = now_ns

    def _reject(self, reason: str) -> Verdict:
        self._rejections[reason] += 1
        return _REJECTED[reason]

    def check_new(
        self,
        *,
        instrument: int,
        side: int,
        price: float,
        qty: float,
        fair_price: float,
        position: float,
        open_same_side: float,
        now_ns: int,
        limit_values: Mapping[str, float] | None = None,
        limit_impact: Mapping[str, float] | None = None,
    ) -> Verdict:
        """Check one new order; an accepted order uses a rate-limit slot.

        Parameters
        ----------
        instrument
            Instrument id, a key of ``limits``.
        side
            +1 buy, -1 sell.
        price, fair_price
            Order price and the fair (reference) price, price units.
        qty
            Order size, contracts.
        position
            Current signed position, contracts (long positive).
        open_same_side
            Contracts still open on the order's side (>= 0), assumed to fill in the worst case.
        now_ns
            Time of the check, int ns UTC, non-decreasing.
        limit_values, limit_impact
            For the portfolio limits (check 8): each limit's current value and the change the
            order makes to it if it fills, by limit name.

        Returns
        -------
        Verdict
            The first failed check in the order of the module docstring, or accepted.
        """
        if now_ns < self._last_ns:
            self._clock(now_ns)  # raises
        self._last_ns = now_ns
        if (
            (side != 1 and side != -1)
            or not 0.0 < qty < _INF
            or not 0.0 < price < _INF
            or not 0.0 <= open_same_side < _INF
            or not -_INF < position < _INF
        ):
            return self._reject("bad_order")
        lim = self._limits.get(instrument)
        if lim is None:
            return self._reject("unknown_instrument")
        reduces = side * position < 0.0 and qty + open_same_side <= abs(position)
        state = self._state
        if state:
            if state == TradingState.HALTED:
                return self._reject("halted")
            if not reduces:
                return self._reject("reducing")
        if qty > lim.max_order_qty:
            return self._reject("max_order_qty")
        notional = qty * lim.contract_size if lim.inverse else qty * price * lim.contract_size
        if notional > lim.max_order_notional:
            return self._reject("max_order_notional")
        if abs(position + side * (open_same_side + qty)) > lim.max_position and not reduces:
            return self._reject("max_position")
        pl = self._portfolio_limits
        if pl is not None and limit_values is not None and limit_impact is not None:
            worse = pl.order_breaches(limit_values, limit_impact)
            if worse:
                self._rejections["portfolio_limit"] += 1
                return Verdict(False, "portfolio_limit", ", ".join(worse))
        band = lim.price_band
        if band != _INF:
            if not 0.0 < fair_price < _INF:
                return self._reject("no_fair_price")
            if abs(price - fair_price) > band * fair_price:
                return self._reject("price_band")
        if self._max_rate != _INF:
            sent = self._sent_ns
            cutoff = now_ns - NS_PER_SECOND
            while sent and sent[0] <= cutoff:
                sent.popleft()
            if len(sent) >= self._max_rate:
                return self._reject("rate_limit")
            sent.append(now_ns)
        return _ACCEPTED

    def check_amend(
        self,
        *,
        instrument: int,
        side: int,
        price: float,
        leaves: float,
        fair_price: float,
        position: float,
        open_same_side: float,
        now_ns: int,
        limit_values: Mapping[str, float] | None = None,
        limit_impact: Mapping[str, float] | None = None,
    ) -> Verdict:
        """Check an amend of a resting order (see "Checks of an amend" in the module docs);
        an accepted amend uses a rate-limit slot.

        Parameters
        ----------
        instrument, side
            The order's instrument id and side (+1 buy, -1 sell).
        price
            The order's new limit price, price units.
        leaves
            The order's new total size minus what it has filled, contracts (> 0).
        fair_price, position, now_ns, limit_values, limit_impact
            As for :meth:`check_new`.
        open_same_side
            Contracts open on the order's side in the *other* orders (>= 0).

        Returns
        -------
        Verdict
            The first failed check, or accepted.
        """
        return self.check_new(
            instrument=instrument,
            side=side,
            price=price,
            qty=leaves,
            fair_price=fair_price,
            position=position,
            open_same_side=open_same_side,
            now_ns=now_ns,
            limit_values=limit_values,
            limit_impact=limit_impact,
        )

    def update_equity(self, *, equity: float, now_ns: int) -> TradingState:
        """Report the account equity (currency) at ``now_ns``; apply the automatic transitions.

        Returns
        -------
        TradingState
            The state after this update.
        """
        if not math.isfinite(equity):
            raise InvalidArgumentError("equity", equity, "a finite amount")
        self._clock(now_ns)
        day = now_ns // NS_PER_DAY
        if day != self._day:
            self._day = day
            self._day_start_equity = equity
        self._equity = equity
        self._peak = max(self._peak, equity)
        if self._state == TradingState.HALTED:
            return self._state
        g = self._guard
        drawdown = self._peak - equity
        day_loss = self._day_start_equity - equity
        if drawdown >= g.trailing_drawdown:
            cause = f"trailing_drawdown {_fmt(drawdown)} >= {_fmt(g.trailing_drawdown)}"
            self._move(TradingState.HALTED, cause, now_ns)
        elif day_loss >= g.daily_loss:
            cause = f"daily_loss {_fmt(day_loss)} >= {_fmt(g.daily_loss)}"
            self._move(TradingState.HALTED, cause, now_ns)
        elif self._state == TradingState.ACTIVE and drawdown >= g.reduce_drawdown:
            cause = f"reduce_drawdown {_fmt(drawdown)} >= {_fmt(g.reduce_drawdown)}"
            self._move(TradingState.REDUCING, cause, now_ns)
        return self._state

    def halt(self, *, cause: str, now_ns: int) -> None:
        """Stop all new orders (kill switch) until :meth:`resume` or :meth:`reduce_only`."""
        self._manual(TradingState.HALTED, cause, now_ns)

    def reduce_only(self, *, cause: str, now_ns: int) -> None:
        """Accept only orders that reduce the position (from ``ACTIVE`` or ``HALTED``)."""
        self._manual(TradingState.REDUCING, cause, now_ns)

    def resume(self, *, cause: str, now_ns: int, reset_peak: bool = True) -> None:
        """Return to ``ACTIVE``. By default (an operator's decision after a loss halt) the
        drawdown peak restarts from the last reported equity; ``reset_peak=False`` keeps it
        (an automatic resume after a halt that was not about losses: the drawdown since the
        peak still counts, so resuming cannot launder a loss)."""
        self._manual(TradingState.ACTIVE, cause, now_ns, reset_peak=reset_peak)

    def _manual(
        self, new: TradingState, cause: str, now_ns: int, *, reset_peak: bool = True
    ) -> None:
        if not isinstance(cause, str) or not cause:
            raise InvalidArgumentError("cause", cause, "a non-empty string")
        self._clock(now_ns)
        if new == self._state:
            return
        if reset_peak and new < self._state and not math.isnan(self._equity):
            self._peak = self._equity
        self._move(new, cause, now_ns)

    def _move(self, new: TradingState, cause: str, now_ns: int) -> None:
        self._transitions.append(Transition(int(now_ns), self._state, new, cause))
        self._state = new
