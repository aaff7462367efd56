"""The job behind ``make demo`` / ``invrisk demo``: the project's front door.

Builds a synthetic BTC option chain on the built-in smile (no data files needed), prices it
with Greeks in Deribit's units, inverts every mark, bid and ask back into an implied vol, fits
its volatility surface (per-expiry SVI and global eSSVI, checked for arbitrage, written as an
HTML report), and summarises: how exactly the vols come back, how fast, and what the whole
chain's Greeks are.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from invrisk.data.chain_analytics import analyze_chain
from invrisk.data.synthetic import synthetic_chain
from invrisk.data.synthetic_market import FlowSpec, PriceProcess, synthetic_market
from invrisk.pricing import black76, implied_vol
from invrisk.surface import arbitrage_report, fit_surface, smile_quotes
from invrisk.units import NS_PER_DAY, ns_to_iso

__all__ = ["run_demo"]


def run_demo(
    *,
    n_speed: int = 1_000_000,
    seed: int = 7,
    plot_path: str | Path | None = None,
    backtest_report: str | Path | None = None,
    backtest_events: int = 500_000,
    risk_report: str | Path | None = None,
    paper_journal: str | Path | None = None,
) -> dict[str, Any]:
    """Run the demo and return its summary (JSON-ready).

    Parameters
    ----------
    n_speed
        Number of random options in the speed check (price + Greeks, then implied vol).
    seed
        Seed of the speed check's random options.
    plot_path
        Where to write the HTML report of the fitted surface (None: no report).
    backtest_report
        Where to write the HTML report of the GLFT backtest (None: no report).
    backtest_events
        Events of the synthetic market the GLFT strategy is backtested on.
    risk_report
        Where to write the HTML risk report of the sample option book (None: no report).
    paper_journal
        Journal file of the one-minute paper run (None: a temporary file, deleted).
    """
    chain = synthetic_chain(currency="BTC", index_usd=90_000.0)
    analysis = analyze_chain(chain)
    err_mark = np.abs(analysis.iv_mark - chain.mark_iv)
    expiries = []
    for expiry in chain.expiries():
        sel = chain.expiry_ns == expiry
        atm = int(np.argmin(np.abs(np.log(chain.strike[sel] / chain.forward_usd[sel]))))
        expiries.append(
            {
                "expiry": ns_to_iso(int(expiry)),
                "days": round(float(chain.t_yr[sel][0]) * 365.0, 2),
                "forward_usd": round(float(chain.forward_usd[sel][0]), 2),
                "options": int(sel.sum()),
                "atm_iv_pct": round(float(analysis.iv_mark[sel][atm]) * 100.0, 2),
                "vega_usd_per_vol_pt": round(float(np.nansum(analysis.vega[sel])), 2),
            }
        )

    # Speed on a large random book (same ranges as the benchmarks in bench/).
    rng = np.random.default_rng(seed)
    fwd = np.full(n_speed, 90_000.0)
    strike = fwd * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n_speed))
    t_yr = rng.uniform(1.0, 365.0, n_speed) * NS_PER_DAY / (365 * NS_PER_DAY)
    vol = rng.uniform(0.2, 1.5, n_speed)
    cp = np.where(rng.random(n_speed) < 0.5, 1.0, -1.0)
    # Warm up the parallel kernels (load the compiled code, start the thread pool).
    w = slice(0, 50_000)
    warm = black76(forward=fwd[w], strike=strike[w], t_yr=t_yr[w], vol=vol[w], option_type=cp[w])
    implied_vol(price=warm.price, forward=fwd[w], strike=strike[w], t_yr=t_yr[w], option_type=cp[w])
    t_greeks = math.inf
    t_iv = math.inf
    g = black76(forward=fwd, strike=strike, t_yr=t_yr, vol=vol, option_type=cp)
    price = np.asarray(g.price).copy()
    vega = np.asarray(g.vega).copy()
    del g
    for _ in range(3):  # best of three, as in bench/
        t0 = time.perf_counter()
        black76(forward=fwd, strike=strike, t_yr=t_yr, vol=vol, option_type=cp)
        t_greeks = min(t_greeks, time.perf_counter() - t0)
        t0 = time.perf_counter()
        iv = implied_vol(price=price, forward=fwd, strike=strike, t_yr=t_yr, option_type=cp)
        t_iv = min(t_iv, time.perf_counter() - t0)
    # Well posed: one ulp of the price scale max(F, K) moves the vol by less than 1e-13.
    with np.errstate(divide="ignore", over="ignore"):
        ulp_vol = np.finfo(float).eps * np.maximum(fwd, strike) / vega
    well_posed = ulp_vol < 1e-13
    ok = np.asarray(iv.ok)

    # The volatility surface of the chain: per-expiry SVI and the global eSSVI, both checked.
    # Each is fitted once untimed first: on a fresh install that compiles the numba kernels
    # (cached on disk afterwards), which the fit time shown should not count.
    fit_surface(chain)
    fit_surface(chain, model="essvi")
    t0 = time.perf_counter()
    svi = fit_surface(chain)
    t_svi = time.perf_counter() - t0
    t0 = time.perf_counter()
    essvi = fit_surface(chain, model="essvi")
    t_essvi = time.perf_counter() - t0
    svi_report = arbitrage_report(svi)
    surface_summary: dict[str, Any] = {
        "svi_fit_s": round(t_svi, 4),
        "essvi_fit_s": round(t_essvi, 4),
        "svi_max_rmse_vol_pts": max(s.rmse_vol_pts for s in svi.slices),
        "essvi_median_rmse_vol_pts": float(np.median([s.rmse_vol_pts for s in essvi.slices])),
        "svi_arbitrage_free": svi_report.arbitrage_free,
        "essvi_arbitrage_free": arbitrage_report(essvi).arbitrage_free,
        "plot": None,
    }
    if plot_path is not None:
        from invrisk.report.surface_plot import write_surface_report

        quotes, _ = smile_quotes(chain)
        written = write_surface_report(
            plot_path, svi, quotes=quotes, report=svi_report, title="invrisk demo: BTC surface"
        )
        surface_summary["plot"] = str(written)

    return {
        "quoting": _quoting_demo(seed=seed),
        "backtest": _backtest_demo(n_events=backtest_events, report=backtest_report),
        "risk": _risk_demo(chain, report=risk_report, seed=seed),
        "paper": _paper_demo(journal=paper_journal),
        "surface": surface_summary,
        "chain": {
            "options": len(chain),
            "expiries": len(expiries),
            "valuation": ns_to_iso(int(chain.valuation_ns[0])),
            "index_usd": float(chain.index_usd[0]),
        },
        "round_trip": {
            "mark_iv_max_abs_err": float(np.nanmax(err_mark)),
            "mark_status": analysis.status_counts["mark"],
            "bid_status": analysis.status_counts["bid"],
            "ask_status": analysis.status_counts["ask"],
        },
        "per_expiry": expiries,
        "chain_totals_one_contract_each": analysis.totals,
        "speed": {
            "options": n_speed,
            "timing": "best of 3 calls",
            "greeks_s": round(t_greeks, 4),
            "greeks_options_per_s": round(n_speed / t_greeks),
            "iv_s": round(t_iv, 4),
            "iv_options_per_s": round(n_speed / t_iv),
            "iv_solved_share": round(float(ok.mean()), 6),
            "well_posed_share": round(float(well_posed.mean()), 6),
            "iv_max_abs_err_well_posed": float(
                np.max(np.abs(np.asarray(iv.vol)[well_posed] - vol[well_posed]))
            ),
        },
    }


def _backtest_demo(*, n_events: int, report: str | Path | None) -> dict[str, Any]:
    """A GLFT market maker (online calibration) on the synthetic BTCUSDT perpetual."""
    from invrisk.backtest import BacktestResult, Fees, ProbQueue, run_backtest
    from invrisk.data.events import EventArray
    from invrisk.data.synthetic_market import benchmark_stream
    from invrisk.risk import GuardLimits, InstrumentLimits, RiskGuard
    from invrisk.strategies import GLFTMarketMaker

    def run(events: EventArray, strategy: GLFTMarketMaker) -> BacktestResult:
        guard = RiskGuard(
            limits={
                0: InstrumentLimits(
                    max_position=0.2, max_order_qty=0.05, max_order_notional=1e5, price_band=0.01
                )
            },
            guard=GuardLimits(
                max_orders_per_s=50, trailing_drawdown=2_000.0, reduce_drawdown=1_000.0
            ),
        )
        return run_backtest(
            events=events,
            instruments=[market.instrument],
            strategy=strategy,
            fees=Fees(maker=-0.0001, taker=0.0005),
            queue=ProbQueue("power", 2.0),
            guard=guard,
            qty_tolerance=0.99,
        )

    def glft() -> GLFTMarketMaker:
        return GLFTMarketMaker(gamma=0.05, q_max=0.1, order_qty=0.01, window_ns=120 * 10**9)

    market = benchmark_stream(n_events, seed=0)
    # a short warm-up run first: on a fresh install it compiles the numba kernels (cached on
    # disk afterwards), which the timed run should not count
    t0 = time.perf_counter()
    run(market.events[: min(n_events, 20_000)], glft())
    warmup = time.perf_counter() - t0
    strategy = glft()
    t0 = time.perf_counter()
    result = run(market.events, strategy)
    elapsed = time.perf_counter() - t0
    summary = result.summary()
    inst = summary["instruments"][market.instrument.name]  # type: ignore[index]
    written = None
    if report is not None:
        from invrisk.report.backtest_report import write_backtest_report

        written = str(write_backtest_report(result, report, title="invrisk demo: GLFT backtest"))
    params = strategy.params
    return {
        "events": n_events,
        "simulated_s": round(
            (int(market.events["local_ns"][-1]) - int(market.events["local_ns"][0])) / 1e9, 1
        ),
        "wall_s": round(elapsed, 3),
        "events_per_s": round(n_events / elapsed),
        "warmup_s": round(warmup, 3),
        "true": {
            "A_per_s": market.params.flow.intensity_a_per_s,
            "k_per_price": market.params.flow.intensity_k_per_price,
        },
        "calibrated": None
        if params is None
        else {
            "sigma_price_per_sqrt_s": params.sigma_price_per_sqrt_s,
            "A_per_s": params.a_per_s,
            "k_per_price": params.k_per_price,
        },
        "fills": summary["n_fills"],
        "pnl_usdt": inst["pnl"],
        "pnl_spread": inst["pnl_spread"],
        "pnl_inventory": inst["pnl_inventory"],
        "fees_usdt": inst["fees"],
        "max_abs_inventory_btc": inst["max_abs_inventory"],
        "markout_1s": inst["markouts"]["1s"],
        "report": written,
    }


def _quoting_demo(*, seed: int) -> dict[str, Any]:
    """Calibrate σ, A and k on a synthetic market with known values, then quote over q."""
    from invrisk.quoting import calibrate_intensity, calibrate_sigma, gueant_closed_form_depths
    from invrisk.units import NS_PER_MINUTE, NS_PER_MS

    true = {"sigma_price_per_sqrt_s": 2.0, "A_per_s": 20.0, "k_per_price": 5.0}
    market = synthetic_market(
        duration_ns=10 * NS_PER_MINUTE,
        price=PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=2.0),
        flow=FlowSpec(intensity_a_per_s=20.0, intensity_k_per_price=5.0),
        funding=None,
        seed=seed,
    )
    sigma = calibrate_sigma(market.mid_ns, market.mid, interval_ns=1_000 * NS_PER_MS)
    fit = calibrate_intensity(
        market.events, mid_ns=market.mid_ns, mid=market.mid, tick_size=market.tick_size
    )
    gamma = 0.05
    table = []
    for q in range(-5, 6):
        bid, ask = gueant_closed_form_depths(
            q=float(q),
            sigma=sigma.sigma_price_per_sqrt_s,
            gamma=gamma,
            A=fit.a_per_s,
            k=fit.k_per_price,
        )
        table.append({"q": q, "bid_depth": bid, "ask_depth": ask})
    return {
        "true": true,
        "calibrated": {
            "sigma_price_per_sqrt_s": sigma.sigma_price_per_sqrt_s,
            "sigma_se": sigma.sigma_se_price_per_sqrt_s,
            "A_per_s": fit.a_per_s,
            "A_se": fit.a_se_per_s,
            "k_per_price": fit.k_per_price,
            "k_se": fit.k_se_per_price,
        },
        "gamma": gamma,
        "model": "Gueant (2017) closed form, xi = gamma, trade size 1",
        "quotes_over_inventory": table,
    }


def _risk_demo(chain: Any, *, report: str | Path | None, seed: int) -> dict[str, Any]:
    """A sample BTC option book on the synthetic chain: its risk and the cheapest hedge.

    The book is short three-month calls and six-month calls, long one-month puts, with a
    perpetual; VaR/ES come from a synthetic daily return history (a seeded Student-t path at
    60% annual volatility: the demo needs no data files). The limits: |delta| <= 1 BTC, |vega|
    <= 150,000 USD per 1.0 of vol, front (< 45 d) vega within ±100,000 USD.
    """
    from invrisk.hedging.plan import CandidateSpec, plan_hedge
    from invrisk.instruments import parse_deribit
    from invrisk.risk import MarketSnapshot, Portfolio, Position
    from invrisk.risk.assess import assess_portfolio
    from invrisk.risk.limit_set import Limit, LimitSet
    from invrisk.risk.venues import VenueSpec, assess_venues

    index = float(chain.index_usd[0])

    def pick(days: float, moneyness: float, right: int) -> str:
        d = np.abs(chain.t_yr * 365.0 - days) + 1e3 * (chain.right != right)
        d = d + np.abs(np.log(chain.strike / (index * moneyness)))
        return str(chain.instrument[int(np.argmin(d))])

    legs = [(pick(91, 1.05, 1), -25.0), (pick(182, 1.15, 1), -10.0), (pick(28, 0.95, -1), 40.0)]
    positions = [Position(instrument=parse_deribit(n), contracts=q) for n, q in legs]
    positions.append(
        Position(instrument=parse_deribit("BTC-PERPETUAL"), contracts=50_000, entry_price=index)
    )
    book = Portfolio(positions)
    market = MarketSnapshot.from_chain(chain, marks={"BTC-PERPETUAL": index})
    limits = LimitSet(
        [
            Limit(name="btc delta", metric="delta_coin", underlying="BTC", max_abs=1.0),
            Limit(name="btc vega", metric="vega_usd", underlying="BTC", max_abs=150_000.0),
            Limit(
                name="btc front vega",
                metric="vega_usd",
                underlying="BTC",
                expiry_max_days=45,
                max_abs=100_000.0,
            ),
            Limit(name="var 99%", metric="var_usd", hi=150_000.0),
        ]
    )
    rng = np.random.default_rng(seed)
    daily = 0.6 / math.sqrt(365.0) * rng.standard_t(4, 1_000) / math.sqrt(2.0)  # t(4) sd = sqrt 2
    a = assess_portfolio(book, market, returns={"BTC": daily}, limits=limits)
    # where the book and its collateral sit: margin and a USDC balance on Deribit, reserves
    # with a custodian (failure probabilities and recoveries: the documented type defaults)
    venue_specs = {
        "deribit": VenueSpec(
            name="deribit", type="cex", collateral_usd=1_500_000.0, holdings={"USDC": 400_000.0}
        ),
        "custodian": VenueSpec(
            name="custodian",
            type="custodian",
            collateral_usd=3_000_000.0,
            holdings={"USDC": 1_000_000.0},
        ),
    }
    venue_limits = LimitSet(
        [Limit(name="deribit gross", metric="gross_value_usd", venue="deribit", hi=2_000_000.0)]
    )
    venues = assess_venues(a.greeks, venue_specs, limits=venue_limits)
    written = None
    if report is not None:
        from invrisk.report.risk_report import write_risk_report

        written = str(
            write_risk_report(
                a, report, title="invrisk demo: risk of a BTC option book", venues=venues
            )
        )
    ok = (
        (chain.bid_coin > 0)
        & (chain.ask_coin > 0)
        & (np.abs(np.log(chain.strike / chain.forward_usd)) < 0.1)
    )
    names = [str(n) for n in chain.instrument[ok]]
    specs = [CandidateSpec(instrument=parse_deribit("BTC-PERPETUAL"), lot=10.0)]
    specs += [CandidateSpec(instrument=parse_deribit(n), lot=0.1, max_qty=100.0) for n in names]
    quotes = {
        str(n): (float(b), float(x))
        for n, b, x in zip(chain.instrument, chain.bid_coin, chain.ask_coin, strict=True)
    }
    hedge = plan_hedge(book, market, candidates=specs, limits=limits, option_bid_ask_coin=quotes)
    total = a.totals["BTC"]
    worst = float(np.min(a.grid.pnl_usd))
    return {
        "positions": [{"instrument": n, "contracts": q} for n, q in legs]
        + [{"instrument": "BTC-PERPETUAL", "contracts": 50_000}],
        "delta_coin": total.delta_coin,
        "vega_usd": total.vega_usd,
        "cash_gamma_usd": total.cash_gamma_usd,
        "grid_worst_pnl_usd": worst,
        "var_99_usd": a.var[0].var_usd if a.var else None,
        "breaches": list(a.limits.breaches) if a.limits else [],
        "hedge": {
            "trades": [{"instrument": n, "contracts": q} for n, q in hedge.plan.trades],
            "cost_usd": hedge.plan.cost,
            "exposure_after": dict(hedge.plan.exposure_after),
            "candidates": len(hedge.candidates),
            "not_constrained": list(hedge.skipped),
        },
        "venues": {
            "claim_at_risk_usd": {r.venue: r.at_risk_usd for r in venues.exposures},
            "expected_loss_usd_per_year": {r.venue: r.expected_loss_usd for r in venues.exposures},
            "loss_if_fails_usd": {f.venue: f.loss_usd for f in venues.failures},
            "usdc_depeg_loss_usd": venues.depeg_loss_usd["USDC"],
            "breaches": list(venues.limits.breaches) if venues.limits else [],
        },
        "report": written,
    }


def _paper_demo(*, journal: str | Path | None) -> dict[str, Any]:
    """One minute of a replayed synthetic BTCUSDT feed through the paper runtime (accelerated:
    as fast as the machine goes), GLFT quoting from the first decision, every order and fill
    journaled; the positions recomputed from the journal are checked against the runtime's."""
    import asyncio
    import tempfile

    from invrisk.backtest import Fees, ProbQueue
    from invrisk.data.synthetic_market import benchmark_stream
    from invrisk.live import PaperGateway, Runtime
    from invrisk.risk.limits import InstrumentLimits, RiskGuard
    from invrisk.store import Journal
    from invrisk.strategies import GLFTMarketMaker
    from invrisk.strategies.glft import GLFTParams

    market = benchmark_stream(120_000, seed=1)
    gateway = PaperGateway(
        events=market.events,
        instruments=[market.instrument],
        fees=Fees(maker=-1e-4, taker=5e-4),
        queue=ProbQueue("power", 2.0),
    )
    strategy = GLFTMarketMaker(
        gamma=0.05,
        q_max=0.1,
        order_qty=0.01,
        window_ns=60 * 10**9,
        warmup="fallback",
        fallback=GLFTParams(5.0, 80.0, 5.0),
    )
    limits = InstrumentLimits(
        max_position=0.2, max_order_qty=0.05, max_order_notional=1e7, price_band=0.01
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(journal) if journal is not None else Path(tmp) / "paper.sqlite"
        j = Journal(path)
        run_id = j.start_run(
            started_ns=int(market.events["local_ns"][0]), mode="paper", venue="demo"
        )
        rt = Runtime(
            strategy=strategy,
            instruments=[market.instrument],
            gateway=gateway,
            guard=RiskGuard(limits={0: limits}),
            journal=j,
        )
        t0 = time.perf_counter()
        summary = asyncio.run(rt.run(max_feed_ns=60 * 10**9))
        wall = time.perf_counter() - t0
        recovered = j.recover()
        j.close()
    return {
        "feed_s": (summary.end_ns - int(market.events["local_ns"][0])) / 1e9,
        "wall_s": wall,
        "decisions": summary.decisions,
        "orders_sent": summary.orders_sent,
        "fills": summary.fills,
        "position_btc": summary.positions[0],
        "cash_usdt": summary.cash[0],
        "state": summary.state,
        "journal": str(journal) if journal is not None else None,
        "run_id": run_id,
        "journal_position_btc": recovered.positions.get(0, 0.0),
        "journal_fills": recovered.n_fills,
    }
