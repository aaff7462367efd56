"""Black–Scholes–Merton and Black-76 prices and Greeks against QuantLib.

Reference implementation: QuantLib-Python **1.44** (``QuantLib.__version__ == "1.44"``), which
shares no code with invrisk:

* BSM: ``BlackScholesMertonProcess`` + ``AnalyticEuropeanEngine``, flat ``FlatForward`` rate and
  dividend curves and a ``BlackConstantVol``, all ``Actual365Fixed``. QuantLib's theta is per
  year (-dV/dT, like ours) and its rho is at a fixed dividend yield (like our BSM rho).
* Black-76: the same engine with dividend yield = rate and spot = forward, so that the forward
  S·exp((r - q)T) is the given forward whatever the rate; our Black rho (at a fixed forward)
  is then QuantLib's ``rho + dividendRho`` (moving r and q together leaves the forward fixed).
  Prices also against ``blackFormula``.
* Vanna and volga: ``BlackCalculator.vanna(spot, T)`` and ``volga(T)``. QuantLib 1.44's volga is
  ``vega · d1 · d2 / stdDev`` with ``stdDev = σ√T`` while vega is per unit of σ, so it equals
  ∂²V/∂σ² / √T; we compare with ``volga · √T`` (``test_properties.py`` confirms our volga against
  finite differences of vega). Charm is not in QuantLib: see ``test_properties.py``.

QuantLib's engine works on whole dates: the evaluation date is 2024-01-15 and every maturity is
a whole number of days after it, so T = days / 365 exactly in both libraries.

Tolerance (written beside each comparison): 1e-10 relative, with an absolute floor of 16 ulps of
the Greek's natural scale. The floor is needed only where the value is ~0 on that scale:
QuantLib evaluates a put's N(-d) as 1 - N(d) (``BlackCalculator``'s alpha/beta), so it resolves
a far out-of-the-money put only to a few ulps of its largest term, and its normal density loses
relative accuracy for |d| > 30 (values below 1e-190 of the scale; our value is confirmed there
against a 50-digit computation below); its theta recovers the rates as -ln(discount)/T, which
costs it ~1 ulp/T of each rate (the theta scale therefore includes value/T). The tests assert
that the floor is only ever used where |value| < 1e-6 of its scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, getcontext

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813 (QuantLib's documented alias)

from invrisk.pricing import black76, black76_price, bsm, bsm_price

QL_VERSION = "1.44"
EPS = np.finfo(np.float64).eps
RTOL = 1e-10
FLOOR_ULPS = 16.0
N_OPTIONS = 2_400
SEED = 20_240_115


@dataclass(frozen=True)
class Sample:
    """Random European options; ``k`` is drawn as a multiple of the forward ``f``."""

    days: np.ndarray
    t: np.ndarray
    s: np.ndarray
    f: np.ndarray
    k: np.ndarray
    vol: np.ndarray
    cp: np.ndarray
    r: np.ndarray
    q: np.ndarray


def make_sample(seed: int, n: int) -> Sample:
    rng = np.random.default_rng(seed)
    # T from 1 day to 3 years, log-uniform so that short expiries are well represented, with
    # both ends included exactly.
    days = np.rint(np.exp(rng.uniform(0.0, np.log(3 * 365), n))).astype(np.int64)
    days[:2] = [1, 3 * 365]
    t = days / 365.0
    moneyness = np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))  # K / F
    vol = np.exp(rng.uniform(np.log(0.05), np.log(3.0), n))
    cp = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    r = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(-0.02, 0.10, n))
    q = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(-0.05, 0.10, n))
    s = np.exp(rng.uniform(0.0, np.log(1e5), n))
    f = s * np.exp((r - q) * t)
    return Sample(days, t, s, f, moneyness * f, vol, cp, r, q)


@pytest.fixture(scope="module")
def sample() -> Sample:
    return make_sample(SEED, N_OPTIONS)


@pytest.fixture(scope="module")
def evaluation_date() -> Iterator[ql.Date]:
    settings = ql.Settings.instance()
    previous = settings.evaluationDate
    today = ql.Date(15, ql.January, 2024)
    settings.evaluationDate = today
    yield today
    settings.evaluationDate = previous


def quantlib_engine_greeks(
    today: ql.Date,
    days: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    vol: np.ndarray,
    cp: np.ndarray,
    rate: np.ndarray,
    div_yield: np.ndarray,
) -> dict[str, np.ndarray]:
    """AnalyticEuropeanEngine results for each option (flat curves, Actual365Fixed)."""
    dc = ql.Actual365Fixed()
    s_q, r_q, q_q, v_q = (ql.SimpleQuote(0.0) for _ in range(4))
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(s_q),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(q_q), dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(r_q), dc)),
        ql.BlackVolTermStructureHandle(
            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(v_q), dc)
        ),
    )
    engine = ql.AnalyticEuropeanEngine(process)
    names = ("price", "delta", "gamma", "vega", "theta", "rho", "dividend_rho")
    out = {name: np.empty(days.shape[0]) for name in names}
    for i in range(days.shape[0]):
        s_q.setValue(float(spot[i]))
        r_q.setValue(float(rate[i]))
        q_q.setValue(float(div_yield[i]))
        v_q.setValue(float(vol[i]))
        kind = ql.Option.Call if cp[i] > 0 else ql.Option.Put
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(kind, float(strike[i])),
            ql.EuropeanExercise(today + int(days[i])),
        )
        option.setPricingEngine(engine)
        out["price"][i] = option.NPV()
        out["delta"][i] = option.delta()
        out["gamma"][i] = option.gamma()
        out["vega"][i] = option.vega()
        out["theta"][i] = option.theta()
        out["rho"][i] = option.rho()
        out["dividend_rho"][i] = option.dividendRho()
    return out


def quantlib_calculator(
    forward: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    vol: np.ndarray,
    cp: np.ndarray,
    discount: np.ndarray,
    spot: np.ndarray,
) -> dict[str, np.ndarray]:
    """BlackCalculator vanna (w.r.t. ``spot``), volga·√T and blackFormula prices."""
    n = forward.shape[0]
    out = {name: np.empty(n) for name in ("vanna", "volga", "black_formula")}
    for i in range(n):
        kind = ql.Option.Call if cp[i] > 0 else ql.Option.Put
        std_dev = float(vol[i] * np.sqrt(t[i]))
        calc = ql.BlackCalculator(
            ql.PlainVanillaPayoff(kind, float(strike[i])),
            float(forward[i]),
            std_dev,
            float(discount[i]),
        )
        out["vanna"][i] = calc.vanna(float(spot[i]), float(t[i]))
        # QuantLib 1.44 divides by stdDev = σ√T instead of σ (see the module docstring).
        out["volga"][i] = calc.volga(float(t[i])) * np.sqrt(t[i])
        out["black_formula"][i] = ql.blackFormula(
            kind, float(strike[i]), float(forward[i]), std_dev, float(discount[i])
        )
    return out


def natural_scales(smp: Sample, s: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """Magnitude of each Greek's largest term, on which the absolute floor is measured."""
    eq = np.exp(-q * smp.t)
    er = np.exp(-smp.r * smp.t)
    sq = np.sqrt(smp.t)
    value = s * eq + smp.k * er
    return {
        "price": value,
        "delta": eq,
        "gamma": eq / (s * smp.vol * sq),
        "vega": s * eq * sq,
        # QuantLib's theta recovers r and q as -ln(discount)/T, an absolute error of ~ulp/T in
        # each rate, hence value/T (an ITM theta ~ r·V with r = 2.6e-4, T = 1 day is off by
        # 2e-10 relative in QuantLib; ours equals r·D·(F - K) computed in 40 digits).
        "theta": s * eq * smp.vol / (2 * sq) + value / smp.t,
        "rho": smp.t * value,
        "vanna": eq / smp.vol,
        "volga": s * eq * sq / smp.vol,
    }


def assert_matches_quantlib(
    name: str, ours: np.ndarray, ref: np.ndarray, scale: np.ndarray
) -> None:
    """|ours - ref| <= 1e-10 |ref| + 16 ulp · scale, the floor used only where ref ~ 0."""
    err = np.abs(ours - ref)
    floor = FLOOR_ULPS * EPS * scale
    tol = RTOL * np.abs(ref) + floor
    bad = err > tol
    assert not bad.any(), (
        f"{name}: {bad.sum()} of {ref.size} differ from QuantLib {QL_VERSION} beyond "
        f"1e-10 rel + 16 ulp of scale; worst index {int(np.argmax(err / tol))}"
    )
    floored = err > RTOL * np.abs(ref)
    assert np.all(np.abs(ref[floored]) < 1e-6 * scale[floored]), (
        f"{name}: the absolute floor was needed where the value is not ~0 on its scale"
    )


def test_quantlib_is_the_recorded_version() -> None:
    # The reference values and the volga convention above were checked against this version;
    # on an upgrade re-check them and update tests/reference/README.md.
    assert ql.__version__ == QL_VERSION


def test_sample_covers_the_required_domain(sample: Sample) -> None:
    m = sample.k / sample.f
    assert sample.days.min() == 1 and sample.days.max() == 3 * 365
    assert 0.5 <= m.min() < 0.55 and 1.9 < m.max() <= 2.0
    assert 0.05 <= sample.vol.min() < 0.06 and 2.8 < sample.vol.max() <= 3.0
    assert {-1.0, 1.0} == set(np.unique(sample.cp))
    assert (sample.r != 0).mean() > 0.5 and (sample.q != 0).mean() > 0.5
    assert sample.t.shape[0] >= 2_000


def test_bsm_matches_quantlib_engine(sample: Sample, evaluation_date: ql.Date) -> None:
    ref = quantlib_engine_greeks(
        evaluation_date,
        sample.days,
        sample.s,
        sample.k,
        sample.vol,
        sample.cp,
        sample.r,
        sample.q,
    )
    g = bsm(
        spot=sample.s,
        strike=sample.k,
        t_yr=sample.t,
        vol=sample.vol,
        option_type=sample.cp,
        rate=sample.r,
        div_yield=sample.q,
    )
    scales = natural_scales(sample, sample.s, sample.q)
    # Price, delta, gamma, vega, theta (per year), rho (fixed dividend yield): 1e-10 relative.
    for name in ("price", "delta", "gamma", "vega", "theta", "rho"):
        assert_matches_quantlib(
            f"bsm {name}", np.asarray(getattr(g, name)), ref[name], scales[name]
        )
    price_only = bsm_price(
        spot=sample.s,
        strike=sample.k,
        t_yr=sample.t,
        vol=sample.vol,
        option_type=sample.cp,
        rate=sample.r,
        div_yield=sample.q,
    )
    assert_matches_quantlib("bsm_price", np.asarray(price_only), ref["price"], scales["price"])


def test_bsm_vanna_volga_match_quantlib_black_calculator(sample: Sample) -> None:
    discount = np.exp(-sample.r * sample.t)
    ref = quantlib_calculator(
        sample.f, sample.k, sample.t, sample.vol, sample.cp, discount, sample.s
    )
    g = bsm(
        spot=sample.s,
        strike=sample.k,
        t_yr=sample.t,
        vol=sample.vol,
        option_type=sample.cp,
        rate=sample.r,
        div_yield=sample.q,
    )
    scales = natural_scales(sample, sample.s, sample.q)
    # d²V/dS dσ and d²V/dσ² (QuantLib volga rescaled by √T): 1e-10 relative.
    assert_matches_quantlib("bsm vanna", np.asarray(g.vanna), ref["vanna"], scales["vanna"])
    assert_matches_quantlib("bsm volga", np.asarray(g.volga), ref["volga"], scales["volga"])


def test_black76_matches_quantlib_with_forward_fixed(
    sample: Sample, evaluation_date: ql.Date
) -> None:
    # Spot = forward and dividend yield = rate: QuantLib's forward S e^{(r-q)T} is F exactly.
    ref = quantlib_engine_greeks(
        evaluation_date,
        sample.days,
        sample.f,
        sample.k,
        sample.vol,
        sample.cp,
        sample.r,
        sample.r,
    )
    g = black76(
        forward=sample.f,
        strike=sample.k,
        t_yr=sample.t,
        vol=sample.vol,
        option_type=sample.cp,
        rate=sample.r,
    )
    scales = natural_scales(sample, sample.f, sample.r)
    for name in ("price", "delta", "gamma", "vega", "theta"):
        assert_matches_quantlib(
            f"black76 {name}", np.asarray(getattr(g, name)), ref[name], scales[name]
        )
    # Our Black rho holds the forward fixed: QuantLib's rho + dividendRho (r and q moved
    # together). 1e-10 relative.
    assert_matches_quantlib(
        "black76 rho", np.asarray(g.rho), ref["rho"] + ref["dividend_rho"], scales["rho"]
    )
    price_only = black76_price(
        forward=sample.f,
        strike=sample.k,
        t_yr=sample.t,
        vol=sample.vol,
        option_type=sample.cp,
        rate=sample.r,
    )
    assert_matches_quantlib("black76_price", np.asarray(price_only), ref["price"], scales["price"])


def test_black76_matches_quantlib_black_formula_and_calculator(sample: Sample) -> None:
    discount = np.exp(-sample.r * sample.t)
    ref = quantlib_calculator(
        sample.f, sample.k, sample.t, sample.vol, sample.cp, discount, sample.f
    )
    g = black76(
        forward=sample.f,
        strike=sample.k,
        t_yr=sample.t,
        vol=sample.vol,
        option_type=sample.cp,
        rate=sample.r,
    )
    scales = natural_scales(sample, sample.f, sample.r)
    # blackFormula(type, K, F, σ√T, D), and BlackCalculator vanna(F, T), volga(T)·√T: 1e-10 rel.
    assert_matches_quantlib(
        "black76 vs blackFormula", np.asarray(g.price), ref["black_formula"], scales["price"]
    )
    assert_matches_quantlib("black76 vanna", np.asarray(g.vanna), ref["vanna"], scales["vanna"])
    assert_matches_quantlib("black76 volga", np.asarray(g.volga), ref["volga"], scales["volga"])


# -- where QuantLib itself is not accurate enough: a 50-digit reference --------------------------

_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640629")


def _decimal_gamma_vega(
    s: float, k: float, t: float, vol: float, r: float, q: float
) -> tuple[Decimal, Decimal, float]:
    """BSM gamma and vega from the double inputs, in 50-digit decimal arithmetic."""
    getcontext().prec = 50
    ds, dk, dt, dv, dr, dq = (Decimal(x) for x in (s, k, t, vol, r, q))
    sd = dv * dt.sqrt()
    d1 = ((ds / dk).ln() + (dr - dq) * dt) / sd + sd / 2
    pdf = (-(d1 * d1) / 2).exp() / (2 * _PI).sqrt()
    eq = (-dq * dt).exp()
    return eq * pdf / (ds * sd), ds * eq * pdf * dt.sqrt(), float(d1)


@pytest.mark.parametrize(
    ("s", "k", "days", "vol", "r", "q", "cp"),
    [
        # Far from the money with one day left: d1 ~ +33 / -35; QuantLib is off by ~5e-10 rel.
        (1887.346244913961, 2216.8, 1, 0.09273377939770347, 0.0, 0.0, 1.0),
        (108.31136632059464, 175.0, 6, 0.10718960820910703, 0.0808, 0.0617, -1.0),
        (4.300657372049723, 5.6, 2, 0.10742582834307561, -0.0158, 0.0, 1.0),
    ],
)
def test_far_tail_gamma_vega_against_50_digit_reference(
    s: float, k: float, days: int, vol: float, r: float, q: float, cp: float
) -> None:
    t = days / 365.0
    gamma_ref, vega_ref, d1 = _decimal_gamma_vega(s, k, t, vol, r, q)
    assert abs(d1) > 25.0  # really in the far tail
    g = bsm(spot=s, strike=k, t_yr=t, vol=vol, option_type=cp, rate=r, div_yield=q)
    # The inputs are exact doubles; the only error is rounding inside the formula, amplified
    # by d1² ~ 1e3 in exp(-d1²/2): 1e-11 relative is ~40 times the observed 6e-13.
    assert abs(Decimal(g.gamma) / gamma_ref - 1) < Decimal("1e-11")
    assert abs(Decimal(g.vega) / vega_ref - 1) < Decimal("1e-11")
