"""The ``invrisk`` command line (typer). No business logic here: parse, call, print.

Units everywhere: prices in USD (or coin where a flag says so), volatility as a decimal
(0.55 = 55 %), time to expiry in years (ACT/365) or as an expiry instant, Greeks raw (per 1.0
of the variable, per year) with Deribit's conventional units alongside.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from invrisk import __version__
from invrisk._cli_common import fail, print_json, stdout_console
from invrisk.cli_backtest import register as register_backtest_command
from invrisk.cli_dashboard import register as register_dashboard_command
from invrisk.cli_data import data_app
from invrisk.cli_hedging import register as register_hedging_command
from invrisk.cli_journal import register as register_journal_command
from invrisk.cli_lp import register as register_lp_command
from invrisk.cli_quote import register as register_quote_commands
from invrisk.cli_risk import register as register_risk_commands
from invrisk.cli_run import register as register_run_command
from invrisk.cli_sweep import register as register_sweep_commands
from invrisk.errors import InvriskError
from invrisk.instruments import Instrument, parse_ccxt, parse_deribit
from invrisk.units import (
    DERIBIT_EXPIRY_HOUR_UTC,
    NS_PER_HOUR,
    datetime_to_ns,
    ns_to_iso,
    theta_per_day,
    to_ns,
    vega_per_vol_pt,
    year_fraction,
)

app = typer.Typer(
    name="invrisk",
    help=(
        "Inventory-risk toolkit for crypto market making and derivatives.\n\n"
        "Options: price, iv, chain, surface. Market data: data (import, validate, synth, ls, "
        "query, download). Quoting: quote, calibrate, simulate. Backtests: backtest CONFIG.toml. "
        "Tour: demo.\n\n"
        "Units: prices in USD unless a flag says coin; vol as a decimal (0.55 = 55%); time in "
        "years ACT/365 (--t-yr) or as an expiry instant (--expiry, Deribit expiries at 08:00 "
        "UTC). Raw Greeks are per 1.0 of the variable and per year; Deribit's units (vega per "
        "vol point, theta per day) are shown beside them. Quoting models: σ in price per "
        "sqrt(second), A per second, k per price unit, time in seconds."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
register_quote_commands(app)
register_backtest_command(app)
register_hedging_command(app)
register_risk_commands(app)
register_lp_command(app)
register_journal_command(app)
register_run_command(app)
register_dashboard_command(app)
register_sweep_commands(app)

console = stdout_console()
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"invrisk {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Inventory-risk toolkit for crypto market making and derivatives."""


def _fail(exc: Exception) -> typer.Exit:
    return fail(err_console, str(exc))


def _parse_instrument(name: str) -> Instrument:
    return parse_ccxt(name) if "/" in name else parse_deribit(name)


def _expiry_ns(text: str) -> int:
    """An ISO instant; a bare date means that day's 08:00 UTC (Deribit's expiry time)."""
    stripped = text.strip()
    if len(stripped) == 10 and stripped[4] == "-" and stripped[7] == "-":
        return to_ns(stripped) + DERIBIT_EXPIRY_HOUR_UTC * NS_PER_HOUR
    return to_ns(stripped)


def _resolve_option(
    instrument: str | None,
    strike: float | None,
    option_type: str | None,
    t_yr: float | None,
    expiry: str | None,
    now: str | None,
) -> tuple[float, str, float, dict[str, Any]]:
    """Strike, type and T from flags or an instrument name; also a description for output."""
    info: dict[str, Any] = {}
    expiry_ns: int | None = _expiry_ns(expiry) if expiry else None
    if instrument:
        inst = _parse_instrument(instrument)
        if not inst.is_option or inst.strike is None or inst.right is None:
            raise typer.BadParameter(f"{instrument!r} is not an option", param_hint="--instrument")
        strike = strike if strike is not None else inst.strike
        option_type = option_type or ("call" if inst.right > 0 else "put")
        expiry_ns = expiry_ns if expiry_ns is not None else inst.expiry_ns
        info["instrument"] = inst.name
    if strike is None:
        raise typer.BadParameter("give --strike or --instrument", param_hint="--strike")
    if option_type is None:
        raise typer.BadParameter("give --type call|put or --instrument", param_hint="--type")
    if t_yr is None:
        if expiry_ns is None:
            raise typer.BadParameter(
                "give --t-yr, or --expiry (or an --instrument with an expiry)", param_hint="--t-yr"
            )
        now_ns = to_ns(now) if now else datetime_to_ns(datetime.now(UTC))
        t_yr = year_fraction(now_ns, expiry_ns)
        info["valuation"] = ns_to_iso(now_ns)
        info["expiry"] = ns_to_iso(expiry_ns)
    info["t_yr"] = t_yr
    return float(strike), option_type, float(t_yr), info


_INSTRUMENT_HELP = "Deribit name (BTC-27JUN25-60000-C) or ccxt symbol; sets strike, type, expiry."
_EXPIRY_HELP = "Expiry instant, ISO (2026-06-26 means 08:00 UTC that day). Used with --now."
_NOW_HELP = "Valuation instant, ISO (default: the current time)."


@app.command()
def price(
    forward: Annotated[float, typer.Option(help="Forward price of the expiry, USD (> 0).")],
    vol: Annotated[float, typer.Option(help="Annualised volatility, decimal (0.55 = 55%).")],
    strike: Annotated[float | None, typer.Option(help="Strike, USD (> 0).")] = None,
    option_type: Annotated[str | None, typer.Option("--type", help="call or put (c/p).")] = None,
    t_yr: Annotated[float | None, typer.Option(help="Years to expiry, ACT/365.")] = None,
    expiry: Annotated[str | None, typer.Option(help=_EXPIRY_HELP)] = None,
    now: Annotated[str | None, typer.Option(help=_NOW_HELP)] = None,
    instrument: Annotated[str | None, typer.Option(help=_INSTRUMENT_HELP)] = None,
    rate: Annotated[float, typer.Option(help="Discount rate per year, decimal.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Price one European option (Black-76 on the forward): USD and coin-settled views.

    Shows the USD value and raw Greeks (delta per 1 USD of forward, gamma per USD², vega per
    1.0 vol, theta per year, rho per 1.0 rate), the same in conventional units, and the
    coin-settled (Deribit inverse) view: price in coin, premium-adjusted delta, Deribit Greeks.
    """
    from invrisk.pricing import black76, coin_greeks, deribit_greeks

    try:
        k, cp, t, info = _resolve_option(instrument, strike, option_type, t_yr, expiry, now)
        g = black76(forward=forward, strike=k, t_yr=t, vol=vol, option_type=cp, rate=rate)
        coin = coin_greeks(forward=forward, strike=k, t_yr=t, vol=vol, option_type=cp, rate=rate)
        deribit = deribit_greeks(forward=forward, strike=k, t_yr=t, vol=vol, option_type=cp)
    except InvriskError as exc:
        raise _fail(exc) from exc
    result = {
        "inputs": {
            "forward_usd": forward,
            "strike_usd": k,
            "type": cp,
            "vol": vol,
            "rate": rate,
            **info,
        },
        "usd": g.as_dict(),
        "conventional": {
            "vega_usd_per_vol_pt": vega_per_vol_pt(g.vega),
            "theta_usd_per_day": theta_per_day(g.theta),
        },
        "coin_settled": {
            "price_coin": coin.price_coin,
            "delta_premium_adjusted": coin.delta_premium_adjusted,
            "delta_coin_per_usd": coin.delta_coin,
            "gamma_coin_per_usd2": coin.gamma_coin,
            "vega_coin": coin.vega_coin,
            "theta_coin_per_yr": coin.theta_coin,
        },
        "deribit_units": {
            "delta": deribit.delta,
            "gamma_per_usd": deribit.gamma,
            "vega_usd_per_vol_pt": deribit.vega,
            "theta_usd_per_day": deribit.theta,
            "rho_usd_per_rate_pt": deribit.rho,
        },
    }
    if as_json:
        print_json(result)
        return
    table = Table(title=f"{info.get('instrument', cp)}  K={k:g}  F={forward:g}  vol={vol:g}")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    table.add_column("unit")
    units = {
        "price": "USD",
        "delta": "per USD of F",
        "gamma": "per USD²",
        "vega": "USD per 1.0 vol",
        "theta": "USD per year",
        "rho": "USD per 1.0 rate",
        "vanna": "per USD per 1.0 vol",
        "volga": "USD per vol²",
        "charm": "delta per year",
    }
    for name, value in g.as_dict().items():
        table.add_row(name, f"{value:.10g}", units[name])
    table.add_section()
    table.add_row("vega", f"{deribit.vega:.10g}", "USD per vol point")
    table.add_row("theta (Deribit)", f"{deribit.theta:.10g}", "USD per day")
    table.add_row("price", f"{coin.price_coin:.10g}", "coin")
    table.add_row("delta premium-adj.", f"{coin.delta_premium_adjusted:.10g}", "coin per coin")
    console.print(table)
    console.print(f"T = {t:.10g} years" + (f"  ({info['expiry']})" if "expiry" in info else ""))


@app.command()
def iv(
    price_value: Annotated[
        float, typer.Option("--price", help="Option price: USD, or coin with --coin.")
    ],
    forward: Annotated[float, typer.Option(help="Forward price of the expiry, USD (> 0).")],
    strike: Annotated[float | None, typer.Option(help="Strike, USD (> 0).")] = None,
    option_type: Annotated[str | None, typer.Option("--type", help="call or put (c/p).")] = None,
    t_yr: Annotated[float | None, typer.Option(help="Years to expiry, ACT/365.")] = None,
    expiry: Annotated[str | None, typer.Option(help=_EXPIRY_HELP)] = None,
    now: Annotated[str | None, typer.Option(help=_NOW_HELP)] = None,
    instrument: Annotated[str | None, typer.Option(help=_INSTRUMENT_HELP)] = None,
    coin: Annotated[
        bool, typer.Option("--coin", help="The price is in coin (Deribit inverse option).")
    ] = False,
    rate: Annotated[float, typer.Option(help="Discount rate per year, decimal.")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Implied volatility (Black-76 on the forward) of one option price.

    A price no volatility can produce prints NaN with the reason (below intrinsic, above the
    maximum, no time value, expired) rather than failing.
    """
    from invrisk.pricing import implied_vol, implied_vol_coin

    try:
        k, cp, t, info = _resolve_option(instrument, strike, option_type, t_yr, expiry, now)
        if coin:
            res = implied_vol_coin(
                price_coin=price_value,
                forward=forward,
                strike=k,
                t_yr=t,
                option_type=cp,
                rate=rate,
            )
        else:
            res = implied_vol(
                price=price_value, forward=forward, strike=k, t_yr=t, option_type=cp, rate=rate
            )
    except InvriskError as exc:
        raise _fail(exc) from exc
    status = res.status.name if hasattr(res.status, "name") else str(res.status)
    out = {
        "vol": res.vol,
        "vol_pct": float(res.vol) * 100.0,
        "status": status,
        "inputs": {
            "price": price_value,
            "price_unit": "coin" if coin else "USD",
            "forward_usd": forward,
            "strike_usd": k,
            "type": cp,
            "rate": rate,
            **info,
        },
    }
    if as_json:
        print_json(out)
        return
    if status == "OK":
        console.print(f"implied vol = {float(res.vol):.12g}  ({float(res.vol) * 100:.6f} %)")
    else:
        console.print(f"implied vol = NaN  [yellow]({status})[/]")


@app.command()
def chain(
    path: Annotated[Path, typer.Argument(help="Deribit chain CSV (.csv or .csv.gz).")],
    valuation_time: Annotated[
        str | None,
        typer.Option(help="Valuation instant (ISO) for files without one (ticker snapshots)."),
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Only this coin (BTC, ETH).")] = None,
    expiry: Annotated[
        str | None, typer.Option(help="Only this expiry (ISO date, e.g. 2026-03-27).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="Print at most this many option rows (table only).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Implied vols and Greeks of every option in a chain file, with chain totals.

    For each option: invrisk's IV of the mark, bid and ask (coin prices, Black-76 on Deribit's
    forward, r = 0), Greeks at the mark IV in Deribit's units (delta, gamma per USD, vega USD per
    vol point, theta USD per day), and the exchange's mark IV for comparison. Totals sum the
    Greeks over one long contract of each option.
    """
    from invrisk.data.chain_analytics import analyze_chain
    from invrisk.data.chains import load_deribit_chain

    try:
        val_ns = to_ns(valuation_time) if valuation_time else None
        t0 = time.perf_counter()
        loaded = load_deribit_chain(path, valuation_ns=val_ns, currency=currency)
        if expiry:
            loaded = loaded.for_expiry(_expiry_ns(expiry))
        analysis = analyze_chain(loaded)
        elapsed = time.perf_counter() - t0
    except InvriskError as exc:
        raise _fail(exc) from exc
    summary = {
        "source": str(path),
        "format": loaded.format,
        "options": len(loaded),
        "seconds": round(elapsed, 4),
        "totals": analysis.totals,
        "agreement_with_exchange_mark_iv": analysis.agreement,
        "iv_status": analysis.status_counts,
    }
    if as_json:
        print_json({"summary": summary, "options": analysis.rows()})
        return
    rows = analysis.rows()
    shown = rows if limit is None else rows[:limit]
    table = Table(title=f"{path.name}: {len(loaded)} options ({loaded.format})")
    table.add_column("instrument", no_wrap=True)
    for col in ("days", "IV%", "exch%", "bid%", "ask%", "delta", "vega", "theta"):
        table.add_column(col, justify="right")

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x * 100:.2f}"

    def num(x: float | None, fmt: str) -> str:
        return "-" if x is None else format(x, fmt)

    for r in shown:
        table.add_row(
            r["instrument"],
            num(None if r["t_yr"] is None else r["t_yr"] * 365.0, ".2f"),
            pct(r["iv_mark"]) if r["status_mark"] == "OK" else r["status_mark"].lower(),
            pct(r["exchange_mark_iv"]),
            pct(r["iv_bid"]),
            pct(r["iv_ask"]),
            num(r["delta"], ".4f"),
            num(r["vega_usd_per_vol_pt"], ".2f"),
            num(r["theta_usd_per_day"], ".2f"),
        )
    console.print(table)
    console.print(
        "IV% = invrisk's IV of the mark; exch% = the file's mark IV; bid%/ask% = invrisk's IVs of "
        "the quotes; Greeks at IV% in Deribit's units (vega USD/vol pt, theta USD/day)."
    )
    if len(shown) < len(rows):
        console.print(f"... {len(rows) - len(shown)} more rows (use --json for all)")
    tot = analysis.totals
    console.print(
        f"[bold]Totals[/] (one long contract of each option with a mark IV, "
        f"{tot['with_mark_vol']}/{tot['options']}): delta {tot['delta']:.4f}, "
        f"premium-adjusted delta {tot['delta_premium_adjusted']:.4f}, "
        f"gamma {tot['gamma_per_usd']:.4g}/USD, vega {tot['vega_usd_per_vol_pt']:.2f} USD/vol pt, "
        f"theta {tot['theta_usd_per_day']:.2f} USD/day"
    )
    agr = analysis.agreement
    if agr.get("compared"):
        console.print(
            f"IV of mark vs exchange mark IV on {agr['compared']} options: median "
            f"{agr['median_abs_diff_vol_pts']:.4f}, max {agr['max_abs_diff_vol_pts']:.4f} vol pts"
        )
    console.print(f"IV status (mark): {analysis.status_counts['mark']}  [{elapsed:.3f} s]")


@app.command()
def surface(
    path: Annotated[
        Path,
        typer.Argument(help="Option chain: Deribit CSV (.csv/.csv.gz) or, with --at, Tardis."),
    ],
    model: Annotated[
        str,
        typer.Option(
            help="svi: one raw SVI smile per expiry; ssvi: one power-law SSVI surface; essvi: "
            "one extended SSVI surface (skew and curvature per expiry)."
        ),
    ] = "svi",
    currency: Annotated[
        str | None, typer.Option(help="Coin to fit (BTC, ETH); required if the file has several.")
    ] = None,
    valuation_time: Annotated[
        str | None,
        typer.Option(help="Valuation instant (ISO) for files without one (ticker snapshots)."),
    ] = None,
    target: Annotated[
        str, typer.Option(help="Fit the exchange's mark prices (mark) or bid/ask mids (mid).")
    ] = "mark",
    at: Annotated[
        str | None,
        typer.Option(
            help="PATH is a Tardis options_chain stream: build the chain as of this instant (ISO)."
        ),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report (plotly) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Fit an arbitrage-free volatility surface to a chain and check it.

    Prints per-expiry SVI parameters (total variance over k = ln(K/F)), fit errors in vol
    points against the target vols, quotes used and rejected (with reasons), and the arbitrage
    diagnostics: butterfly density g(k) >= 0, no calendar crossings, call prices monotone and
    convex on the strikes.
    """
    from invrisk.data.chains import load_deribit_chain
    from invrisk.surface import REJECTION_REASONS, arbitrage_report, fit_surface, smile_quotes

    if model not in ("svi", "ssvi", "essvi"):
        raise typer.BadParameter("expected svi, ssvi or essvi", param_hint="--model")
    if target not in ("mark", "mid"):
        raise typer.BadParameter("expected mark or mid", param_hint="--target")
    try:
        val_ns = to_ns(valuation_time) if valuation_time else None
        t0 = time.perf_counter()
        if at is not None:
            from invrisk.data.tardis_options import load_tardis_options_chain

            loaded = load_tardis_options_chain(path, at_ns=to_ns(at))
        else:
            loaded = load_deribit_chain(path, valuation_ns=val_ns)
        fitted = fit_surface(loaded, model=model, currency=currency, target=target)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - t0
        diagnostics = arbitrage_report(fitted)
        if plot is not None:
            from invrisk.report.surface_plot import write_surface_report

            quotes, _ = smile_quotes(loaded.for_currency(fitted.currency), target=target)  # type: ignore[arg-type]
            write_surface_report(plot, fitted, quotes=quotes, report=diagnostics)
    except InvriskError as exc:
        raise _fail(exc) from exc
    summary = fitted.summary()
    summary["fit_seconds"] = round(elapsed, 4)
    summary["arbitrage"] = diagnostics.as_dict()
    if plot is not None:
        summary["plot"] = str(plot)
    if as_json:
        print_json(summary)
        return
    table = Table(
        title=f"{path.name}: {fitted.currency} {fitted.model.upper()} surface at "
        f"{summary['valuation']} ({len(fitted.slices)} expiries, {elapsed:.3f} s)"
    )
    for col in (
        "expiry",
        "days",
        "forward",
        "quotes",
        "rejected",
        "a",
        "b",
        "rho",
        "m",
        "sigma",
        "RMSE pts",
        "max pts",
        "g_min",
    ):
        table.add_column(col, justify="left" if col in ("expiry", "rejected") else "right")
    for s in fitted.slices:
        p = s.params
        table.add_row(
            ns_to_iso(s.expiry_ns)[:10],
            f"{s.t_yr * 365.0:.2f}",
            f"{s.forward_usd:,.1f}",
            str(s.n_quotes),
            str(sum(s.rejected.values())),
            f"{p.a:.5f}",
            f"{p.b:.5f}",
            f"{p.rho:+.3f}",
            f"{p.m:+.4f}",
            f"{p.sigma:.4f}",
            f"{s.rmse_vol_pts:.3f}",
            f"{s.max_abs_err_vol_pts:.3f}",
            f"{s.g_min:.2e}",
        )
    console.print(table)
    totals: dict[str, int] = {}
    for s in fitted.slices:
        for reason, count in s.rejected.items():
            totals[reason] = totals.get(reason, 0) + count
    console.print(
        "Rejected quotes: "
        + (", ".join(f"{REJECTION_REASONS[r]} ({n})" for r, n in sorted(totals.items())) or "none")
    )
    if fitted.model == "ssvi":
        console.print(f"SSVI (power law): {fitted.ssvi_params}")
    for label, why in fitted.skipped_expiries.items():
        console.print(f"[yellow]skipped {label}[/]: {why}")
    verdict = "[green]yes[/]" if diagnostics.arbitrage_free else "[red]no[/]"
    console.print(
        f"Arbitrage free: {verdict} (butterfly {diagnostics.butterfly_free}, calendar "
        f"{diagnostics.calendar_free}, call prices {diagnostics.call_prices_free})"
    )
    if plot is not None:
        console.print(f"Report written to {plot}")


@app.command()
def simulate(
    model: Annotated[
        str, typer.Option(help="as: Avellaneda-Stoikov; glft: Guéant closed form (ξ = γ).")
    ] = "as",
    gamma: Annotated[float, typer.Option(help="Risk aversion γ, per price unit x quantity.")] = 0.1,
    sigma: Annotated[float, typer.Option(help="Mid volatility, price per sqrt(second).")] = 2.0,
    a: Annotated[float, typer.Option("--A", help="Fill intensity A, per second.")] = 140.0,
    k: Annotated[float, typer.Option(help="Intensity decay k, per price unit.")] = 1.5,
    horizon_s: Annotated[float, typer.Option(help="Horizon T, seconds.")] = 1.0,
    dt_s: Annotated[float, typer.Option(help="Time step, seconds.")] = 0.005,
    s0: Annotated[float, typer.Option(help="Initial mid, price units.")] = 100.0,
    q_max: Annotated[int, typer.Option(help="Inventory bound for glft.")] = 50,
    paths: Annotated[int, typer.Option(help="Monte Carlo paths.", min=1)] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Monte Carlo of the Avellaneda–Stoikov (2008) setting: a strategy against the symmetric one.

    Binomial mid ±σ√dt, fills with probability A·exp(−kδ)·dt per side and step. Defaults are the
    paper's Section 3.3 (s0 = 100, T = 1, σ = 2, dt = 0.005, A = 140, k = 1.5). The symmetric
    strategy quotes the paper's reported spread (2/γ)ln(1 + γ/k) around the mid. Prints the
    paper-style table: mean and std of terminal profit and of final inventory, average spread.
    """

    from invrisk.quoting import (
        AvellanedaStoikov,
        gueant_closed_form_strategy,
        inventory_strategy,
        symmetric_strategy,
    )
    from invrisk.quoting import simulate as run_simulation

    if model not in ("as", "glft"):
        raise typer.BadParameter("expected as or glft", param_hint="--model")
    common: dict[str, Any] = {
        "n_paths": paths,
        "s0": s0,
        "sigma_per_sqrt_s": sigma,
        "A_per_s": a,
        "k_per_price": k,
        "horizon_s": horizon_s,
        "dt_s": dt_s,
        "seed": seed,
    }
    try:
        if model == "as":
            strategy = inventory_strategy(
                AvellanedaStoikov(sigma=sigma, gamma=gamma, k=k, t_end_ns=round(horizon_s * 1e9))
            )
        else:
            strategy = gueant_closed_form_strategy(
                sigma=sigma, gamma=gamma, A=a, k=k, q_max=q_max, xi=gamma, mu=0.0
            )
        ours = run_simulation(strategy, **common).table()
        reported = (2.0 / gamma) * math.log1p(gamma / k)
        sym = run_simulation(symmetric_strategy(reported), **common).table()
    except InvriskError as exc:
        raise _fail(exc) from exc
    out = {"model": model, "gamma": gamma, "paths": paths, "strategy": ours, "symmetric": sym}
    if as_json:
        print_json(out)
        return
    table = Table(title=f"{model.upper()} vs symmetric, γ = {gamma}, {paths} paths (seed {seed})")
    for col in ("strategy", "spread", "profit mean", "profit std", "final q mean", "final q std"):
        table.add_column(col, justify="right")
    for name, row in (("inventory (" + model + ")", ours), ("symmetric", sym)):
        table.add_row(
            name,
            f"{row['spread']:.3f}",
            f"{row['profit_mean']:.2f}",
            f"{row['profit_std']:.2f}",
            f"{row['q_mean']:.3f}",
            f"{row['q_std']:.2f}",
        )
    console.print(table)


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    n_speed: Annotated[
        int, typer.Option(help="Random options in the speed check.", min=1_000)
    ] = 1_000_000,
    plot: Annotated[
        Path | None,
        typer.Option(help="HTML report of the fitted surface (--no-plot: none)."),
    ] = Path("invrisk-demo-surface.html"),
    no_plot: Annotated[bool, typer.Option("--no-plot", help="Do not write the reports.")] = False,
    backtest_report: Annotated[Path, typer.Option(help="HTML report of the GLFT backtest.")] = Path(
        "invrisk-demo-backtest.html"
    ),
    risk_report: Annotated[
        Path, typer.Option(help="HTML risk report of the sample option book.")
    ] = Path("invrisk-demo-risk.html"),
    paper_journal: Annotated[
        Path, typer.Option(help="Journal of the one-minute paper run (SQLite).")
    ] = Path("invrisk-demo-paper.sqlite"),
) -> None:
    """Synthetic BTC chain and market: price, invert, fit the surface, calibrate, backtest,
    assess and hedge an option book.

    Needs no data files. Times price+Greeks and implied vol on a million random options, fits
    the volatility surface (per-expiry SVI and global eSSVI, checked for arbitrage), calibrates
    σ, A and k on a synthetic market, backtests a GLFT market maker on the synthetic BTCUSDT
    perpetual, assesses a sample option book (Greeks, scenarios, VaR, limits) and finds the
    cheapest hedge inside its limits, and writes the HTML reports.
    """
    from invrisk.demo import run_demo

    with console.status("pricing, fitting, calibrating and backtesting on synthetic data..."):
        summary = run_demo(
            n_speed=n_speed,
            plot_path=None if no_plot else plot,
            backtest_report=None if no_plot else backtest_report,
            risk_report=None if no_plot else risk_report,
            paper_journal=None if no_plot else paper_journal,
        )
    if as_json:
        print_json(summary)
        return
    c = summary["chain"]
    console.print(
        f"[bold]Synthetic BTC chain[/] at {c['valuation']}: {c['options']} options, "
        f"{c['expiries']} expiries, index {c['index_usd']:,.0f} USD"
    )
    table = Table(title="Per expiry (Greeks at the mark, one long contract each)")
    for col in ("expiry", "days", "forward USD", "options", "ATM IV %", "vega USD/vol pt"):
        table.add_column(col, justify="right")
    for e in summary["per_expiry"]:
        table.add_row(
            e["expiry"],
            f"{e['days']:.2f}",
            f"{e['forward_usd']:,.2f}",
            str(e["options"]),
            f"{e['atm_iv_pct']:.2f}",
            f"{e['vega_usd_per_vol_pt']:,.2f}",
        )
    console.print(table)
    rt = summary["round_trip"]
    console.print(
        f"IV round trip on the marks: max |IV - smile| = {rt['mark_iv_max_abs_err']:.2e} "
        f"(statuses: {rt['mark_status']})"
    )
    tot = summary["chain_totals_one_contract_each"]
    console.print(
        f"Chain totals: delta {tot['delta']:.3f}, premium-adjusted delta "
        f"{tot['delta_premium_adjusted']:.3f}, vega {tot['vega_usd_per_vol_pt']:,.0f} USD/vol pt, "
        f"theta {tot['theta_usd_per_day']:,.0f} USD/day"
    )
    qd = summary["quoting"]
    cal = qd["calibrated"]
    console.print(
        f"[bold]Calibration on a synthetic market[/] (true σ 2.0 USD/√s, A 20 /s, k 5 /USD): "
        f"σ {cal['sigma_price_per_sqrt_s']:.3f} ± {cal['sigma_se']:.3f}, "
        f"A {cal['A_per_s']:.2f} ± {cal['A_se']:.2f}, "
        f"k {cal['k_per_price']:.3f} ± {cal['k_se']:.3f}"
    )
    qt = Table(title=f"Quotes over inventory ({qd['model']}, γ = {qd['gamma']})")
    for col in ("q", "bid depth USD", "ask depth USD"):
        qt.add_column(col, justify="right")
    for row in qd["quotes_over_inventory"]:
        qt.add_row(str(row["q"]), f"{row['bid_depth']:.4f}", f"{row['ask_depth']:.4f}")
    console.print(qt)
    bt = summary["backtest"]
    cal_bt = bt["calibrated"] or {}
    console.print(
        f"[bold]GLFT backtest[/] on {bt['events']:,} synthetic BTCUSDT events "
        f"({bt['simulated_s']:,.0f} s simulated) in {bt['wall_s']:.2f} s "
        f"({bt['events_per_s'] / 1e6:.2f} M events/s, after a {bt['warmup_s']:.2f} s warm-up "
        f"run that loads or compiles the kernels): {bt['fills']} fills, PnL "
        f"{bt['pnl_usdt']:,.2f} USDT (spread capture {bt['pnl_spread']:,.2f}, inventory "
        f"{bt['pnl_inventory']:,.2f}, fees paid {bt['fees_usdt']:,.2f}: negative = rebates); "
        f"max |q| {bt['max_abs_inventory_btc']:.3f} BTC; calibrated A "
        f"{cal_bt.get('A_per_s', math.nan):.1f} /s (true {bt['true']['A_per_s']:.0f}), k "
        f"{cal_bt.get('k_per_price', math.nan):.2f} /USDT (true {bt['true']['k_per_price']:.0f})"
    )
    if bt["report"]:
        console.print(f"Backtest report: {bt['report']}")
    su = summary["surface"]
    console.print(
        f"Surface: per-expiry SVI in {su['svi_fit_s'] * 1e3:.0f} ms (max RMSE "
        f"{su['svi_max_rmse_vol_pts']:.4f} vol pts, arbitrage free: {su['svi_arbitrage_free']}), "
        f"global eSSVI in {su['essvi_fit_s'] * 1e3:.0f} ms (median RMSE "
        f"{su['essvi_median_rmse_vol_pts']:.3f}, arbitrage free: {su['essvi_arbitrage_free']})"
    )
    if su["plot"]:
        console.print(f"Surface report: {su['plot']}")
    rk = summary["risk"]
    hedge = rk["hedge"]
    trades = ", ".join(f"{t['contracts']:+g} {t['instrument']}" for t in hedge["trades"])
    console.print(
        f"[bold]Option book risk[/]: delta {rk['delta_coin']:+.2f} BTC, vega "
        f"{rk['vega_usd']:,.0f} USD/vol, cash gamma {rk['cash_gamma_usd']:,.0f} USD, worst grid "
        f"P&L {rk['grid_worst_pnl_usd']:,.0f} USD, VaR 99% {rk['var_99_usd']:,.0f} USD; "
        f"limits breached: {', '.join(rk['breaches']) or 'none'}"
    )
    console.print(
        f"[bold]Cheapest hedge[/] from {hedge['candidates']} candidates: {trades} "
        f"(cost {hedge['cost_usd']:,.0f} USD; after: "
        + ", ".join(f"{k} {v:,.2f}" for k, v in hedge["exposure_after"].items())
        + ")"
    )
    vn = rk["venues"]
    console.print(
        "[bold]Venues[/]: loss if one fails now "
        + ", ".join(f"{k} {v:,.0f} USD" for k, v in vn["loss_if_fails_usd"].items())
        + "; expected loss over a year "
        + ", ".join(f"{k} {v:,.0f} USD" for k, v in vn["expected_loss_usd_per_year"].items())
        + f"; USDC de-peg of -12.5%: {vn['usdc_depeg_loss_usd']:,.0f} USD"
    )
    if rk["report"]:
        console.print(f"Risk report: {rk['report']}")
    pp = summary["paper"]
    console.print(
        f"[bold]Paper run[/]: {pp['feed_s']:.0f} s of replayed synthetic BTCUSDT feed in "
        f"{pp['wall_s']:.1f} s: {pp['decisions']:,} decisions, {pp['orders_sent']:,} orders, "
        f"{pp['fills']:,} fills, position {pp['position_btc']:+.3f} BTC, cash "
        f"{pp['cash_usdt']:,.2f} USDT, risk state {pp['state']}; the journal's "
        f"{pp['journal_fills']:,} fills give position {pp['journal_position_btc']:+.3f} BTC"
        + (
            f" (journal: {pp['journal']}; see invrisk journal {pp['journal']})"
            if pp["journal"]
            else ""
        )
    )
    sp = summary["speed"]
    console.print(
        f"Speed on {sp['options']:,} random options (best of 3): price+8 Greeks "
        f"{sp['greeks_options_per_s'] / 1e6:.1f} M/s, implied vol "
        f"{sp['iv_options_per_s'] / 1e6:.1f} M/s (max error {sp['iv_max_abs_err_well_posed']:.1e} "
        f"where well posed, {sp['well_posed_share']:.1%} of options)"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
