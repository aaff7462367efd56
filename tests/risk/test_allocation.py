"""Capital allocation across venues: optimum against brute force, every cap held, and the
infeasibility report."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.risk.allocation import AllocationInfeasibleError, allocate_capital
from invrisk.risk.venues import VenueSpec

VENUES = {
    "deribit": VenueSpec(name="deribit", type="cex", failure_prob_per_year=0.02, recovery=0.3),
    "binance": VenueSpec(name="binance", type="cex", failure_prob_per_year=0.03, recovery=0.4),
    "anchorage": VenueSpec(
        name="anchorage", type="custodian", failure_prob_per_year=0.005, recovery=0.8
    ),
}
RATES = {"deribit": 0.12, "binance": 0.10, "anchorage": 0.01}


def test_optimum_matches_a_grid_search_and_holds_every_cap() -> None:
    total = 10e6
    kw = {
        "total_usd": total,
        "venues": VENUES,
        "revenue_rate": RATES,
        "margin_need_usd": {"deribit": 2e6, "binance": 1e6},
        "max_share": {"deribit": 0.5, "binance": 0.4},
        "max_type_share": {"cex": 0.8},
        "max_single_loss_usd": 3e6,
    }
    a = allocate_capital(**kw)  # type: ignore[arg-type]
    x = a.amounts_usd
    assert sum(x.values()) == pytest.approx(total)
    assert x["deribit"] >= 2e6 - 1 and x["binance"] >= 1e6 - 1
    assert x["deribit"] <= 5e6 + 1 and x["binance"] <= 4e6 + 1
    assert x["deribit"] + x["binance"] <= 8e6 + 1
    for v, amount in x.items():
        assert (1 - VENUES[v].recovery_rate) * amount <= 3e6 + 1
    # brute force on a 50,000 USD grid
    best = -np.inf
    step = 50_000.0
    for d, b in itertools.product(np.arange(2e6, 5e6 + 1, step), np.arange(1e6, 4e6 + 1, step)):
        c = total - d - b
        if c < 0 or d + b > 8e6 or 0.7 * d > 3e6 or 0.6 * b > 3e6 or 0.2 * c > 3e6:
            continue
        net = sum(
            (RATES[v] - VENUES[v].pd * (1 - VENUES[v].recovery_rate)) * amt
            for v, amt in (("deribit", d), ("binance", b), ("anchorage", c))
        )
        best = max(best, net)
    # the LP optimum is at least the grid's best, and within one grid step's revenue of it
    # (the optimum sits off the grid: deribit at its single-loss cap, 3e6 / 0.7)
    assert best - 1.0 <= a.net_usd <= best + 0.12 * step
    assert x["deribit"] == pytest.approx(3e6 / 0.7, rel=1e-9)
    assert "type:cex" in a.binding


def test_infeasible_constraints_are_named() -> None:
    with pytest.raises(AllocationInfeasibleError) as info:
        allocate_capital(
            total_usd=1e6,
            venues=VENUES,
            revenue_rate=RATES,
            margin_need_usd={"deribit": 8e5, "binance": 5e5},
        )
    assert {"margin need at deribit", "margin need at binance"} & set(info.value.violations)
    assert sum(info.value.violations.values()) == pytest.approx(3e5, rel=1e-6)
    with pytest.raises(AllocationInfeasibleError) as info:
        allocate_capital(
            total_usd=10e6, venues=VENUES, revenue_rate=RATES, max_single_loss_usd=1e6
        )  # at most 1/0.7 + 1/0.6 + 1/0.2 = 8.1 M can be placed
    assert any(k.startswith("max_single_loss_usd") for k in info.value.violations)
    assert "max_single_loss_usd" in str(info.value)


def test_bad_input() -> None:
    for kw, word in (
        ({"total_usd": 0.0}, "total_usd"),
        ({"revenue_rate": {"kraken": 0.1}}, "revenue_rate"),
        ({"max_share": {"deribit": 1.5}}, "max_share"),
        ({"max_type_share": {"bank": 0.5}}, "max_type_share"),
        ({"margin_need_usd": {"deribit": -1.0}}, "margin_need_usd"),
    ):
        args = {"total_usd": 1e6, "venues": VENUES, "revenue_rate": RATES, **kw}
        with pytest.raises(InvalidArgumentError, match=word):
            allocate_capital(**args)  # type: ignore[arg-type]


def test_allocate_command() -> None:
    from typer.testing import CliRunner

    from invrisk.cli import app

    venues = Path(__file__).parents[2] / "examples" / "venues_btc.toml"
    base = ["allocate", "--venues", str(venues), "--total", "5000000"]
    rates = ["--revenue", "deribit=0.12", "--revenue", "binance=0.08"]
    result = CliRunner().invoke(app, [*base, *rates, "--max-share", "deribit=0.6", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["feasible"] and sum(out["amounts_usd"].values()) == pytest.approx(5e6)
    assert out["amounts_usd"]["deribit"] == pytest.approx(3e6, rel=1e-9)
    # impossible caps: exit 1 with the violated constraint named
    result = CliRunner().invoke(
        app, [*base, *rates, "--margin", "deribit=4e6", "--margin", "binance=2e6", "--json"]
    )
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert not out["feasible"] and out["violations"]
    # a malformed pair names the option and the value
    result = CliRunner().invoke(app, [*base, "--revenue", "deribit:0.1"])
    assert result.exit_code != 0 and "--revenue" in result.output
