"""Synthetic chains: the generator's own smile comes back through the IV solver."""

from __future__ import annotations

import numpy as np
import pytest

from invrisk.data import SmileSpec, analyze_chain, smile_vol, synthetic_chain
from invrisk.errors import InvalidArgumentError
from invrisk.instruments import parse_deribit
from invrisk.pricing import black76
from invrisk.units import NS_PER_DAY, NS_PER_HOUR, to_ns


def test_shape_names_and_expiries() -> None:
    chain = synthetic_chain(expiry_days=(1, 7, 30), strikes_per_expiry=11)
    assert chain.currencies() == ("BTC",)
    assert len(chain.expiries()) == 3
    midnight = to_ns("2026-01-02T00:00:00Z")
    for days, expiry in zip((1, 7, 30), chain.expiries(), strict=True):
        assert expiry == midnight + days * NS_PER_DAY + 8 * NS_PER_HOUR
    for name, strike, right, expiry in zip(
        chain.instrument, chain.strike, chain.right, chain.expiry_ns, strict=True
    ):
        inst = parse_deribit(name)
        assert (inst.strike, int(inst.right), inst.expiry_ns) == (strike, right, expiry)
    # Calls and puts on every strike.
    assert (chain.right == 1).sum() == (chain.right == -1).sum()


def test_marks_are_black76_over_forward_and_quotes_on_ticks() -> None:
    chain = synthetic_chain()
    usd = black76(
        forward=chain.forward_usd,
        strike=chain.strike,
        t_yr=chain.t_yr,
        vol=chain.mark_iv,
        option_type=chain.right,
    ).price
    np.testing.assert_allclose(chain.mark_coin, np.asarray(usd) / chain.forward_usd, rtol=1e-15)
    tick = 1e-4
    for side in (chain.bid_coin, chain.ask_coin):
        ok = ~np.isnan(side)
        np.testing.assert_allclose(side[ok] / tick, np.round(side[ok] / tick), atol=1e-6)
    both = ~np.isnan(chain.bid_coin)
    assert np.all(chain.bid_coin[both] <= chain.mark_coin[both])
    assert np.all(chain.ask_coin >= chain.mark_coin)


def test_iv_round_trip_recovers_the_smile() -> None:
    chain = synthetic_chain(currency="ETH", index_usd=3_000.0)
    analysis = analyze_chain(chain)
    assert np.all(analysis.status_mark == 0)
    np.testing.assert_allclose(analysis.iv_mark, chain.mark_iv, rtol=0, atol=1e-12)
    np.testing.assert_allclose(analysis.iv_bid, chain.bid_iv, rtol=0, atol=0, equal_nan=True)


def test_smile_shape() -> None:
    spec = SmileSpec()
    t = np.full(3, 0.25)
    k = np.array([-0.3, 0.0, 0.3])
    vol = smile_vol(spec, log_moneyness=k, t_yr=t)
    assert vol[0] > vol[1] and vol[2] > vol[1]  # a smile
    assert vol[0] > vol[2]  # put skew with skew < 0
    atm_1d = smile_vol(spec, log_moneyness=np.zeros(1), t_yr=np.full(1, 1 / 365))[0]
    atm_1y = smile_vol(spec, log_moneyness=np.zeros(1), t_yr=np.full(1, 1.0))[0]
    assert atm_1d == pytest.approx(spec.atm_vol_short, rel=1e-12)
    assert atm_1y == pytest.approx(spec.atm_vol_long, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"currency": "SOL"}, "currency"),
        ({"index_usd": -1.0}, "index_usd"),
        ({"strikes_per_expiry": 2}, "strikes_per_expiry"),
        ({"expiry_days": (0,)}, "expiry_days"),
        ({"half_spread_vol": float("nan")}, "half_spread_vol"),
    ],
)
def test_bad_arguments(kwargs: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError, match=argument):
        synthetic_chain(**kwargs)


def test_bad_smile_spec() -> None:
    with pytest.raises(InvalidArgumentError, match="skew"):
        SmileSpec(skew=1.0)
    with pytest.raises(InvalidArgumentError, match="wing"):
        SmileSpec(wing=0.0)
