"""PoolHistory checks and the one-look position summary (invrisk.amm.history, .summary)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.amm import (
    USDC_WETH_005,
    PoolHistory,
    lp_position_summary,
    lvr_rate_constant_product,
    v2_impermanent_loss,
)
from invrisk.errors import InvalidArgumentError
from invrisk.units import NS_PER_HOUR


def _history(**over: object) -> PoolHistory:
    n = 4
    cols: dict[str, object] = {
        "pool": USDC_WETH_005,
        "time_ns": np.arange(n, dtype=np.int64) * NS_PER_HOUR,
        "close": np.array([2000.0, 2010.0, 1990.0, 2005.0]),
        "high": np.array([2001.0, 2015.0, 2012.0, 2006.0]),
        "low": np.array([1999.0, 2000.0, 1985.0, 1990.0]),
        "liquidity": np.full(n, 1e7),
        "fee_growth0_x128": np.array([1.0, 2.0, 2.0, 3.0]) * 1e33,
        "fee_growth1_x128": np.array([1.0, 1.0, 2.0, 2.0]) * 1e42,
    }
    cols.update(over)
    return PoolHistory(**cols)  # type: ignore[arg-type]


def test_history_accepts_good_data_and_selects() -> None:
    h = _history()
    assert len(h) == 4 and len(h.select(1)) == 3
    with pytest.raises(ValueError, match="read-only"):
        h.close[0] = 1.0


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("time_ns", np.array([0, 2, 1, 3], dtype=np.int64), "time_ns"),
        ("close", np.array([2000.0, -1.0, 1990.0, 2005.0]), "close"),
        ("close", np.array([2000.0, 2010.0, 1990.0]), "close"),
        ("high", np.array([2001.0, 2005.0, 2012.0, 2006.0]), "high/low/close"),
        ("liquidity", np.array([1e7, np.nan, 1e7, 1e7]), "liquidity"),
        ("fee_growth0_x128", np.array([2.0, 1.0, 2.0, 3.0]) * 1e33, "fee_growth0_x128"),
        ("pool", "USDC/WETH", "pool"),
    ],
)
def test_history_defects_are_named(field: str, value: object, named: str) -> None:
    with pytest.raises(InvalidArgumentError, match=named):
        _history(**{field: value})


def test_summary_full_range_against_closed_forms() -> None:
    """v2: LVR σ²V/8 (Milionis et al. 2022), IL 2√r/(1+r) - 1 (Uniswap v2)."""
    s = lp_position_summary(
        liquidity=10.0, price=4.0, price_lower=0.0, price_upper=math.inf, vol=0.6
    )
    assert s.value_quote == pytest.approx(40.0, rel=1e-15)
    assert s.lvr_quote_per_yr == pytest.approx(
        lvr_rate_constant_product(value_quote=40.0, vol=0.6), rel=1e-12
    )
    assert s.lvr_quote_per_day == pytest.approx(s.lvr_quote_per_yr / 365, rel=1e-15)
    expect = [float(v2_impermanent_loss(price_ratio=1 + m)) for m in s.moves]
    np.testing.assert_allclose(s.impermanent_loss, expect, rtol=1e-12)


def test_summary_out_of_range_and_bad_vol() -> None:
    s = lp_position_summary(
        liquidity=500.0, price=6000.0, price_lower=3000.0, price_upper=5000.0, vol=0.8
    )
    assert not s.in_range and s.risky_qty == 0.0 and s.gamma_qty_per_quote == 0.0
    assert s.lvr_quote_per_yr == 0.0 and s.break_even_fee_apr == 0.0
    with pytest.raises(InvalidArgumentError, match="vol"):
        lp_position_summary(liquidity=1.0, price=1.0, price_lower=0.5, price_upper=2.0, vol=-0.1)
    with pytest.raises(InvalidArgumentError, match="moves"):
        lp_position_summary(
            liquidity=1.0, price=1.0, price_lower=0.5, price_upper=2.0, moves=(-1.5,)
        )
    with pytest.raises(InvalidArgumentError, match="liquidity"):
        lp_position_summary(liquidity=-1.0, price=1.0, price_lower=0.5, price_upper=2.0)
