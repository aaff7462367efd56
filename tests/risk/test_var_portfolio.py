"""Portfolio VaR/ES by full revaluation: linear books against the return quantile, option books
against their own scenario revaluation, real daily BTC history."""

from __future__ import annotations

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.instruments import parse_ccxt
from invrisk.risk import MarketSnapshot, Portfolio, Position, Scenario, revalue
from invrisk.risk.var import var_es
from invrisk.risk.var_portfolio import portfolio_var
from tests.conftest import require_data

DAILY = "btcusd_daily_2011-2025_bitstamp_coinbase/BTCUSD_1d_candles_full.csv"


def linear_book(qty: float = 2.0) -> tuple[Portfolio, MarketSnapshot]:
    book = Portfolio([Position(instrument=parse_ccxt("BTC/USDT:USDT"), contracts=qty)])
    m = MarketSnapshot(
        valuation_ns=0, index_usd={"BTC": 60_000.0}, marks={"BTC/USDT:USDT": 60_000.0}
    )
    return book, m


def test_linear_book_var_is_the_notional_times_the_return_quantile() -> None:
    """2 BTC long at 60,000: the P&L of a return r is 120,000 r, so historical VaR/ES are
    120,000 times those of the returns themselves."""
    r = np.random.default_rng(0).standard_t(4, 1_000) * 0.03
    book, m = linear_book()
    got = portfolio_var(book, m, returns={"BTC": r}, level=0.99)
    ref = var_es(r, level=0.99)
    assert got.var_usd == pytest.approx(120_000 * ref.var, rel=1e-9)
    assert got.es_usd == pytest.approx(120_000 * ref.es, rel=1e-9)
    pnl, moves = got.worst
    assert pnl == pytest.approx(120_000 * r.min(), rel=1e-9) and moves == {"BTC": r.min()}
    short = portfolio_var(linear_book(-2.0)[0], m, returns={"BTC": r}, level=0.99)
    assert short.var_usd == pytest.approx(120_000 * var_es(-r, level=0.99).var, rel=1e-9)


def test_option_book_pnl_is_the_revaluation_of_each_move(synthetic) -> None:  # type: ignore[no-untyped-def]
    """The mixed BTC/ETH book under 300 joint historical moves: each scenario's P&L equals a
    direct revaluation of that move, and VaR/ES are read from those P&Ls."""
    market, book, _ = synthetic
    rng = np.random.default_rng(1)
    btc = rng.normal(0, 0.04, 300)
    eth = 0.8 * btc + rng.normal(0, 0.03, 300)
    got = portfolio_var(book, market, returns={"BTC": btc, "ETH": eth}, level=0.95)
    for i in (0, 17, 299):
        one = revalue(
            book, market, [Scenario(name="x", spot_returns={"BTC": btc[i], "ETH": eth[i]})]
        )
        assert got.pnl_usd[i] == pytest.approx(float(one.total_pnl_usd()[0]), rel=1e-10, abs=1e-6)
    ref = var_es(got.pnl_usd, level=0.95)
    assert (got.var_usd, got.es_usd) == (ref.var, ref.es)
    mc = portfolio_var(
        book, market, returns={"BTC": btc, "ETH": eth}, method="student_t", n_paths=2_000, seed=3
    )
    assert mc.pnl_usd.size == 2_000 and np.all(mc.returns > -1.0)
    assert mc.es_usd >= mc.var_usd


def test_fhs_and_mc_on_the_real_daily_history() -> None:
    """A 1 BTC long on the last 1,000 daily returns (2022-12 .. 2025-09): FHS rescales the
    window's standardised residuals to tomorrow's GARCH volatility, so its VaR is the window's
    residual quantile times sigma_next times the notional; the Student-t Monte Carlo VaR lies
    within a factor 2 of the historical one on the same window (both describe the same
    returns; the factor covers the volatility regime of the last day)."""
    from invrisk.data import read_ohlcv
    from invrisk.risk.var import fhs_scenarios, fit_garch11

    close = read_ohlcv(require_data(DAILY)).close
    r = (close[1:] / close[:-1] - 1.0)[-1_000:]
    book, m = linear_book(1.0)
    fhs = portfolio_var(book, m, returns={"BTC": r}, method="fhs", level=0.99)
    sc = fhs_scenarios(r, garch=fit_garch11(r)).scenarios
    assert fhs.var_usd == pytest.approx(60_000 * var_es(sc, level=0.99).var, rel=1e-9)
    hist = portfolio_var(book, m, returns={"BTC": r}, level=0.99)
    mc = portfolio_var(book, m, returns={"BTC": r}, method="student_t", n_paths=20_000)
    assert 0.5 * hist.var_usd < mc.var_usd < 2.0 * hist.var_usd


def test_bad_input_is_named() -> None:
    book, m = linear_book()
    r = np.full(10, 0.01)
    for kw, name in (
        ({"returns": {"ETH": r}}, "returns"),
        ({"returns": {"BTC": np.r_[r, np.nan]}}, "returns\\['BTC'\\]"),
        ({"returns": {"BTC": r}, "window": 11}, "window"),
        ({"returns": {"BTC": r}, "method": "garch"}, "method"),
        ({"returns": {"BTC": r}, "level": 1.5}, "level"),
    ):
        with pytest.raises(InvalidArgumentError, match=name):
            portfolio_var(book, m, **kw)  # type: ignore[arg-type]


def test_grid_spline_matches_full_revaluation(synthetic) -> None:  # type: ignore[no-untyped-def]
    """The two-coin option book under 3,000 Student-t moves: the per-coin spline on 64 grid
    points gives every path's P&L within 1e-4 of the book's largest P&L move (full revaluation
    of the same paths as the reference), and VaR/ES within 1e-4 relative."""
    market, book, _ = synthetic
    rng = np.random.default_rng(5)
    btc = rng.normal(0, 0.04, 500)
    hist = {"BTC": btc, "ETH": 0.8 * btc + rng.normal(0, 0.03, 500)}
    kw = {"returns": hist, "method": "student_t", "n_paths": 3_000, "seed": 9, "level": 0.99}
    full = portfolio_var(book, market, **kw)  # type: ignore[arg-type]
    fast = portfolio_var(book, market, grid_points=64, **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(full.returns, fast.returns)
    scale = float(np.abs(full.pnl_usd).max())
    assert float(np.abs(fast.pnl_usd - full.pnl_usd).max()) < 1e-4 * scale
    assert fast.var_usd == pytest.approx(full.var_usd, rel=1e-4)
    assert fast.es_usd == pytest.approx(full.es_usd, rel=1e-4)
    with pytest.raises(InvalidArgumentError, match="grid_points"):
        portfolio_var(book, market, grid_points=3, **kw)  # type: ignore[arg-type]
