"""``invrisk risk`` and ``invrisk hedge``: the risk of a book and the cheapest hedge.

No business logic: read the positions, the chain and the options, call
:func:`invrisk.risk.assess.assess_portfolio` / :func:`invrisk.hedging.plan.plan_hedge`, print
tables (or ``--json``), write the HTML report when asked.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

if TYPE_CHECKING:
    from invrisk.risk.venues import VenueReport

__all__ = ["register"]

console = stdout_console()
err_console = Console(stderr=True)

MarkOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mark",
        help="Mark price of a spot, perpetual or futures position, NAME=PRICE (repeatable), "
        "e.g. --mark BTC-PERPETUAL=87831.5 --mark binance:BTC/USDT:USDT=87800. Options are "
        "valued from the chain.",
    ),
]
ChainOpt = Annotated[
    Path, typer.Option("--market", help="Deribit option-chain CSV (.csv or .csv.gz) to value with.")
]


def _marks(items: list[str] | None) -> dict[str, float]:
    from invrisk.errors import InvalidArgumentError

    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.rpartition("=")
        try:
            price = float(value)
        except ValueError:
            price = math.nan
        if not sep or not name or not (math.isfinite(price) and price > 0):
            raise InvalidArgumentError("--mark", item, "NAME=PRICE with a price > 0")
        out[name] = price
    return out


def _snapshot(positions: Path, market: Path, marks: list[str] | None, model: str) -> Any:
    from invrisk.data import load_deribit_chain
    from invrisk.risk import MarketSnapshot, read_positions

    book = read_positions(positions)
    chain = load_deribit_chain(market)
    snap = MarketSnapshot.from_chain(chain, marks=_marks(marks), model=model)  # type: ignore[arg-type]
    return book, chain, snap


def _returns(history: list[str] | None) -> dict[str, np.ndarray] | None:
    """``COIN=path`` OHLCV files -> simple daily returns aligned on the bars all files share."""
    from invrisk.data import read_ohlcv
    from invrisk.errors import InvalidArgumentError

    if not history:
        return None
    closes: dict[str, dict[int, float]] = {}
    for item in history:
        coin, sep, path = item.partition("=")
        if not sep or not coin or not path:
            raise InvalidArgumentError("--history", item, "COIN=PATH of an OHLCV CSV")
        bars = read_ohlcv(path)
        closes[coin.upper()] = dict(zip(bars.open_ns.tolist(), bars.close.tolist(), strict=True))
    common = sorted(set.intersection(*(set(c) for c in closes.values())))
    if len(common) < 3:
        raise InvalidArgumentError("--history", history, "files sharing at least 3 bars")
    out = {}
    for coin, c in closes.items():
        px = np.array([c[t] for t in common])
        out[coin] = px[1:] / px[:-1] - 1.0
    return out


def risk(
    positions: Annotated[Path, typer.Argument(help="Positions CSV or JSON (see invrisk.risk).")],
    market: ChainOpt,
    mark: MarkOpt = None,
    model: Annotated[str, typer.Option(help="Surface model: svi, ssvi or essvi.")] = "svi",
    scenarios: Annotated[
        Path | None, typer.Option(help="User scenarios TOML (see invrisk.risk.scenarios).")
    ] = None,
    historical: Annotated[bool, typer.Option(help="Include the named historical stresses.")] = True,
    history: Annotated[
        list[str] | None,
        typer.Option(
            help="COIN=OHLCV.csv daily history for VaR/ES (repeatable; the files are aligned).",
        ),
    ] = None,
    var_level: Annotated[float, typer.Option(help="VaR/ES level, e.g. 0.99.")] = 0.99,
    limits: Annotated[
        Path | None, typer.Option(help="Limits TOML (see invrisk.risk.limit_set).")
    ] = None,
    margin: Annotated[
        bool, typer.Option(help="Compute the Deribit-style portfolio margin of each book.")
    ] = True,
    margin_params: Annotated[
        Path | None, typer.Option(help="Margin parameters TOML (see invrisk.risk.margin).")
    ] = None,
    equity: Annotated[
        float | None,
        typer.Option(help="Account equity, USD: margin utilization = initial margin / equity."),
    ] = None,
    venues_file: Annotated[
        Path | None,
        typer.Option(
            "--venues",
            help="Venues TOML (see invrisk venues): adds exposure per venue, venue failures "
            "and the stablecoin de-peg to the output and the report.",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the HTML risk report here.")] = None,
) -> None:
    """Greeks per coin (coin and USD, premium-adjusted delta, cash gamma), vega by expiry and
    call-delta bucket, a spot x vol grid and stress scenarios by full revaluation, portfolio
    margin per book (Deribit-style), VaR/ES from a price history, and limit breaches. USD
    unless the column says coin; vega per 1.0 of vol, theta per year.
    """
    from invrisk.errors import InvriskError
    from invrisk.risk.assess import assess_portfolio
    from invrisk.risk.limit_set import load_limits
    from invrisk.risk.margin import load_margin_params
    from invrisk.risk.scenarios import load_scenarios

    try:
        book, _, snap = _snapshot(positions, market, mark, model)
        a = assess_portfolio(
            book,
            snap,
            scenarios=load_scenarios(scenarios) if scenarios else (),
            include_historical=historical,
            returns=_returns(history),
            var_level=var_level,
            limits=load_limits(limits) if limits else None,
            margin=margin,
            margin_params=load_margin_params(margin_params) if margin_params else None,
            equity_usd=equity,
        )
        vr = None
        if venues_file is not None:
            from invrisk.risk.venues import assess_venues, load_venues

            vr = assess_venues(a.greeks, load_venues(venues_file))
        written = None
        if report is not None:
            from invrisk.report.risk_report import write_risk_report

            written = str(write_risk_report(a, report, venues=vr))
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        extra = {} if vr is None else {"venues": vr.to_dict()}
        print_json({**a.to_dict(), **extra, "report": written})
        return
    t = Table(title="Greeks by coin (USD unless stated; vega per 1.0 vol, theta per year)")
    cols = [
        ("value_usd", "value"),
        ("delta_coin", "delta coin"),
        ("delta_premium_adjusted_coin", "delta p.a. coin"),
        ("cash_gamma_usd", "cash gamma"),
        ("vega_usd", "vega"),
        ("theta_usd", "theta"),
    ]
    t.add_column("coin")
    for _, head in cols:
        t.add_column(head, justify="right")
    for coin, tot in a.totals.items():
        t.add_row(coin, *(f"{getattr(tot, k):,.2f}" for k, _ in cols))
    console.print(t)
    worst = int(np.argmin(a.grid.pnl_usd))
    i, j = np.unravel_index(worst, a.grid.pnl_usd.shape)
    console.print(
        f"grid worst: spot {a.grid.spot_returns[i]:+.0%}, vol {a.grid.vol_shifts[j] * 100:+.0f} "
        f"pts -> {a.grid.pnl_usd[i, j]:,.0f} USD"
    )
    if vr is not None:
        _print_venues(vr)
    if a.scenario_names:
        s = Table(title="Stress scenarios")
        s.add_column("scenario")
        s.add_column("P&L USD", justify="right")
        for name, pnl in zip(a.scenario_names, a.scenario_pnl_usd, strict=True):
            s.add_row(name, f"{pnl:,.0f}")
        console.print(s)
    if a.margin is not None:
        mt = Table(title="Portfolio margin per book (in the book's margin currency)")
        for head in (
            "book",
            "currency",
            "initial",
            "maintenance",
            "initial USD",
            "set by",
            "worst",
        ):
            mt.add_column(
                head, justify="right" if "initial" in head or head == "maintenance" else "left"
            )
        for key, b in a.margin.books.items():
            w = b.worst_scenario
            mt.add_row(
                key, b.margin_currency, f"{b.initial_margin:,.4f}", f"{b.maintenance_margin:,.4f}",
                f"{b.initial_margin_usd:,.0f}", b.binding_term,
                f"{w.table} {w.spot_return:+.0%} vol {w.vol_state}",
            )  # fmt: skip
        console.print(mt)
    for v in a.var:
        console.print(
            f"{v.method} VaR {v.level:.0%}: {v.var_usd:,.0f} USD, ES {v.es_usd:,.0f} USD "
            f"({v.pnl_usd.size} scenarios)"
        )
    if a.limits is not None:
        lt = Table(title="Limits")
        for head in ("limit", "scope", "value", "low", "high", "use", "breach"):
            lt.add_column(head, justify="left" if head in ("limit", "scope") else "right")
        for r in a.limits.rows:
            lt.add_row(
                r.name, r.scope, f"{r.value:,.4g}", f"{r.lo:,.4g}", f"{r.hi:,.4g}",
                f"{r.utilization:.0%}", "BREACH" if r.breached else "",
            )  # fmt: skip
        console.print(lt)
    if written:
        console.print(f"wrote {written}")


def hedge(
    positions: Annotated[Path, typer.Argument(help="Positions CSV or JSON (see invrisk.risk).")],
    market: ChainOpt,
    limits: Annotated[
        Path, typer.Option(help="Limits TOML: the hedge must bring the book inside.")
    ],
    with_: Annotated[
        str,
        typer.Option(
            "--with",
            help="Hedge instruments, comma separated: Deribit names (BTC-PERPETUAL, "
            "BTC-27MAR26, BTC-27MAR26-90000-C) and/or 'options' (the chain's options with a "
            "bid and an ask, within --max-days and --moneyness).",
        ),
    ] = "BTC-PERPETUAL,options",
    mark: MarkOpt = None,
    model: Annotated[str, typer.Option(help="Surface model: svi, ssvi or essvi.")] = "svi",
    objective: Annotated[
        str,
        typer.Option(
            help="'cost' (cheapest inside the limits), 'greeks' (cost plus a penalty growing "
            "with each limited exposure's share of its limit) or 'scenario' (min ES of the "
            "grid P&L plus cost)."
        ),
    ] = "cost",
    greek_penalty_usd: Annotated[
        float, typer.Option(help="'greeks': USD cost of sitting at a limit's bound.")
    ] = 10_000.0,
    max_days: Annotated[float, typer.Option(help="'options': longest expiry, days.")] = 180.0,
    moneyness: Annotated[float, typer.Option(help="'options': largest |ln(K/F)|.")] = 0.15,
    max_options: Annotated[int, typer.Option(help="'options': at most this many.")] = 60,
    max_qty: Annotated[
        float, typer.Option(help="Largest trade per option candidate, contracts.")
    ] = 100.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """The cheapest set of trades (crossing the spread, paying fees, in whole lots) that brings
    the book's net-Greek limits within bounds, or (--objective scenario) that minimises the ES
    of its P&L over a spot x vol grid plus cost. Limits on gross or external metrics are listed
    as not constrained.
    """
    from invrisk.errors import InvalidArgumentError, InvriskError
    from invrisk.hedging.optimizer import HedgeInfeasibleError
    from invrisk.hedging.plan import CandidateSpec, plan_hedge
    from invrisk.instruments import parse_deribit
    from invrisk.risk.limit_set import load_limits

    try:
        book, chain, snap = _snapshot(positions, market, mark, model)
        specs: list[CandidateSpec] = []
        for name in (n.strip() for n in with_.split(",") if n.strip()):
            if name == "options":
                ok = (
                    (chain.bid_coin > 0)
                    & (chain.ask_coin > 0)
                    & (chain.t_yr * 365.0 <= max_days)
                    & (np.abs(np.log(chain.strike / chain.forward_usd)) <= moneyness)
                )
                rows = np.flatnonzero(ok)
                # nearest the money first, then the nearest expiries
                order = np.lexsort(
                    (chain.t_yr[rows], np.abs(np.log(chain.strike[rows] / chain.forward_usd[rows])))
                )
                for r in rows[order][:max_options]:
                    inst = parse_deribit(str(chain.instrument[r]))
                    specs.append(CandidateSpec(instrument=inst, lot=inst.lot_size, max_qty=max_qty))
            else:
                inst = parse_deribit(name)
                cap = math.inf if not inst.is_option else max_qty
                specs.append(CandidateSpec(instrument=inst, lot=inst.lot_size, max_qty=cap))
        if objective == "scenario":
            specs = [
                s if math.isfinite(s.max_qty) else CandidateSpec(s.instrument, s.lot, 1e7 * s.lot)
                for s in specs
            ]
        if not specs:
            raise InvalidArgumentError("--with", with_, "at least one hedge instrument")
        quotes = {
            str(n): (float(b), float(a))
            for n, b, a in zip(chain.instrument, chain.bid_coin, chain.ask_coin, strict=True)
        }
        result = plan_hedge(
            book,
            snap,
            candidates=specs,
            limits=load_limits(limits),
            objective=objective,
            greek_penalty_usd=greek_penalty_usd,
            option_bid_ask_coin=quotes,
        )
    except HedgeInfeasibleError as exc:
        if json_out:
            print_json({"feasible": False, "violations": exc.violations, "message": str(exc)})
            raise typer.Exit(code=1) from exc
        raise fail(err_console, str(exc)) from exc
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    plan = result.plan
    if json_out:
        print_json(
            {
                "feasible": True,
                "objective": plan.objective,
                "trades": [{"instrument": n, "contracts": q} for n, q in plan.trades],
                "cost_usd": plan.cost,
                "risk_before": plan.risk_before,
                "risk_after": plan.risk_after,
                "exposure_before": plan.exposure_before,
                "exposure_after": plan.exposure_after,
                "binding": plan.binding,
                "rounding": plan.rounding,
                "candidates": len(result.candidates),
                "not_constrained": result.skipped,
            }
        )
        return
    t = Table(title=f"Hedge plan ({plan.objective}; cost {plan.cost:,.2f} USD, {plan.rounding})")
    t.add_column("instrument")
    t.add_column("contracts", justify="right")
    for n, q in plan.trades:
        t.add_row(n, f"{q:+,.4g}")
    console.print(t)
    e = Table(title="Limited exposures")
    for head in ("limit", "before", "after"):
        e.add_column(head, justify="left" if head == "limit" else "right")
    for k, v in plan.exposure_before.items():
        e.add_row(k, f"{v:,.4g}", f"{plan.exposure_after[k]:,.4g}")
    console.print(e)
    if result.skipped:
        console.print(f"not constrained (not linear in the trades): {', '.join(result.skipped)}")


def var_backtest(
    history: Annotated[Path, typer.Argument(help="OHLCV CSV of daily bars (closes are used).")],
    window: Annotated[int, typer.Option(help="Days of history behind each forecast.")] = 500,
    refit_every: Annotated[int, typer.Option(help="Days between GARCH / Student-t refits.")] = 20,
    levels: Annotated[str, typer.Option(help="VaR levels, comma separated.")] = "0.95,0.99",
    methods: Annotated[
        str, typer.Option(help="Comma separated: historical, fhs, normal, student_t.")
    ] = "historical,fhs,normal,student_t",
    json_out: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Backtest one-day VaR of a long position on a price history: exceptions against the
    expected count, Kupiec's proportion-of-failures and Christoffersen's independence tests
    (p-values; small means the model is rejected), for each method and level.
    """
    from invrisk.data import read_ohlcv
    from invrisk.errors import InvalidArgumentError, InvriskError
    from invrisk.risk.var import backtest_var

    rows = []
    try:
        try:
            lv = [float(x) for x in levels.split(",") if x.strip()]
        except ValueError as exc:
            raise InvalidArgumentError("--levels", levels, "numbers like 0.95,0.99") from exc
        close = read_ohlcv(history).close
        r = close[1:] / close[:-1] - 1.0
        for m in (x.strip() for x in methods.split(",") if x.strip()):
            for b in backtest_var(r, method=m, levels=lv, window=window, refit_every=refit_every):  # type: ignore[arg-type]
                rows.append(
                    {
                        "method": b.method,
                        "level": b.level,
                        "days": b.n_obs,
                        "exceptions": b.n_exceptions,
                        "expected": b.expected_exceptions,
                        "kupiec_p": b.kupiec.p_value,
                        "independence_p": b.independence.p_value,
                        "conditional_coverage_p": b.conditional_coverage.p_value,
                    }
                )
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        print_json({"history": str(history), "window": window, "rows": rows})
        return
    t = Table(title=f"One-day VaR backtest of a long position: {history.name}, window {window} d")
    for head in (
        "method",
        "level",
        "days",
        "exceptions",
        "expected",
        "Kupiec p",
        "indep. p",
        "cc p",
    ):
        t.add_column(head, justify="left" if head == "method" else "right")
    for row in rows:
        t.add_row(
            str(row["method"]), f"{row['level']:.3g}", f"{row['days']:,}", str(row["exceptions"]),
            f"{row['expected']:.1f}", f"{row['kupiec_p']:.4f}", f"{row['independence_p']:.4f}",
            f"{row['conditional_coverage_p']:.4f}",
        )  # fmt: skip
    console.print(t)


def _print_venues(vr: VenueReport) -> None:
    rows, failures, depegs, report = vr.exposures, vr.failures, vr.depeg_loss_usd, vr.limits
    depeg = vr.depeg_move
    t = Table(title="Exposure per venue (USD)")
    for head in (
        "venue",
        "type",
        "positions",
        "gross",
        "net",
        "collateral",
        "at risk",
        "exp. loss/yr",
        "delta",
        "withdraw days",
    ):
        t.add_column(head, justify="left" if head in ("venue", "type") else "right")
    for r in rows:
        money = (r.gross_value_usd, r.net_value_usd, r.collateral_usd, r.at_risk_usd)
        t.add_row(
            r.venue, r.type, str(r.positions), *(f"{v:,.0f}" for v in money),
            f"{r.expected_loss_usd:,.0f}", f"{r.delta_usd:,.0f}", f"{r.withdrawal_delay_days:g}",
        )  # fmt: skip
    console.print(t)
    ft = Table(title="If the venue fails now")
    for head in ("venue", "loss", "recovered", "book delta before", "book delta after"):
        ft.add_column(head, justify="left" if head == "venue" else "right")
    for f in failures:
        ft.add_row(
            f.venue, f"{f.loss_usd:,.0f}", f"{f.recovered_usd:,.0f}", f"{f.delta_before_usd:,.0f}",
            f"{f.delta_after_usd:,.0f}",
        )  # fmt: skip
    for f in vr.chain_halts:
        ft.add_row(
            f"chain {f.venue} halts", f"{f.loss_usd:,.0f}", f"{f.recovered_usd:,.0f}",
            f"{f.delta_before_usd:,.0f}", f"{f.delta_after_usd:,.0f}",
        )  # fmt: skip
    console.print(ft)
    console.print(
        f"stablecoin de-peg of {depeg:+.1%}: loss "
        + ", ".join(f"{c} {v:,.0f} USD" for c, v in depegs.items())
    )
    if report is not None:
        console.print(f"limits breached: {', '.join(report.breaches) or 'none'}")


def venues(
    positions: Annotated[Path, typer.Argument(help="Positions CSV or JSON (see invrisk.risk).")],
    market: ChainOpt,
    venues_file: Annotated[
        Path, typer.Option("--venues", help="Venues TOML (see invrisk.risk.venues).")
    ],
    mark: MarkOpt = None,
    model: Annotated[str, typer.Option(help="Surface model: svi, ssvi or essvi.")] = "svi",
    depeg: Annotated[
        float, typer.Option(help="Stablecoin de-peg stress, relative move (e.g. -0.125).")
    ] = -0.125,
    limits: Annotated[
        Path | None, typer.Option(help="Limits TOML: concentration limits to check.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """Exposure per venue (gross and net value, collateral, the claim at risk, expected loss
    over a year, delta held there), the loss and the delta left if each venue fails, the loss
    of a stablecoin de-peg (USDC and USDT), and limit breaches. USD throughout.
    """
    from invrisk.errors import InvriskError
    from invrisk.risk import portfolio_greeks
    from invrisk.risk.limit_set import load_limits
    from invrisk.risk.venues import assess_venues, load_venues

    try:
        book, _, snap = _snapshot(positions, market, mark, model)
        specs = load_venues(venues_file)
        g = portfolio_greeks(book, snap)
        vr = assess_venues(
            g, specs, depeg_move=depeg, limits=load_limits(limits) if limits else None
        )
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        print_json(vr.to_dict())
        return
    _print_venues(vr)


def _pairs(name: str, items: list[str] | None) -> dict[str, float]:
    from invrisk.errors import InvalidArgumentError

    out: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            out[key] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key:
            raise InvalidArgumentError(name, item, "NAME=NUMBER")
    return out


def allocate(
    venues_file: Annotated[
        Path, typer.Option("--venues", help="Venues TOML (see invrisk.risk.venues).")
    ],
    total: Annotated[float, typer.Option(help="Capital to allocate, USD.")],
    revenue: Annotated[
        list[str], typer.Option(help="VENUE=RATE: expected revenue per USD per year (repeat).")
    ],
    margin: Annotated[
        list[str] | None, typer.Option(help="VENUE=USD: margin the venue needs (repeat).")
    ] = None,
    max_share: Annotated[
        list[str] | None, typer.Option(help="VENUE=SHARE: largest share of the total (repeat).")
    ] = None,
    max_type_share: Annotated[
        list[str] | None, typer.Option(help="TYPE=SHARE: largest share per type (repeat).")
    ] = None,
    max_single_loss: Annotated[
        float | None, typer.Option(help="Largest loss from any single venue failing, USD.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the allocation as JSON.")] = False,
) -> None:
    """Split capital across venues to maximise expected revenue minus expected default loss
    under margin needs, concentration caps and a cap on any single venue's failure loss; an
    impossible set of caps is reported by name (exit code 1)."""
    from invrisk.errors import InvriskError
    from invrisk.risk.allocation import AllocationInfeasibleError, allocate_capital
    from invrisk.risk.venues import load_venues

    try:
        a = allocate_capital(
            total_usd=total,
            venues=load_venues(venues_file),
            revenue_rate=_pairs("--revenue", revenue),
            margin_need_usd=_pairs("--margin", margin),
            max_share=_pairs("--max-share", max_share),
            max_type_share=_pairs("--max-type-share", max_type_share),
            max_single_loss_usd=math.inf if max_single_loss is None else max_single_loss,
        )
    except AllocationInfeasibleError as exc:
        if json_out:
            print_json({"feasible": False, "violations": exc.violations, "message": str(exc)})
            raise typer.Exit(code=1) from exc
        raise fail(err_console, str(exc)) from exc
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        print_json({"feasible": True, **dataclasses.asdict(a), "net_usd": a.net_usd})
        return
    t = Table(title=f"Allocation of {total:,.0f} USD", title_justify="left")
    t.add_column("venue")
    t.add_column("USD", justify="right")
    for v, x in a.amounts_usd.items():
        t.add_row(v, f"{x:,.0f}")
    console.print(t)
    console.print(
        f"expected revenue {a.expected_revenue_usd:,.0f} USD/yr, expected default loss "
        f"{a.expected_loss_usd:,.0f} USD/yr, worst single failure {a.worst_single_loss_usd:,.0f} "
        f"USD; binding: {', '.join(a.binding) or 'none'}"
    )


def register(app: typer.Typer) -> None:
    """Add ``risk``, ``hedge``, ``var-backtest``, ``venues`` and ``allocate`` to ``app``."""
    app.command("allocate")(allocate)
    app.command("risk")(risk)
    app.command("hedge")(hedge)
    app.command("var-backtest")(var_backtest)
    app.command("venues")(venues)
