"""eSSVI: the calendar and butterfly conditions, recovery, and real chains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.data import load_deribit_chain
from invrisk.errors import InvalidArgumentError
from invrisk.surface import arbitrage_report, fit_surface
from invrisk.surface.essvi import _enforce_butterfly, essvi_total_variance, fit_essvi
from invrisk.surface.svi import SVIParams, svi_density_g, svi_total_variance
from tests.conftest import require_data

K = np.linspace(-6.0, 6.0, 4001)


def _as_svi(theta: float, psi: float, rho: float) -> SVIParams:
    return SVIParams(
        a=0.5 * theta * (1 - rho * rho),
        b=0.5 * psi,
        rho=rho,
        m=-rho * theta / psi,
        sigma=math.sqrt(1 - rho * rho) * theta / psi,
    )


def test_essvi_equals_its_raw_svi_form() -> None:
    # Gatheral & Jacquier (2014), Lemma 3.3: an SSVI slice with φ = ψ/θ is raw SVI.
    for theta, psi, rho in ((0.01, 0.05, -0.4), (0.3, 0.4, 0.2), (1e-4, 0.015, -0.9)):
        np.testing.assert_allclose(
            essvi_total_variance(K, theta=theta, psi=psi, rho=rho),
            svi_total_variance(K, _as_svi(theta, psi, rho)),
            rtol=1e-12,
            atol=1e-15,
        )
        assert essvi_total_variance(0.0, theta=theta, psi=psi, rho=rho) == pytest.approx(theta)


@settings(max_examples=300, deadline=None)
@given(
    theta1=st.floats(1e-4, 0.5),
    dtheta=st.floats(0.0, 0.5),
    psi1=st.floats(1e-3, 1.0),
    dpsi=st.floats(0.0, 1.0),
    rho1=st.floats(-0.99, 0.99),
    tau=st.floats(-1.0, 1.0),
)
def test_calendar_condition_prevents_crossing(
    theta1: float, dtheta: float, psi1: float, dpsi: float, rho1: float, tau: float
) -> None:
    """θ2 >= θ1, ψ1 <= ψ2 <= ψ1θ2/θ1 and |ρ2ψ2 - ρ1ψ1| <= ψ2 - ψ1 (the sufficient calendar
    conditions the fit enforces) keep the later slice above the earlier one everywhere."""
    theta2 = theta1 + dtheta
    psi2 = psi1 + dpsi * (psi1 * theta2 / theta1 - psi1)  # dpsi in [0, 1]: a fraction
    c2 = rho1 * psi1 + tau * (psi2 - psi1)
    rho2 = c2 / psi2
    if abs(rho2) >= 1.0:
        return
    w1 = essvi_total_variance(K, theta=theta1, psi=psi1, rho=rho1)
    w2 = essvi_total_variance(K, theta=theta2, psi=psi2, rho=rho2)
    assert np.all(w2 >= w1 * (1 - 1e-12) - 1e-15)


@settings(max_examples=300, deadline=None)
@given(
    theta=st.floats(1e-5, 2.0),
    frac=st.floats(0.01, 1.0),
    rho=st.floats(-0.99, 0.99),
)
def test_butterfly_conditions_give_a_positive_density(
    theta: float, frac: float, rho: float
) -> None:
    """ψ(1+|ρ|) < 4 and ψ²(1+|ρ|) <= 4θ (GJ Theorem 4.2 for one slice) give g >= 0."""
    one = 1 + abs(rho)
    psi = frac * min(4 / one, math.sqrt(4 * theta / one)) * (1 - 1e-9)
    g = svi_density_g(K * max(math.sqrt(theta), 0.05), _as_svi(theta, psi, rho))
    assert g.min() >= -1e-12


def test_crossing_without_the_bound_on_psi() -> None:
    # Why the fit bounds ψ2 by ψ1θ2/θ1: equal θ, ψ doubling and the skew moving within
    # |Δ(ρψ)| <= Δψ, and the slices cross near the money (found by hypothesis).
    w1 = essvi_total_variance(K, theta=0.5, psi=1.0, rho=0.0)
    w2 = essvi_total_variance(K, theta=0.5, psi=2.0, rho=0.5)
    assert np.min(w2 - w1) < -0.1


def test_enforce_butterfly_keeps_the_calendar_conditions() -> None:
    theta = np.array([0.001, 0.004, 0.02, 0.08])
    psi = np.array([0.2, 0.25, 0.3, 0.5])  # the first slices break ψ² (1+|ρ|) <= 4θ
    rho = np.array([-0.5, -0.3, -0.3, -0.2])
    new_psi, new_rho = _enforce_butterfly(theta, psi, rho)
    one = 1 + np.abs(new_rho)
    assert np.all(new_psi * one < 4) and np.all(new_psi**2 * one <= 4 * theta)
    # One common factor: the ratios, hence every homogeneous calendar condition, are kept.
    np.testing.assert_allclose(new_psi / psi, new_psi[0] / psi[0], rtol=1e-15)
    np.testing.assert_array_equal(new_rho, rho)


def _sample(theta: np.ndarray, psi: np.ndarray, rho: np.ndarray, t: np.ndarray, noise: float):
    rng = np.random.default_rng(11)
    ks, ts, ivs, idx = [], [], [], []
    for i in range(t.size):
        k = np.linspace(-3.0, 3.0, 25) * math.sqrt(theta[i])
        iv = np.sqrt(essvi_total_variance(k, theta=theta[i], psi=psi[i], rho=rho[i]) / t[i])
        ks.append(k)
        ts.append(np.full(k.size, t[i]))
        ivs.append(iv + rng.normal(0.0, noise, k.size))
        idx.append(np.full(k.size, i))
    return (np.concatenate(a) for a in (ks, ts, ivs, idx))


TRUE_T = np.array([2, 7, 30, 90, 180, 365]) / 365
TRUE_THETA = (np.array([0.8, 0.7, 0.62, 0.6, 0.6, 0.62]) ** 2) * TRUE_T
TRUE_PSI = np.array([0.05, 0.09, 0.16, 0.26, 0.34, 0.45])
TRUE_RHO = np.array([-0.1, -0.15, -0.2, -0.25, -0.27, -0.3])


def test_recovery_exact_and_with_noise() -> None:
    k, t, iv, idx = _sample(TRUE_THETA, TRUE_PSI, TRUE_RHO, TRUE_T, noise=0.0)
    fit = fit_essvi(log_moneyness=k, t_yr=t, implied_vol=iv, expiry_index=idx)
    assert fit.butterfly_ok() and fit.calendar_ok()
    np.testing.assert_allclose(fit.theta, TRUE_THETA, rtol=1e-6)
    np.testing.assert_allclose(fit.psi, TRUE_PSI, rtol=1e-5)
    np.testing.assert_allclose(fit.rho, TRUE_RHO, atol=1e-5)
    # 0.2 vol point noise (seed 11): parameters within a few standard errors, vols within the
    # noise.
    k, t, iv, idx = _sample(TRUE_THETA, TRUE_PSI, TRUE_RHO, TRUE_T, noise=0.002)
    fit = fit_essvi(log_moneyness=k, t_yr=t, implied_vol=iv, expiry_index=idx)
    assert fit.butterfly_ok() and fit.calendar_ok()
    np.testing.assert_allclose(fit.theta, TRUE_THETA, rtol=0.05)
    np.testing.assert_allclose(fit.psi, TRUE_PSI, rtol=0.1)
    np.testing.assert_allclose(fit.rho, TRUE_RHO, atol=0.05)
    assert np.all(fit.rmse_vol_pts < 0.3)


@pytest.mark.slow
def test_real_snapshots_arbitrage_free_and_within_a_vol_point() -> None:
    # The target for the global surface, on all 18 snapshots x {BTC, ETH}: free of
    # arbitrage, and median RMSE against Deribit's mark IV below 1.0 vol point (per surface the
    # median over expiries; the median over the 36 surfaces is asserted, and
    # bench/RESULTS.md lists the distribution: 0.33-1.45, median 0.61).
    folder = "deribit_chain_snapshots_2026_znmahbub"
    stamps = [
        "20260101T091835Z", "20260101T211918Z", "20260115T092130Z", "20260129T093452Z",
        "20260212T094031Z", "20260226T094105Z", "20260312T093539Z", "20260326T095510Z",
        "20260409T100609Z", "20260423T104153Z", "20260507T111534Z", "20260521T122502Z",
        "20260604T075825Z", "20260618T081726Z", "20260702T114114Z", "20260716T110718Z",
        "20260730T111724Z", "20260813T101802Z",
    ]  # fmt: skip
    medians = []
    for stamp in stamps:
        chain = load_deribit_chain(
            require_data(f"{folder}/deribit_options_snapshot_{stamp}.csv.gz")
        )
        for currency in ("BTC", "ETH"):
            surface = fit_surface(chain, currency=currency, model="essvi")
            assert arbitrage_report(surface).arbitrage_free, (stamp, currency)
            medians.append(np.median([s.rmse_vol_pts for s in surface.slices]))
    assert len(medians) == 36
    assert np.median(medians) < 1.0


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"expiry_index": np.zeros(6, dtype=int)}, "expiry_index"),
        ({"implied_vol": np.full(6, -0.5)}, "implied_vol"),
        ({"t_yr": np.zeros(6)}, "t_yr"),
        ({"expiry_index": np.array([0, 0, 0, 1, 1, 1.0])}, "expiry_index"),
        ({"log_moneyness": np.zeros(5)}, "log_moneyness"),
    ],
)
def test_bad_input(kwargs: dict, argument: str) -> None:
    args = {
        "log_moneyness": np.tile(np.linspace(-0.1, 0.1, 3), 2),
        "t_yr": np.repeat([0.1, 0.2], 3),
        "implied_vol": np.full(6, 0.5),
        "expiry_index": np.repeat([0, 1], 3),
    }
    args.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=argument):
        fit_essvi(**args)
