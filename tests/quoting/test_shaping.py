"""Tests of invrisk.quoting.shaping: size shaping, hard limits, lot and tick rounding."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invrisk.errors import InvalidArgumentError
from invrisk.quoting.base import Quotes
from invrisk.quoting.shaping import (
    floor_spread,
    lots_down,
    round_down_to_lot,
    round_quotes,
    shaped_sizes,
)

Q_MAX = 10.0
LOT = 0.01
qs = st.floats(-15.0, 15.0, allow_nan=False)


def sizes(q: float, eta: float = 0.3, base: float = 1.0):  # type: ignore[no-untyped-def]
    return shaped_sizes(q=q, base_size=base, eta=eta, q_max=Q_MAX, lot_size=LOT)


# --- sizes ----------------------------------------------------------------------------------


def test_reference_values() -> None:
    # Fushimi et al. (2018) rule written out: bid = base·e^{-ηq} (q > 0), ask = base·e^{ηq} (q < 0).
    s = sizes(2.0)
    assert s.bid_lots == math.floor(100 * math.exp(-0.6))  # 0.5488 -> 54 lots
    assert s.ask_lots == 100 and not s.bid_limited
    t = sizes(-2.0)
    assert (t.bid_lots, t.ask_lots) == (s.ask_lots, s.bid_lots)
    z = sizes(0.0)
    assert z.bid_lots == z.ask_lots == 100


@given(q1=qs, q2=qs)
def test_size_decreases_with_inventory_on_the_adding_side(q1: float, q2: float) -> None:
    lo, hi = sorted((q1, q2))
    assert sizes(hi).bid_size <= sizes(lo).bid_size  # more long -> smaller bid
    assert sizes(lo).ask_size <= sizes(hi).ask_size  # more short -> smaller ask


@given(q=qs, eta=st.floats(0.0, 5.0))
def test_symmetric(q: float, eta: float) -> None:
    a, b = sizes(q, eta), sizes(-q, eta)
    assert (a.bid_lots, a.ask_lots, a.bid_quoted, a.ask_quoted) == (
        b.ask_lots,
        b.bid_lots,
        b.ask_quoted,
        b.bid_quoted,
    )


@given(q=qs, eta=st.floats(0.0, 5.0), base=st.floats(1e-3, 50.0))
def test_never_breaches_the_limit_and_never_rounds_up(q: float, eta: float, base: float) -> None:
    s = sizes(q, eta, base)
    bid_raw = base * math.exp(-eta * q) if q > 0 else base
    ask_raw = base * math.exp(eta * q) if q < 0 else base
    ulp = 1e-12
    assert s.bid_size <= bid_raw * (1 + ulp) and s.ask_size <= ask_raw * (1 + ulp)
    assert q + s.bid_size <= max(Q_MAX, q) + 1e-9  # a full bid fill stays within +q_max
    assert q - s.ask_size >= min(-Q_MAX, q) - 1e-9
    assert s.bid_quoted == (s.bid_lots > 0) and s.ask_quoted == (s.ask_lots > 0)


@pytest.mark.parametrize("q", [Q_MAX, Q_MAX - 0.001, 12.0])
def test_zero_at_the_limit(q: float) -> None:
    s = sizes(q)
    assert s.bid_size == 0.0 and not s.bid_quoted and s.bid_limited
    assert s.ask_quoted  # reducing side stays open, even beyond the limit
    t = sizes(-q)
    assert t.ask_size == 0.0 and not t.ask_quoted and t.bid_quoted


def test_limit_caps_size_near_the_bound() -> None:
    s = sizes(9.5, eta=0.0, base=2.0)
    assert s.bid_lots == 50 and s.bid_limited and not s.ask_limited


def test_shape_rounding_to_zero_withdraws_the_side() -> None:
    s = shaped_sizes(q=5.0, base_size=0.02, eta=2.0, q_max=100.0, lot_size=0.01)
    assert s.bid_lots == 0 and not s.bid_quoted and not s.bid_limited


@given(qty=st.floats(0.0, 1e6), lot=st.sampled_from([1e-3, 0.01, 0.1, 1.0, 5.0]))
def test_lot_rounding_never_increases(qty: float, lot: float) -> None:
    n = lots_down(qty, lot)
    assert n * lot <= qty * (1 + 1e-12)
    assert (n + 1) * lot > qty


def test_lot_rounding_on_the_grid() -> None:
    assert lots_down(0.3, 0.1) == 3  # 0.3/0.1 = 2.999... in floats, still 3 lots
    assert round_down_to_lot(0.299, 0.1) == pytest.approx(0.2, abs=1e-15)


# --- spread floor and tick rounding ---------------------------------------------------------


def q_(bid: float, ask: float) -> Quotes:
    ref = 0.5 * (bid + ask)
    return Quotes(ref - bid, ask - ref, bid, ask, True, True)


def test_round_quotes_outward() -> None:
    r = round_quotes(q_(99.93, 100.07), tick=0.1, best_bid=99.5, best_ask=100.5)
    assert (r.bid_tick, r.ask_tick) == (999, 1001)
    assert not (r.bid_capped or r.ask_capped or r.floor_bound)
    on_grid = round_quotes(q_(99.9, 100.1), tick=0.1, best_bid=99.5, best_ask=100.5)
    assert (on_grid.bid_tick, on_grid.ask_tick) == (999, 1001)  # grid prices stay put


def test_round_quotes_caps_at_the_touch_and_reports_it() -> None:
    r = round_quotes(q_(100.55, 100.9), tick=0.1, best_bid=100.0, best_ask=100.5)
    assert r.bid_tick == 1004 and r.bid_capped and not r.ask_capped
    x = round_quotes(q_(100.55, 100.9), tick=0.1, best_bid=100.0, best_ask=100.5, allow_cross=True)
    assert x.bid_tick == 1005 and not x.bid_capped  # crosses: asked for


def test_unquoted_side_stays_unquoted() -> None:
    qt = Quotes(math.nan, 0.1, math.nan, 100.1, False, True)
    r = round_quotes(qt, tick=0.1, best_bid=99.5, best_ask=100.5, min_spread=1.0)
    assert r.bid_tick is None and math.isnan(r.bid) and r.ask_tick == 1001 and not r.floor_bound


def test_floor_spread_widens_about_the_centre() -> None:
    f = floor_spread(q_(100.0, 100.1), min_spread=0.5)
    assert (f.bid, f.ask) == pytest.approx((99.8, 100.3), abs=1e-12)
    assert f.bid + f.bid_depth == pytest.approx(100.05, abs=1e-12)
    same = q_(99.0, 101.0)
    assert floor_spread(same, min_spread=0.5) is same


@settings(max_examples=300)
@given(
    best_bid_tick=st.integers(1, 100_000),
    touch_ticks=st.integers(1, 20),
    centre_off=st.floats(-30.0, 30.0),
    half=st.floats(0.0, 10.0),
    skew=st.floats(-5.0, 5.0),
    floor_ticks=st.integers(1, 10),
    tick=st.sampled_from([0.01, 0.1, 0.5, 1.0]),
)
def test_round_quotes_never_crosses_and_respects_the_floor(
    best_bid_tick: int,
    touch_ticks: int,
    centre_off: float,
    half: float,
    skew: float,
    floor_ticks: int,
    tick: float,
) -> None:
    best_bid = best_bid_tick * tick
    best_ask = (best_bid_tick + touch_ticks) * tick
    centre = 0.5 * (best_bid + best_ask) + centre_off * tick
    bid, ask = centre - (half + skew) * tick, centre + (half - skew) * tick
    if bid >= ask:
        bid, ask = ask, bid
    min_spread = floor_ticks * tick
    r = round_quotes(
        q_(bid, ask), tick=tick, best_bid=best_bid, best_ask=best_ask, min_spread=min_spread
    )
    assert r.bid_tick is not None and r.ask_tick is not None
    assert r.bid_tick < best_bid_tick + touch_ticks  # bid below the best ask
    assert r.ask_tick > best_bid_tick  # ask above the best bid
    assert r.bid_tick < r.ask_tick
    assert r.ask_tick - r.bid_tick >= floor_ticks  # floor in whole ticks
    eps = 1e-9 * tick
    if not r.floor_bound:
        assert r.bid <= bid + eps + 1e-9 * abs(bid) and r.ask >= ask - eps - 1e-9 * abs(ask)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"q": math.nan}, "q"),
        ({"base_size": 0.0}, "base_size"),
        ({"eta": -0.1}, "eta"),
        ({"q_max": 0.0}, "q_max"),
        ({"lot_size": -1.0}, "lot_size"),
        ({"lot_size": math.inf}, "lot_size"),
    ],
)
def test_shaped_sizes_bad_input(kwargs: dict[str, float], argument: str) -> None:
    args = {"q": 0.0, "base_size": 1.0, "eta": 0.1, "q_max": 5.0, "lot_size": 0.01} | kwargs
    with pytest.raises(InvalidArgumentError) as exc:
        shaped_sizes(**args)
    assert exc.value.argument == argument


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"tick": 0.0}, "tick"),
        ({"best_bid": 100.03}, "best_bid"),
        ({"best_bid": 100.5}, "best_ask"),
        ({"best_ask": math.nan}, "best_ask"),
        ({"min_spread": -0.1}, "min_spread"),
    ],
)
def test_round_quotes_bad_input(kwargs: dict[str, float], argument: str) -> None:
    args = {"tick": 0.1, "best_bid": 100.0, "best_ask": 100.5} | kwargs
    with pytest.raises(InvalidArgumentError) as exc:
        round_quotes(q_(99.9, 100.6), **args)  # type: ignore[arg-type]
    assert exc.value.argument == argument


def test_round_quotes_rejects_self_crossing_quotes() -> None:
    with pytest.raises(InvalidArgumentError) as exc:
        round_quotes(q_(100.2, 100.2), tick=0.1, best_bid=99.0, best_ask=101.0)
    assert exc.value.argument == "quotes"
    with pytest.raises(InvalidArgumentError) as exc:
        round_quotes(
            Quotes(0.0, 0.0, math.inf, 100.0, True, True), tick=0.1, best_bid=99.0, best_ask=101.0
        )
    assert exc.value.argument == "quotes.bid"
