"""PnL attribution between two market snapshots: Taylor terms and the residual.

:func:`attribute_pnl` revalues a portfolio fully in both snapshots (same positions, entry prices
of futures without one fixed at the first snapshot's marks) and splits the change of its USD
value with the Greeks of the first snapshot (definitions in :mod:`invrisk.risk.greeks`):

* delta  = ``delta_coin * dS``
* gamma  = ``gamma_coin_per_usd * dS**2 / 2``
* vega   = ``vega_usd * dσ`` (dσ: the option's own implied vol change at its strike)
* vanna  = ``vanna_coin * dS * dσ``
* volga  = ``volga_usd * dσ**2 / 2``
* theta  = ``theta_usd * dt`` (dt: years between the snapshots)
* basis  = ``basis_delta_usd * d ln(F/S)``, F the position's own forward or mark: the part of
  its price move not explained by the index move (forwards and marks drifting against the
  index: carry, funding, a different fetch time)
* residual = full revaluation change - the sum of the above.

When every forward and mark moves in proportion to the index (the Greeks' assumption, no basis
term) the residual is of third order in (dS, dσ) plus cross terms with dt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrisk._typing import Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.risk._book import Book, book_values, build_book
from invrisk.risk.greeks import PortfolioGreeks, book_greeks
from invrisk.risk.portfolio import MarketSnapshot, Portfolio
from invrisk.units import ns_to_iso, year_fraction

__all__ = ["ATTRIBUTION_TERMS", "PnLAttribution", "attribute_pnl"]

ATTRIBUTION_TERMS = ("delta", "gamma", "vega", "vanna", "volga", "theta", "basis", "residual")
"""The terms of :class:`PnLAttribution`, in order; they add up to ``total_usd``."""


@dataclass(frozen=True, slots=True, eq=False)
class PnLAttribution:
    """Per-position split of the USD PnL between two snapshots (arrays, one per position).

    Attributes
    ----------
    labels, underlying
        Positions and their coins.
    start_ns, end_ns
        The two snapshot times.
    value_start_usd, value_end_usd
        Full revaluations.
    total_usd
        ``value_end_usd - value_start_usd``.
    delta, gamma, vega, vanna, volga, theta, basis, residual
        The terms (USD); they sum to ``total_usd`` per position.
    greeks
        The Greeks at the start.
    """

    labels: tuple[str, ...]
    underlying: tuple[str, ...]
    start_ns: int
    end_ns: int
    value_start_usd: Float64Array
    value_end_usd: Float64Array
    total_usd: Float64Array
    delta: Float64Array
    gamma: Float64Array
    vega: Float64Array
    vanna: Float64Array
    volga: Float64Array
    theta: Float64Array
    basis: Float64Array
    residual: Float64Array
    greeks: PortfolioGreeks

    def __repr__(self) -> str:
        parts = ", ".join(f"{t}={float(np.sum(getattr(self, t))):.6g}" for t in ATTRIBUTION_TERMS)
        return (
            f"PnLAttribution({ns_to_iso(self.start_ns)} -> {ns_to_iso(self.end_ns)}: "
            f"total={float(np.sum(self.total_usd)):.6g}; {parts})"
        )

    def summary(self) -> dict[str, float]:
        """Portfolio sums of the total and of every term (USD)."""
        out = {"total_usd": float(np.sum(self.total_usd))}
        out.update({t: float(np.sum(getattr(self, t))) for t in ATTRIBUTION_TERMS})
        return out


def attribute_pnl(
    portfolio: Portfolio, start: MarketSnapshot, end: MarketSnapshot
) -> PnLAttribution:
    """Explain the change of the portfolio's USD value from ``start`` to ``end``.

    Raises
    ------
    InvalidArgumentError
        If ``end`` is before ``start``, or (naming the position) a position cannot be valued in
        either snapshot; a contract expiring between the two snapshots is reported as expired in
        ``end``.

    Examples
    --------
    A linear perpetual has delta only: 2 BTC long, index and mark from 50,000 to 51,000 earn
    2,000 USD, all of it delta.

    >>> from invrisk.instruments import parse_ccxt
    >>> from invrisk.risk import Position
    >>> perp = Position(instrument=parse_ccxt("BTC/USDT:USDT", venue="binance"), contracts=2)
    >>> a = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 5e4}, marks={"BTC/USDT:USDT": 5e4})
    >>> b = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 51e3}, marks={"BTC/USDT:USDT": 51e3})
    >>> attribute_pnl(Portfolio([perp]), a, b).summary()["delta"]
    2000.0
    """
    if not isinstance(start, MarketSnapshot) or not isinstance(end, MarketSnapshot):
        raise InvalidArgumentError("start/end", (start, end), "two MarketSnapshots")
    if end.valuation_ns < start.valuation_ns:
        raise InvalidArgumentError(
            "end.valuation_ns",
            ns_to_iso(end.valuation_ns),
            f"a time at or after start ({ns_to_iso(start.valuation_ns)})",
        )
    book0 = build_book(portfolio, start)
    book1 = build_book(portfolio, end, entry_market=start)
    ones = np.ones((1, len(book0.coins)))
    v0, _ = book_values(book0, spot_factor=ones, vol=book0.vol[None, :])
    v1, _ = book_values(book1, spot_factor=ones, vol=book1.vol[None, :])
    g = book_greeks(book0)
    d_spot = (book1.index_usd - book0.index_usd)[book0.coin]
    d_vol = np.zeros(len(book0))
    d_vol[book0.opt] = book1.vol - book0.vol
    dt = year_fraction(start.valuation_ns, end.valuation_ns)
    delta = g.delta_coin * d_spot
    gamma = 0.5 * g.gamma_coin_per_usd * d_spot**2
    vega = g.vega_usd * d_vol
    vanna = g.vanna_coin * d_spot * d_vol
    volga = 0.5 * g.volga_usd * d_vol**2
    theta = g.theta_usd * dt
    basis = g.basis_delta_usd * np.log(_price_ratio(book1) / _price_ratio(book0))
    total = v1[0] - v0[0]
    residual = total - (delta + gamma + vega + vanna + volga + theta + basis)
    return PnLAttribution(
        labels=book0.labels,
        underlying=g.underlying,
        start_ns=start.valuation_ns,
        end_ns=end.valuation_ns,
        value_start_usd=v0[0],
        value_end_usd=v1[0],
        total_usd=total,
        delta=delta,
        gamma=gamma,
        vega=vega,
        vanna=vanna,
        volga=volga,
        theta=theta,
        basis=basis,
        residual=residual,
        greeks=g,
    )


def _price_ratio(book: Book) -> Float64Array:
    """Each position's own forward or mark over its coin's index (F/S, P/S)."""
    out = np.ones(len(book))
    out[book.opt] = book.fwd_ratio
    out[book.d1] = book.price_ratio
    return out
