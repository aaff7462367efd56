"""``invrisk lp``: a Uniswap v2/v3 liquidity position, its risk, and its backtest on pool data.

No business logic: parse the options, call :func:`invrisk.amm.lp_position_summary` and, with
``--history``, :func:`invrisk.data.read_uniswap_pool_hours` and
:func:`invrisk.hedging.lp_backtest.backtest_lp`; print tables (or ``--json``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console

__all__ = ["parse_range", "register"]

console = stdout_console()
err_console = Console(stderr=True)

_POOL_SPECS = ("usdc-weth-5bp", "usdc-weth-30bp")


def parse_range(text: str) -> tuple[float, float]:
    """``"LO:HI"`` -> (LO, HI), 0 <= LO < HI, HI may be ``inf`` (errors name ``--range``)."""
    from invrisk.errors import InvalidArgumentError

    lo_text, sep, hi_text = text.partition(":")
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        lo = hi = math.nan
    if not sep or math.isnan(lo) or math.isnan(hi) or math.isinf(lo):
        raise InvalidArgumentError("--range", text, "LO:HI, two prices such as 3000:5000")
    if lo < 0:
        raise InvalidArgumentError("--range", text, "a lower price >= 0")
    if not lo < hi:
        raise InvalidArgumentError("--range", text, "LO < HI (a non-empty range, not inverted)")
    return lo, hi


def lp(
    pool: Annotated[
        str, typer.Option("--pool", help="v3 (concentrated, needs --range) or v2 (full range).")
    ] = "v3",
    price_range: Annotated[
        str | None,
        typer.Option("--range", help="Price range LO:HI, quote per risky (e.g. 3000:5000)."),
    ] = None,
    liquidity: Annotated[
        float,
        typer.Option(help="Liquidity L, sqrt(risky x quote) human units (>= 0)."),
    ] = math.nan,
    price: Annotated[
        float | None,
        typer.Option(help="Price, quote per risky (default: the history's first close)."),
    ] = None,
    sigma: Annotated[
        float | None,
        typer.Option(help="Volatility, annualised decimal (default: realized from --history)."),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(help="Pool history (The Graph poolHourDatas CSV, or its directory)."),
    ] = None,
    pool_spec: Annotated[
        str, typer.Option(help="Token order/decimals/fee of the history: " + ", ".join(_POOL_SPECS))
    ] = "usdc-weth-5bp",
    hedge: Annotated[
        str, typer.Option(help="Backtest hedge: none, delta (every hour) or band:B (B x value).")
    ] = "none",
    cost_bps: Annotated[
        float, typer.Option(help="Cost of a hedge trade, bp of notional (taker fee + spread).")
    ] = 5.0,
    funding_rate: Annotated[
        float,
        typer.Option(help="Assumed perpetual funding rate per year (positive: longs pay)."),
    ] = 0.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
) -> None:
    """Amounts, value, delta and gamma of a liquidity position, its impermanent loss after
    price moves, its LVR rate and the fee APR that breaks even; with --history, the backtest
    of the position hedged with a perpetual (or not) on the pool's hourly data. Values in the
    quote token (USDC), delta in the risky token (ETH).
    """
    from invrisk.amm import USDC_WETH_005, USDC_WETH_030, lp_position_summary
    from invrisk.errors import InvalidArgumentError, InvriskError
    from invrisk.hedging.lp_backtest import backtest_lp, parse_hedge

    try:
        lo, hi = _range(pool, price_range)
        if not (math.isfinite(liquidity) and liquidity >= 0):
            raise InvalidArgumentError("--liquidity", liquidity, "a liquidity >= 0 (required)")
        if pool_spec not in _POOL_SPECS:
            raise InvalidArgumentError("--pool-spec", pool_spec, f"one of {list(_POOL_SPECS)}")
        if sigma is not None and not (math.isfinite(sigma) and sigma >= 0):
            raise InvalidArgumentError("--sigma", sigma, "an annualised volatility >= 0")
        if not (math.isfinite(cost_bps) and cost_bps >= 0):
            raise InvalidArgumentError("--cost-bps", cost_bps, "a cost >= 0 bp")
        if not math.isfinite(funding_rate):
            raise InvalidArgumentError("--funding-rate", funding_rate, "a finite rate per year")
        try:
            mode = parse_hedge(hedge)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(
                "--hedge", hedge, "none, delta or band:B with B > 0"
            ) from exc
        hist = None
        if history is not None:
            from invrisk.data import read_uniswap_pool_hours

            spec = USDC_WETH_005 if pool_spec == "usdc-weth-5bp" else USDC_WETH_030
            hist = read_uniswap_pool_hours(history, pool=spec)
        if price is None:
            if hist is None:
                raise InvalidArgumentError("--price", None, "a price > 0 (or --history)")
            price_now = float(hist.close[0])
        elif not (math.isfinite(price) and price > 0):
            raise InvalidArgumentError("--price", price, "a price > 0")
        else:
            price_now = price
        result = None
        if hist is not None:
            result = backtest_lp(
                hist,
                price_lower=lo,
                price_upper=hi,
                liquidity=liquidity,
                hedge=mode,
                cost_bps=cost_bps,
                funding_rate_per_yr=funding_rate,
                vol=sigma,
            )
        vol = sigma if sigma is not None else (None if result is None else result.summary.vol)
        summary = lp_position_summary(
            liquidity=liquidity, price=price_now, price_lower=lo, price_upper=hi, vol=vol
        )
    except (InvriskError, OSError) as exc:
        raise fail(err_console, str(exc)) from exc
    if json_out:
        doc: dict[str, Any] = {"pool": pool, "position": summary.as_dict()}
        if result is not None:
            doc["backtest"] = result.summary.as_dict()
            doc["backtest"]["source"] = str(history)
            doc["backtest"]["assumptions"] = _ASSUMPTIONS
        print_json(doc)
        return
    _print_position(pool, summary)
    if result is not None:
        _print_backtest(result.summary)


_ASSUMPTIONS = (
    "perpetual trades at the pool's hourly close (no basis); funding is a constant user-set rate; "
    "fees collected hourly, converted to the quote token at the close; fees inside the range "
    "estimated from global fee growth and the hour's open/high/low/close path; no gas, no exit "
    "cost for the hedge"
)


def _range(pool: str, text: str | None) -> tuple[float, float]:
    from invrisk.errors import InvalidArgumentError

    version: Literal["v2", "v3"]
    if pool == "v2":
        version = "v2"
    elif pool == "v3":
        version = "v3"
    else:
        raise InvalidArgumentError("--pool", pool, "'v2' or 'v3'")
    if version == "v2":
        if text is not None and parse_range(text) != (0.0, math.inf):
            raise InvalidArgumentError("--range", text, "none for --pool v2 (the full range)")
        return 0.0, math.inf
    if text is None:
        raise InvalidArgumentError("--range", None, "LO:HI for --pool v3 (e.g. 3000:5000)")
    return parse_range(text)


def _print_position(pool: str, s: Any) -> None:
    t = Table(title=f"LP position ({pool}), quote units unless stated")
    t.add_column("field")
    t.add_column("value", justify="right")
    rows = [
        ("range", f"[{s.price_lower:g}, {s.price_upper:g}]"),
        ("liquidity L", f"{s.liquidity:,.6g}"),
        ("price", f"{s.price:,.4f}" + ("" if s.in_range else " (out of range)")),
        ("risky held (= delta, coin)", f"{s.risky_qty:,.6f}"),
        ("quote held", f"{s.quote_qty:,.2f}"),
        ("value", f"{s.value_quote:,.2f}"),
        ("gamma (coin per quote)", f"{s.gamma_qty_per_quote:.6g}"),
        ("cash gamma (gamma P^2)", f"{s.cash_gamma_quote:,.2f}"),
    ]
    if s.lvr_quote_per_yr is not None:
        rows += [
            ("sigma (annualised)", f"{s.vol:.4f}"),
            ("LVR per year", f"{s.lvr_quote_per_yr:,.2f}"),
            ("LVR per day", f"{s.lvr_quote_per_day:,.2f}"),
            ("break-even fee APR", f"{100 * s.break_even_fee_apr:.3f}%"),
        ]
    for k, v in rows:
        t.add_row(k, v)
    console.print(t)
    il = Table(title="Impermanent loss against holding the current tokens")
    il.add_column("price move", justify="right")
    il.add_column("IL", justify="right")
    il.add_column("IL (quote)", justify="right")
    for m, frac, q in zip(s.moves, s.impermanent_loss, s.impermanent_loss_quote, strict=True):
        il.add_row(f"{100 * m:+.0f}%", f"{100 * frac:.3f}%", f"{q:,.2f}")
    console.print(il)


def _print_backtest(s: Any) -> None:
    from invrisk.units import ns_to_iso

    t = Table(title=f"Backtest {ns_to_iso(s.start_ns)} .. {ns_to_iso(s.end_ns)} ({s.periods} h)")
    t.add_column("item")
    t.add_column("quote units", justify="right")
    rows = [
        ("hold P&L (deposit held)", s.hold_pnl_quote),
        ("impermanent loss", s.impermanent_loss_quote),
        ("LP price P&L", s.lp_price_pnl_quote),
        ("fees", s.fees_quote),
        (f"hedge P&L ({s.hedge})", s.hedge_pnl_quote),
        (f"funding ({s.funding_rate_per_yr:g}/yr, assumed)", s.funding_quote),
        (f"costs ({s.cost_bps:g} bp)", -s.costs_quote),
        ("total", s.total_pnl_quote),
        ("unhedged total", s.unhedged_pnl_quote),
        ("realized LVR", s.realized_lvr_quote),
        (f"expected LVR (sigma {s.vol:.3f})", s.expected_lvr_quote),
        ("std of hourly P&L, unhedged", s.std_period_pnl_unhedged_quote),
        ("std of hourly P&L, hedged", s.std_period_pnl_hedged_quote),
    ]
    for k, v in rows:
        t.add_row(k, f"{v:,.2f}")
    console.print(t)
    console.print(
        f"hours in range {s.periods_in_range}/{s.periods}, with fees {s.periods_with_fees}; "
        f"fee APR {100 * s.fee_apr:.2f}%; hedge trades {s.hedge_trades} "
        f"({s.hedge_traded_qty:,.4f} coin traded)"
    )
    console.print(f"assumptions: {_ASSUMPTIONS}")


def register(app: typer.Typer) -> None:
    """Add ``lp`` to ``app``."""
    app.command("lp")(lp)
