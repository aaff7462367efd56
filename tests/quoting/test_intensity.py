"""Tests of the fill intensities and their risk-neutral Hamiltonians.

The references do not share code with ``invrisk.quoting.intensity``: the supremum
``H(p) = sup_δ λ(δ)(δ − p)`` is found by scipy's bounded scalar minimiser on the rate written
out here, and α₂ = H''(0) by central differences of that numerical H.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.intensity import ExponentialIntensity, Intensity, LogisticIntensity


def _numeric_sup(rate, p: float, scale: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(argmax, max) of λ(δ)(δ − p) over δ in [p, |p| + 60·scale] (the maximiser is > p)."""
    res = minimize_scalar(
        lambda d: -rate(d) * (d - p),
        bounds=(p, abs(p) + 60.0 * scale),
        method="bounded",
        options={"xatol": 1e-13 * scale},
    )
    return float(res.x), float(-res.fun)


def _logistic_rate(lam: float, a: float, k: float):  # type: ignore[no-untyped-def]
    return lambda d: lam / (1.0 + math.exp(a + k * d))


CASES = [(3.0, 0.7, 2.0), (0.01, -1.5, 0.3), (7560.0 / 31_536_000, 0.7, 150.0 / 4.0)]


@pytest.mark.parametrize(("lam", "a", "k"), CASES)
@pytest.mark.parametrize("p", [-3.0, -0.4, 0.0, 0.25, 2.0])
def test_logistic_optimal_depth_and_hamiltonian_match_numerical_supremum(
    lam: float, a: float, k: float, p: float
) -> None:
    model = LogisticIntensity(lam=lam, a=a, k=k)
    arg, sup = _numeric_sup(_logistic_rate(lam, a, k), p, 1.0 / k)
    # bounded Brent: the argmax to ~1e-8 of the scale (flat maximum), the max to ~1e-12
    np.testing.assert_allclose(model.optimal_depth(p), arg, rtol=0, atol=1e-6 / k)
    np.testing.assert_allclose(model.hamiltonian(p), sup, rtol=1e-10)


@pytest.mark.parametrize(("lam", "a", "k"), CASES)
def test_logistic_curvature_is_second_derivative_of_numerical_h(
    lam: float, a: float, k: float
) -> None:
    rate = _logistic_rate(lam, a, k)
    h = 1e-3 / k
    hm, h0, hp = (_numeric_sup(rate, p, 1.0 / k)[1] for p in (-h, 0.0, h))
    fd = (hp - 2.0 * h0 + hm) / (h * h)
    # central difference: O(h²) truncation ~1e-6 relative, plus the sup's rounding / h²
    np.testing.assert_allclose(LogisticIntensity(lam=lam, a=a, k=k).curvature(), fd, rtol=1e-4)


def test_exponential_closed_forms_match_numerical_supremum() -> None:
    A, k = 0.9, 0.3
    model = ExponentialIntensity(A=A, k=k)
    for p in (-2.0, 0.0, 1.5):
        arg, sup = _numeric_sup(lambda d: A * math.exp(-k * d), p, 1.0 / k)
        np.testing.assert_allclose(model.optimal_depth(p), arg, atol=1e-6 / k)
        np.testing.assert_allclose(model.hamiltonian(p), sup, rtol=1e-10)
    np.testing.assert_allclose(model.curvature(), k * A / math.e, rtol=1e-15)
    np.testing.assert_allclose(model.rate(2.0), A * math.exp(-2.0 * k), rtol=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(-20.0, 20.0),
    k=st.floats(1e-3, 1e3),
    kp=st.floats(-2000.0, 200.0),
)
def test_logistic_first_order_condition_holds_everywhere(a: float, k: float, kp: float) -> None:
    """y = a + kδ̃ solves y − e^{−y} = 1 + a + kp, including the far (asymptotic) branch."""
    p = kp / k
    model = LogisticIntensity(lam=1.0, a=a, k=k)
    y = a + k * float(model.optimal_depth(p)[0])
    c = 1.0 + a + k * p
    lhs = y - math.exp(-y) if y > -700 else -math.inf
    # absolute error ~ 1e-4 in y on the asymptotic branch (c < -700) is ~ e^{-y}·1e-4 in lhs
    tol = 1e-9 * max(1.0, abs(c)) if c > -700 else 2e-4 * abs(c)
    assert abs(lhs - c) <= tol
    # the optimal depth is the quote that maximises expected edge, so it lies beyond p
    assert model.optimal_depth(p)[0] > p


def test_from_vega_and_broadcast() -> None:
    vegas = np.array([2.0, 4.0, 8.0])
    lg = LogisticIntensity.from_vega(lam=[1.0, 2.0, 3.0], alpha=0.7, beta=150.0, vegas=vegas)
    np.testing.assert_allclose(lg.k, 150.0 / vegas, rtol=1e-15)
    assert lg.n == 3 and isinstance(lg, Intensity)
    wide = ExponentialIntensity(A=0.5, k=[1.0, 2.0]).broadcast(2)
    np.testing.assert_array_equal(wide.A, [0.5, 0.5])
    assert isinstance(wide, Intensity)
    with pytest.raises(InvalidArgumentError):
        ExponentialIntensity(A=[1.0, 2.0], k=[1.0, 2.0]).broadcast(3)


@pytest.mark.parametrize(
    ("build", "arg"),
    [
        (lambda: ExponentialIntensity(A=0.0, k=1.0), "A"),
        (lambda: ExponentialIntensity(A=1.0, k=-1.0), "k"),
        (lambda: ExponentialIntensity(A=[1.0, 2.0], k=[1.0, 2.0, 3.0]), "intensity"),
        (lambda: LogisticIntensity(lam=1.0, a=math.nan, k=1.0), "a"),
        (lambda: LogisticIntensity(lam=-1.0, a=0.0, k=1.0), "lam"),
        (lambda: LogisticIntensity.from_vega(lam=1.0, alpha=0.7, beta=0.0, vegas=[1.0]), "beta"),
        (lambda: LogisticIntensity.from_vega(lam=1.0, alpha=0.7, beta=1.0, vegas=[0.0]), "vegas"),
    ],
)
def test_bad_parameters_name_the_argument(build, arg: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgumentError) as info:
        build()
    assert info.value.argument == arg
