"""Portfolio valuation, Greeks, vega buckets and PnL attribution (invrisk.risk).

Reference values and where they come from:

* Deribit's own Greeks and marks, ``deribit_btc_ticker_greeks_2026-03-01_tessicin`` (166 BTC
  options valued at 2026-03-01T13:48:15Z, the time PROVENANCE.txt infers from Deribit's deltas;
  the tickers were fetched over about ten minutes around it). Tolerances come from that file's
  rounding (Greeks to 5 decimals, mark price to 1e-4 coin) plus the fetch-time spread, as
  measured in PROVENANCE.txt (delta median relative error 8.8e-6, p90 2.4e-5; vega 5.0e-6 /
  2.8e-5; theta 4.8e-5 / 9.5e-5; mark 7.7e-5 coin at most).
* Finite differences of the library's own full revaluation (public API: scenarios and bumped
  snapshots), central differences with the truncation error stated beside each tolerance.
* Brute force: the book split into one-position portfolios valued one by one.
* Put-call parity across implementations: call minus put of one strike against the equivalent
  future (inverse or linear), which goes through the delta-one code, not the option kernel.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.data import load_deribit_chain, synthetic_chain
from invrisk.errors import DataError, InvalidArgumentError
from invrisk.instruments import Instrument, parse_deribit
from invrisk.pricing import black76, coin_price
from invrisk.risk import (
    GREEK_FIELDS,
    MarketSnapshot,
    OptionQuote,
    Portfolio,
    Position,
    Scenario,
    attribute_pnl,
    portfolio_greeks,
    read_positions,
    revalue,
    vega_buckets,
)
from invrisk.surface import VolShock, fit_surface
from invrisk.units import NS_PER_DAY, NS_PER_HOUR, to_ns, year_fraction
from tests.conftest import REPO_ROOT, require_data

EXAMPLE = REPO_ROOT / "examples" / "positions_btc_options.csv"
SNAPSHOTS = "deribit_chain_snapshots_2026_znmahbub"
TESSICIN = "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"
TESSICIN_NS = 1_772_372_895_000 * 1_000_000  # 2026-03-01T13:48:15Z, from PROVENANCE.txt
TESSICIN_SPOT_REF = 66_742.5678  # the file's spot_ref column (median underlying), USD


def _bumped(
    market: MarketSnapshot, *, carry: float = 0.0, basis: float = 0.0, dt_ns: int = 0
) -> MarketSnapshot:
    """The snapshot with every quoted forward and mark times exp(carry T + basis), or later."""
    now = market.valuation_ns

    def t_of(name: str) -> float:
        parts = name.split(":")[-1].split("-")
        if len(parts) < 2 or parts[1] == "PERPETUAL" or "/" in name:
            return 0.0
        inst = parse_deribit(name.split(":")[-1])
        assert inst.expiry_ns is not None
        return year_fraction(now, inst.expiry_ns)

    quotes = {
        k: OptionQuote(forward_usd=q.forward_usd * math.exp(carry * t_of(k) + basis), vol=q.vol)
        for k, q in market.option_quotes.items()
    }
    marks = {k: v * math.exp(carry * t_of(k) + basis) for k, v in market.marks.items()}
    return dataclasses.replace(market, valuation_ns=now + dt_ns, option_quotes=quotes, marks=marks)


def _with_entries(book: Portfolio, market: MarketSnapshot) -> Portfolio:
    """Futures and perpetuals without an entry price entered at ``market``'s mark."""
    return Portfolio(
        dataclasses.replace(p, entry_price=market.mark_of(p.instrument))
        if p.entry_price is None and (p.instrument.is_future or p.instrument.is_perpetual)
        else p
        for p in book
    )


# -- the example file and the positions format --------------------------------------------------


def test_example_file_is_valued_against_the_real_snapshot() -> None:
    book = read_positions(EXAMPLE)
    assert len(book) == 13
    assert book.position("perp hedge").entry_price == 87_500.0
    assert book.position("usdc call").instrument.is_linear
    chain = load_deribit_chain(
        require_data(f"{SNAPSHOTS}/deribit_options_snapshot_20260101T091835Z.csv.gz")
    )
    marks = {"BTC-PERPETUAL": 87_831.5, "BTC-27MAR26": 88_777.54, "binance:BTC/USDT:USDT": 87_800.0}
    market = MarketSnapshot.from_chain(chain, marks=marks)
    g = portfolio_greeks(book, market)
    # Every listed Deribit option is valued on the exchange's own quote (mark IV and forward of
    # its row): the coin value per contract is Black-76 / F of that row (computed here with
    # pricing.coin_price), and within 5e-4 coin of Deribit's mark price (in this snapshot the
    # mark and the quote were not taken at the same instant: over the whole BTC chain the gap
    # has median 2.1e-5 and maximum 4.2e-4 coin; see PROVENANCE.txt on the collector's timing).
    for label in book.labels:
        name = label.removeprefix("deribit:")
        rows = np.flatnonzero(chain.instrument == name)
        if rows.size and book.position(label).instrument.is_inverse:
            r = int(rows[0])
            per_contract = g.position(label)["value_coin"] / book.position(label).contracts
            expected = coin_price(
                forward=chain.forward_usd[r],
                strike=chain.strike[r],
                t_yr=year_fraction(market.valuation_ns, int(chain.expiry_ns[r])),
                vol=chain.mark_iv[r],
                option_type=int(chain.right[r]),
            )
            assert per_contract == pytest.approx(expected, rel=1e-12), label
            assert per_contract == pytest.approx(chain.mark_coin[r], abs=5e-4), label
    # The spot line (no mark given) is valued at the index.
    assert g.position("spot")["value_usd"] == pytest.approx(0.75 * market.index_usd["BTC"])


def test_csv_and_json_give_the_same_portfolio(tmp_path: Path) -> None:
    book = read_positions(EXAMPLE)
    with EXAMPLE.open() as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    as_json = [{k: v for k, v in r.items() if v} for r in rows]
    for r in as_json:
        r["contracts"] = float(r["contracts"])
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"positions": as_json}))
    assert read_positions(path) == book


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("venue,instrument,contracts\nderibit,BTC-27MAR26-90000-X,1\n", "row 1"),
        ("venue,instrument,contracts\nderibit,BTC-PERPETUAL,ten\n", "contracts='ten'"),
        ("venue,instrument,contracts,size\nderibit,BTC-PERPETUAL,1,2\n", "unknown column"),
        ("venue,instrument\nderibit,BTC-PERPETUAL\n", "missing column"),
        (
            "venue,instrument,contracts\nderibit,BTC-PERPETUAL,1\nderibit,BTC-PERPETUAL,2\n",
            "used once",
        ),
        (
            "venue,instrument,contracts,entry_price\nderibit,BTC-27MAR26-90000-C,1,5\n",
            "only futures and perpetuals",
        ),
        ("venue,instrument,contracts\nderibit,BTC-PERPETUAL,nan\n", "not finite"),
    ],
)
def test_bad_positions_files_name_row_and_position(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        read_positions(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_unknown_instrument_error_names_the_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"venue": "deribit", "instrument": "BTC-XX", "contracts": 1}]))
    with pytest.raises(DataError, match=r"row 1: position 'deribit:BTC-XX'"):
        read_positions(path)


# -- clear errors when a position cannot be valued ----------------------------------------------


def test_valuation_errors_name_the_position(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    perp = book.position("deribit:BTC-PERPETUAL")
    opt = next(p for p in book if p.instrument.is_option and p.underlying == "BTC")

    no_mark = dataclasses.replace(market, marks={})
    with pytest.raises(InvalidArgumentError, match=r"position 'deribit:BTC-PERPETUAL'.*no mark"):
        portfolio_greeks(Portfolio([perp]), no_mark)

    nan_mark = dataclasses.replace(market, marks={"BTC-PERPETUAL": math.nan})
    with pytest.raises(InvalidArgumentError, match=r"'deribit:BTC-PERPETUAL'.*mark nan"):
        portfolio_greeks(Portfolio([perp]), nan_mark)

    with pytest.raises(InvalidArgumentError, match=rf"'{opt.label}'.*no vol surface for BTC"):
        portfolio_greeks(Portfolio([opt]), dataclasses.replace(market, surfaces={}))

    nan_quote = dict(market.option_quotes)
    nan_quote[opt.instrument.name] = OptionQuote(forward_usd=90_000.0, vol=math.nan)
    with pytest.raises(InvalidArgumentError, match=rf"'{opt.label}'.*without a vol"):
        portfolio_greeks(Portfolio([opt]), dataclasses.replace(market, option_quotes=nan_quote))

    no_index = dataclasses.replace(market, index_usd={"ETH": 3000.0})
    with pytest.raises(InvalidArgumentError, match=rf"'{opt.label}'.*index_usd\['BTC'\]"):
        portfolio_greeks(Portfolio([opt]), no_index)

    assert opt.instrument.expiry_ns is not None
    late = dataclasses.replace(market, valuation_ns=opt.instrument.expiry_ns)
    with pytest.raises(InvalidArgumentError, match=rf"'{opt.label}'.*expired at"):
        portfolio_greeks(Portfolio([opt]), late)


def test_positions_reject_bad_fields() -> None:
    perp = parse_deribit("BTC-PERPETUAL")
    with pytest.raises(InvalidArgumentError, match="contracts"):
        Position(instrument=perp, contracts=math.nan)
    with pytest.raises(InvalidArgumentError, match="entry_price"):
        Position(instrument=perp, contracts=1.0, entry_price=-5.0)
    eur = Instrument(
        name="BTC/EUR", kind="spot", base="BTC", quote="EUR", settle="EUR",
        settlement="linear", tick_size=1.0, min_size=1e-4, lot_size=1e-4, contract_size=1.0,
    )  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="USD-like"):
        Position(instrument=eur, contracts=1.0)
    with pytest.raises(InvalidArgumentError, match="NaN"):
        OptionQuote(forward_usd=1.0, vol=-0.1)


# -- Deribit's own Greeks -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tessicin():  # type: ignore[no-untyped-def]
    chain = load_deribit_chain(require_data(TESSICIN), valuation_ns=TESSICIN_NS)
    market = MarketSnapshot.from_chain(chain, index_usd={"BTC": TESSICIN_SPOT_REF})
    book = Portfolio(
        Position(instrument=parse_deribit(str(n)), contracts=1.0) for n in chain.instrument
    )
    return chain, portfolio_greeks(book, market)


def test_greeks_match_deribit(tessicin) -> None:  # type: ignore[no-untyped-def]
    chain, g = tessicin
    basis = g.forward_usd / g.index_usd  # F/S: Deribit's USD Greeks are those of C·F
    # delta: Black-76 delta, exactly ours for a coin-settled option; rounding 5e-6 + fetch time.
    np.testing.assert_allclose(g.delta_coin, chain.delta, rtol=0, atol=5e-5)
    # mark price (coin, rounded to 1e-4 in this file): coin value per contract.
    np.testing.assert_allclose(g.value_coin, chain.mark_coin, rtol=0, atol=1e-4)
    # vega (USD per vol point) and theta (USD per day; every expiry here is > 12 days away, where
    # Deribit's theta is the analytic one): ours times F/S, relative tolerances 2e-4 and 3e-4
    # (PROVENANCE maxima 7.7e-5 and 1.3e-4, doubled).
    np.testing.assert_allclose(g.vega_usd * basis * 0.01, chain.vega, rtol=2e-4)
    np.testing.assert_allclose(g.theta_usd * basis / 365.0, chain.theta, rtol=3e-4)
    # gamma (per USD of forward, 5 decimals: half a unit 5e-6, plus timing): ours times S/F.
    np.testing.assert_allclose(g.gamma_coin_per_usd / basis, chain.gamma, rtol=0, atol=6e-6)
    # Premium-adjusted delta = Deribit's delta minus its mark price (both rounded).
    np.testing.assert_allclose(
        g.delta_premium_adjusted_coin, chain.delta - chain.mark_coin, rtol=0, atol=1.5e-4
    )


def test_usd_and_coin_views_agree_through_the_forward(tessicin) -> None:  # type: ignore[no-untyped-def]
    chain, g = tessicin
    # Coin value x forward = Black-76 USD price (the exchange's USD basis), computed here
    # directly from the quotes; coin value x index = our USD value.
    b = black76(
        forward=chain.forward_usd, strike=chain.strike, t_yr=chain.t_yr, vol=chain.mark_iv,
        option_type=chain.right,
    )  # fmt: skip
    np.testing.assert_allclose(g.value_coin * chain.forward_usd, b.price, rtol=1e-12)
    np.testing.assert_allclose(g.value_coin * g.index_usd, g.value_usd, rtol=1e-14)
    np.testing.assert_allclose(g.delta_usd, g.delta_coin * g.index_usd, rtol=1e-14)
    c = np.asarray(b.price) / chain.forward_usd
    np.testing.assert_allclose(g.delta_premium_adjusted_coin, np.asarray(b.delta) - c, atol=1e-14)


# -- aggregation and finite differences ---------------------------------------------------------


def test_totals_equal_the_sum_of_one_position_books(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    g = portfolio_greeks(book, market)
    singles = [portfolio_greeks(Portfolio([p]), market) for p in book]
    for name in GREEK_FIELDS:
        one_by_one = np.array([float(getattr(s, name)[0]) for s in singles])
        np.testing.assert_allclose(getattr(g, name), one_by_one, rtol=1e-12, atol=1e-9)
    for coin, total in g.totals().items():
        sel = [i for i, p in enumerate(book) if p.underlying == coin]
        for name in GREEK_FIELDS:
            expected = math.fsum(float(getattr(singles[i], name)[0]) for i in sel)
            assert getattr(total, name) == pytest.approx(expected, rel=1e-12, abs=1e-6), name
    by_venue = g.totals(by="venue")
    assert set(by_venue) == {("BTC", "deribit"), ("BTC", "binance"), ("ETH", "deribit")}
    assert by_venue[("BTC", "binance")].delta_coin == pytest.approx(3.0 * 90_030.0 / 90_000.0)
    assert math.fsum(t.vega_usd for t in by_venue.values()) == pytest.approx(
        math.fsum(t.vega_usd for t in g.totals().values()), rel=1e-12
    )


def test_greeks_equal_finite_differences_of_full_revaluation(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    book = _with_entries(book, market)  # bumped snapshots must not move the entry prices
    g = portfolio_greeks(book, market)
    s = g.index_usd

    def pnl(**kw: float) -> np.ndarray:
        r = revalue(book, market, [Scenario(name="x", **kw)])
        return r.pnl_usd[0]

    h = 1e-4  # relative spot step; truncation O(h²) relative
    up, down = pnl(spot_return=h), pnl(spot_return=-h)
    np.testing.assert_allclose((up - down) / (2 * h * s), g.delta_coin, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        (up + down) / (h * s) ** 2, g.gamma_coin_per_usd, rtol=2e-4, atol=1e-9
    )
    dv = 1e-4  # vol step (decimal)
    vu, vd = pnl(vol_shift=dv), pnl(vol_shift=-dv)
    np.testing.assert_allclose((vu - vd) / (2 * dv), g.vega_usd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose((vu + vd) / dv**2, g.volga_usd, rtol=2e-3, atol=1e-2)
    cross = (
        pnl(spot_return=h, vol_shift=dv) - pnl(spot_return=h, vol_shift=-dv)
        - pnl(spot_return=-h, vol_shift=dv) + pnl(spot_return=-h, vol_shift=-dv)
    ) / (4 * h * s * dv)  # fmt: skip
    np.testing.assert_allclose(cross, g.vanna_coin, rtol=1e-4, atol=1e-7)
    # theta: one hour later and earlier, index, forwards, marks and vols unchanged (central:
    # truncation O((dt/T)²), below 1e-4 relative for the 7-day options here).
    dt = NS_PER_HOUR
    later = portfolio_greeks(book, _bumped(market, dt_ns=dt)).value_usd
    earlier = portfolio_greeks(book, _bumped(market, dt_ns=-dt)).value_usd
    theta_fd = (later - earlier) / (2.0 * year_fraction(0, dt))
    np.testing.assert_allclose(theta_fd, g.theta_usd, rtol=2e-4, atol=1e-3)
    # rho: every quoted forward and futures mark carried by exp(±k T).
    k = 1e-5
    hi = portfolio_greeks(book, _bumped(market, carry=k)).value_usd
    lo = portfolio_greeks(book, _bumped(market, carry=-k)).value_usd
    np.testing.assert_allclose((hi - lo) / (2 * k), g.rho_usd, rtol=1e-6, atol=1e-4)
    # basis delta: every forward and mark x exp(±k), index fixed.
    hi = portfolio_greeks(book, _bumped(market, basis=k)).value_usd
    lo = portfolio_greeks(book, _bumped(market, basis=-k)).value_usd
    np.testing.assert_allclose((hi - lo) / (2 * k), g.basis_delta_usd, rtol=1e-6, atol=1e-4)
    assert np.any(g.rho_usd != 0.0) and np.any(g.vanna_coin != 0.0)


settings_parity = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module")
def btc_surface():  # type: ignore[no-untyped-def]
    return fit_surface(synthetic_chain(currency="BTC", index_usd=90_000.0))


@settings_parity
@given(
    log_k=st.floats(-0.8, 0.8),
    basis=st.floats(0.9, 1.15),
    vol=st.floats(0.05, 2.5),
    days=st.integers(1, 720),
    linear=st.booleans(),
)
def test_call_minus_put_is_the_future(btc_surface, log_k, basis, vol, days, linear) -> None:  # type: ignore[no-untyped-def]
    # Parity, r = 0: C - P = F - K (linear), (F - K)/F coin (inverse). The same economics as a
    # linear future entered at K, or an inverse future of K USD notional entered at K, whose
    # Greeks come from the delta-one formulas. Every additive field must agree.
    spot = 90_000.0
    fwd = spot * basis
    strike = round(fwd * math.exp(log_k))
    expiry = btc_surface.valuation_ns + days * NS_PER_DAY
    quote, settle, settlement = ("USDC", "USDC", "linear") if linear else ("USD", "BTC", "inverse")

    def option(right: int) -> Instrument:
        return Instrument(
            name=f"OPT-{right}", kind="option", base="BTC", quote=quote, settle=settle,
            settlement=settlement, tick_size=1e-4, min_size=0.1, lot_size=0.1, contract_size=1.0,
            expiry_ns=expiry, strike=float(strike), right=right,
        )  # fmt: skip

    future = Instrument(
        name="FUT", kind="future", base="BTC", quote=quote, settle=settle, settlement=settlement,
        tick_size=0.5, min_size=1.0, lot_size=1.0, contract_size=1.0 if linear else float(strike),
        expiry_ns=expiry,
    )  # fmt: skip
    market = MarketSnapshot(
        valuation_ns=btc_surface.valuation_ns,
        index_usd={"BTC": spot},
        surfaces={"BTC": btc_surface},
        marks={"FUT": fwd},
        option_quotes={f"OPT-{r}": OptionQuote(forward_usd=fwd, vol=vol) for r in (1, -1)},
    )
    options = Portfolio(
        [
            Position(instrument=option(1), contracts=1.0),
            Position(instrument=option(-1), contracts=-1.0),
        ]
    )
    fut = Portfolio([Position(instrument=future, contracts=1.0, entry_price=float(strike))])
    a = portfolio_greeks(options, market).totals()["BTC"]
    b = portfolio_greeks(fut, market).totals()["BTC"]
    call = portfolio_greeks(Portfolio([options[0]]), market).totals()["BTC"]
    # Tolerance: rounding of option values of size up to F (USD) or 1 (coin), years up to 2.
    for name, abs_tol in (
        ("value_usd", 1e-9 * fwd),
        ("value_coin", 1e-12),
        ("delta_coin", 1e-12),
        ("delta_premium_adjusted_coin", 1e-12),
        ("rho_usd", 1e-9 * fwd),
        ("basis_delta_usd", 1e-9 * fwd),
    ):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=abs_tol), name
    # The future has no curvature, vol or time exposure; the call's and the put's cancel.
    for name in ("gamma_coin_per_usd", "vega_usd", "theta_usd", "vanna_coin", "volga_usd"):
        assert getattr(b, name) == 0.0
        assert abs(getattr(a, name)) <= 1e-12 * (1.0 + abs(getattr(call, name))), name


def test_greeks_scale_with_the_position(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    g = portfolio_greeks(book, market)
    doubled = Portfolio(dataclasses.replace(p, contracts=-2.0 * p.contracts) for p in book)
    g2 = portfolio_greeks(doubled, market)
    for name in GREEK_FIELDS:
        np.testing.assert_allclose(
            getattr(g2, name), -2.0 * getattr(g, name), rtol=1e-12, atol=1e-9
        )


# -- vega buckets -------------------------------------------------------------------------------


def test_vega_buckets_partition_the_option_vega(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    g = portfolio_greeks(book, market)
    btc_opt = [i for i, p in enumerate(book) if p.instrument.is_option and p.underlying == "BTC"]
    for by in ("call_delta", "log_moneyness"):
        vb = vega_buckets(g, underlying="BTC", by=by)  # type: ignore[arg-type]
        assert vb.vega_usd.sum() == pytest.approx(math.fsum(g.vega_usd[btc_opt]), rel=1e-12)
        for row, e in enumerate(vb.expiry_ns):
            same = [i for i in btc_opt if book[i].instrument.expiry_ns == e]
            assert vb.by_expiry[row] == pytest.approx(math.fsum(g.vega_usd[same]), rel=1e-12)
    # Every option lands in the bucket of its own call delta N(d1), recomputed here.
    vb = vega_buckets(g, underlying="BTC", edges=[0.0, 0.5, 1.0])
    for i in btc_opt:
        inst = book[i].instrument
        d1 = (math.log(g.forward_usd[i] / inst.strike) + 0.5 * g.vol[i] ** 2 * g.t_yr[i]) / (
            g.vol[i] * math.sqrt(g.t_yr[i])
        )
        assert (g.call_delta[i] >= 0.5) == (d1 >= 0.0)
    low = [i for i in btc_opt if g.call_delta[i] < 0.5]
    assert vb.by_bucket[0] == pytest.approx(math.fsum(g.vega_usd[low]), rel=1e-12)
    with pytest.raises(InvalidArgumentError, match="underlying"):
        vega_buckets(g)
    with pytest.raises(InvalidArgumentError, match="covering"):
        vega_buckets(g, underlying="BTC", edges=[0.2, 0.3])


# -- PnL attribution ----------------------------------------------------------------------------


def _moved_snapshot(
    market: MarketSnapshot, *, spot_return: float, dvol: float, dt_ns: int
) -> MarketSnapshot:
    """Every index, forward and mark x (1 + r), every vol + dvol, time + dt (by hand)."""
    f = 1.0 + spot_return
    return MarketSnapshot(
        valuation_ns=market.valuation_ns + dt_ns,
        index_usd={k: v * f for k, v in market.index_usd.items()},
        surfaces={
            k: s.moved(spot_return=spot_return, dynamics="sticky_strike").shocked(
                VolShock(parallel=dvol)
            )
            for k, s in market.surfaces.items()
        },
        marks={k: v * f for k, v in market.marks.items()},
        option_quotes={
            k: OptionQuote(forward_usd=q.forward_usd * f, vol=q.vol + dvol)
            for k, q in market.option_quotes.items()
        },
    )


def test_attribution_explains_small_moves_to_second_order(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    residuals: list[float] = []
    grosses: list[float] = []
    for scale in (1.0, 0.5, 0.25):
        after = _moved_snapshot(
            market, spot_return=0.01 * scale, dvol=0.01 * scale, dt_ns=int(2 * NS_PER_HOUR * scale)
        )
        a = attribute_pnl(book, market, after)
        parts = sum(
            np.asarray(getattr(a, t))
            for t in ("delta", "gamma", "vega", "vanna", "volga", "theta", "residual")
        )
        np.testing.assert_allclose(parts, a.total_usd, rtol=1e-12, atol=1e-6)
        # The total is the difference of two independent full revaluations (futures without
        # an entry price given the start snapshot's mark as theirs).
        fixed = _with_entries(book, market)
        np.testing.assert_allclose(
            a.total_usd,
            portfolio_greeks(fixed, after).value_usd - portfolio_greeks(fixed, market).value_usd,
            rtol=1e-12,
            atol=1e-6,
        )
        summary = a.summary()
        residuals.append(abs(summary["residual"]))
        grosses.append(sum(abs(summary[t]) for t in ("delta", "gamma", "vega", "theta")))
    # A 1% move explains all but a tiny part; halving the moves cuts the residual by at least
    # 2**2 (it is of second order in (dS, dσ, dt) through the dt cross terms, third otherwise).
    assert residuals[0] < 2e-3 * grosses[0]
    assert residuals[1] < residuals[0] / 3.5 and residuals[2] < residuals[1] / 3.5


def _snapshot_2026(stamp: str) -> MarketSnapshot:
    chain = load_deribit_chain(
        require_data(f"{SNAPSHOTS}/deribit_options_snapshot_{stamp}.csv.gz"), currency="BTC"
    )
    file = f"deribit_options_snapshot_{stamp}.csv"
    marks = {}
    with require_data(f"{SNAPSHOTS}/perpetual_futures_prices.csv").open() as f:
        for row in csv.DictReader(f):
            if row["snapshot_file"] == file and row["coin"] == "BTC":
                marks["BTC-PERPETUAL"] = float(row["perp_futures_mark_price"])
    with require_data(f"{SNAPSHOTS}/term_futures_marks.csv").open() as f:
        for row in csv.DictReader(f):
            if row["snapshot_file"] == file and row["currency"] == "BTC":
                marks[row["futures_instrument_name"]] = float(row["term_mark_price_final"])
    return MarketSnapshot.from_chain(chain, marks=marks)


def test_attribution_between_two_real_snapshots() -> None:
    start = _snapshot_2026("20260101T091835Z")
    end = _snapshot_2026("20260101T211918Z")
    book = read_positions(EXAMPLE).for_underlying("BTC")
    book = Portfolio(p for p in book if p.venue == "deribit")
    a = attribute_pnl(book, start, end)
    summary = a.summary()
    # Twelve hours later: the total is the difference of two independent full revaluations...
    np.testing.assert_allclose(
        a.total_usd,
        portfolio_greeks(book, end).value_usd - portfolio_greeks(book, start).value_usd,
        rtol=1e-12,
        atol=1e-6,
    )
    # ...and the terms explain it: BTC rose 0.5% while the forwards drifted against the index
    # (the basis term, about a tenth of the move here); what is left is higher order, below 1%
    # of the gross move (measured: 5 USD of 7,100).
    gross = sum(abs(summary[t]) for t in ("delta", "gamma", "vega", "theta", "basis"))
    assert abs(summary["basis"]) > 0.05 * gross
    assert abs(summary["residual"]) < 0.01 * gross


def test_attribution_rejects_reversed_snapshots(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, book, _ = synthetic
    later = _moved_snapshot(market, spot_return=0.0, dvol=0.0, dt_ns=NS_PER_HOUR)
    with pytest.raises(InvalidArgumentError, match=r"end\.valuation_ns"):
        attribute_pnl(book, later, market)


def test_snapshot_validates_its_inputs(synthetic) -> None:  # type: ignore[no-untyped-def]
    market, _, _ = synthetic
    with pytest.raises(InvalidArgumentError, match="marks"):
        MarketSnapshot(valuation_ns=0, index_usd={"BTC": 1.0}, marks={"X": -1.0})
    with pytest.raises(InvalidArgumentError, match="valuation_ns"):
        MarketSnapshot(valuation_ns=1.5, index_usd={"BTC": 1.0})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="surfaces"):
        MarketSnapshot(valuation_ns=0, index_usd={}, surfaces={"ETH": market.surfaces["BTC"]})
    assert to_ns("2026-01-02T12:00:00Z") == market.valuation_ns
