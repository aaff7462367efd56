"""The book assessment (``assess_portfolio``), the hedge planner on a real chain, their report
and the ``invrisk risk`` / ``invrisk hedge`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from invrisk.cli import app
from invrisk.data import load_deribit_chain
from invrisk.errors import InvalidArgumentError
from invrisk.hedging.optimizer import HedgeInfeasibleError
from invrisk.hedging.plan import CandidateSpec, plan_hedge
from invrisk.instruments import parse_deribit
from invrisk.report.risk_report import risk_report
from invrisk.risk import (
    HISTORICAL_STRESSES,
    MarketSnapshot,
    Portfolio,
    Position,
    portfolio_greeks,
    read_positions,
    revalue,
    spot_vol_grid,
)
from invrisk.risk.assess import DEFAULT_GRID_SPOTS, DEFAULT_GRID_VOLS, assess_portfolio
from invrisk.risk.limit_set import Limit, LimitSet, load_limits
from tests.conftest import REPO_ROOT, require_data

CHAIN = "deribit_chain_snapshots_2026_znmahbub/deribit_options_snapshot_20260101T091835Z.csv.gz"
DAILY = "btcusd_daily_2011-2025_bitstamp_coinbase/BTCUSD_1d_candles_full.csv"
BOOK = REPO_ROOT / "examples" / "positions_btc_options.csv"
LIMITS = REPO_ROOT / "examples" / "limits_btc.toml"
MARKS = {"BTC-PERPETUAL": 87_831.5, "BTC-27MAR26": 88_777.54, "binance:BTC/USDT:USDT": 87_800.0}
MARK_ARGS = [a for k, v in MARKS.items() for a in ("--mark", f"{k}={v}")]
runner = CliRunner()


@pytest.fixture(scope="module")
def real() -> tuple[Portfolio, MarketSnapshot, object]:
    chain = load_deribit_chain(require_data(CHAIN))
    return read_positions(BOOK), MarketSnapshot.from_chain(chain, marks=MARKS), chain


def test_assessment_parts_equal_their_direct_computation(real) -> None:  # type: ignore[no-untyped-def]
    book, market, _ = real
    limits = load_limits(LIMITS)
    rng = np.random.default_rng(0)
    returns = {"BTC": rng.normal(0, 0.03, 400)}
    a = assess_portfolio(book, market, returns=returns, limits=limits, var_window=300)
    g = portfolio_greeks(book, market)
    for coin, total in a.totals.items():
        sel = np.array([u == coin for u in g.underlying])
        assert total.delta_coin == pytest.approx(float(g.delta_coin[sel].sum()), rel=1e-12)
        assert total.vega_usd == pytest.approx(float(g.vega_usd[sel].sum()), rel=1e-12)
    grid = spot_vol_grid(
        book, market, spot_returns=DEFAULT_GRID_SPOTS, vol_shifts=DEFAULT_GRID_VOLS
    )
    np.testing.assert_allclose(a.grid.pnl_usd, grid.pnl_usd, rtol=1e-12)
    stress = revalue(book, market, list(HISTORICAL_STRESSES.values())).total_pnl_usd()
    np.testing.assert_allclose(a.scenario_pnl_usd, stress, rtol=1e-12)
    assert [v.method for v in a.var] == ["historical", "fhs"] and a.var[0].pnl_usd.size == 300
    assert a.limits is not None and a.margin is not None
    from invrisk.risk import portfolio_margin

    pm = portfolio_margin(book, market)
    assert a.margin.total_initial_margin_usd == pytest.approx(
        pm.total_initial_margin_usd, rel=1e-12
    )
    extra = {
        "var_usd": a.var[0].var_usd,
        "es_usd": a.var[0].es_usd,
        "margin_usd": pm.total_initial_margin_usd,
    }
    assert a.limits == limits.check(g, extra=extra)
    util = LimitSet([Limit(name="m", metric="margin_utilization", hi=0.5)])
    b = assess_portfolio(book, market, limits=util, equity_usd=4 * pm.total_initial_margin_usd)
    assert b.limits is not None and b.limits.rows[0].value == pytest.approx(0.25, rel=1e-12)
    with pytest.raises(InvalidArgumentError, match="equity_usd"):
        assess_portfolio(book, market, equity_usd=-1.0)
    doc = a.to_dict()
    assert json.loads(json.dumps(doc))["positions"] == len(book)  # plain data
    page = risk_report(a)
    assert page.startswith("<!DOCTYPE html>") and "invrisk-risk-grid" in page
    assert all(name in page for name in a.scenario_names) and "btc front vega" in page


def test_hedge_brings_the_real_book_inside_its_linear_limits(real) -> None:  # type: ignore[no-untyped-def]
    """Plan on the real chain, then add the trades to the book as positions and value it again
    from scratch: every linear limit holds (an independent check of the plan's arithmetic)."""
    book, market, chain = real
    limits = load_limits(LIMITS)
    names = [
        "BTC-30JAN26-88000-P",
        "BTC-30JAN26-88000-C",
        "BTC-26JUN26-90000-C",
        "BTC-26JUN26-90000-P",
    ]
    specs = [CandidateSpec(instrument=parse_deribit("BTC-PERPETUAL"), lot=10.0)] + [
        CandidateSpec(instrument=parse_deribit(n), lot=0.1, max_qty=100.0) for n in names
    ]
    quotes = {
        str(n): (float(b), float(a))
        for n, b, a in zip(chain.instrument, chain.bid_coin, chain.ask_coin, strict=True)
    }
    h = plan_hedge(book, market, candidates=specs, limits=limits, option_bid_ask_coin=quotes)
    assert set(h.skipped) == {"deribit exposure", "var 99%"}
    hedged = Portfolio(
        [*book.positions]
        + [
            Position(
                instrument=parse_deribit(n),
                contracts=q,
                label=f"hedge {n}",
                entry_price=MARKS.get(n),
            )
            for n, q in h.plan.trades
        ]
    )
    linear = LimitSet([lim for lim in limits.limits if lim.name in h.constrained])
    after = linear.check(portfolio_greeks(hedged, market))
    assert after.ok, after.rows
    before = linear.check(portfolio_greeks(book, market))
    assert not before.ok  # the example book starts outside its limits
    # 'greeks' pays more to sit nearer zero: a smaller sum of squared utilizations
    g = plan_hedge(
        book,
        market,
        candidates=specs,
        limits=limits,
        option_bid_ask_coin=quotes,
        objective="greeks",
    )

    def spread(plan: object) -> float:
        ex = plan.exposure_after  # type: ignore[attr-defined]
        return sum((ex[lim.name] / lim.hi) ** 2 for lim in linear.limits)

    assert g.plan.cost > h.plan.cost and spread(g.plan) < spread(h.plan)
    with pytest.raises(InvalidArgumentError, match="objective"):
        plan_hedge(book, market, candidates=specs, limits=limits, objective="sharpe")
    # an impossible limit (no candidate carries gamma ... with only the perpetual)
    only_perp = specs[:1]
    with pytest.raises(HedgeInfeasibleError) as info:
        plan_hedge(book, market, candidates=only_perp, limits=limits, option_bid_ask_coin=quotes)
    assert set(info.value.violations) >= {"btc vega"}


def test_risk_command(tmp_path: Path) -> None:
    chain = require_data(CHAIN)
    daily = require_data(DAILY)
    report = tmp_path / "risk.html"
    args = ["risk", str(BOOK), "--market", str(chain), *MARK_ARGS, "--limits", str(LIMITS)]
    result = runner.invoke(
        app, [*args, "--history", f"BTC={daily}", "--json", "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["totals"]) == {"BTC"} and doc["report"] == str(report) and report.exists()
    assert len(doc["grid"]["pnl_usd"]) == len(DEFAULT_GRID_SPOTS)
    assert {v["method"] for v in doc["var"]} == {"historical", "fhs"}
    assert any(r["breached"] for r in doc["limits"])
    assert set(doc["margin"]["books"]) == {"BTC", "BTC/USD"} and doc["margin"]["initial_usd"] > 0
    human = runner.invoke(app, [*args, "--history", f"BTC={daily}"])
    assert human.exit_code == 0 and "BREACH" in human.output and "Stress scenarios" in human.output
    no_var = runner.invoke(app, args)  # a VaR limit without a history to compute VaR from
    assert no_var.exit_code == 2 and "var_usd" in no_var.output
    no_mark = ["risk", str(BOOK), "--market", str(chain)]  # the perpetual has no mark
    bad = runner.invoke(app, no_mark)
    assert bad.exit_code == 2 and "BTC-PERPETUAL" in bad.output
    bad = runner.invoke(app, ["risk", str(BOOK), "--market", str(chain), "--mark", "X=abc"])
    assert bad.exit_code == 2 and "--mark" in bad.output


def test_hedge_command(tmp_path: Path) -> None:
    chain = require_data(CHAIN)
    args = ["hedge", str(BOOK), "--market", str(chain), *MARK_ARGS, "--limits", str(LIMITS)]
    result = runner.invoke(app, [*args, "--json", "--max-options", "30"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["feasible"] and doc["trades"] and doc["cost_usd"] > 0
    for name, (lo, hi) in {"btc delta": (-1, 1), "btc vega": (-3e5, 3e5)}.items():
        assert lo - 1e-6 <= doc["exposure_after"][name] <= hi + 1e-6
    tight = tmp_path / "tight.toml"
    tight.write_text(
        '[[limit]]\nname = "no vega"\nmetric = "vega_usd"\nmax_abs = 1.0\n', encoding="utf-8"
    )
    infeasible = runner.invoke(
        app,
        [
            "hedge",
            str(BOOK),
            "--market",
            str(chain),
            *MARK_ARGS,
            "--limits",
            str(tight),
            "--with",
            "BTC-PERPETUAL",
            "--json",
        ],
    )
    assert infeasible.exit_code == 1, infeasible.output
    out = json.loads(infeasible.output)
    assert out["feasible"] is False and "no vega" in out["violations"]


def test_var_backtest_command() -> None:
    daily = require_data(DAILY)
    result = runner.invoke(
        app, ["var-backtest", str(daily), "--methods", "historical,normal", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert [(r["method"], r["level"]) for r in rows] == [
        ("historical", 0.95),
        ("historical", 0.99),
        ("normal", 0.95),
        ("normal", 0.99),
    ]
    normal99 = rows[3]
    assert normal99["exceptions"] > normal99["expected"] and normal99["kupiec_p"] < 0.01
    bad = runner.invoke(app, ["var-backtest", str(daily), "--levels", "high"])
    assert bad.exit_code == 2 and "--levels" in bad.output
    bad = runner.invoke(app, ["var-backtest", str(daily), "--methods", "garch"])
    assert bad.exit_code == 2 and "method" in bad.output
