"""Implied volatility: status codes, bounds, a stress test and known hard regions.

Prices that no volatility can produce never raise: the element's vol is NaN and its status says
why, and the other elements of the array are still solved (``IVStatus``). The accuracy target
is 1e-12 absolute in vol on the well-posed region, defined as in ``test_properties.py``: one
rounding bound of the price (8 ulps of its two terms D·F·N(ωd1) + D·K·N(ωd2), times 1 + d1²)
moves the vol by at most 1e-13, and the normalised price V / (D √(FK)) is at least 1e-250 (no
subnormal precision loss).
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from scipy.special import ndtr

from invrisk.pricing import (
    IVStatus,
    black76,
    black76_price,
    bsm_price,
    coin_price,
    implied_vol,
    implied_vol_bsm,
    implied_vol_coin,
)
from invrisk.pricing import _kernels_python as py
from tests.conftest import require_data

EPS = float(np.finfo(np.float64).eps)
IV_ATOL = 1e-12
TESSICIN = "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"


# -- status codes in the middle of an array -------------------------------------------------------


def _chain(n: int = 40) -> dict[str, np.ndarray]:
    """A well-posed chain: K/F 0.6-1.6, calls and puts, 30 days, 60% vol, r = 3%."""
    k = np.linspace(0.6, 1.6, n) * 100.0
    cp = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    t = np.full(n, 30 / 365)
    vol = np.full(n, 0.6)
    r = 0.03
    price = np.asarray(
        black76_price(forward=100.0, strike=k, t_yr=t, vol=vol, option_type=cp, rate=r)
    )
    return {"k": k, "cp": cp, "t": t, "vol": vol, "price": price, "r": np.full(n, r)}


@pytest.mark.parametrize("backend", ["numba", "python"])
def test_each_status_in_the_middle_of_a_chain(backend: str) -> None:
    c = _chain()
    price, k, cp, t, r = c["price"].copy(), c["k"].copy(), c["cp"].copy(), c["t"].copy(), c["r"]
    d = math.exp(-0.03 * 30 / 365)
    expected = {}
    # 4: an in-the-money call (K = 70) priced below its discounted intrinsic value
    assert cp[4] > 0 and k[4] < 100.0
    price[4] = 0.9 * d * (100.0 - k[4])
    expected[4] = IVStatus.BELOW_INTRINSIC
    # 9: a negative price is below intrinsic too
    price[9] = -1e-3
    expected[9] = IVStatus.BELOW_INTRINSIC
    # 12: a call above the discounted forward, 13: a put above the discounted strike, 14: +inf
    assert cp[12] > 0 and cp[13] < 0
    price[12] = 1.01 * d * 100.0
    expected[12] = IVStatus.ABOVE_MAXIMUM
    price[13] = 1.01 * d * k[13]
    expected[13] = IVStatus.ABOVE_MAXIMUM
    price[14] = math.inf
    expected[14] = IVStatus.ABOVE_MAXIMUM
    # 15: an out-of-the-money put (K = 98.5) worth exactly 0 (no time value)
    assert cp[15] < 0 and k[15] < 100.0
    price[15] = 0.0
    expected[15] = IVStatus.NO_TIME_VALUE
    # 20, 21: expired (t = 0 and t < 0) although the price is fine
    t[20] = 0.0
    expected[20] = IVStatus.EXPIRED
    t[21] = -1.0 / 365
    expected[21] = IVStatus.EXPIRED
    # 25: no quote
    price[25] = math.nan
    expected[25] = IVStatus.MISSING_PRICE
    iv = implied_vol(
        price=price, forward=100.0, strike=k, t_yr=t, option_type=cp, rate=r, backend=backend
    )
    vol = np.asarray(iv.vol)
    status = np.asarray(iv.status)
    assert status.dtype == np.int8 and vol.shape == status.shape == price.shape
    for i, st in expected.items():
        assert status[i] == st, (i, IVStatus(int(status[i])))
        assert math.isnan(vol[i]), i
    others = np.setdiff1d(np.arange(price.size), list(expected))
    assert np.all(status[others] == IVStatus.OK)
    np.testing.assert_allclose(vol[others], 0.6, rtol=0, atol=IV_ATOL)
    assert np.array_equal(iv.ok, status == IVStatus.OK)
    counts = iv.reason_counts()
    assert counts["OK"] == others.size and counts["BELOW_INTRINSIC"] == 2
    assert counts["ABOVE_MAXIMUM"] == 3 and counts["EXPIRED"] == 2
    assert counts["NO_TIME_VALUE"] == 1 and counts["MISSING_PRICE"] == 1


def test_exactly_intrinsic_has_no_time_value() -> None:
    # ITM call worth exactly F - K (r = 0): every small enough vol fits, so no vol is returned.
    iv = implied_vol(price=10.0, forward=110.0, strike=100.0, t_yr=0.5, option_type="call")
    assert iv.status == IVStatus.NO_TIME_VALUE and math.isnan(iv.vol)
    iv = implied_vol(price=10.0, forward=100.0, strike=110.0, t_yr=0.5, option_type="put")
    assert iv.status == IVStatus.NO_TIME_VALUE and math.isnan(iv.vol)
    # one ulp more is time value, one ulp less is below intrinsic
    up = implied_vol(
        price=math.nextafter(10.0, 11.0), forward=110.0, strike=100.0, t_yr=0.5, option_type="call"
    )
    assert up.status == IVStatus.OK and up.vol > 0
    down = implied_vol(
        price=math.nextafter(10.0, 9.0), forward=110.0, strike=100.0, t_yr=0.5, option_type="call"
    )
    assert down.status == IVStatus.BELOW_INTRINSIC and math.isnan(down.vol)


def test_scalar_input_gives_scalar_result_with_enum_status() -> None:
    iv = implied_vol(price=math.nan, forward=100.0, strike=100.0, t_yr=0.5, option_type="c")
    assert isinstance(iv.status, IVStatus) and iv.status is IVStatus.MISSING_PRICE
    assert isinstance(iv.vol, float) and math.isnan(iv.vol)
    assert iv.ok is False
    iv = implied_vol(price=5.0, forward=100.0, strike=100.0, t_yr=0.0, option_type="c")
    assert iv.status is IVStatus.EXPIRED


def test_coin_and_bsm_variants_report_the_same_statuses() -> None:
    f = 60_000.0
    k = np.array([50_000.0, 60_000.0, 70_000.0, 60_000.0, 55_000.0])
    t = np.array([0.1, 0.1, 0.1, 0.0, 0.1])
    pc = np.array([0.1, math.nan, 0.02, 0.05, 2.0])  # below intrinsic, missing, ok, expired, above
    iv = implied_vol_coin(price_coin=pc, forward=f, strike=k, t_yr=t, option_type="call")
    assert list(np.asarray(iv.status)) == [
        IVStatus.BELOW_INTRINSIC,
        IVStatus.MISSING_PRICE,
        IVStatus.OK,
        IVStatus.EXPIRED,
        IVStatus.ABOVE_MAXIMUM,
    ]
    back = coin_price(
        forward=f, strike=k[2], t_yr=t[2], vol=float(np.asarray(iv.vol)[2]), option_type="call"
    )
    assert abs(back - 0.02) <= 1e-15
    s, r, q = 100.0, 0.05, 0.02
    kk = np.array([80.0, 100.0, 120.0])
    p = np.asarray(
        bsm_price(spot=s, strike=kk, t_yr=1.0, vol=0.3, option_type="put", rate=r, div_yield=q)
    )
    p[0] = math.nan
    iv = implied_vol_bsm(
        price=p, spot=s, strike=kk, t_yr=1.0, option_type="put", rate=r, div_yield=q
    )
    assert list(np.asarray(iv.status)) == [IVStatus.MISSING_PRICE, IVStatus.OK, IVStatus.OK]
    np.testing.assert_allclose(np.asarray(iv.vol)[1:], 0.3, rtol=0, atol=IV_ATOL)


# -- the upper bound ------------------------------------------------------------------------------


# In-the-money options priced exactly at the upper bound (D·F for a call, D·K for a put, r = 0):
# the docstring of IVStatus.ABOVE_MAXIMUM says "at or above the upper bound".
AT_UPPER_BOUND = [
    (655.47, 595.74, 1.0),
    (41.93, 2.75, 1.0),
    (997.21, 969.27, 1.0),
    (3.05, 8.23, -1.0),
    (83.63, 243.71, -1.0),
    (200.49, 647.39, -1.0),
]


@pytest.mark.parametrize("backend", ["numba", "python"])
@pytest.mark.parametrize(("f", "k", "cp"), AT_UPPER_BOUND)
def test_price_at_the_upper_bound_is_above_maximum(
    f: float, k: float, cp: float, backend: str
) -> None:
    price = f if cp > 0 else k
    iv = implied_vol(price=price, forward=f, strike=k, t_yr=0.5, option_type=cp, backend=backend)
    assert iv.status == IVStatus.ABOVE_MAXIMUM, iv
    assert math.isnan(iv.vol)


def test_no_ok_status_with_a_non_finite_vol() -> None:
    # Random in-the-money options priced at or just below the upper bound: whatever the status,
    # OK must come with a finite vol.
    rng = np.random.default_rng(3)
    n = 20_000
    f = np.round(rng.uniform(1.0, 1000.0, n), 2)
    k = np.round(f * rng.uniform(0.05, 0.99, n), 2)
    cp = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    f, k = np.where(cp > 0, f, k), np.where(cp > 0, k, f)
    bound = np.where(cp > 0, f, k)
    price = bound * np.where(rng.random(n) < 0.5, 1.0, 1.0 - 1e-14)
    iv = implied_vol(price=price, forward=f, strike=k, t_yr=0.5, option_type=cp)
    ok = np.asarray(iv.ok)
    assert np.all(np.isfinite(np.asarray(iv.vol)[ok])), (
        f"{int((ok & ~np.isfinite(np.asarray(iv.vol))).sum())} of {n} are OK with vol = inf"
    )


# -- a known hard region: near the money, small total vol -----------------------------------------


@pytest.mark.parametrize(
    ("k", "days", "vol"),
    [
        (100.045, 1, 0.015),  # converged on the 12th iteration, was NOT_CONVERGED before e5db69e
        (100.024, 1, 0.02),
        (100.097, 2, 0.03),
        (100.041, 7, 0.01),
    ],
)
@pytest.mark.parametrize("cp", [1.0, -1.0])
def test_near_the_money_small_total_vol_converges(
    k: float, days: int, vol: float, cp: float
) -> None:
    # F = 100, strike a few basis points away, σ√T ~ 1e-3: vega ~ 2, perfectly conditioned.
    t = days / 365
    g = black76(forward=100.0, strike=k, t_yr=t, vol=vol, option_type=cp)
    assert g.vega > 1.0
    iv = implied_vol(price=g.price, forward=100.0, strike=k, t_yr=t, option_type=cp)
    assert iv.status == IVStatus.OK, iv
    assert abs(iv.vol - vol) <= IV_ATOL


def test_near_the_money_small_total_vol_scan() -> None:
    # Strikes 0.1 bp to 50 bp above F = 100 with one week or less to expiry and 1-5% vol:
    # all well-posed (vega > 0.1) and all must solve.
    k = np.round(np.arange(100.001, 100.5, 0.001), 3)
    failures = []
    for days in (1, 2, 7):
        for vol in (0.01, 0.015, 0.02, 0.025, 0.03, 0.05):
            t = days / 365
            g = black76(forward=100.0, strike=k, t_yr=t, vol=vol, option_type="call")
            iv = implied_vol(price=g.price, forward=100.0, strike=k, t_yr=t, option_type="call")
            bad = (np.asarray(g.vega) > 0.1) & (
                (np.asarray(iv.status) != IVStatus.OK)
                | ~(np.abs(np.asarray(iv.vol) - vol) <= IV_ATOL)
            )
            failures += [(float(ki), days, vol) for ki in k[bad]]
    assert not failures, f"{len(failures)} well-posed options not solved: {failures[:5]}"


# -- stress test ----------------------------------------------------------------------------------


def _well_posed_sample(seed: int, n: int) -> dict[str, np.ndarray]:
    """Random options in T 1 day-5 years, K/F 0.3-3, vol 1%-500%, r -5%-15%, kept if well posed."""
    rng = np.random.default_rng(seed)
    m = int(2.2 * n)
    t = np.exp(rng.uniform(np.log(1 / 365), np.log(5.0), m))
    vol = np.exp(rng.uniform(np.log(0.01), np.log(5.0), m))
    sd = vol * np.sqrt(t)
    lo = np.maximum(np.log(0.3), -10 * sd)
    hi = np.minimum(np.log(3.0), 10 * sd)
    x = lo + (hi - lo) * rng.random(m)  # ln(K/F)
    f = np.exp(rng.uniform(np.log(1e-2), np.log(1e6), m))
    k = f * np.exp(x)
    cp = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    r = np.where(rng.random(m) < 0.3, 0.0, rng.uniform(-0.05, 0.15, m))
    g = black76(forward=f, strike=k, t_yr=t, vol=vol, option_type=cp, rate=r)
    price = np.asarray(g.price)
    vega = np.asarray(g.vega)
    disc = np.exp(-r * t)
    d1 = np.log(f / k) / sd + 0.5 * sd
    d2 = d1 - sd
    bound = 8 * EPS * (1 + d1 * d1) * disc * (f * ndtr(cp * d1) + k * ndtr(cp * d2))
    with np.errstate(divide="ignore"):
        noise = np.where(vega > 0, bound / vega, np.inf)
    beta = price / (disc * np.sqrt(f * k))
    keep = np.flatnonzero((noise <= 1e-13) & (beta >= 1e-250))[:n]
    assert keep.size == n
    return {
        "f": f[keep],
        "k": k[keep],
        "t": t[keep],
        "vol": vol[keep],
        "cp": cp[keep],
        "r": r[keep],
        "price": price[keep],
    }


def test_stress_random_well_posed_options() -> None:
    s = _well_posed_sample(2024, 100_000)
    itm = s["cp"] * (s["f"] - s["k"]) > 0
    # the sample covers calls and puts, in and out of the money, non-zero rates
    assert 0.2 < itm.mean() < 0.7 and 0.4 < (s["cp"] > 0).mean() < 0.6
    assert (s["r"] != 0).mean() > 0.5
    iv = implied_vol(
        price=s["price"],
        forward=s["f"],
        strike=s["k"],
        t_yr=s["t"],
        option_type=s["cp"],
        rate=s["r"],
    )
    status = np.asarray(iv.status)
    assert np.all(status == IVStatus.OK), iv.reason_counts()
    err = np.abs(np.asarray(iv.vol) - s["vol"])
    assert err.max() <= IV_ATOL, f"max abs vol error {err.max():.3g}"


# -- iteration count on a real chain --------------------------------------------------------------


def test_two_or_three_iterations_on_a_real_chain() -> None:
    # implied_vol's docstring: "Two or three iterations reach machine precision on a typical
    # chain". Deribit's BTC chain of 2026-03-01 (mark, bid and ask prices, 497 quotes).
    path = require_data(TESSICIN)
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    f = np.array([float(r["underlying_price"]) for r in rows])
    k = np.array([float(r["strike"]) for r in rows])
    cp = np.array([1.0 if r["type"] == "call" else -1.0 for r in rows])
    iterations = []
    for column in ("mark_price", "best_bid_price", "best_ask_price"):
        price = np.array([float(r[column]) for r in rows]) * f
        sq = np.sqrt(f * k)
        time_value = price / sq - np.maximum(cp * (f - k), 0.0) / sq
        ok = time_value > 0
        iterations.append(py.implied_vol_iterations(-np.abs(np.log(f / k))[ok], time_value[ok]))
    its = np.concatenate(iterations)
    assert its.size > 480
    assert np.median(its) <= 3 and (its <= 3).mean() >= 0.95 and its.max() <= 4
