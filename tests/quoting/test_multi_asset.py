"""Tests of the multi-asset closed forms (Guéant 2017 asymptotic, Bergault et al. 2021 tanh).

References here are written independently of ``invrisk.quoting.multi_asset``: the single-asset
closed form of ``invrisk.quoting.glft`` (a separate implementation), scalar formulas written
out below, the analytic square root of a 2×2 correlation matrix, ``scipy.linalg.sqrtm`` and
finite differences of the Riccati solution. Each tolerance is stated beside its number.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.base import BookQuotingModel, Quotes
from invrisk.quoting.glft import gueant_closed_form_depths
from invrisk.quoting.multi_asset import (
    MultiAssetClosedForm,
    bergault_riccati_matrix,
    gueant_gamma_matrix,
    multi_asset_depths,
    sqrtm_psd,
)

NS = 1_000_000_000
# GLFT (2013) figure parameters: σ = 0.3 tick/√s, A = 0.9 /s, k = 0.3 /tick, γ = 0.01 /tick.
FIG = {"sigma": 0.3, "A": 0.9, "k": 0.3, "gamma": 0.01}


def _c_xi_ref(xi: float, dq: float, k: float) -> float:
    """Guéant (2017): C_ξ = (1 + ξΔ/k)^{−k/(ξΔ) − 1}, C_0 = e^{−1} (written out independently)."""
    if xi == 0.0:
        return math.exp(-1.0)
    return float((1.0 + xi * dq / k) ** (-k / (xi * dq) - 1.0))


def _offset_ref(xi: float, dq: float, k: float) -> float:
    """δ̃*_ξ(0): (1/(ξΔ)) ln(1 + ξΔ/k), or 1/k at ξ = 0."""
    return 1.0 / k if xi == 0.0 else math.log(1.0 + xi * dq / k) / (xi * dq)


def _random_pd(rng: np.random.Generator, n: int, scale: float = 0.1) -> np.ndarray:
    m = rng.normal(size=(n, n))
    return scale * (m @ m.T + 0.5 * np.eye(n))


# --- (d) limiting case n = 1: the single-asset Guéant closed form ----------------------------


@pytest.mark.parametrize("xi", [None, 0.0])  # ξ = γ (model A) and ξ = 0 (model B)
@pytest.mark.parametrize("trade_qty", [1.0, 2.5])
@pytest.mark.parametrize("q", [-7.5, -1.0, 0.0, 3.0, 10.0])
def test_one_instrument_equals_single_asset_closed_form(
    xi: float | None, trade_qty: float, q: float
) -> None:
    s, a, k, g = FIG["sigma"], FIG["A"], FIG["k"], FIG["gamma"]
    ref_b, ref_a = gueant_closed_form_depths(
        q=q, sigma=s, gamma=g, A=a, k=k, xi=xi, trade_qty=trade_qty
    )
    b, aa = multi_asset_depths(
        q=[q], sigma_cov=[[s * s]], gamma=g, A=a, k=k, xi=xi, trade_qty=trade_qty
    )
    # Same formula up to round-off: rtol 1e-12.
    np.testing.assert_allclose([b[0], aa[0]], [ref_b, ref_a], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("xi", [None, 0.0])
@pytest.mark.parametrize("tau_s", [0.0, 1.0, 30.0, 600.0])
def test_one_instrument_finite_horizon_is_tanh_scaled_skew(xi: float | None, tau_s: float) -> None:
    # n = 1 in Bergault et al.: 𝒜(τ) = (w/2) tanh(√(γσ²·2D) τ) with D = AΔkC_ξ and
    # w = √(γσ²/(2D)) the single-asset slope, so δ^b(τ) = c + tanh(Âτ)(δ^b_∞ − c).
    s, a, k, g, dq, q = FIG["sigma"], FIG["A"], FIG["k"], FIG["gamma"], 2.0, 3.0
    x = g if xi is None else xi
    d = a * dq * k * _c_xi_ref(x, dq, k)
    th = math.tanh(math.sqrt(g * s * s * 2.0 * d) * tau_s)
    c = _offset_ref(x, dq, k)
    inf_b, inf_a = gueant_closed_form_depths(q=q, sigma=s, gamma=g, A=a, k=k, xi=xi, trade_qty=dq)
    b, aa = multi_asset_depths(
        q=[q], sigma_cov=[[s * s]], gamma=g, A=a, k=k, xi=xi, trade_qty=dq, horizon_s=tau_s
    )
    # Independent scalar formula: rtol 1e-12.
    np.testing.assert_allclose(
        [b[0], aa[0]], [c + th * (inf_b - c), c + th * (inf_a - c)], rtol=1e-12, atol=1e-12
    )


# --- diagonal Σ: instruments decouple --------------------------------------------------------


@pytest.mark.parametrize("xi", [None, 0.0])
def test_diagonal_covariance_decouples(xi: float | None) -> None:
    sig = np.array([0.3, 12.0, 0.05])
    a = np.array([0.9, 2.986162360812285, 5.0])
    k = np.array([0.3, 0.04235741115084049, 20.0])
    dq = np.array([1.0, 0.1, 3.0])
    q = np.array([2.0, -0.7, 6.0])
    g = 0.02
    b, aa = multi_asset_depths(
        q=q, sigma_cov=np.diag(sig**2), gamma=g, A=a, k=k, trade_qty=dq, xi=xi
    )
    for i in range(3):
        rb, ra = gueant_closed_form_depths(
            q=float(q[i]), sigma=float(sig[i]), gamma=g, A=float(a[i]), k=float(k[i]),
            xi=xi, trade_qty=float(dq[i]),
        )  # fmt: skip
        # Diagonal Γ is computed through eigh of a diagonal matrix: rtol 1e-12.
        np.testing.assert_allclose([b[i], aa[i]], [rb, ra], rtol=1e-12, atol=1e-12)


# --- correlation: cross-inventory skew -------------------------------------------------------


def _two_identical(rho: float, q1: float, q2: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    s = FIG["sigma"]
    cov = s * s * np.array([[1.0, rho], [rho, 1.0]])
    return multi_asset_depths(q=[q1, q2], sigma_cov=cov, gamma=FIG["gamma"], A=FIG["A"], k=FIG["k"])


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_positive_correlation_skews_other_instrument_same_direction(rho: float) -> None:
    b0, a0 = _two_identical(rho, 0.0)
    b, a = _two_identical(rho, 5.0)  # long instrument 1
    # Own skew: long 1 → lower bid (larger bid depth), tighter ask on instrument 1.
    assert b[0] > b0[0] and a[0] < a0[0]
    # Cross skew, same direction on instrument 2.
    assert b[1] > b0[1] and a[1] < a0[1]
    # Negative correlation reverses the cross skew.
    bn0, an0 = _two_identical(-rho, 0.0)
    bn, an = _two_identical(-rho, 5.0)
    assert bn[1] < bn0[1] and an[1] > an0[1]


def test_cross_term_matches_analytic_root_and_scales_with_correlation() -> None:
    # Identical instruments, D = d·I, Σ = s²[[1, ρ], [ρ, 1]]: (D^{1/2}ΣD^{1/2})^{1/2} has
    # eigenvalues s√d√(1 ± ρ), so Γ_12 = (s/√d)(√(1+ρ) − √(1−ρ))/2 (= (s/√d)(ρ/2 + O(ρ³))).
    # Cross skew of instrument 2's bid per unit of q¹: √(γ/2) Γ_12.
    s, a, k, g = FIG["sigma"], FIG["A"], FIG["k"], FIG["gamma"]
    d = a * k * _c_xi_ref(g, 1.0, k)
    q1 = 4.0
    prev = -math.inf
    for rho in [-0.9, -0.5, -0.01, 0.0, 1e-4, 0.01, 0.3, 0.7, 0.99]:
        b0, _ = _two_identical(rho, 0.0)
        b, _ = _two_identical(rho, q1)
        cross = (b[1] - b0[1]) / q1
        g12 = s / math.sqrt(d) * (math.sqrt(1 + rho) - math.sqrt(1 - rho)) / 2.0
        # Analytic 2×2 root vs eigh: atol 1e-12 (cross is O(1e-2) price units per unit q).
        np.testing.assert_allclose(cross, math.sqrt(g / 2.0) * g12, rtol=1e-10, atol=1e-12)
        assert cross > prev  # strictly increasing in ρ
        prev = cross
        if 0.0 < abs(rho) <= 0.01:
            # Linear in ρ to first order: cross/ρ → √(γ/2)(s/√d)/2, relative error O(ρ²) ≤ 1e-4.
            np.testing.assert_allclose(
                cross / rho, math.sqrt(g / 2.0) * s / math.sqrt(d) / 2.0, rtol=1e-4
            )


# --- finite horizon: limits and the Riccati equation -----------------------------------------


@pytest.mark.parametrize("xi", [None, 0.0])
def test_finite_horizon_converges_to_asymptotic(xi: float | None) -> None:
    rng = np.random.default_rng(7)
    n = 4
    cov = _random_pd(rng, n)
    a = rng.uniform(0.5, 2.0, n)
    k = rng.uniform(0.2, 2.0, n)
    dq = rng.uniform(0.5, 2.0, n)
    q = rng.normal(scale=3.0, size=n)
    kw: dict[str, Any] = {
        "q": q,
        "sigma_cov": cov,
        "gamma": 0.05,
        "A": a,
        "k": k,
        "trade_qty": dq,
        "xi": xi,
    }
    b_inf, a_inf = multi_asset_depths(**kw)
    errs = []
    for tau in [1.0, 10.0, 100.0]:
        b, aa = multi_asset_depths(**kw, horizon_s=tau)
        errs.append(float(np.max(np.abs(np.r_[b - b_inf, aa - a_inf]))))
    assert errs[0] > errs[1] > errs[2]  # monotone approach
    # With D₊ = 2D the τ → ∞ limit equals Guéant's Γ form; tanh(λ_min·1e5) = 1 to machine
    # precision here, so the two differ by round-off only: rtol 1e-10.
    b, aa = multi_asset_depths(**kw, horizon_s=1e5)
    np.testing.assert_allclose(b, b_inf, rtol=1e-10)
    np.testing.assert_allclose(aa, a_inf, rtol=1e-10)


def test_wrong_convention_would_not_converge() -> None:
    # Guard against mixing conventions: using D₊ = D (not 2D) in Bergault's formula gives a
    # stationary matrix √2 times Guéant's, far outside round-off.
    rng = np.random.default_rng(3)
    cov = _random_pd(rng, 3)
    d = rng.uniform(0.1, 1.0, 3)
    g = 0.05
    guea = 0.5 * math.sqrt(g / 2.0) * gueant_gamma_matrix(cov, d)
    np.testing.assert_allclose(bergault_riccati_matrix(cov, 2.0 * d, g, 1e6), guea, rtol=1e-10)
    np.testing.assert_allclose(
        bergault_riccati_matrix(cov, d, g, 1e6), math.sqrt(2.0) * guea, rtol=1e-10
    )


@pytest.mark.parametrize("xi", [None, 0.0])
def test_horizon_zero_is_myopic(xi: float | None) -> None:
    k = np.array([0.3, 1.5])
    dq = np.array([1.0, 2.0])
    g = 0.01
    x = g if xi is None else xi
    b, a = multi_asset_depths(
        q=[5.0, -3.0], sigma_cov=[[0.09, 0.02], [0.02, 0.04]], gamma=g, A=[0.9, 1.1], k=k,
        trade_qty=dq, xi=xi, horizon_s=0.0,
    )  # fmt: skip
    ref = [_offset_ref(x, float(dq[i]), float(k[i])) for i in range(2)]
    # 𝒜(T) = 0 exactly (tanh(0) = 0), so δ = δ̃*_ξ(0): rtol 1e-14.
    np.testing.assert_allclose(b, ref, rtol=1e-14)
    np.testing.assert_allclose(a, ref, rtol=1e-14)


def test_riccati_closed_form_solves_the_ode() -> None:
    # d𝒜/dτ = (γ/2)Σ − 2𝒜D₊𝒜 (τ = T − t), checked by central differences, h = 1e-4 s:
    # truncation O(h²) ≈ 1e-8 relative, tolerance rtol 1e-6.
    rng = np.random.default_rng(11)
    cov = _random_pd(rng, 3)
    dp = rng.uniform(0.2, 2.0, 3)
    g, h = 0.07, 1e-4
    for tau in [0.0 + h, 0.5, 3.0]:
        am = bergault_riccati_matrix(cov, dp, g, tau)
        deriv = (
            bergault_riccati_matrix(cov, dp, g, tau + h)
            - bergault_riccati_matrix(cov, dp, g, tau - h)
        ) / (2 * h)
        rhs = 0.5 * g * cov - 2.0 * am @ np.diag(dp) @ am
        np.testing.assert_allclose(deriv, rhs, rtol=1e-6, atol=1e-9)


def test_gueant_gamma_solves_gamma_d_gamma_equals_sigma() -> None:
    rng = np.random.default_rng(5)
    cov = _random_pd(rng, 5)
    d = rng.uniform(0.1, 3.0, 5)
    gam = gueant_gamma_matrix(cov, d)
    # Γ D Γ = Σ and Γ symmetric: rtol 1e-10.
    np.testing.assert_allclose(gam @ np.diag(d) @ gam, cov, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gam, gam.T, rtol=1e-12)


# --- (c) properties ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=0, max_value=2**31 - 1),
    st.one_of(st.none(), st.floats(min_value=1e-3, max_value=1e3)),
)
def test_quote_symmetry_and_antisymmetry(n: int, seed: int, horizon: float | None) -> None:
    rng = np.random.default_rng(seed)
    cov = _random_pd(rng, n)
    kw: dict[str, Any] = {
        "sigma_cov": cov,
        "gamma": 0.03,
        "A": rng.uniform(0.5, 2.0, n),
        "k": rng.uniform(0.2, 2.0, n),
        "trade_qty": rng.uniform(0.5, 2.0, n),
        "horizon_s": horizon,
    }
    b0, a0 = multi_asset_depths(q=np.zeros(n), **kw)
    np.testing.assert_allclose(b0, a0, rtol=1e-12)  # symmetric at zero inventory
    q = rng.normal(scale=3.0, size=n)
    b, a = multi_asset_depths(q=q, **kw)
    bm, am = multi_asset_depths(q=-q, **kw)
    np.testing.assert_allclose(b, am, rtol=1e-10, atol=1e-12)  # δ^b(q) = δ^a(−q)
    np.testing.assert_allclose(a, bm, rtol=1e-10, atol=1e-12)
    # Spread independent of inventory.
    np.testing.assert_allclose(b + a, b0 + a0, rtol=1e-10)


# --- matrix square root -----------------------------------------------------------------------


@pytest.mark.parametrize("rank", [5, 3, 1])  # full rank and singular PSD
def test_sqrtm_psd_squares_back(rank: int) -> None:
    rng = np.random.default_rng(rank)
    x = rng.normal(size=(5, rank))
    m = x @ x.T
    r = sqrtm_psd(m)
    # r² = m and r symmetric: atol 1e-12 × ‖m‖.
    scale = float(np.max(np.abs(m)))
    np.testing.assert_allclose(r @ r, m, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(r, r.T, rtol=0, atol=1e-14 * scale)
    assert float(np.min(np.linalg.eigvalsh(r))) >= -1e-7 * math.sqrt(scale)


def test_sqrtm_psd_matches_scipy() -> None:
    m = _random_pd(np.random.default_rng(0), 4)
    # Cross-implementation (Schur-based scipy.linalg.sqrtm): rtol 1e-10.
    np.testing.assert_allclose(sqrtm_psd(m), np.real(scipy.linalg.sqrtm(m)), rtol=1e-10)


def test_sqrtm_psd_rejects_bad_matrices() -> None:
    with pytest.raises(InvalidArgumentError) as e:
        sqrtm_psd(np.ones((2, 3)))
    assert e.value.argument == "m"
    with pytest.raises(InvalidArgumentError) as e:
        sqrtm_psd([[1.0, 0.0], [0.0, -1.0]])
    assert e.value.argument == "m"


# --- model class --------------------------------------------------------------------------------


def _model_kw() -> dict[str, Any]:
    return {
        "sigma_cov": [[0.09, 0.03], [0.03, 0.04]],
        "gamma": 0.01,
        "A": [0.9, 1.2],
        "k": [0.3, 0.5],
    }


def test_model_book_quotes_matches_function() -> None:
    kw = _model_kw()
    q, mids = [2.0, -1.0], [100.0, 50.0]
    for t_end, horizon in [(None, None), (600 * NS, 600.0 - 12.5)]:
        model = MultiAssetClosedForm(**kw, t_end_ns=t_end)
        assert isinstance(model, BookQuotingModel)
        out = model.book_quotes(positions=q, t_ns=int(12.5 * NS), mids=mids)
        b, a = multi_asset_depths(q=q, horizon_s=horizon, **kw)
        assert len(out) == 2 and all(isinstance(out[i], Quotes) for i in range(2))
        np.testing.assert_allclose(out.bid_depth, b, rtol=1e-13)
        np.testing.assert_allclose(out.ask_depth, a, rtol=1e-13)
        np.testing.assert_allclose(out.bid, np.asarray(mids) - b, rtol=1e-13)
        np.testing.assert_allclose(out.ask, np.asarray(mids) + a, rtol=1e-13)
        np.testing.assert_allclose(out[1].bid, mids[1] - b[1], rtol=1e-13)


def test_model_inventory_bound_and_time() -> None:
    model = MultiAssetClosedForm(**_model_kw(), q_max=[3.0, 5.0], t_end_ns=NS)
    out = model.book_quotes(positions=[3.0, -5.0], t_ns=0, mids=[1.0, 2.0])
    assert not out[0].bid_quoted and out[0].ask_quoted and math.isnan(out[0].bid)
    assert out[1].bid_quoted and not out[1].ask_quoted and math.isnan(out[1].ask)
    assert math.isnan(out.spread[0]) and math.isnan(out.spread[1])
    with pytest.raises(InvalidArgumentError) as e:
        model.book_quotes(positions=[3.5, 0.0], t_ns=0, mids=[1.0, 2.0])
    assert e.value.argument == "positions"
    with pytest.raises(InvalidArgumentError) as e:
        # after the horizon: error, no clamp
        model.book_quotes(positions=[0.0, 0.0], t_ns=2 * NS, mids=[1.0, 2.0])
    assert e.value.argument == "t_ns"
    with pytest.raises(InvalidArgumentError) as e:
        model.book_quotes(positions=[0.0, 0.0], t_ns=0, mids=[1.0])
    assert e.value.argument == "mids"


# --- bad input ------------------------------------------------------------------------------------


_GOOD: dict[str, Any] = {
    "q": [0.0, 1.0],
    "sigma_cov": [[0.09, 0.03], [0.03, 0.04]],
    "gamma": 0.01,
    "A": 0.9,
    "k": 0.3,
}


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("sigma_cov", [[0.09, 0.03], [0.02, 0.04]]),  # asymmetric
        ("sigma_cov", [[0.01, 0.1], [0.1, 0.01]]),  # indefinite
        ("sigma_cov", [[0.09, 0.0, 0.0], [0.0, 0.04, 0.0]]),  # not square
        ("sigma_cov", [[math.nan, 0.0], [0.0, 0.04]]),
        ("gamma", 0.0),
        ("gamma", -1.0),
        ("A", 0.0),
        ("A", [0.9, -0.1]),
        ("A", [0.9, 0.9, 0.9]),  # wrong length
        ("k", -0.3),
        ("k", math.inf),
        ("trade_qty", 0.0),
        ("xi", -0.1),
        ("horizon_s", -1.0),
        ("q", [0.0]),
        ("q", [0.0, math.nan]),
    ],
)
def test_bad_input_names_the_argument(argument: str, value: object) -> None:
    kw = dict(_GOOD)
    kw[argument] = value
    with pytest.raises(InvalidArgumentError) as e:
        multi_asset_depths(**kw)
    assert e.value.argument == argument


def test_model_bad_input() -> None:
    kw = dict(_model_kw())
    kw["q_max"] = [1.0, 0.0]
    with pytest.raises(InvalidArgumentError) as e:
        MultiAssetClosedForm(**kw)
    assert e.value.argument == "q_max"
