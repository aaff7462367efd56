"""Venue exposure, failure and de-peg stresses (invrisk.risk.venues)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from invrisk.data import read_ohlcv
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import parse_ccxt, parse_deribit
from invrisk.risk import MarketSnapshot, Portfolio, Position, portfolio_greeks
from invrisk.risk.limit_set import Limit, LimitSet
from invrisk.risk.venues import (
    DEFAULT_VENUE_TYPES,
    VenueSpec,
    depeg_from_prices,
    load_venues,
    stablecoin_depeg,
    venue_exposures,
    venue_failure,
)
from tests.conftest import require_data

DEPEG = "binanceus_kraken_1m_2023-03_usdc_depeg"


def hedged_book() -> tuple[Portfolio, MarketSnapshot]:
    """Short 10 BTC calls on Deribit, delta-hedged with a linear perpetual on Binance."""
    from invrisk.data import synthetic_chain

    chain = synthetic_chain(currency="BTC", index_usd=90_000.0, expiry_days=(30, 91))
    market = MarketSnapshot.from_chain(
        chain, marks={"binance:BTC/USDT:USDT": 90_000.0}, quote_marks=False
    )
    name = str(
        chain.instrument[int(np.argmin(np.abs(chain.strike - 95_000.0) + 1e9 * (chain.right != 1)))]
    )
    calls = Position(instrument=parse_deribit(name), contracts=-10.0)
    g0 = portfolio_greeks(Portfolio([calls]), market)
    hedge_qty = round(-float(g0.delta_coin[0]), 3)
    perp = Position(
        instrument=parse_ccxt("BTC/USDT:USDT", venue="binance"),
        contracts=hedge_qty,
        entry_price=90_000.0,
    )
    return Portfolio([calls, perp]), market


VENUES = {
    "deribit": VenueSpec(
        name="deribit", type="cex", collateral_usd=500_000.0, holdings={"USDC": 200_000.0}
    ),
    "binance": VenueSpec(
        name="binance",
        type="cex",
        failure_prob_per_year=0.03,
        recovery=0.4,
        collateral_usd=300_000.0,
        holdings={"USDT": 250_000.0, "USDC": 50_000.0},
    ),
}


def test_exposures_by_hand() -> None:
    book, market = hedged_book()
    g = portfolio_greeks(book, market)
    rows = {r.venue: r for r in venue_exposures(g, VENUES)}
    call_value = float(g.value_usd[0])  # negative: a liability on deribit
    d = rows["deribit"]
    assert d.positions == 1 and d.net_value_usd == pytest.approx(call_value)
    assert d.gross_value_usd == pytest.approx(-call_value)
    assert d.at_risk_usd == pytest.approx(500_000.0 + call_value)
    pd, rec = DEFAULT_VENUE_TYPES["cex"]
    assert d.expected_loss_usd == pytest.approx(pd * (1 - rec) * (500_000.0 + call_value))
    b = rows["binance"]
    assert b.net_value_usd == pytest.approx(0.0, abs=1e-6)  # entered at the mark
    assert b.expected_loss_usd == pytest.approx(0.03 * 0.6 * 300_000.0)
    # concentration through the limit set: gross value per venue
    lim = LimitSet([Limit(name="deribit gross", metric="gross_value_usd", venue="deribit", hi=1e5)])
    assert lim.check(g).rows[0].value == pytest.approx(-call_value)


def test_venue_failure_loses_the_hedge() -> None:
    """The book is delta-neutral across two venues; if Binance (the hedge's venue) fails the
    collateral there is lost at 60% and the book is left with the calls' delta."""
    book, market = hedged_book()
    g = portfolio_greeks(book, market)
    f = venue_failure(g, VENUES, "binance")
    assert abs(f.delta_before_usd) < 0.01 * abs(float(g.delta_usd[0]))  # hedged
    assert f.delta_after_usd == pytest.approx(float(g.delta_usd[0]))  # unhedged: the calls
    assert f.loss_usd == pytest.approx(0.6 * 300_000.0) and f.recovered_usd == pytest.approx(
        120_000.0
    )
    with pytest.raises(InvalidArgumentError, match="failed"):
        venue_failure(g, VENUES, "kraken")


def test_depeg_of_usdc_in_march_2023_from_the_minute_data() -> None:
    """USDC's USD value minute by minute = Binance.US BTC/USD close / BTC/USDC close: its low
    is about 0.875 on 2023-03-11 (PROVENANCE.txt: the BTCUSDC/BTCUSD ratio peaks at 1.143 at
    07:50 UTC), a move of about -12.5%; the stress on the venues' USDC balances follows."""
    usd = read_ohlcv(require_data(f"{DEPEG}/binanceus_BTCUSD_1m_20230301_20230321.csv"))
    usdc = read_ohlcv(require_data(f"{DEPEG}/binanceus_BTCUSDC_1m_20230301_20230321.csv"))
    assert np.array_equal(usd.open_ns, usdc.open_ns)
    value = usd.close / usdc.close
    move = depeg_from_prices(value)
    assert move == pytest.approx(1 / 1.143 - 1, abs=0.005)
    low = int(np.argmin(value))
    day = np.datetime64(int(usd.open_ns[low]), "ns").astype("datetime64[D]")
    assert str(day) == "2023-03-11"
    assert stablecoin_depeg(VENUES, coin="USDC", move=move) == pytest.approx(-move * 250_000.0)


def test_bad_input(tmp_path: Path) -> None:
    for fields, word in (
        ({"failure_prob_per_year": 1.5}, "failure_prob_per_year"),
        ({"recovery": -0.1}, "recovery"),
        ({"type": "bank"}, "type"),
    ):
        body = (
            '[[venue]]\nname = "x"\ntype = "cex"\n'
            if "type" not in fields
            else '[[venue]]\nname = "x"\n'
        )
        body += "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in fields.items()) + "\n"
        path = tmp_path / "v.toml"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(InvalidArgumentError, match=word):
            load_venues(path)
    book, market = hedged_book()
    g = portfolio_greeks(book, market)
    with pytest.raises(InvalidArgumentError, match="venues"):
        venue_exposures(g, {"deribit": VENUES["deribit"]})  # binance missing
    with pytest.raises(InvalidArgumentError, match="move"):
        stablecoin_depeg(VENUES, coin="USDC", move=-1.5)
    path = tmp_path / "ok.toml"
    path.write_text(
        '[[venue]]\nname = "deribit"\ntype = "cex"\ncollateral_usd = 1e5\n', encoding="utf-8"
    )
    assert load_venues(path)["deribit"].pd == DEFAULT_VENUE_TYPES["cex"][0]


def test_venues_command(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from invrisk.cli import app
    from tests.conftest import REPO_ROOT

    chain = require_data(
        "deribit_chain_snapshots_2026_znmahbub/deribit_options_snapshot_20260101T091835Z.csv.gz"
    )
    marks = {"BTC-PERPETUAL": 87_831.5, "BTC-27MAR26": 88_777.54, "binance:BTC/USDT:USDT": 87_800.0}
    args = [
        "venues",
        str(REPO_ROOT / "examples" / "positions_btc_options.csv"),
        "--market",
        str(chain),
    ]
    args += [a for k, v in marks.items() for a in ("--mark", f"{k}={v}")]
    args += ["--venues", str(REPO_ROOT / "examples" / "venues_btc.toml"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    rows = {r["venue"]: r for r in doc["venues"]}
    assert set(rows) == {"deribit", "binance"} and rows["deribit"]["positions"] == 12
    assert rows["binance"]["withdrawal_delay_days"] == 1.0  # from the venues file
    fails = {f["venue"]: f for f in doc["failures"]}
    # losing a venue leaves the book with the delta of the other venue's positions
    assert fails["deribit"]["delta_after_usd"] == pytest.approx(rows["binance"]["delta_usd"])
    assert doc["depeg_loss_usd"]["USDC"] == pytest.approx(0.125 * 550_000.0)
    # the same venue view inside `invrisk risk --venues`, and in its HTML report
    risk_args = ["risk", *args[1:-1], "--no-margin", "--report", str(tmp_path / "r.html"), "--json"]
    result = CliRunner().invoke(app, risk_args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["venues"] == doc
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "invrisk-risk-venues" in page and "claim at risk USD" in page


def test_assess_venues_gathers_the_pieces() -> None:
    import json

    from invrisk.risk.venues import assess_venues

    book, market = hedged_book()
    g = portfolio_greeks(book, market)
    specs = {
        "deribit": VenueSpec(name="deribit", type="cex", collateral_usd=1e6),
        "binance": VenueSpec(name="binance", type="cex", holdings={"USDT": 2e5}),
    }
    limits = LimitSet(
        [Limit(name="deribit gross", metric="gross_value_usd", venue="deribit", hi=1.0)]
    )
    vr = assess_venues(g, specs, depeg_move=-0.05, limits=limits)
    assert list(vr.exposures) == venue_exposures(g, specs)
    assert [f.venue for f in vr.failures] == ["deribit", "binance"]
    assert vr.failures[1] == venue_failure(g, specs, "binance")
    assert vr.depeg_loss_usd == {"USDC": 0.0, "USDT": pytest.approx(1e4)}
    assert vr.limits is not None and vr.limits.breaches == ("deribit gross",)
    assert json.loads(json.dumps(vr.to_dict()))["failures"][0]["venue"] == "deribit"


def test_chain_halt_loses_every_venue_on_the_chain() -> None:
    """Two protocols on one chain and an exchange: the halt takes both protocols at the chain's
    recovery (its own spec's, else the type default), and leaves the exchange's delta."""
    from invrisk.risk.venues import assess_venues, chain_halt

    book, market = hedged_book()
    g = portfolio_greeks(book, market)
    specs = {
        "deribit": VenueSpec(name="deribit", type="cex"),
        "binance": VenueSpec(name="binance", type="defi", chain="ethereum", collateral_usd=1e5),
        "aave": VenueSpec(name="aave", type="defi", chain="ethereum", collateral_usd=4e5),
    }
    rows = {r.venue: r for r in venue_exposures(g, specs)}
    claim = rows["binance"].at_risk_usd + rows["aave"].at_risk_usd
    h = chain_halt(g, specs, "ethereum")
    rec = DEFAULT_VENUE_TYPES["chain"][1]
    assert h.loss_usd == pytest.approx((1 - rec) * claim) and h.recovered_usd == pytest.approx(
        rec * claim
    )
    assert h.delta_after_usd == pytest.approx(rows["deribit"].delta_usd)
    own = {**specs, "ethereum": VenueSpec(name="ethereum", type="chain", recovery=0.5)}
    assert chain_halt(g, own, "ethereum").loss_usd == pytest.approx(0.5 * claim)
    assert [c.venue for c in assess_venues(g, specs).chain_halts] == ["ethereum"]
    with pytest.raises(InvalidArgumentError, match="chain"):
        chain_halt(g, specs, "solana")
