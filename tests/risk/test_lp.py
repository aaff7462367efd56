"""AMM liquidity positions in the risk layer: Greeks, scenarios, VaR and venue exposure.

References: Uniswap v3 whitepaper (Adams et al. 2021) eq. 6.29-6.30 for the amounts, x =
L(1/√P - 1/√p_b), y = L(√P - √p_a); issue 9's worked values (L = 500, P = 4000, [3000, 5000]
-> 0.834626 ETH, 4236.65 USDC). The Greeks are checked against the amm functions, against
closed forms written out here, and against central finite differences of the scenario
revaluation (which values the position with v3_value, not with the Greeks).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.amm import USDC_WETH_005, v3_greeks, v3_value
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import InstrumentKind, format_ccxt, format_deribit, parse_ccxt
from invrisk.risk import (
    MarketSnapshot,
    Portfolio,
    Position,
    Scenario,
    lp_instrument,
    lp_position,
    portfolio_greeks,
    portfolio_var,
    revalue,
    spot_vol_grid,
)
from invrisk.risk.venues import VenueSpec, venue_exposures, venue_failure

LO, HI, L, P = 3000.0, 5000.0, 500.0, 4000.0


def _lp(liquidity: float = L, lo: float = LO, hi: float = HI) -> Position:
    return lp_position(liquidity=liquidity, price_lower=lo, price_upper=hi, pool=USDC_WETH_005)


def _market(index: float = P, **marks: float) -> MarketSnapshot:
    return MarketSnapshot(valuation_ns=0, index_usd={"ETH": index}, marks=marks)


def test_worked_position_in_the_portfolio() -> None:
    g = portfolio_greeks(Portfolio([_lp()]), _market())
    x = L * (1 / math.sqrt(P) - 1 / math.sqrt(HI))  # eq. 6.29, by hand
    y = L * (math.sqrt(P) - math.sqrt(LO))  # eq. 6.30
    assert x == pytest.approx(0.834626, abs=5e-7) and y == pytest.approx(4236.65, abs=5e-3)
    np.testing.assert_allclose(g.value_usd, [x * P + y], rtol=1e-14)
    np.testing.assert_allclose(g.delta_coin, [x], rtol=1e-14)
    np.testing.assert_allclose(g.delta_usd, [x * P], rtol=1e-14)
    np.testing.assert_allclose(g.gamma_coin_per_usd, [-0.5 * L / P**1.5], rtol=1e-14)
    np.testing.assert_allclose(g.cash_gamma_usd, [-0.5 * L * math.sqrt(P)], rtol=1e-14)
    np.testing.assert_allclose(g.value_coin, [(x * P + y) / P], rtol=1e-14)
    for name in ("vega_usd", "theta_usd", "rho_usd", "vanna_coin", "volga_usd"):
        assert getattr(g, name)[0] == 0.0
    assert g.kind == ("lp",) and g.venue == ("uniswap_v3",) and g.underlying == ("ETH",)


@pytest.mark.parametrize("index", [2500.0, 2999.0, 3500.0, 4999.0, 6000.0])
@pytest.mark.parametrize("ratio", [1.0, 1.002])
def test_greeks_equal_the_amm_functions(index: float, ratio: float) -> None:
    """The pool price may sit off the index (its mark): P = ρ S, delta = ρ x, gamma = ρ² dx/dP."""
    pos = _lp()
    market = _market(index, **{"uniswap_v3:" + pos.instrument.name: ratio * index})
    g = portfolio_greeks(Portfolio([pos]), market)
    ref = v3_greeks(liquidity=L, price=ratio * index, price_lower=LO, price_upper=HI)
    np.testing.assert_allclose(g.value_usd, [ref.value_quote], rtol=1e-14)
    np.testing.assert_allclose(g.delta_coin, [ratio * ref.delta_qty], rtol=1e-14)
    np.testing.assert_allclose(
        g.gamma_coin_per_usd, [ratio**2 * ref.gamma_qty_per_quote], rtol=1e-14, atol=0.0
    )
    np.testing.assert_allclose(g.basis_delta_usd, [ref.delta_qty * ratio * index], rtol=1e-14)


@pytest.mark.parametrize("index", [2500.0, 3300.0, 4000.0, 4700.0, 6000.0])
def test_greeks_match_finite_differences_of_the_scenario_revaluation(index: float) -> None:
    """revalue() prices the moved position with v3_value; its central differences in the index
    must give the analytic delta and gamma of portfolio_greeks (away from the range ends)."""
    book = Portfolio([_lp()])
    market = _market(index)
    h = 1e-4
    res = revalue(
        book,
        market,
        [Scenario(name="dn", spot_return=-h), Scenario(name="up", spot_return=h)],
    )
    v_dn, v_up = res.value_usd[:, 0]
    v0 = res.base_value_usd[0]
    ds = h * index
    g = portfolio_greeks(book, market)
    delta_fd = (v_up - v_dn) / (2 * ds)
    gamma_fd = (v_up - 2 * v0 + v_dn) / ds**2
    # central differences: O(h²) truncation (delta) and float cancellation in gamma (V ~ 1e4
    # USD, eps·V/ds² ~ 2e-12·1e4/0.16 ~ 1e-7 coins/USD against |gamma| ~ 1e-3)
    assert delta_fd == pytest.approx(g.delta_coin[0], rel=1e-7, abs=1e-10)
    assert gamma_fd == pytest.approx(g.gamma_coin_per_usd[0], rel=1e-4, abs=1e-7)


def test_scenarios_revalue_exactly_not_by_taylor() -> None:
    """A -30% move takes the price (4000 -> 2800) out of the range: the position is then all
    ETH, worth x(p_a)·2800, which a delta-gamma expansion misses by hundreds of USD."""
    book = Portfolio([_lp()])
    grid = spot_vol_grid(
        book, _market(), spot_returns=np.array([-0.3, -0.1, 0.0, 0.2]), vol_shifts=np.array([0.0])
    )
    moved = P * np.array([0.7, 0.9, 1.0, 1.2])
    exact = np.asarray(v3_value(liquidity=L, price=moved, price_lower=LO, price_upper=HI))
    np.testing.assert_allclose(grid.pnl_usd[:, 0], exact - exact[2], rtol=1e-12, atol=1e-9)
    x_a = L * (1 / math.sqrt(LO) - 1 / math.sqrt(HI))  # all ETH below the range
    assert exact[0] == pytest.approx(x_a * 2800.0, rel=1e-14)
    g = portfolio_greeks(book, _market())
    taylor = g.delta_coin[0] * (-1200.0) + 0.5 * g.gamma_coin_per_usd[0] * 1200.0**2
    assert abs((exact[0] - exact[2]) - taylor) > 100.0


def test_v2_position_is_the_full_range() -> None:
    """Constant product: V = 2L√P, delta = L/√P, gamma = -L/(2P^{3/2}) (Uniswap v2 §2)."""
    pos = lp_position(
        liquidity=L,
        price_lower=0.0,
        price_upper=math.inf,
        base="ETH",
        quote="USDC",
        venue="uniswap_v2",
    )
    assert pos.instrument.name == "ETH-USDC-LP-0-inf"
    g = portfolio_greeks(Portfolio([pos]), _market())
    np.testing.assert_allclose(g.value_usd, [2 * L * math.sqrt(P)], rtol=1e-14)
    np.testing.assert_allclose(g.delta_coin, [L / math.sqrt(P)], rtol=1e-14)
    np.testing.assert_allclose(g.gamma_coin_per_usd, [-0.5 * L / P**1.5], rtol=1e-14)


def test_lp_plus_its_perp_hedge_has_near_zero_delta() -> None:
    lp = _lp()
    perp = parse_ccxt("ETH/USDT:USDT", venue="binance")
    market = _market(P, **{"binance:ETH/USDT:USDT": P})
    x = float(portfolio_greeks(Portfolio([lp]), market).delta_coin[0])
    book = Portfolio([lp, Position(instrument=perp, contracts=-x, label="perp hedge")])
    total = portfolio_greeks(book, market).totals()["ETH"]
    assert abs(total.delta_coin) < 1e-12 * x
    assert total.gamma_coin_per_usd == pytest.approx(-0.5 * L / P**1.5, rel=1e-14)
    # a 1% move loses only the gamma P&L, -|Γ$|·r²/2 to second order
    res = revalue(book, market, [Scenario(name="up", spot_return=0.01)])
    assert res.total_pnl_usd()[0] == pytest.approx(0.5 * total.cash_gamma_usd * 0.01**2, rel=0.02)


def test_portfolio_var_includes_the_lp() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0, 0.04, 300)
    book = Portfolio([_lp()])
    v = portfolio_var(book, _market(), returns={"ETH": returns}, level=0.99)
    exact = np.asarray(
        v3_value(liquidity=L, price=P * (1 + returns), price_lower=LO, price_upper=HI)
    )
    np.testing.assert_allclose(
        v.pnl_usd,
        exact - v3_value(liquidity=L, price=P, price_lower=LO, price_upper=HI),
        rtol=1e-12,
        atol=1e-9,
    )
    assert v.var_usd > 0


def test_venue_exposure_counts_the_protocol() -> None:
    lp = _lp()
    perp = parse_ccxt("ETH/USDT:USDT", venue="binance")
    market = _market(P, **{"binance:ETH/USDT:USDT": P})
    x = L * (1 / math.sqrt(P) - 1 / math.sqrt(HI))
    book = Portfolio([lp, Position(instrument=perp, contracts=-x, entry_price=P)])
    g = portfolio_greeks(book, market)
    venues = {
        "uniswap_v3": VenueSpec(name="uniswap_v3", type="defi"),
        "binance": VenueSpec(name="binance", type="cex", collateral_usd=5_000.0),
    }
    rows = {r.venue: r for r in venue_exposures(g, venues)}
    value = float(v3_value(liquidity=L, price=P, price_lower=LO, price_upper=HI))
    assert rows["uniswap_v3"].net_value_usd == pytest.approx(value, rel=1e-14)
    assert rows["uniswap_v3"].at_risk_usd == pytest.approx(value, rel=1e-14)
    assert rows["uniswap_v3"].delta_usd == pytest.approx(x * P, rel=1e-14)
    # an exploit of the pool leaves the short perpetual alone: the book is short x ETH
    fail = venue_failure(g, venues, "uniswap_v3")
    assert fail.delta_before_usd == pytest.approx(0.0, abs=1e-9)
    assert fail.delta_after_usd == pytest.approx(-x * P, rel=1e-12)
    assert fail.loss_usd == pytest.approx(0.9 * value, rel=1e-14)  # defi default recovery 10%


def test_bad_lp_input_is_named() -> None:
    with pytest.raises(InvalidArgumentError, match="liquidity"):
        _lp(liquidity=-1.0)
    with pytest.raises(InvalidArgumentError, match="price_lower/price_upper"):
        _lp(lo=5000.0, hi=3000.0)
    with pytest.raises(InvalidArgumentError, match="price_lower"):
        _lp(lo=-1.0)
    with pytest.raises(InvalidArgumentError, match="quote"):
        lp_position(liquidity=1.0, price_lower=1.0, price_upper=2.0, base="ETH", quote="DAI")
    with pytest.raises(InvalidArgumentError, match="pool"):
        lp_position(liquidity=1.0, price_lower=1.0, price_upper=2.0)
    inst = lp_instrument(price_lower=LO, price_upper=HI, pool=USDC_WETH_005)
    assert inst.kind is InstrumentKind.LP and inst.is_lp and inst.settle == "USDC"
    # the liquidity of a Position of an LP instrument cannot be negative either
    with pytest.raises(InvalidArgumentError, match="liquidity"):
        Position(instrument=inst, contracts=-5.0)
    with pytest.raises(InvalidArgumentError, match="entry_price"):
        Position(instrument=inst, contracts=5.0, entry_price=4000.0)
    with pytest.raises(InvalidArgumentError, match=r"inst\.kind"):
        format_deribit(inst)
    with pytest.raises(InvalidArgumentError, match=r"inst\.kind"):
        format_ccxt(inst)
    # range fields belong to LPs only
    perp = parse_ccxt("ETH/USDT:USDT")
    import dataclasses

    with pytest.raises(InvalidArgumentError, match="LP only"):
        dataclasses.replace(perp, price_lower=1.0, price_upper=2.0)


def test_lp_rows_in_a_positions_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``LP:<COIN>/<QUOTE>:<lo>-<hi>`` rows read into the same positions as lp_position (the
    worked position), v2 as ``0-inf``; malformed rows name the file, the row and the field."""
    from invrisk.errors import DataError
    from invrisk.risk import read_positions

    path = tmp_path / "book.csv"
    path.write_text(
        "venue,instrument,contracts,label\n"
        "uniswap_v3,LP:ETH/USDC:3000-5000,500,\n"
        "uniswap_v2,LP:ETH/USDC:0-inf,10,v2\n",
        encoding="utf-8",
    )
    book = read_positions(path)
    g = portfolio_greeks(book, _market())
    ref = portfolio_greeks(Portfolio([_lp()]), _market())
    np.testing.assert_allclose(g.value_usd[0], ref.value_usd[0], rtol=1e-14)
    np.testing.assert_allclose(g.delta_coin[0], ref.delta_coin[0], rtol=1e-14)
    assert g.venue == ("uniswap_v3", "uniswap_v2") and g.underlying == ("ETH", "ETH")
    assert g.value_usd[1] == pytest.approx(2 * 10 * math.sqrt(P), rel=1e-12)  # v2: 2 L sqrt(P)
    for bad, word in (
        ("uniswap_v3,LP:ETH/USDC:5000-3000,500,", "price_upper"),
        ("uniswap_v3,LP:ETH-USDC-3000-5000,500,", "LP:<COIN>/<QUOTE>"),
        ("uniswap_v3,LP:ETH/USDC:a-b,500,", "numeric"),
        ("uniswap_v3,LP:ETH/USDC:3000-5000,-1,", "liquidity"),
    ):
        path.write_text(f"venue,instrument,contracts,label\n{bad}\n", encoding="utf-8")
        with pytest.raises(DataError, match=word) as info:
            read_positions(path)
        assert "row 1" in str(info.value) and "book.csv" in str(info.value)
