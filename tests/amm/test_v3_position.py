"""Uniswap v3 position math: the issue's worked values, hand derivations, analytic Greeks
against finite differences, and hypothesis properties.

Sources of the reference values:

* Issue 9: L = 500, P = 4000, range [3000, 5000] -> x ≈ 0.834626 ETH, y ≈ 4236.65 USDC (6 and
  2 decimals as quoted, so the tolerance is half a unit of the last digit).
* Uniswap v3 whitepaper §6.2-6.4 (eq. 6.29-6.30) for the amounts below and above the range,
  written out by hand in each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.amm import (
    V3Position,
    v3_amounts,
    v3_greeks,
    v3_impermanent_loss,
    v3_liquidity_for_value,
    v3_liquidity_from_amounts,
    v3_value,
)

SOME = settings(max_examples=200, deadline=None)

prices = st.floats(min_value=1e-3, max_value=1e6)
liquidities = st.floats(min_value=1e-3, max_value=1e9)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[float, float]:
    lo = draw(st.floats(min_value=1e-3, max_value=1e6))
    ratio = draw(st.floats(min_value=1.0001, max_value=1e3))
    return lo, lo * ratio


def test_issue_worked_values() -> None:
    a = v3_amounts(liquidity=500.0, price=4000.0, price_lower=3000.0, price_upper=5000.0)
    assert abs(a.risky_qty - 0.834626) <= 0.5e-6  # issue 9, 6 decimals
    assert abs(a.quote_qty - 4236.65) <= 0.005  # issue 9, 2 decimals


def test_worked_position_value_delta_gamma_by_hand() -> None:
    # V = xP + y; delta = x; gamma = -L/(2 P^1.5) = -500 / (2 * 4000^1.5).
    x = 500.0 * (1 / math.sqrt(4000.0) - 1 / math.sqrt(5000.0))
    y = 500.0 * (math.sqrt(4000.0) - math.sqrt(3000.0))
    g = V3Position(500.0, 3000.0, 5000.0).greeks(4000.0)
    np.testing.assert_allclose(g.value_quote, x * 4000.0 + y, rtol=1e-15)
    np.testing.assert_allclose(g.delta_qty, x, rtol=1e-15)
    np.testing.assert_allclose(g.gamma_qty_per_quote, -500.0 / (2 * 4000.0**1.5), rtol=1e-15)
    np.testing.assert_allclose(g.cash_gamma_quote, -500.0 * math.sqrt(4000.0) / 2, rtol=1e-15)


def test_below_and_above_the_range() -> None:
    pos = V3Position(500.0, 3000.0, 5000.0)
    below = pos.amounts(2000.0)
    above = pos.amounts(9000.0)
    # Whitepaper: below p_a all token x, L(1/√p_a - 1/√p_b); above p_b all y, L(√p_b - √p_a).
    np.testing.assert_allclose(below.risky_qty, 500.0 * (3000**-0.5 - 5000**-0.5), rtol=1e-15)
    assert below.quote_qty == 0.0
    assert above.risky_qty == 0.0
    np.testing.assert_allclose(above.quote_qty, 500.0 * (5000**0.5 - 3000**0.5), rtol=1e-15)
    # Value below the range moves with the price; above it is constant; gamma is zero outside.
    np.testing.assert_allclose(pos.value(2000.0), below.risky_qty * 2000.0, rtol=1e-15)
    assert pos.value(9000.0) == above.quote_qty
    assert pos.gamma(2000.0) == 0.0
    assert pos.gamma(9000.0) == 0.0
    assert pos.delta(2000.0) == below.risky_qty


def test_vectorised_matches_scalar_calls_and_broadcasts() -> None:
    p = np.array([[1000.0, 3000.0, 4000.0], [5000.0, 6000.0, 4500.0]])
    lo = np.array([3000.0, 2000.0, 3500.0])
    g = v3_greeks(liquidity=7.0, price=p, price_lower=lo, price_upper=5000.0)
    assert np.shape(g.value_quote) == (2, 3)
    for i in range(2):
        for j in range(3):
            one = v3_greeks(liquidity=7.0, price=p[i, j], price_lower=lo[j], price_upper=5000.0)
            for name, arr in g.as_dict().items():
                assert np.asarray(arr)[i, j] == getattr(one, name), name


@SOME
@given(liq=liquidities, rng=ranges(), u=st.floats(min_value=-0.5, max_value=1.5))
def test_delta_and_gamma_against_finite_differences(
    liq: float, rng: tuple[float, float], u: float
) -> None:
    lo, hi = rng
    # A price inside, below or above the range, away from the kinks at the range ends.
    p = lo * (hi / lo) ** u
    h = 1e-4 * p
    if min(abs(p - lo), abs(p - hi)) < 3 * h:
        return
    v = lambda q: v3_value(liquidity=liq, price=q, price_lower=lo, price_upper=hi)  # noqa: E731
    g = v3_greeks(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    fd_delta = (v(p + h) - v(p - h)) / (2 * h)
    fd_gamma = (v(p + h) - 2 * v(p) + v(p - h)) / (h * h)
    scale = liq * (1 / math.sqrt(lo)) + abs(g.value_quote) / p
    # Central differences: truncation O(h²) relative, rounding ~ eps·V/h (delta), eps·V/h² (gamma).
    eps = np.finfo(float).eps
    assert abs(fd_delta - g.delta_qty) <= 1e-6 * scale + 8 * eps * abs(g.value_quote) / h
    gamma_scale = liq / p**1.5
    assert abs(fd_gamma - g.gamma_qty_per_quote) <= 1e-5 * gamma_scale + 16 * eps * abs(
        g.value_quote
    ) / (h * h)


@SOME
@given(liq=liquidities, rng=ranges(), p=prices)
def test_amounts_monotone_and_value_consistent(
    liq: float, rng: tuple[float, float], p: float
) -> None:
    lo, hi = rng
    a = v3_amounts(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    b = v3_amounts(liquidity=liq, price=p * 1.01, price_lower=lo, price_upper=hi)
    assert a.risky_qty >= 0.0 and a.quote_qty >= 0.0
    assert b.risky_qty <= a.risky_qty  # sells the risky token as its price rises
    assert b.quote_qty >= a.quote_qty
    v = v3_value(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    np.testing.assert_allclose(v, a.risky_qty * p + a.quote_qty, rtol=1e-14)


@SOME
@given(liq=liquidities, rng=ranges())
def test_value_is_continuous_at_the_range_ends(liq: float, rng: tuple[float, float]) -> None:
    lo, hi = rng
    for edge in (lo, hi):
        v = v3_value(
            liquidity=liq,
            price=np.array([edge * (1 - 1e-12), edge]),
            price_lower=lo,
            price_upper=hi,
        )
        np.testing.assert_allclose(v[0], v[1], rtol=1e-9)


@SOME
@given(liq=liquidities, rng=ranges(), p=prices)
def test_liquidity_round_trip(liq: float, rng: tuple[float, float], p: float) -> None:
    lo, hi = rng
    a = v3_amounts(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    back = v3_liquidity_from_amounts(
        price=p, price_lower=lo, price_upper=hi, risky_qty=a.risky_qty, quote_qty=a.quote_qty
    )
    np.testing.assert_allclose(back, liq, rtol=1e-9)
    v = v3_value(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    np.testing.assert_allclose(
        v3_liquidity_for_value(value_quote=v, price=p, price_lower=lo, price_upper=hi),
        liq,
        rtol=1e-12,
    )


def test_liquidity_from_amounts_takes_the_binding_token() -> None:
    # Twice the quote needed: the risky amount binds, L = 500, the extra quote is unused.
    pos = V3Position.from_amounts(
        price=4000.0,
        price_lower=3000.0,
        price_upper=5000.0,
        risky_qty=500.0 * (4000**-0.5 - 5000**-0.5),
        quote_qty=2 * 4236.65,
    )
    np.testing.assert_allclose(pos.liquidity, 500.0, rtol=1e-12)
    # Below the range only the risky token counts (quote 0 does not make L zero).
    below = v3_liquidity_from_amounts(
        price=2000.0, price_lower=3000.0, price_upper=5000.0, risky_qty=1.0, quote_qty=0.0
    )
    np.testing.assert_allclose(below, 1.0 / (3000**-0.5 - 5000**-0.5), rtol=1e-15)


@SOME
@given(rng=ranges(), p0=prices, p=prices)
def test_impermanent_loss_is_never_a_gain_against_initial_amounts(
    rng: tuple[float, float], p0: float, p: float
) -> None:
    lo, hi = rng
    il = v3_impermanent_loss(price_entry=p0, price=p, price_lower=lo, price_upper=hi)
    # V is concave with V'(P) = x(P): V(P) <= V(P0) + x(P0)(P - P0) = the held initial amounts.
    assert il <= 1e-12
    assert il >= -1.0


def test_impermanent_loss_by_hand_in_a_range() -> None:
    # Enter at 4000 in [3000, 5000]; at 5000 the position is all quote: y = 500(√5000 - √3000).
    x0 = 500 * (4000**-0.5 - 5000**-0.5)
    y0 = 500 * (4000**0.5 - 3000**0.5)
    lp = 500 * (5000**0.5 - 3000**0.5)
    expected = lp / (x0 * 5000 + y0) - 1
    got = V3Position(500.0, 3000.0, 5000.0).impermanent_loss(price_entry=4000.0, price=5000.0)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    v0 = x0 * 4000 + y0
    got50 = v3_impermanent_loss(
        price_entry=4000.0,
        price=5000.0,
        price_lower=3000.0,
        price_upper=5000.0,
        benchmark="fifty_fifty",
    )
    np.testing.assert_allclose(got50, lp / (0.5 * v0 * 5000 / 4000 + 0.5 * v0) - 1, rtol=1e-13)


@SOME
@given(liq=liquidities, rng=ranges(), p=prices, c=st.floats(min_value=1e-3, max_value=1e3))
def test_price_scale_invariance(liq: float, rng: tuple[float, float], p: float, c: float) -> None:
    # Quoting in a unit c times smaller multiplies prices by c; with L·√c the position holds the
    # same risky amount and c times the quote amount.
    lo, hi = rng
    a = v3_amounts(liquidity=liq, price=p, price_lower=lo, price_upper=hi)
    b = v3_amounts(
        liquidity=liq * math.sqrt(c), price=p * c, price_lower=lo * c, price_upper=hi * c
    )
    # The amounts are differences of terms of size L/√p_a and L√p_b: rounding is relative to
    # those terms, not to the (possibly much smaller) difference in a narrow range.
    eps = np.finfo(float).eps
    np.testing.assert_allclose(b.risky_qty, a.risky_qty, rtol=1e-13, atol=16 * eps * liq / lo**0.5)
    np.testing.assert_allclose(
        b.quote_qty, a.quote_qty * c, rtol=1e-13, atol=8 * eps * liq * (hi**0.5) * (c**0.5 + c)
    )


def test_zero_liquidity_is_an_empty_position() -> None:
    g = V3Position(0.0, 1.0, 2.0).greeks(1.5)
    assert g.value_quote == 0.0 and g.delta_qty == 0.0 and g.gamma_qty_per_quote == 0.0


def test_gamma_at_the_range_ends_is_the_inside_one_sided_value() -> None:
    g = v3_greeks(
        liquidity=500.0, price=np.array([3000.0, 5000.0]), price_lower=3000.0, price_upper=5000.0
    )
    np.testing.assert_allclose(
        g.gamma_qty_per_quote, -250.0 / np.array([3000.0, 5000.0]) ** 1.5, rtol=1e-15
    )


@pytest.mark.parametrize("price", [1e-8, 1.0, 4000.0, 1e8])
def test_greeks_join_the_risk_layer_units(price: float) -> None:
    # delta is dV/dP in risky units and cash gamma = gamma·P² in quote units: a relative move r
    # changes V by about delta·P·r + cash_gamma·r²/2 (risk layer convention).
    pos = V3Position(123.0, price / 2, price * 2)
    g = pos.greeks(price)
    r = 1e-3
    dv = pos.value(price * (1 + r)) - pos.value(price)
    approx = g.delta_qty * price * r + g.cash_gamma_quote * r * r / 2
    # Remainder: the third-order term V'''P³r³/6 = L√P r³/8 = |cash gamma|·r³/4, plus rounding.
    remainder = abs(g.cash_gamma_quote) * r**3 / 4
    assert abs(dv - approx) <= 1.01 * remainder + 1e-14 * abs(g.value_quote)
    assert abs(dv - g.delta_qty * price * r) > 100 * remainder  # the gamma term is really there
