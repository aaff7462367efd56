"""``invrisk quote`` and ``invrisk calibrate``: market-making quotes and their inputs.

No maths here: the quotes come from :mod:`invrisk.quoting` (the depth functions themselves),
the calibration from :func:`~invrisk.quoting.calibrate.calibrate_sigma` and
:func:`~invrisk.quoting.calibrate.calibrate_intensity` on mids rebuilt with
:class:`~invrisk.market.book.L2Book`. :func:`register` adds both commands to a typer app.

Units (the quoting modules' convention): prices in price units (USD for BTCUSDT), time in
seconds, σ in price units per √s, A per second, k per price unit, γ and ξ per
(price unit × quantity), inventory and Δ in base-asset quantity.

Tick rounding of ``quote --tick``: the bid is rounded *down* and the ask *up* to the tick grid
(outward: a rounded quote is never more aggressive than the model's). A price already on the
grid (within 1e-9 tick) stays where it is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from invrisk._cli_common import fail, print_json, stdout_console
from invrisk.errors import InvalidArgumentError, InvriskError

__all__ = ["calibrate", "quote", "register"]

Model = Literal["as", "glft", "glft-approx", "cj"]
_MODELS: tuple[str, ...] = ("as", "glft", "glft-approx", "cj")
_NS_PER_S = 1_000_000_000
_NS_PER_MS = 1_000_000
_ON_GRID_TOL = 1e-9  # ticks

console = stdout_console()
err_console = Console(stderr=True)

# Library argument names -> the options that set them (errors name the option).
_OPTION_OF = {
    "sigma": "--sigma",
    "gamma": "--gamma",
    "A": "--A",
    "k": "--k",
    "xi": "--xi",
    "mu": "--mu",
    "q_max": "--q-max",
    "q": "--inventory",
    "tau_s": "--horizon-s",
    "trade_qty": "--trade-qty",
    "terminal_penalty": "--terminal-penalty",
    "phi": "--phi",
    "lambda_bid": "--A",
    "lambda_ask": "--A",
    "mid": "--mid",
    "tick": "--tick",
    "interval_ns": "--interval-ms",
    "sigma_interval_ns": "--sigma-interval-s",
    "max_depth_ticks": "--max-depth-ticks",
    "tick_size": "--tick-size",
}


def _fail(exc: Exception) -> typer.Exit:
    """Print the error (naming the option for a bad argument) and exit with code 2."""
    message = str(exc)
    if isinstance(exc, InvalidArgumentError) and exc.argument in _OPTION_OF:
        message = f"invalid value for {_OPTION_OF[exc.argument]}: {message}"
    return fail(err_console, message, highlight=False, soft_wrap=True)


def _num(value: Any) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.10g}"


# -- quote -------------------------------------------------------------------------------------


def _to_tick(price: float, tick: float, direction: Literal["down", "up"]) -> tuple[int, float]:
    """``(n, n·tick)`` with ``n`` the tick index of ``price`` rounded ``direction``."""
    x = price / tick
    n = round(x)
    if abs(x - n) > _ON_GRID_TOL * max(1.0, abs(x)):
        n = math.floor(x) if direction == "down" else math.ceil(x)
    return int(n), float(Decimal(int(n)) * Decimal(repr(tick)))


def _inventory_grid(q_max: float, trade_qty: float) -> list[float]:
    """``-Q, -Q+Δ, ..., Q`` (Q a positive multiple of Δ)."""
    n = round(q_max / trade_qty)
    if n < 1 or abs(n * trade_qty - q_max) > 1e-9 * q_max:
        raise InvalidArgumentError("q_max", q_max, f"a positive multiple of trade_qty={trade_qty}")
    return [j * trade_qty for j in range(-n, n + 1)]


def _require(value: float | None, option: str, model: str) -> float:
    if value is None:
        raise typer.BadParameter(f"required for --model {model}", param_hint=option)
    return value


def _depth_function(
    model: str,
    *,
    sigma: float,
    gamma: float,
    A: float | None,
    k: float,
    xi: float | None,
    mu: float,
    q_max: float | None,
    horizon_s: float | None,
    trade_qty: float,
    terminal_penalty: float,
    phi: float | None,
) -> Any:
    """A function ``q -> (bid_depth, ask_depth, bid_quoted, ask_quoted)`` for ``model``.

    Each model's library function is called as is (validation and errors are the library's);
    this only applies the inventory bound of the bounded models.
    """
    from invrisk.quoting import avellaneda_stoikov_depths, gueant_closed_form_depths
    from invrisk.quoting.base import check_finite
    from invrisk.quoting.glft import cjp_depths, solve_gueant

    if model == "as":
        tau = _require(horizon_s, "--horizon-s", model)

        def as_depths(q: float) -> tuple[float, float, bool, bool]:
            if q_max is not None and not abs(check_finite("q", q)) <= q_max:
                raise InvalidArgumentError("q", q, f"|q| <= q_max={q_max}")
            b, a = avellaneda_stoikov_depths(q=q, tau_s=tau, sigma=sigma, gamma=gamma, k=k)
            return b, a, True, True

        as_depths(0.0)  # validate the parameters once, before any output
        return as_depths
    a_rate = _require(A, "--A", model)
    bound = _require(q_max, "--q-max", model)
    if model == "glft":
        sol = solve_gueant(
            sigma=sigma,
            gamma=gamma,
            A=a_rate,
            k=k,
            q_max=bound,
            xi=xi,
            mu=mu,
            trade_qty=trade_qty,
            terminal_penalty=terminal_penalty,
        )
        return lambda q: sol.depths(q=q, tau_s=horizon_s)
    if model == "glft-approx":
        if bound <= 0 or not math.isfinite(bound):
            raise InvalidArgumentError("q_max", bound, "a finite number > 0")

        def approx_depths(q: float) -> tuple[float, float, bool, bool]:
            b, a = gueant_closed_form_depths(
                q=q, sigma=sigma, gamma=gamma, A=a_rate, k=k, xi=xi, mu=mu, trade_qty=trade_qty
            )
            if not abs(q) <= bound:
                raise InvalidArgumentError("q", q, f"|q| <= q_max={bound}")
            bid_ok, ask_ok = q < bound, q > -bound
            return (b if bid_ok else math.nan), (a if ask_ok else math.nan), bid_ok, ask_ok

        approx_depths(0.0)
        return approx_depths
    # cj: Cartea–Jaimungal–Penalva on unit steps, φ = γσ²/2 (Guéant model B), λ± = A.
    tau = _require(horizon_s, "--horizon-s", model)
    if trade_qty != 1.0:
        raise InvalidArgumentError("trade_qty", trade_qty, "1 for --model cj (unit steps)")
    running = phi if phi is not None else 0.5 * gamma * sigma * sigma
    bid, ask = cjp_depths(
        tau_s=tau,
        phi=running,
        terminal_penalty=terminal_penalty,
        k=k,
        lambda_bid=a_rate,
        lambda_ask=a_rate,
        q_max=int(bound) if float(bound).is_integer() else bound,  # type: ignore[arg-type]
    )
    n = int(bound)

    def cj_depths(q: float) -> tuple[float, float, bool, bool]:
        qf = check_finite("q", q)
        if not qf.is_integer() or abs(qf) > n:
            raise InvalidArgumentError("q", q, f"an integer with |q| <= q_max={n}")
        j = int(qf) + n
        return float(bid[j]), float(ask[j]), j < 2 * n, j > 0

    return cj_depths


def _quote_row(
    depths: Any, q: float, mid: float | None, tick: float | None
) -> dict[str, float | int | bool | None]:
    bid_d, ask_d, bid_ok, ask_ok = depths(q)
    row: dict[str, float | int | bool | None] = {
        "inventory": q,
        "bid_depth": bid_d,
        "ask_depth": ask_d,
        "bid_quoted": bool(bid_ok),
        "ask_quoted": bool(ask_ok),
        "spread": bid_d + ask_d,
    }
    if mid is not None:
        row["bid"] = mid - bid_d if bid_ok else math.nan
        row["ask"] = mid + ask_d if ask_ok else math.nan
    if mid is not None and tick is not None:
        bid_n, bid_px = _to_tick(mid - bid_d, tick, "down") if bid_ok else (None, math.nan)
        ask_n, ask_px = _to_tick(mid + ask_d, tick, "up") if ask_ok else (None, math.nan)
        row.update(
            bid_on_tick=bid_px,
            ask_on_tick=ask_px,
            bid_tick=bid_n,
            ask_tick=ask_n,
            bid_depth_on_tick=mid - bid_px,
            ask_depth_on_tick=ask_px - mid,
        )
    return row


_MODEL_HELP = (
    "as: Avellaneda–Stoikov (2008), needs --horizon-s; glft: Guéant (2017)/GLFT exact with "
    "bound --q-max, finite --horizon-s or infinite (omitted); glft-approx: Guéant (2017) "
    "closed form eqs. 4.6–4.9; cj: Cartea–Jaimungal–Penalva (2015) ch. 10, φ = γσ²/2, λ± = A."
)


def quote(
    model: Annotated[str, typer.Option(help=_MODEL_HELP)],
    sigma: Annotated[float, typer.Option(help="Mid volatility σ, price units per √second (>= 0).")],
    gamma: Annotated[float, typer.Option(help="Risk aversion γ, per (price unit × qty) (> 0).")],
    k: Annotated[
        float, typer.Option("--k", help="Intensity decay k of A·exp(−k·δ), per price unit (> 0).")
    ],
    inventory: Annotated[
        float, typer.Option(help="Inventory q, base-asset quantity, long positive.")
    ],
    A: Annotated[
        float | None,
        typer.Option("--A", help="Intensity A of A·exp(−k·δ), orders per second (> 0)."),
    ] = None,
    xi: Annotated[
        float | None,
        typer.Option(help="ξ, per (price unit × qty) (>= 0; default γ, 0 = model B)."),
    ] = None,
    mu: Annotated[float, typer.Option(help="Drift μ of the mid, price units per second.")] = 0.0,
    q_max: Annotated[
        float | None, typer.Option(help="Inventory bound Q, qty (multiple of --trade-qty).")
    ] = None,
    horizon_s: Annotated[
        float | None, typer.Option(help="Time to the horizon T − t, seconds (>= 0).")
    ] = None,
    trade_qty: Annotated[float, typer.Option(help="Order size Δ, qty (> 0).")] = 1.0,
    terminal_penalty: Annotated[
        float,
        typer.Option(help="Terminal penalty α of ℓ(q) = α q², price units per qty² (>= 0)."),
    ] = 0.0,
    phi: Annotated[
        float | None,
        typer.Option(help="cj only: running penalty φ, price units per qty² per s (γσ²/2)."),
    ] = None,
    mid: Annotated[
        float | None, typer.Option(help="Reference (mid) price, price units: prints prices.")
    ] = None,
    tick: Annotated[
        float | None,
        typer.Option(help="Tick size, price units (> 0; needs --mid): bid down, ask up."),
    ] = None,
    table: Annotated[
        bool, typer.Option("--table", help="Quotes at every inventory −Q..Q (step Δ).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Optimal bid/ask depths (and prices) of a market maker holding an inventory.

    Depths are distances from the mid, price units (bid = mid − bid depth, ask = mid + ask
    depth). A side is not quoted when the inventory is at its bound (no bid at +Q, no ask at
    −Q). With --tick the prices are rounded outward to the grid: bid down, ask up.
    """
    if model not in _MODELS:
        raise typer.BadParameter(f"expected one of {', '.join(_MODELS)}", param_hint="--model")
    try:
        if mid is not None and not math.isfinite(mid):
            raise InvalidArgumentError("mid", mid, "a finite price")
        if tick is not None:
            if not (math.isfinite(tick) and tick > 0):
                raise InvalidArgumentError("tick", tick, "a finite number > 0")
            if mid is None:
                raise typer.BadParameter(
                    "rounding to the tick grid needs --mid", param_hint="--tick"
                )
        if horizon_s is not None and not (math.isfinite(horizon_s) and horizon_s >= 0):
            raise InvalidArgumentError("tau_s", horizon_s, "a finite number of seconds >= 0")
        depths = _depth_function(
            model,
            sigma=sigma,
            gamma=gamma,
            A=A,
            k=k,
            xi=xi,
            mu=mu,
            q_max=q_max,
            horizon_s=horizon_s,
            trade_qty=trade_qty,
            terminal_penalty=terminal_penalty,
            phi=phi,
        )
        row = _quote_row(depths, inventory, mid, tick)
        rows: list[dict[str, Any]] | None = None
        if table:
            bound = _require(q_max, "--q-max", f"{model} with --table")
            rows = [_quote_row(depths, q, mid, tick) for q in _inventory_grid(bound, trade_qty)]
    except InvriskError as exc:
        raise _fail(exc) from exc
    result: dict[str, Any] = {
        "model": model,
        "inputs": {
            "sigma_price_per_sqrt_s": sigma,
            "gamma": gamma,
            "A_per_s": A,
            "k_per_price": k,
            "xi": gamma if xi is None and model in ("glft", "glft-approx") else xi,
            "mu_price_per_s": mu,
            "q_max": q_max,
            "horizon_s": horizon_s,
            "trade_qty": trade_qty,
            "terminal_penalty": terminal_penalty,
            "phi": (0.5 * gamma * sigma * sigma if phi is None else phi) if model == "cj" else None,
            "mid": mid,
            "tick": tick,
        },
        "quote": row,
    }
    if rows is not None:
        result["table"] = rows
    if as_json:
        print_json(result)
        return
    horizon = "infinite" if horizon_s is None else f"{horizon_s:g} s"
    title = f"{model}  q={inventory:g}  horizon {horizon}" + (
        f"  mid={mid}" if mid is not None else ""
    )
    out = Table(title=title)
    cols = ["inventory", "bid_depth", "ask_depth", "spread"]
    if mid is not None:
        cols += ["bid", "ask"]
    if tick is not None:
        cols += ["bid_on_tick", "ask_on_tick"]
    for col in cols:
        out.add_column(col, justify="right")
    for r in rows if rows is not None else [row]:
        out.add_row(
            *(_num(r[c]) for c in cols), style="bold" if r["inventory"] == inventory else None
        )
    console.print(out)
    console.print("depths and prices in price units; '-': side not quoted (inventory at bound)")


# -- calibrate ---------------------------------------------------------------------------------


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """Record DataWarnings (and others) as messages instead of printing or raising them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages: list[str] = []
        yield messages
    messages.extend(str(w.message) for w in caught)


def _tick_from_prices(events: Any) -> float:
    """Tick size of a Tardis file: GCD of its prices at 8 decimals (Tardis gives no tick)."""
    px = events["price"][np.isfinite(events["price"]) & (events["price"] > 0)]
    if px.size == 0:
        raise InvalidArgumentError("tick_size", None, "--tick-size (no price in the files)")
    g = int(np.gcd.reduce(np.rint(np.unique(px) * 1e8).astype(np.int64)))
    return float(Decimal(g).scaleb(-8))


def _merge_local(parts: list[Any]) -> Any:
    """Concatenate event arrays in replay order of ``local_ns``.

    Each file keeps its own order (its ``local_ns`` replaced by the running maximum, so a row
    whose local time goes backwards stays after its predecessors); the files are merged by
    that time, ties in the order given (book before trades).
    """
    fixed = []
    for ev in parts:
        ev = ev.copy()
        ev["local_ns"] = np.maximum.accumulate(ev["local_ns"])
        fixed.append(ev)
    events = np.concatenate(fixed)
    order = np.argsort(events["local_ns"], kind="stable")
    return events[order]


def _load(
    paths: list[Path], tick_size: float | None
) -> tuple[Any, float, dict[str, Any], list[str]]:
    """Events (sorted by ``local_ns``), tick size, a description and the reader's warnings."""
    from invrisk.data.catalog import detect_format

    kinds = {detect_format(p) for p in paths}
    with _collect_warnings() as messages:
        if kinds == {"binance"}:
            from invrisk.data.binance import read_binance_stream

            stream = read_binance_stream(paths, tick_size=tick_size)
            info: dict[str, Any] = {
                "format": "binance",
                "symbol": stream.symbol,
                "market": stream.market,
            }
            events, tick = stream.events, float(stream.tick_size)
        elif kinds == {"tardis"}:
            from invrisk.data.tardis import read_tardis

            datas = [read_tardis(p) for p in paths]
            datas.sort(key=lambda d: d.dataset != "incremental_book_L2")  # book first on ties
            datasets = [d.dataset for d in datas]
            if "incremental_book_L2" not in datasets or "trades" not in datasets:
                raise InvalidArgumentError(
                    "DATA_PATH",
                    datasets,
                    "a Tardis incremental_book_L2 file and a trades file of one symbol",
                )
            events = _merge_local([d.events for d in datas])
            tick = _tick_from_prices(events) if tick_size is None else tick_size
            symbols = sorted({s for d in datas for s in d.symbols})
            info = {"format": "tardis", "exchange": datas[0].exchange, "symbols": symbols}
        else:
            raise InvalidArgumentError(
                "DATA_PATH",
                sorted(kinds),
                "Binance raw stream file(s) or a Tardis book + trades pair (not mixed, no OHLCV)",
            )
    info["tick_size"] = tick
    info["paths"] = [str(p) for p in paths]
    return events, tick, info, messages


def _mids(events: Any, tick: float, interval_ns: int) -> tuple[Any, Any]:
    """Mid ``(best bid + best ask) / 2`` sampled every ``interval_ns`` on the local clock."""
    from invrisk.market.book import L2Book

    t = events["local_ns"]
    start, end = int(t[0]), int(t[-1])
    grid = start + interval_ns * np.arange((end - start) // interval_ns + 1, dtype=np.int64)
    book = L2Book.for_events(events, tick_size=tick)
    samples = book.sample(events, at_ns=grid, n_levels=1)
    bid, ask = samples.bid_price[:, 0], samples.ask_price[:, 0]
    mid = 0.5 * (bid + ask)
    mid[~(bid < ask)] = np.nan  # empty side or crossed book: no reference price
    return grid, mid


def _intensity_dict(fit: Any) -> dict[str, Any]:
    return {
        "A_per_s": fit.a_per_s,
        "A_se_per_s": fit.a_se_per_s,
        "k_per_price": fit.k_per_price,
        "k_se_per_price": fit.k_se_per_price,
        "corr_log_A_k": fit.corr_log_a_k,
        "n_trades": fit.n_trades,
        "n_intervals": fit.n_intervals,
        "exposure_s": fit.exposure_s,
        "status": fit.status,
    }


def calibrate(
    data_path: Annotated[
        list[Path],
        typer.Argument(
            help="A Binance raw stream (.gz; several files of one recording in time order) or "
            "a Tardis incremental_book_L2 + trades file pair.",
        ),
    ],
    interval_ms: Annotated[
        int, typer.Option(help="Counting interval of the intensity fit and mid grid, ms (> 0).")
    ] = 100,
    sigma_interval_s: Annotated[
        float, typer.Option(help="Grid step of the volatility estimate, seconds (> 0).")
    ] = 1.0,
    max_depth_ticks: Annotated[
        int, typer.Option(help="Depth levels of the intensity fit, ticks (>= 2).")
    ] = 50,
    tick_size: Annotated[
        float | None,
        typer.Option(help="Tick size, price units (default: Binance's inferred; Tardis GCD)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Calibrate σ and the fill intensity A·exp(−k·δ) per side from a recorded order book.

    Rebuilds the L2 book, samples the mid every --interval-ms (local clock) and fits:
    σ from the mid on a --sigma-interval-s grid (price units per √s, and annualised log vol,
    ACT/365); A (per s) and k (per price unit) per side by maximum likelihood on the deepest
    trade per interval, depths from the previous mid. Standard errors assume Poisson flow.
    """
    from invrisk.quoting import calibrate_intensity, calibrate_sigma

    try:
        if interval_ms <= 0:
            raise InvalidArgumentError("interval_ns", interval_ms, "a positive number of ms")
        if not (math.isfinite(sigma_interval_s) and sigma_interval_s > 0):
            raise InvalidArgumentError("sigma_interval_ns", sigma_interval_s, "seconds > 0")
        interval_ns = interval_ms * _NS_PER_MS
        sigma_interval_ns = round(sigma_interval_s * _NS_PER_S)
        if sigma_interval_ns < 1:
            raise InvalidArgumentError("sigma_interval_ns", sigma_interval_s, "at least 1 ns")
        events, tick, info, messages = _load(data_path, tick_size)
        mid_ns, mid = _mids(events, tick, interval_ns)
        sig = calibrate_sigma(mid_ns, mid, interval_ns=sigma_interval_ns)
        fits = {
            side: calibrate_intensity(
                events,
                mid_ns=mid_ns,
                mid=mid,
                tick_size=tick,
                interval_ns=interval_ns,
                max_depth_ticks=max_depth_ticks,
                side=side,
                clock="local_ns",
            )
            for side in ("bid", "ask")
        }
    except InvriskError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        raise _fail(InvalidArgumentError("DATA_PATH", str(exc), "a readable file")) from exc
    status = "ok" if all(f.status == "ok" for f in fits.values()) else "not_identified"
    result = {
        "data": info,
        "interval_ms": interval_ms,
        "sigma_interval_s": sigma_interval_s,
        "max_depth_ticks": max_depth_ticks,
        "sigma": {
            "sigma_price_per_sqrt_s": sig.sigma_price_per_sqrt_s,
            "sigma_se_price_per_sqrt_s": sig.sigma_se_price_per_sqrt_s,
            "vol_annualised": sig.vol,
            "vol_se_annualised": sig.vol_se,
            "n_intervals": sig.n_intervals,
        },
        "bid": _intensity_dict(fits["bid"]),
        "ask": _intensity_dict(fits["ask"]),
        "status": status,
        "warnings": messages,
    }
    if as_json:
        print_json(result)
        return
    for message in messages:
        err_console.print(f"[yellow]warning:[/] {message}", highlight=False)
    console.print(
        f"σ = {sig.sigma_price_per_sqrt_s:.6g} ± {sig.sigma_se_price_per_sqrt_s:.2g} price/√s  "
        f"(annualised log vol {sig.vol:.4g} ± {sig.vol_se:.2g}; {sig.n_intervals} intervals of "
        f"{sigma_interval_s:g} s)"
    )
    out = Table(title=f"A·exp(−k·δ) per side, tick {tick:g}, interval {interval_ms} ms")
    for col in ("side", "A (/s)", "± A", "k (/price)", "± k", "trades", "status"):
        out.add_column(col, justify="left" if col in ("side", "status") else "right")
    for side, fit in fits.items():
        out.add_row(
            side,
            _num(fit.a_per_s),
            _num(fit.a_se_per_s),
            _num(fit.k_per_price),
            _num(fit.k_se_per_price),
            str(fit.n_trades),
            fit.status,
        )
    console.print(out)
    console.print(f"calibration status: {status}")


def register(app: typer.Typer) -> None:
    """Add the ``quote`` and ``calibrate`` commands to ``app``."""
    app.command("quote")(quote)
    app.command("calibrate")(calibrate)
