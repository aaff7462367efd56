"""Scenario revaluation (invrisk.risk.scenarios): grids, vol shocks, historical stresses, TOML.

References:

* Brute force: every (scenario, position) priced one at a time with scalar calls, the smile
  taken from the surface's own API (``VolSurface.moved(...).shocked(VolShock(...)).iv``, whose
  shock and term weight are implemented in the surface kernel, not in the risk package), the
  forward from the moved surface's forward curve, and the value written out per contract type.
* Historical spot moves recomputed from the shared market data files named in each scenario.
"""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from invrisk.data import OptionChain, synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import parse_ccxt, parse_deribit
from invrisk.pricing import black76_price, coin_price
from invrisk.risk import (
    DERIBIT_LIKE_TERMS,
    HISTORICAL_STRESSES,
    MarketSnapshot,
    Portfolio,
    Position,
    Scenario,
    TermWeighting,
    historical_stress,
    load_scenarios,
    revalue,
    spot_vol_grid,
)
from invrisk.surface import VolShock, VolSurface
from invrisk.units import year_fraction
from tests.conftest import REPO_ROOT, require_data

EXAMPLE_TOML = REPO_ROOT / "examples" / "scenarios_btc.toml"
HOURLY = (
    "binance_btc_eth_hourly_2017-2021_cdd/"
    "derived_clean_btcusdt_ethusdt_1h_2017-08-17_2021-06-10.csv.gz"
)
DAILY = "btcusd_daily_2011-2025_bitstamp_coinbase/BTCUSD_1d_candles_full.csv"


def _snapshot(chains: list[OptionChain], marks: dict[str, float], quotes: bool) -> MarketSnapshot:
    parts = [MarketSnapshot.from_chain(c, quote_marks=quotes) for c in chains]
    return MarketSnapshot(
        valuation_ns=parts[0].valuation_ns,
        index_usd={k: v for p in parts for k, v in p.index_usd.items()},
        surfaces={k: v for p in parts for k, v in p.surfaces.items()},
        marks=marks,
        option_quotes={k: v for p in parts for k, v in p.option_quotes.items()},
    )


@pytest.fixture(scope="module")
def setup():  # type: ignore[no-untyped-def]
    btc = synthetic_chain(currency="BTC", index_usd=90_000.0, expiry_days=(3, 14, 45, 120, 300))
    eth = synthetic_chain(currency="ETH", index_usd=3_000.0, expiry_days=(7, 35, 150))
    fut = next(str(n) for n in btc.instrument if "-" in str(n)).split("-")[1]
    marks = {
        "BTC-PERPETUAL": 90_040.0,
        f"BTC-{fut}": 90_200.0,
        "binance:BTC/USDT:USDT": 90_020.0,
        "BTC_USDC": 90_005.0,
        "ETH-PERPETUAL": 3_002.0,
    }
    rng = np.random.default_rng(5)
    positions = []
    for chain, count in ((btc, 12), (eth, 8)):
        for i in rng.choice(len(chain), count, replace=False):
            positions.append(
                Position(
                    instrument=parse_deribit(str(chain.instrument[i])),
                    contracts=float(rng.integers(-25, 26)),
                )
            )
    for i in rng.choice(len(btc), 3, replace=False):
        linear = str(btc.instrument[i]).replace("BTC-", "BTC_USDC-", 1)
        positions.append(Position(instrument=parse_deribit(linear), contracts=-4.0))
    positions += [
        Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=20_000, entry_price=89_000),
        Position(instrument=parse_deribit(f"BTC-{fut}"), contracts=-9_000),
        Position(instrument=parse_ccxt("BTC/USDT:USDT", venue="binance"), contracts=-2.0),
        Position(instrument=parse_deribit("BTC_USDC"), contracts=0.5),
        Position(instrument=parse_deribit("ETH-PERPETUAL"), contracts=-30_000, entry_price=2_950),
    ]
    book = Portfolio(positions)
    return book, _snapshot([btc, eth], marks, False), _snapshot([btc, eth], marks, True)


# -- brute force --------------------------------------------------------------------------------


def _vol_shock(s: Scenario, days: float) -> VolShock:
    power = s.term.power_short if days < s.term.reference_days else s.term.power_long
    return VolShock(
        parallel=s.vol_shift,
        relative=s.vol_relative,
        skew=s.vol_skew,
        reference_days=s.term.reference_days,
        power=power,
    )


def _brute_force_value(
    p: Position, s: Scenario, market: MarketSnapshot, dynamics: str, base_entry: float | None
) -> float:
    """USD value of one position in one scenario, scalar calls only."""
    inst = p.instrument
    coin = p.underlying
    r = s.spot_return_for(coin)
    spot = market.index_usd[coin] * (1.0 + r)
    if inst.is_option:
        assert inst.expiry_ns is not None and inst.strike is not None
        surface: VolSurface = market.surfaces[coin].moved(spot_return=r, dynamics=dynamics)  # type: ignore[arg-type]
        days = year_fraction(market.valuation_ns, inst.expiry_ns) * 365.0
        vol = float(
            surface.shocked(_vol_shock(s, days)).iv(strike=inst.strike, expiry_ns=inst.expiry_ns)
        )
        t_surf = year_fraction(surface.valuation_ns, inst.expiry_ns)
        fwd = float(surface.forward(t_surf))
        t = year_fraction(market.valuation_ns, inst.expiry_ns)
        n = p.contracts * inst.contract_size
        if inst.is_inverse:
            c = coin_price(
                forward=fwd, strike=inst.strike, t_yr=t, vol=vol, option_type=int(inst.right)
            )  # type: ignore[arg-type]
            return n * float(c) * spot
        v = black76_price(
            forward=fwd, strike=inst.strike, t_yr=t, vol=vol, option_type=int(inst.right)
        )  # type: ignore[arg-type]
        return n * float(v)
    base_mark = market.mark_of(inst)
    if inst.is_spot:
        price = market.index_usd[coin] if base_mark is None else base_mark
        return p.contracts * inst.contract_size * price * (1.0 + r)
    assert base_mark is not None and base_entry is not None
    mark = base_mark * (1.0 + r)
    if inst.is_inverse:
        usd_notional = p.contracts * inst.contract_size
        return usd_notional * (1.0 / base_entry - 1.0 / mark) * spot
    return p.contracts * inst.contract_size * (mark - base_entry)


def _brute_force(book: Portfolio, market: MarketSnapshot, scenarios, dynamics: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.empty((len(scenarios), len(book)))
    for j, p in enumerate(book):
        entry = p.entry_price if p.entry_price is not None else market.mark_of(p.instrument)
        for i, s in enumerate(scenarios):
            out[i, j] = _brute_force_value(p, s, market, dynamics, entry)
    return out


@pytest.mark.parametrize("dynamics", ["sticky_strike", "sticky_moneyness"])
def test_grid_equals_a_brute_force_loop_over_positions(setup, dynamics: str) -> None:  # type: ignore[no-untyped-def]
    book, market, _ = setup
    spots = np.linspace(-0.5, 0.5, 21) if dynamics == "sticky_moneyness" else [-0.3, 0.0, 0.2]
    vols = np.linspace(-0.2, 0.4, 9) if dynamics == "sticky_moneyness" else [-0.1, 0.25]
    grid = spot_vol_grid(
        book,
        market,
        spot_returns=spots,
        vol_shifts=vols,
        dynamics=dynamics,
        term=DERIBIT_LIKE_TERMS,
    )  # type: ignore[arg-type]
    expected = _brute_force(book, market, grid.result.scenarios, dynamics)
    np.testing.assert_allclose(grid.result.value_usd, expected, rtol=1e-10, atol=1e-6)
    assert grid.pnl_usd.shape == (len(spots), len(vols))
    base = _brute_force(book, market, [Scenario(name="base")], dynamics)[0]
    np.testing.assert_allclose(
        grid.pnl_usd, (expected - base).sum(axis=1).reshape(grid.shape), rtol=1e-9, atol=1e-4
    )
    i, j = len(spots) // 2, 1
    point = Scenario(name="x", spot_return=spots[i], vol_shift=vols[j], term=DERIBIT_LIKE_TERMS)
    one = revalue(book, market, [point], dynamics=dynamics)  # type: ignore[arg-type]
    np.testing.assert_allclose(grid.position_pnl_usd[i, j], one.pnl_usd[0], rtol=1e-12, atol=1e-8)


def test_shock_shapes_equal_the_surface_shock(setup) -> None:  # type: ignore[no-untyped-def]
    # Relative, skew and per-coin moves, with a single term power (the surface's own VolShock).
    book, market, _ = setup
    scenarios = [
        Scenario(
            name="rel",
            spot_return=-0.1,
            vol_relative=0.3,
            term=TermWeighting(power_short=0.5, power_long=0.5),
        ),
        Scenario(name="skew", spot_return=0.05, vol_skew=-0.08, vol_shift=0.02),
        Scenario(
            name="eth apart",
            spot_return=-0.05,
            spot_returns={"ETH": -0.3},
            vol_shift=0.1,
            term=DERIBIT_LIKE_TERMS,
        ),
    ]
    for dynamics in ("sticky_strike", "sticky_moneyness"):
        result = revalue(book, market, scenarios, dynamics=dynamics)  # type: ignore[arg-type]
        np.testing.assert_allclose(
            result.value_usd, _brute_force(book, market, scenarios, dynamics), rtol=1e-10, atol=1e-6
        )


def test_quote_residuals_are_held_under_moves(setup) -> None:  # type: ignore[no-untyped-def]
    # With exchange quotes, each option keeps its quote-minus-surface vol spread; a sticky
    # strike parallel shock then moves every quoted vol by exactly shift x W.
    book, _, quoted = setup
    s = Scenario(name="up", spot_return=0.1, vol_shift=0.05, term=DERIBIT_LIKE_TERMS)
    result = revalue(book, quoted, [s])
    for j, p in enumerate(book):
        inst = p.instrument
        if not inst.is_option or inst.is_linear:
            continue
        q = quoted.quote_of(inst)
        assert q is not None and inst.expiry_ns is not None and inst.strike is not None
        t = year_fraction(quoted.valuation_ns, inst.expiry_ns)
        w = float(DERIBIT_LIKE_TERMS.weight(t * 365.0))
        c = coin_price(
            forward=q.forward_usd * 1.1,
            strike=inst.strike,
            t_yr=t,
            vol=q.vol + 0.05 * w,
            option_type=int(inst.right),  # type: ignore[arg-type]
        )
        spot = quoted.index_usd[p.underlying] * 1.1
        assert result.value_usd[0, j] == pytest.approx(
            p.contracts * float(c) * spot, rel=1e-9, abs=1e-8
        )


def test_zero_scenario_reprices_the_snapshot(setup) -> None:  # type: ignore[no-untyped-def]
    book, market, quoted = setup
    for m in (market, quoted):
        for dynamics in ("sticky_strike", "sticky_moneyness"):
            r = revalue(book, m, [Scenario(name="flat")], dynamics=dynamics)  # type: ignore[arg-type]
            np.testing.assert_allclose(r.pnl_usd, 0.0, atol=1e-7)
            np.testing.assert_allclose(r.pnl_coin, 0.0, atol=1e-12)


def test_coin_view_is_the_usd_view_at_the_moved_index(setup) -> None:  # type: ignore[no-untyped-def]
    book, market, _ = setup
    s = Scenario(name="x", spot_return=-0.2, spot_returns={"ETH": 0.1}, vol_shift=0.1)
    r = revalue(book, market, [s])
    spot = np.array([market.index_usd[u] * (1 + s.spot_return_for(u)) for u in r.underlying])
    np.testing.assert_allclose(r.value_coin[0] * spot, r.value_usd[0], rtol=1e-14)
    assert r.total_pnl_coin("ETH")[0] == pytest.approx(
        math.fsum(r.pnl_coin[0, [u == "ETH" for u in r.underlying]])
    )


def test_a_vol_shock_below_zero_names_scenario_and_position(setup) -> None:  # type: ignore[no-untyped-def]
    book, market, _ = setup
    with pytest.raises(InvalidArgumentError, match=r"scenario 'crush'.*for position '.+'"):
        revalue(book, market, [Scenario(name="crush", vol_shift=-5.0)])
    with pytest.raises(InvalidArgumentError, match="dynamics"):
        revalue(book, market, [Scenario(name="x")], dynamics="sticky_delta")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="scenarios"):
        revalue(book, market, [])
    with pytest.raises(InvalidArgumentError, match="spot_return"):
        Scenario(name="x", spot_return=-1.0)
    with pytest.raises(InvalidArgumentError, match="vol_shift"):
        Scenario(name="x", vol_shift=math.nan)
    with pytest.raises(InvalidArgumentError, match="power_short"):
        TermWeighting(power_short=-0.1)
    with pytest.raises(InvalidArgumentError, match="spot_returns"):
        spot_vol_grid(book, market, spot_returns=[], vol_shifts=[0.0])


def test_term_weighting() -> None:
    # Deribit-style weights (REFERENCES.md): (30/d)^0.3 below 30 days, (30/d)^0.13 beyond.
    w = DERIBIT_LIKE_TERMS.weight([1.0, 7.0, 29.9, 30.0, 90.0, 365.0])
    expected = [
        30**0.3,
        (30 / 7) ** 0.3,
        (30 / 29.9) ** 0.3,
        1.0,
        (1 / 3) ** 0.13,
        (30 / 365) ** 0.13,
    ]
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    assert np.all(TermWeighting().weight([0.5, 10, 1000]) == 1.0)
    with pytest.raises(InvalidArgumentError, match="days"):
        DERIBIT_LIKE_TERMS.weight([0.0])


# -- historical stresses ------------------------------------------------------------------------


def _hourly(symbol: str) -> dict[str, tuple[float, float]]:
    """open_time_utc -> (open, low) for one symbol."""
    out = {}
    with gzip.open(require_data(HOURLY), "rt") as f:
        for row in csv.DictReader(f):
            if row["symbol"] == symbol:
                out[row["open_time_utc"]] = (float(row["open"]), float(row["low"]))
    return out


def _daily() -> dict[str, dict[str, float]]:
    with require_data(DAILY).open() as f:
        return {
            row["timestamp"][:10]: {k: float(row[k]) for k in ("open", "low", "close")}
            for row in csv.DictReader(f)
        }


def test_historical_spot_moves_match_the_shared_data() -> None:
    btc, eth = _hourly("BTCUSDT"), _hourly("ETHUSDT")

    def hourly_move(table: dict[str, tuple[float, float]], start: str, low_hour: str) -> float:
        return table[low_hour][1] / table[start][0] - 1.0

    covid = historical_stress("covid_2020_03_12")
    assert covid.spot_return == pytest.approx(
        hourly_move(btc, "2020-03-12T04:00:00Z", "2020-03-13T02:00:00Z"), abs=5e-4
    )
    assert covid.spot_return_for("ETH") == pytest.approx(
        hourly_move(eth, "2020-03-12T03:00:00Z", "2020-03-13T02:00:00Z"), abs=5e-4
    )
    flush = historical_stress("leverage_flush_2021_05_19")
    assert flush.spot_return == pytest.approx(
        hourly_move(btc, "2021-05-18T14:00:00Z", "2021-05-19T13:00:00Z"), abs=5e-4
    )
    assert flush.spot_return_for("ETH") == pytest.approx(
        hourly_move(eth, "2021-05-18T21:00:00Z", "2021-05-19T13:00:00Z"), abs=5e-4
    )
    # The windows are the worst 24-hour peak-to-trough of each episode: no hour's open to a low
    # within the next 24 hours falls further in the surrounding days.
    for table, (a, b), move in (
        (btc, ("2020-03-10", "2020-03-16"), covid.spot_return),
        (btc, ("2021-05-16", "2021-05-22"), flush.spot_return),
    ):
        hours = sorted(h for h in table if a <= h[:10] <= b)
        worst = min(
            min(table[h2][1] for h2 in hours[i : i + 24]) / table[hours[i]][0] - 1.0
            for i in range(len(hours))
        )
        assert worst == pytest.approx(move, abs=5e-4)
    day = _daily()
    assert historical_stress("luna_2022_05").spot_return == pytest.approx(
        day["2022-05-12"]["low"] / day["2022-05-05"]["open"] - 1.0, abs=5e-4
    )
    assert historical_stress("ftx_2022_11").spot_return == pytest.approx(
        day["2022-11-09"]["low"] / day["2022-11-08"]["open"] - 1.0, abs=5e-4
    )
    assert day["2022-11-08"]["close"] / day["2022-11-07"]["close"] - 1 == pytest.approx(
        -0.099, abs=5e-4
    )
    assert day["2022-11-09"]["close"] / day["2022-11-08"]["close"] - 1 == pytest.approx(
        -0.143, abs=5e-4
    )
    assert historical_stress("yen_carry_2024_08_05").spot_return == pytest.approx(
        day["2024-08-05"]["low"] / day["2024-08-05"]["open"] - 1.0, abs=5e-4
    )
    # 2025-10-10 is after the end of the shared daily history, as its source says.
    assert max(day) < "2025-10-10"
    assert "not checked" in historical_stress("tariff_2025_10_10").source


def test_every_stress_is_documented_and_revalues(setup) -> None:  # type: ignore[no-untyped-def]
    book, market, _ = setup
    assert len(HISTORICAL_STRESSES) == 6
    for name, s in HISTORICAL_STRESSES.items():
        assert s.name == name and s.description and "spot:" in s.source and "vol:" in s.source
        assert -0.6 < s.spot_return < 0.0 and s.vol_shift > 0.0 and s.term == DERIBIT_LIKE_TERMS
    result = revalue(book, market, list(HISTORICAL_STRESSES.values()))
    assert result.value_usd.shape == (6, len(book))
    # A linear perpetual loses exactly its notional times the coin's move (ETH's own move
    # where the stress has one).
    perp = next(i for i, p in enumerate(book) if p.label == "binance:BTC/USDT:USDT")
    for k, s in enumerate(result.scenarios):
        assert result.pnl_usd[k, perp] == pytest.approx(-2.0 * 90_020.0 * s.spot_return, rel=1e-12)
    with pytest.raises(InvalidArgumentError, match="one of"):
        historical_stress("2008")


# -- TOML ---------------------------------------------------------------------------------------


def test_example_toml_loads() -> None:
    scenarios = load_scenarios(EXAMPLE_TOML)
    assert [s.name for s in scenarios] == [
        "btc -20%, vols +15 pts (short expiries more)",
        "btc +15%, vols -10%, puts cheaper",
        "eth decouples",
        "ftx_2022_11",
        "covid replay",
    ]
    first = scenarios[0]
    assert first.spot_return == -0.2 and first.vol_shift == 0.15
    assert first.term == TermWeighting(reference_days=30.0, power_short=0.3, power_long=0.13)
    assert scenarios[1].term == TermWeighting() and scenarios[1].vol_skew == 0.05
    assert (
        scenarios[2].spot_return_for("ETH") == -0.25
        and scenarios[2].spot_return_for("BTC") == -0.05
    )
    assert scenarios[3] is HISTORICAL_STRESSES["ftx_2022_11"]
    covid = HISTORICAL_STRESSES["covid_2020_03_12"]
    assert (
        scenarios[4].spot_returns == covid.spot_returns
        and scenarios[4].vol_shift == covid.vol_shift
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[[scenario]]\nname = "a"\nvol_shif = 0.1\n', "scenario.0.vol_shif"),
        ('[[scenario]]\nname = "a"\nspot_return = -1.5\n', "scenario.0.spot_return"),
        ('[[scenario]]\nname = "a"\nspot_return = nan\n', "scenario.0.spot_return"),
        ('[[scenario]]\nhistorical = "ftx_2022_11"\nvol_shift = 0.1\n', "only 'name'"),
        ('[[scenario]]\nhistorical = "lehman"\n', "historical must be one of"),
        ("[[scenario]]\nspot_return = 0.1\n", "needs a 'name'"),
        ('[[scenario]]\nname = "a"\n[[scenario]]\nname = "a"\n', "distinct scenario names"),
        ('[[scenario]]\nname = "a"\n[scenario.term]\npower_short = -1\n', "term.power_short"),
        ('[[scenario]]\nname = "a"\n[scenario.spot_returns]\nETH = -2\n', "spot_returns.ETH"),
        ("scenario = [", "valid TOML"),
        ("", "scenario"),
    ],
)
def test_bad_toml_names_the_file_and_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError) as err:
        load_scenarios(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_missing_toml_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="existing TOML file"):
        load_scenarios(tmp_path / "nope.toml")
