"""Event-driven L2 backtester: queue position, latency, fees, partial fills, inverse contracts.

:func:`run_backtest` replays market events (:data:`~invrisk.data.events.EVENT_DTYPE`, one or
more instruments on one clock) through a simulated exchange and trades a plain-Python
:class:`~invrisk.strategy.Strategy` against it; the result is a frozen
:class:`BacktestResult` (time series, fills, PnL decomposition, :meth:`~BacktestResult.summary`).

The simulated exchange
----------------------
Two clocks. The exchange applies each event at its exchange time (``exch_ns``) to its own
book, where our orders queue and match; we see the same event at its local receive time
(``local_ns``) in a separate local book, which is what the strategy reads. Our orders and
cancels reach the exchange after the *entry* latency; what the exchange does to them (ack,
reject, fill, cancel) reaches us after the *response* latency (:mod:`~invrisk.backtest.models`).
At one instant, market data is applied before our arrivals: an order never fills on a trade
stamped at or before its arrival. A cancel protects nothing before it arrives.

Fills. A new order that crosses the available opposite liquidity takes it as a taker, walking
the levels up to its limit (POST_ONLY orders are rejected instead; an IOC remainder expires; a
GTC remainder rests). A resting order fills as a maker at its own price on a trade printed
through its price, on a trade at its price once the quantity ahead of it (the queue model) is
consumed, or when the opposite side of the book moves onto its price. A trade's quantity, and a
crossing level's displayed quantity, is a budget shared by all our orders, and liquidity we
took stays taken until the level's displayed size falls below it: the same quantity never
fills two of our orders. With ``partial_fills=False`` a resting order fills completely when the
budget covers it and not at all otherwise.

Accounting. Linear and inverse contracts (an inverse contract is linear in ``1/price``: PnL in
coin), maker/taker fees on notional (negative = rebate), funding of perpetuals at each
settlement, and ``total = spread + inventory - fees + funding`` per instrument.

Known simplifications (stated, not hidden): the book is market-by-price, so queue position is
estimated (:class:`RiskAverseQueue`, :class:`ProbQueue`); our orders do not move the data's
book (no market impact beyond the liquidity we consume); after a CLEAR of a side our queue
estimate is kept until the level is updated again.

Amends (``run_backtest(amend_orders=True)``). The order manager then moves a resting quote to
a new level with one amend instead of a cancel and a new order. An amend reaches the exchange
after the entry latency, like a new order, and changes the order's price and *total* size
(fills included) there: a size decrease at the same price keeps the order's queue position; a
size increase or a new price sends it to the back of the queue at its price (a GTC order's new
price first takes the liquidity it crosses, as a new order would). It is rejected, leaving the
order as it was, if the order is no longer resting (filled or cancelled first; Deribit:
"Only open orders can be edited"), if the new total is not above what has filled, or if a
POST_ONLY order's new price would cross. For that last case the live gateway sends Deribit's
``private/edit`` with ``post_only`` and ``reject_post_only``, for which Deribit documents that
"the order is put to the order book unmodified or the request is rejected" (docs.deribit.com,
``private/edit`` and ``private/edit_by_label``); that a rejected edit leaves the order at its
old price and size is our reading (the documentation does not spell it out), and the backtester
does the same. Queue priority follows the common venue rule stated by Bybit
("Increasing OrderQty causes the order to lose its current queue position. Decreasing OrderQty
does not affect queue position", bybit-exchange.github.io/docs/fix-api/amend-order), Gate.io
("If price is not changed, decreasing size will not change its precedence in order book, while
increasing will move it to the last at current price", futures order amendment) and Binance's
keep-priority amend (quantity decreases only); we found no statement of Deribit's own rule.
"""

from __future__ import annotations

from invrisk.backtest.engine import run_backtest
from invrisk.backtest.models import (
    ConstantLatency,
    Fees,
    LatencyModel,
    ProbQueue,
    QueueModel,
    RiskAverseQueue,
    SeriesLatency,
)
from invrisk.backtest.results import (
    AMEND_DTYPE,
    FILL_DTYPE,
    FUNDING_DTYPE,
    ORDER_DTYPE,
    BacktestResult,
    PnL,
    summary_metrics,
)

__all__ = [
    "AMEND_DTYPE",
    "FILL_DTYPE",
    "FUNDING_DTYPE",
    "ORDER_DTYPE",
    "BacktestResult",
    "ConstantLatency",
    "Fees",
    "LatencyModel",
    "PnL",
    "ProbQueue",
    "QueueModel",
    "RiskAverseQueue",
    "SeriesLatency",
    "run_backtest",
    "summary_metrics",
]
