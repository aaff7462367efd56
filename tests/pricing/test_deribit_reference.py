"""Our coin-settled prices, Greeks and implied vols against Deribit's own published numbers.

Reference data (read from ``shared/data``, never copied; see each folder's PROVENANCE.txt):

* ``deribit_ticker_greeks_2020-05/btc_options_ticker_2020-05-{14,21}.csv``: two sweeps of the
  BTC option chain (310 and 326 instruments) with Deribit's mark price, mark IV and Greeks.
  Inputs per row: T from ``timestamp`` (ms) to ``expiration_timestamp`` (08:00 UTC, ms) on a
  365-day year, forward = ``underlying_price``, r = 0, vol = ``mark_iv`` / 100.
* ``deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv``:
  166 tickers with best bid/ask and Deribit's bid_iv/ask_iv, valued at 2026-03-01T13:48:15Z (the
  file has no timestamp; the time was inferred from Deribit's deltas, interquartile range
  13:42:42-13:52:58).

What limits the agreement, and the tolerances derived from it:

* Deribit rounds its Greeks to 5 decimals (half a unit: 5e-6; gamma, ~1e-4 per USD, keeps only
  one or two significant digits, so it is compared in absolute terms), ``mark_iv`` to 0.01 vol
  points (5e-5 in vol) and ``underlying_price`` to 0.01 USD.
* Deribit evaluates its Greeks at a whole minute, not at the ticker's ``timestamp``: for deep
  in-the-money options, whose rho ω·K·T·N(ωd2)/100 is K·T/100 to the rounding, the T implied by
  Deribit's rho puts the evaluation time on a whole minute within about a second, although the
  timestamps fall anywhere in the minute (``test_deribit_greeks_are_evaluated_at_a_whole_minute``).
  Time is therefore known to one of {timestamp, the minute before, the minute after}.
* The mark price is not always computed from the ``underlying_price`` reported in the same row:
  it matches a forward up to a few USD away (never more than the largest tick-to-tick move of
  that expiry's forward in the sweep).

Per-row tolerance of a Greek g: 5e-6 + max |g(corner) - g| over the corners σ ± 5e-5,
F ± 0.005 USD, evaluation time in {timestamp, floor and ceiling of its minute}. Issue targets
(mark price 1e-5 coin, delta 5e-5, vega/theta 1e-4 relative for expiries over 3 days) are
asserted where they hold for every row and otherwise as shares of rows, with the measured shares
written beside them; no row is dropped.
"""

from __future__ import annotations

import ast
import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.special import ndtr

from invrisk.pricing import (
    DeribitGreeks,
    IVStatus,
    coin_greeks,
    coin_price,
    deribit_greeks,
    deribit_theta_per_day,
    implied_vol_coin,
)
from tests.conftest import require_data

MS_PER_YEAR = 365 * 86_400 * 1_000
MS_PER_MINUTE = 60_000
GREEK_HALF_UNIT = 5e-6  # Deribit's Greeks have 5 decimals
IV_HALF_UNIT = 5e-5  # mark_iv, bid_iv, ask_iv have 2 decimals in percent
F_HALF_UNIT = 0.005  # underlying_price has 2 decimals in USD
MARK_HALF_UNIT = 5e-9  # mark_price has 8 decimals in coin
SLACK = 1e-9  # relative slack on derived tolerances (values exactly at a rounding boundary)

DIR_2020 = "deribit_ticker_greeks_2020-05"
FILES_2020 = [
    f"{DIR_2020}/btc_options_ticker_2020-05-14.csv",
    f"{DIR_2020}/btc_options_ticker_2020-05-21.csv",
]
TESSICIN = "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"
TESSICIN_VALUATION_MS = 1_772_372_895_000  # 2026-03-01T13:48:15Z


@dataclass(frozen=True)
class Sweep:
    name: list[str]
    ts_ms: np.ndarray
    expiry_ms: np.ndarray
    forward: np.ndarray
    strike: np.ndarray
    cp: np.ndarray
    vol: np.ndarray
    mark: np.ndarray
    greeks: dict[str, np.ndarray]

    def t_yr(self, at_ms: np.ndarray | None = None) -> np.ndarray:
        start = self.ts_ms if at_ms is None else at_ms
        return (self.expiry_ms - start) / MS_PER_YEAR

    @property
    def days(self) -> np.ndarray:
        return self.t_yr() * 365.0

    def ours(self, **override: np.ndarray) -> DeribitGreeks:
        kw: dict[str, Any] = {
            "forward": self.forward,
            "strike": self.strike,
            "t_yr": self.t_yr(),
            "vol": self.vol,
            "option_type": self.cp,
        }
        kw.update(override)
        return deribit_greeks(**kw)


def load_sweep(path: Path) -> Sweep:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    greeks = [ast.literal_eval(r["greeks"]) for r in rows]
    assert {r["interest_rate"] for r in rows} == {"0.0"}
    return Sweep(
        name=[r["instrument_name"] for r in rows],
        ts_ms=np.array([int(r["timestamp"]) for r in rows], dtype=np.int64),
        expiry_ms=np.array([int(r["expiration_timestamp"]) for r in rows], dtype=np.int64),
        forward=np.array([float(r["underlying_price"]) for r in rows]),
        strike=np.array([float(r["strike"]) for r in rows]),
        cp=np.array([1.0 if r["option_type"] == "call" else -1.0 for r in rows]),
        vol=np.array([float(r["mark_iv"]) for r in rows]) / 100.0,
        mark=np.array([float(r["mark_price"]) for r in rows]),
        greeks={
            k: np.array([g[k] for g in greeks]) for k in ("delta", "gamma", "vega", "theta", "rho")
        },
    )


@pytest.fixture(scope="module", params=FILES_2020, ids=["2020-05-14", "2020-05-21"])
def sweep(request: pytest.FixtureRequest) -> Sweep:
    return load_sweep(require_data(request.param))


@pytest.fixture(scope="module")
def both_sweeps() -> list[Sweep]:
    return [load_sweep(require_data(p)) for p in FILES_2020]


def rounding_tolerance(sw: Sweep, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """5e-6 + the largest move of each Greek over the rounding/timing corners of its inputs."""
    center = sw.ours()
    floor_ms = sw.ts_ms // MS_PER_MINUTE * MS_PER_MINUTE
    ceil_ms = -(-sw.ts_ms // MS_PER_MINUTE) * MS_PER_MINUTE
    dev = {n: np.zeros(sw.strike.shape) for n in names}
    for dv, df, at in itertools.product(
        (-IV_HALF_UNIT, 0.0, IV_HALF_UNIT),
        (-F_HALF_UNIT, 0.0, F_HALF_UNIT),
        (sw.ts_ms, floor_ms, ceil_ms),
    ):
        g = sw.ours(vol=sw.vol + dv, forward=sw.forward + df, t_yr=sw.t_yr(at))
        for n in names:
            dev[n] = np.maximum(
                dev[n], np.abs(np.asarray(getattr(g, n)) - np.asarray(getattr(center, n)))
            )
    return {n: (GREEK_HALF_UNIT + dev[n]) * (1 + SLACK) for n in names}


def _report(sw: Sweep, bad: np.ndarray, ours: np.ndarray, ref: np.ndarray) -> str:
    idx = np.flatnonzero(bad)[:5]
    return "; ".join(
        f"{sw.name[i]} ({sw.days[i]:.2f} d): ours {ours[i]:.7g}, Deribit {ref[i]:.7g}" for i in idx
    )


# -- the 2020 sweeps: expiry convention -----------------------------------------------------------


def test_expiries_are_0800_utc(sweep: Sweep) -> None:
    assert np.all(sweep.expiry_ms % (86_400 * 1_000) == 8 * 3_600 * 1_000)
    assert np.all(sweep.t_yr() > 0)


# -- mark price -----------------------------------------------------------------------------------


def test_mark_price(sweep: Sweep) -> None:
    g = coin_greeks(
        forward=sweep.forward,
        strike=sweep.strike,
        t_yr=sweep.t_yr(),
        vol=sweep.vol,
        option_type=sweep.cp,
    )
    err = np.abs(np.asarray(g.price_coin) - sweep.mark)
    # Issue target 1e-5 coin: met by 73% (05-14) and 72% (05-21) of the rows, median 3.7e-6.
    assert np.median(err) <= 1e-5
    assert np.mean(err <= 1e-5) >= 0.70, f"share within 1e-5: {np.mean(err <= 1e-5):.3f}"
    # Every row: the mark IV's rounding (vega_coin · 5e-5) plus a forward that may differ from
    # this row's underlying_price by as much as the forward of the expiry moves between two
    # consecutive tickers of the sweep (5.3 USD on 05-14, 5.2 USD on 05-21; the rows need at
    # most 3.4 USD) plus the 8-decimal rounding of the mark price.
    jump = 0.0
    for e in np.unique(sweep.expiry_ms):
        idx = np.flatnonzero(sweep.expiry_ms == e)
        idx = idx[np.argsort(sweep.ts_ms[idx])]
        jump = max(jump, float(np.abs(np.diff(sweep.forward[idx])).max(initial=0.0)))
    assert 1.0 < jump < 10.0
    tol = (
        np.asarray(g.vega_coin) * IV_HALF_UNIT
        + np.abs(np.asarray(g.delta_coin)) * jump
        + MARK_HALF_UNIT
    )
    bad = err > tol
    assert not bad.any(), _report(sweep, bad, np.asarray(g.price_coin), sweep.mark)


# -- Greeks ---------------------------------------------------------------------------------------


def test_greeks_within_rounding_of_deribit(sweep: Sweep) -> None:
    # Every row, every expiry (the 2.3-hour ones included): delta, gamma, vega, rho within the
    # per-row tolerance of the module docstring.
    names = ("delta", "gamma", "vega", "rho")
    tol = rounding_tolerance(sweep, names)
    g = sweep.ours()
    for n in names:
        ours = np.asarray(getattr(g, n))
        bad = np.abs(ours - sweep.greeks[n]) > tol[n]
        assert not bad.any(), f"{n}: {int(bad.sum())} rows: " + _report(
            sweep, bad, ours, sweep.greeks[n]
        )


def test_theta_beyond_three_days_within_rounding_of_deribit(sweep: Sweep) -> None:
    # Beyond 3 days Deribit's theta is the analytic θ/365 except for options worth less than a
    # day of decay (capped at -V); shorter expiries: see the theta convention test below.
    long = sweep.days > 3
    tol = rounding_tolerance(sweep, ("theta",))["theta"]
    g = sweep.ours()
    bad = long & (np.abs(np.asarray(g.theta) - sweep.greeks["theta"]) > tol)
    assert not bad.any(), _report(sweep, bad, np.asarray(g.theta), sweep.greeks["theta"])


def test_issue_targets_beyond_three_days(sweep: Sweep) -> None:
    long = sweep.days > 3
    assert long.sum() >= 228
    g = sweep.ours()
    # delta within 5e-5 absolute: every row (max 2.4e-5 / 2.5e-5).
    d_err = np.abs(np.asarray(g.delta) - sweep.greeks["delta"])[long]
    assert d_err.max() <= 5e-5
    # vega and theta within 1e-4 relative: not every row, because of the mark IV's 0.01 rounding
    # (volga · 5e-5) and the whole-minute evaluation time (vega ∝ √T moves 6e-5 relative over
    # 30 s at 3 days): 91% / 88% of the rows for vega, 79% / 80% for theta, medians 3e-5 and
    # 5.5e-5; the remaining rows are within the rounding tolerance (tests above).
    for n, share, median in (("vega", 0.85, 5e-5), ("theta", 0.75, 1e-4)):
        ref = sweep.greeks[n][long]
        rel = np.abs(np.asarray(getattr(g, n))[long] - ref) / np.abs(ref)
        assert np.median(rel) <= median, (n, np.median(rel))
        assert np.mean(rel <= 1e-4) >= share, (n, np.mean(rel <= 1e-4))


def test_deribit_greeks_are_evaluated_at_a_whole_minute(sweep: Sweep) -> None:
    # For options so deep in the money that N(ωd2) = 1 to the rounding, Deribit's rho is
    # ω·K·T/100: its 5 decimals give T to within `precision` seconds. The evaluation time that
    # T implies lies on a whole minute (to within one precision), while the row timestamps are
    # spread over the minute and mostly several precisions away from it.
    g = sweep.ours()
    deep = np.abs(sweep.greeks["delta"]) >= 0.999
    with np.errstate(divide="ignore"):
        precision_s = GREEK_HALF_UNIT / np.abs(sweep.greeks["rho"]) * sweep.t_yr() * 365 * 86_400
    sel = deep & (precision_s < 3.0)
    assert sel.sum() >= 10
    offset_s = sweep.t_yr() * (sweep.greeks["rho"] / np.asarray(g.rho) - 1.0) * 365 * 86_400
    evaluated_s = sweep.ts_ms / 1000.0 - offset_s
    to_minute = np.abs(evaluated_s - np.round(evaluated_s / 60.0) * 60.0)
    assert np.all(to_minute[sel] <= precision_s[sel]), to_minute[sel] / precision_s[sel]
    assert np.mean(np.abs(offset_s[sel]) > 3 * precision_s[sel]) >= 0.5


def test_rho_is_strike_times_t_times_n_d2(sweep: Sweep) -> None:
    # The library's rho, T·(F·Δ - V)/100, is ω·K·T·N(ω·d2)/100 (at r = 0), computed here
    # independently with scipy: equal to rounding.
    t = sweep.t_yr()
    sd = sweep.vol * np.sqrt(t)
    d2 = np.log(sweep.forward / sweep.strike) / sd - 0.5 * sd
    direct = sweep.cp * sweep.strike * t * ndtr(sweep.cp * d2) / 100.0
    g = sweep.ours()
    scale = (sweep.forward + sweep.strike) * t / 100.0
    assert np.all(np.abs(np.asarray(g.rho) - direct) <= 1e-13 * scale)


# -- the short-dated theta convention -------------------------------------------------------------


def _theta_errors(sweeps: list[Sweep]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ours, analytic, ref, days = [], [], [], []
    for sw in sweeps:
        g = sw.ours()
        usd = coin_greeks(
            forward=sw.forward, strike=sw.strike, t_yr=sw.t_yr(), vol=sw.vol, option_type=sw.cp
        ).usd
        th = deribit_theta_per_day(theta=usd.theta, price=usd.price, t_yr=sw.t_yr())
        assert np.array_equal(np.asarray(th), np.asarray(g.theta))
        ours.append(np.asarray(th))
        analytic.append(np.asarray(g.theta_analytic))
        ref.append(sw.greeks["theta"])
        days.append(sw.days)
    return np.concatenate(ours), np.concatenate(analytic), np.concatenate(ref), np.concatenate(days)


def test_deribit_theta_convention_on_all_rows(both_sweeps: list[Sweep]) -> None:
    ours, analytic, ref, days = _theta_errors(both_sweeps)
    assert ours.size == 636
    # 38 rows where Deribit shows theta 0: ours rounds to 0 at 5 decimals.
    zero = ref == 0.0
    assert np.all(np.abs(ours[zero]) <= GREEK_HALF_UNIT)
    rel = np.abs(ours[~zero] - ref[~zero]) / np.abs(ref[~zero])
    beyond_rounding = np.maximum(np.abs(ours[~zero] - ref[~zero]) - GREEK_HALF_UNIT, 0.0) / np.abs(
        ref[~zero]
    )
    short = days[~zero] <= 3
    # Within 3 days (140 rows): median 5.9e-4 (3.9e-4 beyond the 5-decimal rounding), p90 7e-3,
    # largest error beyond rounding 2.0e-2 (the largest raw relative errors, up to 0.45, are
    # thetas of 1e-5 USD/day that Deribit rounds to one digit).
    assert np.median(rel[short]) <= 1e-3
    assert np.median(beyond_rounding[short]) <= 5e-4
    assert np.quantile(rel[short], 0.9) <= 1.5e-2
    assert beyond_rounding[short].max() <= 5e-2
    # Beyond 3 days (458 rows): median 5.6e-5, p90 1.3e-4, max 5.1e-4.
    assert np.median(rel[~short]) <= 1e-4
    assert np.quantile(rel[~short], 0.9) <= 2e-4
    assert rel[~short].max() <= 1e-3
    # The convention matters: the analytic θ/365 is off by a median 130% within 3 days.
    rel_analytic = np.abs(analytic[~zero] - ref[~zero]) / np.abs(ref[~zero])
    assert np.median(rel_analytic[short]) > 0.5


def test_deribit_theta_per_day_rule() -> None:
    # max(θ·min(T, 1/365), -V): a day of decay, or the time left, never more than the value.
    th = deribit_theta_per_day(
        theta=np.array([-365.0, -365.0, -365.0, -3650.0]),
        price=np.array([10.0, 10.0, 0.5, 10.0]),
        t_yr=np.array([1.0, 0.5 / 365, 1.0, 1.0]),
    )
    np.testing.assert_array_equal(th, [-1.0, -0.5, -0.5, -10.0])


# -- 2026-03-01: bid/ask IVs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Quotes:
    name: list[str]
    t: np.ndarray
    forward: np.ndarray
    strike: np.ndarray
    cp: np.ndarray
    price: dict[str, np.ndarray]
    iv: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def quotes() -> Quotes:
    with require_data(TESSICIN).open(newline="") as fh:
        rows = list(csv.DictReader(fh))

    def num(text: str) -> float:
        return float(text) if text.strip() else math.nan

    expiry = np.array([int(r["expiration_timestamp"]) for r in rows], dtype=np.int64)
    assert np.all(expiry % (86_400 * 1_000) == 8 * 3_600 * 1_000)
    return Quotes(
        name=[r["instrument_name"] for r in rows],
        t=(expiry - TESSICIN_VALUATION_MS) / MS_PER_YEAR,
        forward=np.array([float(r["underlying_price"]) for r in rows]),
        strike=np.array([float(r["strike"]) for r in rows]),
        cp=np.array([1.0 if r["type"] == "call" else -1.0 for r in rows]),
        price={s: np.array([num(r[f"best_{s}_price"]) for r in rows]) for s in ("bid", "ask")},
        iv={s: np.array([num(r[f"{s}_iv"]) for r in rows]) / 100.0 for s in ("bid", "ask")},
    )


# Rows whose exchange IV belongs to a neighbouring price on the book (the ticker's IV and best
# price were taken at different moments): BTC-26JUN26-62000-P has best bid 0.077 but bid_iv 50.97%,
# which prices the bid at 0.07751, one 0.0005 tick higher (0.0775) to within the rounding.
STALE = {("bid", "BTC-26JUN26-62000-P")}
TICK = 0.0005
VALUATION_UNCERTAINTY_S = 600.0  # inferred time 13:48:15; fetches spread 13:42-13:53 (IQR)


@pytest.mark.parametrize("side", ["bid", "ask"])
def test_exchange_ivs_reprice_best_bid_and_ask(quotes: Quotes, side: str) -> None:
    px, iv = quotes.price[side], quotes.iv[side]
    has_iv = np.isfinite(px) & (iv > 0)  # bid_iv == 0 means Deribit has no IV for the quote
    g = coin_greeks(
        forward=quotes.forward,
        strike=quotes.strike,
        t_yr=quotes.t,
        vol=np.where(has_iv, iv, 0.5),
        option_type=quotes.cp,
    )
    ours = np.asarray(g.price_coin)
    err = np.abs(ours - px)
    # Per row: IV rounding (vega_coin · 5e-5), the valuation time's uncertainty (|theta_coin| ·
    # 10 min), the forward's rounding (|delta_coin| · 0.005) and the 1e-8 coin price grid.
    tol = (
        np.asarray(g.vega_coin) * IV_HALF_UNIT
        + np.abs(np.asarray(g.theta_coin)) * VALUATION_UNCERTAINTY_S / (365 * 86_400)
        + np.abs(np.asarray(g.delta_coin)) * F_HALF_UNIT
        + MARK_HALF_UNIT
    )
    bad = has_iv & (err > tol)
    stale = {(side, quotes.name[i]) for i in np.flatnonzero(bad)}
    assert stale == {s for s in STALE if s[0] == side}, sorted(stale)
    for i in np.flatnonzero(bad):  # the excluded row is one tick away, not a pricing error
        assert min(abs(ours[i] - (px[i] + TICK)), abs(ours[i] - (px[i] - TICK))) <= tol[i]
    ok = has_iv & ~bad
    assert ok.sum() >= 164
    # Issue target 1e-5 coin: 90% of bids, 93% of asks; the rest are long-dated options whose
    # IV rounding alone (vega_coin · 5e-5) exceeds 1e-5.
    assert np.median(err[ok]) <= 1e-5
    assert np.mean(err[ok] <= 1e-5) >= 0.88
    assert np.all((err[ok] <= 1e-5) | (tol[ok] > 1e-5))


@pytest.mark.parametrize("side", ["bid", "ask"])
def test_implied_vol_of_best_bid_and_ask_reproduces_exchange_iv(quotes: Quotes, side: str) -> None:
    px, iv = quotes.price[side], quotes.iv[side]
    res = implied_vol_coin(
        price_coin=px,
        forward=quotes.forward,
        strike=quotes.strike,
        t_yr=quotes.t,
        option_type=quotes.cp,
    )
    status = np.asarray(res.status)
    vol = np.asarray(res.vol)
    has_iv = np.isfinite(px) & (iv > 0)
    stale = np.array([(side, n) in STALE for n in quotes.name])
    ok = has_iv & ~stale
    assert np.all(status[ok] == IVStatus.OK)
    # within 0.01 vol points (largest 0.0057 for bids, 0.0066 for asks)
    assert np.abs(vol[ok] - iv[ok]).max() <= 1e-4
    # Deribit's bid_iv = 0: BTC-20MAR26-72000-P is bid at 0.077 BTC, below its intrinsic value
    # (72000 - 66372.44) / 66372.44 = 0.0848 BTC: no vol fits.
    for i in np.flatnonzero(~has_iv & np.isfinite(px)):
        intrinsic = (
            max(quotes.cp[i] * (quotes.forward[i] - quotes.strike[i]), 0) / quotes.forward[i]
        )
        assert px[i] < intrinsic
        assert status[i] == IVStatus.BELOW_INTRINSIC and math.isnan(vol[i])
    assert (side == "bid") == bool((~has_iv).any())


def test_coin_price_docstring_example_row() -> None:
    # Deribit BTC-26JUN20-8000-C, 2020-05-14 05:41:37.494 UTC, F = 9359.92, mark_iv 90.26%:
    # mark price 0.20112115 BTC; within the mark IV's rounding (vega_coin · 5e-5 = 5.5e-5).
    t = (1_593_158_400_000 - 1_589_434_897_494) / MS_PER_YEAR
    c = coin_price(forward=9359.92, strike=8000.0, t_yr=t, vol=0.9026, option_type="call")
    g = coin_greeks(forward=9359.92, strike=8000.0, t_yr=t, vol=0.9026, option_type="call")
    assert abs(c - 0.20112115) <= g.vega_coin * IV_HALF_UNIT
