"""Tests of invrisk.quoting.calibrate: sigma and lambda(delta) = A exp(-k delta) calibration.

Statistical checks are seeded; a deviation beyond 4 of the standard errors the estimator itself
reports fails (probability below 1e-4 per check for a correct estimator with honest errors).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from invrisk.data.binance import read_binance_stream
from invrisk.data.events import EventKind, Side
from invrisk.data.synthetic_market import (
    BookSpec,
    FlowSpec,
    PriceProcess,
    SyntheticMarket,
    synthetic_market,
)
from invrisk.data.tardis import read_tardis
from invrisk.errors import DataWarning, InvalidArgumentError
from invrisk.market.book import L2Book
from invrisk.quoting import calibrate as cal
from invrisk.quoting.calibrate import (
    RollingCalibrator,
    calibrate_intensity,
    calibrate_sigma,
)
from invrisk.units import NS_PER_HOUR, NS_PER_MINUTE, NS_PER_MS, NS_PER_SECOND
from tests.conftest import require_data

A_TRUE = 20.0  # per second
K_TRUE = 5.0  # per USD (0.5 per tick of 0.1)
SIGMA_TRUE = 0.5  # USD per sqrt(second)
LEVELS = 15


def flow_market(seed: int, duration_ns: int = 30 * NS_PER_MINUTE) -> SyntheticMarket:
    return synthetic_market(
        duration_ns=duration_ns,
        price=PriceProcess(kind="arithmetic", sigma_price_per_sqrt_s=SIGMA_TRUE),
        book=BookSpec(n_levels=25),
        flow=FlowSpec(
            intensity_a_per_s=A_TRUE,
            intensity_k_per_price=K_TRUE,
            limit_rate_per_s=5.0,
            cancel_rate_per_s=5.0,
        ),
        funding=None,
        seed=seed,
    )


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return flow_market(11)


def fit(m: SyntheticMarket, side: cal.IntensitySide) -> cal.IntensityEstimate:
    return calibrate_intensity(
        m.events,
        mid_ns=m.mid_ns,
        mid=m.mid,
        tick_size=m.tick_size,
        max_depth_ticks=LEVELS,
        side=side,
    )


def test_codes_mirror_the_event_enums() -> None:
    assert cal.TRADE_KIND == EventKind.TRADE
    assert (cal._BUYER, cal._SELLER) == (Side.BID, Side.ASK)


# -- synthetic recovery ------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["bid", "ask", "both"])
def test_intensity_recovered_within_reported_errors(market: SyntheticMarket, side: str) -> None:
    est = fit(market, side)  # type: ignore[arg-type]
    assert est.status == "ok"
    # 18,000 intervals per side: se(A)/A ~ 1%, se(k)/k ~ 0.7% (0.5% when pooled).
    assert est.a_se_per_s / A_TRUE < 0.015 and est.k_se_per_price / K_TRUE < 0.01
    assert abs(est.a_per_s - A_TRUE) < 4 * est.a_se_per_s
    assert abs(est.k_per_price - K_TRUE) < 4 * est.k_se_per_price
    assert est.exposure_s == pytest.approx(1800.0)
    np.testing.assert_allclose(est.depth[:3], [0.05, 0.15, 0.25])
    # The saturation-corrected per-level rates follow the fitted curve (first 5 levels ~1-3%).
    np.testing.assert_allclose(est.rate_per_s[:5], est.intensity(est.depth[:5]), rtol=0.05)


def test_intensity_errors_are_honest_over_seeds() -> None:
    """z = (est - true) / se over 8 seeds and 2 sides: |z| < 4 and mean z^2 near 1."""
    z = []
    for seed in range(8):
        m = flow_market(100 + seed, duration_ns=10 * NS_PER_MINUTE)
        for side in ("bid", "ask"):
            est = fit(m, side)
            z.append((est.a_per_s - A_TRUE) / est.a_se_per_s)
            z.append((est.k_per_price - K_TRUE) / est.k_se_per_price)
    zz = np.array(z)
    assert np.all(np.abs(zz) < 4.0), zz
    # 32 z-values (A and k are correlated ~0.5, so fewer independent): mean z^2 is ~1 with a
    # sd of about 0.35; a factor-2 error in the SEs would give 4 or 0.25.
    assert 0.3 < float(np.mean(zz**2)) < 2.5, zz


def test_sigma_recovered_within_reported_errors(market: SyntheticMarket) -> None:
    est = calibrate_sigma(market.mid_ns, market.mid, interval_ns=NS_PER_SECOND)
    assert est.n_intervals == 1799
    # Gaussian increments: se = sigma / sqrt(2 n) = 0.0083. The tick noise adds tick^2/6 per
    # interval (0.7% of the variance of 0.25 per s: 0.0008 in sigma), well inside 4 se.
    assert est.sigma_se_price_per_sqrt_s == pytest.approx(SIGMA_TRUE / math.sqrt(2 * 1799), rel=0.2)
    assert abs(est.sigma_price_per_sqrt_s - SIGMA_TRUE) < 4 * est.sigma_se_price_per_sqrt_s
    # Relative vol: sigma / price * sqrt(seconds per year), price ~60,000.
    vol = SIGMA_TRUE / float(np.mean(market.mid)) * math.sqrt(365 * 86400)
    assert abs(est.vol - vol) < 4 * est.vol_se + 0.01 * vol


def test_sigma_ewma_weights_recent_data() -> None:
    t = np.arange(201, dtype=np.int64) * NS_PER_SECOND
    steps = np.where(np.arange(200) < 100, 1.0, 3.0) * np.where(np.arange(200) % 2, 1, -1)
    mid = 1000.0 + np.concatenate([[0.0], np.cumsum(steps)])
    flat = calibrate_sigma(t, mid, interval_ns=NS_PER_SECOND)
    assert flat.sigma_price_per_sqrt_s == pytest.approx(math.sqrt(5.0))
    ewma = calibrate_sigma(t, mid, interval_ns=NS_PER_SECOND, ewma_halflife_ns=5 * NS_PER_SECOND)
    assert ewma.sigma_price_per_sqrt_s == pytest.approx(3.0, rel=1e-3)
    assert ewma.n_effective < 20


# -- rolling -----------------------------------------------------------------------------------


def test_rolling_calibrator_warms_up_fits_and_reports_staleness() -> None:
    m = flow_market(7, duration_ns=6 * NS_PER_MINUTE)
    rc = RollingCalibrator(
        2 * NS_PER_MINUTE, tick_size=m.tick_size, max_depth_ticks=LEVELS, clock="exch_ns"
    )
    ev = m.events
    states = []
    chunk = 30 * NS_PER_SECOND
    for lo in range(int(m.mid_ns[0]), int(m.mid_ns[-1]), chunk):
        in_ev = (ev["exch_ns"] >= lo) & (ev["exch_ns"] < lo + chunk)
        in_mid = (m.mid_ns >= lo) & (m.mid_ns < lo + chunk)
        st = rc.update(ev[in_ev], mid_ns=m.mid_ns[in_mid], mid=m.mid[in_mid])
        states.append(st)
    assert [s.state for s in states[:3]] == ["warming_up"] * 3
    assert all(s.sigma is None and s.age_ns is None and s.message for s in states[:3])
    assert all(s.state == "ok" and s.age_ns == 0 for s in states[4:])
    last = states[-1]
    assert last.bid is not None and last.ask is not None and last.sigma is not None
    for est in (last.bid, last.ask):
        assert abs(est.a_per_s - A_TRUE) < 4 * est.a_se_per_s
        assert abs(est.k_per_price - K_TRUE) < 4 * est.k_se_per_price
    assert abs(last.sigma.sigma_price_per_sqrt_s - SIGMA_TRUE) < 4 * (
        last.sigma.sigma_se_price_per_sqrt_s
    )
    # Mids keep coming but no trades: the old fit is kept, marked stale, with its age.
    t_next = int(m.mid_ns[-1]) + NS_PER_SECOND
    quiet = rc.update(ev[:0], mid_ns=[t_next], mid=[float(m.mid[-1])])
    t_late = t_next + 3 * NS_PER_MINUTE
    late = rc.update(ev[:0], mid_ns=[t_late], mid=[float(m.mid[-1])])
    assert late.state == "stale" and late.ready
    assert late.age_ns is not None and late.age_ns >= 3 * NS_PER_MINUTE
    assert "too few trades" in late.message
    assert late.bid is quiet.bid or quiet.state == "ok"


@pytest.mark.parametrize("reference", ["interval_start", "pre_trade"])
def test_rolling_counts_equal_a_batch_fit_of_the_same_window(reference: str) -> None:
    """The rolling calibrator counts each interval once, when it closes; its window must hold
    exactly the counts of a batch :func:`calibrate_intensity` over the same intervals (start at
    the lattice point at or before ``now - window``, end at the last closed interval), with
    chunks that cut intervals and trades that land after the last mid of their update."""
    m = flow_market(3, duration_ns=5 * NS_PER_MINUTE)
    ev = m.events
    window, dt = 2 * NS_PER_MINUTE, 100 * NS_PER_MS
    rc = RollingCalibrator(
        window,
        tick_size=m.tick_size,
        max_depth_ticks=LEVELS,
        clock="exch_ns",
        reference=reference,  # type: ignore[arg-type]
    )
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.integers(int(m.mid_ns[0]) + 1, int(m.mid_ns[-1]), 40))
    lo = int(m.mid_ns[0])
    for hi in [*cuts.tolist(), int(m.mid_ns[-1]) + 1]:
        in_ev = (ev["exch_ns"] >= lo) & (ev["exch_ns"] < hi)
        in_mid = (m.mid_ns >= lo) & (m.mid_ns < hi)
        st = rc.update(ev[in_ev], mid_ns=m.mid_ns[in_mid], mid=m.mid[in_mid])
        lo = hi
    assert st.state == "ok" and st.bid is not None and st.ask is not None
    first = int(m.mid_ns[0])
    now = int(max(m.mid_ns[-1], ev["exch_ns"][ev["kind"] == EventKind.TRADE].max()))
    start = first + ((now - window - first) // dt) * dt
    end = first + ((int(m.mid_ns[-1]) - first) // dt) * dt
    for got, side in ((st.bid, "bid"), (st.ask, "ask")):
        want = calibrate_intensity(
            ev,
            mid_ns=m.mid_ns,
            mid=m.mid,
            tick_size=m.tick_size,
            max_depth_ticks=LEVELS,
            side=side,  # type: ignore[arg-type]
            clock="exch_ns",
            start_ns=start,
            end_ns=end,
            reference=reference,  # type: ignore[arg-type]
        )
        np.testing.assert_array_equal(got.reached_intervals, want.reached_intervals)
        assert (got.n_intervals, got.n_trades) == (want.n_intervals, want.n_trades)
        # same likelihood; the optimiser started elsewhere (warm start vs OLS)
        assert got.log_likelihood == pytest.approx(want.log_likelihood, rel=1e-9, abs=1e-6)
        assert got.a_per_s == pytest.approx(want.a_per_s, rel=1e-4)
        assert got.k_per_price == pytest.approx(want.k_per_price, rel=1e-4)


def test_rolling_rejects_a_trade_in_a_closed_interval() -> None:
    m = flow_market(3, duration_ns=NS_PER_MINUTE)
    ev = m.events
    rc = RollingCalibrator(NS_PER_MINUTE // 2, tick_size=m.tick_size, clock="exch_ns")
    half = int(m.mid_ns[0]) + NS_PER_MINUTE // 2
    first = ev["exch_ns"] < half
    rc.update(ev[first], mid_ns=m.mid_ns[m.mid_ns < half], mid=m.mid[m.mid_ns < half])
    with pytest.raises(InvalidArgumentError, match=r"events.*closed"):
        rc.update(ev, mid_ns=m.mid_ns[m.mid_ns >= half], mid=m.mid[m.mid_ns >= half])


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 60), st.sampled_from([-1, 1])), max_size=12),
        min_size=1,
        max_size=12,
    ),
    trims=st.lists(st.integers(0, 70), min_size=12, max_size=12),
    data=st.data(),
)
def test_rolling_buffers_match_a_plain_sorted_list(
    batches: list[list[tuple[int, int]]], trims: list[int], data: st.DataObject
) -> None:
    """The rolling calibrator's time-sorted buffers (appends out of order merged in, trims at
    the front) hold exactly what a stably sorted list of the same rows holds, and count each
    side from any time on as a scan of that list does."""
    tail = cal._Tail((np.int64, np.int64, np.float64), counted=(-1, 1))
    ref: list[tuple[int, int, float]] = []
    serial = 0.0
    for batch, trim in zip(batches, trims, strict=False):
        rows = []
        for t, side in batch:
            serial += 1.0  # the price column tells the rows apart (stability)
            rows.append((t, side, serial))
        tail.append(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows]),
        )
        ref = sorted(ref + rows, key=lambda r: r[0])  # stable: earlier rows first on ties
        tail.trim_before(trim)
        ref = [r for r in ref if r[0] >= trim] if ref and ref[0][0] < trim else ref
        got = list(zip(*(tail.col(j).tolist() for j in range(3)), strict=True))
        assert got == ref
        t0 = data.draw(st.integers(0, 70))
        a, b = tail.range_of(t0)
        assert [r[0] for r in ref[a:b]] == [r[0] for r in ref if r[0] >= t0]
        for k, side in enumerate((-1, 1)):
            assert tail.count_from(k, a) == sum(1 for r in ref if r[0] >= t0 and r[1] == side)


# -- real data ---------------------------------------------------------------------------------

DIR = "binance_l2_trades_2024-08-08_hftbacktest/"


def mid_grid(ev: np.ndarray, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Book mid every 100 ms of the local (replay) clock."""
    book = L2Book.for_events(ev, tick_size=tick, max_ticks=200_000)
    t = ev["local_ns"]
    dt = 100 * NS_PER_MS
    grid = np.arange(-(-int(t[0]) // dt) * dt, int(t[-1]), dt, dtype=np.int64)
    s = book.sample(ev, at_ns=grid, n_levels=1)
    return grid, (s.bid_price[:, 0] + s.ask_price[:, 0]) / 2.0


def real_fit(ev: np.ndarray, tick: float, side: str) -> cal.IntensityEstimate:
    g, m = mid_grid(ev, tick)
    return calibrate_intensity(
        ev,
        mid_ns=g,
        mid=m,
        tick_size=tick,
        side=side,  # type: ignore[arg-type]
        clock="local_ns",
    )


@pytest.fixture(scope="module")
def btc_raw() -> np.ndarray:
    return read_binance_stream(require_data(DIR + "usdm_btcusdt_20240808.gz")).events


@pytest.fixture(scope="module")
def btc_tardis() -> np.ndarray:
    book_path = require_data(
        DIR + "derived_tardis_format/"
        "binance-futures_incremental_book_L2_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
    )
    trades_path = require_data(
        DIR + "derived_tardis_format/binance-futures_trades_2024-08-08_BTCUSDT_2354-2359UTC.csv.gz"
    )
    with warnings.catch_warnings():
        # PROVENANCE.txt: pre-snapshot diffs come right after the snapshot rows, with slightly
        # earlier local timestamps (one DataWarning, rows kept in file order).
        warnings.simplefilter("ignore", DataWarning)
        book = read_tardis(book_path).events
    ev = np.concatenate([book, read_tardis(trades_path).events])
    return ev[np.argsort(ev["local_ns"], kind="stable")]


@pytest.mark.parametrize(
    ("name", "tick", "k_range"),
    [
        # 344 s of USD-M perps at ~61,700 and ~2,680 USD. Price moves within 100 ms (sigma of a
        # few USD per sqrt(s) for BTC) carry trades many ticks from the previous mid, so k is of
        # the order of 1 / (sigma sqrt(dt)): ~0.1-10 per USD for BTC; ETH prices are 23x
        # smaller, so k is ~23x larger.
        ("usdm_btcusdt_20240808.gz", 0.1, (0.5, 10.0)),
        ("usdm_ethusdt_20240808.gz", 0.01, (5.0, 100.0)),
    ],
)
def test_real_binance_plausible(name: str, tick: float, k_range: tuple[float, float]) -> None:
    stream = read_binance_stream(require_data(DIR + name))
    assert stream.tick_size == tick
    for side in ("bid", "ask"):
        est = real_fit(stream.events, tick, side)
        assert est.status == "ok"
        # ~3,400 intervals, trades in about 40% of them at the best: A of a few per second
        # (total trade messages ~ 20,000 / 344 s = 60/s, but bunched within intervals).
        assert 0.5 < est.a_per_s < 50.0
        assert k_range[0] < est.k_per_price < k_range[1]
        for se, value in ((est.a_se_per_s, est.a_per_s), (est.k_se_per_price, est.k_per_price)):
            assert math.isfinite(se) and 0 < se < 0.1 * value
    g, m = mid_grid(stream.events, tick)
    sig = calibrate_sigma(g, m, interval_ns=NS_PER_SECOND)
    # Annualised vol of BTC/ETH on 2024-08-08 late UTC (days after the Aug-5 crash): 30%-150%.
    assert 0.3 < sig.vol < 1.5 and 0 < sig.vol_se < 0.3 * sig.vol


def test_real_raw_and_tardis_agree(btc_raw: np.ndarray, btc_tardis: np.ndarray) -> None:
    for side in ("bid", "ask", "both"):
        raw = real_fit(btc_raw, 0.1, side)
        tar = real_fit(btc_tardis, 0.1, side)
        # Same trades and book; Tardis times are in us (grid assignment can differ by a row).
        assert abs(raw.n_trades - tar.n_trades) <= 5
        assert abs(raw.a_per_s - tar.a_per_s) < 0.1 * raw.a_se_per_s
        assert abs(raw.k_per_price - tar.k_per_price) < 0.1 * raw.k_se_per_price


# -- bad input ---------------------------------------------------------------------------------


def test_bad_input_names_the_argument(market: SyntheticMarket) -> None:
    ev, t, mid, tick = market.events, market.mid_ns, market.mid, market.tick_size
    cases: list[tuple[object, str]] = [
        (lambda: calibrate_intensity(ev[:0], mid_ns=t, mid=mid, tick_size=tick), "events"),
        (
            lambda: calibrate_intensity(
                ev[ev["kind"] != EventKind.TRADE], mid_ns=t, mid=mid, tick_size=tick
            ),
            "events",
        ),
        (
            lambda: calibrate_intensity(ev, mid_ns=t, mid=mid, tick_size=tick, interval_ns=0),
            "interval_ns",
        ),
        (lambda: calibrate_intensity(ev, mid_ns=t, mid=mid, tick_size=0.0), "tick_size"),
        (
            lambda: calibrate_intensity(
                ev,
                mid_ns=t,
                mid=mid,
                tick_size=tick,
                side="up",  # type: ignore[arg-type]
            ),
            "side",
        ),
        (lambda: calibrate_intensity(ev, mid_ns=t[:0], mid=mid[:0], tick_size=tick), "mid_ns"),
        (lambda: calibrate_intensity(np.zeros(3), mid_ns=t, mid=mid, tick_size=tick), "events"),
        (lambda: calibrate_sigma(t, mid, interval_ns=-1), "interval_ns"),
        (lambda: calibrate_sigma(t[:0], mid[:0], interval_ns=NS_PER_SECOND), "mid_ns"),
        (lambda: calibrate_sigma(t, -mid, interval_ns=NS_PER_SECOND), "mid"),
        (lambda: calibrate_sigma(t[:1], mid[:1], interval_ns=NS_PER_SECOND), "interval_ns"),
        (
            lambda: calibrate_sigma(t, mid, interval_ns=NS_PER_SECOND, ewma_halflife_ns=0),
            "ewma_halflife_ns",
        ),
        (lambda: RollingCalibrator(0, tick_size=tick), "window_ns"),
        (lambda: RollingCalibrator(NS_PER_SECOND, tick_size=-1.0), "tick_size"),
    ]
    for make, argument in cases:
        with pytest.raises(InvalidArgumentError) as info:
            make()  # type: ignore[operator]
        assert info.value.argument == argument, (argument, info.value)


def test_long_run_tight_errors() -> None:
    """Sanity: errors shrink like 1/sqrt(T) (2 h vs 30 min: factor ~2)."""
    short = fit(flow_market(3), "both")
    long = fit(flow_market(3, duration_ns=2 * NS_PER_HOUR), "both")
    assert long.k_se_per_price == pytest.approx(short.k_se_per_price / 2, rel=0.1)


# -- depth reference: interval start vs the mid each market order met -------------------------


def test_pre_trade_reference_recovers_a_fast_market_from_the_replayed_book() -> None:
    """BTC-like market (sigma ~5 USD/sqrt(s), i.e. ~16 ticks per 100 ms step; A = 85 /s,
    k = 5 /USD, the generator's definition: depth from the step's reference mid). The mids are
    what a replay sees: the local book sampled 1 ns before each trade message and on the
    interval grid. With the interval-start reference a trade's depth is measured from a mid up
    to one step stale, which biases A and k far below the truth; with ``"pre_trade"`` (the mid
    the market order met) both are recovered within 4 reported standard errors."""
    from invrisk.data.synthetic_market import benchmark_stream

    m = benchmark_stream(400_000, seed=5)
    ev = m.events
    trades = ev["local_ns"][ev["kind"] == EventKind.TRADE] - 1
    grid = np.arange(int(ev["local_ns"][0]), int(ev["local_ns"][-1]), 100 * NS_PER_MS)
    at = np.union1d(grid, trades)
    s = L2Book.for_events(ev, tick_size=m.tick_size).sample(ev, at_ns=at, n_levels=1)
    mid = 0.5 * (s.bid_price[:, 0] + s.ask_price[:, 0])
    ok = np.isfinite(mid)
    kw = {"mid_ns": at[ok], "mid": mid[ok], "tick_size": m.tick_size, "clock": "local_ns"}
    a_true, k_true = m.params.flow.intensity_a_per_s, m.params.flow.intensity_k_per_price
    for side in ("bid", "ask"):
        good = calibrate_intensity(ev, side=side, reference="pre_trade", **kw)  # type: ignore[arg-type]
        assert abs(good.a_per_s - a_true) < 4 * good.a_se_per_s, good
        assert abs(good.k_per_price - k_true) < 4 * good.k_se_per_price, good
        stale = calibrate_intensity(ev, side=side, **kw)  # type: ignore[arg-type]
        assert stale.a_per_s < 0.5 * a_true and stale.k_per_price < 0.6 * k_true
    with pytest.raises(InvalidArgumentError, match="reference"):
        calibrate_intensity(ev, reference="mid", **kw)  # type: ignore[arg-type]


def test_deepest_levels_equal_an_unbuffered_maximum_per_interval() -> None:
    """The grouped reduce gives, per interval, the same deepest level as ``np.maximum.at`` (an
    independent reference), on sorted and shuffled trade times, trades inside half a tick of
    the mid counting as none (-1)."""
    rng = np.random.default_rng(0)
    for trial in range(200):
        n, m = int(rng.integers(1, 50)), int(rng.integers(0, 300))
        t = np.sort(rng.integers(0, n * 100, m)).astype(np.int64)
        if trial % 3 == 0:
            rng.shuffle(t)
        side = rng.choice([-1, 1], m).astype(np.int8)
        price = 100 + rng.normal(0, 0.5, m)
        ref = 100 + rng.normal(0, 0.1, n)
        got, _ = cal._deepest_levels(
            t, side, price, 1, start=0, dt_ns=100, ref_mid=ref, tick=0.1, n_levels=10
        )
        buy = side == 1
        idx = t[buy] // 100
        level = np.floor((price[buy] - ref[idx]) / 0.1 - 0.5 + 1e-9).astype(np.int64)
        want = np.full(n, -1, dtype=np.int64)
        np.maximum.at(want, idx, np.minimum(level, 9))
        np.testing.assert_array_equal(got, want)


def test_warm_start_finds_the_same_maximum(market: SyntheticMarket) -> None:
    """Starting the fit from another estimate (as the rolling calibrator does from the previous
    window's) reaches the same maximum-likelihood estimate as the OLS start."""
    kw = {
        "mid_ns": market.mid_ns,
        "mid": market.mid,
        "tick_size": market.tick_size,
        "interval_ns": 100 * NS_PER_MS,
        "max_depth_ticks": LEVELS,
        "sides": ("bid", "ask"),
        "clock": "exch_ns",
        "start_ns": None,
        "end_ns": None,
        "reference": "interval_start",
    }
    cold = cal._intensity_fits(market.events, **kw)  # type: ignore[arg-type]
    far = [replace(e, a_per_s=3 * e.a_per_s, k_per_price=0.5 * e.k_per_price) for e in cold]
    warm = cal._intensity_fits(market.events, warm=tuple(far), **kw)  # type: ignore[arg-type]
    for c, w in zip(cold, warm, strict=True):
        np.testing.assert_allclose(
            [w.a_per_s, w.k_per_price], [c.a_per_s, c.k_per_price], rtol=1e-6
        )
        np.testing.assert_allclose(w.log_likelihood, c.log_likelihood, rtol=1e-12)


def test_fisher_scoring_reaches_the_maximum_a_derivative_free_search_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fit's Fisher scoring (with its bounded fallback) against scipy's Nelder-Mead on the
    same negative log-likelihood, started from the truth, on multinomial counts drawn from
    known (A, k); and counts where every reaching interval stopped at the first level (k is
    not identified: the likelihood is flat, scoring gives up, and the status says so)."""
    from scipy import optimize

    rng = np.random.default_rng(4)
    tick, dt_s, n_levels = 0.1, 0.1, 20
    depth = (np.arange(n_levels) + 0.5) * tick
    for a_true, k_true, n in ((20.0, 5.0, 3000), (85.0, 5.0, 3000), (2.0, 20.0, 500)):
        p, _ = cal._category_probs(math.log(a_true), k_true, depth, dt_s)
        cat = rng.multinomial(n, p / p.sum()).astype(np.int64)
        with monkeypatch.context() as mp:  # identified: scoring alone, no fallback
            mp.setattr(optimize, "minimize", None)  # the fit imports it when it falls back
            log_a, k, loglik = cal._fit_a_k(cat, depth, dt_s, tick, (0.0, 1.0 / tick))

        def nll(theta: np.ndarray, cat: np.ndarray = cat) -> float:
            q, _ = cal._category_probs(float(theta[0]), math.exp(float(theta[1])), depth, dt_s)
            return -float(np.sum(cat * np.log(np.maximum(q, 1e-300))))

        ref = optimize.minimize(
            nll,
            [math.log(a_true), math.log(k_true)],
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
        )
        assert loglik >= -ref.fun - 1e-9
        np.testing.assert_allclose([log_a, math.log(k)], ref.x, atol=1e-5)
    cat = np.zeros(n_levels + 1, dtype=np.int64)
    cat[0], cat[1] = 600, 400  # reached the first level 400 times, never deeper
    fit = cal._fit_counts(
        cat, n_valid=1000, n_trades=400, side="bid", dt_ns=100 * NS_PER_MS, tick=tick, warm=None
    )
    assert fit.status == "too_few_levels"  # reported as not identified, whatever k came out


def test_compiled_fisher_scoring_kernel_equals_its_python_twin() -> None:
    """The jitted kernel against the pure-Python source it is compiled from, on counts drawn
    from several (A, k), from cold and warm starts, and on a flat likelihood (both give up)."""
    from invrisk.quoting import _calib_kernels as nb
    from invrisk.quoting import _calib_kernels_python as py

    rng = np.random.default_rng(11)
    tick, dt_s = 0.1, 0.1
    lo_k, hi_k = (math.log(b / tick) for b in cal._K_BOUNDS_PER_TICK)
    for a_true, k_true, n, n_levels in (
        (20.0, 5.0, 3000, 50),
        (85.0, 5.0, 800, 20),
        (2.0, 20.0, 500, 10),
    ):
        depth = (np.arange(n_levels) + 0.5) * tick
        p, _ = cal._category_probs(math.log(a_true), k_true, depth, dt_s)
        cat = rng.multinomial(n, p / p.sum()).astype(np.float64)
        for start in ((0.0, math.log(1.0 / tick)), (math.log(a_true), math.log(k_true))):
            out_py, out_nb = np.empty(3), np.empty(3)
            args = (cat, depth, dt_s, *start, *cal._LOG_A_BOUNDS, lo_k, hi_k)
            it_py = py.fisher_scoring_kernel(*args, out_py)
            it_nb = nb.fisher_scoring_kernel(*args, out_nb)
            assert it_py == it_nb > 0
            np.testing.assert_allclose(out_nb, out_py, rtol=1e-13, atol=0.0)
    depth = (np.arange(20) + 0.5) * tick
    flat = np.zeros(21)
    flat[0], flat[1] = 600.0, 400.0
    args = (flat, depth, dt_s, 0.0, math.log(10.0), *cal._LOG_A_BOUNDS, lo_k, hi_k)
    assert py.fisher_scoring_kernel(*args, np.empty(3)) == -1
    assert nb.fisher_scoring_kernel(*args, np.empty(3)) == -1
