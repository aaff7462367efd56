"""Portfolio (Greeks) limits of a delta-one book (:mod:`invrisk.risk.delta_limits`): values and
order impacts worked by hand and cross-checked against the risk layer's own Greeks
(:func:`invrisk.risk.portfolio_greeks`, an independent implementation), average-cost entries,
scopes and refused metrics; then the limits enforced by the RiskGuard in a backtest and in a
paper run configured from TOML."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from invrisk.backtest import Fees, ProbQueue, run_backtest
from invrisk.config import load_backtest_config, paper_runtime_from_config
from invrisk.data.synthetic_market import benchmark_stream, synthetic_perpetual
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import parse_deribit
from invrisk.risk import MarketSnapshot, Portfolio, Position, portfolio_greeks
from invrisk.risk.delta_limits import DeltaOneLimits
from invrisk.risk.limit_set import Limit, LimitSet
from invrisk.risk.limits import InstrumentLimits, RiskGuard
from invrisk.strategies import GLFTMarketMaker

LIN = synthetic_perpetual("linear")  # BTCUSDT-like, 1 BTC per contract
INV = parse_deribit("BTC-PERPETUAL")  # 10 USD per contract, coin-settled
ETH = parse_deribit("ETH-PERPETUAL")


def limits(*items: dict[str, object]) -> LimitSet:
    return LimitSet([Limit.model_validate(x) for x in items])


def test_inverse_values_and_impacts_by_hand_and_against_portfolio_greeks() -> None:
    """Buy 100 BTC-PERPETUAL (1,000 USD) at 50,000, then 100 at 40,000: the harmonic average
    entry is 44,444.4; at a mid of 45,000 the coin delta is 2,000 / 44,444.4 = 0.045 BTC (the
    risk layer's delta_coin of the same position), the premium-adjusted one 2,000 / 45,000."""
    dl = DeltaOneLimits(
        limits(
            {"name": "d", "metric": "delta_coin", "underlying": "BTC", "max_abs": 1.0},
            {
                "name": "pa",
                "metric": "delta_premium_adjusted_coin",
                "underlying": "BTC",
                "max_abs": 1.0,
            },
            {"name": "usd", "metric": "delta_usd", "max_abs": 1e6},
            {"name": "gross", "metric": "gross_notional_usd", "hi": 1e6},
            {"name": "vega", "metric": "vega_usd", "max_abs": 1.0},
        ),
        instruments=[INV],
    )
    dl.on_fill(instrument=0, side=1, qty=100.0, price=50_000.0)
    dl.on_fill(instrument=0, side=1, qty=100.0, price=40_000.0)
    entry = 2.0 / (1 / 50_000 + 1 / 40_000)
    assert dl.entry(0) == pytest.approx(entry, rel=1e-12)
    v = dl.values([45_000.0])
    assert v["d"] == pytest.approx(2_000 / entry, rel=1e-12)
    assert v["pa"] == pytest.approx(2_000 / 45_000, rel=1e-12)
    assert v["usd"] == pytest.approx(2_000 / entry * 45_000, rel=1e-12)
    assert v["gross"] == pytest.approx(abs(v["usd"]), rel=1e-12)
    assert v["vega"] == 0.0
    # the risk layer, from a Position entered at the same average price
    p = Position(instrument=INV, contracts=200.0, entry_price=entry)
    m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": 45_000.0}, marks={INV.name: 45_000.0})
    g = portfolio_greeks(Portfolio([p]), m)
    assert v["d"] == pytest.approx(float(g.delta_coin[0]), rel=1e-12)
    assert v["pa"] == pytest.approx(float(g.delta_premium_adjusted_coin[0]), rel=1e-12)
    assert v["usd"] == pytest.approx(float(g.delta_usd[0]), rel=1e-12)
    # selling 300 at 46,000: 200 close at the average entry, 100 open short at 46,000
    imp = dl.impact(instrument=0, side=-1, qty=300.0, price=46_000.0, mid=45_000.0)
    want = -(2_000 / entry + 1_000 / 46_000)
    assert imp["d"] == pytest.approx(want, rel=1e-12)
    assert imp["pa"] == pytest.approx(-3_000 / 45_000, rel=1e-12)
    assert imp["usd"] == pytest.approx(want * 45_000, rel=1e-12)
    assert imp["gross"] == pytest.approx(abs(v["usd"] + want * 45_000) - abs(v["usd"]), rel=1e-9)
    assert "vega" not in imp  # no order changes a delta-one book's vega
    # and the fill itself: the book is then short 100 at 46,000
    dl.on_fill(instrument=0, side=-1, qty=300.0, price=46_000.0)
    assert dl.positions[0] == -100.0 and dl.entry(0) == pytest.approx(46_000.0, rel=1e-12)
    assert dl.values([45_000.0])["d"] == pytest.approx(-1_000 / 46_000, rel=1e-12)


def test_linear_values_scopes_and_flat_book() -> None:
    """Linear: delta = contracts x size whatever the entry; a limit on ETH ignores BTC, a limit
    scoped to another venue ignores the book when its venue is known."""
    dl = DeltaOneLimits(
        limits(
            {"name": "btc", "metric": "delta_coin", "underlying": "btc", "max_abs": 1.0},
            {"name": "eth", "metric": "delta_coin", "underlying": "ETH", "max_abs": 1.0},
            {"name": "okx", "metric": "delta_usd", "venue": "okx", "max_abs": 1.0},
        ),
        instruments=[LIN],
        venue="binance",
    )
    assert dl.values([60_000.0]) == {"btc": 0.0, "eth": 0.0, "okx": 0.0}
    dl.on_fill(instrument=0, side=-1, qty=0.25, price=61_000.0)
    assert dl.values([60_000.0]) == {"btc": -0.25, "eth": 0.0, "okx": 0.0}
    assert dl.impact(instrument=0, side=1, qty=0.1, price=1.0, mid=60_000.0) == {"btc": 0.1}
    assert math.isnan(dl.entry(0)) is False and dl.entry(0) == pytest.approx(61_000.0)
    dl.on_fill(instrument=0, side=1, qty=0.25, price=59_000.0)
    assert dl.positions == [0.0] and math.isnan(dl.entry(0))


def test_refused_metrics_and_instruments_name_the_limit() -> None:
    with pytest.raises(InvalidArgumentError, match=r"limit 'var'.*metric"):
        DeltaOneLimits(limits({"name": "var", "metric": "var_usd", "hi": 1.0}), instruments=[LIN])
    with pytest.raises(InvalidArgumentError, match=r"limit 'gv'.*metric"):
        DeltaOneLimits(
            limits({"name": "gv", "metric": "gross_value_usd", "hi": 1.0}), instruments=[LIN]
        )
    option = parse_deribit("BTC-27JUN25-60000-C")
    with pytest.raises(InvalidArgumentError, match=r"instruments\[0\]"):
        DeltaOneLimits(
            limits({"name": "d", "metric": "delta_usd", "hi": 1.0}), instruments=[option]
        )


def glft() -> GLFTMarketMaker:
    return GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=60 * 10**9)


def test_backtest_refuses_orders_that_would_breach_a_delta_limit() -> None:
    """A GLFT quoter allowed 0.1 BTC by its own q_max and by the position limit, under a
    delta limit of 0.03 BTC: orders that would take the filled delta past 0.03 are refused
    (portfolio_limit), and the position stays within the limit plus the orders already
    resting when it was reached (two lots); without the delta limit it goes well past."""
    m = benchmark_stream(300_000, seed=4)
    inst_limits = {
        0: InstrumentLimits(
            max_position=0.1, max_order_qty=0.05, max_order_notional=math.inf, price_band=math.inf
        )
    }

    def run(pl: LimitSet | None) -> tuple[float, int]:
        guard = RiskGuard(limits=inst_limits, portfolio_limits=pl)
        r = run_backtest(
            events=m.events, instruments=[m.instrument], strategy=glft(), guard=guard,
            fees=Fees(maker=-1e-4, taker=5e-4), queue=ProbQueue("power", 2.0),
        )  # fmt: skip
        return float(np.max(np.abs(r.position[:, 0]))), r.rejections.get("portfolio_limit", 0)

    free_max, free_refused = run(None)
    assert free_refused == 0 and free_max > 0.05
    pl = limits({"name": "btc delta", "metric": "delta_coin", "underlying": "BTC",
                 "max_abs": 0.03})  # fmt: skip
    max_q, refused = run(pl)
    assert refused > 0
    assert max_q <= 0.03 + 2 * 0.01 + 1e-9


def test_paper_run_from_a_config_with_a_limit_table(tmp_path: Path) -> None:
    """[[limit]] in the run's TOML reaches the paper runtime's RiskGuard: the refusals are
    journaled as portfolio_limit with the limit's name; [[limit]] without [risk], or with a
    metric a delta-one book cannot give, is an error naming it."""
    from invrisk.store import Journal

    example = Path(__file__).resolve().parents[2] / "examples" / "paper_synthetic_glft.toml"
    base = example.read_text(encoding="utf-8")
    table = '\n[[limit]]\nname = "btc delta"\nmetric = "delta_coin"\nunderlying = "BTC"\n'
    path = tmp_path / "limited.toml"
    path.write_text(base + table + "max_abs = 0.02\n", encoding="utf-8")
    cfg = load_backtest_config(path)
    m = benchmark_stream(200_000, seed=5)
    j = Journal(tmp_path / "j.sqlite")
    j.start_run(started_ns=int(m.events["local_ns"][0]), mode="paper", venue="paper")
    rt = paper_runtime_from_config(
        cfg, events=m.events, instrument=m.instrument, speed=0.0, journal=j
    )
    assert rt.guard is not None and rt.guard.portfolio_limits is not None
    asyncio.run(rt.run())
    causes = [r["cause"] for r in j.table("risk_events") if r["kind"] == "reject"]
    assert any(c.startswith("portfolio_limit (btc delta)") for c in causes), causes[:5]
    # a restart follows the limits from the journal's fills: same position, an entry
    rid = j.run_id
    assert rid is not None
    rt2 = paper_runtime_from_config(
        cfg, events=m.events[-1_000:], instrument=m.instrument, speed=0.0, journal=j
    )
    rt2.resume(rid)
    dl = rt2._delta_limits
    assert dl is not None and dl.positions[0] == pytest.approx(rt.position[0], abs=1e-12)
    assert dl.positions[0] == 0.0 or dl.entry(0) > 0.0
    j.close()
    bad = tmp_path / "bad.toml"
    head, _, rest = base.partition("[risk]")
    no_risk = head + rest[rest.index("[strategy]") :]
    bad.write_text(no_risk + table + "max_abs = 0.02\n", encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match=r"\[risk\]"):
        load_backtest_config(bad)
    bad.write_text(base + '\n[[limit]]\nname = "v"\nmetric = "var_usd"\nhi = 1.0\n', "utf-8")
    with pytest.raises(InvalidArgumentError, match=r"bad\.toml.*'v'.*var_usd"):
        load_backtest_config(bad)
