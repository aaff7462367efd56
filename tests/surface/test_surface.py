"""VolSurface: fits of real Deribit chains, evaluation, forward curve, shocks, spot dynamics."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from invrisk.data import OptionChain, load_deribit_chain, synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.surface import (
    VolShock,
    arbitrage_report,
    fit_surface,
    smile_quotes,
    svi_total_variance,
)
from invrisk.units import NS_PER_DAY, to_ns, year_fraction
from tests.conftest import require_data, shared_data_dir

SNAPSHOT_DIR = "deribit_chain_snapshots_2026_znmahbub"
SNAPSHOTS = [
    "20260101T091835Z", "20260101T211918Z", "20260115T092130Z", "20260129T093452Z",
    "20260212T094031Z", "20260226T094105Z", "20260312T093539Z", "20260326T095510Z",
    "20260409T100609Z", "20260423T104153Z", "20260507T111534Z", "20260521T122502Z",
    "20260604T075825Z", "20260618T081726Z", "20260702T114114Z", "20260716T110718Z",
    "20260730T111724Z", "20260813T101802Z",
]  # fmt: skip


def _snapshot(stamp: str) -> OptionChain:
    return load_deribit_chain(
        require_data(f"{SNAPSHOT_DIR}/deribit_options_snapshot_{stamp}.csv.gz")
    )


@pytest.fixture(scope="module")
def btc_surface():  # type: ignore[no-untyped-def]
    return fit_surface(_snapshot("20260226T094105Z"), currency="BTC")


@pytest.mark.slow
def test_all_snapshots_are_arbitrage_free_and_close_to_marks() -> None:
    # The targets: every surface free of butterfly and calendar arbitrage, and the
    # median RMSE against Deribit's mark IV below 0.3 vol points (per-expiry SVI). We fit the
    # marks of out-of-the-money options (see invrisk.surface.quotes); the RMSE per snapshot is
    # the median over its expiries. bench/RESULTS.md lists the distribution.
    per_snapshot = []
    for stamp in SNAPSHOTS:
        chain = _snapshot(stamp)
        for currency in ("BTC", "ETH"):
            surface = fit_surface(chain, currency=currency)
            report = arbitrage_report(surface)
            assert report.butterfly_free, (stamp, currency, report.butterfly)
            assert report.calendar_free, (stamp, currency, report.calendar)
            assert report.call_prices_free, (stamp, currency, report.call_prices)
            assert len(surface.slices) >= 11
            per_snapshot.append(np.median([s.rmse_vol_pts for s in surface.slices]))
    assert len(per_snapshot) == 36
    assert np.median(per_snapshot) < 0.3
    assert max(per_snapshot) < 0.6


def test_rejections_are_counted(btc_surface) -> None:  # type: ignore[no-untyped-def]
    chain = _snapshot("20260226T094105Z").for_currency("BTC")
    used = sum(s.n_quotes for s in btc_surface.slices)
    rejected = sum(sum(s.rejected.values()) for s in btc_surface.slices)
    skipped = {to_ns(label) for label in btc_surface.skipped_expiries}
    skipped_rows = int(np.isin(chain.expiry_ns, list(skipped)).sum())
    # Every option of the chain is either used, rejected with a reason, or on a skipped expiry.
    assert used + rejected + skipped_rows == len(chain)
    assert all(s.rejected.get("in_the_money", 0) > 0 for s in btc_surface.slices)


def test_iv_at_quotes_matches_slices(btc_surface) -> None:  # type: ignore[no-untyped-def]
    s = btc_surface.slices[4]
    strikes = s.forward_usd * np.exp(np.linspace(-0.3, 0.3, 7))
    iv = btc_surface.iv(strike=strikes, expiry_ns=np.full(7, s.expiry_ns))
    w = svi_total_variance(np.log(strikes / s.forward_usd), s.params)
    # At an expiry the forward curve and the total-variance interpolation are exact up to
    # rounding of T from int64 ns.
    np.testing.assert_allclose(iv, np.sqrt(w / s.t_yr), rtol=1e-12)


def test_forward_curve_and_interpolation(btc_surface) -> None:  # type: ignore[no-untyped-def]
    t = btc_surface.t_yr
    np.testing.assert_allclose(btc_surface.forward(t), btc_surface.forward_usd, rtol=1e-14)
    mid = 0.5 * (t[5] + t[6])
    f_mid = btc_surface.forward(mid)
    expected = math.sqrt(btc_surface.forward_usd[5] * btc_surface.forward_usd[6])
    assert f_mid == pytest.approx(expected, rel=1e-12)  # log-linear between expiries
    # Total variance is linear in T between expiries at fixed k, and non-decreasing.
    k = np.linspace(-0.5, 0.5, 11)
    w5 = btc_surface.total_variance(log_moneyness=k, t_yr=t[5])
    w6 = btc_surface.total_variance(log_moneyness=k, t_yr=t[6])
    wm = btc_surface.total_variance(log_moneyness=k, t_yr=mid)
    np.testing.assert_allclose(wm, 0.5 * (w5 + w6), rtol=1e-12)
    assert np.all(w6 >= w5)
    # Beyond the last expiry the vol at fixed k is held.
    far = t[-1] * 2.0
    np.testing.assert_allclose(
        btc_surface.iv_k(log_moneyness=k, t_yr=far),
        btc_surface.iv_k(log_moneyness=k, t_yr=t[-1]),
        rtol=1e-12,
    )


def test_past_expiries_are_nan(btc_surface) -> None:  # type: ignore[no-untyped-def]
    e = np.array([btc_surface.valuation_ns - NS_PER_DAY, btc_surface.valuation_ns])
    assert np.all(np.isnan(btc_surface.iv(strike=70_000.0, expiry_ns=e)))


def test_sticky_strike_and_sticky_moneyness(btc_surface) -> None:  # type: ignore[no-untyped-def]
    e = np.full(5, btc_surface.slices[6].expiry_ns)
    strikes = np.array([50_000.0, 60_000.0, 70_000.0, 80_000.0, 90_000.0])
    base = btc_surface.iv(strike=strikes, expiry_ns=e)
    up = btc_surface.moved(spot_return=0.1, dynamics="sticky_strike")
    np.testing.assert_allclose(up.iv(strike=strikes, expiry_ns=e), base, rtol=1e-12)
    np.testing.assert_allclose(up.forward_usd, btc_surface.forward_usd * 1.1, rtol=1e-15)
    sm = btc_surface.moved(spot_return=0.1, dynamics="sticky_moneyness")
    np.testing.assert_allclose(sm.iv(strike=strikes * 1.1, expiry_ns=e), base, rtol=1e-12)
    with pytest.raises(InvalidArgumentError, match="spot_return"):
        btc_surface.moved(spot_return=-1.0, dynamics="sticky_strike")
    with pytest.raises(InvalidArgumentError, match="dynamics"):
        btc_surface.moved(spot_return=0.1, dynamics="sticky_delta")  # type: ignore[arg-type]


def test_shocks(btc_surface) -> None:  # type: ignore[no-untyped-def]
    k = np.linspace(-0.3, 0.3, 7)
    t = btc_surface.slices[3].t_yr
    days = t * 365.0
    base = btc_surface.iv_k(log_moneyness=k, t_yr=t)
    par = btc_surface.shocked(VolShock(parallel=0.05))
    np.testing.assert_allclose(par.iv_k(log_moneyness=k, t_yr=t), base + 0.05, rtol=1e-12)
    term = btc_surface.shocked(VolShock(relative=0.5, reference_days=30.0, power=0.3))
    weight = (30.0 / days) ** 0.3
    np.testing.assert_allclose(
        term.iv_k(log_moneyness=k, t_yr=t), base * (1 + 0.5 * weight), rtol=1e-12
    )
    skew = btc_surface.shocked(VolShock(skew=-0.1))
    np.testing.assert_allclose(skew.iv_k(log_moneyness=k, t_yr=t), base - 0.1 * k, rtol=1e-12)
    # The same shock through iv(strike, expiry).
    strikes = btc_surface.slices[3].forward_usd * np.exp(k)
    e = np.full(7, btc_surface.slices[3].expiry_ns)
    np.testing.assert_allclose(par.iv(strike=strikes, expiry_ns=e), base + 0.05, rtol=1e-9)
    # A shock that makes vols negative gives NaN, not a floored vol.
    crash = btc_surface.shocked(VolShock(parallel=-5.0))
    assert np.all(np.isnan(crash.iv_k(log_moneyness=k, t_yr=t)))
    with pytest.raises(InvalidArgumentError, match="power"):
        VolShock(power=-1.0)


def test_synthetic_chain_round_trip() -> None:
    chain = synthetic_chain()
    surface = fit_surface(chain)
    report = arbitrage_report(surface)
    assert report.arbitrage_free
    # The built-in smile is raw SVI in total variance per expiry: the fit reproduces the marks
    # to well below a basis point of vol.
    assert max(s.rmse_vol_pts for s in surface.slices) < 0.01
    iv = surface.iv(strike=chain.strike, expiry_ns=chain.expiry_ns)
    usable = np.abs(np.log(chain.strike / chain.forward_usd)) < 0.3
    np.testing.assert_allclose(iv[usable], chain.mark_iv[usable], atol=2e-4)


def test_bad_chains() -> None:
    chain = synthetic_chain(expiry_days=(7, 30), strikes_per_expiry=11)
    # One strike only.
    one = chain.select(chain.strike == chain.strike[0])
    with pytest.raises(InvalidArgumentError, match="chain"):
        fit_surface(one)
    # All-zero bids: no mid can be formed, every expiry is rejected with a reason.
    no_bids = dataclasses.replace(chain, bid_coin=np.full(len(chain), np.nan))
    smiles, skipped = smile_quotes(no_bids, target="mid")
    assert smiles == [] and all("zero_bid" in why for why in skipped.values())
    with pytest.raises(InvalidArgumentError, match="usable"):
        fit_surface(no_bids, target="mid")
    # A NaN forward on one expiry: that expiry is skipped with the reason, the other is fitted.
    fwd = chain.forward_usd.copy()
    fwd[chain.expiry_ns == chain.expiries()[0]] = np.nan
    surface = fit_surface(dataclasses.replace(chain, forward_usd=fwd))
    assert len(surface.slices) == 1
    assert "forward" in next(iter(surface.skipped_expiries.values()))
    # Expiries in the past (valuation after them).
    late = dataclasses.replace(
        chain,
        valuation_ns=np.full(len(chain), int(chain.expiries()[-1]) + NS_PER_DAY),
        t_yr=np.full(len(chain), -1.0 / 365),
    )
    with pytest.raises(InvalidArgumentError, match="expired"):
        fit_surface(late)


def test_valuation_and_expiry_consistency(btc_surface) -> None:  # type: ignore[no-untyped-def]
    for s in btc_surface.slices:
        assert s.t_yr == pytest.approx(
            year_fraction(btc_surface.valuation_ns, s.expiry_ns), abs=5 / (365 * 86400)
        )
    assert shared_data_dir().exists()


def test_stale_and_crossed_quotes_are_rejected_with_reasons() -> None:
    chain = synthetic_chain(expiry_days=(30,), strikes_per_expiry=21)
    n = len(chain)
    valuation = chain.valuation_ns.copy()
    valuation[:4] -= 3600 * 10**9  # four quotes an hour older than the rest
    bid = chain.bid_coin.copy()
    ask = chain.ask_coin.copy()
    bid[10], ask[10] = ask[10] + 1e-3, ask[10]  # one crossed market
    odd = dataclasses.replace(chain, valuation_ns=valuation, bid_coin=bid, ask_coin=ask)
    (smile,), _ = smile_quotes(odd)
    # Rows 0-3 and 10: out-of-the-money ones among them count under their reason; the
    # in-the-money ones keep "in_the_money" (the first reason wins).
    otm = np.where(
        np.log(chain.strike / chain.forward_usd) > 0, chain.right == 1, chain.right == -1
    )
    assert smile.rejected.get("stale", 0) == int(otm[:4].sum())
    assert smile.rejected.get("crossed", 0) == int(otm[10])
    assert sum(smile.rejected.values()) + len(smile) == n
    (keep_all,), _ = smile_quotes(odd, max_staleness_ns=None)
    assert "stale" not in keep_all.rejected
    with pytest.raises(InvalidArgumentError, match="max_staleness_ns"):
        smile_quotes(odd, max_staleness_ns=-1)
