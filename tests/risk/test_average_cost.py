"""Average-cost bookkeeping: the cash-flow identity and the flat and flip rules."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from invrisk.risk.average_cost import FLAT_QTY, average_cost

fills = st.lists(
    st.tuples(
        st.sampled_from([1, -1]),
        st.integers(1, 50).map(lambda n: n * 0.01),  # whole lots of 0.01
        st.floats(50.0, 150.0),
    ),
    max_size=40,
)


@given(fills, st.floats(50.0, 150.0))
def test_realised_plus_unrealised_is_the_cash_flow(trades: list, mark: float) -> None:
    """realised + position × (mark − average) = position × mark − Σ side × qty × unit: the
    average-cost split of a trading PnL adds up to the PnL itself."""
    q = avg = realised = 0.0
    cash = 0.0
    for side, qty, unit in trades:
        q, avg, r = average_cost(q, avg, side=side, qty=qty, unit=unit)
        realised += r
        cash -= side * qty * unit
    assert abs(q) > FLAT_QTY or (q == 0.0 and avg == 0.0)
    gross = sum(qty * unit for _, qty, unit in trades)
    assert math.isclose(realised + q * (mark - avg), q * mark + cash, abs_tol=1e-9 * (1 + gross))


def test_flip_opens_the_rest_at_the_fill_and_flat_resets() -> None:
    q, avg, r = average_cost(0.03, 100.0, side=-1, qty=0.05, unit=110.0)
    assert (round(q, 12), avg, round(r, 12)) == (-0.02, 110.0, 0.3)
    q, avg, r = average_cost(0.1 + 0.2, 100.0, side=-1, qty=0.3, unit=90.0)  # 4e-17 left
    assert (q, avg) == (0.0, 0.0) and math.isclose(r, -3.0)
