"""Tests of invrisk.hedging: band and volatility formulas, the hedging simulator, the policies.

Monte Carlo checks are seeded; tolerances are stated at each assertion with their reason.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from invrisk.errors import InvalidArgumentError
from invrisk.hedging import (
    FixedBand,
    FixedInterval,
    HedgePolicy,
    LelandDelta,
    WhalleyWilmott,
    hourly_windows,
    leland_number,
    leland_vol,
    simulate_hedging,
    whalley_wilmott_half_band,
)
from invrisk.pricing import bsm
from tests.conftest import require_data

HOURLY = "binance_btc_eth_hourly_2017-2021_cdd/Binance_BTCUSDT_1h.csv"


def gbm(n_paths: int, n_steps: int, t_yr: float, vol: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dt = t_yr / n_steps
    z = rng.standard_normal((n_paths, n_steps))
    log_s = np.cumsum(-0.5 * vol * vol * dt + vol * math.sqrt(dt) * z, axis=1)
    return 100.0 * np.exp(np.hstack([np.zeros((n_paths, 1)), log_s]))


# -- closed forms ------------------------------------------------------------------------------


def test_whalley_wilmott_worked_value() -> None:
    """The issue's worked value: S = K = 100, T = 0.25, σ = 0.2, r = 0, λ = 1e-3, γ = 1. By hand:
    d1 = σ sqrt(T) / 2 = 0.05, Γ = φ(0.05) / (S σ sqrt(T)) = 0.398444 / 10 = 0.0398444,
    H = (1.5 · 1e-3 · 100 · 0.0398444² / 1)^(1/3) = (2.38133e-4)^(1/3) = 0.06198."""
    gamma = float(bsm(spot=100.0, strike=100.0, t_yr=0.25, vol=0.2, option_type="call").gamma)
    assert gamma == pytest.approx(norm.pdf(0.05) / 10.0, rel=1e-12)
    h = float(whalley_wilmott_half_band(spot=100.0, gamma=gamma, cost_rate=1e-3, risk_aversion=1.0))
    assert h == pytest.approx(0.06198, abs=5e-5)
    assert h == pytest.approx(0.062, abs=5e-4)
    # the band scales as λ^(1/3) and γ^(-1/3); the discount factor enters as e^(-rτ/3)
    h8 = whalley_wilmott_half_band(spot=100.0, gamma=gamma, cost_rate=8e-3, risk_aversion=1.0)
    assert float(h8) == pytest.approx(2 * h, rel=1e-12)
    hr = whalley_wilmott_half_band(
        spot=100.0, gamma=gamma, cost_rate=1e-3, risk_aversion=1.0, rate=0.06, tau_yr=0.25
    )
    assert float(hr) == pytest.approx(h * math.exp(-0.06 * 0.25 / 3), rel=1e-12)


def test_leland_worked_value() -> None:
    """σ = 0.2, k = 0.002 round trip, weekly rebalancing δt = 1/52: Le = sqrt(2/π) · 0.002 /
    (0.2 · sqrt(1/52)) = 0.00159577 / 0.0277350 = 0.0575363; σ̂ = 0.2 sqrt(1.0575363) = 0.205673
    (short), 0.2 sqrt(0.9424637) = 0.194161 (long)."""
    le = leland_number(vol=0.2, round_trip_cost=0.002, dt_yr=1 / 52)
    assert le == pytest.approx(0.0575363, rel=1e-6)
    assert leland_vol(vol=0.2, round_trip_cost=0.002, dt_yr=1 / 52) == pytest.approx(
        0.205673, rel=1e-5
    )
    assert leland_vol(vol=0.2, round_trip_cost=0.002, dt_yr=1 / 52, short=False) == pytest.approx(
        0.194161, rel=1e-5
    )
    with pytest.raises(InvalidArgumentError, match="round_trip_cost"):
        leland_vol(vol=0.2, round_trip_cost=0.5, dt_yr=1 / 52, short=False)  # Le > 1


# -- the simulator -----------------------------------------------------------------------------


def loop_hedge(
    path: np.ndarray,
    *,
    dt: float,
    strike: float,
    vol: float,
    policy: HedgePolicy,
    cost_rate: float,
) -> tuple[float, float, int]:
    """The accounting of the module docstring, one path, plain Python (short one call)."""
    n = path.size - 1
    t_total = n * dt
    cash = float(bsm(spot=path[0], strike=strike, t_yr=t_total, vol=vol, option_type="c").price)
    hvol = policy.pricing_vol(vol, dt_yr=dt, short=True)
    h, cost, trades = 0.0, 0.0, 0
    for k in range(n):
        g = bsm(spot=path[k], strike=strike, t_yr=t_total - k * dt, vol=hvol, option_type="c")
        new = float(
            policy.rebalance(
                step=k,
                holding=np.array([h]),
                delta=np.array([float(g.delta)]),
                gamma=np.array([float(g.gamma)]),
                spot=np.array([path[k]]),
                tau_yr=t_total - k * dt,
            )[0]
        )
        if new != h:
            trades += 1
        cash -= (new - h) * path[k]
        cost += cost_rate * abs(new - h) * path[k]
        h = new
    cash += h * path[-1]
    cost += cost_rate * abs(h) * path[-1]
    trades += h != 0.0
    return cash - max(path[-1] - strike, 0.0) - cost, cost, trades


@pytest.mark.parametrize(
    "policy",
    [
        FixedInterval(1),
        FixedInterval(7),
        FixedBand(0.05),
        FixedBand(0.05, to="edge"),
        WhalleyWilmott(cost_rate=1e-3, risk_aversion=1.0),
        LelandDelta(round_trip_cost=2e-3, every=3),
    ],
)
def test_vectorised_simulation_equals_a_path_by_path_loop(policy: HedgePolicy) -> None:
    paths = gbm(5, 60, 0.25, 0.4, seed=3)
    run = simulate_hedging(
        paths,
        dt_yr=0.25 / 60,
        strike=100.0,
        vol=0.4,
        option_type="call",
        policy=policy,
        cost_rate=1e-3,
    )
    for i in range(paths.shape[0]):
        pnl, cost, trades = loop_hedge(
            paths[i], dt=0.25 / 60, strike=100.0, vol=0.4, policy=policy, cost_rate=1e-3
        )
        assert run.pnl[i] == pytest.approx(pnl, rel=1e-12, abs=1e-12)
        assert run.cost[i] == pytest.approx(cost, rel=1e-12, abs=1e-15)
        assert run.trades[i] == trades


def test_frictionless_hedging_error_falls_as_one_over_sqrt_n() -> None:
    """No costs, true vol = pricing vol, rebalancing every step: the mean P&L is zero (fair
    premium; se 0.0025 at n = 100, 4 se allowed) and the standard deviation matches Kamal &
    Derman's sqrt(π/4) · vega · σ / sqrt(n) (0.353 at n = 100, 0.177 at n = 400; 5% allowed,
    the formula being leading order in 1/n and the sample sd having se 0.5%)."""
    vega = float(bsm(spot=100.0, strike=100.0, t_yr=0.25, vol=0.2, option_type="call").vega)
    for n in (100, 400):
        run = simulate_hedging(
            gbm(20_000, n, 0.25, 0.2, seed=1),
            dt_yr=0.25 / n,
            strike=100.0,
            vol=0.2,
            option_type="call",
            policy=FixedInterval(1),
        )
        s = run.summary()
        want = math.sqrt(math.pi / 4) * vega * 0.2 / math.sqrt(n)
        assert abs(s["mean_pnl"]) < 4 * s["std_pnl"] / math.sqrt(20_000)
        assert s["std_pnl"] == pytest.approx(want, rel=0.05)
        assert s["mean_cost"] == 0.0


def test_leland_hedge_covers_its_costs_at_the_adjusted_price() -> None:
    """Leland (1985): rebalancing every δt to the delta at σ̂ replicates the payoff net of the
    trading costs when the option is priced at σ̂. Selling at C(σ) therefore earns C(σ) − C(σ̂)
    on average, plus the two trades outside the continuous replication (the first hedge and
    the unwind at expiry). 20,000 paths, λ = 10 bp, n = 250: the identity holds to leading
    order in δt, so 10% of the total cost is allowed (the mean's se is 0.002)."""
    n, lam = 250, 1e-3
    paths = gbm(20_000, n, 0.25, 0.2, seed=2)
    run = simulate_hedging(
        paths,
        dt_yr=0.25 / n,
        strike=100.0,
        vol=0.2,
        option_type="call",
        policy=LelandDelta(round_trip_cost=2 * lam),
        cost_rate=lam,
    )
    sig_hat = leland_vol(vol=0.2, round_trip_cost=2 * lam, dt_yr=0.25 / n)
    c = [
        float(bsm(spot=100.0, strike=100.0, t_yr=0.25, vol=v, option_type="c").price)
        for v in (0.2, sig_hat)
    ]
    delta0 = float(bsm(spot=100.0, strike=100.0, t_yr=0.25, vol=sig_hat, option_type="c").delta)
    first = lam * delta0 * 100.0
    last = float(np.mean(lam * np.abs(np.where(paths[:, -1] > 100.0, 1.0, 0.0)) * paths[:, -1]))
    want = c[0] - c[1] - first - last
    s = run.summary()
    assert s["mean_pnl"] == pytest.approx(want, abs=0.1 * s["mean_cost"])
    # and it hedges tighter than the frictionless delta rebalanced as often (Leland's point)
    plain = simulate_hedging(
        paths,
        dt_yr=0.25 / n,
        strike=100.0,
        vol=0.2,
        option_type="call",
        policy=FixedInterval(1),
        cost_rate=lam,
    ).summary()
    assert s["std_pnl"] < 0.9 * plain["std_pnl"]


def test_whalley_wilmott_dominates_cruder_rules_at_equal_cost_or_risk() -> None:
    """λ = 10 bp, σ = 0.2, 3 months, 250 steps, 8,000 seeded paths: the WW band (γ = 1)
    costs less than rebalancing every 5 steps and than a fixed ±0.1 band, with no larger
    hedging error than either (costs differ by > 0.05 with se ~0.002; the sds by less than
    their 5% allowance)."""
    n, lam = 250, 1e-3
    paths = gbm(8_000, n, 0.25, 0.2, seed=2)
    kw = {"dt_yr": 0.25 / n, "strike": 100.0, "vol": 0.2, "option_type": "call", "cost_rate": lam}
    ww = simulate_hedging(
        paths, policy=WhalleyWilmott(cost_rate=lam, risk_aversion=1.0), **kw
    ).summary()  # type: ignore[arg-type]
    for other in (FixedInterval(5), FixedBand(0.1)):
        o = simulate_hedging(paths, policy=other, **kw).summary()  # type: ignore[arg-type]
        assert ww["mean_cost"] < o["mean_cost"] - 0.05
        assert ww["std_pnl"] < 1.05 * o["std_pnl"]
    # a wider band trades less and hedges worse: the frontier is monotone
    rows = [
        simulate_hedging(paths, policy=FixedBand(b), **kw).summary()  # type: ignore[arg-type]
        for b in (0.02, 0.05, 0.1, 0.2)
    ]
    costs = [r["mean_cost"] for r in rows]
    sds = [r["std_pnl"] for r in rows]
    assert costs == sorted(costs, reverse=True) and sds == sorted(sds)


def test_real_hourly_btc_short_month_option() -> None:
    """30-day ATM calls sold every week of 2017-08 .. 2021-06 (hourly Binance BTCUSDT closes),
    priced and hedged at 80% vol, 10 bp costs. Checked: the bookkeeping on real paths (finite
    P&Ls, costs >= 0, the WW band trades less and costs less than hourly rebalancing). The
    P&L levels themselves are reported by the hedging-policy study, not asserted."""
    from invrisk.data import read_ohlcv

    close = read_ohlcv(require_data(HOURLY)).close
    paths = hourly_windows(close, steps=720, stride=168)
    assert paths.shape[1] == 721 and paths.shape[0] > 150
    kw = {
        "dt_yr": 1 / (365 * 24),
        "strike": paths[:, 0],
        "vol": 0.8,
        "option_type": "call",
        "cost_rate": 1e-3,
    }
    hourly = simulate_hedging(paths, policy=FixedInterval(1), **kw)  # type: ignore[arg-type]
    ww = simulate_hedging(
        paths,
        policy=WhalleyWilmott(cost_rate=1e-3, risk_aversion=1e-3),  # per USD of P&L
        **kw,  # type: ignore[arg-type]
    )
    for run in (hourly, ww):
        assert np.all(np.isfinite(run.pnl)) and np.all(run.cost >= 0.0)
    assert ww.trades.mean() < 0.5 * hourly.trades.mean()
    assert ww.cost.mean() < hourly.cost.mean()


def test_bad_input_names_the_argument() -> None:
    p = gbm(2, 10, 0.1, 0.2, seed=0)
    kw = {
        "dt_yr": 0.01,
        "strike": 100.0,
        "vol": 0.2,
        "option_type": "call",
        "policy": FixedInterval(),
    }
    for change, name in (
        ({"dt_yr": 0.0}, "dt_yr"),
        ({"vol": -0.2}, "vol"),
        ({"option_type": "straddle"}, "option_type"),
        ({"strike": [100.0, -1.0]}, "strike"),
        ({"position": 0.0}, "position"),
        ({"cost_rate": -1e-3}, "cost_rate"),
    ):
        with pytest.raises(InvalidArgumentError, match=name):
            simulate_hedging(p, **{**kw, **change})  # type: ignore[arg-type]
    bad = p.copy()
    bad[1, 4] = math.nan
    with pytest.raises(InvalidArgumentError, match="path 1, step 4"):
        simulate_hedging(bad, **kw)  # type: ignore[arg-type]
    for make, name in (
        (lambda: FixedInterval(0), "every"),
        (lambda: FixedBand(-0.1), "half_width"),
        (lambda: FixedBand(0.1, to="mid"), "to"),  # type: ignore[arg-type]
        (lambda: WhalleyWilmott(cost_rate=1e-3, risk_aversion=0.0), "risk_aversion"),
        (lambda: hourly_windows(np.ones(5), steps=10, stride=1), "close"),
    ):
        with pytest.raises(InvalidArgumentError, match=name):
            make()
