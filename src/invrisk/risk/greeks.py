"""Value and Greeks of a portfolio, per position and aggregated; vega buckets.

:func:`portfolio_greeks` values every position of a :class:`~invrisk.risk.Portfolio` with a
:class:`~invrisk.risk.MarketSnapshot` and returns its sensitivities as one array per Greek (one
element per position): all options in one call of the Black-76 kernel, the delta-one contracts
in closed form. :meth:`PortfolioGreeks.totals` sums them per underlying coin (and venue);
:func:`vega_buckets` sums vega by expiry and by call-delta or log-moneyness bucket.

Definitions
-----------
Every Greek is a derivative of the position's **USD value at the index** ``S`` of its coin (a
coin amount is worth ``amount * S`` USD), with all forwards and marks of the coin moving in
proportion to ``S`` and each option's implied vol held fixed (sticky strike):

* ``delta_coin`` = dV/dS, coins; ``delta_usd`` = S dV/dS.
* ``delta_premium_adjusted_coin`` = ``delta_coin - value_coin`` for coin-settled (inverse)
  positions, ``delta_coin`` for linear ones. For an inverse option it is ``n (Δ - C)``, Deribit's
  "net transaction delta" (Δ the Black-76 delta, C the price in coin): the delta left once the
  option's own coin value is counted as coin held. For an inverse future it is ``N / P``.
* ``gamma_coin_per_usd`` = d²V/dS²; ``cash_gamma_usd`` = gamma S², so that a relative move r
  of the index earns about ``cash_gamma_usd * r**2 / 2``.
* ``vega_usd`` = dV/dσ per 1.0 of vol (``units.vega_per_vol_pt`` for per point);
  ``volga_usd`` = d²V/dσ²; ``vanna_coin`` = d(delta_coin)/dσ.
* ``theta_usd`` = -dV/dt per year of calendar time, index, forwards, marks and vols held
  (``units.theta_per_day`` for per day).
* ``basis_delta_usd`` = dV/d ln F at a fixed index, F the position's own forward (option) or
  mark (spot, perpetual, future): the USD change per unit relative move of that price against
  the index (a basis move).
* ``rho_usd`` = dV/dh for a shift h of the carry rate of every forward and futures mark
  (``F -> F exp(h T)``), the index held: ``basis_delta_usd * T``. Perpetuals and spot have none
  (funding is not modelled); rates are zero, so there is no discounting term.

An AMM liquidity position (L = contracts, range [p_a, p_b], pool price P = ρ S with ρ the
pool price over the index) is worth V = x(P) P + y(P) in its quote token, taken as USD
(:mod:`invrisk.amm.v3`): ``delta_coin`` = ρ x(P) (the risky amount held, for ρ = 1),
``gamma_coin_per_usd`` = ρ² dx/dP = -ρ² L / (2 P^{3/2}) inside the range and 0 outside,
``basis_delta_usd`` = x P; no vega, theta (fees are not a Greek) or rho.

For an option with Black-76 value V on its forward F (ρ = F/S), n units: an inverse option is
worth ``n V / F`` coin, hence ``n V / ρ`` USD, and its ``delta_coin`` is exactly ``n Δ`` (the
exchange's delta); gamma ``n Γ ρ``, vega ``n vega / ρ``, theta ``n θ / ρ``, vanna ``n vanna``,
volga ``n volga / ρ``, rho ``n S T (Δ - V/F)``. A linear option is worth ``n V`` USD with delta
``n Δ ρ``, gamma ``n Γ ρ²``, vega ``n vega``, theta ``n θ``, vanna ``n vanna ρ``, volga
``n volga``, rho ``n F T Δ``; for both, basis delta is rho / T. The Black-76 Greeks an exchange
reports for an inverse option are those of ``C·F`` (the coin price converted at the forward):
they equal ours times ``F/S`` (value, vega, theta, volga) or ``S/F`` (gamma); deltas agree
exactly.

References
----------
F. Black, "The pricing of commodity contracts", J. Financial Economics 3 (1976) 167-179.
Deribit, "Inverse options" and "Greeks" documentation (coin price = Black-76 USD price / F).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from invrisk._typing import ArrayLike, BoolArray, Float64Array, Int64Array
from invrisk.amm import v3_greeks
from invrisk.errors import InvalidArgumentError
from invrisk.pricing import black76
from invrisk.risk._book import Book, build_book
from invrisk.risk.portfolio import MarketSnapshot, Portfolio
from invrisk.units import ns_to_iso

__all__ = [
    "GREEK_FIELDS",
    "GreeksTotal",
    "PortfolioGreeks",
    "VegaBuckets",
    "portfolio_greeks",
    "vega_buckets",
]

GREEK_FIELDS = (
    "value_usd",
    "value_coin",
    "delta_coin",
    "delta_usd",
    "delta_premium_adjusted_coin",
    "gamma_coin_per_usd",
    "cash_gamma_usd",
    "vega_usd",
    "theta_usd",
    "vanna_coin",
    "volga_usd",
    "rho_usd",
    "basis_delta_usd",
)
"""The additive fields of :class:`PortfolioGreeks` and :class:`GreeksTotal`, in order."""


@dataclass(frozen=True, slots=True)
class GreeksTotal:
    """Value and Greeks summed over a group of positions on one coin (units as in the module)."""

    underlying: str
    index_usd: float
    n_positions: int
    value_usd: float
    value_coin: float
    delta_coin: float
    delta_usd: float
    delta_premium_adjusted_coin: float
    gamma_coin_per_usd: float
    cash_gamma_usd: float
    vega_usd: float
    theta_usd: float
    vanna_coin: float
    volga_usd: float
    rho_usd: float
    basis_delta_usd: float

    def as_dict(self) -> dict[str, float | str | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True, eq=False)
class PortfolioGreeks:
    """Per-position value and Greeks (one read-only array element per position).

    Attributes
    ----------
    valuation_ns
        The snapshot's time.
    labels, underlying, venue, kind
        Position labels, underlying coin, venue (``""`` if none), instrument kind.
    index_usd
        Index of each position's coin.
    value_usd ... rho_usd
        See :data:`GREEK_FIELDS` and the module docstring for definitions and units.
    is_option
        Mask of option positions; the option-only columns below are NaN (or 0) elsewhere.
    expiry_ns
        Expiry (int ns) of options and futures, 0 for spot and perpetuals.
    forward_usd, vol, t_yr, call_delta, log_moneyness
        Each option's forward, implied vol (decimal), years to expiry, Black-76 call delta
        N(d1) and ln(K/F).
    """

    valuation_ns: int
    labels: tuple[str, ...]
    underlying: tuple[str, ...]
    venue: tuple[str, ...]
    kind: tuple[str, ...]
    index_usd: Float64Array
    value_usd: Float64Array
    value_coin: Float64Array
    delta_coin: Float64Array
    delta_usd: Float64Array
    delta_premium_adjusted_coin: Float64Array
    gamma_coin_per_usd: Float64Array
    cash_gamma_usd: Float64Array
    vega_usd: Float64Array
    theta_usd: Float64Array
    vanna_coin: Float64Array
    volga_usd: Float64Array
    rho_usd: Float64Array
    basis_delta_usd: Float64Array
    is_option: BoolArray
    expiry_ns: Int64Array
    forward_usd: Float64Array
    vol: Float64Array
    t_yr: Float64Array
    call_delta: Float64Array
    log_moneyness: Float64Array

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (
            f"PortfolioGreeks({len(self)} positions at {ns_to_iso(self.valuation_ns)}, "
            f"underlyings={sorted(set(self.underlying))})"
        )

    def position(self, label: str) -> dict[str, float]:
        """The additive fields of one position by label."""
        try:
            i = self.labels.index(label)
        except ValueError:
            raise InvalidArgumentError("label", label, "a position label of this book") from None
        return {name: float(getattr(self, name)[i]) for name in GREEK_FIELDS}

    def totals(
        self, *, by: Literal["underlying", "venue"] = "underlying"
    ) -> dict[str, GreeksTotal] | dict[tuple[str, str], GreeksTotal]:
        """Sums per underlying coin (keys ``"BTC"``...) or per (coin, venue).

        Coin-denominated fields (deltas, gamma, vanna, value_coin) are only summed within one
        coin; a grand total of the USD fields across coins is ``sum(t.vega_usd for t in ...)``.
        """
        if by not in ("underlying", "venue"):
            raise InvalidArgumentError("by", by, "'underlying' or 'venue'")
        keys: list[Any]
        if by == "underlying":
            keys = list(self.underlying)
        else:
            keys = list(zip(self.underlying, self.venue, strict=True))
        out: dict[Any, GreeksTotal] = {}
        for key in sorted(set(keys)):
            sel = np.array([k == key for k in keys], dtype=np.bool_)
            coin = key if isinstance(key, str) else key[0]
            index = float(self.index_usd[sel][0])
            sums = {name: float(np.sum(getattr(self, name)[sel])) for name in GREEK_FIELDS}
            out[key] = GreeksTotal(
                underlying=coin, index_usd=index, n_positions=int(sel.sum()), **sums
            )
        return out


def portfolio_greeks(portfolio: Portfolio, market: MarketSnapshot) -> PortfolioGreeks:
    """Value and Greeks of every position of ``portfolio`` in ``market``.

    Raises
    ------
    InvalidArgumentError
        Naming the position, if one cannot be valued: no index for its coin, no vol surface for
        an option, no (or a NaN) mark for a future, perpetual or quoted option, an expired
        contract, or a surface that gives no positive vol at the option's strike.

    Examples
    --------
    A short 10-contract BTC-PERPETUAL (10 USD each, inverse) entered at 50,000 with the index
    and the mark at 40,000: it has gained 100 x (1/40,000 - 1/50,000) = 0.0005 BTC, i.e. 20 USD,
    and its coin delta is -100 / 50,000 = -0.002 BTC.

    >>> from invrisk.instruments import parse_deribit
    >>> from invrisk.risk import Position
    >>> p = Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=-10, entry_price=5e4)
    >>> m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 4e4}, marks={"BTC-PERPETUAL": 4e4})
    >>> g = portfolio_greeks(Portfolio([p]), m)
    >>> round(float(g.value_usd[0]), 6), round(float(g.delta_coin[0]), 6)
    (20.0, -0.002)
    """
    return book_greeks(build_book(portfolio, market))


def book_greeks(book: Book) -> PortfolioGreeks:
    """:func:`portfolio_greeks` of a book already resolved against its snapshot (internal)."""
    n = len(book)
    spot = book.spot_usd()
    cols = {name: np.zeros(n) for name in GREEK_FIELDS if name not in ("delta_usd",)}
    forward = np.full(n, math.nan)
    vol = np.full(n, math.nan)
    t_yr = np.full(n, math.nan)
    call_delta = np.full(n, math.nan)
    log_k = np.full(n, math.nan)
    expiry = np.zeros(n, dtype=np.int64)
    if book.n_options:
        i = book.opt
        s = spot[i]
        rho_f = book.fwd_ratio
        f = s * rho_f
        g = black76(
            forward=f, strike=book.strike, t_yr=book.t_yr, vol=book.vol, option_type=book.cp
        )
        price, delta, gamma = np.asarray(g.price), np.asarray(g.delta), np.asarray(g.gamma)
        vega, theta = np.asarray(g.vega), np.asarray(g.theta)
        vanna, volga = np.asarray(g.vanna), np.asarray(g.volga)
        size = book.size[i]
        inv = book.inverse[i]
        c = price / f  # price in coin per unit
        cols["value_usd"][i] = np.where(inv, size * price / rho_f, size * price)
        cols["delta_coin"][i] = np.where(inv, size * delta, size * delta * rho_f)
        cols["gamma_coin_per_usd"][i] = np.where(inv, size * gamma * rho_f, size * gamma * rho_f**2)
        cols["vega_usd"][i] = np.where(inv, size * vega / rho_f, size * vega)
        cols["theta_usd"][i] = np.where(inv, size * theta / rho_f, size * theta)
        cols["vanna_coin"][i] = np.where(inv, size * vanna, size * vanna * rho_f)
        cols["volga_usd"][i] = np.where(inv, size * volga / rho_f, size * volga)
        cols["basis_delta_usd"][i] = np.where(inv, size * s * (delta - c), size * f * delta)
        cols["rho_usd"][i] = cols["basis_delta_usd"][i] * book.t_yr
        forward[i] = f
        vol[i] = book.vol
        t_yr[i] = book.t_yr
        call_delta[i] = delta + (book.cp < 0.0)
        log_k[i] = np.log(book.strike / f)
        expiry[i] = book.expiry_ns
    if book.d1.size:
        j = book.d1
        s = spot[j]
        mark = s * book.price_ratio
        size = book.size[j]
        inv = book.inverse[j]
        with np.errstate(invalid="ignore"):  # entry is NaN for spot rows, masked out
            linear_value = np.where(book.is_spot, size * mark, size * (mark - book.entry))
            inverse_value = size * (1.0 / book.entry - 1.0 / mark) * s
            cols["value_usd"][j] = np.where(inv, inverse_value, linear_value)
            cols["delta_coin"][j] = np.where(inv, size / book.entry, size * book.price_ratio)
        cols["basis_delta_usd"][j] = np.where(inv, size * s / mark, size * mark)
        cols["rho_usd"][j] = cols["basis_delta_usd"][j] * book.tau_yr
        expiry[j] = book.d1_expiry_ns
    if book.lp.size:
        k = book.lp
        ratio = book.lp_price_ratio
        pool_price = spot[k] * ratio
        lp = v3_greeks(
            liquidity=book.size[k],
            price=pool_price,
            price_lower=book.lp_lower,
            price_upper=book.lp_upper,
        )
        risky = np.asarray(lp.delta_qty)
        cols["value_usd"][k] = lp.value_quote
        cols["delta_coin"][k] = risky * ratio
        cols["gamma_coin_per_usd"][k] = np.asarray(lp.gamma_qty_per_quote) * ratio**2
        cols["basis_delta_usd"][k] = risky * pool_price
    value_coin = cols["value_usd"] / spot
    cols["value_coin"] = value_coin
    inv_all = book.inverse
    cols["delta_premium_adjusted_coin"] = np.where(
        inv_all, cols["delta_coin"] - value_coin, cols["delta_coin"]
    )
    cols["cash_gamma_usd"] = cols["gamma_coin_per_usd"] * spot**2
    delta_usd = cols["delta_coin"] * spot

    expiry.setflags(write=False)

    def ro(a: Float64Array) -> Float64Array:
        a.setflags(write=False)
        return a

    return PortfolioGreeks(
        valuation_ns=book.valuation_ns,
        labels=book.labels,
        underlying=tuple(book.coins[c] for c in book.coin),
        venue=book.venues,
        kind=book.kinds,
        index_usd=ro(spot),
        delta_usd=ro(delta_usd),
        is_option=book.is_option,
        expiry_ns=expiry,
        forward_usd=ro(forward),
        vol=ro(vol),
        t_yr=ro(t_yr),
        call_delta=ro(call_delta),
        log_moneyness=ro(log_k),
        **{name: ro(a) for name, a in cols.items()},
    )


# -- vega buckets -------------------------------------------------------------------------------

CALL_DELTA_EDGES = (0.0, 0.1, 0.25, 0.4, 0.6, 0.75, 0.9, 1.0)
LOG_MONEYNESS_EDGES = (-math.inf, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, math.inf)


@dataclass(frozen=True, slots=True, eq=False)
class VegaBuckets:
    """Option vega (USD per 1.0 vol) of one coin by expiry x bucket.

    Attributes
    ----------
    underlying
        The coin.
    by
        ``"call_delta"`` (Black-76 N(d1) of each option's strike, puts included) or
        ``"log_moneyness"`` (ln(K/F)).
    edges
        Bucket edges (increasing); bucket j holds ``edges[j] <= x < edges[j+1]`` (the last
        bucket includes its upper edge).
    expiry_ns
        Row expiries (sorted).
    vega_usd
        (n_expiries, n_buckets) sums.
    """

    underlying: str
    by: str
    edges: Float64Array
    expiry_ns: Int64Array
    vega_usd: Float64Array

    @property
    def labels(self) -> tuple[str, ...]:
        e = self.edges
        return tuple(f"[{e[j]:g}, {e[j + 1]:g})" for j in range(e.shape[0] - 1))

    @property
    def by_expiry(self) -> Float64Array:
        """Vega per expiry (sum over buckets)."""
        return np.asarray(self.vega_usd.sum(axis=1))

    @property
    def by_bucket(self) -> Float64Array:
        """Vega per bucket (sum over expiries)."""
        return np.asarray(self.vega_usd.sum(axis=0))


def vega_buckets(
    greeks: PortfolioGreeks,
    *,
    underlying: str | None = None,
    by: Literal["call_delta", "log_moneyness"] = "call_delta",
    edges: ArrayLike | None = None,
) -> VegaBuckets:
    """Vega of the options on one coin, by expiry and by call-delta or log-moneyness bucket.

    ``underlying`` may be omitted when the book's options are all on one coin. Default edges:
    call delta ``0, .1, .25, .4, .6, .75, .9, 1``; log-moneyness ``-inf, -.5, -.25, -.1, .1,
    .25, .5, inf``. Every option must fall in a bucket (the edges must cover them).
    """
    if by not in ("call_delta", "log_moneyness"):
        raise InvalidArgumentError("by", by, "'call_delta' or 'log_moneyness'")
    coins = sorted({u for u, o in zip(greeks.underlying, greeks.is_option, strict=True) if o})
    if underlying is None:
        if len(coins) != 1:
            raise InvalidArgumentError("underlying", None, f"one of {coins} (options on several)")
        underlying = coins[0]
    elif underlying not in coins:
        raise InvalidArgumentError("underlying", underlying, f"one of {coins}")
    default = CALL_DELTA_EDGES if by == "call_delta" else LOG_MONEYNESS_EDGES
    e = np.asarray(default if edges is None else edges, dtype=np.float64)
    if e.ndim != 1 or e.shape[0] < 2 or np.any(np.isnan(e)) or not np.all(np.diff(e) > 0.0):
        raise InvalidArgumentError("edges", edges, "at least two increasing bucket edges")
    sel = greeks.is_option & np.array([u == underlying for u in greeks.underlying])
    x = (greeks.call_delta if by == "call_delta" else greeks.log_moneyness)[sel]
    outside = (x < e[0]) | (x > e[-1])
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        label = [lab for lab, s in zip(greeks.labels, sel, strict=True) if s][k]
        raise InvalidArgumentError(
            "edges", f"{e[0]:g}..{e[-1]:g}", f"edges covering {by}={x[k]:g} of position {label!r}"
        )
    bucket = np.clip(np.searchsorted(e, x, side="right") - 1, 0, e.shape[0] - 2)
    expiries, row = np.unique(greeks.expiry_ns[sel], return_inverse=True)
    out = np.zeros((expiries.shape[0], e.shape[0] - 1))
    np.add.at(out, (row, bucket), greeks.vega_usd[sel])
    return VegaBuckets(underlying=underlying, by=by, edges=e, expiry_ns=expiries, vega_usd=out)
