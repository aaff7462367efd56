"""Market features against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrisk.errors import InvalidArgumentError
from invrisk.market import (
    L2Book,
    book_imbalance,
    microprice,
    mid_price,
    realized_volatility,
    spread,
    spread_ticks,
    trade_flow_imbalance,
    weighted_mid,
)
from invrisk.units import NS_PER_MINUTE, NS_PER_SECOND, NS_PER_YEAR
from tests.market._streams import D, rows

nan = math.nan


def test_mid_spread_and_ticks() -> None:
    assert mid_price(100.0, 101.0) == 100.5
    np.testing.assert_array_equal(mid_price([1.0, nan], [3.0, 2.0]), [2.0, nan])
    assert spread(61659.7, 61659.8) == pytest.approx(0.1, abs=1e-9)
    assert spread_ticks(61659.7, 61659.8, 0.1) == 1.0
    np.testing.assert_array_equal(
        spread_ticks([100.0, 100.0, nan, 100.2], [100.3, 100.1, 100.0, 100.1], 0.1),
        [3.0, 1.0, nan, -1.0],
    )
    with pytest.raises(InvalidArgumentError, match="tick_size"):
        spread_ticks(1.0, 2.0, 0.0)
    with pytest.raises(InvalidArgumentError, match="broadcast"):
        mid_price([1.0, 2.0], [1.0, 2.0, 3.0])


def test_microprice_by_hand() -> None:
    # I = Qb / (Qb + Qa) = 3/4: P = 0.75 * 101 + 0.25 * 100
    assert microprice(100.0, 3.0, 101.0, 1.0) == 0.75 * 101.0 + 0.25 * 100.0
    assert microprice(100.0, 1.0, 101.0, 1.0) == 100.5  # balanced: the mid
    assert microprice(100.0, 0.0, 101.0, 2.0) == 100.0  # no bid size: the bid
    out = microprice([100.0, 100.0, nan], [1.0, 0.0, 1.0], [101.0, 101.0, 101.0], [3.0, 0.0, 1.0])
    np.testing.assert_array_equal(out, [100.25, nan, nan])
    with pytest.raises(InvalidArgumentError, match="bid_qty"):
        microprice(100.0, -1.0, 101.0, 1.0)


def test_weighted_mid_by_hand() -> None:
    bp, bq = [100.0, 99.0, 98.0], [1.0, 1.0, 5.0]
    ap, aq = [101.0, 102.0, nan], [1.0, 3.0, 0.0]
    # two levels: Pb = 99.5 (Vb 2), Pa = (101 + 306)/4 = 101.75 (Va 4)
    expected = (99.5 * 4.0 + 101.75 * 2.0) / 6.0
    assert weighted_mid(bp, bq, ap, aq, n_levels=2) == pytest.approx(expected, rel=1e-15)
    # one level: the microprice
    assert weighted_mid(bp, bq, ap, aq, n_levels=1) == microprice(100.0, 1.0, 101.0, 1.0)
    # three levels: the padded ask level (NaN price, size 0) adds nothing
    pb3 = (100.0 + 99.0 + 5 * 98.0) / 7.0
    expected3 = (pb3 * 4.0 + 101.75 * 7.0) / 11.0
    assert weighted_mid(bp, bq, ap, aq, n_levels=3) == pytest.approx(expected3, rel=1e-15)
    # stacked samples (times x levels), and an empty side
    out = weighted_mid([bp, bp], [bq, bq], [ap, [nan] * 3], [aq, [0.0] * 3], n_levels=2)
    np.testing.assert_allclose(out, [expected, nan], rtol=1e-15)
    with pytest.raises(InvalidArgumentError, match="n_levels"):
        weighted_mid(bp, bq, ap, aq, n_levels=4)
    with pytest.raises(InvalidArgumentError, match="n_levels"):
        weighted_mid(bp, bq, ap, aq, n_levels=0)


def test_book_imbalance_by_hand() -> None:
    assert book_imbalance(3.0, 1.0) == 0.5
    assert book_imbalance(0.0, 2.0) == -1.0
    assert math.isnan(book_imbalance(0.0, 0.0))
    bq, aq = [1.0, 2.0, 4.0], [2.0, 2.0, 0.0]
    assert book_imbalance(bq, aq, n_levels=1) == (1 - 2) / 3
    assert book_imbalance(bq, aq, n_levels=2) == (3 - 4) / 7
    assert book_imbalance(bq, aq, n_levels=3) == (7 - 4) / 11
    np.testing.assert_array_equal(book_imbalance([bq, aq], [aq, bq], n_levels=2), [-1 / 7, 1 / 7])
    np.testing.assert_array_equal(book_imbalance(bq, aq), [-1 / 3, 0.0, 1.0])  # per element
    with pytest.raises(InvalidArgumentError, match="bid_qty"):
        book_imbalance(2.0, 1.0, n_levels=1)


def test_features_from_a_book_snapshot() -> None:
    book = L2Book(tick_size=0.1, lo_tick=990, n_ticks=30)
    book.apply(
        rows([(D, 1, 100.0, 2.0), (D, 1, 99.9, 1.0), (D, -1, 100.2, 1.0), (D, -1, 100.3, 3.0)])
    )
    snap = book.snapshot(5)
    assert mid_price(book.best_bid, book.best_ask) == 100.1
    assert spread_ticks(book.best_bid, book.best_ask, 0.1) == 2.0
    assert book_imbalance(snap.bid_qty, snap.ask_qty, n_levels=5) == (3.0 - 4.0) / 7.0
    assert microprice(book.best_bid, book.best_bid_qty, book.best_ask, book.best_ask_qty) == (
        pytest.approx((100.0 * 1.0 + 100.2 * 2.0) / 3.0, rel=1e-15)
    )
    assert weighted_mid(
        snap.bid_price, snap.bid_qty, snap.ask_price, snap.ask_qty, n_levels=1
    ) == microprice(100.0, 2.0, 100.2, 1.0)


def test_realized_volatility_by_hand() -> None:
    s = NS_PER_SECOND
    # observations at irregular times; the 1 s grid takes the last mid at or before each point
    t = np.array([0, 300_000_000, 1 * s, 1 * s + 1, 2 * s + 500_000_000, 3 * s])
    mid = np.array([100.0, nan, 101.0, 102.0, 100.0, 100.5])
    rv = realized_volatility(t, mid, interval_ns=s)
    grid_prices = [100.0, 101.0, 102.0, 100.5]  # at 0, 1, 2, 3 s
    r = np.diff(np.log(grid_prices))
    np.testing.assert_allclose(rv.log_returns, r, rtol=0, atol=0)
    assert rv.n_returns == 3 and rv.start_ns == 0 and rv.end_ns == 3 * s
    assert rv.realized_variance == pytest.approx(float(np.sum(r**2)), rel=1e-15)
    assert rv.vol_per_sqrt_s == pytest.approx(math.sqrt(np.sum(r**2) / 3.0), rel=1e-14)
    # per sqrt(year) = per sqrt(second) * sqrt(365 * 86400)
    assert rv.vol == pytest.approx(rv.vol_per_sqrt_s * math.sqrt(NS_PER_YEAR / s), rel=1e-14)
    # a grid starting before the data drops the points without an observation
    rv2 = realized_volatility(t, mid, interval_ns=s, start_ns=-2 * s, end_ns=3 * s + 10)
    assert rv2.n_returns == 3 and rv2.start_ns == 0


def test_realized_volatility_of_a_random_walk() -> None:
    # 1-minute returns of a geometric random walk with 50%/yr volatility, over 200 days
    rng = np.random.default_rng(5)
    vol = 0.5
    dt = NS_PER_MINUTE
    n = 200 * 24 * 60
    log_p = np.cumsum(rng.normal(0.0, vol * math.sqrt(dt / NS_PER_YEAR), n))
    t = np.arange(n, dtype=np.int64) * dt
    rv = realized_volatility(t, 60_000.0 * np.exp(log_p), interval_ns=dt)
    # the estimator's relative standard error is 1/sqrt(2 n) ~ 0.1%; 4 sigma
    assert rv.vol == pytest.approx(vol, rel=4 / math.sqrt(2 * n))


def test_realized_volatility_bad_input() -> None:
    with pytest.raises(InvalidArgumentError, match="interval_ns"):
        realized_volatility([0, 10], [1.0, 2.0], interval_ns=11)
    with pytest.raises(InvalidArgumentError, match="interval_ns"):
        realized_volatility([0, 10], [1.0, 2.0], interval_ns=0)
    with pytest.raises(InvalidArgumentError, match="mid"):
        realized_volatility([0, 10], [1.0, -2.0], interval_ns=5)
    with pytest.raises(InvalidArgumentError, match="t_ns"):
        realized_volatility([10, 0], [1.0, 2.0], interval_ns=5)
    with pytest.raises(InvalidArgumentError, match="t_ns"):
        realized_volatility([0.0, 10.0], [1.0, 2.0], interval_ns=5)
    with pytest.raises(InvalidArgumentError, match="mid"):
        realized_volatility([0, 10], [nan, nan], interval_ns=5)


def test_trade_flow_imbalance_by_hand() -> None:
    t = [0, 10, 10, 25, 40]
    side = [1, -1, 1, -1, -1]
    qty = [2.0, 1.0, 1.0, 3.0, 0.5]
    out = trade_flow_imbalance(t, side, qty, window_ns=20)
    # windows (t - 20, t]: {0}, {0, 10, 10} twice, {10, 10, 25}, {25, 40}
    expected = [1.0, (3 - 1) / 4, (3 - 1) / 4, (1 - 4) / 5, -1.0]
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    at = trade_flow_imbalance(t, side, qty, window_ns=5, at_ns=[-1, 0, 4, 5, 12, 100])
    np.testing.assert_array_equal(at, [nan, 1.0, 1.0, nan, 0.0, nan])
    # windows of only buys are exactly 1 even after large cumulative volumes
    big = trade_flow_imbalance([0, 1, 2], [-1, 1, 1], [1e12, 0.1, 0.2], window_ns=2)
    assert big[-1] == 1.0
    with pytest.raises(InvalidArgumentError, match="side"):
        trade_flow_imbalance([0], [0], [1.0], window_ns=1)
    with pytest.raises(InvalidArgumentError, match="window_ns"):
        trade_flow_imbalance([0], [1], [1.0], window_ns=0)
    with pytest.raises(InvalidArgumentError, match="qty"):
        trade_flow_imbalance([0], [1], [-1.0], window_ns=1)
