"""``invrisk quote`` and ``invrisk calibrate`` (src/invrisk/cli_quote.py) through CliRunner.

The quote checks are cross-implementation: the JSON numbers must equal the library's depth
functions exactly (the CLI only routes arguments); the calibration check compares the command
with the library called directly on mids rebuilt here, and with the same data in Tardis form.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from invrisk.cli_quote import register
from invrisk.quoting import (
    avellaneda_stoikov_depths,
    calibrate_intensity,
    calibrate_sigma,
    cjp_depths,
    gueant_closed_form_depths,
    solve_gueant,
)
from tests.conftest import require_data

runner = CliRunner()

_BINANCE = "binance_l2_trades_2024-08-08_hftbacktest/usdm_btcusdt_20240808.gz"
_TARDIS_DIR = "binance_l2_trades_2024-08-08_hftbacktest/derived_tardis_format"
_TARDIS = (
    f"{_TARDIS_DIR}/binance-futures_incremental_book_L2_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz",
    f"{_TARDIS_DIR}/binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz",
)


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


APP = _app()
PARAMS = ["--sigma", "2.0", "--gamma", "0.01", "--A", "1.5", "--k", "0.5"]


def _json(args: list[str]) -> dict[str, Any]:
    result = runner.invoke(APP, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def test_help_states_units() -> None:
    text = runner.invoke(APP, ["quote", "--help"], env={"COLUMNS": "240"}).output
    for unit in ("per √second", "orders per second", "per price unit", "seconds"):
        assert unit in text
    assert runner.invoke(APP, ["calibrate", "--help"]).exit_code == 0


def test_quote_as_matches_library() -> None:
    out = _json(["quote", "--model", "as", *PARAMS, "--horizon-s", "60", "--inventory", "1.5"])
    b, a = avellaneda_stoikov_depths(q=1.5, tau_s=60.0, sigma=2.0, gamma=0.01, k=0.5)
    assert out["quote"]["bid_depth"] == b
    assert out["quote"]["ask_depth"] == a
    assert out["quote"]["bid_quoted"] and out["quote"]["ask_quoted"]


@pytest.mark.parametrize("horizon", [None, "30"])
def test_quote_glft_exact_matches_library(horizon: str | None) -> None:
    args = ["quote", "--model", "glft", *PARAMS, "--q-max", "4", "--inventory", "2"]
    if horizon is not None:
        args += ["--horizon-s", horizon]
    out = _json([*args, "--mid", "100", "--table"])
    sol = solve_gueant(sigma=2.0, gamma=0.01, A=1.5, k=0.5, q_max=4.0)
    tau = None if horizon is None else float(horizon)
    b, a, _, _ = sol.depths(q=2.0, tau_s=tau)
    assert (out["quote"]["bid_depth"], out["quote"]["ask_depth"]) == (b, a)
    assert (out["quote"]["bid"], out["quote"]["ask"]) == (100.0 - b, 100.0 + a)
    assert [r["inventory"] for r in out["table"]] == [float(q) for q in range(-4, 5)]
    for row in out["table"]:
        b, a, _, _ = sol.depths(q=row["inventory"], tau_s=tau)
        assert row["bid_depth"] == _none_if_nan(b)
        assert row["ask_depth"] == _none_if_nan(a)


def test_quote_glft_approx_matches_library_with_xi_and_drift() -> None:
    args = ["--xi", "0", "--mu", "0.001", "--trade-qty", "0.5", "--q-max", "2"]
    out = _json(["quote", "--model", "glft-approx", *PARAMS, *args, "--inventory", "-1.5"])
    b, a = gueant_closed_form_depths(
        q=-1.5, sigma=2.0, gamma=0.01, A=1.5, k=0.5, xi=0.0, mu=0.001, trade_qty=0.5
    )
    assert (out["quote"]["bid_depth"], out["quote"]["ask_depth"]) == (b, a)
    assert out["inputs"]["xi"] == 0.0


def test_quote_cj_matches_library() -> None:
    args = ["--q-max", "3", "--horizon-s", "60", "--terminal-penalty", "0.1"]
    out = _json(["quote", "--model", "cj", *PARAMS, *args, "--inventory", "-1", "--table"])
    bid, ask = cjp_depths(
        tau_s=60.0,
        phi=0.5 * 0.01 * 2.0**2,
        terminal_penalty=0.1,
        k=0.5,
        lambda_bid=1.5,
        lambda_ask=1.5,
        q_max=3,
    )
    assert (out["quote"]["bid_depth"], out["quote"]["ask_depth"]) == (bid[2], ask[2])
    assert [r["bid_depth"] for r in out["table"]] == [_none_if_nan(x) for x in bid]
    assert [r["ask_depth"] for r in out["table"]] == [_none_if_nan(x) for x in ask]


@pytest.mark.parametrize("model", ["glft", "glft-approx", "cj"])
def test_side_at_the_inventory_bound_is_not_quoted(model: str) -> None:
    base = ["quote", "--model", model, *PARAMS, "--q-max", "3", "--horizon-s", "10"]
    top = _json([*base, "--inventory", "3", "--mid", "100"])["quote"]
    assert not top["bid_quoted"] and top["bid"] is None and top["bid_depth"] is None
    assert top["ask_quoted"] and top["ask"] is not None
    low = _json([*base, "--inventory", "-3", "--mid", "100"])["quote"]
    assert not low["ask_quoted"] and low["ask"] is None
    assert low["bid_quoted"] and low["bid"] is not None


def test_tick_rounding_is_outward() -> None:
    args = ["quote", "--model", "as", *PARAMS, "--horizon-s", "60", "--inventory", "1"]
    out = _json([*args, "--mid", "60000.03", "--tick", "0.1"])["quote"]
    b, a = avellaneda_stoikov_depths(q=1.0, tau_s=60.0, sigma=2.0, gamma=0.01, k=0.5)
    raw_bid, raw_ask = 60000.03 - b, 60000.03 + a
    assert out["bid_on_tick"] == math.floor(raw_bid * 10) / 10 <= raw_bid
    assert out["ask_on_tick"] == math.ceil(raw_ask * 10) / 10 >= raw_ask
    assert out["bid_tick"] == math.floor(raw_bid * 10)
    assert out["ask_tick"] == math.ceil(raw_ask * 10)
    assert out["bid_depth_on_tick"] >= b and out["ask_depth_on_tick"] >= a


def test_price_already_on_the_grid_stays() -> None:
    # σ = 0, τ = 0, γ → 0: depths (1/γ) ln(1 + γ/k) ≈ 1/k = 2, so the raw prices are
    # 59998.1 and 60002.1 up to float noise; they must not move a whole tick outward.
    out = _json(
        [
            "quote",
            "--model",
            "as",
            "--sigma",
            "0",
            "--gamma",
            "1e-12",
            "--k",
            "0.5",
            "--horizon-s",
            "0",
            "--inventory",
            "0",
            "--mid",
            "60000.1",
            "--tick",
            "0.1",
        ]
    )["quote"]
    assert abs(out["bid"] - 59998.1) < 1e-6 and abs(out["ask"] - 60002.1) < 1e-6
    assert out["bid_on_tick"] == 59998.1
    assert out["ask_on_tick"] == 60002.1


@pytest.mark.parametrize(
    ("option", "value"),
    [("--gamma", "-1"), ("--gamma", "0"), ("--k", "0"), ("--A", "-2"), ("--sigma", "-0.5")],
)
def test_bad_parameter_exits_2_naming_it(option: str, value: str) -> None:
    params = dict(zip(PARAMS[::2], PARAMS[1::2], strict=True))
    params[option] = value
    flat = [x for kv in params.items() for x in kv]
    args = ["quote", "--model", "glft", *flat, "--q-max", "3", "--inventory", "0"]
    result = runner.invoke(APP, args)
    assert result.exit_code == 2
    assert f"invalid value for {option}" in result.output
    assert "is invalid: expected" in result.output  # the library's message


@pytest.mark.parametrize("model", ["glft", "glft-approx", "cj"])
def test_inventory_beyond_bound_exits_2(model: str) -> None:
    args = ["quote", "--model", model, *PARAMS, "--q-max", "3", "--horizon-s", "5"]
    result = runner.invoke(APP, [*args, "--inventory", "4"])
    assert result.exit_code == 2
    assert "--inventory" in result.output and "q_max" in result.output


def test_missing_or_unknown_options_exit_2() -> None:
    no_horizon = runner.invoke(APP, ["quote", "--model", "as", *PARAMS, "--inventory", "0"])
    assert no_horizon.exit_code == 2 and "--horizon-s" in no_horizon.output
    no_bound = runner.invoke(APP, ["quote", "--model", "glft", *PARAMS, "--inventory", "0"])
    assert no_bound.exit_code == 2 and "--q-max" in no_bound.output
    bad_model = runner.invoke(APP, ["quote", "--model", "xx", *PARAMS, "--inventory", "0"])
    assert bad_model.exit_code == 2 and "--model" in bad_model.output
    tick_no_mid = runner.invoke(
        APP,
        [
            "quote",
            "--model",
            "as",
            *PARAMS,
            "--horizon-s",
            "1",
            "--inventory",
            "0",
            "--tick",
            "0.1",
        ],
    )
    assert tick_no_mid.exit_code == 2 and "--tick" in tick_no_mid.output


def test_calibrate_unreadable_file_exits_2(tmp_path: Any) -> None:
    missing = runner.invoke(APP, ["calibrate", str(tmp_path / "none.gz")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    junk = tmp_path / "junk.csv"
    junk.write_text("hello\n")
    result = runner.invoke(APP, ["calibrate", str(junk)])
    assert result.exit_code == 2 and "unrecognised format" in result.output
    bad = runner.invoke(APP, ["calibrate", str(junk), "--interval-ms", "0"])
    assert bad.exit_code == 2 and "--interval-ms" in bad.output


def _library_calibration(path: Any) -> tuple[Any, Any, Any]:
    """sigma and (A, k) per side with the library alone (mids rebuilt here)."""
    from invrisk.data.binance import read_binance_stream
    from invrisk.market.book import L2Book

    stream = read_binance_stream(path)
    ev, tick = stream.events, stream.tick_size
    t0, t1 = int(ev["local_ns"][0]), int(ev["local_ns"][-1])
    step = 100_000_000
    grid = t0 + step * np.arange((t1 - t0) // step + 1, dtype=np.int64)
    s = L2Book.for_events(ev, tick_size=tick).sample(ev, at_ns=grid, n_levels=1)
    bid, ask = s.bid_price[:, 0], s.ask_price[:, 0]
    mid = np.where(bid < ask, 0.5 * (bid + ask), np.nan)
    sig = calibrate_sigma(grid, mid, interval_ns=1_000_000_000)
    fits = [
        calibrate_intensity(
            ev,
            mid_ns=grid,
            mid=mid,
            tick_size=tick,
            interval_ns=step,
            max_depth_ticks=50,
            side=side,
            clock="local_ns",
        )
        for side in ("bid", "ask")
    ]
    return sig, fits[0], fits[1]


def test_calibrate_binance_file_matches_library() -> None:
    path = require_data(_BINANCE)
    out = _json(["calibrate", str(path)])
    assert out["data"]["format"] == "binance" and out["data"]["tick_size"] == 0.1
    assert out["status"] == "ok"
    sig, bid, ask = _library_calibration(path)
    s = out["sigma"]
    assert s["sigma_price_per_sqrt_s"] == sig.sigma_price_per_sqrt_s
    assert s["vol_annualised"] == sig.vol
    # BTCUSDT at ~61,800 USD on 2024-08-08: a few USD per √s, tens of % a year.
    assert 1.0 < s["sigma_price_per_sqrt_s"] < 50.0
    assert 0.1 < s["vol_annualised"] < 3.0
    assert 0 < s["sigma_se_price_per_sqrt_s"] < s["sigma_price_per_sqrt_s"]
    for name, fit in (("bid", bid), ("ask", ask)):
        side = out[name]
        assert side["status"] == "ok"
        assert side["A_per_s"] == fit.a_per_s > 0
        assert side["k_per_price"] == fit.k_per_price > 0
        for se in (side["A_se_per_s"], side["k_se_per_price"]):
            assert se is not None and 0 < se < math.inf


def test_calibrate_tardis_pair_agrees_with_binance_recording() -> None:
    """The derived Tardis pair is the same recording: the fits must agree closely."""
    binance = _json(["calibrate", str(require_data(_BINANCE))])
    paths = [str(require_data(p)) for p in _TARDIS]
    tardis = _json(["calibrate", *paths])
    assert tardis["data"]["format"] == "tardis" and tardis["data"]["tick_size"] == 0.1
    assert any("goes backwards" in w for w in tardis["warnings"])  # reported, not raised
    np.testing.assert_allclose(
        tardis["sigma"]["sigma_price_per_sqrt_s"],
        binance["sigma"]["sigma_price_per_sqrt_s"],
        rtol=1e-2,
    )
    for side in ("bid", "ask"):
        for key in ("A_per_s", "k_per_price"):
            np.testing.assert_allclose(tardis[side][key], binance[side][key], rtol=2e-2)


def test_calibrate_text_output() -> None:
    result = runner.invoke(APP, ["calibrate", str(require_data(_BINANCE))])
    assert result.exit_code == 0, result.output
    assert "price/√s" in result.output and "calibration status: ok" in result.output


def test_tardis_needs_book_and_trades() -> None:
    result = runner.invoke(APP, ["calibrate", str(require_data(_TARDIS[1]))])
    assert result.exit_code == 2 and "incremental_book_L2" in result.output
