"""Tests of the quoting models: published values, limits, cross-implementation, properties.

Reference formulas are written out here independently of ``invrisk.quoting`` (they do not share
code with it); each tolerance is stated beside its number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.quoting import (
    AvellanedaStoikov,
    CarteaJaimungalPenalva,
    GueantClosedForm,
    GueantExact,
    ModelState,
    Quotes,
    QuotingModel,
    avellaneda_stoikov_depths,
    cjp_depths,
    gueant_closed_form_depths,
    solve_gueant,
)

NS = 1_000_000_000

# hftbacktest GLFT tutorial (py-hftbacktest docs, "GLFT market making model and grid trading"):
# ETHUSDT (tick 0.01), σ in ticks/√s, A per s, k per tick, γ = ξ = 0.05, Δ = 1.
HFT = {"sigma": 10.69, "A": 2.986162360812285, "k": 0.04235741115084049, "gamma": 0.05}
# GLFT (2013) figure parameters: σ = 0.3 tick/√s, A = 0.9 /s, k = 0.3 /tick, γ = 0.01 /tick.
FIG = {"sigma": 0.3, "A": 0.9, "k": 0.3, "gamma": 0.01}


# --- (a) reference values --------------------------------------------------------------------


@pytest.mark.parametrize("q", [-5.0, -1.0, 0.0, 1.0, 3.0, 20.0])
def test_closed_form_equals_hftbacktest_glft_tutorial(q: float) -> None:
    # hftbacktest's c1, c2 (Guéant 2017 eqs. 4.6-4.7 with Δ = 1, ξ = γ), written out here.
    sigma, a, k, gamma = HFT["sigma"], HFT["A"], HFT["k"], HFT["gamma"]
    xi, delta = gamma, 1.0
    c1 = 1.0 / (xi * delta) * math.log(1.0 + xi * delta / k)
    c2 = math.sqrt(gamma / (2 * a * delta * k) * (1 + xi * delta / k) ** (k / (xi * delta) + 1))
    half_spread = c1 + delta / 2 * sigma * c2
    skew = sigma * c2
    bid, ask = gueant_closed_form_depths(q=q, xi=xi, trade_qty=delta, **HFT)
    # Same formula, different arithmetic: agreement to rounding (rtol 1e-12).
    np.testing.assert_allclose(
        [bid, ask], [half_spread + skew * q, half_spread - skew * q], rtol=1e-12
    )


@pytest.mark.parametrize("q", [-3.0, 0.0, 2.0])
def test_closed_form_equals_glft_2013_with_unit_trade_and_xi_gamma(q: float) -> None:
    # GLFT (2013) closed form: δ^b ≈ (1/γ)ln(1+γ/k) + ((2q+1)/2)√((σ²γ/(2kA))(1+γ/k)^{1+k/γ}).
    s, a, k, g = FIG["sigma"], FIG["A"], FIG["k"], FIG["gamma"]
    root = math.sqrt(s * s * g / (2 * k * a) * (1 + g / k) ** (1 + k / g))
    c = math.log(1 + g / k) / g
    bid, ask = gueant_closed_form_depths(q=q, **FIG)  # ξ defaults to γ, Δ to 1
    np.testing.assert_allclose(
        [bid, ask], [c + (2 * q + 1) / 2 * root, c - (2 * q - 1) / 2 * root], rtol=1e-12
    )


def test_closed_form_model_b_xi_zero() -> None:
    # Guéant (2017) eq. 4.8-4.9 (ξ = 0): δ^b ≈ 1/k + ((2q+Δ)/2)√(γσ²e/(2AΔk)).
    s, a, k, g, d, q = 0.3, 0.9, 0.3, 0.01, 2.0, 4.0
    root = math.sqrt(g * s * s * math.e / (2 * a * d * k))
    bid, ask = gueant_closed_form_depths(q=q, sigma=s, A=a, k=k, gamma=g, xi=0.0, trade_qty=d)
    np.testing.assert_allclose(
        [bid, ask], [1 / k + (2 * q + d) / 2 * root, 1 / k - (2 * q - d) / 2 * root], rtol=1e-12
    )


def test_avellaneda_stoikov_eqs_29_30() -> None:
    s, q, g, sig, k, tau = 100.0, 3.0, 0.1, 2.0, 1.5, 0.4
    model = AvellanedaStoikov(sigma=sig, gamma=g, k=k, t_end_ns=10 * NS)
    t_ns = int((10 - tau) * NS)
    out = model.quotes(q=q, t_ns=t_ns, state=ModelState(mid=s))
    r = s - q * g * sig**2 * tau  # eq. 29
    spread = g * sig**2 * tau + 2 / g * math.log(1 + g / k)  # eq. 30
    np.testing.assert_allclose([out.bid, out.ask], [r - spread / 2, r + spread / 2], rtol=1e-12)
    assert model.reservation_price(q=q, t_ns=t_ns, state=ModelState(mid=s)) == pytest.approx(r)
    np.testing.assert_allclose([out.bid_depth, out.ask_depth], [s - out.bid, out.ask - s])


# --- (d) limiting cases ----------------------------------------------------------------------


def test_gamma_to_zero_gives_risk_neutral_spread() -> None:
    k = 0.3
    # Spread - 2/k is O(γ) (c = 1/k - γ/(2k²) + ..., √ term O(√γ)·σ): 1e-6 relative at γ=1e-12.
    b, a = gueant_closed_form_depths(q=0.0, sigma=0.3, gamma=1e-12, A=0.9, k=k)
    assert b + a == pytest.approx(2 / k, rel=1e-5)
    b, a = avellaneda_stoikov_depths(q=0.0, tau_s=600.0, sigma=0.3, gamma=1e-12, k=k)
    assert b + a == pytest.approx(2 / k, rel=1e-9)


def test_exact_at_horizon_is_myopic() -> None:
    # τ = 0 and no terminal penalty: v = 1, every interior depth is δ̃*(0) = (1/γ)ln(1+γ/k).
    sol = solve_gueant(q_max=5, **FIG)
    expected = math.log(1 + FIG["gamma"] / FIG["k"]) / FIG["gamma"]
    for q in range(-4, 5):
        bid, ask, _, _ = sol.depths(q=q, tau_s=0.0)
        np.testing.assert_allclose([bid, ask], [expected, expected], rtol=1e-12)


def test_exact_converges_to_closed_form_for_long_horizon() -> None:
    # GLFT (2013) figure parameters, T = 600 s, Q = 30. At 600 s the solution is stationary:
    # it equals the ground-state quotes to 1e-6 tick (measured 3e-8). The closed form is an
    # approximation (the Hamiltonian is replaced by its quadratic expansion and the bound is
    # ignored); near q = 0 it agrees with the exact stationary depths to < 1e-3 tick
    # (measured 1.3e-4 at q = 0 and 6e-4 at |q| = 2), i.e. < 0.05% of the 3.3-tick depth.
    sol = solve_gueant(q_max=30, **FIG)
    for q in (-2.0, -1.0, 0.0, 1.0, 2.0):
        b600, a600, _, _ = sol.depths(q=q, tau_s=600.0)
        binf, ainf, _, _ = sol.depths(q=q, tau_s=None)
        np.testing.assert_allclose([b600, a600], [binf, ainf], atol=1e-6)
        bcf, acf = gueant_closed_form_depths(q=q, **FIG)
        np.testing.assert_allclose([b600, a600], [bcf, acf], atol=1e-3)


def test_inventory_bound_withdraws_side() -> None:
    st0 = ModelState(mid=100.0)
    for model in (
        GueantExact(q_max=3, t_end_ns=600 * NS, **FIG),
        GueantExact(q_max=3, t_end_ns=None, mu=1e-3, **FIG),
        GueantClosedForm(q_max=3, **FIG),
        CarteaJaimungalPenalva(
            phi=1e-4,
            terminal_penalty=0.1,
            k=0.3,
            lambda_bid=0.9,
            lambda_ask=0.9,
            q_max=3,
            t_end_ns=600 * NS,
        ),
    ):
        top = model.quotes(q=3, t_ns=0, state=st0)
        bottom = model.quotes(q=-3, t_ns=0, state=st0)
        assert not top.bid_quoted and top.ask_quoted and math.isnan(top.bid)
        assert math.isfinite(top.ask) and math.isnan(top.bid_depth)
        assert bottom.bid_quoted and not bottom.ask_quoted and math.isnan(bottom.ask)


def test_closed_form_spread_independent_of_q() -> None:
    spreads = [sum(gueant_closed_form_depths(q=q, mu=0.01, **HFT)) for q in range(-50, 51)]
    np.testing.assert_allclose(spreads, spreads[0], rtol=1e-13)


# --- (b) cross-implementation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"q_max": 30},
        {"q_max": 30, "mu": 2e-3},
        {"q_max": 20, "xi": 0.0, "terminal_penalty": 0.05},
        {"q_max": 10, "trade_qty": 0.5, "xi": 0.02},
    ],
)
@pytest.mark.parametrize("tau_s", [0.0, 1.0, 60.0, 600.0])
def test_exact_eigen_equals_expm(kwargs: dict[str, float], tau_s: float) -> None:
    sol = solve_gueant(**FIG, **kwargs)
    v_eig = sol.value(tau_s=tau_s)
    v_exp = sol.value(tau_s=tau_s, method="expm")
    # Two independent routes to exp(-Mτ)v(T) (tridiagonal eigensolver vs Padé): 1e-10 relative.
    np.testing.assert_allclose(v_eig, v_exp, rtol=1e-10)
    n = len(v_exp)
    for j in range(n):
        got = sol.depths(q=float(sol.q_grid[j]), tau_s=tau_s)
        ref = sol.depths_from_value(v_exp, j)
        np.testing.assert_allclose(got[:2], ref[:2], rtol=1e-10, atol=1e-10)
        assert got[2:] == ref[2:]


@pytest.mark.parametrize("tau_s", [0.0, 10.0, 300.0])
def test_cartea_jaimungal_penalva_equals_gueant_model_b(tau_s: float) -> None:
    # CJP (2015) ch. 10 with φ = γσ²/2, λ± = A, terminal α equals Guéant (2017) model B
    # (ξ = 0, Δ = 1, ℓ(q) = αq²). Dense non-symmetric expm vs symmetric eigensolver: 1e-9.
    g, s, a, k, alpha, qm = 0.01, 0.3, 0.9, 0.3, 0.02, 15
    bid, ask = cjp_depths(
        tau_s=tau_s,
        phi=g * s * s / 2,
        terminal_penalty=alpha,
        k=k,
        lambda_bid=a,
        lambda_ask=a,
        q_max=qm,
    )
    sol = solve_gueant(sigma=s, gamma=g, A=a, k=k, xi=0.0, q_max=qm, terminal_penalty=alpha)
    for j, q in enumerate(range(-qm, qm + 1)):
        gb, ga, _, _ = sol.depths(q=q, tau_s=tau_s)
        np.testing.assert_allclose([gb, ga], [bid[j], ask[j]], rtol=1e-9, atol=1e-9)


# --- (c) properties --------------------------------------------------------------------------

pos = st.floats(min_value=1e-3, max_value=10.0)


@settings(max_examples=40, deadline=None)
@given(sigma=pos, gamma=st.floats(1e-3, 1.0), a=pos, k=st.floats(0.05, 5.0))
def test_symmetric_at_zero_inventory(sigma: float, gamma: float, a: float, k: float) -> None:
    st0 = ModelState(mid=50.0)
    p = {"sigma": sigma, "gamma": gamma, "A": a, "k": k}
    models: list[QuotingModel] = [
        GueantClosedForm(q_max=5, **p),
        GueantExact(q_max=5, t_end_ns=30 * NS, **p),
        GueantExact(q_max=5, t_end_ns=None, **p),
        AvellanedaStoikov(sigma=sigma, gamma=gamma, k=k, t_end_ns=30 * NS),
    ]
    for m in models:
        out = m.quotes(q=0, t_ns=0, state=st0)
        # Symmetric about the reservation price (= mid at q = 0): rtol 1e-9.
        assert out.bid_depth == pytest.approx(out.ask_depth, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(1e-3, 1e3), q=st.integers(-4, 4), mu=st.floats(-1e-3, 1e-3))
def test_invariant_to_price_unit(scale: float, q: int, mu: float) -> None:
    # Prices × c: σ → cσ, μ → cμ, k → k/c, γ → γ/c; every depth scales by c (rtol 1e-8).
    def params(c: float) -> dict[str, float]:
        return {"sigma": 0.3 * c, "A": 0.9, "k": 0.3 / c, "gamma": 0.01 / c, "mu": mu * c}

    def depths(c: float) -> np.ndarray:
        p = params(c)
        st0 = ModelState(mid=100.0 * c)
        out = [
            GueantClosedForm(q_max=5, **p).quotes(q=q, t_ns=0, state=st0),
            GueantExact(q_max=5, t_end_ns=100 * NS, **p).quotes(q=q, t_ns=0, state=st0),
            AvellanedaStoikov(
                sigma=p["sigma"], gamma=p["gamma"], k=p["k"], t_end_ns=100 * NS
            ).quotes(q=q, t_ns=0, state=st0),
        ]
        return np.array([[o.bid_depth, o.ask_depth] for o in out], dtype=float)

    np.testing.assert_allclose(depths(scale), scale * depths(1.0), rtol=1e-8, equal_nan=True)


# --- protocol contract and validation --------------------------------------------------------


def _models() -> list[QuotingModel]:
    return [
        AvellanedaStoikov(sigma=0.3, gamma=0.01, k=0.3, t_end_ns=600 * NS),
        GueantClosedForm(q_max=10, **FIG),
        GueantExact(q_max=10, t_end_ns=600 * NS, **FIG),
        GueantExact(q_max=10, t_end_ns=None, **FIG),
        CarteaJaimungalPenalva(
            phi=4.5e-4,
            terminal_penalty=0.01,
            k=0.3,
            lambda_bid=0.9,
            lambda_ask=0.9,
            q_max=10,
            t_end_ns=600 * NS,
        ),
    ]


@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_protocol_contract(model: QuotingModel) -> None:
    assert isinstance(model, QuotingModel)
    out = model.quotes(q=2, t_ns=100 * NS, state=ModelState(mid=1000.0))
    assert isinstance(out, Quotes)
    assert out.bid == pytest.approx(1000.0 - out.bid_depth)
    assert out.ask == pytest.approx(1000.0 + out.ask_depth)
    # Long inventory: the bid moves away and the ask comes closer.
    assert out.bid_depth > out.ask_depth
    with pytest.raises(AttributeError):
        out.bid = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("gamma", 0.0),
        ("gamma", -1.0),
        ("k", 0.0),
        ("A", -0.5),
        ("sigma", -0.1),
        ("sigma", math.nan),
        ("xi", -0.1),
        ("trade_qty", 0.0),
        ("q_max", 0.0),
    ],
)
def test_bad_parameters_name_the_argument(name: str, value: float) -> None:
    kwargs: dict[str, float] = {**FIG, "q_max": 10}
    kwargs[name] = value
    for factory in (GueantClosedForm, solve_gueant):
        with pytest.raises(InvalidArgumentError, match=name) as err:
            factory(**kwargs)
        assert err.value.argument == name
    if name in ("gamma", "k", "sigma"):
        as_kwargs = {"sigma": 0.3, "gamma": 0.01, "k": 0.3, name: value}
        with pytest.raises(InvalidArgumentError, match=name):
            AvellanedaStoikov(t_end_ns=0, **as_kwargs)


@pytest.mark.parametrize("q", [11.0, -10.5, 0.5, math.nan])
def test_inventory_outside_grid_rejected(q: float) -> None:
    st0 = ModelState(mid=1.0)
    for model in _models()[1:]:
        if isinstance(model, GueantClosedForm) and q == 0.5:
            continue  # the closed form is defined off the grid
        with pytest.raises(InvalidArgumentError, match="q"):
            model.quotes(q=q, t_ns=0, state=st0)


def test_time_after_horizon_rejected() -> None:
    model = AvellanedaStoikov(sigma=0.3, gamma=0.01, k=0.3, t_end_ns=NS)
    with pytest.raises(InvalidArgumentError, match="t_ns"):
        model.quotes(q=0, t_ns=2 * NS, state=ModelState(mid=1.0))


def test_q_max_not_multiple_of_trade_qty() -> None:
    with pytest.raises(InvalidArgumentError, match="q_max"):
        solve_gueant(q_max=10.25, trade_qty=0.5, **FIG)


def test_far_tail_equals_expm_and_stationary_tail_is_finite() -> None:
    # Q = 100 with the figure parameters: v at |q| >= ~70 is below eps·max v, where a plain
    # eigen sum cancels; the log-space sum with rebuilt eigenvector tails must still equal the
    # dense expm route (rtol 1e-9) and the bid depth must rise with q (long inventory pushes
    # the bid away). The stationary tail (formerly a ConvergenceError) is finite and monotone;
    # its accuracy is checked in test_glft_large_q.py.
    sol = solve_gueant(q_max=100, **FIG)
    v_exp = sol.value(tau_s=600.0, method="expm")
    bids = []
    for q in range(0, 100, 7):
        got = sol.depths(q=q, tau_s=600.0)
        ref = sol.depths_from_value(v_exp, q + 100)
        np.testing.assert_allclose(got[:2], ref[:2], rtol=1e-9)
        bids.append(got[0])
    assert np.all(np.diff(bids) > 0)
    stationary = [sol.depths(q=q, tau_s=None)[0] for q in range(0, 100, 7)]
    assert np.all(np.isfinite(stationary)) and np.all(np.diff(stationary) > 0)
