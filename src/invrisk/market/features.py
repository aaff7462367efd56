"""Market features from the top of book, book snapshots and trades: pure functions over arrays.

Inputs are what :class:`~invrisk.market.book.L2Book` produces: top-of-book arrays
(:class:`~invrisk.market.book.TopOfBook`, one value per event row), snapshots
(:class:`~invrisk.market.book.BookSnapshot`, levels on the last axis, best first) and stacks
of them (:class:`~invrisk.market.book.BookSamples`, shape ``(times, levels)``). Empty sides
are NaN prices and 0.0 sizes; a feature that needs an empty side is NaN, never a guess.

Prices are in quote currency, sizes in the venue's quantity unit, times int64 ns. Volatilities
are decimals per square root of a year (ACT/365, :mod:`invrisk.units`) and per square root of a
second.

References
----------
.. [S18] S. Stoikov, "The micro-price: a high-frequency estimator of future prices",
   Quantitative Finance 18(12), 1959-1966, 2018.
.. [CJP15] Á. Cartea, S. Jaimungal, J. Penalva, *Algorithmic and High-Frequency Trading*,
   Cambridge University Press, 2015.
.. [CDJ18] Á. Cartea, R. Donnelly, S. Jaimungal, "Enhancing trading strategies with order
   book signals", Applied Mathematical Finance 25(1), 1-35, 2018.
.. [ABDL03] T. G. Andersen, T. Bollerslev, F. X. Diebold, P. Labys, "Modeling and forecasting
   realized volatility", Econometrica 71(2), 579-625, 2003.
.. [ZMA05] L. Zhang, P. A. Mykland, Y. Aït-Sahalia, "A tale of two time scales: determining
   integrated volatility with noisy high-frequency data", JASA 100(472), 1394-1411, 2005.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, Int64Array
from invrisk.errors import InvalidArgumentError
from invrisk.units import NS_PER_SECOND, year_fraction

__all__ = [
    "RealizedVolatility",
    "book_imbalance",
    "microprice",
    "mid_price",
    "realized_volatility",
    "spread",
    "spread_ticks",
    "trade_flow_imbalance",
    "weighted_mid",
]


def _floats(name: str, value: ArrayLike) -> Float64Array:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(name, value, "real numbers") from exc


def _out(x: Float64Array) -> float | Float64Array:
    return float(x) if x.ndim == 0 else x


def _broadcast(**arrays: Float64Array) -> None:
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as exc:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise InvalidArgumentError(", ".join(arrays), shapes, "shapes that broadcast") from exc


def _sizes(name: str, value: ArrayLike) -> Float64Array:
    q = _floats(name, value)
    with np.errstate(invalid="ignore"):
        bad = ~(q >= 0.0) | np.isinf(q)
    if bad.any():
        raise InvalidArgumentError(name, float(q[bad].flat[0]), "finite sizes >= 0")
    return q


@overload
def mid_price(bid_price: float, ask_price: float) -> float: ...
@overload
def mid_price(bid_price: ArrayLike, ask_price: ArrayLike) -> float | Float64Array: ...
def mid_price(bid_price: ArrayLike, ask_price: ArrayLike) -> float | Float64Array:
    """Mid price ``(bid + ask) / 2`` (NaN where a side is empty).

    Examples
    --------
    >>> mid_price(61659.7, 61659.8)
    61659.75
    """
    b = _floats("bid_price", bid_price)
    a = _floats("ask_price", ask_price)
    _broadcast(bid_price=b, ask_price=a)
    return _out(np.asarray(0.5 * (b + a)))


def microprice(
    bid_price: ArrayLike, bid_qty: ArrayLike, ask_price: ArrayLike, ask_qty: ArrayLike
) -> float | Float64Array:
    """Size-weighted mid: each touch price weighted by the size on the *opposite* side.

    Notes
    -----
    With imbalance ``I = Q_b / (Q_b + Q_a)``::

        P = I * ask + (1 - I) * bid = (bid * Q_a + ask * Q_b) / (Q_b + Q_a)

    A large bid queue (``I`` near 1) pulls the price towards the ask, where the next trade is
    more likely. This is the *weighted mid-price* of Stoikov [S18]_, widely called the
    microprice; Stoikov's micro-price proper adds to the mid an adjustment ``g(I, S)``
    estimated from the data's imbalance/spread dynamics, which is not computed here. NaN where
    a side is empty or both sizes are zero.

    Examples
    --------
    >>> microprice(100.0, 3.0, 101.0, 1.0)  # 3/4 of the way to the ask
    100.75
    """
    b = _floats("bid_price", bid_price)
    a = _floats("ask_price", ask_price)
    qb = _sizes("bid_qty", bid_qty)
    qa = _sizes("ask_qty", ask_qty)
    _broadcast(bid_price=b, bid_qty=qb, ask_price=a, ask_qty=qa)
    total = qb + qa
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0.0, (b * qa + a * qb) / total, np.nan)
    return _out(np.asarray(out, dtype=np.float64))


def _level_sums(
    name: str, price: Float64Array | None, qty: Float64Array, n_levels: int
) -> tuple[Float64Array, Float64Array]:
    """Sum of sizes and of price * size over the first ``n_levels`` levels (last axis)."""
    if qty.ndim == 0:
        raise InvalidArgumentError(name, qty, "levels on the last axis (a snapshot's arrays)")
    if isinstance(n_levels, bool) or not isinstance(n_levels, int | np.integer) or n_levels < 1:
        raise InvalidArgumentError("n_levels", n_levels, "an integer >= 1")
    if n_levels > qty.shape[-1]:
        raise InvalidArgumentError(
            "n_levels", n_levels, f"at most the {qty.shape[-1]} levels given"
        )
    q = qty[..., :n_levels]
    volume = q.sum(axis=-1)
    if price is None:
        return volume, volume
    p = price[..., :n_levels]
    with np.errstate(invalid="ignore"):
        notional = np.where(q > 0.0, p * q, 0.0)  # padded levels: NaN price, 0.0 size
    return volume, notional.sum(axis=-1)


def weighted_mid(
    bid_price: ArrayLike,
    bid_qty: ArrayLike,
    ask_price: ArrayLike,
    ask_qty: ArrayLike,
    *,
    n_levels: int,
) -> float | Float64Array:
    """The microprice over the ``n_levels`` best levels of each side (levels on the last axis).

    Notes
    -----
    With ``V_b``, ``V_a`` the sizes summed over the first ``n_levels`` levels and ``P_b``,
    ``P_a`` the size-weighted average prices of those levels::

        P = (P_b * V_a + P_a * V_b) / (V_b + V_a)

    For ``n_levels = 1`` this is :func:`microprice`. Deeper levels make the signal less noisy
    and slower to react (cf. the depth-based imbalance of [CDJ18]_). Levels padded with a NaN
    price and 0.0 size (a short book) add nothing. NaN where a side has no level.

    Examples
    --------
    >>> weighted_mid([100.0, 99.0], [1.0, 1.0], [101.0, 102.0], [1.0, 3.0], n_levels=2)
    100.25
    """
    b = _floats("bid_price", bid_price)
    a = _floats("ask_price", ask_price)
    qb = _sizes("bid_qty", bid_qty)
    qa = _sizes("ask_qty", ask_qty)
    if not (b.shape == qb.shape and a.shape == qa.shape):
        raise InvalidArgumentError(
            "bid_price, bid_qty, ask_price, ask_qty",
            (b.shape, qb.shape, a.shape, qa.shape),
            "each side's prices and sizes of one shape",
        )
    vb, nb = _level_sums("bid_qty", b, qb, n_levels)
    va, na = _level_sums("ask_qty", a, qa, n_levels)
    with np.errstate(invalid="ignore", divide="ignore"):
        pb = nb / vb
        pa = na / va
        out = np.where((vb > 0.0) & (va > 0.0), (pb * va + pa * vb) / (vb + va), np.nan)
    return _out(np.asarray(out, dtype=np.float64))


def book_imbalance(
    bid_qty: ArrayLike, ask_qty: ArrayLike, *, n_levels: int | None = None
) -> float | Float64Array:
    """Order-book (volume) imbalance ``(V_b - V_a) / (V_b + V_a)``, in [-1, 1].

    Parameters
    ----------
    bid_qty, ask_qty
        With ``n_levels=None``: sizes of one level per element (e.g. ``TopOfBook.bid_qty``).
        With ``n_levels``: levels on the last axis, best first (a snapshot's arrays); the
        sizes of the first ``n_levels`` levels are summed.
    n_levels
        Number of levels summed on each side (default: the inputs are single levels).

    Notes
    -----
    The volume imbalance of Cartea, Donnelly & Jaimungal [CDJ18]_ (there at the touch) and of
    Cartea, Jaimungal & Penalva [CJP15]_; positive when bids outweigh asks, which predicts an
    up-move of the mid and more buy market orders. NaN where both sizes are zero.

    Examples
    --------
    >>> book_imbalance(3.0, 1.0)
    0.5
    >>> book_imbalance([3.0, 1.0, 4.0], [1.0, 1.0, 0.0], n_levels=2)
    0.3333333333333333
    """
    qb = _sizes("bid_qty", bid_qty)
    qa = _sizes("ask_qty", ask_qty)
    if n_levels is None:
        _broadcast(bid_qty=qb, ask_qty=qa)
        vb, va = qb, qa
    else:
        vb, _ = _level_sums("bid_qty", None, qb, n_levels)
        va, _ = _level_sums("ask_qty", None, qa, n_levels)
        _broadcast(bid_qty=vb, ask_qty=va)
    total = vb + va
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0.0, (vb - va) / total, np.nan)
    return _out(np.asarray(out, dtype=np.float64))


def spread(bid_price: ArrayLike, ask_price: ArrayLike) -> float | Float64Array:
    """Quoted spread ``ask - bid`` in price (NaN where a side is empty; < 0 if crossed)."""
    b = _floats("bid_price", bid_price)
    a = _floats("ask_price", ask_price)
    _broadcast(bid_price=b, ask_price=a)
    return _out(np.asarray(a - b))


def spread_ticks(
    bid_price: ArrayLike, ask_price: ArrayLike, tick_size: float
) -> float | Float64Array:
    """Quoted spread in whole ticks, ``round((ask - bid) / tick_size)``.

    Returned as float64 so that an empty side can be NaN; the values are integers otherwise.

    Examples
    --------
    >>> spread_ticks(61659.7, 61659.8, 0.1)
    1.0
    """
    ts = float(tick_size)
    if not (math.isfinite(ts) and ts > 0.0):
        raise InvalidArgumentError("tick_size", tick_size, "a finite number > 0")
    s = _floats("spread", spread(bid_price, ask_price))
    return _out(np.asarray(np.rint(s / ts)))


@dataclass(frozen=True)
class RealizedVolatility:
    """Realized volatility of a mid series sampled on a regular time grid.

    Attributes
    ----------
    vol
        Annualised volatility, decimal per sqrt(year) (ACT/365 from nanoseconds).
    vol_per_sqrt_s
        The same per sqrt(second).
    realized_variance
        Sum of squared log returns over the grid.
    n_returns
        Number of grid intervals.
    interval_ns, start_ns, end_ns
        Grid step and the first and last grid times.
    log_returns
        The grid's log returns (read-only).
    """

    vol: float
    vol_per_sqrt_s: float
    realized_variance: float
    n_returns: int
    interval_ns: int
    start_ns: int
    end_ns: int
    log_returns: Float64Array


def _int_ns(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgumentError(name, value, "an integer number of nanoseconds")
    return int(value)


def _sorted_ns(name: str, value: ArrayLike) -> Int64Array:
    t = np.asarray(value)
    if t.ndim != 1 or (t.size and t.dtype.kind not in "iu"):
        raise InvalidArgumentError(name, f"array {t.dtype}{t.shape}", "1-D int64 ns")
    t = t.astype(np.int64)
    if t.size > 1:
        bad = np.diff(t) < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0]) + 1
            raise InvalidArgumentError(name, f"decreasing at element {i}", "non-decreasing ns")
    return t


def realized_volatility(
    t_ns: ArrayLike,
    mid: ArrayLike,
    *,
    interval_ns: int,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> RealizedVolatility:
    """Realized volatility of a mid-price series sampled every ``interval_ns``.

    Parameters
    ----------
    t_ns
        Observation times, int64 ns, non-decreasing (e.g. the events' ``local_ns``).
    mid
        Mid price at each time (> 0; NaN where the book was empty — such rows are skipped).
    interval_ns
        Sampling step of the grid, ns (> 0). 1 s to 5 min is usual: finer grids are biased
        upwards by bid/ask bounce and tick-size noise [ZMA05]_.
    start_ns, end_ns
        Grid start and latest grid time (default: first and last valid observation). Grid
        points before the first valid observation are dropped.

    Notes
    -----
    The grid price is the last mid observed at or before each grid time (previous tick).
    With log returns ``r_k`` on ``K`` intervals of length ``dt``, the realized variance is
    ``RV = sum r_k**2`` [ABDL03]_ and::

        vol = sqrt(RV / year_fraction(0, K * dt))      # per sqrt(year), ACT/365
        vol_per_sqrt_s = sqrt(RV / (K * dt / 1e9))

    Returns are not demeaned (the drift is negligible at these horizons).

    Examples
    --------
    >>> from invrisk.units import NS_PER_SECOND as S
    >>> rv = realized_volatility([0, S, 2 * S], [100.0, 101.0, 100.0], interval_ns=S)
    >>> round(rv.vol_per_sqrt_s, 8)  # |log(1.01)|: two returns of that size in 2 s
    0.00995033
    >>> round(rv.vol, 4)  # times sqrt(365 * 86400 s)
    55.878
    """
    t = _sorted_ns("t_ns", t_ns)
    m = _floats("mid", mid)
    if m.shape != t.shape:
        raise InvalidArgumentError("mid", f"shape {m.shape}", f"the shape of t_ns {t.shape}")
    dt = _int_ns("interval_ns", interval_ns)
    if dt <= 0:
        raise InvalidArgumentError("interval_ns", interval_ns, "a positive number of ns")
    valid = np.isfinite(m)
    with np.errstate(invalid="ignore"):
        bad = valid & ~(m > 0.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError("mid", f"{float(m[i])!r} at element {i}", "prices > 0 or NaN")
    t, m = t[valid], m[valid]
    if t.size == 0:
        raise InvalidArgumentError("mid", "no finite value", "at least one finite mid price")
    start = int(t[0]) if start_ns is None else _int_ns("start_ns", start_ns)
    end = int(t[-1]) if end_ns is None else _int_ns("end_ns", end_ns)
    if start < int(t[0]):  # drop grid points before the first observation
        start += -((int(t[0]) - start) // -dt) * dt
    k = (end - start) // dt if end >= start else -1
    if k < 1:
        raise InvalidArgumentError(
            "interval_ns",
            interval_ns,
            f"at most the observed span end_ns - start_ns = {end - start} ns (two grid points)",
        )
    grid = start + dt * np.arange(k + 1, dtype=np.int64)
    idx = np.searchsorted(t, grid, side="right") - 1
    r = np.diff(np.log(m[idx]))
    r.flags.writeable = False
    rv = float(np.sum(r * r))
    span_ns = int(k) * dt
    return RealizedVolatility(
        vol=math.sqrt(rv / year_fraction(0, span_ns)),
        vol_per_sqrt_s=math.sqrt(rv / (span_ns / NS_PER_SECOND)),
        realized_variance=rv,
        n_returns=int(k),
        interval_ns=dt,
        start_ns=start,
        end_ns=int(grid[-1]),
        log_returns=r,
    )


def trade_flow_imbalance(
    t_ns: ArrayLike,
    side: ArrayLike,
    qty: ArrayLike,
    *,
    window_ns: int,
    at_ns: ArrayLike | None = None,
) -> Float64Array:
    """Trade-flow imbalance ``(buy qty - sell qty) / (buy qty + sell qty)`` over a trailing window.

    Parameters
    ----------
    t_ns
        Trade times, int64 ns, non-decreasing.
    side
        Aggressor side of each trade: +1 buyer-initiated, -1 seller-initiated (the events'
        ``side`` of TRADE rows).
    qty
        Trade sizes (>= 0).
    window_ns
        Window length, ns (> 0); the window at time ``t`` is ``(t - window_ns, t]``.
    at_ns
        Times to evaluate at (default: each trade's time, the trade itself included).

    Returns
    -------
    One value per evaluation time, in [-1, 1]; NaN when no volume traded in the window.

    Notes
    -----
    Net market-order flow, the imbalance of buy and sell market orders that [CJP15]_ model as
    the driver of short-term price drift (there as arrival intensities; here as volumes).
    Computed from running sums of buy and sell volume, so a window of only buys is exactly 1.

    Examples
    --------
    >>> trade_flow_imbalance([0, 1, 2], [1, -1, 1], [3.0, 1.0, 1.0], window_ns=2)
    array([1. , 0.5, 0. ])
    >>> # from an event array: tr = ev[ev["kind"] == EventKind.TRADE]
    >>> # trade_flow_imbalance(tr["local_ns"], tr["side"], tr["qty"], window_ns=10**9)
    """
    t = _sorted_ns("t_ns", t_ns)
    s = np.asarray(side)
    q = _sizes("qty", qty)
    if s.shape != t.shape or q.shape != t.shape:
        raise InvalidArgumentError("side, qty", (s.shape, q.shape), f"the shape of t_ns {t.shape}")
    if s.size and not np.isin(s, [1, -1]).all():
        i = int(np.flatnonzero(~np.isin(s, [1, -1]))[0])
        raise InvalidArgumentError("side", f"{s[i]!r} at element {i}", "+1 (buy) or -1 (sell)")
    w = _int_ns("window_ns", window_ns)
    if w <= 0:
        raise InvalidArgumentError("window_ns", window_ns, "a positive number of ns")
    at = t if at_ns is None else _sorted_ns("at_ns", at_ns)
    buy = np.concatenate(([0.0], np.cumsum(np.where(s == 1, q, 0.0))))
    sell = np.concatenate(([0.0], np.cumsum(np.where(s == -1, q, 0.0))))
    hi = np.searchsorted(t, at, side="right")
    lo = np.searchsorted(t, at - w, side="right")
    vb = buy[hi] - buy[lo]
    vs = sell[hi] - sell[lo]
    total = vb + vs
    with np.errstate(invalid="ignore", divide="ignore"):
        out: Float64Array = np.where(total > 0.0, (vb - vs) / total, np.nan)
    return out
