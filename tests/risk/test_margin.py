"""Portfolio margin (invrisk.risk.margin): Deribit's published example, hand-worked books,
cross-checks against scenario revaluation, and properties.

References used here:

* Deribit API documentation, ``private/pme/simulate``, response example (model_params of
  2024-06-17T10:22:20Z), https://docs.deribit.com/api-reference/account-management/private-simulate:
  a BTC book of BTC-PERPETUAL (0.314538364 BTC) and BTC-28JUN24 (-0.001187534 BTC), index
  65,666.19, marks 65,910.57 and 67,371.75; its risk vectors, ``worst_case``, ``roll_shock``,
  ``risk_matrix_margin`` and ``maintenance_margin`` are copied below.
* Hand-worked books (the arithmetic is written beside each assertion).
* :func:`invrisk.risk.revalue` with :class:`~invrisk.risk.Scenario` objects, whose vol shock
  is implemented in the scenario module, not in the margin module; the Deribit-style weight is
  recomputed here by hand.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.data import load_deribit_chain, synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import parse_ccxt, parse_deribit
from invrisk.risk import (
    DEFAULT_MARGIN_PARAMS,
    FLAT_TERMS,
    MarginParams,
    MarginScenario,
    MarketSnapshot,
    Portfolio,
    Position,
    Scenario,
    TermWeighting,
    load_margin_params,
    portfolio_margin,
    revalue,
)
from invrisk.risk._book import Dynamics
from invrisk.units import year_fraction
from tests.conftest import REPO_ROOT, require_data

EXAMPLE_TOML = REPO_ROOT / "examples" / "margin_params.toml"
SNAPSHOT = "deribit_chain_snapshots_2026_znmahbub/deribit_options_snapshot_20260101T091835Z.csv.gz"
EXPIRY_DAYS = (3, 7, 14, 30, 60, 120, 240)


@functools.cache
def _market() -> MarketSnapshot:
    chain = synthetic_chain(currency="BTC", index_usd=90_000.0, expiry_days=EXPIRY_DAYS)
    marks = {"BTC-PERPETUAL": 90_040.0, "BTC-30AUG26": 93_500.0, "BTC-3MAR26": 90_900.0}
    marks["BTC_USDC-PERPETUAL"] = 90_030.0
    return MarketSnapshot.from_chain(chain, marks=marks, quote_marks=True)


@functools.cache
def _codes() -> tuple[str, ...]:
    """Expiry codes of the synthetic chain, nearest first."""
    chain = synthetic_chain(currency="BTC", index_usd=90_000.0, expiry_days=EXPIRY_DAYS)
    seen: dict[str, int] = {}
    for name, e in zip(chain.instrument, chain.expiry_ns, strict=True):
        seen.setdefault(str(name).split("-")[1], int(e))
    return tuple(sorted(seen, key=seen.__getitem__))


def _option(code: str, strike: float, right: str, contracts: float, label: str = "") -> Position:
    name = f"BTC-{code}-{int(strike)}-{right}"
    return Position(instrument=parse_deribit(name), contracts=contracts, label=label)


def _strike(code: str, moneyness: float) -> float:
    m = _market()
    expiry = parse_deribit(f"BTC-{code}-90000-C").expiry_ns
    assert expiry is not None
    fwd = float(m.surfaces["BTC"].forward(year_fraction(m.surfaces["BTC"].valuation_ns, expiry)))
    return float(max(1000, round(fwd * moneyness / 1000.0) * 1000))


def _im(book: Portfolio, key: str = "BTC", **kw: object) -> float:
    params = MarginParams(**kw) if kw else None  # type: ignore[arg-type]
    return portfolio_margin(book, _market(), params=params)[key].initial_margin


# -- Deribit's documented example ---------------------------------------------------------------

DERIBIT_PERP_STD = [-0.05991206933333334, -0.04289159509090909, -0.027351162086956524,
                    -0.013105765166666668, 0.0, 0.012097629384615385, 0.023299138074074074,
                    0.033700538999999995, 0.043384601931034494]  # fmt: skip
DERIBIT_FUT_STD = [0.0002261969523809524, 0.00016193645454545456, 0.00010326382608695652,
                   0.00004948058333333334, 0.0, -0.00004567438461538462, -0.00008796548148148148,
                   -0.0001272357857142857, -0.00016379779310344832]  # fmt: skip


def _deribit_example(which: str = "both") -> MarketSnapshot | Portfolio:
    perp, fut = 65_910.57, 67_371.75
    positions = []
    if which in ("both", "perp"):  # 0.314538364 BTC = N / mark, N in USD (10 USD contracts)
        positions.append(
            Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=0.314538364 * perp / 10)
        )
    if which in ("both", "fut"):
        positions.append(
            Position(instrument=parse_deribit("BTC-28JUN24"), contracts=-0.001187534 * fut / 10)
        )
    return Portfolio(positions)


DERIBIT_MARKET = MarketSnapshot(
    valuation_ns=1_718_619_740_501 * 1_000_000,
    index_usd={"BTC": 65_666.19},
    marks={"BTC-PERPETUAL": 65_910.57, "BTC-28JUN24": 67_371.75},
)


def test_reproduces_deribits_documented_pme_example() -> None:
    """Deribit API docs, private/pme/simulate response example (see the module docstring)."""
    for which, vector in (("perp", DERIBIT_PERP_STD), ("fut", DERIBIT_FUT_STD)):
        b = portfolio_margin(_deribit_example(which), DERIBIT_MARKET)["BTC"]  # type: ignore[arg-type]
        # Deribit's 27-entry standard vector repeats each move 3 times (no options: no vega).
        np.testing.assert_allclose(
            b.risk_matrix_coin, np.repeat(vector, 3).reshape(9, 3), atol=1e-12
        )
        # Extended entries (-66%, -33%, +50% ... +500%) equal the -16% / +16% entries.
        expected_ext = [vector[0]] * 2 + [vector[-1]] * 6
        np.testing.assert_allclose(b.extended_pnl_coin, expected_ext, atol=1e-12)
    b = portfolio_margin(_deribit_example(), DERIBIT_MARKET)["BTC"]  # type: ignore[arg-type]
    assert b.margin_currency == "BTC" and b.coin_margined
    assert b.worst_scenario.table == "standard" and b.worst_scenario.spot_return == -0.16
    assert b.worst_scenario.vol_state == "same"  # Deribit: bucket 1, side left, index 1
    assert b.worst_loss == pytest.approx(0.05968587238095239, abs=1e-12)  # worst_case
    assert b.roll_shock == pytest.approx(0.00315725898, abs=1e-12)  # roll_shock
    assert b.delta_shock == 0.0  # delta_shock
    np.testing.assert_array_equal(b.extended_contribution, np.zeros(8))  # aggregated extended
    # risk_matrix_margin 0.06284313098 and maintenance_margin 0.050274504784 (= 0.8 x IM); the
    # document's own sum worst_case + roll_shock is 0.06284313136, 3.8e-10 above its figure.
    assert b.initial_margin == pytest.approx(0.06284313098, abs=1e-9)
    assert b.maintenance_margin == pytest.approx(0.050274504784, abs=1e-9)
    assert b.initial_margin_usd == pytest.approx(b.initial_margin * 65_666.19, rel=1e-15)


# -- hand-worked books --------------------------------------------------------------------------


def _linear_perp(qty: float, price: float = 90_000.0) -> tuple[Portfolio, MarketSnapshot]:
    book = Portfolio([Position(instrument=parse_ccxt("BTC/USDT:USDT"), contracts=qty)])
    m = MarketSnapshot(valuation_ns=0, index_usd={"BTC": price}, marks={"BTC/USDT:USDT": price})
    return book, m


@pytest.mark.parametrize("qty", [1.5, -1.5])
def test_linear_perpetual_by_hand(qty: float) -> None:
    book, m = _linear_perp(qty)
    b = portfolio_margin(book, m)["BTC/USD"]
    # |1.5| x 90,000 x 0.16 = 21,600 USD at the adverse 16% edge; roll: 1% (usd book) = 1,350.
    assert b.margin_currency == "USD" and b.key == "BTC/USD"
    assert b.worst_loss == pytest.approx(21_600.0, rel=1e-13)
    assert b.worst_scenario.spot_return == (-0.16 if qty > 0 else 0.16)
    assert b.roll_shock == pytest.approx(1_350.0, rel=1e-13)
    assert b.delta_shock == 0.0
    assert b.initial_margin == pytest.approx(22_950.0, rel=1e-13)
    assert b.maintenance_margin == pytest.approx(0.8 * 22_950.0, rel=1e-13)
    assert b.initial_margin_coin == pytest.approx(22_950.0 / 90_000.0, rel=1e-13)
    assert b.risk_matrix is b.risk_matrix_usd and not b.coin_margined
    assert b.summary()["maintenance_margin_usd"] == pytest.approx(18_360.0, rel=1e-13)
    # A wider range: 1.5 x 90,000 x (0.20 + 0.01) = 28,350.
    wide = portfolio_margin(book, m, params=MarginParams(price_range=0.2, min_annualised_move=0.01))
    assert wide["BTC/USD"].initial_margin == pytest.approx(28_350.0, rel=1e-13)
    # The extended table cuts a perpetual's move at the range, then dampens: never binding.
    assert np.all(b.extended_contribution >= -21_600.0)


def test_delta_shock_by_hand() -> None:
    # 500 BTC at 90,000 = 45M USD of delta; threshold 20M USD = 222.22 BTC; excess 277.78 BTC;
    # move 0.00005 x 277.78 = 1.3889%; on 500 BTC x 90,000: 625,000 USD.
    book, m = _linear_perp(500.0)
    b = portfolio_margin(book, m)["BTC/USD"]
    assert b.delta_total_coin == pytest.approx(500.0, rel=1e-14)
    assert b.delta_shock == pytest.approx(625_000.0, rel=1e-12)
    assert b.initial_margin == pytest.approx(500 * 90_000 * 0.17 + 625_000.0, rel=1e-12)
    # 3,000 BTC: 0.00005 x 2,777.8 = 13.9% is capped at max_delta_shock 10%: 27M USD.
    book, m = _linear_perp(-3_000.0)
    assert portfolio_margin(book, m)["BTC/USD"].delta_shock == pytest.approx(27e6, rel=1e-12)


def test_roll_shock_by_hand_nets_within_an_expiry_only() -> None:
    m = _market()
    far = parse_deribit("BTC-30AUG26")
    assert far.expiry_ns is not None
    t = year_fraction(m.valuation_ns, far.expiry_ns)
    rate = 0.075 * t  # 0.075 x 0.66 years = 4.9% > the 1% floor
    assert rate > 0.01
    # Long 9,350 USD of the far future: N / P = 0.1 BTC; roll = 0.1 x 0.075 T.
    one = Portfolio([Position(instrument=far, contracts=935.0)])
    assert portfolio_margin(one, m)["BTC"].roll_shock == pytest.approx(0.1 * rate, rel=1e-12)
    # Against a short perpetual of the same USD size: different expiries do not net.
    spread = Portfolio([*one, Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=-935)])
    expected = 0.1 * rate + 9_350.0 / 90_040.0 * 0.01
    assert portfolio_margin(spread, m)["BTC"].roll_shock == pytest.approx(expected, rel=1e-12)
    # Long and short the same future under two labels: nothing left, margin 0.
    flat = Portfolio([*one, Position(instrument=far, contracts=-935.0, label="other")])
    b = portfolio_margin(flat, m)["BTC"]
    assert b.roll_shock == 0.0 and b.initial_margin == pytest.approx(0.0, abs=1e-15)


def test_extended_dampener_and_factor_by_hand() -> None:
    # 200 short 3-day calls 20% out of the money: dampener off, factor 0.5 -> half the raw P&L.
    code = _codes()[0]
    book = Portfolio([_option(code, _strike(code, 1.2), "C", -200.0)])
    raw = portfolio_margin(book, _market(), params=MarginParams(extended_dampener_usd=0.0))["BTC"]
    half = MarginParams(extended_dampener_usd=0.0, extended_table_factor=0.5)
    b = portfolio_margin(book, _market(), params=half)["BTC"]
    np.testing.assert_allclose(b.extended_contribution, 0.5 * raw.extended_pnl_coin, rtol=1e-15)
    # The default dampener: 100,000 USD / 90,000 per range beyond the first, towards zero.
    d = portfolio_margin(book, _market())["BTC"]
    allowance = (np.abs(d.extended_moves) / 0.16 - 1.0) * 100_000.0 / 90_000.0
    loss = d.extended_pnl_coin < 0
    np.testing.assert_allclose(
        d.extended_contribution[loss],
        np.minimum(d.extended_pnl_coin[loss] + allowance[loss], 0.0),
        rtol=1e-14,
        atol=1e-15,
    )
    # +500% puts the calls deep in the money: a loss of about 200 x (1 - 1.2 / 6) = 160 BTC,
    # less the dampener's (5 / 0.16 - 1) x 100,000 / 90,000 = 33.6 BTC: the extended table
    # sets the margin (at +16% the 3-day calls lose far less).
    k = _strike(code, 1.2)
    assert d.extended_pnl_coin[-1] == pytest.approx(-200 * (1 - k / (6 * 90_000)), rel=0.02)
    assert d.worst_scenario == MarginScenario("extended", 5.0, "up")
    assert d.binding_term == "extended"
    assert d.worst_loss == pytest.approx(-d.extended_pnl_coin[-1] - 33.611111, rel=1e-6)


# -- cross-checks against scenario revaluation --------------------------------------------------


def _mixed_book() -> Portfolio:
    rng = np.random.default_rng(11)
    positions = []
    for i in range(14):
        code = _codes()[i % len(_codes())]
        k = _strike(code, float(rng.uniform(0.75, 1.3)))
        right = "C" if i % 2 else "P"
        positions.append(_option(code, k, right, float(rng.integers(-20, 21) or 3), f"o{i}"))
    positions += [
        Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=-40_000, entry_price=88_000),
        Position(instrument=parse_deribit("BTC-3MAR26"), contracts=25_000),
    ]
    return Portfolio(positions)


@pytest.mark.parametrize("dynamics", ["sticky_strike", "sticky_moneyness"])
def test_risk_matrix_equals_revalue_where_the_floors_are_inactive(dynamics: Dynamics) -> None:
    book, m = _mixed_book(), _market()
    p = MarginParams(min_volatility_for_shock_up=0.0)  # every expiry is beyond 1 day
    b = portfolio_margin(book, m, params=p, dynamics=dynamics)["BTC"]
    term = TermWeighting(reference_days=30.0, power_short=0.3, power_long=0.13)
    scen = [
        Scenario(name=f"{r} {j}", spot_return=r, vol_relative=dv, term=term)
        for r in p.standard_moves().tolist()
        for j, dv in enumerate((0.5, 0.0, -0.25))
    ]
    ref = revalue(book, m, scen, dynamics=dynamics)
    np.testing.assert_allclose(
        b.risk_matrix_coin.ravel(), ref.total_pnl_coin("BTC"), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        b.risk_matrix_usd.ravel(), ref.total_pnl_usd(), rtol=1e-12, atol=1e-8
    )
    # Extended: options at the full move, the perpetual and the future at the move cut to ±16%.
    opt = np.array([pos.instrument.is_option for pos in book])
    full = revalue(
        book,
        m,
        [
            Scenario(name=str(r), spot_return=r, vol_relative=0.5, term=term)
            for r in p.extended_moves
        ],
        dynamics=dynamics,
    )
    cut = revalue(
        book,
        m,
        [
            Scenario(name=str(r), spot_return=math.copysign(0.16, r), vol_relative=0.5, term=term)
            for r in p.extended_moves
        ],
        dynamics=dynamics,
    )
    expected = full.pnl_usd[:, opt].sum(axis=1) + cut.pnl_usd[:, ~opt].sum(axis=1)
    np.testing.assert_allclose(b.extended_pnl_usd, expected, rtol=1e-12, atol=1e-8)


def _weight(days: float, floor: float = 1.0) -> float:
    d = max(days, floor)
    return float((30.0 / d) ** (0.3 if d < 30.0 else 0.13))


@pytest.mark.parametrize(("code_i", "floor"), [(0, 1.0), (0, 10.0), (5, 1.0)])
def test_up_shock_floor_and_expiry_floor_by_hand(code_i: int, floor: float) -> None:
    # min_volatility_for_shock_up = 2.0 is above every vol: the up shock is 2.0 x 0.5 x W,
    # with W = (30 / max(d, floor)) ** power recomputed here; the vol-down state is
    # sigma (1 - 0.25 W), and with floor 10 a 2.8-day option takes W(10 days).
    code = _codes()[code_i]
    book = Portfolio([_option(code, _strike(code, 1.05), "C", -7.0)])
    m = _market()
    inst = book[0].instrument
    assert inst.expiry_ns is not None
    days = year_fraction(m.valuation_ns, inst.expiry_ns) * 365.0
    w = _weight(days, floor)
    p = MarginParams(min_volatility_for_shock_up=2.0, vol_shock_min_days=floor)
    b = portfolio_margin(book, m, params=p)["BTC"]
    moves = p.standard_moves().tolist()
    up = revalue(
        book,
        m,
        [
            Scenario(name=f"u{r}", spot_return=r, vol_shift=2.0 * 0.5 * w, term=FLAT_TERMS)
            for r in moves
        ],
    )
    down = revalue(
        book,
        m,
        [
            Scenario(name=f"d{r}", spot_return=r, vol_relative=-0.25 * w, term=FLAT_TERMS)
            for r in moves
        ],
    )
    np.testing.assert_allclose(
        b.risk_matrix_coin[:, 0], up.total_pnl_coin("BTC"), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        b.risk_matrix_coin[:, 2], down.total_pnl_coin("BTC"), rtol=1e-12, atol=1e-14
    )


# -- properties ---------------------------------------------------------------------------------

_moneyness = st.floats(min_value=0.6, max_value=1.6)
_code = st.integers(min_value=0, max_value=len(EXPIRY_DAYS) - 1)
_right = st.sampled_from(["C", "P"])
_size = st.floats(min_value=0.1, max_value=50.0)


@settings(max_examples=40, deadline=None)
@given(code_i=_code, mny=_moneyness, right=_right, size=_size)
def test_long_option_margin_never_exceeds_its_premium(
    code_i: int, mny: float, right: str, size: float
) -> None:
    code = _codes()[code_i]
    book = Portfolio([_option(code, _strike(code, mny), right, size)])
    b = portfolio_margin(book, _market())["BTC"]
    assert b.long_options_only and b.value > 0.0
    # Full revaluation bounds the loss by the premium by itself: the cap does not bind.
    assert b.binding_term in ("standard", "extended")
    assert b.worst_loss <= b.value * (1 + 1e-12) + 1e-15
    assert b.initial_margin <= b.value * (1 + 1e-12) + 1e-15
    assert b.initial_margin_usd <= b.value * b.index_usd * (1 + 1e-12) + 1e-10


def test_long_option_cap_binds_through_the_delta_shock() -> None:
    # 100,000 near-the-money 3-day calls: delta ~ 50,000 BTC, far above the 20M USD threshold,
    # so the delta shock (10% of the delta) exceeds the calls' value: margin = value.
    code = _codes()[0]
    book = Portfolio([_option(code, _strike(code, 1.0), "C", 100_000.0)])
    b = portfolio_margin(book, _market())["BTC"]
    assert b.worst_loss + b.delta_shock > b.value
    assert b.binding_term == "long_option_value"
    assert b.initial_margin == b.value
    assert b.maintenance_margin == pytest.approx(0.8 * b.value, rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    pair=st.tuples(_code, _code).filter(lambda t: t[0] != t[1]),
    mny=st.floats(min_value=0.75, max_value=1.33),
    right=_right,
    size=st.floats(min_value=1.0, max_value=50.0),
)
def test_calendar_spread_margin_is_below_the_sum_of_its_legs(
    pair: tuple[int, int], mny: float, right: str, size: float
) -> None:
    near, far = _codes()[min(pair)], _codes()[max(pair)]
    k = _strike(far, mny)
    long_far = _option(far, k, right, size, "far")
    short_near = _option(near, k, right, -size, "near")
    spread = _im(Portfolio([long_far, short_near]))
    legs = _im(Portfolio([long_far])) + _im(Portfolio([short_near]))
    assert spread < legs


@settings(max_examples=30, deadline=None)
@given(
    code_i=_code,
    mny=_moneyness,
    right=_right,
    size=st.floats(min_value=-50.0, max_value=50.0).filter(lambda x: abs(x) > 0.1),
    ranges=st.tuples(st.floats(0.05, 0.3), st.floats(0.05, 0.3)).filter(lambda t: t[0] < t[1]),
)
def test_bigger_price_range_never_lowers_the_margin(
    code_i: int, mny: float, right: str, size: float, ranges: tuple[float, float]
) -> None:
    code = _codes()[code_i]
    book = Portfolio([_option(code, _strike(code, mny), right, size)])
    small, big = (_im(book, price_range=r) for r in ranges)
    assert small <= big * (1 + 1e-12) + 1e-15


def test_margin_is_monotone_in_the_other_shock_sizes() -> None:
    # A bigger up shock raises every short option's loss in the "up" column and leaves the
    # other columns alone (a book with long vega may instead find its worst case elsewhere).
    short = Portfolio(p for p in _mixed_book() if p.instrument.is_option and p.contracts < 0)
    ims = [_im(short, volatility_range_up=v) for v in (0.2, 0.5, 0.8)]
    assert ims[0] < ims[1] < ims[2]
    book = _mixed_book()
    ims = [_im(book, extended_dampener_usd=d) for d in (1e6, 1e5, 0.0)]
    assert ims[0] <= ims[1] <= ims[2]
    ims = [_im(book, min_annualised_move=x) for x in (0.0, 0.01, 0.05)]
    assert ims[0] < ims[1] < ims[2]
    base = portfolio_margin(book, _market())["BTC"]
    for f in (0.5, 1.0):
        b = portfolio_margin(book, _market(), params=MarginParams(mm_factor=f))["BTC"]
        assert b.maintenance_margin == pytest.approx(f * base.initial_margin, rel=1e-15)


# -- books, units, errors -----------------------------------------------------------------------


def test_books_are_split_by_coin_and_settlement() -> None:
    eth = synthetic_chain(currency="ETH", index_usd=3_000.0, expiry_days=(7, 35))
    btc_m = _market()
    eth_m = MarketSnapshot.from_chain(eth, quote_marks=False)
    m = MarketSnapshot(
        valuation_ns=btc_m.valuation_ns,
        index_usd={"BTC": 90_000.0, "ETH": 3_000.0},
        surfaces={"BTC": btc_m.surfaces["BTC"], "ETH": eth_m.surfaces["ETH"]},
        marks=dict(btc_m.marks),
    )
    eth_name = next(str(n) for n in eth.instrument if str(n).endswith("-C"))
    code = _codes()[2]
    k = int(_strike(code, 1.0))
    book = Portfolio([
        _option(code, k, "C", -5.0),
        Position(instrument=parse_deribit(f"BTC_USDC-{code}-{k}-P"), contracts=-2.0),
        Position(instrument=parse_deribit("BTC_USDC-PERPETUAL"), contracts=0.5),
        Position(instrument=parse_deribit(eth_name), contracts=-30.0),
    ])  # fmt: skip
    r = portfolio_margin(book, m)
    assert sorted(r.books) == ["BTC", "BTC/USD", "ETH"]
    assert r["BTC"].margin_currency == "BTC" and r["ETH"].margin_currency == "ETH"
    assert r["BTC/USD"].margin_currency == "USD" and len(r["BTC/USD"].labels) == 2
    assert r["BTC/USD"].params == DEFAULT_MARGIN_PARAMS["BTC/USD"]
    total = sum(b.initial_margin_usd for b in r.books.values())
    assert r.total_initial_margin_usd == pytest.approx(total, rel=1e-15)
    assert r.total_maintenance_margin_usd == pytest.approx(0.8 * total, rel=1e-12)
    with pytest.raises(InvalidArgumentError, match="one of"):
        r["SOL"]
    with pytest.raises(InvalidArgumentError, match=r"params\['ETH'\]"):
        portfolio_margin(book, m, params={"BTC": MarginParams()})
    assert portfolio_margin(Portfolio([]), m).books == {}


def test_bad_inputs_name_the_argument() -> None:
    book = _mixed_book()
    with pytest.raises(InvalidArgumentError, match="dynamics"):
        portfolio_margin(book, _market(), dynamics="sticky_delta")  # type: ignore[arg-type]
    for field, value in [
        ("price_range", 0.0), ("price_range", 1.2), ("buckets_count", 0), ("buckets_count", 2.5),
        ("volatility_range_down", 1.0), ("mm_factor", 0.0), ("extended_table_factor", 1.5),
        ("extended_dampener_usd", -1.0), ("max_delta_shock", math.nan), ("vol_shock_min_days", 0.0),
    ]:  # fmt: skip
        with pytest.raises(InvalidArgumentError, match=field):
            MarginParams(**{field: value})  # type: ignore[arg-type]
    # The down shock must leave vols positive at the expiry floor: 0.25 x 30 ** 0.3 < 1 at
    # 1 day, but 0.25 x 300 ** 0.3 = 1.38 at 0.1 day.
    with pytest.raises(InvalidArgumentError, match="volatility_range_down"):
        MarginParams(vol_shock_min_days=0.1)
    with pytest.raises(InvalidArgumentError, match="extended_moves"):
        MarginParams(extended_moves=(-0.1, 0.5))
    with pytest.raises(InvalidArgumentError, match="extended_moves"):
        MarginParams(extended_moves=(0.5, 0.5))
    expired = Portfolio([Position(instrument=parse_deribit("BTC-28JUN24"), contracts=10)])
    with pytest.raises(InvalidArgumentError, match="BTC-28JUN24"):
        portfolio_margin(expired, _market())


# -- TOML ---------------------------------------------------------------------------------------


def test_example_toml_holds_the_defaults() -> None:
    params = load_margin_params(EXAMPLE_TOML)
    assert set(params) == {"BTC", "BTC/USD", "ETH", "ETH/USD"}
    assert params["BTC"] == MarginParams()
    assert params["BTC/USD"] == DEFAULT_MARGIN_PARAMS["BTC/USD"]
    assert params["ETH"] == DEFAULT_MARGIN_PARAMS["ETH"]
    assert params["BTC"].extended_moves == (-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[BTC]\nprice_range = -0.1\n", r"BTC\.price_range"),
        ("[BTC]\nprice_rang = 0.1\n", r"BTC\.price_rang"),
        ("[btc]\nprice_range = 0.1\n", r"\[btc\]"),
        ('["BTC/EUR"]\nprice_range = 0.1\n', "BTC/EUR"),
        ("[BTC]\nextended_moves = [0.1]\n", r"BTC\.extended_moves"),
        ("[BTC\n", "valid TOML"),
    ],
)
def test_toml_errors_name_file_and_field(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(InvalidArgumentError, match=match) as info:
        load_margin_params(path)
    assert "m.toml" in str(info.value)


# -- real data ----------------------------------------------------------------------------------


@functools.cache
def _real_market() -> MarketSnapshot:
    chain = load_deribit_chain(require_data(SNAPSHOT), currency="BTC")
    # The perpetual's mark: perpetual_futures_prices.csv of the same folder, this snapshot's row.
    return MarketSnapshot.from_chain(chain, marks={"BTC-PERPETUAL": 87_831.5})


def test_real_deribit_snapshot_properties() -> None:
    """Deribit BTC chain of 2026-01-01 09:18Z (exchange mark IVs and forwards)."""
    m = _real_market()
    chain = load_deribit_chain(require_data(SNAPSHOT), currency="BTC")
    names = [str(n) for n in chain.instrument]
    expiries = sorted(
        {n.split("-")[1] for n in names}, key=lambda c: parse_deribit(f"BTC-{c}-1-C").expiry_ns or 0
    )
    near, far = expiries[1], expiries[4]
    strike = next(
        n.split("-")[2]
        for n in names
        if n.startswith(f"BTC-{near}-")
        and f"BTC-{far}-{n.split('-')[2]}-C" in names
        and 85_000 <= int(n.split("-")[2]) <= 95_000
    )
    long_far = Position(
        instrument=parse_deribit(f"BTC-{far}-{strike}-C"), contracts=10.0, label="far"
    )
    short_near = Position(
        instrument=parse_deribit(f"BTC-{near}-{strike}-C"), contracts=-10.0, label="near"
    )
    one = portfolio_margin(Portfolio([long_far]), m)["BTC"]
    assert one.initial_margin <= one.value  # long option: margin at most its premium
    spread = portfolio_margin(Portfolio([long_far, short_near]), m)["BTC"].initial_margin
    alone = portfolio_margin(Portfolio([short_near]), m)["BTC"].initial_margin
    assert spread < one.initial_margin + alone
    # A short straddle with a 10 USD perpetual: its worst case has the vols up, and the margin
    # is the worst loss plus the perpetual's roll shock (1% of N / P) and no delta shock.
    put = Position(instrument=parse_deribit(f"BTC-{near}-{strike}-P"), contracts=-10.0, label="put")
    perp = Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=1.0, label="perp")
    b = portfolio_margin(Portfolio([short_near, put, perp]), m)["BTC"]
    assert b.worst_loss > 0 and b.worst_scenario.vol_state == "up"
    assert b.roll_shock == pytest.approx(10.0 / 87_831.5 * 0.01, rel=1e-12)
    assert b.delta_shock == 0.0
    assert b.initial_margin == pytest.approx(b.worst_loss + b.roll_shock, rel=1e-15)
