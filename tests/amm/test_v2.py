"""Constant product (Uniswap v2): closed forms by hand, impermanent loss values, and v2 as the
limit of v3 when the range grows to [0, inf].

The v2 module writes its closed forms out (x = L/√P, y = L√P, V = 2L√P) without calling the v3
code, so the limit tests compare two implementations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.amm import (
    V2Position,
    V3Position,
    v2_amounts,
    v2_greeks,
    v2_impermanent_loss,
    v2_liquidity_from_reserves,
    v3_greeks,
    v3_impermanent_loss,
)

SOME = settings(max_examples=200, deadline=None)


def test_reserves_by_hand() -> None:
    # x·y = L², y/x = P: L = 10, P = 4 -> x = 5, y = 20.
    a = v2_amounts(liquidity=10.0, price=4.0)
    assert (a.risky_qty, a.quote_qty) == (5.0, 20.0)
    assert v2_liquidity_from_reserves(risky_qty=5.0, quote_qty=20.0) == 10.0
    g = v2_greeks(liquidity=10.0, price=4.0)
    assert g.value_quote == 40.0
    assert g.delta_qty == 5.0
    assert g.gamma_qty_per_quote == -10.0 / (2 * 8.0)
    assert g.cash_gamma_quote == -10.0  # = -V/4


# 2√r/(1+r) - 1 evaluated by hand to 0.1%; the same figures appear in the table LPs usually
# quote (Pintail, "Uniswap: A Good Deal for Liquidity Providers?", 2019) [C: not re-read].
IL_TABLE = [
    (1.25, -0.006),
    (1.5, -0.020),
    (1.75, -0.038),
    (2.0, -0.057),
    (3.0, -0.134),
    (4.0, -0.200),
    (5.0, -0.255),
]


@pytest.mark.parametrize(("ratio", "loss"), IL_TABLE)
def test_impermanent_loss_table(ratio: float, loss: float) -> None:
    assert abs(v2_impermanent_loss(price_ratio=ratio) - loss) <= 0.0005
    # Symmetric in log price: r and 1/r lose the same fraction.
    np.testing.assert_allclose(
        v2_impermanent_loss(price_ratio=1 / ratio),
        v2_impermanent_loss(price_ratio=ratio),
        rtol=1e-13,
    )


def test_impermanent_loss_is_against_fifty_fifty_hold() -> None:
    # Enter at P0 = 100 with L = 10: x0 = 1, y0 = 100 (50/50 by value). At P = 400 the LP holds
    # 2·10·20 = 400 against 1·400 + 100 = 500 for the hold: -20%.
    pos = V2Position(10.0)
    assert pos.impermanent_loss(price_entry=100.0, price=400.0) == pytest.approx(-0.2, abs=1e-15)
    for bench in ("initial_amounts", "fifty_fifty"):
        np.testing.assert_allclose(
            v3_impermanent_loss(
                price_entry=100.0,
                price=400.0,
                price_lower=0.0,
                price_upper=math.inf,
                benchmark=bench,
            ),  # type: ignore[arg-type]
            -0.2,
            rtol=1e-14,
        )


@SOME
@given(
    liq=st.floats(min_value=1e-6, max_value=1e9),
    p=st.floats(min_value=1e-6, max_value=1e6),
)
def test_v3_on_the_full_range_is_v2(liq: float, p: float) -> None:
    v3 = v3_greeks(liquidity=liq, price=p, price_lower=0.0, price_upper=math.inf)
    v2 = v2_greeks(liquidity=liq, price=p)
    for name, value in v2.as_dict().items():
        np.testing.assert_allclose(getattr(v3, name), value, rtol=4e-16 * 8, err_msg=name)


@pytest.mark.parametrize("price", [0.01, 1.0, 4000.0])
def test_v3_converges_to_v2_as_the_range_widens(price: float) -> None:
    # Range [ε·P, P/ε]: x3 = L(1/√P - 1/√(P/ε)) = x2 - L√(ε/P), y3 = y2 - L√(εP): the gap is
    # exactly L√ε/√P and L√ε·√P, so it vanishes like √ε.
    liq = 250.0
    v2 = V2Position(liq)
    gaps = []
    for eps in [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12]:
        pos = V3Position(liq, eps * price, price / eps)
        a3, a2 = pos.amounts(price), v2.amounts(price)
        np.testing.assert_allclose(
            a2.risky_qty - a3.risky_qty, liq * math.sqrt(eps / price), rtol=1e-6
        )
        np.testing.assert_allclose(
            a2.quote_qty - a3.quote_qty, liq * math.sqrt(eps * price), rtol=1e-6
        )
        gaps.append(abs(v2.value(price) - pos.value(price)) / v2.value(price))
        # Gamma: in range both are -L/(2P^1.5) exactly.
        assert pos.gamma(price) == v2.gamma(price)
    np.testing.assert_allclose(
        gaps, [math.sqrt(e) for e in [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12]], rtol=1e-4
    )
    assert v2.as_v3().value(price) == pytest.approx(v2.value(price), rel=1e-15)
