"""Raw SVI: the density g(k), Gatheral & Jacquier's arbitrage example, quasi-explicit fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.surface import (
    SVIParams,
    _svi_kernels,
    _svi_kernels_python,
    fit_svi,
    svi_density_g,
    svi_total_variance,
)
from invrisk.surface.svi import check_grid, svi_w_derivatives

# Gatheral & Jacquier (2014), "Arbitrage-free SVI volatility surfaces", Example 3.1: raw SVI
# parameters (due to Axel Vogt) (a, b, m, rho, sigma) = (-0.0410, 0.1331, 0.3586, 0.3060,
# 0.4153) with t = 1; the paper's Figure 2 shows g(k) < 0 on an interval of positive k.
VOGT = SVIParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)


def test_vogt_example_is_butterfly_arbitrageable() -> None:
    k = np.linspace(-1.5, 1.5, 3001)
    assert np.all(svi_total_variance(k, VOGT) > 0.0)  # w itself is fine everywhere
    g = svi_density_g(k, VOGT)
    negative = k[g < 0.0]
    assert negative.size > 0
    # The negative region we compute: k in about (0.643, 1.256), minimum -0.0329 near k = 0.88.
    assert 0.6 < negative.min() < 0.7 and 1.2 < negative.max() < 1.3
    assert g.min() == pytest.approx(-0.03286, abs=1e-4)


def test_known_arbitrage_free_slice() -> None:
    # A symmetric SVI with modest wings: b(1 + |rho|) = 0.1 << 2 and g > 0 everywhere
    # (Gatheral & Jacquier 2014, Lemma 2.2 with w' small and w bounded below).
    p = SVIParams(a=0.04, b=0.1, rho=0.0, m=0.0, sigma=0.3)
    assert p.satisfies_lee
    assert svi_density_g(np.linspace(-10, 10, 20001), p).min() > 0.0


def test_density_matches_finite_differences() -> None:
    p = SVIParams(a=0.01, b=0.2, rho=-0.4, m=0.1, sigma=0.15)
    k = np.linspace(-1.0, 1.0, 41)
    w, w1, w2 = svi_w_derivatives(k, p)
    # Central differences: truncation error h^2 w'''/6 (|w'''| <= b/sigma^2 ~ 9 here) plus
    # rounding eps w/h; h = 1e-5 for w' (error ~1e-9), h = 1e-4 for w'' (~1e-6 relative).
    h = 1e-5
    fd1 = (svi_total_variance(k + h, p) - svi_total_variance(k - h, p)) / (2 * h)
    np.testing.assert_allclose(w1, fd1, rtol=0, atol=1e-8)
    h = 1e-4
    fd2 = (svi_total_variance(k + h, p) - 2 * w + svi_total_variance(k - h, p)) / h**2
    np.testing.assert_allclose(w2, fd2, rtol=1e-4, atol=1e-6)


def test_fit_recovers_exact_parameters() -> None:
    true = SVIParams(a=0.01, b=0.1, rho=-0.3, m=0.05, sigma=0.2)
    k = np.linspace(-0.6, 0.5, 25)
    t = 0.25
    iv = np.sqrt(svi_total_variance(k, true) / t)
    fit = fit_svi(log_moneyness=k, implied_vol=iv, t_yr=t)
    for name in ("a", "b", "rho", "m", "sigma"):
        assert getattr(fit.params, name) == pytest.approx(getattr(true, name), abs=1e-5), name
    assert fit.rmse_vol_pts < 1e-5
    assert fit.g_min >= 0.0


def test_fit_with_noise_stays_close_and_arbitrage_free() -> None:
    true = SVIParams(a=0.01, b=0.1, rho=-0.3, m=0.05, sigma=0.2)
    rng = np.random.default_rng(1)
    k = np.linspace(-0.6, 0.5, 40)
    t = 0.25
    clean = np.sqrt(svi_total_variance(k, true) / t)
    noisy = clean + rng.normal(0.0, 0.002, k.size)  # 0.2 vol point noise
    fit = fit_svi(log_moneyness=k, implied_vol=noisy, t_yr=t)
    # The fit is no further from the truth than the noise level.
    assert np.sqrt(np.mean((fit.implied_vol(k) - clean) ** 2)) < 0.002
    assert fit.rmse_vol_pts == pytest.approx(0.2, rel=0.3)
    assert fit.g_min >= 0.0


def test_fit_removes_butterfly_arbitrage_from_vogt_data() -> None:
    # Vols sampled from the arbitrageable Vogt smile: the fit must return an arbitrage-free
    # smile close to them (it cannot match them exactly).
    k = np.linspace(-1.0, 1.5, 51)
    iv = np.sqrt(svi_total_variance(k, VOGT))
    fit = fit_svi(log_moneyness=k, implied_vol=iv, t_yr=1.0)
    assert fit.g_min >= 0.0
    assert svi_density_g(check_grid(-1.0, 1.5), fit.params).min() >= 0.0
    assert fit.rmse_vol_pts < 1.0


def test_calendar_bounds_are_respected() -> None:
    short = SVIParams(a=0.002, b=0.03, rho=-0.2, m=0.0, sigma=0.05)
    long = SVIParams(a=0.02, b=0.15, rho=-0.3, m=0.0, sigma=0.3)
    k = np.linspace(-0.3, 0.3, 21)
    t = 0.1
    # Target a middle smile that pokes above the long one inside the quoted range: the data
    # themselves are calendar-arbitrageable, and the fit must still stay between its bounds.
    target = SVIParams(a=0.006, b=0.16, rho=0.6, m=0.0, sigma=0.1)
    iv = np.sqrt(svi_total_variance(k, target) / t)
    fit = fit_svi(
        log_moneyness=k, implied_vol=iv, t_yr=t, calendar_floor=short, calendar_ceiling=long
    )
    grid = check_grid(-0.3, 0.3)
    w = svi_total_variance(grid, fit.params)
    assert np.all(w >= svi_total_variance(grid, short))
    assert np.all(w <= svi_total_variance(grid, long))


def test_inner_qp_twins_agree() -> None:
    rng = np.random.default_rng(5)
    k = np.sort(rng.uniform(-0.5, 0.5, 30))
    v = 0.02 + 0.1 * k**2 + rng.normal(0, 1e-3, 30)
    wt = np.full(30, 1.0 / 30)
    grid = np.linspace(-1, 1, 21)
    lo = np.full(21, -np.inf)
    hi = np.full(21, np.inf)
    for m, s in ((0.0, 0.1), (0.2, 0.05), (-0.3, 1.0)):
        py = _svi_kernels_python.svi_objective(m, s, k, v, wt, grid, lo, hi, 1e3)
        jit = _svi_kernels.svi_objective(m, s, k, v, wt, grid, lo, hi, 1e3)
        np.testing.assert_allclose(jit, py, rtol=1e-12, atol=1e-15)


def test_inner_qp_respects_constraints() -> None:
    # Data whose unconstrained best fit has wings steeper than Lee's bound: the constrained
    # solution sits on c + |d| = 2 sigma.
    k = np.linspace(-1, 1, 21)
    v = 3.0 * np.abs(k) + 0.01
    sigma = 0.1
    y = k / sigma
    z = np.sqrt(y * y + 1)
    a, d, c, _ = _svi_kernels.svi_objective(
        0.0, sigma, k, v, np.ones(21), k, k * 0 - np.inf, k * 0 + np.inf, 0.0
    )[1:]
    assert c + abs(d) <= 2 * sigma * (1 + 1e-12)
    assert abs(d) <= c * (1 + 1e-12)
    assert a + c - abs(d) >= -1e-12
    del z


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"implied_vol": [0.5] * 4, "log_moneyness": [0.0, 0.1, 0.2, 0.3]}, "log_moneyness"),
        ({"implied_vol": [0.5] * 5 + [math.nan]}, "implied_vol"),
        ({"implied_vol": [0.5] * 5}, "implied_vol"),
        ({"t_yr": 0.0}, "t_yr"),
        ({"vol_weight": [-1.0] * 6}, "vol_weight"),
    ],
)
def test_bad_input(kwargs: dict, argument: str) -> None:
    args = {
        "log_moneyness": np.linspace(-0.2, 0.2, 6),
        "implied_vol": np.full(6, 0.5),
        "t_yr": 0.1,
    }
    args.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=argument):
        fit_svi(**args)


def test_params_validation() -> None:
    with pytest.raises(InvalidArgumentError, match="b"):
        SVIParams(a=0.0, b=-0.1, rho=0.0, m=0.0, sigma=0.1)
    with pytest.raises(InvalidArgumentError, match="sigma"):
        SVIParams(a=0.0, b=0.1, rho=0.0, m=0.0, sigma=0.0)
    with pytest.raises(InvalidArgumentError, match="rho"):
        SVIParams(a=0.0, b=0.1, rho=1.5, m=0.0, sigma=0.1)
