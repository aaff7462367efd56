"""``invrisk dashboard JOURNAL``: the live web dashboard over a trading journal (read-only).

No business logic: check the arguments, start :func:`invrisk.report.dashboard.serve_dashboard`,
print its address, wait for Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from invrisk._cli_common import fail, stdout_console

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)


def dashboard(
    journal: Annotated[
        str, typer.Argument(help="Journal file (SQLite) or a SQLAlchemy URL; only read.")
    ],
    host: Annotated[
        str,
        typer.Option(help="Address to bind. Anything but loopback needs --token."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0: a free one).", min=0, max=65535)] = 8050,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="INVRISK_DASHBOARD_TOKEN",
            help="Access token (at least 16 characters) every request must carry (?token=, or "
            "an 'Authorization: Bearer' header). Required off loopback. Prefer the "
            "INVRISK_DASHBOARD_TOKEN variable: a command line is visible to other users.",
        ),
    ] = None,
    run: Annotated[
        str | None, typer.Option(help="Run id to show (default: the latest, following new runs).")
    ] = None,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between reads of the journal.", min=0.01, max=60.0)
    ] = 0.5,
) -> None:
    """Serve a web page that shows a journal's run as it grows: quotes against the mid,
    inventory, PnL (realised, unrealised, fees), risk state and its history, recent fills and
    limit usage, updated live over a websocket; JSON at /api/state. Binds 127.0.0.1 by default.
    """
    from invrisk.errors import InvriskError
    from invrisk.report.dashboard import is_loopback, serve_dashboard

    if "://" not in journal and not Path(journal).is_file():
        raise fail(
            err_console, f"journal={journal!r} is invalid: expected an existing journal file"
        )
    if token is None and not is_loopback(host):
        raise fail(
            err_console,
            f"--host {host} is not a loopback address: give --token (or set "
            "INVRISK_DASHBOARD_TOKEN); every request will then have to carry it",
        )
    try:
        server = serve_dashboard(
            journal, host=host, port=port, token=token, run_id=run, poll_interval_s=poll_interval
        )
    except (InvriskError, ImportError) as exc:
        raise fail(err_console, str(exc)) from exc
    console.print(f"invrisk dashboard of {journal}: {server.url}  (Ctrl-C stops)")
    server.wait()


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to ``app``."""
    app.command("dashboard")(dashboard)
