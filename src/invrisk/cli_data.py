"""``invrisk data ...``: import, validate, synthesise, list, query and download market data.

A typer sub-app (:data:`data_app`) mounted by :mod:`invrisk.cli` as ``invrisk data``. No business
logic here: parse, call :mod:`invrisk.data`, print. Errors from invrisk print one line and exit
with code 2; non-fatal data defects (:class:`~invrisk.errors.DataWarning`) are printed as
warnings and listed under ``"warnings"`` in ``--json`` output.

Units: times are int64 nanoseconds since the epoch, UTC, inside the catalog (ISO-8601 strings
at the command line, ``Z`` or an offset; no offset means UTC); prices in the quote currency;
quantities in the venue's unit (base asset for spot and linear contracts, contracts for
inverse ones); sizes of files in bytes.
"""

from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from invrisk._cli_common import clean, fail, print_json, stdout_console
from invrisk.errors import DataWarning, InvriskError
from invrisk.units import ns_to_iso

__all__ = ["data_app", "download_app"]

_CATALOG_HELP = (
    "Catalog directory (Parquet by venue/symbol/type/date + manifest.json). Default: "
    "$INVRISK_CATALOG, else ./invrisk-catalog."
)
_FORMATS = ("auto", "binance", "tardis", "ohlcv")

data_app = typer.Typer(
    name="data",
    help=(
        "Market data: import vendor files into a Parquet catalog, validate them, generate "
        "synthetic streams, list and query the catalog, download public archives.\n\n"
        "Formats: Binance raw stream recordings ('<local_ns> <json>' lines, .gz), Tardis.dev "
        "CSV (.csv/.csv.gz), OHLCV candle CSV. Events are stored as invrisk's EVENT_DTYPE: "
        "int64 ns UTC timestamps (exchange and local receive time), price in quote currency, "
        "qty in the venue's unit (base asset; contracts for inverse), Binance/Tardis ids."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
download_app = typer.Typer(
    name="download",
    help=(
        "Download public archives with retries, resume and checksum verification: Tardis.dev "
        "CSV datasets (first day of each month free) and Binance data.binance.vision zips "
        "(sha256 .CHECKSUM). Sizes in bytes."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app.add_typer(download_app, name="download")

console = stdout_console()
err_console = Console(stderr=True, soft_wrap=True)  # messages stay on one line when piped


# -- helpers ----------------------------------------------------------------------------------


def _fail(exc: Exception) -> typer.Exit:
    return fail(err_console, str(exc))


@contextlib.contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """Record DataWarnings (printed by the caller) instead of letting them escape."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            yield messages
        finally:
            messages.extend(str(w.message) for w in caught if issubclass(w.category, DataWarning))


def _show_warnings(messages: list[str]) -> None:
    for message in messages:
        err_console.print(f"[yellow]warning:[/] {message}", soft_wrap=True)


def _catalog(directory: Path) -> Any:
    from invrisk.data.catalog import Catalog

    return Catalog(directory)


def _short_iso(text: str | None) -> str:
    """``2024-08-08T23:54:15.123456789Z`` -> ``2024-08-08T23:54:15Z`` (tables only)."""
    return "-" if not text else text[:19] + "Z"


def _mb(n: int) -> str:
    return f"{n / 1e6:,.2f}"


def _iso(t_ns: int | None) -> str:
    return "-" if t_ns is None else ns_to_iso(int(t_ns))


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], Any]]:
    """A rich progress display on stderr; yields ``for_file(name) -> ProgressCallback``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    labels = {"hash": "sha256 (bytes)", "read": "reading", "write": "rows written"}
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not enabled or not err_console.is_terminal,
    ) as bar:

        def for_file(name: str) -> Callable[[str, int, int | None], None]:
            task = bar.add_task(name, total=None)

            def update(stage: str, done: int, total: int | None) -> None:
                bar.update(
                    task,
                    description=f"{name}: {labels.get(stage, stage)}",
                    completed=done,
                    total=total,
                )

            return update

        yield for_file


def _parse_kinds(kinds: str | None) -> list[int] | None:
    if kinds is None:
        return None
    from invrisk.data.events import EventKind

    out: list[int] = []
    for name in kinds.split(","):
        key = name.strip().upper()
        if key not in EventKind.__members__:
            raise typer.BadParameter(
                f"{name!r}: expected names from {', '.join(EventKind.__members__)}",
                param_hint="--kinds",
            )
        out.append(int(EventKind[key]))
    return out


# -- import ------------------------------------------------------------------------------------


@data_app.command("import")
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files to import: Binance raw stream recordings (.gz), Tardis.dev CSV "
            "(.csv/.csv.gz), OHLCV candle CSV. Each file is one source.",
        ),
    ],
    venue: Annotated[
        str | None,
        typer.Option(
            help="Venue partition name (default: Tardis exchange id; binance / binance-futures / "
            "binance-delivery for Binance spot / USD-M / COIN-M; OHLCV: from the file name)."
        ),
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            help="Symbol partition name (default: the file's). For a multi-symbol Tardis file: "
            "import only this symbol."
        ),
    ] = None,
    catalog_dir: Annotated[
        Path, typer.Option("--catalog", envvar="INVRISK_CATALOG", help=_CATALOG_HELP)
    ] = Path("invrisk-catalog"),
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="auto (detect from the first lines), binance, tardis, ohlcv."
        ),
    ] = "auto",
    together: Annotated[
        bool,
        typer.Option(
            "--together",
            help="The Binance files are one recording split in time order (e.g. at midnight): "
            "read them as one source so files without a snapshot keep their depth updates.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Import market-data files into the Parquet catalog (idempotent).

    Events are stored as EVENT_DTYPE rows (int64 ns UTC exchange and local times, price in
    quote currency, qty in the venue's unit), one part per source and UTC day of local_ns;
    candles as bars (open time int64 ns UTC, prices in quote currency, volumes in base and
    quote units), one part per month. A file is identified by its sha256: importing it again
    does nothing and says so. Files overlapping earlier sources are kept and reported;
    queries drop records that are identical in every field. Files are imported in order; an
    error stops at that file (the ones before it stay imported).
    """
    if fmt not in _FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(_FORMATS)}", param_hint="--format")
    cat = _catalog(catalog_dir)
    results: list[dict[str, Any]] = []
    try:
        with _collect_warnings() as messages, _progress(True) as for_file:
            groups: list[Any] = [paths] if together else paths
            for group in groups:
                label = " + ".join(p.name for p in paths) if together else group.name
                result = cat.import_file(
                    group, fmt=fmt, venue=venue, symbol=symbol, progress=for_file(label)
                )
                results.append(result.as_dict())
    except InvriskError as exc:
        _show_warnings(messages)
        raise _fail(exc) from exc
    _show_warnings(messages)
    if as_json:
        print_json({"catalog": str(catalog_dir), "imports": results, "warnings": messages})
        return
    table = Table(title=f"Import into {catalog_dir}")
    for col in (
        "file",
        "status",
        "format",
        "venue",
        "symbols",
        "type",
        "rows",
        "from",
        "to",
        "parts",
    ):
        table.add_column(
            col,
            justify="right" if col in ("rows", "parts") else "left",
            overflow="fold" if col in ("file", "venue") else "ellipsis",
        )
    for r in results:
        table.add_row(
            r["name"],
            "[green]imported[/]" if r["status"] == "imported" else "already there",
            r["format"],
            r["venue"],
            ",".join(r["symbols"]),
            r["type"],
            f"{r['rows']:,}",
            _short_iso(r["start"]),
            _short_iso(r["end"]),
            str(len(r["parts"])),
        )
    console.print(table)
    skipped = [r["name"] for r in results if r["status"] != "imported"]
    if skipped:
        console.print(
            f"{len(skipped)} file(s) already imported (same sha256), nothing written: "
            + ", ".join(skipped),
            soft_wrap=True,
        )
    for r in results:
        if r["status"] == "imported" and r["overlaps"]:
            err_console.print(
                f"note: {r['name']} shares days and times with {len(r['overlaps'])} earlier "
                "source(s) of the same venue and symbol: queries merge them by local time and "
                "keep records identical in every field once (import another representation of "
                "the same market under its own --venue to keep it apart)."
            )


# -- validate ----------------------------------------------------------------------------------


@data_app.command()
def validate(
    path: Annotated[
        Path,
        typer.Argument(help="A Binance raw stream (.gz), Tardis.dev CSV or OHLCV CSV file."),
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="auto (detect from the first lines), binance, tardis, ohlcv."
        ),
    ] = "auto",
    symbol: Annotated[
        str | None, typer.Option(help="Read only this symbol (multi-symbol files).")
    ] = None,
    tick_size: Annotated[
        float | None,
        typer.Option(
            help="Price increment in quote currency (e.g. 0.1 USDT); Binance streams infer it "
            "from the prices when omitted."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Exit with code 1 when the report lists any defect.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Read a file with its reader and check the events (or bars), printing the report.

    Event checks (invrisk.data.validate): local-time order, exchange vs local clock, sequence
    ids, sides and kinds, prices on the tick grid, crossed books. Times in the report are ns
    UTC (ISO in the table), prices in quote currency. Candle files report order, duplicates,
    gaps (missing bars) and high/low consistency. Reader warnings are listed too.
    """
    from invrisk.data.catalog import detect_format

    if fmt not in _FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(_FORMATS)}", param_hint="--format")
    out: dict[str, Any] = {"path": str(path)}
    try:
        with _collect_warnings() as messages:
            kind = detect_format(path) if fmt == "auto" else fmt
            out["format"] = kind
            if kind == "ohlcv":
                import dataclasses

                from invrisk.data.ohlcv import read_ohlcv

                bars = read_ohlcv(path, symbol=symbol)
                out.update(
                    symbol=bars.symbol,
                    interval=bars.interval,
                    bars=len(bars.open_ns),
                    start=_iso(int(bars.open_ns[0])) if len(bars.open_ns) else None,
                    end=_iso(int(bars.open_ns[-1])) if len(bars.open_ns) else None,
                    report=dataclasses.asdict(bars.report),
                )
            else:
                events, tick, info = _read_events(path, kind, symbol, tick_size)
                from invrisk.data.validate import validate_events

                report = validate_events(events, path=str(path), tick_size=tick)
                out.update(info)
                out["events"] = len(events)
                out["report"] = report.as_dict()
    except InvriskError as exc:
        _show_warnings(messages)
        raise _fail(exc) from exc
    out["warnings"] = messages
    _show_warnings(messages)
    ok = _report_ok(out["report"])
    if as_json:
        print_json(out)
    else:
        _print_report(path, out, ok)
    if strict and not ok:
        raise typer.Exit(code=1)


def _report_ok(report: dict[str, Any]) -> bool:
    """The events report's own verdict; for bars: no disorder, duplicates, gaps, bad OHLC."""
    if "ok" in report:
        return bool(report["ok"])
    keys = ("disorder", "duplicates", "gaps", "ohlc_violations")
    return not any(report.get(k) for k in keys)


def _print_report(path: Path, out: dict[str, Any], ok: bool) -> None:
    table = Table(title=f"{path.name} ({out['format']})", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in out.items():
        if key in ("report", "warnings", "path"):
            continue
        table.add_row(key, str(value))
    for key, value in _flatten(out["report"]):
        if key != "path":
            table.add_row(key, value)
    console.print(table)
    console.print("[green]no defects found[/]" if ok else "[yellow]defects found (see above)[/]")


def _flatten(obj: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _flatten(v, f"{prefix}{k}.")
        return
    text = json.dumps(clean(obj)) if isinstance(obj, list | tuple) else str(obj)
    yield prefix.rstrip("."), text if len(text) <= 300 else text[:297] + "..."


def _read_events(
    path: Path, kind: str, symbol: str | None, tick_size: float | None
) -> tuple[Any, float | None, dict[str, Any]]:
    """Events, tick size and a description from the Binance or Tardis reader."""
    if kind == "binance":
        from invrisk.data.binance import read_binance_stream

        stream = read_binance_stream(path, symbol=symbol, tick_size=tick_size)
        info = {"symbol": stream.symbol, "market": stream.market, "tick_size": stream.tick_size}
        return stream.events, float(stream.tick_size), info
    from invrisk.data.tardis import read_tardis

    data = read_tardis(path, symbol=symbol)
    info = {"exchange": data.exchange, "dataset": data.dataset, "symbols": list(data.symbols)}
    return data.events, tick_size, info


# -- synth -------------------------------------------------------------------------------------


@data_app.command()
def synth(
    n_events: Annotated[
        int, typer.Option("--events", min=1, help="Number of events to generate.")
    ] = 1_000_000,
    seed: Annotated[
        int, typer.Option(help="Random seed (same seed, same stream bit for bit).")
    ] = 7,
    catalog_dir: Annotated[
        Path | None,
        typer.Option("--catalog", envvar="INVRISK_CATALOG", help=_CATALOG_HELP),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write one Parquet file (EVENT_DTYPE columns) instead of the catalog."),
    ] = None,
    venue: Annotated[str, typer.Option(help="Venue name in the catalog.")] = "synthetic",
    symbol: Annotated[str, typer.Option(help="Symbol name in the catalog.")] = "SYNTH",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Generate a synthetic L2 event stream (book diffs, trades, BBO) and store it.

    Events are EVENT_DTYPE rows: int64 ns UTC times, prices in quote currency on the tick
    grid, quantities in base units. Stored in the catalog (default) or, with --out, in one
    Parquet file whose columns are the EVENT_DTYPE fields.
    """
    from invrisk.data.catalog import write_events_parquet

    if out is not None and catalog_dir is not None:
        raise typer.BadParameter("give --catalog or --out, not both", param_hint="--out")
    try:
        with _collect_warnings() as messages:
            from invrisk.data.synthetic_market import benchmark_stream

            with err_console.status(f"generating {n_events:,} synthetic events..."):
                market = benchmark_stream(n_events, seed=seed)
            events = market.events
            summary: dict[str, Any] = {
                "events": len(events),
                "seed": seed,
                "start": _iso(int(events["local_ns"][0])) if len(events) else None,
                "end": _iso(int(events["local_ns"][-1])) if len(events) else None,
            }
            if out is not None:
                write_events_parquet(out, events)
                summary["out"] = str(out)
                summary["bytes"] = out.stat().st_size
            else:
                directory = catalog_dir or Path("invrisk-catalog")
                with _progress(True) as for_file:
                    result = _catalog(directory).import_events(
                        events,
                        venue=venue,
                        symbol=symbol,
                        fmt="synthetic",
                        name=f"synthetic n={n_events} seed={seed}",
                        progress=for_file("synthetic"),
                    )
                summary["catalog"] = str(directory)
                summary["import"] = result.as_dict()
    except InvriskError as exc:
        raise _fail(exc) from exc
    summary["warnings"] = messages
    _show_warnings(messages)
    if as_json:
        print_json(summary)
        return
    where = (
        summary.get("out")
        or f"{summary['catalog']} ({venue}/{symbol}, {summary['import']['status']})"
    )
    console.print(
        f"{summary['events']:,} synthetic events (seed {seed}), {summary['start']} to "
        f"{summary['end']} -> {where}"
    )


# -- ls and query ------------------------------------------------------------------------------


@data_app.command()
def ls(
    catalog_dir: Annotated[
        Path, typer.Option("--catalog", envvar="INVRISK_CATALOG", help=_CATALOG_HELP)
    ] = Path("invrisk-catalog"),
    sources: Annotated[
        bool, typer.Option("--sources", help="Also list every imported source (manifest).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the catalog: per venue, symbol and type the UTC dates, rows and bytes stored.

    Rows are counted as stored (records repeated by overlapping sources are counted in each);
    sizes are bytes of Parquet on disk (MB = 10^6 bytes in the table).
    """
    cat = _catalog(catalog_dir)
    try:
        entries = [e.as_dict() for e in cat.ls()]
        records = cat.sources() if sources else None
    except InvriskError as exc:
        raise _fail(exc) from exc
    if as_json:
        payload: dict[str, Any] = {"catalog": str(catalog_dir), "entries": entries}
        if records is not None:
            payload["sources"] = records
        print_json(payload)
        return
    if not entries:
        console.print(f"{catalog_dir}: empty catalog")
        return
    table = Table(title=f"Catalog {catalog_dir}")
    for col in (
        "venue",
        "symbol",
        "type",
        "first date",
        "last date",
        "days",
        "rows",
        "MB",
        "sources",
    ):
        table.add_column(
            col, justify="right" if col in ("days", "rows", "MB", "sources") else "left"
        )
    for e in entries:
        table.add_row(
            e["venue"],
            e["symbol"],
            e["type"],
            e["first_date"],
            e["last_date"],
            str(e["days"]),
            f"{e['rows']:,}",
            _mb(e["bytes"]),
            str(e["sources"]),
        )
    console.print(table)
    if records:
        src = Table(title="Sources")
        for col in ("name", "sha256", "format", "venue", "rows", "from", "to", "parts"):
            src.add_column(col)
        for r in records:
            src.add_row(
                r["name"],
                r["id"][:16],
                r["format"],
                r["venue"],
                f"{r['rows']:,}",
                r["start"] or "-",
                r["end"] or "-",
                str(len(r["parts"])),
            )
        console.print(src)


@data_app.command()
def query(
    venue: Annotated[str, typer.Argument(help="Venue as listed by 'invrisk data ls'.")],
    symbol: Annotated[str, typer.Argument(help="Symbol as listed by 'invrisk data ls'.")],
    start: Annotated[
        str | None, typer.Option(help="Start (inclusive) of local receive time, ISO-8601 UTC.")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="End (exclusive) of local receive time, ISO-8601 UTC.")
    ] = None,
    kinds: Annotated[
        str | None,
        typer.Option(help="Comma-separated event kinds: DEPTH,SNAPSHOT,CLEAR,TRADE,BBO,MARK,..."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the events to one Parquet file (EVENT_DTYPE columns)."),
    ] = None,
    catalog_dir: Annotated[
        Path, typer.Option("--catalog", envvar="INVRISK_CATALOG", help=_CATALOG_HELP)
    ] = Path("invrisk-catalog"),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Count (and optionally export) the events of a venue and symbol in a time range.

    The range is half-open on local receive time: start <= local_ns < end (ISO-8601, UTC).
    Streams the catalog in chunks (bounded memory); prints rows per event kind, the first and
    last local times, and the min/max trade price (quote currency).
    """
    from invrisk.data.catalog import write_events_parquet
    from invrisk.data.events import EventKind

    kind_codes = _parse_kinds(kinds)
    cat = _catalog(catalog_dir)
    counts = np.zeros(256, dtype=np.int64)
    first = last = None
    trade_lo, trade_hi = math.inf, -math.inf
    total = 0

    def counted() -> Iterator[Any]:
        nonlocal first, last, trade_lo, trade_hi, total, counts
        for chunk in cat.iter_events(venue, symbol, start, end, kinds=kind_codes):
            total += len(chunk)
            counts += np.bincount(chunk["kind"], minlength=256)
            first = int(chunk["local_ns"][0]) if first is None else first
            last = int(chunk["local_ns"][-1])
            trades = chunk["price"][chunk["kind"] == EventKind.TRADE]
            if len(trades):
                trade_lo = min(trade_lo, float(trades.min()))
                trade_hi = max(trade_hi, float(trades.max()))
            yield chunk

    try:
        if out is None:
            for _ in counted():
                pass
        else:
            write_events_parquet(out, counted())
    except InvriskError as exc:
        raise _fail(exc) from exc
    summary = {
        "venue": venue,
        "symbol": symbol,
        "events": total,
        "by_kind": {k.name: int(counts[int(k)]) for k in EventKind if counts[int(k)]},
        "first_local": _iso(first) if first is not None else None,
        "last_local": _iso(last) if last is not None else None,
        "trade_price_min": trade_lo if math.isfinite(trade_lo) else None,
        "trade_price_max": trade_hi if math.isfinite(trade_hi) else None,
        "out": None if out is None else str(out),
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{venue}/{symbol}: {total:,} events, {summary['first_local']} to "
        f"{summary['last_local']}; by kind: {summary['by_kind']}"
    )
    if summary["trade_price_min"] is not None:
        console.print(
            f"trade prices {summary['trade_price_min']} to {summary['trade_price_max']} (quote ccy)"
        )
    if out is not None:
        console.print(f"written to {out}")


# -- download ----------------------------------------------------------------------------------


_RETRY_HELP = "Retries after the first attempt on connection errors, timeouts, 429 and 5xx."


@download_app.command("tardis")
def download_tardis_cmd(
    exchange: Annotated[
        str, typer.Argument(help="Tardis exchange id, e.g. binance-futures, deribit.")
    ],
    data_type: Annotated[
        str,
        typer.Argument(
            help="incremental_book_L2, trades, quotes, book_snapshot_25, derivative_ticker..."
        ),
    ],
    day: Annotated[str, typer.Argument(help="UTC day YYYY-MM-DD (free without a key: the 1st).")],
    symbol: Annotated[str, typer.Argument(help="Exchange symbol, e.g. BTCUSDT, BTC-PERPETUAL.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("."),
    base_url: Annotated[
        str | None, typer.Option(help="Datasets API base (default https://datasets.tardis.dev/v1).")
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="TARDIS_API_KEY", help="Tardis.dev API key (days other than the 1st)."),
    ] = None,
    retries: Annotated[int, typer.Option(min=0, help=_RETRY_HELP)] = 5,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Socket timeout per request, seconds.")
    ] = 60.0,
    overwrite: Annotated[
        bool, typer.Option(help="Download even if a valid file is present.")
    ] = False,
    import_: Annotated[
        bool, typer.Option("--import", help="Import the file into the catalog afterwards.")
    ] = False,
    catalog_dir: Annotated[
        Path, typer.Option("--catalog", envvar="INVRISK_CATALOG", help=_CATALOG_HELP)
    ] = Path("invrisk-catalog"),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Download one Tardis.dev CSV dataset file (one exchange, data type, UTC day, symbol).

    Without an API key Tardis.dev serves only the first day of each month.

    URL: <base>/<exchange>/<data_type>/<YYYY>/<MM>/<DD>/<SYMBOL>.csv.gz, saved as
    <out>/<exchange>_<data_type>_<YYYY-MM-DD>_<SYMBOL>.csv.gz. Tardis publishes no checksum:
    the file is checked by decompressing it whole (gzip CRC-32) and by its size. Timestamps
    in the file are microseconds UTC (exchange and local); the readers convert them to ns.
    """
    from invrisk.data.download import download_tardis

    try:
        result = download_tardis(
            exchange,
            data_type,
            day,
            symbol,
            out_dir=out_dir,
            base_url=base_url,
            api_key=api_key,
            retries=retries,
            timeout_s=timeout,
            overwrite=overwrite,
            progress=not as_json,
        )
        payload: dict[str, Any] = {"download": result.as_dict()}
        if import_:
            with _collect_warnings() as messages, _progress(not as_json) as for_file:
                imported = _catalog(catalog_dir).import_file(
                    result.path, progress=for_file(result.path.name)
                )
            _show_warnings(messages)
            payload["import"] = imported.as_dict()
            payload["warnings"] = messages
    except InvriskError as exc:
        raise _fail(exc) from exc
    _report_download(payload, as_json)


@download_app.command("binance")
def download_binance_cmd(
    market: Annotated[str, typer.Argument(help="spot, um (USD-M futures) or cm (COIN-M futures).")],
    data_type: Annotated[
        str, typer.Argument(help="trades, aggTrades, klines, bookTicker, markPriceKlines...")
    ],
    symbol: Annotated[str, typer.Argument(help="Binance symbol, e.g. BTCUSDT, BTCUSD_PERP.")],
    period: Annotated[
        str, typer.Argument(help="YYYY-MM-DD (daily file) or YYYY-MM (monthly file), UTC.")
    ],
    interval: Annotated[
        str | None, typer.Option(help="Kline interval (1m, 1h, 1d...) for the kline types.")
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("."),
    base_url: Annotated[
        str | None, typer.Option(help="Archive base (default https://data.binance.vision).")
    ] = None,
    verify: Annotated[
        bool, typer.Option(help="Verify the zip against its .CHECKSUM (sha256).")
    ] = True,
    retries: Annotated[int, typer.Option(min=0, help=_RETRY_HELP)] = 5,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Socket timeout per request, seconds.")
    ] = 60.0,
    overwrite: Annotated[
        bool, typer.Option(help="Download even if a valid file is present.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Download one Binance public-data zip from data.binance.vision and verify its sha256.

    URL: <base>/data/<spot|futures/um|futures/cm>/<daily|monthly>/<data_type>/<SYMBOL>/
    [<interval>/]<SYMBOL>-<data_type|interval>-<period>.zip; saved under <out> with the same
    path. The zip holds one CSV (times in ms, microseconds for spot from 2025).
    """
    from invrisk.data.download import BINANCE_MARKETS, download_binance

    if market not in BINANCE_MARKETS:
        raise typer.BadParameter("expected spot, um or cm", param_hint="MARKET")
    try:
        result = download_binance(
            market,  # type: ignore[arg-type]
            data_type,
            symbol,
            period,
            interval=interval,
            out_dir=out_dir,
            base_url=base_url,
            verify_checksum=verify,
            retries=retries,
            timeout_s=timeout,
            overwrite=overwrite,
            progress=not as_json,
        )
    except InvriskError as exc:
        raise _fail(exc) from exc
    _report_download({"download": result.as_dict()}, as_json)


def _report_download(payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(payload)
        return
    d = payload["download"]
    verb = "downloaded" if d["status"] == "downloaded" else "already present"
    extra = ", resumed" if d["resumed"] else ""
    console.print(
        f"{verb}: {d['path']} ({d['size_bytes']:,} bytes, {d['attempts']} request(s){extra}; "
        f"verified: {d['verified']}; sha256 {d['sha256'][:16]}...)"
    )
    if "import" in payload:
        r = payload["import"]
        console.print(
            f"catalog: {r['status'].replace('_', ' ')} {r['venue']}/{','.join(r['symbols'])} "
            f"{r['rows']:,} rows in {len(r['parts'])} part(s)"
        )
