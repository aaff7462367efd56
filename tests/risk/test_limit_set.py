"""The declarative limit set: metric values against an independent sum, utilization, breach
report, pre-trade order check, TOML loading and its errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.risk import MarketSnapshot, Portfolio, portfolio_greeks
from invrisk.risk.limit_set import Limit, LimitSet, load_limits
from invrisk.units import NS_PER_DAY

LIMITS_TOML = """
[[limit]]
name = "btc delta"
metric = "delta_coin"
underlying = "BTC"
max_abs = 5.0

[[limit]]
name = "btc front vega"
metric = "vega_usd"
underlying = "BTC"
expiry_max_days = 30
lo = -200000.0
hi = 100000.0

[[limit]]
name = "deribit exposure"
metric = "gross_notional_usd"
venue = "deribit"
hi = 5e6

[[limit]]
name = "var"
metric = "var_usd"
hi = 250000.0
"""


def test_values_are_sums_over_the_scope(synthetic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Each limit's value recomputed position by position from the per-position Greeks."""
    market, book, _ = synthetic
    g = portfolio_greeks(book, market)
    path = tmp_path / "limits.toml"
    path.write_text(LIMITS_TOML, encoding="utf-8")
    limits = load_limits(path)
    values = limits.values(g, extra={"var_usd": 123_456.0})
    days = (g.expiry_ns - g.valuation_ns) / NS_PER_DAY
    btc_delta = sum(d for d, u in zip(g.delta_coin, g.underlying, strict=True) if u == "BTC")
    front = sum(
        v
        for v, u, o, d in zip(g.vega_usd, g.underlying, g.is_option, days, strict=True)
        if u == "BTC" and o and d < 30
    )
    deribit = sum(abs(d) for d, v in zip(g.delta_usd, g.venue, strict=True) if v == "deribit")
    assert values["btc delta"] == pytest.approx(btc_delta, rel=1e-12)
    assert values["btc front vega"] == pytest.approx(front, rel=1e-12)
    assert values["deribit exposure"] == pytest.approx(deribit, rel=1e-12)
    assert values["var"] == 123_456.0
    report = limits.check(g, extra={"var_usd": 123_456.0})
    for row in report.rows:
        assert row.breached == (not row.lo <= row.value <= row.hi)
    assert set(report.breaches) == {r.name for r in report.rows if r.breached}
    assert report.ok == (not report.breaches)


def test_utilization_and_excess() -> None:
    lim = Limit(name="d", metric="delta_usd", lo=-200.0, hi=100.0)
    assert lim.utilization(50.0) == 0.5 and lim.utilization(-100.0) == 0.5
    assert lim.utilization(150.0) == 1.5 and lim.excess(150.0) == 50.0
    assert lim.excess(-250.0) == 50.0 and lim.excess(0.0) == 0.0
    one_sided = Limit(name="v", metric="var_usd", hi=10.0)
    assert one_sided.utilization(-5.0) == 0.0  # that side is unbounded
    positive_floor = Limit(name="m", metric="margin_utilization", lo=0.1, hi=0.8)
    assert positive_floor.utilization(0.4) == 0.5 and positive_floor.breached(0.05)
    assert Limit(name="x", metric="delta_usd", max_abs=3.0).lo == -3.0


def test_order_breaches_only_when_worse() -> None:
    s = LimitSet([Limit(name="d", metric="delta_usd", max_abs=10.0)])
    assert s.order_breaches({"d": 9.0}, {"d": 2.0}) == ("d",)
    assert s.order_breaches({"d": 12.0}, {"d": -1.0}) == ()
    assert s.order_breaches({"d": 12.0}, {"d": -25.0}) == ("d",)  # flips past the other side
    assert s.order_breaches({"d": 0.0}, {}) == ()
    assert s.order_breaches({}, {"d": 1.0}) == ("d",)  # unknown current value: refused
    assert s.order_breaches({"d": math.nan}, {"d": 1.0}) == ("d",)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_abs": 1.0, "hi": 2.0}, "either max_abs or lo/hi"),
        ({"lo": 2.0, "hi": 1.0}, "lo=2.0 must be <= hi=1.0"),
        ({}, "finite lo, hi or max_abs"),
        ({"metric": "delta_coin", "hi": 1.0}, "give the underlying"),
        ({"hi": 1.0, "expiry_max_days": 30.0}, "vega_usd"),
        ({"hi": 1.0, "colour": "red"}, "colour"),
    ],
)
def test_bad_limits_are_explained(fields: dict[str, object], message: str, tmp_path: Path) -> None:
    table = {"name": "x", "metric": "delta_usd", **fields}
    body = "[[limit]]\n" + "\n".join(f"{k} = {v!r}" for k, v in table.items()).replace("'", '"')
    path = tmp_path / "l.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=message) as info:
        load_limits(path)
    assert "l.toml" in str(info.value) and "'x'" in str(info.value)


def test_set_level_errors(synthetic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    g = portfolio_greeks(book, market)
    a = Limit(name="a", metric="var_usd", hi=1.0)
    with pytest.raises(InvalidArgumentError, match="distinct"):
        LimitSet([a, a])
    with pytest.raises(InvalidArgumentError, match="var_usd"):
        LimitSet([a]).values(g)  # the external metric was not given
    (tmp_path / "e.toml").write_text("[other]\nx = 1\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"\[\[limit\]\]"):
        load_limits(tmp_path / "e.toml")
    with pytest.raises(InvalidArgumentError, match="existing TOML"):
        load_limits(tmp_path / "missing.toml")


def test_empty_scope_is_zero() -> None:
    """A scope with no position (an ETH limit on a BTC-only book) is 0, not an error."""
    from invrisk.instruments import parse_ccxt
    from invrisk.risk import Position

    book = Portfolio([Position(instrument=parse_ccxt("BTC/USDT:USDT"), contracts=1.0)])
    m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 5e4}, marks={"BTC/USDT:USDT": 5e4})
    g = portfolio_greeks(book, m)
    s = LimitSet([Limit(name="eth", metric="delta_coin", underlying="ETH", max_abs=1.0)])
    assert s.values(g) == {"eth": 0.0}
    assert np.isclose(LimitSet([Limit(name="b", metric="delta_usd", hi=1e9)]).values(g)["b"], 5e4)
