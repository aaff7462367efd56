"""Value at risk and expected shortfall: estimators, scenario generators and their backtests.

Conventions
-----------
A *loss* is a negative P&L: ``loss = -pnl``. ``VaR`` and ``ES`` at level ``α`` (e.g. 0.99) are
reported as positive numbers in the P&L's unit (USD, coin, or a return when the P&L is a return
of one unit of notional).

- ``VaR_α = inf{ℓ : P(L ≤ ℓ) ≥ α}``, the α-quantile of the loss. On ``n`` equally likely
  scenarios it is the ``⌈α n⌉``-th smallest loss (no interpolation: a scenario that happened).
- ``ES_α = (1 / (1 − α)) ∫_α^1 VaR_u du``. On discrete scenarios this is Acerbi & Tasche (2002,
  "On the coherence of expected shortfall", J. Banking & Finance 26(7), Prop. 3.2): the mean of
  the losses beyond VaR plus VaR times the part of the tail probability that sits exactly at
  VaR, ``(Σ_{L_i > VaR} p_i L_i + VaR (P(L ≤ VaR) − α)) / (1 − α)``; it is coherent and
  continuous in the weights, also with ties.

Scenario sources
----------------
- :func:`historical_scenarios`: the past ``window`` returns, each equally likely (historical
  simulation).
- :func:`fhs_scenarios`: filtered historical simulation (Barone-Adesi, Giannopoulos & Vosper
  1999, "VaR without correlations for portfolios of derivative securities", J. Futures Markets
  19(5)): a GARCH(1,1) (Bollerslev 1986) fitted with the ``arch`` package, the standardised
  residuals ``z_t = r_t / σ_t`` of the window rescaled by tomorrow's forecast ``σ_{T+1}``.
- :func:`student_t_scenarios`: Monte Carlo of several underlyings with a multivariate Student-t
  (correlation matrix, per-underlying volatilities, ``ν`` degrees of freedom; each margin
  scaled to the given volatility: ``r = vol · sqrt((ν − 2)/ν) · Z / sqrt(W/ν)``, ``Z`` correlated
  normals, ``W ~ χ²_ν``).

Backtests
---------
:func:`backtest_var` forecasts the one-day VaR of a long position from the returns before each
day and counts the days whose loss exceeded it. :func:`kupiec_pof` (Kupiec 1995, "Techniques
for verifying the accuracy of risk measurement models", J. Derivatives 3(2)) tests the number of
exceptions against ``1 − α``; :func:`christoffersen_independence` (Christoffersen 1998,
"Evaluating interval forecasts", Int. Economic Review 39(4)) tests that an exception does not
make the next one more likely (first-order Markov alternative); their sum is the conditional
coverage test (χ² with 2 degrees of freedom).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

from invrisk._typing import ArrayLike, BoolArray, Float64Array
from invrisk.errors import InvalidArgumentError

__all__ = [
    "CoverageTest",
    "FhsScenarios",
    "VarBacktest",
    "VarEstimate",
    "VarMethod",
    "backtest_var",
    "christoffersen_independence",
    "fhs_scenarios",
    "historical_scenarios",
    "kupiec_pof",
    "student_t_scenarios",
    "var_es",
]

VarMethod = Literal["historical", "fhs", "normal", "student_t"]
_METHODS: tuple[VarMethod, ...] = ("historical", "fhs", "normal", "student_t")
# arch fits better on percent returns (its optimiser's scale); parameters are converted back
_ARCH_SCALE = 100.0


@dataclass(frozen=True, slots=True)
class VarEstimate:
    """VaR and ES of one set of scenarios (positive = loss, in the P&L's unit)."""

    level: float
    var: float
    es: float
    n_scenarios: int


def _level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float):
        raise InvalidArgumentError("level", level, "a number in (0, 1), e.g. 0.99")
    lv = float(level)
    if not 0.0 < lv < 1.0:
        raise InvalidArgumentError("level", level, "a number in (0, 1), e.g. 0.99")
    return lv


def _finite_1d(name: str, values: ArrayLike) -> Float64Array:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(name, values, "real numbers") from exc
    if x.ndim != 1 or x.size == 0:
        raise InvalidArgumentError(name, f"shape {x.shape}", "a non-empty 1-D array")
    bad = ~np.isfinite(x)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError(name, f"{x[i]!r} at element {i}", "finite numbers")
    return x


def var_es(pnl: ArrayLike, *, level: float, weights: ArrayLike | None = None) -> VarEstimate:
    """VaR and ES at ``level`` of the P&L scenarios ``pnl`` (see the module conventions).

    ``weights`` (optional, >= 0, not all zero) are the scenarios' probabilities up to a
    constant; by default every scenario is equally likely.

    Examples
    --------
    >>> est = var_es([-10.0, -5.0, 0.0, 1.0, 2.0], level=0.8)
    >>> est.var, round(est.es, 12)  # the 4th smallest loss of 5 is 5; the worst 20% is 10
    (5.0, 10.0)
    """
    lv = _level(level)
    loss = -_finite_1d("pnl", pnl)
    n = loss.size
    if weights is None:  # equal weights: the k-th smallest loss by selection, O(n)
        k = min(max(math.ceil(lv * n - 1e-9 * max(1.0, lv * n)), 1), n) - 1
        var = float(np.partition(loss, k)[k])
        beyond = loss > var
        at_or_below = (n - int(np.count_nonzero(beyond))) / n
        tail = float(np.sum(loss[beyond])) / n + var * (at_or_below - lv)
        return VarEstimate(level=lv, var=var, es=max(tail / (1.0 - lv), var), n_scenarios=n)
    w = _finite_1d("weights", weights)
    if w.size != n:
        raise InvalidArgumentError("weights", f"{w.size} values", f"one per scenario ({n})")
    if (w < 0.0).any() or w.sum() <= 0.0:
        raise InvalidArgumentError("weights", "negative or all zero", "weights >= 0, sum > 0")
    p = w / w.sum()
    order = np.argsort(loss, kind="stable")
    ls, ps = loss[order], p[order]
    cdf = np.cumsum(ps)
    # the first loss whose cumulative probability reaches the level (a tolerance for the
    # rounding of a cumulative sum of up to ~1e6 weights)
    k = int(np.searchsorted(cdf, lv - 1e-9, side="left"))
    k = min(k, n - 1)
    var = float(ls[k])
    beyond = ls > var
    at_or_below = float(np.sum(ps[~beyond]))
    tail = float(np.sum(ps[beyond] * ls[beyond])) + var * (at_or_below - lv)
    es = tail / (1.0 - lv)
    return VarEstimate(level=lv, var=var, es=max(es, var), n_scenarios=n)


def historical_scenarios(returns: ArrayLike, *, window: int | None = None) -> Float64Array:
    """The last ``window`` returns (all if None), each an equally likely scenario."""
    r = _finite_1d("returns", returns)
    if window is None:
        return r.copy()
    w = _window(window, r.size)
    return r[-w:].copy()


def _window(window: object, n: int) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or int(window) < 2:
        raise InvalidArgumentError("window", window, "an integer >= 2")
    if int(window) > n:
        raise InvalidArgumentError("window", window, f"at most the {n} returns given")
    return int(window)


@dataclass(frozen=True, slots=True)
class Garch11:
    """GARCH(1,1) parameters on returns (not percent): ``σ²_t = ω + α r²_{t−1} + β σ²_{t−1}``,
    zero conditional mean (``α + β = 1`` allowed: integrated GARCH)."""

    omega: float
    alpha: float
    beta: float

    def filter(self, returns: Float64Array, sigma2_0: float) -> Float64Array:
        """Conditional variances ``σ²_1 .. σ²_{n+1}`` of ``returns`` (``σ²_1 = sigma2_0``)."""
        out = np.empty(returns.size + 1)
        s2 = sigma2_0
        om, a, b = self.omega, self.alpha, self.beta
        for t in range(returns.size):
            out[t] = s2
            s2 = om + a * returns[t] * returns[t] + b * s2
        out[-1] = s2
        return out


def fit_garch11(returns: ArrayLike) -> Garch11:
    """Fit a zero-mean GARCH(1,1) with normal quasi-likelihood (``arch``; Bollerslev 1986)."""
    from arch import arch_model  # type: ignore[import-untyped, unused-ignore]

    r = _finite_1d("returns", returns)
    if r.size < 50:
        raise InvalidArgumentError("returns", f"{r.size} values", "at least 50 for a GARCH fit")
    model = arch_model(r * _ARCH_SCALE, mean="Zero", vol="GARCH", p=1, q=1, dist="normal")
    with warnings.catch_warnings():
        # arch reports a poor optimiser start or a boundary solution as a warning; the fit
        # is still its best one, and the parameters are checked below
        warnings.simplefilter("ignore")
        res = model.fit(disp="off", show_warning=False)
    params = res.params
    omega = float(params["omega"]) / _ARCH_SCALE**2
    alpha = float(params["alpha[1]"])
    beta = float(params["beta[1]"])
    # arch bounds alpha + beta by 1: crypto windows often end on that bound (integrated GARCH),
    # which still gives finite one-step forecasts, all FHS needs (1e-6: its optimiser tolerance)
    if not (omega > 0.0 and alpha >= 0.0 and beta >= 0.0 and alpha + beta <= 1.0 + 1e-6):
        raise InvalidArgumentError(
            "returns",
            f"GARCH(1,1) fit omega={omega:.3g}, alpha={alpha:.3g}, beta={beta:.3g}",
            "a fit with omega > 0, alpha, beta >= 0 and alpha + beta <= 1",
        )
    return Garch11(omega=omega, alpha=alpha, beta=beta)


@dataclass(frozen=True, slots=True)
class FhsScenarios:
    """Filtered historical scenarios: ``scenarios = sigma_next · z`` (see :func:`fhs_scenarios`)."""

    scenarios: Float64Array = field(repr=False)
    sigma_next: float
    garch: Garch11
    z: Float64Array = field(repr=False)


def fhs_scenarios(
    returns: ArrayLike, *, window: int | None = None, garch: Garch11 | None = None
) -> FhsScenarios:
    """Tomorrow's return scenarios by filtered historical simulation (Barone-Adesi et al.).

    The GARCH(1,1) is fitted on the last ``window`` returns unless ``garch`` is given; the
    variance recursion starts from the window's sample variance.
    """
    r = historical_scenarios(returns, window=window)
    g = fit_garch11(r) if garch is None else garch
    s2 = g.filter(r, float(np.mean(r * r)))
    z = r / np.sqrt(s2[:-1])
    sigma_next = math.sqrt(float(s2[-1]))
    return FhsScenarios(scenarios=sigma_next * z, sigma_next=sigma_next, garch=g, z=z)


def student_t_scenarios(
    *,
    vols: ArrayLike,
    corr: ArrayLike,
    nu: float,
    n_paths: int,
    seed: int,
) -> Float64Array:
    """``(n_paths, N)`` returns from a multivariate Student-t with the given margins.

    ``vols`` (N, > 0) are the per-period standard deviations of the returns, ``corr`` (N×N) the
    correlation of the underlying normals (symmetric, unit diagonal, positive definite), ``nu``
    > 2 the degrees of freedom (one shared mixing variable: the tails are dependent).
    """
    v = _finite_1d("vols", vols)
    if (v <= 0.0).any():
        raise InvalidArgumentError("vols", v.tolist(), "volatilities > 0")
    c = np.asarray(corr, dtype=np.float64)
    n = v.size
    if c.shape != (n, n) or not np.all(np.isfinite(c)):
        raise InvalidArgumentError("corr", f"shape {c.shape}", f"a finite {n}x{n} matrix")
    if not np.allclose(c, c.T, atol=1e-12) or not np.allclose(np.diag(c), 1.0, atol=1e-12):
        raise InvalidArgumentError("corr", "not symmetric with a unit diagonal", "a correlation")
    try:
        chol = np.linalg.cholesky(c)
    except np.linalg.LinAlgError as exc:
        raise InvalidArgumentError("corr", "not positive definite", "a correlation") from exc
    if isinstance(nu, bool) or not (math.isfinite(float(nu)) and float(nu) > 2.0):
        raise InvalidArgumentError("nu", nu, "degrees of freedom > 2 (a finite variance)")
    if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
        raise InvalidArgumentError("n_paths", n_paths, "an integer >= 1")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_paths, n)) @ chol.T
    w = rng.chisquare(float(nu), size=(n_paths, 1))
    scale = math.sqrt((float(nu) - 2.0) / float(nu))
    return np.asarray(z * (np.sqrt(float(nu) / w) * scale) * v)


# -- coverage tests ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoverageTest:
    """A likelihood-ratio test: statistic, its χ² degrees of freedom and p-value."""

    statistic: float
    dof: int
    p_value: float


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0.0 else x * math.log(y)


def kupiec_pof(n_exceptions: int, n_obs: int, level: float) -> CoverageTest:
    """Kupiec's proportion-of-failures test: ``n_exceptions`` in ``n_obs`` vs ``1 − level``.

    ``LR = −2 ln[(1−p)^{n−x} p^x] + 2 ln[(1−x/n)^{n−x} (x/n)^x]`` with ``p = 1 − level``,
    asymptotically χ² with one degree of freedom under a correct model.
    """
    lv = _level(level)
    if isinstance(n_obs, bool) or not isinstance(n_obs, int | np.integer) or n_obs < 1:
        raise InvalidArgumentError("n_obs", n_obs, "an integer >= 1")
    if not isinstance(n_exceptions, int | np.integer) or not 0 <= n_exceptions <= n_obs:
        raise InvalidArgumentError("n_exceptions", n_exceptions, f"an integer in [0, {n_obs}]")
    p = 1.0 - lv
    x, n = float(n_exceptions), float(n_obs)
    null = _xlogy(n - x, 1.0 - p) + _xlogy(x, p)
    alt = _xlogy(n - x, 1.0 - x / n) + _xlogy(x, x / n)
    lr = max(-2.0 * (null - alt), 0.0)
    return CoverageTest(statistic=lr, dof=1, p_value=float(stats.chi2.sf(lr, 1)))


def christoffersen_independence(hits: ArrayLike) -> CoverageTest:
    """Christoffersen's independence test of a 0/1 exception series (first-order Markov).

    With ``n_ij`` the number of days in state ``i`` followed by state ``j``, ``π_01 = n_01 /
    (n_00 + n_01)``, ``π_11 = n_11 / (n_10 + n_11)`` and ``π = (n_01 + n_11) / Σ n``, ``LR =
    −2 ln[(1−π)^{n_00+n_10} π^{n_01+n_11}] + 2 ln[(1−π_01)^{n_00} π_01^{n_01} (1−π_11)^{n_10}
    π_11^{n_11}]``, χ² with one degree of freedom.
    """
    h = np.asarray(hits)
    if h.ndim != 1 or h.size < 2 or not np.isin(h, (0, 1)).all():
        raise InvalidArgumentError("hits", f"shape {h.shape}", "a 0/1 series of length >= 2")
    h = h.astype(np.int64)
    prev, nxt = h[:-1], h[1:]
    n00 = float(np.sum((prev == 0) & (nxt == 0)))
    n01 = float(np.sum((prev == 0) & (nxt == 1)))
    n10 = float(np.sum((prev == 1) & (nxt == 0)))
    n11 = float(np.sum((prev == 1) & (nxt == 1)))
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01 = n01 / (n00 + n01) if n00 + n01 > 0 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 > 0 else 0.0
    null = _xlogy(n00 + n10, 1.0 - pi) + _xlogy(n01 + n11, pi)
    alt = _xlogy(n00, 1.0 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1.0 - pi11) + _xlogy(n11, pi11)
    lr = max(-2.0 * (null - alt), 0.0)
    return CoverageTest(statistic=lr, dof=1, p_value=float(stats.chi2.sf(lr, 1)))


# -- backtest ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VarBacktest:
    """One method's one-day VaR forecasts over a return series and their coverage tests.

    ``var[t]`` is the VaR forecast for day ``start + t`` (made from the returns before it),
    ``loss[t]`` that day's loss of a long position of one unit of notional (``1 − P_t /
    P_{t−1}`` for simple returns), ``hits[t]`` whether the loss exceeded the forecast.
    """

    method: VarMethod
    level: float
    window: int
    n_obs: int
    n_exceptions: int
    expected_exceptions: float
    kupiec: CoverageTest
    independence: CoverageTest
    conditional_coverage: CoverageTest
    var: Float64Array = field(repr=False)
    loss: Float64Array = field(repr=False)
    hits: BoolArray = field(repr=False)

    @property
    def exception_rate(self) -> float:
        """Observed share of exceptions (compare with ``1 − level``)."""
        return self.n_exceptions / self.n_obs


def backtest_var(
    returns: ArrayLike,
    *,
    method: VarMethod,
    levels: Sequence[float] = (0.95, 0.99),
    window: int = 500,
    refit_every: int = 20,
) -> list[VarBacktest]:
    """Rolling one-day VaR of a long position of one unit, forecast from the past ``window``
    simple returns, checked against each next day's loss.

    Methods: ``"historical"`` (empirical quantile of the window), ``"fhs"`` (filtered
    historical simulation, GARCH(1,1) refitted every ``refit_every`` days and filtered daily),
    ``"normal"`` (zero-mean normal with the window's standard deviation), ``"student_t"``
    (zero-mean Student-t, ``ν`` and scale fitted by maximum likelihood every ``refit_every``
    days). Returns one :class:`VarBacktest` per level.
    """
    r = _finite_1d("returns", returns)
    if (r <= -1.0).any():
        i = int(np.flatnonzero(r <= -1.0)[0])
        raise InvalidArgumentError("returns", f"{r[i]!r} at element {i}", "simple returns > -1")
    if method not in _METHODS:
        raise InvalidArgumentError("method", method, f"one of {_METHODS}")
    lvs = [_level(lv) for lv in levels]
    if not lvs:
        raise InvalidArgumentError("levels", levels, "at least one level")
    w = _window(window, r.size - 1)
    if isinstance(refit_every, bool) or not isinstance(refit_every, int) or refit_every < 1:
        raise InvalidArgumentError("refit_every", refit_every, "an integer >= 1")
    n_days = r.size - w
    var = np.empty((len(lvs), n_days))
    garch: Garch11 | None = None
    t_params: tuple[float, float] | None = None
    for t in range(n_days):
        past = r[t : t + w]
        refit = t % refit_every == 0
        if method == "historical":
            for j, lv in enumerate(lvs):
                var[j, t] = var_es(past, level=lv).var
        elif method == "fhs":
            if refit or garch is None:
                garch = fit_garch11(past)
            sc = fhs_scenarios(past, garch=garch).scenarios
            for j, lv in enumerate(lvs):
                var[j, t] = var_es(sc, level=lv).var
        elif method == "normal":
            sd = float(np.sqrt(np.mean(past * past)))
            for j, lv in enumerate(lvs):
                var[j, t] = sd * float(stats.norm.ppf(lv))
        else:
            if refit or t_params is None:
                nu, _, scale = stats.t.fit(past, floc=0.0)
                t_params = (float(nu), float(scale))
            nu, scale = t_params
            for j, lv in enumerate(lvs):
                var[j, t] = scale * float(stats.t.ppf(lv, nu))
    loss = -r[w:]
    out: list[VarBacktest] = []
    for j, lv in enumerate(lvs):
        hits = loss > var[j]
        x = int(hits.sum())
        pof = kupiec_pof(x, n_days, lv)
        ind = christoffersen_independence(hits.astype(np.int64))
        cc = pof.statistic + ind.statistic
        out.append(
            VarBacktest(
                method=method,
                level=lv,
                window=w,
                n_obs=n_days,
                n_exceptions=x,
                expected_exceptions=(1.0 - lv) * n_days,
                kupiec=pof,
                independence=ind,
                conditional_coverage=CoverageTest(cc, 2, float(stats.chi2.sf(cc, 2))),
                var=var[j],
                loss=loss,
                hits=hits,
            )
        )
    return out
