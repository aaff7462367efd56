"""``invrisk sweep SWEEP.toml`` and ``invrisk walk-forward CONFIG.toml`` (see invrisk.sweep and
invrisk.walk_forward).

No business logic: load, run with a progress bar, print a table (or ``--json``), write the HTML
report when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)

_SHOWN = ("pnl", "sharpe", "max_drawdown", "std_inventory", "n_fills", "fill_ratio")


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _bar(label: str, disable: bool) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=disable,
    )


def sweep(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep TOML file (see README, examples/sweep_*.toml).")
    ],
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run on Dask: 'local:N' (a LocalCluster of N worker processes) or a "
            "scheduler address tcp://host:8786. Default: local processes (--workers)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, help="Local worker processes (default: the file's, else 1; 0: in-process)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: the file's 'out'). Rerun to resume."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the HTML sweep report here.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Best configurations to show.")] = 5,
    walk_forward_windows: Annotated[
        int | None,
        typer.Option(
            "--walk-forward",
            min=2,
            help="Also walk the best configuration forward over this many windows of its "
            "first dataset (GLFT only; in-sample against out-of-sample, in the report and "
            "--json).",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Run a parameter sweep (grid, random or Optuna search) over backtest configs.

    Every run is written to OUT/runs/<run_id>.parquet as soon as it finishes and the whole
    sweep to OUT/summary.parquet (one row per point and dataset; query it with DuckDB). A
    sweep restarted on the same folder skips the runs already finished.
    """
    from invrisk.errors import InvriskError
    from invrisk.sweep import run_sweep

    try:
        with _bar("sweep", json_out) as bar:
            task = bar.add_task("sweep", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_sweep(
                sweep_file, out=out, workers=workers, scheduler=scheduler, progress=progress
            )
        written = [str(result.summary)]
        wf_doc = None
        if walk_forward_windows is not None:
            wf_doc = _walk_best(sweep_file, result, walk_forward_windows)
        if report is not None:
            from invrisk.report.sweep_report import write_sweep_report

            written.append(
                str(
                    write_sweep_report(
                        report,
                        list(result.rows),
                        params=result.params,
                        metric=result.metric,
                        direction=result.direction,
                        walk_forward=wf_doc,
                    )
                )
            )
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    best = result.best(top)
    if json_out:
        print_json(
            {
                "out": result.out,
                "summary": result.summary,
                "runs": len(result.rows),
                "computed": result.computed,
                "skipped": result.skipped,
                "failed": dict(result.failed),
                "params": list(result.params),
                "datasets": list(result.datasets),
                "metric": result.metric,
                "best": best,
                "wall_s": result.wall_s,
                "walk_forward": wf_doc,
                "written": written,
            }
        )
    else:
        t = Table(
            title=f"Best {len(best)} by mean {result.metric} over {len(result.datasets)} "
            "dataset(s) (PnL and drawdown in settlement currency, inventory in contracts)"
        )
        for col in ("point", *result.params, *_SHOWN):
            t.add_column(col, justify="right")
        for b in best:
            t.add_row(
                str(b["point"]), *(_num(b[p]) for p in result.params), *(_num(b[m]) for m in _SHOWN)
            )
        console.print(t)
        console.print(
            f"{len(result.rows)} runs in {result.wall_s:.1f} s: {result.computed} computed, "
            f"{result.skipped} already finished, {len(result.failed)} failed"
        )
        if wf_doc is not None:
            d = wf_doc["degradation"]
            console.print(
                f"walk-forward of {wf_doc['label']}: mean PnL in sample "
                f"{wf_doc['mean_in_sample']['pnl']:,.6g}, out of sample "
                f"{wf_doc['mean_out_of_sample']['pnl']:,.6g} (degradation {d['pnl']:,.6g})"
            )
        for path in written:
            console.print(f"wrote {path}")
    if result.failed:
        lines = "; ".join(f"{k}: {v}" for k, v in list(result.failed.items())[:5])
        raise fail(err_console, f"{len(result.failed)} run(s) failed (rerun to retry): {lines}")


def _walk_best(sweep_file: Path, result: Any, windows: int) -> dict[str, Any]:
    """Walk-forward of the sweep's best point on its first dataset (as a report section)."""
    from invrisk.sweep import load_sweep, resolve_run
    from invrisk.walk_forward import walk_forward as run_walk_forward

    spec = load_sweep(sweep_file)
    best = result.best(1)
    if not best:
        raise fail(err_console, "no finished run to walk forward")
    values = {p: best[0][p] for p in result.params}
    run = resolve_run(spec, best[0]["point"], values, spec.datasets[0])
    doc = run_walk_forward(run.config, windows=windows).as_dict()
    shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
    doc["label"] = f"best point {best[0]['point']} ({shown}) on {spec.datasets[0].name!r}"
    return doc


def walk_forward(
    config: Annotated[Path, typer.Argument(help="Backtest TOML file (GLFT strategy).")],
    windows: Annotated[int, typer.Option(min=2, help="Consecutive time windows (>= 2).")],
    gamma: Annotated[
        str | None,
        typer.Option(
            help="Risk aversions to choose from on each window, comma-separated (per price "
            "unit x contract), e.g. 0.01,0.1,1. Default: the config's gamma."
        ),
    ] = None,
    select: Annotated[
        str, typer.Option(help="In-sample metric maximised to choose gamma (pnl, sharpe, ...).")
    ] = "pnl",
    sigma_interval_s: Annotated[
        float, typer.Option(min=0.001, help="Grid step of the sigma fit, seconds.")
    ] = 1.0,
    intensity_interval_ms: Annotated[
        float, typer.Option(min=1.0, help="Counting interval of the A, k fit, milliseconds.")
    ] = 100.0,
    report: Annotated[
        Path | None, typer.Option(help="Write the HTML walk-forward report here.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Calibrate GLFT's sigma, A and k on window k, trade window k+1, roll; in-sample against
    out-of-sample metrics and their gap (the overfitting the in-sample figures hide).

    The config's data (with its start_s/duration_s slice) is cut into WINDOWS equal time
    windows; out of sample the strategy quotes with the parameters fitted on the previous
    window only, never refitting online.
    """
    from invrisk.errors import InvalidArgumentError, InvriskError
    from invrisk.walk_forward import walk_forward as run_walk_forward

    try:
        grid: list[float] | None = None
        if gamma:
            try:
                grid = [float(g) for g in gamma.split(",") if g.strip()]
            except ValueError as exc:
                raise InvalidArgumentError("--gamma", gamma, "numbers separated by commas") from exc
        with _bar("walk-forward", json_out) as bar:
            task = bar.add_task("wf", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_walk_forward(
                config,
                windows=windows,
                gamma_grid=grid,
                select=select,
                sigma_interval_s=sigma_interval_s,
                intensity_interval_ms=intensity_interval_ms,
                progress=progress,
            )
        doc = result.as_dict()
        written: list[str] = []
        if report is not None:
            from invrisk.report.sweep_report import write_sweep_report

            written.append(str(write_sweep_report(report, None, walk_forward=doc)))
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        print_json({**doc, "written": written})
        return
    t = Table(
        title="Walk-forward: calibrate on k, trade k+1 (PnL in settlement currency, "
        "σ price/√s, A 1/s, k 1/price)"
    )
    for col in (
        "step",
        "σ",
        "A",
        "k",
        "γ",
        "PnL in",
        "PnL out",
        "std q in",
        "std q out",
        "fills in",
        "fills out",
    ):
        t.add_column(col, justify="right")
    for s in doc["steps"]:
        i, o = s["in_sample"], s["out_of_sample"]
        t.add_row(
            f"{s['calib_window']}→{s['test_window']}",
            f"{s['sigma_price_per_sqrt_s']:.4g}",
            f"{s['a_per_s']:.4g}",
            f"{s['k_per_price']:.4g}",
            f"{s['gamma']:.4g}",
            _num(i["pnl"]),
            _num(o["pnl"]),
            _num(i["std_inventory"]),
            _num(o["std_inventory"]),
            _num(i["n_fills"]),
            _num(o["n_fills"]),
        )
    console.print(t)
    d = doc["degradation"]
    console.print(
        f"degradation (mean in sample - mean out of sample): PnL {d['pnl']:,.6g}, "
        f"fills {d['n_fills']:,.4g}, std of inventory {d['std_inventory']:.4g}"
    )
    for path in written:
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` and ``walk-forward`` commands to ``app``."""
    app.command("sweep")(sweep)
    app.command("walk-forward")(walk_forward)
