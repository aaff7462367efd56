"""``invrisk hedging-sim``: compare delta-hedging policies on synthetic or historical paths.

No business logic: build the paths, run :func:`invrisk.hedging.study.run_hedging_study` with a
progress bar, print the table (or ``--json``), write the HTML report when asked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)


def hedging_sim(
    history: Annotated[
        Path | None,
        typer.Option(
            help="OHLCV CSV of the underlying (e.g. hourly BTCUSDT); its closes give the paths. "
            "Without it: geometric Brownian motion at --vol."
        ),
    ] = None,
    days: Annotated[float, typer.Option(help="Option life, days (> 0).")] = 30.0,
    steps_per_day: Annotated[
        int, typer.Option(help="Rebalancing opportunities per day (synthetic paths only).")
    ] = 24,
    stride_days: Annotated[
        float, typer.Option(help="History: days between the starts of successive options.")
    ] = 7.0,
    vol: Annotated[
        float, typer.Option(help="Pricing and hedging volatility, annualised decimal (0.8 = 80%).")
    ] = 0.8,
    cost_bps: Annotated[
        float, typer.Option(help="One-way transaction cost, basis points of traded notional.")
    ] = 10.0,
    option: Annotated[str, typer.Option(help="'call' or 'put' (sold at the money).")] = "call",
    paths: Annotated[int, typer.Option(help="Synthetic paths (>= 2).")] = 2000,
    seed: Annotated[int, typer.Option(help="Synthetic paths' seed.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write the HTML report (frontier plot) here.")
    ] = None,
) -> None:
    """Sell an at-the-money option and delta-hedge it under every policy of a grid
    (rebalancing every n steps, fixed bands, Whalley-Wilmott bands, Leland's adjusted delta);
    report each policy's hedging error (std, CVaR 95%) against its transaction cost and mark
    the efficient frontier. P&L and cost are per option, in the underlying's price unit.
    """
    from invrisk.errors import InvriskError
    from invrisk.hedging.simulate import hourly_windows
    from invrisk.hedging.study import run_hedging_study

    try:
        if not (math.isfinite(days) and days > 0):
            raise _bad("days", days, "a number of days > 0")
        if not (math.isfinite(cost_bps) and cost_bps >= 0):
            raise _bad("cost-bps", cost_bps, "basis points >= 0")
        if history is not None:
            from invrisk.data import read_ohlcv

            bars = read_ohlcv(history)
            if bars.open_ns.size < 3:
                raise _bad("history", str(history), "a file with at least 3 bars")
            step_ns = int(np.median(np.diff(bars.open_ns)))
            per_day = 86_400e9 / step_ns
            steps = max(round(days * per_day), 1)
            stride = max(round(stride_days * per_day), 1)
            p = hourly_windows(bars.close, steps=steps, stride=stride)
            dt_yr = step_ns / (365 * 86_400e9)
            source = f"{history.name} ({p.shape[0]} options of {steps} steps)"
        else:
            if paths < 2 or steps_per_day < 1:
                raise _bad("paths", paths, "paths >= 2 and steps-per-day >= 1")
            steps = max(round(days * steps_per_day), 1)
            dt_yr = 1.0 / (365.0 * steps_per_day)
            rng = np.random.default_rng(seed)
            z = rng.standard_normal((paths, steps))
            log_s = np.cumsum(-0.5 * vol * vol * dt_yr + vol * math.sqrt(dt_yr) * z, axis=1)
            p = 100.0 * np.exp(np.hstack([np.zeros((paths, 1)), log_s]))
            source = f"geometric Brownian motion at {vol:.0%} (seed {seed})"
        with Progress(
            TextColumn("policies"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=json_out,
        ) as bar:
            task = bar.add_task("run", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            study = run_hedging_study(
                p,
                dt_yr=dt_yr,
                vol=vol,
                cost_rate=cost_bps * 1e-4,
                option_type=option,
                source=source,
                progress=progress,
            )
        written = None
        if report is not None:
            from invrisk.report.hedging_report import write_hedging_report

            written = str(write_hedging_report(study, report))
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        print_json(
            {
                "source": study.source,
                "paths": study.n_paths,
                "steps": study.n_steps,
                "vol": vol,
                "cost_bps": cost_bps,
                "rows": study.to_records(),
                "report": written,
            }
        )
        return
    t = Table(title=f"Hedging policies: {study.source}")
    for head in ("policy", "mean cost", "P&L std", "CVaR 95%", "mean P&L", "trades", "efficient"):
        t.add_column(head, justify="left" if head == "policy" else "right")
    for r in study.rows:
        t.add_row(
            r.label,
            f"{r.mean_cost:.4f}",
            f"{r.std_pnl:.4f}",
            f"{r.cvar:.4f}",
            f"{r.mean_pnl:.4f}",
            f"{r.mean_trades:.1f}",
            "yes" if r.efficient else "",
        )
    console.print(t)
    if written:
        console.print(f"wrote {written}")


def _bad(name: str, value: object, expected: str) -> Exception:
    from invrisk.errors import InvalidArgumentError

    return InvalidArgumentError(name, value, expected)


def register(app: typer.Typer) -> None:
    """Add the ``hedging-sim`` command to ``app``."""
    app.command("hedging-sim")(hedging_sim)
