"""``invrisk run CONFIG.toml --paper`` (paper trading) or ``--venue deribit`` (live trading),
with a live status panel and a journal.

No business logic: build the runtime the config describes
(:func:`invrisk.config.paper_runtime_from_config` or
:func:`invrisk.config.live_runtime_from_config` on a
:class:`~invrisk.live.CcxtGateway`), run it, show its state while it runs, print the summary
(or ``--json``). A live run refuses to start without credentials or without the config's
``[risk]`` limits, and cancels its orders when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)
_UNITS = {"s": 1, "m": 60, "h": 3600}
_VENUES = {"deribit": "BTC-PERPETUAL"}  # venues with a tested gateway -> default instrument


def _duration_ns(text: str | None) -> int | None:
    from invrisk.errors import InvalidArgumentError

    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh])\s*", text)
    if m is None or float(m.group(1)) <= 0:
        raise InvalidArgumentError("--duration", text, "a duration like 90s, 10m or 1h")
    return round(float(m.group(1)) * _UNITS[m.group(2)] * 1e9)


def _greeks_rows(rt: Any) -> list[tuple[str, str]]:
    """P&L marked to the mid and the delta of the first instrument (linear: q × size coins;
    inverse: q × size USD of notional, q × size / mid coins)."""
    book, inst, q = rt.books[0], rt.instruments[0], rt.position[0]
    if book is None:
        return []
    mid = 0.5 * (book.best_bid + book.best_ask)
    if not mid > 0:
        return []
    size = inst.contract_size
    if inst.is_inverse:
        held, delta_coin, delta_usd = -q * size / mid, q * size / mid, q * size
    else:
        held, delta_coin, delta_usd = q * size * mid, q * size, q * size * mid
    return [
        ("P&L (marked to mid)", f"{rt.cash[0] + held:+,.6g} {inst.settle}"),
        ("delta", f"{delta_coin:+,.6g} {inst.base} ({delta_usd:+,.2f} {inst.quote})"),
    ]


def _panel(rt: Any, started: float, start_ns: int, title: str = "invrisk paper run") -> Table:
    t = Table(title=title, show_header=False)
    gw = rt.gateway
    bids = [o for o in rt.om.live_orders() if o.side > 0]
    asks = [o for o in rt.om.live_orders() if o.side < 0]
    book = rt.books[0]
    t.add_row("feed time", f"{(gw.now_ns - start_ns) / 1e9:,.1f} s")
    t.add_row("wall time", f"{time.perf_counter() - started:,.1f} s")
    if book is not None:
        t.add_row("market", f"{book.best_bid:,.2f} / {book.best_ask:,.2f}")
    t.add_row(
        "our quotes",
        f"{max((o.price for o in bids), default=float('nan')):,.2f} / "
        f"{min((o.price for o in asks), default=float('nan')):,.2f}",
    )
    t.add_row("inventory", f"{rt.position[0]:+,.6g} contracts")
    t.add_row("cash", f"{rt.cash[0]:,.2f} {rt.instruments[0].settle}")
    for label, value in _greeks_rows(rt):
        t.add_row(label, value)
    t.add_row("decisions / orders / fills", f"{rt.decisions:,} / {rt.om.n_sent:,} / {rt.fills:,}")
    state = rt.guard.state.name if rt.guard is not None else "no guard"
    t.add_row("risk state", state + (f" ({rt.halts[-1]})" if rt.halts else ""))
    return t


def run(
    config: Annotated[Path, typer.Argument(help="Run TOML (the backtest format, see examples/).")],
    paper: Annotated[
        bool, typer.Option("--paper", help="Paper trading on a replayed feed.")
    ] = False,
    venue: Annotated[
        str | None,
        typer.Option(
            help="Trade for real on this venue (deribit), through ccxt. Needs credentials "
            "(INVRISK_DERIBIT_API_KEY/_SECRET or --credentials) and the config's \\[risk] limits."
        ),
    ] = None,
    instrument: Annotated[
        str | None,
        typer.Option(help="Live: the venue's instrument name (default BTC-PERPETUAL)."),
    ] = None,
    credentials: Annotated[
        Path | None,
        typer.Option(help="Live: TOML file with [VENUE] api_key/api_secret, outside the repo."),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            help="Live: the venue's REST base URL (a proxy, a local fake); the "
            "websocket is the same host at /ws/api/v2."
        ),
    ] = None,
    testnet: Annotated[
        bool, typer.Option("--testnet", help="Live: the venue's test environment.")
    ] = False,
    replay: Annotated[
        Path | None, typer.Option(help="Binance recorder file to replay (overrides \\[data]).")
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(help="Feed time to run (live: wall time), e.g. 90s, 10m, 1h (default: all)."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Feed time per wall time: 1 real time, 0 as fast as possible.")
    ] = 1.0,
    journal: Annotated[
        Path,
        typer.Option(
            help="Journal file (SQLite; created or appended to; live default invrisk-live.sqlite)."
        ),
    ] = Path("invrisk-paper.sqlite"),  # live runs default to invrisk-live.sqlite
    events: Annotated[
        int | None, typer.Option(help="Synthetic data only: override \\[data].events.")
    ] = None,
    stale_after: Annotated[
        float, typer.Option(help="Halt after this many wall seconds without market data.")
    ] = 5.0,
    auto_resume_after: Annotated[
        float | None,
        typer.Option(
            help="Resume a stale-data or disconnect halt after this many feed seconds of data."
        ),
    ] = None,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard",
            help="Serve the live dashboard of this run's journal while it trades "
            "(see invrisk dashboard).",
        ),
    ] = False,
    dashboard_host: Annotated[
        str, typer.Option(help="Dashboard bind address (a non-loopback one needs a token).")
    ] = "127.0.0.1",
    dashboard_port: Annotated[int, typer.Option(help="Dashboard port (0: a free one).")] = 8050,
    dashboard_token: Annotated[
        str | None,
        typer.Option(
            envvar="INVRISK_DASHBOARD_TOKEN", help="Dashboard access token (>= 16 characters)."
        ),
    ] = None,
    auto_resume: Annotated[
        list[str] | None,
        typer.Option(
            help="KIND=SECONDS: resume a halt of this kind (stale, disconnect, reject_storm, "
            "cancel_storm, clock_skew) once its cause has been clear this many feed seconds "
            "(repeat; loss halts always need the operator)."
        ),
    ] = None,
    max_clock_skew: Annotated[
        float | None,
        typer.Option(
            help="Halt when receive times and the venue's timestamps differ by more than this "
            "many seconds (live default 1; off by default in paper replays: their times are "
            "the recording's)."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the configured strategy through the paper gateway (--paper: the backtester's
    exchange simulation on a replayed feed) or on a real venue (--venue deribit), with the
    RiskGuard of \\[risk], journaling every order, fill and risk event; a status panel shows
    quotes, inventory, cash and the risk state.
    """
    from invrisk.config import load_backtest_config, load_events, paper_runtime_from_config
    from invrisk.errors import InvriskError
    from invrisk.store import Journal

    if venue is not None:
        if paper:
            raise fail(err_console, f"--paper and --venue {venue} exclude each other")
        if journal == Path("invrisk-paper.sqlite"):
            journal = Path("invrisk-live.sqlite")
        _run_live(
            config,
            venue=venue,
            instrument=instrument,
            credentials=credentials,
            api_url=api_url,
            testnet=testnet,
            duration=duration,
            journal=journal,
            stale_after=stale_after,
            auto_resume_after=auto_resume_after,
            auto_resume=auto_resume,
            max_clock_skew=1.0 if max_clock_skew is None else max_clock_skew,
            dash=_Dash(dashboard, dashboard_host, dashboard_port, dashboard_token),
            json_out=json_out,
        )
        return
    if not paper:
        raise fail(err_console, "say --paper (paper trading) or --venue VENUE (live) to run")
    try:
        feed_ns = _duration_ns(duration)
        cfg = load_backtest_config(config)
        data = cfg.data
        if replay is not None:
            data = data.model_copy(update={"source": "binance", "path": replay})
        if events is not None:
            data = data.model_copy(update={"events": events})
        ev, inst = load_events(data)
        j = Journal(journal)
        rid = j.start_run(
            started_ns=int(ev["local_ns"][0]),
            mode="paper",
            venue="paper",
            config=cfg.model_dump(mode="json"),
        )
        rt = paper_runtime_from_config(
            cfg,
            events=ev,
            instrument=inst,
            speed=speed,
            journal=j,
            stale_after_s=stale_after,
            auto_resume_after_s=auto_resume_after,
            auto_resume=_resume_rules(auto_resume),
            max_clock_skew_s=max_clock_skew,
            snapshot_interval_s=1.0 if dashboard else 60.0,
        )
        dash = _Dash(dashboard, dashboard_host, dashboard_port, dashboard_token)

        async def main() -> Any:
            task = asyncio.create_task(rt.run(max_feed_ns=feed_ns))
            started = time.perf_counter()
            if json_out:
                return await task
            start_ns = int(ev["local_ns"][0])
            with Live(_panel(rt, started, start_ns), console=console, refresh_per_second=4) as live:
                while not task.done():
                    await asyncio.sleep(0.25)
                    live.update(_panel(rt, started, start_ns))
            return task.result()

        t0 = time.perf_counter()
        with dash.serve(journal, rid):
            summary = asyncio.run(main())
        wall = time.perf_counter() - t0
        j.close()
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    out = {
        "run_id": rid,
        "journal": str(journal),
        "wall_s": wall,
        "feed_s": (summary.end_ns - int(ev["local_ns"][0])) / 1e9,
        "decisions": summary.decisions,
        "orders_sent": summary.orders_sent,
        "fills": summary.fills,
        "duplicate_fills": summary.duplicate_fills,
        "position": summary.positions[0],
        "cash": summary.cash[0],
        "state": summary.state,
        "halts": list(summary.halts),
    }
    if json_out:
        print_json(out)
        return
    console.print(
        f"run {rid}: {out['feed_s']:,.1f} s of feed in {wall:,.1f} s, {summary.decisions:,} "
        f"decisions, {summary.orders_sent:,} orders, {summary.fills:,} fills, position "
        f"{summary.positions[0]:+.6g}, cash {summary.cash[0]:,.2f}, state {summary.state}; "
        f"journal {journal} (invrisk journal {journal})"
    )


@dataclasses.dataclass(frozen=True)
class _Dash:
    """The ``--dashboard`` options: serve the journal's dashboard around a run."""

    on: bool
    host: str
    port: int
    token: str | None

    @contextlib.contextmanager
    def serve(self, journal: Path, run_id: str) -> Iterator[None]:
        if not self.on:
            yield
            return
        from invrisk.report.dashboard import serve_dashboard

        server = serve_dashboard(
            journal, host=self.host, port=self.port, token=self.token, run_id=run_id
        )
        err_console.print(f"dashboard: {server.url}")
        try:
            yield
        finally:
            server.stop()


def _resume_rules(items: list[str] | None) -> dict[str, float]:
    from invrisk.errors import InvalidArgumentError

    out: dict[str, float] = {}
    for item in items or []:
        kind, sep, value = item.partition("=")
        try:
            out[kind] = float(value)
        except ValueError:
            sep = ""
        if not sep or not kind:
            raise InvalidArgumentError("--auto-resume", item, "KIND=SECONDS")
    return out


def _ws_url(api_url: str) -> str:
    base = api_url.rstrip("/")
    scheme, sep, rest = base.partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme.lower())
    if not sep or ws_scheme is None:
        raise fail(err_console, f"--api-url {api_url!r}: expected http://HOST[:PORT] or https://")
    return f"{ws_scheme}://{rest}/ws/api/v2"


def _run_live(
    config: Path,
    *,
    venue: str,
    instrument: str | None,
    credentials: Path | None,
    api_url: str | None,
    testnet: bool,
    duration: str | None,
    journal: Path,
    stale_after: float,
    auto_resume_after: float | None,
    auto_resume: list[str] | None,
    max_clock_skew: float,
    dash: _Dash,
    json_out: bool,
) -> None:
    """``run --venue``: the same strategy and RiskGuard on a real venue through ccxt."""
    from invrisk.config import live_runtime_from_config, load_backtest_config
    from invrisk.errors import InvriskError
    from invrisk.instruments import parse_deribit
    from invrisk.live import CcxtGateway, load_credentials
    from invrisk.store import Journal

    if venue not in _VENUES:
        raise fail(err_console, f"--venue {venue}: expected one of {sorted(_VENUES)}")
    if api_url is not None and testnet:
        raise fail(err_console, "--api-url and --testnet exclude each other")
    ws_url = _ws_url(api_url) if api_url is not None else None
    try:
        feed_ns = _duration_ns(duration)
        cfg = load_backtest_config(config)
        if cfg.risk is None:
            raise fail(
                err_console,
                f"--venue {venue}: {config} has no \\[risk] table; live trading needs its limits "
                "(max_position, max_order_qty, and ideally price_band, daily_loss, "
                "trailing_drawdown)",
            )
        creds = load_credentials(venue, path=credentials)
        inst = parse_deribit(instrument or _VENUES[venue])
        j = Journal(journal)
        t0_ns = time.time_ns()
        rid = j.start_run(
            started_ns=t0_ns, mode="live", venue=venue, config=cfg.model_dump(mode="json")
        )
        gw = CcxtGateway(
            venue=venue,
            instruments=[inst],
            credentials=creds,
            label_prefix=f"ir{rid[:8]}-",
            api_url=api_url,
            ws_url=ws_url,
            testnet=testnet,
        )
        rt = live_runtime_from_config(
            cfg,
            gateway=gw,
            instrument=inst,
            journal=j,
            stale_after_s=stale_after,
            auto_resume_after_s=auto_resume_after,
            auto_resume=_resume_rules(auto_resume),
            max_clock_skew_s=max_clock_skew,
            snapshot_interval_s=1.0 if dash.on else 60.0,
            venue=venue,
        )

        async def main() -> Any:
            await gw.start()
            try:
                task = asyncio.create_task(rt.run(max_feed_ns=feed_ns))
                started, start_ns = time.perf_counter(), gw.now_ns
                if json_out:
                    return await task
                title = f"invrisk live run: {venue} {inst.name}"
                with Live(
                    _panel(rt, started, start_ns, title), console=console, refresh_per_second=4
                ) as live:
                    while not task.done():
                        await asyncio.sleep(0.25)
                        live.update(_panel(rt, started, start_ns, title))
                return task.result()
            finally:
                left = await rt.cancel_open_orders()
                if left:
                    err_console.print(f"warning: {left} orders still live at {venue}")
                await gw.close()

        t0 = time.perf_counter()
        with dash.serve(journal, rid):
            summary = asyncio.run(main())
        wall = time.perf_counter() - t0
        j.close()
    except (InvriskError, OSError) as exc:
        from rich.markup import escape

        raise fail(err_console, escape(str(exc))) from exc
    out = {
        "run_id": rid,
        "venue": venue,
        "instrument": inst.name,
        "journal": str(journal),
        "wall_s": wall,
        "decisions": summary.decisions,
        "orders_sent": summary.orders_sent,
        "fills": summary.fills,
        "duplicate_fills": summary.duplicate_fills,
        "position": summary.positions[0],
        "cash": summary.cash[0],
        "state": summary.state,
        "halts": list(summary.halts),
        "reconnects": gw.reconnects,
    }
    if json_out:
        print_json(out)
        return
    console.print(
        f"live run {rid} on {venue} {inst.name}: {wall:,.1f} s, {summary.decisions:,} "
        f"decisions, {summary.orders_sent:,} orders, {summary.fills:,} fills, position "
        f"{summary.positions[0]:+.6g}, state {summary.state}; journal {journal}"
    )


def register(app: typer.Typer) -> None:
    """Add ``run`` to ``app``."""
    app.command("run")(run)
