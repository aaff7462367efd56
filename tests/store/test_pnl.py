"""PnL recomputed from fills (:class:`invrisk.store.pnl.FillAccount`): hand-worked linear and
inverse cases, and the two decompositions as properties of random fill sequences, each checked
against a formula written here independently of the implementation."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from invrisk.store.pnl import FillAccount


def linear_fill(
    acct: FillAccount, side: int, qty: float, price: float, fee: float, mid: float
) -> None:
    cash = -side * qty * price - fee
    acct.fill(side=side, qty=qty, price=price, fee=fee, cash_delta=cash, mid=mid)


def test_linear_by_hand() -> None:
    """Buy 2 @ 100 (mid 100.5, fee 0.1), sell 1 @ 102 (mid 101.5, fee 0.05), mark 103.
    cash = -200.1 + 101.95 = -98.15; total = -98.15 + 103 = 4.85; realised 1 x (102 - 100) = 2;
    unrealised 1 x (103 - 100) = 3; spread 2 x 0.5 + 1 x 0.5 = 1.5; inventory
    2 x (103 - 100.5) - 1 x (103 - 101.5) = 3.5; 1.5 + 3.5 - 0.15 = 4.85."""
    a = FillAccount()
    linear_fill(a, 1, 2.0, 100.0, 0.1, 100.5)
    linear_fill(a, -1, 1.0, 102.0, 0.05, 101.5)
    assert a.position == 1.0 and a.contract_size == pytest.approx(1.0) and a.inverse is False
    assert a.cash == pytest.approx(-98.15, abs=1e-12)
    assert a.total(103.0) == pytest.approx(4.85, abs=1e-12)
    assert a.realised == pytest.approx(2.0, abs=1e-12)
    assert a.unrealised(103.0) == pytest.approx(3.0, abs=1e-12)
    assert a.spread_capture() == pytest.approx(1.5, abs=1e-12)
    assert a.inventory(103.0) == pytest.approx(3.5, abs=1e-12)
    assert a.delta(103.0) == (1.0, pytest.approx(103.0))


def test_inverse_by_hand() -> None:
    """Inverse, 10 USD contracts: buy 100 @ 20,000 (mid 20,010), sell 100 @ 21,000 (mid
    20,990), no fees. PnL in coin = 1,000 USD x (1/20,000 - 1/21,000) (the inverse perpetual
    formula n_USD (1/P_entry - 1/P_exit)); spread = 1,000 x (1/20,000 - 1/20,010) +
    1,000 x (1/20,990 - 1/21,000); the rest is inventory: 1,000 x (1/20,010 - 1/20,990)."""
    a = FillAccount()
    a.fill(side=1, qty=100.0, price=20_000.0, fee=0.0, cash_delta=1000 / 20_000, mid=20_010.0)
    a.fill(side=-1, qty=100.0, price=21_000.0, fee=0.0, cash_delta=-1000 / 21_000, mid=20_990.0)
    assert a.inverse is True and a.contract_size == pytest.approx(10.0, rel=1e-12)
    assert a.flat() and a.delta(30_000.0) == (0.0, 0.0)
    pnl = 1000 * (1 / 20_000 - 1 / 21_000)
    assert a.total(30_000.0) == pytest.approx(pnl, rel=1e-12)  # flat: the mark is irrelevant
    assert a.realised == pytest.approx(pnl, rel=1e-12)
    spread = 1000 * (1 / 20_000 - 1 / 20_010) + 1000 * (1 / 20_990 - 1 / 21_000)
    assert a.spread_capture() == pytest.approx(spread, rel=1e-10)
    assert a.inventory(30_000.0) == pytest.approx(1000 * (1 / 20_010 - 1 / 20_990), rel=1e-10)


def test_inverse_delta_and_unknowns() -> None:
    """Long 3 contracts of 100 USD: delta 300 USD, 300 / 50,000 = 0.006 BTC. A fill without a
    mid leaves the split unknown (NaN), never a made-up number; no mark, no delta."""
    a = FillAccount()
    a.fill(side=1, qty=3.0, price=40_000.0, fee=0.0, cash_delta=300 / 40_000)
    assert a.delta(50_000.0) == (pytest.approx(0.006, rel=1e-12), pytest.approx(300.0))
    assert a.n_without_mid == 1
    assert math.isnan(a.spread_capture()) and math.isnan(a.inventory(50_000.0))
    assert all(math.isnan(x) for x in a.delta(math.nan))
    assert a.total(50_000.0) == pytest.approx(300 / 40_000 - 300 / 50_000, rel=1e-12)


fills_st = st.lists(
    st.tuples(
        st.sampled_from([1, -1]),
        st.integers(1, 50).map(lambda n: n * 0.01),  # qty, contracts
        st.floats(90.0, 110.0),  # price
        st.floats(-0.01, 0.05),  # fee (negative: rebate)
        st.floats(-0.5, 0.5),  # mid - price
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(fills=fills_st, size=st.sampled_from([1.0, 0.001, 10.0]), inverse=st.booleans(),
       mark=st.floats(80.0, 120.0))  # fmt: skip
def test_decompositions_agree(
    fills: list[tuple[int, float, float, float, float]], size: float, inverse: bool, mark: float
) -> None:
    """total = cash + q value(mark) = realised + unrealised - fees = spread + inventory - fees,
    and inventory = sum side qty (value(mark) - value(mid)), for linear and inverse contracts."""

    def value(p: float) -> float:
        return -size / p if inverse else size * p

    a = FillAccount()
    q = cash = fees = 0.0
    inventory_ref = []
    for side, qty, price, fee, dmid in fills:
        cd = -side * qty * value(price) - fee
        a.fill(side=side, qty=qty, price=price, fee=fee, cash_delta=cd, mid=price + dmid)
        q += side * qty
        cash += cd
        fees += fee
        inventory_ref.append(side * qty * (value(mark) - value(price + dmid)))
    total = cash + (0.0 if abs(q) <= 1e-12 else q * value(mark))
    scale = max(1.0, sum(abs(x) for x in inventory_ref), abs(cash))
    tol = 1e-9 * scale
    assert a.total(mark) == pytest.approx(total, abs=tol)
    assert a.realised + a.unrealised(mark) - a.fees == pytest.approx(total, abs=tol)
    assert a.inventory(mark) == pytest.approx(math.fsum(inventory_ref), abs=tol)
    assert a.spread_capture() + a.inventory(mark) - a.fees == pytest.approx(total, abs=tol)
    assert a.position == pytest.approx(q, abs=1e-9)
