"""Tests of the vega-book option market-making quotes (Baldacci, Bergault & Guéant 2021).

References used here do not share code with ``invrisk.quoting.options_mm``: the HJB residual
is written out from the paper's equation with a quadratic Hamiltonian, the Riccati ODE is
integrated numerically with scipy, and the one-option case is compared with the separate
Guéant (2017) closed form in ``invrisk.quoting.glft`` after the change of variables
``V = q V¹`` (inventory in vega units), ``σ_asset = V¹ ξ / 2``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from invrisk.data.synthetic import synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.pricing import black76
from invrisk.quoting.base import BookQuotingModel
from invrisk.quoting.glft import gueant_closed_form_depths
from invrisk.quoting.intensity import ExponentialIntensity
from invrisk.quoting.options_mm import (
    VegaBookModel,
    VegaBookQuotes,
    vega_book_coefficients,
    vega_book_quotes,
)

NS = 1_000_000_000
SPY = 365.0 * 86_400.0  # seconds per year, written out independently of invrisk.units

# A small book in USD: vegas per 1.0 vol, k per USD, A per second, γ per USD.
BOOK = {
    "mids": np.array([1200.0, 800.0, 350.0, 90.0]),
    "vegas": np.array([9000.0, 12000.0, 6000.0, 1500.0]),
    "sizes": np.array([1.0, 2.0, 1.0, 5.0]),
    "A": np.array([0.02, 0.05, 0.03, 0.01]),
    "k": np.array([0.01, 0.008, 0.02, 0.05]),
}
RISK = {"gamma": 1e-3, "vol_of_vol": 1.5, "horizon_s": 3600.0, "vega_limit": 1e6}


def _quotes(portfolio_vega: float = 0.0, **over: object) -> VegaBookQuotes:
    kw: dict[str, object] = {**BOOK, **RISK, "portfolio_vega": portfolio_vega}
    kw.update(over)
    A, k = kw.pop("A"), kw.pop("k")
    kw.setdefault("intensity", ExponentialIntensity(A=A, k=k))  # type: ignore[arg-type]
    return vega_book_quotes(**kw)  # type: ignore[arg-type]


# --- (c) properties: symmetry, direction, vega scaling -----------------------------------------


def test_zero_vega_book_quotes_symmetric_around_each_mid() -> None:
    q = _quotes(0.0)
    np.testing.assert_allclose(q.bid_depth, q.ask_depth, rtol=0, atol=0)
    np.testing.assert_allclose(0.5 * (q.bid + q.ask), BOOK["mids"], rtol=1e-15)
    assert q.a > 0.0
    assert q.b == 0.0
    assert np.all(q.bid_quoted) and np.all(q.ask_quoted)


def test_long_vega_lowers_bids_and_asks_in_proportion_to_each_vega() -> None:
    q0, q1 = _quotes(0.0), _quotes(2e5)
    d_bid = q1.bid_depth - q0.bid_depth
    d_ask = q1.ask_depth - q0.ask_depth
    assert np.all(d_bid > 0.0)  # lower bids
    assert np.all(d_ask < 0.0)  # cheaper asks
    np.testing.assert_allclose(d_bid, -d_ask, rtol=1e-12)
    ratio = d_bid / BOOK["vegas"]  # the shift is V^i × (2aV): the same ratio for every option
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    np.testing.assert_allclose(ratio[0], 2.0 * q1.a * 2e5, rtol=1e-12)
    np.testing.assert_allclose(q1.spread, q0.spread, rtol=1e-12)  # spread independent of V
    # short vega mirrors long vega
    qm = _quotes(-2e5)
    np.testing.assert_allclose(qm.bid_depth, q1.ask_depth, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    v=st.floats(-5e5, 5e5),
    gamma=st.floats(0.0, 1e-2),
    horizon=st.floats(0.0, 1e6),
)
def test_property_mirror_and_monotone(v: float, gamma: float, horizon: float) -> None:
    qp = _quotes(v, gamma=gamma, horizon_s=horizon)
    qm = _quotes(-v, gamma=gamma, horizon_s=horizon)
    np.testing.assert_allclose(qp.bid_depth, qm.ask_depth, rtol=1e-12, atol=1e-12)
    qh = _quotes(v + 1e4, gamma=gamma, horizon_s=horizon)
    assert np.all(qh.bid_depth >= qp.bid_depth)
    assert np.all(qh.ask_depth <= qp.ask_depth)


# --- (d) limiting cases -------------------------------------------------------------------------


def test_gamma_zero_gives_risk_neutral_model_b_depth_one_over_k() -> None:
    q = _quotes(3e5, gamma=0.0)
    np.testing.assert_array_equal(q.bid_depth, 1.0 / BOOK["k"])
    np.testing.assert_array_equal(q.ask_depth, 1.0 / BOOK["k"])
    q_small = _quotes(3e5, gamma=1e-14)  # continuity as γ → 0; tolerance: a ∝ γ
    np.testing.assert_allclose(q_small.bid_depth, 1.0 / BOOK["k"], rtol=1e-8)


def test_zero_horizon_and_zero_vol_of_vol_give_one_over_k() -> None:
    for over in ({"horizon_s": 0.0}, {"vol_of_vol": 0.0}):
        q = _quotes(3e5, **over)
        np.testing.assert_array_equal(q.bid_depth, 1.0 / BOOK["k"])


@pytest.mark.parametrize("q_contracts", [-3.0, -1.0, 0.0, 2.0, 4.0])
def test_one_option_long_horizon_equals_gueant_closed_form(q_contracts: float) -> None:
    """Change of variables: V = q V¹; the option's price diffuses with σ = V¹ ξ/2 per √yr.

    Guéant (2017) eqs. (4.6)–(4.9), model B (ξ_G = 0), Δ = z, σ per √s = V¹ ξ / (2 √SPY).
    Our a(τ) → √(ψ/(4S)) as τ → ∞ (tanh → 1), which is that closed form exactly.
    """
    vega, z, A, k, gamma, xi = 8000.0, 2.0, 0.05, 0.01, 1e-3, 1.2
    q = vega_book_quotes(
        mids=[500.0],
        vegas=[vega],
        sizes=z,
        intensity=ExponentialIntensity(A=A, k=k),
        gamma=gamma,
        vol_of_vol=xi,
        horizon_s=1e9,
        portfolio_vega=q_contracts * vega,
        vega_limit=1e9,
    )
    sigma = vega * xi / 2.0 / math.sqrt(SPY)
    bid, ask = gueant_closed_form_depths(
        q=q_contracts, sigma=sigma, gamma=gamma, A=A, k=k, xi=0.0, trade_qty=z
    )
    np.testing.assert_allclose([q.bid_depth[0], q.ask_depth[0]], [bid, ask], rtol=1e-12)


# --- (b) cross-implementation: the derivation and the closed form ------------------------------


def _quadratic_h(p: np.ndarray, A: np.ndarray, k: np.ndarray) -> np.ndarray:
    e = math.e
    out: np.ndarray = A / (k * e) - (A / e) * p + 0.5 * (k * A / e) * p * p
    return out


def test_closed_form_solves_the_hjb_with_quadratic_hamiltonian() -> None:
    """Residual of 0 = ∂_t v + μV − (γξ²/8)V² + Σ z[H(p^b) + H(p^a)] is V-independent.

    (The constant c(t) of the ansatz absorbs the V-free part.) ∂_t v by central differences.
    """
    mu = 2e-7
    psi = RISK["gamma"] * RISK["vol_of_vol"] ** 2 / 8.0 / SPY
    vegas, z, A, k = BOOK["vegas"], BOOK["sizes"], BOOK["A"], BOOK["k"]
    tau, h = 5000.0, 1.0

    def v_of(tau_s: float, V: float) -> float:
        a, b = vega_book_coefficients(
            vegas=vegas,
            sizes=z,
            intensity=ExponentialIntensity(A=A, k=k),
            gamma=RISK["gamma"],
            vol_of_vol=RISK["vol_of_vol"],
            horizon_s=tau_s,
            vol_drift_per_s=mu,
        )
        return -a * V * V - b * V

    def residual(V: float) -> float:
        dv_dt = -(v_of(tau + h, V) - v_of(tau - h, V)) / (2 * h)  # t = T − τ
        p_b = (
            v_of(tau, V)
            - np.array([v_of(tau, V + zi * vi) for zi, vi in zip(z, vegas, strict=True)])
        ) / z
        p_a = (
            v_of(tau, V)
            - np.array([v_of(tau, V - zi * vi) for zi, vi in zip(z, vegas, strict=True)])
        ) / z
        ex = np.sum(z * (_quadratic_h(p_b, A, k) + _quadratic_h(p_a, A, k)))
        return dv_dt + mu * V - psi * V * V + float(ex)

    r0 = residual(0.0)
    scale = psi * 1e5**2  # size of the running penalty at |V| = 1e5
    for V in (-1e5, -3e4, 4e4, 1e5):
        assert abs(residual(V) - r0) < 1e-6 * scale


def test_coefficients_match_numerical_riccati_integration() -> None:
    mu = -3e-7
    vegas, z, A, k = BOOK["vegas"], BOOK["sizes"], BOOK["A"], BOOK["k"]
    S = float(np.sum(z * k * A / math.e * vegas**2))
    psi = RISK["gamma"] * RISK["vol_of_vol"] ** 2 / 8.0 / SPY

    # in τ: da/dτ = ψ − 4 S a², db/dτ = −μ − 4 S a b
    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [psi - 4 * S * y[0] ** 2, -mu - 4 * S * y[0] * y[1]]

    taus = [10.0, 600.0, 3600.0, 86_400.0]
    sol = solve_ivp(
        rhs, (0, taus[-1]), [0.0, 0.0], t_eval=taus, rtol=1e-11, atol=1e-30, method="LSODA"
    )
    for j, tau in enumerate(taus):
        a, b = vega_book_coefficients(
            vegas=vegas,
            sizes=z,
            intensity=ExponentialIntensity(A=A, k=k),
            gamma=RISK["gamma"],
            vol_of_vol=RISK["vol_of_vol"],
            horizon_s=tau,
            vol_drift_per_s=mu,
        )
        np.testing.assert_allclose([a, b], sol.y[:, j], rtol=1e-7)  # ODE solver tolerance


@pytest.mark.parametrize("ell_over_a_inf", [0.0, 0.3, 1.0, 4.0])
def test_terminal_penalty_matches_numerical_riccati_integration(ell_over_a_inf: float) -> None:
    """a(0) = ℓ below, at and above the stationary a_∞ = √(ψ/(4S)); b with drift."""
    mu = 4e-7
    vegas, z, A, k = BOOK["vegas"], BOOK["sizes"], BOOK["A"], BOOK["k"]
    S = float(np.sum(z * k * A / math.e * vegas**2))
    psi = RISK["gamma"] * RISK["vol_of_vol"] ** 2 / 8.0 / SPY
    ell = ell_over_a_inf * math.sqrt(psi / (4.0 * S))

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [psi - 4 * S * y[0] ** 2, -mu - 4 * S * y[0] * y[1]]

    taus = [1.0, 600.0, 3600.0, 86_400.0, 2e6]
    sol = solve_ivp(
        rhs, (0, taus[-1]), [ell, 0.0], t_eval=taus, rtol=1e-11, atol=1e-30, method="LSODA"
    )
    for j, tau in enumerate(taus):
        a, b = vega_book_coefficients(
            vegas=vegas,
            sizes=z,
            intensity=ExponentialIntensity(A=A, k=k),
            gamma=RISK["gamma"],
            vol_of_vol=RISK["vol_of_vol"],
            horizon_s=tau,
            vol_drift_per_s=mu,
            terminal_penalty=ell,
        )
        np.testing.assert_allclose([a, b], sol.y[:, j], rtol=1e-7)  # ODE solver tolerance
    a0, b0 = vega_book_coefficients(
        vegas=vegas,
        sizes=z,
        intensity=ExponentialIntensity(A=A, k=k),
        gamma=RISK["gamma"],
        vol_of_vol=RISK["vol_of_vol"],
        horizon_s=0.0,
        vol_drift_per_s=mu,
        terminal_penalty=ell,
    )
    assert a0 == ell and b0 == 0.0


def test_terminal_penalty_without_running_risk_is_constant() -> None:
    """γ = 0: a(τ) solves da/dτ = −4Sa², a = ℓ/(1 + 4Sℓτ) (the penalty decays with time)."""
    vegas, z, A, k = BOOK["vegas"], BOOK["sizes"], BOOK["A"], BOOK["k"]
    S = float(np.sum(z * k * A / math.e * vegas**2))
    ell, tau = 1e-9, 3600.0
    a, _ = vega_book_coefficients(
        vegas=vegas,
        sizes=z,
        intensity=ExponentialIntensity(A=A, k=k),
        gamma=0.0,
        vol_of_vol=1.0,
        horizon_s=tau,
        terminal_penalty=ell,
    )
    np.testing.assert_allclose(a, ell / (1.0 + 4.0 * S * ell * tau), rtol=1e-14)


# --- the inventory bound -------------------------------------------------------------------------


def test_sides_beyond_the_vega_limit_are_withdrawn() -> None:
    lim = 1e5
    step = BOOK["sizes"] * BOOK["vegas"]  # [9000, 24000, 6000, 7500]
    V = lim - 8000.0
    q = _quotes(V, vega_limit=lim)
    expect_bid = V + step <= lim
    np.testing.assert_array_equal(q.bid_quoted, expect_bid)
    assert list(expect_bid) == [False, False, True, True]
    assert np.all(q.ask_quoted)
    assert np.all(np.isnan(q.bid[~expect_bid])) and np.all(np.isnan(q.bid_depth[~expect_bid]))
    assert np.all(np.isfinite(q.bid[expect_bid]))
    # mirror: short at the bound withdraws the asks
    qs = _quotes(-V, vega_limit=lim)
    np.testing.assert_array_equal(qs.ask_quoted, expect_bid)
    assert np.all(qs.bid_quoted)


def test_outside_the_limit_only_risk_reducing_sides_are_quoted() -> None:
    q = _quotes(2e5, vega_limit=1e5)
    assert not np.any(q.bid_quoted)
    assert np.all(q.ask_quoted)  # each ask reduces |V|


# --- model class ---------------------------------------------------------------------------------


def test_model_matches_function_and_checks_time() -> None:
    t_end = 1_700_000_000 * NS
    model = VegaBookModel(
        vegas=BOOK["vegas"],
        sizes=BOOK["sizes"],
        intensity=ExponentialIntensity(A=BOOK["A"], k=BOOK["k"]),
        gamma=RISK["gamma"],
        vol_of_vol=RISK["vol_of_vol"],
        vega_limit=RISK["vega_limit"],
        t_end_ns=t_end,
    )
    pos = np.array([3.0, -1.0, 2.0, 10.0])
    V = model.portfolio_vega(pos)
    np.testing.assert_allclose(V, float(pos @ BOOK["vegas"]), rtol=1e-15)
    got = model.quotes(portfolio_vega=V, t_ns=t_end - 3600 * NS, mids=BOOK["mids"])
    ref = _quotes(V)
    np.testing.assert_allclose(got.bid, ref.bid, rtol=1e-15)
    np.testing.assert_allclose(got.ask, ref.ask, rtol=1e-15)
    assert isinstance(model, BookQuotingModel) and model.n_instruments == 4
    via_positions = model.book_quotes(positions=pos, t_ns=t_end - 3600 * NS, mids=BOOK["mids"])
    np.testing.assert_array_equal(via_positions.bid, got.bid)
    assert via_positions[2].ask == got.ask[2]
    with pytest.raises(InvalidArgumentError, match="t_ns"):
        model.quotes(portfolio_vega=V, t_ns=t_end + 1, mids=BOOK["mids"])
    with pytest.raises(InvalidArgumentError, match="positions"):
        model.book_quotes(positions=pos[:3], t_ns=t_end, mids=BOOK["mids"])
    with pytest.raises(ValueError):
        model.vegas[0] = 1.0  # frozen arrays


# --- a 100-option book on a synthetic smile -------------------------------------------------------


def test_hundred_option_book_from_black76_vegas() -> None:
    chain = synthetic_chain()  # 9 expiries × 21 strikes × call/put; the first 100 rows
    rows = slice(0, 100)
    g = black76(
        forward=chain.forward_usd[rows],
        strike=chain.strike[rows],
        t_yr=chain.t_yr[rows],
        vol=chain.mark_iv[rows],
        option_type=chain.right[rows],
    )
    mids, vegas = np.asarray(g.price), np.asarray(g.vega)
    assert mids.shape == (100,) and np.all(vegas > 0.0)
    k = 1.0 / (0.01 * vegas + 1.0)  # half-spread ≈ 1 vol point of vega, per USD
    q0 = vega_book_quotes(
        mids=mids,
        vegas=vegas,
        sizes=1.0,
        intensity=ExponentialIntensity(A=0.01, k=k),
        gamma=1e-4,
        vol_of_vol=1.0,
        horizon_s=3600.0,
        portfolio_vega=0.0,
        vega_limit=5e5,
    )
    np.testing.assert_allclose(q0.bid_depth, q0.ask_depth, rtol=0, atol=0)
    q1 = vega_book_quotes(
        mids=mids,
        vegas=vegas,
        sizes=1.0,
        intensity=ExponentialIntensity(A=0.01, k=k),
        gamma=1e-4,
        vol_of_vol=1.0,
        horizon_s=3600.0,
        portfolio_vega=2e5,
        vega_limit=5e5,
    )
    assert np.all(np.isfinite(q1.bid)) and np.all(np.isfinite(q1.ask))
    shift = q0.ask - q1.ask  # asks cheaper, more so for high-vega options
    assert np.all(shift > 0.0)
    order = np.argsort(vegas)
    assert np.all(np.diff(shift[order]) >= -1e-9)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("over", "arg"),
    [
        ({"vegas": np.array([1.0, -2.0, 3.0, 4.0])}, "vegas"),
        ({"vegas": np.array([1.0, np.nan, 3.0, 4.0])}, "vegas"),
        ({"vegas": np.ones((2, 2))}, "vegas"),
        ({"vegas": np.array([])}, "vegas"),
        ({"sizes": np.array([1.0, 0.0, 1.0, 1.0])}, "sizes"),
        ({"sizes": np.ones(3)}, "sizes"),
        ({"A": -1.0}, "A"),
        ({"k": np.array([1.0, 1.0, np.inf, 1.0])}, "k"),
        ({"mids": np.ones(5)}, "mids"),
        ({"mids": np.array([1.0, np.nan, 1.0, 1.0])}, "mids"),
        ({"gamma": -1e-3}, "gamma"),
        ({"vol_of_vol": float("nan")}, "vol_of_vol"),
        ({"horizon_s": -1.0}, "horizon_s"),
        ({"vega_limit": 0.0}, "vega_limit"),
        ({"portfolio_vega": float("inf")}, "portfolio_vega"),
        ({"vol_drift_per_s": float("nan")}, "vol_drift_per_s"),
        ({"terminal_penalty": -1.0}, "terminal_penalty"),
        ({"intensity": object()}, "intensity"),
    ],
)
def test_bad_input_names_the_argument(over: dict[str, object], arg: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _quotes(**{"portfolio_vega": 0.0, **over})  # type: ignore[arg-type]
    assert info.value.argument == arg
