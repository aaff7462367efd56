"""Tests of invrisk.risk.var: VaR/ES estimators, scenario generators and coverage backtests.

Statistical checks are seeded and use tolerances of at least 4 standard errors of the quantity
checked (stated at each assertion).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from invrisk.errors import InvalidArgumentError
from invrisk.risk import var as rv
from invrisk.risk.var import (
    backtest_var,
    christoffersen_independence,
    fhs_scenarios,
    kupiec_pof,
    student_t_scenarios,
    var_es,
)
from tests.conftest import require_data

DAILY = "btcusd_daily_2011-2025_bitstamp_coinbase/BTCUSD_1d_candles_full.csv"


# -- VaR and ES of scenarios -------------------------------------------------------------------


def test_worked_examples() -> None:
    """By hand: 100 scenarios with losses 1..100. At 95%: VaR is the 95th smallest loss (95);
    ES the mean of the five worst (98). At 97.5% (α n = 97.5, not an integer): VaR = 98 and
    ES = (99 + 100 + 98 · (0.98 − 0.975) · 100) / 2.5 = (199 + 49) / 2.5 = 99.2."""
    pnl = -np.arange(1.0, 101.0)
    e = var_es(pnl, level=0.95)
    assert (e.var, e.es, e.n_scenarios) == (95.0, pytest.approx(98.0), 100)
    e = var_es(pnl, level=0.975)
    assert e.var == 98.0 and e.es == pytest.approx(99.2)
    # ties: 10 scenarios, the worst three all lose 5. VaR_0.9 = 5 and ES_0.9 = 5
    tied = np.array([0, 0, 0, 0, 0, 0, 0, -5, -5, -5], dtype=float)
    assert var_es(tied, level=0.9).var == 5.0 and var_es(tied, level=0.9).es == 5.0


def test_unit_weights_equal_no_weights_on_a_large_sample() -> None:
    """α n integral on 100,000 scenarios: both paths (selection without weights, cumulative
    weights with them) must pick the same order statistic despite the rounding of the sum."""
    x = np.random.default_rng(4).standard_normal(100_000)
    for level in (0.95, 0.99, 0.999):
        a, b = var_es(x, level=level), var_es(x, level=level, weights=np.ones(x.size))
        assert a.var == b.var and a.es == pytest.approx(b.es, rel=1e-9)


def test_weights_equal_repeated_scenarios() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    k = rng.integers(1, 5, size=40)
    for level in (0.9, 0.95, 0.975, 0.99):
        a = var_es(x, level=level, weights=k.astype(float))
        b = var_es(np.repeat(x, k), level=level)
        assert a.var == b.var and a.es == pytest.approx(b.es, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), min_size=1, max_size=60),
    st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
)
def test_es_is_subadditive_and_at_least_var(pairs: list[tuple[int, int]], level: float) -> None:
    """ES is coherent (Acerbi & Tasche 2002): ES(X + Y) <= ES(X) + ES(Y) on any joint scenarios,
    also with the ties integer P&Ls produce (the naive "mean of the losses beyond VaR" fails
    this); and VaR <= ES <= the worst loss."""
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    ex, ey, exy = (var_es(v, level=level) for v in (x, y, x + y))
    assert exy.es <= ex.es + ey.es + 1e-9
    for e, v in ((ex, x), (ey, y), (exy, x + y)):
        assert e.var <= e.es + 1e-12 and e.es <= float(-v.min()) + 1e-9


def test_normal_sample_matches_the_closed_form() -> None:
    """2e6 standard normal scenarios: VaR_0.99 = z = 2.3263, ES_0.99 = φ(z)/0.01 = 2.6652. The
    standard error of the sample quantile is sqrt(α(1−α))/(φ(z) sqrt(n)) = 0.0026; of ES about
    0.003; 4 standard errors allowed."""
    x = np.random.default_rng(1).standard_normal(2_000_000)
    e = var_es(x, level=0.99)
    z = stats.norm.ppf(0.99)
    assert e.var == pytest.approx(z, abs=4 * 0.0026)
    assert e.es == pytest.approx(stats.norm.pdf(z) / 0.01, abs=4 * 0.003)


@pytest.mark.parametrize(
    ("kw", "argument"),
    [
        ({"pnl": [], "level": 0.99}, "pnl"),
        ({"pnl": [1.0, math.nan], "level": 0.99}, "pnl"),
        ({"pnl": [1.0], "level": 1.0}, "level"),
        ({"pnl": [1.0], "level": 99}, "level"),
        ({"pnl": [1.0, 2.0], "level": 0.9, "weights": [1.0]}, "weights"),
        ({"pnl": [1.0, 2.0], "level": 0.9, "weights": [1.0, -1.0]}, "weights"),
    ],
)
def test_bad_input_names_the_argument(kw: dict[str, object], argument: str) -> None:
    with pytest.raises(InvalidArgumentError, match=argument):
        var_es(**kw)  # type: ignore[arg-type]


# -- scenario generators -----------------------------------------------------------------------


def test_student_t_margins_correlation_and_quantile() -> None:
    """200,000 paths of 3 underlyings, ν = 5: each margin's standard deviation is its vol
    (standard error of a t(5) sample sd about 1.6% here, 4 allowed: 6.5%); the Pearson
    correlation is the normals' (se ~0.003, 0.015 allowed); a long unit position's 99% VaR is
    vol · sqrt(3/5) · t_0.99(5) (quantile se ~1%, 4% allowed)."""
    vols = np.array([0.04, 0.05, 0.02])
    corr = np.array([[1.0, 0.7, 0.2], [0.7, 1.0, 0.1], [0.2, 0.1, 1.0]])
    r = student_t_scenarios(vols=vols, corr=corr, nu=5.0, n_paths=200_000, seed=3)
    assert r.shape == (200_000, 3)
    np.testing.assert_allclose(r.std(axis=0), vols, rtol=0.065)
    np.testing.assert_allclose(np.corrcoef(r.T), corr, atol=0.015)
    want = 0.04 * math.sqrt(3 / 5) * stats.t.ppf(0.99, 5)
    assert var_es(r[:, 0], level=0.99).var == pytest.approx(want, rel=0.04)
    again = student_t_scenarios(vols=vols, corr=corr, nu=5.0, n_paths=200_000, seed=3)
    np.testing.assert_array_equal(r, again)  # seeded


def test_student_t_rejects_bad_inputs() -> None:
    ok = {"vols": [0.1, 0.1], "corr": np.eye(2), "nu": 4.0, "n_paths": 10, "seed": 0}
    for name, bad in (
        ("vols", [0.1, -0.1]),
        ("corr", [[1.0, 2.0], [2.0, 1.0]]),
        ("corr", np.eye(3)),
        ("nu", 2.0),
        ("n_paths", 0),
    ):
        with pytest.raises(InvalidArgumentError, match=name):
            student_t_scenarios(**{**ok, name: bad})  # type: ignore[arg-type]


def garch_path(n: int, omega: float, alpha: float, beta: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = np.empty(n)
    s2 = omega / (1 - alpha - beta)
    for t in range(n):
        r[t] = math.sqrt(s2) * rng.standard_normal()
        s2 = omega + alpha * r[t] ** 2 + beta * s2
    return r


def test_garch_fit_recovers_a_simulated_process_and_fhs_scales_by_the_forecast() -> None:
    """8,000 days of a GARCH(1,1) with ω = 2e-6, α = 0.08, β = 0.9: the fit recovers α and β
    (sampling se about 0.01 at this length; 0.04 allowed); the FHS scenarios are the
    standardised residuals times the one-step forecast, which is the GARCH recursion applied
    to the last day."""
    r = garch_path(8_000, 2e-6, 0.08, 0.9, seed=5)
    g = rv.fit_garch11(r)
    assert g.alpha == pytest.approx(0.08, abs=0.04) and g.beta == pytest.approx(0.9, abs=0.04)
    f = fhs_scenarios(r, window=1_000, garch=g)
    last = r[-1_000:]
    s2 = g.filter(last, float(np.mean(last * last)))
    assert f.sigma_next == pytest.approx(
        math.sqrt(g.omega + g.alpha * last[-1] ** 2 + g.beta * s2[-2])
    )
    np.testing.assert_allclose(f.scenarios, f.sigma_next * last / np.sqrt(s2[:-1]))
    assert np.std(f.z) == pytest.approx(1.0, abs=0.1)  # standardised


# -- coverage tests ----------------------------------------------------------------------------


def test_kupiec_equals_twice_n_times_the_bernoulli_divergence() -> None:
    """The POF statistic written another way: LR = 2 n KL(Bern(x/n) || Bern(p)); and with no
    exception at all it is −2 n ln(1 − p)."""
    for x, n, level in ((0, 250, 0.99), (2, 250, 0.99), (7, 250, 0.99), (60, 1000, 0.95)):
        q, p = x / n, 1 - level
        kl = (q * math.log(q / p) if q else 0.0) + (1 - q) * math.log((1 - q) / (1 - p))
        got = kupiec_pof(x, n, level)
        assert got.statistic == pytest.approx(2 * n * kl, rel=1e-12, abs=1e-12)
        assert got.p_value == pytest.approx(stats.chi2.sf(2 * n * kl, 1), rel=1e-9)
    assert kupiec_pof(0, 250, 0.99).statistic == pytest.approx(-2 * 250 * math.log(0.99))


def test_kupiec_rejects_at_its_nominal_rate_under_the_null() -> None:
    """4,000 simulated backtests of 1,000 days with a correct 95% model: the 5% test rejects
    about 5% of them (the χ² approximation of a discrete statistic; 3.5%..6.5% allowed, the
    binomial se being 0.34%)."""
    rng = np.random.default_rng(7)
    x = rng.binomial(1_000, 0.05, size=4_000)
    rate = np.mean([kupiec_pof(int(k), 1_000, 0.95).p_value < 0.05 for k in x])
    assert 0.035 < rate < 0.065


def test_christoffersen_is_the_g_test_of_the_transition_table() -> None:
    """LR_ind is the likelihood-ratio (G) test of independence of the 2×2 table of (today,
    tomorrow) exception states (scipy's chi2_contingency with lambda_="log-likelihood")."""
    rng = np.random.default_rng(11)
    for p in (0.02, 0.05, 0.2):
        h = (rng.random(2_000) < p).astype(int)
        h[100:104] = 1  # a cluster
        table = np.zeros((2, 2))
        np.add.at(table, (h[:-1], h[1:]), 1)
        g, pv, dof, _ = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
        got = christoffersen_independence(h)
        assert got.statistic == pytest.approx(g, rel=1e-10) and got.dof == dof == 1
        assert got.p_value == pytest.approx(pv, rel=1e-8)


def test_christoffersen_detects_clustering() -> None:
    """A Markov exception series with P(hit | hit) = 0.5 and P(hit | no hit) = 0.01 is
    rejected; a Bernoulli series of the same rate is not (seeded)."""
    rng = np.random.default_rng(2)
    h = np.zeros(3_000, dtype=int)
    for t in range(1, h.size):
        h[t] = rng.random() < (0.5 if h[t - 1] else 0.01)
    assert christoffersen_independence(h).p_value < 1e-6
    iid = (rng.random(3_000) < h.mean()).astype(int)
    assert christoffersen_independence(iid).p_value > 0.01


# -- backtest ----------------------------------------------------------------------------------


def test_backtest_has_no_look_ahead() -> None:
    """Changing a return changes no forecast made before it was known (every method)."""
    r = garch_path(900, 2e-6, 0.08, 0.9, seed=9)
    r2 = r.copy()
    r2[700] = -0.3
    for method in ("historical", "fhs", "normal", "student_t"):
        a = backtest_var(r, method=method, window=400, refit_every=50)[0]  # type: ignore[arg-type]
        b = backtest_var(r2, method=method, window=400, refit_every=50)[0]  # type: ignore[arg-type]
        # day 700 is forecast number 300: forecasts 0..300 use returns before it
        np.testing.assert_array_equal(a.var[:301], b.var[:301])
        assert not np.array_equal(a.var[301:], b.var[301:])
        assert a.loss[300] == -r[700] and a.n_exceptions == int(a.hits.sum())


def test_backtest_on_the_real_daily_btc_history() -> None:
    """The four methods over 2011-2025 (window 500 days). Checked: the bookkeeping, and the
    facts every method must show on this series (a stated property, not a tuned number): the
    conditional-volatility model (FHS) tracks the volatility (its VaR correlates with the next
    days' absolute returns more than the historical window's does), and the normal model
    under-covers the fat-tailed 99% tail (more exceptions than expected, Kupiec p < 0.01)."""
    from invrisk.data import read_ohlcv

    close = read_ohlcv(require_data(DAILY)).close
    r = close[1:] / close[:-1] - 1.0
    out = {
        m: {b.level: b for b in backtest_var(r, method=m, window=500, refit_every=50)}  # type: ignore[arg-type]
        for m in ("historical", "fhs", "normal", "student_t")
    }
    for res in out.values():
        for level, b in res.items():
            assert b.n_obs == r.size - 500 and b.n_exceptions == int(b.hits.sum())
            assert b.expected_exceptions == pytest.approx((1 - level) * b.n_obs)
            assert 0.0 <= b.kupiec.p_value <= 1.0 and 0.0 <= b.independence.p_value <= 1.0
    normal99 = out["normal"][0.99]
    assert normal99.n_exceptions > 1.4 * normal99.expected_exceptions
    assert normal99.kupiec.p_value < 0.01
    absr = np.abs(r[500:])
    fhs_corr = np.corrcoef(out["fhs"][0.99].var, absr)[0, 1]
    hist_corr = np.corrcoef(out["historical"][0.99].var, absr)[0, 1]
    assert fhs_corr > hist_corr + 0.05


def test_backtest_argument_errors() -> None:
    r = np.full(100, 0.01)
    for kw, name in (
        ({"method": "garch"}, "method"),
        ({"method": "normal", "window": 1}, "window"),
        ({"method": "normal", "window": 100}, "window"),
        ({"method": "normal", "window": 50, "levels": ()}, "levels"),
        ({"method": "normal", "window": 50, "refit_every": 0}, "refit_every"),
    ):
        with pytest.raises(InvalidArgumentError, match=name):
            backtest_var(r, **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="returns"):
        backtest_var(np.r_[r, -1.5], method="normal", window=50)
