"""Raw SVI smiles in total implied variance, and the butterfly-arbitrage density g(k).

Raw SVI (Gatheral 2004) gives the total implied variance w = σ_BS²·T of one expiry as a function
of the log-moneyness k = ln(K/F):

    w(k) = a + b (ρ (k - m) + sqrt((k - m)² + σ²))

with b >= 0, |ρ| < 1, σ > 0. A smile is free of butterfly arbitrage exactly when the risk-neutral
density it implies is non-negative, i.e. when (Gatheral & Jacquier 2014, Lemma 2.2)

    g(k) = (1 - k w'/(2w))² - (w'²/4)(1/w + 1/4) + w''/2 >= 0   for all k,

and its wings respect Roger Lee's moment bound, lim sup w(k)/|k| <= 2, which for SVI reads
b (1 + |ρ|) <= 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from invrisk._typing import ArrayLike, Float64Array
from invrisk.errors import InvalidArgumentError
from invrisk.surface import _svi_kernels

__all__ = [
    "CHECK_K_MAX",
    "LEE_SLOPE_MAX",
    "SVIFit",
    "SVIParams",
    "check_grid",
    "fit_svi",
    "svi_density_g",
    "svi_total_variance",
    "svi_w_derivatives",
]

LEE_SLOPE_MAX = 2.0
"""Roger Lee's moment formula: the total variance grows at most like 2|k| in the wings."""


@dataclass(frozen=True, slots=True)
class SVIParams:
    """Raw SVI parameters of one expiry (total-variance units, k = ln(K/F)).

    Attributes
    ----------
    a
        Level of total variance (may be negative as long as w stays positive).
    b
        Wing slope, >= 0.
    rho
        Skew (rotation), in [-1, 1] (±1 makes one wing flat).
    m
        Horizontal shift in log-moneyness.
    sigma
        ATM curvature (smoothness of the vertex), > 0.

    Examples
    --------
    The arbitrageable smile of Gatheral & Jacquier (2014, Example 3.1, parameters due to
    Axel Vogt): w > 0 everywhere, yet its density g(k) is negative for k in about (0.64, 1.26).

    >>> vogt = SVIParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)
    >>> bool(svi_density_g(np.linspace(-1.5, 1.5, 301), vogt).min() < 0)
    True
    """

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def __post_init__(self) -> None:
        for name in ("a", "b", "rho", "m", "sigma"):
            value = getattr(self, name)
            if not isinstance(value, int | float | np.floating) or not math.isfinite(value):
                raise InvalidArgumentError(name, value, "a finite number")
            object.__setattr__(self, name, float(value))
        if self.b < 0.0:
            raise InvalidArgumentError("b", self.b, "b >= 0")
        if not -1.0 <= self.rho <= 1.0:
            raise InvalidArgumentError("rho", self.rho, "a number in [-1, 1]")
        if not self.sigma > 0.0:
            raise InvalidArgumentError("sigma", self.sigma, "sigma > 0")

    @property
    def min_total_variance(self) -> float:
        """min_k w(k) = a + b σ sqrt(1 - ρ²) (must be >= 0 for a valid smile)."""
        return self.a + self.b * self.sigma * math.sqrt(1.0 - self.rho * self.rho)

    @property
    def wing_slopes(self) -> tuple[float, float]:
        """Asymptotic slopes of w in |k|: (left, right) = (b(1 - ρ), b(1 + ρ))."""
        return self.b * (1.0 - self.rho), self.b * (1.0 + self.rho)

    @property
    def satisfies_lee(self) -> bool:
        """Roger Lee's wing bound b(1 + |ρ|) <= 2 (with a 1e-12 allowance for rounding)."""
        return self.b * (1.0 + abs(self.rho)) <= LEE_SLOPE_MAX + 1e-12

    def as_dict(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b, "rho": self.rho, "m": self.m, "sigma": self.sigma}


def svi_total_variance(k: ArrayLike, p: SVIParams) -> Float64Array:
    """Total implied variance w(k) of a raw SVI smile at log-moneyness k = ln(K/F)."""
    x = np.asarray(k, dtype=np.float64) - p.m
    return np.asarray(p.a + p.b * (p.rho * x + np.sqrt(x * x + p.sigma * p.sigma)))


def svi_w_derivatives(
    k: ArrayLike, p: SVIParams
) -> tuple[Float64Array, Float64Array, Float64Array]:
    """(w, dw/dk, d²w/dk²) of a raw SVI smile."""
    x = np.asarray(k, dtype=np.float64) - p.m
    r = np.sqrt(x * x + p.sigma * p.sigma)
    w = p.a + p.b * (p.rho * x + r)
    w1 = p.b * (p.rho + x / r)
    w2 = p.b * p.sigma * p.sigma / (r * r * r)
    return np.asarray(w), np.asarray(w1), np.asarray(w2)


def svi_density_g(k: ArrayLike, p: SVIParams) -> Float64Array:
    """Gatheral–Jacquier's g(k); the smile is butterfly-arbitrage free iff g >= 0 everywhere.

    Where w <= 0 the smile is not a valid total variance and g is returned as -inf.

    References
    ----------
    J. Gatheral and A. Jacquier, "Arbitrage-free SVI volatility surfaces", Quantitative Finance
    14(1) (2014) 59-71, Lemma 2.2 and eq. (2.1).
    """
    kk = np.asarray(k, dtype=np.float64)
    w, w1, w2 = svi_w_derivatives(kk, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (1.0 - kk * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
    return np.asarray(np.where(w > 0.0, g, -np.inf))


@dataclass(frozen=True, slots=True)
class SVIFit:
    """Result of :func:`fit_svi` for one expiry.

    Attributes
    ----------
    params
        The fitted raw SVI parameters.
    t_yr
        Time to expiry the smile was fitted for (years).
    k_min, k_max
        Range of the quotes' log-moneyness.
    rmse_vol_pts, max_abs_err_vol_pts
        Weighted-fit errors in implied vol, in vol points (0.01), measured against the target
        vols the fit was given.
    n_quotes
        Number of quotes fitted.
    g_min, g_min_k
        Minimum of the Gatheral–Jacquier density g on :func:`check_grid` (the quotes' range
        and k in [-3, 3]), and where it is attained (>= 0: no butterfly arbitrage).
    """

    params: SVIParams
    t_yr: float
    k_min: float
    k_max: float
    rmse_vol_pts: float
    max_abs_err_vol_pts: float
    n_quotes: int
    g_min: float
    g_min_k: float

    def total_variance(self, k: ArrayLike) -> Float64Array:
        return svi_total_variance(k, self.params)

    def implied_vol(self, k: ArrayLike) -> Float64Array:
        return np.asarray(np.sqrt(svi_total_variance(k, self.params) / self.t_yr))


CHECK_K_MAX = 3.0
"""Arbitrage is checked and enforced for log-moneyness in [-3, 3] (strikes from 1/20 to 20
times the forward) and densely around the quotes; beyond, Lee's wing bound governs."""


CHECK_GRID_POINTS = 2401


def check_grid(
    k_min: float = 0.0, k_max: float = 0.0, *, n: int = CHECK_GRID_POINTS
) -> Float64Array:
    """Where butterfly and calendar arbitrage are checked for a smile quoted on [k_min, k_max]:
    a uniform grid over [-CHECK_K_MAX, CHECK_K_MAX] (step 0.0025 by default), joined with the
    quotes' range where it reaches beyond."""
    wide = np.linspace(-CHECK_K_MAX, CHECK_K_MAX, n)
    if k_min >= -CHECK_K_MAX and k_max <= CHECK_K_MAX:
        return wide
    return np.union1d(wide, np.linspace(k_min, k_max, 201))


def fit_svi(
    *,
    log_moneyness: ArrayLike,
    implied_vol: ArrayLike,
    t_yr: float,
    vol_weight: ArrayLike | None = None,
    calendar_floor: SVIParams | None = None,
    calendar_ceiling: SVIParams | None = None,
) -> SVIFit:
    """Fit a butterfly-arbitrage-free raw SVI smile to one expiry's implied vols.

    Parameters
    ----------
    log_moneyness
        k = ln(K/F) of each quote (at least 5 distinct values).
    implied_vol
        Target implied vols (decimal), e.g. mid vols of bid/ask or mark vols.
    t_yr
        Time to expiry in years, > 0.
    vol_weight
        Relative weight of each quote's squared *vol* error (e.g. 1/spread_in_vol²); equal if
        None. The fit is done in total variance w = σ²T, with each residual rescaled by
        1/(2σT) so that it measures a vol error.
    calendar_floor, calendar_ceiling
        Fitted smiles of a shorter and a longer expiry: the fit keeps w(k) between them on the
        check grid, so the slices do not cross (no calendar arbitrage).

    Returns
    -------
    SVIFit

    Notes
    -----
    Quasi-explicit calibration (Zeliade 2009): for each vertex (m, σ) the other three
    parameters solve a constrained linear least-squares problem exactly; Nelder–Mead searches
    (m, ln σ) from the best point of a coarse grid. Constraints: Roger Lee's wing bound
    b(1 + |ρ|) <= 2, a sufficient condition for w > 0, and penalties on negative values of the
    density g(k) and on w below ``calendar_floor``, on a grid that is refined wherever a check
    on :func:`check_grid` finds a violation. The returned smile is free of butterfly (and, given
    neighbouring slices, calendar) arbitrage on that grid unless the data force otherwise; ``g_min``
    reports the check.

    References
    ----------
    Zeliade Systems, "Quasi-explicit calibration of Gatheral's SVI model", white paper (2009).
    J. Gatheral and A. Jacquier, "Arbitrage-free SVI volatility surfaces", Quant. Finance 14
    (2014) 59-71.
    """
    k = np.asarray(log_moneyness, dtype=np.float64).ravel()
    iv = np.asarray(implied_vol, dtype=np.float64).ravel()
    if k.shape != iv.shape:
        raise InvalidArgumentError(
            "implied_vol",
            f"{iv.shape[0]} values",
            f"as many values as log_moneyness ({k.shape[0]})",
        )
    if not (math.isfinite(t_yr) and t_yr > 0.0):
        raise InvalidArgumentError("t_yr", t_yr, "a time to expiry > 0 years")
    if not np.all(np.isfinite(k)):
        raise InvalidArgumentError("log_moneyness", "non-finite values", "finite numbers")
    if not np.all(np.isfinite(iv) & (iv > 0.0)):
        raise InvalidArgumentError("implied_vol", "non-finite or non-positive values", "vols > 0")
    if np.unique(k).size < 5:
        raise InvalidArgumentError(
            "log_moneyness", f"{np.unique(k).size} distinct strikes", "at least 5 distinct strikes"
        )
    if vol_weight is None:
        lam = np.ones_like(k)
    else:
        lam = np.asarray(vol_weight, dtype=np.float64).ravel()
        if lam.shape != k.shape or not np.all(np.isfinite(lam) & (lam >= 0.0)) or lam.sum() <= 0:
            raise InvalidArgumentError(
                "vol_weight", "weights", "finite, >= 0, not all 0, one per quote"
            )
    v = iv * iv * t_yr
    wt = lam / (2.0 * iv * t_yr) ** 2
    wt = wt / lam.sum()
    k_min, k_max = float(k.min()), float(k.max())
    span = max(k_max - k_min, 1e-6)
    # The penalty grid starts coarse and gains every point where a check on the fine grid
    # finds arbitrage, until none is left (or a few rounds have passed).
    fine = check_grid(k_min, k_max)
    k_grid = np.union1d(check_grid(k_min, k_max, n=241), np.linspace(k_min, k_max, 41))

    def bounds_on(grid: Float64Array) -> tuple[Float64Array, Float64Array]:
        lo = np.full(grid.shape, -np.inf)
        hi = np.full(grid.shape, np.inf)
        if calendar_floor is not None:
            lo = svi_total_variance(grid, calendar_floor)
        if calendar_ceiling is not None:
            hi = svi_total_variance(grid, calendar_ceiling)
        return lo, hi

    w_lo, w_hi = bounds_on(k_grid)
    fine_lo, fine_hi = bounds_on(fine)

    def objective(x: Float64Array, penalty: float) -> float:
        res = _svi_kernels.svi_objective(
            x[0], math.exp(x[1]), k, v, wt, k_grid, w_lo, w_hi, penalty
        )
        return float(res[0])

    def violations(p: SVIParams) -> Float64Array:
        g = svi_density_g(fine, p)
        w = svi_total_variance(fine, p)
        bad = (g < 0.0) | (w < fine_lo) | (w > fine_hi)
        return fine[bad]

    best_x: Float64Array | None = None
    # Coarse grid over the vertex, then Nelder-Mead from the two best points; then rounds with a
    # stiff penalty on a refined grid while the fine check finds arbitrage.
    grid_starts = [
        np.array([m0, math.log(s0)])
        for m0 in np.linspace(k_min, k_max, 5)
        for s0 in span * np.array([0.05, 0.15, 0.4, 1.0, 2.5])
    ]
    for penalty in (1e3, 1e7, 1e7, 1e7, 1e9, 1e9):
        starts = [(objective(x0, penalty), x0) for x0 in grid_starts]
        if best_x is not None:
            starts.append((objective(best_x, penalty), best_x))
        starts.sort(key=lambda s: s[0])
        best_val = math.inf
        for _, x0 in starts[:3]:
            res = minimize(
                objective,
                x0,
                args=(penalty,),
                method="Nelder-Mead",
                options={"xatol": 1e-7, "fatol": 1e-15, "maxiter": 600},
            )
            if res.fun < best_val:
                best_val = float(res.fun)
                best_x = np.asarray(res.x, dtype=np.float64)
        assert best_x is not None
        bad = violations(_params_at(best_x, k, v, wt, k_grid, w_lo, w_hi))
        if bad.size == 0:
            break
        k_grid = np.union1d(k_grid, bad)
        w_lo, w_hi = bounds_on(k_grid)
    assert best_x is not None
    params = _params_at(best_x, k, v, wt, k_grid, w_lo, w_hi)
    for _ in range(4):
        bad = violations(params)
        if bad.size == 0:
            break
        # The data pull against the constraints: refine the grid and move all five parameters.
        k_grid = np.union1d(k_grid, bad)
        w_lo, w_hi = bounds_on(k_grid)
        params = _fit_direct(params, k, v, wt, k_grid, w_lo, w_hi)
    g = svi_density_g(fine, params)
    model_vol = np.sqrt(np.maximum(svi_total_variance(k, params), 0.0) / t_yr)
    err = (model_vol - iv) * 100.0
    w_norm = lam / lam.sum()
    return SVIFit(
        params=params,
        t_yr=float(t_yr),
        k_min=k_min,
        k_max=k_max,
        rmse_vol_pts=float(np.sqrt(np.sum(w_norm * err * err))),
        max_abs_err_vol_pts=float(np.max(np.abs(err))),
        n_quotes=int(k.size),
        g_min=float(g.min()),
        g_min_k=float(fine[int(np.argmin(g))]),
    )


def _fit_direct(
    start: SVIParams,
    k: Float64Array,
    v: Float64Array,
    wt: Float64Array,
    k_grid: Float64Array,
    w_lo: Float64Array,
    w_hi: Float64Array,
) -> SVIParams:
    """Minimise error + stiff arbitrage penalty over all five parameters (Nelder-Mead).

    Parametrisation keeps Lee's bound: rho = tanh(u1), b = 2/(1 + |rho|) * logistic(u2),
    sigma = exp(u4).
    """

    def unpack(x: Float64Array) -> tuple[float, float, float, float, float]:
        rho = math.tanh(x[1])
        b = 2.0 / (1.0 + abs(rho)) / (1.0 + math.exp(-x[2]))
        return float(x[0]), b, rho, float(x[3]), math.exp(x[4])

    def objective(x: Float64Array) -> float:
        a, b, rho, m, sigma = unpack(x)
        return float(
            _svi_kernels.svi_full_objective(a, b, rho, m, sigma, k, v, wt, k_grid, w_lo, w_hi, 1e9)
        )

    rho0 = min(max(start.rho, -0.999), 0.999)
    frac = min(max(start.b * (1.0 + abs(rho0)) / 2.0, 1e-9), 1.0 - 1e-9)
    x0 = np.array(
        [start.a, math.atanh(rho0), math.log(frac / (1.0 - frac)), start.m, math.log(start.sigma)]
    )
    res = minimize(
        objective,
        x0,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-16, "maxiter": 4000},
    )
    a, b, rho, m, sigma = unpack(np.asarray(res.x))
    return SVIParams(a=a, b=b, rho=rho, m=m, sigma=sigma)


def _params_at(
    x: Float64Array,
    k: Float64Array,
    v: Float64Array,
    wt: Float64Array,
    k_grid: Float64Array,
    w_lo: Float64Array,
    w_hi: Float64Array,
) -> SVIParams:
    m = float(x[0])
    sigma = math.exp(float(x[1]))
    _, a, d, c, _ = _svi_kernels.svi_objective(m, sigma, k, v, wt, k_grid, w_lo, w_hi, 0.0)
    b = c / sigma
    rho = d / c if c > 0.0 else 0.0
    return SVIParams(a=float(a), b=float(b), rho=float(min(max(rho, -1.0), 1.0)), m=m, sigma=sigma)
