"""analyze_chain on real Deribit chains: our IVs against the exchange's own."""

from __future__ import annotations

import numpy as np

from invrisk.data import analyze_chain, load_deribit_chain
from invrisk.pricing import IVStatus, coin_greeks
from invrisk.units import to_ns
from tests.conftest import require_data

TESSICIN = "deribit_btc_ticker_greeks_2026-03-01_tessicin/deribit_btc_options_ticker_2026-03-01.csv"


def test_ticker_snapshot_bid_ask_ivs_match_deribit() -> None:
    chain = load_deribit_chain(require_data(TESSICIN), valuation_ns=to_ns("2026-03-01T13:48:15Z"))
    a = analyze_chain(chain)
    common = {
        "forward": chain.forward_usd,
        "strike": chain.strike,
        "t_yr": chain.t_yr,
        "option_type": chain.right,
    }
    excluded = []
    for side, ours, theirs, quote in (
        ("bid", a.iv_bid, chain.bid_iv, chain.bid_coin),
        ("ask", a.iv_ask, chain.ask_iv, chain.ask_coin),
    ):
        both = ~np.isnan(ours) & ~np.isnan(theirs)
        # The first condition: Deribit's own IV reprices its quote within 1e-5 coin,
        # widened by the IV's own rounding (the file gives it to 0.01 vol points, so half a
        # unit moves the price by vega_coin * 0.00005). Rows where even that fails are
        # inconsistent in the file itself (the quote moved between the ticker's fields) and
        # cannot judge our solver; they are listed below.
        g = coin_greeks(vol=np.where(both, theirs, 0.0), **common)
        tolerance = 1e-5 + np.asarray(g.vega_coin) * 0.00005
        consistent = both & (np.abs(np.asarray(g.price_coin) - quote) <= tolerance)
        excluded += [f"{side} {name}" for name in chain.instrument[both & ~consistent]]
        assert consistent.sum() >= 160
        # Our IV of the quote reproduces Deribit's within 0.01 vol points (the target).
        assert np.max(np.abs(ours[consistent] - theirs[consistent])) * 100 < 0.01
    # One row: BTC-26JUN26-62000-P, best bid 0.0770 BTC but bid_iv 50.97% prices 0.07751.
    assert excluded == ["bid BTC-26JUN26-62000-P"]


def test_order_book_sweep_statuses_and_totals() -> None:
    chain = load_deribit_chain(
        require_data("deribit_ticker_greeks_2020-05/btc_options_ticker_2020-05-14.csv")
    )
    a = analyze_chain(chain)
    ok = a.status_mark == IVStatus.OK
    # Where no vol fits, the Greeks are NaN and excluded from the totals.
    assert np.all(np.isnan(a.delta[~ok])) and np.all(~np.isnan(a.delta[ok]))
    assert a.totals["with_mark_vol"] == int(ok.sum())
    np.testing.assert_allclose(a.totals["vega_usd_per_vol_pt"], np.sum(a.vega[ok]), rtol=1e-12)
    counts = a.status_counts["mark"]
    assert sum(counts.values()) == len(chain) == 310
    # Options more than 3 days out: our IV of Deribit's mark price reproduces its mark_iv
    # (rounded to 0.01 vol points) closely.
    long = ok & (chain.t_yr > 3 / 365) & ~np.isnan(chain.mark_iv)
    diff_pts = np.abs(a.iv_mark[long] - chain.mark_iv[long]) * 100
    assert np.median(diff_pts) < 0.01
    rows = a.rows()
    assert len(rows) == 310 and rows[0]["instrument"] == chain.instrument[0]
