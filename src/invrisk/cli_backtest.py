"""``invrisk backtest CONFIG.toml``: run a backtest described by a TOML file (see invrisk.config).

No business logic: load the config, run with a progress bar, print the summary (a table, or
``--json``), write the Parquet series and the HTML report when asked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


@contextmanager
def compile_timer() -> Iterator[list[float]]:
    """``[seconds]`` numba spent compiling inside the block, set when it ends: 0.0 when every
    kernel came from numba's on-disk cache (loading one is not a compile), several seconds on
    the first run after an install or upgrade."""
    from numba.core import event

    out = [0.0]
    with event.install_recorder("numba:compile") as rec:
        yield out
    depth, start, total = 0, 0.0, 0.0
    for ts, ev in rec.buffer:  # nested compiles (a kernel's callees) counted once
        if ev.is_start:
            start = ts if depth == 0 else start
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                total += ts - start
    out[0] = total


def _print_summary(
    summary: dict[str, Any], elapsed_s: float, n_events: int, compile_s: float = 0.0
) -> None:
    head = Table(title="Backtest", show_header=False)
    head.add_row("events", f"{n_events:,}")
    head.add_row(
        "wall time", f"{elapsed_s:.2f} s ({n_events / max(elapsed_s, 1e-9) / 1e6:.2f} M events/s)"
    )
    if compile_s >= 0.01:
        head.add_row(
            "of which compiling",
            f"{compile_s:.2f} s (numba kernels, first run after an install: cached on disk now)",
        )
    for key in (
        "orders_sent",
        "cancels_sent",
        "amends_sent",
        "n_fills",
        "fills_per_order",
        "filled_order_ratio",
        "rejections",
    ):
        head.add_row(key, _num(summary[key]))
    console.print(head)
    for name, m in summary["instruments"].items():
        t = Table(title=f"{name} (PnL in {m['settlement']}, positions in contracts)")
        t.add_column("metric")
        t.add_column("value", justify="right")
        for key, value in m.items():
            if key == "markouts":
                for h, v in value.items():
                    t.add_row(f"markout {h} (price units)", _num(v))
            elif key == "sharpe" or key == "sortino":
                t.add_row(f"{key} ({summary['periods_per_year']:,.0f} periods/yr)", _num(value))
            else:
                t.add_row(key, _num(value))
        console.print(t)


def backtest(
    config: Annotated[Path, typer.Argument(help="Backtest TOML file (see README, examples/).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write the HTML report here (overrides [output].report).")
    ] = None,
    parquet: Annotated[
        Path | None,
        typer.Option(help="Write samples.parquet and fills.parquet into this folder."),
    ] = None,
    events: Annotated[
        int | None, typer.Option(help="Synthetic data only: override [data].events.")
    ] = None,
) -> None:
    """Replay market data through the simulated exchange and trade the configured strategy.

    The TOML file has tables [data], [exchange], [run], [risk] (optional), [strategy] and
    [output] (optional); units are in the field names (ms, fractions of notional, contracts).
    """
    from invrisk.config import load_backtest_config, load_events, run_from_config
    from invrisk.errors import InvriskError

    try:
        cfg = load_backtest_config(config)
        if events is not None:
            cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"events": events})})
        ev, inst = load_events(cfg.data)
        t0 = time.perf_counter()
        with (
            compile_timer() as compiled,
            Progress(
                TextColumn("backtest"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} events"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
                disable=json_out,
            ) as bar,
        ):
            task = bar.add_task("run", total=int(ev.size))
            last = [0.0]

            def progress(done: int, total: int) -> None:
                now = time.perf_counter()
                if now - last[0] > 0.1:
                    bar.update(task, completed=done)
                    last[0] = now

            result = run_from_config(cfg, events=ev, instrument=inst, progress=progress)
        elapsed = time.perf_counter() - t0
        summary = result.summary()
        written: list[str] = []
        out_dir = parquet or cfg.output.parquet_dir
        if out_dir is not None:
            written += [str(p) for p in result.to_parquet(out_dir)]
        html = report or cfg.output.report
        if html is not None:
            from invrisk.report.backtest_report import write_backtest_report

            written.append(str(write_backtest_report(result, html)))
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        print_json(
            {
                "summary": summary,
                "elapsed_s": elapsed,
                "compile_s": compiled[0],
                "events": int(ev.size),
                "written": written,
            }
        )
        return
    _print_summary(summary, elapsed, int(ev.size), compiled[0])
    for path in written:
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``backtest`` command to ``app``."""
    app.command("backtest")(backtest)
