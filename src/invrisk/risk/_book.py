"""A portfolio resolved against a market snapshot into flat arrays, and its revaluation.

:func:`build_book` checks every position against the snapshot once (raising an error that names
the position when data is missing, NaN or the contract has expired) and lays the book out as
arrays: one row per position, with the options and the delta-one contracts (spot, perpetuals,
futures) as two index sets. :func:`book_values` then values every position under any number of
market states at once: the options of all states go through one call of the Black-76 pricing
kernel (states broadcast against options), the delta-one contracts through closed forms.

Valuation rules (per position, ``n`` = contracts x contract size, ``S`` the coin's index):

* option, Black-76 value ``V`` per unit on the forward ``F``: linear (USD-settled) value
  ``n V`` USD; inverse (coin-settled) value ``n V / F`` coin, i.e. ``n V S / F`` USD at the index.
* linear spot / perpetual / future at mark ``P`` (coins): ``n P`` (spot) or ``n (P - entry)`` USD.
* inverse perpetual / future (``n`` USD of notional): ``n (1/entry - 1/P)`` coin, times ``S`` USD.
* AMM liquidity (``n`` = liquidity L) in [p_a, p_b] at pool price ``P`` (the mark, else the
  index): the Uniswap v3 value ``x(P) P + y(P)`` in the quote token, taken as USD
  (:func:`invrisk.amm.v3_value`, whitepaper eq. 6.29-6.30), exact under any move.

Under a spot move by the factor ``1 + r`` every forward and mark of the coin scales by the same
factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from invrisk._typing import BoolArray, Float64Array, Int64Array
from invrisk.amm import v3_value
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import InstrumentKind
from invrisk.pricing import black76_price
from invrisk.risk.portfolio import MarketSnapshot, Portfolio, Position
from invrisk.surface import VolSurface
from invrisk.units import ns_to_iso, year_fraction

__all__ = ["Book", "Dynamics", "book_values", "build_book", "position_error", "surface_vols"]

Dynamics = Literal["sticky_strike", "sticky_moneyness"]
_A = TypeVar("_A", bound=np.ndarray[Any, Any])
DYNAMICS: tuple[Dynamics, ...] = ("sticky_strike", "sticky_moneyness")


def position_error(label: str, value: object, expected: str) -> InvalidArgumentError:
    """The error for a position that cannot be valued; it names the position."""
    return InvalidArgumentError(f"position {label!r}", value, expected)


def _readonly(a: _A) -> _A:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False)
class Book:
    """A portfolio laid out as arrays against one snapshot (see the module docstring).

    Per position (length n): ``labels``, ``coin`` (index into ``coins``), ``inverse``,
    ``size`` (contracts x contract size: coins, or USD for inverse delta-one contracts),
    ``is_option``. Per coin: ``coins``, ``index_usd``. Options (index set ``opt``): ``strike``,
    ``cp`` (+1/-1), ``expiry_ns``, ``t_yr``, ``fwd_ratio`` (F/S), ``vol`` (base implied vol),
    ``vol_residual`` (quote vol minus surface vol, held fixed under moves). Delta-one contracts
    (index set ``d1``): ``price_ratio`` (P/S), ``entry`` (resolved entry price, NaN for spot),
    ``is_spot``, ``tau_yr`` (years to expiry, 0 for spot and perpetuals), ``d1_expiry_ns`` (0 for
    spot and perpetuals). AMM liquidity positions (index set ``lp``): ``lp_price_ratio`` (pool
    price / S), ``lp_lower``, ``lp_upper`` (the range, quote per base).
    """

    valuation_ns: int
    labels: tuple[str, ...]
    venues: tuple[str, ...]
    kinds: tuple[str, ...]
    coins: tuple[str, ...]
    index_usd: Float64Array
    coin: Int64Array
    inverse: BoolArray
    size: Float64Array
    is_option: BoolArray
    surfaces: tuple[VolSurface | None, ...]
    opt: Int64Array
    strike: Float64Array
    cp: Float64Array
    expiry_ns: Int64Array
    t_yr: Float64Array
    fwd_ratio: Float64Array
    vol: Float64Array
    vol_residual: Float64Array
    d1: Int64Array
    price_ratio: Float64Array
    entry: Float64Array
    is_spot: BoolArray
    tau_yr: Float64Array
    d1_expiry_ns: Int64Array
    lp: Int64Array
    lp_price_ratio: Float64Array
    lp_lower: Float64Array
    lp_upper: Float64Array

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_options(self) -> int:
        return int(self.opt.shape[0])

    def spot_usd(self) -> Float64Array:
        """The index of each position's coin."""
        return np.asarray(self.index_usd[self.coin])


def _needed_mark(market: MarketSnapshot, p: Position) -> float:
    mark = market.mark_of(p.instrument)
    if mark is None:
        raise position_error(
            p.label,
            f"no mark for {p.instrument.name!r}",
            "a mark in MarketSnapshot.marks (keyed 'venue:name' or 'name')",
        )
    if not math.isfinite(mark):
        raise position_error(
            p.label, f"mark {mark!r} for {p.instrument.name!r}", "a finite mark > 0"
        )
    return mark


def _check_alive(p: Position, valuation_ns: int) -> None:
    expiry = p.instrument.expiry_ns
    if expiry is not None and expiry <= valuation_ns:
        raise position_error(
            p.label,
            f"expired at {ns_to_iso(expiry)} (valuation {ns_to_iso(valuation_ns)})",
            "a contract expiring after the valuation time (settle expired contracts first)",
        )


def build_book(
    portfolio: Portfolio, market: MarketSnapshot, *, entry_market: MarketSnapshot | None = None
) -> Book:
    """Resolve ``portfolio`` against ``market``.

    ``entry_market`` supplies the entry price of futures and perpetuals that have none (its
    mark); default ``market`` itself, so that such a position is worth 0 there.
    """
    if not isinstance(portfolio, Portfolio):
        raise InvalidArgumentError("portfolio", portfolio, "a Portfolio")
    if not isinstance(market, MarketSnapshot):
        raise InvalidArgumentError("market", market, "a MarketSnapshot")
    entry_source = market if entry_market is None else entry_market
    now = market.valuation_ns
    coins = portfolio.underlyings()
    index = np.empty(len(coins))
    for j, name in enumerate(coins):
        value = market.index_usd.get(name)
        if value is None or not math.isfinite(value):
            who = next(p.label for p in portfolio if p.underlying == name)
            raise position_error(
                who,
                f"index_usd[{name!r}] = {value!r}",
                f"a finite index for {name} in the snapshot",
            )
        index[j] = value
    coin_pos = {c: j for j, c in enumerate(coins)}

    n = len(portfolio)
    coin = np.empty(n, dtype=np.int64)
    inverse = np.empty(n, dtype=np.bool_)
    size = np.empty(n)
    is_option = np.zeros(n, dtype=np.bool_)
    opt_rows: list[tuple[int, float, float, int, float, float]] = []  # i, K, cp, e, F/S, quote vol
    d1_rows: list[tuple[int, float, float, bool, float, int]] = []  # i, P/S, entry, spot, tau, e
    lp_rows: list[tuple[int, float, float, float]] = []  # i, P/S, p_a, p_b
    for i, p in enumerate(portfolio):
        inst = p.instrument
        c = coin_pos[p.underlying]
        coin[i] = c
        inverse[i] = inst.is_inverse
        size[i] = p.contracts * inst.contract_size
        _check_alive(p, now)
        if inst.is_option:
            is_option[i] = True
            assert inst.strike is not None and inst.right is not None and inst.expiry_ns is not None
            opt_rows.append(_option_row(i, p, market, index[c]))
            continue
        tau = year_fraction(now, inst.expiry_ns) if inst.expiry_ns is not None else 0.0
        if inst.kind in (InstrumentKind.SPOT, InstrumentKind.LP):
            mark = market.mark_of(inst)
            if mark is not None and not math.isfinite(mark):
                raise position_error(
                    p.label, f"mark {mark!r} for {inst.name!r}", "a finite mark > 0"
                )
            price = index[c] if mark is None else mark
            if inst.is_lp:
                assert inst.price_lower is not None and inst.price_upper is not None
                lp_rows.append((i, price / index[c], inst.price_lower, inst.price_upper))
                continue
            d1_rows.append((i, price / index[c], math.nan, True, 0.0, 0))
            continue
        price = _needed_mark(market, p)
        if p.entry_price is not None:
            entry = p.entry_price
        else:
            entry = price if entry_source is market else _needed_mark(entry_source, p)
        d1_rows.append((i, price / index[c], entry, False, tau, inst.expiry_ns or 0))

    surfaces = tuple(market.surfaces.get(c) for c in coins)
    opt = np.array([r[0] for r in opt_rows], dtype=np.int64)
    strike = np.array([r[1] for r in opt_rows], dtype=np.float64)
    cp = np.array([r[2] for r in opt_rows], dtype=np.float64)
    expiry = np.array([r[3] for r in opt_rows], dtype=np.int64)
    fwd_ratio = np.array([r[4] for r in opt_rows], dtype=np.float64)
    quote_vol = np.array([r[5] for r in opt_rows], dtype=np.float64)
    for c, surface in enumerate(surfaces):
        sel = (coin[opt] == c) & np.isnan(fwd_ratio)
        if sel.any():
            assert surface is not None
            t_surface = np.asarray(year_fraction(surface.valuation_ns, expiry[sel]))
            fwd_ratio[sel] = surface.forward(t_surface) / index[c]
    surf_vol = (
        surface_vols(
            opt,
            strike,
            expiry,
            coin[opt],
            surfaces,
            np.zeros(len(coins)),
            "sticky_strike",
            labels=portfolio.labels,
        )
        if opt.size
        else np.empty(0)
    )
    quoted = np.isfinite(quote_vol)
    vol = np.where(quoted, quote_vol, surf_vol)
    residual = np.where(quoted, quote_vol - surf_vol, 0.0)
    d1 = np.array([r[0] for r in d1_rows], dtype=np.int64)
    return Book(
        valuation_ns=now,
        labels=portfolio.labels,
        venues=tuple(p.venue for p in portfolio),
        kinds=tuple(str(p.instrument.kind) for p in portfolio),
        coins=coins,
        index_usd=_readonly(index),
        coin=_readonly(coin),
        inverse=_readonly(inverse),
        size=_readonly(size),
        is_option=_readonly(is_option),
        surfaces=surfaces,
        opt=_readonly(opt),
        strike=_readonly(strike),
        cp=_readonly(cp),
        expiry_ns=_readonly(expiry),
        t_yr=_readonly(np.asarray(year_fraction(now, expiry), dtype=np.float64).reshape(-1)),
        fwd_ratio=_readonly(fwd_ratio),
        vol=_readonly(vol),
        vol_residual=_readonly(residual),
        d1=_readonly(d1),
        price_ratio=_readonly(np.array([r[1] for r in d1_rows], dtype=np.float64)),
        entry=_readonly(np.array([r[2] for r in d1_rows], dtype=np.float64)),
        is_spot=_readonly(np.array([r[3] for r in d1_rows], dtype=np.bool_)),
        tau_yr=_readonly(np.array([r[4] for r in d1_rows], dtype=np.float64)),
        d1_expiry_ns=_readonly(np.array([r[5] for r in d1_rows], dtype=np.int64)),
        lp=_readonly(np.array([r[0] for r in lp_rows], dtype=np.int64)),
        lp_price_ratio=_readonly(np.array([r[1] for r in lp_rows], dtype=np.float64)),
        lp_lower=_readonly(np.array([r[2] for r in lp_rows], dtype=np.float64)),
        lp_upper=_readonly(np.array([r[3] for r in lp_rows], dtype=np.float64)),
    )


def _option_row(
    i: int, p: Position, market: MarketSnapshot, spot: float
) -> tuple[int, float, float, int, float, float]:
    inst = p.instrument
    assert inst.strike is not None and inst.right is not None and inst.expiry_ns is not None
    surface = market.surfaces.get(p.underlying)
    if surface is None:
        raise position_error(
            p.label,
            f"no vol surface for {p.underlying}",
            f"MarketSnapshot.surfaces[{p.underlying!r}] (a fitted VolSurface)",
        )
    quote = market.quote_of(inst)
    if quote is not None:
        forward = quote.forward_usd
        quote_vol = quote.vol
        if math.isnan(quote_vol):
            raise position_error(
                p.label,
                f"option quote for {inst.name!r} without a vol (NaN)",
                "a quote with a finite mark vol, or no quote (value on the surface)",
            )
    else:  # the forward comes from the surface, for all such options at once (build_book)
        forward = math.nan
        quote_vol = math.nan
    return i, inst.strike, float(inst.right), inst.expiry_ns, forward / spot, quote_vol


def surface_vols(
    opt: Int64Array,
    strike: Float64Array,
    expiry_ns: Int64Array,
    opt_coin: Int64Array,
    surfaces: tuple[VolSurface | None, ...],
    spot_return: Float64Array,
    dynamics: Dynamics,
    *,
    labels: tuple[str, ...],
) -> Float64Array:
    """The surface vol of every option after each coin's spot moves by ``spot_return[coin]``.

    A vol that the surface cannot give (NaN) raises an error naming the position.
    """
    out = np.empty(strike.shape[0])
    for c, surface in enumerate(surfaces):
        sel = opt_coin == c
        if not sel.any():
            continue
        assert surface is not None
        moved = surface.moved(spot_return=float(spot_return[c]), dynamics=dynamics)
        out[sel] = moved.iv(strike=strike[sel], expiry_ns=expiry_ns[sel])
    bad = ~(out > 0.0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise position_error(
            labels[int(opt[k])],
            f"surface vol {out[k]!r} at strike {strike[k]:g}",
            "a positive implied vol from the surface",
        )
    return out


def book_values(
    book: Book, *, spot_factor: Float64Array, vol: Float64Array
) -> tuple[Float64Array, Float64Array]:
    """Values of every position in m market states: ``(value_usd, value_coin)``, shape (m, n).

    Parameters
    ----------
    spot_factor
        (m, n_coins): each coin's index, forwards and marks are multiplied by it.
    vol
        (m, n_options): implied vol of each option in each state (decimal, > 0).
    """
    m = spot_factor.shape[0]
    n = len(book)
    value_usd = np.zeros((m, n))
    spot = book.index_usd[None, :] * spot_factor  # (m, n_coins)
    if book.n_options:
        opt_spot = spot[:, book.coin[book.opt]]  # (m, n_opt)
        fwd = opt_spot * book.fwd_ratio
        price = np.asarray(
            black76_price(
                forward=fwd, strike=book.strike, t_yr=book.t_yr, vol=vol, option_type=book.cp
            )
        )
        n_opt = book.size[book.opt]
        # USD per unit of Black-76 value: n (linear), n S/F = n/ρ (inverse, coin at the index).
        scale = np.where(book.inverse[book.opt], n_opt / book.fwd_ratio, n_opt)
        value_usd[:, book.opt] = price * scale
    if book.d1.size:
        d1_spot = spot[:, book.coin[book.d1]]
        mark = d1_spot * book.price_ratio
        n_d1 = book.size[book.d1]
        inv = book.inverse[book.d1]
        linear = np.where(book.is_spot, n_d1 * mark, n_d1 * (mark - book.entry))
        with np.errstate(invalid="ignore"):  # entry is NaN for spot rows, masked out
            inverse = n_d1 * (1.0 / book.entry - 1.0 / mark) * d1_spot
        value_usd[:, book.d1] = np.where(inv, inverse, linear)
    if book.lp.size:
        pool_price = spot[:, book.coin[book.lp]] * book.lp_price_ratio  # (m, n_lp)
        value_usd[:, book.lp] = v3_value(
            liquidity=book.size[book.lp],
            price=pool_price,
            price_lower=book.lp_lower,
            price_upper=book.lp_upper,
        )
    value_coin = value_usd / spot[:, book.coin]
    return value_usd, value_coin
