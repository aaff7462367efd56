"""The hedging-policy study, its HTML report and the ``invrisk hedging-sim`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from invrisk.cli import app
from invrisk.errors import InvalidArgumentError
from invrisk.hedging import FixedBand, FixedInterval, WhalleyWilmott
from invrisk.hedging.study import default_policies, run_hedging_study
from invrisk.report.hedging_report import hedging_report, write_hedging_report
from tests.conftest import require_data
from tests.hedging.test_hedging import HOURLY, gbm

runner = CliRunner()


@pytest.fixture(scope="module")
def study():  # type: ignore[no-untyped-def]
    return run_hedging_study(
        gbm(800, 90, 0.25, 0.5, seed=4), dt_yr=0.25 / 90, vol=0.5, cost_rate=1e-3, source="GBM"
    )


def test_frontier_marks_exactly_the_undominated_rows(study) -> None:  # type: ignore[no-untyped-def]
    rows = study.rows
    assert len(rows) == len(default_policies(cost_rate=1e-3, spot=100.0))
    for r in rows:
        dominated = any(
            o is not r
            and o.mean_cost <= r.mean_cost
            and o.std_pnl <= r.std_pnl
            and (o.mean_cost < r.mean_cost or o.std_pnl < r.std_pnl)
            for o in rows
        )
        assert r.efficient is not dominated
    front = study.frontier()
    assert front and [r.mean_cost for r in front] == sorted(r.mean_cost for r in front)
    # along the frontier, paying more buys less risk
    assert [r.std_pnl for r in front] == sorted((r.std_pnl for r in front), reverse=True)


def test_rows_match_direct_simulations() -> None:
    from invrisk.hedging import simulate_hedging

    p = gbm(300, 40, 0.1, 0.6, seed=8)
    pols = [
        ("a", FixedInterval(3)),
        ("b", FixedBand(0.05)),
        ("c", WhalleyWilmott(cost_rate=2e-3, risk_aversion=0.1)),
    ]
    st = run_hedging_study(p, dt_yr=0.1 / 40, vol=0.6, cost_rate=2e-3, policies=pols)
    for row, (label, pol) in zip(st.rows, pols, strict=True):
        s = simulate_hedging(
            p,
            dt_yr=0.1 / 40,
            strike=p[:, 0],
            vol=0.6,
            option_type="call",
            policy=pol,
            cost_rate=2e-3,
        ).summary()
        assert (
            row.label == label and row.std_pnl == s["std_pnl"] and row.mean_cost == s["mean_cost"]
        )
    with pytest.raises(InvalidArgumentError, match="policies"):
        run_hedging_study(p, dt_yr=0.1 / 40, vol=0.6, cost_rate=2e-3, policies=[])
    with pytest.raises(InvalidArgumentError, match="risk"):
        run_hedging_study(p, dt_yr=0.1 / 40, vol=0.6, cost_rate=2e-3, risk="var")


def test_report_page(study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = hedging_report(study)
    assert page.startswith("<!DOCTYPE html>") and page.count("<h1>") == 1
    assert 'id="invrisk-hedging"' in page and "efficient frontier" in page
    for r in study.rows:
        assert r.label.replace("±", "&#177;") in page or r.label in page
    assert hedging_report(study) == page  # deterministic
    out = write_hedging_report(study, tmp_path / "h.html", title="T <x>")
    assert "<h1>T &lt;x&gt;</h1>" in out.read_text(encoding="utf-8")
    with pytest.raises(InvalidArgumentError, match="study"):
        hedging_report("not a study")  # type: ignore[arg-type]


def test_cli_synthetic_json_and_report(tmp_path: Path) -> None:
    report = tmp_path / "hedging.html"
    result = runner.invoke(
        app,
        ["hedging-sim", "--paths", "200", "--days", "5", "--json", "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["paths"] == 200 and doc["steps"] == 120 and doc["report"] == str(report)
    assert len(doc["rows"]) == len(default_policies(cost_rate=1e-3, spot=100.0))
    assert any(r["efficient"] for r in doc["rows"]) and report.exists()


def test_cli_on_the_real_hourly_history() -> None:
    path = require_data(HOURLY)
    result = runner.invoke(
        app, ["hedging-sim", "--history", str(path), "--days", "7", "--stride-days", "28", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["steps"] == 168 and doc["paths"] > 40
    assert all(np.isfinite(r["std_pnl"]) for r in doc["rows"])


def test_cli_bad_input_exits_2() -> None:
    for args, word in (
        (["--days", "0"], "days"),
        (["--cost-bps", "-1"], "cost-bps"),
        (["--option", "straddle"], "option_type"),
    ):
        result = runner.invoke(app, ["hedging-sim", "--paths", "20", *args])
        assert result.exit_code == 2 and word in result.output, result.output
