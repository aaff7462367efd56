"""AMM liquidity positions as portfolio positions.

A Uniswap v3 position (liquidity L in a price range [p_a, p_b] of a pool) or a v2 position
(the full range [0, inf]) becomes a :class:`~invrisk.risk.portfolio.Position` whose instrument
has kind :attr:`~invrisk.instruments.InstrumentKind.LP`: the range is part of the instrument
(as a strike is part of an option), the liquidity is the position's ``contracts``, and the
venue is the protocol (``"uniswap_v3"``), so that the venue exposure of
:mod:`invrisk.risk.venues` counts the pool as a DeFi venue.

Such a position sits in a :class:`~invrisk.risk.portfolio.Portfolio` beside options and
perpetuals on the same coin: :func:`~invrisk.risk.greeks.portfolio_greeks` gives its delta and
gamma on the pool's risky asset, and scenarios (:func:`~invrisk.risk.scenarios.revalue`), VaR
(:func:`~invrisk.risk.var_portfolio.portfolio_var`) and margin revalue it exactly with the v3
formulas (:mod:`invrisk.amm.v3`) at the moved pool price, not by a Taylor expansion.

Conventions
-----------
* The instrument's ``base`` is the coin whose index the position moves with: the pool's risky
  token with a wrapped prefix removed (``WETH`` -> ``ETH``, ``WBTC`` -> ``BTC``), so that an ETH
  perpetual hedges it; ``quote`` is the pool's quote token (a USD-like stablecoin, taken at
  par with USD as everywhere in the risk layer).
* The pool price is the snapshot's mark of the instrument (``MarketSnapshot.marks``, keyed
  ``"venue:name"`` or ``name``) or, without one, the coin's index; it moves in proportion to
  the index under every scenario.
* Fees are not valued: the position's value is its token amounts at the pool price. Fees
  collected are cash (see :mod:`invrisk.hedging.lp_backtest` for the fee income over time).
"""

from __future__ import annotations

import contextlib
import math

from invrisk.amm import PoolSpec
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import Instrument, InstrumentKind, Settlement
from invrisk.risk.portfolio import USD_LIKE, Position

__all__ = ["lp_instrument", "lp_position", "unwrapped_symbol"]

_WRAPPED = {"WETH": "ETH", "WBTC": "BTC", "WSOL": "SOL", "WMATIC": "MATIC", "WBNB": "BNB"}


def unwrapped_symbol(symbol: str) -> str:
    """The coin a wrapped token tracks (``WETH`` -> ``ETH``); other symbols unchanged."""
    return _WRAPPED.get(symbol, symbol)


def _range_text(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


def lp_instrument(
    *,
    price_lower: float,
    price_upper: float,
    pool: PoolSpec | None = None,
    venue: str = "uniswap_v3",
    base: str | None = None,
    quote: str | None = None,
) -> Instrument:
    """The instrument of liquidity in [``price_lower``, ``price_upper``] of a pool.

    Parameters
    ----------
    price_lower, price_upper
        The range, quote per risky token (0 <= p_a < p_b <= inf; [0, inf] is a v2 position).
    pool
        The pool's :class:`~invrisk.amm.PoolSpec` (gives the tokens and fee tier); optional
        when ``base`` and ``quote`` are given.
    venue
        The protocol, a lower-case id (``"uniswap_v3"``, ``"uniswap_v2"``).
    base, quote
        The coin of the index (default: the pool's risky token, unwrapped) and the quote token
        (default: the pool's quote token); the quote must be USD-like (USD, USDT, USDC).

    Examples
    --------
    >>> from invrisk.amm import USDC_WETH_005
    >>> inst = lp_instrument(price_lower=3000.0, price_upper=5000.0, pool=USDC_WETH_005)
    >>> inst.name, inst.base, inst.quote, inst.venue
    ('WETH-USDC-5BP-3000-5000', 'ETH', 'USDC', 'uniswap_v3')
    """
    if pool is not None and not isinstance(pool, PoolSpec):
        raise InvalidArgumentError("pool", pool, "a PoolSpec or None")
    if pool is None:
        if base is None or quote is None:
            raise InvalidArgumentError("pool", None, "a PoolSpec, or both base and quote")
        coin, quote_token = base, quote
        name = f"{coin}-{quote_token}-LP"
    else:
        coin = unwrapped_symbol(pool.risky_symbol) if base is None else base
        quote_token = pool.quote_symbol if quote is None else quote
        name = f"{pool.risky_symbol}-{pool.quote_symbol}-{pool.fee_rate * 1e4:g}BP"
    if quote_token not in USD_LIKE:
        raise InvalidArgumentError(
            "quote", quote_token, f"a USD-like quote token ({', '.join(sorted(USD_LIKE))})"
        )
    with contextlib.suppress(TypeError, ValueError):  # the instrument names a bad bound
        name += f"-{_range_text(float(price_lower))}-{_range_text(float(price_upper))}"
    return Instrument(
        name=name,
        kind=InstrumentKind.LP,
        base=coin,
        quote=quote_token,
        settle=quote_token,
        settlement=Settlement.LINEAR,
        tick_size=1e-8,
        min_size=1e-12,
        lot_size=1e-12,
        contract_size=1.0,
        venue=venue,
        price_lower=price_lower,
        price_upper=price_upper,
    )


def lp_position(
    *,
    liquidity: float,
    price_lower: float,
    price_upper: float,
    pool: PoolSpec | None = None,
    venue: str = "uniswap_v3",
    base: str | None = None,
    quote: str | None = None,
    label: str = "",
) -> Position:
    """A liquidity position for a :class:`~invrisk.risk.portfolio.Portfolio`.

    Parameters
    ----------
    liquidity
        L >= 0 in sqrt(risky x quote) human units (:func:`invrisk.amm.liquidity_from_raw`
        converts a pool's raw value; :func:`invrisk.amm.v3_liquidity_for_value` gives L for a
        capital).
    price_lower, price_upper, pool, venue, base, quote
        As in :func:`lp_instrument`.
    label
        Position id (default ``"venue:name"``).

    Examples
    --------
    Issue 9's worked position: L = 500 in [3000, 5000] at 4000 holds 0.834626 ETH and
    4236.65 USDC; its delta is the ETH held.

    >>> from invrisk.risk import MarketSnapshot, Portfolio, portfolio_greeks
    >>> pos = lp_position(liquidity=500.0, price_lower=3000.0, price_upper=5000.0,
    ...                   base="ETH", quote="USDC")
    >>> g = portfolio_greeks(Portfolio([pos]), MarketSnapshot(valuation_ns=0,
    ...                      index_usd={"ETH": 4000.0}))
    >>> round(float(g.value_usd[0]), 2), round(float(g.delta_coin[0]), 6)
    (7575.15, 0.834626)
    """
    inst = lp_instrument(
        price_lower=price_lower,
        price_upper=price_upper,
        pool=pool,
        venue=venue,
        base=base,
        quote=quote,
    )
    if isinstance(liquidity, bool) or not isinstance(liquidity, int | float):
        raise InvalidArgumentError("liquidity", liquidity, "a finite liquidity >= 0")
    if not (math.isfinite(liquidity) and liquidity >= 0.0):
        raise InvalidArgumentError("liquidity", liquidity, "a finite liquidity >= 0")
    return Position(instrument=inst, contracts=float(liquidity), label=label)
