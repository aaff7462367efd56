"""PnL of one instrument recomputed from its journaled fills (layer 5, no I/O).

The journal records, for each fill, its side, quantity (contracts), price, fee and the cash it
moved in the settlement currency (``cash_delta = -side * qty * value(price) - fee``), and, since
the runtime started writing it, the instrument's mid as of the fill's venue time (the
runtime's book after the last market batch stamped at or before it; by the time a fill is
reported the book has usually moved through the order's price, so the mid at that later
moment would book adverse selection as lost spread). The value of
one contract at price ``p`` is read off the first fill: ``value(p) = contract_size * p`` for a
linear contract (value > 0) and ``-contract_size / p`` for an inverse one (value < 0; the
settlement currency is then the coin), so nothing about the instrument needs to be known.

With ``mark`` the current price (the latest mid):

- **cash** = Σ cash_delta; **total** = cash + position × value(mark);
- **realised** / **unrealised**: average-cost accounting in value units (a fill that reduces
  the position realises ``closed_qty × (value(fill) − average entry value) × sign(position)``;
  unrealised = position × (value(mark) − average entry value)); total = realised +
  unrealised − fees;
- **fees**: their sum (negative = rebates received);
- **spread** capture: Σ side × qty × (value(mid at the fill) − value(fill price)), what each
  fill earned against the mid when it happened (the backtester's definition, see
  :mod:`invrisk.backtest.results`);
- **inventory** PnL = total + fees − spread = Σ side × qty × (value(mark) − value(mid at the
  fill)): the mark-to-market of what was bought or sold, from the mid at the time to the mark.
  Unknown (NaN) if any fill was journaled without a mid (a journal older than the ``mid``
  column, or a fill that arrived while the book was one-sided).
- **delta**: linear, position × contract size in base coins, times the mark in the quote
  currency; inverse, position × contract size in USD of notional, over the mark in coins (the
  coin-equivalent of the position's USD value, as the live status panel reports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from invrisk.risk.average_cost import FLAT_QTY, average_cost

__all__ = ["FillAccount"]


@dataclass(slots=True)
class FillAccount:
    """Running PnL of one instrument's fills (see the module docstring).

    Feed fills in journal order with :meth:`fill`; read the figures at a mark with the methods.
    Money is in the settlement currency, positions in contracts.
    """

    position: float = 0.0
    cash: float = 0.0
    fees: float = 0.0
    realised: float = 0.0
    spread: float = 0.0
    avg_value: float = 0.0  # average entry value of one contract, settlement currency
    contract_size: float = math.nan
    inverse: bool | None = None  # unknown until the first fill
    n_fills: int = 0
    n_without_mid: int = 0

    def value(self, price: float) -> float:
        """Value of one contract at ``price`` (NaN while the contract type is unknown)."""
        if self.inverse is None or not (math.isfinite(price) and price > 0):
            return math.nan
        return -self.contract_size / price if self.inverse else self.contract_size * price

    def fill(
        self,
        *,
        side: int,
        qty: float,
        price: float,
        fee: float,
        cash_delta: float,
        mid: float | None = None,
    ) -> None:
        """Book one fill: ``side`` +1 buy / -1 sell, ``qty`` contracts (> 0), ``mid`` the
        instrument's mid as of the fill (None or NaN if unknown)."""
        v = -(cash_delta + fee) / (side * qty)
        if self.inverse is None and math.isfinite(v) and v != 0.0:
            self.inverse = v < 0
            self.contract_size = -v * price if self.inverse else v / price
        new_q, self.avg_value, realised = average_cost(
            self.position, self.avg_value, side=side, qty=qty, unit=v
        )
        self.realised += realised
        m = math.nan if mid is None else float(mid)
        captured = side * qty * (self.value(m) - v)
        if math.isfinite(captured):
            self.spread += captured
        else:
            self.n_without_mid += 1
        self.position = new_q
        self.cash += cash_delta
        self.fees += fee
        self.n_fills += 1

    def flat(self) -> bool:
        return abs(self.position) <= FLAT_QTY

    def unrealised(self, mark: float) -> float:
        return 0.0 if self.flat() else self.position * (self.value(mark) - self.avg_value)

    def total(self, mark: float) -> float:
        """cash + position × value(mark): realised + unrealised − fees."""
        return self.cash if self.flat() else self.cash + self.position * self.value(mark)

    def spread_capture(self) -> float:
        """Spread captured against the mid (NaN if a fill has no mid)."""
        return self.spread if self.n_without_mid == 0 else math.nan

    def inventory(self, mark: float) -> float:
        """Inventory PnL: total + fees − spread (NaN if a fill has no mid or no mark)."""
        return self.total(mark) + self.fees - self.spread_capture()

    def delta(self, mark: float) -> tuple[float, float]:
        """(delta in base coins, delta in the quote currency) at ``mark`` (see the module
        docstring); (0, 0) when flat, NaN while the contract type or the mark is unknown."""
        if self.flat():
            return 0.0, 0.0
        if self.inverse is None or not (math.isfinite(mark) and mark > 0):
            return math.nan, math.nan
        exposure = self.position * self.contract_size
        if self.inverse:
            return exposure / mark, exposure
        return exposure, exposure * mark
