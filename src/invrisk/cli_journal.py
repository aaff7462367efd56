"""``invrisk journal PATH``: what a trading journal holds (runs, orders, fills, positions, risk).

No business logic: open the journal (nothing is written, except the nullable columns a journal
from an older version lacks), call :class:`invrisk.store.Journal`'s readers and
:class:`invrisk.store.pnl.FillAccount`, print tables or ``--json``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)


def journal(
    path: Annotated[Path, typer.Argument(help="Journal file (SQLite) or a SQLAlchemy URL.")],
    run: Annotated[str | None, typer.Option(help="Run id (default: the latest run).")] = None,
    fills_shown: Annotated[int, typer.Option("--fills", help="Last fills to list.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """Runs, orders by final state, fills, positions and cash recomputed from the fills, PnL
    (realised, unrealised, fees, spread capture and inventory PnL, marked at the latest
    snapshot's mid), delta, and the risk state history of one run of the journal."""
    from invrisk.errors import InvriskError
    from invrisk.store import Journal

    text = str(path)
    if "://" not in text and not path.is_file():
        raise fail(err_console, f"journal={text!r} is invalid: expected an existing journal file")
    try:
        with Journal(text) as j:
            runs = j.runs()
            if not runs:
                raise fail(err_console, f"{text}: the journal has no run")
            ids = [r["run_id"] for r in runs]
            rid = run or ids[-1]
            if rid not in ids:
                raise fail(err_console, f"run={rid!r} is invalid: expected one of {ids}")
            rec = j.recover(rid)
            events = j.table("order_events", rid)
            fills = j.table("fills", rid)
            risk = j.table("risk_events", rid)
            n_orders = len(j.table("orders", rid))
            snaps = j.table("snapshots", rid)
    except InvriskError as exc:
        raise fail(err_console, str(exc)) from exc
    pnl = _pnl(fills, snaps)
    final: dict[int, str] = {}
    for e in events:
        final[int(e["order_id"])] = str(e["status"])
    out: dict[str, Any] = {
        "runs": runs,
        "run_id": rid,
        "orders": n_orders,
        "orders_by_state": dict(Counter(final.values())),
        "fills": len(fills),
        "positions": rec.positions,
        "cash": rec.cash,
        "pnl": pnl,
        "open_orders": list(rec.open_orders.values()),
        "risk_events": risk,
        "last_fills": fills[-fills_shown:] if fills_shown > 0 else [],
    }
    if json_out:
        print_json(out)
        return
    r = next(x for x in runs if x["run_id"] == rid)
    console.print(
        f"[bold]run {rid}[/] ({r['mode']} on {r['venue']}; {len(runs)} run(s) in the journal): "
        f"{n_orders} orders {dict(Counter(final.values()))}, {len(fills)} fills"
    )
    pt = Table(title="Positions and cash from the fills")
    for head in ("instrument", "position", "cash"):
        pt.add_column(head, justify="right")
    for inst in sorted(rec.positions):
        pt.add_row(str(inst), f"{rec.positions[inst]:,.6g}", f"{rec.cash[inst]:,.2f}")
    console.print(pt)
    if pnl:
        console.print(_pnl_table(pnl))
    if risk:
        rt = Table(title="Risk events")
        for head in ("t_ns", "kind", "state", "order", "cause"):
            rt.add_column(head)
        for e in risk:
            rt.add_row(
                str(e["t_ns"]), e["kind"], f"{e['old_state']} -> {e['new_state']}",
                "" if e["order_id"] is None else str(e["order_id"]), e["cause"],
            )  # fmt: skip
        console.print(rt)
    if fills and fills_shown > 0:
        ft = Table(title=f"Last {min(fills_shown, len(fills))} fills")
        for head in ("local_ns", "order", "side", "qty", "price", "fee", "maker"):
            ft.add_column(head, justify="right")
        for f in fills[-fills_shown:]:
            side = "buy" if f["side"] > 0 else "sell"
            maker = "yes" if f["is_maker"] else ""
            ft.add_row(
                str(f["local_ns"]), str(f["order_id"]), side, f"{f['qty']:g}",
                f"{f['price']:,.2f}", f"{f['fee']:.4g}", maker,
            )  # fmt: skip
        console.print(ft)


def _pnl(fills: list[dict[str, Any]], snaps: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per instrument: PnL from the fills, marked at the latest snapshot's mid (the latest fill
    price when no snapshot has a mid)."""
    from invrisk.store.pnl import FillAccount

    accounts: dict[int, FillAccount] = {}
    last_price: dict[int, float] = {}
    for f in fills:
        i = int(f["instrument"])
        accounts.setdefault(i, FillAccount()).fill(
            side=int(f["side"]),
            qty=float(f["qty"]),
            price=float(f["price"]),
            fee=float(f["fee"]),
            cash_delta=float(f["cash_delta"]),
            mid=f.get("mid"),
        )
        last_price[i] = float(f["price"])
    marks: dict[int, tuple[float, str]] = {i: (p, "last fill price") for i, p in last_price.items()}
    for snap in snaps:  # in seq order: the last one with a mark wins
        if snap["mark"] is not None:
            marks[int(snap["instrument"])] = (float(snap["mark"]), f"mid at {snap['t_ns']} ns")
    out: dict[int, dict[str, Any]] = {}
    for i, acct in sorted(accounts.items()):
        mark, source = marks[i]
        delta_base, delta_quote = acct.delta(mark)
        out[i] = {
            "mark": mark,
            "mark_source": source,
            "realised": acct.realised,
            "unrealised": acct.unrealised(mark),
            "fees": acct.fees,
            "spread": acct.spread_capture(),
            "inventory": acct.inventory(mark),
            "total": acct.total(mark),
            "delta_base": delta_base,
            "delta_quote": delta_quote,
            "fills_without_mid": acct.n_without_mid,
        }
    return out


def _pnl_table(pnl: dict[int, dict[str, Any]]) -> Table:
    t = Table(title="PnL by instrument (settlement currency; total = spread + inventory - fees)")
    heads = ("instrument", "mark", "realised", "unrealised", "fees", "spread", "inventory", "total")
    for head in (*heads, "delta base", "delta quote"):
        t.add_column(head, justify="right")
    for i, p in pnl.items():
        t.add_row(
            str(i),
            f"{p['mark']:,.2f}",
            *(f"{p[k]:+,.6g}" for k in heads[2:]),
            f"{p['delta_base']:+,.6g}",
            f"{p['delta_quote']:+,.2f}",
        )
    return t


def register(app: typer.Typer) -> None:
    """Add ``journal`` to ``app``."""
    app.command("journal")(journal)
