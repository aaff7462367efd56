"""Exact GLFT/Guéant depths at large inventory, where ``v_q`` is far below its peak.

The reference integrates the HJB system in log space, ``w = ln v``:
``dw_q/dτ = −M_qq + η (e^{w_{q−1} − w_q} + e^{w_{q+1} − w_q})``, ``w(0) = ln v(T)``, with
``scipy.integrate.solve_ivp`` (Radau, rtol = atol = 1e-12). It shares no code with
``invrisk.quoting.glft`` (no eigendecomposition, no matrix exponential) and never underflows,
so it is valid at every ``|q| <= Q``. Its infinite-horizon value is the same integration run
to τ = 3000 s, by which the non-stationary modes have decayed by more than e^{-38}.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate

from invrisk.quoting import GueantExact, ModelState, solve_gueant

# GLFT (2013) figure parameters (the bench parameters of bench/bench_quoting.py).
FIG = {"sigma": 0.3, "A": 0.9, "k": 0.3, "gamma": 0.01}
Q = 100
NS = 1_000_000_000
TAU_STATIONARY_S = 3000.0


def _log_v_reference(
    *,
    sigma: float,
    gamma: float,
    A: float,
    k: float,
    xi: float,
    mu: float,
    alpha: float,
    tau_s: float,
) -> np.ndarray:
    """``ln v`` at ``τ = tau_s`` before the horizon, written out from Guéant (2017), Δ = 1."""
    q = np.arange(-Q, Q + 1, dtype=np.float64)
    diag = k * gamma * sigma**2 * q**2 / 2 - k * mu * q
    c_xi = math.exp(-1.0) if xi == 0 else (1 + xi / k) ** (-k / xi - 1)
    eta = A * c_xi
    n = len(q)
    rows = np.arange(n)

    def rhs(_t: float, w: np.ndarray) -> np.ndarray:
        out = -diag.copy()
        out[1:] += eta * np.exp(w[:-1] - w[1:])
        out[:-1] += eta * np.exp(w[1:] - w[:-1])
        return out

    def jac(_t: float, w: np.ndarray) -> np.ndarray:
        jm = np.zeros((n, n))
        down = eta * np.exp(w[:-1] - w[1:])
        up = eta * np.exp(w[1:] - w[:-1])
        jm[rows[1:], rows[:-1]] += down
        jm[rows[1:], rows[1:]] -= down
        jm[rows[:-1], rows[1:]] += up
        jm[rows[:-1], rows[:-1]] -= up
        return jm

    w0 = -k * alpha * q**2
    res = scipy.integrate.solve_ivp(
        rhs, (0.0, tau_s), w0, method="Radau", jac=jac, rtol=1e-12, atol=1e-12
    )
    assert res.success
    w_end: np.ndarray = res.y[:, -1]
    return w_end


CASES = {
    "xi_gamma": {"xi": 0.01, "mu": 0.0, "alpha": 0.0},
    "xi_zero": {"xi": 0.0, "mu": 0.0, "alpha": 0.0},
    "drift": {"xi": 0.01, "mu": 2e-3, "alpha": 0.0},
    "xi_zero_drift_penalty": {"xi": 0.0, "mu": -1e-3, "alpha": 0.002},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("tau_s", [30.0, 600.0, None], ids=["tau30", "tau600", "stationary"])
def test_depths_equal_log_space_reference_at_every_q(case: str, tau_s: float | None) -> None:
    c = CASES[case]
    sol = solve_gueant(q_max=Q, xi=c["xi"], mu=c["mu"], terminal_penalty=c["alpha"], **FIG)
    w = _log_v_reference(
        **FIG,
        xi=c["xi"],
        mu=c["mu"],
        alpha=c["alpha"],
        tau_s=TAU_STATIONARY_S if tau_s is None else tau_s,
    )
    k, offset = FIG["k"], sol.offset
    # ln v spans > 35 nats (v_Q < 1e-15 v_peak: below a plain eigen sum's precision) at
    # τ = 30 s and 95-300 nats at τ = 600 s and stationary.
    assert np.ptp(w) > 35.0
    ref_bid = (w[:-1] - w[1:]) / k + offset
    ref_ask = (w[1:] - w[:-1]) / k + offset
    got = np.array([sol.depths(q=float(q), tau_s=tau_s) for q in range(-Q, Q + 1)])
    # Reference error: Radau at rtol/atol 1e-12 on w gives log-ratio errors ~1e-11 (measured
    # <= 1e-12 against expm where expm is accurate), i.e. ~3e-11 tick after dividing by k.
    # Tolerance 1e-8 tick absolute on depths of 3-60 ticks, at every q including |q| = Q.
    np.testing.assert_allclose(got[:-1, 0], ref_bid, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got[1:, 1], ref_ask, rtol=0, atol=1e-8)
    assert np.isnan(got[-1, 0]) and np.isnan(got[0, 1])
    # The whole-grid log value agrees too (up to its additive constant).
    lv = sol.log_value(tau_s=tau_s)
    np.testing.assert_allclose(np.diff(lv), np.diff(w), rtol=0, atol=3e-9)


@pytest.mark.parametrize("tau_s", [30.0, 600.0])
def test_depths_equal_dense_expm_where_expm_is_accurate(tau_s: float) -> None:
    # At Q = 100 and these horizons v stays above 1e-300 of its peak (but below 1e-15 of it at
    # the bound), so the dense expm route (Padé, a nonnegative matrix: no cancellation) is an
    # accurate independent reference at every q. Agreement 1e-9 tick absolute.
    sol = solve_gueant(q_max=Q, **FIG)
    v_exp = sol.value(tau_s=tau_s, method="expm")
    assert v_exp.min() > 0 and v_exp.min() < 1e-15 * v_exp.max()
    for j in range(2 * Q + 1):
        got = sol.depths(q=float(j - Q), tau_s=tau_s)
        ref = sol.depths_from_value(v_exp, j)
        np.testing.assert_allclose(got[:2], ref[:2], rtol=0, atol=1e-9)
        assert got[2:] == ref[2:]


def test_stationary_model_quotes_at_the_bound_without_error() -> None:
    # Formerly a ConvergenceError for |q| >~ 50 at Q = 100. Long inventory: bid depth rises
    # with q, ask depth falls; the side at the bound is withdrawn.
    model = GueantExact(q_max=Q, t_end_ns=None, **FIG)
    st0 = ModelState(mid=1000.0)
    out = [model.quotes(q=q, t_ns=0, state=st0) for q in range(-Q, Q + 1)]
    bids = np.array([o.bid_depth for o in out[:-1]])
    asks = np.array([o.ask_depth for o in out[1:]])
    assert np.all(np.isfinite(bids)) and np.all(np.isfinite(asks))
    assert np.all(np.diff(bids) > 0) and np.all(np.diff(asks) < 0)
    assert not out[-1].bid_quoted and not out[0].ask_quoted


def test_ground_state_satisfies_eigen_equation_in_log_space() -> None:
    # (M_qq − λ0) = η (v_{q−1}/v_q + v_{q+1}/v_q) at every interior q, from the log values:
    # a residual check at relative 1e-10 that does not need v itself (which underflows).
    sol = solve_gueant(q_max=Q, mu=1e-3, **FIG)
    lv = sol.log_value(tau_s=None)
    eta = -float(sol.offdiag[0])
    lhs = sol.diag[1:-1] - sol.eigvals[0]
    rhs = eta * (np.exp(lv[:-2] - lv[1:-1]) + np.exp(lv[2:] - lv[1:-1]))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
