"""Tests of the synthetic market generator (invrisk.data.synthetic_market).

Statistical tests are seeded (so they are reproducible run to run) and their tolerances are
derived from the sampling noise of the quantity tested, written beside each assertion: a
deviation beyond about 4 standard errors fails (a false alarm has probability below 1e-4 per
check for a correct generator).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from invrisk.data import synthetic_market as sm
from invrisk.data.events import EVENT_DTYPE, EventKind, is_sorted_by_local_time
from invrisk.data.synthetic import synthetic_chain
from invrisk.data.synthetic_market import (
    BookSpec,
    FlowSpec,
    FundingSpec,
    LatencySpec,
    PriceProcess,
    SyntheticMarket,
    benchmark_stream,
    synthetic_market,
    synthetic_option_chain,
    synthetic_perpetual,
)
from invrisk.errors import InvalidArgumentError
from invrisk.units import NS_PER_HOUR, NS_PER_MINUTE, NS_PER_SECOND, NS_PER_YEAR, to_ns

# -- the lambda(delta) estimator of REFERENCES.md ("Calibrating lambda(delta) = A e^{-k delta}") --


@dataclass(frozen=True)
class IntensityFit:
    """OLS fit of log lambda(delta) = log A - k delta on per-level rates."""

    a_per_s: float
    k_per_price: float
    depth: np.ndarray
    rate_per_s: np.ndarray
    counts: np.ndarray
    n_steps: int


def deepest_level_per_step(market: SyntheticMarket, side: int) -> np.ndarray:
    """Per step, the deepest level (0 = the reference best) reached by ``side`` market orders.

    Depth is measured from the step's reference mid (``market.mid``, the "previous mid" of
    the step): ``side * (trade price - mid)``; level j is at depth ``(S/2 + j) tick``. -1 when
    no trade of that side happened in the step.
    """
    ev = market.events
    trades = ev[(ev["kind"] == EventKind.TRADE) & (ev["side"] == side)]
    step = (trades["exch_ns"] - market.mid_ns[0]) // market.step_ns
    depth = side * (trades["price"] - market.mid[step])
    half_spread = market.params.book.spread_ticks / 2
    level = np.rint(depth / market.tick_size - half_spread).astype(np.int64)
    deepest = np.full(len(market.mid), -1, dtype=np.int64)
    np.maximum.at(deepest, step, level)
    return deepest


def estimate_intensity(
    market: SyntheticMarket, *, side: int, n_levels: int, saturation_correction: bool = True
) -> IntensityFit:
    """Count, per step, the deepest level reached; per level, divide by time; OLS in log.

    This is the hftbacktest tutorial's estimator (REFERENCES.md) without its half-tick slip:
    a step counts for every level at or above the deepest one reached. ``count / T`` estimates
    the rate of *steps* in which depth delta is reached, ``(1 - exp(-lambda dt)) / dt`` for a
    Poisson flow; with ``saturation_correction`` the rate is ``-ln(1 - count / n) / dt``,
    which inverts that exactly.
    """
    deepest = deepest_level_per_step(market, side)
    n = len(deepest)
    dt_s = market.step_ns / NS_PER_SECOND
    counts = np.array([(deepest >= j).sum() for j in range(n_levels)])
    if saturation_correction:
        rate = -np.log1p(-counts / n) / dt_s
    else:
        rate = counts / (n * dt_s)
    depth = (market.params.book.spread_ticks / 2 + np.arange(n_levels)) * market.tick_size
    slope, intercept = np.polyfit(depth, np.log(rate), 1)
    return IntensityFit(math.exp(intercept), -slope, depth, rate, counts, n)


def predicted_se(
    *, a: float, k: float, tick: float, spread: int, dt_s: float, n_steps: int, n_levels: int
) -> tuple[float, float]:
    """Standard errors of (log A, k / k_true) of the corrected estimator, by the delta method.

    The per-step indicators "depth j reached" are nested: Cov(p_i, p_j) = (p_max(i,j) - p_i
    p_j) / n, the deeper level having the smaller p. y_j = log(-ln(1 - p_j) / dt) has
    dy/dp = 1 / ((1 - p) (-ln(1 - p))); the OLS coefficients are H y with H = (X'X)^-1 X'.
    """
    depth = (spread / 2 + np.arange(n_levels)) * tick
    p = 1.0 - np.exp(-a * np.exp(-k * depth) * dt_s)
    deeper = np.maximum.outer(np.arange(n_levels), np.arange(n_levels))
    cov_p = (p[deeper] - np.outer(p, p)) / n_steps
    g = 1.0 / ((1.0 - p) * -np.log1p(-p))
    x = np.column_stack([np.ones(n_levels), depth])
    h = np.linalg.solve(x.T @ x, x.T)
    cov = h @ (cov_p * np.outer(g, g)) @ h.T
    return math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1]) / k


# -- helpers -----------------------------------------------------------------------------------


def quiet_market(**kwargs: object) -> SyntheticMarket:
    """A cheap market for tests that do not need a busy book: 1 s steps, 3 levels, slow flow."""
    options: dict[str, object] = {
        "duration_ns": 10 * NS_PER_MINUTE,
        "step_ns": NS_PER_SECOND,
        "price": PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=0.05),
        "book": BookSpec(n_levels=3),
        "flow": FlowSpec(intensity_a_per_s=0.5, limit_rate_per_s=0.5, cancel_rate_per_s=0.5),
        "seed": 5,
    }
    options.update(kwargs)
    return synthetic_market(**options)  # type: ignore[arg-type]


def book_messages(events: np.ndarray) -> np.ndarray:
    """Index of the last row of each message (rows sharing local_ns and exch_ns)."""
    key_change = (np.diff(events["local_ns"]) != 0) | (np.diff(events["exch_ns"]) != 0)
    return np.append(np.flatnonzero(key_change), len(events) - 1)


def dict_replay_top(events: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Best bid/ask ticks after each row from a dict replay (independent of invrisk.market)."""
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    best_bid = np.full(len(events), -(2**62))
    best_ask = np.full(len(events), 2**62)
    for i, (kind, side, price, qty) in enumerate(
        zip(events["kind"], events["side"], events["price"], events["qty"], strict=True)
    ):
        if kind == EventKind.CLEAR:
            bids.clear()
            asks.clear()
        elif kind in (EventKind.DEPTH, EventKind.SNAPSHOT):
            book = bids if side == 1 else asks
            t = round(price / tick)
            if qty > 0:
                book[t] = qty
            else:
                book.pop(t, None)
        if bids:
            best_bid[i] = max(bids)
        if asks:
            best_ask[i] = min(asks)
    return best_bid, best_ask


# -- lambda(delta) -----------------------------------------------------------------------------

INTENSITY_A = 20.0  # per second
INTENSITY_K = 5.0  # per USD: 0.5 per tick of 0.1
FIT_LEVELS = 8


@pytest.fixture(scope="module", params=[True, False], ids=["replenish", "no-replenish"])
def flow_market(request: pytest.FixtureRequest) -> SyntheticMarket:
    return synthetic_market(
        duration_ns=2 * NS_PER_HOUR,
        price=PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=0.5),
        book=BookSpec(n_levels=25, replenish=request.param),
        flow=FlowSpec(
            intensity_a_per_s=INTENSITY_A,
            intensity_k_per_price=INTENSITY_K,
            limit_rate_per_s=5.0,
            cancel_rate_per_s=5.0,
        ),
        funding=None,
        seed=11,
    )


def test_intensity_a_k_recovered(flow_market: SyntheticMarket) -> None:
    m = flow_market
    se_log_a, se_k = predicted_se(
        a=INTENSITY_A,
        k=INTENSITY_K,
        tick=m.tick_size,
        spread=1,
        dt_s=m.step_ns / NS_PER_SECOND,
        n_steps=len(m.mid),
        n_levels=FIT_LEVELS,
    )
    # 72,000 steps, 8 levels: se(log A) = 0.6%, se(k)/k = 0.5% per side.
    assert 4 * se_log_a < 0.05 and 4 * se_k < 0.05
    fits = [estimate_intensity(m, side=s, n_levels=FIT_LEVELS) for s in (1, -1)]
    for fit in fits:
        assert abs(math.log(fit.a_per_s / INTENSITY_A)) < 4 * se_log_a
        assert abs(fit.k_per_price / INTENSITY_K - 1.0) < 4 * se_k
    # Both sides together (independent): within 5%, and within 4 standard errors.
    a_hat = math.sqrt(fits[0].a_per_s * fits[1].a_per_s)
    k_hat = 0.5 * (fits[0].k_per_price + fits[1].k_per_price)
    assert abs(a_hat / INTENSITY_A - 1.0) < min(0.05, 4 * se_log_a / math.sqrt(2) + 1e-3)
    assert abs(k_hat / INTENSITY_K - 1.0) < min(0.05, 4 * se_k / math.sqrt(2))


def test_intensity_per_level_counts_are_binomial(flow_market: SyntheticMarket) -> None:
    """Each level's step count is Binomial(n, 1 - exp(-A e^{-k delta} dt)): |z| < 4.5."""
    m = flow_market
    dt_s = m.step_ns / NS_PER_SECOND
    n_levels = 15  # down to level 14 (the book has 25): still ~40 steps at the deepest
    for side in (1, -1):
        fit = estimate_intensity(m, side=side, n_levels=n_levels)
        p = 1.0 - np.exp(-INTENSITY_A * np.exp(-INTENSITY_K * fit.depth) * dt_s)
        z = (fit.counts - fit.n_steps * p) / np.sqrt(fit.n_steps * p * (1.0 - p))
        assert np.all(np.abs(z) < 4.5), z
        # Without the saturation correction, count / T is the rate of steps reaching delta,
        # (1 - exp(-lambda dt)) / dt, below lambda by up to 1 - 0.79/1.56 = 49% at the best.
        naive = estimate_intensity(m, side=side, n_levels=n_levels, saturation_correction=False)
        np.testing.assert_allclose(naive.rate_per_s * dt_s, fit.counts / fit.n_steps)
        assert naive.rate_per_s[0] < 0.6 * fit.rate_per_s[0]


def test_per_order_depths_with_replenishment(flow_market: SyntheticMarket) -> None:
    """Resilient book: every candidate trades, orders reaching delta are Poisson(lambda T)."""
    m = flow_market
    if not m.params.book.replenish:
        # Without replenishment some candidates find their levels swept and are dropped.
        assert m.n_market_orders < 0.95 * 2 * INTENSITY_A * math.exp(-INTENSITY_K * 0.05) * 7200
        return
    ev = m.events
    trades = ev[ev["kind"] == EventKind.TRADE]
    # One market order = the TRADE rows of one message (same exchange time and side).
    new_order = np.ones(len(trades), dtype=bool)
    new_order[1:] = (np.diff(trades["exch_ns"]) != 0) | (np.diff(trades["side"]) != 0)
    order = np.cumsum(new_order) - 1
    step = (trades["exch_ns"] - m.mid_ns[0]) // m.step_ns
    level = np.rint(trades["side"] * (trades["price"] - m.mid[step]) / m.tick_size - 0.5)
    deepest = np.full(order[-1] + 1, -1.0)
    np.maximum.at(deepest, order, level)
    assert len(deepest) == m.n_market_orders
    t_s = len(m.mid) * m.step_ns / NS_PER_SECOND
    for j in range(10):
        expected = 2 * INTENSITY_A * math.exp(-INTENSITY_K * (0.5 + j) * m.tick_size) * t_s
        observed = int((deepest >= j).sum())
        assert abs(observed - expected) < 4.5 * math.sqrt(expected), (j, observed, expected)


# -- price dynamics ----------------------------------------------------------------------------


def test_sigma_arithmetic_recovered_from_fair_and_mid() -> None:
    sigma = 0.8  # USD per sqrt(second)
    m = synthetic_market(
        duration_ns=2 * NS_PER_HOUR,
        price=PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=sigma),
        book=BookSpec(n_levels=5),
        flow=FlowSpec(intensity_a_per_s=1.0, limit_rate_per_s=1.0, cancel_rate_per_s=1.0),
        funding=None,
        seed=21,
    )
    n = len(m.fair) - 1
    t_s = n * m.step_ns / NS_PER_SECOND
    # Realized variance of n Gaussian increments: relative sd sqrt(2/n) = 0.53% (n = 71,999).
    tol = 4 * math.sqrt(2 / n)
    rv_fair = float(np.sum(np.diff(m.fair) ** 2))
    assert abs(rv_fair / (sigma**2 * t_s) - 1.0) < tol
    # The mid is the fair price floored to the grid (an error uniform on one tick):
    # E[RV] = sigma^2 T + n tick^2 / 6, a 0.26% bias here, same relative noise.
    rv_mid = float(np.sum(np.diff(m.mid) ** 2))
    assert abs(rv_mid / (sigma**2 * t_s + n * m.tick_size**2 / 6) - 1.0) < tol
    assert np.all(np.abs(m.mid - m.fair) <= m.tick_size)


def test_sigma_geometric_recovered() -> None:
    vol = 0.8  # per sqrt(year)
    m = synthetic_market(
        duration_ns=2 * NS_PER_HOUR,
        step_ns=NS_PER_SECOND,
        price=PriceProcess(kind="geometric", vol=vol),
        book=BookSpec(n_levels=5),
        flow=FlowSpec(intensity_a_per_s=1.0, limit_rate_per_s=1.0, cancel_rate_per_s=1.0),
        funding=None,
        seed=22,
    )
    r = np.diff(np.log(m.fair))
    t_yr = len(r) * NS_PER_SECOND / NS_PER_YEAR
    # 7,199 increments: relative sd of the realized variance sqrt(2/n) = 1.7%.
    assert abs(float(np.sum(r**2)) / (vol**2 * t_yr) - 1.0) < 4 * math.sqrt(2 / len(r))
    np.testing.assert_allclose(m.step_variance, vol**2 * NS_PER_SECOND / NS_PER_YEAR)


def test_merton_jumps() -> None:
    rate, mean, std, vol = 0.05, -0.002, 0.004, 0.5
    m = synthetic_market(
        duration_ns=4 * NS_PER_HOUR,
        step_ns=NS_PER_SECOND,
        price=PriceProcess(vol=vol, jump_rate_per_s=rate, jump_mean=mean, jump_std=std),
        book=BookSpec(n_levels=5),
        flow=FlowSpec(intensity_a_per_s=1.0, limit_rate_per_s=1.0, cancel_rate_per_s=1.0),
        funding=None,
        seed=23,
    )
    n_jumps = int(m.jump_count.sum())
    expected = rate * len(m.jump_count)  # 720 jumps in 14,399 one-second steps
    assert abs(n_jumps - expected) < 4 * math.sqrt(expected)
    with_jump = m.jump_count == 1
    sizes = m.jump_log[with_jump]
    assert abs(sizes.mean() - mean) < 4 * std / math.sqrt(len(sizes))
    assert abs(sizes.std() / std - 1.0) < 4 / math.sqrt(2 * len(sizes))
    assert np.all(m.jump_log[m.jump_count == 0] == 0.0)
    # The diffusion part of the log-returns has the stated vol; the jumps are in the path.
    r = np.diff(np.log(m.fair))
    kappa = math.exp(mean + std**2 / 2) - 1.0
    dt_yr = NS_PER_SECOND / NS_PER_YEAR
    diffusion = r - m.jump_log - (-rate * kappa - 0.5 * vol**2 * dt_yr)
    assert abs(float(np.mean(diffusion**2)) / (vol**2 * dt_yr) - 1.0) < 4 * math.sqrt(2 / len(r))


def test_garch_recursion_and_clustering() -> None:
    alpha, beta, vol = 0.10, 0.85, 0.6
    m = synthetic_market(
        duration_ns=8 * NS_PER_HOUR,
        step_ns=NS_PER_SECOND,
        price=PriceProcess(vol=vol, garch_alpha=alpha, garch_beta=beta),
        book=BookSpec(n_levels=3),
        flow=FlowSpec(intensity_a_per_s=0.5, limit_rate_per_s=0.5, cancel_rate_per_s=0.5),
        funding=None,
        seed=24,
    )
    h = m.step_variance
    eps = np.diff(np.log(m.fair)) + 0.5 * h  # no drift, no jumps
    # The recursion is exact: regressing h_{i+1} on (1, eps_i^2, h_i) returns (omega, a, b).
    x = np.column_stack([np.ones(len(h) - 1), eps[:-1] ** 2, h[:-1]])
    coef = np.linalg.lstsq(x, h[1:], rcond=None)[0]
    var_step = vol**2 * NS_PER_SECOND / NS_PER_YEAR
    np.testing.assert_allclose(coef, [var_step * (1 - alpha - beta), alpha, beta], rtol=1e-6)
    # Unconditional variance: the mean of h is persistent (alpha + beta = 0.95); with 28,799
    # steps about 700 effectively independent values and a CV of h near 0.5, sd ~2%: 10%.
    assert abs(float(h.mean()) / var_step - 1.0) < 0.10
    # Volatility clustering: lag-1 autocorrelation of squared returns, 0.18 in theory for
    # these parameters (Bollerslev 1986), far from 0 (sd of the estimate ~0.01-0.03).
    r2 = eps**2
    rho1 = float(np.corrcoef(r2[:-1], r2[1:])[0, 1])
    assert 0.08 < rho1 < 0.30


def test_constant_vol_has_no_clustering() -> None:
    m = quiet_market(
        duration_ns=8 * NS_PER_HOUR, price=PriceProcess(vol=0.6), funding=None, seed=25
    )
    r2 = np.diff(np.log(m.fair)) ** 2
    rho1 = float(np.corrcoef(r2[:-1], r2[1:])[0, 1])
    assert abs(rho1) < 4 / math.sqrt(len(r2))  # sd 1/sqrt(n) = 0.006


# -- the book ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_market() -> SyntheticMarket:
    return synthetic_market(
        duration_ns=2 * NS_PER_MINUTE,
        book=BookSpec(n_levels=20, spread_ticks=2, replenish=False),
        flow=FlowSpec(hawkes_branching=0.5, hawkes_decay_per_s=5.0),
        bbo=True,
        seed=31,
    )


def test_book_never_crossed_and_bbo_matches(busy_market: SyntheticMarket) -> None:
    ev = busy_market.events
    tick = busy_market.tick_size
    ends = book_messages(ev)
    book = pytest.importorskip("invrisk.market.book", reason="falls back to the dict replay")
    window = book.book_range(ev, tick)
    top = book.replay_top_of_book(
        ev, tick_size=tick, lo_tick=window.lo_tick, n_ticks=window.n_ticks
    )
    assert top.crossed_events == 0 and top.out_of_window == 0
    ready = ~np.isnan(top.bid_price[ends]) & ~np.isnan(top.ask_price[ends])
    assert np.all(top.bid_price[ends][ready] < top.ask_price[ends][ready])
    # The BBO rows describe the replayed book exactly.
    bbo = np.flatnonzero(ev["kind"] == EventKind.BBO)
    bid_rows = bbo[ev["side"][bbo] == 1]
    ask_rows = bbo[ev["side"][bbo] == -1]
    np.testing.assert_array_equal(ev["price"][bid_rows], top.bid_price[bid_rows])
    np.testing.assert_array_equal(ev["qty"][bid_rows], top.bid_qty[bid_rows])
    np.testing.assert_array_equal(ev["price"][ask_rows], top.ask_price[ask_rows])
    np.testing.assert_array_equal(ev["qty"][ask_rows], top.ask_qty[ask_rows])


def test_book_never_crossed_dict_replay(busy_market: SyntheticMarket) -> None:
    """The same check with a dict replay that shares no code with invrisk.market."""
    ev = busy_market.events[:150_000]
    best_bid, best_ask = dict_replay_top(ev, busy_market.tick_size)
    # After every row, not only at message ends: deletions come before insertions.
    assert np.all(best_bid < best_ask)


def test_book_shape(busy_market: SyntheticMarket) -> None:
    ev = busy_market.events
    assert ev.dtype == EVENT_DTYPE and is_sorted_by_local_time(ev)
    assert np.all(np.diff(ev["exch_ns"]) >= 0)
    assert ev["kind"][0] == EventKind.CLEAR
    snap = ev[ev["kind"] == EventKind.SNAPSHOT]
    assert len(snap) == 40 and (snap["side"] == 1).sum() == 20
    bids = np.sort(snap["price"][snap["side"] == 1])
    asks = np.sort(snap["price"][snap["side"] == -1])
    np.testing.assert_allclose(np.diff(bids), 0.1, atol=1e-9)
    np.testing.assert_allclose(asks[0] - bids[-1], 2 * 0.1, atol=1e-9)  # spread_ticks=2
    # Prices on the tick grid, sizes whole lots, only the sizes of book rows may be 0.
    book_rows = np.isin(ev["kind"], [EventKind.DEPTH, EventKind.SNAPSHOT, EventKind.TRADE])
    ticks = ev["price"][book_rows] / busy_market.tick_size
    np.testing.assert_allclose(ticks, np.rint(ticks), atol=1e-6)
    lots = ev["qty"][book_rows] / busy_market.lot_size
    np.testing.assert_allclose(lots, np.rint(lots), atol=1e-6)
    trades = ev[ev["kind"] == EventKind.TRADE]
    assert np.all(trades["qty"] > 0) and set(np.unique(trades["side"])) == {-1, 1}


def test_update_ids_chain(busy_market: SyntheticMarket) -> None:
    ev = busy_market.events
    book = ev[np.isin(ev["kind"], [EventKind.DEPTH, EventKind.SNAPSHOT, EventKind.CLEAR])]
    first = np.flatnonzero(np.diff(book["update_id"], prepend=-1) != 0)
    u, big_u, pu = book["update_id"][first], book["first_id"][first], book["prev_id"][first]
    np.testing.assert_array_equal(pu[1:], u[:-1])  # pu = previous message's u
    np.testing.assert_array_equal(big_u, pu + 1)  # no gap
    sizes = np.diff(np.append(first, len(book)))
    np.testing.assert_array_equal(u - big_u + 1, sizes)  # one id per level change
    trade_ids = ev["update_id"][ev["kind"] == EventKind.TRADE]
    np.testing.assert_array_equal(trade_ids, np.arange(1, len(trade_ids) + 1))


# -- determinism, twins, resumption -------------------------------------------------------------


def _assert_same(a: SyntheticMarket, b: SyntheticMarket) -> None:
    for name in ("events", "mid_ns", "mid", "fair", "index", "step_variance", "jump_count"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.n_market_orders == b.n_market_orders


def test_same_seed_bit_identical_other_seed_differs() -> None:
    kwargs = {
        "duration_ns": 30 * NS_PER_SECOND,
        "price": PriceProcess(
            vol=0.7, jump_rate_per_s=0.1, jump_std=0.001, garch_alpha=0.05, garch_beta=0.9
        ),
        "flow": FlowSpec(hawkes_branching=0.3),
        "bbo": True,
    }
    a = synthetic_market(seed=3, **kwargs)  # type: ignore[arg-type]
    b = synthetic_market(seed=3, **kwargs)  # type: ignore[arg-type]
    _assert_same(a, b)
    c = synthetic_market(seed=4, **kwargs)  # type: ignore[arg-type]
    assert not np.array_equal(a.fair, c.fair)
    assert not np.array_equal(a.events[:1000], c.events[:1000])


@pytest.mark.parametrize("settlement", ["linear", "inverse"])
def test_python_twin_identical(settlement: str) -> None:
    kwargs = {
        "duration_ns": 4 * NS_PER_SECOND,
        "instrument": synthetic_perpetual(settlement),  # type: ignore[arg-type]
        "price": PriceProcess(
            vol=0.9, jump_rate_per_s=0.5, jump_std=0.001, garch_alpha=0.1, garch_beta=0.8
        ),
        "book": BookSpec(n_levels=10, replenish=settlement == "linear"),
        "flow": FlowSpec(hawkes_branching=0.4, hawkes_decay_per_s=3.0),
        "funding": FundingSpec(
            ticker_interval_ns=NS_PER_SECOND // 4, funding_interval_ns=NS_PER_SECOND
        ),
        "bbo": True,
        "seed": 9,
    }
    jit = synthetic_market(**kwargs)  # type: ignore[arg-type]
    py = synthetic_market(backend="python", **kwargs)  # type: ignore[arg-type]
    _assert_same(jit, py)
    assert (jit.events["kind"] == EventKind.FUNDING).sum() == 3


def test_output_independent_of_buffer_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {"duration_ns": 20 * NS_PER_SECOND, "bbo": True, "seed": 2}
    ref = synthetic_market(**kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(sm, "_UNIFORM_CHUNK", 37)
    monkeypatch.setattr(sm, "_INITIAL_ROWS", 500)
    small = synthetic_market(**kwargs)  # type: ignore[arg-type]
    _assert_same(ref, small)


def test_max_events_is_a_prefix() -> None:
    full = synthetic_market(duration_ns=20 * NS_PER_SECOND, seed=6)
    cut = synthetic_market(duration_ns=20 * NS_PER_SECOND, seed=6, max_events=12_345)
    assert len(cut.events) == 12_345
    assert np.array_equal(cut.events, full.events[:12_345])
    assert np.array_equal(cut.mid, full.mid[: len(cut.mid)])
    assert cut.mid_ns[-1] <= cut.events["exch_ns"][-1]


# -- instruments -------------------------------------------------------------------------------


def test_inverse_quantities_are_contracts_of_the_same_notional() -> None:
    kwargs = {"duration_ns": 5 * NS_PER_MINUTE, "seed": 13}
    lin = synthetic_market(instrument=synthetic_perpetual("linear"), **kwargs)  # type: ignore[arg-type]
    inv = synthetic_market(instrument=synthetic_perpetual("inverse"), **kwargs)  # type: ignore[arg-type]
    assert inv.instrument.is_inverse and lin.instrument.is_linear
    assert (inv.lot_size, lin.lot_size) == (1.0, 0.001)
    cs = inv.instrument.contract_size  # 100 USD
    # Same seed, same draws: the initial book has the same prices, and each size is the
    # linear one converted, q_base p / 100, to whole contracts (the linear size is itself
    # rounded to 0.001 BTC, hence the bound 0.5 + 0.0005 p / 100 contracts).
    s_lin = lin.events[lin.events["kind"] == EventKind.SNAPSHOT]
    s_inv = inv.events[inv.events["kind"] == EventKind.SNAPSHOT]
    np.testing.assert_array_equal(s_lin["price"], s_inv["price"])
    converted = s_lin["qty"] * s_lin["price"] / cs
    assert np.all(np.abs(s_inv["qty"] - converted) <= 0.5 + 0.0005 * s_lin["price"] / cs)
    assert np.all(s_inv["qty"] == np.rint(s_inv["qty"])) and np.all(s_inv["qty"] >= 1)
    # Over the run the traded USD notionals agree: qty * 100 USD vs qty_BTC * price. The two
    # runs share all draws; they differ only by size rounding (about 0.1% per trade here).
    t_lin = lin.events[lin.events["kind"] == EventKind.TRADE]
    t_inv = inv.events[inv.events["kind"] == EventKind.TRADE]
    usd_lin = float(np.sum(t_lin["qty"] * t_lin["price"]))
    usd_inv = float(np.sum(t_inv["qty"]) * cs)
    assert abs(usd_inv / usd_lin - 1.0) < 0.02


def test_non_perpetual_needs_no_funding() -> None:
    spot = dataclasses.replace(
        synthetic_perpetual("linear"), kind="spot", settle="USDT", name="BTC/USDT"
    )
    m = quiet_market(instrument=spot, funding=None)
    assert not np.isin(m.events["kind"], [EventKind.MARK, EventKind.INDEX, EventKind.FUNDING]).any()
    with pytest.raises(InvalidArgumentError, match="funding"):
        quiet_market(instrument=spot)


# -- perpetual tickers -------------------------------------------------------------------------


def test_funding_every_8h_on_the_utc_grid() -> None:
    start = to_ns("2026-01-01T05:00:00Z")
    m = quiet_market(
        duration_ns=20 * NS_PER_HOUR,
        step_ns=10 * NS_PER_SECOND,
        start_ns=start,
        funding=FundingSpec(ticker_interval_ns=NS_PER_MINUTE, premium_std=1e-5),
    )
    f = m.events[m.events["kind"] == EventKind.FUNDING]
    expected = [
        to_ns(s) for s in ("2026-01-01T08:00:00Z", "2026-01-01T16:00:00Z", "2026-01-02T00:00:00Z")
    ]
    np.testing.assert_array_equal(f["exch_ns"], expected)
    # |premium| << 0.05%: the clamp passes the interest rate through, 0.01% per interval.
    np.testing.assert_allclose(f["price"], 1e-4, rtol=0, atol=1e-12)
    index = m.events[m.events["kind"] == EventKind.INDEX]
    assert np.all(index["exch_ns"] % NS_PER_MINUTE == 0)
    assert len(index) == 20 * 60  # every minute in [05:00, 01:00)


def test_funding_follows_a_large_premium_then_hits_the_cap() -> None:
    start = to_ns("2026-01-01T00:00:00Z")

    def run(mean: float) -> tuple[np.ndarray, SyntheticMarket]:
        m = quiet_market(
            duration_ns=2 * NS_PER_HOUR,
            step_ns=10 * NS_PER_SECOND,
            start_ns=start,
            funding=FundingSpec(
                funding_interval_ns=NS_PER_HOUR,
                ticker_interval_ns=10 * NS_PER_SECOND,
                premium_mean=mean,
                premium_std=1e-4,
                premium_halflife_s=60.0,
            ),
        )
        return m.events[m.events["kind"] == EventKind.FUNDING]["price"], m

    rates, m = run(0.003)
    # P + clamp(0.0001 - P, +-0.0005) = P - 0.0005, P the mean premium over the hour: the book
    # mid is within a tick of the fair price, so P = mean(fair / index - 1) to ~1e-5.
    premium = m.fair / m.index - 1.0
    first_hour = premium[: len(premium) // 2]
    assert len(rates) == 1
    np.testing.assert_allclose(rates[0], first_hour.mean() - 0.0005, atol=2e-5)
    capped, _ = run(0.02)
    np.testing.assert_array_equal(capped, [0.0075])


def test_index_and_mark_rows() -> None:
    m = quiet_market(funding=FundingSpec(ticker_interval_ns=5 * NS_PER_SECOND))
    ev = m.events
    index = ev[ev["kind"] == EventKind.INDEX]
    mark = ev[ev["kind"] == EventKind.MARK]
    np.testing.assert_array_equal(index["exch_ns"], mark["exch_ns"])
    step = (index["exch_ns"] - m.mid_ns[0]) // m.step_ns
    np.testing.assert_array_equal(index["price"], m.index[step])
    # Mark = index (1 + EMA of the premium): within a few premium sds (3e-4) of the index.
    assert np.all(np.abs(mark["price"] / index["price"] - 1.0) < 3e-3)
    assert np.all(index["side"] == 0) and np.all(index["qty"] == 0)


# -- latency -----------------------------------------------------------------------------------


def test_constant_latency() -> None:
    m = quiet_market(latency=LatencySpec(constant_ns=1_234_567, jitter_mean_ns=0.0))
    lat = m.events["local_ns"] - m.events["exch_ns"]
    assert np.all(lat == 1_234_567)


def test_latency_distribution_exponential_jitter() -> None:
    const, jitter = 2_000_000, 300_000.0
    m = quiet_market(
        duration_ns=NS_PER_HOUR,
        latency=LatencySpec(constant_ns=const, jitter_mean_ns=jitter),
        funding=None,
    )
    ev = m.events
    ends = book_messages(ev)
    lat = (ev["local_ns"] - ev["exch_ns"])[ends]
    assert np.all(lat >= const)
    # Messages are ~0.3 s apart, 1,000 jitter means: in-order delivery almost never delays a
    # message, so latency - constant is Exponential(300 us); KS test at the 1e-3 level, and
    # the mean within 4 sd (sd = mean / sqrt(n)).
    excess = lat - const
    assert stats.kstest(excess, "expon", args=(0, jitter)).pvalue > 1e-3
    assert abs(excess.mean() / jitter - 1.0) < 4 / math.sqrt(len(excess))
    assert np.all(np.diff(ev["local_ns"]) >= 0)


# -- Hawkes ------------------------------------------------------------------------------------


def test_hawkes_clusters_and_keeps_the_mean_rate() -> None:
    def counts(n: float) -> tuple[np.ndarray, SyntheticMarket]:
        m = synthetic_market(
            duration_ns=NS_PER_HOUR,
            price=PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=0.3),
            book=BookSpec(n_levels=20),
            flow=FlowSpec(
                intensity_a_per_s=5.0,
                limit_rate_per_s=2.0,
                cancel_rate_per_s=2.0,
                hawkes_branching=n,
                hawkes_decay_per_s=1.0,
            ),
            funding=None,
            seed=17,
        )
        trades = m.events[m.events["kind"] == EventKind.TRADE]
        first = np.ones(len(trades), dtype=bool)
        first[1:] = np.diff(trades["exch_ns"]) != 0
        window = (trades["exch_ns"][first] - m.mid_ns[0]) // (10 * NS_PER_SECOND)
        return np.bincount(window, minlength=360), m

    poisson, m0 = counts(0.0)
    hawkes, m1 = counts(0.6)
    # Candidates per side: A e^{-k tick/2} = 5 e^{-0.25} = 3.89/s, 28,000 per hour on 2 sides.
    # Hawkes count variance ~ mean / (1 - n)^2: sd 420 (n = 0.6) -> 4 sd = 6%.
    expected = 2 * 5.0 * math.exp(-5.0 * 0.05) * 3600
    assert abs(m1.n_market_orders / expected - 1.0) < 4 * math.sqrt(expected) / 0.4 / expected
    assert abs(m0.n_market_orders / expected - 1.0) < 4 / math.sqrt(expected)
    fano_p = poisson.var() / poisson.mean()
    fano_h = hawkes.var() / hawkes.mean()
    # 10 s windows, beta = 1/s: Fano factor ~1 for Poisson, ~1/(1-n)^2 = 6 for n = 0.6
    # (less the short-window loss); sd of a Fano estimate from 360 windows ~0.08 (Poisson).
    assert 0.7 < fano_p < 1.3
    assert fano_h > 3.0


# -- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda: PriceProcess(vol=-0.1), "vol"),
        (lambda: PriceProcess(kind="arithmetic"), "sigma_price_per_sqrt_s"),
        (lambda: PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=1.0, vol=0.5), "vol"),
        (lambda: PriceProcess(sigma_price_per_sqrt_s=1.0), "sigma_price_per_sqrt_s"),
        (lambda: PriceProcess(kind="brownian"), "kind"),  # type: ignore[arg-type]
        (lambda: PriceProcess(initial_price=0.0), "initial_price"),
        (lambda: PriceProcess(garch_alpha=0.2, garch_beta=0.8), "garch_beta"),
        (lambda: PriceProcess(garch_alpha=-0.1), "garch_alpha"),
        (lambda: PriceProcess(jump_rate_per_s=-1.0), "jump_rate_per_s"),
        (lambda: PriceProcess(jump_std=float("nan")), "jump_std"),
        (lambda: BookSpec(n_levels=1), "n_levels"),
        (lambda: BookSpec(spread_ticks=0), "spread_ticks"),
        (lambda: BookSpec(qty_noise=1.0), "qty_noise"),
        (lambda: BookSpec(top_qty=0.0), "top_qty"),
        (lambda: FlowSpec(intensity_a_per_s=0.0), "intensity_a_per_s"),
        (lambda: FlowSpec(intensity_k_per_price=-1.0), "intensity_k_per_price"),
        (lambda: FlowSpec(hawkes_branching=1.0), "hawkes_branching"),
        (lambda: FlowSpec(hawkes_decay_per_s=0.0), "hawkes_decay_per_s"),
        (lambda: FlowSpec(cancel_rate_per_s=-1.0), "cancel_rate_per_s"),
        (lambda: FundingSpec(funding_interval_ns=0), "funding_interval_ns"),
        (lambda: FundingSpec(premium_std=0.5), "premium_std"),
        (lambda: LatencySpec(constant_ns=-1), "constant_ns"),
        (lambda: LatencySpec(jitter_mean_ns=-1.0), "jitter_mean_ns"),
        (lambda: synthetic_market(duration_ns=0), "duration_ns"),
        (lambda: synthetic_market(duration_ns=NS_PER_SECOND, step_ns=3 * 10**8), "duration_ns"),
        (lambda: synthetic_market(duration_ns=NS_PER_SECOND, step_ns=0), "step_ns"),
        (lambda: synthetic_market(duration_ns=NS_PER_SECOND, seed=-1), "seed"),
        (lambda: synthetic_market(duration_ns=NS_PER_SECOND, max_events=0), "max_events"),
        (lambda: synthetic_market(duration_ns=NS_PER_SECOND, backend="c"), "backend"),  # type: ignore[arg-type]
        (lambda: synthetic_market(duration_ns=NS_PER_SECOND, book=3), "book"),  # type: ignore[arg-type]
        (lambda: synthetic_perpetual("quanto"), "settlement"),  # type: ignore[arg-type]
        (lambda: benchmark_stream(0), "n_events"),
    ],
)
def test_bad_parameters_name_the_argument(make: object, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        make()  # type: ignore[operator]
    assert info.value.argument == argument


def test_arithmetic_path_that_goes_negative_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="price"):
        synthetic_market(
            duration_ns=NS_PER_MINUTE,
            price=PriceProcess(kind="arithmetic", initial_price=10.0, sigma_price_per_sqrt_s=50.0),
        )


def test_intensity_helper() -> None:
    flow = FlowSpec(intensity_a_per_s=2.0, intensity_k_per_price=3.0)
    assert flow.intensity(0.0) == 2.0
    np.testing.assert_allclose(flow.intensity(np.array([1.0, 2.0])), 2.0 * np.exp([-3.0, -6.0]))


# -- the benchmark dataset and the option chain ------------------------------------------------


def _check_benchmark(m: SyntheticMarket, n: int) -> None:
    ev = m.events
    assert len(ev) == n and is_sorted_by_local_time(ev)
    assert (m.tick_size, m.lot_size, m.params.book.n_levels) == (0.1, 0.001, 50)
    share = float((ev["kind"] == EventKind.TRADE).mean())
    assert 0.17 < share < 0.23, share
    assert m.mid.min() > 50_000 and m.mid.max() < 70_000


def test_benchmark_stream_small() -> None:
    _check_benchmark(benchmark_stream(200_000, seed=1), 200_000)


@pytest.mark.slow
def test_benchmark_stream_5m() -> None:
    _check_benchmark(benchmark_stream(seed=0), 5_000_000)


def test_option_chain_is_the_existing_generator() -> None:
    assert synthetic_option_chain is synthetic_chain
    chain = synthetic_option_chain(expiry_days=(7,), strikes_per_expiry=5)
    assert len(chain.strike) == 10
