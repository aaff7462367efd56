"""``invrisk lp``: position summary, backtest on the real pool data, and errors.

Reference values: issue 9's worked position (L = 500, P = 4000, [3000, 5000] -> 0.834626 ETH,
4236.65 USDC, Uniswap v3 whitepaper eq. 6.29-6.30); LVR ℓ = σ²L√P/4 in range (Milionis et
al. 2022, ℓ = σ²P²|x'(P)|/2 with x' = -L/(2P^{3/2})).
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from invrisk.cli import app
from invrisk.cli_lp import parse_range
from invrisk.errors import InvalidArgumentError
from tests.conftest import require_data

runner = CliRunner()
POOL_DIR = "uniswap_v3_usdc_weth_0p05_poolhourdata_2023-11_2024-01_definer"
WORKED = ["lp", "--pool", "v3", "--range", "3000:5000", "--liquidity", "500", "--price", "4000"]


def test_worked_position_json() -> None:
    result = runner.invoke(app, [*WORKED, "--sigma", "0.8", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    pos = doc["position"]
    assert pos["risky_qty"] == pytest.approx(0.834626, abs=5e-7)
    assert pos["quote_qty"] == pytest.approx(4236.65, abs=5e-3)
    assert pos["value_quote"] == pytest.approx(0.834626 * 4000 + 4236.65, abs=5e-3)
    assert pos["delta_qty"] == pytest.approx(pos["risky_qty"], rel=1e-15)
    assert pos["gamma_qty_per_quote"] == pytest.approx(-500 / (2 * 4000**1.5), rel=1e-12)
    lvr = 0.8**2 * 500 * math.sqrt(4000) / 4
    assert pos["lvr_quote_per_yr"] == pytest.approx(lvr, rel=1e-12)
    assert pos["break_even_fee_apr"] == pytest.approx(lvr / pos["value_quote"], rel=1e-12)
    assert len(pos["moves"]) == len(pos["impermanent_loss"]) == 8
    assert all(il <= 0 for il in pos["impermanent_loss"])
    assert "backtest" not in doc


def test_tables_and_v2() -> None:
    result = runner.invoke(app, [*WORKED])
    assert result.exit_code == 0, result.output
    assert "0.834626" in result.output and "Impermanent loss" in result.output
    assert "LVR" not in result.output  # no sigma, no LVR
    v2 = runner.invoke(
        app, ["lp", "--pool", "v2", "--liquidity", "10", "--price", "4", "--sigma", "1", "--json"]
    )
    assert v2.exit_code == 0, v2.output
    pos = json.loads(v2.output)["position"]
    assert pos["value_quote"] == pytest.approx(40.0, rel=1e-15)  # 2 L √P
    assert pos["break_even_fee_apr"] == pytest.approx(1 / 8, rel=1e-12)  # σ²/8


def test_backtest_from_history_json() -> None:
    data = require_data(POOL_DIR)
    args = ["lp", "--range", "1800:2600", "--liquidity", "128507.9", "--history", str(data)]
    result = runner.invoke(app, [*args, "--hedge", "delta", "--cost-bps", "5", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    bt = doc["backtest"]
    assert bt["periods"] == 999 and bt["hedge"] == "delta" and bt["cost_bps"] == 5.0
    assert (bt["std_period_pnl_hedged_quote"] / bt["std_period_pnl_unhedged_quote"]) ** 2 < 0.01
    assert bt["total_pnl_quote"] == pytest.approx(
        bt["lp_price_pnl_quote"]
        + bt["fees_quote"]
        + bt["hedge_pnl_quote"]
        + bt["funding_quote"]
        - bt["costs_quote"],
        abs=1e-6,
    )
    # the position summary is at the history's first close, with the realized sigma
    assert doc["position"]["price"] == pytest.approx(1995.8472, abs=1e-4)
    assert doc["position"]["vol"] == pytest.approx(bt["vol"], rel=1e-15)
    assert "funding" in bt["assumptions"]
    table = runner.invoke(app, [*args, "--hedge", "band:0.05", "--funding-rate", "0.1"])
    assert table.exit_code == 0, table.output
    assert "std of hourly P&L, hedged" in table.output and "band:0.05" in table.output


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--range", "5000:3000", "--liquidity", "1", "--price", "1"], "--range"),
        (["--range", "3000-5000", "--liquidity", "1", "--price", "1"], "--range"),
        (["--range", "a:b", "--liquidity", "1", "--price", "1"], "--range"),
        (["--liquidity", "1", "--price", "1"], "--range"),
        (["--range", "3000:5000", "--liquidity", "-1", "--price", "1"], "--liquidity"),
        (["--range", "3000:5000", "--price", "1"], "--liquidity"),
        (["--range", "3000:5000", "--liquidity", "1"], "--price"),
        (["--range", "3000:5000", "--liquidity", "1", "--price", "-2"], "--price"),
        (["--range", "3000:5000", "--liquidity", "1", "--price", "1", "--hedge", "x"], "--hedge"),
        (["--range", "3000:5000", "--liquidity", "1", "--price", "1", "--sigma", "-1"], "--sigma"),
        (["--pool", "v4", "--liquidity", "1", "--price", "1"], "--pool"),
        (["--pool", "v2", "--range", "1:2", "--liquidity", "1", "--price", "1"], "--range"),
    ],
)
def test_bad_input_names_the_option(extra: list[str], named: str) -> None:
    result = runner.invoke(app, ["lp", *extra])
    assert result.exit_code == 2
    assert f"{named}=" in result.output.replace("\n", "")


def test_parse_range() -> None:
    assert parse_range("3000:5000") == (3000.0, 5000.0)
    assert parse_range("0:inf") == (0.0, math.inf)
    with pytest.raises(InvalidArgumentError, match="not inverted"):
        parse_range("2:2")
    with pytest.raises(InvalidArgumentError, match=">= 0"):
        parse_range("-1:2")
