"""``invrisk sweep`` and ``invrisk walk-forward`` (typer CliRunner), and the sweep report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from invrisk.cli import app
from invrisk.errors import InvalidArgumentError
from invrisk.report.sweep_report import pareto_front, sweep_report
from tests.conftest import REPO_ROOT
from tests.test_sweep import write_sweep

runner = CliRunner()
GRID = """
[params]
"strategy.gamma" = [0.01, 0.2, 2.0]
"run.decision_interval_ms" = [100.0, 200.0]
"""


def test_sweep_json_report_and_resume(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, GRID, events=20_000)
    out, html = tmp_path / "out", tmp_path / "sweep.html"
    args = ["sweep", str(path), "--workers", "0", "--out", str(out), "--json"]
    first = runner.invoke(app, [*args, "--report", str(html), "--top", "3", "--walk-forward", "2"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert (doc["runs"], doc["computed"], doc["skipped"], doc["failed"]) == (6, 6, 0, {})
    assert doc["params"] == ["strategy.gamma", "run.decision_interval_ms"]
    assert len(doc["best"]) == 3
    pnl = [b["pnl"] for b in doc["best"]]
    assert pnl == sorted(pnl, reverse=True)
    table = pq.read_table(doc["summary"])
    assert table.num_rows == 6 and max(table.column("pnl").to_pylist()) == pnl[0]
    wf = doc["walk_forward"]
    best = doc["best"][0]
    assert wf["label"].startswith(f"best point {best['point']} (strategy.gamma=")
    assert len(wf["steps"]) == 1 and wf["steps"][0]["gamma"] == best["strategy.gamma"]
    text = html.read_text(encoding="utf-8")
    assert "Walk-forward" in text and wf["label"].split(" (")[0] in text
    assert text.startswith("<!DOCTYPE html>")
    for section in (
        "Metrics over strategy.gamma and run.decision_interval_ms",
        "Efficient frontier",
        "Best configurations by pnl",
        "plotly",
    ):
        assert section in text
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert (json.loads(again.output)["computed"], json.loads(again.output)["skipped"]) == (0, 6)
    human = runner.invoke(app, ["sweep", str(path), "--workers", "0", "--out", str(out)])
    assert human.exit_code == 0, human.output
    assert "6 runs" in human.output and "6 already finished" in human.output
    assert "settlement currency" in human.output


@pytest.mark.parametrize(
    ("extra", "body", "message"),
    [
        (["--scheduler", "tcp//nohost"], GRID, "scheduler"),
        (["--scheduler", "local:0"], GRID, "scheduler"),
        ([], '[params]\n"strategy.gama" = [0.1]\n', "strategy.gama"),
        ([], '[params]\n"strategy.gamma" = []\n', "grid is empty"),
    ],
)
def test_sweep_cli_errors(tmp_path: Path, extra: list[str], body: str, message: str) -> None:
    path = write_sweep(tmp_path, body, events=20_000)
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "o"), *extra])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())  # rich wraps long lines
    assert "error:" in flat and message in flat


def test_help_texts() -> None:
    for cmd, words in (
        ("sweep", ("--scheduler", "local:N", "--workers", "resume", "--json", "--report")),
        ("walk-forward", ("--windows", "--gamma", "--select", "out-of-sample", "--json")),
    ):
        result = runner.invoke(app, [cmd, "--help"])
        assert result.exit_code == 0
        flat = " ".join(result.output.split())
        for word in words:
            assert word in flat, (cmd, word)


def test_walk_forward_cli(tmp_path: Path) -> None:
    cfg = tmp_path / "wf.toml"
    text = (REPO_ROOT / "examples" / "sweep_base_glft.toml").read_text(encoding="utf-8")
    cfg.write_text(text.replace("events = 50_000", "events = 80_000"), encoding="utf-8")
    html = tmp_path / "wf.html"
    result = runner.invoke(
        app,
        [
            "walk-forward",
            str(cfg),
            "--windows",
            "2",
            "--gamma",
            "0.01,1",
            "--json",
            "--sigma-interval-s",
            "0.1",
            "--report",
            str(html),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert len(doc["steps"]) == 1 and doc["gamma_grid"] == [0.01, 1.0]
    step = doc["steps"][0]
    assert step["gamma"] in (0.01, 1.0) and step["out_of_sample"]["n_fills"] > 0
    assert "Walk-forward" in html.read_text(encoding="utf-8")
    human = runner.invoke(app, ["walk-forward", str(cfg), "--windows", "2"])
    assert human.exit_code == 0, human.output
    assert "degradation" in human.output and "0→1" in human.output
    bad = runner.invoke(app, ["walk-forward", str(cfg), "--windows", "2", "--gamma", "x"])
    assert bad.exit_code == 2 and "--gamma" in bad.output
    missing = runner.invoke(app, ["walk-forward", str(tmp_path / "no.toml"), "--windows", "2"])
    assert missing.exit_code == 2 and "no.toml" in missing.output


def test_pareto_front_against_a_brute_force_reference() -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        reward = np.round(rng.normal(size=n), 1)  # ties on purpose
        risk = np.round(rng.exponential(size=n), 1)
        risk[rng.random(n) < 0.1] = np.nan
        want = []
        for i in range(n):
            if not (np.isfinite(reward[i]) and np.isfinite(risk[i])):
                want.append(False)
                continue
            dominated = any(
                reward[j] >= reward[i]
                and risk[j] <= risk[i]
                and (reward[j] > reward[i] or risk[j] < risk[i])
                for j in range(n)
                if np.isfinite(risk[j])
            )
            want.append(not dominated)
        assert pareto_front(reward, risk).tolist() == want
    with pytest.raises(InvalidArgumentError, match="risk"):
        pareto_front(np.zeros(3), np.zeros(2))


def test_report_marks_the_non_dominated_points_and_ranks() -> None:
    rows = []
    for point, (g, pnl, std) in enumerate([(0.1, 5.0, 1.0), (0.2, 4.0, 2.0), (0.3, 6.0, 3.0)]):
        for ds, shift in (("a", 0.0), ("b", 2.0)):
            rows.append(
                {
                    "run_id": f"{point}{ds}",
                    "point": point,
                    "dataset": ds,
                    "strategy.gamma": g,
                    "pnl": pnl + shift,
                    "std_inventory": std,
                    "max_drawdown": std,
                    "sharpe": 1.0,
                    "mean_abs_inventory": std,
                    "n_fills": 3,
                    "fill_ratio": 0.5,
                    "markout_1s": 0.1,
                    "turnover_qty": 1.0,
                    "settlement": "USDT",
                }
            )
    html = sweep_report(rows, params=["strategy.gamma"], metric="pnl")
    assert "non-dominated" in html and "Best configurations by pnl" in html
    # ranked by mean PnL over the datasets: points 2 (7), 0 (6), 1 (5)
    body = html[html.index("Best configurations") :]
    assert body.index("<td>0.3</td>") < body.index("<td>0.1</td>") < body.index("<td>0.2</td>")
    with pytest.raises(InvalidArgumentError, match="x"):
        sweep_report(rows, params=["strategy.gamma"], x="run.seed")
    with pytest.raises(InvalidArgumentError, match="rows"):
        sweep_report(None)


@pytest.mark.parametrize(
    "name", ["invrisk.sweep", "invrisk.walk_forward", "invrisk.report.sweep_report"]
)
def test_all_is_sorted_and_resolves(name: str) -> None:
    import importlib

    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=lambda s: (not s.isupper(), s))
    for member in exported:
        assert hasattr(module, member) and not member.startswith("_")
