"""Calibration of the quoting-model inputs: volatility sigma and order-flow intensity A, k.

:func:`calibrate_sigma` estimates the diffusion volatility of a mid-price series,
:func:`calibrate_intensity` the arrival rate ``lambda(delta) = A exp(-k delta)`` of market orders
reaching depth ``delta`` from the mid (Avellaneda-Stoikov, GLFT), and :class:`RollingCalibrator`
keeps both up to date over a sliding window of a live or replayed stream.

Layering
--------
``quoting/`` is a numerics layer (DESIGN.md): it does not import ``data/`` or ``market/``. The
events are read through the field names of :data:`invrisk.data.events.EVENT_DTYPE`
(``kind``, ``side``, ``price``, ``exch_ns``/``local_ns``) and the two codes used here mirror
``EventKind.TRADE`` (4) and ``Side`` (+1 buyer-initiated, -1 seller-initiated); the tests check
that they agree. The reference mid is an input (``mid_ns``, ``mid``): a replay builds it with
:meth:`invrisk.market.book.L2Book.sample`, a synthetic market gives it as
``SyntheticMarket.mid_ns`` / ``.mid``.

The intensity estimator (exact conventions)
-------------------------------------------
Time is cut into intervals ``[g_i, g_i + dt)`` with ``g_i = start + i dt`` (``dt =
interval_ns``, default 100 ms; ``start`` = the first ``mid_ns``). The reference mid of interval
``i`` is the last mid at or before ``g_i`` ("the previous mid"); an interval whose reference mid
is NaN (empty book) is left out. A trade belongs to the interval containing its time (the
``clock`` field, ``exch_ns`` by default; use ``local_ns`` when the mids were sampled on the
local clock). Its depth is

* ask side (buyer-initiated trades, ``side == +1``): ``delta = price - m_i``,
* bid side (seller-initiated trades, ``side == -1``): ``delta = m_i - price``,

in price units, with no rounding and no half-tick shift (hftbacktest's tutorial, cited in
REFERENCES.md, measures its levels with a half-tick slip; that is **not** copied). Depths are
evaluated on the grid ``delta_j = (j + 1/2) tick_size``, ``j = 0 ... max_depth_ticks - 1``:
with a one-tick spread ``delta_0`` is the best quote. Interval ``i`` *reaches* ``delta_j`` when
its deepest trade of the side has ``delta >= delta_j`` (1e-9 tick tolerance).

For Poisson arrivals of market orders whose depths are independent, the number of orders
reaching ``delta`` in an interval is Poisson(``lambda(delta) dt``), so the deepest depth ``D_i``
of an interval satisfies ``P(D_i < delta) = exp(-lambda(delta) dt)`` exactly. The categories
"no level reached", "deepest level reached is j" (j < J - 1) and "level J - 1 reached" have
multinomial probabilities ``u_0``, ``u_{j+1} - u_j`` and ``1 - u_{J-1}``, with ``u_j =
exp(-A exp(-k delta_j) dt)``; (A, k) maximise this likelihood over the intervals (which are
independent for Poisson flow). Standard errors come from the expected Fisher information in
``(log A, k)``; ``se(A) = A se(log A)`` (delta method). The per-level rate printed beside the fit
is ``-ln(1 - N_j / n) / dt`` (``N_j`` intervals out of ``n`` reaching ``delta_j``), which inverts
the saturation of the per-interval counting (``N_j / (n dt)`` is below ``lambda`` when
``lambda dt`` is not small). With self-exciting (Hawkes) flow the intervals are dependent and the
standard errors are too small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from invrisk._typing import ArrayLike, Float64Array, Int64Array
from invrisk.errors import InvalidArgumentError
from invrisk.quoting._calib_kernels import fisher_scoring_kernel
from invrisk.units import NS_PER_MS, NS_PER_SECOND, year_fraction

__all__ = [
    "CalibrationStatus",
    "IntensityEstimate",
    "RollingCalibrator",
    "SigmaEstimate",
    "calibrate_intensity",
    "calibrate_sigma",
]

Clock = Literal["exch_ns", "local_ns"]
IntensitySide = Literal["bid", "ask", "both"]
FitStatus = Literal["ok", "k_at_bound", "too_few_levels"]
Reference = Literal["interval_start", "pre_trade"]

TRADE_KIND = 4
"""``EventKind.TRADE`` (mirrored: ``quoting/`` does not import ``data/``)."""
_BUYER = 1  # Side.BID: buyer-initiated trade, hits the ask side
_SELLER = -1  # Side.ASK: seller-initiated trade, hits the bid side
_DEPTH_TOL_TICKS = 1e-9
_K_BOUNDS_PER_TICK = (1e-6, 1e3)  # k * tick_size: (nearly flat, one level only)
_LOG_A_BOUNDS = (-60.0, 60.0)


# -- validation --------------------------------------------------------------------------------


def _int_ns(name: str, value: object, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgumentError(name, value, "an integer number of nanoseconds")
    if positive and int(value) <= 0:
        raise InvalidArgumentError(name, value, "a positive number of nanoseconds (> 0)")
    return int(value)


def _positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidArgumentError(name, value, "a finite number > 0")
    number = float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise InvalidArgumentError(name, value, "a finite number > 0")
    return number


def _count(name: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or int(value) < lo:
        raise InvalidArgumentError(name, value, f"an integer >= {lo}")
    return int(value)


def _mid_series(mid_ns: ArrayLike, mid: ArrayLike) -> tuple[Int64Array, Float64Array]:
    t = np.asarray(mid_ns)
    if t.ndim != 1 or t.size == 0 or t.dtype.kind not in "iu":
        raise InvalidArgumentError("mid_ns", f"array {t.dtype}{t.shape}", "a non-empty 1-D int ns")
    t = t.astype(np.int64)
    if t.size > 1 and np.any(np.diff(t) < 0):
        i = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise InvalidArgumentError("mid_ns", f"decreasing at element {i}", "non-decreasing ns")
    try:
        m = np.asarray(mid, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError("mid", mid, "real prices") from exc
    if m.shape != t.shape:
        raise InvalidArgumentError("mid", f"shape {m.shape}", f"the shape of mid_ns {t.shape}")
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(m) & ~(m > 0.0)
    bad |= np.isinf(m)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError("mid", f"{float(m[i])!r} at element {i}", "prices > 0 or NaN")
    if not np.isfinite(m).any():
        raise InvalidArgumentError("mid", "no finite value", "at least one finite mid price")
    return t, m


def _on_grid(t: Int64Array, m: Float64Array, grid: Int64Array) -> Float64Array:
    """Previous-tick value of the series at each grid time (NaN before the first point)."""
    idx = np.searchsorted(t, grid, side="right") - 1
    out = np.full(grid.shape, np.nan)
    ok = idx >= 0
    out[ok] = m[idx[ok]]
    return out


def _trades(events: object, clock: str) -> tuple[Int64Array, np.ndarray, Float64Array]:
    ev = np.asarray(events)
    names = ev.dtype.names or ()
    needed = ("kind", "side", "price", clock)
    if ev.ndim != 1 or any(n not in names for n in needed):
        raise InvalidArgumentError(
            "events", f"array {ev.dtype}{ev.shape}", f"a 1-D EVENT_DTYPE array with {needed}"
        )
    if ev.size == 0:
        raise InvalidArgumentError("events", "0 rows", "at least one event row")
    trade = ev["kind"] == TRADE_KIND
    tr = ev[trade]
    return (
        tr[clock].astype(np.int64),
        tr["side"].astype(np.int64),
        tr["price"].astype(np.float64),
    )


# -- sigma -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SigmaEstimate:
    """Realized volatility of a mid-price series on a regular grid.

    Attributes
    ----------
    sigma_price_per_sqrt_s, sigma_se_price_per_sqrt_s
        Volatility of the price (arithmetic model), price units per sqrt(second), and its
        standard error.
    vol, vol_se
        Volatility of the log price (geometric model), annualised decimal per sqrt(year)
        (ACT/365), and its standard error.
    n_intervals
        Grid intervals used; with EWMA, ``n_effective`` is ``(sum w)^2 / sum w^2``.
    interval_ns, start_ns, end_ns
        Grid step, first and last grid time.
    ewma_halflife_ns
        Half-life of the weights, or None for the equally weighted estimate.
    """

    sigma_price_per_sqrt_s: float
    sigma_se_price_per_sqrt_s: float
    vol: float
    vol_se: float
    n_intervals: int
    n_effective: float
    interval_ns: int
    start_ns: int
    end_ns: int
    ewma_halflife_ns: int | None


def _weighted_var(x2: Float64Array, w: Float64Array, dt: float) -> tuple[float, float]:
    """Variance per unit time ``sum w x2 / (sum w dt)`` and the standard error of its root."""
    sw = float(w.sum())
    var_dt = float(np.sum(w * x2)) / sw
    # Var(sum w x2 / sum w) = sum w^2 Var(x2) / (sum w)^2, Var(x2) from the weighted residuals.
    resid = x2 - var_dt
    se_var_dt = math.sqrt(float(np.sum(w * w * resid * resid))) / sw
    var = var_dt / dt
    sd = math.sqrt(var)
    se_sd = se_var_dt / dt / (2.0 * sd) if sd > 0.0 else math.nan
    return sd, se_sd


def calibrate_sigma(
    mid_ns: ArrayLike,
    mid: ArrayLike,
    *,
    interval_ns: int,
    ewma_halflife_ns: int | None = None,
) -> SigmaEstimate:
    """Realized volatility of a mid series, in price units and annualised, with errors.

    Parameters
    ----------
    mid_ns
        Observation times, int ns, non-decreasing.
    mid
        Mid price at each time (> 0; NaN where the book was empty: skipped).
    interval_ns
        Grid step, ns (> 0). The grid starts at the first finite mid; the grid price is the
        last mid at or before each grid time (previous tick).
    ewma_halflife_ns
        If given (> 0), squared increments are weighted by ``0.5 ** (age / halflife)``, the age
        measured from the end of the last interval to the end of each interval.

    Notes
    -----
    With increments ``dx_i`` of the price (or of its log) over intervals of ``dt`` seconds
    (years), ``sigma^2 = sum w_i dx_i^2 / (dt sum w_i)`` (``w = 1`` without EWMA), not
    demeaned. The standard error uses the sample variance of the ``dx_i^2`` (robust to fat
    tails for independent increments): ``se(sigma^2) = sqrt(sum w^2 (dx^2 - s)^2) / (dt sum w)``
    with ``s = sigma^2 dt``, and ``se(sigma) = se(sigma^2) / (2 sigma)``; for Gaussian
    increments this is ``sigma / sqrt(2 n)``. Fine grids are biased upwards by tick-size and
    bid/ask noise (the mid on a tick grid adds about ``tick^2 / 6`` per interval).

    Examples
    --------
    >>> est = calibrate_sigma([0, 10**9, 2 * 10**9], [100.0, 101.0, 100.0], interval_ns=10**9)
    >>> est.sigma_price_per_sqrt_s, est.n_intervals
    (1.0, 2)
    """
    t, m = _mid_series(mid_ns, mid)
    dt_ns = _int_ns("interval_ns", interval_ns, positive=True)
    half: int | None = None
    if ewma_halflife_ns is not None:
        half = _int_ns("ewma_halflife_ns", ewma_halflife_ns, positive=True)
    ok = np.isfinite(m)
    t, m = t[ok], m[ok]
    start = int(t[0])
    n = (int(t[-1]) - start) // dt_ns
    if n < 1:
        raise InvalidArgumentError(
            "interval_ns",
            interval_ns,
            f"at most the observed span {int(t[-1]) - start} ns (two grid points)",
        )
    grid = start + dt_ns * np.arange(n + 1, dtype=np.int64)
    return _sigma_on_grid(_on_grid(t, m, grid), grid, dt_ns, half)


def _sigma_on_grid(
    p: Float64Array, grid: Int64Array, dt_ns: int, half: int | None
) -> SigmaEstimate:
    """The estimate from the grid prices ``p`` at times ``grid`` (see :func:`calibrate_sigma`)."""
    n = grid.size - 1
    dp = np.diff(p)
    r = np.diff(np.log(p))
    if half is None:
        w = np.ones(n)
    else:
        age = (grid[-1] - grid[1:]).astype(np.float64)
        w = np.power(0.5, age / half)
    sigma, sigma_se = _weighted_var(dp * dp, w, dt_ns / NS_PER_SECOND)
    vol, vol_se = _weighted_var(r * r, w, year_fraction(0, dt_ns))
    return SigmaEstimate(
        sigma_price_per_sqrt_s=sigma,
        sigma_se_price_per_sqrt_s=sigma_se,
        vol=vol,
        vol_se=vol_se,
        n_intervals=int(n),
        n_effective=float(w.sum() ** 2 / np.sum(w * w)),
        interval_ns=dt_ns,
        start_ns=int(grid[0]),
        end_ns=int(grid[-1]),
        ewma_halflife_ns=half,
    )


# -- intensity ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntensityEstimate:
    """Maximum-likelihood fit of ``lambda(delta) = A exp(-k delta)`` (see the module docstring).

    Attributes
    ----------
    a_per_s, a_se_per_s
        A, market orders per second reaching depth 0 (extrapolated), and its standard error.
    k_per_price, k_se_per_price
        k, per price unit, and its standard error.
    log_a_se, corr_log_a_k
        Standard error of log A and the correlation of (log A, k) estimates.
    depth
        Depth grid ``(j + 1/2) tick_size``, price units.
    reached_intervals
        ``N_j``: intervals (summed over sides for ``"both"``) reaching ``depth[j]``.
    rate_per_s
        Per level, ``-ln(1 - N_j / n) / dt`` (inf when every interval reached it).
    exposure_s
        Observation time, seconds: ``n dt`` (``n`` counts each side once for ``"both"``).
    n_intervals, interval_ns, side, n_trades
        Intervals used, their length, the side(s) and trades of those sides counted.
    status
        ``"ok"``; ``"k_at_bound"`` (k at its bound ``[1e-6, 1e3] / tick``: the data do not pin
        it, e.g. every reaching interval stopped at the first level); ``"too_few_levels"``
        (fewer than two levels with ``0 < N_j < n``: the standard errors are not meaningful).
    log_likelihood
        Maximised multinomial log-likelihood.
    """

    a_per_s: float
    a_se_per_s: float
    k_per_price: float
    k_se_per_price: float
    log_a_se: float
    corr_log_a_k: float
    depth: Float64Array = field(repr=False)
    reached_intervals: Int64Array = field(repr=False)
    rate_per_s: Float64Array = field(repr=False)
    exposure_s: float
    n_intervals: int
    interval_ns: int
    side: IntensitySide
    n_trades: int
    status: FitStatus
    log_likelihood: float

    def intensity(self, delta: ArrayLike) -> Float64Array:
        """``A exp(-k delta)``, per second, at depths ``delta`` (price units)."""
        d = np.asarray(delta, dtype=np.float64)
        return np.asarray(self.a_per_s * np.exp(-self.k_per_price * d))


def _deepest_levels(
    t: Int64Array,
    side: np.ndarray,
    price: Float64Array,
    sign: int,
    *,
    start: int,
    dt_ns: int,
    ref_mid: Float64Array,
    tick: float,
    n_levels: int,
    trade_mid: Float64Array | None = None,
) -> tuple[Int64Array, Int64Array]:
    """Per interval, the deepest depth-grid index reached by ``sign`` trades (-1: none), and
    the number of those trades counted (inside the intervals, with a finite mid).

    Depths are measured from the interval's reference mid, or from each trade's own mid
    (``trade_mid``, aligned with ``t``) when given.
    """
    n = ref_mid.shape[0]
    sel = side == sign
    ti = t[sel]
    idx = (ti - start) // dt_ns
    keep = (ti >= start) & (idx < n)
    idx, px = idx[keep], price[sel][keep]
    m = ref_mid[idx] if trade_mid is None else trade_mid[sel][keep]
    fin = np.isfinite(m)
    idx, px, m = idx[fin], px[fin], m[fin]
    depth_ticks = sign * (px - m) / tick
    level = np.floor(depth_ticks - 0.5 + _DEPTH_TOL_TICKS).astype(np.int64)
    level = np.minimum(level, n_levels - 1)
    deepest = np.full(n, -1, dtype=np.int64)
    used = np.bincount(idx, minlength=n).astype(np.int64)
    if idx.size:
        # per-interval maximum: group the (time-ordered) trades by interval and reduce each
        # contiguous group (np.maximum.at does the same, an order of magnitude slower)
        if idx.size > 1 and bool(np.any(idx[1:] < idx[:-1])):
            order = np.argsort(idx, kind="stable")
            idx, level = idx[order], level[order]
        starts = np.flatnonzero(np.concatenate(([True], idx[1:] != idx[:-1])))
        # a trade inside half a tick of the mid reaches no level (-1), as no trade at all
        deepest[idx[starts]] = np.maximum(np.maximum.reduceat(level, starts), -1)
    return deepest, used


def _category_probs(
    log_a: float, k: float, depth: Float64Array, dt_s: float
) -> tuple[Float64Array, Float64Array]:
    """Probabilities of the J + 1 categories and their gradients in (log A, k): (J+1, 2)."""
    x = math.exp(log_a) * np.exp(-k * depth) * dt_s
    u = np.exp(-x)
    du = np.column_stack([-x * u, depth * x * u])
    p = np.empty(len(depth) + 1)
    g = np.empty((len(depth) + 1, 2))
    p[0] = u[0]
    g[0] = du[0]
    # u_{j+1} - u_j = u_{j+1} (1 - exp(-(x_j - x_{j+1}))), accurate when the two are close.
    p[1:-1] = u[1:] * -np.expm1(-(x[:-1] - x[1:]))
    g[1:-1] = du[1:] - du[:-1]
    p[-1] = -np.expm1(-x[-1])
    g[-1] = -du[-1]
    return p, g


def _fit_a_k(
    cat: Int64Array, depth: Float64Array, dt_s: float, tick: float, guess: tuple[float, float]
) -> tuple[float, float, float]:
    """Maximise the multinomial likelihood over (log A, log k) with its analytic gradient."""

    def nll(theta: Float64Array) -> tuple[float, Float64Array]:
        k = math.exp(float(theta[1]))
        p, g = _category_probs(float(theta[0]), k, depth, dt_s)
        pp = np.maximum(p, 1e-300)
        w = cat / pp
        grad = -(w @ g)  # d/d(log A), d/dk
        grad[1] *= k  # chain rule to d/d(log k)
        with np.errstate(divide="ignore"):
            return -float(np.sum(cat * np.log(pp))), grad

    lo_k, hi_k = (math.log(b / tick) for b in _K_BOUNDS_PER_TICK)
    x0 = np.array([np.clip(guess[0], *_LOG_A_BOUNDS), np.clip(math.log(guess[1]), lo_k, hi_k)])
    bounds = [_LOG_A_BOUNDS, (lo_k, hi_k)]
    # Fisher scoring (compiled; see _calib_kernels_python.py): a handful of steps from the OLS
    # or a warm start, ~10 us. It gives up on a flat likelihood (k not identified), whose
    # large steps leave the bounds; the general-purpose optimiser below then decides.
    res = np.empty(3)
    n_steps = fisher_scoring_kernel(
        np.ascontiguousarray(cat, dtype=np.float64),
        np.ascontiguousarray(depth, dtype=np.float64),
        float(dt_s),
        float(x0[0]),
        float(x0[1]),
        *_LOG_A_BOUNDS,
        lo_k,
        hi_k,
        res,
    )
    if n_steps > 0:
        return float(res[0]), math.exp(float(res[1])), -float(res[2])
    # Fallback: TNC with the analytic gradient, a few ms (scipy 1.17's L-BFGS-B took 15-50 ms
    # per fit here, almost all inside the optimiser); Powell polishes when TNC reports failure.
    # Imported here: scipy.optimize takes about 0.2 s to import and most runs never get here.
    from scipy import optimize

    best = optimize.minimize(nll, x0, jac=True, method="TNC", bounds=bounds)
    if not best.success:
        polish = optimize.minimize(
            lambda x: nll(x)[0], best.x, method="Powell", bounds=bounds, options={"xtol": 1e-10}
        )
        if polish.fun < best.fun:
            best = polish
    return float(best.x[0]), math.exp(float(best.x[1])), -float(best.fun)


_ROLLING_SIDES: tuple[IntensitySide, IntensitySide] = ("bid", "ask")
_SIGNS: dict[str, tuple[int, ...]] = {
    "bid": (_SELLER,),
    "ask": (_BUYER,),
    "both": (_SELLER, _BUYER),
}


def _fit_counts(
    cat: Int64Array,
    *,
    n_valid: int,
    n_trades: int,
    side: IntensitySide,
    dt_ns: int,
    tick: float,
    warm: IntensityEstimate | None,
) -> IntensityEstimate:
    """Fit (A, k) to the category counts ``cat`` (J + 1: none, deepest level 0 .. J - 1).

    ``n_valid`` intervals were observed per side (``cat`` sums to ``n_valid`` times the number
    of sides pooled); ``warm`` starts the optimisation from a previous estimate.
    """
    n_levels = cat.size - 1
    if n_trades == 0:
        raise InvalidArgumentError(
            "events", f"no {side}-side trade in the intervals", "at least one TRADE row"
        )
    n_tot = int(cat.sum())
    depth: Float64Array = (np.arange(n_levels, dtype=np.float64) + 0.5) * tick
    # N_j, the intervals reaching level j: those whose deepest level is j or deeper
    reached = n_tot - np.cumsum(cat)[:-1]
    dt_s = dt_ns / NS_PER_SECOND
    with np.errstate(divide="ignore"):
        rate = -np.log1p(-reached / n_tot) / dt_s
    # Starting point: OLS of log rate on depth over the levels that are neither 0 nor n.
    usable = (reached > 0) & (reached < n_tot)
    if warm is not None:
        guess = (math.log(warm.a_per_s), warm.k_per_price)
    elif usable.sum() >= 2:
        slope, intercept = np.polyfit(depth[usable], np.log(rate[usable]), 1)
        guess = (float(intercept), max(float(-slope), _K_BOUNDS_PER_TICK[0] / tick * 10))
    else:
        guess = (
            math.log(max(float(np.nanmax(rate[np.isfinite(rate)], initial=1.0)), 1e-6)),
            1.0 / tick,
        )
    log_a, k, loglik = _fit_a_k(cat, depth, dt_s, tick, guess)
    p, g = _category_probs(log_a, k, depth, dt_s)
    info = n_tot * (g.T * (1.0 / np.maximum(p, 1e-300))) @ g
    try:
        cov = np.linalg.inv(info)
        se_log_a, se_k = math.sqrt(max(cov[0, 0], 0.0)), math.sqrt(max(cov[1, 1], 0.0))
        corr = float(cov[0, 1] / (se_log_a * se_k)) if se_log_a > 0 and se_k > 0 else math.nan
    except np.linalg.LinAlgError:
        se_log_a = se_k = corr = math.inf
    status: FitStatus = "ok"
    lo_k, hi_k = (b / tick for b in _K_BOUNDS_PER_TICK)
    if usable.sum() < 2:
        status = "too_few_levels"
    elif k <= lo_k * (1 + 1e-6) or k >= hi_k * (1 - 1e-6):
        status = "k_at_bound"
    a = math.exp(log_a)
    for arr in (depth, reached, rate):
        arr.setflags(write=False)
    return IntensityEstimate(
        a_per_s=a,
        a_se_per_s=a * se_log_a,
        k_per_price=k,
        k_se_per_price=se_k,
        log_a_se=se_log_a,
        corr_log_a_k=corr,
        depth=depth,
        reached_intervals=reached,
        rate_per_s=rate,
        exposure_s=n_valid * dt_s,
        n_intervals=n_valid,
        interval_ns=dt_ns,
        side=side,
        n_trades=n_trades,
        status=status,
        log_likelihood=loglik,
    )


def calibrate_intensity(
    events: object,
    *,
    mid_ns: ArrayLike,
    mid: ArrayLike,
    tick_size: float,
    interval_ns: int = 100 * NS_PER_MS,
    max_depth_ticks: int = 50,
    side: IntensitySide = "both",
    clock: Clock = "exch_ns",
    start_ns: int | None = None,
    end_ns: int | None = None,
    reference: Reference = "interval_start",
) -> IntensityEstimate:
    """Fit ``lambda(delta) = A exp(-k delta)`` to the market orders of ``events`` by maximum
    likelihood (see the module docstring for the exact counting and the likelihood).

    Parameters
    ----------
    events
        :data:`~invrisk.data.events.EVENT_DTYPE` rows; only TRADE rows are used (``side`` is
        the aggressor). Need not be sorted.
    mid_ns, mid
        Reference mid series on the same clock as ``clock`` (int ns non-decreasing; prices > 0
        or NaN for an empty book).
    tick_size
        Price increment (> 0): the depth grid is ``(j + 1/2) tick_size``.
    interval_ns
        Counting interval, ns (> 0; default 100 ms).
    max_depth_ticks
        Number of depth levels J (>= 2; default 50); deeper trades count at the last level.
    side
        ``"bid"`` (seller-initiated trades below the mid), ``"ask"`` (buyer-initiated above)
        or ``"both"`` (the two sides pooled as independent samples of one symmetric flow).
    clock
        Event time field compared with ``mid_ns`` (``"exch_ns"`` default, or ``"local_ns"``).
    start_ns, end_ns
        First interval start (default: first ``mid_ns``) and end of the last whole interval
        (default: the last ``mid_ns`` plus ``interval_ns``, i.e. the last mid's interval).
    reference
        Where a trade's depth is measured from: ``"interval_start"`` (default; the mid at the
        start of its interval, GLFT's and hftbacktest's counting) or ``"pre_trade"`` (the last
        mid strictly before the trade's time: the mid the market order met; pass mids sampled
        just before each trade, e.g. ``L2Book.sample`` at ``trade_ns - 1``). The counting per
        interval and the likelihood are the same; an interval still needs a finite reference
        mid at its start to count.

    Raises
    ------
    InvalidArgumentError
        Empty or malformed ``events``, a non-positive ``interval_ns`` or ``tick_size``, no
        interval, or no trade of the requested side inside the intervals.
    """
    return _intensity_fits(
        events,
        mid_ns=mid_ns,
        mid=mid,
        tick_size=tick_size,
        interval_ns=interval_ns,
        max_depth_ticks=max_depth_ticks,
        sides=(side,),
        clock=clock,
        start_ns=start_ns,
        end_ns=end_ns,
        reference=reference,
    )[0]


def _intensity_fits(
    events: object,
    *,
    mid_ns: ArrayLike,
    mid: ArrayLike,
    tick_size: float,
    interval_ns: int,
    max_depth_ticks: int,
    sides: tuple[IntensitySide, ...],
    clock: Clock,
    start_ns: int | None,
    end_ns: int | None,
    reference: Reference,
    warm: tuple[IntensityEstimate, ...] | None = None,
) -> list[IntensityEstimate]:
    """:func:`calibrate_intensity` for several sides, sharing the trades, mids and grid.

    ``warm`` (one estimate per side, e.g. the previous window's) starts each optimisation from
    that estimate instead of the OLS guess: the same maximum, found in fewer steps.
    """
    if clock not in ("exch_ns", "local_ns"):
        raise InvalidArgumentError("clock", clock, "'exch_ns' or 'local_ns'")
    for side in sides:
        if side not in ("bid", "ask", "both"):
            raise InvalidArgumentError("side", side, "'bid', 'ask' or 'both'")
    dt_ns = _int_ns("interval_ns", interval_ns, positive=True)
    tick = _positive_float("tick_size", tick_size)
    n_levels = _count("max_depth_ticks", max_depth_ticks, 2)
    t_tr, s_tr, p_tr = _trades(events, clock)
    t, m = _mid_series(mid_ns, mid)
    start = int(t[0]) if start_ns is None else _int_ns("start_ns", start_ns)
    end = int(t[-1]) + dt_ns if end_ns is None else _int_ns("end_ns", end_ns)
    n = (end - start) // dt_ns
    if n < 1:
        raise InvalidArgumentError(
            "interval_ns", interval_ns, f"at most the span end_ns - start_ns = {end - start} ns"
        )
    grid = start + dt_ns * np.arange(n, dtype=np.int64)
    ref = _on_grid(t, m, grid)
    valid = np.isfinite(ref)
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise InvalidArgumentError("mid", "no finite mid at an interval start", "a finite mid")
    if reference not in ("interval_start", "pre_trade"):
        raise InvalidArgumentError("reference", reference, "'interval_start' or 'pre_trade'")
    trade_mid = None
    if reference == "pre_trade":
        j = np.searchsorted(t, t_tr, side="left") - 1
        trade_mid = np.where(j >= 0, m[np.maximum(j, 0)], np.nan)
    deepest: dict[int, tuple[Int64Array, Int64Array]] = {}
    for sign in (_SELLER, _BUYER):
        if any(sign in _SIGNS[side] for side in sides):
            deepest[sign] = _deepest_levels(
                t_tr,
                s_tr,
                p_tr,
                sign,
                start=start,
                dt_ns=dt_ns,
                ref_mid=ref,
                tick=tick,
                n_levels=n_levels,
                trade_mid=trade_mid,
            )
    out: list[IntensityEstimate] = []
    for side in sides:
        cat = np.zeros(n_levels + 1, dtype=np.int64)
        n_trades = 0
        for sign in _SIGNS[side]:
            d, used = deepest[sign]
            n_trades += int(used.sum())
            cat += np.bincount(d[valid] + 1, minlength=n_levels + 1)[: n_levels + 1]
        out.append(
            _fit_counts(
                cat,
                n_valid=n_valid,
                n_trades=n_trades,
                side=side,
                dt_ns=dt_ns,
                tick=tick,
                warm=None if warm is None else warm[len(out)],
            )
        )
    return out


# -- rolling -----------------------------------------------------------------------------------

CalibrationState = Literal["warming_up", "ok", "stale"]


@dataclass(frozen=True, slots=True)
class CalibrationStatus:
    """What a :class:`RollingCalibrator` knows after an update.

    Attributes
    ----------
    state
        ``"warming_up"`` (no fit yet: ``sigma``, ``bid`` and ``ask`` are None), ``"ok"`` (fitted
        on the current window) or ``"stale"`` (the current window could not be fitted, or the
        last fit is older than ``max_age_ns``: the estimates shown are the last good ones).
    as_of_ns
        Latest time seen (trade or mid), ns.
    fitted_at_ns
        End of the window of the estimates shown (None while warming up).
    age_ns
        ``as_of_ns - fitted_at_ns`` (None while warming up).
    sigma, bid, ask
        The last good estimates.
    message
        Why the state is not ``"ok"`` (empty when it is).
    window_span_ns, n_trades_bid, n_trades_ask
        Data held in the current window.
    """

    state: CalibrationState
    as_of_ns: int
    fitted_at_ns: int | None
    age_ns: int | None
    sigma: SigmaEstimate | None
    bid: IntensityEstimate | None
    ask: IntensityEstimate | None
    message: str
    window_span_ns: int
    n_trades_bid: int
    n_trades_ask: int

    @property
    def ready(self) -> bool:
        """True when estimates are available (``"ok"`` or ``"stale"``: check ``age_ns``)."""
        return self.sigma is not None


class _Tail:
    """Columns of a time-sorted series in growable buffers: appended at the end, trimmed at the
    front, read as views. The rolling window's data then cost O(new rows) per update instead of
    a copy and a scan of the whole window.

    Column 0 holds the times. Rows are kept sorted by time: rows appended out of order are
    merged into the tail (a stable sort of the tail and the new rows, so rows with equal times
    keep their arrival order). For each value listed in ``counted``, a prefix column holds the
    number of earlier rows whose column 1 has that value (counted over all rows ever appended),
    so the rows holding it from any time on are counted without scanning them.
    """

    def __init__(self, dtypes: tuple[type, ...], *, counted: tuple[int, ...] = ()) -> None:
        self._cols: list[np.ndarray] = [np.empty(256, dtype=d) for d in dtypes]
        self._counted = counted
        self._pre = [np.empty(256, dtype=np.int64) for _ in counted]
        self._total = [0 for _ in counted]
        self.lo = 0
        self.hi = 0

    def __len__(self) -> int:
        return self.hi - self.lo

    def col(self, j: int) -> np.ndarray:
        return self._cols[j][self.lo : self.hi]

    def _reserve(self, extra: int) -> None:
        cap = self._cols[0].shape[0]
        n = self.hi - self.lo
        if self.hi + extra <= cap:
            return
        new_cap = max(cap, 2 * (n + extra))
        for arrays in (self._cols, self._pre):
            for j, a in enumerate(arrays):
                b = np.empty(new_cap, dtype=a.dtype) if new_cap != cap else a
                b[:n] = a[self.lo : self.hi]
                arrays[j] = b
        self.lo, self.hi = 0, n

    def append(self, *cols: np.ndarray) -> None:
        t = cols[0]
        m = t.shape[0]
        if m == 0:
            return
        if m > 1 and bool(np.any(t[1:] < t[:-1])):
            order = np.argsort(t, kind="stable")
            cols = tuple(c[order] for c in cols)
            t = cols[0]
        # merge point: rows already kept with a time after the first new one move behind it
        self._reserve(m)
        at = self.hi
        if self.hi > self.lo and t[0] < self._cols[0][self.hi - 1]:
            at = self.lo + int(np.searchsorted(self.col(0), t[0], side="right"))
            merged = [
                np.concatenate([c[at : self.hi], new])
                for c, new in zip(self._cols, cols, strict=True)
            ]
            order = np.argsort(merged[0], kind="stable")
            cols = tuple(c[order] for c in merged)
            for k in range(len(self._counted)):  # the moved rows are counted again below
                self._total[k] = int(self._pre[k][at])
            m = len(cols[0])
        for c, new in zip(self._cols, cols, strict=True):
            c[at : at + m] = new
        for k, j in enumerate(self._counted):
            hits = (cols[1] == j).astype(np.int64)
            csum = np.cumsum(hits)
            self._pre[k][at : at + m] = self._total[k] + csum - hits
            self._total[k] += int(csum[-1])
        self.hi = at + m

    def trim_before(self, t: int) -> None:
        """Drop the rows with a time before ``t``."""
        self.lo += int(np.searchsorted(self.col(0), t, side="left"))

    def trim_rows(self, n: int) -> None:
        """Drop the first ``n`` rows."""
        self.lo += n

    def range_of(self, t0: int, t1: int | None = None) -> tuple[int, int]:
        """Row positions (relative to the first kept row) of times in ``[t0, t1)``."""
        times = self.col(0)
        a = int(np.searchsorted(times, t0, side="left"))
        b = len(times) if t1 is None else int(np.searchsorted(times, t1, side="left"))
        return a, b

    def count_from(self, k: int, a: int) -> int:
        """Rows from relative position ``a`` on whose column 1 holds ``counted[k]``."""
        if a >= self.hi - self.lo:
            return 0
        return self._total[k] - int(self._pre[k][self.lo + a])


def _sigma_of_window(t: Int64Array, m: Float64Array, interval_ns: int) -> SigmaEstimate:
    """:func:`calibrate_sigma` of a validated, time-sorted mid series, without its copies when
    they change nothing: if the first mid is finite and every grid price is finite, the previous
    tick among all mids is the previous finite one, so NaN mids need no filtering."""
    if t.size and math.isfinite(m[0]) and (int(t[-1]) - int(t[0])) // interval_ns >= 1:
        start = int(t[0])
        n = (int(t[-1]) - start) // interval_ns
        grid = start + interval_ns * np.arange(n + 1, dtype=np.int64)
        p = m[np.searchsorted(t, grid, side="right") - 1]
        if bool(np.isfinite(p).all()):
            return _sigma_on_grid(p, grid, interval_ns, None)
    return calibrate_sigma(t, m, interval_ns=interval_ns)


class RollingCalibrator:
    """sigma and (A, k) per side over the last ``window_ns`` of a stream.

    Parameters
    ----------
    window_ns
        Length of the sliding window, ns (> 0). No fit is made before the data span it.
    tick_size
        Price increment (> 0).
    interval_ns
        Counting interval of the intensity fit (default 100 ms).
    sigma_interval_ns
        Grid step of the volatility estimate (default 1 s).
    max_depth_ticks
        Depth levels of the intensity fit (default 50).
    min_trades_per_side
        Trades needed on each side of the window to fit (default 50).
    max_age_ns
        A fit older than this (data time) is reported ``"stale"`` (default ``window_ns``).
    clock
        Event time field on the clock of the mids passed to :meth:`update`
        (default ``"local_ns"``, the replay clock).
    reference
        Depth reference of the intensity fit (see :func:`calibrate_intensity`).

    The constructor stores its arguments. :meth:`update` takes the new events and the mids the
    caller sampled for them (e.g. :meth:`invrisk.market.book.L2Book.sample` on a grid), appends
    them, drops what left the window and refits when there are enough data.

    Incremental counting. The counting intervals lie on one lattice, ``first mid + i
    interval_ns``. An interval is *closed* once a mid at or after its end has been seen: its
    reference mid and its trades' pre-trade mids can no longer change, so its deepest level
    per side is computed once, when it closes, and kept until it leaves the window. A refit
    sums the kept categories and runs the two likelihood fits: its cost does not grow with
    the window. The window's trades and mids are held time-sorted in growable buffers
    (``_Tail``), so an update copies and scans only its new rows and the intervals it closes.
    Trades must therefore come in time order across updates: a trade inside an interval that
    is already closed is rejected (within one update any order is fine). The
    fit covers the closed intervals whose start is at or after the lattice point at or before
    ``now - window_ns``.
    """

    def __init__(
        self,
        window_ns: int,
        *,
        tick_size: float,
        interval_ns: int = 100 * NS_PER_MS,
        sigma_interval_ns: int = NS_PER_SECOND,
        max_depth_ticks: int = 50,
        min_trades_per_side: int = 50,
        max_age_ns: int | None = None,
        clock: Clock = "local_ns",
        reference: Reference = "interval_start",
    ) -> None:
        self.window_ns = _int_ns("window_ns", window_ns, positive=True)
        self.tick_size = _positive_float("tick_size", tick_size)
        self.interval_ns = _int_ns("interval_ns", interval_ns, positive=True)
        self.sigma_interval_ns = _int_ns("sigma_interval_ns", sigma_interval_ns, positive=True)
        if self.sigma_interval_ns > self.window_ns or self.interval_ns > self.window_ns:
            raise InvalidArgumentError(
                "window_ns", window_ns, "at least interval_ns and sigma_interval_ns"
            )
        self.max_depth_ticks = _count("max_depth_ticks", max_depth_ticks, 2)
        self.min_trades_per_side = _count("min_trades_per_side", min_trades_per_side, 1)
        self.max_age_ns = (
            self.window_ns
            if max_age_ns is None
            else _int_ns("max_age_ns", max_age_ns, positive=True)
        )
        if clock not in ("exch_ns", "local_ns"):
            raise InvalidArgumentError("clock", clock, "'exch_ns' or 'local_ns'")
        self.clock: Clock = clock
        if reference not in ("interval_start", "pre_trade"):
            raise InvalidArgumentError("reference", reference, "'interval_start' or 'pre_trade'")
        self.reference: Reference = reference
        # trades (time, side, price) and mids (time, mid), time-sorted (see _Tail)
        self._trades = _Tail((np.int64, np.int64, np.float64), counted=(_SELLER, _BUYER))
        self._mids = _Tail((np.int64, np.float64))
        self._first_ns: int | None = None
        self._last: tuple[int, SigmaEstimate, IntensityEstimate, IntensityEstimate] | None = None
        # closed intervals: lattice index of the first kept one, the next to close, and per
        # kept interval its finite reference mid flag, deepest level and trades counted per
        # side (column 0: seller-initiated / bid side, 1: buyer-initiated / ask side)
        self._i0 = 0
        self._closed = 0
        self._valid = np.empty(0, dtype=bool)
        self._deep = np.empty((0, 2), dtype=np.int64)
        self._used = np.empty((0, 2), dtype=np.int64)

    def update(self, events: object, *, mid_ns: ArrayLike, mid: ArrayLike) -> CalibrationStatus:
        """Add ``events`` (any rows; TRADE rows are kept) and their mids; refit if possible.

        Raises
        ------
        InvalidArgumentError
            Mids earlier than the last mid of a previous update, or a trade inside an interval
            closed by a previous update (see the class docstring).
        """
        ev = np.asarray(events)
        if ev.size:
            t, s, p = _trades(ev, self.clock)
        else:
            t, s, p = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        mt, mp = (
            _mid_series(mid_ns, mid) if np.size(mid_ns) else (np.empty(0, np.int64), np.empty(0))
        )
        mids = self._mids
        last_mid_ns = int(mids.col(0)[-1]) if len(mids) else None
        if last_mid_ns is not None and mt.size and mt[0] < last_mid_ns:
            raise InvalidArgumentError("mid_ns", int(mt[0]), f"times >= {last_mid_ns}")
        if self._first_ns is not None and t.size:
            closed_end = self._first_ns + self._closed * self.interval_ns
            if int(t.min()) < closed_end:
                raise InvalidArgumentError(
                    "events",
                    f"a trade at {int(t.min())} ns",
                    f"trades at or after {closed_end} ns (earlier intervals are closed)",
                )
        if not len(mids) and mt.size == 0:
            raise InvalidArgumentError("mid_ns", "no mid so far", "at least one mid sample")
        trades = self._trades
        trades.append(t, s, p)
        mids.append(mt, mp)
        last_mid = int(mids.col(0)[-1])
        now = max(last_mid, int(trades.col(0)[-1])) if len(trades) else last_mid
        if self._first_ns is None:
            self._first_ns = int(mids.col(0)[0])
        cutoff = now - self.window_ns
        self._close_intervals()
        # Drop closed intervals that left the window, then the data no longer needed: trades
        # before the cutoff that are in closed intervals, and mids before the last one at or
        # before both the cutoff (sigma's first grid price) and the end of the closed intervals
        # (the reference of the next interval to close).
        first_kept = max((cutoff - self._first_ns) // self.interval_ns, 0)
        if first_kept > self._i0:
            drop = min(first_kept - self._i0, self._valid.size)
            self._valid, self._deep, self._used = (
                self._valid[drop:],
                self._deep[drop:],
                self._used[drop:],
            )
            self._i0 += drop
        closed_end = self._first_ns + self._closed * self.interval_ns
        i_mid = int(np.searchsorted(mids.col(0), min(cutoff, closed_end), side="right")) - 1
        mids.trim_rows(max(i_mid, 0))
        trades.trim_before(min(cutoff, closed_end))
        a, _ = trades.range_of(cutoff)
        n_bid = trades.count_from(0, a)
        n_ask = trades.count_from(1, a)
        span = now - self._first_ns
        message = ""
        if span < self.window_ns:
            message = f"warming up: {span} of {self.window_ns} ns of data"
        elif min(n_bid, n_ask) < self.min_trades_per_side:
            message = (
                f"too few trades in the window: bid {n_bid}, ask {n_ask} "
                f"(need {self.min_trades_per_side} per side)"
            )
        else:
            message = self._refit(cutoff, now)
        common = {
            "as_of_ns": now,
            "message": message,
            "window_span_ns": min(span, self.window_ns),
            "n_trades_bid": n_bid,
            "n_trades_ask": n_ask,
        }
        if self._last is None:
            return CalibrationStatus(
                state="warming_up",
                fitted_at_ns=None,
                age_ns=None,
                sigma=None,
                bid=None,
                ask=None,
                **common,  # type: ignore[arg-type]
            )
        fitted_at, sig, bid, ask = self._last
        age = now - fitted_at
        state: CalibrationState = "ok" if not message and age <= self.max_age_ns else "stale"
        if state == "stale" and not message:
            common["message"] = f"last fit is {age} ns old (max_age_ns={self.max_age_ns})"
        return CalibrationStatus(
            state=state,
            fitted_at_ns=fitted_at,
            age_ns=age,
            sigma=sig,
            bid=bid,
            ask=ask,
            **common,  # type: ignore[arg-type]
        )

    def _close_intervals(self) -> None:
        """Count the intervals that the mids seen so far close (see the class docstring)."""
        assert self._first_ns is not None
        dt = self.interval_ns
        mt, mp = self._mids.col(0), self._mids.col(1)
        n_close = (int(mt[-1]) - self._first_ns) // dt - self._closed
        if n_close <= 0:
            return
        start = self._first_ns + self._closed * dt
        grid = start + dt * np.arange(n_close, dtype=np.int64)
        ref = _on_grid(mt, mp, grid)
        end = start + n_close * dt
        a, b = self._trades.range_of(start, end)
        t, side, price = (self._trades.col(j)[a:b] for j in range(3))
        trade_mid = None
        if self.reference == "pre_trade":
            j = np.searchsorted(mt, t, side="left") - 1
            trade_mid = np.where(j >= 0, mp[np.maximum(j, 0)], np.nan)
        deep = np.empty((n_close, 2), dtype=np.int64)
        used = np.empty((n_close, 2), dtype=np.int64)
        for col, sign in enumerate((_SELLER, _BUYER)):
            deep[:, col], used[:, col] = _deepest_levels(
                t,
                side,
                price,
                sign,
                start=start,
                dt_ns=dt,
                ref_mid=ref,
                tick=self.tick_size,
                n_levels=self.max_depth_ticks,
                trade_mid=trade_mid,
            )
        if self._valid.size == 0:
            self._i0 = self._closed
        self._valid = np.concatenate([self._valid, np.isfinite(ref)])
        self._deep = np.concatenate([self._deep, deep])
        self._used = np.concatenate([self._used, used])
        self._closed += n_close

    def _refit(self, cutoff: int, now: int) -> str:
        valid = self._valid
        n_valid = int(valid.sum())
        try:
            if n_valid == 0:
                raise InvalidArgumentError(
                    "mid", "no finite mid at an interval start", "a finite mid"
                )
            sig = _sigma_of_window(self._mids.col(0), self._mids.col(1), self.sigma_interval_ns)
            n_cat = self.max_depth_ticks + 1
            warm = None if self._last is None else (self._last[2], self._last[3])
            fits = [
                _fit_counts(
                    np.bincount(self._deep[valid, col] + 1, minlength=n_cat)[:n_cat],
                    n_valid=n_valid,
                    n_trades=int(self._used[:, col].sum()),
                    side=side,
                    dt_ns=self.interval_ns,
                    tick=self.tick_size,
                    warm=None if warm is None else warm[col],
                )
                for col, side in enumerate(_ROLLING_SIDES)
            ]
        except InvalidArgumentError as exc:
            return f"fit failed on the current window: {exc}"
        bad = [f.side for f in fits if f.status != "ok"]
        if bad:
            return f"fit not identified on side(s) {bad}: status {[f.status for f in fits]}"
        self._last = (now, sig, fits[0], fits[1])
        return ""
