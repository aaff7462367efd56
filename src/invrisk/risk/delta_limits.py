"""Portfolio (Greeks) limits evaluated live for a book of delta-one instruments (layer 2).

The backtester and the runtime trade spot, perpetuals and futures. For such a book the Greeks
of :mod:`invrisk.risk.greeks` reduce to delta, and a :class:`~invrisk.risk.limit_set.LimitSet`
can be checked before each order without building a full portfolio: :class:`DeltaOneLimits`
gives the :class:`~invrisk.risk.limits.RiskGuard` each limit's current value
(``limit_values``) and what an order would add if it filled (``limit_impact``), so an order
that would breach a delta limit, or breach it further, is refused (reason
``portfolio_limit``).

Conventions (those of :mod:`invrisk.risk.greeks`, with the instrument's mid as the index and
its quote currency taken as USD), for ``q`` contracts of size ``c``:

==================================  ====================================  ==========================
metric                              linear                                inverse (coin-settled)
==================================  ====================================  ==========================
``delta_coin``                      ``q c``                               ``q c / P_entry``
``delta_premium_adjusted_coin``     ``q c``                               ``q c / mid``
``delta_usd``                       ``delta_coin * mid``                  ``delta_coin * mid``
``gross_notional_usd``              ``sum |delta_usd|`` over the scope
==================================  ====================================  ==========================

``P_entry`` is the position's average entry price (average cost: for an inverse contract the
quantity-weighted harmonic mean of the fill prices). The object follows the book's positions
and entries itself, from the fills it is given (:meth:`DeltaOneLimits.on_fill`), in the order
they are booked. An order's impact on ``delta_coin`` of an
inverse contract counts the part that closes the position at the average entry and the part
that opens at the order's price. Gamma, vega, theta, rho, volga and vanna of delta-one
instruments are zero: such limits hold at 0 and no order changes them. Other metrics
(``gross_value_usd``, external metrics such as VaR) are refused when the limits are built, with
the limit named. A limit's ``underlying`` scope selects the instruments of that base coin (case
insensitive); its ``venue`` scope covers the book if it is the book's venue, or if the book's
venue is not given (a backtest: the book is the one being limited).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument, InstrumentKind
from invrisk.risk.average_cost import average_cost
from invrisk.risk.limit_set import LimitSet

__all__ = ["DELTA_ONE_METRICS", "DeltaOneLimits"]

_DELTA = ("delta_coin", "delta_premium_adjusted_coin", "delta_usd", "gross_notional_usd")
_ZERO = ("gamma_coin_per_usd", "cash_gamma_usd", "vega_usd", "theta_usd", "rho_usd", "volga_usd",
         "vanna_coin")  # fmt: skip
DELTA_ONE_METRICS: tuple[str, ...] = _DELTA + _ZERO
_DELTA_ONE_KINDS = (InstrumentKind.SPOT, InstrumentKind.PERPETUAL, InstrumentKind.FUTURE)


class DeltaOneLimits:
    """The limits of ``limits`` over a book of ``instruments`` traded on ``venue``.

    Parameters
    ----------
    limits
        The portfolio limits (their metrics must be in :data:`DELTA_ONE_METRICS`).
    instruments
        The book's instruments, by index (spot, perpetuals, futures).
    venue
        The venue the book is on (a limit scoped to another venue covers nothing here);
        None: every venue scope covers the book.

    Raises
    ------
    InvalidArgumentError
        Naming the limit: a metric a delta-one book cannot give, or an option instrument.
    """

    def __init__(
        self, limits: LimitSet, *, instruments: Sequence[Instrument], venue: str | None = None
    ) -> None:
        self.limits = limits
        self.instruments = tuple(instruments)
        for i, inst in enumerate(self.instruments):
            if inst.kind not in _DELTA_ONE_KINDS:
                raise InvalidArgumentError(
                    f"instruments[{i}]", inst.name, "spot, perpetuals or futures (delta one)"
                )
        self._members: dict[str, tuple[int, ...]] = {}
        for lim in limits.limits:
            if lim.metric not in DELTA_ONE_METRICS:
                raise InvalidArgumentError(
                    f"limit {lim.name!r}: metric",
                    lim.metric,
                    f"one of {DELTA_ONE_METRICS} (a delta-one book has no other)",
                )
            self._members[lim.name] = tuple(
                i
                for i, inst in enumerate(self.instruments)
                if (lim.underlying is None or lim.underlying.upper() == inst.base.upper())
                and (lim.venue is None or venue is None or lim.venue == venue)
            )
        n = len(self.instruments)
        self.positions = [0.0] * n  # contracts
        self._inv_entry = [0.0] * n  # average of 1 / fill price over the open position

    def entry(self, i: int) -> float:
        """Average entry price of instrument ``i``'s position (NaN when flat)."""
        inv = self._inv_entry[i]
        return 1.0 / inv if self.positions[i] != 0.0 and inv > 0.0 else math.nan

    def on_fill(self, *, instrument: int, side: int, qty: float, price: float) -> None:
        """Book a fill (average cost: adding lots averages ``1 / price``, reducing keeps the
        average, the part that flips the position opens at this price)."""
        q, inv, _ = average_cost(
            self.positions[instrument],
            self._inv_entry[instrument],
            side=side,
            qty=qty,
            unit=1.0 / price,
        )
        self.positions[instrument], self._inv_entry[instrument] = q, inv

    def _deltas(self, i: int, q: float, mid: float, entry: float) -> tuple[float, float]:
        """(delta_coin, delta_premium_adjusted_coin) of ``q`` contracts of instrument ``i``."""
        inst = self.instruments[i]
        if q == 0.0:
            return 0.0, 0.0
        c = inst.contract_size
        if not inst.is_inverse:
            return q * c, q * c
        return q * c / entry, q * c / mid

    def values(self, mids: Sequence[float]) -> dict[str, float]:
        """Each limit's value now (by limit name), at these mids (one per instrument; a NaN
        mid gives NaN values, on which the RiskGuard refuses the orders that affect them)."""
        per = [
            self._deltas(i, q, m, self.entry(i))
            for i, (q, m) in enumerate(zip(self.positions, mids, strict=True))
        ]
        out: dict[str, float] = {}
        for lim in self.limits.limits:
            members = self._members[lim.name]
            metric = lim.metric
            if metric == "delta_coin":
                out[lim.name] = math.fsum(per[i][0] for i in members)
            elif metric == "delta_premium_adjusted_coin":
                out[lim.name] = math.fsum(per[i][1] for i in members)
            elif metric == "delta_usd":
                out[lim.name] = math.fsum(per[i][0] * mids[i] for i in members if per[i][0])
            elif metric == "gross_notional_usd":
                out[lim.name] = math.fsum(abs(per[i][0] * mids[i]) for i in members if per[i][0])
            else:  # a Greek a delta-one instrument does not have
                out[lim.name] = 0.0
        return out

    def impact(
        self, *, instrument: int, side: int, qty: float, price: float, mid: float
    ) -> dict[str, float]:
        """What an order of ``side`` (+1 buy) and ``qty`` contracts at ``price`` adds to each
        limit it touches if it fills (by limit name; limits it does not touch are absent)."""
        inst = self.instruments[instrument]
        position, entry = self.positions[instrument], self.entry(instrument)
        c = inst.contract_size
        if inst.is_inverse:
            # the part that closes the position leaves at the average entry, the rest opens
            closing = min(qty, abs(position)) if position * side < 0 else 0.0
            d_coin = side * c * (qty - closing) / price
            if closing:
                d_coin += side * c * closing / entry
            d_adj = side * c * qty / mid
        else:
            d_coin = d_adj = side * c * qty
        out: dict[str, float] = {}
        for lim in self.limits.limits:
            if instrument not in self._members[lim.name] or lim.metric in _ZERO:
                continue
            if lim.metric == "delta_coin":
                out[lim.name] = d_coin
            elif lim.metric == "delta_premium_adjusted_coin":
                out[lim.name] = d_adj
            elif lim.metric == "delta_usd":
                out[lim.name] = d_coin * mid
            else:  # gross_notional_usd: this instrument's |delta_usd| changes
                before = self._deltas(instrument, position, mid, entry)[0] * mid
                out[lim.name] = abs(before + d_coin * mid) - abs(before)
        return out
