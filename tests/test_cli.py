"""The ``invrisk`` command line: every command, JSON output, errors with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from invrisk.cli import app
from invrisk.pricing import black76, implied_vol_coin
from invrisk.units import to_ns, year_fraction
from tests.conftest import require_data

runner = CliRunner()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_help_explains_units() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "ACT/365" in result.output
    for command in ("price", "iv", "chain", "demo"):
        assert command in result.output
    price_help = runner.invoke(app, ["price", "--help"])
    assert "decimal" in price_help.output and "USD" in price_help.output


def test_price_json_matches_library() -> None:
    out = _json(
        [
            "price",
            "--forward",
            "68000",
            "--strike",
            "70000",
            "--t-yr",
            "0.1",
            "--vol",
            "0.5",
            "--type",
            "call",
        ]
    )
    g = black76(forward=68000.0, strike=70000.0, t_yr=0.1, vol=0.5, option_type="call")
    for name, value in g.as_dict().items():
        assert out["usd"][name] == value
    assert out["conventional"]["vega_usd_per_vol_pt"] == g.vega * 0.01
    assert out["coin_settled"]["price_coin"] == g.price / 68000.0
    assert out["coin_settled"]["delta_premium_adjusted"] == g.delta - g.price / 68000.0


def test_price_from_instrument_name_and_ccxt_symbol() -> None:
    deribit = _json(
        [
            "price",
            "--instrument",
            "BTC-27MAR26-70000-C",
            "--forward",
            "68000",
            "--vol",
            "0.5",
            "--now",
            "2026-03-01T13:48:15Z",
        ]
    )
    ccxt = _json(
        [
            "price",
            "--instrument",
            "BTC/USD:BTC-260327-70000-C",
            "--forward",
            "68000",
            "--vol",
            "0.5",
            "--now",
            "2026-03-01T13:48:15Z",
        ]
    )
    t = year_fraction(to_ns("2026-03-01T13:48:15Z"), to_ns("2026-03-27T08:00:00Z"))
    assert deribit["inputs"]["t_yr"] == t
    assert deribit["inputs"]["expiry"] == "2026-03-27T08:00:00Z"
    assert deribit["usd"] == ccxt["usd"]


def test_iv_round_trip_and_reason_codes() -> None:
    price = black76(forward=68000.0, strike=70000.0, t_yr=0.1, vol=0.5, option_type="put").price
    args = ["iv", "--forward", "68000", "--strike", "70000", "--t-yr", "0.1", "--type", "p"]
    out = _json([*args, "--price", repr(price)])
    assert out["status"] == "OK"
    assert abs(out["vol"] - 0.5) < 1e-13
    coin = _json([*args, "--price", repr(price / 68000.0), "--coin"])
    assert abs(coin["vol"] - 0.5) < 1e-13
    below = _json([*args, "--price", "100"])  # the put's intrinsic value is 2000 USD
    assert below["status"] == "BELOW_INTRINSIC" and below["vol"] is None
    human = runner.invoke(app, [*args, "--price", "100"])
    assert human.exit_code == 0 and "BELOW_INTRINSIC" in human.output


def test_bad_input_exits_2_and_names_the_argument() -> None:
    result = runner.invoke(
        app,
        ["price", "--forward", "-1", "--strike", "5", "--t-yr", "1", "--vol", "0.2", "--type", "c"],
    )
    assert result.exit_code == 2
    assert "forward" in result.output
    result = runner.invoke(
        app, ["price", "--instrument", "BTC-31FEB26-1-C", "--forward", "1", "--vol", "0.2"]
    )
    assert result.exit_code == 2 and "BTC-31FEB26-1-C" in result.output
    result = runner.invoke(app, ["price", "--forward", "1", "--vol", "0.2", "--type", "c"])
    assert result.exit_code == 2 and "--strike" in result.output


def test_chain_on_real_deribit_file() -> None:
    path = require_data(
        "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"
    )
    out = _json(["chain", str(path), "--valuation-time", "2026-03-01T13:48:15Z"])
    summary, rows = out["summary"], out["options"]
    assert summary["options"] == len(rows) == 166  # PROVENANCE.txt: 166 options
    assert summary["iv_status"]["mark"] == {"OK": 166}
    # Deribit's mark price is rounded to 1e-4 BTC (PROVENANCE.txt), so our IV of it differs from
    # the exchange's mark_iv by a rounding-sized amount; the median is far below a vol point.
    assert summary["agreement_with_exchange_mark_iv"]["median_abs_diff_vol_pts"] < 0.1
    row = next(r for r in rows if r["instrument"] == "BTC-13MAR26-61000-C")
    t = year_fraction(to_ns("2026-03-01T13:48:15Z"), to_ns("2026-03-13T08:00:00Z"))
    expected = implied_vol_coin(
        price_coin=0.0951, forward=66342.3, strike=61000.0, t_yr=t, option_type="call"
    ).vol
    assert row["iv_mark"] == expected
    totals = summary["totals"]
    assert np.isclose(totals["delta"], sum(r["delta"] for r in rows), rtol=1e-12)
    human = runner.invoke(
        app, ["chain", str(path), "--valuation-time", "2026-03-01T13:48:15Z", "--limit", "3"]
    )
    assert human.exit_code == 0
    assert "163 more rows" in human.output and "Totals" in human.output


def test_chain_without_valuation_time_is_a_clear_error() -> None:
    path = require_data(
        "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"
    )
    result = runner.invoke(app, ["chain", str(path)])
    assert result.exit_code == 2
    assert "valuation" in result.output


def test_demo_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "surface.html"
    bt_report = tmp_path / "backtest.html"
    risk_report = tmp_path / "risk.html"
    out = _json(
        [
            "demo",
            "--n-speed",
            "20000",
            "--plot",
            str(report),
            "--backtest-report",
            str(bt_report),
            "--risk-report",
            str(risk_report),
            "--paper-journal",
            str(tmp_path / "paper.sqlite"),
        ]
    )
    assert report.exists() and out["surface"]["plot"] == str(report)
    assert bt_report.exists() and out["backtest"]["report"] == str(bt_report)
    # The sample option book starts outside its limits; the hedge brings the linear ones in.
    risk = out["risk"]
    assert risk_report.exists() and risk["report"] == str(risk_report)
    assert {"btc delta", "btc vega"} <= set(risk["breaches"])
    after = risk["hedge"]["exposure_after"]
    assert abs(after["btc delta"]) <= 1.0 + 1e-6 and abs(after["btc vega"]) <= 150_000 + 1e-3
    assert abs(after["btc front vega"]) <= 100_000 + 1e-3
    assert risk["hedge"]["not_constrained"] == ["var 99%"] and risk["hedge"]["cost_usd"] > 0
    # venues: custodian default (0.5%/yr, 80% recovered) on 3 M USD; USDC 1.4 M x 12.5%
    vn = risk["venues"]
    assert vn["loss_if_fails_usd"]["custodian"] == pytest.approx(0.2 * 3e6, rel=1e-12)
    assert vn["expected_loss_usd_per_year"]["custodian"] == pytest.approx(0.005 * 0.2 * 3e6)
    assert vn["usdc_depeg_loss_usd"] == pytest.approx(0.125 * 1.4e6, rel=1e-12)
    claim = vn["claim_at_risk_usd"]["deribit"]
    assert vn["loss_if_fails_usd"]["deribit"] == pytest.approx(0.7 * claim, rel=1e-12)
    assert "Venues" in risk_report.read_text() and "invrisk-risk-venues" in risk_report.read_text()
    # one minute of paper trading: fills, and the journal's positions equal the runtime's
    paper = out["paper"]
    assert paper["feed_s"] >= 60.0 and paper["fills"] > 0 and paper["state"] == "ACTIVE"
    assert paper["journal_fills"] == paper["fills"]
    assert abs(paper["journal_position_btc"] - paper["position_btc"]) < 1e-9
    assert (tmp_path / "paper.sqlite").exists()
    assert out["surface"]["svi_arbitrage_free"] and out["surface"]["essvi_arbitrage_free"]
    # The synthetic smile is raw SVI per expiry: the per-expiry fit reproduces it.
    assert out["surface"]["svi_max_rmse_vol_pts"] < 0.01
    assert out["chain"]["options"] > 300
    assert out["round_trip"]["mark_status"] == {"OK": out["chain"]["options"]}
    assert out["round_trip"]["mark_iv_max_abs_err"] < 1e-12
    assert out["speed"]["iv_max_abs_err_well_posed"] < 1e-12


SNAPSHOT = "deribit_chain_snapshots_2026_znmahbub/deribit_options_snapshot_20260226T094105Z.csv.gz"


def test_surface_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = require_data(SNAPSHOT)
    report = tmp_path / "btc.html"
    out = _json(["surface", str(path), "--currency", "BTC", "--plot", str(report)])
    assert out["currency"] == "BTC" and out["model"] == "svi"
    assert len(out["expiries"]) == 13
    assert out["arbitrage"]["arbitrage_free"] is True
    assert report.exists() and out["plot"] == str(report)
    essvi = _json(["surface", str(path), "--currency", "ETH", "--model", "essvi"])
    assert essvi["model"] == "essvi" and essvi["arbitrage"]["arbitrage_free"] is True
    human = runner.invoke(app, ["surface", str(path), "--currency", "BTC"])
    assert human.exit_code == 0 and "Arbitrage free: yes" in human.output
    # Two currencies in the file and none chosen: a clear error naming the argument.
    result = runner.invoke(app, ["surface", str(path)])
    assert result.exit_code == 2 and "currency" in result.output
    result = runner.invoke(app, ["surface", str(path), "--model", "sabr"])
    assert result.exit_code == 2


def test_surface_command_on_a_tardis_stream(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from invrisk.data import load_deribit_chain
    from invrisk.data.tardis_options import TARDIS_OPTIONS_CHAIN_COLUMNS
    from invrisk.units import ns_to_iso
    from tests.data.test_tardis_options import F_2020_05_14, write_tardis

    chain = load_deribit_chain(require_data(F_2020_05_14))
    path = tmp_path / "deribit_options_chain_2020-05-14_OPTIONS.csv"
    path.write_text(
        ",".join(TARDIS_OPTIONS_CHAIN_COLUMNS) + "\n" + "\n".join(write_tardis(chain)) + "\n"
    )
    at = ns_to_iso(int(chain.valuation_ns.max()))
    out = _json(["surface", str(path), "--at", at])
    assert out["currency"] == "BTC" and out["arbitrage"]["arbitrage_free"] is True
    assert len(out["expiries"]) >= 5


def test_simulate_command() -> None:
    # Avellaneda & Stoikov (2008) Section 3.3 defaults: the inventory strategy carries much less
    # risk than the symmetric one at a similar mean profit (the paper's qualitative result).
    out = _json(["simulate", "--gamma", "0.1", "--paths", "500"])
    inv, sym = out["strategy"], out["symmetric"]
    assert inv["profit_std"] < 0.7 * sym["profit_std"]
    assert inv["q_std"] < 0.65 * sym["q_std"]
    assert abs(inv["profit_mean"] - sym["profit_mean"]) < 0.1 * sym["profit_mean"]
    glft = _json(["simulate", "--model", "glft", "--paths", "200"])
    assert glft["strategy"]["q_std"] < glft["symmetric"]["q_std"]
    result = runner.invoke(app, ["simulate", "--gamma", "-1"])
    assert result.exit_code == 2 and "gamma" in result.output


def test_demo_quoting_section(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = _json(["demo", "--n-speed", "20000", "--no-plot"])
    q = out["quoting"]
    cal, true = q["calibrated"], q["true"]
    # Calibration on the synthetic market recovers what was put in, within 4 standard errors.
    assert abs(cal["A_per_s"] - true["A_per_s"]) < 4 * cal["A_se"]
    assert abs(cal["k_per_price"] - true["k_per_price"]) < 4 * cal["k_se"]
    assert abs(cal["sigma_price_per_sqrt_s"] - true["sigma_price_per_sqrt_s"]) < 4 * cal["sigma_se"]
    rows = {r["q"]: r for r in q["quotes_over_inventory"]}
    assert rows[0]["bid_depth"] == rows[0]["ask_depth"]  # symmetric at zero inventory
    # The GLFT backtest: online calibration close to the generator's truth (within 10%; the
    # calibrator's own SEs are ~3% here), fills, inventory inside q_max + one order.
    bt = out["backtest"]
    assert bt["report"] is None and bt["fills"] > 100
    assert abs(bt["calibrated"]["A_per_s"] / bt["true"]["A_per_s"] - 1) < 0.1
    assert abs(bt["calibrated"]["k_per_price"] / bt["true"]["k_per_price"] - 1) < 0.1
    assert bt["max_abs_inventory_btc"] <= 0.1 + 0.01 + 1e-12
    assert rows[3]["bid_depth"] > rows[0]["bid_depth"] > rows[-3]["bid_depth"]
