"""Rounding residues of partial fills never become fills."""

from __future__ import annotations


def test_no_dust_fills_from_rounding() -> None:
    """Partial fills leave float residues (0.01 - 0.009999999999999998): they must not become
    fills of ~1e-17 contracts. Before the guard about 5% of this run's fills were such dust."""
    from invrisk.backtest import Fees, ProbQueue, run_backtest
    from invrisk.data.synthetic_market import benchmark_stream
    from invrisk.strategies import GLFTMarketMaker
    from invrisk.strategies.glft import GLFTParams

    m = benchmark_stream(300_000, seed=0)
    s = GLFTMarketMaker(
        gamma=0.05,
        q_max=0.1,
        order_qty=0.01,
        window_ns=300 * 10**9,
        warmup="fallback",
        fallback=GLFTParams(5.0, 80.0, 5.0),
    )
    r = run_backtest(
        events=m.events,
        instruments=[m.instrument],
        strategy=s,
        fees=Fees(maker=-0.0001, taker=0.0005),
        queue=ProbQueue("power", 2.0),
    )
    assert r.fills.size > 500
    assert float(r.fills["qty"].min()) >= 1e-6  # the smallest real partial fill is far above
